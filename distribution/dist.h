/*
 * dist.h - the distribution node: what its threads share.
 *
 * Two threads: the main thread runs the libevent loop (the HTTPS server
 * for child sites, dserve.c, the boot server, dboot.c, and signals); the
 * agent thread (agent.c) follows the site catalog and replicates with
 * libcurl.  They share only the list of nodes allowed to pull from us,
 * the boot entries and the stop flag, under mu.
 */
#ifndef BL_DIST_H
#define BL_DIST_H

#include <pthread.h>
#include <time.h>
#include <stdint.h>

#include <jansson.h>

#include "dist_conf.h"
#include "store.h"

#define DIST_PATH_MAX 1200

struct dist {
	struct dist_conf conf;
	char node_id[64];
	char site[64];
	uint8_t pub[32]; /* the primary's catalog and manifest key */
	char pki[DIST_PATH_MAX]; /* ca.crt, server.crt, server.key */
	char ca[DIST_PATH_MAX], crt[DIST_PATH_MAX], key[DIST_PATH_MAX];
	char store[DIST_PATH_MAX];
	char status[DIST_PATH_MAX]; /* status.json, the agent's report */
	struct store *st;           /* the agent's handle; dserve shares it */

	pthread_mutex_t mu;
	char (*allowed)[64]; /* node ids that may replicate from us */
	size_t nallowed;
	int stop;
	void *wake; /* the agent's CURLM, for curl_multi_wakeup */
	json_t *catalog;   /* the last catalog (agent -> main) */
	uint64_t boot_gen; /* bumped when it or the images held change */
	time_t catalog_ok; /* the catalog last confirmed (200 or 304) */
	json_t *boot_report; /* bootsvc_report (main -> agent heartbeat) */
};

/* Paths from conf.state_dir, then STATE/node.json.  0 or why. */
int dist_identity(struct dist *d, char *why, size_t whylen);

/* dserve's allowed() callback: is node id in the catalog's node list? */
int dist_allowed(void *arg, const char *id);
/* Replace the allowed list from a catalog's "nodes" array. */
void dist_set_allowed(struct dist *d, json_t *nodes);
int dist_stopping(struct dist *d);
/* A new catalog (catalog not NULL) or an image completed (NULL): the
 * boot server publishes again. */
void dist_boot_changed(struct dist *d, json_t *catalog);
/* The primary confirmed the catalog held (a 200 or a 304) now. */
void dist_catalog_ok(struct dist *d);
/* The boot server's last report, for the heartbeat (a new reference or
 * NULL). */
json_t *dist_boot_report(struct dist *d);

/* "branchline-dist enroll ...": exit status. */
int dist_enroll_main(int argc, char **argv);

/* The agent thread. */
void *agent_main(void *arg);

#endif /* BL_DIST_H */

/*
 * primary.h - the head-office daemon's shared context: one event loop,
 * one HTTPS listener (operator API and replication source), the image
 * store, the configuration repository and what was derived from it.
 *
 * Threads: the event loop runs every handler.  Image imports (upload
 * finalize) run on their own thread and hand their result back through
 * an event; nothing else blocks.
 */
#ifndef BL_PRIMARY_H
#define BL_PRIMARY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "cfgrepo.h"
#include "primary_conf.h"
#include "site.h"
#include "store.h"

#define PRIMARY_JSON_MAX   (1u << 20)  /* JSON request bodies */
#define PRIMARY_BODY_MAX   (65u << 20) /* any request body (upload PUTs) */
#define PRIMARY_PUT_MAX    (64u << 20) /* bytes per upload PUT */
#define PRIMARY_BATCH_MAX  1024        /* chunk ids per batch request */
#define PRIMARY_WAIT_MAX   60          /* long-poll seconds */
#define PRIMARY_TOKEN_LEN  35          /* "bl_" + 32 hex */

/* A node as recorded in the configuration repository (nodes/ID.json). */
struct cfg_node {
	char id[64];
	char site[64];
	char serial[41]; /* certificate serial, hex */
	int64_t enrolled;
};

/* An API or enrollment token (tokens/NAME.json); only its hash is kept. */
struct cfg_token {
	char name[64];
	char sha256[65];
	int enroll;    /* 1: one-time enrollment token for site */
	char site[64]; /* enrollment tokens only */
	int64_t created, expires; /* expires 0: never */
};

/* Everything read from one configuration commit. */
struct cfg_state {
	char head[41];
	struct site *sites;
	size_t nsites;
	struct cfg_node *nodes;
	size_t nnodes;
	struct cfg_token *tokens;
	size_t ntokens;
};

/* Latest heartbeat of a node (kept in STATE/status/ID.json too). */
struct node_status {
	char id[64];
	time_t seen;
	json_t *report; /* the node's last POST /v1/status body */
};

/* The generation of each site's catalog (STATE/catalogs.json). */
struct catgen {
	char site[64];
	uint8_t hash[32]; /* of the catalog body without its generation */
	uint64_t gen;
};

struct upload;
struct longpoll;

struct primary {
	struct primary_conf conf;
	char state[1024];
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl;
	struct store *store;
	struct cfgrepo *repo;
	struct cfg_state cfg; /* from HEAD; rebuilt after every commit */

	struct node_status *status;
	size_t nstatus;
	struct catgen *gens;
	size_t ngens;
	uint64_t maxgen;
	struct {
		char site[64];
		time_t until;
	} *repnow; /* "replicate now" overrides (STATE/repnow.json) */
	size_t nrepnow;

	struct longpoll *polls; /* held catalog requests */
	json_t *cat_shared;     /* what all catalogs share (catalog.c) */
	struct upload *uploads;
	struct event *sigint, *sigterm, *tick;
	uint8_t keyid[8];

	struct pboot *boot; /* boot services for conf.boot_site, or NULL */
};

/* pboot.c: the head office's own boot services (conf.boot_site). */
int pboot_start(struct primary *p, char *why, size_t whylen);
/* The configuration or the images changed: publish again (within 1 s). */
void pboot_changed(struct primary *p);
void pboot_stop(struct primary *p);

/* cfgstate.c: reading and changing the configuration repository. */
int cfg_load(struct primary *p, char *why, size_t whylen);
void cfg_state_free(struct cfg_state *c);
const struct site *cfg_site(const struct cfg_state *c, const char *name);
const struct cfg_node *cfg_node(const struct cfg_state *c, const char *id);
/* Commit changes after checking the resulting site set; reloads p->cfg. */
int cfg_commit(struct primary *p, const struct cfg_change *ch, size_t n,
        const char *author, const char *message, char *why, size_t whylen);
/* A fresh random token string "bl_<32 hex>" and its SHA-256 hex. */
int cfg_token_new(char tok[PRIMARY_TOKEN_LEN + 1], char sha[65]);
void cfg_token_hash(const char *tok, char sha[65]);
char *cfg_token_json(const struct cfg_token *t);
char *cfg_node_json(const struct cfg_node *n);

/* catalog.c: site catalogs, their generations and long-polls. */
int catalog_build(struct primary *p, const char *site, char **body,
        size_t *len, uint64_t *gen, char *why, size_t whylen);
int catalog_sign(struct primary *p, const char *body, size_t len,
        char *hdr, size_t hdrlen);
/* Something a catalog shows changed: answer held long-polls that see it. */
void catalog_kick(struct primary *p);
/* The referral view (referral.h) of site's catalog, "self" "" (a new
 * reference; a site that does not exist gives the shared part only). */
json_t *catalog_view(struct primary *p, const char *site);
/* A site's boot entries as the catalog carries them (a new reference). */
json_t *catalog_boot_json(const struct site *s);
void catalog_hold(struct primary *p, struct evhttp_request *req,
        const char *site, uint64_t gen, int wait);
void catalog_cleanup(struct primary *p);
int catalog_load_state(struct primary *p);
time_t primary_repnow(struct primary *p, const char *site);
int primary_set_repnow(struct primary *p, const char *site, time_t until);

/* status.c: node heartbeats. */
struct node_status *status_get(struct primary *p, const char *id);
int status_put(struct primary *p, const char *id, json_t *report);
int status_load(struct primary *p);
void status_cleanup(struct primary *p);
int status_healthy(const struct primary *p, const struct node_status *s,
        time_t now);

/* upload.c: resumable uploads. */
int upload_load(struct primary *p);
void upload_cleanup(struct primary *p);

/* init.c: branchline-primary init. */
int primary_init(const char *state, const char *const *names, size_t nnames,
        char *why, size_t whylen);

#endif /* BL_PRIMARY_H */

/*
 * branchline-primary.c - the head-office daemon.
 *
 *   branchline-primary init --state DIR [--name HOST]...
 *   branchline-primary [-n] [--config FILE]
 *
 * One event loop serves the operator API and the replication source over
 * HTTPS (server.c); SIGINT/SIGTERM stop it cleanly.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "daemon.h"
#include "error.h"
#include "log.h"
#include "primary.h"
#include "server.h"

static int
cmd_init(int argc, char **argv)
{
	const char *state = NULL, *names[33];
	size_t nnames = 0;
	char why[1024] = "";
	int i;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: branchline-primary init --state DIR "
			       "[--name HOST-OR-IP]...\n\n"
			       "Creates a primary in DIR: store, CA (its server "
			       "certificate names each\n--name), configuration "
			       "repository, primary.conf; prints the admin\n"
			       "token once.\n");
			return 0;
		}
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc &&
		         nnames < 32)
			names[nnames++] = argv[++i];
		else {
			fprintf(stderr, "usage: branchline-primary init --state "
			                "DIR [--name HOST-OR-IP]...\n");
			return 2;
		}
	}
	if (state == NULL) {
		fprintf(stderr, "usage: branchline-primary init --state DIR "
		                "[--name HOST-OR-IP]...\n");
		return 2;
	}
	if (primary_init(state, names, nnames, why, sizeof(why)) != 0) {
		fprintf(stderr, "branchline-primary: init: %s\n", why);
		return 1;
	}
	return 0;
}

static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct primary *p = arg;

	(void)ev;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(p->base, NULL);
}

/* Every 10 s (or heartbeat): heartbeats age, so catalogs that show
 * health may change. */
static void
on_tick(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	catalog_kick(arg);
}

static int
primary_open(struct primary *p, char *why, size_t whylen)
{
	char path[1200];
	int rc;

	snprintf(p->state, sizeof(p->state), "%s", p->conf.state_dir);
	snprintf(path, sizeof(path), "%s/store", p->state);
	if ((rc = store_open(path, &p->store, why, whylen)) != 0)
		return rc;
	if ((rc = store_load_key(p->store, why, whylen)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/config.git", p->state);
	if ((rc = cfgrepo_open(path, &p->repo, why, whylen)) != 0 ||
	        (rc = cfg_load(p, why, whylen)) != 0)
		return rc;
	if ((rc = status_load(p)) != 0 || (rc = upload_load(p)) != 0)
		return bl_why(why, whylen, rc, "%s: %s", p->state,
		        bl_strerror(rc));
	(void)catalog_load_state(p);
	if (p->conf.url[0] == '\0')
		snprintf(p->conf.url, sizeof(p->conf.url), "https://localhost:%u",
		        (unsigned)p->conf.port);
	return 0;
}

static void
primary_close(struct primary *p)
{
	pboot_stop(p);
	server_stop(p);
	catalog_cleanup(p);
	upload_cleanup(p);
	status_cleanup(p);
	cfg_state_free(&p->cfg);
	if (p->repo != NULL)
		cfgrepo_close(p->repo);
	if (p->store != NULL)
		store_close(p->store);
	if (p->sigint != NULL)
		event_free(p->sigint);
	if (p->sigterm != NULL)
		event_free(p->sigterm);
	if (p->tick != NULL)
		event_free(p->tick);
	if (p->base != NULL)
		event_base_free(p->base);
}

int
main(int argc, char **argv)
{
	struct daemon_args a;
	struct primary p;
	struct timeval tv = {10, 0};
	char why[1024] = "";
	int rc;

	if (argc > 1 && strcmp(argv[1], "init") == 0)
		return cmd_init(argc, argv);
	if ((rc = daemon_parse_args(argc, argv, "branchline-primary",
	             "/etc/branchline/primary.conf", &a)) >= 0) {
		if (rc == 0 && argc > 1 && (strcmp(argv[1], "--help") == 0 ||
		                                   strcmp(argv[1], "-h") == 0))
			printf("\n       branchline-primary init --state DIR "
			       "[--name HOST-OR-IP]...\n\n"
			       "init creates a primary in DIR: store, CA, "
			       "configuration repository,\nprimary.conf; it "
			       "prints the admin token once.\n");
		return rc;
	}
	memset(&p, 0, sizeof(p));
	if (primary_conf_load(a.config, &p.conf, why, sizeof(why)) != 0) {
		fprintf(stderr, "branchline-primary: %s\n", why);
		return 1;
	}
	if (a.check) {
		printf("configuration OK\n");
		return 0;
	}
	log_init(1, (int)p.conf.log_level, "branchline-primary");
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	if ((p.base = event_base_new()) == NULL) {
		log_warnx("event_base_new failed");
		goto out;
	}
	/* What the daemon creates on disk is the service user's; ports
	 * are bound as root; then root is dropped, before the first
	 * request. */
	if (daemon_as_user(p.conf.user, 1, why, sizeof(why)) != 0 ||
	        primary_open(&p, why, sizeof(why)) != 0 ||
	        daemon_as_user(p.conf.user, 0, why, sizeof(why)) != 0 ||
	        server_start(&p, why, sizeof(why)) != 0 ||
	        pboot_start(&p, why, sizeof(why)) != 0 ||
	        daemon_drop(p.conf.user, p.conf.state_dir, why, sizeof(why)) !=
	                0) {
		(void)daemon_as_user(p.conf.user, 0, NULL, 0);
		log_warnx("%s", why);
		goto out;
	}
	p.sigint = evsignal_new(p.base, SIGINT, on_signal, &p);
	p.sigterm = evsignal_new(p.base, SIGTERM, on_signal, &p);
	/* Health expires 3 heartbeats after the last one: look at least
	 * every heartbeat. */
	if (p.conf.heartbeat < 10)
		tv.tv_sec = (time_t)p.conf.heartbeat;
	p.tick = event_new(p.base, -1, EV_PERSIST, on_tick, &p);
	evsignal_add(p.sigint, NULL);
	evsignal_add(p.sigterm, NULL);
	evtimer_add(p.tick, &tv);
	log_info("primary %s ready (state %s, %zu sites, %zu nodes)",
	        BL_VERSION, p.state, p.cfg.nsites, p.cfg.nnodes);
	event_base_dispatch(p.base);
	rc = 0;
out:
	primary_close(&p);
	return rc;
}

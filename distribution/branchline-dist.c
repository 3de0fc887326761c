/*
 * branchline-dist.c - the branch-site daemon: enrollment, the replication
 * agent (agent.c, its own thread) and the HTTPS server that child sites
 * pull from (dserve.c, on the main thread's libevent loop).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "daemon.h"
#include "dboot.h"
#include "dist.h"
#include "dserve.h"
#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"

int
dist_identity(struct dist *d, char *why, size_t whylen)
{
	const char *st = d->conf.state_dir, *id, *site, *pub;
	char path[DIST_PATH_MAX];
	json_error_t je;
	json_t *o;
	int rc = 0;

	snprintf(d->pki, sizeof(d->pki), "%s/pki", st);
	snprintf(d->ca, sizeof(d->ca), "%s/pki/ca.crt", st);
	snprintf(d->crt, sizeof(d->crt), "%s/pki/server.crt", st);
	snprintf(d->key, sizeof(d->key), "%s/pki/server.key", st);
	snprintf(d->store, sizeof(d->store), "%s/store", st);
	snprintf(d->status, sizeof(d->status), "%s/status.json", st);
	snprintf(path, sizeof(path), "%s/node.json", st);
	if ((o = json_load_file(path, 0, &je)) == NULL)
		return bl_why(why, whylen, BL_ENOTFOUND,
		        "%s: %s (enroll first: branchline-dist enroll ...)",
		        path, je.text);
	id = json_string_value(json_object_get(o, "node_id"));
	site = json_string_value(json_object_get(o, "site"));
	pub = json_string_value(json_object_get(o, "signing_key"));
	if (id == NULL || site == NULL || pub == NULL || strlen(pub) != 64 ||
	        strlen(id) >= sizeof(d->node_id) ||
	        strlen(site) >= sizeof(d->site) ||
	        hash_unhex(pub, d->pub, 32) != 0)
		rc = bl_why(why, whylen, BL_EFORMAT,
		        "%s: needs node_id, site and signing_key", path);
	else {
		snprintf(d->node_id, sizeof(d->node_id), "%s", id);
		snprintf(d->site, sizeof(d->site), "%s", site);
	}
	json_decref(o);
	return rc;
}

int
dist_allowed(void *arg, const char *id)
{
	struct dist *d = arg;
	size_t i;
	int ok = 0;

	pthread_mutex_lock(&d->mu);
	for (i = 0; i < d->nallowed && !ok; i++)
		ok = strcmp(d->allowed[i], id) == 0;
	pthread_mutex_unlock(&d->mu);
	return ok;
}

void
dist_set_allowed(struct dist *d, json_t *nodes)
{
	char (*a)[64];
	const char *id;
	json_t *n;
	size_t i, k = 0;

	if ((a = calloc(json_array_size(nodes) + 1, 64)) == NULL)
		return;
	json_array_foreach(nodes, i, n)
	{
		id = json_string_value(json_object_get(n, "id"));
		if (id != NULL && strlen(id) < 64 && strcmp(id, d->node_id))
			snprintf(a[k++], 64, "%s", id);
	}
	pthread_mutex_lock(&d->mu);
	free(d->allowed);
	d->allowed = a;
	d->nallowed = k;
	pthread_mutex_unlock(&d->mu);
}

void
dist_boot_changed(struct dist *d, json_t *catalog)
{
	json_t *copy = catalog != NULL ? json_deep_copy(catalog) : NULL;

	pthread_mutex_lock(&d->mu);
	if (copy != NULL) {
		json_decref(d->catalog);
		d->catalog = copy;
	}
	d->boot_gen++;
	pthread_mutex_unlock(&d->mu);
}

void
dist_catalog_ok(struct dist *d)
{
	pthread_mutex_lock(&d->mu);
	d->catalog_ok = time(NULL);
	pthread_mutex_unlock(&d->mu);
}

json_t *
dist_boot_report(struct dist *d)
{
	json_t *r;

	pthread_mutex_lock(&d->mu);
	r = json_incref(d->boot_report);
	pthread_mutex_unlock(&d->mu);
	return r;
}

int
dist_stopping(struct dist *d)
{
	int s;

	pthread_mutex_lock(&d->mu);
	s = d->stop;
	pthread_mutex_unlock(&d->mu);
	return s;
}

static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(arg);
}

/* "branchline-dist status --state DIR": the agent's last report. */
static int
status_main(int argc, char **argv)
{
	char path[DIST_PATH_MAX];
	json_error_t je;
	json_t *o;
	char *txt;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	                         strcmp(argv[1], "-h") == 0)) {
		printf("usage: branchline-dist status --state DIR\n\n"
		       "Prints the agent's last report (STATE/status.json): "
		       "each image's state,\nbytes, rate and ETA, the store's "
		       "size, the boot server's load.\n");
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--state") != 0) {
		fprintf(stderr, "usage: branchline-dist status --state DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/status.json", argv[2]);
	if ((o = json_load_file(path, 0, &je)) == NULL) {
		fprintf(stderr, "branchline-dist: %s: %s\n", path, je.text);
		return 1;
	}
	txt = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("%s\n", txt ? txt : "{}");
	free(txt);
	json_decref(o);
	return 0;
}

int
main(int argc, char **argv)
{
	struct daemon_args a;
	struct dist d;
	struct dserve *srv = NULL;
	struct dboot *boot = NULL;
	struct dserve_opts so;
	struct event_base *base = NULL;
	struct event *sigint = NULL, *sigterm = NULL;
	pthread_t agent;
	char why[768] = "";
	int rc, started = 0;

	if (argc > 1 && strcmp(argv[1], "enroll") == 0) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = dist_enroll_main(argc - 1, argv + 1);
		curl_global_cleanup();
		return rc;
	}
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_main(argc - 1, argv + 1);
	if ((rc = daemon_parse_args(argc, argv, "branchline-dist",
	             "/etc/branchline/dist.conf", &a)) >= 0) {
		if (rc == 0 && argc > 1 && (strcmp(argv[1], "--help") == 0 ||
		                                   strcmp(argv[1], "-h") == 0))
			printf("\n       branchline-dist enroll --primary URL "
			       "--token TOKEN --state DIR ...\n"
			       "       branchline-dist status --state DIR\n\n"
			       "enroll joins a site with a one-time token from "
			       "`branchline node add`;\nstatus prints the agent's "
			       "last report (--help on each for more).\n");
		return rc;
	}
	memset(&d, 0, sizeof(d));
	if (dist_conf_load(a.config, &d.conf, why, sizeof(why)) != 0) {
		fprintf(stderr, "branchline-dist: %s\n", why);
		return 1;
	}
	if (a.check) {
		printf("configuration OK\n");
		return 0;
	}
	if (dist_identity(&d, why, sizeof(why)) != 0) {
		fprintf(stderr, "branchline-dist: %s\n", why);
		return 1;
	}
	log_init(1, (int)d.conf.log_level, "branchline-dist");
	/* Files the store makes on opening are the service user's. */
	if (daemon_as_user(d.conf.user, 1, why, sizeof(why)) != 0) {
		log_warnx("%s", why);
		return 1;
	}
	rc = store_open(d.store, &d.st, why, sizeof(why));
	if (daemon_as_user(d.conf.user, 0, why, sizeof(why)) != 0 ||
	        rc != 0) {
		log_warnx("%s%s", why,
		        rc != 0 && d.conf.user[0] != '\0'
		                ? " (is the state directory the user's?)"
		                : "");
		store_close(d.st);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&d.mu, NULL);
	rc = 1;
	if ((base = event_base_new()) == NULL) {
		log_warnx("cannot make the event loop");
		goto out;
	}
	memset(&so, 0, sizeof(so));
	so.bind = d.conf.bind;
	so.port = (unsigned)d.conf.port;
	so.pki_dir = d.pki;
	so.store = d.st;
	so.allowed = dist_allowed;
	so.arg = &d;
	if (d.conf.url[0] != '\0' &&
	        dserve_start(base, &so, &srv, why, sizeof(why)) != 0) {
		log_warnx("%s", why);
		goto out;
	}
	if (dboot_start(base, &d, &boot, why, sizeof(why)) != 0) {
		log_warnx("boot services: %s", why);
		goto out;
	}
	/* Every port is bound: no need of root from here on, and no
	 * packet has been read yet (the loop has not run). */
	if (daemon_drop(d.conf.user, d.conf.state_dir, why, sizeof(why)) !=
	        0) {
		log_warnx("%s", why);
		goto out;
	}
	if (d.conf.user[0] != '\0')
		log_info("running as user %s", d.conf.user);
	else if (geteuid() == 0)
		log_info("running as root: set 'user' in the configuration to "
		         "drop privileges once the ports are bound");
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	if (sigint == NULL || sigterm == NULL) {
		log_warnx("cannot install signal handlers");
		goto out;
	}
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	if ((errno = pthread_create(&agent, NULL, agent_main, &d)) != 0) {
		log_warn("starting the agent");
		goto out;
	}
	started = 1;
	log_info("node %s of site %s: replicating from %s%s%s", d.node_id,
	        d.site, d.conf.primary_url,
	        srv ? ", serving child sites at " : "", srv ? d.conf.url : "");
	event_base_dispatch(base);
	rc = 0;
out:
	pthread_mutex_lock(&d.mu);
	d.stop = 1;
	if (d.wake != NULL)
		curl_multi_wakeup(d.wake);
	pthread_mutex_unlock(&d.mu);
	if (started)
		pthread_join(agent, NULL);
	dserve_stop(srv);
	dboot_stop(boot);
	if (sigint != NULL)
		event_free(sigint);
	if (sigterm != NULL)
		event_free(sigterm);
	if (base != NULL)
		event_base_free(base);
	free(d.allowed);
	json_decref(d.catalog);
	json_decref(d.boot_report);
	store_close(d.st);
	pthread_mutex_destroy(&d.mu);
	curl_global_cleanup();
	log_info("stopped");
	return rc;
}

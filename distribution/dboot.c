/*
 * dboot.c - the node's boot services on the main thread: keeps its
 * bootsvc (common/bootsvc.h: TFTP, proxyDHCP and the PXE boot server,
 * HTTP(S)) publishing exactly what the site's boot entries name, from the
 * catalog, via dist_boot_changed.
 *
 * The agent thread only bumps a generation under the mutex; a timer here
 * notices it within a second and publishes again from our own store
 * handle, so no store work ever crosses threads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootsvc.h"
#include "dboot.h"
#include "error.h"
#include "log.h"

struct dboot {
	struct dist *d;
	struct store *st; /* ours, sharing the agent's LMDB environment */
	struct bootsvc *svc;
	struct event *tick;
	uint64_t gen; /* of the entries published */
};

static void
publish(struct dboot *b)
{
	json_t *boot;
	size_t missing, nfiles;
	uint64_t gen, bytes;
	char why[300];

	pthread_mutex_lock(&b->d->mu);
	gen = b->d->boot_gen;
	boot = json_incref(b->d->boot);
	pthread_mutex_unlock(&b->d->mu);
	if (gen != b->gen) {
		if (bootsvc_publish(b->svc, boot, &missing, why, sizeof(why)) !=
		        0) {
			log_warnx("boot entries: %s", why);
		} else { /* else tried again at the next tick */
			b->gen = gen;
			nfiles = bootsvc_count(b->svc, &bytes);
			log_info("boot files: %zu published (%" PRIu64
			         " bytes)%s",
			        nfiles, bytes,
			        missing ? "; some wait for their images" : "");
		}
	}
	json_decref(boot);
}

static void
on_tick(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	publish(arg);
}

int
dboot_start(struct event_base *base, struct dist *d, struct dboot **out,
        char *why, size_t whylen)
{
	struct timeval sec = {1, 0};
	struct dboot *b;
	int rc;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	b->d = d;
	b->gen = UINT64_MAX;
	if ((rc = store_open_shared(d->st, &b->st, why, whylen)) != 0 ||
	        (rc = bootsvc_start(base, b->st, &d->conf.boot, d->pki,
	                 &b->svc, why, whylen)) != 0)
		goto fail;
	if ((b->tick = event_new(base, -1, EV_PERSIST, on_tick, b)) == NULL ||
	        event_add(b->tick, &sec) != 0) {
		rc = bl_why(why, whylen, -ENOMEM, "out of memory");
		goto fail;
	}
	*out = b;
	return 0;
fail:
	dboot_stop(b);
	return rc;
}

void
dboot_stop(struct dboot *b)
{
	if (b == NULL)
		return;
	if (b->tick != NULL)
		event_free(b->tick);
	bootsvc_stop(b->svc);
	if (b->st != NULL)
		store_close(b->st);
	free(b);
}

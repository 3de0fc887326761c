/*
 * dboot.c - the node's boot services on the main thread: a bootsvc
 * (common/bootsvc.h: TFTP, proxyDHCP and the PXE boot server, HTTP(S))
 * serving what the catalog's boot entries name (every site's: a client
 * of another site may be referred here), via dist_boot_changed, and
 * referring clients by the catalog's view of the tree.
 *
 * The agent thread only bumps a generation under the mutex; the bootsvc
 * asks every second (source) and publishes from our own store handle, so
 * no store work ever crosses threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "bootsvc.h"
#include "dboot.h"
#include "error.h"

struct dboot {
	struct dist *d;
	struct store *st; /* ours, sharing the agent's LMDB environment */
	struct bootsvc *svc;
	uint64_t gen; /* of the entries handed over last */
};

/* The catalog as a referral view when its generation moved since the
 * last call; our boot report goes the other way, for the heartbeat. */
static json_t *
source(void *arg, time_t *confirmed)
{
	struct dboot *b = arg;
	json_t *view = NULL, *rep = b->svc ? bootsvc_report(b->svc) : NULL;

	pthread_mutex_lock(&b->d->mu);
	if (rep != NULL) {
		json_decref(b->d->boot_report);
		b->d->boot_report = rep;
	}
	*confirmed = b->d->catalog_ok;
	/* Nothing to serve before the first catalog. */
	if (b->d->boot_gen != b->gen && b->d->catalog != NULL) {
		b->gen = b->d->boot_gen;
		view = json_deep_copy(b->d->catalog);
	}
	pthread_mutex_unlock(&b->d->mu);
	if (view != NULL)
		json_object_set_new(view, "self", json_string(b->d->node_id));
	return view;
}

int
dboot_start(struct event_base *base, struct dist *d, struct dboot **out,
        char *why, size_t whylen)
{
	struct dboot *b;
	int rc;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	b->d = d;
	b->gen = UINT64_MAX;
	if ((rc = store_open_shared(d->st, &b->st, why, whylen)) != 0 ||
	        (rc = bootsvc_start(base, b->st, &d->conf.boot, d->pki, d->site,
	                 source, b, &b->svc, why, whylen)) != 0) {
		dboot_stop(b);
		return rc;
	}
	*out = b;
	return 0;
}

void
dboot_stop(struct dboot *b)
{
	if (b == NULL)
		return;
	bootsvc_stop(b->svc);
	if (b->st != NULL)
		store_close(b->st);
	free(b);
}

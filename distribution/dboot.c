/*
 * dboot.c - the node's boot services on the main thread: a bootsvc
 * (common/bootsvc.h: TFTP, proxyDHCP and the PXE boot server, HTTP(S))
 * serving exactly what the site's boot entries name, from the catalog,
 * via dist_boot_changed.
 *
 * The agent thread only bumps a generation under the mutex; the bootsvc
 * asks every second (source) and publishes from our own store handle, so
 * no store work ever crosses threads.
 */
#include <errno.h>
#include <stdlib.h>

#include "bootsvc.h"
#include "dboot.h"
#include "error.h"

struct dboot {
	struct dist *d;
	struct store *st; /* ours, sharing the agent's LMDB environment */
	struct bootsvc *svc;
	uint64_t gen; /* of the entries handed over last */
};

/* The entries when their generation moved since the last call. */
static json_t *
source(void *arg)
{
	struct dboot *b = arg;
	json_t *boot = NULL;

	pthread_mutex_lock(&b->d->mu);
	if (b->d->boot_gen != b->gen) {
		b->gen = b->d->boot_gen;
		boot = json_incref(b->d->boot);
		if (boot == NULL)
			boot = json_array();
	}
	pthread_mutex_unlock(&b->d->mu);
	return boot;
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

/*
 * pboot.c - the head office's own boot services: the primary answers
 * network boot on its LAN like any distribution node (common/bootsvc.h),
 * for the site named by boot_site in its configuration, straight from
 * its store.
 *
 * catalog_kick (a configuration commit, an import done, a heartbeat, the
 * 10 s tick) marks the entries dirty; the bootsvc asks every second, so
 * a burst of changes costs one publish.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "primary.h"

struct pboot {
	struct primary *p;
	struct store *st; /* ours, sharing the primary's LMDB environment */
	struct bootsvc *svc;
	int dirty;
	int warned; /* that boot_site names no site */
};

/* The referral view of boot_site when something changed since the last
 * call; our own view of node health is always current. */
static json_t *
source(void *arg, time_t *confirmed)
{
	struct pboot *b = arg;
	const char *site = b->p->conf.boot_site;

	*confirmed = time(NULL);
	if (!b->dirty)
		return NULL;
	b->dirty = 0;
	if (cfg_site(&b->p->cfg, site) != NULL)
		b->warned = 0;
	else if (!b->warned) {
		log_warnx("boot_site '%s' is not a site: answering only "
		          "relayed requests of other sites",
		        site);
		b->warned = 1;
	}
	return catalog_view(b->p, site);
}

int
pboot_start(struct primary *p, char *why, size_t whylen)
{
	struct pboot *b;
	char pki[1200];
	int rc;

	if (p->conf.boot_site[0] == '\0')
		return 0;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	b->p = p;
	b->dirty = 1;
	p->boot = b;
	snprintf(pki, sizeof(pki), "%s/pki", p->state);
	if ((rc = store_open_shared(p->store, &b->st, why, whylen)) != 0 ||
	        (rc = bootsvc_start(p->base, b->st, &p->conf.boot, pki,
	                 p->conf.boot_site, source, b, &b->svc, why,
	                 whylen)) != 0) {
		pboot_stop(p);
		return rc;
	}
	return 0;
}

void
pboot_changed(struct primary *p)
{
	if (p->boot != NULL)
		p->boot->dirty = 1;
}

void
pboot_stop(struct primary *p)
{
	struct pboot *b = p->boot;

	if (b == NULL)
		return;
	bootsvc_stop(b->svc);
	if (b->st != NULL)
		store_close(b->st);
	free(b);
	p->boot = NULL;
}

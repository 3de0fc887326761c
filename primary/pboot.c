/*
 * pboot.c - the head office's own boot services: the primary answers
 * network boot on its LAN like any distribution node (common/bootsvc.h),
 * for the site named by boot_site in its configuration, straight from
 * its store.
 *
 * catalog_kick (a configuration commit, an import done, a heartbeat, the
 * 10 s tick) marks the boot entries dirty; a 1 s timer publishes them
 * again, so a burst of changes costs one publish.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "primary.h"

struct pboot {
	struct primary *p;
	struct store *st; /* ours, sharing the primary's LMDB environment */
	struct bootsvc *svc;
	struct event *tick;
	int dirty;
	json_t *last; /* the entries published last */
	size_t nfiles, missing;
	uint64_t bytes;
};

static void
publish(struct pboot *b)
{
	const struct site *s = cfg_site(&b->p->cfg, b->p->conf.boot_site);
	json_t *boot = s != NULL ? catalog_boot_json(s) : json_array();
	size_t missing = 0, n;
	uint64_t bytes;
	char why[300];

	b->dirty = 0;
	if (s == NULL && b->last == NULL)
		log_warnx("boot_site '%s' is not a site: serving no boot files",
		        b->p->conf.boot_site);
	if (bootsvc_publish(b->svc, boot, &missing, why, sizeof(why)) != 0) {
		log_warnx("boot entries: %s", why);
		b->dirty = 1; /* again at the next tick */
		json_decref(boot);
		return;
	}
	n = bootsvc_count(b->svc, &bytes);
	if (b->last == NULL || !json_equal(boot, b->last) || n != b->nfiles ||
	        bytes != b->bytes || missing != b->missing)
		log_info("boot files of site %s: %zu published (%" PRIu64
		         " bytes)%s",
		        b->p->conf.boot_site, n, bytes,
		        missing ? "; some wait for their images" : "");
	json_decref(b->last);
	b->last = boot;
	b->nfiles = n;
	b->bytes = bytes;
	b->missing = missing;
}

static void
on_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct pboot *b = arg;

	(void)fd;
	(void)ev;
	if (b->dirty)
		publish(b);
}

int
pboot_start(struct primary *p, char *why, size_t whylen)
{
	struct timeval sec = {1, 0};
	struct pboot *b;
	int rc;

	if (p->conf.boot_site[0] == '\0')
		return 0;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	b->p = p;
	p->boot = b;
	if ((rc = store_open_shared(p->store, &b->st, why, whylen)) != 0)
		goto fail;
	{
		char pki[1200];

		snprintf(pki, sizeof(pki), "%s/pki", p->state);
		if ((rc = bootsvc_start(p->base, b->st, &p->conf.boot, pki,
		             &b->svc, why, whylen)) != 0)
			goto fail;
	}
	if ((b->tick = event_new(p->base, -1, EV_PERSIST, on_tick, b)) ==
	                NULL ||
	        event_add(b->tick, &sec) != 0) {
		rc = bl_why(why, whylen, -ENOMEM, "out of memory");
		goto fail;
	}
	publish(b);
	return 0;
fail:
	pboot_stop(p);
	return rc;
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
	if (b->tick != NULL)
		event_free(b->tick);
	bootsvc_stop(b->svc);
	if (b->st != NULL)
		store_close(b->st);
	json_decref(b->last);
	free(b);
	p->boot = NULL;
}

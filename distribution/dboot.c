/*
 * dboot.c - the node's boot services on the main thread: keeps a bootfs
 * publishing exactly the files the site's boot entries name (from the
 * catalog, via dist_boot_changed), and serves them: TFTP (tftpd.c),
 * proxyDHCP and the PXE boot server (pxed.c) and HTTP(S) (httpboot.c),
 * all answering from one bootplan made from the same entries.
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

#include "bootfs.h"
#include "bootplan.h"
#include "dboot.h"
#include "error.h"
#include "httpboot.h"
#include "log.h"
#include "pki.h"
#include "pxed.h"
#include "tftpd.h"

struct dboot {
	struct dist *d;
	struct store *st; /* ours, sharing the agent's LMDB environment */
	struct bootfs *fs;
	struct tftpd *tftp;
	struct pxed *pxe;
	struct httpboot *http;
	SSL_CTX *ssl; /* HTTPS boot */
	struct bootplan plan; /* what the published entries boot */
	struct event *tick;
	uint64_t gen; /* of the entries published */
};

/* The refs of one boot entry (at most 2: its file and an initrd). */
static size_t
entry_refs(json_t *e, struct bootfs_ref *r, char *img, size_t imglen)
{
	static const char *const keys[] = {"kernel", "program", "iso",
	        "initrd"};
	const char *ref = json_string_value(json_object_get(e, "image"));
	uint32_t version = 0;
	size_t i, n = 0;

	if (ref == NULL || store_parse_ref(ref, img, imglen, &version) != 0)
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && n < 2; i++) {
		const char *p = json_string_value(json_object_get(e, keys[i]));

		if (p == NULL)
			continue;
		r[n].image = img;
		r[n].version = version;
		r[n].path = p;
		n++;
	}
	return n;
}

static void
publish(struct dboot *b)
{
	char (*imgs)[MANIFEST_NAME_MAX + 1] = NULL;
	struct bootfs_ref *refs = NULL;
	struct bootplan plan;
	json_t *boot, *e;
	size_t i, n = 0, missing = 0, nfiles;
	uint64_t gen, bytes;
	char why[300];

	pthread_mutex_lock(&b->d->mu);
	gen = b->d->boot_gen;
	boot = json_incref(b->d->boot);
	pthread_mutex_unlock(&b->d->mu);
	if (gen == b->gen)
		goto out;
	if ((refs = calloc(2 * json_array_size(boot) + 1, sizeof(*refs))) ==
	                NULL ||
	        (imgs = calloc(json_array_size(boot) + 1, sizeof(*imgs))) ==
	                NULL)
		goto out;
	json_array_foreach(boot, i, e)
	        n += entry_refs(e, refs + n, imgs[i], sizeof(imgs[i]));
	if (bootplan_from_json(boot, &plan, why, sizeof(why)) != 0) {
		log_warnx("boot entries: %s", why);
		goto out; /* tried again at the next tick */
	}
	if (bootfs_publish(b->fs, refs, n, &missing, why, sizeof(why)) != 0) {
		log_warnx("%s", why);
		bootplan_free(&plan);
		goto out;
	}
	bootplan_free(&b->plan);
	b->plan = plan;
	b->gen = gen;
	nfiles = bootfs_count(b->fs, &bytes);
	log_info("boot files: %zu published (%" PRIu64 " bytes)%s", nfiles,
	        bytes, missing ? "; some wait for their images" : "");
out:
	json_decref(boot);
	free(refs);
	free(imgs);
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
	const struct dist_conf *c = &d->conf;
	struct tftpd_conf tc;
	struct pxed_conf pc;
	struct httpboot_conf hc;
	struct timeval sec = {1, 0};
	struct dboot *b;
	int rc;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	b->d = d;
	b->gen = UINT64_MAX;
	if ((rc = store_open_shared(d->st, &b->st, why, whylen)) != 0)
		goto fail;
	if ((rc = bootfs_new(b->st, (size_t)c->boot_cache, &b->fs)) != 0) {
		rc = bl_why(why, whylen, rc, "out of memory");
		goto fail;
	}
	if (c->tftp) {
		tftpd_conf_default(&tc);
		snprintf(tc.bind, sizeof(tc.bind), "%s", c->tftp_bind);
		tc.port = (uint16_t)c->tftp_port;
		tc.blksize_max = (uint32_t)c->tftp_blksize_max;
		tc.windowsize_max = (uint32_t)c->tftp_windowsize_max;
		tc.max_transfers = (uint32_t)c->tftp_max_transfers;
		tc.max_per_client = (uint32_t)c->tftp_max_per_client;
		if ((rc = tftpd_start(base, &tc, b->fs, &b->tftp, why,
		             whylen)) != 0)
			goto fail;
	}
	if (c->dhcp) {
		pxed_conf_default(&pc);
		snprintf(pc.interfaces, sizeof(pc.interfaces), "%s",
		        c->dhcp_interfaces);
		pc.proxy = c->dhcp_proxy;
		pc.port = (uint16_t)c->dhcp_port;
		pc.pxe_port = (uint16_t)c->dhcp_pxe_port;
		snprintf(pc.http_url, sizeof(pc.http_url), "%s", c->boot_url);
		pc.http_port = (uint16_t)c->http_boot_port;
		if ((rc = pxed_start(base, &pc, &b->plan, &b->pxe, why,
		             whylen)) != 0)
			goto fail;
	}
	if (c->http_boot_port != 0 || c->http_boot_tls_port != 0) {
		memset(&hc, 0, sizeof(hc));
		snprintf(hc.bind, sizeof(hc.bind), "%s", c->http_boot_bind);
		hc.port = (uint16_t)c->http_boot_port;
		hc.tls_port = (uint16_t)c->http_boot_tls_port;
		snprintf(hc.url, sizeof(hc.url), "%s", c->boot_url);
		if (hc.tls_port != 0) {
			if ((b->ssl = pki_server_ctx(d->pki, why, whylen)) ==
			        NULL) {
				rc = BL_ECRYPTO;
				goto fail;
			}
			hc.ssl = b->ssl;
		}
		if ((rc = httpboot_start(base, &hc, b->fs, &b->plan, &b->http,
		             why, whylen)) != 0)
			goto fail;
	}
	log_info("boot services:%s%s%s%s", b->tftp ? " TFTP" : "",
	        b->pxe ? (c->dhcp_proxy ? " proxyDHCP+PXE(4011)" : " PXE(4011)")
	               : "",
	        c->http_boot_port ? " HTTP" : "",
	        c->http_boot_tls_port ? " HTTPS" : "");
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
	tftpd_stop(b->tftp);
	pxed_stop(b->pxe);
	httpboot_stop(b->http);
	if (b->ssl != NULL)
		SSL_CTX_free(b->ssl);
	bootfs_free(b->fs);
	bootplan_free(&b->plan);
	if (b->st != NULL)
		store_close(b->st);
	free(b);
}

/*
 * bootsvc.c - a node's boot services as one unit (see bootsvc.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootfs.h"
#include "bootplan.h"
#include "bootsvc.h"
#include "error.h"
#include "httpboot.h"
#include "log.h"
#include "pki.h"
#include "pxed.h"
#include "tftpd.h"

struct bootsvc {
	char site[64];
	bootsvc_source_fn source;
	void *arg;
	struct event *tick;
	json_t *pending; /* entries not yet published (a publish failed) */
	json_t *last;    /* entries published last, and what they made: */
	size_t nfiles, missing;
	uint64_t bytes;
	struct store *st;
	struct bootfs *fs;
	struct tftpd *tftp;
	struct pxed *pxe;
	struct httpboot *http;
	SSL_CTX *ssl;         /* HTTPS boot */
	struct bootplan plan; /* what the published entries boot */
};

/* --- configuration ----------------------------------------------------- */

void
boot_conf_default(struct boot_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->tftp = 1;
	snprintf(c->tftp_bind, sizeof(c->tftp_bind), "0.0.0.0");
	c->tftp_port = 69;
	c->tftp_blksize_max = 65464;
	c->tftp_windowsize_max = 64;
	c->tftp_max_transfers = 4096;
	c->tftp_max_per_client = 16;
	c->boot_cache = 256u << 20;
	c->dhcp = 1;
	c->dhcp_proxy = 1;
	c->dhcp_port = 67;
	c->dhcp_pxe_port = 4011;
	snprintf(c->http_boot_bind, sizeof(c->http_boot_bind), "0.0.0.0");
	c->http_boot_port = 80;
	c->pxe_prompt_timeout = 5;
}

#define BOFF(f) offsetof(struct boot_conf, f)
#define BCAP(f) sizeof(((struct boot_conf *)0)->f)

static const struct conf_key boot_keys[BOOT_CONF_NKEYS] = {
        {"tftp", CONF_BOOL, BOFF(tftp), 0, 0, 0},
        {"tftp_bind", CONF_STR, BOFF(tftp_bind), BCAP(tftp_bind), 0, 0},
        {"tftp_port", CONF_U64, BOFF(tftp_port), 0, 1, 65535},
        {"tftp_blksize_max", CONF_U64, BOFF(tftp_blksize_max), 0, 512,
                65464},
        {"tftp_windowsize_max", CONF_U64, BOFF(tftp_windowsize_max), 0, 1,
                64},
        {"tftp_max_transfers", CONF_U64, BOFF(tftp_max_transfers), 0, 1,
                65536},
        {"tftp_max_per_client", CONF_U64, BOFF(tftp_max_per_client), 0, 1,
                1024},
        {"boot_cache", CONF_SIZE, BOFF(boot_cache), 0, 0, 1ull << 40},
        {"dhcp", CONF_BOOL, BOFF(dhcp), 0, 0, 0},
        {"dhcp_proxy", CONF_BOOL, BOFF(dhcp_proxy), 0, 0, 0},
        {"dhcp_interfaces", CONF_STR, BOFF(dhcp_interfaces),
                BCAP(dhcp_interfaces), 0, 0},
        {"dhcp_port", CONF_U64, BOFF(dhcp_port), 0, 1, 65535},
        {"dhcp_pxe_port", CONF_U64, BOFF(dhcp_pxe_port), 0, 1, 65535},
        {"http_boot_bind", CONF_STR, BOFF(http_boot_bind),
                BCAP(http_boot_bind), 0, 0},
        {"http_boot_port", CONF_U64, BOFF(http_boot_port), 0, 0, 65535},
        {"http_boot_tls_port", CONF_U64, BOFF(http_boot_tls_port), 0, 0,
                65535},
        {"boot_url", CONF_STR, BOFF(boot_url), BCAP(boot_url), 0, 0},
        {"pxe_prompt", CONF_STR, BOFF(pxe_prompt), BCAP(pxe_prompt), 0, 0},
        {"pxe_prompt_timeout", CONF_U64, BOFF(pxe_prompt_timeout), 0, 0,
                254},
};

void
boot_conf_keys(struct conf_key *out, size_t off)
{
	size_t i;

	for (i = 0; i < BOOT_CONF_NKEYS; i++) {
		out[i] = boot_keys[i];
		out[i].off += off;
	}
}

int
boot_conf_check(struct boot_conf *c, const char *path, char *why,
        size_t whylen)
{
	size_t i, n = strlen(c->boot_url);

	for (i = 0; c->pxe_prompt[i] != '\0'; i++)
		if (c->pxe_prompt[i] < 0x20 || c->pxe_prompt[i] > 0x7e)
			return bl_why(why, whylen, BL_EFORMAT,
			        "%s: pxe_prompt: printable ASCII only", path);
	if (n == 0)
		return 0;
	if (strncmp(c->boot_url, "http://", 7) != 0 &&
	        strncmp(c->boot_url, "https://", 8) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: boot_url must start with http:// or https://",
		        path);
	for (i = 0; i < n; i++)
		if ((unsigned char)c->boot_url[i] <= ' ' ||
		        c->boot_url[i] == 0x7f || c->boot_url[i] == '"')
			return bl_why(why, whylen, BL_EFORMAT,
			        "%s: boot_url: spaces, quotes and control "
			        "characters are not allowed",
			        path);
	if (c->boot_url[n - 1] == '/')
		c->boot_url[n - 1] = '\0';
	return 0;
}

/* --- publishing ---------------------------------------------------------- */

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

/* Publish what the boot entries boot, from the images the store holds
 * now; *missing counts entries whose image is not here yet.  0, or an
 * error with why (the set served stays as it was). */
static int
publish(struct bootsvc *b, json_t *boot, size_t *missing, char *why,
        size_t whylen)
{
	char (*imgs)[MANIFEST_NAME_MAX + 1] = NULL;
	struct bootfs_ref *refs = NULL;
	struct bootplan plan;
	json_t *e;
	size_t i, n = 0, nb = json_array_size(boot), miss = 0;
	int rc;

	if (missing != NULL)
		*missing = 0;
	if ((rc = bootplan_from_json(boot, &plan, why, whylen)) != 0)
		return rc;
	if ((refs = calloc(2 * nb + 1, sizeof(*refs))) == NULL ||
	        (imgs = calloc(nb + 1, sizeof(*imgs))) == NULL) {
		rc = bl_why(why, whylen, -ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(boot, i, e)
	        n += entry_refs(e, refs + n, imgs[i], sizeof(imgs[i]));
	if ((rc = bootfs_publish(b->fs, refs, n, &miss, why, whylen)) != 0)
		goto out;
	bootplan_free(&b->plan);
	b->plan = plan;
	plan.e = NULL;
	plan.n = 0;
	if (missing != NULL)
		*missing = miss;
out:
	bootplan_free(&plan);
	free(refs);
	free(imgs);
	return rc;
}

static void
on_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct bootsvc *b = arg;
	json_t *boot;
	size_t missing, n;
	uint64_t bytes;
	char why[300];

	(void)fd;
	(void)ev;
	if ((boot = b->source(b->arg)) != NULL) {
		json_decref(b->pending);
		b->pending = boot;
	}
	if (b->pending == NULL)
		return;
	if (publish(b, b->pending, &missing, why, sizeof(why)) != 0) {
		log_warnx("boot entries of site %s: %s", b->site, why);
		return; /* pending: again at the next tick */
	}
	n = bootfs_count(b->fs, &bytes);
	if (b->last == NULL || !json_equal(b->pending, b->last) ||
	        n != b->nfiles || bytes != b->bytes || missing != b->missing)
		log_info("boot files of site %s: %zu published (%" PRIu64
		         " bytes)%s",
		        b->site, n, bytes,
		        missing ? "; some wait for their images" : "");
	json_decref(b->last);
	b->last = b->pending;
	b->pending = NULL;
	b->nfiles = n;
	b->bytes = bytes;
	b->missing = missing;
}

/* --- the servers ----------------------------------------------------------- */

int
bootsvc_start(struct event_base *base, struct store *store,
        const struct boot_conf *c, const char *pki_dir, const char *site,
        bootsvc_source_fn source, void *arg, struct bootsvc **out,
        char *why, size_t whylen)
{
	struct timeval sec = {1, 0};
	struct tftpd_conf tc;
	struct pxed_conf pc;
	struct httpboot_conf hc;
	struct bootsvc *b;
	int rc;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	snprintf(b->site, sizeof(b->site), "%s", site);
	b->source = source;
	b->arg = arg;
	b->st = store;
	if ((rc = bootfs_new(store, (size_t)c->boot_cache, &b->fs)) != 0) {
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
		snprintf(pc.prompt, sizeof(pc.prompt), "%s", c->pxe_prompt);
		pc.prompt_timeout = (uint8_t)c->pxe_prompt_timeout;
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
			if ((b->ssl = pki_server_ctx(pki_dir, why, whylen)) ==
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
	on_tick(-1, 0, b);
	*out = b;
	return 0;
fail:
	bootsvc_stop(b);
	return rc;
}

void
bootsvc_stop(struct bootsvc *b)
{
	if (b == NULL)
		return;
	if (b->tick != NULL)
		event_free(b->tick);
	json_decref(b->pending);
	json_decref(b->last);
	tftpd_stop(b->tftp);
	pxed_stop(b->pxe);
	httpboot_stop(b->http);
	if (b->ssl != NULL)
		SSL_CTX_free(b->ssl);
	bootfs_free(b->fs);
	bootplan_free(&b->plan);
	free(b);
}

/*
 * bootsvc.c - a node's boot services as one unit (see bootsvc.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include "bootfs.h"
#include "bootplan.h"
#include "bootsvc.h"
#include "dhcp.h"
#include "error.h"
#include "httpboot.h"
#include "log.h"
#include "pki.h"
#include "pxed.h"
#include "referral.h"
#include "tftpd.h"

struct bootsvc {
	char site[64];
	bootsvc_source_fn source;
	void *arg;
	struct event *tick;
	json_t *pending; /* a view not yet published (a publish failed) */
	json_t *last;    /* the view published last, and what it made: */
	size_t nfiles, missing;
	uint64_t bytes;
	struct store *st;
	struct bootfs *fs;
	struct tftpd *tftp;
	struct pxed *pxe;
	struct httpboot *http;
	struct httpboot_ops ops;
	SSL_CTX *ssl; /* HTTPS boot */

	/* What the published view says, for every site. */
	struct referral *ref;
	struct bootplan *plans; /* per referral site index */
	size_t nplans;
	char **names; /* every file the entries name (sorted) */
	size_t nnames;
	char **held; /* image refs held here ("name@version") */
	size_t nheld;
	time_t confirmed;

	uint64_t limit; /* boot_transfer_limit */
	int busy;
	json_t *counts; /* decisions per target node id */
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
	c->boot_transfer_limit = 1000;
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
        {"boot_transfer_limit", CONF_U64, BOFF(boot_transfer_limit), 0, 1,
                1000000},
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

int
boot_conf_url(const struct boot_conf *c, const char *daemon_url, char *out,
        size_t len)
{
	const char *h;
	size_t hl;
	int n;

	if (len > 0)
		out[0] = '\0';
	if (c->boot_url[0] != '\0') {
		n = snprintf(out, len, "%s", c->boot_url);
		return n < 0 || (size_t)n >= len ? BL_ETOOBIG : 0;
	}
	if (c->http_boot_port == 0 || daemon_url == NULL)
		return 0;
	if (strncmp(daemon_url, "https://", 8) == 0)
		h = daemon_url + 8;
	else if (strncmp(daemon_url, "http://", 7) == 0)
		h = daemon_url + 7;
	else
		return 0;
	if (h[0] == '[')
		hl = strcspn(h, "]") + 1;
	else
		hl = strcspn(h, ":/");
	if (hl == 0 || hl > strlen(h))
		return 0;
	n = snprintf(out, len, "http://%.*s:%u", (int)hl, h,
	        (unsigned)c->http_boot_port);
	return n < 0 || (size_t)n >= len ? BL_ETOOBIG : 0;
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

static void
free_strs(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort v[0..*n) and drop repeats (freeing them). */
static void
sort_unique(char **v, size_t *n)
{
	size_t i, u = 0;

	qsort(v, *n, sizeof(*v), cmp_strp);
	for (i = 0; i < *n; i++) {
		if (u > 0 && strcmp(v[u - 1], v[i]) == 0)
			free(v[i]);
		else
			v[u++] = v[i];
	}
	*n = u;
}

/* What a view makes, built aside and swapped in whole. */
struct made {
	struct referral *ref;
	struct bootplan *plans;
	size_t nplans;
	char **names, **held;
	size_t nnames, nheld;
};

static void
made_free(struct made *m)
{
	size_t i;

	referral_free(m->ref);
	for (i = 0; i < m->nplans; i++)
		bootplan_free(&m->plans[i]);
	free(m->plans);
	free_strs(m->names, m->nnames);
	free_strs(m->held, m->nheld);
	memset(m, 0, sizeof(*m));
}

/* The boot array of view site i (the view's own "boot" for its own site
 * when sites do not carry one). */
static json_t *
site_boot(json_t *view, json_t *site)
{
	json_t *b = json_object_get(site, "boot");
	const char *own = json_string_value(json_object_get(view, "site"));
	const char *name = json_string_value(json_object_get(site, "name"));

	if (b == NULL && own != NULL && name != NULL && strcmp(own, name) == 0)
		b = json_object_get(view, "boot");
	return b;
}

/* Publish every file any site's boot entries name, from the images the
 * store holds now, and build the plans and the referral table; *missing
 * counts files whose image is not here.  0, or an error with why (what
 * is served stays as it was). */
static int
publish(struct bootsvc *b, json_t *view, size_t *missing, char *why,
        size_t whylen)
{
	struct made m = {0};
	struct bootfs_ref *refs = NULL;
	char (*imgs)[MANIFEST_NAME_MAX + 1] = NULL;
	char **refstr = NULL;
	json_t *sites = json_object_get(view, "sites"), *site, *e;
	json_t *latest = json_object_get(view, "latest");
	size_t i, k, n = 0, ne = 0, nref = 0, miss = 0;
	int rc;

	*missing = 0;
	if ((rc = referral_build(view, &m.ref, why, whylen)) != 0)
		return rc;
	m.nplans = referral_nsites(m.ref);
	json_array_foreach(sites, i, site)
	        ne += json_array_size(site_boot(view, site));
	if ((m.nplans > 0 &&
	            (m.plans = calloc(m.nplans, sizeof(*m.plans))) == NULL) ||
	        (refs = calloc(2 * ne + 1, sizeof(*refs))) == NULL ||
	        (imgs = calloc(ne + 1, sizeof(*imgs))) == NULL ||
	        (refstr = calloc(ne + 1, sizeof(*refstr))) == NULL ||
	        (m.names = calloc(2 * ne + 1, sizeof(*m.names))) == NULL) {
		rc = bl_why(why, whylen, -ENOMEM, "out of memory");
		goto out;
	}
	ne = 0;
	json_array_foreach(sites, i, site)
	{
		json_t *boot = site_boot(view, site);
		char w[256];

		if (boot == NULL || i >= m.nplans)
			continue;
		if ((rc = bootplan_from_json(boot, &m.plans[i], w, sizeof(w))) !=
		        0) {
			rc = bl_why(why, whylen, rc, "site %s: %s",
			        referral_site_name(m.ref, (int)i), w);
			goto out;
		}
		for (k = 0; k < m.plans[i].n; k++) {
			const struct bootplan_entry *pe = &m.plans[i].e[k];

			if ((m.names[m.nnames] = strdup(pe->file)) == NULL ||
			        (pe->initrd != NULL &&
			                (m.names[++m.nnames] =
			                                strdup(pe->initrd)) ==
			                        NULL)) {
				rc = bl_why(why, whylen, -ENOMEM,
				        "out of memory");
				goto out;
			}
			m.nnames++;
		}
		json_array_foreach(boot, k, e)
		{
			const char *ref = json_string_value(
			        json_object_get(e, "image"));
			size_t r0 = n, j;

			n += entry_refs(e, refs + n, imgs[ne], sizeof(imgs[ne]));
			/* "IMAGE" means the newest version the primary has,
			 * not the newest here: an older one is not served
			 * under that name (clients are sent to a holder). */
			for (j = r0; j < n; j++)
				if (refs[j].version == 0)
					refs[j].version = (uint32_t)json_integer_value(
					        json_object_get(latest,
					                refs[j].image));
			if (ref != NULL && (refstr[nref++] = strdup(ref)) == NULL) {
				rc = bl_why(why, whylen, -ENOMEM,
				        "out of memory");
				goto out;
			}
			ne++;
		}
	}
	sort_unique(m.names, &m.nnames);
	if ((rc = bootfs_publish(b->fs, refs, n, &miss, why, whylen)) != 0)
		goto out;
	/* The images held here, as "name@version", for referral. */
	sort_unique(refstr, &nref);
	if ((m.held = calloc(nref + 1, sizeof(*m.held))) == NULL) {
		rc = bl_why(why, whylen, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nref; i++) {
		char name[MANIFEST_NAME_MAX + 1], w[200], buf[200];
		struct store_version v;
		uint32_t ver;

		if (store_parse_ref(refstr[i], name, sizeof(name), &ver) != 0 ||
		        store_lookup(b->st, name, ver, &v, NULL, NULL, w,
		                sizeof(w)) != 0)
			continue;
		snprintf(buf, sizeof(buf), "%s@%u", v.name, (unsigned)v.version);
		if ((m.held[m.nheld] = strdup(buf)) == NULL) {
			rc = bl_why(why, whylen, -ENOMEM, "out of memory");
			goto out;
		}
		m.nheld++;
	}
	sort_unique(m.held, &m.nheld);
	if (referral_self(m.ref, b->busy, (const char *const *)m.held,
	            m.nheld) != 0) {
		rc = bl_why(why, whylen, -ENOMEM, "out of memory");
		goto out;
	}
	referral_confirmed(m.ref, b->confirmed);
	{
		struct made old = {b->ref, b->plans, b->nplans, b->names,
		        b->held, b->nnames, b->nheld};

		b->ref = m.ref;
		b->plans = m.plans;
		b->nplans = m.nplans;
		b->names = m.names;
		b->nnames = m.nnames;
		b->held = m.held;
		b->nheld = m.nheld;
		m = old;
	}
	*missing = miss;
out:
	made_free(&m);
	free(refs);
	free(imgs);
	free_strs(refstr, nref);
	return rc;
}

/* TFTP and HTTP transfers running now. */
static uint64_t
active_transfers(const struct bootsvc *b)
{
	struct tftpd_stats ts;
	struct httpboot_stats hs;
	uint64_t active = 0;

	if (b->tftp != NULL) {
		tftpd_stats(b->tftp, &ts);
		active += ts.active;
	}
	if (b->http != NULL) {
		httpboot_stats(b->http, &hs);
		active += hs.active;
	}
	return active;
}

/* Busy: at the transfer limit; free again below 90% of it. */
static void
update_busy(struct bootsvc *b)
{
	uint64_t active = active_transfers(b);
	int busy = b->busy;

	if (active >= b->limit)
		busy = 1;
	else if (active < b->limit - b->limit / 10)
		busy = 0;
	if (busy != b->busy) {
		log_info("boot: %" PRIu64 " transfers: %s", active,
		        busy ? "at the transfer limit; new clients are referred "
		               "elsewhere"
		             : "below the transfer limit again");
		b->busy = busy;
		if (b->ref != NULL)
			(void)referral_self(b->ref, busy,
			        (const char *const *)b->held, b->nheld);
	}
}

static void
on_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct bootsvc *b = arg;
	json_t *view;
	size_t missing, n;
	uint64_t bytes;
	char why[300];

	(void)fd;
	(void)ev;
	update_busy(b);
	if ((view = b->source(b->arg, &b->confirmed)) != NULL) {
		json_decref(b->pending);
		b->pending = view;
	}
	if (b->ref != NULL)
		referral_confirmed(b->ref, b->confirmed);
	if (b->pending == NULL)
		return;
	if (publish(b, b->pending, &missing, why, sizeof(why)) != 0) {
		log_warnx("boot entries of site %s: %s", b->site, why);
		return; /* pending: again at the next tick */
	}
	n = bootfs_count(b->fs, &bytes);
	if (b->last == NULL || n != b->nfiles || bytes != b->bytes ||
	        missing != b->missing ||
	        !json_equal(json_object_get(b->pending, "sites"),
	                json_object_get(b->last, "sites")))
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

/* --- referral -------------------------------------------------------- */

/* The image ref of a published name "REF/PATH" as an id, or -1. */
static int
name_image(const struct bootsvc *b, const char *file)
{
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t v;

	if (bootplan_name_image(file, name, sizeof(name), &v) != 0)
		return -1;
	return referral_image(b->ref, name, v);
}

static void
count(struct bootsvc *b, const char *id)
{
	json_t *c = json_object_get(b->counts, id);

	if (json_object_size(b->counts) >= 4096 && c == NULL)
		return;
	json_object_set_new(b->counts, id,
	        json_integer(json_integer_value(c) + 1));
}

/* Choose for a client of site needing file; targets in ch. */
static size_t
choose(struct bootsvc *b, int site, const char *file,
        const struct ref_client *c, struct ref_choice *ch)
{
	memset(ch, 0, sizeof(*ch));
	return referral_choose(b->ref, site, name_image(b, file), c,
	        time(NULL), ch);
}

static int
is_self(const struct bootsvc *b, int target)
{
	return target == referral_self_index(b->ref);
}

static void
plan_dhcp(void *arg, const struct pxed_ask *q, struct pxed_plan *out)
{
	struct bootsvc *b = arg;
	const struct dhcp_msg *m = q->m;
	const struct bootplan_entry *e;
	struct bootplan_client bc;
	struct ref_client rc;
	struct ref_choice ch;
	const char *base = q->base;
	enum ref_by by;
	size_t i;
	int site, t = -3;

	if (b->ref == NULL) {
		out->how = BOOTPLAN_NONE;
		snprintf(out->why, sizeof(out->why),
		        "no boot entries received yet");
		return;
	}
	memset(&rc, 0, sizeof(rc));
	rc.mac = m->chaddr;
	rc.maclen = m->hlen <= DHCP_CHADDR_LEN ? m->hlen : DHCP_CHADDR_LEN;
	rc.giaddr = m->giaddr;
	rc.ciaddr = m->ciaddr;
	rc.iface = q->local.s_addr;
	dhcp_relay_ids(m, &rc.circuit, &rc.ncircuit, &rc.remote, &rc.nremote);
	site = referral_site(b->ref, &rc, &by);
	if (site < 0 || (size_t)site >= b->nplans || b->plans[site].n == 0) {
		out->how = BOOTPLAN_NONE;
		snprintf(out->why, sizeof(out->why),
		        "site %s (by %s) has no boot entries",
		        site >= 0 ? referral_site_name(b->ref, site) : "?",
		        referral_by_name(by));
		return;
	}
	/* A relayed request for another site that has a node of its own
	 * is that node's to answer (the relay may ask us too). */
	if (m->giaddr != 0 &&
	        referral_self_index(b->ref) == REF_PRIMARY &&
	        strcmp(referral_site_name(b->ref, site), b->site) != 0 &&
	        referral_site_has_node(b->ref, site, time(NULL))) {
		out->how = BOOTPLAN_NONE;
		out->silent = 1;
		return;
	}
	memset(&bc, 0, sizeof(bc));
	bc.arch = m->arch;
	bc.is_pxe = m->is_pxe;
	bc.is_http = m->is_http;
	bc.is_ipxe = m->is_ipxe;
	bc.mac = rc.mac;
	bc.maclen = rc.maclen;
	e = bootplan_dhcp_entry(&b->plans[site], &bc);
	if (e != NULL && choose(b, site, e->file, &rc, &ch) > 0) {
		int tftp = !(bc.is_ipxe && !bc.is_http) &&
		        !(bc.is_http || e->kind == SITE_BOOT_ISO);

		/* A TFTP file needs the server's IPv4 address as siaddr;
		 * the first target that has one (or us). */
		for (i = 0; i < ch.n; i++) {
			if (is_self(b, ch.target[i]) ||
			        (tftp ? referral_node_addr(b->ref, ch.target[i]) !=
			                        0
			              : referral_node_url(b->ref,
			                        ch.target[i])[0] != '\0')) {
				t = ch.target[i];
				break;
			}
		}
	}
	if (t != -3 && !is_self(b, t))
		base = referral_node_url(b->ref, t);
	out->how = bootplan_dhcp(&b->plans[site], &bc, base, out->file,
	        sizeof(out->file), out->why, sizeof(out->why));
	if (out->how == BOOTPLAN_NONE)
		return;
	if (t == -3) {
		out->how = BOOTPLAN_NONE;
		snprintf(out->why, sizeof(out->why),
		        "site %s: no server holds %s", 
		        referral_site_name(b->ref, site), e ? e->file : "?");
		return;
	}
	if (out->how == BOOTPLAN_TFTP && !is_self(b, t))
		out->next_server = referral_node_addr(b->ref, t);
	count(b, referral_node_id(b->ref, t));
	snprintf(out->note, sizeof(out->note), "site %s (%s) -> %s%s",
	        referral_site_name(b->ref, site), referral_by_name(by),
	        is_self(b, t) ? "here" : referral_node_id(b->ref, t),
	        is_self(b, t) ? "" : " (referred)");
}

/* A client address as referral sees it. */
static void
peer_client(const struct sockaddr *sa, struct ref_client *rc, uint8_t *key,
        size_t *keylen)
{
	memset(rc, 0, sizeof(*rc));
	*keylen = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		rc->ciaddr = in->sin_addr.s_addr;
		memcpy(key, &in->sin_addr, 4);
		*keylen = 4;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		        (const struct sockaddr_in6 *)sa;

		rc->has_addr6 = 1;
		memcpy(rc->addr6, &in6->sin6_addr, 16);
		memcpy(key, &in6->sin6_addr, 16);
		*keylen = 16;
	}
}

static int
plan_script(void *arg, const struct sockaddr *peer, int arch, const char *mac,
        const char *base, char *out, size_t outlen, char *note,
        size_t notelen)
{
	struct bootsvc *b = arg;
	const struct bootplan_entry *e;
	const char *bases[BOOTPLAN_BASES_MAX];
	struct ref_client rc;
	struct ref_choice ch;
	struct bootplan empty = {NULL, 0};
	uint8_t key[16], mb[16];
	size_t keylen, nb = 0, i, off;
	enum ref_by by;
	int site = -1, rcode;

	if (b->ref == NULL) {
		snprintf(note, notelen, "no boot entries received yet");
		return bootplan_script(&empty, arch, mac, base, out, outlen);
	}
	peer_client(peer, &rc, key, &keylen);
	/* The MAC spreads clients over equal nodes; without one, the
	 * address does. */
	if (bootplan_mac_parse(mac, strlen(mac), mb, &rc.maclen) == 0)
		rc.mac = mb;
	else {
		rc.mac = key;
		rc.maclen = keylen;
	}
	site = referral_site(b->ref, &rc, &by);
	if (site < 0 || (size_t)site >= b->nplans) {
		snprintf(note, notelen, "no site for this client");
		return bootplan_script(&empty, arch, mac, base, out, outlen);
	}
	e = bootplan_default(&b->plans[site], arch);
	if (e != NULL && choose(b, site, e->file, &rc, &ch) > 0)
		for (i = 0; i < ch.n && nb < BOOTPLAN_BASES_MAX; i++)
			bases[nb++] = is_self(b, ch.target[i])
			        ? base
			        : referral_node_url(b->ref, ch.target[i]);
	rcode = bootplan_script_multi(&b->plans[site], arch, mac, bases, nb,
	        out, outlen);
	off = (size_t)snprintf(note, notelen, "site %s (%s): '%s' from",
	        referral_site_name(b->ref, site), referral_by_name(by),
	        e != NULL ? e->name : "none");
	for (i = 0; i < nb && off < notelen; i++)
		off += (size_t)snprintf(note + off, notelen - off, " %s",
		        is_self(b, ch.target[i])
		                ? "here"
		                : referral_node_id(b->ref, ch.target[i]));
	if (nb == 0 && off < notelen)
		snprintf(note + off, notelen - off, " nowhere");
	if (nb > 0)
		count(b, referral_node_id(b->ref, ch.target[0]));
	return rcode;
}

/* 1 if name is a file some boot entry names: as written ("IMAGE/PATH",
 * "IMAGE@V/PATH"), or with the version an entry leaves out. */
static int
entry_file(const struct bootsvc *b, const char *name)
{
	char plain[BOOTPLAN_URL_MAX];
	const char *p = plain, *at = strchr(name, '@'), *sl = strchr(name, '/');

	if (b->nnames == 0 || sl == NULL)
		return 0;
	if (bsearch(&name, b->names, b->nnames, sizeof(*b->names), cmp_strp))
		return 1;
	if (at == NULL || at > sl ||
	        snprintf(plain, sizeof(plain), "%.*s%s", (int)(at - name), name,
	                sl) >= (int)sizeof(plain))
		return 0;
	return bsearch(&p, b->names, b->nnames, sizeof(*b->names),
	               cmp_strp) != NULL;
}

static int
plan_redirect(void *arg, const struct sockaddr *peer, const char *name,
        int referred, char *url, size_t urllen)
{
	struct bootsvc *b = arg;
	struct ref_client rc;
	struct ref_choice ch;
	char path[BOOTPLAN_URL_MAX];
	uint8_t key[16];
	size_t keylen, i;
	int site, n;

	if (b->ref == NULL || !entry_file(b, name))
		return 0;
	peer_client(peer, &rc, key, &keylen);
	rc.mac = key;
	rc.maclen = keylen;
	site = referral_site(b->ref, &rc, NULL);
	if (choose(b, site, name, &rc, &ch) == 0 ||
	        bootplan_url_path(name, path, sizeof(path)) == 0)
		return 0;
	for (i = 0; i < ch.n; i++) {
		if (is_self(b, ch.target[i]))
			continue; /* it is not here: our view is behind */
		/* Sent here by another server whose view differs from
		 * ours: on to the primary only, never back and forth. */
		if (referred && ch.target[i] != REF_PRIMARY)
			continue;
		n = snprintf(url, urllen, "%s/boot/%s",
		        referral_node_url(b->ref, ch.target[i]), path);
		if (n < 0 || (size_t)n >= urllen)
			return 0;
		count(b, referral_node_id(b->ref, ch.target[i]));
		return 1;
	}
	return 0;
}

json_t *
bootsvc_report(struct bootsvc *b)
{
	return json_pack("{s:b,s:I,s:I,s:O}", "busy", b->busy, "active",
	        (json_int_t)active_transfers(b), "limit", (json_int_t)b->limit,
	        "referrals", b->counts);
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
	b->limit = c->boot_transfer_limit ? c->boot_transfer_limit : 1000;
	if ((b->counts = json_object()) == NULL) {
		rc = bl_why(why, whylen, -ENOMEM, "out of memory");
		goto fail;
	}
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
		if ((rc = pxed_start(base, &pc, plan_dhcp, b, &b->pxe, why,
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
		b->ops.arg = b;
		b->ops.script = plan_script;
		b->ops.redirect = plan_redirect;
		if ((rc = httpboot_start(base, &hc, b->fs, &b->ops, &b->http,
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
	{
		struct made m = {b->ref, b->plans, b->nplans, b->names,
		        b->held, b->nnames, b->nheld};

		made_free(&m);
	}
	json_decref(b->counts);
	free(b);
}

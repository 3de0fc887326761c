/*
 * bootplan.c - boot file names, URLs and iPXE scripts for booting
 * clients (see bootplan.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootplan.h"
#include "dhcp.h"
#include "error.h"
#include "manifest.h"
#include "store.h"

/* --- the entries ----------------------------------------------------- */

static const char *const file_keys[] = {"kernel", "program", "iso"};

static int
parse_arch_name(const char *s, enum site_arch *a)
{
	int i;

	for (i = 0; i < SITE_ARCH_COUNT; i++)
		if (strcmp(s, site_arch_name((enum site_arch)i)) == 0) {
			*a = (enum site_arch)i;
			return 0;
		}
	return -1;
}

/* "REF/PATH" for the entry's image ref and a path inside it. */
static char *
join_name(const char *ref, const char *path)
{
	size_t n = strlen(ref) + 1 + strlen(path) + 1;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s/%s", ref, path);
	return s;
}

static int
path_ok(const char *p)
{
	size_t i, n = strlen(p);

	if (!manifest_path_valid(p, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

static int
entry_from_json(json_t *o, size_t i, struct bootplan_entry *e, char *why,
        size_t whylen)
{
	const char *name, *arch, *kind, *ref, *file, *initrd, *args;
	char img[MANIFEST_NAME_MAX + 1];
	json_t *def;
	uint32_t ver;
	int k;

	if (!json_is_object(o))
		return bl_why(why, whylen, BL_EFORMAT,
		        "boot[%zu]: not an object", i);
	name = json_string_value(json_object_get(o, "name"));
	arch = json_string_value(json_object_get(o, "arch"));
	kind = json_string_value(json_object_get(o, "kind"));
	ref = json_string_value(json_object_get(o, "image"));
	initrd = json_string_value(json_object_get(o, "initrd"));
	args = json_string_value(json_object_get(o, "args"));
	def = json_object_get(o, "default");
	if (name == NULL || !site_name_valid(name))
		return bl_why(why, whylen, BL_EFORMAT,
		        "boot[%zu].name: missing or invalid", i);
	snprintf(e->name, sizeof(e->name), "%s", name);
	if (arch == NULL || parse_arch_name(arch, &e->arch) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "boot[%zu].arch: missing or unknown", i);
	for (k = 0; k < 3; k++)
		if (kind != NULL && strcmp(kind, file_keys[k]) == 0)
			break;
	if (k == 3)
		return bl_why(why, whylen, BL_EFORMAT,
		        "boot[%zu].kind: missing or unknown", i);
	e->kind = (enum site_boot_kind)k;
	if (ref == NULL || store_parse_ref(ref, img, sizeof(img), &ver) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "boot[%zu].image: missing or invalid", i);
	file = json_string_value(json_object_get(o, file_keys[k]));
	if (file == NULL || !path_ok(file))
		return bl_why(why, whylen, BL_EFORMAT,
		        "boot[%zu].%s: missing or invalid", i, file_keys[k]);
	if (initrd != NULL && (k != SITE_BOOT_KERNEL || !path_ok(initrd)))
		return bl_why(why, whylen, BL_EFORMAT,
		        "boot[%zu].initrd: invalid", i);
	if (args != NULL) {
		size_t j, n = strlen(args);

		if (k != SITE_BOOT_KERNEL || n == 0 || n > SITE_ARGS_MAX)
			return bl_why(why, whylen, BL_EFORMAT,
			        "boot[%zu].args: invalid", i);
		for (j = 0; j < n; j++)
			if (args[j] < 0x20 || args[j] > 0x7e)
				return bl_why(why, whylen, BL_EFORMAT,
				        "boot[%zu].args: not printable ASCII",
				        i);
	}
	e->is_default = json_is_true(def);
	if ((e->file = join_name(ref, file)) == NULL ||
	        (initrd != NULL && (e->initrd = join_name(ref, initrd)) ==
	                                   NULL) ||
	        (args != NULL && (e->args = strdup(args)) == NULL))
		return -ENOMEM;
	return 0;
}

void
bootplan_free(struct bootplan *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		free(p->e[i].file);
		free(p->e[i].initrd);
		free(p->e[i].args);
	}
	free(p->e);
	p->e = NULL;
	p->n = 0;
}

int
bootplan_from_json(json_t *boot, struct bootplan *out, char *why,
        size_t whylen)
{
	struct bootplan p = {NULL, 0};
	size_t i, n;
	int rc;

	if (boot == NULL || json_is_null(boot))
		n = 0;
	else if (!json_is_array(boot))
		return bl_why(why, whylen, BL_EFORMAT, "boot: not an array");
	else
		n = json_array_size(boot);
	if (n > SITE_BOOT_MAX)
		return bl_why(why, whylen, BL_EFORMAT,
		        "boot: %zu entries, at most %d", n, SITE_BOOT_MAX);
	if (n > 0 && (p.e = calloc(n, sizeof(*p.e))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		p.n = i + 1;
		if ((rc = entry_from_json(json_array_get(boot, i), i, &p.e[i],
		             why, whylen)) != 0) {
			if (rc == -ENOMEM)
				bl_why(why, whylen, rc, "out of memory");
			bootplan_free(&p);
			return rc;
		}
	}
	*out = p;
	return 0;
}

/* --- architectures --------------------------------------------------- */

/* The DHCP arch a site arch is built for (any: -1). */
static int
arch_num(enum site_arch a)
{
	switch (a) {
	case SITE_ARCH_BIOS:
		return DHCP_ARCH_BIOS;
	case SITE_ARCH_EFI_IA32:
		return DHCP_ARCH_EFI_IA32;
	case SITE_ARCH_EFI_X64:
		return DHCP_ARCH_EFI_X64;
	case SITE_ARCH_EFI_ARM64:
		return DHCP_ARCH_EFI_ARM64;
	case SITE_ARCH_HTTP_X64:
		return DHCP_ARCH_HTTP_X64;
	case SITE_ARCH_HTTP_ARM64:
		return DHCP_ARCH_HTTP_ARM64;
	default:
		return -1;
	}
}

int
bootplan_arch_match(enum site_arch a, int n)
{
	if (a == SITE_ARCH_ANY)
		return 1;
	if (n < 0)
		return 0;
	if (a == SITE_ARCH_EFI_X64 && n == DHCP_ARCH_EFI_BC)
		return 1; /* x64 before RFC 4578's erratum */
	return arch_num(a) == n;
}

const struct bootplan_entry *
bootplan_default(const struct bootplan *p, int arch)
{
	const struct bootplan_entry *any = NULL;
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (!p->e[i].is_default)
			continue;
		if (p->e[i].arch == SITE_ARCH_ANY) {
			if (any == NULL)
				any = &p->e[i];
		} else if (bootplan_arch_match(p->e[i].arch, arch))
			return &p->e[i];
	}
	return any;
}

/* --- URLs ------------------------------------------------------------ */

size_t
bootplan_url_path(const char *name, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	const unsigned char *s;

	for (s = (const unsigned char *)name; *s != '\0'; s++) {
		int plain = (*s >= 'a' && *s <= 'z') ||
		        (*s >= 'A' && *s <= 'Z') ||
		        (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
		        *s == '_' || *s == '~' || *s == '/' || *s == '@';

		if (o + (plain ? 1 : 3) >= outlen)
			return 0;
		if (plain)
			out[o++] = (char)*s;
		else {
			out[o++] = '%';
			out[o++] = hex[*s >> 4];
			out[o++] = hex[*s & 15];
		}
	}
	if (o >= outlen)
		return 0;
	out[o] = '\0';
	return o;
}

/* base + "/boot/" + the encoded name into out; 0 or -1 if it is long. */
static int
file_url(const char *base, const char *name, char *out, size_t outlen)
{
	char path[BOOTPLAN_URL_MAX];
	int n;

	if (bootplan_url_path(name, path, sizeof(path)) == 0)
		return -1;
	n = snprintf(out, outlen, "%s/boot/%s", base, path);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static void
mac_text(const uint8_t *mac, size_t n, char out[BOOTPLAN_MAC_MAX])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (n > 16)
		n = 16;
	for (i = 0; i < n; i++) {
		if (i > 0)
			out[o++] = ':';
		out[o++] = hex[mac[i] >> 4];
		out[o++] = hex[mac[i] & 15];
	}
	out[o] = '\0';
}

/* The entry a PXE ROM or HTTP client of c's arch is offered (the index,
 * and in *url whether as a URL), or -1 with why. */
static int
pick_program(const struct bootplan *p, const struct bootplan_client *c,
        int *url, char *why, size_t whylen)
{
	struct dhcp_prog progs[2 * SITE_BOOT_MAX];
	size_t idx[2 * SITE_BOOT_MAX];
	size_t i, n = 0;
	int pick;

	if (c->arch < 0) {
		bl_why(why, whylen, 0, "no client architecture (option 93)");
		return -1;
	}
	/* Programs on offer: each by TFTP, and UEFI ones also by URL; an
	 * ISO only by URL (UEFI HTTP boot mounts it as a RAM disk). */
	for (i = 0; i < p->n && n + 2 <= sizeof(progs) / sizeof(progs[0]);
	        i++) {
		const struct bootplan_entry *e = &p->e[i];
		int a = arch_num(e->arch);

		if (a < 0 || e->kind == SITE_BOOT_KERNEL)
			continue;
		if (e->kind == SITE_BOOT_PROGRAM && !dhcp_arch_http((uint16_t)a)) {
			progs[n].arch = (uint16_t)a;
			progs[n].kind = DHCP_KIND_NBP;
			idx[n++] = i;
		}
		if (a != DHCP_ARCH_BIOS) {
			progs[n].arch = (uint16_t)a;
			progs[n].kind = DHCP_KIND_URL;
			idx[n++] = i;
		}
	}
	pick = dhcp_choose((uint16_t)c->arch, progs, n);
	if (pick < 0) {
		bl_why(why, whylen, 0,
		        "no boot program entry for arch %d (%s)%s%s", c->arch,
		        dhcp_arch_name((uint16_t)c->arch),
		        c->is_http ? "" : ": add one, e.g. an ipxe image's ",
		        c->is_http                      ? ""
		        : c->arch == DHCP_ARCH_BIOS ? "undionly.kpxe"
		                                    : "ipxe.efi");
		return -1;
	}
	*url = progs[pick].kind == DHCP_KIND_URL;
	return (int)idx[pick];
}

const struct bootplan_entry *
bootplan_dhcp_entry(const struct bootplan *p, const struct bootplan_client *c)
{
	char why[8];
	int url, i;

	if (c->is_ipxe && !c->is_http)
		return bootplan_default(p, c->arch);
	i = pick_program(p, c, &url, why, sizeof(why));
	return i < 0 ? NULL : &p->e[i];
}

int
bootplan_dhcp(const struct bootplan *p, const struct bootplan_client *c,
        const char *base, char *out, size_t outlen, char *why, size_t whylen)
{
	int i, url, r;

	if (outlen > 0)
		out[0] = '\0';
	if (c->is_ipxe && !c->is_http) {
		char mac[BOOTPLAN_MAC_MAX];

		if (bootplan_default(p, c->arch) == NULL) {
			bl_why(why, whylen, 0,
			        "no default boot entry for arch %d", c->arch);
			return BOOTPLAN_NONE;
		}
		mac_text(c->mac, c->maclen, mac);
		if (c->arch >= 0)
			r = snprintf(out, outlen, "%s/boot.ipxe?mac=%s&arch=%d",
			        base, mac, c->arch);
		else
			r = snprintf(out, outlen, "%s/boot.ipxe?mac=%s", base,
			        mac);
		if (r < 0 || (size_t)r >= outlen) {
			bl_why(why, whylen, 0, "script URL too long");
			return BOOTPLAN_NONE;
		}
		return BOOTPLAN_URL;
	}
	if ((i = pick_program(p, c, &url, why, whylen)) < 0)
		return BOOTPLAN_NONE;
	if (url) {
		if (file_url(base, p->e[i].file, out, outlen) != 0) {
			bl_why(why, whylen, 0, "boot URL too long");
			return BOOTPLAN_NONE;
		}
		return BOOTPLAN_URL;
	}
	r = snprintf(out, outlen, "%s", p->e[i].file);
	if (r < 0 || (size_t)r >= outlen) {
		bl_why(why, whylen, 0, "boot file name too long");
		return BOOTPLAN_NONE;
	}
	return BOOTPLAN_TFTP;
}

/* --- script requests ------------------------------------------------- */

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
bootplan_name_image(const char *file, char *name, size_t namelen,
        uint32_t *version)
{
	char ref[MANIFEST_NAME_MAX + 16];
	size_t n = strcspn(file, "/");

	if (n >= sizeof(ref))
		return -1;
	memcpy(ref, file, n);
	ref[n] = '\0';
	return store_parse_ref(ref, name, namelen, version) == 0 ? 0 : -1;
}

int
bootplan_mac_parse(const char *v, size_t n, uint8_t mac[16], size_t *len)
{
	size_t i, bytes = 0;

	for (i = 0; i < n;) {
		if (bytes == 16 || i + 2 > n || hexval(v[i]) < 0 ||
		        hexval(v[i + 1]) < 0)
			return -1;
		mac[bytes++] = (uint8_t)(hexval(v[i]) << 4 | hexval(v[i + 1]));
		i += 2;
		if (i < n) {
			if ((v[i] != ':' && v[i] != '-') || i + 1 == n)
				return -1;
			i++;
		}
	}
	if (bytes == 0)
		return -1;
	*len = bytes;
	return 0;
}

static int
parse_mac(const char *v, size_t n, char out[BOOTPLAN_MAC_MAX])
{
	uint8_t mac[16];
	size_t len;

	if (bootplan_mac_parse(v, n, mac, &len) != 0)
		return -1;
	mac_text(mac, len, out);
	return 0;
}

static int
parse_arch(const char *v, size_t n, int *arch)
{
	char buf[32];
	enum site_arch a;
	size_t i;
	long x = 0;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (parse_arch_name(buf, &a) == 0) {
		*arch = arch_num(a); /* "any": -1, the same as none */
		return 0;
	}
	if (n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		x = x * 10 + (buf[i] - '0');
	}
	if (x > 65535)
		return -1;
	*arch = (int)x;
	return 0;
}

/* Percent-decode v[0..n) into out; -1 when malformed or too long. */
static int
unescape(const char *v, size_t n, char *out, size_t cap, size_t *len)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int ch = (unsigned char)v[i];

		if (ch == '%') {
			if (i + 2 >= n)
				return -1;
			if (hexval(v[i + 1]) < 0 || hexval(v[i + 2]) < 0)
				return -1;
			ch = hexval(v[i + 1]) << 4 | hexval(v[i + 2]);
			i += 2;
		} else if (ch == '+')
			ch = ' ';
		if (o + 1 >= cap || ch == 0)
			return -1;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	*len = o;
	return 0;
}

/* The next "key=value" of query *q (a key without '=' has an empty
 * value), moving *q past it; 0 at the end of the query. */
static int
query_next(const char **q, const char **k, size_t *klen, const char **v,
        size_t *vlen)
{
	const char *p = *q, *eq;
	size_t n;

	if (p == NULL || *p == '\0')
		return 0;
	n = strcspn(p, "&");
	eq = memchr(p, '=', n);
	*k = p;
	*klen = eq != NULL ? (size_t)(eq - p) : n;
	*v = eq != NULL ? eq + 1 : p + n;
	*vlen = eq != NULL ? n - *klen - 1 : 0;
	*q = p[n] == '&' ? p + n + 1 : p + n;
	return 1;
}

int
bootplan_query(const char *q, int *arch, char mac[BOOTPLAN_MAC_MAX],
        char *why, size_t whylen)
{
	const char *k, *v;
	size_t klen, vlen;

	*arch = -1;
	mac[0] = '\0';
	if (q == NULL)
		return 0;
	if (strlen(q) > 4096)
		return bl_why(why, whylen, BL_EFORMAT, "query too long");
	while (query_next(&q, &k, &klen, &v, &vlen)) {
		char val[64];

		if (v == k + klen)
			continue; /* no '=' */
		/* Clients percent-encode (iPXE sends ':' as %3A). */
		if (unescape(v, vlen, val, sizeof(val), &vlen) != 0)
			return bl_why(why, whylen, BL_EFORMAT,
			        "bad or long value in the query");
		if (klen == 3 && memcmp(k, "mac", 3) == 0) {
			if (parse_mac(val, vlen, mac) != 0)
				return bl_why(why, whylen, BL_EFORMAT,
				        "mac: not a hardware address "
				        "(hex pairs joined by ':')");
		} else if (klen == 4 && memcmp(k, "arch", 4) == 0) {
			if (parse_arch(val, vlen, arch) != 0)
				return bl_why(why, whylen, BL_EFORMAT,
				        "arch: not a number 0..65535 or an "
				        "arch name (bios, efi-x64, ...)");
		}
	}
	return 0;
}

int
bootplan_query_referred(const char *q)
{
	const char *k, *v;
	size_t klen, vlen;

	while (query_next(&q, &k, &klen, &v, &vlen))
		if (klen == sizeof(BOOTPLAN_REFERRED_KEY) - 1 &&
		        memcmp(k, BOOTPLAN_REFERRED_KEY, klen) == 0 &&
		        vlen == 1 && v[0] == '1')
			return 1;
	return 0;
}

/* --- scripts --------------------------------------------------------- */

struct sb {
	char *b;
	size_t len, cap;
	int err;
};

static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sb *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->b + s->len, s->cap - s->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= s->cap - s->len) {
		s->err = 1;
		return;
	}
	s->len += (size_t)n;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* The commands booting e from base; on failure (with next) goto next. */
static void
script_entry(struct sb *s, const struct bootplan_entry *e, const char *base,
        const char *next)
{
	char url[BOOTPLAN_URL_MAX], iurl[BOOTPLAN_URL_MAX];
	char on_fail[32] = "";

	if (next != NULL)
		snprintf(on_fail, sizeof(on_fail), " || goto %s", next);
	if (file_url(base, e->file, url, sizeof(url)) != 0 ||
	        (e->initrd != NULL &&
	                file_url(base, e->initrd, iurl, sizeof(iurl)) != 0)) {
		s->err = 1;
		return;
	}
	switch (e->kind) {
	case SITE_BOOT_KERNEL:
		/* UEFI iPXE finds the initrd by the name given on the command
		 * line; the name is the URL's last segment. */
		sb_printf(s, "kernel %s", url);
		if (e->initrd != NULL)
			sb_printf(s, " initrd=%s", base_name(iurl));
		sb_printf(s, "%s%s%s\n", e->args != NULL ? " " : "",
		        e->args != NULL ? e->args : "", on_fail);
		if (e->initrd != NULL)
			sb_printf(s, "initrd %s%s\n", iurl, on_fail);
		sb_printf(s, "boot%s\n", on_fail);
		break;
	case SITE_BOOT_PROGRAM:
		sb_printf(s, "chain %s%s\n", url, on_fail);
		break;
	case SITE_BOOT_ISO:
		sb_printf(s, "sanboot %s%s\n", url, on_fail);
		break;
	}
}

int
bootplan_script(const struct bootplan *p, int arch, const char *mac,
        const char *base, char *out, size_t outlen)
{
	return bootplan_script_multi(p, arch, mac, &base, 1, out, outlen);
}

int
bootplan_script_multi(const struct bootplan *p, int arch, const char *mac,
        const char *const *bases, size_t nbases, char *out, size_t outlen)
{
	const struct bootplan_entry *e = bootplan_default(p, arch);
	struct sb s = {out, 0, outlen, outlen == 0};
	char label[24];
	size_t i;
	int rc = 0;

	if (nbases > BOOTPLAN_BASES_MAX)
		nbases = BOOTPLAN_BASES_MAX;
	sb_printf(&s, "#!ipxe\n");
	if (e == NULL) {
		sb_printf(&s,
		        "echo Branchline: no boot entry for this client (arch "
		        "%d); booting the next device\nexit 1\n",
		        arch);
		rc = BL_ENOTFOUND;
		goto out;
	}
	sb_printf(&s, "echo Branchline: booting '%s' (mac %s, arch %d)\n",
	        e->name, mac != NULL && mac[0] != '\0' ? mac : "?", arch);
	if (nbases == 1) {
		script_entry(&s, e, bases[0], NULL);
		goto out;
	}
	/* Each server in turn; a step that fails goes on to the next. */
	for (i = 0; i < nbases; i++) {
		snprintf(label, sizeof(label), "bl%zu", i + 1);
		if (i > 0)
			sb_printf(&s, "echo Branchline: trying %s\n", bases[i]);
		script_entry(&s, e, bases[i], label);
		sb_printf(&s, ":%s\n", label);
	}
	sb_printf(&s,
	        "echo Branchline: no server could boot '%s'; booting the "
	        "next device\nexit 1\n",
	        e->name);
	if (nbases == 0)
		rc = BL_ENOTFOUND;
out:
	if (s.err)
		return BL_ETOOBIG;
	return rc;
}

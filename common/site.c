/*
 * site.c - subnets (cidr_*), the site document (site_from_json,
 * site_to_json) and the checks across all sites (site_check_set).
 *
 * site_from_json walks the object's keys through a table of field
 * parsers, so a key without an entry is an unknown field; fields that
 * depend on each other (boot entries on images, defaults per arch) are
 * checked once every key is read.  Option 82 values (site_opt82_*) have
 * a text form of their own: literal printable ASCII or "hex:...".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "error.h"
#include "hash.h"
#include "site.h"

#define SHOW_MAX 48 /* bytes of an untrusted value quoted in a message */

static const char *const arch_names[SITE_ARCH_COUNT] = {"bios", "efi-ia32",
        "efi-x64", "efi-arm64", "http-x64", "http-arm64", "any"};
static const char *const kind_names[] = {"kernel", "program", "iso"};
#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* "FIELD: message" into why. */
static int fwhy(char *why, size_t whylen, int rc, const char *field,
        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fwhy(char *why, size_t whylen, int rc, const char *field, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (why == NULL || whylen == 0)
		return rc;
	k = snprintf(why, whylen, "%s: ", field);
	if (k < 0 || (size_t)k >= whylen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(why + k, whylen - (size_t)k, fmt, ap);
	va_end(ap);
	return rc;
}

/* An untrusted string made safe to quote: '?' for non-printables, cut. */
static const char *
show(const char *s, char *buf, size_t buflen)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 4 < buflen; i++)
		buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	strcpy(buf + i, s[i] != '\0' ? "..." : "");
	return buf;
}

/*
 * Subnets.
 */

static int
bits_eq(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	if (memcmp(a, b, full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ b[full]) & mask) == 0;
}

static unsigned int
addr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static int
parse_prefix(const char *p, int family, uint8_t *prefix)
{
	unsigned int v = 0;
	size_t i;

	for (i = 0; isdigit((unsigned char)p[i]); i++)
		v = v * 10 + (unsigned int)(p[i] - '0');
	if (i == 0 || i > 3 || p[i] != '\0' || (p[0] == '0' && i > 1) ||
	        v > addr_bits(family))
		return -1;
	*prefix = (uint8_t)v;
	return 0;
}

int
cidr_parse(const char *s, struct cidr *out, char *why, size_t whylen)
{
	char addr[CIDR_STR_MAX], sb[SHOW_MAX], fix[CIDR_STR_MAX];
	const char *slash;
	struct cidr m;
	unsigned int i;

	if (s == NULL || out == NULL)
		return BL_EUSAGE;
	memset(out, 0, sizeof(*out));
	if (strnlen(s, CIDR_STR_MAX) >= CIDR_STR_MAX ||
	        (slash = strchr(s, '/')) == NULL)
		return bl_why(why, whylen, BL_EFORMAT,
		        "'%s' is not an address/prefix",
		        show(s, sb, sizeof(sb)));
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	out->family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(out->family, addr, out->addr) != 1)
		return bl_why(why, whylen, BL_EFORMAT,
		        "'%s' is not an IPv4 or IPv6 address",
		        show(addr, sb, sizeof(sb)));
	if (parse_prefix(slash + 1, out->family, &out->prefix) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "'%s': the prefix must be a number 0..%u",
		        show(s, sb, sizeof(sb)), addr_bits(out->family));
	if (out->family == AF_INET6 && out->prefix >= 96 &&
	        memcmp(out->addr, v4mapped, 12) == 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "'%s' is IPv4-mapped; write the IPv4 form", s);
	m = *out;
	for (i = m.prefix; i < addr_bits(m.family); i++)
		m.addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	if (memcmp(m.addr, out->addr, 16) != 0) {
		cidr_format(&m, fix, sizeof(fix));
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s has host bits set; did you mean %s?", s, fix);
	}
	return 0;
}

int
cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int k;

	if ((c->family != AF_INET && c->family != AF_INET6) ||
	        c->prefix > addr_bits(c->family) ||
	        inet_ntop(c->family, c->addr, a, sizeof(a)) == NULL)
		return BL_EFORMAT;
	k = snprintf(buf, len, "%s/%u", a, c->prefix);
	return k < 0 || (size_t)k >= len ? BL_ETOOBIG : 0;
}

int
cidr_contains(const struct cidr *c, int family, const uint8_t *addr)
{
	if (c->family == AF_INET && family == AF_INET6 &&
	        memcmp(addr, v4mapped, 12) == 0) {
		family = AF_INET;
		addr += 12;
	}
	if (family != c->family || c->prefix > addr_bits(family))
		return 0;
	return bits_eq(c->addr, addr, c->prefix);
}

int
cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
	if (a->family != b->family || a->prefix > addr_bits(a->family) ||
	        b->prefix > addr_bits(b->family))
		return 0;
	return bits_eq(a->addr, b->addr,
	        a->prefix < b->prefix ? a->prefix : b->prefix);
}

/* Family, address, then shorter prefix first: a prefix sorts right before
 * the prefixes it contains, so nesting shows between neighbours. */
static int
cidr_cmp(const struct cidr *a, const struct cidr *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->addr, b->addr, 16)) != 0)
		return c;
	return (a->prefix > b->prefix) - (a->prefix < b->prefix);
}

/* A subnet and where it came from, for sorting. */
struct subnet_ref {
	const struct cidr *c;
	size_t site, idx;
};

static int
subnet_ref_cmp(const void *a, const void *b)
{
	const struct subnet_ref *x = a, *y = b;
	int c = cidr_cmp(x->c, y->c);

	if (c != 0)
		return c;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Names.
 */

int
site_name_valid(const char *name)
{
	size_t i, len;

	if (name == NULL)
		return 0;
	len = strnlen(name, SITE_NAME_MAX + 1);
	if (len == 0 || len > SITE_NAME_MAX || !isalnum((unsigned char)name[0]))
		return 0;
	for (i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		            isdigit((unsigned char)name[i]) || name[i] == '.' ||
		            name[i] == '_' || name[i] == '-'))
			return 0;
	return 1;
}

const char *
site_arch_name(enum site_arch a)
{
	return (unsigned int)a < SITE_ARCH_COUNT ? arch_names[a] : "?";
}

const char *
site_boot_kind_name(enum site_boot_kind k)
{
	return (unsigned int)k < NKINDS ? kind_names[k] : "?";
}

/*
 * Option 82 values.
 */

#define OPT82_HEX "hex:" /* prefix of a value written in hex */

/* "hex:" + 2..510 hex digits (h: the digits, len of them) into out. */
static int
opt82_parse_hex(const char *h, size_t len, uint8_t *out, size_t *n, char *why,
        size_t whylen)
{
	size_t i;

	if (len == 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "'" OPT82_HEX "' needs 2 to %d hex digits after it",
		        2 * SITE_OPT82_LEN);
	if (len > 2 * SITE_OPT82_LEN)
		return bl_why(why, whylen, BL_EFORMAT,
		        "more than %d hex digits (%d bytes)",
		        2 * SITE_OPT82_LEN, SITE_OPT82_LEN);
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)h[i]))
			return bl_why(why, whylen, BL_EFORMAT,
			        "byte %zu is not a hex digit",
			        i + strlen(OPT82_HEX));
	if (len % 2 != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "odd number of hex digits (%zu)", len);
	if (hash_unhex(h, out, len / 2) != 0) /* h ends after its digits */
		return bl_why(why, whylen, BL_EFORMAT, "bad hex digits");
	*n = len / 2;
	return 0;
}

int
site_opt82_parse(
        const char *s, uint8_t *out, size_t *n, char *why, size_t whylen)
{
	size_t i, len;

	if (s == NULL || out == NULL || n == NULL)
		return BL_EUSAGE;
	*n = 0;
	/* A valid value is shorter than SITE_OPT82_STR_MAX: no need to look
	 * further into a longer one. */
	len = strnlen(s, SITE_OPT82_STR_MAX);
	if (len == 0)
		return bl_why(why, whylen, BL_EFORMAT, "must not be empty");
	if (strncmp(s, OPT82_HEX, strlen(OPT82_HEX)) == 0)
		return opt82_parse_hex(s + strlen(OPT82_HEX),
		        len - strlen(OPT82_HEX), out, n, why, whylen);
	if (len > SITE_OPT82_LEN)
		return bl_why(why, whylen, BL_EFORMAT, "longer than %d bytes",
		        SITE_OPT82_LEN);
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return bl_why(why, whylen, BL_EFORMAT,
			        "control character at byte %zu (write binary "
			        "ids as " OPT82_HEX "...)",
			        i);
		if ((unsigned char)s[i] > 0x7e)
			return bl_why(why, whylen, BL_EFORMAT,
			        "byte %zu is not printable ASCII (write binary "
			        "ids as " OPT82_HEX "...)",
			        i);
	}
	memcpy(out, s, len);
	*n = len;
	return 0;
}

int
site_opt82_format(const uint8_t *v, size_t n, char *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i, pre = strlen(OPT82_HEX);
	int literal;

	if (buf != NULL && len > 0)
		buf[0] = '\0';
	if (v == NULL || buf == NULL || n == 0 || n > SITE_OPT82_LEN)
		return BL_EUSAGE;
	literal = n < pre || memcmp(v, OPT82_HEX, pre) != 0;
	for (i = 0; literal && i < n; i++)
		literal = v[i] >= 0x20 && v[i] <= 0x7e;
	if ((literal ? n : pre + 2 * n) >= len)
		return BL_ETOOBIG;
	if (literal) {
		memcpy(buf, v, n);
		buf[n] = '\0';
		return 0;
	}
	memcpy(buf, OPT82_HEX, pre);
	for (i = 0; i < n; i++) {
		buf[pre + 2 * i] = digits[v[i] >> 4];
		buf[pre + 2 * i + 1] = digits[v[i] & 0xf];
	}
	buf[pre + 2 * n] = '\0';
	return 0;
}

/* Order of rules: circuit-id, then remote-id, shorter first.  Lengths
 * out of range compare by their bytes in range only (no overrun). */
static int
opt82_cmp(const struct site_opt82 *a, const struct site_opt82 *b)
{
	size_t m;
	int c;

	if (a->ncircuit != b->ncircuit)
		return a->ncircuit < b->ncircuit ? -1 : 1;
	m = a->ncircuit < SITE_OPT82_LEN ? a->ncircuit : SITE_OPT82_LEN;
	if ((c = memcmp(a->circuit, b->circuit, m)) != 0)
		return c;
	if (a->nremote != b->nremote)
		return a->nremote < b->nremote ? -1 : 1;
	m = a->nremote < SITE_OPT82_LEN ? a->nremote : SITE_OPT82_LEN;
	return memcmp(a->remote, b->remote, m);
}

/* A rule for a message: "circuit_id 'x', remote_id 'hex:00'". */
static void
opt82_text(const struct site_opt82 *r, char *buf, size_t len)
{
	char c[SITE_OPT82_STR_MAX] = "", m[SITE_OPT82_STR_MAX] = "";

	if (r->ncircuit > 0)
		site_opt82_format(r->circuit, r->ncircuit, c, sizeof(c));
	if (r->nremote > 0)
		site_opt82_format(r->remote, r->nremote, m, sizeof(m));
	snprintf(buf, len, "%s%s%s%s%s%s%s", r->ncircuit ? "circuit_id '" : "",
	        c, r->ncircuit ? "'" : "",
	        r->ncircuit && r->nremote ? ", " : "",
	        r->nremote ? "remote_id '" : "", m, r->nremote ? "'" : "");
}

/* Edit distance (with transpositions) of two keys, at most 9. */
static int
edit_distance(const char *a, const char *b)
{
	int d[33][33], i, j, la = (int)strlen(a), lb = (int)strlen(b), c;

	if (la > 32 || lb > 32)
		return 9;
	for (i = 0; i <= la; i++)
		for (j = 0; j <= lb; j++) {
			if (i == 0 || j == 0) {
				d[i][j] = i + j;
				continue;
			}
			c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			        a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[la][lb] < 9 ? d[la][lb] : 9;
}

/*
 * Value readers: each checks one JSON value and names path on failure.
 */

/* A string of 1..max bytes, no control characters. */
static int
get_str(json_t *v, const char *path, size_t max, const char **out, char *why,
        size_t whylen)
{
	const char *s;
	size_t i, len;

	if (!json_is_string(v))
		return fwhy(why, whylen, BL_EFORMAT, path, "must be a string");
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0)
		return fwhy(why, whylen, BL_EFORMAT, path, "must not be empty");
	if (len > max)
		return fwhy(why, whylen, BL_ETOOBIG, path,
		        "longer than %zu bytes", max);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fwhy(why, whylen, BL_EFORMAT, path,
			        "control character at byte %zu", i);
	*out = s;
	return 0;
}

static int
get_uint(json_t *v, const char *path, uint64_t max, uint64_t *out, char *why,
        size_t whylen)
{
	json_int_t x;

	if (!json_is_integer(v))
		return fwhy(why, whylen, BL_EFORMAT, path,
		        "must be an integer 0..%llu", (unsigned long long)max);
	x = json_integer_value(v);
	if (x < 0 || (uint64_t)x > max)
		return fwhy(why, whylen, x < 0 ? BL_EFORMAT : BL_ETOOBIG, path,
		        "%lld is out of range 0..%llu", (long long)x,
		        (unsigned long long)max);
	*out = (uint64_t)x;
	return 0;
}

/* A name of site_name_valid form into dst[SITE_NAME_MAX + 1]. */
static int
get_name(json_t *v, const char *path, char *dst, char *why, size_t whylen)
{
	char sb[SHOW_MAX];
	const char *s;
	int rc;

	if ((rc = get_str(v, path, 255, &s, why, whylen)) != 0)
		return rc;
	if (!site_name_valid(s))
		return fwhy(why, whylen, BL_EFORMAT, path,
		        "'%s' is not 1-63 characters of a-z 0-9 . _ - "
		        "starting with a letter or digit",
		        show(s, sb, sizeof(sb)));
	strcpy(dst, s);
	return 0;
}

/* An image ref "name" or "name@version" (1..UINT32_MAX, no leading 0). */
static int
get_image(json_t *v, const char *path, struct site_image *im, char *why,
        size_t whylen)
{
	char sb[SHOW_MAX];
	const char *s, *at, *p;
	uint64_t ver = 0;
	size_t n;
	int rc;

	if ((rc = get_str(v, path, MANIFEST_NAME_MAX + 11, &s, why, whylen)))
		return rc;
	memset(im, 0, sizeof(*im));
	at = strchr(s, '@');
	if ((n = at ? (size_t)(at - s) : strlen(s)) > MANIFEST_NAME_MAX)
		goto bad;
	memcpy(im->name, s, n);
	if (!manifest_name_valid(im->name))
		goto bad;
	if (at == NULL)
		return 0;
	for (p = at + 1; isdigit((unsigned char)*p) && ver <= UINT32_MAX; p++)
		ver = ver * 10 + (uint64_t)(*p - '0');
	if (p == at + 1 || *p != '\0' || at[1] == '0' || ver > UINT32_MAX)
		goto bad;
	im->version = (uint32_t)ver;
	return 0;
bad:
	memset(im, 0, sizeof(*im));
	return fwhy(why, whylen, BL_EFORMAT, path,
	        "'%s' is not an image name or name@version",
	        show(s, sb, sizeof(sb)));
}

static void
image_format(const struct site_image *im, char *buf, size_t len)
{
	if (im->version == 0)
		snprintf(buf, len, "%s", im->name);
	else
		snprintf(buf, len, "%s@%u", im->name, (unsigned)im->version);
}

static int
image_eq(const struct site_image *a, const struct site_image *b)
{
	return a->version == b->version && strcmp(a->name, b->name) == 0;
}

/* A path inside an image or (args) a kernel command line, copied. */
static int
get_text(json_t *v, const char *path, int is_args, char **dst, char *why,
        size_t whylen)
{
	const char *s;
	size_t i;
	int rc;

	rc = get_str(v, path, is_args ? SITE_ARGS_MAX : MANIFEST_PATH_MAX, &s,
	        why, whylen);
	if (rc != 0)
		return rc;
	for (i = 0; is_args && s[i] != '\0'; i++)
		if ((unsigned char)s[i] > 0x7e)
			return fwhy(why, whylen, BL_EFORMAT, path,
			        "byte %zu is not printable ASCII", i);
	if (!is_args && !manifest_path_valid(s, strlen(s)))
		return fwhy(why, whylen, BL_EFORMAT, path,
		        "not a relative path without '.', '..' or empty parts");
	free(*dst);
	return (*dst = strdup(s)) == NULL ? -ENOMEM : 0;
}

/* One of names[0..n) into *out; the message lists them. */
static int
get_enum(json_t *v, const char *path, const char *const *names, size_t n,
        int *out, char *why, size_t whylen)
{
	char list[128] = "", sb[SHOW_MAX];
	const char *s;
	size_t i;
	int rc;

	if ((rc = get_str(v, path, 64, &s, why, whylen)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		        "%s%s", i ? ", " : "", names[i]);
	}
	return fwhy(why, whylen, BL_EFORMAT, path, "'%s' is not one of %s",
	        show(s, sb, sizeof(sb)), list);
}

/* An option 82 value (site_opt82_parse) into dst[SITE_OPT82_LEN], *n. */
static int
get_opt82(json_t *v, const char *path, uint8_t *dst, size_t *n, char *why,
        size_t whylen)
{
	char e[128];
	const char *s;
	int rc;

	if (!json_is_string(v))
		return fwhy(why, whylen, BL_EFORMAT, path, "must be a string");
	s = json_string_value(v);
	/* Without JSON_ALLOW_NUL jansson refuses "\u0000"; should that
	 * change, a NUL must not cut the value short unnoticed. */
	if (strlen(s) != json_string_length(v))
		return fwhy(why, whylen, BL_EFORMAT, path,
		        "control character at byte %zu", strlen(s));
	if ((rc = site_opt82_parse(s, dst, n, e, sizeof(e))) != 0)
		return fwhy(why, whylen, rc, path, "%s", e);
	return 0;
}

/* Check v is an array of at most max entries; *n is its size. */
static int
get_array(json_t *v, const char *path, size_t max, size_t *n, char *why,
        size_t whylen)
{
	*n = 0;
	if (!json_is_array(v))
		return fwhy(why, whylen, BL_EFORMAT, path, "must be an array");
	if ((*n = json_array_size(v)) > max)
		return fwhy(why, whylen, BL_ETOOBIG, path,
		        "more than %zu entries", max);
	return 0;
}

/*
 * Objects: a table maps each key to a reader and where the value goes.
 */

enum ftype {
	F_NAME,
	F_PARENT,
	F_U32,
	F_U64,
	F_TZ,
	F_ENUM,
	F_IMAGE,
	F_PATH,
	F_ARGS,
	F_BOOL,
	F_OPT82,
	F_LIST
};

struct field {
	const char *key;
	enum ftype type;
	size_t off;               /* of the value in the target struct */
	uint64_t max;             /* F_U32/F_U64 bound; F_ENUM: count;
	                             F_OPT82: offset of the size_t length */
	const char *const *names; /* F_ENUM */
	int (*list)(json_t *v, struct site *s, const char *path, char *why,
	        size_t whylen); /* F_LIST: arrays and schedules */
};

_Static_assert(sizeof(enum site_arch) == sizeof(int) &&
                sizeof(enum site_boot_kind) == sizeof(int),
        "enums are stored as int");

static int
set_field(const struct field *f, json_t *v, void *obj, const char *path,
        char *why, size_t wl)
{
	char *dst = (char *)obj + f->off, sb[SHOW_MAX];
	const char *s;
	uint32_t u32;
	uint64_t x = 0;
	int rc, k = 0;

	switch (f->type) {
	case F_PARENT: /* "" is a root, as site_to_json writes it */
		if (json_is_string(v) && json_string_length(v) == 0)
			return 0;
		return get_name(v, path, dst, why, wl);
	case F_NAME:
		return get_name(v, path, dst, why, wl);
	case F_U32:
	case F_U64:
		if ((rc = get_uint(v, path, f->max, &x, why, wl)) != 0)
			return rc;
		u32 = (uint32_t)x;
		memcpy(dst, f->type == F_U32 ? (void *)&u32 : (void *)&x,
		        f->type == F_U32 ? 4 : 8);
		return 0;
	case F_TZ:
		if ((rc = get_str(v, path, TZ_NAME_MAX, &s, why, wl)) != 0)
			return rc;
		if (!tz_valid(s))
			return fwhy(why, wl, BL_EFORMAT, path,
			        "'%s' is not a time zone in %s",
			        show(s, sb, sizeof(sb)), TZ_DIR);
		strcpy(dst, s);
		return 0;
	case F_ENUM:
		rc = get_enum(v, path, f->names, (size_t)f->max, &k, why, wl);
		if (rc == 0)
			memcpy(dst, &k, sizeof(k));
		return rc;
	case F_IMAGE:
		return get_image(
		        v, path, (struct site_image *)(void *)dst, why, wl);
	case F_PATH:
	case F_ARGS:
		return get_text(v, path, f->type == F_ARGS,
		        (char **)(void *)dst, why, wl);
	case F_BOOL:
		if (!json_is_boolean(v))
			return fwhy(why, wl, BL_EFORMAT, path,
			        "must be true or false");
		k = json_is_true(v);
		memcpy(dst, &k, sizeof(k));
		return 0;
	case F_OPT82:
		return get_opt82(v, path, (uint8_t *)dst,
		        (size_t *)(void *)((char *)obj + f->max), why, wl);
	case F_LIST:
		return f->list(v, obj, path, why, wl);
	}
	return BL_EUSAGE;
}

static int
unknown_field(const struct field *tab, size_t n, const char *prefix,
        const char *key, char *why, size_t whylen)
{
	char sb[SHOW_MAX];
	size_t i, best = n;
	int d, bestd = 3; /* suggest a key at most 2 edits away */

	for (i = 0; i < n; i++) {
		d = edit_distance(key, tab[i].key);
		if (strlen(key) >= 3 &&
		        strncmp(key, tab[i].key, strlen(key)) == 0)
			d = 1; /* "trickle" for "trickle_bps" */
		if (d < bestd) {
			bestd = d;
			best = i;
		}
	}
	/* prefix "boot[3]." is written "boot[3]: " */
	return bl_why(why, whylen, BL_EFORMAT, "%.*s%sunknown field '%s'%s%s%s",
	        (int)(*prefix ? strlen(prefix) - 1 : 0), prefix,
	        *prefix ? ": " : "", show(key, sb, sizeof(sb)),
	        best < n ? " (did you mean '" : "",
	        best < n ? tab[best].key : "", best < n ? "'?)" : "");
}

/* Read each key of object o through tab; prefix is "" or "boot[3]." */
static int
parse_object(json_t *o, const struct field *tab, size_t n, const char *prefix,
        void *obj, char *why, size_t whylen)
{
	char path[64];
	const char *key;
	json_t *v;
	size_t i;
	int rc;

	json_object_foreach(o, key, v)
	{
		for (i = 0; i < n && strcmp(key, tab[i].key) != 0; i++)
			;
		if (i == n)
			return unknown_field(tab, n, prefix, key, why, whylen);
		snprintf(path, sizeof(path), "%s%s", prefix, key);
		if ((rc = set_field(&tab[i], v, obj, path, why, whylen)) != 0)
			return rc;
	}
	return 0;
}

#define BOFF(m) offsetof(struct site_boot, m)
static const struct field boot_fields[] = {
        {"args", F_ARGS, BOFF(args), 0, NULL, NULL},
        {"arch", F_ENUM, BOFF(arch), SITE_ARCH_COUNT, arch_names, NULL},
        {"default", F_BOOL, BOFF(is_default), 0, NULL, NULL},
        {"image", F_IMAGE, BOFF(image), 0, NULL, NULL},
        {"initrd", F_PATH, BOFF(initrd), 0, NULL, NULL},
        {"iso", F_PATH, BOFF(path), 0, NULL, NULL},
        {"kernel", F_PATH, BOFF(path), 0, NULL, NULL},
        {"kind", F_ENUM, BOFF(kind), NKINDS, kind_names, NULL},
        {"name", F_NAME, BOFF(name), 0, NULL, NULL},
        {"program", F_PATH, BOFF(path), 0, NULL, NULL},
};
#define NBOOT_FIELDS (sizeof(boot_fields) / sizeof(boot_fields[0]))

/* What one boot entry's fields require of each other. */
static int
check_boot(json_t *v, const struct site_boot *b, const char *pre, char *why,
        size_t whylen)
{
	const char *miss = NULL;
	size_t k;
	int has;

	if (b->name[0] == '\0')
		miss = "name";
	else if (b->arch == SITE_ARCH_COUNT)
		miss = "arch";
	else if ((size_t)b->kind == NKINDS)
		miss = "kind";
	else if (b->image.name[0] == '\0')
		miss = "image";
	if (miss != NULL)
		return bl_why(
		        why, whylen, BL_EFORMAT, "%s%s: missing", pre, miss);
	/* The file key must be the one the kind names. */
	for (k = 0; k < NKINDS; k++) {
		has = json_object_get(v, kind_names[k]) != NULL;
		if (has != (k == (size_t)b->kind))
			return bl_why(why, whylen, BL_EFORMAT,
			        "%s%s: %s kind '%s'", pre, kind_names[k],
			        has ? "not allowed for" : "missing for",
			        kind_names[b->kind]);
	}
	if (b->kind != SITE_BOOT_KERNEL && (b->initrd || b->args))
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s%s: only for kind 'kernel'", pre,
		        b->initrd ? "initrd" : "args");
	return 0;
}

#define CALLOC_N(arr, n)                                                       \
	((n) == 0 || ((arr) = calloc((n), sizeof(*(arr)))) != NULL ? 0         \
	                                                           : -ENOMEM)

static int
l_boot(json_t *v, struct site *s, const char *path, char *why, size_t wl)
{
	struct site_boot *b;
	char pre[32];
	size_t i, j, n;
	int rc;

	if ((rc = get_array(v, path, SITE_BOOT_MAX, &n, why, wl)) ||
	        (rc = CALLOC_N(s->boot, n)))
		return rc;
	s->nboot = n;
	for (i = 0; i < n; i++) {
		b = &s->boot[i];
		b->arch = SITE_ARCH_COUNT; /* unset */
		b->kind = (enum site_boot_kind)NKINDS;
		snprintf(pre, sizeof(pre), "boot[%zu].", i);
		if (!json_is_object(json_array_get(v, i)))
			return bl_why(why, wl, BL_EFORMAT,
			        "boot[%zu]: must be an object", i);
		if ((rc = parse_object(json_array_get(v, i), boot_fields,
		             NBOOT_FIELDS, pre, b, why, wl)) != 0 ||
		        (rc = check_boot(
		                 json_array_get(v, i), b, pre, why, wl)) != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(s->boot[j].name, b->name) == 0)
				return bl_why(why, wl, BL_EFORMAT,
				        "%sname: '%s' is already boot[%zu]",
				        pre, b->name, j);
	}
	return 0;
}

#define OOFF(m) offsetof(struct site_opt82, m)
static const struct field opt82_fields[] = {
        {"circuit_id", F_OPT82, OOFF(circuit), OOFF(ncircuit), NULL, NULL},
        {"remote_id", F_OPT82, OOFF(remote), OOFF(nremote), NULL, NULL},
};
#define NOPT82_FIELDS (sizeof(opt82_fields) / sizeof(opt82_fields[0]))

/* Option 82 rules: each names an id, none is given twice. */
static int
l_option82(json_t *v, struct site *s, const char *path, char *why, size_t wl)
{
	struct site_opt82 *r;
	char pre[32], text[2 * SITE_OPT82_STR_MAX + 32];
	size_t i, j, n;
	int rc;

	if ((rc = get_array(v, path, SITE_OPT82_MAX, &n, why, wl)) ||
	        (rc = CALLOC_N(s->option82, n)))
		return rc;
	s->noption82 = n;
	for (i = 0; i < n; i++) {
		r = &s->option82[i];
		snprintf(pre, sizeof(pre), "option82[%zu].", i);
		if (!json_is_object(json_array_get(v, i)))
			return bl_why(why, wl, BL_EFORMAT,
			        "option82[%zu]: must be an object", i);
		if ((rc = parse_object(json_array_get(v, i), opt82_fields,
		             NOPT82_FIELDS, pre, r, why, wl)) != 0)
			return rc;
		if (r->ncircuit == 0 && r->nremote == 0)
			return bl_why(why, wl, BL_EFORMAT,
			        "option82[%zu]: needs circuit_id or remote_id",
			        i);
		for (j = 0; j < i; j++)
			if (opt82_cmp(&s->option82[j], r) == 0) {
				opt82_text(r, text, sizeof(text));
				return bl_why(why, wl, BL_EFORMAT,
				        "option82[%zu]: %s is already "
				        "option82[%zu]",
				        i, text, j);
			}
	}
	return 0;
}

static int
l_images(json_t *v, struct site *s, const char *path, char *why, size_t wl)
{
	char p[32], ref[MANIFEST_NAME_MAX + 12];
	size_t i, j, n;
	int rc;

	if ((rc = get_array(v, path, SITE_IMAGES_MAX, &n, why, wl)) ||
	        (rc = CALLOC_N(s->images, n)))
		return rc;
	s->nimages = n;
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "images[%zu]", i);
		rc = get_image(json_array_get(v, i), p, &s->images[i], why, wl);
		if (rc != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (image_eq(&s->images[j], &s->images[i])) {
				image_format(&s->images[i], ref, sizeof(ref));
				return fwhy(why, wl, BL_EFORMAT, p,
				        "'%s' is already images[%zu]", ref, j);
			}
	}
	return 0;
}

/* Subnets, refusing one equal to or nested in another of the site. */
static int
l_subnets(json_t *v, struct site *s, const char *path, char *why, size_t wl)
{
	char p[32], e[256], a[CIDR_STR_MAX], b[CIDR_STR_MAX];
	struct subnet_ref *r;
	const char *str;
	size_t i, n;
	int rc;

	if ((rc = get_array(v, path, SITE_SUBNETS_MAX, &n, why, wl)) ||
	        (rc = CALLOC_N(s->subnets, n)))
		return rc;
	s->nsubnets = n;
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "subnets[%zu]", i);
		if ((rc = get_str(json_array_get(v, i), p, CIDR_STR_MAX, &str,
		             why, wl)) != 0)
			return rc;
		if ((rc = cidr_parse(str, &s->subnets[i], e, sizeof(e))) != 0)
			return fwhy(why, wl, rc, p, "%s", e);
	}
	if (n < 2)
		return 0;
	if ((r = calloc(n, sizeof(*r))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		r[i] = (struct subnet_ref){&s->subnets[i], 0, i};
	qsort(r, n, sizeof(*r), subnet_ref_cmp);
	for (i = 1; i < n && !cidr_overlaps(r[i - 1].c, r[i].c); i++)
		;
	if (i < n) {
		cidr_format(r[i - 1].c, a, sizeof(a));
		cidr_format(r[i].c, b, sizeof(b));
		rc = bl_why(why, wl, BL_EFORMAT,
		        "subnets[%zu]: %s %s subnets[%zu] (%s)", r[i].idx, b,
		        cidr_cmp(r[i - 1].c, r[i].c) ? "lies inside"
		                                     : "duplicates",
		        r[i - 1].idx, a);
	}
	free(r);
	return rc;
}

static int
l_windows(json_t *v, struct site *s, const char *path, char *why, size_t wl)
{
	char e[256];
	int rc;

	if (!json_is_string(v))
		return fwhy(why, wl, BL_EFORMAT, path, "must be a string");
	rc = sched_parse(
	        json_string_value(v), &s->windows, &s->nwindows, e, sizeof(e));
	return rc != 0 ? fwhy(why, wl, rc, path, "%s", e) : 0;
}

#define SOFF(m) offsetof(struct site, m)
static const struct field site_fields[] = {
        {"boot", F_LIST, 0, 0, NULL, l_boot},
        {"images", F_LIST, 0, 0, NULL, l_images},
        {"name", F_NAME, SOFF(name), 0, NULL, NULL},
        {"option82", F_LIST, 0, 0, NULL, l_option82},
        {"parent", F_PARENT, SOFF(parent), 0, NULL, NULL},
        {"subnets", F_LIST, 0, 0, NULL, l_subnets},
        {"trickle_bps", F_U64, SOFF(trickle_bps), SCHED_CAP_MAX, NULL, NULL},
        {"tz", F_TZ, SOFF(tz), 0, NULL, NULL},
        {"wan_cost", F_U32, SOFF(wan_cost), SITE_WAN_COST_MAX, NULL, NULL},
        {"windows", F_LIST, 0, 0, NULL, l_windows},
};
#define NSITE_FIELDS (sizeof(site_fields) / sizeof(site_fields[0]))

/* What the site's fields require of each other, once all are read. */
static int
check_site(const struct site *s, char *why, size_t whylen)
{
	const struct site_boot *b;
	char ref[MANIFEST_NAME_MAX + 12];
	int dflt[SITE_ARCH_COUNT];
	size_t i, j;

	if (s->name[0] == '\0')
		return bl_why(why, whylen, BL_EFORMAT, "name: missing");
	if (strcmp(s->name, s->parent) == 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "parent: '%s' cannot be its own parent", s->name);
	for (i = 0; i < SITE_ARCH_COUNT; i++)
		dflt[i] = -1;
	for (i = 0; i < s->nboot; i++) {
		b = &s->boot[i];
		for (j = 0; j < s->nimages; j++)
			if (image_eq(&s->images[j], &b->image))
				break;
		if (j == s->nimages) {
			image_format(&b->image, ref, sizeof(ref));
			return bl_why(why, whylen, BL_EFORMAT,
			        "boot[%zu].image: '%s' is not listed in images",
			        i, ref);
		}
		if (!b->is_default)
			continue;
		if (dflt[b->arch] >= 0)
			return bl_why(why, whylen, BL_EFORMAT,
			        "boot[%zu].default: boot[%d] is already the "
			        "default for %s",
			        i, dflt[b->arch], arch_names[b->arch]);
		dflt[b->arch] = (int)i;
	}
	return 0;
}

int
site_from_json(
        const char *buf, size_t len, struct site *out, char *why, size_t whylen)
{
	json_error_t jerr;
	char sb[128];
	json_t *root;
	int rc;

	if (out == NULL || buf == NULL)
		return BL_EUSAGE;
	memset(out, 0, sizeof(*out));
	if (len > SITE_JSON_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "site document is larger than %u bytes", SITE_JSON_MAX);
	strcpy(out->tz, "UTC");
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		rc = bl_why(why, whylen, BL_EFORMAT, "line %d column %d: %s",
		        jerr.line, jerr.column,
		        show(jerr.text, sb, sizeof(sb)));
	else if (!json_is_object(root))
		rc = bl_why(why, whylen, BL_EFORMAT,
		        "a site document must be a JSON object");
	else if ((rc = parse_object(root, site_fields, NSITE_FIELDS, "", out,
	                  why, whylen)) == 0)
		rc = check_site(out, why, whylen);
	json_decref(root);
	if (rc != 0)
		site_free(out);
	return rc;
}

/*
 * The JSON writer.  Failures collect in *bad: json_object_set_new and
 * json_array_append_new take (and drop) a NULL value and report it.
 */

static void
put(json_t *o, const char *key, json_t *v, int *bad)
{
	*bad |= json_object_set_new(o, key, v) != 0;
}

static void
add(json_t *a, json_t *v, int *bad)
{
	*bad |= json_array_append_new(a, v) != 0;
}

static json_t *
image_json(const struct site_image *im)
{
	char ref[MANIFEST_NAME_MAX + 12];

	image_format(im, ref, sizeof(ref));
	return json_string(ref);
}

static json_t *
boot_json(const struct site_boot *b, int *bad)
{
	json_t *o = json_object();

	if (o == NULL || (unsigned int)b->kind >= NKINDS ||
	        (unsigned int)b->arch >= SITE_ARCH_COUNT || b->path == NULL) {
		*bad = 1;
		json_decref(o);
		return NULL;
	}
	put(o, "name", json_string(b->name), bad);
	put(o, "arch", json_string(arch_names[b->arch]), bad);
	put(o, "kind", json_string(kind_names[b->kind]), bad);
	put(o, "image", image_json(&b->image), bad);
	put(o, kind_names[b->kind], json_string(b->path), bad);
	if (b->initrd != NULL)
		put(o, "initrd", json_string(b->initrd), bad);
	if (b->args != NULL)
		put(o, "args", json_string(b->args), bad);
	put(o, "default", json_boolean(b->is_default), bad);
	return o;
}

static json_t *
opt82_json(const struct site_opt82 *r, int *bad)
{
	char text[SITE_OPT82_STR_MAX];
	json_t *o = json_object();

	if (o == NULL || (r->ncircuit == 0 && r->nremote == 0)) {
		*bad = 1;
		json_decref(o);
		return NULL;
	}
	if (r->ncircuit > 0) {
		*bad |= site_opt82_format(r->circuit, r->ncircuit, text,
		                sizeof(text)) != 0;
		put(o, "circuit_id", json_string(text), bad);
	}
	if (r->nremote > 0) {
		*bad |= site_opt82_format(
		                r->remote, r->nremote, text, sizeof(text)) != 0;
		put(o, "remote_id", json_string(text), bad);
	}
	return o;
}

/* The site as a jansson object; *bad set on any failure. */
static json_t *
site_json(const struct site *s, int *bad)
{
	char text[SCHED_SPEC_MAX + 1], c[CIDR_STR_MAX];
	json_t *o = json_object(), *a;
	size_t i;

	put(o, "name", json_string(s->name), bad);
	put(o, "parent", json_string(s->parent), bad);
	put(o, "wan_cost", json_integer(s->wan_cost), bad);
	put(o, "tz", json_string(s->tz), bad);
	put(o, "trickle_bps", json_integer((json_int_t)s->trickle_bps), bad);
	*bad |= s->nwindows > SCHED_WINDOWS_MAX ||
	        sched_format(s->windows, s->nwindows, text, sizeof(text)) != 0;
	put(o, "windows", json_string(text), bad);
	/* Each array is filled before put() hands it over (and may free it). */
	a = json_array();
	for (i = 0; a != NULL && i < s->nsubnets; i++) {
		*bad |= cidr_format(&s->subnets[i], c, sizeof(c)) != 0;
		add(a, json_string(c), bad);
	}
	put(o, "subnets", a, bad);
	a = json_array();
	for (i = 0; a != NULL && i < s->nimages; i++)
		add(a, image_json(&s->images[i]), bad);
	put(o, "images", a, bad);
	a = json_array();
	for (i = 0; a != NULL && i < s->nboot; i++)
		add(a, boot_json(&s->boot[i], bad), bad);
	put(o, "boot", a, bad);
	*bad |= s->noption82 > SITE_OPT82_MAX;
	a = json_array();
	for (i = 0; a != NULL && !*bad && i < s->noption82; i++)
		add(a, opt82_json(&s->option82[i], bad), bad);
	put(o, "option82", a, bad);
	return o;
}

char *
site_to_json(const struct site *s)
{
	char *text = NULL, *out = NULL;
	int bad = 0;
	json_t *o;
	size_t n;

	if (s == NULL)
		return NULL;
	o = site_json(s, &bad);
	if (o != NULL && !bad)
		text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	if ((out = malloc(n + 2)) != NULL) {
		memcpy(out, text, n);
		memcpy(out + n, "\n", 2);
	}
	free(text);
	return out;
}

/*
 * Freeing.
 */

void
site_free(struct site *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s->boot != NULL && i < s->nboot; i++) {
		free(s->boot[i].path);
		free(s->boot[i].initrd);
		free(s->boot[i].args);
	}
	free(s->boot);
	free(s->subnets);
	free(s->windows);
	free(s->images);
	free(s->option82);
	memset(s, 0, sizeof(*s));
}

/*
 * Checks across sites.
 */

static int
site_ptr_cmp(const void *a, const void *b)
{
	const struct site *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Sites sorted by name into by[n]; refuses a name given twice. */
static int
check_names(const struct site *sites, size_t n, const struct site **by,
        char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < n; i++)
		by[i] = &sites[i];
	qsort(by, n, sizeof(*by), site_ptr_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(by[i - 1]->name, by[i]->name) == 0)
			return bl_why(why, whylen, BL_EFORMAT,
			        "site '%s' is defined twice", by[i]->name);
	return 0;
}

/* bsearch: a name against a site pointer. */
static int
name_site_cmp(const void *key, const void *elem)
{
	const struct site *const *s = elem;

	return strcmp(key, (*s)->name);
}

/* par[i]: index of site i's parent, n for a root. */
static int
find_parents(const struct site *sites, size_t n, const struct site **by,
        size_t *par, char *why, size_t whylen)
{
	const struct site **hit;
	size_t i;

	for (i = 0; i < n; i++) {
		par[i] = n;
		if (sites[i].parent[0] == '\0')
			continue;
		hit = bsearch(
		        sites[i].parent, by, n, sizeof(*by), name_site_cmp);
		if (hit == NULL)
			return bl_why(why, whylen, BL_EFORMAT,
			        "site '%s': parent '%s' does not exist",
			        sites[i].name, sites[i].parent);
		par[i] = (size_t)(*hit - sites);
	}
	return 0;
}

/* Walk each parent chain once; a chain that meets itself is a cycle. */
static int
check_cycles(const struct site *sites, size_t n, const size_t *par, char *why,
        size_t whylen)
{
	uint8_t *state; /* 0 unseen, 1 on the current chain, 2 done */
	size_t i, c, k;
	int pos;

	if ((state = calloc(n, 1)) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		for (c = i; c < n && state[c] == 0; c = par[c])
			state[c] = 1;
		if (c < n && state[c] == 1)
			goto cycle;
		for (c = i; c < n && state[c] == 1; c = par[c])
			state[c] = 2;
	}
	free(state);
	return 0;
cycle:
	free(state);
	pos = snprintf(why, whylen, "parent cycle: %s", sites[c].name);
	for (k = par[c]; why && pos > 0 && (size_t)pos < whylen; k = par[k]) {
		pos += snprintf(why + pos, whylen - (size_t)pos, " -> %s",
		        sites[k].name);
		if (k == c)
			break;
	}
	return BL_EFORMAT;
}

/* No subnet may belong to two sites. */
static int
check_subnets(const struct site *sites, size_t n, char *why, size_t whylen)
{
	struct subnet_ref *r;
	char c[CIDR_STR_MAX];
	size_t i, j, total = 0, k = 0;
	int rc = 0;

	for (i = 0; i < n; i++)
		total += sites[i].nsubnets;
	if (total < 2)
		return 0;
	if ((r = calloc(total, sizeof(*r))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		for (j = 0; j < sites[i].nsubnets; j++)
			r[k++] =
			        (struct subnet_ref){&sites[i].subnets[j], i, j};
	qsort(r, total, sizeof(*r), subnet_ref_cmp);
	for (i = 1; i < total; i++)
		if (cidr_cmp(r[i - 1].c, r[i].c) == 0) {
			cidr_format(r[i].c, c, sizeof(c));
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "subnet %s is in both site '%s' and site '%s'",
			        c, sites[r[i - 1].site].name,
			        sites[r[i].site].name);
			break;
		}
	free(r);
	return rc;
}

/* An option 82 rule and where it came from, for sorting. */
struct opt82_ref {
	const struct site_opt82 *r;
	size_t site, idx;
};

static int
opt82_ref_cmp(const void *a, const void *b)
{
	const struct opt82_ref *x = a, *y = b;
	int c = opt82_cmp(x->r, y->r);

	if (c != 0)
		return c;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* No option 82 rule may belong to two sites (nor twice to one). */
static int
check_option82(const struct site *sites, size_t n, char *why, size_t whylen)
{
	char text[2 * SITE_OPT82_STR_MAX + 32];
	const struct opt82_ref *a, *b;
	struct opt82_ref *r;
	size_t i, j, total = 0, k = 0;
	int rc = 0;

	for (i = 0; i < n; i++)
		total += sites[i].noption82;
	if (total < 2)
		return 0;
	if ((r = calloc(total, sizeof(*r))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		for (j = 0; j < sites[i].noption82; j++)
			r[k++] =
			        (struct opt82_ref){&sites[i].option82[j], i, j};
	qsort(r, total, sizeof(*r), opt82_ref_cmp);
	for (i = 1; i < total && opt82_cmp(r[i - 1].r, r[i].r) != 0; i++)
		;
	if (i < total) {
		a = &r[i - 1];
		b = &r[i];
		opt82_text(b->r, text, sizeof(text));
		if (a->site == b->site)
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "site '%s': option 82 rule (%s) is both "
			        "option82[%zu] and option82[%zu]",
			        sites[a->site].name, text, a->idx, b->idx);
		else
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "option 82 rule (%s) is in both site '%s' and "
			        "site '%s'",
			        text, sites[a->site].name, sites[b->site].name);
	}
	free(r);
	return rc;
}

int
site_check_set(const struct site *sites, size_t n, char *why, size_t whylen)
{
	const struct site **by;
	size_t *par;
	int rc;

	if (n == 0)
		return 0;
	if (sites == NULL)
		return BL_EUSAGE;
	by = calloc(n, sizeof(*by));
	par = calloc(n, sizeof(*par));
	if (by == NULL || par == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	if ((rc = check_names(sites, n, by, why, whylen)) == 0 &&
	        (rc = find_parents(sites, n, by, par, why, whylen)) == 0 &&
	        (rc = check_cycles(sites, n, par, why, whylen)) == 0 &&
	        (rc = check_subnets(sites, n, why, whylen)) == 0)
		rc = check_option82(sites, n, why, whylen);
out_free:
	free(by);
	free(par);
	return rc;
}

/*
 * dhcp.c - the DHCP/PXE codec of the proxyDHCP and boot server (see
 * dhcp.h): parsing, architectures and the choice of a boot program, the
 * proxy reply and its destination.
 *
 * Parsing walks each option area once, gathering the options it knows
 * (the table rules[]) into per-code buffers, joined per RFC 3396; only
 * after the walk are they decoded, so every instance of a code counts,
 * wherever it was, and the order of options does not matter.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dhcp.h"
#include "error.h"

static const uint8_t cookie[4] = {99, 130, 83, 99};

/* Offsets in the fixed header. */
#define OFF_XID    4
#define OFF_SECS   8
#define OFF_FLAGS  10
#define OFF_CIADDR 12
#define OFF_YIADDR 16
#define OFF_SIADDR 20
#define OFF_GIADDR 24
#define OFF_CHADDR 28
#define OFF_SNAME  44
#define OFF_FILE   108
#define OFF_COOKIE 236

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	        (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* --- parsing --------------------------------------------------------- */

struct pctx;
typedef int (*decode_fn)(struct pctx *, const uint8_t *, size_t);

static int dec_vendor(struct pctx *, const uint8_t *, size_t);
static int dec_msgtype(struct pctx *, const uint8_t *, size_t);
static int dec_server_id(struct pctx *, const uint8_t *, size_t);
static int dec_prl(struct pctx *, const uint8_t *, size_t);
static int dec_maxmsg(struct pctx *, const uint8_t *, size_t);
static int dec_vclass(struct pctx *, const uint8_t *, size_t);
static int dec_user_class(struct pctx *, const uint8_t *, size_t);
static int dec_relay(struct pctx *, const uint8_t *, size_t);
static int dec_arch(struct pctx *, const uint8_t *, size_t);
static int dec_nii(struct pctx *, const uint8_t *, size_t);
static int dec_uuid(struct pctx *, const uint8_t *, size_t);
static int dec_ipxe(struct pctx *, const uint8_t *, size_t);

/* The options read, each with the most bytes it may join up to.  A
 * fixed-size one may gather up to DHCP_OPT_MAX so that a repeated one
 * is reported as the wrong size rather than as too big. */
static const struct rule {
	uint8_t code;
	size_t max;
	decode_fn decode;
} rules[] = {
        {DHCP_OPT_VENDOR, DHCP_LONG_MAX, dec_vendor},
        {DHCP_OPT_MSGTYPE, DHCP_OPT_MAX, dec_msgtype},
        {DHCP_OPT_SERVER_ID, DHCP_OPT_MAX, dec_server_id},
        {DHCP_OPT_PRL, DHCP_OPT_MAX, dec_prl},
        {DHCP_OPT_MAXMSG, DHCP_OPT_MAX, dec_maxmsg},
        {DHCP_OPT_VCLASS, DHCP_OPT_MAX, dec_vclass},
        {DHCP_OPT_USER_CLASS, DHCP_OPT_MAX, dec_user_class},
        {DHCP_OPT_RELAY, DHCP_LONG_MAX, dec_relay},
        {DHCP_OPT_ARCH, DHCP_OPT_MAX, dec_arch},
        {DHCP_OPT_NII, DHCP_OPT_MAX, dec_nii},
        {DHCP_OPT_UUID, DHCP_OPT_MAX, dec_uuid},
        {DHCP_OPT_IPXE, DHCP_LONG_MAX, dec_ipxe},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

/* One parse: the result, the options gathered so far, the error. */
struct pctx {
	struct dhcp_msg *m;
	int seen[NRULES];
	size_t n[NRULES];
	uint8_t v[NRULES][DHCP_LONG_MAX];
	int bad;
	char *why;
	size_t whylen;
};

static int fail(struct pctx *c, int bad, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Record why the datagram is refused; BL_ETOOBIG or BL_EFORMAT. */
static int
fail(struct pctx *c, int bad, const char *fmt, ...)
{
	va_list ap;

	c->bad = bad;
	if (c->why != NULL && c->whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(c->why, c->whylen, fmt, ap);
		va_end(ap);
	}
	return bad == DHCP_BAD_TOOBIG ? BL_ETOOBIG : BL_EFORMAT;
}

/* A fixed-size option must be exactly want bytes after joining. */
static int
need_len(struct pctx *c, unsigned code, size_t n, size_t want)
{
	if (n != want)
		return fail(c, DHCP_BAD_VALUE, "option %u: %zu bytes, not %zu",
		        code, n, want);
	return 0;
}

static int
dec_vendor(struct pctx *c, const uint8_t *v, size_t n)
{
	memcpy(c->m->vendor, v, n);
	c->m->vendor_len = n;
	c->m->has_vendor = 1;
	return 0;
}

static int
dec_msgtype(struct pctx *c, const uint8_t *v, size_t n)
{
	if (need_len(c, DHCP_OPT_MSGTYPE, n, 1) != 0)
		return BL_EFORMAT;
	c->m->msgtype = v[0];
	return 0;
}

static int
dec_server_id(struct pctx *c, const uint8_t *v, size_t n)
{
	if (need_len(c, DHCP_OPT_SERVER_ID, n, 4) != 0)
		return BL_EFORMAT;
	memcpy(&c->m->server_id, v, 4);
	c->m->has_server_id = 1;
	return 0;
}

static int
dec_prl(struct pctx *c, const uint8_t *v, size_t n)
{
	memcpy(c->m->prl, v, n);
	c->m->prl_len = n;
	return 0;
}

static int
dec_maxmsg(struct pctx *c, const uint8_t *v, size_t n)
{
	if (need_len(c, DHCP_OPT_MAXMSG, n, 2) != 0)
		return BL_EFORMAT;
	c->m->max_msg = get16(v);
	return 0;
}

/*
 * "PXEClient:Arch:NNNNN:UNDI:MMMmmm" and "HTTPClient:Arch:NNNNN": the
 * arch after the prefix of pl bytes, or -1 if not there as five digits.
 */
static int
vclass_arch(const uint8_t *v, size_t n, size_t pl)
{
	static const char tag[] = ":Arch:";
	size_t i, at = pl + sizeof(tag) - 1;
	long a = 0;

	if (n < at + 5 || memcmp(v + pl, tag, sizeof(tag) - 1) != 0)
		return -1;
	for (i = at; i < at + 5; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		a = a * 10 + (v[i] - '0');
	}
	if (a > 0xffff || (n > at + 5 && v[at + 5] != ':'))
		return -1;
	return (int)a;
}

static int
dec_vclass(struct pctx *c, const uint8_t *v, size_t n)
{
	struct dhcp_msg *m = c->m;

	memcpy(m->vclass, v, n);
	m->vclass_len = n;
	m->has_vclass = 1;
	m->vclass_arch = -1;
	if (n >= 9 && memcmp(v, "PXEClient", 9) == 0) {
		m->is_pxe = 1;
		m->vclass_arch = vclass_arch(v, n, 9);
	} else if (n >= 10 && memcmp(v, "HTTPClient", 10) == 0) {
		m->is_http = 1;
		m->vclass_arch = vclass_arch(v, n, 10);
	}
	return 0;
}

/*
 * Is user class v[0..n) "iPXE"?  iPXE sends the bare string; RFC 3004
 * says a list of length-prefixed classes, which some builds and relays
 * use, so either form counts (any class of the list).
 */
static int
user_class_ipxe(const uint8_t *v, size_t n)
{
	size_t i = 0;

	if (n == 4 && memcmp(v, "iPXE", 4) == 0)
		return 1;
	while (i < n) {
		size_t l = v[i++];

		if (l == 0 || l > n - i)
			return 0; /* not RFC 3004 form */
		if (l == 4 && memcmp(v + i, "iPXE", 4) == 0)
			return 1;
		i += l;
	}
	return 0;
}

static int
dec_user_class(struct pctx *c, const uint8_t *v, size_t n)
{
	memcpy(c->m->user_class, v, n);
	c->m->user_class_len = n;
	c->m->has_user_class = 1;
	c->m->user_class_ipxe = user_class_ipxe(v, n);
	return 0;
}

/* Kept as sent, even empty or with odd sub-options: it is the relay's,
 * and RFC 3046 has the server echo it unchanged. */
static int
dec_relay(struct pctx *c, const uint8_t *v, size_t n)
{
	memcpy(c->m->relay, v, n);
	c->m->relay_len = n;
	c->m->has_relay = 1;
	return 0;
}

static int
dec_arch(struct pctx *c, const uint8_t *v, size_t n)
{
	size_t i;

	if (n == 0 || n % 2 != 0)
		return fail(c, DHCP_BAD_VALUE,
		        "option 93: %zu bytes, not a list of 16-bit arches", n);
	/* Leniency: entries past DHCP_ARCH_MAX are dropped; only the
	 * first ever decides anything. */
	for (i = 0; i < n / 2 && i < DHCP_ARCH_MAX; i++)
		c->m->arch_list[i] = get16(v + 2 * i);
	c->m->narch = i;
	return 0;
}

static int
dec_nii(struct pctx *c, const uint8_t *v, size_t n)
{
	if (need_len(c, DHCP_OPT_NII, n, 3) != 0)
		return BL_EFORMAT;
	c->m->has_nii = 1;
	c->m->nii_type = v[0];
	c->m->nii_major = v[1];
	c->m->nii_minor = v[2];
	return 0;
}

/* RFC 4578 says type 0 and 16 bytes; shorter ones are kept as sent
 * (the reply echoes them byte for byte, which is all a client checks). */
static int
dec_uuid(struct pctx *c, const uint8_t *v, size_t n)
{
	if (n == 0 || n > DHCP_UUID_MAX)
		return fail(c, DHCP_BAD_VALUE, "option 97: %zu bytes, not 1-%d",
		        n, DHCP_UUID_MAX);
	memcpy(c->m->uuid, v, n);
	c->m->uuid_len = n;
	return 0;
}

static int
dec_ipxe(struct pctx *c, const uint8_t *v, size_t n)
{
	memcpy(c->m->ipxe, v, n);
	c->m->ipxe_len = n;
	c->m->has_ipxe = 1;
	return 0;
}

/* Append one instance of code to what was gathered of it (RFC 3396). */
static int
gather(struct pctx *c, uint8_t code, const uint8_t *v, size_t n)
{
	size_t r;

	for (r = 0; r < NRULES; r++)
		if (rules[r].code == code)
			break;
	if (r == NRULES)
		return 0; /* not one we read */
	if (n > rules[r].max - c->n[r])
		return fail(c, DHCP_BAD_TOOBIG,
		        "option %u: more than %zu bytes in all", code,
		        rules[r].max);
	memcpy(c->v[r] + c->n[r], v, n);
	c->n[r] += n;
	c->seen[r] = 1;
	return 0;
}

/*
 * Walk the option area a[0..n), named area for messages.
 * is_main: the options field, the only place where overload (52)
 * counts.
 */
static int
walk(struct pctx *c, const uint8_t *a, size_t n, const char *area, int is_main)
{
	size_t i = 0, olen;
	uint8_t code;
	int rc;

	while (i < n) {
		code = a[i++];
		if (code == DHCP_OPT_PAD)
			continue;
		if (code == DHCP_OPT_END)
			return 0;
		if (i == n)
			goto too_short;
		olen = a[i++];
		if (olen > n - i)
			goto too_short;
		if (code == DHCP_OPT_OVERLOAD) {
			/* Inside file or sname, ignored: overload cannot
			 * send the walk round again. */
			if (is_main && (olen != 1 || a[i] < 1 || a[i] > 3))
				return fail(c, DHCP_BAD_VALUE,
				        "option 52: not one byte of 1-3");
			if (is_main)
				c->m->overload |= a[i];
		} else if ((rc = gather(c, code, a + i, olen)) != 0) {
			return rc;
		}
		i += olen;
	}
	/* Leniency: no END, but the last option ended exactly here. */
	return 0;
too_short:
	return fail(c, DHCP_BAD_OPTIONS,
	        "%s: option %u runs past the end (%zu bytes left)", area, code,
	        n - i);
}

/* The PXE sub-options of 43 a client sends: only 71 is read. */
static int
pxe_vendor(struct pctx *c)
{
	struct dhcp_msg *m = c->m;
	const uint8_t *v = m->vendor;
	size_t i = 0, n = m->vendor_len, l = 0;
	uint8_t code = 0;

	while (i < n) {
		code = v[i++];
		if (code == 0)
			continue;
		if (code == 255)
			break;
		if (i == n)
			goto too_short;
		l = v[i++];
		if (l > n - i)
			goto too_short;
		if (code == PXE_BOOT_ITEM) {
			if (l != 4)
				return fail(c, DHCP_BAD_VALUE,
				        "option 43: boot item of %zu bytes, "
				        "not 4",
				        l);
			m->has_boot_item = 1;
			m->item_type = get16(v + i);
			m->item_layer = get16(v + i + 2);
		}
		i += l;
	}
	return 0;
too_short:
	return fail(c, DHCP_BAD_VALUE,
	        "option 43: PXE sub-option %u runs past the end", code);
}

/* A fixed field up to its first NUL, as a string. */
static void
field_str(char *dst, const uint8_t *src, size_t n)
{
	const uint8_t *z = memchr(src, 0, n);
	size_t k = z != NULL ? (size_t)(z - src) : n;

	memcpy(dst, src, k);
	dst[k] = '\0';
}

static int
parse(struct pctx *c, const uint8_t *p, size_t len)
{
	struct dhcp_msg *m = c->m;
	size_t r;
	int rc;

	if (len < DHCP_HDR_LEN)
		return fail(c, DHCP_BAD_SHORT,
		        "%zu bytes, less than a DHCP header (%d)", len,
		        DHCP_HDR_LEN);
	if (len > DHCP_PKT_MAX)
		return fail(c, DHCP_BAD_TOOBIG, "%zu bytes, more than %d", len,
		        DHCP_PKT_MAX);
	if (p[0] != DHCP_BOOTREQUEST && p[0] != DHCP_BOOTREPLY)
		return fail(
		        c, DHCP_BAD_OP, "op %u is no BOOTP operation", p[0]);
	if (p[2] > DHCP_CHADDR_LEN)
		return fail(c, DHCP_BAD_HLEN, "hlen %u, more than %d", p[2],
		        DHCP_CHADDR_LEN);
	if (memcmp(p + OFF_COOKIE, cookie, 4) != 0)
		return fail(c, DHCP_BAD_COOKIE,
		        "no DHCP magic cookie (plain BOOTP?)");
	m->op = p[0];
	m->htype = p[1];
	m->hlen = p[2];
	m->hops = p[3];
	m->xid = get32(p + OFF_XID);
	m->secs = get16(p + OFF_SECS);
	m->flags = get16(p + OFF_FLAGS);
	memcpy(&m->ciaddr, p + OFF_CIADDR, 4);
	memcpy(&m->yiaddr, p + OFF_YIADDR, 4);
	memcpy(&m->siaddr, p + OFF_SIADDR, 4);
	memcpy(&m->giaddr, p + OFF_GIADDR, 4);
	memcpy(m->chaddr, p + OFF_CHADDR, DHCP_CHADDR_LEN);
	m->vclass_arch = -1;
	m->arch = -1;

	/* RFC 3396 order: options, then file, then sname. */
	if ((rc = walk(c, p + DHCP_HDR_LEN, len - DHCP_HDR_LEN, "options",
	             1)) != 0)
		return rc;
	if ((m->overload & 1) &&
	        (rc = walk(c, p + OFF_FILE, DHCP_FILE_LEN, "file", 0)) != 0)
		return rc;
	if ((m->overload & 2) &&
	        (rc = walk(c, p + OFF_SNAME, DHCP_SNAME_LEN, "sname", 0)) != 0)
		return rc;
	if (!(m->overload & 1))
		field_str(m->file, p + OFF_FILE, DHCP_FILE_LEN);
	if (!(m->overload & 2))
		field_str(m->sname, p + OFF_SNAME, DHCP_SNAME_LEN);

	for (r = 0; r < NRULES; r++)
		if (c->seen[r] &&
		        (rc = rules[r].decode(c, c->v[r], c->n[r])) != 0)
			return rc;
	/* 43 means PXE sub-options only beside a PXEClient 60. */
	if (m->is_pxe && m->has_vendor && (rc = pxe_vendor(c)) != 0)
		return rc;
	m->is_ipxe = m->user_class_ipxe || m->has_ipxe;
	m->arch = m->narch > 0 ? m->arch_list[0] : m->vclass_arch;
	return 0;
}

int
dhcp_parse(const uint8_t *p, size_t len, struct dhcp_msg *m, char *why,
        size_t whylen)
{
	struct pctx c;
	int rc;

	memset(m, 0, sizeof(*m));
	/* The buffers c.v need no clearing: c.n says what is in them. */
	memset(c.seen, 0, sizeof(c.seen));
	memset(c.n, 0, sizeof(c.n));
	c.m = m;
	c.bad = DHCP_BAD_NONE;
	c.why = why;
	c.whylen = whylen;
	if ((rc = parse(&c, p, len)) != 0) {
		memset(m, 0, sizeof(*m));
		m->bad = c.bad;
	}
	return rc;
}

const char *
dhcp_bad_name(int bad)
{
	static const char *const names[] = {
	        [DHCP_BAD_NONE] = "ok",
	        [DHCP_BAD_SHORT] = "short",
	        [DHCP_BAD_OP] = "op",
	        [DHCP_BAD_HLEN] = "hlen",
	        [DHCP_BAD_COOKIE] = "cookie",
	        [DHCP_BAD_OPTIONS] = "options",
	        [DHCP_BAD_VALUE] = "value",
	        [DHCP_BAD_TOOBIG] = "toobig",
	};

	if (bad < 0 || (size_t)bad >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[bad];
}

int
dhcp_reply_type(const struct dhcp_msg *req)
{
	if (req->op != DHCP_BOOTREQUEST)
		return 0;
	switch (req->msgtype) {
	case DHCP_DISCOVER:
		return DHCP_OFFER;
	case DHCP_REQUEST:
	case DHCP_INFORM:
		return DHCP_ACK;
	}
	return 0;
}

/* --- architectures --------------------------------------------------- */

/* Platforms: what a boot program's binary runs on.  Arches of one
 * platform take each other's programs; PLAT_NONE takes only its own. */
enum {
	PLAT_NONE = 0,
	PLAT_PCBIOS,
	PLAT_IA64,
	PLAT_EFI_IA32,
	PLAT_EFI_X64,
	PLAT_EFI_ARM32,
	PLAT_EFI_ARM64,
	PLAT_UBOOT_ARM32,
	PLAT_UBOOT_ARM64,
	PLAT_EFI_RV32,
	PLAT_EFI_RV64,
	PLAT_EFI_RV128,
	PLAT_EFI_LA32,
	PLAT_EFI_LA64
};

/*
 * The IANA registry (names shortened), each with its platform and
 * whether it boots from a URL.  9 is EBC in the registry, but firmware
 * written to RFC 4578 before its erratum sends 9 for x64 UEFI, and no
 * EBC netboot exists: it counts as x64 UEFI (so do dnsmasq and iPXE's
 * examples).
 */
static const struct arch_info {
	const char *name;
	uint8_t plat;
	uint8_t http;
} arches[] = {
        [0] = {"x86 BIOS", PLAT_PCBIOS, 0},
        [1] = {"NEC/PC98", PLAT_NONE, 0},
        [2] = {"Itanium", PLAT_IA64, 0},
        [3] = {"DEC Alpha", PLAT_NONE, 0},
        [4] = {"Arc x86", PLAT_NONE, 0},
        [5] = {"Intel Lean Client", PLAT_NONE, 0},
        [6] = {"x86 UEFI", PLAT_EFI_IA32, 0},
        [7] = {"x64 UEFI", PLAT_EFI_X64, 0},
        [8] = {"EFI Xscale", PLAT_NONE, 0},
        [9] = {"EBC (x64 UEFI in RFC 4578)", PLAT_EFI_X64, 0},
        [10] = {"ARM 32-bit UEFI", PLAT_EFI_ARM32, 0},
        [11] = {"ARM 64-bit UEFI", PLAT_EFI_ARM64, 0},
        [12] = {"PowerPC Open Firmware", PLAT_NONE, 0},
        [13] = {"PowerPC ePAPR", PLAT_NONE, 0},
        [14] = {"POWER OPAL v3", PLAT_NONE, 0},
        [15] = {"x86 UEFI HTTP", PLAT_EFI_IA32, 1},
        [16] = {"x64 UEFI HTTP", PLAT_EFI_X64, 1},
        [17] = {"EBC HTTP", PLAT_NONE, 1},
        [18] = {"ARM 32-bit UEFI HTTP", PLAT_EFI_ARM32, 1},
        [19] = {"ARM 64-bit UEFI HTTP", PLAT_EFI_ARM64, 1},
        [20] = {"x86 BIOS HTTP", PLAT_PCBIOS, 1},
        [21] = {"ARM 32-bit U-Boot", PLAT_UBOOT_ARM32, 0},
        [22] = {"ARM 64-bit U-Boot", PLAT_UBOOT_ARM64, 0},
        [23] = {"ARM 32-bit U-Boot HTTP", PLAT_UBOOT_ARM32, 1},
        [24] = {"ARM 64-bit U-Boot HTTP", PLAT_UBOOT_ARM64, 1},
        [25] = {"RISC-V 32-bit UEFI", PLAT_EFI_RV32, 0},
        [26] = {"RISC-V 32-bit UEFI HTTP", PLAT_EFI_RV32, 1},
        [27] = {"RISC-V 64-bit UEFI", PLAT_EFI_RV64, 0},
        [28] = {"RISC-V 64-bit UEFI HTTP", PLAT_EFI_RV64, 1},
        [29] = {"RISC-V 128-bit UEFI", PLAT_EFI_RV128, 0},
        [30] = {"RISC-V 128-bit UEFI HTTP", PLAT_EFI_RV128, 1},
        [31] = {"s390 Basic", PLAT_NONE, 0},
        [32] = {"s390 Extended", PLAT_NONE, 0},
        [33] = {"MIPS 32-bit UEFI", PLAT_NONE, 0},
        [34] = {"MIPS 64-bit UEFI", PLAT_NONE, 0},
        [35] = {"Sunway 32-bit UEFI", PLAT_NONE, 0},
        [36] = {"Sunway 64-bit UEFI", PLAT_NONE, 0},
        [37] = {"LoongArch 32-bit UEFI", PLAT_EFI_LA32, 0},
        [38] = {"LoongArch 32-bit UEFI HTTP", PLAT_EFI_LA32, 1},
        [39] = {"LoongArch 64-bit UEFI", PLAT_EFI_LA64, 0},
        [40] = {"LoongArch 64-bit UEFI HTTP", PLAT_EFI_LA64, 1},
        [41] = {"ARM rpiboot", PLAT_NONE, 0},
};
#define NARCHES (sizeof(arches) / sizeof(arches[0]))

const char *
dhcp_arch_name(uint16_t arch)
{
	return arch < NARCHES ? arches[arch].name : "unknown";
}

int
dhcp_arch_http(uint16_t arch)
{
	return arch < NARCHES && arches[arch].http;
}

static int
arch_plat(uint16_t arch)
{
	return arch < NARCHES ? arches[arch].plat : PLAT_NONE;
}

int
dhcp_choose(uint16_t arch, const struct dhcp_prog *progs, size_t n)
{
	int kind = dhcp_arch_http(arch) ? DHCP_KIND_URL : DHCP_KIND_NBP;
	int plat = arch_plat(arch);
	size_t i;

	for (i = 0; i < n; i++)
		if (progs[i].kind == kind && progs[i].arch == arch)
			return (int)i;
	if (plat == PLAT_NONE)
		return -1;
	for (i = 0; i < n; i++)
		if (progs[i].kind == kind && arch_plat(progs[i].arch) == plat)
			return (int)i;
	return -1;
}

/* --- the proxy reply ------------------------------------------------- */

/* Bytes appended to b[0..lim); err once anything did not fit. */
struct wr {
	uint8_t *b;
	size_t len, lim;
	int err;
};

static void
wr_put(struct wr *w, const void *p, size_t n)
{
	if (w->err || n > w->lim - w->len) {
		w->err = 1;
		return;
	}
	if (n > 0)
		memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void
wr_byte(struct wr *w, uint8_t v)
{
	wr_put(w, &v, 1);
}

static void
wr_u16(struct wr *w, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	wr_put(w, b, 2);
}

/* Option code with v[0..n), split in pieces of 255 per RFC 3396 when
 * longer (an empty one is one empty option). */
static void
wr_opt(struct wr *w, uint8_t code, const void *v, size_t n)
{
	const uint8_t *p = v;

	do {
		size_t k = n > DHCP_OPT_MAX ? DHCP_OPT_MAX : n;

		wr_byte(w, code);
		wr_byte(w, (uint8_t)k);
		wr_put(w, p, k);
		p += k;
		n -= k;
	} while (n > 0);
}

/* Start a sub-option (or an option) whose length is known at its end:
 * returns where its length byte is. */
static size_t
wr_begin(struct wr *w, uint8_t code)
{
	size_t at;

	wr_byte(w, code);
	at = w->len;
	wr_byte(w, 0);
	return at;
}

static void
wr_end(struct wr *w, size_t at)
{
	size_t n = w->len - at - 1;

	if (w->err || n > DHCP_OPT_MAX) {
		w->err = 1;
		return;
	}
	w->b[at] = (uint8_t)n;
}

/*
 * Option 43 for a PXEClient into w: discovery control (unless this is a
 * boot server's ACK), the menu's servers, menu and prompt, the boot item,
 * END.  The whole must fit one option: PXE ROMs do not join.
 */
static void
wr_pxe(struct wr *w, const struct dhcp_answer *a)
{
	size_t top, at, i, dl;

	top = wr_begin(w, DHCP_OPT_VENDOR);
	if (!a->has_boot_item) {
		wr_byte(w, PXE_DISCOVERY_CONTROL);
		wr_byte(w, 1);
		wr_byte(w, a->nmenu > 0 ? a->disc_ctl : PXE_DISC_USE_FILE);
	}
	if (a->nmenu > 0) {
		for (i = 0; i < a->nmenu && a->menu[i].server == 0; i++)
			;
		if (i < a->nmenu) {
			at = wr_begin(w, PXE_BOOT_SERVERS);
			for (i = 0; i < a->nmenu; i++) {
				if (a->menu[i].server == 0)
					continue;
				wr_u16(w, a->menu[i].type);
				wr_byte(w, 1);
				wr_put(w, &a->menu[i].server, 4);
			}
			wr_end(w, at);
		}
		at = wr_begin(w, PXE_BOOT_MENU);
		for (i = 0; i < a->nmenu; i++) {
			dl = a->menu[i].desc != NULL
			        ? strnlen(a->menu[i].desc, DHCP_OPT_MAX + 1)
			        : 0;
			if (dl > DHCP_OPT_MAX)
				w->err = 1;
			wr_u16(w, a->menu[i].type);
			wr_byte(w, (uint8_t)dl);
			wr_put(w, a->menu[i].desc, dl);
		}
		wr_end(w, at);
		if (a->prompt != NULL) {
			at = wr_begin(w, PXE_MENU_PROMPT);
			wr_byte(w, a->prompt_timeout);
			wr_put(w, a->prompt,
			        strnlen(a->prompt, DHCP_OPT_MAX + 1));
			wr_end(w, at);
		}
	}
	if (a->has_boot_item) {
		wr_byte(w, PXE_BOOT_ITEM);
		wr_byte(w, 4);
		wr_u16(w, a->item_type);
		wr_u16(w, a->item_layer);
	}
	wr_byte(w, DHCP_OPT_END);
	wr_end(w, top);
}

/* The most bytes req takes in a reply (see dhcp.h), and cap. */
static size_t
reply_limit(const struct dhcp_msg *req, size_t cap)
{
	size_t lim = DHCP_MSG_MIN - DHCP_IP_UDP_LEN;

	if (req->max_msg > DHCP_MSG_MIN)
		lim = (size_t)req->max_msg - DHCP_IP_UDP_LEN;
	return cap < lim ? cap : lim;
}

/* "a.b.c.d" of a network-order address. */
static size_t
dotted(uint32_t addr, char out[16])
{
	uint8_t b[4];

	memcpy(b, &addr, 4);
	return (size_t)snprintf(out, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static void
wr_header(struct wr *w, const struct dhcp_msg *req, const struct dhcp_answer *a,
        size_t flen)
{
	uint8_t *b = w->b;
	size_t sl;

	memset(b, 0, DHCP_HDR_LEN);
	b[0] = DHCP_BOOTREPLY;
	b[1] = req->htype;
	b[2] = req->hlen;
	put32(b + OFF_XID, req->xid);
	put16(b + OFF_FLAGS, req->flags);
	if (a->msgtype == DHCP_ACK)
		memcpy(b + OFF_CIADDR, &req->ciaddr, 4);
	memcpy(b + OFF_SIADDR, &a->next_server, 4);
	memcpy(b + OFF_GIADDR, &req->giaddr, 4);
	memcpy(b + OFF_CHADDR, req->chaddr, DHCP_CHADDR_LEN);
	if (a->sname != NULL) {
		sl = strlen(a->sname); /* checked by the caller */
		memcpy(b + OFF_SNAME, a->sname, sl);
	}
	if (flen > 0)
		memcpy(b + OFF_FILE, a->boot_file, flen);
	memcpy(b + OFF_COOKIE, cookie, 4);
	w->len = DHCP_HDR_LEN;
}

size_t
dhcp_build_proxy(const struct dhcp_msg *req, const struct dhcp_answer *a,
        uint8_t *buf, size_t cap)
{
	struct wr w = {buf, 0, reply_limit(req, cap), 0};
	size_t blen = 0, flen;
	int vc = a->vclass;
	char quad[16];

	if (w.lim < DHCP_REPLY_MIN)
		return 0;
	/* req is dhcp_parse's, but a hand-made one must not overread. */
	if (req->uuid_len > DHCP_UUID_MAX || req->relay_len > DHCP_LONG_MAX)
		return 0;
	if (a->msgtype != DHCP_OFFER && a->msgtype != DHCP_ACK)
		return 0;
	if (a->sname != NULL &&
	        strnlen(a->sname, DHCP_SNAME_LEN) >= DHCP_SNAME_LEN)
		return 0;
	if (a->boot_file != NULL &&
	        (blen = strnlen(a->boot_file, DHCP_OPT_MAX + 1)) > DHCP_OPT_MAX)
		return 0;
	/* A long URL goes in 67 only; truncating it in file would boot
	 * something else. */
	flen = blen < DHCP_FILE_LEN ? blen : 0;
	if (blen >= DHCP_FILE_LEN && !a->bootfile_opts)
		return 0;
	if (vc == DHCP_VC_AUTO && req->is_http)
		vc = DHCP_VC_HTTP;
	else if (vc == DHCP_VC_AUTO)
		vc = req->is_pxe ? DHCP_VC_PXE : DHCP_VC_NONE;

	wr_header(&w, req, a, flen);
	wr_opt(&w, DHCP_OPT_MSGTYPE, &(uint8_t){(uint8_t)a->msgtype}, 1);
	wr_opt(&w, DHCP_OPT_SERVER_ID, &a->server_id, 4);
	if (vc == DHCP_VC_PXE)
		wr_opt(&w, DHCP_OPT_VCLASS, "PXEClient", 9);
	else if (vc == DHCP_VC_HTTP)
		wr_opt(&w, DHCP_OPT_VCLASS, "HTTPClient", 10);
	if (req->uuid_len > 0)
		wr_opt(&w, DHCP_OPT_UUID, req->uuid, req->uuid_len);
	if (vc == DHCP_VC_PXE)
		wr_pxe(&w, a);
	if (a->bootfile_opts) {
		if (a->sname != NULL && a->sname[0] != '\0')
			wr_opt(&w, DHCP_OPT_TFTP_SERVER, a->sname,
			        strlen(a->sname));
		else if (a->next_server != 0)
			wr_opt(&w, DHCP_OPT_TFTP_SERVER, quad,
			        dotted(a->next_server, quad));
		if (blen > 0)
			wr_opt(&w, DHCP_OPT_BOOTFILE, a->boot_file, blen);
	}
	if (a->ipxe_no_pxedhcp)
		wr_opt(&w, DHCP_OPT_IPXE,
		        (const uint8_t[]){IPXE_OPT_NO_PXEDHCP, 1, 1}, 3);
	if (req->has_relay)
		wr_opt(&w, DHCP_OPT_RELAY, req->relay, req->relay_len);
	wr_byte(&w, DHCP_OPT_END);
	if (w.err)
		return 0;
	if (w.len < DHCP_REPLY_MIN) {
		memset(buf + w.len, 0, DHCP_REPLY_MIN - w.len);
		w.len = DHCP_REPLY_MIN;
	}
	return w.len;
}

/* --- where the reply goes -------------------------------------------- */

void
dhcp_reply_dest(const struct dhcp_msg *req, uint16_t local_port,
        uint32_t src_addr, uint16_t src_port, struct dhcp_dest *d)
{
	memset(d, 0, sizeof(*d));
	if (local_port == DHCP_PXE_PORT) {
		/* The boot server answers whoever asked, where they
		 * asked from (PXE 2.1: the client unicasts, or sends from
		 * 0.0.0.0 when it has no address yet). */
		d->port = src_port;
		d->addr = src_addr;
		if (src_addr == 0) {
			d->addr = 0xffffffffu;
			d->broadcast = 1;
		}
		return;
	}
	if (req->giaddr != 0) {
		d->addr = req->giaddr;
		d->port = DHCP_SERVER_PORT;
	} else if (req->ciaddr != 0) {
		d->addr = req->ciaddr;
		d->port = DHCP_CLIENT_PORT;
	} else {
		d->addr = 0xffffffffu;
		d->port = DHCP_CLIENT_PORT;
		d->broadcast = 1;
	}
}

void
dhcp_relay_ids(const struct dhcp_msg *m, const uint8_t **circuit,
        size_t *ncircuit, const uint8_t **remote, size_t *nremote)
{
	size_t i = 0, n = m->has_relay ? m->relay_len : 0;

	*circuit = *remote = NULL;
	*ncircuit = *nremote = 0;
	while (i + 2 <= n && i + 2 + m->relay[i + 1] <= n) {
		uint8_t code = m->relay[i], len = m->relay[i + 1];

		if (code == 1 && *circuit == NULL && len > 0) {
			*circuit = m->relay + i + 2;
			*ncircuit = len;
		} else if (code == 2 && *remote == NULL && len > 0) {
			*remote = m->relay + i + 2;
			*nremote = len;
		}
		i += 2 + (size_t)len;
	}
}

/*
 * test_dhcp.c - the "dhcp" suite: dhcp_parse over the datagrams real
 * clients send (a BIOS PXE ROM, OVMF, iPXE, UEFI HTTP boot, a relayed
 * one, a 4011 REQUEST; built byte by byte here) and over hostile ones
 * (every truncation, garbage, overload loops, bad lengths); the arch
 * table and the choice of a boot program; proxy replies built for each
 * kind of client and parsed back; where replies go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <CUnit/CUnit.h>

#include "dhcp.h"
#include "error.h"
#include "test_list.h"
#include "testutil.h"

/* --- building requests ----------------------------------------------- */

/* A datagram under construction; bound[] are the offsets where a whole
 * option ends (240 first), end_at the offset after END. */
struct pkt {
	uint8_t b[2048];
	size_t len;
	size_t bound[64];
	size_t nbound;
	size_t end_at;
};

static const uint8_t mac1[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t guid1[17] = {0x00, 0x8f, 0x2a, 0x11, 0x04, 0x5d, 0x3c,
        0x47, 0x9b, 0x21, 0x6e, 0x70, 0x0c, 0x9a, 0x55, 0xe1, 0x02};
static const uint8_t prl_pxe[] = {1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 22,
        23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129,
        130, 131, 132, 133, 134, 135};
static const uint8_t relay1[] = {1, 6, 'e', 't', 'h', '0', '/', '7', 2, 6, 0x00,
        0x1b, 0x21, 0xaa, 0xbb, 0xcc};

#define XID1 0x5eed1234u

static void
pkt_mark(struct pkt *k)
{
	if (k->nbound < 64)
		k->bound[k->nbound++] = k->len;
}

static void
pkt_start(struct pkt *k, uint8_t op, uint32_t xid)
{
	memset(k, 0, sizeof(*k));
	k->b[0] = op;
	k->b[1] = 1; /* Ethernet */
	k->b[2] = 6;
	k->b[4] = (uint8_t)(xid >> 24);
	k->b[5] = (uint8_t)(xid >> 16);
	k->b[6] = (uint8_t)(xid >> 8);
	k->b[7] = (uint8_t)xid;
	k->b[9] = 4;     /* secs */
	k->b[10] = 0x80; /* broadcast flag, as PXE ROMs send */
	memcpy(k->b + 28, mac1, 6);
	k->b[236] = 99;
	k->b[237] = 130;
	k->b[238] = 83;
	k->b[239] = 99;
	k->len = 240;
	pkt_mark(k);
}

static void
pkt_raw(struct pkt *k, const void *p, size_t n)
{
	memcpy(k->b + k->len, p, n);
	k->len += n;
}

static void
pkt_opt(struct pkt *k, uint8_t code, const void *v, size_t n)
{
	k->b[k->len++] = code;
	k->b[k->len++] = (uint8_t)n;
	pkt_raw(k, v, n);
	pkt_mark(k);
}

static void
pkt_str(struct pkt *k, uint8_t code, const char *s)
{
	pkt_opt(k, code, s, strlen(s));
}

static void
pkt_type(struct pkt *k, uint8_t t)
{
	pkt_opt(k, DHCP_OPT_MSGTYPE, &t, 1);
}

static void
pkt_u16(struct pkt *k, uint8_t code, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	pkt_opt(k, code, b, 2);
}

/* END, then zero padding to 300 bytes as clients send. */
static void
pkt_end(struct pkt *k)
{
	k->b[k->len++] = DHCP_OPT_END;
	k->end_at = k->len;
	if (k->len < 300)
		k->len = 300;
}

/* A BIOS PXE ROM's DISCOVER (iPXE's PXE ROM in SeaBIOS, before iPXE
 * itself runs: PXE identity, no iPXE marks). */
static void
seed_bios(struct pkt *k)
{
	static const uint8_t nii[3] = {1, 2, 1};

	pkt_start(k, DHCP_BOOTREQUEST, XID1);
	pkt_type(k, DHCP_DISCOVER);
	pkt_u16(k, DHCP_OPT_MAXMSG, 1260);
	pkt_opt(k, DHCP_OPT_PRL, prl_pxe, sizeof(prl_pxe));
	pkt_u16(k, DHCP_OPT_ARCH, 0);
	pkt_opt(k, DHCP_OPT_NII, nii, 3);
	pkt_opt(k, DHCP_OPT_UUID, guid1, 17);
	pkt_str(k, DHCP_OPT_VCLASS, "PXEClient:Arch:00000:UNDI:002001");
	pkt_end(k);
}

/* OVMF's UEFI PXE DISCOVER, x64. */
static void
seed_ovmf(struct pkt *k)
{
	static const uint8_t nii[3] = {1, 3, 0};

	pkt_start(k, DHCP_BOOTREQUEST, XID1 + 1);
	pkt_type(k, DHCP_DISCOVER);
	pkt_u16(k, DHCP_OPT_MAXMSG, 1472);
	pkt_opt(k, DHCP_OPT_PRL, prl_pxe, 20);
	pkt_opt(k, DHCP_OPT_UUID, guid1, 17);
	pkt_opt(k, DHCP_OPT_NII, nii, 3);
	pkt_u16(k, DHCP_OPT_ARCH, 7);
	pkt_str(k, DHCP_OPT_VCLASS, "PXEClient:Arch:00007:UNDI:003000");
	pkt_end(k);
}

/* iPXE itself: user class "iPXE" (plain string) and option 175. */
static const uint8_t ipxe175[] = {0xb1, 5, 1, 0x80, 0x86, 0x10, 0x0e, 0x13, 1,
        1, 0x11, 1, 1, 0x24, 1, 1, 0xeb, 3, 1, 0x15, 0x00};

static void
seed_ipxe(struct pkt *k)
{
	static const uint8_t nii[3] = {1, 3, 0x10};

	pkt_start(k, DHCP_BOOTREQUEST, XID1 + 2);
	pkt_type(k, DHCP_DISCOVER);
	pkt_u16(k, DHCP_OPT_MAXMSG, 1472);
	pkt_u16(k, DHCP_OPT_ARCH, 7);
	pkt_opt(k, DHCP_OPT_NII, nii, 3);
	pkt_str(k, DHCP_OPT_VCLASS, "PXEClient:Arch:00007:UNDI:003016");
	pkt_str(k, DHCP_OPT_USER_CLASS, "iPXE");
	pkt_opt(k, DHCP_OPT_PRL, prl_pxe, 12);
	pkt_opt(k, DHCP_OPT_IPXE, ipxe175, sizeof(ipxe175));
	pkt_opt(k, DHCP_OPT_UUID, guid1, 17);
	pkt_end(k);
}

/* UEFI HTTP boot, x64. */
static void
seed_http(struct pkt *k)
{
	static const uint8_t nii[3] = {1, 3, 0};

	pkt_start(k, DHCP_BOOTREQUEST, XID1 + 3);
	pkt_type(k, DHCP_DISCOVER);
	pkt_u16(k, DHCP_OPT_MAXMSG, 1472);
	pkt_opt(k, DHCP_OPT_PRL, prl_pxe, 20);
	pkt_opt(k, DHCP_OPT_UUID, guid1, 17);
	pkt_opt(k, DHCP_OPT_NII, nii, 3);
	pkt_u16(k, DHCP_OPT_ARCH, 16);
	pkt_str(k, DHCP_OPT_VCLASS, "HTTPClient:Arch:00016:UNDI:003000");
	pkt_end(k);
}

/* A BIOS DISCOVER through a relay: giaddr, hops, option 82 (circuit id
 * and remote id) last, as relays append it. */
static void
seed_relayed(struct pkt *k)
{
	pkt_start(k, DHCP_BOOTREQUEST, XID1 + 4);
	k->b[3] = 1; /* hops */
	k->b[24] = 10;
	k->b[25] = 1;
	k->b[26] = 2;
	k->b[27] = 1;
	pkt_type(k, DHCP_DISCOVER);
	pkt_u16(k, DHCP_OPT_ARCH, 0);
	pkt_opt(k, DHCP_OPT_UUID, guid1, 17);
	pkt_str(k, DHCP_OPT_VCLASS, "PXEClient:Arch:00000:UNDI:002001");
	pkt_opt(k, DHCP_OPT_RELAY, relay1, sizeof(relay1));
	pkt_end(k);
}

/* The REQUEST an EFI client sends to the boot server on 4011 after a
 * proxy offer: unicast, ciaddr set, boot item 71 in 43. */
static void
seed_4011(struct pkt *k)
{
	static const uint8_t v43[] = {71, 4, 0x80, 0x00, 0x00, 0x00, 255};

	pkt_start(k, DHCP_BOOTREQUEST, XID1 + 5);
	k->b[10] = 0; /* no broadcast flag */
	k->b[12] = 192;
	k->b[13] = 168;
	k->b[14] = 7;
	k->b[15] = 42;
	pkt_type(k, DHCP_REQUEST);
	pkt_u16(k, DHCP_OPT_MAXMSG, 1472);
	pkt_opt(k, DHCP_OPT_VENDOR, v43, sizeof(v43));
	pkt_opt(k, DHCP_OPT_UUID, guid1, 17);
	pkt_u16(k, DHCP_OPT_ARCH, 7);
	pkt_str(k, DHCP_OPT_VCLASS, "PXEClient:Arch:00007:UNDI:003000");
	pkt_end(k);
}

typedef void (*seed_fn)(struct pkt *);
static const seed_fn seeds[] = {
        seed_bios, seed_ovmf, seed_ipxe, seed_http, seed_relayed, seed_4011};
#define NSEEDS (sizeof(seeds) / sizeof(seeds[0]))

/* Parse p[0..len) from an exact-size heap copy, so that ASan sees any
 * read past len. */
static int
parse_exact(const uint8_t *p, size_t len, struct dhcp_msg *m, char *why,
        size_t whylen)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, p, len);
	rc = dhcp_parse(copy, len, m, why, whylen);
	free(copy);
	return rc;
}

static uint32_t
ip(const char *s)
{
	return inet_addr(s);
}

/* k must fail with code rc, reason bad, and why naming want. */
static void
bad_pkt(const uint8_t *p, size_t len, int rc, int bad, const char *want)
{
	struct dhcp_msg m;
	char why[256] = "";

	CU_ASSERT_EQUAL(parse_exact(p, len, &m, why, sizeof(why)), rc);
	CU_ASSERT_EQUAL(m.bad, bad);
	CU_ASSERT(tu_printable(why));
	CU_ASSERT_EQUAL(m.xid, 0); /* zeroed on failure */
	if (want != NULL && strstr(why, want) == NULL) {
		fprintf(stderr, "\n  why: %s (wanted %s)\n", why, want);
		CU_FAIL("why does not name the problem");
	}
}

/* --- parsing: what clients send -------------------------------------- */

static void
test_parse_bios(void)
{
	struct pkt k;
	struct dhcp_msg m;
	char why[256];

	seed_bios(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(m.bad, DHCP_BAD_NONE);
	CU_ASSERT_EQUAL(m.op, DHCP_BOOTREQUEST);
	CU_ASSERT_EQUAL(m.htype, 1);
	CU_ASSERT_EQUAL(m.hlen, 6);
	CU_ASSERT_EQUAL(m.hops, 0);
	CU_ASSERT_EQUAL(m.xid, XID1);
	CU_ASSERT_EQUAL(m.secs, 4);
	CU_ASSERT_EQUAL(m.flags, DHCP_FLAG_BROADCAST);
	CU_ASSERT_EQUAL(m.ciaddr, 0);
	CU_ASSERT_EQUAL(m.giaddr, 0);
	CU_ASSERT(memcmp(m.chaddr, mac1, 6) == 0);
	CU_ASSERT_EQUAL(m.chaddr[6], 0);
	CU_ASSERT_STRING_EQUAL(m.file, "");
	CU_ASSERT_STRING_EQUAL(m.sname, "");
	CU_ASSERT_EQUAL(m.overload, 0);
	CU_ASSERT_EQUAL(m.msgtype, DHCP_DISCOVER);
	CU_ASSERT_EQUAL(m.has_server_id, 0);
	CU_ASSERT_EQUAL(m.max_msg, 1260);
	CU_ASSERT_EQUAL(m.prl_len, sizeof(prl_pxe));
	CU_ASSERT(memcmp(m.prl, prl_pxe, sizeof(prl_pxe)) == 0);
	CU_ASSERT(m.has_vclass && m.is_pxe && !m.is_http);
	CU_ASSERT_EQUAL(m.vclass_len, 32);
	CU_ASSERT(
	        memcmp(m.vclass, "PXEClient:Arch:00000:UNDI:002001", 32) == 0);
	CU_ASSERT_EQUAL(m.vclass_arch, 0);
	CU_ASSERT_EQUAL(m.narch, 1);
	CU_ASSERT_EQUAL(m.arch_list[0], 0);
	CU_ASSERT_EQUAL(m.arch, DHCP_ARCH_BIOS);
	CU_ASSERT(m.has_nii && m.nii_type == 1 && m.nii_major == 2 &&
	        m.nii_minor == 1);
	CU_ASSERT_EQUAL(m.uuid_len, 17);
	CU_ASSERT(memcmp(m.uuid, guid1, 17) == 0);
	CU_ASSERT(!m.has_user_class && !m.user_class_ipxe && !m.has_ipxe &&
	        !m.is_ipxe);
	CU_ASSERT(!m.has_relay && !m.has_vendor && !m.has_boot_item);
	CU_ASSERT_EQUAL(dhcp_reply_type(&m), DHCP_OFFER);
}

static void
test_parse_efi_http(void)
{
	struct pkt k;
	struct dhcp_msg m;

	seed_ovmf(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.xid, XID1 + 1);
	CU_ASSERT_EQUAL(m.arch, DHCP_ARCH_EFI_X64);
	CU_ASSERT_EQUAL(m.vclass_arch, 7);
	CU_ASSERT(m.is_pxe && !m.is_http && !m.is_ipxe);
	CU_ASSERT(m.has_nii && m.nii_major == 3 && m.nii_minor == 0);
	CU_ASSERT_EQUAL(m.max_msg, 1472);
	CU_ASSERT_EQUAL(m.prl_len, 20);

	seed_http(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.is_http && !m.is_pxe);
	CU_ASSERT_EQUAL(m.arch, DHCP_ARCH_HTTP_X64);
	CU_ASSERT_EQUAL(m.vclass_arch, 16);
	CU_ASSERT_EQUAL(m.uuid_len, 17);
	CU_ASSERT_EQUAL(dhcp_reply_type(&m), DHCP_OFFER);
}

static void
test_parse_ipxe(void)
{
	static const uint8_t rfc3004[] = {4, 'i', 'P', 'X', 'E'};
	static const uint8_t list[] = {3, 'f', 'o', 'o', 4, 'i', 'P', 'X', 'E'};
	static const uint8_t broken[] = {9, 'i', 'P', 'X', 'E'};
	struct pkt k;
	struct dhcp_msg m;

	seed_ipxe(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.has_user_class && m.user_class_ipxe);
	CU_ASSERT_EQUAL(m.user_class_len, 4);
	CU_ASSERT(m.has_ipxe && m.is_ipxe && m.is_pxe);
	CU_ASSERT_EQUAL(m.ipxe_len, sizeof(ipxe175));
	CU_ASSERT(memcmp(m.ipxe, ipxe175, sizeof(ipxe175)) == 0);
	CU_ASSERT_EQUAL(m.arch, 7);
	CU_ASSERT_EQUAL(m.vclass_arch, 7);

	/* RFC 3004 form, alone and in a list; a broken list is no iPXE. */
	pkt_start(&k, DHCP_BOOTREQUEST, 1);
	pkt_opt(&k, DHCP_OPT_USER_CLASS, rfc3004, sizeof(rfc3004));
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.user_class_ipxe && m.is_ipxe && !m.has_ipxe);
	CU_ASSERT_EQUAL(m.arch, -1); /* neither 93 nor 60 */
	pkt_start(&k, DHCP_BOOTREQUEST, 1);
	pkt_opt(&k, DHCP_OPT_USER_CLASS, list, sizeof(list));
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.user_class_ipxe);
	pkt_start(&k, DHCP_BOOTREQUEST, 1);
	pkt_opt(&k, DHCP_OPT_USER_CLASS, broken, sizeof(broken));
	pkt_str(&k, DHCP_OPT_VCLASS, "PXEClient");
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.has_user_class && !m.user_class_ipxe && !m.is_ipxe);
	/* A bare "PXEClient" is PXE, with no arch in it. */
	CU_ASSERT(m.is_pxe);
	CU_ASSERT_EQUAL(m.vclass_arch, -1);
	/* Other spellings are not iPXE. */
	pkt_start(&k, DHCP_BOOTREQUEST, 1);
	pkt_str(&k, DHCP_OPT_USER_CLASS, "ipxe");
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(!m.user_class_ipxe);
	pkt_start(&k, DHCP_BOOTREQUEST, 1);
	pkt_str(&k, DHCP_OPT_USER_CLASS, "iPXE2");
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(!m.user_class_ipxe);
}

static void
test_parse_relay_4011(void)
{
	struct pkt k;
	struct dhcp_msg m;

	seed_relayed(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.hops, 1);
	CU_ASSERT_EQUAL(m.giaddr, ip("10.1.2.1"));
	CU_ASSERT(m.has_relay);
	CU_ASSERT_EQUAL(m.relay_len, sizeof(relay1));
	CU_ASSERT(memcmp(m.relay, relay1, sizeof(relay1)) == 0);

	seed_4011(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.msgtype, DHCP_REQUEST);
	CU_ASSERT_EQUAL(m.ciaddr, ip("192.168.7.42"));
	CU_ASSERT_EQUAL(m.flags, 0);
	CU_ASSERT(m.has_vendor && m.vendor_len == 7);
	CU_ASSERT(m.has_boot_item);
	CU_ASSERT_EQUAL(m.item_type, 0x8000);
	CU_ASSERT_EQUAL(m.item_layer, 0);
	CU_ASSERT_EQUAL(dhcp_reply_type(&m), DHCP_ACK);
}

/* Option 82's circuit-id and remote-id, and sub-options that run past
 * the end. */
static void
test_relay_ids(void)
{
	static const uint8_t only_remote[] = {9, 2, 'x', 'y', 2, 3, 'a', 'b',
	        'c'};
	static const uint8_t cut[] = {1, 3, 'a', 'b', 'c', 2, 9, 'z'};
	static const uint8_t empty_circ[] = {1, 0, 2, 1, 'r'};
	const uint8_t *c, *r;
	size_t nc, nr;
	struct dhcp_msg m;
	struct pkt k;

	seed_relayed(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	dhcp_relay_ids(&m, &c, &nc, &r, &nr);
	CU_ASSERT(c == m.relay + 2 && nc == 6 && memcmp(c, "eth0/7", 6) == 0);
	CU_ASSERT(r == m.relay + 10 && nr == 6 && r[0] == 0x00 && r[5] == 0xcc);

	memset(&m, 0, sizeof(m));
	dhcp_relay_ids(&m, &c, &nc, &r, &nr); /* no option 82 */
	CU_ASSERT(c == NULL && nc == 0 && r == NULL && nr == 0);

	m.has_relay = 1;
	memcpy(m.relay, only_remote, sizeof(only_remote));
	m.relay_len = sizeof(only_remote);
	dhcp_relay_ids(&m, &c, &nc, &r, &nr);
	CU_ASSERT(c == NULL && nc == 0);
	CU_ASSERT(nr == 3 && memcmp(r, "abc", 3) == 0);

	memcpy(m.relay, cut, sizeof(cut)); /* remote-id runs past the end */
	m.relay_len = sizeof(cut);
	dhcp_relay_ids(&m, &c, &nc, &r, &nr);
	CU_ASSERT(nc == 3 && memcmp(c, "abc", 3) == 0);
	CU_ASSERT(r == NULL && nr == 0);

	memcpy(m.relay, empty_circ, sizeof(empty_circ)); /* empty: absent */
	m.relay_len = sizeof(empty_circ);
	dhcp_relay_ids(&m, &c, &nc, &r, &nr);
	CU_ASSERT(c == NULL && nc == 0 && nr == 1 && r[0] == 'r');

	m.relay_len = 1; /* a lone code byte */
	dhcp_relay_ids(&m, &c, &nc, &r, &nr);
	CU_ASSERT(c == NULL && r == NULL);
}

/* Vendor class and relay info split into pieces are joined (RFC 3396),
 * across the options field, file and sname, in that order. */
static void
test_parse_concat_overload(void)
{
	static const uint8_t ov3 = 3, ov1 = 1;
	struct pkt k;
	struct dhcp_msg m;
	uint8_t big[600];
	size_t i;
	char why[256];

	pkt_start(&k, DHCP_BOOTREQUEST, 7);
	pkt_str(&k, DHCP_OPT_VCLASS, "PXECl");
	pkt_type(&k, DHCP_DISCOVER);
	pkt_opt(&k, DHCP_OPT_OVERLOAD, &ov3, 1);
	pkt_str(&k, DHCP_OPT_VCLASS, "ient:Arch:");
	pkt_end(&k);
	/* file: more of 60, then a 52 that must be ignored, then END. */
	memcpy(k.b + 108,
	        "\x3c\x05"
	        "00011"
	        "\x34\x01\x03"
	        "\x5d\x02\x00\x0b"
	        "\xff",
	        15);
	/* sname: the rest of 60 and no END (it ends at the field's end:
	 * a 62-byte option fills it). */
	k.b[44] = DHCP_OPT_VCLASS;
	k.b[45] = 62;
	memcpy(k.b + 46, ":UNDI:003000", 12);
	memset(k.b + 58, 'x', 50);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(m.overload, 3);
	CU_ASSERT_STRING_EQUAL(m.file, "");
	CU_ASSERT_STRING_EQUAL(m.sname, "");
	CU_ASSERT_EQUAL(m.vclass_len, 5 + 10 + 5 + 62);
	CU_ASSERT(memcmp(m.vclass, "PXEClient:Arch:00011:UNDI:003000xx", 34) ==
	        0);
	CU_ASSERT(m.is_pxe);
	CU_ASSERT_EQUAL(m.vclass_arch, 11);
	CU_ASSERT_EQUAL(m.arch, 11);
	CU_ASSERT_EQUAL(m.msgtype, DHCP_DISCOVER);

	/* Overload of file only: sname stays a name. */
	pkt_start(&k, DHCP_BOOTREQUEST, 7);
	pkt_opt(&k, DHCP_OPT_OVERLOAD, &ov1, 1);
	pkt_end(&k);
	memcpy(k.b + 44, "bootsrv", 7);
	memcpy(k.b + 108, "\x35\x01\x01\xff", 4);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_STRING_EQUAL(m.sname, "bootsrv");
	CU_ASSERT_STRING_EQUAL(m.file, "");
	CU_ASSERT_EQUAL(m.msgtype, DHCP_DISCOVER);
	/* Without overload the same bytes are a file name, unread. */
	pkt_start(&k, DHCP_BOOTREQUEST, 7);
	pkt_end(&k);
	memcpy(k.b + 108, "pxelinux.0", 10);
	memset(k.b + 44, 'n', 64); /* no NUL: all 64 bytes */
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_STRING_EQUAL(m.file, "pxelinux.0");
	CU_ASSERT_EQUAL(strlen(m.sname), 64);
	CU_ASSERT_EQUAL(m.msgtype, 0);

	/* 82 of 600 bytes in three options joins whole. */
	tu_fill(big, sizeof(big), 82);
	pkt_start(&k, DHCP_BOOTREQUEST, 7);
	pkt_opt(&k, DHCP_OPT_RELAY, big, 255);
	pkt_opt(&k, DHCP_OPT_RELAY, big + 255, 255);
	pkt_opt(&k, DHCP_OPT_RELAY, big + 510, 90);
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.relay_len, 600);
	CU_ASSERT(memcmp(m.relay, big, 600) == 0);
	/* Past DHCP_LONG_MAX it is refused, not cut. */
	pkt_start(&k, DHCP_BOOTREQUEST, 7);
	for (i = 0; i < 5; i++)
		pkt_opt(&k, DHCP_OPT_RELAY, big, 255);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_ETOOBIG, DHCP_BAD_TOOBIG, "option 82");
	/* Two vendor classes join to one over 255: too big. */
	pkt_start(&k, DHCP_BOOTREQUEST, 7);
	memset(big, 'a', 255);
	pkt_opt(&k, DHCP_OPT_VCLASS, big, 255);
	pkt_opt(&k, DHCP_OPT_VCLASS, big, 1);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_ETOOBIG, DHCP_BAD_TOOBIG, "option 60");
	/* A fixed-size option sent twice is the wrong size. */
	pkt_start(&k, DHCP_BOOTREQUEST, 7);
	pkt_type(&k, DHCP_DISCOVER);
	pkt_type(&k, DHCP_REQUEST);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 53");
	/* Arch lists: more than DHCP_ARCH_MAX entries keep the first. */
	pkt_start(&k, DHCP_BOOTREQUEST, 7);
	for (i = 0; i < 40; i++) {
		big[2 * i] = 0;
		big[2 * i + 1] = (uint8_t)(i == 0 ? 11 : 7);
	}
	pkt_opt(&k, DHCP_OPT_ARCH, big, 80);
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.narch, DHCP_ARCH_MAX);
	CU_ASSERT_EQUAL(m.arch, 11);
	CU_ASSERT_EQUAL(m.arch_list[1], 7);
}

/* Where options end: END, padding, a missing END, overload loops. */
static void
test_parse_end(void)
{
	static const uint8_t ov = 3, ovbad = 4;
	struct pkt k;
	struct dhcp_msg m;

	/* No END, last option flush with the end: accepted. */
	pkt_start(&k, DHCP_BOOTREQUEST, 9);
	pkt_type(&k, DHCP_DISCOVER);
	pkt_str(&k, DHCP_OPT_VCLASS, "PXEClient");
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.is_pxe && m.msgtype == DHCP_DISCOVER);
	/* Header and cookie only: no options at all. */
	CU_ASSERT_EQUAL(parse_exact(k.b, 240, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.msgtype, 0);
	/* After END anything is padding, even what looks like options. */
	pkt_start(&k, DHCP_BOOTREQUEST, 9);
	pkt_type(&k, DHCP_DISCOVER);
	pkt_end(&k);
	k.b[k.end_at] = DHCP_OPT_VCLASS;
	k.b[k.end_at + 1] = 200; /* would run past the end */
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(!m.has_vclass);
	/* PAD before and between options. */
	pkt_start(&k, DHCP_BOOTREQUEST, 9);
	pkt_raw(&k, "\0\0\0", 3);
	pkt_type(&k, DHCP_INFORM);
	pkt_raw(&k, "\0", 1);
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.msgtype, DHCP_INFORM);
	CU_ASSERT_EQUAL(dhcp_reply_type(&m), DHCP_ACK);
	/* A code as the last byte: no length. */
	pkt_start(&k, DHCP_BOOTREQUEST, 9);
	pkt_type(&k, DHCP_DISCOVER);
	pkt_raw(&k, "\x3c", 1);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_OPTIONS, "option 60");
	/* A length running past the end. */
	pkt_start(&k, DHCP_BOOTREQUEST, 9);
	pkt_raw(&k,
	        "\x3c\x0a"
	        "PXEClien",
	        10);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_OPTIONS, "runs past");
	/* Overload: options in file running past the field. */
	pkt_start(&k, DHCP_BOOTREQUEST, 9);
	pkt_opt(&k, DHCP_OPT_OVERLOAD, &ov, 1);
	pkt_end(&k);
	k.b[108 + 120] = DHCP_OPT_VCLASS;
	k.b[108 + 121] = 9;
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_OPTIONS, "file");
	/* ...and in sname. */
	pkt_start(&k, DHCP_BOOTREQUEST, 9);
	pkt_opt(&k, DHCP_OPT_OVERLOAD, &ov, 1);
	pkt_end(&k);
	k.b[108] = DHCP_OPT_END;
	k.b[44 + 63] = DHCP_OPT_VCLASS;
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_OPTIONS, "sname");
	/* Overload value out of range. */
	pkt_start(&k, DHCP_BOOTREQUEST, 9);
	pkt_opt(&k, DHCP_OPT_OVERLOAD, &ovbad, 1);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 52");
	/* The loop: file and sname both say "overload 3" again and hold
	 * nothing else; each is walked once. */
	pkt_start(&k, DHCP_BOOTREQUEST, 9);
	pkt_opt(&k, DHCP_OPT_OVERLOAD, &ov, 1);
	pkt_end(&k);
	memset(k.b + 44, 0, 64 + 128);
	memcpy(k.b + 108, "\x34\x01\x03\x34\x01\x03\xff", 7);
	memcpy(k.b + 44, "\x34\x01\x03\x35\x01\x01\xff", 7);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.overload, 3);
	CU_ASSERT_EQUAL(m.msgtype, DHCP_DISCOVER);
	/* A 52 only inside file does not make sname an option area. */
	pkt_start(&k, DHCP_BOOTREQUEST, 9);
	pkt_opt(&k, DHCP_OPT_OVERLOAD, &(uint8_t){1}, 1);
	pkt_end(&k);
	memcpy(k.b + 108, "\x34\x01\x02\xff", 4);
	memcpy(k.b + 44, "\x35\x01\x01\xff", 4);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.overload, 1);
	CU_ASSERT_EQUAL(m.msgtype, 0);
	CU_ASSERT_EQUAL(m.sname[0], 0x35);
}

/* Fixed fields and option values a datagram cannot have. */
static void
test_parse_bad_values(void)
{
	static const uint8_t v43_noend[] = {71, 4, 0x80, 0x00, 0x00, 0x00};
	static const uint8_t v43_len[] = {71, 2, 0x80, 0x00, 255};
	struct pkt k;
	struct dhcp_msg m;
	uint8_t garbage[1500];
	uint64_t s;

	/* Short, wrong op, hlen, cookie. */
	seed_bios(&k);
	bad_pkt(k.b, 239, BL_EFORMAT, DHCP_BAD_SHORT, "239 bytes");
	bad_pkt(k.b, 0, BL_EFORMAT, DHCP_BAD_SHORT, NULL);
	k.b[0] = 3;
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_OP, "op 3");
	k.b[0] = 0;
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_OP, "op 0");
	k.b[0] = 1;
	k.b[2] = 17;
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_HLEN, "hlen 17");
	k.b[2] = 16;
	CU_ASSERT_EQUAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.hlen, 16);
	k.b[239] = 98;
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_COOKIE, "cookie");
	/* A BOOTREPLY parses, and says so. */
	seed_bios(&k);
	k.b[0] = DHCP_BOOTREPLY;
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.op, DHCP_BOOTREPLY);
	CU_ASSERT_EQUAL(dhcp_reply_type(&m), 0); /* never answered */

	/* Zero-length options: fine where a value may be empty. */
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_VCLASS, "", 0);
	pkt_opt(&k, DHCP_OPT_RELAY, "", 0);
	pkt_opt(&k, DHCP_OPT_USER_CLASS, "", 0);
	pkt_opt(&k, DHCP_OPT_PRL, "", 0);
	pkt_opt(&k, 12, "", 0); /* unread: skipped */
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.has_vclass && m.vclass_len == 0 && !m.is_pxe);
	CU_ASSERT(m.has_relay && m.relay_len == 0);
	CU_ASSERT(m.has_user_class && !m.user_class_ipxe);
	/* ...and refused where it cannot be. */
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_MSGTYPE, "", 0);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 53");
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_ARCH, "", 0);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 93");
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_ARCH, "\0\0\0", 3);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 93");
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_UUID, "", 0);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 97");
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_UUID, garbage, 18);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 97");
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_SERVER_ID, "\x0a\0\0", 3);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 54");
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_MAXMSG, "\x05", 1);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 57");
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_NII, "\x01\x02", 2);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 94");
	/* A short UUID is kept as sent (echoed byte for byte). */
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_UUID, guid1 + 1, 16);
	pkt_opt(&k, DHCP_OPT_SERVER_ID, "\x0a\0\0\x01", 4);
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.uuid_len, 16);
	CU_ASSERT(m.has_server_id && m.server_id == ip("10.0.0.1"));
	/* A PXEClient's 43 must be PXE sub-options... */
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_str(&k, DHCP_OPT_VCLASS, "PXEClient:Arch:00007");
	pkt_opt(&k, DHCP_OPT_VENDOR, v43_noend, 3);
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "option 43");
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_VENDOR, v43_len, sizeof(v43_len));
	pkt_str(&k, DHCP_OPT_VCLASS, "PXEClient");
	pkt_end(&k);
	bad_pkt(k.b, k.len, BL_EFORMAT, DHCP_BAD_VALUE, "boot item");
	/* ...a 43 without END is fine, and anyone else's is opaque. */
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_VENDOR, v43_noend, 6);
	pkt_str(&k, DHCP_OPT_VCLASS, "PXEClient");
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.has_boot_item && m.item_type == 0x8000);
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_opt(&k, DHCP_OPT_VENDOR, v43_noend, 3);
	pkt_str(&k, DHCP_OPT_VCLASS, "MSFT 5.0");
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.has_vendor && m.vendor_len == 3 && !m.has_boot_item);
	/* Vendor class arch digits: five, then ':' or the end. */
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_str(&k, DHCP_OPT_VCLASS, "PXEClient:Arch:0007:UNDI:003000");
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.is_pxe && m.vclass_arch == -1 && m.arch == -1);
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_str(&k, DHCP_OPT_VCLASS, "PXEClient:Arch:99999");
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(m.vclass_arch, -1);
	pkt_start(&k, DHCP_BOOTREQUEST, 3);
	pkt_str(&k, DHCP_OPT_VCLASS, "PXEClient:Arch:00009");
	pkt_end(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &m, NULL, 0), 0);
	CU_ASSERT(m.vclass_arch == 9 && m.arch == 9);

	/* 1500 bytes of garbage: refused, with a reason. */
	for (s = 0; s < 64; s++) {
		tu_fill(garbage, sizeof(garbage), 0xd0c0 + s);
		garbage[0] = (uint8_t)(garbage[0] | 4); /* never op 1 or 2 */
		bad_pkt(garbage, sizeof(garbage), BL_EFORMAT, DHCP_BAD_OP,
		        NULL);
	}
	CU_ASSERT_STRING_EQUAL(dhcp_bad_name(DHCP_BAD_COOKIE), "cookie");
	CU_ASSERT_STRING_EQUAL(dhcp_bad_name(0), "ok");
	CU_ASSERT_STRING_EQUAL(dhcp_bad_name(99), "unknown");
	CU_ASSERT_STRING_EQUAL(dhcp_bad_name(-1), "unknown");
}

/* Every prefix of every seed: under 240 bytes refused as short; else it
 * parses exactly when it ends on an option boundary or past END. */
static void
test_parse_truncated(void)
{
	struct pkt k;
	struct dhcp_msg m;
	char why[256];
	size_t s, cut, b;
	int rc, whole;

	for (s = 0; s < NSEEDS; s++) {
		seeds[s](&k);
		for (cut = 0; cut <= k.len; cut++) {
			why[0] = '\0';
			rc = parse_exact(k.b, cut, &m, why, sizeof(why));
			whole = cut >= k.end_at;
			for (b = 0; b < k.nbound; b++)
				if (k.bound[b] == cut)
					whole = 1;
			if (cut < DHCP_HDR_LEN) {
				CU_ASSERT_EQUAL(rc, BL_EFORMAT);
				CU_ASSERT_EQUAL(m.bad, DHCP_BAD_SHORT);
			} else if (whole) {
				CU_ASSERT_EQUAL(rc, 0);
				CU_ASSERT_EQUAL(m.hlen, 6);
			} else {
				CU_ASSERT_EQUAL(rc, BL_EFORMAT);
				CU_ASSERT_EQUAL(m.bad, DHCP_BAD_OPTIONS);
				CU_ASSERT(tu_printable(why));
			}
		}
	}
}

/* A valid header with random options: never a crash or a read past the
 * end (ASan), and either a sane result or a reason. */
static void
test_parse_random_options(void)
{
	struct pkt k;
	struct dhcp_msg m;
	char why[256];
	uint64_t s;
	int rc, ok = 0;

	for (s = 0; s < 2000; s++) {
		pkt_start(&k, DHCP_BOOTREQUEST, (uint32_t)s);
		k.len = 240 + (s * 7) % 1261;
		tu_fill(k.b + 240, k.len - 240, s);
		if (s % 3 == 0) /* often overloaded */
			memcpy(k.b + 240, "\x34\x01\x03", 3);
		tu_fill(k.b + 44, 192, s + 1);
		why[0] = '\0';
		rc = parse_exact(k.b, k.len, &m, why, sizeof(why));
		if (rc == 0) {
			ok++;
			CU_ASSERT(m.xid == (uint32_t)s && m.bad == 0);
			CU_ASSERT(m.narch <= DHCP_ARCH_MAX);
			CU_ASSERT(m.relay_len <= DHCP_LONG_MAX &&
			        m.vendor_len <= DHCP_LONG_MAX &&
			        m.ipxe_len <= DHCP_LONG_MAX);
			CU_ASSERT(m.uuid_len <= DHCP_UUID_MAX);
			CU_ASSERT(
			        strlen(m.file) <= 128 && strlen(m.sname) <= 64);
		} else {
			CU_ASSERT(rc == BL_EFORMAT || rc == BL_ETOOBIG);
			CU_ASSERT(m.bad != DHCP_BAD_NONE);
			CU_ASSERT(tu_printable(why));
		}
	}
	CU_ASSERT(ok > 0); /* an END early on makes some parse */
}

/* --- architectures --------------------------------------------------- */

static void
test_arch(void)
{
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(0), "x86 BIOS");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(6), "x86 UEFI");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(7), "x64 UEFI");
	CU_ASSERT_PTR_NOT_NULL(strstr(dhcp_arch_name(9), "EBC"));
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(10), "ARM 32-bit UEFI");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(11), "ARM 64-bit UEFI");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(15), "x86 UEFI HTTP");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(16), "x64 UEFI HTTP");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(19), "ARM 64-bit UEFI HTTP");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(20), "x86 BIOS HTTP");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(25), "RISC-V 32-bit UEFI");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(27), "RISC-V 64-bit UEFI");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(39), "LoongArch 64-bit UEFI");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(41), "ARM rpiboot");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(42), "unknown");
	CU_ASSERT_STRING_EQUAL(dhcp_arch_name(0xffff), "unknown");
	CU_ASSERT(!dhcp_arch_http(0) && !dhcp_arch_http(7) &&
	        !dhcp_arch_http(9) && !dhcp_arch_http(11));
	CU_ASSERT(dhcp_arch_http(15) && dhcp_arch_http(16) &&
	        dhcp_arch_http(19) && dhcp_arch_http(20) &&
	        dhcp_arch_http(28) && dhcp_arch_http(40));
	CU_ASSERT(!dhcp_arch_http(42) && !dhcp_arch_http(1000));
}

static void
test_choose(void)
{
	const struct dhcp_prog p[] = {
	        {0, DHCP_KIND_NBP},  /* 0 undionly.kpxe */
	        {7, DHCP_KIND_NBP},  /* 1 ipxe.efi (x64) */
	        {11, DHCP_KIND_NBP}, /* 2 ipxe.efi (arm64) */
	        {7, DHCP_KIND_URL},  /* 3 http://.../ipxe.efi */
	        {16, DHCP_KIND_URL}, /* 4 http://.../shim.efi */
	        {9, DHCP_KIND_NBP},  /* 5 for RFC 4578-era x64 firmware */
	};
	const struct dhcp_prog q[] = {
	        {9, DHCP_KIND_NBP},
	        {7, DHCP_KIND_URL},
	        {1234, DHCP_KIND_NBP},
	};
	const struct dhcp_prog r[] = {
	        {0, DHCP_KIND_URL},
	        {11, DHCP_KIND_URL},
	        {0, DHCP_KIND_NBP},
	};

	/* Exact matches first, of the kind the arch fetches. */
	CU_ASSERT_EQUAL(dhcp_choose(0, p, 6), 0);
	CU_ASSERT_EQUAL(dhcp_choose(7, p, 6), 1);
	CU_ASSERT_EQUAL(dhcp_choose(11, p, 6), 2);
	CU_ASSERT_EQUAL(dhcp_choose(16, p, 6), 4);
	CU_ASSERT_EQUAL(dhcp_choose(9, p, 6), 5);
	/* Compatible: 7 and 9 are one platform; HTTP x64 takes an x64
	 * program by URL; never a TFTP file for an HTTP client or a URL
	 * for a PXE ROM. */
	CU_ASSERT_EQUAL(dhcp_choose(9, p, 5), 1);
	CU_ASSERT_EQUAL(dhcp_choose(7, q, 3), 0);
	CU_ASSERT_EQUAL(dhcp_choose(16, p, 4), 3);
	CU_ASSERT_EQUAL(dhcp_choose(16, q, 3), 1);
	CU_ASSERT_EQUAL(dhcp_choose(16, q, 1), -1);
	CU_ASSERT_EQUAL(dhcp_choose(19, r, 3), 1);
	CU_ASSERT_EQUAL(dhcp_choose(19, p, 6), -1);
	CU_ASSERT_EQUAL(dhcp_choose(20, r, 3), 0);
	CU_ASSERT_EQUAL(dhcp_choose(20, p, 6), -1);
	CU_ASSERT_EQUAL(dhcp_choose(0, r, 3), 2);
	CU_ASSERT_EQUAL(dhcp_choose(11, r, 3), -1);
	/* No cross-platform fallback. */
	CU_ASSERT_EQUAL(dhcp_choose(6, p, 6), -1);
	CU_ASSERT_EQUAL(dhcp_choose(10, p, 6), -1);
	CU_ASSERT_EQUAL(dhcp_choose(27, p, 6), -1);
	/* EBC over HTTP is not x64 (only 9 is, for history's sake). */
	CU_ASSERT_EQUAL(dhcp_choose(17, p, 6), -1);
	/* Unlisted arches: exact only. */
	CU_ASSERT_EQUAL(dhcp_choose(1234, q, 3), 2);
	CU_ASSERT_EQUAL(dhcp_choose(1235, q, 3), -1);
	CU_ASSERT_EQUAL(dhcp_choose(0, p, 0), -1);
}

/* --- building replies ------------------------------------------------ */

/* The first instance of code in a reply's options field (no overload in
 * our replies), or NULL; an independent walk to check the builder. */
static const uint8_t *
find_opt(const uint8_t *b, size_t len, uint8_t code, size_t *n)
{
	size_t i = DHCP_HDR_LEN;

	while (i < len) {
		if (b[i] == 0) {
			i++;
			continue;
		}
		if (b[i] == 255 || i + 1 >= len || i + 2 + b[i + 1] > len)
			return NULL;
		if (b[i] == code) {
			*n = b[i + 1];
			return b + i + 2;
		}
		i += 2 + b[i + 1];
	}
	return NULL;
}

/* The PXE sub-option sub in option 43 of a reply, or NULL. */
static const uint8_t *
find_sub(const uint8_t *b, size_t len, uint8_t sub, size_t *n)
{
	size_t vn, i = 0;
	const uint8_t *v = find_opt(b, len, DHCP_OPT_VENDOR, &vn);

	while (v != NULL && i + 1 < vn && v[i] != 255) {
		if (v[i] == sub) {
			*n = v[i + 1];
			return v + i + 2;
		}
		i += 2 + v[i + 1];
	}
	return NULL;
}

static void
answer_init(struct dhcp_answer *a, int type, const char *file)
{
	memset(a, 0, sizeof(*a));
	a->msgtype = type;
	a->server_id = inet_addr("192.168.7.1");
	a->next_server = inet_addr("192.168.7.2");
	a->boot_file = file;
}

/* Build for seed sd with a; parse back into back; returns the length. */
static size_t
build_back(seed_fn sd, const struct dhcp_answer *a, uint8_t *buf, size_t cap,
        struct dhcp_msg *req, struct dhcp_msg *back)
{
	struct pkt k;
	size_t n;
	char why[256];

	sd(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, req, NULL, 0), 0);
	n = dhcp_build_proxy(req, a, buf, cap);
	CU_ASSERT_FATAL(n >= DHCP_REPLY_MIN && n <= cap);
	CU_ASSERT_EQUAL_FATAL(parse_exact(buf, n, back, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(back->op, DHCP_BOOTREPLY);
	CU_ASSERT_EQUAL(back->xid, req->xid);
	CU_ASSERT_EQUAL(back->flags, req->flags);
	CU_ASSERT_EQUAL(back->htype, req->htype);
	CU_ASSERT_EQUAL(back->hlen, req->hlen);
	CU_ASSERT(memcmp(back->chaddr, req->chaddr, 16) == 0);
	CU_ASSERT_EQUAL(back->yiaddr, 0);
	CU_ASSERT_EQUAL(back->hops, 0);
	CU_ASSERT_EQUAL(back->siaddr, a->next_server);
	CU_ASSERT_EQUAL(back->giaddr, req->giaddr);
	CU_ASSERT_EQUAL(back->msgtype, a->msgtype);
	CU_ASSERT(back->has_server_id && back->server_id == a->server_id);
	CU_ASSERT_EQUAL(back->uuid_len, req->uuid_len);
	CU_ASSERT(memcmp(back->uuid, req->uuid, req->uuid_len) == 0);
	/* Options stop at END: the rest is zero padding. */
	return n;
}

static void
test_build_bios_efi(void)
{
	struct dhcp_answer a;
	struct dhcp_msg req, back;
	struct dhcp_dest d;
	uint8_t buf[1500];
	const uint8_t *v;
	size_t n, vn;

	answer_init(&a, DHCP_OFFER, "undionly.kpxe");
	n = build_back(seed_bios, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT_EQUAL(n, DHCP_REPLY_MIN); /* small: padded */
	CU_ASSERT_STRING_EQUAL(back.file, "undionly.kpxe");
	CU_ASSERT_STRING_EQUAL(back.sname, "");
	CU_ASSERT_EQUAL(back.ciaddr, 0);
	CU_ASSERT(back.is_pxe && back.vclass_len == 9);
	CU_ASSERT(!back.has_relay && !back.has_ipxe);
	/* 53 comes first; 43 is exactly 6 = 8, END. */
	CU_ASSERT(buf[240] == 53 && buf[241] == 1 && buf[242] == DHCP_OFFER);
	v = find_opt(buf, n, DHCP_OPT_VENDOR, &vn);
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_EQUAL(vn, 4);
	CU_ASSERT(memcmp(v, "\x06\x01\x08\xff", 4) == 0);
	CU_ASSERT_PTR_NULL(find_opt(buf, n, DHCP_OPT_BOOTFILE, &vn));
	CU_ASSERT_PTR_NULL(find_opt(buf, n, DHCP_OPT_TFTP_SERVER, &vn));
	dhcp_reply_dest(&req, DHCP_SERVER_PORT, 0, 68, &d);
	CU_ASSERT(d.broadcast && d.addr == 0xffffffffu && d.port == 68);

	/* OVMF, with 66/67 asked for and a server name. */
	answer_init(&a, DHCP_OFFER, "efi64/ipxe.efi");
	a.bootfile_opts = 1;
	n = build_back(seed_ovmf, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT_STRING_EQUAL(back.file, "efi64/ipxe.efi");
	v = find_opt(buf, n, DHCP_OPT_BOOTFILE, &vn);
	CU_ASSERT(
	        v != NULL && vn == 14 && memcmp(v, "efi64/ipxe.efi", 14) == 0);
	v = find_opt(buf, n, DHCP_OPT_TFTP_SERVER, &vn);
	CU_ASSERT(v != NULL && vn == 11 && memcmp(v, "192.168.7.2", 11) == 0);
	a.sname = "boot.example";
	n = build_back(seed_ovmf, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT_STRING_EQUAL(back.sname, "boot.example");
	v = find_opt(buf, n, DHCP_OPT_TFTP_SERVER, &vn);
	CU_ASSERT(v != NULL && vn == 12 && memcmp(v, "boot.example", 12) == 0);
	/* vclass NONE: neither 60 nor 43. */
	a.vclass = DHCP_VC_NONE;
	n = build_back(seed_ovmf, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT(!back.has_vclass && !back.has_vendor);
}

static void
test_build_ipxe_http(void)
{
	static const char *script = "http://192.168.7.1:8080/boot.ipxe";
	struct dhcp_answer a;
	struct dhcp_msg req, back;
	uint8_t buf[1500];
	const uint8_t *v;
	size_t n, vn;

	answer_init(&a, DHCP_OFFER, script);
	a.ipxe_no_pxedhcp = 1;
	n = build_back(seed_ipxe, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT_STRING_EQUAL(back.file, script);
	CU_ASSERT(back.has_ipxe && back.ipxe_len == 3);
	CU_ASSERT(memcmp(back.ipxe, "\xb0\x01\x01", 3) == 0);
	CU_ASSERT(back.is_pxe);
	v = find_sub(buf, n, PXE_DISCOVERY_CONTROL, &vn);
	CU_ASSERT(v != NULL && vn == 1 && v[0] == PXE_DISC_USE_FILE);

	/* UEFI HTTP boot: HTTPClient, URL in file, no 43. */
	answer_init(&a, DHCP_OFFER, "http://192.168.7.1/efi/shimx64.efi");
	n = build_back(seed_http, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT(back.is_http && !back.is_pxe);
	CU_ASSERT_EQUAL(back.vclass_len, 10);
	CU_ASSERT(memcmp(back.vclass, "HTTPClient", 10) == 0);
	CU_ASSERT_STRING_EQUAL(back.file, "http://192.168.7.1/efi/shimx64.efi");
	CU_ASSERT(!back.has_vendor);
	CU_ASSERT_PTR_NULL(find_opt(buf, n, DHCP_OPT_VENDOR, &vn));
	/* Forced PXEClient for the same client. */
	a.vclass = DHCP_VC_PXE;
	build_back(seed_http, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT(back.is_pxe && back.has_vendor);
}

static void
test_build_relayed(void)
{
	struct dhcp_answer a;
	struct dhcp_msg req, back;
	struct dhcp_dest d;
	uint8_t buf[1500];
	const uint8_t *v;
	size_t n, vn = 0, e;

	answer_init(&a, DHCP_OFFER, "undionly.kpxe");
	n = build_back(seed_relayed, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT_EQUAL(back.giaddr, ip("10.1.2.1"));
	CU_ASSERT(back.has_relay && back.relay_len == sizeof(relay1));
	CU_ASSERT(memcmp(back.relay, relay1, sizeof(relay1)) == 0);
	/* 82 is the last option, right before END. */
	v = find_opt(buf, n, DHCP_OPT_RELAY, &vn);
	CU_ASSERT_FATAL(v != NULL);
	e = (size_t)(v - buf) + vn;
	CU_ASSERT_EQUAL(buf[e], DHCP_OPT_END);
	dhcp_reply_dest(&req, DHCP_SERVER_PORT, ip("10.1.2.1"), 67, &d);
	CU_ASSERT(!d.broadcast && d.addr == ip("10.1.2.1") && d.port == 67);
	/* Even with the broadcast flag and a ciaddr. */
	req.flags = DHCP_FLAG_BROADCAST;
	req.ciaddr = ip("10.1.9.9");
	dhcp_reply_dest(&req, DHCP_SERVER_PORT, ip("10.1.2.1"), 67, &d);
	CU_ASSERT(!d.broadcast && d.addr == ip("10.1.2.1") && d.port == 67);
}

/* Menus, prompt and boot servers in 43; the boot server's ACK. */
static void
test_build_menu_ack(void)
{
	const struct dhcp_menu_item menu[] = {
	        {0, "Boot from disk", 0},
	        {0x8000, "Install", 0},
	        {0x8001, "Rescue", 0},
	};
	struct dhcp_answer a;
	struct dhcp_msg req, back;
	struct dhcp_dest d;
	struct dhcp_menu_item m2[3];
	uint8_t buf[1500];
	const uint8_t *v;
	size_t n, vn;

	answer_init(&a, DHCP_OFFER, NULL);
	a.menu = menu;
	a.nmenu = 3;
	a.disc_ctl = PXE_DISC_NO_MCAST;
	a.prompt = "Press F8";
	a.prompt_timeout = 5;
	n = build_back(seed_bios, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT_STRING_EQUAL(back.file, "");
	v = find_sub(buf, n, PXE_DISCOVERY_CONTROL, &vn);
	CU_ASSERT(v != NULL && vn == 1 && v[0] == PXE_DISC_NO_MCAST);
	v = find_sub(buf, n, PXE_BOOT_MENU, &vn);
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_EQUAL(vn, 3 * 3 + 14 + 7 + 6);
	CU_ASSERT(memcmp(v,
	                  "\x00\x00\x0e"
	                  "Boot from disk"
	                  "\x80\x00\x07"
	                  "Install"
	                  "\x80\x01\x06"
	                  "Rescue",
	                  vn) == 0);
	v = find_sub(buf, n, PXE_MENU_PROMPT, &vn);
	CU_ASSERT(v != NULL && vn == 9 && v[0] == 5 &&
	        memcmp(v + 1, "Press F8", 8) == 0);
	CU_ASSERT_PTR_NULL(find_sub(buf, n, PXE_BOOT_SERVERS, &vn));
	/* Servers for two items: sub-option 8 lists them. */
	memcpy(m2, menu, sizeof(m2));
	m2[1].server = ip("192.168.7.3");
	m2[2].server = ip("192.168.7.4");
	a.menu = m2;
	n = build_back(seed_bios, &a, buf, sizeof(buf), &req, &back);
	v = find_sub(buf, n, PXE_BOOT_SERVERS, &vn);
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_EQUAL(vn, 14);
	CU_ASSERT(memcmp(v,
	                  "\x80\x00\x01\xc0\xa8\x07\x03"
	                  "\x80\x01\x01\xc0\xa8\x07\x04",
	                  14) == 0);

	/* The ACK on 4011: 71 echoed, no discovery control, ciaddr kept,
	 * answered where it came from. */
	answer_init(&a, DHCP_ACK, "efi64/ipxe.efi");
	a.has_boot_item = 1;
	a.item_type = 0x8000;
	n = build_back(seed_4011, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT(back.has_boot_item && back.item_type == 0x8000 &&
	        back.item_layer == 0);
	CU_ASSERT_EQUAL(back.ciaddr, ip("192.168.7.42"));
	CU_ASSERT_PTR_NULL(find_sub(buf, n, PXE_DISCOVERY_CONTROL, &vn));
	/* An OFFER never carries the client's ciaddr back. */
	a.msgtype = DHCP_OFFER;
	build_back(seed_4011, &a, buf, sizeof(buf), &req, &back);
	CU_ASSERT_EQUAL(back.ciaddr, 0);
	dhcp_reply_dest(&req, DHCP_PXE_PORT, ip("192.168.7.42"), 68, &d);
	CU_ASSERT(!d.broadcast && d.addr == ip("192.168.7.42") && d.port == 68);
	dhcp_reply_dest(&req, DHCP_PXE_PORT, ip("192.168.7.42"), 4011, &d);
	CU_ASSERT(d.port == 4011);
	dhcp_reply_dest(&req, DHCP_PXE_PORT, 0, 68, &d);
	CU_ASSERT(d.broadcast && d.addr == 0xffffffffu && d.port == 68);
	/* The same request on 67 (an INFORM-like unicast): ciaddr:68. */
	dhcp_reply_dest(&req, DHCP_SERVER_PORT, ip("192.168.7.42"), 68, &d);
	CU_ASSERT(!d.broadcast && d.addr == ip("192.168.7.42") && d.port == 68);
}

/* Sizes: 300 minimum, the client's 57, cap, strings over their bounds;
 * never a byte written past cap. */
static void
test_build_limits(void)
{
	struct dhcp_answer a;
	struct dhcp_msg req, back;
	struct pkt k;
	uint8_t buf[1500], *exact, big[1024];
	char url[300];
	struct dhcp_menu_item many[40];
	const uint8_t *v;
	size_t n, cap, vn, i;

	seed_bios(&k);
	CU_ASSERT_EQUAL_FATAL(parse_exact(k.b, k.len, &req, NULL, 0), 0);
	answer_init(&a, DHCP_OFFER, "undionly.kpxe");
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, 299), 0);
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, 0), 0);
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, 300), 300);
	a.msgtype = DHCP_REQUEST;
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 0);
	a.msgtype = DHCP_OFFER;

	/* A big relay option: 1000 bytes go out split in 255s when the
	 * client takes 1500, and not at all without 57. */
	tu_fill(big, sizeof(big), 5);
	memcpy(req.relay, big, 1000);
	req.relay_len = 1000;
	req.has_relay = 1;
	req.max_msg = 1500;
	n = dhcp_build_proxy(&req, &a, buf, sizeof(buf));
	CU_ASSERT_FATAL(n > 1000 && n <= 1500 - DHCP_IP_UDP_LEN);
	CU_ASSERT_EQUAL_FATAL(parse_exact(buf, n, &back, NULL, 0), 0);
	CU_ASSERT(back.relay_len == 1000 && memcmp(back.relay, big, 1000) == 0);
	v = find_opt(buf, n, DHCP_OPT_RELAY, &vn);
	CU_ASSERT(v != NULL && vn == 255 && v[255] == DHCP_OPT_RELAY &&
	        v[256] == 255);
	/* Every cap short of n fails; every cap from n works; exact-size
	 * buffers let ASan catch a write past cap. */
	for (cap = 0; cap <= n + 1; cap++) {
		exact = malloc(cap ? cap : 1);
		CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, exact, cap),
		        cap < n ? 0 : n);
		free(exact);
	}
	req.max_msg = 0;
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 0);
	/* 57 below 576 counts as 576: 548 bytes.  The reply is 286 bytes
	 * and 82: 4 + len of it when split in two. */
	req.relay_len = 257;
	req.max_msg = 300;
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 547);
	req.relay_len++;
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 548);
	req.relay_len++;
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 0);
	req.max_msg = 577; /* 549 bytes of DHCP */
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 549);
	req.relay_len++;
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 0);
	req.has_relay = 0;
	req.max_msg = 1500;

	/* File names: 127 in file; longer only by 67; never over 255. */
	memset(url, 'u', sizeof(url));
	url[127] = '\0';
	a.boot_file = url;
	n = dhcp_build_proxy(&req, &a, buf, sizeof(buf));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(parse_exact(buf, n, &back, NULL, 0), 0);
	CU_ASSERT_EQUAL(strlen(back.file), 127);
	url[127] = 'u';
	url[128] = '\0';
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 0);
	a.bootfile_opts = 1;
	n = dhcp_build_proxy(&req, &a, buf, sizeof(buf));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(parse_exact(buf, n, &back, NULL, 0), 0);
	CU_ASSERT_STRING_EQUAL(back.file, "");
	v = find_opt(buf, n, DHCP_OPT_BOOTFILE, &vn);
	CU_ASSERT(v != NULL && vn == 128);
	url[128] = 'u';
	url[255] = '\0';
	CU_ASSERT(dhcp_build_proxy(&req, &a, buf, sizeof(buf)) > 0);
	url[255] = 'u';
	url[256] = '\0';
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 0);
	a.bootfile_opts = 0;
	a.boot_file = "x";
	/* sname: 63 bytes at most. */
	url[63] = '\0';
	a.sname = url;
	CU_ASSERT(dhcp_build_proxy(&req, &a, buf, sizeof(buf)) > 0);
	url[63] = 'u';
	url[64] = '\0';
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 0);
	a.sname = NULL;
	/* A menu that does not fit one option 43 fails. */
	for (i = 0; i < 40; i++) {
		many[i].type = (uint16_t)(0x8000 + i);
		many[i].desc = "A boot menu entry";
		many[i].server = 0;
	}
	a.menu = many;
	a.nmenu = 10;
	req.max_msg = 1500;
	CU_ASSERT(dhcp_build_proxy(&req, &a, buf, sizeof(buf)) > 0);
	a.nmenu = 40;
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 0);
	memset(url, 'u', sizeof(url));
	url[256] = '\0';
	many[0].desc = url;
	a.nmenu = 1;
	CU_ASSERT_EQUAL(dhcp_build_proxy(&req, &a, buf, sizeof(buf)), 0);
}

int
test_dhcp_register(void)
{
	CU_pSuite s = CU_add_suite("dhcp", NULL, NULL);

	if (s == NULL ||
	        CU_add_test(s, "parse: BIOS PXE discover", test_parse_bios) ==
	                NULL ||
	        CU_add_test(s, "parse: OVMF and UEFI HTTP",
	                test_parse_efi_http) == NULL ||
	        CU_add_test(s, "parse: iPXE user class and 175",
	                test_parse_ipxe) == NULL ||
	        CU_add_test(s, "parse: relayed, 4011 request",
	                test_parse_relay_4011) == NULL ||
	        CU_add_test(s, "option 82 circuit-id and remote-id",
	                test_relay_ids) == NULL ||
	        CU_add_test(s, "parse: RFC 3396 joins, overload",
	                test_parse_concat_overload) == NULL ||
	        CU_add_test(s, "parse: END, padding, overload loops",
	                test_parse_end) == NULL ||
	        CU_add_test(s, "parse: bad fields and values",
	                test_parse_bad_values) == NULL ||
	        CU_add_test(s, "parse: every truncation",
	                test_parse_truncated) == NULL ||
	        CU_add_test(s, "parse: random options",
	                test_parse_random_options) == NULL ||
	        CU_add_test(s, "arch names", test_arch) == NULL ||
	        CU_add_test(s, "choose a boot program", test_choose) == NULL ||
	        CU_add_test(s, "build: BIOS and EFI offers",
	                test_build_bios_efi) == NULL ||
	        CU_add_test(s, "build: iPXE and HTTPClient",
	                test_build_ipxe_http) == NULL ||
	        CU_add_test(s, "build: relayed", test_build_relayed) == NULL ||
	        CU_add_test(s, "build: menu, 4011 ACK, destinations",
	                test_build_menu_ack) == NULL ||
	        CU_add_test(s, "build: sizes and bounds", test_build_limits) ==
	                NULL)
		return -1;
	return 0;
}

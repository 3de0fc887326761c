/*
 * test_tftp.c - the "tftp" suite: requests as real clients (PXE ROMs,
 * UEFI, tftp-hpa, atftp) and hostile ones send them, negotiation against
 * the server's limits, the exact bytes of OACK, ERROR and DATA headers,
 * what a client sends mid-transfer, and the sender's window driven
 * through whole simulated transfers: lockstep and RFC 7440 windows, lost
 * blocks and ACKs, duplicate ACKs, block numbers rolling over past
 * 65535, timeouts backing off and giving up.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "error.h"
#include "test_list.h"
#include "testutil.h"
#include "tftp.h"

/* --- requests -------------------------------------------------------- */

/* op, then each string up to a NULL with its NUL, into buf[0..cap); the
 * length. */
static size_t
mkpkt(uint8_t *buf, size_t cap, int op, ...)
{
	const char *s;
	size_t len = 2, n;
	va_list ap;

	buf[0] = (uint8_t)(op >> 8);
	buf[1] = (uint8_t)op;
	va_start(ap, op);
	while ((s = va_arg(ap, const char *)) != NULL) {
		n = strlen(s) + 1;
		CU_ASSERT_FATAL(len + n <= cap);
		memcpy(buf + len, s, n);
		len += n;
	}
	va_end(ap);
	return len;
}

/* tftp_parse_req on an exact-size heap copy, so ASan sees any read past
 * len. */
static int
parse(const uint8_t *p, size_t len, struct tftp_req *r, int *code, char *why,
        size_t whylen)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, p, len);
	rc = tftp_parse_req(copy, len, r, code, why, whylen);
	free(copy);
	return rc;
}

/* p must parse; r gets the result. */
static void
good(const uint8_t *p, size_t len, struct tftp_req *r)
{
	char why[256] = "";
	int code = -1, rc;

	rc = parse(p, len, r, &code, why, sizeof(why));
	if (rc != 0) {
		fprintf(stderr, "\n  refused: %s\n", why);
		CU_FAIL("a good request is refused");
	}
	CU_ASSERT_EQUAL(code, 0);
}

/* p must fail with BL_EFORMAT, ERROR code want_code, and a printable why
 * containing want. */
static void
bad(const uint8_t *p, size_t len, int want_code, const char *want)
{
	struct tftp_req r;
	char why[256] = "";
	int code = -1;

	CU_ASSERT_EQUAL(parse(p, len, &r, &code, why, sizeof(why)), BL_EFORMAT);
	CU_ASSERT_EQUAL(code, want_code);
	CU_ASSERT(tu_printable(why));
	if (strstr(why, want) == NULL) {
		fprintf(stderr, "\n  why: %s (wanted %s)\n", why, want);
		CU_FAIL("why does not name the problem");
	}
	/* Without a why buffer, the same answer. */
	code = -1;
	CU_ASSERT_EQUAL(parse(p, len, &r, &code, NULL, 0), BL_EFORMAT);
	CU_ASSERT_EQUAL(code, want_code);
}

static void
test_parse_clients(void)
{
	uint8_t b[600];
	struct tftp_req r;
	size_t n;

	/* A PXE ROM: tsize first, then blksize. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "pxelinux.0", "octet", "tsize", "0",
	        "blksize", "1456", NULL);
	good(b, n, &r);
	CU_ASSERT_EQUAL(r.op, TFTP_RRQ);
	CU_ASSERT_STRING_EQUAL(r.file, "pxelinux.0");
	CU_ASSERT_EQUAL(r.netascii, 0);
	CU_ASSERT(r.has_tsize && r.tsize == 0);
	CU_ASSERT(r.has_blksize && r.blksize == 1456);
	CU_ASSERT(!r.has_timeout && !r.has_windowsize);
	CU_ASSERT_EQUAL(r.nunknown, 0);
	/* UEFI. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "EFI/BOOT/BOOTX64.EFI", "octet",
	        "blksize", "1468", "tsize", "0", NULL);
	good(b, n, &r);
	CU_ASSERT_STRING_EQUAL(r.file, "EFI/BOOT/BOOTX64.EFI");
	CU_ASSERT(r.has_blksize && r.blksize == 1468);
	CU_ASSERT(r.has_tsize && r.tsize == 0);
	/* tftp-hpa's client with every option it knows. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "/srv/images/vmlinuz", "octet",
	        "tsize", "0", "timeout", "3", "blksize", "1428", NULL);
	good(b, n, &r);
	CU_ASSERT(r.has_timeout && r.timeout == 3);
	CU_ASSERT(r.has_blksize && r.blksize == 1428);
	CU_ASSERT(!r.has_windowsize);
	/* atftp with a window. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "initrd.img", "octet", "windowsize",
	        "16", NULL);
	good(b, n, &r);
	CU_ASSERT(r.has_windowsize && r.windowsize == 16);
	CU_ASSERT(!r.has_blksize && !r.has_tsize && !r.has_timeout);
	/* Plain RFC 1350, mode in any case. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "boot.cfg", "NetASCII", NULL);
	good(b, n, &r);
	CU_ASSERT_EQUAL(r.netascii, 1);
	CU_ASSERT(!r.has_blksize && !r.has_tsize && !r.has_timeout &&
	        !r.has_windowsize && r.nunknown == 0);
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "x", "OCTET", NULL);
	good(b, n, &r);
	CU_ASSERT_EQUAL(r.netascii, 0);
	/* A write request parses the same way (the server decides). */
	n = mkpkt(b, sizeof(b), TFTP_WRQ, "upload.bin", "octet", "tsize",
	        "12345", NULL);
	good(b, n, &r);
	CU_ASSERT_EQUAL(r.op, TFTP_WRQ);
	CU_ASSERT(r.has_tsize && r.tsize == 12345);
}

static void
test_parse_options(void)
{
	uint8_t b[600];
	struct tftp_req r;
	size_t n;

	/* Names in any case. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", "BLKSIZE", "1024",
	        "TSize", "0", "TimeOut", "5", "WindowSize", "8", NULL);
	good(b, n, &r);
	CU_ASSERT(r.has_blksize && r.blksize == 1024);
	CU_ASSERT(r.has_tsize && r.tsize == 0);
	CU_ASSERT(r.has_timeout && r.timeout == 5);
	CU_ASSERT(r.has_windowsize && r.windowsize == 8);
	/* The bounds themselves. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", "blksize", "8",
	        "timeout", "1", "windowsize", "1", NULL);
	good(b, n, &r);
	CU_ASSERT(r.has_blksize && r.blksize == 8);
	CU_ASSERT(r.has_timeout && r.timeout == 1);
	CU_ASSERT(r.has_windowsize && r.windowsize == 1);
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", "blksize", "65464",
	        "timeout", "255", "windowsize", "65535", "tsize",
	        "18446744073709551615", NULL);
	good(b, n, &r);
	CU_ASSERT(r.has_blksize && r.blksize == 65464);
	CU_ASSERT(r.has_timeout && r.timeout == 255);
	CU_ASSERT(r.has_windowsize && r.windowsize == 65535);
	CU_ASSERT(r.has_tsize && r.tsize == UINT64_MAX);
	/* Leading zeros are still decimal. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", "blksize",
	        "00000000000000000000000000000512", NULL);
	good(b, n, &r);
	CU_ASSERT(r.has_blksize && r.blksize == 512);
	/* Unknown options are counted and ignored, wherever they are. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", "multicast", "",
	        "blksize", "1400", "rollover", "0", "", "x", "blksizee", "9",
	        NULL);
	good(b, n, &r);
	CU_ASSERT_EQUAL(r.nunknown, 4);
	CU_ASSERT(r.has_blksize && r.blksize == 1400);
	/* Repeated options: the first counts, even when it is ignored. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", "blksize", "1024",
	        "BlkSize", "2048", "windowsize", "0", "windowsize", "4", NULL);
	good(b, n, &r);
	CU_ASSERT(r.has_blksize && r.blksize == 1024);
	CU_ASSERT(!r.has_windowsize);
	CU_ASSERT_EQUAL(r.nunknown, 0);
	/* A filename of exactly TFTP_FILE_MAX bytes, any bytes but NUL. */
	{
		char f[TFTP_FILE_MAX + 1];

		memset(f, 'a', TFTP_FILE_MAX);
		f[TFTP_FILE_MAX] = '\0';
		f[7] = '\x01';
		f[8] = (char)0xff;
		n = mkpkt(b, sizeof(b), TFTP_RRQ, f, "octet", NULL);
		good(b, n, &r);
		CU_ASSERT_STRING_EQUAL(r.file, f);
	}
}

/* Each value for the option name must leave it unset, never fail. */
static void
ignored(const char *name, const char *const *values)
{
	uint8_t b[600];
	struct tftp_req r;
	size_t n, i;

	for (i = 0; values[i] != NULL; i++) {
		n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", name, values[i],
		        NULL);
		good(b, n, &r);
		if (r.has_blksize || r.has_tsize || r.has_timeout ||
		        r.has_windowsize) {
			fprintf(stderr, "\n  %s '%s' taken\n", name, values[i]);
			CU_FAIL("a bad option value is taken");
		}
		CU_ASSERT_EQUAL(r.nunknown, 0);
	}
}

static void
test_parse_values(void)
{
	static const char *const blksize[] = {"0", "7", "65465", "-1", "+512",
	        " 512", "512 ", "1e3", "0x200", "", "512a", "5 12",
	        "4294967808", "18446744073709551616",
	        "99999999999999999999999999999999999999999999", NULL};
	static const char *const timeout[] = {
	        "0", "256", "-3", "1.5", "4294967297", NULL};
	static const char *const windowsize[] = {
	        "0", "65536", "-16", "4294967297", NULL};
	static const char *const tsize[] = {
	        "-1", "18446744073709551616", "1 ", "", "0x0", NULL};

	ignored("blksize", blksize);
	ignored("timeout", timeout);
	ignored("windowsize", windowsize);
	ignored("tsize", tsize);
}

static void
test_parse_bad(void)
{
	uint8_t b[1200] = {0};
	char f[TFTP_FILE_MAX + 2], mode[300];
	size_t n;

	/* Too short for an opcode; not a request. */
	bad(b, 0, TFTP_EBADOP, "request of 0 bytes");
	b[0] = 0;
	bad(b, 1, TFTP_EBADOP, "request of 1 bytes");
	n = mkpkt(b, sizeof(b), TFTP_DATA, "f", "octet", NULL);
	bad(b, n, TFTP_EBADOP, "opcode 3");
	n = mkpkt(b, sizeof(b), TFTP_ACK, "f", "octet", NULL);
	bad(b, n, TFTP_EBADOP, "opcode 4");
	n = mkpkt(b, sizeof(b), TFTP_OACK, "f", "octet", NULL);
	bad(b, n, TFTP_EBADOP, "opcode 6");
	n = mkpkt(b, sizeof(b), 0, "f", "octet", NULL);
	bad(b, n, TFTP_EBADOP, "opcode 0");
	n = mkpkt(b, sizeof(b), 0xffff, "f", "octet", NULL);
	bad(b, n, TFTP_EBADOP, "opcode 65535");
	/* No NUL at all, or cut anywhere. */
	memcpy(b, "\0\1pxelinux.0", 12);
	bad(b, 2, TFTP_EBADOP, "filename without");
	bad(b, 12, TFTP_EBADOP, "filename without");
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "pxelinux.0", "octet", NULL);
	bad(b, n - 1, TFTP_EBADOP, "mode without");
	bad(b, n - 6, TFTP_EBADOP, "mode without");
	n = mkpkt(
	        b, sizeof(b), TFTP_RRQ, "f", "octet", "blksize", "1468", NULL);
	bad(b, n - 1, TFTP_EBADOP, "'blksize': value without");
	bad(b, n - 5, TFTP_EBADOP, "'blksize' without a value");
	bad(b, n - 6, TFTP_EBADOP, "'blksize' without a terminating NUL");
	bad(b, n - 7, TFTP_EBADOP, "'blksiz' without a terminating NUL");
	/* A stray NUL after the mode is an option without a value. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", "", NULL);
	bad(b, n, TFTP_EBADOP, "'' without a value");
	/* Filenames. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "", "octet", NULL);
	bad(b, n, TFTP_EBADOP, "empty filename");
	memset(f, 'a', TFTP_FILE_MAX + 1);
	f[TFTP_FILE_MAX + 1] = '\0';
	n = mkpkt(b, sizeof(b), TFTP_RRQ, f, "octet", NULL);
	bad(b, n, TFTP_EUNDEF, "filename of 256 bytes");
	/* Modes. */
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "mail", NULL);
	bad(b, n, TFTP_EUNDEF, "mode mail");
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "MaIl", NULL);
	bad(b, n, TFTP_EUNDEF, "mode mail");
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "binary", NULL);
	bad(b, n, TFTP_EUNDEF, "mode 'binary'");
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "", NULL);
	bad(b, n, TFTP_EUNDEF, "mode ''");
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octets", NULL);
	bad(b, n, TFTP_EUNDEF, "mode 'octets'");
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octe", NULL);
	bad(b, n, TFTP_EUNDEF, "mode 'octe'");
	/* Hostile bytes are quoted printable, and only the first 64. */
	memset(mode, 'M', sizeof(mode) - 1);
	mode[sizeof(mode) - 1] = '\0';
	mode[0] = '\x1b';
	mode[1] = (char)0x80;
	n = mkpkt(b, sizeof(b), TFTP_RRQ, "f", mode, NULL);
	bad(b, n, TFTP_EUNDEF, "'??MMMM");
	{
		struct tftp_req r;
		char why[256];
		int code;

		CU_ASSERT_EQUAL(
		        parse(b, n, &r, &code, why, sizeof(why)), BL_EFORMAT);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "MMM...'"));
		CU_ASSERT(strlen(why) < 64 + 60);
		/* A short why buffer is cut, still terminated. */
		CU_ASSERT_EQUAL(parse(b, n, &r, &code, why, 8), BL_EFORMAT);
		CU_ASSERT_EQUAL(strlen(why), 7);
	}
}

/* --- negotiation ----------------------------------------------------- */

static const struct neg_case {
	const char *what;
	/* asked: 0 for absent */
	uint32_t blksize, windowsize, timeout;
	int tsize;
	struct tftp_limits l;
	uint64_t size;
	/* expected */
	uint32_t e_blksize, e_windowsize, e_timeout;
	int e_oack, e_ab, e_at, e_ato, e_aw;
} neg_cases[] = {
        {"no options: RFC 1350", 0, 0, 0, 0, {65464, 64, 0, 3}, 1000, 512, 1, 3,
                0, 0, 0, 0, 0},
        {"no options, default timeout", 0, 0, 0, 0, {0, 0, 0, 0}, 1000, 512, 1,
                1, 0, 0, 0, 0, 0},
        {"blksize as asked", 1468, 0, 0, 0, {65464, 1, 0, 1}, 10, 1468, 1, 1, 1,
                1, 0, 0, 0},
        {"blksize to the cap", 1468, 0, 0, 0, {1024, 1, 0, 1}, 10, 1024, 1, 1,
                1, 1, 0, 0, 0},
        {"cap 0: no cap", 9000, 0, 0, 0, {0, 1, 0, 1}, 10, 9000, 1, 1, 1, 1, 0,
                0, 0},
        {"cap above the RFC", 65464, 0, 0, 0, {100000, 1, 0, 1}, 10, 65464, 1,
                1, 1, 1, 0, 0, 0},
        {"mtu 1500", 65464, 0, 0, 0, {65464, 1, 1500, 1}, 10, 1468, 1, 1, 1, 1,
                0, 0, 0},
        {"mtu 9000, cap 0", 65464, 0, 0, 0, {0, 1, 9000, 1}, 10, 8968, 1, 1, 1,
                1, 0, 0, 0},
        {"mtu above the asked", 1024, 0, 0, 0, {0, 1, 1500, 1}, 10, 1024, 1, 1,
                1, 1, 0, 0, 0},
        {"mtu bogus: at least 8", 1468, 0, 0, 0, {0, 1, 20, 1}, 10, 8, 1, 1, 1,
                1, 0, 0, 0},
        {"mtu 39: 8", 1468, 0, 0, 0, {0, 1, 39, 1}, 10, 8, 1, 1, 1, 1, 0, 0, 0},
        {"cap below 8: 8", 1468, 0, 0, 0, {4, 1, 0, 1}, 10, 8, 1, 1, 1, 1, 0, 0,
                0},
        {"windowsize to the cap", 0, 16, 0, 0, {0, 8, 0, 1}, 10, 512, 8, 1, 1,
                0, 0, 0, 1},
        {"windowsize under the cap", 0, 16, 0, 0, {0, 64, 0, 1}, 10, 512, 16, 1,
                1, 0, 0, 0, 1},
        {"windowsize cap 0: 1", 0, 16, 0, 0, {0, 0, 0, 1}, 10, 512, 1, 1, 1, 0,
                0, 0, 1},
        {"windowsize cap too big", 0, 65535, 0, 0, {0, 1000000, 0, 1}, 10, 512,
                65535, 1, 1, 0, 0, 0, 1},
        {"timeout asked", 0, 0, 7, 0, {0, 1, 0, 2}, 10, 512, 1, 7, 1, 0, 0, 1,
                0},
        {"operator timeout above 255", 0, 0, 0, 0, {0, 1, 0, 1000}, 10, 512, 1,
                255, 0, 0, 0, 0, 0},
        {"tsize only", 0, 0, 0, 1, {0, 1, 0, 2}, 123456789, 512, 1, 2, 1, 0, 1,
                0, 0},
        {"everything, UEFI on 1500", 1468, 4, 2, 1, {65464, 64, 1500, 1}, 4096,
                1468, 4, 2, 1, 1, 1, 1, 1},
};

static void
test_negotiate(void)
{
	const struct neg_case *c;
	struct tftp_req r;
	struct tftp_neg n;
	size_t i;

	for (i = 0; i < sizeof(neg_cases) / sizeof(neg_cases[0]); i++) {
		c = &neg_cases[i];
		memset(&r, 0, sizeof(r));
		r.op = TFTP_RRQ;
		r.has_blksize = c->blksize != 0;
		r.blksize = c->blksize;
		r.has_windowsize = c->windowsize != 0;
		r.windowsize = c->windowsize;
		r.has_timeout = c->timeout != 0;
		r.timeout = c->timeout;
		r.has_tsize = c->tsize;
		r.nunknown = 2; /* never matters */
		memset(&n, 0xa5, sizeof(n));
		tftp_negotiate(&r, &c->l, c->size, &n);
		if (n.blksize != c->e_blksize ||
		        n.windowsize != c->e_windowsize ||
		        n.timeout != c->e_timeout || n.oack != c->e_oack ||
		        n.ack_blksize != c->e_ab || n.ack_tsize != c->e_at ||
		        n.ack_timeout != c->e_ato ||
		        n.ack_windowsize != c->e_aw || n.tsize != c->size) {
			fprintf(stderr,
			        "\n  %s: blksize %u window %u timeout %u oack "
			        "%d "
			        "acks %d%d%d%d\n",
			        c->what, n.blksize, n.windowsize, n.timeout,
			        n.oack, n.ack_blksize, n.ack_tsize,
			        n.ack_timeout, n.ack_windowsize);
			CU_FAIL("negotiation");
		}
	}
}

/* From the bytes a client sends to the bytes of the OACK. */
static void
test_negotiate_oack(void)
{
	static const uint8_t want[] = "\0\6"
	                              "blksize\0"
	                              "1468\0"
	                              "tsize\0"
	                              "1048576\0"
	                              "timeout\0"
	                              "2\0"
	                              "windowsize\0"
	                              "16";
	struct tftp_limits l = {0, 64, 1500, 1};
	uint8_t b[600], out[TFTP_PKT_MAX];
	struct tftp_req r;
	struct tftp_neg n;
	size_t len;

	/* Options in another order, names in capitals; the OACK's order
	 * is fixed. */
	len = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", "WINDOWSIZE", "16",
	        "timeout", "2", "tsize", "0", "blksize", "65464", NULL);
	good(b, len, &r);
	tftp_negotiate(&r, &l, 1048576, &n);
	CU_ASSERT_EQUAL(n.oack, 1);
	len = tftp_build_oack(&n, out, sizeof(out));
	CU_ASSERT_EQUAL(len, sizeof(want));
	CU_ASSERT(memcmp(out, want, sizeof(want)) == 0);
	/* Exactly big enough, one byte short. */
	CU_ASSERT_EQUAL(tftp_build_oack(&n, out, sizeof(want)), sizeof(want));
	CU_ASSERT_EQUAL(tftp_build_oack(&n, out, sizeof(want) - 1), 0);
	CU_ASSERT_EQUAL(tftp_build_oack(&n, out, 1), 0);
	/* tsize alone, size 0. */
	len = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", "tsize", "0", NULL);
	good(b, len, &r);
	tftp_negotiate(&r, &l, 0, &n);
	CU_ASSERT_EQUAL(n.oack, 1);
	len = tftp_build_oack(&n, out, sizeof(out));
	CU_ASSERT_EQUAL(len, 2 + 6 + 2);
	CU_ASSERT(memcmp(out,
	                  "\0\6tsize\0"
	                  "0",
	                  10) == 0);
	/* Only unknown or unacceptable options: no OACK at all. */
	len = mkpkt(b, sizeof(b), TFTP_RRQ, "f", "octet", "multicast", "",
	        "blksize", "65465", "utimeout", "5000", NULL);
	good(b, len, &r);
	CU_ASSERT_EQUAL(r.nunknown, 2);
	tftp_negotiate(&r, &l, 5000, &n);
	CU_ASSERT_EQUAL(n.oack, 0);
	CU_ASSERT_EQUAL(n.blksize, 512);
	CU_ASSERT_EQUAL(n.windowsize, 1);
	CU_ASSERT_EQUAL(tftp_build_oack(&n, out, sizeof(out)), 2);
}

/* --- ERROR, DATA, and the client's packets ---------------------------- */

static void
test_build_error(void)
{
	static const uint8_t nf[] = "\0\5\0\1"
	                            "File not found";
	char msg[400];
	uint8_t out[TFTP_PKT_MAX];
	size_t len, i;

	len = tftp_build_error(
	        TFTP_ENOTFOUND, "File not found", out, sizeof(out));
	CU_ASSERT_EQUAL(len, sizeof(nf));
	CU_ASSERT(memcmp(out, nf, sizeof(nf)) == 0);
	CU_ASSERT_EQUAL(tftp_build_error(TFTP_ENOTFOUND, "File not found", out,
	                        sizeof(nf)),
	        sizeof(nf));
	CU_ASSERT_EQUAL(tftp_build_error(TFTP_ENOTFOUND, "File not found", out,
	                        sizeof(nf) - 1),
	        0);
	/* A 16-bit code, big-endian; no message. */
	len = tftp_build_error(0x1234, NULL, out, sizeof(out));
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT(memcmp(out, "\0\5\x12\x34", 5) == 0);
	CU_ASSERT_EQUAL(tftp_build_error(0, "", out, 4), 0);
	/* Non-printables become '?'. */
	len = tftp_build_error(
	        TFTP_EBADOP, "bad\n\x1b[31m\xc3\xa9", out, sizeof(out));
	CU_ASSERT_EQUAL(len, 4 + 11 + 1);
	CU_ASSERT(memcmp(out + 4, "bad??[31m??", 11) == 0);
	/* Cut to TFTP_MSG_MAX. */
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	len = tftp_build_error(TFTP_EUNDEF, msg, out, sizeof(out));
	CU_ASSERT_EQUAL(len, 4 + TFTP_MSG_MAX + 1);
	CU_ASSERT_EQUAL(out[4 + TFTP_MSG_MAX], 0);
	for (i = 0; i < TFTP_MSG_MAX; i++)
		if (out[4 + i] != 'x')
			break;
	CU_ASSERT_EQUAL(i, TFTP_MSG_MAX);
	CU_ASSERT_EQUAL(
	        tftp_build_error(TFTP_EUNDEF, msg, out, 4 + TFTP_MSG_MAX + 1),
	        4 + TFTP_MSG_MAX + 1);
}

static void
test_data_hdr(void)
{
	static const struct {
		uint64_t block;
		uint8_t want[4];
	} c[] = {
	        {1, {0, 3, 0, 1}},
	        {255, {0, 3, 0, 0xff}},
	        {256, {0, 3, 1, 0}},
	        {65535, {0, 3, 0xff, 0xff}},
	        {65536, {0, 3, 0, 0}},
	        {65537, {0, 3, 0, 1}},
	        {3 * 65536 + 7, {0, 3, 0, 7}},
	        {UINT64_MAX, {0, 3, 0xff, 0xff}},
	};
	uint8_t h[4];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		tftp_data_hdr(c[i].block, h);
		CU_ASSERT(memcmp(h, c[i].want, 4) == 0);
	}
}

/* tftp_parse_client on an exact-size heap copy. */
static int
client(const void *p, size_t len, uint16_t *block, uint16_t *code, char *msg,
        size_t msglen)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, p, len);
	rc = tftp_parse_client(copy, len, block, code, msg, msglen);
	free(copy);
	return rc;
}

static void
test_parse_client(void)
{
	uint16_t block, code;
	char msg[64];

	CU_ASSERT_EQUAL(
	        client("\0\4\x12\x34", 4, &block, &code, msg, sizeof(msg)),
	        TFTP_ACK);
	CU_ASSERT_EQUAL(block, 0x1234);
	CU_ASSERT_EQUAL(
	        client("\0\4\xff\xff", 4, &block, &code, NULL, 0), TFTP_ACK);
	CU_ASSERT_EQUAL(block, 0xffff);
	/* Trailing bytes on an ACK are ignored. */
	CU_ASSERT_EQUAL(
	        client("\0\4\0\7junk", 8, &block, &code, NULL, 0), TFTP_ACK);
	CU_ASSERT_EQUAL(block, 7);
	/* ERROR: the message, printable, cut to the buffer. */
	CU_ASSERT_EQUAL(client("\0\5\0\10"
	                       "Option negotiation failed",
	                        30, &block, &code, msg, sizeof(msg)),
	        TFTP_ERROR);
	CU_ASSERT_EQUAL(code, TFTP_EOPTNEG);
	CU_ASSERT_STRING_EQUAL(msg, "Option negotiation failed");
	CU_ASSERT_EQUAL(client("\0\5\0\3disk\tfull\0ignored", 22, &block, &code,
	                        msg, 8),
	        TFTP_ERROR);
	CU_ASSERT_EQUAL(code, TFTP_ENOSPACE);
	CU_ASSERT_STRING_EQUAL(msg, "disk?fu");
	/* Without its NUL, or empty. */
	CU_ASSERT_EQUAL(
	        client("\0\5\0\0abc", 7, &block, &code, msg, sizeof(msg)),
	        TFTP_ERROR);
	CU_ASSERT_STRING_EQUAL(msg, "abc");
	CU_ASSERT_EQUAL(client("\0\5\1\0", 4, &block, &code, msg, sizeof(msg)),
	        TFTP_ERROR);
	CU_ASSERT_EQUAL(code, 256);
	CU_ASSERT_STRING_EQUAL(msg, "");
	CU_ASSERT_EQUAL(
	        client("\0\5\0\1x", 5, &block, &code, NULL, 0), TFTP_ERROR);
	/* Anything else. */
	CU_ASSERT_EQUAL(client("\0\4\0", 3, &block, &code, msg, sizeof(msg)),
	        BL_EFORMAT);
	CU_ASSERT_EQUAL(
	        client("", 0, &block, &code, msg, sizeof(msg)), BL_EFORMAT);
	CU_ASSERT_EQUAL(
	        client("\0\3\0\1data", 8, &block, &code, msg, sizeof(msg)),
	        BL_EFORMAT);
	CU_ASSERT_EQUAL(
	        client("\0\1f\0octet\0", 10, &block, &code, msg, sizeof(msg)),
	        BL_EFORMAT);
	CU_ASSERT_EQUAL(client("\0\6tsize\0"
	                       "0\0",
	                        10, &block, &code, msg, sizeof(msg)),
	        BL_EFORMAT);
	CU_ASSERT_EQUAL(
	        client("\x01\x04\0\1", 4, &block, &code, msg, sizeof(msg)),
	        BL_EFORMAT);
}

/* --- the sender, step by step ---------------------------------------- */

/* A sender for size bytes in blocks of blksize, window w, timeout s. */
static void
tx(struct tftp_tx *t, uint64_t size, uint32_t blksize, uint32_t w, uint32_t s,
        int oack)
{
	struct tftp_neg n;

	memset(&n, 0, sizeof(n));
	n.blksize = blksize;
	n.windowsize = w;
	n.timeout = s;
	n.oack = oack;
	tftp_tx_init(t, &n, size);
}

/* Send every block the window allows; how many. */
static uint64_t
send_all(struct tftp_tx *t)
{
	uint64_t b, k = 0;

	while ((b = tftp_tx_next(t)) != 0) {
		CU_ASSERT_EQUAL(b, t->sent + 1);
		tftp_tx_sent(t, b);
		k++;
	}
	return k;
}

static void
test_tx_init(void)
{
	static const struct {
		uint64_t size;
		uint32_t blksize;
		uint64_t last;
	} c[] = {
	        {0, 512, 1},
	        {1, 512, 1},
	        {511, 512, 1},
	        {512, 512, 2},
	        {513, 512, 2},
	        {1024, 512, 3},
	        {3 * 1468, 1468, 4},
	        {3 * 1468 - 1, 1468, 3},
	        {UINT64_MAX, 8, UINT64_MAX / 8 + 1},
	};
	struct tftp_tx t;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		tx(&t, c[i].size, c[i].blksize, 1, 1, 0);
		CU_ASSERT_EQUAL(t.last, c[i].last);
		CU_ASSERT_EQUAL(t.acked, 0);
		CU_ASSERT_EQUAL(t.sent, 0);
		CU_ASSERT_EQUAL(t.done, 0);
	}
	tx(&t, 100, 512, 16, 3, 1);
	CU_ASSERT_EQUAL(t.window, 16);
	CU_ASSERT_EQUAL(t.wmax, 16);
	CU_ASSERT_EQUAL(t.base_ms, 3000);
	CU_ASSERT_EQUAL(t.timeout_ms, 3000);
	CU_ASSERT_EQUAL(t.oack, 1);
	/* A hand-made negotiation cannot break the bounds. */
	tx(&t, 100, 0, 0, 0, 0);
	CU_ASSERT_EQUAL(t.last, 100 / TFTP_BLKSIZE_MIN + 1);
	CU_ASSERT_EQUAL(t.window, 1);
	CU_ASSERT_EQUAL(t.base_ms, 1000);
}

static void
test_tx_dup_ack(void)
{
	struct tftp_tx t;

	/* Lockstep: a duplicate ACK sends nothing (no Sorcerer's
	 * Apprentice); only the timer does. */
	tx(&t, 3 * 512, 512, 1, 1, 0);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 1);
	tftp_tx_sent(&t, 1);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 1), 1);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 2);
	tftp_tx_sent(&t, 2);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 1), 0);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 0), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 3), 0); /* never sent */
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 0xffff), 0);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 0);
	CU_ASSERT_EQUAL(t.acked, 1);
	CU_ASSERT_EQUAL(tftp_tx_timeout(&t, 5), 0);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 2);
	/* A window: the same. */
	tx(&t, 20 * 512, 512, 4, 1, 0);
	CU_ASSERT_EQUAL(send_all(&t), 4);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 4), 1);
	CU_ASSERT_EQUAL(send_all(&t), 4);
	CU_ASSERT_EQUAL(t.sent, 8);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 4), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 2), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 9), 0);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 0);
	CU_ASSERT_EQUAL(t.acked, 4);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 8), 1);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 9);
	/* tftp_tx_sent for a block not offered changes nothing. */
	tftp_tx_sent(&t, 11);
	tftp_tx_sent(&t, 0);
	CU_ASSERT_EQUAL(t.sent, 8);
}

static void
test_tx_lost_block(void)
{
	struct tftp_tx t;

	/* 1..8 go out, 5 is lost: the client ACKs 4, the last it took in
	 * order, and the next window starts at 5. */
	tx(&t, 40 * 512, 512, 8, 1, 0);
	CU_ASSERT_EQUAL(send_all(&t), 8);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 4), 1);
	CU_ASSERT_EQUAL(t.acked, 4);
	CU_ASSERT_EQUAL(t.window, 8);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 5);
	CU_ASSERT_EQUAL(send_all(&t), 8);
	CU_ASSERT_EQUAL(t.sent, 12);
	/* The client's further ACKs of 4 (one per block out of order) do
	 * nothing. */
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 4), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 4), 0);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 12), 1);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 13);
}

static void
test_tx_lost_ack(void)
{
	struct tftp_tx t;

	/* The client took 1..16, its ACK was lost; after the timeout the
	 * window goes out again, whole (the client ACKs every 16), and its
	 * ACK of 16 (answering the resent 1) counts. */
	tx(&t, 40 * 512, 512, 16, 1, 0);
	CU_ASSERT_EQUAL(send_all(&t), 16);
	CU_ASSERT_EQUAL(tftp_tx_timeout(&t, 5), 0);
	CU_ASSERT_EQUAL(t.window, 16);
	CU_ASSERT_EQUAL(t.sent, 0);
	CU_ASSERT_EQUAL(tftp_tx_room(&t), 16);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 1);
	tftp_tx_sent(&t, 1);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 17), 0); /* never sent */
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 16), 1);
	CU_ASSERT_EQUAL(t.acked, 16);
	CU_ASSERT_EQUAL(t.sent, 16);
	CU_ASSERT_EQUAL(t.tries, 0);
	CU_ASSERT_EQUAL(t.window, 16);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 17);
	/* The client took 1..10 of the resent window, its ACK of 10 (the
	 * first duplicate's answer) comes while 1..16 are out: it is short
	 * of sent, the window starts after 10. */
	tx(&t, 40 * 512, 512, 16, 1, 0);
	CU_ASSERT_EQUAL(send_all(&t), 16);
	CU_ASSERT_EQUAL(tftp_tx_timeout(&t, 5), 0);
	CU_ASSERT_EQUAL(send_all(&t), 16);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 10), 1);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 11);
	CU_ASSERT_EQUAL(tftp_tx_room(&t), 16);
}

static void
test_tx_oack(void)
{
	struct tftp_tx t;
	int i;

	tx(&t, 1000, 512, 4, 2, 1);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 1), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 0xffff), 0);
	/* A lost OACK: backoff, but the window is left alone. */
	CU_ASSERT_EQUAL(tftp_tx_timeout(&t, 3), 0);
	CU_ASSERT_EQUAL(t.timeout_ms, 4000);
	CU_ASSERT_EQUAL(t.window, 4);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 0), 1);
	CU_ASSERT_EQUAL(t.oack, 0);
	CU_ASSERT_EQUAL(t.tries, 0);
	CU_ASSERT_EQUAL(t.timeout_ms, 2000);
	CU_ASSERT_EQUAL(send_all(&t), 2);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 0), 0); /* a late duplicate */
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 2), 1);
	CU_ASSERT_EQUAL(t.done, 1);
	/* Once done, nothing moves. */
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 2), 0);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 3), 0);
	CU_ASSERT_EQUAL(tftp_tx_timeout(&t, 0), 0);
	CU_ASSERT_EQUAL(t.acked, 2);
	/* A client that never answers the OACK. */
	tx(&t, 1000, 512, 4, 1, 1);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(tftp_tx_timeout(&t, 3), 0);
	CU_ASSERT_EQUAL(tftp_tx_timeout(&t, 3), -1);
}

static void
test_tx_backoff(void)
{
	static const uint32_t ms[] = {4000, 8000, 16000, 16000, 16000};
	struct tftp_tx t;
	int i;

	tx(&t, 1000 * 512, 512, 16, 2, 0);
	for (i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(send_all(&t), 16);
		CU_ASSERT_EQUAL(tftp_tx_timeout(&t, 5), 0);
		CU_ASSERT_EQUAL(t.timeout_ms, ms[i]);
		/* Whole windows only: the client ACKs every 16. */
		CU_ASSERT_EQUAL(t.window, 16);
		CU_ASSERT_EQUAL(t.tries, i + 1);
		CU_ASSERT_EQUAL(t.sent, 0);
		CU_ASSERT_EQUAL(tftp_tx_next(&t), 1); /* from acked + 1 */
	}
	/* Progress resets the timer and the count. */
	CU_ASSERT_EQUAL(send_all(&t), 16);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 16), 1);
	CU_ASSERT_EQUAL(t.tries, 0);
	CU_ASSERT_EQUAL(t.timeout_ms, 2000);
	CU_ASSERT_EQUAL(send_all(&t), 16);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 21), 1); /* 22 lost: from there */
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 22);
	/* Giving up: the sixth silence in a row with max_tries 5. */
	for (i = 0; i < 5; i++) {
		send_all(&t);
		CU_ASSERT_EQUAL(tftp_tx_timeout(&t, 5), 0);
	}
	CU_ASSERT_EQUAL(t.window, 16);
	CU_ASSERT_EQUAL(t.timeout_ms, 16000);
	CU_ASSERT_EQUAL(tftp_tx_timeout(&t, 5), -1);
	CU_ASSERT_EQUAL(t.acked, 21);
}

/*
 * Real clients answer while the next window is going out.  atftp (RFC
 * 7440) ACKs a window's last block, and on a block out of order ACKs the
 * last it took once, then ignores blocks until the one it wants comes.
 * Its ACK of a duplicate is short of sent: one rewind per flight, never
 * a storm.  A client that ACKs every block costs at most one resent
 * flight per rewind, and the window still slides.
 */
static void
test_tx_interleaved(void)
{
	struct tftp_tx t;
	uint64_t k, n;

	/* Loss in the resent flight: 1..16 out, 5 lost (ACK 4), 5..20
	 * resent, 12 lost there (ACK 11, seven blocks on): rewind again. */
	tx(&t, 100 * 512, 512, 16, 1, 0);
	CU_ASSERT_EQUAL(send_all(&t), 16);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 4), 1);
	CU_ASSERT_EQUAL(send_all(&t), 16);
	CU_ASSERT_EQUAL(t.sent, 20);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 11), 1);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 12);
	CU_ASSERT_EQUAL(send_all(&t), 16);
	CU_ASSERT_EQUAL(tftp_tx_ack(&t, 27), 1);
	CU_ASSERT_EQUAL(tftp_tx_next(&t), 28);

	/* Every block ACKed, each ACK answered at once. */
	tx(&t, 1000 * 512, 512, 16, 1, 0);
	n = send_all(&t);
	for (k = 1; k <= 16; k++) {
		CU_ASSERT_EQUAL(tftp_tx_ack(&t, (uint16_t)k), 1);
		n += send_all(&t);
	}
	/* 1..16, then 2..17 after the first (a rewind), then one new block
	 * per ACK: 15 sent twice. */
	CU_ASSERT_EQUAL(t.sent, 32);
	CU_ASSERT_EQUAL(n, 32 + 15);
	CU_ASSERT_EQUAL(t.acked, 16);
}

/* --- the sender, whole transfers ------------------------------------- */

/* One simulated transfer over a lossy network. */
struct sim {
	uint64_t size;
	uint32_t blksize, window; /* negotiated */
	uint32_t cwin;            /* the client's: it ACKs every cwin */
	int oack;
	unsigned data_loss, ack_loss; /* per mille */
	uint64_t drop;                /* lose the first sending of it */
	int max_tries;
	/* results */
	uint64_t ndata, nacks, ntimeouts;
	int gaveup, broken;
};

/*
 * The client of RFC 7440: it takes blocks only in order, and ACKs the
 * last it took after cwin of them, at the short last block, for each
 * block out of order or seen before, and when its own timer finds
 * blocks it has not ACKed.  It sees only the wire's 16-bit numbers.
 */
struct client {
	uint32_t blksize, cwin;
	uint16_t expect; /* the next block, as the wire numbers it */
	uint32_t run;    /* blocks taken since its last ACK */
	uint64_t got, bytes;
	int done;
};

/* DATA with header h and len bytes of data reaches c; 1 with *ack if it
 * answers. */
static int
client_data(struct client *c, const uint8_t h[4], size_t len, uint16_t *ack)
{
	uint16_t w = (uint16_t)(h[2] << 8 | h[3]);

	if (h[0] != 0 || h[1] != TFTP_DATA)
		return 0;
	if (c->done || w != c->expect) {
		*ack = (uint16_t)(c->expect - 1);
		c->run = 0;
		return 1;
	}
	c->expect++;
	c->got++;
	c->bytes += len;
	if (len < c->blksize)
		c->done = 1;
	if (c->done || ++c->run == c->cwin) {
		c->run = 0;
		*ack = w;
		return 1;
	}
	return 0;
}

static uint64_t rng;

/* Lost, per mille? */
static int
lost(unsigned per_mille)
{
	uint8_t r[2];

	if (per_mille == 0)
		return 0;
	tu_fill(r, 2, rng++);
	return (unsigned)(r[0] << 8 | r[1]) % 1000 < per_mille;
}

static size_t
blklen(const struct sim *s, const struct tftp_tx *t, uint64_t b)
{
	return b < t->last ? s->blksize
	                   : (size_t)(s->size - (t->last - 1) * s->blksize);
}

/* The sender's invariants, as the header states them. */
static int
sane(const struct tftp_tx *t)
{
	return t->acked <= t->sent && t->sent <= t->maxsent &&
	        t->maxsent <= t->last && t->maxsent - t->acked <= t->wmax &&
	        t->window >= 1 && t->window <= t->wmax &&
	        t->done == (t->acked == t->last);
}

static void
simulate(struct sim *s)
{
	struct client c;
	struct tftp_tx t;
	uint16_t *q;
	uint64_t b, prev, steps = 0;
	uint8_t h[4];
	size_t nq, i;
	int oack_out = 0, dropped = 0;

	tx(&t, s->size, s->blksize, s->window, 1, s->oack);
	memset(&c, 0, sizeof(c));
	c.blksize = s->blksize;
	c.cwin = s->cwin;
	c.expect = 1;
	q = malloc((s->window + 2) * sizeof(*q));
	while (!t.done && !s->broken) {
		if (++steps > 50000000 || !sane(&t)) {
			s->broken = 1;
			break;
		}
		nq = 0;
		if (t.oack && !oack_out) {
			oack_out = 1; /* the client ACKs an OACK with 0 */
			if (!lost(s->data_loss))
				q[nq++] = 0;
		}
		while ((b = tftp_tx_next(&t)) != 0) {
			if (b != t.sent + 1 || b > t.last ||
			        b > t.acked + t.window)
				s->broken = 1;
			tftp_tx_sent(&t, b);
			s->ndata++;
			if (b == s->drop && !dropped) {
				dropped = 1;
				continue;
			}
			if (lost(s->data_loss))
				continue;
			tftp_data_hdr(b, h);
			if (client_data(&c, h, blklen(s, &t, b), &q[nq]))
				nq++;
		}
		if (nq == 0 && c.run > 0) {
			q[nq++] = (uint16_t)(c.expect - 1); /* its timer */
			c.run = 0;
		} else if (nq == 0) {
			s->ntimeouts++;
			oack_out = 0;
			if (tftp_tx_timeout(&t, s->max_tries) != 0) {
				s->gaveup = 1;
				break;
			}
			continue;
		}
		for (i = 0; i < nq; i++) {
			s->nacks++;
			if (lost(s->ack_loss))
				continue;
			prev = t.acked;
			(void)tftp_tx_ack(&t, q[i]);
			if (t.acked < prev || !sane(&t))
				s->broken = 1;
		}
	}
	free(q);
	CU_ASSERT_EQUAL(s->broken, 0);
	if (s->gaveup)
		return;
	/* The client has the file: every block once, in order. */
	CU_ASSERT_EQUAL(c.done, 1);
	CU_ASSERT_EQUAL(c.got, t.last);
	CU_ASSERT_EQUAL(c.bytes, s->size);
	CU_ASSERT_EQUAL(t.acked, t.last);
}

/* A clean run: every block once, no timeout. */
static void
clean(uint64_t size, uint32_t blksize, uint32_t window, int oack)
{
	struct sim s;
	uint64_t last = size / blksize + 1;

	memset(&s, 0, sizeof(s));
	s.size = size;
	s.blksize = blksize;
	s.window = s.cwin = window;
	s.oack = oack;
	s.max_tries = 5;
	simulate(&s);
	CU_ASSERT_EQUAL(s.gaveup, 0);
	CU_ASSERT_EQUAL(s.ntimeouts, 0);
	CU_ASSERT_EQUAL(s.ndata, last);
	/* One ACK per window, and the last (maybe short) one. */
	CU_ASSERT_EQUAL(s.nacks, (last + window - 1) / window + (oack != 0));
}

static void
test_tx_clean(void)
{
	static const uint64_t sizes[] = {0, 1, 511, 512, 513, 1024, 5 * 512,
	        5 * 512 + 1, 16 * 512, 16 * 512 - 1, 100 * 512, 12345};
	static const uint32_t windows[] = {1, 2, 16, 64};
	size_t i, k;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (k = 0; k < sizeof(windows) / sizeof(windows[0]); k++) {
			clean(sizes[i], 512, windows[k], 0);
			clean(sizes[i], 512, windows[k], 1);
		}
	clean(3 * 1468, 1468, 4, 1);
	clean(1 << 20, 1468, 16, 1);
	clean(100, 8, 1, 1);
}

static void
test_tx_lost_in_window(void)
{
	struct sim s;

	/* Block 5 of 1..8 lost: resent from 5 at once, on the client's
	 * ACK of 4; 5..8 are the only blocks sent twice. */
	memset(&s, 0, sizeof(s));
	s.size = 20 * 512;
	s.blksize = 512;
	s.window = s.cwin = 8;
	s.drop = 5;
	s.max_tries = 5;
	simulate(&s);
	CU_ASSERT_EQUAL(s.ntimeouts, 0);
	CU_ASSERT_EQUAL(s.ndata, 21 + 4);
	/* The first of a window lost: the client's ACKs all repeat the
	 * last window's, so only the timer recovers. */
	memset(&s, 0, sizeof(s));
	s.size = 20 * 512;
	s.blksize = 512;
	s.window = s.cwin = 8;
	s.drop = 9;
	s.max_tries = 5;
	simulate(&s);
	CU_ASSERT_EQUAL(s.ntimeouts, 1);
	CU_ASSERT_EQUAL(s.gaveup, 0);
}

static void
test_tx_rollover(void)
{
	struct sim s;
	uint64_t last = 70000 + 1;

	/* 70001 blocks: the wire's numbers go 65535, 0, 1, ... */
	clean(70000 * 512 + 100, 512, 64, 1);
	clean(70000 * 512, 512, 64, 0);
	/* Lockstep across the rollover too (131073 blocks of 8 bytes). */
	clean(131072 * 8, 8, 1, 0);
	/* Block 65536, wire 0, lost: the last of its window, so the
	 * client's timer ACKs 65535 and the window goes on from 65536. */
	memset(&s, 0, sizeof(s));
	s.size = 70000 * 512 + 100;
	s.blksize = 512;
	s.window = s.cwin = 64;
	s.drop = 65536;
	s.max_tries = 5;
	simulate(&s);
	CU_ASSERT_EQUAL(s.ntimeouts, 0);
	CU_ASSERT_EQUAL(s.ndata, last + 1);
	/* Block 65537, wire 1, lost: the first of its window. */
	s.ndata = s.nacks = s.ntimeouts = 0;
	s.drop = 65537;
	simulate(&s);
	CU_ASSERT_EQUAL(s.ntimeouts, 1);
	CU_ASSERT_EQUAL(s.gaveup, 0);
	/* Block 65540 lost, mid-window past the rollover: resent on the
	 * client's ACK of wire 3. */
	s.ndata = s.nacks = s.ntimeouts = 0;
	s.drop = 65540;
	simulate(&s);
	CU_ASSERT_EQUAL(s.ntimeouts, 0);
	CU_ASSERT_EQUAL(s.ndata, last + 64 - 3);
}

static void
test_tx_lossy(void)
{
	static const uint32_t windows[] = {1, 4, 16, 64};
	struct sim s;
	size_t k;
	int oack;

	rng = 42;
	for (k = 0; k < sizeof(windows) / sizeof(windows[0]); k++)
		for (oack = 0; oack < 2; oack++) {
			memset(&s, 0, sizeof(s));
			s.size = 700 * 512 + 17;
			s.blksize = 512;
			s.window = s.cwin = windows[k];
			s.oack = oack;
			s.data_loss = 100;
			s.ack_loss = 100;
			s.max_tries = 50;
			simulate(&s);
			CU_ASSERT_EQUAL(s.gaveup, 0);
			CU_ASSERT(s.ntimeouts > 0);
		}
	/* Past the rollover, with a little loss. */
	memset(&s, 0, sizeof(s));
	s.size = 68000 * 512;
	s.blksize = 512;
	s.window = s.cwin = 64;
	s.oack = 1;
	s.data_loss = 3;
	s.ack_loss = 20;
	s.max_tries = 50;
	simulate(&s);
	CU_ASSERT_EQUAL(s.gaveup, 0);
	/* A dead network: the sender gives up. */
	memset(&s, 0, sizeof(s));
	s.size = 10 * 512;
	s.blksize = 512;
	s.window = s.cwin = 4;
	s.data_loss = 1000;
	s.max_tries = 5;
	simulate(&s);
	CU_ASSERT_EQUAL(s.gaveup, 1);
	CU_ASSERT_EQUAL(s.ntimeouts, 6);
}

int
test_tftp_register(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
	        {"parse: real clients' requests", test_parse_clients},
	        {"parse: option names, bounds, repeats", test_parse_options},
	        {"parse: bad option values are ignored", test_parse_values},
	        {"parse: malformed and refused requests", test_parse_bad},
	        {"negotiate: limits table", test_negotiate},
	        {"negotiate: request to OACK bytes", test_negotiate_oack},
	        {"build: ERROR bytes", test_build_error},
	        {"build: DATA header rolls over", test_data_hdr},
	        {"parse: ACK and ERROR from a client", test_parse_client},
	        {"tx: init and last block", test_tx_init},
	        {"tx: duplicate ACKs resend nothing", test_tx_dup_ack},
	        {"tx: lost block resent from ACK + 1", test_tx_lost_block},
	        {"tx: lost ACK, the window resent whole", test_tx_lost_ack},
	        {"tx: OACK acked by ACK 0", test_tx_oack},
	        {"tx: timeout backoff and giving up", test_tx_backoff},
	        {"tx: ACKs while windows go out", test_tx_interleaved},
	        {"tx: clean transfers, sizes x windows", test_tx_clean},
	        {"tx: a block lost in a window", test_tx_lost_in_window},
	        {"tx: 70000 blocks roll over", test_tx_rollover},
	        {"tx: lossy network", test_tx_lossy},
	};
	CU_pSuite s = CU_add_suite("tftp", NULL, NULL);
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}

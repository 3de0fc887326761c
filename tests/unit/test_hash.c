/*
 * test_hash.c - the "hash" suite: SHA-256 and the hex helpers.
 *
 * Known answers from FIPS 180-2 (appendix B), streaming against one-shot
 * over random split points, and hex parsing of good and bad input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "error.h"
#include "hash.h"
#include "test_list.h"

static const struct {
	const char *msg;
	size_t repeat; /* msg is hashed this many times over */
	const char *hex;
} kat[] = {
        {"", 1,
                "e3b0c44298fc1c149afbf4c8996fb924"
                "27ae41e4649b934ca495991b7852b855"},
        {"abc", 1,
                "ba7816bf8f01cfea414140de5dae2223"
                "b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
                "248d6a61d20638b8e5c026930c3e6039"
                "a33ce45964ff2167f6ecedd419db06c1"},
        {"a", 1000000,
                "cdc76e5c9914fb9281a1c7e284d73e67"
                "f1809a48a497200e046d39ccc7112cd0"},
};

/* xorshift64* (Vigna): split points and test data. */
static uint64_t
xs64(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(0x2545f4914f6cdd1d);
}

/* msg repeated rep times, in a new buffer; *len set. */
static uint8_t *
expand(const char *msg, size_t rep, size_t *len)
{
	size_t ml = strlen(msg), i;
	uint8_t *p;

	*len = ml * rep;
	if ((p = malloc(*len ? *len : 1)) == NULL)
		return NULL;
	for (i = 0; i < rep; i++)
		memcpy(p + i * ml, msg, ml);
	return p;
}

static void
test_known_answers(void)
{
	uint8_t out[HASH_LEN], *p;
	char hex[HASH_HEXLEN + 1];
	struct hash_ctx *h;
	size_t i, len, off, step;

	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		if ((p = expand(kat[i].msg, kat[i].repeat, &len)) == NULL) {
			CU_FAIL("out of memory");
			return;
		}
		memset(out, 0, sizeof(out));
		CU_ASSERT_EQUAL(hash_sha256(p, len, out), 0);
		hash_hex(out, HASH_LEN, hex);
		CU_ASSERT_STRING_EQUAL(hex, kat[i].hex);

		/* The same through the streaming interface, 1000 at a time. */
		if ((h = hash_new()) == NULL) {
			CU_FAIL("hash_new");
			free(p);
			return;
		}
		for (off = 0; off < len; off += step) {
			step = len - off < 1000 ? len - off : 1000;
			CU_ASSERT_EQUAL(hash_update(h, p + off, step), 0);
		}
		memset(out, 0, sizeof(out));
		CU_ASSERT_EQUAL(hash_final(h, out), 0);
		hash_hex(out, HASH_LEN, hex);
		CU_ASSERT_STRING_EQUAL(hex, kat[i].hex);
		hash_free(h);
		free(p);
	}
}

/*
 * Random data cut at random points (empty updates included) hashes as in
 * one piece; after hash_final() the context starts afresh.
 */
static void
test_streaming(void)
{
	uint8_t want[HASH_LEN], got[HASH_LEN], *p;
	uint64_t s = UINT64_C(0x9e3779b97f4a7c15);
	struct hash_ctx *h;
	size_t len, off, step, i;
	int round;

	if ((h = hash_new()) == NULL) {
		CU_FAIL("hash_new");
		return;
	}
	for (round = 0; round < 40; round++) {
		len = (size_t)(xs64(&s) % 70000);
		if (round < 3)
			len = (size_t)round * 64; /* block-sized edges */
		if ((p = malloc(len + 1)) == NULL) {
			CU_FAIL("out of memory");
			break;
		}
		for (i = 0; i < len; i++)
			p[i] = (uint8_t)xs64(&s);
		CU_ASSERT_EQUAL(hash_sha256(p, len, want), 0);
		for (off = 0; off < len; off += step) {
			/* Mostly short steps, some long ones, some empty. */
			step = (size_t)(xs64(&s) % (round % 2 ? 200 : 20000));
			if (step > len - off)
				step = len - off;
			CU_ASSERT_EQUAL(hash_update(h, p + off, step), 0);
		}
		CU_ASSERT_EQUAL(hash_final(h, got), 0);
		CU_ASSERT(memcmp(got, want, HASH_LEN) == 0);
		free(p);
	}
	hash_free(h);
	hash_free(NULL);
}

/*
 * hash_hex() writes lower-case hex that hash_unhex() reads back (upper
 * case too); hash_unhex() takes exactly 2 * outlen hex digits, nothing
 * else: every wrong length, and a digit swapped for each of the characters
 * around the hex ranges (or others), at the start, the middle and the end.
 */
static void
test_hex(void)
{
	static const char badch[] = "gG:/@`x -.";
	static const size_t where[] = {0, 1, 31, 32, 62, 63};
	uint8_t in[HASH_LEN], out[HASH_LEN];
	char hex[HASH_HEXLEN + 1], buf[HASH_HEXLEN + 2];
	uint64_t s = 1;
	size_t i, j;
	int round;

	/* Round trips, every byte value included. */
	for (round = 0; round < 16; round++) {
		for (i = 0; i < HASH_LEN; i++)
			in[i] = round < 8 ? (uint8_t)(round * HASH_LEN + i)
			                  : (uint8_t)xs64(&s);
		memset(hex, 'x', sizeof(hex));
		hash_hex(in, HASH_LEN, hex);
		CU_ASSERT_EQUAL(strlen(hex), HASH_HEXLEN);
		CU_ASSERT_EQUAL(strspn(hex, "0123456789abcdef"), HASH_HEXLEN);
		memset(out, 0, sizeof(out));
		CU_ASSERT_EQUAL(hash_unhex(hex, out, HASH_LEN), 0);
		CU_ASSERT(memcmp(in, out, HASH_LEN) == 0);
	}

	/* Known values; upper case is accepted too. */
	CU_ASSERT_EQUAL(hash_unhex("00ff7Fa0", out, 4), 0);
	CU_ASSERT(out[0] == 0x00 && out[1] == 0xff && out[2] == 0x7f &&
	        out[3] == 0xa0);
	hash_hex(out, 4, buf);
	CU_ASSERT_STRING_EQUAL(buf, "00ff7fa0");
	hash_hex(out, 0, buf);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(hash_unhex("", out, 0), 0);

	/* Wrong lengths: hex is the last good string, 64 digits. */
	for (i = 0; i <= HASH_HEXLEN + 1; i++) {
		if (i == HASH_HEXLEN)
			continue;
		memcpy(buf, hex, HASH_HEXLEN);
		buf[HASH_HEXLEN] = '0';
		buf[i] = '\0';
		CU_ASSERT_EQUAL(hash_unhex(buf, out, HASH_LEN), BL_EFORMAT);
	}
	CU_ASSERT_EQUAL(hash_unhex("000", out, 1), BL_EFORMAT);

	/* One bad character. */
	for (i = 0; i < sizeof(badch) - 1; i++) {
		for (j = 0; j < sizeof(where) / sizeof(where[0]); j++) {
			memcpy(buf, hex, sizeof(hex));
			buf[where[j]] = badch[i];
			CU_ASSERT_EQUAL(
			        hash_unhex(buf, out, HASH_LEN), BL_EFORMAT);
		}
	}
	CU_ASSERT_EQUAL(hash_unhex(hex, out, HASH_LEN), 0);
}

int
test_hash_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("hash", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "SHA-256 known answers", test_known_answers) ==
	                NULL ||
	        CU_add_test(s, "streaming equals one-shot", test_streaming) ==
	                NULL ||
	        CU_add_test(s, "hex and unhex", test_hex) == NULL)
		return -1;
	return 0;
}

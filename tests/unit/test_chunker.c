/*
 * test_chunker.c - the "chunker" suite: content-defined chunking.
 *
 * Cut points are checked against ref_next(), a plain one-byte FastCDC loop
 * written here from the definition with its own copy of the Gear table
 * (regenerated from the SplitMix64 recipe documented in chunker.c), so a
 * slip in the fast two-byte loop, in the table or in the handling of short
 * input shows up as a difference.  test_golden pins the cut points of a
 * fixed input: if it fails, chunks already stored no longer deduplicate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "chunker.h"
#include "error.h"
#include "hash.h"
#include "test_list.h"

#define DEF_MIN CHUNKER_MIN_DEFAULT
#define DEF_AVG CHUNKER_AVG_DEFAULT
#define DEF_MAX CHUNKER_MAX_DEFAULT

/* Size sets: small ones give many cuts per buffer, odd ones odd bounds. */
static const uint32_t sizes[][3] = {
        {64, 256, 1024},
        {64, 128, 256},
        {64, 128, 129},
        {100, 512, 700},
        {1000, 4096, 5000},
        {333, 1024, 4099},
        {DEF_MIN, DEF_AVG, DEF_MAX},
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static uint64_t ref_gear[256];

/* SplitMix64 (Vigna's splitmix64.c): the test data and the Gear table. */
static uint64_t
sm64(uint64_t *s)
{
	uint64_t z;

	z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Random value in [lo, hi]. */
static size_t
rnd_range(uint64_t *s, size_t lo, size_t hi)
{
	return lo + (size_t)(sm64(s) % (hi - lo + 1));
}

/*
 * Test data: SplitMix64 from seed, each output taken as 8 bytes, least
 * significant first, so it is the same on every machine.
 */
static void
fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t s = seed, v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = sm64(&s);
		p[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

static uint8_t *
random_buf(size_t len, uint64_t seed)
{
	uint8_t *p;

	if ((p = malloc(len ? len : 1)) != NULL)
		fill_random(p, len, seed);
	return p;
}

static int
suite_init(void)
{
	uint64_t s = UINT64_C(0x6272616e63686c6e); /* "branchln" */
	int i;

	for (i = 0; i < 256; i++)
		ref_gear[i] = sm64(&s);
	return 0;
}

static int
init_ok(struct chunker *c, uint32_t min, uint32_t avg, uint32_t max)
{
	char why[128] = "";
	int rc;

	rc = chunker_init(c, min, avg, max, why, sizeof(why));
	CU_ASSERT_EQUAL(rc, 0);
	return rc == 0;
}

/*
 * The definition, one byte at a time: the fingerprint starts at offset
 * min; a zero under the mask (strict below avg, loose from avg on) at
 * offset i cuts after byte i; at max the chunk is cut anyway.  Without a
 * cut, more data is needed (0) unless this is the end of the input.
 */
static size_t
ref_next(const struct chunker *c, const uint8_t *p, size_t len, int eof)
{
	size_t n = len < c->max ? len : c->max, i;
	uint64_t fp = 0, mask;

	for (i = c->min; i < n; i++) {
		mask = i < c->avg ? c->mask_s : c->mask_l;
		fp = (fp << 1) + ref_gear[p[i]];
		if ((fp & mask) == 0)
			return i + 1;
	}
	if (n == c->max)
		return n;
	return eof ? len : 0;
}

/*
 * Room for the chunk ends of len bytes: only the last chunk may be
 * shorter than min + 1.  More chunks than that is a failure.
 */
static size_t
ends_cap(const struct chunker *c, size_t len)
{
	return len / (c->min + 1) + 1;
}

static size_t *
ends_for(const struct chunker *c, size_t len)
{
	return malloc(ends_cap(c, len) * sizeof(size_t));
}

/*
 * Chunk p[0..len) whole, handing over all the rest each time; the end
 * offsets of the chunks go to ends[] (from ends_for()).  With ref, through
 * ref_next() instead.  Returns the number of chunks.
 */
static size_t
split_all(const struct chunker *c, const uint8_t *p, size_t len, int ref,
        size_t *ends)
{
	size_t pos = 0, n = 0, k;

	while (pos < len) {
		if (n == ends_cap(c, len)) {
			CU_FAIL("too many chunks");
			break;
		}
		if (ref)
			k = ref_next(c, p + pos, len - pos, 1);
		else
			k = chunker_next(c, p + pos, len - pos, 1, NULL);
		if (k == 0 || k > len - pos) {
			CU_FAIL("chunk length out of range");
			break;
		}
		pos += k;
		ends[n++] = pos;
	}
	return n;
}

/*
 * Chunk p[0..len) as a streaming caller does: it holds the bytes not yet
 * cut, appends pieces of 1..maxpiece bytes as chunker_next() asks for more
 * (returns 0), and sets eof once the last piece is in.  Each call sees a
 * fresh copy of exactly the bytes held, so ASan catches any read beyond.
 */
static size_t
split_fed(const struct chunker *c, const uint8_t *p, size_t len,
        size_t maxpiece, uint64_t seed, size_t *ends)
{
	uint64_t s = seed;
	size_t pos = 0, have = 0, n = 0, k;
	uint8_t *win;
	int eof;

	for (;;) {
		eof = pos + have == len;
		if ((win = malloc(have ? have : 1)) == NULL) {
			CU_FAIL("out of memory");
			break;
		}
		memcpy(win, p + pos, have);
		k = chunker_next(c, win, have, eof, NULL);
		free(win);
		if (k > have) {
			CU_FAIL("chunk longer than the data given");
			break;
		}
		if (k == 0) {
			if (eof)
				break;
			have += rnd_range(&s, 1, maxpiece);
			if (have > len - pos)
				have = len - pos;
			continue;
		}
		if (n == ends_cap(c, len)) {
			CU_FAIL("too many chunks");
			break;
		}
		pos += k;
		have -= k;
		ends[n++] = pos;
	}
	CU_ASSERT_EQUAL(pos, len);
	return n;
}

static void
test_init_errors(void)
{
	static const uint32_t bad[][3] = {
	        {63, 256, 1024},                       /* min below the limit */
	        {0, 256, 1024},                        /* min zero */
	        {64, 8u << 20, CHUNKER_MAX_LIMIT + 1}, /* max above the limit */
	        {256, 256, 1024},                      /* min == avg */
	        {512, 256, 1024},                      /* min > avg */
	        {64, 1024, 1024},                      /* avg == max */
	        {64, 1024, 512},                       /* avg > max */
	        {64, 384, 1024},                 /* avg not a power of 2 */
	        {DEF_MIN, DEF_AVG + 1, DEF_MAX}, /* nor this */
	        {64, 1u << 31, UINT32_MAX},      /* huge */
	};
	struct chunker c;
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		CU_ASSERT_EQUAL(chunker_init(&c, bad[i][0], bad[i][1],
		                        bad[i][2], why, sizeof(why)),
		        BL_EUSAGE);
		CU_ASSERT(why[0] != '\0');
		CU_ASSERT_EQUAL(chunker_init(&c, bad[i][0], bad[i][1],
		                        bad[i][2], NULL, 0),
		        BL_EUSAGE);
	}

	/* The extremes that are allowed. */
	CU_ASSERT_EQUAL(chunker_init(&c, 64, 128, 129, NULL, 0), 0);
	CU_ASSERT_EQUAL(
	        chunker_init(&c, 64, 8u << 20, CHUNKER_MAX_LIMIT, NULL, 0), 0);
	if (init_ok(&c, DEF_MIN, DEF_AVG, DEF_MAX)) {
		CU_ASSERT_EQUAL(c.min, DEF_MIN);
		CU_ASSERT_EQUAL(c.avg, DEF_AVG);
		CU_ASSERT_EQUAL(c.max, DEF_MAX);
	}
}

static int
popcount64(uint64_t v)
{
	int n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

/* Masks: log2(avg) +- 2 bits, all within bits 20..62, for every avg. */
static void
test_masks(void)
{
	struct chunker c;
	uint64_t range = (UINT64_C(1) << 63) - (UINT64_C(1) << 20);
	uint32_t avg;
	int bits;

	for (avg = 128, bits = 7; avg <= (8u << 20); avg *= 2, bits++) {
		if (!init_ok(&c, 64, avg, 2 * avg))
			continue;
		CU_ASSERT_EQUAL(popcount64(c.mask_s), bits + 2);
		CU_ASSERT_EQUAL(popcount64(c.mask_l), bits - 2);
		CU_ASSERT_EQUAL(c.mask_s & ~range, 0);
		CU_ASSERT_EQUAL(c.mask_l & ~range, 0);
		/* Spread over the whole range: both ends are used. */
		CU_ASSERT(c.mask_s >> 62 == 1 && c.mask_l >> 62 == 1);
		CU_ASSERT(c.mask_s & (UINT64_C(1) << 20));
		CU_ASSERT(c.mask_l & (UINT64_C(1) << 20));
	}
}

/*
 * Every call, with eof and without, on the whole rest and on random
 * shorter windows (so lengths below max, below avg, below min, odd and
 * even are all met), against ref_next().
 */
static void
test_reference(void)
{
	struct chunker c;
	uint64_t s = 7;
	size_t si, len, pos, w, k, calls = 0, bad = 0;
	uint8_t *p;
	int round, eof;

	for (si = 0; si < NSIZES; si++) {
		if (!init_ok(&c, sizes[si][0], sizes[si][1], sizes[si][2]))
			continue;
		for (round = 0; round < 24; round++) {
			len = rnd_range(&s, 0, 24 * (size_t)c.max);
			if (len > (2u << 20)) /* keep the default sizes quick */
				len = len % (2u << 20);
			if ((p = random_buf(len, sm64(&s))) == NULL) {
				CU_FAIL("out of memory");
				return;
			}
			for (pos = 0; pos < len; pos += k) {
				for (eof = 0; eof <= 1; eof++) {
					w = rnd_range(&s, 0, len - pos);
					if (w > 2 * (size_t)c.max)
						w %= 2 * (size_t)c.max;
					if (chunker_next(&c, p + pos, w, eof,
					            NULL) !=
					        ref_next(&c, p + pos, w, eof))
						bad++;
					calls++;
				}
				eof = (int)(sm64(&s) & 1);
				k = chunker_next(
				        &c, p + pos, len - pos, eof, NULL);
				if (k != ref_next(&c, p + pos, len - pos, eof))
					bad++;
				calls++;
				if (k == 0) /* no cut in the tail; eof was 0 */
					k = len - pos;
			}
			free(p);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(calls > 10000);
}

/*
 * The boundaries are a function of the stream: feeding it in pieces of
 * any size gives the cuts of chunking it whole, which are the reference's.
 * Each call rescans the chunk so far, so a stream fed in small pieces is
 * costly: each piece size gets FEED_BUDGET / avg * piece bytes of stream
 * (about the same work for each), and combinations where that is under
 * two max-sized chunks are left out.
 */
#define FEED_BUDGET (4u << 20)

static void
test_feed_sizes(void)
{
	static const size_t pieces[] = {1, 7, 300, 5000, 100000};
	struct chunker c;
	size_t si, pi, len, flen, n, nref, nfed, *ends, *eref, *efed;
	size_t combos = 0;
	uint8_t *p;

	for (si = 0; si < NSIZES; si++) {
		if (!init_ok(&c, sizes[si][0], sizes[si][1], sizes[si][2]))
			continue;
		len = 60 * (size_t)c.max + si;
		p = random_buf(len, 100 + si);
		ends = ends_for(&c, len);
		eref = ends_for(&c, len);
		efed = ends_for(&c, len);
		if (p == NULL || ends == NULL || eref == NULL || efed == NULL) {
			CU_FAIL("out of memory");
			goto out_free;
		}
		for (pi = 0; pi < sizeof(pieces) / sizeof(pieces[0]); pi++) {
			flen = FEED_BUDGET / c.avg * pieces[pi];
			if (flen > len)
				flen = len;
			if (flen < 2 * (size_t)c.max)
				continue;
			combos++;
			n = split_all(&c, p, flen, 0, ends);
			nref = split_all(&c, p, flen, 1, eref);
			nfed = split_fed(&c, p, flen, pieces[pi], pi, efed);
			CU_ASSERT(n >= 2);
			CU_ASSERT(n == nref &&
			        memcmp(ends, eref, n * sizeof(*ends)) == 0);
			CU_ASSERT(n == nfed &&
			        memcmp(efed, ends, n * sizeof(*ends)) == 0);
		}
	out_free:
		free(p);
		free(ends);
		free(eref);
		free(efed);
	}
	CU_ASSERT(combos >= 25);
}

/* Same input, same chunker settings: same cuts, from a second chunker too. */
static void
test_determinism(void)
{
	struct chunker a, b;
	size_t len = 3u << 20, n1, n2, *e1, *e2;
	uint8_t *p;

	if (!init_ok(&a, DEF_MIN, DEF_AVG, DEF_MAX) ||
	        !init_ok(&b, DEF_MIN, DEF_AVG, DEF_MAX))
		return;
	CU_ASSERT(a.mask_s == b.mask_s && a.mask_l == b.mask_l);
	CU_ASSERT(a.zero_len == b.zero_len);
	CU_ASSERT(memcmp(a.zero_id, b.zero_id, sizeof(a.zero_id)) == 0);
	p = random_buf(len, 3);
	e1 = ends_for(&a, len);
	e2 = ends_for(&a, len);
	if (p != NULL && e1 != NULL && e2 != NULL) {
		n1 = split_all(&a, p, len, 0, e1);
		n2 = split_all(&b, p, len, 0, e2);
		CU_ASSERT(n1 > 20);
		CU_ASSERT(n1 == n2 && memcmp(e1, e2, n1 * sizeof(*e1)) == 0);
	} else
		CU_FAIL("out of memory");
	free(p);
	free(e1);
	free(e2);
}

/*
 * No chunk but the last is min bytes or shorter (a cut at offset >= min
 * makes a chunk of at least min + 1) or longer than max; data that never
 * matches the mask (a repeated byte) is cut at exactly max.
 */
static void
test_bounds(void)
{
	struct chunker c;
	size_t si, i, len, n, k, *ends;
	uint8_t *p;

	for (si = 0; si < NSIZES; si++) {
		if (!init_ok(&c, sizes[si][0], sizes[si][1], sizes[si][2]))
			continue;
		len = 64 * (size_t)c.max + 17;
		p = random_buf(len, 200 + si);
		ends = ends_for(&c, len);
		if (p == NULL || ends == NULL) {
			CU_FAIL("out of memory");
			free(p);
			free(ends);
			continue;
		}
		n = split_all(&c, p, len, 0, ends);
		CU_ASSERT(n > 2);
		for (i = 0; i < n; i++) {
			k = ends[i] - (i > 0 ? ends[i - 1] : 0);
			CU_ASSERT(k <= c.max);
			if (i + 1 < n)
				CU_ASSERT(k > c.min);
		}

		/*
		 * 0x01 repeated: fp runs into -gear[1] and stays; on the way
		 * and there it misses the masks of every size set here.
		 */
		memset(p, 0x01, len);
		CU_ASSERT_EQUAL(ref_next(&c, p, len, 1), c.max);
		CU_ASSERT_EQUAL(chunker_next(&c, p, len, 1, NULL), c.max);
		CU_ASSERT_EQUAL(chunker_next(&c, p, len, 0, NULL), c.max);
		CU_ASSERT_EQUAL(chunker_next(&c, p, c.max - 1, 0, NULL), 0);
		CU_ASSERT_EQUAL(
		        chunker_next(&c, p, c.max - 1, 1, NULL), c.max - 1);
		free(p);
		free(ends);
	}
}

/* The edges of the calling convention. */
static void
test_next_edges(void)
{
	struct chunker c;
	uint8_t *p;
	size_t len = 3 * DEF_MAX, k;
	int z;

	if (!init_ok(&c, DEF_MIN, DEF_AVG, DEF_MAX))
		return;
	if ((p = random_buf(len, 11)) == NULL) {
		CU_FAIL("out of memory");
		return;
	}
	CU_ASSERT_EQUAL(chunker_next(&c, p, 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(chunker_next(&c, p, 0, 1, NULL), 0);
	CU_ASSERT_EQUAL(chunker_next(&c, p, 1, 0, NULL), 0);
	CU_ASSERT_EQUAL(chunker_next(&c, p, 1, 1, NULL), 1);
	CU_ASSERT_EQUAL(chunker_next(&c, p, c.min, 0, NULL), 0);
	CU_ASSERT_EQUAL(chunker_next(&c, p, c.min, 1, NULL), c.min);
	z = 7;
	k = chunker_next(&c, p, len, 0, &z);
	CU_ASSERT(k > c.min && k <= c.max);
	CU_ASSERT_EQUAL(z, 0);
	/* Once max bytes are there, more data changes nothing. */
	CU_ASSERT_EQUAL(chunker_next(&c, p, c.max, 0, NULL), k);
	CU_ASSERT_EQUAL(chunker_next(&c, p, c.max, 1, NULL), k);
	/* A cut found in fewer bytes is the same cut. */
	CU_ASSERT_EQUAL(chunker_next(&c, p, k, 0, NULL), k);
	CU_ASSERT_EQUAL(chunker_next(&c, p, k - 1, 0, NULL), 0);
	CU_ASSERT_EQUAL(chunker_next(&c, p, k - 1, 1, NULL), k - 1);
	free(p);
}

/*
 * Mean chunk size on random data (fill_random(), seed 64): the default
 * sizes give 77,048 bytes on 64 MiB (1.18 x avg: nothing is cut before
 * min, and the strict mask makes cuts before avg rare), and 64/256/1024
 * gives 292 bytes on 4 MiB (1.14 x avg).  The bounds, 0.8..1.3 x avg,
 * leave room but not for a wrong mask: a bit more or less moves the mean
 * by about a factor of two.
 */
static void
test_average(void)
{
	struct chunker c;
	size_t len = 64u << 20, pos = 0, n = 0;
	uint8_t *p;
	double avg;

	if (!init_ok(&c, DEF_MIN, DEF_AVG, DEF_MAX))
		return;
	if ((p = random_buf(len, 64)) == NULL) {
		CU_FAIL("out of memory");
		return;
	}
	while (pos < len) {
		pos += chunker_next(&c, p + pos, len - pos, 1, NULL);
		n++;
	}
	avg = (double)len / (double)n;
	CU_ASSERT(avg >= 0.8 * DEF_AVG && avg <= 1.3 * DEF_AVG);

	if (init_ok(&c, 64, 256, 1024)) {
		len = 4u << 20;
		for (pos = 0, n = 0; pos < len; n++)
			pos += chunker_next(&c, p + pos, len - pos, 1, NULL);
		avg = (double)len / (double)n;
		CU_ASSERT(avg >= 0.8 * 256 && avg <= 1.3 * 256);
	}
	free(p);
}

/*
 * From the start of p[0..len) on, put a run of zeros of each length below
 * (around one and two zero_len) at every other chunk start, each run
 * followed by a non-zero byte.  A run placed after a cut does not move the
 * cut, so these are chunk starts where the zero-run shortcut is tried.
 * Returns 0, or -1 if p is too short for all of them.
 */
static int
runs_at_cuts(const struct chunker *c, uint8_t *p, size_t len)
{
	size_t zl = c->zero_len, pos = 0, r, j;
	const size_t runs[] = {zl - 1, zl, zl + 1, 2 * zl - 1, 2 * zl,
	        2 * zl + 1, zl - 8, zl - 9, zl - 16, zl / 2, 17, 16, 1};

	for (r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		if (runs[r] + 1 > len - pos)
			return -1;
		memset(p + pos, 0, runs[r]);
		p[pos + runs[r]] = 0x5a;
		for (j = 0; j < 2 && pos < len; j++)
			pos += ref_next(c, p + pos, len - pos, 1);
	}
	return 0;
}

/*
 * The zero-run shortcut: zero_len and zero_id are what the rule and
 * SHA-256 give for zeros; zero runs of many lengths, at random offsets and
 * right at chunk starts (where the shortcut is tried), are cut as
 * ref_next() cuts them; is_zero is set exactly for chunks of zero_len
 * zero bytes.  (With this table zeros never match a mask, so zero_len is
 * max for every size set.)
 */
static void
test_zero_runs(void)
{
	struct chunker c;
	uint8_t id[HASH_LEN], *p, *zero;
	uint64_t s = 5;
	size_t si, len, pos, k, zl, run, off, nzero, bad, r;
	int z, iszero;

	for (si = 0; si < NSIZES; si++) {
		if (!init_ok(&c, sizes[si][0], sizes[si][1], sizes[si][2]))
			continue;
		len = 40 * (size_t)c.max;
		zl = c.zero_len;
		if ((p = malloc(len)) == NULL) {
			CU_FAIL("out of memory");
			return;
		}
		if ((zero = calloc(1, c.max)) == NULL) {
			CU_FAIL("out of memory");
			free(p);
			return;
		}
		CU_ASSERT_EQUAL(zl, ref_next(&c, zero, c.max, 1));
		CU_ASSERT(hash_sha256(zero, zl, id) == 0 &&
		        memcmp(id, c.zero_id, HASH_LEN) == 0);

		/* Zero runs of 0..3 zero_len at random offsets. */
		fill_random(p, len, 300 + si);
		for (r = 0; r < 20; r++) {
			run = rnd_range(&s, 0, 3 * zl);
			off = rnd_range(&s, 0, len - run);
			memset(p + off, 0, run);
		}
		CU_ASSERT_EQUAL(runs_at_cuts(&c, p, len), 0);
		/* And a run at the end. */
		memset(p + len - zl - 5, 0, zl + 5);

		nzero = bad = 0;
		for (pos = 0; pos < len; pos += k) {
			z = 7;
			k = chunker_next(&c, p + pos, len - pos, 1, &z);
			if (k != ref_next(&c, p + pos, len - pos, 1) || k == 0)
				bad++;
			if (k == 0)
				break;
			iszero = k == zl && memcmp(p + pos, zero, k) == 0;
			if (z != iszero)
				bad++;
			nzero += iszero;
		}
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT(nzero >= 4);
		free(p);
		free(zero);
	}
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

/*
 * Chunk ids of p[0..len) into ids (HASH_LEN each, room for maxn), sorted;
 * returns the count.
 */
static size_t
chunk_ids(const struct chunker *c, const uint8_t *p, size_t len, uint8_t *ids,
        size_t maxn)
{
	size_t pos = 0, n = 0, k;

	for (pos = 0; pos < len; pos += k, n++) {
		if (n == maxn) {
			CU_FAIL("too many chunks");
			break;
		}
		k = chunker_next(c, p + pos, len - pos, 1, NULL);
		CU_ASSERT(hash_sha256(p + pos, k, ids + n * HASH_LEN) == 0);
	}
	qsort(ids, n, HASH_LEN, cmp_id);
	return n;
}

/* How many of ids[0..n) are among the sorted ref[0..nref). */
static size_t
count_shared(const uint8_t *ids, size_t n, const uint8_t *ref, size_t nref)
{
	size_t i, shared = 0;

	for (i = 0; i < n; i++)
		if (bsearch(ids + i * HASH_LEN, ref, nref, HASH_LEN, cmp_id))
			shared++;
	return shared;
}

/*
 * An edit in the middle changes the chunks around it only: after 9 bytes
 * are inserted, and after 9 are deleted, at least 90% of the chunks are
 * ones the original already had (in fact all but one to three).
 */
static void
test_locality(void)
{
	static const uint32_t set[2][3] = {
	        {DEF_MIN, DEF_AVG, DEF_MAX},
	        {64, 256, 1024},
	};
	struct chunker c;
	size_t len, mid, si, cap, n0, n1, n2, sh1, sh2;
	uint8_t *p, *q, *ids0, *ids1, *ids2;

	for (si = 0; si < 2; si++) {
		if (!init_ok(&c, set[si][0], set[si][1], set[si][2]))
			continue;
		len = 200 * (size_t)c.avg;
		mid = len / 2 + 1234;
		cap = ends_cap(&c, len + 9);
		p = random_buf(len + 9, 400 + si);
		q = malloc(len + 9);
		ids0 = malloc(cap * HASH_LEN);
		ids1 = malloc(cap * HASH_LEN);
		ids2 = malloc(cap * HASH_LEN);
		if (p == NULL || q == NULL || ids0 == NULL || ids1 == NULL ||
		        ids2 == NULL) {
			CU_FAIL("out of memory");
			goto out_free;
		}
		n0 = chunk_ids(&c, p, len, ids0, cap);
		/* q: p with p[len..len+9) inserted at mid. */
		memcpy(q, p, mid);
		memcpy(q + mid, p + len, 9);
		memcpy(q + mid + 9, p + mid, len - mid);
		n1 = chunk_ids(&c, q, len + 9, ids1, cap);
		/* q: p without p[mid..mid+9). */
		memmove(q + mid, p + mid + 9, len - mid - 9);
		n2 = chunk_ids(&c, q, len - 9, ids2, cap);

		CU_ASSERT(n0 > 100);
		sh1 = count_shared(ids1, n1, ids0, n0);
		sh2 = count_shared(ids2, n2, ids0, n0);
		CU_ASSERT(sh1 * 10 >= n1 * 9 && sh2 * 10 >= n2 * 9);
		/* The edits did change something. */
		CU_ASSERT(sh1 < n1 && sh2 < n2);
	out_free:
		free(p);
		free(q);
		free(ids0);
		free(ids1);
		free(ids2);
	}
}

/*
 * Golden cut points.  Input: fill_random() with seed 1 (SplitMix64,
 * little-endian bytes).  These numbers define the chunk format: if this
 * test fails after a change to the table, the masks or the rules at the
 * ends, existing stores stop deduplicating against new images.  Do not
 * update them to make the test pass; revert the change.
 */
static void
test_golden(void)
{
	/* clang-format off */
	static const size_t def_ends[] = {
		76912, 144261, 210254, 310964, 382715, 442063, 508566,
		612342, 679628, 747784, 809239, 858621, 876780, 962001,
		999203, 1075215, 1144809, 1213288, 1260519, 1358394, 1439546,
		1527768, 1601679, 1696906, 1810645, 1887070, 1967646, 2033606,
		2097152,
	};
	static const size_t small_ends[] = {
		330, 532, 806, 1167, 1233, 1350, 1418, 1748, 2093, 2414,
		2686, 3003, 3302, 3683, 4058, 4381, 4724, 5034, 5300, 5558,
		6052, 6150, 6422, 6741, 7006, 7513, 7989, 8192,
	};
	/* clang-format on */
	static const struct {
		uint32_t min, avg, max;
		uint64_t mask_s, mask_l;
		uint32_t zero_len;
		size_t len, nends;
		const size_t *ends;
	} g[] = {
	        {DEF_MIN, DEF_AVG, DEF_MAX, UINT64_C(0x54a5294a52900000),
	                UINT64_C(0x4924492249100000), DEF_MAX, 2u << 20,
	                sizeof(def_ends) / sizeof(def_ends[0]), def_ends},
	        {64, 256, 1024, UINT64_C(0x4421108442100000),
	                UINT64_C(0x4040402020100000), 1024, 8192,
	                sizeof(small_ends) / sizeof(small_ends[0]), small_ends},
	};
	struct chunker c;
	size_t gi, n, *ends;
	uint8_t *p;

	for (gi = 0; gi < sizeof(g) / sizeof(g[0]); gi++) {
		if (!init_ok(&c, g[gi].min, g[gi].avg, g[gi].max))
			continue;
		CU_ASSERT_EQUAL(c.mask_s, g[gi].mask_s);
		CU_ASSERT_EQUAL(c.mask_l, g[gi].mask_l);
		CU_ASSERT_EQUAL(c.zero_len, g[gi].zero_len);
		p = random_buf(g[gi].len, 1);
		ends = ends_for(&c, g[gi].len);
		if (p != NULL && ends != NULL) {
			n = split_all(&c, p, g[gi].len, 0, ends);
			CU_ASSERT_EQUAL(n, g[gi].nends);
			CU_ASSERT(n == g[gi].nends &&
			        memcmp(ends, g[gi].ends, n * sizeof(*ends)) ==
			                0);
		} else
			CU_FAIL("out of memory");
		free(p);
		free(ends);
	}
}

int
test_chunker_register(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
	        {"init rejects bad sizes", test_init_errors},
	        {"masks", test_masks},
	        {"equals the one-byte reference", test_reference},
	        {"independent of feed sizes", test_feed_sizes},
	        {"deterministic", test_determinism},
	        {"min and max respected", test_bounds},
	        {"calling convention edges", test_next_edges},
	        {"average chunk size", test_average},
	        {"zero-run shortcut", test_zero_runs},
	        {"locality of edits", test_locality},
	        {"golden cut points", test_golden},
	};
	CU_pSuite s;
	size_t i;

	if ((s = CU_add_suite("chunker", suite_init, NULL)) == NULL)
		return -1;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}

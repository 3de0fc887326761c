/*
 * chunker.h - content-defined chunking: FastCDC 2020 ("rolling two bytes")
 * with normalized chunking (level 2).
 *
 * The cut points depend only on the bytes and the three sizes, never on the
 * machine, the run or how the input is split into calls: a 64-bit Gear hash
 * with a fixed table, shifted one bit per byte (the 2020 variant processes
 * two bytes per step with a pre-shifted table, which gives exactly the same
 * cut points as the one-byte loop).  Before the average size a stricter
 * mask (avg bits + 2) is used, after it a looser one (avg bits - 2).
 *
 * Long runs of zero bytes take a fast path: a chunk that starts with
 * zero_len zero bytes is cut at zero_len without running the hash, and the
 * caller may reuse zero_id (the SHA-256 of that chunk) without hashing it.
 * zero_len is computed at init by running the normal algorithm over zeros,
 * so the fast path never changes a cut point.
 */
#ifndef BL_CHUNKER_H
#define BL_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#define CHUNKER_MIN_DEFAULT (16u * 1024)
#define CHUNKER_AVG_DEFAULT (64u * 1024)
#define CHUNKER_MAX_DEFAULT (256u * 1024)
#define CHUNKER_MIN_LIMIT   64u                 /* smallest allowed min */
#define CHUNKER_MAX_LIMIT   (16u * 1024 * 1024) /* largest allowed max */

struct chunker {
	uint32_t min;        /* no cut before min bytes (unless input ends) */
	uint32_t avg;        /* target average; a power of two */
	uint32_t max;        /* always cut at max bytes */
	uint64_t mask_s;     /* strict mask, used before avg */
	uint64_t mask_l;     /* loose mask, used from avg to max */
	uint32_t zero_len;   /* length of a chunk cut from a run of zeros */
	uint8_t zero_id[32]; /* SHA-256 of zero_len zero bytes */
};

/*
 * Set up a chunker.  Requires CHUNKER_MIN_LIMIT <= min < avg < max <=
 * CHUNKER_MAX_LIMIT and avg a power of two; returns BL_EUSAGE otherwise
 * (with a reason in why).  Finding zero_len and zero_id takes max zero
 * bytes for a moment and OpenSSL: -ENOMEM or BL_ECRYPTO if those fail.
 */
int chunker_init(struct chunker *c, uint32_t min, uint32_t avg, uint32_t max,
        char *why, size_t whylen);

/*
 * Length of the next chunk at the start of p[0..len): up to the first cut
 * point, or max bytes.  The result is never more than max or len.  It is
 * 0 when len is 0, or when eof is 0, len < max and p[0..len) holds no cut:
 * the caller must keep these bytes, append more (or set eof) and call
 * again.  With eof set and no cut, returns len (the last chunk).  A chunk
 * returned is the one any longer input would give, so a stream fed in
 * pieces of any size is cut the same.  All chunks but the last are longer
 * than min.  Pure: no I/O, no allocation.  *is_zero (may be NULL) is set
 * to 1 when the chunk is zero_len zero bytes, so zero_id applies, else 0.
 */
size_t chunker_next(const struct chunker *c, const uint8_t *p, size_t len,
        int eof, int *is_zero);

#endif /* BL_CHUNKER_H */

/*
 * index.h - the store's LMDB index.
 *
 * One LMDB environment (STORE/index/) with these databases:
 *   chunks    chunk id[32] -> struct index_chunk (16 bytes, big-endian)
 *   zero      chunk id[32] -> ""          chunks whose refs == 0 (gc work list)
 *   pins      chunk id[32] || session u64 -> ""   chunks an import in flight
 *                                         needs; they survive gc until the
 *                                         import commits or its owner dies
 *   sessions  session u64 -> pid u32 || started u64
 *   manifests manifest id[32] -> signed manifest bytes
 *   images    name || 0x00 || version u32 -> struct index_image (56 bytes)
 *   meta      ASCII key -> value (store format, chunker sizes, counters)
 *
 * The environment is opened with MDB_NOTLS so a read transaction may be
 * used from any thread.  The map starts at a configured size and grows
 * (doubling, up to a configured limit) when a write hits MDB_MAP_FULL:
 * index_write() aborts, grows and re-runs the caller's function, so that
 * function must put all of its effects into the transaction it is given.
 * Readers that see MDB_MAP_RESIZED adopt the new size and retry.
 *
 * Values returned by the get functions point into the map and are valid
 * only until the end of the transaction (as with mdb_get).
 */
#ifndef BL_INDEX_H
#define BL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#define INDEX_CHUNK_ZSTD 0x01 /* chunk file holds a zstd frame */

struct index_chunk {
	uint32_t size;   /* bytes of the chunk's content */
	uint32_t stored; /* bytes of its file (smaller when compressed) */
	uint32_t refs;   /* manifests that reference it */
	uint8_t flags;   /* INDEX_CHUNK_* */
};

struct index_image {
	uint8_t manifest_id[32];
	uint64_t created; /* Unix seconds */
	uint64_t size;    /* sum of file sizes */
	uint32_t nfiles;
	uint32_t nchunks; /* chunk references, all files */
};

struct index {
	MDB_env *env;
	MDB_dbi chunks, zero, pins, sessions, manifests, images, meta;
	size_t map_size; /* current map size */
	size_t map_max;  /* never grow beyond (0: no limit) */
};

/*
 * Open (creating if needed) the index in directory dir.  map_size is the
 * initial map size (rounded to the page size), map_max the limit for
 * growth (0: none).  Returns 0, -errno, BL_ELMDB.
 */
int index_open(struct index *ix, const char *dir, size_t map_size,
        size_t map_max, char *why, size_t whylen);
void index_close(struct index *ix);

/* Map an LMDB return code to the project's convention. */
int index_err(int mdb_rc);

/*
 * Run fn(txn, arg) in a write transaction and commit it.  If fn or the
 * commit returns MDB_MAP_FULL (fn must pass such codes through), the map is
 * grown and fn runs again in a fresh transaction.  fn returns 0 to commit,
 * anything else to abort (that value is returned).  Returns BL_EMAPFULL
 * when growth would exceed map_max.
 */
int index_write(struct index *ix, int (*fn)(MDB_txn *, void *), void *arg);

/* Begin a read-only transaction, adopting a map grown by another process. */
int index_read_begin(struct index *ix, MDB_txn **txn);

/* Chunk records. */
int index_chunk_get(struct index *ix, MDB_txn *txn, const uint8_t id[32],
        struct index_chunk *out); /* 0, MDB_NOTFOUND, or other MDB code */
int index_chunk_put(struct index *ix, MDB_txn *txn, const uint8_t id[32],
        const struct index_chunk *c); /* keeps the zero list in step */
int index_chunk_del(struct index *ix, MDB_txn *txn, const uint8_t id[32]);

/* Pins: key is id || session. */
int index_pin(
        struct index *ix, MDB_txn *txn, const uint8_t id[32], uint64_t session);
int index_unpin(
        struct index *ix, MDB_txn *txn, const uint8_t id[32], uint64_t session);
int index_pinned(struct index *ix, MDB_txn *txn, const uint8_t id[32]);

/* Image records: encode/decode helpers for the images db. */
int index_image_key(const char *name, uint32_t version, uint8_t *key,
        size_t cap, size_t *keylen);
void index_image_encode(const struct index_image *im, uint8_t out[56]);
int index_image_decode(const void *p, size_t len, struct index_image *im);

/* Meta values as u64. 0 and MDB_NOTFOUND as in mdb_get. */
int index_meta_get_u64(
        struct index *ix, MDB_txn *txn, const char *key, uint64_t *v);
int index_meta_put_u64(
        struct index *ix, MDB_txn *txn, const char *key, uint64_t v);

/* Big-endian helpers used by the index and store. */
static inline void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	        (uint32_t)p[2] << 8 | p[3];
}

static inline void
be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

static inline uint64_t
be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

#endif /* BL_INDEX_H */

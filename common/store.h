/*
 * store.h - the content-addressed image store: chunk files + LMDB index +
 * signed manifests, under one directory.
 *
 *   STORE/store.conf      chunker sizes, compression, index map limits
 *   STORE/index/          LMDB environment (see index.h)
 *   STORE/chunks/ab/cd/   chunk files (see chunkstore.h)
 *   STORE/tmp/            temp chunk files, import session lock files
 *   STORE/keys/           signing.key (0600), signing.pub
 *
 * Concurrency: any number of processes may open a store.  LMDB's writer
 * lock serialises every change; imports pin the chunks they use so that a
 * concurrent gc never removes them (see ARCHITECTURE.md "Store").
 * A struct store is used by one thread at a time.
 */
#ifndef BL_STORE_H
#define BL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "chunker.h"
#include "chunkstore.h"
#include "index.h"
#include "manifest.h"
#include "sign.h"

#define STORE_ZSTD_DEFAULT 3 /* zstd level for new stores; 0 = off */
#define STORE_MAP_DEFAULT  (64ull << 20)

struct store_opts {
	uint32_t chunk_min, chunk_avg, chunk_max;
	int zstd_level;    /* 0: never compress; 1..19 */
	uint64_t map_size; /* initial LMDB map size */
	uint64_t map_max;  /* growth limit, 0: none */
};

struct store {
	char dir[3072]; /* leaves room for the longest path below it */
	struct store_opts opts;
	struct chunker chunker;
	struct index ix;
	struct chunkstore *cs;
	struct sign_key *key; /* loaded on first signing need */
	uint8_t pub[SIGN_PUB_LEN];
	int have_pub;
	int ix_borrowed; /* ix belongs to another struct store */
	void *zd;      /* ZSTD_DCtx for reads, made on first use */
	uint8_t *zbuf; /* scratch for compressed reads */
};

/* One version of one image, as listed. */
struct store_version {
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t version;
	struct index_image im;
};

/* Defaults for store_init. */
void store_opts_default(struct store_opts *o);

/*
 * Create a store in dir (which must not exist or be empty): directories,
 * store.conf, signing key pair, an empty index.  Returns 0, -EEXIST when
 * dir already holds a store, -errno, BL_EUSAGE for bad options.
 */
int store_init(
        const char *dir, const struct store_opts *o, char *why, size_t whylen);

/* Open an existing store.  BL_ENOTFOUND when dir holds no store. */
int store_open(const char *dir, struct store **out, char *why, size_t whylen);
void store_close(struct store *s);

/*
 * A second handle on base's store for another thread of the same process:
 * it shares base's LMDB environment (LMDB must not be opened twice in one
 * process) and has its own scratch buffers and chunk file handles.  Close
 * it before base.
 */
int store_open_shared(struct store *base, struct store **out, char *why,
        size_t whylen);

/*
 * Versions of name (all images when name is NULL), sorted by name then
 * version.  *out is malloc'd (caller frees), *n entries.
 */
int store_list(struct store *s, const char *name, struct store_version **out,
        size_t *n);

/*
 * Find name@version (version 0: the newest).  Fills *ver; when raw is not
 * NULL also returns a malloc'd copy of the signed manifest bytes.
 */
int store_lookup(struct store *s, const char *name, uint32_t version,
        struct store_version *ver, uint8_t **raw, size_t *rawlen, char *why,
        size_t whylen);

/* Decode and verify (signature) the manifest of name@version. */
int store_manifest(struct store *s, const char *name, uint32_t version,
        struct manifest **m, char *why, size_t whylen);

/*
 * Read chunk id into buf[cap] (cap >= chunk size), decompressing; with
 * verify, re-hash and return BL_ECORRUPT on mismatch.  BL_ENOTFOUND when
 * the index lacks it, BL_EMISSING when its file is gone.
 */
int store_read_chunk(struct store *s, const uint8_t id[32], uint8_t *buf,
        size_t cap, size_t *len, int verify);

/*
 * Write file path of name@version to fd, byte-identical; checks every chunk
 * (verify) and the whole-file SHA-256.
 */
int store_cat(struct store *s, const char *name, uint32_t version,
        const char *path, int fd, int verify, char *why, size_t whylen);

/*
 * Remove name@version (version 0: every version).  Chunk reference counts
 * drop in the same transaction; the bytes go at the next gc.
 */
int store_remove(struct store *s, const char *name, uint32_t version, char *why,
        size_t whylen);

/* Import. */
struct store_src {
	const char *path; /* path inside the image */
	const char *file; /* local file to read */
};

struct store_import_stats {
	uint32_t version;
	uint8_t manifest_id[32];
	uint64_t files;
	uint64_t bytes;        /* logical bytes read */
	uint64_t chunks;       /* chunk references */
	uint64_t new_chunks;   /* chunks written to the store */
	uint64_t new_bytes;    /* their logical bytes */
	uint64_t stored_bytes; /* their bytes on disk (after zstd) */
	uint64_t zero_chunks;  /* zero-run chunks (fast path) */
};

typedef void (*store_progress_fn)(void *arg, uint64_t done, uint64_t total);

/*
 * Import n files as the next version of image name.  Streams each file
 * through the chunker; writes new chunks, then the signed manifest, the
 * image record and the reference counts in one transaction.  On failure
 * nothing of this import is visible (its chunks become garbage).
 */
int store_import(struct store *s, const char *name, const struct store_src *src,
        size_t n, store_progress_fn cb, void *arg,
        struct store_import_stats *st, char *why, size_t whylen);

/* Chunks and bytes two manifests share and the second adds. */
struct store_diff {
	uint64_t a_chunks, b_chunks; /* distinct chunks in each */
	uint64_t shared_chunks, shared_bytes;
	uint64_t new_chunks, new_bytes;   /* in b, not in a */
	uint64_t gone_chunks, gone_bytes; /* in a, not in b */
	uint64_t b_bytes;                 /* b's distinct chunk bytes */
};
int store_diff(const struct manifest *a, const struct manifest *b,
        struct store_diff *d);

/* Totals over the whole store. */
struct store_usage {
	uint64_t chunks, bytes, stored_bytes;
	uint64_t garbage_chunks;
	uint64_t images, versions;
};
int store_usage(struct store *s, struct store_usage *u);

/* gc: remove unreferenced chunks; safe while imports run. */
struct store_gc_stats {
	uint64_t chunks_removed, bytes_freed;
	uint64_t orphans_removed; /* files the index did not name */
	uint64_t sessions_reaped; /* dead import sessions cleaned */
	int orphan_sweep;         /* 1 if the fan-out was swept */
};
int store_gc(
        struct store *s, struct store_gc_stats *st, char *why, size_t whylen);

/* verify: every chunk re-hashed, every manifest checked. */
struct store_verify_stats {
	uint64_t chunks, bytes, manifests;
	uint64_t bad_chunks, missing_chunks, bad_manifests;
};
/* Called once per problem found; kind is "chunk" or "manifest". */
typedef void (*store_problem_fn)(
        void *arg, const char *kind, const char *what, const char *problem);
int store_verify(struct store *s, store_problem_fn cb, void *arg,
        struct store_verify_stats *st);

/* Parse "NAME" or "NAME@VER" (VER >= 1); version 0 when absent. */
int store_parse_ref(
        const char *ref, char *name, size_t namecap, uint32_t *version);

/*
 * The signed bytes of the manifest with this id (any image version that
 * uses it); *raw malloc'd.  BL_ENOTFOUND when no version has it.
 */
int store_manifest_by_id(
        struct store *s, const uint8_t id[32], uint8_t **raw, size_t *len);

/*
 * Look chunk id up in the index and open its file for serving as stored:
 * *rec says its size, stored size and compression; *fd is the open file
 * (the caller closes it).  BL_ENOTFOUND when the index lacks it,
 * BL_EMISSING when its file is gone.  txn: an open read transaction to
 * use, or NULL for one of its own.
 */
int store_chunk_open(struct store *s, MDB_txn *txn, const uint8_t id[32],
        struct index_chunk *rec, int *fd);

/*
 * Publish name@from's content again as a new version (a roll back): one
 * transaction takes the next version number, signs a manifest with the
 * same files and adds the chunk references.  *version is the new one.
 */
int store_republish(struct store *s, const char *name, uint32_t from,
        uint32_t *version, char *why, size_t whylen);

/*
 * Replication into a store (store_repl.c).  A distribution node fills its
 * store from a source: chunks arrive one by one, are checked, written and
 * indexed unreferenced but pinned under STORE_SESSION_REPL (a session no
 * process owns, so gc and session reaping leave them alone); a manifest is
 * published once every chunk it names is present, which adds the
 * references and drops the pins.  The manifest keeps its source's version
 * number and signature (the store's keys/signing.pub is the primary's).
 */
#define STORE_SESSION_REPL UINT64_MAX

/* One chunk as a source sent it. */
struct store_incoming {
	uint8_t id[32];
	int zstd;            /* data is a zstd frame of the content */
	uint32_t size;       /* content bytes */
	const uint8_t *data; /* as sent */
	size_t len;
};

/*
 * Check c: its content (decompressed when zstd) is size bytes whose
 * SHA-256 is id.  0, BL_ECORRUPT (with why), BL_ETOOBIG or -ENOMEM.
 */
int store_chunk_check(struct store *s, const struct store_incoming *c,
        char *why, size_t whylen);

/*
 * Mark in want[i] (1/0) which of ids[0..n) the index lacks; *nwant counts
 * them.
 */
int store_missing(struct store *s, const uint8_t (*ids)[32], size_t n,
        uint8_t *want, size_t *nwant);

/*
 * Store n checked chunks: files first (one syncfs for all), then one index
 * transaction that records and pins them.  Chunks already present are
 * skipped.  -ENOSPC when the disk is full (nothing of this call indexed).
 */
int store_ingest(struct store *s, const struct store_incoming *c, size_t n,
        char *why, size_t whylen);

/*
 * Publish raw (a signed manifest) as name: its signature must
 * verify with the store's public key and its name and version match;
 * every chunk must be present (BL_EMISSING).  Idempotent when the same
 * manifest is already published under that name and version; -EEXIST
 * when another one is.
 */
int store_publish(struct store *s, const char *name, uint32_t version,
        const uint8_t *raw, size_t len, char *why, size_t whylen);

/* Drop every replication pin (chunks of abandoned images become garbage). */
int store_repl_release(struct store *s);

/* Internal to the store modules. */
int store_load_key(struct store *s, char *why, size_t whylen);
int store_session_begin(struct store *s, uint64_t *session, int *lockfd);
void store_session_end(struct store *s, uint64_t session, int lockfd);
int store_reap_sessions(struct store *s, uint64_t *reaped);
/* Distinct chunk ids of m, sorted; *ids malloc'd (caller frees). */
int store_unique_ids(const struct manifest *m, uint8_t (**ids)[32], size_t *n);
/* In txn: the signed manifest raw under img's id and the image record
 * name@version.  An LMDB code. */
int store_put_image(struct store *s, MDB_txn *txn, const char *name,
        uint32_t version, const uint8_t *raw, size_t len,
        const struct index_image *img);
/* The same with each chunk's content length in (*lens)[i]. */
int store_unique_chunks(const struct manifest *m, uint8_t (**ids)[32],
        uint32_t **lens, size_t *n);

#endif /* BL_STORE_H */

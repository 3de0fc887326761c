/*
 * chunkstore.h - where chunk bytes live, behind one operations struct.
 *
 * The local backend keeps each chunk in its own file,
 * STORE/chunks/abc/<64 hex digits of the id>, fanned out over 4,096
 * directories by the first three hex digits of the id (made when the store
 * is opened the first time; about 25,000 files each at 100 M chunks).  A put
 * writes STORE/tmp/<session>.<n>, starts write-back and renames the file into
 * place, so a chunk file is never visible half-written; it does not fsync.
 * chunkstore_sync() then makes every earlier put durable at once (syncfs),
 * and only after that may the index name those chunks.  A file in the
 * fan-out that the index does not name is an orphan from a crash and is
 * removed by gc.
 *
 * Bytes are opaque here: compression and hashing belong to the store.
 */
#ifndef BL_CHUNKSTORE_H
#define BL_CHUNKSTORE_H

#include <stddef.h>
#include <stdint.h>

struct chunkstore;

struct chunkstore_ops {
	/* Store len bytes under id (replacing any file there). */
	int (*put)(struct chunkstore *cs, const uint8_t id[32],
	        const void *data, size_t len);
	/* The same from a CHUNKSTORE_ALIGN-aligned buffer; lets the local
	 * backend bypass the page cache for the aligned part. */
	int (*put_aligned)(struct chunkstore *cs, const uint8_t id[32],
	        uint8_t *buf, size_t len);
	/* Read the file into buf[cap]; *len its size.  -ENOENT if absent,
	 * BL_ETOOBIG if larger than cap. */
	int (*get)(struct chunkstore *cs, const uint8_t id[32], uint8_t *buf,
	        size_t cap, size_t *len);
	/* 1 if a file for id exists, 0 if not, negative on error. */
	int (*exists)(struct chunkstore *cs, const uint8_t id[32]);
	/* Remove; absent is not an error. */
	int (*del)(struct chunkstore *cs, const uint8_t id[32]);
	/* Make all earlier puts durable. */
	int (*sync)(struct chunkstore *cs);
	/* Call fn for each stored id in fan-out bucket b (0..4095). */
	int (*list)(struct chunkstore *cs, unsigned int b,
	        int (*fn)(const uint8_t id[32], void *), void *arg);
	void (*close)(struct chunkstore *cs);
};

struct chunkstore {
	const struct chunkstore_ops *ops;
	uint64_t session; /* names this process's temp files */
	uint64_t tmp_seq; /* next temp file number (atomic) */
	int root_fd;      /* STORE/chunks */
	int direct;       /* 1: the filesystem takes O_DIRECT writes */
	int tmpfile;      /* 1: O_TMPFILE + linkat works here */
	int tmp_fd;       /* STORE/tmp */
	char dir[4096];   /* STORE */
};

#define CHUNKSTORE_BUCKETS 4096u
#define CHUNKSTORE_ALIGN   4096u /* O_DIRECT buffer and length alignment */

/* Open the local backend under store directory dir (creating chunks/ and
 * tmp/).  session names temp files.  Returns 0 or -errno. */
int chunkstore_open_local(
        const char *dir, uint64_t session, struct chunkstore **out);

/* Remove temp files left by session (0: every session's). */
/*
 * Open the file of chunk id read-only, for serving it as it is stored
 * (the index says whether it is compressed).  Returns the descriptor,
 * which the caller closes, or -errno (-ENOENT when absent).
 */
int chunkstore_open_file(struct chunkstore *cs, const uint8_t id[32]);

int chunkstore_clean_tmp(struct chunkstore *cs, uint64_t session);

static inline int
chunkstore_put(
        struct chunkstore *cs, const uint8_t id[32], const void *d, size_t len)
{
	return cs->ops->put(cs, id, d, len);
}

static inline int
chunkstore_put_aligned(
        struct chunkstore *cs, const uint8_t id[32], uint8_t *buf, size_t len)
{
	return cs->ops->put_aligned(cs, id, buf, len);
}

static inline int
chunkstore_get(struct chunkstore *cs, const uint8_t id[32], uint8_t *buf,
        size_t cap, size_t *len)
{
	return cs->ops->get(cs, id, buf, cap, len);
}

static inline int
chunkstore_exists(struct chunkstore *cs, const uint8_t id[32])
{
	return cs->ops->exists(cs, id);
}

static inline int
chunkstore_del(struct chunkstore *cs, const uint8_t id[32])
{
	return cs->ops->del(cs, id);
}

static inline int
chunkstore_sync(struct chunkstore *cs)
{
	return cs->ops->sync(cs);
}

static inline void
chunkstore_close(struct chunkstore *cs)
{
	if (cs != NULL)
		cs->ops->close(cs);
}

#endif /* BL_CHUNKSTORE_H */

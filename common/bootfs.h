/*
 * bootfs.h - the files a node serves to booting clients (TFTP, HTTP
 * boot), read straight out of its chunk store.
 *
 * Only published boot files exist here: the files that the site's boot
 * entries name (kernel, initrd, program, iso) in images the store holds.
 * A request names one of them by "IMAGE/PATH" (the newest version named)
 * or "IMAGE@VERSION/PATH"; there is no file system path behind a name, so
 * nothing else can be reached whatever a client sends.
 *
 * Reads go through one cache of verified chunks shared by every transfer
 * (a boot storm reads the same kernel a thousand times): a chunk is read
 * from the store, decompressed and checked against its SHA-256 once,
 * then served from memory while anyone reads it, and kept while the cache
 * has room (least recently used first out).  A chunk that fails its check
 * is never served: the read fails and the transfer ends with an error.
 *
 * Not thread-safe: one event-loop thread owns a bootfs.
 */
#ifndef BL_BOOTFS_H
#define BL_BOOTFS_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "store.h"

#define BOOTFS_NAME_MAX (MANIFEST_NAME_MAX + 11 + 1 + MANIFEST_PATH_MAX)

/* A boot entry's file, as the configuration names it. */
struct bootfs_ref {
	const char *image;
	uint32_t version; /* 0: the newest the store holds */
	const char *path; /* inside the image */
};

/* One published file; reference-counted, immutable once made. */
struct bootfs_file {
	int refs;
	char *name;  /* "IMAGE@VERSION/PATH" */
	uint64_t size;
	uint8_t sha256[32];
	uint32_t nchunks;
	uint8_t (*ids)[32];
	uint64_t *offs; /* nchunks + 1 offsets; offs[i] = start of chunk i */
};

/* A reader's position: the chunk it holds from the cache. */
struct bootfs_cursor {
	struct bootfs_file *f;
	struct bcent *ent; /* cache entry held, or NULL */
	uint32_t idx;      /* its chunk index in f */
};

struct bootfs;

/* A new, empty view of s (which must outlive it); cache_bytes bounds the
 * chunks kept that nobody is reading. */
int bootfs_new(struct store *s, size_t cache_bytes, struct bootfs **out);
void bootfs_free(struct bootfs *b);

/*
 * Replace the published files with refs[0..n).  A ref whose image or
 * file the store lacks is skipped and counted in *missing (may be NULL):
 * an image still replicating is not an error.  Files in use stay valid
 * for their readers.  Returns 0, or -ENOMEM (the old set stays).
 */
int bootfs_publish(struct bootfs *b, const struct bootfs_ref *refs, size_t n,
        size_t *missing, char *why, size_t whylen);

/* Files published, and the total of their sizes. */
size_t bootfs_count(const struct bootfs *b, uint64_t *bytes);

/*
 * The file a client names, or NULL: a leading '/' and backslashes (as
 * Windows boot programs send) are accepted; anything else must match a
 * published name exactly.  Takes a reference: bootfs_file_put it.
 */
struct bootfs_file *bootfs_lookup(struct bootfs *b, const char *name);
void bootfs_file_put(struct bootfs_file *f);

/*
 * Read up to len bytes of c->f at off into buf; *got is less than len
 * only at the end of the file.  c starts zeroed with c->f set (the
 * caller's reference); reads anywhere, fastest in order.  Returns 0,
 * BL_ECORRUPT (a chunk failed its check), BL_EMISSING / BL_ENOTFOUND
 * (the store lost it), or -ENOMEM.
 */
int bootfs_read(struct bootfs *b, struct bootfs_cursor *c, uint64_t off,
        uint8_t *buf, size_t len, size_t *got);

/*
 * Without copying: the bytes of c->f from off up to the end of the chunk
 * holding off (at most len), as a pointer into the cache.  The piece
 * holds its chunk in the cache until bootfs_piece_put(p->hold), which
 * must come before bootfs_free; p->len is 0 at the end of the file.
 * Returns 0 or an error as bootfs_read.
 */
struct bootfs_piece {
	const uint8_t *data;
	size_t len;
	void *hold;
};
int bootfs_read_piece(struct bootfs *b, struct bootfs_cursor *c, uint64_t off,
        size_t len, struct bootfs_piece *p);
void bootfs_piece_put(void *hold);

/* Drop what c holds (not c->f). */
void bootfs_cursor_done(struct bootfs *b, struct bootfs_cursor *c);

/* Cache figures, for status and tests. */
struct bootfs_stats {
	uint64_t loads;    /* chunks read from the store and checked */
	uint64_t hits;     /* chunk lookups the cache answered */
	uint64_t bad;      /* chunks that failed their check */
	size_t cached;     /* bytes in the cache, held or not */
};
void bootfs_stats(const struct bootfs *b, struct bootfs_stats *st);

#endif /* BL_BOOTFS_H */

/*
 * frame.h - reading the framed chunk stream of POST /v1/chunks/batch.
 *
 *   id[32] | status u8 | encoding u8 | reserved u16 | size u32 |
 *   length u32 | data[length]          (integers big-endian)
 *
 * status 0: the chunk follows (encoding 0 raw: length == size; 1 zstd:
 * length <= ZSTD_compressBound(size)); status 1: the source lacks it
 * (size == length == 0).  size is at most MANIFEST_CHUNK_LEN_MAX.
 * The reader is pure and bounded: it holds at most one frame.
 */
#ifndef BL_FRAME_H
#define BL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR 44

struct frame_rd {
	uint8_t hdr[FRAME_HDR];
	size_t hgot;
	uint8_t *data; /* malloc'd, grows to the largest frame seen */
	size_t cap, dgot;
	/* The current frame, valid once its header is in. */
	uint8_t id[32];
	int status, zstd;
	uint32_t size, len;
};

/*
 * Feed p[0..n).  Consumes bytes into the current frame and stops after
 * the byte that completes it: returns 1 (the frame is in r: id, status,
 * zstd, size, len, data[0..len)), 0 when all n bytes were taken and the
 * frame is still incomplete, or BL_EFORMAT / BL_ETOOBIG (why says what)
 * / -ENOMEM.  *used: bytes consumed.  After a 1 the next call starts the
 * next frame.
 */
int frame_feed(struct frame_rd *r, const uint8_t *p, size_t n, size_t *used,
        char *why, size_t whylen);

/* 1 if no partial frame is held (the stream may end here). */
int frame_idle(const struct frame_rd *r);

void frame_free(struct frame_rd *r);

#endif /* BL_FRAME_H */

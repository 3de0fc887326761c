/*
 * frame.c - the batch stream reader (see frame.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "error.h"
#include "frame.h"
#include "index.h"
#include "manifest.h"

static int
header(struct frame_rd *r, char *why, size_t whylen)
{
	const uint8_t *h = r->hdr;
	size_t need;
	uint8_t *np;

	memcpy(r->id, h, 32);
	r->status = h[32];
	r->zstd = h[33];
	r->size = be32_get(h + 36);
	r->len = be32_get(h + 40);
	if (r->status > 1 || r->zstd > 1 || h[34] != 0 || h[35] != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "frame header: status %d, encoding %d, reserved %u",
		        r->status, r->zstd, (unsigned)(h[34] << 8 | h[35]));
	if (r->status == 1 && (r->size != 0 || r->len != 0))
		return bl_why(why, whylen, BL_EFORMAT,
		        "frame header: an absent chunk with %" PRIu32 " bytes",
		        r->len);
	if (r->size > MANIFEST_CHUNK_LEN_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "frame header: chunk of %" PRIu32 " bytes", r->size);
	if ((r->zstd == 0 && r->len != r->size) ||
	        (r->zstd == 1 && r->len > ZSTD_compressBound(r->size)))
		return bl_why(why, whylen, BL_EFORMAT,
		        "frame header: %" PRIu32 " bytes for a chunk of %" PRIu32,
		        r->len, r->size);
	if (r->status == 0 && r->size == 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "frame header: an empty chunk");
	need = r->len ? r->len : 1;
	if (need > r->cap) {
		if ((np = realloc(r->data, need)) == NULL)
			return -ENOMEM;
		r->data = np;
		r->cap = need;
	}
	r->dgot = 0;
	return 0;
}

int
frame_feed(struct frame_rd *r, const uint8_t *p, size_t n, size_t *used,
        char *why, size_t whylen)
{
	size_t k, off = 0;
	int rc;

	*used = 0;
	if (r->hgot < FRAME_HDR) {
		k = FRAME_HDR - r->hgot;
		if (k > n)
			k = n;
		memcpy(r->hdr + r->hgot, p, k);
		r->hgot += k;
		off = k;
		*used = off;
		if (r->hgot < FRAME_HDR)
			return 0;
		if ((rc = header(r, why, whylen)) != 0)
			return rc;
	}
	k = r->len - r->dgot;
	if (k > n - off)
		k = n - off;
	if (k > 0)
		memcpy(r->data + r->dgot, p + off, k);
	r->dgot += k;
	*used = off + k;
	if (r->dgot < r->len)
		return 0;
	r->hgot = 0; /* the next call starts a new frame */
	return 1;
}

int
frame_idle(const struct frame_rd *r)
{
	return r->hgot == 0;
}

void
frame_free(struct frame_rd *r)
{
	free(r->data);
	memset(r, 0, sizeof(*r));
}

/*
 * batchsrv.c - POST /v1/chunks/batch for every server that has a store:
 * the id-list parser and the frame stream (see batchsrv.h).
 *
 * A stream is driven by write completion: each pump queues frames until
 * BATCH_QUEUE bytes are waiting, and evhttp calls back when they have
 * gone out.  Chunk data is added as file segments (evbuffer_add_file),
 * so the bytes go from the page cache to the socket without a copy here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "batchsrv.h"
#include "error.h"
#include "hash.h"
#include "log.h"

/* One answer in flight. */
struct batch {
	struct store *s;
	struct evhttp_request *req;
	struct evhttp_connection *evcon; /* NULL once it is going away */
	uint8_t (*ids)[32];
	size_t n, next; /* ids, and the next one to frame */
	uint64_t bytes; /* chunk bytes queued so far */
	char who[64];   /* the peer, for logs */
};

static void batch_pump(struct batch *b);

/* --- parsing --------------------------------------------------------- */

static int
lowhex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 64 lowercase hex digits at p into id; 0 or -1. */
static int
parse_id(const uint8_t *p, uint8_t id[32])
{
	int i, hi, lo;

	for (i = 0; i < 32; i++) {
		if ((hi = lowhex(p[2 * i])) < 0 ||
		        (lo = lowhex(p[2 * i + 1])) < 0)
			return -1;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* At most 64 bytes of p[0..len), printable ASCII, for an error message. */
static void
quote(const uint8_t *p, size_t len, char out[68])
{
	size_t i, k = len < 64 ? len : 64;

	for (i = 0; i < k; i++)
		out[i] = (p[i] < 0x20 || p[i] > 0x7e) ? '?' : (char)p[i];
	if (k < len) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

int
batch_parse(const uint8_t *body, size_t len, uint8_t (**ids)[32], size_t *n,
        char *why, size_t whylen)
{
	uint8_t (*v)[32];
	size_t pos = 0, line = 0, k = 0, cap;
	char q[68];
	int rc;

	*ids = NULL;
	*n = 0;
	/* k ids take at least 65k - 1 bytes, so len / 64 + 1 slots are
	 * always enough; BATCH_MAX + 1 and more are refused anyway. */
	cap = len / 64 + 1;
	if (cap > BATCH_MAX)
		cap = BATCH_MAX;
	if ((v = calloc(cap, sizeof(*v))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	while (pos < len) {
		const uint8_t *s = body + pos;
		const uint8_t *nl = memchr(s, '\n', len - pos);
		size_t e = nl != NULL ? (size_t)(nl - s) : len - pos;

		pos += e + (nl != NULL);
		line++;
		if (e > 0 && s[e - 1] == '\r')
			e--; /* CRLF line ends are fine */
		if (e == 0)
			continue; /* blank line */
		if (k == BATCH_MAX) {
			rc = bl_why(why, whylen, BL_ETOOBIG,
			        "more than %d ids in one batch", BATCH_MAX);
			goto fail;
		}
		if (e != 64 || parse_id(s, v[k]) != 0) {
			quote(s, e, q);
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "line %zu: '%s' is not a chunk id "
			        "(64 lowercase hex digits)",
			        line, q);
			goto fail;
		}
		k++;
	}
	*ids = v;
	*n = k;
	return 0;
fail:
	free(v);
	return rc;
}

/* --- streaming ------------------------------------------------------- */

static void
batch_free(struct batch *b)
{
	if (b->evcon != NULL)
		evhttp_connection_set_closecb(b->evcon, NULL, NULL);
	free(b->ids);
	free(b);
}

static void
batch_closed(struct evhttp_connection *evcon, void *arg)
{
	struct batch *b = arg;

	(void)evcon;
	log_info("%s: batch stream closed by the peer after %zu of %zu chunks",
	        b->who, b->next, b->n);
	/* libevent 2.1 detaches an unfinished reply's request from a dying
	 * connection: then it is ours to free. */
	if (evhttp_request_get_connection(b->req) == NULL)
		evhttp_request_free(b->req);
	b->evcon = NULL;
	batch_free(b);
}

static void
batch_sent(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	batch_pump(arg);
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The frame for ids[i] into out: the chunk file as stored, or status 1. */
static void
batch_frame(struct batch *b, MDB_txn *txn, size_t i, struct evbuffer *out)
{
	uint8_t hdr[BATCH_HDR];
	struct index_chunk rec;
	int fd, rc;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, b->ids[i], 32);
	if ((rc = store_chunk_open(b->s, txn, b->ids[i], &rec, &fd)) != 0) {
		char hex[65];

		hash_hex(b->ids[i], 32, hex);
		if (rc != BL_ENOTFOUND)
			log_warnx("%s: batch chunk %s: %s", b->who, hex,
			        bl_strerror(rc));
		hdr[32] = 1;
		evbuffer_add(out, hdr, sizeof(hdr));
		return;
	}
	hdr[33] = (rec.flags & INDEX_CHUNK_ZSTD) ? 1 : 0;
	put_u32(hdr + 36, rec.size);
	put_u32(hdr + 40, rec.stored);
	evbuffer_add(out, hdr, sizeof(hdr));
	if (evbuffer_add_file(out, fd, 0, rec.stored) != 0)
		close(fd);
	b->bytes += rec.stored;
}

/* Queue the next frames, up to BATCH_QUEUE bytes, or end the reply. */
static void
batch_pump(struct batch *b)
{
	struct evbuffer *out;
	size_t queued = 0;
	MDB_txn *txn = NULL;

	if (b->next == b->n) {
		evhttp_send_reply_end(b->req);
		log_debug("%s: batch of %zu chunks, %" PRIu64 " bytes", b->who,
		        b->n, b->bytes);
		batch_free(b);
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		/* Cut the stream short: the peer sees fewer frames than
		 * ids and asks again. */
		log_warnx("%s: batch: out of memory after %zu of %zu chunks",
		        b->who, b->next, b->n);
		evhttp_send_reply_end(b->req);
		batch_free(b);
		return;
	}
	/* One read transaction per pump; without one each chunk opens its
	 * own. */
	(void)index_read_begin(&b->s->ix, &txn);
	while (b->next < b->n && queued < BATCH_QUEUE) {
		size_t before = evbuffer_get_length(out);

		batch_frame(b, txn, b->next++, out);
		queued += evbuffer_get_length(out) - before;
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	evhttp_send_reply_chunk_with_cb(b->req, out, batch_sent, b);
	evbuffer_free(out);
}

int
batch_serve(struct store *s, struct evhttp_request *req, uint8_t (*ids)[32],
        size_t n, const char *who)
{
	struct batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		free(ids);
		return -ENOMEM;
	}
	b->s = s;
	b->req = req;
	b->ids = ids;
	b->n = n;
	snprintf(b->who, sizeof(b->who), "%s", who != NULL ? who : "?");
	b->evcon = evhttp_request_get_connection(req);
	evhttp_connection_set_closecb(b->evcon, batch_closed, b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	        "Content-Type", BATCH_TYPE);
	evhttp_send_reply_start(req, 200, "OK");
	batch_pump(b);
	return 0;
}

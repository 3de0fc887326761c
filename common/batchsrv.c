/*
 * batchsrv.c - POST /v1/chunks/batch for every server that has a store:
 * the id-list parser and the frame stream (see batchsrv.h).
 *
 * A stream is driven by write completion: each pump queues frames until
 * BATCH_QUEUE bytes are waiting, and evhttp calls back when they have
 * gone out.  Chunk data is added as file segments (evbuffer_add_file),
 * so the bytes go from the page cache to the socket without a copy here.
 *
 * Pacing.  A peer under a bandwidth cap names it (BATCH_RATE_HEADER).
 * All the streams of one peer then share one libevent rate-limit group
 * at that rate, ticking every 20 ms or so, and chunk data goes in slices
 * of 1/50 s of it (see add_file), so the bytes leave here as evenly as
 * the cap allows.  The peer's own token bucket still enforces
 * the cap; pacing at the source keeps every buffer between us (relays,
 * routers, its socket) from filling at line rate and draining later,
 * which is what a receiver-only limit looks like on the wire: a second
 * of 1.3x the cap after every stall.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "batchsrv.h"
#include "error.h"
#include "hash.h"
#include "log.h"

/* The shared pace of one peer's streams on one event base. */
struct pacer {
	struct pacer *next;
	struct event_base *base;
	struct bufferevent_rate_limit_group *g;
	uint64_t rate; /* bytes per second */
	int refs;      /* streams in the group */
	char who[64];
};

/* Every group with streams in it.  Like the streams themselves, touched
 * only from the event-loop thread. */
static struct pacer *pacers;

/* One answer in flight. */
struct batch {
	struct store *s;
	struct pacer *pc;        /* NULL: not paced */
	struct bufferevent *bev; /* in pc's group */
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

int
batch_parse(const uint8_t *body, size_t len, uint8_t (**ids)[32], size_t *n,
        char *why, size_t whylen)
{
	uint8_t (*v)[32];
	size_t pos = 0, line = 0, k = 0, cap;
	char q[BL_QUOTE_MAX];
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
			bl_quote(s, e, q);
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

int
batch_rate_parse(const char *v, uint64_t *rate, char *why, size_t whylen)
{
	uint64_t r = 0;
	size_t i;
	char q[BL_QUOTE_MAX];

	*rate = 0;
	if (v == NULL)
		return 0;
	for (i = 0; v[i] >= '0' && v[i] <= '9' && i < 14; i++)
		r = r * 10 + (uint64_t)(v[i] - '0');
	if (i == 0 || v[i] != '\0' || r < BATCH_RATE_MIN ||
	        r > BATCH_RATE_MAX) {
		bl_quote((const uint8_t *)v, strnlen(v, 65), q);
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: '%s' is not a rate (bytes per second, %d to "
		        "%" PRIu64 ")",
		        BATCH_RATE_HEADER, q, BATCH_RATE_MIN,
		        (uint64_t)BATCH_RATE_MAX);
	}
	*rate = r;
	return 0;
}

/* --- pacing ---------------------------------------------------------- */

/* The largest piece of chunk data queued at once on a stream paced to
 * rate: 1/50 s of it, from 4 KiB to BATCH_SLICE. */
static uint32_t
pace_slice(uint64_t rate)
{
	if (rate == 0 || rate / 50 >= BATCH_SLICE)
		return BATCH_SLICE;
	return rate / 50 < 4096 ? 4096 : (uint32_t)(rate / 50);
}

/* A token bucket config for rate bytes/s: a tick of 20 ms, or longer so
 * that a tick allows two slices (a peer's two streams). */
static struct ev_token_bucket_cfg *
pace_cfg(uint64_t rate)
{
	uint64_t ms = 20, per, two = 2 * (uint64_t)pace_slice(rate);
	struct timeval tick;

	if (rate * ms / 1000 < two)
		ms = (two * 1000 + rate - 1) / rate;
	if (ms > 1000)
		ms = 1000;
	per = rate * ms / 1000;
	if (per < 1)
		per = 1;
	tick.tv_sec = (time_t)(ms / 1000);
	tick.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	return ev_token_bucket_cfg_new(EV_RATE_LIMIT_MAX, EV_RATE_LIMIT_MAX,
	        (size_t)per, (size_t)per, &tick);
}

/* Put b's connection in the group of b->who on base at rate; the latest
 * rate a peer names holds for all of its streams.  On failure the stream
 * goes unpaced (the peer's bucket still holds it to its cap). */
static void
pace_join(struct batch *b, struct event_base *base, uint64_t rate)
{
	struct ev_token_bucket_cfg *cfg;
	struct pacer *pc;

	if ((b->bev = evhttp_connection_get_bufferevent(b->evcon)) == NULL ||
	        (cfg = pace_cfg(rate)) == NULL)
		return;
	for (pc = pacers; pc != NULL; pc = pc->next)
		if (pc->base == base && strcmp(pc->who, b->who) == 0)
			break;
	if (pc == NULL) {
		if ((pc = calloc(1, sizeof(*pc))) == NULL ||
		        (pc->g = bufferevent_rate_limit_group_new(base, cfg)) ==
		                NULL) {
			free(pc);
			goto out;
		}
		pc->base = base;
		pc->rate = rate;
		snprintf(pc->who, sizeof(pc->who), "%s", b->who);
		pc->next = pacers;
		pacers = pc;
	} else if (pc->rate != rate) {
		(void)bufferevent_rate_limit_group_set_cfg(pc->g, cfg);
		pc->rate = rate;
	}
	if (bufferevent_add_to_rate_limit_group(b->bev, pc->g) != 0)
		goto out;
	pc->refs++;
	b->pc = pc;
out:
	ev_token_bucket_cfg_free(cfg); /* the group keeps a copy */
}

/* Take b's connection out of its group (it may serve other requests),
 * and free the group with its last stream. */
static void
pace_leave(struct batch *b)
{
	struct pacer **pp, *pc = b->pc;

	if (pc == NULL)
		return;
	(void)bufferevent_remove_from_rate_limit_group(b->bev);
	b->pc = NULL;
	if (--pc->refs > 0)
		return;
	for (pp = &pacers; *pp != pc; pp = &(*pp)->next)
		;
	*pp = pc->next;
	bufferevent_rate_limit_group_free(pc->g);
	free(pc);
}

/* --- streaming ------------------------------------------------------- */

static void
batch_free(struct batch *b)
{
	pace_leave(b);
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

/*
 * The file fd, len bytes, onto out as file segments of at most slice
 * bytes each; fd is closed with the last of them (or now, on failure).
 * A TLS bufferevent writes whole segments, whatever its rate limit allows
 * at the time, so slices keep a paced stream even: a 256 KiB chunk in one
 * piece would leave in one burst and then stall the stream for a while.
 */
static int
add_file(struct evbuffer *out, int fd, uint32_t len, uint32_t slice)
{
	struct evbuffer_file_segment *seg;
	uint32_t off, n;
	int rc = 0;

	if ((seg = evbuffer_file_segment_new(fd, 0, len,
	             EVBUF_FS_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		return -1;
	}
	for (off = 0; off < len && rc == 0; off += n) {
		n = len - off < slice ? len - off : slice;
		rc = evbuffer_add_file_segment(out, seg, off, n);
	}
	evbuffer_file_segment_free(seg); /* the chains hold it now */
	return rc;
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
	if (add_file(out, fd, rec.stored,
	            pace_slice(b->pc != NULL ? b->pc->rate : 0)) != 0) {
		/* End the stream at this frame, which the peer will see
		 * cut short, and ask again. */
		log_warnx("%s: batch: cannot queue a chunk file; ending the "
		          "stream after %zu of %zu chunks",
		        b->who, i, b->n);
		b->next = b->n;
		return;
	}
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
        size_t n, const char *who, uint64_t rate)
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
	if (rate > 0)
		pace_join(b, evhttp_connection_get_base(b->evcon), rate);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	        "Content-Type", BATCH_TYPE);
	evhttp_send_reply_start(req, 200, "OK");
	batch_pump(b);
	return 0;
}

int
batch_request(struct store *s, struct evhttp_request *req, const char *who,
        char *why, size_t whylen)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in), n;
	uint8_t (*ids)[32];
	uint64_t rate;
	int rc;

	if (len > BATCH_BODY_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "a batch names at most %d ids", BATCH_MAX);
	if ((rc = batch_rate_parse(
	             evhttp_find_header(evhttp_request_get_input_headers(req),
	                     BATCH_RATE_HEADER),
	             &rate, why, whylen)) != 0 ||
	        (rc = batch_parse(evbuffer_pullup(in, -1), len, &ids, &n, why,
	                 whylen)) != 0)
		return rc;
	if (batch_serve(s, req, ids, n, who, rate) != 0)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	return 0;
}

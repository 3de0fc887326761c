/*
 * batchsrv.h - the serving side of POST /v1/chunks/batch, shared by the
 * primary and by distribution nodes that feed child sites.
 *
 * A request body names up to BATCH_MAX chunk ids, one per line as 64
 * lowercase hex digits.  The answer is a chunked HTTP/1.1 stream of one
 * frame per id, in the order asked (all integers big-endian):
 *
 *   id[32] | status u8 (0 ok, 1 not here) | encoding u8 (0 raw, 1 zstd) |
 *   reserved u16 (0) | size u32 (content bytes) | length u32 | data[length]
 *
 * Chunk files go out as stored (compressed ones stay compressed), each
 * added as a file segment, and at most BATCH_QUEUE bytes of frames wait
 * in a connection's output at a time: a stream never holds an image in
 * memory and a slow peer only slows its own stream.
 *
 * A peer under a bandwidth cap may send BATCH_RATE_HEADER with its cap in
 * bytes per second; all of its streams then leave this server paced to
 * that rate together (see batchsrv.c).
 */
#ifndef BL_BATCHSRV_H
#define BL_BATCHSRV_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>

#include "store.h"

#define BATCH_MAX         1024        /* ids per request */
#define BATCH_LINE_MAX    66          /* 64 hex digits and CRLF */
#define BATCH_HDR         44          /* frame header bytes */
#define BATCH_QUEUE       (2u << 20)  /* frame bytes queued per stream */
#define BATCH_SLICE       (16u << 10) /* largest piece of chunk data queued */
#define BATCH_TYPE        "application/vnd.branchline.chunks"
#define BATCH_RATE_HEADER "X-Branchline-Rate"
#define BATCH_RATE_MIN    1
#define BATCH_RATE_MAX    2000000000000ull /* 16 Tbit/s */

/* The largest request body: BATCH_MAX ids with CRLF line ends. */
#define BATCH_BODY_MAX (BATCH_MAX * BATCH_LINE_MAX)

/*
 * Parse a batch request body, body[0..len), untrusted: lines of exactly
 * 64 lowercase hex digits (upper case is refused, as in request paths),
 * ended by LF or CRLF or the end of the body.  Leniencies: blank lines
 * (and a lone CR before LF) are skipped, so "ids\n\n" and an empty body
 * (0 ids) parse.  Pure and bounded: no I/O, never reads beyond len.
 *
 * On success *ids is malloc'd (caller frees; also when *n is 0) and holds
 * *n ids in body order, duplicates kept.  Returns 0; BL_ETOOBIG when more
 * than BATCH_MAX ids are named; BL_EFORMAT for a line that is no id (why
 * names its line number, counting every line from 1, and quotes at most
 * 64 of its bytes, non-printable ones as '?'); -ENOMEM.  On failure *ids
 * is NULL and *n 0.  why may be NULL.
 */
int batch_parse(const uint8_t *body, size_t len, uint8_t (**ids)[32], size_t *n,
        char *why, size_t whylen);

/*
 * Parse the value of BATCH_RATE_HEADER, untrusted (v may be NULL: no
 * header, *rate 0).  Accepts only decimal digits, BATCH_RATE_MIN to
 * BATCH_RATE_MAX; no sign, space or unit.  Returns 0, or BL_EFORMAT with
 * why quoting at most 64 bytes of v.  Pure and bounded.
 */
int batch_rate_parse(const char *v, uint64_t *rate, char *why, size_t whylen);

/*
 * Answer req with the frames for ids[0..n) read from s: sends the status
 * line (200, Content-Type BATCH_TYPE) at once, then writes frames as the
 * connection drains, and ends the reply after the last one.  ids passes
 * to the stream in every case (freed when it ends).  who names the peer
 * in log lines (copied) and keys the pacing: with rate > 0 (bytes per
 * second) every stream of who shares that rate, the latest one given.
 *
 * s must stay open until every stream on it has ended: a stream ends
 * after its last frame or when its connection closes (peer gone, idle
 * timeout, evhttp_free), whose close callback it takes over (so req's
 * connection must not have another).  An id the store lacks, or whose
 * file is gone, gets a frame with status 1 and no data.  Event-loop
 * thread only.  Returns 0, or -ENOMEM before anything was sent (the
 * caller still owns req and answers it, e.g. 503).
 */
int batch_serve(struct store *s, struct evhttp_request *req, uint8_t (*ids)[32],
        size_t n, const char *who, uint64_t rate);

/*
 * The whole POST /v1/chunks/batch for a caller that has authorized it:
 * checks the body's size, parses BATCH_RATE_HEADER and the ids, and
 * starts the stream.  Returns 0 (req is the stream's), or an error for
 * the caller to answer (it still owns req): BL_ETOOBIG, BL_EFORMAT,
 * -ENOMEM, with why saying what was wrong.
 */
int batch_request(struct store *s, struct evhttp_request *req, const char *who,
        char *why, size_t whylen);

#endif /* BL_BATCHSRV_H */

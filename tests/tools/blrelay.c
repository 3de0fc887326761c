/*
 * blrelay: a userspace TCP relay for integration tests and benchmarks.
 *
 * The test kernels have tc tbf/htb but no netem, so WAN latency, byte
 * counting on the wire and a corrupting man in the middle are done here,
 * in one libevent loop.
 *
 *   blrelay --listen ADDR:PORT --connect ADDR:PORT [--delay-ms N]
 *           [--stats FILE] [--pidfile FILE] [--max-conns N]
 *           [--mitm --cert FILE --key FILE --ca FILE
 *            [--client-cert FILE --client-key FILE]
 *            [--corrupt manifest|chunk [--corrupt-count N]]]
 *
 * ADDR is numeric IPv4 (127.0.0.1:8443) or IPv6 in brackets ([::1]:8443).
 * The relay runs in the foreground, writes its PID to --pidfile once the
 * listener is open (written to FILE.tmp and renamed, so the file appears
 * complete; removed again at exit), and exits 0 on SIGTERM or SIGINT after
 * closing every connection and writing a final stats line.  Log lines go
 * to stderr, prefixed "blrelay: ".
 *
 * Plain mode: each accepted connection gets its own TCP connection to
 * --connect, and bytes pass both ways unchanged.  An upstream connect
 * failure closes the client connection.  When one side ends (EOF), what
 * is queued for the other side is written after its delay and then that
 * side's write half is shut down (shutdown(SHUT_WR)); the connection is
 * closed once both directions have ended, or at once on any error.
 *
 * --delay-ms N delays each direction by N ms one way, so the round trip
 * grows by 2N: bytes read at time t are written no earlier than t + N, in
 * order.  Each direction keeps a FIFO of (deadline, evbuffer) segments and
 * one timer; reads less than 1 ms apart share a segment (whose deadline is
 * that of its newest bytes, so nothing leaves early and nothing waits more
 * than 1 ms extra).  Memory is bounded: a side stops being read while more
 * than 16 MiB wait in that direction (queue plus output buffers) and is
 * read again below 8 MiB.  Data moves between evbuffers by reference
 * (evbuffer_add_buffer / evbuffer_remove_buffer), never byte by byte.
 * Bufferevents connect and write; plain mode reads the sockets itself,
 * up to 256 KiB a read, since libevent 2.1's bufferevents read at most
 * 4 KiB at a time (MITM mode leaves reading to the TLS bufferevents).
 *
 * --mitm: TLS (1.2 or later, ALPN http/1.1) is terminated on both sides.
 * Towards the client the relay presents --cert/--key and asks for, but
 * neither requires nor checks, a client certificate.  Towards upstream it
 * trusts only --ca and presents --client-cert/--client-key (no host name
 * check).  --delay-ms and --stats apply as in plain mode; the delay acts
 * on the decrypted bytes, so the two TLS handshakes are not delayed.  When
 * one side ends, the relay sends close_notify to the other once its queue
 * is written; the connection closes when both sides have ended and the
 * wire buffers are empty.
 *
 * --corrupt (MITM only) parses the plaintext as HTTP/1.1 with keep-alive:
 * requests (Content-Length or chunked bodies) to remember each one's
 * method and path in a FIFO, responses (status line, headers, body by
 * Content-Length, chunked, none for 1xx/204/304/HEAD, or until close) to
 * know where body bytes are.  All bytes pass unchanged except one:
 *   manifest: in a 200 response to GET /v1/manifests/..., the body byte at
 *             offset Content-Length/2 is XORed with 0x01 (responses
 *             without a Content-Length are left alone);
 *   chunk:    in a 200 response to POST /v1/chunks/batch, whose body is a
 *             stream of frames (44-byte header: id[32], status u8,
 *             encoding u8, reserved u16, size u32 BE, length u32 BE, then
 *             length data bytes), data byte length/2 of the first frame
 *             with status 0 and length > 0 is flipped; in a 200 response
 *             to GET /v1/chunks/<id>, the middle body byte is flipped (as
 *             for manifests).
 * --corrupt-count N limits this to the first N such responses in all
 * (default: no limit).  Each flip is logged.  A header line longer than
 * 16 KiB or malformed framing closes that connection.  Without --corrupt
 * the MITM relay does not parse HTTP at all.
 *
 * --stats FILE: one line is appended every second, on SIGUSR1, and at
 * exit (fflush after each):
 *   <unix_ms> <down_total> <up_total> <conns_total>
 * down_total: bytes written to client sockets (upstream -> client), up_total:
 * bytes written to upstream sockets (client -> upstream), both counted when
 * the kernel accepts them from the socket's output buffer, i.e. after the
 * delay, and both the TCP payload as it is on the wire: in MITM mode the
 * TLS records (handshakes, record overhead, alerts included) on the client
 * socket and the upstream socket respectively.  conns_total: connections
 * accepted and relayed since start (refused ones are not counted).
 *
 * Bounds: --max-conns (default 256) open connections, beyond which new
 * ones are closed at once; 16 KiB per HTTP line; 256 requests awaiting
 * responses per connection.  The relay connects to nothing but --connect.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define RELAY_HIWAT	(16u << 20)	/* stop reading a side above this */
#define RELAY_LOWAT	(8u << 20)	/* and resume below this */
#define IO_MAX		(256u << 10)	/* largest single read or write */
#define READ_MIN	4096		/* smallest read buffer */
#define WIRE_HIWAT	(1u << 20)	/* TLS: stop encrypting above this */
#define WIRE_LOWAT	(256u << 10)	/* TLS: and resume below this */
#define SEG_MERGE_US	1000		/* reads this close share a segment */
#define LINE_MAX_LEN	(16u << 10)	/* longest HTTP start or header line */
#define REQS_MAX	256		/* requests awaiting a response */
#define BODY_MAX	(UINT64_C(1) << 62)	/* largest body or chunk */
#define FRAME_HDR_LEN	44		/* batch frame header */
#define CONNS_DEFAULT	256

enum corrupt {
	CORRUPT_NONE,
	CORRUPT_MANIFEST,
	CORRUPT_CHUNK
};

/* The relay: options, TLS contexts, counters, open connections. */
struct relay {
	struct event_base	*base;
	struct evconnlistener	*listener;
	struct sockaddr_storage	 up_addr;	/* --connect */
	int			 up_addrlen;
	char			 up_name[64];	/* --connect, for logs */
	uint64_t		 delay_us;	/* one-way delay, each direction */
	unsigned		 max_conns;
	int			 mitm;
	enum corrupt		 corrupt;
	long long		 corrupt_left;	/* flips still allowed; -1: any */
	SSL_CTX			*srv_ctx;	/* MITM: TLS towards clients */
	SSL_CTX			*cli_ctx;	/* MITM: TLS towards upstream */
	FILE			*stats;		/* --stats, or NULL */
	struct event		*stats_ev;	/* the 1-s stats timer */
	struct event		*sig_ev[3];	/* SIGTERM, SIGINT, SIGUSR1 */
	int			 exit_sig;	/* signal that ended the loop */
	uint64_t		 down_total;	/* bytes written to clients */
	uint64_t		 up_total;	/* bytes written upstream */
	uint64_t		 conns_total;	/* connections accepted */
	unsigned		 nconns;	/* connections open */
	TAILQ_HEAD(, conn)	 conns;
};

/* Bytes waiting for their deadline in one direction. */
struct seg {
	TAILQ_ENTRY(seg)	 entry;
	uint64_t		 born;	/* monotonic us of the oldest bytes */
	uint64_t		 due;	/* monotonic us they may be written */
	struct evbuffer		*buf;
};
TAILQ_HEAD(segq, seg);

/* A request whose response has not been seen yet. */
struct req {
	TAILQ_ENTRY(req)	 entry;
	char			 method[16];
	char			*path;	/* request target, owned */
};

enum hstate {
	HS_START,	/* expecting a request or status line */
	HS_HEADERS,	/* header lines up to the empty line */
	HS_BODY,	/* Content-Length body, left bytes to go */
	HS_CHUNK_SIZE,	/* a chunk-size line */
	HS_CHUNK_DATA,	/* chunk data, left bytes to go */
	HS_CHUNK_END,	/* the empty line after chunk data */
	HS_TRAILERS,	/* trailer lines up to the empty line */
	HS_RAW		/* unframed to the end: close-delimited body, 101 */
};

enum scan {
	SCAN_NONE,	/* pass the body as it is */
	SCAN_FLIP,	/* flip the body byte at flip_at */
	SCAN_FRAMES	/* walk batch frames to the first one to flip */
};

enum what {
	WHAT_MANIFEST,	/* GET /v1/manifests/... */
	WHAT_CHUNK,	/* GET /v1/chunks/<id> */
	WHAT_BATCH	/* POST /v1/chunks/batch */
};

/* HTTP/1.1 framing state of one direction (--corrupt only). */
struct hparse {
	int		 response;	/* parses responses, not requests */
	enum hstate	 state;
	int		 status;	/* response status code */
	int		 te;		/* has a Transfer-Encoding */
	int		 chunked;	/* ... whose last coding is chunked */
	int		 has_cl;	/* has a Content-Length */
	uint64_t	 cl;		/* ... this one */
	uint64_t	 left;		/* body or chunk bytes still to pass */
	enum scan	 scan;		/* what to do with body bytes */
	enum what	 what;		/* which response, for the log */
	char		*path;		/* its request path (owned), or NULL */
	uint64_t	 pos;		/* body bytes passed so far */
	uint64_t	 flip_at;	/* SCAN_FLIP: offset of the byte */
	uint8_t		 fhdr[FRAME_HDR_LEN];	/* SCAN_FRAMES: frame header */
	size_t		 fhave;		/* ... bytes of it so far */
	uint64_t	 fleft;		/* ... data bytes left in the frame */
	char		 id[65];	/* hex id of the frame being flipped */
};

enum { UP, DOWN };	/* client -> upstream, upstream -> client */

/* One direction of a connection. */
struct dir {
	struct conn		*c;
	struct bufferevent	*src;		/* read from (top level) */
	struct bufferevent	*dst;		/* written to (top level) */
	struct bufferevent	*dst_wire;	/* socket under dst (or dst) */
	struct evbuffer_cb_entry *wire_cb;	/* counts dst_wire's writes */
	struct event		*rev;		/* plain: src socket readable */
	struct evbuffer		*rbuf;		/* plain: bytes read from src */
	uint64_t		*counter;	/* relay's down or up total */
	struct segq		 q;		/* bytes waiting (--delay-ms) */
	size_t			 queued;	/* ... their number */
	struct event		*timer;		/* head of q is due */
	struct evbuffer		*stage;		/* parser output (--corrupt) */
	struct hparse		*hp;		/* parser (--corrupt), or NULL */
	int			 live;		/* src connected: may be read */
	int			 paused;	/* src reading stopped */
	int			 eof;		/* src has ended */
	int			 dst_ready;	/* dst connected, handshake done */
	int			 shut;		/* dst's write side shut down */
};

/* A relayed connection. */
struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct relay		*r;
	uint64_t		 id;
	struct bufferevent	*cbev;		/* client side (top level) */
	struct bufferevent	*ubev;		/* upstream side (top level) */
	struct dir		 dir[2];	/* UP, DOWN */
	TAILQ_HEAD(, req)	 reqs;		/* requests awaiting responses */
	unsigned		 nreqs;
	struct event		*reap;		/* frees the connection */
	int			 closing;	/* reap is scheduled */
};

static void	conn_close(struct conn *);
static void	dir_maybe_finish(struct dir *);

static void __attribute__((format(printf, 1, 2)))
logx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("blrelay: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* strtonum(3) for glibc: *errstr is NULL on success. */
static long long
num(const char *s, long long min, long long max, const char **errstr)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0) {
		*errstr = "invalid";
		return 0;
	}
	if (v < min || v > max) {
		*errstr = v < min ? "too small" : "too large";
		return 0;
	}
	*errstr = NULL;
	return v;
}

static void
addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char host[64];

	if (sa->sa_family == AF_INET6) {
		evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		evutil_inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else
		snprintf(buf, len, "?");
}

static void
stats_write(struct relay *r)
{
	struct timespec ts;

	if (r->stats == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(r->stats, "%lld %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
	    r->down_total, r->up_total, r->conns_total);
	fflush(r->stats);
}

/*
 * Spend one corruption from the --corrupt-count budget; 0 when none is
 * left.
 */
static int
corrupt_take(struct relay *r)
{
	if (r->corrupt_left == 0)
		return 0;
	if (r->corrupt_left > 0)
		r->corrupt_left--;
	return 1;
}

/* ---- HTTP/1.1 framing (--corrupt) ---------------------------------- */

static void
req_free(struct req *q)
{
	free(q->path);
	free(q);
}

/* Forget the message just parsed; expect the next start line. */
static void
hp_reset(struct hparse *hp)
{
	free(hp->path);
	hp->path = NULL;
	hp->state = HS_START;
	hp->status = 0;
	hp->te = hp->chunked = hp->has_cl = 0;
	hp->cl = hp->left = hp->pos = 0;
	hp->scan = SCAN_NONE;
	hp->fhave = 0;
	hp->fleft = 0;
}

static void
hp_free(struct hparse *hp)
{
	if (hp == NULL)
		return;
	free(hp->path);
	free(hp);
}

/*
 * Move one line, through its LF, from in to out, and copy it without
 * the line ending, NUL-terminated, into buf (LINE_MAX_LEN + 1 bytes).
 * Returns 1 with *lenp set, 0 when in holds no whole line yet, -1 when
 * the line is longer than LINE_MAX_LEN.  A bare LF ends a line too
 * (leniency allowed by RFC 9112 section 2.2).
 */
static int
take_line(struct evbuffer *in, struct evbuffer *out, char *buf,
    size_t *lenp)
{
	struct evbuffer_ptr p;
	size_t eol = 0;

	p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
	if (p.pos < 0)
		return evbuffer_get_length(in) > LINE_MAX_LEN ? -1 : 0;
	if ((size_t)p.pos > LINE_MAX_LEN)
		return -1;
	evbuffer_copyout(in, buf, p.pos);
	buf[p.pos] = '\0';
	evbuffer_remove_buffer(in, out, p.pos + eol);
	*lenp = p.pos;
	return 1;
}

static int
parse_cl(const char *s, uint64_t *np)
{
	uint64_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || n > BODY_MAX / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > BODY_MAX)
			return -1;
	}
	*np = n;
	return 0;
}

/*
 * "METHOD SP target SP HTTP/1.x": remember method and target for the
 * response.
 */
static int
hp_request_line(struct conn *c, const char *line, const char **why)
{
	const char *sp1, *sp2;
	struct req *q;
	size_t mlen;

	*why = "bad request line";
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return -1;
	mlen = (size_t)(sp1 - line);
	if (mlen == 0 || mlen >= sizeof(q->method) || sp2 == sp1 + 1 ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return -1;
	if (c->nreqs >= REQS_MAX) {
		*why = "too many requests awaiting responses";
		return -1;
	}
	*why = "out of memory";
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	if ((q->path = strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1))) == NULL) {
		free(q);
		return -1;
	}
	memcpy(q->method, line, mlen);
	TAILQ_INSERT_TAIL(&c->reqs, q, entry);
	c->nreqs++;
	return 0;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]". */
static int
hp_status_line(struct hparse *hp, const char *line, const char **why)
{
	int i;

	*why = "bad status line";
	if (strncmp(line, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)line[7]) || line[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++)
		if (!isdigit((unsigned char)line[i]))
			return -1;
	if (line[12] != ' ' && line[12] != '\0')
		return -1;
	hp->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	return hp->status < 100 ? -1 : 0;
}

/* "name: value"; only Content-Length and Transfer-Encoding matter. */
static int
hp_header(struct hparse *hp, char *line, size_t len, const char **why)
{
	char *colon, *v, *end, *last;
	uint64_t n;

	*why = "bad header line";
	if (line[0] == ' ' || line[0] == '\t') {
		*why = "obsolete header line folding";
		return -1;
	}
	if ((colon = strchr(line, ':')) == NULL || colon == line)
		return -1;
	*colon = '\0';
	if (strpbrk(line, " \t") != NULL)
		return -1;
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = line + len; end > v &&
	    (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'); end--)
		;
	*end = '\0';

	if (strcasecmp(line, "content-length") == 0) {
		if (parse_cl(v, &n) == -1) {
			*why = "bad Content-Length";
			return -1;
		}
		if (hp->has_cl && hp->cl != n) {
			*why = "conflicting Content-Length";
			return -1;
		}
		hp->has_cl = 1;
		hp->cl = n;
	} else if (strcasecmp(line, "transfer-encoding") == 0) {
		/* The last coding decides whether the body is chunked. */
		last = strrchr(v, ',');
		for (last = last != NULL ? last + 1 : v;
		    *last == ' ' || *last == '\t'; last++)
			;
		hp->te = 1;
		hp->chunked = strcasecmp(last, "chunked") == 0;
	}
	return 0;
}

/* "1*HEXDIG [BWS] [; ext]". */
static int
hp_chunk_size(struct hparse *hp, const char *line, const char **why)
{
	uint64_t n = 0;
	size_t i;
	int d;

	*why = "bad chunk size";
	for (i = 0; isxdigit((unsigned char)line[i]); i++) {
		if (i >= 15)
			return -1;
		d = isdigit((unsigned char)line[i]) ? line[i] - '0' :
		    tolower((unsigned char)line[i]) - 'a' + 10;
		n = n * 16 + (uint64_t)d;
	}
	if (i == 0 || (line[i] != '\0' && line[i] != ';' &&
	    line[i] != ' ' && line[i] != '\t'))
		return -1;
	if (n == 0)
		hp->state = HS_TRAILERS;
	else {
		hp->state = HS_CHUNK_DATA;
		hp->left = n;
	}
	return 0;
}

/* Flip the middle byte of a Content-Length body. */
static void
hp_arm_middle(struct hparse *hp, enum what what)
{
	if (hp->state != HS_BODY || hp->cl == 0)
		return;
	hp->scan = SCAN_FLIP;
	hp->what = what;
	hp->flip_at = hp->cl / 2;
}

/*
 * A response with a body to request q begins: decide whether a byte of
 * it is to be flipped.
 */
static void
hp_arm(struct conn *c, struct hparse *hp, struct req *q)
{
	struct relay *r = c->r;
	const char *p = q->path;

	if (r->corrupt_left == 0 || hp->status != 200)
		return;
	if (r->corrupt == CORRUPT_MANIFEST) {
		if (strcmp(q->method, "GET") == 0 &&
		    strncmp(p, "/v1/manifests/", 14) == 0)
			hp_arm_middle(hp, WHAT_MANIFEST);
	} else if (r->corrupt == CORRUPT_CHUNK) {
		if (strcmp(q->method, "POST") == 0 &&
		    strncmp(p, "/v1/chunks/batch", 16) == 0 &&
		    (p[16] == '\0' || p[16] == '?')) {
			hp->scan = SCAN_FRAMES;
			hp->what = WHAT_BATCH;
		} else if (strcmp(q->method, "GET") == 0 &&
		    strncmp(p, "/v1/chunks/", 11) == 0)
			hp_arm_middle(hp, WHAT_CHUNK);
	}
	if (hp->scan != SCAN_NONE) {
		hp->path = q->path;
		q->path = NULL;
	}
}

/* The empty line after the headers: how is the body framed? */
static int
hp_headers_done(struct conn *c, struct hparse *hp, const char **why)
{
	struct req *q;

	if (!hp->response) {
		if (hp->te && !hp->chunked) {
			*why = "request with unsupported Transfer-Encoding";
			return -1;
		}
		if (hp->chunked)
			hp->state = HS_CHUNK_SIZE;
		else if (hp->has_cl && hp->cl > 0) {
			hp->state = HS_BODY;
			hp->left = hp->cl;
		} else
			hp_reset(hp);
		return 0;
	}

	/* Interim responses: the final one to the same request follows. */
	if (hp->status < 200 && hp->status != 101) {
		hp_reset(hp);
		return 0;
	}
	if ((q = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, q, entry);
		c->nreqs--;
	}
	if (hp->status == 101)
		hp->state = HS_RAW;
	else if ((q != NULL && strcmp(q->method, "HEAD") == 0) ||
	    hp->status == 204 || hp->status == 304)
		hp_reset(hp);
	else if (hp->chunked)
		hp->state = HS_CHUNK_SIZE;
	else if (hp->te)
		hp->state = HS_RAW;	/* other codings: until close */
	else if (hp->has_cl) {
		if (hp->cl > 0) {
			hp->state = HS_BODY;
			hp->left = hp->cl;
		} else
			hp_reset(hp);
	} else
		hp->state = HS_RAW;	/* no length: until close */
	if (q != NULL) {
		if (hp->state != HS_START)
			hp_arm(c, hp, q);
		req_free(q);
	}
	return 0;
}

/* One complete line in a line state. */
static int
hp_line(struct conn *c, struct hparse *hp, char *line, size_t len,
    const char **why)
{
	if (memchr(line, '\0', len) != NULL) {
		*why = "NUL in a line";
		return -1;
	}
	switch (hp->state) {
	case HS_START:
		/* Empty lines before a start line are ignored (RFC 9112 2.2). */
		if (len == 0)
			return 0;
		hp_reset(hp);
		hp->state = HS_HEADERS;
		if (hp->response)
			return hp_status_line(hp, line, why);
		return hp_request_line(c, line, why);
	case HS_HEADERS:
		if (len == 0)
			return hp_headers_done(c, hp, why);
		return hp_header(hp, line, len, why);
	case HS_CHUNK_SIZE:
		return hp_chunk_size(hp, line, why);
	case HS_CHUNK_END:
		if (len != 0) {
			*why = "chunk data longer than its size";
			return -1;
		}
		hp->state = HS_CHUNK_SIZE;
		return 0;
	case HS_TRAILERS:
		if (len == 0)
			hp_reset(hp);
		return 0;
	default:
		*why = "parser state";
		return -1;
	}
}

/* Move one body byte, XORed with 0x01 if the budget allows; log it. */
static void
hp_flip(struct conn *c, struct hparse *hp, struct evbuffer *in,
    struct evbuffer *out)
{
	uint8_t b;

	evbuffer_remove(in, &b, 1);
	if (corrupt_take(c->r)) {
		b ^= 0x01;
		switch (hp->what) {
		case WHAT_MANIFEST:
			logx("corrupted manifest response for %s", hp->path);
			break;
		case WHAT_CHUNK:
			logx("corrupted chunk response for %s", hp->path);
			break;
		case WHAT_BATCH:
			logx("corrupted chunk %s in batch response", hp->id);
			break;
		}
	}
	evbuffer_add(out, &b, 1);
	hp->scan = SCAN_NONE;
}

/* A batch frame header is complete: is this the frame to flip? */
static void
hp_frame(struct hparse *hp)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *h = hp->fhdr;
	uint32_t length;
	int i;

	length = (uint32_t)h[40] << 24 | (uint32_t)h[41] << 16 |
	    (uint32_t)h[42] << 8 | h[43];
	if (h[32] == 0 && length > 0) {
		for (i = 0; i < 32; i++) {
			hp->id[2 * i] = hex[h[i] >> 4];
			hp->id[2 * i + 1] = hex[h[i] & 0xf];
		}
		hp->id[64] = '\0';
		hp->scan = SCAN_FLIP;
		hp->flip_at = hp->pos + length / 2;
		return;
	}
	hp->fleft = length;
	if (length == 0)
		hp->fhave = 0;
}

/* Move n body bytes from in to out, flipping the chosen one. */
static void
hp_body(struct conn *c, struct hparse *hp, struct evbuffer *in,
    struct evbuffer *out, size_t n)
{
	size_t take;

	while (n > 0) {
		switch (hp->scan) {
		case SCAN_NONE:
			evbuffer_remove_buffer(in, out, n);
			hp->pos += n;
			return;
		case SCAN_FLIP:
			if (hp->flip_at - hp->pos >= n) {
				evbuffer_remove_buffer(in, out, n);
				hp->pos += n;
				return;
			}
			take = (size_t)(hp->flip_at - hp->pos);
			evbuffer_remove_buffer(in, out, take);
			hp_flip(c, hp, in, out);
			hp->pos += take + 1;
			n -= take + 1;
			break;
		case SCAN_FRAMES:
			if (hp->fhave < FRAME_HDR_LEN) {
				take = FRAME_HDR_LEN - hp->fhave;
				if (take > n)
					take = n;
				evbuffer_copyout(in, hp->fhdr + hp->fhave, take);
				evbuffer_remove_buffer(in, out, take);
				hp->fhave += take;
				hp->pos += take;
				n -= take;
				if (hp->fhave == FRAME_HDR_LEN)
					hp_frame(hp);
				break;
			}
			take = hp->fleft < n ? (size_t)hp->fleft : n;
			evbuffer_remove_buffer(in, out, take);
			hp->fleft -= take;
			hp->pos += take;
			n -= take;
			if (hp->fleft == 0)
				hp->fhave = 0;
			break;
		}
	}
}

/*
 * Pass what in holds to out, following the HTTP framing.  Bytes of an
 * incomplete line stay in in.  Returns 0, or -1 with *why set when the
 * framing is malformed.
 */
static int
hp_feed(struct conn *c, struct hparse *hp, struct evbuffer *in,
    struct evbuffer *out, const char **why)
{
	char line[LINE_MAX_LEN + 1];
	size_t avail, len, n;
	int rv;

	while ((avail = evbuffer_get_length(in)) > 0) {
		switch (hp->state) {
		case HS_BODY:
		case HS_CHUNK_DATA:
			n = hp->left < avail ? (size_t)hp->left : avail;
			hp_body(c, hp, in, out, n);
			hp->left -= n;
			if (hp->left > 0)
				break;
			if (hp->state == HS_BODY)
				hp_reset(hp);
			else
				hp->state = HS_CHUNK_END;
			break;
		case HS_RAW:
			hp_body(c, hp, in, out, avail);
			break;
		default:
			if ((rv = take_line(in, out, line, &len)) == 0)
				return 0;
			if (rv == -1) {
				*why = "line longer than 16 KiB";
				return -1;
			}
			if (hp_line(c, hp, line, len, why) == -1)
				return -1;
		}
	}
	return 0;
}

/* ---- one direction: delay queue, flow control, end ----------------- */

/* Bytes waiting in this direction, queued or in output buffers. */
static size_t
dir_pending(const struct dir *d)
{
	size_t n;

	n = d->queued + evbuffer_get_length(bufferevent_get_output(d->dst));
	if (d->dst_wire != d->dst)
		n += evbuffer_get_length(bufferevent_get_output(d->dst_wire));
	return n;
}

/* Start or stop reading src: our own read event, or the TLS layer's. */
static void
dir_reading(struct dir *d, int on)
{
	if (d->rev != NULL) {
		if (on)
			event_add(d->rev, NULL);
		else
			event_del(d->rev);
	} else if (on)
		bufferevent_enable(d->src, EV_READ);
	else
		bufferevent_disable(d->src, EV_READ);
}

static void
dir_maybe_pause(struct dir *d)
{
	if (!d->paused && dir_pending(d) > RELAY_HIWAT) {
		dir_reading(d, 0);
		d->paused = 1;
	}
}

static void
dir_maybe_resume(struct dir *d)
{
	if (d->paused && dir_pending(d) < RELAY_LOWAT) {
		d->paused = 0;
		if (!d->eof && d->live)
			dir_reading(d, 1);
	}
}

/* What src has delivered and dir_read has not consumed yet. */
static struct evbuffer *
dir_input(struct dir *d)
{
	return d->rbuf != NULL ? d->rbuf : bufferevent_get_input(d->src);
}

static void
seg_free(struct seg *s)
{
	evbuffer_free(s->buf);
	free(s);
}

/* Schedule the timer for the head of the queue. */
static void
dir_arm(struct dir *d, uint64_t now)
{
	struct seg *s = TAILQ_FIRST(&d->q);
	struct timeval tv;
	uint64_t wait;

	wait = s->due > now ? s->due - now : 0;
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	evtimer_add(d->timer, &tv);
}

/*
 * Send what buf holds towards dst: at once, or after the delay.  buf is
 * left empty.  Returns -1 when out of memory.
 */
static int
dir_push(struct dir *d, struct evbuffer *buf)
{
	struct seg *s;
	uint64_t now;
	size_t n;

	if ((n = evbuffer_get_length(buf)) == 0)
		return 0;
	if (d->c->r->delay_us == 0)
		return evbuffer_add_buffer(bufferevent_get_output(d->dst), buf);

	now = mono_us();
	s = TAILQ_LAST(&d->q, segq);
	if (s == NULL || now - s->born >= SEG_MERGE_US) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		if ((s->buf = evbuffer_new()) == NULL) {
			free(s);
			return -1;
		}
		s->born = now;
		TAILQ_INSERT_TAIL(&d->q, s, entry);
	}
	s->due = now + d->c->r->delay_us;
	if (evbuffer_add_buffer(s->buf, buf) == -1)
		return -1;
	d->queued += n;
	if (!evtimer_pending(d->timer, NULL))
		dir_arm(d, now);
	return 0;
}

/* The head of the queue is due: write what is. */
static void
dir_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct dir *d = arg;
	struct evbuffer *out = bufferevent_get_output(d->dst);
	struct seg *s;
	uint64_t now = mono_us();

	(void)fd;
	(void)events;
	while ((s = TAILQ_FIRST(&d->q)) != NULL && s->due <= now) {
		TAILQ_REMOVE(&d->q, s, entry);
		d->queued -= evbuffer_get_length(s->buf);
		evbuffer_add_buffer(out, s->buf);
		seg_free(s);
	}
	if (s != NULL)
		dir_arm(d, now);
	dir_maybe_resume(d);
	dir_maybe_finish(d);
}

/* src has data: pass it on (through the parser with --corrupt). */
static void
dir_read(struct dir *d)
{
	struct conn *c = d->c;
	struct evbuffer *in = dir_input(d);
	const char *why = NULL;
	int rv;

	if (d->hp != NULL) {
		if (hp_feed(c, d->hp, in, d->stage, &why) == -1) {
			logx("conn %" PRIu64 ": malformed HTTP %s (%s), "
			    "closing", c->id, d->hp->response ? "response" :
			    "request", why);
			conn_close(c);
			return;
		}
		rv = dir_push(d, d->stage);
	} else
		rv = dir_push(d, in);
	if (rv == -1) {
		logx("conn %" PRIu64 ": out of memory, closing", c->id);
		conn_close(c);
		return;
	}
	dir_maybe_pause(d);
}

/*
 * src has ended: what the parser could not frame passes as it is; dst
 * is shut once everything has been written.
 */
static void
dir_eof(struct dir *d)
{
	struct evbuffer *in = dir_input(d);

	d->eof = 1;
	if (d->rev != NULL)
		event_del(d->rev);
	if (evbuffer_get_length(in) > 0) {
		dir_read(d);
		if (d->c->closing)
			return;
		if (dir_push(d, in) == -1) {
			conn_close(d->c);
			return;
		}
	}
	dir_maybe_finish(d);
}

/* Close the connection once both directions are shut and written. */
static void
conn_maybe_done(struct conn *c)
{
	struct dir *u = &c->dir[UP], *w = &c->dir[DOWN];

	if (!u->shut || !w->shut)
		return;
	if (evbuffer_get_length(bufferevent_get_output(u->dst_wire)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(w->dst_wire)) == 0)
		conn_close(c);
}

/*
 * After src's end everything has been written: shut down dst's write
 * side (plain: shutdown(2); MITM: close_notify).
 */
static void
dir_maybe_finish(struct dir *d)
{
	struct conn *c = d->c;
	SSL *ssl;

	if (c->closing || !d->eof || d->shut || !d->dst_ready ||
	    d->queued > 0 ||
	    evbuffer_get_length(bufferevent_get_output(d->dst)) > 0)
		return;
	d->shut = 1;
	if (c->r->mitm) {
		if ((ssl = bufferevent_openssl_get_ssl(d->dst)) != NULL)
			(void)SSL_shutdown(ssl);
		ERR_clear_error();
	} else
		(void)shutdown(bufferevent_getfd(d->dst), SHUT_WR);
	conn_maybe_done(c);
}

/* ---- connection callbacks ------------------------------------------ */

/* Bytes left dst_wire for the kernel: count them. */
static void
wire_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct dir *d = arg;

	(void)buf;
	if (info->n_deleted == 0)
		return;
	*d->counter += info->n_deleted;
	if (d->c->closing)
		return;
	dir_maybe_resume(d);
	if (d->shut)
		conn_maybe_done(d->c);
}

/*
 * Plain mode: src's socket is readable.  libevent 2.1's bufferevents
 * read at most 4096 bytes at a time (EVBUFFER_MAX_READ), so plain mode
 * reads itself: as much as FIONREAD reports, up to IO_MAX, into space
 * reserved in rbuf (sized to what is there, so no chain carries much
 * unused space along when it is moved on).
 */
static void
sock_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct dir *d = arg;
	struct conn *c = d->c;
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	ssize_t n;
	size_t left;
	int avail = 0, nv, i;

	(void)events;
	if (ioctl(fd, FIONREAD, &avail) == -1 || avail < (int)READ_MIN)
		avail = READ_MIN;
	else if (avail > (int)IO_MAX)
		avail = IO_MAX;
	if ((nv = evbuffer_reserve_space(d->rbuf, avail, v, 2)) <= 0) {
		logx("conn %" PRIu64 ": out of memory, closing", c->id);
		conn_close(c);
		return;
	}
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	if ((n = readv(fd, iov, nv)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		logx("conn %" PRIu64 ": %s error: %s", c->id,
		    d == &c->dir[UP] ? "client" : "upstream", strerror(errno));
		conn_close(c);
		return;
	}
	for (i = 0, left = (size_t)n; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(d->rbuf, v, nv);
	if (n == 0)
		dir_eof(d);
	else
		dir_read(d);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	dir_read(&c->dir[bev == c->cbev ? UP : DOWN]);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct dir *d = &c->dir[bev == c->cbev ? DOWN : UP];

	dir_maybe_resume(d);
	dir_maybe_finish(d);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	int err = EVUTIL_SOCKET_ERROR();
	int up = bev == c->ubev;
	struct dir *from = &c->dir[up ? DOWN : UP];	/* bev is its src */
	struct dir *to = &c->dir[up ? UP : DOWN];	/* bev is its dst */
	const char *side = up ? "upstream" : "client";
	unsigned long e;
	char msg[256];

	if (what & BEV_EVENT_CONNECTED) {
		to->dst_ready = 1;
		from->live = 1;
		if (!from->paused && !from->eof)
			dir_reading(from, 1);
		dir_maybe_finish(to);
		return;
	}
	if ((what & BEV_EVENT_EOF) && to->dst_ready) {
		dir_eof(from);
		return;
	}

	/* An error, or an end before the connection was up. */
	msg[0] = '\0';
	if (c->r->mitm)
		while ((e = bufferevent_get_openssl_error(bev)) != 0)
			if (msg[0] == '\0')
				ERR_error_string_n(e, msg, sizeof(msg));
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "%s", (what & BEV_EVENT_EOF) ||
		    err == 0 ? "connection closed" :
		    evutil_socket_error_to_string(err));
	if (up && !to->dst_ready)
		logx("conn %" PRIu64 ": upstream %s failed: %s", c->id,
		    c->r->up_name, msg);
	else
		logx("conn %" PRIu64 ": %s %s: %s", c->id, side,
		    to->dst_ready ? "error" : "handshake failed", msg);
	conn_close(c);
}

/* ---- connections ---------------------------------------------------- */

/* Free a connection and everything it holds. */
static void
conn_free(struct conn *c)
{
	struct relay *r = c->r;
	struct seg *s;
	struct req *q;
	struct dir *d;
	int i;

	for (i = 0; i < 2; i++) {
		d = &c->dir[i];
		if (d->wire_cb != NULL)
			evbuffer_remove_cb_entry(
			    bufferevent_get_output(d->dst_wire), d->wire_cb);
		if (d->timer != NULL)
			event_free(d->timer);
		if (d->rev != NULL)
			event_free(d->rev);
		if (d->rbuf != NULL)
			evbuffer_free(d->rbuf);
		while ((s = TAILQ_FIRST(&d->q)) != NULL) {
			TAILQ_REMOVE(&d->q, s, entry);
			seg_free(s);
		}
		if (d->stage != NULL)
			evbuffer_free(d->stage);
		hp_free(d->hp);
	}
	while ((q = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, q, entry);
		req_free(q);
	}
	/* The top-level bufferevents own the sockets, SSLs and wires. */
	if (c->cbev != NULL)
		bufferevent_free(c->cbev);
	if (c->ubev != NULL)
		bufferevent_free(c->ubev);
	if (c->reap != NULL)
		event_free(c->reap);
	TAILQ_REMOVE(&r->conns, c, entry);
	r->nconns--;
	free(c);
}

static void
reap_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	conn_free(arg);
}

/*
 * Stop all I/O of the connection now; it is freed from the loop, outside
 * any of its callbacks.
 */
static void
conn_close(struct conn *c)
{
	int i;

	if (c->closing)
		return;
	c->closing = 1;
	for (i = 0; i < 2; i++) {
		if (c->dir[i].timer != NULL)
			evtimer_del(c->dir[i].timer);
		if (c->dir[i].rev != NULL)
			event_del(c->dir[i].rev);
	}
	bufferevent_setcb(c->cbev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->cbev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->ubev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->ubev, EV_READ | EV_WRITE);
	event_active(c->reap, EV_TIMEOUT, 0);
}

static void
set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void
bev_tune(struct bufferevent *bev)
{
	bufferevent_set_max_single_read(bev, IO_MAX);
	bufferevent_set_max_single_write(bev, IO_MAX);
}

/* Wrap a socket bufferevent in TLS; *bevp becomes the TLS one. */
static int
wrap_tls(struct relay *r, struct bufferevent **bevp, SSL_CTX *ctx,
    enum bufferevent_ssl_state state)
{
	struct bufferevent *tls;
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return -1;
	bufferevent_setwatermark(*bevp, EV_WRITE, WIRE_LOWAT, WIRE_HIWAT);
	tls = bufferevent_openssl_filter_new(r->base, *bevp, ssl, state,
	    BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		/*
		 * Out of memory: libevent 2.1 may or may not have freed
		 * ssl and the socket bufferevent by now; leak them rather
		 * than risk a double free.
		 */
		*bevp = NULL;
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	bev_tune(tls);
	*bevp = tls;
	return 0;
}

static void
dir_init(struct conn *c, int which, struct bufferevent *src,
    struct bufferevent *dst, struct bufferevent *dst_wire, uint64_t *counter)
{
	struct dir *d = &c->dir[which];

	d->src = src;
	d->dst = dst;
	d->dst_wire = dst_wire;
	d->counter = counter;
}

/*
 * Set up the relay of accepted socket fd (which this takes over): the
 * upstream connection, TLS, directions, callbacks.
 */
static int
conn_open(struct conn *c, evutil_socket_t fd)
{
	struct relay *r = c->r;
	struct bufferevent *cw, *uw;
	evutil_socket_t ufd;
	struct dir *d;
	int i;

	set_nodelay(fd);
	if ((cw = bufferevent_socket_new(r->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		return -1;
	}
	c->cbev = cw;
	if ((ufd = socket(r->up_addr.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (evutil_make_socket_nonblocking(ufd) == -1 ||
	    evutil_make_socket_closeonexec(ufd) == -1) {
		evutil_closesocket(ufd);
		return -1;
	}
	set_nodelay(ufd);
	if ((uw = bufferevent_socket_new(r->base, ufd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(ufd);
		return -1;
	}
	c->ubev = uw;
	bev_tune(cw);
	bev_tune(uw);
	if (bufferevent_socket_connect(uw, (struct sockaddr *)&r->up_addr,
	    r->up_addrlen) == -1) {
		logx("conn %" PRIu64 ": upstream %s failed: %s", c->id,
		    r->up_name,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	if (r->mitm) {
		if (wrap_tls(r, &c->cbev, r->srv_ctx,
		    BUFFEREVENT_SSL_ACCEPTING) == -1 ||
		    wrap_tls(r, &c->ubev, r->cli_ctx,
		    BUFFEREVENT_SSL_CONNECTING) == -1)
			return -1;
	}

	dir_init(c, UP, c->cbev, c->ubev, uw, &r->up_total);
	dir_init(c, DOWN, c->ubev, c->cbev, cw, &r->down_total);
	c->dir[DOWN].dst_ready = !r->mitm;
	c->dir[UP].live = 1;
	c->dir[DOWN].live = r->mitm;	/* plain: once upstream is connected */
	for (i = 0; i < 2; i++) {
		d = &c->dir[i];
		if (!r->mitm &&
		    ((d->rbuf = evbuffer_new()) == NULL ||
		    (d->rev = event_new(r->base, bufferevent_getfd(d->src),
		    EV_READ | EV_PERSIST, sock_read_cb, d)) == NULL))
			return -1;
		d->wire_cb = evbuffer_add_cb(bufferevent_get_output(d->dst_wire),
		    wire_cb, d);
		if (d->wire_cb == NULL)
			return -1;
		if (r->delay_us > 0 &&
		    (d->timer = evtimer_new(r->base, dir_timer_cb, d)) == NULL)
			return -1;
		if (r->corrupt != CORRUPT_NONE) {
			if ((d->stage = evbuffer_new()) == NULL ||
			    (d->hp = calloc(1, sizeof(*d->hp))) == NULL)
				return -1;
			d->hp->response = i == DOWN;
		}
		/* write_cb runs whenever output is at or below RELAY_LOWAT. */
		bufferevent_setwatermark(d->dst, EV_WRITE, RELAY_LOWAT, 0);
	}
	bufferevent_setcb(c->cbev, read_cb, write_cb, event_cb, c);
	bufferevent_setcb(c->ubev, read_cb, write_cb, event_cb, c);
	/*
	 * Plain mode reads the client now and upstream once connected, with
	 * its own read events; the bufferevents only connect and write.
	 */
	if (r->mitm)
		return bufferevent_enable(c->cbev, EV_READ | EV_WRITE) == -1 ||
		    bufferevent_enable(c->ubev, EV_READ | EV_WRITE) == -1 ?
		    -1 : 0;
	if (bufferevent_enable(c->cbev, EV_WRITE) == -1 ||
	    bufferevent_enable(c->ubev, EV_WRITE) == -1)
		return -1;
	dir_reading(&c->dir[UP], 1);
	return 0;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct relay *r = arg;
	struct conn *c;
	char peer[80];
	int i;

	(void)l;
	(void)salen;
	addr_str(sa, peer, sizeof(peer));
	if (r->nconns >= r->max_conns) {
		logx("refusing connection from %s: %u open (--max-conns)",
		    peer, r->nconns);
		evutil_closesocket(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		logx("refusing connection from %s: out of memory", peer);
		evutil_closesocket(fd);
		return;
	}
	c->r = r;
	c->id = ++r->conns_total;
	TAILQ_INIT(&c->reqs);
	for (i = 0; i < 2; i++) {
		c->dir[i].c = c;
		TAILQ_INIT(&c->dir[i].q);
	}
	TAILQ_INSERT_TAIL(&r->conns, c, entry);
	r->nconns++;
	logx("conn %" PRIu64 " from %s", c->id, peer);
	if ((c->reap = event_new(r->base, -1, 0, reap_cb, c)) == NULL) {
		evutil_closesocket(fd);
		conn_free(c);
		return;
	}
	if (conn_open(c, fd) == -1) {
		logx("conn %" PRIu64 ": setup failed, closing", c->id);
		conn_free(c);
	}
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	logx("accept: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* ---- relay setup ---------------------------------------------------- */

static void
stats_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	stats_write(arg);
}

static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct relay *r = arg;

	(void)events;
	if (sig == SIGUSR1) {
		stats_write(r);
		return;
	}
	r->exit_sig = (int)sig;
	event_base_loopbreak(r->base);
}

/* Any client certificate, or none, is accepted: it is only asked for. */
static int
verify_any(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	(void)store;
	return 1;
}

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, h11,
	    sizeof(h11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

static void
tls_fail(const char *what, const char *file)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	logx("%s %s: %s", what, file, buf);
}

/* Both TLS contexts of --mitm; -1 after logging what failed. */
static int
tls_setup(struct relay *r, const char *cert, const char *key, const char *ca,
    const char *ccert, const char *ckey)
{
	static const unsigned char h11[] = "\x08http/1.1";
	static const unsigned char sid[] = "blrelay";
	SSL_CTX *s, *c;

	if ((s = r->srv_ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    (c = r->cli_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_fail("SSL_CTX_new", "");
		return -1;
	}
	SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);

	if (SSL_CTX_use_certificate_chain_file(s, cert) != 1) {
		tls_fail("--cert", cert);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s) != 1) {
		tls_fail("--key", key);
		return -1;
	}
	SSL_CTX_set_verify(s, SSL_VERIFY_PEER, verify_any);
	SSL_CTX_set_session_id_context(s, sid, sizeof(sid) - 1);
	SSL_CTX_set_alpn_select_cb(s, alpn_select, NULL);

	if (SSL_CTX_load_verify_locations(c, ca, NULL) != 1) {
		tls_fail("--ca", ca);
		return -1;
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	if (ccert != NULL &&
	    SSL_CTX_use_certificate_chain_file(c, ccert) != 1) {
		tls_fail("--client-cert", ccert);
		return -1;
	}
	if (ckey != NULL &&
	    (SSL_CTX_use_PrivateKey_file(c, ckey, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(c) != 1)) {
		tls_fail("--client-key", ckey);
		return -1;
	}
	/* SSL_CTX_set_alpn_protos returns 0 on success. */
	if (SSL_CTX_set_alpn_protos(c, h11, sizeof(h11) - 1) != 0) {
		tls_fail("ALPN", "");
		return -1;
	}
	return 0;
}

/* PID into path.tmp, renamed to path: readers never see it half done. */
static int
pidfile_write(const char *path)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: blrelay --listen ADDR:PORT --connect ADDR:PORT "
	    "[--delay-ms N] [--stats FILE]\n"
	    "               [--pidfile FILE] [--max-conns N]\n"
	    "               [--mitm --cert FILE --key FILE --ca FILE "
	    "[--client-cert FILE --client-key FILE]\n"
	    "                [--corrupt manifest|chunk "
	    "[--corrupt-count N]]]\n");
	exit(1);
}

enum {
	OPT_LISTEN = 256, OPT_CONNECT, OPT_DELAY, OPT_STATS, OPT_PIDFILE,
	OPT_MAXCONNS, OPT_MITM, OPT_CERT, OPT_KEY, OPT_CA, OPT_CCERT,
	OPT_CKEY, OPT_CORRUPT, OPT_CCOUNT
};

static const struct option longopts[] = {
	{ "listen",		required_argument, NULL, OPT_LISTEN },
	{ "connect",		required_argument, NULL, OPT_CONNECT },
	{ "delay-ms",		required_argument, NULL, OPT_DELAY },
	{ "stats",		required_argument, NULL, OPT_STATS },
	{ "pidfile",		required_argument, NULL, OPT_PIDFILE },
	{ "max-conns",		required_argument, NULL, OPT_MAXCONNS },
	{ "mitm",		no_argument,	   NULL, OPT_MITM },
	{ "cert",		required_argument, NULL, OPT_CERT },
	{ "key",		required_argument, NULL, OPT_KEY },
	{ "ca",			required_argument, NULL, OPT_CA },
	{ "client-cert",	required_argument, NULL, OPT_CCERT },
	{ "client-key",		required_argument, NULL, OPT_CKEY },
	{ "corrupt",		required_argument, NULL, OPT_CORRUPT },
	{ "corrupt-count",	required_argument, NULL, OPT_CCOUNT },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL,			0,		   NULL, 0 }
};

int
main(int argc, char *argv[])
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGUSR1 };
	static const struct timeval one_sec = { 1, 0 };
	struct relay r;
	struct sockaddr_storage la;
	struct conn *c;
	const char *listen_s = NULL, *connect_s = NULL, *stats_s = NULL;
	const char *pidfile = NULL, *cert = NULL, *key = NULL, *ca = NULL;
	const char *ccert = NULL, *ckey = NULL, *errstr;
	char lname[64];
	int ch, i, li, lalen = sizeof(la);

	memset(&r, 0, sizeof(r));
	TAILQ_INIT(&r.conns);
	r.max_conns = CONNS_DEFAULT;
	r.corrupt_left = -1;

	while ((li = -1, ch = getopt_long(argc, argv, "h", longopts,
	    &li)) != -1) {
		errstr = NULL;
		switch (ch) {
		case OPT_LISTEN:
			listen_s = optarg;
			break;
		case OPT_CONNECT:
			connect_s = optarg;
			break;
		case OPT_DELAY:
			r.delay_us = 1000 *
			    (uint64_t)num(optarg, 0, 600000, &errstr);
			break;
		case OPT_STATS:
			stats_s = optarg;
			break;
		case OPT_PIDFILE:
			pidfile = optarg;
			break;
		case OPT_MAXCONNS:
			r.max_conns = (unsigned)num(optarg, 1, 65536, &errstr);
			break;
		case OPT_MITM:
			r.mitm = 1;
			break;
		case OPT_CERT:
			cert = optarg;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_CA:
			ca = optarg;
			break;
		case OPT_CCERT:
			ccert = optarg;
			break;
		case OPT_CKEY:
			ckey = optarg;
			break;
		case OPT_CORRUPT:
			if (strcmp(optarg, "manifest") == 0)
				r.corrupt = CORRUPT_MANIFEST;
			else if (strcmp(optarg, "chunk") == 0)
				r.corrupt = CORRUPT_CHUNK;
			else
				errstr = "not manifest or chunk";
			break;
		case OPT_CCOUNT:
			r.corrupt_left = num(optarg, 0, LLONG_MAX, &errstr);
			break;
		default:
			usage();
		}
		if (errstr != NULL) {
			logx("--%s %s: %s", li >= 0 ? longopts[li].name : "?",
			    optarg, errstr);
			usage();
		}
	}
	if (optind != argc || listen_s == NULL || connect_s == NULL)
		usage();
	if (r.mitm && (cert == NULL || key == NULL || ca == NULL ||
	    (ccert == NULL) != (ckey == NULL))) {
		logx("--mitm needs --cert, --key, --ca, and --client-cert "
		    "with --client-key");
		usage();
	}
	if (!r.mitm && (r.corrupt != CORRUPT_NONE || cert != NULL ||
	    key != NULL || ca != NULL || ccert != NULL || ckey != NULL)) {
		logx("--corrupt and the certificate options need --mitm");
		usage();
	}
	if (evutil_parse_sockaddr_port(listen_s, (struct sockaddr *)&la,
	    &lalen) == -1) {
		logx("--listen %s: not ADDR:PORT", listen_s);
		usage();
	}
	r.up_addrlen = sizeof(r.up_addr);
	if (evutil_parse_sockaddr_port(connect_s,
	    (struct sockaddr *)&r.up_addr, &r.up_addrlen) == -1) {
		logx("--connect %s: not ADDR:PORT", connect_s);
		usage();
	}
	addr_str((struct sockaddr *)&r.up_addr, r.up_name, sizeof(r.up_name));
	addr_str((struct sockaddr *)&la, lname, sizeof(lname));

	signal(SIGPIPE, SIG_IGN);
	if ((r.base = event_base_new()) == NULL) {
		logx("event_base_new failed");
		return 1;
	}
	if (r.mitm && tls_setup(&r, cert, key, ca, ccert, ckey) == -1)
		return 1;
	if (stats_s != NULL && (r.stats = fopen(stats_s, "a")) == NULL) {
		logx("--stats %s: %s", stats_s, strerror(errno));
		return 1;
	}
	r.listener = evconnlistener_new_bind(r.base, accept_cb, &r,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    128, (struct sockaddr *)&la, lalen);
	if (r.listener == NULL) {
		logx("listen %s: %s", lname,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return 1;
	}
	evconnlistener_set_error_cb(r.listener, accept_error_cb);
	for (i = 0; i < 3; i++) {
		r.sig_ev[i] = evsignal_new(r.base, sigs[i], signal_cb, &r);
		if (r.sig_ev[i] == NULL || evsignal_add(r.sig_ev[i], NULL)) {
			logx("signal setup failed");
			return 1;
		}
	}
	if (r.stats != NULL) {
		r.stats_ev = event_new(r.base, -1, EV_PERSIST, stats_cb, &r);
		if (r.stats_ev == NULL || event_add(r.stats_ev, &one_sec)) {
			logx("stats timer setup failed");
			return 1;
		}
	}
	if (pidfile != NULL && pidfile_write(pidfile) == -1) {
		logx("--pidfile %s: %s", pidfile, strerror(errno));
		return 1;
	}
	logx("listening on %s, relaying to %s%s, delay %" PRIu64 " ms",
	    lname, r.up_name, r.mitm ? " (TLS man in the middle)" : "",
	    r.delay_us / 1000);

	event_base_dispatch(r.base);

	while ((c = TAILQ_FIRST(&r.conns)) != NULL)
		conn_free(c);
	evconnlistener_free(r.listener);
	stats_write(&r);
	logx("exiting on signal %d: %" PRIu64 " connections, %" PRIu64
	    " bytes down, %" PRIu64 " bytes up", r.exit_sig, r.conns_total,
	    r.down_total, r.up_total);
	if (pidfile != NULL)
		unlink(pidfile);
	if (r.stats_ev != NULL)
		event_free(r.stats_ev);
	for (i = 0; i < 3; i++)
		event_free(r.sig_ev[i]);
	if (r.stats != NULL)
		fclose(r.stats);
	SSL_CTX_free(r.srv_ctx);
	SSL_CTX_free(r.cli_ctx);
	event_base_free(r.base);
	return 0;
}

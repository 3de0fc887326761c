/*
 * relay.h - what the parts of blrelay share (see blrelay.c for what the
 * relay does): limits, the relay, connection and direction state, and
 * the functions one part calls in another.
 *
 *   blrelay.c     options, setup (TLS contexts, listener, signals,
 *                 stats), small helpers
 *   relay_conn.c  connections: accept, connect, the per-direction delay
 *                 queue and flow control, closing
 *   relay_http.c  HTTP/1.1 framing of a relayed stream and the byte
 *                 flips of --corrupt
 */
#ifndef BL_RELAY_H
#define BL_RELAY_H

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

/* blrelay.c */
void	logx(const char *, ...) __attribute__((format(printf, 1, 2)));
uint64_t mono_us(void);
void	addr_str(const struct sockaddr *, char *, size_t);
int	corrupt_take(struct relay *);

/* relay_conn.c */
void	conn_close(struct conn *);
void	conn_free(struct conn *);
void	accept_cb(struct evconnlistener *, evutil_socket_t, struct sockaddr *,
	    int, void *);
void	accept_error_cb(struct evconnlistener *, void *);

/* relay_http.c */
void	req_free(struct req *);
void	hp_free(struct hparse *);
int	hp_feed(struct conn *, struct hparse *, struct evbuffer *,
	    struct evbuffer *, const char **);

#endif /* BL_RELAY_H */

/*
 * test_batch.c - the "batch" suite: batch_parse over good and hostile id
 * lists, and batch_serve streaming a real store's chunks over HTTP on
 * loopback (frames in order, as stored, status 1 for an absent id, more
 * than one pump, a peer that hangs up mid-stream, streams paced to the
 * rate a peer names, together).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <CUnit/CUnit.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "batchsrv.h"
#include "error.h"
#include "hash.h"
#include "store.h"
#include "test_list.h"
#include "testutil.h"

/* --- batch_parse ----------------------------------------------------- */

/* The id of seed i and its 64 hex digits. */
static void
mkid(unsigned i, uint8_t id[32], char hex[65])
{
	tu_fill(id, 32, 1000 + i);
	hash_hex(id, 32, hex);
}

/* Parse a NUL-terminated body from an exact-size heap copy (so ASan sees
 * any read past len). */
static int
parse(const char *body, uint8_t (**ids)[32], size_t *n, char *why,
        size_t whylen)
{
	size_t len = strlen(body);
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, body, len);
	rc = batch_parse(copy, len, ids, n, why, whylen);
	free(copy);
	return rc;
}

/* n ids, each followed by sep, into a malloc'd string. */
static char *
lines(unsigned n, const char *sep)
{
	size_t sl = strlen(sep);
	char *s = malloc(n * (64 + sl) + 1), *p = s, hex[65];
	uint8_t id[32];
	unsigned i;

	for (i = 0; i < n; i++) {
		mkid(i, id, hex);
		memcpy(p, hex, 64);
		memcpy(p + 64, sep, sl);
		p += 64 + sl;
	}
	*p = '\0';
	return s;
}

/* ids[0..n) are mkid(0..n)? */
static int
ids_are(uint8_t (*ids)[32], size_t n)
{
	uint8_t id[32];
	char hex[65];
	size_t i;

	for (i = 0; i < n; i++) {
		mkid((unsigned)i, id, hex);
		if (memcmp(ids[i], id, 32) != 0)
			return 0;
	}
	return 1;
}

static void
test_parse_good(void)
{
	const char *seps[] = {"\n", "\r\n"};
	uint8_t (*ids)[32];
	char *s, *t, why[256];
	size_t n, i;

	for (i = 0; i < 2; i++) {
		s = lines(3, seps[i]);
		CU_ASSERT_EQUAL(parse(s, &ids, &n, why, sizeof(why)), 0);
		CU_ASSERT_EQUAL(n, 3);
		CU_ASSERT(ids_are(ids, n));
		free(ids);
		/* Without the last line end. */
		s[strlen(s) - strlen(seps[i])] = '\0';
		CU_ASSERT_EQUAL(parse(s, &ids, &n, why, sizeof(why)), 0);
		CU_ASSERT_EQUAL(n, 3);
		CU_ASSERT(ids_are(ids, n));
		free(ids);
		free(s);
	}
	/* Blank lines anywhere, LF and CRLF mixed. */
	s = lines(2, "\n");
	t = malloc(strlen(s) + 16);
	sprintf(t, "\n\r\n%.64s\n\n\r\n%.64s\r\n\n", s, s + 65);
	CU_ASSERT_EQUAL(parse(t, &ids, &n, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT(ids_are(ids, n));
	free(ids);
	free(t);
	free(s);
	/* Duplicates are kept, in order. */
	s = lines(1, "\n");
	t = malloc(200);
	sprintf(t, "%s%s", s, s);
	CU_ASSERT_EQUAL(parse(t, &ids, &n, NULL, 0), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT(n == 2 && memcmp(ids[0], ids[1], 32) == 0);
	free(ids);
	free(t);
	free(s);
}

static void
test_parse_empty(void)
{
	uint8_t (*ids)[32] = NULL;
	size_t n = 99;

	CU_ASSERT_EQUAL(batch_parse(NULL, 0, &ids, &n, NULL, 0), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NOT_NULL(ids); /* freed like any other result */
	free(ids);
	CU_ASSERT_EQUAL(parse("\n\r\n\n", &ids, &n, NULL, 0), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(ids);
}

static void
test_parse_bounds(void)
{
	uint8_t (*ids)[32];
	char *s, *t, why[256];
	size_t n;

	s = lines(BATCH_MAX, "\n");
	CU_ASSERT_EQUAL(parse(s, &ids, &n, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(n, BATCH_MAX);
	CU_ASSERT(ids_are(ids, n));
	free(ids);
	/* The largest body the servers take holds exactly BATCH_MAX. */
	free(s);
	s = lines(BATCH_MAX, "\r\n");
	CU_ASSERT_EQUAL(strlen(s), BATCH_BODY_MAX);
	CU_ASSERT_EQUAL(parse(s, &ids, &n, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(n, BATCH_MAX);
	free(ids);
	free(s);
	/* Blank lines do not count. */
	s = lines(BATCH_MAX, "\n\n");
	CU_ASSERT_EQUAL(parse(s, &ids, &n, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(n, BATCH_MAX);
	free(ids);
	free(s);
	s = lines(BATCH_MAX + 1, "\n");
	ids = (void *)s; /* must come back NULL */
	n = 7;
	CU_ASSERT_EQUAL(parse(s, &ids, &n, why, sizeof(why)), BL_ETOOBIG);
	CU_ASSERT_PTR_NULL(ids);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "1024"));
	/* Too many wins over a malformed extra line. */
	t = malloc(strlen(s) + 8);
	sprintf(t, "%.*sbad\n", (int)(BATCH_MAX * 65), s);
	CU_ASSERT_EQUAL(parse(t, &ids, &n, NULL, 0), BL_ETOOBIG);
	free(t);
	free(s);
}

/* body must fail with BL_EFORMAT, why containing each of want[]. */
static void
bad(const char *body, const char *want1, const char *want2)
{
	uint8_t (*ids)[32] = (void *)&want1;
	char why[256] = "";
	size_t n = 5;

	CU_ASSERT_EQUAL(parse(body, &ids, &n, why, sizeof(why)), BL_EFORMAT);
	CU_ASSERT_PTR_NULL(ids);
	CU_ASSERT_EQUAL(n, 0);
	if (strstr(why, want1) == NULL || (want2 && !strstr(why, want2))) {
		fprintf(stderr, "\n  why: %s (wanted %s, %s)\n", why, want1,
		        want2 ? want2 : "-");
		CU_FAIL("why does not name the problem");
	}
}

static void
test_parse_bad(void)
{
	char *s = lines(2, "\n"), body[400], hex[65];
	uint8_t id[32];
	size_t i;

	mkid(0, id, hex);
	/* Short and long lines. */
	snprintf(body, sizeof(body), "%s%.63s\n", s, hex);
	bad(body, "line 3", "not a chunk id");
	snprintf(body, sizeof(body), "%s0\n", hex);
	bad(body, "line 1", "not a chunk id");
	snprintf(body, sizeof(body), "%.64s", "abc");
	bad(body, "line 1", "'abc'");
	/* Not hex. */
	snprintf(body, sizeof(body), "%s\n%.63sg\n", hex, hex);
	bad(body, "line 2", NULL);
	/* Upper case is refused, as in request paths. */
	for (i = 0; i < 64; i++)
		body[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
	body[64] = '\0';
	bad(body, "line 1", "lowercase");
	/* Line numbers count blank lines too. */
	snprintf(body, sizeof(body), "\n%s\n\nnot-a-chunk-id\n", hex);
	bad(body, "line 4", "'not-a-chunk-id'");
	/* Whitespace is not trimmed; a CR alone is no line end. */
	snprintf(body, sizeof(body), "%s \n", hex);
	bad(body, "line 1", NULL);
	snprintf(body, sizeof(body), " %s\n", hex);
	bad(body, "line 1", NULL);
	snprintf(body, sizeof(body), "%s\r%s\n", hex, hex);
	bad(body, "line 1", "...");
	snprintf(body, sizeof(body), "%s\r\r\n", hex);
	bad(body, "line 1", NULL);
	free(s);
}

static void
test_parse_hostile(void)
{
	uint8_t (*ids)[32], body[200];
	char hex[65], why[256];
	uint8_t id[32];
	size_t n;

	/* A NUL inside a line fails; the message shows it as '?'. */
	mkid(0, id, hex);
	memcpy(body, hex, 64);
	body[10] = '\0';
	body[64] = '\n';
	CU_ASSERT_EQUAL(
	        batch_parse(body, 65, &ids, &n, why, sizeof(why)), BL_EFORMAT);
	CU_ASSERT_PTR_NOT_NULL(strchr(why, '?'));
	/* Control and high bytes never reach the message. */
	memset(body, 0xff, sizeof(body));
	body[3] = 0x1b;
	CU_ASSERT_EQUAL(
	        batch_parse(body, sizeof(body), &ids, &n, why, sizeof(why)),
	        BL_EFORMAT);
	for (n = 0; why[n] != '\0'; n++)
		CU_ASSERT((unsigned char)why[n] >= 0x20 &&
		        (unsigned char)why[n] <= 0x7e);
	/* A length cut inside the body is honoured. */
	memcpy(body, hex, 64);
	memcpy(body + 64, "\nzz", 3);
	CU_ASSERT_EQUAL(batch_parse(body, 65, &ids, &n, NULL, 0), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(ids);
	CU_ASSERT_EQUAL(batch_parse(body, 64, &ids, &n, NULL, 0), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(ids);
	CU_ASSERT_EQUAL(batch_parse(body, 63, &ids, &n, NULL, 0), BL_EFORMAT);
	/* A tiny why buffer is still NUL-terminated. */
	CU_ASSERT_EQUAL(batch_parse(body, 63, &ids, &n, why, 4), BL_EFORMAT);
	CU_ASSERT_EQUAL(strlen(why), 3);
}

/* --- the rate header -------------------------------------------------- */

static void
test_rate_parse(void)
{
	static const char *bad[] = {"", "0", "-5", "+5", "1e6", " 100",
	        "100 ", "10 mbit", "2000000000001", "99999999999999999999",
	        "12abc", "0x10", "1.5"};
	char why[200], big[300];
	uint64_t r = 7;
	size_t i;

	CU_ASSERT_EQUAL(batch_rate_parse(NULL, &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r, 0); /* no header: not paced */
	CU_ASSERT_EQUAL(batch_rate_parse("1", &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r, 1);
	CU_ASSERT_EQUAL(batch_rate_parse("1000000", &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r, 1000000);
	CU_ASSERT_EQUAL(
	        batch_rate_parse("2000000000000", &r, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(r, BATCH_RATE_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = 7;
		why[0] = '\0';
		CU_ASSERT_EQUAL(batch_rate_parse(bad[i], &r, why, sizeof(why)),
		        BL_EFORMAT);
		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, BATCH_RATE_HEADER));
	}
	/* A long hostile value is quoted, cut and made printable. */
	memset(big, '9', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[3] = '\x01';
	CU_ASSERT_EQUAL(batch_rate_parse(big, &r, why, sizeof(why)),
	        BL_EFORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "999?999"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "..."));
	CU_ASSERT(strlen(why) < 200);
	CU_ASSERT_EQUAL(batch_rate_parse("x", &r, NULL, 0), BL_EFORMAT);
}

/* --- batch_serve over loopback HTTP --------------------------------- */

#define DATA_LEN (5u << 20) /* > BATCH_QUEUE: several pumps */

struct srv {
	struct event_base *base;
	struct evhttp *http;
	struct store *s;
	uint8_t (*ids)[32]; /* what the next request serves */
	size_t n;
	uint64_t rate; /* and at what pace */
	int served;
};

static void
srv_request(struct evhttp_request *req, void *arg)
{
	struct srv *sv = arg;

	/* The body is ignored: the ids come from the test. */
	CU_ASSERT_EQUAL(batch_serve(sv->s, req, sv->ids, sv->n, "test",
	                        sv->rate),
	        0);
	sv->ids = NULL;
	sv->served++;
}

struct cli {
	struct event_base *base;
	struct evbuffer *got;
	int status, done;
	int *left;     /* requests still running; the last one stops */
	size_t hangup; /* > 0: drop the connection after this many bytes */
	struct evhttp_connection *evcon;
};

static void
cli_chunk(struct evhttp_request *req, void *arg)
{
	struct cli *c = arg;

	evbuffer_add_buffer(c->got, evhttp_request_get_input_buffer(req));
	if (c->hangup > 0 && evbuffer_get_length(c->got) >= c->hangup &&
	        !c->done) {
		c->done = 1;
		c->status = evhttp_request_get_response_code(req);
		event_base_loopexit(c->base, NULL); /* then the caller
		                                     * frees the connection */
	}
}

static void
cli_done(struct evhttp_request *req, void *arg)
{
	struct cli *c = arg;

	if (c->done)
		return;
	c->done = 1;
	c->status = req ? evhttp_request_get_response_code(req) : -1;
	if (req != NULL)
		evbuffer_add_buffer(
		        c->got, evhttp_request_get_input_buffer(req));
	if (--*c->left == 0)
		event_base_loopexit(c->base, NULL);
}

/* Start POSTing a batch to the server on port, on a connection of its
 * own; the reply body goes into c->got. */
static void
fetch_start(struct srv *sv, uint16_t port, struct cli *c, int *left)
{
	struct evhttp_request *req;

	c->base = sv->base;
	c->left = left;
	c->evcon =
	        evhttp_connection_base_new(sv->base, NULL, "127.0.0.1", port);
	req = evhttp_request_new(cli_done, c);
	evhttp_request_set_chunked_cb(req, cli_chunk);
	evbuffer_add(evhttp_request_get_output_buffer(req), "x\n", 2);
	evhttp_make_request(c->evcon, req, EVHTTP_REQ_POST, "/v1/chunks/batch");
}

/* Run the loop until every started request is done (30 s at most). */
static void
fetch_wait(struct srv *sv)
{
	struct timeval limit = {30, 0};

	event_base_loopexit(sv->base, &limit);
	event_base_dispatch(sv->base);
}

/* POST one batch and wait for the answer. */
static void
fetch(struct srv *sv, uint16_t port, struct cli *c)
{
	int left = 1;

	fetch_start(sv, port, c, &left);
	fetch_wait(sv);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	        (uint32_t)p[2] << 8 | p[3];
}

/* Check the frames in buf against want[0..n) and the store; 0 if good. */
static int
check_frames(struct store *s, const uint8_t *buf, size_t len,
        uint8_t (*want)[32], size_t n, const uint8_t missing[32], size_t *nzstd)
{
	size_t o = 0, i;

	*nzstd = 0;
	for (i = 0; i < n; i++) {
		struct index_chunk rec;
		uint32_t size, length;
		uint8_t *file;
		int fd;

		if (len - o < BATCH_HDR || memcmp(buf + o, want[i], 32) != 0)
			return -1;
		size = get_u32(buf + o + 36);
		length = get_u32(buf + o + 40);
		if (buf[o + 34] != 0 || buf[o + 35] != 0)
			return -2;
		if (memcmp(want[i], missing, 32) == 0) {
			if (buf[o + 32] != 1 || buf[o + 33] != 0 || size != 0 ||
			        length != 0)
				return -3;
			o += BATCH_HDR;
			continue;
		}
		if (buf[o + 32] != 0 ||
		        store_chunk_open(s, NULL, want[i], &rec, &fd) != 0)
			return -4;
		o += BATCH_HDR;
		if (size != rec.size || length != rec.stored ||
		        buf[o - 11] != ((rec.flags & INDEX_CHUNK_ZSTD) != 0) ||
		        len - o < length) {
			close(fd);
			return -5;
		}
		*nzstd += buf[o - 11];
		/* Sent as stored: the chunk file's bytes. */
		file = malloc(length);
		if (read(fd, file, length) != (ssize_t)length ||
		        memcmp(file, buf + o, length) != 0) {
			free(file);
			close(fd);
			return -6;
		}
		free(file);
		close(fd);
		o += length;
	}
	return o == len ? 0 : -7;
}

struct serve_fx {
	const char *dir;
	struct srv sv;
	uint16_t port;
	uint8_t (*ids)[32]; /* the image's chunks */
	size_t n;
};

static int
serve_setup(struct serve_fx *fx)
{
	struct store_opts o;
	struct store_src src = {"data.bin", NULL};
	struct store_import_stats st;
	struct manifest *m;
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char path[600], store[600], why[512];
	static const char text[] = "branchline batch ";
	uint8_t *data;
	size_t i;

	memset(fx, 0, sizeof(*fx));
	signal(SIGPIPE, SIG_IGN); /* as the daemons do: a peer may hang up */
	if ((fx->dir = tu_tmpdir("batch")) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/data.bin", fx->dir);
	snprintf(store, sizeof(store), "%s/store", fx->dir);
	/* Random bytes (stored raw) and text (stored as zstd). */
	data = malloc(DATA_LEN);
	tu_fill(data, DATA_LEN / 2, 99);
	for (i = DATA_LEN / 2; i < DATA_LEN; i++)
		data[i] = text[(i / 7) % (sizeof(text) - 1)];
	if (tu_write(path, data, DATA_LEN) != 0) {
		free(data);
		return -1;
	}
	free(data);
	store_opts_default(&o);
	src.file = path;
	if (store_init(store, &o, why, sizeof(why)) != 0 ||
	        store_open(store, &fx->sv.s, why, sizeof(why)) != 0 ||
	        store_import(fx->sv.s, "img", &src, 1, NULL, NULL, &st, why,
	                sizeof(why)) != 0 ||
	        store_manifest(fx->sv.s, "img", 0, &m, why, sizeof(why)) != 0) {
		fprintf(stderr, "store: %s\n", why);
		return -1;
	}
	i = (size_t)store_unique_ids(m, &fx->ids, &fx->n);
	manifest_free(m);
	if (i != 0)
		return -1;
	if ((fx->sv.base = event_base_new()) == NULL ||
	        (fx->sv.http = evhttp_new(fx->sv.base)) == NULL)
		return -1;
	evhttp_set_gencb(fx->sv.http, srv_request, &fx->sv);
	if ((bs = evhttp_bind_socket_with_handle(
	             fx->sv.http, "127.0.0.1", 0)) == NULL ||
	        getsockname(evhttp_bound_socket_get_fd(bs),
	                (struct sockaddr *)&sin, &sl) != 0)
		return -1;
	fx->port = ntohs(sin.sin_port);
	return 0;
}

static void
serve_teardown(struct serve_fx *fx)
{
	/* Frees any stream still in flight through its close callback. */
	if (fx->sv.http != NULL)
		evhttp_free(fx->sv.http);
	if (fx->sv.base != NULL)
		event_base_free(fx->sv.base);
	if (fx->sv.s != NULL)
		store_close(fx->sv.s);
	free(fx->sv.ids);
	free(fx->ids);
	tu_rmrf(fx->dir);
}

static void
test_serve(void)
{
	struct serve_fx fx;
	struct cli c;
	uint8_t missing[32], (*copy)[32];
	size_t i, nz, want;

	CU_ASSERT_EQUAL_FATAL(serve_setup(&fx), 0);
	CU_ASSERT_FATAL(fx.n > 8);
	/* Every chunk, backwards, with an absent id in the middle. */
	want = fx.n + 1;
	fx.sv.ids = calloc(want, 32);
	tu_fill(missing, 32, 5);
	for (i = 0; i < fx.n; i++)
		memcpy(fx.sv.ids[i < fx.n / 2 ? i : i + 1],
		        fx.ids[fx.n - 1 - i], 32);
	memcpy(fx.sv.ids[fx.n / 2], missing, 32);
	fx.sv.n = want;
	copy = malloc(want * 32);
	memcpy(copy, fx.sv.ids, want * 32);
	memset(&c, 0, sizeof(c));
	c.got = evbuffer_new();
	fetch(&fx.sv, fx.port, &c);
	CU_ASSERT_EQUAL(fx.sv.served, 1);
	CU_ASSERT_EQUAL(c.status, 200);
	CU_ASSERT(evbuffer_get_length(c.got) > BATCH_QUEUE);
	CU_ASSERT_EQUAL(check_frames(fx.sv.s, evbuffer_pullup(c.got, -1),
	                        evbuffer_get_length(c.got), copy, want,
	                        missing, &nz),
	        0);
	CU_ASSERT(nz > 0 && nz < fx.n); /* raw and zstd frames */
	free(copy);
	evbuffer_free(c.got);
	evhttp_connection_free(c.evcon);
	/* No ids: 200 and an empty body. */
	fx.sv.ids = calloc(1, 32);
	fx.sv.n = 0;
	memset(&c, 0, sizeof(c));
	c.got = evbuffer_new();
	fetch(&fx.sv, fx.port, &c);
	CU_ASSERT_EQUAL(c.status, 200);
	CU_ASSERT_EQUAL(evbuffer_get_length(c.got), 0);
	evbuffer_free(c.got);
	evhttp_connection_free(c.evcon);
	serve_teardown(&fx);
}

static void
hangup_tick(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	event_base_loopbreak(arg);
}

/* A peer that goes away mid-stream: the stream is freed (LeakSanitizer
 * would see it otherwise) and the server goes on serving. */
static void
test_serve_hangup(void)
{
	struct serve_fx fx;
	struct cli c;
	struct timeval tv = {0, 300000};
	struct event *tick;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(serve_setup(&fx), 0);
	fx.sv.ids = calloc(fx.n * 4, 32);
	for (i = 0; i < fx.n * 4; i++)
		memcpy(fx.sv.ids[i], fx.ids[i % fx.n], 32);
	fx.sv.n = fx.n * 4;
	memset(&c, 0, sizeof(c));
	c.got = evbuffer_new();
	c.hangup = 100000;
	fetch(&fx.sv, fx.port, &c);
	CU_ASSERT_EQUAL(c.status, 200);
	CU_ASSERT(evbuffer_get_length(c.got) <
	        fx.n * 4 * BATCH_HDR + (size_t)DATA_LEN * 4);
	evhttp_connection_free(c.evcon);
	evbuffer_free(c.got);
	/* Let the server notice. */
	tick = evtimer_new(fx.sv.base, hangup_tick, fx.sv.base);
	evtimer_add(tick, &tv);
	event_base_dispatch(fx.sv.base);
	event_free(tick);
	/* And serve the next one. */
	fx.sv.ids = calloc(1, 32);
	memcpy(fx.sv.ids[0], fx.ids[0], 32);
	fx.sv.n = 1;
	memset(&c, 0, sizeof(c));
	c.got = evbuffer_new();
	fetch(&fx.sv, fx.port, &c);
	CU_ASSERT_EQUAL(c.status, 200);
	CU_ASSERT(evbuffer_get_length(c.got) > BATCH_HDR);
	evbuffer_free(c.got);
	evhttp_connection_free(c.evcon);
	serve_teardown(&fx);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every chunk of the image, n times over, as what the server serves. */
static void
serve_all(struct serve_fx *fx, size_t times)
{
	size_t i;

	fx->sv.ids = calloc(fx->n * times, 32);
	for (i = 0; i < fx->n * times; i++)
		memcpy(fx->sv.ids[i], fx->ids[i % fx->n], 32);
	fx->sv.n = fx->n * times;
}

/* One batch of the image n times over at the server's rate; the seconds
 * it took, and the bytes into *got. */
static double
timed_fetch(struct serve_fx *fx, size_t times, size_t *got)
{
	struct cli c;
	double t0, dt;

	serve_all(fx, times);
	memset(&c, 0, sizeof(c));
	c.got = evbuffer_new();
	t0 = now_s();
	fetch(&fx->sv, fx->port, &c);
	dt = now_s() - t0;
	CU_ASSERT_EQUAL(c.status, 200);
	*got = evbuffer_get_length(c.got);
	evbuffer_free(c.got);
	evhttp_connection_free(c.evcon);
	return dt;
}

/*
 * A peer that names a rate gets its bytes no faster than that rate, and
 * its streams share it: two at once take twice as long as one.  Loopback
 * carries the same bytes unpaced in a fraction of that time (checked
 * last), so the lower bounds can only hold because of the pacing; the
 * upper bounds show it does not stall.
 */
static void
test_serve_paced(void)
{
	struct serve_fx fx;
	struct cli c[2];
	const uint64_t rate = 8u << 20;
	double t0, dt, want;
	size_t got;
	int left, k;

	CU_ASSERT_EQUAL_FATAL(serve_setup(&fx), 0);
	fx.sv.rate = rate;
	/* One stream. */
	dt = timed_fetch(&fx, 2, &got);
	want = (double)got / (double)rate;
	CU_ASSERT(got > BATCH_QUEUE);
	CU_ASSERT(dt >= want * 0.85);
	CU_ASSERT(dt <= want * 3 + 1);
	/* Two streams of the same peer at once: the same rate in all. */
	memset(c, 0, sizeof(c));
	left = 2;
	t0 = now_s();
	for (k = 0; k < 2; k++) {
		serve_all(&fx, 1);
		c[k].got = evbuffer_new();
		fetch_start(&fx.sv, fx.port, &c[k], &left);
		/* Let the server take this request, with these ids. */
		while (fx.sv.ids != NULL && event_base_loop(fx.sv.base,
		                                    EVLOOP_ONCE) == 0)
			;
	}
	fetch_wait(&fx.sv);
	dt = now_s() - t0;
	CU_ASSERT_EQUAL(left, 0);
	got = evbuffer_get_length(c[0].got) + evbuffer_get_length(c[1].got);
	want = (double)got / (double)rate;
	for (k = 0; k < 2; k++) {
		CU_ASSERT_EQUAL(c[k].status, 200);
		evbuffer_free(c[k].got);
		evhttp_connection_free(c[k].evcon);
	}
	CU_ASSERT(got > 2 * BATCH_QUEUE);
	CU_ASSERT(dt >= want * 0.85);
	CU_ASSERT(dt <= want * 3 + 1);
	/* Unpaced, the same bytes come at once. */
	fx.sv.rate = 0;
	dt = timed_fetch(&fx, 2, &got);
	CU_ASSERT(dt < (double)got / (double)rate);
	serve_teardown(&fx);
}

int
test_batch_register(void)
{
	CU_pSuite s = CU_add_suite("batch", NULL, NULL);

	if (s == NULL ||
	        CU_add_test(s, "parse: LF, CRLF, blank lines",
	                test_parse_good) == NULL ||
	        CU_add_test(s, "parse: empty body", test_parse_empty) == NULL ||
	        CU_add_test(s, "parse: 1024 ids, not 1025",
	                test_parse_bounds) == NULL ||
	        CU_add_test(s, "parse: malformed lines", test_parse_bad) ==
	                NULL ||
	        CU_add_test(s, "parse: hostile bytes", test_parse_hostile) ==
	                NULL ||
	        CU_add_test(s, "serve: frames over HTTP", test_serve) == NULL ||
	        CU_add_test(s, "serve: peer hangs up", test_serve_hangup) ==
	                NULL ||
	        CU_add_test(s, "rate header", test_rate_parse) == NULL ||
	        CU_add_test(s, "serve: paced streams share a rate",
	                test_serve_paced) == NULL)
		return -1;
	return 0;
}

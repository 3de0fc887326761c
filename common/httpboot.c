/*
 * httpboot.c - boot files and iPXE scripts over HTTP(S) (see httpboot.h).
 *
 * A file reply is streamed: at most HB_STEP bytes are read from the
 * bootfs into the connection's output at a time, and the next step is
 * queued when evhttp has written the last one, so a thousand clients
 * fetching a 500 MB ISO hold a few hundred KiB each, and the chunk cache
 * serves them all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "error.h"
#include "hash.h"
#include "httpboot.h"
#include "httpsrv.h"
#include "log.h"

#define HB_STEP (256u << 10) /* file bytes queued per write callback */

struct httpboot {
	struct httpboot_conf c;
	struct bootfs *fs;
	const struct httpboot_ops *ops;
	struct log_rate lr; /* lines about files served */
	struct evhttp *http, *https;
	uint16_t port;
	struct httpboot_stats st;
};

/* One file reply in progress. */
struct hbx {
	struct httpboot *h;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct bootfs_cursor cur;
	uint64_t off, end; /* bytes [off, end) still to send */
	char peer[HTTPSRV_PEER_MAX];
};

/* --- pure helpers ---------------------------------------------------- */

/* A decimal u64 at s[0..n), all digits; -1 if empty or too big. */
static int
dec_u64(const char *s, size_t n, uint64_t *v)
{
	size_t i;

	*v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return 0;
}

int
http_range_parse(const char *h, uint64_t size, uint64_t *first,
        uint64_t *last)
{
	const char *dash;
	uint64_t a, b;
	size_t n;

	if (h == NULL || size == 0 || strncmp(h, "bytes=", 6) != 0)
		return HTTP_RANGE_NONE;
	h += 6;
	while (*h == ' ' || *h == '\t')
		h++;
	n = strlen(h);
	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n == 0 || n > 64 || memchr(h, ',', n) != NULL ||
	        (dash = memchr(h, '-', n)) == NULL)
		return HTTP_RANGE_NONE;
	if (dash == h) { /* suffix: the last N bytes */
		if (dec_u64(h + 1, n - 1, &b) != 0)
			return HTTP_RANGE_NONE;
		if (b == 0)
			return HTTP_RANGE_UNSAT;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return HTTP_RANGE_OK;
	}
	if (dec_u64(h, (size_t)(dash - h), &a) != 0)
		return HTTP_RANGE_NONE;
	if ((size_t)(dash - h) == n - 1)
		b = size - 1;
	else if (dec_u64(dash + 1, n - (size_t)(dash - h) - 1, &b) != 0 ||
	        b < a)
		return HTTP_RANGE_NONE;
	if (a >= size)
		return HTTP_RANGE_UNSAT;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return HTTP_RANGE_OK;
}

int
http_etag_match(const char *h, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = h;

	if (h == NULL)
		return 0;
	for (;;) {
		const char *q;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"')
			return 0; /* malformed: match nothing */
		if ((q = strchr(p + 1, '"')) == NULL)
			return 0;
		if ((size_t)(q + 1 - p) == elen && memcmp(p, etag, elen) == 0)
			return 1;
		p = q + 1;
	}
}

/* --- files ----------------------------------------------------------- */

static void hbx_pump(struct hbx *x);

static void
hbx_free(struct hbx *x)
{
	if (x->evcon != NULL)
		evhttp_connection_set_closecb(x->evcon, NULL, NULL);
	bootfs_cursor_done(x->h->fs, &x->cur);
	bootfs_file_put(x->cur.f);
	x->h->st.active--;
	free(x);
}

static void
hbx_closed(struct evhttp_connection *evcon, void *arg)
{
	struct hbx *x = arg;

	(void)evcon;
	log_debug("http %s: closed with %" PRIu64 " bytes unsent", x->peer,
	        x->end - x->off);
	if (evhttp_request_get_connection(x->req) == NULL)
		evhttp_request_free(x->req);
	x->evcon = NULL;
	hbx_free(x);
}

static void
hbx_sent(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	hbx_pump(arg);
}

/* evbuffer's cleanup of a piece of a cached chunk: the socket has it. */
static void
piece_done(const void *data, size_t len, void *hold)
{
	(void)data;
	(void)len;
	bootfs_piece_put(hold);
}

/* The next step of the body, straight from the chunk cache: the buffer
 * refers to the cached bytes (each piece holds its chunk until written),
 * so nothing is copied before the kernel's copy into the socket. */
static void
hbx_pump(struct hbx *x)
{
	struct evbuffer *out;
	struct bootfs_piece pc;
	size_t want, got = 0;
	int rc;

	if (x->off == x->end) {
		evhttp_send_reply_end(x->req);
		hbx_free(x);
		return;
	}
	want = x->end - x->off < HB_STEP ? (size_t)(x->end - x->off) : HB_STEP;
	rc = -ENOMEM;
	if ((out = evbuffer_new()) != NULL) {
		rc = 0;
		while (got < want &&
		        (rc = bootfs_read_piece(x->h->fs, &x->cur,
		                 x->off + got, want - got, &pc)) == 0 &&
		        pc.len > 0) {
			if (evbuffer_add_reference(out, pc.data, pc.len,
			            piece_done, pc.hold) != 0) {
				bootfs_piece_put(pc.hold);
				rc = -ENOMEM;
				break;
			}
			got += pc.len;
		}
	}
	if (rc == 0 && got == want) {
		x->off += got;
		x->h->st.bytes += got;
		evhttp_send_reply_chunk_with_cb(x->req, out, hbx_sent, x);
		evbuffer_free(out);
		return;
	}
	/* The client has its headers and part of the body: all we can do
	 * is close, so that it sees the body cut short. */
	log_warnx("http %s: %s at byte %" PRIu64 ": %s; closing", x->peer,
	        x->cur.f->name, x->off,
	        rc != 0 ? bl_strerror(rc) : "file shorter than published");
	if (out != NULL)
		evbuffer_free(out);
	{
		struct evhttp_connection *evcon = x->evcon;

		hbx_free(x);
		evhttp_connection_free(evcon);
	}
}

/* At most 100 lines a second about files served (a boot storm or a
 * benchmark would drown the log). */
static int
may_log(struct httpboot *h)
{
	return log_rate(&h->lr, 100, NULL);
}

/* The client's address, or NULL. */
static const struct sockaddr *
peer_addr(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	return evcon != NULL ? evhttp_connection_get_addr(evcon) : NULL;
}

static void
add_header(struct evhttp_request *req, const char *k, const char *v)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), k, v);
}

static void
serve_file(struct httpboot *h, struct evhttp_request *req, const char *peer,
        const char *name, int referred)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *inm = evhttp_find_header(in, "If-None-Match");
	const char *range = evhttp_find_header(in, "Range");
	const char *ifr = evhttp_find_header(in, "If-Range");
	struct bootfs_file *f;
	struct hbx *x;
	char etag[67], hex[65], len[24], cr[80];
	uint64_t first = 0, last = 0;
	int r, code = 200;

	if ((f = bootfs_lookup(h->fs, name)) == NULL) {
		char url[BOOTPLAN_URL_MAX];
		const struct sockaddr *sa = peer_addr(req);

		if (sa != NULL &&
		        h->ops->redirect(h->ops->arg, sa, name, referred, url,
		                sizeof(url) - sizeof(BOOTPLAN_REFERRED_QUERY)) == 1) {
			strcat(url, BOOTPLAN_REFERRED_QUERY);
			h->st.redirects++;
			add_header(req, "Location", url);
			log_info("http %s: %s is not here: 302 to %s", peer,
			        name, url);
			evhttp_send_reply(req, 302, "Found", NULL);
			return;
		}
		h->st.errors++;
		httpsrv_error(req, peer, 404, "no boot file '%s' here", name);
		return;
	}
	hash_hex(f->sha256, 32, hex);
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	add_header(req, "ETag", etag);
	add_header(req, "Accept-Ranges", "bytes");
	if (inm != NULL && http_etag_match(inm, etag)) {
		bootfs_file_put(f);
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	r = http_range_parse(range, f->size, &first, &last);
	/* If-Range: the range holds only for the version the client has. */
	if (r != HTTP_RANGE_NONE && ifr != NULL && strcmp(ifr, etag) != 0)
		r = HTTP_RANGE_NONE;
	if (r == HTTP_RANGE_UNSAT) {
		snprintf(cr, sizeof(cr), "bytes */%" PRIu64, f->size);
		add_header(req, "Content-Range", cr);
		bootfs_file_put(f);
		h->st.errors++;
		httpsrv_error(req, peer, 416, "range '%s' is past the end",
		        range);
		return;
	}
	if (r == HTTP_RANGE_OK) {
		code = 206;
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
		        first, last, f->size);
		add_header(req, "Content-Range", cr);
	} else if (f->size > 0) {
		last = f->size - 1;
	}
	snprintf(len, sizeof(len), "%" PRIu64,
	        f->size == 0 ? 0 : last - first + 1);
	add_header(req, "Content-Length", len);
	add_header(req, "Content-Type", "application/octet-stream");
	h->st.files++;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ||
	        f->size == 0) {
		bootfs_file_put(f);
		evhttp_send_reply(req, code, httpsrv_reason(code), NULL);
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		bootfs_file_put(f);
		h->st.errors++;
		httpsrv_error(req, peer, 503, "out of memory");
		return;
	}
	h->st.active++;
	x->h = h;
	x->req = req;
	x->cur.f = f;
	x->off = first;
	x->end = last + 1;
	snprintf(x->peer, sizeof(x->peer), "%s", peer);
	x->evcon = evhttp_request_get_connection(req);
	evhttp_connection_set_closecb(x->evcon, hbx_closed, x);
	/* libevent writes at most 16 KiB per write event by default: a
	 * syscall and a TCP push per 16 KiB.  Let a whole step go at once. */
	bufferevent_set_max_single_write(
	        evhttp_connection_get_bufferevent(x->evcon), HB_STEP);
	if (may_log(h))
		log_info("http %s: %s %d bytes %" PRIu64 "-%" PRIu64, peer,
		        f->name, code, first, last);
	evhttp_send_reply_start(req, code, httpsrv_reason(code));
	hbx_pump(x);
}

/* --- scripts --------------------------------------------------------- */

/* "http://ADDR:PORT" (or https) of the socket req reached. */
static void
local_base(struct httpboot *h, struct evhttp_request *req, char *base,
        size_t len)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev =
	        evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char a[INET_ADDRSTRLEN] = "0.0.0.0";
	int tls;
	uint16_t port = h->port;

	if (h->c.url[0] != '\0') {
		snprintf(base, len, "%s", h->c.url);
		return;
	}
	if (bev != NULL &&
	        getsockname(bufferevent_getfd(bev), (struct sockaddr *)&sin,
	                &sl) == 0 &&
	        sin.sin_family == AF_INET) {
		inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a));
		port = ntohs(sin.sin_port);
	}
	tls = port == h->c.tls_port && h->c.tls_port != 0;
	snprintf(base, len, "%s://%s:%u", tls ? "https" : "http", a, port);
}

static void
serve_script(struct httpboot *h, struct evhttp_request *req, const char *peer,
        const char *query)
{
	char *script, base[BOOTPLAN_BASE_MAX];
	char mac[BOOTPLAN_MAC_MAX], why[200], note[200] = "";
	const struct sockaddr *sa = peer_addr(req);
	int arch, rc;

	if (bootplan_query(query, &arch, mac, why, sizeof(why)) != 0) {
		h->st.errors++;
		httpsrv_error(req, peer, 400, "boot.ipxe: %s", why);
		return;
	}
	if (sa == NULL || (script = malloc(BOOTPLAN_SCRIPT_MAX)) == NULL) {
		h->st.errors++;
		httpsrv_error(req, peer, 503, "boot.ipxe: out of memory");
		return;
	}
	local_base(h, req, base, sizeof(base));
	rc = h->ops->script(h->ops->arg, sa, arch, mac, base, script,
	        BOOTPLAN_SCRIPT_MAX, note, sizeof(note));
	if (rc == BL_ETOOBIG) {
		free(script);
		h->st.errors++;
		httpsrv_error(req, peer, 500, "boot.ipxe: script too long");
		return;
	}
	h->st.scripts++;
	if (rc == BL_ENOTFOUND)
		log_warnx("http %s: boot.ipxe mac %s arch %d: nothing to boot "
		          "(%s); told to boot the next device",
		        peer, mac[0] ? mac : "?", arch, note);
	else
		log_info("http %s: boot.ipxe mac %s arch %d: %s", peer,
		        mac[0] ? mac : "?", arch, note);
	httpsrv_reply_bytes(req, "text/plain", script, strlen(script));
	free(script);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct httpboot *h = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char peer[HTTPSRV_PEER_MAX];
	char *name;
	size_t n;

	h->st.requests++;
	httpsrv_peer_name(req, peer, sizeof(peer));
	if (path == NULL ||
	        (strcmp(path, "/boot.ipxe") != 0 &&
	                strncmp(path, "/boot/", 6) != 0)) {
		h->st.errors++;
		httpsrv_error(req, peer, 404, "not found");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		h->st.errors++;
		add_header(req, "Allow", "GET, HEAD");
		httpsrv_error(req, peer, 405, "boot files are read-only");
		return;
	}
	if (strcmp(path, "/boot.ipxe") == 0) {
		serve_script(h, req, peer, evhttp_uri_get_query(u));
		return;
	}
	if ((name = evhttp_uridecode(path + 6, 0, &n)) == NULL) {
		h->st.errors++;
		httpsrv_error(req, peer, 503, "out of memory");
		return;
	}
	if (n != strlen(name) || n == 0) {
		h->st.errors++;
		httpsrv_error(req, peer, 400, "bad file name");
	} else
		serve_file(h, req, peer, name,
		        bootplan_query_referred(evhttp_uri_get_query(u)));
	free(name);
}

/* An evhttp on port (TLS with ssl) into *out, the port bound in *bound;
 * 0 or an error with why. */
static int
listen_on(struct event_base *base, struct httpboot *h, uint16_t port,
        SSL_CTX *ssl, struct evhttp **out, uint16_t *bound, char *why,
        size_t whylen)
{
	struct evhttp_bound_socket *bs;
	struct evhttp *http;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int rc;

	if ((http = evhttp_new(base)) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	if (ssl != NULL)
		evhttp_set_bevcb(http, httpsrv_tls_bevcb, ssl);
	evhttp_set_gencb(http, on_request, h);
	evhttp_set_max_body_size(http, 64 << 10); /* refused with 405 anyway */
	evhttp_set_max_headers_size(http, HTTPSRV_HEADERS_MAX);
	evhttp_set_timeout(http, HTTPSRV_IDLE_TIMEOUT);
	evhttp_set_allowed_methods(http,
	        EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	errno = 0;
	if ((bs = evhttp_bind_socket_with_handle(http, h->c.bind, port)) ==
	        NULL) {
		rc = errno != 0 ? -errno : -EADDRINUSE;
		bl_why(why, whylen, rc,
		        "http boot: cannot listen on %s port %u: %s", h->c.bind,
		        port, strerror(-rc));
		evhttp_free(http);
		return rc;
	}
	*bound = port;
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
	            &sl) == 0 &&
	        sin.sin_family == AF_INET)
		*bound = ntohs(sin.sin_port);
	*out = http;
	return 0;
}

int
httpboot_start(struct event_base *base, const struct httpboot_conf *c,
        struct bootfs *fs, const struct httpboot_ops *ops,
        struct httpboot **out, char *why, size_t whylen)
{
	struct httpboot *h;
	uint16_t tls_bound = 0;
	int rc = 0;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	h->c = *c;
	h->fs = fs;
	h->ops = ops;
	if ((c->port != 0 || c->tls_port == 0) &&
	        (rc = listen_on(base, h, c->port, NULL, &h->http, &h->port,
	                 why, whylen)) != 0)
		goto fail;
	if (c->tls_port != 0) {
		if (c->ssl == NULL) {
			rc = bl_why(why, whylen, BL_EUSAGE,
			        "http boot: TLS port without a certificate");
			goto fail;
		}
		if ((rc = listen_on(base, h, c->tls_port, c->ssl, &h->https,
		             &tls_bound, why, whylen)) != 0)
			goto fail;
		h->c.tls_port = tls_bound;
	}
	*out = h;
	return 0;
fail:
	httpboot_stop(h);
	return rc;
}

uint16_t
httpboot_port(const struct httpboot *h)
{
	return h->port;
}

void
httpboot_stats(const struct httpboot *h, struct httpboot_stats *st)
{
	*st = h->st;
}

void
httpboot_stop(struct httpboot *h)
{
	if (h == NULL)
		return;
	if (h->http != NULL)
		evhttp_free(h->http);
	if (h->https != NULL)
		evhttp_free(h->https);
	free(h);
}

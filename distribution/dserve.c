/*
 * dserve.c - the distribution node's HTTPS server (see dserve.h): a route
 * table, per-route authentication, and the replication handlers that
 * serve child sites from the node's own store.
 *
 * A request is matched on its path first (404), then its method (405),
 * then its argument (400); then, for replication, the client certificate
 * and allowed() (403).  The route table lists literal paths before the
 * argument routes that share their prefix, so /v1/chunks/batch is never
 * taken for a chunk id.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "batchsrv.h"
#include "dserve.h"
#include "error.h"
#include "hash.h"
#include "httpsrv.h"
#include "log.h"
#include "store.h"

struct dserve {
	struct evhttp *http;
	SSL_CTX *ssl;
	struct store *store; /* ours; used on the event loop's thread only */
	int (*allowed)(void *arg, const char *node_id);
	void *arg;
};

/* What dispatch learned about a request before its handler runs. */
struct dreq {
	struct dserve *d;
	struct evhttp_request *req;
	uint8_t id[32];                /* ARG_ID routes: the id */
	char hex[65];                  /* and as text */
	char peer[HTTPSRV_PEER_MAX];   /* address:port, for logs */
	char who[PKI_NODE_ID_MAX + 1]; /* AUTH_CHILD: the node id */
};

enum route_arg {
	ARG_NONE, /* the path is exactly the route's */
	ARG_ID    /* the route's path, then 64 lowercase hex digits */
};

enum route_auth {
	AUTH_NONE, /* anyone */
	AUTH_CHILD /* a node certificate that allowed() accepts */
};

struct droute {
	const char *path; /* whole path (ARG_NONE) or prefix (ARG_ID) */
	enum route_arg arg;
	int methods; /* EVHTTP_REQ_* */
	enum route_auth auth;
	void (*fn)(struct dreq *r);
};

static void on_health(struct dreq *r);
static void on_manifest(struct dreq *r);
static void on_chunk(struct dreq *r);
static void on_batch(struct dreq *r);

#define M_GET (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)

static const struct droute routes[] = {
        {"/v1/health", ARG_NONE, M_GET, AUTH_NONE, on_health},
        {"/v1/manifests/", ARG_ID, M_GET, AUTH_CHILD, on_manifest},
        {"/v1/chunks/batch", ARG_NONE, EVHTTP_REQ_POST, AUTH_CHILD, on_batch},
        {"/v1/chunks/", ARG_ID, M_GET, AUTH_CHILD, on_chunk},
};

/* --- handlers -------------------------------------------------------- */

static void
on_health(struct dreq *r)
{
	static const char ok[] = "{\"status\":\"ok\"}\n";

	httpsrv_reply_bytes(r->req, "application/json", ok, sizeof(ok) - 1);
}

static void
on_manifest(struct dreq *r)
{
	uint8_t *raw;
	size_t len;
	int rc;

	if ((rc = store_manifest_by_id(r->d->store, r->id, &raw, &len)) != 0) {
		httpsrv_error(r->req, r->peer, httpsrv_status_of(rc),
		        "manifest %s: %s", r->hex, bl_strerror(rc));
		return;
	}
	httpsrv_reply_bytes(
	        r->req, "application/vnd.branchline.manifest", raw, len);
	free(raw);
}

/* The content, decompressed and checked against its id. */
static void
on_chunk(struct dreq *r)
{
	struct index_chunk rec;
	uint8_t *buf;
	size_t len;
	int fd, rc;

	if ((rc = store_chunk_open(r->d->store, NULL, r->id, &rec, &fd)) != 0)
		goto fail;
	close(fd);
	if ((buf = malloc(rec.size ? rec.size : 1)) == NULL) {
		httpsrv_error(r->req, r->peer, 503, "out of memory");
		return;
	}
	if ((rc = store_read_chunk(
	             r->d->store, r->id, buf, rec.size, &len, 1)) != 0) {
		free(buf);
		goto fail;
	}
	httpsrv_reply_bytes(r->req, "application/octet-stream", buf, len);
	free(buf);
	return;
fail:
	httpsrv_error(r->req, r->peer, httpsrv_status_of(rc), "chunk %s: %s",
	        r->hex, bl_strerror(rc));
}

static void
on_batch(struct dreq *r)
{
	char why[256];
	int rc;

	if ((rc = batch_request(r->d->store, r->req, r->who, why,
	             sizeof(why))) != 0)
		httpsrv_error(
		        r->req, r->peer, httpsrv_status_of(rc), "%s", why);
}

/* --- dispatch -------------------------------------------------------- */

/* Does route t serve path?  For ARG_ID: a non-empty last segment. */
static int
has_path(const struct droute *t, const char *path)
{
	size_t n = strlen(t->path);
	const char *rest = path + n;

	if (t->arg == ARG_NONE)
		return strcmp(path, t->path) == 0;
	return strncmp(path, t->path, n) == 0 && *rest != '\0' &&
	        strchr(rest, '/') == NULL;
}

/* 64 lowercase hex digits, as in hash_hex's output. */
static int
parse_id(const char *s, uint8_t id[32])
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		            (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	return s[64] == '\0' && hash_unhex(s, id, 32) == 0 ? 0 : -1;
}

/* A node certificate from our CA that allowed() accepts; else 403. */
static int
auth_child(struct dreq *r)
{
	int rc = httpsrv_peer_node(r->req, r->who, NULL);

	if (rc == BL_ENOTFOUND) {
		httpsrv_error(r->req, r->peer, 403,
		        "a node client certificate is required");
		return -1;
	}
	if (rc != 0) {
		httpsrv_error(r->req, r->peer, 403, "the client certificate %s",
		        rc == BL_ESIG ? "did not verify" : "names no node");
		return -1;
	}
	if (!r->d->allowed(r->d->arg, r->who)) {
		httpsrv_error(r->req, r->peer, 403,
		        "node %s may not replicate from this node", r->who);
		return -1;
	}
	return 0;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const struct droute *t = NULL;
	struct dreq r;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.d = arg;
	r.req = req;
	httpsrv_peer_name(req, r.peer, sizeof(r.peer));
	if (path == NULL)
		path = "";
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]) && t == NULL; i++)
		if (has_path(&routes[i], path))
			t = &routes[i];
	if (t == NULL) {
		httpsrv_error(
		        req, r.peer, 404, "no such endpoint: %.200s", path);
		return;
	}
	if ((evhttp_request_get_command(req) & t->methods) == 0) {
		httpsrv_error(req, r.peer, 405,
		        "%.200s does not take this method", path);
		return;
	}
	if (t->arg == ARG_ID) {
		const char *s = path + strlen(t->path);

		if (parse_id(s, r.id) != 0) {
			httpsrv_error(req, r.peer, 400,
			        "'%.80s' is not an id "
			        "(64 lowercase hex digits)",
			        s);
			return;
		}
		memcpy(r.hex, s, 65);
	}
	if (t->auth == AUTH_CHILD && auth_child(&r) != 0)
		return;
	log_debug("%s %.200s (%s)", r.peer, evhttp_request_get_uri(req),
	        r.who[0] ? r.who : "-");
	t->fn(&r);
}

/* --- start and stop -------------------------------------------------- */

int
dserve_start(struct event_base *base, const struct dserve_opts *o,
        struct dserve **out, char *why, size_t whylen)
{
	struct dserve *d;
	int rc;

	*out = NULL;
	if (o->bind == NULL || o->pki_dir == NULL || o->store == NULL ||
	        o->allowed == NULL)
		return bl_why(why, whylen, BL_EUSAGE,
		        "dserve: bind, pki_dir, store and allowed are "
		        "required");
	if (o->port < 1 || o->port > 65535)
		return bl_why(why, whylen, BL_EUSAGE,
		        "port %u is not in 1..65535", o->port);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	d->allowed = o->allowed;
	d->arg = o->arg;
	/* LMDB must not be opened twice in one process: share the
	 * caller's environment through a handle of our own. */
	if ((rc = store_open_shared(o->store, &d->store, why, whylen)) != 0)
		goto fail;
	if ((d->ssl = pki_server_ctx(o->pki_dir, why, whylen)) == NULL) {
		rc = BL_ECRYPTO;
		goto fail;
	}
	if ((d->http = evhttp_new(base)) == NULL) {
		rc = bl_why(why, whylen, -ENOMEM, "evhttp_new failed");
		goto fail;
	}
	evhttp_set_bevcb(d->http, httpsrv_tls_bevcb, d->ssl);
	evhttp_set_gencb(d->http, on_request, d);
	evhttp_set_max_body_size(d->http, DSERVE_BODY_MAX);
	evhttp_set_max_headers_size(d->http, HTTPSRV_HEADERS_MAX);
	evhttp_set_timeout(d->http, HTTPSRV_IDLE_TIMEOUT);
	/* More than the routes take, so that these get a JSON 405. */
	evhttp_set_allowed_methods(d->http,
	        EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	if (evhttp_bind_socket(d->http, o->bind, (uint16_t)o->port) != 0) {
		rc = bl_why(why, whylen, -EADDRINUSE,
		        "cannot listen on %s port %u: %s", o->bind, o->port,
		        strerror(errno));
		goto fail;
	}
	log_info("serving child sites on https://%s:%u", o->bind, o->port);
	*out = d;
	return 0;
fail:
	dserve_stop(d);
	return rc;
}

void
dserve_stop(struct dserve *d)
{
	if (d == NULL)
		return;
	/* Connections first: their batch streams still read the store. */
	if (d->http != NULL)
		evhttp_free(d->http);
	if (d->ssl != NULL)
		SSL_CTX_free(d->ssl);
	if (d->store != NULL)
		store_close(d->store);
	free(d);
}

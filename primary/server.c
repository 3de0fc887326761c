/*
 * server.c - the HTTPS listener (evhttp over bufferevent_openssl), request
 * dispatch and authentication, and the reply helpers.
 *
 * Limits: a request body is at most PRIMARY_BODY_MAX bytes (evhttp
 * refuses more with 413 before reading it), headers at most 16 KiB, and a
 * connection that stalls for 30 s while sending a request or reading a
 * reply is closed.  JSON bodies are further limited to PRIMARY_JSON_MAX.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "error.h"
#include "httpsrv.h"
#include "log.h"
#include "pki.h"
#include "server.h"


int
http_status_of(int err)
{
	return httpsrv_status_of(err);
}

void
reply_json(struct reqctx *c, int status, json_t *v)
{
	struct evbuffer *b = evbuffer_new();
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(v);
	if (b == NULL || s == NULL) {
		free(s);
		if (b != NULL)
			evbuffer_free(b);
		evhttp_send_error(c->req, 500, NULL);
		return;
	}
	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	free(s);
	evhttp_add_header(evhttp_request_get_output_headers(c->req),
	        "Content-Type", "application/json");
	evhttp_send_reply(c->req, status, httpsrv_reason(status), b);
	evbuffer_free(b);
}

void
reply_error(struct reqctx *c, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	httpsrv_sanitize(msg); /* it may quote the peer's bytes */
	log_warnx("%s %s %s: %d %s", c->peer,
	        route_method_name(c->m.method ? c->m.method : 0),
	        evhttp_request_get_uri(c->req), status, msg);
	reply_json(c, status,
	        json_pack("{s:{s:i,s:s}}", "error", "status", status, "message",
	                msg));
}

void
reply_bytes(struct evhttp_request *req, const char *type, const void *data,
        size_t len)
{
	httpsrv_reply_bytes(req, type, data, len);
}

void
reply_empty(struct reqctx *c, int status)
{
	evhttp_send_reply(c->req, status, httpsrv_reason(status), NULL);
}

json_t *
body_json(struct reqctx *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	json_error_t err;
	json_t *v;

	if (len > PRIMARY_JSON_MAX) {
		reply_error(c, 413, "JSON body of %zu bytes exceeds %u", len,
		        PRIMARY_JSON_MAX);
		return NULL;
	}
	v = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	        JSON_REJECT_DUPLICATES, &err);
	if (v == NULL) {
		reply_error(c, 400, "malformed JSON at line %d column %d: %s",
		        err.line, err.column, err.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		reply_error(c, 400, "the body must be a JSON object");
		return NULL;
	}
	return v;
}

const char *
query_get(struct reqctx *c, const char *key)
{
	return c->have_query ? evhttp_find_header(&c->query, key) : NULL;
}

int
query_uint(struct reqctx *c, const char *key, unsigned long long lo,
        unsigned long long hi, unsigned long long def,
        unsigned long long *out)
{
	const char *v = query_get(c, key);
	unsigned long long n;
	char *end;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n < lo ||
	        n > hi) {
		reply_error(c, 400, "query parameter %s: '%.32s' is not a "
		                    "number in %llu..%llu", key, v, lo, hi);
		return -1;
	}
	*out = n;
	return 0;
}

static int
method_of(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		return RM_GET;
	case EVHTTP_REQ_HEAD:
		return RM_HEAD;
	case EVHTTP_REQ_POST:
		return RM_POST;
	case EVHTTP_REQ_PUT:
		return RM_PUT;
	case EVHTTP_REQ_DELETE:
		return RM_DELETE;
	default:
		return 0;
	}
}

/* Bearer token: a known, unexpired operator token. */
static int
auth_token(struct reqctx *c)
{
	const char *h = evhttp_find_header(
	        evhttp_request_get_input_headers(c->req), "Authorization");
	char sha[65];
	size_t i;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0) {
		reply_error(c, 401, "an operator token is required "
		                    "(Authorization: Bearer ...)");
		return -1;
	}
	if (strlen(h + 7) != PRIMARY_TOKEN_LEN) {
		reply_error(c, 401, "the token is not valid");
		return -1;
	}
	cfg_token_hash(h + 7, sha);
	for (i = 0; i < c->p->cfg.ntokens; i++) {
		const struct cfg_token *t = &c->p->cfg.tokens[i];

		if (t->enroll || CRYPTO_memcmp(t->sha256, sha, 64) != 0)
			continue;
		if (t->expires != 0 && t->expires <= (int64_t)time(NULL)) {
			reply_error(c, 401, "token '%s' expired", t->name);
			return -1;
		}
		snprintf(c->who, sizeof(c->who), "%s", t->name);
		return 0;
	}
	reply_error(c, 401, "the token is not valid");
	return -1;
}

/* Client certificate of an enrolled, unrevoked node. */
static int
auth_node(struct reqctx *c)
{
	char id[PKI_NODE_ID_MAX + 1], serial[PKI_SERIAL_HEX];
	const struct cfg_node *n;
	int rc = httpsrv_peer_node(c->req, id, serial);

	if (rc == BL_ENOTFOUND || rc == BL_ESIG) {
		reply_error(c, 401, "a node client certificate is required");
		return -1;
	}
	if (rc != 0) {
		reply_error(c, 401, "the client certificate names no node");
		return -1;
	}
	if ((n = cfg_node(&c->p->cfg, id)) == NULL ||
	        strcmp(n->serial, serial) != 0) {
		reply_error(c, 403, "node %s is not enrolled (removed?)", id);
		return -1;
	}
	c->node = n;
	snprintf(c->who, sizeof(c->who), "%.63s", id);
	return 0;
}

static void
dispatch(struct reqctx *c)
{
	switch (c->m.id) {
	case R_CA:
		repl_ca(c);
		break;
	case R_OPENAPI:
	case R_IMAGES:
	case R_IMAGE:
	case R_IMAGE_VERSIONS:
	case R_IMAGE_DIFF:
	case R_IMAGE_ROLLBACK:
		api_images(c);
		break;
	case R_UPLOADS:
	case R_UPLOAD:
	case R_UPLOAD_FILE:
	case R_UPLOAD_FINALIZE:
		api_uploads(c);
		break;
	case R_SITES:
	case R_SITE:
	case R_SITE_REPNOW:
		api_sites(c);
		break;
	case R_NODES:
	case R_NODE:
		api_nodes(c);
		break;
	case R_STATUS:
		api_status(c);
		break;
	case R_REFERRAL_EXPLAIN:
		api_referral(c);
		break;
	case R_CONFIG_LOG:
	case R_CONFIG_DIFF:
	case R_CONFIG_ROLLBACK:
		api_config(c);
		break;
	case R_TOKENS:
	case R_TOKEN:
		api_tokens(c);
		break;
	case R_ENROLL:
		repl_enroll(c);
		break;
	case R_CATALOG:
		repl_catalog(c);
		break;
	case R_MANIFEST:
		repl_manifest(c);
		break;
	case R_CHUNK:
		repl_chunk(c);
		break;
	case R_CHUNK_BATCH:
		repl_batch(c);
		break;
	case R_NODE_STATUS:
		repl_status(c);
		break;
	case R_COUNT:
		reply_error(c, 500, "no handler");
		break;
	}
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct reqctx c;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	c.p = arg;
	c.req = req;
	httpsrv_peer_name(req, c.peer, sizeof(c.peer));
	if (path == NULL)
		path = "";
	rc = route_match(method_of(req), path, strlen(path), &c.m);
	c.m.method = method_of(req);
	if (rc == 404) {
		reply_error(&c, 404, "no such endpoint: %.200s", path);
		return;
	}
	if (rc == 405) {
		reply_error(&c, 405, "%.200s does not take this method", path);
		return;
	}
	if (rc == 400) {
		reply_error(&c, 400, "%s", c.m.why);
		return;
	}
	if (q != NULL) {
		if (evhttp_parse_query_str(q, &c.query) != 0) {
			reply_error(&c, 400, "malformed query string");
			return;
		}
		c.have_query = 1;
	}
	if ((c.m.auth == RA_TOKEN && auth_token(&c) != 0) ||
	        (c.m.auth == RA_NODE && auth_node(&c) != 0))
		goto out;
	log_debug("%s %s %s (%s)", c.peer, route_method_name(c.m.method),
	        evhttp_request_get_uri(req), c.who);
	dispatch(&c);
out:
	if (c.have_query)
		evhttp_clear_headers(&c.query);
}

int
server_start(struct primary *p, char *why, size_t whylen)
{
	char dir[1100];

	snprintf(dir, sizeof(dir), "%s/pki", p->state);
	if ((p->ssl = pki_server_ctx(dir, why, whylen)) == NULL)
		return BL_ECRYPTO;
	if ((p->http = evhttp_new(p->base)) == NULL)
		return bl_why(why, whylen, -ENOMEM, "evhttp_new failed");
	evhttp_set_bevcb(p->http, httpsrv_tls_bevcb, p->ssl);
	evhttp_set_gencb(p->http, on_request, p);
	evhttp_set_max_body_size(p->http, PRIMARY_BODY_MAX);
	evhttp_set_max_headers_size(p->http, HTTPSRV_HEADERS_MAX);
	evhttp_set_timeout(p->http, HTTPSRV_IDLE_TIMEOUT);
	evhttp_set_allowed_methods(p->http,
	        EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	if (evhttp_bind_socket(p->http, p->conf.bind, (uint16_t)p->conf.port) !=
	        0)
		return bl_why(why, whylen, -EADDRINUSE,
		        "cannot listen on %s port %" PRIu64 ": %s",
		        p->conf.bind, p->conf.port, strerror(errno));
	log_info("listening on https://%s:%" PRIu64, p->conf.bind,
	        p->conf.port);
	return 0;
}

void
server_stop(struct primary *p)
{
	if (p->http != NULL)
		evhttp_free(p->http);
	p->http = NULL;
	if (p->ssl != NULL)
		SSL_CTX_free(p->ssl);
	p->ssl = NULL;
}

/*
 * server.h - the primary's HTTPS front end: the listener, dispatch through
 * route.c, authentication, and the reply helpers every handler uses.
 *
 * Every error reply has a JSON body {"error":{"status":N,"message":M}}
 * and a log line naming the peer, so an operator can match one to the
 * other.
 */
#ifndef BL_SERVER_H
#define BL_SERVER_H

#include <stddef.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "primary.h"
#include "route.h"

/* What dispatch learned about a request before calling its handler. */
struct reqctx {
	struct primary *p;
	struct evhttp_request *req;
	struct route_match m;
	char peer[64];       /* address:port, for logs */
	char who[64];        /* token name or node id */
	const struct cfg_node *node; /* RA_NODE: the enrolled node */
	struct evkeyvalq query; /* parsed query string */
	int have_query;
};

/* Open the listener on conf.port; 0 or an error with why. */
int server_start(struct primary *p, char *why, size_t whylen);
void server_stop(struct primary *p);

/* Send JSON (a reference is stolen) with status. */
void reply_json(struct reqctx *c, int status, json_t *v);
/* Error reply with a formatted message; logs it too. */
void reply_error(struct reqctx *c, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* 200 with len bytes of type (copied). */
void reply_bytes(struct evhttp_request *req, const char *type,
        const void *data, size_t len);
/* 204. */
void reply_empty(struct reqctx *c, int status);
/* Map a negative Branchline error to an HTTP status. */
int http_status_of(int err);

/* The request body as JSON, at most PRIMARY_JSON_MAX bytes; on failure
 * replies 400/413 itself and returns NULL. */
json_t *body_json(struct reqctx *c);
/* Query parameter or NULL. */
const char *query_get(struct reqctx *c, const char *key);
/* Parse an unsigned query parameter in [lo, hi]; def when absent.  On a
 * bad value replies 400 and returns -1. */
int query_uint(struct reqctx *c, const char *key, unsigned long long lo,
        unsigned long long hi, unsigned long long def,
        unsigned long long *out);

/* Handlers, one per route family (api_*.c, repl.c). */
void api_images(struct reqctx *c);
void api_uploads(struct reqctx *c);
void api_sites(struct reqctx *c);
void api_nodes(struct reqctx *c);
void api_config(struct reqctx *c);
void api_tokens(struct reqctx *c);
void api_status(struct reqctx *c);
void api_referral(struct reqctx *c);
void repl_enroll(struct reqctx *c);
void repl_ca(struct reqctx *c);
void repl_catalog(struct reqctx *c);
void repl_manifest(struct reqctx *c);
void repl_chunk(struct reqctx *c);
void repl_batch(struct reqctx *c);
void repl_status(struct reqctx *c);

#endif /* BL_SERVER_H */

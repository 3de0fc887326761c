/*
 * dserve.h - a distribution node's HTTPS server: the replication source
 * for child sites (the primary's GET /v1/manifests/{id}, GET
 * /v1/chunks/{id} and POST /v1/chunks/batch, served from the node's own
 * store) and GET /v1/health.  Requests go through a route table, so boot
 * files can join later.
 *
 * Replication needs a client certificate from the CA in pki_dir whose
 * node id the caller's allowed() accepts; anything else gets 403.  Every
 * error is {"error":{"status":N,"message":M}} plus a log line naming the
 * peer.  Limits: request bodies of at most DSERVE_BODY_MAX bytes (evhttp
 * refuses more), a batch body at most BATCH_BODY_MAX (413), headers
 * HTTPSRV_HEADERS_MAX, and a connection stalled for HTTPSRV_IDLE_TIMEOUT
 * seconds is closed.
 *
 * Everything runs on the event loop's thread.
 */
#ifndef BL_DSERVE_H
#define BL_DSERVE_H

#include <stddef.h>

#include <event2/event.h>

struct store;

#define DSERVE_BODY_MAX (1u << 20) /* any request body */

struct dserve_opts {
	const char *bind;      /* address to listen on, e.g. "0.0.0.0" */
	unsigned port;         /* 1..65535 */
	const char *pki_dir;   /* ca.crt, server.crt, server.key */
	struct store *store;   /* the node's store; dserve makes its own
	                          handle on it (store_open_shared) */
	/*
	 * May node_id (from a client certificate that verified against
	 * ca.crt) replicate from us?  Nonzero: yes.  Called for every
	 * replication request, on the event loop's thread; whatever it
	 * reads must be safe to read there.
	 */
	int (*allowed)(void *arg, const char *node_id);
	void *arg; /* for allowed */
};

struct dserve;

/*
 * Share o->store and listen on o->bind port o->port with TLS from
 * o->pki_dir, serving on base; o's strings are copied where kept.  *out
 * is the server (dserve_stop frees it).  Returns 0; BL_EUSAGE for missing
 * options or a bad port; the store_open error; BL_ECRYPTO when the TLS
 * context does not load; -EADDRINUSE when the address cannot be bound;
 * -ENOMEM.  why says which.
 */
int dserve_start(struct event_base *base, const struct dserve_opts *o,
        struct dserve **out, char *why, size_t whylen);

/*
 * Close the listener and every connection (batch streams in flight end
 * there), then the store; free d.  NULL is fine.
 */
void dserve_stop(struct dserve *d);

#endif /* BL_DSERVE_H */

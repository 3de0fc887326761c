/*
 * httpsrv.h - what every Branchline HTTPS server shares: evhttp over
 * bufferevent_openssl, the node behind a client certificate, and error
 * replies of one shape, {"error":{"status":N,"message":M}}, each with a
 * log line naming the peer.
 *
 * Event-loop thread only, like evhttp itself.
 */
#ifndef BL_HTTPSRV_H
#define BL_HTTPSRV_H

#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "pki.h"

#define HTTPSRV_HEADERS_MAX  (16u << 10) /* request line and headers */
#define HTTPSRV_IDLE_TIMEOUT 30 /* seconds a stalled connection lives */
#define HTTPSRV_PEER_MAX     64 /* "address:port" buffer */

/*
 * The evhttp_set_bevcb callback of a TLS server: a server-side
 * bufferevent_openssl (BEV_OPT_CLOSE_ON_FREE) on a new SSL from ssl_ctx,
 * the SSL_CTX * given as the callback's argument.  NULL when out of
 * memory (evhttp then drops the connection).
 */
struct bufferevent *httpsrv_tls_bevcb(struct event_base *base, void *ssl_ctx);

/* "address:port" of req's peer into buf[len] ("?:0" when unknown). */
void httpsrv_peer_name(struct evhttp_request *req, char *buf, size_t len);

/*
 * The node named by req's client certificate: id from its SAN (see
 * pki_cert_node_id) and, when serial is not NULL, its serial as
 * pki_cert_serial_hex writes it.  The certificate must have verified
 * against the server context's CA at the handshake.  Returns 0;
 * BL_ENOTFOUND when the peer sent none (or the connection is not TLS);
 * BL_ESIG when it did not verify; BL_EFORMAT when it names no node.
 */
int httpsrv_peer_node(struct evhttp_request *req, char id[PKI_NODE_ID_MAX + 1],
        char serial[PKI_SERIAL_HEX]);

/* The reason phrase of an HTTP status ("Not Found"). */
const char *httpsrv_reason(int status);

/* The HTTP status for a negative Branchline error (404, 400, 413, 500...). */
int httpsrv_status_of(int err);

/*
 * Replace every byte of s that is not printable ASCII by '?': for
 * messages that quote a peer's bytes, which then are also valid UTF-8.
 */
void httpsrv_sanitize(char *s);

/*
 * Answer req with status and the JSON error body of the formatted
 * message (at most 1023 bytes, sanitized), and log it as a warning with
 * peer, method and request target.
 */
void httpsrv_error(struct evhttp_request *req, const char *peer, int status,
        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* 200 with data[0..len) (copied) as type; 503 when out of memory. */
void httpsrv_reply_bytes(struct evhttp_request *req, const char *type,
        const void *data, size_t len);

#endif /* BL_HTTPSRV_H */

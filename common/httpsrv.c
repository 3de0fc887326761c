/*
 * httpsrv.c - the TLS bufferevent, client-certificate and error-reply
 * pieces of Branchline's HTTPS servers (see httpsrv.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "error.h"
#include "httpsrv.h"
#include "log.h"

struct bufferevent *
httpsrv_tls_bevcb(struct event_base *base, void *ssl_ctx)
{
	SSL *ssl;
	struct bufferevent *bev;

	if ((ssl = SSL_new(ssl_ctx)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	        BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	return bev;
}

void
httpsrv_peer_name(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *addr = NULL;
	uint16_t port = 0;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(buf, len, "%s:%u", addr ? addr : "?", port);
}

int
httpsrv_peer_node(struct evhttp_request *req, char id[PKI_NODE_ID_MAX + 1],
        char serial[PKI_SERIAL_HEX])
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl = NULL;
	X509 *cert = NULL;

	if (evcon != NULL &&
	        (bev = evhttp_connection_get_bufferevent(evcon)) != NULL)
		ssl = bufferevent_openssl_get_ssl(bev);
	if (ssl != NULL)
		cert = SSL_get0_peer_certificate(ssl);
	if (cert == NULL)
		return BL_ENOTFOUND;
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return BL_ESIG;
	if (pki_cert_node_id(cert, id) != 0)
		return BL_EFORMAT;
	if (serial != NULL && pki_cert_serial_hex(cert, serial) != 0)
		return BL_EFORMAT;
	return 0;
}

const char *
httpsrv_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
	        {200, "OK"},
	        {201, "Created"},
	        {202, "Accepted"},
	        {204, "No Content"},
	        {206, "Partial Content"},
	        {304, "Not Modified"},
	        {400, "Bad Request"},
	        {401, "Unauthorized"},
	        {403, "Forbidden"},
	        {404, "Not Found"},
	        {405, "Method Not Allowed"},
	        {409, "Conflict"},
	        {412, "Precondition Failed"},
	        {413, "Payload Too Large"},
	        {429, "Too Many Requests"},
	        {503, "Service Unavailable"},
	        {507, "Insufficient Storage"},
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return status < 500 ? "Client Error" : "Internal Server Error";
}

int
httpsrv_status_of(int err)
{
	switch (err) {
	case BL_ENOTFOUND:
	case -ENOENT:
		return 404;
	case BL_EFORMAT:
	case BL_EUSAGE:
	case BL_EVERSION:
	case BL_ESIG:
		return 400;
	case BL_ETOOBIG:
		return 413;
	case BL_EBUSY:
	case BL_ECHANGED:
		return 409;
	case -ENOSPC:
	case BL_EMAPFULL:
		return 507;
	case -ENOMEM:
		return 503;
	}
	return 500;
}

void
httpsrv_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static const char *
method_name(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "?";
	}
}

void
httpsrv_error(struct evhttp_request *req, const char *peer, int status,
        const char *fmt, ...)
{
	struct evbuffer *b;
	char msg[1024], *s;
	va_list ap;
	json_t *v;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	httpsrv_sanitize(msg);
	log_warnx("%s %s %.200s: %d %s", peer, method_name(req),
	        evhttp_request_get_uri(req), status, msg);
	v = json_pack(
	        "{s:{s:i,s:s}}", "error", "status", status, "message", msg);
	s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(v);
	if (s == NULL || (b = evbuffer_new()) == NULL) {
		free(s);
		evhttp_send_error(req, status, NULL);
		return;
	}
	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	free(s);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	        "Content-Type", "application/json");
	evhttp_send_reply(req, status, httpsrv_reason(status), b);
	evbuffer_free(b);
}

void
httpsrv_reply_bytes(struct evhttp_request *req, const char *type,
        const void *data, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || evbuffer_add(b, data, len) != 0) {
		if (b != NULL)
			evbuffer_free(b);
		evhttp_send_error(req, 503, NULL);
		return;
	}
	evhttp_add_header(
	        evhttp_request_get_output_headers(req), "Content-Type", type);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

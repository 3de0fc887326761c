/*
 * httpboot.h - boot files and iPXE scripts over HTTP and HTTPS, read
 * straight out of the chunk store through a bootfs.
 *
 *   GET|HEAD /boot/NAME      a published boot file (bootfs names,
 *                            percent-encoded): Range (one range, 206,
 *                            416), ETag (the file's SHA-256, strong),
 *                            If-None-Match (304), If-Range
 *   GET|HEAD /boot.ipxe?mac=M&arch=A
 *                            the iPXE script booting the default entry
 *                            for arch A of the client's site, from the
 *                            servers referral chose (ops->script)
 *
 * A boot file not published here that the boot entries name is
 * answered 302 to the server referral chooses for it (ops->redirect),
 * with "?referred=1" added: a request that carries it and still finds
 * no file may only go on to the primary, so views that disagree between
 * nodes cannot bounce a client between them (two hops at most).
 *
 * Anything else is 404; methods other than GET and HEAD are 405.  Plain
 * HTTP is what firmware and iPXE speak; HTTPS (the node's certificate)
 * serves the same for clients that carry the Branchline CA.  One
 * event-loop thread.
 */
#ifndef BL_HTTPBOOT_H
#define BL_HTTPBOOT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "bootfs.h"
#include "bootplan.h"

struct httpboot_conf {
	char bind[64];      /* address to listen on */
	uint16_t port;      /* plain HTTP; 0: none */
	uint16_t tls_port;  /* HTTPS; 0: none */
	SSL_CTX *ssl;       /* for tls_port; the caller's, kept referenced */
	char url[BOOTPLAN_BASE_MAX]; /* base of script URLs; "": from the
	                              * address the request reached */
};

/* What the server asks its owner (bootsvc): where a client's site is,
 * what it boots and from which servers.  Called on the event loop. */
struct httpboot_ops {
	void *arg;
	/*
	 * The iPXE script for the client at peer that sent arch (-1: none)
	 * and mac ("" if none); base is this server's base URL.  Returns 0,
	 * BL_ENOTFOUND (the script only says there is nothing to boot) or
	 * BL_ETOOBIG; note gets a few words for the log line.
	 */
	int (*script)(void *arg, const struct sockaddr *peer, int arch,
	        const char *mac, const char *base, char *out, size_t outlen,
	        char *note, size_t notelen);
	/*
	 * name is not published here: 1 with url[urllen] set to send the
	 * client to a server that has it (302), or 0 (404).  referred: the
	 * request came by such a redirect already; only the primary may be
	 * the next server.
	 */
	int (*redirect)(void *arg, const struct sockaddr *peer,
	        const char *name, int referred, char *url, size_t urllen);
};

struct httpboot_stats {
	uint64_t requests;
	uint64_t files;   /* file replies begun (200 and 206) */
	uint64_t scripts; /* scripts served */
	uint64_t errors;  /* 4xx and 5xx */
	uint64_t bytes;   /* file bytes queued */
	uint64_t redirects; /* 302s to another server */
	uint32_t active;  /* file bodies being sent now */
};

struct httpboot;

/* ops is the caller's and must outlive the server. */
int httpboot_start(struct event_base *base, const struct httpboot_conf *c,
        struct bootfs *fs, const struct httpboot_ops *ops,
        struct httpboot **out, char *why, size_t whylen);
/* The plain HTTP port bound (useful with port 0). */
uint16_t httpboot_port(const struct httpboot *h);
void httpboot_stats(const struct httpboot *h, struct httpboot_stats *st);
void httpboot_stop(struct httpboot *h);

/* What a Range header asks of a file of size bytes. */
enum http_range {
	HTTP_RANGE_NONE,   /* absent, or a form we may ignore: send it all */
	HTTP_RANGE_OK,     /* [*first, *last] inclusive, within the file */
	HTTP_RANGE_UNSAT   /* a valid range wholly past the end: 416 */
};

/*
 * Parse a Range header value (untrusted, RFC 9110 14.1.2): "bytes=A-B",
 * "bytes=A-", "bytes=-N".  Several ranges, other units and malformed
 * values yield HTTP_RANGE_NONE (a server may ignore Range), as does an
 * empty file.  Pure and bounded.
 */
int http_range_parse(const char *h, uint64_t size, uint64_t *first,
        uint64_t *last);

/* 1 if an If-None-Match value (a list of entity tags, or "*") matches
 * etag (a quoted strong tag), by weak comparison as RFC 9110 13.1.2
 * says. */
int http_etag_match(const char *h, const char *etag);

#endif /* BL_HTTPBOOT_H */

/*
 * bootsvc.h - a node's boot services as one unit, for both daemons: the
 * published boot files (bootfs), what clients are told (bootplan), and
 * the servers answering on the LAN: TFTP (tftpd), proxyDHCP and the PXE
 * boot server (pxed), HTTP(S) (httpboot).  Once a second it asks its
 * source for the site's boot entries (the catalog's "boot" array) and,
 * when the source has new ones, publishes them; a publish that fails
 * (out of memory) is tried again at the next tick.  One event-loop
 * thread.
 */
#ifndef BL_BOOTSVC_H
#define BL_BOOTSVC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "store.h"

/* The boot keys of a daemon's configuration file. */
struct boot_conf {
	int tftp;                     /* serve TFTP at all */
	char tftp_bind[64];           /* IPv4 address; 0.0.0.0 = every LAN */
	uint64_t tftp_port;           /* 69 */
	uint64_t tftp_blksize_max;    /* operator cap, 512..65464 */
	uint64_t tftp_windowsize_max; /* operator cap, 1..64 */
	uint64_t tftp_max_transfers;  /* at once, in all */
	uint64_t tftp_max_per_client; /* at once, per client address */
	uint64_t boot_cache;          /* bytes of boot file chunks kept */
	int dhcp;                     /* proxyDHCP / PXE boot server at all */
	int dhcp_proxy;               /* answer on 67; no: 4011 only */
	char dhcp_interfaces[256];    /* comma-separated; "" = every one */
	uint64_t dhcp_port;           /* 67 */
	uint64_t dhcp_pxe_port;       /* 4011 */
	char http_boot_bind[64];      /* address of the boot HTTP(S) server */
	uint64_t http_boot_port;      /* plain HTTP, 0 = off (80) */
	uint64_t http_boot_tls_port;  /* HTTPS, the daemon's certificate;
	                               * 0 = off */
	char boot_url[300]; /* base of boot URLs handed out; "" =
	                     * http://ADDRESS:http_boot_port */
	char pxe_prompt[128];        /* "" = no PXE menu; else its prompt */
	uint64_t pxe_prompt_timeout; /* seconds, then the first item */
	uint64_t boot_transfer_limit; /* TFTP + HTTP transfers at once
	                               * before referral sends new clients
	                               * elsewhere (1000) */
};

#define BOOT_CONF_NKEYS 20

/* The defaults: everything on, the standard ports, HTTP on 80. */
void boot_conf_default(struct boot_conf *c);

/* The BOOT_CONF_NKEYS keys into out[], for a struct boot_conf at offset
 * off of the struct the caller's conf_load fills. */
void boot_conf_keys(struct conf_key *out, size_t off);

/* After loading: boot_url checked and its trailing '/' dropped.  0, or
 * BL_EFORMAT with why naming path. */
int boot_conf_check(struct boot_conf *c, const char *path, char *why,
        size_t whylen);

/*
 * The base URL other nodes and clients reach this daemon's boot HTTP
 * server by: boot_url, else "http://HOST:http_boot_port" with the host
 * of daemon_url (its API or tier URL); "" when neither says.  0 or
 * BL_ETOOBIG.
 */
int boot_conf_url(const struct boot_conf *c, const char *daemon_url,
        char *out, size_t len);

struct bootsvc;

/*
 * Where the boot entries come from: called on the event loop every
 * second; returns a new reference to a referral view (referral.h: the
 * site catalog, with "self") when the entries, the tree, other nodes'
 * health or the images this store holds may have changed since the last
 * call, NULL when nothing did.  Each site's entries are its "boot" array
 * in "sites" (the own site's may be the view's "boot").  Every file any
 * site's entries name is published once its image is here, so the
 * source must say "changed" again when an image completes.  *confirmed
 * is set to when the view's health data was last confirmed (see
 * referral_confirmed).
 */
typedef json_t *(*bootsvc_source_fn)(void *arg, time_t *confirmed);

/*
 * Bind the ports the configuration asks for and serve from store (the
 * caller's handle for this thread; it must outlive the service), asking
 * source(arg) for the entries of site (for log lines) right away and
 * then every second.  pki_dir holds server.crt and server.key for HTTPS
 * boot.  0, or an error with why (nothing left open).
 */
int bootsvc_start(struct event_base *base, struct store *store,
        const struct boot_conf *c, const char *pki_dir, const char *site,
        bootsvc_source_fn source, void *arg, struct bootsvc **out,
        char *why, size_t whylen);

/* For the daemon's heartbeat: {"busy", "active", "limit", "referrals":
 * {target node id: decisions}} (a new reference). */
json_t *bootsvc_report(struct bootsvc *b);

void bootsvc_stop(struct bootsvc *b);

#endif /* BL_BOOTSVC_H */

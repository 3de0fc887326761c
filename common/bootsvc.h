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
};

#define BOOT_CONF_NKEYS 19

/* The defaults: everything on, the standard ports, HTTP on 80. */
void boot_conf_default(struct boot_conf *c);

/* The BOOT_CONF_NKEYS keys into out[], for a struct boot_conf at offset
 * off of the struct the caller's conf_load fills. */
void boot_conf_keys(struct conf_key *out, size_t off);

/* After loading: boot_url checked and its trailing '/' dropped.  0, or
 * BL_EFORMAT with why naming path. */
int boot_conf_check(struct boot_conf *c, const char *path, char *why,
        size_t whylen);

struct bootsvc;

/*
 * Where the entries come from: called on the event loop every second;
 * returns a new reference to the boot array when the entries or the
 * images the store holds may have changed since the last call, NULL when
 * nothing did.  An entry whose image is not here yet is left out (and
 * the log says some wait), so the source must say "changed" again when
 * an image completes.
 */
typedef json_t *(*bootsvc_source_fn)(void *arg);

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

void bootsvc_stop(struct bootsvc *b);

#endif /* BL_BOOTSVC_H */

/*
 * bootplan.h - what a booting client is told, as pure functions: the
 * boot file or URL in a proxyDHCP answer, and the iPXE script a node's
 * HTTP server hands to iPXE.  The site's boot entries (the catalog's
 * "boot" array, see site.h) are the only input besides the client.
 *
 * The chain a client follows:
 *  - A PXE ROM (option 60 PXEClient, not iPXE) gets the boot program
 *    entry for its architecture (option 93) as a TFTP file name, e.g. the
 *    ipxe image's undionly.kpxe for BIOS, ipxe.efi for x64 UEFI.  Without
 *    one for its architecture it gets no answer (and a log line).
 *  - iPXE (option 175 or user class "iPXE") gets the URL of its script,
 *    BASE/boot.ipxe?mac=MAC&arch=ARCH, never a program again: no loop.
 *  - A UEFI HTTP boot client (60 HTTPClient) gets the URL of a program
 *    or ISO entry for its architecture (an x64 UEFI program will do for
 *    an x64 HTTP client).
 *  - The script boots the site's default entry for the client's
 *    architecture, else the default of arch "any": a kernel (with its
 *    initrd and arguments), a program (chain) or an ISO (sanboot).
 *    Without one it says so and exits, so the firmware goes on to its
 *    next boot device.
 *
 * Files are named as bootfs publishes them: "REF/PATH", where REF is the
 * entry's image as written ("debian12" or "debian12@3"); on HTTP they sit
 * under BASE/boot/.
 */
#ifndef BL_BOOTPLAN_H
#define BL_BOOTPLAN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "site.h"

#define BOOTPLAN_BASE_MAX 300 /* "http://host:port" */
/* A URL we hand out: the base, "/boot/" and a published name (at most
 * "NAME@4294967295/PATH"), every byte percent-encoded in the worst case. */
#define BOOTPLAN_URL_MAX                                                       \
	(BOOTPLAN_BASE_MAX + 6 +                                               \
	        3 * (MANIFEST_NAME_MAX + 11 + 1 + MANIFEST_PATH_MAX) + 1)
/* Servers a script tries in turn (see bootplan_script_multi). */
#define BOOTPLAN_BASES_MAX 4
/* An iPXE script: per server two URLs, the initrd's name, the args and
 * the goto; the echoes. */
#define BOOTPLAN_SCRIPT_MAX                                                    \
	(BOOTPLAN_BASES_MAX *                                                  \
	                (3 * BOOTPLAN_URL_MAX + SITE_ARGS_MAX + 128) +         \
	        512)
#define BOOTPLAN_MAC_MAX    (3 * 16) /* "xx:xx:..." for 16 bytes, NUL */

/* One boot entry, resolved to published file names (all owned). */
struct bootplan_entry {
	char name[SITE_NAME_MAX + 1];
	enum site_arch arch;
	enum site_boot_kind kind;
	char *file;   /* "REF/PATH": kernel, program or iso */
	char *initrd; /* "REF/PATH" or NULL */
	char *args;   /* or NULL */
	int is_default;
};

struct bootplan {
	struct bootplan_entry *e;
	size_t n;
};

/*
 * Read the catalog's boot array (untrusted in the sense of every input:
 * checked, bounded to SITE_BOOT_MAX entries) into *out, replacing
 * nothing on failure.  Returns 0, or BL_EFORMAT with why naming the entry
 * ("boot[2].arch: ..."), -ENOMEM.  Free with bootplan_free.
 */
int bootplan_from_json(json_t *boot, struct bootplan *out, char *why,
        size_t whylen);
void bootplan_free(struct bootplan *p);

/* The client, from its DHCP request. */
struct bootplan_client {
	int arch; /* option 93's first, else 60's; -1 when unknown */
	int is_pxe, is_http, is_ipxe;
	const uint8_t *mac; /* chaddr[0..maclen) */
	size_t maclen;
};

enum bootplan_how {
	BOOTPLAN_NONE = 0, /* nothing for this client */
	BOOTPLAN_TFTP,     /* out is a file name on our TFTP server */
	BOOTPLAN_URL       /* out is an http(s) URL */
};

/*
 * What the proxyDHCP answer names for client c; base is "http://A:P" of
 * this node's boot HTTP server (no trailing '/').  Writes the name or URL
 * to out[outlen] (at most BOOTPLAN_URL_MAX is ever needed) and, for
 * BOOTPLAN_NONE, why says what is missing.  Returns enum bootplan_how.
 */
int bootplan_dhcp(const struct bootplan *p, const struct bootplan_client *c,
        const char *base, char *out, size_t outlen, char *why,
        size_t whylen);

/* The entry bootplan_dhcp answers c with (the program, or for iPXE the
 * entry its script boots), or NULL when it has none for c. */
const struct bootplan_entry *bootplan_dhcp_entry(
        const struct bootplan *p, const struct bootplan_client *c);

/* The image of a published name "REF/PATH": name and version (0 when
 * REF has none).  0, or -1 when REF is not NAME[@VERSION]. */
int bootplan_name_image(const char *file, char *name, size_t namelen,
        uint32_t *version);

/* A hardware address, 1 to 16 hex byte pairs joined by ':' or '-', from
 * v[0..n) into mac; 0 with *len set, or -1.  Pure. */
int bootplan_mac_parse(const char *v, size_t n, uint8_t mac[16], size_t *len);

/*
 * The query of a script request, "mac=..&arch=.." (either may be
 * missing; other keys are ignored).  mac: 1 to 16 hex byte pairs joined
 * by ':' or '-', written back lowercase with ':'; arch: a number 0..65535
 * or a site arch name ("bios", "efi-x64", ...).  *arch is -1 when absent.
 * Returns 0, or BL_EFORMAT with why.
 */
int bootplan_query(const char *q, int *arch, char mac[BOOTPLAN_MAC_MAX],
        char *why, size_t whylen);

/*
 * A boot file's URL gets "?referred=1" when a server redirects a client
 * to another (httpboot.h): 1 if query q (NULL: none) carries it among its
 * parameters, else 0.
 */
#define BOOTPLAN_REFERRED_KEY   "referred"
#define BOOTPLAN_REFERRED_QUERY "?" BOOTPLAN_REFERRED_KEY "=1"
int bootplan_query_referred(const char *q);

/*
 * The iPXE script for a client of arch (-1: unknown) into out[outlen]
 * (BOOTPLAN_SCRIPT_MAX always suffices for entries site.h allows), NUL
 * terminated.  Returns 0 when it boots an entry, BL_ENOTFOUND when the
 * script only says there is none and exits, BL_ETOOBIG if out is short.
 */
int bootplan_script(const struct bootplan *p, int arch, const char *mac,
        const char *base, char *out, size_t outlen);

/*
 * The same from several servers, best first: each step of booting the
 * entry ("kernel", "initrd", "boot"; "chain"; "sanboot") that fails goes
 * on to the next server (":blN" labels), and after the last the script
 * says so and exits 1.  With one base it is bootplan_script's; with none
 * only the message (BL_ENOTFOUND).  At most BOOTPLAN_BASES_MAX are used.
 */
int bootplan_script_multi(const struct bootplan *p, int arch, const char *mac,
        const char *const *bases, size_t nbases, char *out, size_t outlen);

/* The entry a script boots for arch, or NULL. */
const struct bootplan_entry *bootplan_default(const struct bootplan *p,
        int arch);

/* 1 if a boot entry of site arch a is for a client of DHCP arch n. */
int bootplan_arch_match(enum site_arch a, int n);

/*
 * Percent-encode a published name for a URL path: unreserved bytes, '/'
 * and '@' stay, every other byte becomes %XX.  Returns the length, or 0 if
 * it does not fit out[outlen] with its NUL.
 */
size_t bootplan_url_path(const char *name, char *out, size_t outlen);

#endif /* BL_BOOTPLAN_H */

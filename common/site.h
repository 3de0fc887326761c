/*
 * site.h - one site of the head-office configuration, and its subnets.
 *
 * Each site is a JSON file in the configuration repository, edited by
 * hand or through the admin API, so site_from_json treats its input as
 * untrusted: bounded, strict (unknown fields and duplicate keys refused),
 * every value type- and range-checked, errors naming the field path
 * ("subnets[2]: ...", "boot[0].arch: ...").  site_to_json writes the
 * canonical form (sorted keys, indent 2, every site field present) so
 * that repository diffs stay readable.  A site document:
 *
 *   {"name": "lyon", "parent": "hq", "wan_cost": 20, "tz": "Europe/Paris",
 *    "subnets": ["10.20.0.0/16", "2001:db8:20::/48"],
 *    "windows": "mon-fri 20:00-06:00 50mbit; sat 06:00-24:00",
 *    "trickle_bps": 1000000, "images": ["debian12", "rescue@3"],
 *    "boot": [{"name": "install", "arch": "efi-x64", "kind": "kernel",
 *              "image": "debian12", "kernel": "boot/vmlinuz",
 *              "initrd": "boot/initrd.img", "args": "quiet",
 *              "default": true}],
 *    "option82": [{"circuit_id": "sw-lyon-1 ge-0/0/12"},
 *                 {"circuit_id": "hex:000401f4",
 *                  "remote_id": "hex:0011223344"}]}
 *
 * Only "name" is required; the others default to a root site, cost 0,
 * "UTC", no subnets, no windows (a site without windows replicates at any
 * time, uncapped), trickle 0 (with windows: nothing moves outside them),
 * no images, no boot entries, no option 82 rules.
 *
 * An option 82 rule claims for the site the boot requests a DHCP relay
 * tags with that circuit-id and/or remote-id (RFC 3046 sub-options 1 and
 * 2; see referral.h for how rules are matched).  Each rule names at least
 * one of them; a value is printable ASCII taken literally, or "hex:" and
 * an even number of hex digits for binary ids (site_opt82_parse).
 */
#ifndef BL_SITE_H
#define BL_SITE_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "schedule.h"

#define SITE_NAME_MAX      63         /* bytes of a site or boot entry name */
#define SITE_WAN_COST_MAX  1000000    /* wan_cost bound */
#define SITE_SUBNETS_MAX   4096       /* subnets per site */
#define SITE_IMAGES_MAX    256        /* image refs per site */
#define SITE_BOOT_MAX      64         /* boot entries per site */
#define SITE_ARGS_MAX      2048       /* bytes of a kernel command line */
#define SITE_JSON_MAX      (1u << 20) /* bytes of a site document */
#define CIDR_STR_MAX       50         /* "ffff:...:255.255.255.255/128" + NUL */
#define SITE_OPT82_MAX     256        /* option 82 rules per site */
#define SITE_OPT82_LEN     255        /* bytes of a circuit-id or remote-id */
#define SITE_OPT82_STR_MAX (4 + 2 * SITE_OPT82_LEN + 1) /* "hex:..." + NUL */

/* An address prefix; bits after the prefix are always zero. */
struct cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 uses addr[0..4), rest 0 */
	uint8_t prefix;   /* 0..32 or 0..128 */
};

enum site_arch {
	SITE_ARCH_BIOS,       /* "bios": PXE on legacy BIOS */
	SITE_ARCH_EFI_IA32,   /* "efi-ia32" */
	SITE_ARCH_EFI_X64,    /* "efi-x64" */
	SITE_ARCH_EFI_ARM64,  /* "efi-arm64" */
	SITE_ARCH_HTTP_X64,   /* "http-x64": UEFI HTTP boot */
	SITE_ARCH_HTTP_ARM64, /* "http-arm64" */
	SITE_ARCH_ANY,        /* "any": a default here yields to one of the
	                         client's own arch */
	SITE_ARCH_COUNT
};

enum site_boot_kind {
	SITE_BOOT_KERNEL,  /* "kernel": kernel + optional initrd and args */
	SITE_BOOT_PROGRAM, /* "program": a network boot program (EFI/PXE) */
	SITE_BOOT_ISO,     /* "iso": an ISO image booted from memory */
};

/* "name" (the latest version) or "name@version" in JSON. */
struct site_image {
	char name[MANIFEST_NAME_MAX + 1]; /* manifest_name_valid */
	uint32_t version;                 /* 1..UINT32_MAX; 0 = the latest */
};

struct site_boot {
	char name[SITE_NAME_MAX + 1]; /* site_name_valid, unique in the site */
	enum site_arch arch;
	enum site_boot_kind kind;
	struct site_image image; /* also listed in the site's images */
	/*
	 * Paths inside the image (manifest_path_valid, no control
	 * characters), owned.  path is the kernel, program or iso file: JSON
	 * names it "kernel", "program" or "iso" after kind.  initrd and args
	 * (printable ASCII, 1..SITE_ARGS_MAX bytes) are for kind kernel only;
	 * NULL when absent.
	 */
	char *path;
	char *initrd;
	char *args;
	int is_default; /* JSON "default": at most one per arch */
};

/*
 * A DHCP option 82 (relay agent information) rule.  JSON
 * {"circuit_id": "..", "remote_id": ".."} with at least one of the two
 * keys; values in the form of site_opt82_parse.
 */
struct site_opt82 {
	uint8_t circuit[SITE_OPT82_LEN]; /* sub-option 1 */
	size_t ncircuit;                 /* 0: the rule does not look at it */
	uint8_t remote[SITE_OPT82_LEN];  /* sub-option 2 */
	size_t nremote;                  /* 0: the rule does not look at it */
};

struct site {
	char name[SITE_NAME_MAX + 1];   /* site_name_valid */
	char parent[SITE_NAME_MAX + 1]; /* parent site; "" for a root */
	uint32_t wan_cost; /* cost of the link to the parent, 0..1000000 */
	char tz[TZ_NAME_MAX + 1];     /* IANA zone of the windows, tz_valid */
	struct cidr *subnets;         /* owned; none nested in another */
	size_t nsubnets;              /* <= SITE_SUBNETS_MAX */
	struct sched_window *windows; /* owned; JSON string "windows" */
	size_t nwindows;              /* <= SCHED_WINDOWS_MAX */
	uint64_t trickle_bps;      /* cap outside every window, bit/s; 0 = none
	                              moves; <= SCHED_CAP_MAX */
	struct site_image *images; /* owned; images replicated here, unique */
	size_t nimages;            /* <= SITE_IMAGES_MAX */
	struct site_boot *boot;    /* owned; boot menu entries */
	size_t nboot;              /* <= SITE_BOOT_MAX */
	struct site_opt82 *option82; /* owned; relay rules, none twice */
	size_t noption82;            /* <= SITE_OPT82_MAX */
};

/*
 * Parse "a.b.c.d/p" or an IPv6 "x::/p" (prefix required, no leading
 * zeros) into *out.  Bits after the prefix must be zero ("10.1.2.0/16 has
 * host bits set; did you mean 10.1.0.0/16?").  IPv4-mapped IPv6 prefixes
 * (inside ::ffff:0:0/96) are refused: write the IPv4 form.  Returns 0 or
 * BL_EFORMAT with why.
 */
int cidr_parse(const char *s, struct cidr *out, char *why, size_t whylen);

/* Canonical text (RFC 5952 for IPv6) into buf[len]: 0, BL_ETOOBIG, or
 * BL_EFORMAT for an invalid struct.  CIDR_STR_MAX bytes always suffice. */
int cidr_format(const struct cidr *c, char *buf, size_t len);

/*
 * 1 if addr (4 bytes for AF_INET, 16 for AF_INET6) lies in c, else 0.
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as dual-stack sockets
 * report IPv4 peers) is matched as the IPv4 address a.b.c.d.
 */
int cidr_contains(const struct cidr *c, int family, const uint8_t *addr);

/* 1 if a and b share an address (for prefixes: one contains the other). */
int cidr_overlaps(const struct cidr *a, const struct cidr *b);

/*
 * Parse one option 82 value into out[SITE_OPT82_LEN]: "text" (1..255
 * bytes of printable ASCII 0x20..0x7e, not starting with "hex:", taken
 * literally) or "hex:" and 2..510 hex digits, an even number, either case
 * (binary ids).  The "hex:" prefix is matched case-sensitively, so
 * "HEX:41" is literal text.  Returns 0 with *n set (1..SITE_OPT82_LEN),
 * or BL_EFORMAT with why ("odd number of hex digits"; *n is then 0),
 * BL_EUSAGE for NULL arguments.  Pure.
 */
int site_opt82_parse(
        const char *s, uint8_t *out, size_t *n, char *why, size_t whylen);

/*
 * The canonical text of value v[0..n) (1 <= n <= SITE_OPT82_LEN) into
 * buf[len]: the literal string when every byte is printable ASCII and it
 * does not start with "hex:", else "hex:" + lowercase hex, so that
 * site_opt82_parse reads it back to the same bytes.  Returns 0,
 * BL_ETOOBIG (SITE_OPT82_STR_MAX always suffices), or BL_EUSAGE for n out
 * of range or NULL pointers; on failure buf holds "" when len > 0.
 */
int site_opt82_format(const uint8_t *v, size_t n, char *buf, size_t len);

/* 1 if name is 1..63 bytes of [a-z0-9._-] starting with [a-z0-9]. */
int site_name_valid(const char *name);

/* "bios", "kernel", ...; "?" out of range.  Static strings. */
const char *site_arch_name(enum site_arch a);
const char *site_boot_kind_name(enum site_boot_kind k);

/*
 * Parse the site document buf[0..len) (at most SITE_JSON_MAX bytes, a JSON
 * object, UTF-8, no duplicate keys) into *out, which need not be
 * initialised.  The one file-system access: tz must exist in TZ_DIR (see
 * tz_valid).  Returns 0, BL_ETOOBIG or BL_EFORMAT with why naming the
 * field ("unknown field 'subnet' (did you mean 'subnets'?)",
 * "boot[0].arch: 'x86' is not one of bios, ..."), -ENOMEM.  On failure
 * *out is zeroed; on success free it with site_free.
 */
int site_from_json(const char *buf, size_t len, struct site *out, char *why,
        size_t whylen);

/*
 * The canonical document for s: keys sorted, indent 2, trailing newline,
 * every site field present, the optional boot fields only when set.
 * site_from_json reads it back to the same values.  s must satisfy
 * site_from_json's rules.  Returns a malloc'd string (caller frees with
 * free()), or NULL when out of memory or s holds an unencodable value.
 */
char *site_to_json(const struct site *s);

/* Free what s owns and zero it.  Safe on a zeroed struct; NULL is a no-op. */
void site_free(struct site *s);

/*
 * Cross-site checks over sites[0..n): names unique, every parent exists,
 * no parent cycles (several roots are fine), no subnet in two sites
 * (nested subnets in different sites are fine: the more specific wins in
 * referral), and no option 82 rule (the same circuit-id and remote-id,
 * absent ones included) in two sites.  Returns 0, BL_EFORMAT with why
 * naming the sites (and the rule), -ENOMEM.
 */
int site_check_set(
        const struct site *sites, size_t n, char *why, size_t whylen);

#endif /* BL_SITE_H */

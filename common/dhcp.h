/*
 * dhcp.h - BOOTP/DHCP and PXE as pure, bounded functions, for the
 * proxyDHCP (UDP 67) and PXE boot server (UDP 4011): datagram parsing
 * (RFC 2131, 2132, 3396, 4578, 3004, 3046; PXE 2.1), the choice of a
 * boot program for a client architecture, the proxy OFFER/ACK, and where
 * that reply goes.  No I/O here: the server owns the sockets.  A proxy
 * never assigns addresses: it only says what to boot.
 *
 * Datagram (all integers big-endian on the wire):
 *   op u8 | htype u8 | hlen u8 | hops u8 | xid u32 | secs u16 |
 *   flags u16 | ciaddr | yiaddr | siaddr | giaddr | chaddr[16] |
 *   sname[64] | file[128] | cookie 99.130.83.99 | options
 * Options are code u8 | length u8 | data[length], but for PAD (0) and
 * END (255), which are one byte.
 *
 * Byte order in the structs below: IPv4 addresses are in network order
 * (as in struct in_addr's s_addr, ready for a sockaddr_in); every other
 * integer (xid, secs, flags, ports, arch) is in host order.
 */
#ifndef BL_DHCP_H
#define BL_DHCP_H

#include <stddef.h>
#include <stdint.h>

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_PXE_PORT    4011 /* the PXE boot server (PXE 2.1) */

#define DHCP_FIXED_LEN  236   /* op .. file */
#define DHCP_HDR_LEN    240   /* and the magic cookie */
#define DHCP_PKT_MAX    65507 /* the largest UDP payload over IPv4 */
#define DHCP_REPLY_MIN  300   /* BOOTP minimum (RFC 1542 2.1): pad to it */
#define DHCP_IP_UDP_LEN 28    /* IPv4 and UDP headers, counted in opt 57 */
#define DHCP_MSG_MIN    576   /* smallest legal option 57 (RFC 2132 9.10) */
#define DHCP_CHADDR_LEN 16
#define DHCP_SNAME_LEN  64 /* field bytes, NUL included */
#define DHCP_FILE_LEN   128
#define DHCP_OPT_MAX    255  /* one option's data */
#define DHCP_LONG_MAX   1024 /* 43, 82, 175 after concatenation */
#define DHCP_ARCH_MAX   16   /* option 93 entries kept */
#define DHCP_UUID_MAX   17   /* option 97: type 0 and 16 bytes */

#define DHCP_BOOTREQUEST    1
#define DHCP_BOOTREPLY      2
#define DHCP_FLAG_BROADCAST 0x8000

/* Option 53. */
enum {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_DECLINE = 4,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
	DHCP_RELEASE = 7,
	DHCP_INFORM = 8
};

/* Option codes used here. */
enum {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_VENDOR = 43,   /* PXE vendor options when 60 is PXEClient */
	DHCP_OPT_OVERLOAD = 52, /* 1: file holds options, 2: sname, 3: both */
	DHCP_OPT_MSGTYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PRL = 55, /* parameter request list */
	DHCP_OPT_MAXMSG = 57,
	DHCP_OPT_VCLASS = 60,
	DHCP_OPT_TFTP_SERVER = 66,
	DHCP_OPT_BOOTFILE = 67,
	DHCP_OPT_USER_CLASS = 77,
	DHCP_OPT_RELAY = 82,
	DHCP_OPT_ARCH = 93,
	DHCP_OPT_NII = 94,
	DHCP_OPT_UUID = 97,
	DHCP_OPT_IPXE = 175, /* iPXE's encapsulated options */
	DHCP_OPT_END = 255
};

/* PXE 2.1 sub-options of option 43. */
enum {
	PXE_DISCOVERY_CONTROL = 6,
	PXE_BOOT_SERVERS = 8,
	PXE_BOOT_MENU = 9,
	PXE_MENU_PROMPT = 10,
	PXE_BOOT_ITEM = 71
};

/* Sub-option 6 bits. */
#define PXE_DISC_NO_BCAST 0x01 /* no broadcast discovery */
#define PXE_DISC_NO_MCAST 0x02 /* no multicast discovery */
#define PXE_DISC_LISTED   0x04 /* only servers in sub-option 8 */
#define PXE_DISC_USE_FILE 0x08 /* boot the file in this offer, no discovery */

/* iPXE's sub-option 176 of 175: 1 = do not wait for a ProxyDHCP offer. */
#define IPXE_OPT_NO_PXEDHCP 176

/*
 * Why dhcp_parse refused a datagram, for the server's drop counters (the
 * why text says the detail).
 */
enum dhcp_bad {
	DHCP_BAD_NONE = 0,
	DHCP_BAD_SHORT,   /* shorter than DHCP_HDR_LEN */
	DHCP_BAD_OP,      /* op neither BOOTREQUEST nor BOOTREPLY */
	DHCP_BAD_HLEN,    /* hlen above 16 */
	DHCP_BAD_COOKIE,  /* no magic cookie: plain BOOTP or garbage */
	DHCP_BAD_OPTIONS, /* an option runs past the end of its area */
	DHCP_BAD_VALUE,   /* an option with a length or value it cannot have */
	DHCP_BAD_TOOBIG   /* datagram or concatenated option above its bound */
};

/*
 * A parsed datagram.  Self-contained (copies, no pointers into the
 * packet).  Options are concatenated per RFC 3396: every instance of a
 * code, in the options field, then file, then sname when overloaded, is
 * joined before it is read, so a fixed-size option sent twice is
 * malformed.  has_* says an option was present.
 */
struct dhcp_msg {
	int op;                    /* DHCP_BOOTREQUEST or DHCP_BOOTREPLY */
	uint8_t htype, hlen, hops; /* hlen <= 16 */
	uint32_t xid;
	uint16_t secs, flags; /* flags & DHCP_FLAG_BROADCAST */
	uint32_t ciaddr, yiaddr, siaddr, giaddr; /* network order */
	uint8_t chaddr[DHCP_CHADDR_LEN]; /* as sent; the address: [0..hlen) */
	/* The fixed fields up to their first NUL, NUL-terminated; empty
	 * when they hold options (overload).  Untrusted bytes: quote them
	 * before logging. */
	char sname[DHCP_SNAME_LEN + 1];
	char file[DHCP_FILE_LEN + 1];
	int overload; /* option 52, 0 when absent */

	int msgtype; /* option 53; 0: absent (BOOTP) */
	int has_server_id;
	uint32_t server_id;        /* option 54, network order */
	uint8_t prl[DHCP_OPT_MAX]; /* option 55: codes asked for */
	size_t prl_len;
	uint16_t max_msg; /* option 57 as sent, 0: absent (see
	                   * dhcp_build_proxy for how it is used) */

	int has_vclass;
	uint8_t vclass[DHCP_OPT_MAX]; /* option 60, raw */
	size_t vclass_len;
	int is_pxe;      /* 60 starts with "PXEClient" */
	int is_http;     /* 60 starts with "HTTPClient" */
	int vclass_arch; /* 60's ":Arch:NNNNN", -1 without */

	uint16_t arch_list[DHCP_ARCH_MAX]; /* option 93, the first entries */
	size_t narch;
	int arch; /* "the" arch: 93's first, else 60's, else -1 */

	int has_nii; /* option 94: UNDI type, major, minor */
	uint8_t nii_type, nii_major, nii_minor;

	uint8_t uuid[DHCP_UUID_MAX]; /* option 97, raw (echoed back) */
	size_t uuid_len;             /* 0: absent */

	int has_user_class;
	uint8_t user_class[DHCP_OPT_MAX]; /* option 77, raw */
	size_t user_class_len;
	int user_class_ipxe; /* 77 is "iPXE", plain or RFC 3004 form */

	int has_ipxe;
	uint8_t ipxe[DHCP_LONG_MAX]; /* option 175, raw */
	size_t ipxe_len;
	int is_ipxe; /* user_class_ipxe or has_ipxe */

	int has_relay;
	uint8_t relay[DHCP_LONG_MAX]; /* option 82, raw (echoed back) */
	size_t relay_len;

	int has_vendor;
	uint8_t vendor[DHCP_LONG_MAX]; /* option 43, raw */
	size_t vendor_len;
	/* From 43 when is_pxe: sub-option 71, the item asked for on 4011. */
	int has_boot_item;
	uint16_t item_type, item_layer;

	int bad; /* after a failed parse: enum dhcp_bad */
};

/*
 * Parse a datagram p[0..len), untrusted.  Accepts BOOTREQUEST and
 * BOOTREPLY (m->op says which: a server must drop replies); requires the
 * magic cookie (a PXE client always speaks DHCP).  Options:
 *  - PAD is skipped; END ends an area and whatever follows it is padding.
 *  - Leniency: an area without END is accepted when its last option ends
 *    exactly at the area's end (old clients and relays omit END); an
 *    option whose header or data runs past the end is an error.
 *  - Overload (52) in the options field makes file and then sname option
 *    areas; a 52 inside them is ignored, so overload cannot loop.  Two
 *    52s in the options field are OR'ed.
 *  - Fixed-size options must have their size after concatenation: 53 (1),
 *    54 (4), 57 (2), 94 (3), 93 (even, 2 or more), 97 (1 to 17).  Option
 *    57 below 576 is kept as sent and read as 576 by the builder.
 *  - Kept whole, up to DHCP_OPT_MAX: 55, 60, 77; up to DHCP_LONG_MAX: 43,
 *    82, 175.  Option 93 keeps its first DHCP_ARCH_MAX entries (the first
 *    is the one that counts).  Other options are skipped.
 *  - 43 of a PXEClient must be well-formed PXE sub-options (71: 4 bytes).
 * Returns 0; BL_EFORMAT or BL_ETOOBIG with why saying what (printable)
 * and m->bad the reason for counting.  On failure *m is zeroed but for
 * bad.  Pure and bounded: never reads beyond len, uses no globals.
 */
int dhcp_parse(const uint8_t *p, size_t len, struct dhcp_msg *m, char *why,
        size_t whylen);

/* Short name of a DHCP_BAD_* value ("ok" for 0); static, never NULL. */
const char *dhcp_bad_name(int bad);

/* The option 53 to answer req with: OFFER for a DISCOVER, ACK for a
 * REQUEST or an INFORM, 0 for anything a proxy does not answer. */
int dhcp_reply_type(const struct dhcp_msg *req);

/*
 * Client architectures (option 93): the IANA "Processor Architecture
 * Types" registry, which corrects RFC 4578 (7 is x64 UEFI, 9 EBC).
 */
enum {
	DHCP_ARCH_BIOS = 0,
	DHCP_ARCH_EFI_IA32 = 6,
	DHCP_ARCH_EFI_X64 = 7,
	DHCP_ARCH_EFI_BC = 9, /* x64 in RFC 4578 before its erratum */
	DHCP_ARCH_EFI_ARM32 = 10,
	DHCP_ARCH_EFI_ARM64 = 11,
	DHCP_ARCH_HTTP_IA32 = 15,
	DHCP_ARCH_HTTP_X64 = 16,
	DHCP_ARCH_HTTP_ARM32 = 18,
	DHCP_ARCH_HTTP_ARM64 = 19,
	DHCP_ARCH_HTTP_BIOS = 20,
	DHCP_ARCH_EFI_RV64 = 27,
	DHCP_ARCH_HTTP_RV64 = 28,
	DHCP_ARCH_EFI_LA64 = 39,
	DHCP_ARCH_HTTP_LA64 = 40
};

/* The registry's name of arch (e.g. "x64 UEFI"), "unknown" for values
 * it does not list; static, never NULL. */
const char *dhcp_arch_name(uint16_t arch);

/* 1 if arch is a UEFI HTTP boot one (it fetches a URL, not a TFTP file). */
int dhcp_arch_http(uint16_t arch);

/* How a boot program reaches a client. */
enum dhcp_kind {
	DHCP_KIND_NBP = 1, /* a file over TFTP: what a PXE ROM loads */
	DHCP_KIND_URL = 2  /* a URL: what UEFI HTTP boot loads */
};

/* A boot program on offer: the arch it was built for, and its kind. */
struct dhcp_prog {
	uint16_t arch;
	int kind; /* enum dhcp_kind */
};

/*
 * Pick a program for a client of arch from progs[0..n).  A client takes
 * only the kind its arch fetches (URL for the HTTP arches, NBP for the
 * others).  Of those, the first with the same arch wins; else the first
 * built for the same platform (see the table in dhcp.c: 7 and 9 are both
 * x64 UEFI; 16 takes a 7 or 9 program by URL, 0 and 20 are the PC BIOS,
 * and so on); else none.  Returns the index, or -1.
 */
int dhcp_choose(uint16_t arch, const struct dhcp_prog *progs, size_t n);

/* Option 60 in a reply. */
enum dhcp_vc {
	DHCP_VC_AUTO = 0, /* HTTPClient if the client is, else PXEClient if
	                   * the client is, else none */
	DHCP_VC_NONE,
	DHCP_VC_PXE, /* "PXEClient", with option 43 */
	DHCP_VC_HTTP /* "HTTPClient" (UEFI HTTP boot: URL in file) */
};

/* A PXE boot menu entry (sub-option 9), and its server (sub-option 8). */
struct dhcp_menu_item {
	uint16_t type;    /* boot server type; 0 is "boot locally" */
	const char *desc; /* shown to the user, at most 255 bytes */
	uint32_t server;  /* network order; 0: none listed for this type */
};

/*
 * What a proxy answers.  Strings are the caller's, read during the build.
 */
struct dhcp_answer {
	int msgtype;           /* DHCP_OFFER or DHCP_ACK */
	uint32_t server_id;    /* option 54, network order */
	uint32_t next_server;  /* siaddr: the TFTP server, network order */
	const char *sname;     /* NULL or at most 63 bytes */
	const char *boot_file; /* file name or URL, at most 255 bytes;
	                        * over 127 it needs bootfile_opts */
	int vclass;            /* enum dhcp_vc */
	/* Option 43, sent with vclass PXEClient only: sub-option 6 (but in
	 * a boot server's ACK, has_boot_item), 8, 9 and 10 with a menu, 71
	 * if has_boot_item, END.  Without a menu 6 is PXE_DISC_USE_FILE:
	 * the client boots file at once. */
	const struct dhcp_menu_item *menu; /* sub-options 8 and 9 */
	size_t nmenu;
	uint8_t disc_ctl;       /* sub-option 6 when there is a menu */
	const char *prompt;     /* NULL or sub-option 10, with a menu only */
	uint8_t prompt_timeout; /* s; 0: boot the first item, 255: wait */
	int has_boot_item;      /* sub-option 71 (a 4011 ACK) */
	uint16_t item_type, item_layer;
	/* Also put next_server/sname in 66 and boot_file in 67: some clients
	 * read the options rather than the fields.  With a boot_file over
	 * 127 bytes, file stays empty and only 67 carries it. */
	int bootfile_opts;
	int ipxe_no_pxedhcp; /* 175.176 = 1 (tell iPXE not to wait) */
};

/*
 * Build the proxy reply to req into buf[0..cap) and return its length,
 * or 0 if anything does not fit (never a truncated reply) or a's strings
 * exceed their bounds.
 *
 * Header: op BOOTREPLY, htype, hlen, xid, flags, giaddr and chaddr
 * copied; hops and secs 0; yiaddr 0 (a proxy assigns nothing); ciaddr 0
 * in an OFFER, copied in an ACK; siaddr next_server; sname, file.
 * Options in order: 53, 54, 60, 97 (copied when req has it), 43, 66 and
 * 67, 175, 82 (copied unchanged when req has it, last, per RFC 3046), END;
 * then zeros up to DHCP_REPLY_MIN bytes.  An option above 255 bytes (82
 * only) is split per RFC 3396; option 43 must fit in one (old PXE
 * ROMs do not join).
 *
 * Size: at most cap and at most what the client takes: option 57 counts
 * the IP and UDP headers (RFC 2132 9.10 makes 576 its least value), so a
 * reply holds 57 - 28 bytes, 548 without 57 or with 57 below 576.
 */
size_t dhcp_build_proxy(const struct dhcp_msg *req, const struct dhcp_answer *a,
        uint8_t *buf, size_t cap);

/* Where a reply goes. */
struct dhcp_dest {
	uint32_t addr; /* network order; INADDR_BROADCAST when broadcast */
	uint16_t port; /* host order */
	int broadcast; /* 1: send with SO_BROADCAST on the request's link */
};

/*
 * The destination of the reply to req, which arrived on local_port from
 * src_addr:src_port (network order, host order).  RFC 2131 4.1: on 67,
 * giaddr set: the relay, giaddr:67; else ciaddr set: ciaddr:68; else
 * broadcast to 255.255.255.255:68 (the broadcast flag does not matter: a
 * proxy has no yiaddr to unicast to).  On DHCP_PXE_PORT: the source as
 * is, or a broadcast to its port when the source address is 0.
 */
void dhcp_reply_dest(const struct dhcp_msg *req, uint16_t local_port,
        uint32_t src_addr, uint16_t src_port, struct dhcp_dest *d);

/*
 * The circuit-id (sub-option 1) and remote-id (2) of a request's relay
 * agent information (option 82, RFC 3046), pointing into m->relay; NULL
 * and 0 when absent.  A malformed option 82 (a sub-option running past
 * its end) yields what was read before the fault.  Pure.
 */
void dhcp_relay_ids(const struct dhcp_msg *m, const uint8_t **circuit,
        size_t *ncircuit, const uint8_t **remote, size_t *nremote);

#endif /* BL_DHCP_H */

/*
 * pxed.h - the proxyDHCP server (UDP 67) and PXE boot server (UDP 4011)
 * of every node.  It never assigns an address: the site's DHCP server
 * does that; this one answers PXE and UEFI HTTP-boot clients (option 60
 * PXEClient / HTTPClient) with what to boot and from which server, as
 * its planner (bootsvc: the client's site, its boot entries, referral)
 * says.
 *
 * On 67 it answers DISCOVERs with a proxy OFFER (and a REQUEST or INFORM
 * only when it names this server); on 4011, REQUESTs and INFORMs with an
 * ACK.  A relayed request (giaddr set) is answered unicast to the relay's
 * port 67, option 82 echoed.  With proxy off, only 4011 is served: for a
 * site DHCP server on the same host that sends option 60 itself.
 *
 * Replies leave by the interface the request came in on (IP_PKTINFO),
 * with this node's address on that interface as server identifier, TFTP
 * server and HTTP host.  One event-loop thread.
 */
#ifndef BL_PXED_H
#define BL_PXED_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <netinet/in.h>

#include "bootplan.h"

#define PXED_IFACES_MAX 16

struct pxed_conf {
	/* LAN interfaces to answer on, comma-separated; "" = every one. */
	char interfaces[256];
	int proxy;         /* serve port (67); 0: only pxe_port */
	uint16_t port;     /* 67 */
	uint16_t pxe_port; /* 4011 */
	/* Base of boot URLs: "" makes "http://ADDR:http_port" from the
	 * address the request reached; else e.g. "http://boot.example". */
	char http_url[BOOTPLAN_BASE_MAX];
	uint16_t http_port; /* 0: no HTTP boot (iPXE and HTTPClient get
	                     * nothing) */
	/* A PXE boot menu (option 43, sub-options 8, 9, 10) when prompt is
	 * not "": "Network boot (Branchline)" (type PXED_MENU_TYPE, this
	 * server) first, "Boot from local disk" (type 0) second; the client
	 * shows prompt, waits prompt_timeout seconds for a key and then boots
	 * the first item, asking this server's 4011 for its file. */
	char prompt[128];
	uint8_t prompt_timeout;
};

#define PXED_MENU_TYPE 0x8000 /* the network item (vendor-specific range) */

struct dhcp_msg;

/* A boot request the proxy would answer, as its planner sees it. */
struct pxed_ask {
	const struct dhcp_msg *m;
	struct in_addr local; /* our address on the interface it came by */
	const char *base;     /* our boot HTTP base for that address */
};

/* The planner's answer: what to name, on which server. */
struct pxed_plan {
	int how;                     /* enum bootplan_how */
	char file[BOOTPLAN_URL_MAX]; /* TFTP name or URL */
	uint32_t next_server;        /* TFTP server (network order); 0: us */
	int silent;   /* BOOTPLAN_NONE, and not ours to answer: no log line */
	char why[256]; /* with BOOTPLAN_NONE: what is missing */
	char note[200]; /* for the answer's log line, e.g. "site b (giaddr)
	                 * -> node-a" */
};

/* Called on the event loop for each request pxed would answer. */
typedef void (*pxed_plan_fn)(
        void *arg, const struct pxed_ask *q, struct pxed_plan *out);

struct pxed_stats {
	uint64_t received;  /* datagrams read */
	uint64_t dropped;   /* not a valid DHCP request */
	uint64_t ignored;   /* valid, but not for a proxy to answer */
	uint64_t unplanned; /* a boot client we had nothing for */
	uint64_t answered;  /* replies sent */
	uint64_t send_errors;
};

struct pxed;

/* Defaults: every interface, proxy on, 67 and 4011, no HTTP. */
void pxed_conf_default(struct pxed_conf *c);

/*
 * Bind the ports (as root) and answer what plan(arg, ...) says.  Returns
 * 0, or an errno/BL_ code with why (nothing left open).
 */
int pxed_start(struct event_base *base, const struct pxed_conf *c,
        pxed_plan_fn plan, void *arg, struct pxed **out, char *why,
        size_t whylen);

/* The ports bound (useful with port 0 in tests). */
void pxed_ports(const struct pxed *p, uint16_t *port, uint16_t *pxe_port);

void pxed_stats(const struct pxed *p, struct pxed_stats *st);
void pxed_stop(struct pxed *p);

#endif /* BL_PXED_H */

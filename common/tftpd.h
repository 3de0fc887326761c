/*
 * tftpd.h - the TFTP server of every node: read-only, serving the
 * published boot files of a bootfs (see bootfs.h), all transfers on one
 * libevent loop.
 *
 * A request arrives on the listening socket (port 69); each transfer gets
 * a socket of its own (its TID), bound to the address the request was
 * sent to and connected to the client.  Options are negotiated by
 * tftp_negotiate (blksize clamped to the interface's MTU and the
 * operator's cap, windowsize capped), and tftp_tx drives the windows:
 * retransmission on timeout only, with back-off.  Limits per client and
 * in all answer "busy" (an ERROR the client can retry after) instead of
 * taking on more than the node can serve.
 */
#ifndef BL_TFTPD_H
#define BL_TFTPD_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "bootfs.h"

struct tftpd_conf {
	char bind[64];           /* IPv4 address to listen on; "0.0.0.0" all */
	uint16_t port;           /* 69 */
	uint32_t blksize_max;    /* operator cap on blksize (8..65464) */
	uint32_t windowsize_max; /* operator cap on windowsize (1..65535) */
	uint32_t timeout;        /* seconds, when the client names none */
	int max_tries;           /* timeouts in a row before giving up */
	uint32_t max_transfers;  /* at once, in all */
	uint32_t max_per_client; /* at once, per client address */
};

struct tftpd_stats {
	uint64_t requests;  /* RRQ/WRQ received */
	uint64_t served;    /* transfers completed */
	uint64_t refused;   /* not found, WRQ, bad mode */
	uint64_t busy;      /* refused for a limit */
	uint64_t aborted;   /* client ERROR or given up on */
	uint64_t dropped;   /* datagrams that were no valid packet */
	uint64_t bytes;     /* file bytes acknowledged */
	uint32_t active;
};

struct tftpd;

/* Defaults: port 69, blksize cap 65464, windowsize cap 64, timeout 1 s,
 * 6 tries, 4096 transfers, 16 per client. */
void tftpd_conf_default(struct tftpd_conf *c);

/*
 * Bind the listening socket (as root for port 69) and serve fs's files on
 * base.  fs must outlive the server; its published set may change at any
 * time (running transfers keep their file).  Returns 0, or an errno/BL_
 * code with why.
 */
int tftpd_start(struct event_base *base, const struct tftpd_conf *c,
        struct bootfs *fs, struct tftpd **out, char *why, size_t whylen);

/* The port bound (useful with port 0). */
uint16_t tftpd_port(const struct tftpd *t);

void tftpd_stats(const struct tftpd *t, struct tftpd_stats *st);

/* End every transfer and close the sockets. */
void tftpd_stop(struct tftpd *t);

#endif /* BL_TFTPD_H */

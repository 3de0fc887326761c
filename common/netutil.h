/*
 * netutil.h - socket helpers the UDP servers (tftpd, pxed) share.
 */
#ifndef BL_NETUTIL_H
#define BL_NETUTIL_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/types.h>

/* A datagram as a UDP server with IP_PKTINFO on sees it. */
struct net_dgram {
	struct sockaddr_in peer; /* the sender */
	struct in_addr local;    /* the address it was sent to (0: unknown) */
	int ifindex;             /* the interface it came in by (0: unknown) */
	int bad;                 /* 1: not IPv4, or longer than the buffer */
};

/*
 * Read one datagram from fd (IP_PKTINFO set on it) into buf[0..len).
 * Returns its length, or -1 with errno (EAGAIN: none waiting).  A
 * datagram with d->bad set is to be dropped.
 */
ssize_t net_recv_dgram(int fd, void *buf, size_t len, struct net_dgram *d);

#endif /* BL_NETUTIL_H */

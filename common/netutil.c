/*
 * netutil.c - socket helpers the UDP servers share (see netutil.h).
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "netutil.h"

ssize_t
net_recv_dgram(int fd, void *buf, size_t len, struct net_dgram *d)
{
	union {
		struct cmsghdr h;
		unsigned char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
	} cbuf;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t n;

	memset(d, 0, sizeof(*d));
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = len;
	mh.msg_name = &d->peer;
	mh.msg_namelen = sizeof(d->peer);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.b;
	mh.msg_controllen = sizeof(cbuf.b);
	if ((n = recvmsg(fd, &mh, 0)) < 0)
		return -1;
	d->local.s_addr = htonl(INADDR_ANY);
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == IPPROTO_IP &&
		        cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			d->local = pi.ipi_spec_dst;
			d->ifindex = pi.ipi_ifindex;
		}
	d->bad = mh.msg_namelen != sizeof(d->peer) ||
	        d->peer.sin_family != AF_INET || (mh.msg_flags & MSG_TRUNC);
	return n;
}

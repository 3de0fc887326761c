/*
 * tftpd.c - the read-only TFTP server (see tftpd.h).
 *
 * One listening socket takes requests (recvmsg with IP_PKTINFO, so a
 * server bound to 0.0.0.0 still knows which of its addresses and which
 * interface a request came in on).  A transfer is a connected UDP socket,
 * a read event and a timer: ACKs move the window (tftp_tx), the timer
 * retransmits.  DATA is built in one buffer of the server's, filled from
 * bootfs, so a transfer holds no buffer of its own beyond the chunk it is
 * reading from the shared cache.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "netutil.h"
#include "tftp.h"
#include "tftpd.h"

#define RECV_BATCH 64 /* datagrams read per wakeup, so one busy socket
                         cannot starve the rest of the loop */
#define GSO_BYTES 65507 /* the largest UDP payload over IPv4 */
#define GSO_SEGS 64     /* UDP_MAX_SEGMENTS of the oldest kernels with
                           UDP_SEGMENT (4.18) */

struct xfer {
	struct xfer *next, *prev;
	struct tftpd *t;
	int fd;
	struct event *rev, *tmo;
	struct sockaddr_in peer;
	char who[INET_ADDRSTRLEN + 8];
	struct bootfs_cursor cur; /* cur.f: our reference to the file */
	struct tftp_neg neg;
	struct tftp_tx tx;
	struct timespec t0;
	int gso; /* 1: send runs of DATA as one UDP GSO datagram */
};

struct tftpd {
	struct event_base *base;
	struct tftpd_conf c;
	struct bootfs *fs;
	int lfd;
	uint16_t port;
	struct event *lev;
	struct xfer *xfers;
	struct tftpd_stats st;
	struct log_rate lr; /* lines about bad packets */
	uint8_t pkt[TFTP_PKT_MAX]; /* received datagrams, OACK */
	uint8_t out[GSO_BYTES];    /* DATA blocks of one send */
};

void
tftpd_conf_default(struct tftpd_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->bind, sizeof(c->bind), "0.0.0.0");
	c->port = 69;
	c->blksize_max = TFTP_BLKSIZE_MAX;
	c->windowsize_max = 64;
	c->timeout = 1;
	c->max_tries = 6;
	c->max_transfers = 4096;
	c->max_per_client = 16;
}

/* At most 10 lines a second about packets we drop: a flood of garbage
 * must not become a flood of log lines. */
static int
may_log(struct tftpd *t)
{
	return log_rate(&t->lr, 10, NULL);
}

static void
xfer_end(struct xfer *x)
{
	struct tftpd *t = x->t;

	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		t->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	t->st.active--;
	if (x->rev != NULL)
		event_free(x->rev);
	if (x->tmo != NULL)
		event_free(x->tmo);
	if (x->fd >= 0)
		close(x->fd);
	bootfs_cursor_done(t->fs, &x->cur);
	bootfs_file_put(x->cur.f);
	free(x);
}

static void
send_error(int fd, const struct sockaddr_in *to, uint16_t code,
        const char *msg)
{
	uint8_t buf[4 + TFTP_MSG_MAX + 1];
	size_t n = tftp_build_error(code, msg, buf, sizeof(buf));

	if (n > 0)
		(void)sendto(fd, buf, n, 0, (const struct sockaddr *)to,
		        to != NULL ? sizeof(*to) : 0);
}

static void
arm(struct xfer *x)
{
	struct timeval tv;

	tv.tv_sec = x->tx.timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(x->tx.timeout_ms % 1000) * 1000;
	evtimer_add(x->tmo, &tv);
}

/*
 * Blocks b .. b+n-1 into t->out, one after another, each with its
 * header (a run of DATA datagrams as UDP GSO cuts it: every segment
 * 4 + blksize bytes, only the file's last one shorter).  Returns 0 with
 * *len, or bootfs_read's error.
 */
static int
build_run(struct xfer *x, uint64_t b, uint64_t n, size_t *len)
{
	struct tftpd *t = x->t;
	size_t blk = x->neg.blksize, off = 0, got;
	uint64_t i;
	int rc;

	for (i = 0; i < n; i++) {
		tftp_data_hdr(b + i, t->out + off);
		rc = bootfs_read(t->fs, &x->cur, (b + i - 1) * blk,
		        t->out + off + 4, blk, &got);
		if (rc != 0)
			return rc;
		off += 4 + got;
	}
	*len = off;
	return 0;
}

/* Send t->out[0..len) as n DATA datagrams of seg bytes (the last one
 * maybe shorter): one GSO send when n > 1.  0, or -1 with errno. */
static int
send_run(struct xfer *x, size_t len, uint64_t n, size_t seg)
{
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(uint16_t))];
	} cbuf;
	struct msghdr mh;
	struct iovec iov;
	uint16_t gso = (uint16_t)seg;

	if (n == 1)
		return send(x->fd, x->t->out, len, 0) < 0 ? -1 : 0;
	memset(&mh, 0, sizeof(mh));
	memset(&cbuf, 0, sizeof(cbuf));
	iov.iov_base = x->t->out;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.b;
	mh.msg_controllen = sizeof(cbuf.b);
	cbuf.h.cmsg_level = SOL_UDP;
	cbuf.h.cmsg_type = UDP_SEGMENT;
	cbuf.h.cmsg_len = CMSG_LEN(sizeof(gso));
	memcpy(CMSG_DATA(&cbuf.h), &gso, sizeof(gso));
	return sendmsg(x->fd, &mh, 0) < 0 ? -1 : 0;
}

/*
 * Send what the window allows now (the OACK while it is unacked).  Runs
 * of blocks go out as one UDP GSO datagram each, which the kernel cuts
 * into DATA datagrams: one system call and one trip through the stack
 * for up to GSO_SEGS blocks.  Where GSO does not work (no checksum
 * offload on the way out: EIO; a path MTU below the block: EINVAL;
 * older kernels) the transfer falls back to one send per block.
 */
static int
pump(struct xfer *x)
{
	struct tftpd *t = x->t;
	uint64_t b, n, i, max;
	size_t seg = 4 + (size_t)x->neg.blksize, len;
	int rc;

	if (x->tx.oack) {
		size_t k = tftp_build_oack(&x->neg, t->pkt, sizeof(t->pkt));

		if (k == 0 || send(x->fd, t->pkt, k, 0) < 0)
			log_debug("tftp %s: OACK: %s", x->who, strerror(errno));
		arm(x);
		return 0;
	}
	while ((b = tftp_tx_next(&x->tx)) != 0) {
		max = x->gso ? GSO_BYTES / seg : 1;
		if (max > GSO_SEGS)
			max = GSO_SEGS;
		n = tftp_tx_room(&x->tx);
		if (n > max)
			n = max;
		if (n == 0)
			n = 1;
		if ((rc = build_run(x, b, n, &len)) != 0) {
			log_warnx("tftp %s: %s: %s; transfer ended", x->who,
			        x->cur.f->name, bl_strerror(rc));
			send_error(x->fd, NULL, TFTP_EUNDEF,
			        "cannot read the file on the server");
			return -1;
		}
		if (send_run(x, len, n, seg) != 0) {
			if (n > 1 && (errno == EIO || errno == EINVAL ||
			                     errno == EOPNOTSUPP ||
			                     errno == ENOPROTOOPT)) {
				log_debug("tftp %s: UDP GSO: %s; one "
				          "datagram per block",
				        x->who, strerror(errno));
				x->gso = 0;
				continue;
			}
			/* The socket buffer is full (or the peer is
			 * unreachable): the timer sends it again. */
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			        errno != ENOBUFS && errno != ECONNREFUSED) {
				log_info("tftp %s: %s", x->who,
				        strerror(errno));
				return -1;
			}
			break;
		}
		for (i = 0; i < n; i++)
			tftp_tx_sent(&x->tx, b + i);
	}
	arm(x);
	return 0;
}

static void
finished(struct xfer *x)
{
	struct timespec t1;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - x->t0.tv_sec) +
	        (double)(t1.tv_nsec - x->t0.tv_nsec) / 1e9;
	x->t->st.served++;
	log_info("tftp %s: sent %s (%" PRIu64 " bytes, blksize %" PRIu32
	         ", window %" PRIu32 ", %.2f s)",
	        x->who, x->cur.f->name, x->cur.f->size, x->neg.blksize,
	        x->neg.windowsize, s);
	xfer_end(x);
}

/* File bytes the client has acknowledged. */
static uint64_t
acked_bytes(const struct xfer *x)
{
	uint64_t n = x->tx.acked * x->neg.blksize;

	return n < x->cur.f->size ? n : x->cur.f->size;
}

static void
xfer_read(evutil_socket_t fd, short ev, void *arg)
{
	struct xfer *x = arg;
	struct tftpd *t = x->t;
	char msg[TFTP_MSG_MAX + 1];
	uint16_t block, code;
	uint64_t before;
	int i, k, moved = 0;
	ssize_t n;

	(void)ev;
	for (i = 0; i < RECV_BATCH; i++) {
		if ((n = recv(fd, t->pkt, sizeof(t->pkt), 0)) < 0) {
			if (errno == ECONNREFUSED) {
				/* ICMP port unreachable: the client is
				 * gone. */
				t->st.aborted++;
				log_info("tftp %s: client went away during %s",
				        x->who, x->cur.f->name);
				xfer_end(x);
				return;
			}
			break;
		}
		k = tftp_parse_client(
		        t->pkt, (size_t)n, &block, &code, msg, sizeof(msg));
		if (k == TFTP_ERROR) {
			t->st.aborted++;
			/* A UEFI client asks for tsize, then declines the
			 * OACK and asks again: routine, not a warning. */
			if (x->tx.oack)
				log_debug("tftp %s: declined the options for "
				          "%s (%u: %s)",
				        x->who, x->cur.f->name, code, msg);
			else
				log_info("tftp %s: client ended %s (%u: %s)",
				        x->who, x->cur.f->name, code, msg);
			xfer_end(x);
			return;
		}
		if (k != TFTP_ACK) {
			t->st.dropped++;
			continue;
		}
		before = acked_bytes(x);
		if (tftp_tx_ack(&x->tx, block)) {
			moved = 1;
			t->st.bytes += acked_bytes(x) - before;
		}
		if (x->tx.done) {
			finished(x);
			return;
		}
	}
	/* Duplicate ACKs send nothing (no Sorcerer's Apprentice). */
	if (moved && pump(x) != 0)
		xfer_end(x);
}

static void
xfer_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct xfer *x = arg;

	(void)fd;
	(void)ev;
	if (tftp_tx_timeout(&x->tx, x->t->c.max_tries) != 0) {
		x->t->st.aborted++;
		log_info("tftp %s: no answer; gave up on %s at block %" PRIu64
		         " of %" PRIu64,
		        x->who, x->cur.f->name, x->tx.acked, x->tx.last);
		xfer_end(x);
		return;
	}
	if (pump(x) != 0)
		xfer_end(x);
}

/* The MTU of interface ifindex, or 0 if unknown. */
static uint32_t
if_mtu(int ifindex)
{
	struct ifreq ifr;
	uint32_t mtu = 0;
	int s;

	memset(&ifr, 0, sizeof(ifr));
	if (ifindex <= 0 || if_indextoname((unsigned)ifindex, ifr.ifr_name) ==
	                            NULL)
		return 0;
	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return 0;
	if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
		mtu = (uint32_t)ifr.ifr_mtu;
	close(s);
	return mtu;
}

static uint32_t
transfers_of(const struct tftpd *t, const struct sockaddr_in *peer)
{
	const struct xfer *x;
	uint32_t n = 0;

	for (x = t->xfers; x != NULL; x = x->next)
		n += x->peer.sin_addr.s_addr == peer->sin_addr.s_addr;
	return n;
}

/* A transfer socket: bound to the address the request came to,
 * connected to the client. */
static int
xfer_socket(const struct in_addr *local, const struct sockaddr_in *peer)
{
	struct sockaddr_in sin;
	int fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	             0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = *local;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	        connect(fd, (const struct sockaddr *)peer, sizeof(*peer)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
request(struct tftpd *t, size_t n, const struct sockaddr_in *peer,
        const struct in_addr *local, int ifindex)
{
	struct tftp_limits lim;
	struct tftp_req r;
	struct bootfs_file *f;
	struct xfer *x;
	char who[INET_ADDRSTRLEN + 8], why[200];
	int code;

	inet_ntop(AF_INET, &peer->sin_addr, who, INET_ADDRSTRLEN);
	snprintf(who + strlen(who), sizeof(who) - strlen(who), ":%u",
	        ntohs(peer->sin_port));
	if (tftp_parse_req(t->pkt, n, &r, &code, why, sizeof(why)) != 0) {
		t->st.dropped++;
		if (may_log(t))
			log_info("tftp %s: bad request: %s", who, why);
		send_error(t->lfd, peer, (uint16_t)code, why);
		return;
	}
	t->st.requests++;
	if (r.op == TFTP_WRQ) {
		t->st.refused++;
		log_info("tftp %s: refused a write of '%s': read-only server",
		        who, r.file);
		send_error(t->lfd, peer, TFTP_EACCESS, "read-only server");
		return;
	}
	if (r.netascii) {
		t->st.refused++;
		log_info("tftp %s: refused '%s' in netascii mode", who, r.file);
		send_error(t->lfd, peer, TFTP_EUNDEF,
		        "only octet mode is served");
		return;
	}
	if ((f = bootfs_lookup(t->fs, r.file)) == NULL) {
		t->st.refused++;
		log_info("tftp %s: '%s' is not a published boot file", who,
		        r.file);
		send_error(t->lfd, peer, TFTP_ENOTFOUND, "file not found");
		return;
	}
	if (t->st.active >= t->c.max_transfers ||
	        transfers_of(t, peer) >= t->c.max_per_client) {
		t->st.busy++;
		bootfs_file_put(f);
		if (may_log(t))
			log_info("tftp %s: busy (%" PRIu32
			         " transfers); refused '%s'",
			        who, t->st.active, r.file);
		send_error(t->lfd, peer, TFTP_EUNDEF,
		        "server busy, try again later");
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		bootfs_file_put(f);
		send_error(t->lfd, peer, TFTP_EUNDEF, "server out of memory");
		return;
	}
	x->t = t;
	x->cur.f = f;
	x->peer = *peer;
	x->gso = 1;
	snprintf(x->who, sizeof(x->who), "%s", who);
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	x->next = t->xfers;
	if (t->xfers != NULL)
		t->xfers->prev = x;
	t->xfers = x;
	t->st.active++;
	if ((x->fd = xfer_socket(local, peer)) < 0 ||
	        (x->rev = event_new(t->base, x->fd, EV_READ | EV_PERSIST,
	                 xfer_read, x)) == NULL ||
	        (x->tmo = evtimer_new(t->base, xfer_timeout, x)) == NULL ||
	        event_add(x->rev, NULL) != 0) {
		log_warnx("tftp %s: cannot open a transfer socket: %s", who,
		        strerror(errno));
		send_error(t->lfd, peer, TFTP_EUNDEF, "server error");
		xfer_end(x);
		return;
	}
	lim.blksize_max = t->c.blksize_max;
	lim.windowsize_max = t->c.windowsize_max;
	lim.mtu = if_mtu(ifindex);
	lim.timeout = t->c.timeout;
	tftp_negotiate(&r, &lim, f->size, &x->neg);
	tftp_tx_init(&x->tx, &x->neg, f->size);
	log_debug("tftp %s: %s (%" PRIu64 " bytes): blksize %" PRIu32
	          " window %" PRIu32 "%s",
	        who, f->name, f->size, x->neg.blksize, x->neg.windowsize,
	        x->neg.oack ? ", OACK" : "");
	if (pump(x) != 0)
		xfer_end(x);
}

static void
listen_read(evutil_socket_t fd, short ev, void *arg)
{
	struct tftpd *t = arg;
	struct net_dgram d;
	ssize_t n;
	int i;

	(void)ev;
	for (i = 0; i < RECV_BATCH; i++) {
		if ((n = net_recv_dgram(fd, t->pkt, sizeof(t->pkt), &d)) < 0)
			return;
		if (d.bad || d.peer.sin_port == 0) {
			t->st.dropped++;
			continue;
		}
		request(t, (size_t)n, &d.peer, &d.local, d.ifindex);
	}
}

int
tftpd_start(struct event_base *base, const struct tftpd_conf *c,
        struct bootfs *fs, struct tftpd **out, char *why, size_t whylen)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct tftpd *t;
	int on = 1, rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(c->port);
	if (inet_pton(AF_INET, c->bind, &sin.sin_addr) != 1)
		return bl_why(why, whylen, BL_EFORMAT,
		        "tftp: '%s' is not an IPv4 address", c->bind);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	t->base = base;
	t->c = *c;
	t->fs = fs;
	if ((t->lfd = socket(AF_INET,
	             SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	        setsockopt(t->lfd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) !=
	                0 ||
	        bind(t->lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	        getsockname(t->lfd, (struct sockaddr *)&sin, &sl) != 0) {
		rc = -errno;
		if (t->lfd >= 0)
			close(t->lfd);
		free(t);
		return bl_why(why, whylen, rc, "tftp: %s:%u: %s", c->bind,
		        c->port, strerror(-rc));
	}
	t->port = ntohs(sin.sin_port);
	if ((t->lev = event_new(base, t->lfd, EV_READ | EV_PERSIST,
	             listen_read, t)) == NULL ||
	        event_add(t->lev, NULL) != 0) {
		if (t->lev != NULL)
			event_free(t->lev);
		close(t->lfd);
		free(t);
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	}
	*out = t;
	return 0;
}

uint16_t
tftpd_port(const struct tftpd *t)
{
	return t->port;
}

void
tftpd_stats(const struct tftpd *t, struct tftpd_stats *st)
{
	*st = t->st;
}

void
tftpd_stop(struct tftpd *t)
{
	if (t == NULL)
		return;
	while (t->xfers != NULL)
		xfer_end(t->xfers);
	event_free(t->lev);
	close(t->lfd);
	free(t);
}

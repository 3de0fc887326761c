/*
 * dhcpflood.c - a flood of valid PXE DHCPDISCOVERs, for the proxyDHCP
 * benchmark (tests/bench/dhcp.sh); counts the replies.
 *
 *   dhcpflood -t ADDR [-p 67] [-s SECONDS] [-w WINDOW] [-a ARCH] [-b]
 *
 * Each DISCOVER is what a UEFI PXE ROM sends (option 53 DISCOVER, 55, 57,
 * 60 "PXEClient:Arch:0000N:UNDI:003016", 93 ARCH, 94, 97), from port 68,
 * unicast to ADDR:PORT (or, with -b, broadcast), each with its own xid
 * and client MAC (52:54:xx:xx:xx:xx from a counter).  Replies are read on
 * port 68 (a proxyDHCP OFFER to a client with no address is a
 * broadcast); a reply counts once, if it is a BOOTREPLY to an xid we
 * sent.
 *
 * At most WINDOW requests are outstanding (default 64): the flood runs
 * as fast as the server answers, without burying it under datagrams it
 * can only drop.  Requests unanswered for 20 ms are written off (a server
 * may drop some) and the window opens again.  Runs SECONDS (default 5)
 * and prints one line (cpu: the flood's own CPU time over its run time):
 *   sent=N replies=N dup=N lost=N seconds=S cpu=F rate=REPLIES_PER_SECOND
 * Exit status 0, or 1 on a setup error.  Built by the benchmark with
 * cc -O2; not part of the project's build.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT_LEN 300       /* BOOTP minimum; what ROMs send, padded */
#define BATCH 32          /* datagrams per sendmmsg / recvmmsg */
#define MAX_SENT (1u << 26) /* requests per run at most (bitmap: 8 MiB) */
#define LOST_NS 20000000LL  /* outstanding this long: written off */

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A DISCOVER with xid and a MAC from seq; returns its length. */
static size_t
build(uint8_t *b, uint32_t xid, uint32_t seq, int arch, int bcast)
{
	static const uint8_t prl[] = {1, 3, 43, 60, 66, 67, 97, 128, 129,
	        130, 131, 132, 133, 134, 135};
	char vc[40];
	size_t o = 240, n;

	memset(b, 0, PKT_LEN);
	b[0] = 1; /* BOOTREQUEST */
	b[1] = 1; /* Ethernet */
	b[2] = 6;
	b[4] = (uint8_t)(xid >> 24);
	b[5] = (uint8_t)(xid >> 16);
	b[6] = (uint8_t)(xid >> 8);
	b[7] = (uint8_t)xid;
	b[10] = bcast ? 0x80 : 0; /* flags: broadcast */
	b[28] = 0x52;
	b[29] = 0x54;
	b[30] = (uint8_t)(seq >> 24);
	b[31] = (uint8_t)(seq >> 16);
	b[32] = (uint8_t)(seq >> 8);
	b[33] = (uint8_t)seq;
	b[236] = 99, b[237] = 130, b[238] = 83, b[239] = 99;
	b[o++] = 53, b[o++] = 1, b[o++] = 1;
	b[o++] = 57, b[o++] = 2, b[o++] = 0x05, b[o++] = 0xc0; /* 1472 */
	b[o++] = 55, b[o++] = (uint8_t)sizeof(prl);
	memcpy(b + o, prl, sizeof(prl));
	o += sizeof(prl);
	n = (size_t)snprintf(vc, sizeof(vc), "PXEClient:Arch:%05d:UNDI:003016",
	        arch);
	b[o++] = 60, b[o++] = (uint8_t)n;
	memcpy(b + o, vc, n);
	o += n;
	b[o++] = 93, b[o++] = 2, b[o++] = (uint8_t)(arch >> 8),
	b[o++] = (uint8_t)arch;
	b[o++] = 94, b[o++] = 3, b[o++] = 1, b[o++] = 3, b[o++] = 16;
	b[o++] = 97, b[o++] = 17, b[o++] = 0;
	memcpy(b + o, b + 28, 6); /* a GUID from the MAC, zero-filled */
	o += 16;
	b[o++] = 255;
	return o < PKT_LEN ? PKT_LEN : o;
}

static void
usage(void)
{
	fprintf(stderr, "usage: dhcpflood -t ADDR [-p PORT] [-s SECONDS] "
	                "[-w WINDOW] [-a ARCH] [-b]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	static uint8_t pkt[BATCH][PKT_LEN], in[BATCH][1500];
	struct mmsghdr sm[BATCH], rm[BATCH];
	struct iovec siov[BATCH], riov[BATCH];
	struct sockaddr_in to, me;
	uint8_t *seen;
	uint32_t xid0, sent = 0, replies = 0, dup = 0, lost = 0, out = 0;
	int64_t t0, end, last_reply;
	long secs = 5, window = 64, arch = 7, port = 67;
	int fd, c, bcast = 0, on = 1, rcvbuf = 4 << 20, i, n;
	const char *target = NULL;

	while ((c = getopt(argc, argv, "t:p:s:w:a:b")) != -1) {
		switch (c) {
		case 't': target = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 's': secs = strtol(optarg, NULL, 10); break;
		case 'w': window = strtol(optarg, NULL, 10); break;
		case 'a': arch = strtol(optarg, NULL, 10); break;
		case 'b': bcast = 1; break;
		default: usage();
		}
	}
	if (target == NULL || port < 1 || port > 65535 || secs < 1 ||
	        secs > 3600 || window < 1 || window > 65536 || arch < 0 ||
	        arch > 65535)
		usage();
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, target, &to.sin_addr) != 1)
		usage();
	memset(&me, 0, sizeof(me));
	me.sin_family = AF_INET;
	me.sin_port = htons(68);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) < 0 ||
	        setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on)) != 0 ||
	        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) !=
	                0 ||
	        bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0) {
		perror("dhcpflood: socket on port 68");
		return 1;
	}
	if ((seen = calloc(MAX_SENT / 8, 1)) == NULL) {
		perror("dhcpflood");
		return 1;
	}
	for (i = 0; i < BATCH; i++) {
		memset(&sm[i], 0, sizeof(sm[i]));
		siov[i].iov_base = pkt[i];
		sm[i].msg_hdr.msg_iov = &siov[i];
		sm[i].msg_hdr.msg_iovlen = 1;
		sm[i].msg_hdr.msg_name = &to;
		sm[i].msg_hdr.msg_namelen = sizeof(to);
		riov[i].iov_base = in[i];
		riov[i].iov_len = sizeof(in[i]);
	}
	xid0 = (uint32_t)getpid() << 16 ^ (uint32_t)now_ns();
	t0 = last_reply = now_ns();
	end = t0 + secs * 1000000000LL;
	for (;;) {
		int64_t now = now_ns();
		struct pollfd pfd = {fd, POLLIN, 0};

		if (now >= end)
			break;
		if (out > 0 && now - last_reply > LOST_NS) {
			lost += out; /* written off */
			out = 0;
			last_reply = now;
		}
		n = 0;
		while (out + (uint32_t)n < (uint32_t)window && n < BATCH &&
		        sent + (uint32_t)n < MAX_SENT) {
			siov[n].iov_len = build(pkt[n], xid0 + sent + (uint32_t)n,
			        sent + (uint32_t)n, (int)arch, bcast);
			n++;
		}
		if (n > 0) {
			if ((n = sendmmsg(fd, sm, (unsigned)n, 0)) < 0) {
				if (errno != EAGAIN && errno != ENOBUFS) {
					perror("dhcpflood: sendmmsg");
					return 1;
				}
				n = 0;
			}
			sent += (uint32_t)n;
			out += (uint32_t)n;
		}
		/* Block (1 ms at most) only with the window full. */
		if (poll(&pfd, 1, out < (uint32_t)window ? 0 : 1) < 0 &&
		        errno != EINTR) {
			perror("dhcpflood: poll");
			return 1;
		}
		for (;;) {
			for (i = 0; i < BATCH; i++) {
				memset(&rm[i].msg_hdr, 0, sizeof(rm[i].msg_hdr));
				rm[i].msg_hdr.msg_iov = &riov[i];
				rm[i].msg_hdr.msg_iovlen = 1;
			}
			if ((n = recvmmsg(fd, rm, BATCH, MSG_DONTWAIT, NULL)) <= 0)
				break;
			for (i = 0; i < n; i++) {
				const uint8_t *r = in[i];
				uint32_t seq;

				if (rm[i].msg_len < 240 || r[0] != 2 ||
				        memcmp(r + 236, "\x63\x82\x53\x63", 4) != 0)
					continue;
				seq = ((uint32_t)r[4] << 24 | (uint32_t)r[5] << 16 |
				              (uint32_t)r[6] << 8 | r[7]) -
				        xid0;
				if (seq >= sent)
					continue; /* not ours */
				if (seen[seq / 8] & (1u << (seq % 8))) {
					dup++;
					continue;
				}
				seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
				replies++;
				if (out > 0)
					out--;
				last_reply = now_ns();
			}
		}
	}
	{
		double s = (double)(now_ns() - t0) / 1e9, cpu;
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		        (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
		printf("sent=%u replies=%u dup=%u lost=%u seconds=%.3f cpu=%.2f "
		       "rate=%.0f\n",
		        sent, replies, dup, lost, s, cpu / s, replies / s);
	}
	free(seen);
	close(fd);
	return 0;
}

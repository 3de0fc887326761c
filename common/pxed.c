/*
 * pxed.c - proxyDHCP and PXE boot server (see pxed.h).
 *
 * Each (interface, port) pair has a socket: bound to 0.0.0.0 so that it
 * hears broadcasts, SO_BINDTODEVICE when the operator named interfaces,
 * SO_REUSEADDR so that a site DHCP server on the same host may share the
 * port.  A datagram is parsed by dhcp_parse, judged, answered by
 * dhcp_build_proxy and sent to dhcp_reply_dest's address, out of the
 * interface it came in on.
 *
 * Every answer is logged, up to ANSWER_LOG_MAX lines a second; past that
 * (a flood, or a very large boot storm) answers are counted, and the
 * count is logged when the next second begins.  The log line, not the
 * answer, was the largest cost per packet under a flood; the counters
 * in pxed_stats stay exact.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dhcp.h"
#include "error.h"
#include "log.h"
#include "netutil.h"
#include "pxed.h"

#define RECV_BATCH 64 /* datagrams per wakeup, so one port cannot starve */
#define ANSWER_LOG_MAX 100 /* answers logged a second; the rest counted */

struct psock {
	struct pxed *p;
	int fd;
	uint16_t port; /* local, host order */
	struct event *ev;
};

struct pxed {
	struct pxed_conf c;
	pxed_plan_fn plan;
	void *plan_arg;
	struct pxed_plan pl; /* the answer being built */
	struct psock s[2 * PXED_IFACES_MAX];
	size_t ns;
	uint16_t port, pxe_port;
	struct pxed_stats st;
	struct log_rate lr;  /* lines about what we drop or cannot answer */
	struct log_rate alr; /* answer lines */
	uint8_t pkt[DHCP_PKT_MAX + 1];
	uint8_t out[DHCP_PKT_MAX];
};

void
pxed_conf_default(struct pxed_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->proxy = 1;
	c->port = DHCP_SERVER_PORT;
	c->pxe_port = DHCP_PXE_PORT;
}

/* At most 10 lines a second about what we drop or cannot answer. */
static int
may_log(struct pxed *p)
{
	return log_rate(&p->lr, 10, NULL);
}

/* Whether to log an answer: at most ANSWER_LOG_MAX a second; when a new
 * second begins, first a line with how many were left out. */
static int
may_log_answer(struct pxed *p)
{
	uint64_t skipped;
	int ok = log_rate(&p->alr, ANSWER_LOG_MAX, &skipped);

	if (skipped > 0)
		log_info("dhcp: %" PRIu64 " more answers not logged "
		         "(at most %d lines a second)",
		        skipped, ANSWER_LOG_MAX);
	return ok;
}

static void
mac_str(const struct dhcp_msg *m, char *buf, size_t len)
{
	size_t i, n = m->hlen <= DHCP_CHADDR_LEN ? m->hlen : DHCP_CHADDR_LEN;
	size_t o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o + 4 <= len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%02x", i ? ":" : "",
		        m->chaddr[i]);
}

static int
send_reply(struct psock *ps, const struct dhcp_dest *d, int ifindex,
        struct in_addr local, const uint8_t *b, size_t len)
{
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct in_pktinfo))];
	} cbuf;
	struct in_pktinfo pi;
	struct sockaddr_in to;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = d->addr;
	to.sin_port = htons(d->port);
	iov.iov_base = (void *)(uintptr_t)b;
	iov.iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &to;
	mh.msg_namelen = sizeof(to);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	memset(&cbuf, 0, sizeof(cbuf));
	mh.msg_control = cbuf.b;
	mh.msg_controllen = sizeof(cbuf.b);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memset(&pi, 0, sizeof(pi));
	/* A broadcast leaves by the request's interface; a unicast is
	 * routed, from our address on that interface. */
	pi.ipi_ifindex = d->broadcast ? ifindex : 0;
	pi.ipi_spec_dst = local;
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	return sendmsg(ps->fd, &mh, 0) == (ssize_t)len ? 0 : -errno;
}

/* Whether a valid request m, on port, is one we answer. */
static int
for_us(const struct pxed *p, const struct dhcp_msg *m, uint16_t port,
        struct in_addr local)
{
	int type = dhcp_reply_type(m);

	if (m->op != DHCP_BOOTREQUEST || type == 0 ||
	        !(m->is_pxe || m->is_http))
		return 0;
	if (m->hops > 16)
		return 0;
	if (port == p->pxe_port)
		return type == DHCP_ACK;
	/* On 67: a DISCOVER, or a REQUEST/INFORM that names us (a REQUEST
	 * naming the site's DHCP server is its business). */
	if (m->msgtype == DHCP_DISCOVER)
		return 1;
	return m->has_server_id && m->server_id == local.s_addr;
}

static void
handle(struct psock *ps, size_t n, const struct sockaddr_in *peer,
        struct in_addr local, int ifindex)
{
	struct pxed *p = ps->p;
	struct dhcp_msg m;
	struct dhcp_answer a;
	struct dhcp_menu_item menu[2];
	struct dhcp_dest d;
	struct pxed_ask q;
	struct pxed_plan *pl = &p->pl;
	char why[256], mac[3 * DHCP_CHADDR_LEN + 1], base[BOOTPLAN_BASE_MAX];
	char addr[INET_ADDRSTRLEN];
	size_t len;
	int rc;

	if (dhcp_parse(p->pkt, n, &m, why, sizeof(why)) != 0) {
		p->st.dropped++;
		if (may_log(p) &&
		        inet_ntop(AF_INET, &peer->sin_addr, addr, sizeof(addr)))
			log_info("dhcp %s:%u: dropped (%s): %s", addr,
			        ntohs(peer->sin_port), dhcp_bad_name(m.bad),
			        why);
		return;
	}
	if (!for_us(p, &m, ps->port, local)) {
		p->st.ignored++;
		return;
	}
	mac_str(&m, mac, sizeof(mac));
	if (local.s_addr == htonl(INADDR_ANY)) {
		p->st.ignored++;
		if (may_log(p))
			log_info("dhcp %s: no address of ours on the "
			         "interface it came by",
			        mac);
		return;
	}
	if (p->c.http_url[0] != '\0')
		snprintf(base, sizeof(base), "%s", p->c.http_url);
	else {
		char la[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &local, la, sizeof(la));
		snprintf(base, sizeof(base), "http://%s:%u", la,
		        p->c.http_port);
	}
	q.m = &m;
	q.local = local;
	q.base = base;
	memset(pl, 0, sizeof(*pl));
	p->plan(p->plan_arg, &q, pl);
	if (pl->how == BOOTPLAN_URL && p->c.http_port == 0 &&
	        p->c.http_url[0] == '\0' &&
	        strncmp(pl->file, base, strlen(base)) == 0) {
		pl->how = BOOTPLAN_NONE;
		snprintf(pl->why, sizeof(pl->why),
		        "HTTP boot is off on this node");
	}
	if (pl->how == BOOTPLAN_NONE) {
		p->st.unplanned++;
		if (!pl->silent && may_log(p))
			log_info("dhcp %s arch %d%s%s: not answered: %s", mac,
			        m.arch, m.is_ipxe ? " iPXE" : "",
			        m.is_http ? " HTTPClient" : "", pl->why);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.msgtype = dhcp_reply_type(&m);
	a.server_id = local.s_addr;
	a.next_server = pl->next_server != 0 ? pl->next_server : local.s_addr;
	a.boot_file = pl->file;
	a.vclass = DHCP_VC_AUTO;
	a.bootfile_opts = strlen(pl->file) > DHCP_FILE_LEN - 1;
	if (p->c.prompt[0] != '\0' && a.msgtype == DHCP_OFFER &&
	        m.is_pxe && !m.is_http) {
		menu[0].type = PXED_MENU_TYPE;
		menu[0].desc = "Network boot (Branchline)";
		menu[0].server = local.s_addr;
		menu[1].type = 0;
		menu[1].desc = "Boot from local disk";
		menu[1].server = 0;
		a.menu = menu;
		a.nmenu = 2;
		/* Ask the listed server (us) on 4011, no broadcast or
		 * multicast discovery. */
		a.disc_ctl = PXE_DISC_NO_BCAST | PXE_DISC_NO_MCAST;
		a.prompt = p->c.prompt;
		a.prompt_timeout = p->c.prompt_timeout;
	}
	if (ps->port == p->pxe_port && m.has_boot_item) {
		a.has_boot_item = 1;
		a.item_type = m.item_type;
		a.item_layer = m.item_layer;
	}
	if ((len = dhcp_build_proxy(&m, &a, p->out, sizeof(p->out))) == 0) {
		p->st.unplanned++;
		if (may_log(p))
			log_warnx("dhcp %s: the reply does not fit the "
			          "client's size limit",
			        mac);
		return;
	}
	/* The codec knows the standard ports; ours may be moved. */
	dhcp_reply_dest(&m,
	        ps->port == p->pxe_port ? DHCP_PXE_PORT : DHCP_SERVER_PORT,
	        peer->sin_addr.s_addr,
	        ntohs(peer->sin_port), &d);
	if ((rc = send_reply(ps, &d, ifindex, local, p->out, len)) != 0) {
		p->st.send_errors++;
		if (may_log(p))
			log_warnx("dhcp %s: send: %s", mac, strerror(-rc));
		return;
	}
	p->st.answered++;
	if (may_log_answer(p))
		log_info("dhcp %s arch %d (%s)%s%s%s on %u: %s %s%s%s%s%s",
		        mac,
		        m.arch,
		        m.arch >= 0 ? dhcp_arch_name((uint16_t)m.arch) : "none",
		        m.is_ipxe ? " iPXE" : "",
		        m.is_http ? " HTTPClient" : "",
		        m.giaddr != 0 ? " (relayed)" : "", ps->port,
		        a.msgtype == DHCP_OFFER ? "OFFER" : "ACK", pl->file,
		        pl->next_server != 0 ? " from " : "",
		        pl->next_server != 0
		                ? inet_ntop(AF_INET, &pl->next_server, addr,
		                          sizeof(addr))
		                : "",
		        pl->note[0] != '\0' ? "; " : "", pl->note);
}

static void
on_read(evutil_socket_t fd, short ev, void *arg)
{
	struct psock *ps = arg;
	struct pxed *p = ps->p;
	struct net_dgram d;
	ssize_t n;
	int i;

	(void)ev;
	for (i = 0; i < RECV_BATCH; i++) {
		if ((n = net_recv_dgram(fd, p->pkt, sizeof(p->pkt), &d)) < 0)
			return;
		p->st.received++;
		if (d.bad) {
			p->st.dropped++;
			continue;
		}
		handle(ps, (size_t)n, &d.peer, d.local, d.ifindex);
	}
}

static int
open_sock(struct pxed *p, const char *ifname, uint16_t port, char *why,
        size_t whylen)
{
	struct psock *ps = &p->s[p->ns];
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int on = 1, fd, rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	             0)) < 0)
		return bl_why(why, whylen, -errno, "dhcp: socket: %s",
		        strerror(errno));
	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) != 0 ||
	        setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on)) !=
	                0 ||
	        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) !=
	                0 ||
	        (ifname != NULL &&
	                setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
	                        (socklen_t)strlen(ifname)) != 0) ||
	        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	        getsockname(fd, (struct sockaddr *)&sin, &sl) != 0) {
		rc = -errno;
		close(fd);
		return bl_why(why, whylen, rc, "dhcp: port %u%s%s: %s", port,
		        ifname != NULL ? " on " : "",
		        ifname != NULL ? ifname : "", strerror(-rc));
	}
	ps->p = p;
	ps->fd = fd;
	ps->port = ntohs(sin.sin_port);
	p->ns++;
	return 0;
}

/* Both ports (or 4011 alone) on ifname (NULL: every interface). */
static int
open_iface(struct pxed *p, const char *ifname, char *why, size_t whylen)
{
	int rc;

	if (p->c.proxy) {
		if ((rc = open_sock(p, ifname, p->port, why, whylen)) != 0)
			return rc;
		p->port = p->s[p->ns - 1].port;
	}
	if ((rc = open_sock(p, ifname, p->pxe_port, why, whylen)) != 0)
		return rc;
	p->pxe_port = p->s[p->ns - 1].port;
	return 0;
}

int
pxed_start(struct event_base *base, const struct pxed_conf *c,
        pxed_plan_fn plan, void *arg, struct pxed **out, char *why,
        size_t whylen)
{
	char list[sizeof(c->interfaces)], *tok, *save = NULL;
	struct pxed *p;
	size_t i;
	int rc = 0;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	p->c = *c;
	p->plan = plan;
	p->plan_arg = arg;
	p->port = c->port;
	p->pxe_port = c->pxe_port;
	snprintf(list, sizeof(list), "%s", c->interfaces);
	if (list[0] == '\0')
		rc = open_iface(p, NULL, why, whylen);
	for (tok = strtok_r(list, ", ", &save); tok != NULL && rc == 0;
	        tok = strtok_r(NULL, ", ", &save)) {
		if (p->ns + 2 > sizeof(p->s) / sizeof(p->s[0]))
			rc = bl_why(why, whylen, BL_ETOOBIG,
			        "dhcp: at most %d interfaces", PXED_IFACES_MAX);
		else if (strlen(tok) >= IFNAMSIZ || if_nametoindex(tok) == 0)
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "dhcp: no interface '%s'", tok);
		else
			rc = open_iface(p, tok, why, whylen);
	}
	for (i = 0; i < p->ns && rc == 0; i++)
		if ((p->s[i].ev = event_new(base, p->s[i].fd,
		             EV_READ | EV_PERSIST, on_read, &p->s[i])) == NULL ||
		        event_add(p->s[i].ev, NULL) != 0)
			rc = bl_why(why, whylen, -ENOMEM, "out of memory");
	if (rc != 0) {
		pxed_stop(p);
		return rc;
	}
	*out = p;
	return 0;
}

void
pxed_ports(const struct pxed *p, uint16_t *port, uint16_t *pxe_port)
{
	*port = p->c.proxy ? p->port : 0;
	*pxe_port = p->pxe_port;
}

void
pxed_stats(const struct pxed *p, struct pxed_stats *st)
{
	*st = p->st;
}

void
pxed_stop(struct pxed *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->ns; i++) {
		if (p->s[i].ev != NULL)
			event_free(p->s[i].ev);
		close(p->s[i].fd);
	}
	free(p);
}

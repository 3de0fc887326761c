/*
 * relay_conn.c - relayed connections: accept, connect (TLS in MITM
 * mode), the per-direction delay queue and flow control, the end.
 */
#include "relay.h"

static void	dir_maybe_finish(struct dir *);

/* ---- one direction: delay queue, flow control, end ----------------- */

/* Bytes waiting in this direction, queued or in output buffers. */
static size_t
dir_pending(const struct dir *d)
{
	size_t n;

	n = d->queued + evbuffer_get_length(bufferevent_get_output(d->dst));
	if (d->dst_wire != d->dst)
		n += evbuffer_get_length(bufferevent_get_output(d->dst_wire));
	return n;
}

/* Start or stop reading src: our own read event, or the TLS layer's. */
static void
dir_reading(struct dir *d, int on)
{
	if (d->rev != NULL) {
		if (on)
			event_add(d->rev, NULL);
		else
			event_del(d->rev);
	} else if (on)
		bufferevent_enable(d->src, EV_READ);
	else
		bufferevent_disable(d->src, EV_READ);
}

static void
dir_maybe_pause(struct dir *d)
{
	if (!d->paused && dir_pending(d) > RELAY_HIWAT) {
		dir_reading(d, 0);
		d->paused = 1;
	}
}

static void
dir_maybe_resume(struct dir *d)
{
	if (d->paused && dir_pending(d) < RELAY_LOWAT) {
		d->paused = 0;
		if (!d->eof && d->live)
			dir_reading(d, 1);
	}
}

/* What src has delivered and dir_read has not consumed yet. */
static struct evbuffer *
dir_input(struct dir *d)
{
	return d->rbuf != NULL ? d->rbuf : bufferevent_get_input(d->src);
}

static void
seg_free(struct seg *s)
{
	evbuffer_free(s->buf);
	free(s);
}

/* Schedule the timer for the head of the queue. */
static void
dir_arm(struct dir *d, uint64_t now)
{
	struct seg *s = TAILQ_FIRST(&d->q);
	struct timeval tv;
	uint64_t wait;

	wait = s->due > now ? s->due - now : 0;
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	evtimer_add(d->timer, &tv);
}

/*
 * Send what buf holds towards dst: at once, or after the delay.  buf is
 * left empty.  Returns -1 when out of memory.
 */
static int
dir_push(struct dir *d, struct evbuffer *buf)
{
	struct seg *s;
	uint64_t now;
	size_t n;

	if ((n = evbuffer_get_length(buf)) == 0)
		return 0;
	if (d->c->r->delay_us == 0)
		return evbuffer_add_buffer(bufferevent_get_output(d->dst), buf);

	now = mono_us();
	s = TAILQ_LAST(&d->q, segq);
	if (s == NULL || now - s->born >= SEG_MERGE_US) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		if ((s->buf = evbuffer_new()) == NULL) {
			free(s);
			return -1;
		}
		s->born = now;
		TAILQ_INSERT_TAIL(&d->q, s, entry);
	}
	s->due = now + d->c->r->delay_us;
	if (evbuffer_add_buffer(s->buf, buf) == -1)
		return -1;
	d->queued += n;
	if (!evtimer_pending(d->timer, NULL))
		dir_arm(d, now);
	return 0;
}

/* The head of the queue is due: write what is. */
static void
dir_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct dir *d = arg;
	struct evbuffer *out = bufferevent_get_output(d->dst);
	struct seg *s;
	uint64_t now = mono_us();

	(void)fd;
	(void)events;
	while ((s = TAILQ_FIRST(&d->q)) != NULL && s->due <= now) {
		TAILQ_REMOVE(&d->q, s, entry);
		d->queued -= evbuffer_get_length(s->buf);
		evbuffer_add_buffer(out, s->buf);
		seg_free(s);
	}
	if (s != NULL)
		dir_arm(d, now);
	dir_maybe_resume(d);
	dir_maybe_finish(d);
}

/* src has data: pass it on (through the parser with --corrupt). */
static void
dir_read(struct dir *d)
{
	struct conn *c = d->c;
	struct evbuffer *in = dir_input(d);
	const char *why = NULL;
	int rv;

	if (d->hp != NULL) {
		if (hp_feed(c, d->hp, in, d->stage, &why) == -1) {
			logx("conn %" PRIu64 ": malformed HTTP %s (%s), "
			    "closing", c->id, d->hp->response ? "response" :
			    "request", why);
			conn_close(c);
			return;
		}
		rv = dir_push(d, d->stage);
	} else
		rv = dir_push(d, in);
	if (rv == -1) {
		logx("conn %" PRIu64 ": out of memory, closing", c->id);
		conn_close(c);
		return;
	}
	dir_maybe_pause(d);
}

/*
 * src has ended: what the parser could not frame passes as it is; dst
 * is shut once everything has been written.
 */
static void
dir_eof(struct dir *d)
{
	struct evbuffer *in = dir_input(d);

	d->eof = 1;
	if (d->rev != NULL)
		event_del(d->rev);
	if (evbuffer_get_length(in) > 0) {
		dir_read(d);
		if (d->c->closing)
			return;
		if (dir_push(d, in) == -1) {
			conn_close(d->c);
			return;
		}
	}
	dir_maybe_finish(d);
}

/* Close the connection once both directions are shut and written. */
static void
conn_maybe_done(struct conn *c)
{
	struct dir *u = &c->dir[UP], *w = &c->dir[DOWN];

	if (!u->shut || !w->shut)
		return;
	if (evbuffer_get_length(bufferevent_get_output(u->dst_wire)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(w->dst_wire)) == 0)
		conn_close(c);
}

/*
 * After src's end everything has been written: shut down dst's write
 * side (plain: shutdown(2); MITM: close_notify).
 */
static void
dir_maybe_finish(struct dir *d)
{
	struct conn *c = d->c;
	SSL *ssl;

	if (c->closing || !d->eof || d->shut || !d->dst_ready ||
	    d->queued > 0 ||
	    evbuffer_get_length(bufferevent_get_output(d->dst)) > 0)
		return;
	d->shut = 1;
	if (c->r->mitm) {
		if ((ssl = bufferevent_openssl_get_ssl(d->dst)) != NULL)
			(void)SSL_shutdown(ssl);
		ERR_clear_error();
	} else
		(void)shutdown(bufferevent_getfd(d->dst), SHUT_WR);
	conn_maybe_done(c);
}

/* ---- connection callbacks ------------------------------------------ */

/* Bytes left dst_wire for the kernel: count them. */
static void
wire_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct dir *d = arg;

	(void)buf;
	if (info->n_deleted == 0)
		return;
	*d->counter += info->n_deleted;
	if (d->c->closing)
		return;
	dir_maybe_resume(d);
	if (d->shut)
		conn_maybe_done(d->c);
}

/*
 * Plain mode: src's socket is readable.  libevent 2.1's bufferevents
 * read at most 4096 bytes at a time (EVBUFFER_MAX_READ), so plain mode
 * reads itself: as much as FIONREAD reports, up to IO_MAX, into space
 * reserved in rbuf (sized to what is there, so no chain carries much
 * unused space along when it is moved on).
 */
static void
sock_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct dir *d = arg;
	struct conn *c = d->c;
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	ssize_t n;
	size_t left;
	int avail = 0, nv, i;

	(void)events;
	if (ioctl(fd, FIONREAD, &avail) == -1 || avail < (int)READ_MIN)
		avail = READ_MIN;
	else if (avail > (int)IO_MAX)
		avail = IO_MAX;
	if ((nv = evbuffer_reserve_space(d->rbuf, avail, v, 2)) <= 0) {
		logx("conn %" PRIu64 ": out of memory, closing", c->id);
		conn_close(c);
		return;
	}
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	if ((n = readv(fd, iov, nv)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		logx("conn %" PRIu64 ": %s error: %s", c->id,
		    d == &c->dir[UP] ? "client" : "upstream", strerror(errno));
		conn_close(c);
		return;
	}
	for (i = 0, left = (size_t)n; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(d->rbuf, v, nv);
	if (n == 0)
		dir_eof(d);
	else
		dir_read(d);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	dir_read(&c->dir[bev == c->cbev ? UP : DOWN]);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct dir *d = &c->dir[bev == c->cbev ? DOWN : UP];

	dir_maybe_resume(d);
	dir_maybe_finish(d);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	int err = EVUTIL_SOCKET_ERROR();
	int up = bev == c->ubev;
	struct dir *from = &c->dir[up ? DOWN : UP];	/* bev is its src */
	struct dir *to = &c->dir[up ? UP : DOWN];	/* bev is its dst */
	const char *side = up ? "upstream" : "client";
	unsigned long e;
	char msg[256];

	if (what & BEV_EVENT_CONNECTED) {
		to->dst_ready = 1;
		from->live = 1;
		if (!from->paused && !from->eof)
			dir_reading(from, 1);
		dir_maybe_finish(to);
		return;
	}
	if ((what & BEV_EVENT_EOF) && to->dst_ready) {
		dir_eof(from);
		return;
	}

	/* An error, or an end before the connection was up. */
	msg[0] = '\0';
	if (c->r->mitm)
		while ((e = bufferevent_get_openssl_error(bev)) != 0)
			if (msg[0] == '\0')
				ERR_error_string_n(e, msg, sizeof(msg));
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "%s", (what & BEV_EVENT_EOF) ||
		    err == 0 ? "connection closed" :
		    evutil_socket_error_to_string(err));
	if (up && !to->dst_ready)
		logx("conn %" PRIu64 ": upstream %s failed: %s", c->id,
		    c->r->up_name, msg);
	else
		logx("conn %" PRIu64 ": %s %s: %s", c->id, side,
		    to->dst_ready ? "error" : "handshake failed", msg);
	conn_close(c);
}

/* ---- connections ---------------------------------------------------- */

/* Free a connection and everything it holds. */
void
conn_free(struct conn *c)
{
	struct relay *r = c->r;
	struct seg *s;
	struct req *q;
	struct dir *d;
	int i;

	for (i = 0; i < 2; i++) {
		d = &c->dir[i];
		if (d->wire_cb != NULL)
			evbuffer_remove_cb_entry(
			    bufferevent_get_output(d->dst_wire), d->wire_cb);
		if (d->timer != NULL)
			event_free(d->timer);
		if (d->rev != NULL)
			event_free(d->rev);
		if (d->rbuf != NULL)
			evbuffer_free(d->rbuf);
		while ((s = TAILQ_FIRST(&d->q)) != NULL) {
			TAILQ_REMOVE(&d->q, s, entry);
			seg_free(s);
		}
		if (d->stage != NULL)
			evbuffer_free(d->stage);
		hp_free(d->hp);
	}
	while ((q = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, q, entry);
		req_free(q);
	}
	/* The top-level bufferevents own the sockets, SSLs and wires. */
	if (c->cbev != NULL)
		bufferevent_free(c->cbev);
	if (c->ubev != NULL)
		bufferevent_free(c->ubev);
	if (c->reap != NULL)
		event_free(c->reap);
	TAILQ_REMOVE(&r->conns, c, entry);
	r->nconns--;
	free(c);
}

static void
reap_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	conn_free(arg);
}

/*
 * Stop all I/O of the connection now; it is freed from the loop, outside
 * any of its callbacks.
 */
void
conn_close(struct conn *c)
{
	int i;

	if (c->closing)
		return;
	c->closing = 1;
	for (i = 0; i < 2; i++) {
		if (c->dir[i].timer != NULL)
			evtimer_del(c->dir[i].timer);
		if (c->dir[i].rev != NULL)
			event_del(c->dir[i].rev);
	}
	bufferevent_setcb(c->cbev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->cbev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->ubev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->ubev, EV_READ | EV_WRITE);
	event_active(c->reap, EV_TIMEOUT, 0);
}

static void
set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void
bev_tune(struct bufferevent *bev)
{
	bufferevent_set_max_single_read(bev, IO_MAX);
	bufferevent_set_max_single_write(bev, IO_MAX);
}

/* Wrap a socket bufferevent in TLS; *bevp becomes the TLS one. */
static int
wrap_tls(struct relay *r, struct bufferevent **bevp, SSL_CTX *ctx,
    enum bufferevent_ssl_state state)
{
	struct bufferevent *tls;
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return -1;
	bufferevent_setwatermark(*bevp, EV_WRITE, WIRE_LOWAT, WIRE_HIWAT);
	tls = bufferevent_openssl_filter_new(r->base, *bevp, ssl, state,
	    BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		/*
		 * Out of memory: libevent 2.1 may or may not have freed
		 * ssl and the socket bufferevent by now; leak them rather
		 * than risk a double free.
		 */
		*bevp = NULL;
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	bev_tune(tls);
	*bevp = tls;
	return 0;
}

static void
dir_init(struct conn *c, int which, struct bufferevent *src,
    struct bufferevent *dst, struct bufferevent *dst_wire, uint64_t *counter)
{
	struct dir *d = &c->dir[which];

	d->src = src;
	d->dst = dst;
	d->dst_wire = dst_wire;
	d->counter = counter;
}

/*
 * Set up the relay of accepted socket fd (which this takes over): the
 * upstream connection, TLS, directions, callbacks.
 */
static int
conn_open(struct conn *c, evutil_socket_t fd)
{
	struct relay *r = c->r;
	struct bufferevent *cw, *uw;
	evutil_socket_t ufd;
	struct dir *d;
	int i;

	set_nodelay(fd);
	if ((cw = bufferevent_socket_new(r->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		return -1;
	}
	c->cbev = cw;
	if ((ufd = socket(r->up_addr.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (evutil_make_socket_nonblocking(ufd) == -1 ||
	    evutil_make_socket_closeonexec(ufd) == -1) {
		evutil_closesocket(ufd);
		return -1;
	}
	set_nodelay(ufd);
	if ((uw = bufferevent_socket_new(r->base, ufd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(ufd);
		return -1;
	}
	c->ubev = uw;
	bev_tune(cw);
	bev_tune(uw);
	if (bufferevent_socket_connect(uw, (struct sockaddr *)&r->up_addr,
	    r->up_addrlen) == -1) {
		logx("conn %" PRIu64 ": upstream %s failed: %s", c->id,
		    r->up_name,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	if (r->mitm) {
		if (wrap_tls(r, &c->cbev, r->srv_ctx,
		    BUFFEREVENT_SSL_ACCEPTING) == -1 ||
		    wrap_tls(r, &c->ubev, r->cli_ctx,
		    BUFFEREVENT_SSL_CONNECTING) == -1)
			return -1;
	}

	dir_init(c, UP, c->cbev, c->ubev, uw, &r->up_total);
	dir_init(c, DOWN, c->ubev, c->cbev, cw, &r->down_total);
	c->dir[DOWN].dst_ready = !r->mitm;
	c->dir[UP].live = 1;
	c->dir[DOWN].live = r->mitm;	/* plain: once upstream is connected */
	for (i = 0; i < 2; i++) {
		d = &c->dir[i];
		if (!r->mitm &&
		    ((d->rbuf = evbuffer_new()) == NULL ||
		    (d->rev = event_new(r->base, bufferevent_getfd(d->src),
		    EV_READ | EV_PERSIST, sock_read_cb, d)) == NULL))
			return -1;
		d->wire_cb = evbuffer_add_cb(bufferevent_get_output(d->dst_wire),
		    wire_cb, d);
		if (d->wire_cb == NULL)
			return -1;
		if (r->delay_us > 0 &&
		    (d->timer = evtimer_new(r->base, dir_timer_cb, d)) == NULL)
			return -1;
		if (r->corrupt != CORRUPT_NONE) {
			if ((d->stage = evbuffer_new()) == NULL ||
			    (d->hp = calloc(1, sizeof(*d->hp))) == NULL)
				return -1;
			d->hp->response = i == DOWN;
		}
		/* write_cb runs whenever output is at or below RELAY_LOWAT. */
		bufferevent_setwatermark(d->dst, EV_WRITE, RELAY_LOWAT, 0);
	}
	bufferevent_setcb(c->cbev, read_cb, write_cb, event_cb, c);
	bufferevent_setcb(c->ubev, read_cb, write_cb, event_cb, c);
	/*
	 * Plain mode reads the client now and upstream once connected, with
	 * its own read events; the bufferevents only connect and write.
	 */
	if (r->mitm)
		return bufferevent_enable(c->cbev, EV_READ | EV_WRITE) == -1 ||
		    bufferevent_enable(c->ubev, EV_READ | EV_WRITE) == -1 ?
		    -1 : 0;
	if (bufferevent_enable(c->cbev, EV_WRITE) == -1 ||
	    bufferevent_enable(c->ubev, EV_WRITE) == -1)
		return -1;
	dir_reading(&c->dir[UP], 1);
	return 0;
}

void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct relay *r = arg;
	struct conn *c;
	char peer[80];
	int i;

	(void)l;
	(void)salen;
	addr_str(sa, peer, sizeof(peer));
	if (r->nconns >= r->max_conns) {
		logx("refusing connection from %s: %u open (--max-conns)",
		    peer, r->nconns);
		evutil_closesocket(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		logx("refusing connection from %s: out of memory", peer);
		evutil_closesocket(fd);
		return;
	}
	c->r = r;
	c->id = ++r->conns_total;
	TAILQ_INIT(&c->reqs);
	for (i = 0; i < 2; i++) {
		c->dir[i].c = c;
		TAILQ_INIT(&c->dir[i].q);
	}
	TAILQ_INSERT_TAIL(&r->conns, c, entry);
	r->nconns++;
	logx("conn %" PRIu64 " from %s", c->id, peer);
	if ((c->reap = event_new(r->base, -1, 0, reap_cb, c)) == NULL) {
		evutil_closesocket(fd);
		conn_free(c);
		return;
	}
	if (conn_open(c, fd) == -1) {
		logx("conn %" PRIu64 ": setup failed, closing", c->id);
		conn_free(c);
	}
}

void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	logx("accept: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

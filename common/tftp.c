/*
 * tftp.c - the TFTP protocol as pure functions (see tftp.h): requests
 * parsed from untrusted bytes, options negotiated against the server's
 * limits, packets built, and the sender's window kept.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "tftp.h"

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ASCII only: option and mode names must not depend on the locale. */
static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* p[0..n) is s, ignoring ASCII case? */
static int
ieq(const uint8_t *p, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || lower(p[i]) != s[i])
			return 0;
	return s[n] == '\0';
}

/*
 * p[0..n) as a decimal number in [min, max] into *v; 0, or -1 for
 * anything else: empty, a sign, a space, an exponent, a number past max
 * (found without ever overflowing, however many digits).  Leading zeros
 * are fine.
 */
static int
decimal(const uint8_t *p, size_t n, uint64_t min, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	unsigned d;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		d = (unsigned)(p[i] - '0');
		if (x > (max - d) / 10)
			return -1; /* x * 10 + d > max */
		x = x * 10 + d;
	}
	if (x < min)
		return -1;
	*v = x;
	return 0;
}

/* --- requests -------------------------------------------------------- */

static void
set_blksize(struct tftp_req *r, uint64_t v)
{
	r->has_blksize = 1;
	r->blksize = (uint32_t)v;
}

static void
set_tsize(struct tftp_req *r, uint64_t v)
{
	r->has_tsize = 1;
	r->tsize = v;
}

static void
set_timeout(struct tftp_req *r, uint64_t v)
{
	r->has_timeout = 1;
	r->timeout = (uint32_t)v;
}

static void
set_windowsize(struct tftp_req *r, uint64_t v)
{
	r->has_windowsize = 1;
	r->windowsize = (uint32_t)v;
}

/* The options we know, with the ranges their RFCs give. */
static const struct tftp_option {
	const char *name; /* lower case */
	uint64_t min, max;
	void (*set)(struct tftp_req *, uint64_t); /* a value in range */
} tftp_options[] = {
        {"blksize", TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX, set_blksize},
        {"tsize", 0, UINT64_MAX, set_tsize},
        {"timeout", TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX, set_timeout},
        {"windowsize", 1, TFTP_WINDOW_MAX, set_windowsize},
};
#define NOPTIONS (sizeof(tftp_options) / sizeof(tftp_options[0]))

/* The NUL-terminated string at p[pos..len): its length into *n, or -1
 * if the packet ends first. */
static int
string(const uint8_t *p, size_t len, size_t pos, size_t *n)
{
	const uint8_t *z = memchr(p + pos, '\0', len - pos);

	if (z == NULL)
		return -1;
	*n = (size_t)(z - (p + pos));
	return 0;
}

/*
 * The options after the mode, from p[pos..len).  A name or value cut
 * short by the end of the packet is malformed.  (OpenBSD tftpd instead
 * stops parsing there, for the trailing garbage of some Apple
 * OpenFirmware versions; this is the place to relax should a client need
 * it.)  Everything else is forgiven, as RFC 2347 lets a server ignore
 * options: unknown names are counted, values that are not plain decimals
 * in range leave the option unset, and of a repeated option only the
 * first counts (whatever its value).
 */
static int
options(const uint8_t *p, size_t len, size_t pos, struct tftp_req *r, char *why,
        size_t whylen)
{
	const uint8_t *name;
	unsigned seen = 0;
	size_t n, vn, i;
	uint64_t v;
	char q[BL_QUOTE_MAX];

	while (pos < len) {
		name = p + pos;
		if (string(p, len, pos, &n) != 0) {
			bl_quote(name, len - pos, q);
			return bl_why(why, whylen, BL_EFORMAT,
			        "option '%s' without a terminating NUL", q);
		}
		pos += n + 1;
		if (pos == len) {
			bl_quote(name, n, q);
			return bl_why(why, whylen, BL_EFORMAT,
			        "option '%s' without a value", q);
		}
		if (string(p, len, pos, &vn) != 0) {
			bl_quote(name, n, q);
			return bl_why(why, whylen, BL_EFORMAT,
			        "option '%s': value without a terminating NUL",
			        q);
		}
		for (i = 0; i < NOPTIONS; i++)
			if (ieq(name, n, tftp_options[i].name))
				break;
		if (i == NOPTIONS) {
			if (r->nunknown < INT_MAX)
				r->nunknown++;
		} else if (!(seen & 1u << i)) {
			seen |= 1u << i;
			if (decimal(p + pos, vn, tftp_options[i].min,
			            tftp_options[i].max, &v) == 0)
				tftp_options[i].set(r, v);
		}
		pos += vn + 1;
	}
	return 0;
}

int
tftp_parse_req(const uint8_t *p, size_t len, struct tftp_req *r, int *code,
        char *why, size_t whylen)
{
	size_t pos, n;
	char q[BL_QUOTE_MAX];
	int op;

	memset(r, 0, sizeof(*r));
	*code = TFTP_EBADOP;
	if (len < 2)
		return bl_why(
		        why, whylen, BL_EFORMAT, "request of %zu bytes", len);
	op = be16(p);
	if (op != TFTP_RRQ && op != TFTP_WRQ)
		return bl_why(why, whylen, BL_EFORMAT,
		        "opcode %d is not a request", op);
	r->op = op;
	pos = 2;
	if (string(p, len, pos, &n) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "filename without a terminating NUL");
	if (n == 0)
		return bl_why(why, whylen, BL_EFORMAT, "empty filename");
	if (n > TFTP_FILE_MAX) {
		*code = TFTP_EUNDEF;
		return bl_why(why, whylen, BL_EFORMAT,
		        "filename of %zu bytes (at most %d)", n, TFTP_FILE_MAX);
	}
	memcpy(r->file, p + pos, n);
	r->file[n] = '\0';
	pos += n + 1;

	if (string(p, len, pos, &n) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "mode without a terminating NUL");
	if (ieq(p + pos, n, "netascii"))
		r->netascii = 1;
	else if (!ieq(p + pos, n, "octet")) {
		*code = TFTP_EUNDEF;
		if (ieq(p + pos, n, "mail"))
			return bl_why(why, whylen, BL_EFORMAT,
			        "mode mail is not supported");
		bl_quote(p + pos, n, q);
		return bl_why(why, whylen, BL_EFORMAT,
		        "mode '%s' is not supported (octet or netascii)", q);
	}
	pos += n + 1;

	if (options(p, len, pos, r, why, whylen) != 0)
		return BL_EFORMAT;
	*code = 0;
	return 0;
}

int
tftp_parse_client(const uint8_t *p, size_t len, uint16_t *block, uint16_t *code,
        char *msg, size_t msglen)
{
	size_t i, k;

	*block = 0;
	*code = 0;
	if (msg != NULL && msglen > 0)
		msg[0] = '\0';
	if (len < 4)
		return BL_EFORMAT;
	switch (be16(p)) {
	case TFTP_ACK:
		/* Bytes past the block number carry nothing; ignoring them
		 * costs nothing, refusing them would stall a transfer. */
		*block = be16(p + 2);
		return TFTP_ACK;
	case TFTP_ERROR:
		*code = be16(p + 2);
		if (msg == NULL || msglen == 0)
			return TFTP_ERROR;
		/* The message ends at its NUL or, lacking one, with the
		 * packet: it is only for the log. */
		k = len - 4;
		if (k > msglen - 1)
			k = msglen - 1;
		for (i = 0; i < k && p[4 + i] != '\0'; i++)
			msg[i] = (p[4 + i] < 0x20 || p[4 + i] > 0x7e)
			        ? '?'
			        : (char)p[4 + i];
		msg[i] = '\0';
		return TFTP_ERROR;
	}
	return BL_EFORMAT;
}

/* --- negotiation and packets ----------------------------------------- */

/* The operator's timeout in 1..255 seconds; 0 means 1. */
static uint32_t
default_timeout(uint32_t t)
{
	if (t < TFTP_TIMEOUT_MIN)
		return TFTP_TIMEOUT_MIN;
	return t > TFTP_TIMEOUT_MAX ? TFTP_TIMEOUT_MAX : t;
}

void
tftp_negotiate(const struct tftp_req *r, const struct tftp_limits *l,
        uint64_t size, struct tftp_neg *n)
{
	uint32_t b, cap, m, w, wmax;

	memset(n, 0, sizeof(*n));
	n->blksize = TFTP_BLKSIZE_DEF;
	n->windowsize = 1;
	n->timeout = default_timeout(l->timeout);
	n->tsize = size;
	if (r->has_blksize) {
		cap = l->blksize_max;
		if (cap == 0 || cap > TFTP_BLKSIZE_MAX)
			cap = TFTP_BLKSIZE_MAX; /* 0: no cap of our own */
		b = r->blksize < cap ? r->blksize : cap;
		/* A block that fits one frame: a lost fragment would
		 * cost the whole block, and some boot ROMs do not
		 * reassemble at all. */
		if (l->mtu > 0) {
			m = l->mtu > TFTP_IPV4_OVERHEAD
			        ? l->mtu - TFTP_IPV4_OVERHEAD
			        : 0;
			if (m < b)
				b = m;
		}
		n->blksize = b < TFTP_BLKSIZE_MIN ? TFTP_BLKSIZE_MIN : b;
		n->ack_blksize = 1;
	}
	if (r->has_windowsize) {
		wmax = l->windowsize_max;
		if (wmax == 0)
			wmax = 1;
		if (wmax > TFTP_WINDOW_MAX)
			wmax = TFTP_WINDOW_MAX;
		w = r->windowsize < wmax ? r->windowsize : wmax;
		n->windowsize = w < 1 ? 1 : w;
		n->ack_windowsize = 1;
	}
	if (r->has_timeout && r->timeout >= TFTP_TIMEOUT_MIN &&
	        r->timeout <= TFTP_TIMEOUT_MAX) {
		n->timeout = r->timeout;
		n->ack_timeout = 1;
	}
	n->ack_tsize = r->has_tsize != 0;
	n->oack = n->ack_blksize || n->ack_tsize || n->ack_timeout ||
	        n->ack_windowsize;
}

/* Append the string s and its NUL to buf[off..cap); the new length, or
 * 0 if it does not fit (or off is already 0). */
static size_t
put_str(uint8_t *buf, size_t cap, size_t off, const char *s)
{
	size_t n = strlen(s) + 1;

	if (off == 0 || n > cap - off)
		return 0;
	memcpy(buf + off, s, n);
	return off + n;
}

size_t
tftp_build_oack(const struct tftp_neg *n, uint8_t *buf, size_t cap)
{
	/* One fixed order, so the bytes are predictable for a test. */
	const struct {
		const char *name;
		int ack;
		uint64_t v;
	} o[] = {
	        {"blksize", n->ack_blksize, n->blksize},
	        {"tsize", n->ack_tsize, n->tsize},
	        {"timeout", n->ack_timeout, n->timeout},
	        {"windowsize", n->ack_windowsize, n->windowsize},
	};
	char num[24];
	size_t i, len = 2;

	if (cap < 2)
		return 0;
	put16(buf, TFTP_OACK);
	for (i = 0; i < sizeof(o) / sizeof(o[0]); i++) {
		if (!o[i].ack)
			continue;
		snprintf(num, sizeof(num), "%" PRIu64, o[i].v);
		len = put_str(buf, cap, len, o[i].name);
		len = put_str(buf, cap, len, num);
	}
	return len;
}

size_t
tftp_build_error(uint16_t code, const char *msg, uint8_t *buf, size_t cap)
{
	size_t i, k;

	if (msg == NULL)
		msg = "";
	k = strnlen(msg, TFTP_MSG_MAX);
	if (cap < 4 + k + 1)
		return 0;
	put16(buf, TFTP_ERROR);
	put16(buf + 2, code);
	for (i = 0; i < k; i++) {
		uint8_t c = (uint8_t)msg[i];

		buf[4 + i] = (c < 0x20 || c > 0x7e) ? '?' : c;
	}
	buf[4 + k] = '\0';
	return 4 + k + 1;
}

void
tftp_data_hdr(uint64_t block, uint8_t hdr[4])
{
	put16(hdr, TFTP_DATA);
	put16(hdr + 2, (uint16_t)(block & 0xffff));
}

/* --- the sender ------------------------------------------------------ */

void
tftp_tx_init(struct tftp_tx *t, const struct tftp_neg *n, uint64_t size)
{
	uint32_t b = n->blksize, w = n->windowsize;

	/* n comes from tftp_negotiate; the clamps only keep a hand-made
	 * one from dividing by zero or breaking the window's bound. */
	if (b < TFTP_BLKSIZE_MIN)
		b = TFTP_BLKSIZE_MIN;
	if (b > TFTP_BLKSIZE_MAX)
		b = TFTP_BLKSIZE_MAX;
	if (w < 1)
		w = 1;
	if (w > TFTP_WINDOW_MAX)
		w = TFTP_WINDOW_MAX;
	memset(t, 0, sizeof(*t));
	t->last = size / b + 1;
	t->window = t->wmax = w;
	t->base_ms = t->timeout_ms = default_timeout(n->timeout) * 1000;
	t->oack = n->oack != 0;
}

uint64_t
tftp_tx_next(const struct tftp_tx *t)
{
	if (t->done || t->oack || t->sent >= t->last ||
	        t->sent >= t->acked + t->window)
		return 0;
	return t->sent + 1;
}

uint64_t
tftp_tx_room(const struct tftp_tx *t)
{
	uint64_t end = t->acked + t->window;

	if (tftp_tx_next(t) == 0)
		return 0;
	return (end < t->last ? end : t->last) - t->sent;
}

void
tftp_tx_sent(struct tftp_tx *t, uint64_t block)
{
	if (block == 0 || block != tftp_tx_next(t))
		return; /* not the block asked for: keep the state sane */
	t->sent = block;
	if (block > t->maxsent)
		t->maxsent = block;
}

/* Progress: the client is there, so the next silence is measured from
 * the base timeout again. */
static void
progress(struct tftp_tx *t)
{
	t->tries = 0;
	t->timeout_ms = t->base_ms;
}

int
tftp_tx_ack(struct tftp_tx *t, uint16_t b)
{
	uint64_t k, before;

	if (t->done)
		return 0;
	if (t->oack) {
		if (b != 0)
			return 0;
		t->oack = 0;
		progress(t);
		return 1;
	}
	/*
	 * The one block in (acked, maxsent] that goes out as b: that range
	 * is never longer than wmax <= 65535 blocks (a block is sent only
	 * within acked + window), so it holds at most one.  maxsent rather
	 * than sent: after a timeout rewound sent, the ACK the client owes
	 * for blocks it did get must still count, or a client ahead of
	 * the window resent would never be heard again.
	 */
	k = t->acked + (uint16_t)(b - (uint16_t)t->acked);
	if (k == t->acked || k > t->maxsent)
		return 0;
	before = t->acked;
	t->acked = k;
	if (k >= t->sent) {
		/* All that went out (or more, after a rewind): whatever
		 * the client sends from now on answers this flight. */
		t->sent = k;
		t->rewound = 0;
	} else if (!t->rewound || k - before > 1) {
		/* Short of what went out: the client lost k + 1 and drops
		 * what follows until it comes (RFC 7440), so the next
		 * window starts after k. */
		t->sent = k;
		t->rewound = 1;
	}
	/* Else, after a rewind, an ACK of just the block after the last:
	 * a client that ACKs every block, working through what went out.
	 * The window slides; rewinding on each of those would send the
	 * rest of the flight again every time.  (Were the block after it
	 * lost, the timer resends it.) */
	progress(t);
	if (k == t->last)
		t->done = 1;
	return 1;
}

int
tftp_tx_timeout(struct tftp_tx *t, int max_tries)
{
	if (t->done)
		return 0;
	/* The window keeps its size: a client of RFC 7440 ACKs after that
	 * many blocks (or on its own timer), so a smaller window would end
	 * in a timeout every time, each one halving it again. */
	t->sent = t->acked;
	t->rewound = 1;
	if (t->timeout_ms < 8 * t->base_ms)
		t->timeout_ms *= 2;
	if (t->tries < INT_MAX)
		t->tries++;
	return t->tries > max_tries ? -1 : 0;
}

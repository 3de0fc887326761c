/*
 * fuzz_tftp.c - libFuzzer target for the TFTP module, three readings of
 * one input.
 *
 * As a request (tftp_parse_req): either a non-empty filename of at most
 * TFTP_FILE_MAX bytes, as the input has it, and options in their
 * ranges; or BL_EFORMAT, ERROR code EBADOP or EUNDEF, and a printable
 * message.  What parses is negotiated under a few limit sets: results
 * within bounds, and the OACK, read back as the options of a request,
 * names exactly what was negotiated.
 *
 * As a client's packet (tftp_parse_client), and as an ERROR message
 * (tftp_build_error): the opcode decides, messages come out printable
 * and cut.
 *
 * As a script for a sender (tftp_tx): a transfer set up from the first
 * bytes, then sends, ACKs (near the window, or any 16-bit number) and
 * timeouts; after each, the invariants of tftp.h hold, and an ignored
 * ACK changes nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "testutil.h"
#include "tftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

static const struct tftp_limits limits[] = {
        {0, 0, 0, 0},
        {1024, 8, 1500, 5},
        {TFTP_BLKSIZE_MAX, TFTP_WINDOW_MAX, 9000, 255},
        {4, 100000, 20, 1000},
        {1468, 64, 0, 2},
};

/* The OACK of n, read back as the options of a request. */
static void
oack_back(const struct tftp_neg *n, uint64_t size)
{
	static const uint8_t head[] = {
	        0, TFTP_RRQ, 'f', 0, 'o', 'c', 't', 'e', 't', 0};
	uint8_t o[TFTP_PKT_MAX], p[sizeof(head) + TFTP_PKT_MAX];
	struct tftp_req r;
	size_t len;
	int code;

	len = tftp_build_oack(n, o, sizeof(o));
	CHECK(len >= 2 && len <= 2 + 4 * (10 + 1 + 20 + 1));
	CHECK(o[0] == 0 && o[1] == TFTP_OACK);
	CHECK(n->oack ? len > 2 : len == 2);
	CHECK(tftp_build_oack(n, o, len - 1) == 0);
	memcpy(p, head, sizeof(head));
	memcpy(p + sizeof(head), o + 2, len - 2);
	CHECK(tftp_parse_req(p, sizeof(head) + len - 2, &r, &code, NULL, 0) ==
	        0);
	CHECK(r.nunknown == 0);
	CHECK(r.has_blksize == n->ack_blksize);
	CHECK(!r.has_blksize || r.blksize == n->blksize);
	CHECK(r.has_tsize == n->ack_tsize);
	CHECK(!r.has_tsize || r.tsize == size);
	CHECK(r.has_timeout == n->ack_timeout);
	CHECK(!r.has_timeout || r.timeout == n->timeout);
	CHECK(r.has_windowsize == n->ack_windowsize);
	CHECK(!r.has_windowsize || r.windowsize == n->windowsize);
}

static void
negotiate(const struct tftp_req *r, const struct tftp_limits *l, uint64_t size)
{
	struct tftp_neg n;
	uint32_t cap, wmax;

	tftp_negotiate(r, l, size, &n);
	cap = l->blksize_max == 0 || l->blksize_max > TFTP_BLKSIZE_MAX
	        ? TFTP_BLKSIZE_MAX
	        : l->blksize_max;
	wmax = l->windowsize_max == 0 ? 1 : l->windowsize_max;
	if (wmax > TFTP_WINDOW_MAX)
		wmax = TFTP_WINDOW_MAX;
	CHECK(n.ack_blksize == r->has_blksize);
	CHECK(n.ack_tsize == r->has_tsize);
	CHECK(n.ack_timeout == r->has_timeout);
	CHECK(n.ack_windowsize == r->has_windowsize);
	CHECK(n.oack ==
	        (n.ack_blksize || n.ack_tsize || n.ack_timeout ||
	                n.ack_windowsize));
	CHECK(n.blksize >= TFTP_BLKSIZE_MIN && n.blksize <= TFTP_BLKSIZE_MAX);
	if (n.ack_blksize) {
		CHECK(n.blksize <= r->blksize);
		CHECK(n.blksize == TFTP_BLKSIZE_MIN || n.blksize <= cap);
		CHECK(l->mtu == 0 || n.blksize == TFTP_BLKSIZE_MIN ||
		        n.blksize + TFTP_IPV4_OVERHEAD <= l->mtu);
	} else
		CHECK(n.blksize == TFTP_BLKSIZE_DEF);
	CHECK(n.windowsize >= 1 && n.windowsize <= wmax);
	CHECK(n.ack_windowsize ? n.windowsize <= r->windowsize
	                       : n.windowsize == 1);
	CHECK(n.timeout >= TFTP_TIMEOUT_MIN && n.timeout <= TFTP_TIMEOUT_MAX);
	CHECK(!n.ack_timeout || n.timeout == r->timeout);
	CHECK(n.tsize == size);
	oack_back(&n, size);
}

static void
request(const uint8_t *data, size_t size)
{
	struct tftp_req r;
	char why[256];
	size_t n, i;
	int rc, code, code2;

	memset(why, 0, sizeof(why));
	rc = tftp_parse_req(data, size, &r, &code, why, sizeof(why));
	CHECK(tftp_parse_req(data, size, &r, &code2, NULL, 0) == rc);
	CHECK(code2 == code);
	if (rc != 0) {
		CHECK(rc == BL_EFORMAT);
		CHECK(code == TFTP_EBADOP || code == TFTP_EUNDEF);
		CHECK(tu_printable(why));
		return;
	}
	CHECK(code == 0);
	CHECK(r.op == TFTP_RRQ || r.op == TFTP_WRQ);
	CHECK(memchr(r.file, '\0', sizeof(r.file)) != NULL);
	n = strlen(r.file);
	CHECK(n >= 1 && n <= TFTP_FILE_MAX);
	CHECK(size > 2 + n && memcmp(data + 2, r.file, n) == 0 &&
	        data[2 + n] == 0);
	CHECK(r.netascii == 0 || r.netascii == 1);
	CHECK(!r.has_blksize ||
	        (r.blksize >= TFTP_BLKSIZE_MIN &&
	                r.blksize <= TFTP_BLKSIZE_MAX));
	CHECK(!r.has_timeout ||
	        (r.timeout >= TFTP_TIMEOUT_MIN &&
	                r.timeout <= TFTP_TIMEOUT_MAX));
	CHECK(!r.has_windowsize ||
	        (r.windowsize >= 1 && r.windowsize <= TFTP_WINDOW_MAX));
	CHECK(r.nunknown >= 0 && (size_t)r.nunknown * 2 <= size);
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		negotiate(&r, &limits[i], r.has_tsize ? r.tsize : size);
		negotiate(&r, &limits[i], UINT64_MAX);
	}
}

static void
client(const uint8_t *data, size_t size)
{
	uint8_t err[4 + TFTP_MSG_MAX + 1];
	char msg[32], *m;
	uint16_t block, code;
	size_t len, k, i;
	int rc;

	rc = tftp_parse_client(data, size, &block, &code, msg, sizeof(msg));
	if (size < 4) {
		CHECK(rc == BL_EFORMAT);
	} else if (data[0] == 0 && data[1] == TFTP_ACK) {
		CHECK(rc == TFTP_ACK && block == (data[2] << 8 | data[3]));
	} else if (data[0] == 0 && data[1] == TFTP_ERROR) {
		CHECK(rc == TFTP_ERROR && code == (data[2] << 8 | data[3]));
		CHECK(msg[0] == '\0' || tu_printable(msg));
		CHECK(strlen(msg) ==
		        strnlen((const char *)data + 4,
		                size - 4 < 31 ? size - 4 : 31));
	} else
		CHECK(rc == BL_EFORMAT);
	CHECK(tftp_parse_client(data, size, &block, &code, NULL, 0) == rc);

	/* The input, to its first NUL, as the message of an ERROR. */
	if ((m = malloc(size + 1)) == NULL)
		return;
	memcpy(m, data, size);
	m[size] = '\0';
	k = strnlen(m, TFTP_MSG_MAX);
	len = tftp_build_error(TFTP_EACCESS, m, err, sizeof(err));
	CHECK(len == 4 + k + 1);
	CHECK(err[0] == 0 && err[1] == TFTP_ERROR && err[2] == 0 &&
	        err[3] == TFTP_EACCESS && err[len - 1] == 0);
	for (i = 0; i < k; i++)
		CHECK(err[4 + i] ==
		        ((unsigned char)m[i] < 0x20 ||
		                                (unsigned char)m[i] > 0x7e
		                        ? '?'
		                        : (unsigned char)m[i]));
	CHECK(tftp_build_error(TFTP_EACCESS, m, err, len - 1) == 0);
	free(m);
}

/* The invariants of a sender (tftp.h). */
static void
sane(const struct tftp_tx *t)
{
	CHECK(t->acked <= t->sent && t->sent <= t->maxsent &&
	        t->maxsent <= t->last);
	CHECK(t->maxsent - t->acked <= t->wmax);
	CHECK(t->window >= 1 && t->window <= t->wmax &&
	        t->wmax <= TFTP_WINDOW_MAX);
	CHECK(t->done == (t->acked == t->last));
	CHECK(t->rewound == 0 || t->rewound == 1);
	CHECK(!t->oack || (t->acked == 0 && t->sent == 0));
	CHECK(t->tries >= 0);
	CHECK(t->timeout_ms >= t->base_ms && t->timeout_ms <= 8 * t->base_ms);
}

/* Field by field: an assigned struct's padding need not be copied. */
static int
same(const struct tftp_tx *a, const struct tftp_tx *b)
{
	return a->last == b->last && a->acked == b->acked &&
	        a->sent == b->sent && a->maxsent == b->maxsent &&
	        a->window == b->window && a->wmax == b->wmax &&
	        a->timeout_ms == b->timeout_ms && a->base_ms == b->base_ms &&
	        a->oack == b->oack && a->tries == b->tries &&
	        a->done == b->done && a->rewound == b->rewound;
}

/*
 * The input as a sender's script.  Bytes 0-7: file size (24 bits),
 * blksize, window (16 bits if byte 6 has its top bit, else 1..64, so
 * that most inputs stay fast), timeout, OACK and max_tries.  Then per op one
 * byte and maybe two more: 0 timeout, 1 send the window, 2 ACK a block d behind
 * the highest sent, 3 ACK wire number w.  Sends are capped so that one
 * input stays fast.
 */
static void
sender(const uint8_t *data, size_t size)
{
	static const uint32_t blksizes[] = {
	        8, 512, 1428, 1468, 8192, TFTP_BLKSIZE_MAX};
	struct tftp_neg n;
	struct tftp_tx t, before;
	uint64_t fsize, b, k, sends = 0;
	size_t pos = 8;
	uint16_t w;
	int max_tries, rc;

	if (size < 8)
		return;
	memset(&n, 0, sizeof(n));
	n.blksize = blksizes[data[3] % 6];
	n.windowsize = data[6] & 0x80 ? (uint32_t)(data[4] << 8 | data[5])
	                              : 1u + data[5] % 64;
	n.timeout = 1 + data[6] % 4;
	n.oack = data[7] & 1;
	max_tries = data[7] >> 1 & 7;
	fsize = (uint64_t)(data[0] << 16 | data[1] << 8 | data[2]);
	tftp_tx_init(&t, &n, fsize);
	CHECK(t.last == fsize / n.blksize + 1);
	sane(&t);
	while (pos < size && sends < (1u << 18)) {
		before = t;
		switch (data[pos++] & 3) {
		case 0:
			rc = tftp_tx_timeout(&t, max_tries);
			CHECK(rc == 0 || rc == -1);
			CHECK(t.done || rc == (t.tries > max_tries ? -1 : 0));
			CHECK(t.sent == t.acked);
			CHECK(t.done || t.oack || t.rewound);
			break;
		case 1:
			k = tftp_tx_room(&t);
			CHECK((k == 0) == (tftp_tx_next(&t) == 0));
			while ((b = tftp_tx_next(&t)) != 0) {
				CHECK(!t.oack && b == t.sent + 1 &&
				        b <= t.last && b <= t.acked + t.window);
				tftp_tx_sent(&t, b);
				CHECK(t.sent == b);
				sends++;
				k--;
			}
			CHECK(k == 0);
			break;
		case 2:
		case 3:
			if (pos + 2 > size)
				return;
			k = (uint64_t)(data[pos] << 8 | data[pos + 1]);
			pos += 2;
			if ((data[pos - 3] & 3) == 2)
				w = (uint16_t)(t.maxsent -
				        k); /* near the window */
			else
				w = (uint16_t)k;
			if (tftp_tx_ack(&t, w)) {
				CHECK(t.acked > before.acked ||
				        (before.oack && !t.oack && w == 0));
				CHECK((t.acked & 0xffff) == w);
				/* The next window starts after the ACK, or
				 * (a client ACKing every block) it slides. */
				CHECK(t.sent == t.acked ||
				        (t.sent == before.sent &&
				                t.acked == before.acked + 1 &&
				                before.rewound && t.rewound));
				CHECK(t.tries == 0 && t.timeout_ms == t.base_ms);
			} else
				CHECK(same(&t, &before));
			break;
		}
		sane(&t);
		CHECK(t.acked >= before.acked);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4 * TFTP_PKT_MAX)
		return 0;
	request(data, size);
	client(data, size);
	sender(data, size);
	return 0;
}

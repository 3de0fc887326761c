/*
 * fetch.c - the agent's transfers, all on one libcurl multi handle: the
 * catalog long-poll, manifests, heartbeats and a few batch streams.
 *
 * Batch streams.  Up to conf.connections POSTs of /v1/chunks/batch run
 * at once over keep-alive connections, each naming up to
 * AGENT_BATCH_BYTES of missing chunks, so that the bytes in flight cover
 * the bandwidth-delay product of any WAN we expect.  The answer is read
 * frame by frame (common/frame.c); each chunk is checked (SHA-256 of the
 * decompressed content against its id) before it is queued for the store,
 * and a bad one is logged, counted and fetched again, never stored.
 *
 * Bandwidth.  A token bucket of our own: every byte received takes a
 * token; tokens come back at the current rate, up to a burst of 1/20 s.
 * When the bucket is empty every batch stream is paused (curl stops
 * reading its socket, so TCP flow control slows the sender) until it has
 * refilled.  Each batch request also names the cap (BATCH_RATE_HEADER),
 * and the source paces our streams to it: without that the bytes leave
 * the source at line rate into whatever buffers the path has, and the
 * wire sees bursts well above the cap whenever those buffers refill.
 * When a window closes the streams stop at the next chunk boundary.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "agent.h"
#include "batchsrv.h"
#include "error.h"
#include "hash.h"
#include "log.h"

#define RESP_MAX (MANIFEST_BYTES_MAX + 1024)
#define CAT_MAX  (16u << 20)

enum xkind { X_CATALOG, X_MANIFEST, X_STATUS, X_BATCH };

struct xfer {
	struct xfer *lnext, *lprev; /* a->xall */
	struct agent *a;
	CURL *h;
	enum xkind kind;
	struct curl_slist *hdrs;
	char *body;
	/* whole answers (catalog, manifest, errors) */
	char *resp;
	size_t rlen, rmax;
	char etag[64], sig[200], retry_after[32];
	/* manifest: the image, found again by name, version and id */
	char iname[MANIFEST_NAME_MAX + 1];
	uint32_t iver;
	uint8_t imid[32];
	/* batch */
	char src[AGENT_URL_MAX];
	uint8_t (*ids)[32];
	size_t n, next;
	struct frame_rd fr;
	uint64_t bytes;
	int stopped; /* we ended it on purpose (window closed) */
	int bad;     /* protocol error */
	int paused;
};

uint64_t
agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->lprev != NULL)
		x->lprev->lnext = x->lnext;
	else if (x->a->xall == x)
		x->a->xall = x->lnext;
	if (x->lnext != NULL)
		x->lnext->lprev = x->lprev;
	if (x->h != NULL) {
		curl_multi_remove_handle(x->a->multi, x->h);
		curl_easy_cleanup(x->h);
	}
	curl_slist_free_all(x->hdrs);
	free(x->body);
	free(x->resp);
	free(x->ids);
	frame_free(&x->fr);
	free(x);
}

static size_t
resp_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct xfer *x = arg;
	size_t n = sz * nm;
	char *np;

	if (x->rlen + n > x->rmax)
		return 0;
	if ((np = realloc(x->resp, x->rlen + n + 1)) == NULL)
		return 0;
	memcpy(np + x->rlen, p, n);
	x->resp = np;
	x->rlen += n;
	x->resp[x->rlen] = '\0';
	return n;
}

/* Keep the few response headers we read. */
static size_t
header_cb(char *p, size_t sz, size_t nm, void *arg)
{
	struct xfer *x = arg;
	size_t n = sz * nm, k;
	struct {
		const char *name;
		char *dst;
		size_t cap;
	} want[] = {{"etag:", x->etag, sizeof(x->etag)},
	        {"branchline-signature:", x->sig, sizeof(x->sig)},
	        {"retry-after:", x->retry_after, sizeof(x->retry_after)}};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		k = strlen(want[i].name);
		if (n <= k || strncasecmp(p, want[i].name, k) != 0)
			continue;
		p += k;
		n -= k;
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' ||
		                        p[n - 1] == ' '))
			n--;
		if (n < want[i].cap) {
			memcpy(want[i].dst, p, n);
			want[i].dst[n] = '\0';
		}
		break;
	}
	return sz * nm;
}

CURL *
fetch_easy(struct agent *a, const char *url)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_CAINFO, a->d->ca);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_SSLCERT, a->d->crt);
	curl_easy_setopt(h, CURLOPT_SSLKEY, a->d->key);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "branchline-dist/" BL_VERSION);
	return h;
}

static struct xfer *
xfer_new(struct agent *a, enum xkind kind, const char *url, size_t rmax)
{
	struct xfer *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->a = a;
	x->kind = kind;
	x->rmax = rmax;
	if ((x->h = fetch_easy(a, url)) == NULL) {
		free(x);
		return NULL;
	}
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, resp_write);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
	return x;
}

static int
xfer_start(struct xfer *x)
{
	if (curl_multi_add_handle(x->a->multi, x->h) != CURLM_OK) {
		curl_easy_cleanup(x->h);
		x->h = NULL;
		xfer_free(x);
		return -1;
	}
	x->lnext = x->a->xall;
	if (x->lnext != NULL)
		x->lnext->lprev = x;
	x->a->xall = x;
	return 0;
}

int
fetch_catalog(struct agent *a)
{
	char url[AGENT_URL_MAX + 64], inm[80];
	struct xfer *x;

	snprintf(url, sizeof(url), "%s/v1/catalog?wait=%d",
	        a->d->conf.primary_url, a->have_catalog ? AGENT_WAIT : 0);
	if ((x = xfer_new(a, X_CATALOG, url, CAT_MAX)) == NULL)
		return -1;
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT, (long)AGENT_WAIT + 30);
	if (a->etag[0] != '\0' && a->have_catalog) {
		snprintf(inm, sizeof(inm), "If-None-Match: %s", a->etag);
		x->hdrs = curl_slist_append(NULL, inm);
		curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	}
	if (xfer_start(x) != 0)
		return -1;
	a->cat_busy = 1;
	return 0;
}

int
fetch_manifest(struct agent *a, struct img *im)
{
	char url[AGENT_URL_MAX + 100];
	struct xfer *x;

	snprintf(url, sizeof(url), "%s/v1/manifests/%s", im->src, im->midhex);
	if ((x = xfer_new(a, X_MANIFEST, url, RESP_MAX)) == NULL)
		return -1;
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT, 600L);
	snprintf(x->iname, sizeof(x->iname), "%s", im->name);
	x->iver = im->version;
	memcpy(x->imid, im->mid, 32);
	snprintf(x->src, sizeof(x->src), "%s", im->src);
	if (xfer_start(x) != 0)
		return -1;
	im->manifest_busy = 1;
	return 0;
}

int
fetch_status(struct agent *a, char *body)
{
	char url[AGENT_URL_MAX + 64];
	struct xfer *x;

	snprintf(url, sizeof(url), "%s/v1/status", a->d->conf.primary_url);
	if ((x = xfer_new(a, X_STATUS, url, 1u << 16)) == NULL) {
		free(body);
		return -1;
	}
	x->body = body;
	x->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT, 30L);
	if (xfer_start(x) != 0)
		return -1;
	a->hb_busy = 1;
	return 0;
}

/* --- batch streams ---------------------------------------------------- */

static void
pend_add(struct agent *a, const struct frame_rd *r)
{
	struct store_incoming *p;
	uint8_t *buf;

	if (a->npend == a->pendcap) {
		size_t nc = a->pendcap ? a->pendcap * 2 : 256;
		struct store_incoming *np = realloc(a->pend, nc * sizeof(*np));

		if (np == NULL)
			goto drop;
		a->pend = np;
		a->pendcap = nc;
	}
	p = &a->pend[a->npend];
	if ((buf = malloc(r->len)) == NULL)
		goto drop;
	memcpy(buf, r->data, r->len);
	memcpy(p->id, r->id, 32);
	p->zstd = r->zstd;
	p->size = r->size;
	p->data = buf;
	p->len = r->len;
	if (a->npend++ == 0)
		a->pend_since_ms = agent_now_ms();
	a->pend_bytes += r->len;
	return;
drop:
	agent_mark(a, r->id, CH_MISSING); /* fetched again later */
}

static void
frame_done(struct xfer *x)
{
	struct agent *a = x->a;
	struct frame_rd *r = &x->fr;
	struct store_incoming in;
	char why[300], hex[65];

	if (x->next >= x->n || memcmp(r->id, x->ids[x->next], 32) != 0) {
		x->bad = 1;
		return;
	}
	x->next++;
	hash_hex(r->id, 32, hex);
	if (r->status == 1) {
		log_warnx("%s does not have chunk %s", x->src, hex);
		agent_mark(a, r->id, CH_MISSING);
		agent_chunk_bad(a, r->id, x->src, "not there");
		return;
	}
	memcpy(in.id, r->id, 32);
	in.zstd = r->zstd;
	in.size = r->size;
	in.data = r->data;
	in.len = r->len;
	if (store_chunk_check(a->s, &in, why, sizeof(why)) != 0) {
		log_warnx("chunk from %s rejected, not stored: %s; fetching it "
		          "again",
		        x->src, why);
		agent_mark(a, r->id, CH_MISSING);
		agent_chunk_bad(a, r->id, x->src, why);
		return;
	}
	pend_add(a, r);
}

static size_t
batch_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct xfer *x = arg;
	struct agent *a = x->a;
	size_t n = sz * nm, off = 0, used;
	long code = 0;
	char why[200];
	int rc;

	/* The bucket is empty: leave the bytes with curl and stop reading
	 * this socket until pace() has tokens again. */
	if (a->rate > 0 && a->tokens < 0) {
		x->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	a->tokens -= (double)n;
	a->rx_total += n;
	a->rx_hist[a->rx_sec % 8] += n;
	x->bytes += n;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		return resp_write(p, sz, nm, x);
	while (off < n) {
		rc = frame_feed(&x->fr, (const uint8_t *)p + off, n - off,
		        &used, why, sizeof(why));
		off += used;
		if (rc < 0) {
			log_warnx("batch stream from %s: %s", x->src, why);
			x->bad = 1;
			return 0;
		}
		if (rc == 0)
			break;
		frame_done(x);
		if (x->bad) {
			log_warnx("batch stream from %s: frames out of order",
			        x->src);
			return 0;
		}
		if (a->closing && x->next < x->n) {
			x->stopped = 1; /* at a chunk boundary */
			return 0;
		}
	}
	return n;
}

/* Up to max bytes of missing chunks from one source into x. */
static size_t
batch_pick(struct agent *a, struct xfer *x, uint64_t max)
{
	uint64_t bytes = 0;
	size_t i, j;
	const char *src = NULL;

	for (i = 0; i < a->nimgs && x->n < AGENT_BATCH_IDS; i++) {
		struct img *im = &a->imgs[i];

		if (im->state != IMG_DOWNLOADING || im->src[0] == '\0')
			continue;
		if (src != NULL && strcmp(src, im->src) != 0)
			continue;
		for (j = im->cursor; j < im->n && x->n < AGENT_BATCH_IDS &&
		                     bytes < max;
		        j++) {
			if (im->st[j] != CH_MISSING)
				continue;
			memcpy(x->ids[x->n++], im->ids[j], 32);
			bytes += im->lens[j];
			agent_mark(a, im->ids[j], CH_INFLIGHT);
		}
		/* Skip the run of chunks nobody needs to look at again. */
		while (im->cursor < im->n && im->st[im->cursor] == CH_HAVE)
			im->cursor++;
		if (x->n > 0)
			src = im->src;
		if (bytes >= max)
			break;
	}
	if (src != NULL)
		snprintf(x->src, sizeof(x->src), "%s", src);
	return x->n;
}

/*
 * Under a cap, a bounded receive buffer: the kernel would otherwise let
 * a source that does not pace (see BATCH_RATE_HEADER) put megabytes into
 * a paused socket at line rate, a burst on the wire the bucket never
 * sees.  1/10 s of the cap (at least 64 KiB): the kernel's usable half of
 * it still covers a 100 ms round trip per stream at the full cap, which
 * one stream needs while the other reconnects.
 */
static int
batch_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct agent *a = arg;
	int buf;

	if (purpose != CURLSOCKTYPE_IPCXN || a->rate <= 0)
		return CURL_SOCKOPT_OK;
	buf = a->rate / 10 > (4 << 20) ? (4 << 20) : (int)(a->rate / 10);
	if (buf < (64 << 10))
		buf = 64 << 10;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	return CURL_SOCKOPT_OK;
}

int
fetch_batch(struct agent *a)
{
	char url[AGENT_URL_MAX + 64];
	struct xfer *x;
	uint64_t max;
	size_t i, off = 0;
	int slot;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->a = a;
	x->kind = X_BATCH;
	x->rmax = 1u << 16;
	if ((x->ids = calloc(AGENT_BATCH_IDS, 32)) == NULL ||
	        (x->body = malloc(AGENT_BATCH_IDS * 65 + 1)) == NULL) {
		xfer_free(x);
		return -1;
	}
	/*
	 * Under a cap the source shares the rate among our streams, so one
	 * stream's reconnect costs nothing while another runs.  The first
	 * of a pair asks for half a batch, so that they do not end (and
	 * reconnect) together.
	 */
	max = AGENT_BATCH_BYTES;
	if (a->rate > 0 && a->nbatches == 0)
		max /= 2;
	if (batch_pick(a, x, max) == 0) {
		xfer_free(x);
		return 0; /* nothing to fetch */
	}
	for (i = 0; i < x->n; i++) {
		hash_hex(x->ids[i], 32, x->body + off);
		off += 64;
		x->body[off++] = '\n';
	}
	x->body[off] = '\0';
	snprintf(url, sizeof(url), "%s/v1/chunks/batch", x->src);
	if ((x->h = fetch_easy(a, url)) == NULL) {
		for (i = 0; i < x->n; i++)
			agent_mark(a, x->ids[i], CH_MISSING);
		xfer_free(x);
		return -1;
	}
	x->hdrs = curl_slist_append(NULL, "Content-Type: text/plain");
	if (a->rate > 0 && x->hdrs != NULL) {
		char rh[64];

		/* The source paces all our streams to the cap. */
		snprintf(rh, sizeof(rh), "%s: %" PRId64, BATCH_RATE_HEADER,
		        a->rate);
		x->hdrs = curl_slist_append(x->hdrs, rh);
	}
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE, (long)off);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, batch_write);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
	/* A stream that delivers nothing for a minute is dead. */
	curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(x->h, CURLOPT_SOCKOPTFUNCTION, batch_sockopt);
	curl_easy_setopt(x->h, CURLOPT_SOCKOPTDATA, a);
	/* Its small buffer must not slow a later, uncapped batch. */
	if (a->rate > 0)
		curl_easy_setopt(x->h, CURLOPT_FORBID_REUSE, 1L);
	for (slot = 0; slot < AGENT_CONNS_MAX && a->bx[slot] != NULL; slot++)
		;
	if (slot == AGENT_CONNS_MAX || xfer_start(x) != 0) {
		for (i = 0; i < x->n; i++)
			agent_mark(a, x->ids[i], CH_MISSING);
		if (slot == AGENT_CONNS_MAX)
			xfer_free(x);
		return -1;
	}
	a->bx[slot] = x;
	if (a->paused) {
		x->paused = 1;
		curl_easy_pause(x->h, CURLPAUSE_RECV);
	}
	a->nbatches++;
	return 1;
}

static void
batch_done(struct agent *a, struct xfer *x, CURLcode cc)
{
	long code = 0;
	size_t i;

	a->nbatches--;
	for (i = 0; i < AGENT_CONNS_MAX; i++)
		if (a->bx[i] == x)
			a->bx[i] = NULL;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	for (i = x->next; i < x->n; i++)
		agent_mark(a, x->ids[i], CH_MISSING);
	if (x->stopped) {
		log_info("window closed: stopped a batch from %s after %zu of "
		         "%zu chunks",
		        x->src, x->next, x->n);
		return;
	}
	if (code == 429) {
		long ra = strtol(x->retry_after, NULL, 10);

		/* A catalog change ends the wait early (see apply). */
		if (ra <= 0 || ra > 3600)
			ra = 3600;
		a->hold_until = time(NULL) + ra;
		snprintf(a->hold_why, sizeof(a->hold_why),
		        "%s refused: outside the window (retry in %ld s)", x->src,
		        ra);
		log_info("%s", a->hold_why);
		return;
	}
	if (cc == CURLE_OK && code == 200 && x->next == x->n && !x->bad) {
		a->src_fails = 0;
		log_debug("batch from %s: %zu chunks, %" PRIu64 " bytes", x->src,
		        x->n, x->bytes);
		return;
	}
	if (cc == CURLE_OK && code != 200)
		log_warnx("batch from %s: HTTP %ld: %.200s", x->src, code,
		        x->resp ? x->resp : "");
	else
		log_warnx("batch from %s ended after %zu of %zu chunks: %s",
		        x->src, x->next, x->n,
		        x->bad ? "bad stream" : curl_easy_strerror(cc));
	agent_source_failed(a, x->src);
}

/* --- the loop --------------------------------------------------------- */

static void
done(struct agent *a, CURL *h, CURLcode cc)
{
	struct xfer *x = NULL;
	struct img *im;
	long code = 0;

	curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	switch (x->kind) {
	case X_CATALOG:
		a->cat_busy = 0;
		if (cc != CURLE_OK) {
			log_warnx("catalog from %s: %s", a->d->conf.primary_url,
			        curl_easy_strerror(cc));
			code = 0;
		}
		agent_catalog_done(a, code, x->resp, x->rlen, x->etag, x->sig);
		break;
	case X_MANIFEST:
		/* The catalog may have changed meanwhile. */
		im = agent_find(a, x->iname, x->iver);
		if (im == NULL || memcmp(im->mid, x->imid, 32) != 0)
			break;
		im->manifest_busy = 0;
		if (cc == CURLE_OK && code == 200)
			agent_manifest_done(a, im, (uint8_t *)x->resp, x->rlen);
		else {
			log_warnx("manifest %s from %s: %s", im->midhex, x->src,
			        cc != CURLE_OK ? curl_easy_strerror(cc)
			                       : (x->resp ? x->resp : "error"));
			im->manifest_next = time(NULL) + 10;
			if (cc != CURLE_OK)
				agent_source_failed(a, x->src);
		}
		break;
	case X_STATUS:
		a->hb_busy = 0;
		if (cc != CURLE_OK || code != 204)
			log_debug("heartbeat: %s (HTTP %ld)",
			        curl_easy_strerror(cc), code);
		break;
	case X_BATCH:
		batch_done(a, x, cc);
		break;
	}
	xfer_free(x);
}

/* Refill the bucket; pause or resume the batch streams.  The wait. */
static int
pace(struct agent *a)
{
	uint64_t now = agent_now_ms();
	double dt = (double)(now - a->last_refill_ms) / 1000.0;
	int wait_ms = 200, pause = 0, i;

	a->last_refill_ms = now;
	if (a->rate > 0) {
		a->burst = (double)a->rate / 20.0;
		if (a->burst < 16384)
			a->burst = 16384;
		a->tokens += dt * (double)a->rate;
		if (a->tokens > a->burst)
			a->tokens = a->burst;
		if (a->tokens < 0) {
			pause = 1;
			wait_ms = (int)(-a->tokens * 1000.0 / (double)a->rate) +
			          1;
			if (wait_ms > 200)
				wait_ms = 200;
		}
	} else
		a->tokens = 0;
	for (i = 0; i < AGENT_CONNS_MAX; i++) {
		struct xfer *x = a->bx[i];

		if (x == NULL || x->paused == pause)
			continue;
		x->paused = pause;
		curl_easy_pause(x->h, pause ? CURLPAUSE_RECV : CURLPAUSE_CONT);
	}
	a->paused = pause;
	return wait_ms;
}

void
fetch_run(struct agent *a, int timeout_ms)
{
	CURLMsg *m;
	int running, left, w, round;

	for (round = 0; round < 2; round++) {
		/* Pace before every perform: it may read every socket. */
		w = pace(a);
		curl_multi_perform(a->multi, &running);
		while ((m = curl_multi_info_read(a->multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE)
				done(a, m->easy_handle, m->data.result);
		if (round == 0)
			curl_multi_poll(a->multi, NULL, 0,
			        w < timeout_ms ? w : timeout_ms, NULL);
	}
}

/* Store the verified chunks held in memory; then they count as present. */
void
fetch_flush(struct agent *a)
{
	char why[300];
	size_t i;
	int rc;

	if (a->npend == 0)
		return;
	rc = store_ingest(a->s, a->pend, a->npend, why, sizeof(why));
	for (i = 0; i < a->npend; i++) {
		agent_mark(a, a->pend[i].id, rc == 0 ? CH_HAVE : CH_MISSING);
		free((void *)a->pend[i].data);
	}
	if (rc == -ENOSPC || rc == -EDQUOT || rc == BL_EMAPFULL) {
		a->disk_until = time(NULL) + 30;
		snprintf(a->disk_why, sizeof(a->disk_why),
		        "paused: the disk is full (%s); retrying every 30 s",
		        why);
		log_warnx("%s", a->disk_why);
		a->dirty = 1;
	} else if (rc != 0) {
		a->disk_until = time(NULL) + 10;
		snprintf(a->disk_why, sizeof(a->disk_why),
		        "paused: cannot store chunks (%s)", why);
		log_warnx("%s", a->disk_why);
		a->dirty = 1;
	} else if (a->disk_why[0] != '\0' && time(NULL) >= a->disk_until) {
		/* Streams already running when the disk filled may store a
		 * little more meanwhile; the pause holds its 30 s. */
		a->disk_why[0] = '\0';
		a->dirty = 1;
		agent_reserve(a); /* room again: hold some back */
	}
	a->npend = 0;
	a->pend_bytes = 0;
}

void
fetch_cleanup(struct agent *a)
{
	int i;

	while (a->xall != NULL)
		xfer_free(a->xall);
	for (i = 0; i < AGENT_CONNS_MAX; i++)
		a->bx[i] = NULL;
	for (size_t k = 0; k < a->npend; k++)
		free((void *)a->pend[k].data);
	free(a->pend);
	a->pend = NULL;
	a->npend = 0;
}

/*
 * repl.c - the replication source: enrollment, site catalogs (long-poll),
 * manifests, chunks one by one and in streamed batches, and heartbeats.
 *
 * A batch answer is written as it drains: at most BATCH_QUEUE bytes of
 * frames wait in the connection's output at a time, each chunk added as
 * a file segment (evbuffer_add_file), so no image is ever held in memory
 * and a slow link only slows its own stream.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "pki.h"
#include "schedule.h"
#include "server.h"

#define BATCH_QUEUE   (2u << 20) /* frame bytes queued per batch stream */
#define BATCH_HDR     44
#define NODE_CERT_DAYS 825

/*
 * May c's node fetch chunks now?  0 if so; else the seconds until its
 * next window opens (for Retry-After).  A site without windows is always
 * open; a trickle rate keeps it open at that rate (the node paces itself).
 */
static long
closed_for(struct reqctx *c)
{
	const struct site *s = cfg_site(&c->p->cfg, c->node->site);
	struct tm tm;
	uint64_t cap;
	time_t now = time(NULL);
	int until, wday;

	if (s == NULL || s->nwindows == 0 || s->trickle_bps > 0 ||
	        primary_repnow(c->p, s->name) != 0)
		return 0;
	if (tz_localtime(s->tz, now, &tm) != 0)
		return 0; /* validated at commit; never lock a site out */
	wday = (tm.tm_wday + 6) % 7;
	if (sched_lookup(s->windows, s->nwindows, wday,
	            tm.tm_hour * 60 + tm.tm_min, &cap, &until) == 1)
		return 0;
	return until < 0 ? 3600 : (long)until * 60 - tm.tm_sec + 1;
}

static int
refuse_closed(struct reqctx *c)
{
	char ra[32];
	long s = closed_for(c);

	if (s == 0)
		return 0;
	snprintf(ra, sizeof(ra), "%ld", s);
	evhttp_add_header(evhttp_request_get_output_headers(c->req),
	        "Retry-After", ra);
	reply_error(c, 429, "site %s is outside its replication window; "
	                    "retry in %ld s", c->node->site, s);
	return -1;
}

/* --- enrollment ------------------------------------------------------ */

static const struct cfg_token *
enroll_token(struct primary *p, const char *tok)
{
	char sha[65];
	size_t i;

	cfg_token_hash(tok, sha);
	for (i = 0; i < p->cfg.ntokens; i++)
		if (p->cfg.tokens[i].enroll &&
		        strcmp(p->cfg.tokens[i].sha256, sha) == 0)
			return &p->cfg.tokens[i];
	return NULL;
}

static json_t *
enroll_answer(struct primary *p, const struct cfg_node *n, const char *cert)
{
	char path[1100], pub[65];
	uint8_t *ca = NULL, k[32];
	size_t calen = 0;
	json_t *o;

	snprintf(path, sizeof(path), "%s/pki/ca.crt", p->state);
	if (fs_read_file(path, 1u << 16, &ca, &calen) != 0)
		return NULL;
	if (sign_key_pub(p->store->key, k) != 0) {
		free(ca);
		return NULL;
	}
	hash_hex(k, 32, pub);
	o = json_pack("{s:s,s:s,s:s,s:s%,s:s,s:i}", "node_id", n->id, "site",
	        n->site, "certificate", cert, "ca", (const char *)ca, calen,
	        "signing_key", pub, "heartbeat", PRIMARY_HEARTBEAT);
	free(ca);
	return o;
}

void
repl_enroll(struct reqctx *c)
{
	struct primary *p = c->p;
	const struct cfg_token *t;
	struct cfg_token tok;
	struct cfg_node n;
	struct cfg_change ch[2];
	json_t *b = body_json(c), *ans;
	const char *tokstr, *csr;
	char *cert = NULL, *nodejs = NULL, tpath[256], npath[256], msg[200];
	char pki[1100], why[512];
	uint8_t r[6];
	size_t certlen;
	int rc;

	if (b == NULL)
		return;
	tokstr = json_string_value(json_object_get(b, "token"));
	csr = json_string_value(json_object_get(b, "csr"));
	if (tokstr == NULL || csr == NULL) {
		reply_error(c, 400, "enroll needs \"token\" and \"csr\"");
		goto out;
	}
	if ((t = enroll_token(p, tokstr)) == NULL) {
		reply_error(c, 401, "the enrollment token is not valid "
		                    "(used already?)");
		goto out;
	}
	if (t->expires != 0 && t->expires <= (int64_t)time(NULL)) {
		reply_error(c, 401, "enrollment token %s expired", t->name);
		goto out;
	}
	tok = *t;
	memset(&n, 0, sizeof(n));
	if (RAND_bytes(r, sizeof(r)) != 1) {
		reply_error(c, 500, "no randomness");
		goto out;
	}
	memcpy(n.id, "node-", 5);
	hash_hex(r, sizeof(r), n.id + 5);
	snprintf(n.site, sizeof(n.site), "%s", tok.site);
	n.enrolled = time(NULL);
	snprintf(pki, sizeof(pki), "%s/pki", p->state);
	if ((rc = pki_csr_sign(pki, csr, strlen(csr), n.id, NODE_CERT_DAYS,
	             &cert, &certlen, n.serial, why, sizeof(why))) != 0) {
		reply_error(c, 400, "csr: %s", why);
		goto out;
	}
	if ((nodejs = cfg_node_json(&n)) == NULL) {
		reply_error(c, 500, "out of memory");
		goto out;
	}
	snprintf(tpath, sizeof(tpath), "tokens/%s.json", tok.name);
	snprintf(npath, sizeof(npath), "nodes/%s.json", n.id);
	ch[0] = (struct cfg_change){tpath, NULL, 0};
	ch[1] = (struct cfg_change){npath, nodejs, strlen(nodejs)};
	snprintf(msg, sizeof(msg), "node add %s (site %s)", n.id, n.site);
	if ((rc = cfg_commit(p, ch, 2, tok.name, msg, why, sizeof(why))) != 0) {
		reply_error(c, http_status_of(rc), "%s", why);
		goto out;
	}
	log_info("%s: enrolled node %s for site %s (certificate %s)", c->peer,
	        n.id, n.site, n.serial);
	if ((ans = enroll_answer(p, &n, cert)) == NULL)
		reply_error(c, 500, "cannot read the CA certificate");
	else
		reply_json(c, 201, ans);
out:
	free(cert);
	free(nodejs);
	json_decref(b);
}

/* --- catalog, manifests, single chunks ------------------------------- */

void
repl_catalog(struct reqctx *c)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(c->req);
	const char *inm = evhttp_find_header(
	        evhttp_request_get_input_headers(c->req), "If-None-Match");
	unsigned long long wait;
	char *body, etag[40], sig[200], why[256];
	size_t len;
	uint64_t gen;

	if (query_uint(c, "wait", 0, PRIMARY_WAIT_MAX, 0, &wait) != 0)
		return;
	if (catalog_build(c->p, c->node->site, &body, &len, &gen, why,
	            sizeof(why)) != 0) {
		reply_error(c, 404, "%s", why);
		return;
	}
	snprintf(etag, sizeof(etag), "\"%" PRIu64 "\"", gen);
	if (inm != NULL && strcmp(inm, etag) == 0) {
		free(body);
		if (wait > 0) {
			catalog_hold(c->p, c->req, c->node->site, gen, (int)wait);
			return;
		}
		evhttp_add_header(out, "ETag", etag);
		reply_empty(c, 304);
		return;
	}
	if (catalog_sign(c->p, body, len, sig, sizeof(sig)) != 0) {
		free(body);
		reply_error(c, 500, "cannot sign the catalog");
		return;
	}
	evhttp_add_header(out, "ETag", etag);
	evhttp_add_header(out, "Branchline-Signature", sig);
	reply_bytes(c->req, "application/json", body, len);
	free(body);
}

void
repl_manifest(struct reqctx *c)
{
	uint8_t id[32], *raw;
	size_t len;
	int rc;

	(void)hash_unhex(c->m.arg[0], id, 32);
	if ((rc = store_manifest_by_id(c->p->store, id, &raw, &len)) != 0) {
		reply_error(c, http_status_of(rc), "manifest %s: %s",
		        c->m.arg[0], bl_strerror(rc));
		return;
	}
	reply_bytes(c->req, "application/vnd.branchline.manifest", raw, len);
	free(raw);
}

void
repl_chunk(struct reqctx *c)
{
	struct index_chunk rec;
	uint8_t id[32], *buf;
	size_t len;
	int fd, rc;

	if (refuse_closed(c) != 0)
		return;
	(void)hash_unhex(c->m.arg[0], id, 32);
	if ((rc = store_chunk_open(c->p->store, NULL, id, &rec, &fd)) != 0) {
		reply_error(c, http_status_of(rc), "chunk %s: %s", c->m.arg[0],
		        bl_strerror(rc));
		return;
	}
	close(fd);
	if ((buf = malloc(rec.size ? rec.size : 1)) == NULL) {
		reply_error(c, 503, "out of memory");
		return;
	}
	if ((rc = store_read_chunk(c->p->store, id, buf, rec.size, &len, 1)) !=
	        0) {
		free(buf);
		log_warnx("chunk %s: %s", c->m.arg[0], bl_strerror(rc));
		reply_error(c, http_status_of(rc), "chunk %s: %s", c->m.arg[0],
		        bl_strerror(rc));
		return;
	}
	reply_bytes(c->req, "application/octet-stream", buf, len);
	free(buf);
}

/* --- batches --------------------------------------------------------- */

struct batch {
	struct primary *p;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	uint8_t (*ids)[32];
	size_t n, next;
	uint64_t bytes;
	char who[64];
};

static void batch_pump(struct batch *b);

static void
batch_free(struct batch *b)
{
	if (b->evcon != NULL)
		evhttp_connection_set_closecb(b->evcon, NULL, NULL);
	free(b->ids);
	free(b);
}

static void
batch_closed(struct evhttp_connection *evcon, void *arg)
{
	struct batch *b = arg;

	(void)evcon;
	log_info("%s: batch stream closed by the peer after %zu of %zu chunks",
	        b->who, b->next, b->n);
	/* libevent 2.1 detaches an unfinished reply's request from a dying
	 * connection: then it is ours to free. */
	if (evhttp_request_get_connection(b->req) == NULL)
		evhttp_request_free(b->req);
	b->evcon = NULL;
	batch_free(b);
}

static void
batch_sent(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	batch_pump(arg);
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One frame for ids[i] into out. */
static void
batch_frame(struct batch *b, MDB_txn *txn, size_t i, struct evbuffer *out)
{
	uint8_t hdr[BATCH_HDR];
	struct index_chunk rec;
	int fd, rc;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, b->ids[i], 32);
	rc = store_chunk_open(b->p->store, txn, b->ids[i], &rec, &fd);
	if (rc != 0) {
		char hex[65];

		hash_hex(b->ids[i], 32, hex);
		if (rc != BL_ENOTFOUND)
			log_warnx("%s: batch chunk %s: %s", b->who, hex,
			        bl_strerror(rc));
		hdr[32] = 1;
		evbuffer_add(out, hdr, sizeof(hdr));
		return;
	}
	hdr[33] = (rec.flags & INDEX_CHUNK_ZSTD) ? 1 : 0;
	put_u32(hdr + 36, rec.size);
	put_u32(hdr + 40, rec.stored);
	evbuffer_add(out, hdr, sizeof(hdr));
	if (evbuffer_add_file(out, fd, 0, rec.stored) != 0)
		close(fd);
	b->bytes += rec.stored;
}

static void
batch_pump(struct batch *b)
{
	struct evbuffer *out;
	size_t queued = 0;
	MDB_txn *txn = NULL;

	if (b->next == b->n) {
		evhttp_send_reply_end(b->req);
		log_debug("%s: batch of %zu chunks, %" PRIu64 " bytes", b->who,
		        b->n, b->bytes);
		batch_free(b);
		return;
	}
	if ((out = evbuffer_new()) == NULL)
		return;
	(void)index_read_begin(&b->p->store->ix, &txn);
	while (b->next < b->n && queued < BATCH_QUEUE) {
		size_t before = evbuffer_get_length(out);

		batch_frame(b, txn, b->next++, out);
		queued += evbuffer_get_length(out) - before;
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	evhttp_send_reply_chunk_with_cb(b->req, out, batch_sent, b);
	evbuffer_free(out);
}

/* Parse hex id lines; 0 or an error message. */
static int
batch_parse(struct evbuffer *in, struct batch *b, char *why, size_t whylen)
{
	size_t len = evbuffer_get_length(in), pos = 0, cap;
	const char *s = (const char *)evbuffer_pullup(in, -1);

	cap = len / 64 + 1;
	if (cap > PRIMARY_BATCH_MAX + 1)
		cap = PRIMARY_BATCH_MAX + 1;
	if ((b->ids = calloc(cap, 32)) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	while (pos < len) {
		size_t e = pos;

		while (e < len && s[e] != '\n')
			e++;
		if (e > pos && s[e - 1] == '\r')
			e--; /* tolerate CRLF line ends */
		if (e > pos) {
			if (b->n == PRIMARY_BATCH_MAX)
				return bl_why(why, whylen, BL_ETOOBIG,
				        "more than %d ids in one batch",
				        PRIMARY_BATCH_MAX);
			char line[65];

			memcpy(line, s + pos, e - pos < 64 ? e - pos : 64);
			line[e - pos < 64 ? e - pos : 64] = '\0';
			if (e - pos != 64 ||
			        hash_unhex(line, b->ids[b->n], 32) != 0)
				return bl_why(why, whylen, BL_EFORMAT,
				        "line %zu: '%s' is not a chunk id",
				        b->n + 1, line);
			b->n++;
		}
		pos = e;
		while (pos < len && (s[pos] == '\r' || s[pos] == '\n'))
			pos++;
	}
	return 0;
}

void
repl_batch(struct reqctx *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	struct batch *b;
	char why[256];
	int rc;

	if (evbuffer_get_length(in) > (size_t)PRIMARY_BATCH_MAX * 66) {
		reply_error(c, 413, "a batch names at most %d ids",
		        PRIMARY_BATCH_MAX);
		return;
	}
	if (refuse_closed(c) != 0)
		return;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		reply_error(c, 503, "out of memory");
		return;
	}
	if ((rc = batch_parse(in, b, why, sizeof(why))) != 0) {
		batch_free(b);
		reply_error(c, http_status_of(rc), "%s", why);
		return;
	}
	b->p = c->p;
	b->req = c->req;
	snprintf(b->who, sizeof(b->who), "%s", c->who);
	b->evcon = evhttp_request_get_connection(c->req);
	evhttp_connection_set_closecb(b->evcon, batch_closed, b);
	evhttp_add_header(evhttp_request_get_output_headers(c->req),
	        "Content-Type", "application/vnd.branchline.chunks");
	evhttp_send_reply_start(c->req, 200, "OK");
	batch_pump(b);
}

/* --- heartbeats ------------------------------------------------------ */

void
repl_status(struct reqctx *c)
{
	json_t *b = body_json(c), *imgs, *it;
	size_t i;

	if (b == NULL)
		return;
	imgs = json_object_get(b, "images");
	if (imgs != NULL && !json_is_array(imgs)) {
		reply_error(c, 400, "images: must be an array");
		goto out;
	}
	json_array_foreach(imgs, i, it)
	{
		if (!json_is_object(it) ||
		        !json_is_string(json_object_get(it, "name")) ||
		        !json_is_string(json_object_get(it, "state"))) {
			reply_error(c, 400, "images[%zu]: needs name and state",
			        i);
			goto out;
		}
	}
	if (status_put(c->p, c->node->id, b) != 0) {
		reply_error(c, 503, "cannot record the status");
		goto out;
	}
	reply_empty(c, 204);
out:
	json_decref(b);
}

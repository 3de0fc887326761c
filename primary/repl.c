/*
 * repl.c - the replication source: enrollment, site catalogs (long-poll),
 * manifests, chunks one by one and in streamed batches, and heartbeats.
 *
 * Batches are parsed and streamed by common/batchsrv.c; this file adds
 * the node's authentication and its replication window.
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

#include "batchsrv.h"
#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "pki.h"
#include "schedule.h"
#include "server.h"

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
	        "signing_key", pub, "heartbeat", (int)p->conf.heartbeat);
	free(ca);
	return o;
}

/*
 * The CA certificate, for anyone: a new node checks it against the
 * SHA-256 fingerprint its operator was given before it trusts it.
 */
void
repl_ca(struct reqctx *c)
{
	char path[1100];
	uint8_t *ca = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/pki/ca.crt", c->p->state);
	if (fs_read_file(path, 1u << 16, &ca, &len) != 0) {
		reply_error(c, 500, "cannot read the CA certificate");
		return;
	}
	reply_bytes(c->req, "application/x-pem-file", ca, len);
	free(ca);
}

/*
 * The host of an https://HOST[:PORT][/...] URL into host[cap]: the name a
 * serving node's certificate must carry.  0, or -1 when url is not such.
 */
static int
url_host(const char *url, char *host, size_t cap)
{
	const char *p, *e;
	size_t n;

	if (strncmp(url, "https://", 8) != 0)
		return -1;
	p = url + 8;
	if (*p == '[') {
		if ((e = strchr(++p, ']')) == NULL)
			return -1;
	} else
		e = p + strcspn(p, ":/");
	n = (size_t)(e - p);
	if (n == 0 || n >= cap)
		return -1;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
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
	const char *tokstr, *csr, *url;
	char host[256], *cert = NULL, *nodejs = NULL, tpath[256], npath[256], msg[200];
	char pki[1100], why[512];
	uint8_t r[6];
	size_t certlen;
	int rc;

	if (b == NULL)
		return;
	tokstr = json_string_value(json_object_get(b, "token"));
	csr = json_string_value(json_object_get(b, "csr"));
	url = json_string_value(json_object_get(b, "url"));
	if (tokstr == NULL || csr == NULL) {
		reply_error(c, 400, "enroll needs \"token\" and \"csr\"");
		goto out;
	}
	if (url != NULL && url[0] != '\0' &&
	        url_host(url, host, sizeof(host)) != 0) {
		reply_error(c, 400, "url: must be https://HOST[:PORT]");
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
	if ((rc = pki_csr_sign_host(pki, csr, strlen(csr), n.id,
	             url != NULL && url[0] != '\0' ? host : NULL,
	             NODE_CERT_DAYS, &cert, &certlen, n.serial, why,
	             sizeof(why))) != 0) {
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

void
repl_batch(struct reqctx *c)
{
	char why[256];
	int rc;

	if (refuse_closed(c) != 0)
		return;
	if ((rc = batch_request(c->p->store, c->req, c->who, why,
	             sizeof(why))) != 0)
		reply_error(c, http_status_of(rc), "%s", why);
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

/*
 * api_admin.c - operator endpoints that change or read the configuration
 * repository: sites, nodes (enrollment tokens, removal), API tokens, the
 * configuration history, and replication status.
 *
 * Every change is one commit through cfg_commit, authored by the token's
 * name; a change that fails validation commits nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "error.h"
#include "hash.h"
#include "log.h"
#include "pki.h"
#include "server.h"

#define TOKEN_TTL_DEFAULT 86400
#define TOKEN_TTL_MAX     (10 * 365 * 86400LL)

static json_t *
site_obj(const struct site *s)
{
	char *txt = site_to_json(s);
	json_t *o = txt ? json_loads(txt, 0, NULL) : NULL;

	free(txt);
	return o ? o : json_object();
}

/* The entity tag of a site: its canonical document's hash. */
static void
site_etag(const struct site *s, char etag[24])
{
	char *txt = site_to_json(s), hex[65];
	uint8_t h[32];

	memset(h, 0, sizeof(h));
	if (txt != NULL)
		(void)hash_sha256(txt, strlen(txt), h);
	free(txt);
	hash_hex(h, 8, hex);
	snprintf(etag, 24, "\"%.16s\"", hex);
}

/* Commit one file change; replies with the error itself. */
static int
commit1(struct reqctx *c, const char *path, const char *data,
        const char *msg)
{
	struct cfg_change ch = {path, data, data ? strlen(data) : 0};
	char why[512];
	int rc;

	if ((rc = cfg_commit(c->p, &ch, 1, c->who, msg, why, sizeof(why))) !=
	        0) {
		reply_error(c, rc == BL_EBUSY ? 409 : http_status_of(rc), "%s",
		        why);
		return -1;
	}
	return 0;
}

/* The images a site names must exist now. */
static int
check_images(struct reqctx *c, const struct site *s)
{
	struct store_version v;
	char why[512];
	size_t i;

	for (i = 0; i < s->nimages; i++)
		if (store_lookup(c->p->store, s->images[i].name,
		            s->images[i].version, &v, NULL, NULL, why,
		            sizeof(why)) != 0) {
			reply_error(c, 400, "images[%zu]: %s", i, why);
			return -1;
		}
	return 0;
}

static void
site_write(struct reqctx *c, int create)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	struct site s;
	char why[512], path[256], msg[320], *txt = NULL, etag[24];
	const char *im;

	memset(&s, 0, sizeof(s));
	if (len > SITE_JSON_MAX) {
		reply_error(c, 413, "a site document is at most %u bytes",
		        SITE_JSON_MAX);
		return;
	}
	if (site_from_json((const char *)evbuffer_pullup(in, -1), len, &s, why,
	            sizeof(why)) != 0) {
		reply_error(c, 400, "%s", why);
		return;
	}
	if (!create && strcmp(s.name, c->m.arg[0]) != 0) {
		reply_error(c, 400, "name: '%s' does not match the URL's '%s'",
		        s.name, c->m.arg[0]);
		goto out;
	}
	if (create && cfg_site(&c->p->cfg, s.name) != NULL) {
		reply_error(c, 409, "site %s exists already", s.name);
		goto out;
	}
	if (!create && cfg_site(&c->p->cfg, s.name) == NULL) {
		reply_error(c, 404, "no site %s", s.name);
		goto out;
	}
	if (!create && (im = evhttp_find_header(
	                        evhttp_request_get_input_headers(c->req),
	                        "If-Match")) != NULL) {
		site_etag(cfg_site(&c->p->cfg, s.name), etag);
		if (strcmp(im, etag) != 0 && strcmp(im, "*") != 0) {
			reply_error(c, 412, "site %s changed since it was read "
			                    "(If-Match %.40s, now %s); read it "
			                    "again", s.name, im, etag);
			goto out;
		}
	}
	if (check_images(c, &s) != 0)
		goto out;
	if ((txt = site_to_json(&s)) == NULL) {
		reply_error(c, 500, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "sites/%s.json", s.name);
	snprintf(msg, sizeof(msg), "site %s %s", create ? "add" : "set",
	        s.name);
	if (commit1(c, path, txt, msg) == 0)
		reply_json(c, create ? 201 : 200, site_obj(&s));
out:
	free(txt);
	site_free(&s);
}

static void
site_delete(struct reqctx *c)
{
	const char *name = c->m.arg[0];
	char path[256], msg[320];
	size_t i;

	if (cfg_site(&c->p->cfg, name) == NULL) {
		reply_error(c, 404, "no site %s", name);
		return;
	}
	for (i = 0; i < c->p->cfg.nnodes; i++)
		if (strcmp(c->p->cfg.nodes[i].site, name) == 0) {
			reply_error(c, 409, "site %s still has node %s; remove "
			                    "it first", name,
			        c->p->cfg.nodes[i].id);
			return;
		}
	snprintf(path, sizeof(path), "sites/%s.json", name);
	snprintf(msg, sizeof(msg), "site rm %s", name);
	if (commit1(c, path, NULL, msg) == 0)
		reply_empty(c, 204);
}

static void
site_repnow(struct reqctx *c)
{
	json_t *b = body_json(c), *h;
	json_int_t hours = 12;
	time_t until;

	if (b == NULL)
		return;
	if ((h = json_object_get(b, "hours")) != NULL)
		hours = json_is_integer(h) ? json_integer_value(h) : -1;
	json_decref(b);
	if (hours < 0 || hours > 24 * 14) {
		reply_error(c, 400, "hours: a number in 0..336 is needed");
		return;
	}
	if (cfg_site(&c->p->cfg, c->m.arg[0]) == NULL) {
		reply_error(c, 404, "no site %s", c->m.arg[0]);
		return;
	}
	until = hours ? time(NULL) + (time_t)hours * 3600 : 0;
	if (primary_set_repnow(c->p, c->m.arg[0], until) != 0)
		log_warnx("saving replicate-now state");
	log_info("%s: replicate now at %s for %lld h", c->who, c->m.arg[0],
	        (long long)hours);
	reply_json(c, 200,
	        json_pack("{s:s,s:I}", "site", c->m.arg[0], "until",
	                (json_int_t)until));
}

void
api_sites(struct reqctx *c)
{
	const struct site *s;
	json_t *a;
	size_t i;

	if (c->m.id == R_SITE_REPNOW) {
		site_repnow(c);
		return;
	}
	if (c->m.id == R_SITES && c->m.method == RM_GET) {
		a = json_array();
		for (i = 0; i < c->p->cfg.nsites; i++)
			json_array_append_new(a, site_obj(&c->p->cfg.sites[i]));
		reply_json(c, 200, json_pack("{s:o}", "sites", a));
	} else if (c->m.id == R_SITES)
		site_write(c, 1);
	else if (c->m.method == RM_PUT)
		site_write(c, 0);
	else if (c->m.method == RM_DELETE)
		site_delete(c);
	else if ((s = cfg_site(&c->p->cfg, c->m.arg[0])) == NULL)
		reply_error(c, 404, "no site %s", c->m.arg[0]);
	else {
		char etag[24];

		site_etag(s, etag);
		evhttp_add_header(evhttp_request_get_output_headers(c->req),
		        "ETag", etag);
		reply_json(c, 200, site_obj(s));
	}
}

/* --- nodes ----------------------------------------------------------- */

static int
ttl_arg(struct reqctx *c, json_t *b, json_int_t *ttl)
{
	json_t *e = json_object_get(b, "expires_in");

	if (e == NULL)
		return 0;
	if (!json_is_integer(e) || json_integer_value(e) < 0 ||
	        json_integer_value(e) > TOKEN_TTL_MAX) {
		reply_error(c, 400, "expires_in: seconds in 0..%lld (0: never)",
		        TOKEN_TTL_MAX);
		return -1;
	}
	*ttl = json_integer_value(e);
	return 0;
}

/* SHA-256 of the CA certificate (hex) into fpr; "" if unreadable. */
static const char *
ca_fingerprint(struct primary *p, char fpr[PKI_FPR_HEX])
{
	char path[1100], why[256];
	X509 *x;

	fpr[0] = '\0';
	snprintf(path, sizeof(path), "%s/pki/ca.crt", p->state);
	if (pki_load_cert_file(path, &x, why, sizeof(why)) != 0)
		return fpr;
	if (pki_cert_fingerprint(x, fpr) != 0)
		fpr[0] = '\0';
	X509_free(x);
	return fpr;
}

static void
node_add(struct reqctx *c)
{
	json_t *b = body_json(c);
	struct cfg_token t;
	json_int_t ttl = TOKEN_TTL_DEFAULT;
	const char *site;
	char tok[PRIMARY_TOKEN_LEN + 1], path[256], msg[320], *txt;
	char fpr[PKI_FPR_HEX];
	uint8_t r[4];

	if (b == NULL)
		return;
	site = json_string_value(json_object_get(b, "site"));
	if (site == NULL || cfg_site(&c->p->cfg, site) == NULL) {
		reply_error(c, site ? 404 : 400, "site: %s",
		        site ? "no such site" : "a site name is needed");
		goto out;
	}
	if (ttl_arg(c, b, &ttl) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	if (RAND_bytes(r, sizeof(r)) != 1 || cfg_token_new(tok, t.sha256)) {
		reply_error(c, 500, "no randomness");
		goto out;
	}
	memcpy(t.name, "enroll-", 7);
	hash_hex(r, sizeof(r), t.name + 7);
	t.enroll = 1;
	snprintf(t.site, sizeof(t.site), "%s", site);
	t.created = time(NULL);
	t.expires = ttl ? t.created + ttl : 0;
	if ((txt = cfg_token_json(&t)) == NULL) {
		reply_error(c, 500, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "tokens/%s.json", t.name);
	snprintf(msg, sizeof(msg), "node token %s for site %s", t.name, site);
	if (commit1(c, path, txt, msg) == 0)
		reply_json(c, 201,
		        json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "token", tok,
		                "name", t.name, "site", site, "expires",
		                (json_int_t)t.expires, "ca_sha256",
		                ca_fingerprint(c->p, fpr), "primary",
		                c->p->conf.url));
	free(txt);
out:
	json_decref(b);
}

static json_t *
node_obj(struct primary *p, const struct cfg_node *n)
{
	struct node_status *st = status_get(p, n->id);
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:b}", "id", n->id, "site",
	        n->site, "serial", n->serial, "enrolled",
	        (json_int_t)n->enrolled, "healthy",
	        st != NULL && status_healthy(p, st, time(NULL)));
	const char *k;
	json_t *v;

	if (st != NULL && st->report != NULL) {
		json_object_set_new(o, "last_seen", json_integer(st->seen));
		json_object_foreach(st->report, k, v)
		{
			if (strcmp(k, "version") == 0 || strcmp(k, "url") == 0 ||
			        strcmp(k, "store") == 0 ||
			        strcmp(k, "images") == 0 || strcmp(k, "boot") == 0)
				json_object_set(o, k, v);
		}
	}
	return o;
}

void
api_nodes(struct reqctx *c)
{
	const struct cfg_node *n;
	char path[256], msg[320];
	json_t *a;
	size_t i;

	if (c->m.id == R_NODES && c->m.method == RM_POST) {
		node_add(c);
		return;
	}
	if (c->m.id == R_NODES) {
		a = json_array();
		for (i = 0; i < c->p->cfg.nnodes; i++)
			json_array_append_new(
			        a, node_obj(c->p, &c->p->cfg.nodes[i]));
		reply_json(c, 200, json_pack("{s:o}", "nodes", a));
		return;
	}
	if ((n = cfg_node(&c->p->cfg, c->m.arg[0])) == NULL) {
		reply_error(c, 404, "no node %s", c->m.arg[0]);
		return;
	}
	snprintf(path, sizeof(path), "nodes/%s.json", n->id);
	snprintf(msg, sizeof(msg), "node rm %s (site %s, certificate %s)",
	        n->id, n->site, n->serial);
	if (commit1(c, path, NULL, msg) == 0) {
		log_info("%s: node %s removed; its certificate is refused "
		         "from now on", c->who, c->m.arg[0]);
		reply_empty(c, 204);
	}
}

/* --- API tokens ------------------------------------------------------ */

static void
token_add(struct reqctx *c)
{
	json_t *b = body_json(c);
	struct cfg_token t;
	json_int_t ttl = 0;
	const char *name;
	char tok[PRIMARY_TOKEN_LEN + 1], path[256], msg[320], *txt;
	size_t i;

	if (b == NULL)
		return;
	name = json_string_value(json_object_get(b, "name"));
	if (name == NULL || !site_name_valid(name) ||
	        strncmp(name, "enroll-", 7) == 0) {
		reply_error(c, 400, "name: 1-63 of a-z 0-9 . _ - is needed "
		                    "(not enroll-*)");
		goto out;
	}
	for (i = 0; i < c->p->cfg.ntokens; i++)
		if (strcmp(c->p->cfg.tokens[i].name, name) == 0) {
			reply_error(c, 409, "token %s exists already", name);
			goto out;
		}
	if (ttl_arg(c, b, &ttl) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", name);
	if (cfg_token_new(tok, t.sha256) != 0) {
		reply_error(c, 500, "no randomness");
		goto out;
	}
	t.created = time(NULL);
	t.expires = ttl ? t.created + ttl : 0;
	if ((txt = cfg_token_json(&t)) == NULL) {
		reply_error(c, 500, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "tokens/%s.json", name);
	snprintf(msg, sizeof(msg), "token add %s", name);
	if (commit1(c, path, txt, msg) == 0)
		reply_json(c, 201,
		        json_pack("{s:s,s:s,s:I}", "name", name, "token", tok,
		                "expires", (json_int_t)t.expires));
	free(txt);
out:
	json_decref(b);
}

void
api_tokens(struct reqctx *c)
{
	const struct cfg_token *t;
	char path[256], msg[320];
	json_t *a;
	size_t i;

	if (c->m.id == R_TOKENS && c->m.method == RM_POST) {
		token_add(c);
		return;
	}
	if (c->m.id == R_TOKENS) {
		a = json_array();
		for (i = 0; i < c->p->cfg.ntokens; i++) {
			t = &c->p->cfg.tokens[i];
			json_array_append_new(a,
			        json_pack("{s:s,s:b,s:I,s:I}", "name", t->name,
			                "enroll", t->enroll, "created",
			                (json_int_t)t->created, "expires",
			                (json_int_t)t->expires));
		}
		reply_json(c, 200, json_pack("{s:o}", "tokens", a));
		return;
	}
	for (i = 0; i < c->p->cfg.ntokens; i++)
		if (strcmp(c->p->cfg.tokens[i].name, c->m.arg[0]) == 0)
			break;
	if (i == c->p->cfg.ntokens) {
		reply_error(c, 404, "no token %s", c->m.arg[0]);
		return;
	}
	snprintf(path, sizeof(path), "tokens/%s.json", c->m.arg[0]);
	snprintf(msg, sizeof(msg), "token rm %s", c->m.arg[0]);
	if (commit1(c, path, NULL, msg) == 0)
		reply_empty(c, 204);
}

/* --- configuration history ------------------------------------------- */

static void
config_log(struct reqctx *c)
{
	struct cfg_logent *e = NULL;
	unsigned long long max;
	size_t n = 0, i;
	json_t *a;
	int rc;

	if (query_uint(c, "max", 1, 10000, 50, &max) != 0)
		return;
	if ((rc = cfgrepo_log(c->p->repo, (size_t)max, 0, &e, &n)) != 0) {
		reply_error(c, 500, "log: %s", bl_strerror(rc));
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a,
		        json_pack("{s:s,s:s,s:I,s:s}", "id", e[i].oid, "author",
		                e[i].author, "time", (json_int_t)e[i].time,
		                "message", e[i].message));
	free(e);
	reply_json(c, 200, json_pack("{s:o}", "commits", a));
}

static void
config_diff(struct reqctx *c)
{
	const char *a = query_get(c, "rev"), *b = query_get(c, "to");
	char *patch = NULL;
	size_t len = 0;
	int rc;

	if (a == NULL) {
		reply_error(c, 400, "diff needs ?rev=REV");
		return;
	}
	if ((rc = cfgrepo_diff(c->p->repo, a, b, &patch, &len)) != 0) {
		reply_error(c, http_status_of(rc), "diff %s: %s", a,
		        bl_strerror(rc));
		return;
	}
	reply_bytes(c->req, "text/x-diff", patch, len);
	free(patch);
}

/*
 * Sites as they were at rev, as one ordinary (checked) commit.  Nodes and
 * tokens are not rolled back: a removed node or a used enrollment token
 * must never come back to life, and an old tree could lock every operator
 * out.
 */
static int
sites_at(struct reqctx *c, const char *rev, struct cfg_change **out,
        size_t *nout, char *why, size_t whylen)
{
	char **old = NULL, **cur = NULL, path[256];
	size_t nold = 0, ncur = 0, i, j, n = 0;
	struct cfg_change *ch;
	char *buf;
	size_t len;
	int rc;

	if ((rc = cfgrepo_list(c->p->repo, rev, "sites", &old, &nold)) != 0)
		return bl_why(why, whylen, rc, "no revision '%s'", rev);
	if ((rc = cfgrepo_list(c->p->repo, NULL, "sites", &cur, &ncur)) != 0 ||
	        (ch = calloc(nold + ncur + 1, sizeof(*ch))) == NULL) {
		cfgrepo_list_free(old, nold);
		cfgrepo_list_free(cur, ncur);
		return bl_why(why, whylen, rc ? rc : -ENOMEM, "listing sites");
	}
	for (i = 0; i < nold && rc == 0; i++) {
		snprintf(path, sizeof(path), "sites/%s", old[i]);
		if ((rc = cfgrepo_read(c->p->repo, rev, path, &buf, &len)) ==
		        0) {
			ch[n].path = strdup(path);
			ch[n].data = buf;
			ch[n++].len = len;
		}
	}
	for (j = 0; j < ncur && rc == 0; j++) {
		for (i = 0; i < nold; i++)
			if (strcmp(cur[j], old[i]) == 0)
				break;
		if (i < nold)
			continue;
		snprintf(path, sizeof(path), "sites/%s", cur[j]);
		ch[n++].path = strdup(path);
	}
	cfgrepo_list_free(old, nold);
	cfgrepo_list_free(cur, ncur);
	*out = ch;
	*nout = n;
	return rc == 0 ? 0 : bl_why(why, whylen, rc, "reading %s", rev);
}

static void
changes_free(struct cfg_change *ch, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free((char *)ch[i].path);
		free((char *)ch[i].data);
	}
	free(ch);
}

static void
config_rollback(struct reqctx *c)
{
	json_t *b = body_json(c);
	struct cfg_change *ch = NULL;
	const char *rev;
	char why[512], msg[320], head[41];
	size_t n = 0, i, k;
	int rc;

	if (b == NULL)
		return;
	if ((rev = json_string_value(json_object_get(b, "rev"))) == NULL ||
	        strlen(rev) > 128) {
		reply_error(c, 400, "rev: a revision is needed");
		goto out;
	}
	if ((rc = sites_at(c, rev, &ch, &n, why, sizeof(why))) != 0) {
		reply_error(c, http_status_of(rc), "%s", why);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (ch[i].data != NULL)
			continue;
		for (k = 0; k < c->p->cfg.nnodes; k++) {
			char p[256];

			snprintf(p, sizeof(p), "sites/%s.json",
			        c->p->cfg.nodes[k].site);
			if (strcmp(p, ch[i].path) == 0) {
				reply_error(c, 409, "rolling back to %s would "
				                    "remove site %s, which "
				                    "still has node %s",
				        rev, c->p->cfg.nodes[k].site,
				        c->p->cfg.nodes[k].id);
				goto out;
			}
		}
	}
	snprintf(msg, sizeof(msg), "rollback to %.12s (sites)", rev);
	if ((rc = cfg_commit(c->p, ch, n, c->who, msg, why, sizeof(why))) !=
	        0) {
		reply_error(c, rc == BL_EBUSY ? 409 : http_status_of(rc),
		        "rollback to %s: %s", rev, why);
		goto out;
	}
	(void)cfgrepo_head(c->p->repo, head);
	log_info("%s: sites rolled back to %s as %.12s", c->who, rev, head);
	reply_json(c, 200, json_pack("{s:s}", "id", head));
out:
	changes_free(ch, n);
	json_decref(b);
}

void
api_config(struct reqctx *c)
{
	if (c->m.id == R_CONFIG_LOG)
		config_log(c);
	else if (c->m.id == R_CONFIG_DIFF)
		config_diff(c);
	else
		config_rollback(c);
}

/* --- status ---------------------------------------------------------- */

static int
want(const char *filter, const char *v)
{
	return filter == NULL || (v != NULL && strcmp(filter, v) == 0);
}

/* The node's reported state of name@version, or NULL. */
static json_t *
reported(const struct node_status *st, const char *name, uint32_t version)
{
	json_t *it;
	size_t k;

	if (st == NULL)
		return NULL;
	json_array_foreach(json_object_get(st->report, "images"), k, it)
	{
		const char *n = json_string_value(json_object_get(it, "name"));

		if (n != NULL && strcmp(n, name) == 0 &&
		        json_integer_value(json_object_get(it, "version")) ==
		                (json_int_t)version)
			return it;
	}
	return NULL;
}

/* One status row per image assigned to n's site: what the node reported,
 * or "pending" when it has said nothing about that version yet. */
static void
node_rows(struct reqctx *c, const struct cfg_node *n, const char *fi,
        json_t *a)
{
	const struct site *s = cfg_site(&c->p->cfg, n->site);
	struct node_status *st = status_get(c->p, n->id);
	struct store_version v;
	char why[256];
	json_t *row, *it;
	size_t i;

	for (i = 0; s != NULL && i < s->nimages; i++) {
		if (!want(fi, s->images[i].name) ||
		        store_lookup(c->p->store, s->images[i].name,
		                s->images[i].version, &v, NULL, NULL, why,
		                sizeof(why)) != 0)
			continue;
		if ((it = reported(st, v.name, v.version)) != NULL) {
			json_int_t done = json_integer_value(
			        json_object_get(it, "bytes"));
			json_int_t total = json_integer_value(
			        json_object_get(it, "total"));

			row = json_deep_copy(it);
			json_object_set_new(row, "percent",
			        json_real(total > 0 ? 100.0 * (double)done /
			                                      (double)total
			                            : 0.0));
		} else
			row = json_pack("{s:s,s:i,s:s,s:I,s:I,s:f}", "name",
			        v.name, "version", (int)v.version, "state",
			        "pending", "bytes", (json_int_t)0, "total",
			        (json_int_t)v.im.size, "percent", 0.0);
		json_object_set_new(row, "image", json_string(v.name));
		json_object_set_new(row, "site", json_string(n->site));
		json_object_set_new(row, "node", json_string(n->id));
		json_object_set_new(row, "updated",
		        json_integer(st ? (json_int_t)st->seen : 0));
		json_object_set_new(row, "healthy",
		        json_boolean(st && status_healthy(c->p, st, time(NULL))));
		json_array_append_new(a, row);
	}
}

void
api_status(struct reqctx *c)
{
	const char *fs = query_get(c, "site"), *fi = query_get(c, "image"),
	           *fn = query_get(c, "node");
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < c->p->cfg.nnodes; i++) {
		const struct cfg_node *n = &c->p->cfg.nodes[i];

		if (want(fs, n->site) && want(fn, n->id))
			node_rows(c, n, fi, a);
	}
	reply_json(c, 200, json_pack("{s:o}", "status", a));
}

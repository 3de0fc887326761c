/*
 * catalog.c - each site's catalog: what its nodes must hold and how, as
 * one signed JSON document with a generation number.
 *
 * The body is built from the configuration at HEAD, the store (manifest
 * ids of the assigned image versions) and node heartbeats.  Its SHA-256,
 * without the generation, is compared with the last one served for the
 * site; a difference takes the next generation.  Generations persist in
 * STATE/catalogs.json, so ETags stay monotonic across restarts.
 *
 * Long-poll: a GET with If-None-Match equal to the current generation is
 * held (at most PRIMARY_WAIT_MAX s) and answered by catalog_kick as soon
 * as anything it shows changes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "primary.h"
#include "schedule.h"
#include "server.h"

struct longpoll {
	struct longpoll *next;
	struct primary *p;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct event *timer;
	char site[64];
	uint64_t gen;
};

static json_t *
images_json(struct primary *p, const struct site *s)
{
	json_t *a = json_array();
	char hex[65];
	struct store_version v;
	size_t i;

	for (i = 0; i < s->nimages; i++) {
		char why[256];

		if (store_lookup(p->store, s->images[i].name,
		            s->images[i].version, &v, NULL, NULL, why,
		            sizeof(why)) != 0) {
			log_debug("site %s: %s", s->name, why);
			continue;
		}
		hash_hex(v.im.manifest_id, 32, hex);
		json_array_append_new(a,
		        json_pack("{s:s,s:i,s:s,s:I,s:i}", "name", v.name,
		                "version", (int)v.version, "manifest", hex,
		                "size", (json_int_t)v.im.size, "files",
		                (int)v.im.nfiles));
	}
	return a;
}

/* Every site as referral needs it: the tree, subnets, option 82 rules
 * and boot entries (a client of any site may be referred to any node). */
static json_t *
sites_json(struct primary *p)
{
	static const char *const keys[] = {"name", "parent", "wan_cost",
	        "subnets", "option82", "boot"};
	json_t *a = json_array(), *doc, *o;
	size_t i, k;
	char *txt;

	for (i = 0; i < p->cfg.nsites; i++) {
		txt = site_to_json(&p->cfg.sites[i]);
		doc = txt != NULL ? json_loads(txt, 0, NULL) : NULL;
		free(txt);
		if (doc == NULL)
			continue;
		o = json_object();
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (json_object_get(doc, keys[k]) != NULL)
				json_object_set(o, keys[k],
				        json_object_get(doc, keys[k]));
		json_decref(doc);
		json_array_append_new(a, o);
	}
	return a;
}

/* The newest version of every image a boot entry names without one. */
static json_t *
latest_json(struct primary *p)
{
	json_t *o = json_object();
	struct store_version v;
	size_t i, j;

	for (i = 0; i < p->cfg.nsites; i++)
		for (j = 0; j < p->cfg.sites[i].nboot; j++) {
			const struct site_image *im =
			        &p->cfg.sites[i].boot[j].image;
			char why[256];

			if (im->version != 0 ||
			        json_object_get(o, im->name) != NULL ||
			        store_lookup(p->store, im->name, 0, &v, NULL,
			                NULL, why, sizeof(why)) != 0)
				continue;
			json_object_set_new(o, im->name,
			        json_integer((json_int_t)v.version));
		}
	return o;
}

/* Every node with its health and the images it reported complete. */
static json_t *
nodes_json(struct primary *p, time_t now)
{
	json_t *a = json_array(), *imgs, *rep, *it, *boot;
	struct node_status *st;
	const char *url, *burl;
	size_t i, k;

	for (i = 0; i < p->cfg.nnodes; i++) {
		const struct cfg_node *n = &p->cfg.nodes[i];

		st = status_get(p, n->id);
		rep = st ? st->report : NULL;
		url = json_string_value(json_object_get(rep, "url"));
		imgs = json_array();
		json_array_foreach(json_object_get(rep, "images"), k, it)
		{
			const char *state = json_string_value(
			        json_object_get(it, "state"));
			const char *name = json_string_value(
			        json_object_get(it, "name"));
			json_int_t ver = json_integer_value(
			        json_object_get(it, "version"));
			char ref[200];

			if (state == NULL || name == NULL ||
			        strcmp(state, "completed") != 0)
				continue;
			snprintf(ref, sizeof(ref), "%s@%lld", name,
			        (long long)ver);
			json_array_append_new(imgs, json_string(ref));
		}
		boot = json_object_get(rep, "boot");
		burl = json_string_value(json_object_get(boot, "url"));
		json_array_append_new(a,
		        json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:o}", "id", n->id,
		                "site", n->site, "url", url ? url : "",
		                "boot_url", burl ? burl : "", "healthy",
		                st != NULL && status_healthy(p, st, now), "busy",
		                json_is_true(json_object_get(boot, "busy")),
		                "images", imgs));
	}
	return a;
}

json_t *
catalog_boot_json(const struct site *s)
{
	char *txt = site_to_json(s);
	json_t *o = txt ? json_loads(txt, 0, NULL) : NULL, *b;

	free(txt);
	b = json_incref(json_object_get(o, "boot"));
	json_decref(o);
	return b ? b : json_array();
}

/*
 * What every site's catalog shares (the tree, every node, the latest
 * versions, our boot URL), built once per change: catalog_kick drops
 * it.  A borrowed reference, or NULL when out of memory.
 */
static json_t *
shared_json(struct primary *p)
{
	char burl[300] = "";

	if (p->cat_shared != NULL)
		return p->cat_shared;
	if (p->conf.boot_site[0] != '\0')
		(void)boot_conf_url(&p->conf.boot, p->conf.url, burl,
		        sizeof(burl));
	p->cat_shared = json_pack("{s:o,s:o,s:o,s:s}", "sites", sites_json(p),
	        "nodes", nodes_json(p, time(NULL)), "latest", latest_json(p),
	        "primary_boot_url", burl);
	return p->cat_shared;
}

/* The body of site's catalog, without its generation. */
static json_t *
catalog_body(struct primary *p, const struct site *s)
{
	char win[4096] = "";
	json_t *sh = shared_json(p), *o;

	if (sh == NULL)
		return NULL;
	(void)sched_format(s->windows, s->nwindows, win, sizeof(win));
	o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:o}", "format", 1,
	        "site", s->name, "primary", p->conf.url, "time_zone", s->tz,
	        "windows", win, "trickle_bps", (json_int_t)s->trickle_bps,
	        "replicate_now_until", (json_int_t)primary_repnow(p, s->name),
	        "heartbeat", (json_int_t)p->conf.heartbeat, "images",
	        images_json(p, s), "boot", catalog_boot_json(s));
	if (o != NULL && json_object_update(o, sh) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
catalog_view(struct primary *p, const char *site)
{
	const struct site *s = cfg_site(&p->cfg, site);
	json_t *o;

	if (s != NULL)
		o = catalog_body(p, s);
	else if ((o = json_deep_copy(shared_json(p))) != NULL)
		json_object_set_new(o, "heartbeat",
		        json_integer((json_int_t)p->conf.heartbeat));
	if (o != NULL)
		json_object_set_new(o, "self", json_string(""));
	return o;
}

static int
gens_save(struct primary *p)
{
	json_t *o = json_object();
	char path[1100], hex[65], *s;
	size_t i;
	int rc;

	for (i = 0; i < p->ngens; i++) {
		hash_hex(p->gens[i].hash, 32, hex);
		json_object_set_new(o, p->gens[i].site,
		        json_pack("{s:I,s:s}", "generation",
		                (json_int_t)p->gens[i].gen, "hash", hex));
	}
	s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(o);
	if (s == NULL)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/catalogs.json", p->state);
	rc = fs_write_atomic(path, s, strlen(s), 0644);
	free(s);
	return rc;
}

/* The generation for a body with hash h; a new one if h is new. */
static uint64_t
gen_for(struct primary *p, const char *site, const uint8_t h[32])
{
	struct catgen *g = NULL, *ng;
	size_t i;

	for (i = 0; i < p->ngens; i++)
		if (strcmp(p->gens[i].site, site) == 0)
			g = &p->gens[i];
	if (g != NULL && memcmp(g->hash, h, 32) == 0)
		return g->gen;
	if (g == NULL) {
		ng = realloc(p->gens, (p->ngens + 1) * sizeof(*ng));
		if (ng == NULL)
			return 0;
		p->gens = ng;
		g = &p->gens[p->ngens++];
		memset(g, 0, sizeof(*g));
		snprintf(g->site, sizeof(g->site), "%s", site);
	}
	memcpy(g->hash, h, 32);
	g->gen = ++p->maxgen;
	if (gens_save(p) != 0)
		log_warn("saving catalog generations");
	return g->gen;
}

int
catalog_build(struct primary *p, const char *site, char **body, size_t *len,
        uint64_t *gen, char *why, size_t whylen)
{
	const struct site *s = cfg_site(&p->cfg, site);
	json_t *o;
	uint8_t h[32];
	char *txt;

	if (s == NULL)
		return bl_why(why, whylen, BL_ENOTFOUND, "no site %s", site);
	if ((o = catalog_body(p, s)) == NULL)
		return bl_why(why, whylen, -ENOMEM, "building the catalog");
	txt = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	if (txt == NULL || hash_sha256(txt, strlen(txt), h) != 0) {
		free(txt);
		json_decref(o);
		return bl_why(why, whylen, -ENOMEM, "building the catalog");
	}
	free(txt);
	*gen = gen_for(p, site, h);
	json_object_set_new(o, "generation", json_integer((json_int_t)*gen));
	*body = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	if (*body == NULL)
		return bl_why(why, whylen, -ENOMEM, "building the catalog");
	*len = strlen(*body);
	return 0;
}

int
catalog_sign(struct primary *p, const char *body, size_t len, char *hdr,
        size_t hdrlen)
{
	uint8_t sig[SIGN_SIG_LEN];
	char kid[17], b64[100];
	char why[256];
	int rc;

	if ((rc = store_load_key(p->store, why, sizeof(why))) != 0) {
		log_warnx("signing key: %s", why);
		return rc;
	}
	if ((rc = sign_sign(p->store->key, (const uint8_t *)body, len, sig)) !=
	        0)
		return rc;
	hash_hex(p->keyid, 8, kid);
	EVP_EncodeBlock((unsigned char *)b64, sig, SIGN_SIG_LEN);
	snprintf(hdr, hdrlen, "ed25519 %s %s", kid, b64);
	return 0;
}

static void
poll_free(struct primary *p, struct longpoll *lp)
{
	struct longpoll **pp;

	for (pp = &p->polls; *pp != NULL; pp = &(*pp)->next)
		if (*pp == lp) {
			*pp = lp->next;
			break;
		}
	if (lp->evcon != NULL)
		evhttp_connection_set_closecb(lp->evcon, NULL, NULL);
	if (lp->timer != NULL)
		event_free(lp->timer);
	free(lp);
}

/* Send the catalog of lp's site, or 304 if it is still at lp->gen. */
static void
poll_answer(struct longpoll *lp, int final)
{
	struct primary *p = lp->p;
	struct reqctx c;
	char *body, etag[40], sig[200], why[256];
	size_t len;
	uint64_t gen, held = lp->gen;

	memset(&c, 0, sizeof(c));
	c.p = p;
	c.req = lp->req;
	snprintf(c.peer, sizeof(c.peer), "long-poll");
	if (catalog_build(p, lp->site, &body, &len, &gen, why, sizeof(why)) !=
	        0) {
		poll_free(p, lp);
		reply_error(&c, 404, "%s", why);
		return;
	}
	if (gen == held && !final) {
		free(body);
		return;
	}
	poll_free(p, lp);
	snprintf(etag, sizeof(etag), "\"%" PRIu64 "\"", gen);
	evhttp_add_header(evhttp_request_get_output_headers(c.req), "ETag",
	        etag);
	if (gen == held) {
		free(body);
		reply_empty(&c, 304);
		return;
	}
	if (catalog_sign(p, body, len, sig, sizeof(sig)) != 0) {
		free(body);
		reply_error(&c, 500, "cannot sign the catalog");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(c.req),
	        "Branchline-Signature", sig);
	reply_bytes(c.req, "application/json", body, len);
	free(body);
}

static void
poll_timeout(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	poll_answer(arg, 1);
}

static void
poll_closed(struct evhttp_connection *evcon, void *arg)
{
	struct longpoll *lp = arg;

	(void)evcon;
	lp->evcon = NULL; /* going away: do not touch its callbacks */
	poll_free(lp->p, lp);
}

void
catalog_hold(struct primary *p, struct evhttp_request *req, const char *site,
        uint64_t gen, int wait)
{
	struct longpoll *lp = calloc(1, sizeof(*lp));
	struct timeval tv = {wait, 0};

	if (lp == NULL || (lp->timer = evtimer_new(p->base, poll_timeout,
	                           lp)) == NULL) {
		free(lp);
		evhttp_send_error(req, 503, "out of memory");
		return;
	}
	lp->p = p;
	lp->req = req;
	lp->gen = gen;
	snprintf(lp->site, sizeof(lp->site), "%s", site);
	lp->evcon = evhttp_request_get_connection(req);
	evhttp_connection_set_closecb(lp->evcon, poll_closed, lp);
	evtimer_add(lp->timer, &tv);
	lp->next = p->polls;
	p->polls = lp;
}

void
catalog_kick(struct primary *p)
{
	struct longpoll *lp, *next;

	json_decref(p->cat_shared);
	p->cat_shared = NULL;
	pboot_changed(p);
	for (lp = p->polls; lp != NULL; lp = next) {
		next = lp->next;
		poll_answer(lp, 0);
	}
}

void
catalog_cleanup(struct primary *p)
{
	while (p->polls != NULL)
		poll_free(p, p->polls);
	json_decref(p->cat_shared);
	p->cat_shared = NULL;
	free(p->gens);
	p->gens = NULL;
	p->ngens = 0;
	free(p->repnow);
	p->repnow = NULL;
	p->nrepnow = 0;
}

time_t
primary_repnow(struct primary *p, const char *site)
{
	size_t i;

	for (i = 0; i < p->nrepnow; i++)
		if (strcmp(p->repnow[i].site, site) == 0)
			return p->repnow[i].until > time(NULL) ? p->repnow[i].until
			                                        : 0;
	return 0;
}

static int
repnow_save(struct primary *p)
{
	json_t *o = json_object();
	char path[1100], *s;
	size_t i;
	int rc;

	for (i = 0; i < p->nrepnow; i++)
		json_object_set_new(o, p->repnow[i].site,
		        json_integer((json_int_t)p->repnow[i].until));
	s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(o);
	if (s == NULL)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/repnow.json", p->state);
	rc = fs_write_atomic(path, s, strlen(s), 0644);
	free(s);
	return rc;
}

int
primary_set_repnow(struct primary *p, const char *site, time_t until)
{
	size_t i;
	void *n;

	for (i = 0; i < p->nrepnow; i++)
		if (strcmp(p->repnow[i].site, site) == 0)
			break;
	if (i == p->nrepnow) {
		if ((n = realloc(p->repnow, (i + 1) * sizeof(*p->repnow))) ==
		        NULL)
			return -ENOMEM;
		p->repnow = n;
		p->nrepnow++;
		snprintf(p->repnow[i].site, sizeof(p->repnow[i].site), "%s",
		        site);
	}
	p->repnow[i].until = until;
	catalog_kick(p);
	return repnow_save(p);
}

/* Read catalogs.json and repnow.json if present. */
int
catalog_load_state(struct primary *p)
{
	char path[1100];
	const char *k, *hx;
	json_t *o, *v;
	uint8_t pub[32], h[32];

	char why[256];

	if (store_load_key(p->store, why, sizeof(why)) != 0) {
		log_warnx("%s", why);
		return BL_ENOTFOUND;
	}
	if (sign_key_pub(p->store->key, pub) == 0 &&
	        hash_sha256(pub, 32, h) == 0)
		memcpy(p->keyid, h, 8);
	snprintf(path, sizeof(path), "%s/catalogs.json", p->state);
	if ((o = json_load_file(path, 0, NULL)) != NULL) {
		json_object_foreach(o, k, v)
		{
			uint64_t g = (uint64_t)json_integer_value(
			        json_object_get(v, "generation"));
			struct catgen *ng =
			        realloc(p->gens, (p->ngens + 1) * sizeof(*ng));

			if (ng == NULL)
				break;
			p->gens = ng;
			memset(&ng[p->ngens], 0, sizeof(*ng));
			snprintf(ng[p->ngens].site, sizeof(ng->site), "%s", k);
			ng[p->ngens].gen = g;
			hx = json_string_value(json_object_get(v, "hash"));
			if (hx != NULL)
				(void)hash_unhex(hx, ng[p->ngens].hash, 32);
			p->ngens++;
			if (g > p->maxgen)
				p->maxgen = g;
		}
		json_decref(o);
	}
	snprintf(path, sizeof(path), "%s/repnow.json", p->state);
	if ((o = json_load_file(path, 0, NULL)) != NULL) {
		json_object_foreach(o, k, v)
		{
			if (cfg_site(&p->cfg, k) != NULL)
				(void)primary_set_repnow(
				        p, k, (time_t)json_integer_value(v));
		}
		json_decref(o);
	}
	return 0;
}

/*
 * agent.c - the replication agent: follows the site catalog, decides
 * what to fetch from where and when, publishes complete images, reports
 * status and collects images no longer assigned.
 *
 * Per image:  PENDING --manifest verified--> DOWNLOADING --all chunks
 * present--> COMPLETED (published in the store, servable at once);
 * FAILED when a chunk keeps failing verification or a manifest is bad,
 * until the catalog changes.  A chunk counts as present only once the
 * store's index has it, so after kill -9, a reboot or a cut link the
 * agent asks only for what the index lacks (the resume rule).
 *
 * Sources: an image comes from a healthy node of the parent site that
 * has completed it; from the primary when the site has no parent or the
 * parent site has no healthy node (or its nodes keep failing).  While a
 * healthy parent is still replicating, the child waits for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <openssl/evp.h>

#include "agent.h"
#include "bootsvc.h"
#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "sign.h"

#define SRC_FAILS_MAX 3   /* transport failures before a source rests */
#define SRC_REST      120 /* seconds */

void
agent_set_reason(struct img *im, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(im->reason, sizeof(im->reason), fmt, ap);
	va_end(ap);
}

static void
img_free_data(struct img *im)
{
	free(im->raw);
	free(im->ids);
	free(im->lens);
	free(im->st);
	free(im->fails);
	im->raw = NULL;
	im->ids = NULL;
	im->lens = NULL;
	im->st = NULL;
	im->fails = NULL;
	im->n = im->have = im->cursor = 0;
}

static long
find_id(const struct img *im, const uint8_t id[32])
{
	size_t lo = 0, hi = im->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(im->ids[mid], id, 32);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void
agent_mark(struct agent *a, const uint8_t id[32], int st)
{
	size_t i;
	long k;

	for (i = 0; i < a->nimgs; i++) {
		struct img *im = &a->imgs[i];

		if (im->ids == NULL || (k = find_id(im, id)) < 0)
			continue;
		if (im->st[k] == CH_HAVE)
			continue; /* present stays present */
		if (st == CH_HAVE) {
			im->have++;
			im->done += im->lens[k];
		}
		im->st[k] = (uint8_t)st;
		if (st == CH_MISSING && (size_t)k < im->cursor)
			im->cursor = (size_t)k;
	}
}

void
agent_chunk_bad(struct agent *a, const uint8_t id[32], const char *src,
        const char *why)
{
	char hex[65];
	size_t i;
	long k;

	hash_hex(id, 32, hex);
	for (i = 0; i < a->nimgs; i++) {
		struct img *im = &a->imgs[i];

		if (im->ids == NULL || (k = find_id(im, id)) < 0)
			continue;
		if (im->fails[k] < 255)
			im->fails[k]++;
		if (im->fails[k] >= AGENT_MAX_FAILS)
			agent_image_failed(a, im,
			        "chunk %s failed verification %d times from %s "
			        "(%s)",
			        hex, (int)im->fails[k], src, why);
	}
}

void
agent_image_failed(struct agent *a, struct img *im, const char *fmt, ...)
{
	va_list ap;

	if (im->state == IMG_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(im->reason, sizeof(im->reason), fmt, ap);
	va_end(ap);
	im->state = IMG_FAILED;
	log_warnx("%s@%" PRIu32 " failed: %s", im->name, im->version,
	        im->reason);
	a->dirty = 1;
}

struct img *
agent_find(struct agent *a, const char *name, uint32_t version)
{
	size_t i;

	for (i = 0; i < a->nimgs; i++)
		if (a->imgs[i].version == version &&
		        strcmp(a->imgs[i].name, name) == 0)
			return &a->imgs[i];
	return NULL;
}

static void window_now(struct agent *a);

/* --- sources ---------------------------------------------------------- */

/* Does node n (catalog entry) list name@version as complete? */
static int
node_has(json_t *n, const struct img *im)
{
	char ref[MANIFEST_NAME_MAX + 16];
	json_t *v;
	size_t i;

	snprintf(ref, sizeof(ref), "%s@%" PRIu32, im->name, im->version);
	json_array_foreach(json_object_get(n, "images"), i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), ref) == 0)
			return 1;
	}
	return 0;
}

/* Choose im's source from the catalog; "" means wait for the parent. */
static void
choose_source(struct agent *a, struct img *im)
{
	const char *url = NULL, *u, *site;
	time_t now = time(NULL);
	int healthy = 0;
	json_t *n;
	size_t i;

	if (a->parent[0] != '\0') {
		json_array_foreach(a->nodes, i, n)
		{
			site = json_string_value(json_object_get(n, "site"));
			u = json_string_value(json_object_get(n, "url"));
			if (site == NULL || strcmp(site, a->parent) != 0 ||
			        u == NULL || u[0] == '\0' ||
			        !json_is_true(json_object_get(n, "healthy")))
				continue;
			if (a->bad_until > now && strcmp(u, a->bad_src) == 0)
				continue;
			healthy++;
			if (url == NULL && node_has(n, im))
				url = u;
		}
	}
	if (url != NULL) {
		snprintf(im->src, sizeof(im->src), "%s", url);
		im->from_parent = 1;
	} else if (healthy > 0) {
		im->src[0] = '\0';
		im->from_parent = 1;
		if (im->state == IMG_PENDING || im->state == IMG_DOWNLOADING)
			agent_set_reason(im,
			        "waiting for parent site %s to complete it",
			        a->parent);
	} else {
		snprintf(im->src, sizeof(im->src), "%s",
		        a->d->conf.primary_url);
		im->from_parent = 0;
	}
}

void
agent_source_failed(struct agent *a, const char *src)
{
	size_t i;

	if (strcmp(src, a->d->conf.primary_url) == 0) {
		/* Back off a little; the primary is the last resort. */
		a->hold_until = time(NULL) + 5;
		snprintf(a->hold_why, sizeof(a->hold_why),
		        "cannot reach %s; retrying", src);
		return;
	}
	if (++a->src_fails < SRC_FAILS_MAX)
		return;
	log_warnx("parent node %s keeps failing: resting it for %d s", src,
	        SRC_REST);
	snprintf(a->bad_src, sizeof(a->bad_src), "%s", src);
	a->bad_until = time(NULL) + SRC_REST;
	a->src_fails = 0;
	for (i = 0; i < a->nimgs; i++)
		if (a->imgs[i].state != IMG_COMPLETED)
			choose_source(a, &a->imgs[i]);
}

/* --- catalog ---------------------------------------------------------- */

/* Check "ed25519 KEYID BASE64" over body with the primary's key. */
static int
catalog_verify(struct agent *a, const char *body, size_t len, const char *hdr,
        char *why, size_t whylen)
{
	uint8_t h[32], sig[SIGN_SIG_LEN + 3];
	char kid[17], want[17], b64[120];
	int n;

	if (sscanf(hdr, "ed25519 %16s %119s", kid, b64) != 2)
		return bl_why(why, whylen, BL_ESIG,
		        "no valid Branchline-Signature header");
	(void)hash_sha256(a->d->pub, 32, h);
	hash_hex(h, 8, want);
	if (strcmp(kid, want) != 0)
		return bl_why(why, whylen, BL_ESIG,
		        "signed by key %s, expected %s", kid, want);
	if (strlen(b64) != 88 ||
	        (n = EVP_DecodeBlock(sig, (const unsigned char *)b64, 88)) !=
	                66)
		return bl_why(why, whylen, BL_ESIG, "malformed signature");
	(void)n;
	if (sign_verify(a->d->pub, (const uint8_t *)body, len, sig) != 0)
		return bl_why(why, whylen, BL_ESIG,
		        "the signature does not verify");
	return 0;
}

static int
parse_images(json_t *arr, struct img **out, size_t *nout, char *why,
        size_t whylen)
{
	struct img *v;
	json_t *it;
	size_t i;

	if ((v = calloc(json_array_size(arr) + 1, sizeof(*v))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	json_array_foreach(arr, i, it)
	{
		const char *name = json_string_value(json_object_get(it, "name"));
		const char *mid =
		        json_string_value(json_object_get(it, "manifest"));
		json_int_t ver = json_integer_value(json_object_get(it, "version"));
		json_int_t size = json_integer_value(json_object_get(it, "size"));

		if (name == NULL || !manifest_name_valid(name) || mid == NULL ||
		        strlen(mid) != 64 || hash_unhex(mid, v[i].mid, 32) != 0 ||
		        ver < 1 || ver > UINT32_MAX || size < 0) {
			free(v);
			return bl_why(why, whylen, BL_EFORMAT,
			        "images[%zu]: needs name, version, manifest, "
			        "size",
			        i);
		}
		snprintf(v[i].name, sizeof(v[i].name), "%s", name);
		v[i].version = (uint32_t)ver;
		hash_hex(v[i].mid, 32, v[i].midhex);
		v[i].size = (uint64_t)size;
	}
	*out = v;
	*nout = json_array_size(arr);
	return 0;
}

static void
apply_catalog(struct agent *a, json_t *c)
{
	struct img *nv = NULL;
	struct sched_window *w = NULL;
	const char *wins = json_string_value(json_object_get(c, "windows"));
	const char *tz = json_string_value(json_object_get(c, "time_zone"));
	char why[300];
	json_t *s;
	size_t i, n = 0, nw = 0, dropped = 0;

	if (parse_images(json_object_get(c, "images"), &nv, &n, why,
	            sizeof(why)) != 0 ||
	        sched_parse(wins ? wins : "", &w, &nw, why, sizeof(why)) != 0) {
		log_warnx("catalog: %s; keeping the previous one", why);
		free(nv);
		return;
	}
	free(a->win);
	a->win = w;
	a->nwin = nw;
	snprintf(a->tz, sizeof(a->tz), "%s", tz ? tz : "UTC");
	a->trickle_bps = (uint64_t)json_integer_value(
	        json_object_get(c, "trickle_bps"));
	a->repnow_until = json_integer_value(
	        json_object_get(c, "replicate_now_until"));
	a->heartbeat = (int)json_integer_value(json_object_get(c, "heartbeat"));
	if (a->heartbeat < 1 || a->heartbeat > 3600)
		a->heartbeat = 30;
	a->parent[0] = '\0';
	json_array_foreach(json_object_get(c, "sites"), i, s)
	{
		const char *name = json_string_value(json_object_get(s, "name"));
		const char *par = json_string_value(json_object_get(s, "parent"));

		if (name != NULL && par != NULL &&
		        strcmp(name, a->d->site) == 0)
			snprintf(a->parent, sizeof(a->parent), "%s", par);
	}
	json_decref(a->nodes);
	a->nodes = json_incref(json_object_get(c, "nodes"));
	if (!json_is_array(a->nodes)) {
		json_decref(a->nodes);
		a->nodes = json_array();
	}
	dist_set_allowed(a->d, a->nodes);
	dist_boot_changed(a->d, c);
	/* Keep the state of images that stay; drop the others. */
	for (i = 0; i < n; i++) {
		struct img *old = agent_find(a, nv[i].name, nv[i].version);

		if (old != NULL && memcmp(old->mid, nv[i].mid, 32) == 0) {
			nv[i] = *old;
			memset(old, 0, sizeof(*old)); /* moved */
			if (nv[i].state == IMG_FAILED) {
				nv[i].state = nv[i].raw ? IMG_DOWNLOADING
				                        : IMG_PENDING;
				nv[i].reason[0] = '\0';
				if (nv[i].fails != NULL)
					memset(nv[i].fails, 0, nv[i].n);
			}
		}
	}
	for (i = 0; i < a->nimgs; i++) {
		if (a->imgs[i].state == IMG_DOWNLOADING)
			dropped++;
		img_free_data(&a->imgs[i]);
	}
	free(a->imgs);
	a->imgs = nv;
	a->nimgs = n;
	if (dropped > 0 && a->nbatches == 0) {
		/* Their chunks may go at the next gc; ours get pinned again
		 * as they arrive. */
		(void)store_repl_release(a->s);
		for (i = 0; i < n; i++)
			if (a->imgs[i].state == IMG_DOWNLOADING) {
				img_free_data(&a->imgs[i]);
				a->imgs[i].state = IMG_PENDING;
			}
	}
	for (i = 0; i < n; i++) {
		struct img *im = &a->imgs[i];
		struct store_version v;

		if (im->state == IMG_PENDING &&
		        store_lookup(a->s, im->name, im->version, &v, NULL, NULL,
		                why, sizeof(why)) == 0 &&
		        memcmp(v.im.manifest_id, im->mid, 32) == 0) {
			im->state = IMG_COMPLETED;
			im->done = im->total = im->size;
		}
		if (im->state != IMG_COMPLETED)
			choose_source(a, im);
	}
	a->have_catalog = 1;
	a->dirty = 1;
	a->hold_until = 0; /* new windows or replicate-now: ask again */
	window_now(a);
	log_info("catalog generation %" PRIu64 ": %zu images, windows '%s' "
	         "(%s)%s%s",
	        a->gen, n, wins && wins[0] ? wins : "always", a->tz,
	        a->parent[0] ? ", parent site " : "", a->parent);
}

void
agent_catalog_done(struct agent *a, long status, const char *body, size_t len,
        const char *etag, const char *sig)
{
	char why[300];
	json_error_t je;
	json_t *c;
	const char *site;
	uint64_t gen;

	if (status == 304) {
		a->cat_next = 0;
		a->cat_fails = 0;
		dist_catalog_ok(a->d);
		return;
	}
	if (status != 200 || body == NULL) {
		int back = 1 << (a->cat_fails < 5 ? a->cat_fails : 5);

		a->cat_fails++;
		a->cat_next = time(NULL) + back;
		if (status != 0)
			log_warnx("catalog: HTTP %ld: %.200s", status,
			        body ? body : "");
		return;
	}
	a->cat_fails = 0;
	a->cat_next = 0;
	if (catalog_verify(a, body, len, sig, why, sizeof(why)) != 0) {
		log_warnx("catalog rejected: %s", why);
		a->cat_next = time(NULL) + 30;
		return;
	}
	if ((c = json_loadb(body, len, 0, &je)) == NULL) {
		log_warnx("catalog rejected: %s", je.text);
		a->cat_next = time(NULL) + 30;
		return;
	}
	site = json_string_value(json_object_get(c, "site"));
	gen = (uint64_t)json_integer_value(json_object_get(c, "generation"));
	if (json_integer_value(json_object_get(c, "format")) != 1 ||
	        site == NULL || strcmp(site, a->d->site) != 0) {
		log_warnx("catalog rejected: not a format-1 catalog of site %s",
		        a->d->site);
		a->cat_next = time(NULL) + 30;
	} else if (gen < a->gen) {
		log_warnx("catalog rejected: generation %" PRIu64
		          " is older than %" PRIu64,
		        gen, a->gen);
		a->cat_next = time(NULL) + 30;
	} else {
		a->gen = gen;
		snprintf(a->etag, sizeof(a->etag), "%s", etag);
		apply_catalog(a, c);
		dist_catalog_ok(a->d);
	}
	json_decref(c);
}

/* --- manifests -------------------------------------------------------- */

/* Distinct chunks of m with their lengths, into im. */
static int
img_chunks(struct img *im, const struct manifest *m)
{
	size_t i;

	if (store_unique_chunks(m, &im->ids, &im->lens, &im->n) != 0)
		return -ENOMEM;
	im->st = calloc(im->n ? im->n : 1, 1);
	im->fails = calloc(im->n ? im->n : 1, 1);
	if (im->st == NULL || im->fails == NULL)
		return -ENOMEM;
	im->total = 0;
	for (i = 0; i < im->n; i++)
		im->total += im->lens[i];
	return 0;
}

/* Every chunk present: publish.  Then the image can be served. */
static void
img_publish(struct agent *a, struct img *im)
{
	char why[300];
	int rc;

	rc = store_publish(a->s, im->name, im->version, im->raw, im->rawlen, why,
	        sizeof(why));
	if (rc == BL_EMISSING) {
		log_warnx("%s; checking the index again", why);
		im->have = 0;
		im->done = 0;
		memset(im->st, CH_MISSING, im->n);
		im->cursor = 0;
		return;
	}
	if (rc == -ENOSPC) {
		a->disk_until = time(NULL) + 30;
		snprintf(a->disk_why, sizeof(a->disk_why),
		        "paused: the disk is full (%s)", why);
		return;
	}
	if (rc != 0) {
		agent_image_failed(a, im, "%s", why);
		return;
	}
	im->state = IMG_COMPLETED;
	im->reason[0] = '\0';
	dist_boot_changed(a->d, NULL); /* its boot files can be served */
	log_info("%s@%" PRIu32 " complete: %zu chunks, %" PRIu64
	         " bytes, in %lld s",
	        im->name, im->version, im->n, im->total,
	        (long long)(time(NULL) - im->started));
	img_free_data(im);
	im->done = im->total = im->size;
	a->dirty = 1;
}

void
agent_manifest_done(
        struct agent *a, struct img *im, const uint8_t *raw, size_t len)
{
	struct manifest *m = NULL;
	uint8_t id[32];
	char why[300];
	size_t nwant;

	if (manifest_id(raw, len, id) != 0 || memcmp(id, im->mid, 32) != 0) {
		log_warnx("manifest from %s rejected: its hash is not %s",
		        im->src, im->midhex);
		im->manifest_next = time(NULL) + 30;
		agent_set_reason(im, "manifest from %s rejected: its hash does "
		                     "not match the catalog",
		        im->src);
		a->dirty = 1;
		return;
	}
	if (manifest_verify(raw, len, a->d->pub, why, sizeof(why)) != 0 ||
	        manifest_decode(raw, len, &m, why, sizeof(why)) != 0) {
		agent_image_failed(a, im, "manifest rejected: %s", why);
		return;
	}
	if (strcmp(m->name, im->name) != 0 || m->version != im->version) {
		agent_image_failed(a, im, "manifest is %s@%" PRIu32, m->name,
		        m->version);
		manifest_free(m);
		return;
	}
	img_free_data(im);
	if (img_chunks(im, m) != 0 || (im->raw = malloc(len)) == NULL) {
		manifest_free(m);
		img_free_data(im);
		im->manifest_next = time(NULL) + 10;
		return;
	}
	manifest_free(m);
	memcpy(im->raw, raw, len);
	im->rawlen = len;
	if (store_missing(a->s, (const uint8_t(*)[32])im->ids, im->n, im->st,
	            &nwant) != 0) {
		img_free_data(im);
		im->manifest_next = time(NULL) + 10;
		return;
	}
	/* store_missing wrote 1 for missing: turn that into CH_* states. */
	im->done = 0;
	for (size_t i = 0; i < im->n; i++) {
		im->st[i] = im->st[i] ? CH_MISSING : CH_HAVE;
		if (im->st[i] == CH_HAVE)
			im->done += im->lens[i];
	}
	im->have = im->n - nwant;
	im->cursor = 0;
	im->state = IMG_DOWNLOADING;
	im->reason[0] = '\0';
	im->started = time(NULL);
	log_info("%s@%" PRIu32 ": %zu chunks, %zu to fetch from %s",
	        im->name, im->version, im->n, nwant, im->src);
	a->dirty = 1;
	if (nwant == 0)
		img_publish(a, im);
}

/* --- windows ---------------------------------------------------------- */

/* A cap in bits/s as a bucket's bytes/s: never 0, which means none. */
static int64_t
cap_rate(uint64_t bps)
{
	return bps >= 8 ? (int64_t)(bps / 8) : 1;
}

/* Set a->rate for now: bytes/s (0 unlimited) or -1 closed, and why. */
static void
window_now(struct agent *a)
{
	time_t now = time(NULL);
	uint64_t cap = 0;
	struct tm tm;
	int until = -1, in = 0, wday;

	a->window_why[0] = '\0';
	if (a->nwin == 0) {
		a->rate = 0;
		return;
	}
	if (tz_localtime(a->tz, now, &tm) == 0) {
		wday = (tm.tm_wday + 6) % 7;
		in = sched_lookup(a->win, a->nwin, wday,
		             tm.tm_hour * 60 + tm.tm_min, &cap, &until) == 1;
	} else
		in = 1; /* never lock a site out on a bad zone */
	if (in)
		a->rate = cap > 0 ? cap_rate(cap) : 0;
	else if (a->repnow_until > (int64_t)now)
		a->rate = 0;
	else if (a->trickle_bps > 0)
		a->rate = cap_rate(a->trickle_bps);
	else {
		a->rate = -1;
		if (until < 0)
			snprintf(a->window_why, sizeof(a->window_why),
			        "outside the replication windows");
		else
			snprintf(a->window_why, sizeof(a->window_why),
			        "outside the replication windows; the next "
			        "opens in %d min",
			        until);
	}
}

/* --- status ----------------------------------------------------------- */

static const char *
state_name(const struct agent *a, const struct img *im)
{
	switch (im->state) {
	case IMG_COMPLETED: return "completed";
	case IMG_FAILED: return "failed";
	case IMG_DOWNLOADING:
		if (a->disk_why[0] != '\0')
			return "paused";
		return a->rate < 0 ? "pending" : "downloading";
	default: return "pending";
	}
}

static uint64_t
rx_rate(const struct agent *a)
{
	uint64_t sum = 0;
	int i;

	/* The last four whole seconds. */
	for (i = 1; i <= 4; i++)
		sum += a->rx_hist[(a->rx_sec - (uint64_t)i) % 8];
	return sum / 4;
}

static json_t *
status_json(struct agent *a)
{
	json_t *imgs = json_array(), *o, *boot;
	char burl[300];
	struct store_usage u;
	uint64_t rate = rx_rate(a);
	size_t i;

	memset(&u, 0, sizeof(u));
	(void)store_usage(a->s, &u);
	for (i = 0; i < a->nimgs; i++) {
		struct img *im = &a->imgs[i];
		const char *st = state_name(a, im);
		const char *reason = im->reason;
		uint64_t left = im->total > im->done ? im->total - im->done : 0;
		int dl = strcmp(st, "downloading") == 0;

		if (strcmp(st, "paused") == 0)
			reason = a->disk_why;
		else if (im->state == IMG_DOWNLOADING && a->rate < 0)
			reason = a->window_why;
		else if (dl && a->hold_until > time(NULL))
			reason = a->hold_why;
		o = json_pack("{s:s,s:i,s:s,s:I,s:I,s:I,s:I,s:s,s:s}", "name",
		        im->name, "version", (int)im->version, "state", st,
		        "bytes", (json_int_t)im->done, "total",
		        (json_int_t)(im->total ? im->total : im->size),
		        "rate_bps", (json_int_t)(dl ? rate * 8 : 0), "eta_s",
		        (json_int_t)(dl && rate ? left / rate : 0), "reason",
		        reason, "source", im->src);
		json_array_append_new(imgs, o);
	}
	/* How clients reach our boot server, whether it is at its transfer
	 * limit, and where we sent clients: for referral. */
	boot = dist_boot_report(a->d);
	if (boot == NULL)
		boot = json_object();
	if (boot_conf_url(&a->d->conf.boot, a->d->conf.url, burl,
	            sizeof(burl)) == 0)
		json_object_set_new(boot, "url", json_string(burl));
	return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:{s:I,s:I},s:o,s:O,s:o}",
	        "version", BL_VERSION, "node_id", a->d->node_id, "site",
	        a->d->site, "url", a->d->conf.url, "updated",
	        (json_int_t)time(NULL), "generation", (json_int_t)a->gen,
	        "store", "bytes", (json_int_t)u.stored_bytes, "chunks",
	        (json_int_t)u.chunks, "images", imgs, "unassigned",
	        a->unassigned, "boot", boot);
}

/*
 * STATE/status.reserve: 64 KiB held back so that the status can still be
 * written when replication has filled the disk (an operator asks "why
 * did it stop?" exactly then).  Made when there is room; given up for a
 * status write that fails for want of space.
 */
#define RESERVE_BYTES (64u << 10)

static void
reserve_path(struct agent *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s.reserve", a->d->status);
}

void
agent_reserve(struct agent *a)
{
	char path[DIST_PATH_MAX + 16];
	static const uint8_t zero[RESERVE_BYTES];
	struct stat sb;

	reserve_path(a, path, sizeof(path));
	if (stat(path, &sb) == 0 && sb.st_size == (off_t)RESERVE_BYTES)
		return;
	if (fs_write_atomic(path, zero, sizeof(zero), 0600) != 0)
		(void)unlink(path);
}

static void
status_report(struct agent *a)
{
	json_t *o = status_json(a);
	char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc;

	json_decref(o);
	if (txt == NULL)
		return;
	rc = fs_write_atomic(a->d->status, txt, strlen(txt), 0644);
	if (rc == -ENOSPC || rc == -EDQUOT) {
		char path[DIST_PATH_MAX + 16];

		reserve_path(a, path, sizeof(path));
		if (unlink(path) == 0)
			rc = fs_write_atomic(
			        a->d->status, txt, strlen(txt), 0644);
	}
	if (rc != 0)
		log_warnx("%s: %s", a->d->status, bl_strerror(rc));
	if (!a->hb_busy)
		(void)fetch_status(a, txt); /* takes txt */
	else
		free(txt);
	a->hb_next = time(NULL) + a->heartbeat;
	a->dirty = 0;
}

/* --- gc of images no longer assigned ----------------------------------- */

static void
gc_unassigned(struct agent *a)
{
	struct store_version *v = NULL;
	struct store_gc_stats gs;
	time_t now = time(NULL);
	char ref[MANIFEST_NAME_MAX + 16], why[300];
	size_t n = 0, i, removed = 0;
	json_t *val, *keep = json_object();

	a->gc_next = now + (a->d->conf.gc_grace < 120
	                               ? (time_t)a->d->conf.gc_grace / 2 + 1
	                               : 60);
	if (!a->have_catalog || store_list(a->s, NULL, &v, &n) != 0) {
		json_decref(keep);
		return;
	}
	for (i = 0; i < n; i++) {
		json_int_t since;

		if (agent_find(a, v[i].name, v[i].version) != NULL)
			continue;
		snprintf(ref, sizeof(ref), "%s@%" PRIu32, v[i].name,
		        v[i].version);
		val = json_object_get(a->unassigned, ref);
		since = val ? json_integer_value(val) : (json_int_t)now;
		if (now - since < (json_int_t)a->d->conf.gc_grace) {
			json_object_set_new(keep, ref, json_integer(since));
			continue;
		}
		if (store_remove(a->s, v[i].name, v[i].version, why,
		            sizeof(why)) != 0) {
			log_warnx("removing %s: %s", ref, why);
			json_object_set_new(keep, ref, json_integer(since));
			continue;
		}
		log_info("removed %s: no longer assigned to site %s for %lld s",
		        ref, a->d->site, (long long)(now - since));
		dist_boot_changed(a->d, NULL);
		removed++;
	}
	free(v);
	if (json_object_size(keep) != json_object_size(a->unassigned) ||
	        removed > 0)
		a->dirty = 1;
	json_decref(a->unassigned);
	a->unassigned = keep;
	if (removed > 0 && a->nbatches == 0 && a->npend == 0) {
		if (store_gc(a->s, &gs, why, sizeof(why)) != 0)
			log_warnx("gc: %s", why);
		else
			log_info("gc: %" PRIu64 " chunks, %" PRIu64
			         " bytes freed",
			        gs.chunks_removed, gs.bytes_freed);
	}
}

/* --- the loop --------------------------------------------------------- */

static void
step(struct agent *a)
{
	time_t now = time(NULL);
	uint64_t ms = agent_now_ms();
	int want, open;
	size_t i;

	if (a->rx_sec != ms / 1000) {
		/* A new second: clear the slots we skipped. */
		uint64_t s = ms / 1000, k;

		for (k = a->rx_sec + 1; k <= s && k <= a->rx_sec + 8; k++)
			a->rx_hist[k % 8] = 0;
		a->rx_sec = s;
		window_now(a);
	}
	if (!a->cat_busy && now >= a->cat_next)
		(void)fetch_catalog(a);
	if (!a->have_catalog)
		return;
	open = a->rate >= 0 && now >= a->disk_until && now >= a->hold_until;
	a->closing = a->rate < 0;
	for (i = 0; i < a->nimgs; i++) {
		struct img *im = &a->imgs[i];

		if (im->state == IMG_PENDING && im->src[0] != '\0' &&
		        !im->manifest_busy && now >= im->manifest_next)
			(void)fetch_manifest(a, im);
	}
	if (a->npend > 0 &&
	        (a->pend_bytes >= AGENT_FLUSH_BYTES ||
	                ms - a->pend_since_ms >= AGENT_FLUSH_MS ||
	                a->nbatches == 0))
		fetch_flush(a);
	for (i = 0; i < a->nimgs; i++) {
		struct img *im = &a->imgs[i];

		if (im->state == IMG_DOWNLOADING && im->have == im->n &&
		        now >= a->disk_until)
			img_publish(a, im);
	}
	want = (int)a->d->conf.connections;
	if (a->rate > 0 && want > 2)
		want = 2; /* a cap needs no more, and fewer streams burst less */
	while (open && a->nbatches < want && fetch_batch(a) > 0)
		;
	{
		/* The boot server reaching or leaving its transfer limit
		 * matters to referral at once. */
		json_t *br = dist_boot_report(a->d);
		int busy = json_is_true(json_object_get(br, "busy"));

		json_decref(br);
		if (busy != a->boot_busy) {
			a->boot_busy = busy;
			a->dirty = 1;
		}
	}
	if (a->dirty && now >= a->hb_due) {
		a->hb_due = now + 2;
		status_report(a);
	} else if (now >= a->hb_next)
		status_report(a);
	if (now >= a->gc_next)
		gc_unassigned(a);
}

static void
load_unassigned(struct agent *a)
{
	json_t *o = json_load_file(a->d->status, 0, NULL);
	json_t *u = json_object_get(o, "unassigned");

	a->unassigned = json_is_object(u) ? json_deep_copy(u) : json_object();
	json_decref(o);
}

void *
agent_main(void *arg)
{
	struct dist *d = arg;
	struct agent a;
	size_t i;

	memset(&a, 0, sizeof(a));
	a.d = d;
	a.heartbeat = 30;
	a.last_refill_ms = agent_now_ms();
	a.s = d->st;
	if ((a.multi = curl_multi_init()) == NULL) {
		log_warnx("agent: cannot make a curl multi handle");
		return NULL;
	}
	curl_multi_setopt(a.multi, CURLMOPT_MAXCONNECTS, 32L);
	pthread_mutex_lock(&d->mu);
	d->wake = a.multi;
	pthread_mutex_unlock(&d->mu);
	load_unassigned(&a);
	agent_reserve(&a);
	a.gc_next = time(NULL) + 2;
	while (!dist_stopping(d)) {
		step(&a);
		fetch_run(&a, 200);
	}
	pthread_mutex_lock(&d->mu);
	d->wake = NULL;
	pthread_mutex_unlock(&d->mu);
	fetch_flush(&a); /* what was verified is kept */
	fetch_cleanup(&a);
	curl_multi_cleanup(a.multi);
	for (i = 0; i < a.nimgs; i++)
		img_free_data(&a.imgs[i]);
	free(a.imgs);
	free(a.win);
	json_decref(a.nodes);
	json_decref(a.unassigned);
	return NULL;
}

/*
 * referral.c - answers from the referral table (see referral.h): the
 * client's site, image ids, eligibility, the choice of targets and its
 * explanation.  Read-only after referral_build (referral_build.c), but
 * for the asking node's own state (referral_self, referral_confirmed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "referral_int.h"
#include "store.h"

/* qsort, which must not see a NULL base even for no elements. */
void
ref_sort(void *base, size_t n, size_t size,
        int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t
ref_fnv64(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int
referral_site_index(const struct referral *r, const char *name)
{
	size_t lo = 0, hi = r->nsites;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->sites[r->by_name[mid]].name, name);

		if (c == 0)
			return r->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
lookup4(const struct referral *r, uint32_t a_net)
{
	uint32_t a = ntohl(a_net);
	size_t lo = 0, hi = r->n4;

	while (lo < hi) { /* first range with lo4 > a */
		size_t mid = lo + (hi - lo) / 2;

		if (r->lo4[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || a > r->hi4[lo - 1])
		return -1;
	return r->site4[lo - 1];
}

static int
lookup6(const struct referral *r, const uint8_t addr[16])
{
	u128 a = 0;
	size_t lo = 0, hi = r->n6;
	int i;

	for (i = 0; i < 16; i++)
		a = (a << 8) | addr[i];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->lo6[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || a > r->hi6[lo - 1])
		return -1;
	return r->site6[lo - 1];
}

int
ref_cmp_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	if (na != nb)
		return na < nb ? -1 : 1;
	return na == 0 ? 0 : memcmp(a, b, na);
}

int
ref_cmp_rule(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = ref_cmp_bytes(x->c, x->nc, y->c, y->nc)) != 0)
		return c;
	if ((c = ref_cmp_bytes(x->r, x->nr, y->r, y->nr)) != 0)
		return c;
	return x->site < y->site ? -1 : x->site > y->site;
}

static int
find_rule(const struct referral *r, int kind, const uint8_t *c, size_t nc,
        const uint8_t *rm, size_t nr)
{
	size_t lo = 0, hi = r->nrules;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct rule *x = &r->rules[mid];
		int d = x->kind != kind ? (x->kind < kind ? -1 : 1)
		                        : ref_cmp_bytes(x->c, x->nc, c, nc);

		if (d == 0)
			d = ref_cmp_bytes(x->r, x->nr, rm, nr);
		if (d == 0) {
			/* the first of equal rules: the lowest site index */
			while (mid > 0 &&
			        ref_cmp_rule(&r->rules[mid - 1], x) == 0)
				mid--;
			return r->rules[mid].site;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
ref_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ref_image_id(const struct referral *r, const char *ref)
{
	char *const *p = r->nimgs == 0 ? NULL
	                               : bsearch(&ref, r->imgs, r->nimgs,
	                                         sizeof(*r->imgs), ref_cmp_str);

	if (p != NULL)
		return (int)(p - r->imgs);
	p = r->nximgs == 0 ? NULL
	                   : bsearch(&ref, r->ximgs, r->nximgs,
	                             sizeof(*r->ximgs), ref_cmp_str);
	return p == NULL ? -1 : (int)(r->nimgs + (size_t)(p - r->ximgs));
}

int
ref_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

static int
has_image(const struct rnode *n, int img)
{
	size_t lo = 0, hi = n->nimg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (n->img[mid] == img)
			return 1;
		if (n->img[mid] < img)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int
ref_cmp_latest(const void *a, const void *b)
{
	return strcmp(((const struct latest *)a)->name,
	        ((const struct latest *)b)->name);
}

/* --- lookups ------------------------------------------------------------- */

const char *
referral_by_name(enum ref_by by)
{
	switch (by) {
	case REF_BY_OPTION82:
		return "option 82";
	case REF_BY_GIADDR:
		return "giaddr";
	case REF_BY_CLIENT:
		return "client address";
	case REF_BY_IFACE:
		return "interface";
	case REF_BY_DEFAULT:
		return "own site";
	}
	return "?";
}

const char *
referral_verdict_name(enum ref_verdict v)
{
	static const char *const names[] = {"taken", "fallback", "tie lost",
	        "unhealthy", "stale", "busy", "no image", "no boot address",
	        "not needed"};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

int
referral_site(
        const struct referral *r, const struct ref_client *c, enum ref_by *by)
{
	static const uint8_t v4mapped[12] = {
	        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	enum ref_by dummy;
	int s = -1;

	if (by == NULL)
		by = &dummy;
	if (r->nrules > 0 && (c->circuit != NULL || c->remote != NULL)) {
		*by = REF_BY_OPTION82;
		if (c->circuit != NULL && c->remote != NULL &&
		        (s = find_rule(r, 0, c->circuit, c->ncircuit, c->remote,
		                 c->nremote)) >= 0)
			return s;
		if (c->circuit != NULL &&
		        (s = find_rule(
		                 r, 1, c->circuit, c->ncircuit, NULL, 0)) >= 0)
			return s;
		if (c->remote != NULL &&
		        (s = find_rule(r, 2, NULL, 0, c->remote, c->nremote)) >=
		                0)
			return s;
	}
	*by = REF_BY_GIADDR;
	if (c->giaddr != 0 && (s = lookup4(r, c->giaddr)) >= 0)
		return s;
	*by = REF_BY_CLIENT;
	if (c->has_addr6) {
		if (memcmp(c->addr6, v4mapped, 12) == 0) {
			uint32_t a;

			memcpy(&a, c->addr6 + 12, 4);
			if ((s = lookup4(r, a)) >= 0)
				return s;
		} else if ((s = lookup6(r, c->addr6)) >= 0)
			return s;
	} else if (c->ciaddr != 0 && (s = lookup4(r, c->ciaddr)) >= 0)
		return s;
	*by = REF_BY_IFACE;
	if (c->iface != 0 && (s = lookup4(r, c->iface)) >= 0)
		return s;
	*by = REF_BY_DEFAULT;
	return r->own;
}

size_t
referral_nsites(const struct referral *r)
{
	return r->nsites;
}

const char *
referral_site_name(const struct referral *r, int site)
{
	return site >= 0 && (size_t)site < r->nsites ? r->sites[site].name : "";
}

int
referral_image(const struct referral *r, const char *name, uint32_t version)
{
	char ref[MANIFEST_NAME_MAX + 16];

	if (version == 0) {
		struct latest key, *l;

		if (strlen(name) >= sizeof(key.name) || r->nlatest == 0)
			return -1;
		snprintf(key.name, sizeof(key.name), "%s", name);
		if ((l = bsearch(&key, r->latest, r->nlatest, sizeof(key),
		             ref_cmp_latest)) == NULL)
			return -1;
		version = l->version;
	}
	snprintf(ref, sizeof(ref), "%s@%" PRIu32, name, version);
	return ref_image_id(r, ref);
}

/* A ref referral_self takes: "name@version", version > 0. */
static int
self_ref_ok(const char *ref)
{
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t v;

	return ref != NULL &&
	        store_parse_ref(ref, name, sizeof(name), &v) == 0 && v > 0;
}

int
referral_self(struct referral *r, int busy, const char *const *images, size_t n)
{
	struct rnode *x;
	char **xi = NULL;
	int *img = NULL;
	size_t i, nx = 0, u;

	if (r->self < 0)
		return 0;
	x = &r->nodes[r->self];
	x->busy = busy;
	/* The refs the view does not know, with ids after its own.  Looked
	 * up in the view's table only: the old extras are replaced. */
	if (n > 0 &&
	        ((img = calloc(n, sizeof(*img))) == NULL ||
	                (xi = calloc(n, sizeof(*xi))) == NULL)) {
		free(img);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const char *ref = images[i];

		if (!self_ref_ok(ref) ||
		        (r->nimgs > 0 &&
		                bsearch(&ref, r->imgs, r->nimgs,
		                        sizeof(*r->imgs), ref_cmp_str) != NULL))
			continue;
		if ((xi[nx] = strdup(ref)) == NULL) {
			while (nx > 0)
				free(xi[--nx]);
			free(xi);
			free(img);
			return -ENOMEM;
		}
		nx++;
	}
	ref_sort(xi, nx, sizeof(*xi), ref_cmp_str);
	for (i = 0, u = 0; i < nx; i++) {
		if (u > 0 && strcmp(xi[u - 1], xi[i]) == 0)
			free(xi[i]);
		else
			xi[u++] = xi[i];
	}
	for (i = 0; i < r->nximgs; i++)
		free(r->ximgs[i]);
	free(r->ximgs);
	r->ximgs = xi;
	r->nximgs = u;
	free(x->img);
	x->img = img;
	x->nimg = 0;
	/* A malformed ref is in neither table: -1. */
	for (i = 0; i < n; i++) {
		int id = images[i] != NULL ? ref_image_id(r, images[i]) : -1;

		if (id >= 0)
			x->img[x->nimg++] = id;
	}
	ref_sort(x->img, x->nimg, sizeof(*x->img), ref_cmp_int);
	/* Duplicates in images: once each. */
	for (i = 0, u = 0; i < x->nimg; i++)
		if (u == 0 || x->img[u - 1] != x->img[i])
			x->img[u++] = x->img[i];
	x->nimg = u;
	return 0;
}

void
referral_confirmed(struct referral *r, time_t when)
{
	r->confirmed = when;
}

/* Why node i cannot serve image now, or REF_TAKEN if it can. */
static enum ref_verdict
eligible(const struct referral *r, int i, int image, time_t now)
{
	const struct rnode *x = &r->nodes[i];

	if (i != r->self) {
		if (!x->healthy)
			return REF_UNHEALTHY;
		if (now - r->confirmed > 3 * (time_t)r->heartbeat)
			return REF_STALE;
	}
	if (x->url[0] == '\0' && i != r->self)
		return REF_NO_URL;
	if (x->busy)
		return REF_BUSY;
	if (image < 0 || !has_image(x, image))
		return REF_NO_IMAGE;
	return REF_TAKEN;
}

int
referral_site_has_node(const struct referral *r, int site, time_t now)
{
	size_t i;

	if (site < 0 || (size_t)site >= r->nsites)
		return 0;
	for (i = 0; i < r->sites[site].nnodes; i++) {
		int n = (int)(r->sites[site].first_node + i);

		if (n == r->self ||
		        (r->nodes[n].healthy &&
		                now - r->confirmed <= 3 * (time_t)r->heartbeat))
			return 1;
	}
	return 0;
}

struct scored {
	int node;
	uint64_t score;
	size_t step; /* its trace slot, or SIZE_MAX */
};

static int
cmp_scored(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

static void
trace_add(struct ref_choice *out, size_t cap, int node, uint64_t key,
        enum ref_verdict v, size_t *slot)
{
	*slot = SIZE_MAX;
	if (out->trace == NULL || out->ntrace >= cap)
		return;
	*slot = out->ntrace;
	out->trace[out->ntrace].node = node;
	out->trace[out->ntrace].own = key == 0 && node != REF_PRIMARY;
	out->trace[out->ntrace].distance = key == 0 ? 0 : key - 1;
	out->trace[out->ntrace].verdict = v;
	out->ntrace++;
}

size_t
referral_choose(const struct referral *r, int site, int image,
        const struct ref_client *c, time_t now, struct ref_choice *out)
{
	struct scored tier[REF_CAND_MAX];
	const struct cand *cd;
	size_t cap = out->trace != NULL ? out->ntrace : 0, room, i, j, nc;
	uint64_t mh = ref_fnv64(c->mac, c->mac != NULL ? c->maclen : 0);
	int tracing = out->trace != NULL;

	out->n = 0;
	out->ntrace = 0;
	room = REF_TARGETS_MAX - (r->purl[0] != '\0' ? 1 : 0);
	if (site >= 0 && (size_t)site < r->nsites && r->cands != NULL) {
		cd = r->cands + r->sites[site].cand;
		nc = r->sites[site].ncand;
	} else {
		cd = NULL;
		nc = 0;
	}
	for (i = 0; i < nc;) {
		size_t ne = 0;
		uint64_t key = cd[i].key;
		int first = out->n == 0;

		if (!tracing && out->n >= room)
			break;
		/* One tier: the candidates at the same key. */
		for (j = i; j < nc && cd[j].key == key; j++) {
			enum ref_verdict v =
			        eligible(r, cd[j].node, image, now);
			size_t slot;

			if (v != REF_TAKEN) {
				trace_add(out, cap, cd[j].node, key, v, &slot);
				continue;
			}
			trace_add(
			        out, cap, cd[j].node, key, REF_FALLBACK, &slot);
			tier[ne].node = cd[j].node;
			tier[ne].score = mix64(mh ^ r->nodes[cd[j].node].hid);
			tier[ne].step = slot;
			ne++;
		}
		i = j;
		if (ne > 1)
			ref_sort(tier, ne, sizeof(*tier), cmp_scored);
		for (j = 0; j < ne; j++) {
			enum ref_verdict v;

			if (out->n >= room)
				v = REF_NOT_NEEDED;
			else {
				v = !first       ? REF_FALLBACK
				        : j == 0 ? REF_TAKEN
				                 : REF_TIE_LOST;
				out->target[out->n++] = tier[j].node;
			}
			if (tier[j].step != SIZE_MAX)
				out->trace[tier[j].step].verdict = v;
		}
	}
	if (r->purl[0] != '\0') {
		size_t slot;

		out->target[out->n++] = REF_PRIMARY;
		trace_add(out, cap, REF_PRIMARY, 0,
		        out->n == 1 ? REF_TAKEN : REF_FALLBACK, &slot);
		if (slot != SIZE_MAX)
			out->trace[slot].distance = 0;
	}
	return out->n;
}

const char *
referral_node_id(const struct referral *r, int node)
{
	if (node == REF_PRIMARY)
		return "primary";
	return node >= 0 && (size_t)node < r->nnodes ? r->nodes[node].id : "";
}

int
referral_node_site(const struct referral *r, int node)
{
	return node >= 0 && (size_t)node < r->nnodes ? r->nodes[node].site : -1;
}

const char *
referral_node_url(const struct referral *r, int node)
{
	if (node == REF_PRIMARY)
		return r->purl;
	return node >= 0 && (size_t)node < r->nnodes ? r->nodes[node].url : "";
}

uint32_t
referral_node_addr(const struct referral *r, int node)
{
	if (node == REF_PRIMARY)
		return r->paddr;
	return node >= 0 && (size_t)node < r->nnodes ? r->nodes[node].addr : 0;
}

size_t
referral_nnodes(const struct referral *r)
{
	return r->nnodes;
}

int
referral_self_index(const struct referral *r)
{
	return r->self;
}

json_t *
referral_explain(const struct referral *r, int site, enum ref_by by, int image,
        const struct ref_client *c, time_t now)
{
	struct ref_step steps[REF_CAND_MAX + 1];
	struct ref_choice ch;
	json_t *cands = json_array(), *targets = json_array();
	size_t i;

	memset(&ch, 0, sizeof(ch));
	ch.trace = steps;
	ch.ntrace = sizeof(steps) / sizeof(steps[0]);
	(void)referral_choose(r, site, image, c, now, &ch);
	for (i = 0; i < ch.ntrace; i++) {
		int n = steps[i].node;

		json_array_append_new(cands,
		        json_pack("{s:s,s:s,s:I,s:b,s:s,s:s}", "node",
		                referral_node_id(r, n), "site",
		                n == REF_PRIMARY
		                        ? ""
		                        : referral_site_name(
		                                  r, referral_node_site(r, n)),
		                "distance", (json_int_t)steps[i].distance,
		                "own", steps[i].own, "verdict",
		                referral_verdict_name(steps[i].verdict), "url",
		                referral_node_url(r, n)));
	}
	for (i = 0; i < ch.n; i++)
		json_array_append_new(targets,
		        json_string(referral_node_id(r, ch.target[i])));
	return json_pack("{s:s,s:s,s:o,s:o}", "site",
	        referral_site_name(r, site), "by", referral_by_name(by),
	        "candidates", cands, "targets", targets);
}

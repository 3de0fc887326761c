/*
 * referral_build.c - the referral table from a view (see referral.h):
 * every field of the view checked, then laid out for referral.c's
 * read-only lookups:
 *  - subnets flattened into disjoint ranges, each owned by the most
 *    specific prefix covering it (one sweep over the prefixes sorted by
 *    start, widest first, with a stack of the prefixes still open);
 *  - option 82 rules sorted by (kind, circuit, remote) for bsearch;
 *  - per site, its nearest candidate nodes sorted by (own site first,
 *    WAN cost along the tree), at most REF_CAND_MAX, found by a
 *    best-first walk of the tree from the site;
 *  - image refs interned; each node keeps the sorted ids it holds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "referral_int.h"
#include "store.h"

/* A view's string, printable, for an error message. */
static const char *
q(const char *v, char out[BL_QUOTE_MAX])
{
	bl_quote((const uint8_t *)v, strlen(v), out);
	return out;
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Sites sorted by name: (name, index) pairs (qsort has no context). */
struct name_idx {
	const char *name;
	int i;
};

static int
cmp_name_idx(const void *a, const void *b)
{
	return strcmp(((const struct name_idx *)a)->name,
	        ((const struct name_idx *)b)->name);
}

/* "http://host[:port]" or https: the URL without a trailing '/', and the
 * host's IPv4 address when it is a literal one. */
static int
parse_url(const char *s, char *url, uint32_t *addr)
{
	const char *h;
	char host[REF_URL_MAX];
	size_t i, n = strlen(s), hl;

	*addr = 0;
	url[0] = '\0';
	if (n == 0)
		return 0;
	if (n >= REF_URL_MAX)
		return -1;
	if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == '"' ||
		        s[i] == '\\' || (unsigned char)s[i] >= 0x80)
			return -1;
	memcpy(url, s, n + 1);
	if (url[n - 1] == '/')
		url[n - 1] = '\0';
	hl = strcspn(h, ":/");
	if (hl == 0 || h[0] == '[')
		return h[0] == '[' ? 0 : -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, addr) != 1)
		*addr = 0;
	return 0;
}

/* --- subnets ------------------------------------------------------------- */

struct pfx {
	u128 lo, hi;
	int plen, site;
};

static int
cmp_pfx(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return x->site < y->site ? -1 : x->site > y->site;
}

struct ranges {
	u128 *lo, *hi;
	int *site;
	size_t n, cap;
};

static int
emit(struct ranges *o, u128 lo, u128 hi, int site)
{
	if (o->n > 0 && o->site[o->n - 1] == site &&
	        o->hi[o->n - 1] + 1 == lo) {
		o->hi[o->n - 1] = hi;
		return 0;
	}
	if (o->n == o->cap) {
		size_t nc = o->cap ? 2 * o->cap : 64;
		u128 *a = realloc(o->lo, nc * sizeof(*a)), *b;
		int *c;

		if (a == NULL)
			return -ENOMEM;
		o->lo = a;
		if ((b = realloc(o->hi, nc * sizeof(*b))) == NULL)
			return -ENOMEM;
		o->hi = b;
		if ((c = realloc(o->site, nc * sizeof(*c))) == NULL)
			return -ENOMEM;
		o->site = c;
		o->cap = nc;
	}
	o->lo[o->n] = lo;
	o->hi[o->n] = hi;
	o->site[o->n] = site;
	o->n++;
	return 0;
}

/* Flatten p[0..n) (sorted by cmp_pfx) into disjoint ranges, the most
 * specific prefix owning each address. */
static int
flatten(const struct pfx *p, size_t n, struct ranges *o)
{
	const struct pfx **st;
	size_t sp = 0, i;
	u128 cur = 0;
	int done = 0, rc = 0;

	if (n == 0)
		return 0;
	/* Nesting is at most 129 deep, or n when a view repeats a prefix. */
	if ((st = calloc(n, sizeof(*st))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n && rc == 0; i++) {
		while (sp > 0 && st[sp - 1]->hi < p[i].lo && rc == 0) {
			if (!done && cur <= st[sp - 1]->hi)
				rc = emit(o, cur, st[sp - 1]->hi,
				        st[sp - 1]->site);
			cur = st[sp - 1]->hi + 1;
			sp--;
		}
		if (rc != 0)
			break;
		if (sp > 0 && cur < p[i].lo)
			rc = emit(o, cur, p[i].lo - 1, st[sp - 1]->site);
		cur = p[i].lo;
		st[sp++] = &p[i];
	}
	while (sp > 0 && rc == 0) {
		if (!done && cur <= st[sp - 1]->hi)
			rc = emit(o, cur, st[sp - 1]->hi, st[sp - 1]->site);
		if (st[sp - 1]->hi == U128_MAX)
			done = 1;
		cur = st[sp - 1]->hi + 1;
		sp--;
	}
	free(st);
	return rc;
}

static int
add_subnets(struct referral *r, json_t *subs, int site, struct pfx **v4,
        size_t *n4, struct pfx **v6, size_t *n6, size_t *total, char *why,
        size_t whylen)
{
	json_t *it;
	size_t k;

	if (subs == NULL)
		return 0;
	if (!json_is_array(subs))
		return bl_why(why, whylen, BL_EFORMAT,
		        "sites[%d].subnets: not an array", site);
	json_array_foreach(subs, k, it)
	{
		struct cidr c;
		struct pfx *pp, **arr;
		size_t *cnt;
		char w[128];
		u128 v = 0, m;
		int i, bits;

		if (!json_is_string(it) ||
		        cidr_parse(json_string_value(it), &c, w, sizeof(w)) !=
		                0)
			return bl_why(why, whylen, BL_EFORMAT,
			        "sites[%d].subnets[%zu]: %s", site, k,
			        json_is_string(it) ? w : "not a string");
		if (++*total > REF_SUBNETS_MAX)
			return bl_why(why, whylen, BL_ETOOBIG,
			        "more than %u subnets", REF_SUBNETS_MAX);
		bits = c.family == AF_INET ? 32 : 128;
		for (i = 0; i < bits / 8; i++)
			v = (v << 8) | c.addr[i];
		m = c.prefix == 0 ? 0 : (U128_MAX << (bits - c.prefix));
		if (bits == 32)
			m &= 0xffffffffu;
		arr = c.family == AF_INET ? v4 : v6;
		cnt = c.family == AF_INET ? n4 : n6;
		if ((pp = realloc(*arr, (*cnt + 1) * sizeof(*pp))) == NULL)
			return -ENOMEM;
		*arr = pp;
		pp[*cnt].lo = v & m;
		pp[*cnt].hi = bits == 32 ? ((v & m) | (~m & 0xffffffffu))
		                         : ((v & m) | ~m);
		pp[*cnt].plen = c.prefix;
		pp[*cnt].site = site;
		(*cnt)++;
	}
	(void)r;
	return 0;
}

static int
build_ranges(struct referral *r, struct pfx *v4, size_t n4, struct pfx *v6,
        size_t n6)
{
	struct ranges a = {0}, b = {0};
	size_t i;
	int rc;

	ref_sort(v4, n4, sizeof(*v4), cmp_pfx);
	ref_sort(v6, n6, sizeof(*v6), cmp_pfx);
	if ((rc = flatten(v4, n4, &a)) != 0 || (rc = flatten(v6, n6, &b)) != 0)
		goto out;
	if (a.n > 0 &&
	        ((r->lo4 = malloc(a.n * sizeof(*r->lo4))) == NULL ||
	                (r->hi4 = malloc(a.n * sizeof(*r->hi4))) == NULL)) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < a.n; i++) {
		r->lo4[i] = (uint32_t)a.lo[i];
		r->hi4[i] = (uint32_t)a.hi[i];
	}
	r->site4 = a.site;
	a.site = NULL;
	r->n4 = a.n;
	r->lo6 = b.lo;
	r->hi6 = b.hi;
	r->site6 = b.site;
	r->n6 = b.n;
	b.lo = b.hi = NULL;
	b.site = NULL;
out:
	free(a.lo);
	free(a.hi);
	free(a.site);
	free(b.lo);
	free(b.hi);
	free(b.site);
	return rc;
}

static int
add_rules(struct referral *r, json_t *rules, int site, char *why, size_t whylen)
{
	json_t *it;
	size_t k;

	if (rules == NULL)
		return 0;
	if (!json_is_array(rules) || json_array_size(rules) > SITE_OPT82_MAX)
		return bl_why(why, whylen, BL_EFORMAT,
		        "sites[%d].option82: not an array of at most %d rules",
		        site, SITE_OPT82_MAX);
	json_array_foreach(rules, k, it)
	{
		struct rule *nr, *x;
		const char *c = jstr(it, "circuit_id"),
		           *rm = jstr(it, "remote_id");
		char w[128];

		if (!json_is_object(it) || (c == NULL && rm == NULL) ||
		        (c == NULL && json_object_get(it, "circuit_id")) ||
		        (rm == NULL && json_object_get(it, "remote_id")))
			return bl_why(why, whylen, BL_EFORMAT,
			        "sites[%d].option82[%zu]: needs circuit_id or "
			        "remote_id, as strings",
			        site, k);
		if ((nr = realloc(r->rules, (r->nrules + 1) * sizeof(*nr))) ==
		        NULL)
			return -ENOMEM;
		r->rules = nr;
		x = &nr[r->nrules];
		memset(x, 0, sizeof(*x));
		x->site = site;
		if ((c != NULL &&
		            site_opt82_parse(c, x->c, &x->nc, w, sizeof(w)) !=
		                    0) ||
		        (rm != NULL &&
		                site_opt82_parse(
		                        rm, x->r, &x->nr, w, sizeof(w)) != 0))
			return bl_why(why, whylen, BL_EFORMAT,
			        "sites[%d].option82[%zu]: %s", site, k, w);
		x->kind = c != NULL && rm != NULL ? 0 : c != NULL ? 1 : 2;
		r->nrules++;
	}
	return 0;
}

/* Every node's image refs, checked and interned. */
static int
intern_images(struct referral *r, json_t *nodes, char *why, size_t whylen)
{
	json_t *n, *it;
	size_t i, k, total = 0, u;
	char **all;

	json_array_foreach(nodes, i, n)
	{
		json_t *a = json_object_get(n, "images");

		if (a == NULL)
			continue;
		if (!json_is_array(a) || json_array_size(a) > REF_IMAGES_MAX)
			return bl_why(why, whylen, BL_EFORMAT,
			        "nodes[%zu].images: not an array of at most %d",
			        i, REF_IMAGES_MAX);
		json_array_foreach(a, k, it)
		{
			char name[MANIFEST_NAME_MAX + 1];
			uint32_t v;

			if (!json_is_string(it) ||
			        store_parse_ref(json_string_value(it), name,
			                sizeof(name), &v) != 0 ||
			        v == 0)
				return bl_why(why, whylen, BL_EFORMAT,
				        "nodes[%zu].images[%zu]: not "
				        "NAME@VERSION",
				        i, k);
			total++;
		}
	}
	if (total == 0)
		return 0;
	if ((all = calloc(total, sizeof(*all))) == NULL)
		return -ENOMEM;
	total = 0;
	json_array_foreach(nodes, i, n)
	        json_array_foreach(json_object_get(n, "images"), k, it)
	                all[total++] = (char *)json_string_value(it);
	ref_sort(all, total, sizeof(*all), ref_cmp_str);
	for (i = 0, u = 0; i < total; i++)
		if (u == 0 || strcmp(all[u - 1], all[i]) != 0)
			all[u++] = all[i];
	r->imgs = all;
	r->nimgs = u;
	for (i = 0; i < u; i++)
		if ((r->imgs[i] = strdup(all[i])) == NULL) {
			r->nimgs = i;
			return -ENOMEM;
		}
	return 0;
}

/* --- building ------------------------------------------------------------ */

static int
build_sites(struct referral *r, json_t *sites, char *why, size_t whylen)
{
	struct pfx *v4 = NULL, *v6 = NULL;
	struct name_idx *ni;
	size_t n4 = 0, n6 = 0, total = 0, i;
	json_t *s;
	int rc = 0;

	if (!json_is_array(sites))
		return bl_why(why, whylen, BL_EFORMAT, "sites: not an array");
	if (json_array_size(sites) > REF_SITES_MAX)
		return bl_why(why, whylen, BL_ETOOBIG, "more than %d sites",
		        REF_SITES_MAX);
	r->nsites = json_array_size(sites);
	if (r->nsites == 0)
		return 0;
	if ((r->sites = calloc(r->nsites, sizeof(*r->sites))) == NULL ||
	        (r->by_name = calloc(r->nsites, sizeof(*r->by_name))) == NULL ||
	        (ni = calloc(r->nsites, sizeof(*ni))) == NULL)
		return -ENOMEM;
	json_array_foreach(sites, i, s)
	{
		const char *name = jstr(s, "name");
		json_t *cost = json_object_get(s, "wan_cost");

		if (name == NULL || !site_name_valid(name)) {
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "sites[%zu].name: missing or invalid", i);
			goto out;
		}
		if (cost != NULL &&
		        (!json_is_integer(cost) ||
		                json_integer_value(cost) < 0 ||
		                json_integer_value(cost) > SITE_WAN_COST_MAX)) {
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "sites[%zu].wan_cost: not 0..%d", i,
			        SITE_WAN_COST_MAX);
			goto out;
		}
		snprintf(
		        r->sites[i].name, sizeof(r->sites[i].name), "%s", name);
		r->sites[i].wan_cost = (uint32_t)json_integer_value(cost);
		r->sites[i].parent = -1;
		ni[i].name = r->sites[i].name;
		ni[i].i = (int)i;
	}
	ref_sort(ni, r->nsites, sizeof(*ni), cmp_name_idx);
	for (i = 0; i < r->nsites; i++) {
		if (i > 0 && strcmp(ni[i - 1].name, ni[i].name) == 0) {
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "sites: '%s' twice", ni[i].name);
			goto out;
		}
		r->by_name[i] = ni[i].i;
	}
	json_array_foreach(sites, i, s)
	{
		const char *par = jstr(s, "parent");
		int p;

		if (par == NULL && json_object_get(s, "parent") != NULL) {
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "sites[%zu].parent: not a string", i);
			goto out;
		}
		if (par != NULL && par[0] != '\0') {
			if ((p = referral_site_index(r, par)) < 0) {
				char qb[BL_QUOTE_MAX];

				rc = bl_why(why, whylen, BL_EFORMAT,
				        "sites[%zu].parent: no site '%s'", i,
				        q(par, qb));
				goto out;
			}
			r->sites[i].parent = p;
		}
		if ((rc = add_subnets(r, json_object_get(s, "subnets"), (int)i,
		             &v4, &n4, &v6, &n6, &total, why, whylen)) != 0 ||
		        (rc = add_rules(r, json_object_get(s, "option82"),
		                 (int)i, why, whylen)) != 0)
			goto out;
	}
	/* No cycles: every walk up ends within nsites steps. */
	for (i = 0; i < r->nsites; i++) {
		int p = (int)i;
		size_t steps = 0;

		while (p >= 0 && steps++ <= r->nsites)
			p = r->sites[p].parent;
		if (p >= 0) {
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "sites: '%s' is its own ancestor",
			        r->sites[i].name);
			goto out;
		}
	}
	ref_sort(r->rules, r->nrules, sizeof(*r->rules), ref_cmp_rule);
	rc = build_ranges(r, v4, n4, v6, n6);
out:
	free(ni);
	free(v4);
	free(v6);
	return rc;
}

static int
cmp_node_site(const void *a, const void *b)
{
	const struct rnode *x = a, *y = b;

	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int
build_nodes(struct referral *r, json_t *nodes, const char *self, char *why,
        size_t whylen)
{
	json_t *n, *it;
	size_t i, k;
	int rc;

	if (nodes == NULL)
		return 0;
	if (!json_is_array(nodes))
		return bl_why(why, whylen, BL_EFORMAT, "nodes: not an array");
	if (json_array_size(nodes) > REF_NODES_MAX)
		return bl_why(why, whylen, BL_ETOOBIG, "more than %d nodes",
		        REF_NODES_MAX);
	if ((rc = intern_images(r, nodes, why, whylen)) != 0)
		return rc;
	r->nnodes = json_array_size(nodes);
	if (r->nnodes == 0)
		return 0;
	if ((r->nodes = calloc(r->nnodes, sizeof(*r->nodes))) == NULL)
		return -ENOMEM;
	json_array_foreach(nodes, i, n)
	{
		struct rnode *x = &r->nodes[i];
		const char *id = jstr(n, "id"), *site = jstr(n, "site");
		const char *url = jstr(n, "boot_url");
		json_t *imgs = json_object_get(n, "images");
		char qb[BL_QUOTE_MAX] = "";

		if (id == NULL || id[0] == '\0' || strlen(id) >= sizeof(x->id))
			return bl_why(why, whylen, BL_EFORMAT,
			        "nodes[%zu].id: missing or too long", i);
		snprintf(x->id, sizeof(x->id), "%s", id);
		if (site != NULL)
			q(site, qb);
		if (site == NULL ||
		        (x->site = referral_site_index(r, site)) < 0)
			return bl_why(why, whylen, BL_EFORMAT,
			        "nodes[%zu].site: no site '%s'", i, qb);
		if ((url == NULL && json_object_get(n, "boot_url") != NULL) ||
		        (url != NULL && parse_url(url, x->url, &x->addr) != 0))
			return bl_why(why, whylen, BL_EFORMAT,
			        "nodes[%zu].boot_url: not "
			        "http(s)://HOST[:PORT]",
			        i);
		if (json_object_get(n, "healthy") != NULL &&
		        !json_is_boolean(json_object_get(n, "healthy")))
			return bl_why(why, whylen, BL_EFORMAT,
			        "nodes[%zu].healthy: not true or false", i);
		if (json_object_get(n, "busy") != NULL &&
		        !json_is_boolean(json_object_get(n, "busy")))
			return bl_why(why, whylen, BL_EFORMAT,
			        "nodes[%zu].busy: not true or false", i);
		x->healthy = json_is_true(json_object_get(n, "healthy"));
		x->busy = json_is_true(json_object_get(n, "busy"));
		x->hid = ref_fnv64(x->id, strlen(x->id));
		if (json_array_size(imgs) > 0 &&
		        (x->img = calloc(json_array_size(imgs),
		                 sizeof(*x->img))) == NULL)
			return -ENOMEM;
		json_array_foreach(imgs, k, it)
		{
			int id2 = ref_image_id(r, json_string_value(it));

			if (id2 >= 0)
				x->img[x->nimg++] = id2;
		}
		ref_sort(x->img, x->nimg, sizeof(*x->img), ref_cmp_int);
	}
	/* Ids are unique across the view. */
	{
		struct name_idx *ids = calloc(r->nnodes, sizeof(*ids));
		char qb[BL_QUOTE_MAX];

		if (ids == NULL)
			return -ENOMEM;
		for (i = 0; i < r->nnodes; i++) {
			ids[i].name = r->nodes[i].id;
			ids[i].i = (int)i;
		}
		ref_sort(ids, r->nnodes, sizeof(*ids), cmp_name_idx);
		for (i = 1; i < r->nnodes; i++)
			if (strcmp(ids[i - 1].name, ids[i].name) == 0) {
				int a = ids[i - 1].i, b = ids[i].i;

				rc = bl_why(why, whylen, BL_EFORMAT,
				        "nodes[%d].id: '%s' is also nodes[%d]",
				        a > b ? a : b, q(ids[i].name, qb),
				        a > b ? b : a);
				free(ids);
				return rc;
			}
		free(ids);
	}
	ref_sort(r->nodes, r->nnodes, sizeof(*r->nodes), cmp_node_site);
	for (i = 0; i < r->nnodes; i++) {
		if (r->sites[r->nodes[i].site].nnodes++ == 0)
			r->sites[r->nodes[i].site].first_node = i;
		if (self[0] != '\0' && strcmp(r->nodes[i].id, self) == 0)
			r->self = (int)i;
	}
	return 0;
}

static int
cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

/* A heap entry: visit `site` at dist (child < 0), or visit the child at
 * child[index] of `site`, whose own distance is base, at dist. */
struct hent {
	uint64_t dist, base;
	int site;
	long child;
};

static void
heap_push(struct hent *h, size_t *n, struct hent e)
{
	size_t i = (*n)++;

	while (i > 0 && h[(i - 1) / 2].dist > e.dist) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = e;
}

static struct hent
heap_pop(struct hent *h, size_t *n)
{
	struct hent top = h[0], last = h[--*n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < *n) {
		if (c + 1 < *n && h[c + 1].dist < h[c].dist)
			c++;
		if (h[c].dist >= last.dist)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n > 0)
		h[i] = last;
	return top;
}

/* A child with its link's cost, for sorting a site's children. */
struct costed {
	uint32_t cost;
	int site;
};

static int
cmp_costed(const void *a, const void *b)
{
	const struct costed *x = a, *y = b;

	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	return x->site < y->site ? -1 : x->site > y->site;
}

/* Sort each site's children (child[off[i] .. off[i+1])) by cost. */
static int
sort_children(const struct referral *r, const size_t *off, int *child)
{
	struct costed *c = malloc(r->nsites * sizeof(*c));
	size_t i, k;

	if (c == NULL)
		return -ENOMEM;
	for (k = 0; k < off[r->nsites]; k++) {
		c[k].cost = r->sites[child[k]].wan_cost;
		c[k].site = child[k];
	}
	for (i = 0; i < r->nsites; i++)
		ref_sort(c + off[i], off[i + 1] - off[i], sizeof(*c),
		        cmp_costed);
	for (k = 0; k < off[r->nsites]; k++)
		child[k] = c[k].site;
	free(c);
	return 0;
}

/*
 * Per site: the nearest nodes by WAN cost, own site first.  A best-first
 * walk of the tree from the site (each site is reached once, by its only
 * path; a site's children enter the heap one at a time, cheapest first,
 * so a site with thousands of branches costs only the ones looked at),
 * stopping once REF_CAND_MAX nodes are found and the next site is
 * farther than the last of them: the work per site depends on how far it
 * must look, not on the size of the tree.
 */
static int
build_cands(struct referral *r)
{
	size_t *off = NULL, *fill = NULL;
	int *child = NULL;
	unsigned *seen = NULL;
	struct hent *heap = NULL;
	struct cand *tmp = NULL;
	size_t s, i, total = 0, cap = 0;
	int rc = -ENOMEM;

	if (r->nsites == 0 || r->nnodes == 0)
		return 0;
	if ((off = calloc(r->nsites + 1, sizeof(*off))) == NULL ||
	        (child = calloc(r->nsites, sizeof(*child))) == NULL ||
	        (fill = calloc(r->nsites, sizeof(*fill))) == NULL ||
	        (seen = calloc(r->nsites, sizeof(*seen))) == NULL ||
	        (heap = malloc((3 * r->nsites + 1) * sizeof(*heap))) == NULL ||
	        (tmp = malloc(r->nnodes * sizeof(*tmp))) == NULL)
		goto out;
	for (i = 0; i < r->nsites; i++)
		if (r->sites[i].parent >= 0)
			off[r->sites[i].parent + 1]++;
	for (i = 0; i < r->nsites; i++)
		off[i + 1] += off[i];
	for (i = 0; i < r->nsites; i++)
		if (r->sites[i].parent >= 0) {
			size_t p = (size_t)r->sites[i].parent;

			child[off[p] + fill[p]++] = (int)i;
		}
	if (sort_children(r, off, child) != 0)
		goto out;
	/* The heap never holds more than the pushes: one to start, at most
	 * two per site visited (its parent, its first child) and one per
	 * child entry popped (the next sibling): 3n + 1. */
	for (s = 0; s < r->nsites; s++) {
		size_t nh = 0, nt = 0, k;
		unsigned stamp = (unsigned)s + 1;
		uint64_t last = 0;
		struct hent e = {0, 0, (int)s, -1};
		struct cand *nc;

		heap_push(heap, &nh, e);
		while (nh > 0) {
			const struct rsite *u;
			uint64_t key;
			int v;

			e = heap_pop(heap, &nh);
			if (e.child >= 0) {
				/* The next sibling waits its turn. */
				if ((size_t)e.child + 1 < off[e.site + 1]) {
					struct hent n = {e.base +
					                r->sites[child[e.child +
					                                 1]]
					                        .wan_cost,
					        e.base, e.site, e.child + 1};

					heap_push(heap, &nh, n);
				}
				v = child[e.child];
			} else
				v = e.site;
			if (seen[v] == stamp)
				continue; /* the child we came up from */
			seen[v] = stamp;
			u = &r->sites[v];
			key = v == (int)s ? 0 : e.dist + 1;
			if (nt >= REF_CAND_MAX && key > last)
				break;
			for (k = 0; k < u->nnodes; k++) {
				tmp[nt].node = (int)(u->first_node + k);
				tmp[nt].key = key;
				nt++;
				last = key;
			}
			if (u->parent >= 0 && seen[u->parent] != stamp) {
				struct hent n = {
				        e.dist + u->wan_cost, 0, u->parent, -1};

				heap_push(heap, &nh, n);
			}
			if (off[v] < off[v + 1]) {
				struct hent n = {e.dist +
				                r->sites[child[off[v]]]
				                        .wan_cost,
				        e.dist, v, (long)off[v]};

				heap_push(heap, &nh, n);
			}
		}
		ref_sort(tmp, nt, sizeof(*tmp), cmp_cand);
		if (nt > REF_CAND_MAX)
			nt = REF_CAND_MAX;
		if (total + nt > cap) {
			size_t ncap = 2 * (total + nt);

			if ((nc = realloc(r->cands, ncap * sizeof(*nc))) ==
			        NULL)
				goto out;
			r->cands = nc;
			cap = ncap;
		}
		if (nt > 0)
			memcpy(r->cands + total, tmp, nt * sizeof(*tmp));
		r->sites[s].cand = total;
		r->sites[s].ncand = nt;
		total += nt;
	}
	r->ncands = total;
	rc = 0;
out:
	free(off);
	free(fill);
	free(child);
	free(seen);
	free(heap);
	free(tmp);
	return rc;
}

static int
build_latest(struct referral *r, json_t *latest, char *why, size_t whylen)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	if (latest == NULL)
		return 0;
	if (!json_is_object(latest))
		return bl_why(why, whylen, BL_EFORMAT, "latest: not an object");
	if (json_object_size(latest) > REF_NODES_MAX)
		return bl_why(why, whylen, BL_ETOOBIG, "latest: too many");
	if (json_object_size(latest) == 0)
		return 0;
	if ((r->latest = calloc(
	             json_object_size(latest), sizeof(*r->latest))) == NULL)
		return -ENOMEM;
	json_object_foreach(latest, k, v)
	{
		json_int_t x = json_integer_value(v);

		if (!manifest_name_valid(k) || !json_is_integer(v) || x < 1 ||
		        x > UINT32_MAX) {
			char qb[BL_QUOTE_MAX];

			return bl_why(why, whylen, BL_EFORMAT,
			        "latest.%s: not an image name and a version",
			        q(k, qb));
		}
		snprintf(r->latest[n].name, sizeof(r->latest[n].name), "%s", k);
		r->latest[n].version = (uint32_t)x;
		n++;
	}
	r->nlatest = n;
	ref_sort(r->latest, n, sizeof(*r->latest), ref_cmp_latest);
	return 0;
}

int
referral_build(json_t *view, struct referral **out, char *why, size_t whylen)
{
	struct referral *r;
	const char *own, *self, *purl;
	json_t *hb;
	int rc;

	*out = NULL;
	if (!json_is_object(view))
		return bl_why(why, whylen, BL_EFORMAT, "not a JSON object");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	r->self = REF_PRIMARY;
	r->own = -1;
	if (jstr(view, "self") != NULL && jstr(view, "self")[0] != '\0')
		r->self = REF_NOBODY; /* until build_nodes finds it */
	r->heartbeat = 30;
	own = jstr(view, "site");
	self = jstr(view, "self");
	purl = jstr(view, "primary_boot_url");
	if ((own == NULL && json_object_get(view, "site") != NULL) ||
	        (self == NULL && json_object_get(view, "self") != NULL) ||
	        (purl == NULL &&
	                json_object_get(view, "primary_boot_url") != NULL)) {
		rc = bl_why(why, whylen, BL_EFORMAT,
		        "site, self and primary_boot_url must be strings");
		goto fail;
	}
	hb = json_object_get(view, "heartbeat");
	if (hb != NULL) {
		if (!json_is_integer(hb) || json_integer_value(hb) < 1 ||
		        json_integer_value(hb) > 3600) {
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "heartbeat: not 1..3600 seconds");
			goto fail;
		}
		r->heartbeat = (int)json_integer_value(hb);
	}
	if (purl != NULL && parse_url(purl, r->purl, &r->paddr) != 0) {
		rc = bl_why(why, whylen, BL_EFORMAT,
		        "primary_boot_url: not http(s)://HOST[:PORT]");
		goto fail;
	}
	if ((rc = build_sites(
	             r, json_object_get(view, "sites"), why, whylen)) != 0 ||
	        (rc = build_nodes(r, json_object_get(view, "nodes"),
	                 self ? self : "", why, whylen)) != 0 ||
	        (rc = build_latest(
	                 r, json_object_get(view, "latest"), why, whylen)) != 0)
		goto fail;
	if (own != NULL && own[0] != '\0' &&
	        (r->own = referral_site_index(r, own)) < 0) {
		char qb[BL_QUOTE_MAX];

		rc = bl_why(why, whylen, BL_EFORMAT, "site: no site '%s'",
		        q(own, qb));
		goto fail;
	}
	if ((rc = build_cands(r)) != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	if (rc == -ENOMEM)
		(void)bl_why(why, whylen, rc, "out of memory");
	referral_free(r);
	return rc;
}

void
referral_free(struct referral *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nnodes; i++)
		free(r->nodes[i].img);
	for (i = 0; i < r->nimgs; i++)
		free(r->imgs[i]);
	free(r->imgs);
	for (i = 0; i < r->nximgs; i++)
		free(r->ximgs[i]);
	free(r->ximgs);
	free(r->nodes);
	free(r->sites);
	free(r->by_name);
	free(r->cands);
	free(r->lo4);
	free(r->hi4);
	free(r->site4);
	free(r->lo6);
	free(r->hi6);
	free(r->site6);
	free(r->rules);
	free(r->latest);
	free(r);
}

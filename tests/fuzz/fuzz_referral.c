/*
 * fuzz_referral.c - libFuzzer target for the referral view, which comes
 * from a catalog (signed, but still checked) or the primary's own state.
 * The input is read as JSON (at most 64 KiB); whatever builds is asked
 * about a few clients made from the view itself (addresses in its
 * subnets, its option 82 values, its images) and from the input's bytes:
 *
 *  - a view that does not build says why, in printable text;
 *  - referral_site gives -1 or a site index, the same twice;
 *  - referral_choose lists at most REF_TARGETS_MAX distinct targets,
 *    the primary only last, only the primary for an image no node holds,
 *    the same with or without a trace; the trace stays within its room,
 *    names each node once, takes at most one, and takes the first target
 *    when it is complete; a stale view leaves only the primary;
 *  - referral_explain lists the same targets;
 *  - images the asking node holds (the nodes' and those of the input's
 *    "x_self" array, which the view may not know) get an id there;
 *  - node URLs fit REF_URL_MAX, have no trailing '/', and node sites are
 *    site indexes; site names map back to their index.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "manifest.h"
#include "referral.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

#define NOW    ((time_t)1000000)
#define NTRACE 32
#define NPROBE 8 /* addresses, option 82 values and images taken */

/* What the view offers to aim at. */
struct probes {
	uint32_t addr[NPROBE];
	size_t naddr;
	const char *opt82[NPROBE];
	size_t nopt82;
	char img[NPROBE][160];
	uint32_t ver[NPROBE];
	size_t nimg;
	const char *refs[NPROBE];
	size_t nrefs;
};

static void
probe_sites(json_t *sites, struct probes *pr)
{
	json_t *s, *x, *rule;
	size_t i, k;

	json_array_foreach(sites, i, s)
	{
		json_array_foreach(json_object_get(s, "subnets"), k, x)
		{
			char buf[64], *slash;
			struct in_addr a;

			if (!json_is_string(x) || pr->naddr == NPROBE)
				continue;
			snprintf(buf, sizeof(buf), "%s", json_string_value(x));
			if ((slash = strchr(buf, '/')) != NULL)
				*slash = '\0';
			if (inet_pton(AF_INET, buf, &a) == 1)
				pr->addr[pr->naddr++] =
				        htonl(ntohl(a.s_addr) + 1);
		}
		json_array_foreach(json_object_get(s, "option82"), k, rule)
		{
			const char *v = json_string_value(
			        json_object_get(rule, "circuit_id"));

			if (v == NULL)
				v = json_string_value(
				        json_object_get(rule, "remote_id"));
			if (v != NULL && pr->nopt82 < NPROBE)
				pr->opt82[pr->nopt82++] = v;
		}
	}
}

static void
probe_nodes(json_t *nodes, struct probes *pr)
{
	json_t *n, *x;
	size_t i, k;

	json_array_foreach(nodes, i, n)
	{
		json_array_foreach(json_object_get(n, "images"), k, x)
		{
			const char *ref = json_string_value(x), *at;

			if (ref == NULL || pr->nimg == NPROBE)
				continue;
			if (pr->nrefs < NPROBE)
				pr->refs[pr->nrefs++] = ref;
			snprintf(pr->img[pr->nimg], sizeof(pr->img[0]), "%s",
			        ref);
			at = strchr(ref, '@');
			pr->ver[pr->nimg] = 0;
			if (at != NULL &&
			        (size_t)(at - ref) < sizeof(pr->img[0])) {
				pr->img[pr->nimg][at - ref] = '\0';
				pr->ver[pr->nimg] =
				        (uint32_t)strtoul(at + 1, NULL, 10);
			}
			pr->nimg++;
		}
	}
}

/* One choice, checked; with stale set, only the primary or the asking
 * node itself (which knows its own state) may be a target. */
static void
check_choice(const struct referral *r, int site, int image,
        const struct ref_client *c, time_t now, int stale)
{
	struct ref_step steps[NTRACE];
	struct ref_choice a, b;
	size_t i, j, taken = 0, nn = referral_nnodes(r);

	memset(&a, 0, sizeof(a));
	a.trace = steps;
	a.ntrace = NTRACE;
	CHECK(referral_choose(r, site, image, c, now, &a) == a.n);
	CHECK(a.n <= REF_TARGETS_MAX && a.ntrace <= NTRACE);
	for (i = 0; i < a.n; i++) {
		CHECK(a.target[i] == REF_PRIMARY ||
		        (a.target[i] >= 0 && (size_t)a.target[i] < nn));
		CHECK(a.target[i] != REF_PRIMARY || i + 1 == a.n);
		for (j = 0; j < i; j++)
			CHECK(a.target[i] != a.target[j]);
	}
	if (image < 0)
		CHECK(a.n == 0 || (a.n == 1 && a.target[0] == REF_PRIMARY));
	for (i = 0; i < a.ntrace; i++) {
		CHECK(steps[i].node == REF_PRIMARY ||
		        (steps[i].node >= 0 && (size_t)steps[i].node < nn));
		CHECK((int)steps[i].verdict >= REF_TAKEN &&
		        steps[i].verdict <= REF_NOT_NEEDED);
		CHECK(referral_verdict_name(steps[i].verdict) != NULL);
		taken += steps[i].verdict == REF_TAKEN;
		for (j = 0; j < i; j++)
			CHECK(steps[i].node != steps[j].node);
		if (steps[i].verdict == REF_TAKEN)
			CHECK(a.n > 0 && steps[i].node == a.target[0]);
	}
	CHECK(taken <= 1);
	if (a.ntrace < NTRACE && a.n > 0 && a.target[0] != REF_PRIMARY)
		CHECK(taken == 1);

	memset(&b, 0, sizeof(b));
	CHECK(referral_choose(r, site, image, c, now, &b) == a.n);
	CHECK(memcmp(a.target, b.target, a.n * sizeof(a.target[0])) == 0);
	for (i = 0; stale && i < a.n; i++)
		CHECK(a.target[i] == REF_PRIMARY ||
		        a.target[i] == referral_self_index(r));
}

static void
check_nodes(const struct referral *r)
{
	size_t i, len, nn = referral_nnodes(r), ns = referral_nsites(r);
	const char *u;
	int s;

	for (i = 0; i < nn && i < 256; i++) {
		s = referral_node_site(r, (int)i);

		CHECK(s >= 0 && (size_t)s < ns);
		CHECK(referral_node_id(r, (int)i) != NULL);
		u = referral_node_url(r, (int)i);
		CHECK(u != NULL && (len = strlen(u)) < REF_URL_MAX);
		CHECK(len == 0 || u[len - 1] != '/');
		(void)referral_node_addr(r, (int)i);
	}
	u = referral_node_url(r, REF_PRIMARY);
	CHECK(u != NULL && strlen(u) < REF_URL_MAX);
	CHECK(referral_node_site(r, REF_PRIMARY) == -1);
	(void)referral_node_addr(r, REF_PRIMARY);
	s = referral_self_index(r);
	CHECK(s == REF_PRIMARY || s == REF_NOBODY ||
	        (s >= 0 && (size_t)s < nn));
	for (i = 0; i < ns && i < 256; i++) {
		const char *name = referral_site_name(r, (int)i);

		CHECK(name != NULL);
		CHECK(referral_site_index(r, name) == (int)i);
		(void)referral_site_has_node(r, (int)i, NOW);
	}
}

/* Client k: bytes of the input for the MAC and option 82, the view's
 * addresses and values where the input's bytes say so. */
static void
client(const uint8_t *data, size_t size, size_t k, const struct probes *pr,
        struct ref_client *c)
{
	uint8_t b[24];
	size_t i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = size ? data[(k * 37 + i * 11) % size] : 0;
	memset(c, 0, sizeof(*c));
	c->mac = b[0] & 1 ? data : NULL;
	c->maclen = c->mac ? (size < 16 ? size : 16) : 0;
	memcpy(&c->giaddr, b + 1, 4);
	memcpy(&c->ciaddr, b + 5, 4);
	memcpy(&c->iface, b + 9, 4);
	if (b[13] & 1)
		c->giaddr = 0;
	if (b[13] & 2)
		c->ciaddr = 0;
	if (pr->naddr && (b[13] & 4))
		c->giaddr = pr->addr[b[14] % pr->naddr];
	if (pr->naddr && (b[13] & 8))
		c->ciaddr = pr->addr[b[15] % pr->naddr];
	if (b[13] & 16) {
		c->has_addr6 = 1;
		memset(c->addr6, 0, 16);
		c->addr6[0] = 0x20;
		c->addr6[1] = 0x01;
		c->addr6[2] = 0x0d;
		c->addr6[3] = 0xb8;
		memcpy(c->addr6 + 4, b + 16, 8);
	}
	if (pr->nopt82 && (b[13] & 32)) {
		const char *v = pr->opt82[b[14] % pr->nopt82];

		c->circuit = (const uint8_t *)v;
		c->ncircuit = strlen(v);
	} else if (b[13] & 64) {
		c->circuit = data;
		c->ncircuit = size < 8 ? size : 8;
	}
	if (b[13] & 128) {
		c->remote = data + size / 2;
		c->nremote = size - size / 2 < 8 ? size - size / 2 : 8;
	}
}

/* The operator's view of a choice: its targets are the choice's. */
static void
explain(const struct referral *r, int s, enum ref_by by, int image,
        const struct ref_client *c)
{
	struct ref_choice ch;
	json_t *e, *t;
	size_t i;

	memset(&ch, 0, sizeof(ch));
	referral_choose(r, s, image, c, NOW, &ch);
	if ((e = referral_explain(r, s, by, image, c, NOW)) == NULL)
		return; /* out of memory */
	t = json_object_get(e, "targets");
	CHECK(json_array_size(t) == ch.n);
	for (i = 0; i < ch.n; i++)
		CHECK(strcmp(json_string_value(json_array_get(t, i)),
		              referral_node_id(r, ch.target[i])) == 0);
	CHECK(json_is_array(json_object_get(e, "candidates")));
	json_decref(e);
}

static void
ask(struct referral *r, const uint8_t *data, size_t size,
        const struct probes *pr, time_t stale)
{
	struct ref_client c;
	enum ref_by by;
	size_t k, ns = referral_nsites(r);
	int s, image;

	for (k = 0; k < 6; k++) {
		client(data, size, k, pr, &c);
		s = referral_site(r, &c, &by);
		CHECK(s >= -1 && s < (int)ns);
		CHECK(referral_site(r, &c, NULL) == s);
		if (s < 0)
			continue;
		CHECK((int)by >= REF_BY_OPTION82 && by <= REF_BY_DEFAULT);
		CHECK(referral_by_name(by) != NULL);
		image = -1;
		if (pr->nimg) {
			size_t i = k % pr->nimg;

			image = referral_image(
			        r, pr->img[i], k & 1 ? 0 : pr->ver[i]);
			CHECK(image >= -1);
		}
		check_choice(r, s, image, &c, NOW, 0);
		explain(r, s, by, image, &c);
		check_choice(r, s, -1, &c, NOW, 0);
		if (stale)
			check_choice(r, s, image, &c, stale, 1);
	}
}

/* The node itself holds refs the view may not know: each well-formed
 * one gets an image id, on a node. */
static void
self_extra(struct referral *r, json_t *a)
{
	const char *refs[NPROBE];
	size_t i, n = 0;
	json_t *x;

	json_array_foreach(a, i, x) if (json_is_string(x) && n < NPROBE)
	        refs[n++] = json_string_value(x);
	CHECK(referral_self(r, 0, refs, n) == 0);
	for (i = 0; i < n && referral_self_index(r) >= 0; i++) {
		char name[160];
		const char *at = strrchr(refs[i], '@');
		unsigned long v;
		char *end;

		if (at == NULL || (size_t)(at - refs[i]) >= sizeof(name) ||
		        at[1] < '1' || at[1] > '9')
			continue;
		v = strtoul(at + 1, &end, 10);
		if (*end != '\0' || v > UINT32_MAX)
			continue;
		memcpy(name, refs[i], (size_t)(at - refs[i]));
		name[at - refs[i]] = '\0';
		if (manifest_name_valid(name))
			CHECK(referral_image(r, name, (uint32_t)v) >= 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct referral *r = NULL;
	struct probes pr;
	char why[256] = "";
	json_int_t hb;
	time_t stale = 0;
	json_t *v;
	int rc;

	if (size > 1 << 16)
		return 0;
	v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (v == NULL)
		return 0;
	rc = referral_build(v, &r, why, sizeof(why));
	if (rc != 0) {
		CHECK(rc == BL_EFORMAT || rc == BL_ETOOBIG || rc == -ENOMEM);
		CHECK(tu_printable(why));
		json_decref(v);
		return 0;
	}
	memset(&pr, 0, sizeof(pr));
	probe_sites(json_object_get(v, "sites"), &pr);
	probe_nodes(json_object_get(v, "nodes"), &pr);

	/* 3 heartbeats and a second after the confirmation: stale */
	hb = json_integer_value(json_object_get(v, "heartbeat"));
	if (hb > 0 && hb < 1000000)
		stale = NOW + 3 * (time_t)hb + 1;

	referral_confirmed(r, NOW);
	check_nodes(r);
	ask(r, data, size, &pr, stale);
	CHECK(referral_self(r, size & 1, (const char *const *)pr.refs,
	              pr.nrefs) == 0);
	ask(r, data, size, &pr, stale);
	self_extra(r, json_object_get(v, "x_self"));
	ask(r, data, size, &pr, stale);
	CHECK(referral_self(r, 0, NULL, 0) == 0);
	ask(r, data, size, &pr, stale);
	referral_free(r);
	json_decref(v);
	return 0;
}

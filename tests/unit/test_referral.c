/*
 * test_referral.c - the "referral" suite: which nodes a client is sent
 * to (own site first, then by WAN cost along the tree, never into
 * another tree), ties by rendezvous hashing of the MAC, every
 * eligibility verdict of the trace (stale views included), fallbacks and
 * the primary as last resort, image ids, the asking node's own state,
 * node addresses, the explanation.  Site lookup and bad views are the
 * "referral_view" suite (test_referral_view.c).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "error.h"
#include "referral.h"
#include "referral_util.h"
#include "test_list.h"
#include "testutil.h"

static void
test_names(void)
{
	static const char *const by[] = {"option 82", "giaddr",
	        "client address", "interface", "own site"};
	int i, j;

	for (i = REF_BY_OPTION82; i <= REF_BY_DEFAULT; i++)
		CU_ASSERT_STRING_EQUAL(referral_by_name((enum ref_by)i), by[i]);
	CU_ASSERT_STRING_EQUAL(referral_verdict_name(REF_TAKEN), "taken");
	CU_ASSERT_STRING_EQUAL(referral_verdict_name(REF_FALLBACK), "fallback");
	for (i = REF_TAKEN; i <= REF_NOT_NEEDED; i++) {
		const char *a = referral_verdict_name((enum ref_verdict)i);

		CU_ASSERT_FATAL(a != NULL);
		CU_ASSERT(tu_printable(a));
		for (j = REF_TAKEN; j < i; j++)
			CU_ASSERT(strcmp(a,
			                  referral_verdict_name(
			                          (enum ref_verdict)j)) != 0);
	}
}

/*
 * Sites for the lookup: hq holds 10/8, a 10.20/16 inside it, b a /24
 * inside that, c a /25 inside b's /24 and a /24 straight inside hq's /8,
 * d one /32 inside c's /25; the daemon's own site is d.  Option 82: a
 * rule with both ids (a), circuit only (b), remote only and a binary
 * circuit (c).
 */
static const struct spec tree_view = {"lyon", "", "http://10.0.0.1:80",
        "debian=3",
        "lonely//0 nyc/us/3 o1/other/1 lyon/eu/5 hq//0 paris/eu/7 eu/hq/10 "
        "other//0 us/hq/20",
        "n-paris/paris/10.3.0.5/h/debian@3 n-nyc/nyc/10.4.0.5/h/debian@3 "
        "n-o1/o1/10.9.0.5/h/debian@3 n-lyon/lyon/10.2.0.5/h/debian@3 "
        "n-hq/hq/10.0.0.5/h/debian@3 n-other/other/10.8.0.5/h/debian@3 "
        "n-eu/eu/10.1.0.5/h/debian@3"};

/* The view with node id's member key set to the JSON value js. */
static void
set_node(json_t *v, const char *id, const char *key, const char *js)
{
	json_t *nodes = json_object_get(v, "nodes"), *n;
	size_t i;

	json_array_foreach(nodes, i, n)
	{
		if (strcmp(json_string_value(json_object_get(n, "id")), id))
			continue;
		CU_ASSERT_FATAL(json_object_set_new(n, key, rt_jload(js)) == 0);
		return;
	}
	CU_FAIL_FATAL("no such node in the view");
}

static void
test_candidates(void)
{
	static const struct {
		const char *site, *trace;
	} cases[] = {
	        {"lyon", "n-lyon*@0,n-eu@5,n-paris@12,n-hq@15,n-nyc@38"},
	        {"paris", "n-paris*@0,n-eu@7,n-lyon@12,n-hq@17,n-nyc@40"},
	        {"eu", "n-eu*@0,n-lyon@5,n-paris@7,n-hq@10,n-nyc@33"},
	        {"nyc", "n-nyc*@0,n-hq@23,n-eu@33,n-lyon@38,n-paris@40"},
	        {"us", "n-nyc@3,n-hq@20,n-eu@30,n-lyon@35,n-paris@37"},
	        {"hq", "n-hq*@0,n-eu@10,n-lyon@15,n-paris@17,n-nyc@23"},
	        {"o1", "n-o1*@0,n-other@1"},
	        {"other", "n-other*@0,n-o1@1"},
	        {"lonely", ""},
	};
	struct referral *r = rt_make(&tree_view);
	struct ref_client c;
	struct pick p;
	json_t *v;
	size_t i, k;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rt_choose(r, cases[i].site, "debian", 3, &c, T0, &p);
		EXPECT_STR(rt_trace(r, &p), cases[i].trace);
		/* the primary, if traced, comes last */
		for (k = 0; k + 1 < p.c.ntrace; k++)
			CU_ASSERT(p.steps[k].node != REF_PRIMARY);
	}

	/* All eligible: the nearest fill the list, in order, and the
	 * primary, the last resort, keeps its place. */
	CU_ASSERT_EQUAL(rt_choose(r, "lyon", "debian", 3, &c, T0, &p), 4);
	EXPECT_STR(rt_targets(r, &p), "n-lyon,n-eu,n-paris,primary");
	EXPECT_VERDICT(r, &p, "n-lyon", REF_TAKEN);
	EXPECT_VERDICT(r, &p, "n-eu", REF_FALLBACK);
	EXPECT_VERDICT(r, &p, "n-paris", REF_FALLBACK);
	EXPECT_VERDICT(r, &p, "n-hq", REF_NOT_NEEDED);
	EXPECT_VERDICT(r, &p, "n-nyc", REF_NOT_NEEDED);
	EXPECT_VERDICT(r, &p, "primary", REF_FALLBACK);
	CU_ASSERT_EQUAL(rt_verdict(r, &p, "n-o1"), -1);
	CU_ASSERT_EQUAL(rt_verdict(r, &p, "n-other"), -1);
	/* The other tree: its own nodes, then the primary, never ours. */
	rt_choose(r, "o1", "debian", 3, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n-o1,n-other,primary");
	rt_choose(r, "lonely", "debian", 3, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "primary");
	referral_free(r);

	/* The nearest ones gone: the next ones, then the primary. */
	v = rt_jspec(&tree_view);
	set_node(v, "n-lyon", "healthy", "false");
	set_node(v, "n-eu", "busy", "true");
	r = rt_build_json(v);
	CU_ASSERT_EQUAL(rt_choose(r, "lyon", "debian", 3, &c, T0, &p), 4);
	EXPECT_STR(rt_targets(r, &p), "n-paris,n-hq,n-nyc,primary");
	EXPECT_VERDICT(r, &p, "n-lyon", REF_UNHEALTHY);
	EXPECT_VERDICT(r, &p, "n-eu", REF_BUSY);
	EXPECT_VERDICT(r, &p, "n-paris", REF_TAKEN);
	EXPECT_VERDICT(r, &p, "n-hq", REF_FALLBACK);
	EXPECT_VERDICT(r, &p, "n-nyc", REF_FALLBACK);
	EXPECT_STR(rt_trace(r, &p),
	        "n-lyon*@0,n-eu@5,n-paris@12,n-hq@15,n-nyc@38");
	referral_free(r);

	/* No primary serving boot: it is never a target. */
	CU_ASSERT_EQUAL(
	        json_object_set_new(v, "primary_boot_url", json_string("")), 0);
	set_node(v, "n-nyc", "images", "[]");
	r = rt_build_json(v);
	CU_ASSERT_EQUAL(rt_choose(r, "lyon", "debian", 3, &c, T0, &p), 2);
	EXPECT_STR(rt_targets(r, &p), "n-paris,n-hq");
	EXPECT_VERDICT(r, &p, "n-nyc", REF_NO_IMAGE);
	CU_ASSERT_EQUAL(rt_choose(r, "lyon", NULL, 0, &c, T0, &p), 0);
	CU_ASSERT_EQUAL(rt_choose(r, "o1", "debian", 3, &c, T0, &p), 2);
	EXPECT_STR(rt_targets(r, &p), "n-o1,n-other");
	referral_free(r);

	/* Four eligible without the primary: four nodes, the fifth not
	 * needed. */
	set_node(v, "n-lyon", "healthy", "true");
	set_node(v, "n-eu", "busy", "false");
	set_node(v, "n-nyc", "images", "['debian@3']");
	r = rt_build_json(v);
	CU_ASSERT_EQUAL(rt_choose(r, "lyon", "debian", 3, &c, T0, &p), 4);
	EXPECT_STR(rt_targets(r, &p), "n-lyon,n-eu,n-paris,n-hq");
	EXPECT_VERDICT(r, &p, "n-nyc", REF_NOT_NEEDED);
	referral_free(r);
	json_decref(v);
}

/* A short trace: the first steps only, the same targets. */
static void
test_trace_bound(void)
{
	struct referral *r = rt_make(&tree_view);
	struct ref_choice plain, small;
	struct ref_step steps[2];
	struct ref_client c;
	struct pick p;
	size_t i;

	memset(&c, 0, sizeof(c));
	rt_choose(r, "lyon", "debian", 3, &c, T0, &p);
	memset(&plain, 0, sizeof(plain));
	CU_ASSERT_EQUAL(referral_choose(r, rt_site(r, "lyon"),
	                        referral_image(r, "debian", 3), &c, T0, &plain),
	        p.c.n);
	memset(&small, 0, sizeof(small));
	small.trace = steps;
	small.ntrace = 2;
	CU_ASSERT_EQUAL(referral_choose(r, rt_site(r, "lyon"),
	                        referral_image(r, "debian", 3), &c, T0, &small),
	        p.c.n);
	CU_ASSERT_EQUAL(small.ntrace, 2);
	CU_ASSERT(p.c.ntrace >= 5);
	for (i = 0; i < p.c.n; i++) {
		CU_ASSERT_EQUAL(plain.target[i], p.c.target[i]);
		CU_ASSERT_EQUAL(small.target[i], p.c.target[i]);
	}
	for (i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(steps[i].node, p.steps[i].node);
		CU_ASSERT_EQUAL(steps[i].verdict, p.steps[i].verdict);
		CU_ASSERT_EQUAL(steps[i].distance, p.steps[i].distance);
	}
	referral_free(r);
}

/*
 * Ties: a site with 2 or 3 eligible nodes, a parent site with one.
 */
static const struct spec tie_view = {"lyon", "", "http://10.0.0.1:80", "",
        "eu//0 lyon/eu/5",
        "t1/lyon/10.2.0.1/h/debian@3 t2/lyon/10.2.0.2/h/debian@3 "
        "t3/lyon/10.2.0.3/h/debian@3 e1/eu/10.1.0.1/h/debian@3"};

#define NMACS 1000

/* For each of NMACS MACs, random (seq 0) or consecutive from
 * 52:54:00:00:00:00 (seq 1, as a rack's NICs), the id chosen first (its
 * first letters into got[i][0..3)). */
static void
spread(const struct referral *r, char got[NMACS][4], int seq)
{
	struct ref_client c;
	struct ref_choice ch;
	uint8_t mac[6];
	int s = rt_site(r, "lyon"), img = referral_image(r, "debian", 3);
	size_t i;

	CU_ASSERT_FATAL(img >= 0);
	for (i = 0; i < NMACS; i++) {
		tu_fill(mac, sizeof(mac), 1000 + i);
		if (seq) {
			static const uint8_t oui[3] = {0x52, 0x54, 0x00};

			memcpy(mac, oui, 3);
			mac[3] = 0;
			mac[4] = (uint8_t)(i >> 8);
			mac[5] = (uint8_t)i;
		}
		memset(&c, 0, sizeof(c));
		c.mac = mac;
		c.maclen = sizeof(mac);
		memset(&ch, 0, sizeof(ch));
		CU_ASSERT_FATAL(referral_choose(r, s, img, &c, T0, &ch) > 0);
		snprintf(got[i], 4, "%s", referral_node_id(r, ch.target[0]));
	}
}

static size_t
count(char got[NMACS][4], const char *id)
{
	size_t i, n = 0;

	for (i = 0; i < NMACS; i++)
		n += strcmp(got[i], id) == 0;
	return n;
}

static void
test_ties(void)
{
	static char a[NMACS][4], b[NMACS][4];
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	struct referral *r;
	struct ref_client c;
	struct pick p, q;
	json_t *v, *nodes, *rev;
	size_t i, moved, wrong;

	/* Two in the same tier: both get clients, each MAC always the
	 * same one; the loser is the first fallback. */
	v = rt_jspec(&tie_view);
	nodes = json_object_get(v, "nodes");
	CU_ASSERT_FATAL(json_array_remove(nodes, 2) == 0);
	r = rt_build_json(v);
	spread(r, a, 0);
	if (count(a, "t1") < 350 || count(a, "t1") > 650)
		fprintf(stderr, "t1 %zu, t2 %zu of %d\n", count(a, "t1"),
		        count(a, "t2"), NMACS);
	CU_ASSERT(count(a, "t1") >= 350 && count(a, "t1") <= 650);
	CU_ASSERT_EQUAL(count(a, "t1") + count(a, "t2"), NMACS);
	spread(r, b, 0);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	spread(r, b, 1);
	if (count(b, "t1") < 350 || count(b, "t1") > 650)
		fprintf(stderr, "consecutive MACs: t1 %zu of %d\n",
		        count(b, "t1"), NMACS);
	CU_ASSERT(count(b, "t1") >= 350 && count(b, "t1") <= 650);
	memset(&c, 0, sizeof(c));
	c.mac = mac;
	c.maclen = sizeof(mac);
	CU_ASSERT_EQUAL(rt_choose(r, "lyon", "debian", 3, &c, T0, &p), 4);
	CU_ASSERT(strcmp(rt_targets(r, &p), "t1,t2,e1,primary") == 0 ||
	        strcmp(rt_targets(r, &p), "t2,t1,e1,primary") == 0);
	EXPECT_VERDICT(r, &p, referral_node_id(r, p.c.target[0]), REF_TAKEN);
	EXPECT_VERDICT(r, &p, referral_node_id(r, p.c.target[1]), REF_TIE_LOST);
	EXPECT_VERDICT(r, &p, "e1", REF_FALLBACK);
	/* No MAC: still an answer, always the same. */
	c.mac = NULL;
	c.maclen = 0;
	CU_ASSERT_EQUAL(rt_choose(r, "lyon", "debian", 3, &c, T0, &p), 4);
	CU_ASSERT_EQUAL(rt_choose(r, "lyon", "debian", 3, &c, T0, &q), 4);
	CU_ASSERT_EQUAL(p.c.target[0], q.c.target[0]);
	referral_free(r);

	/* The same set listed in another order: the same choices. */
	rev = json_array();
	for (i = json_array_size(nodes); i-- > 0;)
		json_array_append(rev, json_array_get(nodes, i));
	json_object_set_new(v, "nodes", rev);
	r = rt_build_json(v);
	spread(r, b, 0);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	referral_free(r);
	json_decref(v);

	/* Three, then one of them leaves (from the view, or unhealthy):
	 * only its clients move. */
	r = rt_make(&tie_view);
	spread(r, a, 0);
	for (i = 0; i < 3; i++) {
		static const char *const id[] = {"t1", "t2", "t3"};

		if (count(a, id[i]) < 200 || count(a, id[i]) > 470)
			fprintf(stderr, "%s: %zu of %d\n", id[i],
			        count(a, id[i]), NMACS);
		CU_ASSERT(count(a, id[i]) >= 200 && count(a, id[i]) <= 470);
	}
	referral_free(r);
	for (i = 0; i < 2; i++) {
		size_t k;

		v = rt_jspec(&tie_view);
		if (i == 0)
			json_array_remove(json_object_get(v, "nodes"), 1);
		else
			set_node(v, "t2", "healthy", "false");
		r = rt_build_json(v);
		spread(r, b, 0);
		moved = wrong = 0;
		for (k = 0; k < NMACS; k++) {
			if (strcmp(a[k], "t2") == 0) {
				CU_ASSERT(strcmp(b[k], "t2") != 0);
				moved++;
				continue;
			}
			if (strcmp(a[k], b[k]) != 0 && wrong++ < 5)
				fprintf(stderr, "mac %zu: %s -> %s\n", k, a[k],
				        b[k]);
			CU_ASSERT_STRING_EQUAL(a[k], b[k]);
		}
		CU_ASSERT_EQUAL(moved, count(a, "t2"));
		CU_ASSERT(count(b, "t1") > count(a, "t1"));
		CU_ASSERT(count(b, "t3") > count(a, "t3"));
		referral_free(r);
		json_decref(v);
	}
}

/*
 * Eligibility: one node of each kind of trouble in the client's site, a
 * good one in the parent.
 */
static const struct spec elig_view = {"lyon", "", "http://10.0.0.1:80", "",
        "eu//0 lyon/eu/5 nice/eu/6 lille/eu/6",
        "sick/lyon/10.2.0.1/-/debian@3 full/lyon/10.2.0.2/hb/debian@3 "
        "empty/lyon/10.2.0.3/h/debian@2 nourl/lyon/-/h/debian@3 "
        "ok/eu/10.1.0.1/h/debian@3 nice1/nice/10.5.0.1/-/debian@3"};

static void
test_eligibility(void)
{
	struct referral *r = rt_make(&elig_view);
	struct ref_client c;
	struct pick p;
	time_t t;

	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(rt_choose(r, "lyon", "debian", 3, &c, T0, &p), 2);
	EXPECT_STR(rt_targets(r, &p), "ok,primary");
	EXPECT_VERDICT(r, &p, "sick", REF_UNHEALTHY);
	EXPECT_VERDICT(r, &p, "full", REF_BUSY);
	EXPECT_VERDICT(r, &p, "empty", REF_NO_IMAGE);
	EXPECT_VERDICT(r, &p, "nourl", REF_NO_URL);
	EXPECT_VERDICT(r, &p, "ok", REF_TAKEN);
	CU_ASSERT(rt_verdict(r, &p, "primary") == -1 ||
	        rt_verdict(r, &p, "primary") == REF_FALLBACK);
	/* the order inside a tier is not fixed: check the steps one by
	 * one */
	CU_ASSERT_EQUAL(p.c.ntrace - (rt_verdict(r, &p, "primary") >= 0), 6);
	CU_ASSERT(rt_step(r, &p, "sick")->own && rt_step(r, &p, "nourl")->own);
	CU_ASSERT_EQUAL(rt_step(r, &p, "full")->distance, 0);
	CU_ASSERT(!rt_step(r, &p, "ok")->own);
	CU_ASSERT_EQUAL(rt_step(r, &p, "ok")->distance, 5);
	CU_ASSERT_EQUAL(rt_step(r, &p, "nice1")->distance, 11);

	/* The site's own healthy nodes. */
	CU_ASSERT_EQUAL(referral_site_has_node(r, rt_site(r, "eu"), T0), 1);
	CU_ASSERT_EQUAL(referral_site_has_node(r, rt_site(r, "nice"), T0), 0);
	CU_ASSERT_EQUAL(referral_site_has_node(r, rt_site(r, "lille"), T0), 0);

	/* Stale: 3 heartbeats after the view was last confirmed. */
	for (t = T0; t < T0 + 3 * HB; t += 7) {
		rt_choose(r, "lyon", "debian", 3, &c, t, &p);
		EXPECT_STR(rt_targets(r, &p), "ok,primary");
	}
	rt_choose(r, "lyon", "debian", 3, &c, T0 + 3 * HB - 1, &p);
	EXPECT_STR(rt_targets(r, &p), "ok,primary");
	CU_ASSERT_EQUAL(
	        referral_site_has_node(r, rt_site(r, "eu"), T0 + 3 * HB - 1),
	        1);
	/* exactly 3 heartbeats: still fresh (referral.h says "confirmed
	 * less than 3 heartbeats ago"; the boundary second is taken as
	 * fresh, as the issue has it) */
	rt_choose(r, "lyon", "debian", 3, &c, T0 + 3 * HB, &p);
	EXPECT_STR(rt_targets(r, &p), "ok,primary");
	CU_ASSERT_EQUAL(
	        rt_choose(r, "lyon", "debian", 3, &c, T0 + 3 * HB + 1, &p), 1);
	EXPECT_STR(rt_targets(r, &p), "primary");
	EXPECT_VERDICT(r, &p, "ok", REF_STALE);
	EXPECT_VERDICT(r, &p, "sick", REF_UNHEALTHY);
	CU_ASSERT_EQUAL(
	        referral_site_has_node(r, rt_site(r, "eu"), T0 + 3 * HB + 1),
	        0);
	/* Confirmed again: fresh again. */
	referral_confirmed(r, T0 + 1000);
	rt_choose(r, "lyon", "debian", 3, &c, T0 + 1000 + 3 * HB - 1, &p);
	EXPECT_STR(rt_targets(r, &p), "ok,primary");
	rt_choose(r, "lyon", "debian", 3, &c, T0 + 1000 + 3 * HB + 1, &p);
	EXPECT_STR(rt_targets(r, &p), "primary");
	referral_free(r);
}

/* A list longer than the targets: the first ones, then the primary or
 * not, but never more than REF_TARGETS_MAX; the rest "not needed". */
static void
test_targets_max(void)
{
	struct referral *r;
	struct ref_client c;
	struct pick p;
	json_t *v = rt_jspec(&elig_view);
	size_t i;

	set_node(v, "sick", "healthy", "true");
	set_node(v, "full", "busy", "false");
	set_node(v, "empty", "images", "['debian@3']");
	set_node(v, "nourl", "boot_url", "'http://10.2.0.4:80'");
	set_node(v, "nice1", "healthy", "true");
	r = rt_build_json(v);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(
	        rt_choose(r, "lyon", "debian", 3, &c, T0, &p), REF_TARGETS_MAX);
	for (i = 0; i < REF_TARGETS_MAX - 1; i++)
		CU_ASSERT(p.c.target[i] >= 0 &&
		        referral_node_site(r, p.c.target[i]) ==
		                rt_site(r, "lyon"));
	CU_ASSERT_EQUAL(p.c.target[REF_TARGETS_MAX - 1], REF_PRIMARY);
	/* four in the first tier: one taken, two tie-lost, one left out */
	CU_ASSERT_EQUAL(rt_verdict(r, &p, "sick") + rt_verdict(r, &p, "full") +
	                rt_verdict(r, &p, "empty") + rt_verdict(r, &p, "nourl"),
	        REF_TAKEN + 2 * REF_TIE_LOST + REF_NOT_NEEDED);
	EXPECT_VERDICT(r, &p, "ok", REF_NOT_NEEDED);
	EXPECT_VERDICT(r, &p, "nice1", REF_NOT_NEEDED);
	referral_free(r);

	/* The image no node holds: only the primary, or nobody. */
	r = rt_build_json(v);
	rt_choose(r, "lyon", NULL, 0, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "primary");
	referral_free(r);
	json_object_set_new(v, "primary_boot_url", json_string(""));
	r = rt_build_json(v);
	CU_ASSERT_EQUAL(rt_choose(r, "lyon", NULL, 0, &c, T0, &p), 0);
	CU_ASSERT_EQUAL(
	        rt_choose(r, "lyon", "debian", 3, &c, T0, &p), REF_TARGETS_MAX);
	for (i = 0; i < REF_TARGETS_MAX; i++)
		CU_ASSERT(p.c.target[i] != REF_PRIMARY);
	referral_free(r);
	json_decref(v);
}

static const struct spec image_view = {"lyon", "", "http://10.0.0.1:80",
        "debian=3 ubuntu=24 nobody=1", "eu//0 lyon/eu/5",
        "n1/lyon/10.2.0.1/h/debian@3,debian@2 "
        "n2/eu/10.1.0.1/h/ubuntu@24,rescue@1,debian@2"};

static void
test_images(void)
{
	struct referral *r = rt_make(&image_view);
	struct ref_client c;
	struct pick p;
	int d3, d2, u24;

	d3 = referral_image(r, "debian", 3);
	d2 = referral_image(r, "debian", 2);
	u24 = referral_image(r, "ubuntu", 24);
	CU_ASSERT(d3 >= 0 && d2 >= 0 && u24 >= 0);
	CU_ASSERT(d3 != d2 && d3 != u24 && d2 != u24);
	CU_ASSERT_EQUAL(referral_image(r, "debian", 0), d3);
	CU_ASSERT_EQUAL(referral_image(r, "ubuntu", 0), u24);
	CU_ASSERT(referral_image(r, "rescue", 1) >= 0);
	CU_ASSERT_EQUAL(referral_image(r, "debian", 1), -1);
	CU_ASSERT_EQUAL(referral_image(r, "debian", 4), -1);
	CU_ASSERT_EQUAL(referral_image(r, "ubuntu", 23), -1);
	CU_ASSERT_EQUAL(referral_image(r, "nobody", 0), -1);
	CU_ASSERT_EQUAL(referral_image(r, "nobody", 1), -1);
	CU_ASSERT_EQUAL(referral_image(r, "nothing", 0), -1);
	CU_ASSERT_EQUAL(referral_image(r, "", 0), -1);
	/* rescue has no "latest": version 0 names nothing */
	CU_ASSERT_EQUAL(referral_image(r, "rescue", 0), -1);

	memset(&c, 0, sizeof(c));
	rt_choose(r, "lyon", "debian", 0, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n1,primary");
	EXPECT_VERDICT(r, &p, "n2", REF_NO_IMAGE);
	rt_choose(r, "lyon", "debian", 2, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n1,n2,primary");
	rt_choose(r, "lyon", "ubuntu", 0, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n2,primary");
	EXPECT_VERDICT(r, &p, "n1", REF_NO_IMAGE);
	rt_choose(r, "lyon", "debian", 1, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "primary");
	referral_free(r);
}

static void
test_self(void)
{
	static const char *const u24[] = {"ubuntu@24"};
	static const char *const d3[] = {"debian@3"};
	static const char *const odd[] = {"arch@9", "debian@3", "debian@99"};
	static const char *const bad[] = {
	        "zeta@1", "zeta@0", "no version", "zeta@1", "debian@3"};
	struct referral *r;
	struct ref_client c;
	struct pick p;
	json_t *v = rt_jspec(&image_view);
	int i;

	memset(&c, 0, sizeof(c));
	json_object_set_new(v, "self", json_string("n1"));
	r = rt_build_json(v);
	CU_ASSERT_EQUAL(referral_self_index(r), rt_node(r, "n1"));
	rt_choose(r, "lyon", "debian", 3, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n1,primary");

	/* Busy now, whatever the view says. */
	CU_ASSERT_EQUAL(referral_self(r, 1, d3, 1), 0);
	rt_choose(r, "lyon", "debian", 3, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "primary");
	EXPECT_VERDICT(r, &p, "n1", REF_BUSY);
	/* Holding ubuntu@24 only. */
	CU_ASSERT_EQUAL(referral_self(r, 0, u24, 1), 0);
	rt_choose(r, "lyon", "debian", 3, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "primary");
	EXPECT_VERDICT(r, &p, "n1", REF_NO_IMAGE);
	rt_choose(r, "lyon", "debian", 2, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n2,primary");
	rt_choose(r, "lyon", "ubuntu", 24, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n1,n2,primary");
	/* Refs the view does not know yet count too (the view lags what
	 * the node has just finished); only the node itself holds them. */
	CU_ASSERT_EQUAL(referral_image(r, "arch", 9), -1);
	CU_ASSERT_EQUAL(referral_self(r, 0, odd, 3), 0);
	CU_ASSERT(referral_image(r, "arch", 9) >= 0);
	CU_ASSERT(referral_image(r, "debian", 99) >= 0);
	CU_ASSERT_NOT_EQUAL(
	        referral_image(r, "arch", 9), referral_image(r, "debian", 99));
	CU_ASSERT_EQUAL(referral_image(r, "arch", 8), -1);
	rt_choose(r, "lyon", "debian", 3, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n1,primary");
	rt_choose(r, "lyon", "debian", 99, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n1,primary");
	EXPECT_VERDICT(r, &p, "n2", REF_NO_IMAGE);
	rt_choose(r, "lyon", "arch", 9, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n1,primary");
	rt_choose(r, "lyon", "ubuntu", 24, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n2,primary");
	/* Malformed refs and duplicates; a later call forgets the extras. */
	CU_ASSERT_EQUAL(referral_self(r, 0, bad, 5), 0);
	CU_ASSERT_EQUAL(referral_image(r, "arch", 9), -1);
	CU_ASSERT(referral_image(r, "zeta", 1) >= 0);
	rt_choose(r, "lyon", "zeta", 1, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n1,primary");
	rt_choose(r, "lyon", "debian", 3, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "n1,primary");
	/* Nothing at all. */
	CU_ASSERT_EQUAL(referral_self(r, 0, NULL, 0), 0);
	rt_choose(r, "lyon", "debian", 3, &c, T0, &p);
	EXPECT_STR(rt_targets(r, &p), "primary");
	referral_free(r);

	/* On the primary, and for a node the view does not list yet: a
	 * no-op. */
	for (i = 0; i < 2; i++) {
		json_object_set_new(v, "self", json_string(i ? "n9" : ""));
		r = rt_build_json(v);
		CU_ASSERT_EQUAL(
		        referral_self_index(r), i ? REF_NOBODY : REF_PRIMARY);
		CU_ASSERT_EQUAL(referral_self(r, 1, u24, 1), 0);
		CU_ASSERT_EQUAL(referral_self(r, 1, odd, 3), 0);
		CU_ASSERT_EQUAL(referral_image(r, "arch", 9), -1);
		rt_choose(r, "lyon", "debian", 3, &c, T0, &p);
		EXPECT_STR(rt_targets(r, &p), "n1,primary");
		referral_free(r);
	}
	json_decref(v);
}

static void
test_nodes(void)
{
	static const char js[] =
	        "{'site': 'lyon', 'self': 'v4', 'heartbeat': 30,"
	        " 'primary_boot_url': 'http://10.0.0.1:80', 'latest': {},"
	        " 'sites': [{'name': 'lyon', 'parent': '', 'wan_cost': 0,"
	        "   'subnets': [], 'option82': []}],"
	        " 'nodes': ["
	        "  {'id': 'v4', 'site': 'lyon', "
	        "'boot_url': 'http://10.20.0.5:80',"
	        "   'healthy': true, 'busy': false, 'images': []},"
	        "  {'id': 'name', 'site': 'lyon',"
	        "   'boot_url': 'http://boot.lyon.example:8080',"
	        "   'healthy': true, 'busy': false, 'images': []},"
	        "  {'id': 'v6', 'site': 'lyon',"
	        "   'boot_url': 'http://[2001:db8::5]:80',"
	        "   'healthy': true, 'busy': false, 'images': []},"
	        "  {'id': 'none', 'site': 'lyon', 'boot_url': '',"
	        "   'healthy': true, 'busy': false, 'images': []}]}";
	struct referral *r = rt_build(js);
	int n;

	CU_ASSERT_EQUAL(referral_nnodes(r), 4);
	n = rt_node(r, "v4");
	CU_ASSERT_EQUAL(referral_self_index(r), n);
	CU_ASSERT_EQUAL(referral_node_site(r, n), rt_site(r, "lyon"));
	CU_ASSERT_STRING_EQUAL(referral_node_url(r, n), "http://10.20.0.5:80");
	CU_ASSERT_EQUAL(referral_node_addr(r, n), rt_ip4("10.20.0.5"));
	n = rt_node(r, "name");
	CU_ASSERT_STRING_EQUAL(
	        referral_node_url(r, n), "http://boot.lyon.example:8080");
	CU_ASSERT_EQUAL(referral_node_addr(r, n), 0);
	CU_ASSERT_EQUAL(referral_node_addr(r, rt_node(r, "v6")), 0);
	CU_ASSERT_EQUAL(referral_node_addr(r, rt_node(r, "none")), 0);
	CU_ASSERT_STRING_EQUAL(referral_node_id(r, REF_PRIMARY), "primary");
	CU_ASSERT_EQUAL(referral_node_site(r, REF_PRIMARY), -1);
	CU_ASSERT_STRING_EQUAL(
	        referral_node_url(r, REF_PRIMARY), "http://10.0.0.1:80");
	CU_ASSERT_EQUAL(referral_node_addr(r, REF_PRIMARY), rt_ip4("10.0.0.1"));
	referral_free(r);
}

/* A site's own healthy node: one of its own, not a neighbour's. */
static void
test_site_has_node(void)
{
	struct referral *r = rt_make(&tree_view);

	CU_ASSERT_EQUAL(referral_site_has_node(r, rt_site(r, "lyon"), T0), 1);
	CU_ASSERT_EQUAL(referral_site_has_node(r, rt_site(r, "us"), T0), 0);
	CU_ASSERT_EQUAL(referral_site_has_node(r, rt_site(r, "nyc"), T0), 1);
	referral_free(r);
}

/* The decision as operators see it. */
static void
test_explain(void)
{
	struct referral *r = rt_make(&tree_view);
	struct ref_client c;
	json_t *e, *cands, *x;
	size_t i;

	memset(&c, 0, sizeof(c));
	e = referral_explain(r, rt_site(r, "lyon"), REF_BY_GIADDR,
	        referral_image(r, "debian", 3), &c, T0);
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_STRING_EQUAL(
	        json_string_value(json_object_get(e, "site")), "lyon");
	CU_ASSERT_STRING_EQUAL(
	        json_string_value(json_object_get(e, "by")), "giaddr");
	x = json_object_get(e, "targets");
	CU_ASSERT_EQUAL(json_array_size(x), 4);
	CU_ASSERT_STRING_EQUAL(
	        json_string_value(json_array_get(x, 0)), "n-lyon");
	CU_ASSERT_STRING_EQUAL(
	        json_string_value(json_array_get(x, 3)), "primary");
	cands = json_object_get(e, "candidates");
	CU_ASSERT_EQUAL(json_array_size(cands), 6); /* 5 nodes, primary */
	x = json_array_get(cands, 0);
	CU_ASSERT_STRING_EQUAL(
	        json_string_value(json_object_get(x, "node")), "n-lyon");
	CU_ASSERT_STRING_EQUAL(
	        json_string_value(json_object_get(x, "site")), "lyon");
	CU_ASSERT(json_is_true(json_object_get(x, "own")));
	CU_ASSERT_STRING_EQUAL(
	        json_string_value(json_object_get(x, "verdict")), "taken");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "url")),
	        "http://10.2.0.5:80");
	x = json_array_get(cands, 4);
	CU_ASSERT_STRING_EQUAL(
	        json_string_value(json_object_get(x, "node")), "n-nyc");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(x, "distance")), 38);
	CU_ASSERT(json_is_false(json_object_get(x, "own")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "verdict")),
	        referral_verdict_name(REF_NOT_NEEDED));
	json_array_foreach(cands, i, x) CU_ASSERT(
	        json_string_value(json_object_get(x, "verdict")) != NULL);
	json_decref(e);
	referral_free(r);
}

int
test_referral_register(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
	        {"names of rules and verdicts", test_names},
	        {"candidates along the tree", test_candidates},
	        {"a short trace", test_trace_bound},
	        {"ties by rendezvous hashing", test_ties},
	        {"eligibility verdicts and stale views", test_eligibility},
	        {"at most REF_TARGETS_MAX targets", test_targets_max},
	        {"image ids and latest", test_images},
	        {"the asking node's own state", test_self},
	        {"node ids, URLs and addresses", test_nodes},
	        {"sites with a node of their own", test_site_has_node},
	        {"explained for operators", test_explain},
	};
	CU_pSuite s = CU_add_suite("referral", NULL, NULL);
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}

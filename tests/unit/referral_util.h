/*
 * referral_util.h - what the referral suites share (test_referral.c,
 * test_referral_view.c): views from JSON or a compact spec, tables that
 * must build, lookups by name, traced choices and their verdicts.
 */
#ifndef BL_TEST_REFERRAL_UTIL_H
#define BL_TEST_REFERRAL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "referral.h"

#define T0 ((time_t)1700000000) /* when every test view is confirmed */
#define HB 30                   /* the test views' heartbeat */

/*
 * A view from a compact spec (subnets and option 82 rules left empty):
 * sites "name/parent/wan_cost ...", nodes "id/site/host/flags/images
 * ..." where host "-" is no boot URL (else "http://host:80"), flags has
 * 'h' for healthy and 'b' for busy, images is "-" or "a@1,b@2"; latest
 * "name=version ...".
 */
struct spec {
	const char *site, *self, *primary, *latest, *sites, *nodes;
};

/* A choice with room for its trace. */
struct pick {
	struct ref_choice c;
	struct ref_step steps[64];
};

/* json_loads of js (any JSON value) with every ' read as " (test views
 * stay readable). */
json_t *rt_jload(const char *js);

/* The table of a view that must build, confirmed at T0. */
struct referral *rt_build_json(json_t *v);

struct referral *rt_build(const char *js);

/* The next field of *s up to sep (strsep, never NULL). */
char *rt_field(char **s, const char *sep);

json_t *rt_jspec(const struct spec *sp);

struct referral *rt_make(const struct spec *sp);

/* The index of the node with this id (fatal if there is none). */
int rt_node(const struct referral *r, const char *id);

int rt_site(const struct referral *r, const char *name);

uint32_t rt_ip4(const char *s);

/* referral_choose for a client of site (by name) needing name@version
 * (NULL: the image no node holds), traced. */
size_t rt_choose(const struct referral *r, const char *sname, const char *img,
        uint32_t ver, const struct ref_client *cl, time_t now, struct pick *p);

/* The targets as "id,id,primary". */
const char *rt_targets(const struct referral *r, const struct pick *p);

/* The trace's nodes, the primary left out, as "id@distance,...", with a
 * '*' after the id of a node of the client's own site. */
const char *rt_trace(const struct referral *r, const struct pick *p);

/* The verdict on node id in the trace, or -1 if it is not there. */
int rt_verdict(const struct referral *r, const struct pick *p, const char *id);

/* The step of node id in the trace (fatal if it is not there). */
const struct ref_step *rt_step(
        const struct referral *r, const struct pick *p, const char *id);

#define EXPECT_STR(got, want)                                                  \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (strcmp(g_, w_) != 0)                                       \
			fprintf(stderr, "line %d: got '%s', want '%s'\n",      \
			        __LINE__, g_, w_);                             \
		CU_ASSERT_STRING_EQUAL(g_, w_);                                \
	} while (0)

#define EXPECT_VERDICT(r, p, id, want)                                         \
	do {                                                                   \
		int v_ = rt_verdict((r), (p), (id));                           \
		if (v_ != (int)(want))                                         \
			fprintf(stderr, "line %d: %s: got %s, want %s\n",      \
			        __LINE__, (id),                                \
			        v_ < 0 ? "(not traced)"                        \
			               : referral_verdict_name(                \
			                         (enum ref_verdict)v_),        \
			        referral_verdict_name(want));                  \
		CU_ASSERT_EQUAL(v_, (int)(want));                              \
	} while (0)

#endif /* BL_TEST_REFERRAL_UTIL_H */

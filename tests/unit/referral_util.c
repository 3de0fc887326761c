/*
 * referral_util.c - helpers of the referral suites (referral_util.h).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "referral_util.h"

/* json_loads of js (any JSON value) with every ' read as " (test views
 * stay readable). */
json_t *
rt_jload(const char *js)
{
	json_error_t jerr;
	json_t *j;
	char *s, *p;

	s = strdup(js);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (j == NULL)
		fprintf(stderr, "test view: %s at %d\n", jerr.text,
		        jerr.position);
	free(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	return j;
}

/* The table of a view that must build, confirmed at T0. */
struct referral *
rt_build_json(json_t *v)
{
	struct referral *r = NULL;
	char why[256] = "";
	int rc;

	rc = referral_build(v, &r, why, sizeof(why));
	if (rc != 0)
		fprintf(stderr, "referral_build: %d %s\n", rc, why);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	referral_confirmed(r, T0);
	return r;
}

struct referral *
rt_build(const char *js)
{
	struct referral *r;
	json_t *v = rt_jload(js);

	r = rt_build_json(v);
	json_decref(v);
	return r;
}

/* The next field of *s up to sep (strsep, never NULL). */
char *
rt_field(char **s, const char *sep)
{
	char *f = strsep(s, sep);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	return f;
}

json_t *
rt_jspec(const struct spec *sp)
{
	char *buf = strdup(sp->sites), *save = buf, *tok, *imgs, *im;
	json_t *v, *sites = json_array(), *nodes = json_array();
	json_t *latest = json_object();
	char url[64];

	while ((tok = strsep(&save, " ")) != NULL) {
		const char *name = rt_field(&tok, "/"),
		           *par = rt_field(&tok, "/");

		json_array_append_new(sites,
		        json_pack("{s:s, s:s, s:i, s:[], s:[]}", "name", name,
		                "parent", par, "wan_cost",
		                atoi(rt_field(&tok, "/")), "subnets",
		                "option82"));
	}
	free(buf);
	buf = save = strdup(sp->nodes);
	while ((tok = strsep(&save, " ")) != NULL) {
		const char *id = rt_field(&tok, "/"),
		           *site = rt_field(&tok, "/");
		const char *host = rt_field(&tok, "/"),
		           *fl = rt_field(&tok, "/");
		json_t *a = json_array();

		for (imgs = rt_field(&tok, "/");
		        (im = strsep(&imgs, ",")) != NULL;)
			if (strcmp(im, "-") != 0)
				json_array_append_new(a, json_string(im));
		snprintf(url, sizeof(url), "http://%s:80", host);
		json_array_append_new(nodes,
		        json_pack("{s:s, s:s, s:s, s:b, s:b, s:o}", "id", id,
		                "site", site, "boot_url",
		                strcmp(host, "-") ? url : "", "healthy",
		                strchr(fl, 'h') != NULL, "busy",
		                strchr(fl, 'b') != NULL, "images", a));
	}
	free(buf);
	buf = save = strdup(sp->latest);
	while ((tok = strsep(&save, " ")) != NULL)
		if (tok[0] != '\0') {
			const char *name = rt_field(&tok, "=");

			json_object_set_new(latest, name,
			        json_integer(atoi(rt_field(&tok, "="))));
		}
	free(buf);
	v = json_pack("{s:s, s:s, s:i, s:s, s:o, s:o, s:o}", "site", sp->site,
	        "self", sp->self, "heartbeat", HB, "primary_boot_url",
	        sp->primary, "latest", latest, "sites", sites, "nodes", nodes);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

struct referral *
rt_make(const struct spec *sp)
{
	json_t *v = rt_jspec(sp);
	struct referral *r = rt_build_json(v);

	json_decref(v);
	return r;
}

/* The index of the node with this id (fatal if there is none). */
int
rt_node(const struct referral *r, const char *id)
{
	size_t i;

	for (i = 0; i < referral_nnodes(r); i++)
		if (strcmp(referral_node_id(r, (int)i), id) == 0)
			return (int)i;
	fprintf(stderr, "no node %s\n", id);
	CU_FAIL_FATAL("no such node");
	return -2;
}

int
rt_site(const struct referral *r, const char *name)
{
	int s = referral_site_index(r, name);

	CU_ASSERT_FATAL(s >= 0);
	return s;
}

uint32_t
rt_ip4(const char *s)
{
	struct in_addr a;

	CU_ASSERT_FATAL(inet_pton(AF_INET, s, &a) == 1);
	return a.s_addr;
}

/* referral_choose for a client of site (by name) needing name@version
 * (NULL: the image no node holds), traced. */
size_t
rt_choose(const struct referral *r, const char *sname, const char *img,
        uint32_t ver, const struct ref_client *cl, time_t now, struct pick *p)
{
	int image = img != NULL ? referral_image(r, img, ver) : -1;
	size_t i, n;

	memset(p, 0, sizeof(*p));
	p->c.trace = p->steps;
	p->c.ntrace = sizeof(p->steps) / sizeof(p->steps[0]);
	n = referral_choose(r, rt_site(r, sname), image, cl, now, &p->c);
	CU_ASSERT_EQUAL(n, p->c.n);
	CU_ASSERT(n <= REF_TARGETS_MAX);
	CU_ASSERT(p->c.ntrace <= sizeof(p->steps) / sizeof(p->steps[0]));
	for (i = 0; i < n && i < REF_TARGETS_MAX; i++)
		CU_ASSERT(p->c.target[i] == REF_PRIMARY ||
		        (p->c.target[i] >= 0 &&
		                (size_t)p->c.target[i] < referral_nnodes(r)));
	return n;
}

/* The targets as "id,id,primary". */
const char *
rt_targets(const struct referral *r, const struct pick *p)
{
	static char buf[512];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < p->c.n && i < REF_TARGETS_MAX; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
		        i ? "," : "", referral_node_id(r, p->c.target[i]));
	return buf;
}

/* The trace's nodes, the primary left out, as "id@distance,...", with a
 * '*' after the id of a node of the client's own site. */
const char *
rt_trace(const struct referral *r, const struct pick *p)
{
	static char buf[1024];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < p->c.ntrace; i++) {
		const struct ref_step *s = &p->steps[i];

		if (s->node == REF_PRIMARY)
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		        "%s%s%s@%llu", len ? "," : "",
		        referral_node_id(r, s->node), s->own ? "*" : "",
		        (unsigned long long)s->distance);
	}
	return buf;
}

/* The verdict on node id in the trace, or -1 if it is not there. */
int
rt_verdict(const struct referral *r, const struct pick *p, const char *id)
{
	int n = strcmp(id, "primary") == 0 ? REF_PRIMARY : rt_node(r, id);
	size_t i;

	for (i = 0; i < p->c.ntrace; i++)
		if (p->steps[i].node == n)
			return (int)p->steps[i].verdict;
	return -1;
}

/* The step of node id in the trace (fatal if it is not there). */
const struct ref_step *
rt_step(const struct referral *r, const struct pick *p, const char *id)
{
	int n = rt_node(r, id);
	size_t i;

	for (i = 0; i < p->c.ntrace; i++)
		if (p->steps[i].node == n)
			return &p->steps[i];
	fprintf(stderr, "%s not traced\n", id);
	CU_FAIL_FATAL("not traced");
	return NULL;
}

/*
 * test_referral_view.c - the "referral_view" suite: which site a booting
 * client belongs to (option 82 rules, then giaddr, the client's address,
 * the receiving interface, the own site; longest prefix over nested
 * subnets, checked against a brute-force search on random prefixes, and
 * the same prefix in many sites), and views that must be refused with a
 * message naming the field, within their bounds.
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

static const char lookup_view[] =
        "{'site': 'd', 'self': '', 'heartbeat': 30,"
        " 'primary_boot_url': 'http://10.0.0.1:80', 'latest': {},"
        " 'sites': ["
        "  {'name': 'hq', 'parent': '', 'wan_cost': 0,"
        "   'subnets': ['10.0.0.0/8', '2001:db8::/32'], 'option82': []},"
        "  {'name': 'a', 'parent': 'hq', 'wan_cost': 1,"
        "   'subnets': ['10.20.0.0/16', '192.168.1.0/24',"
        "               '2001:db8:20::/48'],"
        "   'option82': [{'circuit_id': 'eth0/1', 'remote_id': 'sw-a'}]},"
        "  {'name': 'b', 'parent': 'hq', 'wan_cost': 2,"
        "   'subnets': ['10.20.5.0/24', '172.16.0.0/12',"
        "               '2001:db8:20:5::/64'],"
        "   'option82': [{'circuit_id': 'eth0/1'}]},"
        "  {'name': 'c', 'parent': 'a', 'wan_cost': 3,"
        "   'subnets': ['10.20.5.128/25', '10.99.1.0/24',"
        "               '255.255.255.0/24', '192.168.2.0/24'],"
        "   'option82': [{'remote_id': 'sw-a'},"
        "                {'circuit_id': 'hex:0a0b00ff'}]},"
        "  {'name': 'd', 'parent': 'hq', 'wan_cost': 4,"
        "   'subnets': ['10.20.5.200/32'], 'option82': []}],"
        " 'nodes': []}";

static void
test_site_lookup(void)
{
	static const struct {
		const char *circuit, *remote; /* NULL: none */
		const char *gi, *ci, *iface;  /* NULL: 0 */
		const char *addr6;            /* NULL: none */
		const char *site;
		enum ref_by by;
	} cases[] = {
	        /* giaddr: longest prefix */
	        {0, 0, "10.1.2.3", 0, 0, 0, "hq", REF_BY_GIADDR},
	        {0, 0, "10.0.0.0", 0, 0, 0, "hq", REF_BY_GIADDR},
	        {0, 0, "10.20.1.1", 0, 0, 0, "a", REF_BY_GIADDR},
	        {0, 0, "10.20.0.0", 0, 0, 0, "a", REF_BY_GIADDR},
	        {0, 0, "10.20.4.255", 0, 0, 0, "a", REF_BY_GIADDR},
	        {0, 0, "10.20.5.0", 0, 0, 0, "b", REF_BY_GIADDR},
	        {0, 0, "10.20.5.1", 0, 0, 0, "b", REF_BY_GIADDR},
	        {0, 0, "10.20.5.127", 0, 0, 0, "b", REF_BY_GIADDR},
	        {0, 0, "10.20.5.128", 0, 0, 0, "c", REF_BY_GIADDR},
	        {0, 0, "10.20.5.199", 0, 0, 0, "c", REF_BY_GIADDR},
	        {0, 0, "10.20.5.200", 0, 0, 0, "d", REF_BY_GIADDR},
	        {0, 0, "10.20.5.201", 0, 0, 0, "c", REF_BY_GIADDR},
	        {0, 0, "10.20.5.255", 0, 0, 0, "c", REF_BY_GIADDR},
	        {0, 0, "10.20.6.0", 0, 0, 0, "a", REF_BY_GIADDR},
	        {0, 0, "10.20.255.255", 0, 0, 0, "a", REF_BY_GIADDR},
	        {0, 0, "10.21.0.0", 0, 0, 0, "hq", REF_BY_GIADDR},
	        {0, 0, "10.99.0.255", 0, 0, 0, "hq", REF_BY_GIADDR},
	        {0, 0, "10.99.1.7", 0, 0, 0, "c", REF_BY_GIADDR},
	        {0, 0, "10.99.2.0", 0, 0, 0, "hq", REF_BY_GIADDR},
	        {0, 0, "10.255.255.255", 0, 0, 0, "hq", REF_BY_GIADDR},
	        {0, 0, "172.16.0.0", 0, 0, 0, "b", REF_BY_GIADDR},
	        {0, 0, "172.31.255.255", 0, 0, 0, "b", REF_BY_GIADDR},
	        {0, 0, "255.255.255.255", 0, 0, 0, "c", REF_BY_GIADDR},
	        {0, 0, "255.255.255.0", 0, 0, 0, "c", REF_BY_GIADDR},
	        /* outside every subnet: the next rule */
	        {0, 0, "9.255.255.255", 0, 0, 0, "d", REF_BY_DEFAULT},
	        {0, 0, "11.0.0.0", 0, 0, 0, "d", REF_BY_DEFAULT},
	        {0, 0, "172.32.0.0", 0, 0, 0, "d", REF_BY_DEFAULT},
	        {0, 0, "255.255.254.255", 0, 0, 0, "d", REF_BY_DEFAULT},
	        {0, 0, "0.0.0.1", 0, 0, 0, "d", REF_BY_DEFAULT},
	        {0, 0, 0, 0, 0, 0, "d", REF_BY_DEFAULT},
	        /* the order of the rules */
	        {0, 0, "10.20.1.1", "172.16.0.1", "192.168.2.1", 0, "a",
	                REF_BY_GIADDR},
	        {0, 0, "11.0.0.1", "172.16.0.1", "192.168.2.1", 0, "b",
	                REF_BY_CLIENT},
	        {0, 0, 0, "172.16.0.1", "192.168.2.1", 0, "b", REF_BY_CLIENT},
	        {0, 0, "11.0.0.1", "11.0.0.2", "192.168.2.1", 0, "c",
	                REF_BY_IFACE},
	        {0, 0, 0, 0, "10.20.5.129", 0, "c", REF_BY_IFACE},
	        {0, 0, "11.0.0.1", "11.0.0.2", "11.0.0.3", 0, "d",
	                REF_BY_DEFAULT},
	        /* IPv6: the client's address, instead of ciaddr */
	        {0, 0, 0, 0, 0, "2001:db8:20:5::1", "b", REF_BY_CLIENT},
	        {0, 0, 0, "10.1.1.1", 0, "2001:db8:20:5:ffff::1", "b",
	                REF_BY_CLIENT},
	        {0, 0, 0, 0, 0, "2001:db8:20:6::1", "a", REF_BY_CLIENT},
	        {0, 0, 0, 0, 0, "2001:db8:20:ffff::", "a", REF_BY_CLIENT},
	        {0, 0, 0, 0, 0, "2001:db8:ffff::1", "hq", REF_BY_CLIENT},
	        {0, 0, 0, 0, 0, "2001:db8::", "hq", REF_BY_CLIENT},
	        {0, 0, 0, 0, "192.168.1.9", "2001:db9::1", "a", REF_BY_IFACE},
	        {0, 0, 0, 0, 0, "::1", "d", REF_BY_DEFAULT},
	        /* an IPv4 peer on a dual-stack socket: its IPv4 address */
	        {0, 0, 0, 0, 0, "::ffff:172.16.0.1", "b", REF_BY_CLIENT},
	        {0, 0, "10.20.1.1", 0, 0, "2001:db8:20:5::1", "a",
	                REF_BY_GIADDR},
	        /* option 82 before everything */
	        {"eth0/1", "sw-a", "10.1.1.1", 0, 0, 0, "a", REF_BY_OPTION82},
	        {"eth0/1", "sw-b", "10.1.1.1", 0, 0, 0, "b", REF_BY_OPTION82},
	        {"eth0/1", 0, "10.1.1.1", 0, 0, 0, "b", REF_BY_OPTION82},
	        {"eth0/2", "sw-a", "10.1.1.1", 0, 0, 0, "c", REF_BY_OPTION82},
	        {0, "sw-a", 0, 0, 0, 0, "c", REF_BY_OPTION82},
	        {"eth0/9", "sw-z", "10.1.1.1", 0, 0, 0, "hq", REF_BY_GIADDR},
	        {"ETH0/1", 0, 0, "172.16.0.1", 0, 0, "b", REF_BY_CLIENT},
	        {"eth0/1 ", 0, 0, 0, 0, 0, "d", REF_BY_DEFAULT},
	        {"eth0", "sw-", 0, 0, 0, 0, "d", REF_BY_DEFAULT},
	        {"", "", 0, 0, 0, 0, "d", REF_BY_DEFAULT},
	};
	static const uint8_t bin[] = {0x0a, 0x0b, 0x00, 0xff};
	struct referral *r = rt_build(lookup_view);
	struct ref_client c;
	size_t i;

	CU_ASSERT_EQUAL(referral_nsites(r), 5);
	CU_ASSERT_EQUAL(referral_nnodes(r), 0);
	for (i = 0; i < referral_nsites(r); i++)
		CU_ASSERT_EQUAL(
		        referral_site_index(r, referral_site_name(r, (int)i)),
		        (int)i);
	CU_ASSERT_EQUAL(referral_site_index(r, "nowhere"), -1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum ref_by by = (enum ref_by) - 1;
		const char *got;
		int s;

		memset(&c, 0, sizeof(c));
		if (cases[i].circuit != NULL) {
			c.circuit = (const uint8_t *)cases[i].circuit;
			c.ncircuit = strlen(cases[i].circuit);
		}
		if (cases[i].remote != NULL) {
			c.remote = (const uint8_t *)cases[i].remote;
			c.nremote = strlen(cases[i].remote);
		}
		c.giaddr = cases[i].gi ? rt_ip4(cases[i].gi) : 0;
		c.ciaddr = cases[i].ci ? rt_ip4(cases[i].ci) : 0;
		c.iface = cases[i].iface ? rt_ip4(cases[i].iface) : 0;
		if (cases[i].addr6 != NULL) {
			c.has_addr6 = 1;
			CU_ASSERT_FATAL(inet_pton(AF_INET6, cases[i].addr6,
			                        c.addr6) == 1);
		}
		s = referral_site(r, &c, &by);
		got = s >= 0 ? referral_site_name(r, s) : "(none)";
		if (strcmp(got, cases[i].site) != 0 || by != cases[i].by)
			fprintf(stderr, "case %zu: %s by %d, want %s by %s\n",
			        i, got, (int)by, cases[i].site,
			        referral_by_name(cases[i].by));
		CU_ASSERT_STRING_EQUAL(got, cases[i].site);
		CU_ASSERT_EQUAL(by, cases[i].by);
		/* by may be NULL */
		CU_ASSERT_EQUAL(referral_site(r, &c, NULL), s);
	}

	/* A circuit-id given as "hex:": the exact bytes, NUL included. */
	memset(&c, 0, sizeof(c));
	c.circuit = bin;
	c.ncircuit = sizeof(bin);
	CU_ASSERT_EQUAL(referral_site(r, &c, NULL), rt_site(r, "c"));
	c.ncircuit = 2;
	CU_ASSERT_EQUAL(referral_site(r, &c, NULL), rt_site(r, "d"));
	/* Both ids in a rule must be equal, not just one. */
	c.circuit = (const uint8_t *)"eth0/1";
	c.ncircuit = 6;
	c.remote = (const uint8_t *)"sw-a";
	c.nremote = 3;
	CU_ASSERT_EQUAL(referral_site(r, &c, NULL), rt_site(r, "b"));

	/* No node at all: the primary serves every site. */
	for (i = 0; i < referral_nsites(r); i++) {
		struct pick p;

		rt_choose(r, referral_site_name(r, (int)i), "debian", 0, &c, T0,
		        &p);
		EXPECT_STR(rt_targets(r, &p), "primary");
	}
	referral_free(r);
}

/* The own site: unknown (or absent) gives -1 when nothing matches. */
static void
test_site_unknown_own(void)
{
	static const char *const views[] = {
	        "{'site': 'nowhere', 'self': '', 'heartbeat': 30,"
	        " 'primary_boot_url': '', 'latest': {},"
	        " 'sites': [{'name': 'hq', 'parent': '', 'wan_cost': 0,"
	        "  'subnets': ['10.0.0.0/8'], 'option82': []}], 'nodes': []}",
	        "{'self': '', 'heartbeat': 30,"
	        " 'primary_boot_url': '', 'latest': {},"
	        " 'sites': [{'name': 'hq', 'parent': '', 'wan_cost': 0,"
	        "  'subnets': ['10.0.0.0/8'], 'option82': []}], 'nodes': []}",
	        "{'site': '', 'self': '', 'heartbeat': 30,"
	        " 'primary_boot_url': '', 'latest': {},"
	        " 'sites': [{'name': 'hq', 'parent': '', 'wan_cost': 0,"
	        "  'subnets': ['10.0.0.0/8'], 'option82': []}], 'nodes': []}",
	};
	size_t i;

	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		struct referral *r = NULL;
		struct ref_client c;
		json_t *v = rt_jload(views[i]);
		char why[256] = "";
		int rc;

		rc = referral_build(v, &r, why, sizeof(why));
		json_decref(v);
		CU_ASSERT(rc == 0 || rc == BL_EFORMAT);
		if (rc != 0) {
			CU_ASSERT(tu_printable(why));
			CU_ASSERT_PTR_NOT_NULL(strstr(why, "site"));
			continue;
		}
		memset(&c, 0, sizeof(c));
		c.giaddr = rt_ip4("10.1.1.1");
		CU_ASSERT_EQUAL(referral_site(r, &c, NULL), rt_site(r, "hq"));
		c.giaddr = rt_ip4("11.1.1.1");
		CU_ASSERT_EQUAL(referral_site(r, &c, NULL), -1);
		referral_free(r);
	}
}

/*
 * Longest prefix match against a brute-force search: random prefixes
 * (nested across sites, never within one), random addresses in them and
 * outside them.
 */
struct pfx {
	uint8_t a[16];
	int len, site;
};

static int
pfx_has(const struct pfx *p, const uint8_t *a)
{
	int i, bits = p->len;

	for (i = 0; bits > 0; i++, bits -= 8) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((a[i] & m) != p->a[i])
			return 0;
	}
	return 1;
}

static void
pfx_mask(uint8_t *a, int len, int alen)
{
	int i;

	for (i = 0; i < alen; i++, len -= 8) {
		if (len >= 8)
			continue;
		a[i] &= len > 0 ? (uint8_t)(0xff << (8 - len)) : 0;
	}
}

/* Address a with its first len bits replaced by those of p. */
static void
pfx_put(const struct pfx *p, uint8_t *a)
{
	int i, bits = p->len;

	for (i = 0; bits > 0; i++, bits -= 8) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		a[i] = (uint8_t)((p->a[i] & m) | (a[i] & ~m));
	}
}

static uint64_t
rnd(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* n random prefixes of alen bytes with lengths lo..hi, first byte(s)
 * mostly from base[0..nbase), no duplicates, none nested in another of
 * the same site; sites 1..nsites-1.  Returns how many were made. */
static size_t
make_prefixes(struct pfx *p, size_t n, int alen, int lo, int hi,
        const uint8_t *base, int nbase, int nsites, uint64_t *seed)
{
	size_t k = 0, j, tries;

	for (tries = 0; k < n && tries < n * 4; tries++) {
		struct pfx q;
		int clash = 0;

		tu_fill(q.a, sizeof(q.a), rnd(seed));
		if (rnd(seed) % 10 != 0)
			memcpy(q.a, base, (size_t)nbase);
		q.len = lo + (int)(rnd(seed) % (uint64_t)(hi - lo + 1));
		q.site = 1 + (int)(rnd(seed) % (uint64_t)(nsites - 1));
		pfx_mask(q.a, q.len, alen);
		memset(q.a + alen, 0, sizeof(q.a) - (size_t)alen);
		for (j = 0; j < k && !clash; j++) {
			if (p[j].len == q.len && pfx_has(&p[j], q.a))
				clash = 1;
			else if (p[j].site == q.site &&
			        (pfx_has(&p[j], q.a) || pfx_has(&q, p[j].a)))
				clash = 1;
		}
		if (!clash)
			p[k++] = q;
	}
	return k;
}

static void
test_site_lpm_random(void)
{
	enum { NSITES = 20, N4 = 1500, N6 = 300, NQ = 20000 };
	static const uint8_t b4[] = {10}, b6[] = {0x20, 0x01, 0x0d, 0xb8};
	struct pfx *p4, *p6;
	json_t *v, *sites, *subnets[NSITES];
	struct referral *r;
	uint64_t seed = 42;
	size_t n4, n6, i, j, bad = 0;
	char name[16], buf[64];

	p4 = calloc(N4, sizeof(*p4));
	p6 = calloc(N6, sizeof(*p6));
	CU_ASSERT_FATAL(p4 != NULL && p6 != NULL);
	n4 = make_prefixes(p4, N4, 4, 8, 32, b4, 1, NSITES, &seed);
	n6 = make_prefixes(p6, N6, 16, 16, 128, b6, 4, NSITES, &seed);
	CU_ASSERT(n4 > N4 / 2 && n6 > N6 / 2);

	sites = json_array();
	for (i = 0; i < NSITES; i++) {
		subnets[i] = json_array();
		snprintf(name, sizeof(name), "s%zu", i);
		json_array_append_new(sites,
		        json_pack("{s:s, s:s, s:i, s:O, s:[]}", "name", name,
		                "parent", i ? "s0" : "", "wan_cost", 1,
		                "subnets", subnets[i], "option82"));
	}
	for (i = 0; i < n4 + n6; i++) {
		const struct pfx *q = i < n4 ? &p4[i] : &p6[i - n4];
		size_t len;

		inet_ntop(i < n4 ? AF_INET : AF_INET6, q->a, buf, sizeof(buf));
		len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, "/%d", q->len);
		json_array_append_new(subnets[q->site], json_string(buf));
	}
	v = json_pack("{s:s, s:s, s:i, s:s, s:{}, s:o, s:[]}", "site", "s0",
	        "self", "", "heartbeat", HB, "primary_boot_url", "", "latest",
	        "sites", sites, "nodes");
	CU_ASSERT_FATAL(v != NULL);
	r = rt_build_json(v);
	json_decref(v);
	for (i = 0; i < NSITES; i++)
		json_decref(subnets[i]);

	for (i = 0; i < NQ; i++) {
		int six = i % 4 == 3, want = 0, wlen = -1, got;
		const struct pfx *set = six ? p6 : p4;
		size_t n = six ? n6 : n4;
		struct ref_client c;
		uint8_t a[16];
		enum ref_by by, wby;

		/* an address in a random prefix, or anywhere */
		tu_fill(a, sizeof(a), rnd(&seed));
		if (rnd(&seed) % 8 != 0)
			pfx_put(&set[rnd(&seed) % n], a);
		if (!six && a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0)
			continue; /* 0 means "unknown" */
		for (j = 0; j < n; j++)
			if (set[j].len > wlen && pfx_has(&set[j], a)) {
				wlen = set[j].len;
				want = set[j].site;
			}
		memset(&c, 0, sizeof(c));
		if (six) {
			c.has_addr6 = 1;
			memcpy(c.addr6, a, 16);
		} else if (i % 2) {
			memcpy(&c.giaddr, a, 4);
		} else {
			memcpy(&c.ciaddr, a, 4);
		}
		got = referral_site(r, &c, &by);
		snprintf(name, sizeof(name), "s%d", want);
		wby = wlen < 0              ? REF_BY_DEFAULT
		        : six || i % 2 == 0 ? REF_BY_CLIENT
		                            : REF_BY_GIADDR;
		if (got != rt_site(r, name) || by != wby) {
			if (bad++ < 5) {
				inet_ntop(six ? AF_INET6 : AF_INET, a, buf,
				        sizeof(buf));
				fprintf(stderr,
				        "%s: got %s by %s, want s%d (/%d)\n",
				        buf, referral_site_name(r, got),
				        referral_by_name(by), want, wlen);
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	referral_free(r);
	free(p4);
	free(p6);
}

/*
 * The candidate tree:
 *
 *   hq ---10--- eu ---5--- lyon       other ---1--- o1
 *    |           `---7--- paris       (a second tree)
 *    `---20--- us ---3--- nyc         lonely (a third, no node)
 *
 * One node in each site but us and lonely, listed out of order.
 */
/* The same prefix in many sites (allowed, or refused with a message),
 * and a longer one inside it elsewhere: the longer one still wins. */
static void
test_identical_prefixes(void)
{
	json_t *v = rt_jload(lookup_view), *sites = json_object_get(v, "sites");
	struct referral *r = NULL;
	struct ref_client c;
	char why[256] = "", name[16];
	int rc, i;

	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "dup%d", i);
		json_array_append_new(sites,
		        json_pack("{s:s, s:s, s:i, s:[s], s:[]}", "name", name,
		                "parent", "hq", "wan_cost", 1, "subnets",
		                "10.0.0.0/8", "option82"));
	}
	rc = referral_build(v, &r, why, sizeof(why));
	json_decref(v);
	CU_ASSERT(rc == 0 || rc == BL_EFORMAT);
	if (rc != 0) {
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "subnets"));
		return;
	}
	memset(&c, 0, sizeof(c));
	c.giaddr = rt_ip4("10.20.5.129");
	CU_ASSERT_EQUAL(referral_site(r, &c, NULL), rt_site(r, "c"));
	c.giaddr = rt_ip4("10.20.1.1");
	CU_ASSERT_EQUAL(referral_site(r, &c, NULL), rt_site(r, "a"));
	c.giaddr = rt_ip4("10.1.1.1");
	CU_ASSERT(strncmp(referral_site_name(r, referral_site(r, &c, NULL)),
	                  "dup", 3) == 0 ||
	        referral_site(r, &c, NULL) == rt_site(r, "hq"));
	referral_free(r);
}

/*
 * Bad views: a valid base view, changed at one path ("sites/1/subnets/0";
 * "-" appends to an array, a NULL value deletes the member).
 */
static const char base_view[] =
        "{'site': 'lyon', 'self': 'n1', 'heartbeat': 30,"
        " 'primary_boot_url': 'http://10.0.0.1:80',"
        " 'latest': {'debian': 3},"
        " 'sites': ["
        "  {'name': 'hq', 'parent': '', 'wan_cost': 0,"
        "   'subnets': ['10.0.0.0/8'], 'option82': []},"
        "  {'name': 'lyon', 'parent': 'hq', 'wan_cost': 5,"
        "   'subnets': ['10.20.0.0/16', '2001:db8::/32'],"
        "   'option82': [{'circuit_id': 'eth0', 'remote_id': 'hex:0a0b'}]}],"
        " 'nodes': ["
        "  {'id': 'n1', 'site': 'lyon', 'boot_url': 'http://10.20.0.5:80',"
        "   'healthy': true, 'busy': false, 'images': ['debian@3']}]}";

static json_t *
mutate(const char *path, const char *js)
{
	json_t *v = rt_jload(base_view), *at = v;
	json_t *val = js != NULL ? rt_jload(js) : NULL;
	char buf[128], *key, *next;

	snprintf(buf, sizeof(buf), "%s", path);
	for (key = buf; (next = strchr(key, '/')) != NULL; key = next + 1) {
		*next = '\0';
		at = json_is_array(at) ? json_array_get(at, strtoul(key, 0, 10))
		                       : json_object_get(at, key);
		CU_ASSERT_FATAL(at != NULL);
	}
	if (json_is_array(at)) {
		if (strcmp(key, "-") == 0)
			json_array_append_new(at, val);
		else if (val == NULL)
			json_array_remove(at, strtoul(key, 0, 10));
		else
			json_array_set_new(at, strtoul(key, 0, 10), val);
	} else if (val == NULL) {
		json_object_del(at, key);
	} else {
		json_object_set_new(at, key, val);
	}
	return v;
}

static void
test_bad_views(void)
{
	static const struct {
		const char *path, *value, *why;
	} bad[] = {
	        {"site", "5", "site"},
	        {"self", "[]", "self"},
	        {"heartbeat", "'30'", "heartbeat"},
	        {"heartbeat", "-5", "heartbeat"},
	        {"heartbeat", "1.5", "heartbeat"},
	        {"primary_boot_url", "7", "primary_boot_url"},
	        {"latest", "[]", "latest"},
	        {"latest/debian", "'3'", "latest"},
	        {"latest/debian", "-1", "latest"},
	        {"sites", "{}", "sites"},
	        {"sites/1", "5", "sites[1]"},
	        {"sites/1/name", "'Lyon!'", "sites[1].name"},
	        {"sites/1/name", "7", "sites[1].name"},
	        {"sites/1/name", "''", "sites[1].name"},
	        {"sites/1/parent", "'paris'", "sites[1].parent"},
	        {"sites/1/parent", "3", "sites[1].parent"},
	        {"sites/1/wan_cost", "'x'", "sites[1].wan_cost"},
	        {"sites/1/wan_cost", "-1", "sites[1].wan_cost"},
	        {"sites/1/wan_cost", "true", "sites[1].wan_cost"},
	        {"sites/1/subnets", "'10.20.0.0/16'", "sites[1].subnets"},
	        {"sites/1/subnets/0", "'10.20.0.1/16'", "sites[1].subnets[0]"},
	        {"sites/1/subnets/0", "'banana'", "sites[1].subnets[0]"},
	        {"sites/1/subnets/0", "'10.20.0.0/33'", "sites[1].subnets[0]"},
	        {"sites/1/subnets/0", "'10.20.0.0'", "sites[1].subnets[0]"},
	        {"sites/1/subnets/1", "'2001:db8::1/32'",
	                "sites[1].subnets[1]"},
	        {"sites/1/subnets/0", "42", "sites[1].subnets[0]"},
	        {"sites/1/option82", "{}", "sites[1].option82"},
	        {"sites/1/option82/0", "'eth0'", "sites[1].option82[0]"},
	        {"sites/1/option82/0/circuit_id", "'hex:0g'",
	                "sites[1].option82[0]"},
	        {"sites/1/option82/0/circuit_id", "'hex:abc'",
	                "sites[1].option82[0]"},
	        {"sites/1/option82/0/remote_id", "'a\\u0001b'",
	                "sites[1].option82[0]"},
	        {"sites/1/option82/0/circuit_id", "7", "sites[1].option82[0]"},
	        {"nodes", "'x'", "nodes"},
	        {"nodes/0", "[]", "nodes[0]"},
	        {"nodes/0/id", "3", "nodes[0].id"},
	        {"nodes/0/site", "'paris'", "nodes[0].site"},
	        {"nodes/0/site", "1", "nodes[0].site"},
	        /* what the view names goes into messages printable */
	        {"nodes/0/site", "'ly\\u001b[2Jon'", "nodes[0].site"},
	        {"sites/1/parent", "'h\\u007fq'", "sites[1].parent"},
	        {"nodes/0/boot_url", "5", "nodes[0].boot_url"},
	        {"nodes/0/healthy", "'yes'", "nodes[0]"},
	        {"nodes/0/busy", "1", "nodes[0]"},
	        {"nodes/0/images", "'debian@3'", "nodes[0].images"},
	        {"nodes/0/images", "{}", "nodes[0].images"},
	        {"nodes/0/images/0", "5", "nodes[0].images"},
	        {"nodes/0/images/0", "'debian@x'", "nodes[0].images"},
	        {"nodes/0/images/0", "'debian@0'", "nodes[0].images"},
	        {"nodes/0/images/0", "'debian@'", "nodes[0].images"},
	        {"nodes/0/images/0", "''", "nodes[0].images"},
	};
	/* Refused or not, as long as it is defined: 0, or an error whose
	 * message names the field. */
	static const struct {
		const char *path, *value, *why;
	} soft[] = {
	        {"sites/0/parent", "'lyon'", "sites"}, /* a cycle */
	        {"sites/1/parent", "'lyon'", "sites"}, /* its own parent */
	        {"sites/1/name", "'hq'", "site"},      /* twice */
	        {"nodes/-",
	                "{'id': 'n1', 'site': 'hq', 'boot_url': '',"
	                " 'healthy': true, 'busy': false, 'images': []}",
	                "nodes[1]"}, /* twice */
	        {"sites/0/subnets/-", "'10.20.0.0/16'", "subnets"},
	        {"sites/1/option82/0", "{}", "sites[1].option82[0]"},
	        {"sites/1/option82/0/circuit_id", "''", "sites[1].option82[0]"},
	        {"sites/1/wan_cost", "1000001", "sites[1].wan_cost"},
	        {"heartbeat", "0", "heartbeat"},
	        {"latest/debian", "0", "latest"},
	        {"nodes/0/images/0", "'rescue'", "nodes[0].images"},
	        {"nodes/0/images/0", "'../x@1'", "nodes[0].images"},
	        {"nodes/0/boot_url", "'http://10.20.0.5:80/'",
	                "nodes[0].boot_url"},
	        {"nodes/0/boot_url", "'ftp://x'", "nodes[0].boot_url"},
	        {"site", NULL, "site"},
	        {"self", NULL, "self"},
	        {"heartbeat", NULL, "heartbeat"},
	        {"latest", NULL, "latest"},
	        {"primary_boot_url", NULL, "primary_boot_url"},
	        {"sites", NULL, "sites"},
	        {"nodes", NULL, "nodes"},
	        {"sites/1/subnets", NULL, "subnets"},
	        {"sites/1/option82", NULL, "option82"},
	        {"sites/1/parent", NULL, "parent"},
	        {"sites/1/wan_cost", NULL, "wan_cost"},
	        {"nodes/0/images", NULL, "images"},
	        {"nodes/0/busy", NULL, "busy"},
	        {"nodes/0/boot_url", NULL, "boot_url"},
	};
	struct referral *r;
	char why[256];
	size_t i;
	int rc;

	/* The base builds, and keys of no concern here are ignored. */
	r = rt_build(base_view);
	referral_free(r);
	{
		json_t *v = mutate("sites/1/boot", "[{'name': 'x'}]");

		json_object_set_new(v, "extra", json_true());
		json_object_set_new(
		        json_array_get(json_object_get(v, "sites"), 0),
		        "images", json_string("whatever"));
		r = rt_build_json(v);
		referral_free(r);
		json_decref(v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *v = mutate(bad[i].path, bad[i].value);

		r = NULL;
		why[0] = '\0';
		rc = referral_build(v, &r, why, sizeof(why));
		if (rc != BL_EFORMAT || strstr(why, bad[i].why) == NULL)
			fprintf(stderr, "bad %zu (%s = %s): %d '%s'\n", i,
			        bad[i].path, bad[i].value, rc, why);
		CU_ASSERT_EQUAL(rc, BL_EFORMAT);
		if (rc == 0)
			referral_free(r);
		else
			CU_ASSERT(tu_printable(why));
		CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].why));
		json_decref(v);
	}
	for (i = 0; i < sizeof(soft) / sizeof(soft[0]); i++) {
		json_t *v = mutate(soft[i].path, soft[i].value);
		struct ref_client c;
		struct pick p;
		size_t s;

		r = NULL;
		why[0] = '\0';
		rc = referral_build(v, &r, why, sizeof(why));
		json_decref(v);
		if (getenv("BL_TEST_VERBOSE") != NULL)
			fprintf(stderr, "soft %zu (%s = %s): %d '%s'\n", i,
			        soft[i].path,
			        soft[i].value ? soft[i].value : "(deleted)", rc,
			        why);
		CU_ASSERT(rc == 0 || rc == BL_EFORMAT || rc == BL_ETOOBIG);
		if (rc != 0) {
			CU_ASSERT(tu_printable(why));
			CU_ASSERT_PTR_NOT_NULL(strstr(why, soft[i].why));
			continue;
		}
		/* Built: it must answer. */
		referral_confirmed(r, T0);
		memset(&c, 0, sizeof(c));
		c.giaddr = rt_ip4("10.20.1.1");
		for (s = 0; s < referral_nsites(r); s++) {
			memset(&p, 0, sizeof(p));
			p.c.trace = p.steps;
			p.c.ntrace = 64;
			CU_ASSERT(referral_choose(r, (int)s,
			                  referral_image(r, "debian", 0), &c,
			                  T0, &p.c) <= REF_TARGETS_MAX);
		}
		CU_ASSERT(referral_site(r, &c, NULL) < (int)referral_nsites(r));
		referral_free(r);
	}

	/* Not an object at all. */
	{
		json_t *v = json_array();

		why[0] = '\0';
		CU_ASSERT_EQUAL(
		        referral_build(v, &r, why, sizeof(why)), BL_EFORMAT);
		CU_ASSERT(tu_printable(why));
		json_decref(v);
	}
}

/* Bounds: a URL too long, too many images on a node. */
static void
test_bounds(void)
{
	struct referral *r = NULL;
	char why[256], url[REF_URL_MAX + 32];
	json_t *v, *imgs;
	size_t i;
	int rc;

	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	memcpy(url, "http://", 7);
	v = mutate("nodes/0/boot_url", "''");
	json_object_set_new(json_array_get(json_object_get(v, "nodes"), 0),
	        "boot_url", json_string(url));
	why[0] = '\0';
	rc = referral_build(v, &r, why, sizeof(why));
	CU_ASSERT(rc == BL_ETOOBIG || rc == BL_EFORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "nodes[0].boot_url"));
	json_decref(v);

	v = mutate("nodes/0/images", "[]");
	imgs = json_object_get(
	        json_array_get(json_object_get(v, "nodes"), 0), "images");
	for (i = 0; i < REF_IMAGES_MAX + 1; i++) {
		char ref[32];

		snprintf(ref, sizeof(ref), "img%zu@1", i);
		json_array_append_new(imgs, json_string(ref));
	}
	why[0] = '\0';
	rc = referral_build(v, &r, why, sizeof(why));
	CU_ASSERT(rc == BL_ETOOBIG || rc == BL_EFORMAT);
	if (rc == 0)
		referral_free(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "nodes[0].images"));
	/* REF_IMAGES_MAX is fine */
	json_array_remove(imgs, 0);
	r = rt_build_json(v);
	CU_ASSERT(referral_image(r, "img256", 1) >= 0);
	referral_free(r);
	json_decref(v);
}

int
test_referral_view_register(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
	        {"site lookup: rules in order, longest prefix",
	                test_site_lookup},
	        {"site lookup: unknown own site", test_site_unknown_own},
	        {"site lookup against brute force", test_site_lpm_random},
	        {"the same prefix in many sites", test_identical_prefixes},
	        {"bad views name the field", test_bad_views},
	        {"bounds", test_bounds},
	};
	CU_pSuite s = CU_add_suite("referral_view", NULL, NULL);
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}

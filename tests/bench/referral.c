/*
 * referral.c - benchmark driver: referral decisions per second on one
 * thread, over a view the size of a large deployment.
 *
 * The view: 1,000 sites (a root, 30 regions under it, the rest branches
 * under random regions, wan_cost 1..100), 100,000 IPv4 subnets (95,000
 * distinct /24s over random sites, 5,000 /28s nested in some of them but
 * owned by another site), 700 nodes on 600 sites (100 sites with two),
 * each holding a random subset of 20 images (img0..img9, versions 1 and
 * 2), 10% unhealthy, 5% busy, option 82 rules on 50 sites.
 *
 * A decision is what a boot server does per request: referral_site for
 * the client (a random MAC; a giaddr, or a ciaddr, in a random subnet;
 * 5% with option 82 circuit and remote ids), referral_image for a random
 * name (a sixth of them unknown) and version (0: latest), referral_choose
 * without a trace.  The clients are made beforehand; each decision is
 * timed with CLOCK_MONOTONIC, and the throughput is over the whole run,
 * those clock reads included.  Pinned to CPU 0 when allowed.
 *
 *   bl_bench_referral [decisions] [seed]    (default 2000000, 1)
 *
 * Prints "# " lines of detail and one result line:
 *   bench referral: ours=<decisions/s> p99=<us> (target ...)
 */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "error.h"
#include "referral.h"

#define NSITES    1000
#define NREGIONS  30
#define N24       95000
#define N28       5000
#define NNODESITE 600
#define NDOUBLE   100 /* sites of the 600 with two nodes */
#define NIMGNAME  10  /* img0..img9, versions 1 and 2: 20 images */
#define NASKNAME  12  /* names asked for: img10 and img11 are unknown */
#define NOPT82    50
#define HEARTBEAT 30

/* A client made beforehand. */
struct bclient {
	uint8_t mac[6];
	uint8_t how;   /* 0 giaddr, 1 ciaddr, 2 option 82 */
	uint8_t name;  /* 0..NASKNAME-1 */
	uint8_t ver;   /* 0..2 */
	uint16_t rule; /* with how 2: the option 82 rule */
	uint32_t addr; /* network order */
};

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t
below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static double
ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 +
	        (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static void
shuffle(uint32_t *a, uint32_t n)
{
	uint32_t i, j, t;

	for (i = n - 1; i > 0; i--) {
		j = below(i + 1);
		t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

static json_t *
cidr(uint32_t addr, int len)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%u.%u.%u.%u/%d", addr >> 24,
	        (addr >> 16) & 255, (addr >> 8) & 255, addr & 255, len);
	return json_string(buf);
}

/* Subnets of the view, kept to aim clients at: host-order base, length. */
static uint32_t sub_base[N24 + N28];
static uint8_t sub_len[N24 + N28];

static json_t *
make_sites(void)
{
	static uint32_t perm[N24];
	json_t *sites = json_array(), *subnets[NSITES], *rules[NSITES];
	static uint16_t owner[N24];
	uint32_t i, s;
	char name[32], parent[32];

	for (s = 0; s < NSITES; s++) {
		subnets[s] = json_array();
		rules[s] = json_array();
	}
	/* distinct /24s from 10.0.0.0 up, each to a random site */
	for (i = 0; i < N24; i++) {
		owner[i] = (uint16_t)below(NSITES);
		sub_base[i] = 0x0a000000u + (i << 8);
		sub_len[i] = 24;
		json_array_append_new(subnets[owner[i]], cidr(sub_base[i], 24));
		perm[i] = i;
	}
	/* /28s inside distinct /24s, owned by another site */
	shuffle(perm, N24);
	for (i = 0; i < N28; i++) {
		uint32_t p = perm[i];

		do
			s = below(NSITES);
		while (s == owner[p]);
		sub_base[N24 + i] = sub_base[p] + (below(16) << 4);
		sub_len[N24 + i] = 28;
		json_array_append_new(subnets[s], cidr(sub_base[N24 + i], 28));
	}
	/* option 82: both ids on 50 sites, a circuit-only rule on some */
	for (i = 0; i < NOPT82; i++) {
		char c[32], r[32];

		s = 1 + i * (NSITES - 1) / NOPT82;
		snprintf(c, sizeof(c), "port-%u", i);
		snprintf(r, sizeof(r), "hex:%08x", 0x5a000000u + i);
		json_array_append_new(rules[s],
		        json_pack(
		                "{s:s, s:s}", "circuit_id", c, "remote_id", r));
		if (i % 3 == 0) {
			snprintf(c, sizeof(c), "uplink-%u", i);
			json_array_append_new(
			        rules[s], json_pack("{s:s}", "circuit_id", c));
		}
	}
	for (s = 0; s < NSITES; s++) {
		snprintf(name, sizeof(name), "site-%04u", s);
		if (s == 0)
			parent[0] = '\0';
		else if (s <= NREGIONS)
			snprintf(parent, sizeof(parent), "site-0000");
		else
			snprintf(parent, sizeof(parent), "site-%04u",
			        1 + below(NREGIONS));
		json_array_append_new(sites,
		        json_pack("{s:s, s:s, s:i, s:o, s:o}", "name", name,
		                "parent", parent, "wan_cost",
		                s ? 1 + (int)below(100) : 0, "subnets",
		                subnets[s], "option82", rules[s]));
	}
	return sites;
}

static json_t *
make_nodes(size_t *nnodes)
{
	static uint32_t perm[NSITES];
	json_t *nodes = json_array();
	uint32_t i, k, n = 0;

	for (i = 0; i < NSITES; i++)
		perm[i] = i;
	shuffle(perm, NSITES);
	for (i = 0; i < NNODESITE; i++) {
		for (k = 0; k < (i < NDOUBLE ? 2u : 1u); k++, n++) {
			json_t *imgs = json_array();
			char id[32], site[32], url[64], ref[32];
			uint32_t m;

			for (m = 0; m < 2 * NIMGNAME; m++) {
				if (rnd() & 1)
					continue;
				snprintf(ref, sizeof(ref), "img%u@%u", m / 2,
				        1 + m % 2);
				json_array_append_new(imgs, json_string(ref));
			}
			snprintf(id, sizeof(id), "node-%04u", n);
			snprintf(site, sizeof(site), "site-%04u", perm[i]);
			snprintf(url, sizeof(url), "http://172.%u.%u.%u:80",
			        16 + n / 65536, (n >> 8) & 255, n & 255);
			json_array_append_new(nodes,
			        json_pack("{s:s, s:s, s:s, s:b, s:b, s:o}",
			                "id", id, "site", site, "boot_url", url,
			                "healthy", below(100) >= 10, "busy",
			                below(100) < 5, "images", imgs));
		}
	}
	*nnodes = n;
	return nodes;
}

static json_t *
make_view(size_t *nnodes)
{
	json_t *latest = json_object();
	char name[16];
	int i;

	for (i = 0; i < NIMGNAME; i++) {
		snprintf(name, sizeof(name), "img%d", i);
		json_object_set_new(latest, name, json_integer(2));
	}
	return json_pack("{s:s, s:s, s:i, s:s, s:o, s:o, s:o}", "site",
	        "site-0000", "self", "", "heartbeat", HEARTBEAT,
	        "primary_boot_url", "http://10.0.0.1:80", "latest", latest,
	        "sites", make_sites(), "nodes", make_nodes(nnodes));
}

static void
make_clients(struct bclient *cl, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct bclient *b = &cl[i];
		uint32_t s = below(N24 + N28);
		uint64_t x = rnd();

		memcpy(b->mac, &x, sizeof(b->mac));
		b->mac[0] &= 0xfe; /* unicast */
		b->how = below(100) < 5 ? 2 : (uint8_t)below(2);
		b->name = (uint8_t)below(NASKNAME);
		b->ver = (uint8_t)below(3);
		b->rule = (uint16_t)below(NOPT82);
		b->addr = htonl(
		        sub_base[s] + 1 + below((1u << (32 - sub_len[s])) - 2));
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;
	size_t i, nnodes, by[REF_BY_DEFAULT + 1] = {0}, primary_only = 0;
	char why[256] = "", circ[NOPT82][24], rem[NOPT82][4];
	const char *names[NASKNAME];
	char namebuf[NASKNAME][16];
	struct bclient *cl;
	struct referral *r;
	struct timespec t0, a, b;
	uint32_t *lat;
	uint64_t sink = 0;
	cpu_set_t cpus;
	double build_ms, make_ms, run_ms;
	time_t now;
	json_t *v;
	int rc;

	rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	if (n == 0) {
		fprintf(stderr,
		        "usage: bl_bench_referral [decisions] [seed]\n");
		return 2;
	}
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	rc = sched_setaffinity(0, sizeof(cpus), &cpus);
	printf("# %s\n", rc == 0 ? "pinned to CPU 0" : "not pinned");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	v = make_view(&nnodes);
	make_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = referral_build(v, &r, why, sizeof(why));
	build_ms = ms_since(&t0);
	json_decref(v);
	if (rc != 0) {
		fprintf(stderr, "referral_build: %s: %s\n", bl_strerror(rc),
		        why);
		return 1;
	}
	now = time(NULL);
	referral_confirmed(r, now);
	printf("# view: %d sites, %d subnets (%d /24, %d nested /28), "
	       "%zu nodes on %d sites, 20 images, option 82 on %d sites\n",
	        NSITES, N24 + N28, N24, N28, nnodes, NNODESITE, NOPT82);
	printf("# view JSON made in %.0f ms; referral_build %.1f ms\n", make_ms,
	        build_ms);

	for (i = 0; i < NASKNAME; i++) {
		snprintf(namebuf[i], sizeof(namebuf[i]), "img%zu", i);
		names[i] = namebuf[i];
	}
	for (i = 0; i < NOPT82; i++) {
		uint32_t x = htonl(0x5a000000u + (uint32_t)i);

		snprintf(circ[i], sizeof(circ[i]), "port-%zu", i);
		memcpy(rem[i], &x, 4);
	}
	cl = malloc(n * sizeof(*cl));
	lat = malloc(n * sizeof(*lat));
	if (cl == NULL || lat == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	make_clients(cl, n);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		const struct bclient *bc = &cl[i];
		struct ref_client c;
		struct ref_choice ch;
		enum ref_by how;
		int s, img;
		size_t k;

		memset(&c, 0, sizeof(c));
		c.mac = bc->mac;
		c.maclen = sizeof(bc->mac);
		if (bc->how == 2) {
			c.circuit = (const uint8_t *)circ[bc->rule];
			c.ncircuit = strlen(circ[bc->rule]);
			c.remote = (const uint8_t *)rem[bc->rule];
			c.nremote = 4;
			c.giaddr = bc->addr;
		} else if (bc->how == 1) {
			c.ciaddr = bc->addr;
		} else {
			c.giaddr = bc->addr;
		}
		ch.trace = NULL;
		ch.ntrace = 0;

		clock_gettime(CLOCK_MONOTONIC, &a);
		s = referral_site(r, &c, &how);
		img = referral_image(r, names[bc->name], bc->ver);
		k = referral_choose(r, s, img, &c, now, &ch);
		clock_gettime(CLOCK_MONOTONIC, &b);

		lat[i] = (uint32_t)((b.tv_sec - a.tv_sec) * 1000000000L +
		        (b.tv_nsec - a.tv_nsec));
		by[how]++;
		primary_only += k == 1 && ch.target[0] == REF_PRIMARY;
		sink += (uint64_t)(k ? ch.target[0] : 7) + (uint64_t)s;
	}
	run_ms = ms_since(&t0);

	qsort(lat, n, sizeof(*lat), cmp_u32);
	printf("# %zu decisions in %.0f ms; per decision: p50 %.2f us, "
	       "p99 %.2f us, max %.2f us\n",
	        n, run_ms, lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3,
	        lat[n - 1] / 1e3);
	printf("# sites by: option 82 %zu, giaddr %zu, client address %zu, "
	       "own site %zu; only the primary: %zu (checksum %llu)\n",
	        by[REF_BY_OPTION82], by[REF_BY_GIADDR], by[REF_BY_CLIENT],
	        by[REF_BY_DEFAULT], primary_only, (unsigned long long)sink);
	printf("bench referral: ours=%.0f p99=%.2f (target >= 200000/s, "
	       "p99 < 50 us)\n",
	        (double)n / (run_ms / 1e3), lat[n * 99 / 100] / 1e3);
	referral_free(r);
	free(cl);
	free(lat);
	return 0;
}

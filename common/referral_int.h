/*
 * referral_int.h - the referral table's layout, shared by the code that
 * builds it from a view (referral_build.c) and the code that answers
 * from it (referral.c).  Not for other modules: they use referral.h.
 */
#ifndef BL_REFERRAL_INT_H
#define BL_REFERRAL_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "manifest.h"
#include "referral.h"
#include "site.h"

__extension__ typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)

struct rsite {
	char name[SITE_NAME_MAX + 1];
	int parent;                /* index, -1 for a root */
	uint32_t wan_cost;         /* of the link to the parent */
	size_t cand, ncand;        /* candidates: cands[cand .. cand+ncand) */
	size_t first_node, nnodes; /* own nodes (nodes are sorted by site) */
};

struct rnode {
	char id[64];
	int site;
	char url[REF_URL_MAX];
	uint32_t addr;
	int healthy, busy;
	uint64_t hid; /* hash of the id, for rendezvous hashing */
	int *img;     /* sorted image ids */
	size_t nimg;
};

struct cand {
	int node;
	uint64_t key; /* 0: own site; else WAN cost + 1 */
};

struct rule {
	int kind; /* 0 both ids, 1 circuit only, 2 remote only */
	int site;
	size_t nc, nr;
	uint8_t c[SITE_OPT82_LEN], r[SITE_OPT82_LEN];
};

struct latest {
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t version;
};

struct referral {
	int own;  /* the view's own site, or -1 */
	int self; /* node index of "self", REF_PRIMARY on the primary */
	int heartbeat;
	time_t confirmed;
	char purl[REF_URL_MAX];
	uint32_t paddr;

	struct rsite *sites;
	size_t nsites;
	int *by_name; /* site indexes sorted by name */
	struct rnode *nodes;
	size_t nnodes;
	struct cand *cands;
	size_t ncands;

	uint32_t *lo4, *hi4; /* disjoint IPv4 ranges, sorted */
	int *site4;
	size_t n4;
	u128 *lo6, *hi6;
	int *site6;
	size_t n6;

	struct rule *rules;
	size_t nrules;

	char **imgs; /* interned "name@version", sorted */
	size_t nimgs;
	char **ximgs;  /* held by self only, unknown to the view: sorted, */
	size_t nximgs; /* ids nimgs + i */
	struct latest *latest;
	size_t nlatest;
};

/* Helpers of referral.c that building uses too. */

/* qsort, which must not see a NULL base even for no elements. */
void ref_sort(void *base, size_t n, size_t size,
        int (*cmp)(const void *, const void *));
/* FNV-1a of p[0..n): node ids and MACs for rendezvous hashing. */
uint64_t ref_fnv64(const void *p, size_t n);
int ref_cmp_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb);
int ref_cmp_rule(const void *a, const void *b);   /* struct rule */
int ref_cmp_str(const void *a, const void *b);    /* char * */
int ref_cmp_int(const void *a, const void *b);    /* int */
int ref_cmp_latest(const void *a, const void *b); /* struct latest */
/* The interned id of ref ("name@version"), or -1. */
int ref_image_id(const struct referral *r, const char *ref);

#endif /* BL_REFERRAL_INT_H */

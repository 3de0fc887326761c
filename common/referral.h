/*
 * referral.h - which node a booting client is sent to, as pure functions
 * over one immutable table (after dhcpd's subnet lookup and the
 * rendezvous hashing of load balancers).
 *
 * The table is built from a "referral view": what every site catalog
 * carries about the whole tree (sites with subnets, option 82 rules and
 * WAN costs; nodes with health, boot address and complete images) plus
 * who is asking.  Both daemons build it: a node from its catalog, the
 * primary from its configuration and heartbeats, so any node can refer a
 * client without asking the primary.  The view:
 *
 *   {"site": "lyon",              the asking daemon's own site
 *    "self": "node-id",           "" on the primary
 *    "heartbeat": 30,             seconds between node heartbeats
 *    "primary_boot_url": "http://10.0.0.1:80",   "" = primary not booting
 *    "latest": {"debian": 3},     version of refs written without one
 *    "sites": [{"name", "parent", "wan_cost", "subnets": ["10.20.0.0/16"],
 *               "option82": [{"circuit_id": "..", "remote_id": ".."}]}],
 *    "nodes": [{"id", "site", "boot_url": "http://10.20.0.5:80",
 *               "healthy": true, "busy": false, "images": ["debian@3"]}]}
 *
 * Other keys (a site's boot entries, its images) are ignored here.
 *
 * A request maps to a site (referral_site), first match wins:
 *   1. an option 82 rule: circuit-id and remote-id both equal, then a
 *      rule naming only the circuit-id, then only the remote-id;
 *   2. giaddr (the relay's address on the client's segment) by longest
 *      prefix match over every site's subnets;
 *   3. the client's own address (ciaddr, or the HTTP peer) likewise;
 *   4. this daemon's address on the receiving interface likewise;
 *   5. the daemon's own site.
 * Nested subnets in different sites are allowed: the longest prefix wins.
 * The lookup is a binary search over disjoint address ranges (one array
 * for IPv4, one for IPv6), so 100,000 subnets cost ~17 comparisons.
 *
 * A node is chosen for (site, image) by referral_choose: candidates in
 * order (the site's own nodes, then the others by the sum of wan_cost
 * along the site tree; sites in another tree are never candidates), the
 * first tier (same own/distance) with an eligible node wins, and among
 * several eligible nodes of that tier the MAC picks one by rendezvous
 * hashing (stable while the set stays the same; a node leaving moves
 * only its own clients).  Eligible: healthy (in the view, and the view
 * itself confirmed at most 3 heartbeats ago, or for the primary's own
 * table the node's last heartbeat that recent), not busy (at its
 * transfer limit), with a boot address, holding the image complete and
 * verified.  The asking node itself ("self") is judged by what it knows:
 * always healthy and never stale, reachable at its own address whatever
 * the view's boot_url, busy and holding images as referral_self says.
 * After the chosen node come the other eligible ones in the
 * same order as fallbacks, then the primary (when it serves boot): the
 * last resort, holding every image.
 */
#ifndef BL_REFERRAL_H
#define BL_REFERRAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#define REF_SITES_MAX   65536     /* sites in a view */
#define REF_NODES_MAX   65536     /* nodes in a view */
#define REF_SUBNETS_MAX (1u << 21) /* subnets in all sites together */
#define REF_IMAGES_MAX  256       /* images per node */
#define REF_CAND_MAX    64        /* nearest nodes kept per site */
#define REF_TARGETS_MAX 4         /* targets a choice lists (incl. the
                                   * primary) */
#define REF_URL_MAX     300       /* a boot base URL "http://host:port" */

#define REF_PRIMARY (-1) /* target: the primary */
#define REF_NOBODY  (-2) /* a "self" the view does not list */

struct referral;

/*
 * Build the table from a view (see above).  The view comes from a signed
 * catalog or the primary's own state but is still checked: types, names,
 * CIDRs, rule values, bounds; unknown parents are an error.  Returns 0,
 * BL_EFORMAT or BL_ETOOBIG with why naming the field ("nodes[3].images:
 * ..."), -ENOMEM.  Free with referral_free.
 */
int referral_build(json_t *view, struct referral **out, char *why,
        size_t whylen);
void referral_free(struct referral *r);

/* How a request was mapped to its site. */
enum ref_by {
	REF_BY_OPTION82,
	REF_BY_GIADDR,
	REF_BY_CLIENT,
	REF_BY_IFACE,
	REF_BY_DEFAULT,
};

/* "option 82", "giaddr", "client address", "interface", "own site". */
const char *referral_by_name(enum ref_by by);

/* What is known of a booting client. */
struct ref_client {
	const uint8_t *mac; /* chaddr; may be NULL (maclen 0) */
	size_t maclen;
	uint32_t giaddr, ciaddr, iface; /* IPv4, network order; 0: unknown */
	int has_addr6;                  /* the client's address is IPv6: */
	uint8_t addr6[16];              /* used instead of ciaddr */
	const uint8_t *circuit; /* option 82 sub-option 1; NULL: none */
	size_t ncircuit;
	const uint8_t *remote; /* sub-option 2; NULL: none */
	size_t nremote;
};

/*
 * The client's site index (0..referral_nsites-1) and how it was found
 * (*by may be NULL); -1 only when the view's own site is unknown and
 * nothing matched.
 */
int referral_site(const struct referral *r, const struct ref_client *c,
        enum ref_by *by);

/* The site with this name, or -1. */
int referral_site_index(const struct referral *r, const char *name);
size_t referral_nsites(const struct referral *r);
const char *referral_site_name(const struct referral *r, int site);
/* 1 if site has a node of its own that is healthy now (see above). */
int referral_site_has_node(const struct referral *r, int site, time_t now);

/*
 * The image id for name@version (version 0: the view's "latest" for the
 * name), or -1 when no node holds it (only the primary can serve it).
 */
int referral_image(const struct referral *r, const char *name,
        uint32_t version);

/*
 * The node that asks (the view's "self"): it knows its own state better
 * than the view.  Sets its busy flag and the images it holds (refs
 * "name@version").  Those the view does not know yet count too: the
 * view lags the node by a heartbeat and a catalog fetch, and an image
 * finished here is served here at once.  Malformed refs are skipped.
 * A no-op on the primary and for REF_NOBODY.  0 or -ENOMEM (the node's
 * images are then as before).
 */
int referral_self(struct referral *r, int busy, const char *const *images,
        size_t n);

/* Why a candidate was taken or passed over. */
enum ref_verdict {
	REF_TAKEN,     /* the chosen target */
	REF_FALLBACK,  /* eligible, listed after the chosen one */
	REF_TIE_LOST,  /* eligible, same tier, the MAC hashed elsewhere;
	                * listed as a fallback too */
	REF_UNHEALTHY, /* the view says unhealthy */
	REF_STALE,     /* healthy in a view older than 3 heartbeats */
	REF_BUSY,      /* at its transfer limit */
	REF_NO_IMAGE,  /* does not hold the image complete */
	REF_NO_URL,    /* no boot address known */
	REF_NOT_NEEDED /* eligible, but the target list was full */
};

/* "taken", "fallback", ... (static strings). */
const char *referral_verdict_name(enum ref_verdict v);

struct ref_step {
	int node; /* node index, or REF_PRIMARY */
	uint64_t distance; /* WAN cost from the client's site; own site 0 */
	int own;           /* a node of the client's own site */
	enum ref_verdict verdict;
};

struct ref_choice {
	size_t n;                    /* targets, 0 when none serves boot */
	int target[REF_TARGETS_MAX]; /* node indexes or REF_PRIMARY, best
	                              * first */
	/* Filled only when referral_choose gets a trace array: every
	 * candidate considered, in order (at most ntrace of them). */
	struct ref_step *trace;
	size_t ntrace;
};

/*
 * Choose targets for a client of site (from referral_site) needing image
 * (from referral_image; -1: only the primary holds it) at time now.
 * out->trace, when not NULL, has room for out->ntrace steps; on return
 * ntrace is the number written.  Returns the number of targets.
 */
size_t referral_choose(const struct referral *r, int site, int image,
        const struct ref_client *c, time_t now, struct ref_choice *out);

/*
 * When the table's view of other nodes was last confirmed (a node: its
 * catalog's last 200 or 304; the primary: now).  Nodes healthy in the
 * view count as stale 3 heartbeats after it.  Starts at 0: call it
 * after building.
 */
void referral_confirmed(struct referral *r, time_t when);

/*
 * The decision for a client of site (found by by) needing image, as JSON
 * for operators: {"site", "by", "candidates": [{"node", "site",
 * "distance", "own", "verdict", "url"}...], "targets": [ids]} (a new
 * reference, NULL when out of memory).
 */
json_t *referral_explain(const struct referral *r, int site, enum ref_by by,
        int image, const struct ref_client *c, time_t now);

/* A node's id, site index, boot base URL (no trailing '/') and IPv4
 * address of that URL's host (network order; 0 when it is a name or
 * IPv6).  For REF_PRIMARY: "primary", -1, its URL, its address. */
const char *referral_node_id(const struct referral *r, int node);
int referral_node_site(const struct referral *r, int node);
const char *referral_node_url(const struct referral *r, int node);
uint32_t referral_node_addr(const struct referral *r, int node);
size_t referral_nnodes(const struct referral *r);

/* The node index of the view's "self", REF_PRIMARY on the primary, or
 * REF_NOBODY for a node the view does not list (yet). */
int referral_self_index(const struct referral *r);

#endif /* BL_REFERRAL_H */

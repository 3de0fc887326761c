/*
 * api_referral.c - GET /v1/referral/explain: which node a booting client
 * would be sent to, and why each candidate was taken or passed over,
 * from the same view and code the boot servers use (referral.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bootplan.h"
#include "error.h"
#include "primary.h"
#include "referral.h"
#include "server.h"
#include "site.h"
#include "store.h"

/* The image the client of site would need: --image, else the default
 * entry of the site for arch.  0, or an error replied. */
static int
need_image(struct reqctx *c, json_t *view, int site, const char *site_name,
        int arch, const char *image, char *name, size_t namelen,
        uint32_t *version, char *entry, size_t entrylen)
{
	struct bootplan plan;
	const struct bootplan_entry *e;
	json_t *s;
	char why[256];
	int rc;

	entry[0] = '\0';
	if (image != NULL) {
		if (store_parse_ref(image, name, namelen, version) != 0) {
			reply_error(c, 400, "image: not NAME or NAME@VERSION");
			return -1;
		}
		return 0;
	}
	s = json_array_get(json_object_get(view, "sites"), (size_t)site);
	if (bootplan_from_json(json_object_get(s, "boot"), &plan, why,
	            sizeof(why)) != 0) {
		reply_error(c, 500, "site %s: %s", site_name, why);
		return -1;
	}
	if ((e = bootplan_default(&plan, arch)) == NULL) {
		bootplan_free(&plan);
		reply_error(c, 404,
		        "site %s has no default boot entry for arch %d; name "
		        "one with --image",
		        site_name, arch);
		return -1;
	}
	snprintf(entry, entrylen, "%s", e->name);
	rc = bootplan_name_image(e->file, name, namelen, version);
	bootplan_free(&plan);
	if (rc != 0) {
		reply_error(c, 500, "entry %s: bad image", entry);
		return -1;
	}
	return 0;
}

void
api_referral(struct reqctx *c)
{
	const char *mac = query_get(c, "mac"), *ip = query_get(c, "ip");
	const char *gi = query_get(c, "giaddr"), *img = query_get(c, "image");
	const char *cid = query_get(c, "circuit_id");
	const char *rid = query_get(c, "remote_id");
	uint8_t mb[16], circ[SITE_OPT82_LEN], rem[SITE_OPT82_LEN];
	char why[256], name[MANIFEST_NAME_MAX + 1], entry[SITE_NAME_MAX + 1];
	char ref[MANIFEST_NAME_MAX + 16];
	unsigned long long arch;
	struct referral *r = NULL;
	struct ref_client rc;
	struct in6_addr a6;
	json_t *view, *o;
	enum ref_by by;
	uint32_t version;
	int site, image;

	memset(&rc, 0, sizeof(rc));
	if (mac == NULL ||
	        bootplan_mac_parse(mac, strlen(mac), mb, &rc.maclen) != 0) {
		reply_error(c, 400, "mac: required, hex pairs joined by ':'");
		return;
	}
	rc.mac = mb;
	if (ip != NULL && inet_pton(AF_INET, ip, &rc.ciaddr) != 1) {
		if (inet_pton(AF_INET6, ip, &a6) != 1) {
			reply_error(c, 400, "ip: not an IPv4 or IPv6 address");
			return;
		}
		rc.has_addr6 = 1;
		memcpy(rc.addr6, &a6, 16);
	}
	if (gi != NULL && inet_pton(AF_INET, gi, &rc.giaddr) != 1) {
		reply_error(c, 400, "giaddr: not an IPv4 address");
		return;
	}
	if (cid != NULL) {
		if (site_opt82_parse(cid, circ, &rc.ncircuit, why,
		            sizeof(why)) != 0) {
			reply_error(c, 400, "circuit_id: %s", why);
			return;
		}
		rc.circuit = circ;
	}
	if (rid != NULL) {
		if (site_opt82_parse(rid, rem, &rc.nremote, why, sizeof(why)) !=
		        0) {
			reply_error(c, 400, "remote_id: %s", why);
			return;
		}
		rc.remote = rem;
	}
	if (query_uint(c, "arch", 0, 65535, 65536, &arch) != 0)
		return;
	if ((view = catalog_view(c->p, c->p->conf.boot_site)) == NULL) {
		reply_error(c, 503, "out of memory");
		return;
	}
	if (referral_build(view, &r, why, sizeof(why)) != 0) {
		json_decref(view);
		reply_error(c, 500, "referral view: %s", why);
		return;
	}
	referral_confirmed(r, time(NULL));
	if ((site = referral_site(r, &rc, &by)) < 0) {
		reply_error(c, 404,
		        "no site for this client: no subnet, option 82 rule or "
		        "boot_site matches");
		goto out;
	}
	if (need_image(c, view, site, referral_site_name(r, site),
	            arch == 65536 ? -1 : (int)arch, img, name, sizeof(name),
	            &version, entry, sizeof(entry)) != 0)
		goto out;
	image = referral_image(r, name, version);
	if ((o = referral_explain(r, site, by, image, &rc, time(NULL))) ==
	        NULL) {
		reply_error(c, 503, "out of memory");
		goto out;
	}
	if (version == 0)
		snprintf(ref, sizeof(ref), "%s", name);
	else
		snprintf(ref, sizeof(ref), "%s@%u", name, (unsigned)version);
	json_object_set_new(o, "image", json_string(ref));
	json_object_set_new(o, "held_by_nodes", json_boolean(image >= 0));
	if (entry[0] != '\0')
		json_object_set_new(o, "entry", json_string(entry));
	reply_json(c, 200, o);
out:
	referral_free(r);
	json_decref(view);
}

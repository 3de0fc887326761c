/*
 * dist_conf.c - branchline-dist's configuration keys.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "dist_conf.h"
#include "error.h"

static const struct conf_key dist_keys[] = {
        {"state_dir", CONF_STR, offsetof(struct dist_conf, state_dir),
                sizeof(((struct dist_conf *)0)->state_dir), 0, 0},
        {"primary_url", CONF_STR, offsetof(struct dist_conf, primary_url),
                sizeof(((struct dist_conf *)0)->primary_url), 0, 0},
        {"bind", CONF_STR, offsetof(struct dist_conf, bind),
                sizeof(((struct dist_conf *)0)->bind), 0, 0},
        {"port", CONF_U64, offsetof(struct dist_conf, port), 0, 1, 65535},
        {"url", CONF_STR, offsetof(struct dist_conf, url),
                sizeof(((struct dist_conf *)0)->url), 0, 0},
        {"connections", CONF_U64, offsetof(struct dist_conf, connections), 0,
                1, 16},
        {"gc_grace", CONF_U64, offsetof(struct dist_conf, gc_grace), 0, 0,
                365 * 86400},
        {"log_level", CONF_U64, offsetof(struct dist_conf, log_level), 0, 0, 2},
        {"user", CONF_STR, offsetof(struct dist_conf, user),
                sizeof(((struct dist_conf *)0)->user), 0, 0},
};

#define NDIST (sizeof(dist_keys) / sizeof(dist_keys[0]))

int
dist_conf_load(const char *path, struct dist_conf *dc, char *why, size_t whylen)
{
	struct conf_key keys[NDIST + BOOT_CONF_NKEYS];
	int rc;

	memset(dc, 0, sizeof(*dc));
	snprintf(dc->state_dir, sizeof(dc->state_dir),
	        "/var/lib/branchline-dist");
	snprintf(dc->bind, sizeof(dc->bind), "0.0.0.0");
	dc->port = 8444;
	dc->connections = 4;
	dc->gc_grace = 86400;
	dc->log_level = 1;
	boot_conf_default(&dc->boot);
	memcpy(keys, dist_keys, sizeof(dist_keys));
	boot_conf_keys(keys + NDIST, offsetof(struct dist_conf, boot));
	rc = conf_load(path, keys, NDIST + BOOT_CONF_NKEYS, dc, why, whylen);
	if (rc != 0)
		return rc;
	if (dc->state_dir[0] != '/')
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: state_dir must be an absolute path", path);
	if (dc->primary_url[0] == '\0')
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: primary_url is required", path);
	if (strncmp(dc->primary_url, "https://", 8) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: primary_url must start with https://", path);
	if (dc->url[0] != '\0' && strncmp(dc->url, "https://", 8) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: url must start with https://", path);
	return boot_conf_check(&dc->boot, path, why, whylen);
}

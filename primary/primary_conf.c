/*
 * primary_conf.c - branchline-primary's configuration keys.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "error.h"
#include "primary_conf.h"

static const struct conf_key primary_keys[] = {
        {"state_dir", CONF_STR, offsetof(struct primary_conf, state_dir),
                sizeof(((struct primary_conf *)0)->state_dir), 0, 0},
        {"bind", CONF_STR, offsetof(struct primary_conf, bind),
                sizeof(((struct primary_conf *)0)->bind), 0, 0},
        {"url", CONF_STR, offsetof(struct primary_conf, url),
                sizeof(((struct primary_conf *)0)->url), 0, 0},
        {"port", CONF_U64, offsetof(struct primary_conf, port), 0, 1, 65535},
        {"log_level", CONF_U64, offsetof(struct primary_conf, log_level), 0, 0,
                2},
        {"boot_site", CONF_STR, offsetof(struct primary_conf, boot_site),
                sizeof(((struct primary_conf *)0)->boot_site), 0, 0},
        {"user", CONF_STR, offsetof(struct primary_conf, user),
                sizeof(((struct primary_conf *)0)->user), 0, 0},
        {"heartbeat", CONF_U64, offsetof(struct primary_conf, heartbeat), 0,
                1, 3600},
};

#define NPRIMARY (sizeof(primary_keys) / sizeof(primary_keys[0]))

int
primary_conf_load(
        const char *path, struct primary_conf *pc, char *why, size_t whylen)
{
	struct conf_key keys[NPRIMARY + BOOT_CONF_NKEYS];
	int rc;

	memset(pc, 0, sizeof(*pc));
	snprintf(pc->state_dir, sizeof(pc->state_dir),
	        "/var/lib/branchline-primary");
	snprintf(pc->bind, sizeof(pc->bind), "0.0.0.0");
	pc->port = 8443;
	pc->log_level = 1;
	pc->heartbeat = 30;
	boot_conf_default(&pc->boot);
	memcpy(keys, primary_keys, sizeof(primary_keys));
	boot_conf_keys(keys + NPRIMARY, offsetof(struct primary_conf, boot));
	rc = conf_load(path, keys, NPRIMARY + BOOT_CONF_NKEYS, pc, why, whylen);
	if (rc == 0 && pc->state_dir[0] != '/')
		rc = bl_why(why, whylen, BL_EFORMAT,
		        "%s: state_dir must be an absolute path", path);
	if (rc == 0 && pc->url[0] != '\0' &&
	        strncmp(pc->url, "https://", 8) != 0)
		rc = bl_why(why, whylen, BL_EFORMAT,
		        "%s: url must start with https://", path);
	if (rc == 0)
		rc = boot_conf_check(&pc->boot, path, why, whylen);
	return rc;
}

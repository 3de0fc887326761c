/*
 * primary_conf.h - branchline-primary's configuration file.
 */
#ifndef BL_PRIMARY_CONF_H
#define BL_PRIMARY_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "bootsvc.h"

struct primary_conf {
	char state_dir[1024]; /* store, keys, configuration repository */
	char bind[64];        /* listen address (default 0.0.0.0) */
	uint64_t port;        /* HTTPS port for the API and replication */
	char url[256];        /* how nodes reach us: https://host:port */
	uint64_t log_level;   /* 0 warnings, 1 info, 2 debug */
	/* Network boot for the head office's own LAN: the site whose boot
	 * entries it serves ("" = none), and how (common/bootsvc.h). */
	char boot_site[64];
	struct boot_conf boot;
	char user[64]; /* drop to this user once ports are bound */
	/* Seconds between node heartbeats; a node silent for three is
	 * unhealthy and referral passes it over (30). */
	uint64_t heartbeat;
};

/* Defaults, then path's settings.  0 or an error with why. */
int primary_conf_load(
        const char *path, struct primary_conf *pc, char *why, size_t whylen);

#endif /* BL_PRIMARY_CONF_H */

/*
 * dist_conf.h - branchline-dist's configuration file.
 */
#ifndef BL_DIST_CONF_H
#define BL_DIST_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "bootsvc.h"

struct dist_conf {
	char state_dir[1024];  /* local store, node key and certificate */
	char primary_url[512]; /* https://host:port of the primary */
	char bind[64];         /* address the server listens on */
	uint64_t port;         /* HTTPS port for child sites (and boot files) */
	char url[512];         /* how children reach us; "" = not a parent */
	uint64_t connections;  /* parallel batch streams per source */
	uint64_t gc_grace;     /* seconds an unassigned image is kept */
	uint64_t log_level;    /* 0 warnings, 1 info, 2 debug */
	struct boot_conf boot; /* boot serving: see common/bootsvc.h */
	char user[64];             /* drop to this user once ports are
	                            * bound; "" = stay who we are */
};

/* Defaults, then path's settings.  0 or an error with why. */
int dist_conf_load(
        const char *path, struct dist_conf *dc, char *why, size_t whylen);

#endif /* BL_DIST_CONF_H */

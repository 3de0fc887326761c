/*
 * route.h - the primary's request router: method and path in, route and
 * checked arguments out.  A pure function over untrusted bytes (fuzzed by
 * tests/fuzz/fuzz_route.c); handlers receive only arguments that passed
 * their syntax check.
 */
#ifndef BL_ROUTE_H
#define BL_ROUTE_H

#include <stddef.h>

#define ROUTE_PATH_MAX 1024 /* longer paths are refused (414-ish 404) */
#define ROUTE_ARG_MAX  128  /* bytes per path argument */

enum route_method {
	RM_GET = 1,
	RM_HEAD = 2,
	RM_POST = 4,
	RM_PUT = 8,
	RM_DELETE = 16,
};

/* Who may call a route. */
enum route_auth {
	RA_NONE,  /* anyone (the OpenAPI document) */
	RA_TOKEN, /* operator bearer token */
	RA_NODE,  /* enrolled node, client certificate */
	RA_ENROLL /* one-time enrollment token in the body */
};

enum route_id {
	R_OPENAPI,
	R_CA,
	R_IMAGES,
	R_IMAGE,
	R_IMAGE_VERSIONS,
	R_IMAGE_DIFF,
	R_IMAGE_ROLLBACK,
	R_UPLOADS,
	R_UPLOAD,
	R_UPLOAD_FILE,
	R_UPLOAD_FINALIZE,
	R_SITES,
	R_SITE,
	R_SITE_REPNOW,
	R_NODES,
	R_NODE,
	R_STATUS,
	R_CONFIG_LOG,
	R_CONFIG_DIFF,
	R_CONFIG_ROLLBACK,
	R_TOKENS,
	R_TOKEN,
	R_ENROLL,
	R_CATALOG,
	R_MANIFEST,
	R_CHUNK,
	R_CHUNK_BATCH,
	R_NODE_STATUS,
	R_REFERRAL_EXPLAIN,
	R_COUNT
};

struct route_match {
	enum route_id id;
	enum route_auth auth;
	int method;                       /* one RM_* */
	int nargs;                        /* path arguments captured */
	char arg[2][ROUTE_ARG_MAX + 1];   /* in path order */
	char why[160];                    /* on failure: for the error body */
};

/*
 * Match method (an RM_* value) and the path part of a request target
 * (path[len], no query string, not NUL-terminated necessarily).
 * Returns 0 with m filled; 404 when no route has this path; 405 when one
 * has but not for this method; 400 when an argument is malformed (m->why
 * names it).  Never reads beyond len.
 */
int route_match(int method, const char *path, size_t len,
        struct route_match *m);

/* "GET" etc. for logs. */
const char *route_method_name(int method);

#endif /* BL_ROUTE_H */

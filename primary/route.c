/*
 * route.c - the table of the primary's HTTP routes and its matcher.
 *
 * A pattern is a '/'-separated list of literal segments and typed
 * arguments: {name} an image or site name, {hex} a 64-digit SHA-256,
 * {up} an upload id (32 hex), {node} a node id, {num} a decimal index.
 * Arguments never contain '%', so no percent-decoding happens here:
 * nothing a handler sees can hold '/', NUL or "..".
 */
#include <stdio.h>
#include <string.h>

#include "route.h"

struct route {
	const char *pat;
	int methods;
	enum route_id id;
	enum route_auth auth;
};

static const struct route routes[] = {
        {"/v1/openapi.json", RM_GET | RM_HEAD, R_OPENAPI, RA_NONE},
        {"/v1/ca.crt", RM_GET | RM_HEAD, R_CA, RA_NONE},
        {"/v1/images", RM_GET, R_IMAGES, RA_TOKEN},
        {"/v1/images/{name}", RM_GET | RM_DELETE, R_IMAGE, RA_TOKEN},
        {"/v1/images/{name}/versions", RM_GET, R_IMAGE_VERSIONS, RA_TOKEN},
        {"/v1/images/{name}/diff", RM_GET, R_IMAGE_DIFF, RA_TOKEN},
        {"/v1/images/{name}/rollback", RM_POST, R_IMAGE_ROLLBACK, RA_TOKEN},
        {"/v1/uploads", RM_POST, R_UPLOADS, RA_TOKEN},
        {"/v1/uploads/{up}", RM_GET | RM_DELETE, R_UPLOAD, RA_TOKEN},
        {"/v1/uploads/{up}/files/{num}", RM_PUT, R_UPLOAD_FILE, RA_TOKEN},
        {"/v1/uploads/{up}/finalize", RM_POST, R_UPLOAD_FINALIZE, RA_TOKEN},
        {"/v1/sites", RM_GET | RM_POST, R_SITES, RA_TOKEN},
        {"/v1/sites/{name}", RM_GET | RM_PUT | RM_DELETE, R_SITE, RA_TOKEN},
        {"/v1/sites/{name}/replicate-now", RM_POST, R_SITE_REPNOW, RA_TOKEN},
        {"/v1/nodes", RM_GET | RM_POST, R_NODES, RA_TOKEN},
        {"/v1/nodes/{node}", RM_DELETE, R_NODE, RA_TOKEN},
        {"/v1/status", RM_GET, R_STATUS, RA_TOKEN},
        {"/v1/status", RM_POST, R_NODE_STATUS, RA_NODE},
        {"/v1/referral/explain", RM_GET, R_REFERRAL_EXPLAIN, RA_TOKEN},
        {"/v1/config/log", RM_GET, R_CONFIG_LOG, RA_TOKEN},
        {"/v1/config/diff", RM_GET, R_CONFIG_DIFF, RA_TOKEN},
        {"/v1/config/rollback", RM_POST, R_CONFIG_ROLLBACK, RA_TOKEN},
        {"/v1/tokens", RM_GET | RM_POST, R_TOKENS, RA_TOKEN},
        {"/v1/tokens/{name}", RM_DELETE, R_TOKEN, RA_TOKEN},
        {"/v1/enroll", RM_POST, R_ENROLL, RA_ENROLL},
        {"/v1/catalog", RM_GET, R_CATALOG, RA_NODE},
        {"/v1/manifests/{hex}", RM_GET | RM_HEAD, R_MANIFEST, RA_NODE},
        {"/v1/chunks/{hex}", RM_GET | RM_HEAD, R_CHUNK, RA_NODE},
        {"/v1/chunks/batch", RM_POST, R_CHUNK_BATCH, RA_NODE},
};

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Image, site and token names: 1-128 of [A-Za-z0-9._+-], no leading '.'
 * or '-' (the rule of manifest_name_valid; site names are stricter and
 * checked by the site parser). */
static int
ok_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		            c == '+' || c == '-'))
			return 0;
	}
	return 1;
}

static int
ok_hex(const char *s, size_t n, size_t want)
{
	size_t i;

	if (n != want)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_hex(s[i]))
			return 0;
	return 1;
}

static int
ok_node(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		            (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int
ok_num(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Check one argument against its type; 0 ok, else a message in why. */
static int
check_arg(const char *type, size_t tlen, const char *s, size_t n, char *why,
        size_t whylen)
{
	const char *what;
	int ok;

	if (tlen == 4 && memcmp(type, "name", 4) == 0) {
		ok = ok_name(s, n);
		what = "a name (1-128 of A-Z a-z 0-9 . _ + -)";
	} else if (tlen == 3 && memcmp(type, "hex", 3) == 0) {
		ok = ok_hex(s, n, 64);
		what = "an id (64 lowercase hex digits)";
	} else if (tlen == 2 && memcmp(type, "up", 2) == 0) {
		ok = ok_hex(s, n, 32);
		what = "an upload id (32 lowercase hex digits)";
	} else if (tlen == 4 && memcmp(type, "node", 4) == 0) {
		ok = ok_node(s, n);
		what = "a node id (1-63 of a-z 0-9 -)";
	} else {
		ok = ok_num(s, n);
		what = "a number";
	}
	if (!ok)
		snprintf(why, whylen, "'%.*s' is not %s",
		        (int)(n > 64 ? 64 : n), s, what);
	return ok ? 0 : -1;
}

/*
 * Match one pattern.  Returns 1 on a match, 0 on none, -1 when the shape
 * matches but an argument is malformed (m->why set).
 */
static int
match_one(const char *pat, const char *path, size_t len, struct route_match *m)
{
	size_t pi = 0, si = 0, plen = strlen(pat);
	int nargs = 0, bad = 0;

	while (pi < plen && si <= len) {
		size_t pe = pi, se = si;

		if (pat[pi] != '/' || si == len || path[si] != '/')
			return 0;
		pi++, si++;
		pe = pi;
		while (pe < plen && pat[pe] != '/')
			pe++;
		se = si;
		while (se < len && path[se] != '/')
			se++;
		if (pat[pi] == '{') {
			const char *type = pat + pi + 1;
			size_t tlen = pe - pi - 2;

			if (se == si)
				return 0;
			if (!bad && check_arg(type, tlen, path + si, se - si,
			                    m->why, sizeof(m->why)) != 0)
				bad = 1;
			if (!bad && nargs < 2) {
				memcpy(m->arg[nargs], path + si, se - si);
				m->arg[nargs][se - si] = '\0';
			}
			nargs++;
		} else if (pe - pi != se - si ||
		           memcmp(pat + pi, path + si, se - si) != 0)
			return 0;
		pi = pe;
		si = se;
	}
	if (pi != plen || si != len)
		return 0;
	m->nargs = nargs;
	return bad ? -1 : 1;
}

int
route_match(int method, const char *path, size_t len, struct route_match *m)
{
	size_t i;
	int r, found = 0, badarg = 0;
	char why[sizeof(m->why)] = "";

	memset(m, 0, sizeof(*m));
	if (len == 0 || len > ROUTE_PATH_MAX)
		return 404;
	/* Literal routes first: "/v1/chunks/batch" must not be taken for
	 * a malformed "/v1/chunks/{hex}". */
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if ((r = match_one(routes[i].pat, path, len, m)) == 0)
			continue;
		if (r < 0) {
			if (!badarg)
				memcpy(why, m->why, sizeof(why));
			badarg = 1;
			continue;
		}
		found = 1;
		if ((routes[i].methods & method) == 0)
			continue;
		m->id = routes[i].id;
		m->auth = routes[i].auth;
		m->method = method;
		return 0;
	}
	memset(m, 0, sizeof(*m));
	if (found)
		return 405;
	if (badarg) {
		memcpy(m->why, why, sizeof(m->why));
		return 400;
	}
	return 404;
}

const char *
route_method_name(int method)
{
	switch (method) {
	case RM_GET:
		return "GET";
	case RM_HEAD:
		return "HEAD";
	case RM_POST:
		return "POST";
	case RM_PUT:
		return "PUT";
	case RM_DELETE:
		return "DELETE";
	}
	return "?";
}

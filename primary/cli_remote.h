/*
 * cli_remote.h - the CLI's client of the primary's HTTP API (libcurl).
 *
 * Where the server is: each of server, token and CA certificate comes from
 * the first of
 *   1. the global flags --server URL, --token T, --ca FILE;
 *   2. the environment: BRANCHLINE_SERVER, BRANCHLINE_TOKEN, BRANCHLINE_CA;
 *   3. the file $BRANCHLINE_CONFIG, else ~/.config/branchline/cli.conf,
 *      "key = value" lines with the keys server, token and ca (a relative
 *      ca is taken relative to the file's directory).
 * The three are resolved one by one, so a token may come from the
 * environment and the server from a flag.  That is safe because the CA is
 * pinned: the token is only ever sent to a server whose certificate chains
 * to that CA.
 *
 * TLS: the CA file is the only trust anchor (CURLOPT_CAINFO, no CAPATH, no
 * system store); peer and host name are always verified; TLS 1.2 or newer;
 * https only, no redirects.  Responses are bounded (CLI_REMOTE_BODY_MAX),
 * connecting times out after CLI_REMOTE_CONNECT_S seconds and a transfer
 * that moves no byte for CLI_REMOTE_STALL_S seconds is abandoned.
 *
 * Functions that return an "exit code" have already printed the error
 * ("branchline: <message>" on stderr) and return the code main() should
 * exit with (cli.h); 0 means success.
 */
#ifndef BL_CLI_REMOTE_H
#define BL_CLI_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli.h"

#define CLI_REMOTE_BODY_MAX  (64u * 1024 * 1024) /* response bytes */
#define CLI_REMOTE_CONNECT_S 10                  /* connect timeout */
#define CLI_REMOTE_STALL_S   60   /* no byte moved for this long: give up */
#define CLI_REMOTE_JSON_S    300  /* whole-request limit for JSON calls */
#define CLI_REMOTE_PATH_MAX  2048 /* bytes of a request path + query */

/* An open connection to the API (one curl handle, reused). Opaque. */
struct cli_remote;

/* A request.  Fields left 0/NULL are not sent. */
struct cli_req {
	const char *method;       /* "GET", "POST", "PUT", "DELETE" */
	const char *path;         /* "/v1/sites/x?y=z", already escaped */
	json_t *json;             /* body as JSON (borrowed), or NULL */
	int fd;                   /* raw body: read from fd at off, len bytes */
	uint64_t off, len, total; /* with Content-Range off-(off+len-1)/total */
	const char *if_match;     /* If-Match header value, or NULL */
	/* Progress of a raw body: called with bytes sent so far. */
	void (*progress)(void *arg, uint64_t sent);
	void *progress_arg;
};

/* What came back.  Free with cli_resp_cleanup(). */
struct cli_resp {
	long status;      /* HTTP status */
	char *body;       /* NUL-terminated, malloc'd; may be NULL */
	size_t len;       /* bytes in body */
	char ctype[128];  /* Content-Type, "" when absent */
	char etag[128];   /* ETag, "" when absent */
	long retry_after; /* Retry-After seconds, -1 when absent */
	json_t *json;     /* body parsed when it is JSON, else NULL */
};

void cli_resp_cleanup(struct cli_resp *resp);

/*
 * 1 when a server is named by a flag, the environment or the config file,
 * 0 when not, -1 when the config file is unreadable or malformed (the
 * error is printed).
 */
int cli_remote_configured(struct cli *c);

/*
 * Resolve server, token and CA as above and set up a curl handle.
 * Returns 0 with *out, or an exit code (EXIT_USAGE when something is not
 * configured, EXIT_FAIL otherwise).  Close with cli_remote_close().
 */
int cli_remote_open(struct cli *c, struct cli_remote **out);
void cli_remote_close(struct cli_remote *r);

/* The server's base URL ("https://hq:8443"), for messages. */
const char *cli_remote_server(const struct cli_remote *r);

/*
 * Send req and collect the answer, whatever its status.  0 when an HTTP
 * answer arrived (resp filled; clean it up), else a negative error with
 * the reason, naming the server, in cli_remote_why() and resp empty:
 * -EAGAIN the server could not be reached or the transfer broke off
 * (trying again may help); -EPROTO TLS verification against the pinned CA
 * failed; BL_ETOOBIG the answer passed CLI_REMOTE_BODY_MAX; BL_ECHANGED
 * the raw body's file shrank; BL_EFORMAT a 2xx answer with broken JSON;
 * other -errno values.
 */
int cli_remote_call(
        struct cli_remote *r, const struct cli_req *req, struct cli_resp *resp);

/* The reason for the last failed cli_remote_call, naming the server. */
const char *cli_remote_why(const struct cli_remote *r);

/*
 * Print an error answer (status >= 400) as "branchline: <message>", with
 * a hint about the token for 401/403, and return its exit code:
 * 401/403/other 4xx/5xx -> EXIT_FAIL, 404 -> EXIT_NOTFOUND.
 */
int cli_remote_report(const struct cli_remote *r, const struct cli_resp *resp);

/*
 * The usual call: method path [json body] -> 2xx with *out the parsed
 * JSON (a new reference; NULL for an empty answer such as 204).  On any
 * failure prints the error and returns its exit code, *out NULL.
 * out may be NULL when the caller wants no answer.
 */
int cli_remote_json(struct cli_remote *r, const char *method, const char *path,
        json_t *body, json_t **out);

/*
 * Open, one cli_remote_json, close: the shape of most commands.  A NULL
 * path (an argument too long for a request) is a usage error.
 */
int cli_call(struct cli *c, const char *method, const char *path, json_t *body,
        json_t **out);

/*
 * Request paths with escaped parts, bounded by CLI_REMOTE_PATH_MAX.
 * cli_path_init starts with a literal prefix ("/v1/sites/"), cli_path_seg
 * appends one percent-escaped path segment, cli_path_query appends
 * "?k=v" or "&k=v" (v escaped; nothing when v is NULL).  A path that
 * would exceed the bound is marked; cli_path_str then returns NULL.
 */
struct cli_path {
	char buf[CLI_REMOTE_PATH_MAX];
	size_t len;
	int overflow;
	int has_query;
};
void cli_path_init(struct cli_path *p, const char *prefix);
void cli_path_seg(struct cli_path *p, const char *seg);
void cli_path_lit(struct cli_path *p, const char *lit);
void cli_path_query(struct cli_path *p, const char *key, const char *val);
const char *cli_path_str(const struct cli_path *p);

/*
 * Helpers for printing the API's JSON in tables.  jstr: the string member
 * key of o with control characters replaced and at most buflen-1 bytes,
 * "-" when absent, null or ""; numbers as numbers, booleans as yes/no.  jint:
 * the integer member, or dflt.  jtime: a Unix time member (or a string one,
 * copied) as "YYYY-MM-DD HH:MM:SSZ", "-" when absent or 0.
 */
const char *cli_jstr(json_t *o, const char *key, char *buf, size_t buflen);
const char *cli_jval(json_t *v, char *buf, size_t buflen); /* v itself */
json_int_t cli_jint(json_t *o, const char *key, json_int_t dflt);
const char *cli_jtime(json_t *o, const char *key, char buf[32]);

/* Copy s into buf with control characters as '?', truncated. */
const char *cli_clean(const char *s, char *buf, size_t buflen);

#endif /* BL_CLI_REMOTE_H */

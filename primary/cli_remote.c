/*
 * cli_remote.c - the CLI's libcurl client of the primary's API: where the
 * server is, pinned TLS, bounded requests, error answers and exit codes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli_remote.h"
#include "conf.h"
#include "error.h"

#define URL_MAX   1024 /* bytes of a server URL */
#define TOKEN_MAX 256  /* bytes of a token */

/* The config file's keys (also the resolved settings). */
struct remote_conf {
	char server[URL_MAX];
	char token[TOKEN_MAX];
	char ca[1024];
};

static const struct conf_key remote_keys[] = {
        {"server", CONF_STR, offsetof(struct remote_conf, server),
                sizeof(((struct remote_conf *)0)->server), 0, 0},
        {"token", CONF_STR, offsetof(struct remote_conf, token),
                sizeof(((struct remote_conf *)0)->token), 0, 0},
        {"ca", CONF_STR, offsetof(struct remote_conf, ca),
                sizeof(((struct remote_conf *)0)->ca), 0, 0},
};

struct cli_remote {
	CURL *curl;
	char base[URL_MAX];        /* "https://host:port[/prefix]", no '/' */
	char auth[TOKEN_MAX + 32]; /* "Authorization: Bearer ..." */
	char ca[1024];             /* the pinned CA file */
	char conf_path[1024];      /* the config file consulted, for hints */
	char why[4096];            /* last failure */
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- where the server is ---- */

/*
 * The config file to read: $BRANCHLINE_CONFIG (must exist) or
 * ~/.config/branchline/cli.conf (may be missing).  0 with path, or 1
 * when there is none to read.
 */
static int
conf_path(char *path, size_t len, int *required)
{
	const char *env = getenv("BRANCHLINE_CONFIG");
	const char *home = getenv("HOME");

	*required = 0;
	if (env != NULL && env[0] != '\0') {
		*required = 1;
		snprintf(path, len, "%s", env);
		return 0;
	}
	if (home == NULL || home[0] == '\0')
		return 1;
	if ((size_t)snprintf(
	            path, len, "%s/.config/branchline/cli.conf", home) >= len)
		return 1;
	return 0;
}

/*
 * Load the config file into rc (fields it does not name stay empty).
 * 0, or EXIT_FAIL after printing the error.  A relative ca is made
 * relative to the file's directory.  warn: say so when the file holds a
 * token other users can read.
 */
static int
load_conf(struct remote_conf *rc, char *path, size_t pathlen, int warn)
{
	char why[1024] = "", dir[1024], *slash;
	struct stat st;
	int required, err;

	memset(rc, 0, sizeof(*rc));
	path[0] = '\0';
	if (conf_path(path, pathlen, &required) != 0)
		return 0;
	if (!required && stat(path, &st) != 0 && errno == ENOENT) {
		path[0] = '\0';
		return 0;
	}
	err = conf_load(path, remote_keys,
	        sizeof(remote_keys) / sizeof(remote_keys[0]), rc, why,
	        sizeof(why));
	if (err != 0)
		return cli_error(err, "%s", why);
	if (warn && rc->token[0] != '\0' && stat(path, &st) == 0 &&
	        (st.st_mode & 044) != 0)
		fprintf(stderr,
		        "branchline: warning: %s holds a token and other "
		        "users can read it (chmod 600 it)\n",
		        path);
	if (rc->ca[0] != '\0' && rc->ca[0] != '/') {
		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(why, sizeof(why), "%s/%s", dir,
			            rc->ca) >= sizeof(rc->ca))
				return cli_error(BL_ETOOBIG,
				        "%s: ca path too long", path);
			snprintf(rc->ca, sizeof(rc->ca), "%s", why);
		}
	}
	return 0;
}

/* The first non-empty of flag, environment variable, config value. */
static const char *
pick(const char *flag, const char *env, const char *conf)
{
	const char *e = getenv(env);

	if (flag != NULL && flag[0] != '\0')
		return flag;
	if (e != NULL && e[0] != '\0')
		return e;
	return conf[0] != '\0' ? conf : NULL;
}

int
cli_remote_configured(struct cli *c)
{
	struct remote_conf rc;
	char path[1024];

	if (pick(c->server, "BRANCHLINE_SERVER", "") != NULL)
		return 1;
	if (load_conf(&rc, path, sizeof(path), 0) != 0)
		return -1;
	return rc.server[0] != '\0';
}

/*
 * Normalise a server URL into base: "host:port" gets https://, plain
 * http is refused (the token would travel in clear), trailing slashes go.
 */
static int
set_base(struct cli_remote *r, const char *url)
{
	size_t n;

	if (strncmp(url, "http://", 7) == 0)
		return cli_error(BL_EUSAGE,
		        "server %s: plain http is refused; use https://", url);
	if (strstr(url, "://") != NULL && strncmp(url, "https://", 8) != 0)
		return cli_error(BL_EUSAGE, "server %s: not an https URL", url);
	if ((size_t)snprintf(r->base, sizeof(r->base), "%s%s",
	            strncmp(url, "https://", 8) == 0 ? "" : "https://",
	            url) >= sizeof(r->base))
		return cli_error(BL_EUSAGE, "server URL too long");
	n = strlen(r->base);
	while (n > 8 && r->base[n - 1] == '/')
		r->base[--n] = '\0';
	if (n <= 8 || strpbrk(r->base, " \t\r\n?#@") != NULL)
		return cli_error(BL_EUSAGE, "server %s: not a usable URL", url);
	return 0;
}

/* Tokens go into a header: only characters that cannot break it. */
static int
token_ok(const char *t)
{
	for (; *t != '\0'; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		            (*t >= '0' && *t <= '9') ||
		            strchr("-._~+/=", *t) != NULL))
			return 0;
	return 1;
}

int
cli_remote_open(struct cli *c, struct cli_remote **out)
{
	struct remote_conf rc;
	struct cli_remote *r;
	const char *server, *token, *ca;
	const char *hint = "set them with --server/--token/--ca, "
	                   "BRANCHLINE_SERVER/_TOKEN/_CA or in "
	                   "~/.config/branchline/cli.conf";
	char path[1024];
	int rv;

	*out = NULL;
	if (load_conf(&rc, path, sizeof(path), 1) != 0)
		return EXIT_FAIL;
	server = pick(c->server, "BRANCHLINE_SERVER", rc.server);
	token = pick(c->token, "BRANCHLINE_TOKEN", rc.token);
	ca = pick(c->ca, "BRANCHLINE_CA", rc.ca);
	if (server == NULL)
		return cli_error(BL_EUSAGE, "no server: %s", hint);
	if (token == NULL)
		return cli_error(BL_EUSAGE, "no API token: %s", hint);
	if (ca == NULL)
		return cli_error(BL_EUSAGE,
		        "no CA certificate to pin (the primary's "
		        "STATE/pki/ca.crt): %s",
		        hint);
	if (strlen(token) >= TOKEN_MAX || !token_ok(token))
		return cli_error(BL_EUSAGE, "the API token has bad characters");
	if (access(ca, R_OK) != 0)
		return cli_error(
		        -errno, "CA certificate %s: %s", ca, strerror(errno));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return cli_error(-ENOMEM, "out of memory");
	if ((rv = set_base(r, server)) != 0)
		goto out_free;
	snprintf(r->auth, sizeof(r->auth), "Authorization: Bearer %s", token);
	if ((size_t)snprintf(r->ca, sizeof(r->ca), "%s", ca) >= sizeof(r->ca)) {
		rv = cli_error(BL_EUSAGE, "CA path too long");
		goto out_free;
	}
	snprintf(r->conf_path, sizeof(r->conf_path), "%s",
	        path[0] ? path : "~/.config/branchline/cli.conf");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		rv = cli_error(-ENOMEM, "cannot initialise libcurl");
		goto out_free;
	}
	if ((r->curl = curl_easy_init()) == NULL) {
		rv = cli_error(-ENOMEM, "cannot initialise libcurl");
		goto out_global;
	}
	*out = r;
	return 0;
out_global:
	curl_global_cleanup();
out_free:
	free(r);
	return rv;
}

void
cli_remote_close(struct cli_remote *r)
{
	if (r == NULL)
		return;
	curl_easy_cleanup(r->curl);
	curl_global_cleanup();
	explicit_bzero(r->auth, sizeof(r->auth));
	free(r);
}

const char *
cli_remote_server(const struct cli_remote *r)
{
	return r->base;
}

const char *
cli_remote_why(const struct cli_remote *r)
{
	return r->why;
}

/* ---- one request ---- */

/* State of one transfer, shared by the callbacks. */
struct xfer {
	const struct cli_req *req;
	struct cli_resp *resp;
	size_t cap;    /* bytes allocated for resp->body */
	uint64_t sent; /* raw body bytes read so far */
	int too_big;   /* the answer passed CLI_REMOTE_BODY_MAX */
	int read_err;  /* errno of a failed pread */
};

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct cli_resp *resp = x->resp;
	size_t len = size * n, cap;
	char *nb;

	if (len > CLI_REMOTE_BODY_MAX - resp->len) {
		x->too_big = 1;
		return 0;
	}
	if (resp->len + len + 1 > x->cap) {
		cap = x->cap ? x->cap : 16384;
		while (cap < resp->len + len + 1)
			cap *= 2;
		if ((nb = realloc(resp->body, cap)) == NULL)
			return 0;
		resp->body = nb;
		x->cap = cap;
	}
	memcpy(resp->body + resp->len, p, len);
	resp->len += len;
	resp->body[resp->len] = '\0';
	return len;
}

/* Keep Content-Type and ETag (a header line, not NUL-terminated). */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n, klen, vlen;
	const char *v;
	char *dst;

	if (len > 13 && strncasecmp(p, "Retry-After:", 12) == 0) {
		x->resp->retry_after = strtol(p + 12, NULL, 10);
		if (x->resp->retry_after < 0 || x->resp->retry_after > 3600)
			x->resp->retry_after = -1;
		return len;
	}
	if (len > 14 && strncasecmp(p, "Content-Type:", 13) == 0) {
		dst = x->resp->ctype;
		klen = 13;
	} else if (len > 6 && strncasecmp(p, "ETag:", 5) == 0) {
		dst = x->resp->etag;
		klen = 5;
	} else
		return len;
	v = p + klen;
	vlen = len - klen;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 &&
	        (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
	                v[vlen - 1] == ' '))
		vlen--;
	if (vlen < 128) {
		memcpy(dst, v, vlen);
		dst[vlen] = '\0';
	}
	return len;
}

/* Raw bodies come straight from the file, at off + sent. */
static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	uint64_t left = x->req->len - x->sent;
	size_t want = size * n;
	ssize_t got;

	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	do
		got = pread(
		        x->req->fd, buf, want, (off_t)(x->req->off + x->sent));
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		/* A short file means it shrank under us: never pad. */
		x->read_err = got < 0 ? errno : ENODATA;
		return CURL_READFUNC_ABORT;
	}
	x->sent += (uint64_t)got;
	return (size_t)got;
}

static int
on_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
        curl_off_t ulnow)
{
	struct xfer *x = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	if (x->req->progress != NULL && ulnow >= 0)
		x->req->progress(x->req->progress_arg, (uint64_t)ulnow);
	return 0;
}

/* The options every request shares: pinned TLS, bounds, no redirects. */
static int
set_common(struct cli_remote *r, struct xfer *x, char *url)
{
	CURL *h = r->curl;
	CURLcode e = CURLE_OK;

#define SET(opt, val)                                                          \
	do {                                                                   \
		if (e == CURLE_OK)                                             \
			e = curl_easy_setopt(h, opt, val);                     \
	} while (0)
	SET(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "https");
#else
	SET(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	SET(CURLOPT_CAINFO, r->ca);
	SET(CURLOPT_CAPATH, (char *)NULL);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, (long)CLI_REMOTE_CONNECT_S);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, (long)CLI_REMOTE_STALL_S);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLI_REMOTE_BODY_MAX);
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
	SET(CURLOPT_USERAGENT, "branchline/" BL_VERSION);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
#undef SET
	return e == CURLE_OK ? 0 : -EINVAL;
}

/* Why a transfer failed, naming the server; negative error. */
static int
transport_error(struct cli_remote *r, const struct xfer *x, CURLcode e)
{
	const char *msg = r->errbuf[0] ? r->errbuf : curl_easy_strerror(e);

	if (x->too_big || e == CURLE_FILESIZE_EXCEEDED) {
		snprintf(r->why, sizeof(r->why),
		        "%s: the answer is larger than %u MiB", r->base,
		        CLI_REMOTE_BODY_MAX >> 20);
		return BL_ETOOBIG;
	}
	if (x->read_err != 0) {
		snprintf(r->why, sizeof(r->why),
		        "reading the file to upload: %s",
		        x->read_err == ENODATA ? "it is shorter than before"
		                               : strerror(x->read_err));
		return x->read_err == ENODATA ? BL_ECHANGED : -x->read_err;
	}
	switch (e) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		snprintf(r->why, sizeof(r->why),
		        "%s: TLS verification against the pinned CA %s failed: "
		        "%s",
		        r->base, r->ca, msg);
		return -EPROTO;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		snprintf(r->why, sizeof(r->why), "%s: %s", r->base, msg);
		return -EINVAL;
	case CURLE_OUT_OF_MEMORY:
		snprintf(r->why, sizeof(r->why), "out of memory");
		return -ENOMEM;
	default:
		snprintf(r->why, sizeof(r->why), "cannot talk to %s: %s",
		        r->base, msg);
		return -EAGAIN;
	}
}

static int
parse_json(struct cli_resp *resp)
{
	json_error_t jerr;

	if (resp->len == 0)
		return 0;
	/* JSON when it says so, or says nothing and looks like it. */
	if (strncasecmp(resp->ctype, "application/json", 16) != 0 &&
	        (resp->ctype[0] != '\0' ||
	                (resp->body[0] != '{' && resp->body[0] != '[')))
		return 0;
	resp->json = json_loadb(
	        resp->body, resp->len, JSON_REJECT_DUPLICATES, &jerr);
	return resp->json != NULL ? 0 : BL_EFORMAT;
}

int
cli_remote_call(
        struct cli_remote *r, const struct cli_req *req, struct cli_resp *resp)
{
	struct curl_slist *hdrs = NULL, *nh;
	struct xfer x;
	char url[URL_MAX + CLI_REMOTE_PATH_MAX], line[256];
	char *body = NULL;
	CURLcode e;
	int rv = 0;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	memset(&x, 0, sizeof(x));
	x.req = req;
	x.resp = resp;
	r->errbuf[0] = '\0';
	r->why[0] = '\0';
	if ((size_t)snprintf(url, sizeof(url), "%s%s", r->base, req->path) >=
	        sizeof(url)) {
		snprintf(r->why, sizeof(r->why), "request path too long");
		return BL_ETOOBIG;
	}
	curl_easy_reset(r->curl); /* keeps the connection */
	if (set_common(r, &x, url) != 0) {
		snprintf(r->why, sizeof(r->why), "libcurl refused an option");
		return -EINVAL;
	}
#define HDR(s)                                                                 \
	do {                                                                   \
		if ((nh = curl_slist_append(hdrs, s)) == NULL)                 \
			goto out_nomem;                                        \
		hdrs = nh;                                                     \
	} while (0)
	HDR(r->auth);
	HDR("Accept: application/json");
	if (req->if_match != NULL) {
		snprintf(line, sizeof(line), "If-Match: %s", req->if_match);
		HDR(line);
	}
	if (req->json != NULL) {
		if ((body = json_dumps(req->json, JSON_COMPACT)) == NULL)
			goto out_nomem;
		HDR("Content-Type: application/json");
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		        (curl_off_t)strlen(body));
	} else if (req->len > 0) {
		HDR("Content-Type: application/octet-stream");
		snprintf(line, sizeof(line),
		        "Content-Range: bytes %llu-%llu/%llu",
		        (unsigned long long)req->off,
		        (unsigned long long)(req->off + req->len - 1),
		        (unsigned long long)req->total);
		HDR(line);
		curl_easy_setopt(r->curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(r->curl, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(r->curl, CURLOPT_READDATA, &x);
		curl_easy_setopt(r->curl, CURLOPT_INFILESIZE_LARGE,
		        (curl_off_t)req->len);
		curl_easy_setopt(r->curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 1000L);
	} else if (strcmp(req->method, "POST") == 0 ||
	        strcmp(req->method, "PUT") == 0) {
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(
		        r->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
#undef HDR
	if (req->progress != NULL) {
		curl_easy_setopt(r->curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(
		        r->curl, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
		curl_easy_setopt(r->curl, CURLOPT_XFERINFODATA, &x);
	} else
		curl_easy_setopt(
		        r->curl, CURLOPT_TIMEOUT, (long)CLI_REMOTE_JSON_S);
	if (strcmp(req->method, "GET") != 0)
		curl_easy_setopt(r->curl, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, hdrs);
	e = curl_easy_perform(r->curl);
	if (e != CURLE_OK) {
		rv = transport_error(r, &x, e);
		cli_resp_cleanup(resp);
		goto out;
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (parse_json(resp) != 0 && resp->status < 300) {
		snprintf(r->why, sizeof(r->why),
		        "%s sent malformed JSON for %s %s", r->base,
		        req->method, req->path);
		cli_resp_cleanup(resp);
		rv = BL_EFORMAT;
	}
	goto out;
out_nomem:
	snprintf(r->why, sizeof(r->why), "out of memory");
	rv = -ENOMEM;
out:
	curl_slist_free_all(hdrs);
	free(body);
	return rv;
}

void
cli_resp_cleanup(struct cli_resp *resp)
{
	free(resp->body);
	json_decref(resp->json);
	memset(resp, 0, sizeof(*resp));
}

/* ---- errors and exit codes ---- */

int
cli_remote_report(const struct cli_remote *r, const struct cli_resp *resp)
{
	json_t *err = json_object_get(resp->json, "error");
	const char *msg = json_string_value(json_object_get(err, "message"));
	char clean[1024];

	if (msg != NULL)
		fprintf(stderr, "branchline: %s\n",
		        cli_clean(msg, clean, sizeof(clean)));
	else if (resp->len > 0 &&
	        strncasecmp(resp->ctype, "text/plain", 10) == 0)
		fprintf(stderr, "branchline: HTTP %ld from %s: %s\n",
		        resp->status, r->base,
		        cli_clean(resp->body, clean, 200));
	else
		fprintf(stderr, "branchline: HTTP %ld from %s\n", resp->status,
		        r->base);
	if (resp->status == 401 || resp->status == 403)
		fprintf(stderr,
		        "branchline: check the API token (--token, "
		        "BRANCHLINE_TOKEN or 'token =' in %s); "
		        "'branchline token add' makes a new one\n",
		        r->conf_path);
	if (resp->status == 404)
		return EXIT_NOTFOUND;
	return EXIT_FAIL;
}

int
cli_call(struct cli *c, const char *method, const char *path, json_t *body,
        json_t **out)
{
	struct cli_remote *r;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (path == NULL)
		return cli_error(BL_EUSAGE, "argument too long for a request");
	if ((rc = cli_remote_open(c, &r)) != 0)
		return rc;
	rc = cli_remote_json(r, method, path, body, out);
	cli_remote_close(r);
	return rc;
}

int
cli_remote_json(struct cli_remote *r, const char *method, const char *path,
        json_t *body, json_t **out)
{
	struct cli_req req = {.method = method, .path = path, .json = body};
	struct cli_resp resp;
	int rv;

	if (out != NULL)
		*out = NULL;
	if (path == NULL)
		return cli_error(BL_EUSAGE, "argument too long for a request");
	if ((rv = cli_remote_call(r, &req, &resp)) != 0)
		return cli_error(rv, "%s", r->why);
	if (resp.status >= 300) {
		rv = cli_remote_report(r, &resp);
		cli_resp_cleanup(&resp);
		return rv;
	}
	if (out != NULL) {
		*out = resp.json;
		resp.json = NULL;
	}
	cli_resp_cleanup(&resp);
	return 0;
}

/* ---- request paths ---- */

void
cli_path_init(struct cli_path *p, const char *prefix)
{
	p->len = 0;
	p->overflow = 0;
	p->has_query = 0;
	p->buf[0] = '\0';
	cli_path_lit(p, prefix);
}

void
cli_path_lit(struct cli_path *p, const char *lit)
{
	size_t n = strlen(lit);

	if (p->overflow || n >= sizeof(p->buf) - p->len) {
		p->overflow = 1;
		return;
	}
	memcpy(p->buf + p->len, lit, n + 1);
	p->len += n;
}

/* Append s percent-escaped (everything but RFC 3986 unreserved). */
static void
path_escaped(struct cli_path *p, const char *s)
{
	char *esc = curl_easy_escape(NULL, s, 0);

	if (esc == NULL) {
		p->overflow = 1;
		return;
	}
	cli_path_lit(p, esc);
	curl_free(esc);
}

void
cli_path_seg(struct cli_path *p, const char *seg)
{
	path_escaped(p, seg);
}

void
cli_path_query(struct cli_path *p, const char *key, const char *val)
{
	if (val == NULL)
		return;
	cli_path_lit(p, p->has_query ? "&" : "?");
	cli_path_lit(p, key);
	cli_path_lit(p, "=");
	path_escaped(p, val);
	p->has_query = 1;
}

const char *
cli_path_str(const struct cli_path *p)
{
	return p->overflow ? NULL : p->buf;
}

/* ---- printing the API's JSON ---- */

const char *
cli_clean(const char *s, char *buf, size_t buflen)
{
	size_t i;

	if (buflen == 0)
		return "";
	for (i = 0; s[i] != '\0' && i + 1 < buflen; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?'
		                                                      : s[i];
	buf[i] = '\0';
	return buf;
}

const char *
cli_jstr(json_t *o, const char *key, char *buf, size_t buflen)
{
	return cli_jval(json_object_get(o, key), buf, buflen);
}

const char *
cli_jval(json_t *v, char *buf, size_t buflen)
{
	if (json_is_string(v) && json_string_length(v) > 0)
		return cli_clean(json_string_value(v), buf, buflen);
	if (json_is_integer(v)) {
		snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT,
		        json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		snprintf(buf, buflen, "%g", json_real_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "yes" : "no";
	return "-";
}

json_int_t
cli_jint(json_t *o, const char *key, json_int_t dflt)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (json_int_t)json_real_value(v);
	return dflt;
}

const char *
cli_jtime(json_t *o, const char *key, char buf[32])
{
	json_t *v = json_object_get(o, key);
	struct tm tm;
	time_t t;

	if (json_is_string(v))
		return cli_clean(json_string_value(v), buf, 32);
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return "-";
	t = (time_t)json_integer_value(v);
	if (gmtime_r(&t, &tm) == NULL)
		return "-";
	strftime(buf, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

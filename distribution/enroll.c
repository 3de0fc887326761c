/*
 * enroll.c - "branchline-dist enroll": join a site.
 *
 * The operator brings a one-time token and either the primary's CA
 * certificate (--ca FILE) or its SHA-256 fingerprint (--ca-sha256, printed
 * by "branchline node add").  With a fingerprint the CA is fetched once
 * without verification and kept only if it matches; from then on every
 * connection pins it.  The node makes its own key (it never leaves the
 * node) and sends a CSR; the primary answers with the certificate, the
 * node id and site, and the key that signs catalogs and manifests.
 *
 * Everything lands in STATE: pki/{ca.crt,server.crt,server.key}, an empty
 * store whose public key is the primary's (it never signs), dist.conf,
 * and node.json, written last: its presence means "enrolled".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dist.h"
#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "pki.h"
#include "sign.h"
#include "store.h"

#define ENROLL_BODY_MAX (1u << 20)

struct membuf {
	char *p;
	size_t len;
};

static size_t
membuf_write(char *d, size_t sz, size_t n, void *arg)
{
	struct membuf *m = arg;
	size_t len = sz * n;
	char *np;

	if (m->len + len > ENROLL_BODY_MAX)
		return 0;
	if ((np = realloc(m->p, m->len + len + 1)) == NULL)
		return 0;
	memcpy(np + m->len, d, len);
	m->p = np;
	m->len += len;
	m->p[m->len] = '\0';
	return len;
}

/*
 * One request: GET when body is NULL, else POST of JSON.  ca NULL: no
 * verification (only for fetching the CA that is then checked by hash).
 * Returns the HTTP status (0 on a transport error, with why).
 */
static long
call(const char *url, const char *ca, const char *body, struct membuf *ans,
        char *why, size_t whylen)
{
	struct curl_slist *h = NULL;
	char err[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURL *c;
	CURLcode rc;

	if ((c = curl_easy_init()) == NULL) {
		bl_why(why, whylen, -ENOMEM, "out of memory");
		return 0;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, membuf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ans);
	if (ca != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	} else {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if ((rc = curl_easy_perform(c)) != CURLE_OK)
		bl_why(why, whylen, BL_EFORMAT, "%s: %s", url,
		        err[0] ? err : curl_easy_strerror(rc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* The message of an API error body, or the status. */
static void
api_error(long status, const struct membuf *m, char *why, size_t whylen)
{
	json_t *o = m->p ? json_loads(m->p, 0, NULL) : NULL;
	const char *msg = json_string_value(
	        json_object_get(json_object_get(o, "error"), "message"));

	bl_why(why, whylen, BL_EFORMAT, "the primary answered %ld: %s", status,
	        msg ? msg : "(no message)");
	json_decref(o);
}

static int
get_ca(const char *primary, const char *cafile, const char *fpr,
        const char *out, char *why, size_t whylen)
{
	struct membuf m = {NULL, 0};
	char url[700], got[PKI_FPR_HEX];
	uint8_t *pem = NULL;
	size_t len = 0;
	X509 *x = NULL;
	long st;
	int rc;

	if (cafile != NULL) {
		if ((rc = fs_read_file(cafile, 1u << 16, &pem, &len)) != 0)
			return bl_why(why, whylen, rc, "%s: %s", cafile,
			        bl_strerror(rc));
	} else {
		snprintf(url, sizeof(url), "%s/v1/ca.crt", primary);
		st = call(url, NULL, NULL, &m, why, whylen);
		if (st != 200) {
			if (st != 0)
				api_error(st, &m, why, whylen);
			free(m.p);
			return BL_EFORMAT;
		}
		pem = (uint8_t *)m.p;
		len = m.len;
	}
	if ((rc = pki_load_cert_pem((const char *)pem, len, &x, why,
	             whylen)) != 0)
		goto out;
	if ((rc = pki_cert_fingerprint(x, got)) != 0) {
		bl_why(why, whylen, rc, "fingerprinting the CA");
		goto out;
	}
	if (fpr != NULL && strcasecmp(got, fpr) != 0) {
		rc = bl_why(why, whylen, BL_ESIG,
		        "the primary's CA has SHA-256 %s, not %s: refusing to "
		        "trust it",
		        got, fpr);
		goto out;
	}
	if ((rc = fs_write_atomic(out, pem, len, 0644)) != 0)
		bl_why(why, whylen, rc, "%s: %s", out, bl_strerror(rc));
out:
	X509_free(x);
	free(pem);
	return rc;
}

/* POST /v1/enroll; *ans is the parsed answer. */
static int
enroll(const char *primary, const char *ca, const char *token,
        const char *csr, const char *myurl, json_t **ans, char *why,
        size_t whylen)
{
	struct membuf m = {NULL, 0};
	json_t *b;
	char url[700], *txt;
	long st;

	b = json_pack("{s:s,s:s,s:s}", "token", token, "csr", csr, "url",
	        myurl ? myurl : "");
	txt = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (txt == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	snprintf(url, sizeof(url), "%s/v1/enroll", primary);
	st = call(url, ca, txt, &m, why, whylen);
	free(txt);
	if (st != 201) {
		if (st != 0)
			api_error(st, &m, why, whylen);
		free(m.p);
		return BL_EFORMAT;
	}
	*ans = json_loads(m.p, 0, NULL);
	free(m.p);
	if (*ans == NULL)
		return bl_why(why, whylen, BL_EFORMAT,
		        "the primary's answer is not JSON");
	return 0;
}

/* The new store: the primary's public key, no private key. */
static int
make_store(const char *dir, const uint8_t pub[32], char *why, size_t whylen)
{
	struct store_opts o;
	char path[DIST_PATH_MAX + 128];
	int rc;

	store_opts_default(&o);
	/* A map large enough never to grow while two threads use it. */
	o.map_size = 1ull << 30;
	if ((rc = store_init(dir, &o, why, whylen)) != 0 && rc != -EEXIST)
		return rc;
	snprintf(path, sizeof(path), "%s/keys/signing.key", dir);
	if (unlink(path) != 0 && errno != ENOENT)
		return bl_why(why, whylen, -errno, "%s: %s", path,
		        strerror(errno));
	snprintf(path, sizeof(path), "%s/keys/signing.pub", dir);
	if ((rc = sign_pub_save(pub, path)) != 0)
		return bl_why(why, whylen, rc, "%s: %s", path, bl_strerror(rc));
	return 0;
}

static int
write_text(const char *path, const char *txt, mode_t mode, char *why,
        size_t whylen)
{
	int rc = fs_write_atomic(path, txt, strlen(txt), mode);

	return rc ? bl_why(why, whylen, rc, "%s: %s", path, bl_strerror(rc))
	          : 0;
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: branchline-dist enroll --primary URL --token TOKEN "
	        "--state DIR\n"
	        "           (--ca-sha256 HEX | --ca FILE) [--url URL] "
	        "[--port N] [--bind ADDR]\n"
	        "  --ca-sha256  the CA fingerprint 'branchline node add' "
	        "printed\n"
	        "  --url        https://ADDRESS:PORT where child sites reach "
	        "this node\n");
}

int
dist_enroll_main(int argc, char **argv)
{
	static const struct option opts[] = {{"primary", 1, NULL, 'p'},
	        {"token", 1, NULL, 't'}, {"state", 1, NULL, 's'},
	        {"ca", 1, NULL, 'c'}, {"ca-sha256", 1, NULL, 'f'},
	        {"url", 1, NULL, 'u'}, {"port", 1, NULL, 'P'},
	        {"bind", 1, NULL, 'b'}, {"help", 0, NULL, 'h'},
	        {NULL, 0, NULL, 0}};
	const char *primary = NULL, *token = NULL, *state = NULL, *cafile = NULL;
	const char *fpr = NULL, *myurl = NULL, *bind = "0.0.0.0";
	const char *id, *site, *cert, *pubhex;
	char path[DIST_PATH_MAX + 64], pki[DIST_PATH_MAX], ca[DIST_PATH_MAX + 64];
	char why[1536] = "", conf[4096], *csr = NULL, *txt = NULL;
	unsigned long port = 8444;
	EVP_PKEY *k = NULL;
	json_t *ans = NULL, *nj = NULL;
	uint8_t pub[32];
	size_t csrlen;
	struct stat st;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': primary = optarg; break;
		case 't': token = optarg; break;
		case 's': state = optarg; break;
		case 'c': cafile = optarg; break;
		case 'f': fpr = optarg; break;
		case 'u': myurl = optarg; break;
		case 'b': bind = optarg; break;
		case 'P':
			port = strtoul(optarg, NULL, 10);
			if (port == 0 || port > 65535) {
				fprintf(stderr, "branchline-dist: --port: "
				                "1..65535\n");
				return 2;
			}
			break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (primary == NULL || token == NULL || state == NULL ||
	        (cafile == NULL) == (fpr == NULL) || optind != argc) {
		usage();
		return 2;
	}
	if (strncmp(primary, "https://", 8) != 0 || state[0] != '/' ||
	        (myurl != NULL && strncmp(myurl, "https://", 8) != 0)) {
		fprintf(stderr, "branchline-dist: --primary and --url must be "
		                "https:// URLs and --state an absolute path\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/node.json", state);
	if (stat(path, &st) == 0) {
		fprintf(stderr, "branchline-dist: %s is enrolled already (%s)\n",
		        state, path);
		return 1;
	}
	snprintf(pki, sizeof(pki), "%s/pki", state);
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	if ((rc = fs_mkdirs(pki, 0700)) != 0) {
		bl_why(why, sizeof(why), rc, "%s: %s", pki, bl_strerror(rc));
		goto fail;
	}
	if (get_ca(primary, cafile, fpr, ca, why, sizeof(why)) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/server.key", pki);
	if (pki_key_new(&k) != 0 || pki_key_save(k, path) != 0 ||
	        pki_csr_new(k, "branchline-node", &csr, &csrlen) != 0) {
		snprintf(why, sizeof(why), "cannot make the node key %s", path);
		goto fail;
	}
	if (enroll(primary, ca, token, csr, myurl, &ans, why, sizeof(why)) != 0)
		goto fail;
	id = json_string_value(json_object_get(ans, "node_id"));
	site = json_string_value(json_object_get(ans, "site"));
	cert = json_string_value(json_object_get(ans, "certificate"));
	pubhex = json_string_value(json_object_get(ans, "signing_key"));
	if (id == NULL || site == NULL || cert == NULL || pubhex == NULL ||
	        strlen(pubhex) != 64 || hash_unhex(pubhex, pub, 32) != 0) {
		snprintf(why, sizeof(why), "the primary's answer lacks "
		                           "node_id, site, certificate or "
		                           "signing_key");
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/server.crt", pki);
	if (write_text(path, cert, 0644, why, sizeof(why)) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/store", state);
	if (make_store(path, pub, why, sizeof(why)) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/dist.conf", state);
	if (stat(path, &st) != 0) {
		snprintf(conf, sizeof(conf),
		        "# branchline-dist, written by enroll\n"
		        "state_dir = %s\nprimary_url = %s\nbind = %s\n"
		        "port = %lu\n%s%s%s"
		        "# network boot of this LAN (proxyDHCP 67/4011, TFTP 69,"
		        " HTTP 80) is on;\n"
		        "# dhcp_interfaces = eth1, http_boot_port, tftp = no,"
		        " dhcp = no, and\n"
		        "# user = NAME (drops root once the ports are bound)"
		        " shape it\n",
		        state, primary, bind, port, myurl ? "url = " : "",
		        myurl ? myurl : "", myurl ? "\n" : "");
		if (write_text(path, conf, 0644, why, sizeof(why)) != 0)
			goto fail;
	}
	nj = json_pack("{s:s,s:s,s:s,s:s}", "node_id", id, "site", site,
	        "primary", primary, "signing_key", pubhex);
	txt = nj ? json_dumps(nj, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	snprintf(path, sizeof(path), "%s/node.json", state);
	if (txt == NULL || write_text(path, txt, 0644, why, sizeof(why)) != 0)
		goto fail;
	printf("enrolled as node %s of site %s\n"
	       "start it with: branchline-dist --config %s/dist.conf\n",
	        id, site, state);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "branchline-dist: enroll: %s\n", why);
	rc = 1;
out:
	free(txt);
	json_decref(nj);
	json_decref(ans);
	free(csr);
	EVP_PKEY_free(k);
	return rc;
}

/*
 * init.c - "branchline-primary init": a new state directory.
 *
 *   STATE/primary.conf     the daemon's configuration (state_dir, port, url)
 *   STATE/store/           image store (with the manifest signing key)
 *   STATE/pki/             ca.key ca.crt server.key server.crt (keys 0600)
 *   STATE/config.git/      configuration repository (bare)
 *   STATE/uploads/ status/ resumable uploads, node heartbeats
 *
 * The admin token goes to stdout once; only its hash is kept.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"
#include "pki.h"
#include "primary.h"

#define CA_DAYS     3650
#define SERVER_DAYS 825

/* Split names into DNS names and IP addresses. */
static void
split_names(const char *const *names, size_t n, const char **dns,
        size_t *ndns, const char **ips, size_t *nips)
{
	unsigned char buf[16];
	size_t i;

	*ndns = *nips = 0;
	for (i = 0; i < n; i++) {
		if (inet_pton(AF_INET, names[i], buf) == 1 ||
		        inet_pton(AF_INET6, names[i], buf) == 1)
			ips[(*nips)++] = names[i];
		else
			dns[(*ndns)++] = names[i];
	}
}

static int
write_conf(const char *state, const char *host, char *why, size_t whylen)
{
	char path[1200], text[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/primary.conf", state);
	snprintf(text, sizeof(text),
	        "# branchline-primary configuration (made by init)\n"
	        "state_dir = %s\n"
	        "# listen address and HTTPS port (API and replication)\n"
	        "bind = 0.0.0.0\n"
	        "port = 8443\n"
	        "# how distribution nodes reach this primary\n"
	        "url = https://%s:8443\n"
	        "log_level = 1\n"
	        "# network boot of the head office's own LAN: the site whose"
	        " boot entries\n"
	        "# it serves (proxyDHCP 67/4011, TFTP 69, HTTP 80), e.g.\n"
	        "# boot_site = hq\n",
	        state, host);
	if ((rc = fs_write_atomic(path, text, strlen(text), 0644)) != 0)
		return bl_why(why, whylen, rc, "%s: %s", path, bl_strerror(rc));
	return 0;
}

static int
add_admin_token(const char *state, char tok[PRIMARY_TOKEN_LEN + 1],
        char *why, size_t whylen)
{
	struct cfgrepo *r;
	struct cfg_token t;
	struct cfg_change ch;
	char path[1200], oid[41], *txt;
	int rc;

	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "admin");
	if ((rc = cfg_token_new(tok, t.sha256)) != 0)
		return bl_why(why, whylen, rc, "no randomness");
	t.created = time(NULL);
	snprintf(path, sizeof(path), "%s/config.git", state);
	if ((rc = cfgrepo_open(path, &r, why, whylen)) != 0)
		return rc;
	if ((txt = cfg_token_json(&t)) == NULL) {
		cfgrepo_close(r);
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	}
	ch.path = "tokens/admin.json";
	ch.data = txt;
	ch.len = strlen(txt);
	rc = cfgrepo_commit(r, NULL, &ch, 1, "init", "token add admin", oid,
	        why, whylen);
	free(txt);
	cfgrepo_close(r);
	return rc < 0 ? rc : 0;
}

int
primary_init(const char *state, const char *const *names, size_t nnames,
        char *why, size_t whylen)
{
	const char *dns[34], *ips[34];
	const char *def[] = {"localhost", "127.0.0.1"};
	char host[256], path[1200], tok[PRIMARY_TOKEN_LEN + 1];
	struct store_opts o;
	size_t ndns, nips;
	int rc;

	if (state[0] != '/')
		return bl_why(why, whylen, BL_EUSAGE,
		        "--state must be an absolute path");
	if (nnames > 32)
		return bl_why(why, whylen, BL_EUSAGE, "at most 32 --name");
	snprintf(path, sizeof(path), "%s/primary.conf", state);
	if (access(path, F_OK) == 0)
		return bl_why(why, whylen, -EEXIST,
		        "%s exists: %s holds a primary already", path, state);
	if ((rc = fs_mkdirs(state, 0755)) != 0)
		return bl_why(why, whylen, rc, "%s: %s", state, bl_strerror(rc));
	store_opts_default(&o);
	snprintf(path, sizeof(path), "%s/store", state);
	if ((rc = store_init(path, &o, why, whylen)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/pki", state);
	if ((rc = fs_mkdirs(path, 0700)) != 0 ||
	        (rc = pki_ca_create(path, "Branchline primary CA", CA_DAYS, why,
	                 whylen)) != 0)
		return rc;
	if (nnames == 0) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		dns[0] = host;
		ndns = 1;
		dns[ndns++] = def[0];
		ips[0] = def[1];
		nips = 1;
	} else {
		split_names(names, nnames, dns, &ndns, ips, &nips);
		snprintf(host, sizeof(host), "%s", names[0]);
	}
	if ((rc = pki_server_cert(path, dns, ndns, ips, nips, SERVER_DAYS, why,
	             whylen)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/config.git", state);
	if ((rc = cfgrepo_init(path, "init", why, whylen)) != 0)
		return rc;
	if ((rc = add_admin_token(state, tok, why, whylen)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/uploads", state);
	(void)fs_mkdirs(path, 0700);
	snprintf(path, sizeof(path), "%s/status", state);
	(void)fs_mkdirs(path, 0755);
	if ((rc = write_conf(state, host, why, whylen)) != 0)
		return rc;
	printf("primary state in %s\n"
	       "CA certificate (clients pin it): %s/pki/ca.crt\n"
	       "configuration: %s/primary.conf\n"
	       "admin token (shown once, keep it safe):\n%s\n",
	        state, state, state, tok);
	return 0;
}

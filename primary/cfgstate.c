/*
 * cfgstate.c - the configuration at HEAD of the repository, parsed into
 * struct cfg_state, and the one path by which it changes: cfg_commit
 * checks the resulting site set, commits, and reloads.
 *
 * Repository layout (see ARCHITECTURE.md):
 *   sites/NAME.json    one site (common/site.h)
 *   nodes/ID.json      {"id","site","serial","enrolled"}
 *   tokens/NAME.json   {"name","sha256","enroll","site","created","expires"}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "error.h"
#include "hash.h"
#include "log.h"
#include "primary.h"

void
cfg_state_free(struct cfg_state *c)
{
	size_t i;

	for (i = 0; i < c->nsites; i++)
		site_free(&c->sites[i]);
	free(c->sites);
	free(c->nodes);
	free(c->tokens);
	memset(c, 0, sizeof(*c));
}

const struct site *
cfg_site(const struct cfg_state *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nsites; i++)
		if (strcmp(c->sites[i].name, name) == 0)
			return &c->sites[i];
	return NULL;
}

const struct cfg_node *
cfg_node(const struct cfg_state *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->nnodes; i++)
		if (strcmp(c->nodes[i].id, id) == 0)
			return &c->nodes[i];
	return NULL;
}

static int
copy_str(json_t *o, const char *key, char *dst, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL || strlen(s) >= cap)
		return BL_EFORMAT;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int
node_parse(const char *buf, size_t len, struct cfg_node *n)
{
	json_t *o = json_loadb(buf, len, 0, NULL);
	int rc = BL_EFORMAT;

	memset(n, 0, sizeof(*n));
	if (o == NULL)
		return rc;
	if (copy_str(o, "id", n->id, sizeof(n->id)) == 0 &&
	        copy_str(o, "site", n->site, sizeof(n->site)) == 0 &&
	        copy_str(o, "serial", n->serial, sizeof(n->serial)) == 0) {
		n->enrolled = json_integer_value(json_object_get(o, "enrolled"));
		rc = 0;
	}
	json_decref(o);
	return rc;
}

static int
token_parse(const char *buf, size_t len, struct cfg_token *t)
{
	json_t *o = json_loadb(buf, len, 0, NULL);
	int rc = BL_EFORMAT;

	memset(t, 0, sizeof(*t));
	if (o == NULL)
		return rc;
	if (copy_str(o, "name", t->name, sizeof(t->name)) == 0 &&
	        copy_str(o, "sha256", t->sha256, sizeof(t->sha256)) == 0) {
		t->enroll = json_is_true(json_object_get(o, "enroll"));
		if (t->enroll)
			(void)copy_str(o, "site", t->site, sizeof(t->site));
		t->created = json_integer_value(json_object_get(o, "created"));
		t->expires = json_integer_value(json_object_get(o, "expires"));
		rc = 0;
	}
	json_decref(o);
	return rc;
}

char *
cfg_node_json(const struct cfg_node *n)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "id", n->id, "site",
	        n->site, "serial", n->serial, "enrolled",
	        (json_int_t)n->enrolled);
	char *s = o ? json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;

	json_decref(o);
	return s;
}

char *
cfg_token_json(const struct cfg_token *t)
{
	json_t *o = json_pack("{s:s,s:s,s:b,s:I,s:I}", "name", t->name,
	        "sha256", t->sha256, "enroll", t->enroll, "created",
	        (json_int_t)t->created, "expires", (json_int_t)t->expires);
	char *s;

	if (o != NULL && t->enroll)
		json_object_set_new(o, "site", json_string(t->site));
	s = o ? json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
	json_decref(o);
	return s;
}

void
cfg_token_hash(const char *tok, char sha[65])
{
	uint8_t h[32];

	if (hash_sha256(tok, strlen(tok), h) != 0)
		memset(h, 0, sizeof(h));
	hash_hex(h, 32, sha);
}

int
cfg_token_new(char tok[PRIMARY_TOKEN_LEN + 1], char sha[65])
{
	uint8_t r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return BL_ECRYPTO;
	memcpy(tok, "bl_", 3);
	hash_hex(r, sizeof(r), tok + 3);
	cfg_token_hash(tok, sha);
	return 0;
}

/* Read every DIR/NAME.json at HEAD, calling fn on each. */
static int
load_dir(struct cfgrepo *r, const char *dir,
        int (*fn)(const char *name, const char *buf, size_t len, void *),
        void *arg, char *why, size_t whylen)
{
	char **names = NULL, path[300];
	size_t n = 0, i, len;
	char *buf;
	int rc;

	if ((rc = cfgrepo_list(r, NULL, dir, &names, &n)) != 0)
		return bl_why(why, whylen, rc, "listing %s: %s", dir,
		        bl_strerror(rc));
	for (i = 0; i < n && rc == 0; i++) {
		size_t nl = strlen(names[i]);

		if (nl < 6 || strcmp(names[i] + nl - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((rc = cfgrepo_read(r, NULL, path, &buf, &len)) != 0) {
			rc = bl_why(why, whylen, rc, "%s: %s", path,
			        bl_strerror(rc));
			break;
		}
		if ((rc = fn(path, buf, len, arg)) != 0)
			(void)bl_why(why, whylen, rc, "%s: cannot parse it",
			        path);
		free(buf);
	}
	cfgrepo_list_free(names, n);
	return rc;
}

static int
grow(void **arr, size_t n, size_t size)
{
	void *na;

	if ((n & (n - 1)) != 0 && n != 0)
		return 0; /* capacity is the next power of two */
	if ((na = realloc(*arr, (n ? n * 2 : 4) * size)) == NULL)
		return -ENOMEM;
	*arr = na;
	return 0;
}

static int
add_site(const char *path, const char *buf, size_t len, void *arg)
{
	struct cfg_state *c = arg;
	char why[256];
	int rc;

	if ((rc = grow((void **)&c->sites, c->nsites, sizeof(*c->sites))) != 0)
		return rc;
	if ((rc = site_from_json(buf, len, &c->sites[c->nsites], why,
	             sizeof(why))) != 0) {
		log_warnx("configuration %s: %s", path, why);
		return rc;
	}
	c->nsites++;
	return 0;
}

static int
add_node(const char *path, const char *buf, size_t len, void *arg)
{
	struct cfg_state *c = arg;
	int rc;

	(void)path;
	if ((rc = grow((void **)&c->nodes, c->nnodes, sizeof(*c->nodes))) != 0)
		return rc;
	if ((rc = node_parse(buf, len, &c->nodes[c->nnodes])) != 0)
		return rc;
	c->nnodes++;
	return 0;
}

static int
add_token(const char *path, const char *buf, size_t len, void *arg)
{
	struct cfg_state *c = arg;
	int rc;

	(void)path;
	if ((rc = grow((void **)&c->tokens, c->ntokens, sizeof(*c->tokens))) !=
	        0)
		return rc;
	if ((rc = token_parse(buf, len, &c->tokens[c->ntokens])) != 0)
		return rc;
	c->ntokens++;
	return 0;
}

int
cfg_load(struct primary *p, char *why, size_t whylen)
{
	struct cfg_state c;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = cfgrepo_head(p->repo, c.head)) != 0)
		return bl_why(why, whylen, rc, "configuration HEAD: %s",
		        bl_strerror(rc));
	if ((rc = load_dir(p->repo, "sites", add_site, &c, why, whylen)) != 0 ||
	        (rc = load_dir(p->repo, "nodes", add_node, &c, why, whylen)) !=
	                0 ||
	        (rc = load_dir(p->repo, "tokens", add_token, &c, why,
	                 whylen)) != 0) {
		cfg_state_free(&c);
		return rc;
	}
	cfg_state_free(&p->cfg);
	p->cfg = c;
	return 0;
}

/* The sites after ch: HEAD's, with sites/ changes applied, checked. */
static int
check_sites(struct primary *p, const struct cfg_change *ch, size_t n,
        char *why, size_t whylen)
{
	struct site *all;
	size_t na = 0, nbase, i, j;
	int rc = 0;

	if ((all = calloc(p->cfg.nsites + n + 1, sizeof(*all))) == NULL)
		return -ENOMEM;
	for (i = 0; i < p->cfg.nsites; i++) {
		char path[300];

		snprintf(path, sizeof(path), "sites/%s.json",
		        p->cfg.sites[i].name);
		for (j = 0; j < n; j++)
			if (strcmp(ch[j].path, path) == 0)
				break;
		if (j == n)
			all[na++] = p->cfg.sites[i]; /* shallow: not freed */
	}
	nbase = na;
	for (j = 0; j < n && rc == 0; j++) {
		if (strncmp(ch[j].path, "sites/", 6) != 0 || ch[j].data == NULL)
			continue;
		rc = site_from_json(
		        ch[j].data, ch[j].len, &all[na], why, whylen);
		if (rc == 0)
			na++;
	}
	if (rc == 0)
		rc = site_check_set(all, na, why, whylen);
	for (i = nbase; i < na; i++)
		site_free(&all[i]);
	free(all);
	return rc;
}

int
cfg_commit(struct primary *p, const struct cfg_change *ch, size_t n,
        const char *author, const char *message, char *why, size_t whylen)
{
	char oid[41], lwhy[512];
	int rc;

	if ((rc = check_sites(p, ch, n, why, whylen)) != 0)
		return rc;
	rc = cfgrepo_commit(p->repo, p->cfg.head, ch, n, author, message, oid,
	        why, whylen);
	if (rc < 0)
		return rc;
	if (rc == 0)
		log_info("configuration %.12s by %s: %s", oid, author, message);
	if ((rc = cfg_load(p, lwhy, sizeof(lwhy))) != 0) {
		log_warnx("reloading configuration: %s", lwhy);
		return bl_why(why, whylen, rc, "%s", lwhy);
	}
	catalog_kick(p);
	return 0;
}

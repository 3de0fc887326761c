/*
 * test_cfgrepo.c - the configuration repository on real bare repositories:
 * init, commit, read at revisions, list, no-op and conflicting commits,
 * bad paths, log, diff, rollback, size limits, a stale ref lock, two
 * writer processes, writers killed with SIGKILL, and the git CLI reading
 * what libgit2 wrote.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <git2.h>

#include "cfgrepo.h"
#include "error.h"
#include "test_list.h"
#include "testutil.h"

struct fixture {
	const char *dir;
	char repo[512];
	struct cfgrepo *r;
};

static int
fx_setup(struct fixture *fx, const char *tag)
{
	char why[256] = "";

	memset(fx, 0, sizeof(*fx));
	if ((fx->dir = tu_tmpdir(tag)) == NULL)
		return -1;
	snprintf(fx->repo, sizeof(fx->repo), "%s/cfg.git", fx->dir);
	if (cfgrepo_init(fx->repo, "setup", why, sizeof(why)) != 0 ||
	        cfgrepo_open(fx->repo, &fx->r, why, sizeof(why)) != 0) {
		fprintf(stderr, "cfgrepo setup: %s\n", why);
		return -1;
	}
	return 0;
}

static void
fx_teardown(struct fixture *fx)
{
	cfgrepo_close(fx->r);
	tu_rmrf(fx->dir);
}

/* Commit one file (data NULL: delete it) as alice. */
static int
put(struct cfgrepo *r, const char *path, const char *data, const char *msg,
        char oid[41])
{
	struct cfg_change c = {path, data, data ? strlen(data) : 0};
	char tmp[41];

	return cfgrepo_commit(
	        r, NULL, &c, 1, "alice", msg, oid ? oid : tmp, NULL, 0);
}

/* 0 when path at rev holds exactly want (NULL: must be absent). */
static int
has(struct cfgrepo *r, const char *rev, const char *path, const char *want)
{
	char *buf;
	size_t len;
	int rc;

	rc = cfgrepo_read(r, rev, path, &buf, &len);
	if (want == NULL)
		return rc == BL_ENOTFOUND ? 0 : -1;
	if (rc != 0)
		return rc;
	rc = len == strlen(want) && memcmp(buf, want, len) == 0 &&
	                buf[len] == '\0'
	        ? 0
	        : -2;
	free(buf);
	return rc;
}

static size_t
log_count(struct cfgrepo *r)
{
	struct cfg_logent *le;
	size_t n = 0;

	if (cfgrepo_log(r, 100000, 0, &le, &n) != 0)
		return 0;
	free(le);
	return n;
}

static void
test_init_open(void)
{
	struct fixture fx;
	struct cfgrepo *r2;
	struct cfg_logent *le;
	char head[41], why[256], path[600], **names;
	size_t n;

	CU_ASSERT_FATAL(fx_setup(&fx, "cfginit") == 0);
	CU_ASSERT_EQUAL(cfgrepo_head(fx.r, head), 0);
	CU_ASSERT_EQUAL(strlen(head), 40);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/a.json", NULL), 0);
	CU_ASSERT_EQUAL(cfgrepo_list(fx.r, NULL, NULL, &names, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(names);
	CU_ASSERT_EQUAL(cfgrepo_log(fx.r, 10, 0, &le, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(le[0].message, "init");
	CU_ASSERT_STRING_EQUAL(le[0].author, "setup");
	CU_ASSERT_STRING_EQUAL(le[0].oid, head);
	free(le);

	/* A second init, a missing repository, a bad author. */
	CU_ASSERT_EQUAL(
	        cfgrepo_init(fx.repo, "bob", why, sizeof(why)), BL_EBUSY);
	snprintf(path, sizeof(path), "%s/none", fx.dir);
	CU_ASSERT_EQUAL(
	        cfgrepo_open(path, &r2, why, sizeof(why)), BL_ENOTFOUND);
	CU_ASSERT_PTR_NULL(r2);
	CU_ASSERT_EQUAL(
	        cfgrepo_init(path, "b<o>b", why, sizeof(why)), BL_EUSAGE);
	CU_ASSERT_EQUAL(cfgrepo_init(path, "", why, sizeof(why)), BL_EUSAGE);
	CU_ASSERT_EQUAL(access(path, F_OK), -1);

	/* A second handle on the same repository sees the same HEAD. */
	CU_ASSERT_EQUAL_FATAL(cfgrepo_open(fx.repo, &r2, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(cfgrepo_head(r2, path), 0);
	CU_ASSERT_STRING_EQUAL(path, head);
	cfgrepo_close(r2);
	fx_teardown(&fx);
}

static void
test_commit_read(void)
{
	struct cfg_change two[] = {
	        {"sites/a.json", "{\"a\":1}\n", 8},
	        {"sites/b.json", "{\"b\":2}\n", 8},
	};
	struct fixture fx;
	char h0[41], h1[41], h2[41], h3[41], why[256], pre[11];

	CU_ASSERT_FATAL(fx_setup(&fx, "cfgcommit") == 0);
	CU_ASSERT_EQUAL(cfgrepo_head(fx.r, h0), 0);
	CU_ASSERT_EQUAL_FATAL(cfgrepo_commit(fx.r, NULL, two, 2, "alice",
	                              "add sites", h1, why, sizeof(why)),
	        0);
	CU_ASSERT_STRING_NOT_EQUAL(h0, h1);
	CU_ASSERT_EQUAL(cfgrepo_head(fx.r, h2), 0);
	CU_ASSERT_STRING_EQUAL(h1, h2);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/a.json", "{\"a\":1}\n"), 0);
	CU_ASSERT_EQUAL(has(fx.r, "HEAD", "sites/b.json", "{\"b\":2}\n"), 0);

	/* Nested to the maximum depth; a directory is not a file. */
	CU_ASSERT_EQUAL(
	        put(fx.r, "nodes/hq/rack1/n1.json", "n1", "node", h2), 0);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "nodes/hq/rack1/n1.json", "n1"), 0);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "nodes/hq", NULL), 0);

	/* Delete, then read at older revisions in every spelling. */
	CU_ASSERT_EQUAL(put(fx.r, "sites/b.json", NULL, "drop b", h3), 0);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/b.json", NULL), 0);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/a.json", "{\"a\":1}\n"), 0);
	CU_ASSERT_EQUAL(has(fx.r, "HEAD~1", "sites/b.json", "{\"b\":2}\n"), 0);
	CU_ASSERT_EQUAL(has(fx.r, h1, "sites/b.json", "{\"b\":2}\n"), 0);
	snprintf(pre, sizeof(pre), "%.10s", h1);
	CU_ASSERT_EQUAL(has(fx.r, pre, "sites/b.json", "{\"b\":2}\n"), 0);
	CU_ASSERT_EQUAL(has(fx.r, h0, "sites/a.json", NULL), 0);
	CU_ASSERT_EQUAL(has(fx.r, "HEAD~9", "sites/a.json", NULL), 0);
	CU_ASSERT_EQUAL(has(fx.r, "nosuchrev", "sites/a.json", NULL), 0);
	CU_ASSERT_EQUAL(has(fx.r, "HEAD:sites", "sites/a.json", NULL), 0);

	/* Overwrite within one change set: the later change wins. */
	two[1].path = "sites/a.json";
	two[1].data = "{\"a\":3}";
	two[1].len = 7;
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, two, 2, "alice", "twice", h3,
	                        why, sizeof(why)),
	        0);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/a.json", "{\"a\":3}"), 0);
	CU_ASSERT_EQUAL(log_count(fx.r), 5);
	fx_teardown(&fx);
}

static void
test_noop(void)
{
	struct fixture fx;
	struct cfg_change c = {"sites/a.json", "A", 1};
	char h1[41], h2[41], why[256];

	CU_ASSERT_FATAL(fx_setup(&fx, "cfgnoop") == 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/a.json", "A", "add", h1), 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/a.json", "A", "same", h2), 1);
	CU_ASSERT_STRING_EQUAL(h1, h2);
	CU_ASSERT_EQUAL(put(fx.r, "sites/zz.json", NULL, "del absent", h2), 1);
	CU_ASSERT_STRING_EQUAL(h1, h2);
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, h1, &c, 0, "alice", "nothing", h2,
	                        why, sizeof(why)),
	        1);
	CU_ASSERT_STRING_EQUAL(h1, h2);
	CU_ASSERT_EQUAL(log_count(fx.r), 2);
	fx_teardown(&fx);
}

static void
test_expect_head(void)
{
	struct fixture fx;
	struct cfg_change c = {"sites/a.json", "B", 1};
	char h0[41], h1[41], h2[41], why[256] = "";

	CU_ASSERT_FATAL(fx_setup(&fx, "cfgexpect") == 0);
	CU_ASSERT_EQUAL(cfgrepo_head(fx.r, h0), 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/a.json", "A", "add", h1), 0);
	/* Validated against h0, but HEAD moved on to h1. */
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, h0, &c, 1, "bob", "stale", h2, why,
	                        sizeof(why)),
	        BL_EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "changed meanwhile"));
	CU_ASSERT_EQUAL(cfgrepo_head(fx.r, h2), 0);
	CU_ASSERT_STRING_EQUAL(h1, h2);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/a.json", "A"), 0);
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, "abc", &c, 1, "bob", "x", h2, why,
	                        sizeof(why)),
	        BL_EUSAGE);
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, h1, &c, 1, "bob", "fresh", h2, why,
	                        sizeof(why)),
	        0);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/a.json", "B"), 0);
	CU_ASSERT_EQUAL(log_count(fx.r), 3);
	fx_teardown(&fx);
}

static void
test_bad_input(void)
{
	static const char *bad[] = {
	        "",
	        "/a",
	        "a/",
	        "a//b",
	        ".",
	        "a/./b",
	        "../a",
	        "a/..",
	        ".git/config",
	        "x/.GIT",
	        "x/.git..",
	        "a b",
	        "a\\b",
	        "a:b",
	        "caf\xc3\xa9",
	        "a/b/c/d/e",
	        "sites",
	        "sites/a.json/x",
	        "a\nb",
	};
	struct fixture fx;
	struct cfg_change c = {NULL, "x", 1};
	char h0[41], h1[41], why[256], path[300], *buf;
	struct cfg_logent *le;
	size_t i, len, n;

	CU_ASSERT_FATAL(fx_setup(&fx, "cfgbad") == 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/a.json", "A", "add", h0), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.path = bad[i];
		why[0] = '\0';
		CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, &c, 1, "alice", "m",
		                        h1, why, sizeof(why)),
		        BL_EFORMAT);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "path"));
	}
	/* 255 bytes pass, 256 do not. */
	memset(path, 'p', sizeof(path));
	path[255] = '\0';
	CU_ASSERT_EQUAL(put(fx.r, path, "x", "long", NULL), 0);
	path[255] = 'p';
	path[256] = '\0';
	CU_ASSERT_EQUAL(put(fx.r, path, "x", "too long", NULL), BL_EFORMAT);
	CU_ASSERT_EQUAL(put(fx.r, "ok/A-z_0.9@x+y", "x", "chars", NULL), 0);
	CU_ASSERT_EQUAL(cfgrepo_read(fx.r, NULL, "../etc/passwd", &buf, &len),
	        BL_EFORMAT);

	/* Authors, messages, sizes. */
	c.path = "sites/b.json";
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, &c, 1, "a b", "m", h1, why,
	                        sizeof(why)),
	        BL_EUSAGE);
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, &c, 1, "<x>", "m", h1, why,
	                        sizeof(why)),
	        BL_EUSAGE);
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, &c, 1, "alice", "", h1, why,
	                        sizeof(why)),
	        BL_EUSAGE);
	memset(path, 'u', CFGREPO_AUTHOR_MAX + 1);
	path[CFGREPO_AUTHOR_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, &c, 1, path, "m", h1, why,
	                        sizeof(why)),
	        BL_EUSAGE);
	path[CFGREPO_AUTHOR_MAX] = '\0'; /* the longest token name */
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, &c, 1, path, "m", h1, why,
	                        sizeof(why)),
	        0);
	CU_ASSERT_EQUAL(cfgrepo_log(fx.r, 1, 0, &le, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	if (n == 1)
		CU_ASSERT_STRING_EQUAL(le[0].author, path);
	free(le);
	c.len = CFGREPO_FILE_MAX + 1;
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, &c, 1, "alice", "big", h1,
	                        why, sizeof(why)),
	        BL_ETOOBIG);
	CU_ASSERT_EQUAL(log_count(fx.r), 5);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/b.json", "x"), 0);
	fx_teardown(&fx);
}

static void
test_log(void)
{
	struct fixture fx;
	struct cfg_change c = {"sites/a.json", "1", 1};
	struct cfg_logent *le;
	char h[3][41], why[256], msg[700];
	time_t now = time(NULL);
	size_t n;

	CU_ASSERT_FATAL(fx_setup(&fx, "cfglog") == 0);
	CU_ASSERT_EQUAL(
	        cfgrepo_commit(fx.r, NULL, &c, 1, "alice",
	                "site create hq\n\nbody\n", h[0], why, sizeof(why)),
	        0);
	c.data = "2";
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, &c, 1, "bob", "site update",
	                        h[1], why, sizeof(why)),
	        0);
	/* A long message is cut at a character boundary. */
	memset(msg, 'm', sizeof(msg));
	memcpy(msg + 510, "\xc3\xa9\xc3\xa9", 4);
	msg[600] = '\0';
	c.data = "3";
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, &c, 1, "carol", msg, h[2],
	                        why, sizeof(why)),
	        0);
	CU_ASSERT_EQUAL(cfgrepo_log(fx.r, 10, 0, &le, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_STRING_EQUAL(le[0].oid, h[2]);
	CU_ASSERT_STRING_EQUAL(le[1].oid, h[1]);
	CU_ASSERT_STRING_EQUAL(le[2].oid, h[0]);
	CU_ASSERT_STRING_EQUAL(le[0].author, "carol");
	CU_ASSERT_STRING_EQUAL(le[1].author, "bob");
	CU_ASSERT_STRING_EQUAL(le[1].message, "site update");
	CU_ASSERT_STRING_EQUAL(le[2].message, "site create hq\n\nbody");
	CU_ASSERT_STRING_EQUAL(le[3].message, "init");
	CU_ASSERT_EQUAL(strlen(le[0].message), 510); /* not 511 */
	CU_ASSERT(le[2].time >= now - 5 && le[2].time <= time(NULL) + 5);
	free(le);
	CU_ASSERT_EQUAL(cfgrepo_log(fx.r, 1, 1, &le, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(le[0].oid, h[1]);
	free(le);
	CU_ASSERT_EQUAL(cfgrepo_log(fx.r, 10, 4, &le, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(le);
	fx_teardown(&fx);
}

static void
test_diff(void)
{
	struct fixture fx;
	char h1[41], *p;
	size_t len;

	CU_ASSERT_FATAL(fx_setup(&fx, "cfgdiff") == 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/a.json", "one\nx\n", "v1", h1), 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/a.json", "one\ny\n", "v2", NULL), 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/new.json", "n\n", "v3", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(cfgrepo_diff(fx.r, h1, NULL, &p, &len), 0);
	CU_ASSERT_EQUAL(strlen(p), len);
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "diff --git a/sites/a.json"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n-x\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n+y\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n one\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "+++ b/sites/new.json"));
	free(p);
	/* Reversed: the new file goes away. */
	CU_ASSERT_EQUAL_FATAL(
	        cfgrepo_diff(fx.r, "HEAD", "HEAD~2", &p, &len), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "\n-n\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "+++ /dev/null"));
	free(p);
	CU_ASSERT_EQUAL(cfgrepo_diff(fx.r, NULL, NULL, &p, &len), 0);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_STRING_EQUAL(p, "");
	free(p);
	CU_ASSERT_EQUAL(
	        cfgrepo_diff(fx.r, "nope", NULL, &p, &len), BL_ENOTFOUND);
	CU_ASSERT_PTR_NULL(p);
	fx_teardown(&fx);
}

static void
test_rollback(void)
{
	struct fixture fx;
	struct cfg_logent *le;
	char h1[41], h2[41], h3[41], want[80], why[256] = "", *p;
	size_t n;

	CU_ASSERT_FATAL(fx_setup(&fx, "cfgrollback") == 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/a.json", "A1", "good\nmore", h1), 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/a.json", "A2", "bad", NULL), 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/b.json", "B", "worse", h2), 0);
	CU_ASSERT_EQUAL(
	        cfgrepo_rollback(fx.r, h1, "carol", h3, why, sizeof(why)), 0);
	CU_ASSERT_STRING_NOT_EQUAL(h3, h2);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/a.json", "A1"), 0);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/b.json", NULL), 0);
	CU_ASSERT_EQUAL(has(fx.r, "HEAD~1", "sites/b.json", "B"), 0);
	CU_ASSERT_EQUAL(cfgrepo_log(fx.r, 1, 0, &le, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	snprintf(want, sizeof(want), "rollback to %.12s (good)", h1);
	CU_ASSERT_STRING_EQUAL(le[0].message, want);
	CU_ASSERT_STRING_EQUAL(le[0].author, "carol");
	CU_ASSERT_STRING_EQUAL(le[0].oid, h3);
	free(le);
	CU_ASSERT_EQUAL(log_count(fx.r), 5);

	/* Rolling back to what HEAD holds is still put on record. */
	CU_ASSERT_EQUAL(
	        cfgrepo_rollback(fx.r, h1, "carol", h2, why, sizeof(why)), 0);
	CU_ASSERT_STRING_NOT_EQUAL(h2, h3);
	CU_ASSERT_EQUAL(cfgrepo_diff(fx.r, h3, h2, &p, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(p);
	CU_ASSERT_EQUAL(
	        cfgrepo_rollback(fx.r, "HEAD~2", "carol", h2, why, sizeof(why)),
	        0);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "sites/a.json", "A2"), 0);
	CU_ASSERT_EQUAL(cfgrepo_rollback(fx.r, "deadbeef00", "carol", h2, why,
	                        sizeof(why)),
	        BL_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "deadbeef00"));
	CU_ASSERT_EQUAL(log_count(fx.r), 7);
	fx_teardown(&fx);
}

static void
test_list(void)
{
	struct cfg_change c[] = {
	        {"sites/hq.json", "1", 1},
	        {"sites/b.json", "2", 1},
	        {"sites/Z.json", "3", 1},
	        {"sites/sub/x.json", "4", 1},
	        {"top", "5", 1},
	};
	struct fixture fx;
	char h[41], why[256], **v;
	size_t n;

	CU_ASSERT_FATAL(fx_setup(&fx, "cfglist") == 0);
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, c, 5, "alice", "many", h,
	                        why, sizeof(why)),
	        0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/b.json", NULL, "drop", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(cfgrepo_list(fx.r, NULL, "sites", &v, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(v[0], "Z.json");
	CU_ASSERT_STRING_EQUAL(v[1], "hq.json");
	cfgrepo_list_free(v, n);
	CU_ASSERT_EQUAL_FATAL(cfgrepo_list(fx.r, h, "sites", &v, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(v[1], "b.json");
	cfgrepo_list_free(v, n);
	CU_ASSERT_EQUAL_FATAL(cfgrepo_list(fx.r, NULL, "", &v, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(v[0], "top");
	cfgrepo_list_free(v, n);
	CU_ASSERT_EQUAL(cfgrepo_list(fx.r, NULL, "nodes", &v, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(cfgrepo_list(fx.r, NULL, "top", &v, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(
	        cfgrepo_list(fx.r, "HEAD~5", "sites", &v, &n), BL_ENOTFOUND);
	CU_ASSERT_EQUAL(cfgrepo_list(fx.r, NULL, "../x", &v, &n), BL_EFORMAT);
	fx_teardown(&fx);
}

/* Commit a blob of len bytes at "big" behind cfgrepo's back. */
static int
commit_raw_blob(const char *repo, size_t len)
{
	git_repository *g = NULL;
	git_treebuilder *tb = NULL;
	git_signature *sig = NULL;
	git_commit *parent = NULL;
	git_tree *tree = NULL;
	git_oid blob, tid, cid, head;
	char *data = calloc(1, len);
	int rc = -1;

	git_libgit2_init();
	if (data != NULL && !git_repository_open_bare(&g, repo) &&
	        !git_reference_name_to_id(&head, g, "HEAD") &&
	        !git_commit_lookup(&parent, g, &head) &&
	        !git_blob_create_from_buffer(&blob, g, data, len) &&
	        !git_treebuilder_new(&tb, g, NULL) &&
	        !git_treebuilder_insert(
	                NULL, tb, "big", &blob, GIT_FILEMODE_BLOB) &&
	        !git_treebuilder_write(&tid, tb) &&
	        !git_tree_lookup(&tree, g, &tid) &&
	        !git_signature_now(&sig, "raw", "raw@x") &&
	        !git_commit_create_v(&cid, g, "HEAD", sig, sig, NULL, "raw\n",
	                tree, 1, parent))
		rc = 0;
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	git_commit_free(parent);
	git_repository_free(g);
	git_libgit2_shutdown();
	free(data);
	return rc;
}

static void
test_size_limits(void)
{
	struct fixture fx;
	struct cfg_change c = {"big", NULL, CFGREPO_FILE_MAX};
	char h[41], why[256], *buf;
	size_t len;

	CU_ASSERT_FATAL(fx_setup(&fx, "cfgsize") == 0);
	CU_ASSERT_FATAL((c.data = calloc(1, CFGREPO_FILE_MAX)) != NULL);
	CU_ASSERT_EQUAL(cfgrepo_commit(fx.r, NULL, &c, 1, "alice", "4 MiB", h,
	                        why, sizeof(why)),
	        0);
	CU_ASSERT_EQUAL(cfgrepo_read(fx.r, NULL, "big", &buf, &len), 0);
	CU_ASSERT_EQUAL(len, CFGREPO_FILE_MAX);
	free(buf);
	free((char *)c.data);
	CU_ASSERT_EQUAL_FATAL(
	        commit_raw_blob(fx.repo, CFGREPO_FILE_MAX + 1), 0);
	CU_ASSERT_EQUAL(
	        cfgrepo_read(fx.r, NULL, "big", &buf, &len), BL_ETOOBIG);
	CU_ASSERT_PTR_NULL(buf);
	fx_teardown(&fx);
}

/* A ref lock left by a killed writer blocks until it is stale. */
static void
test_stale_lock(void)
{
	struct fixture fx;
	struct timespec ts[2];
	char lock[600], h0[41], h1[41];

	CU_ASSERT_FATAL(fx_setup(&fx, "cfglock") == 0);
	snprintf(lock, sizeof(lock), "%s/refs/heads/main.lock", fx.repo);
	CU_ASSERT_EQUAL_FATAL(tu_write(lock, "", 0), 0);
	CU_ASSERT_EQUAL(cfgrepo_head(fx.r, h0), 0);
	CU_ASSERT_EQUAL(put(fx.r, "a", "1", "locked", NULL), BL_EBUSY);
	CU_ASSERT_EQUAL(cfgrepo_head(fx.r, h1), 0);
	CU_ASSERT_STRING_EQUAL(h0, h1);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 60;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	CU_ASSERT_EQUAL(utimensat(AT_FDCWD, lock, ts, 0), 0);
	CU_ASSERT_EQUAL(put(fx.r, "a", "1", "unlocked", NULL), 0);
	CU_ASSERT_EQUAL(access(lock, F_OK), -1);
	CU_ASSERT_EQUAL(has(fx.r, NULL, "a", "1"), 0);
	fx_teardown(&fx);
}

#define WRITER_COMMITS 20

/* Child: commit WRITER_COMMITS files named <tag>-<i>; exit with count. */
static void
writer_child(const char *repo, const char *tag, int forever)
{
	struct cfgrepo *r;
	char path[64], why[256];
	int i, ok = 0;

	if (cfgrepo_open(repo, &r, why, sizeof(why)) != 0)
		_exit(255);
	for (i = 0; forever || i < WRITER_COMMITS; i++) {
		snprintf(path, sizeof(path), "w/%s-%d", tag, i);
		if (put(r, path, tag, "writer", NULL) == 0)
			ok++;
	}
	cfgrepo_close(r);
	_exit(ok);
}

static void
test_two_writers(void)
{
	struct fixture fx;
	char **v;
	pid_t pid[2];
	size_t n;
	int i, st, total = 0;

	CU_ASSERT_FATAL(fx_setup(&fx, "cfgwriters") == 0);
	cfgrepo_close(fx.r);
	fx.r = NULL;
	for (i = 0; i < 2; i++)
		if ((pid[i] = fork()) == 0)
			writer_child(fx.repo, i ? "b" : "a", 0);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL_FATAL(waitpid(pid[i], &st, 0), pid[i]);
		CU_ASSERT(WIFEXITED(st));
		total += WEXITSTATUS(st);
	}
	CU_ASSERT_EQUAL(total, 2 * WRITER_COMMITS);
	CU_ASSERT_EQUAL_FATAL(cfgrepo_open(fx.repo, &fx.r, NULL, 0), 0);
	CU_ASSERT_EQUAL(log_count(fx.r), 1 + (size_t)total);
	CU_ASSERT_EQUAL(cfgrepo_list(fx.r, NULL, "w", &v, &n), 0);
	CU_ASSERT_EQUAL(n, (size_t)total);
	cfgrepo_list_free(v, n);
	fx_teardown(&fx);
}

/* Kill a busy writer at varying moments; the repository stays usable. */
static void
test_kill9(void)
{
	struct fixture fx;
	struct timespec ts[2], delay = {0, 0};
	char lock[600], h[41], why[256], *buf;
	size_t len;
	pid_t pid;
	int i;

	CU_ASSERT_FATAL(fx_setup(&fx, "cfgkill") == 0);
	snprintf(lock, sizeof(lock), "%s/refs/heads/main.lock", fx.repo);
	cfgrepo_close(fx.r);
	fx.r = NULL;
	for (i = 0; i < 6; i++) {
		if ((pid = fork()) == 0)
			writer_child(fx.repo, "k", 1);
		delay.tv_nsec = 20000000L + 7919000L * i;
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (access(lock, F_OK) ==
		        0) { /* killed inside the ref update */
			ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 60;
			ts[0].tv_nsec = ts[1].tv_nsec = 0;
			utimensat(AT_FDCWD, lock, ts, 0);
		}
		CU_ASSERT_EQUAL_FATAL(
		        cfgrepo_open(fx.repo, &fx.r, why, sizeof(why)), 0);
		CU_ASSERT_EQUAL(cfgrepo_head(fx.r, h), 0);
		CU_ASSERT_EQUAL(put(fx.r, "after", h, "after kill", NULL), 0);
		CU_ASSERT_EQUAL(
		        cfgrepo_read(fx.r, NULL, "after", &buf, &len), 0);
		free(buf);
		cfgrepo_close(fx.r);
		fx.r = NULL;
	}
	fx_teardown(&fx);
}

/* 0 when `cmd` succeeds and prints exactly want (stdout and stderr). */
static int
cmd_output_is(const char *cmd, const char *out, const char *want)
{
	char full[2048], got[4096];
	size_t len = 0;
	FILE *f;
	int st;

	snprintf(full, sizeof(full), "%s >%s 2>&1", cmd, out);
	st = system(full);
	if ((f = fopen(out, "r")) != NULL) {
		len = fread(got, 1, sizeof(got) - 1, f);
		fclose(f);
	}
	got[len] = '\0';
	if (st == 0 && strcmp(got, want) == 0)
		return 0;
	fprintf(stderr, "%s: status %d, output \"%s\"\n", cmd, st, got);
	return -1;
}

static void
test_git_cli(void)
{
	struct fixture fx;
	char cmd[1024], out[600];

	if (system("command -v git >/dev/null 2>&1") != 0)
		return; /* no git on this machine: nothing to compare with */
	CU_ASSERT_FATAL(fx_setup(&fx, "cfggit") == 0);
	CU_ASSERT_EQUAL(
	        put(fx.r, "sites/a.json", "{\"a\":1}\n", "add a", NULL), 0);
	CU_ASSERT_EQUAL(put(fx.r, "sites/b.json", "B\n", "add b", NULL), 0);
	snprintf(out, sizeof(out), "%s/git.out", fx.dir);
	snprintf(cmd, sizeof(cmd),
	        "git --git-dir '%s' cat-file -p HEAD:sites/a.json", fx.repo);
	CU_ASSERT_EQUAL(cmd_output_is(cmd, out, "{\"a\":1}\n"), 0);
	snprintf(cmd, sizeof(cmd),
	        "git --git-dir '%s' log --format='%%an <%%ae> %%s'", fx.repo);
	CU_ASSERT_EQUAL(cmd_output_is(cmd, out,
	                        "alice <alice@branchline> add b\n"
	                        "alice <alice@branchline> add a\n"
	                        "setup <setup@branchline> init\n"),
	        0);
	snprintf(cmd, sizeof(cmd),
	        "git --git-dir '%s' reflog --format=%%gs main", fx.repo);
	CU_ASSERT_EQUAL(cmd_output_is(cmd, out,
	                        "commit: add b\ncommit: add a\n"
	                        "commit (initial): init\n"),
	        0);
	snprintf(cmd, sizeof(cmd),
	        "git --git-dir '%s' fsck --strict --no-dangling --no-progress",
	        fx.repo);
	CU_ASSERT_EQUAL(cmd_output_is(cmd, out, ""), 0);
	fx_teardown(&fx);
}

int
test_cfgrepo_register(void)
{
	CU_pSuite s = CU_add_suite("cfgrepo", NULL, NULL);

	if (s == NULL || !CU_add_test(s, "init_open", test_init_open) ||
	        !CU_add_test(s, "commit_read", test_commit_read) ||
	        !CU_add_test(s, "noop", test_noop) ||
	        !CU_add_test(s, "expect_head", test_expect_head) ||
	        !CU_add_test(s, "bad_input", test_bad_input) ||
	        !CU_add_test(s, "log", test_log) ||
	        !CU_add_test(s, "diff", test_diff) ||
	        !CU_add_test(s, "rollback", test_rollback) ||
	        !CU_add_test(s, "list", test_list) ||
	        !CU_add_test(s, "size_limits", test_size_limits) ||
	        !CU_add_test(s, "stale_lock", test_stale_lock) ||
	        !CU_add_test(s, "two_writers", test_two_writers) ||
	        !CU_add_test(s, "kill9", test_kill9) ||
	        !CU_add_test(s, "git_cli", test_git_cli))
		return -1;
	return 0;
}

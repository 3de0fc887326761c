/*
 * cfgrepo.c - the configuration repository: a bare git repository written
 * object by object through libgit2 (an in-memory index builds each tree),
 * one commit per change, HEAD's branch moved only from the commit the
 * change was built on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "cfgrepo.h"
#include "error.h"
#include "log.h"

#define LOCK_NAME        "branchline.lock"
#define LOCK_TRIES       200 /* x 10 ms: how long a writer waits */
#define REFNAME_MAX      256
#define ROLLBACK_LINEMAX 200 /* bytes of the old message in a rollback's */

struct cfgrepo {
	git_repository *repo;
};

/* Copy s into buf for an error message: non-printable bytes become '?'. */
static const char *
printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* libgit2 errors with a meaning of their own here; the rest are -EIO. */
static const struct {
	int git, bl;
} git_errmap[] = {
        {GIT_ENOTFOUND, BL_ENOTFOUND},
        {GIT_EINVALIDSPEC, BL_ENOTFOUND}, /* "HEAD~x", "HEAD:dir" */
        {GIT_EPEEL, BL_ENOTFOUND},        /* a rev that is no commit */
        {GIT_EAMBIGUOUS, BL_EUSAGE},      /* a short hex prefix */
        {GIT_EEXISTS, BL_EBUSY},
        {GIT_ELOCKED, BL_EBUSY},
        {GIT_EMODIFIED, BL_EBUSY},
};

/*
 * Map a libgit2 error to ours and describe it as "<what>: <libgit2's
 * message>" with non-printable bytes (from revs) replaced.  Unexpected
 * failures are logged when the caller has no why.
 */
static int git_err(int grc, char *why, size_t whylen, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
git_err(int grc, char *why, size_t whylen, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	const char *msg = e != NULL && e->message != NULL ? e->message : "?";
	char what[320];
	va_list ap;
	size_t i;
	int rc = -EIO;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	for (i = 0; i < sizeof(git_errmap) / sizeof(git_errmap[0]); i++)
		if (git_errmap[i].git == grc)
			rc = git_errmap[i].bl;
	if (rc == -EIO && why == NULL)
		log_warnx("cfgrepo: %s: %s", what, msg);
	bl_why(why, whylen, rc, "%s: %s", what, msg);
	if (why != NULL && whylen > 0)
		printable(why, why, whylen);
	return rc;
}

/*
 * Copy at most dstlen - 1 bytes of src[0..srclen) into dst, cutting only
 * at a UTF-8 character boundary so the result stays valid for JSON.
 */
static void
copy_utf8(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t k = srclen < dstlen - 1 ? srclen : dstlen - 1;

	if (k < srclen)
		while (k > 0 && ((unsigned char)src[k] & 0xc0) == 0x80)
			k--;
	memcpy(dst, src, k);
	dst[k] = '\0';
}

static int
name_char(char c, const char *extra)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	        (c >= '0' && c <= '9') || (c != '\0' && strchr(extra, c));
}

/* One path component: not ".", "..", nor ".git" in any case. */
static int
component_ok(const char *c, size_t len)
{
	size_t i, core = len;

	while (core > 0 && c[core - 1] == '.')
		core--; /* ".git." is ".git" on Windows checkouts */
	if (len == 0 || (len == 1 && c[0] == '.') ||
	        (len == 2 && c[0] == '.' && c[1] == '.') ||
	        (core == 4 && strncasecmp(c, ".git", 4) == 0))
		return 0;
	for (i = 0; i < len; i++)
		if (!name_char(c[i], "._@+-"))
			return 0;
	return 1;
}

/* Check a repository path against the rules in cfgrepo.h. */
static int
path_check(const char *path, char *why, size_t whylen)
{
	const char *p, *s, *reason = NULL;
	char pb[64];
	size_t depth = 0;

	if (path == NULL || path[0] == '\0')
		return bl_why(why, whylen, BL_EFORMAT, "empty path");
	if (strlen(path) > CFGREPO_PATH_MAX)
		reason = "longer than 255 bytes";
	for (p = path; reason == NULL; p = s + 1) {
		if ((s = strchr(p, '/')) == NULL)
			s = p + strlen(p);
		if (++depth > CFGREPO_DEPTH_MAX)
			reason = "more than 4 components";
		else if (!component_ok(p, (size_t)(s - p)))
			reason = "bad component";
		if (*s == '\0')
			break;
	}
	if (reason == NULL)
		return 0;
	return bl_why(why, whylen, BL_EFORMAT, "invalid path \"%s\": %s",
	        printable(path, pb, sizeof(pb)), reason);
}

static int
author_check(const char *author, char *why, size_t whylen)
{
	size_t i, len = author != NULL ? strlen(author) : 0;

	for (i = 0; i < len; i++)
		if (!name_char(author[i], "._+-"))
			break;
	if (len == 0 || len > CFGREPO_AUTHOR_MAX || i < len)
		return bl_why(why, whylen, BL_EUSAGE,
		        "author must be 1..%d of [A-Za-z0-9._+-]",
		        CFGREPO_AUTHOR_MAX);
	return 0;
}

/* git_libgit2_init plus the global options this module relies on. */
static int
lib_init(char *why, size_t whylen)
{
	int grc;

	if ((grc = git_libgit2_init()) < 0)
		return git_err(grc, why, whylen, "libgit2 init");
	/* Objects and refs reach the disk before a commit is reported. */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	/* The repository is ours alone: the host's /etc/gitconfig and the
	 * running user's ~/.gitconfig (hooks paths, filters, safe.directory)
	 * must not change how it is written or read. */
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA,
	        "");
	return 0;
}

/* Resolve rev (NULL = HEAD) to a commit. */
static int
rev_commit(struct cfgrepo *r, const char *rev, git_commit **out, char *why,
        size_t whylen)
{
	git_object *obj = NULL, *peeled = NULL;
	char rb[64];
	int grc;

	*out = NULL;
	if (rev == NULL)
		rev = "HEAD";
	if ((grc = git_revparse_single(&obj, r->repo, rev)) == 0)
		grc = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (grc < 0)
		return git_err(grc, why, whylen, "revision \"%s\"",
		        printable(rev, rb, sizeof(rb)));
	*out = (git_commit *)peeled;
	return 0;
}

static int
rev_tree(struct cfgrepo *r, const char *rev, git_tree **out, char *why,
        size_t whylen)
{
	git_commit *c;
	int rc, grc;

	*out = NULL;
	if ((rc = rev_commit(r, rev, &c, why, whylen)) != 0)
		return rc;
	grc = git_commit_tree(out, c);
	git_commit_free(c);
	return grc < 0 ? git_err(grc, why, whylen, "commit tree") : 0;
}

/* HEAD's branch name (HEAD must be symbolic) and the commit it names. */
static int
head_state(struct cfgrepo *r, char branch[REFNAME_MAX], git_commit **out,
        char *why, size_t whylen)
{
	git_reference *head = NULL;
	git_oid oid;
	int grc;

	*out = NULL;
	if ((grc = git_reference_lookup(&head, r->repo, "HEAD")) < 0)
		return git_err(grc, why, whylen, "HEAD");
	if (git_reference_type(head) != GIT_REFERENCE_SYMBOLIC ||
	        strlen(git_reference_symbolic_target(head)) >= REFNAME_MAX) {
		git_reference_free(head);
		return bl_why(why, whylen, BL_EFORMAT,
		        "HEAD is not a symbolic ref to a branch");
	}
	strcpy(branch, git_reference_symbolic_target(head));
	git_reference_free(head);
	if ((grc = git_reference_name_to_id(&oid, r->repo, branch)) == 0)
		grc = git_commit_lookup(out, r->repo, &oid);
	return grc < 0 ? git_err(grc, why, whylen, "%s", branch) : 0;
}

/*
 * Serialise writers across processes: flock DIR/branchline.lock, waiting
 * up to LOCK_TRIES x 10 ms.  *fd is the lock; closing it releases it.
 */
static int
writer_lock(struct cfgrepo *r, int *fd, char *why, size_t whylen)
{
	const struct timespec ts = {0, 10 * 1000 * 1000};
	char path[PATH_MAX];
	int i, err;

	snprintf(path, sizeof(path), "%s%s", git_repository_path(r->repo),
	        LOCK_NAME);
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return bl_why(why, whylen, -errno, "open %s", path);
	for (i = 0; flock(*fd, LOCK_EX | LOCK_NB) != 0; i++) {
		err = errno;
		if ((err != EWOULDBLOCK && err != EINTR) || i >= LOCK_TRIES) {
			close(*fd);
			*fd = -1;
			return bl_why(why, whylen,
			        err == EWOULDBLOCK ? BL_EBUSY : -err,
			        "another writer holds %s", path);
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}

/*
 * A writer killed between creating BRANCH.lock and renaming it leaves the
 * lock behind, and every later ref update would fail.  Under the writer
 * lock only a foreign git process can hold it, and never for long.
 */
static void
clear_stale_lock(struct cfgrepo *r, const char *branch)
{
	char path[PATH_MAX];
	struct stat st;
	int n;

	n = snprintf(path, sizeof(path), "%s%s.lock",
	        git_repository_path(r->repo), branch);
	if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) != 0 ||
	        time(NULL) - st.st_mtime < CFGREPO_STALE_LOCK_SEC)
		return;
	if (unlink(path) == 0)
		log_warnx("cfgrepo: removed stale lock %s", path);
}

/*
 * Write a commit of tree_id on parent (NULL: the root commit) and move
 * branch to it, from parent's id only.
 */
static int
write_commit(struct cfgrepo *r, const char *branch, git_commit *parent,
        const git_oid *tree_id, const char *author, const char *message,
        char new_oid[41], char *why, size_t whylen)
{
	char email[CFGREPO_AUTHOR_MAX + 16], msg[CFGREPO_MESSAGE_MAX + 2];
	char reflog[160], line[121];
	const git_commit *parents[1] = {parent};
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_tree *tree = NULL;
	git_oid oid;
	int grc;

	snprintf(email, sizeof(email), "%s@branchline", author);
	snprintf(msg, sizeof(msg), "%s%s", message,
	        message[strlen(message) - 1] == '\n' ? "" : "\n");
	copy_utf8(line, sizeof(line), message, strcspn(message, "\n"));
	snprintf(reflog, sizeof(reflog), "commit%s: %s",
	        parent == NULL ? " (initial)" : "", line);
	if ((grc = git_signature_new(&sig, author, email, time(NULL), 0)) < 0 ||
	        (grc = git_tree_lookup(&tree, r->repo, tree_id)) < 0 ||
	        (grc = git_commit_create(&oid, r->repo, NULL, sig, sig, NULL,
	                 msg, tree, parent != NULL, parents)) < 0 ||
	        (grc = git_repository_set_ident(r->repo, author, email)) < 0)
		goto out;
	if (parent == NULL)
		grc = git_reference_create(
		        &ref, r->repo, branch, &oid, 0, reflog);
	else
		grc = git_reference_create_matching(&ref, r->repo, branch, &oid,
		        1, git_commit_id(parent), reflog);
	if (grc == 0)
		git_oid_tostr(new_oid, 41, &oid);
out:
	git_reference_free(ref);
	git_tree_free(tree);
	git_signature_free(sig);
	if (grc == GIT_EMODIFIED)
		return bl_why(why, whylen, BL_EBUSY,
		        "configuration changed meanwhile (%s moved)", branch);
	if (grc == GIT_ELOCKED)
		return bl_why(why, whylen, BL_EBUSY,
		        "%s is locked by another writer (%s.lock)", branch,
		        branch);
	return grc < 0 ? git_err(grc, why, whylen, "commit") : 0;
}

int
cfgrepo_init(const char *dir, const char *author, char *why, size_t whylen)
{
	git_repository_init_options o;
	struct cfgrepo r = {NULL};
	git_treebuilder *tb = NULL;
	git_config *cfg = NULL;
	char oid[41];
	git_oid tree_id;
	int rc, grc;

	if ((rc = author_check(author, why, whylen)) != 0)
		return rc;
	if ((rc = lib_init(why, whylen)) != 0)
		return rc;
	git_repository_init_options_init(
	        &o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	if (git_repository_open_ext(
	            NULL, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
		rc = bl_why(why, whylen, BL_EBUSY,
		        "%s already holds a repository", dir);
		goto out;
	}
	o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT |
	        GIT_REPOSITORY_INIT_MKPATH;
	o.initial_head = strrchr(CFGREPO_BRANCH, '/') + 1;
	if ((grc = git_repository_init_ext(&r.repo, dir, &o)) < 0 ||
	        (grc = git_repository_config(&cfg, r.repo)) < 0 ||
	        (grc = git_config_set_bool(cfg, "core.logAllRefUpdates", 1)) <
	                0 ||
	        (grc = git_treebuilder_new(&tb, r.repo, NULL)) < 0 ||
	        (grc = git_treebuilder_write(&tree_id, tb)) < 0) {
		rc = git_err(grc, why, whylen, "init %s", dir);
		goto out;
	}
	rc = write_commit(&r, CFGREPO_BRANCH, NULL, &tree_id, author, "init",
	        oid, why, whylen);
out:
	git_treebuilder_free(tb);
	git_config_free(cfg);
	git_repository_free(r.repo);
	git_libgit2_shutdown();
	return rc;
}

int
cfgrepo_open(const char *dir, struct cfgrepo **out, char *why, size_t whylen)
{
	struct cfgrepo *r;
	git_commit *c = NULL;
	int rc, grc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "cfgrepo");
	if ((rc = lib_init(why, whylen)) != 0) {
		free(r);
		return rc;
	}
	if ((grc = git_repository_open_bare(&r->repo, dir)) < 0) {
		rc = git_err(grc, why, whylen, "open %s", dir);
		goto fail;
	}
	if ((rc = rev_commit(r, "HEAD", &c, why, whylen)) != 0) {
		if (rc == BL_ENOTFOUND)
			rc = bl_why(why, whylen, BL_EFORMAT,
			        "%s: HEAD does not name a commit", dir);
		goto fail;
	}
	git_commit_free(c);
	*out = r;
	return 0;
fail:
	cfgrepo_close(r);
	return rc;
}

void
cfgrepo_close(struct cfgrepo *r)
{
	if (r == NULL)
		return;
	git_repository_free(r->repo);
	free(r);
	git_libgit2_shutdown();
}

int
cfgrepo_head(struct cfgrepo *r, char oid[41])
{
	git_oid id;
	int grc;

	if ((grc = git_reference_name_to_id(&id, r->repo, "HEAD")) < 0)
		return git_err(grc, NULL, 0, "HEAD");
	git_oid_tostr(oid, 41, &id);
	return 0;
}

/* A malloc'd, NUL-terminated copy of p[0..len). */
static int
dup_bytes(const void *p, size_t len, char **out, size_t *outlen)
{
	if ((*out = malloc(len + 1)) == NULL)
		return -ENOMEM;
	if (len > 0)
		memcpy(*out, p, len);
	(*out)[len] = '\0';
	*outlen = len;
	return 0;
}

/* Copy a blob of at most CFGREPO_FILE_MAX bytes into a malloc'd string. */
static int
read_blob(struct cfgrepo *r, const git_oid *id, char **buf, size_t *len)
{
	git_odb_object *obj = NULL;
	git_odb *odb = NULL;
	git_object_t type;
	size_t size;
	int rc = 0, grc;

	if ((grc = git_repository_odb(&odb, r->repo)) < 0 ||
	        (grc = git_odb_read_header(&size, &type, odb, id)) < 0)
		goto out;
	if (size > CFGREPO_FILE_MAX) {
		rc = BL_ETOOBIG;
		goto out;
	}
	if ((grc = git_odb_read(&obj, odb, id)) == 0)
		rc = dup_bytes(git_odb_object_data(obj),
		        git_odb_object_size(obj), buf, len);
out:
	git_odb_object_free(obj);
	git_odb_free(odb);
	return grc < 0 ? git_err(grc, NULL, 0, "read blob") : rc;
}

int
cfgrepo_read(struct cfgrepo *r, const char *rev, const char *path, char **buf,
        size_t *len)
{
	git_tree_entry *te = NULL;
	git_tree *tree;
	int rc, grc;

	*buf = NULL;
	*len = 0;
	if ((rc = path_check(path, NULL, 0)) != 0 ||
	        (rc = rev_tree(r, rev, &tree, NULL, 0)) != 0)
		return rc;
	if ((grc = git_tree_entry_bypath(&te, tree, path)) < 0)
		rc = git_err(grc, NULL, 0, "%s", path);
	else if (git_tree_entry_type(te) != GIT_OBJECT_BLOB)
		rc = BL_ENOTFOUND;
	else
		rc = read_blob(r, git_tree_entry_id(te), buf, len);
	git_tree_entry_free(te);
	git_tree_free(tree);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the blobs in t. */
static int
blob_names(const git_tree *t, char ***names, size_t *n)
{
	size_t i, k = 0, cnt = git_tree_entrycount(t);
	const git_tree_entry *e;
	char **v;

	if ((v = calloc(cnt + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < cnt; i++) {
		e = git_tree_entry_byindex(t, i);
		if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
			continue;
		if ((v[k++] = strdup(git_tree_entry_name(e))) == NULL) {
			cfgrepo_list_free(v, k);
			return -ENOMEM;
		}
	}
	if (k == 0) {
		free(v);
		v = NULL;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_str);
	*names = v;
	*n = k;
	return 0;
}

int
cfgrepo_list(struct cfgrepo *r, const char *rev, const char *dir, char ***names,
        size_t *n)
{
	git_tree *root, *sub = NULL;
	git_tree_entry *te = NULL;
	int rc, grc = 0;

	*names = NULL;
	*n = 0;
	if (dir != NULL && dir[0] != '\0' && (rc = path_check(dir, NULL, 0)))
		return rc;
	if ((rc = rev_tree(r, rev, &root, NULL, 0)) != 0)
		return rc;
	if (dir == NULL || dir[0] == '\0')
		rc = blob_names(root, names, n);
	else if ((grc = git_tree_entry_bypath(&te, root, dir)) == GIT_ENOTFOUND)
		grc = 0; /* an absent directory is an empty one */
	else if (grc == 0 && git_tree_entry_type(te) == GIT_OBJECT_TREE &&
	        (grc = git_tree_lookup(&sub, r->repo, git_tree_entry_id(te))) ==
	                0)
		rc = blob_names(sub, names, n);
	git_tree_free(sub);
	git_tree_entry_free(te);
	git_tree_free(root);
	return grc < 0 ? git_err(grc, NULL, 0, "list %s", dir) : rc;
}

void
cfgrepo_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

/* Validate everything cfgrepo_commit takes before touching the repo. */
static int
commit_args(const char *expect_head, const struct cfg_change *ch, size_t n,
        const char *author, const char *message, char *why, size_t whylen)
{
	size_t i, mlen = message != NULL ? strlen(message) : 0;
	git_oid oid;
	int rc;

	if ((rc = author_check(author, why, whylen)) != 0)
		return rc;
	if (mlen == 0 || mlen > CFGREPO_MESSAGE_MAX)
		return bl_why(why, whylen, BL_EUSAGE,
		        "message must be 1..%d bytes", CFGREPO_MESSAGE_MAX);
	if (expect_head != NULL &&
	        (strlen(expect_head) != GIT_OID_HEXSZ ||
	                git_oid_fromstr(&oid, expect_head)))
		return bl_why(why, whylen, BL_EUSAGE,
		        "expected head is not a 40-digit hex commit id");
	if (n > 0 && ch == NULL)
		return bl_why(why, whylen, BL_EUSAGE, "no changes given");
	for (i = 0; i < n; i++) {
		if ((rc = path_check(ch[i].path, why, whylen)) != 0)
			return rc;
		if (ch[i].data != NULL && ch[i].len > CFGREPO_FILE_MAX)
			return bl_why(why, whylen, BL_ETOOBIG,
			        "%s: larger than %u bytes", ch[i].path,
			        CFGREPO_FILE_MAX);
	}
	return 0;
}

/* Refuse a file where a directory is, or below a file. */
static int
path_conflict(git_index *idx, const char *path, char *why, size_t whylen)
{
	char pre[CFGREPO_PATH_MAX + 2];
	size_t i, pos;

	snprintf(pre, sizeof(pre), "%s/", path);
	if (git_index_find_prefix(&pos, idx, pre) == 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "invalid path \"%s\": a directory is there", path);
	for (i = 0; path[i] != '\0'; i++) {
		if (path[i] != '/')
			continue;
		memcpy(pre, path, i);
		pre[i] = '\0';
		if (git_index_get_bypath(idx, pre, 0) != NULL)
			return bl_why(why, whylen, BL_EFORMAT,
			        "invalid path \"%s\": \"%s\" is a file", path,
			        pre);
	}
	return 0;
}

static int
apply_one(struct cfgrepo *r, git_index *idx, const struct cfg_change *c,
        char *why, size_t whylen)
{
	git_index_entry e;
	int rc, grc;

	if (c->data == NULL) {
		grc = git_index_remove(idx, c->path, 0);
		if (grc < 0 && grc != GIT_ENOTFOUND)
			return git_err(grc, why, whylen, "remove %s", c->path);
		return 0;
	}
	if ((rc = path_conflict(idx, c->path, why, whylen)) != 0)
		return rc;
	memset(&e, 0, sizeof(e));
	e.mode = GIT_FILEMODE_BLOB;
	e.path = c->path;
	if ((grc = git_blob_create_from_buffer(
	             &e.id, r->repo, c->data, c->len)) < 0 ||
	        (grc = git_index_add(idx, &e)) < 0)
		return git_err(grc, why, whylen, "add %s", c->path);
	return 0;
}

/* The tree of base with ch[0..n-1] applied, written to the repository. */
static int
apply_changes(struct cfgrepo *r, const git_tree *base,
        const struct cfg_change *ch, size_t n, git_oid *tree_id, char *why,
        size_t whylen)
{
	git_index *idx = NULL;
	size_t i;
	int rc = 0, grc;

	if ((grc = git_index_new(&idx)) < 0 ||
	        (grc = git_index_read_tree(idx, base)) < 0) {
		rc = git_err(grc, why, whylen, "index");
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = apply_one(r, idx, &ch[i], why, whylen);
	if (rc == 0 && (grc = git_index_write_tree_to(tree_id, idx, r->repo)))
		rc = git_err(grc, why, whylen, "write tree");
out:
	git_index_free(idx);
	return rc;
}

int
cfgrepo_commit(struct cfgrepo *r, const char *expect_head,
        const struct cfg_change *ch, size_t n, const char *author,
        const char *message, char new_oid[41], char *why, size_t whylen)
{
	char branch[REFNAME_MAX], cur[41];
	git_commit *head = NULL;
	git_tree *tree = NULL;
	git_oid tree_id;
	int rc, grc, fd;

	if ((rc = commit_args(
	             expect_head, ch, n, author, message, why, whylen)) != 0 ||
	        (rc = writer_lock(r, &fd, why, whylen)) != 0)
		return rc;
	if ((rc = head_state(r, branch, &head, why, whylen)) != 0)
		goto out;
	git_oid_tostr(cur, sizeof(cur), git_commit_id(head));
	if (expect_head != NULL && strcasecmp(expect_head, cur) != 0) {
		rc = bl_why(why, whylen, BL_EBUSY,
		        "configuration changed meanwhile (HEAD is %.12s)", cur);
		goto out;
	}
	if ((grc = git_commit_tree(&tree, head)) < 0) {
		rc = git_err(grc, why, whylen, "HEAD tree");
		goto out;
	}
	if ((rc = apply_changes(r, tree, ch, n, &tree_id, why, whylen)) != 0)
		goto out;
	if (git_oid_equal(&tree_id, git_tree_id(tree))) {
		memcpy(new_oid, cur, sizeof(cur));
		rc = 1; /* nothing changes: no commit */
		goto out;
	}
	clear_stale_lock(r, branch);
	rc = write_commit(r, branch, head, &tree_id, author, message, new_oid,
	        why, whylen);
out:
	git_tree_free(tree);
	git_commit_free(head);
	close(fd);
	return rc;
}

/* Append commit id to *v (capacity *cap, *cnt used). */
static int
logent_add(struct cfgrepo *r, const git_oid *id, struct cfg_logent **v,
        size_t *cap, size_t *cnt)
{
	const git_signature *a;
	struct cfg_logent *nv, *le;
	const char *msg;
	git_commit *c;
	size_t len;
	int grc;

	if (*cnt == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((nv = realloc(*v, *cap * sizeof(**v))) == NULL)
			return -ENOMEM;
		*v = nv;
	}
	if ((grc = git_commit_lookup(&c, r->repo, id)) < 0)
		return git_err(grc, NULL, 0, "log");
	le = &(*v)[(*cnt)++];
	a = git_commit_author(c);
	msg = git_commit_message(c);
	for (len = strlen(msg); len > 0 && msg[len - 1] == '\n'; len--)
		;
	git_oid_tostr(le->oid, sizeof(le->oid), id);
	copy_utf8(le->author, sizeof(le->author), a->name, strlen(a->name));
	le->time = a->when.time;
	copy_utf8(le->message, sizeof(le->message), msg, len);
	git_commit_free(c);
	return 0;
}

int
cfgrepo_log(struct cfgrepo *r, size_t max, size_t skip, struct cfg_logent **out,
        size_t *n)
{
	struct cfg_logent *v = NULL;
	size_t cap = 0, cnt = 0, seen = 0;
	git_revwalk *w = NULL;
	git_oid id;
	int rc = 0, grc;

	*out = NULL;
	*n = 0;
	if ((grc = git_revwalk_new(&w, r->repo)) < 0 ||
	        (grc = git_revwalk_sorting(
	                 w, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME)) < 0 ||
	        (grc = git_revwalk_push_head(w)) < 0)
		goto out;
	while (rc == 0 && cnt < max && (grc = git_revwalk_next(&id, w)) == 0)
		if (seen++ >= skip)
			rc = logent_add(r, &id, &v, &cap, &cnt);
	if (grc == GIT_ITEROVER)
		grc = 0;
out:
	git_revwalk_free(w);
	if (grc < 0)
		rc = git_err(grc, NULL, 0, "log");
	if (rc != 0 || cnt == 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int
cfgrepo_diff(struct cfgrepo *r, const char *rev_a, const char *rev_b,
        char **patch, size_t *len)
{
	git_diff_options o;
	git_tree *ta = NULL, *tb = NULL;
	git_buf buf = GIT_BUF_INIT;
	git_diff *d = NULL;
	int rc, grc = 0;

	*patch = NULL;
	*len = 0;
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	if ((rc = rev_tree(r, rev_a, &ta, NULL, 0)) != 0 ||
	        (rc = rev_tree(r, rev_b, &tb, NULL, 0)) != 0)
		goto out;
	if ((grc = git_diff_tree_to_tree(&d, r->repo, ta, tb, &o)) < 0 ||
	        (grc = git_diff_to_buf(&buf, d, GIT_DIFF_FORMAT_PATCH)) < 0)
		goto out;
	rc = buf.size > CFGREPO_DIFF_MAX
	        ? BL_ETOOBIG
	        : dup_bytes(buf.ptr, buf.size, patch, len);
out:
	git_buf_dispose(&buf);
	git_diff_free(d);
	git_tree_free(tb);
	git_tree_free(ta);
	return grc < 0 ? git_err(grc, NULL, 0, "diff") : rc;
}

int
cfgrepo_rollback(struct cfgrepo *r, const char *rev, const char *author,
        char new_oid[41], char *why, size_t whylen)
{
	char branch[REFNAME_MAX], msg[ROLLBACK_LINEMAX + 64];
	char line[ROLLBACK_LINEMAX + 1], hex[41];
	git_commit *head = NULL, *old = NULL;
	const char *m;
	int rc, fd;

	if ((rc = author_check(author, why, whylen)) != 0)
		return rc;
	if (rev == NULL)
		return bl_why(why, whylen, BL_EUSAGE, "no revision given");
	if ((rc = writer_lock(r, &fd, why, whylen)) != 0)
		return rc;
	if ((rc = rev_commit(r, rev, &old, why, whylen)) != 0 ||
	        (rc = head_state(r, branch, &head, why, whylen)) != 0)
		goto out;
	m = git_commit_message(old);
	copy_utf8(line, sizeof(line), m, strcspn(m, "\n"));
	git_oid_tostr(hex, sizeof(hex), git_commit_id(old));
	snprintf(msg, sizeof(msg), "rollback to %.12s (%s)", hex, line);
	clear_stale_lock(r, branch);
	rc = write_commit(r, branch, head, git_commit_tree_id(old), author, msg,
	        new_oid, why, whylen);
out:
	git_commit_free(old);
	git_commit_free(head);
	close(fd);
	return rc;
}

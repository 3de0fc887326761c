/*
 * cfgrepo.h - the head office's configuration repository: a bare git
 * repository of small files (sites, schedules, assignments, boot entries,
 * node records, hashed API tokens), written through libgit2.
 *
 *   DIR/HEAD              "ref: refs/heads/main"
 *   DIR/refs/heads/main   the current configuration commit
 *   DIR/logs/             reflog (core.logAllRefUpdates is set at init)
 *   DIR/objects/          blobs, trees, commits
 *   DIR/branchline.lock   flock(2) target serialising cfgrepo writers
 *
 * Every change is exactly one commit on HEAD's branch; the daemon reads
 * configuration from HEAD.  There is no working tree: blobs, trees and
 * commits are written directly, so the `git` command line reads the
 * repository as usual (git --git-dir DIR log; git show HEAD:sites/hq.json).
 *
 * Crash safety: objects are written before the ref, and objects and refs
 * are written to temporary files that are fsync'd and renamed
 * (GIT_OPT_ENABLE_FSYNC_GITDIR), so a kill -9 or power loss leaves HEAD
 * at the old or the new commit.  A ref lock file left by a killed writer
 * is removed by the next commit once it is CFGREPO_STALE_LOCK_SEC old.
 *
 * Concurrency: one process (the primary daemon) normally writes; others
 * read.  Writers in different processes are serialised by flock on
 * DIR/branchline.lock, and the ref is only moved from the commit it was
 * built on (git_reference_create_matching), so no commit is ever lost: a
 * writer that loses a race gets BL_EBUSY.  A struct cfgrepo is used by
 * one thread at a time.
 *
 * Revisions ("rev") are anything git_revparse_single accepts that names
 * a commit: NULL for HEAD, a hex id or unique prefix, "HEAD~2", a tag.
 * Unknown revisions give BL_ENOTFOUND, ambiguous prefixes BL_EUSAGE.
 * Unexpected libgit2 failures give -EIO (logged, or described in why).
 */
#ifndef BL_CFGREPO_H
#define BL_CFGREPO_H

#include <stddef.h>
#include <stdint.h>

#define CFGREPO_BRANCH         "refs/heads/main"
#define CFGREPO_FILE_MAX       (4u << 20)  /* largest file read or written */
#define CFGREPO_PATH_MAX       255         /* bytes in a path */
#define CFGREPO_DEPTH_MAX      4           /* components in a path */
#define CFGREPO_AUTHOR_MAX     128         /* bytes in an author name */
#define CFGREPO_MESSAGE_MAX    4096        /* bytes in a commit message */
#define CFGREPO_DIFF_MAX       (16u << 20) /* largest patch returned */
#define CFGREPO_STALE_LOCK_SEC 10          /* age of an abandoned ref lock */

struct cfgrepo; /* opaque */

/* One file change.  data NULL deletes path (no-op when absent). */
struct cfg_change {
	const char *path; /* "sites/hq.json": see cfgrepo_commit */
	const char *data; /* new content, len bytes; NULL = delete */
	size_t len;       /* at most CFGREPO_FILE_MAX */
};

/* One commit as listed by cfgrepo_log. */
struct cfg_logent {
	char oid[41];                        /* hex commit id */
	char author[CFGREPO_AUTHOR_MAX + 1]; /* author (API token name) */
	int64_t time;      /* author time, seconds since the epoch */
	char message[512]; /* message without its final newline; truncated
	                      at a UTF-8 character boundary */
};

/*
 * Create a bare repository in dir (made if missing) with HEAD pointing at
 * CFGREPO_BRANCH and one commit: the empty tree, message "init", by
 * author.  Returns 0; BL_EBUSY when dir already holds a repository;
 * BL_EUSAGE for a bad author (see cfgrepo_commit); -EIO otherwise.
 */
int cfgrepo_init(const char *dir, const char *author, char *why, size_t whylen);

/*
 * Open the repository in dir; *out is freed by cfgrepo_close.  Returns 0;
 * BL_ENOTFOUND when dir holds no repository; BL_EFORMAT when HEAD does not
 * resolve to a commit; -EIO otherwise.
 */
int cfgrepo_open(
        const char *dir, struct cfgrepo **out, char *why, size_t whylen);

/* Close r (NULL is allowed). */
void cfgrepo_close(struct cfgrepo *r);

/* Hex commit id of HEAD into oid.  0 or BL_ENOTFOUND / -EIO. */
int cfgrepo_head(struct cfgrepo *r, char oid[41]);

/*
 * Read path at rev.  *buf is malloc'd (caller frees), NUL-terminated
 * beyond its *len bytes.  BL_ENOTFOUND when rev or the file is absent
 * (a directory is not a file); BL_EFORMAT for an invalid path; BL_ETOOBIG
 * for files larger than CFGREPO_FILE_MAX.
 */
int cfgrepo_read(struct cfgrepo *r, const char *rev, const char *path,
        char **buf, size_t *len);

/*
 * Names of the files (not subdirectories) directly under dir at rev,
 * sorted by strcmp; dir NULL or "" is the top level.  An absent dir gives
 * an empty list (*names NULL, *n 0).  Free with cfgrepo_list_free.
 * BL_ENOTFOUND for an unknown rev; BL_EFORMAT for an invalid dir.
 */
int cfgrepo_list(struct cfgrepo *r, const char *rev, const char *dir,
        char ***names, size_t *n);
void cfgrepo_list_free(char **names, size_t n);

/*
 * One commit applying ch[0..n-1] in order on top of HEAD (a later change
 * to the same path wins), by author ("<author>@branchline" as email, also
 * the committer; time now, UTC), with message; HEAD's branch is moved
 * with a reflog entry.  new_oid receives the new commit id.
 *
 * Paths are relative, at most CFGREPO_PATH_MAX bytes and
 * CFGREPO_DEPTH_MAX components, each of [A-Za-z0-9._@+-], not ".", ".."
 * or ".git" (any case, trailing dots ignored); a file may not replace a
 * directory or sit below a file.
 * Authors are 1..CFGREPO_AUTHOR_MAX bytes of [A-Za-z0-9._+-]; messages
 * are 1..CFGREPO_MESSAGE_MAX bytes.
 *
 * expect_head non-NULL (40 hex digits): fail with BL_EBUSY if HEAD is no
 * longer that commit, so read-validate-commit is safe.
 *
 * Returns 0; 1 when the changes leave the tree as it is (no commit is
 * made, new_oid = HEAD); BL_EFORMAT naming a bad path; BL_ETOOBIG for
 * oversized data; BL_EUSAGE for a bad author, message or expect_head;
 * BL_EBUSY when HEAD moved or another writer holds the repository.
 */
int cfgrepo_commit(struct cfgrepo *r, const char *expect_head,
        const struct cfg_change *ch, size_t n, const char *author,
        const char *message, char new_oid[41], char *why, size_t whylen);

/*
 * Up to max commits reachable from HEAD, newest first, after skipping the
 * newest skip (max 0 lists nothing).  *out is malloc'd (caller frees;
 * NULL when *n is 0).  0, -ENOMEM or -EIO.
 */
int cfgrepo_log(struct cfgrepo *r, size_t max, size_t skip,
        struct cfg_logent **out, size_t *n);

/*
 * Unified diff (git's patch format) from rev_a to rev_b; NULL for either
 * means HEAD, so (REV, NULL) is "what changed from REV to HEAD".  *patch
 * is malloc'd (caller frees), NUL-terminated, *len bytes ("" when the
 * trees are equal).  BL_ETOOBIG beyond CFGREPO_DIFF_MAX.
 */
int cfgrepo_diff(struct cfgrepo *r, const char *rev_a, const char *rev_b,
        char **patch, size_t *len);

/*
 * A new commit on top of HEAD whose tree is rev's tree, message
 * "rollback to <12 hex> (<rev's first message line>)", made even when
 * HEAD's tree already equals rev's so the request is on record.
 * Returns 0; BL_ENOTFOUND naming an unknown rev; BL_EUSAGE for a NULL rev or a
 * bad author; BL_EBUSY as for cfgrepo_commit.
 */
int cfgrepo_rollback(struct cfgrepo *r, const char *rev, const char *author,
        char new_oid[41], char *why, size_t whylen);

#endif /* BL_CFGREPO_H */

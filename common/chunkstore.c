/*
 * chunkstore.c - the local filesystem chunk backend.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunkstore.h"
#include "error.h"
#include "fsutil.h"
#include "hash.h"

/* "abc/" + 64 hex + NUL */
#define REL_LEN (4 + HASH_HEXLEN + 1)

static void
rel_path(const uint8_t id[32], char out[REL_LEN])
{
	char hex[HASH_HEXLEN + 1];

	hash_hex(id, 32, hex);
	snprintf(out, REL_LEN, "%.3s/%s", hex, hex);
}

/* Create the bucket directories that are missing; a marker file records
 * that all exist so later opens skip the 4,096 mkdir calls. */
static int
make_buckets(int root_fd)
{
	char d[8];
	unsigned int b;
	int fd;

	if (faccessat(root_fd, ".buckets", F_OK, 0) == 0)
		return 0;
	for (b = 0; b < CHUNKSTORE_BUCKETS; b++) {
		snprintf(d, sizeof(d), "%03x", b);
		if (mkdirat(root_fd, d, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	if (syncfs(root_fd) < 0)
		return -errno;
	if ((fd = openat(root_fd, ".buckets", O_WRONLY | O_CREAT | O_CLOEXEC,
	             0644)) < 0)
		return -errno;
	close(fd);
	return 0;
}

static void
tmp_name(struct chunkstore *cs, char tmp[64])
{
	uint64_t n = __atomic_fetch_add(&cs->tmp_seq, 1, __ATOMIC_RELAXED);

	snprintf(tmp, 64, "%016" PRIx64 ".%" PRIu64, cs->session, n);
}

/* Write a temp file in tmp/ and rename it into place (the portable way). */
static int
put_renamed(
        struct chunkstore *cs, const char *rel, const uint8_t *buf, size_t len)
{
	char tmp[64];
	int fd, rc;

	tmp_name(cs, tmp);
	fd = openat(cs->tmp_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	        0644);
	if (fd < 0)
		return -errno;
	if ((rc = fs_write_all(fd, buf, len)) < 0) {
		close(fd);
		goto out_unlink;
	}
	/* Start write-back so the batch's sync has less to do. */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (close(fd) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	if (renameat(cs->tmp_fd, tmp, cs->root_fd, rel) == 0)
		return 0;
	rc = -errno;
out_unlink:
	unlinkat(cs->tmp_fd, tmp, 0);
	return rc;
}

/*
 * Write an unnamed file (O_TMPFILE) in the chunk's bucket and link it in
 * once complete: no temp name, no cross-directory rename, and nothing left
 * behind by a crash.  With direct, the aligned head of buf is written with
 * O_DIRECT and the short tail through the page cache.  Returns
 * -EOPNOTSUPP when the filesystem has no O_TMPFILE.
 */
static int
put_linked(struct chunkstore *cs, const char *rel, const uint8_t *buf,
        size_t len, int direct)
{
	char bucket[4], proc[40];
	size_t head = direct ? len & ~(size_t)(CHUNKSTORE_ALIGN - 1) : 0;
	int fd, rc, tries;

	memcpy(bucket, rel, 3);
	bucket[3] = '\0';
	fd = openat(cs->root_fd, bucket,
	        O_TMPFILE | O_WRONLY | O_CLOEXEC | (head ? O_DIRECT : 0), 0644);
	if (fd < 0)
		return errno == EISDIR || errno == EINVAL ? -EOPNOTSUPP
		                                          : -errno;
	if (head > 0) {
		if ((rc = fs_write_all(fd, buf, head)) < 0 ||
		        fcntl(fd, F_SETFL, 0) <
		                0) { /* O_DIRECT off for the tail */
			rc = rc < 0 ? rc : -errno;
			goto out;
		}
	}
	if ((rc = fs_write_all(fd, buf + head, len - head)) < 0)
		goto out;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (tries = 0; tries < 2; tries++) {
		if (linkat(AT_FDCWD, proc, cs->root_fd, rel,
		            AT_SYMLINK_FOLLOW) == 0) {
			rc = 0;
			goto out;
		}
		rc = -errno;
		if (errno != EEXIST)
			break;
		/* An orphan of a crashed import: replace it. */
		if (unlinkat(cs->root_fd, rel, 0) < 0 && errno != ENOENT) {
			rc = -errno;
			break;
		}
	}
	if (rc == -ENOENT) /* no /proc: fall back */
		rc = -EOPNOTSUPP;
out:
	close(fd);
	return rc;
}

static int
put_file(struct chunkstore *cs, const uint8_t id[32], const uint8_t *buf,
        size_t len, int direct)
{
	char rel[REL_LEN];
	int rc;

	rel_path(id, rel);
	if (cs->tmpfile) {
		rc = put_linked(cs, rel, buf, len, direct);
		if (rc != -EOPNOTSUPP)
			return rc;
		cs->tmpfile = 0;
	}
	return put_renamed(cs, rel, buf, len);
}

static int
local_put(struct chunkstore *cs, const uint8_t id[32], const void *data,
        size_t len)
{
	return put_file(cs, id, data, len, 0);
}

static int
local_put_aligned(
        struct chunkstore *cs, const uint8_t id[32], uint8_t *buf, size_t len)
{
	return put_file(cs, id, buf, len, cs->direct);
}

/* Does the filesystem under tmp/ take O_DIRECT writes (tmpfs does not)? */
static int
probe_direct(int tmp_fd)
{
	static const char name[] = "direct-probe";
	void *buf;
	int fd, ok = 0;

	/* A fresh file of our own: whatever is there (a leftover, or a
	 * symlink planted in a directory another user can write) goes, and
	 * O_EXCL refuses to follow anything that appears meanwhile. */
	(void)unlinkat(tmp_fd, name, 0);
	fd = openat(tmp_fd, name,
	        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECT | O_CLOEXEC,
	        0600);
	if (fd < 0)
		return 0;
	if (posix_memalign(&buf, CHUNKSTORE_ALIGN, CHUNKSTORE_ALIGN) == 0) {
		memset(buf, 0, CHUNKSTORE_ALIGN);
		ok = write(fd, buf, CHUNKSTORE_ALIGN) == CHUNKSTORE_ALIGN;
		free(buf);
	}
	close(fd);
	unlinkat(tmp_fd, name, 0);
	return ok;
}

int
chunkstore_open_file(struct chunkstore *cs, const uint8_t id[32])
{
	char rel[REL_LEN];
	int fd;

	rel_path(id, rel);
	if ((fd = openat(cs->root_fd, rel, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	return fd;
}

static int
local_get(struct chunkstore *cs, const uint8_t id[32], uint8_t *buf, size_t cap,
        size_t *len)
{
	char rel[REL_LEN];
	struct stat st;
	ssize_t n;
	int fd, rc;

	rel_path(id, rel);
	if ((fd = openat(cs->root_fd, rel, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size > cap) {
		rc = BL_ETOOBIG;
		goto out;
	}
	n = fs_read_full(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	*len = (size_t)n;
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
local_exists(struct chunkstore *cs, const uint8_t id[32])
{
	char rel[REL_LEN];

	rel_path(id, rel);
	if (faccessat(cs->root_fd, rel, F_OK, 0) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

static int
local_del(struct chunkstore *cs, const uint8_t id[32])
{
	char rel[REL_LEN];

	rel_path(id, rel);
	if (unlinkat(cs->root_fd, rel, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int
local_sync(struct chunkstore *cs)
{
	/* One syncfs covers file data and the renames' directory entries. */
	if (syncfs(cs->root_fd) < 0)
		return -errno;
	return 0;
}

static int
local_list(struct chunkstore *cs, unsigned int b,
        int (*fn)(const uint8_t id[32], void *), void *arg)
{
	char d[8];
	uint8_t id[32];
	struct dirent *de;
	DIR *dir;
	int fd, rc = 0;

	snprintf(d, sizeof(d), "%03x", b & 0xfff);
	if ((fd = openat(cs->root_fd, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	        0)
		return errno == ENOENT ? 0 : -errno;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (hash_unhex(de->d_name, id, 32) != 0)
			continue; /* not ours: leave it alone */
		if ((rc = fn(id, arg)) != 0)
			break;
	}
	closedir(dir);
	return rc;
}

static void
local_close(struct chunkstore *cs)
{
	if (cs->root_fd >= 0)
		close(cs->root_fd);
	if (cs->tmp_fd >= 0)
		close(cs->tmp_fd);
	free(cs);
}

static const struct chunkstore_ops local_ops = {
        .put = local_put,
        .put_aligned = local_put_aligned,
        .get = local_get,
        .exists = local_exists,
        .del = local_del,
        .sync = local_sync,
        .list = local_list,
        .close = local_close,
};

int
chunkstore_open_local(
        const char *dir, uint64_t session, struct chunkstore **out)
{
	struct chunkstore *cs;
	char path[4200];
	int rc;

	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return -ENOMEM;
	cs->ops = &local_ops;
	cs->session = session;
	cs->root_fd = cs->tmp_fd = -1;
	snprintf(cs->dir, sizeof(cs->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/chunks", dir);
	if ((rc = fs_mkdirs(path, 0755)) < 0)
		goto fail;
	if ((cs->root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	        0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = make_buckets(cs->root_fd)) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/tmp", dir);
	if ((rc = fs_mkdirs(path, 0700)) < 0)
		goto fail;
	if ((cs->tmp_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto fail;
	}
	cs->direct = probe_direct(cs->tmp_fd) && getenv("BL_NO_DIRECT") == NULL;
	cs->tmpfile = 1; /* until the filesystem says otherwise */
	*out = cs;
	return 0;
fail:
	local_close(cs);
	return rc;
}

int
chunkstore_clean_tmp(struct chunkstore *cs, uint64_t session)
{
	char prefix[20];
	struct dirent *de;
	DIR *dir;
	int fd;

	snprintf(prefix, sizeof(prefix), "%016" PRIx64 ".", session);
	if ((fd = dup(cs->tmp_fd)) < 0)
		return -errno;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (session != 0 && strncmp(de->d_name, prefix, 17) != 0)
			continue;
		if (strchr(de->d_name, '.') == NULL)
			continue; /* a session lock file, not a temp chunk */
		unlinkat(cs->tmp_fd, de->d_name, 0);
	}
	closedir(dir);
	return 0;
}

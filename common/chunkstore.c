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

/* "ab/cd/" + 64 hex + NUL */
#define REL_LEN (6 + HASH_HEXLEN + 1)

static void
rel_path(const uint8_t id[32], char out[REL_LEN])
{
	char hex[HASH_HEXLEN + 1];

	hash_hex(id, 32, hex);
	snprintf(out, REL_LEN, "%.2s/%.2s/%s", hex, hex + 2, hex);
}

/* Create ab/ and ab/cd/ for a chunk path. */
static int
make_bucket(int root_fd, const char *rel)
{
	char d[6];

	memcpy(d, rel, 2);
	d[2] = '\0';
	if (mkdirat(root_fd, d, 0755) < 0 && errno != EEXIST)
		return -errno;
	memcpy(d, rel, 5);
	d[5] = '\0';
	if (mkdirat(root_fd, d, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int
local_put(struct chunkstore *cs, const uint8_t id[32], const void *data,
	size_t len)
{
	char rel[REL_LEN], tmp[64];
	int fd, rc;

	rel_path(id, rel);
	snprintf(tmp, sizeof(tmp), "%016" PRIx64 ".%" PRIu64, cs->session,
		cs->tmp_seq++);
	fd = openat(cs->tmp_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		0644);
	if (fd < 0)
		return -errno;
	if ((rc = fs_write_all(fd, data, len)) < 0) {
		close(fd);
		goto out_unlink;
	}
	/* Start write-back now so the batch's sync finds little to do. */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (close(fd) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	if (renameat(cs->tmp_fd, tmp, cs->root_fd, rel) == 0)
		return 0;
	if (errno != ENOENT) {
		rc = -errno;
		goto out_unlink;
	}
	if ((rc = make_bucket(cs->root_fd, rel)) < 0)
		goto out_unlink;
	if (renameat(cs->tmp_fd, tmp, cs->root_fd, rel) == 0)
		return 0;
	rc = -errno;
out_unlink:
	unlinkat(cs->tmp_fd, tmp, 0);
	return rc;
}

static int
local_get(struct chunkstore *cs, const uint8_t id[32], uint8_t *buf,
	size_t cap, size_t *len)
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
	char d[6];
	uint8_t id[32];
	struct dirent *de;
	DIR *dir;
	int fd, rc = 0;

	snprintf(d, sizeof(d), "%02x/%02x", b >> 8 & 0xff, b & 0xff);
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
	.get = local_get,
	.exists = local_exists,
	.del = local_del,
	.sync = local_sync,
	.list = local_list,
	.close = local_close,
};

int
chunkstore_open_local(const char *dir, uint64_t session,
	struct chunkstore **out)
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
	snprintf(path, sizeof(path), "%s/tmp", dir);
	if ((rc = fs_mkdirs(path, 0700)) < 0)
		goto fail;
	if ((cs->tmp_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	    0) {
		rc = -errno;
		goto fail;
	}
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

/*
 * fsutil.c - crash-safe writes and bounded reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"

int
fs_write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, b, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
fs_read_full(int fd, void *p, size_t len)
{
	uint8_t *b = p;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, b + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
fs_sync_dir(const char *path)
{
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	char *slash;
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	        (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if ((rc = fs_write_all(fd, data, len)) < 0)
		goto out_unlink;
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	} else
		snprintf(dir, sizeof(dir), ".");
	return fs_sync_dir(dir);

out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int
fs_read_file(const char *path, size_t max, uint8_t **out, size_t *outlen)
{
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out_close;
	}
	if ((uint64_t)st.st_size > max) {
		rc = BL_ETOOBIG;
		goto out_close;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = -ENOMEM;
		goto out_close;
	}
	n = fs_read_full(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		rc = (int)n;
		free(buf);
		goto out_close;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = (size_t)n;
	rc = 0;
out_close:
	close(fd);
	return rc;
}

int
fs_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t i, len;

	len = strlen(path);
	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		if (i < len)
			buf[i] = '/';
	}
	return 0;
}

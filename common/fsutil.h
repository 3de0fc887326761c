/*
 * fsutil.h - small file helpers with crash-safe writes and bounded reads.
 */
#ifndef BL_FSUTIL_H
#define BL_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Write data to path crash-safely: a temporary file in the same directory,
 * fsync, rename over path, fsync the directory.  Returns 0 or -errno.
 */
int fs_write_atomic(
        const char *path, const void *data, size_t len, mode_t mode);

/*
 * Read a whole file of at most max bytes into a malloc'd buffer (caller
 * frees *out; a NUL is appended after *outlen bytes for text use).
 * Returns 0, -errno, or BL_ETOOBIG when the file is larger than max.
 */
int fs_read_file(const char *path, size_t max, uint8_t **out, size_t *outlen);

/* mkdir -p with mode for each created level.  Returns 0 or -errno. */
int fs_mkdirs(const char *path, mode_t mode);

/* fsync a directory by path.  Returns 0 or -errno. */
int fs_sync_dir(const char *path);

/* Write all len bytes (retrying on EINTR/short writes).  0 or -errno. */
int fs_write_all(int fd, const void *p, size_t len);

/* Read up to len bytes, stopping early only at EOF.  Bytes read, or -errno. */
ssize_t fs_read_full(int fd, void *p, size_t len);

#endif /* BL_FSUTIL_H */

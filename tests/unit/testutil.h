/*
 * testutil.h - helpers shared by the unit suites.
 */
#ifndef BL_TESTUTIL_H
#define BL_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); static. */
const char *tu_tmpdir(const char *tag);

/* rm -rf dir (bounded depth). */
void tu_rmrf(const char *dir);

/* Deterministic pseudo-random bytes (splitmix64 from seed). */
void tu_fill(uint8_t *p, size_t len, uint64_t seed);

/* Write len bytes to path; 0 or -1. */
int tu_write(const char *path, const void *p, size_t len);

/* 1 if s is non-empty printable ASCII (what an error message must be). */
int tu_printable(const char *s);

#endif /* BL_TESTUTIL_H */

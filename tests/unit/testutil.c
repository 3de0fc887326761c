/*
 * testutil.c - temp directories, deterministic data, file writes.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "testutil.h"

const char *
tu_tmpdir(const char *tag)
{
	static char buf[8][256];
	static int next;
	const char *base = getenv("TMPDIR");
	char *p = buf[next++ % 8];

	snprintf(p, 256, "%s/bltest-%s-XXXXXX", base ? base : "/tmp", tag);
	return mkdtemp(p);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmrf(const char *dir)
{
	if (dir != NULL)
		nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

void
tu_fill(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t x = seed, z = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0) {
			x += 0x9e3779b97f4a7c15ull;
			z = x;
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			z ^= z >> 31;
		}
		p[i] = (uint8_t)(z >> (8 * (i % 8)));
	}
}

int
tu_write(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (len > 0 && fwrite(p, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

int
tu_printable(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * fuzz_site.c - libFuzzer target for the site document, the schedule
 * grammar and subnets: any bytes must parse or fail with a message, never
 * crash, leak or overrun; whatever parses must survive its canonical form
 * unchanged (format -> parse -> format is a fixpoint).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "schedule.h"
#include "site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bytes as a NUL-terminated string of at most cap - 1 bytes. */
static char *
cstr(const uint8_t *data, size_t size, size_t cap)
{
	char *s;

	if (size >= cap)
		size = cap - 1;
	if ((s = malloc(size + 1)) == NULL)
		__builtin_trap();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static void
fuzz_site(const uint8_t *data, size_t size)
{
	struct site s, t, two[2];
	char why[256] = "", *j1, *j2;

	if (site_from_json((const char *)data, size, &s, why, sizeof(why))) {
		if (why[0] == '\0' || s.subnets || s.boot || s.name[0])
			__builtin_trap();
		return;
	}
	if ((j1 = site_to_json(&s)) == NULL ||
	        site_from_json(j1, strlen(j1), &t, why, sizeof(why)) != 0 ||
	        (j2 = site_to_json(&t)) == NULL || strcmp(j1, j2) != 0)
		__builtin_trap();
	/* One site passes the set checks unless it names a missing parent;
	 * the same site twice never does. */
	if ((site_check_set(&s, 1, why, sizeof(why)) == 0) != !s.parent[0])
		__builtin_trap();
	two[0] = s;
	two[1] = t;
	if (site_check_set(two, 2, why, sizeof(why)) == 0)
		__builtin_trap();
	free(j1);
	free(j2);
	site_free(&t);
	site_free(&s);
}

static int
windows_same(
        const struct sched_window *a, const struct sched_window *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].days != b[i].days || a[i].start != b[i].start ||
		        a[i].end != b[i].end || a[i].cap_bps != b[i].cap_bps)
			return 0;
	return 1;
}

static void
fuzz_sched(const uint8_t *data, size_t size)
{
	struct sched_window *w, *w2;
	char *spec = cstr(data, size, SCHED_SPEC_MAX + 8), why[256] = "";
	char buf[SCHED_WINDOWS_MAX * SCHED_TEXT_PER_WINDOW + 1];
	size_t n, n2, i;
	uint64_t cap;
	int until, rc;

	if (sched_parse(spec, &w, &n, why, sizeof(why)) != 0) {
		if (why[0] == '\0' || w != NULL || n != 0)
			__builtin_trap();
		free(spec);
		return;
	}
	if (sched_format(w, n, buf, sizeof(buf)) != 0 ||
	        sched_parse(buf, &w2, &n2, why, sizeof(why)) != 0 || n2 != n ||
	        !windows_same(w, w2, n))
		__builtin_trap();
	for (i = 0; i < 7 * 24; i++) {
		rc = sched_lookup(w, n, (int)(i / 24), (int)(i % 24) * 60 + 7,
		        &cap, &until);
		if (rc < 0 || (rc == 1 && (until < 1 || until > 1440)) ||
		        (rc == 0 && (n > 0) != (until > 0)))
			__builtin_trap();
	}
	free(w);
	free(w2);
	free(spec);
}

static void
fuzz_cidr(const uint8_t *data, size_t size)
{
	char *s = cstr(data, size, 64), why[256] = "", buf[CIDR_STR_MAX];
	struct cidr c, d;

	if (cidr_parse(s, &c, why, sizeof(why)) == 0) {
		if (cidr_format(&c, buf, sizeof(buf)) != 0 ||
		        cidr_parse(buf, &d, why, sizeof(why)) != 0 ||
		        c.family != d.family || c.prefix != d.prefix ||
		        memcmp(c.addr, d.addr, 16) != 0 ||
		        !cidr_overlaps(&c, &d) ||
		        !cidr_contains(&c, c.family, c.addr))
			__builtin_trap();
	} else if (why[0] == '\0') {
		__builtin_trap();
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_site(data, size);
	fuzz_sched(data, size);
	fuzz_cidr(data, size);
	return 0;
}

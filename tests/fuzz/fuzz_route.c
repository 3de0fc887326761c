/*
 * fuzz_route.c - libFuzzer target for the primary's request router: the
 * first byte picks the method, the rest is the path.  Every match must
 * yield arguments that are NUL-terminated and free of '/' and '%'.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route_match m;
	int method, rc, i;

	if (size < 1)
		return 0;
	method = 1 << (data[0] % 5);
	rc = route_match(method, (const char *)data + 1, size - 1, &m);
	if (rc == 0) {
		for (i = 0; i < m.nargs && i < 2; i++) {
			size_t n = strnlen(m.arg[i], sizeof(m.arg[i]));

			if (n == sizeof(m.arg[i]) || n == 0 ||
			        memchr(m.arg[i], '/', n) != NULL ||
			        memchr(m.arg[i], '%', n) != NULL)
				abort();
		}
	} else if (rc != 400 && rc != 404 && rc != 405)
		abort();
	return 0;
}

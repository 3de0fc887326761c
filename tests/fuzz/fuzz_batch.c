/*
 * fuzz_batch.c - libFuzzer target for the parsers of POST
 * /v1/chunks/batch.  batch_parse: every input either parses to at most
 * BATCH_MAX ids, each of which appears in the input as 64 lowercase hex
 * digits, or fails with BL_ETOOBIG/BL_EFORMAT and a printable message.
 * batch_rate_parse, on the input up to its first NUL as a header value:
 * a rate in range that prints back as the input (but for leading zeros),
 * or BL_EFORMAT with a
 * printable message and rate 0.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchsrv.h"
#include "error.h"
#include "hash.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
rate(const uint8_t *data, size_t size)
{
	char *v, why[256], back[32];
	uint64_t r = 7;

	if ((v = malloc(size + 1)) == NULL)
		return;
	memcpy(v, data, size);
	v[size] = '\0';
	if (batch_rate_parse(v, &r, why, sizeof(why)) != 0) {
		if (r != 0)
			abort();
		if (!tu_printable(why))
			abort();
	} else {
		if (r < BATCH_RATE_MIN || r > BATCH_RATE_MAX)
			abort();
		snprintf(back, sizeof(back), "%llu", (unsigned long long)r);
		if (strcmp(back, v + strspn(v, "0")) != 0)
			abort(); /* leading zeros are the only leeway */
	}
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t (*ids)[32];
	char why[256], hex[65];
	size_t n, i;
	int rc;

	if (size > BATCH_BODY_MAX + 1024)
		return 0;
	rate(data, size);
	rc = batch_parse(data, size, &ids, &n, why, sizeof(why));
	if (rc != 0) {
		if ((rc != BL_ETOOBIG && rc != BL_EFORMAT) || ids != NULL ||
		        n != 0)
			abort();
		if (!tu_printable(why))
			abort();
		return 0;
	}
	if (ids == NULL || n > BATCH_MAX || n * 65 > size + 1)
		abort();
	for (i = 0; i < n; i++) {
		hash_hex(ids[i], 32, hex);
		if (memmem(data, size, hex, 64) == NULL)
			abort();
	}
	free(ids);
	return 0;
}

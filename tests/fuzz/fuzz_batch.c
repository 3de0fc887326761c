/*
 * fuzz_batch.c - libFuzzer target for batch_parse, the id-list parser of
 * POST /v1/chunks/batch.  Every input either parses to at most BATCH_MAX
 * ids, each of which appears in the input as 64 lowercase hex digits, or
 * fails with BL_ETOOBIG/BL_EFORMAT and a printable message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batchsrv.h"
#include "error.h"
#include "hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t (*ids)[32];
	char why[256], hex[65];
	size_t n, i;
	int rc;

	if (size > BATCH_BODY_MAX + 1024)
		return 0;
	rc = batch_parse(data, size, &ids, &n, why, sizeof(why));
	if (rc != 0) {
		if ((rc != BL_ETOOBIG && rc != BL_EFORMAT) || ids != NULL ||
		        n != 0 || why[0] == '\0')
			abort();
		for (i = 0; why[i] != '\0'; i++)
			if ((unsigned char)why[i] < 0x20 ||
			        (unsigned char)why[i] > 0x7e)
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

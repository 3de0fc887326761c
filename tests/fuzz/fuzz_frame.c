/*
 * fuzz_frame.c - libFuzzer target for the batch stream reader: the input
 * is fed in pieces whose sizes come from its first byte.  A frame that
 * completes must have a consistent header and len bytes of data; the
 * reader never consumes more than it is given.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_rd r;
	char why[200];
	size_t off = 1, step, used;
	int rc;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 61 + 1;
	memset(&r, 0, sizeof(r));
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		rc = frame_feed(&r, data + off, n, &used, why, sizeof(why));
		if (used > n)
			abort();
		off += used;
		if (rc < 0)
			break;
		if (rc == 1 && (r.status > 1 || r.zstd > 1 ||
		                       (r.status == 1 && r.len != 0) ||
		                       (r.zstd == 0 && r.len != r.size)))
			abort();
		if (rc == 0 && used == 0)
			abort(); /* must make progress */
	}
	frame_free(&r);
	return 0;
}

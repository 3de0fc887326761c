/*
 * fuzz_conf.c - libFuzzer target for the configuration parser: any bytes
 * must parse or fail with a message, never crash or overrun.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conf.h"
#include "error.h"

struct fconf {
	uint64_t n, sz;
	int b;
	char s[32];
};

static const struct conf_key keys[] = {
        {"port", CONF_U64, offsetof(struct fconf, n), 0, 1, 65535},
        {"size", CONF_SIZE, offsetof(struct fconf, sz), 0, 0, UINT64_MAX},
        {"flag", CONF_BOOL, offsetof(struct fconf, b), 0, 0, 0},
        {"name", CONF_STR, offsetof(struct fconf, s), 32, 0, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fconf c;
	char why[128];
	int rc;

	memset(&c, 0, sizeof(c));
	why[0] = '\0';
	rc = conf_parse(
	        (const char *)data, size, keys, 4, &c, why, sizeof(why));
	if (rc != 0 && why[0] == '\0')
		__builtin_trap(); /* every error must say why */
	if (rc == 0 && (c.n > 65535 || strlen(c.s) >= sizeof(c.s)))
		__builtin_trap();
	return 0;
}

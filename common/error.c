/*
 * error.c - messages for Branchline's negative return codes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static const struct {
	int code;
	const char *msg;
} bl_errtab[] = {
        {BL_EFORMAT, "malformed input"},
        {BL_ETOOBIG, "value exceeds its limit"},
        {BL_EVERSION, "unsupported format version"},
        {BL_ESIG, "signature does not verify"},
        {BL_ECORRUPT, "data does not match its hash"},
        {BL_ENOTFOUND, "not found"},
        {BL_EMAPFULL, "index reached its size limit"},
        {BL_ELMDB, "index (LMDB) error"},
        {BL_ECRYPTO, "cryptography (OpenSSL) error"},
        {BL_EZSTD, "compression (zstd) error"},
        {BL_EBUSY, "busy: held by another process"},
        {BL_EUSAGE, "invalid arguments"},
        {BL_EMISSING, "chunk file missing"},
        {BL_EABORT, "rolled back"},
        {BL_ECHANGED, "input file changed while it was being read"},
};

const char *
bl_strerror(int err)
{
	size_t i;

	if (err >= 0)
		return "success";
	for (i = 0; i < sizeof(bl_errtab) / sizeof(bl_errtab[0]); i++)
		if (bl_errtab[i].code == err)
			return bl_errtab[i].msg;
	if (err > -4096)
		return strerror(-err);
	return "unknown error";
}

int
bl_why(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return err;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return err;
}

void
bl_quote(const uint8_t *p, size_t len, char out[BL_QUOTE_MAX])
{
	size_t i, k = len < 64 ? len : 64;

	for (i = 0; i < k; i++)
		out[i] = (p[i] < 0x20 || p[i] > 0x7e) ? '?' : (char)p[i];
	if (k < len) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

/*
 * error.h - the one error convention of Branchline.
 *
 * Functions return int: 0 on success, a negative value on failure.  The
 * negative value is either -errno (e.g. -ENOSPC) or one of the project codes
 * below, which live in their own range so they never collide with errno.
 * bl_strerror() turns either kind into a message.  Where a caller needs
 * context (which field, which chunk), functions take an extra
 * "char *why, size_t whylen" buffer that they fill on failure.
 */
#ifndef BL_ERROR_H
#define BL_ERROR_H

#include <stddef.h>
#include <stdint.h>

enum bl_errcode {
	BL_EFORMAT = -10001,   /* malformed input */
	BL_ETOOBIG = -10002,   /* a value exceeds its documented bound */
	BL_EVERSION = -10003,  /* unsupported format version */
	BL_ESIG = -10004,      /* signature does not verify */
	BL_ECORRUPT = -10005,  /* stored data failed its hash check */
	BL_ENOTFOUND = -10006, /* no such image, version, file or chunk */
	BL_EMAPFULL = -10007,  /* index reached its configured size limit */
	BL_ELMDB = -10008,     /* LMDB failure not mapped to errno */
	BL_ECRYPTO = -10009,   /* OpenSSL failure */
	BL_EZSTD = -10010,     /* zstd failure */
	BL_EBUSY = -10011,     /* resource held by another process */
	BL_EUSAGE = -10012,    /* bad arguments from the caller */
	BL_EMISSING = -10013,  /* an index entry names a chunk with no file */
	BL_EABORT = -10014,    /* a transaction rolled back on purpose */
	BL_ECHANGED = -10015,  /* an input file changed while being read */
};

/* Message for a negative return value; never NULL, static storage. */
const char *bl_strerror(int err);

/*
 * Format a message into why[whylen] (truncating, always NUL-terminated
 * when whylen > 0).  why may be NULL.  Returns err so callers can write
 * "return bl_why(why, whylen, BL_EFORMAT, "bad %s", f);".
 */
int bl_why(char *why, size_t whylen, int err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* At most 64 bytes of p[0..len) as printable ASCII for an error message:
 * other bytes as '?', "..." when cut. */
#define BL_QUOTE_MAX 68
void bl_quote(const uint8_t *p, size_t len, char out[BL_QUOTE_MAX]);

#endif /* BL_ERROR_H */

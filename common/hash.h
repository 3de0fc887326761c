/*
 * hash.h - SHA-256 through OpenSSL EVP, and hex helpers.
 */
#ifndef BL_HASH_H
#define BL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_LEN    32
#define HASH_HEXLEN 64

/* One-shot SHA-256 of p[0..len) into out[32].  Returns 0 or BL_ECRYPTO. */
int hash_sha256(const void *p, size_t len, uint8_t out[HASH_LEN]);

/* Streaming SHA-256; an opaque wrapper of EVP_MD_CTX. */
struct hash_ctx;
struct hash_ctx *hash_new(void); /* NULL when out of memory */
int hash_update(struct hash_ctx *h, const void *p, size_t len);
int hash_final(struct hash_ctx *h, uint8_t out[HASH_LEN]); /* then reusable */
void hash_free(struct hash_ctx *h);

/* out must hold 2*len+1 bytes; always NUL-terminated. */
void hash_hex(const uint8_t *in, size_t len, char *out);

/* Parse exactly 2*outlen hex digits; returns 0 or BL_EFORMAT. */
int hash_unhex(const char *hex, uint8_t *out, size_t outlen);

#endif /* BL_HASH_H */

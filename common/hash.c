/*
 * hash.c - SHA-256 through OpenSSL EVP (uses SHA-NI where the CPU has it).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "error.h"
#include "hash.h"

struct hash_ctx {
	EVP_MD_CTX *md;
};

int
hash_sha256(const void *p, size_t len, uint8_t out[HASH_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) != 1 ||
	        n != HASH_LEN)
		return BL_ECRYPTO;
	return 0;
}

struct hash_ctx *
hash_new(void)
{
	struct hash_ctx *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->md = EVP_MD_CTX_new()) == NULL ||
	        EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->md);
		free(h);
		return NULL;
	}
	return h;
}

int
hash_update(struct hash_ctx *h, const void *p, size_t len)
{
	return EVP_DigestUpdate(h->md, p, len) == 1 ? 0 : BL_ECRYPTO;
}

int
hash_final(struct hash_ctx *h, uint8_t out[HASH_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->md, out, &n) != 1 || n != HASH_LEN)
		return BL_ECRYPTO;
	if (EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)
		return BL_ECRYPTO;
	return 0;
}

void
hash_free(struct hash_ctx *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}

void
hash_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hash_unhex(const char *hex, uint8_t *out, size_t outlen)
{
	size_t i;
	int hi, lo;

	if (strlen(hex) != 2 * outlen)
		return BL_EFORMAT;
	for (i = 0; i < outlen; i++) {
		hi = hexval(hex[2 * i]);
		lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return BL_EFORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

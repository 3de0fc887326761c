/*
 * sign.c - Ed25519 keys, signatures and their PEM files through OpenSSL 3.
 *
 * Ed25519 is "pure": EVP_DigestSign/Verify run with a NULL digest over the
 * whole message.  Every function leaves OpenSSL's error queue empty so a
 * failure here never surfaces later as someone else's error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "error.h"
#include "fsutil.h"
#include "sign.h"

/* A PEM key file is a few hundred bytes; refuse to read anything large. */
#define SIGN_PEM_MAX (64 * 1024)

struct sign_key {
	EVP_PKEY *pkey; /* always EVP_PKEY_ED25519 with a private part */
};

/*
 * Passphrase callback that refuses: with a NULL callback OpenSSL would
 * prompt on the terminal for an encrypted key, which a daemon must never do.
 */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
wrap_pkey(EVP_PKEY *pkey, struct sign_key **out)
{
	struct sign_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	k->pkey = pkey;
	*out = k;
	return 0;
}

int
sign_keygen(struct sign_key **out)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	int ok;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL) {
		ERR_clear_error();
		return BL_ECRYPTO;
	}
	ok = EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &pkey) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return BL_ECRYPTO;
	}
	return wrap_pkey(pkey, out);
}

/* Read a small PEM file into a read-only memory BIO over *bufp. */
static int
pem_open(const char *path, uint8_t **bufp, size_t *lenp, BIO **biop)
{
	int rc;

	if ((rc = fs_read_file(path, SIGN_PEM_MAX, bufp, lenp)) < 0)
		return rc;
	if ((*biop = BIO_new_mem_buf(*bufp, (int)*lenp)) == NULL) {
		OPENSSL_clear_free(*bufp, *lenp);
		ERR_clear_error();
		return -ENOMEM;
	}
	return 0;
}

int
sign_key_load(const char *path, struct sign_key **out)
{
	EVP_PKEY *pkey;
	uint8_t *buf;
	size_t len;
	BIO *bio;
	int rc;

	*out = NULL;
	if ((rc = pem_open(path, &buf, &len, &bio)) < 0)
		return rc;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	/* The buffer held the private key in the clear. */
	OPENSSL_clear_free(buf, len);
	ERR_clear_error();
	if (pkey == NULL)
		return BL_EFORMAT;
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		return BL_EFORMAT;
	}
	return wrap_pkey(pkey, out);
}

/*
 * Write what a PEM writer put into the memory BIO to path.  The BIO is a
 * secure-memory one where it holds a private key, so its buffer is wiped
 * when freed.
 */
static int
bio_save(BIO *bio, const char *path, mode_t mode)
{
	char *data;
	long n;

	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		return BL_ECRYPTO;
	return fs_write_atomic(path, data, (size_t)n, mode);
}

int
sign_key_save(const struct sign_key *k, const char *path)
{
	BIO *bio;
	int rc;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		ERR_clear_error();
		return -ENOMEM;
	}
	/* No cipher: an unencrypted PKCS#8 "PRIVATE KEY" block. */
	if (PEM_write_bio_PKCS8PrivateKey(
	            bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1)
		rc = BL_ECRYPTO;
	else
		rc = bio_save(bio, path, 0600);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

int
sign_key_pub(const struct sign_key *k, uint8_t pub[SIGN_PUB_LEN])
{
	size_t len = SIGN_PUB_LEN;

	if (EVP_PKEY_get_raw_public_key(k->pkey, pub, &len) != 1 ||
	        len != SIGN_PUB_LEN) {
		ERR_clear_error();
		return BL_ECRYPTO;
	}
	return 0;
}

int
sign_pub_save(const uint8_t pub[SIGN_PUB_LEN], const char *path)
{
	EVP_PKEY *pkey;
	BIO *bio;
	int rc;

	pkey = EVP_PKEY_new_raw_public_key(
	        EVP_PKEY_ED25519, NULL, pub, SIGN_PUB_LEN);
	if (pkey == NULL) {
		ERR_clear_error();
		return BL_ECRYPTO;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		rc = -ENOMEM;
		goto out_free_pkey;
	}
	if (PEM_write_bio_PUBKEY(bio, pkey) != 1)
		rc = BL_ECRYPTO;
	else
		rc = bio_save(bio, path, 0644);
	BIO_free(bio);
out_free_pkey:
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

int
sign_pub_load(const char *path, uint8_t pub[SIGN_PUB_LEN])
{
	EVP_PKEY *pkey;
	uint8_t *buf;
	size_t len, publen = SIGN_PUB_LEN;
	BIO *bio;
	int rc;

	if ((rc = pem_open(path, &buf, &len, &bio)) < 0)
		return rc;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	OPENSSL_clear_free(buf, len);
	if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519 ||
	        EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 ||
	        publen != SIGN_PUB_LEN)
		rc = BL_EFORMAT;
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

int
sign_sign(const struct sign_key *k, const uint8_t *msg, size_t len,
        uint8_t sig[SIGN_SIG_LEN])
{
	static const uint8_t empty[1];
	EVP_MD_CTX *md;
	size_t siglen = SIGN_SIG_LEN;
	int rc = 0;

	if (msg == NULL)
		msg = empty; /* len is 0; OpenSSL wants a pointer */
	if ((md = EVP_MD_CTX_new()) == NULL) {
		ERR_clear_error();
		return BL_ECRYPTO;
	}
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) != 1 ||
	        EVP_DigestSign(md, sig, &siglen, msg, len) != 1 ||
	        siglen != SIGN_SIG_LEN)
		rc = BL_ECRYPTO;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

/*
 * Fail closed: a key OpenSSL will not import, or any verification failure,
 * is BL_ESIG.  Only failing to allocate the context is BL_ECRYPTO.
 */
int
sign_verify(const uint8_t pub[SIGN_PUB_LEN], const uint8_t *msg, size_t len,
        const uint8_t sig[SIGN_SIG_LEN])
{
	static const uint8_t empty[1];
	EVP_PKEY *pkey;
	EVP_MD_CTX *md;
	int rc = BL_ESIG;

	if (msg == NULL)
		msg = empty;
	pkey = EVP_PKEY_new_raw_public_key(
	        EVP_PKEY_ED25519, NULL, pub, SIGN_PUB_LEN);
	if (pkey == NULL)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL) {
		rc = BL_ECRYPTO;
		goto out_free_pkey;
	}
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1 &&
	        EVP_DigestVerify(md, sig, SIGN_SIG_LEN, msg, len) == 1)
		rc = 0;
	EVP_MD_CTX_free(md);
out_free_pkey:
	EVP_PKEY_free(pkey);
out:
	ERR_clear_error();
	return rc;
}

void
sign_key_free(struct sign_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

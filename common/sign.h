/*
 * sign.h - Ed25519 signing keys through OpenSSL's EVP_PKEY.
 *
 * Private keys are stored as PKCS#8 PEM, mode 0600, written crash-safely;
 * public keys as SubjectPublicKeyInfo PEM (readable by "openssl pkey").
 */
#ifndef BL_SIGN_H
#define BL_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define SIGN_PUB_LEN 32
#define SIGN_SIG_LEN 64

struct sign_key; /* opaque: an Ed25519 private key */

/* Generate a new key into *out (sign_key_free).  0, -ENOMEM, BL_ECRYPTO. */
int sign_keygen(struct sign_key **out);

/*
 * Load a PEM private key (at most 64 KiB) into *out (sign_key_free).
 * Returns 0, -errno, BL_ETOOBIG, or BL_EFORMAT when the file is not an
 * unencrypted PEM private key or the key is not Ed25519 (encrypted keys are
 * refused, never prompted for).
 */
int sign_key_load(const char *path, struct sign_key **out);

/*
 * Save a private key as PKCS#8 PEM, mode 0600, temp + fsync + rename.
 * Returns 0, -errno, -ENOMEM or BL_ECRYPTO.
 */
int sign_key_save(const struct sign_key *k, const char *path);

/* The raw 32-byte public key.  0 or BL_ECRYPTO. */
int sign_key_pub(const struct sign_key *k, uint8_t pub[SIGN_PUB_LEN]);

/*
 * Save / load a raw public key as SubjectPublicKeyInfo PEM (save: mode
 * 0644, crash-safe).  Save returns 0, -errno, -ENOMEM or BL_ECRYPTO; load
 * returns 0, -errno, BL_ETOOBIG, or BL_EFORMAT when the file is not a PEM
 * Ed25519 public key.
 */
int sign_pub_save(const uint8_t pub[SIGN_PUB_LEN], const char *path);
int sign_pub_load(const char *path, uint8_t pub[SIGN_PUB_LEN]);

/*
 * Sign msg[0..len) into sig[64] (msg may be NULL when len is 0).  Returns 0
 * or BL_ECRYPTO.  Ed25519 is deterministic: same key and msg, same sig.
 */
int sign_sign(const struct sign_key *k, const uint8_t *msg, size_t len,
        uint8_t sig[SIGN_SIG_LEN]);

/*
 * 0 if sig is a valid signature of msg by pub, else BL_ESIG (also for a
 * public key OpenSSL refuses).  Fails closed: BL_ECRYPTO only when OpenSSL
 * cannot allocate its context.
 */
int sign_verify(const uint8_t pub[SIGN_PUB_LEN], const uint8_t *msg, size_t len,
        const uint8_t sig[SIGN_SIG_LEN]);

/* Free a key (NULL is a no-op). */
void sign_key_free(struct sign_key *k);

#endif /* BL_SIGN_H */

/*
 * test_sign.c - Ed25519 keys, key files and signatures.
 *
 * Key files go to a mkdtemp() directory that the suite removes again.
 * Foreign keys (EC, X25519, encrypted Ed25519) are made with OpenSSL here
 * to check that sign_*_load() refuse them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "error.h"
#include "fsutil.h"
#include "sign.h"
#include "test_list.h"

static char tmpdir[] = "/tmp/bl_test_sign.XXXXXX";

static int
suite_init(void)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
suite_cleanup(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(tmpdir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		        strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

static const char *
tpath(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static int
file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	return (int)(st.st_mode & 07777);
}

/* 1 if the file at path starts with prefix. */
static int
file_starts_with(const char *path, const char *prefix)
{
	uint8_t *buf;
	size_t len;
	int ok;

	if (fs_read_file(path, 1 << 16, &buf, &len) < 0)
		return 0;
	ok = len >= strlen(prefix) && memcmp(buf, prefix, strlen(prefix)) == 0;
	free(buf);
	return ok;
}

static int
count_dir_entries(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(tmpdir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		        strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Write a foreign key with OpenSSL; private or public PEM, or encrypted. */
enum pem_kind { PEM_PRIV, PEM_PUB, PEM_PRIV_ENCRYPTED };

static int
write_pem(EVP_PKEY *pkey, enum pem_kind kind, const char *path)
{
	FILE *fp;
	int ok;

	if (pkey == NULL || (fp = fopen(path, "w")) == NULL)
		return -1;
	switch (kind) {
	case PEM_PRIV:
		ok = PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL);
		break;
	case PEM_PUB:
		ok = PEM_write_PUBKEY(fp, pkey);
		break;
	default:
		ok = PEM_write_PKCS8PrivateKey(
		        fp, pkey, EVP_aes_256_cbc(), "secret", 6, NULL, NULL);
		break;
	}
	if (fclose(fp) != 0)
		ok = 0;
	return ok == 1 ? 0 : -1;
}

static void
test_keygen_save_load(void)
{
	struct sign_key *k, *k2, *other;
	uint8_t pub[SIGN_PUB_LEN], pub2[SIGN_PUB_LEN], opub[SIGN_PUB_LEN];
	uint8_t sig[SIGN_SIG_LEN];
	static const uint8_t msg[] = "branchline";
	char priv[512], pubf[512];

	snprintf(priv, sizeof(priv), "%s", tpath("key.pem"));
	snprintf(pubf, sizeof(pubf), "%s", tpath("key.pub"));
	CU_ASSERT_FATAL(sign_keygen(&k) == 0);
	CU_ASSERT_FATAL(sign_keygen(&other) == 0);
	CU_ASSERT_FATAL(sign_key_pub(k, pub) == 0);
	CU_ASSERT_FATAL(sign_key_pub(other, opub) == 0);
	CU_ASSERT(memcmp(pub, opub, sizeof(pub)) != 0);

	/* Private key: PKCS#8 PEM, mode 0600, and saving twice replaces. */
	CU_ASSERT_FATAL(sign_key_save(other, priv) == 0);
	CU_ASSERT_FATAL(sign_key_save(k, priv) == 0);
	CU_ASSERT(file_mode(priv) == 0600);
	CU_ASSERT(file_starts_with(priv, "-----BEGIN PRIVATE KEY-----\n"));
	CU_ASSERT_FATAL(sign_key_load(priv, &k2) == 0);
	CU_ASSERT_FATAL(sign_key_pub(k2, pub2) == 0);
	CU_ASSERT(memcmp(pub, pub2, sizeof(pub)) == 0);
	/* The loaded key signs for the original public key. */
	CU_ASSERT(sign_sign(k2, msg, sizeof(msg), sig) == 0);
	CU_ASSERT(sign_verify(pub, msg, sizeof(msg), sig) == 0);

	/* Public key: SubjectPublicKeyInfo PEM, mode 0644. */
	memset(pub2, 0, sizeof(pub2));
	CU_ASSERT_FATAL(sign_pub_save(pub, pubf) == 0);
	CU_ASSERT(file_mode(pubf) == 0644);
	CU_ASSERT(file_starts_with(pubf, "-----BEGIN PUBLIC KEY-----\n"));
	CU_ASSERT(sign_pub_load(pubf, pub2) == 0);
	CU_ASSERT(memcmp(pub, pub2, sizeof(pub)) == 0);

	/* Neither file loads as the other kind; no temporaries are left. */
	CU_ASSERT(sign_pub_load(priv, pub2) == BL_EFORMAT);
	sign_key_free(k2);
	k2 = NULL;
	CU_ASSERT(sign_key_load(pubf, &k2) == BL_EFORMAT);
	CU_ASSERT(k2 == NULL);
	CU_ASSERT(count_dir_entries() == 2);

	sign_key_free(k);
	sign_key_free(other);
	unlink(priv);
	unlink(pubf);
}

static void
test_load_errors(void)
{
	struct sign_key *k = NULL;
	uint8_t pub[SIGN_PUB_LEN];
	static uint8_t big[(64 << 10) + 1];
	static const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	                           "-----END PRIVATE KEY-----\n";
	EVP_PKEY *ec, *x25519, *ed;

	CU_ASSERT(sign_key_load(tpath("missing.pem"), &k) == -ENOENT);
	CU_ASSERT(sign_pub_load(tpath("missing.pub"), pub) == -ENOENT);

	CU_ASSERT_FATAL(fs_write_atomic(tpath("empty"), "", 0, 0600) == 0);
	CU_ASSERT(sign_key_load(tpath("empty"), &k) == BL_EFORMAT);
	CU_ASSERT(sign_pub_load(tpath("empty"), pub) == BL_EFORMAT);

	CU_ASSERT_FATAL(
	        fs_write_atomic(tpath("junk"), junk, strlen(junk), 0600) == 0);
	CU_ASSERT(sign_key_load(tpath("junk"), &k) == BL_EFORMAT);

	memset(big, 'A', sizeof(big));
	CU_ASSERT_FATAL(
	        fs_write_atomic(tpath("big"), big, sizeof(big), 0600) == 0);
	CU_ASSERT(sign_key_load(tpath("big"), &k) == BL_ETOOBIG);
	CU_ASSERT(sign_pub_load(tpath("big"), pub) == BL_ETOOBIG);

	/* Valid PEM keys of the wrong type. */
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CU_ASSERT_FATAL(ec != NULL && x25519 != NULL && ed != NULL);
	CU_ASSERT_FATAL(write_pem(ec, PEM_PRIV, tpath("ec.pem")) == 0);
	CU_ASSERT_FATAL(write_pem(ec, PEM_PUB, tpath("ec.pub")) == 0);
	CU_ASSERT_FATAL(write_pem(x25519, PEM_PRIV, tpath("x.pem")) == 0);
	CU_ASSERT_FATAL(write_pem(x25519, PEM_PUB, tpath("x.pub")) == 0);
	CU_ASSERT_FATAL(write_pem(ed, PEM_PRIV, tpath("ed.pem")) == 0);
	CU_ASSERT_FATAL(
	        write_pem(ed, PEM_PRIV_ENCRYPTED, tpath("ed-enc.pem")) == 0);
	CU_ASSERT(sign_key_load(tpath("ec.pem"), &k) == BL_EFORMAT);
	CU_ASSERT(sign_pub_load(tpath("ec.pub"), pub) == BL_EFORMAT);
	CU_ASSERT(sign_key_load(tpath("x.pem"), &k) == BL_EFORMAT);
	CU_ASSERT(sign_pub_load(tpath("x.pub"), pub) == BL_EFORMAT);
	/* An encrypted key is refused, not prompted for. */
	CU_ASSERT(sign_key_load(tpath("ed-enc.pem"), &k) == BL_EFORMAT);
	CU_ASSERT(k == NULL);
	/* Control: an Ed25519 key written by OpenSSL itself loads. */
	CU_ASSERT(sign_key_load(tpath("ed.pem"), &k) == 0);
	sign_key_free(k);

	EVP_PKEY_free(ec);
	EVP_PKEY_free(x25519);
	EVP_PKEY_free(ed);
}

static void
test_sign_verify(void)
{
	struct sign_key *k, *other;
	uint8_t pub[SIGN_PUB_LEN], opub[SIGN_PUB_LEN], bad[SIGN_PUB_LEN];
	uint8_t sig[SIGN_SIG_LEN], sig2[SIGN_SIG_LEN], badsig[SIGN_SIG_LEN];
	uint8_t msg[100], badmsg[sizeof(msg) + 1];
	size_t i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 1);
	CU_ASSERT_FATAL(sign_keygen(&k) == 0);
	CU_ASSERT_FATAL(sign_keygen(&other) == 0);
	CU_ASSERT_FATAL(sign_key_pub(k, pub) == 0);
	CU_ASSERT_FATAL(sign_key_pub(other, opub) == 0);
	CU_ASSERT_FATAL(sign_sign(k, msg, sizeof(msg), sig) == 0);
	CU_ASSERT(sign_verify(pub, msg, sizeof(msg), sig) == 0);

	/* Deterministic, and a different key gives a different signature. */
	CU_ASSERT(sign_sign(k, msg, sizeof(msg), sig2) == 0);
	CU_ASSERT(memcmp(sig, sig2, sizeof(sig)) == 0);
	CU_ASSERT(sign_sign(other, msg, sizeof(msg), sig2) == 0);
	CU_ASSERT(memcmp(sig, sig2, sizeof(sig)) != 0);
	CU_ASSERT(sign_verify(opub, msg, sizeof(msg), sig) == BL_ESIG);
	CU_ASSERT(sign_verify(pub, msg, sizeof(msg), sig2) == BL_ESIG);

	/* Every single-bit change of msg, sig or pub is rejected. */
	for (i = 0; i < 8 * sizeof(msg); i++) {
		memcpy(badmsg, msg, sizeof(msg));
		badmsg[i / 8] ^= (uint8_t)(1u << (i % 8));
		CU_ASSERT(
		        sign_verify(pub, badmsg, sizeof(msg), sig) == BL_ESIG);
	}
	for (i = 0; i < 8 * sizeof(sig); i++) {
		memcpy(badsig, sig, sizeof(sig));
		badsig[i / 8] ^= (uint8_t)(1u << (i % 8));
		CU_ASSERT(
		        sign_verify(pub, msg, sizeof(msg), badsig) == BL_ESIG);
	}
	for (i = 0; i < 8 * sizeof(pub); i++) {
		memcpy(bad, pub, sizeof(pub));
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		CU_ASSERT(sign_verify(bad, msg, sizeof(msg), sig) == BL_ESIG);
	}
	/* A shorter or longer message is a different message. */
	memcpy(badmsg, msg, sizeof(msg));
	badmsg[sizeof(msg)] = 0;
	CU_ASSERT(sign_verify(pub, msg, sizeof(msg) - 1, sig) == BL_ESIG);
	CU_ASSERT(sign_verify(pub, badmsg, sizeof(badmsg), sig) == BL_ESIG);

	/* The empty message can be signed too, distinctly. */
	CU_ASSERT(sign_sign(k, NULL, 0, sig2) == 0);
	CU_ASSERT(sign_verify(pub, NULL, 0, sig2) == 0);
	CU_ASSERT(sign_verify(pub, msg, 0, sig2) == 0);
	CU_ASSERT(sign_verify(pub, NULL, 0, sig) == BL_ESIG);
	CU_ASSERT(sign_verify(pub, msg, 1, sig2) == BL_ESIG);

	sign_key_free(k);
	sign_key_free(other);
	sign_key_free(NULL);
}

int
test_sign_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("sign", suite_init, suite_cleanup)) == NULL)
		return -1;
	if (CU_add_test(s, "keygen, save, load", test_keygen_save_load) ==
	                NULL ||
	        CU_add_test(s, "load errors and foreign keys",
	                test_load_errors) == NULL ||
	        CU_add_test(s, "sign and verify", test_sign_verify) == NULL)
		return -1;
	return 0;
}

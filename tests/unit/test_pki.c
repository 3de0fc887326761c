/*
 * test_pki.c - the CA, server certificates, node enrollment (CSR signing)
 * and the TLS contexts, all on real files under a temporary directory.
 *
 * The suite makes two CAs once: "ours" (ca/) and "other" (other/), each
 * with a server certificate for localhost and 127.0.0.1.  Certificates are
 * checked with X509_verify_cert and, where the openssl tool is on PATH,
 * with "openssl verify".  TLS handshakes run in memory over a BIO pair.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "pki.h"
#include "test_list.h"
#include "testutil.h"

#define DAYS 30

static const char *tmp;
static char ours[512], other[512];

static const char *const dns_names[] = {"localhost"};
static const char *const ip_addrs[] = {"127.0.0.1", "::1"};

/* dir/name in one of a few rotating static buffers. */
static const char *
at(const char *dir, const char *name)
{
	static char buf[8][700];
	static int next;
	char *p = buf[next++ % 8];

	if (snprintf(p, sizeof(buf[0]), "%s/%s", dir, name) >= 700)
		p[0] = '\0';
	return p;
}

static int
make_ca(char *dir, size_t n, const char *tag)
{
	char why[256] = "";

	snprintf(dir, n, "%s/%s", tmp, tag);
	if (pki_ca_create(dir, tag, DAYS, why, sizeof(why)) != 0 ||
	        pki_server_cert(dir, dns_names, 1, ip_addrs, 2, DAYS, why,
	                sizeof(why)) != 0) {
		fprintf(stderr, "%s: %s\n", tag, why);
		return -1;
	}
	return 0;
}

static int
suite_init(void)
{
	if ((tmp = tu_tmpdir("pki")) == NULL)
		return -1;
	return make_ca(ours, sizeof(ours), "ca") != 0 ||
	        make_ca(other, sizeof(other), "other") != 0;
}

static int
suite_cleanup(void)
{
	tu_rmrf(tmp);
	return 0;
}

static X509 *
load(const char *path)
{
	char why[256] = "";
	X509 *x;

	if (pki_load_cert_file(path, &x, why, sizeof(why)) != 0)
		fprintf(stderr, "%s\n", why);
	return x;
}

/* X509_verify_cert of leaf against ca alone, for purpose: 1 if valid. */
static int
chains(X509 *ca, X509 *leaf, int purpose)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_STORE *st = X509_STORE_new();
	int ok = 0;

	if (ctx != NULL && st != NULL && X509_STORE_add_cert(st, ca) == 1 &&
	        X509_STORE_CTX_init(ctx, st, leaf, NULL) == 1 &&
	        X509_STORE_CTX_set_purpose(ctx, purpose) == 1)
		ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	ERR_clear_error();
	return ok;
}

/* Exit status of "openssl verify ..." (0 valid), or -1 without openssl. */
static int
openssl_verify(const char *opts, const char *ca, const char *crt)
{
	char cmd[2048];

	if (system("command -v openssl >/dev/null 2>&1") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd),
	        "openssl verify %s -CAfile '%s' '%s' >/dev/null 2>&1", opts, ca,
	        crt);
	return system(cmd);
}

static int
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void
name_entry(X509 *x, int nid, char *buf, size_t n)
{
	buf[0] = '\0';
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, buf, (int)n);
}

/* A CSR for k claiming CN=cn, signed by dir's CA as node_id. */
static int
enroll(const char *dir, EVP_PKEY *k, const char *cn, const char *node_id,
        X509 **out, char serial[PKI_SERIAL_HEX])
{
	char *csr, *crt, why[256] = "";
	size_t len, clen;
	int rc;

	*out = NULL;
	if ((rc = pki_csr_new(k, cn, &csr, &len)) != 0)
		return rc;
	rc = pki_csr_sign(dir, csr, len, node_id, DAYS, &crt, &clen, serial,
	        why, sizeof(why));
	free(csr);
	if (rc != 0)
		return rc;
	rc = pki_load_cert_pem(crt, clen, out, why, sizeof(why));
	free(crt);
	return rc;
}

static void
test_ca_and_server(void)
{
	X509 *ca = load(at(ours, "ca.crt")),
	     *srv = load(at(ours, "server.crt"));
	X509 *oca = load(at(other, "ca.crt"));
	char buf[128], why[256] = "", id[PKI_NODE_ID_MAX + 1];

	CU_ASSERT_FATAL(ca != NULL && srv != NULL && oca != NULL);
	CU_ASSERT_EQUAL(mode_of(at(ours, "ca.key")), 0600);
	CU_ASSERT_EQUAL(mode_of(at(ours, "server.key")), 0600);
	/* The CA: CA:TRUE pathlen:0, certificate and CRL signing only. */
	CU_ASSERT(X509_check_ca(ca) >= 1);
	CU_ASSERT_EQUAL(X509_get_pathlen(ca), 0);
	CU_ASSERT_EQUAL(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	CU_ASSERT_PTR_NOT_NULL(X509_get0_subject_key_id(ca));
	/* The server certificate chains to it, with the right names. */
	CU_ASSERT(chains(ca, srv, X509_PURPOSE_SSL_SERVER));
	CU_ASSERT(!chains(ca, srv, X509_PURPOSE_SSL_CLIENT));
	CU_ASSERT(!chains(oca, srv, X509_PURPOSE_SSL_SERVER));
	CU_ASSERT_EQUAL(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
	CU_ASSERT_EQUAL(X509_check_host(srv, "example.com", 0, 0, NULL), 0);
	CU_ASSERT_EQUAL(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
	CU_ASSERT_EQUAL(X509_check_ip_asc(srv, "::1", 0), 1);
	CU_ASSERT_EQUAL(X509_check_ip_asc(srv, "127.0.0.2", 0), 0);
	CU_ASSERT_EQUAL(X509_get_extended_key_usage(srv), XKU_SSL_SERVER);
	CU_ASSERT_EQUAL(X509_check_ca(srv), 0);
	CU_ASSERT_PTR_NOT_NULL(X509_get0_authority_key_id(srv));
	name_entry(srv, NID_commonName, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "localhost");
	CU_ASSERT_EQUAL(pki_cert_node_id(srv, id), BL_ENOTFOUND);
	CU_ASSERT_EQUAL(pki_cert_node_id(ca, id), BL_ENOTFOUND);
	/* Cross-check with the real command line tool. */
	if (openssl_verify("", at(ours, "ca.crt"), at(ours, "server.crt")) >=
	        0) {
		CU_ASSERT_EQUAL(
		        openssl_verify("-purpose sslserver", at(ours, "ca.crt"),
		                at(ours, "server.crt")),
		        0);
		CU_ASSERT_NOT_EQUAL(openssl_verify("", at(ours, "ca.crt"),
		                            at(other, "server.crt")),
		        0);
	}
	/* An existing CA is never replaced. */
	CU_ASSERT_EQUAL(
	        pki_ca_create(ours, "again", DAYS, why, sizeof(why)), -EEXIST);
	CU_ASSERT(strstr(why, "ca.key exists") != NULL);
	X509_free(ca);
	X509_free(srv);
	X509_free(oca);
}

static void
test_server_cert_refused(void)
{
	static const char *const bad_dns[] = {"a b"};
	static const char *const bad_ip[] = {"300.1.1.1"};
	char why[256];

	why[0] = '\0';
	CU_ASSERT_EQUAL(
	        pki_server_cert(ours, NULL, 0, NULL, 0, DAYS, why, sizeof(why)),
	        BL_EUSAGE);
	CU_ASSERT(why[0] != '\0');
	CU_ASSERT_EQUAL(pki_server_cert(ours, bad_dns, 1, NULL, 0, DAYS, why,
	                        sizeof(why)),
	        BL_EFORMAT);
	CU_ASSERT_EQUAL(pki_server_cert(ours, dns_names, 1, bad_ip, 1, DAYS,
	                        why, sizeof(why)),
	        BL_EFORMAT);
	CU_ASSERT(strstr(why, "300.1.1.1") != NULL);
	CU_ASSERT_EQUAL(pki_server_cert(ours, dns_names, 1, NULL, 0, 0, why,
	                        sizeof(why)),
	        BL_EUSAGE);
	/* No CA in the directory. */
	CU_ASSERT(pki_server_cert(tmp, dns_names, 1, NULL, 0, DAYS, why,
	                  sizeof(why)) < 0);
	CU_ASSERT(strstr(why, "ca.crt") != NULL);
	CU_ASSERT(pki_ca_create(at(tmp, "x"), "", DAYS, why, sizeof(why)) ==
	        BL_EUSAGE);
}

static void
test_keys(void)
{
	const char *kp = at(tmp, "k.key"), *bad = at(tmp, "bad.key");
	EVP_PKEY *k, *k2, *rsa;
	char why[256];

	CU_ASSERT_EQUAL_FATAL(pki_key_new(&k), 0);
	CU_ASSERT_EQUAL(pki_key_save(k, kp), 0);
	CU_ASSERT_EQUAL(mode_of(kp), 0600);
	CU_ASSERT_EQUAL(pki_key_load(kp, &k2, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(k, k2), 1);
	CU_ASSERT_STRING_EQUAL(EVP_PKEY_get0_type_name(k2), "EC");
	EVP_PKEY_free(k2);
	/* Not a key; a key too weak to accept; no file. */
	CU_ASSERT_EQUAL(tu_write(bad, "hello\n", 6), 0);
	why[0] = '\0';
	CU_ASSERT_EQUAL(pki_key_load(bad, &k2, why, sizeof(why)), BL_EFORMAT);
	CU_ASSERT_PTR_NULL(k2);
	CU_ASSERT(strstr(why, "bad.key") != NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa = EVP_RSA_gen(1024));
	CU_ASSERT_EQUAL(pki_key_save(rsa, bad), 0);
	CU_ASSERT_EQUAL(pki_key_load(bad, &k2, why, sizeof(why)), BL_EFORMAT);
	CU_ASSERT(strstr(why, "1024") != NULL);
	CU_ASSERT_EQUAL(
	        pki_key_load(at(tmp, "nope"), &k2, why, sizeof(why)), -ENOENT);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(k);
}

static void
test_csr_sign(void)
{
	char serial[PKI_SERIAL_HEX], s2[PKI_SERIAL_HEX], buf[128];
	char id[PKI_NODE_ID_MAX + 1], fpr[PKI_FPR_HEX], want[PKI_FPR_HEX];
	X509 *ca = load(at(ours, "ca.crt")), *x;
	unsigned char *der = NULL;
	uint8_t md[HASH_LEN];
	EVP_PKEY *k = NULL;
	time_t t;
	int n;

	CU_ASSERT_FATAL(ca != NULL && pki_key_new(&k) == 0);
	/* The CSR claims CN=admin; the certificate says what the CA says. */
	CU_ASSERT_EQUAL_FATAL(
	        enroll(ours, k, "admin", "node-7", &x, serial), 0);
	name_entry(x, NID_commonName, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "node-7");
	name_entry(x, NID_organizationName, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "branchline-node");
	CU_ASSERT_EQUAL(pki_cert_node_id(x, id), 0);
	CU_ASSERT_STRING_EQUAL(id, "node-7");
	CU_ASSERT_EQUAL(X509_check_private_key(x, k), 1);
	/* Usable for client authentication only. */
	CU_ASSERT(chains(ca, x, X509_PURPOSE_SSL_CLIENT));
	CU_ASSERT(!chains(ca, x, X509_PURPOSE_SSL_SERVER));
	CU_ASSERT_EQUAL(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	CU_ASSERT_EQUAL(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(X509_check_ca(x), 0);
	CU_ASSERT_PTR_NOT_NULL(X509_get0_subject_key_id(x));
	CU_ASSERT_PTR_NOT_NULL(X509_get0_authority_key_id(x));
	/* Serial: random, at most 128 bits; as pki_cert_serial_hex says. */
	CU_ASSERT_EQUAL(pki_cert_serial_hex(x, s2), 0);
	CU_ASSERT_STRING_EQUAL(serial, s2);
	CU_ASSERT(strlen(serial) >= 2 && strlen(serial) <= 32);
	/* Backdated by five minutes. */
	t = time(NULL) - 4 * 60;
	CU_ASSERT_EQUAL(X509_cmp_time(X509_get0_notBefore(x), &t), -1);
	/* Fingerprint: SHA-256 of the DER. */
	n = i2d_X509(x, &der);
	CU_ASSERT_FATAL(n > 0);
	hash_sha256(der, (size_t)n, md);
	hash_hex(md, HASH_LEN, want);
	CU_ASSERT_EQUAL(pki_cert_fingerprint(x, fpr), 0);
	CU_ASSERT_STRING_EQUAL(fpr, want);
	OPENSSL_free(der);
	X509_free(x);
	/* A second enrollment gets another serial; an Ed25519 node key and
	 * the longest id also work. */
	EVP_PKEY_free(k);
	CU_ASSERT_PTR_NOT_NULL_FATAL(
	        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	CU_ASSERT_EQUAL_FATAL(enroll(ours, k, NULL,
	                              "abcdefghijklmnopqrstuvwxyz0123456789-"
	                              "abcdefghijklmnopqrstuvwxyz",
	                              &x, s2),
	        0);
	CU_ASSERT_STRING_NOT_EQUAL(serial, s2);
	CU_ASSERT_EQUAL(pki_cert_node_id(x, id), 0);
	CU_ASSERT_EQUAL(strlen(id), 63);
	CU_ASSERT(chains(ca, x, X509_PURPOSE_SSL_CLIENT));
	X509_free(x);
	/* A node that serves child sites: its address in the SAN, both
	 * purposes; a bad host is refused. */
	{
		char *csr, *crt, why[256];
		size_t len, clen;

		CU_ASSERT_EQUAL_FATAL(pki_csr_new(k, NULL, &csr, &len), 0);
		CU_ASSERT_EQUAL(pki_csr_sign_host(ours, csr, len, "node-9",
		                        "10.1.2.3", DAYS, &crt, &clen, NULL, why,
		                        sizeof(why)),
		        0);
		CU_ASSERT_EQUAL_FATAL(
		        pki_load_cert_pem(crt, clen, &x, why, sizeof(why)), 0);
		CU_ASSERT(chains(ca, x, X509_PURPOSE_SSL_SERVER));
		CU_ASSERT(chains(ca, x, X509_PURPOSE_SSL_CLIENT));
		CU_ASSERT_EQUAL(X509_check_ip_asc(x, "10.1.2.3", 0), 1);
		CU_ASSERT_EQUAL(X509_check_ip_asc(x, "10.1.2.4", 0), 0);
		CU_ASSERT_EQUAL(pki_cert_node_id(x, id), 0);
		CU_ASSERT_STRING_EQUAL(id, "node-9");
		X509_free(x);
		free(crt);
		CU_ASSERT_EQUAL(pki_csr_sign_host(ours, csr, len, "node-9",
		                        "bad host!", DAYS, &crt, &clen, NULL,
		                        why, sizeof(why)),
		        BL_EFORMAT);
		free(csr);
	}
	EVP_PKEY_free(k);
	X509_free(ca);
}

/* A CSR made by k with CN=admin whose subject was changed after signing. */
static char *
tampered_csr(EVP_PKEY *k, size_t *outlen)
{
	unsigned char *der = NULL, *p;
	X509_REQ *req = NULL;
	char *pem, *out = NULL;
	size_t len;
	BIO *bio;
	long n;
	int dlen;

	if (pki_csr_new(k, "admin", &pem, &len) != 0)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) != NULL)
		req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	if (req == NULL || (dlen = i2d_X509_REQ(req, &der)) <= 0)
		goto out;
	if ((p = memmem(der, (size_t)dlen, "admin", 5)) != NULL)
		p[0] ^= 0x03; /* "admin" -> "bdmin" */
	if (p != NULL && (bio = BIO_new(BIO_s_mem())) != NULL) {
		if (PEM_write_bio(bio, "CERTIFICATE REQUEST", "", der, dlen) >
		                0 &&
		        (n = BIO_get_mem_data(bio, &pem)) > 0 &&
		        (out = strndup(pem, (size_t)n)) != NULL)
			*outlen = (size_t)n;
		BIO_free(bio);
	}
out:
	OPENSSL_free(der);
	X509_REQ_free(req);
	return out;
}

/* pki_csr_sign's result and why for pem[0..len) and node_id. */
static int
try_sign(const char *pem, size_t len, const char *node_id, char *why,
        size_t whylen)
{
	char *crt = (char *)"untouched", serial[PKI_SERIAL_HEX];
	size_t clen = 1;
	int rc;

	why[0] = '\0';
	rc = pki_csr_sign(ours, pem, len, node_id, DAYS, &crt, &clen, serial,
	        why, whylen);
	if (rc != 0)
		CU_ASSERT(crt == NULL && clen == 0 && why[0] != '\0');
	free(rc == 0 ? crt : NULL);
	return rc;
}

static void
test_csr_refused(void)
{
	static const char *const bad_ids[] = {
	        "", "Node-1", "a_b", "a/b", "a.b", "node 1", "-x\n"};
	char *pem, *big, why[256], id64[PKI_NODE_ID_MAX + 1];
	EVP_PKEY *k, *rsa;
	size_t len, i;

	CU_ASSERT_FATAL(pki_key_new(&k) == 0);
	CU_ASSERT_FATAL(pki_csr_new(k, "node", &pem, &len) == 0);
	CU_ASSERT_EQUAL(try_sign(pem, len, "n1", why, sizeof(why)), 0);
	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++)
		CU_ASSERT_EQUAL(
		        try_sign(pem, len, bad_ids[i], why, sizeof(why)),
		        BL_EFORMAT);
	memset(id64, 'a', PKI_NODE_ID_MAX);
	id64[PKI_NODE_ID_MAX] = '\0';
	CU_ASSERT_EQUAL(try_sign(pem, len, id64, why, sizeof(why)), BL_EFORMAT);
	/* Oversized, even when a valid CSR is inside. */
	big = malloc(PKI_CSR_MAX + 1);
	CU_ASSERT_FATAL(big != NULL);
	memset(big, '\n', PKI_CSR_MAX + 1);
	memcpy(big, pem, len);
	CU_ASSERT_EQUAL(try_sign(big, PKI_CSR_MAX + 1, "n1", why, sizeof(why)),
	        BL_ETOOBIG);
	free(big);
	free(pem);
	/* Garbage, a truncated PEM, an empty one. */
	CU_ASSERT_EQUAL(
	        try_sign("hello", 5, "n1", why, sizeof(why)), BL_EFORMAT);
	CU_ASSERT(strstr(why, "PEM") != NULL);
	CU_ASSERT_EQUAL(try_sign("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n",
	                        41, "n1", why, sizeof(why)),
	        BL_EFORMAT);
	CU_ASSERT_EQUAL(try_sign("", 0, "n1", why, sizeof(why)), BL_EFORMAT);
	/* A signature that no longer matches the subject. */
	pem = tampered_csr(k, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_EQUAL(try_sign(pem, len, "n1", why, sizeof(why)), BL_ESIG);
	free(pem);
	/* A weak key. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa = EVP_RSA_gen(1024));
	CU_ASSERT_FATAL(pki_csr_new(rsa, "node", &pem, &len) == 0);
	CU_ASSERT_EQUAL(try_sign(pem, len, "n1", why, sizeof(why)), BL_EFORMAT);
	CU_ASSERT(strstr(why, "RSA") != NULL);
	free(pem);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(k);
}

static void
test_other_ca(void)
{
	X509 *ca = load(at(ours, "ca.crt")), *oca = load(at(other, "ca.crt"));
	char serial[PKI_SERIAL_HEX];
	EVP_PKEY *k = NULL;
	X509 *x;

	CU_ASSERT_FATAL(ca != NULL && oca != NULL && pki_key_new(&k) == 0);
	CU_ASSERT_EQUAL_FATAL(enroll(other, k, NULL, "node-7", &x, serial), 0);
	CU_ASSERT(chains(oca, x, X509_PURPOSE_SSL_CLIENT));
	CU_ASSERT(!chains(ca, x, X509_PURPOSE_SSL_CLIENT));
	X509_free(x);
	EVP_PKEY_free(k);
	X509_free(ca);
	X509_free(oca);
}

/* The verify results of the last handshake's client and server. */
static long verify_c, verify_s;

static int
want_more(SSL *ssl, int r)
{
	int e = SSL_get_error(ssl, r);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* Drive both ends to completion: 0, or -1 when either side fails. */
static int
pump(SSL *c, SSL *s)
{
	int i, rc = 0, rs = 0;

	for (i = 0; i < 50 && (rc != 1 || rs != 1); i++) {
		if (rc != 1 && (rc = SSL_do_handshake(c)) <= 0 &&
		        !want_more(c, rc))
			return -1;
		if (rs != 1 && (rs = SSL_do_handshake(s)) <= 0 &&
		        !want_more(s, rs))
			return -1;
	}
	return rc == 1 && rs == 1 ? 0 : -1;
}

/*
 * An in-memory handshake.  Returns -1 when it fails, else 0 and the node
 * id of the client certificate the server saw in node ("" for none).
 */
static int
handshake(SSL_CTX *sctx, SSL_CTX *cctx, char node[PKI_NODE_ID_MAX + 1])
{
	SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
	const unsigned char *alpn;
	unsigned int alen = 0;
	BIO *bs, *bc;
	char msg[8];
	X509 *peer;
	int rc = -1;

	node[0] = '\0';
	if (s == NULL || c == NULL || BIO_new_bio_pair(&bs, 0, &bc, 0) != 1)
		goto out;
	SSL_set_bio(s, bs, bs);
	SSL_set_bio(c, bc, bc);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	rc = pump(c, s);
	verify_c = SSL_get_verify_result(c);
	verify_s = SSL_get_verify_result(s);
	if (rc != 0 || SSL_write(c, "ping", 4) != 4 ||
	        SSL_read(s, msg, sizeof(msg)) != 4 || memcmp(msg, "ping", 4)) {
		rc = -1;
		goto out;
	}
	SSL_get0_alpn_selected(c, &alpn, &alen);
	CU_ASSERT(alen == 8 && memcmp(alpn, "http/1.1", 8) == 0);
	CU_ASSERT(SSL_version(c) >= TLS1_2_VERSION);
	if ((peer = SSL_get1_peer_certificate(s)) != NULL) {
		CU_ASSERT_EQUAL(pki_cert_node_id(peer, node), 0);
		X509_free(peer);
	}
	rc = 0;
out:
	SSL_free(s);
	SSL_free(c);
	ERR_clear_error();
	return rc;
}

/* Write dir's node key and certificate for node_id to dir/<node_id>.*. */
static int
node_files(const char *dir, const char *node_id)
{
	char name[128], serial[PKI_SERIAL_HEX];
	EVP_PKEY *k;
	X509 *x;
	FILE *f;
	int rc = -1;

	if (pki_key_new(&k) != 0)
		return -1;
	snprintf(name, sizeof(name), "%s.key", node_id);
	if (pki_key_save(k, at(dir, name)) != 0 ||
	        enroll(dir, k, NULL, node_id, &x, serial) != 0)
		goto out;
	snprintf(name, sizeof(name), "%s.crt", node_id);
	if ((f = fopen(at(dir, name), "w")) != NULL) {
		rc = PEM_write_X509(f, x) == 1 ? 0 : -1;
		fclose(f);
	}
	X509_free(x);
out:
	EVP_PKEY_free(k);
	return rc;
}

/* A client of ca_dir's CA, with cert_dir's node certificate or none. */
static SSL_CTX *
client(const char *ca_dir, const char *cert_dir)
{
	char why[256] = "";
	SSL_CTX *ctx;

	ctx = pki_client_ctx(at(ca_dir, "ca.crt"),
	        cert_dir ? at(cert_dir, "n1.crt") : NULL,
	        cert_dir ? at(cert_dir, "n1.key") : NULL, why, sizeof(why));
	if (ctx == NULL)
		fprintf(stderr, "client: %s\n", why);
	return ctx;
}

static void
test_tls(void)
{
	SSL_CTX *sctx, *osctx, *c_cert, *c_anon, *c_other, *c_ocert;
	char node[PKI_NODE_ID_MAX + 1], why[256] = "";

	CU_ASSERT_FATAL(node_files(ours, "n1") == 0);
	CU_ASSERT_FATAL(node_files(other, "n1") == 0);
	sctx = pki_server_ctx(ours, why, sizeof(why));
	osctx = pki_server_ctx(other, why, sizeof(why));
	c_cert = client(ours, ours);
	c_anon = client(ours, NULL);
	c_other = client(other, NULL);
	c_ocert = client(ours, other);
	CU_ASSERT_FATAL(
	        sctx && osctx && c_cert && c_anon && c_other && c_ocert);
	/* With a node certificate: the server reads the node id. */
	CU_ASSERT_EQUAL(handshake(sctx, c_cert, node), 0);
	CU_ASSERT_STRING_EQUAL(node, "n1");
	/* Without one (the admin API): fine, and no peer certificate. */
	CU_ASSERT_EQUAL(handshake(sctx, c_anon, node), 0);
	CU_ASSERT_STRING_EQUAL(node, "");
	/* The other CA's pair works on its own ... */
	CU_ASSERT_EQUAL(handshake(osctx, c_other, node), 0);
	/* ... but a client pinning it refuses our server ... */
	CU_ASSERT_EQUAL(handshake(sctx, c_other, node), -1);
	CU_ASSERT_NOT_EQUAL(verify_c, X509_V_OK);
	/* ... ours refuses a server of the other CA ... */
	CU_ASSERT_EQUAL(handshake(osctx, c_anon, node), -1);
	CU_ASSERT_NOT_EQUAL(verify_c, X509_V_OK);
	/* ... and our server refuses a node certificate of the other CA. */
	CU_ASSERT_EQUAL(handshake(sctx, c_ocert, node), -1);
	CU_ASSERT_EQUAL(verify_c, X509_V_OK);
	CU_ASSERT_NOT_EQUAL(verify_s, X509_V_OK);
	/* Neither a client offering only h2 nor one stuck at TLS 1.1. */
	CU_ASSERT_EQUAL(SSL_CTX_set_alpn_protos(
	                        c_other, (const unsigned char *)"\x02h2", 3),
	        0);
	CU_ASSERT_EQUAL(handshake(osctx, c_other, node), -1);
	CU_ASSERT_EQUAL(
	        SSL_CTX_set_max_proto_version(c_anon, TLS1_1_VERSION), 1);
	CU_ASSERT_EQUAL(handshake(sctx, c_anon, node), -1);
	SSL_CTX_free(sctx);
	SSL_CTX_free(osctx);
	SSL_CTX_free(c_cert);
	SSL_CTX_free(c_anon);
	SSL_CTX_free(c_other);
	SSL_CTX_free(c_ocert);
}

/* A node certificate (clientAuth only) cannot pose as the primary. */
static void
test_tls_impostor(void)
{
	char node[PKI_NODE_ID_MAX + 1], why[256] = "", imp[600];
	SSL_CTX *sctx, *c;
	uint8_t *buf;
	size_t len;

	snprintf(imp, sizeof(imp), "%s/impostor", tmp);
	CU_ASSERT_FATAL(fs_mkdirs(imp, 0700) == 0);
	CU_ASSERT_FATAL(node_files(ours, "n2") == 0);
	CU_ASSERT_FATAL(
	        fs_read_file(at(ours, "n2.crt"), 1 << 16, &buf, &len) == 0);
	CU_ASSERT(tu_write(at(imp, "server.crt"), buf, len) == 0);
	free(buf);
	CU_ASSERT_FATAL(
	        fs_read_file(at(ours, "n2.key"), 1 << 16, &buf, &len) == 0);
	CU_ASSERT(tu_write(at(imp, "server.key"), buf, len) == 0);
	free(buf);
	CU_ASSERT_FATAL(
	        fs_read_file(at(ours, "ca.crt"), 1 << 16, &buf, &len) == 0);
	CU_ASSERT(tu_write(at(imp, "ca.crt"), buf, len) == 0);
	free(buf);
	sctx = pki_server_ctx(imp, why, sizeof(why));
	c = client(ours, NULL);
	CU_ASSERT_FATAL(sctx != NULL && c != NULL);
	CU_ASSERT_EQUAL(handshake(sctx, c, node), -1);
	CU_ASSERT_EQUAL(verify_c, X509_V_ERR_INVALID_PURPOSE);
	SSL_CTX_free(sctx);
	SSL_CTX_free(c);
}

static void
test_ctx_refused(void)
{
	char why[256];

	why[0] = '\0';
	CU_ASSERT_PTR_NULL(pki_server_ctx(tmp, why, sizeof(why)));
	CU_ASSERT(strstr(why, "server.crt") != NULL);
	/* A certificate without its key; a key that is not its. */
	CU_ASSERT_PTR_NULL(pki_client_ctx(at(ours, "ca.crt"),
	        at(ours, "server.crt"), NULL, why, sizeof(why)));
	why[0] = '\0';
	CU_ASSERT_PTR_NULL(pki_client_ctx(at(ours, "ca.crt"),
	        at(ours, "server.crt"), at(ours, "ca.key"), why, sizeof(why)));
	CU_ASSERT(why[0] != '\0');
	CU_ASSERT_PTR_NULL(pki_client_ctx(
	        at(ours, "ca.key"), NULL, NULL, why, sizeof(why)));
}

int
test_pki_register(void)
{
	CU_pSuite s = CU_add_suite("pki", suite_init, suite_cleanup);

	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "CA and server certificate", test_ca_and_server) ||
	        !CU_add_test(s, "server certificate refused",
	                test_server_cert_refused) ||
	        !CU_add_test(s, "key files", test_keys) ||
	        !CU_add_test(s, "CSR signed", test_csr_sign) ||
	        !CU_add_test(s, "CSR refused", test_csr_refused) ||
	        !CU_add_test(s, "other CA", test_other_ca) ||
	        !CU_add_test(s, "TLS handshakes", test_tls) ||
	        !CU_add_test(s, "TLS impostor", test_tls_impostor) ||
	        !CU_add_test(s, "TLS contexts refused", test_ctx_refused))
		return -1;
	return 0;
}

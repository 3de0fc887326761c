/*
 * pki.c - the primary's certificate authority, node enrollment and the TLS
 * contexts of the primary's server and its C clients (OpenSSL 3).
 *
 * Every certificate goes through issue_cert(): a random serial, a validity
 * starting five minutes in the past (clock skew between sites), a fixed
 * extension profile from a table, an optional SAN built as GENERAL_NAMEs
 * (never through the config-string syntax, so a name cannot smuggle in
 * another entry) and an ECDSA-SHA256 signature by the CA.
 *
 * A CSR is untrusted input: bounded, its self-signature checked, its key
 * type restricted, and nothing but its public key used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "pki.h"

#define PKI_BACKDATE     (5 * 60) /* seconds notBefore lies in the past */
#define PKI_SERIAL_BITS  128
#define PKI_CN_MAX       64 /* ub-common-name */
#define PKI_DNS_MAX      253
#define PKI_VERIFY_DEPTH 2 /* leaf and our CA; pathlen:0 allows no more */
#define PKI_NODE_O       "branchline-node"
#define PKI_SERVER_CN    "branchline-primary" /* when no name fits in CN */
#define PKI_TLS12_SUITES "ECDHE+AESGCM:ECDHE+CHACHA20"
#define PKI_SID_CTX      "branchline"

/* One X.509v3 extension in OpenSSL's config syntax (fixed strings only). */
struct ext_def {
	int nid;
	const char *value;
};

static const struct ext_def ca_exts[] = {
        {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
        {NID_key_usage, "critical,keyCertSign,cRLSign"},
        {NID_subject_key_identifier, "hash"},
};

static const struct ext_def server_exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
};

static const struct ext_def node_exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "clientAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
};

/* A certificate profile: what it is for and its extensions. */
struct profile {
	const char *what;
	const struct ext_def *exts;
	size_t nexts;
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
static const struct profile ca_prof = {"CA", ca_exts, NELEM(ca_exts)};
static const struct profile server_prof = {
        "server", server_exts, NELEM(server_exts)};
static const struct profile node_prof = {"node", node_exts, NELEM(node_exts)};

/* A node that serves child sites: also a TLS server under its address. */
static const struct ext_def node_srv_exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "serverAuth,clientAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
};
static const struct profile node_srv_prof = {
        "node", node_srv_exts, NELEM(node_srv_exts)};

/* What issue_cert() needs to make one certificate. */
struct issue {
	const char *cn, *o;         /* subject CN and O (o may be NULL) */
	EVP_PKEY *pub;              /* the subject's key */
	X509 *issuer;               /* NULL: self-signed */
	EVP_PKEY *sign_key;         /* the issuer's private key */
	const struct profile *prof; /* the extensions */
	const GENERAL_NAMES *san;   /* NULL: no subjectAltName */
	int days;
};

/* The CA of a directory, loaded. */
struct ca {
	X509 *crt;
	EVP_PKEY *key;
};

/*
 * Fill why with the formatted message and OpenSSL's first queued error,
 * empty the queue, return err.
 */
static int __attribute__((format(printf, 4, 5)))
ossl_why(char *why, size_t whylen, int err, const char *fmt, ...)
{
	unsigned long e = ERR_get_error();
	char msg[256], buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ERR_clear_error();
	if (e == 0)
		return bl_why(why, whylen, err, "%s", msg);
	if (ERR_reason_error_string(e) == NULL)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%s", ERR_reason_error_string(e));
	return bl_why(why, whylen, err, "%s: %s", msg, buf);
}

/*
 * Passphrase callback that refuses: with a NULL callback OpenSSL would
 * prompt on the terminal for an encrypted PEM block, which must never
 * happen in a daemon, least of all for a CSR from the network.
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
join(char *buf, size_t n, const char *dir, const char *name)
{
	int w = snprintf(buf, n, "%s/%s", dir, name);

	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

static int
check_days(int days, char *why, size_t whylen)
{
	if (days < 1 || days > PKI_DAYS_MAX)
		return bl_why(why, whylen, BL_EUSAGE,
		        "validity of %d days outside 1..%d", days,
		        PKI_DAYS_MAX);
	return 0;
}

/* 1..63 of [a-z0-9-]; s[0..len) need not be NUL-terminated. */
static int
node_id_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len >= PKI_NODE_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		            (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* Copy what a PEM writer put into a memory BIO to a malloc'd C string. */
static int
bio_to_str(BIO *bio, char **out, size_t *outlen)
{
	char *data;
	long n;

	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		return BL_ECRYPTO;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return -ENOMEM;
	memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	*outlen = (size_t)n;
	return 0;
}

/* x as a malloc'd PEM string.  0, -ENOMEM or BL_ECRYPTO. */
static int
cert_to_pem(X509 *x, char **pem, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc = BL_ECRYPTO;

	if (bio != NULL && PEM_write_bio_X509(bio, x) == 1)
		rc = bio_to_str(bio, pem, len);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* Ed25519 signs the message itself; everything else SHA-256. */
static const EVP_MD *
sign_md(EVP_PKEY *k)
{
	return EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL
	                                                   : EVP_sha256();
}

/* The key types a CSR (or a key file) may carry.  0 or BL_EFORMAT. */
static int
key_check(EVP_PKEY *k, char *why, size_t whylen)
{
	char grp[64], enc[32];
	int bits;

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_ED25519:
		return 0;
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(k);
		if (bits >= 2048 && bits <= 8192)
			return 0;
		return bl_why(why, whylen, BL_EFORMAT,
		        "RSA key of %d bits (2048..8192 accepted)", bits);
	case EVP_PKEY_EC:
		/* Explicit curve parameters are refused even when they
		 * describe P-256: clients reject them in certificates. */
		if (EVP_PKEY_get_group_name(k, grp, sizeof(grp), NULL) == 1 &&
		        EVP_PKEY_get_utf8_string_param(k,
		                OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc),
		                NULL) == 1 &&
		        strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) == 0 &&
		        (OBJ_sn2nid(grp) == NID_X9_62_prime256v1 ||
		                EC_curve_nist2nid(grp) == NID_X9_62_prime256v1))
			return 0;
		ERR_clear_error();
		return bl_why(why, whylen, BL_EFORMAT,
		        "EC key not on the named curve P-256");
	default:
		return bl_why(why, whylen, BL_EFORMAT,
		        "key type %s not accepted (EC P-256, Ed25519, RSA)",
		        EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k)
		                                   : "unknown");
	}
}

int
pki_key_new(EVP_PKEY **out)
{
	if ((*out = EVP_EC_gen(SN_X9_62_prime256v1)) == NULL) {
		ERR_clear_error();
		return BL_ECRYPTO;
	}
	return 0;
}

int
pki_key_save(EVP_PKEY *k, const char *path)
{
	char *data;
	BIO *bio;
	long n;
	int rc;

	/* Secure memory: the PEM text is wiped when the BIO is freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		ERR_clear_error();
		return -ENOMEM;
	}
	if (PEM_write_bio_PKCS8PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) !=
	                1 ||
	        (n = BIO_get_mem_data(bio, &data)) <= 0)
		rc = BL_ECRYPTO;
	else
		rc = fs_write_atomic(path, data, (size_t)n, 0600);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

int
pki_key_load(const char *path, EVP_PKEY **out, char *why, size_t whylen)
{
	uint8_t *buf;
	size_t len;
	BIO *bio;
	int rc;

	*out = NULL;
	if ((rc = fs_read_file(path, PKI_PEM_MAX, &buf, &len)) < 0)
		return bl_why(why, whylen, rc, "%s: %s", path, bl_strerror(rc));
	if ((bio = BIO_new_mem_buf(buf, (int)len)) != NULL) {
		*out = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	/* The buffer held the private key in the clear. */
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (*out == NULL)
		return ossl_why(why, whylen, BL_EFORMAT,
		        "%s: not an unencrypted PEM private key", path);
	if ((rc = key_check(*out, why, whylen)) < 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	return rc;
}

/* A random positive serial of PKI_SERIAL_BITS bits. */
static int
set_serial(X509 *x)
{
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn;
	int ok;

	if ((bn = BN_new()) == NULL)
		return BL_ECRYPTO;
	do
		ok = BN_rand(bn, PKI_SERIAL_BITS, BN_RAND_TOP_ANY,
		        BN_RAND_BOTTOM_ANY);
	while (ok == 1 && BN_is_zero(bn));
	ok = ok == 1 && (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	        X509_set_serialNumber(x, ai) == 1;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return ok ? 0 : BL_ECRYPTO;
}

/* CN=cn[, O=o]. */
static int
set_subject(X509 *x, const char *cn, const char *o)
{
	X509_NAME *n;
	int ok;

	if ((n = X509_NAME_new()) == NULL)
		return BL_ECRYPTO;
	ok = X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	             (const unsigned char *)cn, -1, -1, 0) == 1 &&
	        (o == NULL ||
	                X509_NAME_add_entry_by_NID(n, NID_organizationName,
	                        MBSTRING_UTF8, (const unsigned char *)o, -1, -1,
	                        0) == 1) &&
	        X509_set_subject_name(x, n) == 1;
	X509_NAME_free(n);
	return ok ? 0 : BL_ECRYPTO;
}

/* The profile's extensions; SKI and AKI need the keys already in place. */
static int
add_exts(X509 *x, X509 *issuer, const struct ext_def *d, size_t n)
{
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	size_t i;
	int ok;

	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	for (i = 0; i < n; i++) {
		ext = X509V3_EXT_nconf_nid(NULL, &v3, d[i].nid, d[i].value);
		if (ext == NULL)
			return BL_ECRYPTO;
		ok = X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		if (ok != 1)
			return BL_ECRYPTO;
	}
	return 0;
}

/* Build and sign one certificate as described by is. */
static int
issue_cert(const struct issue *is, X509 **out, char *why, size_t whylen)
{
	X509 *x;

	*out = NULL;
	if ((x = X509_new()) == NULL ||
	        X509_set_version(x, X509_VERSION_3) != 1 ||
	        set_serial(x) != 0 || set_subject(x, is->cn, is->o) != 0 ||
	        X509_set_issuer_name(x,
	                X509_get_subject_name(is->issuer ? is->issuer : x)) !=
	                1 ||
	        X509_set_pubkey(x, is->pub) != 1 ||
	        X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE) ==
	                NULL ||
	        X509_time_adj_ex(X509_getm_notAfter(x), is->days, 0, NULL) ==
	                NULL ||
	        add_exts(x, is->issuer, is->prof->exts, is->prof->nexts) != 0 ||
	        (is->san != NULL &&
	                X509_add1_ext_i2d(x, NID_subject_alt_name,
	                        (void *)is->san, 0, X509V3_ADD_DEFAULT) != 1) ||
	        X509_sign(x, is->sign_key, sign_md(is->sign_key)) <= 0) {
		X509_free(x);
		return ossl_why(why, whylen, BL_ECRYPTO,
		        "issuing a %s certificate", is->prof->what);
	}
	*out = x;
	return 0;
}

/* Append one dNSName, URI (both IA5) or iPAddress (text) to g. */
static int
san_push(GENERAL_NAMES *g, int type, const char *value)
{
	GENERAL_NAME *gn;
	ASN1_STRING *s;

	if (type == GEN_IPADD) {
		s = a2i_IPADDRESS(value);
	} else if ((s = ASN1_IA5STRING_new()) != NULL &&
	        ASN1_STRING_set(s, value, -1) != 1) {
		ASN1_STRING_free(s);
		s = NULL;
	}
	if (s == NULL || (gn = GENERAL_NAME_new()) == NULL) {
		ASN1_STRING_free(s);
		return BL_ECRYPTO;
	}
	GENERAL_NAME_set0_value(gn, type, s);
	if (sk_GENERAL_NAME_push(g, gn) <= 0) {
		GENERAL_NAME_free(gn);
		return BL_ECRYPTO;
	}
	return 0;
}

static void
ca_free(struct ca *ca)
{
	X509_free(ca->crt);
	EVP_PKEY_free(ca->key);
}

static int
ca_load(const char *dir, struct ca *ca, char *why, size_t whylen)
{
	char key[PATH_MAX], crt[PATH_MAX];
	int rc;

	ca->crt = NULL;
	ca->key = NULL;
	if ((rc = join(key, sizeof(key), dir, "ca.key")) < 0 ||
	        (rc = join(crt, sizeof(crt), dir, "ca.crt")) < 0)
		return bl_why(why, whylen, rc, "%s: %s", dir, bl_strerror(rc));
	if ((rc = pki_load_cert_file(crt, &ca->crt, why, whylen)) < 0 ||
	        (rc = pki_key_load(key, &ca->key, why, whylen)) < 0)
		goto out_free;
	if (X509_check_private_key(ca->crt, ca->key) != 1) {
		rc = ossl_why(why, whylen, BL_EFORMAT, "%s does not match %s",
		        key, crt);
		goto out_free;
	}
	return 0;
out_free:
	ca_free(ca);
	return rc;
}

/*
 * Make a key for is, issue its certificate (self-signed when is->issuer is
 * NULL) and write dir/<stem>.key, then dir/<stem>.crt.  With excl, refuse
 * when either file exists.
 */
static int
issue_pair(struct issue *is, const char *dir, const char *stem, int excl,
        char *why, size_t whylen)
{
	char kpath[PATH_MAX], cpath[PATH_MAX], *pem;
	EVP_PKEY *k;
	size_t len;
	X509 *x;
	int rc;

	if (snprintf(kpath, sizeof(kpath), "%s/%s.key", dir, stem) >=
	                (int)sizeof(kpath) ||
	        snprintf(cpath, sizeof(cpath), "%s/%s.crt", dir, stem) >=
	                (int)sizeof(cpath))
		return bl_why(why, whylen, -ENAMETOOLONG, "%s: too long", dir);
	if (excl && (access(kpath, F_OK) == 0 || access(cpath, F_OK) == 0))
		return bl_why(why, whylen, -EEXIST, "%s exists; not replaced",
		        access(kpath, F_OK) == 0 ? kpath : cpath);
	if ((rc = pki_key_new(&k)) < 0)
		return bl_why(why, whylen, rc, "generating a key");
	is->pub = k;
	if (is->issuer == NULL)
		is->sign_key = k;
	if ((rc = issue_cert(is, &x, why, whylen)) < 0)
		goto out_free_key;
	if ((rc = cert_to_pem(x, &pem, &len)) == 0) {
		if ((rc = pki_key_save(k, kpath)) < 0)
			bl_why(why, whylen, rc, "%s: %s", kpath,
			        bl_strerror(rc));
		else if ((rc = fs_write_atomic(cpath, pem, len, 0644)) < 0)
			bl_why(why, whylen, rc, "%s: %s", cpath,
			        bl_strerror(rc));
		free(pem);
	}
	X509_free(x);
out_free_key:
	EVP_PKEY_free(k);
	return rc;
}

int
pki_ca_create(
        const char *dir, const char *cn, int days, char *why, size_t whylen)
{
	struct issue is = {.cn = cn, .prof = &ca_prof, .days = days};
	int rc;

	if (cn == NULL || cn[0] == '\0' || strlen(cn) > PKI_CN_MAX)
		return bl_why(why, whylen, BL_EUSAGE,
		        "CA name must be 1..%d characters", PKI_CN_MAX);
	if ((rc = check_days(days, why, whylen)) < 0)
		return rc;
	if ((rc = fs_mkdirs(dir, 0700)) < 0)
		return bl_why(why, whylen, rc, "%s: %s", dir, bl_strerror(rc));
	/* A new CA would orphan every certificate the old one issued. */
	return issue_pair(&is, dir, "ca", 1, why, whylen);
}

/* A DNS name: 1..253 of [A-Za-z0-9.-], optionally after a leading "*.". */
static int
dns_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	if (len < 1 || len > PKI_DNS_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		            (s[i] >= 'A' && s[i] <= 'Z') ||
		            (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		            s[i] == '.'))
			return 0;
	return 1;
}

static int
ip_valid(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	        inet_pton(AF_INET6, s, buf) == 1;
}

/* Check every name, then build the SAN into *out (GENERAL_NAMES_free). */
static int
server_san(const char *const *dns, size_t ndns, const char *const *ips,
        size_t nips, GENERAL_NAMES **out, char *why, size_t whylen)
{
	GENERAL_NAMES *g;
	size_t i;
	int rc = 0;

	if (ndns + nips == 0)
		return bl_why(why, whylen, BL_EUSAGE,
		        "a server certificate needs a DNS name or an address");
	for (i = 0; i < ndns; i++)
		if (!dns_valid(dns[i]))
			return bl_why(why, whylen, BL_EFORMAT,
			        "bad DNS name \"%.64s\"", dns[i]);
	for (i = 0; i < nips; i++)
		if (!ip_valid(ips[i]))
			return bl_why(why, whylen, BL_EFORMAT,
			        "bad IP address \"%.64s\"", ips[i]);
	if ((g = GENERAL_NAMES_new()) == NULL)
		return ossl_why(why, whylen, BL_ECRYPTO, "GENERAL_NAMES_new");
	for (i = 0; i < ndns && rc == 0; i++)
		rc = san_push(g, GEN_DNS, dns[i]);
	for (i = 0; i < nips && rc == 0; i++)
		rc = san_push(g, GEN_IPADD, ips[i]);
	if (rc < 0) {
		GENERAL_NAMES_free(g);
		return ossl_why(why, whylen, rc, "building subjectAltName");
	}
	*out = g;
	return 0;
}

int
pki_server_cert(const char *dir, const char *const *dns, size_t ndns,
        const char *const *ips, size_t nips, int days, char *why, size_t whylen)
{
	struct issue is = {.prof = &server_prof, .days = days};
	GENERAL_NAMES *san = NULL;
	struct ca ca;
	int rc;

	if ((rc = check_days(days, why, whylen)) < 0 ||
	        (rc = server_san(dns, ndns, ips, nips, &san, why, whylen)) < 0)
		return rc;
	if ((rc = ca_load(dir, &ca, why, whylen)) == 0) {
		is.cn = ndns > 0 ? dns[0] : ips[0];
		if (strlen(is.cn) > PKI_CN_MAX)
			is.cn = PKI_SERVER_CN;
		is.issuer = ca.crt;
		is.sign_key = ca.key;
		is.san = san;
		rc = issue_pair(&is, dir, "server", 0, why, whylen);
		ca_free(&ca);
	}
	GENERAL_NAMES_free(san);
	return rc;
}

int
pki_csr_new(EVP_PKEY *k, const char *cn, char **pem, size_t *len)
{
	X509_NAME *name = NULL;
	X509_REQ *req;
	BIO *bio = NULL;
	int rc = BL_ECRYPTO;

	*pem = NULL;
	*len = 0;
	if (cn != NULL && (cn[0] == '\0' || strlen(cn) > PKI_CN_MAX))
		return BL_EUSAGE;
	if ((req = X509_REQ_new()) == NULL)
		goto out;
	if (cn != NULL &&
	        ((name = X509_NAME_new()) == NULL ||
	                X509_NAME_add_entry_by_NID(name, NID_commonName,
	                        MBSTRING_UTF8, (const unsigned char *)cn, -1,
	                        -1, 0) != 1 ||
	                X509_REQ_set_subject_name(req, name) != 1))
		goto out_free;
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	        X509_REQ_set_pubkey(req, k) != 1 ||
	        X509_REQ_sign(req, k, sign_md(k)) <= 0)
		goto out_free;
	if ((bio = BIO_new(BIO_s_mem())) != NULL &&
	        PEM_write_bio_X509_REQ(bio, req) == 1)
		rc = bio_to_str(bio, pem, len);
out_free:
	BIO_free(bio);
	X509_NAME_free(name);
	X509_REQ_free(req);
out:
	ERR_clear_error();
	return rc;
}

/* Parse, bound and check an untrusted CSR into *out (X509_REQ_free). */
static int
csr_parse(const char *pem, size_t len, X509_REQ **out, char *why, size_t whylen)
{
	EVP_PKEY *pub;
	X509_REQ *req;
	BIO *bio;
	int rc;

	*out = NULL;
	if (len > PKI_CSR_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "CSR of %zu bytes (at most %d)", len, PKI_CSR_MAX);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return ossl_why(why, whylen, -ENOMEM, "BIO_new_mem_buf");
	req = PEM_read_bio_X509_REQ(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (req == NULL)
		return ossl_why(why, whylen, BL_EFORMAT,
		        "not a PEM certificate request");
	if ((pub = X509_REQ_get0_pubkey(req)) == NULL)
		rc = ossl_why(why, whylen, BL_EFORMAT, "CSR public key");
	else if ((rc = key_check(pub, why, whylen)) == 0 &&
	        X509_REQ_verify(req, pub) != 1)
		rc = ossl_why(why, whylen, BL_ESIG,
		        "CSR self-signature does not verify");
	if (rc < 0)
		X509_REQ_free(req);
	else
		*out = req;
	return rc;
}

/* The node certificate for pub: CN=node_id, O=branchline-node, SAN URI. */
static int
node_issue(struct ca *ca, EVP_PKEY *pub, const char *node_id, const char *host,
        int days, X509 **out, char *why, size_t whylen)
{
	struct issue is = {.cn = node_id,
	        .o = PKI_NODE_O,
	        .pub = pub,
	        .issuer = ca->crt,
	        .sign_key = ca->key,
	        .prof = &node_prof,
	        .days = days};
	char uri[sizeof(PKI_NODE_URI_PFX) + PKI_NODE_ID_MAX];
	GENERAL_NAMES *san = NULL;
	int rc;

	snprintf(uri, sizeof(uri), "%s%s", PKI_NODE_URI_PFX, node_id);
	if (host != NULL)
		is.prof = &node_srv_prof;
	if ((san = GENERAL_NAMES_new()) == NULL ||
	        san_push(san, GEN_URI, uri) < 0 ||
	        (host != NULL &&
	                san_push(san, ip_valid(host) ? GEN_IPADD : GEN_DNS,
	                        host) < 0)) {
		rc = ossl_why(why, whylen, BL_ECRYPTO, "node subjectAltName");
	} else {
		is.san = san;
		rc = issue_cert(&is, out, why, whylen);
	}
	GENERAL_NAMES_free(san);
	return rc;
}

int
pki_csr_sign(const char *dir, const char *csr_pem, size_t len,
        const char *node_id, int days, char **cert_pem, size_t *cert_len,
        char serial_hex[PKI_SERIAL_HEX], char *why, size_t whylen)
{
	return pki_csr_sign_host(dir, csr_pem, len, node_id, NULL, days,
	        cert_pem, cert_len, serial_hex, why, whylen);
}

int
pki_csr_sign_host(const char *dir, const char *csr_pem, size_t len,
        const char *node_id, const char *host, int days, char **cert_pem,
        size_t *cert_len, char serial_hex[PKI_SERIAL_HEX], char *why,
        size_t whylen)
{
	X509_REQ *req;
	struct ca ca;
	X509 *x;
	int rc;

	*cert_pem = NULL;
	*cert_len = 0;
	if (node_id == NULL || !node_id_valid(node_id, strlen(node_id)))
		return bl_why(why, whylen, BL_EFORMAT,
		        "node id must be 1..%d of [a-z0-9-]",
		        PKI_NODE_ID_MAX - 1);
	if (host != NULL && !ip_valid(host) && !dns_valid(host))
		return bl_why(why, whylen, BL_EFORMAT,
		        "bad host name or address \"%.64s\"", host);
	if ((rc = check_days(days, why, whylen)) < 0 ||
	        (rc = csr_parse(csr_pem, len, &req, why, whylen)) < 0)
		return rc;
	if ((rc = ca_load(dir, &ca, why, whylen)) < 0)
		goto out_free_req;
	rc = node_issue(&ca, X509_REQ_get0_pubkey(req), node_id, host, days,
	        &x, why, whylen);
	if (rc < 0)
		goto out_free_ca;
	if ((rc = cert_to_pem(x, cert_pem, cert_len)) < 0)
		bl_why(why, whylen, rc, "writing the certificate");
	else if (serial_hex != NULL)
		rc = pki_cert_serial_hex(x, serial_hex);
	X509_free(x);
out_free_ca:
	ca_free(&ca);
out_free_req:
	X509_REQ_free(req);
	return rc;
}

int
pki_cert_node_id(X509 *cert, char id[PKI_NODE_ID_MAX + 1])
{
	static const size_t plen = sizeof(PKI_NODE_URI_PFX) - 1;
	const unsigned char *p;
	const GENERAL_NAME *gn;
	GENERAL_NAMES *g;
	ASN1_STRING *s;
	int i, type, n, rc = BL_ENOTFOUND;

	g = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; g != NULL && i < sk_GENERAL_NAME_num(g); i++) {
		gn = sk_GENERAL_NAME_value(g, i);
		s = GENERAL_NAME_get0_value(gn, &type);
		if (type != GEN_URI)
			continue;
		p = ASN1_STRING_get0_data(s);
		n = ASN1_STRING_length(s);
		if ((size_t)n < plen || memcmp(p, PKI_NODE_URI_PFX, plen) != 0)
			continue;
		rc = BL_EFORMAT;
		if (!node_id_valid((const char *)p + plen, (size_t)n - plen))
			break;
		memcpy(id, p + plen, (size_t)n - plen);
		id[(size_t)n - plen] = '\0';
		rc = 0;
		break;
	}
	GENERAL_NAMES_free(g);
	ERR_clear_error();
	return rc;
}

int
pki_cert_serial_hex(X509 *cert, char out[PKI_SERIAL_HEX])
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(cert);
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int n = ASN1_STRING_length(s);

	/* OpenSSL keeps the minimal magnitude; zero is one 0x00 byte. */
	out[0] = '\0';
	if (ASN1_STRING_type(s) == V_ASN1_NEG_INTEGER)
		return BL_EFORMAT;
	if (n > (PKI_SERIAL_HEX - 1) / 2)
		return BL_ETOOBIG;
	hash_hex(p, (size_t)n, out);
	return 0;
}

int
pki_cert_fingerprint(X509 *cert, char out[PKI_FPR_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != HASH_LEN) {
		ERR_clear_error();
		return BL_ECRYPTO;
	}
	hash_hex(md, n, out);
	return 0;
}

/* One PEM certificate from pem[0..len); what names it in why. */
static int
cert_parse(const char *pem, size_t len, const char *what, X509 **out, char *why,
        size_t whylen)
{
	BIO *bio;

	*out = NULL;
	if (len > PKI_PEM_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "%s: %zu bytes (at most %d)", what, len, PKI_PEM_MAX);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return ossl_why(why, whylen, -ENOMEM, "BIO_new_mem_buf");
	*out = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (*out == NULL)
		return ossl_why(why, whylen, BL_EFORMAT,
		        "%s: not a PEM certificate", what);
	return 0;
}

int
pki_load_cert_pem(
        const char *pem, size_t len, X509 **out, char *why, size_t whylen)
{
	return cert_parse(pem, len, "certificate", out, why, whylen);
}

int
pki_load_cert_file(const char *path, X509 **out, char *why, size_t whylen)
{
	uint8_t *buf;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = fs_read_file(path, PKI_PEM_MAX, &buf, &len)) < 0)
		return bl_why(why, whylen, rc, "%s: %s", path, bl_strerror(rc));
	rc = cert_parse((const char *)buf, len, path, out, why, whylen);
	free(buf);
	return rc;
}

/*
 * ALPN for the server: "http/1.1" or nothing.  A client that offers only
 * other protocols gets a fatal no_application_protocol alert (RFC 7301).
 */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
        const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int i, n;

	(void)ssl;
	(void)arg;
	for (i = 0; i < inlen; i += 1 + n) {
		n = in[i];
		if (n > inlen - i - 1)
			break; /* OpenSSL checked the list; be safe anyway */
		if (n == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static SSL_CTX *
ctx_fail(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/* What server and client share: versions, suites, no legacy features. */
static int
ctx_common(SSL_CTX *ctx, int purpose, char *why, size_t whylen)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	        SSL_CTX_set_cipher_list(ctx, PKI_TLS12_SUITES) != 1 ||
	        SSL_CTX_set_purpose(ctx, purpose) != 1)
		return ossl_why(why, whylen, BL_ECRYPTO, "TLS settings");
	SSL_CTX_set_options(ctx,
	        SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	                SSL_OP_NO_TICKET);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(ctx, PKI_VERIFY_DEPTH);
	return 0;
}

/* Trust exactly the one certificate in ca_file. */
static int
ctx_trust(SSL_CTX *ctx, const char *ca_file, int client_ca, char *why,
        size_t whylen)
{
	X509 *ca;
	int rc;

	if ((rc = pki_load_cert_file(ca_file, &ca, why, whylen)) < 0)
		return rc;
	if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) != 1 ||
	        (client_ca && SSL_CTX_add_client_CA(ctx, ca) != 1))
		rc = ossl_why(why, whylen, BL_ECRYPTO, "trusting %s", ca_file);
	X509_free(ca);
	return rc;
}

/* Our own certificate and key, checked to match. */
static int
ctx_identity(SSL_CTX *ctx, const char *crt_file, const char *key_file,
        char *why, size_t whylen)
{
	EVP_PKEY *k;
	X509 *x;
	int rc;

	if ((rc = pki_load_cert_file(crt_file, &x, why, whylen)) < 0)
		return rc;
	if ((rc = pki_key_load(key_file, &k, why, whylen)) < 0)
		goto out_free_x;
	if (SSL_CTX_use_certificate(ctx, x) != 1 ||
	        SSL_CTX_use_PrivateKey(ctx, k) != 1 ||
	        SSL_CTX_check_private_key(ctx) != 1)
		rc = ossl_why(why, whylen, BL_EFORMAT, "%s and %s", crt_file,
		        key_file);
	EVP_PKEY_free(k);
out_free_x:
	X509_free(x);
	return rc;
}

static int
server_setup(SSL_CTX *ctx, const char *dir, char *why, size_t whylen)
{
	char crt[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	int rc;

	if ((rc = join(crt, sizeof(crt), dir, "server.crt")) < 0 ||
	        (rc = join(key, sizeof(key), dir, "server.key")) < 0 ||
	        (rc = join(ca, sizeof(ca), dir, "ca.crt")) < 0)
		return bl_why(why, whylen, rc, "%s: %s", dir, bl_strerror(rc));
	if ((rc = ctx_common(ctx, X509_PURPOSE_SSL_CLIENT, why, whylen)) < 0 ||
	        (rc = ctx_identity(ctx, crt, key, why, whylen)) < 0 ||
	        (rc = ctx_trust(ctx, ca, 1, why, whylen)) < 0)
		return rc;
	/* No resumption: every connection presents its certificate anew. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1 ||
	        SSL_CTX_set_session_id_context(ctx,
	                (const unsigned char *)PKI_SID_CTX,
	                sizeof(PKI_SID_CTX) - 1) != 1)
		return ossl_why(why, whylen, BL_ECRYPTO, "TLS sessions");
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	return 0;
}

SSL_CTX *
pki_server_ctx(const char *dir, char *why, size_t whylen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		ossl_why(why, whylen, BL_ECRYPTO, "SSL_CTX_new");
	else if (server_setup(ctx, dir, why, whylen) < 0)
		ctx = ctx_fail(ctx);
	return ctx;
}

static int
client_setup(SSL_CTX *ctx, const char *ca_file, const char *cert_file,
        const char *key_file, char *why, size_t whylen)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	int rc;

	if ((cert_file == NULL) != (key_file == NULL))
		return bl_why(why, whylen, BL_EUSAGE,
		        "a client certificate needs its key and vice versa");
	if ((rc = ctx_common(ctx, X509_PURPOSE_SSL_SERVER, why, whylen)) < 0 ||
	        (rc = ctx_trust(ctx, ca_file, 0, why, whylen)) < 0)
		return rc;
	if (cert_file != NULL &&
	        (rc = ctx_identity(ctx, cert_file, key_file, why, whylen)) < 0)
		return rc;
	/* SSL_CTX_set_alpn_protos returns 0 on success. */
	if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0)
		return ossl_why(why, whylen, BL_ECRYPTO, "ALPN");
	return 0;
}

SSL_CTX *
pki_client_ctx(const char *ca_file, const char *cert_file, const char *key_file,
        char *why, size_t whylen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		ossl_why(why, whylen, BL_ECRYPTO, "SSL_CTX_new");
	else if (client_setup(ctx, ca_file, cert_file, key_file, why, whylen) <
	        0)
		ctx = ctx_fail(ctx);
	return ctx;
}

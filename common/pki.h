/*
 * pki.h - the primary's small certificate authority and TLS contexts.
 *
 * The primary keeps a CA in a directory (ca.key, ca.crt) and a server
 * certificate from it (server.key, server.crt).  A distribution node makes
 * its own key and a CSR; the primary signs a client certificate bound to a
 * node id (SAN URI "urn:branchline:node:<id>").  Clients pin ca.crt.
 *
 * All keys made here are EC P-256.  Private keys are PKCS#8 PEM, mode 0600;
 * certificates PEM, mode 0644; every file is written crash-safely (temp +
 * fsync + rename).  Every function leaves OpenSSL's error queue empty.
 * Where a function takes "char *why, size_t whylen" it fills it on failure
 * (with OpenSSL's reason where there is one); why may be NULL.
 */
#ifndef BL_PKI_H
#define BL_PKI_H

#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#define PKI_NODE_ID_MAX  64    /* buffer bound; ids are 1..63 chars */
#define PKI_SERIAL_HEX   41    /* 20-byte serial in hex, plus NUL */
#define PKI_FPR_HEX      65    /* SHA-256 in hex, plus NUL */
#define PKI_CSR_MAX      16384 /* largest CSR PEM pki_csr_sign reads */
#define PKI_PEM_MAX      65536 /* largest key or certificate PEM */
#define PKI_DAYS_MAX     36500 /* validity bound for every issued cert */
#define PKI_NODE_URI_PFX "urn:branchline:node:"

/*
 * Generate an EC P-256 key into *out (caller: EVP_PKEY_free).
 * Returns 0 or BL_ECRYPTO.
 */
int pki_key_new(EVP_PKEY **out);

/*
 * Save a private key as unencrypted PKCS#8 PEM, mode 0600, crash-safely.
 * Returns 0, -errno, -ENOMEM or BL_ECRYPTO.
 */
int pki_key_save(EVP_PKEY *k, const char *path);

/*
 * Load an unencrypted PEM private key (at most PKI_PEM_MAX bytes) into *out
 * (caller: EVP_PKEY_free).  Only key types pki_csr_sign accepts (EC P-256,
 * Ed25519, RSA 2048..8192) load.  Encrypted keys are refused, never
 * prompted for.  Returns 0, -errno, BL_ETOOBIG, or BL_EFORMAT.
 */
int pki_key_load(const char *path, EVP_PKEY **out, char *why, size_t whylen);

/*
 * Create a CA in dir (made 0700 if missing): dir/ca.key (0600) and
 * dir/ca.crt, self-signed, subject CN=cn (1..64 chars), valid days
 * (1..PKI_DAYS_MAX) from five minutes ago; basicConstraints critical
 * CA:TRUE pathlen:0, keyUsage critical keyCertSign+cRLSign, SKI, a random
 * 128-bit serial.  Refuses (-EEXIST) to replace an existing ca.key or
 * ca.crt: a new CA would orphan every certificate the old one issued.
 * Returns 0, -errno, BL_EUSAGE or BL_ECRYPTO.
 */
int pki_ca_create(
        const char *dir, const char *cn, int days, char *why, size_t whylen);

/*
 * Issue a fresh server key and certificate from dir's CA: dir/server.key
 * (0600) and dir/server.crt, replacing earlier ones (the key first, so a
 * crash in between leaves a mismatched pair; run it again).  SAN: each of
 * dns[0..ndns) as dNSName (1..253 of [A-Za-z0-9.-], or "*." and such a
 * name) and ips[0..nips) as iPAddress (IPv4 or IPv6 text).  At least one
 * name.  CN is the first dns name (the first IP if there are none; a fixed
 * "branchline-primary" if longer than 64 chars).  EKU serverAuth, keyUsage
 * digitalSignature, SKI, AKI.  Returns 0, -errno, BL_EUSAGE (no names, bad
 * days), BL_EFORMAT (a malformed name or address, a CA that does not load)
 * or BL_ECRYPTO.
 */
int pki_server_cert(const char *dir, const char *const *dns, size_t ndns,
        const char *const *ips, size_t nips, int days, char *why,
        size_t whylen);

/*
 * A PEM certificate request for key k with subject CN=cn (cn NULL: an empty
 * subject; the CA ignores it anyway), signed by k.  *pem is malloc'd and
 * NUL-terminated (caller frees), *len excludes the NUL.
 * Returns 0, -ENOMEM, BL_EUSAGE (cn empty or over 64) or BL_ECRYPTO.
 */
int pki_csr_new(EVP_PKEY *k, const char *cn, char **pem, size_t *len);

/*
 * Sign an untrusted CSR with dir's CA.  csr_pem[0..len) is at most
 * PKI_CSR_MAX bytes (else BL_ETOOBIG); its self-signature must verify
 * (else BL_ESIG) and its key be EC P-256 (named curve), Ed25519 or RSA
 * 2048..8192 bits (else BL_EFORMAT).  Its subject and extensions are
 * ignored: the certificate has subject CN=<node_id>, O=branchline-node,
 * SAN URI PKI_NODE_URI_PFX<node_id>, EKU clientAuth, keyUsage
 * digitalSignature, SKI, AKI, a random 128-bit serial, and is valid from
 * five minutes ago for days (1..PKI_DAYS_MAX).  node_id is 1..63 of
 * [a-z0-9-] (else BL_EFORMAT).  *cert_pem is malloc'd and NUL-terminated
 * (caller frees), *cert_len excludes the NUL; serial_hex (may be NULL)
 * receives the serial as pki_cert_serial_hex writes it.
 * Returns 0, -errno, -ENOMEM, BL_ETOOBIG, BL_EFORMAT, BL_ESIG, BL_EUSAGE
 * or BL_ECRYPTO.
 */
int pki_csr_sign(const char *dir, const char *csr_pem, size_t len,
        const char *node_id, int days, char **cert_pem, size_t *cert_len,
        char serial_hex[PKI_SERIAL_HEX], char *why, size_t whylen);

/*
 * The same for a node that also serves (child sites, boot clients) at
 * host, an IP address or DNS name (else BL_EFORMAT): the SAN adds it and
 * the EKU is serverAuth and clientAuth.  host NULL: pki_csr_sign.
 */
int pki_csr_sign_host(const char *dir, const char *csr_pem, size_t len,
        const char *node_id, const char *host, int days, char **cert_pem,
        size_t *cert_len, char serial_hex[PKI_SERIAL_HEX], char *why,
        size_t whylen);

/*
 * The node id of cert from its SAN URI PKI_NODE_URI_PFX<id>, into id.
 * Does not verify cert: use it on a certificate the TLS layer (or
 * X509_verify_cert) has checked against ca.crt.  Returns 0, BL_ENOTFOUND
 * when there is no such URI, BL_EFORMAT when the id in it is malformed.
 */
int pki_cert_node_id(X509 *cert, char id[PKI_NODE_ID_MAX + 1]);

/*
 * The serial number as lowercase hex of its minimal big-endian bytes (no
 * leading "0x", two digits per byte).  Returns 0, BL_EFORMAT for a
 * negative serial, BL_ETOOBIG for one longer than 20 bytes.
 */
int pki_cert_serial_hex(X509 *cert, char out[PKI_SERIAL_HEX]);

/* SHA-256 of the certificate's DER, lowercase hex.  0 or BL_ECRYPTO. */
int pki_cert_fingerprint(X509 *cert, char out[PKI_FPR_HEX]);

/*
 * Parse one PEM certificate from pem[0..len) (at most PKI_PEM_MAX bytes)
 * into *out (caller: X509_free).  Returns 0, -ENOMEM, BL_ETOOBIG or
 * BL_EFORMAT.
 */
int pki_load_cert_pem(
        const char *pem, size_t len, X509 **out, char *why, size_t whylen);

/* The same for a file.  Also -errno when it cannot be read. */
int pki_load_cert_file(const char *path, X509 **out, char *why, size_t whylen);

/*
 * A TLS server context from dir/server.crt, dir/server.key and dir/ca.crt
 * (caller: SSL_CTX_free; NULL on failure, with why filled).  TLS >= 1.2,
 * ECDHE+AEAD suites for 1.2, no renegotiation, no compression, no session
 * cache or tickets, ALPN "http/1.1" only (a client offering only other
 * protocols is refused).  Clients may present a certificate from ca.crt
 * (checked for the clientAuth purpose; a bad one fails the handshake) or
 * none: SSL_get1_peer_certificate is then NULL, and each node endpoint must
 * check it.
 */
SSL_CTX *pki_server_ctx(const char *dir, char *why, size_t whylen);

/*
 * A TLS client context that trusts ca_file (one PEM certificate, at most
 * PKI_PEM_MAX bytes) and nothing else (no system store), and verifies the
 * server for the serverAuth purpose (so a node certificate cannot pose as
 * the primary).  The host name is not checked: call
 * SSL_set1_host per connection where it matters.  cert_file and key_file
 * (both or neither; NULL for neither) are the client certificate.  ALPN
 * "http/1.1".  Caller: SSL_CTX_free; NULL on failure, with why filled.
 */
SSL_CTX *pki_client_ctx(const char *ca_file, const char *cert_file,
        const char *key_file, char *why, size_t whylen);

#endif /* BL_PKI_H */

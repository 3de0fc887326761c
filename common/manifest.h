/*
 * manifest.h - the image manifest: a versioned, signed binary format.
 *
 * A manifest names an image version and lists, per file, its path, mode,
 * size, whole-file SHA-256 and the (chunk id, length) list that rebuilds
 * it.  The byte layout is documented in ARCHITECTURE.md ("Manifest
 * format").  All integers are big-endian.  Encoding is canonical: files are
 * sorted by path (bytewise) and the decoder rejects anything the encoder
 * would not produce, so decode(encode(m)) == m and encode(decode(b)) == b.
 *
 * The signed form is body || trailer, trailer = alg (1 byte, 1 = Ed25519)
 * || key id (8 bytes: first 8 bytes of SHA-256 of the raw public key) ||
 * signature (64 bytes over the body).  The manifest id is the SHA-256 of
 * the body.
 */
#ifndef BL_MANIFEST_H
#define BL_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "sign.h"

#define MANIFEST_MAGIC         "BLMF"
#define MANIFEST_FORMAT        1
#define MANIFEST_NAME_MAX      128          /* bytes, see manifest_name_valid */
#define MANIFEST_PATH_MAX      1024         /* bytes per file path */
#define MANIFEST_FILES_MAX     65536        /* files per manifest */
#define MANIFEST_CHUNKS_MAX    (8u << 20)   /* chunks per manifest, all files */
#define MANIFEST_CHUNK_LEN_MAX (16u << 20)  /* bytes per chunk */
#define MANIFEST_BYTES_MAX     (320u << 20) /* encoded size */
#define MANIFEST_TRAILER_LEN   (1 + 8 + 64)
#define MANIFEST_SIG_ED25519   1

struct manifest_chunk {
	uint8_t id[32]; /* SHA-256 of the chunk's bytes */
	uint32_t len;   /* 1..MANIFEST_CHUNK_LEN_MAX */
};

struct manifest_file {
	char *path;    /* relative, '/'-separated, NUL-terminated (owned) */
	uint32_t mode; /* permission bits, <= 07777 */
	uint64_t size; /* sum of the chunk lengths */
	uint8_t sha256[32]; /* SHA-256 of the whole file */
	uint32_t nchunks;
	struct manifest_chunk *chunks; /* owned; NULL when nchunks == 0 */
};

struct manifest {
	char name[MANIFEST_NAME_MAX + 1]; /* image name */
	uint32_t version;                 /* >= 1 */
	uint64_t created;                 /* Unix time, seconds */
	uint32_t nfiles;
	struct manifest_file *files; /* owned; sorted by path on encode */
	/* From the trailer: set by manifest_decode and manifest_encode. */
	uint8_t key_id[8];
	uint8_t sig[64];
};

/*
 * 1 if name is a NUL-terminated 1..128 bytes of [A-Za-z0-9._+-], not
 * starting with '.' or '-'.
 */
int manifest_name_valid(const char *name);

/*
 * 1 if path[0..len) is a safe relative path: 1..MANIFEST_PATH_MAX bytes,
 * no NUL, no leading '/', no empty, "." or ".." component, no trailing '/'.
 */
int manifest_path_valid(const char *path, size_t len);

/*
 * Encode and sign m with key.  Sorts m->files by path in place and, on
 * success, sets m->key_id and m->sig.  On success *out is a malloc'd buffer
 * of *outlen bytes (caller frees); on failure *out is NULL.  Applies every
 * check manifest_decode applies, with the same codes, so it never emits
 * what decode rejects: BL_EFORMAT/BL_ETOOBIG (reason in why) on an invalid
 * name, path, duplicate path, size/chunk mismatch or exceeded bound;
 * BL_EUSAGE for a NULL path or a NULL files/chunks array with a nonzero
 * count; -ENOMEM; BL_ECRYPTO.
 */
int manifest_encode(struct manifest *m, const struct sign_key *key,
        uint8_t **out, size_t *outlen, char *why, size_t whylen);

/*
 * Decode p[0..len) (body + trailer).  Pure and bounded: no I/O; at most
 * O(len) memory, every count checked against the input left before it
 * sizes an allocation.  Does not check the signature (see
 * manifest_verify); key_id and sig are copied from the trailer.  On
 * success *out is owned by the caller (manifest_free); on failure it is
 * NULL and why names the field and file index.  Fails with BL_EFORMAT
 * (truncated, trailing bytes, bad field, unknown signature algorithm),
 * BL_EVERSION (format other than 1), BL_ETOOBIG (len over
 * MANIFEST_BYTES_MAX, or a name length, path length, file count, chunk
 * count or chunk length over its bound) or -ENOMEM.
 */
int manifest_decode(const uint8_t *p, size_t len, struct manifest **out,
        char *why, size_t whylen);

/*
 * Check the trailer's Ed25519 signature over the body with the raw public
 * key pub[32].  Needs no decode first: the trailer is the last
 * MANIFEST_TRAILER_LEN bytes.  Returns 0, BL_EFORMAT (shorter than the
 * smallest manifest, 100 bytes; unknown algorithm), BL_ETOOBIG (over
 * MANIFEST_BYTES_MAX), BL_ESIG (wrong key id or bad signature: any changed
 * byte), or BL_ECRYPTO.
 */
int manifest_verify(const uint8_t *p, size_t len, const uint8_t pub[32],
        char *why, size_t whylen);

/*
 * Manifest id: SHA-256 of the body (everything before the trailer).
 * Returns 0, BL_EFORMAT (shorter than the smallest manifest), BL_ETOOBIG
 * or BL_ECRYPTO.
 */
int manifest_id(const uint8_t *p, size_t len, uint8_t id[32]);

/* Free a manifest from manifest_decode, with its files; NULL is a no-op. */
/* The file at path in a decoded manifest (files sorted by path, as
 * manifest_decode guarantees), or NULL. */
const struct manifest_file *manifest_find(
        const struct manifest *m, const char *path);

void manifest_free(struct manifest *m);

#endif /* BL_MANIFEST_H */

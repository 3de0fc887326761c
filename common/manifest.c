/*
 * manifest.c - encode, decode and verify the signed image manifest.
 *
 * The decoder is a pure function over (const uint8_t *, size_t): it keeps a
 * running remaining length, checks every count against what is left before
 * allocating for it, and accepts only what manifest_encode() would emit, so
 * the encoding of a manifest is unique.  The encoder runs the same checks
 * before writing a byte.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "manifest.h"

/* Fixed-size parts of the body, used to bound counts by the input left. */
#define HDR_HEAD_LEN     (4 + 2 + 2 + 2) /* magic, format, flags, name_len */
#define HDR_TAIL_LEN     (4 + 8 + 4)     /* version, created, nfiles */
#define FILE_FIXED_LEN   (2 + 4 + 8 + 32 + 4) /* file entry without path */
#define FILE_MIN_LEN     (FILE_FIXED_LEN + 1) /* paths are >= 1 byte */
#define CHUNK_ENT_LEN    (32 + 4)             /* id, len */
#define BODY_MIN_LEN     (HDR_HEAD_LEN + 1 + HDR_TAIL_LEN) /* 1-byte name */
#define MANIFEST_MIN_LEN (BODY_MIN_LEN + MANIFEST_TRAILER_LEN)
#define KEY_ID_LEN       8

/*
 * A file's size is the sum of its chunk lengths.  With the per-manifest
 * chunk count and per-chunk length bounds the sum stays below 2^47, so a
 * uint64_t accumulator cannot overflow.
 */
_Static_assert(
        MANIFEST_CHUNK_LEN_MAX < ((uint64_t)1 << 62) / MANIFEST_CHUNKS_MAX,
        "chunk length sum may overflow");

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	        (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint8_t *
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	return put32(p + 4, (uint32_t)v);
}

static uint8_t *
putmem(uint8_t *p, const void *src, size_t len)
{
	memcpy(p, src, len);
	return p + len;
}

/* Bytewise order, a proper prefix first: the order files are stored in. */
static int
path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c;

	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
name_char_ok(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
	        c == '-';
}

/* manifest_name_valid over a counted name (it may hold a NUL: invalid). */
static int
name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > MANIFEST_NAME_MAX || name[0] == '.' ||
	        name[0] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!name_char_ok((unsigned char)name[i]))
			return 0;
	return 1;
}

int
manifest_name_valid(const char *name)
{
	if (name == NULL)
		return 0;
	return name_valid(name, strnlen(name, MANIFEST_NAME_MAX + 1));
}

int
manifest_path_valid(const char *path, size_t len)
{
	size_t i, start = 0, n;

	if (path == NULL || len == 0 || len > MANIFEST_PATH_MAX)
		return 0;
	/* Check each component path[start..i) as its '/' or the end is met. */
	for (i = 0; i <= len; i++) {
		if (i < len && path[i] == '\0')
			return 0;
		if (i < len && path[i] != '/')
			continue;
		n = i - start;
		/* Empty: a leading '/', "//" or a trailing '/'. */
		if (n == 0)
			return 0;
		if (path[start] == '.' &&
		        (n == 1 || (n == 2 && path[start + 1] == '.')))
			return 0;
		start = i + 1;
	}
	return 1;
}

/* Key id: the first 8 bytes of SHA-256 of the raw public key. */
static int
key_id(const uint8_t pub[SIGN_PUB_LEN], uint8_t id[KEY_ID_LEN])
{
	uint8_t h[HASH_LEN];
	int rc;

	if ((rc = hash_sha256(pub, SIGN_PUB_LEN, h)) < 0)
		return rc;
	memcpy(id, h, KEY_ID_LEN);
	return 0;
}

/*
 * Decoder.  Each parse step takes the cursor (p, rem) by reference and
 * advances it only on success; "field" and "need" name what was being read
 * when the input ran out.
 */
struct cursor {
	const uint8_t *p;
	size_t rem;
};

static int
decode_header(struct manifest *m, struct cursor *c, char *why, size_t whylen)
{
	const uint8_t *p = c->p;
	size_t rem = c->rem, need, namelen;
	const char *field;
	uint16_t format, flags;
	uint32_t nfiles;

	field = "header";
	if (rem < (need = HDR_HEAD_LEN))
		goto too_short;
	if (memcmp(p, MANIFEST_MAGIC, 4) != 0)
		return bl_why(why, whylen, BL_EFORMAT, "bad magic");
	if ((format = get16(p + 4)) != MANIFEST_FORMAT)
		return bl_why(why, whylen, BL_EVERSION,
		        "format %u, only %d is supported", format,
		        MANIFEST_FORMAT);
	if ((flags = get16(p + 6)) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "flags %#x: no flags are defined", flags);
	namelen = get16(p + 8);
	p += need;
	rem -= need;
	if (namelen > MANIFEST_NAME_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "name length %zu exceeds %d", namelen,
		        MANIFEST_NAME_MAX);
	field = "name";
	if (rem < (need = namelen))
		goto too_short;
	if (!name_valid((const char *)p, namelen))
		return bl_why(why, whylen, BL_EFORMAT,
		        "invalid name: want 1..%d of [A-Za-z0-9._+-], "
		        "not starting with '.' or '-'",
		        MANIFEST_NAME_MAX);
	memcpy(m->name, p, namelen);
	m->name[namelen] = '\0';
	p += need;
	rem -= need;

	field = "version, created, nfiles";
	if (rem < (need = HDR_TAIL_LEN))
		goto too_short;
	m->version = get32(p);
	m->created = get64(p + 4);
	nfiles = get32(p + 12);
	p += need;
	rem -= need;
	if (m->version == 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "version 0: versions start at 1");
	if (nfiles > MANIFEST_FILES_MAX)
		return bl_why(why, whylen, BL_ETOOBIG, "%u files exceed %d",
		        nfiles, MANIFEST_FILES_MAX);
	/* Bound the allocation by the input before trusting the count. */
	field = "file list";
	if (nfiles > rem / FILE_MIN_LEN) {
		need = (size_t)nfiles * FILE_MIN_LEN;
		goto too_short;
	}
	/* m->nfiles only once m->files has room: manifest_free walks it. */
	if (nfiles > 0 &&
	        (m->files = calloc(nfiles, sizeof(*m->files))) == NULL)
		return -ENOMEM;
	m->nfiles = nfiles;
	c->p = p;
	c->rem = rem;
	return 0;

too_short:
	return bl_why(why, whylen, BL_EFORMAT,
	        "truncated %s: need %zu bytes, %zu left", field, need, rem);
}

/* The chunk list of file idx, whose nchunks is already bounded. */
static int
decode_chunks(struct manifest_file *f, uint32_t idx, const uint8_t *p,
        char *why, size_t whylen)
{
	uint64_t sum = 0;
	uint32_t i;

	if (f->nchunks > 0 &&
	        (f->chunks = calloc(f->nchunks, sizeof(*f->chunks))) == NULL)
		return -ENOMEM;
	for (i = 0; i < f->nchunks; i++, p += CHUNK_ENT_LEN) {
		memcpy(f->chunks[i].id, p, sizeof(f->chunks[i].id));
		f->chunks[i].len = get32(p + 32);
		if (f->chunks[i].len == 0)
			return bl_why(why, whylen, BL_EFORMAT,
			        "file %u chunk %u: length 0", idx, i);
		if (f->chunks[i].len > MANIFEST_CHUNK_LEN_MAX)
			return bl_why(why, whylen, BL_ETOOBIG,
			        "file %u chunk %u: length %u exceeds %u", idx,
			        i, f->chunks[i].len, MANIFEST_CHUNK_LEN_MAX);
		sum += f->chunks[i].len;
	}
	/* Chunk lengths are >= 1, so this also ties size 0 to no chunks. */
	if (sum != f->size)
		return bl_why(why, whylen, BL_EFORMAT,
		        "file %u: chunk lengths sum to %llu, size says %llu",
		        idx, (unsigned long long)sum,
		        (unsigned long long)f->size);
	return 0;
}

/*
 * File entry idx into m->files[idx].  Paths must ascend strictly, so a
 * duplicate or out-of-order path is rejected here.  *total counts the
 * chunks of all files so far.
 */
static int
decode_file(struct manifest *m, uint32_t idx, struct cursor *c, uint32_t *total,
        char *why, size_t whylen)
{
	struct manifest_file *f = &m->files[idx], *prev;
	const uint8_t *p = c->p;
	size_t rem = c->rem, need, plen;
	const char *field;
	int rc;

	field = "path length";
	if (rem < (need = 2))
		goto too_short;
	plen = get16(p);
	p += need;
	rem -= need;
	if (plen > MANIFEST_PATH_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "file %u: path length %zu exceeds %d", idx, plen,
		        MANIFEST_PATH_MAX);
	field = "path";
	if (rem < (need = plen))
		goto too_short;
	if (!manifest_path_valid((const char *)p, plen))
		return bl_why(why, whylen, BL_EFORMAT,
		        "file %u: invalid path (empty, absolute, NUL, or an "
		        "empty, \".\" or \"..\" component)",
		        idx);
	prev = idx > 0 ? &m->files[idx - 1] : NULL;
	if (prev != NULL &&
	        path_cmp(prev->path, strlen(prev->path), (const char *)p,
	                plen) >= 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "file %u: path not after file %u's (unsorted or "
		        "duplicate)",
		        idx, idx - 1);
	if ((f->path = malloc(plen + 1)) == NULL)
		return -ENOMEM;
	memcpy(f->path, p, plen);
	f->path[plen] = '\0';
	p += need;
	rem -= need;

	field = "mode, size, sha256, nchunks";
	if (rem < (need = FILE_FIXED_LEN - 2))
		goto too_short;
	f->mode = get32(p);
	f->size = get64(p + 4);
	memcpy(f->sha256, p + 12, sizeof(f->sha256));
	f->nchunks = get32(p + 44);
	p += need;
	rem -= need;
	if (f->mode > 07777)
		return bl_why(why, whylen, BL_EFORMAT,
		        "file %u: mode %#o is more than permission bits", idx,
		        f->mode);
	if (f->nchunks > MANIFEST_CHUNKS_MAX - *total)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "file %u: %u chunks bring the total over %u", idx,
		        f->nchunks, MANIFEST_CHUNKS_MAX);
	/* Bound the allocation by the input before trusting the count. */
	field = "chunk list";
	need = (size_t)f->nchunks * CHUNK_ENT_LEN;
	if (rem < need)
		goto too_short;
	if ((rc = decode_chunks(f, idx, p, why, whylen)) < 0)
		return rc;
	p += need;
	rem -= need;
	*total += f->nchunks;
	c->p = p;
	c->rem = rem;
	return 0;

too_short:
	return bl_why(why, whylen, BL_EFORMAT,
	        "file %u: truncated %s: need %zu bytes, %zu left", idx, field,
	        need, rem);
}

int
manifest_decode(const uint8_t *p, size_t len, struct manifest **out, char *why,
        size_t whylen)
{
	struct manifest *m;
	struct cursor c;
	const uint8_t *t;
	uint32_t i, total = 0;
	int rc;

	*out = NULL;
	if (len > MANIFEST_BYTES_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "%zu bytes exceed the %u-byte limit", len,
		        MANIFEST_BYTES_MAX);
	if (len < MANIFEST_MIN_LEN)
		return bl_why(why, whylen, BL_EFORMAT,
		        "truncated: %zu bytes, a manifest has at least %d", len,
		        MANIFEST_MIN_LEN);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	/* The trailer has a fixed size, so the body is all that precedes it. */
	c.p = p;
	c.rem = len - MANIFEST_TRAILER_LEN;
	if ((rc = decode_header(m, &c, why, whylen)) < 0)
		goto out_free;
	for (i = 0; i < m->nfiles; i++)
		if ((rc = decode_file(m, i, &c, &total, why, whylen)) < 0)
			goto out_free;
	if (c.rem != 0) {
		rc = bl_why(why, whylen, BL_EFORMAT,
		        "%zu trailing bytes after file %u", c.rem, m->nfiles);
		goto out_free;
	}
	t = p + len - MANIFEST_TRAILER_LEN;
	if (t[0] != MANIFEST_SIG_ED25519) {
		rc = bl_why(why, whylen, BL_EFORMAT,
		        "unknown signature algorithm %u", t[0]);
		goto out_free;
	}
	memcpy(m->key_id, t + 1, sizeof(m->key_id));
	memcpy(m->sig, t + 1 + KEY_ID_LEN, sizeof(m->sig));
	*out = m;
	return 0;

out_free:
	manifest_free(m);
	return rc;
}

int
manifest_verify(const uint8_t *p, size_t len, const uint8_t pub[32], char *why,
        size_t whylen)
{
	uint8_t kid[KEY_ID_LEN];
	char want[2 * KEY_ID_LEN + 1], got[2 * KEY_ID_LEN + 1];
	const uint8_t *t;
	size_t blen;
	int rc;

	if (len > MANIFEST_BYTES_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "%zu bytes exceed the %u-byte limit", len,
		        MANIFEST_BYTES_MAX);
	if (len < MANIFEST_MIN_LEN)
		return bl_why(why, whylen, BL_EFORMAT,
		        "truncated: %zu bytes, a manifest has at least %d", len,
		        MANIFEST_MIN_LEN);
	blen = len - MANIFEST_TRAILER_LEN;
	t = p + blen;
	if (t[0] != MANIFEST_SIG_ED25519)
		return bl_why(why, whylen, BL_EFORMAT,
		        "unknown signature algorithm %u", t[0]);
	if ((rc = key_id(pub, kid)) < 0)
		return bl_why(why, whylen, rc, "cannot hash the public key");
	if (memcmp(kid, t + 1, KEY_ID_LEN) != 0) {
		hash_hex(t + 1, KEY_ID_LEN, got);
		hash_hex(kid, KEY_ID_LEN, want);
		return bl_why(why, whylen, BL_ESIG,
		        "signed by key %s, not by key %s", got, want);
	}
	if ((rc = sign_verify(pub, p, blen, t + 1 + KEY_ID_LEN)) < 0)
		return bl_why(why, whylen, rc, "bad signature");
	return 0;
}

int
manifest_id(const uint8_t *p, size_t len, uint8_t id[32])
{
	if (len > MANIFEST_BYTES_MAX)
		return BL_ETOOBIG;
	if (len < MANIFEST_MIN_LEN)
		return BL_EFORMAT;
	return hash_sha256(p, len - MANIFEST_TRAILER_LEN, id);
}

void
manifest_free(struct manifest *m)
{
	uint32_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nfiles; i++) {
		free(m->files[i].path);
		free(m->files[i].chunks);
	}
	free(m->files);
	free(m);
}

/*
 * Encoder.  check_file() and check_manifest() apply the decoder's rules to
 * the caller's struct, returning the same codes, and size the body.
 */
static int
check_file(const struct manifest_file *f, uint32_t idx, uint64_t *blen,
        uint64_t *total, char *why, size_t whylen)
{
	uint64_t sum = 0;
	size_t plen;
	uint32_t i;

	if (f->path == NULL)
		return bl_why(why, whylen, BL_EUSAGE, "file %u: no path", idx);
	if ((plen = strnlen(f->path, MANIFEST_PATH_MAX + 1)) >
	        MANIFEST_PATH_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "file %u: path longer than %d bytes", idx,
		        MANIFEST_PATH_MAX);
	if (!manifest_path_valid(f->path, plen))
		return bl_why(why, whylen, BL_EFORMAT,
		        "file %u: invalid path \"%s\"", idx, f->path);
	if (f->mode > 07777)
		return bl_why(why, whylen, BL_EFORMAT,
		        "file %u (%s): mode %#o is more than permission bits",
		        idx, f->path, f->mode);
	if (f->nchunks > MANIFEST_CHUNKS_MAX - *total)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "file %u (%s): %u chunks bring the total over %u", idx,
		        f->path, f->nchunks, MANIFEST_CHUNKS_MAX);
	if (f->nchunks > 0 && f->chunks == NULL)
		return bl_why(why, whylen, BL_EUSAGE,
		        "file %u (%s): %u chunks but no chunk array", idx,
		        f->path, f->nchunks);
	for (i = 0; i < f->nchunks; i++) {
		if (f->chunks[i].len == 0)
			return bl_why(why, whylen, BL_EFORMAT,
			        "file %u (%s) chunk %u: length 0", idx, f->path,
			        i);
		if (f->chunks[i].len > MANIFEST_CHUNK_LEN_MAX)
			return bl_why(why, whylen, BL_ETOOBIG,
			        "file %u (%s) chunk %u: length %u exceeds %u",
			        idx, f->path, i, f->chunks[i].len,
			        MANIFEST_CHUNK_LEN_MAX);
		sum += f->chunks[i].len;
	}
	if (sum != f->size)
		return bl_why(why, whylen, BL_EFORMAT,
		        "file %u (%s): chunk lengths sum to %llu, size says "
		        "%llu",
		        idx, f->path, (unsigned long long)sum,
		        (unsigned long long)f->size);
	*total += f->nchunks;
	*blen += FILE_FIXED_LEN + plen + (uint64_t)f->nchunks * CHUNK_ENT_LEN;
	return 0;
}

static int
file_cmp(const void *a, const void *b)
{
	const struct manifest_file *fa = a, *fb = b;

	return path_cmp(fa->path, strlen(fa->path), fb->path, strlen(fb->path));
}

/* Validate m, sort its files and return the body length in *blenp. */
static int
check_manifest(struct manifest *m, size_t *blenp, char *why, size_t whylen)
{
	uint64_t blen, total = 0;
	size_t namelen;
	uint32_t i;
	int rc;

	if ((namelen = strnlen(m->name, sizeof(m->name))) > MANIFEST_NAME_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "name longer than %d bytes", MANIFEST_NAME_MAX);
	if (!name_valid(m->name, namelen))
		return bl_why(why, whylen, BL_EFORMAT,
		        "invalid name \"%s\": want 1..%d of [A-Za-z0-9._+-], "
		        "not starting with '.' or '-'",
		        m->name, MANIFEST_NAME_MAX);
	if (m->version == 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "version 0: versions start at 1");
	if (m->nfiles > MANIFEST_FILES_MAX)
		return bl_why(why, whylen, BL_ETOOBIG, "%u files exceed %d",
		        m->nfiles, MANIFEST_FILES_MAX);
	if (m->nfiles > 0 && m->files == NULL)
		return bl_why(why, whylen, BL_EUSAGE,
		        "%u files but no file array", m->nfiles);
	blen = HDR_HEAD_LEN + namelen + HDR_TAIL_LEN;
	for (i = 0; i < m->nfiles; i++)
		if ((rc = check_file(
		             &m->files[i], i, &blen, &total, why, whylen)) < 0)
			return rc;
	if (blen > MANIFEST_BYTES_MAX - MANIFEST_TRAILER_LEN)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "encoding needs %llu bytes, the limit is %u",
		        (unsigned long long)(blen + MANIFEST_TRAILER_LEN),
		        MANIFEST_BYTES_MAX);
	if (m->nfiles > 1)
		qsort(m->files, m->nfiles, sizeof(*m->files), file_cmp);
	for (i = 1; i < m->nfiles; i++)
		if (strcmp(m->files[i - 1].path, m->files[i].path) == 0)
			return bl_why(why, whylen, BL_EFORMAT,
			        "duplicate path \"%s\"", m->files[i].path);
	*blenp = (size_t)blen;
	return 0;
}

/* Write the body of a checked manifest; returns the end of what it wrote. */
static uint8_t *
write_body(uint8_t *w, const struct manifest *m)
{
	const struct manifest_file *f;
	size_t namelen = strlen(m->name), plen;
	uint32_t i, j;

	w = putmem(w, MANIFEST_MAGIC, 4);
	w = put16(w, MANIFEST_FORMAT);
	w = put16(w, 0);
	w = put16(w, (uint16_t)namelen);
	w = putmem(w, m->name, namelen);
	w = put32(w, m->version);
	w = put64(w, m->created);
	w = put32(w, m->nfiles);
	for (i = 0; i < m->nfiles; i++) {
		f = &m->files[i];
		plen = strlen(f->path);
		w = put16(w, (uint16_t)plen);
		w = putmem(w, f->path, plen);
		w = put32(w, f->mode);
		w = put64(w, f->size);
		w = putmem(w, f->sha256, sizeof(f->sha256));
		w = put32(w, f->nchunks);
		for (j = 0; j < f->nchunks; j++) {
			w = putmem(w, f->chunks[j].id, sizeof(f->chunks[j].id));
			w = put32(w, f->chunks[j].len);
		}
	}
	return w;
}

int
manifest_encode(struct manifest *m, const struct sign_key *key, uint8_t **out,
        size_t *outlen, char *why, size_t whylen)
{
	uint8_t pub[SIGN_PUB_LEN], *buf, *t;
	size_t blen = 0;
	int rc;

	*out = NULL;
	*outlen = 0;
	if ((rc = check_manifest(m, &blen, why, whylen)) < 0)
		return rc;
	if ((buf = malloc(blen + MANIFEST_TRAILER_LEN)) == NULL)
		return -ENOMEM;
	/* check_manifest() sized exactly what write_body() writes. */
	t = write_body(buf, m);
	t[0] = MANIFEST_SIG_ED25519;
	if ((rc = sign_key_pub(key, pub)) < 0 ||
	        (rc = key_id(pub, t + 1)) < 0 ||
	        (rc = sign_sign(key, buf, blen, t + 1 + KEY_ID_LEN)) < 0) {
		bl_why(why, whylen, rc, "cannot sign the manifest");
		goto out_free;
	}
	memcpy(m->key_id, t + 1, sizeof(m->key_id));
	memcpy(m->sig, t + 1 + KEY_ID_LEN, sizeof(m->sig));
	*out = buf;
	*outlen = blen + MANIFEST_TRAILER_LEN;
	return 0;

out_free:
	free(buf);
	return rc;
}

const struct manifest_file *
manifest_find(const struct manifest *m, const char *path)
{
	size_t lo = 0, hi = m->nfiles, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(path, m->files[mid].path);
		if (c == 0)
			return &m->files[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

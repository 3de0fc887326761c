/*
 * store.c - opening a store, lookups, reads, removal, diff, usage and
 * import sessions.  Import is in store_import.c, gc and verify in
 * store_gc.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "conf.h"
#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "store.h"

#define STORE_FORMAT 1

struct store_conf {
	uint64_t format;
	uint64_t chunk_min, chunk_avg, chunk_max;
	uint64_t zstd_level;
	uint64_t map_size, map_max;
};

static const struct conf_key store_conf_keys[] = {
        {"format", CONF_U64, offsetof(struct store_conf, format), 0, 1, 1},
        {"chunk_min", CONF_SIZE, offsetof(struct store_conf, chunk_min), 0,
                CHUNKER_MIN_LIMIT, CHUNKER_MAX_LIMIT},
        {"chunk_avg", CONF_SIZE, offsetof(struct store_conf, chunk_avg), 0,
                CHUNKER_MIN_LIMIT, CHUNKER_MAX_LIMIT},
        {"chunk_max", CONF_SIZE, offsetof(struct store_conf, chunk_max), 0,
                CHUNKER_MIN_LIMIT, CHUNKER_MAX_LIMIT},
        {"zstd_level", CONF_U64, offsetof(struct store_conf, zstd_level), 0, 0,
                19},
        {"index_map_size", CONF_SIZE, offsetof(struct store_conf, map_size), 0,
                1ull << 16, 1ull << 44},
        {"index_map_max", CONF_SIZE, offsetof(struct store_conf, map_max), 0, 0,
                1ull << 44},
};

void
store_opts_default(struct store_opts *o)
{
	o->chunk_min = CHUNKER_MIN_DEFAULT;
	o->chunk_avg = CHUNKER_AVG_DEFAULT;
	o->chunk_max = CHUNKER_MAX_DEFAULT;
	o->zstd_level = STORE_ZSTD_DEFAULT;
	o->map_size = STORE_MAP_DEFAULT;
	o->map_max = 0;
}

static int
path_join(char *out, size_t cap, const char *dir, const char *rel)
{
	if ((size_t)snprintf(out, cap, "%s/%s", dir, rel) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int
store_init(
        const char *dir, const struct store_opts *o, char *why, size_t whylen)
{
	struct chunker ck;
	struct chunkstore *cs;
	struct sign_key *key = NULL;
	uint8_t pub[SIGN_PUB_LEN];
	char path[PATH_MAX], text[512];
	struct stat st;
	struct index ix;
	int rc, n;

	if ((rc = chunker_init(&ck, o->chunk_min, o->chunk_avg, o->chunk_max,
	             why, whylen)) != 0)
		return rc;
	if (o->zstd_level < 0 || o->zstd_level > 19)
		return bl_why(
		        why, whylen, BL_EUSAGE, "zstd level must be 0..19");
	if (path_join(path, sizeof(path), dir, "store.conf") < 0)
		return bl_why(
		        why, whylen, -ENAMETOOLONG, "%s: path too long", dir);
	if (stat(path, &st) == 0)
		return bl_why(
		        why, whylen, -EEXIST, "%s already holds a store", dir);
	if ((rc = fs_mkdirs(dir, 0755)) < 0)
		return bl_why(why, whylen, rc, "%s: %s", dir, bl_strerror(rc));
	path_join(path, sizeof(path), dir, "index");
	if ((rc = fs_mkdirs(path, 0700)) < 0)
		return bl_why(why, whylen, rc, "%s: %s", path, bl_strerror(rc));
	if ((rc = index_open(
	             &ix, path, o->map_size, o->map_max, why, whylen)) != 0)
		return rc;
	index_close(&ix);
	/* The chunk directories too (4,096 buckets), so the first import
	 * does not pay for them. */
	if ((rc = chunkstore_open_local(dir, 0, &cs)) < 0)
		return bl_why(why, whylen, rc, "%s/chunks: %s", dir,
		        bl_strerror(rc));
	chunkstore_close(cs);
	path_join(path, sizeof(path), dir, "keys");
	if ((rc = fs_mkdirs(path, 0700)) < 0)
		return bl_why(why, whylen, rc, "%s: %s", path, bl_strerror(rc));
	if ((rc = sign_keygen(&key)) != 0 || (rc = sign_key_pub(key, pub)) != 0)
		goto key_fail;
	path_join(path, sizeof(path), dir, "keys/signing.key");
	if ((rc = sign_key_save(key, path)) != 0)
		goto key_fail;
	path_join(path, sizeof(path), dir, "keys/signing.pub");
	if ((rc = sign_pub_save(pub, path)) != 0)
		goto key_fail;
	sign_key_free(key);
	key = NULL;

	/* store.conf last: its presence marks a complete store. */
	n = snprintf(text, sizeof(text),
	        "# Branchline store.  Chunk sizes fix how content is cut;\n"
	        "# changing them later only costs deduplication.\n"
	        "format = %d\n"
	        "chunk_min = %" PRIu32 "\n"
	        "chunk_avg = %" PRIu32 "\n"
	        "chunk_max = %" PRIu32 "\n"
	        "# zstd level for chunks that compress (0 = off)\n"
	        "zstd_level = %d\n"
	        "index_map_size = %" PRIu64 "\n"
	        "# 0 = grow without limit\n"
	        "index_map_max = %" PRIu64 "\n",
	        STORE_FORMAT, o->chunk_min, o->chunk_avg, o->chunk_max,
	        o->zstd_level, o->map_size, o->map_max);
	path_join(path, sizeof(path), dir, "store.conf");
	if ((rc = fs_write_atomic(path, text, (size_t)n, 0644)) < 0)
		return bl_why(why, whylen, rc, "%s: %s", path, bl_strerror(rc));
	return 0;
key_fail:
	sign_key_free(key);
	return bl_why(
	        why, whylen, rc, "creating signing key: %s", bl_strerror(rc));
}

int
store_open(const char *dir, struct store **out, char *why, size_t whylen)
{
	struct store_conf c = {1, CHUNKER_MIN_DEFAULT, CHUNKER_AVG_DEFAULT,
	        CHUNKER_MAX_DEFAULT, STORE_ZSTD_DEFAULT, STORE_MAP_DEFAULT, 0};
	char path[PATH_MAX];
	struct store *s;
	struct stat st;
	int rc;

	if (strlen(dir) >= sizeof(((struct store *)0)->dir))
		return bl_why(
		        why, whylen, -ENAMETOOLONG, "%s: path too long", dir);
	path_join(path, sizeof(path), dir, "store.conf");
	if (stat(path, &st) < 0)
		return bl_why(why, whylen, BL_ENOTFOUND,
		        "%s is not a store (no store.conf; create one with "
		        "'branchline --store %s init')",
		        dir, dir);
	if ((rc = conf_load(path, store_conf_keys,
	             sizeof(store_conf_keys) / sizeof(store_conf_keys[0]), &c,
	             why, whylen)) != 0)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->opts.chunk_min = (uint32_t)c.chunk_min;
	s->opts.chunk_avg = (uint32_t)c.chunk_avg;
	s->opts.chunk_max = (uint32_t)c.chunk_max;
	s->opts.zstd_level = (int)c.zstd_level;
	s->opts.map_size = c.map_size;
	s->opts.map_max = c.map_max;
	if ((rc = chunker_init(&s->chunker, s->opts.chunk_min,
	             s->opts.chunk_avg, s->opts.chunk_max, why, whylen)) != 0)
		goto fail;
	path_join(path, sizeof(path), dir, "index");
	if ((rc = index_open(
	             &s->ix, path, c.map_size, c.map_max, why, whylen)) != 0)
		goto fail;
	if ((rc = chunkstore_open_local(dir, 0, &s->cs)) != 0) {
		bl_why(why, whylen, rc, "%s: %s", dir, bl_strerror(rc));
		goto fail;
	}
	path_join(path, sizeof(path), dir, "keys/signing.pub");
	if (sign_pub_load(path, s->pub) == 0)
		s->have_pub = 1;
	*out = s;
	return 0;
fail:
	store_close(s);
	return rc;
}

int
store_open_shared(struct store *base, struct store **out, char *why,
        size_t whylen)
{
	struct store *s;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return bl_why(why, whylen, -ENOMEM, "out of memory");
	memcpy(s->dir, base->dir, sizeof(s->dir));
	s->opts = base->opts;
	s->chunker = base->chunker;
	s->ix = base->ix;
	s->ix_borrowed = 1;
	memcpy(s->pub, base->pub, sizeof(s->pub));
	s->have_pub = base->have_pub;
	if ((rc = chunkstore_open_local(s->dir, 0, &s->cs)) != 0) {
		free(s);
		return bl_why(why, whylen, rc, "%s: %s", base->dir,
		        bl_strerror(rc));
	}
	*out = s;
	return 0;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	chunkstore_close(s->cs);
	if (!s->ix_borrowed)
		index_close(&s->ix);
	sign_key_free(s->key);
	ZSTD_freeDCtx(s->zd);
	free(s->zbuf);
	free(s);
}

int
store_load_key(struct store *s, char *why, size_t whylen)
{
	char path[PATH_MAX];
	int rc;

	if (s->key != NULL)
		return 0;
	path_join(path, sizeof(path), s->dir, "keys/signing.key");
	if ((rc = sign_key_load(path, &s->key)) != 0)
		return bl_why(why, whylen, rc, "signing key %s: %s", path,
		        bl_strerror(rc));
	if ((rc = sign_key_pub(s->key, s->pub)) != 0)
		return bl_why(why, whylen, rc, "signing key %s: %s", path,
		        bl_strerror(rc));
	s->have_pub = 1;
	return 0;
}

int
store_parse_ref(const char *ref, char *name, size_t namecap, uint32_t *version)
{
	const char *at = strrchr(ref, '@');
	size_t n = at != NULL ? (size_t)(at - ref) : strlen(ref);
	unsigned long v;
	char *end;

	if (n == 0 || n >= namecap)
		return BL_EFORMAT;
	memcpy(name, ref, n);
	name[n] = '\0';
	if (!manifest_name_valid(name))
		return BL_EFORMAT;
	*version = 0;
	if (at == NULL)
		return 0;
	if (at[1] < '1' || at[1] > '9')
		return BL_EFORMAT;
	errno = 0;
	v = strtoul(at + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX)
		return BL_EFORMAT;
	*version = (uint32_t)v;
	return 0;
}

static int
version_cmp(const void *a, const void *b)
{
	const struct store_version *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->version < y->version ? -1 : x->version > y->version;
}

int
store_list(struct store *s, const char *name, struct store_version **out,
        size_t *n)
{
	struct store_version *v = NULL, *nv;
	size_t cnt = 0, cap = 0, nlen;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_txn *txn;
	int rc, op;

	if ((rc = index_read_begin(&s->ix, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->ix.images, &cur)) != 0) {
		mdb_txn_abort(txn);
		return index_err(rc);
	}
	if (name != NULL) {
		k.mv_size = strlen(name) + 1;
		k.mv_data = (void *)name;
		op = MDB_SET_RANGE;
	} else
		op = MDB_FIRST;
	while ((rc = mdb_cursor_get(cur, &k, &d, op)) == 0) {
		op = MDB_NEXT;
		nlen = k.mv_size - 5;
		if (k.mv_size < 6 || nlen > MANIFEST_NAME_MAX) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (name != NULL &&
		        (strlen(name) != nlen ||
		                memcmp(name, k.mv_data, nlen) != 0))
			break;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = ENOMEM;
				break;
			}
			v = nv;
		}
		memcpy(v[cnt].name, k.mv_data, nlen);
		v[cnt].name[nlen] = '\0';
		v[cnt].version =
		        be32_get((const uint8_t *)k.mv_data + nlen + 1);
		if (index_image_decode(d.mv_data, d.mv_size, &v[cnt].im) != 0) {
			rc = MDB_CORRUPTED;
			break;
		}
		cnt++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND && rc != 0) {
		free(v);
		return index_err(rc);
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), version_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

int
store_lookup(struct store *s, const char *name, uint32_t version,
        struct store_version *ver, uint8_t **raw, size_t *rawlen, char *why,
        size_t whylen)
{
	struct store_version *all = NULL, *hit = NULL;
	MDB_val k, d;
	MDB_txn *txn;
	size_t n, i;
	int rc;

	if ((rc = store_list(s, name, &all, &n)) != 0)
		return bl_why(why, whylen, rc, "index: %s", bl_strerror(rc));
	for (i = 0; i < n; i++)
		if (version == 0 || all[i].version == version)
			hit = &all[i]; /* sorted: the last match is newest */
	if (hit == NULL) {
		free(all);
		if (version != 0)
			return bl_why(why, whylen, BL_ENOTFOUND,
			        "no image %s@%" PRIu32, name, version);
		return bl_why(why, whylen, BL_ENOTFOUND, "no image %s", name);
	}
	*ver = *hit;
	free(all);
	if (raw == NULL)
		return 0;
	if ((rc = index_read_begin(&s->ix, &txn)) != 0)
		return bl_why(why, whylen, rc, "index: %s", bl_strerror(rc));
	k.mv_size = 32;
	k.mv_data = ver->im.manifest_id;
	rc = mdb_get(txn, s->ix.manifests, &k, &d);
	if (rc == 0) {
		if ((*raw = malloc(d.mv_size ? d.mv_size : 1)) == NULL)
			rc = ENOMEM;
		else {
			memcpy(*raw, d.mv_data, d.mv_size);
			*rawlen = d.mv_size;
		}
	}
	mdb_txn_abort(txn);
	if (rc != 0)
		return bl_why(why, whylen,
		        rc == MDB_NOTFOUND ? BL_ECORRUPT : index_err(rc),
		        "%s@%" PRIu32 ": manifest missing from index: %s",
		        ver->name, ver->version, mdb_strerror(rc));
	return 0;
}

int
store_manifest(struct store *s, const char *name, uint32_t version,
        struct manifest **m, char *why, size_t whylen)
{
	struct store_version ver;
	uint8_t *raw;
	size_t len;
	int rc;

	if ((rc = store_lookup(
	             s, name, version, &ver, &raw, &len, why, whylen)) != 0)
		return rc;
	if (!s->have_pub)
		rc = bl_why(why, whylen, BL_ENOTFOUND,
		        "%s/keys/signing.pub: no public key", s->dir);
	else if ((rc = manifest_verify(raw, len, s->pub, why, whylen)) == 0)
		rc = manifest_decode(raw, len, m, why, whylen);
	free(raw);
	return rc;
}

int
store_manifest_by_id(
        struct store *s, const uint8_t id[32], uint8_t **raw, size_t *len)
{
	MDB_txn *txn;
	MDB_val k, d;
	int rc;

	if ((rc = index_read_begin(&s->ix, &txn)) != 0)
		return rc;
	k.mv_size = 32;
	k.mv_data = (void *)id;
	if ((rc = mdb_get(txn, s->ix.manifests, &k, &d)) == 0) {
		if ((*raw = malloc(d.mv_size ? d.mv_size : 1)) == NULL)
			rc = -ENOMEM;
		else {
			memcpy(*raw, d.mv_data, d.mv_size);
			*len = d.mv_size;
		}
	} else
		rc = rc == MDB_NOTFOUND ? BL_ENOTFOUND : index_err(rc);
	mdb_txn_abort(txn);
	return rc;
}

int
store_chunk_open(struct store *s, MDB_txn *txn, const uint8_t id[32],
        struct index_chunk *rec, int *fd)
{
	MDB_txn *own = NULL;
	int rc;

	if (txn == NULL) {
		if ((rc = index_read_begin(&s->ix, &own)) != 0)
			return rc;
		txn = own;
	}
	rc = index_chunk_get(&s->ix, txn, id, rec);
	if (own != NULL)
		mdb_txn_abort(own);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? BL_ENOTFOUND : index_err(rc);
	if ((*fd = chunkstore_open_file(s->cs, id)) < 0)
		return *fd == -ENOENT ? BL_EMISSING : *fd;
	return 0;
}

int
store_read_chunk(struct store *s, const uint8_t id[32], uint8_t *buf,
        size_t cap, size_t *len, int verify)
{
	struct index_chunk c;
	uint8_t h[HASH_LEN];
	MDB_txn *txn;
	size_t got, zn;
	int rc;

	if ((rc = index_read_begin(&s->ix, &txn)) != 0)
		return rc;
	rc = index_chunk_get(&s->ix, txn, id, &c);
	mdb_txn_abort(txn);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? BL_ENOTFOUND : index_err(rc);
	if (c.size > cap)
		return BL_ETOOBIG;
	if (c.flags & INDEX_CHUNK_ZSTD) {
		if (s->zbuf == NULL &&
		        (s->zbuf = malloc(MANIFEST_CHUNK_LEN_MAX)) == NULL)
			return -ENOMEM;
		if (s->zd == NULL && (s->zd = ZSTD_createDCtx()) == NULL)
			return -ENOMEM;
		rc = chunkstore_get(
		        s->cs, id, s->zbuf, MANIFEST_CHUNK_LEN_MAX, &got);
		if (rc == 0) {
			zn = ZSTD_decompressDCtx(s->zd, buf, cap, s->zbuf, got);
			if (ZSTD_isError(zn))
				rc = BL_ECORRUPT;
			else
				got = zn;
		}
	} else
		rc = chunkstore_get(s->cs, id, buf, cap, &got);
	if (rc == -ENOENT)
		return BL_EMISSING;
	if (rc == BL_ETOOBIG)
		return BL_ECORRUPT; /* larger on disk than the index says */
	if (rc != 0)
		return rc;
	if (got != c.size)
		return BL_ECORRUPT;
	if (verify) {
		if ((rc = hash_sha256(buf, got, h)) != 0)
			return rc;
		if (memcmp(h, id, HASH_LEN) != 0)
			return BL_ECORRUPT;
	}
	*len = got;
	return 0;
}

int
store_cat(struct store *s, const char *name, uint32_t version, const char *path,
        int fd, int verify, char *why, size_t whylen)
{
	const struct manifest_file *f;
	struct manifest *m = NULL;
	struct hash_ctx *h = NULL;
	uint8_t sum[HASH_LEN], *buf = NULL;
	char hex[HASH_HEXLEN + 1];
	size_t len;
	uint32_t i;
	int rc;

	if ((rc = store_manifest(s, name, version, &m, why, whylen)) != 0)
		return rc;
	if ((f = manifest_find(m, path)) == NULL) {
		rc = bl_why(why, whylen, BL_ENOTFOUND,
		        "%s@%" PRIu32 " has no file '%s'", m->name, m->version,
		        path);
		goto out;
	}
	if ((buf = malloc(MANIFEST_CHUNK_LEN_MAX)) == NULL ||
	        (h = hash_new()) == NULL) {
		rc = bl_why(why, whylen, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < f->nchunks; i++) {
		rc = store_read_chunk(s, f->chunks[i].id, buf,
		        MANIFEST_CHUNK_LEN_MAX, &len, verify);
		if (rc == 0 && len != f->chunks[i].len)
			rc = BL_ECORRUPT;
		if (rc != 0) {
			hash_hex(f->chunks[i].id, 32, hex);
			rc = bl_why(why, whylen, rc, "chunk %s of %s: %s", hex,
			        path, bl_strerror(rc));
			goto out;
		}
		if ((rc = hash_update(h, buf, len)) != 0 ||
		        (rc = fs_write_all(fd, buf, len)) != 0) {
			rc = bl_why(why, whylen, rc, "writing %s: %s", path,
			        bl_strerror(rc));
			goto out;
		}
	}
	if ((rc = hash_final(h, sum)) != 0)
		goto out;
	if (memcmp(sum, f->sha256, HASH_LEN) != 0)
		rc = bl_why(why, whylen, BL_ECORRUPT,
		        "%s: whole-file SHA-256 does not match the manifest",
		        path);
out:
	hash_free(h);
	free(buf);
	manifest_free(m);
	return rc;
}

/* Sorted, distinct chunk ids of a manifest with their lengths. */
struct idlen {
	uint8_t id[32];
	uint32_t len;
};

static int
idlen_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int
unique_chunks(const struct manifest *m, struct idlen **out, size_t *n)
{
	struct idlen *v;
	size_t total = 0, k = 0, i, j;
	uint32_t f, c;

	for (f = 0; f < m->nfiles; f++)
		total += m->files[f].nchunks;
	if ((v = malloc((total ? total : 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	for (f = 0; f < m->nfiles; f++)
		for (c = 0; c < m->files[f].nchunks; c++) {
			memcpy(v[k].id, m->files[f].chunks[c].id, 32);
			v[k++].len = m->files[f].chunks[c].len;
		}
	qsort(v, total, sizeof(*v), idlen_cmp);
	for (i = 0, j = 0; i < total; i++)
		if (j == 0 || memcmp(v[j - 1].id, v[i].id, 32) != 0)
			v[j++] = v[i];
	*out = v;
	*n = j;
	return 0;
}

int
store_put_image(struct store *s, MDB_txn *txn, const char *name,
        uint32_t version, const uint8_t *raw, size_t len,
        const struct index_image *img)
{
	uint8_t key[MANIFEST_NAME_MAX + 8], ival[56];
	MDB_val k, d;
	size_t klen;
	int rc;

	k.mv_size = 32;
	k.mv_data = (void *)img->manifest_id;
	d.mv_size = len;
	d.mv_data = (void *)raw;
	if ((rc = mdb_put(txn, s->ix.manifests, &k, &d, 0)) != 0)
		return rc;
	index_image_encode(img, ival);
	if ((rc = index_image_key(name, version, key, sizeof(key), &klen)) != 0)
		return rc;
	k.mv_size = klen;
	k.mv_data = key;
	d.mv_size = sizeof(ival);
	d.mv_data = ival;
	return mdb_put(txn, s->ix.images, &k, &d, 0);
}

int
store_unique_chunks(const struct manifest *m, uint8_t (**ids)[32],
        uint32_t **lens, size_t *n)
{
	struct idlen *v;
	size_t i;
	int rc;

	if ((rc = unique_chunks(m, &v, n)) != 0)
		return rc;
	*ids = malloc((*n ? *n : 1) * 32);
	*lens = malloc((*n ? *n : 1) * sizeof(uint32_t));
	if (*ids == NULL || *lens == NULL) {
		free(*ids);
		free(*lens);
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < *n; i++) {
		memcpy((*ids)[i], v[i].id, 32);
		(*lens)[i] = v[i].len;
	}
	free(v);
	return 0;
}

int
store_unique_ids(const struct manifest *m, uint8_t (**ids)[32], size_t *n)
{
	struct idlen *v;
	size_t i;
	int rc;

	if ((rc = unique_chunks(m, &v, n)) != 0)
		return rc;
	/* Compact in place: 36-byte records to 32-byte ids. */
	for (i = 0; i < *n; i++)
		memmove((uint8_t *)v + 32 * i, v[i].id, 32);
	*ids = (uint8_t(*)[32])v;
	return 0;
}

int
store_diff(const struct manifest *a, const struct manifest *b,
        struct store_diff *d)
{
	struct idlen *va, *vb;
	size_t na, nb, i = 0, j = 0;
	int c, rc;

	memset(d, 0, sizeof(*d));
	if ((rc = unique_chunks(a, &va, &na)) != 0)
		return rc;
	if ((rc = unique_chunks(b, &vb, &nb)) != 0) {
		free(va);
		return rc;
	}
	d->a_chunks = na;
	d->b_chunks = nb;
	for (j = 0; j < nb; j++)
		d->b_bytes += vb[j].len;
	j = 0;
	while (i < na || j < nb) {
		c = i == na ? 1 : j == nb ? -1 : memcmp(va[i].id, vb[j].id, 32);
		if (c == 0) {
			d->shared_chunks++;
			d->shared_bytes += vb[j].len;
			i++;
			j++;
		} else if (c < 0) {
			d->gone_chunks++;
			d->gone_bytes += va[i++].len;
		} else {
			d->new_chunks++;
			d->new_bytes += vb[j++].len;
		}
	}
	free(va);
	free(vb);
	return 0;
}

/* The remove transaction: drop versions and their references. */
struct remove_ctx {
	struct store *s;
	struct store_version *v;
	size_t n;
	char *why;
	size_t whylen;
};

static int
remove_one(struct store *s, MDB_txn *txn, const struct store_version *v,
        char *why, size_t whylen)
{
	struct manifest *m = NULL;
	struct index_chunk c;
	uint8_t key[MANIFEST_NAME_MAX + 8], (*ids)[32] = NULL;
	MDB_val k = {32, (void *)v->im.manifest_id}, d;
	size_t klen, n, i;
	int rc;

	if ((rc = mdb_get(txn, s->ix.manifests, &k, &d)) != 0)
		return rc;
	if ((rc = manifest_decode(d.mv_data, d.mv_size, &m, why, whylen)) != 0)
		return rc;
	if ((rc = store_unique_ids(m, &ids, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = index_chunk_get(&s->ix, txn, ids[i], &c)) != 0) {
			if (rc == MDB_NOTFOUND) {
				log_warnx("remove %s@%" PRIu32
				          ": a chunk was already missing",
				        v->name, v->version);
				continue;
			}
			goto out;
		}
		if (c.refs > 0)
			c.refs--;
		if ((rc = index_chunk_put(&s->ix, txn, ids[i], &c)) != 0)
			goto out;
	}
	if ((rc = mdb_del(txn, s->ix.manifests, &k, NULL)) != 0)
		goto out;
	index_image_key(v->name, v->version, key, sizeof(key), &klen);
	k.mv_size = klen;
	k.mv_data = key;
	rc = mdb_del(txn, s->ix.images, &k, NULL);
out:
	free(ids);
	manifest_free(m);
	return rc;
}

static int
remove_txn(MDB_txn *txn, void *arg)
{
	struct remove_ctx *rc = arg;
	size_t i;
	int r;

	for (i = 0; i < rc->n; i++)
		if ((r = remove_one(
		             rc->s, txn, &rc->v[i], rc->why, rc->whylen)) != 0)
			return r;
	return 0;
}

int
store_remove(struct store *s, const char *name, uint32_t version, char *why,
        size_t whylen)
{
	struct remove_ctx ctx = {s, NULL, 0, why, whylen};
	struct store_version *all;
	size_t n, i;
	int rc;

	if ((rc = store_list(s, name, &all, &n)) != 0)
		return bl_why(why, whylen, rc, "index: %s", bl_strerror(rc));
	for (i = 0; i < n; i++)
		if (version == 0 || all[i].version == version)
			all[ctx.n++] = all[i];
	if (ctx.n == 0) {
		free(all);
		if (version)
			return bl_why(why, whylen, BL_ENOTFOUND,
			        "no image %s@%" PRIu32, name, version);
		return bl_why(why, whylen, BL_ENOTFOUND, "no image %s", name);
	}
	ctx.v = all;
	rc = index_write(&s->ix, remove_txn, &ctx);
	free(all);
	if (rc != 0 && why != NULL && why[0] == '\0')
		bl_why(why, whylen, rc, "removing %s: %s", name,
		        bl_strerror(rc));
	return rc;
}

int
store_usage(struct store *s, struct store_usage *u)
{
	struct index_chunk c;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_txn *txn;
	MDB_stat ms;
	const uint8_t *p;
	int rc;

	memset(u, 0, sizeof(*u));
	if ((rc = index_read_begin(&s->ix, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->ix.chunks, &cur)) != 0)
		goto out;
	while ((rc = mdb_cursor_get(
	                cur, &k, &d, u->chunks ? MDB_NEXT : MDB_FIRST)) == 0) {
		if (d.mv_size != 16) {
			rc = MDB_CORRUPTED;
			break;
		}
		p = d.mv_data;
		c.size = be32_get(p);
		c.stored = be32_get(p + 4);
		c.refs = be32_get(p + 8);
		u->chunks++;
		u->bytes += c.size;
		u->stored_bytes += c.stored;
		if (c.refs == 0)
			u->garbage_chunks++;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		goto out;
	if ((rc = mdb_stat(txn, s->ix.images, &ms)) != 0)
		goto out;
	u->versions = ms.ms_entries;
	rc = 0;
out:
	mdb_txn_abort(txn);
	if (rc == 0) {
		struct store_version *v;
		size_t n, i;

		if ((rc = store_list(s, NULL, &v, &n)) != 0)
			return rc;
		for (i = 0; i < n; i++)
			if (i == 0 || strcmp(v[i].name, v[i - 1].name) != 0)
				u->images++;
		free(v);
		return 0;
	}
	return index_err(rc);
}

/*
 * Import sessions.  Each import holds an exclusive flock on
 * tmp/lock-<session> for its lifetime; a session whose lock can be taken
 * belongs to a process that died, and its pins and temp files are reaped.
 */
struct session_ctx {
	struct store *s;
	uint64_t id;
	int fd;
};

static void
lock_path(const struct store *s, uint64_t id, char *out, size_t cap)
{
	snprintf(out, cap, "%s/tmp/lock-%016" PRIx64, s->dir, id);
}

static int
session_begin_txn(MDB_txn *txn, void *arg)
{
	struct session_ctx *sc = arg;
	uint8_t key[8], val[12];
	MDB_val k = {8, key}, d = {12, val};
	char path[PATH_MAX];
	uint64_t next = 1;
	int rc;

	rc = index_meta_get_u64(&sc->s->ix, txn, "next_session", &next);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	sc->id = next;
	if ((rc = index_meta_put_u64(
	             &sc->s->ix, txn, "next_session", next + 1)) != 0)
		return rc;
	if (sc->fd < 0) {
		lock_path(sc->s, sc->id, path, sizeof(path));
		sc->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (sc->fd < 0)
			return -errno;
		if (flock(sc->fd, LOCK_EX | LOCK_NB) < 0) {
			rc = -errno;
			close(sc->fd);
			sc->fd = -1;
			return rc;
		}
	}
	be64_put(key, sc->id);
	be32_put(val, (uint32_t)getpid());
	be64_put(val + 4, (uint64_t)time(NULL));
	return mdb_put(txn, sc->s->ix.sessions, &k, &d, 0);
}

int
store_session_begin(struct store *s, uint64_t *session, int *lockfd)
{
	struct session_ctx sc = {s, 0, -1};
	char path[PATH_MAX];
	int rc;

	rc = index_write(&s->ix, session_begin_txn, &sc);
	if (rc != 0) {
		if (sc.fd >= 0) {
			lock_path(s, sc.id, path, sizeof(path));
			unlink(path);
			close(sc.fd);
		}
		return rc;
	}
	*session = sc.id;
	*lockfd = sc.fd;
	return 0;
}

/* Drop every pin of session and its record. */
static int
session_drop(struct store *s, MDB_txn *txn, uint64_t id)
{
	uint8_t key[8];
	MDB_val k, d;
	MDB_cursor *cur;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->ix.pins, &cur)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		if (k.mv_size == 40 &&
		        be64_get((const uint8_t *)k.mv_data + 32) == id &&
		        (rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND && rc != 0)
		return rc;
	be64_put(key, id);
	k.mv_size = 8;
	k.mv_data = key;
	rc = mdb_del(txn, s->ix.sessions, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
session_end_txn(MDB_txn *txn, void *arg)
{
	struct session_ctx *sc = arg;

	return session_drop(sc->s, txn, sc->id);
}

void
store_session_end(struct store *s, uint64_t session, int lockfd)
{
	struct session_ctx sc = {s, session, lockfd};
	char path[PATH_MAX];
	int rc;

	if ((rc = index_write(&s->ix, session_end_txn, &sc)) != 0)
		log_warnx("ending import session %" PRIu64
		          ": %s (gc will reap it)",
		        session, bl_strerror(rc));
	chunkstore_clean_tmp(s->cs, session);
	lock_path(s, session, path, sizeof(path));
	unlink(path);
	if (lockfd >= 0)
		close(lockfd);
}

struct reap_ctx {
	struct store *s;
	uint64_t dead[64]; /* sessions reaped by the last transaction */
	size_t ndead;
	uint64_t live;
};

static int
reap_txn(MDB_txn *txn, void *arg)
{
	struct reap_ctx *rc = arg;
	size_t ndead = 0, i;
	char path[PATH_MAX];
	MDB_cursor *cur;
	MDB_val k, d;
	int r, fd;

	rc->ndead = rc->live = 0;
	if ((r = mdb_cursor_open(txn, rc->s->ix.sessions, &cur)) != 0)
		return r;
	while (ndead < 64 && (r = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		uint64_t id;

		if (k.mv_size != 8)
			continue;
		id = be64_get(k.mv_data);
		lock_path(rc->s, id, path, sizeof(path));
		/*
		 * Dead only when the lock file is gone or its lock can be
		 * taken; any other failure (EACCES, EMFILE) counts as alive.
		 */
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT) {
			rc->live++;
			continue;
		}
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd); /* held: the import is alive */
			rc->live++;
			continue;
		}
		if (fd >= 0)
			close(fd);
		rc->dead[ndead++] = id;
	}
	mdb_cursor_close(cur);
	if (r != 0 && r != MDB_NOTFOUND)
		return r;
	for (i = 0; i < ndead; i++)
		if ((r = session_drop(rc->s, txn, rc->dead[i])) != 0)
			return r;
	rc->ndead = ndead;
	return 0;
}

int
store_reap_sessions(struct store *s, uint64_t *reaped)
{
	struct reap_ctx ctx;
	char path[PATH_MAX];
	uint64_t total = 0;
	size_t i;
	int rc, round;

	/* Bounded: at most 64 sessions per transaction, 1024 rounds. */
	for (round = 0; round < 1024; round++) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.s = s;
		if ((rc = index_write(&s->ix, reap_txn, &ctx)) != 0)
			return rc;
		/* Committed: now remove what the dead sessions left. */
		for (i = 0; i < ctx.ndead; i++) {
			chunkstore_clean_tmp(s->cs, ctx.dead[i]);
			lock_path(s, ctx.dead[i], path, sizeof(path));
			unlink(path);
			log_info("reaped import session %" PRIu64
			         " of a process that exited",
			        ctx.dead[i]);
		}
		total += ctx.ndead;
		if (ctx.ndead < 64)
			break;
	}
	*reaped = total;
	return 0;
}

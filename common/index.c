/*
 * index.c - the store's LMDB index: databases, map growth, record codecs.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "index.h"
#include "log.h"

#define INDEX_MAXDBS     8
#define INDEX_MAXREADERS 254
#define INDEX_RETRIES    32 /* bound on grow-and-retry rounds */

/*
 * LMDB returns errno values (positive) or its own codes in
 * [MDB_KEYEXIST, MDB_LAST_ERRCODE]; anything else is already ours.
 */
int
index_err(int rc)
{
	if (rc == 0)
		return 0;
	if (rc < 0 && (rc < MDB_KEYEXIST || rc > MDB_LAST_ERRCODE))
		return rc;
	if (rc > 0 && rc < 4096) /* LMDB passes errno values through */
		return -rc;
	if (rc == MDB_MAP_FULL)
		return BL_EMAPFULL;
	if (rc == MDB_NOTFOUND)
		return BL_ENOTFOUND;
	if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID)
		return BL_ECORRUPT;
	return BL_ELMDB;
}

static size_t
round_page(size_t v)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t p = pg > 0 ? (size_t)pg : 4096;

	return (v + p - 1) / p * p;
}

int
index_open(struct index *ix, const char *dir, size_t map_size, size_t map_max,
        char *why, size_t whylen)
{
	static const struct {
		const char *name;
		size_t off;
		unsigned int flags;
	} dbs[] = {
	        {"chunks", offsetof(struct index, chunks), 0},
	        {"zero", offsetof(struct index, zero), 0},
	        {"pins", offsetof(struct index, pins), 0},
	        {"sessions", offsetof(struct index, sessions), 0},
	        {"manifests", offsetof(struct index, manifests), 0},
	        {"images", offsetof(struct index, images), 0},
	        {"meta", offsetof(struct index, meta), 0},
	};
	MDB_envinfo info;
	MDB_txn *txn;
	size_t i;
	int rc;

	memset(ix, 0, sizeof(*ix));
	ix->map_max = map_max;
	if ((rc = mdb_env_create(&ix->env)) != 0)
		return bl_why(why, whylen, index_err(rc), "mdb_env_create: %s",
		        mdb_strerror(rc));
	mdb_env_set_maxdbs(ix->env, INDEX_MAXDBS);
	mdb_env_set_maxreaders(ix->env, INDEX_MAXREADERS);
	if ((rc = mdb_env_set_mapsize(ix->env, round_page(map_size))) != 0)
		goto fail;
	if ((rc = mdb_env_open(ix->env, dir, MDB_NOTLS, 0600)) != 0)
		goto fail;
	/* Another process may have grown the map: adopt its size. */
	if ((rc = mdb_env_set_mapsize(ix->env, 0)) != 0)
		goto fail;
	mdb_env_info(ix->env, &info);
	ix->map_size = info.me_mapsize;

	if ((rc = mdb_txn_begin(ix->env, NULL, 0, &txn)) != 0)
		goto fail;
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		MDB_dbi *d = (MDB_dbi *)((char *)ix + dbs[i].off);

		rc = mdb_dbi_open(
		        txn, dbs[i].name, MDB_CREATE | dbs[i].flags, d);
		if (rc != 0) {
			mdb_txn_abort(txn);
			goto fail;
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	mdb_env_close(ix->env);
	ix->env = NULL;
	return bl_why(why, whylen, index_err(rc), "index %s: %s", dir,
	        mdb_strerror(rc));
}

void
index_close(struct index *ix)
{
	if (ix->env != NULL)
		mdb_env_close(ix->env);
	ix->env = NULL;
}

/* Grow the map (no transaction of ours may be active). */
static int
index_grow(struct index *ix)
{
	MDB_envinfo info;
	size_t want, cur;
	int rc;

	/*
	 * Start from the larger of our size and the one on disk, which
	 * another process may have grown (set_mapsize(0) adopts the size
	 * of the last commit, which may be below our uncommitted growth).
	 */
	if ((rc = mdb_env_set_mapsize(ix->env, 0)) != 0)
		return index_err(rc);
	mdb_env_info(ix->env, &info);
	cur = info.me_mapsize > ix->map_size ? info.me_mapsize : ix->map_size;
	want = cur * 2;
	if (ix->map_max != 0 && want > ix->map_max) {
		if (cur >= ix->map_max)
			return BL_EMAPFULL;
		want = ix->map_max;
	}
	want = round_page(want);
	if ((rc = mdb_env_set_mapsize(ix->env, want)) != 0)
		return index_err(rc);
	log_debug("index map grown from %zu to %zu bytes", cur, want);
	ix->map_size = want;
	return 0;
}

int
index_write(struct index *ix, int (*fn)(MDB_txn *, void *), void *arg)
{
	MDB_txn *txn;
	int attempt, rc;

	for (attempt = 0; attempt < INDEX_RETRIES; attempt++) {
		rc = mdb_txn_begin(ix->env, NULL, 0, &txn);
		if (rc == MDB_MAP_RESIZED) {
			if ((rc = mdb_env_set_mapsize(ix->env, 0)) != 0)
				return index_err(rc);
			continue;
		}
		if (rc != 0)
			return index_err(rc);
		rc = fn(txn, arg);
		if (rc != 0) {
			mdb_txn_abort(txn);
			if (rc != MDB_MAP_FULL && rc != BL_EMAPFULL)
				return index_err(rc);
		} else if ((rc = mdb_txn_commit(txn)) == 0) {
			return 0;
		} else if (rc != MDB_MAP_FULL) {
			return index_err(rc);
		}
		if ((rc = index_grow(ix)) != 0)
			return rc;
	}
	return BL_EMAPFULL;
}

int
index_read_begin(struct index *ix, MDB_txn **txn)
{
	int rc, attempt;

	for (attempt = 0; attempt < INDEX_RETRIES; attempt++) {
		rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, txn);
		if (rc != MDB_MAP_RESIZED)
			return index_err(rc);
		if ((rc = mdb_env_set_mapsize(ix->env, 0)) != 0)
			return index_err(rc);
	}
	return BL_ELMDB;
}

static void
chunk_encode(const struct index_chunk *c, uint8_t out[16])
{
	be32_put(out, c->size);
	be32_put(out + 4, c->stored);
	be32_put(out + 8, c->refs);
	out[12] = c->flags;
	out[13] = out[14] = out[15] = 0;
}

int
index_chunk_get(struct index *ix, MDB_txn *txn, const uint8_t id[32],
        struct index_chunk *out)
{
	MDB_val k = {32, (void *)id}, v;
	const uint8_t *p;
	int rc;

	if ((rc = mdb_get(txn, ix->chunks, &k, &v)) != 0)
		return rc;
	if (v.mv_size != 16)
		return MDB_CORRUPTED;
	p = v.mv_data;
	out->size = be32_get(p);
	out->stored = be32_get(p + 4);
	out->refs = be32_get(p + 8);
	out->flags = p[12];
	return 0;
}

int
index_chunk_put(struct index *ix, MDB_txn *txn, const uint8_t id[32],
        const struct index_chunk *c)
{
	uint8_t buf[16];
	MDB_val k = {32, (void *)id}, v = {16, buf}, e = {0, NULL};
	int rc;

	chunk_encode(c, buf);
	if ((rc = mdb_put(txn, ix->chunks, &k, &v, 0)) != 0)
		return rc;
	if (c->refs == 0)
		return mdb_put(txn, ix->zero, &k, &e, 0);
	rc = mdb_del(txn, ix->zero, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
index_chunk_del(struct index *ix, MDB_txn *txn, const uint8_t id[32])
{
	MDB_val k = {32, (void *)id};
	int rc;

	rc = mdb_del(txn, ix->chunks, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	rc = mdb_del(txn, ix->zero, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static void
pin_key(const uint8_t id[32], uint64_t session, uint8_t key[40])
{
	memcpy(key, id, 32);
	be64_put(key + 32, session);
}

int
index_pin(
        struct index *ix, MDB_txn *txn, const uint8_t id[32], uint64_t session)
{
	uint8_t key[40];
	MDB_val k = {40, key}, e = {0, NULL};

	pin_key(id, session, key);
	return mdb_put(txn, ix->pins, &k, &e, 0);
}

int
index_unpin(
        struct index *ix, MDB_txn *txn, const uint8_t id[32], uint64_t session)
{
	uint8_t key[40];
	MDB_val k = {40, key};
	int rc;

	pin_key(id, session, key);
	rc = mdb_del(txn, ix->pins, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* 1 if some session pins id, 0 if none, negative on error. */
int
index_pinned(struct index *ix, MDB_txn *txn, const uint8_t id[32])
{
	uint8_t key[40];
	MDB_val k = {40, key}, v;
	MDB_cursor *cur;
	int rc, found;

	pin_key(id, 0, key);
	if ((rc = mdb_cursor_open(txn, ix->pins, &cur)) != 0)
		return index_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	found = rc == 0 && k.mv_size == 40 && memcmp(k.mv_data, id, 32) == 0;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return index_err(rc);
	return found;
}

int
index_image_key(const char *name, uint32_t version, uint8_t *key, size_t cap,
        size_t *keylen)
{
	size_t n = strlen(name);

	if (n + 5 > cap)
		return BL_ETOOBIG;
	memcpy(key, name, n);
	key[n] = 0;
	be32_put(key + n + 1, version);
	*keylen = n + 5;
	return 0;
}

void
index_image_encode(const struct index_image *im, uint8_t out[56])
{
	memcpy(out, im->manifest_id, 32);
	be64_put(out + 32, im->created);
	be64_put(out + 40, im->size);
	be32_put(out + 48, im->nfiles);
	be32_put(out + 52, im->nchunks);
}

int
index_image_decode(const void *p, size_t len, struct index_image *im)
{
	const uint8_t *b = p;

	if (len != 56)
		return BL_ECORRUPT;
	memcpy(im->manifest_id, b, 32);
	im->created = be64_get(b + 32);
	im->size = be64_get(b + 40);
	im->nfiles = be32_get(b + 48);
	im->nchunks = be32_get(b + 52);
	return 0;
}

int
index_meta_get_u64(struct index *ix, MDB_txn *txn, const char *key, uint64_t *v)
{
	MDB_val k = {strlen(key), (void *)key}, d;
	int rc;

	if ((rc = mdb_get(txn, ix->meta, &k, &d)) != 0)
		return rc;
	if (d.mv_size != 8)
		return MDB_CORRUPTED;
	*v = be64_get(d.mv_data);
	return 0;
}

int
index_meta_put_u64(struct index *ix, MDB_txn *txn, const char *key, uint64_t v)
{
	uint8_t buf[8];
	MDB_val k = {strlen(key), (void *)key}, d = {8, buf};

	be64_put(buf, v);
	return mdb_put(txn, ix->meta, &k, &d, 0);
}

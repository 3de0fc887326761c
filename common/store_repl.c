/*
 * store_repl.c - filling a store from a replication source: checking,
 * ingesting and pinning chunks, then publishing a manifest made elsewhere.
 *
 * The durability rule is the import's: chunk files are renamed into place
 * and made durable together (syncfs) before the transaction that names
 * them commits, so the index never points at a chunk the disk may lack.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "error.h"
#include "hash.h"
#include "log.h"
#include "store.h"

int
store_chunk_check(struct store *s, const struct store_incoming *c, char *why,
        size_t whylen)
{
	const uint8_t *p = c->data;
	uint8_t h[HASH_LEN];
	char hex[HASH_HEXLEN + 1];
	size_t n = c->len;
	int rc;

	hash_hex(c->id, 32, hex);
	if (c->size > MANIFEST_CHUNK_LEN_MAX || c->len > MANIFEST_CHUNK_LEN_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "chunk %s: %" PRIu32 " bytes is over the limit", hex,
		        c->size);
	if (c->zstd) {
		if (s->zbuf == NULL &&
		        (s->zbuf = malloc(MANIFEST_CHUNK_LEN_MAX)) == NULL)
			return -ENOMEM;
		if (s->zd == NULL && (s->zd = ZSTD_createDCtx()) == NULL)
			return -ENOMEM;
		n = ZSTD_decompressDCtx(
		        s->zd, s->zbuf, MANIFEST_CHUNK_LEN_MAX, c->data, c->len);
		if (ZSTD_isError(n))
			return bl_why(why, whylen, BL_ECORRUPT,
			        "chunk %s: bad zstd frame (%s)", hex,
			        ZSTD_getErrorName(n));
		p = s->zbuf;
	}
	if (n != c->size)
		return bl_why(why, whylen, BL_ECORRUPT,
		        "chunk %s: %zu bytes, the frame said %" PRIu32, hex, n,
		        c->size);
	if ((rc = hash_sha256(p, n, h)) != 0)
		return bl_why(why, whylen, rc, "hashing chunk %s", hex);
	if (memcmp(h, c->id, HASH_LEN) != 0)
		return bl_why(why, whylen, BL_ECORRUPT,
		        "chunk %s: content does not match its id", hex);
	return 0;
}

int
store_missing(struct store *s, const uint8_t (*ids)[32], size_t n,
        uint8_t *want, size_t *nwant)
{
	struct index_chunk c;
	MDB_txn *txn;
	size_t i, k = 0;
	int rc = 0;

	if ((rc = index_read_begin(&s->ix, &txn)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		rc = index_chunk_get(&s->ix, txn, ids[i], &c);
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		want[i] = rc == MDB_NOTFOUND;
		k += want[i];
		rc = 0;
	}
	mdb_txn_abort(txn);
	*nwant = k;
	return rc ? index_err(rc) : 0;
}

struct ingest_ctx {
	struct store *s;
	const struct store_incoming *c;
	const uint8_t *put; /* put[i]: file written by this call */
	size_t n;
};

static int
ingest_txn(MDB_txn *txn, void *arg)
{
	struct ingest_ctx *ic = arg;
	struct index_chunk rec;
	size_t i;
	int rc;

	for (i = 0; i < ic->n; i++) {
		if (!ic->put[i])
			continue;
		rc = index_chunk_get(&ic->s->ix, txn, ic->c[i].id, &rec);
		if (rc == 0)
			continue; /* someone else indexed it meanwhile */
		if (rc != MDB_NOTFOUND)
			return rc;
		memset(&rec, 0, sizeof(rec));
		rec.size = ic->c[i].size;
		rec.stored = (uint32_t)ic->c[i].len;
		rec.flags = ic->c[i].zstd ? INDEX_CHUNK_ZSTD : 0;
		if ((rc = index_chunk_put(&ic->s->ix, txn, ic->c[i].id,
		             &rec)) != 0 ||
		        (rc = index_pin(&ic->s->ix, txn, ic->c[i].id,
		                 STORE_SESSION_REPL)) != 0)
			return rc;
	}
	return 0;
}

int
store_ingest(struct store *s, const struct store_incoming *c, size_t n,
        char *why, size_t whylen)
{
	struct ingest_ctx ic = {s, c, NULL, n};
	uint8_t *put, *want;
	uint8_t (*ids)[32];
	size_t i, nwant;
	int rc;

	if (n == 0)
		return 0;
	put = calloc(n, 1);
	want = calloc(n, 1);
	ids = calloc(n, 32);
	if (put == NULL || want == NULL || ids == NULL) {
		rc = bl_why(why, whylen, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		memcpy(ids[i], c[i].id, 32);
	if ((rc = store_missing(s, (const uint8_t(*)[32])ids, n, want,
	             &nwant)) != 0) {
		bl_why(why, whylen, rc, "index: %s", bl_strerror(rc));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!want[i])
			continue;
		if ((rc = chunkstore_put(s->cs, c[i].id, c[i].data,
		             c[i].len)) != 0) {
			bl_why(why, whylen, rc, "writing chunk: %s",
			        bl_strerror(rc));
			goto out;
		}
		put[i] = 1;
	}
	if (nwant == 0)
		goto out;
	if ((rc = chunkstore_sync(s->cs)) != 0) {
		bl_why(why, whylen, rc, "syncing chunks: %s", bl_strerror(rc));
		goto out;
	}
	ic.put = put;
	if ((rc = index_write(&s->ix, ingest_txn, &ic)) != 0)
		bl_why(why, whylen, rc, "indexing chunks: %s", bl_strerror(rc));
out:
	/*
	 * Files of a failed call are orphans (the index never named them):
	 * gc's sweep removes them.  On a full disk remove them now, so the
	 * caller can still write its status and the space is there when it
	 * tries again.
	 */
	if ((rc == -ENOSPC || rc == -EDQUOT) && put != NULL)
		for (i = 0; i < n; i++)
			if (put[i])
				(void)chunkstore_del(s->cs, c[i].id);
	free(put);
	free(want);
	free(ids);
	return rc;
}

struct publish_ctx {
	struct store *s;
	const char *name;
	uint32_t version;
	const uint8_t *raw;
	size_t len;
	uint8_t mid[32];
	uint8_t (*ids)[32];
	size_t nids;
	struct index_image img;
	char why[256];
};

static int
publish_txn(MDB_txn *txn, void *arg)
{
	struct publish_ctx *pc = arg;
	struct store *s = pc->s;
	struct index_chunk c;
	struct index_image old;
	uint8_t key[MANIFEST_NAME_MAX + 8];
	char meta[MANIFEST_NAME_MAX + 8], hex[HASH_HEXLEN + 1];
	MDB_val k, d;
	uint64_t next = 1;
	size_t i, klen;
	int rc;

	index_image_key(pc->name, pc->version, key, sizeof(key), &klen);
	k.mv_size = klen;
	k.mv_data = key;
	rc = mdb_get(txn, s->ix.images, &k, &d);
	if (rc == 0) {
		if (index_image_decode(d.mv_data, d.mv_size, &old) == 0 &&
		        memcmp(old.manifest_id, pc->mid, 32) == 0)
			return BL_EABORT; /* already published: nothing to do */
		snprintf(pc->why, sizeof(pc->why),
		        "%s@%" PRIu32 " exists with another manifest", pc->name,
		        pc->version);
		return -EEXIST;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	for (i = 0; i < pc->nids; i++) {
		rc = index_chunk_get(&s->ix, txn, pc->ids[i], &c);
		if (rc == MDB_NOTFOUND) {
			hash_hex(pc->ids[i], 32, hex);
			snprintf(pc->why, sizeof(pc->why),
			        "chunk %s is not in the store", hex);
			return BL_EMISSING;
		}
		if (rc != 0)
			return rc;
		c.refs++;
		if ((rc = index_chunk_put(&s->ix, txn, pc->ids[i], &c)) != 0 ||
		        (rc = index_unpin(&s->ix, txn, pc->ids[i],
		                 STORE_SESSION_REPL)) != 0)
			return rc;
	}
	if ((rc = store_put_image(s, txn, pc->name, pc->version, pc->raw,
	             pc->len, &pc->img)) != 0)
		return rc;
	snprintf(meta, sizeof(meta), "next:%s", pc->name);
	rc = index_meta_get_u64(&s->ix, txn, meta, &next);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (next <= pc->version)
		return index_meta_put_u64(
		        &s->ix, txn, meta, (uint64_t)pc->version + 1);
	return 0;
}

int
store_publish(struct store *s, const char *name, uint32_t version,
        const uint8_t *raw, size_t len, char *why, size_t whylen)
{
	struct publish_ctx pc;
	struct manifest *m = NULL;
	uint32_t f;
	int rc;

	memset(&pc, 0, sizeof(pc));
	if (!s->have_pub)
		return bl_why(why, whylen, BL_ESIG,
		        "the store has no public key to check manifests with");
	if ((rc = manifest_verify(raw, len, s->pub, why, whylen)) != 0)
		return rc;
	if ((rc = manifest_decode(raw, len, &m, why, whylen)) != 0)
		return rc;
	if (strcmp(m->name, name) != 0 || m->version != version) {
		rc = bl_why(why, whylen, BL_EFORMAT,
		        "manifest is %s@%" PRIu32 ", expected %s@%" PRIu32,
		        m->name, m->version, name, version);
		goto out;
	}
	pc.s = s;
	pc.name = name;
	pc.version = version;
	pc.raw = raw;
	pc.len = len;
	(void)manifest_id(raw, len, pc.mid);
	memcpy(pc.img.manifest_id, pc.mid, 32);
	pc.img.created = m->created;
	pc.img.nfiles = m->nfiles;
	for (f = 0; f < m->nfiles; f++) {
		pc.img.size += m->files[f].size;
		pc.img.nchunks += m->files[f].nchunks;
	}
	if ((rc = store_unique_ids(m, &pc.ids, &pc.nids)) != 0) {
		bl_why(why, whylen, rc, "out of memory");
		goto out;
	}
	rc = index_write(&s->ix, publish_txn, &pc);
	if (rc == BL_EABORT)
		rc = 0;
	else if (rc != 0)
		bl_why(why, whylen, rc, "publishing %s@%" PRIu32 ": %s", name,
		        version, pc.why[0] ? pc.why : bl_strerror(rc));
	else if (mdb_env_sync(s->ix.env, 1) != 0)
		log_warnx("syncing index after %s@%" PRIu32, name, version);
out:
	free(pc.ids);
	manifest_free(m);
	return rc;
}

static int
release_txn(MDB_txn *txn, void *arg)
{
	struct store *s = arg;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->ix.pins, &cur)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		if (k.mv_size == 40 &&
		        be64_get((const uint8_t *)k.mv_data + 32) ==
		                STORE_SESSION_REPL &&
		        (rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
store_repl_release(struct store *s)
{
	return index_write(&s->ix, release_txn, s);
}

/*
 * store_gc.c - garbage collection and verification.
 *
 * gc runs beside imports.  Every decision to drop a chunk is taken inside
 * an LMDB write transaction, which no import can hold at the same time,
 * and imports pin every chunk they use in their own write transactions;
 * so a chunk gc sees unreferenced and unpinned is needed by nobody.  The
 * file is unlinked before the transaction that forgets it commits, so no
 * import can have written a fresh copy in between.  Orphan files (renamed
 * into place by an import that died before its commit) are swept only
 * while no import session exists at all.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "error.h"
#include "hash.h"
#include "log.h"
#include "store.h"

#define GC_BATCH     4096 /* chunks dropped per transaction */
#define VERIFY_BATCH 1024 /* chunks checked per read transaction */

struct sweep_ctx {
	struct store *s;
	uint8_t last[32]; /* resume point in the zero list */
	int have_last;
	uint8_t start[32]; /* where this transaction started */
	int have_start;
	int done;
	uint64_t removed, freed;
	uint64_t r_removed, r_freed; /* this transaction's (may rerun) */
	uint8_t (*gone)[32];
};

static int
sweep_txn(MDB_txn *txn, void *arg)
{
	struct sweep_ctx *sc = arg;
	struct store *s = sc->s;
	struct index_chunk c;
	MDB_cursor *cur;
	MDB_val k, d;
	size_t n = 0;
	int rc, op;
	uint8_t id[32];

	/* A re-run after the map grew starts where this run started. */
	sc->r_removed = sc->r_freed = 0;
	memcpy(sc->last, sc->start, 32);
	sc->have_last = sc->have_start;
	if ((rc = mdb_cursor_open(txn, s->ix.zero, &cur)) != 0)
		return rc;
	if (sc->have_last) {
		k.mv_size = 32;
		k.mv_data = sc->last;
		op = MDB_SET_RANGE;
	} else
		op = MDB_FIRST;
	while (n < GC_BATCH && (rc = mdb_cursor_get(cur, &k, &d, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != 32)
			continue;
		memcpy(id, k.mv_data, 32);
		memcpy(sc->last, id, 32);
		sc->have_last = 1;
		if ((rc = index_pinned(&s->ix, txn, id)) < 0)
			break;
		if (rc == 1)
			continue; /* an import in flight needs it */
		memset(&c, 0, sizeof(c));
		if ((rc = index_chunk_get(&s->ix, txn, id, &c)) != 0 &&
		        rc != MDB_NOTFOUND)
			break;
		if (rc == 0 && c.refs != 0)
			continue; /* stale zero entry: referenced again */
		if ((rc = chunkstore_del(s->cs, id)) != 0) {
			char hex[HASH_HEXLEN + 1];

			/* Keep the entry; one stuck file must not stop gc. */
			hash_hex(id, 32, hex);
			log_warnx("gc: cannot remove chunk %s: %s", hex,
			        bl_strerror(rc));
			continue;
		}
		sc->r_freed += c.stored;
		if ((rc = index_chunk_del(&s->ix, txn, id)) != 0)
			break;
		sc->r_removed++;
		n++;
		/* The zero entry is gone: re-position after it. */
		k.mv_size = 32;
		k.mv_data = sc->last;
		op = MDB_SET_RANGE;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		sc->done = 1;
		return 0;
	}
	if (rc != 0)
		return rc;
	sc->done = n < GC_BATCH;
	return 0;
}

struct orphan_ctx {
	struct store *s;
	MDB_txn *txn;
	unsigned int bucket;
	uint64_t removed;
	int stopped; /* an import started: sweep no further */
};

static int
orphan_check(const uint8_t id[32], void *arg)
{
	struct orphan_ctx *oc = arg;
	struct index_chunk c;
	int rc;

	rc = index_chunk_get(&oc->s->ix, oc->txn, id, &c);
	if (rc == 0)
		return 0;
	if (rc != MDB_NOTFOUND)
		return index_err(rc);
	if ((rc = chunkstore_del(oc->s->cs, id)) == 0)
		oc->removed++;
	return rc;
}

static int
orphan_txn(MDB_txn *txn, void *arg)
{
	struct orphan_ctx *oc = arg;
	MDB_stat ms;
	int rc;

	if ((rc = mdb_stat(txn, oc->s->ix.sessions, &ms)) != 0)
		return rc;
	if (ms.ms_entries != 0) {
		oc->stopped = 1;
		return 0;
	}
	oc->txn = txn;
	rc = oc->s->cs->ops->list(oc->s->cs, oc->bucket, orphan_check, oc);
	/* Nothing to commit: the transaction only excluded imports. */
	return rc != 0 ? rc : BL_EABORT;
}

int
store_gc(struct store *s, struct store_gc_stats *st, char *why, size_t whylen)
{
	struct sweep_ctx sc;
	struct orphan_ctx oc;
	unsigned int b;
	int rc, rounds;

	memset(st, 0, sizeof(*st));
	if ((rc = store_reap_sessions(s, &st->sessions_reaped)) != 0)
		return bl_why(why, whylen, rc, "reaping sessions: %s",
		        bl_strerror(rc));
	memset(&sc, 0, sizeof(sc));
	sc.s = s;
	/* Bounded by the zero list: each round drops or passes a batch. */
	for (rounds = 0; !sc.done && rounds < (1 << 24); rounds++) {
		memcpy(sc.start, sc.last, 32);
		sc.have_start = sc.have_last;
		if ((rc = index_write(&s->ix, sweep_txn, &sc)) != 0)
			return bl_why(
			        why, whylen, rc, "gc: %s", bl_strerror(rc));
		sc.removed += sc.r_removed;
		sc.freed += sc.r_freed;
	}
	st->chunks_removed = sc.removed;
	st->bytes_freed = sc.freed;

	memset(&oc, 0, sizeof(oc));
	oc.s = s;
	for (b = 0; b < CHUNKSTORE_BUCKETS && !oc.stopped; b++) {
		oc.bucket = b;
		rc = index_write(&s->ix, orphan_txn, &oc);
		if (rc != 0 && rc != BL_EABORT)
			return bl_why(why, whylen, rc, "gc orphan sweep: %s",
			        bl_strerror(rc));
	}
	st->orphan_sweep = !oc.stopped;
	st->orphans_removed = oc.removed;
	if (oc.stopped)
		log_info("gc: an import is running; orphan sweep skipped");
	return 0;
}

/* Verification. */
struct verify_ctx {
	struct store *s;
	store_problem_fn cb;
	void *arg;
	struct store_verify_stats *st;
	uint8_t *buf, *zbuf;
	ZSTD_DCtx *zd;
};

static void problem(struct verify_ctx *vc, const char *kind, const char *what,
        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
problem(struct verify_ctx *vc, const char *kind, const char *what,
        const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (vc->cb != NULL)
		vc->cb(vc->arg, kind, what, msg);
}

/*
 * A fresh look: is id still indexed, referenced or pinned, and still
 * without a file?  Keeps a verify beside "image rm" + gc from reporting
 * chunks that were collected after its snapshot.
 */
static int
still_needed(struct store *s, const uint8_t id[32])
{
	struct index_chunk c;
	MDB_txn *txn;
	int need = 1;

	if (index_read_begin(&s->ix, &txn) != 0)
		return 1;
	if (index_chunk_get(&s->ix, txn, id, &c) != 0)
		need = 0;
	else if (c.refs == 0 && index_pinned(&s->ix, txn, id) == 0)
		need = 0;
	else if (chunkstore_exists(s->cs, id) == 1)
		need = 0;
	mdb_txn_abort(txn);
	return need;
}

/* Check one chunk's file against its record. */
static void
verify_chunk(struct verify_ctx *vc, MDB_txn *txn, const uint8_t id[32],
        const struct index_chunk *c)
{
	struct store *s = vc->s;
	char hex[HASH_HEXLEN + 1];
	uint8_t h[32];
	size_t got, zn;
	int rc;

	hash_hex(id, 32, hex);
	rc = chunkstore_get(s->cs, id,
	        c->flags & INDEX_CHUNK_ZSTD ? vc->zbuf : vc->buf,
	        MANIFEST_CHUNK_LEN_MAX, &got);
	if (rc == -ENOENT) {
		/* Unreferenced and unpinned: garbage whose file gc took. */
		if (c->refs == 0 && index_pinned(&s->ix, txn, id) == 0)
			return;
		/* Removed and collected since this batch's snapshot? */
		if (!still_needed(s, id))
			return;
		vc->st->missing_chunks++;
		problem(vc, "chunk", hex,
		        "file missing (%" PRIu32 " references)", c->refs);
		return;
	}
	if (rc == 0 && (c->flags & INDEX_CHUNK_ZSTD)) {
		zn = ZSTD_decompressDCtx(
		        vc->zd, vc->buf, MANIFEST_CHUNK_LEN_MAX, vc->zbuf, got);
		if (ZSTD_isError(zn)) {
			vc->st->bad_chunks++;
			problem(vc, "chunk", hex, "does not decompress: %s",
			        ZSTD_getErrorName(zn));
			return;
		}
		got = zn;
	}
	if (rc != 0) {
		vc->st->bad_chunks++;
		problem(vc, "chunk", hex, "unreadable: %s", bl_strerror(rc));
		return;
	}
	vc->st->bytes += got;
	if (got != c->size || hash_sha256(vc->buf, got, h) != 0 ||
	        memcmp(h, id, 32) != 0) {
		vc->st->bad_chunks++;
		problem(vc, "chunk", hex,
		        "content does not match its id (corrupt)");
	}
}

static int
verify_chunks(struct verify_ctx *vc)
{
	struct store *s = vc->s;
	struct index_chunk c;
	uint8_t last[32];
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, d;
	int rc, op, have_last = 0;
	size_t n;

	for (;;) {
		if ((rc = index_read_begin(&s->ix, &txn)) != 0)
			return rc;
		if ((rc = mdb_cursor_open(txn, s->ix.chunks, &cur)) != 0) {
			mdb_txn_abort(txn);
			return index_err(rc);
		}
		if (have_last) {
			k.mv_size = 32;
			k.mv_data = last;
			rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
			if (rc == 0 && memcmp(k.mv_data, last, 32) == 0)
				rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
		} else
			rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
		for (n = 0; rc == 0 && n < VERIFY_BATCH; n++) {
			char hex[HASH_HEXLEN + 1];

			if (k.mv_size != 32) {
				vc->st->bad_chunks++;
				problem(vc, "chunk", "(index)",
				        "malformed key of %zu bytes",
				        k.mv_size);
			} else {
				memcpy(last, k.mv_data, 32);
				have_last = 1;
				vc->st->chunks++;
				if (index_chunk_get(&s->ix, txn, last, &c) == 0)
					verify_chunk(vc, txn, last, &c);
				else {
					vc->st->bad_chunks++;
					hash_hex(last, 32, hex);
					problem(vc, "chunk", hex,
					        "malformed index record");
				}
			}
			op = MDB_NEXT;
			rc = mdb_cursor_get(cur, &k, &d, op);
		}
		mdb_cursor_close(cur);
		mdb_txn_abort(txn);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc != 0)
			return index_err(rc);
	}
}

static void
verify_manifest(
        struct verify_ctx *vc, MDB_txn *txn, const struct store_version *v)
{
	struct store *s = vc->s;
	struct manifest *m = NULL;
	struct index_chunk c;
	uint8_t mid[32], (*ids)[32] = NULL;
	char what[MANIFEST_NAME_MAX + 16], why[256], hex[HASH_HEXLEN + 1];
	MDB_val k = {32, (void *)v->im.manifest_id}, d;
	size_t n, i;
	int rc;

	snprintf(what, sizeof(what), "%s@%" PRIu32, v->name, v->version);
	vc->st->manifests++;
	if ((rc = mdb_get(txn, s->ix.manifests, &k, &d)) != 0) {
		vc->st->bad_manifests++;
		problem(vc, "manifest", what, "missing from the index");
		return;
	}
	why[0] = '\0';
	if (!s->have_pub)
		rc = bl_why(why, sizeof(why), BL_ENOTFOUND,
		        "no public key to check it");
	else if ((rc = manifest_verify(d.mv_data, d.mv_size, s->pub, why,
	                  sizeof(why))) == 0 &&
	        (rc = manifest_decode(
	                 d.mv_data, d.mv_size, &m, why, sizeof(why))) == 0 &&
	        (manifest_id(d.mv_data, d.mv_size, mid) != 0 ||
	                memcmp(mid, v->im.manifest_id, 32) != 0))
		rc = bl_why(why, sizeof(why), BL_ECORRUPT,
		        "manifest id does not match its content");
	if (rc == 0 &&
	        (strcmp(m->name, v->name) != 0 || m->version != v->version))
		rc = bl_why(why, sizeof(why), BL_ECORRUPT,
		        "manifest names %s@%" PRIu32, m->name, m->version);
	if (rc != 0) {
		vc->st->bad_manifests++;
		problem(vc, "manifest", what, "%s",
		        why[0] ? why : bl_strerror(rc));
		goto out;
	}
	if (store_unique_ids(m, &ids, &n) != 0) {
		problem(vc, "manifest", what, "out of memory");
		vc->st->bad_manifests++;
		goto out;
	}
	for (i = 0; i < n; i++) {
		int got = index_chunk_get(&s->ix, txn, ids[i], &c);

		if (got == 0 && c.refs > 0)
			continue;
		if (got != 0)
			c.refs =
			        1; /* for the message: missing, not uncounted */
		hash_hex(ids[i], 32, hex);
		vc->st->bad_manifests++;
		problem(vc, "manifest", what, "chunk %s %s", hex,
		        c.refs == 0 ? "is not counted as referenced"
		                    : "is missing from the index");
		break;
	}
out:
	free(ids);
	manifest_free(m);
}

int
store_verify(struct store *s, store_problem_fn cb, void *arg,
        struct store_verify_stats *st)
{
	struct verify_ctx vc = {s, cb, arg, st, NULL, NULL, NULL};
	struct store_version *v = NULL;
	MDB_txn *txn;
	size_t n = 0, i;
	int rc;

	memset(st, 0, sizeof(*st));
	vc.buf = malloc(MANIFEST_CHUNK_LEN_MAX);
	vc.zbuf = malloc(MANIFEST_CHUNK_LEN_MAX);
	vc.zd = ZSTD_createDCtx();
	if (vc.buf == NULL || vc.zbuf == NULL || vc.zd == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = verify_chunks(&vc)) != 0)
		goto out;
	if ((rc = store_list(s, NULL, &v, &n)) != 0)
		goto out;
	if ((rc = index_read_begin(&s->ix, &txn)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		verify_manifest(&vc, txn, &v[i]);
	mdb_txn_abort(txn);
	rc = st->bad_chunks || st->missing_chunks || st->bad_manifests
	        ? BL_ECORRUPT
	        : 0;
out:
	free(v);
	free(vc.buf);
	free(vc.zbuf);
	ZSTD_freeDCtx(vc.zd);
	return rc;
}

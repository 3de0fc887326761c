/*
 * test_store.c - the store end to end on real files and a real LMDB:
 * import, cat, versions, diff, remove, gc with pins and dead sessions,
 * verify against corrupt and missing chunks and tampered manifests, map
 * growth and its limit, bad input files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "store.h"
#include "test_list.h"
#include "testutil.h"

#define F1_LEN (300 * 1024)
#define F2_LEN (260 * 1024)

struct fixture {
	const char *dir;
	char store[512];
	char f1[512], f2[512], f3[512];
	uint8_t *d1, *d2;
	struct store *s;
};

static int
fx_setup(struct fixture *fx, const char *tag, uint64_t map_size,
        uint64_t map_max, int zstd)
{
	struct store_opts o;
	char why[256];

	memset(fx, 0, sizeof(*fx));
	if ((fx->dir = tu_tmpdir(tag)) == NULL)
		return -1;
	snprintf(fx->store, sizeof(fx->store), "%s/store", fx->dir);
	snprintf(fx->f1, sizeof(fx->f1), "%s/random.bin", fx->dir);
	snprintf(fx->f2, sizeof(fx->f2), "%s/zeros.bin", fx->dir);
	snprintf(fx->f3, sizeof(fx->f3), "%s/empty", fx->dir);
	fx->d1 = malloc(F1_LEN);
	fx->d2 = calloc(1, F2_LEN);
	tu_fill(fx->d1, F1_LEN, 42);
	/* Random head and tail around a long zero run. */
	tu_fill(fx->d2, 20000, 7);
	tu_fill(fx->d2 + F2_LEN - 9000, 9000, 8);
	if (tu_write(fx->f1, fx->d1, F1_LEN) ||
	        tu_write(fx->f2, fx->d2, F2_LEN) || tu_write(fx->f3, "", 0))
		return -1;
	store_opts_default(&o);
	o.chunk_min = 1024;
	o.chunk_avg = 4096;
	o.chunk_max = 16384;
	o.zstd_level = zstd;
	o.map_size = map_size;
	o.map_max = map_max;
	if (store_init(fx->store, &o, why, sizeof(why)) != 0) {
		fprintf(stderr, "store_init: %s\n", why);
		return -1;
	}
	if (store_open(fx->store, &fx->s, why, sizeof(why)) != 0) {
		fprintf(stderr, "store_open: %s\n", why);
		return -1;
	}
	return 0;
}

static void
fx_teardown(struct fixture *fx)
{
	store_close(fx->s);
	free(fx->d1);
	free(fx->d2);
	tu_rmrf(fx->dir);
}

static int
import3(struct fixture *fx, const char *name, struct store_import_stats *st)
{
	struct store_src src[3] = {
	        {"boot/random.bin", fx->f1},
	        {"zeros.bin", fx->f2},
	        {"empty", fx->f3},
	};
	char why[512] = "";
	int rc;

	rc = store_import(
	        fx->s, name, src, 3, NULL, NULL, st, why, sizeof(why));
	if (rc != 0)
		fprintf(stderr, "import: %s\n", why);
	return rc;
}

/* cat path of name@ver into memory and compare with want. */
static int
cat_equals(struct fixture *fx, const char *name, uint32_t ver, const char *path,
        const uint8_t *want, size_t len)
{
	char out[600], why[256];
	uint8_t *got = NULL;
	size_t glen = 0;
	int fd, rc;

	snprintf(out, sizeof(out), "%s/cat.out", fx->dir);
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	rc = store_cat(fx->s, name, ver, path, fd, 1, why, sizeof(why));
	close(fd);
	if (rc != 0)
		return rc;
	if (fs_read_file(out, 1 << 30, &got, &glen) != 0)
		return -1;
	rc = glen == len && (len == 0 || memcmp(got, want, len) == 0) ? 0 : -2;
	free(got);
	return rc;
}

static void
test_import_cat(void)
{
	struct fixture fx;
	struct store_import_stats st1, st2;
	struct store_version *v;
	struct manifest *a, *b;
	struct store_diff d;
	char why[256];
	size_t n;

	CU_ASSERT_FATAL(fx_setup(&fx, "cat", 1 << 20, 0, 3) == 0);
	CU_ASSERT_EQUAL_FATAL(import3(&fx, "netboot", &st1), 0);
	CU_ASSERT_EQUAL(st1.version, 1);
	CU_ASSERT_EQUAL(st1.files, 3);
	CU_ASSERT_EQUAL(st1.bytes, F1_LEN + F2_LEN);
	CU_ASSERT(st1.new_chunks > 0 && st1.new_chunks <= st1.chunks);
	CU_ASSERT(st1.zero_chunks > 0); /* the zero run took the fast path */
	CU_ASSERT_EQUAL(
	        cat_equals(&fx, "netboot", 1, "boot/random.bin", fx.d1, F1_LEN),
	        0);
	CU_ASSERT_EQUAL(
	        cat_equals(&fx, "netboot", 0, "zeros.bin", fx.d2, F2_LEN), 0);
	CU_ASSERT_EQUAL(cat_equals(&fx, "netboot", 1, "empty", NULL, 0), 0);
	CU_ASSERT_EQUAL(
	        cat_equals(&fx, "netboot", 1, "nope", NULL, 0), BL_ENOTFOUND);
	CU_ASSERT_EQUAL(
	        cat_equals(&fx, "netboot", 9, "empty", NULL, 0), BL_ENOTFOUND);

	/* The same files again: version 2, nothing new written. */
	CU_ASSERT_EQUAL_FATAL(import3(&fx, "netboot", &st2), 0);
	CU_ASSERT_EQUAL(st2.version, 2);
	CU_ASSERT_EQUAL(st2.new_chunks, 0);
	CU_ASSERT_EQUAL(st2.chunks, st1.chunks);
	CU_ASSERT_EQUAL(store_list(fx.s, "netboot", &v, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	if (n == 2) {
		CU_ASSERT_EQUAL(v[0].version, 1);
		CU_ASSERT_EQUAL(v[1].version, 2);
		CU_ASSERT_EQUAL(v[1].im.size, F1_LEN + F2_LEN);
		CU_ASSERT_EQUAL(v[1].im.nfiles, 3);
	}
	free(v);

	/* Change 100 bytes in the middle of random.bin: few new chunks. */
	memset(fx.d1 + F1_LEN / 2, 0xA5, 100);
	CU_ASSERT_EQUAL_FATAL(tu_write(fx.f1, fx.d1, F1_LEN), 0);
	CU_ASSERT_EQUAL_FATAL(import3(&fx, "netboot", &st2), 0);
	CU_ASSERT_EQUAL(st2.version, 3);
	CU_ASSERT(st2.new_chunks >= 1 && st2.new_chunks <= 3);
	CU_ASSERT_EQUAL(
	        store_manifest(fx.s, "netboot", 1, &a, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(
	        store_manifest(fx.s, "netboot", 3, &b, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(store_diff(a, b, &d), 0);
	CU_ASSERT_EQUAL(d.new_chunks, st2.new_chunks);
	CU_ASSERT_EQUAL(d.shared_chunks + d.new_chunks, d.b_chunks);
	CU_ASSERT(d.new_bytes < 3 * 16384);
	CU_ASSERT_EQUAL(d.shared_bytes + d.new_bytes, d.b_bytes);
	manifest_free(a);
	manifest_free(b);
	CU_ASSERT_EQUAL(
	        cat_equals(&fx, "netboot", 3, "boot/random.bin", fx.d1, F1_LEN),
	        0);
	fx_teardown(&fx);
}

static void
count_problem(
        void *arg, const char *kind, const char *what, const char *problem)
{
	(void)kind;
	(void)what;
	(void)problem;
	(*(int *)arg)++;
}

static void
test_remove_gc(void)
{
	struct fixture fx;
	struct store_import_stats st;
	struct store_gc_stats gs;
	struct store_usage u;
	struct store_verify_stats vs;
	char why[256];
	int problems = 0;

	CU_ASSERT_FATAL(fx_setup(&fx, "gc", 1 << 20, 0, 0) == 0);
	CU_ASSERT_EQUAL_FATAL(import3(&fx, "a", &st), 0);
	CU_ASSERT_EQUAL_FATAL(import3(&fx, "b", &st), 0);
	CU_ASSERT_EQUAL(store_remove(fx.s, "a", 0, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(
	        store_remove(fx.s, "a", 0, why, sizeof(why)), BL_ENOTFOUND);
	/* b still references every chunk. */
	CU_ASSERT_EQUAL(store_gc(fx.s, &gs, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(gs.chunks_removed, 0);
	CU_ASSERT_EQUAL(gs.orphan_sweep, 1);
	CU_ASSERT_EQUAL(store_remove(fx.s, "b", 1, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(store_usage(fx.s, &u), 0);
	CU_ASSERT_EQUAL(u.garbage_chunks, u.chunks);
	CU_ASSERT_EQUAL(store_gc(fx.s, &gs, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(gs.chunks_removed, u.chunks);
	CU_ASSERT(gs.bytes_freed > 0);
	CU_ASSERT_EQUAL(store_usage(fx.s, &u), 0);
	CU_ASSERT_EQUAL(u.chunks, 0);
	CU_ASSERT_EQUAL(u.versions, 0);
	CU_ASSERT_EQUAL(store_verify(fx.s, count_problem, &problems, &vs), 0);
	CU_ASSERT_EQUAL(problems, 0);
	fx_teardown(&fx);
}

struct pin_ctx {
	struct store *s;
	uint8_t id[32];
	uint64_t session;
};

static int
pin_txn(MDB_txn *txn, void *arg)
{
	struct pin_ctx *pc = arg;

	return index_pin(&pc->s->ix, txn, pc->id, pc->session);
}

static void
test_gc_pins_and_reap(void)
{
	struct fixture fx;
	struct store_import_stats st;
	struct store_gc_stats gs;
	struct manifest *m;
	struct pin_ctx pc;
	struct index_chunk c;
	MDB_txn *txn;
	char why[256];
	int lockfd;

	CU_ASSERT_FATAL(fx_setup(&fx, "pins", 1 << 20, 0, 0) == 0);
	CU_ASSERT_EQUAL_FATAL(import3(&fx, "a", &st), 0);
	CU_ASSERT_EQUAL_FATAL(
	        store_manifest(fx.s, "a", 1, &m, why, sizeof(why)), 0);
	pc.s = fx.s;
	memcpy(pc.id, m->files[0].chunks[0].id, 32);
	manifest_free(m);
	CU_ASSERT_EQUAL(store_remove(fx.s, "a", 1, why, sizeof(why)), 0);

	/* A live import session pins one chunk: gc keeps it. */
	CU_ASSERT_EQUAL_FATAL(
	        store_session_begin(fx.s, &pc.session, &lockfd), 0);
	CU_ASSERT_EQUAL(index_write(&fx.s->ix, pin_txn, &pc), 0);
	CU_ASSERT_EQUAL(store_gc(fx.s, &gs, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(gs.sessions_reaped, 0);
	CU_ASSERT_EQUAL(gs.chunks_removed, st.new_chunks - 1);
	CU_ASSERT_EQUAL(gs.orphan_sweep, 0); /* an import is running */
	CU_ASSERT_EQUAL(index_read_begin(&fx.s->ix, &txn), 0);
	CU_ASSERT_EQUAL(index_chunk_get(&fx.s->ix, txn, pc.id, &c), 0);
	mdb_txn_abort(txn);
	CU_ASSERT_EQUAL(chunkstore_exists(fx.s->cs, pc.id), 1);

	/* The importing process dies (its lock goes): gc reaps it. */
	close(lockfd);
	CU_ASSERT_EQUAL(store_gc(fx.s, &gs, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(gs.sessions_reaped, 1);
	CU_ASSERT_EQUAL(gs.chunks_removed, 1);
	CU_ASSERT_EQUAL(gs.orphan_sweep, 1);
	CU_ASSERT_EQUAL(chunkstore_exists(fx.s->cs, pc.id), 0);
	fx_teardown(&fx);
}

static void
test_orphans(void)
{
	struct fixture fx;
	struct store_gc_stats gs;
	uint8_t id[32];
	char why[256];

	CU_ASSERT_FATAL(fx_setup(&fx, "orphan", 1 << 20, 0, 0) == 0);
	/* A chunk file renamed into place by an import that then died. */
	CU_ASSERT_EQUAL(hash_sha256("orphan", 6, id), 0);
	CU_ASSERT_EQUAL(chunkstore_put(fx.s->cs, id, "orphan", 6), 0);
	CU_ASSERT_EQUAL(chunkstore_exists(fx.s->cs, id), 1);
	CU_ASSERT_EQUAL(store_gc(fx.s, &gs, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(gs.orphans_removed, 1);
	CU_ASSERT_EQUAL(chunkstore_exists(fx.s->cs, id), 0);
	fx_teardown(&fx);
}

/* Flip one byte of the file of chunk id. */
static int
corrupt_chunk(struct fixture *fx, const uint8_t id[32], int remove_it)
{
	char hex[HASH_HEXLEN + 1], path[700];
	uint8_t b;
	int fd, rc = -1;

	hash_hex(id, 32, hex);
	snprintf(path, sizeof(path), "%s/chunks/%.3s/%s", fx->store, hex, hex);
	if (remove_it)
		return unlink(path);
	if ((fd = open(path, O_RDWR)) < 0)
		return -1;
	if (pread(fd, &b, 1, 100) == 1) {
		b ^= 0x40;
		rc = pwrite(fd, &b, 1, 100) == 1 ? 0 : -1;
	}
	close(fd);
	return rc;
}

static void
test_verify_corruption(void)
{
	struct fixture fx;
	struct store_import_stats st;
	struct store_verify_stats vs;
	struct manifest *m;
	uint8_t bad[32], gone[32];
	char why[256];
	int problems = 0;

	CU_ASSERT_FATAL(fx_setup(&fx, "verify", 1 << 20, 0, 0) == 0);
	CU_ASSERT_EQUAL_FATAL(import3(&fx, "a", &st), 0);
	CU_ASSERT_EQUAL(store_verify(fx.s, count_problem, &problems, &vs), 0);
	CU_ASSERT_EQUAL(problems, 0);
	CU_ASSERT_EQUAL(vs.chunks, st.new_chunks);
	CU_ASSERT_EQUAL(vs.manifests, 1);
	CU_ASSERT_EQUAL_FATAL(
	        store_manifest(fx.s, "a", 1, &m, why, sizeof(why)), 0);
	/* files are sorted: boot/random.bin, empty, zeros.bin */
	memcpy(bad, m->files[0].chunks[1].id, 32);
	memcpy(gone, m->files[0].chunks[3].id, 32);
	manifest_free(m);
	CU_ASSERT_EQUAL_FATAL(corrupt_chunk(&fx, bad, 0), 0);
	CU_ASSERT_EQUAL_FATAL(corrupt_chunk(&fx, gone, 1), 0);
	CU_ASSERT_EQUAL(
	        store_verify(fx.s, count_problem, &problems, &vs), BL_ECORRUPT);
	CU_ASSERT_EQUAL(vs.bad_chunks, 1);
	CU_ASSERT_EQUAL(vs.missing_chunks, 1);
	CU_ASSERT_EQUAL(problems, 2);
	/* Reads fail loudly instead of returning bad bytes. */
	CU_ASSERT_EQUAL(
	        cat_equals(&fx, "a", 1, "boot/random.bin", fx.d1, F1_LEN) < 0,
	        1);
	CU_ASSERT_NOT_EQUAL(
	        cat_equals(&fx, "a", 1, "boot/random.bin", fx.d1, F1_LEN), 0);
	fx_teardown(&fx);
}

struct tamper_ctx {
	struct store *s;
	uint8_t mid[32];
	size_t pos;
};

static int
tamper_txn(MDB_txn *txn, void *arg)
{
	struct tamper_ctx *tc = arg;
	MDB_val k = {32, tc->mid}, d;
	uint8_t *copy;
	int rc;

	if ((rc = mdb_get(txn, tc->s->ix.manifests, &k, &d)) != 0)
		return rc;
	if ((copy = malloc(d.mv_size)) == NULL)
		return ENOMEM;
	memcpy(copy, d.mv_data, d.mv_size);
	copy[tc->pos % d.mv_size] ^= 1;
	d.mv_data = copy;
	rc = mdb_put(txn, tc->s->ix.manifests, &k, &d, 0);
	free(copy);
	return rc;
}

static void
test_tampered_manifest(void)
{
	struct fixture fx;
	struct store_import_stats st;
	struct store_verify_stats vs;
	struct tamper_ctx tc;
	struct manifest *m = NULL;
	char why[256];
	int problems = 0;

	CU_ASSERT_FATAL(fx_setup(&fx, "tamper", 1 << 20, 0, 0) == 0);
	CU_ASSERT_EQUAL_FATAL(import3(&fx, "a", &st), 0);
	tc.s = fx.s;
	memcpy(tc.mid, st.manifest_id, 32);
	tc.pos = 40; /* inside the file list */
	CU_ASSERT_EQUAL_FATAL(index_write(&fx.s->ix, tamper_txn, &tc), 0);
	CU_ASSERT_EQUAL(
	        store_verify(fx.s, count_problem, &problems, &vs), BL_ECORRUPT);
	CU_ASSERT_EQUAL(vs.bad_manifests, 1);
	CU_ASSERT_EQUAL(problems, 1);
	CU_ASSERT_NOT_EQUAL(
	        store_manifest(fx.s, "a", 1, &m, why, sizeof(why)), 0);
	CU_ASSERT_PTR_NULL(m);
	fx_teardown(&fx);
}

static void
test_map_growth_and_limit(void)
{
	struct fixture fx;
	struct store_import_stats st;
	struct store_verify_stats vs;
	struct store_src src = {"big", NULL};
	char big[600], why[512] = "";
	uint8_t *data;
	int problems = 0, rc;

	/* 64 KiB map: the import must grow it, several times. */
	CU_ASSERT_FATAL(fx_setup(&fx, "mapgrow", 64 << 10, 0, 0) == 0);
	snprintf(big, sizeof(big), "%s/big.bin", fx.dir);
	data = malloc(8 << 20);
	tu_fill(data, 8 << 20, 99);
	CU_ASSERT_EQUAL_FATAL(tu_write(big, data, 8 << 20), 0);
	src.file = big;
	rc = store_import(
	        fx.s, "big", &src, 1, NULL, NULL, &st, why, sizeof(why));
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(fx.s->ix.map_size > (64 << 10));
	CU_ASSERT_EQUAL(cat_equals(&fx, "big", 1, "big", data, 8 << 20), 0);
	fx_teardown(&fx);

	/* A 160 KiB limit: the import fails clearly, the store verifies. */
	CU_ASSERT_FATAL(fx_setup(&fx, "maplimit", 64 << 10, 160 << 10, 0) == 0);
	snprintf(big, sizeof(big), "%s/big.bin", fx.dir);
	CU_ASSERT_EQUAL_FATAL(tu_write(big, data, 8 << 20), 0);
	CU_ASSERT_EQUAL_FATAL(import3(&fx, "small", &st), 0);
	src.file = big;
	rc = store_import(
	        fx.s, "big", &src, 1, NULL, NULL, &st, why, sizeof(why));
	CU_ASSERT_EQUAL(rc, BL_EMAPFULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "index reached its size limit"));
	CU_ASSERT_EQUAL(store_verify(fx.s, count_problem, &problems, &vs), 0);
	CU_ASSERT_EQUAL(problems, 0);
	CU_ASSERT_EQUAL(vs.manifests, 1);
	CU_ASSERT_EQUAL(
	        cat_equals(&fx, "small", 1, "boot/random.bin", fx.d1, F1_LEN),
	        0);
	free(data);
	fx_teardown(&fx);
}

static void
test_bad_inputs(void)
{
	struct fixture fx;
	struct store_import_stats st;
	struct store_src src[2];
	struct store *s2;
	char why[512], missing[600];

	CU_ASSERT_FATAL(fx_setup(&fx, "badin", 1 << 20, 0, 0) == 0);
	snprintf(missing, sizeof(missing), "%s/nope.iso", fx.dir);
	src[0].path = "a";
	src[0].file = fx.f1;
	src[1].path = "b";
	src[1].file = missing;
	why[0] = '\0';
	CU_ASSERT_EQUAL(store_import(fx.s, "x", src, 2, NULL, NULL, &st, why,
	                        sizeof(why)),
	        -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "nope.iso"));
	src[1].file = fx.dir; /* a directory */
	CU_ASSERT_EQUAL(store_import(fx.s, "x", src, 2, NULL, NULL, &st, why,
	                        sizeof(why)),
	        -EINVAL);
	src[1].path = "../etc/passwd";
	src[1].file = fx.f2;
	CU_ASSERT_EQUAL(store_import(fx.s, "x", src, 2, NULL, NULL, &st, why,
	                        sizeof(why)),
	        BL_EFORMAT);
	src[1].path = "a"; /* same path twice */
	CU_ASSERT_EQUAL(store_import(fx.s, "x", src, 2, NULL, NULL, &st, why,
	                        sizeof(why)),
	        BL_EFORMAT);
	CU_ASSERT_EQUAL(store_import(fx.s, "bad/name", src, 1, NULL, NULL, &st,
	                        why, sizeof(why)),
	        BL_EFORMAT);
	/* Nothing was added. */
	CU_ASSERT_EQUAL(store_lookup(fx.s, "x", 0, (struct store_version[1]){},
	                        NULL, NULL, why, sizeof(why)),
	        BL_ENOTFOUND);
	/* Not a store; a second init refused. */
	CU_ASSERT_EQUAL(
	        store_open(fx.dir, &s2, why, sizeof(why)), BL_ENOTFOUND);
	{
		struct store_opts o;

		store_opts_default(&o);
		CU_ASSERT_EQUAL(
		        store_init(fx.store, &o, why, sizeof(why)), -EEXIST);
	}
	fx_teardown(&fx);
}

static void
test_compression(void)
{
	struct fixture fx;
	struct store_import_stats st;
	struct store_src src = {"text", NULL};
	char path[600], why[256];
	uint8_t *text;
	size_t i, len = 200000;

	CU_ASSERT_FATAL(fx_setup(&fx, "zstd", 1 << 20, 0, 3) == 0);
	text = malloc(len);
	for (i = 0; i < len; i++) /* compressible, not a zero run */
		text[i] =
		        (uint8_t)("branchline boots "[i % 17] + (i / 4096) % 3);
	snprintf(path, sizeof(path), "%s/text", fx.dir);
	CU_ASSERT_EQUAL_FATAL(tu_write(path, text, len), 0);
	src.file = path;
	CU_ASSERT_EQUAL_FATAL(store_import(fx.s, "t", &src, 1, NULL, NULL, &st,
	                              why, sizeof(why)),
	        0);
	CU_ASSERT(st.stored_bytes * 4 < st.new_bytes);
	CU_ASSERT_EQUAL(cat_equals(&fx, "t", 1, "text", text, len), 0);
	free(text);
	fx_teardown(&fx);
}

static void
test_parse_ref(void)
{
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t v;

	CU_ASSERT_EQUAL(store_parse_ref("deb@12", name, sizeof(name), &v), 0);
	CU_ASSERT_STRING_EQUAL(name, "deb");
	CU_ASSERT_EQUAL(v, 12);
	CU_ASSERT_EQUAL(store_parse_ref("deb", name, sizeof(name), &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(
	        store_parse_ref("deb@0", name, sizeof(name), &v), BL_EFORMAT);
	CU_ASSERT_EQUAL(
	        store_parse_ref("deb@", name, sizeof(name), &v), BL_EFORMAT);
	CU_ASSERT_EQUAL(
	        store_parse_ref("deb@1x", name, sizeof(name), &v), BL_EFORMAT);
	CU_ASSERT_EQUAL(
	        store_parse_ref("deb@4294967296", name, sizeof(name), &v),
	        BL_EFORMAT);
	CU_ASSERT_EQUAL(
	        store_parse_ref("@3", name, sizeof(name), &v), BL_EFORMAT);
	CU_ASSERT_EQUAL(
	        store_parse_ref("a/b", name, sizeof(name), &v), BL_EFORMAT);
}

int
test_store_register(void)
{
	CU_pSuite s = CU_add_suite("store", NULL, NULL);

	if (s == NULL || !CU_add_test(s, "import_cat", test_import_cat) ||
	        !CU_add_test(s, "remove_gc", test_remove_gc) ||
	        !CU_add_test(s, "gc_pins_and_reap", test_gc_pins_and_reap) ||
	        !CU_add_test(s, "orphans", test_orphans) ||
	        !CU_add_test(s, "verify_corruption", test_verify_corruption) ||
	        !CU_add_test(s, "tampered_manifest", test_tampered_manifest) ||
	        !CU_add_test(
	                s, "map_growth_and_limit", test_map_growth_and_limit) ||
	        !CU_add_test(s, "bad_inputs", test_bad_inputs) ||
	        !CU_add_test(s, "compression", test_compression) ||
	        !CU_add_test(s, "parse_ref", test_parse_ref))
		return -1;
	return 0;
}

/*
 * test_index.c - LMDB index: records, map growth, the growth limit, and
 * a map grown by another process.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "error.h"
#include "index.h"
#include "test_list.h"
#include "testutil.h"

struct fill_ctx {
	struct index *ix;
	uint32_t from, count;
	int runs;
};

/* Put count chunk records with 32-byte ids derived from i. */
static int
fill_txn(MDB_txn *txn, void *arg)
{
	struct fill_ctx *fc = arg;
	struct index_chunk c = {1000, 900, 0, 0};
	uint8_t id[32];
	uint32_t i;
	int rc;

	fc->runs++;
	for (i = fc->from; i < fc->from + fc->count; i++) {
		memset(id, 0, sizeof(id));
		be32_put(id, i);
		tu_fill(id + 4, 28, i);
		c.refs = i % 3;
		if ((rc = index_chunk_put(fc->ix, txn, id, &c)) != 0)
			return rc;
	}
	return 0;
}

static void
test_records(void)
{
	const char *dir = tu_tmpdir("index");
	struct index ix;
	struct fill_ctx fc;
	struct index_chunk c;
	struct index_image im = {{1, 2, 3}, 1700000000, 12345, 2, 7}, im2;
	uint8_t id[32], key[64], enc[56];
	size_t klen;
	MDB_txn *txn;
	MDB_stat ms;

	CU_ASSERT_FATAL(dir != NULL);
	CU_ASSERT_EQUAL_FATAL(index_open(&ix, dir, 1 << 20, 0, NULL, 0), 0);
	fc.ix = &ix;
	fc.from = 0;
	fc.count = 30;
	fc.runs = 0;
	CU_ASSERT_EQUAL(index_write(&ix, fill_txn, &fc), 0);
	CU_ASSERT_EQUAL(index_read_begin(&ix, &txn), 0);
	memset(id, 0, sizeof(id));
	be32_put(id, 4);
	tu_fill(id + 4, 28, 4);
	CU_ASSERT_EQUAL(index_chunk_get(&ix, txn, id, &c), 0);
	CU_ASSERT_EQUAL(c.size, 1000);
	CU_ASSERT_EQUAL(c.stored, 900);
	CU_ASSERT_EQUAL(c.refs, 1);
	/* Zero list holds exactly the refs == 0 chunks: i % 3 == 0. */
	CU_ASSERT_EQUAL(mdb_stat(txn, ix.zero, &ms), 0);
	CU_ASSERT_EQUAL(ms.ms_entries, 10);
	id[31] ^= 1;
	CU_ASSERT_EQUAL(index_chunk_get(&ix, txn, id, &c), MDB_NOTFOUND);
	mdb_txn_abort(txn);

	index_image_encode(&im, enc);
	CU_ASSERT_EQUAL(index_image_decode(enc, 56, &im2), 0);
	CU_ASSERT_EQUAL(memcmp(&im.manifest_id, &im2.manifest_id, 32), 0);
	CU_ASSERT_EQUAL(im2.created, im.created);
	CU_ASSERT_EQUAL(im2.size, 12345);
	CU_ASSERT_EQUAL(im2.nfiles, 2);
	CU_ASSERT_EQUAL(im2.nchunks, 7);
	CU_ASSERT_EQUAL(index_image_decode(enc, 55, &im2), BL_ECORRUPT);
	CU_ASSERT_EQUAL(
	        index_image_key("deb", 258, key, sizeof(key), &klen), 0);
	CU_ASSERT_EQUAL(klen, 8);
	CU_ASSERT_EQUAL(memcmp(key, "deb\0\0\0\1\2", 8), 0);
	CU_ASSERT_EQUAL(index_image_key("deb", 1, key, 7, &klen), BL_ETOOBIG);
	index_close(&ix);
	tu_rmrf(dir);
}

static void
test_grow(void)
{
	const char *dir = tu_tmpdir("grow");
	struct index ix;
	struct fill_ctx fc = {&ix, 0, 20000, 0};
	MDB_txn *txn;
	MDB_stat ms;
	size_t before;

	CU_ASSERT_EQUAL_FATAL(index_open(&ix, dir, 64 << 10, 0, NULL, 0), 0);
	before = ix.map_size;
	/* 20,000 records need about 1.5 MiB: the 64 KiB map must grow. */
	CU_ASSERT_EQUAL(index_write(&ix, fill_txn, &fc), 0);
	CU_ASSERT(fc.runs > 1);
	CU_ASSERT(ix.map_size > before);
	CU_ASSERT_EQUAL(index_read_begin(&ix, &txn), 0);
	CU_ASSERT_EQUAL(mdb_stat(txn, ix.chunks, &ms), 0);
	CU_ASSERT_EQUAL(ms.ms_entries, 20000);
	mdb_txn_abort(txn);
	index_close(&ix);
	tu_rmrf(dir);
}

static void
test_limit(void)
{
	const char *dir = tu_tmpdir("limit");
	struct index ix;
	struct fill_ctx fc = {&ix, 0, 40000, 0};
	MDB_txn *txn;
	MDB_stat ms;

	CU_ASSERT_EQUAL_FATAL(
	        index_open(&ix, dir, 64 << 10, 512 << 10, NULL, 0), 0);
	CU_ASSERT_EQUAL(index_write(&ix, fill_txn, &fc), BL_EMAPFULL);
	CU_ASSERT(ix.map_size <= (512 << 10));
	/* Nothing of the failed transaction is visible; the index works. */
	CU_ASSERT_EQUAL(index_read_begin(&ix, &txn), 0);
	CU_ASSERT_EQUAL(mdb_stat(txn, ix.chunks, &ms), 0);
	CU_ASSERT_EQUAL(ms.ms_entries, 0);
	mdb_txn_abort(txn);
	fc.count = 100;
	CU_ASSERT_EQUAL(index_write(&ix, fill_txn, &fc), 0);
	index_close(&ix);
	tu_rmrf(dir);
}

/* Another process grows the map; this one adopts it (MDB_MAP_RESIZED). */
static void
test_resized_by_other(void)
{
	const char *dir = tu_tmpdir("resized");
	struct index ix;
	struct fill_ctx fc = {&ix, 0, 20000, 0};
	MDB_txn *txn;
	MDB_stat ms;
	int status = -1;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(index_open(&ix, dir, 64 << 10, 0, NULL, 0), 0);
	CU_ASSERT_EQUAL(index_read_begin(&ix, &txn), 0);
	mdb_txn_abort(txn);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct index cix;
		struct fill_ctx cfc = {&cix, 0, 20000, 0};

		/* The child opens its own environment (none across fork). */
		if (index_open(&cix, dir, 64 << 10, 0, NULL, 0) != 0)
			_exit(2);
		if (index_write(&cix, fill_txn, &cfc) != 0)
			_exit(3);
		index_close(&cix);
		_exit(0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(index_read_begin(&ix, &txn), 0);
	CU_ASSERT_EQUAL(mdb_stat(txn, ix.chunks, &ms), 0);
	CU_ASSERT_EQUAL(ms.ms_entries, 20000);
	mdb_txn_abort(txn);
	/* And this process can write past the old size too. */
	fc.from = 20000;
	fc.count = 5000;
	CU_ASSERT_EQUAL(index_write(&ix, fill_txn, &fc), 0);
	index_close(&ix);
	tu_rmrf(dir);
}

int
test_index_register(void)
{
	CU_pSuite s = CU_add_suite("index", NULL, NULL);

	if (s == NULL || !CU_add_test(s, "records", test_records) ||
	        !CU_add_test(s, "grow", test_grow) ||
	        !CU_add_test(s, "limit", test_limit) ||
	        !CU_add_test(s, "resized_by_other", test_resized_by_other))
		return -1;
	return 0;
}

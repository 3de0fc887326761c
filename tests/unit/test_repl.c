/*
 * test_repl.c - replication into a store: the batch frame reader fed a
 * byte at a time and with bad headers; chunk checks (raw, zstd, wrong
 * content); ingest, pins that survive gc, publish with the source's
 * signature and version (idempotent, refused when chunks are missing or
 * the key is wrong), and release.  Real files, real LMDB.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <zstd.h>

#include "error.h"
#include "fsutil.h"
#include "frame.h"
#include "hash.h"
#include "index.h"
#include "sign.h"
#include "store.h"
#include "test_list.h"
#include "testutil.h"

static void
hdr(uint8_t *h, const uint8_t id[32], int st, int enc, uint32_t size,
        uint32_t len)
{
	memset(h, 0, FRAME_HDR);
	memcpy(h, id, 32);
	h[32] = (uint8_t)st;
	h[33] = (uint8_t)enc;
	be32_put(h + 36, size);
	be32_put(h + 40, len);
}

static void
test_frames(void)
{
	uint8_t buf[2 * FRAME_HDR + 100], id[32], id2[32];
	struct frame_rd r;
	char why[200];
	size_t used, off = 0, i;
	int rc, frames = 0;

	memset(&r, 0, sizeof(r));
	memset(id, 0xab, 32);
	memset(id2, 0xcd, 32);
	hdr(buf, id, 0, 0, 100, 100);
	for (i = 0; i < 100; i++)
		buf[FRAME_HDR + i] = (uint8_t)i;
	hdr(buf + FRAME_HDR + 100, id2, 1, 0, 0, 0);
	/* One byte at a time: two frames, complete exactly at their ends. */
	for (i = 0; i < sizeof(buf); i++) {
		rc = frame_feed(&r, buf + i, 1, &used, why, sizeof(why));
		CU_ASSERT(rc >= 0);
		CU_ASSERT_EQUAL(used, 1);
		if (rc == 1) {
			frames++;
			if (frames == 1) {
				CU_ASSERT_EQUAL(i, FRAME_HDR + 99);
				CU_ASSERT_EQUAL(r.status, 0);
				CU_ASSERT_EQUAL(r.len, 100);
				CU_ASSERT_EQUAL(r.data[99], 99);
				CU_ASSERT(memcmp(r.id, id, 32) == 0);
			} else {
				CU_ASSERT_EQUAL(r.status, 1);
				CU_ASSERT(memcmp(r.id, id2, 32) == 0);
			}
		}
	}
	CU_ASSERT_EQUAL(frames, 2);
	CU_ASSERT(frame_idle(&r));
	/* All at once: stops after the first frame. */
	rc = frame_feed(&r, buf, sizeof(buf), &used, why, sizeof(why));
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_EQUAL(used, FRAME_HDR + 100);
	off = used;
	rc = frame_feed(&r, buf + off, sizeof(buf) - off, &used, why,
	        sizeof(why));
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_EQUAL(off + used, sizeof(buf));
	/* Bad headers. */
	struct {
		int st, enc;
		uint32_t size, len;
		int want;
	} bad[] = {{2, 0, 10, 10, BL_EFORMAT}, {0, 2, 10, 10, BL_EFORMAT},
	        {0, 0, 10, 9, BL_EFORMAT}, {1, 0, 5, 0, BL_EFORMAT},
	        {0, 0, 0, 0, BL_EFORMAT},
	        {0, 0, MANIFEST_CHUNK_LEN_MAX + 1, MANIFEST_CHUNK_LEN_MAX + 1,
	                BL_ETOOBIG},
	        {0, 1, 10, 100000, BL_EFORMAT}};
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct frame_rd b;

		memset(&b, 0, sizeof(b));
		hdr(buf, id, bad[i].st, bad[i].enc, bad[i].size, bad[i].len);
		rc = frame_feed(&b, buf, FRAME_HDR, &used, why, sizeof(why));
		CU_ASSERT_EQUAL(rc, bad[i].want);
		frame_free(&b);
	}
	hdr(buf, id, 0, 0, 1, 1);
	buf[34] = 1; /* reserved */
	{
		struct frame_rd b;

		memset(&b, 0, sizeof(b));
		CU_ASSERT_EQUAL(frame_feed(&b, buf, FRAME_HDR, &used, why,
		                        sizeof(why)),
		        BL_EFORMAT);
		frame_free(&b);
	}
	frame_free(&r);
}

/* A source store with one image, and an empty node store with its key. */
struct rfx {
	const char *dir;
	char src[512], dst[512], file[512];
	struct store *s, *d;
	uint8_t *data;
};

#define RFX_LEN (200 * 1024)

static int
rfx_setup(struct rfx *fx)
{
	struct store_opts o;
	struct store_src in;
	struct store_import_stats st;
	char why[256], path[600];
	uint8_t pub[32];

	memset(fx, 0, sizeof(*fx));
	if ((fx->dir = tu_tmpdir("repl")) == NULL)
		return -1;
	snprintf(fx->src, sizeof(fx->src), "%s/src", fx->dir);
	snprintf(fx->dst, sizeof(fx->dst), "%s/dst", fx->dir);
	snprintf(fx->file, sizeof(fx->file), "%s/img", fx->dir);
	fx->data = malloc(RFX_LEN);
	tu_fill(fx->data, RFX_LEN, 9);
	memset(fx->data + 50000, 'x', 60000); /* compressible */
	if (tu_write(fx->file, fx->data, RFX_LEN) != 0)
		return -1;
	store_opts_default(&o);
	o.chunk_min = 1024;
	o.chunk_avg = 4096;
	o.chunk_max = 16384;
	if (store_init(fx->src, &o, why, sizeof(why)) != 0 ||
	        store_init(fx->dst, &o, why, sizeof(why)) != 0 ||
	        store_open(fx->src, &fx->s, why, sizeof(why)) != 0)
		return -1;
	in.path = "disk.img";
	in.file = fx->file;
	if (store_import(fx->s, "img", &in, 1, NULL, NULL, &st, why,
	            sizeof(why)) != 0)
		return -1;
	/* The node's store checks with the source's key and has none. */
	memcpy(pub, fx->s->pub, 32);
	snprintf(path, sizeof(path), "%s/keys/signing.key", fx->dst);
	unlink(path);
	snprintf(path, sizeof(path), "%s/keys/signing.pub", fx->dst);
	if (sign_pub_save(pub, path) != 0 ||
	        store_open(fx->dst, &fx->d, why, sizeof(why)) != 0)
		return -1;
	return 0;
}

static void
rfx_teardown(struct rfx *fx)
{
	store_close(fx->s);
	store_close(fx->d);
	free(fx->data);
	tu_rmrf(fx->dir);
}

/* Copy every chunk of img@1 from src as stored; skip index skip. */
static int
copy_chunks(struct rfx *fx, long skip, size_t *n)
{
	struct manifest *m = NULL;
	uint8_t(*ids)[32] = NULL;
	struct store_incoming *in;
	uint8_t **bufs;
	char why[256];
	size_t k, i, cnt = 0;
	int rc;

	if (store_manifest(fx->s, "img", 1, &m, why, sizeof(why)) != 0 ||
	        store_unique_ids(m, &ids, &k) != 0)
		return -1;
	in = calloc(k, sizeof(*in));
	bufs = calloc(k, sizeof(*bufs));
	for (i = 0; i < k; i++) {
		struct index_chunk rec;
		int fd;

		if ((long)i == skip)
			continue;
		rc = store_chunk_open(fx->s, NULL, ids[i], &rec, &fd);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		bufs[cnt] = malloc(rec.stored);
		CU_ASSERT_EQUAL(read(fd, bufs[cnt], rec.stored),
		        (ssize_t)rec.stored);
		close(fd);
		memcpy(in[cnt].id, ids[i], 32);
		in[cnt].zstd = (rec.flags & INDEX_CHUNK_ZSTD) != 0;
		in[cnt].size = rec.size;
		in[cnt].data = bufs[cnt];
		in[cnt].len = rec.stored;
		CU_ASSERT_EQUAL(
		        store_chunk_check(fx->d, &in[cnt], why, sizeof(why)), 0);
		cnt++;
	}
	rc = store_ingest(fx->d, in, cnt, why, sizeof(why));
	for (i = 0; i < cnt; i++)
		free(bufs[i]);
	free(bufs);
	free(in);
	free(ids);
	manifest_free(m);
	*n = k;
	return rc;
}

static void
test_publish(void)
{
	struct rfx fx;
	struct store_gc_stats gs;
	struct store_version v;
	uint8_t *raw = NULL;
	char why[256];
	size_t len, n, nw;
	int fd;

	CU_ASSERT_EQUAL_FATAL(rfx_setup(&fx), 0);
	CU_ASSERT_EQUAL_FATAL(
	        store_lookup(fx.s, "img", 1, &v, &raw, &len, why, sizeof(why)),
	        0);
	/* Missing one chunk: publish refuses and names it. */
	CU_ASSERT_EQUAL(copy_chunks(&fx, 3, &n), 0);
	CU_ASSERT_EQUAL(store_publish(fx.d, "img", 1, raw, len, why,
	                        sizeof(why)),
	        BL_EMISSING);
	CU_ASSERT(strstr(why, "is not in the store") != NULL);
	/* Pinned, unreferenced chunks survive gc. */
	CU_ASSERT_EQUAL(store_gc(fx.d, &gs, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(gs.chunks_removed, 0);
	/* Name or version other than the manifest's: refused. */
	CU_ASSERT_EQUAL(copy_chunks(&fx, -1, &n), 0);
	CU_ASSERT_EQUAL(store_publish(fx.d, "img", 2, raw, len, why,
	                        sizeof(why)),
	        BL_EFORMAT);
	CU_ASSERT_EQUAL(store_publish(fx.d, "img", 1, raw, len, why,
	                        sizeof(why)),
	        0);
	CU_ASSERT_EQUAL(store_publish(fx.d, "img", 1, raw, len, why,
	                        sizeof(why)),
	        0); /* idempotent */
	/* Byte-identical through the node's store. */
	{
		char out[600];
		uint8_t *got = NULL;
		size_t glen = 0;

		snprintf(out, sizeof(out), "%s/out", fx.dir);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CU_ASSERT_EQUAL(store_cat(fx.d, "img", 1, "disk.img", fd, 1, why,
		                        sizeof(why)),
		        0);
		close(fd);
		CU_ASSERT_EQUAL(fs_read_file(out, RFX_LEN + 1, &got, &glen), 0);
		CU_ASSERT_EQUAL(glen, RFX_LEN);
		CU_ASSERT(got != NULL && memcmp(got, fx.data, RFX_LEN) == 0);
		free(got);
	}
	/* Nothing missing any more. */
	{
		struct manifest *m = NULL;
		uint8_t(*ids)[32] = NULL;
		uint8_t *want;

		CU_ASSERT_EQUAL(store_manifest(fx.d, "img", 1, &m, why,
		                        sizeof(why)),
		        0);
		CU_ASSERT_EQUAL(store_unique_ids(m, &ids, &n), 0);
		want = calloc(n, 1);
		CU_ASSERT_EQUAL(store_missing(fx.d, (const uint8_t(*)[32])ids,
		                        n, want, &nw),
		        0);
		CU_ASSERT_EQUAL(nw, 0);
		free(want);
		free(ids);
		manifest_free(m);
	}
	/* A byte changed: the signature check refuses it. */
	raw[len / 2] ^= 1;
	CU_ASSERT_EQUAL(store_publish(fx.d, "img", 1, raw, len, why,
	                        sizeof(why)),
	        BL_ESIG);
	free(raw);
	CU_ASSERT_EQUAL(store_repl_release(fx.d), 0);
	rfx_teardown(&fx);
}

static void
test_check(void)
{
	struct rfx fx;
	struct store_incoming in;
	uint8_t data[5000], z[6000];
	char why[256];
	size_t zn;

	CU_ASSERT_EQUAL_FATAL(rfx_setup(&fx), 0);
	memset(data, 'a', sizeof(data));
	memset(&in, 0, sizeof(in));
	hash_sha256(data, sizeof(data), in.id);
	in.size = sizeof(data);
	in.data = data;
	in.len = sizeof(data);
	CU_ASSERT_EQUAL(store_chunk_check(fx.d, &in, why, sizeof(why)), 0);
	zn = ZSTD_compress(z, sizeof(z), data, sizeof(data), 3);
	in.zstd = 1;
	in.data = z;
	in.len = zn;
	CU_ASSERT_EQUAL(store_chunk_check(fx.d, &in, why, sizeof(why)), 0);
	z[zn / 2] ^= 0x40;
	CU_ASSERT_EQUAL(store_chunk_check(fx.d, &in, why, sizeof(why)),
	        BL_ECORRUPT);
	in.zstd = 0;
	in.data = data;
	in.len = sizeof(data);
	data[100] = 'b';
	CU_ASSERT_EQUAL(store_chunk_check(fx.d, &in, why, sizeof(why)),
	        BL_ECORRUPT);
	CU_ASSERT(strstr(why, "does not match its id") != NULL);
	in.size = 10;
	CU_ASSERT_EQUAL(store_chunk_check(fx.d, &in, why, sizeof(why)),
	        BL_ECORRUPT);
	rfx_teardown(&fx);
}

int
test_repl_register(void)
{
	CU_pSuite s = CU_add_suite("repl", NULL, NULL);

	if (s == NULL || CU_add_test(s, "frames", test_frames) == NULL ||
	        CU_add_test(s, "check", test_check) == NULL ||
	        CU_add_test(s, "publish", test_publish) == NULL)
		return -1;
	return 0;
}

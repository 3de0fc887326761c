/*
 * store_import.c - streaming import of files as a new image version.
 *
 * The caller's thread reads each file into 16 MiB blocks, cuts them into
 * chunks and hashes every chunk (the chunk-and-hash path, single
 * threaded).  A writer thread takes the blocks in order and, per block, in
 * one LMDB write transaction: looks up every chunk, hands the missing ones
 * to NIO I/O workers (zstd when it pays, then an O_DIRECT temp file
 * renamed into place), feeds the whole-file SHA-256 meanwhile, indexes and
 * pins the chunks for this import session, syncs the filesystem once and
 * commits.  The workers mostly wait on the disk, so several keep it busy
 * without taking CPU from the chunker.  At the end one transaction
 * signs and stores the manifest, adds the image version, takes a
 * reference on every chunk and drops the pins.
 *
 * A block that hands a chunk's bytes to the writer stays alive until its
 * transaction commits, so if a concurrent gc removed a chunk this import
 * saw as present, the writer still has the bytes to store it again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "store.h"

#define BLK_DATA   (16u << 20) /* bytes read per block */
#define NBLK       4           /* blocks in flight: reader, queue, writer */
#define ZSTD_PROBE 4096        /* bytes tried before compressing a chunk */
#define NIO        4 /* chunk-writing threads (mostly waiting on I/O) */

struct blk_chunk {
	uint32_t off, len;
	uint8_t id[32];
};

struct blk {
	uint8_t *buf;         /* BLK_DATA + chunk max, for read() input */
	const uint8_t *data;  /* the block's bytes: buf, or in the mapping */
	size_t len;           /* bytes covered by chunks */
	struct blk_chunk *ch; /* chunks in this block */
	size_t nch, chcap;
	size_t file;  /* index into the import's files */
	int file_end; /* last block of its file */
	int stop;     /* no more blocks */
	int priv;     /* data is our own copy: it cannot change under us */
};

/* One new chunk for an I/O worker to store. */
struct iojob {
	const struct blk_chunk *c;
	const uint8_t *data;
	int priv;        /* data is private: hashed already, no re-hash */
	uint32_t stored; /* out: bytes on disk */
	uint8_t flags;   /* out: INDEX_CHUNK_* */
	int rc;          /* out */
};

/* Per-worker scratch: an aligned buffer for O_DIRECT and a zstd context. */
struct ioworker {
	struct imp *im;
	pthread_t th;
	uint8_t *buf;  /* CHUNKSTORE_ALIGN-aligned, cap bytes: the copy */
	uint8_t *zbuf; /* the same, for the compressed form */
	size_t cap;
	ZSTD_CCtx *zc;
};

/* Totals the writer adds up after each committed block. */
struct counts {
	uint64_t new_chunks, new_bytes, stored_bytes;
};

struct imp {
	struct store *s;
	uint64_t session;
	const struct store_src *src;
	size_t nsrc;
	struct manifest_file *files; /* built as blocks commit */
	size_t *chcap;               /* capacity of files[i].chunks */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct blk *free_q[NBLK];
	size_t nfree;
	struct blk *full_q[NBLK + 1]; /* every block and the stop mark */
	size_t qhead, qlen;
	int werr; /* writer failed: reader stops */
	/* Set by the writer while most bytes are new: the reader then copies
	 * mapped blocks, as a copy costs less than re-hashing new chunks. */
	atomic_int copy;
	struct {
		void *p;
		size_t len;
	} * maps; /* input files mapped; unmapped at end */
	size_t nmaps;
	char wwhy[512];

	/* I/O workers: the writer posts a block's new chunks, waits. */
	struct ioworker io[NIO];
	size_t nio;
	pthread_mutex_t iomu;
	pthread_cond_t iocv, iodone;
	struct iojob *jobs;
	size_t njobs, jobcap, jnext, jdone;
	int iostop;
	uint32_t *jset; /* job index + 1 by id hash; 0 empty */
	uint32_t *jgen; /* generation of each jset slot */
	uint32_t gen;   /* bumped per transaction run */
	size_t jmask;

	/* Writer-only state. */
	struct hash_ctx *fh; /* whole-file hash */
	int hashed;          /* cur block fed to fh already */
	struct counts tot;
	struct blk *cur;    /* block of the running transaction */
	struct counts blkc; /* this block's counts (txn may rerun) */
};

static void
q_put(struct imp *im, struct blk *b, int to_free)
{
	pthread_mutex_lock(&im->mu);
	if (to_free)
		im->free_q[im->nfree++] = b;
	else
		im->full_q[(im->qhead + im->qlen++) % (NBLK + 1)] = b;
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
}

/* Take a free block; NULL when the writer has failed. */
static struct blk *
q_get_free(struct imp *im)
{
	struct blk *b = NULL;

	pthread_mutex_lock(&im->mu);
	while (im->nfree == 0 && !im->werr)
		pthread_cond_wait(&im->cv, &im->mu);
	if (!im->werr)
		b = im->free_q[--im->nfree];
	pthread_mutex_unlock(&im->mu);
	return b;
}

static struct blk *
q_get_full(struct imp *im)
{
	struct blk *b;

	pthread_mutex_lock(&im->mu);
	while (im->qlen == 0)
		pthread_cond_wait(&im->cv, &im->mu);
	b = im->full_q[im->qhead];
	im->qhead = (im->qhead + 1) % (NBLK + 1);
	im->qlen--;
	pthread_mutex_unlock(&im->mu);
	return b;
}

static void writer_fail(struct imp *im, int rc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
writer_fail(struct imp *im, int rc, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&im->mu);
	if (!im->werr) {
		im->werr = rc;
		va_start(ap, fmt);
		vsnprintf(im->wwhy, sizeof(im->wwhy), fmt, ap);
		va_end(ap);
	}
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
}

/*
 * Store one new chunk from a worker.  The bytes are copied first and the
 * copy is hashed against the id the reader computed: a source file that
 * changed in between (it may be mapped) is caught here, and no chunk file
 * can ever disagree with its name.  Then compress the copy when a probe
 * of its start shrinks well and the whole chunk saves at least 1/16.
 */
static void
io_store(struct ioworker *w, struct iojob *j)
{
	struct imp *im = w->im;
	size_t len = j->c->len, z, probe;
	uint8_t h[HASH_LEN], *out = w->buf;

	j->flags = 0;
	j->stored = (uint32_t)len;
	memcpy(w->buf, j->data, len);
	/* Bytes from a mapping may have changed since the reader hashed
	 * them: the copy we write must be the one we check. */
	if (!j->priv) {
		if ((j->rc = hash_sha256(w->buf, len, h)) != 0)
			return;
		if (memcmp(h, j->c->id, HASH_LEN) != 0) {
			j->rc = BL_ECHANGED;
			return;
		}
	}
	if (w->zc != NULL) {
		probe = len < ZSTD_PROBE ? len : ZSTD_PROBE;
		z = ZSTD_compressCCtx(w->zc, w->zbuf, w->cap, w->buf, probe, 1);
		if (!ZSTD_isError(z) && z < probe - probe / 8) {
			z = ZSTD_compressCCtx(w->zc, w->zbuf, w->cap, w->buf,
			        len, im->s->opts.zstd_level);
			if (!ZSTD_isError(z) && z <= len - len / 16) {
				j->flags = INDEX_CHUNK_ZSTD;
				j->stored = (uint32_t)z;
				out = w->zbuf;
			}
		}
	}
	j->rc = chunkstore_put_aligned(im->s->cs, j->c->id, out, j->stored);
}

static void *
io_main(void *arg)
{
	struct ioworker *w = arg;
	struct imp *im = w->im;
	struct iojob *j;

	pthread_mutex_lock(&im->iomu);
	for (;;) {
		while (im->jnext == im->njobs && !im->iostop)
			pthread_cond_wait(&im->iocv, &im->iomu);
		if (im->iostop)
			break;
		j = &im->jobs[im->jnext++];
		pthread_mutex_unlock(&im->iomu);
		io_store(w, j);
		pthread_mutex_lock(&im->iomu);
		if (++im->jdone == im->njobs)
			pthread_cond_signal(&im->iodone);
	}
	pthread_mutex_unlock(&im->iomu);
	return NULL;
}

/*
 * Remember that id is job n of this run; 0 if it was already there.  A
 * table of twice the job capacity, cleared by bumping the generation.
 */
static int
jset_add(struct imp *im, const uint8_t id[32], size_t n)
{
	uint64_t h;
	size_t i;

	memcpy(&h, id, sizeof(h));
	for (i = h & im->jmask;; i = (i + 1) & im->jmask) {
		if (im->jgen[i] != im->gen) {
			im->jgen[i] = im->gen;
			im->jset[i] = (uint32_t)n + 1;
			return 1;
		}
		if (memcmp(im->jobs[im->jset[i] - 1].c->id, id, 32) == 0)
			return 0;
	}
}

/* Add a job; the workers start on it at once. */
static int
io_post(struct imp *im, const struct blk_chunk *c, const uint8_t *data,
        int priv)
{
	struct iojob *nj;

	pthread_mutex_lock(&im->iomu);
	if (im->njobs == im->jobcap) {
		/* Only between blocks do workers not hold job pointers. */
		pthread_mutex_unlock(&im->iomu);
		return BL_ETOOBIG;
	}
	nj = &im->jobs[im->njobs++];
	nj->c = c;
	nj->data = data;
	nj->priv = priv;
	nj->rc = 0;
	pthread_cond_broadcast(&im->iocv);
	pthread_mutex_unlock(&im->iomu);
	return 0;
}

/* Wait until every posted job is done; then reset the list. */
static void
io_wait(struct imp *im)
{
	pthread_mutex_lock(&im->iomu);
	while (im->jdone < im->njobs)
		pthread_cond_wait(&im->iodone, &im->iomu);
	pthread_mutex_unlock(&im->iomu);
}

static void
io_reset(struct imp *im)
{
	pthread_mutex_lock(&im->iomu);
	im->njobs = im->jnext = im->jdone = 0;
	pthread_mutex_unlock(&im->iomu);
}

/*
 * One block in one write transaction: look every chunk up, hand the
 * missing ones to the I/O workers, feed the whole-file hash while they
 * write, then index and pin them and make them durable before commit.
 * May run again after the map grows: all its index effects are in txn.
 */
static int
block_txn(MDB_txn *txn, void *arg)
{
	struct imp *im = arg;
	struct blk *b = im->cur;
	struct index *ix = &im->s->ix;
	struct index_chunk rec;
	char hex[HASH_HEXLEN + 1];
	size_t i, k;
	int rc, wrc = 0;

	memset(&im->blkc, 0, sizeof(im->blkc));
	io_reset(im);
	im->gen++;
	for (i = 0; i < b->nch; i++) {
		const struct blk_chunk *c = &b->ch[i];

		rc = index_chunk_get(ix, txn, c->id, &rec);
		if (rc != 0 && rc != MDB_NOTFOUND)
			goto fail;
		/*
		 * An unreferenced entry may have lost its file to a gc whose
		 * commit failed after the unlink: trust it only if the file
		 * is there.
		 */
		if (rc == 0 && rec.refs == 0 &&
		        chunkstore_exists(im->s->cs, c->id) == 0)
			rc = MDB_NOTFOUND;
		if (rc == MDB_NOTFOUND) {
			/* A chunk twice in one block is written once. */
			if (!jset_add(im, c->id, im->njobs))
				continue;
			if ((rc = io_post(im, c, b->data + c->off, b->priv)) != 0)
				goto fail;
		}
	}
	if (!im->hashed) {
		if ((wrc = hash_update(im->fh, b->data, b->len)) != 0)
			snprintf(im->wwhy, sizeof(im->wwhy), "hashing: %s",
			        bl_strerror(wrc));
		im->hashed = 1;
	}
	io_wait(im);
	for (k = 0; k < im->njobs && wrc == 0; k++) {
		struct iojob *j = &im->jobs[k];

		if ((wrc = j->rc) == BL_ECHANGED) {
			snprintf(im->wwhy, sizeof(im->wwhy),
			        "the file changed while it was being imported; "
			        "nothing was added");
			break;
		}
		if (wrc != 0) {
			hash_hex(j->c->id, 32, hex);
			snprintf(im->wwhy, sizeof(im->wwhy),
			        "writing chunk %s: %s", hex, bl_strerror(wrc));
			break;
		}
		rec.size = j->c->len;
		rec.stored = j->stored;
		rec.refs = 0;
		rec.flags = j->flags;
		if ((wrc = index_chunk_put(ix, txn, j->c->id, &rec)) != 0)
			break;
		im->blkc.new_chunks++;
		im->blkc.new_bytes += j->c->len;
		im->blkc.stored_bytes += j->stored;
	}
	if (wrc != 0)
		return wrc;
	for (i = 0; i < b->nch; i++)
		if ((rc = index_pin(ix, txn, b->ch[i].id, im->session)) != 0)
			return rc;
	/* The index may name these chunks only once they are on disk. */
	if (im->njobs > 0 && (rc = chunkstore_sync(im->s->cs)) != 0) {
		snprintf(im->wwhy, sizeof(im->wwhy), "syncing chunks: %s",
		        bl_strerror(rc));
		return rc;
	}
	return 0;
fail:
	io_wait(im); /* never leave workers holding this block's bytes */
	return rc;
}

static int
append_chunks(struct imp *im, const struct blk *b)
{
	struct manifest_file *f = &im->files[b->file];
	struct manifest_chunk *nc;
	size_t need = f->nchunks + b->nch, cap = im->chcap[b->file], i;

	if (need > MANIFEST_CHUNKS_MAX)
		return BL_ETOOBIG;
	if (need > cap) {
		cap = cap ? cap : 256;
		while (cap < need)
			cap *= 2;
		if ((nc = realloc(f->chunks, cap * sizeof(*nc))) == NULL)
			return -ENOMEM;
		f->chunks = nc;
		im->chcap[b->file] = cap;
	}
	for (i = 0; i < b->nch; i++) {
		memcpy(f->chunks[f->nchunks].id, b->ch[i].id, 32);
		f->chunks[f->nchunks++].len = b->ch[i].len;
	}
	return 0;
}

static void *
writer_main(void *arg)
{
	struct imp *im = arg;
	struct blk *b;
	int rc;

	for (;;) {
		b = q_get_full(im);
		if (b->stop)
			break;
		if (im->werr) { /* drain after a failure */
			q_put(im, b, 1);
			continue;
		}
		im->cur = b;
		im->hashed = 0;
		im->wwhy[0] = '\0';
		rc = index_write(&im->s->ix, block_txn, im);
		if (rc == 0)
			rc = append_chunks(im, b);
		if (rc != 0) {
			if (im->wwhy[0] != '\0') {
				char tmp[512];

				snprintf(tmp, sizeof(tmp), "%s", im->wwhy);
				writer_fail(im, rc, "%s: %s",
				        im->src[b->file].file, tmp);
			} else
				writer_fail(im, rc, "%s: index: %s",
				        im->src[b->file].file, bl_strerror(rc));
			q_put(im, b, 1);
			continue;
		}
		atomic_store_explicit(&im->copy,
		        im->blkc.new_bytes * 2 > b->len, memory_order_relaxed);
		im->tot.new_chunks += im->blkc.new_chunks;
		im->tot.new_bytes += im->blkc.new_bytes;
		im->tot.stored_bytes += im->blkc.stored_bytes;
		if (b->file_end) {
			struct manifest_file *f = &im->files[b->file];

			if ((rc = hash_final(im->fh, f->sha256)) != 0)
				writer_fail(
				        im, rc, "hashing: %s", bl_strerror(rc));
		}
		q_put(im, b, 1);
	}
	return NULL;
}

static int
blk_add_chunk(struct blk *b, size_t off, size_t len, const uint8_t id[32])
{
	struct blk_chunk *nc;

	if (b->nch == b->chcap) {
		size_t cap = b->chcap ? b->chcap * 2 : 512;

		if ((nc = realloc(b->ch, cap * sizeof(*nc))) == NULL)
			return -ENOMEM;
		b->ch = nc;
		b->chcap = cap;
	}
	b->ch[b->nch].off = (uint32_t)off;
	b->ch[b->nch].len = (uint32_t)len;
	memcpy(b->ch[b->nch].id, id, 32);
	b->nch++;
	return 0;
}

struct reader {
	uint64_t done, total;
	uint64_t chunks, zero_chunks;
	store_progress_fn cb;
	void *cbarg;
	time_t last;
};

/* Cut the first avail bytes of b; returns bytes consumed or negative. */
static ssize_t
cut_block(
        struct imp *im, struct blk *b, size_t avail, int eof, struct reader *rd)
{
	const struct chunker *ck = &im->s->chunker;
	uint8_t id[32];
	size_t pos = 0, n;
	int zero, rc;

	while (pos < avail) {
		n = chunker_next(ck, b->data + pos, avail - pos, eof, &zero);
		if (n == 0)
			break;
		if (zero) {
			memcpy(id, ck->zero_id, 32);
			rd->zero_chunks++;
		} else if ((rc = hash_sha256(b->data + pos, n, id)) != 0)
			return rc;
		if ((rc = blk_add_chunk(b, pos, n, id)) != 0)
			return rc;
		rd->chunks++;
		pos += n;
	}
	return (ssize_t)pos;
}

/*
 * Cut one file that is mapped into memory: blocks are ranges of the
 * mapping, so nothing is copied.  The mapping is read ahead a block at a
 * time.  A file that shrinks meanwhile raises SIGBUS (see the CLI).
 */
static int
map_file(struct imp *im, size_t fi, int fd, uint64_t size, struct reader *rd,
        char *why, size_t whylen)
{
	const char *path = im->src[fi].file;
	const uint8_t *map;
	struct blk *b;
	uint64_t pos = 0, end;
	ssize_t used;
	int eof = 0;

	map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -EOPNOTSUPP;
	/* Blocks of this mapping may be in flight until the writer is done:
	 * only imp_cleanup unmaps it. */
	pthread_mutex_lock(&im->mu);
	im->maps[im->nmaps].p = (void *)map;
	im->maps[im->nmaps++].len = (size_t)size;
	pthread_mutex_unlock(&im->mu);
	(void)madvise((void *)map, (size_t)size, MADV_SEQUENTIAL);
	while (!eof) {
		if ((b = q_get_free(im)) == NULL) {
			return 1; /* the writer's error is reported by caller */
		}
		end = pos + BLK_DATA < size ? pos + BLK_DATA : size;
		eof = end == size;
		if (end + BLK_DATA <= size)
			(void)madvise(
			        (void *)(map + end), BLK_DATA, MADV_WILLNEED);
		b->data = map + pos;
		b->priv = 0;
		if (atomic_load_explicit(&im->copy, memory_order_relaxed)) {
			memcpy(b->buf, map + pos, (size_t)(end - pos));
			b->data = b->buf;
			b->priv = 1;
		}
		b->nch = 0;
		if ((used = cut_block(im, b, (size_t)(end - pos), eof, rd)) <
		        0) {
			q_put(im, b, 1);
			return bl_why(why, whylen, (int)used, "chunking %s: %s",
			        path, bl_strerror((int)used));
		}
		b->len = (size_t)used;
		b->file = fi;
		b->file_end = eof;
		b->stop = 0;
		rd->done += (uint64_t)used;
		pos += (uint64_t)used;
		if (rd->cb != NULL && time(NULL) != rd->last) {
			rd->last = time(NULL);
			rd->cb(rd->cbarg, rd->done, rd->total);
		}
		q_put(im, b, 0);
	}
	return 0;
}

/* Read and cut one file, handing blocks to the writer. */
static int
read_file(
        struct imp *im, size_t fi, struct reader *rd, char *why, size_t whylen)
{
	const char *path = im->src[fi].file;
	struct blk *b, *nb;
	struct stat st;
	size_t carry = 0, avail;
	ssize_t n, used;
	int fd, eof = 0, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return bl_why(
		        why, whylen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	        (uint64_t)st.st_size <= SIZE_MAX && im->nmaps < im->nsrc) {
		rc = map_file(
		        im, fi, fd, (uint64_t)st.st_size, rd, why, whylen);
		if (rc != -EOPNOTSUPP)
			goto out;
		rc = 0; /* cannot map: read it */
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((b = q_get_free(im)) == NULL)
		goto writer_failed;
	b->nch = 0;
	b->data = b->buf;
	b->priv = 1;
	while (!eof) {
		n = fs_read_full(fd, b->buf + carry, BLK_DATA);
		if (n < 0) {
			rc = bl_why(why, whylen, (int)n, "reading %s: %s", path,
			        bl_strerror((int)n));
			q_put(im, b, 1);
			goto out;
		}
		eof = (size_t)n < BLK_DATA;
		avail = carry + (size_t)n;
		if ((used = cut_block(im, b, avail, eof, rd)) < 0) {
			rc = bl_why(why, whylen, (int)used, "chunking %s: %s",
			        path, bl_strerror((int)used));
			q_put(im, b, 1);
			goto out;
		}
		b->len = (size_t)used;
		b->file = fi;
		b->file_end = eof;
		b->stop = 0;
		carry = avail - (size_t)used;
		rd->done += (uint64_t)n;
		if (rd->cb != NULL && time(NULL) != rd->last) {
			rd->last = time(NULL);
			rd->cb(rd->cbarg, rd->done, rd->total);
		}
		if (eof) {
			q_put(im, b, 0);
			break;
		}
		if ((nb = q_get_free(im)) == NULL) {
			q_put(im, b, 1);
			goto writer_failed;
		}
		memcpy(nb->buf, b->buf + used, carry);
		nb->nch = 0;
		nb->data = nb->buf;
		nb->priv = 1;
		q_put(im, b, 0);
		b = nb;
	}
out:
	close(fd);
	return rc;
writer_failed:
	close(fd);
	return 1; /* the writer's error is reported by the caller */
}

static int
check_sources(const struct store_src *src, size_t n, uint64_t *total,
        struct manifest_file *files, struct stat *st0, char *why, size_t whylen)
{
	struct stat st;
	size_t i, j;
	int fd;

	*total = 0;
	if (n == 0)
		return bl_why(why, whylen, BL_EUSAGE, "no files to import");
	if (n > MANIFEST_FILES_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "more than %u files in one image", MANIFEST_FILES_MAX);
	for (i = 0; i < n; i++) {
		if (!manifest_path_valid(src[i].path, strlen(src[i].path)))
			return bl_why(why, whylen, BL_EFORMAT,
			        "'%s' is not a valid path inside an image "
			        "(relative, no '..', no empty parts)",
			        src[i].path);
		for (j = 0; j < i; j++)
			if (strcmp(src[i].path, src[j].path) == 0)
				return bl_why(why, whylen, BL_EFORMAT,
				        "'%s' given twice", src[i].path);
		if ((fd = open(src[i].file, O_RDONLY | O_CLOEXEC)) < 0)
			return bl_why(why, whylen, -errno, "%s: %s",
			        src[i].file, strerror(errno));
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			return bl_why(why, whylen, -EINVAL,
			        "%s: not a regular file", src[i].file);
		}
		close(fd);
		if ((files[i].path = strdup(src[i].path)) == NULL)
			return bl_why(why, whylen, -ENOMEM, "out of memory");
		files[i].mode = st.st_mode & 07777;
		st0[i] = st;
		*total += (uint64_t)st.st_size;
	}
	return 0;
}

/* Same file, same size, not modified since check_sources looked. */
static int
unchanged(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	        a->st_size == b->st_size &&
	        a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	        a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	        a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	        a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The final transaction: manifest, image version, references. */
struct commit_ctx {
	struct store *s;
	uint64_t session; /* pins to drop and session to end; 0: none */
	const char *name;
	struct manifest m;
	uint8_t (*ids)[32];
	size_t nids;
	uint8_t *enc;
	size_t enclen;
	uint8_t mid[32];
	uint64_t size, nchunks;
	char why[256];
};

static int
commit_txn(MDB_txn *txn, void *arg)
{
	struct commit_ctx *cc = arg;
	struct store *s = cc->s;
	struct index_chunk c;
	struct index_image img;
	uint8_t sk[8];
	char meta[MANIFEST_NAME_MAX + 8], hex[HASH_HEXLEN + 1];
	MDB_val k;
	uint64_t next = 1;
	size_t i;
	int rc;

	snprintf(meta, sizeof(meta), "next:%s", cc->name);
	rc = index_meta_get_u64(&s->ix, txn, meta, &next);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (next > UINT32_MAX)
		return BL_ETOOBIG;
	cc->m.version = (uint32_t)next;
	free(cc->enc);
	cc->enc = NULL;
	if ((rc = manifest_encode(&cc->m, s->key, &cc->enc, &cc->enclen,
	             cc->why, sizeof(cc->why))) != 0)
		return rc;
	if ((rc = manifest_id(cc->enc, cc->enclen, cc->mid)) != 0)
		return rc;
	for (i = 0; i < cc->nids; i++) {
		rc = index_chunk_get(&s->ix, txn, cc->ids[i], &c);
		if (rc == MDB_NOTFOUND) {
			hash_hex(cc->ids[i], 32, hex);
			snprintf(cc->why, sizeof(cc->why),
			        "chunk %s vanished from the index", hex);
			return BL_EMISSING;
		}
		if (rc != 0)
			return rc;
		c.refs++;
		if ((rc = index_chunk_put(&s->ix, txn, cc->ids[i], &c)) != 0 ||
		        (cc->session != 0 &&
		                (rc = index_unpin(&s->ix, txn, cc->ids[i],
		                         cc->session)) != 0))
			return rc;
	}
	memcpy(img.manifest_id, cc->mid, 32);
	img.created = cc->m.created;
	img.size = cc->size;
	img.nfiles = cc->m.nfiles;
	img.nchunks = (uint32_t)cc->nchunks;
	if ((rc = store_put_image(s, txn, cc->name, cc->m.version, cc->enc,
	             cc->enclen, &img)) != 0)
		return rc;
	if ((rc = index_meta_put_u64(&s->ix, txn, meta, next + 1)) != 0)
		return rc;
	if (cc->session == 0)
		return 0;
	be64_put(sk, cc->session);
	k.mv_size = 8;
	k.mv_data = sk;
	rc = mdb_del(txn, s->ix.sessions, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
imp_setup(struct imp *im, struct blk *blks)
{
	size_t i, cap = BLK_DATA + im->s->opts.chunk_max;
	struct ioworker *w;
	void *p;

	pthread_mutex_init(&im->mu, NULL);
	pthread_cond_init(&im->cv, NULL);
	pthread_mutex_init(&im->iomu, NULL);
	pthread_cond_init(&im->iocv, NULL);
	pthread_cond_init(&im->iodone, NULL);
	for (i = 0; i < NBLK; i++) {
		if ((blks[i].buf = malloc(cap)) == NULL)
			return -ENOMEM;
		im->free_q[im->nfree++] = &blks[i];
	}
	if ((im->fh = hash_new()) == NULL)
		return -ENOMEM;
	if ((im->maps = calloc(im->nsrc ? im->nsrc : 1, sizeof(*im->maps))) ==
	        NULL)
		return -ENOMEM;
	/* At most one job per chunk of a block: len / (min + 1) + 1. */
	im->jobcap = (BLK_DATA + im->s->opts.chunk_max) /
	                (im->s->opts.chunk_min + 1) +
	        2;
	if ((im->jobs = calloc(im->jobcap, sizeof(*im->jobs))) == NULL)
		return -ENOMEM;
	for (im->jmask = 1; im->jmask < 2 * im->jobcap; im->jmask <<= 1)
		;
	im->jset = calloc(im->jmask, sizeof(*im->jset));
	im->jgen = calloc(im->jmask, sizeof(*im->jgen));
	if (im->jset == NULL || im->jgen == NULL)
		return -ENOMEM;
	im->jmask--;
	for (i = 0; i < NIO; i++) {
		w = &im->io[i];
		w->im = im;
		w->cap = ZSTD_compressBound(im->s->opts.chunk_max) +
		        CHUNKSTORE_ALIGN;
		w->cap = (w->cap + CHUNKSTORE_ALIGN - 1) &
		        ~(size_t)(CHUNKSTORE_ALIGN - 1);
		if (posix_memalign(&p, CHUNKSTORE_ALIGN, w->cap) != 0)
			return -ENOMEM;
		w->buf = p;
		if (posix_memalign(&p, CHUNKSTORE_ALIGN, w->cap) != 0)
			return -ENOMEM;
		w->zbuf = p;
		if (im->s->opts.zstd_level > 0 &&
		        (w->zc = ZSTD_createCCtx()) == NULL)
			return -ENOMEM;
		if (pthread_create(&w->th, NULL, io_main, w) != 0)
			return -EAGAIN;
		im->nio++;
	}
	return 0;
}

static void
imp_cleanup(struct imp *im, struct blk *blks)
{
	size_t i;

	pthread_mutex_lock(&im->iomu);
	im->iostop = 1;
	pthread_cond_broadcast(&im->iocv);
	pthread_mutex_unlock(&im->iomu);
	for (i = 0; i < im->nio; i++)
		pthread_join(im->io[i].th, NULL);
	for (i = 0; i < NIO; i++) {
		free(im->io[i].buf);
		free(im->io[i].zbuf);
		ZSTD_freeCCtx(im->io[i].zc);
	}
	for (i = 0; i < NBLK; i++) {
		free(blks[i].buf);
		free(blks[i].ch);
	}
	for (i = 0; i < im->nmaps; i++)
		munmap(im->maps[i].p, im->maps[i].len);
	free(im->maps);
	free(im->jobs);
	free(im->jset);
	free(im->jgen);
	hash_free(im->fh);
	pthread_mutex_destroy(&im->mu);
	pthread_cond_destroy(&im->cv);
	pthread_mutex_destroy(&im->iomu);
	pthread_cond_destroy(&im->iocv);
	pthread_cond_destroy(&im->iodone);
}

int
store_import(struct store *s, const char *name, const struct store_src *src,
        size_t n, store_progress_fn cb, void *arg,
        struct store_import_stats *st, char *why, size_t whylen)
{
	struct blk blks[NBLK], stop;
	struct imp im;
	struct reader rd;
	struct commit_ctx cc;
	struct stat *st0 = NULL;
	pthread_t wt;
	size_t i;
	int lockfd = -1, rc, started = 0, have_session = 0;
	uint64_t f;

	memset(&im, 0, sizeof(im));
	atomic_init(&im.copy, 0);
	memset(blks, 0, sizeof(blks));
	memset(&rd, 0, sizeof(rd));
	memset(&cc, 0, sizeof(cc));
	memset(st, 0, sizeof(*st));
	if (!manifest_name_valid(name))
		return bl_why(why, whylen, BL_EFORMAT,
		        "'%s' is not a valid image name (1-128 of "
		        "A-Z a-z 0-9 . _ + -, not starting with . or -)",
		        name);
	if ((rc = store_load_key(s, why, whylen)) != 0)
		return rc;
	im.s = s;
	im.src = src;
	im.nsrc = n;
	im.files = calloc(n ? n : 1, sizeof(*im.files));
	im.chcap = calloc(n ? n : 1, sizeof(*im.chcap));
	st0 = calloc(n ? n : 1, sizeof(*st0));
	if (im.files == NULL || im.chcap == NULL || st0 == NULL) {
		rc = bl_why(why, whylen, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = check_sources(
	             src, n, &rd.total, im.files, st0, why, whylen)) != 0)
		goto out;
	if ((rc = imp_setup(&im, blks)) != 0) {
		bl_why(why, whylen, rc, "out of memory");
		goto out;
	}
	if ((rc = store_session_begin(s, &im.session, &lockfd)) != 0) {
		bl_why(why, whylen, rc, "starting import: %s", bl_strerror(rc));
		goto out;
	}
	have_session = 1;
	s->cs->session = im.session;
	/* One data sync per block; the meta page rides on the next one. */
	mdb_env_set_flags(s->ix.env, MDB_NOMETASYNC, 1);
	if ((rc = pthread_create(&wt, NULL, writer_main, &im)) != 0) {
		rc = bl_why(why, whylen, -rc, "starting writer thread");
		goto out;
	}
	started = 1;
	rd.cb = cb;
	rd.cbarg = arg;
	for (i = 0; i < n && rc == 0; i++)
		rc = read_file(&im, i, &rd, why, whylen);
	memset(&stop, 0, sizeof(stop));
	stop.stop = 1;
	q_put(&im, &stop, 0);
	pthread_join(wt, NULL);
	started = 0;
	if (im.werr) {
		rc = bl_why(why, whylen, im.werr, "%s", im.wwhy);
		goto out;
	}
	if (rc != 0)
		goto out;
	if (cb != NULL)
		cb(arg, rd.done, rd.total);

	/* A file written to meanwhile may disagree with its own chunks. */
	for (i = 0; i < n; i++) {
		struct stat now;

		if (stat(src[i].file, &now) < 0 || !unchanged(&st0[i], &now)) {
			rc = bl_why(why, whylen, BL_ECHANGED,
			        "%s changed while it was being imported; "
			        "nothing was added",
			        src[i].file);
			goto out;
		}
	}
	/* Chunks reused from an earlier failed import may not be synced. */
	if ((rc = chunkstore_sync(s->cs)) != 0) {
		bl_why(why, whylen, rc, "syncing chunks: %s", bl_strerror(rc));
		goto out;
	}

	/* Commit the version. */
	snprintf(cc.m.name, sizeof(cc.m.name), "%s", name);
	cc.m.created = (uint64_t)time(NULL);
	cc.m.nfiles = (uint32_t)n;
	cc.m.files = im.files;
	cc.s = s;
	cc.session = im.session;
	cc.name = name;
	for (f = 0; f < n; f++) {
		uint32_t c;

		im.files[f].size = 0;
		for (c = 0; c < im.files[f].nchunks; c++)
			im.files[f].size += im.files[f].chunks[c].len;
		cc.size += im.files[f].size;
		cc.nchunks += im.files[f].nchunks;
	}
	if (cc.nchunks > MANIFEST_CHUNKS_MAX) {
		rc = bl_why(why, whylen, BL_ETOOBIG,
		        "image has %" PRIu64 " chunks, more than %u",
		        cc.nchunks, MANIFEST_CHUNKS_MAX);
		goto out;
	}
	if ((rc = store_unique_ids(&cc.m, &cc.ids, &cc.nids)) != 0) {
		bl_why(why, whylen, rc, "out of memory");
		goto out;
	}
	if ((rc = index_write(&s->ix, commit_txn, &cc)) != 0) {
		bl_why(why, whylen, rc, "committing %s: %s", name,
		        cc.why[0] ? cc.why : bl_strerror(rc));
		goto out;
	}
	/* Committed: a failed sync is worth a warning, not a retry that
	 * would add a duplicate version. */
	if ((rc = mdb_env_sync(s->ix.env, 1)) != 0)
		log_warnx("syncing index after %s@%" PRIu32 ": %s", name,
		        cc.m.version, mdb_strerror(rc));
	rc = 0;
	st->version = cc.m.version;
	memcpy(st->manifest_id, cc.mid, 32);
	st->files = n;
	st->bytes = rd.done;
	st->chunks = rd.chunks;
	st->zero_chunks = rd.zero_chunks;
	st->new_chunks = im.tot.new_chunks;
	st->new_bytes = im.tot.new_bytes;
	st->stored_bytes = im.tot.stored_bytes;
out:
	if (started) { /* only on an early exit while the writer runs */
		memset(&stop, 0, sizeof(stop));
		stop.stop = 1;
		q_put(&im, &stop, 0);
		pthread_join(wt, NULL);
	}
	mdb_env_set_flags(s->ix.env, MDB_NOMETASYNC, 0);
	if (have_session) {
		/* On success the commit dropped the record already. */
		store_session_end(s, im.session, lockfd);
		s->cs->session = 0;
	}
	imp_cleanup(&im, blks);
	free(cc.enc);
	free(cc.ids);
	if (im.files != NULL)
		for (i = 0; i < n; i++) {
			free(im.files[i].path);
			free(im.files[i].chunks);
		}
	free(im.files);
	free(im.chcap);
	free(st0);
	return rc;
}

int
store_republish(struct store *s, const char *name, uint32_t from,
        uint32_t *version, char *why, size_t whylen)
{
	struct commit_ctx cc;
	struct manifest *m = NULL;
	uint32_t f;
	int rc;

	memset(&cc, 0, sizeof(cc));
	if ((rc = store_load_key(s, why, whylen)) != 0)
		return rc;
	if ((rc = store_manifest(s, name, from, &m, why, whylen)) != 0)
		return rc;
	cc.s = s;
	cc.name = name;
	cc.m = *m;
	cc.m.created = (uint64_t)time(NULL);
	for (f = 0; f < m->nfiles; f++) {
		cc.size += m->files[f].size;
		cc.nchunks += m->files[f].nchunks;
	}
	if ((rc = store_unique_ids(m, &cc.ids, &cc.nids)) != 0)
		bl_why(why, whylen, rc, "out of memory");
	else if ((rc = index_write(&s->ix, commit_txn, &cc)) != 0)
		bl_why(why, whylen, rc, "committing %s: %s", name,
		        cc.why[0] ? cc.why : bl_strerror(rc));
	else {
		*version = cc.m.version;
		if (mdb_env_sync(s->ix.env, 1) != 0)
			log_warnx("syncing index after %s@%" PRIu32, name,
			        cc.m.version);
	}
	free(cc.enc);
	free(cc.ids);
	manifest_free(m);
	return rc;
}

/*
 * bootfs.c - published boot files and the shared cache of verified
 * chunks they are read through (see bootfs.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootfs.h"
#include "error.h"
#include "hash.h"
#include "log.h"

#define BUCKETS 1024 /* cache hash buckets; a power of two */

/* A cached chunk: its content, decompressed and checked. */
struct bcent {
	struct bootfs *owner;        /* for bootfs_piece_put */
	struct bcent *hnext;         /* bucket chain */
	struct bcent *lprev, *lnext; /* LRU list, while refs == 0 */
	uint8_t id[32];
	uint8_t *data;
	size_t len;
	int refs;
};

/* A published name and the file it names (one reference each). */
struct bname {
	char *name;
	struct bootfs_file *f;
};

struct bootfs {
	struct store *s;
	size_t cache_max;
	struct bname *names; /* sorted by name */
	size_t nnames;
	size_t nfiles;
	uint64_t bytes;
	struct bcent *bucket[BUCKETS];
	struct bcent *lru_head, *lru_tail; /* head: least recently used */
	size_t idle_bytes, all_bytes;
	struct bootfs_stats st;
};

int
bootfs_new(struct store *s, size_t cache_bytes, struct bootfs **out)
{
	struct bootfs *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -ENOMEM;
	b->s = s;
	b->cache_max = cache_bytes;
	*out = b;
	return 0;
}

/* --- files ------------------------------------------------------------ */

void
bootfs_file_put(struct bootfs_file *f)
{
	if (f == NULL || --f->refs > 0)
		return;
	free(f->name);
	free(f->ids);
	free(f->offs);
	free(f);
}

static struct bootfs_file *
file_new(const struct manifest *m, const struct manifest_file *mf)
{
	struct bootfs_file *f;
	uint32_t i;
	size_t n;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->refs = 1;
	n = strlen(m->name) + 12 + strlen(mf->path) + 1;
	f->name = malloc(n);
	f->ids = calloc(mf->nchunks ? mf->nchunks : 1, 32);
	f->offs = calloc((size_t)mf->nchunks + 1, sizeof(*f->offs));
	if (f->name == NULL || f->ids == NULL || f->offs == NULL) {
		bootfs_file_put(f);
		return NULL;
	}
	snprintf(f->name, n, "%s@%" PRIu32 "/%s", m->name, m->version,
	        mf->path);
	f->size = mf->size;
	memcpy(f->sha256, mf->sha256, 32);
	f->nchunks = mf->nchunks;
	for (i = 0; i < mf->nchunks; i++) {
		memcpy(f->ids[i], mf->chunks[i].id, 32);
		f->offs[i + 1] = f->offs[i] + mf->chunks[i].len;
	}
	return f;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bname *)a)->name,
	        ((const struct bname *)b)->name);
}

static void
names_free(struct bname *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		bootfs_file_put(v[i].f);
	}
	free(v);
}

/* Add name -> f (taking a new reference) unless name is there already. */
static int
names_add(struct bname **v, size_t *n, size_t *cap, const char *name,
        struct bootfs_file *f)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, name) == 0)
			return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct bname *nv = realloc(*v, nc * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	if (((*v)[*n].name = strdup(name)) == NULL)
		return -ENOMEM;
	(*v)[*n].f = f;
	f->refs++;
	(*n)++;
	return 0;
}

int
bootfs_publish(struct bootfs *b, const struct bootfs_ref *refs, size_t n,
        size_t *missing, char *why, size_t whylen)
{
	struct bname *v = NULL;
	size_t nv = 0, cap = 0, i, nmiss = 0, nfiles = 0;
	uint64_t bytes = 0;
	char alias[BOOTFS_NAME_MAX + 1], w[256];
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		const struct manifest_file *mf;
		struct bootfs_file *f;
		struct manifest *m;
		size_t k;

		if (store_manifest(b->s, refs[i].image, refs[i].version, &m, w,
		            sizeof(w)) != 0) {
			nmiss++;
			continue;
		}
		if ((mf = manifest_find(m, refs[i].path)) == NULL) {
			log_warnx("boot files: %s@%" PRIu32 " has no '%s'",
			        m->name, m->version, refs[i].path);
			manifest_free(m);
			nmiss++;
			continue;
		}
		if ((f = file_new(m, mf)) == NULL) {
			manifest_free(m);
			rc = -ENOMEM;
			break;
		}
		/* The same file named twice is published once. */
		for (k = 0; k < nv; k++)
			if (strcmp(v[k].name, f->name) == 0)
				break;
		if (k == nv) {
			nfiles++;
			bytes += f->size;
		}
		rc = names_add(&v, &nv, &cap, f->name, f);
		/* "IMAGE/PATH": the newest version any ref names wins,
		 * so refs are taken newest first for their aliases. */
		snprintf(alias, sizeof(alias), "%s/%s", m->name, mf->path);
		for (k = 0; rc == 0 && k < nv; k++)
			if (strcmp(v[k].name, alias) == 0) {
				struct bootfs_file *old = v[k].f;
				const char *at = strchr(old->name, '@');

				if (at != NULL && strtoul(at + 1, NULL, 10) <
				                          m->version) {
					bootfs_file_put(old);
					v[k].f = f;
					f->refs++;
				}
				break;
			}
		if (rc == 0 && k == nv)
			rc = names_add(&v, &nv, &cap, alias, f);
		bootfs_file_put(f); /* the names hold it now */
		manifest_free(m);
	}
	if (rc != 0) {
		names_free(v, nv);
		return bl_why(why, whylen, rc, "publishing boot files: %s",
		        bl_strerror(rc));
	}
	if (nv > 0)
		qsort(v, nv, sizeof(*v), name_cmp);
	names_free(b->names, b->nnames);
	b->names = v;
	b->nnames = nv;
	b->nfiles = nfiles;
	b->bytes = bytes;
	if (missing != NULL)
		*missing = nmiss;
	return 0;
}

size_t
bootfs_count(const struct bootfs *b, uint64_t *bytes)
{
	if (bytes != NULL)
		*bytes = b->bytes;
	return b->nfiles;
}

struct bootfs_file *
bootfs_lookup(struct bootfs *b, const char *name)
{
	char buf[BOOTFS_NAME_MAX + 1];
	struct bname key, *hit;
	size_t i, n;

	while (*name == '/' || *name == '\\')
		name++;
	if ((n = strlen(name)) > BOOTFS_NAME_MAX || b->nnames == 0)
		return NULL;
	for (i = 0; i <= n; i++)
		buf[i] = name[i] == '\\' ? '/' : name[i];
	key.name = buf;
	hit = bsearch(&key, b->names, b->nnames, sizeof(*b->names), name_cmp);
	if (hit == NULL)
		return NULL;
	hit->f->refs++;
	return hit->f;
}

/* --- the chunk cache ------------------------------------------------- */

static size_t
bucket_of(const uint8_t id[32])
{
	return ((size_t)id[0] << 8 | id[1]) & (BUCKETS - 1);
}

static void
lru_unlink(struct bootfs *b, struct bcent *e)
{
	if (e->lprev != NULL)
		e->lprev->lnext = e->lnext;
	else
		b->lru_head = e->lnext;
	if (e->lnext != NULL)
		e->lnext->lprev = e->lprev;
	else
		b->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
	b->idle_bytes -= e->len;
}

static void
ent_free(struct bootfs *b, struct bcent *e)
{
	struct bcent **pp = &b->bucket[bucket_of(e->id)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	b->all_bytes -= e->len;
	free(e->data);
	free(e);
}

/* Evict idle entries, least recently used first, down to the budget. */
static void
trim(struct bootfs *b)
{
	while (b->idle_bytes > b->cache_max && b->lru_head != NULL) {
		struct bcent *e = b->lru_head;

		lru_unlink(b, e);
		ent_free(b, e);
	}
}

static void
ent_put(struct bootfs *b, struct bcent *e)
{
	if (--e->refs > 0)
		return;
	/* Idle: most recently used at the tail. */
	e->lprev = b->lru_tail;
	e->lnext = NULL;
	if (b->lru_tail != NULL)
		b->lru_tail->lnext = e;
	else
		b->lru_head = e;
	b->lru_tail = e;
	b->idle_bytes += e->len;
	trim(b);
}

/* The cached chunk id (len bytes), loaded and checked on a miss. */
static int
ent_get(struct bootfs *b, const uint8_t id[32], uint32_t len,
        struct bcent **out)
{
	struct bcent *e;
	size_t got, k = bucket_of(id);
	char hex[65];
	int rc;

	for (e = b->bucket[k]; e != NULL; e = e->hnext)
		if (memcmp(e->id, id, 32) == 0) {
			if (e->refs++ == 0)
				lru_unlink(b, e);
			b->st.hits++;
			*out = e;
			return 0;
		}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	        (e->data = malloc(len ? len : 1)) == NULL) {
		free(e);
		return -ENOMEM;
	}
	/* Verified: the content's SHA-256 must be its id. */
	rc = store_read_chunk(b->s, id, e->data, len, &got, 1);
	if (rc == 0 && got != len)
		rc = BL_ECORRUPT;
	if (rc == BL_ETOOBIG)
		rc = BL_ECORRUPT; /* larger than its manifest says */
	if (rc != 0) {
		hash_hex(id, 32, hex);
		if (rc == BL_ECORRUPT)
			b->st.bad++;
		log_warnx("boot files: chunk %s: %s; not served", hex,
		        bl_strerror(rc));
		free(e->data);
		free(e);
		return rc;
	}
	memcpy(e->id, id, 32);
	e->owner = b;
	e->len = len;
	e->refs = 1;
	e->hnext = b->bucket[k];
	b->bucket[k] = e;
	b->all_bytes += len;
	b->st.loads++;
	*out = e;
	return 0;
}

/* Point c at the chunk holding off (< c->f->size). */
static int
seek(struct bootfs *b, struct bootfs_cursor *c, uint64_t off)
{
	struct bootfs_file *f = c->f;
	uint32_t lo = 0, hi = f->nchunks;
	int rc;

	if (c->ent != NULL && off >= f->offs[c->idx] &&
	        off < f->offs[c->idx + 1])
		return 0;
	/* The next chunk, or a binary search. */
	if (c->ent != NULL && off == f->offs[c->idx + 1])
		lo = c->idx + 1;
	else
		while (hi - lo > 1) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (f->offs[mid] <= off)
				lo = mid;
			else
				hi = mid;
		}
	bootfs_cursor_done(b, c);
	if ((rc = ent_get(b, f->ids[lo],
	             (uint32_t)(f->offs[lo + 1] - f->offs[lo]), &c->ent)) != 0)
		return rc;
	c->idx = lo;
	return 0;
}

int
bootfs_read(struct bootfs *b, struct bootfs_cursor *c, uint64_t off,
        uint8_t *buf, size_t len, size_t *got)
{
	struct bootfs_file *f = c->f;
	size_t done = 0;
	int rc;

	*got = 0;
	while (done < len && off < f->size) {
		uint64_t in;
		size_t n;

		if ((rc = seek(b, c, off)) != 0)
			return rc;
		in = off - f->offs[c->idx];
		n = (size_t)(c->ent->len - in);
		if (n > len - done)
			n = len - done;
		memcpy(buf + done, c->ent->data + in, n);
		done += n;
		off += n;
	}
	*got = done;
	return 0;
}

int
bootfs_read_piece(struct bootfs *b, struct bootfs_cursor *c, uint64_t off,
        size_t len, struct bootfs_piece *p)
{
	struct bootfs_file *f = c->f;
	uint64_t in;
	int rc;

	memset(p, 0, sizeof(*p));
	if (off >= f->size || len == 0)
		return 0;
	if ((rc = seek(b, c, off)) != 0)
		return rc;
	in = off - f->offs[c->idx];
	p->data = c->ent->data + in;
	p->len = (size_t)(c->ent->len - in);
	if (p->len > len)
		p->len = len;
	c->ent->refs++; /* the piece's own reference */
	p->hold = c->ent;
	return 0;
}

void
bootfs_piece_put(void *hold)
{
	struct bcent *e = hold;

	if (e != NULL)
		ent_put(e->owner, e);
}

void
bootfs_cursor_done(struct bootfs *b, struct bootfs_cursor *c)
{
	if (c->ent != NULL)
		ent_put(b, c->ent);
	c->ent = NULL;
}

void
bootfs_stats(const struct bootfs *b, struct bootfs_stats *st)
{
	*st = b->st;
	st->cached = b->all_bytes;
}

void
bootfs_free(struct bootfs *b)
{
	size_t k;

	if (b == NULL)
		return;
	names_free(b->names, b->nnames);
	for (k = 0; k < BUCKETS; k++)
		while (b->bucket[k] != NULL) {
			struct bcent *e = b->bucket[k];

			/* A cursor still holding e is a caller's bug;
			 * free it anyway rather than leak. */
			b->bucket[k] = e->hnext;
			free(e->data);
			free(e);
		}
	free(b);
}

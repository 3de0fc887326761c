/*
 * test_manifest.c - the manifest codec, its bounds and its signature.
 *
 * Decoder cases are hand-built byte buffers (struct mspec + build(), a
 * builder independent of manifest_encode()) with one defect each, so each
 * check of the decoder is driven on its own.  Valid hand-built buffers must
 * also re-encode to the same body, which cross-checks the encoder against
 * the documented layout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "error.h"
#include "hash.h"
#include "manifest.h"
#include "test_list.h"

static struct sign_key *key, *other_key;
static uint8_t pub[SIGN_PUB_LEN], other_pub[SIGN_PUB_LEN];

static int
suite_init(void)
{
	if (sign_keygen(&key) < 0 || sign_keygen(&other_key) < 0 ||
	        sign_key_pub(key, pub) < 0 ||
	        sign_key_pub(other_key, other_pub) < 0)
		return -1;
	return 0;
}

static int
suite_cleanup(void)
{
	sign_key_free(key);
	sign_key_free(other_key);
	return 0;
}

/*
 * Test-side builder: writes the documented layout field by field.  Counts
 * (nfiles, nchunks) are written as given, independent of how many entries
 * follow, so that mismatches can be built.
 */
#define TB_MAX 4096

struct tb {
	uint8_t b[TB_MAX];
	size_t len;
};

static void
tb_mem(struct tb *t, const void *p, size_t n)
{
	CU_ASSERT_FATAL(n <= TB_MAX - t->len);
	memcpy(t->b + t->len, p, n);
	t->len += n;
}

static void
tb_be(struct tb *t, uint64_t v, size_t n)
{
	uint8_t b[8];
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	tb_mem(t, b, n);
}

struct fspec {
	const char *path;
	size_t plen; /* bytes of path written; 0: strlen(path) */
	uint32_t mode;
	uint64_t size;
	uint32_t nchunks; /* count written */
	uint32_t nlens;   /* chunk entries written */
	uint32_t lens[4];
};

struct mspec {
	const char *magic;
	uint16_t format;
	uint16_t flags;
	const char *name;
	size_t namelen; /* 0: strlen(name) */
	uint32_t version;
	uint64_t created;
	uint32_t nfiles; /* count written */
	uint32_t nspecs; /* file entries written */
	struct fspec f[4];
	uint8_t alg;
	size_t extra; /* trailing garbage after the trailer */
};

static const struct mspec base = {
        .magic = "BLMF",
        .format = 1,
        .name = "edge-os",
        .version = 3,
        .created = 1700000000,
        .nfiles = 3,
        .nspecs = 3,
        .f = {{.path = "bin/sh",
                      .mode = 0755,
                      .size = 100,
                      .nchunks = 2,
                      .nlens = 2,
                      .lens = {60, 40}},
                {.path = "etc/empty", .mode = 0644},
                {.path = "etc/motd",
                        .mode = 0644,
                        .size = 5,
                        .nchunks = 1,
                        .nlens = 1,
                        .lens = {5}}},
        .alg = 1,
};

static void
build(struct tb *t, const struct mspec *s)
{
	const struct fspec *f;
	uint8_t fill[73];
	size_t n;
	uint32_t i, j;

	t->len = 0;
	tb_mem(t, s->magic, 4);
	tb_be(t, s->format, 2);
	tb_be(t, s->flags, 2);
	n = s->namelen ? s->namelen : strlen(s->name);
	tb_be(t, n, 2);
	tb_mem(t, s->name, n);
	tb_be(t, s->version, 4);
	tb_be(t, s->created, 8);
	tb_be(t, s->nfiles, 4);
	for (i = 0; i < s->nspecs; i++) {
		f = &s->f[i];
		n = f->plen ? f->plen : strlen(f->path);
		tb_be(t, n, 2);
		tb_mem(t, f->path, n);
		tb_be(t, f->mode, 4);
		tb_be(t, f->size, 8);
		memset(fill, 0xa0 + (int)i, 32);
		tb_mem(t, fill, 32);
		tb_be(t, f->nchunks, 4);
		for (j = 0; j < f->nlens; j++) {
			memset(fill, 0x10 * (int)i + (int)j, 32);
			tb_mem(t, fill, 32);
			tb_be(t, f->lens[j], 4);
		}
	}
	/* Trailer: decode does not check key id or signature. */
	tb_be(t, s->alg, 1);
	memset(fill, 0x5a, sizeof(fill));
	tb_mem(t, fill, 8 + 64);
	memset(fill, 0xee, sizeof(fill));
	for (n = s->extra; n > 0; n -= n < 73 ? n : 73)
		tb_mem(t, fill, n < 73 ? n : 73);
}

/* Decode p[0..len) from an exact-size copy, so ASan sees any over-read. */
static int
decode_copy(const uint8_t *p, size_t len, struct manifest **m, char *why,
        size_t whylen)
{
	uint8_t *copy;
	int rc;

	copy = malloc(len ? len : 1);
	CU_ASSERT_FATAL(copy != NULL);
	if (len > 0)
		memcpy(copy, p, len);
	rc = manifest_decode(copy, len, m, why, whylen);
	free(copy);
	return rc;
}

static char longname[MANIFEST_NAME_MAX + 2];
static char longpath[MANIFEST_PATH_MAX + 2];

static void
set_longname(size_t n)
{
	memset(longname, 'n', n);
	longname[n] = '\0';
}

static void
set_longpath(size_t n)
{
	memset(longpath, 'p', n);
	longpath[n] = '\0';
}

/* One defect each; see dcases[]. */
static void
m_none(struct mspec *s)
{
	(void)s;
}
static void
m_magic(struct mspec *s)
{
	s->magic = "BLMX";
}
static void
m_format2(struct mspec *s)
{
	s->format = 2;
}
static void
m_format0(struct mspec *s)
{
	s->format = 0;
}
static void
m_flags(struct mspec *s)
{
	s->flags = 0x8000;
}
static void
m_name_empty(struct mspec *s)
{
	s->name = "";
}
static void
m_name_dot(struct mspec *s)
{
	s->name = ".x";
}
static void
m_name_dash(struct mspec *s)
{
	s->name = "-x";
}
static void
m_name_slash(struct mspec *s)
{
	s->name = "a/b";
}
static void
m_name_space(struct mspec *s)
{
	s->name = "a b";
}
static void
m_name_nul(struct mspec *s)
{
	s->name = "ab\0c";
	s->namelen = 4;
}
static void
m_name_128(struct mspec *s)
{
	set_longname(128);
	s->name = longname;
}
static void
m_name_129(struct mspec *s)
{
	set_longname(129);
	s->name = longname;
}
static void
m_version0(struct mspec *s)
{
	s->version = 0;
}
static void
m_no_files(struct mspec *s)
{
	s->nfiles = s->nspecs = 0;
	s->name = "x";
}
static void
m_nfiles_over_max(struct mspec *s)
{
	s->nfiles = MANIFEST_FILES_MAX + 1;
}
static void
m_nfiles_vs_input(struct mspec *s)
{
	s->nfiles = MANIFEST_FILES_MAX;
}
static void
m_nfiles_more(struct mspec *s)
{
	s->nfiles = 4;
}
static void
m_nfiles_fewer(struct mspec *s)
{
	s->nfiles = 2;
}
static void
m_path_abs(struct mspec *s)
{
	s->f[0].path = "/abs";
}
static void
m_path_dslash(struct mspec *s)
{
	s->f[0].path = "a//b";
}
static void
m_path_dotdot_in(struct mspec *s)
{
	s->f[0].path = "a/../b";
}
static void
m_path_dot_in(struct mspec *s)
{
	s->f[0].path = "a/./b";
}
static void
m_path_trailing(struct mspec *s)
{
	s->f[0].path = "a/";
}
static void
m_path_empty(struct mspec *s)
{
	s->f[0].path = "";
}
static void
m_path_nul(struct mspec *s)
{
	s->f[0].path = "a\0b";
	s->f[0].plen = 3;
}
static void
m_path_dotdot(struct mspec *s)
{
	s->f[0].path = "..";
}
static void
m_path_1024(struct mspec *s)
{
	set_longpath(1024);
	s->f[2].path = longpath; /* 'p' sorts after "etc/" */
}
static void
m_path_1025(struct mspec *s)
{
	set_longpath(1025);
	s->f[2].path = longpath;
}
static void
m_unsorted(struct mspec *s)
{
	s->f[1].path = "etc/motd";
	s->f[2].path = "etc/empty";
	s->f[1].size = 5;
	s->f[1].nchunks = s->f[1].nlens = 1;
	s->f[1].lens[0] = 5;
	s->f[2].size = 0;
	s->f[2].nchunks = s->f[2].nlens = 0;
}
static void
m_duplicate(struct mspec *s)
{
	s->f[2].path = "etc/empty";
}
static void
m_prefix_first(struct mspec *s)
{
	s->f[1].path = "etc";
	s->f[2].path = "etc-";
}
static void
m_prefix_last(struct mspec *s)
{
	s->f[1].path = "etc-";
	s->f[2].path = "etc";
}
static void
m_mode_max(struct mspec *s)
{
	s->f[1].mode = 07777;
}
static void
m_mode_over(struct mspec *s)
{
	s->f[1].mode = 010000;
}
static void
m_chunk_zero(struct mspec *s)
{
	s->f[0].nchunks = s->f[0].nlens = 3;
	s->f[0].lens[0] = 60;
	s->f[0].lens[1] = 0;
	s->f[0].lens[2] = 40;
}
static void
m_chunk_max(struct mspec *s)
{
	s->f[2].size = MANIFEST_CHUNK_LEN_MAX;
	s->f[2].lens[0] = MANIFEST_CHUNK_LEN_MAX;
}
static void
m_chunk_over(struct mspec *s)
{
	s->f[2].size = MANIFEST_CHUNK_LEN_MAX + 1;
	s->f[2].lens[0] = MANIFEST_CHUNK_LEN_MAX + 1;
}
static void
m_size_more(struct mspec *s)
{
	s->f[0].size = 120;
}
static void
m_size_less(struct mspec *s)
{
	s->f[0].size = 99;
}
static void
m_size_without_chunks(struct mspec *s)
{
	s->f[1].size = 7;
}
static void
m_chunks_without_size(struct mspec *s)
{
	s->f[2].size = 0;
}
static void
m_size_wraps(struct mspec *s)
{
	/* Would match if the sum were taken modulo 2^32. */
	s->f[0].size = 100 + ((uint64_t)1 << 32);
}
static void
m_nchunks_more(struct mspec *s)
{
	s->f[2].nchunks = 1000;
}
static void
m_nchunks_vs_input(struct mspec *s)
{
	/* Within the count bound, far beyond the input: no allocation. */
	s->f[0].nchunks = MANIFEST_CHUNKS_MAX;
}
static void
m_nchunks_over_max(struct mspec *s)
{
	s->f[2].nchunks = 0xffffffffu;
}
static void
m_nchunks_fewer(struct mspec *s)
{
	s->f[0].nchunks = 1;
}
static void
m_alg(struct mspec *s)
{
	s->alg = 2;
}
static void
m_trailing1(struct mspec *s)
{
	s->extra = 1;
}
static void
m_trailing100(struct mspec *s)
{
	s->extra = 100;
}

static const struct dcase {
	const char *what;
	void (*mut)(struct mspec *);
	int rc;
	const char *why; /* substring of the reason; NULL when rc is 0 */
} dcases[] = {
        {"valid base", m_none, 0, NULL},
        {"bad magic", m_magic, BL_EFORMAT, "magic"},
        {"format 2", m_format2, BL_EVERSION, "format 2"},
        {"format 0", m_format0, BL_EVERSION, "format 0"},
        {"nonzero flags", m_flags, BL_EFORMAT, "flags 0x8000"},
        {"empty name", m_name_empty, BL_EFORMAT, "invalid name"},
        {"name .x", m_name_dot, BL_EFORMAT, "invalid name"},
        {"name -x", m_name_dash, BL_EFORMAT, "invalid name"},
        {"name a/b", m_name_slash, BL_EFORMAT, "invalid name"},
        {"name with space", m_name_space, BL_EFORMAT, "invalid name"},
        {"name with NUL", m_name_nul, BL_EFORMAT, "invalid name"},
        {"name 128 bytes", m_name_128, 0, NULL},
        {"name 129 bytes", m_name_129, BL_ETOOBIG, "name length 129"},
        {"version 0", m_version0, BL_EFORMAT, "version 0"},
        {"no files", m_no_files, 0, NULL},
        {"nfiles over max", m_nfiles_over_max, BL_ETOOBIG, "65537 files"},
        {"nfiles vs input", m_nfiles_vs_input, BL_EFORMAT,
                "truncated file list"},
        {"nfiles one more", m_nfiles_more, BL_EFORMAT, "file 3: truncated"},
        {"nfiles one fewer", m_nfiles_fewer, BL_EFORMAT,
                "trailing bytes after file 2"},
        {"path /abs", m_path_abs, BL_EFORMAT, "file 0: invalid path"},
        {"path a//b", m_path_dslash, BL_EFORMAT, "file 0: invalid path"},
        {"path a/../b", m_path_dotdot_in, BL_EFORMAT, "file 0: invalid path"},
        {"path a/./b", m_path_dot_in, BL_EFORMAT, "file 0: invalid path"},
        {"path a/", m_path_trailing, BL_EFORMAT, "file 0: invalid path"},
        {"path empty", m_path_empty, BL_EFORMAT, "file 0: invalid path"},
        {"path with NUL", m_path_nul, BL_EFORMAT, "file 0: invalid path"},
        {"path ..", m_path_dotdot, BL_EFORMAT, "file 0: invalid path"},
        {"path 1024 bytes", m_path_1024, 0, NULL},
        {"path 1025 bytes", m_path_1025, BL_ETOOBIG,
                "file 2: path length 1025"},
        {"unsorted paths", m_unsorted, BL_EFORMAT, "file 2: path not after"},
        {"duplicate path", m_duplicate, BL_EFORMAT, "file 2: path not after"},
        {"prefix sorts first", m_prefix_first, 0, NULL},
        {"prefix after longer", m_prefix_last, BL_EFORMAT,
                "file 2: path not after"},
        {"mode 07777", m_mode_max, 0, NULL},
        {"mode 010000", m_mode_over, BL_EFORMAT, "file 1: mode 010000"},
        {"chunk length 0", m_chunk_zero, BL_EFORMAT,
                "file 0 chunk 1: length 0"},
        {"chunk length max", m_chunk_max, 0, NULL},
        {"chunk length over max", m_chunk_over, BL_ETOOBIG,
                "file 2 chunk 0: length 16777217"},
        {"size above sum", m_size_more, BL_EFORMAT,
                "file 0: chunk lengths sum to 100, size says 120"},
        {"size below sum", m_size_less, BL_EFORMAT,
                "file 0: chunk lengths sum to 100, size says 99"},
        {"size without chunks", m_size_without_chunks, BL_EFORMAT,
                "file 1: chunk lengths sum to 0, size says 7"},
        {"chunks without size", m_chunks_without_size, BL_EFORMAT,
                "file 2: chunk lengths sum to 5, size says 0"},
        {"size off by 2^32", m_size_wraps, BL_EFORMAT, "size says 4294967396"},
        {"nchunks > entries", m_nchunks_more, BL_EFORMAT,
                "file 2: truncated chunk list: need 36000 bytes"},
        {"nchunks vs input", m_nchunks_vs_input, BL_EFORMAT,
                "file 0: truncated chunk list"},
        {"nchunks over max", m_nchunks_over_max, BL_ETOOBIG,
                "file 2: 4294967295 chunks"},
        {"nchunks < entries", m_nchunks_fewer, BL_EFORMAT,
                "chunk lengths sum to 60, size says 100"},
        {"unknown algorithm", m_alg, BL_EFORMAT, "algorithm 2"},
        {"1 trailing byte", m_trailing1, BL_EFORMAT, "1 trailing bytes"},
        {"100 trailing bytes", m_trailing100, BL_EFORMAT, "100 trailing bytes"},
};

/* The body of a valid hand-built buffer must be what the encoder writes. */
static void
check_reencodes(const struct tb *t, struct manifest *m, const char *what)
{
	uint8_t *out;
	size_t outlen;
	char why[256] = "";

	if (manifest_encode(m, key, &out, &outlen, why, sizeof(why)) != 0) {
		fprintf(stderr, "\n%s: encode: %s\n", what, why);
		CU_FAIL("valid manifest does not re-encode");
		return;
	}
	CU_ASSERT(outlen == t->len);
	if (outlen == t->len &&
	        memcmp(out, t->b, outlen - MANIFEST_TRAILER_LEN) != 0) {
		fprintf(stderr, "\n%s: body differs from the encoder's\n",
		        what);
		CU_FAIL("encoder and builder disagree");
	}
	free(out);
}

static void
test_decode_cases(void)
{
	static struct manifest sentinel;
	struct manifest *m;
	struct mspec s;
	struct tb t;
	char why[256];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		s = base;
		dcases[i].mut(&s);
		build(&t, &s);
		why[0] = '\0';
		m = &sentinel; /* decode must reset it on failure */
		rc = decode_copy(t.b, t.len, &m, why, sizeof(why));
		if (rc != dcases[i].rc ||
		        (dcases[i].why != NULL &&
		                strstr(why, dcases[i].why) == NULL)) {
			fprintf(stderr, "\n%s: rc %d (%s), want %d \"%s\"\n",
			        dcases[i].what, rc, why, dcases[i].rc,
			        dcases[i].why ? dcases[i].why : "");
			CU_FAIL("decode result");
		}
		if (rc != 0) {
			CU_ASSERT(m == NULL);
			continue;
		}
		CU_ASSERT_FATAL(m != NULL);
		CU_ASSERT(m->nfiles == s.nfiles);
		CU_ASSERT(strcmp(m->name, s.name) == 0);
		CU_ASSERT(m->version == s.version && m->created == s.created);
		check_reencodes(&t, m, dcases[i].what);
		manifest_free(m);
	}
}

/* Decode a valid hand-built manifest and check every field. */
static void
test_decode_fields(void)
{
	struct manifest *m;
	struct tb t;
	uint8_t id[32], want[32];
	size_t i;

	build(&t, &base);
	CU_ASSERT_FATAL(manifest_decode(t.b, t.len, &m, NULL, 0) == 0);
	CU_ASSERT(strcmp(m->name, "edge-os") == 0);
	CU_ASSERT(m->version == 3 && m->created == 1700000000);
	CU_ASSERT_FATAL(m->nfiles == 3);
	CU_ASSERT(strcmp(m->files[0].path, "bin/sh") == 0);
	CU_ASSERT(m->files[0].mode == 0755 && m->files[0].size == 100);
	CU_ASSERT_FATAL(m->files[0].nchunks == 2);
	CU_ASSERT(m->files[0].chunks[0].len == 60);
	CU_ASSERT(m->files[0].chunks[1].len == 40);
	CU_ASSERT(m->files[0].chunks[1].id[31] == 0x01);
	CU_ASSERT(m->files[0].sha256[0] == 0xa0);
	CU_ASSERT(strcmp(m->files[1].path, "etc/empty") == 0);
	CU_ASSERT(m->files[1].size == 0 && m->files[1].nchunks == 0);
	CU_ASSERT(m->files[1].chunks == NULL);
	CU_ASSERT(m->files[2].chunks[0].id[0] == 0x20);
	CU_ASSERT(m->files[2].sha256[31] == 0xa2);
	for (i = 0; i < sizeof(m->key_id); i++)
		CU_ASSERT(m->key_id[i] == 0x5a);
	for (i = 0; i < sizeof(m->sig); i++)
		CU_ASSERT(m->sig[i] == 0x5a);
	manifest_free(m);
	manifest_free(NULL);

	/* The id is the hash of the body alone. */
	CU_ASSERT(manifest_id(t.b, t.len, id) == 0);
	CU_ASSERT(hash_sha256(t.b, t.len - MANIFEST_TRAILER_LEN, want) == 0);
	CU_ASSERT(memcmp(id, want, 32) == 0);
}

/* Every proper prefix of a manifest is rejected by decode and verify. */
static void
check_truncations(const uint8_t *p, size_t len)
{
	struct manifest *m;
	uint8_t id[32];
	size_t n;
	int rc;

	for (n = 0; n < len; n++) {
		m = NULL;
		rc = decode_copy(p, n, &m, NULL, 0);
		CU_ASSERT(rc == BL_EFORMAT);
		CU_ASSERT(m == NULL);
		if (rc == 0)
			manifest_free(m);
		CU_ASSERT(manifest_verify(p, n, pub, NULL, 0) != 0);
		if (n < 100) {
			CU_ASSERT(manifest_id(p, n, id) == BL_EFORMAT);
		}
	}
}

static void
test_truncation(void)
{
	struct tb t;

	build(&t, &base);
	check_truncations(t.b, t.len);
	CU_ASSERT(manifest_decode(NULL, 0, &(struct manifest *){NULL}, NULL,
	                  0) == BL_EFORMAT);
}

static void
test_limits_before_reading(void)
{
	static const uint8_t small[1];
	struct manifest *m = NULL;
	uint8_t id[32];
	char why[128] = "";

	/* Over the byte bound: refused on the length alone, nothing read. */
	CU_ASSERT(manifest_decode(small, (size_t)MANIFEST_BYTES_MAX + 1, &m,
	                  why, sizeof(why)) == BL_ETOOBIG);
	CU_ASSERT(strstr(why, "limit") != NULL);
	CU_ASSERT(m == NULL);
	CU_ASSERT(manifest_verify(small, (size_t)MANIFEST_BYTES_MAX + 1, pub,
	                  NULL, 0) == BL_ETOOBIG);
	CU_ASSERT(manifest_id(small, (size_t)MANIFEST_BYTES_MAX + 1, id) ==
	        BL_ETOOBIG);
}

/* Name and path rules, straight. */
static void
test_name_path_valid(void)
{
	static const char *good_names[] = {
	        "a", "edge-os", "A9._+-", "0abc", "a.", "x+y_z"};
	static const char *bad_names[] = {
	        "", ".x", "-x", "a/b", "a b", "a\n", "caf\xc3\xa9", "a:b"};
	static const char *good_paths[] = {"a", "a/b", "a/.b", "..a", "a..",
	        "a/...", ".hidden", "a b/c\\d", "x/y/z"};
	static const char *bad_paths[] = {"", "/", "/abs", "a//b", "a/../b",
	        "a/./b", "a/", ".", "..", "./a", "../a", "a/.", "a/..", "//"};
	char buf[MANIFEST_PATH_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++)
		CU_ASSERT(manifest_name_valid(good_names[i]) == 1);
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		CU_ASSERT(manifest_name_valid(bad_names[i]) == 0);
	CU_ASSERT(manifest_name_valid(NULL) == 0);
	memset(buf, 'n', MANIFEST_NAME_MAX + 1);
	buf[MANIFEST_NAME_MAX] = '\0';
	CU_ASSERT(manifest_name_valid(buf) == 1);
	buf[MANIFEST_NAME_MAX] = 'n';
	buf[MANIFEST_NAME_MAX + 1] = '\0';
	CU_ASSERT(manifest_name_valid(buf) == 0);

	for (i = 0; i < sizeof(good_paths) / sizeof(good_paths[0]); i++)
		CU_ASSERT(manifest_path_valid(
		                  good_paths[i], strlen(good_paths[i])) == 1);
	for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
		CU_ASSERT(manifest_path_valid(
		                  bad_paths[i], strlen(bad_paths[i])) == 0);
	CU_ASSERT(manifest_path_valid(NULL, 0) == 0);
	CU_ASSERT(manifest_path_valid("a\0b", 3) == 0);
	/* Only len bytes count. */
	CU_ASSERT(manifest_path_valid("a/b", 1) == 1);
	CU_ASSERT(manifest_path_valid("ab/", 2) == 1);
	CU_ASSERT(manifest_path_valid("a/", 2) == 0);
	memset(buf, 'p', sizeof(buf));
	CU_ASSERT(manifest_path_valid(buf, MANIFEST_PATH_MAX) == 1);
	CU_ASSERT(manifest_path_valid(buf, MANIFEST_PATH_MAX + 1) == 0);
}

/*
 * A manifest built in memory, files out of order, including an empty file
 * and a path that is a prefix of another.
 */
static struct manifest_chunk rt_chunks[6];
static struct manifest_file rt_files[5];
static struct manifest rt;

static void
rt_setup(void)
{
	static const struct {
		const char *path;
		uint32_t mode, first, n;
	} f[] = {
	        {"usr/lib/libc.so", 0755, 0, 3},
	        {"etc/empty", 0600, 0, 0},
	        {"bin/sh", 04755, 3, 2},
	        {"ab", 0644, 5, 1},
	        {"a", 0, 0, 0},
	};
	size_t i, j;

	memset(&rt, 0, sizeof(rt));
	memset(rt_files, 0, sizeof(rt_files));
	for (i = 0; i < 6; i++) {
		memset(rt_chunks[i].id, 0x30 + (int)i, 32);
		rt_chunks[i].len = (uint32_t)(1000 * (i + 1));
	}
	snprintf(rt.name, sizeof(rt.name), "edge-os_1.2+x");
	rt.version = 42;
	rt.created = 0x0102030405060708ull;
	rt.nfiles = 5;
	rt.files = rt_files;
	for (i = 0; i < 5; i++) {
		rt_files[i].path = (char *)f[i].path;
		rt_files[i].mode = f[i].mode;
		memset(rt_files[i].sha256, 0xc0 + (int)i, 32);
		rt_files[i].nchunks = f[i].n;
		rt_files[i].chunks = f[i].n ? &rt_chunks[f[i].first] : NULL;
		for (j = 0; j < f[i].n; j++)
			rt_files[i].size += rt_chunks[f[i].first + j].len;
	}
}

static int
files_equal(const struct manifest_file *a, const struct manifest_file *b)
{
	if (strcmp(a->path, b->path) != 0 || a->mode != b->mode ||
	        a->size != b->size || a->nchunks != b->nchunks ||
	        memcmp(a->sha256, b->sha256, 32) != 0)
		return 0;
	if (a->nchunks == 0)
		return a->chunks == NULL && b->chunks == NULL;
	return memcmp(a->chunks, b->chunks, a->nchunks * sizeof(*a->chunks)) ==
	        0;
}

static void
test_round_trip(void)
{
	static const char *sorted[] = {
	        "a", "ab", "bin/sh", "etc/empty", "usr/lib/libc.so"};
	struct manifest *d;
	uint8_t *out, *out2, kid[32], id[32];
	size_t outlen, outlen2, i;
	char why[256] = "";

	rt_setup();
	CU_ASSERT_FATAL(manifest_encode(&rt, key, &out, &outlen, why,
	                        sizeof(why)) == 0);
	/* Sorted in place; key id and signature recorded. */
	for (i = 0; i < 5; i++)
		CU_ASSERT(strcmp(rt.files[i].path, sorted[i]) == 0);
	CU_ASSERT(hash_sha256(pub, sizeof(pub), kid) == 0);
	CU_ASSERT(memcmp(rt.key_id, kid, 8) == 0);

	CU_ASSERT_FATAL(
	        manifest_decode(out, outlen, &d, why, sizeof(why)) == 0);
	CU_ASSERT(strcmp(d->name, rt.name) == 0);
	CU_ASSERT(d->version == rt.version && d->created == rt.created);
	CU_ASSERT_FATAL(d->nfiles == rt.nfiles);
	for (i = 0; i < d->nfiles; i++)
		CU_ASSERT(files_equal(&d->files[i], &rt.files[i]));
	CU_ASSERT(memcmp(d->key_id, kid, 8) == 0);
	CU_ASSERT(memcmp(d->key_id, out + outlen - 72, 8) == 0);
	CU_ASSERT(memcmp(d->sig, rt.sig, 64) == 0);
	CU_ASSERT(memcmp(d->sig, out + outlen - 64, 64) == 0);
	CU_ASSERT(out[outlen - MANIFEST_TRAILER_LEN] == MANIFEST_SIG_ED25519);
	CU_ASSERT(manifest_verify(out, outlen, pub, why, sizeof(why)) == 0);

	/* encode(decode(b)) == b, signature included (Ed25519 is
	 * deterministic). */
	CU_ASSERT_FATAL(manifest_encode(d, key, &out2, &outlen2, why,
	                        sizeof(why)) == 0);
	CU_ASSERT(outlen2 == outlen);
	CU_ASSERT(outlen2 == outlen && memcmp(out, out2, outlen) == 0);

	CU_ASSERT(manifest_id(out, outlen, id) == 0);
	CU_ASSERT(hash_sha256(out, outlen - MANIFEST_TRAILER_LEN, kid) == 0);
	CU_ASSERT(memcmp(id, kid, 32) == 0);

	check_truncations(out, outlen);
	manifest_free(d);
	free(out);
	free(out2);
}

static void
test_minimal(void)
{
	struct manifest m, *d;
	uint8_t *out;
	size_t outlen;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "x");
	m.version = 1;
	CU_ASSERT_FATAL(manifest_encode(&m, key, &out, &outlen, NULL, 0) == 0);
	CU_ASSERT(outlen == 100); /* 27-byte body + 73-byte trailer */
	CU_ASSERT(manifest_decode(out, outlen, &d, NULL, 0) == 0);
	CU_ASSERT(d != NULL && d->nfiles == 0 && d->files == NULL);
	CU_ASSERT(manifest_verify(out, outlen, pub, NULL, 0) == 0);
	manifest_free(d);
	CU_ASSERT(manifest_verify(out, outlen - 1, pub, NULL, 0) == BL_EFORMAT);
	free(out);
}

/* Flip bits at every position: decode or verify must catch each one. */
static void
test_tamper_every_byte(void)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	struct manifest_chunk c = {.len = 3};
	struct manifest_file f = {.path = "etc/hostname",
	        .mode = 0644,
	        .size = 3,
	        .nchunks = 1,
	        .chunks = &c};
	struct manifest m, *d;
	uint8_t *out, *bad;
	size_t outlen, i, k, alg_at;
	int drc, vrc, nbad = 0;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "t");
	m.version = 1;
	m.created = 7;
	m.nfiles = 1;
	m.files = &f;
	memset(c.id, 0x11, sizeof(c.id));
	memset(f.sha256, 0x22, sizeof(f.sha256));
	CU_ASSERT_FATAL(manifest_encode(&m, key, &out, &outlen, NULL, 0) == 0);
	CU_ASSERT_FATAL(manifest_verify(out, outlen, pub, NULL, 0) == 0);
	CU_ASSERT_FATAL((bad = malloc(outlen)) != NULL);
	alg_at = outlen - MANIFEST_TRAILER_LEN;
	for (i = 0; i < outlen; i++) {
		for (k = 0; k < sizeof(masks); k++) {
			memcpy(bad, out, outlen);
			bad[i] ^= masks[k];
			d = NULL;
			drc = manifest_decode(bad, outlen, &d, NULL, 0);
			manifest_free(d);
			vrc = manifest_verify(bad, outlen, pub, NULL, 0);
			/* The requirement: no changed byte gets through. */
			if (vrc == 0 || (drc == 0 && vrc != BL_ESIG))
				nbad++;
			/* And precisely: only the algorithm byte is a
			 * format error to verify; all else is a bad
			 * signature. */
			if (i == alg_at) {
				CU_ASSERT(
				        vrc == BL_EFORMAT && drc == BL_EFORMAT);
			} else {
				CU_ASSERT(vrc == BL_ESIG);
			}
		}
	}
	CU_ASSERT(nbad == 0);
	free(bad);
	free(out);
}

static void
test_wrong_key(void)
{
	struct manifest m;
	uint8_t *out, kid[32];
	size_t outlen;
	char why[256] = "";

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "img");
	m.version = 9;
	CU_ASSERT_FATAL(manifest_encode(&m, key, &out, &outlen, NULL, 0) == 0);
	CU_ASSERT(manifest_verify(out, outlen, other_pub, why, sizeof(why)) ==
	        BL_ESIG);
	CU_ASSERT(strstr(why, "signed by key") != NULL);

	/* Claiming the other key's id does not help: the signature fails. */
	CU_ASSERT(hash_sha256(other_pub, sizeof(other_pub), kid) == 0);
	memcpy(out + outlen - MANIFEST_TRAILER_LEN + 1, kid, 8);
	why[0] = '\0';
	CU_ASSERT(manifest_verify(out, outlen, other_pub, why, sizeof(why)) ==
	        BL_ESIG);
	CU_ASSERT(strstr(why, "bad signature") != NULL);
	CU_ASSERT(manifest_verify(out, outlen, pub, NULL, 0) == BL_ESIG);
	free(out);
}

/* Expect encode to fail with rc and a reason containing want. */
static void
expect_encode_fail(
        struct manifest *m, int rc, const char *want, const char *what)
{
	static uint8_t sentinel;
	uint8_t *out = &sentinel; /* encode must reset it on failure */
	size_t outlen = 1;
	char why[256] = "";
	int got;

	got = manifest_encode(m, key, &out, &outlen, why, sizeof(why));
	if (got != rc || strstr(why, want) == NULL) {
		fprintf(stderr, "\nencode %s: rc %d (%s), want %d \"%s\"\n",
		        what, got, why, rc, want);
		CU_FAIL("encode result");
	}
	CU_ASSERT(out == NULL && outlen == 0);
	if (got == 0)
		free(out);
}

static void
test_encode_rejects(void)
{
	struct manifest_chunk zero = {.len = 0};

	rt_setup();
	rt.name[0] = '\0';
	expect_encode_fail(&rt, BL_EFORMAT, "invalid name", "empty name");
	snprintf(rt.name, sizeof(rt.name), ".x");
	expect_encode_fail(&rt, BL_EFORMAT, "invalid name", ".x");
	snprintf(rt.name, sizeof(rt.name), "a/b");
	expect_encode_fail(&rt, BL_EFORMAT, "invalid name", "a/b");
	memset(rt.name, 'n', sizeof(rt.name)); /* 129 bytes, no NUL */
	expect_encode_fail(&rt, BL_ETOOBIG, "name longer", "long name");

	rt_setup();
	rt.version = 0;
	expect_encode_fail(&rt, BL_EFORMAT, "version 0", "version 0");

	rt_setup();
	rt.files[1].path = "etc//empty";
	expect_encode_fail(&rt, BL_EFORMAT, "file 1: invalid path", "a//b");
	rt_setup();
	rt.files[1].path = "/etc";
	expect_encode_fail(&rt, BL_EFORMAT, "file 1: invalid path", "/abs");
	rt_setup();
	set_longpath(MANIFEST_PATH_MAX + 1);
	rt.files[1].path = longpath;
	expect_encode_fail(&rt, BL_ETOOBIG, "file 1: path longer", "long");
	rt_setup();
	rt.files[1].path = NULL;
	expect_encode_fail(&rt, BL_EUSAGE, "file 1: no path", "NULL path");

	rt_setup();
	rt.files[4].path = "usr/lib/libc.so";
	expect_encode_fail(&rt, BL_EFORMAT, "duplicate path", "duplicate");

	rt_setup();
	rt.files[2].mode = 010755;
	expect_encode_fail(&rt, BL_EFORMAT, "mode 010755", "mode");

	rt_setup();
	rt.files[0].size++;
	expect_encode_fail(
	        &rt, BL_EFORMAT, "sum to 6000, size says 6001", "size");
	rt_setup();
	rt.files[1].size = 1;
	expect_encode_fail(
	        &rt, BL_EFORMAT, "sum to 0, size says 1", "empty size");
	rt_setup();
	rt.files[3].chunks = &zero;
	rt.files[3].size = 0;
	expect_encode_fail(&rt, BL_EFORMAT, "chunk 0: length 0", "len 0");
	rt_setup();
	rt_chunks[5].len = MANIFEST_CHUNK_LEN_MAX + 1;
	rt.files[3].size = rt_chunks[5].len;
	expect_encode_fail(&rt, BL_ETOOBIG, "length 16777217", "len big");
	rt_setup();
	rt.files[3].chunks = NULL;
	expect_encode_fail(&rt, BL_EUSAGE, "no chunk array", "NULL chunks");
	rt_setup();
	/* Refused on the count alone: the array is never read that far. */
	rt.files[3].nchunks = MANIFEST_CHUNKS_MAX + 1;
	expect_encode_fail(
	        &rt, BL_ETOOBIG, "chunks bring the total", "nchunks");

	rt_setup();
	rt.nfiles = MANIFEST_FILES_MAX + 1;
	expect_encode_fail(&rt, BL_ETOOBIG, "files exceed", "nfiles");
	rt_setup();
	rt.files = NULL;
	expect_encode_fail(&rt, BL_EUSAGE, "no file array", "NULL files");
}

int
test_manifest_register(void)
{
	CU_pSuite s;

	s = CU_add_suite("manifest", suite_init, suite_cleanup);
	if (s == NULL ||
	        CU_add_test(s, "name and path rules", test_name_path_valid) ==
	                NULL ||
	        CU_add_test(s, "decode fields", test_decode_fields) == NULL ||
	        CU_add_test(s, "decode: one defect each", test_decode_cases) ==
	                NULL ||
	        CU_add_test(s, "decode: every truncation", test_truncation) ==
	                NULL ||
	        CU_add_test(s, "bounds checked before reading",
	                test_limits_before_reading) == NULL ||
	        CU_add_test(s, "round trip", test_round_trip) == NULL ||
	        CU_add_test(s, "minimal manifest", test_minimal) == NULL ||
	        CU_add_test(s, "tamper every byte", test_tamper_every_byte) ==
	                NULL ||
	        CU_add_test(s, "wrong key", test_wrong_key) == NULL ||
	        CU_add_test(s, "encode rejects", test_encode_rejects) == NULL)
		return -1;
	return 0;
}

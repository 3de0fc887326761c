/*
 * fuzz_manifest.c - libFuzzer target for manifest_decode().
 *
 * Any input: decode, verify and id must not crash or leak.  An input that
 * decodes must satisfy the documented invariants and be canonical: encoding
 * the decoded manifest again (with a key made once per process) gives the
 * same body and the same length, and that encoding decodes to the same
 * fields and verifies.  Violations abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "manifest.h"
#include "sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sign_key *key;
static uint8_t pub[SIGN_PUB_LEN];

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_invariants(const struct manifest *m)
{
	const struct manifest_file *f;
	uint64_t total = 0, sum;
	uint32_t i, j;

	check(manifest_name_valid(m->name));
	check(m->version >= 1);
	check(m->nfiles <= MANIFEST_FILES_MAX);
	check((m->nfiles == 0) == (m->files == NULL));
	for (i = 0; i < m->nfiles; i++) {
		f = &m->files[i];
		check(manifest_path_valid(f->path, strlen(f->path)));
		if (i > 0)
			check(strcmp(m->files[i - 1].path, f->path) < 0);
		check(f->mode <= 07777);
		check((f->nchunks == 0) == (f->chunks == NULL));
		check((f->nchunks == 0) == (f->size == 0));
		sum = 0;
		for (j = 0; j < f->nchunks; j++) {
			check(f->chunks[j].len >= 1);
			check(f->chunks[j].len <= MANIFEST_CHUNK_LEN_MAX);
			sum += f->chunks[j].len;
		}
		check(sum == f->size);
		total += f->nchunks;
	}
	check(total <= MANIFEST_CHUNKS_MAX);
}

static int
files_equal(const struct manifest_file *a, const struct manifest_file *b)
{
	return strcmp(a->path, b->path) == 0 && a->mode == b->mode &&
	        a->size == b->size && a->nchunks == b->nchunks &&
	        memcmp(a->sha256, b->sha256, sizeof(a->sha256)) == 0 &&
	        (a->nchunks == 0 ||
	                memcmp(a->chunks, b->chunks,
	                        a->nchunks * sizeof(*a->chunks)) == 0);
}

static void
check_reencode(struct manifest *m, const uint8_t *data, size_t size)
{
	struct manifest *d;
	uint8_t *out;
	size_t outlen;
	uint32_t i;

	check(manifest_encode(m, key, &out, &outlen, NULL, 0) == 0);
	check(outlen == size);
	check(memcmp(out, data, size - MANIFEST_TRAILER_LEN) == 0);
	check(manifest_verify(out, outlen, pub, NULL, 0) == 0);
	check(manifest_decode(out, outlen, &d, NULL, 0) == 0);
	check(strcmp(d->name, m->name) == 0 && d->version == m->version &&
	        d->created == m->created && d->nfiles == m->nfiles);
	for (i = 0; i < d->nfiles; i++)
		check(files_equal(&d->files[i], &m->files[i]));
	check(memcmp(d->key_id, m->key_id, sizeof(d->key_id)) == 0);
	check(memcmp(d->sig, m->sig, sizeof(d->sig)) == 0);
	manifest_free(d);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m;
	uint8_t id[32];
	char why[256];
	int rc, vrc;

	if (key == NULL) {
		if (sign_keygen(&key) < 0 || sign_key_pub(key, pub) < 0)
			abort();
	}
	why[0] = '\0';
	rc = manifest_decode(data, size, &m, why, sizeof(why));
	/* Never signed by this process's fresh key. */
	vrc = manifest_verify(data, size, pub, NULL, 0);
	check(vrc == BL_ESIG || vrc == BL_EFORMAT);
	if (rc != 0) {
		check(m == NULL);
		check(rc == BL_EFORMAT || rc == BL_EVERSION ||
		        rc == BL_ETOOBIG);
		check(why[0] != '\0');
		return 0;
	}
	check(vrc == BL_ESIG);
	check(manifest_id(data, size, id) == 0);
	check_invariants(m);
	check_reencode(m, data, size);
	manifest_free(m);
	return 0;
}

/*
 * cli_store.c - init, stats, gc, verify and manifest export/check.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "error.h"
#include "fsutil.h"
#include "hash.h"

static int
size_opt(const char *name, const char *val, uint64_t *out)
{
	if (val == NULL || conf_parse_size(val, out) != 0)
		return cli_error(
		        BL_EUSAGE, "%s needs a size such as 64K", name);
	return 0;
}

static int
cmd_init(struct cli *c, int argc, char **argv)
{
	struct store_opts o;
	char why[512] = "";
	uint64_t v;
	int i, rc;

	store_opts_default(&o);
	/* Every option takes a value: step over both. */
	for (i = 1; i < argc; i += 2) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--zstd") == 0) {
			if ((rc = size_opt(argv[i], val, &v)) != 0)
				return rc;
			if (v > 19)
				return cli_error(BL_EUSAGE,
				        "--zstd takes 0 (off) to 19");
			o.zstd_level = (int)v;
		} else if (strcmp(argv[i], "--chunk-min") == 0 ||
		        strcmp(argv[i], "--chunk-avg") == 0 ||
		        strcmp(argv[i], "--chunk-max") == 0) {
			if ((rc = size_opt(argv[i], val, &v)) != 0)
				return rc;
			if (v > CHUNKER_MAX_LIMIT)
				return cli_error(BL_EUSAGE, "%s: at most %u",
				        argv[i], CHUNKER_MAX_LIMIT);
			if (argv[i][8] == 'm' && argv[i][9] == 'i')
				o.chunk_min = (uint32_t)v;
			else if (argv[i][8] == 'a')
				o.chunk_avg = (uint32_t)v;
			else
				o.chunk_max = (uint32_t)v;
		} else if (strcmp(argv[i], "--index-map-size") == 0) {
			if ((rc = size_opt(argv[i], val, &o.map_size)) != 0)
				return rc;
		} else if (strcmp(argv[i], "--index-map-max") == 0) {
			if ((rc = size_opt(argv[i], val, &o.map_max)) != 0)
				return rc;
		} else
			return cli_error(
			        BL_EUSAGE, "init: unknown option %s", argv[i]);
	}
	if (c->store_dir == NULL)
		return cli_error(BL_EUSAGE, "init: give --store DIR");
	if ((rc = store_init(c->store_dir, &o, why, sizeof(why))) != 0)
		return cli_error(
		        rc, "init: %s", why[0] ? why : bl_strerror(rc));
	if (!c->quiet && !c->json)
		printf("created store %s (chunks %u/%u/%u, zstd %d)\n",
		        c->store_dir, o.chunk_min, o.chunk_avg, o.chunk_max,
		        o.zstd_level);
	return 0;
}

static int
cmd_stats(struct cli *c, int argc, char **argv)
{
	struct store_usage u;
	struct store *s;
	char a[32], b[32];
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_error(BL_EUSAGE, "usage: stats");
	if ((s = cli_open_store(c)) == NULL)
		return EXIT_FAIL;
	rc = store_usage(s, &u);
	store_close(s);
	if (rc != 0)
		return cli_error(rc, "stats: %s", bl_strerror(rc));
	if (c->json)
		return cli_json_out(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
		        "chunks", (json_int_t)u.chunks, "bytes",
		        (json_int_t)u.bytes, "stored_bytes",
		        (json_int_t)u.stored_bytes, "garbage_chunks",
		        (json_int_t)u.garbage_chunks, "images",
		        (json_int_t)u.images, "versions",
		        (json_int_t)u.versions));
	printf("images    %" PRIu64 " (%" PRIu64 " versions)\n", u.images,
	        u.versions);
	printf("chunks    %" PRIu64 " (%" PRIu64 " unreferenced)\n", u.chunks,
	        u.garbage_chunks);
	printf("bytes     %s in chunks, %s on disk\n", cli_size(u.bytes, a),
	        cli_size(u.stored_bytes, b));
	return 0;
}

static int
cmd_gc(struct cli *c, int argc, char **argv)
{
	struct store_gc_stats st;
	struct store *s;
	char why[512] = "", a[32];
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_error(BL_EUSAGE, "usage: gc");
	if ((s = cli_open_store(c)) == NULL)
		return EXIT_FAIL;
	rc = store_gc(s, &st, why, sizeof(why));
	store_close(s);
	if (rc != 0)
		return cli_error(rc, "gc: %s", why[0] ? why : bl_strerror(rc));
	if (c->json)
		return cli_json_out(json_pack("{s:I, s:I, s:I, s:I, s:b}",
		        "chunks_removed", (json_int_t)st.chunks_removed,
		        "bytes_freed", (json_int_t)st.bytes_freed,
		        "orphans_removed", (json_int_t)st.orphans_removed,
		        "sessions_reaped", (json_int_t)st.sessions_reaped,
		        "orphan_sweep", st.orphan_sweep));
	printf("removed %" PRIu64 " chunks (%s), %" PRIu64
	       " orphan files; reaped %" PRIu64 " dead imports%s\n",
	        st.chunks_removed, cli_size(st.bytes_freed, a),
	        st.orphans_removed, st.sessions_reaped,
	        st.orphan_sweep ? ""
	                        : " (orphan sweep skipped: import running)");
	return 0;
}

struct verify_out {
	struct cli *c;
	json_t *problems;
};

static void
verify_problem(
        void *arg, const char *kind, const char *what, const char *problem)
{
	struct verify_out *vo = arg;

	if (vo->c->json)
		json_array_append_new(vo->problems,
		        json_pack("{s:s, s:s, s:s}", "kind", kind, "what", what,
		                "problem", problem));
	else
		fprintf(stderr, "branchline: verify: %s %s: %s\n", kind, what,
		        problem);
}

static int
cmd_verify(struct cli *c, int argc, char **argv)
{
	struct store_verify_stats st;
	struct verify_out vo = {c, NULL};
	struct store *s;
	char a[32];
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_error(BL_EUSAGE, "usage: verify");
	if ((s = cli_open_store(c)) == NULL)
		return EXIT_FAIL;
	vo.problems = json_array();
	rc = store_verify(s, verify_problem, &vo, &st);
	store_close(s);
	if (rc != 0 && rc != BL_ECORRUPT) {
		json_decref(vo.problems);
		return cli_error(rc, "verify: %s", bl_strerror(rc));
	}
	if (c->json) {
		cli_json_out(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
		        "chunks", (json_int_t)st.chunks, "bytes",
		        (json_int_t)st.bytes, "manifests",
		        (json_int_t)st.manifests, "bad_chunks",
		        (json_int_t)st.bad_chunks, "missing_chunks",
		        (json_int_t)st.missing_chunks, "bad_manifests",
		        (json_int_t)st.bad_manifests, "problems", vo.problems));
	} else {
		json_decref(vo.problems);
		printf("checked %" PRIu64 " chunks (%s) and %" PRIu64
		       " manifests: ",
		        st.chunks, cli_size(st.bytes, a), st.manifests);
		if (rc == 0)
			printf("all good\n");
		else
			printf("%" PRIu64 " corrupt, %" PRIu64
			       " missing chunks, %" PRIu64 " bad manifests\n",
			        st.bad_chunks, st.missing_chunks,
			        st.bad_manifests);
	}
	return rc == 0 ? 0 : EXIT_CORRUPT;
}

static int
cmd_manifest_export(struct cli *c, int argc, char **argv)
{
	char name[MANIFEST_NAME_MAX + 1], why[512] = "";
	struct store_version v;
	struct store *s;
	uint8_t *raw;
	size_t len;
	uint32_t ver;
	int rc;

	if (argc != 2)
		return cli_error(
		        BL_EUSAGE, "usage: manifest export NAME[@VER]");
	if (store_parse_ref(argv[1], name, sizeof(name), &ver) != 0)
		return cli_error(
		        BL_EUSAGE, "'%s' is not NAME or NAME@VERSION", argv[1]);
	if ((s = cli_open_store(c)) == NULL)
		return EXIT_FAIL;
	rc = store_lookup(s, name, ver, &v, &raw, &len, why, sizeof(why));
	store_close(s);
	if (rc != 0)
		return cli_error(rc, "%s", why[0] ? why : bl_strerror(rc));
	rc = fs_write_all(STDOUT_FILENO, raw, len);
	free(raw);
	return rc == 0 ? 0 : cli_error(rc, "writing: %s", bl_strerror(rc));
}

static int
cmd_manifest_check(struct cli *c, int argc, char **argv)
{
	struct manifest *m = NULL;
	uint8_t *buf, pub[SIGN_PUB_LEN], id[32];
	char why[512] = "", hex[HASH_HEXLEN + 1];
	const char *file = NULL, *key = NULL;
	size_t len;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else if (file == NULL)
			file = argv[i];
		else
			file = "";
	}
	if (file == NULL || file[0] == '\0' || key == NULL)
		return cli_error(
		        BL_EUSAGE, "usage: manifest check --key PUBKEY FILE");
	if ((rc = sign_pub_load(key, pub)) != 0)
		return cli_error(rc, "%s: %s", key, bl_strerror(rc));
	if ((rc = fs_read_file(file, MANIFEST_BYTES_MAX, &buf, &len)) != 0)
		return cli_error(rc, "%s: %s", file, bl_strerror(rc));
	if ((rc = manifest_decode(buf, len, &m, why, sizeof(why))) != 0 ||
	        (rc = manifest_verify(buf, len, pub, why, sizeof(why))) != 0 ||
	        (rc = manifest_id(buf, len, id)) != 0) {
		free(buf);
		manifest_free(m);
		return cli_error(rc == BL_EFORMAT || rc == BL_ETOOBIG ||
		                        rc == BL_EVERSION
		                ? BL_ECORRUPT
		                : rc,
		        "%s: %s", file, why[0] ? why : bl_strerror(rc));
	}
	hash_hex(id, 32, hex);
	if (c->json)
		rc = cli_json_out(json_pack("{s:s, s:I, s:I, s:s, s:b}", "name",
		        m->name, "version", (json_int_t)m->version, "files",
		        (json_int_t)m->nfiles, "manifest", hex, "signature_ok",
		        1));
	else
		printf("%s: %s@%" PRIu32 ", %" PRIu32
		       " files, manifest %s, signature ok\n",
		        file, m->name, m->version, m->nfiles, hex);
	free(buf);
	manifest_free(m);
	return rc;
}

const struct cli_cmd cli_store_cmds[] = {
        {"init", cmd_init,
                "[--chunk-min N] [--chunk-avg N] [--chunk-max N] [--zstd L] "
                "[--index-map-size N] [--index-map-max N]",
                "Create a store in --store DIR: chunk index, chunk directory\n"
                "and a new Ed25519 signing key.  Chunk sizes default to\n"
                "16K/64K/256K; zstd level 3 (0 turns compression off);\n"
                "the index map starts at 64M and grows, up to\n"
                "--index-map-max when given."},
        {"stats", cmd_stats, "", "Images, chunks and bytes in the store."},
        {"gc", cmd_gc, "",
                "Delete chunks no image version references.  Safe while\n"
                "imports run: chunks they use are pinned."},
        {"verify", cmd_verify, "",
                "Re-hash every chunk and check every manifest's signature\n"
                "and chunks; exit 4 naming each corrupt or missing chunk."},
        {"manifest export", cmd_manifest_export, "NAME[@VER]",
                "Write the signed manifest of a version to stdout."},
        {"manifest check", cmd_manifest_check, "--key PUBKEY FILE",
                "Decode a manifest file and verify its signature against a\n"
                "public key (e.g. STORE/keys/signing.pub); exit 4 if bad."},
        {NULL, NULL, NULL, NULL},
};

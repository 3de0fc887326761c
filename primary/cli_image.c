/*
 * cli_image.c - image add, list, show, diff, rm, and cat.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "hash.h"

static const char *
fmt_time(uint64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

static double
elapsed(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) +
	        (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* "PATH=FILE" names the path inside the image; else the base name. */
static void
parse_src(char *arg, struct store_src *src)
{
	char *eq = strchr(arg, '=');
	const char *slash;

	if (eq != NULL && eq != arg) {
		*eq = '\0';
		src->path = arg;
		src->file = eq + 1;
		return;
	}
	src->file = arg;
	slash = strrchr(arg, '/');
	src->path = slash != NULL ? slash + 1 : arg;
}

static int
cmd_add(struct cli *c, int argc, char **argv)
{
	struct store_import_stats st;
	struct store_src *src;
	struct store *s;
	struct timespec t0;
	char why[768] = "", hex[HASH_HEXLEN + 1], a[32], b[32];
	double secs, dedup;
	int i, rc;

	if (argc < 3)
		return cli_error(
		        BL_EUSAGE, "usage: image add NAME [PATH=]FILE...");
	if ((src = calloc((size_t)argc, sizeof(*src))) == NULL)
		return cli_error(-ENOMEM, "out of memory");
	for (i = 2; i < argc; i++)
		parse_src(argv[i], &src[i - 2]);
	if ((s = cli_open_store(c)) == NULL) {
		free(src);
		return EXIT_FAIL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = store_import(s, argv[1], src, (size_t)argc - 2, cli_progress, c,
	        &st, why, sizeof(why));
	secs = elapsed(&t0);
	cli_progress_done(c);
	store_close(s);
	free(src);
	if (rc != 0)
		return cli_error(rc, "image add %s: %s", argv[1],
		        why[0] ? why : bl_strerror(rc));
	hash_hex(st.manifest_id, 32, hex);
	dedup = st.bytes
	        ? 100.0 * (double)(st.bytes - st.new_bytes) / (double)st.bytes
	        : 0;
	if (c->json)
		return cli_json_out(json_pack(
		        "{s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		        "s:f}",
		        "name", argv[1], "version", (json_int_t)st.version,
		        "manifest", hex, "files", (json_int_t)st.files, "bytes",
		        (json_int_t)st.bytes, "chunks", (json_int_t)st.chunks,
		        "new_chunks", (json_int_t)st.new_chunks, "new_bytes",
		        (json_int_t)st.new_bytes, "stored_bytes",
		        (json_int_t)st.stored_bytes, "zero_chunks",
		        (json_int_t)st.zero_chunks, "seconds", secs));
	printf("added %s@%" PRIu32 "  manifest %.16s\n", argv[1], st.version,
	        hex);
	printf("  files      %" PRIu64 "\n", st.files);
	printf("  bytes      %s\n", cli_size(st.bytes, a));
	printf("  chunks     %" PRIu64 " (%" PRIu64 " new, %" PRIu64
	       " zero-run)\n",
	        st.chunks, st.new_chunks, st.zero_chunks);
	printf("  new bytes  %s, %s on disk\n", cli_size(st.new_bytes, a),
	        cli_size(st.stored_bytes, b));
	printf("  dedup      %.1f%% of the bytes were already stored\n", dedup);
	printf("  time       %.2f s (%.0f MB/s)\n", secs,
	        secs > 0 ? (double)st.bytes / secs / 1e6 : 0.0);
	return 0;
}

static int
cmd_list(struct cli *c, int argc, char **argv)
{
	struct store_version *v;
	struct store *s;
	json_t *arr;
	char hex[HASH_HEXLEN + 1], t[32], sz[32];
	size_t n, i;
	int rc;

	if (argc > 2)
		return cli_error(BL_EUSAGE, "usage: image list [NAME]");
	if ((s = cli_open_store(c)) == NULL)
		return EXIT_FAIL;
	rc = store_list(s, argc == 2 ? argv[1] : NULL, &v, &n);
	store_close(s);
	if (rc != 0)
		return cli_error(rc, "image list: %s", bl_strerror(rc));
	if (c->json) {
		arr = json_array();
		for (i = 0; i < n; i++) {
			hash_hex(v[i].im.manifest_id, 32, hex);
			json_array_append_new(arr,
			        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, "
			                  "s:s}",
			                "name", v[i].name, "version",
			                (json_int_t)v[i].version, "created",
			                (json_int_t)v[i].im.created, "files",
			                (json_int_t)v[i].im.nfiles, "size",
			                (json_int_t)v[i].im.size, "chunks",
			                (json_int_t)v[i].im.nchunks, "manifest",
			                hex));
		}
		free(v);
		return cli_json_out(arr);
	}
	if (argc == 2 && n == 0) {
		free(v);
		return cli_error(BL_ENOTFOUND, "no image %s", argv[1]);
	}
	printf("%-24s %4s  %-20s %6s %10s  %s\n", "NAME", "VER", "CREATED",
	        "FILES", "SIZE", "MANIFEST");
	for (i = 0; i < n; i++) {
		hash_hex(v[i].im.manifest_id, 32, hex);
		printf("%-24s %4" PRIu32 "  %-20s %6" PRIu32 " %10s  %.12s\n",
		        v[i].name, v[i].version, fmt_time(v[i].im.created, t),
		        v[i].im.nfiles, cli_size(v[i].im.size, sz), hex);
	}
	free(v);
	return 0;
}

static int
load_ref(struct cli *c, struct store *s, const char *ref, struct manifest **m)
{
	char name[MANIFEST_NAME_MAX + 1], why[512] = "";
	uint32_t ver;
	int rc;

	(void)c;
	if (store_parse_ref(ref, name, sizeof(name), &ver) != 0)
		return cli_error(
		        BL_EUSAGE, "'%s' is not NAME or NAME@VERSION", ref);
	if ((rc = store_manifest(s, name, ver, m, why, sizeof(why))) != 0)
		return cli_error(rc, "%s", why[0] ? why : bl_strerror(rc));
	return 0;
}

static int
cmd_show(struct cli *c, int argc, char **argv)
{
	struct manifest *m = NULL;
	struct store *s;
	json_t *o, *files;
	char hex[HASH_HEXLEN + 1], t[32], sz[32];
	uint64_t total = 0;
	uint32_t i;
	int rc;

	if (argc != 2)
		return cli_error(BL_EUSAGE, "usage: image show NAME[@VER]");
	if ((s = cli_open_store(c)) == NULL)
		return EXIT_FAIL;
	rc = load_ref(c, s, argv[1], &m);
	store_close(s);
	if (rc != 0)
		return rc;
	for (i = 0; i < m->nfiles; i++)
		total += m->files[i].size;
	if (c->json) {
		files = json_array();
		for (i = 0; i < m->nfiles; i++) {
			hash_hex(m->files[i].sha256, 32, hex);
			json_array_append_new(files,
			        json_pack("{s:s, s:I, s:I, s:I, s:s}", "path",
			                m->files[i].path, "mode",
			                (json_int_t)m->files[i].mode, "size",
			                (json_int_t)m->files[i].size, "chunks",
			                (json_int_t)m->files[i].nchunks,
			                "sha256", hex));
		}
		o = json_pack("{s:s, s:I, s:I, s:I, s:o}", "name", m->name,
		        "version", (json_int_t)m->version, "created",
		        (json_int_t)m->created, "size", (json_int_t)total,
		        "files", files);
		manifest_free(m);
		return cli_json_out(o);
	}
	printf("%s@%" PRIu32 "  created %s  %" PRIu32 " files  %s\n", m->name,
	        m->version, fmt_time(m->created, t), m->nfiles,
	        cli_size(total, sz));
	printf("%-40s %5s %12s %7s  %s\n", "PATH", "MODE", "SIZE", "CHUNKS",
	        "SHA256");
	for (i = 0; i < m->nfiles; i++) {
		hash_hex(m->files[i].sha256, 32, hex);
		printf("%-40s %05o %12" PRIu64 " %7" PRIu32 "  %s\n",
		        m->files[i].path, (unsigned int)m->files[i].mode,
		        m->files[i].size, m->files[i].nchunks, hex);
	}
	manifest_free(m);
	return 0;
}

static int
cmd_diff(struct cli *c, int argc, char **argv)
{
	struct manifest *a = NULL, *b = NULL;
	struct store_diff d;
	struct store *s;
	char x[32], y[32];
	int rc;

	if (argc != 3)
		return cli_error(BL_EUSAGE, "usage: image diff NAME@A NAME@B");
	if ((s = cli_open_store(c)) == NULL)
		return EXIT_FAIL;
	if ((rc = load_ref(c, s, argv[1], &a)) != 0 ||
	        (rc = load_ref(c, s, argv[2], &b)) != 0)
		goto out;
	if ((rc = store_diff(a, b, &d)) != 0) {
		rc = cli_error(rc, "diff: %s", bl_strerror(rc));
		goto out;
	}
	if (c->json) {
		rc = cli_json_out(json_pack(
		        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		        "s:I}",
		        "from", argv[1], "to", argv[2], "from_chunks",
		        (json_int_t)d.a_chunks, "to_chunks",
		        (json_int_t)d.b_chunks, "shared_chunks",
		        (json_int_t)d.shared_chunks, "shared_bytes",
		        (json_int_t)d.shared_bytes, "new_chunks",
		        (json_int_t)d.new_chunks, "new_bytes",
		        (json_int_t)d.new_bytes, "gone_chunks",
		        (json_int_t)d.gone_chunks, "gone_bytes",
		        (json_int_t)d.gone_bytes, "to_bytes",
		        (json_int_t)d.b_bytes));
		goto out;
	}
	printf("%s -> %s\n", argv[1], argv[2]);
	printf("  shared  %8" PRIu64 " chunks  %s\n", d.shared_chunks,
	        cli_size(d.shared_bytes, x));
	printf("  new     %8" PRIu64 " chunks  %s  (%.1f%% of %s)\n",
	        d.new_chunks, cli_size(d.new_bytes, x),
	        d.b_bytes ? 100.0 * (double)d.new_bytes / (double)d.b_bytes : 0,
	        cli_size(d.b_bytes, y));
	printf("  gone    %8" PRIu64 " chunks  %s\n", d.gone_chunks,
	        cli_size(d.gone_bytes, x));
out:
	manifest_free(a);
	manifest_free(b);
	store_close(s);
	return rc;
}

static int
cmd_rm(struct cli *c, int argc, char **argv)
{
	char name[MANIFEST_NAME_MAX + 1], why[512] = "";
	struct store *s;
	uint32_t ver;
	int rc;

	if (argc != 2)
		return cli_error(BL_EUSAGE, "usage: image rm NAME[@VER]");
	if (store_parse_ref(argv[1], name, sizeof(name), &ver) != 0)
		return cli_error(
		        BL_EUSAGE, "'%s' is not NAME or NAME@VERSION", argv[1]);
	if ((s = cli_open_store(c)) == NULL)
		return EXIT_FAIL;
	rc = store_remove(s, name, ver, why, sizeof(why));
	store_close(s);
	if (rc != 0)
		return cli_error(
		        rc, "image rm: %s", why[0] ? why : bl_strerror(rc));
	if (!c->quiet && !c->json)
		printf("removed %s (space is freed by 'branchline gc')\n",
		        argv[1]);
	return 0;
}

static int
cmd_cat(struct cli *c, int argc, char **argv)
{
	char name[MANIFEST_NAME_MAX + 1], why[512] = "";
	struct store *s;
	uint32_t ver;
	int rc, verify = 1, i, pos = 0;
	const char *ref = NULL, *path = NULL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-verify") == 0)
			verify = 0;
		else if (pos == 0 && ++pos)
			ref = argv[i];
		else if (pos == 1 && ++pos)
			path = argv[i];
		else
			pos = 3;
	}
	if (pos != 2)
		return cli_error(
		        BL_EUSAGE, "usage: cat [--no-verify] NAME[@VER] PATH");
	if (store_parse_ref(ref, name, sizeof(name), &ver) != 0)
		return cli_error(
		        BL_EUSAGE, "'%s' is not NAME or NAME@VERSION", ref);
	if (isatty(STDOUT_FILENO))
		return cli_error(BL_EUSAGE,
		        "cat: stdout is a terminal; "
		        "redirect it to a file");
	if ((s = cli_open_store(c)) == NULL)
		return EXIT_FAIL;
	rc = store_cat(
	        s, name, ver, path, STDOUT_FILENO, verify, why, sizeof(why));
	store_close(s);
	if (rc != 0)
		return cli_error(rc, "cat %s %s: %s", ref, path,
		        why[0] ? why : bl_strerror(rc));
	return 0;
}

const struct cli_cmd cli_image_cmds[] = {
        {"image add", cmd_add, "NAME [PATH=]FILE...",
                "Import files as the next version of image NAME (1, 2, ...).\n"
                "Each file is stored under its base name, or under PATH when\n"
                "given as PATH=FILE.  Only chunks the store lacks are "
                "written."},
        {"image list", cmd_list, "[NAME]", "List images and their versions."},
        {"image show", cmd_show, "NAME[@VER]",
                "Show the files of an image version (default: the newest)."},
        {"image diff", cmd_diff, "NAME@A NAME@B",
                "Chunks and bytes two versions share, and what B adds."},
        {"image rm", cmd_rm, "NAME[@VER]",
                "Remove one version, or every version of NAME.  The chunks\n"
                "no longer referenced are deleted by 'branchline gc'."},
        {"cat", cmd_cat, "[--no-verify] NAME[@VER] PATH",
                "Write a file of an image to stdout, byte-identical; every\n"
                "chunk and the whole-file SHA-256 are checked unless\n"
                "--no-verify."},
        {NULL, NULL, NULL, NULL},
};

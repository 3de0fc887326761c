/*
 * cli_imgapi.c - image list, show, diff and rm through the primary's API
 * (/v1/images).  branchline.c picks these instead of cli_image.c's when a
 * server is configured and --store was not given.  Tables match the local
 * ones where the API carries the same facts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_remote.h"
#include "error.h"
#include "store.h"

#define VER_BUF 24 /* a version as text */

/* Split NAME[@VER]; the version as a string ("" when absent). */
static int
parse_ref(const char *ref, char name[MANIFEST_NAME_MAX + 1], char ver[VER_BUF])
{
	uint32_t v;

	if (store_parse_ref(ref, name, MANIFEST_NAME_MAX + 1, &v) != 0)
		return cli_error(
		        BL_EUSAGE, "'%s' is not NAME or NAME@VERSION", ref);
	if (v != 0)
		snprintf(ver, VER_BUF, "%u", (unsigned int)v);
	else
		ver[0] = '\0';
	return 0;
}

/* /v1/images/NAME[SUFFIX][?version=V] */
static const char *
image_path(struct cli_path *p, const char *name, const char *suffix,
        const char *ver)
{
	cli_path_init(p, "/v1/images/");
	cli_path_seg(p, name);
	if (suffix != NULL)
		cli_path_lit(p, suffix);
	if (ver != NULL && ver[0] != '\0')
		cli_path_query(p, "version", ver);
	return cli_path_str(p);
}

static int
cmd_list(struct cli *c, int argc, char **argv)
{
	json_t *ans = NULL, *all, *keep, *v;
	char name[MANIFEST_NAME_MAX + 1], ver[VER_BUF], t[32], sz[32], man[80];
	char nf[16];
	const char *n;
	size_t i;
	int rc;

	if (argc > 2)
		return cli_error(BL_EUSAGE, "usage: image list [NAME]");
	if ((rc = cli_call(c, "GET", "/v1/images", NULL, &ans)) != 0)
		return rc;
	all = json_object_get(ans, "images");
	if (!json_is_array(all)) {
		json_decref(ans);
		return cli_error(BL_EFORMAT, "the server sent no image list");
	}
	keep = json_array();
	json_array_foreach(all, i, v)
	{
		n = json_string_value(json_object_get(v, "name"));
		if (argc < 2 || (n != NULL && strcmp(n, argv[1]) == 0))
			json_array_append(keep, v);
	}
	json_object_set_new(ans, "images", keep);
	if (c->json)
		return cli_json_out(ans);
	if (argc == 2 && json_array_size(keep) == 0) {
		json_decref(ans);
		return cli_error(BL_ENOTFOUND, "no image %s", argv[1]);
	}
	printf("%-24s %4s  %-20s %6s %10s  %s\n", "NAME", "VER", "CREATED",
	        "FILES", "SIZE", "MANIFEST");
	json_array_foreach(keep, i, v)
	{
		printf("%-24s %4s  %-20s %6s %10s  %.12s\n",
		        cli_jstr(v, "name", name, sizeof(name)),
		        cli_jstr(v, "version", ver, sizeof(ver)),
		        cli_jtime(v, "created", t),
		        cli_jstr(v, "files", nf, sizeof(nf)),
		        cli_size((uint64_t)cli_jint(v, "size", 0), sz),
		        cli_jstr(v, "manifest", man, sizeof(man)));
	}
	json_decref(ans);
	return 0;
}

static int
cmd_show(struct cli *c, int argc, char **argv)
{
	struct cli_path p;
	json_t *ans = NULL, *files, *f;
	char name[MANIFEST_NAME_MAX + 1], ver[VER_BUF], t[32], sz[32];
	char path[1100], hash[80], nch[16];
	size_t i;
	int rc;

	if (argc != 2)
		return cli_error(BL_EUSAGE, "usage: image show NAME[@VER]");
	if ((rc = parse_ref(argv[1], name, ver)) != 0)
		return rc;
	if ((rc = cli_call(c, "GET", image_path(&p, name, NULL, ver), NULL,
	             &ans)) != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	files = json_object_get(ans, "files");
	printf("%s@%s  created %s  %zu files  %s\n",
	        cli_jstr(ans, "name", name, sizeof(name)),
	        cli_jstr(ans, "version", ver, sizeof(ver)),
	        cli_jtime(ans, "created", t), json_array_size(files),
	        cli_size((uint64_t)cli_jint(ans, "size", 0), sz));
	printf("%-40s %12s %7s  %s\n", "PATH", "SIZE", "CHUNKS", "SHA256");
	json_array_foreach(files, i, f)
	{
		printf("%-40s %12lld %7s  %s\n",
		        cli_jstr(f, "path", path, sizeof(path)),
		        (long long)cli_jint(f, "size", 0),
		        cli_jstr(f, "chunks", nch, sizeof(nch)),
		        cli_jstr(f, "sha256", hash, sizeof(hash)));
	}
	json_decref(ans);
	return 0;
}

/* The newest version of name, as a string, for a ref without @VER. */
static int
newest(struct cli *c, const char *name, char ver[VER_BUF])
{
	struct cli_path p;
	json_t *ans = NULL, *v;
	json_int_t best = 0;
	size_t i;
	int rc;

	if ((rc = cli_call(c, "GET", image_path(&p, name, "/versions", NULL),
	             NULL, &ans)) != 0)
		return rc;
	json_array_foreach(json_object_get(ans, "versions"), i, v)
	{
		if (cli_jint(v, "version", 0) > best)
			best = cli_jint(v, "version", 0);
	}
	json_decref(ans);
	if (best <= 0)
		return cli_error(BL_ENOTFOUND, "no image %s", name);
	snprintf(ver, VER_BUF, "%lld", (long long)best);
	return 0;
}

static int
cmd_diff(struct cli *c, int argc, char **argv)
{
	struct cli_path p;
	json_t *ans = NULL;
	char a[MANIFEST_NAME_MAX + 1], b[MANIFEST_NAME_MAX + 1];
	char va[VER_BUF], vb[VER_BUF], x[32];
	json_int_t nb;
	int rc;

	if (argc != 3)
		return cli_error(BL_EUSAGE, "usage: image diff NAME@A NAME@B");
	if ((rc = parse_ref(argv[1], a, va)) != 0 ||
	        (rc = parse_ref(argv[2], b, vb)) != 0)
		return rc;
	if (strcmp(a, b) != 0)
		return cli_error(BL_EUSAGE,
		        "the API compares versions of one image; use --store "
		        "to compare %s with %s",
		        a, b);
	if ((va[0] == '\0' && (rc = newest(c, a, va)) != 0) ||
	        (vb[0] == '\0' && (rc = newest(c, b, vb)) != 0))
		return rc;
	image_path(&p, a, "/diff", NULL);
	cli_path_query(&p, "from", va);
	cli_path_query(&p, "to", vb);
	if ((rc = cli_call(c, "GET", cli_path_str(&p), NULL, &ans)) != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	printf("%s@%s -> %s@%s\n", a, va, b, vb);
	printf("  shared  %8lld chunks  %s\n",
	        (long long)cli_jint(ans, "shared_chunks", 0),
	        cli_size((uint64_t)cli_jint(ans, "shared_bytes", 0), x));
	nb = cli_jint(ans, "new_bytes", 0);
	printf("  new     %8lld chunks  %s\n",
	        (long long)cli_jint(ans, "new_chunks", 0),
	        cli_size((uint64_t)nb, x));
	json_decref(ans);
	return 0;
}

static int
cmd_rm(struct cli *c, int argc, char **argv)
{
	struct cli_path p;
	json_t *ans = NULL;
	char name[MANIFEST_NAME_MAX + 1], ver[VER_BUF];
	int rc;

	if (argc != 2)
		return cli_error(BL_EUSAGE, "usage: image rm NAME[@VER]");
	if ((rc = parse_ref(argv[1], name, ver)) != 0)
		return rc;
	if ((rc = cli_call(c, "DELETE", image_path(&p, name, NULL, ver), NULL,
	             &ans)) != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	if (!c->quiet)
		printf("removed %s (%lld version%s)\n", argv[1],
		        (long long)cli_jint(ans, "removed", 0),
		        cli_jint(ans, "removed", 0) == 1 ? "" : "s");
	json_decref(ans);
	return 0;
}

const struct cli_cmd cli_image_api_cmds[] = {
        {"image list", cmd_list, "[NAME]",
                "List the primary's images and their versions."},
        {"image show", cmd_show, "NAME[@VER]",
                "Show the files of an image version (default: the newest)."},
        {"image diff", cmd_diff, "NAME@A NAME@B",
                "Chunks and bytes two versions of an image share, and what\n"
                "B adds."},
        {"image rm", cmd_rm, "NAME[@VER]",
                "Remove one version, or every version of NAME, on the "
                "primary."},
        {NULL, NULL, NULL, NULL},
};

/*
 * cli_site.c - site list, show, add, set, rm and replicate-now, through
 * the primary's API (/v1/sites).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_remote.h"
#include "error.h"
#include "fsutil.h"

#define SITE_FILE_MAX (1024 * 1024) /* bytes of a --file site.json */
#define WAN_COST_MAX  1000000
#define TRICKLE_MAX   100000000000ull /* 100 Gbit/s */

/* How a site option becomes a SITE field. */
enum site_kind {
	SITE_STR,  /* string; "" removes the field */
	SITE_LIST, /* repeatable, collected into an array; "" = empty list */
	SITE_UINT, /* 0..WAN_COST_MAX */
	SITE_BITS, /* bits per second, "50mbit" */
};

static const struct {
	const char *opt;
	const char *field;
	enum site_kind kind;
} site_opts[] = {
        {"--parent", "parent", SITE_STR},
        {"--subnet", "subnets", SITE_LIST},
        {"--wan-cost", "wan_cost", SITE_UINT},
        {"--tz", "tz", SITE_STR},
        {"--windows", "windows", SITE_STR},
        {"--trickle", "trickle_bps", SITE_BITS},
        {"--image", "images", SITE_LIST},
};

#define NSITE_OPTS (sizeof(site_opts) / sizeof(site_opts[0]))

/* The path /v1/sites/NAME[SUFFIX]. */
static const char *
site_path(struct cli_path *p, const char *name, const char *suffix)
{
	cli_path_init(p, "/v1/sites/");
	cli_path_seg(p, name);
	if (suffix != NULL)
		cli_path_lit(p, suffix);
	return cli_path_str(p);
}

/* Join an array of strings (or of objects with "name") with ','. */
static const char *
join(json_t *arr, char *buf, size_t len)
{
	char one[256];
	size_t used = 0, i;
	json_t *v;
	int n;

	buf[0] = '\0';
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return "-";
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v))
			cli_clean(json_string_value(v), one, sizeof(one));
		else if (json_is_object(v))
			cli_jstr(v, "name", one, sizeof(one));
		else
			snprintf(one, sizeof(one), "?");
		n = snprintf(buf + used, len - used, "%s%s", i ? "," : "", one);
		if (n < 0 || (size_t)n >= len - used) {
			if (len > 4)
				snprintf(buf + len - 4, 4, "...");
			break;
		}
		used += (size_t)n;
	}
	return buf;
}

/*
 * Apply the site options in argv to the object edits: each field given is
 * set (lists replaced by the values given).  Sets *name to the one
 * positional argument and *file to --file.  0 or EXIT_USAGE (printed).
 */
static int
parse_site_args(int argc, char **argv, json_t *edits, const char **name,
        const char **file)
{
	unsigned char seen[NSITE_OPTS] = {0};
	const char *val;
	uint64_t n;
	json_t *arr;
	size_t k;
	int i, m = 0;

	*name = NULL;
	*file = NULL;
	for (i = 1; i < argc; i++) {
		if ((m = cli_opt(argc, argv, &i, "--file", file)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			continue;
		}
		for (k = 0; k < NSITE_OPTS; k++)
			if ((m = cli_opt(argc, argv, &i, site_opts[k].opt,
			             &val)) != 0)
				break;
		if (m < 0)
			return EXIT_USAGE;
		if (m == 0) {
			if (argv[i][0] == '-' || *name != NULL)
				return cli_error(BL_EUSAGE,
				        "unexpected argument '%s'", argv[i]);
			*name = argv[i];
			continue;
		}
		if (seen[k] && site_opts[k].kind != SITE_LIST)
			return cli_error(
			        BL_EUSAGE, "%s given twice", site_opts[k].opt);
		switch (site_opts[k].kind) {
		case SITE_STR:
			json_object_set_new(edits, site_opts[k].field,
			        val[0] ? json_string(val) : json_null());
			break;
		case SITE_LIST:
			if (!seen[k])
				json_object_set_new(edits, site_opts[k].field,
				        json_array());
			arr = json_object_get(edits, site_opts[k].field);
			if (val[0] != '\0')
				json_array_append_new(arr, json_string(val));
			break;
		case SITE_UINT:
			if (cli_parse_u64(site_opts[k].opt, val, 0,
			            WAN_COST_MAX, &n) != 0)
				return EXIT_USAGE;
			json_object_set_new(edits, site_opts[k].field,
			        json_integer((json_int_t)n));
			break;
		case SITE_BITS:
			if (cli_parse_bits(site_opts[k].opt, val, TRICKLE_MAX,
			            &n) != 0)
				return EXIT_USAGE;
			json_object_set_new(edits, site_opts[k].field,
			        json_integer((json_int_t)n));
			break;
		}
		seen[k] = 1;
	}
	if (*name == NULL)
		return cli_error(BL_EUSAGE,
		        "a site NAME is needed (see 'branchline site add "
		        "--help')");
	return 0;
}

/* The SITE object of a --file, bounded; NULL after printing the error. */
static json_t *
load_site_file(const char *path)
{
	json_error_t jerr;
	uint8_t *buf;
	size_t len;
	json_t *o;
	int rc;

	if ((rc = fs_read_file(path, SITE_FILE_MAX, &buf, &len)) != 0) {
		cli_error(rc, "%s: %s", path,
		        rc == BL_ETOOBIG ? "larger than 1 MiB"
		                         : bl_strerror(rc));
		return NULL;
	}
	o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (o == NULL)
		cli_error(BL_EFORMAT, "%s: line %d: %s", path, jerr.line,
		        jerr.text);
	else if (!json_is_object(o)) {
		cli_error(BL_EFORMAT, "%s: not a JSON object", path);
		json_decref(o);
		o = NULL;
	}
	return o;
}

/*
 * Merge the option edits into site: a null edit removes the field.  The
 * name must match the command's (set when absent).
 */
static int
merge_site(json_t *site, json_t *edits, const char *name)
{
	const char *key, *have;
	json_t *v;

	json_object_foreach(edits, key, v)
	{
		if (json_is_null(v))
			json_object_del(site, key);
		else
			json_object_set(site, key, v);
	}
	have = json_string_value(json_object_get(site, "name"));
	if (have != NULL && strcmp(have, name) != 0)
		return cli_error(BL_EUSAGE,
		        "the file names site '%s', not '%s'", have, name);
	json_object_set_new(site, "name", json_string(name));
	return 0;
}

/* "key         value": strings and lists of strings plain, else JSON. */
static void
print_field(const char *key, json_t *v)
{
	char buf[4096], k[64];
	size_t i;
	json_t *e;
	char *dump;
	int plain = !json_is_object(v);

	if (json_is_array(v))
		json_array_foreach(v, i, e) if (!json_is_string(e)) plain = 0;
	cli_clean(key, k, sizeof(k));
	if (json_is_array(v) && plain)
		printf("%-12s %s\n", k, join(v, buf, sizeof(buf)));
	else if (plain)
		printf("%-12s %s\n", k, cli_jval(v, buf, sizeof(buf)));
	else {
		dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%-12s %s\n", k,
		        dump != NULL ? cli_clean(dump, buf, sizeof(buf)) : "?");
		free(dump);
	}
}

/* The known fields in their order, then any others the server sent. */
static void
print_site(json_t *s)
{
	static const char *const order[] = {"name", "parent", "wan_cost", "tz",
	        "subnets", "option82", "windows", "trickle_bps", "images", "boot"};
	const size_t norder = sizeof(order) / sizeof(order[0]);
	const char *key;
	json_t *v;
	size_t k;

	for (k = 0; k < norder; k++)
		print_field(order[k], json_object_get(s, order[k]));
	json_object_foreach(s, key, v)
	{
		for (k = 0; k < norder; k++)
			if (strcmp(key, order[k]) == 0)
				break;
		if (k == norder)
			print_field(key, v);
	}
}

static int
cmd_site_list(struct cli *c, int argc, char **argv)
{
	json_t *ans = NULL, *s;
	char a[64], b[64], w[48], t[32], sn[256], im[256], wc[16];
	size_t i;
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_error(BL_EUSAGE, "usage: site list");
	if ((rc = cli_call(c, "GET", "/v1/sites", NULL, &ans)) != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	printf("%-20s %-16s %5s %-18s %-30s %-24s %s\n", "NAME", "PARENT",
	        "WAN", "TZ", "SUBNETS", "WINDOWS", "IMAGES");
	json_array_foreach(json_object_get(ans, "sites"), i, s)
	{
		printf("%-20s %-16s %5s %-18s %-30s %-24s %s\n",
		        cli_jstr(s, "name", a, sizeof(a)),
		        cli_jstr(s, "parent", b, sizeof(b)),
		        cli_jstr(s, "wan_cost", wc, sizeof(wc)),
		        cli_jstr(s, "tz", t, sizeof(t)),
		        join(json_object_get(s, "subnets"), sn, sizeof(sn)),
		        cli_jstr(s, "windows", w, sizeof(w)),
		        join(json_object_get(s, "images"), im, sizeof(im)));
	}
	json_decref(ans);
	return 0;
}

static int
cmd_site_show(struct cli *c, int argc, char **argv)
{
	struct cli_path p;
	json_t *ans = NULL;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return cli_error(BL_EUSAGE, "usage: site show NAME");
	rc = cli_call(c, "GET", site_path(&p, argv[1], NULL), NULL, &ans);
	if (rc != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	print_site(ans);
	json_decref(ans);
	return 0;
}

/* site add and site set: build the SITE, then POST or GET+PUT it. */
static int
site_write(struct cli *c, int argc, char **argv, int add)
{
	struct cli_req req = {.method = "GET"};
	struct cli_resp resp = {0};
	struct cli_remote *r = NULL;
	struct cli_path p;
	const char *name, *file, *path;
	json_t *edits = json_object(), *site = NULL, *ans = NULL;
	char etag[128] = "";
	int rc;

	if ((rc = parse_site_args(argc, argv, edits, &name, &file)) != 0)
		goto out;
	if (file != NULL && (site = load_site_file(file)) == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	if ((rc = cli_remote_open(c, &r)) != 0)
		goto out;
	if ((path = site_path(&p, name, NULL)) == NULL) {
		rc = cli_error(BL_EUSAGE, "site name too long");
		goto out;
	}
	if (!add && site == NULL) {
		/* Edit what is there; If-Match guards a concurrent edit. */
		req.path = path;
		if ((rc = cli_remote_call(r, &req, &resp)) != 0) {
			rc = cli_error(rc, "%s", cli_remote_why(r));
			goto out;
		}
		if (resp.status >= 300 || !json_is_object(resp.json)) {
			rc = resp.status >= 300
			        ? cli_remote_report(r, &resp)
			        : cli_error(BL_EFORMAT, "%s: not a site", path);
			goto out;
		}
		site = json_incref(resp.json);
		snprintf(etag, sizeof(etag), "%s", resp.etag);
	} else if (site == NULL)
		site = json_object();
	if ((rc = merge_site(site, edits, name)) != 0)
		goto out;
	if (add)
		rc = cli_remote_json(r, "POST", "/v1/sites", site, &ans);
	else if (etag[0] != '\0') {
		cli_resp_cleanup(&resp);
		req.method = "PUT";
		req.json = site;
		req.if_match = etag;
		if ((rc = cli_remote_call(r, &req, &resp)) != 0)
			rc = cli_error(rc, "%s", cli_remote_why(r));
		else if (resp.status >= 300)
			rc = cli_remote_report(r, &resp);
		else
			ans = json_incref(resp.json);
	} else
		rc = cli_remote_json(r, "PUT", path, site, &ans);
	if (rc != 0)
		goto out;
	if (c->json)
		rc = cli_json_out(json_incref(ans != NULL ? ans : site));
	else if (!c->quiet)
		printf("%s site %s\n", add ? "added" : "updated", name);
out:
	cli_resp_cleanup(&resp);
	cli_remote_close(r);
	json_decref(ans);
	json_decref(site);
	json_decref(edits);
	return rc;
}

static int
cmd_site_add(struct cli *c, int argc, char **argv)
{
	return site_write(c, argc, argv, 1);
}

static int
cmd_site_set(struct cli *c, int argc, char **argv)
{
	return site_write(c, argc, argv, 0);
}

static int
cmd_site_rm(struct cli *c, int argc, char **argv)
{
	struct cli_path p;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return cli_error(BL_EUSAGE, "usage: site rm NAME");
	rc = cli_call(c, "DELETE", site_path(&p, argv[1], NULL), NULL, NULL);
	if (rc == 0 && !c->quiet && !c->json)
		printf("removed site %s\n", argv[1]);
	return rc;
}

static int
cmd_site_replicate(struct cli *c, int argc, char **argv)
{
	struct cli_remote *r;
	struct cli_path p;
	const char *name = NULL, *val;
	json_t *body = json_object(), *ans = NULL;
	char t[32];
	uint64_t hours;
	int i, m, rc = 0;

	for (i = 1; i < argc && rc == 0; i++) {
		if ((m = cli_opt(argc, argv, &i, "--hours", &val)) > 0) {
			if ((rc = cli_parse_u64(
			             "--hours", val, 0, 24 * 14, &hours)) == 0)
				json_object_set_new(body, "hours",
				        json_integer((json_int_t)hours));
		} else if (m < 0 || argv[i][0] == '-' || name != NULL)
			rc = cli_error(BL_EUSAGE,
			        "usage: site replicate-now NAME [--hours H]");
		else
			name = argv[i];
	}
	if (rc == 0 && name == NULL)
		rc = cli_error(BL_EUSAGE,
		        "usage: site replicate-now NAME [--hours H]");
	if (rc == 0 && (rc = cli_remote_open(c, &r)) == 0) {
		rc = cli_remote_json(r, "POST",
		        site_path(&p, name, "/replicate-now"), body, &ans);
		cli_remote_close(r);
	}
	json_decref(body);
	if (rc != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	if (cli_jint(ans, "until", 0) <= 0)
		printf("site %s: replicate-now cancelled; windows apply\n",
		        name);
	else
		printf("site %s replicates outside its windows until %s\n",
		        name, cli_jtime(ans, "until", t));
	json_decref(ans);
	return 0;
}

#define SITE_OPTS_USAGE "NAME [--file site.json] [SITE OPTIONS]"

#define SITE_OPTS_HELP                                                         \
	"Site options:\n"                                                      \
	"  --parent P      the parent site (replicates from it)\n"             \
	"  --subnet CIDR   a subnet of the site; repeat for more\n"            \
	"  --wan-cost N    cost of the WAN link (referral picks the lowest)\n" \
	"  --tz ZONE       IANA time zone of the windows, e.g. "               \
	"Europe/Paris\n"                                                       \
	"  --windows SPEC  replication windows in the site's time, e.g.\n"     \
	"                  'mon-fri 22:00-06:00 50mbit; sun 08:00-18:00'\n"    \
	"  --trickle BITS  rate outside the windows, e.g. 2mbit (0: none)\n"   \
	"  --image REF     an image assigned to the site; repeat for more\n"   \
	"  --file F        start from the SITE JSON in F (options override)"

const struct cli_cmd cli_site_cmds[] = {
        {"site list", cmd_site_list, "", "List the sites."},
        {"site show", cmd_site_show, "NAME",
                "Show one site's settings (--json: the SITE object)."},
        {"site add", cmd_site_add, SITE_OPTS_USAGE,
                "Add a site (one configuration commit, 'site add "
                "NAME').\n" SITE_OPTS_HELP},
        {"site set", cmd_site_set, SITE_OPTS_USAGE,
                "Change a site: the fields given replace the current ones\n"
                "(a list option replaces the whole list; an empty value\n"
                "clears the field).  With --file the file replaces the "
                "site.\n" SITE_OPTS_HELP},
        {"site rm", cmd_site_rm, "NAME",
                "Remove a site; refused while nodes or child sites use "
                "it."},
        {"site replicate-now", cmd_site_replicate, "NAME [--hours H]",
                "Let the site replicate outside its windows for H hours\n"
                "(default 12, at most 336; 0 cancels)."},
        {NULL, NULL, NULL, NULL},
};

/*
 * cli_admin.c - node, status, config and token commands, through the
 * primary's API.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_remote.h"
#include "error.h"

#define EXPIRES_MAX (10ull * 366 * 86400) /* ten years, in seconds */
#define LOG_MAX     100000                /* config log --max */

/*
 * The common shape of these commands: at most `npos` positional words and
 * the named options, each "--opt VALUE".  opts[k] receives option k's
 * value (or NULL); pos[] the positional words.  0 or EXIT_USAGE.
 */
static int
parse_args(int argc, char **argv, const char *const *names, const char **opts,
        size_t nopts, const char **pos, int npos, int minpos, const char *usage)
{
	size_t k;
	int i, m = 0, n = 0;

	for (k = 0; k < nopts; k++)
		opts[k] = NULL;
	for (i = 1; i < argc; i++) {
		for (k = 0; k < nopts; k++)
			if ((m = cli_opt(argc, argv, &i, names[k], &opts[k])) !=
			        0)
				break;
		if (m < 0)
			return EXIT_USAGE;
		if (m > 0)
			continue;
		if (argv[i][0] == '-' || n == npos)
			return cli_error(BL_EUSAGE, "usage: %s", usage);
		pos[n++] = argv[i];
	}
	if (n < minpos)
		return cli_error(BL_EUSAGE, "usage: %s", usage);
	for (; n < npos; n++)
		pos[n] = NULL;
	return 0;
}

/* DELETE PREFIX/NAME and say so. */
static int
remove_one(
        struct cli *c, const char *prefix, const char *name, const char *what)
{
	struct cli_path p;
	int rc;

	cli_path_init(&p, prefix);
	cli_path_seg(&p, name);
	if ((rc = cli_call(c, "DELETE", cli_path_str(&p), NULL, NULL)) == 0 &&
	        !c->quiet && !c->json)
		printf("removed %s %s\n", what, name);
	return rc;
}

/* rate_bps as "12.5 Mbit/s" (bits, like trickle_bps), "-" when unknown. */
static const char *
fmt_rate(json_t *o, char buf[40])
{
	static const char *const units[] = {
	        "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
	json_int_t v = cli_jint(o, "rate_bps", -1);
	double d;
	int u = 0;

	if (v < 0)
		return "-";
	for (d = (double)v; d >= 1000 && u < 4; u++)
		d /= 1000;
	snprintf(buf, 40, u ? "%.1f %s" : "%.0f %s", d, units[u]);
	return buf;
}

/* "1h02m", "3m05s", "-" when unknown. */
static const char *
fmt_eta(json_t *o, char buf[32])
{
	json_int_t s = cli_jint(o, "eta_s", -1);

	if (s < 0)
		return "-";
	if (s >= 86400)
		snprintf(buf, 32, "%lldd%02lldh", (long long)(s / 86400),
		        (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, 32, "%lldh%02lldm", (long long)(s / 3600),
		        (long long)(s % 3600 / 60));
	else
		snprintf(buf, 32, "%lldm%02llds", (long long)(s / 60),
		        (long long)(s % 60));
	return buf;
}

/* ---- nodes ---- */

/*
 * POST {key: ARG[, "expires_in": S]} to path for "... ARG [--expires S]"
 * and print the new token alone on stdout (so TOKEN=$(branchline ...)).
 * Returns an exit code; *ans is the answer for a message on stderr, NULL
 * when none is due (failure, --json).
 */
static int
token_post(struct cli *c, int argc, char **argv, const char *usage,
        const char *key, const char *path, uint64_t min_secs, const char **arg,
        json_t **ans)
{
	static const char *const names[] = {"--expires"};
	const char *opts[1], *pos[1];
	json_t *body;
	char tok[256];
	uint64_t secs;
	int rc;

	*ans = NULL;
	if ((rc = parse_args(argc, argv, names, opts, 1, pos, 1, 1, usage)) !=
	        0)
		return rc;
	if (opts[0] != NULL &&
	        cli_parse_secs(
	                "--expires", opts[0], min_secs, EXPIRES_MAX, &secs))
		return EXIT_USAGE;
	*arg = pos[0];
	body = json_pack("{s:s}", key, pos[0]);
	if (opts[0] != NULL)
		json_object_set_new(
		        body, "expires_in", json_integer((json_int_t)secs));
	rc = cli_call(c, "POST", path, body, ans);
	json_decref(body);
	if (rc != 0) {
		json_decref(*ans);
		*ans = NULL;
		return rc;
	}
	if (c->json) {
		rc = cli_json_out(*ans);
		*ans = NULL;
		return rc;
	}
	printf("%s\n", cli_jstr(*ans, "token", tok, sizeof(tok)));
	return 0;
}

static int
cmd_node_add(struct cli *c, int argc, char **argv)
{
	const char *site = NULL;
	json_t *ans;
	char t[32];
	int rc;

	rc = token_post(c, argc, argv, "node add SITE [--expires SECONDS]",
	        "site", "/v1/nodes", 60, &site, &ans);
	if (ans != NULL && !c->quiet) {
		char fpr[80], url[600];

		fprintf(stderr,
		        "branchline: one-time enrollment token for a node of "
		        "site %s, valid until %s; it is not shown again\n",
		        site, cli_jtime(ans, "expires", t));
		fprintf(stderr,
		        "branchline: on the node run\n  branchline-dist enroll "
		        "--primary %s --ca-sha256 %s --token TOKEN --state DIR "
		        "[--url https://NODE-ADDRESS:8444]\n",
		        cli_jstr(ans, "primary", url, sizeof(url)),
		        cli_jstr(ans, "ca_sha256", fpr, sizeof(fpr)));
	}
	json_decref(ans);
	return rc;
}

/* "3/4": images completed of those the node reports. */
static const char *
node_images(json_t *n, char buf[32])
{
	json_t *arr = json_object_get(n, "images"), *im;
	size_t i, done = 0;
	const char *st;

	json_array_foreach(arr, i, im)
	{
		st = json_string_value(json_object_get(im, "state"));
		if (st != NULL && strcmp(st, "completed") == 0)
			done++;
	}
	snprintf(buf, 32, "%zu/%zu", done, json_array_size(arr));
	return buf;
}

static int
cmd_node_list(struct cli *c, int argc, char **argv)
{
	json_t *ans = NULL, *n;
	char id[64], site[64], ver[32], seen[32], st[32], im[32], url[128];
	size_t i;
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_error(BL_EUSAGE, "usage: node list");
	if ((rc = cli_call(c, "GET", "/v1/nodes", NULL, &ans)) != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	printf("%-24s %-16s %-10s %-20s %10s %7s %9s  %s\n", "ID", "SITE",
	        "VERSION", "LAST SEEN", "STORE", "IMAGES", "REFERRALS", "URL");
	json_array_foreach(json_object_get(ans, "nodes"), i, n)
	{
		json_int_t bytes =
		        cli_jint(json_object_get(n, "store"), "bytes", -1);
		json_t *refs = json_object_get(json_object_get(n, "boot"),
		        "referrals");
		json_int_t total = 0;
		const char *k;
		json_t *v;
		char nref[24];

		/* Boot decisions this node took, to any target. */
		json_object_foreach(refs, k, v) total += json_integer_value(v);
		snprintf(nref, sizeof(nref), "%lld", (long long)total);
		printf("%-24s %-16s %-10s %-20s %10s %7s %9s  %s\n",
		        cli_jstr(n, "id", id, sizeof(id)),
		        cli_jstr(n, "site", site, sizeof(site)),
		        cli_jstr(n, "version", ver, sizeof(ver)),
		        cli_jtime(n, "last_seen", seen),
		        bytes < 0 ? "-" : cli_size((uint64_t)bytes, st),
		        node_images(n, im), refs != NULL ? nref : "-",
		        cli_jstr(n, "url", url, sizeof(url)));
	}
	json_decref(ans);
	return 0;
}

static int
cmd_node_rm(struct cli *c, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return cli_error(BL_EUSAGE, "usage: node rm ID");
	return remove_one(c, "/v1/nodes/", argv[1], "node");
}

/* ---- status ---- */

static int
cmd_status(struct cli *c, int argc, char **argv)
{
	static const char *const names[] = {"--site", "--image", "--node"};
	static const char *const keys[] = {"site", "image", "node"};
	const char *opts[3], *pos[1];
	struct cli_path p;
	json_t *ans = NULL, *s;
	char site[64], node[64], img[64], ver[16], st[16], pct[24];
	char rate[40], eta[32], why[256];
	json_int_t v;
	size_t i, k;
	int rc;

	if ((rc = parse_args(argc, argv, names, opts, 3, pos, 0, 0,
	             "status [--site S] [--image I] [--node N]")) != 0)
		return rc;
	cli_path_init(&p, "/v1/status");
	for (k = 0; k < 3; k++)
		cli_path_query(&p, keys[k], opts[k]);
	if ((rc = cli_call(c, "GET", cli_path_str(&p), NULL, &ans)) != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	printf("%-16s %-20s %-20s %4s %-11s %6s %12s %8s  %s\n", "SITE", "NODE",
	        "IMAGE", "VER", "STATE", "PCT", "RATE", "ETA", "REASON");
	json_array_foreach(json_object_get(ans, "status"), i, s)
	{
		if ((v = cli_jint(s, "percent", -1)) >= 0)
			snprintf(pct, sizeof(pct), "%lld%%", (long long)v);
		else
			snprintf(pct, sizeof(pct), "-");
		printf("%-16s %-20s %-20s %4s %-11s %6s %12s %8s  %s\n",
		        cli_jstr(s, "site", site, sizeof(site)),
		        cli_jstr(s, "node", node, sizeof(node)),
		        cli_jstr(s, "image", img, sizeof(img)),
		        cli_jstr(s, "version", ver, sizeof(ver)),
		        cli_jstr(s, "state", st, sizeof(st)), pct,
		        fmt_rate(s, rate), fmt_eta(s, eta),
		        json_is_string(json_object_get(s, "reason"))
		                ? cli_jstr(s, "reason", why, sizeof(why))
		                : "");
	}
	json_decref(ans);
	return 0;
}

/* ---- referral ---- */

static int
cmd_referral_explain(struct cli *c, int argc, char **argv)
{
	static const char *const names[] = {"--mac", "--ip", "--giaddr",
	        "--arch", "--image", "--circuit-id", "--remote-id"};
	static const char *const keys[] = {"mac", "ip", "giaddr", "arch",
	        "image", "circuit_id", "remote_id"};
	const char *opts[7], *pos[1];
	struct cli_path p;
	json_t *ans = NULL, *s;
	char node[64], site[64], verdict[32], url[300], img[200], by[40];
	char entry[80];
	size_t i, k;
	int rc;

	if ((rc = parse_args(argc, argv, names, opts, 7, pos, 0, 0,
	             "referral explain --mac M [--ip A] [--giaddr G] "
	             "[--arch N] [--image I] [--circuit-id C] "
	             "[--remote-id R]")) != 0)
		return rc;
	if (opts[0] == NULL)
		return cli_error(BL_EUSAGE, "referral explain: --mac is required");
	cli_path_init(&p, "/v1/referral/explain");
	for (k = 0; k < 7; k++)
		cli_path_query(&p, keys[k], opts[k]);
	if ((rc = cli_call(c, "GET", cli_path_str(&p), NULL, &ans)) != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	printf("site %s (by %s)\n", cli_jstr(ans, "site", site, sizeof(site)),
	        cli_jstr(ans, "by", by, sizeof(by)));
	if (json_is_string(json_object_get(ans, "entry")))
		printf("image %s (boot entry '%s')\n",
		        cli_jstr(ans, "image", img, sizeof(img)),
		        cli_jstr(ans, "entry", entry, sizeof(entry)));
	else
		printf("image %s\n", cli_jstr(ans, "image", img, sizeof(img)));
	printf("%-24s %-16s %8s  %-16s %s\n", "NODE", "SITE", "COST",
	        "VERDICT", "URL");
	json_array_foreach(json_object_get(ans, "candidates"), i, s)
	{
		char cost[24];

		cli_jstr(s, "node", node, sizeof(node));
		if (json_is_true(json_object_get(s, "own")))
			snprintf(cost, sizeof(cost), "own");
		else
			snprintf(cost, sizeof(cost), "%lld",
			        (long long)cli_jint(s, "distance", 0));
		printf("%-24s %-16s %8s  %-16s %s\n", node,
		        cli_jstr(s, "site", site, sizeof(site)),
		        strcmp(node, "primary") == 0 ? "-" : cost,
		        cli_jstr(s, "verdict", verdict, sizeof(verdict)),
		        cli_jstr(s, "url", url, sizeof(url)));
	}
	if (json_array_size(json_object_get(ans, "targets")) == 0)
		printf("no server can boot this client\n");
	json_decref(ans);
	return 0;
}

/* ---- configuration history ---- */

/* The first line of a commit message, cleaned. */
static const char *
subject(json_t *e, char *buf, size_t len)
{
	const char *m = json_string_value(json_object_get(e, "message"));
	size_t n;

	if (m == NULL)
		return "-";
	n = strcspn(m, "\r\n");
	cli_clean(m, buf, len);
	if (n < len)
		buf[n] = '\0';
	return buf;
}

static int
cmd_config_log(struct cli *c, int argc, char **argv)
{
	static const char *const names[] = {"--max"};
	const char *opts[1], *pos[1];
	struct cli_path p;
	json_t *ans = NULL, *e;
	char id[48], who[64], t[32], msg[512];
	uint64_t max;
	size_t i;
	int rc;

	if ((rc = parse_args(argc, argv, names, opts, 1, pos, 0, 0,
	             "config log [--max N]")) != 0)
		return rc;
	if (opts[0] != NULL &&
	        cli_parse_u64("--max", opts[0], 1, LOG_MAX, &max) != 0)
		return EXIT_USAGE;
	cli_path_init(&p, "/v1/config/log");
	cli_path_query(&p, "max", opts[0]);
	if ((rc = cli_call(c, "GET", cli_path_str(&p), NULL, &ans)) != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	printf("%-12s %-20s %-16s %s\n", "COMMIT", "TIME", "AUTHOR", "MESSAGE");
	json_array_foreach(json_object_get(ans, "commits"), i, e)
	{
		printf("%-12.12s %-20s %-16s %s\n",
		        cli_jstr(e, "id", id, sizeof(id)),
		        cli_jtime(e, "time", t),
		        cli_jstr(e, "author", who, sizeof(who)),
		        subject(e, msg, sizeof(msg)));
	}
	json_decref(ans);
	return 0;
}

/* The patch goes to stdout as the server sent it (also with --json). */
static int
cmd_config_diff(struct cli *c, int argc, char **argv)
{
	struct cli_req req = {.method = "GET"};
	struct cli_resp resp;
	struct cli_remote *r;
	struct cli_path p;
	const char *pos[2];
	int rc;

	if ((rc = parse_args(argc, argv, NULL, NULL, 0, pos, 2, 1,
	             "config diff REV [REV2]")) != 0)
		return rc;
	cli_path_init(&p, "/v1/config/diff");
	cli_path_query(&p, "rev", pos[0]);
	cli_path_query(&p, "to", pos[1]);
	if ((req.path = cli_path_str(&p)) == NULL)
		return cli_error(BL_EUSAGE, "revision too long");
	if ((rc = cli_remote_open(c, &r)) != 0)
		return rc;
	if ((rc = cli_remote_call(r, &req, &resp)) != 0)
		rc = cli_error(rc, "%s", cli_remote_why(r));
	else if (resp.status >= 300)
		rc = cli_remote_report(r, &resp);
	else if (resp.len > 0 &&
	        fwrite(resp.body, 1, resp.len, stdout) != resp.len)
		rc = cli_error(-EIO, "writing the diff failed");
	cli_resp_cleanup(&resp);
	cli_remote_close(r);
	return rc;
}

static int
cmd_config_rollback(struct cli *c, int argc, char **argv)
{
	const char *pos[1];
	json_t *body, *ans = NULL;
	char id[48];
	int rc;

	if ((rc = parse_args(argc, argv, NULL, NULL, 0, pos, 1, 1,
	             "config rollback REV")) != 0)
		return rc;
	body = json_pack("{s:s}", "rev", pos[0]);
	rc = cli_call(c, "POST", "/v1/config/rollback", body, &ans);
	json_decref(body);
	if (rc != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	printf("configuration rolled back to %s: new commit %s\n", pos[0],
	        cli_jstr(ans, "id", id, sizeof(id)));
	json_decref(ans);
	return 0;
}

/* ---- API tokens ---- */

/* A token's expiry; "never" when it has none. */
static const char *
expires(json_t *o, char buf[32])
{
	const char *s = cli_jtime(o, "expires", buf);

	return strcmp(s, "-") == 0 ? "never" : s;
}

static int
cmd_token_add(struct cli *c, int argc, char **argv)
{
	const char *name = NULL;
	json_t *ans;
	char t[32];
	int rc;

	rc = token_post(c, argc, argv, "token add NAME [--expires SECONDS]",
	        "name", "/v1/tokens", 0, &name, &ans);
	if (ans != NULL && !c->quiet)
		fprintf(stderr,
		        "branchline: API token '%s' (expires: %s); it is not "
		        "shown again\n",
		        name, expires(ans, t));
	json_decref(ans);
	return rc;
}

static int
cmd_token_list(struct cli *c, int argc, char **argv)
{
	json_t *ans = NULL, *t;
	char name[64], a[32], b[32];
	size_t i;
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_error(BL_EUSAGE, "usage: token list");
	if ((rc = cli_call(c, "GET", "/v1/tokens", NULL, &ans)) != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	printf("%-24s %-20s %s\n", "NAME", "CREATED", "EXPIRES");
	json_array_foreach(json_object_get(ans, "tokens"), i, t)
	{
		printf("%-24s %-20s %s\n",
		        cli_jstr(t, "name", name, sizeof(name)),
		        cli_jtime(t, "created", a), expires(t, b));
	}
	json_decref(ans);
	return 0;
}

static int
cmd_token_rm(struct cli *c, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return cli_error(BL_EUSAGE, "usage: token rm NAME");
	return remove_one(c, "/v1/tokens/", argv[1], "token");
}

const struct cli_cmd cli_admin_cmds[] = {
        {"node add", cmd_node_add, "SITE [--expires SECONDS]",
                "Make a one-time enrollment token for a new distribution\n"
                "node of SITE (default lifetime 1 day; 12h, 3d also work).\n"
                "The token alone is printed on stdout."},
        {"node list", cmd_node_list, "",
                "List the enrolled nodes: site, version, last heartbeat,\n"
                "store size and images completed."},
        {"node rm", cmd_node_rm, "ID",
                "Remove a node: its certificate is refused from then on."},
        {"status", cmd_status, "[--site S] [--image I] [--node N]",
                "Replication state per site, node and image: version,\n"
                "state, percent, rate, time left and the reason of a "
                "failure."},
        {"referral explain", cmd_referral_explain,
                "--mac M [--ip A] [--giaddr G] [--arch N] [--image I] "
                "[--circuit-id C] [--remote-id R]",
                "Which node a booting client would be sent to: its site\n"
                "(and by what: option 82, giaddr, address), each candidate\n"
                "node by WAN cost, and why it was taken or passed over\n"
                "(unhealthy, stale, busy, no image).  --image defaults to\n"
                "the site's default boot entry for --arch."},
        {"config log", cmd_config_log, "[--max N]",
                "The configuration history, newest first (default 50)."},
        {"config diff", cmd_config_diff, "REV [REV2]",
                "The configuration change from REV to REV2 (default: "
                "now),\n"
                "as a unified diff (text, also with --json)."},
        {"config rollback", cmd_config_rollback, "REV",
                "Restore the configuration of REV as a new commit."},
        {"token add", cmd_token_add, "NAME [--expires SECONDS]",
                "Make an API token named NAME (the author of its changes);\n"
                "--expires 0 or none given: it does not expire (30d, 12h\n"
                "also work).  The token alone is printed on stdout, once."},
        {"token list", cmd_token_list, "", "List the API tokens."},
        {"token rm", cmd_token_rm, "NAME", "Revoke an API token."},
        {NULL, NULL, NULL, NULL},
};

/*
 * branchline.c - the operator CLI: global options and command dispatch.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_remote.h"
#include "log.h"

static const struct cli_cmd *const cmd_tables[] = {
        cli_store_cmds,
        cli_image_cmds,
        cli_upload_cmds,
        cli_site_cmds,
        cli_admin_cmds,
};

/* Tables whose commands talk to the API. */
static const struct cli_cmd *const remote_tables[] = {
        cli_upload_cmds,
        cli_site_cmds,
        cli_admin_cmds,
        cli_image_api_cmds,
};

/* Global options that take a value, and where it goes. */
static const struct {
	const char *name;
	size_t off; /* of the const char * in struct cli */
} value_opts[] = {
        {"--store", offsetof(struct cli, store_dir)},
        {"--server", offsetof(struct cli, server)},
        {"--token", offsetof(struct cli, token)},
        {"--ca", offsetof(struct cli, ca)},
};

static void
usage(FILE *fp)
{
	const struct cli_cmd *c;
	size_t t;

	fprintf(fp,
	        "usage: branchline [--store DIR] [--json] [-q] [-v] COMMAND "
	        "[ARGS]\n"
	        "       branchline [--server URL] [--token T] [--ca FILE] "
	        "[--json] [-q] COMMAND [ARGS]\n"
	        "       branchline --version | --help\n\n"
	        "Work on a Branchline image store (DIR defaults to "
	        "$BRANCHLINE_STORE),\n"
	        "or on the primary through its API.\n\n"
	        "Commands:\n");
	for (t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
		for (c = cmd_tables[t]; c->name != NULL; c++)
			fprintf(fp, "  %-18s %s\n", c->name, c->usage);
	fprintf(fp,
	        "\nOptions:\n"
	        "  --store DIR    the store directory\n"
	        "  --server URL   the primary's API, https://HOST:8443\n"
	        "  --token T      API token (better: BRANCHLINE_TOKEN or the "
	        "config file)\n"
	        "  --ca FILE      the primary's CA certificate, pinned\n"
	        "  --json         JSON output instead of tables\n"
	        "  -q             no progress output\n"
	        "  -v             more log output\n"
	        "\nServer, token and CA come from the options, else "
	        "BRANCHLINE_SERVER,\n"
	        "BRANCHLINE_TOKEN and BRANCHLINE_CA, else the file "
	        "$BRANCHLINE_CONFIG or\n"
	        "~/.config/branchline/cli.conf (lines 'server = URL', "
	        "'token = T', 'ca = FILE').\n"
	        "image list/show/diff/rm use the API when a server is set and "
	        "--store is not.\n"
	        "\n'branchline COMMAND --help' describes a command.\n"
	        "\nExit status: 0 success, 1 failure, 2 usage error, 3 not "
	        "found,\n4 verify found corrupt or missing data.\n");
}

/*
 * Imports read their input through a mapping; a file cut short by another
 * process meanwhile raises SIGBUS.  The store is crash-safe, so say what
 * happened and leave.
 */
static void
on_sigbus(int sig)
{
	static const char msg[] =
	        "branchline: an input file shrank while it was being read; "
	        "nothing was added ('branchline gc' reclaims its chunks)\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(EXIT_FAIL);
}

int
cli_cmd_remote(const struct cli_cmd *cmd)
{
	const struct cli_cmd *c;
	size_t t;

	for (t = 0; t < sizeof(remote_tables) / sizeof(remote_tables[0]); t++)
		for (c = remote_tables[t]; c->name != NULL; c++)
			if (c == cmd)
				return 1;
	return 0;
}

static const struct cli_cmd *
find_in(const struct cli_cmd *table, const char *name)
{
	const struct cli_cmd *c;

	for (c = table; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Match argv against "word" or "word word" command names. */
static const struct cli_cmd *
find_cmd(int argc, char **argv, int *used)
{
	const struct cli_cmd *c;
	char two[128];
	size_t t;

	if (argc >= 2) {
		snprintf(two, sizeof(two), "%s %s", argv[0], argv[1]);
		for (t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
			if ((c = find_in(cmd_tables[t], two)) != NULL) {
				*used = 2;
				return c;
			}
	}
	for (t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
		if ((c = find_in(cmd_tables[t], argv[0])) != NULL) {
			*used = 1;
			return c;
		}
	return NULL;
}

/*
 * image list/show/diff/rm work on the store named by --store; without
 * --store and with a server configured (flag, environment or config
 * file) they go to the API; else to $BRANCHLINE_STORE.  NULL with *rc set
 * when the config file cannot be read.
 */
static const struct cli_cmd *
pick_image_cmd(struct cli *c, const struct cli_cmd *cmd, int *rc)
{
	const struct cli_cmd *api = find_in(cli_image_api_cmds, cmd->name);
	int configured;

	*rc = 0;
	if (api == NULL || c->store_flag)
		return cmd;
	if ((configured = cli_remote_configured(c)) < 0) {
		*rc = EXIT_FAIL;
		return NULL;
	}
	return configured ? api : cmd;
}

/* A global option with a value: 1 taken (i stepped), 0 not one, -1 bad. */
static int
value_opt(struct cli *c, int argc, char **argv, int *i)
{
	const char *val;
	size_t k;
	int m;

	for (k = 0; k < sizeof(value_opts) / sizeof(value_opts[0]); k++) {
		if ((m = cli_opt(argc, argv, i, value_opts[k].name, &val)) == 0)
			continue;
		if (m < 0)
			return -1;
		*(const char **)(void *)((char *)c + value_opts[k].off) = val;
		if (k == 0)
			c->store_flag = 1;
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	const struct cli_cmd *cmd;
	int i, m, rc, used = 0, level = LOG_LEVEL_WARN;

	memset(&cli, 0, sizeof(cli));
	cli.store_dir = getenv("BRANCHLINE_STORE");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if ((m = value_opt(&cli, argc, argv, &i)) < 0) {
			usage(stderr);
			return EXIT_USAGE;
		} else if (m > 0)
			continue;
		else if (strcmp(argv[i], "--json") == 0)
			cli.json = 1;
		else if (strcmp(argv[i], "-q") == 0)
			cli.quiet = 1;
		else if (strcmp(argv[i], "-v") == 0)
			level++;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("branchline %s\n", BL_VERSION);
			return 0;
		} else if (strcmp(argv[i], "-h") == 0 ||
		        strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "branchline: unknown option %s\n",
			        argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	log_init(1, level, "branchline");
	signal(SIGBUS, on_sigbus);
	cli.tty = isatty(STDERR_FILENO);
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((cmd = find_cmd(argc - i, argv + i, &used)) == NULL) {
		fprintf(stderr, "branchline: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((cmd = pick_image_cmd(&cli, cmd, &rc)) == NULL)
		return rc;
	/* The command sees argv[0] = its name, then its arguments. */
	i += used - 1;
	if (cli_wants_help(cmd, argc - i, argv + i))
		return 0;
	return cmd->fn(&cli, argc - i, argv + i);
}

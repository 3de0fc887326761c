/*
 * branchline.c - the operator CLI: global options and command dispatch.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

static const struct cli_cmd *const cmd_tables[] = {
        cli_store_cmds,
        cli_image_cmds,
};

static void
usage(FILE *fp)
{
	const struct cli_cmd *c;
	size_t t;

	fprintf(fp,
	        "usage: branchline [--store DIR] [--json] [-q] [-v] COMMAND "
	        "[ARGS]\n"
	        "       branchline --version | --help\n\n"
	        "Work on a Branchline image store.  DIR defaults to "
	        "$BRANCHLINE_STORE.\n\n"
	        "Commands:\n");
	for (t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
		for (c = cmd_tables[t]; c->name != NULL; c++)
			fprintf(fp, "  %-14s %s\n", c->name, c->usage);
	fprintf(fp,
	        "\nOptions:\n"
	        "  --store DIR   the store directory\n"
	        "  --json        JSON output instead of tables\n"
	        "  -q            no progress output\n"
	        "  -v            more log output\n"
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
			for (c = cmd_tables[t]; c->name != NULL; c++)
				if (strcmp(c->name, two) == 0) {
					*used = 2;
					return c;
				}
	}
	for (t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
		for (c = cmd_tables[t]; c->name != NULL; c++)
			if (strcmp(c->name, argv[0]) == 0) {
				*used = 1;
				return c;
			}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	const struct cli_cmd *cmd;
	int i, used = 0, level = LOG_LEVEL_WARN;

	memset(&cli, 0, sizeof(cli));
	cli.store_dir = getenv("BRANCHLINE_STORE");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
			cli.store_dir = argv[++i];
		else if (strncmp(argv[i], "--store=", 8) == 0)
			cli.store_dir = argv[i] + 8;
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
	/* The command sees argv[0] = its name, then its arguments. */
	i += used - 1;
	if (cli_wants_help(cmd, argc - i, argv + i))
		return 0;
	return cmd->fn(&cli, argc - i, argv + i);
}

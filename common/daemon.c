/*
 * daemon.c - the command line both daemons share.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"

static void
usage(FILE *fp, const char *prog, const char *defconf)
{
	fprintf(fp,
	        "usage: %s [-n] [--config FILE]\n"
	        "       %s --version | --help\n\n"
	        "  --config FILE  configuration (default %s)\n"
	        "  -n             check the configuration and exit\n",
	        prog, prog, defconf);
}

int
daemon_parse_args(int argc, char **argv, const char *prog, const char *defconf,
        struct daemon_args *a)
{
	int i;

	a->config = defconf;
	a->check = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		        strcmp(argv[i], "-h") == 0) {
			usage(stdout, prog, defconf);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", prog, BL_VERSION);
			return 0;
		} else if (strcmp(argv[i], "-n") == 0) {
			a->check = 1;
		} else if ((strcmp(argv[i], "--config") == 0 ||
		                   strcmp(argv[i], "-c") == 0) &&
		        i + 1 < argc) {
			a->config = argv[++i];
		} else {
			fprintf(stderr, "%s: unknown option %s\n", prog,
			        argv[i]);
			usage(stderr, prog, defconf);
			return 2;
		}
	}
	return -1;
}

/*
 * branchline-primary.c - the head-office daemon.  This release parses its
 * configuration (-n checks it); the HTTPS API and replication source
 * arrive with the next issues.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "primary_conf.h"

#define DEFAULT_CONF "/etc/branchline/primary.conf"

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: branchline-primary [-n] [--config FILE]\n"
	        "       branchline-primary --version | --help\n\n"
	        "  --config FILE  configuration (default %s)\n"
	        "  -n             check the configuration and exit\n",
	        DEFAULT_CONF);
}

int
main(int argc, char **argv)
{
	struct primary_conf pc;
	const char *conf = DEFAULT_CONF;
	char why[512] = "";
	int i, check = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		        strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("branchline-primary %s\n", BL_VERSION);
			return 0;
		} else if (strcmp(argv[i], "-n") == 0)
			check = 1;
		else if ((strcmp(argv[i], "--config") == 0 ||
		                 strcmp(argv[i], "-c") == 0) &&
		        i + 1 < argc)
			conf = argv[++i];
		else {
			fprintf(stderr,
			        "branchline-primary: unknown option "
			        "%s\n",
			        argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (primary_conf_load(conf, &pc, why, sizeof(why)) != 0) {
		fprintf(stderr, "branchline-primary: %s\n", why);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		return 0;
	}
	fprintf(stderr,
	        "branchline-primary: the daemon's services are not "
	        "in this release; use -n to check a configuration\n");
	return 1;
}

/*
 * branchline-primary.c - the head-office daemon.  This release parses its
 * configuration (-n checks it); the HTTPS API and replication source
 * arrive with the next issues.
 */
#include <stdio.h>

#include "daemon.h"
#include "primary_conf.h"

int
main(int argc, char **argv)
{
	struct daemon_args a;
	struct primary_conf conf;
	char why[512] = "";
	int rc;

	if ((rc = daemon_parse_args(argc, argv, "branchline-primary",
	             "/etc/branchline/primary.conf", &a)) >= 0)
		return rc;
	if (primary_conf_load(a.config, &conf, why, sizeof(why)) != 0) {
		fprintf(stderr, "branchline-primary: %s\n", why);
		return 1;
	}
	if (a.check) {
		printf("configuration OK\n");
		return 0;
	}
	fprintf(stderr,
	        "branchline-primary: the daemon's services are not in this "
	        "release; use -n to check a configuration\n");
	return 1;
}

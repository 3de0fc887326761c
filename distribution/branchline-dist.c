/*
 * branchline-dist.c - the branch-site daemon.  This release parses its
 * configuration (-n checks it); the replication agent and boot services
 * arrive with the next issues.
 */
#include <stdio.h>

#include "daemon.h"
#include "dist_conf.h"

int
main(int argc, char **argv)
{
	struct daemon_args a;
	struct dist_conf conf;
	char why[512] = "";
	int rc;

	if ((rc = daemon_parse_args(argc, argv, "branchline-dist",
	             "/etc/branchline/dist.conf", &a)) >= 0)
		return rc;
	if (dist_conf_load(a.config, &conf, why, sizeof(why)) != 0) {
		fprintf(stderr, "branchline-dist: %s\n", why);
		return 1;
	}
	if (a.check) {
		printf("configuration OK\n");
		return 0;
	}
	fprintf(stderr,
	        "branchline-dist: the daemon's services are not in this "
	        "release; use -n to check a configuration\n");
	return 1;
}

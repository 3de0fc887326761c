/*
 * daemon.h - the command line both daemons share.
 */
#ifndef BL_DAEMON_H
#define BL_DAEMON_H

struct daemon_args {
	const char *config; /* --config FILE, or the default */
	int check;          /* -n: check the configuration and exit */
};

/*
 * Parse --help, --version, -n and --config FILE for program prog.
 * Returns -1 when the daemon should go on, otherwise the exit status
 * (0 after --help or --version, 2 after a usage error, printed).
 */
int daemon_parse_args(int argc, char **argv, const char *prog,
        const char *defconf, struct daemon_args *a);

#endif /* BL_DAEMON_H */

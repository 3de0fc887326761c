/*
 * daemon.h - the command line both daemons share.
 */
#ifndef BL_DAEMON_H
#define BL_DAEMON_H

#include <stddef.h>

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

/*
 * Become user (nothing when user is NULL or ""): supplementary groups
 * dropped, then its group and uid, for good, and then dir (may be NULL)
 * must be writable.  Called once the privileged ports are bound and
 * before any packet is handled or a thread started.  Returns 0 or an
 * error with why.
 */
int daemon_drop(const char *user, const char *dir, char *why, size_t whylen);

/*
 * Act as user (on: effective ids only) or as root again (off), so that
 * what a root process creates before daemon_drop (the store opened at
 * start) belongs to the user it will run as.  Nothing when user is NULL
 * or "" or we are not root.  0 or an error with why.
 */
int daemon_as_user(const char *user, int on, char *why, size_t whylen);

#endif /* BL_DAEMON_H */

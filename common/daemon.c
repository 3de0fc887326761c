/*
 * daemon.c - the command line both daemons share, and dropping root.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include "daemon.h"
#include "error.h"

static void
usage(FILE *fp, const char *prog, const char *defconf)
{
	fprintf(fp,
	        "usage: %s [-n] [--config FILE]\n"
	        "       %s --version | --help\n\n"
	        "  --config FILE  configuration (default %s)\n"
	        "  -n             check the configuration and exit\n\n"
	        "Runs in the foreground and logs to stderr (under systemd: the "
	        "journal).\nStarted as root, it binds its ports and then drops "
	        "to the configuration's\n`user` for good.\n",
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

int
daemon_drop(const char *user, const char *dir, char *why, size_t whylen)
{
	struct passwd *pw;

	if (user == NULL || user[0] == '\0')
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return bl_why(why, whylen, BL_ENOTFOUND,
		        "user '%s': %s", user,
		        errno != 0 ? strerror(errno) : "no such user");
	if (pw->pw_uid == 0)
		return bl_why(why, whylen, BL_EUSAGE,
		        "user '%s' is root: name an unprivileged one", user);
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0; /* started as that user already */
		return bl_why(why, whylen, -EPERM,
		        "user '%s': only root can switch to it", user);
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	        setuid(pw->pw_uid) != 0)
		return bl_why(why, whylen, -errno, "switching to user '%s': %s",
		        user, strerror(errno));
	/* Irreversible: a way back would mean the drop did not happen. */
	if (setuid(0) == 0 || geteuid() == 0)
		return bl_why(why, whylen, -EPERM,
		        "still root after switching to user '%s'", user);
	/* Changing uid made us non-dumpable, which makes /proc/self/fd
	 * root's: the chunk store links its O_TMPFILE files in through it.
	 * Nothing of root's is left in this process to protect. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
		return bl_why(why, whylen, -errno, "prctl: %s",
		        strerror(errno));
	if (dir != NULL && access(dir, R_OK | W_OK | X_OK) != 0)
		return bl_why(why, whylen, -errno,
		        "user '%s' cannot write %s (chown -R %s %s)", user,
		        dir, user, dir);
	return 0;
}

int
daemon_as_user(const char *user, int on, char *why, size_t whylen)
{
	struct passwd *pw;

	if (user == NULL || user[0] == '\0' || getuid() != 0)
		return 0;
	if (!on) {
		if (seteuid(0) != 0 || setegid(0) != 0)
			return bl_why(why, whylen, -errno,
			        "back to root: %s", strerror(errno));
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return bl_why(why, whylen, BL_ENOTFOUND, "user '%s': %s", user,
		        errno != 0 ? strerror(errno) : "no such user");
	if (setegid(pw->pw_gid) != 0 || seteuid(pw->pw_uid) != 0)
		return bl_why(why, whylen, -errno, "acting as user '%s': %s",
		        user, strerror(errno));
	return 0;
}

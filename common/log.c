/*
 * log.c - stderr or syslog logging with levels.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static int log_fg = 1;
static int log_level = LOG_LEVEL_INFO;
static const char *log_prog = "branchline";

void
log_init(int foreground, int level, const char *progname)
{
	log_fg = foreground;
	log_level = level;
	if (progname != NULL)
		log_prog = progname;
	if (!log_fg)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

static void vlog(int pri, const char *fmt, va_list ap, int with_errno,
	int saved) __attribute__((format(printf, 2, 0)));

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno, int saved)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_fg) {
		if (with_errno)
			fprintf(stderr, "%s: %s: %s\n", log_prog, msg,
			        strerror(saved));
		else
			fprintf(stderr, "%s: %s\n", log_prog, msg);
		fflush(stderr);
	} else {
		if (with_errno)
			syslog(pri, "%s: %s", msg, strerror(saved));
		else
			syslog(pri, "%s", msg);
	}
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, 1, saved);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, 0, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, 0, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, 0, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 1, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0, 0);
	va_end(ap);
	exit(1);
}

int
log_rate(struct log_rate *r, int max, uint64_t *skipped)
{
	time_t now = time(NULL);

	if (skipped != NULL)
		*skipped = 0;
	if (now != r->sec) {
		if (skipped != NULL)
			*skipped = r->left_out;
		r->sec = now;
		r->n = 0;
		r->left_out = 0;
	}
	if (r->n < max) {
		r->n++;
		return 1;
	}
	r->left_out++;
	return 0;
}

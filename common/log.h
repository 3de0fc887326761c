/*
 * log.h - the one logging module (after OpenBSD dhcpleased's log.h).
 *
 * In the foreground messages go to stderr; log_init(0, ...) sends them to
 * syslog (the journal under systemd).  log_warn() appends strerror(errno);
 * log_warnx() does not.  fatal()/fatalx() log and exit(1): only for main()
 * and start-up code, never in library paths that can return an error.
 */
#ifndef BL_LOG_H
#define BL_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#define LOG_LEVEL_WARN  0
#define LOG_LEVEL_INFO  1
#define LOG_LEVEL_DEBUG 2

void log_init(int foreground, int level, const char *progname);
void log_setlevel(int level);
int log_getlevel(void);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
        __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
        __attribute__((format(printf, 1, 2), noreturn));

/*
 * A limit of lines a second for one kind of message (garbage packets, a
 * line per answer in a storm).  log_rate returns 1 when a line may go
 * out now, else counts it as left out; when a new second begins,
 * *skipped (may be NULL) gets how many the last one left out, so the
 * caller can say so.  Start zeroed.
 */
struct log_rate {
	time_t sec;
	int n;
	uint64_t left_out;
};
int log_rate(struct log_rate *r, int max, uint64_t *skipped);

#endif /* BL_LOG_H */

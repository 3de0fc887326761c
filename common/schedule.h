/*
 * schedule.h - replication windows with bandwidth caps, and time zones.
 *
 * A schedule is a list of weekly windows written as text, e.g.
 *
 *   mon-fri 22:00-06:00 50mbit; sat 06:00-24:00; sun 00:00-24:00
 *
 * Windows are separated by ';', each "DAYS HH:MM-HH:MM [RATE]":
 *   DAYS  comma-separated day names (mon tue wed thu fri sat sun, any
 *         case), ranges "mon-fri" or "fri-mon" (wrapping), or "daily"/"*".
 *         A day listed twice is an error.
 *   TIME  start and end, 00:00..23:59 and 00:00..24:00.  An end at or
 *         before the start runs past midnight into the next day (Sunday
 *         into Monday); 00:00-24:00 is the whole day.
 *   RATE  a positive whole number with unit bit, kbit, mbit or gbit
 *         (decimal SI: 1mbit = 1,000,000 bit/s, any case), or "unlimited";
 *         absent means unlimited.
 * Overlapping windows (a minute of the week covered twice) are refused.
 * Times are local to the site's time zone (see tz_localtime).
 */
#ifndef BL_SCHED_H
#define BL_SCHED_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SCHED_SPEC_MAX        4096              /* bytes of schedule text */
#define SCHED_WINDOWS_MAX     64                /* windows per schedule */
#define SCHED_CAP_MAX         10000000000000ull /* 10 Tbit/s */
#define SCHED_DAY_MINUTES     1440
#define SCHED_WEEK_MINUTES    (7 * SCHED_DAY_MINUTES)
#define SCHED_ALL_DAYS        0x7f
#define SCHED_TEXT_PER_WINDOW 48 /* canonical text of one window, "; " too */
#define TZ_NAME_MAX           64 /* bytes of an IANA zone name */
#define TZ_DIR                "/usr/share/zoneinfo"

struct sched_window {
	uint8_t days;     /* bit 0 = Monday .. bit 6 = Sunday; never 0 */
	uint16_t start;   /* minutes after local midnight, 0..1439 */
	uint16_t end;     /* 0..1440; end <= start runs into the next day */
	uint64_t cap_bps; /* bits per second, 1..SCHED_CAP_MAX; 0 = uncapped */
};

/*
 * Parse spec (NUL-terminated, at most SCHED_SPEC_MAX bytes of printable
 * ASCII and tabs) into a malloc'd array *out of *n windows (caller frees;
 * NULL with *n = 0 for an empty or blank spec).  Pure.  Returns 0,
 * BL_EFORMAT or BL_ETOOBIG with why naming the window, e.g.
 * "window 2 ('sat 25:00-03:00'): hour 25 is out of range", or the two
 * windows that overlap and the first minute they share; -ENOMEM.
 * On failure *out is NULL and *n is 0.
 */
int sched_parse(const char *spec, struct sched_window **out, size_t *n,
        char *why, size_t whylen);

/*
 * Write the canonical text of w[0..n) into buf[len]: "; " between
 * windows, days as "daily" or runs ("mon-fri", "sat,sun", wrapping runs
 * such as "fri-mon" last), two-digit times, the rate in the largest unit
 * that divides it exactly and none when uncapped.  sched_parse reads it
 * back to the same array.  Returns 0, BL_EFORMAT for a window outside
 * the ranges above (overlaps are not checked), BL_ETOOBIG if buf is too
 * small.  n * SCHED_TEXT_PER_WINDOW + 1 bytes always suffice, so the text
 * of any schedule sched_parse accepts fits in SCHED_SPEC_MAX bytes.
 */
int sched_format(const struct sched_window *w, size_t n, char *buf, size_t len);

/*
 * Where minute (0..1439) of day wday (0 = Monday .. 6 = Sunday; from a
 * struct tm: (tm_wday + 6) % 7) falls.
 * Returns 1 inside a window: *cap_bps is its cap and *until_minutes the
 * minutes until it closes (1..1440).  Returns 0 outside every window:
 * *until_minutes is the minutes until the next window opens (1..10080),
 * or -1 if there is none.  If windows overlap (sched_parse refuses that),
 * the first one containing the minute wins.  BL_EUSAGE for an argument
 * out of range.
 */
int sched_lookup(const struct sched_window *w, size_t n, int wday, int minute,
        uint64_t *cap_bps, int *until_minutes);

/*
 * 1 if name is an IANA time zone name ("Europe/Paris", "UTC"): 1 to
 * TZ_NAME_MAX bytes of [A-Za-z0-9_+-/], no "..", no empty component, no
 * leading or trailing '/', and TZ_DIR/name is a regular file (after
 * symlinks) starting with the "TZif" magic.  0 otherwise.  Reads the
 * file system; tz_name_valid is the pure syntax check alone.
 */
int tz_valid(const char *name);
int tz_name_valid(const char *name);

/*
 * Convert t to local time in zone name into *out (tm_gmtoff and tm_zone
 * set as localtime_r sets them).  Returns 0, BL_EFORMAT if !tz_valid(name),
 * -ENOMEM, -EOVERFLOW.
 *
 * Limitation: the C library converts only in the zone named by TZ, so
 * this sets TZ, calls tzset() and localtime_r() and restores TZ, under a
 * process-wide mutex.  Calls to tz_localtime are safe from any thread,
 * but another thread calling localtime(), mktime(), getenv() or setenv()
 * meanwhile may see the temporary TZ.
 */
int tz_localtime(const char *name, time_t t, struct tm *out);

#endif /* BL_SCHED_H */

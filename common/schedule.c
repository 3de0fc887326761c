/*
 * schedule.c - replication windows: parse, check, format, look up; zones.
 *
 * A window covers, for each of its days, the minutes [start, start + span)
 * of the week, modulo the week, so that a window past Sunday midnight
 * spills into Monday.  Overlaps are found by painting every covered minute
 * of the week (10,080 cells) with the window's number.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "schedule.h"

#define TOKEN_MAX 64 /* bytes of one token of a window, NUL included */

static const char *const day_names[7] = {
        "mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const day_titles[7] = {
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

/* Rate units, largest first (sched_format picks the first that divides). */
static const struct {
	const char *name;
	uint64_t mul;
} units[] = {
        {"gbit", 1000000000ull},
        {"mbit", 1000000ull},
        {"kbit", 1000ull},
        {"bit", 1ull},
};

#define NUNITS (sizeof(units) / sizeof(units[0]))

static int err(char *e, size_t elen, int rc, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
err(char *e, size_t elen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e, elen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Minutes a window lasts on each of its days: 1..1440. */
static int
span(const struct sched_window *w)
{
	if (w->end > w->start)
		return w->end - w->start;
	return w->end + SCHED_DAY_MINUTES - w->start;
}

static int
window_valid(const struct sched_window *w)
{
	return w->days != 0 && (w->days & ~SCHED_ALL_DAYS) == 0 &&
	        w->start < SCHED_DAY_MINUTES && w->end <= SCHED_DAY_MINUTES &&
	        w->cap_bps <= SCHED_CAP_MAX;
}

/*
 * Copy the next blank-separated token of *p into tok[TOKEN_MAX] and
 * advance *p.  Returns 1, 0 at the end, BL_ETOOBIG for a long token.
 */
static int
next_token(const char **p, char *tok)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return 0;
	while (s[n] != '\0' && s[n] != ' ' && s[n] != '\t')
		n++;
	if (n >= TOKEN_MAX)
		return BL_ETOOBIG;
	memcpy(tok, s, n);
	tok[n] = '\0';
	*p = s + n;
	return 1;
}

static int
day_index(const char *s, size_t len)
{
	int d;

	for (d = 0; d < 7; d++)
		if (len == 3 && strncasecmp(s, day_names[d], 3) == 0)
			return d;
	return -1;
}

/* One item of the DAYS list: "mon", "fri-mon", "daily" or "*". */
static int
parse_day_item(const char *s, size_t len, uint8_t *days, char *e, size_t elen)
{
	const char *dash = memchr(s, '-', len);
	uint8_t add = 0;
	int a, b;

	if (len == 0)
		return err(e, elen, BL_EFORMAT, "empty item in the day list");
	if ((len == 5 && strncasecmp(s, "daily", 5) == 0) ||
	        (len == 1 && *s == '*')) {
		add = SCHED_ALL_DAYS;
	} else if (dash == NULL) {
		if ((a = day_index(s, len)) < 0)
			goto bad;
		add = (uint8_t)(1u << a);
	} else {
		a = day_index(s, (size_t)(dash - s));
		b = day_index(dash + 1, len - (size_t)(dash - s) - 1);
		if (a < 0 || b < 0)
			goto bad;
		if (a == b)
			return err(e, elen, BL_EFORMAT,
			        "range '%.*s' starts and ends on the same day",
			        (int)len, s);
		for (; a != b; a = (a + 1) % 7)
			add |= (uint8_t)(1u << a);
		add |= (uint8_t)(1u << b);
	}
	if (*days & add)
		return err(e, elen, BL_EFORMAT, "%s is listed twice",
		        day_titles[__builtin_ctz(*days & add)]);
	*days |= add;
	return 0;
bad:
	return err(e, elen, BL_EFORMAT,
	        "'%.*s' is not a day (mon..sun), a range (mon-fri) or daily",
	        (int)len, s);
}

static int
parse_days(const char *tok, uint8_t *days, char *e, size_t elen)
{
	const char *comma;
	int rc;

	*days = 0;
	for (;;) {
		comma = strchr(tok, ',');
		rc = parse_day_item(tok,
		        comma ? (size_t)(comma - tok) : strlen(tok), days, e,
		        elen);
		if (rc != 0 || comma == NULL)
			return rc;
		tok = comma + 1;
	}
}

/* "HH:MM" at s (5 bytes known present) into hour and minute. */
static int
parse_hhmm(const char *s, int *h, int *m)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	        s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	        !isdigit((unsigned char)s[4]))
		return -1;
	*h = (s[0] - '0') * 10 + (s[1] - '0');
	*m = (s[3] - '0') * 10 + (s[4] - '0');
	return 0;
}

static int
parse_time(const char *tok, struct sched_window *w, char *e, size_t elen)
{
	int h[2], m[2], i;

	if (strlen(tok) != 11 || tok[5] != '-' ||
	        parse_hhmm(tok, &h[0], &m[0]) != 0 ||
	        parse_hhmm(tok + 6, &h[1], &m[1]) != 0)
		return err(e, elen, BL_EFORMAT, "'%s' is not HH:MM-HH:MM", tok);
	for (i = 0; i < 2; i++) {
		if (h[i] > 24)
			return err(e, elen, BL_EFORMAT,
			        "hour %d is out of range", h[i]);
		if (m[i] > 59)
			return err(e, elen, BL_EFORMAT,
			        "minute %d is out of range", m[i]);
	}
	if (h[0] == 24)
		return err(e, elen, BL_EFORMAT,
		        "start 24:%02d is out of range (use 00:00)", m[0]);
	if (h[1] == 24 && m[1] != 0)
		return err(e, elen, BL_EFORMAT,
		        "end 24:%02d is past the end of the day", m[1]);
	w->start = (uint16_t)(h[0] * 60 + m[0]);
	w->end = (uint16_t)(h[1] * 60 + m[1]);
	return 0;
}

static int
parse_rate(const char *tok, uint64_t *cap, char *e, size_t elen)
{
	uint64_t v = 0;
	const char *p;
	size_t i;

	*cap = 0;
	if (strcasecmp(tok, "unlimited") == 0)
		return 0;
	for (p = tok; isdigit((unsigned char)*p); p++) {
		if (p - tok >= 15)
			return err(e, elen, BL_ETOOBIG,
			        "rate '%s' exceeds 10000gbit", tok);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == tok)
		return err(e, elen, BL_EFORMAT,
		        "'%s' is not a rate such as 50mbit or unlimited", tok);
	if (*p == '.')
		return err(e, elen, BL_EFORMAT,
		        "rate '%s': use a whole number of a smaller unit "
		        "(1.5mbit = 1500kbit)",
		        tok);
	for (i = 0; i < NUNITS; i++)
		if (strcasecmp(p, units[i].name) == 0)
			break;
	if (i == NUNITS)
		return err(e, elen, BL_EFORMAT,
		        "rate '%s': the unit must be bit, kbit, mbit or gbit",
		        tok);
	if (v == 0)
		return err(e, elen, BL_EFORMAT,
		        "rate '%s' must be positive (write 'unlimited' or "
		        "nothing for no cap)",
		        tok);
	if (v > SCHED_CAP_MAX / units[i].mul)
		return err(e, elen, BL_ETOOBIG, "rate '%s' exceeds 10000gbit",
		        tok);
	*cap = v * units[i].mul;
	return 0;
}

/* One window "DAYS HH:MM-HH:MM [RATE]" (trimmed, non-empty). */
static int
parse_window(const char *text, struct sched_window *w, char *e, size_t elen)
{
	char tok[TOKEN_MAX];
	const char *p = text;
	int rc, i;

	memset(w, 0, sizeof(*w));
	for (i = 0; (rc = next_token(&p, tok)) == 1; i++) {
		if (i == 0)
			rc = parse_days(tok, &w->days, e, elen);
		else if (i == 1)
			rc = parse_time(tok, w, e, elen);
		else if (i == 2)
			rc = parse_rate(tok, &w->cap_bps, e, elen);
		else
			rc = err(e, elen, BL_EFORMAT,
			        "unexpected '%s' after the rate", tok);
		if (rc != 0)
			return rc;
	}
	if (rc < 0)
		return err(e, elen, rc, "a word is longer than %d bytes",
		        TOKEN_MAX - 1);
	if (i < 2)
		return err(e, elen, BL_EFORMAT,
		        "expected DAYS HH:MM-HH:MM [RATE]");
	return 0;
}

/*
 * Split buf in place at ';' into trimmed window texts.  Returns the count
 * (0 for a blank spec) or BL_ETOOBIG.
 */
static int
split_windows(char *buf, char **texts)
{
	size_t n = 0, len;
	char *p = buf, *semi;

	for (;;) {
		if (n == SCHED_WINDOWS_MAX)
			return BL_ETOOBIG;
		semi = strchr(p, ';');
		if (semi != NULL)
			*semi = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		len = strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			p[--len] = '\0';
		texts[n++] = p;
		if (semi == NULL)
			break;
		p = semi + 1;
	}
	return n == 1 && texts[0][0] == '\0' ? 0 : (int)n;
}

/* Refuse two windows covering one minute of the week. */
static int
check_overlaps(const struct sched_window *w, size_t n, char **texts, char *why,
        size_t whylen)
{
	uint8_t *owner;
	int d, k, m;
	size_t j;

	if ((owner = calloc(SCHED_WEEK_MINUTES, 1)) == NULL)
		return -ENOMEM;
	for (j = 0; j < n; j++)
		for (d = 0; d < 7; d++) {
			if (!(w[j].days & (1u << d)))
				continue;
			for (k = 0; k < span(&w[j]); k++) {
				m = (d * SCHED_DAY_MINUTES + w[j].start + k) %
				        SCHED_WEEK_MINUTES;
				if (owner[m] != 0 && owner[m] != j + 1)
					goto overlap;
				owner[m] = (uint8_t)(j + 1);
			}
		}
	free(owner);
	return 0;
overlap:
	k = owner[m] - 1;
	free(owner);
	return bl_why(why, whylen, BL_EFORMAT,
	        "window %d ('%s') overlaps window %zu ('%s') on %s %02d:%02d",
	        k + 1, texts[k], j + 1, texts[j],
	        day_titles[m / SCHED_DAY_MINUTES], m % SCHED_DAY_MINUTES / 60,
	        m % 60);
}

static int
check_chars(const char *spec, size_t len, char *why, size_t whylen)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)spec[i];
		if ((c < 0x20 && c != '\t') || c > 0x7e)
			return bl_why(why, whylen, BL_EFORMAT,
			        "byte %zu (0x%02x) is not printable ASCII", i,
			        c);
	}
	return 0;
}

int
sched_parse(const char *spec, struct sched_window **out, size_t *n, char *why,
        size_t whylen)
{
	char buf[SCHED_SPEC_MAX + 1], *texts[SCHED_WINDOWS_MAX], e[256];
	struct sched_window *w;
	size_t len;
	int rc, cnt, i;

	if (out == NULL || n == NULL)
		return BL_EUSAGE;
	*out = NULL;
	*n = 0;
	if (spec == NULL)
		return BL_EUSAGE;
	if ((len = strnlen(spec, SCHED_SPEC_MAX + 1)) > SCHED_SPEC_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "schedule is longer than %d bytes", SCHED_SPEC_MAX);
	if ((rc = check_chars(spec, len, why, whylen)) != 0)
		return rc;
	memcpy(buf, spec, len + 1);
	if ((cnt = split_windows(buf, texts)) < 0)
		return bl_why(why, whylen, cnt, "more than %d windows",
		        SCHED_WINDOWS_MAX);
	if (cnt == 0)
		return 0;
	if ((w = calloc((size_t)cnt, sizeof(*w))) == NULL)
		return -ENOMEM;
	for (i = 0; i < cnt; i++) {
		if (texts[i][0] == '\0')
			rc = err(e, sizeof(e), BL_EFORMAT, "empty window");
		else
			rc = parse_window(texts[i], &w[i], e, sizeof(e));
		if (rc != 0) {
			bl_why(why, whylen, rc, "window %d ('%s'): %s", i + 1,
			        texts[i], e);
			goto fail;
		}
	}
	if ((rc = check_overlaps(w, (size_t)cnt, texts, why, whylen)) != 0)
		goto fail;
	*out = w;
	*n = (size_t)cnt;
	return 0;
fail:
	free(w);
	return rc;
}

/* Canonical day list into out[32]: "daily", runs, wrapping run last. */
static void
format_days(uint8_t days, char *out, size_t outlen)
{
	int start[7], len[7], nr = 0, d, r, k;
	size_t pos = 0;

	if (days == SCHED_ALL_DAYS) {
		snprintf(out, outlen, "daily");
		return;
	}
	for (d = 0; d < 7; d++) {
		if (!(days & (1u << d)))
			continue;
		if (nr > 0 && start[nr - 1] + len[nr - 1] == d) {
			len[nr - 1]++;
			continue;
		}
		start[nr] = d;
		len[nr++] = 1;
	}
	if (nr > 1 && start[0] == 0 && start[nr - 1] + len[nr - 1] == 7) {
		len[nr - 1] += len[0]; /* Sunday runs on into Monday */
		memmove(start, start + 1, (size_t)(nr - 1) * sizeof(int));
		memmove(len, len + 1, (size_t)(nr - 1) * sizeof(int));
		nr--;
	}
	out[0] = '\0';
	for (r = 0; r < nr; r++) {
		if (len[r] >= 3) {
			pos += (size_t)snprintf(out + pos, outlen - pos,
			        "%s%s-%s", r ? "," : "", day_names[start[r]],
			        day_names[(start[r] + len[r] - 1) % 7]);
			continue;
		}
		for (k = 0; k < len[r]; k++)
			pos += (size_t)snprintf(out + pos, outlen - pos, "%s%s",
			        r || k ? "," : "",
			        day_names[(start[r] + k) % 7]);
	}
}

static void
format_rate(uint64_t cap, char *out, size_t outlen)
{
	size_t i;

	out[0] = '\0';
	if (cap == 0)
		return;
	for (i = 0; i < NUNITS - 1; i++)
		if (cap % units[i].mul == 0)
			break;
	snprintf(out, outlen, " %llu%s",
	        (unsigned long long)(cap / units[i].mul), units[i].name);
}

int
sched_format(const struct sched_window *w, size_t n, char *buf, size_t len)
{
	char days[32], rate[32];
	size_t i, pos = 0;
	int k;

	if (buf == NULL || len == 0 || (w == NULL && n > 0))
		return BL_EUSAGE;
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!window_valid(&w[i]))
			return BL_EFORMAT;
		format_days(w[i].days, days, sizeof(days));
		format_rate(w[i].cap_bps, rate, sizeof(rate));
		k = snprintf(buf + pos, len - pos, "%s%s %02d:%02d-%02d:%02d%s",
		        i ? "; " : "", days, w[i].start / 60, w[i].start % 60,
		        w[i].end / 60, w[i].end % 60, rate);
		if (k < 0 || (size_t)k >= len - pos) {
			buf[0] = '\0';
			return BL_ETOOBIG;
		}
		pos += (size_t)k;
	}
	return 0;
}

int
sched_lookup(const struct sched_window *w, size_t n, int wday, int minute,
        uint64_t *cap_bps, int *until_minutes)
{
	int q, s, off, best = -1, d;
	size_t i;

	if (wday < 0 || wday > 6 || minute < 0 || minute >= SCHED_DAY_MINUTES ||
	        cap_bps == NULL || until_minutes == NULL ||
	        (w == NULL && n > 0))
		return BL_EUSAGE;
	q = wday * SCHED_DAY_MINUTES + minute;
	for (i = 0; i < n; i++) {
		if (!window_valid(&w[i]))
			return BL_EUSAGE;
		for (d = 0; d < 7; d++) {
			if (!(w[i].days & (1u << d)))
				continue;
			s = d * SCHED_DAY_MINUTES + w[i].start;
			off = (q - s + SCHED_WEEK_MINUTES) % SCHED_WEEK_MINUTES;
			if (off < span(&w[i])) {
				*cap_bps = w[i].cap_bps;
				*until_minutes = span(&w[i]) - off;
				return 1;
			}
			/* Minutes until it opens: 1..10079 (0 is inside). */
			off = SCHED_WEEK_MINUTES - off;
			if (best < 0 || off < best)
				best = off;
		}
	}
	*cap_bps = 0;
	*until_minutes = best;
	return 0;
}

int
tz_name_valid(const char *name)
{
	size_t i, len;
	char c;

	if (name == NULL)
		return 0;
	len = strnlen(name, TZ_NAME_MAX + 1);
	if (len == 0 || len > TZ_NAME_MAX || name[0] == '/' ||
	        name[len - 1] == '/' || strstr(name, "..") != NULL ||
	        strstr(name, "//") != NULL)
		return 0;
	for (i = 0; i < len; i++) {
		c = name[i];
		if (!isalnum((unsigned char)c) && c != '_' && c != '+' &&
		        c != '-' && c != '/')
			return 0;
	}
	return 1;
}

int
tz_valid(const char *name)
{
	char path[sizeof(TZ_DIR) + TZ_NAME_MAX + 1], magic[4];
	struct stat st;
	int fd, ok;

	if (!tz_name_valid(name))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
	/* O_NONBLOCK: a FIFO planted there must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	        read(fd, magic, 4) == 4 && memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

/* Under tz_lock: TZ=":TZ_DIR/name", convert, put the old TZ back. */
static int
tz_convert_locked(const char *name, time_t t, struct tm *out)
{
	char val[sizeof(TZ_DIR) + TZ_NAME_MAX + 2], *old = NULL;
	const char *cur;
	int rc = 0;

	if ((cur = getenv("TZ")) != NULL && (old = strdup(cur)) == NULL)
		return -ENOMEM;
	/* An absolute file: immune to TZDIR and POSIX TZ-string parsing. */
	snprintf(val, sizeof(val), ":%s/%s", TZ_DIR, name);
	if (setenv("TZ", val, 1) != 0) {
		rc = -errno;
		goto out_free_old;
	}
	tzset();
	if (localtime_r(&t, out) == NULL)
		rc = -EOVERFLOW;
	if (old != NULL)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
out_free_old:
	free(old);
	return rc;
}

int
tz_localtime(const char *name, time_t t, struct tm *out)
{
	int rc;

	if (out == NULL)
		return BL_EUSAGE;
	if (!tz_valid(name))
		return BL_EFORMAT;
	pthread_mutex_lock(&tz_lock);
	rc = tz_convert_locked(name, t, out);
	pthread_mutex_unlock(&tz_lock);
	return rc;
}

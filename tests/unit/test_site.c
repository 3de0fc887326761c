/*
 * test_site.c - sites and schedules: the schedule grammar, its canonical
 * form, overlaps across midnight and Sunday into Monday, window look-up at
 * the boundaries, time zones, subnets, the site document (round trips and
 * an error naming the field for each rule) and the checks across sites.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "error.h"
#include "schedule.h"
#include "site.h"
#include "test_list.h"

#define HAS(why, s) CU_ASSERT_PTR_NOT_NULL(strstr((why), (s)))

static int
windows_same(
        const struct sched_window *a, const struct sched_window *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].days != b[i].days || a[i].start != b[i].start ||
		        a[i].end != b[i].end || a[i].cap_bps != b[i].cap_bps)
			return 0;
	return 1;
}

/* sched_parse that must succeed; returns the count. */
static size_t
sp(const char *spec, struct sched_window **w)
{
	char why[256] = "";
	size_t n = 99;
	int rc;

	rc = sched_parse(spec, w, &n, why, sizeof(why));
	if (rc != 0)
		fprintf(stderr, "sched_parse(%s): %s\n", spec, why);
	CU_ASSERT_EQUAL(rc, 0);
	return n;
}

static void
test_sched_parse(void)
{
	struct sched_window *w;
	size_t n;

	n = sp("mon-fri 22:00-06:00 50mbit; sat 06:00-24:00; sun 00:00-24:00",
	        &w);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(w[0].days, 0x1f);
	CU_ASSERT_EQUAL(w[0].start, 22 * 60);
	CU_ASSERT_EQUAL(w[0].end, 6 * 60);
	CU_ASSERT_EQUAL(w[0].cap_bps, 50000000);
	CU_ASSERT_EQUAL(w[1].days, 0x20);
	CU_ASSERT_EQUAL(w[1].start, 6 * 60);
	CU_ASSERT_EQUAL(w[1].end, 1440);
	CU_ASSERT_EQUAL(w[1].cap_bps, 0);
	CU_ASSERT_EQUAL(w[2].days, 0x40);
	CU_ASSERT_EQUAL(w[2].start, 0);
	free(w);
	/* Case, '*', wrapping ranges, units, tabs. */
	n = sp("\tFri-MON 10:00-11:00 7Kbit ;* 12:00-13:00 unlimited; "
	       "daily 14:00-15:00 2GBIT",
	        &w);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(w[0].days, 0x71);
	CU_ASSERT_EQUAL(w[0].cap_bps, 7000);
	CU_ASSERT_EQUAL(w[1].days, 0x7f);
	CU_ASSERT_EQUAL(w[1].cap_bps, 0);
	CU_ASSERT_EQUAL(w[2].cap_bps, 2000000000ull);
	free(w);
	/* Empty and blank specs: no windows. */
	CU_ASSERT_EQUAL(sp("", &w), 0);
	CU_ASSERT_PTR_NULL(w);
	CU_ASSERT_EQUAL(sp("  \t ", &w), 0);
	CU_ASSERT_PTR_NULL(w);
}

static void
test_sched_format(void)
{
	static const char *const cases[][2] = {
	        {"mon,tue,wed,thu,fri 22:00-06:00 50000kbit",
	                "mon-fri 22:00-06:00 50mbit"},
	        {"sun,mon 23:00-01:00 1500kbit",
	                "sun,mon 23:00-01:00 1500kbit"},
	        {"mon,sat,sun,wed 00:00-24:00", "wed,sat-mon 00:00-24:00"},
	        {"mon-sun 06:00-07:00 1000bit", "daily 06:00-07:00 1kbit"},
	        {"fri-tue 01:00-02:00 7bit", "fri-tue 01:00-02:00 7bit"},
	        {"tue 00:00-00:00 unlimited", "tue 00:00-00:00"},
	        {"mon,wed,fri,sun 08:05-08:06 10000gbit",
	                "wed,fri,sun,mon 08:05-08:06 10000gbit"},
	        {"mon 01:00-02:00;tue 01:00-02:00 1001mbit",
	                "mon 01:00-02:00; tue 01:00-02:00 1001mbit"},
	        {"", ""},
	};
	struct sched_window *w, *w2, bad = {0, 0, 60, 0};
	char buf[SCHED_SPEC_MAX + 1], *p;
	size_t i, n, n2;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = sp(cases[i][0], &w);
		CU_ASSERT_EQUAL(sched_format(w, n, buf, sizeof(buf)), 0);
		CU_ASSERT_STRING_EQUAL(buf, cases[i][1]);
		/* The canonical text reads back to the same windows. */
		n2 = sp(buf, &w2);
		CU_ASSERT_EQUAL(n2, n);
		CU_ASSERT(windows_same(w, w2, n));
		free(w);
		free(w2);
	}
	/* The longest canonical text: 64 windows of 4 days and a 13-digit
	 * rate still fit the documented bound and parse back. */
	for (i = 0, p = buf; i < SCHED_WINDOWS_MAX; i++)
		p += sprintf(p,
		        "%stue,wed,fri,sat %02zu:%02zu-%02zu:%02zu "
		        "9999999999999bit",
		        i ? ";" : "", i / 3, i % 3 * 20, i / 3, i % 3 * 20 + 1);
	n = sp(buf, &w);
	CU_ASSERT_EQUAL(
	        sched_format(w, n, buf, n * SCHED_TEXT_PER_WINDOW + 1), 0);
	CU_ASSERT(strlen(buf) <= SCHED_SPEC_MAX);
	CU_ASSERT_EQUAL(sp(buf, &w2), SCHED_WINDOWS_MAX);
	CU_ASSERT(windows_same(w, w2, n));
	free(w);
	free(w2);
	n = sp("mon-fri 22:00-06:00 50mbit", &w);
	CU_ASSERT_EQUAL(sched_format(w, n, buf, 10), BL_ETOOBIG);
	CU_ASSERT_STRING_EQUAL(buf, "");
	free(w);
	CU_ASSERT_EQUAL(sched_format(&bad, 1, buf, sizeof(buf)), BL_EFORMAT);
	bad.days = 0x80;
	CU_ASSERT_EQUAL(sched_format(&bad, 1, buf, sizeof(buf)), BL_EFORMAT);
	bad.days = 1;
	bad.end = 1441;
	CU_ASSERT_EQUAL(sched_format(&bad, 1, buf, sizeof(buf)), BL_EFORMAT);
}

/* sched_parse must fail with rc and a message holding want. */
static void
sched_fails(const char *spec, int rc, const char *want)
{
	struct sched_window *w = (void *)1;
	char why[512] = "";
	size_t n = 99;

	CU_ASSERT_EQUAL(sched_parse(spec, &w, &n, why, sizeof(why)), rc);
	CU_ASSERT_PTR_NULL(w);
	CU_ASSERT_EQUAL(n, 0);
	if (strstr(why, want) == NULL)
		fprintf(stderr, "\n'%s': got '%s', want '%s'\n", spec, why,
		        want);
	HAS(why, want);
}

static void
test_sched_errors(void)
{
	char big[SCHED_SPEC_MAX + 2], *p;
	int i;

	sched_fails("mon 01:00-02:00; sat,sun 25:00-03:00", BL_EFORMAT,
	        "window 2 ('sat,sun 25:00-03:00'): hour 25 is out of range");
	sched_fails("mon 01:60-02:00", BL_EFORMAT, "minute 60 is out of range");
	sched_fails("mon 24:00-02:00", BL_EFORMAT, "start 24:00");
	sched_fails("mon 01:00-24:01", BL_EFORMAT, "end 24:01");
	sched_fails("mon 1:00-2:00", BL_EFORMAT, "'1:00-2:00' is not HH:MM");
	sched_fails("mon 01:00", BL_EFORMAT, "is not HH:MM-HH:MM");
	sched_fails("xyz 01:00-02:00", BL_EFORMAT, "'xyz' is not a day");
	sched_fails("monday 01:00-02:00", BL_EFORMAT, "'monday' is not a day");
	sched_fails("mon- 01:00-02:00", BL_EFORMAT, "'mon-' is not a day");
	sched_fails("mon,,tue 01:00-02:00", BL_EFORMAT, "empty item");
	sched_fails("mon-mon 01:00-02:00", BL_EFORMAT, "same day");
	sched_fails("mon,MON 01:00-02:00", BL_EFORMAT, "Mon is listed twice");
	sched_fails(
	        "mon-fri,wed 01:00-02:00", BL_EFORMAT, "Wed is listed twice");
	sched_fails("daily,sun 01:00-02:00", BL_EFORMAT, "listed twice");
	sched_fails("mon", BL_EFORMAT, "window 1 ('mon'): expected DAYS");
	sched_fails("mon 01:00-02:00 10mbps", BL_EFORMAT,
	        "unit must be bit, kbit, mbit or gbit");
	sched_fails("mon 01:00-02:00 mbit", BL_EFORMAT, "is not a rate");
	sched_fails("mon 01:00-02:00 1.5mbit", BL_EFORMAT, "whole number");
	sched_fails("mon 01:00-02:00 0mbit", BL_EFORMAT, "must be positive");
	sched_fails("mon 01:00-02:00 10001gbit", BL_ETOOBIG, "exceeds");
	sched_fails("mon 01:00-02:00 99999999999999999999bit", BL_ETOOBIG,
	        "exceeds");
	sched_fails("mon 01:00-02:00 5mbit extra", BL_EFORMAT,
	        "unexpected 'extra'");
	sched_fails(
	        "mon 01:00-02:00;", BL_EFORMAT, "window 2 (''): empty window");
	sched_fails("mon 01:00-02:00\n", BL_EFORMAT, "byte 15 (0x0a)");
	sched_fails("mon 01:00-02:00 \xc3\xa9", BL_EFORMAT, "printable");
	memset(big, 'a', 100);
	memcpy(big + 100, " 01:00-02:00", 13);
	sched_fails(big, BL_ETOOBIG, "longer than 63 bytes");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sched_fails(big, BL_ETOOBIG, "longer than 4096 bytes");
	/* 64 windows of 10 minutes are fine; a 65th is not. */
	for (i = 0, p = big; i < 65; i++)
		p += sprintf(p, "%smon %02d:%02d-%02d:%02d", i ? ";" : "",
		        i / 6, i % 6 * 10, (i + 1) / 6, (i + 1) % 6 * 10);
	sched_fails(big, BL_ETOOBIG, "more than 64 windows");
	*strrchr(big, ';') = '\0';
	{
		struct sched_window *w;

		CU_ASSERT_EQUAL(sp(big, &w), 64);
		free(w);
	}
	{
		size_t n;
		struct sched_window *w;

		CU_ASSERT_EQUAL(sched_parse(NULL, &w, &n, NULL, 0), BL_EUSAGE);
		CU_ASSERT_EQUAL(sched_parse("x", &w, &n, NULL, 0), BL_EFORMAT);
	}
}

static void
test_sched_overlap(void)
{
	struct sched_window *w;

	sched_fails("mon-fri 22:00-06:00; tue 05:00-07:00", BL_EFORMAT,
	        "window 1 ('mon-fri 22:00-06:00') overlaps window 2 "
	        "('tue 05:00-07:00') on Tue 05:00");
	/* Sunday night runs into Monday. */
	sched_fails(
	        "sun 23:00-01:00; mon 00:30-02:00", BL_EFORMAT, "on Mon 00:30");
	sched_fails("mon 00:30-02:00; sun 23:00-01:00", BL_EFORMAT,
	        "window 1 ('mon 00:30-02:00') overlaps window 2 "
	        "('sun 23:00-01:00') on Mon 00:30");
	/* Friday night runs into Saturday. */
	sched_fails("mon-fri 22:00-06:00 50mbit; sat,sun 00:00-24:00",
	        BL_EFORMAT, "on Sat 00:00");
	sched_fails("daily 00:00-24:00; wed 12:00-13:00", BL_EFORMAT,
	        "on Wed 12:00");
	sched_fails(
	        "mon 06:00-06:00; tue 05:59-06:00", BL_EFORMAT, "on Tue 05:59");
	sched_fails("sat 12:00-13:00 1mbit; sat,sun 12:59-14:00", BL_EFORMAT,
	        "on Sat 12:59");
	/* Touching windows do not overlap. */
	CU_ASSERT_EQUAL(sp("mon 01:00-02:00; mon 02:00-03:00", &w), 2);
	free(w);
	CU_ASSERT_EQUAL(sp("sun 22:00-00:00; mon 00:00-01:00", &w), 2);
	free(w);
	CU_ASSERT_EQUAL(sp("mon 06:00-06:00; tue 06:00-07:00", &w), 2);
	free(w);
	CU_ASSERT_EQUAL(sp("daily 18:00-06:00; daily 06:00-18:00", &w), 2);
	free(w);
}

/* sched_lookup returning rc, cap and until. */
static void
lk(const struct sched_window *w, size_t n, int wday, int hh, int mm, int rc,
        uint64_t cap, int until)
{
	uint64_t c = 12345;
	int u = -99, r;

	r = sched_lookup(w, n, wday, hh * 60 + mm, &c, &u);
	if (r != rc || c != cap || u != until)
		fprintf(stderr, "\nlookup %d %02d:%02d: %d %llu %d\n", wday, hh,
		        mm, r, (unsigned long long)c, u);
	CU_ASSERT_EQUAL(r, rc);
	CU_ASSERT_EQUAL(c, cap);
	CU_ASSERT_EQUAL(u, until);
}

static void
test_sched_lookup(void)
{
	struct sched_window *w;
	uint64_t c;
	size_t n;
	int u;

	n = sp("mon-fri 22:00-06:00 50mbit; sat 06:00-06:00 1gbit", &w);
	lk(w, n, 0, 21, 59, 0, 0, 1);
	lk(w, n, 0, 22, 0, 1, 50000000, 480);
	lk(w, n, 1, 5, 59, 1, 50000000, 1);
	lk(w, n, 1, 6, 0, 0, 0, 16 * 60);
	lk(w, n, 5, 5, 0, 1, 50000000, 60);     /* Friday's spills into Sat */
	lk(w, n, 5, 6, 0, 1, 1000000000, 1440); /* Sat 06:00 .. Sun 06:00 */
	lk(w, n, 6, 5, 59, 1, 1000000000, 1);
	lk(w, n, 6, 6, 0, 0, 0, 18 * 60 + 22 * 60); /* to Mon 22:00 */
	lk(w, n, 6, 23, 0, 0, 0, 60 + 22 * 60);     /* across the week end */
	CU_ASSERT_EQUAL(sched_lookup(w, n, 7, 0, &c, &u), BL_EUSAGE);
	CU_ASSERT_EQUAL(sched_lookup(w, n, -1, 0, &c, &u), BL_EUSAGE);
	CU_ASSERT_EQUAL(sched_lookup(w, n, 0, 1440, &c, &u), BL_EUSAGE);
	CU_ASSERT_EQUAL(sched_lookup(w, n, 0, -1, &c, &u), BL_EUSAGE);
	free(w);
	n = sp("sun 23:00-01:00", &w);
	lk(w, n, 0, 0, 30, 1, 0, 30);
	lk(w, n, 0, 1, 0, 0, 0, 6 * 1440 + 22 * 60); /* to Sun 23:00 */
	free(w);
	n = sp("daily 00:00-24:00 1kbit", &w);
	lk(w, n, 3, 23, 59, 1, 1000, 1);
	lk(w, n, 3, 0, 0, 1, 1000, 1440);
	free(w);
	lk(NULL, 0, 2, 12, 0, 0, 0, -1); /* no windows, none to wait for */
}

static int
have_zoneinfo(void)
{
	struct stat st;

	return stat(TZ_DIR, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Hour and UTC offset of t in zone tz. */
static void
local(const char *tz, time_t t, int hour, long gmtoff)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	CU_ASSERT_EQUAL_FATAL(tz_localtime(tz, t, &tm), 0);
	CU_ASSERT_EQUAL(tm.tm_hour, hour);
	CU_ASSERT_EQUAL(tm.tm_gmtoff, gmtoff);
}

#define SUMMER 1719835200 /* 2024-07-01 12:00:00 UTC, a Monday */
#define WINTER 1705320000 /* 2024-01-15 12:00:00 UTC, a Monday */

static void *
tz_worker(void *arg)
{
	struct tm tm;
	long bad = 0;
	int i;

	(void)arg;
	for (i = 0; i < 300; i++) {
		if (tz_localtime(i % 2 ? "Europe/Paris" : "Asia/Tokyo", SUMMER,
		            &tm) != 0 ||
		        tm.tm_hour != (i % 2 ? 14 : 21))
			bad++;
	}
	return (void *)(intptr_t)bad;
}

static void
test_tz(void)
{
	char long_name[80], *old;
	pthread_t th[4];
	struct tm tm;
	void *bad;
	int i;

	if (!have_zoneinfo()) {
		CU_PASS("no " TZ_DIR ": time zone tests skipped");
		return;
	}
	CU_ASSERT(tz_valid("UTC"));
	CU_ASSERT(tz_valid("Europe/Paris"));
	CU_ASSERT(tz_valid("America/Argentina/Buenos_Aires"));
	CU_ASSERT(tz_valid("Etc/GMT-14"));
	CU_ASSERT(!tz_valid("Europe/../Europe/Paris"));
	CU_ASSERT(!tz_valid("/usr/share/zoneinfo/UTC"));
	CU_ASSERT(!tz_valid("Europe")); /* a directory */
	CU_ASSERT(!tz_valid("Europe/"));
	CU_ASSERT(!tz_valid("Europe//Paris"));
	CU_ASSERT(!tz_valid("Mars/Olympus_Mons"));
	CU_ASSERT(!tz_valid("Europe/Paris "));
	CU_ASSERT(!tz_valid("zone.tab"));
	CU_ASSERT(!tz_valid(""));
	CU_ASSERT(!tz_valid(NULL));
	if (access(TZ_DIR "/leapseconds", R_OK) == 0)
		CU_ASSERT(!tz_valid("leapseconds")); /* text, not TZif */
	memset(long_name, 'A', 65);
	long_name[65] = '\0';
	CU_ASSERT(!tz_name_valid(long_name));
	long_name[64] = '\0';
	CU_ASSERT(tz_name_valid(long_name));
	/* Paris is UTC+2 in summer and UTC+1 in winter. */
	local("Europe/Paris", SUMMER, 14, 7200);
	local("Europe/Paris", WINTER, 13, 3600);
	local("UTC", SUMMER, 12, 0);
	local("America/New_York", WINTER, 7, -5 * 3600);
	CU_ASSERT_EQUAL(tz_localtime("Nowhere/Land", SUMMER, &tm), BL_EFORMAT);
	/* The caller's TZ comes back, set or unset. */
	old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	setenv("TZ", "Asia/Tokyo", 1);
	local("Europe/Paris", SUMMER, 14, 7200);
	CU_ASSERT_STRING_EQUAL(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
	local("Europe/Paris", SUMMER, 14, 7200);
	CU_ASSERT_PTR_NULL(getenv("TZ"));
	if (old != NULL)
		setenv("TZ", old, 1);
	free(old);
	tzset();
	/* Concurrent callers each get their own zone. */
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(
		        pthread_create(&th[i], NULL, tz_worker, NULL), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &bad);
		CU_ASSERT_PTR_NULL(bad);
	}
}

/* cidr_parse must fail with a message holding want. */
static void
cidr_fails(const char *s, const char *want)
{
	struct cidr c;
	char why[256] = "";

	CU_ASSERT_EQUAL(cidr_parse(s, &c, why, sizeof(why)), BL_EFORMAT);
	if (strstr(why, want) == NULL)
		fprintf(stderr, "\n'%s': got '%s', want '%s'\n", s, why, want);
	HAS(why, want);
}

static void
cidr_round(const char *in, const char *out, int family, int prefix)
{
	struct cidr c;
	char why[256] = "", buf[CIDR_STR_MAX];

	CU_ASSERT_EQUAL_FATAL(cidr_parse(in, &c, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(c.family, family);
	CU_ASSERT_EQUAL(c.prefix, prefix);
	CU_ASSERT_EQUAL(cidr_format(&c, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, out);
}

static void
test_cidr(void)
{
	struct cidr a, b, c6, all4;
	uint8_t ip[16];
	char why[256], buf[CIDR_STR_MAX];

	cidr_round("10.0.0.0/8", "10.0.0.0/8", AF_INET, 8);
	cidr_round("0.0.0.0/0", "0.0.0.0/0", AF_INET, 0);
	cidr_round("192.168.1.77/32", "192.168.1.77/32", AF_INET, 32);
	cidr_round("::/0", "::/0", AF_INET6, 0);
	cidr_round("2001:DB8:0:0::/32", "2001:db8::/32", AF_INET6, 32);
	cidr_round("2001:db8::1/128", "2001:db8::1/128", AF_INET6, 128);
	CU_ASSERT_EQUAL(
	        cidr_parse("10.1.2.0/16", &a, why, sizeof(why)), BL_EFORMAT);
	CU_ASSERT_STRING_EQUAL(why,
	        "10.1.2.0/16 has host bits set; did you mean 10.1.0.0/16?");
	cidr_fails("2001:db8::1/64", "did you mean 2001:db8::/64?");
	cidr_fails("1.0.0.0/0", "did you mean 0.0.0.0/0?");
	cidr_fails("10.0.0.1/31", "did you mean 10.0.0.0/31?");
	cidr_fails("", "not an address/prefix");
	cidr_fails("10.0.0.0", "not an address/prefix");
	cidr_fails("10.0.0.0/", "prefix must be a number 0..32");
	cidr_fails("10.0.0.0/33", "0..32");
	cidr_fails("10.0.0.0/08", "0..32");
	cidr_fails("10.0.0.0/8x", "0..32");
	cidr_fails("10.0.0.0/-1", "0..32");
	cidr_fails("10.0.0.0/8/8", "0..32");
	cidr_fails("::/129", "0..128");
	cidr_fails("10.0.0/8", "not an IPv4 or IPv6 address");
	cidr_fails("10.0.0.256/32", "not an IPv4 or IPv6 address");
	cidr_fails("abc/8", "not an IPv4 or IPv6 address");
	cidr_fails("fe80::1%eth0/64", "not an IPv4 or IPv6 address");
	cidr_fails("::ffff:10.0.0.0/104", "IPv4-mapped");
	cidr_fails("::ffff:0:0/96", "IPv4-mapped");
	cidr_fails("1111:2222:3333:4444:5555:6666:7777:8888:9999/128",
	        "not an IPv4 or IPv6 address");
	cidr_fails("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/128",
	        "not an address/prefix"); /* longer than any prefix */
	/* contains, with /0, /32, /128 and IPv4-mapped addresses. */
	cidr_parse("10.0.0.0/8", &a, why, sizeof(why));
	cidr_parse("0.0.0.0/0", &all4, why, sizeof(why));
	cidr_parse("2001:db8::/32", &c6, why, sizeof(why));
	inet_pton(AF_INET, "10.255.255.255", ip);
	CU_ASSERT(cidr_contains(&a, AF_INET, ip));
	CU_ASSERT(cidr_contains(&all4, AF_INET, ip));
	CU_ASSERT(!cidr_contains(&c6, AF_INET, ip));
	inet_pton(AF_INET, "11.0.0.0", ip);
	CU_ASSERT(!cidr_contains(&a, AF_INET, ip));
	inet_pton(AF_INET6, "::ffff:10.1.2.3", ip);
	CU_ASSERT(cidr_contains(&a, AF_INET6, ip));
	CU_ASSERT(!cidr_contains(&c6, AF_INET6, ip));
	inet_pton(AF_INET6, "2001:db8:ffff::1", ip);
	CU_ASSERT(cidr_contains(&c6, AF_INET6, ip));
	CU_ASSERT(!cidr_contains(&all4, AF_INET6, ip));
	cidr_parse("2001:db8:ffff::1/128", &b, why, sizeof(why));
	CU_ASSERT(cidr_contains(&b, AF_INET6, ip));
	ip[15] ^= 1;
	CU_ASSERT(!cidr_contains(&b, AF_INET6, ip));
	/* overlaps */
	CU_ASSERT(cidr_overlaps(&a, &all4));
	CU_ASSERT(cidr_overlaps(&all4, &a));
	CU_ASSERT(!cidr_overlaps(&a, &c6));
	CU_ASSERT(cidr_overlaps(&b, &c6));
	cidr_parse("10.1.0.0/16", &b, why, sizeof(why));
	cidr_parse("10.2.0.0/16", &c6, why, sizeof(why));
	CU_ASSERT(cidr_overlaps(&a, &b));
	CU_ASSERT(!cidr_overlaps(&b, &c6));
	CU_ASSERT_EQUAL(cidr_format(&a, buf, 10), BL_ETOOBIG);
	a.family = 99;
	CU_ASSERT_EQUAL(cidr_format(&a, buf, sizeof(buf)), BL_EFORMAT);
}

#define FULL_SITE                                                              \
	"{\"name\": \"lyon\", \"parent\": \"hq\", \"wan_cost\": 20,"           \
	" \"tz\": \"Europe/Paris\","                                           \
	" \"subnets\": [\"10.20.0.0/16\", \"2001:db8:20::/48\","               \
	" \"10.21.0.0/16\"],"                                                  \
	" \"windows\": \"sat 06:00-24:00; SUN 00:00-24:00; "                   \
	"mon-fri 20:00-06:00 50000kbit\","                                     \
	" \"trickle_bps\": 1000000, \"images\": [\"debian12\", \"rescue@3\"]," \
	" \"boot\": [{\"name\": \"install\", \"arch\": \"efi-x64\","           \
	" \"kind\": \"kernel\", \"image\": \"debian12\","                      \
	" \"kernel\": \"boot/vmlinuz\", \"initrd\": \"boot/initrd.img\","      \
	" \"args\": \"quiet console=ttyS0\", \"default\": true},"              \
	" {\"name\": \"rescue\", \"arch\": \"any\", \"kind\": \"iso\","        \
	" \"image\": \"rescue@3\", \"iso\": \"rescue.iso\", \"default\": "     \
	"true},"                                                               \
	" {\"name\": \"memtest\", \"arch\": \"bios\", \"kind\": \"program\","  \
	" \"image\": \"debian12\", \"program\": \"boot/memtest.0\"}]}"

static int
s_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Two option 82 rules hold the same ids (bytes up to their lengths). */
static int
rule_same(const struct site_opt82 *a, const struct site_opt82 *b)
{
	return a->ncircuit == b->ncircuit && a->nremote == b->nremote &&
	        memcmp(a->circuit, b->circuit, a->ncircuit) == 0 &&
	        memcmp(a->remote, b->remote, a->nremote) == 0;
}

/* Field by field, independent of the library's own code. */
static int
site_same(const struct site *a, const struct site *b)
{
	const struct site_boot *x, *y;
	size_t i;

	if (strcmp(a->name, b->name) || strcmp(a->parent, b->parent) ||
	        strcmp(a->tz, b->tz) || a->wan_cost != b->wan_cost ||
	        a->trickle_bps != b->trickle_bps ||
	        a->nsubnets != b->nsubnets || a->nwindows != b->nwindows ||
	        a->nimages != b->nimages || a->nboot != b->nboot ||
	        a->noption82 != b->noption82)
		return 0;
	for (i = 0; i < a->noption82; i++)
		if (!rule_same(&a->option82[i], &b->option82[i]))
			return 0;
	for (i = 0; i < a->nsubnets; i++)
		if (a->subnets[i].family != b->subnets[i].family ||
		        a->subnets[i].prefix != b->subnets[i].prefix ||
		        memcmp(a->subnets[i].addr, b->subnets[i].addr, 16))
			return 0;
	if (!windows_same(a->windows, b->windows, a->nwindows))
		return 0;
	for (i = 0; i < a->nimages; i++)
		if (strcmp(a->images[i].name, b->images[i].name) ||
		        a->images[i].version != b->images[i].version)
			return 0;
	for (i = 0; i < a->nboot; i++) {
		x = &a->boot[i];
		y = &b->boot[i];
		if (strcmp(x->name, y->name) || x->arch != y->arch ||
		        x->kind != y->kind || x->is_default != y->is_default ||
		        strcmp(x->image.name, y->image.name) ||
		        x->image.version != y->image.version ||
		        !s_eq(x->path, y->path) ||
		        !s_eq(x->initrd, y->initrd) || !s_eq(x->args, y->args))
			return 0;
	}
	return 1;
}

static void
test_site_roundtrip(void)
{
	static const char min_canon[] =
	        "{\n  \"boot\": [],\n  \"images\": [],\n"
	        "  \"name\": \"hq\",\n  \"option82\": [],\n"
	        "  \"parent\": \"\",\n"
	        "  \"subnets\": [],\n  \"trickle_bps\": 0,\n"
	        "  \"tz\": \"UTC\",\n  \"wan_cost\": 0,\n"
	        "  \"windows\": \"\"\n}\n";
	struct site s, t, z;
	char why[256] = "", *j1, *j2;

	CU_ASSERT_EQUAL_FATAL(site_from_json(FULL_SITE, strlen(FULL_SITE), &s,
	                              why, sizeof(why)),
	        0);
	CU_ASSERT_STRING_EQUAL(s.name, "lyon");
	CU_ASSERT_STRING_EQUAL(s.parent, "hq");
	CU_ASSERT_EQUAL(s.wan_cost, 20);
	CU_ASSERT_STRING_EQUAL(s.tz, "Europe/Paris");
	CU_ASSERT_EQUAL(s.nsubnets, 3);
	CU_ASSERT_EQUAL(s.subnets[1].family, AF_INET6);
	CU_ASSERT_EQUAL_FATAL(s.nwindows, 3);
	CU_ASSERT_EQUAL(s.windows[2].cap_bps, 50000000);
	CU_ASSERT_EQUAL(s.trickle_bps, 1000000);
	CU_ASSERT_EQUAL_FATAL(s.nimages, 2);
	CU_ASSERT_STRING_EQUAL(s.images[1].name, "rescue");
	CU_ASSERT_EQUAL(s.images[1].version, 3);
	CU_ASSERT_EQUAL(s.images[0].version, 0);
	CU_ASSERT_EQUAL_FATAL(s.nboot, 3);
	CU_ASSERT_EQUAL(s.boot[0].arch, SITE_ARCH_EFI_X64);
	CU_ASSERT_EQUAL(s.boot[0].kind, SITE_BOOT_KERNEL);
	CU_ASSERT_STRING_EQUAL(s.boot[0].path, "boot/vmlinuz");
	CU_ASSERT_STRING_EQUAL(s.boot[0].initrd, "boot/initrd.img");
	CU_ASSERT_STRING_EQUAL(s.boot[0].args, "quiet console=ttyS0");
	CU_ASSERT(s.boot[0].is_default);
	CU_ASSERT_EQUAL(s.boot[1].kind, SITE_BOOT_ISO);
	CU_ASSERT_STRING_EQUAL(s.boot[1].path, "rescue.iso");
	CU_ASSERT_PTR_NULL(s.boot[1].initrd);
	CU_ASSERT_EQUAL(s.boot[2].kind, SITE_BOOT_PROGRAM);
	CU_ASSERT(!s.boot[2].is_default);
	CU_ASSERT_EQUAL(s.noption82, 0);
	CU_ASSERT_PTR_NULL(s.option82);
	/* to_json -> from_json gives the same site; the text is a fixpoint. */
	j1 = site_to_json(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j1);
	CU_ASSERT_EQUAL(j1[strlen(j1) - 1], '\n');
	CU_ASSERT_PTR_NOT_NULL(strstr(j1,
	        "\"windows\": \"sat 06:00-24:00; "
	        "sun 00:00-24:00; mon-fri "
	        "20:00-06:00 50mbit\""));
	CU_ASSERT_PTR_NULL(strstr(j1, "\"initrd\": null"));
	CU_ASSERT_EQUAL_FATAL(
	        site_from_json(j1, strlen(j1), &t, why, sizeof(why)), 0);
	CU_ASSERT(site_same(&s, &t));
	j2 = site_to_json(&t);
	CU_ASSERT_STRING_EQUAL(j1, j2);
	free(j1);
	free(j2);
	site_free(&t);
	site_free(&s);
	/* The smallest site and its exact canonical text. */
	CU_ASSERT_EQUAL_FATAL(
	        site_from_json("{\"name\":\"hq\"}", 13, &s, why, sizeof(why)),
	        0);
	j1 = site_to_json(&s);
	CU_ASSERT_STRING_EQUAL(j1, min_canon);
	CU_ASSERT_EQUAL(
	        site_from_json(j1, strlen(j1), &t, why, sizeof(why)), 0);
	CU_ASSERT(site_same(&s, &t));
	free(j1);
	site_free(&s);
	site_free(&t);
	memset(&z, 0, sizeof(z));
	site_free(&z);
	site_free(NULL);
}

/* site_from_json must fail with rc and a message holding want. */
static void
site_fails(const char *json, int rc, const char *want)
{
	struct site s;
	char why[512] = "";

	memset(&s, 0xa5, sizeof(s));
	CU_ASSERT_EQUAL(
	        site_from_json(json, strlen(json), &s, why, sizeof(why)), rc);
	if (strstr(why, want) == NULL)
		fprintf(stderr, "\n%s\n  got '%s'\n want '%s'\n", json, why,
		        want);
	HAS(why, want);
	/* A failed parse leaves a zeroed struct. */
	CU_ASSERT(s.name[0] == '\0' && s.subnets == NULL && s.boot == NULL &&
	        s.images == NULL && s.windows == NULL && s.nboot == 0 &&
	        s.option82 == NULL && s.noption82 == 0);
}

#define S(x) "{\"name\":\"hq\"," x "}"
#define IMG  "\"images\":[\"deb\"],"
#define BOOT(x)                                                                \
	S(IMG "\"boot\":[{\"name\":\"b\",\"arch\":\"efi-x64\",\"kind\":"       \
	      "\"kernel\",\"image\":\"deb\",\"kernel\":\"vmlinuz\"" x "}]")

static void
test_site_errors(void)
{
	static const struct {
		const char *json;
		int rc;
		const char *want;
	} cases[] = {
	        {"", BL_EFORMAT, "line 1"},
	        {"[]", BL_EFORMAT, "must be a JSON object"},
	        {"{\"name\":\"hq\"", BL_EFORMAT, "line 1"},
	        {"{\"name\":\"hq\",\"name\":\"x\"}", BL_EFORMAT, "duplicate"},
	        {"{\"name\":\"h\\u0000q\"}", BL_EFORMAT, "line 1"},
	        {"{\"name\":\"h\xff\"}", BL_EFORMAT, "line 1"},
	        {S("\"subnet\":[]"), BL_EFORMAT,
	                "unknown field 'subnet' (did you mean 'subnets'?)"},
	        {S("\"colour\":1"), BL_EFORMAT, "unknown field 'colour'"},
	        {"{}", BL_EFORMAT, "name: missing"},
	        {"{\"name\":\"HQ\"}", BL_EFORMAT, "name: 'HQ' is not 1-63"},
	        {"{\"name\":\"-hq\"}", BL_EFORMAT, "name: '-hq'"},
	        {"{\"name\":5}", BL_EFORMAT, "name: must be a string"},
	        {"{\"name\":\"\"}", BL_EFORMAT, "name: must not be empty"},
	        {"{\"name\":\"a\\tb\"}", BL_EFORMAT, "name: control character"},
	        {"{\"name\":"
	         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	         "aaaaaaaaaaaaa\"}",
	                BL_EFORMAT, "name: 'aaaa"},
	        {S("\"parent\":\"hq\""), BL_EFORMAT, "parent: 'hq' cannot"},
	        {S("\"parent\":\"Root\""), BL_EFORMAT, "parent: 'Root'"},
	        {S("\"parent\":null"), BL_EFORMAT, "parent: must be a string"},
	        {S("\"wan_cost\":1000001"), BL_ETOOBIG,
	                "wan_cost: 1000001 is out of range 0..1000000"},
	        {S("\"wan_cost\":-1"), BL_EFORMAT, "wan_cost: -1 is out"},
	        {S("\"wan_cost\":1.5"), BL_EFORMAT, "wan_cost: must be an int"},
	        {S("\"wan_cost\":\"5\""), BL_EFORMAT, "wan_cost: must be"},
	        {S("\"trickle_bps\":10000000000001"), BL_ETOOBIG,
	                "trickle_bps: 10000000000001 is out of range"},
	        {S("\"tz\":\"Mars/Base\""), BL_EFORMAT,
	                "tz: 'Mars/Base' is not a time zone"},
	        {S("\"tz\":\"../../etc/passwd\""), BL_EFORMAT, "tz: "},
	        {S("\"windows\":5"), BL_EFORMAT, "windows: must be a string"},
	        {S("\"windows\":\"sat 25:00-03:00\""), BL_EFORMAT,
	                "windows: window 1 ('sat 25:00-03:00'): hour 25 is out "
	                "of range"},
	        {S("\"windows\":\"mon 01:00-03:00; mon 02:00-04:00\""),
	                BL_EFORMAT,
	                "windows: window 1 ('mon 01:00-03:00') "
	                "overlaps window 2"},
	        {S("\"subnets\":\"10.0.0.0/8\""), BL_EFORMAT,
	                "subnets: must be an array"},
	        {S("\"subnets\":[\"10.0.0.0/8\",\"192.168.0.0/16\","
	           "\"10.1.2.0/16\"]"),
	                BL_EFORMAT,
	                "subnets[2]: 10.1.2.0/16 has host bits set; did you "
	                "mean 10.1.0.0/16?"},
	        {S("\"subnets\":[5]"), BL_EFORMAT,
	                "subnets[0]: must be a string"},
	        {S("\"subnets\":[\"10.0.0.0/8\",\"10.1.0.0/16\"]"), BL_EFORMAT,
	                "subnets[1]: 10.1.0.0/16 lies inside subnets[0] "
	                "(10.0.0.0/8)"},
	        {S("\"subnets\":[\"::/0\",\"10.1.0.0/16\",\"10.1.0.0/16\"]"),
	                BL_EFORMAT,
	                "subnets[2]: 10.1.0.0/16 duplicates subnets[1]"},
	        {S("\"images\":[\"bad name\"]"), BL_EFORMAT,
	                "images[0]: 'bad name' is not an image name"},
	        {S("\"images\":[\"a\",\"a@0\"]"), BL_EFORMAT,
	                "images[1]: 'a@0'"},
	        {S("\"images\":[\"a@01\"]"), BL_EFORMAT, "images[0]: 'a@01'"},
	        {S("\"images\":[\"a@4294967296\"]"), BL_EFORMAT, "images[0]"},
	        {S("\"images\":[\"a@\"]"), BL_EFORMAT, "images[0]"},
	        {S("\"images\":[\".a\"]"), BL_EFORMAT, "images[0]"},
	        {S("\"images\":[\"a@1@2\"]"), BL_EFORMAT, "images[0]"},
	        {S("\"images\":[\"a@1\",\"a\",\"a@1\"]"), BL_EFORMAT,
	                "images[2]: 'a@1' is already images[0]"},
	        {S("\"boot\":[5]"), BL_EFORMAT, "boot[0]: must be an object"},
	        {BOOT(",\"arch\":\"x86\""), BL_EFORMAT, "duplicate"},
	        {S(IMG "\"boot\":[{\"name\":\"b\",\"arch\":\"x86\"}]"),
	                BL_EFORMAT,
	                "boot[0].arch: 'x86' is not one of bios, efi-ia32, "
	                "efi-x64, efi-arm64, http-x64, http-arm64, any"},
	        {S(IMG "\"boot\":[{\"name\":\"b\",\"kind\":\"pxe\"}]"),
	                BL_EFORMAT, "boot[0].kind: 'pxe' is not one of kernel"},
	        {BOOT(",\"initramfs\":\"x\""), BL_EFORMAT,
	                "boot[0]: unknown field 'initramfs'"},
	        {BOOT(",\"initr\":\"x\""), BL_EFORMAT,
	                "boot[0]: unknown field 'initr' (did you mean "
	                "'initrd'?)"},
	        {S(IMG "\"boot\":[{\"arch\":\"bios\"}]"), BL_EFORMAT,
	                "boot[0].name: missing"},
	        {S(IMG "\"boot\":[{\"name\":\"b\",\"kind\":\"iso\"}]"),
	                BL_EFORMAT, "boot[0].arch: missing"},
	        {S(IMG "\"boot\":[{\"name\":\"b\",\"arch\":\"bios\","
	               "\"kind\":\"kernel\",\"image\":\"deb\"}]"),
	                BL_EFORMAT,
	                "boot[0].kernel: missing for kind 'kernel'"},
	        {BOOT(",\"iso\":\"x.iso\""), BL_EFORMAT,
	                "boot[0].iso: not allowed for kind 'kernel'"},
	        {S(IMG "\"boot\":[{\"name\":\"b\",\"arch\":\"bios\","
	               "\"kind\":\"program\",\"image\":\"deb\","
	               "\"program\":\"p.0\",\"initrd\":\"i\"}]"),
	                BL_EFORMAT, "boot[0].initrd: only for kind 'kernel'"},
	        {BOOT(",\"kernel\":\"x\""), BL_EFORMAT, "duplicate"},
	        {S("\"images\":[\"deb@2\"],\"boot\":[{\"name\":\"b\",\"arch\":"
	           "\"bios\",\"kind\":\"iso\",\"image\":\"deb\",\"iso\":\"x\"}"
	           "]"),
	                BL_EFORMAT,
	                "boot[0].image: 'deb' is not listed in "
	                "images"},
	        {S(IMG "\"boot\":[{\"name\":\"b\",\"arch\":\"bios\","
	               "\"kind\":\"iso\",\"image\":\"deb\",\"iso\":\"../x\"}]"),
	                BL_EFORMAT, "boot[0].iso: not a relative path"},
	        {S(IMG "\"boot\":[{\"name\":\"b\",\"arch\":\"bios\","
	               "\"kind\":\"iso\",\"image\":\"deb\",\"iso\":\"/x\"}]"),
	                BL_EFORMAT, "boot[0].iso: not a relative path"},
	        {BOOT(",\"args\":\"caf\xc3\xa9\""), BL_EFORMAT,
	                "boot[0].args: byte 3 is not printable ASCII"},
	        {BOOT(",\"args\":\"\""), BL_EFORMAT,
	                "boot[0].args: must not be empty"},
	        {BOOT(",\"default\":\"yes\""), BL_EFORMAT,
	                "boot[0].default: must be true or false"},
	        {S(IMG "\"boot\":[{\"name\":\"a\",\"arch\":\"efi-x64\","
	               "\"kind\":\"iso\",\"image\":\"deb\",\"iso\":\"x\","
	               "\"default\":true},{\"name\":\"b\",\"arch\":\"efi-x64\","
	               "\"kind\":\"iso\",\"image\":\"deb\",\"iso\":\"y\","
	               "\"default\":true}]"),
	                BL_EFORMAT,
	                "boot[1].default: boot[0] is already the default for "
	                "efi-x64"},
	        {S(IMG "\"boot\":[{\"name\":\"a\",\"arch\":\"bios\","
	               "\"kind\":\"iso\",\"image\":\"deb\",\"iso\":\"x\"},"
	               "{\"name\":\"a\",\"arch\":\"any\",\"kind\":\"iso\","
	               "\"image\":\"deb\",\"iso\":\"y\"}]"),
	                BL_EFORMAT, "boot[1].name: 'a' is already boot[0]"},
	};
	struct site s;
	const char *doc;
	char why[256], *big;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		site_fails(cases[i].json, cases[i].rc, cases[i].want);
	/* Bounds: the document size and the subnet count. */
	big = calloc(1, SITE_JSON_MAX + 2);
	memset(big, ' ', SITE_JSON_MAX + 1);
	memcpy(big, "{\"name\":\"hq\"}", 13);
	CU_ASSERT_EQUAL(
	        site_from_json(big, SITE_JSON_MAX + 1, &s, why, sizeof(why)),
	        BL_ETOOBIG);
	HAS(why, "larger than 1048576 bytes");
	CU_ASSERT_EQUAL(
	        site_from_json(big, SITE_JSON_MAX, &s, why, sizeof(why)), 0);
	site_free(&s);
	{
		char *p = big + sprintf(big, "{\"name\":\"hq\",\"subnets\":[");

		for (i = 0; i <= SITE_SUBNETS_MAX; i++)
			p += sprintf(p, "%s\"10.%zu.%zu.0/24\"", i ? "," : "",
			        i / 256, i % 256);
		strcpy(p, "]}");
		site_fails(big, BL_ETOOBIG, "subnets: more than 4096 entries");
		/* Exactly 4096 is fine. */
		strcpy(strrchr(big, ','), "]}");
		CU_ASSERT_EQUAL(
		        site_from_json(big, strlen(big), &s, why, sizeof(why)),
		        0);
		CU_ASSERT_EQUAL(s.nsubnets, SITE_SUBNETS_MAX);
		site_free(&s);
	}
	free(big);
	/* One default per arch: "any" and a specific arch may both have one. */
	doc = S(IMG "\"boot\":[{\"name\":\"a\",\"arch\":\"any\","
	            "\"kind\":\"iso\",\"image\":\"deb\",\"iso\":\"x\","
	            "\"default\":true},{\"name\":\"b\",\"arch\":\"bios\","
	            "\"kind\":\"iso\",\"image\":\"deb\",\"iso\":\"y\","
	            "\"default\":true}]");
	CU_ASSERT_EQUAL(
	        site_from_json(doc, strlen(doc), &s, why, sizeof(why)), 0);
	CU_ASSERT(s.nboot == 2 && s.boot[0].is_default && s.boot[1].is_default);
	site_free(&s);
	CU_ASSERT_EQUAL(
	        site_from_json(NULL, 0, &s, why, sizeof(why)), BL_EUSAGE);
}

/* site_opt82_parse must give the bytes want[0..n). */
static void
o82_ok(const char *s, const void *want, size_t n)
{
	uint8_t v[SITE_OPT82_LEN];
	char why[256] = "";
	size_t got = 999;

	CU_ASSERT_EQUAL(site_opt82_parse(s, v, &got, why, sizeof(why)), 0);
	if (got != n || memcmp(v, want, n) != 0)
		fprintf(stderr, "\n'%s': %zu bytes, want %zu (%s)\n", s, got, n,
		        why);
	CU_ASSERT_EQUAL(got, n);
	CU_ASSERT(got == n && memcmp(v, want, n) == 0);
}

/* site_opt82_parse must fail with a message holding want. */
static void
o82_fails(const char *s, const char *want)
{
	uint8_t v[SITE_OPT82_LEN];
	char why[256] = "";
	size_t n = 999;

	CU_ASSERT_EQUAL(
	        site_opt82_parse(s, v, &n, why, sizeof(why)), BL_EFORMAT);
	CU_ASSERT_EQUAL(n, 0);
	if (strstr(why, want) == NULL)
		fprintf(stderr, "\n'%s': got '%s', want '%s'\n", s, why, want);
	HAS(why, want);
}

/* site_opt82_format of v[0..n) must be want, and parse back to v. */
static void
o82_fmt(const void *v, size_t n, const char *want)
{
	char buf[SITE_OPT82_STR_MAX];

	CU_ASSERT_EQUAL(site_opt82_format(v, n, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, want);
	o82_ok(buf, v, n);
}

static void
test_opt82_value(void)
{
	char s[SITE_OPT82_STR_MAX + 8], buf[SITE_OPT82_STR_MAX];
	uint8_t v[SITE_OPT82_LEN + 1], out[SITE_OPT82_LEN];
	size_t i, n;

	/* Text is taken literally: spaces, '"', 'hex' without the colon,
	 * "HEX:" (the prefix is case-sensitive). */
	o82_ok("sw1 ge-0/0/12", "sw1 ge-0/0/12", 13);
	o82_ok(" ", " ", 1);
	o82_ok("a\"b~", "a\"b~", 4);
	o82_ok("hex", "hex", 3);
	o82_ok("HEX:41", "HEX:41", 6);
	o82_ok("hex:00FFaB10", "\x00\xff\xab\x10", 4);
	o82_ok("hex:41", "A", 1);
	/* Both bounds: 255 text bytes, 510 hex digits. */
	memset(s, 'x', SITE_OPT82_LEN);
	s[SITE_OPT82_LEN] = '\0';
	memset(v, 'x', SITE_OPT82_LEN);
	o82_ok(s, v, SITE_OPT82_LEN);
	s[SITE_OPT82_LEN] = 'x';
	s[SITE_OPT82_LEN + 1] = '\0';
	o82_fails(s, "longer than 255 bytes");
	memcpy(s, "hex:", 4);
	memset(s + 4, 'f', 2 * SITE_OPT82_LEN);
	s[4 + 2 * SITE_OPT82_LEN] = '\0';
	memset(v, 0xff, SITE_OPT82_LEN);
	o82_ok(s, v, SITE_OPT82_LEN);
	strcat(s, "ff");
	o82_fails(s, "more than 510 hex digits");
	/* Errors. */
	o82_fails("", "must not be empty");
	o82_fails("hex:", "'hex:' needs 2 to 510 hex digits");
	o82_fails("hex:abc", "odd number of hex digits (3)");
	o82_fails("hex:a", "odd number of hex digits (1)");
	o82_fails("hex:0g", "byte 5 is not a hex digit");
	o82_fails("hex:0x12", "byte 5 is not a hex digit");
	o82_fails("hex: 1", "byte 4 is not a hex digit");
	o82_fails("a\tb", "control character at byte 1");
	o82_fails("ab\n", "control character at byte 2");
	o82_fails("\x7f", "control character at byte 0");
	o82_fails("caf\xc3\xa9", "byte 3 is not printable ASCII");
	CU_ASSERT_EQUAL(site_opt82_parse(NULL, out, &n, NULL, 0), BL_EUSAGE);
	CU_ASSERT_EQUAL(site_opt82_parse("a", out, NULL, NULL, 0), BL_EUSAGE);
	CU_ASSERT_EQUAL(site_opt82_parse("", out, &n, NULL, 0), BL_EFORMAT);
	/* The canonical text: literal when it can be, else lowercase hex. */
	o82_fmt("eth0/1:vlan20", 13, "eth0/1:vlan20");
	o82_fmt("\x00\x04\x01\xf4", 4, "hex:000401f4");
	o82_fmt("ab\x7f", 3, "hex:61627f");
	o82_fmt("ab\x1f", 3, "hex:61621f");
	o82_fmt("caf\xc3\xa9", 5, "hex:636166c3a9");
	o82_fmt("hex:", 4, "hex:6865783a");
	o82_fmt("hex:41", 6, "hex:6865783a3431");
	o82_fmt("hex", 3, "hex");
	o82_fmt("HEX:41", 6, "HEX:41");
	o82_fmt(" ~", 2, " ~");
	/* Every single byte, and 255 binary bytes in SITE_OPT82_STR_MAX. */
	for (i = 0; i < 256; i++) {
		v[0] = (uint8_t)i;
		CU_ASSERT_EQUAL(site_opt82_format(v, 1, buf, sizeof(buf)), 0);
		CU_ASSERT_EQUAL(strlen(buf), i >= 0x20 && i <= 0x7e ? 1 : 6);
		o82_ok(buf, v, 1);
	}
	for (i = 0; i < SITE_OPT82_LEN; i++)
		v[i] = (uint8_t)(i * 7);
	CU_ASSERT_EQUAL(
	        site_opt82_format(v, SITE_OPT82_LEN, buf, SITE_OPT82_STR_MAX),
	        0);
	CU_ASSERT_EQUAL(strlen(buf), SITE_OPT82_STR_MAX - 1);
	o82_ok(buf, v, SITE_OPT82_LEN);
	CU_ASSERT_EQUAL(site_opt82_format(
	                        v, SITE_OPT82_LEN, buf, SITE_OPT82_STR_MAX - 1),
	        BL_ETOOBIG);
	CU_ASSERT_STRING_EQUAL(buf, "");
	/* The buffer bound: exactly n + 1 for text, 4 + 2n + 1 for hex. */
	CU_ASSERT_EQUAL(
	        site_opt82_format((const uint8_t *)"abc", 3, buf, 4), 0);
	CU_ASSERT_STRING_EQUAL(buf, "abc");
	CU_ASSERT_EQUAL(site_opt82_format((const uint8_t *)"abc", 3, buf, 3),
	        BL_ETOOBIG);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(
	        site_opt82_format((const uint8_t *)"\x01", 1, buf, 7), 0);
	CU_ASSERT_STRING_EQUAL(buf, "hex:01");
	CU_ASSERT_EQUAL(site_opt82_format((const uint8_t *)"\x01", 1, buf, 6),
	        BL_ETOOBIG);
	/* Out of range. */
	CU_ASSERT_EQUAL(site_opt82_format(v, 0, buf, sizeof(buf)), BL_EUSAGE);
	CU_ASSERT_EQUAL(
	        site_opt82_format(v, SITE_OPT82_LEN + 1, buf, sizeof(buf)),
	        BL_EUSAGE);
	CU_ASSERT_EQUAL(
	        site_opt82_format(NULL, 1, buf, sizeof(buf)), BL_EUSAGE);
}

#define O82(x) S("\"option82\":[" x "]")

static void
test_opt82_site(void)
{
	static const char doc[] = O82(
	        "{\"circuit_id\":\"sw1 ge-0/0/12\"},"
	        "{\"remote_id\":\"hex:0011223344AA\"},"
	        "{\"remote_id\":\"rack7\",\"circuit_id\":\"hex:000401F4\"},"
	        "{\"circuit_id\":\"hex:414243\",\"remote_id\":\"HEX:x\"},"
	        "{\"circuit_id\":\"sw1 ge-0/0/12\",\"remote_id\":\"rack7\"}");
	static const char canon[] =
	        "  \"option82\": [\n"
	        "    {\n"
	        "      \"circuit_id\": \"sw1 ge-0/0/12\"\n"
	        "    },\n"
	        "    {\n"
	        "      \"remote_id\": \"hex:0011223344aa\"\n"
	        "    },\n"
	        "    {\n"
	        "      \"circuit_id\": \"hex:000401f4\",\n"
	        "      \"remote_id\": \"rack7\"\n"
	        "    },\n"
	        "    {\n"
	        "      \"circuit_id\": \"ABC\",\n"
	        "      \"remote_id\": \"HEX:x\"\n"
	        "    },\n"
	        "    {\n"
	        "      \"circuit_id\": \"sw1 ge-0/0/12\",\n"
	        "      \"remote_id\": \"rack7\"\n"
	        "    }\n"
	        "  ],\n";
	const struct site_opt82 *r;
	struct site s, t;
	char why[256] = "", *j1, *j2;

	CU_ASSERT_EQUAL_FATAL(
	        site_from_json(doc, strlen(doc), &s, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL_FATAL(s.noption82, 5);
	r = s.option82;
	CU_ASSERT(r[0].ncircuit == 13 &&
	        memcmp(r[0].circuit, "sw1 ge-0/0/12", 13) == 0);
	CU_ASSERT_EQUAL(r[0].nremote, 0);
	CU_ASSERT_EQUAL(r[1].ncircuit, 0);
	CU_ASSERT(r[1].nremote == 6 &&
	        memcmp(r[1].remote, "\x00\x11\x22\x33\x44\xaa", 6) == 0);
	CU_ASSERT(r[2].ncircuit == 4 &&
	        memcmp(r[2].circuit, "\x00\x04\x01\xf4", 4) == 0);
	CU_ASSERT(r[2].nremote == 5 && memcmp(r[2].remote, "rack7", 5) == 0);
	CU_ASSERT(r[3].ncircuit == 3 && memcmp(r[3].circuit, "ABC", 3) == 0);
	CU_ASSERT(r[3].nremote == 5 && memcmp(r[3].remote, "HEX:x", 5) == 0);
	/* The canonical text: every rule with only its keys, values in
	 * canonical form; it reads back to the same rules, a fixpoint. */
	j1 = site_to_json(&s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j1);
	if (strstr(j1, canon) == NULL)
		fprintf(stderr, "\n%s\n", j1);
	CU_ASSERT_PTR_NOT_NULL(strstr(j1, canon));
	CU_ASSERT_EQUAL_FATAL(
	        site_from_json(j1, strlen(j1), &t, why, sizeof(why)), 0);
	CU_ASSERT(site_same(&s, &t));
	j2 = site_to_json(&t);
	CU_ASSERT_STRING_EQUAL(j1, j2);
	free(j1);
	free(j2);
	site_free(&t);
	/* Binary ids of every byte value survive the round trip. */
	{
		size_t i;

		s.option82[0].ncircuit = SITE_OPT82_LEN;
		for (i = 0; i < SITE_OPT82_LEN; i++)
			s.option82[0].circuit[i] = (uint8_t)(255 - i);
		s.option82[1].nremote = 1;
		s.option82[1].remote[0] = 0;
		j1 = site_to_json(&s);
		CU_ASSERT_PTR_NOT_NULL_FATAL(j1);
		CU_ASSERT_PTR_NOT_NULL(strstr(j1, "\"hex:fffefdfc"));
		CU_ASSERT_PTR_NOT_NULL(strstr(j1, "\"remote_id\": \"hex:00\""));
		CU_ASSERT_EQUAL_FATAL(
		        site_from_json(j1, strlen(j1), &t, why, sizeof(why)),
		        0);
		CU_ASSERT(site_same(&s, &t));
		free(j1);
		site_free(&t);
	}
	/* What site_to_json cannot encode: no ids, a length out of range,
	 * too many rules. */
	s.option82[4].ncircuit = s.option82[4].nremote = 0;
	CU_ASSERT_PTR_NULL(site_to_json(&s));
	s.option82[4].ncircuit = SITE_OPT82_LEN + 1;
	CU_ASSERT_PTR_NULL(site_to_json(&s));
	s.option82[4].ncircuit = 1;
	s.noption82 = SITE_OPT82_MAX + 1;
	CU_ASSERT_PTR_NULL(site_to_json(&s));
	s.noption82 = 5;
	j1 = site_to_json(&s);
	CU_ASSERT_PTR_NOT_NULL(j1);
	free(j1);
	site_free(&s);
	CU_ASSERT_PTR_NULL(s.option82);
	CU_ASSERT_EQUAL(s.noption82, 0);
	/* An empty array is no rules. */
	CU_ASSERT_EQUAL(
	        site_from_json(O82(""), strlen(O82("")), &s, why, sizeof(why)),
	        0);
	CU_ASSERT_EQUAL(s.noption82, 0);
	site_free(&s);
}

static void
test_opt82_errors(void)
{
	static const struct {
		const char *json;
		int rc;
		const char *want;
	} cases[] = {
	        {S("\"option82\":{}"), BL_EFORMAT,
	                "option82: must be an array"},
	        {S("\"option82\":\"sw1\""), BL_EFORMAT,
	                "option82: must be an array"},
	        {O82("{}"), BL_EFORMAT,
	                "option82[0]: needs circuit_id or remote_id"},
	        {O82("5"), BL_EFORMAT, "option82[0]: must be an object"},
	        {O82("\"sw1\""), BL_EFORMAT, "option82[0]: must be an object"},
	        {O82("{\"circuit_id\":\"a\"},{\"circuit\":\"b\"}"), BL_EFORMAT,
	                "option82[1]: unknown field 'circuit' (did you mean "
	                "'circuit_id'?)"},
	        {O82("{\"remote_id\":\"a\",\"vlan\":5}"), BL_EFORMAT,
	                "option82[0]: unknown field 'vlan'"},
	        {O82("{\"circuit_id\":\"a\",\"circuit_id\":\"b\"}"), BL_EFORMAT,
	                "duplicate"},
	        {O82("{\"circuit_id\":5}"), BL_EFORMAT,
	                "option82[0].circuit_id: must be a string"},
	        {O82("{\"remote_id\":null}"), BL_EFORMAT,
	                "option82[0].remote_id: must be a string"},
	        {O82("{\"circuit_id\":[\"a\"]}"), BL_EFORMAT,
	                "option82[0].circuit_id: must be a string"},
	        {O82("{\"circuit_id\":\"\"}"), BL_EFORMAT,
	                "option82[0].circuit_id: must not be empty"},
	        {O82("{\"circuit_id\":\"a\"},{\"remote_id\":\"b\"},"
	             "{\"circuit_id\":\"hex:zz\"}"),
	                BL_EFORMAT,
	                "option82[2].circuit_id: byte 4 is not a hex digit"},
	        {O82("{\"remote_id\":\"hex:abc\"}"), BL_EFORMAT,
	                "option82[0].remote_id: odd number of hex digits (3)"},
	        {O82("{\"remote_id\":\"hex:\"}"), BL_EFORMAT,
	                "option82[0].remote_id: 'hex:' needs 2 to 510 hex "
	                "digits"},
	        {O82("{\"circuit_id\":\"a\\tb\"}"), BL_EFORMAT,
	                "option82[0].circuit_id: control character at byte 1"},
	        {O82("{\"circuit_id\":\"\\u001b[0m\"}"), BL_EFORMAT,
	                "option82[0].circuit_id: control character at byte 0"},
	        {O82("{\"circuit_id\":\"a\\u007f\"}"), BL_EFORMAT,
	                "option82[0].circuit_id: control character at byte 1"},
	        {O82("{\"circuit_id\":\"a\\u0000b\"}"), BL_EFORMAT, "line 1"},
	        {O82("{\"remote_id\":\"caf\\u00e9\"}"), BL_EFORMAT,
	                "option82[0].remote_id: byte 3 is not printable ASCII"},
	        /* The same rule twice, however written. */
	        {O82("{\"circuit_id\":\"a\"},{\"remote_id\":\"x\"},"
	             "{\"circuit_id\":\"hex:61\"}"),
	                BL_EFORMAT,
	                "option82[2]: circuit_id 'a' is already option82[0]"},
	        {O82("{\"circuit_id\":\"a\",\"remote_id\":\"hex:00\"},"
	             "{\"remote_id\":\"hex:00\",\"circuit_id\":\"a\"}"),
	                BL_EFORMAT,
	                "option82[1]: circuit_id 'a', remote_id 'hex:00' is "
	                "already option82[0]"},
	        {O82("{\"remote_id\":\"r\"},{\"remote_id\":\"r\"}"), BL_EFORMAT,
	                "option82[1]: remote_id 'r' is already option82[0]"},
	};
	/* The same ids in different roles, or with one id more, differ. */
	static const char fine[] =
	        O82("{\"circuit_id\":\"a\"},{\"remote_id\":\"a\"},"
	            "{\"circuit_id\":\"a\",\"remote_id\":\"a\"},"
	            "{\"circuit_id\":\"A\"},{\"circuit_id\":\"hex:6100\"}");
	char why[256], *big, *p;
	struct site s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		site_fails(cases[i].json, cases[i].rc, cases[i].want);
	CU_ASSERT_EQUAL(
	        site_from_json(fine, strlen(fine), &s, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(s.noption82, 5);
	site_free(&s);
	/* 256 bytes of text, 512 hex digits: too long by one byte. */
	big = calloc(1, 64 * 1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	p = big +
	        sprintf(big,
	                "{\"name\":\"hq\",\"option82\":[{\"remote_id\":"
	                "\"");
	memset(p, 'r', SITE_OPT82_LEN + 1);
	strcpy(p + SITE_OPT82_LEN + 1, "\"}]}");
	site_fails(big, BL_EFORMAT,
	        "option82[0].remote_id: longer than 255 bytes");
	memmove(p + SITE_OPT82_LEN, p + SITE_OPT82_LEN + 1, 5);
	CU_ASSERT_EQUAL(
	        site_from_json(big, strlen(big), &s, why, sizeof(why)), 0);
	CU_ASSERT(s.noption82 == 1 && s.option82[0].nremote == SITE_OPT82_LEN);
	site_free(&s);
	p = big +
	        sprintf(big,
	                "{\"name\":\"hq\",\"option82\":[{\"remote_id\":"
	                "\"hex:");
	memset(p, 'A', 2 * SITE_OPT82_LEN + 2);
	strcpy(p + 2 * SITE_OPT82_LEN + 2, "\"}]}");
	site_fails(big, BL_EFORMAT,
	        "option82[0].remote_id: more than 510 hex digits");
	/* 257 rules are too many; 256 are fine. */
	p = big + sprintf(big, "{\"name\":\"hq\",\"option82\":[");
	for (i = 0; i <= SITE_OPT82_MAX; i++)
		p += sprintf(
		        p, "%s{\"circuit_id\":\"port %zu\"}", i ? "," : "", i);
	strcpy(p, "]}");
	site_fails(big, BL_ETOOBIG, "option82: more than 256 entries");
	strcpy(strrchr(big, ','), "]}");
	CU_ASSERT_EQUAL(
	        site_from_json(big, strlen(big), &s, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(s.noption82, SITE_OPT82_MAX);
	CU_ASSERT(s.option82[255].ncircuit == 8 &&
	        memcmp(s.option82[255].circuit, "port 255", 8) == 0);
	site_free(&s);
	free(big);
}

/* A site from JSON, which must parse. */
static void
mk(struct site *s, const char *json)
{
	char why[256] = "";

	if (site_from_json(json, strlen(json), s, why, sizeof(why)) != 0)
		fprintf(stderr, "\n%s: %s\n", json, why);
	CU_ASSERT_STRING_EQUAL(why, "");
}

static void
set_fails(const struct site *s, size_t n, const char *want)
{
	char why[256] = "";

	CU_ASSERT_EQUAL(site_check_set(s, n, why, sizeof(why)), BL_EFORMAT);
	if (strcmp(why, want) != 0)
		fprintf(stderr, "\n got '%s'\nwant '%s'\n", why, want);
	CU_ASSERT_STRING_EQUAL(why, want);
}

static void
test_site_set(void)
{
	struct site s[5];
	char why[256];
	size_t i;

	mk(&s[0], "{\"name\":\"hq\",\"subnets\":[\"10.0.0.0/8\"]}");
	mk(&s[1],
	        "{\"name\":\"lyon\",\"parent\":\"hq\","
	        "\"subnets\":[\"10.1.0.0/16\",\"2001:db8:1::/48\"]}");
	mk(&s[2],
	        "{\"name\":\"paris\",\"parent\":\"hq\","
	        "\"subnets\":[\"10.2.0.0/16\"]}");
	mk(&s[3], "{\"name\":\"lab\"}"); /* a second root is fine */
	mk(&s[4],
	        "{\"name\":\"annex\",\"parent\":\"paris\","
	        "\"subnets\":[\"10.2.3.0/24\"]}");
	CU_ASSERT_EQUAL(site_check_set(s, 5, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(site_check_set(s, 0, why, sizeof(why)), 0);
	/* The same subnet in two sites; nesting (annex in paris) is fine. */
	s[4].subnets[0] = s[1].subnets[0];
	set_fails(s, 5,
	        "subnet 10.1.0.0/16 is in both site 'lyon' and site "
	        "'annex'");
	/* Unknown parent, duplicate name. */
	strcpy(s[4].parent, "nowhere");
	set_fails(s, 5, "site 'annex': parent 'nowhere' does not exist");
	strcpy(s[4].name, "lyon");
	set_fails(s, 5, "site 'lyon' is defined twice");
	strcpy(s[4].name, "annex");
	strcpy(s[4].parent, "paris");
	/* Cycles: hq -> lab -> annex -> paris -> hq; then one of two. */
	strcpy(s[0].parent, "lab");
	strcpy(s[3].parent, "annex");
	set_fails(s, 5, "parent cycle: hq -> lab -> annex -> paris -> hq");
	strcpy(s[0].parent, "");
	strcpy(s[3].parent, "lab");
	set_fails(s, 5, "parent cycle: lab -> lab");
	strcpy(s[3].parent, "");
	s[4].nsubnets = 0;
	CU_ASSERT_EQUAL(site_check_set(s, 5, why, sizeof(why)), 0);
	for (i = 0; i < 5; i++)
		site_free(&s[i]);
}

/* No option 82 rule in two sites; rules that only share one id are fine. */
static void
test_opt82_set(void)
{
	struct site s[3];
	char why[256];
	size_t i;

	mk(&s[0],
	        "{\"name\":\"hq\",\"option82\":[{\"circuit_id\":\"sw0 1\"},"
	        "{\"circuit_id\":\"sw1 1\",\"remote_id\":\"hex:0a0b\"}]}");
	mk(&s[1],
	        "{\"name\":\"lyon\",\"parent\":\"hq\",\"option82\":["
	        "{\"remote_id\":\"hex:0a0b\"},{\"circuit_id\":\"sw1 1\"},"
	        "{\"circuit_id\":\"sw1 1\",\"remote_id\":\"hex:0a0c\"}]}");
	mk(&s[2],
	        "{\"name\":\"paris\",\"parent\":\"hq\",\"option82\":["
	        "{\"circuit_id\":\"sw2 1\"},"
	        "{\"remote_id\":\"sw0 1\"}]}");
	CU_ASSERT_EQUAL(site_check_set(s, 3, why, sizeof(why)), 0);
	/* paris claims hq's rule, written another way. */
	site_free(&s[2]);
	mk(&s[2],
	        "{\"name\":\"paris\",\"parent\":\"hq\",\"option82\":["
	        "{\"circuit_id\":\"sw2 1\"},"
	        "{\"remote_id\":\"hex:0A0B\",\"circuit_id\":"
	        "\"hex:7377312031\"}]}");
	set_fails(s, 3,
	        "option 82 rule (circuit_id 'sw1 1', remote_id 'hex:0a0b') "
	        "is in both site 'hq' and site 'paris'");
	/* Two of lyon's rules equal (only a hand-built site can do that). */
	s[2].noption82 = 1;
	CU_ASSERT_EQUAL(site_check_set(s, 3, why, sizeof(why)), 0);
	s[1].option82[2].remote[1] = 0x0b;
	s[1].option82[2].ncircuit = 0;
	set_fails(s, 3,
	        "site 'lyon': option 82 rule (remote_id 'hex:0a0b') is both "
	        "option82[0] and option82[2]");
	for (i = 0; i < 3; i++)
		site_free(&s[i]);
}

int
test_site_register(void)
{
	CU_pSuite s = CU_add_suite("site", NULL, NULL);

	if (s == NULL ||
	        !CU_add_test(s, "schedule grammar", test_sched_parse) ||
	        !CU_add_test(s, "schedule canonical form", test_sched_format) ||
	        !CU_add_test(s, "schedule errors", test_sched_errors) ||
	        !CU_add_test(s, "schedule overlaps", test_sched_overlap) ||
	        !CU_add_test(s, "schedule look-up", test_sched_lookup) ||
	        !CU_add_test(s, "time zones", test_tz) ||
	        !CU_add_test(s, "subnets", test_cidr) ||
	        !CU_add_test(s, "site round trip", test_site_roundtrip) ||
	        !CU_add_test(
	                s, "site errors name the field", test_site_errors) ||
	        !CU_add_test(s, "checks across sites", test_site_set) ||
	        !CU_add_test(s, "option 82 values", test_opt82_value) ||
	        !CU_add_test(s, "option 82 rules", test_opt82_site) ||
	        !CU_add_test(s, "option 82 errors name the field",
	                test_opt82_errors) ||
	        !CU_add_test(s, "option 82 rules across sites", test_opt82_set))
		return -1;
	return 0;
}

/*
 * cli_util.c - errors, sizes, JSON output and the progress bar.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"

int
cli_exit_code(int err)
{
	switch (err) {
	case 0:
		return 0;
	case BL_EUSAGE:
		return EXIT_USAGE;
	case BL_ENOTFOUND:
		return EXIT_NOTFOUND;
	case BL_ECORRUPT:
	case BL_EMISSING:
	case BL_ESIG:
		return EXIT_CORRUPT;
	default:
		return EXIT_FAIL;
	}
}

int
cli_error(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "branchline: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return cli_exit_code(err);
}

const char *
cli_size(uint64_t v, char buf[32])
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double d = (double)v;
	int u = 0;

	if (v < 1024) {
		snprintf(buf, 32, "%llu B", (unsigned long long)v);
		return buf;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, 32, "%.1f %s", d, units[u]);
	return buf;
}

int
cli_json_out(json_t *v)
{
	int rc;

	if (v == NULL)
		return cli_error(-ENOMEM, "out of memory");
	rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(v);
	return rc == 0 ? 0 : EXIT_FAIL;
}

struct progress_state {
	struct timespec start;
	uint64_t base; /* done at the first call: a resumed upload's start */
	int started;
	int drawn;
};

static struct progress_state prog;

void
cli_progress(void *arg, uint64_t done, uint64_t total)
{
	struct cli *c = arg;
	struct timespec now;
	double secs, pct, rate;
	char a[32], b[32];
	int bar, i;

	if (!c->tty || c->quiet)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!prog.started) {
		prog.start = now;
		prog.base = done;
		prog.started = 1;
	}
	secs = (double)(now.tv_sec - prog.start.tv_sec) +
	        (double)(now.tv_nsec - prog.start.tv_nsec) / 1e9;
	pct = total ? 100.0 * (double)done / (double)total : 100.0;
	rate = secs > 0 && done >= prog.base ? (double)(done - prog.base) / secs
	                                     : 0;
	bar = (int)(pct / 4);
	fputs("\r[", stderr);
	for (i = 0; i < 25; i++)
		fputc(i < bar ? '#' : '.', stderr);
	fprintf(stderr, "] %5.1f%%  %s of %s  %s/s   ", pct, cli_size(done, a),
	        cli_size(total, b), cli_size((uint64_t)rate, a));
	prog.drawn = 1;
}

void
cli_progress_done(struct cli *c)
{
	if (prog.drawn && c->tty)
		fputc('\n', stderr);
	memset(&prog, 0, sizeof(prog));
}

void
cli_cmd_usage(FILE *fp, const struct cli_cmd *cmd)
{
	fprintf(fp, "usage: branchline %s [--json] %s %s\n\n%s\n",
	        cli_cmd_remote(cmd) ? "[--server URL]" : "[--store DIR]",
	        cmd->name, cmd->usage, cmd->help);
}

int
cli_wants_help(const struct cli_cmd *cmd, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 ||
		        strcmp(argv[i], "--help") == 0) {
			cli_cmd_usage(stdout, cmd);
			return 1;
		}
	}
	return 0;
}

struct store *
cli_open_store(struct cli *c)
{
	struct store *s;
	char why[512] = "";
	int rc;

	if (c->store_dir == NULL) {
		cli_error(BL_EUSAGE,
		        "no store: give --store DIR or set "
		        "BRANCHLINE_STORE");
		return NULL;
	}
	if ((rc = store_open(c->store_dir, &s, why, sizeof(why))) != 0) {
		cli_error(rc, "%s", why[0] ? why : bl_strerror(rc));
		return NULL;
	}
	return s;
}

int
cli_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		cli_error(BL_EUSAGE, "%s needs a value", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

/* Decimal digits then an optional suffix; 0 or -1. */
static int
parse_num(const char *val, uint64_t *num, const char **suffix)
{
	char *end;

	if (val == NULL || val[0] < '0' || val[0] > '9')
		return -1;
	errno = 0;
	*num = strtoull(val, &end, 10);
	if (errno != 0)
		return -1;
	*suffix = end;
	return 0;
}

int
cli_parse_u64(const char *opt, const char *val, uint64_t min, uint64_t max,
        uint64_t *out)
{
	const char *rest;

	if (parse_num(val, out, &rest) != 0 || *rest != '\0' || *out < min ||
	        *out > max)
		return cli_error(BL_EUSAGE, "%s needs a number in %llu..%llu",
		        opt, (unsigned long long)min, (unsigned long long)max);
	return 0;
}

/* Multiply with an overflow check: 0 or -1. */
static int
scale(uint64_t *v, uint64_t by)
{
	if (by != 0 && *v > UINT64_MAX / by)
		return -1;
	*v *= by;
	return 0;
}

int
cli_parse_secs(const char *opt, const char *val, uint64_t min, uint64_t max,
        uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t secs;
	} units[] = {{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
	const char *rest;
	size_t u;

	if (parse_num(val, out, &rest) == 0)
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (strcmp(rest, units[u].suffix) == 0 &&
			        scale(out, units[u].secs) == 0 && *out >= min &&
			        *out <= max)
				return 0;
	return cli_error(BL_EUSAGE,
	        "%s needs seconds in %llu..%llu (or a number with s, m, h "
	        "or d)",
	        opt, (unsigned long long)min, (unsigned long long)max);
}

int
cli_parse_bits(const char *opt, const char *val, uint64_t max, uint64_t *out)
{
	static const char *const units[] = {"", "bit", "bps"};
	const char *rest;
	uint64_t mult = 1;
	size_t u;

	if (parse_num(val, out, &rest) == 0) {
		switch (*rest) {
		case 'k':
		case 'K':
			mult = 1000;
			break;
		case 'm':
		case 'M':
			mult = 1000000;
			break;
		case 'g':
		case 'G':
			mult = 1000000000;
			break;
		}
		if (mult != 1)
			rest++;
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (strcasecmp(rest, units[u]) == 0 &&
			        scale(out, mult) == 0 && *out <= max)
				return 0;
	}
	return cli_error(BL_EUSAGE,
	        "%s needs bits per second such as 2000000 or 50mbit (at "
	        "most %llu)",
	        opt, (unsigned long long)max);
}

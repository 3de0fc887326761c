/*
 * cli_util.c - errors, sizes, JSON output and the progress bar.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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
		prog.started = 1;
	}
	secs = (double)(now.tv_sec - prog.start.tv_sec) +
	        (double)(now.tv_nsec - prog.start.tv_nsec) / 1e9;
	pct = total ? 100.0 * (double)done / (double)total : 100.0;
	rate = secs > 0 ? (double)done / secs : 0;
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
	fprintf(fp, "usage: branchline [--store DIR] [--json] %s %s\n\n%s\n",
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

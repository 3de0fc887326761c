/*
 * cli.h - the operator CLI's shared state, command table and output
 * helpers.
 *
 * Exit codes (documented in "branchline --help"):
 *   0  success
 *   1  the operation failed (message on stderr)
 *   2  usage error
 *   3  no such image, version or file
 *   4  verify found corrupt or missing data
 */
#ifndef BL_CLI_H
#define BL_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "store.h"

#define EXIT_FAIL     1
#define EXIT_USAGE    2
#define EXIT_NOTFOUND 3
#define EXIT_CORRUPT  4

struct cli {
	const char *store_dir; /* --store or BRANCHLINE_STORE */
	int store_flag;        /* --store was on the command line */
	const char *server;    /* --server URL (cli_remote.h: else env) */
	const char *token;     /* --token T */
	const char *ca;        /* --ca FILE: the pinned CA certificate */
	int json;              /* --json: machine-readable output */
	int quiet;             /* -q: no progress */
	int tty;               /* stderr is a terminal: progress bars */
};

struct cli_cmd {
	const char *name; /* "image add" */
	int (*fn)(struct cli *, int argc, char **argv);
	const char *usage; /* argument synopsis */
	const char *help;  /* one paragraph */
};

extern const struct cli_cmd cli_image_cmds[];
extern const struct cli_cmd cli_store_cmds[];
/* Commands that talk to the primary's API (cli_remote.h). */
extern const struct cli_cmd cli_site_cmds[];
extern const struct cli_cmd cli_admin_cmds[];  /* node, status, config, token */
extern const struct cli_cmd cli_upload_cmds[]; /* image upload, rollback */
/*
 * API versions of image list/show/diff/rm: used instead of the local ones
 * when a server is configured and --store was not given.
 */
extern const struct cli_cmd cli_image_api_cmds[];

/* 1 when cmd works through the API (its usage names --server). */
int cli_cmd_remote(const struct cli_cmd *cmd);

/* Open the store named by --store; prints the error and returns NULL. */
struct store *cli_open_store(struct cli *c);

/* Print "branchline: msg" to stderr; returns the exit code for err. */
int cli_error(int err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Exit code for a negative error code. */
int cli_exit_code(int err);

/* Human size: "1.5 GiB". buf of 32 bytes. */
const char *cli_size(uint64_t v, char buf[32]);

/* Print a JSON value to stdout and free it; returns 0 or EXIT_FAIL. */
int cli_json_out(json_t *v);

/* Progress callback for store_import (no-op unless a TTY). */
void cli_progress(void *arg, uint64_t done, uint64_t total);
void cli_progress_done(struct cli *c);

/*
 * An option argument of a command.  If argv[*i] is "NAME VALUE" or
 * "NAME=VALUE": set *val, leave *i on the last word used, return 1.
 * 0 when argv[*i] is another word; -1 when NAME has no value (printed;
 * the caller returns EXIT_USAGE).
 */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **val);

/*
 * Range-checked numbers from the command line; 0, or EXIT_USAGE after
 * printing "OPT needs ...".  cli_parse_u64: decimal in [min, max].
 * cli_parse_secs: seconds with an optional s/m/h/d suffix ("12h").
 * cli_parse_bits: bits per second with an optional k/m/g (powers of 1000)
 * and optional "bit"/"bps" suffix ("50mbit").
 */
int cli_parse_u64(const char *opt, const char *val, uint64_t min, uint64_t max,
        uint64_t *out);
int cli_parse_secs(const char *opt, const char *val, uint64_t min, uint64_t max,
        uint64_t *out);
int cli_parse_bits(
        const char *opt, const char *val, uint64_t max, uint64_t *out);

/* Look for "-h"/"--help" in argv; print cmd's help if found. */
int cli_wants_help(const struct cli_cmd *cmd, int argc, char **argv);
void cli_cmd_usage(FILE *fp, const struct cli_cmd *cmd);

#endif /* BL_CLI_H */

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

/* Look for "-h"/"--help" in argv; print cmd's help if found. */
int cli_wants_help(const struct cli_cmd *cmd, int argc, char **argv);
void cli_cmd_usage(FILE *fp, const struct cli_cmd *cmd);

#endif /* BL_CLI_H */

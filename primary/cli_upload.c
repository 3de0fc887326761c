/*
 * cli_upload.c - image upload (resumable, through /v1/uploads) and image
 * rollback, both through the primary's API.
 *
 * An upload is made once (POST /v1/uploads) and then filled file by file
 * in CLI_UPLOAD_PIECE ranges (PUT .../files/{i} with Content-Range).  The
 * server's "received" count per file is the only truth about what
 * arrived: after any failed piece the CLI waits, asks GET
 * /v1/uploads/{id} and goes on from there, so nothing acknowledged is sent
 * twice and nothing unacknowledged is taken for sent.  A CLI that was
 * killed continues with --resume ID (same NAME and files).  Then the
 * upload is finalized and polled until the import is done or failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_remote.h"
#include "error.h"
#include "store.h"

#define CLI_UPLOAD_PIECE   (8u * 1024 * 1024) /* bytes per PUT */
#define CLI_UPLOAD_RETRIES 12    /* failures in a row before giving up */
#define CLI_UPLOAD_WAITMAX 60    /* seconds between retries, at most */
#define CLI_UPLOAD_FILES   65536 /* as many as a manifest holds */
#define UPLOAD_ID_MAX      128

/* One file of the upload. */
struct up_file {
	const char *path; /* in the image */
	const char *file; /* on this machine */
	int fd;
	struct stat st;    /* at open: it must not change until finalize */
	size_t idx;        /* the server's index for PUT .../files/{idx} */
	uint64_t received; /* bytes the server holds */
};

/* An upload in progress. */
struct upload {
	struct cli *c;
	struct cli_remote *r;
	const char *name; /* the image */
	char id[UPLOAD_ID_MAX];
	struct up_file *f;
	size_t n;
	uint64_t total;        /* bytes of all files */
	uint64_t base;         /* bytes held by the server before this PUT */
	struct timespec drawn; /* last progress update */
	int failures;          /* in a row */
	long retry_after;      /* the server asked to wait this long, or -1 */
	int changed;           /* a file changed: the upload is junk */
	char state[16];        /* open, importing, done, failed */
};

/* ---- talking to /v1/uploads ---- */

static const char *
upload_path(struct upload *u, struct cli_path *p, const char *suffix)
{
	cli_path_init(p, "/v1/uploads/");
	cli_path_seg(p, u->id);
	if (suffix != NULL)
		cli_path_lit(p, suffix);
	return cli_path_str(p);
}

/*
 * Take the server's view of the upload: its state, and for each file the
 * index and bytes received.  The files must be ours (same paths and
 * sizes).  0 or an exit code (printed).
 */
static int
sync_state(struct upload *u, json_t *o)
{
	json_t *files = json_object_get(o, "files"), *e;
	const char *img = json_string_value(json_object_get(o, "image"));
	const char *st = json_string_value(json_object_get(o, "state"));
	const char *path;
	json_int_t size, got;
	size_t i, k;

	if (img != NULL && strcmp(img, u->name) != 0)
		return cli_error(BL_EUSAGE,
		        "upload %s is for image '%s', not '%s'", u->id, img,
		        u->name);
	if (st == NULL || !json_is_array(files) ||
	        json_array_size(files) != u->n)
		return cli_error(BL_EUSAGE,
		        "upload %s: the server lists %zu files, the command "
		        "line %zu",
		        u->id, json_array_size(files), u->n);
	snprintf(u->state, sizeof(u->state), "%s", st);
	for (k = 0; k < u->n; k++)
		u->f[k].idx = SIZE_MAX;
	json_array_foreach(files, i, e)
	{
		path = json_string_value(json_object_get(e, "path"));
		size = cli_jint(e, "size", -1);
		got = cli_jint(e, "received", -1);
		/* Usually in the order we sent; else look for it. */
		k = i;
		if (path == NULL || strcmp(u->f[k].path, path) != 0)
			for (k = 0; k < u->n; k++)
				if (path != NULL &&
				        strcmp(u->f[k].path, path) == 0)
					break;
		if (k == u->n || u->f[k].idx != SIZE_MAX ||
		        size != (json_int_t)u->f[k].st.st_size)
			return cli_error(BL_EUSAGE,
			        "upload %s: file %zu (%s) is not one given "
			        "here with the same size",
			        u->id, i, path != NULL ? path : "?");
		if (got < 0 || got > size)
			return cli_error(BL_EFORMAT,
			        "upload %s: the server reports %lld bytes "
			        "received of %s",
			        u->id, (long long)got, path);
		u->f[k].idx = i;
		u->f[k].received = (uint64_t)got;
	}
	return 0;
}

/* GET the upload and sync_state.  0, an exit code, or <0 transient. */
static int
refresh(struct upload *u)
{
	struct cli_req req = {.method = "GET"};
	struct cli_resp resp;
	struct cli_path p;
	int rc;

	req.path = upload_path(u, &p, NULL);
	if ((rc = cli_remote_call(u->r, &req, &resp)) != 0) {
		fprintf(stderr, "branchline: %s\n", cli_remote_why(u->r));
		return rc == -EAGAIN ? -1 : cli_exit_code(rc);
	}
	if (resp.status >= 500 || resp.status == 429) {
		cli_remote_report(u->r, &resp);
		cli_resp_cleanup(&resp);
		return -1;
	}
	rc = resp.status >= 300 ? cli_remote_report(u->r, &resp)
	                        : sync_state(u, resp.json);
	cli_resp_cleanup(&resp);
	return rc;
}

/* Throttled progress: about 10 redraws a second. */
static void
on_sent(void *arg, uint64_t sent)
{
	struct upload *u = arg;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - u->drawn.tv_sec) * 1000 +
	                (now.tv_nsec - u->drawn.tv_nsec) / 1000000 <
	        100)
		return;
	u->drawn = now;
	cli_progress(u->c, u->base + sent, u->total);
}

static uint64_t
held(const struct upload *u)
{
	uint64_t sum = 0;
	size_t k;

	for (k = 0; k < u->n; k++)
		sum += u->f[k].received;
	return sum;
}

/*
 * PUT one piece of f from f->received.  0 when the server took it (with
 * f->received updated), -2 when it answered 409 with a smaller "received"
 * (f->received set to it), -1 when a retry may help (the reason printed
 * as a warning), or an exit code (printed) when retrying cannot help.
 */
static int
put_piece(struct upload *u, struct up_file *f)
{
	struct cli_req req = {.method = "PUT", .fd = f->fd};
	struct cli_resp resp;
	struct cli_path p;
	char num[32];
	json_int_t got;
	int rc;

	snprintf(num, sizeof(num), "/files/%zu", f->idx);
	req.path = upload_path(u, &p, num);
	req.off = f->received;
	req.len = (uint64_t)f->st.st_size - f->received;
	if (req.len > CLI_UPLOAD_PIECE)
		req.len = CLI_UPLOAD_PIECE;
	req.total = (uint64_t)f->st.st_size;
	req.progress = on_sent;
	req.progress_arg = u;
	u->base = held(u);
	rc = cli_remote_call(u->r, &req, &resp);
	if (rc != 0 || resp.status != 200)
		cli_progress_done(u->c); /* messages start on a new line */
	if (rc != 0) {
		u->changed = rc == BL_ECHANGED;
		if (rc != -EAGAIN)
			return cli_error(rc, "%s", cli_remote_why(u->r));
		fprintf(stderr, "branchline: %s\n", cli_remote_why(u->r));
		return -1;
	}
	got = cli_jint(resp.json, "received", -1);
	if (resp.status < 300 || resp.status == 409) {
		/* 409 on a gap carries the server's count: go on from it. */
		if (got < 0 || (uint64_t)got > (uint64_t)f->st.st_size) {
			rc = cli_error(BL_EFORMAT,
			        "%s: the server's 'received' is missing or "
			        "out of range",
			        f->path);
		} else {
			/*
			 * Progress: 0.  A 409 that moves us back to where the
			 * server is: -2, go on at once.  Neither: a failure.
			 */
			if (resp.status < 300 && (uint64_t)got > f->received)
				rc = 0;
			else if (resp.status == 409 &&
			        (uint64_t)got != f->received)
				rc = -2;
			else
				rc = -1;
			if (rc != 0)
				fprintf(stderr,
				        "branchline: %s: the server holds "
				        "%lld bytes; going on from there\n",
				        f->path, (long long)got);
			f->received = (uint64_t)got;
		}
	} else if (resp.status >= 500 || resp.status == 429 ||
	        resp.status == 408) {
		cli_remote_report(u->r, &resp);
		rc = -1;
		u->retry_after = resp.retry_after;
	} else
		rc = cli_remote_report(u->r, &resp);
	cli_resp_cleanup(&resp);
	return rc;
}

/* After a failure: wait (1, 2, 4, ... 60 s), then ask what arrived. */
static int
recover(struct upload *u)
{
	unsigned int wait;
	int rc;

	while (++u->failures <= CLI_UPLOAD_RETRIES) {
		wait = 1u << (u->failures < 7 ? u->failures - 1 : 6);
		if (wait > CLI_UPLOAD_WAITMAX)
			wait = CLI_UPLOAD_WAITMAX;
		if (u->retry_after > (long)wait && u->retry_after <= 600)
			wait = (unsigned int)u->retry_after;
		u->retry_after = -1;
		if (!u->c->quiet)
			fprintf(stderr,
			        "branchline: retrying in %u s (%d of %d)\n",
			        wait, u->failures, CLI_UPLOAD_RETRIES);
		sleep(wait);
		if ((rc = refresh(u)) >= 0)
			return rc;
	}
	return cli_error(-EIO, "giving up after %d failures in a row",
	        CLI_UPLOAD_RETRIES);
}

/* Send every byte the server lacks.  0 or an exit code. */
static int
send_files(struct upload *u)
{
	struct up_file *f;
	size_t k;
	int rc, sent = 0;

	for (k = 0; k < u->n; k++) {
		f = &u->f[k];
		while (f->received < (uint64_t)f->st.st_size) {
			sent = 1;
			rc = put_piece(u, f);
			if (rc == 0)
				u->failures = 0;
			else if (rc == -2 &&
			        ++u->failures <= CLI_UPLOAD_RETRIES)
				continue;
			else if (rc > 0 || (rc = recover(u)) != 0)
				return rc;
		}
	}
	if (sent) {
		cli_progress(u->c, u->total, u->total);
		cli_progress_done(u->c);
	}
	return 0;
}

/* The files must be as they were at open, else the upload is junk. */
static int
check_unchanged(struct upload *u)
{
	struct stat st;
	size_t k;

	for (k = 0; k < u->n; k++) {
		if (fstat(u->f[k].fd, &st) != 0)
			return cli_error(-errno, "%s: %s", u->f[k].file,
			        strerror(errno));
		if (st.st_size != u->f[k].st.st_size ||
		        st.st_mtim.tv_sec != u->f[k].st.st_mtim.tv_sec ||
		        st.st_mtim.tv_nsec != u->f[k].st.st_mtim.tv_nsec) {
			u->changed = 1;
			return cli_error(BL_ECHANGED,
			        "%s changed during the upload; nothing was "
			        "imported",
			        u->f[k].file);
		}
	}
	return 0;
}

/*
 * POST finalize once: 0 when the server took it (state "importing"), -1
 * when it did not but may after a wait (an answer lost on the way, 409
 * because bytes are missing, 503), else an exit code.
 */
static int
finalize_once(struct upload *u)
{
	struct cli_req req = {.method = "POST"};
	struct cli_resp resp;
	struct cli_path p;
	int rc;

	req.path = upload_path(u, &p, "/finalize");
	rc = cli_remote_call(u->r, &req, &resp);
	if (rc != 0 && rc != -EAGAIN)
		return cli_error(rc, "%s", cli_remote_why(u->r));
	if (rc != 0) {
		fprintf(stderr, "branchline: %s\n", cli_remote_why(u->r));
		return -1;
	}
	if (resp.status < 300) {
		snprintf(u->state, sizeof(u->state), "importing");
		rc = 0;
	} else if (resp.status >= 500 || resp.status == 409 ||
	        resp.status == 429) {
		cli_remote_report(u->r, &resp);
		rc = -1;
	} else
		rc = cli_remote_report(u->r, &resp);
	cli_resp_cleanup(&resp);
	return rc;
}

/*
 * Send what the server lacks, then finalize.  After a failed finalize the
 * server's state decides: bytes it turns out to lack are sent again, an
 * import it did start is waited for.
 */
static int
transfer(struct upload *u)
{
	int rc;

	while (strcmp(u->state, "open") == 0) {
		if ((rc = send_files(u)) != 0 || (rc = check_unchanged(u)) != 0)
			return rc;
		if ((rc = finalize_once(u)) > 0)
			return rc;
		if (rc < 0 && (rc = recover(u)) != 0)
			return rc;
	}
	u->failures = 0;
	return 0;
}

/*
 * One look at the upload: 0 with *final set when done or failed, 0 with
 * *final NULL while importing, -1 on a failure worth retrying, else an
 * exit code.
 */
static int
poll_once(struct upload *u, json_t **final)
{
	struct cli_req req = {.method = "GET"};
	struct cli_resp resp;
	struct cli_path p;
	int rc;

	req.path = upload_path(u, &p, NULL);
	rc = cli_remote_call(u->r, &req, &resp);
	if (rc != 0 && rc != -EAGAIN)
		return cli_error(rc, "%s", cli_remote_why(u->r));
	if (rc != 0) {
		fprintf(stderr, "branchline: %s\n", cli_remote_why(u->r));
		return -1;
	}
	if (resp.status >= 500 || resp.status == 429) {
		cli_remote_report(u->r, &resp);
		rc = -1;
	} else if (resp.status >= 300)
		rc = cli_remote_report(u->r, &resp);
	else if ((rc = sync_state(u, resp.json)) == 0 &&
	        (strcmp(u->state, "done") == 0 ||
	                strcmp(u->state, "failed") == 0))
		*final = json_incref(resp.json);
	cli_resp_cleanup(&resp);
	return rc;
}

/* Wait for the server's import: poll every 1, 2, ... 5 seconds. */
static int
wait_import(struct upload *u, json_t **final)
{
	unsigned int wait = 1;
	int rc;

	*final = NULL;
	if (u->c->tty && !u->c->quiet && strcmp(u->state, "importing") == 0)
		fprintf(stderr, "branchline: importing on the server...\n");
	for (;;) {
		rc = poll_once(u, final);
		if (rc > 0 || *final != NULL)
			return rc;
		if (rc < 0 && ++u->failures > CLI_UPLOAD_RETRIES)
			return cli_error(-EIO,
			        "giving up after %d failures in a row",
			        CLI_UPLOAD_RETRIES);
		if (rc == 0)
			u->failures = 0;
		sleep(wait);
		if (wait < 5)
			wait++;
	}
}

/* ---- the command ---- */

/* "PATH=FILE" names the path inside the image; else the base name. */
static void
parse_src(char *arg, struct up_file *f)
{
	char *eq = strchr(arg, '=');
	const char *slash;

	if (eq != NULL && eq != arg) {
		*eq = '\0';
		f->path = arg;
		f->file = eq + 1;
		return;
	}
	f->file = arg;
	slash = strrchr(arg, '/');
	f->path = slash != NULL ? slash + 1 : arg;
}

/* Open every file (regular, readable) and note its size.  0 or exit. */
static int
open_files(struct upload *u)
{
	size_t k, j;

	for (k = 0; k < u->n; k++) {
		struct up_file *f = &u->f[k];

		for (j = 0; j < k; j++)
			if (strcmp(u->f[j].path, f->path) == 0)
				return cli_error(BL_EUSAGE,
				        "%s named twice in the image", f->path);
		if ((f->fd = open(f->file, O_RDONLY | O_CLOEXEC)) < 0 ||
		        fstat(f->fd, &f->st) != 0)
			return cli_error(
			        -errno, "%s: %s", f->file, strerror(errno));
		if (!S_ISREG(f->st.st_mode))
			return cli_error(
			        BL_EUSAGE, "%s: not a regular file", f->file);
		u->total += (uint64_t)f->st.st_size;
	}
	return 0;
}

/* POST /v1/uploads, or GET the one to resume; then sync_state. */
static int
start(struct upload *u, const char *resume)
{
	json_t *body, *files, *ans = NULL;
	struct cli_path p;
	const char *id;
	size_t k;
	int rc;

	if (resume != NULL) {
		snprintf(u->id, sizeof(u->id), "%s", resume);
		rc = cli_remote_json(
		        u->r, "GET", upload_path(u, &p, NULL), NULL, &ans);
	} else {
		files = json_array();
		for (k = 0; k < u->n; k++)
			json_array_append_new(files,
			        json_pack("{s:s, s:I}", "path", u->f[k].path,
			                "size",
			                (json_int_t)u->f[k].st.st_size));
		body = json_pack(
		        "{s:s, s:o}", "image", u->name, "files", files);
		rc = cli_remote_json(u->r, "POST", "/v1/uploads", body, &ans);
		json_decref(body);
		id = json_string_value(json_object_get(ans, "id"));
		if (rc == 0 && (id == NULL || strlen(id) >= sizeof(u->id))) {
			json_decref(ans);
			return cli_error(BL_EFORMAT,
			        "the server's upload has no usable id");
		}
		if (rc == 0)
			cli_clean(id, u->id, sizeof(u->id));
	}
	if (rc == 0)
		rc = sync_state(u, ans);
	json_decref(ans);
	if (rc == 0 && !u->c->quiet)
		fprintf(stderr,
		        "branchline: upload %s: %zu file%s, %llu bytes, %llu "
		        "already there (if interrupted: add --resume %s)\n",
		        u->id, u->n, u->n == 1 ? "" : "s",
		        (unsigned long long)u->total,
		        (unsigned long long)held(u), u->id);
	return rc;
}

static int
report(struct upload *u, json_t *final)
{
	char why[512], sz[32];

	if (u->c->json)
		return cli_json_out(json_incref(final));
	if (strcmp(u->state, "failed") == 0)
		return cli_error(-EIO, "upload %s: the import failed: %s",
		        u->id, cli_jstr(final, "reason", why, sizeof(why)));
	printf("uploaded %s@%lld  (%zu file%s, %s)\n", u->name,
	        (long long)cli_jint(final, "version", 0), u->n,
	        u->n == 1 ? "" : "s", cli_size(u->total, sz));
	return 0;
}

/* Delete an upload whose files changed under it (best effort). */
static void
discard(struct upload *u)
{
	struct cli_req req = {.method = "DELETE"};
	struct cli_resp resp;
	struct cli_path p;

	req.path = upload_path(u, &p, NULL);
	if (cli_remote_call(u->r, &req, &resp) == 0) {
		if (resp.status < 300)
			fprintf(stderr,
			        "branchline: upload %s discarded; start a new "
			        "one\n",
			        u->id);
		cli_resp_cleanup(&resp);
	}
}

static int
cmd_upload(struct cli *c, int argc, char **argv)
{
	struct upload u;
	const char *resume = NULL;
	json_t *final = NULL;
	char **args;
	size_t k;
	int i, m, nargs = 0, rc;

	memset(&u, 0, sizeof(u));
	u.c = c;
	u.retry_after = -1;
	if ((args = calloc((size_t)argc, sizeof(*args))) == NULL)
		return cli_error(-ENOMEM, "out of memory");
	for (i = 1; i < argc; i++) {
		if ((m = cli_opt(argc, argv, &i, "--resume", &resume)) < 0) {
			free(args);
			return EXIT_USAGE;
		}
		if (m == 0)
			args[nargs++] = argv[i];
	}
	if (nargs < 2 || nargs - 1 > CLI_UPLOAD_FILES) {
		free(args);
		return cli_error(BL_EUSAGE,
		        "usage: image upload [--resume ID] "
		        "NAME [PATH=]FILE...");
	}
	u.name = args[0];
	u.n = (size_t)nargs - 1;
	if ((u.f = calloc(u.n, sizeof(*u.f))) == NULL) {
		free(args);
		return cli_error(-ENOMEM, "out of memory");
	}
	for (k = 0; k < u.n; k++) {
		u.f[k].fd = -1;
		parse_src(args[k + 1], &u.f[k]);
	}
	if ((rc = open_files(&u)) != 0 || (rc = cli_remote_open(c, &u.r)) != 0)
		goto out;
	if ((rc = start(&u, resume)) != 0)
		goto out;
	if ((rc = transfer(&u)) != 0 || (rc = wait_import(&u, &final)) != 0)
		goto out_hint;
	rc = report(&u, final);
	goto out;
out_hint:
	cli_progress_done(c);
	if (u.changed)
		discard(&u);
	else if (rc != EXIT_USAGE && rc != EXIT_NOTFOUND &&
	        strcmp(u.state, "failed") != 0)
		fprintf(stderr,
		        "branchline: the upload stays on the server; continue "
		        "it with 'branchline image upload --resume %s %s "
		        "FILES...'\n",
		        u.id, u.name);
out:
	json_decref(final);
	cli_remote_close(u.r);
	for (k = 0; k < u.n; k++)
		if (u.f[k].fd >= 0)
			close(u.f[k].fd);
	free(u.f);
	free(args);
	return rc;
}

/* ---- rollback ---- */

static int
cmd_rollback(struct cli *c, int argc, char **argv)
{
	struct cli_remote *r;
	struct cli_path p;
	json_t *body, *ans = NULL;
	uint64_t ver;
	char man[80];
	int rc;

	if (argc != 3 || argv[1][0] == '-')
		return cli_error(
		        BL_EUSAGE, "usage: image rollback NAME VERSION");
	if (cli_parse_u64("VERSION", argv[2], 1, UINT32_MAX, &ver) != 0)
		return EXIT_USAGE;
	cli_path_init(&p, "/v1/images/");
	cli_path_seg(&p, argv[1]);
	cli_path_lit(&p, "/rollback");
	if ((rc = cli_remote_open(c, &r)) != 0)
		return rc;
	body = json_pack("{s:I}", "version", (json_int_t)ver);
	rc = cli_remote_json(r, "POST", cli_path_str(&p), body, &ans);
	json_decref(body);
	cli_remote_close(r);
	if (rc != 0)
		return rc;
	if (c->json)
		return cli_json_out(ans);
	printf("%s@%lld now holds the content of %s@%llu\n", argv[1],
	        (long long)cli_jint(ans, "version", 0), argv[1],
	        (unsigned long long)ver);
	if (json_is_string(json_object_get(ans, "manifest")))
		printf("  manifest %s\n",
		        cli_jstr(ans, "manifest", man, sizeof(man)));
	json_decref(ans);
	return 0;
}

const struct cli_cmd cli_upload_cmds[] = {
        {"image upload", cmd_upload, "[--resume ID] NAME [PATH=]FILE...",
                "Upload files to the primary as the next version of image\n"
                "NAME, in 8 MiB pieces.  A broken connection is retried and\n"
                "the upload goes on from what the server holds; after the\n"
                "CLI itself was stopped, run the same command with\n"
                "--resume ID (the id is printed when the upload starts).\n"
                "Then waits for the server's import to finish."},
        {"image rollback", cmd_rollback, "NAME VERSION",
                "Make a new version of NAME with the content of VERSION."},
        {NULL, NULL, NULL, NULL},
};

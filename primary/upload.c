/*
 * upload.c - resumable image uploads.
 *
 * An upload is a directory STATE/uploads/ID with meta.json (image name,
 * files with their sizes and the bytes received) and one data file per
 * image file.  A PUT writes its range, fdatasyncs it, then records the
 * new "received" with an atomic rewrite of meta.json: after a dropped
 * connection or a primary restart the client asks for "received" and
 * goes on from there.  Finalize imports the files into the store on a
 * thread of its own; the event loop learns the result through an event.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "server.h"

#define UPLOAD_FILES_MAX 4096
#define UPLOAD_FILE_MAX  (1ull << 40) /* 1 TiB per file */

enum upload_state { UP_OPEN, UP_IMPORTING, UP_DONE, UP_FAILED };

static const char *const state_names[] = {
        "open", "importing", "done", "failed"};

struct upfile {
	char *path;
	uint64_t size, received;
};

struct upload {
	struct upload *next;
	struct primary *p;
	char id[33];
	char image[MANIFEST_NAME_MAX + 1];
	char dir[1200];
	struct upfile *files;
	size_t nfiles;
	enum upload_state state;
	uint32_t version;
	char reason[512];
	int64_t created;
	/* Import thread. */
	pthread_t th;
	struct event *done_ev;
	uint64_t done, total; /* progress, read by the loop */
	int rc;
};

static void
upload_free(struct upload *u)
{
	size_t i;

	for (i = 0; i < u->nfiles; i++)
		free(u->files[i].path);
	free(u->files);
	if (u->done_ev != NULL)
		event_free(u->done_ev);
	free(u);
}

static json_t *
upload_json(const struct upload *u)
{
	json_t *o, *a = json_array();
	size_t i;

	for (i = 0; i < u->nfiles; i++)
		json_array_append_new(a,
		        json_pack("{s:s,s:I,s:I}", "path", u->files[i].path,
		                "size", (json_int_t)u->files[i].size,
		                "received", (json_int_t)u->files[i].received));
	o = json_pack("{s:s,s:s,s:o,s:s,s:I}", "id", u->id, "image", u->image,
	        "files", a, "state", state_names[u->state], "created",
	        (json_int_t)u->created);
	if (u->state == UP_DONE)
		json_object_set_new(o, "version", json_integer(u->version));
	if (u->state == UP_FAILED)
		json_object_set_new(o, "reason", json_string(u->reason));
	if (u->state == UP_IMPORTING)
		json_object_set_new(o, "imported",
		        json_integer((json_int_t)u->done));
	return o;
}

static int
upload_save(struct upload *u)
{
	json_t *o = upload_json(u);
	char path[1300], *s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(1));
	int rc;

	json_decref(o);
	if (s == NULL)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/meta.json", u->dir);
	rc = fs_write_atomic(path, s, strlen(s), 0600);
	free(s);
	return rc;
}

static struct upload *
upload_find(struct primary *p, const char *id)
{
	struct upload *u;

	for (u = p->uploads; u != NULL; u = u->next)
		if (strcmp(u->id, id) == 0)
			return u;
	return NULL;
}

/* Build an upload from a JSON description (request or meta.json). */
static int
upload_from_json(json_t *o, struct upload *u, char *why, size_t whylen)
{
	const char *img = json_string_value(json_object_get(o, "image"));
	json_t *fa = json_object_get(o, "files"), *f;
	size_t i, j;

	if (img == NULL || !manifest_name_valid(img))
		return bl_why(why, whylen, BL_EFORMAT,
		        "image: a valid image name is needed");
	snprintf(u->image, sizeof(u->image), "%s", img);
	if (!json_is_array(fa) || json_array_size(fa) == 0 ||
	        json_array_size(fa) > UPLOAD_FILES_MAX)
		return bl_why(why, whylen, BL_EFORMAT,
		        "files: 1..%d files are needed", UPLOAD_FILES_MAX);
	if ((u->files = calloc(json_array_size(fa), sizeof(*u->files))) == NULL)
		return -ENOMEM;
	json_array_foreach(fa, i, f)
	{
		const char *path = json_string_value(json_object_get(f, "path"));
		json_t *sz = json_object_get(f, "size");

		if (path == NULL || !manifest_path_valid(path, strlen(path)))
			return bl_why(why, whylen, BL_EFORMAT,
			        "files[%zu].path: not a valid relative path", i);
		if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
		        (uint64_t)json_integer_value(sz) > UPLOAD_FILE_MAX)
			return bl_why(why, whylen, BL_EFORMAT,
			        "files[%zu].size: bytes in 0..2^40", i);
		for (j = 0; j < i; j++)
			if (strcmp(u->files[j].path, path) == 0)
				return bl_why(why, whylen, BL_EFORMAT,
				        "files[%zu].path: '%s' twice", i, path);
		if ((u->files[i].path = strdup(path)) == NULL)
			return -ENOMEM;
		u->files[i].size = (uint64_t)json_integer_value(sz);
		u->files[i].received = (uint64_t)json_integer_value(
		        json_object_get(f, "received"));
		u->nfiles++;
	}
	return 0;
}

static void
upload_create(struct reqctx *c)
{
	json_t *b = body_json(c);
	struct upload *u;
	char why[512], path[1300];
	uint8_t r[16];
	size_t i;
	int fd;

	if (b == NULL)
		return;
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		json_decref(b);
		reply_error(c, 503, "out of memory");
		return;
	}
	u->p = c->p;
	if (upload_from_json(b, u, why, sizeof(why)) != 0) {
		json_decref(b);
		upload_free(u);
		reply_error(c, 400, "%s", why);
		return;
	}
	json_decref(b);
	for (i = 0; i < u->nfiles; i++)
		u->files[i].received = 0;
	(void)RAND_bytes(r, sizeof(r));
	hash_hex(r, sizeof(r), u->id);
	u->created = time(NULL);
	snprintf(u->dir, sizeof(u->dir), "%s/uploads/%s", c->p->state, u->id);
	if (fs_mkdirs(u->dir, 0700) != 0)
		goto fail;
	for (i = 0; i < u->nfiles; i++) {
		snprintf(path, sizeof(path), "%s/f%zu", u->dir, i);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
			goto fail;
		close(fd);
	}
	if (upload_save(u) != 0)
		goto fail;
	u->next = c->p->uploads;
	c->p->uploads = u;
	log_info("%s: upload %s of %s (%zu files) created", c->who, u->id,
	        u->image, u->nfiles);
	reply_json(c, 201, upload_json(u));
	return;
fail:
	reply_error(c, 507, "cannot create %s: %s", u->dir, strerror(errno));
	upload_free(u);
}

/* "bytes A-B/T" -> a, b, t.  Pure; 0 or -1. */
static int
parse_range(const char *s, uint64_t *a, uint64_t *b, uint64_t *t)
{
	unsigned long long x, y, z;
	int n = 0;

	if (s == NULL || sscanf(s, "bytes %llu-%llu/%llu%n", &x, &y, &z, &n) !=
	                3 ||
	        s[n] != '\0' || y < x || y >= z)
		return -1;
	*a = x;
	*b = y;
	*t = z;
	return 0;
}

static void
upload_put(struct reqctx *c, struct upload *u)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	const char *cr = evhttp_find_header(
	        evhttp_request_get_input_headers(c->req), "Content-Range");
	size_t len = evbuffer_get_length(in), i = (size_t)atoi(c->m.arg[1]);
	uint64_t a = 0, b = 0, t = 0;
	struct upfile *f;
	char path[1300];
	int fd, rc = 0;

	if (i >= u->nfiles) {
		reply_error(c, 404, "upload %s has no file %zu", u->id, i);
		return;
	}
	f = &u->files[i];
	if (u->state != UP_OPEN) {
		reply_error(c, 409, "upload %s is %s", u->id,
		        state_names[u->state]);
		return;
	}
	if (f->size == 0 && len == 0) {
		reply_json(c, 200, json_pack("{s:I}", "received", (json_int_t)0));
		return;
	}
	if (parse_range(cr, &a, &b, &t) != 0 || t != f->size ||
	        b - a + 1 != len || len > PRIMARY_PUT_MAX) {
		reply_error(c, 400, "Content-Range must be 'bytes A-B/%" PRIu64
		                    "' matching the %zu-byte body (at most %u)",
		        f->size, len, PRIMARY_PUT_MAX);
		return;
	}
	if (a > f->received) {
		reply_json(c, 409,
		        json_pack("{s:{s:i,s:s},s:I}", "error", "status", 409,
		                "message", "gap: continue from \"received\"",
		                "received", (json_int_t)f->received));
		return;
	}
	snprintf(path, sizeof(path), "%s/f%zu", u->dir, i);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		rc = -errno;
	while (rc == 0 && evbuffer_get_length(in) > 0) {
		size_t n = evbuffer_get_contiguous_space(in);
		ssize_t w = pwrite(fd, evbuffer_pullup(in, (ssize_t)n), n,
		        (off_t)a);

		if (w <= 0)
			rc = w < 0 ? -errno : -EIO;
		else {
			evbuffer_drain(in, (size_t)w);
			a += (uint64_t)w;
		}
	}
	if (rc == 0 && fdatasync(fd) != 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		reply_error(c, http_status_of(rc), "writing upload %s: %s",
		        u->id, bl_strerror(rc));
		return;
	}
	if (b + 1 > f->received)
		f->received = b + 1;
	if ((rc = upload_save(u)) != 0) {
		reply_error(c, 500, "saving upload %s: %s", u->id,
		        bl_strerror(rc));
		return;
	}
	reply_json(c, 200,
	        json_pack("{s:I}", "received", (json_int_t)f->received));
}

static void
import_progress(void *arg, uint64_t done, uint64_t total)
{
	struct upload *u = arg;

	__atomic_store_n(&u->done, done, __ATOMIC_RELAXED);
	__atomic_store_n(&u->total, total, __ATOMIC_RELAXED);
}

static void *
import_main(void *arg)
{
	struct upload *u = arg;
	struct store_src *src = calloc(u->nfiles, sizeof(*src));
	struct store_import_stats st;
	char (*files)[1300] = calloc(u->nfiles, sizeof(*files));
	size_t i;

	if (src == NULL || files == NULL)
		u->rc = bl_why(u->reason, sizeof(u->reason), -ENOMEM,
		        "out of memory");
	else {
		for (i = 0; i < u->nfiles; i++) {
			snprintf(files[i], sizeof(files[i]), "%s/f%zu", u->dir,
			        i);
			src[i].path = u->files[i].path;
			src[i].file = files[i];
		}
		u->rc = store_import(u->p->store, u->image, src, u->nfiles,
		        import_progress, u, &st, u->reason, sizeof(u->reason));
		if (u->rc == 0)
			u->version = st.version;
	}
	free(src);
	free(files);
	event_active(u->done_ev, EV_READ, 0);
	return NULL;
}

static void
import_done(evutil_socket_t fd, short ev, void *arg)
{
	struct upload *u = arg;
	char path[1300];
	size_t i;

	(void)fd;
	(void)ev;
	pthread_join(u->th, NULL);
	u->state = u->rc == 0 ? UP_DONE : UP_FAILED;
	if (u->rc == 0) {
		log_info("upload %s: imported as %s@%" PRIu32, u->id, u->image,
		        u->version);
		for (i = 0; i < u->nfiles; i++) { /* the store has them now */
			snprintf(path, sizeof(path), "%s/f%zu", u->dir, i);
			(void)unlink(path);
		}
		catalog_kick(u->p);
	} else
		log_warnx("upload %s: import failed: %s", u->id, u->reason);
	if (upload_save(u) != 0)
		log_warn("saving upload %s", u->id);
}

static void
upload_finalize(struct reqctx *c, struct upload *u)
{
	size_t i;

	if (u->state == UP_IMPORTING || u->state == UP_DONE) {
		reply_json(c, 202, upload_json(u));
		return;
	}
	for (i = 0; i < u->nfiles; i++)
		if (u->files[i].received != u->files[i].size) {
			reply_error(c, 409, "file %zu (%s) has %" PRIu64
			                    " of %" PRIu64 " bytes",
			        i, u->files[i].path, u->files[i].received,
			        u->files[i].size);
			return;
		}
	if (u->done_ev == NULL &&
	        (u->done_ev = event_new(c->p->base, -1, 0, import_done, u)) ==
	                NULL) {
		reply_error(c, 503, "out of memory");
		return;
	}
	u->state = UP_IMPORTING;
	u->reason[0] = '\0';
	if (pthread_create(&u->th, NULL, import_main, u) != 0) {
		u->state = UP_OPEN;
		reply_error(c, 503, "cannot start the import");
		return;
	}
	(void)upload_save(u);
	log_info("%s: upload %s: importing %s", c->who, u->id, u->image);
	reply_json(c, 202, upload_json(u));
}

static void
rm_dir(const char *dir)
{
	char path[1400];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			(void)unlink(path);
		}
	closedir(d);
	(void)rmdir(dir);
}

void
api_uploads(struct reqctx *c)
{
	struct upload *u, **pp;

	if (c->m.id == R_UPLOADS) {
		upload_create(c);
		return;
	}
	if ((u = upload_find(c->p, c->m.arg[0])) == NULL) {
		reply_error(c, 404, "no upload %s", c->m.arg[0]);
		return;
	}
	if (c->m.id == R_UPLOAD_FILE)
		upload_put(c, u);
	else if (c->m.id == R_UPLOAD_FINALIZE)
		upload_finalize(c, u);
	else if (c->m.method == RM_GET)
		reply_json(c, 200, upload_json(u));
	else if (u->state == UP_IMPORTING)
		reply_error(c, 409, "upload %s is importing", u->id);
	else {
		for (pp = &c->p->uploads; *pp != u; pp = &(*pp)->next)
			;
		*pp = u->next;
		rm_dir(u->dir);
		upload_free(u);
		reply_empty(c, 204);
	}
}

/* Reload uploads after a restart; an interrupted import is open again. */
int
upload_load(struct primary *p)
{
	char dir[1100], path[1300], why[256];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/uploads", p->state);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? fs_mkdirs(dir, 0700) : -errno;
	while ((de = readdir(d)) != NULL) {
		struct upload *u;
		json_t *o;
		const char *state;
		size_t i;

		if (strlen(de->d_name) != 32)
			continue;
		snprintf(path, sizeof(path), "%s/%.32s/meta.json", dir,
		        de->d_name);
		if ((o = json_load_file(path, 0, NULL)) == NULL ||
		        (u = calloc(1, sizeof(*u))) == NULL) {
			json_decref(o);
			continue;
		}
		u->p = p;
		snprintf(u->id, sizeof(u->id), "%.32s", de->d_name);
		snprintf(u->dir, sizeof(u->dir), "%s/%.32s", dir, de->d_name);
		u->created = json_integer_value(json_object_get(o, "created"));
		state = json_string_value(json_object_get(o, "state"));
		if (upload_from_json(o, u, why, sizeof(why)) != 0) {
			log_warnx("%s: %s", path, why);
			json_decref(o);
			upload_free(u);
			continue;
		}
		u->state = UP_OPEN;
		if (state != NULL && strcmp(state, "done") == 0) {
			u->state = UP_DONE;
			u->version = (uint32_t)json_integer_value(
			        json_object_get(o, "version"));
		} else if (state != NULL && strcmp(state, "failed") == 0) {
			u->state = UP_FAILED;
			const char *r = json_string_value(
			        json_object_get(o, "reason"));

			snprintf(u->reason, sizeof(u->reason), "%s",
			        r ? r : "");
		}
		json_decref(o);
		/* Bytes count only if they reached the disk. */
		for (i = 0; i < u->nfiles && u->state == UP_OPEN; i++) {
			snprintf(path, sizeof(path), "%s/f%zu", u->dir, i);
			if (stat(path, &st) != 0)
				u->files[i].received = 0;
			else if ((uint64_t)st.st_size < u->files[i].received)
				u->files[i].received = (uint64_t)st.st_size;
		}
		u->next = p->uploads;
		p->uploads = u;
	}
	closedir(d);
	return 0;
}

void
upload_cleanup(struct primary *p)
{
	struct upload *u;

	while ((u = p->uploads) != NULL) {
		if (u->state == UP_IMPORTING)
			pthread_join(u->th, NULL);
		p->uploads = u->next;
		upload_free(u);
	}
}

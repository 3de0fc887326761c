/*
 * api_image.c - operator endpoints for images (list, show, versions,
 * diff, delete, roll back) and the OpenAPI document.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "error.h"
#include "hash.h"
#include "log.h"
#include "server.h"

/* primary/openapi.json, embedded at build time (openapi_data.c). */
extern const unsigned char bl_openapi_json[];
extern const size_t bl_openapi_json_len;

static json_t *
version_json(const struct store_version *v)
{
	char hex[65];

	hash_hex(v->im.manifest_id, 32, hex);
	return json_pack("{s:s,s:i,s:s,s:I,s:i,s:i,s:I}", "name", v->name,
	        "version", (int)v->version, "manifest", hex, "size",
	        (json_int_t)v->im.size, "files", (int)v->im.nfiles, "chunks",
	        (int)v->im.nchunks, "created", (json_int_t)v->im.created);
}

static void
images_list(struct reqctx *c, const char *name)
{
	struct store_version *all = NULL;
	json_t *a = json_array();
	size_t n = 0, i;
	int rc;

	if ((rc = store_list(c->p->store, name, &all, &n)) != 0) {
		json_decref(a);
		reply_error(c, 500, "index: %s", bl_strerror(rc));
		return;
	}
	for (i = 0; i < n; i++)
		json_array_append_new(a, version_json(&all[i]));
	free(all);
	if (name != NULL && n == 0) {
		json_decref(a);
		reply_error(c, 404, "no image %s", name);
		return;
	}
	reply_json(c, 200,
	        json_pack("{s:o}", name ? "versions" : "images", a));
}

/* ?version=V, 0 when absent; -1 after replying 400. */
static long long
version_arg(struct reqctx *c, const char *key)
{
	unsigned long long v;

	if (query_uint(c, key, 1, UINT32_MAX, 0, &v) != 0)
		return -1;
	return (long long)v;
}

static void
image_show(struct reqctx *c)
{
	struct manifest *m = NULL;
	struct store_version v;
	char why[512], hex[65];
	long long ver = version_arg(c, "version");
	json_t *o, *files;
	uint32_t f;
	int rc;

	if (ver < 0)
		return;
	if ((rc = store_lookup(c->p->store, c->m.arg[0], (uint32_t)ver, &v,
	             NULL, NULL, why, sizeof(why))) != 0 ||
	        (rc = store_manifest(c->p->store, c->m.arg[0], v.version, &m,
	                 why, sizeof(why))) != 0) {
		reply_error(c, http_status_of(rc), "%s", why);
		return;
	}
	o = version_json(&v);
	files = json_array();
	for (f = 0; f < m->nfiles; f++) {
		hash_hex(m->files[f].sha256, 32, hex);
		json_array_append_new(files,
		        json_pack("{s:s,s:I,s:s,s:i}", "path", m->files[f].path,
		                "size", (json_int_t)m->files[f].size, "sha256",
		                hex, "chunks", (int)m->files[f].nchunks));
	}
	json_object_set_new(o, "files", files);
	manifest_free(m);
	reply_json(c, 200, o);
}

static void
image_diff(struct reqctx *c)
{
	struct manifest *a = NULL, *b = NULL;
	struct store_diff d;
	long long from = version_arg(c, "from"), to;
	char why[512];
	int rc;

	if (from < 0 || (to = version_arg(c, "to")) < 0)
		return;
	if (from == 0) {
		reply_error(c, 400, "diff needs ?from=VERSION");
		return;
	}
	if ((rc = store_manifest(c->p->store, c->m.arg[0], (uint32_t)from, &a,
	             why, sizeof(why))) != 0 ||
	        (rc = store_manifest(c->p->store, c->m.arg[0], (uint32_t)to, &b,
	                 why, sizeof(why))) != 0) {
		manifest_free(a);
		reply_error(c, http_status_of(rc), "%s", why);
		return;
	}
	rc = store_diff(a, b, &d);
	if (rc == 0)
		reply_json(c, 200,
		        json_pack("{s:s,s:i,s:i,s:I,s:I,s:I,s:I}", "name",
		                c->m.arg[0], "from", (int)a->version, "to",
		                (int)b->version, "shared_chunks",
		                (json_int_t)d.shared_chunks, "shared_bytes",
		                (json_int_t)d.shared_bytes, "new_chunks",
		                (json_int_t)d.new_chunks, "new_bytes",
		                (json_int_t)d.new_bytes));
	else
		reply_error(c, 500, "diff: %s", bl_strerror(rc));
	manifest_free(a);
	manifest_free(b);
}

static void
image_delete(struct reqctx *c)
{
	struct store_version *all = NULL;
	long long ver = version_arg(c, "version");
	size_t n = 0, i, hit = 0;
	char why[512];
	int rc;

	if (ver < 0)
		return;
	if (store_list(c->p->store, c->m.arg[0], &all, &n) == 0)
		for (i = 0; i < n; i++)
			hit += ver == 0 || all[i].version == (uint32_t)ver;
	free(all);
	if ((rc = store_remove(c->p->store, c->m.arg[0], (uint32_t)ver, why,
	             sizeof(why))) != 0) {
		reply_error(c, http_status_of(rc), "%s", why);
		return;
	}
	log_info("%s: removed %s%s%lld (%zu versions)", c->who, c->m.arg[0],
	        ver ? "@" : "", ver ? ver : 0, hit);
	catalog_kick(c->p);
	reply_json(c, 200, json_pack("{s:I}", "removed", (json_int_t)hit));
}

static void
image_rollback(struct reqctx *c)
{
	json_t *b = body_json(c);
	json_int_t from;
	uint32_t ver;
	char why[512];
	int rc;

	if (b == NULL)
		return;
	from = json_integer_value(json_object_get(b, "version"));
	json_decref(b);
	if (from < 1 || from > UINT32_MAX) {
		reply_error(c, 400, "version: a version number >= 1 is needed");
		return;
	}
	if ((rc = store_republish(c->p->store, c->m.arg[0], (uint32_t)from,
	             &ver, why, sizeof(why))) != 0) {
		reply_error(c, http_status_of(rc), "%s", why);
		return;
	}
	log_info("%s: rolled %s back to version %lld as version %" PRIu32,
	        c->who, c->m.arg[0], (long long)from, ver);
	catalog_kick(c->p);
	reply_json(c, 200,
	        json_pack("{s:s,s:i,s:I}", "name", c->m.arg[0], "version",
	                (int)ver, "from", from));
}

static void
openapi(struct reqctx *c)
{
	reply_bytes(c->req, "application/json", bl_openapi_json,
	        bl_openapi_json_len);
}

void
api_images(struct reqctx *c)
{
	switch (c->m.id) {
	case R_OPENAPI:
		openapi(c);
		break;
	case R_IMAGES:
		images_list(c, NULL);
		break;
	case R_IMAGE_VERSIONS:
		images_list(c, c->m.arg[0]);
		break;
	case R_IMAGE:
		if (c->m.method == RM_DELETE)
			image_delete(c);
		else
			image_show(c);
		break;
	case R_IMAGE_DIFF:
		image_diff(c);
		break;
	case R_IMAGE_ROLLBACK:
		image_rollback(c);
		break;
	default:
		reply_error(c, 500, "misrouted");
	}
}

/*
 * status.c - the latest heartbeat of each node: kept in memory for the
 * catalogs and the status API, and in STATE/status/ID.json so that a
 * restarted primary still knows what each node held.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "error.h"
#include "fsutil.h"
#include "log.h"
#include "primary.h"

struct node_status *
status_get(struct primary *p, const char *id)
{
	size_t i;

	for (i = 0; i < p->nstatus; i++)
		if (strcmp(p->status[i].id, id) == 0)
			return &p->status[i];
	return NULL;
}

int
status_healthy(const struct primary *p, const struct node_status *s,
        time_t now)
{
	return s->seen != 0 && now - s->seen <= 3 * (time_t)p->conf.heartbeat;
}

static struct node_status *
status_slot(struct primary *p, const char *id)
{
	struct node_status *s = status_get(p, id), *ns;

	if (s != NULL)
		return s;
	if ((ns = realloc(p->status, (p->nstatus + 1) * sizeof(*ns))) == NULL)
		return NULL;
	p->status = ns;
	s = &p->status[p->nstatus++];
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	return s;
}

/* Does the catalog show a difference between reports a and b? */
static int
catalog_visible(json_t *a, json_t *b)
{
	json_t *ba = json_object_get(a, "boot"), *bb = json_object_get(b, "boot");

	return a == NULL ||
	        !json_equal(
	                json_object_get(a, "url"), json_object_get(b, "url")) ||
	        !json_equal(json_object_get(a, "images"),
	                json_object_get(b, "images")) ||
	        !json_equal(json_object_get(ba, "url"),
	                json_object_get(bb, "url")) ||
	        json_is_true(json_object_get(ba, "busy")) !=
	                json_is_true(json_object_get(bb, "busy"));
}

/* Store report (a reference is taken) as id's latest heartbeat. */
int
status_put(struct primary *p, const char *id, json_t *report)
{
	struct node_status *s = status_slot(p, id);
	char path[1200], *txt;
	int rc, changed;

	if (s == NULL)
		return -ENOMEM;
	changed = !status_healthy(p, s, time(NULL)) ||
	        catalog_visible(s->report, report);
	json_decref(s->report);
	s->report = json_incref(report);
	s->seen = time(NULL);
	json_object_set_new(report, "seen", json_integer((json_int_t)s->seen));
	snprintf(path, sizeof(path), "%s/status/%s.json", p->state, id);
	if ((txt = json_dumps(report, JSON_SORT_KEYS | JSON_COMPACT)) == NULL)
		return -ENOMEM;
	rc = fs_write_atomic(path, txt, strlen(txt), 0644);
	free(txt);
	if (rc != 0)
		log_warnx("%s: %s", path, bl_strerror(rc));
	/* Most heartbeats change nothing a catalog shows: rebuild the held
	 * catalogs only when health or what the node holds changed. */
	if (changed)
		catalog_kick(p);
	return 0;
}

int
status_load(struct primary *p)
{
	char dir[1100], path[1400];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/status", p->state);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? fs_mkdirs(dir, 0755) : -errno;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct node_status *s;
		char id[64];
		json_t *o;

		if (n < 6 || n - 5 >= sizeof(id) ||
		        strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		memcpy(id, de->d_name, n - 5);
		id[n - 5] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((o = json_load_file(path, 0, NULL)) == NULL)
			continue;
		if ((s = status_slot(p, id)) != NULL) {
			s->report = o;
			s->seen = (time_t)json_integer_value(
			        json_object_get(o, "seen"));
		} else
			json_decref(o);
	}
	closedir(d);
	return 0;
}

void
status_cleanup(struct primary *p)
{
	size_t i;

	for (i = 0; i < p->nstatus; i++)
		json_decref(p->status[i].report);
	free(p->status);
	p->status = NULL;
	p->nstatus = 0;
}

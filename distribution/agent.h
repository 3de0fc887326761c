/*
 * agent.h - the replication agent's state, shared by agent.c (catalog,
 * plan, windows, publishing, status, gc) and fetch.c (the transfers).
 * Everything here belongs to the agent thread.
 */
#ifndef BL_AGENT_H
#define BL_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "dist.h"
#include "frame.h"
#include "manifest.h"
#include "schedule.h"
#include "store.h"

#define AGENT_BATCH_IDS    1024        /* ids per batch request */
#define AGENT_BATCH_BYTES  (4u << 20)  /* content bytes per batch request */
#define AGENT_FLUSH_BYTES  (4u << 20)  /* verified bytes held before ingest */
#define AGENT_FLUSH_MS     500         /* ... or this long */
#define AGENT_MAX_FAILS    3           /* bad copies of one chunk */
#define AGENT_WAIT         25          /* catalog long-poll, seconds */
#define AGENT_URL_MAX      512
#define AGENT_CONNS_MAX    16          /* conf.connections' bound */

struct xfer;

enum img_state {
	IMG_PENDING,     /* no manifest yet, or waiting for a window/source */
	IMG_DOWNLOADING, /* manifest verified, chunks missing */
	IMG_COMPLETED,   /* published in the store */
	IMG_FAILED,      /* gave up until the catalog changes; see reason */
};

enum { CH_MISSING, CH_INFLIGHT, CH_HAVE };

struct img {
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t version;
	uint8_t mid[32];
	char midhex[65];
	uint64_t size; /* from the catalog: sum of file sizes */
	enum img_state state;
	char reason[300];
	char src[AGENT_URL_MAX]; /* where it comes from; "" = waiting */
	int from_parent;
	/* Once the manifest is in: */
	uint8_t *raw;
	size_t rawlen;
	uint8_t (*ids)[32]; /* distinct chunk ids, sorted */
	uint32_t *lens;     /* their content lengths */
	uint8_t *st;        /* CH_* */
	uint8_t *fails;     /* bad copies seen */
	size_t n, have, cursor;
	uint64_t total, done; /* content bytes of distinct chunks */
	int manifest_busy;
	time_t manifest_next; /* retry time after a failed manifest fetch */
	time_t started;
};

struct agent {
	struct dist *d;
	struct store *s;
	CURLM *multi;
	/* catalog */
	uint64_t gen;
	char etag[64];
	int cat_busy;
	time_t cat_next;
	int cat_fails;
	char parent[64];
	json_t *nodes;
	struct sched_window *win;
	size_t nwin;
	char tz[64];
	uint64_t trickle_bps;
	int64_t repnow_until;
	int heartbeat;
	int have_catalog;
	/* images, in catalog order */
	struct img *imgs;
	size_t nimgs;
	/* transfers */
	int nbatches;
	struct xfer *bx[AGENT_CONNS_MAX]; /* batch streams running */
	struct xfer *xall;                /* every transfer running */
	int closing;        /* window closed: stop batches at a chunk boundary */
	time_t hold_until;  /* 429 or failure back-off */
	char hold_why[700];
	char bad_src[AGENT_URL_MAX];
	time_t bad_until;
	int src_fails;
	/* bandwidth */
	int64_t rate;       /* bytes/s now: >0 capped, 0 unlimited, <0 closed */
	double tokens;
	double burst;
	uint64_t last_refill_ms;
	int paused;
	char window_why[200];
	/* received, for rate and ETA */
	uint64_t rx_total;
	uint64_t rx_hist[8]; /* bytes per second, ring */
	uint64_t rx_sec;
	/* ingest */
	struct store_incoming *pend; /* verified, waiting for the next
	                                ingest; each data is malloc'd */
	size_t npend, pendcap;
	uint64_t pend_bytes, pend_since_ms;
	time_t disk_until;
	char disk_why[400];
	/* status */
	int dirty;
	time_t hb_next, hb_due;
	int hb_busy;
	int boot_busy; /* the boot server's busy flag last reported */
	json_t *unassigned; /* "name@ver" -> since */
	time_t gc_next;
};

uint64_t agent_now_ms(void);
void agent_set_reason(struct img *im, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void agent_mark(struct agent *a, const uint8_t id[32], int st);
/* One more bad copy of chunk id from src: the third fails its images. */
void agent_chunk_bad(struct agent *a, const uint8_t id[32], const char *src,
        const char *why);
void agent_image_failed(struct agent *a, struct img *im, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void agent_source_failed(struct agent *a, const char *src);
void agent_catalog_done(struct agent *a, long status, const char *body,
        size_t len, const char *etag, const char *sig);
void agent_manifest_done(
        struct agent *a, struct img *im, const uint8_t *raw, size_t len);
struct img *agent_find(struct agent *a, const char *name, uint32_t version);

/* fetch.c */
CURL *fetch_easy(struct agent *a, const char *url);
int fetch_catalog(struct agent *a);
/* Make STATE/status.reserve if it is missing (see agent.c). */
void agent_reserve(struct agent *a);
int fetch_manifest(struct agent *a, struct img *im);
int fetch_status(struct agent *a, char *body);
int fetch_batch(struct agent *a);
void fetch_run(struct agent *a, int timeout_ms);
void fetch_flush(struct agent *a);
void fetch_cleanup(struct agent *a);

#endif /* BL_AGENT_H */

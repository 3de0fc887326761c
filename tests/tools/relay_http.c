/*
 * relay_http.c - HTTP/1.1 framing of a relayed stream for --corrupt:
 * requests remembered, responses delimited, one byte flipped where asked.
 */
#include "relay.h"

/* ---- HTTP/1.1 framing (--corrupt) ---------------------------------- */

void
req_free(struct req *q)
{
	free(q->path);
	free(q);
}

/* Forget the message just parsed; expect the next start line. */
static void
hp_reset(struct hparse *hp)
{
	free(hp->path);
	hp->path = NULL;
	hp->state = HS_START;
	hp->status = 0;
	hp->te = hp->chunked = hp->has_cl = 0;
	hp->cl = hp->left = hp->pos = 0;
	hp->scan = SCAN_NONE;
	hp->fhave = 0;
	hp->fleft = 0;
}

void
hp_free(struct hparse *hp)
{
	if (hp == NULL)
		return;
	free(hp->path);
	free(hp);
}

/*
 * Move one line, through its LF, from in to out, and copy it without
 * the line ending, NUL-terminated, into buf (LINE_MAX_LEN + 1 bytes).
 * Returns 1 with *lenp set, 0 when in holds no whole line yet, -1 when
 * the line is longer than LINE_MAX_LEN.  A bare LF ends a line too
 * (leniency allowed by RFC 9112 section 2.2).
 */
static int
take_line(struct evbuffer *in, struct evbuffer *out, char *buf,
    size_t *lenp)
{
	struct evbuffer_ptr p;
	size_t eol = 0;

	p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
	if (p.pos < 0)
		return evbuffer_get_length(in) > LINE_MAX_LEN ? -1 : 0;
	if ((size_t)p.pos > LINE_MAX_LEN)
		return -1;
	evbuffer_copyout(in, buf, p.pos);
	buf[p.pos] = '\0';
	evbuffer_remove_buffer(in, out, p.pos + eol);
	*lenp = p.pos;
	return 1;
}

static int
parse_cl(const char *s, uint64_t *np)
{
	uint64_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || n > BODY_MAX / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > BODY_MAX)
			return -1;
	}
	*np = n;
	return 0;
}

/*
 * "METHOD SP target SP HTTP/1.x": remember method and target for the
 * response.
 */
static int
hp_request_line(struct conn *c, const char *line, const char **why)
{
	const char *sp1, *sp2;
	struct req *q;
	size_t mlen;

	*why = "bad request line";
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return -1;
	mlen = (size_t)(sp1 - line);
	if (mlen == 0 || mlen >= sizeof(q->method) || sp2 == sp1 + 1 ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return -1;
	if (c->nreqs >= REQS_MAX) {
		*why = "too many requests awaiting responses";
		return -1;
	}
	*why = "out of memory";
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	if ((q->path = strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1))) == NULL) {
		free(q);
		return -1;
	}
	memcpy(q->method, line, mlen);
	TAILQ_INSERT_TAIL(&c->reqs, q, entry);
	c->nreqs++;
	return 0;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]". */
static int
hp_status_line(struct hparse *hp, const char *line, const char **why)
{
	int i;

	*why = "bad status line";
	if (strncmp(line, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)line[7]) || line[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++)
		if (!isdigit((unsigned char)line[i]))
			return -1;
	if (line[12] != ' ' && line[12] != '\0')
		return -1;
	hp->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	return hp->status < 100 ? -1 : 0;
}

/* "name: value"; only Content-Length and Transfer-Encoding matter. */
static int
hp_header(struct hparse *hp, char *line, size_t len, const char **why)
{
	char *colon, *v, *end, *last;
	uint64_t n;

	*why = "bad header line";
	if (line[0] == ' ' || line[0] == '\t') {
		*why = "obsolete header line folding";
		return -1;
	}
	if ((colon = strchr(line, ':')) == NULL || colon == line)
		return -1;
	*colon = '\0';
	if (strpbrk(line, " \t") != NULL)
		return -1;
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = line + len; end > v &&
	    (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'); end--)
		;
	*end = '\0';

	if (strcasecmp(line, "content-length") == 0) {
		if (parse_cl(v, &n) == -1) {
			*why = "bad Content-Length";
			return -1;
		}
		if (hp->has_cl && hp->cl != n) {
			*why = "conflicting Content-Length";
			return -1;
		}
		hp->has_cl = 1;
		hp->cl = n;
	} else if (strcasecmp(line, "transfer-encoding") == 0) {
		/* The last coding decides whether the body is chunked. */
		last = strrchr(v, ',');
		for (last = last != NULL ? last + 1 : v;
		    *last == ' ' || *last == '\t'; last++)
			;
		hp->te = 1;
		hp->chunked = strcasecmp(last, "chunked") == 0;
	}
	return 0;
}

/* "1*HEXDIG [BWS] [; ext]". */
static int
hp_chunk_size(struct hparse *hp, const char *line, const char **why)
{
	uint64_t n = 0;
	size_t i;
	int d;

	*why = "bad chunk size";
	for (i = 0; isxdigit((unsigned char)line[i]); i++) {
		if (i >= 15)
			return -1;
		d = isdigit((unsigned char)line[i]) ? line[i] - '0' :
		    tolower((unsigned char)line[i]) - 'a' + 10;
		n = n * 16 + (uint64_t)d;
	}
	if (i == 0 || (line[i] != '\0' && line[i] != ';' &&
	    line[i] != ' ' && line[i] != '\t'))
		return -1;
	if (n == 0)
		hp->state = HS_TRAILERS;
	else {
		hp->state = HS_CHUNK_DATA;
		hp->left = n;
	}
	return 0;
}

/* Flip the middle byte of a Content-Length body. */
static void
hp_arm_middle(struct hparse *hp, enum what what)
{
	if (hp->state != HS_BODY || hp->cl == 0)
		return;
	hp->scan = SCAN_FLIP;
	hp->what = what;
	hp->flip_at = hp->cl / 2;
}

/*
 * A response with a body to request q begins: decide whether a byte of
 * it is to be flipped.
 */
static void
hp_arm(struct conn *c, struct hparse *hp, struct req *q)
{
	struct relay *r = c->r;
	const char *p = q->path;

	if (r->corrupt_left == 0 || hp->status != 200)
		return;
	if (r->corrupt == CORRUPT_MANIFEST) {
		if (strcmp(q->method, "GET") == 0 &&
		    strncmp(p, "/v1/manifests/", 14) == 0)
			hp_arm_middle(hp, WHAT_MANIFEST);
	} else if (r->corrupt == CORRUPT_CHUNK) {
		if (strcmp(q->method, "POST") == 0 &&
		    strncmp(p, "/v1/chunks/batch", 16) == 0 &&
		    (p[16] == '\0' || p[16] == '?')) {
			hp->scan = SCAN_FRAMES;
			hp->what = WHAT_BATCH;
		} else if (strcmp(q->method, "GET") == 0 &&
		    strncmp(p, "/v1/chunks/", 11) == 0)
			hp_arm_middle(hp, WHAT_CHUNK);
	}
	if (hp->scan != SCAN_NONE) {
		hp->path = q->path;
		q->path = NULL;
	}
}

/* The empty line after the headers: how is the body framed? */
static int
hp_headers_done(struct conn *c, struct hparse *hp, const char **why)
{
	struct req *q;

	if (!hp->response) {
		if (hp->te && !hp->chunked) {
			*why = "request with unsupported Transfer-Encoding";
			return -1;
		}
		if (hp->chunked)
			hp->state = HS_CHUNK_SIZE;
		else if (hp->has_cl && hp->cl > 0) {
			hp->state = HS_BODY;
			hp->left = hp->cl;
		} else
			hp_reset(hp);
		return 0;
	}

	/* Interim responses: the final one to the same request follows. */
	if (hp->status < 200 && hp->status != 101) {
		hp_reset(hp);
		return 0;
	}
	if ((q = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, q, entry);
		c->nreqs--;
	}
	if (hp->status == 101)
		hp->state = HS_RAW;
	else if ((q != NULL && strcmp(q->method, "HEAD") == 0) ||
	    hp->status == 204 || hp->status == 304)
		hp_reset(hp);
	else if (hp->chunked)
		hp->state = HS_CHUNK_SIZE;
	else if (hp->te)
		hp->state = HS_RAW;	/* other codings: until close */
	else if (hp->has_cl) {
		if (hp->cl > 0) {
			hp->state = HS_BODY;
			hp->left = hp->cl;
		} else
			hp_reset(hp);
	} else
		hp->state = HS_RAW;	/* no length: until close */
	if (q != NULL) {
		if (hp->state != HS_START)
			hp_arm(c, hp, q);
		req_free(q);
	}
	return 0;
}

/* One complete line in a line state. */
static int
hp_line(struct conn *c, struct hparse *hp, char *line, size_t len,
    const char **why)
{
	if (memchr(line, '\0', len) != NULL) {
		*why = "NUL in a line";
		return -1;
	}
	switch (hp->state) {
	case HS_START:
		/* Empty lines before a start line are ignored (RFC 9112 2.2). */
		if (len == 0)
			return 0;
		hp_reset(hp);
		hp->state = HS_HEADERS;
		if (hp->response)
			return hp_status_line(hp, line, why);
		return hp_request_line(c, line, why);
	case HS_HEADERS:
		if (len == 0)
			return hp_headers_done(c, hp, why);
		return hp_header(hp, line, len, why);
	case HS_CHUNK_SIZE:
		return hp_chunk_size(hp, line, why);
	case HS_CHUNK_END:
		if (len != 0) {
			*why = "chunk data longer than its size";
			return -1;
		}
		hp->state = HS_CHUNK_SIZE;
		return 0;
	case HS_TRAILERS:
		if (len == 0)
			hp_reset(hp);
		return 0;
	default:
		*why = "parser state";
		return -1;
	}
}

/* Move one body byte, XORed with 0x01 if the budget allows; log it. */
static void
hp_flip(struct conn *c, struct hparse *hp, struct evbuffer *in,
    struct evbuffer *out)
{
	uint8_t b;

	evbuffer_remove(in, &b, 1);
	if (corrupt_take(c->r)) {
		b ^= 0x01;
		switch (hp->what) {
		case WHAT_MANIFEST:
			logx("corrupted manifest response for %s", hp->path);
			break;
		case WHAT_CHUNK:
			logx("corrupted chunk response for %s", hp->path);
			break;
		case WHAT_BATCH:
			logx("corrupted chunk %s in batch response", hp->id);
			break;
		}
	}
	evbuffer_add(out, &b, 1);
	hp->scan = SCAN_NONE;
}

/* A batch frame header is complete: is this the frame to flip? */
static void
hp_frame(struct hparse *hp)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *h = hp->fhdr;
	uint32_t length;
	int i;

	length = (uint32_t)h[40] << 24 | (uint32_t)h[41] << 16 |
	    (uint32_t)h[42] << 8 | h[43];
	if (h[32] == 0 && length > 0) {
		for (i = 0; i < 32; i++) {
			hp->id[2 * i] = hex[h[i] >> 4];
			hp->id[2 * i + 1] = hex[h[i] & 0xf];
		}
		hp->id[64] = '\0';
		hp->scan = SCAN_FLIP;
		hp->flip_at = hp->pos + length / 2;
		return;
	}
	hp->fleft = length;
	if (length == 0)
		hp->fhave = 0;
}

/* Move n body bytes from in to out, flipping the chosen one. */
static void
hp_body(struct conn *c, struct hparse *hp, struct evbuffer *in,
    struct evbuffer *out, size_t n)
{
	size_t take;

	while (n > 0) {
		switch (hp->scan) {
		case SCAN_NONE:
			evbuffer_remove_buffer(in, out, n);
			hp->pos += n;
			return;
		case SCAN_FLIP:
			if (hp->flip_at - hp->pos >= n) {
				evbuffer_remove_buffer(in, out, n);
				hp->pos += n;
				return;
			}
			take = (size_t)(hp->flip_at - hp->pos);
			evbuffer_remove_buffer(in, out, take);
			hp_flip(c, hp, in, out);
			hp->pos += take + 1;
			n -= take + 1;
			break;
		case SCAN_FRAMES:
			if (hp->fhave < FRAME_HDR_LEN) {
				take = FRAME_HDR_LEN - hp->fhave;
				if (take > n)
					take = n;
				evbuffer_copyout(in, hp->fhdr + hp->fhave, take);
				evbuffer_remove_buffer(in, out, take);
				hp->fhave += take;
				hp->pos += take;
				n -= take;
				if (hp->fhave == FRAME_HDR_LEN)
					hp_frame(hp);
				break;
			}
			take = hp->fleft < n ? (size_t)hp->fleft : n;
			evbuffer_remove_buffer(in, out, take);
			hp->fleft -= take;
			hp->pos += take;
			n -= take;
			if (hp->fleft == 0)
				hp->fhave = 0;
			break;
		}
	}
}

/*
 * Pass what in holds to out, following the HTTP framing.  Bytes of an
 * incomplete line stay in in.  Returns 0, or -1 with *why set when the
 * framing is malformed.
 */
int
hp_feed(struct conn *c, struct hparse *hp, struct evbuffer *in,
    struct evbuffer *out, const char **why)
{
	char line[LINE_MAX_LEN + 1];
	size_t avail, len, n;
	int rv;

	while ((avail = evbuffer_get_length(in)) > 0) {
		switch (hp->state) {
		case HS_BODY:
		case HS_CHUNK_DATA:
			n = hp->left < avail ? (size_t)hp->left : avail;
			hp_body(c, hp, in, out, n);
			hp->left -= n;
			if (hp->left > 0)
				break;
			if (hp->state == HS_BODY)
				hp_reset(hp);
			else
				hp->state = HS_CHUNK_END;
			break;
		case HS_RAW:
			hp_body(c, hp, in, out, avail);
			break;
		default:
			if ((rv = take_line(in, out, line, &len)) == 0)
				return 0;
			if (rv == -1) {
				*why = "line longer than 16 KiB";
				return -1;
			}
			if (hp_line(c, hp, line, len, why) == -1)
				return -1;
		}
	}
	return 0;
}

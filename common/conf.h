/*
 * conf.h - table-driven "key = value" configuration files.
 *
 * One line per setting; '#' starts a comment; blank lines are ignored.
 * Keys and their types come from a table of struct conf_key, so every
 * value is range-checked on the way in.  Sizes take K/M/G/T suffixes
 * (powers of 1024, an optional "iB" or "B" after them).  A key given twice,
 * an unknown key, a value out of range or a line over CONF_LINE_MAX bytes
 * is an error naming the line.  Used for store.conf and the daemons'
 * configuration files.
 */
#ifndef BL_CONF_H
#define BL_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_TEXT_MAX (64u * 1024) /* bytes per file */
#define CONF_LINE_MAX 1024         /* bytes per line */
#define CONF_KEYS_MAX 64           /* keys per table */

enum conf_type {
	CONF_U64,  /* decimal integer in [min, max] */
	CONF_SIZE, /* integer with optional K/M/G/T suffix, in [min, max] */
	CONF_STR,  /* string of 1..strcap-1 bytes, no control characters */
	CONF_BOOL, /* yes/no, true/false, on/off, 1/0 */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t off;    /* offset of the field in the target struct */
	size_t strcap; /* CONF_STR: size of the char array */
	uint64_t min;  /* CONF_U64/CONF_SIZE bounds */
	uint64_t max;
};

/*
 * Parse text[0..len) into obj per keys[0..nkeys).  Fields not named in the
 * text are left as they are (set defaults first).  Pure: no I/O.  Returns
 * 0, BL_EFORMAT or BL_ETOOBIG with "line N: ..." in why.  U64/SIZE fields
 * are uint64_t, BOOL fields int, STR fields char[strcap].
 */
int conf_parse(const char *text, size_t len, const struct conf_key *keys,
        size_t nkeys, void *obj, char *why, size_t whylen);

/* Read path (at most CONF_TEXT_MAX bytes) and conf_parse it. */
int conf_load(const char *path, const struct conf_key *keys, size_t nkeys,
        void *obj, char *why, size_t whylen);

/* Parse a size such as "64K", "1GiB", "4096".  0 or BL_EFORMAT/ETOOBIG. */
int conf_parse_size(const char *s, uint64_t *out);

#endif /* BL_CONF_H */

/*
 * conf.c - the "key = value" configuration parser.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "error.h"
#include "fsutil.h"

int
conf_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return BL_EFORMAT;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return BL_ETOOBIG;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (toupper((unsigned char)*p)) {
	case 'K':
		mul = 1ull << 10;
		break;
	case 'M':
		mul = 1ull << 20;
		break;
	case 'G':
		mul = 1ull << 30;
		break;
	case 'T':
		mul = 1ull << 40;
		break;
	case '\0':
		break;
	default:
		return BL_EFORMAT;
	}
	if (*p != '\0') {
		p++;
		if (strcmp(p, "iB") == 0 || strcmp(p, "B") == 0 || *p == '\0')
			;
		else
			return BL_EFORMAT;
	}
	if (v != 0 && mul > UINT64_MAX / v)
		return BL_ETOOBIG;
	*out = v * mul;
	return 0;
}

static int
parse_bool(const char *s, int *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return BL_EFORMAT;
}

/* Trim spaces and tabs at both ends of s[0..*len) in place. */
static char *
trim(char *s, size_t *len)
{
	while (*len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	s[*len] = '\0';
	return s;
}

static int
set_value(const struct conf_key *k, const char *val, void *obj,
        unsigned int lineno, char *why, size_t whylen)
{
	char *field = (char *)obj + k->off;
	uint64_t v;
	size_t n;
	int b, rc;

	switch (k->type) {
	case CONF_U64:
	case CONF_SIZE:
		if (k->type == CONF_U64) {
			const char *p;

			for (p = val; *p != '\0'; p++)
				if (!isdigit((unsigned char)*p))
					return bl_why(why, whylen, BL_EFORMAT,
					        "line %u: %s: '%s' is not a "
					        "number",
					        lineno, k->name, val);
		}
		rc = conf_parse_size(val, &v);
		if (rc != 0 || (k->type == CONF_U64 && strlen(val) > 20))
			return bl_why(why, whylen, BL_EFORMAT,
			        "line %u: %s: '%s' is not a %s", lineno,
			        k->name, val,
			        k->type == CONF_U64 ? "number" : "size");
		if (v < k->min || v > k->max)
			return bl_why(why, whylen, BL_ETOOBIG,
			        "line %u: %s: %llu is outside %llu..%llu",
			        lineno, k->name, (unsigned long long)v,
			        (unsigned long long)k->min,
			        (unsigned long long)k->max);
		memcpy(field, &v, sizeof(v));
		return 0;
	case CONF_BOOL:
		if (parse_bool(val, &b) != 0)
			return bl_why(why, whylen, BL_EFORMAT,
			        "line %u: %s: '%s' is not yes or no", lineno,
			        k->name, val);
		memcpy(field, &b, sizeof(b));
		return 0;
	case CONF_STR:
		n = strlen(val);
		if (n == 0 || n >= k->strcap)
			return bl_why(why, whylen, BL_ETOOBIG,
			        "line %u: %s: value must be 1..%zu bytes",
			        lineno, k->name, k->strcap - 1);
		memcpy(field, val, n + 1);
		return 0;
	}
	return bl_why(why, whylen, BL_EFORMAT, "line %u: %s: bad key type",
	        lineno, k->name);
}

int
conf_parse(const char *text, size_t len, const struct conf_key *keys,
        size_t nkeys, void *obj, char *why, size_t whylen)
{
	char line[CONF_LINE_MAX + 1];
	unsigned char seen[CONF_KEYS_MAX] = {0};
	unsigned int lineno = 0;
	size_t pos = 0, i, n, klen, vlen;
	char *key, *val, *eq, *hash;
	int rc;

	if (len > CONF_TEXT_MAX)
		return bl_why(why, whylen, BL_ETOOBIG,
		        "configuration larger than %u bytes", CONF_TEXT_MAX);
	if (nkeys > CONF_KEYS_MAX)
		return bl_why(why, whylen, BL_EUSAGE, "too many keys");
	while (pos < len) {
		lineno++;
		for (n = 0; pos + n < len && text[pos + n] != '\n'; n++)
			;
		if (n > CONF_LINE_MAX)
			return bl_why(why, whylen, BL_ETOOBIG,
			        "line %u: longer than %d bytes", lineno,
			        CONF_LINE_MAX);
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)line[i];

			if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
				return bl_why(why, whylen, BL_EFORMAT,
				        "line %u: control character", lineno);
		}
		if (n > 0 && line[n - 1] == '\r') /* tolerate CRLF files */
			line[--n] = '\0';
		if ((hash = strchr(line, '#')) != NULL) {
			*hash = '\0';
			n = (size_t)(hash - line);
		}
		key = trim(line, &n);
		if (n == 0)
			continue;
		if ((eq = strchr(key, '=')) == NULL)
			return bl_why(why, whylen, BL_EFORMAT,
			        "line %u: expected 'key = value'", lineno);
		*eq = '\0';
		klen = (size_t)(eq - key);
		key = trim(key, &klen);
		vlen = strlen(eq + 1);
		val = trim(eq + 1, &vlen);
		if (klen == 0 || vlen == 0)
			return bl_why(why, whylen, BL_EFORMAT,
			        "line %u: expected 'key = value'", lineno);
		for (i = 0; i < nkeys; i++)
			if (strcmp(keys[i].name, key) == 0)
				break;
		if (i == nkeys)
			return bl_why(why, whylen, BL_EFORMAT,
			        "line %u: unknown key '%.64s'", lineno, key);
		if (seen[i])
			return bl_why(why, whylen, BL_EFORMAT,
			        "line %u: '%s' given twice", lineno, key);
		seen[i] = 1;
		if ((rc = set_value(&keys[i], val, obj, lineno, why, whylen)) !=
		        0)
			return rc;
	}
	return 0;
}

int
conf_load(const char *path, const struct conf_key *keys, size_t nkeys,
        void *obj, char *why, size_t whylen)
{
	uint8_t *buf;
	size_t len;
	int rc;

	rc = fs_read_file(path, CONF_TEXT_MAX, &buf, &len);
	if (rc == BL_ETOOBIG)
		return bl_why(why, whylen, rc, "%s: larger than %u bytes", path,
		        CONF_TEXT_MAX);
	if (rc < 0)
		return bl_why(why, whylen, rc, "%s: %s", path, bl_strerror(rc));
	rc = conf_parse((const char *)buf, len, keys, nkeys, obj, why, whylen);
	free(buf);
	if (rc != 0 && why != NULL && whylen > 0) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: %s", path, why);
		snprintf(why, whylen, "%s", tmp);
	}
	return rc;
}

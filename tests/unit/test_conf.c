/*
 * test_conf.c - the configuration parser: values, bounds, errors.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "conf.h"
#include "error.h"
#include "test_list.h"

struct tconf {
	uint64_t port;
	uint64_t size;
	int flag;
	char name[16];
};

static const struct conf_key keys[] = {
        {"port", CONF_U64, offsetof(struct tconf, port), 0, 1, 65535},
        {"size", CONF_SIZE, offsetof(struct tconf, size), 0, 0, 1ull << 40},
        {"flag", CONF_BOOL, offsetof(struct tconf, flag), 0, 0, 0},
        {"name", CONF_STR, offsetof(struct tconf, name), 16, 0, 0},
};

static int
parse(const char *text, struct tconf *c, char *why, size_t whylen)
{
	memset(c, 0, sizeof(*c));
	c->port = 7;
	return conf_parse(text, strlen(text), keys, 4, c, why, whylen);
}

static void
test_values(void)
{
	struct tconf c;
	char why[256];

	CU_ASSERT_EQUAL(parse("# comment\n\nport = 8443\r\nsize=64K\n"
	                      "  flag = yes   # trailing\nname = a b\n",
	                        &c, why, sizeof(why)),
	        0);
	CU_ASSERT_EQUAL(c.port, 8443);
	CU_ASSERT_EQUAL(c.size, 65536);
	CU_ASSERT_EQUAL(c.flag, 1);
	CU_ASSERT_STRING_EQUAL(c.name, "a b");
	/* Unset keys keep their defaults. */
	CU_ASSERT_EQUAL(parse("flag = off", &c, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(c.port, 7);
	CU_ASSERT_EQUAL(c.flag, 0);
}

static void
test_sizes(void)
{
	uint64_t v;

	CU_ASSERT_EQUAL(conf_parse_size("1GiB", &v), 0);
	CU_ASSERT_EQUAL(v, 1ull << 30);
	CU_ASSERT_EQUAL(conf_parse_size("3m", &v), 0);
	CU_ASSERT_EQUAL(v, 3ull << 20);
	CU_ASSERT_EQUAL(conf_parse_size("12", &v), 0);
	CU_ASSERT_EQUAL(v, 12);
	CU_ASSERT_EQUAL(conf_parse_size("", &v), BL_EFORMAT);
	CU_ASSERT_EQUAL(conf_parse_size("K", &v), BL_EFORMAT);
	CU_ASSERT_EQUAL(conf_parse_size("1X", &v), BL_EFORMAT);
	CU_ASSERT_EQUAL(conf_parse_size("1KiBx", &v), BL_EFORMAT);
	CU_ASSERT_EQUAL(conf_parse_size("-1", &v), BL_EFORMAT);
	CU_ASSERT_EQUAL(
	        conf_parse_size("99999999999999999999", &v), BL_ETOOBIG);
	CU_ASSERT_EQUAL(conf_parse_size("17179869184T", &v), BL_ETOOBIG);
}

static void
test_errors(void)
{
	static const struct {
		const char *text;
		int rc;
		const char *needle;
	} cases[] = {
	        {"port = 0", BL_ETOOBIG, "line 1: port"},
	        {"port = 65536", BL_ETOOBIG, "outside"},
	        {"port = 12ab", BL_EFORMAT, "not a number"},
	        {"port = 1K", BL_EFORMAT, "not a number"},
	        {"\nbogus = 1", BL_EFORMAT, "line 2: unknown key 'bogus'"},
	        {"port = 1\nport = 2", BL_EFORMAT, "given twice"},
	        {"port", BL_EFORMAT, "key = value"},
	        {"port =", BL_EFORMAT, "key = value"},
	        {"= 3", BL_EFORMAT, "key = value"},
	        {"flag = maybe", BL_EFORMAT, "yes or no"},
	        {"name = 0123456789abcdef", BL_ETOOBIG, "1..15 bytes"},
	        {"name = a\001b", BL_EFORMAT, "control character"},
	        {"size = 2T", BL_ETOOBIG, "outside"},
	};
	struct tconf c;
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		CU_ASSERT_EQUAL(parse(cases[i].text, &c, why, sizeof(why)),
		        cases[i].rc);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, cases[i].needle));
	}
}

static void
test_bounds(void)
{
	static char big[CONF_TEXT_MAX + 2];
	static char line[CONF_LINE_MAX + 16];
	struct tconf c;
	char why[256];

	memset(big, '#', sizeof(big) - 1);
	CU_ASSERT_EQUAL(
	        conf_parse(big, sizeof(big) - 1, keys, 4, &c, why, sizeof(why)),
	        BL_ETOOBIG);
	memset(line, ' ', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "port = 1", 8);
	CU_ASSERT_EQUAL(parse(line, &c, why, sizeof(why)), BL_ETOOBIG);
	/* A NUL inside the text is a control character, not an end. */
	CU_ASSERT_EQUAL(
	        conf_parse("port = 1\0x", 10, keys, 4, &c, why, sizeof(why)),
	        BL_EFORMAT);
}

int
test_conf_register(void)
{
	CU_pSuite s = CU_add_suite("conf", NULL, NULL);

	if (s == NULL || !CU_add_test(s, "values", test_values) ||
	        !CU_add_test(s, "sizes", test_sizes) ||
	        !CU_add_test(s, "errors", test_errors) ||
	        !CU_add_test(s, "bounds", test_bounds))
		return -1;
	return 0;
}

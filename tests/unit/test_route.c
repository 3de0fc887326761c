/*
 * test_route.c - the primary's router: routes, typed arguments, 404/405
 * and 400 answers, literal routes before argument routes.
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include "route.h"
#include "test_list.h"

static int
match(int method, const char *path, struct route_match *m)
{
	return route_match(method, path, strlen(path), m);
}

static void
test_routes(void)
{
	struct route_match m;

	CU_ASSERT_EQUAL(match(RM_GET, "/v1/images", &m), 0);
	CU_ASSERT_EQUAL(m.id, R_IMAGES);
	CU_ASSERT_EQUAL(m.auth, RA_TOKEN);
	CU_ASSERT_EQUAL(match(RM_DELETE, "/v1/images/debian-12.5", &m), 0);
	CU_ASSERT_EQUAL(m.id, R_IMAGE);
	CU_ASSERT_STRING_EQUAL(m.arg[0], "debian-12.5");
	CU_ASSERT_EQUAL(match(RM_PUT, "/v1/uploads/0123456789abcdef0123456789abcdef/files/12", &m), 0);
	CU_ASSERT_EQUAL(m.id, R_UPLOAD_FILE);
	CU_ASSERT_EQUAL(m.nargs, 2);
	CU_ASSERT_STRING_EQUAL(m.arg[1], "12");
	CU_ASSERT_EQUAL(match(RM_GET, "/v1/openapi.json", &m), 0);
	CU_ASSERT_EQUAL(m.auth, RA_NONE);
	CU_ASSERT_EQUAL(match(RM_GET, "/v1/status", &m), 0);
	CU_ASSERT_EQUAL(m.id, R_STATUS);
	CU_ASSERT_EQUAL(match(RM_POST, "/v1/status", &m), 0);
	CU_ASSERT_EQUAL(m.id, R_NODE_STATUS);
	CU_ASSERT_EQUAL(m.auth, RA_NODE);
}

static void
test_literal_first(void)
{
	struct route_match m;

	CU_ASSERT_EQUAL(match(RM_POST, "/v1/chunks/batch", &m), 0);
	CU_ASSERT_EQUAL(m.id, R_CHUNK_BATCH);
	CU_ASSERT_EQUAL(match(RM_GET, "/v1/chunks/batch", &m), 405);
}

static void
test_errors(void)
{
	struct route_match m;
	char longp[2048];

	CU_ASSERT_EQUAL(match(RM_GET, "/v1/nothing", &m), 404);
	CU_ASSERT_EQUAL(match(RM_GET, "/v1/images/", &m), 404);
	CU_ASSERT_EQUAL(match(RM_GET, "/v1/images//versions", &m), 404);
	CU_ASSERT_EQUAL(match(RM_GET, "/v1/images/x/versions/", &m), 404);
	CU_ASSERT_EQUAL(match(RM_GET, "", &m), 404);
	CU_ASSERT_EQUAL(match(RM_PUT, "/v1/images", &m), 405);
	CU_ASSERT_EQUAL(match(RM_GET, "/v1/chunks/ABCD", &m), 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(m.why, "ABCD"));
	CU_ASSERT_EQUAL(match(RM_GET, "/v1/images/..", &m), 400);
	CU_ASSERT_EQUAL(match(RM_GET, "/v1/images/a%2fb", &m), 400);
	CU_ASSERT_EQUAL(match(RM_DELETE, "/v1/nodes/Node_1", &m), 400);
	CU_ASSERT_EQUAL(match(RM_PUT, "/v1/uploads/0123456789abcdef0123456789abcdef/files/01", &m), 400);
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "/v1/images/", 11);
	CU_ASSERT_EQUAL(route_match(RM_GET, longp, sizeof(longp), &m), 404);
	/* Never reads past len: a path cut inside a literal. */
	CU_ASSERT_EQUAL(route_match(RM_GET, "/v1/imagesXYZ", 9, &m), 404);
	CU_ASSERT_EQUAL(route_match(RM_GET, "/v1/imagesXYZ", 10, &m), 0);
}

int
test_route_register(void)
{
	CU_pSuite s = CU_add_suite("route", NULL, NULL);

	if (s == NULL || CU_add_test(s, "routes", test_routes) == NULL ||
	        CU_add_test(s, "literal before argument", test_literal_first) ==
	                NULL ||
	        CU_add_test(s, "404, 405, 400", test_errors) == NULL)
		return -1;
	return 0;
}

/*
 * test_main.c - runs every CUnit suite, or only those named on the
 * command line ("bl_unit chunker manifest").  Exit status is the number of
 * failures (capped at 1) so ctest sees them.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "test_list.h"

struct suite_ent {
	const char *name;
	int (*reg)(void);
};

#define BL_ENTRY(name) {#name, test_##name##_register},
static const struct suite_ent suites[] = {BL_TEST_SUITES(BL_ENTRY)};
#undef BL_ENTRY

static int
wanted(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned int failures;
	size_t i;
	int added = 0;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (!wanted(suites[i].name, argc, argv))
			continue;
		if (suites[i].reg() != 0) {
			fprintf(stderr, "cannot register suite %s\n",
			        suites[i].name);
			CU_cleanup_registry();
			return 1;
		}
		added++;
	}
	if (added == 0) {
		fprintf(stderr, "no such suite\n");
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures =
	        CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}

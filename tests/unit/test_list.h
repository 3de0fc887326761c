/*
 * test_list.h - the one registry of unit-test suites (after libuv's
 * test/test-list.h).  Each X(name) has a tests/unit/test_<name>.c that
 * defines "int test_<name>_register(void)" adding one CUnit suite.
 */
#ifndef BL_TEST_LIST_H
#define BL_TEST_LIST_H

#define BL_TEST_SUITES(X)                                                      \
	X(hash)                                                                \
	X(chunker)                                                             \
	X(sign)                                                                \
	X(manifest)                                                            \
	X(conf)                                                                \
	X(index)                                                               \
	X(store)                                                               \
	X(site)                                                                \
	X(pki)                                                                 \
	X(cfgrepo)                                                             \
	X(route)                                                               \
	X(repl)                                                                \
	X(batch)                                                               \
	X(tftp)                                                                \
	X(dhcp)                                                                \
	X(bootplan)                                                            \
	X(referral)                                                            \
	X(referral_view)

#define BL_DECLARE(name) int test_##name##_register(void);
BL_TEST_SUITES(BL_DECLARE)
#undef BL_DECLARE

#endif /* BL_TEST_LIST_H */

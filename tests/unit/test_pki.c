/* placeholder until the pki suite lands */
#include <CUnit/CUnit.h>
#include "test_list.h"
int
test_pki_register(void)
{
	return CU_add_suite("pki", NULL, NULL) == NULL ? -1 : 0;
}

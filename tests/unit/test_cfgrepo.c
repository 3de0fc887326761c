/* placeholder until the cfgrepo suite lands */
#include <CUnit/CUnit.h>
#include "test_list.h"
int
test_cfgrepo_register(void)
{
	return CU_add_suite("cfgrepo", NULL, NULL) == NULL ? -1 : 0;
}

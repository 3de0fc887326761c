/* placeholder until the site suite lands */
#include <CUnit/CUnit.h>
#include "test_list.h"
int
test_site_register(void)
{
	return CU_add_suite("site", NULL, NULL) == NULL ? -1 : 0;
}

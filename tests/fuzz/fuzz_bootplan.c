/*
 * fuzz_bootplan.c - libFuzzer target for what the boot HTTP server and
 * the proxyDHCP read from clients and from the catalog, four readings of
 * one input:
 *
 *  - as a script request's query (bootplan_query): 0 with a mac of hex
 *    pairs and colons and an arch in -1..65535, or BL_EFORMAT; and as a
 *    file request's (bootplan_query_referred): 0 or 1, 1 only when the
 *    query holds "referred=1";
 *  - as a Range header for a file whose size comes from the first bytes
 *    (http_range_parse): a range it returns lies within the file;
 *  - as an If-None-Match header against a fixed tag: no crash, 0 or 1;
 *  - as the catalog's boot array (bootplan_from_json): when it loads,
 *    every client kind and arch gets an answer that fits, and every
 *    script fits BOOTPLAN_SCRIPT_MAX and starts with "#!ipxe".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bootplan.h"
#include "error.h"
#include "httpboot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

static void
plans(const char *s, size_t n)
{
	static const int arches[] = {-1, 0, 6, 7, 9, 11, 15, 16, 19, 20, 999};
	static const uint8_t mac[6] = {1, 2, 3, 4, 5, 6};
	struct bootplan p;
	struct bootplan_client c;
	char out[BOOTPLAN_URL_MAX], why[256], *script;
	json_t *j;
	size_t i, k;

	if ((j = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return;
	if (bootplan_from_json(j, &p, why, sizeof(why)) != 0) {
		json_decref(j);
		return;
	}
	json_decref(j);
	script = malloc(BOOTPLAN_SCRIPT_MAX);
	CHECK(script != NULL);
	for (i = 0; i < sizeof(arches) / sizeof(arches[0]); i++) {
		for (k = 0; k < 8; k++) {
			int how;

			memset(&c, 0, sizeof(c));
			c.arch = arches[i];
			c.is_pxe = k & 1;
			c.is_http = (k >> 1) & 1;
			c.is_ipxe = (k >> 2) & 1;
			c.mac = mac;
			c.maclen = sizeof(mac);
			how = bootplan_dhcp(&p, &c, "http://10.0.0.1:80", out,
			        sizeof(out), why, sizeof(why));
			CHECK(how >= BOOTPLAN_NONE && how <= BOOTPLAN_URL);
			CHECK(strlen(out) < sizeof(out));
			if (how != BOOTPLAN_NONE)
				CHECK(out[0] != '\0');
		}
		int rc = bootplan_script(&p, arches[i], "01:02", "http://h:1",
		        script, BOOTPLAN_SCRIPT_MAX);
		CHECK(rc == 0 || rc == BL_ENOTFOUND);
		CHECK(strncmp(script, "#!ipxe\n", 7) == 0);
	}
	free(script);
	bootplan_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, mac[BOOTPLAN_MAC_MAX], why[256];
	uint64_t fsize = 0, first, last;
	size_t i;
	int arch, r;

	if (size > 1 << 16)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (bootplan_query(s, &arch, mac, why, sizeof(why)) == 0) {
		CHECK(arch >= -1 && arch <= 65535);
		CHECK(strlen(mac) < BOOTPLAN_MAC_MAX);
		for (i = 0; mac[i] != '\0'; i++)
			CHECK((mac[i] >= '0' && mac[i] <= '9') ||
			        (mac[i] >= 'a' && mac[i] <= 'f') || mac[i] == ':');
	}

	r = bootplan_query_referred(s);
	CHECK(r == 0 || (r == 1 && strstr(s, "referred=1") != NULL));

	for (i = 0; i < 8 && i < size; i++)
		fsize = fsize << 8 | data[i];
	r = http_range_parse(s, fsize, &first, &last);
	CHECK(r == HTTP_RANGE_NONE || r == HTTP_RANGE_OK ||
	        r == HTTP_RANGE_UNSAT);
	if (r == HTTP_RANGE_OK)
		CHECK(first <= last && last < fsize);
	r = http_range_parse(s, 1000, &first, &last);
	if (r == HTTP_RANGE_OK)
		CHECK(first <= last && last < 1000);

	r = http_etag_match(s, "\"abc\"");
	CHECK(r == 0 || r == 1);

	plans(s, size);
	free(s);
	return 0;
}

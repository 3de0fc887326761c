/*
 * test_bootplan.c - the "bootplan" suite: boot entries read from the
 * catalog's JSON, what each kind of client is told in a proxyDHCP answer
 * (PXE ROM, iPXE, UEFI HTTP boot, unknown), iPXE scripts for every entry
 * kind, script request queries, URL encoding, and the HTTP Range and
 * If-None-Match readers of the boot HTTP server.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "bootplan.h"
#include "error.h"
#include "httpboot.h"
#include "test_list.h"

#define BASE "http://10.0.0.2:80"

static const char site_boot[] =
        "[{\"name\": \"linux\", \"arch\": \"any\", \"kind\": \"kernel\","
        "  \"image\": \"netboot\", \"kernel\": \"boot/vmlinuz\","
        "  \"initrd\": \"boot/initrd.gz\", \"args\": \"console=ttyS0 quiet\","
        "  \"default\": true},"
        " {\"name\": \"bios-ipxe\", \"arch\": \"bios\", \"kind\": \"program\","
        "  \"image\": \"ipxe@2\", \"program\": \"undionly.kpxe\","
        "  \"default\": false},"
        " {\"name\": \"efi-ipxe\", \"arch\": \"efi-x64\", \"kind\": "
        "\"program\","
        "  \"image\": \"ipxe\", \"program\": \"ipxe.efi\", \"default\": false},"
        " {\"name\": \"rescue\", \"arch\": \"efi-arm64\", \"kind\": \"iso\","
        "  \"image\": \"rescue\", \"iso\": \"my rescue.iso\","
        "  \"default\": true}]";

static void
load(const char *js, struct bootplan *p)
{
	json_error_t jerr;
	json_t *j = json_loads(js, 0, &jerr);
	char why[200];

	CU_ASSERT_FATAL(j != NULL);
	CU_ASSERT_EQUAL_FATAL(bootplan_from_json(j, p, why, sizeof(why)), 0);
	json_decref(j);
}

static void
test_from_json(void)
{
	static const struct {
		const char *js, *want;
	} bad[] = {
	        {"{}", "not an array"},
	        {"[1]", "boot[0]: not an object"},
	        {"[{\"name\":\"a\",\"arch\":\"x86\",\"kind\":\"kernel\","
	         "\"image\":\"i\",\"kernel\":\"k\"}]",
	                "boot[0].arch"},
	        {"[{\"name\":\"a\",\"arch\":\"bios\",\"kind\":\"kernel\","
	         "\"image\":\"i\",\"program\":\"k\"}]",
	                "boot[0].kernel"},
	        {"[{\"name\":\"a\",\"arch\":\"bios\",\"kind\":\"kernel\","
	         "\"image\":\"i@0\",\"kernel\":\"k\"}]",
	                "boot[0].image"},
	        {"[{\"name\":\"a\",\"arch\":\"bios\",\"kind\":\"kernel\","
	         "\"image\":\"i\",\"kernel\":\"../k\"}]",
	                "boot[0].kernel"},
	        {"[{\"name\":\"a\",\"arch\":\"bios\",\"kind\":\"program\","
	         "\"image\":\"i\",\"program\":\"p\",\"initrd\":\"x\"}]",
	                "boot[0].initrd"},
	        {"[{\"name\":\"a\",\"arch\":\"bios\",\"kind\":\"kernel\","
	         "\"image\":\"i\",\"kernel\":\"k\",\"args\":\"a\\nshell\"}]",
	                "boot[0].args"},
	};
	struct bootplan p;
	char why[200];
	size_t i;

	load(site_boot, &p);
	CU_ASSERT_EQUAL(p.n, 4);
	CU_ASSERT_STRING_EQUAL(p.e[0].file, "netboot/boot/vmlinuz");
	CU_ASSERT_STRING_EQUAL(p.e[0].initrd, "netboot/boot/initrd.gz");
	CU_ASSERT_STRING_EQUAL(p.e[0].args, "console=ttyS0 quiet");
	CU_ASSERT_STRING_EQUAL(p.e[1].file, "ipxe@2/undionly.kpxe");
	CU_ASSERT_EQUAL(p.e[1].arch, SITE_ARCH_BIOS);
	CU_ASSERT_EQUAL(p.e[3].kind, SITE_BOOT_ISO);
	bootplan_free(&p);
	CU_ASSERT_EQUAL(p.n, 0);
	CU_ASSERT_EQUAL(bootplan_from_json(NULL, &p, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(p.n, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i].js, 0, NULL);

		CU_ASSERT_FATAL(j != NULL);
		why[0] = '\0';
		CU_ASSERT_EQUAL(bootplan_from_json(j, &p, why, sizeof(why)),
		        BL_EFORMAT);
		if (strstr(why, bad[i].want) == NULL)
			fprintf(stderr, "case %zu: '%s'\n", i, why);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].want));
		json_decref(j);
	}
}

static void
test_dhcp_answers(void)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
	static const struct {
		int arch, is_pxe, is_http, is_ipxe;
		int how;
		const char *out;
	} cases[] = {
	        /* PXE ROMs: their program, over TFTP */
	        {0, 1, 0, 0, BOOTPLAN_TFTP, "ipxe@2/undionly.kpxe"},
	        {7, 1, 0, 0, BOOTPLAN_TFTP, "ipxe/ipxe.efi"},
	        {9, 1, 0, 0, BOOTPLAN_TFTP, "ipxe/ipxe.efi"},
	        {6, 1, 0, 0, BOOTPLAN_NONE, ""}, /* no ia32 program */
	        {11, 1, 0, 0, BOOTPLAN_NONE, ""}, /* an ISO is no NBP */
	        {-1, 1, 0, 0, BOOTPLAN_NONE, ""},
	        /* iPXE: the script, whatever programs there are */
	        {0, 1, 0, 1, BOOTPLAN_URL,
	                BASE "/boot.ipxe?mac=52:54:00:ab:cd:ef&arch=0"},
	        {7, 1, 0, 1, BOOTPLAN_URL,
	                BASE "/boot.ipxe?mac=52:54:00:ab:cd:ef&arch=7"},
	        {-1, 0, 0, 1, BOOTPLAN_URL,
	                BASE "/boot.ipxe?mac=52:54:00:ab:cd:ef"},
	        /* UEFI HTTP boot: a URL; x64 takes the x64 UEFI program,
	         * arm64 the ISO */
	        {16, 0, 1, 0, BOOTPLAN_URL, BASE "/boot/ipxe/ipxe.efi"},
	        {19, 0, 1, 0, BOOTPLAN_URL,
	                BASE "/boot/rescue/my%20rescue.iso"},
	        {15, 0, 1, 0, BOOTPLAN_NONE, ""},
	};
	struct bootplan p;
	struct bootplan_client c;
	char out[BOOTPLAN_URL_MAX], why[200];
	size_t i;

	load(site_boot, &p);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int how;

		memset(&c, 0, sizeof(c));
		c.arch = cases[i].arch;
		c.is_pxe = cases[i].is_pxe;
		c.is_http = cases[i].is_http;
		c.is_ipxe = cases[i].is_ipxe;
		c.mac = mac;
		c.maclen = sizeof(mac);
		why[0] = '\0';
		how = bootplan_dhcp(&p, &c, BASE, out, sizeof(out), why,
		        sizeof(why));
		if (how != cases[i].how || strcmp(out, cases[i].out) != 0)
			fprintf(stderr, "case %zu: %d '%s' (%s)\n", i, how, out,
			        why);
		CU_ASSERT_EQUAL(how, cases[i].how);
		CU_ASSERT_STRING_EQUAL(out, cases[i].out);
		if (how == BOOTPLAN_NONE)
			CU_ASSERT(why[0] != '\0');
	}
	/* The message names what would help. */
	memset(&c, 0, sizeof(c));
	c.arch = 6;
	c.is_pxe = 1;
	bootplan_dhcp(&p, &c, BASE, out, sizeof(out), why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ipxe.efi"));
	/* A URL that does not fit is no answer, not a cut one. */
	c.arch = 16;
	c.is_http = 1;
	CU_ASSERT_EQUAL(bootplan_dhcp(&p, &c, BASE, out, 20, why, sizeof(why)),
	        BOOTPLAN_NONE);
	bootplan_free(&p);

	/* iPXE with no default entry for it: nothing (another server may
	 * know better). */
	load("[{\"name\":\"x\",\"arch\":\"efi-x64\",\"kind\":\"kernel\","
	     "\"image\":\"i\",\"kernel\":\"k\",\"default\":true}]",
	        &p);
	memset(&c, 0, sizeof(c));
	c.arch = 0;
	c.is_ipxe = 1;
	CU_ASSERT_EQUAL(bootplan_dhcp(&p, &c, BASE, out, sizeof(out), why,
	                        sizeof(why)),
	        BOOTPLAN_NONE);
	c.arch = 7;
	CU_ASSERT_EQUAL(bootplan_dhcp(&p, &c, BASE, out, sizeof(out), why,
	                        sizeof(why)),
	        BOOTPLAN_URL);
	bootplan_free(&p);
}

static void
test_scripts(void)
{
	struct bootplan p;
	char s[BOOTPLAN_SCRIPT_MAX];

	load(site_boot, &p);
	/* BIOS: no BIOS default, so the "any" one. */
	CU_ASSERT_EQUAL(bootplan_script(&p, 0, "52:54:00:ab:cd:ef", BASE, s,
	                        sizeof(s)),
	        0);
	CU_ASSERT_STRING_EQUAL(s,
	        "#!ipxe\n"
	        "echo Branchline: booting 'linux' (mac 52:54:00:ab:cd:ef, "
	        "arch 0)\n"
	        "kernel " BASE "/boot/netboot/boot/vmlinuz initrd=initrd.gz "
	        "console=ttyS0 quiet\n"
	        "initrd " BASE "/boot/netboot/boot/initrd.gz\n"
	        "boot\n");
	/* arm64 UEFI: its own default, an ISO, with the space encoded. */
	CU_ASSERT_EQUAL(bootplan_script(&p, 11, NULL, BASE, s, sizeof(s)), 0);
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(s, "\nsanboot " BASE "/boot/rescue/my%20rescue.iso\n"));
	/* Too small a buffer. */
	CU_ASSERT_EQUAL(bootplan_script(&p, 0, "", BASE, s, 40), BL_ETOOBIG);
	bootplan_free(&p);

	load("[{\"name\":\"p\",\"arch\":\"efi-x64\",\"kind\":\"program\","
	     "\"image\":\"i@3\",\"program\":\"a/b.efi\",\"default\":true},"
	     "{\"name\":\"k\",\"arch\":\"bios\",\"kind\":\"kernel\","
	     "\"image\":\"i\",\"kernel\":\"vmlinuz\",\"default\":true}]",
	        &p);
	CU_ASSERT_EQUAL(bootplan_script(&p, 7, "", BASE, s, sizeof(s)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nchain " BASE "/boot/i@3/a/b.efi\n"));
	CU_ASSERT_EQUAL(bootplan_script(&p, 0, "", BASE, s, sizeof(s)), 0);
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(s, "\nkernel " BASE "/boot/i/vmlinuz\nboot\n"));
	/* Nobody's default for arm64, and no "any": exit to the next
	 * device. */
	CU_ASSERT_EQUAL(bootplan_script(&p, 11, "", BASE, s, sizeof(s)),
	        BL_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nexit 1\n"));
	bootplan_free(&p);
}

/* Several servers: each step falls through to the next; none: only the
 * message.  And which entry a DHCP answer is about. */
static void
test_script_fallbacks(void)
{
	static const char *const bases[] = {"http://10.0.0.2:80",
	        "http://10.0.0.9:8080", "http://hq:80", "http://x:1",
	        "http://never:2"};
	struct bootplan p;
	struct bootplan_client c;
	const struct bootplan_entry *e;
	char s[BOOTPLAN_SCRIPT_MAX];

	load(site_boot, &p);
	CU_ASSERT_EQUAL(bootplan_script_multi(&p, 0, "aa:bb", bases, 2, s,
	                        sizeof(s)),
	        0);
	CU_ASSERT_STRING_EQUAL(s,
	        "#!ipxe\n"
	        "echo Branchline: booting 'linux' (mac aa:bb, arch 0)\n"
	        "kernel http://10.0.0.2:80/boot/netboot/boot/vmlinuz "
	        "initrd=initrd.gz console=ttyS0 quiet || goto bl1\n"
	        "initrd http://10.0.0.2:80/boot/netboot/boot/initrd.gz || goto "
	        "bl1\n"
	        "boot || goto bl1\n"
	        ":bl1\n"
	        "echo Branchline: trying http://10.0.0.9:8080\n"
	        "kernel http://10.0.0.9:8080/boot/netboot/boot/vmlinuz "
	        "initrd=initrd.gz console=ttyS0 quiet || goto bl2\n"
	        "initrd http://10.0.0.9:8080/boot/netboot/boot/initrd.gz || "
	        "goto bl2\n"
	        "boot || goto bl2\n"
	        ":bl2\n"
	        "echo Branchline: no server could boot 'linux'; booting the "
	        "next device\nexit 1\n");
	/* An ISO from three servers; a fifth base is ignored. */
	CU_ASSERT_EQUAL(bootplan_script_multi(&p, 11, "", bases, 5, s,
	                        sizeof(s)),
	        0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s,
	        "\nsanboot http://x:1/boot/rescue/my%20rescue.iso || goto bl4\n"));
	CU_ASSERT_PTR_NULL(strstr(s, "never"));
	/* No server at all. */
	CU_ASSERT_EQUAL(bootplan_script_multi(&p, 0, "", bases, 0, s, sizeof(s)),
	        BL_ENOTFOUND);
	CU_ASSERT_PTR_NULL(strstr(s, "kernel"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nexit 1\n"));
	/* A short buffer is an error, not a cut script. */
	CU_ASSERT_EQUAL(bootplan_script_multi(&p, 0, "", bases, 4, s, 200),
	        BL_ETOOBIG);

	memset(&c, 0, sizeof(c));
	c.arch = 0;
	c.is_pxe = 1;
	e = bootplan_dhcp_entry(&p, &c); /* a BIOS PXE ROM: its program */
	CU_ASSERT(e != NULL && strcmp(e->name, "bios-ipxe") == 0);
	c.is_ipxe = 1; /* iPXE: the entry its script boots */
	e = bootplan_dhcp_entry(&p, &c);
	CU_ASSERT(e != NULL && strcmp(e->name, "linux") == 0);
	c.is_ipxe = 0;
	c.arch = 11; /* arm64 PXE: no program */
	CU_ASSERT_PTR_NULL(bootplan_dhcp_entry(&p, &c));
	c.is_http = 1;
	c.arch = 19; /* arm64 HTTP: the ISO by URL */
	e = bootplan_dhcp_entry(&p, &c);
	CU_ASSERT(e != NULL && strcmp(e->name, "rescue") == 0);
	bootplan_free(&p);
}

/* MAC text to bytes, as the script and explain requests give it. */
static void
test_mac_parse(void)
{
	uint8_t m[16];
	size_t n = 0;

	CU_ASSERT_EQUAL(bootplan_mac_parse("52:54:00:AB:cd:0f", 17, m, &n), 0);
	CU_ASSERT(n == 6 && m[0] == 0x52 && m[3] == 0xab && m[5] == 0x0f);
	CU_ASSERT_EQUAL(bootplan_mac_parse("01-02", 5, m, &n), 0);
	CU_ASSERT(n == 2 && m[1] == 2);
	CU_ASSERT_EQUAL(bootplan_mac_parse("", 0, m, &n), -1);
	CU_ASSERT_EQUAL(bootplan_mac_parse("5", 1, m, &n), -1);
	CU_ASSERT_EQUAL(bootplan_mac_parse("52:", 3, m, &n), -1);
	CU_ASSERT_EQUAL(bootplan_mac_parse("52:zz", 5, m, &n), -1);
	CU_ASSERT_EQUAL(bootplan_mac_parse("52.54", 5, m, &n), -1);
	CU_ASSERT_EQUAL(bootplan_mac_parse("00:00:00:00:00:00:00:00:00:00:00:"
	                                   "00:00:00:00:00",
	                        47, m, &n),
	        0);
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_EQUAL(bootplan_mac_parse("00:00:00:00:00:00:00:00:00:00:00:"
	                                   "00:00:00:00:00:00",
	                        50, m, &n),
	        -1); /* 17 bytes */
}

/* The image of a published name. */
static void
test_name_image(void)
{
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t v = 9;

	CU_ASSERT_EQUAL(bootplan_name_image("debian@3/boot/vmlinuz", name,
	                        sizeof(name), &v),
	        0);
	CU_ASSERT(strcmp(name, "debian") == 0 && v == 3);
	CU_ASSERT_EQUAL(
	        bootplan_name_image("ipxe/undionly.kpxe", name, sizeof(name), &v),
	        0);
	CU_ASSERT(strcmp(name, "ipxe") == 0 && v == 0);
	CU_ASSERT_EQUAL(bootplan_name_image("../x/y", name, sizeof(name), &v), -1);
	CU_ASSERT_EQUAL(bootplan_name_image("a@0/y", name, sizeof(name), &v), -1);
	CU_ASSERT_EQUAL(bootplan_name_image("/y", name, sizeof(name), &v), -1);
}

static void
test_query(void)
{
	static const struct {
		const char *q;
		int rc, arch;
		const char *mac;
	} cases[] = {
	        {"mac=52:54:00:AB:cd:ef&arch=7", 0, 7, "52:54:00:ab:cd:ef"},
	        {"arch=0&mac=52-54-00-00-00-01", 0, 0, "52:54:00:00:00:01"},
	        {"mac=525400000001", BL_EFORMAT, -1, ""},
	        {"arch=efi-x64", 0, 7, ""},
	        {"arch=any", 0, -1, ""},
	        {"arch=bios&x=1&&y", 0, 0, ""},
	        {"", 0, -1, ""},
	        {"arch=65536", BL_EFORMAT, -1, ""},
	        {"arch=", BL_EFORMAT, -1, ""},
	        {"arch=-1", BL_EFORMAT, -1, ""},
	        {"mac=52:54:", BL_EFORMAT, -1, ""},
	        {"mac=", BL_EFORMAT, -1, ""},
	        {"mac=00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", 0, -1,
	                "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"},
	        {"mac=00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00",
	                BL_EFORMAT, -1, ""},
	        {"mac=0g:11", BL_EFORMAT, -1, ""},
	        {"mac=52%3A54%3a00%3A00%3A00%3A01&arch=%37", 0, 7,
	                "52:54:00:00:00:01"},
	        {"mac=52%3", BL_EFORMAT, -1, ""},
	        {"mac=52%", BL_EFORMAT, -1, ""},
	        {"mac=52%00", BL_EFORMAT, -1, ""},
	};
	char mac[BOOTPLAN_MAC_MAX], why[200];
	size_t i;
	int arch;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = bootplan_query(cases[i].q, &arch, mac, why,
		        sizeof(why));

		if (rc != cases[i].rc)
			fprintf(stderr, "case %zu: %d\n", i, rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0) {
			CU_ASSERT_EQUAL(arch, cases[i].arch);
			CU_ASSERT_STRING_EQUAL(mac, cases[i].mac);
		}
	}
	CU_ASSERT_EQUAL(bootplan_query(NULL, &arch, mac, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(arch, -1);
}

static void
test_query_referred(void)
{
	static const struct {
		const char *q;
		int want;
	} cases[] = {
	        {NULL, 0},
	        {"", 0},
	        {"referred=1", 1},
	        {"mac=52:54:00:00:00:01&referred=1", 1},
	        {"referred=1&arch=7", 1},
	        {"a&referred=1&", 1},
	        {"&&referred=1", 1},
	        {"referred=0", 0},
	        {"referred=", 0},
	        {"referred", 0},
	        {"referred=11", 0},
	        {"xreferred=1", 0},
	        {"referredx=1", 0},
	        {"mac=referred=1", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = bootplan_query_referred(cases[i].q);

		if (got != cases[i].want)
			fprintf(stderr, "case %zu: %d\n", i, got);
		CU_ASSERT_EQUAL(got, cases[i].want);
	}
	/* What a redirect appends is what the next server reads. */
	CU_ASSERT_EQUAL(bootplan_query_referred(&BOOTPLAN_REFERRED_QUERY[1]), 1);
}

static void
test_url_path(void)
{
	char out[64];

	CU_ASSERT_EQUAL(bootplan_url_path("a/b-c_d.e~f", out, sizeof(out)), 11);
	CU_ASSERT_STRING_EQUAL(out, "a/b-c_d.e~f");
	CU_ASSERT(bootplan_url_path("i@1/a b?#%$\xc3\xa9", out, sizeof(out)) >
	          0);
	CU_ASSERT_STRING_EQUAL(out, "i@1/a%20b%3F%23%25%24%C3%A9");
	CU_ASSERT_EQUAL(bootplan_url_path("abc", out, 3), 0);
	CU_ASSERT_EQUAL(bootplan_url_path("abc", out, 4), 3);
	CU_ASSERT_EQUAL(bootplan_url_path("a b", out, 5), 0);
}

static void
test_range(void)
{
	static const struct {
		const char *h;
		uint64_t size;
		int r;
		uint64_t first, last;
	} cases[] = {
	        {"bytes=0-99", 1000, HTTP_RANGE_OK, 0, 99},
	        {"bytes=100-", 1000, HTTP_RANGE_OK, 100, 999},
	        {"bytes=-10", 1000, HTTP_RANGE_OK, 990, 999},
	        {"bytes=-5000", 1000, HTTP_RANGE_OK, 0, 999},
	        {"bytes=900-5000", 1000, HTTP_RANGE_OK, 900, 999},
	        {"bytes=999-999", 1000, HTTP_RANGE_OK, 999, 999},
	        {"bytes=1000-", 1000, HTTP_RANGE_UNSAT, 0, 0},
	        {"bytes=-0", 1000, HTTP_RANGE_UNSAT, 0, 0},
	        {"bytes=5-4", 1000, HTTP_RANGE_NONE, 0, 0},
	        {"bytes=0-1,5-6", 1000, HTTP_RANGE_NONE, 0, 0},
	        {"items=0-1", 1000, HTTP_RANGE_NONE, 0, 0},
	        {"bytes=a-b", 1000, HTTP_RANGE_NONE, 0, 0},
	        {"bytes=-", 1000, HTTP_RANGE_NONE, 0, 0},
	        {"bytes=99999999999999999999-", 1000, HTTP_RANGE_NONE, 0, 0},
	        {"bytes=0-99", 0, HTTP_RANGE_NONE, 0, 0},
	        {NULL, 1000, HTTP_RANGE_NONE, 0, 0},
	        {"bytes= 10-19 ", 1000, HTTP_RANGE_OK, 10, 19},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t f = 0, l = 0;
		int r = http_range_parse(cases[i].h, cases[i].size, &f, &l);

		if (r != cases[i].r)
			fprintf(stderr, "case %zu: %d\n", i, r);
		CU_ASSERT_EQUAL(r, cases[i].r);
		if (r == HTTP_RANGE_OK) {
			CU_ASSERT_EQUAL(f, cases[i].first);
			CU_ASSERT_EQUAL(l, cases[i].last);
		}
	}
}

static void
test_etag(void)
{
	const char *e = "\"abc\"";

	CU_ASSERT_EQUAL(http_etag_match("\"abc\"", e), 1);
	CU_ASSERT_EQUAL(http_etag_match("W/\"abc\"", e), 1);
	CU_ASSERT_EQUAL(http_etag_match("\"x\", \"abc\"", e), 1);
	CU_ASSERT_EQUAL(http_etag_match("*", e), 1);
	CU_ASSERT_EQUAL(http_etag_match("\"abcd\"", e), 0);
	CU_ASSERT_EQUAL(http_etag_match("abc", e), 0);
	CU_ASSERT_EQUAL(http_etag_match("\"abc", e), 0);
	CU_ASSERT_EQUAL(http_etag_match("", e), 0);
	CU_ASSERT_EQUAL(http_etag_match(NULL, e), 0);
}

int
test_bootplan_register(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
	        {"entries from the catalog's JSON", test_from_json},
	        {"proxyDHCP answers per client kind", test_dhcp_answers},
	        {"iPXE scripts per entry kind", test_scripts},
	        {"scripts with fallback servers, DHCP entries",
	                test_script_fallbacks},
	        {"script request queries", test_query},
	        {"redirected requests (referred=1)", test_query_referred},
	        {"hardware addresses", test_mac_parse},
	        {"the image of a published name", test_name_image},
	        {"URL path encoding", test_url_path},
	        {"HTTP Range", test_range},
	        {"HTTP If-None-Match", test_etag},
	};
	CU_pSuite s = CU_add_suite("bootplan", NULL, NULL);
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}

/*
 * dist_conf.c - branchline-dist's configuration keys.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "dist_conf.h"
#include "error.h"

static const struct conf_key dist_keys[] = {
        {"state_dir", CONF_STR, offsetof(struct dist_conf, state_dir),
                sizeof(((struct dist_conf *)0)->state_dir), 0, 0},
        {"primary_url", CONF_STR, offsetof(struct dist_conf, primary_url),
                sizeof(((struct dist_conf *)0)->primary_url), 0, 0},
        {"bind", CONF_STR, offsetof(struct dist_conf, bind),
                sizeof(((struct dist_conf *)0)->bind), 0, 0},
        {"port", CONF_U64, offsetof(struct dist_conf, port), 0, 1, 65535},
        {"url", CONF_STR, offsetof(struct dist_conf, url),
                sizeof(((struct dist_conf *)0)->url), 0, 0},
        {"connections", CONF_U64, offsetof(struct dist_conf, connections), 0,
                1, 16},
        {"gc_grace", CONF_U64, offsetof(struct dist_conf, gc_grace), 0, 0,
                365 * 86400},
        {"log_level", CONF_U64, offsetof(struct dist_conf, log_level), 0, 0, 2},
        {"tftp", CONF_BOOL, offsetof(struct dist_conf, tftp), 0, 0, 0},
        {"tftp_bind", CONF_STR, offsetof(struct dist_conf, tftp_bind),
                sizeof(((struct dist_conf *)0)->tftp_bind), 0, 0},
        {"tftp_port", CONF_U64, offsetof(struct dist_conf, tftp_port), 0, 1,
                65535},
        {"tftp_blksize_max", CONF_U64,
                offsetof(struct dist_conf, tftp_blksize_max), 0, 512, 65464},
        {"tftp_windowsize_max", CONF_U64,
                offsetof(struct dist_conf, tftp_windowsize_max), 0, 1, 64},
        {"tftp_max_transfers", CONF_U64,
                offsetof(struct dist_conf, tftp_max_transfers), 0, 1, 65536},
        {"tftp_max_per_client", CONF_U64,
                offsetof(struct dist_conf, tftp_max_per_client), 0, 1, 1024},
        {"boot_cache", CONF_SIZE, offsetof(struct dist_conf, boot_cache), 0,
                0, 1ull << 40},
        {"dhcp", CONF_BOOL, offsetof(struct dist_conf, dhcp), 0, 0, 0},
        {"dhcp_proxy", CONF_BOOL, offsetof(struct dist_conf, dhcp_proxy), 0,
                0, 0},
        {"dhcp_interfaces", CONF_STR,
                offsetof(struct dist_conf, dhcp_interfaces),
                sizeof(((struct dist_conf *)0)->dhcp_interfaces), 0, 0},
        {"dhcp_port", CONF_U64, offsetof(struct dist_conf, dhcp_port), 0, 1,
                65535},
        {"dhcp_pxe_port", CONF_U64, offsetof(struct dist_conf, dhcp_pxe_port),
                0, 1, 65535},
        {"http_boot_bind", CONF_STR, offsetof(struct dist_conf, http_boot_bind),
                sizeof(((struct dist_conf *)0)->http_boot_bind), 0, 0},
        {"http_boot_port", CONF_U64,
                offsetof(struct dist_conf, http_boot_port), 0, 0, 65535},
        {"http_boot_tls_port", CONF_U64,
                offsetof(struct dist_conf, http_boot_tls_port), 0, 0, 65535},
        {"boot_url", CONF_STR, offsetof(struct dist_conf, boot_url),
                sizeof(((struct dist_conf *)0)->boot_url), 0, 0},
        {"user", CONF_STR, offsetof(struct dist_conf, user),
                sizeof(((struct dist_conf *)0)->user), 0, 0},
};

int
dist_conf_load(const char *path, struct dist_conf *dc, char *why, size_t whylen)
{
	int rc;

	memset(dc, 0, sizeof(*dc));
	snprintf(dc->state_dir, sizeof(dc->state_dir),
	        "/var/lib/branchline-dist");
	snprintf(dc->bind, sizeof(dc->bind), "0.0.0.0");
	dc->port = 8444;
	dc->connections = 4;
	dc->gc_grace = 86400;
	dc->log_level = 1;
	dc->tftp = 1;
	snprintf(dc->tftp_bind, sizeof(dc->tftp_bind), "0.0.0.0");
	dc->tftp_port = 69;
	dc->tftp_blksize_max = 65464;
	dc->tftp_windowsize_max = 64;
	dc->tftp_max_transfers = 4096;
	dc->tftp_max_per_client = 16;
	dc->boot_cache = 256u << 20;
	dc->dhcp = 1;
	dc->dhcp_proxy = 1;
	dc->dhcp_port = 67;
	dc->dhcp_pxe_port = 4011;
	snprintf(dc->http_boot_bind, sizeof(dc->http_boot_bind), "0.0.0.0");
	dc->http_boot_port = 80;
	rc = conf_load(path, dist_keys,
	        sizeof(dist_keys) / sizeof(dist_keys[0]), dc, why, whylen);
	if (rc != 0)
		return rc;
	if (dc->state_dir[0] != '/')
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: state_dir must be an absolute path", path);
	if (dc->primary_url[0] == '\0')
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: primary_url is required", path);
	if (strncmp(dc->primary_url, "https://", 8) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: primary_url must start with https://", path);
	if (dc->url[0] != '\0' && strncmp(dc->url, "https://", 8) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: url must start with https://", path);
	if (dc->boot_url[0] != '\0' &&
	        strncmp(dc->boot_url, "http://", 7) != 0 &&
	        strncmp(dc->boot_url, "https://", 8) != 0)
		return bl_why(why, whylen, BL_EFORMAT,
		        "%s: boot_url must start with http:// or https://",
		        path);
	for (size_t i = 0; dc->boot_url[i] != '\0'; i++)
		if ((unsigned char)dc->boot_url[i] <= ' ' ||
		        dc->boot_url[i] == 0x7f || dc->boot_url[i] == '"')
			return bl_why(why, whylen, BL_EFORMAT,
			        "%s: boot_url: spaces, quotes and control "
			        "characters are not allowed",
			        path);
	if (strlen(dc->boot_url) > 1 &&
	        dc->boot_url[strlen(dc->boot_url) - 1] == '/')
		dc->boot_url[strlen(dc->boot_url) - 1] = '\0';
	return 0;
}

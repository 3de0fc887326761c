/*
 * dist_conf.h - branchline-dist's configuration file.
 */
#ifndef BL_DIST_CONF_H
#define BL_DIST_CONF_H

#include <stddef.h>
#include <stdint.h>

struct dist_conf {
	char state_dir[1024];  /* local store, node key and certificate */
	char primary_url[512]; /* https://host:port of the primary */
	char bind[64];         /* address the server listens on */
	uint64_t port;         /* HTTPS port for child sites (and boot files) */
	char url[512];         /* how children reach us; "" = not a parent */
	uint64_t connections;  /* parallel batch streams per source */
	uint64_t gc_grace;     /* seconds an unassigned image is kept */
	uint64_t log_level;    /* 0 warnings, 1 info, 2 debug */
	/* Boot serving (see common/tftpd.h, common/bootfs.h). */
	int tftp;                  /* serve TFTP at all */
	char tftp_bind[64];        /* IPv4 address; 0.0.0.0 = every LAN */
	uint64_t tftp_port;        /* 69 */
	uint64_t tftp_blksize_max; /* operator cap, 512..65464 */
	uint64_t tftp_windowsize_max; /* operator cap, 1..64 */
	uint64_t tftp_max_transfers;  /* at once, in all */
	uint64_t tftp_max_per_client; /* at once, per client address */
	uint64_t boot_cache;       /* bytes of boot file chunks kept */
	int dhcp;                  /* proxyDHCP / PXE boot server at all */
	int dhcp_proxy;            /* answer on 67; no: 4011 only */
	char dhcp_interfaces[256]; /* comma-separated; "" = every one */
	uint64_t dhcp_port;        /* 67 */
	uint64_t dhcp_pxe_port;    /* 4011 */
	char http_boot_bind[64];   /* address of the boot HTTP(S) server */
	uint64_t http_boot_port;   /* plain HTTP, 0 = off (80) */
	uint64_t http_boot_tls_port; /* HTTPS with the node's certificate,
	                              * 0 = off */
	char boot_url[300];        /* base of boot URLs handed out; "" =
	                            * http://ADDRESS:http_boot_port */
	char user[64];             /* drop to this user once ports are
	                            * bound; "" = stay who we are */
};

/* Defaults, then path's settings.  0 or an error with why. */
int dist_conf_load(
        const char *path, struct dist_conf *dc, char *why, size_t whylen);

#endif /* BL_DIST_CONF_H */

/*
 * fuzz_dhcp.c - libFuzzer target for the DHCP/PXE codec.  dhcp_parse on
 * the input: a failure is BL_EFORMAT or BL_ETOOBIG with a reason and a
 * printable message; a success keeps every field in its bounds.  A
 * request that parses gets a proxy reply (one of a few fixed answers,
 * picked by the input) which must fit the cap and the client's size,
 * be at least 300 bytes, and parse back with the same xid, chaddr,
 * option 97 and option 82; its destination follows RFC 2131 4.1.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"
#include "error.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_msg(const struct dhcp_msg *m)
{
	const uint8_t *c, *r;
	size_t nc, nr;

	/* Option 82's ids lie inside the option, and are absent or not empty. */
	dhcp_relay_ids(m, &c, &nc, &r, &nr);
	if ((c != NULL && (nc == 0 || c < m->relay ||
	                          c + nc > m->relay + m->relay_len)) ||
	        (r != NULL && (nr == 0 || r < m->relay ||
	                              r + nr > m->relay + m->relay_len)) ||
	        (c == NULL && nc != 0) || (r == NULL && nr != 0))
		abort();
	if ((m->op != DHCP_BOOTREQUEST && m->op != DHCP_BOOTREPLY) ||
	        m->hlen > DHCP_CHADDR_LEN || m->bad != DHCP_BAD_NONE)
		abort();
	if (m->narch > DHCP_ARCH_MAX || m->prl_len > DHCP_OPT_MAX ||
	        m->vclass_len > DHCP_OPT_MAX ||
	        m->user_class_len > DHCP_OPT_MAX ||
	        m->uuid_len > DHCP_UUID_MAX || m->relay_len > DHCP_LONG_MAX ||
	        m->vendor_len > DHCP_LONG_MAX || m->ipxe_len > DHCP_LONG_MAX)
		abort();
	if (strlen(m->file) > DHCP_FILE_LEN ||
	        strlen(m->sname) > DHCP_SNAME_LEN)
		abort();
	if (m->narch > 0 ? m->arch != m->arch_list[0]
	                 : m->arch != m->vclass_arch)
		abort();
	if (m->is_ipxe != (m->user_class_ipxe || m->has_ipxe))
		abort();
	if ((m->is_pxe && m->is_http) || (m->has_boot_item && !m->is_pxe))
		abort();
	if (m->arch >= 0 && dhcp_arch_name((uint16_t)m->arch) == NULL)
		abort();
}

/* The fixed answers: a plain offer, a menu with 66/67, an ACK with a
 * boot item and a long URL, an HTTP boot offer with iPXE's 175. */
static void
answer(int which, struct dhcp_answer *a)
{
	static const struct dhcp_menu_item menu[] = {
	        {0, "Local disk", 0},
	        {0x8000, "Install", 0x0207a8c0},
	};
	static const char url[] =
	        "http://192.168.7.1:8080/boot/"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	        "/script.ipxe";

	memset(a, 0, sizeof(*a));
	a->msgtype = DHCP_OFFER;
	a->server_id = 0x0107a8c0;
	a->next_server = 0x0207a8c0;
	a->boot_file = "undionly.kpxe";
	switch (which) {
	case 1:
		a->menu = menu;
		a->nmenu = 2;
		a->disc_ctl = PXE_DISC_NO_MCAST;
		a->prompt = "PXE menu";
		a->prompt_timeout = 10;
		a->bootfile_opts = 1;
		a->sname = "boot";
		break;
	case 2:
		a->msgtype = DHCP_ACK;
		a->has_boot_item = 1;
		a->item_type = 0x8000;
		a->boot_file = url;
		a->bootfile_opts = 1;
		a->vclass = DHCP_VC_PXE;
		break;
	case 3:
		a->boot_file = "http://192.168.7.1/shimx64.efi";
		a->vclass = DHCP_VC_HTTP;
		a->ipxe_no_pxedhcp = 1;
		break;
	}
}

static void
reply(const struct dhcp_msg *m, const uint8_t *data, size_t size)
{
	static uint8_t buf[2048];
	struct dhcp_answer a;
	struct dhcp_msg back;
	struct dhcp_dest d;
	char why[256];
	size_t n, cap, lim;

	answer(m->xid & 3, &a);
	/* A cap from the input, sometimes below the 300 minimum. */
	cap = 250 + (size_t)data[size - 1] * 7;
	lim = m->max_msg > DHCP_MSG_MIN ? m->max_msg - DHCP_IP_UDP_LEN
	                                : DHCP_MSG_MIN - DHCP_IP_UDP_LEN;
	n = dhcp_build_proxy(m, &a, buf, cap);
	if (n == 0) {
		/* Only the relay's echo is large enough not to fit. */
		if (cap >= 600 && !m->has_relay && lim >= 600)
			abort();
		return;
	}
	if (n < DHCP_REPLY_MIN || n > cap || n > lim)
		abort();
	if (dhcp_parse(buf, n, &back, why, sizeof(why)) != 0)
		abort();
	check_msg(&back);
	if (back.op != DHCP_BOOTREPLY || back.xid != m->xid ||
	        back.flags != m->flags || back.hlen != m->hlen ||
	        memcmp(back.chaddr, m->chaddr, DHCP_CHADDR_LEN) != 0 ||
	        back.giaddr != m->giaddr || back.yiaddr != 0 ||
	        back.msgtype != a.msgtype || !back.has_server_id ||
	        back.server_id != a.server_id)
		abort();
	if (back.uuid_len != m->uuid_len ||
	        memcmp(back.uuid, m->uuid, m->uuid_len) != 0)
		abort();
	if (back.has_relay != m->has_relay || back.relay_len != m->relay_len ||
	        memcmp(back.relay, m->relay, m->relay_len) != 0)
		abort();
	if (a.boot_file != NULL && strlen(a.boot_file) < DHCP_FILE_LEN &&
	        strcmp(back.file, a.boot_file) != 0)
		abort();
	if (a.has_boot_item &&
	        (!back.has_boot_item || back.item_type != 0x8000))
		abort();

	dhcp_reply_dest(m, DHCP_SERVER_PORT, 0, DHCP_CLIENT_PORT, &d);
	if (m->giaddr != 0               ? d.addr != m->giaddr || d.port != 67
	                : m->ciaddr != 0 ? d.addr != m->ciaddr || d.port != 68
	                                 : !d.broadcast || d.port != 68)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dhcp_prog progs[] = {
	        {0, DHCP_KIND_NBP},
	        {7, DHCP_KIND_NBP},
	        {7, DHCP_KIND_URL},
	        {11, DHCP_KIND_NBP},
	};
	struct dhcp_msg m;
	char why[256];
	int rc, i;

	if (size > 4096)
		return 0;
	why[0] = '\0';
	rc = dhcp_parse(data, size, &m, why, sizeof(why));
	if (rc != 0) {
		if ((rc != BL_EFORMAT && rc != BL_ETOOBIG) ||
		        m.bad == DHCP_BAD_NONE || m.xid != 0)
			abort();
		if ((rc == BL_ETOOBIG) != (m.bad == DHCP_BAD_TOOBIG))
			abort();
		if (!tu_printable(why))
			abort();
		return 0;
	}
	check_msg(&m);
	if (m.arch >= 0) {
		i = dhcp_choose((uint16_t)m.arch, progs, 4);
		if (i < -1 || i >= 4)
			abort();
		if (i >= 0 &&
		        (progs[i].kind == DHCP_KIND_URL) !=
		                dhcp_arch_http((uint16_t)m.arch))
			abort();
	}
	reply(&m, data, size);
	return 0;
}

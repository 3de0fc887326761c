#!/usr/bin/env bash
# Real network boots of QEMU guests (TCG) from a distribution node: the
# site's own DHCP server (dnsmasq, DHCP only, in a namespace of its own)
# hands out addresses, the node adds the boot information as a proxyDHCP
# and serves the files from its chunk store.  The guests are Debian's
# firmware: SeaBIOS with the iPXE ROMs of ipxe-qemu, and OVMF, with and
# without the iPXE ROM.  Every boot ends in a Debian kernel + initramfs
# that prints a marker on the serial console.
#
#   LAN bridge br0 (namespace blb-x-PID): the primary 10.79.0.1, the
#   guests' taps; blb-x-PID-dhcp: dnsmasq 10.79.0.2; blb-xn-PID: the
#   node 10.79.0.3 (running as user nobody once its ports are bound).
#
# Cases: BIOS + e1000 (iPXE ROM: proxy offer -> script -> kernel over
# HTTP); UEFI + virtio without a ROM (OVMF's own PXE: the proxy gives it
# ipxe's snponly.efi over TFTP, OVMF's tsize probe included; that iPXE
# asks again and gets the script); UEFI + e1000 with the iPXE ROM; a
# second boot of the same guest after the default entry changed; and the
# 4011-only mode, where the site DHCP server itself says PXEClient.
# shellcheck disable=SC2016 # ck's single-quoted code is evaluated later
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pxe_lib.sh"

P="$BL_BIN/primary/branchline-primary"
D="$BL_BIN/distribution/branchline-dist"
for b in "$P" "$D"; do [ -x "$b" ] || { echo "no $b: build first" >&2; exit 1; }; done
pxe_require
for f in undionly.kpxe snponly.efi; do
	[ -s "/usr/lib/ipxe/$f" ] || { echo "not ok - /usr/lib/ipxe/$f is missing (apt-get install ipxe)"; exit 1; }
done
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS=print_stacktrace=1
unset BRANCHLINE_SERVER BRANCHLINE_TOKEN BRANCHLINE_CA BRANCHLINE_CONFIG BRANCHLINE_STORE

NS="blb-x-$$"
NSN="blb-xn-$$"
NET=10.79.0
PIDS=()
CLEANUP+=('stop_all')
stop_all() {
	stop_pids
	ip netns del "$NSN" 2>/dev/null || true
}
cli() { ip netns exec "$NS" "$BL" --server https://$NET.1:8443 --token "$TOK" --ca "$T/p/pki/ca.crt" "$@"; }
wait_log() { log_wait "$T/n.log" "$1" "$2"; } # PATTERN SECONDS

pxe_guest
pxe_net "$NS" $NET
pxe_site_dhcp "$NS" $NET
ip netns add "$NSN"
ip link add "vx-$$" type veth peer name eth0 netns "$NSN"
ip link set "vx-$$" netns "$NS"
ip netns exec "$NS" ip link set "vx-$$" master br0 up
ip netns exec "$NSN" ip link set lo up
ip netns exec "$NSN" ip addr add $NET.3/24 dev eth0
ip netns exec "$NSN" ip link set eth0 up

# --- the primary: the guest's kernel, Debian's iPXE programs, the site --------
netns_primary "$NS" $NET.1
cli -q image upload pxeguest vmlinuz="$PXE_KERNEL" initrd.gz="$PXE_INITRD" >/dev/null
cli -q image upload ipxe undionly.kpxe=/usr/lib/ipxe/undionly.kpxe \
	snponly.efi=/usr/lib/ipxe/snponly.efi ipxe.efi=/usr/lib/ipxe/ipxe.efi >/dev/null
site() { # MARK: the site with the default entry's blmark
	cat >"$T/lan.json" <<EOF
{"name": "lan", "tz": "UTC", "images": ["pxeguest", "ipxe"],
 "boot": $(pxe_boot_entries pxeguest guest "$1")}
EOF
	cli site set lan --file "$T/lan.json" >/dev/null
}
cli site add lan --subnet $NET.0/24 >/dev/null
site first

# --- the node, dropping to nobody once its ports are bound ---------------------
tok=$(cli node add lan 2>"$T/nodeadd.err")
FPR=$(grep -o 'ca-sha256 [0-9a-f]*' "$T/nodeadd.err" | cut -d' ' -f2)
ip netns exec "$NSN" "$D" enroll --primary https://$NET.1:8443 --ca-sha256 "$FPR" \
	--token "$tok" --state "$T/n" >"$T/n.enroll" 2>&1 || fatal "enroll: $(cat "$T/n.enroll")"
printf 'user = nobody\ndhcp_interfaces = eth0\n' >>"$T/n/dist.conf"
chmod 711 "$T"
chown -R nobody "$T/n"
npub() { grep -c "boot files of site lan: 4 published" "$T/n.log" || true; }
start_node() {
	ip netns exec "$NSN" "$D" --config "$T/n/dist.conf" 2>>"$T/n.log" &
	NPID=$!
	PIDS+=($NPID)
}
# restart_node: stop the node, start it again, and wait until it has
# published its boot files anew (a guest booting before that gets nothing).
restart_node() {
	local before
	kill "$NPID"
	wait "$NPID" 2>/dev/null || true
	before=$(npub)
	start_node
	for _ in $(seq 100); do [ "$(npub)" -gt "$before" ] && return 0; sleep 0.2; done
	return 1
}
start_node
ck "the node replicates both images and publishes the boot files" \
	'wait_log "pxeguest@1 complete" 120 && wait_log "ipxe@1 complete" 60 && wait_log "boot files of site lan: 4 published" 10'
ck "the node runs as nobody after binding 67, 69, 80 and 4011" \
	'[ "$(awk "/^Uid:/{print \$2}" /proc/$NPID/status)" = "$(id -u nobody)" ] &&
	 ip netns exec "$NSN" ss -lun | grep -q ":67 " && ip netns exec "$NSN" ss -lun | grep -q ":4011 " &&
	 ip netns exec "$NSN" ss -lun | grep -q ":69 " && ip netns exec "$NSN" ss -ltn | grep -q ":80 "'

boot() { # NAME FIRMWARE NIC WANT_MARK: a boot that must print the marker
	pxe_boot "$NS" "$1" "$2" "$3" && [ "$PXE_MARK" = "$4" ] || {
		# What the node made of this guest's requests.
		grep -h "$(pxe_mac "$1")" "$T/n.log" | tail -n 6 | sed 's/^/#   node: /'
		false
	}
}
ck "BIOS + e1000 (iPXE ROM): proxy offer, script and kernel over HTTP" 'boot bios-e1000 bios e1000 first'
ck "the node gave the iPXE ROM its script URL" \
	'grep -q "dhcp $(pxe_mac bios-e1000) arch 0 (x86 BIOS) iPXE on 67: OFFER http://$NET.3:80/boot.ipxe" "$T/n.log"'
ck "UEFI + virtio, no iPXE ROM: OVMF's PXE loads snponly.efi over TFTP, then iPXE the script" \
	'PXE_NO_IPXE_ROM=1 boot uefi-native uefi virtio first'
ck "OVMF's own PXE client got the program, by TFTP" \
	'grep -q "dhcp $(pxe_mac uefi-native) arch 7 (x64 UEFI) on 67: OFFER ipxe/snponly.efi" "$T/n.log" &&
	 grep -q "dhcp $(pxe_mac uefi-native) arch 7 (x64 UEFI) iPXE on 67: OFFER http" "$T/n.log"'
ck "UEFI + e1000 (iPXE EFI ROM): booted over HTTP" 'boot uefi-e1000 uefi e1000 first'

before=$(npub)
site second
ck "the site's new default reaches the node" \
	'for _ in $(seq 50); do [ "$(npub)" -gt "$before" ] && break; sleep 0.2; done; [ "$(npub)" -gt "$before" ]'
ck "BIOS + virtio: the next boot runs the new default entry" 'boot bios-virtio bios virtio second'

# --- a PXE boot menu: the network item, after a 1 s prompt ---------------------------
printf 'pxe_prompt = Branchline: press F8 for the boot menu\npxe_prompt_timeout = 1\n' >>"$T/n/dist.conf"
ck "the node restarts with a PXE menu and publishes again" 'restart_node'
ck "PXE menu: iPXE shows the prompt, takes the network item and asks 4011 for it" \
	'boot bios-menu bios e1000 second &&
	 grep -q "press F8 for the boot menu" "$T/bios-menu.serial" &&
	 grep -q "dhcp $(pxe_mac bios-menu) arch 0 (x86 BIOS) iPXE on 4011: ACK http://$NET.3:80/boot.ipxe" "$T/n.log"'

# --- 4011 only: the site DHCP server says PXEClient itself ------------------------
printf 'dhcp_proxy = no\n' >>"$T/n/dist.conf"
ck "4011-only mode: the node restarts and publishes again" 'restart_node'
ck "4011-only mode: the node does not bind 67" \
	'grep -q " PXE(4011)" "$T/n.log" && ! ip netns exec "$NSN" ss -lun | grep -q ":67 "'
# The site's DHCP server moves onto the node's host and says PXEClient: a
# PXE client then asks that host's port 4011 for its boot file.
pxe__stop "$PXE_SITE_PID"
pxe__forget "$PXE_SITE_PID"
ip netns exec "$NSN" ip addr add fd79::3/64 dev eth0 nodad
ip netns exec "$NSN" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp --conf-file=/dev/null \
	--port=0 --user=root --interface=eth0 --bind-interfaces --dhcp-authoritative --no-ping \
	--dhcp-range=$NET.160,$NET.199,255.255.255.0,1h --dhcp-leasefile="$T/local.leases" \
	--pid-file="$T/local.pid" --enable-ra --dhcp-range=::,constructor:eth0,ra-only \
	--dhcp-vendorclass=set:pxe,PXEClient --dhcp-option-force=tag:pxe,60,PXEClient >"$T/local.log" 2>&1 &
PIDS+=($!)
ck "4011-only mode: a DHCP server on the node's host, saying PXEClient" \
	'for _ in $(seq 50); do ip netns exec "$NSN" ss -Hlun "sport = :67" | grep -q . && break; sleep 0.1; done
	 ip netns exec "$NSN" ss -Hlun "sport = :67" | grep -q .'
ck "4011-only mode: iPXE asks port 4011 and gets its script" \
	'boot bios-4011 bios e1000 second &&
	 grep -q "dhcp $(pxe_mac bios-4011) arch 0 (x86 BIOS) iPXE on 4011: ACK http://$NET.3:80/boot.ipxe" "$T/n.log"'

ck "the node is still running" 'kill -0 "$NPID"'
stop_all
for f in p n; do
	ck "no sanitizer report in $f.log" '! grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$T/$f.log"'
done
echo "t_pxe: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

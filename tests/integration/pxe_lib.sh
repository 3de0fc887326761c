# pxe_lib.sh - real PXE boots of QEMU guests inside network namespaces
# (sourced after lib.sh: uses its T, CLEANUP and fatal).
#
# The test network: namespace NS holds bridge br0 (SUBNET.1/24 and
# ${PXE_V6NET}1/64, default fd79::1) where the boot server under test
# listens; the site's ordinary DHCP server runs in NS-dhcp (SUBNET.2 on a
# veth into br0); each guest is a QEMU VM on a tap in NS on br0.  No
# traffic leaves these namespaces.  Everything this file starts or
# creates is undone by pxe_cleanup, which the first call registers in
# CLEANUP: processes are ended by their own PIDs, then the namespaces
# (with their taps and veths) are deleted.
#
#   pxe_require                      root, netns, qemu, OVMF, dnsmasq; else
#                                    prints "ok - # SKIP ..." and exits 0
#   pxe_guest [DIR]                  build/cached guest (tests/tools/pxe-guest.sh):
#                                    sets PXE_KERNEL and PXE_INITRD
#   pxe_net NS SUBNET                e.g. pxe_net blb-x-$$ 10.79.0
#   pxe_site_dhcp NS SUBNET          site DHCP (dnsmasq, DHCP only, no boot
#                                    options) + IPv6 RAs, in namespace NS-dhcp
#       PXE_DHCP_EXTRA="..."         extra dnsmasq arguments (word-split)
#       PXE_NO_RA=1                  no router advertisements
#   pxe_site_dhcp_restart NS SUBNET  the same server again, with the
#                                    PXE_DHCP_EXTRA of now
#       For a site server that tells PXE clients it is PXE-aware (option 60
#       "PXEClient" in its OFFER/ACK; per the PXE spec a client then asks
#       for its boot file on UDP 4011; pxe-selfcheck verifies the option is
#       sent, not what a given firmware does with it):
#       PXE_DHCP_EXTRA="--dhcp-vendorclass=set:pxe,PXEClient --dhcp-option-force=tag:pxe,60,PXEClient"
#       (dnsmasq sends option 60 only with -force, and only to clients whose
#       own option 60 contains "PXEClient": firmware PXE and iPXE both do.)
#   pxe_ra NS                        RA-only dnsmasq on br0 (when there is no
#                                    pxe_site_dhcp; iPXE waits ~15 s without RAs)
#   pxe_mac NAME                     the MAC pxe_boot gives guest NAME
#   pxe_dhcp_probe NS NAME [udhcpc args]
#                                    one DHCP exchange by busybox udhcpc from a
#                                    probe namespace on br0; the lease's
#                                    variables go to $T/NAME.dhcp (ip=, siaddr=,
#                                    boot_file=, vendor= (option 60, ask with -O 60)...)
#   pxe_boot NS NAME FIRMWARE NIC [qemu args]
#                                    FIRMWARE bios|uefi, NIC e1000|virtio: boots a
#                                    guest, returns 0 when its console printed
#                                    BRANCHLINE-PXE-OK (then PXE_MARK holds the
#                                    blmark= value, PXE_SECS the seconds)
#   pxe_boot_start / pxe_boot_wait   the same in two halves, for guests booting
#                                    at once: pxe_boot_start NS NAME1 FW NIC ...;
#                                    pxe_boot_start NS NAME2 ...; pxe_boot_wait
#                                    NAME1 NAME2 (0 if all passed; blmark values
#                                    in PXE_MARKS[NAME])
#       PXE_TIMEOUT=120              seconds per guest
#       PXE_NO_IPXE_ROM=1            NIC without its iPXE option ROM (romfile=):
#                                    under UEFI, OVMF's own PXE client (virtio-net
#                                    only: OVMF has no e1000 driver) does DHCP and
#                                    TFTP and must be given an EFI program (e.g.
#                                    ipxe.efi/snponly.efi); under BIOS nothing boots
#       PXE_MEM=256                  guest memory (MB)
#       PXE_FAIL_RE='...'            more console text (ERE) that fails a boot
#   pxe_cleanup                      (registered in CLEANUP; callable early)
#
#   The boot server's script must give the guest kernel console=ttyS0 and
#   blmark=VALUE, and initrd=initrd.gz under UEFI iPXE (the EFI stub finds
#   the initrd by that name), e.g.
#     kernel http://SUBNET.1:PORT/vmlinuz initrd=initrd.gz console=ttyS0 panic=-1 blmark=xyz
#     initrd http://SUBNET.1:PORT/initrd.gz
#   Guest files: $T/NAME.serial (console: no CRs, no ANSI escapes, iPXE's
#   backspaced progress resolved), $T/NAME.serial.raw, $T/NAME.qemu.log.
#
# Do not call these in a subshell ($(...), pipes): they keep their state
# (PIDs, namespaces) in this shell's variables.
# shellcheck shell=bash

: "${T:?pxe_lib.sh: source lib.sh first}"
PXE_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)"
PXE_V6NET=${PXE_V6NET:-fd79::}
PXE_OVMF_CODE=${PXE_OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
PXE_OVMF_VARS=${PXE_OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
PXE_PIDS=()   # processes we started (ended by PID in pxe_cleanup)
PXE_NETNS=()  # namespaces we created
PXE_REGISTERED=0
PXE_SITE_PID=  # the site's dnsmasq
declare -gA PXE_QPID PXE_T0 PXE_TAPNS PXE_TAP PXE_DESC

pxe_log() { printf '# pxe: %s\n' "$*"; }

pxe__register() {
	[ "$PXE_REGISTERED" = 1 ] && return 0
	PXE_REGISTERED=1
	CLEANUP+=('pxe_cleanup')
}

# pxe__stop PID...: TERM, up to 3 s, then KILL; reap.  Only our children.
pxe__stop() {
	local p i alive
	for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
	for i in $(seq 30); do
		alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "$@"; do wait "$p" 2>/dev/null || true; done
	: "$i"
}

pxe__forget() { # PID: drop it from PXE_PIDS
	local p keep=()
	for p in "${PXE_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PXE_PIDS=("${keep[@]}")
}

pxe_cleanup() {
	local i
	[ "${#PXE_PIDS[@]}" -gt 0 ] && pxe__stop "${PXE_PIDS[@]}"
	PXE_PIDS=()
	for ((i = ${#PXE_NETNS[@]} - 1; i >= 0; i--)); do
		ip netns del "${PXE_NETNS[i]}" 2>/dev/null || true
	done
	PXE_NETNS=()
}

pxe__netns_add() { # NS
	ip netns add "$1" || fatal "pxe: cannot create namespace $1"
	PXE_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# pxe__bg NAME NS CMD...: CMD in NS in the background, output to
# $T/NAME.log; its PID (ip netns exec execs CMD) goes to PXE_PIDS and $!.
pxe__bg() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" >"$T/$name.log" 2>&1 </dev/null &
	PXE_PIDS+=($!)
}

pxe_require() {
	local c why=
	if [ "$(id -u)" -ne 0 ]; then
		why="PXE boots need root"
	elif ! ip netns add "blb-probe-$$" 2>/dev/null; then
		why="network namespaces are not available"
	else
		ip netns del "blb-probe-$$"
		for c in qemu-system-x86_64 dnsmasq busybox cpio; do
			command -v "$c" >/dev/null || why="$why $c"
		done
		[ -r "$PXE_OVMF_CODE" ] || why="$why ovmf"
		[ -r /usr/lib/ipxe/qemu/pxe-e1000.rom ] || why="$why ipxe-qemu"
		[ -z "$why" ] || why="missing:$why (apt-get install qemu-system-x86 ipxe-qemu ovmf ipxe dnsmasq-base busybox-static cpio)"
	fi
	if [ -n "$why" ]; then
		echo "ok - # SKIP $why"
		exit 0
	fi
}

# shellcheck disable=SC2034 # PXE_KERNEL, PXE_INITRD: for the caller
pxe_guest() { # [DIR]
	local dir=${1:-${PXE_GUEST_DIR:-${BL_BIN:+$BL_BIN/pxe-guest}}}
	dir=${dir:-/var/tmp/branchline-pxe-guest}
	"$PXE_TOOLS/pxe-guest.sh" "$dir" || fatal "pxe: building the guest in $dir failed"
	PXE_KERNEL=$dir/vmlinuz
	PXE_INITRD=$dir/initrd.gz
}

# pxe_boot_entries IMAGE ENTRY MARK: a site's "boot" array (JSON) as the
# boot tests and the demo use it: entry ENTRY, every arch's default,
# boots IMAGE's vmlinuz + initrd.gz with blmark=MARK on the command line
# (the guest prints it); PXE ROMs get iPXE from the image "ipxe"
# (undionly.kpxe, snponly.efi).
pxe_boot_entries() {
	cat <<EOF
[{"name": "$2", "arch": "any", "kind": "kernel", "image": "$1",
  "kernel": "vmlinuz", "initrd": "initrd.gz",
  "args": "console=ttyS0 panic=-1 blmark=$3", "default": true},
 {"name": "ipxe-bios", "arch": "bios", "kind": "program", "image": "ipxe",
  "program": "undionly.kpxe"},
 {"name": "ipxe-efi", "arch": "efi-x64", "kind": "program", "image": "ipxe",
  "program": "snponly.efi"}]
EOF
}

pxe_net() { # NS SUBNET
	local ns=$1 net=$2
	pxe__register
	pxe__netns_add "$ns"
	ip -n "$ns" link add br0 type bridge forward_delay 0 stp_state 0
	ip -n "$ns" addr add "$net.1/24" dev br0
	ip -n "$ns" addr add "${PXE_V6NET}1/64" dev br0 nodad
	ip -n "$ns" link set br0 up
}

# pxe__waitudp NS PORT PID WHAT: until something listens on UDP PORT in NS.
pxe__waitudp() {
	local i
	for i in $(seq 50); do
		kill -0 "$3" 2>/dev/null || fatal "pxe: $4 exited: $(tail -3 "$T/$4.log")"
		ip netns exec "$1" ss -Hlun "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	fatal "pxe: $4 does not listen on UDP $2 after 5 s (after $i tries)"
}

pxe_site_dhcp() { # NS SUBNET
	local ns=$1 net=$2 d="$1-dhcp"
	pxe__register
	pxe__netns_add "$d"
	ip -n "$ns" link add vdhcp type veth peer name eth0 netns "$d"
	ip -n "$ns" link set vdhcp master br0 up
	ip -n "$d" addr add "$net.2/24" dev eth0
	ip -n "$d" addr add "${PXE_V6NET}2/64" dev eth0 nodad
	ip -n "$d" link set eth0 up
	pxe__site_dnsmasq "$d" "$net"
}

# pxe_site_dhcp_restart NS SUBNET: the site's dnsmasq again, with the
# PXE_DHCP_EXTRA of now (the same leases file).
pxe_site_dhcp_restart() {
	local d="$1-dhcp"
	pxe__stop "$PXE_SITE_PID"
	pxe__forget "$PXE_SITE_PID"
	pxe__site_dnsmasq "$d" "$2"
}

pxe__site_dnsmasq() { # DHCP_NS SUBNET
	local d=$1 net=$2 extra=() ra=()
	read -ra extra <<<"${PXE_DHCP_EXTRA:-}"
	# RAs from the site (a router would send them): iPXE configures IPv6 in
	# parallel with DHCPv4 and, with no RA on the link, waits ~15 s.
	[ "${PXE_NO_RA:-0}" = 1 ] || ra=(--enable-ra "--dhcp-range=::,constructor:eth0,ra-only")
	pxe__bg "$d" "$d" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp \
		--conf-file=/dev/null --port=0 --user=root \
		--interface=eth0 --bind-interfaces --dhcp-authoritative --no-ping \
		"--dhcp-range=$net.100,$net.150,255.255.255.0,1h" \
		"--dhcp-leasefile=$T/$d.leases" "--pid-file=$T/$d.pid" \
		"${ra[@]}" "${extra[@]}"
	PXE_SITE_PID=$!
	pxe__waitudp "$d" 67 "$!" "$d"
}

pxe_ra() { # NS: RA-only dnsmasq on br0 (no DHCPv4: UDP 67 stays free)
	local ns=$1
	pxe__register
	pxe__bg "$ns-ra" "$ns" dnsmasq --keep-in-foreground --log-facility=- \
		--conf-file=/dev/null --port=0 --user=root --interface=br0 --bind-interfaces \
		--enable-ra "--dhcp-range=::,constructor:br0,ra-only" \
		"--dhcp-leasefile=$T/$ns-ra.leases" "--pid-file=$T/$ns-ra.pid"
	sleep 0.2
	kill -0 "$!" 2>/dev/null || fatal "pxe: RA helper exited: $(tail -3 "$T/$ns-ra.log")"
}

pxe__hash() { printf '%s' "$1" | sha256sum | cut -c1-12; }

pxe_mac() { # NAME
	local h
	h=$(pxe__hash "$1")
	echo "52:54:00:${h:0:2}:${h:2:2}:${h:4:2}"
}

pxe_dhcp_probe() { # NS NAME [udhcpc args]: one lease into $T/NAME.dhcp
	local ns=$1 name=$2 p h v
	shift 2
	pxe__register
	h=$(pxe__hash "$name")
	p="blb-q${h:0:6}-$$"
	v="vq${h:0:6}"
	pxe__netns_add "$p"
	ip -n "$ns" link add "$v" type veth peer name eth0 netns "$p"
	ip -n "$ns" link set "$v" master br0 up
	ip -n "$p" link set eth0 address "$(pxe_mac "$name")" up
	cat >"$T/$name.udhcpc.sh" <<-EOF
		#!/bin/sh
		[ "\$1" = bound ] && env | grep -E '^(ip|subnet|router|serverid|siaddr|sname|boot_file|opt[0-9]+|vendor|lease|interface)=' | sort >"$T/$name.dhcp"
		exit 0
	EOF
	chmod 755 "$T/$name.udhcpc.sh"
	rm -f "$T/$name.dhcp"
	ip netns exec "$p" timeout 20 busybox udhcpc -i eth0 -f -q -n -t 5 -T 1 -s "$T/$name.udhcpc.sh" "$@" \
		>"$T/$name.udhcpc.log" 2>&1 || true
	ip -n "$ns" link del "$v" 2>/dev/null || true
	[ -s "$T/$name.dhcp" ]
}

# pxe__clean RAW OUT: the console without CRs, ANSI escapes and control
# characters; a backspace takes back the character before it.
pxe__clean() {
	perl -pe 's/\r//g; s/\e\[[0-?]*[ -\/]*[@-~]//g; s/\e[()][0-9A-Za-z]//g; s/\e[=>78]//g;
		1 while s/[^\x08\n]\x08//; s/\x08//g; s/[\x00-\x09\x0b-\x1f\x7f]//g' "$1" >"$2.tmp" &&
		mv "$2.tmp" "$2"
}

pxe__now() { echo "${EPOCHREALTIME/./}"; }

pxe_boot_start() { # NS NAME FIRMWARE NIC [qemu args]
	local ns=$1 name=$2 fw=$3 nic=$4 h tap mac dev rom='' fwargs=()
	shift 4
	pxe__register
	case "$nic" in
	e1000) dev=e1000 ;;
	virtio) dev=virtio-net-pci ;;
	*) fatal "pxe_boot: NIC must be e1000 or virtio, not '$nic'" ;;
	esac
	case "$fw" in
	bios) ;;
	uefi)
		[ -r "$PXE_OVMF_CODE" ] || fatal "pxe_boot: no $PXE_OVMF_CODE (apt-get install ovmf)"
		cp "$PXE_OVMF_VARS" "$T/$name.vars.fd"
		fwargs=(-drive "if=pflash,format=raw,readonly=on,file=$PXE_OVMF_CODE"
			-drive "if=pflash,format=raw,file=$T/$name.vars.fd") ;;
	*) fatal "pxe_boot: FIRMWARE must be bios or uefi, not '$fw'" ;;
	esac
	[ "${PXE_NO_IPXE_ROM:-0}" = 1 ] && rom=",romfile="
	h=$(pxe__hash "$name")
	tap="tp${h:6:6}"
	mac=$(pxe_mac "$name")
	ip -n "$ns" tuntap add dev "$tap" mode tap || fatal "pxe_boot: cannot add tap $tap in $ns"
	ip -n "$ns" link set "$tap" master br0 up
	rm -f "$T/$name.serial" "$T/$name.serial.raw"
	PXE_T0[$name]=$(pxe__now)
	# setsid: the guest is not in our process group (a ^C reaches us, and
	# pxe_cleanup ends it by PID).  ip netns exec and setsid exec qemu.
	setsid ip netns exec "$ns" qemu-system-x86_64 -machine pc -accel tcg -smp 1 \
		-m "${PXE_MEM:-256}" -nographic -monitor none -no-reboot -boot n \
		-serial "file:$T/$name.serial.raw" "${fwargs[@]}" \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-device "$dev,netdev=n0,mac=$mac,bootindex=1$rom" "$@" \
		>"$T/$name.qemu.log" 2>&1 </dev/null &
	PXE_PIDS+=($!)
	PXE_QPID[$name]=$!
	PXE_TAPNS[$name]=$ns
	PXE_TAP[$name]=$tap
	PXE_DESC[$name]="$fw/$nic${rom:+/no-ipxe-rom}"
}

# Boot stages the summary reports: name and ERE, first time seen.
PXE_STAGES=(ovmf-pxe ipxe dhcp kernel initrd linux marker)
PXE_STAGE_RE=('Start PXE over IPv4' 'iPXE' 'net0: [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/'
	'vmlinuz[^ ]*\.\.\..*ok' 'initrd[^ ]*\.\.\..*ok' 'Linux version' 'BRANCHLINE-PXE-OK')
declare -gA PXE_AT PXE_SIZE PXE_VERDICT PXE_GONE PXE_MARKS

pxe__secs() { # MICROSECONDS -> S.D
	printf '%d.%d' $(($1 / 1000000)) $(($1 % 1000000 / 100000))
}

# pxe__poll NAME: one look at the guest's console; sets PXE_VERDICT[NAME]
# once it is decided (PASS or FAIL (why)).
pxe__poll() {
	local name=$1 qpid=${PXE_QPID[$1]} raw="$T/$1.serial.raw" log="$T/$1.serial" el s i
	local fail_re='No more network devices|No bootable device|Kernel panic|Shell> |UEFI Interactive Shell'
	[ -n "${PXE_FAIL_RE:-}" ] && fail_re="$fail_re|$PXE_FAIL_RE"
	el=$(($(pxe__now) - PXE_T0[$name]))
	s=$(stat -c %s "$raw" 2>/dev/null || echo 0)
	if [ "$s" != "${PXE_SIZE[$name]:-}" ]; then
		PXE_SIZE[$name]=$s
		pxe__clean "$raw" "$log"
		for i in "${!PXE_STAGES[@]}"; do
			[ -n "${PXE_AT[$name,$i]:-}" ] && continue
			grep -Eq -- "${PXE_STAGE_RE[i]}" "$log" && PXE_AT[$name,$i]=$(pxe__secs "$el")
		done
		if grep -q 'BRANCHLINE-PXE-OK' "$log"; then
			PXE_VERDICT[$name]=PASS
			return 0
		fi
		if grep -Eq -- "$fail_re" "$log"; then
			PXE_VERDICT[$name]="FAIL ($(grep -Eo -m1 -- "$fail_re" "$log"))"
			return 0
		fi
	fi
	if ! kill -0 "$qpid" 2>/dev/null; then
		# qemu is gone: look at its console once more before giving up
		PXE_GONE[$name]=$((${PXE_GONE[$name]:-0} + 1))
		if [ "${PXE_GONE[$name]}" -ge 2 ]; then
			PXE_VERDICT[$name]="FAIL (qemu exited: $(tail -2 "$T/$name.qemu.log" | tr '\n' ' '))"
		else
			PXE_SIZE[$name]=-1
		fi
		return 0
	fi
	if [ "$el" -ge $((${PXE_TIMEOUT:-120} * 1000000)) ]; then
		PXE_VERDICT[$name]="FAIL (timeout ${PXE_TIMEOUT:-120} s)"
	fi
	return 0
}

# pxe__finish NAME: stop the guest (a passing one powers itself off),
# remove its tap, print its summary; 0 if it passed.
# shellcheck disable=SC2034 # PXE_MARK, PXE_SECS: for the caller
pxe__finish() {
	local name=$1 qpid=${PXE_QPID[$1]} log="$T/$1.serial" verdict=${PXE_VERDICT[$1]} i sum=''
	if [ "$verdict" = PASS ]; then
		for i in $(seq 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.2; done
	fi
	pxe__stop "$qpid"
	pxe__forget "$qpid"
	pxe__clean "$T/$name.serial.raw" "$log"
	ip -n "${PXE_TAPNS[$name]}" link del "${PXE_TAP[$name]}" 2>/dev/null || true
	unset 'PXE_QPID[$name]'
	PXE_SECS=$(pxe__secs $(($(pxe__now) - PXE_T0[$name])))
	PXE_MARK=$(grep -o -m1 'BRANCHLINE-PXE-OK mark=[^ ]*' "$log" | sed 's/.*mark=//' || true)
	PXE_MARKS[$name]=$PXE_MARK
	for i in "${!PXE_STAGES[@]}"; do
		[ -n "${PXE_AT[$name,$i]:-}" ] && sum="$sum ${PXE_STAGES[i]} ${PXE_AT[$name,$i]}"
	done
	pxe_log "$name ${PXE_DESC[$name]}:${sum:- (nothing seen)}; end ${PXE_SECS} s: $verdict"
	if [ "$verdict" != PASS ]; then
		tail -n 8 "$log" | awk '{print "#   console: " $0}'
		return 1
	fi
	return 0
}

# pxe_boot_wait NAME...: watches all the guests named at once; 0 when
# every one printed BRANCHLINE-PXE-OK.  PXE_MARKS[NAME] is each blmark=
# value; PXE_MARK and PXE_SECS are those of the last NAME.
pxe_boot_wait() {
	local n busy rc=0
	for n in "$@"; do
		[ -n "${PXE_QPID[$n]:-}" ] || fatal "pxe_boot_wait: $n was not started"
		PXE_VERDICT[$n]=''
		PXE_SIZE[$n]=-1
		PXE_GONE[$n]=0
		touch "$T/$n.serial.raw"
	done
	while :; do
		busy=0
		for n in "$@"; do
			[ -n "${PXE_VERDICT[$n]}" ] && continue
			pxe__poll "$n"
			[ -n "${PXE_VERDICT[$n]}" ] || busy=1
		done
		[ "$busy" = 0 ] && break
		sleep 0.2
	done
	for n in "$@"; do pxe__finish "$n" || rc=1; done
	return "$rc"
}

pxe_boot() { # NS NAME FIRMWARE NIC [qemu args]
	pxe_boot_start "$@"
	pxe_boot_wait "$2"
}

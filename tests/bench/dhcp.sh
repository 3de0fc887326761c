#!/usr/bin/env bash
# Benchmark: proxyDHCP answers per second, ours against dnsmasq in proxy
# mode.  A distribution node whose site has one boot entry (an efi-x64
# program, as tftp.sh sets it up) answers on UDP BENCH_DHCP_OPORT;
# dnsmasq 2.90 (--dhcp-range=10.77.0.0,proxy, one --pxe-service for
# x86-64_EFI) answers on 67, in the same namespace on the same address.
# Both run all along; each run floods one of them.  The client,
# tests/tools/dhcpflood.c (built here with cc -O2), runs in the other
# namespace across the veth: valid UEFI x64 PXE DISCOVERs (arch 7,
# option 60 PXEClient), each with its own xid and MAC, unicast to the
# server, at most BENCH_DHCP_WINDOW outstanding, for BENCH_DHCP_SECONDS;
# it counts the distinct replies (broadcast OFFERs on port 68).  Runs
# alternate ours / dnsmasq; every figure is the median of
# BENCH_DHCP_RUNS.  Logging: each server as it runs by default, its log
# to a file (ours: stderr, one line per answer, rate-limited past 10 a
# second, see common/pxed.c; dnsmasq: --log-facility=FILE, and
# --quiet-dhcp, its documented switch for not logging every packet;
# BENCH_DHCP_DNSMASQ_LOG=1 drops --quiet-dhcp).
#   tests/bench/dhcp.sh         (or: tests/bench/run dhcp)
# Environment (and dist_lib.sh's):
#   BENCH_DHCP_SECONDS  seconds per run (default 5)
#   BENCH_DHCP_RUNS     runs per server, the median counts (default 3)
#   BENCH_DHCP_WINDOW   requests outstanding at most (default 256)
#   BENCH_DHCP_OPORT    our proxyDHCP port (default 1067; 4011 moves to 14011)
#   BENCH_DHCP_DNSMASQ_LOG  1: dnsmasq logs every packet too (default 0)
# No target in the issue (5); the figure is reported as measured.
set -euo pipefail
BENCH=dhcp
. "$(dirname "$0")/dist_lib.sh"
SECS=${BENCH_DHCP_SECONDS:-5}
RUNS=${BENCH_DHCP_RUNS:-3}
WINDOW=${BENCH_DHCP_WINDOW:-256}
OPORT=${BENCH_DHCP_OPORT:-1067}
DLOG=${BENCH_DHCP_DNSMASQ_LOG:-0}

dl_build dnsmasq cc ss
dl_trap
cc -std=c11 -O2 -Wall -Wextra -o "$T/dhcpflood" "$ROOT/tests/tools/dhcpflood.c" 2>"$T/cc.log" ||
	die "building dhcpflood: $(head -n 5 "$T/cc.log")"
dl_random_file "$T/prog.efi" 1

dl_lan
dl_boot_serve "$T/prog.efi" "dhcp_port = $OPORT
dhcp_pxe_port = 14011
dhcp_interfaces = $VN
tftp_bind = $NIP
http_boot_bind = $NIP"
dl_wait_udp "$OPORT" "$NPID"

quiet=(--quiet-dhcp)
[ "$DLOG" = 1 ] && quiet=()
ip netns exec "$NSN" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --pid-file= \
	--user=root --group=root --interface="$VN" --dhcp-leasefile="$T/dnsmasq.leases" \
	--dhcp-range=10.77.0.0,proxy --pxe-service=x86-64_EFI,"Branchline bench",bootx64.efi \
	"${quiet[@]}" --log-facility="$T/dnsmasq.log" 2>"$T/dnsmasq.err" &
DMPID=$!
DL_PIDS+=("$DMPID")
dl_wait_udp 67 "$DMPID"

# flood PORT: one run; prints replies/s (and a comment line on stderr).
flood() {
	local line
	line=$(inp timeout $((SECS + 10)) "$T/dhcpflood" -t "$NIP" -p "$1" -s "$SECS" -w "$WINDOW" -a 7) ||
		die "dhcpflood to port $1 failed"
	echo "#   port $1: $line" >&2
	line=${line##*rate=}
	[ "$line" -gt 0 ] || die "no replies from port $1"
	echo "$line"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# cpu_ms PID: user + system CPU time of PID, in ms.
cpu_ms() {
	local f
	read -ra f <"/proc/$1/stat"
	echo $(((f[13] + f[14]) * 1000 / $(getconf CLK_TCK)))
}

o=() p=() oc=0 pc=0
for ((r = 0; r < RUNS; r++)); do
	c0=$(cpu_ms "$NPID")
	o+=("$(flood "$OPORT")")
	oc=$((oc + $(cpu_ms "$NPID") - c0))
	c0=$(cpu_ms "$DMPID")
	p+=("$(flood 67)")
	pc=$((pc + $(cpu_ms "$DMPID") - c0))
done
ours=$(median "${o[@]}")
peer=$(median "${p[@]}")
kill -0 "$NPID" 2>/dev/null || die "branchline-dist exited"
kill -0 "$DMPID" 2>/dev/null || die "dnsmasq exited"
echo "# ${SECS} s runs, window $WINDOW, median of $RUNS; dnsmasq ${quiet[*]:-(logging every packet)}"
echo "# ours: ${o[*]} replies/s; dnsmasq: ${p[*]} replies/s"
sum() { local t=0 v; for v in "$@"; do t=$((t + v)); done; echo "$t"; }
echo "# server CPU over all runs: ours $oc ms, dnsmasq $pc ms (of $((RUNS * SECS * 1000)) ms each);" \
	"per reply: ours $(awk -v c="$oc" -v n="$(sum "${o[@]}")" -v s="$SECS" 'BEGIN { printf "%.1f", c * 1000 / (n * s) }') us," \
	"dnsmasq $(awk -v c="$pc" -v n="$(sum "${p[@]}")" -v s="$SECS" 'BEGIN { printf "%.1f", c * 1000 / (n * s) }') us"
r=$(awk -v a="$ours" -v b="$peer" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "bench dhcp vs dnsmasq: ours=$ours peer=$peer ratio=$r"
bench_record dhcp "dhcp vs dnsmasq" "$ours" "$peer" "$r" replies/s -

#!/usr/bin/env bash
# Benchmark: a boot storm.  BENCH_STORM_CLIENTS TFTP clients start at once
# and each fetches the same BENCH_STORM_MB MiB file, first from our
# distribution node (serving it from its chunk store as bench/disk.img),
# then from tftpd-hpa serving the same bytes from a directory in the same
# namespace on the same address.  Clients are atftp with blksize 1428, in
# the other namespace across the veth (tbf removed); with ours they ask for
# windowsize BENCH_STORM_WINDOW (tftpd-hpa ignores it and runs lock-step).
# Every client's bytes go through a pipe into cmp against the original:
# each must exit 0 and match.  Throughput is all clients' file bytes over
# the wall time from the first start to the last exit.  Our server's peak
# RSS is its VmHWM, reset (clear_refs) just before the storm.  See
# tests/bench/dist_lib.sh for the topology.
#   tests/bench/storm.sh         (or: tests/bench/run storm)
# Environment (and dist_lib.sh's):
#   BENCH_STORM_CLIENTS  clients at once (default 500)
#   BENCH_STORM_MB       file size in MiB (default 32)
#   BENCH_STORM_WINDOW   windowsize our clients ask for (default 16)
#   BENCH_STORM_LIMIT    seconds each storm may take (default 900)
# No target in the issue (5) beyond every client completing and verifying;
# the figures are reported as measured.
set -euo pipefail
BENCH=storm
. "$(dirname "$0")/dist_lib.sh"
N=${BENCH_STORM_CLIENTS:-500}
MB=${BENCH_STORM_MB:-32}
WIN=${BENCH_STORM_WINDOW:-16}
LIMIT=${BENCH_STORM_LIMIT:-900}
BLK=1428
OPORT=6969 # ours; tftpd-hpa takes port 69
NAME=bench/disk.img

# storm PORT WINDOW TAG: N clients at once (WINDOW 0: no windowsize
# option); prints MB/s.  Dies unless every client exits 0 with the right
# bytes.  One launcher in the client namespace starts them all and waits;
# timeout bounds each client and the launcher.
storm() {
	local port=$1 w=$2 tag=$3 t0 t1 ok opt=
	[ "$w" -gt 0 ] && opt="--option 'windowsize $w'"
	rm -rf "$T/$tag"
	mkdir -p "$T/$tag"
	cat >"$T/$tag/run.sh" <<EOF
set -o pipefail
for i in \$(seq $N); do
	{ timeout $LIMIT atftp --option 'blksize $BLK' $opt -g -r $NAME -l /dev/stdout $NIP $port \\
		2>"$T/$tag/err.\$i" | cmp -s - "$T/root/$NAME" &&
		echo ok >"$T/$tag/ok.\$i"; } &
done
wait
EOF
	t0=$(date +%s%N)
	inp timeout $((LIMIT + 30)) bash "$T/$tag/run.sh" || die "$tag: the clients did not finish within $LIMIT s"
	t1=$(date +%s%N)
	ok=$(find "$T/$tag" -name 'ok.*' | wc -l)
	[ "$ok" -eq "$N" ] || die "$tag: only $ok of $N clients got the file intact ($(cat "$T/$tag"/err.* | sort | uniq -c | sort -rn | head -n 3))"
	echo "# $tag: $N clients, $((t1 - t0)) ns" >&2
	awk -v b=$((SIZE * N)) -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }'
}

dl_build atftp in.tftpd ss
dl_trap
dl_random_file "$T/root/$NAME" "$MB"
SIZE=$(stat -c %s "$T/root/$NAME")

dl_lan
# All clients share one address: the per-client limit must let them in.
dl_boot_serve "$T/root/$NAME" "tftp_bind = $NIP
tftp_port = $OPORT
tftp_max_per_client = 1024
tftp_max_transfers = 4096"
dl_wait_udp "$OPORT" "$NPID"
cat "$T/root/$NAME" >/dev/null # in the page cache, for cmp and the peer

echo 5 >"/proc/$NPID/clear_refs" # VmHWM from here on
rss0=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$NPID/status")
ours=$(storm "$OPORT" "$WIN" ours)
hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$NPID/status")
served=$(grep -c "sent bench@1/disk.img" "$T/node.log" || true)
echo "# ours: $ours MB/s; $served transfers logged; RSS before ${rss0} kB, peak during ${hwm} kB"

ip netns exec "$NSN" in.tftpd --foreground --listen --address "$NIP:69" --user root \
	--secure "$T/root" 2>"$T/tftpd-hpa.log" &
PID=$!
DL_PIDS+=("$PID")
dl_wait_udp 69 "$PID"
peer=$(storm 69 0 tftpd-hpa)
dl_stop_pid "$PID"
echo "# tftpd-hpa: $peer MB/s"

echo "# $N clients x $MB MiB, blksize $BLK; ours at windowsize $WIN, tftpd-hpa lock-step"
r=$(awk -v a="$ours" -v b="$peer" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "bench storm vs tftpd-hpa: ours=$ours peer=$peer ratio=$r"
echo "bench storm peak RSS: ours=$((hwm / 1024)) MiB (VmHWM of branchline-dist during the storm)"
bench_record storm "storm vs tftpd-hpa" "$ours" "$peer" "$r" MB/s -
bench_record storm "storm peak RSS" $((hwm / 1024)) - - MiB -

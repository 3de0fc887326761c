#!/usr/bin/env bash
# Benchmark: bandwidth cap accuracy.  The node's site has a replication
# window open all day with a cap ('daily 00:00-24:00 8mbit'); the node
# replicates a random image over a fast path (tbf 100 Mbit/s, blrelay
# 20 ms each way), pacing itself.  The relay's once-a-second stats lines
# give the rate: the average over the transfer without its first and last
# (partial) seconds, and the busiest of those seconds.  The peer is the
# cap itself.  For context, the same figures from tbf's byte counter on
# the primary's veth (whole frames as they leave, sampled every 100 ms,
# busiest sliding second).  See tests/bench/dist_lib.sh for the topology.
#   tests/bench/cap.sh         (or: tests/bench/run cap)
# Environment (and dist_lib.sh's):
#   BENCH_CAP_MB     image size in MiB (default 40)
#   BENCH_CAP_MBIT   the window's cap in Mbit/s (default 8)
#   BENCH_CAP_RATE   tbf rate of the path (default 100mbit)
#   BENCH_CAP_DELAY  relay delay per direction in ms (default 20)
# Targets (issue 4): 0.95 <= ratio <= 1.05, max1s <= 1.10.
set -euo pipefail
BENCH=cap
. "$(dirname "$0")/dist_lib.sh"
MB=${BENCH_CAP_MB:-40}
CAP=${BENCH_CAP_MBIT:-8}
RATE=${BENCH_CAP_RATE:-100mbit}
DELAY=${BENCH_CAP_DELAY:-20}
LIMIT=$((MB * 8 * 2 / CAP + 60)) # seconds: twice the capped transfer, plus setup

dl_build
dl_trap
head -c $((MB << 20)) /dev/urandom >"$T/disk.img"
SIZE=$(stat -c %s "$T/disk.img")

dl_net "$RATE"
dl_primary
dl_relay node 9443 8443 "$DELAY"
dl_site east --windows "daily 00:00-24:00 ${CAP}mbit"
dl_node east
dl_upload demo "$T/disk.img"
sleep 1

read -r t0 _ < <(dl_snap "$RPID" "$RSTATS")
inp "$C" -q site set east --image demo >"$T/set.out" 2>&1 || die "site set: $(cat "$T/set.out")"
# No SIGUSR1 during the transfer: the relay's own lines are one second
# apart.  tbf is sampled every 100 ms.
DL_TICK=dl_tbf_sample
dl_wait_complete demo@1 "$LIMIT"
read -r t1 _ < <(dl_snap "$RPID" "$RSTATS")
grep "demo@1 complete" "$T/node.log" | sed 's/^/#   node: /'

# Lines t0..t1: i = the first whose down counter changed, j = the last
# (t1's, written just after completion).  The seconds between them are
# whole: lines i+1..j-1, each against the line before.
read -r avg max1 nsec bytes < <(awk -v a="$t0" -v b="$t1" '
	$1 < a || $1 > b { next }
	{ n++; t[n] = $1; d[n] = $2 }
	END {
		for (k = 2; k <= n; k++) if (d[k] != d[k - 1]) { if (!i) i = k; j = k }
		if (!i || j - 1 <= i) { print "0 0 0 0"; exit }
		for (k = i + 1; k <= j - 1; k++) {
			r = (d[k] - d[k - 1]) * 8 / (t[k] - t[k - 1]) / 1000
			if (r > m) m = r
		}
		avg = (d[j - 1] - d[i]) * 8 / (t[j - 1] - t[i]) / 1000
		printf "%.3f %.3f %d %d\n", avg, m, j - 1 - i, d[j] - d[1]
	}' "$RSTATS")
[ "$nsec" -ge 5 ] || die "only $nsec whole seconds of transfer in the relay's stats"
[ "$bytes" -ge "$SIZE" ] || die "the relay passed $bytes bytes down for a $SIZE-byte image"
echo "# relay: $bytes bytes down in all; $nsec whole seconds: avg $avg Mbit/s, busiest second $max1 Mbit/s"
echo "#   each second (Mbit/s): $(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 <= b {
	if (n++) printf "%.1f ", ($2 - pd) * 8 / ($1 - pt) / 1000; pt = $1; pd = $2 }' "$RSTATS")"
# tbf: the same span, from the first to the last change of its counter.
awk '
	{ n++; t[n] = $1; s[n] = $2 }
	END {
		for (k = 2; k <= n; k++) if (s[k] != s[k - 1]) { if (!i) i = k - 1; j = k }
		if (!i) exit
		for (k = i; k <= j; k++)
			for (l = k + 1; l <= j; l++)
				if (t[l] - t[k] >= 1000) {
					r = (s[l] - s[k]) * 8 / (t[l] - t[k]) / 1000
					if (r > m) m = r
					break
				}
		printf "# tbf:   %d bytes (frames) in %.1f s: avg %.3f Mbit/s, busiest sliding second %.3f Mbit/s\n",
			s[j] - s[i], (t[j] - t[i]) / 1000, (s[j] - s[i]) * 8 / (t[j] - t[i]) / 1000, m
	}' "$T/tbf.samples"
echo "# path:  tbf $RATE, blrelay ${DELAY} ms each way; window 'daily 00:00-24:00 ${CAP}mbit'; image ${MB} MiB of random data"
echo "# target: 0.95 <= ratio <= 1.05, max1s <= 1.10"
r=$(ratio "$avg" "$CAP") r1=$(ratio "$max1" "$CAP")
echo "bench cap accuracy: ours=$avg peer=$CAP ratio=$r max1s=$r1"
bench_record cap "cap accuracy" "$avg" "$CAP" "$r" Mbit/s "0.95..1.05"
bench_record cap "cap max1s (busiest second)" "$max1" "$CAP" "$r1" Mbit/s "<= 1.10"

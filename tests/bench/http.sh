#!/usr/bin/env bash
# Benchmark: HTTP boot file throughput, ours against nginx.  A
# distribution node serves a random file named by its site's boot entries
# over HTTP (GET /boot/bench/disk.img, streamed from its chunk store
# through the verified chunk cache); nginx 1.22 serves the same bytes
# from a directory (sendfile on, access log off), in the same namespace
# on the same address.  The client, wrk, runs in the other namespace
# across the veth (no shaping: tbf is removed), with the same settings
# for both: BENCH_HTTP_THREADS threads, BENCH_HTTP_CONNS keep-alive
# connections, each fetching the whole file over and over for
# BENCH_HTTP_SECONDS.  MB/s are body and header bytes wrk read (10^6)
# over its run time, from wrk's own summary (a Lua done() hook); a run
# with any error or non-200 answer fails the benchmark.  Runs alternate
# ours / nginx; every figure is the median of BENCH_HTTP_RUNS.  Both
# servers are checked first with curl and cmp.  nginx runs
# BENCH_HTTP_NGINX_WORKERS worker processes (default 1: our node serves
# HTTP from one event-loop thread).  See tests/bench/dist_lib.sh for the
# topology.
#   tests/bench/http.sh         (or: tests/bench/run http)
# Environment (and dist_lib.sh's):
#   BENCH_HTTP_MB       file size in MiB (default 64)
#   BENCH_HTTP_THREADS  wrk threads (default 2)
#   BENCH_HTTP_CONNS    wrk connections (default 16)
#   BENCH_HTTP_SECONDS  seconds per run (default 10)
#   BENCH_HTTP_RUNS     runs per server, the median counts (default 3)
#   BENCH_HTTP_NGINX_WORKERS  nginx worker_processes (default 1)
# Target (issue 5): ratio >= 0.8.
set -euo pipefail
BENCH=http
. "$(dirname "$0")/dist_lib.sh"
MB=${BENCH_HTTP_MB:-64}
THREADS=${BENCH_HTTP_THREADS:-2}
CONNS=${BENCH_HTTP_CONNS:-16}
SECS=${BENCH_HTTP_SECONDS:-10}
RUNS=${BENCH_HTTP_RUNS:-3}
WORKERS=${BENCH_HTTP_NGINX_WORKERS:-1}
OPORT=8080 # ours
NPORT=8081 # nginx
NAME=bench/disk.img

dl_build wrk nginx cmp
dl_trap
mkdir -p "$T/nginx/logs" "$T/nginx/tmp"
dl_random_file "$T/root/$NAME" "$MB"

dl_lan
dl_boot_serve "$T/root/$NAME" "http_boot_bind = $NIP
http_boot_port = $OPORT"
dl_http_nginx "$T/nginx" "$T/root" "$NIP:$NPORT" "$WORKERS"
cat "$T/root/$NAME" >/dev/null # nginx reads from the page cache

OURS=http://$NIP:$OPORT/boot/$NAME
PEER=http://$NIP:$NPORT/$NAME
for u in "$OURS" "$PEER"; do
	rm -f "$T/out"
	inp curl -sf -o "$T/out" "$u" || die "curl $u failed"
	cmp -s "$T/out" "$T/root/$NAME" || die "$u: the file differs"
done
rm -f "$T/out"

cat >"$T/done.lua" <<'EOF'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("WRK %d %d %d %d\n", summary.bytes,
		summary.duration, summary.requests,
		e.connect + e.read + e.write + e.status + e.timeout))
end
EOF

# cpu_ms PID...: user + system CPU time of the processes, in ms.
cpu_ms() {
	local pid t=0 f
	for pid in "$@"; do
		read -ra f <"/proc/$pid/stat" || continue
		# Fields 14, 15 (utime, stime) after "pid (comm) state".
		t=$((t + f[13] + f[14]))
	done
	echo $((t * 1000 / $(getconf CLK_TCK)))
}

# run URL PID...: one wrk run against the server whose processes are
# PID...; prints MB/s and the server's CPU ms per GB sent (and a comment
# line on stderr).
run() {
	local url=$1 bytes us reqs errs c0 c1
	shift
	c0=$(cpu_ms "$@")
	inp timeout $((SECS + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 10s \
		-s "$T/done.lua" "$url" >"$T/wrk.out" 2>&1 || die "wrk $url: $(tail -n 3 "$T/wrk.out")"
	c1=$(cpu_ms "$@")
	read -r _ bytes us reqs errs < <(grep '^WRK ' "$T/wrk.out") || die "wrk printed no summary"
	[ "$errs" -eq 0 ] || die "wrk $url: $errs errors: $(cat "$T/wrk.out")"
	[ "$reqs" -gt 0 ] || die "wrk $url: no request completed"
	echo "#   $url: $reqs requests, $bytes bytes in $((us / 1000)) ms, server CPU $((c1 - c0)) ms" >&2
	awk -v b="$bytes" -v us="$us" -v c=$((c1 - c0)) 'BEGIN { printf "%.1f %.0f\n", b / us, c / (b / 1e9) }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# The nginx worker processes, whose CPU time counts with the master's.
NGW=$(pgrep -P "$NGPID" | tr '\n' ' ')
o=() p=() oc=() pc=()
for ((r = 0; r < RUNS; r++)); do
	read -r v c < <(run "$OURS" "$NPID")
	o+=("$v") oc+=("$c")
	# shellcheck disable=SC2086 # NGW: a list of PIDs
	read -r v c < <(run "$PEER" "$NGPID" $NGW)
	p+=("$v") pc+=("$c")
done
ours=$(median "${o[@]}")
peer=$(median "${p[@]}")
kill -0 "$NPID" 2>/dev/null || die "branchline-dist exited"
echo "# $MB MiB file, wrk -t$THREADS -c$CONNS -d${SECS}s, median of $RUNS; nginx with $WORKERS worker(s), sendfile on"
echo "# ours: ${o[*]} MB/s; nginx: ${p[*]} MB/s"
echo "# server CPU ms per GB sent (median; includes the client's receive softirq work done on its CPU): ours $(median "${oc[@]}"), nginx $(median "${pc[@]}")"
echo "# target: ratio >= 0.8"
r=$(awk -v a="$ours" -v b="$peer" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "bench http vs nginx: ours=$ours peer=$peer ratio=$r"
bench_record http "http vs nginx" "$ours" "$peer" "$r" MB/s ">= 0.8"

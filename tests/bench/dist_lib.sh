# shellcheck shell=bash
# dist_lib.sh - shared by the distribution benchmarks (wan.sh, cap.sh,
# update.sh): the build, a two-namespace WAN, a primary, blrelay in front
# of it, one distribution node, sampling of the relay's byte counters, and
# cleanup of all of it on any exit.
#
# The WAN (created here, deleted on exit; nothing touches the host's own
# interfaces):
#
#   namespace blb-p-PID                          namespace blb-n-PID
#   branchline-primary 10.77.0.1:8443            branchline-dist
#   blrelay 10.77.0.1:9443 -> :8443 (+delay)     curl, rsync (peers)
#   peers' servers and their relays
#   veth blbpPID 10.77.0.1/24 ---------------- veth blbnPID 10.77.0.2/24
#     tbf (primary -> node direction)
#
# blrelay delays the application bytes (no netem here), so TCP between the
# relay and the node sees the short veth round trip; the delay shows in
# every request/response exchange, as on a real WAN, but not in TCP's
# congestion control.  The node enrolls through the relay and so pulls
# everything through it; operator calls (uploads, site changes) go to the
# primary directly and never show in the relay's counters.
#
# The caller sources this file, sets BENCH (its name, for messages), then
# calls dl_build, dl_net, dl_primary, ... ; see each function.
# Environment:
#   BENCH_DIR    scratch parent (default /var/tmp/branchline-bench)
#   BENCH_KEEP   1: keep the scratch directory (logs, relay stats)
#   BENCH_BIN    a build directory with primary/, distribution/ and
#                tests/blrelay (default: build/bench-dist, built here)

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
. tests/bench/table.sh
BENCH_DIR=${BENCH_DIR:-/var/tmp/branchline-bench}
NSP=blb-p-$$ # the primary's namespace
NSN=blb-n-$$ # the node's namespace
VP=blbp$$    # veth, primary side
VN=blbn$$    # veth, node side
PIP=10.77.0.1
NIP=10.77.0.2
T=$BENCH_DIR/$BENCH.$$
DL_PIDS=() # every process we started, in start order
DL_NETNS=0 # 1 once the namespaces exist

# die MESSAGE: the benchmark failed (recorded for tests/bench/run's table).
# skip MESSAGE: it cannot run here (no root, a peer program missing):
# exit status 77, which tests/bench/run reports as skipped.
die() { bench_failed "$BENCH" "$*"; echo "$BENCH: $*" >&2; exit 1; }
skip() { bench_skipped "$BENCH" "$*"; echo "$BENCH: skipped: $*" >&2; exit 77; }
# Run in the primary's / the node's namespace.  Not for background jobs:
# "inp cmd &" would fork a subshell, and $! would not be cmd's PID
# ("ip netns exec NS cmd &" is: ip execs cmd).
inp() { ip netns exec "$NSP" "$@"; }
inn() { ip netns exec "$NSN" "$@"; }
now_ms() { date +%s%3N; }

# Build the three programs and blrelay in a Release tree of its own:
# tests/bench/run's build/bench is configured with BL_TESTS=OFF, which
# leaves out tests/ and so blrelay.  Sets B.
dl_build() {
	local log=/tmp/$BENCH-build.$$ f t
	for t in ip tc curl jq openssl "$@"; do
		command -v "$t" >/dev/null ||
			skip "$t is missing (deploy/install-deps.sh --test)"
	done
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
	if [ -n "${BENCH_BIN:-}" ]; then
		B=$BENCH_BIN
	else
		if ! { cmake -S . -B build/bench-dist -G Ninja -DCMAKE_BUILD_TYPE=Release \
			-DBL_TESTS=ON && cmake --build build/bench-dist --target \
			branchline-primary branchline branchline-dist blrelay; } >"$log" 2>&1; then
			grep -E "error|FAILED" "$log" | head -n 5 >&2
			rm -f "$log"
			die "building failed"
		fi
		rm -f "$log"
		B=$ROOT/build/bench-dist
	fi
	P=$B/primary/branchline-primary
	C=$B/primary/branchline
	D=$B/distribution/branchline-dist
	RELAY=$B/tests/blrelay
	for f in "$P" "$C" "$D" "$RELAY"; do
		[ -x "$f" ] || die "$f is missing"
	done
}

# Stop what we started (newest first: nodes and clients before the
# servers they talk to), delete the namespaces, the scratch directory
# unless BENCH_KEEP=1.  On failure, the tails of the logs.
dl_cleanup() {
	local rc=$? i pid left f
	trap - EXIT INT TERM
	for ((i = ${#DL_PIDS[@]} - 1; i >= 0; i--)); do
		kill "${DL_PIDS[i]}" 2>/dev/null || true
	done
	for _ in $(seq 50); do
		left=0
		for pid in "${DL_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && left=1
		done
		[ "$left" -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${DL_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ "$DL_NETNS" -eq 1 ]; then
		# Anything still inside our namespaces is a child of ours
		# (nginx workers, rsync's forks): end those by PID.
		for pid in $(ip netns pids "$NSP" 2>/dev/null) $(ip netns pids "$NSN" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null || true
		done
		ip netns del "$NSP" 2>/dev/null || true
		ip netns del "$NSN" 2>/dev/null || true
		ip link del "$VP" 2>/dev/null || true # not moved yet
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -d "$T" ]; then
		for f in "$T"/*.log; do
			[ -s "$f" ] || continue
			echo "$BENCH: --- $(basename "$f") (tail)" >&2
			tail -n 15 "$f" >&2
		done
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}

dl_trap() {
	mkdir -p "$T"
	trap dl_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# dl_net RATE: the two namespaces, the veth pair, and tbf at RATE (tc
# syntax, e.g. 20mbit) on the primary side, shaping primary -> node.
# burst 64kb: veth hands tbf GSO packets of up to 64 KiB; a smaller
# bucket would make tbf split each of them (or drop it) instead of
# pacing it, and 64 KiB of excess is at most 26 ms of line rate at
# 20 Mbit/s, invisible in one-second figures.  latency 50ms: the queue
# holds rate x 50 ms + burst, one to two bandwidth-delay products of
# the 40 ms path we emulate (the usual router buffer), enough to keep
# the link busy without adding bufferbloat of its own.
dl_net() {
	local rate=$1
	ip netns add "$NSP"
	DL_NETNS=1
	ip netns add "$NSN"
	ip link add "$VP" type veth peer name "$VN"
	ip link set "$VP" netns "$NSP"
	ip link set "$VN" netns "$NSN"
	ip -n "$NSP" addr add "$PIP/24" dev "$VP"
	ip -n "$NSN" addr add "$NIP/24" dev "$VN"
	ip -n "$NSP" link set lo up
	ip -n "$NSN" link set lo up
	ip -n "$NSP" link set "$VP" up
	ip -n "$NSN" link set "$VN" up
	tc -n "$NSP" qdisc add dev "$VP" root tbf rate "$rate" burst 64kb latency 50ms
	# The relay counts bytes as its socket accepts them.  With the
	# default 4 MiB send buffers a connection's count could run seconds
	# ahead of the wire (the node paces itself by not reading, so its
	# streams' buffers sit full); 256 KiB keeps each connection's count
	# within 0.1 s of the wire at 20 Mbit/s and still fills the link (the TCP
	# round trip over the veth is short; the relay does the delay).  It
	# applies to every socket in the primary's namespace, peers'
	# servers included, and the loopback hop to the relay still runs at
	# Gbit/s.
	inp sysctl -q -w net.ipv4.tcp_wmem="4096 16384 262144"
}

# The primary in its namespace on $PIP:8443; sets TOK, CA, and the
# environment for the CLI ($C, run with inp).  The certificate names $PIP:
# the node reaches the primary through a relay on the same address.
dl_primary() {
	inp "$P" init --state "$T/p" --name "$PIP" >"$T/init.out" 2>&1 || die "init failed"
	TOK=$(tail -n 1 "$T/init.out")
	[[ $TOK == bl_* ]] || die "init printed no admin token"
	sed -i "s/^port = .*/port = 8443/; s/^bind = .*/bind = $PIP/" "$T/p/primary.conf"
	ip netns exec "$NSP" "$P" --config "$T/p/primary.conf" 2>"$T/primary.log" &
	DL_PIDS+=($!)
	CA=$T/p/pki/ca.crt
	export BRANCHLINE_SERVER=https://$PIP:8443 BRANCHLINE_TOKEN=$TOK BRANCHLINE_CA=$CA
	for _ in $(seq 150); do
		[ "$(inp curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$CA" \
			"$BRANCHLINE_SERVER/v1/openapi.json")" = 200 ] && return 0
		kill -0 "${DL_PIDS[-1]}" 2>/dev/null || die "the primary exited"
		sleep 0.1
	done
	die "the primary did not answer within 15 s"
}

# dl_relay NAME LISTEN_PORT CONNECT_PORT DELAY_MS: blrelay in the
# primary's namespace, $PIP:LISTEN -> $PIP:CONNECT, stats in
# $T/relay-NAME.stats and log in $T/relay-NAME.log.  Sets RPID (its PID)
# and RSTATS.
dl_relay() {
	local name=$1 lport=$2 cport=$3 delay=$4
	ip netns exec "$NSP" "$RELAY" --listen "$PIP:$lport" --connect "$PIP:$cport" --delay-ms "$delay" \
		--stats "$T/relay-$name.stats" --pidfile "$T/relay-$name.pid" 2>"$T/relay-$name.log" &
	RPID=$!
	DL_PIDS+=("$RPID")
	RSTATS=$T/relay-$name.stats
	for _ in $(seq 100); do
		[ -s "$T/relay-$name.pid" ] && return 0
		kill -0 "$RPID" 2>/dev/null || die "blrelay $name exited: $(tail -n 2 "$T/relay-$name.log")"
		sleep 0.05
	done
	die "blrelay $name did not start"
}

# The relay's latest counters, fresh (SIGUSR1 writes a line at once):
# prints "<unix_ms> <down> <up> <conns>".
dl_snap() {
	local pid=$1 file=$2 n
	n=$(wc -l <"$file")
	kill -USR1 "$pid"
	for _ in $(seq 100); do
		[ "$(wc -l <"$file")" -gt "$n" ] && break
		sleep 0.01
	done
	tail -n 1 "$file"
}

# dl_site NAME [site add options...]: a site for the node, one subnet.
dl_site() {
	local name=$1
	shift
	inp "$C" -q site add "$name" --subnet 10.9.0.0/24 "$@" >"$T/site.out" 2>&1 ||
		die "site add: $(cat "$T/site.out")"
}

# dl_node SITE [RELAY_PORT]: enroll a node of SITE through the relay on
# RELAY_PORT (default 9443) and start it in the node namespace; log in
# $T/node.log, state in $T/n.  Sets NPID.
dl_node() {
	local site=$1 rport=${2:-9443} fpr
	inp "$C" node add "$site" >"$T/nodetok" 2>"$T/nodeadd.err" ||
		die "node add: $(cat "$T/nodeadd.err")"
	fpr=$(grep -o 'ca-sha256 [0-9a-f]*' "$T/nodeadd.err" | cut -d' ' -f2)
	[ -n "$fpr" ] || die "node add printed no CA fingerprint"
	inn "$D" enroll --primary "https://$PIP:$rport" --ca-sha256 "$fpr" \
		--token "$(tail -n 1 "$T/nodetok")" --state "$T/n" >"$T/enroll.out" 2>&1 ||
		die "enroll: $(cat "$T/enroll.out")"
	ip netns exec "$NSN" "$D" --config "$T/n/dist.conf" 2>"$T/node.log" &
	NPID=$!
	DL_PIDS+=("$NPID")
	sleep 0.2
	kill -0 "$NPID" 2>/dev/null || die "branchline-dist exited: $(tail -n 3 "$T/node.log")"
}

# dl_upload NAME FILE: upload FILE as NAME's next version, path disk.img;
# waits for the import (the CLI does).
dl_upload() {
	inp "$C" -q image upload "$1" disk.img="$2" >"$T/upload.out" 2>&1 ||
		die "upload of $2: $(tail -n 3 "$T/upload.out")"
}

# The bytes tbf has sent on the primary's veth (frames as they leave on
# the wire, Ethernet header included), appended to $T/tbf.samples as
# "<unix_ms> <bytes>".
dl_tbf_sample() {
	local sent
	sent=$(tc -n "$NSP" -s qdisc show dev "$VP" | awk '$1 == "Sent" { print $2; exit }')
	echo "$(now_ms) $sent" >>"$T/tbf.samples"
}

# dl_wait_complete REF TIMEOUT_S [RELAY_PID]: wait for the node to log
# "REF complete"; with a relay, ask it for a stats line every 100 ms
# meanwhile (so the counters have 0.1 s resolution).  The command in
# DL_TICK, if set, runs every 100 ms too.  Sets DONE_MS.
dl_wait_complete() {
	local ref=$1 limit=$2 rpid=${3:-} end
	end=$(($(now_ms) + limit * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		if grep -q "$ref complete" "$T/node.log"; then
			DONE_MS=$(now_ms)
			return 0
		fi
		kill -0 "$NPID" 2>/dev/null || die "branchline-dist exited"
		[ -z "$rpid" ] || kill -USR1 "$rpid" 2>/dev/null || true
		[ -z "${DL_TICK:-}" ] || $DL_TICK
		sleep 0.1
	done
	echo "$BENCH: node state:" >&2
	inn "$D" status --state "$T/n" >&2 || true
	die "$ref not complete after $limit s"
}

# dl_span STATS FROM_MS TO_MS: over the stats lines with FROM <= t <= TO,
# the transfer from its first to its last change of the down counter.
# The first change is seen at sample i, so it started after sample i-1:
# bytes and time run from sample i-1 (the last one before any change) to
# the last sample that changed.  Prints "<bytes> <ms> <up_bytes>".
dl_span() {
	awk -v a="$2" -v b="$3" '
		$1 < a || $1 > b { next }
		n > 0 && $2 != pd {
			if (!s) { s = 1; t0 = pt; d0 = pd; u0 = pu }
			t1 = $1; d1 = $2; u1 = $3
		}
		{ n++; pt = $1; pd = $2; pu = $3 }
		END {
			if (!s) { print "0 0 0"; exit }
			printf "%d %d %d\n", d1 - d0, t1 - t0, u1 - u0
		}' "$1"
}

mbit() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.2f", (ms > 0 ? b * 8 / ms / 1000 : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }

# dl_boot_node SITE CONF_LINES: like dl_node (enrolling with the primary
# directly, no relay), with CONF_LINES (tftp_* and boot_* keys, one a
# line) appended to the node's dist.conf before it starts.  For the boot
# benchmarks (tftp.sh, storm.sh).  Sets NPID.
dl_boot_node() {
	local site=$1 conf=$2 fpr
	inp "$C" node add "$site" >"$T/nodetok" 2>"$T/nodeadd.err" ||
		die "node add: $(cat "$T/nodeadd.err")"
	fpr=$(grep -o 'ca-sha256 [0-9a-f]*' "$T/nodeadd.err" | cut -d' ' -f2)
	[ -n "$fpr" ] || die "node add printed no CA fingerprint"
	inn "$D" enroll --primary "https://$PIP:8443" --ca-sha256 "$fpr" \
		--token "$(tail -n 1 "$T/nodetok")" --state "$T/n" >"$T/enroll.out" 2>&1 ||
		die "enroll: $(cat "$T/enroll.out")"
	printf '%s\n' "$conf" >>"$T/n/dist.conf"
	ip netns exec "$NSN" "$D" --config "$T/n/dist.conf" 2>"$T/node.log" &
	NPID=$!
	DL_PIDS+=("$NPID")
	sleep 0.2
	kill -0 "$NPID" 2>/dev/null || die "branchline-dist exited: $(tail -n 3 "$T/node.log")"
}

# dl_stop_pid PID: stop one process we started and drop it from DL_PIDS
# (so the cleanup never signals a PID that may have been reused).  Not
# in a subshell: it edits this shell's DL_PIDS.
dl_stop_pid() {
	local pid=$1 p keep=()
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for p in "${DL_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
	DL_PIDS=("${keep[@]}")
}

# dl_wait_udp PORT PID: wait (5 s at most) for a UDP listener on PORT in
# the node's namespace; PID is the server's, which must not exit.
dl_wait_udp() {
	local port=$1 pid=$2
	for _ in $(seq 100); do
		[ -n "$(inn ss -Hlun "sport = :$port")" ] && return 0
		kill -0 "$pid" 2>/dev/null || die "the server on port $port exited"
		sleep 0.05
	done
	die "nothing listens on port $port"
}

# dl_boot_serve FILE CONF_LINES: with the primary running (dl_net,
# dl_primary), upload FILE as image "bench" (path disk.img), make site
# east with one boot entry naming it, and start an enrolled node with
# CONF_LINES appended to its dist.conf (dl_boot_node).  Returns once the
# node has replicated the image and published bench/disk.img.
dl_boot_serve() {
	local file=$1 conf=$2
	dl_site east
	inp "$C" -q image upload bench disk.img="$file" >"$T/upload.out" 2>&1 ||
		die "upload of $file: $(tail -n 3 "$T/upload.out")"
	cat >"$T/east.json" <<'EOJ'
{"name": "east", "tz": "UTC", "images": ["bench"],
 "boot": [{"name": "big", "arch": "efi-x64", "kind": "program",
           "image": "bench", "program": "disk.img"}]}
EOJ
	inp "$C" -q site set east --file "$T/east.json" >"$T/set.out" 2>&1 ||
		die "site set: $(cat "$T/set.out")"
	dl_boot_node east "$conf"
	dl_wait_complete bench@1 300
	for _ in $(seq 100); do
		grep -q "boot files of site east: 1 published" "$T/node.log" && return 0
		sleep 0.1
	done
	die "the node did not publish bench/disk.img"
}

# dl_wait_tcp PORT PID: wait (5 s at most) for a TCP listener on PORT in
# the node's namespace; PID is the server's, which must not exit.
dl_wait_tcp() {
	local port=$1 pid=$2
	for _ in $(seq 100); do
		[ -n "$(inn ss -Hltn "sport = :$port")" ] && return 0
		kill -0 "$pid" 2>/dev/null || die "the server on port $port exited"
		sleep 0.05
	done
	die "nothing listens on TCP port $port"
}

# dl_http_nginx PREFIX ROOT ADDR:PORT WORKERS: nginx in the node's
# namespace serving ROOT on ADDR:PORT (a peer for the HTTP boot
# benchmark): its own configuration and logs under PREFIX, in the
# foreground (daemon off) so that it is ours to stop, WORKERS worker
# processes, sendfile on, no access log.  Sets NGPID.
dl_http_nginx() {
	local prefix=$1 root=$2 listen=$3 workers=$4
	mkdir -p "$prefix/logs"
	cat >"$prefix/nginx.conf" <<EONG
daemon off;
master_process on;
worker_processes $workers;
user root root;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000;
	types { }
	default_type application/octet-stream;
	server {
		listen $listen;
		root $root;
	}
}
EONG
	ip netns exec "$NSN" nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
		2>"$T/nginx.log" &
	NGPID=$!
	DL_PIDS+=("$NGPID")
	dl_wait_tcp "${listen##*:}" "$NGPID"
}

# dl_lan: the two namespaces on an unshaped 10 Gbit/s veth (the boot
# benchmarks measure servers, not a WAN), and the primary.
dl_lan() {
	dl_net 10gbit
	tc -n "$NSP" qdisc del dev "$VP" root
	dl_primary
}

# dl_random_file PATH MIB: MIB MiB of random bytes at PATH, and $T
# readable by servers that drop root (nginx, tftpd-hpa, dnsmasq).
dl_random_file() {
	mkdir -p "$(dirname "$1")"
	head -c $(($2 << 20)) /dev/urandom >"$1"
	chmod -R a+rX "$T"
}

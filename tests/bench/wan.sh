#!/usr/bin/env bash
# Benchmark: link utilization on a WAN.  One distribution node replicates
# a random (incompressible) image from the primary over a path shaped to
# 20 Mbit/s (tbf) with 40 ms of round trip (blrelay, 20 ms each way);
# then a real peer, one curl HTTPS download of the same file from nginx,
# runs over the same kind of path (its own relay, same delay, same tbf).
# Both rates are the relay's down counter (TLS records as they go on the
# wire towards the client) from its first to its last change, sampled
# every 100 ms.  See tests/bench/dist_lib.sh for the topology.
#   tests/bench/wan.sh         (or: tests/bench/run wan)
# Environment (and dist_lib.sh's):
#   BENCH_WAN_MB     image size in MiB (default 100)
#   BENCH_WAN_RATE   tbf rate (default 20mbit)
#   BENCH_WAN_DELAY  relay delay per direction in ms (default 20)
# Target (issue 4): ratio >= 0.9.
set -euo pipefail
BENCH=wan
. "$(dirname "$0")/dist_lib.sh"
MB=${BENCH_WAN_MB:-100}
RATE=${BENCH_WAN_RATE:-20mbit}
DELAY=${BENCH_WAN_DELAY:-20}
LIMIT=$((MB * 8 / 2 + 120)) # seconds: the transfer at 2 Mbit/s, plus setup

dl_build nginx
dl_trap
mkdir -p "$T/www"
head -c $((MB << 20)) /dev/urandom >"$T/www/disk.img"
SIZE=$(stat -c %s "$T/www/disk.img")

dl_net "$RATE"
dl_primary
dl_relay node 9443 8443 "$DELAY"
NRPID=$RPID NRSTATS=$RSTATS
dl_site east
dl_node east
dl_upload demo "$T/www/disk.img"
sleep 1 # the node has its first catalog; nothing to fetch yet

# --- ours: assign the image, wait for it ---------------------------------
read -r t0 _ < <(dl_snap "$NRPID" "$NRSTATS")
inp "$C" -q site set east --image demo >"$T/set.out" 2>&1 || die "site set: $(cat "$T/set.out")"
dl_wait_complete demo@1 "$LIMIT" "$NRPID"
dl_snap "$NRPID" "$NRSTATS" >/dev/null
read -r obytes oms oup < <(dl_span "$NRSTATS" "$t0" "$DONE_MS")
[ "$obytes" -ge "$SIZE" ] || die "the relay passed $obytes bytes down for a $SIZE-byte image"
ours=$(mbit "$obytes" "$oms")
echo "# ours:  $obytes bytes down (up $oup) in $oms ms: $ours Mbit/s on the wire," \
	"$(mbit "$SIZE" "$oms") Mbit/s of image bytes"
grep "demo@1 complete" "$T/node.log" | sed 's/^/#   node: /'
# Per second of the transfer (100 ms samples binned): stalls show here.
echo "#   each second (Mbit/s): $(awk -v a="$t0" -v b="$DONE_MS" '
	$1 < a || $1 > b { next }
	n++ && $2 != pd { if (!s) s = pt; k = int(($1 - s) / 1000); m[k] += $2 - pd; if (k > K) K = k }
	{ pt = $1; pd = $2 }
	END { for (k = 0; k <= K; k++) printf "%.1f ", m[k] * 8 / 1e6 }' "$NRSTATS")"

# --- peer: nginx + curl over the same kind of path -----------------------
NG=$T/nginx
mkdir -p "$NG"
cat >"$NG/nginx.conf" <<EOF
worker_processes 1;
user root;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
daemon off;
events { worker_connections 64; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	client_body_temp_path $NG/body;
	proxy_temp_path $NG/proxy;
	default_type application/octet-stream;
	server {
		listen $PIP:8445 ssl;
		ssl_certificate $T/p/pki/server.crt;
		ssl_certificate_key $T/p/pki/server.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		root $T/www;
		location / { }
	}
}
EOF
NGINX=$(command -v nginx)
inp "$NGINX" -e "$NG/error.log" -p "$NG" -c "$NG/nginx.conf" -t -q || die "nginx refused its configuration"
ip netns exec "$NSP" "$NGINX" -e "$NG/error.log" -p "$NG" -c "$NG/nginx.conf" &
DL_PIDS+=($!)
dl_relay peer 9445 8445 "$DELAY"
PRPID=$RPID PRSTATS=$RSTATS
for _ in $(seq 100); do
	[ "$(inp curl -s -o /dev/null -w '%{http_code}' -r 0-0 --cacert "$CA" \
		"https://$PIP:8445/disk.img")" = 206 ] && break
	sleep 0.1
done
read -r t0 _ < <(dl_snap "$PRPID" "$PRSTATS")
ip netns exec "$NSN" curl -sS --http1.1 --cacert "$CA" --max-time "$LIMIT" -o /dev/null \
	-w '%{http_code} %{size_download}\n' "https://$PIP:9445/disk.img" >"$T/curl.out" 2>"$T/curl.log" &
CPID=$!
DL_PIDS+=("$CPID")
while kill -0 "$CPID" 2>/dev/null; do
	kill -USR1 "$PRPID" 2>/dev/null || true
	sleep 0.1
done
wait "$CPID" || die "curl failed: $(cat "$T/curl.log")"
t1=$(now_ms)
dl_snap "$PRPID" "$PRSTATS" >/dev/null
read -r code got <"$T/curl.out"
if [ "$code" != 200 ] || [ "$got" -ne "$SIZE" ]; then
	die "curl: status $code, $got of $SIZE bytes"
fi
read -r pbytes pms pup < <(dl_span "$PRSTATS" "$t0" "$t1")
peer=$(mbit "$pbytes" "$pms")
echo "# peer:  $pbytes bytes down (up $pup) in $pms ms: $peer Mbit/s on the wire (curl <- nginx, one HTTPS GET)"
echo "# path:  tbf $RATE primary -> node, blrelay ${DELAY} ms each way; image ${MB} MiB of random data"
echo "# target: ratio >= 0.9"
r=$(ratio "$ours" "$peer")
echo "bench wan utilization: ours=$ours peer=$peer ratio=$r"
bench_record wan "wan utilization" "$ours" "$peer" "$r" Mbit/s ">= 0.9"

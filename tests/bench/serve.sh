#!/usr/bin/env bash
# Benchmark: serving chunks.  branchline-primary's batch endpoint
# (POST /v1/chunks/batch, mutual TLS) against nginx serving the very same
# chunk files statically over TLS (keep-alive; sendfile on, though
# without kernel TLS nginx encrypts in user space too), fetched by the
# same client (curl --parallel, 4 transfers at a time, HTTP/1.1,
# keep-alive) on 127.0.0.1.  Then the primary's peak RSS while 100
# concurrent batch downloads run.
#   tests/bench/serve.sh          (or: tests/bench/run serve)
# Environment:
#   BENCH_DIR            scratch parent (default /var/tmp/branchline-bench)
#   BENCH_SERVE_MB       image size in MiB (default 512), random data
#   BENCH_SERVE_PORT     primary's port (default 18600; nginx uses +1)
#   BENCH_SERVE_REPS     timed rounds per server, best kept (default 3)
#   BENCH_SERVE_WORKERS  nginx worker processes (default 1: the primary
#                        serves from one event loop too)
#   BENCH_PRIMARY        the primary binary (default: build/bench's, built
#                        here)
# Target (issue 3): ratio >= 0.8; the peak RSS has none.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/bench/table.sh
BENCH_DIR=${BENCH_DIR:-/var/tmp/branchline-bench}
MB=${BENCH_SERVE_MB:-512}
PORT=${BENCH_SERVE_PORT:-18600}
NPORT=$((PORT + 1))
REPS=${BENCH_SERVE_REPS:-3}
WORKERS=${BENCH_SERVE_WORKERS:-1}
PAR=4         # parallel transfers, both servers
BATCH=1024    # ids per batch request (the primary's maximum)
CONC=100      # concurrent batches for the memory figure
CONC_IDS=256  # ids in each of those

die() { bench_failed serve "$*"; echo "serve: $*" >&2; exit 1; }
# skip: something this benchmark needs is missing (exit status 77:
# tests/bench/run reports it as skipped).
skip() { bench_skipped serve "$*"; echo "serve: skipped: $*" >&2; exit 77; }

for t in nginx curl jq openssl; do
	command -v "$t" >/dev/null || skip "$t is missing (deploy/install-deps.sh --test)"
done
if [ -z "${BENCH_PRIMARY:-}" ]; then
	if ! { cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DBL_TESTS=OFF && cmake --build build/bench --target branchline-primary; } \
		>/tmp/serve-build.$$ 2>&1; then
		grep -E "error|FAILED" /tmp/serve-build.$$ | head -n 5 >&2
		rm -f /tmp/serve-build.$$
		die "building branchline-primary failed"
	fi
	rm -f /tmp/serve-build.$$
	BENCH_PRIMARY=$ROOT/build/bench/primary/branchline-primary
fi
P=$BENCH_PRIMARY
NGINX=$(command -v nginx)

now() { date +%s%N; }
mbps() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.0f", b / (ns / 1e9) / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for p in "$PORT" "$NPORT"; do
	! port_busy "$p" || die "port $p on 127.0.0.1 is in use (set BENCH_SERVE_PORT)"
done

mkdir -p "$BENCH_DIR"
DIR=$BENCH_DIR/serve.$$
PPID_=""  # the primary
NPID=""   # nginx's master
BGPIDS=() # concurrent curls
cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in "${BGPIDS[@]}" $NPID $PPID_; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${BGPIDS[@]}" $NPID $PPID_; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ]; then
		for f in primary.log nginx/error.log; do
			[ -s "$DIR/$f" ] && { echo "serve: --- $f (tail)" >&2; tail -n 20 "$DIR/$f" >&2; }
		done
	fi
	rm -rf "$DIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$DIR"

# --- the primary ---------------------------------------------------------
TOK=$("$P" init --state "$DIR/primary" --name localhost --name 127.0.0.1 | tail -n 1)
[[ $TOK == bl_* ]] || die "init printed no admin token"
sed -i "s/^port = .*/port = $PORT/; s/^bind = .*/bind = 127.0.0.1/" "$DIR/primary/primary.conf"
"$P" --config "$DIR/primary/primary.conf" >"$DIR/primary.log" 2>&1 &
PPID_=$!
U=https://127.0.0.1:$PORT
CA=$DIR/primary/pki/ca.crt
C=(curl -sS --fail-with-body --http1.1 --cacert "$CA")
A=(-H "Authorization: Bearer $TOK")
for _ in $(seq 100); do
	"${C[@]}" -o /dev/null "$U/v1/openapi.json" 2>/dev/null && break
	kill -0 "$PPID_" 2>/dev/null || die "the primary exited"
	sleep 0.1
done
"${C[@]}" -o /dev/null "$U/v1/openapi.json" || die "the primary does not answer"

"${C[@]}" "${A[@]}" -o /dev/null -d '{"name":"bench"}' "$U/v1/sites"
ET=$("${C[@]}" "${A[@]}" -d '{"site":"bench"}' "$U/v1/nodes" | jq -r .token)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$DIR/node.key" -subj /CN=bench -out "$DIR/node.csr" 2>/dev/null
jq -n --arg t "$ET" --rawfile c "$DIR/node.csr" '{token:$t,csr:$c}' |
	"${C[@]}" -d @- "$U/v1/enroll" | jq -r .certificate >"$DIR/node.crt"
grep -q "BEGIN CERTIFICATE" "$DIR/node.crt" || die "enrollment gave no certificate"

# --- the image: random (incompressible), so chunk files hold raw bytes ---
SIZE=$((MB << 20))
head -c "$SIZE" /dev/urandom >"$DIR/disk.img"
UP=$("${C[@]}" "${A[@]}" -d "{\"image\":\"bench\",\"files\":[{\"path\":\"disk.img\",\"size\":$SIZE}]}" \
	"$U/v1/uploads" | jq -r .id)
PIECE=$((64 << 20))
t0=$(now)
for ((off = 0; off < SIZE; off += PIECE)); do
	len=$((SIZE - off < PIECE ? SIZE - off : PIECE))
	dd if="$DIR/disk.img" of="$DIR/piece" bs=1M iflag=skip_bytes,count_bytes \
		skip="$off" count="$len" status=none
	"${C[@]}" "${A[@]}" -o /dev/null -X PUT -H "Content-Range: bytes $off-$((off + len - 1))/$SIZE" \
		--data-binary @"$DIR/piece" "$U/v1/uploads/$UP/files/0"
done
rm -f "$DIR/piece"
"${C[@]}" "${A[@]}" -o /dev/null -X POST "$U/v1/uploads/$UP/finalize"
while :; do
	st=$("${C[@]}" "${A[@]}" "$U/v1/uploads/$UP" | jq -r .state)
	case $st in
	done) break ;;
	open | importing) sleep 0.2 ;;
	*) die "upload $UP: state $st" ;;
	esac
done
t1=$(now)
echo "# uploaded and imported ${MB} MiB: $(mbps "$SIZE" $((t1 - t0))) MB/s"
rm -f "$DIR/disk.img"

# --- the chunk list ------------------------------------------------------
CH=$DIR/primary/store/chunks
[ -d "$CH" ] || die "no chunk directory $CH"
(cd "$CH" && find . -type f -regextype posix-extended \
	-regex '\./[^/]+/[0-9a-f]{64}' -printf '%P %s\n') | sort >"$DIR/chunks"
NCH=$(wc -l <"$DIR/chunks")
BYTES=$(awk '{ s += $2 } END { printf "%d", s }' "$DIR/chunks")
[ "$NCH" -gt 0 ] || die "no chunk files under $CH"
# Random data: every chunk stored raw, so the files add up to the image.
[ "$BYTES" -eq "$SIZE" ] ||
	die "chunk files hold $BYTES bytes, the image $SIZE (compressed or shared chunks?)"
echo "# ${NCH} chunks, ${BYTES} bytes"
awk '{ n = split($1, a, "/"); print a[n] }' "$DIR/chunks" >"$DIR/ids"
cat "$CH"/*/* >/dev/null 2>&1 || true # both servers read from the page cache

# --- nginx on the same files ---------------------------------------------
NG=$DIR/nginx
mkdir -p "$NG"
cat >"$NG/nginx.conf" <<EOF
worker_processes $WORKERS;
$([ "$(id -u)" -eq 0 ] && echo "user root;")
pid $NG/nginx.pid;
error_log $NG/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	keepalive_requests 1000000;
	client_body_temp_path $NG/body;
	proxy_temp_path $NG/proxy;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$NPORT ssl;
		ssl_certificate $DIR/primary/pki/server.crt;
		ssl_certificate_key $DIR/primary/pki/server.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		root $CH;
		location / { }
	}
}
EOF
"$NGINX" -e "$NG/error.log" -p "$NG" -c "$NG/nginx.conf" -t -q ||
	die "nginx refused its configuration"
"$NGINX" -e "$NG/error.log" -p "$NG" -c "$NG/nginx.conf" &
NPID=$!
NU=https://127.0.0.1:$NPORT
for _ in $(seq 100); do
	"${C[@]}" -o /dev/null "$NU/$(head -n 1 "$DIR/chunks" | cut -d' ' -f1)" 2>/dev/null && break
	kill -0 "$NPID" 2>/dev/null || die "nginx exited"
	sleep 0.1
done

# --- the client's work lists ---------------------------------------------
# nginx: one GET per chunk file.  Branchline: one POST per 1024 ids.
# Either way one curl, --parallel --parallel-max 4, keep-alive.
awk -v u="$NU" '{ printf "url = \"%s/%s\"\noutput = \"/dev/null\"\n", u, $1 }' \
	"$DIR/chunks" >"$DIR/nginx.cfg"
split -l "$BATCH" -d -a 4 "$DIR/ids" "$DIR/batch."
first=1
for b in "$DIR"/batch.*; do
	[ $first -eq 1 ] || echo next
	first=0
	printf 'url = "%s/v1/chunks/batch"\ndata-binary = "@%s"\noutput = "/dev/null"\n' "$U" "$b"
	printf 'cacert = "%s"\ncert = "%s"\nkey = "%s"\nhttp1.1\nfail\n' "$CA" "$DIR/node.crt" "$DIR/node.key"
	printf 'write-out = "%%{http_code} %%{size_download}\\n"\n'
done >"$DIR/ours.cfg"
NB=$(ls "$DIR"/batch.* | wc -l)

# CPU seconds (user + system, in ticks) used so far by processes PIDS.
ticks() {
	local p t=0
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK)
secs() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }
# round NAME CFG EXPECTED_BYTES EXPECTED_TRANSFERS SERVER_PIDS...: one
# timed fetch of every chunk; sets NS (wall), SCPU and CCPU (ticks of the
# server and of the client).
round() {
	local name=$1 cfg=$2 want=$3 ntr=$4 t0 t1 s0 s1 got bad n
	shift 4
	s0=$(ticks "$@")
	t0=$(now)
	# bash's time keyword: the client's own CPU time, in ticks
	{ TIMEFORMAT='%3U %3S'; time curl -sS --no-progress-meter --http1.1 \
		--cacert "$CA" --parallel --parallel-max "$PAR" \
		-w '%{http_code} %{size_download}\n' -K "$cfg" \
		>"$DIR/w.$name" 2>"$DIR/e.$name"; } 2>"$DIR/t.$name" ||
		die "$name: curl failed: $(head -c 300 "$DIR/e.$name")"
	t1=$(now)
	s1=$(ticks "$@")
	read -r n bad got < <(awk '{ n++; if ($1 != 200) bad++; s += $2 }
		END { printf "%d %d %d\n", n, bad, s }' "$DIR/w.$name")
	[ "$n" -eq "$ntr" ] && [ "$bad" -eq 0 ] ||
		die "$name: $n of $ntr transfers, $bad not 200"
	[ "$got" -eq "$want" ] ||
		die "$name: received $got bytes, expected $want"
	NS=$((t1 - t0))
	SCPU=$((s1 - s0))
	CCPU=$(awk -v hz="$HZ" '{ printf "%d", ($1 + $2) * hz }' "$DIR/t.$name")
}
# Batch answers carry a 44-byte frame header per chunk; rates count the
# chunk bytes only, for both.  Rounds alternate so that both servers see
# the same background load; the best round of each counts.
NGPIDS=("$NPID" $(pgrep -P "$NPID" || true))
ours_ns="" peer_ns="" ours_cpu="" peer_cpu=""
LOG0=$(wc -l <"$DIR/primary.log")
for ((r = 1; r <= REPS; r++)); do
	round ours "$DIR/ours.cfg" $((BYTES + 44 * NCH)) "$NB" "$PPID_"
	echo "# round $r ours:  $(mbps "$BYTES" "$NS") MB/s, server CPU $(secs "$SCPU") s, client CPU $(secs "$CCPU") s"
	if [ -z "$ours_ns" ] || [ "$NS" -lt "$ours_ns" ]; then ours_ns=$NS; fi
	if [ -z "$ours_cpu" ] || [ "$SCPU" -lt "$ours_cpu" ]; then ours_cpu=$SCPU; fi
	round nginx "$DIR/nginx.cfg" "$BYTES" "$NCH" "${NGPIDS[@]}"
	echo "# round $r nginx: $(mbps "$BYTES" "$NS") MB/s, server CPU $(secs "$SCPU") s, client CPU $(secs "$CCPU") s"
	if [ -z "$peer_ns" ] || [ "$NS" -lt "$peer_ns" ]; then peer_ns=$NS; fi
	if [ -z "$peer_cpu" ] || [ "$SCPU" -lt "$peer_cpu" ]; then peer_cpu=$SCPU; fi
done
ours=$(mbps "$BYTES" "$ours_ns")
peer=$(mbps "$BYTES" "$peer_ns")
# Server CPU per byte is steadier than wall time on a shared machine.
echo "# server CPU, best round: ours $(secs "$ours_cpu") s, nginx $(secs "$peer_cpu") s" \
	"(MB per CPU-second: ours $(mbps "$BYTES" $((ours_cpu * 1000000000 / HZ))), nginx $(mbps "$BYTES" $((peer_cpu * 1000000000 / HZ))))"
r=$(ratio "$ours" "$peer")
echo "bench serve vs nginx: ours=$ours peer=$peer ratio=$r"
bench_record serve "serve vs nginx" "$ours" "$peer" "$r" MB/s ">= 0.8"
kill "$NPID" 2>/dev/null || true
wait "$NPID" 2>/dev/null || true
NPID=""

# --- memory: 100 concurrent batches --------------------------------------
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PPID_/status"; }
hwm0=$(status_kb VmHWM)
rss0=$(status_kb VmRSS)
# Reset the high-water mark to the current RSS (the import's peak is no
# concern here); if the kernel does not allow it, VmHWM before/after
# still bounds the answer.
reset=0
if echo 5 >"/proc/$PPID_/clear_refs" 2>/dev/null; then reset=1; fi
hwm1=$(status_kb VmHWM)
for ((i = 0; i < CONC; i++)); do
	awk -v s=$((i * CONC_IDS)) -v k="$CONC_IDS" -v n="$NCH" \
		'{ a[NR - 1] = $0 } END { for (j = 0; j < k; j++) print a[(s + j) % n] }' \
		"$DIR/ids" >"$DIR/conc.$i"
done
exp_conc=()
for ((i = 0; i < CONC; i++)); do
	exp_conc[i]=$(awk -v s=$((i * CONC_IDS)) -v k="$CONC_IDS" -v n="$NCH" \
		'{ sz[NR - 1] = $2 } END { for (j = 0; j < k; j++) t += sz[(s + j) % n] + 44; printf "%d", t }' \
		"$DIR/chunks")
done
maxrss=0
for ((i = 0; i < CONC; i++)); do
	curl -sS --http1.1 --fail --cacert "$CA" --cert "$DIR/node.crt" --key "$DIR/node.key" \
		--data-binary @"$DIR/conc.$i" -o /dev/null -w '%{http_code} %{size_download}\n' \
		"$U/v1/chunks/batch" >"$DIR/cw.$i" 2>"$DIR/ce.$i" &
	BGPIDS+=($!)
done
running() { local p; for p in "${BGPIDS[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while running; do
	r=$(status_kb VmRSS)
	[ "$r" -gt "$maxrss" ] && maxrss=$r
	sleep 0.02
done
fails=0
for ((i = 0; i < CONC; i++)); do
	wait "${BGPIDS[i]}" || true
	read -r code got <"$DIR/cw.$i" || { code=none got=0; }
	if [ "$code" != 200 ] || [ "$got" -ne "${exp_conc[i]}" ]; then
		fails=$((fails + 1))
		echo "# concurrent batch $i: status $code, $got of ${exp_conc[i]} bytes $(head -c 200 "$DIR/ce.$i")" >&2
	fi
done
BGPIDS=()
kill -0 "$PPID_" 2>/dev/null || die "the primary died during the concurrent batches"
hwm2=$(status_kb VmHWM)
anon=$(status_kb RssAnon)
echo "# primary RSS before: ${rss0} KiB (VmHWM ${hwm0} KiB, after reset ${hwm1} KiB); sampled max RSS ${maxrss} KiB; RssAnon after ${anon} KiB"
[ "$fails" -eq 0 ] || die "$fails of $CONC concurrent batches failed"
# Whatever the primary logged while serving (warnings, closed streams).
nlog=$(($(wc -l <"$DIR/primary.log") - LOG0))
echo "# primary log while serving: $nlog lines"
tail -n +$((LOG0 + 1)) "$DIR/primary.log" | head -n 10 | sed 's/^/#   /'
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
if [ "$reset" -eq 1 ]; then
	echo "bench serve: peak RSS with $CONC concurrent batches = $(mib "$hwm2") MiB"
	bench_record serve "serve peak RSS, $CONC batches" "$(mib "$hwm2")" - - MiB -
else
	echo "bench serve: peak RSS with $CONC concurrent batches = $(mib "$hwm2") MiB (VmHWM not reset; before: $(mib "$hwm0") MiB)"
	bench_record serve "serve peak RSS, $CONC batches (VmHWM not reset)" "$(mib "$hwm2")" - - MiB -
fi

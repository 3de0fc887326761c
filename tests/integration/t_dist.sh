#!/usr/bin/env bash
# Distribution nodes against a real primary, inside network namespaces
# this test creates: a bridge in the primary's namespace, one namespace
# per node, the WAN to site east shaped with tc tbf plus the blrelay
# delay relay (which also counts the bytes on the wire).
#
# Cases: replicate a 200 MB image; kill -9 the node mid-transfer and
# restart it (bytes on the wire show nothing stored is fetched again);
# cut the link and restore it; a child site replicating from its parent's
# node; a v1 -> v2 update that fetches only the new chunks; a TLS
# man-in-the-middle that corrupts a chunk (once: rejected and fetched
# again; always: the image fails, nothing bad stored) or alters a
# manifest (rejected); a closed window (nothing moves, the primary says
# 429) that opens (the transfer starts by itself); garbage collection of
# an image no longer assigned.
# shellcheck disable=SC2016 # ck's single-quoted code is evaluated later
. "$(dirname "$0")/lib.sh"

P="$BL_BIN/primary/branchline-primary"
D="$BL_BIN/distribution/branchline-dist"
R="$BL_BIN/tests/blrelay"
for b in "$P" "$D" "$R"; do [ -x "$b" ] || { echo "no $b: build first" >&2; exit 1; }; done
if [ "$(id -u)" -ne 0 ] || ! ip netns add "blt-probe-$$" 2>/dev/null; then
	echo "ok - # SKIP network namespaces need root"
	exit 0
fi
ip netns del "blt-probe-$$"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS=print_stacktrace=1
unset BRANCHLINE_SERVER BRANCHLINE_TOKEN BRANCHLINE_CA BRANCHLINE_CONFIG BRANCHLINE_STORE

NSP="blt-p-$$"
PIDS=()
CLEANUP+=('stop_all')
stop_all() {
	stop_pids
	for n in p a b c d; do ip netns del "blt-$n-$$" 2>/dev/null || true; done
	umount "$T/d" 2>/dev/null || true
}
inp() { ip netns exec "$NSP" "$@"; }
cli() { ip netns exec "$NSP" "$BL" --server https://10.77.0.1:8443 --token "$TOK" --ca "$T/p/pki/ca.crt" "$@"; }

# --- the network ----------------------------------------------------------
ip netns add "$NSP"
inp ip link set lo up
inp ip link add br0 type bridge
inp ip addr add 10.77.0.1/24 dev br0
inp ip link set br0 up
addnode() { # NAME HOSTNUM
	local ns="blt-$1-$$"
	ip netns add "$ns"
	ip link add "v$1-$$" type veth peer name eth0 netns "$ns"
	ip link set "v$1-$$" netns "$NSP"
	inp ip link set "v$1-$$" master br0 up
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" ip addr add "10.77.0.$2/24" dev eth0
	ip netns exec "$ns" ip link set eth0 up
}
addnode a 2
addnode b 3
addnode c 4
addnode d 5
# East's WAN: 400 Mbit/s toward the node, and 2 x 5 ms from the relay.
inp tc qdisc add dev "va-$$" root tbf rate 400mbit burst 512kb latency 50ms

# --- the primary ------------------------------------------------------------
netns_primary "$NSP" 10.77.0.1

relay() { # NAME PORT [args...]: a relay to the primary, stats in $T/NAME.stats
	local name=$1 port=$2
	shift 2
	rm -f "$T/$name.pid"
	ip netns exec "$NSP" "$R" --listen "10.77.0.1:$port" --connect 10.77.0.1:8443 \
		--stats "$T/$name.stats" --pidfile "$T/$name.pid" "$@" 2>"$T/$name.log" &
	PIDS+=($!)
	for _ in $(seq 50); do [ -s "$T/$name.pid" ] && return 0; sleep 0.1; done
	fatal "relay $name did not start"
}
# down bytes a relay has written so far (asks for a fresh line first)
down() { kill -USR1 "$(cat "$T/$1.pid")"; sleep 0.3; tail -1 "$T/$1.stats" | awk '{print $2}'; }

relay r1 9443 --delay-ms 5
relay r2 9444

# --- images and sites -----------------------------------------------------
head -c $((200 << 20)) /dev/urandom >"$T/big.img"
head -c $((24 << 20)) /dev/urandom >"$T/s2.img"
head -c $((6 << 20)) /dev/urandom >"$T/s1.img"
cli -q image upload big disk.img="$T/big.img" >/dev/null
cli -q image upload s2 disk.img="$T/s2.img" >/dev/null
cli -q image upload s1 disk.img="$T/s1.img" >/dev/null
cli site add east --subnet 10.10.0.0/24 --tz UTC >/dev/null
cli site add south --subnet 10.11.0.0/24 --parent east --tz UTC >/dev/null
cli site add west --subnet 10.12.0.0/24 --tz UTC --image s1 >/dev/null

FPR=
enroll() { # NODE SITE PRIMARY_PORT
	local tok
	tok=$(cli node add "$2" 2>"$T/nodeadd.err")
	FPR=$(grep -o 'ca-sha256 [0-9a-f]*' "$T/nodeadd.err" | cut -d' ' -f2)
	local n=$1 ip
	ip=$(case $n in a) echo 2 ;; b) echo 3 ;; c) echo 4 ;; d) echo 5 ;; esac)
	ip netns exec "blt-$n-$$" "$D" enroll --primary "https://10.77.0.1:$3" --ca-sha256 "$FPR" \
		--token "$tok" --state "$T/$n" --url "https://10.77.0.$ip:8444" \
		--bind "10.77.0.$ip" >"$T/$n.enroll" 2>&1
}
NODEPID=
declare -A NPID
start_node() { # NODE
	local k=${NSTART_N:-0}
	NSTART_N=$((k + 1))
	ip netns exec "blt-$1-$$" "$D" --config "$T/$1/dist.conf" 2>>"$T/$1.log" &
	NPID[$1]=$!
	PIDS+=($!)
}
stop_node() { kill "${NPID[$1]}" 2>/dev/null || true; wait "${NPID[$1]}" 2>/dev/null || true; }
# wait_log NODE PATTERN SECONDS
wait_log() { log_wait "$T/$1.log" "$2" "$3"; } # NODE PATTERN SECONDS
same() { # NODE IMAGE FILE: the node's copy is byte-identical
	"$BL" --store "$T/$1/store" cat "$2" disk.img 2>/dev/null | cmp -s - "$3"
}

ck "enroll: a node joins site east with the CA fingerprint" 'enroll a east 9443 && grep -q "of site east" "$T/a.enroll"'
ck "enroll: a wrong fingerprint is refused" '! ip netns exec blt-b-$$ "$D" enroll --primary https://10.77.0.1:8443 \
	--ca-sha256 $(printf "%064d" 0) --token x --state "$T/bad" >"$T/out" 2>&1 && grep -q "refusing to trust" "$T/out"'

# --- a 200 MB image, kill -9 in the middle, resume ------------------------
cli site set east --image big >/dev/null
start_node a
for _ in $(seq 300); do
	[ "$(down r1)" -gt $((80 << 20)) ] && break
	sleep 0.2
done
kill -9 "${NPID[a]}"
wait "${NPID[a]}" 2>/dev/null || true
at_kill=$(down r1)
ck "kill -9 came mid-transfer ($((at_kill >> 20)) MiB of 200 on the wire)" '[ "$at_kill" -gt $((60 << 20)) ] && [ "$at_kill" -lt $((190 << 20)) ]'
start_node a
ck "the restarted node completes big@1" 'wait_log a "big@1 complete" 120'
total=$(down r1)
ck "resume: $((total >> 20)) MiB on the wire for 200 MiB (nothing stored fetched again)" \
	'[ "$total" -lt $(( (200 << 20) + (200 << 20) / 50 + (12 << 20) )) ]'
ck "resume: the restart fetched only what the index lacked" 'grep -q "big@1: [0-9]* chunks, [0-9]* to fetch" "$T/a.log" &&
	[ "$(grep -o "big@1: [0-9]* chunks, [0-9]* to fetch" "$T/a.log" | tail -1 | awk "{print \$4}")" -lt \
	  "$(grep -o "big@1: [0-9]* chunks, [0-9]* to fetch" "$T/a.log" | head -1 | awk "{print \$4}")" ]'
ck "the node's copy of big@1 is byte-identical" 'same a big "$T/big.img"'
ck "the node's store verifies" '"$BL" --store "$T/a/store" verify >"$T/out" 2>&1'
sleep 3
ck "the primary shows east's node with big@1 completed" 'cli --json status >"$T/st.json" &&
	jq -e ".rows // . | tostring | test(\"completed\")" "$T/st.json" >/dev/null'

# --- cut the link and restore it ------------------------------------------
cli site set east --image big --image s2 >/dev/null
wait_log a "s2@1: " 30 || true
sleep 0.5
inp ip link set "va-$$" down
sleep 3
inp ip link set "va-$$" up
ck "after a 3 s link cut the node completes s2@1" 'wait_log a "s2@1 complete" 90'
ck "s2@1 is byte-identical" 'same a s2 "$T/s2.img"'

# --- a child site pulls from its parent -----------------------------------
cli site set south --image big --image s2 >/dev/null
enroll b south 9444
start_node b
ck "child site south completes big@1" 'wait_log b "big@1 complete" 120'
ck "child site south completes s2@1" 'wait_log b "s2@1 complete" 60'
ck "the child fetched from the parent's node, not the primary" 'grep -q "to fetch from https://10.77.0.2:8444" "$T/b.log" &&
	! grep -q "to fetch from https://10.77.0.1" "$T/b.log"'
ck "the child's traffic with the primary stayed small ($(($(down r2) >> 10)) KiB)" '[ "$(down r2)" -lt $((4 << 20)) ]'
ck "the child's copy is byte-identical" 'same b big "$T/big.img"'

# --- v1 -> v2 fetches only the new chunks -------------------------------------
cp "$T/big.img" "$T/big2.img"
for off in 10 70 150; do
	head -c $((1 << 20)) /dev/urandom | dd of="$T/big2.img" bs=1M seek=$off conv=notrunc status=none
done
before=$(down r1)
cli -q image upload big disk.img="$T/big2.img" >/dev/null
newb=$("$BL" --store "$T/p/store" --json image diff big@1 big@2 | jq .new_bytes)
ck "the node completes big@2" 'wait_log a "big@2 complete" 60'
upd=$(( $(down r1) - before ))
ck "v1 -> v2: $upd bytes on the wire for $newb bytes of new chunks" '[ "$upd" -le $(( newb * 105 / 100 + (512 << 10) )) ]'
ck "big@2 is byte-identical" 'same a big@2 "$T/big2.img"'

# --- corruption in transit (a TLS man in the middle with the CA's key) ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mitm \
	-keyout "$T/mitm.key" -out "$T/mitm.csr" 2>/dev/null
printf 'subjectAltName=IP:10.77.0.1\nextendedKeyUsage=serverAuth\n' >"$T/mitm.ext"
openssl x509 -req -in "$T/mitm.csr" -CA "$T/p/pki/ca.crt" -CAkey "$T/p/pki/ca.key" -CAcreateserial \
	-days 1 -extfile "$T/mitm.ext" -out "$T/mitm.crt" 2>/dev/null
enroll c west 8443
sed -i "s|^primary_url = .*|primary_url = https://10.77.0.1:9445|" "$T/c/dist.conf"
mitm() { # NAME PORT MODE [COUNT]
	relay "$1" "$2" --mitm --cert "$T/mitm.crt" --key "$T/mitm.key" --ca "$T/p/pki/ca.crt" \
		--client-cert "$T/c/pki/server.crt" --client-key "$T/c/pki/server.key" --corrupt "$3" \
		${4:+--corrupt-count $4}
}
mitm m1 9445 chunk 1
start_node c
ck "a chunk corrupted once is rejected and fetched again" 'wait_log c "s1@1 complete" 60 &&
	grep -q "rejected, not stored" "$T/c.log" && grep -q "corrupted chunk" "$T/m1.log"'
ck "s1@1 is byte-identical after the corrupt copy" 'same c s1 "$T/s1.img"'
stop_node c
mitm m2 9446 manifest
sed -i "s|^primary_url = .*|primary_url = https://10.77.0.1:9446|" "$T/c/dist.conf"
head -c $((3 << 20)) /dev/urandom >"$T/s3.img"
cli -q image upload s3 disk.img="$T/s3.img" >/dev/null
cli site set west --image s1 --image s3 >/dev/null
start_node c
ck "an altered manifest is rejected" 'wait_log c "manifest.* rejected" 30 && grep -q "corrupted manifest" "$T/m2.log"'
ck "nothing of the altered manifest is stored" '! "$BL" --store "$T/c/store" image list 2>/dev/null | grep -q s3'
stop_node c
mitm m3 9447 chunk
sed -i "s|^primary_url = .*|primary_url = https://10.77.0.1:9447|" "$T/c/dist.conf"
start_node c
ck "a chunk corrupted every time fails the image with the reason" 'wait_log c "s3@1 failed: chunk .* failed verification 3 times" 60'
ck "the store holds nothing bad" '"$BL" --store "$T/c/store" verify >"$T/out" 2>&1 &&
	! "$BL" --store "$T/c/store" image list 2>/dev/null | grep -q s3'
stop_node c

# --- windows -----------------------------------------------------------------
sed -i "s|^primary_url = .*|primary_url = https://10.77.0.1:9448|" "$T/c/dist.conf"
relay r3 9448
h=$(( ($(date -u +%-H) + 3) % 24 ))
cli site set west --windows "$(printf 'daily %02d:00-%02d:30' "$h" "$h")" --image s1 --image s3 >/dev/null
start_node c
sleep 6
moved=$(down r3)
ck "window closed: nothing moves ($moved bytes: catalog and heartbeats)" '[ "$moved" -lt $((1 << 20)) ] &&
	! grep -q "s3@1 complete" "$T/c.log"'
ck "window closed: the node reports why" 'ip netns exec blt-c-$$ "$D" status --state "$T/c" | grep -q "outside the replication windows"'
ck "window closed: the primary answers 429 with Retry-After" \
	'[ "$(ip netns exec blt-c-$$ curl -s -o /dev/null -D "$T/hdr" -w "%{http_code}" --cacert "$T/p/pki/ca.crt" \
	   --cert "$T/c/pki/server.crt" --key "$T/c/pki/server.key" --data-binary "" \
	   https://10.77.0.1:8443/v1/chunks/batch)" = 429 ] && grep -qi "^retry-after:" "$T/hdr"'
start=$(date -u -d "+1 min" +%H:%M)
cli site set west --windows "daily $start-$(date -u -d "+20 min" +%H:%M)" >/dev/null
ck "the window opens at $start UTC and the transfer starts by itself" 'wait_log c "s3@1 complete" 100'
ck "s3@1 is byte-identical" 'same c s3 "$T/s3.img"'

# --- images no longer assigned go after the grace period -------------------
stop_node c
echo "gc_grace = 2" >>"$T/c/dist.conf"
cli site set west --windows "" --image s3 >/dev/null
start_node c
ck "s1 is removed from the node after the grace period" 'wait_log c "removed s1@1" 30 &&
	! "$BL" --store "$T/c/store" image list 2>/dev/null | grep -q "^s1 "'
ck "s3 stays" 'same c s3 "$T/s3.img"'
# The rate header a capped node sends: a bad one is refused with why.
ck "a batch with a malformed X-Branchline-Rate gets 400 naming it" \
	'[ "$(ip netns exec blt-c-$$ curl -s -o "$T/body" -w "%{http_code}" --cacert "$T/p/pki/ca.crt" \
	   --cert "$T/c/pki/server.crt" --key "$T/c/pki/server.key" --data-binary "" \
	   -H "X-Branchline-Rate: 8mbit" https://10.77.0.1:8443/v1/chunks/batch)" = 400 ] &&
	grep -q "X-Branchline-Rate" "$T/body"'

# --- a full disk pauses replication; more room resumes it --------------------
mkdir -p "$T/d"
mount -t tmpfs -o size=12m tmpfs "$T/d"
cli site add north --subnet 10.13.0.0/24 --image s2 >/dev/null
enroll d north 8443
start_node d
# The status file follows the log within a heartbeat's 2 s throttle; a
# loaded machine may take longer.
paused() {
	local i
	for i in $(seq 30); do
		ip netns exec "blt-d-$$" "$D" status --state "$T/d" >"$T/d.status" 2>&1 &&
			grep -q '"paused"' "$T/d.status" && return 0
		sleep 0.5
	done
	sed 's/^/    status: /' "$T/d.status"; tail -5 "$T/d.log" | sed 's/^/    d.log: /'
	return 1
}
ck "a full disk pauses replication with a clear status" 'wait_log d "paused: the disk is full" 60 && paused'
mount -o remount,size=96m "$T/d"
ck "with room again the node completes s2@1 by itself" 'wait_log d "s2@1 complete" 90'
ck "s2@1 on the once-full node is byte-identical" 'same d s2 "$T/s2.img"'

# --- clean stop, no sanitizer reports -----------------------------------------
for n in a b c d; do stop_node "$n"; done
ck "the nodes stopped cleanly" 'grep -q "stopped" "$T/a.log" && grep -q "stopped" "$T/c.log"'
for f in "$T"/a.log "$T"/b.log "$T"/c.log "$T"/d.log "$T"/p.log; do
	ck "no sanitizer report in $(basename "$f")" '! grep -Eq "ERROR: (Address|Leak)Sanitizer|runtime error" "$f"'
done
[ "$fail" -eq 0 ] || { for f in a b c; do echo "--- $f.log"; tail -20 "$T/$f.log"; done; }
echo "t_dist: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

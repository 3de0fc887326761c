#!/usr/bin/env bash
# Branchline demo: a head office and two branches on this machine.
#
#   deploy/demo.sh            (as root, on Debian 12)
#
# It installs what is missing, builds Branchline, and then, inside
# network namespaces it creates (nothing touches this machine's own
# network), runs:
#
#   hq        the primary (10.90.0.1), the head office LAN
#   branch-a  a LAN (10.91.0.0/24) with its DHCP server and node-a
#   branch-b  a LAN (10.92.0.0/24) with its DHCP server and node-b
#
# Each branch reaches head office over a WAN link of DEMO_WAN_RATE
# (tc tbf, both ways) with DEMO_WAN_DELAY_MS one-way delay on the
# replication path (blrelay: this kernel has no netem).  A real image
# (a Debian kernel and a small busybox initramfs, tests/tools/pxe-guest.sh)
# and Debian's iPXE boot programs are imported at head office; branch-a's
# replication window opens a minute into the demo, branch-b has no window
# yet and only trickles.  Then one QEMU client PXE-boots at each branch:
# branch-a's from its own node, branch-b's is referred to node-a because
# node-b does not hold the image yet.  The timeline says what happened,
# and everything is removed at the end (also on Ctrl-C).
#
#   DEMO_WAN_RATE=10mbit  DEMO_WAN_DELAY_MS=30  DEMO_TRICKLE=1mbit
#   DEMO_KEEP=1           keep the logs (the directory is printed)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RATE=${DEMO_WAN_RATE:-10mbit}
DELAY=${DEMO_WAN_DELAY_MS:-30}
TRICKLE=${DEMO_TRICKLE:-1mbit}
START=$SECONDS

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
tl() { # a timeline line
	local s=$((SECONDS - START))
	printf '[%02d:%02d] %s\n' $((s / 60)) $((s % 60)) "$*"
}
die() {
	echo "demo: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run me as root: I create network namespaces and bind the PXE ports inside them"
command -v apt-get >/dev/null || die "I need Debian 12 (apt-get)"

bold "== Branchline demo: a head office and two branches"
tl "installing what is missing (apt-get; deploy/install-deps.sh --test)"
bash deploy/install-deps.sh --test >/tmp/bl-demo-deps.log 2>&1 ||
	die "installing dependencies failed; see /tmp/bl-demo-deps.log, or run: bash deploy/install-deps.sh --test"
for c in qemu-system-x86_64 dnsmasq ip tc jq; do
	command -v "$c" >/dev/null ||
		die "$c is missing: apt-get install qemu-system-x86 ipxe-qemu ipxe dnsmasq-base iproute2 jq"
done
[ -s /usr/lib/ipxe/undionly.kpxe ] || die "/usr/lib/ipxe/undionly.kpxe is missing: apt-get install ipxe"

tl "building (build/demo)"
B=$ROOT/build/demo
{ cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBL_TESTS=ON &&
	cmake --build "$B" --target branchline branchline-primary branchline-dist blrelay; } \
	>/tmp/bl-demo-build.log 2>&1 || die "the build failed; see /tmp/bl-demo-build.log"
BL=$B/primary/branchline
P=$B/primary/branchline-primary
D=$B/distribution/branchline-dist
RELAY=$B/tests/blrelay

# --- our scratch directory, processes and namespaces, all undone on exit ----
T=$(mktemp -d /tmp/bl-demo.XXXXXX)
chmod 711 "$T"
CLEANUP=()
PIDS=()
fatal() { die "$*"; }
cleanup() {
	local rc=$? c p
	trap - EXIT INT TERM
	for ((p = ${#PIDS[@]} - 1; p >= 0; p--)); do kill "${PIDS[p]}" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	for c in "${CLEANUP[@]}"; do eval "$c" || true; done
	if [ "$rc" -ne 0 ]; then
		for c in "$T"/*.log; do
			[ -s "$c" ] || continue
			echo "--- $(basename "$c") (last lines)" >&2
			tail -n 6 "$c" >&2
		done
	fi
	if [ "${DEMO_KEEP:-0}" = 1 ]; then
		echo "demo: logs kept in $T"
	else
		rm -rf "$T"
	fi
	[ "$rc" -eq 0 ] && tl "removed every namespace and process the demo made"
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT TERM
# QEMU, the LAN bridges and the sites' DHCP servers come from the test
# library the PXE tests use (its cleanup is registered in CLEANUP).
# shellcheck source=../tests/integration/pxe_lib.sh
. "$ROOT/tests/integration/pxe_lib.sh"
[ -r /usr/lib/ipxe/qemu/pxe-e1000.rom ] || die "the iPXE ROM for QEMU is missing: apt-get install ipxe-qemu"

NSH=blb-dh-$$ NSA=blb-da-$$ NSB=blb-db-$$
NSNA=blb-dna-$$ NSNB=blb-dnb-$$
HQ=10.90.0 NA=10.91.0 NB=10.92.0
inh() { ip netns exec "$NSH" "$@"; }
cli() { inh "$BL" --server https://$HQ.1:8443 --token "$TOK" --ca "$T/p/pki/ca.crt" "$@"; }

tl "building the client image: a Debian kernel + busybox initramfs"
pxe_guest /var/tmp/branchline-pxe-guest >/dev/null

# --- the network ---------------------------------------------------------
# wan_link BRANCH_NS N: veth hq<->branch router, 10.99.N.0/30, shaped both
# ways, routes; the branch LAN's bridge (.1) is its router.
wan_link() {
	local ns=$1 n=$2 net=$3
	ip link add "wh$n-$$" type veth peer name "wb$n-$$"
	ip link set "wh$n-$$" netns "$NSH"
	ip link set "wb$n-$$" netns "$ns"
	ip -n "$NSH" addr add "10.99.$n.1/30" dev "wh$n-$$"
	ip -n "$ns" addr add "10.99.$n.2/30" dev "wb$n-$$"
	ip -n "$NSH" link set "wh$n-$$" up
	ip -n "$ns" link set "wb$n-$$" up
	tc -n "$NSH" qdisc add dev "wh$n-$$" root tbf rate "$RATE" burst 64kb latency 50ms
	tc -n "$ns" qdisc add dev "wb$n-$$" root tbf rate "$RATE" burst 64kb latency 50ms
	ip -n "$NSH" route add "$net.0/24" via "10.99.$n.2"
	ip -n "$ns" route add default via "10.99.$n.1"
	ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1
}
# node_ns NS LAN_NS NET VETH: a node's namespace, .3 on the branch LAN.
node_ns() {
	ip netns add "$1"
	PXE_NETNS+=("$1")
	ip -n "$1" link set lo up
	ip link add "$4" type veth peer name eth0 netns "$1"
	ip link set "$4" netns "$2"
	ip -n "$2" link set "$4" master br0 up
	ip -n "$1" addr add "$3.3/24" dev eth0
	ip -n "$1" link set eth0 up
	ip -n "$1" route add default via "$3.1"
}
tl "network: hq, branch-a, branch-b; WAN links of $RATE each way, ${DELAY} ms one-way delay on replication"
pxe_net "$NSH" $HQ
inh sysctl -q -w net.ipv4.ip_forward=1
for s in a b; do
	ns=$NSA net=$NA n=1
	[ $s = b ] && ns=$NSB net=$NB n=2
	pxe_net "$ns" "$net"
	wan_link "$ns" $n "$net"
	PXE_DHCP_EXTRA="--dhcp-option=3,$net.1" pxe_site_dhcp "$ns" "$net"
done
node_ns "$NSNA" "$NSA" $NA "vna$$"
node_ns "$NSNB" "$NSB" $NB "vnb$$"

# --- head office: the primary, the images, the sites ------------------------
inh "$P" init --state "$T/p" --name $HQ.1 --name 10.99.1.1 --name 10.99.2.1 >"$T/init.out" 2>&1
TOK=$(tail -n 1 "$T/init.out")
sed -i "s/^port = .*/port = 8443/; s/^bind = .*/bind = 0.0.0.0/; s|^url = .*|url = https://$HQ.1:8443|" \
	"$T/p/primary.conf"
printf 'boot_site = hq\nheartbeat = 5\ndhcp_interfaces = br0\n' >>"$T/p/primary.conf"
# Background "ip netns exec" itself (it execs the program): through a
# function, $! would name a subshell and the program would outlive us.
ip netns exec "$NSH" "$P" --config "$T/p/primary.conf" 2>"$T/primary.log" &
PIDS+=($!)
for _ in $(seq 100); do
	cli site list >/dev/null 2>&1 && break
	sleep 0.1
done
cli site list >/dev/null || die "the primary did not start"
tl "primary up at head office ($HQ.1:8443)"

# One replication relay per branch: the WAN delay, and bytes counted.
for n in 1 2; do
	ip netns exec "$NSH" "$RELAY" --listen "10.99.$n.1:9443" --connect "$HQ.1:8443" --delay-ms "$DELAY" \
		--stats "$T/relay$n.stats" --pidfile "$T/relay$n.pid" 2>"$T/relay$n.log" &
	PIDS+=($!)
done

t0=$(date +%s%N)
cli -q image upload debian-netboot vmlinuz="$PXE_KERNEL" initrd.gz="$PXE_INITRD" >/dev/null
cli -q image upload ipxe undionly.kpxe=/usr/lib/ipxe/undionly.kpxe snponly.efi=/usr/lib/ipxe/snponly.efi >/dev/null
t1=$(date +%s%N)
size=$(cli --json image list | jq '[.images[] | .size] | add')
tl "imported at head office: debian-netboot (kernel + initramfs) and ipxe (undionly.kpxe, snponly.efi): $((size / 1000)) kB in $(((t1 - t0) / 1000000)) ms"

# branch-a's window opens at the next minute; branch-b's only in two
# hours: until then it trickles.
open=$(date -u -d "+1 minute" +%H:%M)
close=$(date -u -d "+31 minutes" +%H:%M)
bopen=$(date -u -d "+120 minutes" +%H:%M)
bclose=$(date -u -d "+150 minutes" +%H:%M)
site_json() { # NAME PARENT NET WINDOWS TRICKLE_BPS
	cat <<EOF
{"name": "$1", "parent": "$2", "wan_cost": 10, "subnets": ["$3.0/24"],
 "windows": "$4", "trickle_bps": $5, "images": ["debian-netboot", "ipxe"],
 "boot": $(pxe_boot_entries debian-netboot debian "$1")}
EOF
}
trickle_bps=$(numfmt --from=si "$(tr a-z A-Z <<<"${TRICKLE%bit}")")
cli site add hq --subnet $HQ.0/24 >/dev/null
site_json branch-a hq $NA "daily $open-$close" 0 >"$T/a.json"
site_json branch-b hq $NB "daily $bopen-$bclose" "$trickle_bps" >"$T/b.json"
cli site add branch-a --file "$T/a.json" >/dev/null
cli site add branch-b --file "$T/b.json" >/dev/null
tl "sites: hq -> branch-a (window $open-$close UTC), hq -> branch-b (window $bopen-$bclose UTC; until then a trickle of $TRICKLE)"

# --- the branch nodes, enrolled with one-time tokens ------------------------
start_node() { # SITE NS LETTER N: sets NODE_ID
	local fpr tok
	tok=$(cli node add "$1" 2>"$T/nodeadd-$3.err")
	fpr=$(grep -o 'ca-sha256 [0-9a-f]*' "$T/nodeadd-$3.err" | cut -d' ' -f2)
	ip netns exec "$2" "$D" enroll --primary "https://10.99.$4.1:9443" --ca-sha256 "$fpr" \
		--token "$tok" --state "$T/n$3" --url "https://$(ip -n "$2" -4 -o addr show eth0 |
			awk '{print $4}' | cut -d/ -f1):8444" >"$T/enroll-$3.log" 2>&1 ||
		die "node-$3: enroll failed: $(tail -n 2 "$T/enroll-$3.log")"
	printf 'dhcp_interfaces = eth0\n' >>"$T/n$3/dist.conf"
	ip netns exec "$2" "$D" --config "$T/n$3/dist.conf" 2>"$T/node-$3.log" &
	PIDS+=($!)
	NODE_ID=$(jq -r .node_id "$T/n$3/node.json")
}
start_node branch-a "$NSNA" a 1
IDA=$NODE_ID
start_node branch-b "$NSNB" b 2
IDB=$NODE_ID
tl "node-a ($IDA) enrolled at branch-a, node-b ($IDB) at branch-b, each with a one-time token"

wan_bytes() { # N: bytes the relay sent to branch N so far
	kill -USR1 "$(cat "$T/relay$1.pid")" 2>/dev/null || true
	sleep 0.1
	tail -n 1 "$T/relay$1.stats" 2>/dev/null | awk '{print $2 + 0}'
}

# --- replication ------------------------------------------------------------
tl "branch-a waits for its window ($open UTC); branch-b trickles at $TRICKLE"
last=''
for _ in $(seq 400); do
	st=$(cli --json status 2>/dev/null) || st='{"status":[]}'
	line=$(jq -r '[.status[] | select(.image == "debian-netboot") |
		"\(.site) \(.state) \(.percent // 0 | floor)% \((.rate_bps // 0) / 1e6 * 10 | floor / 10) Mbit/s"] | join("; ")' <<<"$st")
	if [ "$line" != "$last" ]; then
		tl "  $line"
		last=$line
	fi
	jq -e '[.status[] | select(.site == "branch-a" and .state == "completed")] | length == 2' \
		<<<"$st" >/dev/null && break
	sleep 2
done
jq -e '[.status[] | select(.site == "branch-a" and .state == "completed")] | length == 2' \
	<<<"$st" >/dev/null || die "branch-a did not complete its images"
tl "branch-a holds both images; bytes over its WAN link: $(wan_bytes 1) for $size bytes of images"
grep -q "boot files of site branch-a: [1-9]" "$T/node-a.log" || sleep 2

# --- the boots ------------------------------------------------------------------
tl "booting a BIOS PXE client at each branch (QEMU, SeaBIOS + iPXE)"
PXE_TIMEOUT=150 pxe_boot_start "$NSA" client-a bios e1000
PXE_TIMEOUT=150 pxe_boot_start "$NSB" client-b bios e1000
ok=1
pxe_boot_wait client-a client-b >"$T/boots.out" 2>&1 || ok=0
served() { # CLIENT: who served its kernel, from the nodes' and the primary's logs
	local ip name
	ip=$(grep -aoE "net0: [0-9]+\.[0-9.]+/" "$T/$1.serial" | head -n 1 | tr -d '/' | cut -d' ' -f2)
	for name in node-a node-b primary; do
		grep -q "http $ip:[0-9]*: debian-netboot[^ ]*/vmlinuz 200" "$T/$name.log" 2>/dev/null &&
			{ echo "$name"; return; }
	done
	echo "?"
}
for c in a b; do
	mac=$(pxe_mac client-$c)
	mark=${PXE_MARKS[client-$c]:-}
	how=$(grep -h "dhcp $mac .*iPXE" "$T/node-$c.log" | tail -n 1 | sed 's/.*; //')
	if [ -n "$mark" ]; then
		tl "client at branch-$c ($mac): booted '$mark', kernel from $(served client-$c); node-$c: $how"
	else
		tl "client at branch-$c ($mac): did not boot (console: $(tail -n 1 "$T/client-$c.serial" 2>/dev/null))"
	fi
done
[ "$ok" = 1 ] || die "a client did not boot"
st=$(cli --json status)
tl "branch-b meanwhile: $(jq -r '[.status[] | select(.site == "branch-b") | "\(.image) \(.state) \(.percent // 0 | floor)%"] | join(", ")' <<<"$st")"
tl "why branch-b's client went to node-a:"
cli referral explain --mac "$(pxe_mac client-b)" --ip $NB.100 | sed 's/^/          /'
tl "WAN bytes to branch-a $(wan_bytes 1), to branch-b $(wan_bytes 2); the images are $size bytes"
bold "== done in $((SECONDS - START)) s"

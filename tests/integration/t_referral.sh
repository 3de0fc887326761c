#!/usr/bin/env bash
# Referral between sites, with real PXE boots of QEMU guests (TCG): every
# client is sent to the nearest healthy node that holds its image, and to
# the primary when that node is still replicating or down.
#
# Sites (a tree): hq (root, the primary serves its boot: boot_site = hq),
# a (parent hq, wan_cost 10, one node), b (parent a, wan_cost 5, no node).
# The network (all namespaces ours, suffix PID):
#
#   blb-rh-PID   HQ LAN bridge br0 10.81.0.1 = the primary, also the
#                router to the branches (veth vra/vrb, transit 10.84.1.0/30
#                and 10.84.2.0/30)
#   blb-rh-PID-dhcp  the one DHCP server (dnsmasq 10.81.0.2): ranges for
#                HQ, A and B, the branches' leases asked by relay
#   blb-ra-PID   A's LAN bridge 10.82.0.1 = A's router, with a DHCP relay
#                (ISC dhcrelay) to the DHCP server and the primary
#   blb-ran-PID  node A 10.82.0.2 on A's bridge, default route via .1
#   blb-rb-PID   B's LAN bridge 10.83.0.1 = B's router, with a relay too
#   blb-rcn-PID  node C 10.81.0.5 on HQ's bridge (site c, late in the test)
#
# The guests are SeaBIOS + the iPXE ROM of ipxe-qemu (e1000), and one
# OVMF without ROM (its own PXE client, given snponly.efi by TFTP); the
# site's DHCP answer always comes by relay, the proxyDHCP answer from node
# A on A's LAN or from the primary by relay.  Each site's boot entries
# pass blmark=site-NAME, which the guest prints.
#
# Cases: A's client boots from node A (the primary silent); B's client,
# relayed, is referred by the primary to node A; node A at its transfer
# limit (boot_transfer_limit = 2, two slow downloads) sends even its own
# clients to the primary, and explain shows it busy; pxeguest v2 that A cannot
# complete (its windows closed): node A refers its client to the primary,
# and a file it lacks is a 302 to the primary; node C (site c, on HQ's LAN)
# completes v2: node A's 302 goes to node C, and a request already
# redirected once goes on to the primary only; node A down: the primary
# answers A's relayed client itself.  `referral explain` at each step.
#
# The relay is ISC dhcrelay (isc-dhcp-relay): it sends a reply back as the
# server built it, broadcast if the flag is set (OVMF), else to yiaddr at
# chaddr on the link (iPXE takes a proxy reply with yiaddr 0 that way).
# BL_KEEP=DIR keeps a copy of the logs.
# shellcheck disable=SC2016 # ck's single-quoted code is evaluated later
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pxe_lib.sh"

P="$BL_BIN/primary/branchline-primary"
D="$BL_BIN/distribution/branchline-dist"
for b in "$P" "$D"; do [ -x "$b" ] || { echo "no $b: build first" >&2; exit 1; }; done
pxe_require
if ! command -v dhcrelay >/dev/null; then
	echo "ok - # SKIP missing: dhcrelay (apt-get install isc-dhcp-relay)"
	exit 0
fi
for f in undionly.kpxe snponly.efi; do
	[ -s "/usr/lib/ipxe/$f" ] || { echo "not ok - /usr/lib/ipxe/$f is missing (apt-get install ipxe)"; exit 1; }
done
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS=print_stacktrace=1
unset BRANCHLINE_SERVER BRANCHLINE_TOKEN BRANCHLINE_CA BRANCHLINE_CONFIG BRANCHLINE_STORE
T0=$SECONDS

NSH="blb-rh-$$"  # HQ LAN + router + the primary
NSA="blb-ra-$$"  # A's LAN + router + relay
NSB="blb-rb-$$"  # B's LAN + router + relay
NSN="blb-ran-$$" # node A
HQ=10.81.0
NA=10.82.0
NB=10.83.0
PIDS=()
CLEANUP+=('stop_all')
stop_all() { stop_pids; }
cli() { ip netns exec "$NSH" "$BL" --server https://$HQ.1:8443 --token "$TOK" --ca "$T/p/pki/ca.crt" "$@"; }
elapsed() { echo "# t_referral: $* at $((SECONDS - T0)) s"; }

# --- the network ------------------------------------------------------------
pxe_guest
pxe_net "$NSH" $HQ
CLEANUP+=('[ -z "${BL_KEEP:-}" ] || { rm -rf "$BL_KEEP"; cp -a "$T" "$BL_KEEP"; }')
# The DHCP server: HQ's range and, for relayed requests, A's and B's (with
# their routers); it answers the relays by way of the HQ router.
# (One line: pxe_lib reads PXE_DHCP_EXTRA with read -a.)
PXE_DHCP_EXTRA="--dhcp-range=set:a,$NA.100,$NA.150,255.255.255.0,1h --dhcp-option=tag:a,option:router,$NA.1"
PXE_DHCP_EXTRA+=" --dhcp-range=set:b,$NB.100,$NB.150,255.255.255.0,1h --dhcp-option=tag:b,option:router,$NB.1"
pxe_site_dhcp "$NSH" $HQ
ip -n "$NSH-dhcp" route add default via $HQ.1
ip netns exec "$NSH" sysctl -qw net.ipv4.ip_forward=1

# branch NS SUBNET VETH N: a branch LAN routed to HQ over transit
# 10.84.N.0/30 (HQ .1, branch .2).
branch() {
	local ns=$1 net=$2 v=$3 n=$4
	pxe_net "$ns" "$net"
	ip -n "$NSH" link add "$v" type veth peer name up0 netns "$ns"
	ip -n "$NSH" addr add "10.84.$n.1/30" dev "$v"
	ip -n "$NSH" link set "$v" up
	ip -n "$ns" addr add "10.84.$n.2/30" dev up0
	ip -n "$ns" link set up0 up
	ip -n "$NSH" route add "$net.0/24" via "10.84.$n.2"
	ip -n "$ns" route add default via "10.84.$n.1"
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
	# Router advertisements on the branch LAN (iPXE waits ~15 s without).
	pxe_ra "$ns"
	# The relay: clients' broadcasts on br0 to the DHCP server and the
	# primary, with giaddr = NET.1; their answers back to the client.
	pxe__bg "relay-$ns" "$ns" dhcrelay -4 -d -pf "$T/relay-$ns.pid" \
		-id br0 -iu up0 $HQ.2 $HQ.1
	pxe__waitudp "$ns" 67 "$!" "relay-$ns"
}
branch "$NSA" $NA vra 1
branch "$NSB" $NB vrb 2
# node_host NS LAN_NS VETH NET.HOST: a node's host NS with eth0 at
# NET.HOST/24 on LAN_NS's bridge (its end VETH), routed by NET.1.
node_host() {
	pxe__netns_add "$1"
	ip -n "$2" link add "$3" type veth peer name eth0 netns "$1"
	ip -n "$2" link set "$3" master br0 up
	ip -n "$1" addr add "$4/24" dev eth0
	ip -n "$1" link set eth0 up
	ip -n "$1" route add default via "${4%.*}.1"
}
node_host "$NSN" "$NSA" vnode $NA.2

# --- the primary: images, the site tree ----------------------------------------
PRIMARY_CONF=$'boot_site = hq\nheartbeat = 2'
netns_primary "$NSH" $HQ.1
ck "node A's host and B's router reach the primary through the routers" \
	'reach=0
	 for ns in "$NSN" "$NSB"; do
		ip netns exec "$ns" curl -s -o /dev/null --max-time 3 --cacert "$T/p/pki/ca.crt" \
			https://$HQ.1:8443/v1/ca.crt && reach=$((reach + 1))
	 done
	 [ "$reach" = 2 ]'
cli -q image upload pxeguest vmlinuz="$PXE_KERNEL" initrd.gz="$PXE_INITRD" >/dev/null
cli -q image upload ipxe undionly.kpxe=/usr/lib/ipxe/undionly.kpxe \
	snponly.efi=/usr/lib/ipxe/snponly.efi >/dev/null
# site_json NAME PARENT COST SUBNET [WINDOWS]: the site, its boot entries
# marking the guest with site-NAME; the latest pxeguest and ipxe.
site_json() {
	local parent=
	[ -n "$2" ] && parent="\"parent\": \"$2\", "
	cat >"$T/site-$1.json" <<EOF
{"name": "$1", $parent"wan_cost": $3, "tz": "UTC",
 "subnets": ["$4"], "windows": "${5:-}", "trickle_bps": 0,
 "images": ["pxeguest", "ipxe"],
 "boot": $(pxe_boot_entries pxeguest guest "site-$1")}
EOF
}
site_json hq "" 0 $HQ.0/24
site_json a hq 10 $NA.0/24
site_json b a 5 $NB.0/24
# B's switch also tags its relayed requests (option 82): rules map them.
jq '.option82 = [{"circuit_id": "sw-b port 7"}, {"remote_id": "hex:0a0b0c"}]' \
	"$T/site-b.json" >"$T/site-b.o82" && mv "$T/site-b.o82" "$T/site-b.json"
for s in hq a b; do
	cli site add $s --file "$T/site-$s.json" >/dev/null 2>"$T/site-$s.err" ||
		fatal "site add $s: $(cat "$T/site-$s.err")"
done
ck "the primary serves boot for hq (proxyDHCP, TFTP, HTTP)" \
	'ip netns exec "$NSH" ss -Hlun >"$T/ss.udp" && ip netns exec "$NSH" ss -Hltn >"$T/ss.tcp" &&
	 grep -q ":67 " "$T/ss.udp" && grep -q ":69 " "$T/ss.udp" && grep -q ":4011 " "$T/ss.udp" &&
	 grep -q ":80 " "$T/ss.tcp"'

# --- nodes ----------------------------------------------------------------------
# node_enroll SITE NS DIR ADDR CONF: a node of SITE enrolled from NS with
# the token `node add` printed, its state in $T/DIR, child sites reaching
# it at https://ADDR:8444, CONF appended to its dist.conf; its id in
# NODE_ID.
node_enroll() {
	local tok fpr
	tok=$(cli node add "$1" 2>"$T/$3.nodeadd") || fatal "node add $1: $(cat "$T/$3.nodeadd")"
	fpr=$(grep -o 'ca-sha256 [0-9a-f]*' "$T/$3.nodeadd" | cut -d' ' -f2)
	ip netns exec "$2" "$D" enroll --primary https://$HQ.1:8443 --ca-sha256 "$fpr" \
		--token "$tok" --state "$T/$3" --url "https://$4:8444" >"$T/$3.enroll" 2>&1 ||
		fatal "enroll $3: $(cat "$T/$3.enroll")"
	printf '%s\n' "$5" >>"$T/$3/dist.conf"
	NODE_ID=$(jq -r .node_id "$T/$3/node.json")
}
node_run() { # NS DIR: the node of $T/DIR, logging to $T/DIR.log; its PID in NODE_PID
	ip netns exec "$1" "$D" --config "$T/$2/dist.conf" 2>>"$T/$2.log" &
	NODE_PID=$!
	PIDS+=("$NODE_PID")
}
drop_pid() { # PID: no longer ours to stop
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
stop_pid() { # PID: ours, stopped and reaped
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	drop_pid "$1"
}

node_enroll a "$NSN" n $NA.2 'dhcp_interfaces = eth0'
NODE=$NODE_ID
node_run "$NSN" n
NPID=$NODE_PID
wait_n() { log_wait "$T/n.log" "$1" "$2"; } # PATTERN SECONDS

# explain ARGS...: the primary's referral explanation, JSON in $T/explain.json
explain() { cli --json referral explain "$@" >"$T/explain.json" 2>"$T/explain.err"; }
verdict() { # NODE: that candidate's verdict in $T/explain.json
	jq -r --arg n "$1" '.candidates[] | select(.node == $n) | .verdict' "$T/explain.json"
}
MAC_X=52:54:00:00:00:01
ck "node A replicates both images and publishes the boot files" \
	'wait_n "pxeguest@1 complete" 120 && wait_n "ipxe@1 complete" 60 &&
	 wait_n "boot files of site a: .* published" 10'
elapsed "node A ready"
# The primary hears of the complete images by a heartbeat (every 2 s).
ck "explain, A client (--ip $NA.50): site a by client address, node A taken, the primary fallback" \
	'for _ in $(seq 20); do
		explain --mac $MAC_X --ip $NA.50 && [ "$(verdict "$NODE")" = taken ] && break; sleep 0.5
	 done
	 jqt --arg n "$NODE" ".site == \"a\" and .by == \"client address\" and .image == \"pxeguest\"
		and .held_by_nodes and .targets[0] == \$n" "$T/explain.json" &&
	 [ "$(verdict "$NODE")" = taken ] && [ "$(verdict primary)" = fallback ] ||
	 { cat "$T/explain.json" "$T/explain.err"; false; }'
ck "explain, B client (--giaddr $NB.1): site b by giaddr, node A taken" \
	'explain --mac $MAC_X --giaddr $NB.1 &&
	 jqt ".site == \"b\" and .by == \"giaddr\"" "$T/explain.json" &&
	 [ "$(verdict "$NODE")" = taken ] || { cat "$T/explain.json" "$T/explain.err"; false; }'
ck "explain, option 82: a rule of site b wins over A's giaddr (circuit-id, then hex remote-id)" \
	'explain --mac $MAC_X --giaddr $NA.1 --circuit-id "sw-b port 7" &&
	 jqt ".site == \"b\" and .by == \"option 82\"" "$T/explain.json" &&
	 explain --mac $MAC_X --giaddr $NA.1 --remote-id hex:0a0b0c &&
	 jqt ".site == \"b\" and .by == \"option 82\"" "$T/explain.json" &&
	 explain --mac $MAC_X --giaddr $NA.1 --circuit-id "sw-b port 8" &&
	 jqt ".site == \"a\" and .by == \"giaddr\"" "$T/explain.json" ||
	 { cat "$T/explain.json" "$T/explain.err"; false; }'
ck "explain refuses a bad circuit-id and a bad mac (400)" \
	'! explain --mac $MAC_X --circuit-id "hex:0g" && grep -q "circuit_id" "$T/explain.err" &&
	 ! explain --mac zz:zz --ip $NA.50 && grep -q "mac" "$T/explain.err"'

# --- boots --------------------------------------------------------------------
# guest_ip NAME: the address the site's DHCP server leased to guest NAME.
guest_ip() { awk -v m="$(pxe_mac "$1")" '$2 == m { print $3 }' "$T/$NSH-dhcp.leases" | tail -1; }
kernel_from() { # LOG NAME @VERSION: LOG shows guest NAME's kernel fetch, answered 200
	local ip
	ip=$(guest_ip "$2")
	[ -n "$ip" ] && grep -Eq "http $ip:[0-9]+: pxeguest$3/vmlinuz 200 " "$1"
}
no_kernel_from() { # LOG NAME: no kernel fetch at all by guest NAME in LOG
	local ip
	ip=$(guest_ip "$2")
	[ -n "$ip" ] && ! grep -Eq "http $ip:[0-9]+: pxeguest(@[0-9]+)?/vmlinuz " "$1"
}
boot() { # NS NAME WANT_MARK: a BIOS e1000 guest that must print the marker
	pxe_boot "$1" "$2" bios e1000 && [ "$PXE_MARK" = "$3" ]
}
show() { # NAME: the daemons' lines about guest NAME (when a check failed)
	local m ip
	m=$(pxe_mac "$1")
	ip=$(guest_ip "$1")
	echo "#   guest $1 mac $m ip ${ip:-?}"
	grep -hE "$m|http ${ip:-none}:" "$T/p.log" | sed 's/^/#   primary: /' | tail -8
	grep -hE "$m|http ${ip:-none}:" "$T/n.log" | sed 's/^/#   node A: /' | tail -8
	false
}

# A's guest and two of B's boot at once; bu is OVMF's own PXE client
# (no iPXE ROM): it is given a program by TFTP, whose server (siaddr) is
# node A, and once that iPXE runs, the script URL.
pxe_boot_start "$NSA" a1 bios e1000
pxe_boot_start "$NSB" b1 bios e1000
PXE_NO_IPXE_ROM=1 pxe_boot_start "$NSB" bu uefi virtio
pxe_boot_wait a1 b1 bu || true
elapsed "a1, b1 and bu booted"
ck "A's guest boots from node A with site a's entry (marker site-a)" \
	'[ "${PXE_MARKS[a1]}" = site-a ] || show a1'
ck "node A served A's guest its script (node A, then the primary) and kernel; the primary neither offered it nor served it" \
	'grep -q "dhcp $(pxe_mac a1) arch 0 (x86 BIOS) iPXE on 67: OFFER http://$NA.2:80/boot.ipxe.*; site a (interface) -> here" "$T/n.log" &&
	 grep -q "boot.ipxe mac $(pxe_mac a1) arch 0: site a (client address): .guest. from here primary$" "$T/n.log" &&
	 kernel_from "$T/n.log" a1 @1 && no_kernel_from "$T/p.log" a1 &&
	 ! grep -q "dhcp $(pxe_mac a1) .*OFFER" "$T/p.log" || show a1'
ck "B's guest (relayed) boots with site b's entry (marker site-b)" \
	'[ "${PXE_MARKS[b1]}" = site-b ] || show b1'
ck "the primary answered B's relayed request, referring it to node A; node A served its kernel" \
	'grep -Eq "dhcp $(pxe_mac b1) arch 0 \(x86 BIOS\) iPXE \(relayed\) on 67: OFFER http://$NA.2:80/boot.ipxe.*; site b \(giaddr\) -> $NODE \(referred\)" "$T/p.log" &&
	 kernel_from "$T/n.log" b1 @1 && no_kernel_from "$T/p.log" b1 || show b1'
ck "B's UEFI guest without iPXE ROM boots by relay (marker site-b)" \
	'[ "${PXE_MARKS[bu]}" = site-b ] || show bu'
ck "the primary referred B's UEFI PXE client to node A for snponly.efi (TFTP from node A), then for the script" \
	'grep -Eq "dhcp $(pxe_mac bu) arch 7 \(x64 UEFI\) \(relayed\) on 67: OFFER ipxe/snponly.efi from $NA.2; site b \(giaddr\) -> $NODE \(referred\)" "$T/p.log" &&
	 grep -Eq "dhcp $(pxe_mac bu) arch 7 \(x64 UEFI\) iPXE \(relayed\) on 67: OFFER http://$NA.2:80/boot.ipxe" "$T/p.log" &&
	 kernel_from "$T/n.log" bu @1 && no_kernel_from "$T/p.log" bu || show bu'

# --- node A at its transfer limit -----------------------------------------------
# Restarted with boot_transfer_limit = 2, node A holds two slow downloads
# of the 8 MB kernel (more than the sockets buffer):
# busy, it sends even its own clients to the primary, and says so in its
# heartbeat; free again once they end.
stop_pid "$NPID"
printf 'boot_transfer_limit = 2\n' >>"$T/n/dist.conf"
NL=$(wc -l <"$T/n.log")
node_run "$NSN" n
NPID=$NODE_PID
since() { tail -n +"$((NL + 1))" "$T/n.log" | grep -Eq -- "$1"; } # PATTERN: logged since the restart
wait_since() { # PATTERN SECONDS
	local i
	for i in $(seq $(($2 * 5))); do since "$1" && return 0; sleep 0.2; done
	return 1
}
MAC_S=52-54-00-00-00-09
script_a() { # the script node A gives a client of site a, in $T/script.ipxe
	ip netns exec "$NSA" curl -sf --max-time 5 -o "$T/script.ipxe" \
		"http://$NA.2:80/boot.ipxe?mac=$MAC_S&arch=0"
}
ck "node A restarts with boot_transfer_limit = 2 and publishes again" \
	'wait_since "boot files of site a: .* published" 30'
ck "node A, below its limit, sends its own client to itself first, then the primary" \
	'script_a && since "boot.ipxe mac ${MAC_S//-/:} arch 0: site a \(client address\): .guest. from here primary$" ||
	 { cat "$T/script.ipxe"; false; }'
SLOW=()
for _ in 1 2; do
	ip netns exec "$NSA" curl -s --limit-rate 2k -o /dev/null --max-time 120 \
		"http://$NA.2:80/boot/pxeguest@1/vmlinuz" &
	SLOW+=("$!")
	PIDS+=("$!")
done
ck "two slow downloads: node A is at its limit" \
	'wait_since "boot: 2 transfers: at the transfer limit" 10'
ck "busy, node A sends its own client to the primary" \
	'script_a && since "boot.ipxe mac ${MAC_S//-/:} arch 0: site a \(client address\): .guest. from primary$" &&
	 grep -q "http://$HQ.1:80/" "$T/script.ipxe" && ! grep -q "http://$NA.2:80/" "$T/script.ipxe" ||
	 { cat "$T/script.ipxe"; false; }'
ck "the heartbeat carries it: explain shows node A busy, the primary taken" \
	'for _ in $(seq 20); do
		explain --mac $MAC_X --ip $NA.50 && [ "$(verdict "$NODE")" = busy ] && break; sleep 0.5
	 done
	 [ "$(verdict "$NODE")" = busy ] && [ "$(verdict primary)" = taken ] ||
	 { cat "$T/explain.json" "$T/explain.err"; false; }'
for p in "${SLOW[@]}"; do stop_pid "$p"; done
ck "the downloads end: node A is free again and takes its clients back" \
	'wait_since "boot: [0-9]+ transfers: below the transfer limit again" 10 &&
	 for _ in $(seq 20); do
		explain --mac $MAC_X --ip $NA.50 && [ "$(verdict "$NODE")" = taken ] && break; sleep 0.5
	 done
	 [ "$(verdict "$NODE")" = taken ] || { cat "$T/explain.json" "$T/explain.err"; false; }'
elapsed "busy and free again"

# --- pxeguest v2, which A cannot complete: its windows are closed ----------------
day=$(date -u -d '+3 days' +%a | tr 'A-Z' 'a-z')
site_json a hq 10 $NA.0/24 "$day 01:00-02:00"
cli site set a --file "$T/site-a.json" >/dev/null
randfile "$T/extra.bin" $((4 << 20))
cli -q image upload pxeguest vmlinuz="$PXE_KERNEL" initrd.gz="$PXE_INITRD" extra.bin="$T/extra.bin" >/dev/null
ck "pxeguest v2 at node A: incomplete, explain: node A no image, the primary taken" \
	'for _ in $(seq 40); do
		explain --mac $MAC_X --ip $NA.50 && [ "$(verdict primary)" = taken ] && break; sleep 0.5
	 done
	 jqt ".site == \"a\" and .image == \"pxeguest\" and (.held_by_nodes | not)" "$T/explain.json" &&
	 [ "$(verdict "$NODE")" = "no image" ] && [ "$(verdict primary)" = taken ] &&
	 ! grep -q "pxeguest@2 complete" "$T/n.log" || { cat "$T/explain.json" "$T/explain.err"; false; }'
ck "node A, asked for pxeguest@2/vmlinuz, which it lacks, answers 302 to the primary" \
	'for _ in $(seq 10); do
		r=$(ip netns exec "$NSA" curl -s -o /dev/null --max-time 5 -w "%{http_code} %{redirect_url}" \
			http://$NA.2:80/boot/pxeguest@2/vmlinuz)
		[ "$r" = "302 http://$HQ.1:80/boot/pxeguest@2/vmlinuz?referred=1" ] && break; sleep 0.5
	 done
	 [ "$r" = "302 http://$HQ.1:80/boot/pxeguest@2/vmlinuz?referred=1" ] &&
	 grep -q "http $NA.1:[0-9]*: pxeguest@2/vmlinuz is not here: 302 to http://$HQ.1:80/boot/pxeguest@2/vmlinuz?referred=1$" "$T/n.log" ||
	 { echo "#   got: $r"; false; }'
# (The primary publishes v2's boot files on its next tick, at most a
# second after the catalog node A may already have.)
ck "followed, that redirect ends at the primary, which serves the kernel" \
	'for _ in $(seq 10); do
		ip netns exec "$NSA" curl -sfL --max-redirs 3 --max-time 10 -o "$T/k.redir" \
			http://$NA.2:80/boot/pxeguest@2/vmlinuz && break; sleep 0.5
	 done
	 cmp -s "$T/k.redir" "$PXE_KERNEL"'
ck "node A no longer serves pxeguest/vmlinuz (the newest is v2): a 302 to the primary" \
	'for _ in $(seq 10); do
		r=$(ip netns exec "$NSA" curl -s -o /dev/null --max-time 5 -w "%{http_code} %{redirect_url}" \
			http://$NA.2:80/boot/pxeguest/vmlinuz)
		[ "$r" = "302 http://$HQ.1:80/boot/pxeguest/vmlinuz?referred=1" ] && break; sleep 0.5
	 done
	 [ "$r" = "302 http://$HQ.1:80/boot/pxeguest/vmlinuz?referred=1" ] || { echo "#   got: $r"; false; }'
# (Node A knows of v2 once it logs what it would fetch; its boot view
# follows within a second, before the guest's DHCP at ~3 s.)
ck "A's guest boots with site a's entry while v2 replicates (marker site-a)" \
	'wait_n "pxeguest@2: [0-9]* chunks" 20 && boot "$NSA" a2 site-a || show a2'
ck "node A referred it to the primary, which served its kernel (v2)" \
	'grep -Eq "dhcp $(pxe_mac a2) arch 0 \(x86 BIOS\) iPXE on 67: OFFER http://$HQ.1:80/boot.ipxe.*; site a \(interface\) -> primary \(referred\)" "$T/n.log" &&
	 kernel_from "$T/p.log" a2 @2 && no_kernel_from "$T/n.log" a2 || show a2'
elapsed "a2 booted"

# --- node C, at head office for a site of its own, holds v2 ------------------------
# Site c (parent hq, wan_cost 20) has node C on HQ's LAN (no DHCP, no
# TFTP: it only serves files).  Its windows are open: it completes v2,
# and node A, lacking v2, now sends a client to node C, marking the
# redirect; a client that arrives marked goes on to the primary only.
NSC="blb-rcn-$$"
node_host "$NSC" "$NSH" vnodec $HQ.5
site_json c hq 20 10.85.0.0/24
cli site add c --file "$T/site-c.json" >/dev/null
node_enroll c "$NSC" c $HQ.5 $'dhcp = no\ntftp = no'
NODEC=$NODE_ID
node_run "$NSC" c
CPID=$NODE_PID
ck "node C completes pxeguest v2" 'log_wait "$T/c.log" "pxeguest@2 complete" 60'
ck "node A, lacking v2, sends its client to node C, the redirect marked" \
	'for _ in $(seq 40); do
		r=$(ip netns exec "$NSA" curl -s -o /dev/null --max-time 5 -w "%{http_code} %{redirect_url}" \
			http://$NA.2:80/boot/pxeguest@2/vmlinuz)
		[ "$r" = "302 http://$HQ.5:80/boot/pxeguest@2/vmlinuz?referred=1" ] && break; sleep 0.5
	 done
	 [ "$r" = "302 http://$HQ.5:80/boot/pxeguest@2/vmlinuz?referred=1" ] || { echo "#   got: $r"; false; }'
ck "followed, that redirect ends at node C, which serves the kernel" \
	'rm -f "$T/k.redir"
	 for _ in $(seq 10); do
		ip netns exec "$NSA" curl -sfL --max-redirs 3 --max-time 10 -o "$T/k.redir" \
			http://$NA.2:80/boot/pxeguest@2/vmlinuz && break; sleep 0.5
	 done
	 cmp -s "$T/k.redir" "$PXE_KERNEL" && grep -q "pxeguest@2/vmlinuz 200 " "$T/c.log"'
ck "a client redirected once already is sent on to the primary, not to node C" \
	'r=$(ip netns exec "$NSA" curl -s -o /dev/null --max-time 5 -w "%{http_code} %{redirect_url}" \
		"http://$NA.2:80/boot/pxeguest@2/vmlinuz?referred=1")
	 [ "$r" = "302 http://$HQ.1:80/boot/pxeguest@2/vmlinuz?referred=1" ] || { echo "#   got: $r"; false; }'
stop_pid "$CPID"
ck "node C stopped: explain shows it unhealthy" \
	'for _ in $(seq 40); do
		explain --mac $MAC_X --ip $NA.50 && [ "$(verdict "$NODEC")" = unhealthy ] && break; sleep 0.5
	 done
	 [ "$(verdict "$NODEC")" = unhealthy ] || { cat "$T/explain.json" "$T/explain.err"; false; }'
elapsed "node C done"

# --- node A down --------------------------------------------------------------
stop_pid "$NPID"
t_kill=$SECONDS
ck "node A stopped: within 20 s explain shows it unhealthy" \
	'for _ in $(seq 40); do
		explain --mac $MAC_X --ip $NA.50 && [ "$(verdict "$NODE")" = unhealthy ] && break; sleep 0.5
	 done
	 [ "$(verdict "$NODE")" = unhealthy ] && [ "$(verdict primary)" = taken ] ||
	 { cat "$T/explain.json" "$T/explain.err"; false; }'
echo "# t_referral: node A unhealthy after $((SECONDS - t_kill)) s"
ck "with node A down, A's guest boots from the primary by relay (marker site-a)" \
	'boot "$NSA" a3 site-a || show a3'
ck "the primary answered A's relayed request itself, and served the kernel" \
	'grep -Eq "dhcp $(pxe_mac a3) arch 0 \(x86 BIOS\) iPXE \(relayed\) on 67: OFFER .*; site a \(giaddr\) -> here" "$T/p.log" &&
	 kernel_from "$T/p.log" a3 @2 || show a3'
elapsed "a3 booted"

ck "the primary is still running" 'kill -0 "${PIDS[0]}"'
stop_all
for f in p n c; do
	ck "no sanitizer report in $f.log" '! grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$T/$f.log"'
done
elapsed "done"
echo "t_referral: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

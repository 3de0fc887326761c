#!/usr/bin/env bash
# Boot serving over TFTP: a distribution node replicates an image named by
# its site's boot entries and serves exactly those files on port 69,
# straight from its chunk store, to real clients: tftp-hpa, atftp (with
# blksize and windowsize), busybox tftp and curl.  Inside network
# namespaces this test creates: the primary's namespace holds the LAN
# bridge and the clients; the node has its own.
#
# Cases: every client, blksize 8 to 65464, windowsize 1 to 64, tsize; a
# 100 MB file at 512-byte blocks (block number rollover); a relay that
# drops every Nth datagram (DATA and ACKs); files that are not published
# (a file of the same image, path traversal, absolute paths) and writes
# are refused with a TFTP error; garbage datagrams are dropped and the
# server goes on; 24 clients at once.
# shellcheck disable=SC2016 # ck's single-quoted code is evaluated later
. "$(dirname "$0")/lib.sh"

P="$BL_BIN/primary/branchline-primary"
D="$BL_BIN/distribution/branchline-dist"
U="$(cd "$(dirname "$0")/.." && pwd)/tools/udpdrop.py"
for b in "$P" "$D"; do [ -x "$b" ] || { echo "no $b: build first" >&2; exit 1; }; done
if [ "$(id -u)" -ne 0 ] || ! ip netns add "blb-probe-$$" 2>/dev/null; then
	echo "ok - # SKIP network namespaces need root"
	exit 0
fi
ip netns del "blb-probe-$$"
for c in tftp atftp busybox curl python3 jq xxd; do
	command -v "$c" >/dev/null || { echo "not ok - $c is missing (deploy/install-deps.sh --test)"; exit 1; }
done
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS=print_stacktrace=1
unset BRANCHLINE_SERVER BRANCHLINE_TOKEN BRANCHLINE_CA BRANCHLINE_CONFIG BRANCHLINE_STORE

NSP="blb-p-$$"
NSA="blb-a-$$"
PIDS=()
CLEANUP+=('stop_all')
stop_all() {
	stop_pids
	ip netns del "$NSP" 2>/dev/null || true
	ip netns del "$NSA" 2>/dev/null || true
}
inp() { ip netns exec "$NSP" "$@"; }
cli() { ip netns exec "$NSP" "$BL" --server https://10.78.0.1:8443 --token "$TOK" --ca "$T/p/pki/ca.crt" "$@"; }
wait_log() { log_wait "$T/a.log" "$1" "$2"; } # PATTERN SECONDS

# --- the network: the primary's LAN bridge, the node on a veth -------------
ip netns add "$NSP"
inp ip link set lo up
inp ip link add br0 type bridge
inp ip addr add 10.78.0.1/24 dev br0
inp ip link set br0 up
ip netns add "$NSA"
ip link add "va-$$" type veth peer name eth0 netns "$NSA"
ip link set "va-$$" netns "$NSP"
inp ip link set "va-$$" master br0 up
ip netns exec "$NSA" ip link set lo up
ip netns exec "$NSA" ip addr add 10.78.0.2/24 dev eth0
ip netns exec "$NSA" ip link set eth0 up

# --- the primary, an image, a site with boot entries ---------------------
# The primary serves its own LAN too (site east, once it is defined), on
# ports of its own: the node's are the standard ones.
PRIMARY_CONF='boot_site = east
tftp_port = 1069
http_boot_port = 8080
dhcp_port = 1067
dhcp_pxe_port = 14011' netns_primary "$NSP" 10.78.0.1
randfile "$T/vmlinuz" $(((5 << 20) + 777))
randfile "$T/initrd" $((100 << 20)) # past 65535 blocks of 512 bytes
randfile "$T/prog" $((2 << 20))     # a multiple of 512: ends with an empty block
randfile "$T/small" $(((256 << 10) + 100))
echo "not a boot file" >"$T/secret"
cli -q image upload netboot vmlinuz="$T/vmlinuz" initrd.gz="$T/initrd" \
	efi/prog.efi="$T/prog" efi/small.efi="$T/small" secret.txt="$T/secret" >/dev/null
cat >"$T/east.json" <<'EOF'
{"name": "east", "tz": "UTC", "images": ["netboot"],
 "boot": [{"name": "linux", "arch": "any", "kind": "kernel", "image": "netboot",
           "kernel": "vmlinuz", "initrd": "initrd.gz", "args": "console=ttyS0",
           "default": true},
          {"name": "prog", "arch": "efi-x64", "kind": "program",
           "image": "netboot", "program": "efi/prog.efi"},
          {"name": "small", "arch": "efi-arm64", "kind": "program",
           "image": "netboot", "program": "efi/small.efi"}]}
EOF
cli site add east --subnet 10.78.0.0/24 >/dev/null
cli site set east --file "$T/east.json" >/dev/null

tok=$(cli node add east 2>"$T/nodeadd.err")
FPR=$(grep -o 'ca-sha256 [0-9a-f]*' "$T/nodeadd.err" | cut -d' ' -f2)
ip netns exec "$NSA" "$D" enroll --primary https://10.78.0.1:8443 --ca-sha256 "$FPR" \
	--token "$tok" --state "$T/a" >"$T/a.enroll" 2>&1 || fatal "enroll: $(cat "$T/a.enroll")"
printf 'tftp_bind = 10.78.0.2\ntftp_max_per_client = 32\nhttp_boot_tls_port = 8445\n' >>"$T/a/dist.conf"
ip netns exec "$NSA" "$D" --config "$T/a/dist.conf" 2>>"$T/a.log" &
PIDS+=($!)
ck "the node replicates netboot@1" 'wait_log "netboot@1 complete" 120'
ck "the node publishes the four files its boot entries name" 'wait_log "boot files of site east: 4 published" 10'

# --- clients ---------------------------------------------------------------
S=10.78.0.2
got() { cmp -s "$1" "$2"; }
rm -f "$T/o"*
ck "tftp-hpa: vmlinuz, octet, 512-byte blocks" \
	'inp tftp -m binary $S -c get netboot/vmlinuz "$T/o1" && got "$T/o1" "$T/vmlinuz"'
ck "tftp-hpa: a leading / is accepted" \
	'inp tftp -m binary $S -c get /netboot/vmlinuz "$T/o1b" && got "$T/o1b" "$T/vmlinuz"'
ck "tftp-hpa: 100 MB at 512-byte blocks rolls the block number over" \
	'inp tftp -m binary $S -c get netboot/initrd.gz "$T/o2" && got "$T/o2" "$T/initrd"'
ck "atftp: blksize 1428, windowsize 16, tsize" \
	'inp atftp --option "blksize 1428" --option "windowsize 16" --option "tsize 0" -g -r netboot/initrd.gz -l "$T/o3" $S \
	 >"$T/atftp.out" 2>&1 && got "$T/o3" "$T/initrd"'
for w in 1 4 64; do
	ck "atftp: windowsize $w" \
		'inp atftp --option "blksize 1024" --option "windowsize '$w'" -g -r netboot/vmlinuz -l "$T/o4" $S >/dev/null 2>&1 &&
		 got "$T/o4" "$T/vmlinuz"'
done
ck "atftp: blksize 65464 (clamped to the MTU)" \
	'inp atftp --option "blksize 65464" -g -r netboot@1/vmlinuz -l "$T/o5" $S >/dev/null 2>&1 && got "$T/o5" "$T/vmlinuz"'
ck "the node clamped blksize 65464 to the 1500 MTU (1468)" 'grep -q "vmlinuz.*blksize 1468" "$T/a.log"'
ck "busybox tftp: blksize 1468, a file ending in an empty block" \
	'inp busybox tftp -g -b 1468 -r netboot/efi/prog.efi -l "$T/o6" $S && got "$T/o6" "$T/prog"'
ck "curl tftp://: blksize 8" \
	'inp curl -s --tftp-blksize 8 -o "$T/o7" tftp://$S/netboot/efi/prog.efi && got "$T/o7" "$T/prog"'
ck "curl tftp://: blksize 512, no options asked (plain RFC 1350)" \
	'inp curl -s --tftp-no-options -o "$T/o8" tftp://$S/netboot/vmlinuz && got "$T/o8" "$T/vmlinuz"'

# --- lost datagrams ------------------------------------------------------------
rm -f "$T/drop.pid"
ip netns exec "$NSP" python3 "$U" --listen 10.78.0.1:6969 --connect $S:69 --every 25 \
	--pidfile "$T/drop.pid" 2>"$T/drop.log" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$T/drop.pid" ] && break; sleep 0.1; done
ck "every 25th datagram lost, window 8: atftp still gets it all" \
	'inp timeout 90 atftp --option "blksize 1428" --option "windowsize 8" -g -r netboot/efi/small.efi -l "$T/o9" 10.78.0.1 6969 \
	 >/dev/null 2>&1 && got "$T/o9" "$T/small"'
ck "every 25th datagram lost, window 1: busybox tftp still gets it all" \
	'inp timeout 90 busybox tftp -g -b 1428 -r netboot/efi/small.efi -l "$T/o10" 10.78.0.1 6969 && got "$T/o10" "$T/small"'
ck "the relay did drop datagrams" 'grep -q "dropped [1-9]" "$T/drop.log"'

# --- what is refused ---------------------------------------------------------
nrefused() { grep -c "is not a published boot file" "$T/a.log" || true; }
refused() { # NAME: tftp-hpa gets an error and no file; the node logs it
	local before
	before=$(nrefused)
	rm -f "$T/oref"
	inp tftp -m binary $S -c get "$1" "$T/oref" >"$T/ref.out" 2>&1 || true
	grep -qi "error" "$T/ref.out" && [ ! -s "$T/oref" ] && [ "$(nrefused)" -eq $((before + 1)) ]
}
for f in netboot/secret.txt secret.txt ../../../etc/passwd /etc/passwd netboot/../netboot/vmlinuz \
	'netboot\..\secret.txt' netboot@2/vmlinuz nothere; do
	ck "refused, with an error and a log line: '$f'" 'refused "$f"'
done
ck "refused: a write (read-only server)" \
	'! inp busybox tftp -p -l "$T/secret" -r up.txt $S 2>"$T/put.out" && grep -q "read-only" "$T/a.log"'
ck "refused: netascii mode, with a message" \
	'inp tftp -m netascii $S -c get netboot/vmlinuz "$T/o11" >"$T/na.out" 2>&1; grep -q "octet" "$T/na.out"'

# --- garbage ------------------------------------------------------------------
inp python3 - "$S" <<'EOF'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (0, 1, 2, 3, 4, 100, 516, 1400, 65000):
    s.sendto(os.urandom(n), (sys.argv[1], 69))
s.sendto(b"\x00\x01netboot/vmlinuz", (sys.argv[1], 69))            # no NULs
s.sendto(b"\x00\x01" + b"A" * 400 + b"\x00octet\x00", (sys.argv[1], 69))
s.sendto(b"\x00\x01x\x00octet\x00blksize\x00", (sys.argv[1], 69))  # option without value
s.sendto(b"\x00\x04\x00\x01", (sys.argv[1], 69))                   # an ACK to port 69
EOF
sleep 0.5
ck "garbage datagrams are dropped and logged" 'grep -q "bad request" "$T/a.log"'
ck "the node still serves after the garbage" \
	'inp busybox tftp -g -b 1468 -r netboot/vmlinuz -l "$T/o12" $S && got "$T/o12" "$T/vmlinuz"'

# --- HTTP boot: the same files, and the iPXE script ----------------------------
H=http://$S
code() { inp curl -s -o "${OUT:-/dev/null}" -w "%{http_code}" "$@"; }
ck "http: GET a boot file" 'inp curl -sf -o "$T/h1" $H/boot/netboot/vmlinuz && got "$T/h1" "$T/vmlinuz"'
ck "http: GET a 100 MB file" 'inp curl -sf -o "$T/h2" $H/boot/netboot@1/initrd.gz && got "$T/h2" "$T/initrd"'
etag=$(inp curl -sfI $H/boot/netboot/efi/prog.efi | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
ck "http: HEAD gives the length, and the SHA-256 as ETag" \
	'inp curl -sfI $H/boot/netboot/efi/prog.efi | tr -d "\r" | grep -qi "^content-length: $(stat -c %s "$T/prog")$" &&
	 [ "$etag" = "\"$(sha256sum "$T/prog" | cut -d" " -f1)\"" ]'
ck "http: Range 1000-1999 is a 206 of those bytes" \
	'[ "$(OUT="$T/h3" code -r 1000-1999 $H/boot/netboot/vmlinuz)" = 206 ] &&
	 cmp -s "$T/h3" <(tail -c +1001 "$T/vmlinuz" | head -c 1000)'
ck "http: a suffix range (the last 10 bytes)" \
	'inp curl -sf -o "$T/h4" -r -10 $H/boot/netboot/vmlinuz && cmp -s "$T/h4" <(tail -c 10 "$T/vmlinuz")'
ck "http: a range past the end is a 416" '[ "$(code -r 99999999999- $H/boot/netboot/vmlinuz)" = 416 ]'
ck "http: If-None-Match with the ETag is a 304" \
	'[ "$(code -H "If-None-Match: $etag" $H/boot/netboot/efi/prog.efi)" = 304 ]'
ck "http: files that are not published are 404s" \
	'[ "$(code $H/boot/netboot/secret.txt)" = 404 ] &&
	 [ "$(code --path-as-is $H/boot/netboot/../netboot/vmlinuz)" = 404 ] && [ "$(code $H/etc/passwd)" = 404 ]'
ck "http: POST is a 405" '[ "$(code -d x $H/boot/netboot/vmlinuz)" = 405 ]'
inp curl -sf "$H/boot.ipxe?mac=52-54-00-AA-BB-CC&arch=7" >"$T/script" || true
ck "http: the iPXE script boots the site default with its initrd and args" \
	'head -1 "$T/script" | grep -qx "#!ipxe" &&
	 grep -qx "kernel http://10.78.0.2:80/boot/netboot/vmlinuz initrd=initrd.gz console=ttyS0 || goto bl1" "$T/script" &&
	 grep -qx "initrd http://10.78.0.2:80/boot/netboot/initrd.gz || goto bl1" "$T/script" &&
	 grep -qx "boot || goto bl1" "$T/script" && grep -q "52:54:00:aa:bb:cc" "$T/a.log"'
ck "http: the script falls back to the primary, which serves boot too" \
	'grep -qx "kernel http://10.78.0.1:8080/boot/netboot/vmlinuz initrd=initrd.gz console=ttyS0 || goto bl2" "$T/script" &&
	 tail -1 "$T/script" | grep -qx "exit 1"'
ck "http: a bad mac in the script request is a 400" '[ "$(code "$H/boot.ipxe?mac=zz")" = 400 ]'
ck "https: the same file with the node's certificate" \
	'inp curl -sf --cacert "$T/a/pki/ca.crt" -k -o "$T/h5" https://$S:8445/boot/netboot/vmlinuz && got "$T/h5" "$T/vmlinuz"'

# --- proxyDHCP and the PXE boot server -----------------------------------------
PROBE="$(cd "$(dirname "$0")/.." && pwd)/tools/dhcpprobe.py"
probe() { inp timeout 10 python3 "$PROBE" --iface br0 "$@"; }
jqr() { jq -r "$1" "$T/dhcp.json"; }
probe --arch 7 --vclass PXEClient:Arch:00007:UNDI:003016 --uuid 00112233445566778899aabbccddeeff00 >"$T/dhcp.json" || true
ck "proxyDHCP: an x64 UEFI PXE client is offered its program, over TFTP" \
	'[ "$(jqr ".opts[\"53\"]")" = 02 ] && [ "$(jqr .yiaddr)" = 0.0.0.0 ] && [ "$(jqr .siaddr)" = $S ] &&
	 [ "$(jqr .file)" = netboot/efi/prog.efi ] && [ "$(jqr ".opts[\"60\"]" | xxd -r -p)" = PXEClient ] &&
	 [ "$(jqr ".opts[\"54\"]")" = 0a4e0002 ] && [ "$(jqr ".opts[\"97\"]")" = 00112233445566778899aabbccddeeff00 ] &&
	 [ "$(jqr ".opts[\"43\"]")" != null ]'
probe --arch 0 --user-class iPXE >"$T/dhcp.json" || true
ck "proxyDHCP: iPXE gets its script URL, not a program" \
	'[ "$(jqr .file)" = "http://10.78.0.2:80/boot.ipxe?mac=52:54:00:00:00:01&arch=0" ]'
probe --arch 16 --vclass HTTPClient:Arch:00016:UNDI:003001 >"$T/dhcp.json" || true
ck "proxyDHCP: a UEFI HTTP boot client gets the program's URL and HTTPClient" \
	'[ "$(jqr .file)" = "http://10.78.0.2:80/boot/netboot/efi/prog.efi" ] &&
	 [ "$(jqr ".opts[\"60\"]" | xxd -r -p)" = HTTPClient ]'
ck "proxyDHCP: a BIOS PXE ROM with no BIOS program is not answered, and the log says why" \
	'! probe --arch 0 >/dev/null && grep -q "not answered: no boot program entry for arch 0" "$T/a.log"'
ck "proxyDHCP: a client that is not PXE gets nothing" '! probe --vclass "MSFT 5.0" --arch 7 >/dev/null'
probe --giaddr 10.78.0.1 --src-port 67 --to $S --arch 7 --opt82 01046c616e31020461626364 >"$T/dhcp.json" || true
ck "proxyDHCP: a relayed request is answered to the relay's port 67, option 82 echoed" \
	'[ "$(jqr .src)" = "10.78.0.2:67" ] && [ "$(jqr .giaddr)" = 10.78.0.1 ] &&
	 [ "$(jqr ".opts[\"82\"]")" = 01046c616e31020461626364 ] && grep -q "(relayed)" "$T/a.log"'
probe --type request --to $S --port 4011 --src-port 4011 --ciaddr 10.78.0.1 --arch 7 \
	--vclass PXEClient:Arch:00007:UNDI:003016 --item 1 >"$T/dhcp.json" || true
ck "PXE boot server (4011): a REQUEST gets an ACK with the file and the boot item" \
	'[ "$(jqr ".opts[\"53\"]")" = 05 ] && [ "$(jqr .file)" = netboot/efi/prog.efi ] &&
	 [ "$(jqr .src)" = "10.78.0.2:4011" ] && jqr ".opts[\"43\"]" | grep -q "470400010000"'
inp python3 - "$S" <<'PYEOF'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (0, 1, 239, 240, 300, 1400):
    s.sendto(os.urandom(n), (sys.argv[1], 67))
    s.sendto(os.urandom(n), (sys.argv[1], 4011))
hdr = bytes([1, 1, 6, 0]) + bytes(232) + bytes([99, 130, 83, 99])
s.sendto(hdr + bytes([53, 1, 1, 60, 200]) + b"PXEClient", (sys.argv[1], 67))  # option past the end
s.sendto(hdr + bytes([52, 1, 3, 53, 1, 1, 255]), (sys.argv[1], 67))             # overload, empty areas
s.sendto(hdr + bytes([93, 3, 0, 0, 0, 53, 1, 1, 255]), (sys.argv[1], 67))       # odd option 93
PYEOF
sleep 0.5
ck "proxyDHCP: garbage is dropped and logged" 'grep -q "dhcp .*dropped" "$T/a.log"'
probe --arch 7 --vclass PXEClient:Arch:00007:UNDI:003016 >"$T/dhcp.json" || true
ck "proxyDHCP: still answering after the garbage" '[ "$(jqr .file)" = netboot/efi/prog.efi ]'

# --- the primary's own boot services ----------------------------------------------
ck "the primary publishes its boot site's files too" 'grep -q "boot files of site east: 4 published" "$T/p.log"'
ck "the primary: TFTP from its own store" \
	'inp tftp -m binary 10.78.0.1 1069 -c get netboot/vmlinuz "$T/pr1" && got "$T/pr1" "$T/vmlinuz"'
ck "the primary: HTTP boot and the iPXE script" \
	'inp curl -sf -o "$T/pr2" http://10.78.0.1:8080/boot/netboot/efi/prog.efi && got "$T/pr2" "$T/prog" &&
	 inp curl -sf "http://10.78.0.1:8080/boot.ipxe?arch=0" | grep -qx "kernel http://10.78.0.1:8080/boot/netboot/vmlinuz initrd=initrd.gz console=ttyS0"'
inp timeout 10 python3 "$PROBE" --to 10.78.0.1 --port 14011 --src-port 4011 --type request --ciaddr 10.78.0.1 \
	--arch 7 --vclass PXEClient:Arch:00007:UNDI:003016 >"$T/dhcp.json" || true
ck "the primary: its PXE boot server answers" '[ "$(jqr .file)" = netboot/efi/prog.efi ] && [ "$(jqr .siaddr)" = 10.78.0.1 ]'

# --- many at once ---------------------------------------------------------------
for i in $(seq 24); do
	inp busybox tftp -g -b 1468 -r netboot/vmlinuz -l "$T/m$i" $S &
	BG[i]=$!
done
bad=0
for i in $(seq 24); do wait "${BG[i]}" || bad=$((bad + 1)); got "$T/m$i" "$T/vmlinuz" || bad=$((bad + 1)); done
ck "24 clients at once all get vmlinuz intact ($bad failures)" '[ "$bad" -eq 0 ]'

ck "the node is still running" 'kill -0 "${PIDS[1]}"'
stop_all
for f in p a; do
	ck "no sanitizer report in $f.log" '! grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$T/$f.log"'
done
echo "t_boot: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

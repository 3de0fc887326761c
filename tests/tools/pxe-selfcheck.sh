#!/usr/bin/env bash
# pxe-selfcheck.sh - proves tests/integration/pxe_lib.sh with dnsmasq as
# the complete reference boot server (DHCP + TFTP, python's http.server
# for HTTP): real QEMU guests PXE-boot the pxe-guest.sh kernel+initramfs.
# For development; the integration tests put Branchline's own
# proxyDHCP/TFTP/HTTP server on br0 and the site DHCP from pxe_site_dhcp.
#
#   tests/tools/pxe-selfcheck.sh [CASE...]     (root; ~1-2 min under TCG)
#
# Cases (default: all):
#   bios-tftp      SeaBIOS + e1000 iPXE ROM; script, kernel, initrd over TFTP
#   uefi-http      OVMF + virtio iPXE ROM; script, kernel, initrd over HTTP
#   uefi-native    OVMF + virtio without an option ROM (PXE_NO_IPXE_ROM=1):
#                  OVMF's own PXE client TFTPs snponly.efi (iPXE), which
#                  DHCPs again and runs the HTTP script
#   proxy          the topology of the real tests: pxe_site_dhcp hands out
#                  addresses, a dnsmasq proxyDHCP + TFTP on br0 the boot
#                  files: bios+e1000 (iPXE ROM, HTTP script) and uefi+virtio
#                  without an option ROM (OVMF PXE -> snponly.efi -> script);
#                  then two guests booting at once
#   site-dhcp      pxe_site_dhcp: a lease without boot options; with
#                  PXE_DHCP_EXTRA (4011 mode) option 60 PXEClient; and a
#                  guest with only the site server fails fast
# Env: PXE_GUEST_DIR (guest cache, default /var/tmp/branchline-pxe-guest),
#      PXE_TIMEOUT, KEEP_T=1 (keep the scratch directory; its path is printed).
# Output: one PASS/FAIL line per check, "# pxe:" timing lines; exit 0 if
# all passed.
# shellcheck disable=SC2016 # single-quoted code is evaluated later
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# A minimal stand-in for lib.sh (which needs a built tree): T, CLEANUP, fatal.
T=$(mktemp -d "${TMPDIR:-/tmp}/bl-pxe.XXXXXX")
CLEANUP=()
cleanup() {
	local c
	for c in "${CLEANUP[@]}"; do eval "$c" || true; done
	if [ "${KEEP_T:-0}" = 1 ]; then echo "# scratch kept: $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
fatal() { echo "FAIL $*"; exit 1; }
# shellcheck source=SCRIPTDIR/../integration/pxe_lib.sh
. "$HERE/../integration/pxe_lib.sh"

pass=0
failed=0
result() { # NAME CMD...
	local n=$1
	shift
	if "$@"; then
		pass=$((pass + 1)); echo "PASS $n${PXE_SECS:+ (${PXE_SECS} s)}"
	else
		failed=$((failed + 1)); echo "FAIL $n"
	fi
	PXE_SECS=
}

pxe_require
pxe_guest "${PXE_GUEST_DIR:-}"
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(bios-tftp uefi-http uefi-native proxy site-dhcp)
want() { local c; for c in "${CASES[@]}"; do [ "$c" = "$1" ] && return 0; done; return 1; }

NET=10.79.0
S=$NET.1
ROOT="$T/root"
mkdir -p "$ROOT"
cp "$PXE_KERNEL" "$ROOT/vmlinuz"
cp "$PXE_INITRD" "$ROOT/initrd.gz"
cp /usr/lib/ipxe/snponly.efi "$ROOT/snponly.efi"
script() { # BASE MARK
	printf '#!ipxe\necho selfcheck: iPXE script, platform ${platform}, ip ${net0/ip}\n'
	printf 'kernel %s/vmlinuz initrd=initrd.gz console=ttyS0 panic=-1 blmark=%s\n' "$1" "$2"
	printf 'initrd %s/initrd.gz\nboot\n' "$1"
}
script "tftp://$S" tftp-bios >"$ROOT/tftp.ipxe"
script "http://$S:8080" http-uefi >"$ROOT/http.ipxe"
script "http://$S:8080" native-uefi >"$ROOT/native.ipxe"
script "http://$S:8080" proxy >"$ROOT/proxy.ipxe"
chmod -R a+rX "$ROOT"

# ------------------------------------------------- the full reference server
if want bios-tftp || want uefi-http || want uefi-native; then
	NS="blb-pxs-$$"
	pxe_net "$NS" "$NET"
	pxe_ra "$NS"
	# Per guest (by MAC) which script iPXE gets; firmware PXE clients that
	# are not iPXE (OVMF's own, client arch 7) get snponly.efi over TFTP.
	pxe__bg "$NS-dnsmasq" "$NS" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp \
		--conf-file=/dev/null --port=0 --user=root --interface=br0 --bind-interfaces \
		--dhcp-authoritative --no-ping "--dhcp-range=$NET.100,$NET.150,255.255.255.0,1h" \
		"--dhcp-leasefile=$T/dnsmasq.leases" "--pid-file=$T/dnsmasq.pid" \
		--dhcp-userclass=set:ipxe,iPXE --dhcp-match=set:efi64,option:client-arch,7 \
		"--dhcp-host=$(pxe_mac bios-tftp),set:g-tftp" \
		"--dhcp-host=$(pxe_mac uefi-http),set:g-http" \
		"--dhcp-host=$(pxe_mac uefi-native),set:g-native" \
		--dhcp-boot=tag:ipxe,tag:g-tftp,tftp.ipxe \
		"--dhcp-boot=tag:ipxe,tag:g-http,http://$S:8080/http.ipxe" \
		"--dhcp-boot=tag:ipxe,tag:g-native,http://$S:8080/native.ipxe" \
		--dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi \
		--enable-tftp "--tftp-root=$ROOT"
	pxe__waitudp "$NS" 67 "$!" "$NS-dnsmasq"
	pxe__bg "$NS-http" "$NS" /usr/bin/python3 -m http.server --bind "$S" --directory "$ROOT" 8080
	for _ in $(seq 50); do
		ip netns exec "$NS" ss -Hltn 'sport = :8080' | grep -q . && break
		sleep 0.1
	done

	booted() { # NAME FW NIC MARK
		pxe_boot "$NS" "$1" "$2" "$3" && [ "$PXE_MARK" = "$4" ]
	}
	if want bios-tftp; then
		result "bios+e1000, TFTP (iPXE ROM), mark tftp-bios" booted bios-tftp bios e1000 tftp-bios
	fi
	if want uefi-http; then
		result "uefi+virtio, HTTP (iPXE ROM), mark http-uefi" booted uefi-http uefi virtio http-uefi
	fi
	if want uefi-native; then
		export PXE_NO_IPXE_ROM=1
		result "uefi+virtio, no option ROM: OVMF PXE -> TFTP snponly.efi -> iPXE -> HTTP" \
			booted uefi-native uefi virtio native-uefi
		unset PXE_NO_IPXE_ROM
		result "  ... OVMF's own PXE client did the first DHCP+TFTP" \
			grep -q 'Start PXE over IPv4' "$T/uefi-native.serial"
		result "  ... and the server saw a client-arch 7 request for snponly.efi" \
			grep -q 'snponly.efi' "$T/$NS-dnsmasq.log"
	fi
fi

# ------------------------- site DHCP + a proxyDHCP boot server (real topology)
if want proxy; then
	NS4="blb-pxp-$$"
	pxe_net "$NS4" "$NET"
	pxe_site_dhcp "$NS4" "$NET"
	# dnsmasq answers PXE clients only, with boot files and no addresses.
	# Firmware PXE clients get snponly.efi (EFI); iPXE gets the script.
	pxe__bg "$NS4-proxy" "$NS4" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp \
		--conf-file=/dev/null --port=0 --user=root --interface=br0 --bind-interfaces \
		"--dhcp-range=$NET.0,proxy,255.255.255.0" "--pid-file=$T/proxy.pid" \
		--dhcp-userclass=set:ipxe,iPXE \
		"--pxe-service=tag:ipxe,x86PC,iPXE,http://$S:8080/proxy.ipxe" \
		"--pxe-service=tag:ipxe,X86-64_EFI,iPXE,http://$S:8080/proxy.ipxe" \
		"--pxe-service=tag:ipxe,BC_EFI,iPXE,http://$S:8080/proxy.ipxe" \
		"--pxe-service=tag:!ipxe,X86-64_EFI,chain,snponly.efi" \
		"--pxe-service=tag:!ipxe,BC_EFI,chain,snponly.efi" \
		--enable-tftp "--tftp-root=$ROOT"
	pxe__waitudp "$NS4" 67 "$!" "$NS4-proxy"
	pxe__bg "$NS4-http" "$NS4" /usr/bin/python3 -m http.server --bind "$S" --directory "$ROOT" 8080
	for _ in $(seq 50); do
		ip netns exec "$NS4" ss -Hltn 'sport = :8080' | grep -q . && break
		sleep 0.1
	done
	result "proxy: bios+e1000 (iPXE ROM), address from the site, script from the proxy" \
		eval 'pxe_boot "$NS4" proxy-bios bios e1000 && [ "$PXE_MARK" = proxy ]'
	export PXE_NO_IPXE_ROM=1
	result "proxy: uefi+virtio, no option ROM (OVMF PXE -> snponly.efi -> iPXE -> HTTP)" \
		eval 'pxe_boot "$NS4" proxy-uefi uefi virtio && [ "$PXE_MARK" = proxy ]'
	unset PXE_NO_IPXE_ROM
	result "proxy: the site server leased both guests' addresses" \
		eval 'grep -qi "$(pxe_mac proxy-bios)" "$T/$NS4-dhcp.leases" && grep -qi "$(pxe_mac proxy-uefi)" "$T/$NS4-dhcp.leases"'
	# two guests at once: pxe_boot_start, then pxe_boot_wait each
	par() {
		pxe_boot_start "$NS4" par-1 bios virtio
		pxe_boot_start "$NS4" par-2 bios e1000
		pxe_boot_wait par-1 par-2 && [ "${PXE_MARKS[par-1]}" = proxy ] && [ "${PXE_MARKS[par-2]}" = proxy ]
	}
	result "proxy: two guests at once (bios+virtio, bios+e1000)" par
fi

# --------------------------------------------------- the site DHCP server
if want site-dhcp; then
	NS2="blb-pxd-$$"
	pxe_net "$NS2" 10.79.1
	pxe_site_dhcp "$NS2" 10.79.1
	result "site DHCP: a lease from the pool, no boot file, no option 60" \
		eval 'pxe_dhcp_probe "$NS2" plain -V PXEClient:Arch:00000:UNDI:002001 -O 60 &&
		grep -Eq "^ip=10\.79\.1\.(1[0-4][0-9]|150)$" "$T/plain.dhcp" &&
		! grep -q "^boot_file=." "$T/plain.dhcp" && ! grep -Eq "^(vendor|opt60)=" "$T/plain.dhcp"'
	export PXE_TIMEOUT=60
	result "site DHCP only: the guest gets an address and fails fast (no boot file)" \
		eval '! pxe_boot "$NS2" nobody bios virtio && grep -q "net0: 10\.79\.1\." "$T/nobody.serial" &&
		grep -q "No more network devices" "$T/nobody.serial"'
	unset PXE_TIMEOUT
	NS3="blb-pxo-$$"
	pxe_net "$NS3" 10.79.2
	PXE_DHCP_EXTRA="--dhcp-vendorclass=set:pxe,PXEClient --dhcp-option-force=tag:pxe,60,PXEClient" \
		pxe_site_dhcp "$NS3" 10.79.2
	# udhcpc names a received option 60 "vendor" (older ones: opt60, in hex)
	result "site DHCP in 4011 mode: option 60 PXEClient to a PXE client" \
		eval 'pxe_dhcp_probe "$NS3" pxe60 -V PXEClient:Arch:00000:UNDI:002001 -O 60 &&
		grep -Eqi "^(vendor|opt60)=(PXEClient|505845436c69656e74)$" "$T/pxe60.dhcp"'
	result "site DHCP in 4011 mode: no option 60 to a client that is not PXE" \
		eval 'pxe_dhcp_probe "$NS3" notpxe -V something-else -O 60 && ! grep -Eq "^(vendor|opt60)=" "$T/notpxe.dhcp"'
fi

echo "pxe-selfcheck: $pass passed, $failed failed"
[ "$failed" -eq 0 ]

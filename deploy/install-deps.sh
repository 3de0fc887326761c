#!/usr/bin/env bash
# Install what Branchline needs on Debian 12, idempotently.
#   deploy/install-deps.sh          build dependencies
#   deploy/install-deps.sh --test   plus test and benchmark tools
set -euo pipefail

build_pkgs=(
	build-essential cmake ninja-build pkg-config clang
	libcurl4-openssl-dev libssl-dev libgit2-dev liblmdb-dev libevent-dev
	libcunit1-dev libjansson-dev libzstd-dev
)
test_pkgs=(
	jq lmdb-utils casync cpio busybox-static util-linux procps
	xxd rsync nginx-light tftp-hpa atftp tftpd-hpa
	qemu-system-x86 ipxe-qemu ovmf ipxe dnsmasq-base wrk isc-dhcp-relay
	systemd dpkg-dev groff-base
)

pkgs=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing: ${missing[*]}" >&2
	echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

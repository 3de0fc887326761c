#!/usr/bin/env bash
# Branchline demo, stage 1: the content-addressed image store.
#
# Installs what is missing, builds Branchline, fetches two real Debian
# kernel releases (linux-image-amd64 from bookworm and bookworm-security),
# builds a netboot initrd for each (busybox + the release's NIC and storage
# drivers, an uncompressed cpio), imports both as versions 1 and 2 of one
# image into a fresh store, and shows what was stored and what v2 shared
# with v1.  Later stages grow this into the multi-site replication and
# PXE demo.
#   DEMO_DIR=dir   where downloads and the store go (default ./demo-work)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${DEMO_DIR:-$ROOT/demo-work}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

say "installing dependencies (apt-get, only what is missing)"
bash deploy/install-deps.sh --test

say "building"
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DBL_TESTS=OFF >/dev/null
cmake --build build/demo -j "$(nproc)" | tail -1
BL="$ROOT/build/demo/primary/branchline"

say "fetching two Debian kernel releases and building their netboot initrds"
bash deploy/netboot-images.sh "$WORK"

STORE="$WORK/store"
rm -rf "$STORE"
say "creating a store: $STORE"
"$BL" --store "$STORE" init

say "importing v1"
"$BL" --store "$STORE" image add debian-netboot boot/vmlinuz="$WORK/rel1/vmlinuz" boot/initrd.cpio="$WORK/rel1/initrd.cpio"
say "importing v2 (the next kernel release)"
"$BL" --store "$STORE" image add debian-netboot boot/vmlinuz="$WORK/rel2/vmlinuz" boot/initrd.cpio="$WORK/rel2/initrd.cpio"

say "what is stored"
"$BL" --store "$STORE" image list
echo
"$BL" --store "$STORE" image show debian-netboot@2
echo
"$BL" --store "$STORE" stats
say "dedup between the versions"
"$BL" --store "$STORE" image diff debian-netboot@1 debian-netboot@2

say "reading back and verifying"
for v in 1 2; do
	for f in vmlinuz initrd.cpio; do
		want=$(sha256sum <"$WORK/rel$v/$f" | cut -c1-64)
		got=$("$BL" --store "$STORE" cat "debian-netboot@$v" "boot/$f" | sha256sum | cut -c1-64)
		[ "$want" = "$got" ] || die "debian-netboot@$v boot/$f differs after cat"
		echo "  debian-netboot@$v boot/$f: byte-identical (sha256 ${got:0:16}...)"
	done
done
"$BL" --store "$STORE" verify
say "done: the store is in $STORE; try: $BL --store $STORE image list"

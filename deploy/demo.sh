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

say "fetching two Debian kernel releases"
mkdir -p "$WORK/cache"
if [ -z "$(apt-cache madison linux-image-amd64 2>/dev/null)" ]; then
	apt-get update -q >/dev/null
fi
mapfile -t versions < <(apt-cache madison linux-image-amd64 | awk '{print $3}' | sort -V | tail -2)
[ ${#versions[@]} -ge 1 ] || die "apt knows no linux-image-amd64 (is apt configured?)"
i=0
for v in "${versions[@]}"; do
	i=$((i + 1))
	pkg=$(apt-cache depends "linux-image-amd64=$v" | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	deb=$(ls "$WORK/cache/${pkg}_"*.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		(cd "$WORK/cache" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
		deb=$(ls "$WORK/cache/${pkg}_"*.deb | head -1)
	fi
	echo "v$i: $pkg ($v): $(basename "$deb")"
	rel="$WORK/rel$i"
	if [ ! -s "$rel/initrd.cpio" ]; then
		rm -rf "$rel" && mkdir -p "$rel/x" "$rel/root/bin"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$rel/x" \
			--wildcards './boot/vmlinuz-*' \
			'./lib/modules/*/kernel/drivers/net/ethernet/intel/*' \
			'./lib/modules/*/kernel/drivers/net/virtio_net.ko' \
			'./lib/modules/*/kernel/drivers/net/net_failover.ko' \
			'./lib/modules/*/kernel/net/core/failover.ko' \
			'./lib/modules/*/kernel/drivers/nvme/*' \
			'./lib/modules/*/kernel/drivers/ata/*' \
			'./lib/modules/*/kernel/drivers/scsi/*' \
			'./lib/modules/*/kernel/fs/ext4/*'
		cp "$rel"/x/boot/vmlinuz-* "$rel/vmlinuz"
		cp "$(readlink -f "$(command -v busybox)")" "$rel/root/bin/busybox"
		cp -a "$rel/x/lib" "$rel/root/lib"
		printf '#!/bin/busybox sh\n/bin/busybox --install -s /bin\necho BRANCHLINE-BOOT-OK\nexec sh\n' >"$rel/root/init"
		chmod 755 "$rel/root/init"
		# Uncompressed newc cpio (the kernel accepts it): chunks dedup
		# across releases, which a gzip'd initrd would prevent.
		(cd "$rel/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) >"$rel/initrd.cpio"
		rm -rf "$rel/x"
	fi
	printf '    vmlinuz %s bytes, initrd.cpio %s bytes\n' "$(stat -c %s "$rel/vmlinuz")" "$(stat -c %s "$rel/initrd.cpio")"
done
[ $i -ge 2 ] || {
	echo "only one kernel release available: v2 is v1 with a changed module"
	mkdir -p "$WORK/rel2" && cp "$WORK/rel1/vmlinuz" "$WORK/rel1/initrd.cpio" "$WORK/rel2/"
	printf 'branchline-demo-change' | dd of="$WORK/rel2/initrd.cpio" bs=1 seek=4000000 conv=notrunc status=none
}

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
du -sh "$STORE/chunks" | awk '{print "  chunk files on disk: " $1}'

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

#!/usr/bin/env bash
# Build two real netboot image versions from Debian's kernel packages.
#   deploy/netboot-images.sh DIR
# Fetches the two newest linux-image-amd64 releases apt knows (bookworm
# and bookworm-security), and for each writes DIR/relN/vmlinuz and
# DIR/relN/initrd.cpio: busybox plus that release's NIC, NVMe, ATA, SCSI
# and ext4 modules, as an uncompressed newc cpio (the kernel takes it
# as is; a gzip'd initrd would hide what the releases share).  Downloads
# are cached in DIR/cache.  With only one release available, v2 is v1 with
# a changed region.  Needs apt, dpkg-deb, cpio and busybox-static.
set -euo pipefail
WORK=${1:?usage: netboot-images.sh DIR}
mkdir -p "$WORK/cache"
for c in apt-get apt-cache dpkg-deb cpio busybox; do
	command -v "$c" >/dev/null || { echo "netboot-images: missing $c (apt-get install cpio busybox-static)" >&2; exit 1; }
done
if [ -z "$(apt-cache madison linux-image-amd64 2>/dev/null)" ]; then
	apt-get update -q >/dev/null
fi
mapfile -t versions < <(apt-cache madison linux-image-amd64 | awk '{print $3}' | sort -V | tail -2)
[ ${#versions[@]} -ge 1 ] || { echo "netboot-images: apt knows no linux-image-amd64" >&2; exit 1; }
i=0
for v in "${versions[@]}"; do
	i=$((i + 1))
	rel="$WORK/rel$i"
	pkg=$(apt-cache depends "linux-image-amd64=$v" | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	if [ -s "$rel/initrd.cpio" ] && [ "$(cat "$rel/package" 2>/dev/null)" = "$pkg $v" ]; then
		continue
	fi
	deb=$(ls "$WORK/cache/${pkg}_"*.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		(cd "$WORK/cache" && apt-get download "$pkg" 2>&1 | grep -v 'unsandboxed' || true)
		deb=$(ls "$WORK/cache/${pkg}_"*.deb | head -1)
	fi
	rm -rf "$rel" && mkdir -p "$rel/x" "$rel/root/bin"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$rel/x" --wildcards \
		'./boot/vmlinuz-*' \
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
	(cd "$rel/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) >"$rel/initrd.cpio"
	rm -rf "$rel/x" "$rel/root"
	echo "$pkg $v" >"$rel/package"
done
if [ $i -lt 2 ]; then
	rm -rf "$WORK/rel2" && mkdir -p "$WORK/rel2"
	cp "$WORK/rel1/vmlinuz" "$WORK/rel1/initrd.cpio" "$WORK/rel2/"
	printf 'branchline-demo-change' | dd of="$WORK/rel2/initrd.cpio" bs=1 seek=4000000 conv=notrunc status=none
	echo "$(cat "$WORK/rel1/package") (modified copy)" >"$WORK/rel2/package"
fi
for i in 1 2; do
	printf 'v%d: %s: vmlinuz %s bytes, initrd.cpio %s bytes\n' "$i" "$(cat "$WORK/rel$i/package")" \
		"$(stat -c %s "$WORK/rel$i/vmlinuz")" "$(stat -c %s "$WORK/rel$i/initrd.cpio")"
done

#!/usr/bin/env bash
# pxe-guest.sh - the guest a PXE test boots: a Debian kernel and a tiny
# busybox initramfs that reports on the serial console and powers off.
#
#   tests/tools/pxe-guest.sh DIR
#
# Writes (cached; a second run with nothing changed does nothing):
#   DIR/vmlinuz     the kernel of the linux-image-*-amd64 package that
#                   linux-image-amd64 depends on (apt-get download;
#                   apt-get update only if apt-cache cannot resolve it)
#   DIR/initrd.gz   busybox-static + /init (gzip'd newc cpio, ~1 MB)
#   DIR/cache/      the downloaded .deb
#
# /init prints, on /dev/console (give the kernel console=ttyS0):
#   BRANCHLINE-PXE-OK mark=<blmark=... from the kernel command line> uptime=<s>
# and then runs `poweroff -f` (QEMU exits).  No modules: the guest does
# not touch the network itself.
#
# The kernel command line a boot script should pass, e.g. from iPXE:
#   kernel .../vmlinuz initrd=initrd.gz console=ttyS0 panic=-1 blmark=XYZ
# (initrd=initrd.gz is needed by the EFI stub under UEFI iPXE.)
#
# Exit status: 0 done, 1 a tool is missing or a step failed.
set -euo pipefail

DIR=${1:?usage: pxe-guest.sh DIR}
say() { printf 'pxe-guest: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for c in apt-get apt-cache dpkg-deb tar cpio gzip busybox ldd sha256sum mknod; do
	command -v "$c" >/dev/null ||
		die "missing $c (apt-get install apt dpkg tar cpio gzip busybox-static libc-bin coreutils)"
done
BB=$(readlink -f "$(command -v busybox)")
case "$(ldd "$BB" 2>&1 || true)" in
*'not a dynamic'*) ;;
*)
	die "$BB is dynamically linked: apt-get install busybox-static" ;;
esac
mkdir -p "$DIR/cache"

# ---------------------------------------------------------------- kernel
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
if [ ! -s "$DIR/vmlinuz" ]; then
	pkg=$(kernel_pkg)
	if [ -z "$pkg" ]; then
		say "apt-cache cannot resolve linux-image-amd64: apt-get update"
		apt-get update -q >/dev/null 2>&1 || die "apt-get update failed"
		pkg=$(kernel_pkg)
	fi
	[ -n "$pkg" ] || die "apt knows no linux-image-amd64 (check /etc/apt/sources.list)"
	deb=$(find "$DIR/cache" -maxdepth 1 -name "${pkg}_*.deb" | head -1)
	if [ -z "$deb" ]; then
		say "apt-get download $pkg"
		(cd "$DIR/cache" && apt-get download -q "$pkg" >"$DIR/cache/download.log" 2>&1) ||
			die "apt-get download $pkg failed: $(tail -3 "$DIR/cache/download.log")"
		deb=$(find "$DIR/cache" -maxdepth 1 -name "${pkg}_*.deb" | head -1)
		[ -n "$deb" ] || die "apt-get download $pkg left no .deb in $DIR/cache"
	fi
	x=$(mktemp -d "$DIR/x.XXXXXX")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" --wildcards './boot/vmlinuz-*' ||
		{ rm -rf "$x"; die "no ./boot/vmlinuz-* in $deb"; }
	cp "$x"/boot/vmlinuz-* "$DIR/vmlinuz.tmp"
	rm -rf "$x"
	mv "$DIR/vmlinuz.tmp" "$DIR/vmlinuz"
	rm -f "$deb" # only the kernel is needed; vmlinuz is the cache
	echo "${deb##*/}" >"$DIR/vmlinuz.package"
	say "kernel from ${deb##*/}: $(stat -c %s "$DIR/vmlinuz") bytes"
fi

# --------------------------------------------------------------- initramfs
# shellcheck disable=SC2016 # this is the guest's script, expanded there
INIT='#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /bin
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin
mark=
for kv in $(cat /proc/cmdline); do
	case "$kv" in blmark=*) mark=${kv#blmark=} ;; esac
done
echo "BRANCHLINE-PXE-OK mark=$mark uptime=$(cut -d" " -f1 /proc/uptime)"
sync
poweroff -f
sleep 5
echo o >/proc/sysrq-trigger
'
# The image depends only on /init and the busybox binary: rebuild when
# either changes.
stamp=$({ printf '%s' "$INIT"; sha256sum <"$BB"; } | sha256sum | cut -d' ' -f1)
if [ -s "$DIR/initrd.gz" ] && [ "$(cat "$DIR/initrd.stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "building the initramfs needs root (mknod dev/console)"
st=$(mktemp -d "$DIR/root.XXXXXX")
trap 'rm -rf "$st"' EXIT
mkdir -p "$st/bin" "$st/dev" "$st/proc" "$st/sys"
cp "$BB" "$st/bin/busybox"
# The kernel opens /dev/console for init before anything is mounted.
mknod -m 600 "$st/dev/console" c 5 1
mknod -m 666 "$st/dev/null" c 1 3
printf '%s' "$INIT" >"$st/init"
chmod 755 "$st/init" "$st/bin/busybox"
(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible | gzip -9n) >"$DIR/initrd.gz.tmp"
mv "$DIR/initrd.gz.tmp" "$DIR/initrd.gz"
echo "$stamp" >"$DIR/initrd.stamp"
say "initramfs: $(stat -c %s "$DIR/initrd.gz") bytes"

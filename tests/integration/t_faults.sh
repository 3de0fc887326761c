#!/usr/bin/env bash
# Faults: a full disk (small tmpfs), an index map that must grow and one
# that hits its limit, two image adds at once, gc running during an import.
# Each gets a clear message, a non-zero exit where it fails, and a store
# that still verifies.
. "$(dirname "$0")/lib.sh"

randfile "$T/a.bin" 3000000
randfile "$T/b.bin" 3000000
randfile "$T/big.bin" 24000000

# --- disk full: a 12 MiB tmpfs holding the store ---------------------
if [ "$(id -u)" -eq 0 ] && mkdir -p "$T/small" && mount -t tmpfs -o size=12m tmpfs "$T/small"; then
	CLEANUP+=("umount '$T/small'")
	S="$T/small/store"
	expect_exit 0 "init on a small disk" "$BL" --store "$S" init --zstd 0
	expect_exit 0 "a small image fits" "$BL" --store "$S" image add small "$T/a.bin"
	expect_exit 1 "a 24 MB image does not" "$BL" --store "$S" image add big "$T/big.bin"
	expect_err "No space left on device" "disk full named"
	expect_exit 0 "store verifies after disk full" "$BL" --store "$S" verify
	"$BL" --store "$S" cat small a.bin >"$T/cat.out"
	check "earlier image intact" cmp -s "$T/a.bin" "$T/cat.out"
	expect_exit 0 "gc frees the failed import's chunks" "$BL" --store "$S" --json gc
	check "gc removed what the failed import wrote" jqt ".chunks_removed + .orphans_removed > 0" "$T/out"
	expect_exit 0 "an image that fits now succeeds" "$BL" --store "$S" image add small2 "$T/b.bin"
	expect_exit 0 "store verifies" "$BL" --store "$S" verify
else
	echo "# skipping disk-full case: needs root and tmpfs"
fi

# --- index map: grows by itself; a configured limit fails cleanly ----
S="$T/grow"
expect_exit 0 "init with a 64 KiB index map" "$BL" --store "$S" init --chunk-min 1K --chunk-avg 4K --chunk-max 16K --index-map-size 64K
expect_exit 0 "import grows the map" "$BL" --store "$S" image add big "$T/big.bin"
check "map grew" [ "$(stat -c %s "$S/index/data.mdb")" -gt 65536 ]
"$BL" --store "$S" cat big big.bin >"$T/cat.out"
check "big image byte-identical" cmp -s "$T/big.bin" "$T/cat.out"

S="$T/limit"
expect_exit 0 "init with a 1 MiB map limit" "$BL" --store "$S" init --chunk-min 1K --chunk-avg 4K --chunk-max 16K --index-map-size 64K --index-map-max 1M
expect_exit 0 "a small image fits" "$BL" --store "$S" image add a "$T/a.bin"
expect_exit 1 "a big one hits the limit" "$BL" --store "$S" image add big "$T/big.bin"
expect_err "index reached its size limit" "map limit named"
expect_exit 0 "store verifies after map full" "$BL" --store "$S" verify
expect_exit 0 "and still reads" "$BL" --store "$S" cat a a.bin

# --- two image adds at once ------------------------------------------
S="$T/conc"
"$BL" --store "$S" init >/dev/null
"$BL" --store "$S" image add same "$T/a.bin" >"$T/o1" 2>&1 &
p1=$!
"$BL" --store "$S" image add same "$T/b.bin" >"$T/o2" 2>&1 &
p2=$!
"$BL" --store "$S" image add other "$T/big.bin" >"$T/o3" 2>&1 &
p3=$!
r=0
wait $p1 || r=1
wait $p2 || r=1
wait $p3 || r=1
check "three concurrent adds succeed" [ $r -eq 0 ]
"$BL" --store "$S" --json image list same >"$T/out"
check "same@1 and same@2, distinct" jqt 'length == 2 and .[0].version == 1 and .[1].version == 2 and .[0].manifest != .[1].manifest' "$T/out"
"$BL" --store "$S" cat same@1 a.bin >"$T/c1" 2>/dev/null || "$BL" --store "$S" cat same@1 b.bin >"$T/c1"
"$BL" --store "$S" cat other big.bin >"$T/c3"
check "concurrent content byte-identical" cmp -s "$T/big.bin" "$T/c3"
expect_exit 0 "store verifies after concurrent adds" "$BL" --store "$S" verify

# --- gc during an import ---------------------------------------------
S="$T/gcrun"
"$BL" --store "$S" init --chunk-min 1K --chunk-avg 4K --chunk-max 16K >/dev/null
"$BL" --store "$S" image add old "$T/a.bin" >/dev/null
"$BL" --store "$S" image rm old >/dev/null
"$BL" --store "$S" image add new "$T/big.bin" "$T/a.bin" >"$T/o1" 2>&1 &
p1=$!
n=0
while kill -0 $p1 2>/dev/null && [ $n -lt 200 ]; do
	"$BL" --store "$S" gc >/dev/null 2>&1 || true
	n=$((n + 1))
done
r=0
wait $p1 || r=1
check "import survives $n concurrent gc runs" [ $r -eq 0 ]
"$BL" --store "$S" gc >/dev/null
expect_exit 0 "store verifies after gc during import" "$BL" --store "$S" verify
"$BL" --store "$S" cat new a.bin >"$T/c1"
check "a.bin (whose chunks gc wanted) intact" cmp -s "$T/a.bin" "$T/c1"
# --- the source file changes during the import -----------------------
S="$T/changing"
"$BL" --store "$S" init >/dev/null
randfile "$T/moving.bin" 200000000
(
	# rewrite random 4 KiB ranges until told to stop (bounded: 3000)
	for i in $(seq 1 3000); do
		[ -e "$T/stop" ] && break
		head -c 4096 /dev/urandom | dd of="$T/moving.bin" bs=4096 \
			seek=$((RANDOM * 1000 % 48000)) conv=notrunc status=none
	done
) &
writer=$!
expect_exit 1 "import of a file being rewritten fails" "$BL" --store "$S" image add moving "$T/moving.bin"
touch "$T/stop"
wait $writer || true
expect_err "changed while it was being imported" "the change is named"
expect_exit 0 "store verifies after the refused import" "$BL" --store "$S" verify
"$BL" --store "$S" --json image list >"$T/out"
check "no version was added" jqt 'length == 0' "$T/out"
finish

#!/usr/bin/env bash
# kill -9 "image add" at random moments (24 times), then verify: no corrupt
# chunk visible, no manifest pointing at a missing chunk; gc reaps what the
# dead imports left; the next image add of the same file completes.
. "$(dirname "$0")/lib.sh"

S="$T/store"
KILLS=${KILLS:-24}
randfile "$T/img.bin" 8000000
"$BL" --store "$S" init --chunk-min 4K --chunk-avg 16K --chunk-max 64K >/dev/null
"$BL" --store "$S" image add base "$T/img.bin" >/dev/null

# Time one full import of fresh content, to spread the kills over it.
randfile "$T/img2.bin" 32000000
sync
t0=$(date +%s%N)
"$BL" --store "$S" image add timing "$T/img2.bin" >/dev/null
dur_ms=$((($(date +%s%N) - t0) / 1000000))
"$BL" --store "$S" image rm timing >/dev/null
echo "# one import takes ${dur_ms} ms"

# Rounds until KILLS imports died mid-run (bounded: 3 x KILLS rounds).
killed=0
rounds=0
for i in $(seq 1 $((KILLS * 3))); do
	[ "$killed" -ge "$KILLS" ] && break
	rounds=$i
	# each round imports fresh content (plus the stored image, so some
	# chunks dedup), so every kill lands mid-write
	head -c 24000000 /dev/urandom >"$T/head.bin"
	cat "$T/head.bin" "$T/img.bin" >"$T/crash.bin"
	sync
	delay_ms=$((10 + RANDOM % (dur_ms * 6 / 10 + 1)))
	"$BL" --store "$S" image add crash "$T/crash.bin" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' $((delay_ms % 1000)))"
	sleep $((delay_ms / 1000))
	if kill -9 $pid 2>/dev/null; then killed=$((killed + 1)); fi
	wait $pid 2>/dev/null || true
	if ! "$BL" --store "$S" verify >"$T/v.out" 2>&1; then
		not_ok "verify after kill $i at ${delay_ms} ms"
		head -5 "$T/v.out"
	fi
done
check "killed $killed imports mid-run in $rounds rounds (>= 20)" [ "$killed" -ge 20 ]
ok "store verified after each of $rounds rounds"
expect_exit 0 "gc after the crashes" "$BL" --store "$S" --json gc
check "gc reaped the dead imports" jqt '.sessions_reaped >= 1 and .orphan_sweep' "$T/out"
expect_exit 0 "verify after gc" "$BL" --store "$S" verify
expect_exit 0 "the same file imports to completion" "$BL" --store "$S" image add crash "$T/crash.bin"
"$BL" --store "$S" cat crash crash.bin >"$T/c.out"
check "and reads back byte-identical" cmp -s "$T/crash.bin" "$T/c.out"
"$BL" --store "$S" cat base img.bin >"$T/c.out"
check "the image present before the crashes is intact" cmp -s "$T/img.bin" "$T/c.out"
finish

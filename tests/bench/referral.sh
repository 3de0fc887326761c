#!/usr/bin/env bash
# Benchmark: referral decisions per second on one thread.  The driver,
# tests/bench/referral.c (bl_bench_referral), builds a view of 1,000
# sites, 100,000 subnets and 700 nodes, then times BENCH_REF_N decisions
# (site lookup, image id, choice of node) for clients made beforehand,
# each one timed on its own; see that file for the view and the clients.
# It needs tests/, which tests/bench/run's build/bench leaves out
# (BL_TESTS=OFF), so it builds in a Release tree of its own,
# build/bench-ref, and only its own target.
#   tests/bench/referral.sh      (or: tests/bench/run referral)
# Environment:
#   BENCH_REF_N     decisions (default 2000000)
#   BENCH_REF_SEED  seed of the view and the clients (default 1)
# Targets (issue 6): >= 200,000 decisions/s, p99 < 50 us.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/table.sh
N=${BENCH_REF_N:-2000000}
SEED=${BENCH_REF_SEED:-1}
log=/tmp/referral-build.$$
out=/tmp/referral-out.$$

die() { bench_failed referral "$*"; echo "referral: $*" >&2; exit 1; }

if ! { cmake -S . -B build/bench-ref -G Ninja -DCMAKE_BUILD_TYPE=Release -DBL_TESTS=ON &&
	cmake --build build/bench-ref --target bl_bench_referral; } >"$log" 2>&1; then
	grep -E "error|FAILED" "$log" | head -n 5 >&2
	rm -f "$log"
	die "building failed"
fi
rm -f "$log"
trap 'rm -f "$out"' EXIT
build/bench-ref/tests/bl_bench_referral "$N" "$SEED" | tee "$out" ||
	die "bl_bench_referral failed"
# "bench referral: ours=DECISIONS_PER_S p99=US (target ...)"
read -r rate p99 < <(sed -n 's/^bench referral: ours=\([0-9.]*\) p99=\([0-9.]*\).*/\1 \2/p' "$out") ||
	die "bl_bench_referral printed no bench line"
bench_record referral "referral decisions" "$rate" - - decisions/s ">= 200000"
bench_record referral "referral p99 latency" "$p99" - - us "< 50"

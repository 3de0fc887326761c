# lib.sh - shared helpers for the integration tests (sourced).
# Needs BL_BIN (the build directory); ctest sets it.
set -euo pipefail

: "${BL_BIN:?BL_BIN must name the build directory}"
BL="$BL_BIN/primary/branchline"
[ -x "$BL" ] || { echo "no $BL: build first" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/bl-it.XXXXXX")
CLEANUP=()
cleanup() {
	local c
	for c in "${CLEANUP[@]}"; do eval "$c" || true; done
	rm -rf "$T"
}
trap cleanup EXIT

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }

# expect_exit CODE DESC CMD...: run CMD, compare its exit status.
expect_exit() {
	local want=$1 desc=$2 got=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$desc (exit $got)"
	else
		not_ok "$desc: exit $got, wanted $want"
		sed 's/^/    stderr: /' "$T/err" | head -5
	fi
}

# expect_err PATTERN DESC: the last command's stderr matches PATTERN.
expect_err() {
	if grep -Eq -- "$1" "$T/err"; then
		ok "$2"
	else
		not_ok "$2: stderr lacks /$1/"
		sed 's/^/    stderr: /' "$T/err" | head -5
	fi
}

check() { # check DESC CMD...: CMD must succeed
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# Random data of N bytes (fast, not cryptographic).
randfile() { head -c "$2" /dev/urandom >"$1"; }

# ck DESC EXPR: EXPR (shell code, evaluated here) must succeed.
ck() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

# Stop the test now: a later step depends on this one.
fatal() { echo "not ok - $*"; exit 1; }

# netns_primary NS ADDR: a primary ($P) with state in $T/p, listening on
# ADDR:8443 inside namespace NS; logs to $T/p.log, its PID appended to
# PIDS, its operator token in TOK.  Returns once it answers.  Lines in
# PRIMARY_CONF are appended to its primary.conf first.
netns_primary() {
	"$P" init --state "$T/p" --name "$2" >"$T/init.out"
	TOK=$(tail -1 "$T/init.out")
	sed -i "s/^port = .*/port = 8443/; s/^bind = .*/bind = $2/; s|^url = .*|url = https://$2:8443|" \
		"$T/p/primary.conf"
	[ -z "${PRIMARY_CONF:-}" ] || printf '%s\n' "$PRIMARY_CONF" >>"$T/p/primary.conf"
	# Background "ip netns exec" itself (it execs the program): a
	# function would leave $! naming a subshell, and the program would
	# outlive us.
	ip netns exec "$1" "$P" --config "$T/p/primary.conf" 2>"$T/p.log" &
	PIDS+=($!)
	for _ in $(seq 100); do
		ip netns exec "$1" curl -s -o /dev/null --max-time 2 --cacert "$T/p/pki/ca.crt" \
			"https://$2:8443/v1/ca.crt" && return 0
		sleep 0.1
	done
	fatal "the primary did not answer on $2:8443"
}

# log_wait FILE PATTERN SECONDS: true once FILE has a line matching
# PATTERN (grep), false after SECONDS.
log_wait() {
	local i
	for i in $(seq $(($3 * 5))); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# stop_pids: end the processes in PIDS (ours, by PID) and reap them.
stop_pids() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

# jqt FILTER FILE: true if the JSON in FILE satisfies FILTER (quietly).
jqt() { jq -e "$@" >/dev/null; }

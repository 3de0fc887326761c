# primary_lib.sh - shared by the integration tests that run a real
# branchline-primary on 127.0.0.1 (t_primary.sh, t_cli_remote.sh).
# The caller sets P (the daemon), S (its state directory), T (scratch),
# CA (the pinned CA file), PORT (empty for a first start) and NSTART=0;
# start_primary sets PID and U.

# Stop the test now: a later step depends on this one (lib.sh's, plus
# the primary's last log lines).
fatal() {
	not_ok "$*"
	[ -n "$PID" ] && [ -f "$T/p$NSTART.log" ] && tail -15 "$T/p$NSTART.log" | sed 's/^/    log: /'
	finish || true
	exit 1
}

# Start the primary and wait until it answers.  The first start takes a
# random port in 20000-29999 (another one while it is busy); a restart
# keeps the port.
start_primary() {
	local first=0
	[ -n "$PORT" ] || first=1
	for _ in 1 2 3 4 5 6; do
		[ "$first" -eq 0 ] || PORT=$((20000 + RANDOM % 10000))
		sed -i "s/^port = .*/port = $PORT/; s/^bind = .*/bind = 127.0.0.1/" "$S/primary.conf"
		NSTART=$((NSTART + 1))
		"$P" --config "$S/primary.conf" 2>"$T/p$NSTART.log" &
		PID=$!
		U="https://127.0.0.1:$PORT"
		for _ in $(seq 150); do
			kill -0 "$PID" 2>/dev/null || break
			[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$CA" \
				"$U/v1/openapi.json")" != 200 ] || return 0
			sleep 0.1
		done
		kill -0 "$PID" 2>/dev/null && fatal "the primary on port $PORT did not answer within 15 s"
		wait "$PID" || true
		PID=
		grep -q "cannot listen" "$T/p$NSTART.log" ||
			fatal "the primary did not start: $(tail -3 "$T/p$NSTART.log")"
		[ "$first" -eq 1 ] || fatal "port $PORT was taken while the primary restarted"
	done
	fatal "no free port found"
}

# A sanitizer report in a log?
log_clean() { ! grep -Eq "ERROR: (Address|Leak)Sanitizer|runtime error|SUMMARY: .*Sanitizer" "$1"; }

#!/usr/bin/env bash
# table.sh - the results of a benchmark run, one row per figure, and the
# table tests/bench/run prints from them at the end.
#
# Sourced by every benchmark script: bench_record, bench_failed and
# bench_skipped append rows to the file $BENCH_RESULTS, which
# tests/bench/run empties and exports for its run (default
# $BENCH_DIR/results.tsv).  With BENCH_RESULTS unset (a script run on
# its own) they do nothing; the "bench ..." lines on stdout are the same
# either way.
# Run on its own, it prints the table of a results file:
#   tests/bench/table.sh [FILE]    (default $BENCH_RESULTS, else
#                                   $BENCH_DIR/results.tsv)
#
# The file: lines starting with "#" are printed above the table as they
# are; every other line is a row of 8 tab-separated fields:
#   BENCH  LABEL  OURS  PEER  RATIO  UNIT  TARGET  NOTE
# BENCH is the benchmark (the argument of tests/bench/run), LABEL the
# figure's name (its "bench" line up to the colon), OURS and PEER the two
# figures in UNIT, RATIO ours/peer as the bench line prints it; "-"
# where there is none.  TARGET is one of ">= X", "> X", "<= X", "< X",
# "A..B" (A <= v <= B) or "-" (the issue gives none); it applies to
# RATIO, or to OURS in a row without a ratio.  A benchmark that did not
# run has a row with OURS "failed" or "skipped" and the reason in NOTE.

# bench_record BENCH LABEL OURS PEER RATIO UNIT TARGET: one figure.
bench_record() {
	[ -n "${BENCH_RESULTS:-}" ] || return 0
	local f row=()
	for f in "$@"; do
		f=${f//$'\t'/ }
		row+=("${f//$'\n'/ }")
	done
	while [ "${#row[@]}" -lt 8 ]; do row+=(""); done
	(IFS=$'\t'; printf '%s\n' "${row[*]:0:8}") >>"$BENCH_RESULTS"
}
# bench_failed BENCH REASON, bench_skipped BENCH REASON: BENCH did not
# give its figures (a failure, or something it needs is missing).
bench_failed() { bench_record "$1" "$1" failed - - - - "$2"; }
bench_skipped() { bench_record "$1" "$1" skipped - - - - "$2"; }

# bench_table FILE: the table of FILE, aligned, and a last line counting
# the targets met and missed and the benchmarks that did not run.
bench_table() {
	awk -F'\t' '
	function isnum(x) { return x ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ }
	# verdict(V, T): "met", "MISSED", "-" (no target) or "?" (V or T
	# unreadable).
	function verdict(v, t,   op, x, a) {
		gsub(/ /, "", t)
		if (t == "" || t == "-") return "-"
		if (!isnum(v)) return "?"
		v += 0
		if (t ~ /\.\./) {
			split(t, a, /\.\./)
			if (!isnum(a[1]) || !isnum(a[2])) return "?"
			return (v >= a[1] + 0 && v <= a[2] + 0) ? "met" : "MISSED"
		}
		match(t, /^(>=|<=|>|<)/)
		if (RSTART != 1) return "?"
		op = substr(t, 1, RLENGTH)
		x = substr(t, RLENGTH + 1)
		if (!isnum(x)) return "?"
		x += 0
		if (op == ">=") return v >= x ? "met" : "MISSED"
		if (op == ">") return v > x ? "met" : "MISSED"
		if (op == "<=") return v <= x ? "met" : "MISSED"
		return v < x ? "met" : "MISSED"
	}
	function pad(s, k) {
		if (k == 7) return s # the last column: no padding
		return right[k] ? sprintf("%" w[k] "s", s) : sprintf("%-" w[k] "s", s)
	}
	function cell(s) { return s == "" ? "-" : s }
	/^#/ { print; next }
	NF == 0 { next }
	{
		n++
		c[n, 1] = cell($2)
		if ($3 == "failed" || $3 == "skipped") {
			c[n, 2] = $3
			for (k = 3; k <= 6; k++) c[n, k] = "-"
			c[n, 7] = ($3 == "failed" ? "FAILED" : "skipped") ($8 != "" ? ": " $8 : "")
			if ($3 == "failed" && !fseen[$1]++) failed = failed (nf++ ? ", " : "") $1
			else if ($3 == "skipped" && !sseen[$1]++) skipped = skipped (ns++ ? ", " : "") $1
		} else {
			c[n, 2] = cell($3); c[n, 3] = cell($4); c[n, 4] = cell($6)
			c[n, 5] = cell($5); c[n, 6] = cell($7)
			c[n, 7] = verdict(isnum($5) ? $5 : $3, $7)
			if (c[n, 7] == "met") met++
			else if (c[n, 7] == "MISSED") missed = missed (nm++ ? ", " : "") c[n, 1]
			else if (c[n, 7] == "?") unreadable = unreadable (nu++ ? ", " : "") c[n, 1]
			else none++
		}
	}
	END {
		split("benchmark|Branchline|peer|unit|ratio|target|result", h, "|")
		# Figures right-aligned, words left-aligned.
		split("0 1 1 0 1 0 0", right, " ")
		for (k = 1; k <= 7; k++) {
			w[k] = length(h[k])
			for (i = 1; i <= n; i++) if (k < 7 && length(c[i, k]) > w[k]) w[k] = length(c[i, k])
		}
		line = ""
		for (k = 1; k <= 7; k++) line = line (k > 1 ? "  " : "") pad(h[k], k)
		print line
		line = ""
		for (k = 1; k <= 7; k++) {
			d = ""
			for (j = 0; j < (k < 7 ? w[k] : length(h[k])); j++) d = d "-"
			line = line (k > 1 ? "  " : "") d
		}
		print line
		for (i = 1; i <= n; i++) {
			line = ""
			for (k = 1; k <= 7; k++) line = line (k > 1 ? "  " : "") pad(c[i, k], k)
			print line
		}
		printf "targets: %d met, %d missed%s; figures without a target: %d", met, nm,
			nm ? " (" missed ")" : "", none
		if (nu) printf "; %d unreadable (%s)", nu, unreadable
		printf "; benchmarks failed: %s; skipped: %s\n", nf ? nf " (" failed ")" : "none",
			ns ? ns " (" skipped ")" : "none"
	}' "$1"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	file=${1:-${BENCH_RESULTS:-${BENCH_DIR:-/var/tmp/branchline-bench}/results.tsv}}
	[ -r "$file" ] || { echo "table.sh: no results file $file" >&2; exit 1; }
	bench_table "$file"
fi

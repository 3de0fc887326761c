#!/usr/bin/env bash
# Installing: `cmake --install` into a throwaway prefix puts the programs,
# the systemd units, the sysusers.d file, the sample configurations, the
# manual pages (which groff renders without a warning, the configuration
# pages naming every key) and the docs in place; the programs run; the units pass systemd-analyze
# verify; the samples name every key the daemons accept and parse; both
# daemons run under their unit's capability bounding set and
# NoNewPrivileges, drop to their user and keep no capability; and
# `cpack -G DEB` makes a .deb that dpkg installs into a throwaway root.
# Nothing is installed on this machine; no network outside a namespace.
. "$(dirname "$0")/lib.sh"

SRC=${BL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
R="$T/root"
VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$BL_BIN/CMakeCache.txt")

# --- cmake --install -----------------------------------------------------------
cmake --install "$BL_BIN" --prefix "$R" >"$T/install.out" 2>&1 ||
	fatal "cmake --install: $(tail -5 "$T/install.out")"
for f in bin/branchline bin/branchline-primary bin/branchline-dist; do
	ck "installed: $f, executable" '[ -x "$R/$f" ]'
done
for f in lib/systemd/system/branchline-primary.service \
	lib/systemd/system/branchline-dist.service lib/sysusers.d/branchline.conf \
	etc/branchline/primary.conf.sample etc/branchline/dist.conf.sample \
	share/doc/branchline/README.md share/doc/branchline/ARCHITECTURE.md \
	share/doc/branchline/API.md share/doc/branchline/DEPLOY.md; do
	ck "installed: $f" '[ -s "$R/$f" ]'
done
# --- manual pages ----------------------------------------------------------------
for f in man1/branchline.1 man8/branchline-primary.8 man8/branchline-dist.8 \
	man5/branchline-primary.conf.5 man5/branchline-dist.conf.5; do
	ck "installed: share/man/$f.gz, which groff renders without a warning" \
		'[ -s "$R/share/man/$f.gz" ] && zcat "$R/share/man/$f.gz" >"$T/page" &&
		 groff -mdoc -Tutf8 -ww -z "$T/page" >"$T/groff.out" 2>&1 &&
		 [ ! -s "$T/groff.out" ] || { sed "s/^/    /" "$T/groff.out"; false; }'
done
ck "the manual pages name the installed configuration" \
	'zgrep -q "^\.Pa $R/etc/branchline/dist.conf" "$R/share/man/man8/branchline-dist.8.gz" &&
	 zgrep -q "^\.Nm $R/etc/branchline/primary.conf$" "$R/share/man/man5/branchline-primary.conf.5.gz"'
ck "the units start the installed programs with the installed configuration" \
	'grep -qx "ExecStart=$R/bin/branchline-primary --config $R/etc/branchline/primary.conf" \
		"$R/lib/systemd/system/branchline-primary.service" &&
	 grep -qx "ExecStart=$R/bin/branchline-dist --config $R/etc/branchline/dist.conf" \
		"$R/lib/systemd/system/branchline-dist.service"'

for prog in branchline branchline-primary branchline-dist; do
	expect_exit 0 "installed $prog --help" "$R/bin/$prog" --help
	check "$prog --help shows usage" grep -q "^usage: $prog" "$T/out"
	expect_exit 0 "installed $prog --version" "$R/bin/$prog" --version
	check "$prog --version says $VERSION" grep -qx "$prog $VERSION" "$T/out"
done

# --- systemd -------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	for u in branchline-primary branchline-dist; do
		ck "systemd-analyze verify $u.service: no error, no warning" \
			'systemd-analyze verify "$R/lib/systemd/system/$u.service" >"$T/v.out" 2>&1 &&
			 [ ! -s "$T/v.out" ] || { sed "s/^/    /" "$T/v.out"; false; }'
	done
else
	echo "ok # SKIP systemd-analyze verify: systemd-analyze is not installed"
fi
if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null; then
	mkdir -p "$T/sysroot/etc"
	ck "sysusers.d makes the branchline system user (in a throwaway root)" \
		'systemd-sysusers --root "$T/sysroot" "$R/lib/sysusers.d/branchline.conf" >/dev/null 2>&1 &&
		 grep -q "^branchline:x:[0-9]*:[0-9]*:.*:/nonexistent:/usr/sbin/nologin$" "$T/sysroot/etc/passwd"'
else
	echo "ok # SKIP sysusers.d: needs root and systemd-sysusers"
fi

# --- the sample configurations -------------------------------------------------
# Keys the daemons accept, from their tables; boot keys are shared.
keys() { grep -ohE '\{"[a-z_]+", CONF_' "$@" | cut -d'"' -f2 | sort; }
keys "$SRC/primary/primary_conf.c" "$SRC/common/bootsvc.c" >"$T/keys.primary"
keys "$SRC/distribution/dist_conf.c" "$SRC/common/bootsvc.c" >"$T/keys.dist"
for d in primary dist; do
	sample="$R/etc/branchline/$d.conf.sample"
	expect_exit 0 "the $d sample parses (branchline-$d -n)" "$R/bin/branchline-$d" -n --config "$sample"
	# Every commented-out default, uncommented: still valid, and then
	# every key is there once.
	sed -E 's/^#([a-z_]+ = )/\1/' "$sample" >"$T/$d.all"
	expect_exit 0 "the $d sample with every default uncommented parses" \
		"$R/bin/branchline-$d" -n --config "$T/$d.all"
	grep -oE '^[a-z_]+' "$T/$d.all" | sort >"$T/have.$d"
	ck "the $d sample names every key the daemon accepts ($(wc -l <"$T/keys.$d"))" \
		'[ -s "$T/keys.$d" ] && diff "$T/keys.$d" "$T/have.$d" >"$T/kdiff" ||
		 { sed "s/^/    /" "$T/kdiff"; false; }'
	ck "the $d sample drops root: user = branchline" 'grep -qx "user = branchline" "$sample"'
	zcat "$R/share/man/man5/branchline-$d.conf.5.gz" | sed -n "s/^\.It Cm \([a-z_]*\) No = .*/\1/p" |
		sort >"$T/man.$d"
	ck "branchline-$d.conf(5) describes every key the daemon accepts" \
		'diff "$T/keys.$d" "$T/man.$d" >"$T/kdiff" || { sed "s/^/    /" "$T/kdiff"; false; }'
done

# --- the privilege model, run -------------------------------------------------
# What systemd would do with the unit, without systemd: root limited to
# the unit's CapabilityBoundingSet=, NoNewPrivileges, systemd's bare
# environment, a /proc as ProtectProc=invisible and ProcSubset=pid make
# it, in a network namespace of our own; the state owned by the
# configured user (nobody here) and made by it as DEPLOY.md says.  Both
# daemons must bind their ports, then hold no capability, and still
# import and replicate (the store links files through /proc/self/fd).
bset() { # UNIT: its CapabilityBoundingSet= in setpriv's words
	local c out=-all
	for c in $(sed -n 's/^CapabilityBoundingSet=//p' "$1"); do
		c=${c#CAP_}
		out+=",+${c,,}"
	done
	echo "$out"
}
creds_dropped() { # PID: all ids nobody's, no capability, no_new_privs
	local s=/proc/$1/status nb
	nb=$(id -u nobody)
	grep -Eq "^Uid:\s+$nb\s+$nb\s+$nb\s+$nb$" "$s" &&
		grep -Eq '^CapPrm:\s+0+$' "$s" && grep -Eq '^CapEff:\s+0+$' "$s" &&
		grep -Eq '^CapAmb:\s+0+$' "$s" && grep -Eq '^NoNewPrivs:\s+1$' "$s"
}
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null || ! command -v runuser >/dev/null ||
	! ip netns add "bl-inst-$$" 2>/dev/null; then
	echo "ok # SKIP daemons under the units' privileges: needs root, setpriv, runuser, ip netns"
else
	NS=bl-inst-$$
	PIDS=()
	CLEANUP+=("stop_pids" "ip netns del $NS")
	ip -n "$NS" link set lo up
	chmod 711 "$T"
	P="$R/bin/branchline-primary"
	D="$R/bin/branchline-dist"
	run_unit() { # UNIT LOG PROG ARGS...: as the unit would, in the namespace
		local caps log=$2 env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin) v
		caps=$(bset "$R/lib/systemd/system/$1")
		shift 2
		# systemd's environment: no HOME, nothing of ours but the
		# sanitizers' settings.
		for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
			[ -z "${!v:-}" ] || env+=("$v=${!v}")
		done
		# ProtectProc=invisible and ProcSubset=pid: a /proc of our own.
		ip netns exec "$NS" unshare -m sh -c \
			'mount -t proc -o hidepid=invisible,subset=pid proc /proc && exec "$@"' sh \
			env -i "${env[@]}" setpriv --bounding-set="$caps" --no-new-privs "$@" 2>"$log" &
		PIDS+=($!)
	}
	nsx() { ip netns exec "$NS" "$@"; }

	install -d -o nobody -g nogroup -m 0750 "$T/p"
	runuser -u nobody -- "$P" init --state "$T/p" --name 127.0.0.1 >"$T/init.out" 2>&1 ||
		fatal "init as nobody: $(cat "$T/init.out")"
	TOK=$(tail -1 "$T/init.out")
	cp "$R/etc/branchline/primary.conf.sample" "$T/primary.conf"
	sed -i "s|^user = .*|user = nobody|; s|^url = .*|url = https://127.0.0.1:8443|" "$T/primary.conf"
	printf 'state_dir = %s\nbind = 127.0.0.1\nboot_site = hq\ndhcp_interfaces = lo\ntftp_bind = 127.0.0.1\nhttp_boot_bind = 127.0.0.1\n' \
		"$T/p" >>"$T/primary.conf"
	run_unit branchline-primary.service "$T/p.log" "$P" --config "$T/primary.conf"
	PPID_=${PIDS[-1]}
	ck "primary under the unit's bounding set: ready" 'log_wait "$T/p.log" "ready" 10 ||
		{ sed "s/^/    /" "$T/p.log"; false; }'
	ck "primary: as nobody, no capability left, no_new_privs, /proc hidepid" \
		'creds_dropped "$PPID_" && grep -q " /proc .*hidepid=invisible,subset=pid" "/proc/$PPID_/mountinfo"'
	nsx ss -Hlnu >"$T/udp"
	nsx ss -Hlnt >"$T/tcp"
	ck "primary: bound 67 and 4011 on lo, 69, 80 and 8443" \
		'grep -q "%lo:67 " "$T/udp" && grep -q "%lo:4011 " "$T/udp" &&
		 grep -q ":69 " "$T/udp" && grep -q "127.0.0.1:80 " "$T/tcp" && grep -q "127.0.0.1:8443 " "$T/tcp"'
	cli() {
		nsx env BRANCHLINE_SERVER=https://127.0.0.1:8443 BRANCHLINE_TOKEN="$TOK" \
			BRANCHLINE_CA="$T/p/pki/ca.crt" HOME="$T" "$R/bin/branchline" "$@"
	}
	randfile "$T/small.img" 3000000
	ck "primary: an import and a configuration commit work as nobody" \
		'{ cli -q image upload small disk.img="$T/small.img" &&
		   cli site add east --subnet 10.9.0.0/16 --tz UTC --image small; } >/dev/null 2>"$T/cli.err" ||
		 { sed "s/^/    /" "$T/cli.err"; false; }'

	tok=$(cli node add east 2>"$T/nodeadd.err") || fatal "node add: $(cat "$T/nodeadd.err")"
	FPR=$(grep -o 'ca-sha256 [0-9a-f]*' "$T/nodeadd.err" | cut -d' ' -f2)
	install -d -o nobody -g nogroup -m 0750 "$T/d"
	nsx runuser -u nobody -- "$D" enroll --primary https://127.0.0.1:8443 --ca-sha256 "$FPR" \
		--token "$tok" --state "$T/d" --url https://127.0.0.2:8444 --bind 127.0.0.2 \
		>"$T/enroll.out" 2>&1 || fatal "enroll as nobody: $(cat "$T/enroll.out")"
	cp "$R/etc/branchline/dist.conf.sample" "$T/dist.conf"
	sed -i "s|^user = .*|user = nobody|; s|^primary_url = .*|primary_url = https://127.0.0.1:8443|" "$T/dist.conf"
	printf 'state_dir = %s\nbind = 127.0.0.2\nurl = https://127.0.0.2:8444\ndhcp_interfaces = lo\ntftp_bind = 127.0.0.2\nhttp_boot_bind = 127.0.0.2\n' \
		"$T/d" >>"$T/dist.conf"
	run_unit branchline-dist.service "$T/d.log" "$D" --config "$T/dist.conf"
	DPID=${PIDS[-1]}
	ck "node under the unit's bounding set: replicating" 'log_wait "$T/d.log" "replicating from" 10 ||
		{ sed "s/^/    /" "$T/d.log"; false; }'
	ck "node: as nobody, no capability left, no_new_privs" 'creds_dropped "$DPID"'
	nsx ss -Hlnt >"$T/tcp"
	ck "node: bound 80 and 8444" 'grep -q "127.0.0.2:80 " "$T/tcp" && grep -q "127.0.0.2:8444 " "$T/tcp"'
	ck "node: replicates the image as nobody" 'log_wait "$T/d.log" "small@1 complete" 20 ||
		{ sed "s/^/    /" "$T/d.log" | tail -5; false; }'
	ck "node: its heartbeat reaches the primary" \
		'for _ in $(seq 50); do compgen -G "$T/p/status/*.json" >/dev/null && break; sleep 0.2; done;
		 compgen -G "$T/p/status/*.json" >/dev/null'
	stop_pids
	PIDS=()
	ck "both daemons stopped without a sanitizer report" \
		'! grep -Eq "Sanitizer|runtime error" "$T/p.log" "$T/d.log"'
fi

# --- the .deb ------------------------------------------------------------------
if ! command -v cpack >/dev/null || ! command -v dpkg-deb >/dev/null; then
	echo "ok # SKIP the .deb: cpack or dpkg-deb is not installed"
else
	(cd "$BL_BIN" && cpack -G DEB -B "$T/pkg") >"$T/cpack.out" 2>&1 ||
		fatal "cpack -G DEB: $(tail -5 "$T/cpack.out")"
	DEB=$(ls "$T"/pkg/branchline_"$VERSION"_*.deb 2>/dev/null | head -1)
	ck "cpack -G DEB makes branchline_${VERSION}_ARCH.deb" '[ -s "$DEB" ]'
	dpkg-deb -c "$DEB" | awk '{print $NF}' >"$T/deb.list"
	for f in ./usr/bin/branchline ./usr/bin/branchline-primary ./usr/bin/branchline-dist \
		./usr/lib/systemd/system/branchline-primary.service \
		./usr/lib/systemd/system/branchline-dist.service ./usr/lib/sysusers.d/branchline.conf \
		./etc/branchline/primary.conf.sample ./etc/branchline/dist.conf.sample \
		./usr/share/doc/branchline/DEPLOY.md ./usr/share/man/man8/branchline-dist.8.gz \
		./usr/share/man/man5/branchline-dist.conf.5.gz; do
		ck "the .deb holds $f" 'grep -qx -- "$f" "$T/deb.list"'
	done
	ck "the .deb: package branchline, version $VERSION, libraries in Depends" \
		'[ "$(dpkg-deb -f "$DEB" Package)" = branchline ] &&
		 [ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] &&
		 dpkg-deb -f "$DEB" Depends | grep -q libgit2'
	mkdir "$T/ctl"
	dpkg-deb -e "$DEB" "$T/ctl"
	ck "the .deb: the samples are conffiles; postinst, prerm, postrm" \
		'grep -qx /etc/branchline/primary.conf.sample "$T/ctl/conffiles" &&
		 grep -qx /etc/branchline/dist.conf.sample "$T/ctl/conffiles" &&
		 [ -x "$T/ctl/postinst" ] && [ -x "$T/ctl/prerm" ] && [ -x "$T/ctl/postrm" ]'
	# The code of the postinst, without the text of its here-documents.
	awk '/<<.?[A-Z]+.?$/ { print; skip = 1; next } skip && /^[A-Z]+$/ { skip = 0 } !skip' \
		"$T/ctl/postinst" >"$T/postinst.code"
	ck "the .deb: postinst enables and starts nothing" \
		'grep -q systemd-sysusers "$T/postinst.code" &&
		 ! grep -Eq "systemctl.*(enable|start)|deb-systemd" "$T/postinst.code"'
	dpkg-deb -x "$DEB" "$T/x"
	ck "the packaged units start /usr/bin programs with /etc/branchline configurations" \
		'grep -qx "ExecStart=/usr/bin/branchline-primary --config /etc/branchline/primary.conf" \
			"$T/x/usr/lib/systemd/system/branchline-primary.service" &&
		 grep -qx "ExecStart=/usr/bin/branchline-dist --config /etc/branchline/dist.conf" \
			"$T/x/usr/lib/systemd/system/branchline-dist.service"'
	ck "the packaged manual pages name /etc/branchline" \
		'zgrep -q "^\.Pa /etc/branchline/dist.conf" "$T/x/usr/share/man/man8/branchline-dist.8.gz"'
	ck "the packaged branchline-dist runs" '"$T/x/usr/bin/branchline-dist" --version | grep -qx "branchline-dist $VERSION"'
	# dpkg into a throwaway root: its scripts run here, outside a chroot,
	# with DPKG_ROOT set, and touch only that root.
	if [ "$(id -u)" -eq 0 ] && command -v dpkg >/dev/null && command -v systemd-sysusers >/dev/null; then
		DR="$T/droot"
		mkdir -p "$DR/var/lib/dpkg/info" "$DR/var/lib/dpkg/updates" "$DR/etc"
		: >"$DR/var/lib/dpkg/status"
		: >"$DR/var/lib/dpkg/available"
		dpk() { dpkg --root="$DR" --log="$T/dpkg.log" --force-script-chrootless --force-depends "$@"; }
		ck "dpkg -i into a throwaway root" 'dpk -i "$DEB" >"$T/dpkg.out" 2>&1 ||
			{ sed "s/^/    /" "$T/dpkg.out"; false; }'
		ck "dpkg: installed, the postinst made the user in that root and says what to do" \
			'dpkg --root="$DR" -s branchline 2>/dev/null | grep -q "^Status: install ok installed" &&
			 grep -q "^branchline:" "$DR/etc/passwd" && grep -q "systemctl enable --now" "$T/dpkg.out"'
		ck "dpkg --purge from that root removes the programs" \
			'dpk --purge branchline >"$T/dpkg.out" 2>&1 && [ ! -e "$DR/usr/bin/branchline-primary" ] ||
			 { sed "s/^/    /" "$T/dpkg.out"; false; }'
	else
		echo "ok # SKIP dpkg -i into a throwaway root: needs root, dpkg and systemd-sysusers"
	fi
fi
finish

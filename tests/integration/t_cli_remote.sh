#!/usr/bin/env bash
# The operator CLI against a real branchline-primary on 127.0.0.1, over
# HTTPS with the pinned CA: sites (tables, JSON, one-field changes, the
# server's validation messages with no commit, two operators changing one
# site at once), nodes (enrollment tokens,
# enrollment, removal), image upload/list/show/diff/rollback/rm, uploads
# resumed after kill -9 of the CLI and of the primary, status, the
# configuration history (log, diff, rollback), API tokens and commit
# authors, where server/token/CA come from (flags, environment, config
# file), TLS failures and the documented exit codes.  At the end the
# primary stops cleanly on SIGTERM and neither it nor the CLI reported a
# sanitizer error.
# shellcheck disable=SC2016 # ck's single-quoted code is evaluated later
. "$(dirname "$0")/lib.sh"

P="$BL_BIN/primary/branchline-primary"
[ -x "$P" ] || { echo "no $P: build first" >&2; exit 1; }
for tool in curl openssl jq python3 git sha256sum; do
	command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS=print_stacktrace=1
# Nothing of the caller's own CLI setup may leak in.
unset BRANCHLINE_SERVER BRANCHLINE_TOKEN BRANCHLINE_CA BRANCHLINE_CONFIG BRANCHLINE_STORE
export HOME="$T/home"
mkdir -p "$HOME"

S="$T/p"        # the primary's state directory
CA="$S/pki/ca.crt"
PID=            # the running primary
NSTART=0        # primaries started; log of start N in $T/pN.log
PORT=
U=
PROXY=          # the TCP proxy (proxy.py) while one runs
BG=()           # other background processes started here
CLEANUP+=('stop_all')
T0=$(date +%s)

stop_all() {
	local p
	for p in "${BG[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	[ -z "$PROXY" ] || kill "$PROXY" 2>/dev/null || true
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null || true
	fi
}

# ck DESC EXPR: EXPR (shell code, evaluated here) must succeed
. "$(dirname "$0")/primary_lib.sh"

# --- the CLI ------------------------------------------------------------
# blx ARGS...: the CLI with exactly ARGS; its stderr also goes to
# $T/cli.log (checked for sanitizer reports at the end).
blx() {
	local rc=0
	"$BL" "$@" 2>"$T/blx.err" || rc=$?
	cat "$T/blx.err" >>"$T/cli.log"
	cat "$T/blx.err" >&2
	return "$rc"
}
# blenv VAR=VALUE... -- ARGS...: the CLI with ARGS in that environment
blenv() {
	local rc=0 vars=()
	while [ "$1" != -- ]; do vars+=("$1"); shift; done
	shift
	env "${vars[@]}" "$BL" "$@" 2>"$T/blx.err" || rc=$?
	cat "$T/blx.err" >>"$T/cli.log"
	cat "$T/blx.err" >&2
	return "$rc"
}
# bl ARGS...: the CLI with the admin token and the pinned CA, as flags.
bl() { blx --server "$U" --token "$TOK" --ca "$CA" "$@"; }
# blo ARGS...: the same with the ops token.
blo() { blx --server "$U" --token "$OPS" --ca "$CA" "$@"; }

# show the last command's output after a failed check
dump() {
	head -c 600 "$T/out" | sed 's/^/    stdout: /'
	head -5 "$T/err" | sed 's/^/    stderr: /'
}
# ckout DESC EXPR: like ck, showing the last command's output on failure
ckout() { if eval "$2"; then ok "$1"; else not_ok "$1"; dump; fi; }
# jout DESC FILTER [jq args]: the last command's stdout satisfies FILTER
jout() {
	local desc=$1
	shift
	if [ -s "$T/out" ] && jq -e "$@" "$T/out" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc"; dump; fi
}

GIT=(git --git-dir "$S/config.git")
head_rev() { "${GIT[@]}" rev-parse HEAD; }
ncommits() { "${GIT[@]}" rev-list --count HEAD; }
api() { # api METHOD PATH [curl args]: admin request, body on stdout
	local m=$1 path=$2
	shift 2
	curl -sS --max-time 10 --cacert "$CA" -X "$m" -H "Authorization: Bearer $TOK" "$@" "$U$path"
}
sha() { sha256sum "$1" | cut -c1-64; }

# expect_fail_nocommit CODE REGEX DESC CMD...: CMD exits CODE, its stderr
# matches REGEX, and the configuration repository has no new commit.
expect_fail_nocommit() {
	local want=$1 re=$2 desc=$3 before
	shift 3
	before=$(head_rev)
	expect_exit "$want" "$desc" "$@"
	expect_err "$re" "$desc: the server's message on stderr ($(head -1 "$T/err" | head -c 90))"
	check "$desc: no commit made" [ "$(head_rev)" = "$before" ]
}

# --- a TCP proxy between the CLI and the primary -------------------------
cat >"$T/proxy.py" <<'EOF'
import os, socket, sys, threading, time
# proxy.py UPPORT RATE [HOLD MARKER GATE]: a TCP proxy on 127.0.0.1 (its
# port printed) to 127.0.0.1:UPPORT.  Client-to-server bytes go at RATE
# bytes/s (0: unlimited).  With HOLD > 0 it reads the client's TLS records
# and holds back the first application data record of HOLD bytes or more
# (over all connections; the handshake's are smaller): it creates MARKER,
# and passes the record on once GATE exists (after 30 s at the latest).
up, rate = int(sys.argv[1]), int(sys.argv[2])
hold = int(sys.argv[3]) if len(sys.argv) > 3 else 0
marker, gate = (sys.argv[4], sys.argv[5]) if hold else (None, None)
lock = threading.Lock()
reqs = [0]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(16)
print(ls.getsockname()[1], flush=True)
def records(a, b):
    buf = b""
    while True:
        d = a.recv(16384)
        if not d:
            return
        buf += d
        out = b""
        while len(buf) >= 5:
            typ, n = buf[0], int.from_bytes(buf[3:5], "big")
            if len(buf) < 5 + n:
                break
            rec, buf = buf[:5 + n], buf[5 + n:]
            if typ == 23 and n >= hold:
                with lock:
                    reqs[0] += 1
                    first = reqs[0] == 1
                if first:
                    b.sendall(out)
                    out = b""
                    open(marker, "w").close()
                    for _ in range(600):
                        if os.path.exists(gate):
                            break
                        time.sleep(0.05)
            out += rec
        if out:
            b.sendall(out)
def pump(a, b, slow):
    try:
        if slow and hold:
            records(a, b)
        else:
            while True:
                d = a.recv(16384)
                if not d:
                    break
                b.sendall(d)
                if slow and rate:
                    time.sleep(len(d) / rate)
    except OSError:
        pass
    # close both ends: a peer still sending must see the connection go
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
def serve(c):
    try:
        u = socket.create_connection(("127.0.0.1", up), timeout=5)
        u.settimeout(None)
    except OSError:
        c.close()
        return
    threading.Thread(target=pump, args=(c, u, True), daemon=True).start()
    threading.Thread(target=pump, args=(u, c, False), daemon=True).start()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
# start_proxy ARGS...: start proxy.py ARGS (PROXY, its port in PP)
start_proxy() {
	rm -f "$T/proxy.port"
	python3 "$T/proxy.py" "$PORT" "$@" >"$T/proxy.port" 2>"$T/proxy.err" &
	PROXY=$!
	PP=
	for _ in $(seq 50); do [ -s "$T/proxy.port" ] && break; sleep 0.1; done
	PP=$(cat "$T/proxy.port")
	[[ "$PP" =~ ^[0-9]+$ ]] || fatal "the proxy did not start: $(cat "$T/proxy.err")"
}
stop_proxy() {
	kill "$PROXY" 2>/dev/null || true
	wait "$PROXY" 2>/dev/null || true
	PROXY=
}

########################################################################
# 0. a primary, and the CLI's help
########################################################################
"$P" init --state "$S" --name localhost --name 127.0.0.1 >"$T/init.txt" 2>"$T/err" ||
	fatal "init failed: $(cat "$T/err")"
TOK=$(tail -1 "$T/init.txt")
[[ "$TOK" =~ ^bl_[0-9a-f]{32}$ ]] || fatal "init's last line is not a token: '$TOK'"
start_primary
ok "primary started on port $PORT"

expect_exit 0 "branchline --help" "$BL" --help
check "--help documents the exit codes" \
	grep -q "Exit status: 0 success, 1 failure, 2 usage error, 3 not found" "$T/out"
check "--help names --server, --token and --ca" \
	bash -c 'grep -q -- "--server URL" "$1" && grep -q -- "--token T" "$1" && grep -q -- "--ca FILE" "$1"' _ "$T/out"
miss=
for c in "site list" "site show" "site add" "site set" "site rm" "node add" "node list" "node rm" \
	"status" "config log" "config diff" "config rollback" "token add" "token list" "token rm" \
	"image upload" "image rollback"; do
	# shellcheck disable=SC2086
	"$BL" $c --help >"$T/out" 2>&1 && grep -q "^usage: branchline" "$T/out" || miss="$miss '$c'"
done
check "every remote command has --help${miss:+ (missing:$miss)}" [ -z "$miss" ]

########################################################################
# 1. sites
########################################################################
expect_exit 0 "site add hq" bl site add hq
check "it says so" grep -qx "added site hq" "$T/out"
expect_exit 0 "site add branch-a --parent hq --subnet --tz --windows" \
	bl site add branch-a --parent hq --subnet 10.1.0.0/16 --tz Europe/Paris --windows 'mon-fri 22:00-06:00 50mbit'
"${GIT[@]}" log --format='%an|%s' -2 >"$T/git.log"
check "two commits 'site add hq' and 'site add branch-a', authored admin" \
	[ "$(tr '\n' ';' <"$T/git.log")" = "admin|site add branch-a;admin|site add hq;" ]

expect_exit 0 "site list" bl site list
ckout "site list: a header" 'head -1 "$T/out" | grep -Eq "^NAME +PARENT +WAN +TZ +SUBNETS +WINDOWS +IMAGES$"'
ckout "site list: branch-a with parent, tz, subnet and windows" \
	'grep -Eq "^branch-a +hq +0 +Europe/Paris +10\.1\.0\.0/16 +mon-fri 22:00-06:00 50mbit +-$" "$T/out"'
ckout "site list: hq with no parent" 'grep -Eq "^hq +- +0 " "$T/out"'
check "site list: two rows" [ "$(wc -l <"$T/out")" -eq 3 ]
expect_exit 0 "site list --json" bl --json site list
jout "site list --json: both sites, branch-a as given" \
	'([.sites[].name] | sort) == ["branch-a","hq"] and (.sites[] | select(.name == "branch-a") | .parent == "hq" and .tz == "Europe/Paris" and .subnets == ["10.1.0.0/16"] and .windows == "mon-fri 22:00-06:00 50mbit" and .wan_cost == 0)'
expect_exit 0 "site show branch-a" bl site show branch-a
ckout "site show: one 'key value' line per field" \
	'grep -Eq "^name +branch-a$" "$T/out" && grep -Eq "^parent +hq$" "$T/out" && grep -Eq "^tz +Europe/Paris$" "$T/out" && grep -Eq "^subnets +10\.1\.0\.0/16$" "$T/out" && grep -Eq "^windows +mon-fri 22:00-06:00 50mbit$" "$T/out" && grep -Eq "^wan_cost +0$" "$T/out"'
expect_exit 0 "site show --json" bl --json site show branch-a
cp "$T/out" "$T/site.before"
jout "site show --json is the SITE object" '.name == "branch-a" and .parent == "hq"'

n0=$(ncommits)
expect_exit 0 "site set branch-a --wan-cost 20" bl site set branch-a --wan-cost 20
check "it says so" grep -qx "updated site branch-a" "$T/out"
check "one commit 'site set branch-a'" \
	[ "$(ncommits)-$("${GIT[@]}" log --format=%s -1)" = "$((n0 + 1))-site set branch-a" ]
bl --json site show branch-a >"$T/site.after" 2>"$T/err" || true
ck "wan_cost is 20 now, every other field as before" \
	'jqt ".wan_cost == 20" "$T/site.after" && [ "$(jq -S "del(.wan_cost)" "$T/site.before")" = "$(jq -S "del(.wan_cost)" "$T/site.after")" ]'

# invalid changes: the server's message, naming the field; no commit
expect_fail_nocommit 1 'subnets\[0\]' "site set --subnet with host bits set" \
	bl site set branch-a --subnet 10.1.2.0/16
expect_fail_nocommit 1 'subnets\[0\]' "site set --subnet 10.300.0.0/16 (no CIDR)" \
	bl site set branch-a --subnet 10.300.0.0/16
expect_fail_nocommit 1 'windows.*overlap' "site set with overlapping windows" \
	bl site set branch-a --windows 'mon-fri 22:00-06:00 50mbit; tue 01:00-02:00'
expect_fail_nocommit 1 'tz|Mars' "site set --tz Mars/Olympus" bl site set branch-a --tz Mars/Olympus
expect_fail_nocommit 1 'subnets' "site add branch-b with a bad CIDR" bl site add branch-b --parent hq --subnet 10.2.0.1/16
expect_exit 3 "so there is no branch-b" bl site show branch-b
bl --json site show branch-a >"$T/site.now" 2>"$T/err" || true
check "branch-a is unchanged by the refused changes" cmp -s "$T/site.after" "$T/site.now"
expect_fail_nocommit 3 'nosuch' "site rm of a missing site" bl site rm nosuch
expect_exit 0 "site add tmp" bl site add tmp --parent hq
expect_exit 0 "site rm tmp" bl site rm tmp
check "it says so" grep -qx "removed site tmp" "$T/out"
check "commit 'site rm tmp'" [ "$("${GIT[@]}" log --format=%s -1)" = "site rm tmp" ]
expect_exit 3 "site show tmp after its removal" bl site show tmp
expect_exit 0 "site replicate-now branch-a --hours 2" bl site replicate-now branch-a --hours 2
check "it says until when" grep -Eq "^site branch-a replicates outside its windows until [0-9-]+ [0-9:]+Z$" "$T/out"
expect_exit 0 "site replicate-now branch-a --hours 0" bl site replicate-now branch-a --hours 0
check "it says cancelled" grep -q "replicate-now cancelled" "$T/out"

# Two operators change different fields of branch-a at the same time:
# A's 'site set' has read the site (GET) and its PUT is held back by the
# proxy while B's change lands.  B's change must not be lost: A must be
# refused (the site changed meanwhile) or build on B's.
start_proxy 0 300 "$T/held" "$T/gate"
"$BL" --server "https://127.0.0.1:$PP" --token "$TOK" --ca "$CA" site set branch-a --trickle 2mbit \
	>"$T/a.out" 2>"$T/a.err" &
APID=$!
BG+=("$APID")
for _ in $(seq 100); do [ -e "$T/held" ] && break; sleep 0.05; done
check "A's PUT is held back by the proxy" [ -e "$T/held" ]
expect_exit 0 "B: site set branch-a --wan-cost 25 meanwhile" bl site set branch-a --wan-cost 25
touch "$T/gate"
arc=0
wait "$APID" || arc=$?
stop_proxy
cat "$T/a.err" >>"$T/cli.log"
bl --json site show branch-a >"$T/out" 2>"$T/err" || true
if [ "$arc" -eq 0 ]; then
	jout "A and B both succeeded: both changes must be in (B's wan_cost 25, A's trickle 2mbit)" \
		'.wan_cost == 25 and .trickle_bps == 2000000'
else
	ck "A was refused (exit $arc: $(head -1 "$T/a.err"))" '[ "$arc" -eq 1 ]'
	jout "B's change stays (wan_cost 25)" '.wan_cost == 25'
fi
expect_exit 0 "back to wan_cost 20, no trickle" bl site set branch-a --wan-cost 20 --trickle 0

########################################################################
# 2. nodes
########################################################################
make_csr() { # make_csr NAME: $T/NAME.key and $T/NAME.csr
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$1" 2>/dev/null
}
enroll() { # enroll TOKEN NAME: the node id; $T/NAME.crt
	jq -n --arg t "$1" --rawfile c "$T/$2.csr" '{token: $t, csr: $c, url: "https://10.1.0.5:8444"}' |
		curl -sS --max-time 10 --cacert "$CA" -H 'Content-Type: application/json' \
			--data-binary @- -o "$T/$2.json" "$U/v1/enroll" 2>/dev/null || return 1
	jq -r .certificate "$T/$2.json" >"$T/$2.crt" && jq -er .node_id "$T/$2.json"
}

expect_exit 0 "node add branch-a" bl node add branch-a
E1=$(cat "$T/out")
ck "node add prints one line, a token (bl_ + 32 hex)" '[ "$(wc -l <"$T/out")" -eq 1 ] && [[ "$E1" =~ ^bl_[0-9a-f]{32}$ ]]'
expect_err "one-time enrollment token.*branch-a" "node add explains the token on stderr"
expect_exit 0 "node list" bl node list
ckout "node list: only the header, nothing enrolled yet" \
	'[ "$(wc -l <"$T/out")" -eq 1 ] && grep -Eq "^ID +SITE +VERSION +LAST SEEN +STORE +IMAGES +REFERRALS +URL$" "$T/out"'
expect_exit 0 "node list --json" bl --json node list
jout "node list --json: no nodes" '.nodes == []'
make_csr n1
N1=$(enroll "$E1" n1) || fatal "enrollment with the CLI's token failed: $(head -c 300 "$T/n1.json")"
ok "a node enrolled with the token from node add ($N1)"
expect_exit 0 "node list" bl node list
ckout "node list shows $N1 in branch-a" 'grep -Eq "^$N1 +branch-a " "$T/out"'
expect_exit 0 "node list --json" bl --json node list
jout "node list --json: $N1 in branch-a with a serial" --arg n "$N1" \
	'.nodes | length == 1 and .[0].id == $n and .[0].site == "branch-a" and (.[0].serial | length > 0)'

expect_exit 0 "node add --json branch-a" bl --json node add branch-a
jout "node add --json: token, site, expiry" '(.token | test("^bl_[0-9a-f]{32}$")) and .site == "branch-a" and .expires > 0'
E2=$(jq -r .token "$T/out")
make_csr n2
N2=$(enroll "$E2" n2) || fatal "second enrollment failed: $(head -c 300 "$T/n2.json")"
expect_exit 0 "node rm $N2" bl node rm "$N2"
check "it says so" grep -qx "removed node $N2" "$T/out"
expect_exit 0 "node list --json" bl --json node list
jout "$N2 is gone, $N1 stays" --arg n "$N1" '[.nodes[].id] == [$n]'
got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$CA" --cert "$T/n2.crt" \
	--key "$T/n2.key" "$U/v1/catalog") || true
check "the removed node's certificate is refused ($got)" [ "$got" = 403 ]
expect_exit 3 "node rm $N2 again" bl node rm "$N2"

########################################################################
# 3. image upload, list, show, diff, rollback, rm
########################################################################
randfile "$T/vmlinuz" $((5 * 1024 * 1024))
printf 'console=ttyS0\nroot=/dev/nfs\n' >"$T/cmdline.txt"
CSIZE=$(stat -c %s "$T/cmdline.txt")
SIZE1=$((5 * 1024 * 1024 + CSIZE))
expect_exit 0 "image upload tools (5 MiB + text, one PATH=FILE)" \
	bl image upload tools boot/vmlinuz="$T/vmlinuz" "$T/cmdline.txt"
check "it reports tools@1" grep -q "^uploaded tools@1  (2 files, " "$T/out"
expect_err "upload [0-9a-f]{32}: 2 files, $SIZE1 bytes, 0 already there" \
	"the upload id and sizes are on stderr"
SHA_K1=$(sha "$T/vmlinuz")
SHA_C=$(sha "$T/cmdline.txt")

expect_exit 0 "image list (remote)" bl image list
ckout "image list: tools 1, 2 files" 'grep -Eq "^tools +1 +[0-9-]+ [0-9:]+Z +2 +5\.0 MiB +[0-9a-f]{12}$" "$T/out"'
expect_exit 0 "image list --json" bl --json image list
jout "image list --json: tools@1, 2 files, $SIZE1 bytes" --argjson s "$SIZE1" \
	'[.images[] | select(.name == "tools")] | length == 1 and .[0].version == 1 and .[0].files == 2 and .[0].size == $s and (.[0].manifest | test("^[0-9a-f]{64}$"))'
expect_exit 0 "image show tools" bl image show tools
ckout "image show: boot/vmlinuz with its size and sha256" \
	'grep -Eq "^boot/vmlinuz +$((5 * 1024 * 1024)) +[0-9]+ +$SHA_K1$" "$T/out"'
ckout "image show: cmdline.txt with its size and sha256" 'grep -Eq "^cmdline\.txt +$CSIZE +1 +$SHA_C$" "$T/out"'
ckout "image show: a title line" 'head -1 "$T/out" | grep -Eq "^tools@1  created .*  2 files  5\.0 MiB$"'
expect_exit 0 "image show --json tools@1" bl --json image show tools@1
cp "$T/out" "$T/tools1.json"
jout "image show --json: both files, sizes and sha256 as sha256sum says" \
	--arg k "$SHA_K1" --arg c "$SHA_C" --argjson s "$SIZE1" --argjson cs "$CSIZE" \
	'.name == "tools" and .version == 1 and .size == $s and ([.files[] | {path, size, sha256}] | sort_by(.path)) == [{"path":"boot/vmlinuz","size":5242880,"sha256":$k},{"path":"cmdline.txt","size":$cs,"sha256":$c}]'

cp "$T/vmlinuz" "$T/vmlinuz2"
printf 'patched by t_cli_remote' | dd of="$T/vmlinuz2" bs=1 seek=3000000 conv=notrunc status=none
SHA_K2=$(sha "$T/vmlinuz2")
expect_exit 0 "image upload tools again, one file changed" \
	bl -q image upload tools boot/vmlinuz="$T/vmlinuz2" "$T/cmdline.txt"
check "it reports tools@2" grep -q "^uploaded tools@2 " "$T/out"
check "-q: nothing on stderr" [ ! -s "$T/err" ]
expect_exit 0 "image show --json tools@2" bl --json image show tools@2
jout "tools@2 has the new sha256" --arg k "$SHA_K2" '.version == 2 and (.files[] | select(.path == "boot/vmlinuz") | .sha256) == $k'
expect_exit 0 "image diff tools@1 tools@2" bl image diff tools@1 tools@2
ckout "image diff: shared and new lines" \
	'grep -q "^tools@1 -> tools@2$" "$T/out" && grep -Eq "^  shared +[1-9][0-9]* chunks" "$T/out" && grep -Eq "^  new +[1-9][0-9]* chunks" "$T/out"'
expect_exit 0 "image diff --json tools@1 tools (newest)" bl --json image diff tools@1 tools
jout "image diff --json: 1 -> 2, most chunks shared, little new" \
	'.from == 1 and .to == 2 and .shared_chunks >= 1 and .new_chunks >= 1 and .new_bytes < 1048576 and .shared_bytes + .new_bytes >= 5242880'
expect_exit 0 "image rollback tools 1" bl image rollback tools 1
check "it makes tools@3" grep -q "^tools@3 now holds the content of tools@1$" "$T/out"
expect_exit 0 "image show --json tools@3" bl --json image show tools@3
jout "tools@3's files are tools@1's" --slurpfile a "$T/tools1.json" \
	'.version == 3 and ([.files[] | {path, size, sha256, chunks}] | sort_by(.path)) == ([$a[0].files[] | {path, size, sha256, chunks}] | sort_by(.path))'
expect_exit 0 "image list tools" bl --json image list tools
jout "image list tools: versions 1, 2, 3" '[.images[].version] | sort == [1,2,3]'
expect_exit 0 "image rm tools@2" bl image rm tools@2
check "it says so" grep -qx "removed tools@2 (1 version)" "$T/out"
expect_exit 3 "image show tools@2 after its removal" bl image show tools@2
expect_exit 0 "image rm tools" bl image rm tools
check "it removed the other 2 versions" grep -qx "removed tools (2 versions)" "$T/out"
expect_exit 3 "image show tools after its removal" bl image show tools
expect_exit 3 "image list tools after its removal" bl image list tools

########################################################################
# 4. uploads resumed after kill -9 of the CLI and of the primary
########################################################################
# The CLI goes through a proxy that lets it send about 16 MB/s, so that a
# 40 MB upload takes a few seconds and can be interrupted after its first
# 8 MiB piece.
start_proxy 16000000
SLOWU="https://127.0.0.1:$PP"
PIECE=$((8 * 1024 * 1024))

# slow_upload TAG ARGS...: start "image upload ARGS" through the proxy in
# the background (CLIPID); wait for the upload id on its stderr (UPID),
# then until the server holds the first piece (RECV).  1 on a timeout.
slow_upload() {
	local tag=$1 i
	shift
	UPID=""
	RECV=0
	"$BL" --server "$SLOWU" --token "$TOK" --ca "$CA" image upload "$@" \
		>"$T/$tag.out" 2>"$T/$tag.err" &
	CLIPID=$!
	BG+=("$CLIPID")
	for i in $(seq 100); do
		UPID=$(grep -Eo 'upload [0-9a-f]{32}' "$T/$tag.err" 2>/dev/null | head -1 | cut -d' ' -f2) || true
		[ -n "$UPID" ] && break
		sleep 0.1
	done
	[ -n "$UPID" ] || return 1
	for i in $(seq 200); do
		RECV=$(api GET "/v1/uploads/$UPID" 2>/dev/null | jq -r '.files[0].received' 2>/dev/null) || RECV=0
		[[ "$RECV" =~ ^[0-9]+$ ]] || RECV=0
		[ "$RECV" -ge "$PIECE" ] && return 0
		sleep 0.05
	done
	return 1
}
# reap PID: kill -9 it (if still running) and collect it
reap() { kill -9 "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# upload_recv ID: bytes the server holds of file 0 of upload ID
upload_recv() { api GET "/v1/uploads/$1" 2>/dev/null | jq -r '.files[0].received' 2>/dev/null || echo "?"; }

BIGSIZE=40000000
randfile "$T/big.bin" "$BIGSIZE"
if slow_upload up1 big disk.img="$T/big.bin"; then
	reap "$CLIPID"
	ok "kill -9 of the CLI after the first piece landed (upload $UPID, $RECV bytes)"
else
	reap "$CLIPID"
	fatal "upload 1 did not get its first piece to the server (id '$UPID', received $RECV): $(tail -2 "$T/up1.err")"
fi
sleep 0.2
R1=$(upload_recv "$UPID")
ck "the server holds part of the file ($R1 of $BIGSIZE)" \
	'[[ "$R1" =~ ^[0-9]+$ ]] && [ "$R1" -ge "$PIECE" ] && [ "$R1" -lt "$BIGSIZE" ]'
check "the killed CLI had not reported success" [ ! -s "$T/up1.out" ]
expect_exit 0 "image upload --resume $UPID" bl image upload --resume "$UPID" big disk.img="$T/big.bin"
have=$(grep -Eo "[0-9]+ already there" "$T/err" | cut -d' ' -f1) || have=0
ck "the resumed upload starts from what the server holds ($have >= $PIECE)" \
	'[[ "$have" =~ ^[0-9]+$ ]] && [ "$have" -ge "$PIECE" ]'
check "it reports big@1" grep -q "^uploaded big@1 " "$T/out"
expect_exit 0 "image show --json big" bl --json image show big
jout "big@1 has the file's size and sha256" --arg h "$(sha "$T/big.bin")" --argjson s "$BIGSIZE" \
	'.version == 1 and .size == $s and .files == [.files[0]] and .files[0].path == "disk.img" and .files[0].sha256 == $h'

# kill -9 of the primary in the middle of an upload, then --resume
cp "$T/big.bin" "$T/big2.bin"
printf 'version two' | dd of="$T/big2.bin" bs=1 seek=20000000 conv=notrunc status=none
if slow_upload up2 big disk.img="$T/big2.bin"; then
	kill -9 "$PID"
	wait "$PID" 2>/dev/null || true
	reap "$CLIPID"
	ok "kill -9 of the primary (and the CLI) in the middle of upload $UPID ($RECV bytes there)"
else
	reap "$CLIPID"
	fatal "upload 2 did not get its first piece to the server: $(tail -2 "$T/up2.err")"
fi
check "the killed primary's log has no sanitizer report" log_clean "$T/p$NSTART.log"
PID=
start_primary
ok "primary restarted on port $PORT"
R2=$(upload_recv "$UPID")
ck "the upload survived the restart ($R2 of $BIGSIZE)" \
	'[[ "$R2" =~ ^[0-9]+$ ]] && [ "$R2" -ge "$PIECE" ] && [ "$R2" -lt "$BIGSIZE" ]'
expect_exit 0 "image upload --resume $UPID after the restart" \
	bl image upload --resume "$UPID" big disk.img="$T/big2.bin"
check "it reports big@2" grep -q "^uploaded big@2 " "$T/out"
expect_exit 0 "image show --json big@2" bl --json image show big@2
jout "big@2 has the changed file's sha256" --arg h "$(sha "$T/big2.bin")" --argjson s "$BIGSIZE" \
	'.size == $s and .files[0].sha256 == $h'

# a CLI that keeps running while the primary is killed and restarted
# retries and finishes by itself
cp "$T/big.bin" "$T/big3.bin"
printf 'version three' | dd of="$T/big3.bin" bs=1 seek=30000000 conv=notrunc status=none
if slow_upload up3 big disk.img="$T/big3.bin"; then
	kill -9 "$PID"
	wait "$PID" 2>/dev/null || true
	PID=
	start_primary
	rc=none
	for _ in $(seq 300); do
		if ! kill -0 "$CLIPID" 2>/dev/null; then
			wait "$CLIPID" && rc=0 || rc=$?
			break
		fi
		sleep 0.1
	done
	reap "$CLIPID"
	cat "$T/up3.err" >>"$T/cli.log"
	check "the CLI rode out the primary's restart and finished (exit $rc)" [ "$rc" = 0 ] ||
		tail -3 "$T/up3.err" | sed 's/^/    stderr: /'
	check "it said it was retrying" grep -q "retrying in" "$T/up3.err"
	check "it reports big@3" grep -q "^uploaded big@3 " "$T/up3.out"
	bl --json image show big@3 >"$T/out" 2>"$T/err" || true
	jout "big@3 has the file's sha256" --arg h "$(sha "$T/big3.bin")" '.files[0].sha256 == $h'
else
	reap "$CLIPID"
	not_ok "upload 3 did not get its first piece to the server: $(tail -2 "$T/up3.err")"
fi
stop_proxy
cat "$T"/up[12].err >>"$T/cli.log"

########################################################################
# 5. status
########################################################################
expect_exit 0 "site set branch-a --image big" bl site set branch-a --image big
expect_exit 0 "status" bl status
ckout "status: a header" 'head -1 "$T/out" | grep -Eq "^SITE +NODE +IMAGE +VER +STATE +PCT +RATE +ETA +REASON$"'
ckout "status: big@3 pending on $N1 of branch-a" 'grep -Eq "^branch-a +$N1 +big +3 +pending +0% " "$T/out"'
check "status: one row" [ "$(wc -l <"$T/out")" -eq 2 ]
expect_exit 0 "status --json" bl --json status
jout "status --json: one row, pending, the image's size as total" --arg n "$N1" --argjson s "$BIGSIZE" \
	'.status | length == 1 and .[0].site == "branch-a" and .[0].node == $n and .[0].image == "big" and .[0].version == 3 and .[0].state == "pending" and .[0].bytes == 0 and .[0].total == $s'
expect_exit 0 "status --site hq" bl --json status --site hq
jout "status --site hq: no rows" '.status == []'
# a heartbeat of the node: the tables show it
curl -sS --max-time 10 --cacert "$CA" --cert "$T/n1.crt" --key "$T/n1.key" -o /dev/null \
	-H 'Content-Type: application/json' "$U/v1/status" --data-binary \
	"{\"version\":\"0.1.0\",\"url\":\"https://10.1.0.5:8444\",\"store\":{\"bytes\":10000000},\"images\":[{\"name\":\"big\",\"version\":3,\"state\":\"downloading\",\"bytes\":10000000,\"total\":$BIGSIZE,\"rate_bps\":8000000,\"eta_s\":75}]}" ||
	not_ok "the heartbeat was not taken"
expect_exit 0 "status --node $N1 --image big" bl status --node "$N1" --image big
ckout "status: downloading, 25%, 8.0 Mbit/s, 1m15s" \
	'grep -Eq "^branch-a +$N1 +big +3 +downloading +25% +8\.0 Mbit/s +1m15s" "$T/out"'
expect_exit 0 "node list" bl node list
ckout "node list: version, store size, 0/1 images, URL" \
	'grep -Eq "^$N1 +branch-a +0\.1\.0 +[0-9-]+ [0-9:]+Z +9\.5 MiB +0/1 +-  https://10\.1\.0\.5:8444$" "$T/out"'

########################################################################
# 6. configuration history
########################################################################
expect_exit 0 "config log" bl config log
ckout "config log: a header" 'head -1 "$T/out" | grep -Eq "^COMMIT +TIME +AUTHOR +MESSAGE$"'
ckout "config log: the site changes by admin" \
	'grep -Eq "^[0-9a-f]{12} .* admin +site set branch-a$" "$T/out" && grep -Eq "^[0-9a-f]{12} .* admin +site add hq$" "$T/out"'
ckout "config log: the enrollment commit by its enroll-* token" \
	'grep -Eq "^[0-9a-f]{12} .* enroll-[0-9a-f]+ +node add $N1 \(site branch-a\)$" "$T/out"'
ckout "config log: init's commits last" 'tail -1 "$T/out" | grep -Eq "^[0-9a-f]{12} .* init +init$"'
expect_exit 0 "config log --json" bl --json config log
"${GIT[@]}" log --format='%H|%an|%s' >"$T/git.log"
jq -r '.commits[] | "\(.id)|\(.author)|\(.message | split("\n")[0])"' "$T/out" >"$T/api.log" 2>/dev/null || true
check "config log --json is git log (ids, authors, messages; $(wc -l <"$T/git.log") commits)" cmp -s "$T/git.log" "$T/api.log"
expect_exit 0 "config log --max 2" bl config log --max 2
check "config log --max 2: two commits" [ "$(wc -l <"$T/out")" -eq 3 ]

REV=$(head_rev)
expect_exit 0 "site set branch-a --wan-cost 30" bl site set branch-a --wan-cost 30
expect_exit 0 "config diff REV" bl config diff "$REV"
ckout "config diff: a unified diff of sites/branch-a.json, 20 -> 30" \
	'grep -q "^--- a/sites/branch-a.json$" "$T/out" && grep -q "^+++ b/sites/branch-a.json$" "$T/out" && grep -q "^@@ " "$T/out" && grep -Eq "^-  *\"wan_cost\": 20,?$" "$T/out" && grep -Eq "^\+  *\"wan_cost\": 30,?$" "$T/out"'
check "and nothing else changed" [ "$(grep -c '^diff --git' "$T/out")" -eq 1 ]
expect_exit 0 "config diff REV HEAD" bl config diff "$REV" "$(head_rev)"
cp "$T/out" "$T/diff2"
expect_exit 0 "config diff --json REV (still the patch)" bl --json config diff "$REV"
check "the same patch" cmp -s "$T/out" "$T/diff2"
n0=$(ncommits)
expect_exit 0 "config rollback REV" bl config rollback "$REV"
NEW=$(head_rev)
check "it names the new commit" grep -qx "configuration rolled back to $REV: new commit $NEW" "$T/out"
check "one new commit, 'rollback to ${REV:0:12} (sites)'" \
	[ "$(ncommits)|$("${GIT[@]}" log --format=%s -1)" = "$((n0 + 1))|rollback to ${REV:0:12} (sites)" ]
expect_exit 0 "site show --json branch-a" bl --json site show branch-a
jout "branch-a has wan_cost 20 again (and keeps big)" '.wan_cost == 20 and .images == ["big"]'
expect_exit 3 "config rollback to a revision that does not exist" bl config rollback nosuchrev
expect_exit 3 "config diff of a revision that does not exist" bl config diff nosuchrev

########################################################################
# 7. tokens, where server/token/CA come from, TLS
########################################################################
expect_exit 0 "token add ops" bl token add ops
OPS=$(cat "$T/out")
ck "token add prints one line, a token" '[ "$(wc -l <"$T/out")" -eq 1 ] && [[ "$OPS" =~ ^bl_[0-9a-f]{32}$ ]]'
expect_err "API token 'ops'.*not shown again" "token add explains on stderr"
check "commit 'token add ops' by admin" [ "$("${GIT[@]}" log --format='%an|%s' -1)" = "admin|token add ops" ]
expect_exit 0 "token list" bl token list
ckout "token list: admin and ops, no expiry" \
	'grep -Eq "^admin +[0-9-]+ [0-9:]+Z +never$" "$T/out" && grep -Eq "^ops +[0-9-]+ [0-9:]+Z +never$" "$T/out"'
expect_exit 0 "site set hq --wan-cost 5 with the ops token" blo site set hq --wan-cost 5
check "the commit is authored by ops" [ "$("${GIT[@]}" log --format='%an|%s' -1)" = "ops|site set hq" ]
expect_exit 0 "site add branch-c with the ops token" blo site add branch-c --parent hq --subnet 10.3.0.0/16
expect_exit 0 "config log --json with the ops token" blo --json config log --max 2
jout "config log shows ops as the author of both" \
	'[.commits[] | [.author, .message]] == [["ops","site add branch-c"],["ops","site set hq"]]'
expect_exit 0 "token rm ops" bl token rm ops
check "it says so" grep -qx "removed token ops" "$T/out"
expect_exit 1 "the removed token fails" blo site list
expect_err "token is not valid" "the server's reason is shown"
expect_err "check the API token.*token add" "with a hint about the token"
expect_exit 3 "token rm ops again" bl token rm ops

# the environment
expect_exit 0 "site show hq with BRANCHLINE_SERVER/_TOKEN/_CA" \
	blenv BRANCHLINE_SERVER="$U" BRANCHLINE_TOKEN="$TOK" BRANCHLINE_CA="$CA" -- site show hq
check "and shows hq's wan_cost 5" grep -Eq "^wan_cost +5$" "$T/out"
expect_exit 0 "a flag wins over the environment" \
	blenv BRANCHLINE_SERVER=https://127.0.0.1:1 BRANCHLINE_TOKEN=bl_00000000000000000000000000000000 \
	BRANCHLINE_CA="$T/none.crt" -- --server "$U" --token "$TOK" --ca "$CA" site show hq
# a config file, with a relative ca
mkdir -p "$T/cfg"
cp "$CA" "$T/cfg/primary-ca.crt"
printf '# branchline CLI\nserver = %s\ntoken = %s\nca = primary-ca.crt\n' "$U" "$TOK" >"$T/cfg/cli.conf"
chmod 600 "$T/cfg/cli.conf"
expect_exit 0 "site list with BRANCHLINE_CONFIG (relative ca)" blenv BRANCHLINE_CONFIG="$T/cfg/cli.conf" -- site list
check "and lists the sites" grep -Eq "^branch-c +hq " "$T/out"
check "no warning for a mode 600 file" [ ! -s "$T/err" ]
expect_exit 0 "image list through the config file (the API, no --store)" blenv BRANCHLINE_CONFIG="$T/cfg/cli.conf" -- image list big
check "lists big's 3 versions" [ "$(grep -c '^big ' "$T/out")" -eq 3 ]
chmod 644 "$T/cfg/cli.conf"
expect_exit 0 "a world-readable config file still works" blenv BRANCHLINE_CONFIG="$T/cfg/cli.conf" -- site show hq
expect_err "cli.conf holds a token and other users can read it" "but warns about it"
expect_exit 0 "the environment wins over the config file" \
	blenv BRANCHLINE_CONFIG="$T/cfg/cli.conf" BRANCHLINE_SERVER="$U" BRANCHLINE_TOKEN="$TOK" -- site show hq
mkdir -p "$HOME/.config/branchline"
cp "$T/cfg/cli.conf" "$T/cfg/primary-ca.crt" "$HOME/.config/branchline/"
chmod 600 "$HOME/.config/branchline/cli.conf"
expect_exit 0 "\$HOME/.config/branchline/cli.conf is read" blx site show hq
rm -rf "$HOME/.config"
expect_exit 1 "a BRANCHLINE_CONFIG that does not exist" blenv BRANCHLINE_CONFIG="$T/none.conf" -- site list
expect_err "none.conf" "names the file"

# TLS: a CA made with openssl that did not sign the server
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other-ca.key" \
	-out "$T/other-ca.crt" -subj "/CN=Branchline primary CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
expect_exit 1 "another CA: refused" blx --server "$U" --token "$TOK" --ca "$T/other-ca.crt" site list
expect_err "TLS" "the error says TLS"
expect_err "127\.0\.0\.1:$PORT" "and names the server"
check "no site list was printed" [ ! -s "$T/out" ]
expect_exit 1 "a CA file that does not exist" blx --server "$U" --token "$TOK" --ca "$T/none.crt" site list
expect_err "none.crt" "names the CA file"
expect_exit 0 "localhost (the certificate's other name) works" \
	blx --server "https://localhost:$PORT" --token "$TOK" --ca "$CA" site show hq
expect_exit 0 "HOST:PORT without https:// gets https" blx --server "127.0.0.1:$PORT/" --token "$TOK" --ca "$CA" site show hq

# nothing configured, plain http
expect_exit 2 "no server configured" blx site list
expect_err "no server" "says there is no server"
expect_err "BRANCHLINE_SERVER" "and how to set one"
expect_exit 2 "no token configured" blx --server "$U" --ca "$CA" site list
expect_err "no API token" "says there is no token"
expect_exit 2 "no CA configured" blx --server "$U" --token "$TOK" site list
expect_err "no CA certificate to pin" "says there is no CA to pin"
expect_exit 2 "--server http:// is refused" blx --server "http://127.0.0.1:$PORT" --token "$TOK" --ca "$CA" site list
expect_err "plain http is refused" "says why"
expect_exit 2 "--server ftp:// is refused" blx --server "ftp://127.0.0.1:$PORT" --token "$TOK" --ca "$CA" site list
expect_exit 2 "a token with a newline is refused" blx --server "$U" --token "$TOK"$'\n'"X-Evil: 1" --ca "$CA" site list
expect_exit 1 "a server that is not there" blx --server "https://127.0.0.1:1" --token "$TOK" --ca "$CA" site list
expect_err "127\.0\.0\.1:1" "names the server"

########################################################################
# 8. exit codes as documented: 0 success, 1 failure, 2 usage, 3 not found
########################################################################
: >"$T/empty.txt"
codes_bad=
# code CMD...: the exit status of bl CMD must be code
code() {
	local want=$1 got=0
	shift
	bl "$@" >/dev/null 2>"$T/err" || got=$?
	[ "$got" -eq "$want" ] || codes_bad="$codes_bad [$* -> $got, not $want]"
}
code 0 site list
code 0 --json token list
code 1 site add hq
code 1 site rm branch-a
code 1 site set branch-a --parent nowhere
code 2 site add
code 2 site add x --wan-cost abc
code 2 site list extra
code 2 site replicate-now
code 2 node add
code 2 node add branch-a --expires 5
code 2 node rm
code 2 status extra
code 2 config log --max 0
code 2 config diff
code 2 config rollback
code 2 token add
code 2 image show 'big@x'
code 2 image diff big@1 other@2
code 2 image rollback big x
code 2 image upload big
code 2 image upload big a="$T/empty.txt" a="$T/empty.txt"
code 2 image upload --resume "$UPID" other disk.img="$T/big2.bin"
code 2 frobnicate
code 1 image upload big "$T/no-such-file"
code 3 site show nosuch
code 3 site set nosuch --wan-cost 1
code 3 site rm nosuch
code 3 site replicate-now nosuch
code 3 node add nosuch
code 3 node rm nosuch
code 3 token rm nosuch
code 3 image show nosuch
code 3 image show big@99
code 3 image list nosuch
code 3 image rm nosuch
code 3 image diff big@1 big@99
code 3 image rollback big 99
code 3 image upload --resume 0123456789abcdef0123456789abcdef big "$T/empty.txt"
check "exit codes of $(grep -c '^code [0-9]' "$0") commands as documented${codes_bad:+:$codes_bad}" [ -z "$codes_bad" ]

########################################################################
# the end: SIGTERM, exit 0, no sanitizer report anywhere
########################################################################
check "the primary is still alive" kill -0 "$PID"
kill -TERM "$PID"
rc=none
for _ in $(seq 100); do
	if ! kill -0 "$PID" 2>/dev/null; then
		wait "$PID" && rc=0 || rc=$?
		break
	fi
	sleep 0.1
done
check "SIGTERM stops the primary with exit 0 within 10 s (exit $rc)" [ "$rc" = 0 ]
[ "$rc" = none ] || PID=
for i in $(seq "$NSTART"); do
	if log_clean "$T/p$i.log"; then
		ok "no sanitizer report in the log of primary start $i"
	else
		not_ok "sanitizer report in the log of primary start $i"
		grep -E -A12 "ERROR: .*Sanitizer|runtime error" "$T/p$i.log" | head -40 | sed 's/^/    /'
	fi
done
if log_clean "$T/cli.log"; then
	ok "no sanitizer report from the CLI ($(wc -l <"$T/cli.log") lines of stderr)"
else
	not_ok "sanitizer report from the CLI"
	grep -E -A12 "ERROR: .*Sanitizer|runtime error" "$T/cli.log" | head -40 | sed 's/^/    /'
fi
echo "# $(($(date +%s) - T0)) s"
finish

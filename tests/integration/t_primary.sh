#!/usr/bin/env bash
# branchline-primary end to end over HTTPS on 127.0.0.1: init, TLS, API
# tokens (expiry, commit authors), sites (validation commits nothing,
# history, rollback), node enrollment, mutual TLS (foreign CA, revoked
# node), catalog long-poll and signature, an upload interrupted by kill -9
# and resumed, replication windows and chunk batches, hostile clients; at
# the end a clean SIGTERM shutdown with no sanitizer report in the log.
# shellcheck disable=SC2016 # ck's single-quoted code is evaluated later
. "$(dirname "$0")/lib.sh"

P="$BL_BIN/primary/branchline-primary"
[ -x "$P" ] || { echo "no $P: build first" >&2; exit 1; }
for tool in curl openssl jq python3 git xxd; do
	command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS=print_stacktrace=1
S="$T/p"        # the primary's state directory
CA="$S/pki/ca.crt"
PID=            # the running primary
NSTART=0        # primaries started; log of start N in $T/pN.log
PORT=
U=
BG=()           # other background processes started here
CLEANUP+=('stop_all')

stop_all() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null || true
	fi
}

now_ms() { date +%s%3N; }

# slice FILE OFFSET [LENGTH]: bytes of FILE on stdout
slice() {
	dd if="$1" bs=1M iflag=skip_bytes,count_bytes skip="$2" ${3:+count=$3} status=none
}

# ck DESC EXPR: EXPR (shell code, evaluated here) must succeed
. "$(dirname "$0")/primary_lib.sh"

# --- HTTP helpers: each prints the status code; body in $T/body, headers
# in $T/hdr.  ------------------------------------------------------------
req() { # req METHOD PATH [curl args...]
	local m=$1 path=$2
	shift 2
	curl -sS --max-time 30 --cacert "$CA" -H 'Expect:' -X "$m" -D "$T/hdr" -o "${OUT:-$T/body}" \
		-w '%{http_code}' "$@" "$U$path" 2>"$T/curl.err" || true
}
areq() { # areq METHOD PATH [curl args...]: with the admin token (or $AUTH)
	local m=$1 path=$2
	shift 2
	req "$m" "$path" -H "Authorization: Bearer ${AUTH:-$TOK}" "$@"
}
nreq() { # nreq NODE METHOD PATH [curl args...]: with NODE's certificate
	local n=$1 m=$2 path=$3
	shift 3
	req "$m" "$path" --cert "$T/$n.crt" --key "$T/$n.key" "$@"
}
json() { # json METHOD PATH JSON [curl args]: admin request with a JSON body
	local m=$1 path=$2 body=$3
	shift 3
	areq "$m" "$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

show_failure() {
	head -c 400 "$T/body" | sed 's/^/    body: /'
	echo
	sed 's/^/    curl: /' "$T/curl.err" | head -3
}

# status WANT GOT DESC
status() {
	if [ "$2" = "$1" ]; then
		ok "$3 ($2)"
		return 0
	fi
	not_ok "$3: HTTP $2, wanted $1"
	show_failure
	return 1
}

# error_is STATUS REGEX DESC: the last answer is STATUS with a JSON error
# body {"error":{"status":STATUS,"message":M}}, M matching REGEX.
error_is() {
	if [ "$got" = "$1" ] && jq -e --argjson s "$1" --arg re "$2" \
		'.error.status == $s and (.error.message | type == "string" and test($re))' \
		"$T/body" >/dev/null 2>&1; then
		ok "$3 ($got: $(jq -r .error.message "$T/body" | head -c 100))"
	else
		not_ok "$3: wanted $1 with a JSON error matching /$2/, got HTTP $got"
		show_failure
	fi
}

header() { # header NAME [FILE]: a response header's value
	grep -i "^$1:" "${2:-$T/hdr}" | head -1 | cut -d: -f2- | sed 's/^ *//' | tr -d '\r\n'
}

GIT=(git --git-dir "$S/config.git")
head_rev() { "${GIT[@]}" rev-parse HEAD; }

########################################################################
# 1. init
########################################################################
"$P" init --state "$S" --name localhost --name 127.0.0.1 >"$T/init.txt" 2>"$T/err" ||
	fatal "init failed: $(cat "$T/err")"
ok "init"
TOK=$(tail -1 "$T/init.txt")
[[ "$TOK" =~ ^bl_[0-9a-f]{32}$ ]] || fatal "init's last line is not a token: '$TOK'"
check "the admin token is printed once" [ "$(grep -c "$TOK" "$T/init.txt")" -eq 1 ]
ck "the token itself is not kept in the state directory" '! grep -rqF "$TOK" "$S"'
for k in pki/ca.key pki/server.key store/keys/signing.key; do
	m=$(stat -c %a "$S/$k")
	check "$k is mode 0600 (is $m)" [ "$m" = 600 ]
done
"${GIT[@]}" log --format='%an|%s' >"$T/out" 2>&1
check "config.git has the init commit" grep -q '^init|init$' "$T/out"
check "and the admin token's commit" grep -q '^init|token add admin$' "$T/out"
expect_exit 0 "primary -n on the new config" "$P" -n --config "$S/primary.conf"
check "it says configuration OK" grep -q "configuration OK" "$T/out"
cp -a "$S/primary.conf" "$T/conf.before"
expect_exit 1 "init twice on the same directory" "$P" init --state "$S" --name localhost
expect_err "holds a primary already" "init twice names the reason"
check "and changed nothing" cmp -s "$S/primary.conf" "$T/conf.before"
ck "init without an absolute path refused" '! "$P" init --state rel/p >/dev/null 2>&1'

start_primary
ok "primary started on port $PORT"

########################################################################
# 2. TLS
########################################################################
if timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$CA" -verify_return_error \
	</dev/null >"$T/out" 2>&1 && grep -q "Verify return code: 0 (ok)" "$T/out"; then
	ok "openssl s_client verifies the server against ca.crt"
else
	not_ok "openssl s_client verification"
	grep -iE "verify|error" "$T/out" | head -5
fi
# an old client offering only TLS 1.1 (seclevel 0 so that it does offer
# it): the server must refuse with a protocol_version alert
timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$CA" -tls1_1 \
	-cipher 'DEFAULT@SECLEVEL=0' </dev/null >"$T/out" 2>&1 && rc=0 || rc=$?
if [ "$rc" -ne 0 ] && ! grep -q "^New, TLSv1.1" "$T/out"; then
	ok "TLS 1.1 refused (exit $rc$(grep -q 'alert protocol version' "$T/out" && echo ', protocol version alert'))"
else
	not_ok "TLS 1.1 handshake was accepted"
fi
if timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$CA" -tls1_2 </dev/null >"$T/out" 2>&1 &&
	grep -q "Verify return code: 0 (ok)" "$T/out"; then
	ok "TLS 1.2 accepted"
else
	not_ok "TLS 1.2 handshake failed"
fi
got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$U/v1/openapi.json") || true
check "curl with the system CA store is refused (got '$got')" [ "$got" = 000 ]
got=$(req GET /v1/openapi.json)
status 200 "$got" "GET /v1/openapi.json without a token"
check "the OpenAPI document is JSON with an openapi version and paths" jqt '(.openapi | type == "string") and (.paths | type == "object")' "$T/body"
check "the OpenAPI document describes the API's paths (has $(jq '.paths | length' "$T/body") paths)" \
	jqt '.paths | has("/v1/sites") and has("/v1/uploads") and has("/v1/enroll") and has("/v1/catalog") and has("/v1/chunks/batch")' "$T/body"
if [ -f "${BL_SRC:-}/primary/openapi.json" ]; then
	check "the served document is primary/openapi.json" cmp -s "$T/body" "$BL_SRC/primary/openapi.json"
fi

########################################################################
# 3. tokens
########################################################################
got=$(req GET /v1/sites)
error_is 401 "token" "no token: 401"
got=$(req GET /v1/sites -H "Authorization: Bearer bl_0123456789abcdef0123456789abcdef")
error_is 401 "not valid" "unknown token: 401"
got=$(req GET /v1/sites -H "Authorization: Bearer ${TOK}x")
error_is 401 "not valid" "token with a trailing byte: 401"
got=$(req GET /v1/sites -H "Authorization: Basic $TOK")
error_is 401 "token" "not a Bearer token: 401"
got=$(areq GET /v1/sites)
status 200 "$got" "the admin token works"

# a token that expires after 1 s: created right after a second boundary so
# that the first use lands in the same second
ms=$((1020 - 10#$(date +%3N)))
sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
got=$(json POST /v1/tokens '{"name":"short","expires_in":1}')
status 201 "$got" "POST /v1/tokens short (expires_in 1)"
SHORT=$(jq -r .token "$T/body")
short_t0=$(now_ms)
check "short token: expires is set" jqt '.expires > 0 and .name == "short"' "$T/body"
got=$(req GET /v1/sites -H "Authorization: Bearer $SHORT")
status 200 "$got" "the short-lived token works at once"

got=$(json POST /v1/tokens '{"name":"ops"}')
status 201 "$got" "POST /v1/tokens ops"
OPS=$(jq -r .token "$T/body")
ck "the new token has the documented form" '[[ "$OPS" =~ ^bl_[0-9a-f]{32}$ ]]'
check "commit 'token add ops'" [ "$("${GIT[@]}" log --format=%s -1)" = "token add ops" ]
"${GIT[@]}" show HEAD:tokens/ops.json >"$T/ops.json"
ck "tokens/ops.json keeps the SHA-256, not the token" \
	'jqt --arg h "$(printf %s "$OPS" | sha256sum | cut -c1-64)" ".sha256 == \$h" "$T/ops.json" && ! grep -qF "$OPS" "$T/ops.json"'
got=$(json POST /v1/tokens '{"name":"ops"}')
error_is 409 "exists" "a second token named ops: 409"
got=$(json POST /v1/tokens '{"name":"enroll-x"}')
error_is 400 "name" "token name enroll-*: 400"
head -c $((1100 * 1024)) /dev/zero | tr '\0' ' ' >"$T/big.json"
printf '{"name":"big"}' >>"$T/big.json"
got=$(json POST /v1/tokens "@$T/big.json")
error_is 413 "exceeds" "a 1.1 MiB JSON body: 413"
got=$(areq GET /v1/tokens)
status 200 "$got" "GET /v1/tokens"
check "token list: admin, ops, short and no hashes" \
	jqt '[.tokens[].name] as $n | ($n | index("admin")) and ($n | index("ops")) and ($n | index("short")) and (tostring | test("sha256") | not)' "$T/body"

# wait until 2 s after the short token was made
rest=$((2100 - ($(now_ms) - short_t0)))
[ "$rest" -gt 0 ] && sleep "$((rest / 1000)).$(printf '%03d' $((rest % 1000)))"
got=$(req GET /v1/sites -H "Authorization: Bearer $SHORT")
error_is 401 "expired" "the short-lived token after 2 s: 401 expired"

########################################################################
# 4. sites
########################################################################
HQ='{"name":"hq","tz":"Europe/Paris","subnets":["10.0.0.0/16"]}'
BA='{"name":"branch-a","parent":"hq","wan_cost":20,"tz":"Europe/Paris",
 "subnets":["10.1.0.0/16","2001:db8:1::/48"],"windows":"mon-fri 22:00-06:00 50mbit"}'
got=$(json POST /v1/sites "$HQ")
status 201 "$got" "create site hq"
got=$(AUTH=$OPS json POST /v1/sites "$BA")
status 201 "$got" "create site branch-a (with the ops token)"
check "commit 'site add branch-a' is authored by ops" \
	[ "$("${GIT[@]}" log --format='%an|%s' -1)" = "ops|site add branch-a" ]
check "branch-a answer is the canonical site" \
	jqt '.name == "branch-a" and .parent == "hq" and .wan_cost == 20 and .tz == "Europe/Paris" and .subnets == ["10.1.0.0/16","2001:db8:1::/48"] and (.windows | test("mon-fri 22:00-06:00 50mbit"))' "$T/body"
got=$(json POST /v1/sites "$HQ")
error_is 409 "exists" "creating hq again: 409"

# each bad change: status, message naming the field, and no commit
bad_site() { # bad_site STATUS REGEX DESC METHOD PATH BODY [curl args]
	local want=$1 re=$2 desc=$3 m=$4 path=$5 body=$6 before after
	shift 6
	before=$(head_rev)
	got=$(json "$m" "$path" "$body" "$@")
	error_is "$want" "$re" "$desc"
	after=$(head_rev)
	[ "$before" = "$after" ] || not_ok "$desc: a commit was made anyway ($("${GIT[@]}" log --format=%s -1))"
}
site_a() { # branch-a's document with one jq change
	jq -c "$1" <<<"$BA"
}
bad_site 400 'subnets\[0\]' "host bits set in a CIDR" PUT /v1/sites/branch-a "$(site_a '.subnets = ["10.1.2.0/16"]')"
bad_site 400 'subnets\[1\]' "an unparsable CIDR" PUT /v1/sites/branch-a "$(site_a '.subnets = ["10.1.0.0/16","10.300.0.0/16"]')"
bad_site 400 'subnet|10\.0\.0\.0/16' "a subnet hq has already" PUT /v1/sites/branch-a "$(site_a '.subnets = ["10.1.0.0/16","10.0.0.0/16"]')"
bad_site 400 'windows.*overlap|overlap.*window' "overlapping windows" PUT /v1/sites/branch-a \
	"$(site_a '.windows = "mon-fri 22:00-06:00 50mbit; tue 01:00-02:00"')"
bad_site 400 'window' "a window with hour 25" PUT /v1/sites/branch-a "$(site_a '.windows = "mon 25:00-03:00"')"
bad_site 400 'parent|nowhere' "an unknown parent site" PUT /v1/sites/branch-a "$(site_a '.parent = "nowhere"')"
bad_site 400 'parent|cycle' "a parent cycle" PUT /v1/sites/hq "$(jq -c '.parent = "branch-a"' <<<"$HQ")"
bad_site 400 "subnet'" "an unknown field" PUT /v1/sites/branch-a "$(site_a '.subnet = .subnets')"
bad_site 400 'tz' "an unknown time zone" PUT /v1/sites/branch-a "$(site_a '.tz = "Mars/Olympus"')"
bad_site 400 'images\[0\]' "an image not in the store" PUT /v1/sites/branch-a "$(site_a '.images = ["nosuch"]')"
bad_site 400 'JSON|json|line|column|parse' "malformed JSON" PUT /v1/sites/branch-a '{"name":"branch-a",'
bad_site 400 'duplicate|twice|wan_cost' "duplicate JSON keys" PUT /v1/sites/branch-a \
	'{"name":"branch-a","parent":"hq","wan_cost":1,"wan_cost":2}'
bad_site 400 'name' "a body naming another site than the URL" PUT /v1/sites/branch-a "$(site_a '.name = "hq" | del(.parent)')"
bad_site 400 'name' "an invalid site name" POST /v1/sites '{"name":"Bad Name"}'
bad_site 413 '.' "a 1.1 MiB body" POST /v1/sites "@$T/big.json"
bad_site 404 'branch-b' "PUT of a site that does not exist" PUT /v1/sites/branch-b "$(site_a '.name = "branch-b" | .subnets = []')"
got=$(json POST /v1/nodes '{"site":"nowhere"}')
error_is 404 "site" "an enrollment token for an unknown site: 404"

got=$(areq GET /v1/sites/branch-a)
status 200 "$got" "GET /v1/sites/branch-a"
cp "$T/body" "$T/site.api"
"${GIT[@]}" show HEAD:sites/branch-a.json >"$T/site.git" 2>"$T/err" || not_ok "git show HEAD:sites/branch-a.json"
if jq -S . "$T/site.git" >"$T/a" 2>/dev/null && jq -S . "$T/site.api" >"$T/b" && cmp -s "$T/a" "$T/b"; then
	ok "sites/branch-a.json in git parses and equals GET /v1/sites/branch-a"
else
	not_ok "sites/branch-a.json in git differs from the API's view"
	diff "$T/a" "$T/b" | head -10
fi
got=$(areq GET /v1/sites)
check "GET /v1/sites lists hq and branch-a" jqt '[.sites[].name] | sort == ["branch-a","hq"]' "$T/body"

# history: change wan_cost, diff it, roll it back
REV20=$(head_rev)
got=$(json PUT /v1/sites/branch-a "$(site_a '.wan_cost = 30')")
status 200 "$got" "PUT branch-a wan_cost 30"
REV30=$(head_rev)
check "commit 'site set branch-a' by admin" [ "$("${GIT[@]}" log --format='%an|%s' -1)" = "admin|site set branch-a" ]
got=$(areq GET /v1/config/log?max=3)
status 200 "$got" "GET /v1/config/log?max=3"
check "log: 3 commits, newest first, ids and authors" \
	jqt --arg h "$REV30" --arg p "$REV20" '(.commits | length) == 3 and .commits[0].id == $h and .commits[0].message == "site set branch-a" and .commits[0].author == "admin" and .commits[1].id == $p and .commits[1].author == "ops"' "$T/body"
got=$(areq GET "/v1/config/diff?rev=$REV20")
status 200 "$got" "GET /v1/config/diff?rev=<before>"
ck "the diff shows wan_cost 20 -> 30" \
	'grep -q "^-.*\"wan_cost\": 20" "$T/body" && grep -q "^+.*\"wan_cost\": 30" "$T/body" && grep -q "sites/branch-a.json" "$T/body"'
got=$(areq GET "/v1/config/diff?rev=0000000000000000000000000000000000000bad")
check "diff of an unknown revision is a 4xx ($got)" [ "${got:0:1}" = 4 ]
got=$(json POST /v1/config/rollback "{\"rev\":\"$REV20\"}")
status 200 "$got" "POST /v1/config/rollback to the wan_cost 20 commit"
# shellcheck disable=SC2034 # RB is read by ck's code
RB=$(jq -r .id "$T/body")
ck "rollback made a new commit at HEAD" '[ "$RB" = "$(head_rev)" ] && [ "$RB" != "$REV20" ] && [ "$RB" != "$REV30" ]'
check "the rollback commit's parent is the wan_cost 30 commit" [ "$("${GIT[@]}" rev-parse HEAD~1)" = "$REV30" ]
ck "rollback message names the revision" '"${GIT[@]}" log --format=%s -1 | grep -q "^rollback to ${REV20:0:12}"'
got=$(areq GET /v1/sites/branch-a)
check "branch-a has wan_cost 20 again" jqt '.wan_cost == 20' "$T/body"
bad_site 404 'nosuch|not found|unknown|revision' "rollback to an unknown revision" POST /v1/config/rollback '{"rev":"nosuchrev"}'

########################################################################
# 5. enrollment
########################################################################
enroll_token() { # enroll_token SITE: a fresh enrollment token on stdout
	local g
	g=$(json POST /v1/nodes "{\"site\":\"$1\"}")
	[ "$g" = 201 ] || { not_ok "POST /v1/nodes for $1: $g"; show_failure >&2; return 1; }
	jq -r .token "$T/body"
}
make_csr() { # make_csr NAME SUBJECT: $T/NAME.key and $T/NAME.csr
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj "$2" 2>/dev/null
}
enroll_body() { # enroll_body TOKEN CSRFILE
	jq -n --arg t "$1" --rawfile c "$2" '{token: $t, csr: $c, url: "https://10.1.0.5:8444"}'
}
enroll() { # enroll TOKEN CSRFILE
	req POST /v1/enroll -H 'Content-Type: application/json' --data-binary "$(enroll_body "$1" "$2")"
}

E1=$(enroll_token branch-a) || fatal "no enrollment token"
ok "POST /v1/nodes {site: branch-a} gave an enrollment token"
ck "the enrollment token has the token form" '[[ "$E1" =~ ^bl_[0-9a-f]{32}$ ]]'
got=$(req GET /v1/sites -H "Authorization: Bearer $E1")
error_is 401 "not valid" "an enrollment token is no operator token"
make_csr n1 "/CN=admin/O=branchline-operators"
got=$(enroll "$E1" "$T/n1.csr")
status 201 "$got" "POST /v1/enroll" || fatal "enrollment failed"
cp "$T/body" "$T/enroll.json"
N1=$(jq -r .node_id "$T/enroll.json")
SIGNKEY=$(jq -r .signing_key "$T/enroll.json")
jq -r .certificate "$T/enroll.json" >"$T/n1.crt"
check "enrollment answer: node id, site, CA, signing key" \
	jqt '(.node_id | test("^[a-z0-9-]{1,63}$")) and .site == "branch-a" and (.ca | test("BEGIN CERTIFICATE")) and (.signing_key | test("^[0-9a-f]{64}$"))' "$T/enroll.json"
ck "the answer's CA is ca.crt" 'jq -j .ca "$T/enroll.json" | cmp -s - "$CA"'
openssl x509 -in "$T/n1.crt" -noout -ext subjectAltName >"$T/out" 2>&1 || true
check "certificate SAN is URI:urn:branchline:node:$N1 and the node's address" \
	grep -q "URI:urn:branchline:node:$N1, IP Address:10.1.0.5\$" "$T/out"
subj=$(openssl x509 -in "$T/n1.crt" -noout -subject -nameopt RFC2253 2>&1)
ck "the CSR's subject CN=admin is ignored ($subj)" '[[ "$subj" != *admin* && "$subj" == *CN=$N1* ]]'
openssl x509 -in "$T/n1.crt" -noout -ext extendedKeyUsage >"$T/out" 2>&1 || true
ck "certificate is for client auth, and server auth at its url (child sites)" \
	'grep -q "TLS Web Server Authentication, TLS Web Client Authentication" "$T/out"'
ck "the certificate's key is the CSR's key" \
	'[ "$(openssl x509 -in "$T/n1.crt" -noout -pubkey)" = "$(openssl pkey -in "$T/n1.key" -pubout)" ]'
expect_exit 0 "openssl verify -CAfile ca.crt node.crt" openssl verify -CAfile "$CA" -purpose sslclient "$T/n1.crt"
ck "commit 'node add $N1' by the enrollment token" \
	'"${GIT[@]}" log --format="%an|%s" -1 | grep -q "^enroll-[0-9a-f]*|node add $N1 (site branch-a)\$"'
ck "nodes/$N1.json holds the certificate serial" \
	'[ "$("${GIT[@]}" show HEAD:nodes/$N1.json | jq -r .serial | sed "s/^0*//")" = "$(openssl x509 -in "$T/n1.crt" -noout -serial | cut -d= -f2 | tr A-F a-f | sed "s/^0*//")" ]'
make_csr n1b "/CN=again"
got=$(enroll "$E1" "$T/n1b.csr")
error_is 401 "not valid|used" "reusing the enrollment token: 401"

E2=$(enroll_token branch-a) || fatal "no second enrollment token"
make_csr n2 "/CN=n2"
printf -- '-----BEGIN CERTIFICATE REQUEST-----\nthis is not base64 at all\n-----END CERTIFICATE REQUEST-----\n' >"$T/garbage.csr"
got=$(enroll "$E2" "$T/garbage.csr")
error_is 400 "csr" "garbage PEM as CSR: 400"
openssl req -in "$T/n2.csr" -outform DER -out "$T/n2.der"
python3 - "$T/n2.der" "$T/bad.der" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[-1] ^= 0x01  # the last byte of the ECDSA signature's s
open(sys.argv[2], "wb").write(d)
EOF
{ echo "-----BEGIN CERTIFICATE REQUEST-----"; base64 -w 64 "$T/bad.der"; echo "-----END CERTIFICATE REQUEST-----"; } >"$T/badsig.csr"
got=$(enroll "$E2" "$T/badsig.csr")
error_is 400 "signature" "a CSR with a bad self-signature: 400"
got=$(req POST /v1/enroll -H 'Content-Type: application/json' --data-binary "{\"token\":\"$E2\"}")
error_is 400 "csr" "enroll without a csr: 400"
got=$(enroll "$E2" "$T/n2.csr")
status 201 "$got" "the token survived the failed attempts: second node enrolled"
N2=$(jq -r .node_id "$T/body")
jq -r .certificate "$T/body" >"$T/n2.crt"
check "two different node ids" [ "$N1" != "$N2" ]
got=$(areq GET /v1/nodes)
check "GET /v1/nodes lists both nodes in branch-a" \
	jqt --arg a "$N1" --arg b "$N2" '[.nodes[] | select(.site == "branch-a") | .id] | sort == ([$a, $b] | sort)' "$T/body"

########################################################################
# 6. node endpoints, mutual TLS
########################################################################
got=$(nreq n1 GET /v1/catalog)
status 200 "$got" "GET /v1/catalog with the node certificate"
ETAG=$(header ETag)
SIG=$(header Branchline-Signature)
cp "$T/body" "$T/cat1.json"
ck "catalog has an ETag ($ETAG)" '[[ "$ETAG" =~ ^\"[0-9]+\"$ ]]'
check "catalog has a Branchline-Signature header" [ -n "$SIG" ]
check "catalog describes branch-a" \
	jqt --arg n "$N1" '.format == 1 and .site == "branch-a" and .time_zone == "Europe/Paris" and .windows == "mon-fri 22:00-06:00 50mbit" and (.generation | tostring) == ($ARGS.named.g) and ([.sites[].name] | sort) == ["branch-a","hq"] and ([.nodes[].id] | index($n))' \
	--arg g "${ETAG//\"/}" "$T/cat1.json"
got=$(req GET /v1/catalog)
error_is 401 "certificate" "catalog without a client certificate: 401"
got=$(req GET /v1/catalog -H "Authorization: Bearer $TOK")
error_is 401 "certificate" "catalog with an operator token instead: 401"

# a certificate from another CA, naming node 1 and looking like ours
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/evilca.key" \
	-out "$T/evilca.crt" -subj "/CN=Branchline primary CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
make_csr evil "/CN=$N1/O=branchline-node"
printf 'subjectAltName=URI:urn:branchline:node:%s\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n' "$N1" >"$T/evil.ext"
openssl x509 -req -in "$T/evil.csr" -CA "$T/evilca.crt" -CAkey "$T/evilca.key" -CAcreateserial \
	-out "$T/evil.crt" -days 2 -extfile "$T/evil.ext" 2>/dev/null
ck "the foreign certificate verifies against its own CA" \
	'openssl verify -CAfile "$T/evilca.crt" -purpose sslclient "$T/evil.crt" >/dev/null 2>&1'
ck "but not against ca.crt" '! openssl verify -CAfile "$CA" "$T/evil.crt" >/dev/null 2>&1'
got=$(nreq evil GET /v1/catalog)
if [ "$got" = 000 ] || [ "$got" = 401 ]; then
	ok "a certificate from another CA naming $N1 is refused ($got)"
else
	not_ok "a foreign-CA certificate got HTTP $got"
	show_failure
fi
# the operator API must not take a node certificate as authentication
got=$(nreq n1 GET /v1/sites)
error_is 401 "token" "operator API with only a node certificate: 401"

got=$(nreq n2 GET /v1/catalog)
status 200 "$got" "node 2 fetches its catalog"
got=$(areq DELETE "/v1/nodes/$N2")
status 204 "$got" "DELETE /v1/nodes/$N2"
ck "commit 'node rm $N2'" '"${GIT[@]}" log --format=%s -1 | grep -q "^node rm $N2 "'
got=$(nreq n2 GET /v1/catalog)
error_is 403 "$N2" "the removed node's certificate: 403"
got=$(nreq n2 POST /v1/status -H 'Content-Type: application/json' --data-binary '{"version":"x"}')
error_is 403 "$N2" "the removed node cannot post a heartbeat: 403"
# "the node's certificate is refused from then on" (API.md): also after
# a configuration rollback to a commit from before the removal
got=$(json POST /v1/config/rollback '{"rev":"HEAD~1"}')
status 200 "$got" "roll the configuration back past the node's removal"
got=$(nreq n2 GET /v1/catalog)
error_is 403 "$N2" "the removed node stays refused after the rollback"
if "${GIT[@]}" cat-file -e "HEAD:nodes/$N2.json" 2>/dev/null; then
	# the rollback brought the node back: remove it again
	got=$(areq DELETE "/v1/nodes/$N2")
	status 204 "$got" "DELETE /v1/nodes/$N2 (again, after the rollback)"
fi
got=$(areq DELETE "/v1/nodes/$N2")
error_is 404 "$N2" "removing it again: 404"
got=$(areq DELETE /v1/sites/branch-a)
error_is 409 "$N1" "deleting a site that still has a node: 409"

########################################################################
# 7. long-poll
########################################################################
got=$(nreq n1 GET /v1/catalog)
ETAG=$(header ETag)
got=$(nreq n1 GET /v1/catalog -H "If-None-Match: $ETAG")
status 304 "$got" "If-None-Match with the current ETag, no wait: 304"
check "the 304 repeats the ETag" [ "$(header ETag)" = "$ETAG" ]
(
	t0=$(now_ms)
	code=$(curl -sS --max-time 20 --cacert "$CA" --cert "$T/n1.crt" --key "$T/n1.key" \
		-H "If-None-Match: $ETAG" -D "$T/lp.hdr" -o "$T/lp.body" -w '%{http_code}' \
		"$U/v1/catalog?wait=10" 2>"$T/lp.err") || true
	echo "$code $(($(now_ms) - t0))" >"$T/lp.res"
) &
LP=$!
sleep 1
got=$(json PUT /v1/sites/branch-a "$(site_a '.wan_cost = 25')")
status 200 "$got" "PUT branch-a while a node long-polls"
wait "$LP" || true
read -r lp_code lp_ms <"$T/lp.res" || true
ck "the long-poll answered 200 ($lp_code) after the change, in ${lp_ms} ms (< 3500)" \
	'[ "$lp_code" = 200 ] && [ "$lp_ms" -lt 3500 ] && [ "$lp_ms" -ge 900 ]'
NEWTAG=$(header ETag "$T/lp.hdr")
ck "with a new generation ($ETAG -> $NEWTAG)" \
	'[ -n "$NEWTAG" ] && [ "$NEWTAG" != "$ETAG" ] && [ "${NEWTAG//\"/}" -gt "${ETAG//\"/}" ]'
check "the long-poll body shows the change" \
	jqt --argjson g "${NEWTAG//\"/}" '.generation == $g and ([.sites[] | select(.name == "branch-a") | .wan_cost] == [25])' "$T/lp.body"
check "the long-poll answer is signed" [ -n "$(header Branchline-Signature "$T/lp.hdr")" ]
t0=$(now_ms)
got=$(nreq n1 GET "/v1/catalog?wait=2" -H "If-None-Match: $NEWTAG")
ms=$(($(now_ms) - t0))
ck "no change: ?wait=2 gives 304 ($got) after ${ms} ms (1800..4000)" \
	'[ "$got" = 304 ] && [ "$ms" -ge 1800 ] && [ "$ms" -lt 4000 ]'
got=$(nreq n1 GET "/v1/catalog?wait=61")
error_is 400 "wait" "?wait=61 (over the 60 s bound): 400"
got=$(nreq n1 GET "/v1/catalog?wait=-1")
error_is 400 "wait" "?wait=-1: 400"

########################################################################
# 8. catalog signature
########################################################################
# verify_sig BODY SIGHEADER: 0 if SIGHEADER is a valid signature of BODY
verify_sig() {
	local alg kid b64
	read -r alg kid b64 <<<"$2"
	[ "$alg" = ed25519 ] || return 1
	[ "$kid" = "$(printf %s "$SIGNKEY" | xxd -r -p | sha256sum | cut -c1-16)" ] || return 1
	printf %s "$b64" | base64 -d >"$T/sig.bin" 2>/dev/null || return 1
	openssl pkeyutl -verify -pubin -inkey "$T/pub.der" -keyform DER -rawin \
		-in "$1" -sigfile "$T/sig.bin" >/dev/null 2>&1
}
printf '302a300506032b6570032100%s' "$SIGNKEY" | xxd -r -p >"$T/pub.der"
got=$(nreq n1 GET /v1/catalog)
SIG=$(header Branchline-Signature)
cp "$T/body" "$T/cat.json"
read -r alg kid _ <<<"$SIG"
ck "signature header: ed25519, 16-hex key id ($alg $kid)" '[ "$alg" = ed25519 ] && [[ "$kid" =~ ^[0-9a-f]{16}$ ]]'
check "key id = first 8 bytes of SHA-256 of the signing key" \
	[ "$kid" = "$(printf %s "$SIGNKEY" | xxd -r -p | sha256sum | cut -c1-16)" ]
check "the catalog signature verifies with the enrollment's signing_key" verify_sig "$T/cat.json" "$SIG"
check "the long-poll answer's signature verifies too" verify_sig "$T/lp.body" "$(header Branchline-Signature "$T/lp.hdr")"
cp "$T/cat.json" "$T/cat.bad"
python3 - "$T/cat.bad" <<'EOF'
import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
d[len(d) // 2] ^= 0x01
open(p, "wb").write(d)
EOF
ck "one flipped byte in the body: verification fails" '! verify_sig "$T/cat.bad" "$SIG"'
ck "another catalog's signature does not verify an older body" '! verify_sig "$T/cat1.json" "$(header Branchline-Signature "$T/lp.hdr")"'

########################################################################
# 9. upload, kill -9, resume
########################################################################
SIZE=$((12 * 1024 * 1024))
HALF=$((5 * 1024 * 1024))
randfile "$T/disk.img" "$SIZE"
slice "$T/disk.img" 0 "$HALF" >"$T/part1"
got=$(json POST /v1/uploads "{\"image\":\"netboot\",\"files\":[{\"path\":\"boot/disk.img\",\"size\":$SIZE}]}")
status 201 "$got" "POST /v1/uploads (one 12 MiB file)" || fatal "no upload"
UP=$(jq -r .id "$T/body")
check "upload is open with received 0" \
	jqt --argjson s "$SIZE" '.state == "open" and .files == [{"path":"boot/disk.img","size":$s,"received":0}]' "$T/body"
got=$(areq PUT "/v1/uploads/$UP/files/0" --data-binary "@$T/part1" \
	-H "Content-Range: bytes 0-$((HALF - 1))/$SIZE" -H 'Content-Type: application/octet-stream')
status 200 "$got" "PUT the first 5 MiB"
check "received = 5 MiB" jqt --argjson h "$HALF" '.received == $h' "$T/body"
got=$(areq PUT "/v1/uploads/$UP/files/0" --data-binary "@$T/part1" \
	-H "Content-Range: bytes 0-$((HALF - 1))/$((SIZE + 1))")
error_is 400 "Content-Range" "a Content-Range total that is not the file's size: 400"
got=$(areq PUT "/v1/uploads/$UP/files/1" --data-binary "@$T/part1" -H "Content-Range: bytes 0-$((HALF - 1))/$SIZE")
error_is 404 "file 1" "PUT to a file index the upload lacks: 404"
got=$(areq POST "/v1/uploads/$UP/finalize")
error_is 409 "boot/disk.img" "finalize before every byte arrived: 409"

got=$(nreq n1 GET /v1/catalog)
ETAG=$(header ETag)
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
check "log of the killed primary has no sanitizer report" log_clean "$T/p$NSTART.log"
PID=
start_primary
ok "primary restarted after kill -9"
got=$(areq GET "/v1/uploads/$UP")
status 200 "$got" "GET the upload after the restart"
RECV=$(jq -r '.files[0].received' "$T/body")
check "received survived the kill: $RECV (5 MiB)" [ "$RECV" = "$HALF" ]
got=$(nreq n1 GET /v1/catalog -H "If-None-Match: $ETAG")
status 304 "$got" "the catalog generation survived the restart (If-None-Match $ETAG)"
check "still open" jqt '.state == "open"' "$T/body"
[[ "$RECV" =~ ^[0-9]+$ ]] || RECV=0
GAP=$((RECV + 1024 * 1024))
slice "$T/disk.img" "$GAP" $((1024 * 1024)) >"$T/gap.bin"
got=$(areq PUT "/v1/uploads/$UP/files/0" --data-binary "@$T/gap.bin" \
	-H "Content-Range: bytes $GAP-$((GAP + 1024 * 1024 - 1))/$SIZE")
ck "a PUT starting beyond received: 409 ($got) naming received" \
	'[ "$got" = 409 ] && jqt --argjson r "$RECV" ".received == \$r and .error.status == 409" "$T/body"'
# the rest, with 1 MiB of overlap re-sent
FROM=$((RECV > 1048576 ? RECV - 1048576 : 0))
slice "$T/disk.img" "$FROM" >"$T/rest"
got=$(areq PUT "/v1/uploads/$UP/files/0" --data-binary "@$T/rest" \
	-H "Content-Range: bytes $FROM-$((SIZE - 1))/$SIZE")
status 200 "$got" "PUT the rest (from $FROM, overlapping)"
check "received = the whole file" jqt --argjson s "$SIZE" '.received == $s' "$T/body"
got=$(areq POST "/v1/uploads/$UP/finalize")
status 202 "$got" "finalize"
state=
for _ in $(seq 300); do
	got=$(areq GET "/v1/uploads/$UP")
	state=$(jq -r .state "$T/body" 2>/dev/null || echo "?")
	case "$state" in open | importing) sleep 0.1 ;; *) break ;; esac
done
check "the import is done (state $state)" [ "$state" = "done" ]
check "the upload names version 1" jqt '.version == 1' "$T/body"
got=$(areq GET /v1/images/netboot)
status 200 "$got" "GET /v1/images/netboot"
cp "$T/body" "$T/image.json"
SHA=$(sha256sum "$T/disk.img" | cut -c1-64)
check "the stored file's sha256 is the uploaded file's" \
	jqt --arg h "$SHA" --argjson s "$SIZE" '.name == "netboot" and .version == 1 and .size == $s and .files[0].path == "boot/disk.img" and .files[0].sha256 == $h' "$T/image.json"
MANIFEST=$(jq -r .manifest "$T/image.json")
ck "the image has a manifest id" '[[ "$MANIFEST" =~ ^[0-9a-f]{64}$ ]]'

got=$(nreq n1 GET /v1/catalog)
ETAG=$(header ETag)
got=$(json PUT /v1/sites/branch-a "$(site_a '.wan_cost = 25 | .images = ["netboot"]')")
status 200 "$got" "assign netboot to branch-a"
got=$(nreq n1 GET /v1/catalog -H "If-None-Match: $ETAG")
status 200 "$got" "the next catalog (a new generation)"
check "the catalog lists netboot@1 with its manifest id" \
	jqt --arg m "$MANIFEST" --argjson s "$SIZE" '.images == [{"name":"netboot","version":1,"manifest":$m,"size":$s,"files":1}] or (.images | length == 1 and .[0].name == "netboot" and .[0].version == 1 and .[0].manifest == $m and .[0].size == $s)' "$T/body"
check "and it is signed" verify_sig "$T/body" "$(header Branchline-Signature)"

########################################################################
# 10. replication endpoints
########################################################################
got=$(OUT=$T/manifest.bin nreq n1 GET "/v1/manifests/$MANIFEST")
status 200 "$got" "GET /v1/manifests/<id>"
# parse the manifest: its id, the file's sha256, and the chunk ids
if python3 - "$T/manifest.bin" "$MANIFEST" "$SHA" "$T/ids" <<'EOF'; then
import hashlib, struct, sys
m = open(sys.argv[1], "rb").read()
body, trailer = m[:-73], m[-73:]
assert body[:4] == b"BLMF", "magic"
assert hashlib.sha256(body).hexdigest() == sys.argv[2], "manifest id"
o = 8
nl, = struct.unpack(">H", body[o:o + 2]); o += 2 + nl
o += 4 + 8
nfiles, = struct.unpack(">I", body[o:o + 4]); o += 4
ids = []
for _ in range(nfiles):
    pl, = struct.unpack(">H", body[o:o + 2]); o += 2 + pl
    o += 4
    size, = struct.unpack(">Q", body[o:o + 8]); o += 8
    sha = body[o:o + 32].hex(); o += 32
    assert sha == sys.argv[3], "file sha256"
    n, = struct.unpack(">I", body[o:o + 4]); o += 4
    total = 0
    for _ in range(n):
        ids.append(body[o:o + 32].hex())
        total += struct.unpack(">I", body[o + 32:o + 36])[0]
        o += 36
    assert total == size, "chunk lengths"
assert o == len(body), "trailing bytes"
assert trailer[0] == 1, "algorithm"
seen = set()
uniq = [i for i in ids if not (i in seen or seen.add(i))]
open(sys.argv[4], "w").write("".join(i + "\n" for i in uniq))
print("# manifest: %d chunks, %d distinct" % (len(ids), len(uniq)))
EOF
	ok "the manifest parses: its SHA-256 is the id, the file hash and chunk lengths match"
else
	not_ok "the manifest bytes do not match the image"
	: >"$T/ids"
fi
python3 -c 'import sys; m = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(m[:-73]); open(sys.argv[3], "wb").write(m[-64:])' \
	"$T/manifest.bin" "$T/mbody" "$T/msig"
ck "the manifest's signature verifies with signing_key" \
	'openssl pkeyutl -verify -pubin -inkey "$T/pub.der" -keyform DER -rawin -in "$T/mbody" -sigfile "$T/msig" >/dev/null 2>&1'
got=$(nreq n1 GET "/v1/manifests/$(printf '%064d' 0)")
error_is 404 "manifest" "an unknown manifest: 404"
got=$(nreq n1 GET /v1/manifests/XYZ)
error_is 400 "not an id" "a manifest id that is not hex: 400"
got=$(areq GET "/v1/manifests/$MANIFEST")
error_is 401 "certificate" "manifests need a node certificate: 401"

# Is branch-a inside "mon-fri 22:00-06:00" (Europe/Paris) now?  Print
# the seconds until it opens, or 0 when open.
window_wait() {
	python3 - <<'EOF'
import datetime, zoneinfo
now = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Paris"))
wd, m = now.weekday(), now.hour * 60 + now.minute  # 0 = Monday
if (wd <= 4 and m >= 22 * 60) or (1 <= wd <= 5 and m < 6 * 60):
    print(0)
else:
    days = 0
    while True:  # next mon-fri 22:00
        d = (wd + days) % 7
        if d <= 4 and (days > 0 or m < 22 * 60):
            break
        days += 1
    print((days * 1440 + 22 * 60 - m) * 60 - now.second)
EOF
}
head -3 "$T/ids" >"$T/ids3"
wait_s=$(window_wait)
if [ "$wait_s" -eq 0 ] || [ "$wait_s" -lt 120 ]; then
	# inside the window (or about to open): use one that is surely closed
	far=$(LC_ALL=C TZ=Europe/Paris date -d '+3 days' +%a | tr '[:upper:]' '[:lower:]')
	echo "# branch-a's window is open now: closing it (only $far 12:00-13:00)"
	got=$(json PUT /v1/sites/branch-a "$(site_a ".wan_cost = 25 | .images = [\"netboot\"] | .windows = \"$far 12:00-13:00 10mbit\"")")
	status 200 "$got" "branch-a window moved to $far"
	wait_s=
else
	echo "# branch-a's window opens in $wait_s s"
fi
got=$(nreq n1 POST /v1/chunks/batch --data-binary "@$T/ids3")
error_is 429 "window" "a batch outside the window: 429"
RA=$(header Retry-After)
ck "with Retry-After in seconds ($RA)" '[[ "$RA" =~ ^[1-9][0-9]*$ ]]'
if [ -n "$wait_s" ] && [[ "$RA" =~ ^[0-9]+$ ]]; then
	ck "Retry-After ($RA) is the time until the window opens ($wait_s, +-120)" \
		'[ "$RA" -ge $((wait_s - 120)) ] && [ "$RA" -le $((wait_s + 120)) ]'
fi
got=$(nreq n1 GET "/v1/chunks/$(head -1 "$T/ids")")
error_is 429 "window" "a single chunk outside the window: 429"
got=$(json POST /v1/sites/branch-a/replicate-now '{"hours":1}')
status 200 "$got" "POST /v1/sites/branch-a/replicate-now {hours: 1}"
now=$(date +%s)
check "replicate-now until is about an hour from now" \
	jqt --argjson n "$now" '.site == "branch-a" and .until >= $n + 3590 and .until <= $n + 3610' "$T/body"
got=$(json POST /v1/sites/branch-a/replicate-now '{"hours":-1}')
error_is 400 "hours" "replicate-now with hours -1: 400"
got=$(json POST /v1/sites/nosuch/replicate-now '{"hours":1}')
error_is 404 "nosuch" "replicate-now for an unknown site: 404"
got=$(nreq n1 GET /v1/catalog)
check "the catalog shows replicate_now_until" jqt --argjson n "$now" '.replicate_now_until >= $n + 3590' "$T/body"

MISSING=$(printf 'missing chunk' | sha256sum | cut -c1-64)
{ cat "$T/ids"; echo "$MISSING"; } >"$T/batch.req"
NIDS=$(wc -l <"$T/batch.req")
got=$(OUT=$T/batch.bin nreq n1 POST /v1/chunks/batch --data-binary "@$T/batch.req")
status 200 "$got" "POST /v1/chunks/batch with $NIDS ids after replicate-now"
check "batch Content-Type is application/vnd.branchline.chunks" \
	[ "$(header Content-Type)" = application/vnd.branchline.chunks ]
# frames: id[32] status u8, encoding u8, reserved u16, size u32, length u32
if python3 - "$T/batch.bin" "$T/batch.req" "$MISSING" <<'EOF'; then
import hashlib, struct, subprocess, sys
data = open(sys.argv[1], "rb").read()
want = open(sys.argv[2]).read().split()
missing = sys.argv[3]
o, got, raw, z, total = 0, [], 0, 0, 0
while o < len(data):
    assert len(data) - o >= 44, "truncated frame header at %d" % o
    cid = data[o:o + 32].hex()
    st, enc, res, size, length = struct.unpack(">BBHII", data[o + 32:o + 44])
    o += 44
    body = data[o:o + length]
    assert len(body) == length, "truncated frame data"
    o += length
    got.append(cid)
    assert res == 0, "reserved field %d" % res
    if cid == missing:
        assert st == 1 and length == 0, "the missing id has status %d" % st
        continue
    assert st == 0, "chunk %s: status %d" % (cid, st)
    if enc == 0:
        raw += 1
        content = body
    elif enc == 1:
        z += 1
        content = subprocess.run(["zstd", "-d", "-c", "-q"], input=body,
                                 capture_output=True, check=True).stdout
    else:
        raise AssertionError("encoding %d" % enc)
    assert len(content) == size, "chunk %s: size %d, content %d" % (cid, size, len(content))
    assert hashlib.sha256(content).hexdigest() == cid, "chunk %s: content does not hash to its id" % cid
    total += size
assert got == want, "frames are not the ids asked for, in order (%d frames, %d ids)" % (len(got), len(want))
print("# batch: %d frames (%d raw, %d zstd), %d content bytes" % (len(got), raw, z, total))
EOF
	ok "every frame checks out: SHA-256 of the content is its id, the missing id has status 1"
else
	not_ok "batch frames"
fi
C1=$(head -1 "$T/ids")
got=$(OUT=$T/chunk1 nreq n1 GET "/v1/chunks/$C1")
status 200 "$got" "GET /v1/chunks/<id> inside replicate-now"
check "the single chunk hashes to its id" [ "$(sha256sum <"$T/chunk1" | cut -c1-64)" = "$C1" ]
got=$(nreq n1 GET "/v1/chunks/$MISSING")
error_is 404 "chunk" "an unknown chunk: 404"
printf '%s\nnot-a-chunk-id\n' "$C1" >"$T/bad.req"
got=$(nreq n1 POST /v1/chunks/batch --data-binary "@$T/bad.req")
error_is 400 "line 2" "a batch with an id that is not hex: 400 naming the line"
printf '%s\n' "${C1^^}" >"$T/bad.req"
got=$(nreq n1 POST /v1/chunks/batch --data-binary "@$T/bad.req")
ck "an id in upper case: 200 or 400, no crash ($got)" '[ "$got" = 200 ] || [ "$got" = 400 ]'
python3 -c 'import hashlib; print("".join(hashlib.sha256(b"%d" % i).hexdigest() + "\n" for i in range(1025)), end="")' >"$T/many.req"
got=$(nreq n1 POST /v1/chunks/batch --data-binary "@$T/many.req")
error_is 413 "1024" "a batch of 1025 ids: 413"
head -1024 "$T/many.req" >"$T/max.req"
got=$(OUT=$T/max.bin nreq n1 POST /v1/chunks/batch --data-binary "@$T/max.req")
ck "a batch of exactly 1024 (unknown) ids: 200 with 1024 frames ($got)" \
	'[ "$got" = 200 ] && [ "$(stat -c %s "$T/max.bin")" -eq $((1024 * 44)) ]'
head -c 200000 /dev/zero | tr '\0' 'a' >"$T/huge.req"
got=$(nreq n1 POST /v1/chunks/batch --data-binary "@$T/huge.req")
error_is 413 "." "a 200 kB batch body: 413"
got=$(nreq n1 POST /v1/chunks/batch --data-binary '')
ck "an empty batch: 200 with no frames or 400 ($got)" '[ "$got" = 400 ] || { [ "$got" = 200 ] && [ ! -s "$T/body" ]; }'

# a node that drops a 12 MB batch stream after a moment
curl -sS --cacert "$CA" --cert "$T/n1.crt" --key "$T/n1.key" --limit-rate 200k --max-time 1 \
	--data-binary "@$T/batch.req" -o "$T/abort.bin" "$U/v1/chunks/batch" 2>/dev/null || true
got=$(nreq n1 GET "/v1/chunks/$C1")
ck "after a dropped batch stream ($(stat -c %s "$T/abort.bin") bytes read) the primary serves on ($got)" \
	'[ "$got" = 200 ] && [ "$(stat -c %s "$T/abort.bin")" -lt 12000000 ]'
for _ in $(seq 20); do grep -q "batch stream closed by the peer" "$T/p$NSTART.log" && break; sleep 0.1; done
check "and logs the closed stream" grep -q "batch stream closed by the peer" "$T/p$NSTART.log"

# replicate-now: {} is 12 hours, hours 0 cancels it
got=$(json POST /v1/sites/branch-a/replicate-now '{}')
now=$(date +%s)
ck "replicate-now {} lasts the default 12 h ($got)" \
	'[ "$got" = 200 ] && jqt --argjson n "$now" ".until >= \$n + 43190 and .until <= \$n + 43210" "$T/body"'
got=$(json POST /v1/sites/branch-a/replicate-now '{"hours":0}')
ck "replicate-now {hours: 0} cancels ($got)" '[ "$got" = 200 ] && jqt ".until == 0" "$T/body"'
got=$(nreq n1 POST /v1/chunks/batch --data-binary "@$T/ids3")
error_is 429 "window" "after the cancel, batches are refused again"
got=$(nreq n1 GET /v1/catalog)
check "the catalog shows no replicate-now" jqt '.replicate_now_until == 0' "$T/body"

# a heartbeat shows up in GET /v1/status and GET /v1/nodes
got=$(nreq n1 POST /v1/status -H 'Content-Type: application/json' --data-binary \
	'{"version":"0.1.0","url":"https://10.1.0.5:8444","store":{"bytes":123},"images":[{"name":"netboot","version":1,"state":"downloading","bytes":10,"total":100,"rate_bps":1000,"eta_s":9}]}')
status 204 "$got" "POST /v1/status (heartbeat)"
got=$(areq GET "/v1/status?site=branch-a")
if jqt --arg n "$N1" '.status | length == 1 and .[0].site == "branch-a" and .[0].node == $n and .[0].image == "netboot" and .[0].version == 1 and .[0].state == "downloading" and .[0].bytes == 10 and .[0].total == 100 and .[0].percent == 10' "$T/body"; then
	ok "GET /v1/status: one row as documented (site, node, image, state, percent)"
else
	not_ok "GET /v1/status rows lack the documented fields (API.md: site node image version state bytes total percent ...)"
	head -c 400 "$T/body" | sed 's/^/    body: /'
fi
got=$(nreq n1 POST /v1/status -H 'Content-Type: application/json' --data-binary '{"images":"x"}')
error_is 400 "images" "a heartbeat with images not an array: 400"

########################################################################
# 11. hostile clients
########################################################################
# a client that sends half a request and stalls
mkfifo "$T/slow.in"
openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$CA" <"$T/slow.in" >"$T/slow.out" 2>&1 &
SLOW=$!
BG+=("$SLOW")
exec 4>"$T/slow.in"
printf 'POST /v1/sites HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\nAuthorization: Bearer %s\r\n\r\n{"name":' "$TOK" >&4
# and one that opens TCP and never starts TLS
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.3
t0=$(now_ms)
got=$(areq GET /v1/sites --max-time 5)
ms=$(($(now_ms) - t0))
ck "served while two clients stall ($got in ${ms} ms)" '[ "$got" = 200 ] && [ "$ms" -lt 3000 ]'
# garbage: raw bytes to the TLS port, and garbage inside TLS
for i in 1 2 3; do
	timeout 5 bash -c "head -c 5000 /dev/urandom >/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || true
done
head -c 3000 /dev/urandom | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$CA" >/dev/null 2>&1 || true
printf 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' "$(head -c 20000 /dev/zero | tr '\0' a)" |
	timeout 5 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$CA" >"$T/out" 2>&1 || true
ck "a 20 kB request line gets an HTTP error, not a crash" 'kill -0 "$PID" && ! grep -q "^HTTP/1.1 200" "$T/out"'
{ printf 'GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n'; for i in $(seq 400); do printf 'X-Pad-%d: %s\r\n' "$i" "$(head -c 60 /dev/zero | tr '\0' b)"; done; printf '\r\n'; } |
	timeout 5 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$CA" >"$T/out" 2>&1 || true
ck "28 kB of headers refused (over 16 KiB)" 'kill -0 "$PID" && ! grep -q "^HTTP/1.1 200" "$T/out"'
printf 'PUT /v1/uploads/%s/files/0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 99999999999\r\n\r\n' "$UP" "$TOK" |
	timeout 5 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$CA" >"$T/out" 2>&1 || true
ck "a 100 GB Content-Length is refused" 'kill -0 "$PID" && grep -q "^HTTP/1.1 413" "$T/out"'
printf 'GET /v1/sites HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzzzz\r\n' |
	timeout 5 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$CA" >/dev/null 2>&1 || true
got=$(areq GET /v1/nosuch)
error_is 404 "no such endpoint" "an unknown endpoint: 404 JSON"
got=$(req GET /v2/sites)
error_is 404 "no such endpoint" "an unknown version prefix: 404 JSON"
got=$(areq DELETE /v1/openapi.json)
error_is 405 "method" "DELETE /v1/openapi.json: 405 JSON"
got=$(areq PATCH /v1/sites/hq)
ck "PATCH, a method the server does not take: 405 or 501 ($got)" '[ "$got" = 405 ] || [ "$got" = 501 ]'
got=$(areq GET /v1/images/..%2f..%2fetc)
ck "a percent-encoded path argument: 400/404 ($got)" '[ "$got" = 400 ] || [ "$got" = 404 ]'
got=$(areq GET "/v1/images/$(head -c 200 /dev/zero | tr '\0' a)")
error_is 400 "name" "a 200-byte image name: 400"
got=$(areq GET "/v1/images/netboot?version=abc")
check "a non-numeric version: 400 ($got)" [ "$got" = 400 ]
got=$(areq GET "/v1/config/log?max=0")
error_is 400 "max" "config log ?max=0: 400"
got=$(areq GET "/v1/config/log?max=%zz")
check "a malformed query string: 400 ($got)" [ "$got" = 400 ]
got=$(json POST /v1/uploads '{"image":"x","files":[{"path":"../etc/passwd","size":1}]}')
error_is 400 "path" "an upload path with ..: 400"
got=$(json POST /v1/uploads '[1,2,3]')
error_is 400 "object" "a JSON array where an object is needed: 400"
got=$(areq POST /v1/uploads -H 'Content-Type: application/json' --data-binary $'{"image":"x\x00y","files":[]}')
check "a NUL byte in a JSON string: 400 ($got)" [ "$got" = 400 ]

# a node that long-polls and goes away before the answer
curl -sS --cacert "$CA" --cert "$T/n1.crt" --key "$T/n1.key" --max-time 1 \
	-H "If-None-Match: $(header ETag "$T/lp.hdr")" "$U/v1/catalog?wait=30" >/dev/null 2>&1 || true
got=$(nreq n1 GET /v1/catalog)
ETAG=$(header ETag)
curl -sS --cacert "$CA" --cert "$T/n1.crt" --key "$T/n1.key" --max-time 1 \
	-H "If-None-Match: $ETAG" "$U/v1/catalog?wait=30" >/dev/null 2>&1 || true
got=$(json PUT /v1/sites/branch-a "$(site_a '.wan_cost = 26 | .images = ["netboot"]')")
status 200 "$got" "a change after two long-polls went away"

exec 4>&- 5>&-
kill "$SLOW" 2>/dev/null || true
wait "$SLOW" 2>/dev/null || true
BG=()
got=$(req GET /v1/openapi.json)
status 200 "$got" "still serving after the hostile clients"

# the end: SIGTERM, exit 0, no sanitizer report; a long-poll still held
got=$(nreq n1 GET /v1/catalog)
ETAG=$(header ETag)
curl -sS --cacert "$CA" --cert "$T/n1.crt" --key "$T/n1.key" --max-time 20 \
	-H "If-None-Match: $ETAG" "$U/v1/catalog?wait=30" >/dev/null 2>&1 &
HELD=$!
BG+=("$HELD")
sleep 0.3
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
wait "$HELD" 2>/dev/null || true # its connection closed with the primary
BG=()
check "it logged the signal" grep -q "signal 15: stopping" "$T/p$NSTART.log"
if log_clean "$T/p$NSTART.log"; then
	ok "no sanitizer report in the log"
else
	not_ok "sanitizer report in the primary's log"
	grep -E -A12 "ERROR: .*Sanitizer|runtime error" "$T/p$NSTART.log" | head -40 | sed 's/^/    /'
fi
finish

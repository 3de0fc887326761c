#!/usr/bin/env bash
# branchline-primary and branchline-dist: --help, --version, and -n
# checking a configuration file (good, bad values, unknown keys, missing).
. "$(dirname "$0")/lib.sh"

P="$BL_BIN/primary/branchline-primary"
D="$BL_BIN/distribution/branchline-dist"

for prog in "$P" "$D"; do
	name=$(basename "$prog")
	expect_exit 0 "$name --help" "$prog" --help
	check "$name --help shows usage" grep -q "^usage: $name" "$T/out"
	expect_exit 0 "$name --version" "$prog" --version
	check "$name --version names itself" grep -q "^$name [0-9]" "$T/out"
	expect_exit 2 "$name rejects an unknown option" "$prog" --frobnicate
	expect_exit 1 "$name -n on a missing file" "$prog" -n --config "$T/none.conf"
	expect_err "none.conf: No such file" "$name names the missing file"
done

cat >"$T/primary.conf" <<'CONF'
# head office
state_dir = /var/lib/branchline-primary
port = 8443
log_level = 2
CONF
expect_exit 0 "primary -n: good config" "$P" -n --config "$T/primary.conf"
check "primary says configuration OK" grep -q "configuration OK" "$T/out"
printf 'state_dir = /srv/bl\nport = 70000\n' >"$T/bad.conf"
expect_exit 1 "primary -n: port out of range" "$P" -n --config "$T/bad.conf"
expect_err "line 2: port: 70000 is outside 1..65535" "the line and field are named"
printf 'state_dir = relative/path\n' >"$T/bad.conf"
expect_exit 1 "primary -n: relative state_dir" "$P" -n --config "$T/bad.conf"
expect_err "state_dir must be an absolute path" "reason given"

printf 'state_dir = /srv/bl\nprimary_url = https://hq.example:8443\n' >"$T/dist.conf"
expect_exit 0 "dist -n: good config" "$D" -n --config "$T/dist.conf"
printf 'state_dir = /srv/bl\nprimary_url = http://hq.example\n' >"$T/bad.conf"
expect_exit 1 "dist -n: plain http refused" "$D" -n --config "$T/bad.conf"
expect_err "primary_url must start with https://" "reason given"
printf 'state_dir = /srv/bl\nprimary_uri = https://x\n' >"$T/bad.conf"
expect_exit 1 "dist -n: unknown key" "$D" -n --config "$T/bad.conf"
expect_err "line 2: unknown key 'primary_uri'" "unknown key named"
printf 'state_dir = /srv/bl\nprimary_url = https://hq\ndhcp_interfaces = eth1,eth2\nhttp_boot_port = 0\ntftp_windowsize_max = 16\nuser = nobody\nboot_url = http://boot.example/\n' >"$T/dist.conf"
expect_exit 0 "dist -n: boot keys" "$D" -n --config "$T/dist.conf"
printf 'state_dir = /srv/bl\nprimary_url = https://hq\nboot_url = ftp://x\n' >"$T/bad.conf"
expect_exit 1 "dist -n: boot_url must be http(s)" "$D" -n --config "$T/bad.conf"
expect_err "boot_url must start with http:// or https://" "reason given"
printf 'state_dir = /srv/bl\nprimary_url = https://hq\ntftp_windowsize_max = 65\n' >"$T/bad.conf"
expect_exit 1 "dist -n: windowsize cap out of range" "$D" -n --config "$T/bad.conf"
expect_err "line 3: tftp_windowsize_max: 65 is outside 1..64" "line and field named"
printf 'state_dir = /srv/bl\nboot_site = hq\ndhcp_proxy = no\nhttp_boot_tls_port = 8445\npxe_prompt = Press F8\npxe_prompt_timeout = 3\n' >"$T/primary.conf"
expect_exit 0 "primary -n: boot keys" "$P" -n --config "$T/primary.conf"
printf 'state_dir = /srv/bl\nboot_url = http://a b\n' >"$T/bad.conf"
expect_exit 1 "primary -n: a space in boot_url" "$P" -n --config "$T/bad.conf"
expect_err "boot_url: spaces" "reason given"
head -c 70000 /dev/zero | tr '\0' '#' >"$T/big.conf"
expect_exit 1 "dist -n: oversized file" "$D" -n --config "$T/big.conf"
expect_err "larger than 65536 bytes" "size limit named"
finish

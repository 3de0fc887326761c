#!/usr/bin/env bash
# The CLI on a real store: import, versions, list/show/diff (tables and
# JSON), cat byte-identical, rm, gc, verify, help, exit codes, and bad
# input: missing and unreadable files, corrupt chunks, tampered manifests.
. "$(dirname "$0")/lib.sh"

S="$T/store"
B=("$BL" --store "$S")
randfile "$T/vmlinuz" 3000000
randfile "$T/initrd" 2000000
dd if=/dev/zero of="$T/disk.img" bs=1M count=4 status=none
head -c 100000 /dev/urandom | dd of="$T/disk.img" bs=1 seek=1000000 conv=notrunc status=none

expect_exit 0 "init" "${B[@]}" init
expect_exit 1 "init twice refused" "${B[@]}" init
expect_err "already holds a store" "init twice names the reason"
expect_exit 0 "image add v1" "${B[@]}" image add netboot "$T/vmlinuz" "$T/initrd" boot/disk.img="$T/disk.img"
grep -q "added netboot@1" "$T/out" && ok "v1 reported" || not_ok "v1 reported"

# v2: one changed region in the initrd
cp "$T/initrd" "$T/initrd2"
printf 'patched-by-test' | dd of="$T/initrd2" bs=1 seek=900000 conv=notrunc status=none
expect_exit 0 "image add v2" "${B[@]}" --json image add netboot vmlinuz="$T/vmlinuz" initrd="$T/initrd2" boot/disk.img="$T/disk.img"
check "v2 json: version 2, few new chunks" \
	jqt '.version == 2 and .new_chunks >= 1 and .new_chunks <= 4 and .bytes == 9194304' "$T/out"

expect_exit 0 "image list" "${B[@]}" --json image list
check "list has two versions" jqt 'length == 2 and .[0].version == 1 and .[1].version == 2' "$T/out"
expect_exit 0 "image list table" "${B[@]}" image list
check "table lists netboot" grep -q "^netboot .* 2 " "$T/out"
expect_exit 0 "image show" "${B[@]}" --json image show netboot@1
check "show lists 3 files sorted with sha256" jqt --arg h "$(sha256sum "$T/initrd" | cut -c1-64)" \
	'(.files | map(.path)) == ["boot/disk.img","initrd","vmlinuz"] and .files[1].sha256 == $h' "$T/out"
expect_exit 0 "image diff" "${B[@]}" --json image diff netboot@1 netboot@2
check "diff: shared + new = v2 chunks, new small" \
	jqt '.shared_chunks + .new_chunks == .to_chunks and .new_chunks >= 1 and .new_bytes < 1048576' "$T/out"

for f in vmlinuz initrd boot/disk.img; do
	src="$T/$(basename "$f")"
	"${B[@]}" cat netboot@1 "$f" >"$T/cat.out"
	check "cat netboot@1 $f byte-identical" cmp -s "$src" "$T/cat.out"
done
"${B[@]}" cat netboot initrd >"$T/cat.out"
check "cat newest initrd is v2's" cmp -s "$T/initrd2" "$T/cat.out"

# exit codes and messages
expect_exit 3 "show unknown image" "${B[@]}" image show nosuch
expect_exit 3 "cat unknown file" "${B[@]}" cat netboot nosuch
expect_exit 2 "bad ref" "${B[@]}" image show 'netboot@x'
expect_exit 2 "unknown command" "$BL" frobnicate
expect_exit 1 "not a store" "$BL" --store "$T" image list
expect_err "not a store" "not-a-store message"
expect_exit 1 "missing input file" "${B[@]}" image add other "$T/vmlinuz" "$T/no-such.iso"
expect_err "no-such.iso: No such file" "missing file named"
if [ "$(id -u)" -eq 0 ]; then
	# unreadable for the user running the CLI: run it as nobody
	cp -a "$S" "$T/nstore" && chown -R nobody "$T/nstore"
	install -m 600 -o root "$T/vmlinuz" "$T/secret.bin"
	chmod 755 "$T"
	expect_exit 1 "unreadable input file" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$BL" --store "$T/nstore" image add other "$T/secret.bin"
	expect_err "secret.bin: Permission denied" "unreadable file named"
fi
expect_exit 0 "nothing half-added" "${B[@]}" --json image list other
check "no image 'other'" jqt 'length == 0' "$T/out"

# help everywhere
for c in "init" "image add" "image list" "image show" "image diff" "image rm" "cat" "gc" "verify" "stats" "manifest export" "manifest check"; do
	# shellcheck disable=SC2086
	"$BL" $c --help >"$T/out" 2>&1 && grep -q "^usage: branchline" "$T/out" ||
		not_ok "help for $c"
done
ok "every command has --help"
expect_exit 0 "--version" "$BL" --version

# manifests: export, check, truncated, tampered
"${B[@]}" manifest export netboot@2 >"$T/m.bin"
expect_exit 0 "manifest check good" "$BL" manifest check --key "$S/keys/signing.pub" "$T/m.bin"
head -c $(($(stat -c %s "$T/m.bin") - 10)) "$T/m.bin" >"$T/m.trunc"
expect_exit 4 "truncated manifest rejected" "$BL" manifest check --key "$S/keys/signing.pub" "$T/m.trunc"
cp "$T/m.bin" "$T/m.bad"
printf '\x7f' | dd of="$T/m.bad" bs=1 seek=30 conv=notrunc status=none
expect_exit 4 "tampered manifest rejected" "$BL" manifest check --key "$S/keys/signing.pub" "$T/m.bad"
expect_err "signature|file|name" "tamper reason given"

# rm + gc frees only unshared chunks
expect_exit 0 "verify clean store" "${B[@]}" verify
before=$("${B[@]}" --json stats | jq .chunks)
expect_exit 0 "rm v1" "${B[@]}" image rm netboot@1
expect_exit 0 "gc" "${B[@]}" --json gc
removed=$(jq .chunks_removed "$T/out")
after=$("${B[@]}" --json stats | jq .chunks)
check "gc removed only v1's own chunks ($removed)" [ "$removed" -ge 1 ] && [ $((before - removed)) -eq "$after" ]
"${B[@]}" cat netboot@2 initrd >"$T/cat.out"
check "v2 intact after gc" cmp -s "$T/initrd2" "$T/cat.out"

# a corrupted chunk file: verify names it, cat refuses
chunk=$(find "$S/chunks" -type f -print -quit)
id=$(basename "$chunk")
printf '\x00\x01\x02' | dd of="$chunk" bs=1 seek=50 conv=notrunc status=none
expect_exit 4 "verify finds the corrupt chunk" "${B[@]}" verify
expect_err "chunk $id: content does not match|chunk $id: does not decompress" "corrupt chunk named"
rm -f "$(find "$S/chunks" -type f ! -name "$id" -print -quit)"
expect_exit 4 "verify finds a missing chunk" "${B[@]}" verify
expect_err "file missing" "missing chunk reported"
finish

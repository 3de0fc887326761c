#!/usr/bin/env bash
# Benchmark: bytes on the wire for an image update, against rsync.  v1 is
# an OS-image-like tar (~64 MiB: documentation and shared libraries from
# this machine, two pseudo-random firmware blobs); v2 is v1 after an
# update: libraries replaced by other ones, files added and removed,
# scattered small edits, a changelog grown, a patched blob.  The node
# replicates v1, then v2; its cost is the relay's down + up bytes for
# v1 -> v2 (TLS records both ways: requests, catalog, manifest, chunks).
# The peer is rsync (daemon mode, through its own relay on the same kind
# of path) turning v1 into v2 at the same file name on the node's side:
# "rsync -a --no-whole-file", and again with -z for context.  Also the
# new chunks' bytes (branchline image diff): what an ideal chunk-level
# update must move, before compression.  See tests/bench/dist_lib.sh.
#   tests/bench/update.sh      (or: tests/bench/run update)
# Environment (and dist_lib.sh's):
#   BENCH_UPDATE_RATE   tbf rate (default 100mbit)
#   BENCH_UPDATE_DELAY  relay delay per direction in ms (default 20)
# Targets (issue 4): ratio <= 1.0, ours <= 1.05 x new-chunk bytes.
set -euo pipefail
BENCH=update
. "$(dirname "$0")/dist_lib.sh"
RATE=${BENCH_UPDATE_RATE:-100mbit}
DELAY=${BENCH_UPDATE_DELAY:-20}
LIMIT=300

dl_build rsync tar
dl_trap

# --- the two versions ----------------------------------------------------
# take LIST BUDGET DEST: copy the files named in LIST (sorted paths) into
# DEST, keeping their paths, until BUDGET bytes.
take() {
	local list=$1 budget=$2 dest=$3 f sz sum=0
	while IFS= read -r f; do
		sz=$(stat -c %s "$f")
		[ $((sum + sz)) -le "$budget" ] || continue
		mkdir -p "$dest/$(dirname "${f#/}")"
		cp "$f" "$dest/${f#/}"
		sum=$((sum + sz))
	done <"$list"
}
# prng SEED BYTES: deterministic pseudo-random bytes (openssl ends on
# SIGPIPE once head has enough).
prng() {
	{ openssl enc -aes-128-ctr -nosalt -pass "pass:$1" -pbkdf2 </dev/zero 2>/dev/null || true; } |
		head -c "$2"
}
# edit FILE N: overwrite N bytes at a (seeded) random offset, as a
# rebuilt file with a new version string or timestamp would differ.
edit() {
	local f=$1 n=$2 sz off
	sz=$(stat -c %s "$f")
	[ "$sz" -gt $((n * 2)) ] || return 0
	off=$(((RANDOM * 32768 + RANDOM) % (sz - n)))
	prng "edit-$f-$off" "$n" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
mktar() { tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
	-cf "$2" -C "$1" .; }

echo "# making v1 and v2"
mkdir -p "$T/v1"
find /usr/share/doc -type f -size -2M | LC_ALL=C sort >"$T/docs"
find /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -name '*.so*' -size -8M |
	LC_ALL=C sort >"$T/libs.all"
# Every other library goes into v1; the rest are the "new versions".
awk 'NR % 2 == 1' "$T/libs.all" >"$T/libs"
awk 'NR % 2 == 0' "$T/libs.all" >"$T/libs.spare"
take "$T/docs" $((18 << 20)) "$T/v1"
take "$T/libs" $((34 << 20)) "$T/v1"
mkdir -p "$T/v1/lib/firmware"
prng fw-a $((6 << 20)) >"$T/v1/lib/firmware/blob-a.bin"
prng fw-b $((6 << 20)) >"$T/v1/lib/firmware/blob-b.bin"
cp -a "$T/v1" "$T/v2"
(
	cd "$T/v2"
	RANDOM=7
	mapfile -t libs < <(find usr/lib -type f | LC_ALL=C sort)
	mapfile -t docs < <(find usr/share/doc -type f | LC_ALL=C sort)
	nl=${#libs[@]} nd=${#docs[@]}
	xargs -d '\n' stat -c '%s %n' <"$T/libs.spare" >"$T/spare"
	# spare SIZE: the unused spare library closest in size to SIZE.
	spare() {
		local f
		f=$(awk -v s="$1" '{ d = $1 - s; if (d < 0) d = -d }
			!b || d < bd { b = 1; bd = d; p = $2 } END { print p }' "$T/spare")
		grep -vxF "$(stat -c '%s %n' "$f")" "$T/spare" >"$T/spare.new" || true
		mv "$T/spare.new" "$T/spare"
		echo "$f"
	}
	# 4 libraries upgraded: whole new contents of about the same size
	# (a rebuilt library differs almost everywhere).
	for i in 0 1 2 3; do
		f=${libs[(i * 37 + 5) % nl]}
		cp "$(spare "$(stat -c %s "$f")")" "$f"
	done
	# 2 new libraries, one new documentation directory.
	cp "$(spare 300000)" usr/lib/x86_64-linux-gnu/libnew1.so.1
	cp "$(spare 1000000)" usr/lib/x86_64-linux-gnu/libnew2.so.2
	mkdir -p usr/share/doc/branchline-new
	prng doc-new 20000 | base64 >usr/share/doc/branchline-new/changelog
	# One library and one document removed.
	rm -f "${libs[(11 * 37 + 5) % nl]}" "${docs[nd / 3]}"
	# A few scattered small edits: 4 libraries, 4 documents.
	for i in 1 2 3 4; do
		edit "${libs[(i * 53 + 3) % nl]}" 64
		edit "${docs[(i * 97 + 1) % nd]}" 32
	done
	# A changelog grows at its head (everything after it shifts).
	{ echo "branchline (2.0) stable; urgency=medium"; cat "${docs[nd / 2]}"; } >"$T/cl"
	cat "$T/cl" >"${docs[nd / 2]}"
	# A firmware blob patched in place.
	prng fw-patch 65536 | dd of=lib/firmware/blob-a.bin bs=1 seek=3000000 conv=notrunc status=none
)
mktar "$T/v1" "$T/v1.tar"
mktar "$T/v2" "$T/v2.tar"
# What changed, file by file ("Only in DIR": added when DIR is in v2).
(diff -rq "$T/v1" "$T/v2" || true) >"$T/changes"
echo "# v1 $(stat -c %s "$T/v1.tar") bytes, $(find "$T/v1" -type f | wc -l) files;" \
	"v2 $(stat -c %s "$T/v2.tar") bytes:" \
	"$(awk -v v2="$T/v2" '/^Files / { c++ } /^Only in / { if (index($3, v2) == 1) a++; else r++ }
	END { printf "%d files changed, %d added, %d removed", c, a, r }' "$T/changes")"
rm -rf "$T/v1" "$T/v2" "$T/cl"

# --- ours ----------------------------------------------------------------
dl_net "$RATE"
dl_primary
dl_relay node 9443 8443 "$DELAY"
NRPID=$RPID NRSTATS=$RSTATS
dl_upload demo "$T/v1.tar"
dl_site east --image demo@1
dl_node east
dl_wait_complete demo@1 "$LIMIT"
dl_upload demo "$T/v2.tar"
inp "$C" --store "$T/p/store" --json image diff demo@1 demo@2 >"$T/diff.json" ||
	die "image diff failed"
NEW=$(jq -r .new_bytes "$T/diff.json")
sleep 2 # the node is idle again: v1 reported, no request in flight
read -r _ d0 u0 _ < <(dl_snap "$NRPID" "$NRSTATS")
inp "$C" -q site set east --image demo@2 >"$T/set.out" 2>&1 || die "site set: $(cat "$T/set.out")"
dl_wait_complete demo@2 "$LIMIT"
read -r _ d1 u1 _ < <(dl_snap "$NRPID" "$NRSTATS")
odown=$((d1 - d0)) oup=$((u1 - u0)) ours=$((d1 - d0 + u1 - u0))
echo "# new chunks (image diff demo@1 demo@2): $(jq -r '"\(.new_chunks) of \(.to_chunks), \(.new_bytes) bytes"' "$T/diff.json")"
echo "# ours:  $ours bytes ($odown down, $oup up)"
grep "demo@2" "$T/node.log" | sed 's/^/#   node: /'

# --- rsync ---------------------------------------------------------------
mkdir -p "$T/rsrc" "$T/rdst"
ln "$T/v2.tar" "$T/rsrc/disk.img"
cat >"$T/rsyncd.conf" <<EOF
pid file = $T/rsyncd.pid
use chroot = no
uid = root
gid = root
[img]
	path = $T/rsrc
	read only = yes
EOF
ip netns exec "$NSP" rsync --daemon --no-detach --config="$T/rsyncd.conf" \
	--address="$PIP" --port=8873 --log-file="$T/rsyncd.log" &
DL_PIDS+=($!)
dl_relay rsync 9873 8873 "$DELAY"
RRPID=$RPID RRSTATS=$RSTATS
for _ in $(seq 100); do
	inp rsync "rsync://$PIP:8873/" >/dev/null 2>&1 && break
	sleep 0.1
done
# peer OPTS...: v1 at the destination, then rsync v2 onto it through
# the relay; sets PEER (down + up) and PDOWN, PUP.
peer() {
	cp "$T/v1.tar" "$T/rdst/disk.img"
	touch -d @1600000000 "$T/rdst/disk.img"
	read -r _ d0 u0 _ < <(dl_snap "$RRPID" "$RRSTATS")
	inn timeout "$LIMIT" rsync "$@" --stats "rsync://$PIP:9873/img/disk.img" \
		"$T/rdst/disk.img" >"$T/rsync.out" 2>&1 || die "rsync $*: $(tail -n 3 "$T/rsync.out")"
	read -r _ d1 u1 _ < <(dl_snap "$RRPID" "$RRSTATS")
	cmp -s "$T/rdst/disk.img" "$T/v2.tar" || die "rsync $* did not produce v2"
	PDOWN=$((d1 - d0)) PUP=$((u1 - u0)) PEER=$((d1 - d0 + u1 - u0))
	echo "# rsync $*: $PEER bytes ($PDOWN down, $PUP up);" \
		"$(grep -E '^(Literal data|Matched data)' "$T/rsync.out" | tr '\n' ' ')"
}
peer -a --no-whole-file -z
zpeer=$PEER
peer -a --no-whole-file
echo "# path:  tbf $RATE, blrelay ${DELAY} ms each way"
rn=$(ratio "$ours" "$NEW")
echo "# new chunks: ours=$ours new=$NEW ratio=$rn (target <= 1.05)"
echo "# vs rsync -z: ours=$ours peer=$zpeer ratio=$(ratio "$ours" "$zpeer")"
echo "# target: ratio <= 1.0 (against plain rsync -a)"
r=$(ratio "$ours" "$PEER")
echo "bench update vs rsync: ours=$ours peer=$PEER ratio=$r"
bench_record update "update vs rsync" "$ours" "$PEER" "$r" B "<= 1.0"
bench_record update "update vs new chunks" "$ours" "$NEW" "$rn" B "<= 1.05"

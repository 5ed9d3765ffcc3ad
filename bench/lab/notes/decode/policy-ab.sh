#!/usr/bin/env bash
# One device call (eighteenth session, issue 14): decode's split policy, A (main at 3bf5e4c: the
# waves model) against B (this tree: the bandwidth model fitted to call 128), from the
# repository root with `run`. A's decode_policy.c comes in ab-old/ (made before the call, not
# committed: mkdir ab-old && git show 3bf5e4c:api/src/decode_policy.c > ab-old/decode_policy.c); A's
# tree is this one with that file in place, built beside B's (elattn-decode-bench only).
# elattn-decode-bench, bf16 unless said, Hq 32 / Hkv 8, read flush, each set A B A B or A B:
#   in-sample  8K / 32K x 1 / 16 / 64 and 128K x 1 / 16, dense, fa-ssa:0.5 / 0.75 (call 128's)
#   new        16K / 64K x 4 / 32, dense, fa-ssa:0.25 / 0.5 / 0.75 (shapes the model was not fitted on)
#   d64        D 64, 8K / 32K x 16 / 64, fa-ssa:0.5 / 0.75
#   new4       4 new tokens a sequence, 8K / 32K x 16, dense, fa-ssa:0.75
# then the torch peers (decode_peers.py: SDPA, Flex, the serial composition) on 8K / 32K x 16 / 64,
# dense and fa-ssa:0.5 / 0.75 (the serial composition needs dense's SDPA), the rows where call 118
# had the serial composition ahead. SETS (default "ins new d64 new4") picks the sets; PEERS=0 skips
# the peers. Call 129 ran it with the defaults (its peers without dense: no serial composition).
# Output in $OUT/ab: ab.txt (one line per step: "TAG len batch mix us"), raw tables, peers/.
set -u
o=$OUT/ab; mkdir -p $o; f=$o/ab.txt
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-560} - SECONDS)); }
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
setup="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
(meson setup build-b $setup >/dev/null && ninja -C build-b -j8 elattn-libs bench/elattn-decode-bench) > $o/build-b.log 2>&1 &
bpid=$!
a=/tmp/tree-a; rm -rf $a; mkdir -p $a
tar cf - --exclude='./build*' --exclude=./ab-old . | tar xf - -C $a; cp ab-old/decode_policy.c $a/api/src/decode_policy.c
(cd $a && meson setup build-a $setup >/dev/null && ninja -C build-a -j8 elattn-libs bench/elattn-decode-bench) > $o/build-a.log 2>&1
echo "build A rc=$? at $SECONDS s: $(tail -1 $o/build-a.log | cut -c1-80)" >> $f
wait $bpid; echo "build B rc=$? at $SECONDS s: $(tail -1 $o/build-b.log | cut -c1-80)" >> $f
r() { # r TAG SIDE ARGS...
  local tag=$1 side=$2; shift 2
  local bin=build-b/bench/elattn-decode-bench n=$o/$tag-$side.txt
  [ $side = A ] && bin=$a/build-a/bench/elattn-decode-bench
  [ -f $n ] && n=$o/$tag-$side-2.txt
  [ "$(left)" -lt 30 ] && { echo "$tag $side: skipped (time)" >> $f; return; }
  timeout 60 $bin --device cuda:0 --dtype bf16 --flush read --max-time 0.15 "$@" > $n 2>&1
  local rc=$?
  sed -n '/^results/,$p' $n | grep -E '^ +[0-9]' | awk -v t="$tag-$side" '{print t, $1, $2, $3, $4, "splits=" $(NF-2)}' >> $f
  [ $rc = 0 ] || echo "$tag $side: rc $rc $(tail -2 $n | tr '\n' ' ' | cut -c1-200)" >> $f
}
M3=dense,fa-ssa:0.5,fa-ssa:0.75
has() { case " ${SETS:-ins new d64 new4} " in *" $1 "*) return 0;; esac; return 1; }
has ins && for s in A B A B; do
  r ins $s --head-dim 128 --lens 8192,32768 --batch 1,16,64 --mix $M3
  r ins128 $s --head-dim 128 --lens 131072 --batch 1,16 --mix $M3
done
has new && for s in A B; do r new $s --head-dim 128 --lens 16384,65536 --batch 4,32 --mix dense,fa-ssa:0.25,fa-ssa:0.5,fa-ssa:0.75; done
has d64 && for s in A B; do r d64 $s --head-dim 64 --lens 8192,32768 --batch 16,64 --mix fa-ssa:0.5,fa-ssa:0.75; done
has new4 && for s in A B; do r new4 $s --head-dim 128 --new 4 --lens 8192,32768 --batch 16 --mix dense,fa-ssa:0.75; done
mkdir -p $o/peers
if [ "${PEERS:-1}" = 1 ] && [ "$(left)" -gt 60 ]; then
  LENS=8192,32768 BATCHES=16,64 MIXES=dense,fa-ssa:0.5,fa-ssa:0.75 FLUSH=read BUDGET_S=$(( $(left) - 25 )) \
    timeout $(( $(left) - 10 )) python3 bench/decode_peers.py --out $o/peers > $o/peers/peers.log 2>&1
  echo "peers rc=$?" >> $f; grep -E "^ *(8192|32768) " $o/peers/peers.log | grep -v -E "refused|skipped" | cut -c1-110 | head -40 >> $f
fi
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid

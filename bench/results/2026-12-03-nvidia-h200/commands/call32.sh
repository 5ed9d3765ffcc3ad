#!/usr/bin/env bash
# Call 32 (2026-12-03, fourth session). Issue 11 goal 4: the wgmma family's consumers no longer
# walk the key tiles; the producer writes each tile's successor into a record (N, the working
# tree) against HEAD carried as .base/ (A). Checks on N (every attention case with cuda.attn.wgmma
# forced, memcheck and racecheck on the quick set), then A N A N: dense against every KV head
# BLOCK_SPARSE with every block kept (fa-xa:1 at tau 1.0) and the paper mixes, D64 and D128.
# Issue 14: the decode chunk kernel's per-block timeline (bench/lab/notes/decode/timeline-probe.patch
# on a copy of A, built with -DELATTN_DECODE_TIMELINE) at 128K and 32K, batch 1 and 16.
set -u
o=$OUT/c32; mkdir -p $o
left() { echo $((565 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
cfgA="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true"
cfgN="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true"
rm -rf /tmp/tlsrc && cp -r .base /tmp/tlsrc && (cd /tmp/tlsrc && patch -p1 < $PWD/bench/lab/notes/decode/timeline-probe.patch) > $o/patch.log 2>&1 || echo "probe patch failed"
(cd .base && meson setup ../build-A $cfgA >/dev/null && ninja -C ../build-A -j5) > $o/buildA.log 2>&1 &
(cd /tmp/tlsrc && meson setup build-T $cfgA -Dcuda_args=-DELATTN_DECODE_TIMELINE >/dev/null && ninja -C build-T -j5) > $o/buildT.log 2>&1 &
(meson setup build-N $cfgN >/dev/null && ninja -C build-N -j6) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-40) / N $(tail -1 $o/buildN.log | cut -c1-40) / T $(tail -1 $o/buildT.log | cut -c1-40)"
C=build-N/conformance/elattn-conformance
timeout $(lim 120) $C --backend cuda:0 --kernel cuda.attn.wgmma --exclude xattn/ --exclude router/ --exclude decode --no-isolate > $o/conf-wgmma.txt 2>&1; echo "conf wgmma: $(tail -1 $o/conf-wgmma.txt)"; grep FAIL $o/conf-wgmma.txt | head -3 | cut -c1-200
timeout $(lim 60) $C --backend cuda:0 --no-isolate --quick > $o/conf-quick.txt 2>&1; echo "conf quick (dispatcher): $(tail -1 $o/conf-quick.txt)"
timeout $(lim 90) compute-sanitizer --tool memcheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/memcheck.txt 2>&1; echo "memcheck: $(grep 'ERROR SUMMARY' $o/memcheck.txt | tail -1)"
timeout $(lim 90) compute-sanitizer --tool racecheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/racecheck.txt 2>&1; echo "racecheck: $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' $o/racecheck.txt | tail -1)"
args="--set paper --device cuda:0 --head-dim 64,128 --lens 8192,32768 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05"
i=0; for v in A N A N; do i=$((i+1))
  timeout $(lim 60) build-$v/bench/elattn-bench $args --dtype bf16 --mix dense,fa-xa:1 --tau 1.0 > $o/full-$v$i.txt 2>&1
  timeout $(lim 60) build-$v/bench/elattn-bench $args --dtype bf16,f16 --mix dense,fa-xa:0.75,fa-ssa:0.75 > $o/mix-$v$i.txt 2>&1
  echo "== $v$i: $(cat $o/full-$v$i.txt $o/mix-$v$i.txt | grep -E '^(bf16|f16) ' | awk '{print $1"/"$2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
done
T=/tmp/tlsrc/build-T/bench/elattn-decode-bench
for r in "ssa-128k-1 131072 1 fa-ssa:0.75" "dense-128k-1 131072 1 dense" "ssa-32k-1 32768 1 fa-ssa:0.75" "ssa-128k-16 131072 16 fa-ssa:0.75"; do
  set -- $r
  timeout $(lim 40) $T --device cuda:0 --head-dim 128 --dtype bf16 --warmup 1 --min-reps 3 --max-reps 3 --min-time 0 --lens $2 --batch $3 --mix $4 > $o/tl-$1.txt 2>&1
  echo "-- $1: $(grep -A3 '^results' $o/tl-$1.txt | grep -E '^ +[0-9]' | awk '{print $4" us"}' | tr '\n' ' ')"
  python3 bench/lab/notes/decode/timeline.py $o/tl-$1.txt | tee $o/tl-$1.summary.txt
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c32.tgz c32

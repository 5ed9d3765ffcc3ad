#!/usr/bin/env bash
# Call 34 (2026-12-03, fourth session): the tree committed for issue 11 goal 4 (N: the wgmma
# producer's key-tile records, and a 3-stage K/V ring at head dim 64) against HEAD before it (A,
# carried as .base/). N's checks: every attention case with cuda.attn.wgmma forced, memcheck and
# racecheck on the quick set. Then A N A N on the paper mixes and every block kept, D64 and D128,
# and peers.py at D64 (2 FULL KV heads of 8) for the hybrid against the serial composition.
set -u
o=$OUT/c34; mkdir -p $o
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j7) > $o/buildA.log 2>&1 &
(meson setup build-N $cfg -Dtests=true >/dev/null && ninja -C build-N -j9) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-40) / N $(tail -1 $o/buildN.log | cut -c1-40)"
C=build-N/conformance/elattn-conformance
timeout $(lim 120) $C --backend cuda:0 --kernel cuda.attn.wgmma --exclude xattn/ --exclude router/ --exclude decode --no-isolate > $o/conf-wgmma.txt 2>&1; echo "conf wgmma: $(tail -1 $o/conf-wgmma.txt)"; grep FAIL $o/conf-wgmma.txt | head -3 | cut -c1-200
timeout $(lim 90) compute-sanitizer --tool memcheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/memcheck.txt 2>&1; echo "memcheck: $(grep 'ERROR SUMMARY' $o/memcheck.txt | tail -1)"
timeout $(lim 90) compute-sanitizer --tool racecheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/racecheck.txt 2>&1; echo "racecheck: $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' $o/racecheck.txt | tail -1)"
args="--set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05"
i=0; for v in A N A N; do i=$((i+1))
  timeout $(lim 60) build-$v/bench/elattn-bench $args --mix dense,fa-xa:1 --tau 1.0 > $o/full-$v$i.txt 2>&1
  timeout $(lim 60) build-$v/bench/elattn-bench $args --mix dense,fa-ssa:0.75,fa-ssa:0.5,fa-xa:0.75 > $o/mix-$v$i.txt 2>&1
  echo "== $v$i: $(cat $o/full-$v$i.txt $o/mix-$v$i.txt | grep -E '^bf16 ' | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
done
d=$o/peers-bf16-d64-nfa2; mkdir -p $d
timeout $(lim 110) env DTYPE=bf16 D=64 NFA=2 LENS=8192,32768 OUT=$d python3 shared/tools/peers.py > $d/peers.log 2>&1
echo "peers D64 NFA2 rc=$? at $SECONDS s: $(grep -E 'S=' $d/peers.log | awk '{print $1, $(NF-8)}' | tr '\n' ';' | cut -c1-300)"
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c34.tgz c34

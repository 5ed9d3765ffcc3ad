#!/usr/bin/env bash
# Call 17 (2026-12-03): the wgmma kernel with a second Q buffer (Q = this tree +
# bench/lab/notes/wgmma-scheduler/double-q-buffer.patch) against this tree (N): wgmma-forced attention
# conformance and racecheck / memcheck on Q, N Q N Q at 8K and 32K; then issue 11's 128K row: N and Q
# (bf16, D64 and D128: dense, fa-ssa:0.75, fa-ssa:0.5) beside SDPA, Flex and the serial composition
# (peers.py, NFA 2 = fa-ssa:0.75, then NFA 4 = fa-ssa:0.5 while time is left).
set -u
o=$OUT/c17; mkdir -p $o
left() { echo $((565 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
mkdir -p /tmp/q && tar --exclude='./build*' --exclude=./.git --exclude=./.base --exclude=./shared -cf - . | tar xf - -C /tmp/q && (cd /tmp/q && git apply --unsafe-paths --directory=. $OLDPWD/bench/lab/notes/wgmma-scheduler/double-q-buffer.patch 2>&1 || patch -p1 < $OLDPWD/bench/lab/notes/wgmma-scheduler/double-q-buffer.patch) > $o/patch.log 2>&1; echo "patch: $(grep -c kQBuffers /tmp/q/kernels/gpu/attn_wgmma.cuh) kQBuffers lines"
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(meson setup build-N $cfg -Dtests=false >/dev/null && ninja -C build-N -j8) > $o/buildN.log 2>&1 &
(cd /tmp/q && meson setup build $cfg -Dtests=true >/dev/null && ninja -C build -j8) > $o/buildQ.log 2>&1; wait
echo "builds $SECONDS s: $(tail -1 $o/buildN.log | cut -c1-50) | $(tail -1 $o/buildQ.log | cut -c1-50)"
C=/tmp/q/build/conformance/elattn-conformance
timeout $(lim 90) $C --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --no-isolate > $o/conf_wgmma_Q.txt 2>&1; echo "conf attn/ wgmma Q: $(tail -1 $o/conf_wgmma_Q.txt)"; grep -E "FAIL" $o/conf_wgmma_Q.txt | head -3
timeout $(lim 60) $C --backend cuda:0 --case manyitems --no-isolate > $o/conf_many_Q.txt 2>&1; echo "conf manyitems Q: $(tail -1 $o/conf_many_Q.txt)"
timeout $(lim 100) compute-sanitizer --tool racecheck $C --backend cuda:0 --quick --kernel cuda.attn.wgmma --no-isolate > $o/racecheck_Q.txt 2>&1; echo "racecheck Q: $(grep -E 'RACECHECK SUMMARY' $o/racecheck_Q.txt | tail -1) / $(tail -1 $o/racecheck_Q.txt)"
timeout $(lim 60) compute-sanitizer --tool racecheck $C --backend cuda:0 --case manyitems --kernel cuda.attn.wgmma --no-isolate > $o/racecheck_many_Q.txt 2>&1; echo "racecheck manyitems Q: $(grep -E 'RACECHECK SUMMARY' $o/racecheck_many_Q.txt | tail -1) / $(tail -1 $o/racecheck_many_Q.txt)"
echo "checks done at $SECONDS s"
b() { [ $1 = Q ] && E=/tmp/q/build/bench/elattn-bench || E=build-N/bench/elattn-bench
  timeout $(lim 40) $E --set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens $3 --mix $4 --no-check --no-router --no-serial --max-reps $5 --min-time 0.05 > $o/bench_$1_$2.txt 2>&1
  echo "== $1 ($2)"; grep -E "^bf16" $o/bench_$1_$2.txt | awk '{print $2, $3, $4, $6}' | tr '\n' ';'; echo; }
for r in 1 2; do for v in N Q; do b $v $r 8192,32768 dense,fa-ssa:0.75,fa-ssa:1 5; done; done
for v in N Q; do b $v 128k 131072 dense,fa-ssa:0.75,fa-ssa:0.5 3; done
echo "bench done at $SECONDS s"
for cfgp in 128:2 64:2 128:4 64:4; do d=${cfgp%:*}; nfa=${cfgp#*:}; l=$(lim 95); [ "$l" -lt 40 ] && { echo "peers D$d NFA$nfa: skipped, $l s left"; continue; }
  p=$o/peers-d$d-nfa$nfa; mkdir -p $p
  timeout $l env DTYPE=bf16 D=$d NFA=$nfa LENS=131072 OUT=$p python3 shared/tools/peers.py > $p/peers.log 2>&1
  echo "peers D$d NFA$nfa rc=$? at $SECONDS s"; grep "S=" $p/peers.log | cut -c1-90
done
nvidia-smi > $o/machine.txt 2>&1; git diff > $o/working-tree.diff
cd $OUT && tar czf c17.tgz c17

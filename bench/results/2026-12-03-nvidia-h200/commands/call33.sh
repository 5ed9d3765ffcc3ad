#!/usr/bin/env bash
# Call 33 (2026-12-03, fourth session). Issue 11 goal 4: the working tree (N: the wgmma producer
# writes the key-tile records, call 32) against N3 = N + bench/lab/notes/wgmma-scheduler/three-stages.patch
# (a K/V ring of 3 stages for head dims <= 128), N N3 N N3; N3's checks (every attention case with
# cuda.attn.wgmma forced, racecheck on the quick set); ncu of N's attention kernel at D64 32K, dense
# against every block kept. Issue 14: the decode chunk kernel's per-block timeline
# (bench/lab/notes/decode/timeline-probe.patch on a copy of HEAD carried as .base/).
set -u
o=$OUT/c33; mkdir -p $o; R=$PWD
left() { echo $((565 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
cfgB="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
rm -rf /tmp/tlsrc /tmp/n3src && cp -r .base /tmp/tlsrc && (cd /tmp/tlsrc && patch -p1 < $R/bench/lab/notes/decode/timeline-probe.patch) > $o/patch-tl.log 2>&1 || echo "probe patch failed"
mkdir /tmp/n3src && git ls-files -z --cached --others --exclude-standard | grep -zv '^.base/' | xargs -0 cp --parents -t /tmp/n3src 2>/dev/null
(cd /tmp/n3src && patch -p1 < $R/bench/lab/notes/wgmma-scheduler/three-stages.patch) > $o/patch-n3.log 2>&1 || echo "three-stages patch failed"
(cd /tmp/tlsrc && meson setup build-T $cfgB -Dtests=false -Dcuda_args=-DELATTN_DECODE_TIMELINE >/dev/null && ninja -C build-T -j5) > $o/buildT.log 2>&1 &
(cd /tmp/n3src && meson setup $R/build-N3 $cfgB -Dtests=true >/dev/null && ninja -C $R/build-N3 -j6) > $o/buildN3.log 2>&1 &
(meson setup build-N $cfgB -Dtests=false >/dev/null && ninja -C build-N -j5) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: N $(tail -1 $o/buildN.log | cut -c1-40) / N3 $(tail -1 $o/buildN3.log | cut -c1-40) / T $(tail -1 $o/buildT.log | cut -c1-40)"
C=build-N3/conformance/elattn-conformance
timeout $(lim 120) $C --backend cuda:0 --kernel cuda.attn.wgmma --exclude xattn/ --exclude router/ --exclude decode --no-isolate > $o/conf-wgmma-N3.txt 2>&1; echo "conf wgmma N3: $(tail -1 $o/conf-wgmma-N3.txt)"; grep FAIL $o/conf-wgmma-N3.txt | head -3 | cut -c1-200
timeout $(lim 90) compute-sanitizer --tool racecheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/racecheck-N3.txt 2>&1; echo "racecheck N3: $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' $o/racecheck-N3.txt | tail -1)"
args="--set paper --device cuda:0 --head-dim 64,128 --lens 8192,32768 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05"
i=0; for v in N N3 N N3; do i=$((i+1))
  timeout $(lim 60) build-$v/bench/elattn-bench $args --dtype bf16 --mix dense,fa-xa:1 --tau 1.0 > $o/full-$v-$i.txt 2>&1
  timeout $(lim 60) build-$v/bench/elattn-bench $args --dtype bf16 --mix fa-xa:0.75,fa-ssa:0.75 > $o/mix-$v-$i.txt 2>&1
  echo "== $v $i: $(cat $o/full-$v-$i.txt $o/mix-$v-$i.txt | grep -E '^(bf16|f16) ' | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
done
T=/tmp/tlsrc/build-T/bench/elattn-decode-bench
for r in "ssa-128k-1 131072 1 fa-ssa:0.75" "dense-128k-1 131072 1 dense" "ssa-32k-1 32768 1 fa-ssa:0.75" "ssa-128k-16 131072 16 fa-ssa:0.75"; do
  set -- $r
  timeout $(lim 40) $T --device cuda:0 --head-dim 128 --dtype bf16 --warmup 1 --min-reps 3 --max-reps 3 --min-time 0 --lens $2 --batch $3 --mix $4 > $o/tl-$1.txt 2>&1
  echo "-- $1: $(grep -A3 '^results' $o/tl-$1.txt | grep -E '^ +[0-9]' | awk '{print $4" us"}' | tr '\n' ' ')"
  python3 bench/lab/notes/decode/timeline.py $o/tl-$1.txt > $o/tl-$1.summary.txt 2>&1; cat $o/tl-$1.summary.txt
done
for m in dense fa-xa:1; do
  timeout $(lim 60) ncu --clock-control none --kernel-name regex:^attn_kernel --launch-skip 2 --launch-count 1 --section SpeedOfLight --section WarpStateStats --section SchedulerStats build-N/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 64 --lens 32768 --no-check --no-router --no-serial --mix $m --tau 1.0 --max-reps 1 --min-time 0 > $o/ncu-N-${m%%:*}.txt 2>&1
  echo "ncu $m: $(grep -E 'Duration|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Stall (Long|Wait|Barrier|Math|MIO|Short|LG|Not)' $o/ncu-N-${m%%:*}.txt | tr -s ' ' | tr '\n' ' ' | cut -c1-600)"
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c33.tgz c33

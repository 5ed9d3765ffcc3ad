#!/usr/bin/env bash
# Written 2026-12-05 as call 97, NOT RUN: the device was refused, then paused, for the rest of that
# session. Quest's second GPU form (d04ba17) against its first, and Quest on NVIDIA's OpenCL.
# Run from the repository root with `run` (carry .p; shared/tools travels with the tree), after
#   git archive 4acca28 | tar -x -C .p --exclude=bench/results --exclude=bench/lab/notes
#   P = 4acca28 (.p/: call 96's N: one thread per page scores; the select reads keys from global memory);
#   N = the working tree (eight threads per page, lanes joined by shuffles; keys staged in shared memory).
#   1. N: Quest conformance on cuda:0 (both decode families) and hip:0, memcheck and racecheck;
#   2. P N alternating: fa-xa mixes with --page-budget 64 at 32K / 128K, batch 1 / 16; ncu durations;
#   3. the decode group on opencl:1 (NVIDIA's OpenCL driver), Quest timing there at 32K x 1.
set -u
o=$OUT/cq2; mkdir -p $o; f=$o/cq2.txt
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1
. shared/tools/nvidia-opencl.sh
cfg="-Dcuda=enabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .p && meson setup build-q2 $cfg -Dopencl=disabled -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-q2 -j6 bench/elattn-decode-bench elattn-libs) > $o/build-p.log 2>&1 &
(meson setup build-q3 $cfg -Dopencl=enabled -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null &&
  ninja -C build-q3 -j10 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build-n.log 2>&1
wait; echo "builds $SECONDS s: P $(tail -1 $o/build-p.log | cut -c1-40) / N $(tail -1 $o/build-n.log | cut -c1-40)" >> $f
b=build-q3
cf() { local n=$1 t=$2; shift 2; timeout $(lim $t) "$@" > $o/conf-$n.txt 2>&1; echo "conf $n rc=$?: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -5 | cut -c1-220 >> $f; }
cf quest-cuda 60 $b/conformance/elattn-conformance --backend cuda:0 --case decode/quest
cf quest-hip 60 $b/conformance/elattn-conformance --backend hip:0 --case decode/quest
d() { local v=$1 bin=$2 n=dec-$1-$3
  timeout $(lim 60) $bin --device cuda:0 --head-dim 128 --dtype bf16 --lens 32768,131072 --batch 1,16 --mix dense,fa-xa:0.5,fa-xa:1 --max-time 0.3 --flush read --page-budget 64 --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
P=.p/build-q2/bench/elattn-decode-bench; N=build-q3/bench/elattn-decode-bench
for r in 1 2; do d P $P r$r; d N $N r$r; done
export PATH=$PATH:/usr/local/cuda/bin
for v in P N; do bin=$P; [ $v = N ] && bin=$N
  for L in 32768 131072; do timeout $(lim 60) ncu --kernel-name regex:quest --launch-count 4 --metrics gpu__time_duration.sum $bin --device cuda:0 --head-dim 128 --dtype bf16 --lens $L --batch 1 --mix fa-xa:0.5 --page-budget 64 --warmup 0 --min-reps 1 --max-reps 2 --max-time 0.01 > $o/ncu-$v-$L.txt 2>&1
  echo "ncu $v $L x1 fa-xa:0.5: $(awk '/quest_(score|select)/ {k = ($0 ~ /score/) ? "score" : "select"} /gpu__time_duration/ {printf "%s=%s%s ", k, $NF, $(NF-1)}' $o/ncu-$v-$L.txt)" >> $f; done; done
for tool in memcheck racecheck; do timeout $(lim 60) compute-sanitizer --tool $tool $b/conformance/elattn-conformance --backend cuda:0 --case decode/quest --no-isolate > $o/$tool.txt 2>&1
  echo "$tool rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(grep -E 'conformance:' $o/$tool.txt | tail -1 | cut -c1-80)" >> $f; done
cf decode-opencl1 150 $b/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate
for x in "" "--page-budget 64"; do n=ocl-quest$(echo $x | tr -dc 0-9); [ "$(left)" -lt 30 ] && break
  timeout $(lim 60) $b/bench/elattn-decode-bench --device opencl:1 --head-dim 128 --dtype bf16 --lens 32768 --batch 1 --mix dense,fa-xa:0.5 --max-time 0.3 $x > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; done
echo "end $SECONDS s" >> $f
cd $OUT && tar czf cq2.tgz cq2 && rm -rf cq2/dec-* cq2/conf-* cq2/build* cq2/ncu-* cq2/memcheck.txt cq2/racecheck.txt cq2/ocl-*
cat $f

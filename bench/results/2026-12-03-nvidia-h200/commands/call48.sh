#!/usr/bin/env bash
# Call 48 (2026-12-03, sixth session; the session's last device seconds, so a short form of
# bench/lab/notes/xattn/warp-specialised-measure.sh): sub-step-stages.patch (B, the working tree)
# against main (A, carried as .base/): conformance xattn/ with the wgmma family forced and
# racecheck on B, then elattn-lab-xattn A B at 32K, D128 and D64. Everything goes to one file,
# $OUT/c48.txt, as it happens (the call may be cut short).
set -u
f=$OUT/c48.txt
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dlab=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j7) > $OUT/buildA.log 2>&1 &
(meson setup build-B $cfg -Dtests=true >/dev/null && ninja -C build-B -j9) > $OUT/buildB.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $OUT/buildA.log | cut -c1-30) / B $(tail -1 $OUT/buildB.log | cut -c1-30)" >> $f
C=build-B/conformance/elattn-conformance
common="--device cuda:0 --dtype bf16 --causal 1 --block 128 --tau 0.9 --stride 16 --hq 32 --hkv 8"
l() { printf "%s D%s %s: " "$1" "$2" "$3"; timeout 30 build-$1/bench/lab/elattn-lab-xattn $common --head-dim $2 --lq $3 --lk $3 --check 1 --check-len 2048 --warmup 1 --iters 5 2>&1 | grep -oE "differ=[0-9]+|ms=[0-9.]+|ms_min=[0-9.]+|tflops=[0-9.]+" | tr '\n' ' '; echo; }
{ l A 128 32k; l B 128 32k; l A 64 32k; l B 64 32k; } >> $f
timeout 40 $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --case-timeout 20 > $OUT/conf-B.txt 2>&1; echo "conf B: $(tail -1 $OUT/conf-B.txt)" >> $f
timeout 40 compute-sanitizer --tool racecheck $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --quick --no-isolate > $OUT/racecheck-B.txt 2>&1; echo "racecheck B: $(grep 'RACECHECK SUMMARY' $OUT/racecheck-B.txt | tail -1)" >> $f
{ l B 128 32k; l A 128 32k; } >> $f
cat $f

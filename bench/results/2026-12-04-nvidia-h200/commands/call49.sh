#!/usr/bin/env bash
# Call 49 (2026-12-04): three lab patches at once in B (the working tree) against main (A, carried
# as .base/), each in a kernel family of its own so that one pair of builds measures all three:
#   - bench/lab/notes/decode/l2-prefetch-variants.patch: the decode chunk kernel's cp.async with
#     an L2 prefetch-size hint, chosen at run time by ELATTN_LAB_DECODE_VARIANT (0 none = main,
#     1 L2::256B, 2 L2::128B); with elattn-decode-bench's new --flush write|read (A has it too).
#   - bench/lab/notes/xattn/mbarrier-stages.patch (XAttention estimation, wgmma family).
#   - bench/lab/notes/wgmma-scheduler/decoded-item-handover.patch (attention, wgmma family).
# Order: builds, decode timings (A, B variants; write and read flush), XAttention conformance and
# A B A B, attention conformance and A B A B, sanitizers last. Lines go to $OUT/c49.txt as they come.
set -u
o=$OUT/c49; mkdir -p $o; f=$o/c49.txt
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dlab=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j7) > $o/buildA.log 2>&1 &
(meson setup build-B $cfg -Dtests=true >/dev/null && ninja -C build-B -j9) > $o/buildB.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / B $(tail -1 $o/buildB.log | cut -c1-30)" >> $f
C=build-B/conformance/elattn-conformance
# decode
for v in 1 2; do ELATTN_LAB_DECODE_VARIANT=$v timeout $(lim 40) $C --backend cuda:0 --case decode/ > $o/conf-decode-v$v.txt 2>&1; echo "conf decode v$v: $(tail -1 $o/conf-decode-v$v.txt)" >> $f; done
d() { # tree variant flush
  local n=dec-$1$2-$3
  ELATTN_LAB_DECODE_VARIANT=$2 timeout $(lim 40) build-$1/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.3 --flush $3 > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"K x"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
d A 0 write; d A 0 read; d B 1 read; d B 2 read; d B 0 read; d B 1 read; d B 1 write; d A 0 read
# XAttention
timeout $(lim 60) $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --case-timeout 20 > $o/conf-xattn.txt 2>&1; echo "conf xattn (wgmma): $(tail -1 $o/conf-xattn.txt)" >> $f
common="--device cuda:0 --dtype bf16 --causal 1 --block 128 --tau 0.9 --stride 16 --hq 32 --hkv 8"
l() { printf "xa %s D%s %s: " "$1" "$2" "$3"; timeout $(lim 30) build-$1/bench/lab/elattn-lab-xattn $common --head-dim $2 --lq $3 --lk $3 --check 1 --check-len 2048 --warmup 1 --iters $4 2>&1 | grep -oE "differ=[0-9]+|ms=[0-9.]+|ms_min=[0-9.]+|tflops=[0-9.]+" | tr '\n' ' '; echo; }
{ for D in 128 64; do for v in A B A B; do l $v $D 32k 5; done; done; l A 128 128k 3; l B 128 128k 3; } >> $f
# attention
timeout $(lim 100) $C --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --case-timeout 10 > $o/conf-attn.txt 2>&1; echo "conf attn (wgmma): $(tail -1 $o/conf-attn.txt)" >> $f
timeout $(lim 40) $C --backend cuda:0 --case manyitems > $o/conf-manyitems.txt 2>&1; echo "conf manyitems: $(tail -1 $o/conf-manyitems.txt)" >> $f
a() { local n=attn-$1-$2
  timeout $(lim 50) build-$1/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --mix dense,fa-ssa:1,fa-ssa:0.75 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/$n.txt 2>&1
  echo "$n: $(grep -E '^bf16 ' $o/$n.txt | awk '{print "D"$2" "$3/1024"K "$4"="$6}' | tr '\n' ' ')" >> $f; }
a A 1; a B 1; a A 2; a B 2
# sanitizers on B
for t in memcheck racecheck; do for c in xattn/:cuda.xattn.wgmma attn/:cuda.attn.wgmma; do
  timeout $(lim 50) compute-sanitizer --tool $t $C --backend cuda:0 --case ${c%%:*} --kernel ${c#*:} --quick --no-isolate > $o/$t-${c%%/*}.txt 2>&1
  echo "$t ${c%%/*}: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$t-${c%%/*}.txt | tail -1) $(tail -1 $o/$t-${c%%/*}.txt | cut -c1-60)" >> $f; done; done
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c49.tgz c49

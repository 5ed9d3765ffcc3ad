#!/usr/bin/env bash
# Call 50 (2026-12-04): where fa-ssa:0.75's 128K x 1 decode step goes with a clean L2 (--flush read,
# call 49). The working tree is HEAD + bench/lab/notes/decode/timeline-probe-buffer.patch (per-block
# globaltimer records kept in device memory, printed after the launch when ELATTN_LAB_TIMELINE is
# set) + policy-env.patch (the split policy's blocks per SM and item overhead from the
# environment). Step times per policy setting, then per-block timelines (bench/lab/notes/decode/timeline.py).
set -u
o=$OUT/c50; mkdir -p $o; f=$o/c50.txt
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1
(meson setup build-T -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false -Dcuda_args=-DELATTN_DECODE_TIMELINE >/dev/null && ninja -C build-T -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-40)" >> $f
D="build-T/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --batch 1 --flush read"
s() { local n=step-$1-$2-$3
  ELATTN_LAB_DECODE_PER_CU=$1 ELATTN_LAB_DECODE_OVERHEAD=$2 timeout $(lim 40) $D --lens 32768,131072 --mix dense,fa-ssa:0.75 --max-time 0.3 > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"K "$3"="$4" items="$(NF-2)}' | tr '\n' ' ')" >> $f; }
s 2 128 a; s 1 128 a; s 2 512 a; s 2 2048 a; s 1 512 a; s 2 128 b
t() { local n=tl-$1-$2-$3-$4
  ELATTN_LAB_TIMELINE=1 ELATTN_LAB_DECODE_PER_CU=$3 ELATTN_LAB_DECODE_OVERHEAD=$4 timeout $(lim 40) $D --lens $1 --mix $2 --warmup 1 --min-reps 3 --max-reps 3 --min-time 0 > $o/$n.txt 2>&1
  python3 bench/lab/notes/decode/timeline.py $o/$n.txt > $o/$n.sum 2>&1; echo "== $n"; cat $o/$n.sum; } 
{ t 131072 fa-ssa:0.75 2 128; t 131072 fa-ssa:0.75 1 128; t 131072 dense 2 128; t 32768 dense 2 128; } >> $f 2>&1
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c50.tgz c50

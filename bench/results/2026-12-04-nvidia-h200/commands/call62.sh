#!/usr/bin/env bash
# Call 62 (2026-12-04, second session): what a decode batch costs or saves on the device: the
# working tree's elattn-decode-bench, plain runs (P) against runs with a decode batch (B,
# --decode-batch: metadata read from device memory, lengths from the cache's device copy, rather
# than in the kernel's parameters), P B P B P B at --batch 1 and at --batch 16, one process each.
set -u
o=$OUT/c62; mkdir -p $o; f=$o/c62.txt
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
(meson setup build-N -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false >/dev/null && ninja -C build-N -j16) > $o/buildN.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/buildN.log | cut -c1-30)" >> $f
d() { local n=dec-$1-b$2-$3 x=; [ $1 = B ] && x=--decode-batch
  timeout $(lim 40) build-N/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $2 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read $x > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
for r in 1 2 3; do d P 1 $r; d B 1 $r; done
for r in 1 2; do d P 16 $r; d B 16 $r; done
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c62.tgz c62

#!/usr/bin/env bash
# Call 113 (2026-12-05, thirteenth session, H100): bench/lab/notes/decode/opencl-parts-measure.sh as run; the tree: 6bd923a.
# Where a short OpenCL decode step's time goes: the working tree with opencl-skip-parts.patch.py
# (a copy, OpenCL only), one benchmark process each with nothing left out, the metadata upload left
# out (after the first run), the merge launch left out, the partial launch left out: opencl:1, bf16
# D 128, 32/8 heads, 8K / 32K x 1, dense and fa-ssa:0.75. Run from the repository root with `run`.
set -u
o=$OUT/opt; mkdir -p $o; f=$o/opt.txt
. shared/tools/nvidia-opencl.sh
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
mkdir -p .v && tar c --exclude='./build*' --exclude=./.v --exclude=./bench/results --exclude=./.git . | tar x -C .v
(cd .v && python3 bench/lab/notes/decode/opencl-skip-parts.patch.py &&
  meson setup build-v -Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dbench=true -Dtests=false >/dev/null &&
  ninja -C build-v -j16 bench/elattn-decode-bench elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
for k in none meta merge partial none; do
  ELATTN_LAB_SKIP=$k timeout 30 .v/build-v/bench/elattn-decode-bench --device opencl:1 --head-dim 128 --dtype bf16 --flush read \
    --lens 8192,32768 --batch 1 --mix dense,fa-ssa:0.75 --max-time 0.1 > $o/$k.txt 2>&1
  echo "== skip $k rc=$?" >> $f; sed -n '/^results/,$p' $o/$k.txt | grep -E '^ +[0-9]' | cut -c1-70 >> $f
done
echo "end $SECONDS s" >> $f
cat $f

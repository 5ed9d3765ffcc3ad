#!/usr/bin/env bash
# One device call (twenty-second session, issue 14): why the H200's decode table (call 149) has
# batch-1 and batch-16 dense steps 0.82-0.88x cuDNN's speed: elattn-decode-bench on cuda:0 with fixed
# split counts (--splits: every head cut into N chunks; 0: the policy's choice), bf16 D 128, read
# flush, batch 1 dense at 8K / 32K / 128K and batch 16 dense at 32K / 128K, two rounds. From the
# repository root with `run`. Output in $OUT/sp: sp.txt ("TAG len batch mix us"), raw tables.
set -u
o=$OUT/sp; mkdir -p $o; f=$o/sp.txt; : > $f
nvidia-smi --query-gpu=name,clocks.max.sm,memory.total --format=csv,noheader >> $f 2>&1
[ -f build-dec/build.ninja ] || meson setup build-dec -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a \
  -Dtests=false -Dbench=true > $o/setup.log 2>&1
ninja -C build-dec -j16 elattn-libs bench/elattn-decode-bench > $o/build.log 2>&1; echo "build rc=$? at $SECONDS s" >> $f
B=build-dec/bench/elattn-decode-bench
r() { local tag=$1; shift; timeout 80 $B --device cuda:0 --head-dim 128 --dtype bf16 --flush read --max-time 0.15 "$@" > $o/$tag.txt 2>&1
  sed -n '/^results/,$p' $o/$tag.txt | grep -E '^ +[0-9]' | awk -v t="$tag" '{print t, $1, $2, $3, $4}' >> $f; }
for round in 1 2; do
for s in 0 16 24 32 48; do r "b1-s$s" --splits $s --lens 8192,32768,131072 --batch 1 --mix dense; done
for s in 0 1 2 3 4; do r "b16-s$s" --splits $s --lens 32768,131072 --batch 16 --mix dense; done
done
echo "end $SECONDS" >> $f

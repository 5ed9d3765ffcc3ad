#!/usr/bin/env bash
# Call 74 (2026-12-04, fourth session): issue 11 goal 3 measured with every operation in the same power state.
# bench/interleaved.py times ours (dense, fa-ssa:1, 0.75, 0.5) and the peers (SDPA cuDNN dense, the serial
# cuDNN + Flex composition at 0.75 and 0.5) in turn, one run of each per round, in one process, on the same
# tensors, each run behind a GPU spin. D128 and D64, bf16, 8K / 32K / 128K. Call 73's ncu found the fused
# kernel at the sum of its parts in SM cycles, so the 32K excess of elattn-bench's x ideal is expected to go.
set -u
o=$OUT/c74; mkdir -p $o; f=$o/c74.txt
git log --oneline -1 > $o/tree.txt; git status --short >> $o/tree.txt
if ! build-ncu/bench/elattn-bench --help >/dev/null 2>&1; then
  rm -rf build-ncu
  (meson setup build-ncu -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false \
    && ninja -C build-ncu -j16 bench/elattn-bench elattn-libs) > $o/build.log 2>&1
  echo "rebuilt ($SECONDS s)" >> $f
fi
for d in 128 64; do
  pid=$(bash bench/gpu_clocks.sh start $o/clocks-d$d.csv 50)
  D=$d LENS=8192,32768,131072 OUT=$o ELATTN_LIBRARY=build-ncu/api/src PYTHONPATH=python \
    timeout 260 python3 bench/interleaved.py > $o/interleaved-d$d.txt 2>&1
  echo "== D$d rc=$?" >> $f
  bash bench/gpu_clocks.sh stop "$pid" $o/clocks-d$d.csv "interleaved D$d" >> $f
  mv $o/interleaved.json $o/interleaved-d$d.json 2>/dev/null
  grep -v "^\s*$" $o/interleaved-d$d.txt | grep -v Warning >> $f
done
cd $OUT && tar czf c74.tgz c74

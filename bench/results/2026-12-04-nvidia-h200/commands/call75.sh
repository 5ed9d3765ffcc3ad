#!/usr/bin/env bash
# Call 75 (2026-12-04, fourth session): issue 11 goals 2 and 4 in one power state (bench/interleaved.py).
# (a) ours dense against SDPA cuDNN dense, timed in turn (OPS=dense), head dims 64, 96, 128, 192, 256,
#     bf16 and fp16, 8K and 32K; (b) D128 bf16 32K and 128K with every operation, XAttention's selection
#     for fa-xa:0.75 among them, so its share of dense's time is measured in the same rounds as dense.
set -u
o=$OUT/c75; mkdir -p $o; f=$o/c75.txt
git log --oneline -1 > $o/tree.txt; git status --short >> $o/tree.txt
if ! build-ncu/bench/elattn-bench --help >/dev/null 2>&1; then
  rm -rf build-ncu
  (meson setup build-ncu -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false \
    && ninja -C build-ncu -j16 bench/elattn-bench elattn-libs) > $o/build.log 2>&1
  echo "rebuilt ($SECONDS s)" >> $f
fi
export ELATTN_LIBRARY=build-ncu/api/src PYTHONPATH=python
pid=$(bash bench/gpu_clocks.sh start $o/clocks-dense.csv 50)
for dt in bf16 f16; do
  for d in 64 96 128 192 256; do
    DTYPE=$dt D=$d OPS=dense LENS=8192,32768 ROUNDS=20 OUT=$o timeout 90 python3 bench/interleaved.py > $o/dense-$dt-d$d.txt 2>&1
    echo "== $dt D$d rc=$?" >> $f
    mv $o/interleaved.json $o/dense-$dt-d$d.json 2>/dev/null
    grep -E "^S=|^  (ours|cudnn)|TFLOP|left out|FAILED" $o/dense-$dt-d$d.txt >> $f
  done
done
bash bench/gpu_clocks.sh stop "$pid" $o/clocks-dense.csv "dense table" >> $f
pid=$(bash bench/gpu_clocks.sh start $o/clocks-all.csv 50)
D=128 LENS=32768,131072 OUT=$o timeout 200 python3 bench/interleaved.py > $o/all-d128.txt 2>&1
echo "== all D128 rc=$?" >> $f
mv $o/interleaved.json $o/all-d128.json 2>/dev/null
bash bench/gpu_clocks.sh stop "$pid" $o/clocks-all.csv "all D128" >> $f
grep -v "^\s*$" $o/all-d128.txt | grep -v "create_block_mask" >> $f
cd $OUT && tar czf c75.tgz c75

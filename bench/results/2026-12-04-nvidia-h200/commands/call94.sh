#!/usr/bin/env bash
# Call 94 (2026-12-04, sixth session): issue 11's D256 (2-3% slower than cuDNN, call 75) with key
# tiles of 80 instead of 64 (FlashAttention-3's hdim-256 tile; wgmma m64n80k16; ptxas: 88 bytes of
# consumer spills against 4 at 64).
#   A = 8e5038e (.base/);  N = the working tree (kTileN 80 at D 256).
#   1. N: conformance, every d256 attention case with cuda.attn.wgmma forced, and the d256 set
#      with the dispatcher's pick.
#   2. bench/interleaved.py (ours and SDPA cuDNN dense in turn, one process per build), D 256,
#      bf16 and fp16, 8K and 32K, causal: A, N, A, N.
set -u
o=$OUT/c94; mkdir -p $o; f=$o/c94.txt
left() { echo $((585 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup build-c94 $cfg -Dtests=false >/dev/null && ninja -C build-c94 -j6 elattn-libs) > $o/build-a.log 2>&1 &
(meson setup build-c94 $cfg -Dtests=true >/dev/null && ninja -C build-c94 -j10 elattn-libs conformance/elattn-conformance) > $o/build-n.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/build-a.log | cut -c1-40) / N $(tail -1 $o/build-n.log | cut -c1-40)" >> $f
cf() { local n=$1; shift; timeout $(lim 90) "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
cf d256-wgmma build-c94/conformance/elattn-conformance --backend cuda:0 --case /d256/ --kernel cuda.attn.wgmma
cf d256 build-c94/conformance/elattn-conformance --backend cuda:0 --case /d256/
export PYTHONPATH=python
run() { local lib=$1 tag=$2 dt=$3
  ELATTN_LIBRARY=$lib DTYPE=$dt D=256 OPS=dense LENS=8192,32768 ROUNDS=10 OUT=$o timeout $(lim 80) python3 bench/interleaved.py > $o/il-$tag-$dt.txt 2>&1
  echo "== $tag $dt rc=$?" >> $f; mv $o/interleaved.json $o/il-$tag-$dt.json 2>/dev/null
  grep -E "^S=|^  (ours|cudnn)|TFLOP|left out|FAILED|rror" $o/il-$tag-$dt.txt | head -12 >> $f; }
for dt in bf16 f16; do run .base/build-c94/api/src A1 $dt; run build-c94/api/src N1 $dt; done
for dt in bf16 f16; do run .base/build-c94/api/src A2 $dt; run build-c94/api/src N2 $dt; done
cd $OUT && tar czf c94.tgz c94 && rm -rf c94/il-* c94/conf-* c94/build*
cat $f

#!/usr/bin/env bash
# Call 63 (2026-12-04, second session): the Python KVCache and DecodeBatch on the GPU: the package's Decode
# tests on cuda:0 (host arrays), and python/examples/decode_graph_torch.py (PyTorch tensors; a batch's
# decode captured by torch.cuda.graph, replayed over 50 steps against eager decodes, both timed as
# Python sees them) at 32K x 1 and 128K x 1, fa-ssa:0.75.
set -u
o=$OUT/c63; mkdir -p $o; f=$o/c63.txt
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
(meson setup build-N -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=false -Dtests=false >/dev/null && ninja -C build-N -j16) > $o/buildN.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/buildN.log | cut -c1-30)" >> $f
ELATTN_LIBRARY=$PWD/build-N/api/src ELATTN_TEST_DEVICE=cuda:0 timeout 120 python3 -m unittest python.tests.test_elattn.Decode -v > $o/pytest-decode.txt 2>&1
echo "python Decode on cuda:0: $(tail -1 $o/pytest-decode.txt)" >> $f
for len in 32768 131072; do
  ELATTN_LIBRARY=$PWD/build-N/api/src timeout 150 python3 python/examples/decode_graph_torch.py --len $len --batch 1 > $o/graph-$len.txt 2>&1
  echo "== $len rc=$?" >> $f; tail -4 $o/graph-$len.txt >> $f
done
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c63.tgz c63

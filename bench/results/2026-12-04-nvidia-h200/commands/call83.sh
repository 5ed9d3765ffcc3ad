#!/usr/bin/env bash
# Call 83 (2026-12-04, fifth session): batch-1 dense decode against cuDNN's SDPA (issue 14: not
# slower than the best SDPA path at batch 1), with the lead (call 81's peers: cuDNN 18.0 / 41.1 /
# 129.4 us at 8K / 32K / 128K, ours 19.8 / 42.7 / 132.5 in call 82). The tree: d41925e's kernels.
#   1. elattn-decode-bench --splits N (every head N chunks) against the policy's choice (0), dense,
#      batch 1, 8K / 32K / 128K, two rounds;
#   2. decode_peers.py, batch 1, dense (SDPA's backends), with its lead, FLUSH=read.
set -u
o=$OUT/c83; mkdir -p $o; f=$o/c83.txt
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/tree.txt
(meson setup build-M -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false >/dev/null && ninja -C build-M -j16 bench/elattn-decode-bench elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-40)" >> $f
d() { local n=dec-s$1-$2-r$3
  timeout $(lim 40) build-M/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens $2 --batch 1 --mix dense --splits $1 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"K "$4" ["$6"-"$8" splits "$(NF-2)}' | tr '\n' ' ')" >> $f; }
for r in 1 2; do
  for s in 0 8 12 16 24 32; do d $s 8192 $r; done
  for s in 0 16 24 32 48 64; do d $s 32768 $r; done
  for s in 0 24 32 48 66; do d $s 131072 $r; done
done
LENS=8192,32768,131072 BATCHES=1 MIXES=dense FLUSH=read BUDGET_S=60 timeout $(lim 90) python3 bench/decode_peers.py --out $o/peers > $o/peers.txt 2>&1
echo "peers rc=$?:" >> $f; grep -E "^ +[0-9]+ +1 " $o/peers.txt | grep -E "sdpa-cudnn/gqa|sdpa-flash/gqa" | cut -c1-100 >> $f
cat $f; cd $OUT && tar czf c83.tgz c83

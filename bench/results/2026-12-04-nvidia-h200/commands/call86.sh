#!/usr/bin/env bash
# Call 86 (2026-12-04, fifth session): batch-1 decode against SDPA in one call, the peers with a 1 ms
# lead (LEAD_CYCLES 2000000: call 85's 0.1 ms left cuDNN's 8K / 32K steps noisy). The tree that
# lands (d41925e's kernels). ours, peers, ours, peers, ours.
set -u
o=$OUT/c86; mkdir -p $o; f=$o/c86.txt
left() { echo $((450 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/tree.txt
(meson setup build -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false >/dev/null && ninja -C build -j16 bench/elattn-decode-bench elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-40)" >> $f
d() { timeout $(lim 40) build/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/ours-$1.json > $o/ours-$1.txt 2>&1
  echo "ours $1: $(sed -n '/^results/,$p' $o/ours-$1.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"K "$3"="$4" ["$6"-"$8}' | tr '\n' ' ')" >> $f; }
p() { LENS=8192,32768,131072 BATCHES=1 MIXES=dense,fa-ssa:0.75 FLUSH=read BUDGET_S=80 timeout $(lim 100) python3 bench/decode_peers.py --out $o/peers-$1 > $o/peers-$1.txt 2>&1
  echo "peers $1 rc=$?:" >> $f; grep -E "^ +[0-9]+ +1 " $o/peers-$1.txt | grep -E "sdpa-cudnn/gqa|sdpa-flash/gqa|serial" | cut -c1-100 >> $f; }
d 1; p 1; d 2; p 2; d 3
cat $f; cd $OUT && tar czf c86.tgz c86

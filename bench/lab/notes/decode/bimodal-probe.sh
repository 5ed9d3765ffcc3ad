#!/usr/bin/env bash
# One device call (twenty-first session, issue 14): why 128K x 1 fa-ssa:0.5 / 0.75 steps are
# bimodal in the decode table (call 143: fa-ssa:0.5 p25 101.5, median 115.1, p75 115.8 us; call
# 131: median 102.9) while dense is not, and whether batch-1 dense gains from other split counts.
# Every rep's time printed (--samples); bf16 D 128, Hq 32 / Hkv 8, read flush.
#   pool1    128K x 1, dense / fa-ssa:0.5 / 0.75, the cache sized for batch 1 (twice)
#   pool64   128K x 1 and x 64, fa-ssa:0.5 / 0.75: the batch-1 steps in a cache sized for 64, as the
#            decode table runs them
#   nolead / noflush   pool1 without the benchmark's lead kernel / without the L2 flush
#   splits   128K x 1 dense and fa-ssa:0.5 with --splits N (every head N chunks)
#   timeline the per-block timeline (timeline-probe-v3.patch, in a copy of the tree) of 128K x 1
#            fa-ssa:0.5 and dense, and of fa-ssa:0.5 in a pool for 64, summarised per step
#            (tl_bimodal.py: the slow steps against the fast ones)
#   peers    decode_peers.py on 128K x 1 dense / fa-ssa:0.5 (cuDNN, the serial composition)
# From the repository root with `run`. Output: $OUT/bp.txt (summary), $OUT/bp.tgz (raw).
set -u
o=$OUT/bp; mkdir -p $o; f=$o/bp.txt; : > $f
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
t=/tmp/tree-tl; rm -rf $t; mkdir -p $t
tar cf - --exclude='./build*' . | tar xf - -C $t
(cd $t && git apply bench/lab/notes/decode/timeline-probe-v3.patch && meson setup build-tl $cfg \
  -Dcuda_args=-DELATTN_DECODE_TIMELINE && ninja -C build-tl -j8 elattn-libs bench/elattn-decode-bench) > $o/build-tl.log 2>&1 &
tlpid=$!
(meson setup build-p $cfg && ninja -C build-p -j8 elattn-libs bench/elattn-decode-bench) > $o/build.log 2>&1
echo "build rc=$? at $SECONDS s" >> $f
wait $tlpid; echo "build-tl rc=$? at $SECONDS s" >> $f
B=build-p/bench/elattn-decode-bench
c="--device cuda:0 --lens 131072 --flush read --max-time 0.3"
# sum TAG FILE: per config, median and the samples' spread (sorted deciles)
sum() { python3 - "$1" "$2" >> $f <<'PY'
import sys, re
tag, path = sys.argv[1], sys.argv[2]
pending = None  # a config's samples line comes before its row
for line in open(path):
    if line.startswith("samples ms:"):
        pending = [float(x) * 1000 for x in line.split()[2:]]
    elif re.match(r"^\s*131072", line) and pending:
        v, s = pending, sorted(pending)
        dec = " ".join("%.1f" % s[min(len(s) - 1, q * len(s) // 10)] for q in range(0, 11))
        seq = "".join("H" if x > (s[0] + s[-1]) / 2 else "l" for x in v[:60])
        print("%s | %s | n %d | deciles %s | order %s" % (tag, " ".join(line.split()[:3]), len(v), dec, seq))
        pending = None
PY
}
for k in 1 2; do
  $B $c --batch 1 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --samples > $o/pool1-$k.txt 2>&1; sum pool1-$k $o/pool1-$k.txt
  $B $c --batch 1,64 --mix fa-ssa:0.5,fa-ssa:0.75 --samples > $o/pool64-$k.txt 2>&1; sum pool64-$k $o/pool64-$k.txt
done
$B $c --batch 1 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --samples --lead-tokens 0 > $o/nolead.txt 2>&1; sum nolead $o/nolead.txt
$B $c --batch 1 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --samples --flush-mib 0 > $o/noflush.txt 2>&1; sum noflush $o/noflush.txt
for s in 16 17 20 24 32 33; do
  $B $c --batch 1 --mix dense,fa-ssa:0.5 --splits $s --samples > $o/splits$s.txt 2>&1; sum splits$s $o/splits$s.txt
done
echo "ours done at $SECONDS s" >> $f
# the per-block timeline (timeline-probe-v3.patch; its dump kernels run after each step, so the
# benchmark's own times mean nothing here: tl_bimodal.py takes each step's span from the stamps)
for m in fa-ssa:0.5 dense; do
  ELATTN_LAB_TIMELINE=1 timeout 90 $t/build-tl/bench/elattn-decode-bench $c --batch 1 --mix $m --min-reps 60 --max-reps 60 \
    --max-time 5 > $o/tl-${m/:/}.txt 2>&1
  echo "timeline 128K x 1 $m (rc $?):" >> $f; python3 bench/lab/notes/decode/tl_bimodal.py $o/tl-${m/:/}.txt >> $f 2>&1
done
ELATTN_LAB_TIMELINE=1 timeout 90 $t/build-tl/bench/elattn-decode-bench $c --batch 1,64 --mix fa-ssa:0.5 --min-reps 60 \
  --max-reps 60 --max-time 5 > $o/tl-pool64.txt 2>&1
echo "timeline 128K x 1 fa-ssa:0.5 in a pool for 64 (rc $?; its batch-1 steps):" >> $f
awk '{print} /^ *131072 +1 /{exit}' $o/tl-pool64.txt > $o/tl-pool64-b1.txt
python3 bench/lab/notes/decode/tl_bimodal.py $o/tl-pool64-b1.txt >> $f 2>&1
gzip $o/tl-*.txt
echo "timeline done at $SECONDS s" >> $f
LENS=131072 BATCHES=1 MIXES=dense,fa-ssa:0.5 FLUSH=read timeout 150 python3 bench/decode_peers.py --out $o/peers > $o/peers.log 2>&1
grep -E "sdpa-cudnn/gqa|serial" $o/peers.log >> $f
echo "end at $SECONDS s" >> $f
cp $f $OUT/bp.txt; tar czf $OUT/bp.tgz -C $OUT bp && rm -rf $o

#!/usr/bin/env bash
# One device call (twenty-first session, issue 14), after call 144 (bimodal-probe.sh): its pool-64
# runs had 128K x 1 fa-ssa:0.75's first ~25 reps 12-17% slow, right after the previous config's
# cache was freed, and dense 128K x 1 was 4 us faster without the benchmark's lead.
#   settle  elattn-decode-bench --lens 128K --batch 1,64 --mix dense,fa-ssa:0.5,fa-ssa:0.75 (the
#           table's order: each mix's cache sized for 64, made after the last one was freed), every
#           rep printed: --settle-s 0 (none, as before) against the new default 0.25, A B A B
#   lead    ours at 128K x 1 dense / fa-ssa:0.5 with the lead (8192 tokens) and without; the torch
#           peers (decode_peers.py) there with LEAD=sleep (its default) and LEAD=attention (causal SDPA
#           over 8192 tokens, one head: the kind of lead ours runs)
# From the repository root with `run`. Output: $OUT/sl.txt (summary), $OUT/sl.tgz (raw).
set -u
o=$OUT/sl; mkdir -p $o; f=$o/sl.txt; : > $f
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
(meson setup build-p -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false \
  && ninja -C build-p -j16 elattn-libs bench/elattn-decode-bench) > $o/build.log 2>&1
echo "build rc=$? at $SECONDS s" >> $f
B=build-p/bench/elattn-decode-bench
c="--device cuda:0 --lens 131072 --flush read --max-time 0.3"
# sum TAG FILE: per config, the samples' deciles and which reps were in the upper half of the range
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
        print("%s | %s | n %d | median %.1f | deciles %s | order %s" % (tag, " ".join(line.split()[:3]), len(v),
              s[len(s) // 2], dec, seq))
        pending = None
PY
}
for k in 1 2; do
  for side in 0 0.25; do
    $B $c --batch 1,64 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --samples --settle-s $side > $o/settle$side-$k.txt 2>&1
    sum "settle $side ($k)" $o/settle$side-$k.txt
  done
done
for k in 1 2; do
  $B $c --batch 1 --mix dense,fa-ssa:0.5 --samples > $o/lead-$k.txt 2>&1; sum "lead 8192 ($k)" $o/lead-$k.txt
  $B $c --batch 1 --mix dense,fa-ssa:0.5 --samples --lead-tokens 0 > $o/nolead-$k.txt 2>&1; sum "no lead ($k)" $o/nolead-$k.txt
done
echo "ours done at $SECONDS s" >> $f
for lead in sleep attention; do
  LEAD=$lead LENS=131072 BATCHES=1 MIXES=dense,fa-ssa:0.5 FLUSH=read timeout 120 python3 bench/decode_peers.py \
    --out $o/peers-$lead > $o/peers-$lead.log 2>&1
  echo "peers LEAD=$lead (rc $?):" >> $f; grep -E "sdpa-cudnn/gqa|sdpa-flash/gqa|serial|Error|error" $o/peers-$lead.log | head -6 >> $f
done
echo "end at $SECONDS s" >> $f
cp $f $OUT/sl.txt; tar czf $OUT/sl.tgz -C $OUT sl && rm -rf $o

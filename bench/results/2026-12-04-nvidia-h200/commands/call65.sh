#!/usr/bin/env bash
# Call 65 (2026-12-04, third session): (1) the widened decode_batch_check (every decode family on
# fp32 / fp16 / bf16 at D 64 and 128) on cuda:0 and hip:0 (HIP through nvcc): meson tests
# decode-graph and decode-batch-hip; (2) what the SM clock and the power draw do while dense D128
# bf16 causal runs at 32K and 128K, ours (elattn-bench) and cuDNN (SDPA), one process each, with
# nvidia-smi sampling every 20 ms (issue 11 goal 1: our 128K rate is below our 32K rate).
set -u
o=$OUT/c65; mkdir -p $o; f=$o/c65.txt
git log --oneline -1 > $o/tree.txt; git status --short >> $o/tree.txt
(meson setup build-N -Dcuda=enabled -Dopencl=disabled -Dhip=enabled -Dhip_platform=nvidia -Dnvcc_arch=sm_90a -Dbench=true -Dtests=true >/dev/null && ninja -C build-N -j16) > $o/buildN.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/buildN.log | cut -c1-40)" >> $f
(cd build-N && timeout 240 meson test decode-graph decode-batch-hip --print-errorlogs) > $o/mtest.txt 2>&1
grep -E "^ *[0-9]+/[0-9]+ " $o/mtest.txt >> $f
cp build-N/meson-logs/testlog.txt $o/testlog.txt 2>/dev/null
echo "tests done $SECONDS s" >> $f
R=clocks_event_reasons.active
nvidia-smi --query-gpu=$R --format=csv >/dev/null 2>&1 || R=clocks_throttle_reasons.active
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,power.limit,temperature.gpu,$R --format=csv -lms 20 > $o/smi.csv 2>&1 &
SMI=$!
sleep 1
mark() { echo "$1 $(date +%Y/%m/%d\ %H:%M:%S.%N)" >> $o/marks.txt; }
cat > $o/cudnn.py <<'PY'
import sys, torch, torch.nn.functional as F
from torch.nn.attention import sdpa_kernel, SDPBackend
S, reps = int(sys.argv[1]), int(sys.argv[2])
q = torch.randn(1, 32, S, 128, device="cuda", dtype=torch.bfloat16)
k = torch.randn(1, 8, S, 128, device="cuda", dtype=torch.bfloat16)
v = torch.randn(1, 8, S, 128, device="cuda", dtype=torch.bfloat16)
flop = 4 * 32 * S * S * 128 / 2
with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
    F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True); torch.cuda.synchronize()
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
    ev[0].record()
    for i in range(reps):
        F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True); ev[i + 1].record()
    torch.cuda.synchronize()
ms = [ev[i].elapsed_time(ev[i + 1]) for i in range(reps)]
print(f"cudnn S={S} per rep ms:", " ".join(f"{m:.3f}" for m in ms), f"| TFLOP/s first {flop/ms[0]/1e9:.0f} last {flop/ms[-1]/1e9:.0f}")
PY
B=build-N/bench/elattn-bench
for S in 32768 131072; do
  reps=$([ $S = 32768 ] && echo 40 || echo 8)
  mark "ours-$S-start"
  timeout 60 $B --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens $S --mix dense --no-check --no-router --no-serial --min-reps $reps --max-reps $reps --min-time 0 >> $o/bench.txt 2>&1
  mark "ours-$S-end"; sleep 2
  mark "cudnn-$S-start"
  timeout 60 python3 $o/cudnn.py $S $reps >> $o/cudnn.txt 2>&1
  mark "cudnn-$S-end"; sleep 2
done
kill $SMI
grep -E "dense|ms" $o/bench.txt | tail -6 >> $f; cat $o/cudnn.txt >> $f
# clock summary per marked span
python3 - $o >> $f <<'PY'
import sys, csv, datetime
o = sys.argv[1]
marks = [l.split(" ", 1) for l in open(o + "/marks.txt").read().split("\n") if l]
t = lambda s: datetime.datetime.strptime(s.strip()[:26], "%Y/%m/%d %H:%M:%S.%f")
rows = []
for r in csv.reader(open(o + "/smi.csv")):
    try: rows.append((t(r[0]), float(r[1].split()[0]), float(r[3].split()[0]), r[6].strip()))
    except Exception: pass
for i in range(0, len(marks) - 1, 2):
    a, b = t(marks[i][1]), t(marks[i + 1][1])
    sel = [x for x in rows if a <= x[0] <= b]
    if not sel: print(marks[i][0], "no samples"); continue
    busy = [x for x in sel if x[2] > 300]
    cl = sorted(x[1] for x in busy) or [0]; pw = sorted(x[2] for x in busy) or [0]
    print(f"{marks[i][0][:-6]}: {len(sel)} samples, {len(busy)} over 300 W; sm clock MHz min {cl[0]:.0f} median {cl[len(cl)//2]:.0f} max {cl[-1]:.0f}; power W median {pw[len(pw)//2]:.0f} max {pw[-1]:.0f}; reasons {sorted(set(x[3] for x in busy))}")
PY
cat $f; cd $OUT && tar czf c65.tgz c65

#!/usr/bin/env bash
# Call 70 (2026-12-04, third session): is call 69's D128 32K hybrid excess over its ideal a clock effect?
# Each mix in its own process after 3 s of idle, two rounds (dense, fa-ssa:1, fa-ssa:0.75, fa-ssa:0.5),
# the SM clock sampled and summarised per process; then peers.py (NFA 2: the serial composition for
# fa-ssa:0.75) at 32K D128 bf16, after the same idle.
set -u
o=$OUT/c70; mkdir -p $o; f=$o/c70.txt
git log --oneline -1 > $o/tree.txt; git status --short >> $o/tree.txt
(meson setup build-N -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false >/dev/null && ninja -C build-N -j16) > $o/buildN.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/buildN.log | cut -c1-40)" >> $f
pid=$(bash bench/gpu_clocks.sh start $o/clocks.csv 20)
mark() { echo "$1 $(date +%Y/%m/%d\ %H:%M:%S.%N)" >> $o/marks.txt; }
for round in 1 2; do
  for mix in dense fa-ssa:1 fa-ssa:0.75 fa-ssa:0.5; do
    sleep 3; mark "r$round-$mix-start"
    timeout 60 build-N/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens 32768 --mix $mix \
      --no-check --no-router --no-serial --min-reps 5 --max-reps 5 --min-time 0 > $o/bench-r$round-$mix.txt 2>&1
    mark "r$round-$mix-end"
    echo "r$round $(grep -E '^bf16 ' $o/bench-r$round-$mix.txt | awk '{print $4, $6, $7, $8, $9, $10}')" >> $f
  done
done
sleep 3; mark "peers-start"
NFA=2 LENS=32768 D=128 DTYPE=bf16 OUT=$o timeout 200 python3 shared/tools/peers.py > $o/peers.log 2>&1
mark "peers-end"
kill $pid
grep -E "S= *32768" $o/peers.log >> $f
python3 - $o >> $f <<'PY'
import sys, datetime, statistics
o = sys.argv[1]
t = lambda s: datetime.datetime.strptime(s.strip()[:26], "%Y/%m/%d %H:%M:%S.%f")
marks = [l.split(" ", 1) for l in open(o + "/marks.txt").read().split("\n") if l]
rows = []
for line in open(o + "/clocks.csv"):
    f = [x.strip() for x in line.split(",")]
    try: rows.append((t(f[0]), float(f[2]), float(f[3])))
    except Exception: pass
for i in range(0, len(marks) - 1, 2):
    a, b = t(marks[i][1]), t(marks[i + 1][1])
    sel = [r for r in rows if a <= r[0] <= b]
    busy = sorted(r[1] for r in sel if r[2] > 250)  # the power reading lags and averages: a rough mark
    cl = sorted(r[1] for r in sel)
    print(f"{marks[i][0][:-6]}: {len(sel)} samples, SM clock MHz min {cl[0] if cl else 0:.0f}; {len(busy)} over 250 W: "
          f"clock median {statistics.median(busy) if busy else 0:.0f}; power max {max((r[2] for r in sel), default=0):.0f} W")
PY
cat $f; cd $OUT && tar czf c70.tgz c70

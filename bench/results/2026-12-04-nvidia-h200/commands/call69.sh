#!/usr/bin/env bash
# Call 69 (2026-12-04, third session): issue 11 goal 3's "within 5% of the ideal": the hybrid against the
# time of its FULL heads alone plus its STREAMING heads alone, each at its own rate, all ours from one
# process: dense (8 FULL KV heads), fa-ssa:1 (8 STREAMING), fa-ssa:0.75 and fa-ssa:0.5, D 64 and 128, bf16,
# 8K / 32K / 128K; the SM clock sampled beside it (bench/gpu_clocks.sh).
set -u
o=$OUT/c69; mkdir -p $o; f=$o/c69.txt
git log --oneline -1 > $o/tree.txt; git status --short >> $o/tree.txt
(meson setup build-N -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false >/dev/null && ninja -C build-N -j16) > $o/buildN.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/buildN.log | cut -c1-40)" >> $f
pid=$(bash bench/gpu_clocks.sh start $o/clocks.csv)
timeout 400 build-N/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768,131072 \
  --mix dense,fa-ssa:1,fa-ssa:0.75,fa-ssa:0.5 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 \
  --json $o/bench.json > $o/bench.txt 2>&1
bash bench/gpu_clocks.sh stop "$pid" $o/clocks.csv bench >> $f
grep -E "^bf16 " $o/bench.txt >> $f
# ideal(f) = (1 - f) x dense + f x fa-ssa:1 (the FULL heads' share at the dense rate, the STREAMING heads' at theirs)
python3 - $o/bench.json >> $f <<'PY'
import json, sys
t = {}
for r in json.load(open(sys.argv[1]))["cases"]:
    if r.get("status") == "ok" and r.get("fused"): t[(r["head_dim"], r["S"], r["mix"])] = r["fused"]["median_ms"]
for (D, S, mix), ms in sorted(t.items()):
    if not mix.startswith("fa-ssa:") or mix == "fa-ssa:1": continue
    f = float(mix.split(":")[1]); dense = t.get((D, S, "dense")); stream = t.get((D, S, "fa-ssa:1"))
    if dense is None or stream is None: continue
    ideal = (1 - f) * dense + f * stream
    print(f"D{D} S={S} {mix}: {ms:.4g} ms, ideal {ideal:.4g} ms ((1-f) x dense {dense:.4g} + f x fa-ssa:1 {stream:.4g}): {ms / ideal:.3f} x ideal")
PY
cat $f; cd $OUT && tar czf c69.tgz c69

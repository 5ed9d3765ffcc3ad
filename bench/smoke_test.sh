#!/usr/bin/env bash
# Smoke test of the benchmark (meson test bench-smoke):
#   smoke_test.sh PATH/TO/elattn-bench OUTPUT_DIR
# Runs every mix on the reference device at a tiny size, joins the result with a
# sample peers file, and checks the JSON, CSV, table and (with matplotlib) plots.
set -euo pipefail
bench=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out"
mkdir -p "$out"

"$bench" --device reference --lens 256,384 --heads 4:2 --head-dim 64 --mix all --block 32 --stride 8 \
    --sink 16 --local 64 --min-reps 1 --min-time 0 --warmup 0 --rotate-mib 1 --lead-tokens 64 \
    --json "$out/ours.json" --csv "$out/ours.csv" >"$out/stdout.txt"

python3 - "$out" <<'PY'
import csv, json, sys
out = sys.argv[1]
doc = json.load(open(f"{out}/ours.json"))
cases = doc["cases"]
# dense + 3 pairs x fractions {0.5, 1}: 0.75 x 2 KV heads is not whole, so --mix all keeps 0.5 and 1.
mixes = {c["mix"] for c in cases}
assert len(cases) == 2 * 7, (len(cases), sorted(mixes))
for c in cases:
    assert c["status"] == "ok", c
    assert c["lead_tokens"] == 64, c  # --lead-tokens: each timed run behind an untimed lead
    f = c["fused"]
    assert f["reps"] >= 1 and 0 < f["min_ms"] <= f["median_ms"] <= f["max_ms"], c
    assert c["visible_pairs"] > 0 and c["tflops"] > 0 and c["kernel"], c
    S, D, hq = c["S"], c["head_dim"], c["hq"]
    causal = hq * S * (S + 1) / 2
    assert c["visible_pairs"] <= causal + 1e-6, c
    if c["pair"] == "dense":
        assert c["visible_pairs"] == causal and c["omega_msr"] == 0 and c["omega_esr"] == 0, c
        assert c["speedup_vs_dense"] == 1.0, c
    else:
        assert c["speedup_vs_dense"] > 0, c
    # Serial dispatch exists exactly when two modes are present, and agrees with the fused call.
    two_modes = c["pair"] != "dense" and c["sparse_frac"] < 1
    assert (c["serial"] is not None) == two_modes, c
    if two_modes:
        assert c["check_rel_err"] is not None and c["check_rel_err"] <= 1e-2, c
    uses_xa = (c["pair"] == "fa-xa") or (c["pair"] == "xa-ssa" and c["sparse_frac"] < 1)
    assert (c["xattn"] is not None) == uses_xa and (c["block"] == 32) == uses_xa, c
    assert c["router"] is not None, c
    # Streaming heads alone: pruned fraction known in closed form.
    if c["pair"] == "fa-ssa" and c["sparse_frac"] == 1:
        sink, local = c["sink"], c["local"]
        pairs = sum(min(p + 1, local) + min(sink, max(0, p + 1 - local)) for p in range(S))
        assert abs(c["omega_esr"] - (1 - pairs / (S * (S + 1) / 2))) < 1e-9, c
        assert c["visible_pairs"] == hq * pairs, c
# The ideal of a fa-ssa mix (output.c, report_ideals): (1 - f) x dense + f x fa-ssa:1, per length;
# no other mix has one.
for c in cases:
    if c["pair"] == "fa-ssa" and 0 < c["sparse_frac"] < 1:
        same = {x["mix"]: x["fused"]["median_ms"] for x in cases if x["S"] == c["S"]}
        f = c["sparse_frac"]
        want = (1 - f) * same["dense"] + f * same["fa-ssa:1"]
        assert abs(c["ideal_ms"] - want) <= 1e-9 * want, (c, want)
        assert abs(c["x_ideal"] - c["fused"]["median_ms"] / want) <= 1e-9, c
    else:
        assert c["ideal_ms"] is None and c["x_ideal"] is None, c
rows = list(csv.DictReader(open(f"{out}/ours.csv")))
assert len(rows) == len(cases) and all(r["status"] == "ok" for r in rows)
assert [r["ideal_ms"] != "" for r in rows] == [c["ideal_ms"] is not None for c in cases], rows
print(f"bench smoke: {len(cases)} cases ok")
PY

# The ideal at a fraction that is not 1/2 (4 KV heads, fa-ssa:0.75), so that its two weights are told apart.
"$bench" --device reference --lens 256 --heads 4:4 --head-dim 64 --mix dense,fa-ssa:1,fa-ssa:0.75 --sink 16 --local 64 \
    --min-reps 1 --min-time 0 --warmup 0 --rotate-mib 1 --no-serial --no-router --json "$out/ideal.json" >"$out/ideal.txt"
python3 - "$out" <<'PY'
import json, sys
t = {c["mix"]: c for c in json.load(open(f"{sys.argv[1]}/ideal.json"))["cases"]}
d, s, h = (t[m]["fused"]["median_ms"] for m in ("dense", "fa-ssa:1", "fa-ssa:0.75"))
want = 0.25 * d + 0.75 * s
assert abs(t["fa-ssa:0.75"]["ideal_ms"] - want) <= 1e-9 * want, (t["fa-ssa:0.75"], want)
print(f"bench smoke: ideal {want:.4g} ms = 0.25 x dense {d:.4g} + 0.75 x fa-ssa:1 {s:.4g}")
PY
grep -q "fa-ssa:0.75: .* its ideal" "$out/ideal.txt"

# --causal 0: every query sees every key; dense's pair count and dense-equivalent rate follow.
"$bench" --device reference --lens 256 --heads 4:2 --head-dim 64 --mix dense,fa-ssa:0.5 --block 32 --stride 8 \
    --sink 16 --local 64 --min-reps 1 --min-time 0 --warmup 0 --rotate-mib 1 --causal 0 \
    --json "$out/noncausal.json" >"$out/noncausal.txt"
grep -q "non-causal" "$out/noncausal.txt"
python3 - "$out" <<'PY'
import json, sys
cases = json.load(open(f"{sys.argv[1]}/noncausal.json"))["cases"]
assert len(cases) == 2, cases
for c in cases:
    assert c["status"] == "ok" and c["causal"] == 0, c
    S, hq = c["S"], c["hq"]
    if c["pair"] == "dense":
        assert c["visible_pairs"] == hq * S * S, c
        assert abs(c["dense_equiv_tflops"] - c["tflops"]) <= 1e-9 * c["tflops"], c
    else:
        assert 0 < c["visible_pairs"] < hq * S * S, c
        assert c["check_rel_err"] is not None and c["check_rel_err"] <= 1e-2, c
print("bench smoke: non-causal ok")
PY

# The bench must not report a broken kernel as measured: the reference's fault
# kernels write a NaN into O / drop the block mask; both must fail the run.
for fault in nan mask; do
    set +e
    "$bench" --device reference --lens 256 --heads 4:2 --head-dim 64 --mix fa-xa:0.5 --block 32 --stride 8 \
        --min-reps 1 --min-time 0 --warmup 0 --no-router --kernel "reference.attn.fault_$fault" >"$out/fault-$fault.txt"
    rc=$?
    set -e
    if [ "$rc" -ne 1 ] || ! grep -q "error: " "$out/fault-$fault.txt"; then
        echo "bench smoke: fault kernel reference.attn.fault_$fault was not reported as an error (rc $rc)"
        cat "$out/fault-$fault.txt"
        exit 1
    fi
done
echo "bench smoke: fault kernels reported as errors"

peers="$out/peers.json"
cat >"$peers" <<'JSON'
[{"name": "sdpa-flash dense", "S": 256, "ms": 1.0, "dense_equiv_tflops": 1.0, "note": ""},
 {"name": "flex hybrid (one launch)", "S": 256, "ms": 1.0, "dense_equiv_tflops": 1.0, "note": "nfa=1/2"}]
JSON
# A clock sample file as bench/gpu_clocks.sh writes it (timestamp, index, SM MHz, W, limit W, reasons).
printf '%s\n' "2026/12/04 13:14:34.150, 0, 1620, 690.00, 700.00, 0x0000000000000004" \
    "2026/12/04 13:14:34.170, 0, 1980, 100.00, 700.00, 0x0000000000000000" >"$out/clocks-bench.csv"
python3 "$here/join_peers.py" --ours "$out/ours.json" --peers "$peers" --results-root "$out/results" \
    --clocks "bench reference=$out/clocks-bench.csv" --name smoke >"$out/join.txt"
table="$out/results/smoke/table.md"
for f in table.md ours.json peers.json meta.json; do
    test -s "$out/results/smoke/$f" || { echo "join_peers.py did not write $f"; exit 1; }
done
# The sample peers have other shapes than ours: the join must say so, not invent a match.
grep -q "No case of ours has the peers' shapes" "$table"
grep -q "fa-ssa:0.5" "$table"
grep -q "^- bench reference: gpu 0: 1 of 2 samples busy; SM clock MHz min 1620 median 1620 max 1620" "$table"
grep -q '"bench reference: gpu 0: 1 of 2 samples busy' "$out/results/smoke/meta.json"
if python3 -c 'import matplotlib' 2>/dev/null; then
    ls "$out"/results/smoke/time_vs_S_*.png "$out"/results/smoke/speedup_vs_S_*.png >/dev/null
    echo "bench smoke: plots written"
else
    echo "bench smoke: matplotlib missing, plots not checked"
fi
echo "bench smoke: join ok ($table)"

#!/usr/bin/env python3
"""Side-by-side of two elattn-bench JSON files from one device call: ours and a
baseline build (bench/device_run.sh, BASELINE_TREE). Prints a Markdown table of
the fused-kernel medians per case and their ratio, and the largest slowdown.

    python3 bench/compare_runs.py OURS.json BASELINE.json [--limit 0.03]

Exit status 1 when a case measured in both is slower than the baseline by more
than --limit (a fraction; default 0.03), 0 otherwise.
"""
import argparse
import json
import sys


def key(case):
    return (case["device"], case["dtype"], case["head_dim"], case["hq"], case["hkv"], case["S"], case["mix"])


def fused_ms(case):
    f = case.get("fused") or {}
    return f.get("median_ms") if case.get("status") == "ok" else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ours")
    ap.add_argument("baseline")
    ap.add_argument("--limit", type=float, default=0.03)
    a = ap.parse_args()
    ours = {key(c): c for c in json.load(open(a.ours))["cases"]}
    base = {key(c): c for c in json.load(open(a.baseline))["cases"]}
    print("| device | shape | S | mix | ours ms | baseline ms | ours / baseline | kernel (ours) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    worst = None
    for k in sorted(ours, key=lambda k: (k[0], k[1], k[2], k[5], k[6])):
        o, b = fused_ms(ours[k]), fused_ms(base[k]) if k in base else None
        ratio = o / b if o and b else None
        if ratio and (worst is None or ratio > worst[0]):
            worst = (ratio, k)
        shape = f"{k[1]} D{k[2]} {k[3]}/{k[4]}"
        cell = lambda x: f"{x:.3f}" if x else "-"
        print(f"| {k[0]} | {shape} | {k[5]} | {k[6]} | {cell(o)} | {cell(b)} | "
              f"{f'{ratio:.3f}' if ratio else '-'} | {ours[k].get('kernel', '')} |")
    if worst is None:
        print("\nno case measured in both runs")
        return 1
    print(f"\nlargest ratio ours / baseline: {worst[0]:.3f} ({worst[1][6]} at S={worst[1][5]}); limit {1 + a.limit:.3f}")
    return 1 if worst[0] > 1 + a.limit else 0


if __name__ == "__main__":
    sys.exit(main())

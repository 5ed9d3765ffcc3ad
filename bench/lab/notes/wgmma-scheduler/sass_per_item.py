#!/usr/bin/env python3
"""Splits two ncu SASS stall-sample exports of the same kernel (same build) by how often each
instruction runs per computed key tile: once per tile, once per item, or rarer.

    python3 sass_per_item.py dense.csv.gz TILES_DENSE other.csv.gz TILES_OTHER

The CSVs are `ncu -i REP --page source --csv --print-source sass` (gzipped). TILES_*: key tiles
the launch computed (bench/results/2026-12-03-nvidia-h200, call 45: 1052672 for dense bf16 D128
32K, Hq 32; 142560 for fa-ssa:1). Prints the stall samples per tile of each class for both, then
the per-item code regions of the second launch with their largest stall reasons.
"""
import collections
import csv
import gzip
import sys


def load(path):
    rows = list(csv.reader(gzip.open(path, "rt")))
    hdr, data = rows[1], rows[2:]
    col = {h: i for i, h in enumerate(hdr)}
    reasons = [h for h in hdr if h.startswith("stall_") and "Not Issued" not in h]
    base = int(data[0][0], 16)
    out = []
    for r in data:
        out.append(dict(off=int(r[0], 16) - base, src=r[1].strip(),
                        samples=int(r[col["Warp Stall Sampling (All Samples)"]] or 0),
                        executed=int(r[col["Instructions Executed"]] or 0),
                        reasons={k[6:]: int(r[col[k]] or 0) for k in reasons}))
    return out


def main():
    a, ta, b, tb = load(sys.argv[1]), int(sys.argv[2]), load(sys.argv[3]), int(sys.argv[4])
    assert len(a) == len(b), "not the same kernel binary"
    classes = collections.defaultdict(lambda: [0.0, 0.0])
    for x, y in zip(a, b):
        ex, ey = x["executed"] / ta, y["executed"] / tb
        if x["executed"] == 0 and y["executed"] == 0:
            c = "never"
        elif ex >= 1.0 and ey >= 1.0:
            c = "per tile"
        elif 0.3 <= ey < 1.0 and ex < 0.15:
            c = "per item"  # 8 consumer warps per item: ~8 / tiles-per-item executions per tile
        else:
            c = "other"
        classes[c][0] += x["samples"] / ta
        classes[c][1] += y["samples"] / tb
    print("samples per computed tile:  class  first  second")
    for c, (sa, sb) in sorted(classes.items()):
        print(f"  {c:10s} {sa:.3f} {sb:.3f}")
    # per-item regions of the second launch: runs of per-item instructions
    regions, cur = [], None
    for y in b:
        if 0.3 <= y["executed"] / tb < 1.0:
            if cur is None:
                cur = [y["off"], y["off"], 0.0, collections.Counter()]
            cur[1] = y["off"]
            cur[2] += y["samples"] / tb
            cur[3].update(y["reasons"])
        elif cur is not None and y["off"] - cur[1] > 0x100:
            regions.append(cur)
            cur = None
    if cur is not None:
        regions.append(cur)
    print("per-item regions of the second launch (offsets, samples per tile, top stall reasons):")
    for lo, hi, s, rs in sorted(regions, key=lambda r: -r[2])[:10]:
        top = ", ".join(f"{k} {v / tb:.4f}" for k, v in rs.most_common(3))
        print(f"  {lo:6x}-{hi:6x} {s:.4f}  {top}")


if __name__ == "__main__":
    main()

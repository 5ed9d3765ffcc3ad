#!/usr/bin/env python3
"""Summarise the decode chunk kernel's per-block timeline (timeline-probe.patch, built with
-DELATTN_DECODE_TIMELINE): one 'TL block smid seq head mode chunk tiles t0 t1 t2 t3' line per
block, globaltimer ns at the block's start (t0), its first tile in shared memory (t1), the end of
its walk (t2) and the end of its store or merge (t3). Launches are told apart by gaps in t0; the
last complete launch is summarised: where its span goes, per mode, and its slowest blocks. With
timeline-probe-merge-launch.patch the merge launch's working blocks print 'TMK item slice smid
start waited end' lines: those of the summarised launch are given in us from its first t0.

usage: timeline.py FILE [FILE...]"""
import sys


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def summary(name, rows, merges=()):
    base = min(r["t0"] for r in rows)
    end = max(r["t3"] for r in rows)
    span = (end - base) / 1000.0
    print(f"== {name}: {len(rows)} blocks on {len(set(r['sm'] for r in rows))} SMs, span {span:.1f} us")
    def us(x):
        return x / 1000.0
    for label, key in (("start (t0 - first t0)", lambda r: r["t0"] - base),
                       ("first tile (t1 - t0)", lambda r: r["t1"] - r["t0"]),
                       ("walk (t2 - t1)", lambda r: r["t2"] - r["t1"]),
                       ("store/merge (t3 - t2)", lambda r: r["t3"] - r["t2"]),
                       ("end (t3 - first t0)", lambda r: r["t3"] - base)):
        for mode in sorted(set(r["mode"] for r in rows)):
            xs = [key(r) for r in rows if r["mode"] == mode]
            print(f"  {label:24s} mode {mode}: n {len(xs):4d}  min {us(min(xs)):7.2f}  p50 {us(pct(xs, .5)):7.2f}  "
                  f"p90 {us(pct(xs, .9)):7.2f}  max {us(max(xs)):7.2f}")
    per_tile = [(r["t2"] - r["t1"]) / max(1, r["tiles"] - 1) for r in rows if r["tiles"] > 1]
    if per_tile:
        print(f"  walk per tile (us): p10 {us(pct(per_tile, .1)):.3f} p50 {us(pct(per_tile, .5)):.3f} "
              f"p90 {us(pct(per_tile, .9)):.3f}")
    busy = {}
    for r in rows:
        busy.setdefault(r["sm"], []).append(r)
    counts = {}
    for sm, rs in busy.items():
        counts[len(rs)] = counts.get(len(rs), 0) + 1
    print(f"  blocks per SM: {dict(sorted(counts.items()))}")
    # how many blocks are still running at each tenth of the span
    marks = []
    for k in range(1, 11):
        t = base + (end - base) * k / 10.0
        marks.append(sum(1 for r in rows if r["t0"] <= t < r["t3"]))
    print(f"  blocks running at each tenth of the span: {marks}")
    mine = [m for m in merges if base <= m["start"] <= end + 100000]
    if mine:
        def span3(key):
            xs = [us(m[key] - base) for m in mine]
            return f"{min(xs):7.2f} .. {max(xs):7.2f}"
        print(f"  merge launch, {len(mine)} working blocks (us from the first t0): start {span3('start')}, "
              f"waited {span3('waited')}, end {span3('end')}")
    print("  the last 6 blocks to end (block sm seq head mode chunk tiles | t0 t1 t2 t3 in us from the first t0):")
    for r in sorted(rows, key=lambda r: r["t3"])[-6:]:
        print(f"    {r['block']:4d} {r['sm']:3d} {r['seq']:3d} {r['head']:2d} {r['mode']} {r['chunk']:3d} {r['tiles']:3d} | "
              f"{us(r['t0'] - base):6.2f} {us(r['t1'] - base):6.2f} {us(r['t2'] - base):6.2f} {us(r['t3'] - base):6.2f}")


def main():
    for path in sys.argv[1:]:
        rows, merges = [], []
        for line in open(path, errors="replace"):
            f = line.split()
            if len(f) == 7 and f[0] == "TMK":
                v = list(map(int, f[1:]))
                merges.append(dict(item=v[0], slice=v[1], sm=v[2], start=v[3], waited=v[4], end=v[5]))
            if len(f) == 12 and f[0] == "TL":
                v = list(map(int, f[1:]))
                rows.append(dict(block=v[0], sm=v[1], seq=v[2], head=v[3], mode=v[4], chunk=v[5], tiles=v[6],
                                 t0=v[7], t1=v[8], t2=v[9], t3=v[10]))
        if not rows:
            print(f"== {path}: no TL lines")
            continue
        rows.sort(key=lambda r: r["t0"])
        launches, cur = [], [rows[0]]
        for r in rows[1:]:
            if r["t0"] - cur[-1]["t0"] > 20000:  # 20 us without a block starting: the next launch
                launches.append(cur)
                cur = [r]
            else:
                cur.append(r)
        launches.append(cur)
        size = max(len(l) for l in launches)
        full = [l for l in launches if len(l) == size]
        summary(f"{path} (launch {len(launches)} of {len(launches)}, {len(full)} complete)", full[-1], merges)


if __name__ == "__main__":
    main()

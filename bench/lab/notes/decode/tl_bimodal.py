#!/usr/bin/env python3
"""Per-step summary of the decode chunk kernel's per-block timeline (timeline-probe-v3.patch),
to tell the slow steps of a bimodal config from its fast ones: for each step (a 'TLN blocks'
line, then its 'TL block sm seq head mode chunk tiles merged t0 tp t1 t2 t3 t4' lines) its span
(the first t0 to the last t4), how its blocks sat on the SMs (SMs used, SMs holding two blocks),
and its slowest block; then the steps split at the middle of their spans' range, each group's
medians. usage: tl_bimodal.py FILE"""
import sys
from collections import Counter


def med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("nan")


def steps(path):
    cur = None
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "TLN":
            if cur:
                yield cur
            cur = []
        elif f[0] == "TL" and cur is not None and len(f) == 15:
            v = [int(x) for x in f[1:]]
            cur.append(dict(block=v[0], sm=v[1], seq=v[2], head=v[3], mode=v[4], chunk=v[5], tiles=v[6],
                            merged=v[7], t0=v[8], tp=v[9], t1=v[10], t2=v[11], t3=v[12], t4=v[13]))
    if cur:
        yield cur


def describe(rows):
    base = min(r["t0"] for r in rows)
    end = max(r["t4"] for r in rows)
    per_sm = Counter(r["sm"] for r in rows)
    # two blocks on an SM at once: their [t0, t4] intervals overlap
    by_sm = {}
    for r in rows:
        by_sm.setdefault(r["sm"], []).append((r["t0"], r["t4"]))
    shared = sum(1 for iv in by_sm.values() if len(iv) > 1 and max(a for a, _ in iv) < min(b for _, b in iv))
    last = max(rows, key=lambda r: r["t4"])
    start_spread = (max(r["t0"] for r in rows) - base) / 1e3
    walk = {m: med([(r["t2"] - r["t1"]) / 1e3 for r in rows if r["mode"] == m]) for m in set(r["mode"] for r in rows)}
    first = med([(r["t1"] - r["t0"]) / 1e3 for r in rows])
    last_shared = len(by_sm[last["sm"]]) > 1
    return dict(span=(end - base) / 1e3, blocks=len(rows), sms=len(per_sm), shared=shared, start_spread=start_spread,
                first=first, walk=walk, last_mode=last["mode"], last_sm_shared=last_shared,
                last_start=(last["t0"] - base) / 1e3, last_walk=(last["t2"] - last["t1"]) / 1e3)


def main():
    ds = [describe(s) for s in steps(sys.argv[1]) if s]
    if not ds:
        print("no steps")
        return
    ds = ds[1:] if len(ds) > 1 else ds  # the first dump may hold the warm-up's records
    spans = [d["span"] for d in ds]
    cut = (min(spans) + max(spans)) / 2
    print("steps %d, span min %.1f median %.1f max %.1f us; order: %s" % (
        len(ds), min(spans), med(spans), max(spans), "".join("H" if s > cut else "l" for s in spans[:80])))
    for name, grp in (("fast", [d for d in ds if d["span"] <= cut]), ("slow", [d for d in ds if d["span"] > cut])):
        if not grp:
            continue
        walks = {}
        for d in grp:
            for m, w in d["walk"].items():
                walks.setdefault(m, []).append(w)
        print("  %s: %d steps | span %.1f | blocks %d on %d SMs, %d SMs with two at once | starts within %.1f | "
              "first tile %.2f | walk by mode %s | last block: mode %s, shared SM %d/%d, started %.1f, walked %.1f" % (
                  name, len(grp), med([d["span"] for d in grp]), med([d["blocks"] for d in grp]),
                  med([d["sms"] for d in grp]), med([d["shared"] for d in grp]), med([d["start_spread"] for d in grp]),
                  med([d["first"] for d in grp]), {m: round(med(w), 1) for m, w in sorted(walks.items())},
                  Counter(d["last_mode"] for d in grp).most_common(1)[0][0],
                  sum(d["last_sm_shared"] for d in grp), len(grp), med([d["last_start"] for d in grp]),
                  med([d["last_walk"] for d in grp])))


if __name__ == "__main__":
    main()

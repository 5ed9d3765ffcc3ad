#!/usr/bin/env python3
"""The grid model of the OpenCL tiled decode (api/src/decode_policy.c, ELATTN_DECODE_MODEL_GRID),
fitted to a chunk-sweep.sh summary (twenty-second session, issue 14). Pure Python, ~2 minutes:

  grid_fit.py CS_TXT fit     grid search of residency K, pace constant k0, start cost, fixed time
  grid_fit.py CS_TXT pick    the library's small candidate set (the waves model's choice 'auto',
                             the window S = 2176 and 1.5 S's cut, measured as C=3072) against the
                             fastest measured length, per shape

Model: work-groups in grid order (entry-major; empty chunks skipped), K on a compute unit at once,
the next starting on the unit with the fewest running; a unit running n gives each 1 / (n + k0) of
a work-group's pace; a work-group costs its slots plus the start cost. Call 133's 'auto' rows were
the waves model's choices, whose chunk counts are listed in AUTO (from decode_policy.c at 6045c63).
Call 133 (bench/results/2026-12-06-nvidia-h100/call133-decode-chunk-sweep-opencl/cs.txt): best
K 2, k0 2.2, start 220, T0 10, rms log error 0.046 on the 161 points of at most 2,200 work-groups.
"""
import collections
import math
import sys

WINDOW = 2176
STREAMING = {'dense': 0, 'fa-ssa:0.5': 4, 'fa-ssa:0.75': 6}
AUTO = {(8192, 1, 'dense'): (32, 32), (8192, 1, 'fa-ssa:0.5'): (31, 8), (8192, 1, 'fa-ssa:0.75'): (32, 8),
        (8192, 16, 'dense'): (2, 2), (8192, 16, 'fa-ssa:0.5'): (3, 1), (8192, 16, 'fa-ssa:0.75'): (7, 2),
        (8192, 64, 'dense'): (1, 1), (8192, 64, 'fa-ssa:0.5'): (1, 1), (8192, 64, 'fa-ssa:0.75'): (1, 1),
        (32768, 1, 'dense'): (32, 32), (32768, 1, 'fa-ssa:0.5'): (60, 4), (32768, 1, 'fa-ssa:0.75'): (107, 8),
        (32768, 16, 'dense'): (2, 2), (32768, 16, 'fa-ssa:0.5'): (4, 1), (32768, 16, 'fa-ssa:0.75'): (7, 1),
        (32768, 64, 'dense'): (1, 1), (32768, 64, 'fa-ssa:0.5'): (1, 1), (32768, 64, 'fa-ssa:0.75'): (2, 1)}


def read(path):
    d = collections.defaultdict(dict)
    for line in open(path):
        p = line.split()
        if p and p[0].startswith('C='):
            d[(int(p[1]), int(p[2]), p[3])][p[0][2:]] = float(p[4])
    return d


def items(shape, c):
    """Work-group lengths in grid order for chunk length c ('auto': the waves model's counts)."""
    length, batch, mix = shape
    ns, out = STREAMING[mix], []
    for _ in range(batch):
        for h in range(8):
            streaming = h >= 8 - ns
            s = WINDOW if streaming else length
            if c == 'auto':
                n = AUTO[shape][1 if streaming else 0]
            else:
                n = max(1, min(-(-s // int(c)), max(s // 256, 1), 256))
            per = -(-s // n)
            out += [min(per, s - per * k) for k in range(n) if per * k < s]
    return out


def simulate(its, units, k, k0, start):
    run, cnt, t, it = [[] for _ in range(units)], [0] * units, 0.0, iter(its)
    nxt = next(it, None)

    def fill():
        nonlocal nxt
        while nxt is not None:
            m = min(range(units), key=lambda s: (cnt[s], s))
            if cnt[m] >= k:
                break
            run[m].append(nxt + start)
            cnt[m] += 1
            nxt = next(it, None)
    fill()
    while any(cnt):
        dt = min(min(run[s]) * (cnt[s] + k0) for s in range(units) if cnt[s])
        t += dt
        for s in range(units):
            if cnt[s]:
                run[s] = [x - dt / (cnt[s] + k0) for x in run[s] if x - dt / (cnt[s] + k0) > 1e-9]
                cnt[s] = len(run[s])
        fill()
    return t


def points(d, most=2200):
    return [(k, c, v, its) for k, r in d.items() for c, v in r.items() for its in [items(k, c)] if len(its) <= most]


def fit(d):
    pts, res = points(d), []
    for k in (2, 3, 4):
        for k0 in (1.5, 2.2, 3.0):
            for start in (150, 220, 300):
                ts = [simulate(its, 132, k, k0, start) for (_, _, _, its) in pts]
                for t0 in (8, 10, 12):
                    lr = [math.log(max(p[2] - t0, 1)) - math.log(t) for p, t in zip(pts, ts)]
                    off = sum(lr) / len(lr)
                    res.append((math.sqrt(sum((x - off) ** 2 for x in lr) / len(lr)), k, k0, start, t0))
    res.sort()
    for r in res[:5]:
        print('rms log error %.3f: K %d, k0 %.1f, start %d, T0 %d' % r)
    _, k, k0, start, _ = res[0]
    worst = 1.0
    for shape in sorted(d):
        cand = [(c, v, simulate(its, 132, k, k0, start)) for (s, c, v, its) in pts if s == shape]
        pick, best = min(cand, key=lambda x: x[2]), min(cand, key=lambda x: x[1])
        worst = max(worst, pick[1] / best[1])
    print('%d points; the measured length ranked fastest over the fastest measured: worst %.3f' % (len(pts), worst))


def pick(d, k=2, k0=2.2, start=220):
    worst = 1.0
    for shape, r in sorted(d.items()):
        cands = ['auto'] + (['2176', '3072'] if STREAMING[shape[2]] else [])
        c = min(cands, key=lambda c: simulate(items(shape, c), 132, k, k0, start))
        best = min(r.values())
        worst = max(worst, r[c] / best)
        print('%6d x %-3d %-12s pick C=%-5s %8.1f  waves %8.1f  best %8.1f  pick/best %.2f' %
              (shape + (c, r[c], r['auto'], best, r[c] / best)))
    print('worst pick/best %.3f' % worst)


if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[2] not in ('fit', 'pick'):
        sys.exit(__doc__)
    (fit if sys.argv[2] == 'fit' else pick)(read(sys.argv[1]))

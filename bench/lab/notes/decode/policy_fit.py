#!/usr/bin/env python3
"""Fits decode's split-policy models to measured steps (eighteenth session, issue 14).

Input: a chunk-sweep.sh summary (cs.txt: "C=<chunk slots or auto> <len> <batch> <mix> <us>"), the
decode table's shapes (Hkv 8, sink + local = 2176 slots for a STREAMING head, 132 SMs).

  policy_fit.py cuda   CS_TXT fit        grid search of the bandwidth model (api/src/decode_policy.c)
  policy_fit.py cuda   CS_TXT pick B S O MERGE T0   its choice per shape against the fastest C
  policy_fit.py cuda   CS_TXT sens       worst and mean pick / best over S, start cost, merge
  policy_fit.py opencl CS_TXT fit        the same model with the OpenCL grid's order, and a variant
                                         with a saturating aggregate rate (neither fitted: 11% rms)

Model (the library's, decode_policy.c's comment): items start in list order on W machines; all
running items progress at one rate; time x B = slots and start costs + sum over the S latest machine
ends of (last end - end). B is the device's rate in slots/us; T0 a fixed time per step; MERGE a cost in
slots when any head is cut. Call 128 (cuda:0): S 99-100, start cost 48 picks within 1% of the best
length on every shape; call 133 (opencl:1): no fit.
"""
import collections
import heapq
import math
import sys

SMS, W_CUDA, WINDOW = 132, 264, 2176
MIXES = {'dense': 8, 'fa-ssa:0.5': 4, 'fa-ssa:0.75': 2}


def read(path):
    d = collections.defaultdict(dict)
    for line in open(path):
        if line.startswith('C='):
            c, length, batch, mix, us = line.split()
            d[(int(length), int(batch), mix)][c[2:]] = float(us)
    return d


def entries(length, batch, mix):
    full = MIXES[mix]
    return [length if h < full or length < WINDOW else WINDOW for _ in range(batch) for h in range(8)]


def chunks_of(slots, chunk, length):
    cap = min(-(-length // 256), 2 * W_CUDA, 256)  # elattn_decode_policy_init's splits
    return max(1, min(-(-slots // chunk), slots // 256, cap))


def cuda_items(ent, chunk, length):
    """gpu_decode.cu's work list: chunk 0 of each cut head, their other chunks, the whole heads."""
    cut = [(s, chunks_of(s, chunk, length)) for s in ent]
    items = [s / c for s, c in cut if c > 1]
    items += [s / c for s, c in cut if c > 1 for _ in range(c - 1)]
    items += [s for s, c in cut if c == 1]
    return items, any(c > 1 for _, c in cut)


def opencl_items(ent, chunk, length):
    """opencl_decode.c's grid: entry-major, every head given the step's largest chunk count (None:
    a work-group past its head's chunks, which returns at once)."""
    cs = [chunks_of(s, chunk, length) for s in ent]
    most = max(cs)
    return [s / c if k < c else None for s, c in zip(ent, cs) for k in range(most)], most > 1


def list_schedule(items, machines, start, empty=8.0):
    ends, total = [], 0.0
    for x in items:
        w = empty if x is None else x + start
        total += w
        if len(ends) < machines:
            heapq.heappush(ends, w)
        else:
            heapq.heapreplace(ends, ends[0] + w)
    return total, sorted(ends, reverse=True)


def bandwidth_time(items, machines, s, start):
    total, ends = list_schedule(items, machines, start)
    top = (ends + [0.0] * s)[:s]
    return total + sum(top[0] - e for e in top)


def saturating_time(items, machines, rate, half, start):
    """The aggregate rate with k running: SMS * rate * x / (x + half), x = k / SMS."""
    _, ends = list_schedule(items, machines, start)
    ends.append(0.0)
    t = 0.0
    for k in range(1, len(ends)):
        x = k / SMS
        t += (ends[k - 1] - ends[k]) * k / (SMS * rate * x / (x + half))
    return t


def predict(kind, shape, chunk, p):
    length, batch, mix = shape
    ent = entries(length, batch, mix)
    if kind == 'cuda':
        b, s, start, merge, t0 = p
        s = int(s)
        items, cut = cuda_items(ent, int(chunk), length)
        return t0 + (bandwidth_time(items, W_CUDA, s, start) + (merge if cut else 0)) / b
    if kind == 'opencl':
        b, w, s, start, t0 = p
        w, s = int(w), int(s)
        items, _ = opencl_items(ent, int(chunk), length)
        return t0 + bandwidth_time(items, w, s, start) / b
    w, rate, half, start, t0 = p  # opencl-saturating
    w = int(w)
    items, _ = opencl_items(ent, int(chunk), length)
    return t0 + saturating_time(items, w, rate, half, start)


def lengths(d):
    return sorted({c for r in d.values() for c in r if c != 'auto'}, key=int)


def loss(kind, d, p):
    return sum(math.log(predict(kind, k, c, p) / d[k][c]) ** 2 for k in d for c in lengths(d))


def picks(kind, d, p, show=False):
    worst, logs = 1.0, []
    for k in sorted(d):
        pred = {c: predict(kind, k, c, p) for c in lengths(d)}
        pick = min(pred, key=pred.get)
        best = min(lengths(d), key=lambda c: d[k][c])
        q = d[k][pick] / d[k][best]
        worst, logs = max(worst, q), logs + [math.log(q)]
        if show:
            print('%6d x %-3d %-12s auto %8.1f  pick C=%-6s %8.1f  best C=%-6s %8.1f  pick/best %.3f' %
                  (k + (d[k].get('auto', float('nan')), pick, d[k][pick], best, d[k][best], q)))
    return worst, math.exp(sum(logs) / len(logs))


def grid(kind):
    if kind == 'cuda':
        return [(b, s, o, m, t) for b in (6000, 6200) for s in (80, 100, 120, 140) for o in (32, 48, 64)
                for m in (0, 12000, 24000, 36000) for t in (5, 7, 9)]
    if kind == 'opencl':
        return [(b, w * SMS, s, o, t) for b in (4500, 5000) for w in (4, 8, 12) for s in (150, 260, 400, 600)
                for o in (16, 64, 256) for t in (10, 15) if s <= w * SMS]
    return [(w * SMS, r, h, o, t) for w in (8, 12) for r in (40, 50, 60) for h in (0.5, 1, 2, 4)
            for o in (16, 64, 256) for t in (8, 12, 16)]


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ('cuda', 'opencl'):
        sys.exit(__doc__)
    kind, d, what = sys.argv[1], read(sys.argv[2]), sys.argv[3]
    n = sum(len(lengths(d)) for _ in d)
    if what == 'fit':
        for k in ([kind] if kind == 'cuda' else ['opencl', 'opencl-saturating']):
            best = min(grid(k), key=lambda p: loss(k, d, p))
            rms = math.sqrt(loss(k, d, best) / n)
            print('%s: best %s, rms log error %.3f, pick/best worst %.3f, mean %.4f' %
                  ((k, best, rms) + picks(k, d, best)))
    elif what == 'pick':
        print('pick/best worst %.3f, mean %.4f' % picks(kind, d, tuple(float(x) for x in sys.argv[4:9]), True))
    elif what == 'sens':
        for s in (60, 80, 100, 120, 140, 180, 264):
            for o in (16, 32, 48, 64, 96):
                for m in (0, 24000):
                    print('S %3d start %2d merge %5d: pick/best worst %.3f, mean %.4f' %
                          ((s, o, m) + picks(kind, d, (6100, s, o, m, 7))))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()

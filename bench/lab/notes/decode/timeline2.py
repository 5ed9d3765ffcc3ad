#!/usr/bin/env python3
"""Summarise the decode step's per-block timeline from timeline-probe-v2.patch (a build with
-DELATTN_DECODE_TIMELINE, run with ELATTN_LAB_TIMELINE set). After each step the probe prints
(times are %globaltimer ns):

  TLN blocks                  the chunk launch's grid (cuda.decode.mma), then per block:
  TL block sm seq head mode chunk tiles merged t0 tp t1 t2 t3 t4
      t0 block start, tp prologue's first copies issued, t1 first tile in shared memory,
      t2 end of the walk, t3 rows stored (one chunk) or arrival counted, t4 end of the block
      (after its in-block merge when merged is 1, else t3)
  TMN items                   when the step has a merge launch (items x 8 blocks), then per
  TMK item slice sm start waited end   working merge block: start, end of its wait on the row
                                       tile's arrival count, end

The last complete step of each file is summarised: per phase and mode, min / p50 / p90 / max in
us; the span from the first t0 to the last t4 and to the merge launch's last end; how many blocks
run at the middle of each tenth of the span. Per tile is (t2 - t1) / (tiles - 1) over blocks of
2+ tiles (t1 is the first tile's arrival), as in timeline.py. Standard library only.

usage: timeline2.py FILE [FILE...]"""
import sys

MODES = {0: "FULL", 1: "STREAM", 2: "SPARSE"}
TL_FIELDS = ("block", "sm", "seq", "head", "mode", "chunk", "tiles", "merged", "t0", "tp", "t1", "t2", "t3", "t4")
TMK_FIELDS = ("item", "slice", "sm", "start", "waited", "end")
MAX_RECORDS = 8192  # DECODE_TL_BLOCKS: blocks past it keep no record


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def us(ns):
    return ns / 1000.0


def parse(path):
    """The file's steps: dicts of blocks (the TLN count), rows (TL), merge_items (TMN) and merges (TMK)."""
    steps = []
    for line in open(path, errors="replace"):
        f = line.split()
        if not f or f[0] not in ("TLN", "TL", "TMN", "TMK"):
            continue
        try:
            v = [int(x) for x in f[1:]]
        except ValueError:
            continue  # a line cut by other output
        if f[0] == "TLN" and len(v) == 1:
            steps.append(dict(blocks=v[0], rows=[], merge_items=None, merges=[]))
        elif not steps:
            continue  # the output began inside a dump
        elif f[0] == "TL" and len(v) == len(TL_FIELDS):
            steps[-1]["rows"].append(dict(zip(TL_FIELDS, v)))
        elif f[0] == "TMN" and len(v) == 1:
            steps[-1]["merge_items"] = v[0]
        elif f[0] == "TMK" and len(v) == len(TMK_FIELDS):
            steps[-1]["merges"].append(dict(zip(TMK_FIELDS, v)))
    return steps


def whole(r):
    return 0 < r["t0"] <= r["tp"] <= r["t1"] <= r["t2"] <= r["t3"] <= r["t4"]


def complete(step):
    rows = step["rows"]
    if not rows or len(rows) != min(step["blocks"], MAX_RECORDS) or not all(whole(r) for r in rows):
        return False
    if step["merge_items"] is not None:
        return bool(step["merges"]) and all(0 < m["start"] <= m["waited"] <= m["end"] for m in step["merges"])
    return True


def table_row(label, group, xs):
    if not xs:
        return
    print(f"  {label:30s} {group:6s} {len(xs):5d} {us(min(xs)):8.2f} {us(pct(xs, .5)):8.2f} "
          f"{us(pct(xs, .9)):8.2f} {us(max(xs)):8.2f}")


def summary(name, step, index, count, complete_count):
    rows, merges = step["rows"], step["merges"]
    base = min(r["t0"] for r in rows)
    chunk_end = max(r["t4"] for r in rows)
    end = max([chunk_end] + [m["end"] for m in merges])
    modes = sorted(set(r["mode"] for r in rows))
    per_mode = ", ".join(f"{MODES.get(m, m)} {sum(1 for r in rows if r['mode'] == m)}" for m in modes)
    print(f"== {name}: step {index} of {count} ({complete_count} complete), {len(rows)} chunk blocks "
          f"({per_mode}; {sum(r['merged'] for r in rows)} merged in-block) on {len(set(r['sm'] for r in rows))} SMs")
    span = f"  span: first t0 -> last t4 {us(chunk_end - base):.2f} us"
    if merges:
        span += (f"; -> merge launch's last end {us(end - base):.2f} us "
                 f"({step['merge_items']} items, {len(merges)} working merge blocks)")
    print(span)
    print(f"  {'phase (us)':30s} {'mode':6s} {'n':>5s} {'min':>8s} {'p50':>8s} {'p90':>8s} {'max':>8s}")
    phases = (
        ("t0 spread (t0 - first t0)", lambda r: r["t0"] - base, lambda r: True),
        ("t0->tp (meta, first pages)", lambda r: r["tp"] - r["t0"], lambda r: True),
        ("tp->t1 (first tile in)", lambda r: r["t1"] - r["tp"], lambda r: r["tiles"] > 0),
        ("t1->t2 per tile", lambda r: (r["t2"] - r["t1"]) / (r["tiles"] - 1), lambda r: r["tiles"] > 1),
        ("t2->t3 (store, count)", lambda r: r["t3"] - r["t2"], lambda r: True),
        ("t3->t4 (in-block merge)", lambda r: r["t4"] - r["t3"], lambda r: r["merged"]),
        ("t4 (end - first t0)", lambda r: r["t4"] - base, lambda r: True),
    )
    for label, value, keep in phases:
        for m in modes:
            table_row(label, MODES.get(m, str(m)), [value(r) for r in rows if r["mode"] == m and keep(r)])
    if merges:
        # A merge item is work item `item`, chunk 0 of its head: the head's chunks are the TL rows of
        # its (seq, head) (all its row tiles together: one at batch 1).
        head_of = {r["block"]: (r["seq"], r["head"]) for r in rows}
        last_count = {}
        for r in rows:
            key = (r["seq"], r["head"])
            last_count[key] = max(last_count.get(key, 0), r["t3"])
        after = [m["waited"] - last_count[head_of[m["item"]]] for m in merges if m["item"] in head_of]
        table_row("merge start (- first t0)", "merge", [m["start"] - base for m in merges])
        table_row("merge wait (waited - start)", "merge", [m["waited"] - m["start"] for m in merges])
        table_row("wait end - head's last t3", "merge", after)
        table_row("merge work (end - waited)", "merge", [m["end"] - m["waited"] for m in merges])
        table_row("merge end (- first t0)", "merge", [m["end"] - base for m in merges])
    mids = [base + (end - base) * (k + 0.5) / 10.0 for k in range(10)]
    running = [sum(1 for r in rows if r["t0"] <= t < r["t4"]) for t in mids]
    line = f"  running at the middle of each tenth of the span: chunk {running}"
    if merges:
        line += f", merge {[sum(1 for m in merges if m['start'] <= t < m['end']) for t in mids]}"
    print(line)
    per_sm = {}
    for r in rows:
        per_sm[r["sm"]] = per_sm.get(r["sm"], 0) + 1
    hist = {}
    for n in per_sm.values():
        hist[n] = hist.get(n, 0) + 1
    print(f"  chunk blocks per SM (blocks: SMs): {dict(sorted(hist.items()))}")
    print("  last 5 chunk blocks to end (block sm seq head mode chunk tiles merged | t0 tp t1 t2 t3 t4,"
          " us from the first t0):")
    for r in sorted(rows, key=lambda r: r["t4"])[-5:]:
        ts = " ".join(f"{us(r[k] - base):6.2f}" for k in ("t0", "tp", "t1", "t2", "t3", "t4"))
        print(f"    {r['block']:5d} {r['sm']:3d} {r['seq']:3d} {r['head']:3d} {MODES.get(r['mode'], r['mode']):6s} "
              f"{r['chunk']:3d} {r['tiles']:4d} {r['merged']} | {ts}")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    for path in sys.argv[1:]:
        steps = parse(path)
        done = [i for i, s in enumerate(steps) if complete(s)]
        if not done:
            print(f"== {path}: {len(steps)} steps, none complete (no TLN/TL lines, or records not whole)")
            continue
        i = done[-1]
        summary(path, steps[i], i + 1, len(steps), len(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())

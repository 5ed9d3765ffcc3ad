#!/usr/bin/env python3
"""Summary of a bench/gpu_clocks.sh sample file: per GPU, the busy samples' SM clock, power and
how often the power cap was among the clock-event reasons (see gpu_clocks.sh)."""
import argparse
import statistics
import sys

POWER_CAP = 0x4  # nvidia-smi clocks_event_reasons: SW power cap
BUSY_SHARE = 0.4  # a sample is busy when it draws over 40% of the power limit


def summarise(path, label=""):
    """The summary lines of one sample file, one per GPU."""
    gpus = {}
    bad = 0
    with open(path) as fh:
        for line in fh:
            f = [x.strip() for x in line.split(",")]
            try:
                idx, clock, power, limit = int(f[1]), float(f[2]), float(f[3]), float(f[4])
                reasons = int(f[5], 16)
            except (IndexError, ValueError):
                bad += 1  # a header, an "[N/A]" field, a line cut by the kill
                continue
            gpus.setdefault(idx, []).append((clock, power, limit, reasons))
    label = f"{label}: " if label else ""
    if not gpus:
        return [f"{label}clocks: no samples in {path} ({bad} lines unreadable)"]
    out = []
    for idx, rows in sorted(gpus.items()):
        busy = [r for r in rows if r[1] > BUSY_SHARE * r[2]]
        if not busy:  # short kernels: the power reading (an average) stays low
            clocks = sorted(r[0] for r in rows)
            out.append(f"{label}gpu {idx}: {len(rows)} samples, none busy (power over {BUSY_SHARE:.0%} of the "
                       f"limit); SM clock MHz min {clocks[0]:.0f} median {statistics.median(clocks):.0f} "
                       f"max {clocks[-1]:.0f}")
            continue
        clocks = sorted(r[0] for r in busy)
        power = sorted(r[1] for r in busy)
        capped = sum(1 for r in busy if r[3] & POWER_CAP)
        out.append(f"{label}gpu {idx}: {len(busy)} of {len(rows)} samples busy; SM clock MHz min {clocks[0]:.0f} "
                   f"median {statistics.median(clocks):.0f} max {clocks[-1]:.0f}; power W median "
                   f"{statistics.median(power):.0f} max {power[-1]:.0f} (limit {busy[0][2]:.0f}); "
                   f"power cap active in {capped / len(busy):.0%} of busy samples")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file")
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    print("\n".join(summarise(args.file, args.label)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

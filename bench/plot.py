#!/usr/bin/env python3
"""Plots of elattn-bench results (PNG, matplotlib's Agg backend).

    python3 bench/plot.py OURS.json [--peers PEERS.json] [--out DIR]

Writes, per configuration (dtype, head dim, heads):
  time_vs_S_<cfg>.png     fused-kernel time against S, one panel per device, a line per mix
  speedup_vs_S_<cfg>.png  speedup against dense (left) and against serial dispatch (right)
and with --peers (shared/tools/peers.py's peers.json):
  ours_vs_peers.png       our dense and hybrid times next to PyTorch SDPA / FlexAttention
"""
import argparse
import json
import math
import os
import re
import sys

PAIR_COLOURS = {"dense": "black", "fa-ssa": "tab:blue", "fa-xa": "tab:orange", "xa-ssa": "tab:green"}
FRAC_STYLES = {0.5: ":", 0.75: "--", 1.0: "-"}


def load_ours(path):
    with open(path) as fh:
        data = json.load(fh)
    return data.get("meta", {}), [c for c in data["cases"] if c.get("status") == "ok"]


def config_key(case):
    return (case["dtype"], case["head_dim"], case["hq"], case["hkv"])


def config_slug(key):
    dtype, d, hq, hkv = key
    return f"{dtype}_d{d}_h{hq}x{hkv}"


def config_title(key):
    dtype, d, hq, hkv = key
    return f"{dtype}, D {d}, Hq {hq}, Hkv {hkv}"


def mix_label(case):
    label = case["mix"]
    if case.get("block"):
        label += f" b{case['block']}"
    return label


BLOCK_MARKERS = {128: "o", 64: "s", 32: "^", 16: "v", 256: "D"}


def mix_style(case):
    """Colour: the pair of modes; line style: the sparse fraction; marker: the XA block."""
    colour = PAIR_COLOURS.get(case["pair"], "grey")
    style = "-" if case["pair"] == "dense" else FRAC_STYLES.get(round(case["sparse_frac"], 2), "-.")
    width = 2.5 if case["pair"] == "dense" else 1.5
    marker = BLOCK_MARKERS.get(case.get("block") or 128, "o")
    return dict(color=colour, linestyle=style, linewidth=width, marker=marker, markersize=4)


def series(cases, value):
    """{(device, label): ([S...], [y...], style)} for cases with a value."""
    out = {}
    for c in sorted(cases, key=lambda c: c["S"]):
        y = value(c)
        if y is None:
            continue
        key = (c["device"], mix_label(c))
        xs, ys, _ = out.setdefault(key, ([], [], mix_style(c)))
        xs.append(c["S"])
        ys.append(y)
    return out


def fmt_len(s):
    return f"{s // 1024}K" if s >= 1024 and s % 1024 == 0 else str(s)


def setup_s_axis(ax, lens):
    from matplotlib.ticker import NullLocator
    ax.set_xscale("log", base=2)
    ax.set_xticks(lens)
    ax.set_xticklabels([fmt_len(s) for s in lens])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("sequence length S")
    ax.grid(True, which="major", alpha=0.3)


def label_log_y(ax):
    """Log y axis; within one decade matplotlib labels no tick, so label the minor ones."""
    from matplotlib.ticker import FormatStrFormatter
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    if hi / lo < 10:
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.3g"))
        ax.grid(True, which="minor", axis="y", alpha=0.2)


def device_titles(cases):
    names = {}
    for c in cases:
        names.setdefault(c["device"], f"{c['device']}: {c['device_name']}")
    return names


def plot_time(plt, cases, key, out_dir, meta):
    devices = device_titles(cases)
    lens = sorted({c["S"] for c in cases})
    n = len(devices)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 4.8 * rows), squeeze=False)
    data = series(cases, lambda c: c["fused"]["median_ms"])
    for i, (dev, title) in enumerate(devices.items()):
        ax = axes[i // cols][i % cols]
        for (d, label), (xs, ys, style) in data.items():
            if d == dev:
                ax.plot(xs, ys, label=label, **style)
        setup_s_axis(ax, lens)
        label_log_y(ax)
        ax.set_ylabel("fused kernel time (ms, median)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, ncol=2, handlelength=3.5)
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle(f"elattn hybrid attention: time vs S ({config_title(key)}; set {meta.get('set', '?')})")
    fig.tight_layout()
    path = os.path.join(out_dir, f"time_vs_S_{config_slug(key)}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_speedup(plt, cases, key, out_dir, meta):
    devices = device_titles(cases)
    lens = sorted({c["S"] for c in cases})
    fig, axes = plt.subplots(len(devices), 2, figsize=(13, 4.5 * len(devices)), squeeze=False)
    vs_dense = series([c for c in cases if c["pair"] != "dense"], lambda c: c.get("speedup_vs_dense"))
    vs_serial = series(cases, lambda c: c.get("speedup_vs_serial"))
    for i, (dev, title) in enumerate(devices.items()):
        for j, (data, what) in enumerate([(vs_dense, "dense (all heads FULL)"),
                                          (vs_serial, "serial dispatch (one launch per mode + copies)")]):
            ax = axes[i][j]
            plotted = False
            for (d, label), (xs, ys, style) in data.items():
                if d == dev:
                    ax.plot(xs, ys, label=label, **style)
                    plotted = True
            ax.axhline(1.0, color="grey", linewidth=1)
            setup_s_axis(ax, lens)
            ax.set_ylabel(f"speedup over {what.split(' (')[0]}")
            ax.set_title(f"{title}\nvs {what}", fontsize=9)
            if plotted:
                ax.legend(fontsize=7, ncol=2, handlelength=3.5)
            else:
                ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center")
    fig.suptitle(f"elattn: fused hybrid kernel speedup ({config_title(key)}; >1 = fused is faster)")
    fig.tight_layout()
    path = os.path.join(out_dir, f"speedup_vs_S_{config_slug(key)}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def peer_frac(peer):
    """Sparse fraction of a peers.py hybrid entry ("nfa=2/8" in its note)."""
    m = re.search(r"nfa=(\d+)/(\d+)", peer.get("note", ""))
    return 1.0 - int(m.group(1)) / int(m.group(2)) if m else None


def peer_matching_cases(cases):
    """Our cases with the shapes peers.py uses (bf16, D 128, Hq 32, Hkv 8, sink 128, local 2048)."""
    return [c for c in cases if c["dtype"] == "bf16" and c["head_dim"] == 128 and c["hq"] == 32
            and c["hkv"] == 8 and c["sink"] == 128 and c["local"] == 2048]


def plot_peers(plt, cases, peers, out_dir):
    ours = peer_matching_cases(cases)
    fracs = {peer_frac(p) for p in peers if "hybrid" in p["name"]} - {None}
    frac = fracs.pop() if len(fracs) == 1 else 0.75
    lens = sorted({p["S"] for p in peers} | {c["S"] for c in ours})
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5))
    peer_colours = ["tab:purple", "tab:brown", "tab:pink", "tab:cyan", "tab:olive", "tab:gray"]
    our_colours = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    devices = list(device_titles(ours))
    for ax, kind in zip(axes, ["dense", "hybrid"]):
        names = sorted({p["name"] for p in peers if ("hybrid" in p["name"]) == (kind == "hybrid")})
        for i, name in enumerate(names):
            pts = sorted((p["S"], p["ms"]) for p in peers if p["name"] == name)
            ax.plot([s for s, _ in pts], [m for _, m in pts], color=peer_colours[i % len(peer_colours)],
                    linestyle="--", marker="s", markersize=4, label=f"peer: {name}")
        for i, dev in enumerate(devices):
            if kind == "dense":
                sel = [c for c in ours if c["device"] == dev and c["pair"] == "dense"]
            else:
                sel = [c for c in ours if c["device"] == dev and c["pair"] == "fa-ssa"
                       and abs(c["sparse_frac"] - frac) < 1e-9]
            pts = sorted((c["S"], c["fused"]["median_ms"]) for c in sel)
            if pts:
                ax.plot([s for s, _ in pts], [m for _, m in pts], color=our_colours[i % len(our_colours)],
                        marker="o", linewidth=2, label=f"elattn {dev} (fused)")
            spts = sorted((c["S"], c["serial"]["median_ms"]) for c in sel if c.get("serial"))
            if spts:
                ax.plot([s for s, _ in spts], [m for _, m in spts], color=our_colours[i % len(our_colours)],
                        marker="^", linewidth=1, linestyle=":", label=f"elattn {dev} (serial dispatch)")
        setup_s_axis(ax, lens)
        label_log_y(ax)
        ax.set_ylabel("time (ms, median)")
        what = "dense causal attention" if kind == "dense" else \
            f"hybrid: {round((1 - frac) * 8)} of 8 KV heads FULL, rest STREAMING (fa-ssa:{frac:g})"
        ax.set_title(what, fontsize=10)
        ax.legend(fontsize=7, handlelength=3.5)
    fig.suptitle("elattn vs PyTorch peers (bf16, Hq 32, Hkv 8, D 128, batch 1; lower is better)")
    fig.tight_layout()
    path = os.path.join(out_dir, "ours_vs_peers.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def make_plots(ours_path, peers_path, out_dir):
    """Returns the PNG paths written; raises ImportError without matplotlib."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta, cases = load_ours(ours_path)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for key in sorted({config_key(c) for c in cases}):
        sel = [c for c in cases if config_key(c) == key]
        written.append(plot_time(plt, sel, key, out_dir, meta))
        written.append(plot_speedup(plt, sel, key, out_dir, meta))
    if peers_path:
        with open(peers_path) as fh:
            peers = json.load(fh)
        if peers:
            written.append(plot_peers(plt, cases, peers, out_dir))
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ours", help="elattn-bench --json output")
    ap.add_argument("--peers", help="peers.json from shared/tools/peers.py")
    ap.add_argument("--out", default=".", help="folder for the PNGs")
    args = ap.parse_args()
    try:
        paths = make_plots(args.ours, args.peers, args.out)
    except ImportError:
        print("plot.py: matplotlib is not installed (python3 -m pip install matplotlib)", file=sys.stderr)
        return 1
    if not paths:
        print("plot.py: no measured case to plot", file=sys.stderr)
        return 1
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Joins elattn-bench's JSON and shared/tools/peers.py's peers.json into one result folder.

    python3 bench/join_peers.py --ours ours.json [--ours more.json ...] [--peers peers.json]
                                [--results-root bench/results]

Writes <results-root>/<date>-<device>/ with
  table.md    ours vs each peer side by side (same S and mix, ratio = peer ms / our ms,
              above 1 means elattn is faster), then every case we measured
  ours.json (the --ours files merged), peers.json (copy), meta.json (device, date, commit,
  command), *.png (plot.py)
and prints the folder. Without matplotlib (the GPU machine may lack it) the PNGs are
left out and table.md says so; run the script again where matplotlib is installed.
"""
import argparse
import datetime
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot  # noqa: E402
import gpu_clocks  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def read_commit():
    """The commit from $ELATTN_COMMIT or from .git's files (no git command)."""
    if os.environ.get("ELATTN_COMMIT"):
        return os.environ["ELATTN_COMMIT"]
    git = os.path.join(REPO, ".git")
    try:
        with open(os.path.join(git, "HEAD")) as fh:
            head = fh.read().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        ref_path = os.path.join(git, ref)
        if os.path.exists(ref_path):
            with open(ref_path) as fh:
                return fh.read().strip()
        with open(os.path.join(git, "packed-refs")) as fh:
            for line in fh:
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    except OSError:
        pass
    return "unknown"


# One timing line as peers.py prints it (record()): name, S=, ms, dense-equiv TFLOP/s, note.
PEER_LINE = re.compile(r"^(?P<name>\S.*?)\s+S=\s*(?P<S>\d+)\s+(?P<ms>[0-9.]+) ms\s+dense-equiv\s+"
                       r"(?P<tf>[0-9.]+) TFLOP/s ?(?P<note>.*)$")


def load_peers(path):
    """peers.json, or the log peers.py printed: it prints every timing as it goes, and at
    131072 tokens its own closing cross-check can run out of memory before peers.json is
    written, so the log is the record of that run."""
    with open(path) as fh:
        text = fh.read()
    try:
        return json.loads(text)
    except ValueError:
        pass
    peers = []
    for line in text.splitlines():
        m = PEER_LINE.match(line.rstrip())
        if m:
            peers.append(dict(name=m["name"].strip(), S=int(m["S"]), ms=float(m["ms"]),
                              dense_equiv_tflops=float(m["tf"]), note=m["note"].strip()))
    if not peers:
        sys.exit(f"join_peers: {path} is neither peers.json nor a peers.py log with timing lines")
    return peers


def main_device(cases):
    """The device the folder is named after: a GPU backend's first, else the first."""
    for backend in ("cuda", "hip", "opencl", "reference"):
        for c in cases:
            if c.get("backend") == backend and c.get("device_name"):
                return c["device_name"]
    return "unknown"


def ms(x):
    return f"{x:.4g}" if x is not None else "-"


def ratio(peer_ms, our_ms):
    if peer_ms is None or our_ms is None or our_ms <= 0:
        return "-"
    return f"{peer_ms / our_ms:.3g}"


def peers_table(cases, peers):
    """Markdown: one row per (S, peer), our time and the ratio on every device."""
    ours = plot.peer_matching_cases(cases)
    if not ours:
        return ["No case of ours has the peers' shapes (bf16, D 128, Hq 32, Hkv 8, sink 128, local 2048): "
                "run elattn-bench --set paper.", ""]
    devices = list(plot.device_titles(ours))
    lines = ["| S | peer | peer ms | ours compared | " +
             " | ".join(f"{d} ms | peer/ours" for d in devices) + " |",
             "| --- | --- | --- | --- | " + " | ".join("--- | ---" for _ in devices) + " |"]
    for p in sorted(peers, key=lambda p: (p["S"], p["name"])):
        hybrid = "hybrid" in p["name"]
        frac = plot.peer_frac(p) if hybrid else None
        if hybrid and frac is None:
            frac = 0.75
        what = f"fa-ssa:{frac:g} fused" if hybrid else "dense"
        row = [fmt_s(p["S"]), p["name"], ms(p["ms"]), what]
        for d in devices:
            match = [c for c in ours if c["device"] == d and c["S"] == p["S"] and
                     (c["pair"] == "fa-ssa" and abs(c["sparse_frac"] - frac) < 1e-9 if hybrid
                      else c["pair"] == "dense")]
            our_ms = match[0]["fused"]["median_ms"] if match else None
            row += [ms(our_ms), ratio(p["ms"], our_ms)]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "peer/ours above 1: elattn is faster. Peers: PyTorch SDPA (flash, cuDNN, efficient), "
              "FlexAttention dense and hybrid (one launch), serial hybrid (SDPA for the FULL heads + Flex for "
              "the STREAMING heads), measured by shared/tools/peers.py in the same device session.", ""]
    return lines


def fmt_s(s):
    return f"{s // 1024}K" if s % 1024 == 0 else str(s)


def ours_table(cases):
    lines = []
    for dev, title in plot.device_titles(cases).items():
        sel = [c for c in cases if c["device"] == dev]
        kernels = sorted({c["kernel"] for c in sel if c.get("kernel")})
        lines += [f"### {title}", "", f"Kernels: {', '.join(kernels) or '-'}", "",
                  "| dtype | D | S | mix | block | ms median [min-max] | TFLOP/s | dense-eq TFLOP/s | "
                  "MSR | ESR | x dense | x serial | serial ms | XA est ms | router ms | x ideal |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for c in sel:
            f = c["fused"]
            lines.append("| " + " | ".join([
                c["dtype"], str(c["head_dim"]), fmt_s(c["S"]), c["mix"], str(c["block"] or "-"),
                f"{f['median_ms']:.4g} [{f['min_ms']:.4g}-{f['max_ms']:.4g}]",
                f"{c['tflops']:.3g}", f"{c['dense_equiv_tflops']:.3g}",
                f"{c['omega_msr']:.2f}", f"{c['omega_esr']:.3f}",
                f"{c['speedup_vs_dense']:.2f}" if c.get("speedup_vs_dense") else "-",
                f"{c['speedup_vs_serial']:.2f}" if c.get("speedup_vs_serial") else "-",
                ms(c["serial"]["median_ms"]) if c.get("serial") else "-",
                ms(c["xattn"]["median_ms"]) if c.get("xattn") else "-",
                ms(c["router"]["median_ms"]) if c.get("router") else "-",
                f"{c['x_ideal']:.3f}" if c.get("x_ideal") else "-",
            ]) + " |")
        lines.append("")
    return lines


def not_measured(all_cases):
    bad = [c for c in all_cases if c.get("status") != "ok"]
    if not bad:
        return []
    lines = ["### Not measured", "", "| device | dtype | D | S | mix | block | status | why |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in bad:
        lines.append("| " + " | ".join([c.get("device", "?"), c.get("dtype", "?"), str(c.get("head_dim", "?")),
                                        fmt_s(c.get("S", 0)), c.get("mix", "?"), str(c.get("block") or "-"),
                                        c["status"], c.get("message", "").replace("|", "/")]) + " |")
    return lines + [""]


def clock_lines(specs):
    """The summary lines of each LABEL=FILE sample file (bench/gpu_clocks.py)."""
    lines = []
    for spec in specs:
        label, _, path = spec.partition("=")
        lines += gpu_clocks.summarise(path, label)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", required=True, action="append",
                    help="elattn-bench --json output; repeatable (one file per device run)")
    ap.add_argument("--peers", help="peers.json, or the log peers.py printed (optional)")
    ap.add_argument("--results-root", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--name", help="folder name (default <date>-<device>)")
    ap.add_argument("--command", help="command line recorded in meta.json (default: the bench's own)")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--clocks", action="append", default=[], metavar="LABEL=FILE",
                    help="a bench/gpu_clocks.sh sample file taken during a stage; repeatable: "
                         "its summary goes into table.md and meta.json")
    args = ap.parse_args()

    docs = []
    for path in args.ours:
        with open(path) as fh:
            docs.append(json.load(fh))
    all_cases = [c for d in docs for c in d["cases"]]
    cases = [c for c in all_cases if c.get("status") == "ok"]
    meta_in = dict(docs[0].get("meta", {}))
    meta_in["command"] = " ; ".join(d.get("meta", {}).get("command", "") for d in docs)
    merged = {"meta": meta_in, "cases": all_cases}
    peers = []
    if args.peers:
        peers = load_peers(args.peers)

    date = (meta_in.get("date") or datetime.datetime.utcnow().isoformat())[:10]
    device = main_device(all_cases)
    out = os.path.join(args.results_root, args.name or f"{date}-{slug(device)}")
    os.makedirs(out, exist_ok=True)
    ours_path = os.path.join(out, "ours.json")
    with open(ours_path, "w") as fh:
        json.dump(merged, fh, indent=1)
    peers_path = os.path.join(out, "peers.json")
    if peers:
        with open(peers_path, "w") as fh:
            json.dump(peers, fh, indent=1)
    meta = {
        "device": device,
        "devices": sorted({f"{c['device']}: {c.get('device_name', '')}" for c in all_cases}),
        "date": meta_in.get("date", date),
        "commit": read_commit(),
        "command": args.command or meta_in.get("command", ""),
        "set": meta_in.get("set"),
        "inputs": meta_in.get("inputs"),
        "peers": bool(peers),
        "clocks": clock_lines(args.clocks),
    }
    with open(os.path.join(out, "meta.json"), "w") as fh:
        json.dump(meta, fh, indent=1)

    pngs, plot_note = [], ""
    if not args.no_plots:
        try:
            pngs = plot.make_plots(ours_path, peers_path if peers else None, out)
        except ImportError:
            plot_note = "matplotlib was not installed where this was made: run join_peers.py again for the plots."
    else:
        plot_note = "plots not made (--no-plots)."

    lines = [f"# elattn benchmark: {device}", "",
             f"Date {meta['date']}, commit `{meta['commit']}`, set `{meta['set']}` "
             f"({meta_in.get('set_note', '')}), inputs {meta['inputs']}.", "",
             f"Command: `{meta['command']}`", ""]
    if peers:
        lines += ["## elattn vs peers", ""] + peers_table(cases, peers)
    lines += ["## All cases", "",
              "Times are medians of event-timed runs after warm-up, rotating input sets. TFLOP/s counts "
              "4*D per visible (query, key) pair; dense-eq uses 2*S^2*D*Hq. x dense: dense time / this time; "
              "x serial: serial dispatch (gather each mode's heads, one launch per mode, scatter) / this time. "
              "x ideal (fa-ssa mixes, when dense and fa-ssa:1 ran): this time / ((1 - f) x dense + f x fa-ssa:1), "
              "its FULL heads at dense's rate plus its STREAMING heads at theirs. "
              "MSR/ESR: Omega_MSR and Omega_ESR (paper definitions 2.1 and 2.2).", ""]
    lines += ours_table(cases) + not_measured(all_cases)
    if meta["clocks"]:
        lines += ["## Clock", "", "The SM clock and power while each stage ran (bench/gpu_clocks.sh; a long run "
                  "at the power cap runs at a lower clock):", ""] + [f"- {l}" for l in meta["clocks"]] + [""]
    if pngs:
        lines += ["## Plots", ""] + [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in pngs] + [""]
    elif plot_note:
        lines += [plot_note, ""]
    with open(os.path.join(out, "table.md"), "w") as fh:
        fh.write("\n".join(lines))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

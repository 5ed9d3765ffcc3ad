#!/usr/bin/env python3
"""One markdown table from elattn-decode-bench's JSON and bench/decode_peers.py's JSON.

    python3 bench/join_decode.py --ours decode_ours.json [--peers decode_peers.json] [--out table.md]

Per (context, batch, mix): ours (us/step, GB/s of the step's K/V bytes, % of the device's copy bandwidth:
the higher of ours and torch's measurement in the same call,
KV bytes held and % of dense's), the best SDPA peer (dense over all heads: SDPA has no per-head
modes) and which backend/variant, flex (one call, per-head block mask), the serial hybrid (two
SDPA calls), best peer / ours (above 1: elattn is faster) and ours' speedup of the mix over
dense. Then the skipped and failed rows with their reasons. Prints the table (and writes --out).
"""
import argparse
import json
import sys

sys.dont_write_bytecode = True


def load(path):
    with open(path) as fh:
        return json.load(fh)


def fmt(x, spec=".1f", none="-"):
    return none if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours", required=True)
    ap.add_argument("--peers")
    ap.add_argument("--out")
    args = ap.parse_args()
    ours = load(args.ours)
    peers = load(args.peers) if args.peers else {"meta": {}, "rows": []}
    om, pm = ours["meta"], peers.get("meta", {})
    lines = []
    add = lines.append
    add(f"# Decode step: elattn vs PyTorch ({om.get('device_name', '?')})\n")
    add(f"One layer, Hq {om['hq']}, Hkv {om['hkv']}, D {om['head_dim']}, {om['dtype']}, sink {om['sink']}, "
        f"local {om['local']}, page {om['page']}, {om['new_tokens']} new token(s) per sequence. "
        f"Ours: `{om.get('command', '')}` ({om.get('version', '')}); {om.get('timing', '')}. "
        f"Read bytes: {om.get('read_bytes', '')}.\n")
    copy = f"Copy bandwidth (2 x bytes / time): ours {fmt(om.get('copy_gbps'))} GB/s ({om.get('copy_note', '')})"
    if pm.get("copy", {}).get("gbps"):
        copy += f"; torch {pm['copy']['gbps']:.1f} GB/s ({pm['copy']['note']})"
    # The % column is against the better of the two copy measurements: the device's bandwidth is what a
    # copy can reach, and a slow copy path of ours must not flatter the decode kernel.
    copies = [x for x in (om.get("copy_gbps"), pm.get("copy", {}).get("gbps")) if x]
    copy_ref = max(copies) if copies else None
    add(copy + (f". The % copy column is against {copy_ref:.1f} GB/s, the higher of the two.\n" if copy_ref else ".\n"))
    if pm:
        add(f"Peers: torch {pm.get('torch', '?')}, cuDNN {pm.get('cudnn')}; {pm.get('timing', '')}.\n")
    for c in ours.get("checks", []):
        add(f"- check {c['mix']}: {c['result']} (nmse {c['nmse']:.3g} vs the reference device)")
    if ours.get("checks"):
        add("")

    prow = {}
    for r in peers.get("rows", []):
        prow.setdefault((r["len"], r["batch"]), []).append(r)

    def ok_peers(key, mix, peer_prefix):
        return [r for r in prow.get(key, []) if r.get("status") == "ok" and r["mix"] == mix
                and r["peer"].startswith(peer_prefix)]

    add("| context | batch | mix | ours us/step | GB/s | % copy | KV held MiB (% dense) | best SDPA us (backend) "
        "| flex us | serial hybrid us | best peer / ours | xdense (ours) | splits, kernel |")
    add("| ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    problems = []
    mix_order = {m: i for i, m in enumerate(dict.fromkeys(r["mix"] for r in ours["rows"]))}
    for r in sorted(ours["rows"], key=lambda r: (r["len"], r["batch"], mix_order[r["mix"]])):
        key = (r["len"], r["batch"])
        sdpa = sorted(ok_peers(key, "dense", "sdpa-"), key=lambda p: p["us"])
        flex = ok_peers(key, r["mix"], "flex")
        serial = ok_peers(key, r["mix"], "serial")
        cands = [p["us"] for p in sdpa[:1] + flex + serial]
        best_peer = min(cands) if cands else None
        sd = f"{sdpa[0]['us']:.1f} ({sdpa[0]['peer'][5:]})" if sdpa else "-"
        if r["status"] != "ok":
            problems.append(f"- ours {r['len']} x {r['batch']} {r['mix']}: {r['status']}: {r['message']}")
            add(f"| {r['len']} | {r['batch']} | {r['mix']} | {r['status']} | | | | {sd} | "
                f"{fmt(flex[0]['us'] if flex else None)} | {fmt(serial[0]['us'] if serial else None)} | | | |")
            continue
        held = f"{r['held_bytes'] / 2**20:.0f}"
        if r.get("held_pct_dense") is not None:
            held += f" ({r['held_pct_dense']:.1f}%)"
        ratio = f"{best_peer / r['us_per_step']:.2f}" if best_peer else "-"
        xd = f"{r['speedup_vs_dense']:.2f}x" if r.get("speedup_vs_dense") else "-"
        add(f"| {r['len']} | {r['batch']} | {r['mix']} | {r['us_per_step']:.1f} | {r['gbps']:.{0 if r['gbps'] >= 10 else 1}f} | "
            f"{fmt(100.0 * r['gbps'] / copy_ref if copy_ref else None)} | {held} | {sd} | {fmt(flex[0]['us'] if flex else None)} | "
            f"{fmt(serial[0]['us'] if serial else None)} | {ratio} | {xd} | {r['splits']}, `{r['kernel']}` |")
    for rows in prow.values():
        for p in rows:
            if p.get("status") != "ok":
                problems.append(f"- peer {p['len']} x {p['batch']} {p['mix']} {p['peer']}: {p['status']}: "
                                f"{p.get('message', '')}")
    if problems:
        add("\nNot measured, refused or failed:\n")
        lines.extend(problems)
    notes = sorted({f"{p['peer']}: {p['note']}" for rows in prow.values() for p in rows
                    if p.get("note") and p.get("status") == "ok" and p["peer"] == "flex"})
    if notes:
        add("\nFlex: " + "; ".join(sorted({n.split(': ', 1)[1] for n in notes})))
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Decode peers for elattn-decode-bench (issue 14 item 4): what PyTorch offers for one decode
step of 1 new token per sequence against a contiguous cache K, V [B, Hkv, L, D].

    python3 bench/decode_peers.py [--out DIR] [--cpu] [--tiny]

Environment (defaults = elattn-decode-bench's): LENS 8192,32768,131072  BATCHES 1,16,64
MIXES dense,fa-ssa:0.5,fa-ssa:0.75  D 128  DTYPE bf16 (or fp16)  HEADS 32:8  SINK 128
LOCAL 2048  BUDGET_S 0 (none; else configs not started by then are reported skipped (budget))
FLUSH_MIB 256 (L2 flush before each rep)  FLUSH write|read (as elattn-decode-bench's --flush:
write zeroes the buffer, leaving dirty lines; read zeroes it, then copies it into a 4 MiB
scratch, leaving clean ones)  LEAD_CYCLES 2000000 (after the flush, torch.cuda._sleep of that many
GPU cycles, about 1 ms, as elattn-decode-bench's lead: the GPU is still busy while the host queues
the timed call, so the call's host work is not timed; 0: none; 200000, 0.1 ms, left cuDNN's batch-1
steps at 8K and 32K 1.5-5x slow in some processes, call 85)  LEAD sleep (default: that torch.cuda._sleep)
or attention (instead, causal SDPA over LEAD_TOKENS 8192 tokens, one head, D 128: the kind of lead
elattn-decode-bench runs, for a comparison with the same lead on both sides)  COPY_MIB 2048  OUT (the folder, if
no --out).
--cpu runs on the CPU (no events: perf_counter) and --tiny shrinks the shapes (L 256/640,
B 1/2, Hq 8, Hkv 4, D 64, sink 16, local 128): a logic check where no GPU is, not a benchmark.

Peers, per (L, B):
  sdpa-<backend>/<variant>  torch.nn.functional.scaled_dot_product_attention over all heads (a
      dense decode: SDPA has no per-head modes), one backend forced with
      torch.nn.attention.sdpa_kernel (CUDNN_ATTENTION, FLASH_ATTENTION, EFFICIENT_ATTENTION), in
      two GQA variants: "gqa" (q [B, Hq, 1, D], enable_gqa=True) and "fold" (the G = Hq / Hkv
      query heads of a KV head folded into the query length, q [B, Hkv, G, D], no mask: exact
      for one new token, and K/V are read once per KV head as with enable_gqa; repeat_interleave
      would copy K/V G times: 128 GiB at 64 x 128K). A backend that refuses says why.
  flex/<mix>  torch.nn.attention.flex_attention, compiled (torch.compile, default dynamic
      shapes), enable_gqa=True, with a block mask: FULL query heads every KV block, STREAMING
      heads the sink blocks and the window's (position L - 1: t < sink or L - 1 - t < local).
      The query length is 1 where flex takes it, else padded to 16, then 128 (the dummy rows
      are computed and dropped); "lq" in the JSON says which. When sink, local and L are
      multiples of 128 every block is whole (BlockMask.from_kv_blocks, no mask_mod: one compiled
      kernel for every mix), else create_block_mask with the mask_mod.
  serial/<mix>  the "serial hybrid" a user would write for a fa-ssa mix: SDPA over the FULL heads'
      whole cache plus SDPA over the STREAMING heads' sink + window, each a contiguous tensor
      [B, heads, L or sink + local, D]: two calls, timed together (the outputs stay two tensors:
      no concatenation is timed), with the SDPA backend and variant fastest for this (L, B).
  copy: torch's device-to-device copy bandwidth, 2 x bytes / time (read + write), as ours.

Timing as elattn-decode-bench: CUDA events around each call, an L2 flush (FLUSH above)
before each rep outside the events, a warm-up, then reps until 10 and 0.2 s (at most 100, or
2 s after 3); median and quartiles. Each peer's output for sequence 0 is checked against a
float32 softmax over that sequence's visible keys (nmse in the JSON; above 1e-3 marks it bad).
Writes OUT/decode_peers.json and prints a table; tensors are freed between configs.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
import traceback
import warnings

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__

import torch  # noqa: E402
import torch._dynamo  # noqa: E402 (its recompile limit, for flex)
import torch.nn.functional as F  # noqa: E402

CHECK_NMSE = 1e-3


def env_ints(name, default):
    text = os.environ.get(name, default)
    out = []
    for tok in text.split(","):
        tok = tok.strip().lower()
        mul = 1024 if tok.endswith("k") else 1
        out.append(int(tok.rstrip("k")) * mul)
    return out


def parse_mix(text, hkv):
    """'dense' -> 0 streaming heads; 'fa-ssa:F' -> round(F * Hkv), listed last (as ours)."""
    if text == "dense":
        return 0
    pair, _, frac = text.partition(":")
    if pair != "fa-ssa" or not frac:
        sys.exit(f"decode_peers: mix {text!r}: only dense and fa-ssa:F have a peer here")
    n = float(frac) * hkv
    if abs(n - round(n)) > 1e-9 or not 0 < n <= hkv:
        sys.exit(f"decode_peers: mix {text!r}: {frac} x {hkv} KV heads is not a whole number of heads")
    return int(round(n))


class Timer:
    """Events on CUDA (perf_counter on the CPU), a flush before each rep, median of reps."""

    SCRATCH = 4 * 2**20  # FLUSH=read's destination, as elattn-decode-bench's

    def __init__(self, device, flush_mib, flush_read=False, lead_cycles=0, warmup=3, min_reps=10, max_reps=100,
                 min_s=0.2, max_s=2.0, lead_qkv=None):
        self.device = device
        self.lead_cycles = lead_cycles
        self.lead_qkv = lead_qkv  # LEAD=attention: (q, k, v) of the lead's SDPA, else None
        self.cuda = device.type == "cuda"
        self.flush = torch.empty(int(flush_mib * 2**20), dtype=torch.uint8, device=device) if flush_mib > 0 else None
        self.scratch = torch.empty(self.SCRATCH, dtype=torch.uint8, device=device) if flush_read and flush_mib > 0 \
            else None
        self.warmup, self.min_reps, self.max_reps, self.min_s, self.max_s = warmup, min_reps, max_reps, min_s, max_s

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def __call__(self, fn):
        w0 = time.perf_counter()
        for w in range(self.warmup):  # a slow call cuts the warm-up short (one run always)
            if w and time.perf_counter() - w0 >= 0.5 * self.max_s:
                break
            fn()
            self.sync()
        ms = []
        while len(ms) < self.max_reps and (len(ms) < self.min_reps or sum(ms) < self.min_s * 1e3) and \
                not (len(ms) >= 3 and sum(ms) >= self.max_s * 1e3):
            if self.flush is not None:
                self.flush.zero_()  # dirty lines left in L2 (FLUSH=write)
            if self.flush is not None and self.scratch is not None:  # FLUSH=read: the zero_ keeps the GPU busy
                for off in range(0, self.flush.numel(), self.SCRATCH):  # clean lines left in L2
                    piece = self.flush[off:off + self.SCRATCH]
                    self.scratch[:piece.numel()].copy_(piece)
            if self.cuda and self.flush is not None and self.lead_qkv is not None:
                torch.nn.functional.scaled_dot_product_attention(*self.lead_qkv, is_causal=True)
            elif self.cuda and self.flush is not None and self.lead_cycles > 0:
                torch.cuda._sleep(self.lead_cycles)  # the lead: busy while the host queues fn
            if self.cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                end.synchronize()
                ms.append(start.elapsed_time(end))
            else:
                t = time.perf_counter()
                fn()
                ms.append((time.perf_counter() - t) * 1e3)
        q = statistics.quantiles(ms, n=4, method="inclusive") if len(ms) > 1 else [ms[0]] * 3
        return dict(us=statistics.median(ms) * 1e3, p25_us=q[0] * 1e3, p75_us=q[2] * 1e3, reps=len(ms))


def copy_bandwidth(timer, device, mib):
    nbytes = int(mib * 2**20)
    while nbytes >= 2**20:
        try:
            src = torch.ones(nbytes, dtype=torch.uint8, device=device)
            dst = torch.empty_like(src)
            break
        except torch.OutOfMemoryError:
            nbytes //= 2
    else:
        return dict(note="not measured: out of memory")
    saved = timer.flush
    timer.flush = None  # the copy is larger than L2: no flush needed (and none in ours)
    t = timer(lambda: dst.copy_(src))
    timer.flush = saved
    del src, dst
    return dict(bytes=nbytes, us=t["us"], gbps=2 * nbytes / (t["us"] * 1e-6) / 1e9, reps=t["reps"],
                note=f"torch dst.copy_(src) of {nbytes / 2**20:.0f} MiB, device to device; 2 x bytes / time")


def reference_out(q, k, v, n_full_q, sink, local):
    """float32 decode of sequence 0 over its visible keys: [Hq, D]. q [Hq, D], k/v [Hkv, L, D]."""
    hq, hkv, L = q.shape[0], k.shape[0], k.shape[1]
    g = hq // hkv
    kf, vf = k.float().repeat_interleave(g, 0), v.float().repeat_interleave(g, 0)
    s = torch.einsum("hd,hld->hl", q.float(), kf) / math.sqrt(q.shape[-1])
    t = torch.arange(L, device=q.device)
    stream_ok = (t < sink) | (L - 1 - t < local)
    heads = torch.arange(hq, device=q.device)[:, None] >= n_full_q
    s = s.masked_fill(heads & ~stream_ok[None, :], float("-inf"))
    return torch.einsum("hl,hld->hd", torch.softmax(s, -1), vf)


def nmse(got, want):
    got, want = got.float(), want.float()
    return float(((got - want) ** 2).sum() / (want ** 2).sum().clamp_min(1e-30))


def sdpa_call(q, k, v, variant, hkv):
    """One dense decode; q [B, Hq, 1, D]. Returns O [B, Hq, 1, D]."""
    if variant == "gqa":
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    b, hq, _, d = q.shape
    return F.scaled_dot_product_attention(q.view(b, hkv, hq // hkv, d), k, v).view(b, hq, 1, d)


def refusal(exc, caught):
    """The backend's own reason: the warnings SDPA emits when it refuses, else the error's first line."""
    why = [str(w.message).strip().splitlines()[0] for w in caught if str(w.message).strip()]
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return "; ".join(why[:3] + [first])[:400]


def block_mask_for(flex_mod, B, hq, hkv, n_stream, lq, L, sink, local, device):
    """Block mask of one mix at query position L - 1 (every padded row too)."""
    g = hq // hkv
    n_full_q = (hkv - n_stream) * g
    bs = 128
    if L % bs == 0 and sink % bs == 0 and local % bs == 0:
        nb = L // bs
        full = torch.arange(nb, dtype=torch.int32, device=device)
        if L <= sink + local:
            stream = full
        else:
            stream = torch.cat([torch.arange(sink // bs, dtype=torch.int32, device=device),
                                torch.arange((L - local) // bs, nb, dtype=torch.int32, device=device)])
        idx = torch.zeros(1, hq, 1, nb, dtype=torch.int32, device=device)
        cnt = torch.zeros(1, hq, 1, dtype=torch.int32, device=device)
        for h in range(hq):
            blocks = full if h < n_full_q else stream
            idx[0, h, 0, :blocks.numel()] = blocks
            cnt[0, h, 0] = blocks.numel()
        # every block is whole: no partial blocks, no mask_mod (flex's noop), one compiled kernel
        return flex_mod.BlockMask.from_kv_blocks(torch.zeros_like(cnt), torch.zeros_like(idx), cnt, idx,
                                                 BLOCK_SIZE=bs, mask_mod=None, seq_lengths=(lq, L)), "whole blocks"

    def mask_mod(b, h, q_idx, kv_idx):
        return (h < n_full_q) | (kv_idx < sink) | (L - 1 - kv_idx < local)

    return flex_mod.create_block_mask(mask_mod, None, hq, lq, L, device=device), "create_block_mask + mask_mod"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.environ.get("OUT", "."), help="folder for decode_peers.json")
    ap.add_argument("--cpu", action="store_true", help="run on the CPU (a logic check, not a benchmark)")
    ap.add_argument("--tiny", action="store_true", help="tiny shapes for --cpu")
    args = ap.parse_args()
    tiny = args.tiny
    lens = env_ints("LENS", "256,640" if tiny else "8192,32768,131072")
    batches = env_ints("BATCHES", "1,2" if tiny else "1,16,64")
    mixes = os.environ.get("MIXES", "dense,fa-ssa:0.5,fa-ssa:0.75").split(",")
    hq, hkv = (int(x) for x in os.environ.get("HEADS", "8:4" if tiny else "32:8").split(":"))
    d = int(os.environ.get("D", "64" if tiny else "128"))
    sink = int(os.environ.get("SINK", "16" if tiny else "128"))
    local = int(os.environ.get("LOCAL", "128" if tiny else "2048"))
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "f16": torch.float16}[os.environ.get("DTYPE", "bf16")]
    budget = float(os.environ.get("BUDGET_S", "0"))
    n_stream = {m: parse_mix(m, hkv) for m in mixes}
    if hq % hkv:
        sys.exit("decode_peers: HEADS: Hq must be a multiple of Hkv")
    if args.cpu:
        device = torch.device("cpu")
    elif torch.cuda.is_available():
        device = torch.device("cuda", 0)
    else:
        sys.exit("decode_peers: no CUDA device (use --cpu --tiny for a logic check)")
    t0 = time.perf_counter()
    flush_mode = os.environ.get("FLUSH", "write")
    if flush_mode not in ("write", "read"):
        sys.exit(f"decode_peers.py: FLUSH={flush_mode!r}: write or read")
    lead = os.environ.get("LEAD", "sleep")
    if lead not in ("sleep", "attention"):
        sys.exit(f"decode_peers.py: LEAD={lead!r}: sleep or attention")
    lead_qkv = None
    if lead == "attention" and device.type == "cuda":  # zeros, as elattn-decode-bench's lead
        lead_qkv = tuple(torch.zeros(1, 1, int(os.environ.get("LEAD_TOKENS", "8192")), 128, dtype=dtype, device=device)
                         for _ in range(3))
    timer = Timer(device, float(os.environ.get("FLUSH_MIB", "0" if args.cpu else "256")),
                  flush_read=flush_mode == "read", lead_cycles=int(os.environ.get("LEAD_CYCLES", "2000000")),
                  lead_qkv=lead_qkv)
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backends = [("cudnn", SDPBackend.CUDNN_ATTENTION), ("flash", SDPBackend.FLASH_ATTENTION),
                ("efficient", SDPBackend.EFFICIENT_ATTENTION)]
    if args.cpu:  # the CPU has flash (its own) and math
        backends = [("flash", SDPBackend.FLASH_ATTENTION), ("math", SDPBackend.MATH)]
    try:
        import torch.nn.attention.flex_attention as flex_mod
        for name in ("recompile_limit", "cache_size_limit"):  # one compile per shape must not fall back to eager
            if hasattr(torch._dynamo.config, name):
                setattr(torch._dynamo.config, name, 64)
        # default (dynamic after the first recompile), then static shapes where that fails
        flex_fns = {"compiled": torch.compile(flex_mod.flex_attention),
                    "compiled static": torch.compile(flex_mod.flex_attention, dynamic=False)}
        flex_why = ""
    except Exception as exc:  # noqa: BLE001 (any import or compile-setup failure: reported)
        flex_mod, flex_fns = None, {}
        flex_why = f"flex_attention unavailable: {exc}"
    flex_first = []  # the (compile, lq) that last worked, tried first

    dev_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    meta = dict(tool="bench/decode_peers.py", torch=torch.__version__, device=dev_name, dtype=str(dtype),
                head_dim=d, hq=hq, hkv=hkv, sink=sink, local=local, new_tokens=1, lens=lens, batches=batches,
                mixes=mixes, flush_mib=timer.flush.numel() / 2**20 if timer.flush is not None else 0,
                flush=flush_mode, lead=lead, lead_cycles=timer.lead_cycles,
                lead_tokens=lead_qkv[0].shape[2] if lead_qkv else 0,
                timing="CUDA events per call, L2 flush before each rep, warm-up, median",
                cudnn=torch.backends.cudnn.version() if device.type == "cuda" else None)
    meta["copy"] = copy_bandwidth(timer, device, float(os.environ.get("COPY_MIB", "64" if args.cpu else "2048")))
    print(f"decode_peers: torch {torch.__version__} on {dev_name}; Hq {hq} Hkv {hkv} D {d} {dtype} sink {sink} "
          f"local {local}; 1 new token per sequence")
    if "gbps" in meta["copy"]:
        print(f"copy bandwidth: {meta['copy']['gbps']:.1f} GB/s ({meta['copy']['note']})")
    rows = []
    out_path = os.path.join(args.out, "decode_peers.json")
    os.makedirs(args.out, exist_ok=True)

    def save():
        with open(out_path + ".tmp", "w") as fh:
            json.dump(dict(meta=meta, rows=rows), fh, indent=1)
        os.replace(out_path + ".tmp", out_path)

    def record(L, B, mix, peer, **kw):
        row = dict(len=L, batch=B, mix=mix, peer=peer, **kw)
        rows.append(row)
        if "us" in row:
            line = f"{row['us']:10.1f} us [{row['p25_us']:.1f} - {row['p75_us']:.1f}]  nmse {row.get('nmse', float('nan')):.2g}"
            if row.get("note"):
                line += f"  ({row['note']})"
        else:
            line = f"{row['status']}: {row.get('message', '')}"
        print(f"{L:7d} {B:5d} {mix:12s} {peer:26s} {line}", flush=True)
        save()

    g = hq // hkv
    for L in lens:
        for B in batches:
            used = time.perf_counter() - t0
            if budget and used >= budget:
                for mix in mixes:
                    record(L, B, mix, "all", status="skipped",
                           message=f"skipped (budget): {used:.0f} s of BUDGET_S {budget:.0f} used")
                continue
            tensors = {}
            try:
                gen = torch.Generator(device=device).manual_seed(L * 131 + B)
                k = torch.randn(B, hkv, L, d, dtype=dtype, device=device, generator=gen)
                v = torch.randn(B, hkv, L, d, dtype=dtype, device=device, generator=gen)
                q = torch.randn(B, hq, 1, d, dtype=dtype, device=device, generator=gen)
                tensors = dict(k=k, v=v, q=q)
            except torch.OutOfMemoryError as exc:
                for mix in mixes:
                    record(L, B, mix, "all", status="skipped",
                           message=f"skipped (allocation of K/V {2 * B * hkv * L * d * 2 / 2**30:.1f} GiB): {exc}"[:400])
                continue
            want = {}
            for mix in mixes:  # sequence 0's reference for every mix
                want[mix] = reference_out(q[0, :, 0], k[0], v[0], (hkv - n_stream[mix]) * g, sink, local)
            # SDPA: dense over all heads; recorded under "dense" (the other mixes' rows refer to it)
            best = None
            for name, backend in backends:
                for variant in ("gqa", "fold"):
                    peer = f"sdpa-{name}/{variant}"
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        try:
                            with sdpa_kernel([backend]):
                                out = sdpa_call(q, k, v, variant, hkv)
                                err = nmse(out[0, :, 0], want["dense"])
                                t = timer(lambda: sdpa_call(q, k, v, variant, hkv))
                            del out
                        except Exception as exc:  # noqa: BLE001 (a refusal or failure is a result)
                            record(L, B, "dense", peer, status="refused", message=refusal(exc, caught))
                            continue
                    ok = err <= CHECK_NMSE
                    record(L, B, "dense", peer, status="ok" if ok else "bad", nmse=err, **t)
                    if ok and (best is None or t["us"] < best[2]):
                        best = (name, variant, t["us"], backend)
            # flex: one call with per-head masks
            for mix in mixes:
                if not flex_fns:
                    record(L, B, mix, "flex", status="unavailable", message=flex_why)
                    continue
                done = False
                whys = []
                tries = flex_first + [(c, lq) for lq in (1, 16, 128) for c in flex_fns if (c, lq) not in flex_first]
                for comp, lq in tries:
                    flex_c = flex_fns[comp]
                    qp = q if lq == 1 else torch.cat([q, q[:, :, :1].expand(B, hq, lq - 1, d)], dim=2).contiguous()
                    try:
                        bm, how = block_mask_for(flex_mod, B, hq, hkv, n_stream[mix], lq, L, sink, local, device)
                        out = flex_c(qp, k, v, block_mask=bm, enable_gqa=True)
                        err = nmse(out[0, :, 0], want[mix])
                        t = timer(lambda: flex_c(qp, k, v, block_mask=bm, enable_gqa=True))
                        del out
                    except Exception as exc:  # noqa: BLE001
                        whys.append(f"{comp}, lq {lq}: {(str(exc).strip().splitlines() or [type(exc).__name__])[0][:150]}")
                        if os.environ.get("DECODE_PEERS_TRACE"):
                            traceback.print_exc()
                        continue
                    note = f"{comp}, lq {lq}" + (" (padded: dummy rows computed and dropped)" if lq > 1 else "") + \
                        f", {how}"
                    flex_first[:] = [(comp, lq)]
                    record(L, B, mix, "flex", status="ok" if err <= CHECK_NMSE else "bad", nmse=err, lq=lq,
                           note=note, **t)
                    done = True
                    break
                if not done:
                    record(L, B, mix, "flex", status="failed", message="; ".join(whys)[:400])
            # serial hybrid for each fa-ssa mix
            for mix in mixes:
                ns = n_stream[mix]
                if ns == 0:
                    continue
                if best is None:
                    record(L, B, mix, "serial", status="skipped", message="no SDPA backend ran this shape")
                    continue
                name, variant, _, backend = best
                nf = hkv - ns
                try:
                    kf, vf = k[:, :nf].contiguous(), v[:, :nf].contiguous()
                    win = max(L - local, sink)  # the window's first position (sink and window never overlap)
                    ks = torch.cat([k[:, nf:, :sink], k[:, nf:, win:]], dim=2).contiguous()
                    vs = torch.cat([v[:, nf:, :sink], v[:, nf:, win:]], dim=2).contiguous()
                    qf, qs = q[:, :nf * g].contiguous(), q[:, nf * g:].contiguous()

                    def serial():
                        return sdpa_call(qf, kf, vf, variant, nf), sdpa_call(qs, ks, vs, variant, ns)

                    with sdpa_kernel([backend]):
                        of, os_ = serial()
                        err = nmse(torch.cat([of, os_], dim=1)[0, :, 0], want[mix])
                        t = timer(serial)
                    record(L, B, mix, "serial", status="ok" if err <= CHECK_NMSE else "bad", nmse=err,
                           note=f"sdpa-{name}/{variant}, two calls: {nf} FULL heads x {L}, {ns} STREAMING heads x "
                                f"{ks.shape[2]}", **t)
                    del kf, vf, ks, vs, qf, qs, of, os_
                except Exception as exc:  # noqa: BLE001
                    record(L, B, mix, "serial", status="failed", message=str(exc).strip()[:400])
            del k, v, q, tensors, want
            if device.type == "cuda":
                torch.cuda.empty_cache()
    meta["seconds"] = time.perf_counter() - t0
    save()
    print(f"decode_peers: {len(rows)} rows in {meta['seconds']:.0f} s -> {out_path}")


if __name__ == "__main__":
    main()

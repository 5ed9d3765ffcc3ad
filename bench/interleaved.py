#!/usr/bin/env python3
"""Ours and the PyTorch peers timed in turn, in one process, on the same tensors.

Why: on the H200 the board's 700 W cap sets the SM clock, and a benchmark that times one
operation's repetitions after another's hands each the power state the previous one left (the
first runs of a long dense stage are at full clock, the mixes that follow it at a capped
one). elattn-bench's ratios between rows (x ideal, xdense) and the separate peers process
then compare different clocks. Here every round runs each operation once, the order rotating
from round to round, so every operation sees the same mix of power states; the medians are
comparable, and so are their ratios.

Each timed run starts behind a short GPU spin (torch.cuda._sleep), so the host's work of
enqueueing it (Python, ctypes, PyTorch's dispatch) is not in the CUDA-event interval of
either side.

Operations (bf16 or fp16, Hq:Hkv heads, head dim D, causal, batch 1):
  ours dense / fa-ssa:F  elattn.hybrid_attention: the first (1 - F) x Hkv KV heads FULL, the
                         rest STREAMING (sink + local window), one launch
  ours xattn-select 0.75 elattn.xattn_select for fa-xa:0.75's BLOCK_SPARSE heads (6 of 8): XAttention's
                         estimation and block choice (threshold 0.9, stride 16, 128-token blocks)
  cudnn dense            SDPA with the cuDNN backend
  serial F               the serial composition of ../shared/tools/peers.py ("serial hybrid"):
                         the FULL heads through SDPA (cuDNN, else flash) on K/V expanded to their
                         query heads, the STREAMING heads through FlexAttention, both into one
                         output tensor
Reported per length: medians (ms) and their quartiles, each mix against its ideal
((1 - F) x ours dense + F x ours fa-ssa:1) and against the serial composition, and ours dense
against cuDNN. A relative-error check of ours against the serial composition (the same
semantics: keys j < sink or p - j < local, causal) guards against timing a wrong result.

Environment: DTYPE (bf16), HEADS (32:8), D (128), SINK (128), LOCAL (2048), LENS
(8192,32768), FRACS (0.75,0.5), ROUNDS (30; 8 from 65536 tokens on), OPS (all; dense: ours
dense and cuDNN dense only, for the head-dim and dtype table), OUT (where interleaved.json goes). Needs the C library (ELATTN_LIBRARY) and python/ on PYTHONPATH:
    ELATTN_LIBRARY=build/api/src PYTHONPATH=python python3 bench/interleaved.py
Exit 0 when every check passed, 1 when one failed, 77 without torch or a CUDA GPU.
"""
import json
import os
import statistics
import sys

DTYPE_NAME = os.environ.get("DTYPE", "bf16")
HQ, HKV = (int(x) for x in os.environ.get("HEADS", "32:8").split(":"))
D = int(os.environ.get("D", "128"))
SINK, LOCAL = int(os.environ.get("SINK", "128")), int(os.environ.get("LOCAL", "2048"))
LENS = [int(x) for x in os.environ.get("LENS", "8192,32768").split(",")]
FRACS = [float(x) for x in os.environ.get("FRACS", "0.75,0.5").split(",")]
DENSE_ONLY = os.environ.get("OPS", "all") == "dense"
SPIN_CYCLES = 4_000_000  # about 2 ms at the H200's clocks: longer than any run's host-side enqueue
# A check of the output, not of speed: bf16 outputs of two correct kernels differ by rounding.
REL_ERR_LIMIT = 2e-2 if DTYPE_NAME == "bf16" else 5e-3


def n_full_heads(frac, hkv):
    """KV heads that stay FULL in a mix with a fraction `frac` of STREAMING heads."""
    n = round((1.0 - frac) * hkv)
    if abs(n - (1.0 - frac) * hkv) > 1e-9:
        raise ValueError(f"FRACS: {frac} x {hkv} KV heads is not a whole number of heads")
    return n


def mix_ratios(med, fracs):
    """Per mix F, from the medians (ms) by operation name: its ideal ((1 - F) x ours dense + F x ours
    fa-ssa:1), ours over the ideal, and the serial composition over ours."""
    out = {}
    for f in fracs:
        mine = med[f"ours fa-ssa:{f:g}"]
        ideal = (1.0 - f) * med["ours dense"] + f * med["ours fa-ssa:1"]
        out[f"{f:g}"] = {"ms": mine, "ideal_ms": ideal, "x_ideal": mine / ideal,
                         "serial_over_ours": med[f"serial {f:g}"] / mine}
    return out


def timed(fn):
    """GPU time of one run of fn (ms), enqueued behind a spin so the host's enqueue is not in it."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda._sleep(SPIN_CYCLES)
    start.record()
    fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end)


def main():
    global torch, F, SDPBackend, sdpa_kernel
    try:
        import torch
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    except ImportError:
        print("SKIP: no torch")
        return 77
    if not torch.cuda.is_available():
        print("SKIP: no CUDA GPU")
        return 77
    import elattn

    DTYPE = {"bf16": torch.bfloat16, "f16": torch.float16}[DTYPE_NAME]
    fracs = [] if DENSE_ONLY else FRACS
    flex = torch.compile(flex_attention, dynamic=False)
    dev = elattn.Device("cuda:0")
    group = HQ // HKV
    results, failed = [], False
    print(f"{torch.__version__} {torch.cuda.get_device_name()}; {DTYPE_NAME} Hq {HQ} Hkv {HKV} "
          f"D {D} sink {SINK} local {LOCAL}, causal, batch 1; one run of each operation per round, order rotating",
          flush=True)
    for S in LENS:
        rounds = int(os.environ.get("ROUNDS", "30" if S < 65536 else "8"))
        g = torch.Generator(device="cuda").manual_seed(S)
        # ours: [B, S, H, D]; the peers: [B, H, S, D], contiguous as peers.py makes them
        q = torch.randn(1, S, HQ, D, device="cuda", dtype=DTYPE, generator=g)
        k = torch.randn(1, S, HKV, D, device="cuda", dtype=DTYPE, generator=g)
        v = torch.randn(1, S, HKV, D, device="cuda", dtype=DTYPE, generator=g)
        qh, kh, vh = (x.transpose(1, 2).contiguous() for x in (q, k, v))
        out = torch.empty_like(q)

        ops = {}

        def ours(n_full):
            modes = [elattn.FULL] * n_full + [elattn.STREAMING] * (HKV - n_full)
            return lambda: elattn.hybrid_attention(q, k, v, modes, sink=SINK, local=LOCAL, out=out)

        ops["ours dense"] = ours(HKV)
        if not DENSE_ONLY:
            ops["ours fa-ssa:1"] = ours(0)
        for f in fracs:
            ops[f"ours fa-ssa:{f:g}"] = ours(n_full_heads(f, HKV))

        if not DENSE_ONLY:
            # XAttention's selection (estimation + block choice) for fa-xa:0.75's six BLOCK_SPARSE heads,
            # issue 11's "selection at 5% of dense", with dense timed in the same rounds
            xa_modes = [elattn.FULL] * n_full_heads(0.75, HKV) + [elattn.BLOCK_SPARSE] * (HKV - n_full_heads(0.75, HKV))
            mask = torch.empty((1, HKV, -(-S // 128), -(-S // 128)), device="cuda", dtype=torch.uint8)
            ops["ours xattn-select 0.75"] = lambda: elattn.xattn_select(q, k, xa_modes, threshold=0.9, stride=16,
                                                                         block_size=128, out=mask)

        def cudnn():
            with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                return F.scaled_dot_product_attention(qh, kh, vh, is_causal=True, enable_gqa=True)

        ops["cudnn dense"] = cudnn

        def streaming_mask(b, h, qi, ki):
            return (qi >= ki) & ((ki < SINK) | (qi - ki < LOCAL))

        sbm = create_block_mask(streaming_mask, None, None, S, S, device="cuda", _compile=True) if fracs else None
        serial_inputs = {}
        for f in fracs:
            nf = n_full_heads(f, HKV)
            nq = nf * group
            serial_inputs[f] = (qh[:, :nq].contiguous(), kh[:, :nf].repeat_interleave(group, dim=1).contiguous(),
                                vh[:, :nf].repeat_interleave(group, dim=1).contiguous(), qh[:, nq:].contiguous(),
                                kh[:, nf:].contiguous(), vh[:, nf:].contiguous(), nq)

            def serial(f=f):
                qf, kf, vf, qs, ks, vs, nq = serial_inputs[f]
                o = torch.empty_like(qh)
                with sdpa_kernel([SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION]):
                    o[:, :nq] = F.scaled_dot_product_attention(qf, kf, vf, is_causal=True)
                o[:, nq:] = flex(qs, ks, vs, block_mask=sbm, enable_gqa=True)
                return o

            ops[f"serial {f:g}"] = serial

        # warm-up (flex compiles here); a peer that cannot run this shape is left out, and says so
        for name in list(ops):
            try:
                ops[name]()
                torch.cuda.synchronize()
            except Exception as ex:  # e.g. cuDNN without a kernel for this head dim
                if name.startswith("ours"):
                    raise
                print(f"S={S} {name}: left out, it failed: {str(ex)[:200]}", flush=True)
                del ops[name]
        # the output checks: ours dense against cuDNN, each mix against the serial composition
        checks = {}
        pairs = [("dense", "ours dense", "cudnn dense")] + [(f"fa-ssa:{f:g}", f"ours fa-ssa:{f:g}", f"serial {f:g}")
                                                            for f in fracs]
        for label, mine_op, peer_op in pairs:
            if peer_op not in ops:
                continue
            ops[mine_op]()
            mine = out.transpose(1, 2).float()
            theirs = ops[peer_op]().float()
            err = ((mine - theirs).norm() / theirs.norm()).item()
            checks[label] = err
            ok = err < REL_ERR_LIMIT
            failed |= not ok
            print(f"S={S} {label}: ours against {peer_op}, relative error {err:.2e} "
                  f"({'ok' if ok else 'FAILED'}, limit {REL_ERR_LIMIT:g})", flush=True)
            del mine, theirs
        torch.cuda.empty_cache()

        names = list(ops)
        times = {n: [] for n in names}
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for n in order:
                times[n].append(timed(ops[n]))

        def stats(n):
            xs = sorted(times[n])
            qs = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
            return {"median": statistics.median(xs), "p25": qs[0], "p75": qs[2], "min": xs[0], "reps": len(xs)}

        st = {n: stats(n) for n in names}
        med = {n: st[n]["median"] for n in names}
        dense_tflops = 2.0 * S * S * D * HQ / (med["ours dense"] * 1e-3) / 1e12
        print(f"\nS={S}: {rounds} rounds; median ms [p25 - p75]", flush=True)
        for n in names:
            print(f"  {n:18s} {med[n]:9.3f}  [{st[n]['p25']:.3f} - {st[n]['p75']:.3f}]", flush=True)
        vs_cudnn = med["cudnn dense"] / med["ours dense"] if "cudnn dense" in med else None
        print(f"  ours dense {dense_tflops:.0f} TFLOP/s; cuDNN dense / ours dense: "
              f"{'-' if vs_cudnn is None else f'{vs_cudnn:.3f}x'}", flush=True)
        if "ours xattn-select 0.75" in med:
            print(f"  XAttention selection (fa-xa:0.75, random inputs): {med['ours xattn-select 0.75']:.3f} ms = "
                  f"{100 * med['ours xattn-select 0.75'] / med['ours dense']:.1f}% of ours dense", flush=True)
        fracs_run = [f for f in fracs if f"serial {f:g}" in med]
        ratios = mix_ratios(med, fracs_run)
        for f in fracs_run:
            r = ratios[f"{f:g}"]
            print(f"  fa-ssa:{f:g}: {r['ms']:.3f} ms = {r['x_ideal']:.3f}x its ideal {r['ideal_ms']:.3f} "
                  f"({1 - f:g} x dense + {f:g} x fa-ssa:1); the serial composition takes "
                  f"{r['serial_over_ours']:.3f}x ours", flush=True)
        results.append({"S": S, "rounds": rounds, "stats": st, "dense_tflops": dense_tflops,
                        "cudnn_over_ours_dense": vs_cudnn, "mixes": ratios,
                        "rel_err_vs_peer": checks})
        del q, k, v, qh, kh, vh, out, ops, serial_inputs
        torch.cuda.empty_cache()

    meta = {"dtype": DTYPE_NAME, "heads": f"{HQ}:{HKV}", "D": D, "sink": SINK, "local": LOCAL,
            "torch": torch.__version__, "device": torch.cuda.get_device_name(),
            "method": "one run of each operation per round, order rotating; each run behind a GPU spin"}
    path = os.path.join(os.environ.get("OUT", "/tmp"), "interleaved.json")
    with open(path, "w") as fh:
        json.dump({"meta": meta, "results": results}, fh, indent=1)
    print(f"json: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

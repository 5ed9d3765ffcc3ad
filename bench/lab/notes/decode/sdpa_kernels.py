#!/usr/bin/env python3
"""What PyTorch's SDPA runs on the GPU, kernel by kernel (torch.profiler, CUPTI device times).

    python3 sdpa_kernels.py decode   # one new token, K/V [1, Hkv, L, D], cuDNN and flash, GQA or folded
    python3 sdpa_kernels.py dense    # prefill [1, H, S, D] at each D of DIMS, cuDNN and flash (CAUSAL=0: non-causal)

Environment: LENS (decode: 8192,32768,131072; dense: 8192,32768), DIMS (dense: 96,192,256),
DTYPE bf16|f16, HEADS 32:8, REPS 20, CAUSAL 1|0 (dense only; default 1). Decode flushes L2 (a 256 MiB buffer zeroed) before each rep,
as elattn-decode-bench does. Prints per configuration: the event-timed call (median, ms or us)
and each kernel's median device time, so a call's time splits into kernels and the rest.
"""
import os
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.profiler import ProfilerActivity, profile

dt = {"bf16": torch.bfloat16, "f16": torch.float16}[os.environ.get("DTYPE", "bf16")]
HQ, HKV = (int(x) for x in os.environ.get("HEADS", "32:8").split(":"))
REPS = int(os.environ.get("REPS", "20"))
BACKENDS = [("cudnn", SDPBackend.CUDNN_ATTENTION), ("flash", SDPBackend.FLASH_ATTENTION)]


def ints(name, default):
    return [int(x) for x in os.environ.get(name, default).split(",")]


def timed(fn, flush):
    """Event-timed medians of REPS calls (after 3 warm-ups), and the profiler's kernels."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(REPS):
            if flush is not None:
                flush.zero_()
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            torch.cuda.synchronize()
            times.append(s.elapsed_time(e))
    kernels = {}
    for ev in prof.events():
        if ev.device_type == torch.autograd.DeviceType.CUDA and "zero" not in ev.name and "fill" not in ev.name:
            kernels.setdefault(ev.name, []).append(ev.device_time if hasattr(ev, "device_time") else ev.cuda_time)
    return statistics.median(times), kernels


def show(label, ms, kernels, unit_us):
    scale, unit = (1000.0, "us") if unit_us else (1.0, "ms")
    print(f"{label}: call {ms * scale:.2f} {unit} (median of {REPS})", flush=True)
    for name, ts in kernels.items():
        # profiler device times are in us
        print(f"    kernel x{len(ts)} median {statistics.median(ts) / (1.0 if unit_us else 1000.0):.3f} {unit}  {name[:110]}")


def decode():
    D = int(os.environ.get("D", "128"))
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    for L in ints("LENS", "8192,32768,131072"):
        torch.manual_seed(0)
        q = torch.randn(1, HQ, 1, D, device="cuda", dtype=dt)
        k = torch.randn(1, HKV, L, D, device="cuda", dtype=dt)
        v = torch.randn(1, HKV, L, D, device="cuda", dtype=dt)
        qf = q.view(1, HKV, HQ // HKV, D)  # "fold": a KV head's query heads as its query rows
        calls = {"gqa": lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                 "fold": lambda: F.scaled_dot_product_attention(qf, k, v)}
        for name, be in BACKENDS:
            for variant, call in calls.items():
                try:
                    with sdpa_kernel(be):
                        ms, ks = timed(call, flush)
                    show(f"decode L={L} B=1 D={D} sdpa-{name}/{variant}", ms, ks, True)
                except Exception as exc:  # a backend that refuses this shape
                    print(f"decode L={L} B=1 D={D} sdpa-{name}/{variant}: refused: {str(exc).splitlines()[0][:150]}",
                          flush=True)
        del q, k, v
        torch.cuda.empty_cache()


def dense():
    causal = os.environ.get("CAUSAL", "1") == "1"
    kind = "dense" if causal else "dense-noncausal"
    for D in ints("DIMS", "96,192,256"):
        for S in ints("LENS", "8192,32768"):
            torch.manual_seed(0)
            q = torch.randn(1, HQ, S, D, device="cuda", dtype=dt)
            k = torch.randn(1, HKV, S, D, device="cuda", dtype=dt)
            v = torch.randn(1, HKV, S, D, device="cuda", dtype=dt)
            flops = (2.0 if causal else 4.0) * S * S * D * HQ  # 4 S^2 D per head, half of it when causal
            for name, be in BACKENDS:
                try:
                    with sdpa_kernel(be):
                        ms, ks = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True), None)
                    show(f"{kind} S={S} D={D} {os.environ.get('DTYPE', 'bf16')} sdpa-{name} "
                         f"({flops / (ms * 1e-3) / 1e12:.0f} TFLOP/s)", ms, ks, False)
                except Exception as exc:
                    print(f"{kind} S={S} D={D} sdpa-{name}: refused: {str(exc).splitlines()[0][:150]}", flush=True)
            del q, k, v
            torch.cuda.empty_cache()


if __name__ == "__main__":
    print(torch.__version__, torch.cuda.get_device_name(), flush=True)
    {"decode": decode, "dense": dense}[sys.argv[1] if len(sys.argv) > 1 else "decode"]()

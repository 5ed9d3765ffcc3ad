#!/usr/bin/env python3
"""Lab check (twenty-first session, issue 14): do steps that read memory run slow right after a
large device allocation is freed, outside elattn too? Calls 144-145 found elattn-decode-bench's
first 25-60+ steps after a freed multi-GiB cache up to 14% slow. Here torch's cuDNN SDPA decode
step (128K x 1, Hq 32 / Hkv 8, D 128, bf16; reads 512 MiB, ten times L2) is timed back to back,
each step's time and its start (host clock, ms since the event) printed in summary:
  base     no allocation change
  held     a FREE_GIB (default 32) GiB tensor allocated and written, still held
  free     right after freeing it (torch.cuda.empty_cache: cudaFree)
  realloc  after allocating, writing and freeing it again, then allocating FREE_GIB / 2 GiB
  later    the same again, straight after
usage: python3 free_phase.py (on the GPU machine). Run once as call 147: inconclusive, each step is
timed alone with no lead, so the events take in torch's host dispatch (bench/results/2026-12-06-nvidia-h100)."""
import os
import time

import torch

F = torch.nn.functional
dev = torch.device("cuda", 0)
L, HQ, HKV, D = 131072, 32, 8, 128
q = torch.randn(1, HQ, 1, D, dtype=torch.bfloat16, device=dev)
k = torch.randn(1, HKV, L, D, dtype=torch.bfloat16, device=dev)
v = torch.randn(1, HKV, L, D, dtype=torch.bfloat16, device=dev)
gib = float(os.environ.get("FREE_GIB", "32"))
from torch.nn.attention import SDPBackend, sdpa_kernel


def step():
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)


def run(tag, n=120):
    """n steps, each alone between events (synchronized), with its start time since the call."""
    t0 = time.perf_counter()
    rows = []
    for _ in range(n):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        at = (time.perf_counter() - t0) * 1e3
        s.record()
        step()
        e.record()
        e.synchronize()
        rows.append((at, s.elapsed_time(e) * 1e3))
    us = sorted(r[1] for r in rows)
    fast = us[len(us) // 4]
    slow = [r for r in rows if r[1] > 1.05 * fast]
    last_slow = max((r[0] for r in slow), default=0.0)
    print("%-8s median %.1f us, p10 %.1f, p90 %.1f; %d of %d steps > 1.05 x p25, the last starting %.1f ms in; "
          "first ten: %s" % (tag, us[len(us) // 2], us[len(us) // 10], us[9 * len(us) // 10], len(slow), n,
                             last_slow, " ".join("%.0f" % r[1] for r in rows[:10])), flush=True)


for _ in range(20):
    step()
torch.cuda.synchronize()
run("base")
big = torch.ones(int(gib * 2**30), dtype=torch.uint8, device=dev)
torch.cuda.synchronize()
run("held")  # the big tensor allocated and written, still held
del big
torch.cuda.empty_cache()
run("free")
big = torch.ones(int(gib * 2**30), dtype=torch.uint8, device=dev)
torch.cuda.synchronize()
del big
torch.cuda.empty_cache()
other = torch.empty(int(gib / 2 * 2**30), dtype=torch.uint8, device=dev)
run("realloc")
run("later")

"""Decode steps of one layer from a CUDA graph, with PyTorch tensors: a KVCache on the GPU, a DecodeBatch
captured once by torch.cuda.graph, then per step an append (outside the graph, on the same stream) and a
replay. Checks every replayed step against an eager decode of the same step (plain, no batch) and times
both: the wall time of a step's decode call as Python sees it (host work included, the stream synchronised
after each), eager against replay.

    ELATTN_LIBRARY=build/api/src python3 python/examples/decode_graph_torch.py [--len 32768] [--batch 1]

Exit 0 pass, 1 fail, 77 without torch or a CUDA GPU.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
try:
    import torch
except ImportError:
    print("SKIP: no torch")
    sys.exit(77)
if not torch.cuda.is_available():
    print("SKIP: no CUDA GPU")
    sys.exit(77)
import numpy as np  # noqa: E402

import elattn  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--len", type=int, default=32768, help="prefill length of every sequence")
    ap.add_argument("--batch", type=int, default=1, help="sequences")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--hq", type=int, default=32)
    ap.add_argument("--hkv", type=int, default=8)
    ap.add_argument("--dim", type=int, default=128)
    a = ap.parse_args()
    dev = elattn.Device("cuda:0")
    page, max_tokens = 16, a.len + a.steps + 1
    pages = a.batch * a.hkv * (-(-max_tokens // page))
    cache = elattn.KVCache(dev, dtype="bf16", head_dim=a.dim, num_kv_heads=a.hkv, num_pages=pages,
                           max_sequences=a.batch, max_tokens=max_tokens, page_size=page, max_new_tokens=1)
    ids, ones = list(range(a.batch)), [1] * a.batch
    # fa-ssa:0.75: two of every eight KV heads FULL, the rest STREAMING
    modes = np.array([[elattn.FULL if h % 4 == 0 else elattn.STREAMING for h in range(a.hkv)]] * a.batch, np.int32)
    g = torch.Generator(device="cuda").manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, device="cuda", dtype=torch.bfloat16, generator=g)

    stream = torch.cuda.current_stream()
    cache.append(ids, [a.len] * a.batch, rand(a.len * a.batch, a.hkv, a.dim), rand(a.len * a.batch, a.hkv, a.dim),
                 modes, stream=stream)
    batch = cache.decode_batch(ids, ones, num_q_heads=a.hq)
    q_static = rand(a.batch, a.hq, a.dim)
    o_static = torch.empty_like(q_static)

    # warm up on a side stream, as torch.cuda.graph wants, then capture the batch's run once
    side = torch.cuda.Stream()
    side.wait_stream(stream)
    with torch.cuda.stream(side):
        cache.decode(q_static, batch=batch, out=o_static, stream=side)
    stream.wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, capture_error_mode="thread_local"):
        cache.decode(q_static, batch=batch, out=o_static, stream=torch.cuda.current_stream())

    worst, t_eager, t_graph = 0.0, [], []
    for step in range(a.steps):
        cache.append(ids, ones, rand(a.batch, a.hkv, a.dim), rand(a.batch, a.hkv, a.dim), stream=stream)
        q_static.copy_(rand(a.batch, a.hq, a.dim))
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        graph.replay()
        torch.cuda.synchronize()
        t_graph.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        o_eager = cache.decode(q_static, ids, ones, stream=stream)
        torch.cuda.synchronize()
        t_eager.append(time.perf_counter() - t0)
        # the replay must see this step's length, as the eager run does (same split counts: the policy's
        # choice at these lengths may differ from the batch's by rounding only)
        worst = max(worst, (o_static.float() - o_eager.float()).abs().max().item())
    lens = [cache.length(i) for i in ids]
    ok = worst <= 2e-2 and lens == [a.len + a.steps] * a.batch
    print(f"{a.steps} steps, batch {a.batch}, lengths {a.len} -> {lens[0]}, kernel "
          f"{cache.kernel_name(a.hq, num_seqs=a.batch)}: max |graph - eager| {worst:.3g}")
    print(f"decode step as Python sees it (us, median of {a.steps}, synchronised): eager "
          f"{1e6 * float(np.median(t_eager)):.1f}, graph replay {1e6 * float(np.median(t_graph)):.1f}")
    batch.close()
    cache.close()
    print("PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

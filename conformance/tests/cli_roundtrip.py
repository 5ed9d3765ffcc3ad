#!/usr/bin/env python3
"""Round trip of elattn-run on the reference backend, checked with NumPy.

usage: cli_roundtrip.py PATH/TO/elattn-run [--backend NAME]

Writes inputs as .npy, runs elattn-run, and checks
  - attn: O and LSE of a small FULL/STREAMING varlen case against a NumPy
    computation, in fp32, fp16 and bf16 (bits as uint16);
  - xattn: the mask against a NumPy version of the antidiagonal selection;
  - router: logits and decisions against a NumPy MLP;
  - decode: one step over the per-head cache against NumPy attention over the whole history
    (BLOCK_SPARSE as FULL), at page budget 0 and at a budget above every head's page count (Quest
    then reads every page); a budget of 1 must change the BLOCK_SPARSE heads' rows, and only theirs;
  - every written file loads back with the right shape and dtype;
  - a second run reproduces the first run's outputs used as golden files;
  - bad input exits with 2 and a message naming the argument.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

FULL, STREAMING, BLOCK_SPARSE = 0, 1, 2
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(exe, args, expect_rc=0):
    p = subprocess.run([exe] + args, capture_output=True, text=True)
    if p.returncode != expect_rc:
        print(p.stdout, p.stderr, file=sys.stderr)
    return p


# ---- bf16 helpers (round to nearest even, as the library) -----------------------------
def to_bf16_bits(x):
    b = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return b.astype(np.uint16)


def from_bf16_bits(b):
    return (np.asarray(b, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


# ---- NumPy attention --------------------------------------------------------------------
def np_attention(q, k, v, cu_q, cu_k, modes, causal, sink, local, scale):
    total_q, hq, d = q.shape
    hkv = k.shape[1]
    group = hq // hkv
    o = np.zeros((total_q, hq, d))
    lse = np.full((total_q, hq), -np.inf)
    for b in range(len(cu_q) - 1):
        lq, lk = cu_q[b + 1] - cu_q[b], cu_k[b + 1] - cu_k[b]
        p = np.arange(lq)[:, None] + (lk - lq)
        j = np.arange(lk)[None, :]
        for h in range(hq):
            hk = h // group
            qs = q[cu_q[b]:cu_q[b + 1], h].astype(np.float64)
            ks = k[cu_k[b]:cu_k[b + 1], hk].astype(np.float64)
            vs = v[cu_k[b]:cu_k[b + 1], hk].astype(np.float64)
            vis = (j <= p) if causal else np.ones((lq, lk), bool)
            if modes[b][hk] == STREAMING:
                dist = (p - j) if causal else np.abs(p - j)
                vis = vis & ((j < sink) | (dist < local))
            s = np.where(vis, qs @ ks.T * scale, -np.inf)
            m = s.max(axis=1, keepdims=True)
            rows = np.isfinite(m[:, 0])
            e = np.where(vis, np.exp(s - np.where(np.isfinite(m), m, 0)), 0.0)
            den = e.sum(axis=1, keepdims=True)
            out = np.where(rows[:, None], (e @ vs) / np.where(den > 0, den, 1), 0.0)
            o[cu_q[b]:cu_q[b + 1], h] = out
            lse[cu_q[b]:cu_q[b + 1], h] = np.where(rows, m[:, 0] + np.log(np.where(den[:, 0] > 0, den[:, 0], 1)), -np.inf)
    return o, lse


def attn_case(exe, backend, tmp, dtype_name):
    rng = np.random.default_rng({"f32": 1, "f16": 2, "bf16": 3}[dtype_name])
    hq, hkv, d = 4, 2, 64
    cu = np.array([0, 37, 87], dtype=np.int32)
    total = int(cu[-1])
    q32 = rng.standard_normal((total, hq, d)).astype(np.float32)
    k32 = rng.standard_normal((total, hkv, d)).astype(np.float32)
    v32 = rng.standard_normal((total, hkv, d)).astype(np.float32)
    if dtype_name == "f32":
        q, k, v = q32, k32, v32
        qf, kf, vf = q, k, v
    elif dtype_name == "f16":
        q, k, v = q32.astype(np.float16), k32.astype(np.float16), v32.astype(np.float16)
        qf, kf, vf = q.astype(np.float32), k.astype(np.float32), v.astype(np.float32)
    else:
        q, k, v = to_bf16_bits(q32), to_bf16_bits(k32), to_bf16_bits(v32)
        qf, kf, vf = from_bf16_bits(q), from_bf16_bits(k), from_bf16_bits(v)
    modes = np.array([[FULL, STREAMING], [STREAMING, FULL]], dtype=np.int32)
    ind = os.path.join(tmp, "attn_in_" + dtype_name)
    outd = os.path.join(tmp, "attn_out_" + dtype_name)
    gold = os.path.join(tmp, "attn_gold_" + dtype_name)
    for p in (ind, outd, gold):
        os.makedirs(p)
    for name, arr in (("q", q), ("k", k), ("v", v), ("cu_seqlens_q", cu), ("cu_seqlens_k", cu), ("modes", modes)):
        np.save(os.path.join(ind, name + ".npy"), arr)
    sink, local = 4, 16
    args = ["attn", "--backend", backend, "--in", ind, "--causal", "1", "--sink", str(sink), "--local", str(local),
            "--block", "64", "--lse"]
    p = run(exe, args + ["--out", gold])
    check(p.returncode == 0, f"attn {dtype_name}: elattn-run exits 0")
    if p.returncode != 0:
        return
    o = np.load(os.path.join(gold, "o.npy"))
    lse = np.load(os.path.join(gold, "lse.npy"))
    check(o.shape == q.shape and o.dtype == q.dtype, f"attn {dtype_name}: o.npy shape {o.shape} dtype {o.dtype}")
    check(lse.shape == (total, hq) and lse.dtype == np.float32, f"attn {dtype_name}: lse.npy shape {lse.shape} dtype {lse.dtype}")
    ref_o, ref_lse = np_attention(qf, kf, vf, cu, cu, modes, True, sink, local, 1.0 / np.sqrt(d))
    of = from_bf16_bits(o) if dtype_name == "bf16" else o.astype(np.float32)
    # the output's own rounding: fp32 ~1e-6, fp16 half an ulp (2^-11 relative), bf16 2^-8
    u = {"f32": 1e-6, "f16": 2.0 ** -11, "bf16": 2.0 ** -8}[dtype_name]
    err = np.abs(of - ref_o).max()
    check(err <= 2 * u * np.abs(vf).max(), f"attn {dtype_name}: max |O - numpy| {err:.3g}")
    lerr = np.abs(lse - ref_lse).max()
    check(lerr < 1e-4, f"attn {dtype_name}: max |LSE - numpy| {lerr:.3g}")
    # golden re-run: the reference is deterministic, so bit for bit
    p = run(exe, args + ["--out", outd])
    same = p.returncode == 0 and all(
        np.array_equal(np.load(os.path.join(outd, f)), np.load(os.path.join(gold, f)), equal_nan=True)
        for f in ("o.npy", "lse.npy"))
    check(same, f"attn {dtype_name}: re-run matches the golden files")


def decode_case(exe, backend, tmp, dtype_name):
    rng = np.random.default_rng({"f32": 11, "bf16": 13}[dtype_name])
    hq, hkv, d, page, sink, local = 4, 2, 64, 4, 3, 9
    cu_k = np.array([0, 40, 47, 107], dtype=np.int32)   # histories: 40, 7, 60 rows
    cu_q = np.array([0, 1, 4, 20], dtype=np.int32)      # of which the step's: 1, 3, 16
    q32 = rng.standard_normal((int(cu_q[-1]), hq, d)).astype(np.float32)
    k32 = rng.standard_normal((int(cu_k[-1]), hkv, d)).astype(np.float32)
    v32 = rng.standard_normal((int(cu_k[-1]), hkv, d)).astype(np.float32)
    if dtype_name == "f32":
        q, k, v = q32, k32, v32
        qf, kf, vf = q, k, v
    else:
        q, k, v = to_bf16_bits(q32), to_bf16_bits(k32), to_bf16_bits(v32)
        qf, kf, vf = from_bf16_bits(q), from_bf16_bits(k), from_bf16_bits(v)
    modes = np.array([[BLOCK_SPARSE, STREAMING], [FULL, BLOCK_SPARSE], [STREAMING, BLOCK_SPARSE]], dtype=np.int32)
    ind = os.path.join(tmp, "decode_in_" + dtype_name)
    os.makedirs(ind)
    for name, arr in (("q", q), ("k", k), ("v", v), ("cu_seqlens_q", cu_q), ("cu_seqlens_k", cu_k), ("modes", modes)):
        np.save(os.path.join(ind, name + ".npy"), arr)
    dense_modes = np.where(modes == BLOCK_SPARSE, FULL, modes)
    ref_o, ref_lse = np_attention(qf, kf, vf, cu_q, cu_k, dense_modes, True, sink, local, 1.0 / np.sqrt(d))
    u = {"f32": 1e-6, "bf16": 2.0 ** -8}[dtype_name]
    outs = {}
    for budget in (0, 100, 1):
        outd = os.path.join(tmp, f"decode_out_{dtype_name}_{budget}")
        os.makedirs(outd)
        p = run(exe, ["decode", "--backend", backend, "--in", ind, "--out", outd, "--sink", str(sink), "--local",
                      str(local), "--page", str(page), "--page-budget", str(budget), "--lse"])
        check(p.returncode == 0, f"decode {dtype_name} budget {budget}: elattn-run exits 0")
        if p.returncode != 0:
            return
        o = np.load(os.path.join(outd, "o.npy"))
        check(o.shape == q.shape and o.dtype == q.dtype, f"decode {dtype_name}: o.npy shape {o.shape} dtype {o.dtype}")
        outs[budget] = (from_bf16_bits(o) if dtype_name == "bf16" else o.astype(np.float32),
                        np.load(os.path.join(outd, "lse.npy")))
    for budget in (0, 100):
        err = np.abs(outs[budget][0] - ref_o).max()
        check(err <= 2 * u * np.abs(vf).max(), f"decode {dtype_name} budget {budget}: max |O - numpy| {err:.3g}")
        lerr = np.abs(outs[budget][1] - ref_lse).max()
        check(lerr < 1e-4, f"decode {dtype_name} budget {budget}: max |LSE - numpy| {lerr:.3g}")
    # budget 1: the BLOCK_SPARSE heads of the 40- and 60-row histories skip pages; every other head is as dense
    changed = np.zeros((int(cu_q[-1]), hq), bool)
    for b in range(3):
        for h in range(hq):
            rows = slice(cu_q[b], cu_q[b + 1])
            changed[rows, h] = np.abs(outs[1][0][rows, h] - outs[0][0][rows, h]).max(axis=-1) > 0
    sparse_rows = np.zeros_like(changed)
    for b in range(3):
        for h in range(hq):
            sparse_rows[cu_q[b]:cu_q[b + 1], h] = modes[b][h // (hq // hkv)] == BLOCK_SPARSE and cu_k[b + 1] - cu_k[b] > 8
    check(changed[sparse_rows].all() and not changed[~sparse_rows].any(),
          f"decode {dtype_name} budget 1: the rows that changed are those of BLOCK_SPARSE heads with skipped pages")


# ---- NumPy XAttention selection -------------------------------------------------------------
def np_xattn(q, k, stride, block, tau, causal):
    lq, hq, d = q.shape
    lk, hkv, _ = k.shape
    group = hq // hkv
    rows, cols = -(-lq // stride), -(-lk // stride)
    nqb, nkb = -(-lq // block), -(-lk // block)
    cells = block // stride
    scale = np.float32(1.0 / np.sqrt(d))
    mask = np.zeros((1, hkv, nqb, nkb), np.uint8)

    def last_pos(i, s):
        return min(i * s + s - 1, lq - 1) + (lk - lq)

    for hk in range(hkv):
        scores = np.zeros((nqb, nkb))
        for g in range(group):
            h = hk * group + g
            qt = np.zeros((rows, stride * d))
            kt = np.zeros((cols, stride * d))
            for t in range(stride):
                for i in range(rows):
                    qi = i * stride + stride - 1 - t
                    if qi < lq:
                        qt[i, t * d:(t + 1) * d] = q[qi, h]
                for j in range(cols):
                    kj = j * stride + t
                    if kj < lk:
                        kt[j, t * d:(t + 1) * d] = k[kj, hk]
            s = qt @ kt.T * float(scale) / stride
            for i in range(rows):
                vis = np.array([(not causal) or j * stride <= last_pos(i, stride) for j in range(cols)])
                if not vis.any():
                    continue
                row = np.where(vis, s[i], -np.inf)
                e = np.where(vis, np.exp(row - row.max()), 0.0)
                e /= e.sum()
                for j in range(cols):
                    scores[i // cells, j // cells] += e[j]
        for qb in range(nqb):
            total = scores[qb].sum()
            diag = min(max(last_pos(qb, block) // block, 0), nkb - 1)
            out = np.zeros(nkb, bool)
            out[0] = out[diag] = True
            kept = scores[qb, 0] + (scores[qb, diag] if diag else 0.0)
            while kept < tau * total:
                cand = [kb for kb in range(nkb) if not out[kb] and ((not causal) or kb * block <= last_pos(qb, block))]
                if not cand:
                    break
                best = max(cand, key=lambda kb: (scores[qb, kb], -kb))
                out[best] = True
                kept += scores[qb, best]
            mask[0, hk, qb] = out
    return mask


def xattn_case(exe, backend, tmp):
    rng = np.random.default_rng(7)
    l, hq, hkv, d, stride, block, tau = 300, 4, 2, 64, 8, 64, 0.8
    u = rng.standard_normal(d)
    q = (rng.standard_normal((l, hq, d)) + 0.3 * u).astype(np.float32)
    aff = rng.uniform(size=(hkv, -(-l // block))) ** 2
    k = rng.standard_normal((l, hkv, d))
    for hk in range(hkv):
        k[:, hk] += aff[hk][np.arange(l) // block][:, None] * u
    k = k.astype(np.float32)
    ind, outd = os.path.join(tmp, "x_in"), os.path.join(tmp, "x_out")
    os.makedirs(ind)
    os.makedirs(outd)
    np.save(os.path.join(ind, "q.npy"), q)
    np.save(os.path.join(ind, "k.npy"), k)
    p = run(exe, ["xattn", "--backend", backend, "--in", ind, "--out", outd, "--stride", str(stride), "--block",
                  str(block), "--tau", str(tau)])
    check(p.returncode == 0, "xattn: elattn-run exits 0")
    if p.returncode != 0:
        return
    m = np.load(os.path.join(outd, "block_mask.npy"))
    want = np_xattn(q, k, stride, block, tau, True)
    check(m.dtype == np.uint8 and m.shape == want.shape, f"xattn: block_mask.npy shape {m.shape} dtype {m.dtype}")
    check(np.array_equal(m, want), f"xattn: mask equals NumPy's ({int((m != want).sum())} cells differ, "
                                   f"{int(want.sum())} of {want.size} set)")


# ---- NumPy router ------------------------------------------------------------------------------
def silu(x):
    return x / (1.0 + np.exp(-x))


def router_case(exe, backend, tmp):
    rng = np.random.default_rng(11)
    d, hidden, hkv = 16, 64, 3
    cu = np.array([0, 50, 50 + 230], dtype=np.int32)
    keys = (rng.standard_normal((cu[-1], hkv, d)) + rng.standard_normal((1, hkv, d))).astype(np.float32)
    shapes = {"task_w1": (hidden, d), "task_b1": (hidden,), "task_w2": (d, hidden), "task_b2": (d,),
              "head_w1": (hidden, d), "head_b1": (hidden,), "head_w2": (d, hidden), "head_b2": (d,),
              "head_w3": (2, d), "head_b3": (2,)}
    w = {n: (rng.standard_normal(s) / np.sqrt(s[-1] if len(s) == 2 else 100)).astype(np.float32)
         for n, s in shapes.items()}
    def np_logits(w):
        out = np.zeros((2, hkv, 2))
        for b in range(2):
            x = keys[cu[b]:cu[b + 1]].astype(np.float64)
            n = len(x)
            pooled = x.mean(axis=0) if n < 200 else np.concatenate([x[:100], x[n - 100:]]).mean(axis=0)
            for h in range(hkv):
                t = w["task_w2"] @ silu(w["task_w1"] @ pooled[h] + w["task_b1"]) + w["task_b2"]
                r = silu(w["head_w2"] @ silu(w["head_w1"] @ t + w["head_b1"]) + w["head_b2"])
                out[b, h] = w["head_w3"] @ r + w["head_b3"]
        return out

    # centre the last bias so that both decisions occur
    diff = np_logits(w)[..., 1] - np_logits(w)[..., 0]
    w["head_b3"][1] -= np.float32(np.median(diff))
    want = np_logits(w)
    ind, outd = os.path.join(tmp, "r_in"), os.path.join(tmp, "r_out")
    os.makedirs(ind)
    os.makedirs(outd)
    np.save(os.path.join(ind, "keys.npy"), keys)
    np.save(os.path.join(ind, "cu_seqlens.npy"), cu)
    for n, a in w.items():
        np.save(os.path.join(ind, n + ".npy"), a)
    p = run(exe, ["router", "--backend", backend, "--in", ind, "--out", outd, "--modes", "full,streaming"])
    check(p.returncode == 0, "router: elattn-run exits 0")
    if p.returncode != 0:
        return
    modes = np.load(os.path.join(outd, "modes.npy"))
    logits = np.load(os.path.join(outd, "logits.npy"))
    check(modes.shape == (2, hkv) and modes.dtype == np.int32, f"router: modes.npy shape {modes.shape} {modes.dtype}")
    check(logits.shape == (2, hkv, 2) and logits.dtype == np.float32, f"router: logits.npy shape {logits.shape}")
    err = np.abs(logits - want).max()
    check(err < 1e-4 * max(1.0, np.abs(want).max()), f"router: max |logits - numpy| {err:.3g}")
    decided = np.where(want[..., 1] > want[..., 0], FULL, STREAMING)
    close = np.abs(want[..., 1] - want[..., 0]) < 1e-4
    check(bool(np.all((modes == decided) | close)), f"router: decisions {modes.tolist()}")


def ones_dir(tmp, name, shapes):
    """A folder of fp32 ones: {file stem: shape}."""
    path = os.path.join(tmp, name)
    os.makedirs(path)
    for n, s in shapes.items():
        np.save(os.path.join(path, n + ".npy"), np.ones(s, np.float32))
    return path


def error_cases(exe, backend, tmp):
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    p = run(exe, ["attn", "--backend", backend, "--in", empty, "--out", empty], expect_rc=2)
    check(p.returncode == 2 and "q.npy" in p.stderr, f"missing q.npy: exit {p.returncode}, says {p.stderr.strip()!r}")
    bad = ones_dir(tmp, "d100", {"q": (5, 2, 100), "k": (5, 1, 100), "v": (5, 1, 100)})
    p = run(exe, ["attn", "--backend", backend, "--in", bad, "--out", bad], expect_rc=2)
    check(p.returncode == 2 and "head_dim" in p.stderr, f"head dim 100 (not a multiple of 8): exit {p.returncode}, says {p.stderr.strip()!r}")
    big = os.path.join(tmp, "bigendian")
    os.makedirs(big)
    np.save(os.path.join(big, "q.npy"), np.ones((5, 2, 64), ">f4"))
    p = run(exe, ["attn", "--backend", backend, "--in", big, "--out", big], expect_rc=2)
    check(p.returncode == 2 and "big-endian" in p.stderr, f"big-endian q.npy: exit {p.returncode}")
    p = run(exe, ["attn", "--backend", "no-such-device", "--in", empty, "--out", empty], expect_rc=2)
    check(p.returncode == 2 and "name" in p.stderr, f"unknown backend: exit {p.returncode}")
    step = ones_dir(tmp, "decode17", {"q": (17, 2, 64), "k": (20, 1, 64), "v": (20, 1, 64)})  # 17 new tokens (16 at most)
    p = run(exe, ["decode", "--backend", backend, "--in", step, "--out", step], expect_rc=2)
    check(p.returncode == 2 and "cu_seqlens_q.npy" in p.stderr, f"decode of 17 new tokens: exit {p.returncode}, says {p.stderr.strip()!r}")
    q16 = ones_dir(tmp, "decode16", {"q": (16, 2, 64), "k": (20, 1, 64), "v": (20, 1, 64)})
    p = run(exe, ["decode", "--backend", backend, "--in", q16, "--out", q16, "--page-budget", "-1"], expect_rc=2)
    check(p.returncode == 2 and "page_budget" in p.stderr, f"decode --page-budget -1: exit {p.returncode}, says {p.stderr.strip()!r}")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    exe = sys.argv[1]
    backend = sys.argv[sys.argv.index("--backend") + 1] if "--backend" in sys.argv else "reference"
    with tempfile.TemporaryDirectory() as tmp:
        for dt in ("f32", "f16", "bf16"):
            attn_case(exe, backend, tmp, dt)
        xattn_case(exe, backend, tmp)
        router_case(exe, backend, tmp)
        for dt in ("f32", "bf16"):
            decode_case(exe, backend, tmp, dt)
        error_cases(exe, backend, tmp)
    print(f"cli round trip: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""An independent oracle for hybrid-head attention.

A NumPy implementation written from shared/notes/semantics.md (not from the C
reference), compared with the library through its command-line tool:

    elattn-run attn --backend NAME --in DIR --out DIR [--causal 0|1] [--sink N]
        [--local N] [--block N] [--scale F] [--lse]

If the `onnx` package can be imported, FULL attention (causal and not, Lq == Lk)
is also compared with onnx.reference's Attention operator (opset 23). If it
cannot, that comparison is reported as skipped, never as passed.

Prints one line per check and ends with
"numpy_oracle: N passed, M failed, K skipped"; exits nonzero when M > 0.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

FULL, STREAMING, BLOCK_SPARSE = 0, 1, 2

passed = failed = skipped = 0


def report(ok, text):
    global passed, failed
    print(("PASS " if ok else "FAIL ") + text, flush=True)
    if ok:
        passed += 1
    else:
        failed += 1


def skip(text):
    global skipped
    print("SKIP " + text, flush=True)
    skipped += 1


# ---- storage dtypes ---------------------------------------------------------
def to_bf16_bits(x):
    """float32 -> bf16 bits, round to nearest even (finite inputs)."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def from_bf16_bits(b):
    return (np.asarray(b, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def store(x, dtype):
    """The array as the library stores it, and its values as float64."""
    if dtype == "f32":
        a = x.astype("<f4")
        return a, a.astype(np.float64)
    if dtype == "f16":
        a = x.astype("<f2")
        return a, a.astype(np.float64)
    a = to_bf16_bits(x.astype(np.float32)).astype("<u2")
    return a, from_bf16_bits(a).astype(np.float64)


def load(a, dtype):
    if dtype == "bf16":
        return from_bf16_bits(a).astype(np.float64)
    return a.astype(np.float64)


def nonzero_uniform(rng, shape):
    """Values in [-1, -0.05] U [0.05, 1]: no zeros, so zeros written by a kernel show."""
    mag = rng.uniform(0.05, 1.0, size=shape)
    return np.where(rng.random(shape) < 0.5, -mag, mag)


# ---- the oracle, from the semantics table -------------------------------------
def visible(mode, causal, lq, lk, sink, local, block, head_mask):
    """[lq, lk] boolean: which keys each query of one (element, KV head) sees."""
    i = np.arange(lq)[:, None]
    j = np.arange(lk)[None, :]
    pos = i + (lk - lq)  # bottom-right alignment
    ok = (j <= pos) if causal else np.ones((lq, lk), dtype=bool)
    if mode == FULL:
        return ok
    if mode == STREAMING:
        dist = pos - j if causal else np.abs(pos - j)  # two-sided window without causality
        return ok & ((j < sink) | (dist < local))
    cells = head_mask[np.arange(lq)[:, None] // block, np.arange(lk)[None, :] // block]
    return ok & (cells != 0)


def hybrid_attention(q, k, v, cu_q, cu_k, modes, mask, causal, sink, local, block, scale):
    """q [Tq, Hq, D], k/v [Tk, Hkv, D] float64 -> O [Tq, Hq, D], LSE [Tq, Hq]."""
    hq, hkv = q.shape[1], k.shape[1]
    group = hq // hkv
    o = np.zeros(q.shape)
    lse = np.full(q.shape[:2], -np.inf)
    for b in range(len(cu_q) - 1):
        q0, q1, k0, k1 = cu_q[b], cu_q[b + 1], cu_k[b], cu_k[b + 1]
        lq, lk = q1 - q0, k1 - k0
        if lq == 0:
            continue
        for h in range(hq):
            hk = h // group
            vis = visible(modes[b, hk], causal, lq, lk, sink, local, block,
                          None if mask is None else mask[b, hk])
            s = (q[q0:q1, h] @ k[k0:k1, hk].T) * scale
            s = np.where(vis, s, -np.inf)
            live = vis.any(axis=1)
            m = np.where(live, s.max(axis=1, initial=-np.inf), 0.0)
            w = np.where(vis, np.exp(s - m[:, None]), 0.0)
            den = w.sum(axis=1)
            safe = np.where(live, den, 1.0)
            o[q0:q1, h] = np.where(live[:, None], (w @ v[k0:k1, hk]) / safe[:, None], 0.0)
            lse[q0:q1, h] = np.where(live, m + np.log(safe), -np.inf)
    return o, lse


# ---- running the library --------------------------------------------------------
def run_cli(exe, backend, case, workdir):
    indir = os.path.join(workdir, "in")
    outdir = os.path.join(workdir, "out")
    os.makedirs(indir, exist_ok=True)
    os.makedirs(outdir, exist_ok=True)
    for name in ("q", "k", "v", "cu_seqlens_q", "cu_seqlens_k", "modes", "block_mask"):
        path = os.path.join(indir, name + ".npy")
        if os.path.exists(path):
            os.remove(path)
        if case.get(name) is not None:
            np.save(path, case[name])
    for name in ("o.npy", "lse.npy"):
        path = os.path.join(outdir, name)
        if os.path.exists(path):
            os.remove(path)
    cmd = [exe, "attn", "--backend", backend, "--in", indir, "--out", outdir,
           "--causal", str(case["causal"]), "--sink", str(case["sink"]), "--local", str(case["local"]),
           "--block", str(case["block"]), "--lse"]
    if case.get("scale") is not None:
        cmd += ["--scale", repr(float(case["scale"]))]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, None, "exit %d: %s" % (r.returncode, (r.stderr or r.stdout).strip()[-300:])
    return np.load(os.path.join(outdir, "o.npy")), np.load(os.path.join(outdir, "lse.npy")), ""


# Error allowed for a backend that accumulates in fp32 and rounds O once to
# the storage dtype: relative (about one ulp of the dtype) plus absolute.
TOL = {"f32": (2e-6, 2e-5), "f16": (2.0 ** -10, 2e-4), "bf16": (2.0 ** -7, 2e-3)}


def make_case(rng, dtype, hq, hkv, d, lens, causal, sink, local, block, modes=None, scale=None,
              mask_density=0.5):
    lq = np.array([a for a, _ in lens], dtype=np.int32)
    lk = np.array([b for _, b in lens], dtype=np.int32)
    cu_q = np.concatenate([[0], np.cumsum(lq)]).astype("<i4")
    cu_k = np.concatenate([[0], np.cumsum(lk)]).astype("<i4")
    batch = len(lens)
    q, qd = store(nonzero_uniform(rng, (int(cu_q[-1]), hq, d)), dtype)
    k, kd = store(nonzero_uniform(rng, (int(cu_k[-1]), hkv, d)), dtype)
    v, vd = store(nonzero_uniform(rng, (int(cu_k[-1]), hkv, d)), dtype)
    if modes is None:
        modes = rng.integers(0, 3, size=(batch, hkv))
        modes.flat[:3] = [FULL, STREAMING, BLOCK_SPARSE][: modes.size]  # every mode present
    modes = np.asarray(modes, dtype="<i4").reshape(batch, hkv)
    nqb = -(-max(1, int(lq.max())) // block)
    nkb = -(-max(1, int(lk.max())) // block)
    mask = None
    if (modes == BLOCK_SPARSE).any():
        mask = (rng.random((batch, hkv, nqb, nkb)) < mask_density).astype(np.uint8)
    return dict(dtype=dtype, q=q, k=k, v=v, qd=qd, kd=kd, vd=vd, cu_seqlens_q=cu_q, cu_seqlens_k=cu_k,
                modes=modes, block_mask=mask, causal=causal, sink=sink, local=local, block=block,
                scale=scale, d=d)


def compare(case, o_got, lse_got, label):
    scale = case["scale"] if case["scale"] is not None else 1.0 / np.sqrt(case["d"])
    scale = float(np.float32(scale))
    o_want, lse_want = hybrid_attention(case["qd"], case["kd"], case["vd"], case["cu_seqlens_q"],
                                        case["cu_seqlens_k"], case["modes"], case["block_mask"],
                                        case["causal"], case["sink"], case["local"], case["block"], scale)
    if o_got.shape != o_want.shape or lse_got.shape != lse_want.shape:
        report(False, "%s: shapes o %s lse %s, expected %s %s" % (label, o_got.shape, lse_got.shape,
                                                                   o_want.shape, lse_want.shape))
        return
    o = load(o_got, case["dtype"])
    rel, ab = TOL[case["dtype"]]
    o_err = np.abs(o - o_want)
    o_bad = int(np.count_nonzero(~(o_err <= rel * np.abs(o_want) + ab)))  # NaN counts as bad
    empty = np.isneginf(lse_want)
    lse = lse_got.astype(np.float64)
    lse_bad = int(np.count_nonzero(empty != np.isneginf(lse)))
    fin = ~empty
    lse_err = np.abs(lse[fin] - lse_want[fin])
    lse_bad += int(np.count_nonzero(~(lse_err <= 1e-5 * np.abs(lse_want[fin]) + 1e-5)))
    report(o_bad == 0 and lse_bad == 0,
           "%s: %d O and %d LSE mismatches (max O err %.3g, max LSE err %.3g, %d empty rows)"
           % (label, o_bad, lse_bad, float(o_err.max(initial=0.0)), float(lse_err.max(initial=0.0)),
              int(empty.sum())))


def oracle_cases(rng):
    mixed = [(37, 37), (13, 50), (1, 33)]
    yield "f32 causal GQA 4/2 D=64 mixed modes, varlen with Lq < Lk", make_case(
        rng, "f32", 4, 2, 64, mixed, 1, 4, 16, 16)
    yield "f32 non-causal GQA 4/2 D=64 mixed modes (two-sided window)", make_case(
        rng, "f32", 4, 2, 64, mixed, 0, 4, 16, 16)
    yield "f16 causal MQA 3/1 D=64 mixed, an empty query element, scale 0.2", make_case(
        rng, "f16", 3, 1, 64, [(40, 40), (0, 17), (21, 64)], 1, 2, 9, 16, scale=0.2)
    yield "bf16 causal GQA 6/2 D=128 mixed, block 32", make_case(
        rng, "bf16", 6, 2, 128, [(77, 77), (30, 95)], 1, 8, 24, 32)
    yield "bf16 non-causal MHA 2/2 D=64 all BLOCK_SPARSE, sparse mask (empty rows)", make_case(
        rng, "bf16", 2, 2, 64, [(48, 48), (20, 64)], 0, 0, 1, 16, modes=[[2, 2], [2, 2]], mask_density=0.25)
    yield "f16 causal STREAMING only, sink 4 local 12, odd lengths", make_case(
        rng, "f16", 2, 2, 64, [(53, 53), (29, 71)], 1, 4, 12, 16, modes=[[1, 1], [1, 1]])


# ---- ONNX's reference Attention (opset 23) ---------------------------------------------
def onnx_checks(exe, backend, rng, workdir):
    try:
        import onnx
        from onnx import TensorProto, helper
        from onnx.reference import ReferenceEvaluator
    except Exception as e:  # not installed: never count as passed
        skip("onnx oracle: onnx is not importable (%s)" % e.__class__.__name__)
        return
    batch, seq, hq, hkv, d = 2, 45, 4, 2, 64
    for causal in (0, 1):
        case = make_case(rng, "f32", hq, hkv, d, [(seq, seq)] * batch, causal, 0, 1, 16,
                         modes=np.zeros((batch, hkv)))
        node = helper.make_node("Attention", ["Q", "K", "V"], ["Y"], is_causal=causal,
                                scale=float(np.float32(1.0 / np.sqrt(d))))
        graph = helper.make_graph(
            [node], "attn",
            [helper.make_tensor_value_info("Q", TensorProto.FLOAT, [batch, hq, seq, d]),
             helper.make_tensor_value_info("K", TensorProto.FLOAT, [batch, hkv, seq, d]),
             helper.make_tensor_value_info("V", TensorProto.FLOAT, [batch, hkv, seq, d])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [batch, hq, seq, d])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
        to4 = lambda x, h: x.reshape(batch, seq, h, d).transpose(0, 2, 1, 3).astype(np.float32)
        (y,) = ReferenceEvaluator(model).run(None, {"Q": to4(case["q"], hq), "K": to4(case["k"], hkv),
                                                    "V": to4(case["v"], hkv)})
        y = y.transpose(0, 2, 1, 3).reshape(batch * seq, hq, d).astype(np.float64)
        o_np, _ = hybrid_attention(case["qd"], case["kd"], case["vd"], case["cu_seqlens_q"],
                                   case["cu_seqlens_k"], case["modes"], None, causal, 0, 1, 16,
                                   float(np.float32(1.0 / np.sqrt(d))))
        err_np = float(np.abs(o_np - y).max())
        report(err_np <= 1e-5, "onnx Attention vs numpy oracle, FULL %s GQA 4/2: max err %.3g"
               % ("causal" if causal else "non-causal", err_np))
        o_got, _, why = run_cli(exe, backend, case, workdir)
        if o_got is None:
            report(False, "onnx Attention vs %s: elattn-run failed: %s" % (backend, why))
            continue
        err = float(np.abs(o_got.astype(np.float64) - y).max())
        report(err <= 2e-5, "onnx Attention vs %s, FULL %s GQA 4/2 Lq == Lk: max err %.3g"
               % (backend, "causal" if causal else "non-causal", err))


def self_checks():
    """The oracle's own pieces against numbers worked out by hand."""
    # bf16 rounding: 1 + 2^-8 ties to even (1.0), 1 + 3 * 2^-8 ties up (1 + 2^-6)
    got = from_bf16_bits(to_bf16_bits(np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8], dtype=np.float32)))
    report(got[0] == 1.0 and got[1] == 1 + 2 ** -6, "oracle bf16 rounding ties to even")
    # Q = K = [(1,0),(0,1),(1,1)], V = [(1,0),(0,1),(2,2)], scale ln 2: causal row 2
    # weights 2, 2, 4 -> O = (1.25, 1.25), LSE = ln 8; STREAMING sink 1 local 1 row 2:
    # keys 0 and 2 -> (10/6, 8/6), LSE ln 6
    q = np.array([[1, 0], [0, 1], [1, 1]], float)[:, None, :]
    v = np.array([[1, 0], [0, 1], [2, 2]], float)[:, None, :]
    cu = np.array([0, 3])
    o, lse = hybrid_attention(q, q, v, cu, cu, np.array([[FULL]]), None, 1, 0, 1, 16, np.log(2))
    ok = np.allclose(o[2, 0], [1.25, 1.25]) and np.isclose(lse[2, 0], np.log(8))
    o, lse = hybrid_attention(q, q, v, cu, cu, np.array([[STREAMING]]), None, 1, 1, 1, 16, np.log(2))
    ok = ok and np.allclose(o[2, 0], [10 / 6, 8 / 6]) and np.isclose(lse[2, 0], np.log(6))
    report(bool(ok), "oracle hand case L=3 D=2 (FULL and STREAMING)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elattn-run", required=True, help="path of the elattn-run executable")
    ap.add_argument("--backend", default="reference")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    self_checks()
    with tempfile.TemporaryDirectory(prefix="elattn-oracle-") as workdir:
        for label, case in oracle_cases(rng):
            o, lse, why = run_cli(args.elattn_run, args.backend, case, workdir)
            if o is None:
                report(False, "%s vs numpy oracle, %s: elattn-run failed: %s" % (args.backend, label, why))
                continue
            compare(case, o, lse, "%s vs numpy oracle, %s" % (args.backend, label))
        onnx_checks(args.elattn_run, args.backend, rng, workdir)
    print("numpy_oracle: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

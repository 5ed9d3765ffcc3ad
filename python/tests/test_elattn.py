"""The Python package against independent NumPy code: hybrid attention, XAttention masks as the attention
reads them, the router from safetensors files (one file, sharded, fp32/bf16/fp16), and errors.

    ELATTN_LIBRARY=build/api/src ELATTN_TEST_DEVICE=reference python3 -m unittest discover -s python/tests

ELATTN_TEST_DEVICE: the device every case runs on (default "reference"; "opencl" for PoCL).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import elattn  # noqa: E402

DEVICE = os.environ.get("ELATTN_TEST_DEVICE", "reference")
PREFIX = "model.layers.{}.self_attn.mask_allocator."


def setUpModule():
    global dev
    dev = elattn.Device(DEVICE)


def tearDownModule():
    dev.close()


# ---- independent NumPy definitions (semantics.md sections 1 and 4) ------------------------------------------
def np_attention(q, k, v, cu_q, cu_k, modes, causal, scale, sink, local, block, mask):
    """float64 O [total_q, Hq, D] and LSE [total_q, Hq]."""
    hq, hkv = q.shape[1], k.shape[1]
    o = np.zeros(q.shape)
    lse = np.full(q.shape[:2], -np.inf)
    for b in range(len(cu_q) - 1):
        qs, ks = slice(cu_q[b], cu_q[b + 1]), slice(cu_k[b], cu_k[b + 1])
        lq, lk = cu_q[b + 1] - cu_q[b], cu_k[b + 1] - cu_k[b]
        i = np.arange(lq)[:, None]
        j = np.arange(lk)[None, :]
        p = i + lk - lq  # bottom-right aligned position of query i
        for h in range(hq):
            g = h // (hq // hkv)
            vis = np.ones((lq, lk), bool)
            if causal:
                vis &= j <= p
            if modes[b, g] == elattn.STREAMING:
                vis &= (j < sink) | ((p - j < local) if causal else (np.abs(p - j) < local))
            if modes[b, g] == elattn.BLOCK_SPARSE:
                vis &= mask[b, g][i // block, j // block] != 0
            s = q[qs, h].astype(np.float64) @ k[ks, g].astype(np.float64).T * scale
            s = np.where(vis, s, -np.inf)
            m = s.max(axis=1, keepdims=True)
            has = np.isfinite(m[:, 0])
            e = np.where(vis, np.exp(s - np.where(has[:, None], m, 0)), 0)
            den = e.sum(axis=1)
            out = np.zeros((lq, q.shape[2]))
            out[has] = (e[has] @ v[ks, g].astype(np.float64)) / den[has, None]
            o[qs, h] = out
            lse[qs, h] = np.where(has, np.log(np.where(has, den, 1)) + np.where(has, m[:, 0], 0), -np.inf)
    return o, lse


def silu(x):
    return x / (1 + np.exp(-x))


def np_router(keys, cu, w, retrieval, sparse):
    """Logits [B, Hkv, 2] and modes of the router: mean of the first and last 100 keys (all when L < 200)."""
    logits = []
    for b in range(len(cu) - 1):
        seg = keys[cu[b]:cu[b + 1]].astype(np.float64)
        n = len(seg)
        pooled = np.concatenate([seg[:100], seg[n - 100:]]).mean(0) if n >= 200 else seg.mean(0)
        t = silu(pooled @ w["cls_feat_extractor.0.weight"].T + w["cls_feat_extractor.0.bias"])
        t = t @ w["cls_feat_extractor.2.weight"].T + w["cls_feat_extractor.2.bias"]
        h = silu(t @ w["cls_router_head_agnostic.0.weight"].T + w["cls_router_head_agnostic.0.bias"])
        h = silu(h @ w["cls_router_head_agnostic.2.weight"].T + w["cls_router_head_agnostic.2.bias"])
        logits.append(h @ w["cls_router_head_agnostic.4.weight"].T + w["cls_router_head_agnostic.4.bias"])
    logits = np.array(logits)
    return logits, np.where(logits[..., 1] > logits[..., 0], retrieval, sparse).astype(np.int32)


# ---- a tiny safetensors writer (the format: u64 LE length, JSON, data) ------------------------------------------
ST_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64}


def st_bytes(tensors, metadata=None, pad=True):
    """tensors: name -> (safetensors dtype, array of matching storage). Tensors laid out in order."""
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dt, a) in tensors.items():
        data = np.ascontiguousarray(a, dtype=ST_DTYPES[dt]).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    return raw_st(json.dumps(header).encode(), b"".join(blobs), pad)


def raw_st(header, data, pad=True):
    if pad:
        header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data


def router_arrays(rng, d, hidden, layer=0):
    shapes = {"cls_feat_extractor.0.weight": (hidden, d), "cls_feat_extractor.0.bias": (hidden,),
              "cls_feat_extractor.2.weight": (d, hidden), "cls_feat_extractor.2.bias": (d,),
              "cls_router_head_agnostic.0.weight": (hidden, d), "cls_router_head_agnostic.0.bias": (hidden,),
              "cls_router_head_agnostic.2.weight": (d, hidden), "cls_router_head_agnostic.2.bias": (d,),
              "cls_router_head_agnostic.4.weight": (2, d), "cls_router_head_agnostic.4.bias": (2,)}
    return {PREFIX.format(layer) + n: (rng.standard_normal(s) / np.sqrt(s[-1])).astype(np.float32)
            for n, s in shapes.items()}


def stored(arrays, dt):
    """name -> (dt, storage) and the float64 values the file holds after rounding."""
    out, exact = {}, {}
    for n, a in arrays.items():
        if dt == "BF16":
            bits = elattn.float32_to_bf16(a)
            out[n], exact[n] = (dt, bits), elattn.bf16_to_float32(bits).astype(np.float64)
        else:
            s = a.astype(ST_DTYPES[dt])
            out[n], exact[n] = (dt, s), s.astype(np.float64)
    return out, exact


def short(exact, layer=0):
    return {n[len(PREFIX.format(layer)):]: a for n, a in exact.items()}


class Decode(unittest.TestCase):
    """KVCache: prefill with per-head modes, then steps of appends and decodes (plain, and with one
    DecodeBatch for every step), each against np_attention over the whole history (BLOCK_SPARSE heads
    decode densely); the cache's bytes; errors."""
    HQ, HKV, D, SINK, LOCAL, MAX_NEW = 4, 2, 64, 4, 16, 4
    modes = np.array([[elattn.FULL, elattn.STREAMING], [elattn.STREAMING, elattn.STREAMING],
                      [elattn.BLOCK_SPARSE, elattn.FULL]], np.int32)

    def run_steps(self, dtype, tol, use_batch):
        rng = np.random.default_rng(7)
        ids, prefill, num_new = [3, 0, 6], [5, 21, 64], [1, 3, 2]
        cache = elattn.KVCache(dev, dtype=dtype, head_dim=self.D, num_kv_heads=self.HKV, num_pages=256,
                               max_sequences=8, max_tokens=200, page_size=8, sink=self.SINK, local=self.LOCAL,
                               max_new_tokens=self.MAX_NEW)
        hist = [[np.zeros((0, self.HKV, self.D), np.float32)] * 2 for _ in ids]

        def append(n, modes=None):
            k = rng.standard_normal((sum(n), self.HKV, self.D)).astype(np.float32)
            v = rng.standard_normal((sum(n), self.HKV, self.D)).astype(np.float32)
            if dtype == "bf16":  # what the cache stores, for the oracle
                k, v = (elattn.bf16_to_float32(elattn.float32_to_bf16(x)) for x in (k, v))
            cache.append(ids, n, k, v, modes)
            at = np.cumsum([0] + list(n))
            for s in range(len(ids)):
                hist[s] = [np.concatenate([hist[s][0], k[at[s]:at[s + 1]]]),
                           np.concatenate([hist[s][1], v[at[s]:at[s + 1]]])]

        append(prefill, self.modes)
        batch = cache.decode_batch(ids, num_new, num_q_heads=self.HQ, return_lse=True) if use_batch else None
        dense_modes = np.where(self.modes == elattn.BLOCK_SPARSE, elattn.FULL, self.modes)
        for step in range(12):  # the STREAMING ring (local + max_new - 1 = 19 after 4 sinks) fills and wraps
            append(num_new)
            q = rng.standard_normal((sum(num_new), self.HQ, self.D)).astype(np.float32)
            if dtype == "bf16":
                q = elattn.bf16_to_float32(elattn.float32_to_bf16(q))
            if use_batch:
                o, lse = cache.decode(q, batch=batch)
            else:
                o, lse = cache.decode(q, ids, num_new, return_lse=True)
            cu_q = np.cumsum([0] + num_new).astype(np.int32)
            cu_k = np.cumsum([0] + [len(h[0]) for h in hist]).astype(np.int32)
            ref_o, ref_lse = np_attention(q, np.concatenate([h[0] for h in hist]), np.concatenate([h[1] for h in hist]),
                                          cu_q, cu_k, dense_modes, True, 1 / 8, self.SINK, self.LOCAL, 16, None)
            np.testing.assert_allclose(o.astype(np.float64), ref_o, atol=tol, rtol=tol, err_msg=f"step {step}")
            np.testing.assert_allclose(lse, ref_lse, atol=1e-3, rtol=1e-4, err_msg=f"step {step}")
        self.assertEqual([cache.length(i) for i in ids], [p + 12 * n for p, n in zip(prefill, num_new)])
        held = cache.nbytes
        self.assertGreater(held, 0)
        cache.release(6)
        self.assertEqual(cache.length(6), 0)
        self.assertLess(cache.nbytes, held)
        if use_batch:
            with self.assertRaisesRegex(elattn.InvalidArgumentError, r"args\.batch's sequence\[2\]"):
                cache.decode(q, batch=batch)
            batch.close()
        cache.close()

    def test_f32(self):
        self.run_steps("f32", 2e-5, False)

    def test_bf16(self):
        self.run_steps("bf16", 2e-2, False)

    def test_batch(self):
        self.run_steps("f32", 2e-5, True)

    def test_quest(self):
        """page_budget: a BLOCK_SPARSE head reads page 0, the pages of the step's new tokens and the budget's
        best-scoring others (SPEC.md section 9b); the oracle picks them from the history with numpy (scores
        summed in float32 in the spec's order) and attends over their positions."""
        rng = np.random.default_rng(11)
        P, budget, D, HQ, HKV = 8, 3, 64, 4, 2
        ids, prefill = [0, 1], [150, 61]
        modes = np.array([[elattn.BLOCK_SPARSE, elattn.FULL], [elattn.STREAMING, elattn.BLOCK_SPARSE]], np.int32)
        cache = elattn.KVCache(dev, dtype="f32", head_dim=D, num_kv_heads=HKV, num_pages=128, max_sequences=2,
                               max_tokens=256, page_size=P, sink=4, local=16, max_new_tokens=4, page_summaries=True)
        hist = [[np.zeros((0, HKV, D), np.float32)] * 2 for _ in ids]
        skipped = 0
        for step, n in enumerate([prefill, [1, 3], [3, 1], [1, 1]]):
            k = rng.standard_normal((sum(n), HKV, D)).astype(np.float32)
            v = rng.standard_normal((sum(n), HKV, D)).astype(np.float32)
            cache.append(ids, n, k, v, modes if step == 0 else None)
            at = np.cumsum([0] + list(n))
            for s in range(len(ids)):
                hist[s] = [np.concatenate([hist[s][j], x[at[s]:at[s + 1]]]) for j, x in enumerate((k, v))]
            if step == 0:
                continue
            q = rng.standard_normal((sum(n), HQ, D)).astype(np.float32)
            o, lse = cache.decode(q, ids, n, return_lse=True, page_budget=budget)
            for s in range(len(ids)):
                L, kh, vh = len(hist[s][0]), hist[s][0], hist[s][1]
                for hk in range(HKV):
                    rows = slice(at[s], at[s + 1])
                    heads = slice(hk * HQ // HKV, (hk + 1) * HQ // HKV)
                    kept = np.ones(L, bool)
                    if modes[s, hk] == elattn.BLOCK_SPARSE:
                        tail = (L - n[s]) // P
                        scores = {}
                        for j in range(1, tail):
                            page = kh[j * P:(j + 1) * P, hk]
                            lo, hi = page.min(0), page.max(0)
                            qg = q[rows, heads]  # [n][group][D]
                            terms = np.maximum(qg * lo, qg * hi).astype(np.float32)
                            # the spec's order: per (r, g) 8 running sums over d mod 8 (cumsum runs in turn),
                            # joined pairwise; then the (r, g) sums in turn, r outer
                            lanes = np.cumsum(terms.reshape(terms.shape[0], terms.shape[1], D // 8, 8), axis=2,
                                              dtype=np.float32)[:, :, -1, :]
                            l = lanes
                            per_rg = ((l[..., 0] + l[..., 1]) + (l[..., 2] + l[..., 3])) + \
                                     ((l[..., 4] + l[..., 5]) + (l[..., 6] + l[..., 7]))
                            scores[j] = np.cumsum(per_rg.ravel(), dtype=np.float32)[-1]
                        best = sorted(scores, key=lambda j: (-scores[j], j))[:budget]
                        for j in range(1, tail):
                            if j not in best:
                                kept[j * P:(j + 1) * P] = False
                        skipped += int((~kept).sum())
                    elif modes[s, hk] == elattn.STREAMING:
                        kept = None  # checked by test_f32; here only the other heads must be unchanged
                    if kept is None:
                        continue
                    for r in range(n[s]):
                        pos = L - n[s] + r
                        keys = np.nonzero(kept[:pos + 1])[0]
                        for h in range(heads.start, heads.stop):
                            x = kh[keys, hk].astype(np.float64) @ q[at[s] + r, h].astype(np.float64) / 8
                            w = np.exp(x - x.max())
                            ref = (w / w.sum()) @ vh[keys, hk].astype(np.float64)
                            np.testing.assert_allclose(o[at[s] + r, h], ref, atol=2e-5, rtol=2e-5,
                                                       err_msg=f"step {step} sequence {s} head {h}")
                            self.assertAlmostEqual(float(lse[at[s] + r, h]), x.max() + np.log(w.sum()), places=4)
        self.assertGreater(skipped, 0)  # the budget left pages out
        # Bytes: K and V of every page in use, plus a summary (min and max, fp32) per BLOCK_SPARSE page.
        lens = [len(h[0]) for h in hist]
        pages = {(s, hk): -(-(min(lens[s], 4 + 16 + 4 - 1) if modes[s, hk] == elattn.STREAMING else lens[s]) // P)
                 for s in range(2) for hk in range(HKV)}
        summarised = sum(p for (s, hk), p in pages.items() if modes[s, hk] == elattn.BLOCK_SPARSE)
        self.assertEqual(cache.nbytes, sum(pages.values()) * 2 * P * D * 4 + summarised * 2 * D * 4)
        cache.close()

    def test_errors(self):
        cache = elattn.KVCache(dev, dtype="f32", head_dim=64, num_kv_heads=2, num_pages=16, max_sequences=2,
                               max_tokens=64, page_size=8, sink=4, local=8, max_new_tokens=4)
        k = np.ones((10, 2, 64), np.float32)
        with self.assertRaisesRegex(elattn.InvalidArgumentError, r"args\.modes"):
            cache.append([0], [10], k, k)  # a new sequence needs its modes
        cache.append([0], [10], k, k, ["full", "streaming"])
        q = np.ones((2, 4, 64), np.float32)
        with self.assertRaisesRegex(elattn.InvalidArgumentError, r"args\.seq_ids\[0\]"):
            cache.decode(q, [1], [2])  # sequence 1 was never started
        with self.assertRaisesRegex(ValueError, "rows"):
            cache.decode(q, [0], [1])
        with self.assertRaisesRegex(ValueError, "shape"):
            cache.append([0], [3], k, k)
        with self.assertRaisesRegex(elattn.InvalidArgumentError, r"desc\.page_budget"):
            cache.decode(q, [0], [2], page_budget=2)  # no page summaries in this cache
        cache.close()


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path


# ---- hybrid attention ------------------------------------------------------------------------------------------
class HybridAttention(unittest.TestCase):
    def case(self, dtype_name, rng):
        # batch 2, varlen, the second element a chunk (Lq < Lk: bottom-right causality)
        cu_q, cu_k = np.array([0, 200, 296], np.int32), np.array([0, 200, 460], np.int32)
        hq, hkv, d = 4, 2, 64
        q = rng.standard_normal((cu_q[-1], hq, d)).astype(np.float32)
        k = rng.standard_normal((cu_k[-1], hkv, d)).astype(np.float32)
        v = rng.standard_normal((cu_k[-1], hkv, d)).astype(np.float32)
        modes = np.array([[elattn.FULL, elattn.STREAMING], [elattn.BLOCK_SPARSE, elattn.STREAMING]], np.int32)
        block = 32
        mask = (rng.random((2, hkv, 7, 9)) < 0.4).astype(np.uint8)
        mask[1, 0, 0, :] = 0  # a query block that sees nothing: O = 0, LSE = -inf
        return q, k, v, cu_q, cu_k, modes, block, mask

    def check(self, dtype_name, tol):
        rng = np.random.default_rng(1)
        q, k, v, cu_q, cu_k, modes, block, mask = self.case(dtype_name, rng)
        kw = dict(cu_seqlens_q=cu_q, cu_seqlens_k=cu_k, sink=8, local=24, block_size=block, block_mask=mask,
                  return_lse=True, device=dev)
        if dtype_name == "bf16":
            bits = [elattn.float32_to_bf16(x) for x in (q, k, v)]
            o, lse = elattn.hybrid_attention(*bits, modes, **kw)
            self.assertEqual(o.dtype, np.uint16, "bf16 bits in, bf16 bits out")
            o = elattn.bf16_to_float32(o)
            q, k, v = (elattn.bf16_to_float32(b) for b in bits)
            # the same through float32 arrays converted by dtype=
            o2, _ = elattn.hybrid_attention(q, k, v, modes, dtype="bf16", **kw)
            self.assertEqual(o2.dtype, np.float32)
            np.testing.assert_array_equal(o2, o)
        else:
            if dtype_name == "f16":
                q, k, v = (x.astype(np.float16) for x in (q, k, v))
            o, lse = elattn.hybrid_attention(q, k, v, modes, **kw)
            self.assertEqual(o.dtype, q.dtype)
        ref_o, ref_lse = np_attention(q, k, v, cu_q, cu_k, modes, True, 1 / 8, 8, 24, block, mask)
        np.testing.assert_allclose(o.astype(np.float64), ref_o, atol=tol, rtol=tol)
        empty = np.isinf(ref_lse)
        self.assertTrue(empty.any(), "the case has rows without a visible key")
        np.testing.assert_array_equal(np.isneginf(lse), empty)
        np.testing.assert_allclose(lse[~empty], ref_lse[~empty], atol=1e-3, rtol=1e-4)

    def test_f32(self):
        self.check("f32", 2e-5)

    def test_f16(self):
        self.check("f16", 2e-3)

    def test_bf16(self):
        self.check("bf16", 1.6e-2)

    def test_padded_layout_non_causal(self):
        rng = np.random.default_rng(2)
        q = rng.standard_normal((2, 70, 4, 32)).astype(np.float32)
        k = rng.standard_normal((2, 70, 1, 32)).astype(np.float32)
        v = rng.standard_normal((2, 70, 1, 32)).astype(np.float32)
        o = elattn.hybrid_attention(q, k, v, ["streaming"], causal=False, sink=4, local=10, scale=0.3, device=dev)
        self.assertEqual(o.shape, q.shape)
        cu = np.array([0, 70, 140], np.int32)
        modes = np.full((2, 1), elattn.STREAMING)
        ref, _ = np_attention(q.reshape(140, 4, 32), k.reshape(140, 1, 32), v.reshape(140, 1, 32), cu, cu, modes,
                              False, 0.3, 4, 10, 128, None)
        np.testing.assert_allclose(o.reshape(140, 4, 32), ref, atol=2e-5, rtol=2e-5)

    def test_xattn_mask_drives_attention(self):
        rng = np.random.default_rng(3)
        q = rng.standard_normal((1, 256, 4, 64)).astype(np.float32)
        k = rng.standard_normal((1, 256, 2, 64)).astype(np.float32)
        v = rng.standard_normal((1, 256, 2, 64)).astype(np.float32)
        modes = ["block_sparse", "full"]
        mask = elattn.xattn_select(q, k, modes, threshold=0.5, stride=8, block_size=32, device=dev)
        self.assertEqual(mask.shape, (1, 2, 8, 8))
        self.assertFalse(mask[0, 1].any(), "a FULL head's mask rows stay 0")
        for qb in range(8):
            self.assertTrue(mask[0, 0, qb, 0] and mask[0, 0, qb, qb], "block 0 and the diagonal are always kept")
            self.assertFalse(mask[0, 0, qb, qb + 1:].any(), "no block above the causal diagonal")
        self.assertLess(int(mask[0, 0].sum()), 36, "tau 0.5 on random data drops some causal block")
        o = elattn.hybrid_attention(q, k, v, modes, block_size=32, threshold=0.5, stride=8, device=dev)
        cu = np.array([0, 256], np.int32)
        ref, _ = np_attention(q[0], k[0], v[0], cu, cu, np.array([[2, 0]]), True, 1 / 8, 128, 2048, 32, mask)
        np.testing.assert_allclose(o[0], ref, atol=2e-5, rtol=2e-5)

    def test_sparsity(self):
        cu = np.array([0, 256], np.int32)
        mask = np.zeros((1, 2, 2, 2), np.uint8)
        mask[0, 0] = [[1, 0], [1, 1]]
        s = elattn.sparsity(["block_sparse", "full"], cu_seqlens_q=cu, num_q_heads=4, num_kv_heads=2,
                            block_size=128, block_mask=mask)
        self.assertAlmostEqual(s.omega_msr, 0.5)
        self.assertAlmostEqual(s.omega_esr, 0.0)  # every causal block kept: nothing pruned
        mask[0, 0, 1, 0] = 0
        s2 = elattn.sparsity(["block_sparse", "full"], cu_seqlens_q=cu, num_q_heads=4, num_kv_heads=2,
                             block_size=128, block_mask=mask)
        causal_pairs = 256 * 257 // 2
        self.assertAlmostEqual(s2.omega_esr, 0.5 * (128 * 128 / causal_pairs))
        m = elattn.merge_sparsity([s, s2])
        self.assertEqual(m.entries, 4)


# ---- the router -----------------------------------------------------------------------------------------------
class RouterFromSafetensors(Tmp):
    def keys_case(self, rng, d):
        cu = np.array([0, 150, 500], np.int32)  # L < 200 (mean of all) and L >= 200 (first/last 100)
        return (rng.standard_normal((cu[-1], 3, d)) + rng.standard_normal((1, 3, d))).astype(np.float32), cu

    def check_router(self, router, exact, rng, d, retrieval=elattn.FULL, sparse=elattn.STREAMING, bf16_keys=False):
        keys, cu = self.keys_case(rng, d)
        if bf16_keys:
            bits = elattn.float32_to_bf16(keys)
            modes, logits = router(bits, cu, retrieval_mode=retrieval, sparse_mode=sparse, return_logits=True)
            keys = elattn.bf16_to_float32(bits)
        else:
            modes, logits = router(keys, cu, retrieval_mode=retrieval, sparse_mode=sparse, return_logits=True)
        ref_logits, ref_modes = np_router(keys, cu, exact, retrieval, sparse)
        np.testing.assert_allclose(logits, ref_logits, atol=1e-4, rtol=1e-4)
        decided = np.abs(ref_logits[..., 1] - ref_logits[..., 0]) > 1e-4  # ties within rounding may go either way
        np.testing.assert_array_equal(modes[decided], ref_modes[decided])
        return modes

    def test_one_file_each_dtype(self):
        for dt in ("F32", "BF16", "F16"):
            with self.subTest(dtype=dt):
                rng = np.random.default_rng(4)
                arrays = router_arrays(rng, 16, 64, layer=2)
                arrays_other = router_arrays(rng, 16, 64, layer=1)
                tensors, exact = stored(arrays, dt)
                tensors.update(stored(arrays_other, dt)[0])
                tensors["model.embed_tokens.weight"] = ("F64", np.ones((3, 5)))  # other tensors are read past
                path = self.write(f"r_{dt}.safetensors", st_bytes(tensors, {"format": "pt"}))
                router = elattn.Router.from_safetensors(path, 2, device=dev)
                self.assertEqual((router.head_dim, router.hidden), (16, 64))
                self.check_router(router, short(exact, 2), rng, 16, bf16_keys=(dt == "BF16"))
                router.close()

    def test_sharded_index_and_folder(self):
        rng = np.random.default_rng(5)
        tensors, exact = stored(router_arrays(rng, 8, 32, layer=0), "F32")
        names = list(tensors)
        shards = {"model-00001-of-00002.safetensors": names[:4], "model-00002-of-00002.safetensors": names[4:]}
        for shard, ns in shards.items():
            self.write(shard, st_bytes({n: tensors[n] for n in ns}))
        index = {"metadata": {"total_size": 1234, "nested": [1, 2.5e3, None, True, {"a": "b"}]},
                 "weight_map": {n: s for s, ns in shards.items() for n in ns}}
        path = self.write("model.safetensors.index.json", json.dumps(index).encode())
        for where in (path, self.dir):
            with self.subTest(path=where):
                router = elattn.Router.from_safetensors(where, 0, device=dev)
                self.check_router(router, short(exact), rng, 8, elattn.BLOCK_SPARSE, elattn.STREAMING)

    def test_from_arrays_matches(self):
        rng = np.random.default_rng(6)
        arrays = router_arrays(rng, 16, 64)
        router = elattn.Router.from_arrays(arrays, device=dev)
        self.check_router(router, short({n: a.astype(np.float64) for n, a in arrays.items()}), rng, 16)

    def test_real_safetensors_package(self):
        try:
            from safetensors.numpy import load_file, save_file
        except ImportError:
            self.skipTest("the safetensors package is not installed here; the writer of this file is checked "
                          "against it where it is")
        rng = np.random.default_rng(6)  # a seed whose layer 0 routes both ways, no logit within 0.25 of a tie
        arrays = router_arrays(rng, 8, 32)
        path = self.write("ours.safetensors", st_bytes(stored(arrays, "F16")[0]))
        back = load_file(path)
        for n, a in arrays.items():
            np.testing.assert_array_equal(back[n], a.astype(np.float16))
        theirs = os.path.join(self.dir, "theirs.safetensors")
        save_file(arrays, theirs, metadata={"format": "np"})
        router = elattn.Router.from_safetensors(theirs, 0, device=dev)
        self.check_router(router, short({n: a.astype(np.float64) for n, a in arrays.items()}), rng, 8)


class RouterErrors(Tmp):
    def assert_fails(self, cls, path, layer, *words):
        with self.assertRaises(cls) as cm:
            elattn.Router.from_safetensors(path, layer, device=dev)
        msg = str(cm.exception)
        for w in words:
            self.assertIn(w, msg)
        return msg

    def good(self, dt="F32", layer=0):
        return stored(router_arrays(np.random.default_rng(8), 8, 32, layer), dt)[0]

    def test_shape_dtype_and_missing(self):
        t = self.good()
        bad_shape = dict(t)
        n = PREFIX.format(0) + "cls_feat_extractor.2.weight"
        bad_shape[n] = ("F32", np.zeros((16, 32), np.float32))  # the 2D-wide variant
        path = self.write("shape.safetensors", st_bytes(bad_shape))
        self.assert_fails(elattn.UnsupportedError, path, 0, n, path, "[16, 32]", "[8, 32]")
        bad_dt = dict(t)
        n = PREFIX.format(0) + "cls_router_head_agnostic.4.bias"
        bad_dt[n] = ("F64", np.zeros(2))
        path = self.write("dtype.safetensors", st_bytes(bad_dt))
        self.assert_fails(elattn.UnsupportedError, path, 0, n, "F64")
        path = self.write("ok.safetensors", st_bytes(t))
        self.assert_fails(elattn.InvalidArgumentError, path, 3, "model.layers.3.self_attn.mask_allocator.", path)
        self.assert_fails(elattn.InvalidArgumentError, os.path.join(self.dir, "none.safetensors"), 0, "none.safetensors",
                          "cannot open")
        self.assert_fails(elattn.InvalidArgumentError, path, -1, "layer")
        self.assert_fails(elattn.InvalidArgumentError, self.dir, 0, "a directory without")

    def test_malformed_files(self):
        good = st_bytes(self.good())
        n = struct.unpack("<Q", good[:8])[0]
        header, data = good[8:8 + n], good[8 + n:]
        entry = b'"t":{"dtype":"F32","shape":[2],"data_offsets":[%d,%d]}'

        def with_tensor(extra, extra_data=b""):
            return raw_st(header.rstrip()[:-1] + b"," + extra + b"}", data + extra_data)

        cases = {
            "short file": b"\x01\x02",
            "length past the file": struct.pack("<Q", 1 << 40) + header,
            "length over the limit": struct.pack("<Q", 100000001) + b"{}" + b" " * 8,
            "truncated data": good[:-3],
            "trailing data": good + b"\0\0\0\0",
            "not an object": raw_st(b' {"a":1}', b""),
            "bytes after the object": raw_st(header.rstrip() + b"x", data, pad=False),
            "overlap": with_tensor(entry % (0, 8)),
            "gap": with_tensor(entry % (len(data) + 4, len(data) + 12), b"\0" * 12),
            "wrong byte count": with_tensor(entry % (len(data), len(data) + 12), b"\0" * 12),
            "offsets reversed": with_tensor(entry % (len(data) + 8, len(data)), b"\0" * 8),
            "offset overflow": with_tensor(b'"t":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551615,'
                                           b'18446744073709551616]}'),
            "shape overflow": with_tensor(b'"t":{"dtype":"F32","shape":[4294967296,4294967296],'
                                          b'"data_offsets":[0,0]}'),
            "negative dim": with_tensor(b'"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}'),
            "fraction": with_tensor(b'"t":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}'),
            "duplicate tensor": with_tensor(b'"' + list(json.loads(header))[0].encode() + b'":{"dtype":"F32",'
                                            b'"shape":[0],"data_offsets":[0,0]}'),
            "unknown field": with_tensor(b'"t":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"x":1}'),
            "missing field": with_tensor(b'"t":{"dtype":"F32","shape":[0]}'),
            "unknown dtype": with_tensor(b'"t":{"dtype":"F128","shape":[0],"data_offsets":[0,0]}'),
            "metadata not strings": with_tensor(b'"__metadata__":{"a":1}'),
            "bad utf-8": with_tensor(b'"t\xc3\x28":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'),
            "lone surrogate": with_tensor(b'"t\\udc00":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'),
            "control character": with_tensor(b'"t\x01":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'),
            "unterminated": raw_st(header.rstrip()[:-1], data),
        }
        for what, blob in cases.items():
            with self.subTest(case=what):
                path = self.write("bad.safetensors", blob)
                msg = self.assert_fails(elattn.InvalidArgumentError, path, 0, path)
                self.assertNotIn("host allocation", msg)

    def test_bad_index(self):
        t = self.good()
        self.write("s.safetensors", st_bytes(t))
        wm = {n: "s.safetensors" for n in t}
        cases = {
            "escapes the folder": ({"weight_map": dict(wm, **{next(iter(t)): "../s.safetensors"})}, "plain file name"),
            "missing tensor": ({"weight_map": {n: s for n, s in list(wm.items())[1:]}}, "weight_map has no tensor"),
            "no weight_map": ({"metadata": {}}, "no weight_map"),
            "missing shard": ({"weight_map": {n: "gone.safetensors" for n in t}}, "gone.safetensors"),
        }
        for what, (index, words) in cases.items():
            with self.subTest(case=what):
                path = self.write("model.safetensors.index.json", json.dumps(index).encode())
                self.assert_fails(elattn.InvalidArgumentError, path, 0, words)
        path = self.write("deep.index.json", b'{"metadata":' + b"[" * 100 + b"]" * 100 + b', "weight_map": {}}')
        self.assert_fails(elattn.InvalidArgumentError, path, 0, "nested deeper")


class FakeGpu:
    """A host array that says it lives on CUDA device 0: drives the device-tensor path (DLPack capsule,
    elattn_buffer_wrap, outputs through out=) on the reference, whose buffers are host memory."""

    def __init__(self, a):
        self.a = np.ascontiguousarray(a)
        self.shape = self.a.shape
        self.streams = []

    def __dlpack__(self, stream=None):
        self.streams.append(stream)
        return self.a.__dlpack__()

    def __dlpack_device__(self):
        return (2, 0)


@unittest.skipUnless(DEVICE == "reference", "the fake device tensors are host memory: reference only")
class DeviceTensorPath(unittest.TestCase):
    def setUp(self):
        from elattn import _core
        self.core = _core
        self.saved = (_core.on_gpu, _core._device_for)
        _core.on_gpu = lambda x: isinstance(x, FakeGpu)
        _core._device_for = lambda x, device: dev

    def tearDown(self):
        self.core.on_gpu, self.core._device_for = self.saved

    def test_capsule_layout(self):
        from elattn._tensors import DeviceTensor
        for dt in (np.float32, np.float16, np.uint8):
            a = np.arange(24, dtype=dt).reshape(2, 3, 4)
            t = DeviceTensor(FakeGpu(a), "x", None)
            self.assertEqual((t.ptr, t.shape, t.nbytes), (a.ctypes.data, (2, 3, 4), a.nbytes))
        with self.assertRaisesRegex(ValueError, "not contiguous"):
            DeviceTensor(np.zeros((4, 6), np.float32)[:, ::2], "x", None)
        with self.assertRaisesRegex(ValueError, "DLPack dtype"):
            DeviceTensor(np.zeros(3, np.float64), "x", None)

    def test_attention_xattn_router_in_place(self):
        rng = np.random.default_rng(9)
        q = rng.standard_normal((1, 256, 4, 64)).astype(np.float16)
        k = rng.standard_normal((1, 256, 2, 64)).astype(np.float16)
        v = rng.standard_normal((1, 256, 2, 64)).astype(np.float16)
        modes = ["block_sparse", "streaming"]
        kw = dict(threshold=0.6, stride=8, block_size=32, sink=4, local=40)
        mask = FakeGpu(np.full((1, 2, 8, 8), 7, np.uint8))
        elattn.xattn_select(FakeGpu(q), FakeGpu(k), modes, threshold=0.6, stride=8, block_size=32, out=mask,
                            device=dev)
        host_mask = elattn.xattn_select(q, k, modes, threshold=0.6, stride=8, block_size=32, device=dev)
        np.testing.assert_array_equal(mask.a, host_mask)  # written in place, other heads' rows zeroed
        o = FakeGpu(np.zeros_like(q))
        qf = FakeGpu(q)
        res = elattn.hybrid_attention(qf, FakeGpu(k), FakeGpu(v), modes, block_mask=mask, out=o, device=dev, **kw)
        self.assertIs(res, o)
        np.testing.assert_array_equal(o.a, elattn.hybrid_attention(q, k, v, modes, device=dev, **kw))
        self.assertEqual(qf.streams, [1], "the producer is told the legacy default stream")
        with self.assertRaisesRegex(ValueError, "pass it as out="):
            elattn.hybrid_attention(qf, FakeGpu(k), FakeGpu(v), ["full", "full"], device=dev)
        with self.assertRaisesRegex(ValueError, "host array in a call on device tensors"):
            elattn.hybrid_attention(qf, k, FakeGpu(v), ["full", "full"], out=o, device=dev)
        router = elattn.Router.from_arrays(router_arrays(rng, 64, 128), device=dev)
        keys = rng.standard_normal((1, 300, 2, 64)).astype(np.float32)
        np.testing.assert_array_equal(router(FakeGpu(keys)), router(keys))


# ---- the READMEs' "From a checkpoint to a routed prefill" snippets, run as written -----------------------------
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def readme_snippet(path, marker):
    """The ```python block of `path` that contains `marker`."""
    with open(path) as f:
        text = f.read()
    blocks = [b.split("```")[0] for b in text.split("```python\n")[1:]]
    found = [b for b in blocks if marker in b]
    if len(found) != 1:
        raise AssertionError(f"{path}: {len(found)} python blocks contain {marker!r}; expected 1")
    return found[0]


class ReadmeSnippets(Tmp):
    """Each snippet runs on NumPy arrays and a checkpoint folder "Qwen3-8B-Elastic/" written here (bf16, two
    layers), on the test device instead of "auto"; its O is checked against NumPy with the modes and mask
    it got."""

    def run_snippet(self, path, marker, layer, names):
        code = readme_snippet(path, marker)
        self.assertIn('elattn.Device("auto")', code)
        code = code.replace('elattn.Device("auto")', f"elattn.Device({DEVICE!r})")
        rng = np.random.default_rng(6)  # a seed whose layer 0 routes both ways, no logit within 0.25 of a tie
        d, hidden, hq, hkv, L = 32, 128, 32, 8, 300  # the top README's sparsity call names 32 / 8 heads
        os.makedirs(os.path.join(self.dir, "Qwen3-8B-Elastic"))
        tensors, exact = {}, {}
        for i in range(2):
            t, e = stored(router_arrays(rng, d, hidden, i), "BF16")
            tensors.update(t)
            exact[i] = short(e, i)
        self.write(os.path.join("Qwen3-8B-Elastic", "model.safetensors"), st_bytes(tensors, {"format": "pt"}))
        q = rng.standard_normal((1, L, hq, d)).astype(np.float32)
        k, v, keys = (rng.standard_normal((1, L, hkv, d)).astype(np.float32) for _ in range(3))
        keys += 2 * rng.standard_normal((1, 1, hkv, d)).astype(np.float32)  # heads that pool apart, route apart
        env = {"q": q, "k": k, "v": v, names["keys"]: keys, "L": L, "i": layer}
        cu = np.array([0, L], np.int32)
        cwd = os.getcwd()
        os.chdir(self.dir)
        try:
            import contextlib
            import io
            with contextlib.redirect_stdout(io.StringIO()) as out:
                exec(compile(code, path, "exec"), env)
        finally:
            os.chdir(cwd)
        modes, mask, o = env["modes"], env["mask"], env["o"]
        np.testing.assert_array_equal(modes, np_router(keys[0], cu, exact[layer], elattn.FULL,
                                                       elattn.BLOCK_SPARSE)[1])
        self.assertTrue(out.getvalue().strip(), "the snippet prints the layer's sparsity")
        ref, _ = np_attention(q[0], k[0], v[0], cu, cu, modes, True, d ** -0.5, 128, 2048, 128, mask[0:1])
        np.testing.assert_allclose(o[0], ref, atol=2e-5, rtol=2e-5)
        return modes

    def test_top_readme(self):
        modes = self.run_snippet(os.path.join(ROOT, "README.md"), 'Router.from_safetensors("Qwen3-8B-Elastic/"', 0,
                                 {"keys": "k_prerope"})
        self.assertTrue((modes == elattn.BLOCK_SPARSE).any() and (modes == elattn.FULL).any(),
                        f"the case routes both ways (modes {modes.tolist()})")

    def test_python_readme(self):
        self.run_snippet(os.path.join(ROOT, "python", "README.md"), 'Router.from_safetensors("Qwen3-8B-Elastic/"',
                         0, {"keys": "keys"})


class Errors(unittest.TestCase):
    def test_library_message_and_status(self):
        q = np.zeros((16, 2, 32), np.float32)
        k = np.zeros((16, 1, 32), np.float32)
        with self.assertRaises(elattn.InvalidArgumentError) as cm:
            elattn.hybrid_attention(q, k, k, [elattn.STREAMING], local=0, device=dev)
        self.assertIn("desc.local", str(cm.exception))
        with self.assertRaises(elattn.InvalidArgumentError) as cm:
            elattn.hybrid_attention(q, k, k, [7], device=dev)
        self.assertIn("modes", str(cm.exception))
        with self.assertRaises(elattn.ElattnError):
            elattn.hybrid_attention(q, k, k, [0], device=dev, kernel="no.such.kernel")

    def test_python_side_checks(self):
        q = np.zeros((16, 2, 32), np.float32)
        k = np.zeros((16, 1, 32), np.float32)
        with self.assertRaisesRegex(ValueError, "modes: shape"):
            elattn.hybrid_attention(q, k, k, [0, 0], device=dev)
        with self.assertRaisesRegex(ValueError, "not one of"):
            elattn.hybrid_attention(q, k, k, ["dense"], device=dev)
        with self.assertRaisesRegex(ValueError, "cu_seqlens end at 20"):
            elattn.hybrid_attention(q, k, k, [0], cu_seqlens_q=[0, 20], device=dev)
        with self.assertRaisesRegex(ValueError, "dtype float64"):
            elattn.hybrid_attention(q.astype(np.float64), k, k, [0], device=dev)
        with self.assertRaisesRegex(ValueError, "block_mask: shape"):
            elattn.hybrid_attention(q, k, k, ["block_sparse"], block_size=16, block_mask=np.ones((1, 1, 2, 2)),
                                    device=dev)

    def test_library_not_found(self):
        env = dict(os.environ, ELATTN_LIBRARY="/nonexistent/libelattn.so")
        code = "import elattn\ntry:\n    elattn.devices()\nexcept OSError as e:\n    print(e)\n"
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                             cwd=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        self.assertIn("/nonexistent/libelattn.so", out.stdout + out.stderr)
        self.assertIn("ELATTN_LIBRARY", out.stdout)


if __name__ == "__main__":
    unittest.main()

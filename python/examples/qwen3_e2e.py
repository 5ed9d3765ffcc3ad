#!/usr/bin/env python3
"""End to end: a Hugging Face Qwen3 (and Llama) model with random weights (built from a config, nothing
downloaded), its attention swapped for elattn's through transformers' attention-function registry.

Per layer, in the registered attention function:
  1. the router runs on the layer's key states after the key norm and before RoPE (captured by a forward
     hook on k_norm, or on k_proj for Llama, which has no key norm), with weights loaded from a
     safetensors checkpoint this script writes under the released names;
  2. XAttention selects the blocks of the heads routed BLOCK_SPARSE;
  3. one fused elattn launch runs every head in its mode.

Checks (any failure: exit 1) and reports:
  - all heads FULL: the logits against an fp32 eager model (with the bf16-rounded weights), next to the
    bf16 eager model's own error (the bf16 tolerance), on the --check-size model at --check-len tokens (a
    shorter length than the timed ones: fp32 eager materialises [Hq, L, L] fp32 scores); fails when
    elattn's error exceeds twice eager's plus 1e-3, or its top-1 tokens differ from fp32 eager's on more
    than twice eager bf16's share of positions plus 1%;
  - every layer's router decisions against a PyTorch computation of the same router on the same keys,
    near-ties (|logit1 - logit0| <= 1e-2) excepted;
  - one routed layer (the first with a head not FULL; every head in its mode, XAttention's mask as
    selected) against a PyTorch attention with the same visibility, on --probe-rows query rows spread
    over the sequence;
  - routed modes: Omega_MSR / Omega_ESR over all layers (elattn.sparsity per layer, merged);
  - prefill time (logits of the last position only), elattn routed and all-FULL vs SDPA, at each --lengths.
Results go to --out/e2e_results.json and --out/e2e_results.md. Exit status: 0 all checks passed, 1 a check
failed, 2 a bad option, 77 torch / transformers / safetensors missing (meson's "skipped").

--device cuda (default): torch CUDA tensors go to elattn in place through DLPack and come back as torch
tensors (no copies), on the elattn device "cuda:<torch's current device>", on torch's current stream.
--device cpu: a logic check, not a benchmark. The same code runs on torch CPU tensors; the only difference
is the exchange (`Exchange` below): tensors go to elattn as NumPy views (bf16 as uint16 bits), elattn
copies them into its host buffers (--elattn-device reference, or opencl for PoCL) and the results come
back as NumPy arrays wrapped by torch. Defaults there: --size mini --lengths 300 1000 --check-len 512, and
a small streaming window and block (sink 16, local 128, block 64) so that every mode differs from FULL.

Needs: torch, transformers (5.x; written against 5.17), safetensors, numpy, and libelattn (for cuda built
with CUDA):

    meson setup build-gpu -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a \\
        -Dtests=false -Dbench=false && ninja -C build-gpu
    ELATTN_LIBRARY=build-gpu/api/src PYTHONPATH=python python3 python/examples/qwen3_e2e.py --out results/

  (an estimate for an H200, never run there yet: about 1-2 minutes for both models at 8K and 32K with
  the 4b shape, under 25 GB of GPU memory: 7.6 GB of bf16 weights, the 32K activations, every layer's
  captured keys in the collecting pass; --lengths 131072 adds about 2-3 minutes per model and about
  40 GB)

    # the CPU logic check (any build; the reference backend)
    ELATTN_LIBRARY=build/api/src PYTHONPATH=python python3 python/examples/qwen3_e2e.py --device cpu
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

# Every third-party import is inside main(): importing this file needs nothing but Python.

SIZES = {  # hidden, intermediate, layers, q heads, kv heads, head dim
    "mini": (512, 1536, 2, 8, 2, 64),      # the CPU logic check: GQA 4, D 64
    "tiny": (1024, 3072, 4, 8, 4, 128),
    "4b": (2560, 9728, 36, 32, 8, 128),    # Qwen3-4B's shape
    "8b": (4096, 12288, 36, 32, 8, 128),   # Qwen3-8B's / Llama-3.1-8B's shape
}
VOCAB = 32000
# per --device: what an option left unset means (cpu: small enough to run on two cores in minutes, and a
# window / block small enough that STREAMING and BLOCK_SPARSE differ from FULL at a few hundred tokens)
DEFAULTS = {
    "cuda": dict(size="4b", lengths=[8192, 32768], check_size="tiny", check_len=4096, sink=128, local=2048,
                 block_size=128, reps=3, elattn_device=None),
    "cpu": dict(size="mini", lengths=[300, 1000], check_size="mini", check_len=512, sink=16, local=128,
                block_size=64, reps=1, elattn_device="reference"),
}


def make_config(transformers, model, size, max_len):
    hidden, inter, layers, hq, hkv, d = SIZES[size]
    common = dict(vocab_size=VOCAB, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                  num_attention_heads=hq, num_key_value_heads=hkv, head_dim=d, max_position_embeddings=max_len,
                  tie_word_embeddings=False, use_cache=False)
    cls = transformers.Qwen3Config if model == "qwen3" else transformers.LlamaConfig
    return cls(**common)


def build_model(torch, transformers, config, dtype, device):
    with torch.device(device):
        try:
            m = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation="eager")
        except TypeError:  # transformers 4.x names it torch_dtype
            m = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=dtype, attn_implementation="eager")
    return m.eval()


def set_attention(model, name):
    model.set_attn_implementation(name)  # transformers 4.56+ and 5.x; takes registered names
    if model.config._attn_implementation != name:
        raise RuntimeError(f"set_attn_implementation({name!r}) left {model.config._attn_implementation!r}")


class Exchange:
    """The one place where the CPU and CUDA paths differ: how torch tensors reach elattn and come back.
    cuda: the tensors themselves (DLPack, in place) and torch's current stream. cpu: NumPy views (bf16 as
    uint16 bits; elattn's package copies host arrays into its buffers) and NumPy results wrapped back."""

    def __init__(self, torch, device):
        self.torch, self.cuda = torch, device == "cuda"

    def stream(self):
        return self.torch.cuda.current_stream() if self.cuda else None

    def sync(self):
        if self.cuda:
            self.torch.cuda.synchronize()

    def to_elattn(self, t):
        t = t.contiguous()
        if self.cuda:
            return t
        return t.view(self.torch.uint16).numpy() if t.dtype == self.torch.bfloat16 else t.numpy()

    def from_elattn(self, x, like):
        """elattn's result as a torch tensor of like's dtype and device."""
        if self.cuda:
            return x
        t = self.torch.from_numpy(x)
        return t.view(self.torch.bfloat16) if like.dtype == self.torch.bfloat16 else t

    def host(self, x):
        """A NumPy copy (for metrics): of a torch tensor on any device, or of a NumPy array."""
        import numpy as np
        return x.cpu().numpy() if hasattr(x, "cpu") else np.array(x)


class ElasticState:
    """What the registered attention function reads: routers, captured keys, the mode policy, metrics."""

    def __init__(self, elattn, torch, args, ex, dev):
        self.elattn, self.torch, self.args, self.ex, self.dev = elattn, torch, args, ex, dev
        self.routers = {}
        self.keys = {}
        self.policy = "router"  # or "full"
        self.capturing = False  # the key hooks store only while elattn is the attention (not under SDPA)
        self.collect = None     # a list: per layer (layer, modes, mask on host, L, Hq, Hkv) when collecting
        self.probe = None       # layer 0's (q, k, v, o, modes, mask) when collecting
        self.sparse_mode = elattn.BLOCK_SPARSE if args.sparse == "xa" else elattn.STREAMING


def elattn_attention_factory(state):
    elattn, a, ex = state.elattn, state.args, state.ex

    def elattn_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        # transformers passes query [B, Hq, L, D], key / value [B, Hkv, L, D] after RoPE and wants
        # [B, L, Hq, D] back; elattn takes [B, L, H, D] contiguous, query head h reading KV head
        # h // (Hq / Hkv), which is transformers' repeat_kv order.
        if attention_mask is not None:
            raise NotImplementedError("elattn example: one unpadded causal sequence per batch row (the mask "
                                      "function registered for 'elattn' returns None for exactly that case)")
        if kwargs.get("sliding_window") is not None or not getattr(module, "is_causal", True):
            raise NotImplementedError("elattn example: causal full-attention layers only")
        if dropout:
            raise NotImplementedError("elattn example: inference only (dropout 0)")
        b, hq, s, d = query.shape
        hkv = key.shape[1]
        if key.shape[2] != s:
            raise NotImplementedError("elattn example: prefill only (no KV cache): query and key lengths equal")
        q, k, v = (ex.to_elattn(t.transpose(1, 2)) for t in (query, key, value))
        stream = ex.stream()
        layer = module.layer_idx
        keys = state.keys.pop(layer)
        if state.policy == "full":
            modes = [[elattn.FULL] * hkv] * b
        else:
            modes = state.routers[layer](ex.to_elattn(keys), retrieval_mode=elattn.FULL,
                                         sparse_mode=state.sparse_mode, stream=stream)
        mask = None
        if state.policy != "full" and (modes == elattn.BLOCK_SPARSE).any():
            mask = elattn.xattn_select(q, k, modes, threshold=a.threshold, stride=a.stride,
                                       block_size=a.block_size, scale=scaling, device=state.dev, stream=stream)
        o = elattn.hybrid_attention(q, k, v, modes, block_mask=mask, sink=a.sink, local=a.local,
                                    block_size=a.block_size, scale=scaling, device=state.dev, stream=stream)
        o = ex.from_elattn(o, query)
        if state.collect is not None:
            host_mask = None if mask is None else ex.host(mask)
            state.collect.append((layer, modes, host_mask, s, hq, hkv, keys))
            # the probe: the first layer with a head not FULL (layer 0 if none), so that the check sees the
            # sparse modes when the router picks any
            if state.probe is None or ((state.probe[4] == elattn.FULL).all() and (modes != elattn.FULL).any()):
                state.probe = (query, key, value, o, modes, host_mask, scaling, layer)
        return o, None

    return elattn_attention


def key_module(attn, model_kind):
    """Where the pre-RoPE key states come out: Qwen3's k_norm ([B, L, Hkv, D]), Llama's k_proj ([B, L,
    Hkv * D]: no key norm)."""
    return attn.k_norm if model_kind == "qwen3" else attn.k_proj


def capture_keys(model, state, model_kind):
    """Hooks that keep each layer's key states after the key norm, before RoPE, as [B, L, Hkv, D]."""
    handles = []
    for i, layer in enumerate(model.model.layers):
        attn = layer.self_attn

        def hook(mod, inputs, out, i=i, d=attn.head_dim):
            if state.capturing:
                state.keys[i] = out if out.dim() == 4 else out.view(*out.shape[:-1], -1, d)
        handles.append(key_module(attn, model_kind).register_forward_hook(hook))
    return handles


RELEASED = ("cls_feat_extractor.0", "cls_feat_extractor.2", "cls_router_head_agnostic.0",
            "cls_router_head_agnostic.2", "cls_router_head_agnostic.4")


def write_router_checkpoint(torch, path, layers, d, seed):
    """A router per layer, random, under the released names (bf16 on disk, as the released checkpoints)."""
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(seed)
    shapes = [(4 * d, d), (d, 4 * d), (4 * d, d), (d, 4 * d), (2, d)]
    tensors = {}
    for i in range(layers):
        for name, (o, n) in zip(RELEASED, shapes):
            p = f"model.layers.{i}.self_attn.mask_allocator.{name}"
            tensors[p + ".weight"] = (torch.randn(o, n, generator=g) / n ** 0.5).to(torch.bfloat16)
            tensors[p + ".bias"] = (torch.randn(o, generator=g) * 0.1).to(torch.bfloat16)
    save_file(tensors, path, metadata={"format": "pt"})
    return tensors


def torch_router(torch, keys, w, layer):
    """The router in PyTorch (kernels/SPEC.md section 5), fp32: logits [B, Hkv, 2]."""
    x = keys.float()
    s = x.shape[1]
    pooled = torch.cat([x[:, :100], x[:, s - 100:]], 1).mean(1) if s >= 200 else x.mean(1)
    p = f"model.layers.{layer}.self_attn.mask_allocator."

    def lin(t, name):
        return t @ w[p + name + ".weight"].float().to(t.device).T + w[p + name + ".bias"].float().to(t.device)
    silu = torch.nn.functional.silu
    t = lin(silu(lin(pooled, RELEASED[0])), RELEASED[1])
    h = silu(lin(silu(lin(t, RELEASED[2])), RELEASED[3]))
    return lin(h, RELEASED[4])


def torch_hybrid_rows(torch, elattn, probe, args, rows):
    """A routed layer's attention in PyTorch on query rows `rows` (kernels/SPEC.md section 2, causal,
    Lq = Lk): per KV head FULL, STREAMING (j < sink or i - j < local) or BLOCK_SPARSE (the mask elattn
    used); fp32 from the same bf16 inputs. Returns (max |elattn - torch| / max |torch|, the error limit)."""
    query, key, value, o, modes, mask, scale, _ = probe
    b, hq, s, d = query.shape
    hkv = key.shape[1]
    dev = query.device
    r = torch.as_tensor(rows, device=dev)
    j = torch.arange(s, device=dev)
    causal = j[None, :] <= r[:, None]                                   # [R, L]
    worst = 0.0
    for e in range(b):
        vis = []
        for h in range(hkv):
            m = int(modes[e][h])
            if m == elattn.FULL:
                vis.append(causal)
            elif m == elattn.STREAMING:
                vis.append(causal & ((j[None, :] < args.sink) | (r[:, None] - j[None, :] < args.local)))
            else:
                blocks = torch.as_tensor(mask[e, h], device=dev).bool()  # [QB, KB]
                vis.append(causal & blocks[r // args.block_size][:, j // args.block_size])
        vis = torch.stack(vis).repeat_interleave(hq // hkv, 0)           # [Hq, R, L]
        kk = key[e].float().repeat_interleave(hq // hkv, 0)              # [Hq, L, D]
        vv = value[e].float().repeat_interleave(hq // hkv, 0)
        scores = (query[e][:, r].float() @ kk.transpose(1, 2)) * scale  # [Hq, R, L]
        scores = scores.masked_fill(~vis, float("-inf"))
        ref = torch.softmax(scores, -1).nan_to_num(0.0) @ vv            # rows that see nothing: 0
        got = o[e][r].float().transpose(0, 1)                            # [Hq, R, D]
        worst = max(worst, ((got - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item())
    return worst, 1e-2  # bf16 output: one rounding (2^-9 relative) plus fp32 reordering, with margin


def timed(torch, ex, fn, reps):
    fn()  # warm-up: plans, workspaces, caches
    ex.sync()
    ms = []
    for _ in range(reps):
        if ex.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            ms.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)


def full_check(kind, args, torch, transformers, state, ex):
    """All heads FULL against fp32 eager; bf16 eager's own error is the tolerance."""
    cfg = make_config(transformers, kind, args.check_size, args.check_len)
    torch.manual_seed(args.seed)
    model = build_model(torch, transformers, cfg, torch.float32, args.device)
    hooks = capture_keys(model, state, kind)
    ids = torch.randint(0, cfg.vocab_size, (1, args.check_len), device=args.device)
    with torch.no_grad():
        # the fp32 reference runs the bf16-rounded weights: the check then measures attention arithmetic, not
        # the weights' rounding (which, in a random model, moves the logits more than any kernel does)
        model.to(torch.bfloat16).to(torch.float32)
        set_attention(model, "eager")
        ref = model(ids).logits.float()
        model.to(torch.bfloat16)
        eager = model(ids).logits.float()
        set_attention(model, "elattn")
        state.policy, state.capturing = "full", True
        ours = model(ids).logits.float()
        state.capturing = False
    for h in hooks:
        h.remove()
    scale = ref.abs().max().item()
    e_eager = (eager - ref).abs().max().item() / scale
    e_ours = (ours - ref).abs().max().item() / scale
    top1 = (ours.argmax(-1) == ref.argmax(-1)).float().mean().item()
    top1_eager = (eager.argmax(-1) == ref.argmax(-1)).float().mean().item()
    # top-1 flips between near-equal logits are common in a random model: the same rule as for the error
    ok = (bool(torch.isfinite(ours).all()) and e_ours <= 2 * e_eager + 1e-3
          and 1 - top1 <= 2 * (1 - top1_eager) + 0.01)
    print(f"all FULL, {args.check_size} model, {args.check_len} tokens, vs fp32 eager: max |diff| / max |logit| "
          f"elattn {e_ours:.2e}, bf16 eager {e_eager:.2e} (limit {2 * e_eager + 1e-3:.2e}); top-1 agreement "
          f"elattn {top1:.4f}, bf16 eager {top1_eager:.4f} -> {'OK' if ok else 'FAIL'}", flush=True)
    del model, ref, eager, ours
    return dict(size=args.check_size, tokens=args.check_len, err_elattn=e_ours, err_eager_bf16=e_eager,
                top1_elattn=top1, top1_eager=top1_eager, ok=ok)


def run_model(kind, args, torch, transformers, elattn, ex, dev):
    print(f"\n==== {kind}", flush=True)
    state = ElasticState(elattn, torch, args, ex, dev)
    transformers.AttentionInterface.register("elattn", elattn_attention_factory(state))
    # the mask SDPA would get: None for one unpadded causal sequence (the only case the function takes),
    # a real mask otherwise, which the function refuses rather than ignores
    transformers.AttentionMaskInterface.register("elattn", transformers.masking_utils.sdpa_mask)
    res = {"full_check": full_check(kind, args, torch, transformers, state, ex)}
    if args.device == "cuda":
        torch.cuda.empty_cache()

    # ---- the timing model, its routers from a checkpoint ------------------------------------------------
    cfg = make_config(transformers, kind, args.size, max(args.lengths))
    torch.manual_seed(args.seed)
    model = build_model(torch, transformers, cfg, torch.bfloat16, args.device)
    hooks = capture_keys(model, state, kind)
    d, layers = cfg.head_dim, cfg.num_hidden_layers
    tmp = tempfile.mkdtemp(prefix="elattn_e2e_")
    ckpt = os.path.join(tmp, "router.safetensors")
    weights = write_router_checkpoint(torch, ckpt, layers, d, args.seed)
    state.routers = {i: elattn.Router.from_safetensors(ckpt, i, device=dev) for i in range(layers)}
    print(f"model {args.size}: {layers} layers, {cfg.num_attention_heads}/{cfg.num_key_value_heads} heads, D {d}; "
          f"routers from {ckpt}; elattn {dev}; sink {args.sink}, local {args.local}, block {args.block_size}, "
          f"sparse mode {args.sparse}", flush=True)

    def prefill():
        model(ids, logits_to_keep=1)

    for L in args.lengths:
        ids = torch.randint(0, cfg.vocab_size, (1, L), device=args.device)
        row = res.setdefault(str(L), {})
        with torch.no_grad():
            # one collecting pass: the routers against PyTorch (every layer, on the keys the hooks caught),
            # the probe layer against PyTorch, the routed sparsity
            set_attention(model, "elattn")
            state.policy, state.capturing, state.collect, state.probe = "router", True, [], None
            prefill()
            collect, probe, state.collect, state.probe = state.collect, state.probe, None, None
            router_ok, decided, total = True, 0, 0
            for layer, modes, _, _, _, _, keys in collect:
                logits = torch_router(torch, keys, weights, layer)
                want = torch.where(logits[..., 1] > logits[..., 0], elattn.FULL, state.sparse_mode).cpu().numpy()
                sure = (logits[..., 1] - logits[..., 0]).abs().cpu().numpy() > 1e-2
                router_ok = router_ok and bool((modes[sure] == want[sure]).all())
                decided, total = decided + int(sure.sum()), total + sure.size
            rows = sorted(set(torch.linspace(0, L - 1, min(args.probe_rows, L)).long().tolist()))
            err, lim = torch_hybrid_rows(torch, elattn, probe, args, rows)
            probe_ok = err <= lim
            parts = [elattn.sparsity(modes, cu_seqlens_q=[0, s], num_q_heads=hq, num_kv_heads=hkv, head_dim=d,
                                     sink=args.sink, local=args.local, block_size=args.block_size, block_mask=mask)
                     for _, modes, mask, s, hq, hkv, _ in collect]
            sp = elattn.merge_sparsity(parts)
            counts = {name: int(sum((c[1] == val).sum() for c in collect))
                      for name, val in (("full", elattn.FULL), ("streaming", elattn.STREAMING),
                                        ("block_sparse", elattn.BLOCK_SPARSE))}
            del collect
            print(f"L {L}: routers vs PyTorch ({layers} layers, {decided}/{total} decisions beyond 1e-2) "
                  f"{'OK' if router_ok else 'MISMATCH'}; routed layer {probe[7]} (modes {probe[4].ravel().tolist()}) "
                  f"vs PyTorch on {len(rows)} rows: {err:.2e} (limit {lim:.0e}) {'OK' if probe_ok else 'FAIL'}",
                  flush=True)
            del probe
            print(f"L {L}: routed heads over {layers} layers {counts}; Omega_MSR {sp.omega_msr:.3f}, "
                  f"Omega_ESR {sp.omega_esr:.3f}", flush=True)
            row.update(router_matches_torch=router_ok, probe_layer_err=err, probe_ok=probe_ok,
                       omega_msr=sp.omega_msr, omega_esr=sp.omega_esr, head_modes=counts)

            state.policy = "router"
            t_routed = timed(torch, ex, prefill, args.reps)
            state.policy = "full"
            t_full = timed(torch, ex, prefill, args.reps)
            state.capturing = False
            set_attention(model, "sdpa")
            t_sdpa = timed(torch, ex, prefill, args.reps)
            state.keys.clear()
            print(f"L {L}: prefill ms (median of {args.reps}): elattn routed {t_routed:.1f}, elattn all-FULL "
                  f"{t_full:.1f}, SDPA {t_sdpa:.1f}; routed / SDPA {t_routed / t_sdpa:.3f}, all-FULL / SDPA "
                  f"{t_full / t_sdpa:.3f}", flush=True)
            row.update(ms_elattn_routed=t_routed, ms_elattn_full=t_full, ms_sdpa=t_sdpa)
    for h in hooks:
        h.remove()
    for r in state.routers.values():
        r.close()
    del model
    if args.device == "cuda":
        torch.cuda.empty_cache()
    ok = res["full_check"]["ok"] and all(v["router_matches_torch"] and v["probe_ok"] for k, v in res.items()
                                         if k != "full_check")
    return res, ok


def write_outputs(folder, meta, results):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "e2e_results.json"), "w") as f:
        json.dump(dict(meta, results=results), f, indent=1)
    lines = [f"# elattn end to end ({meta['device']}: {meta['device_name']})", "",
             f"torch {meta['torch']}, transformers {meta['transformers']}, elattn {meta['elattn']} on "
             f"{meta['elattn_device']}; model {meta['args']['size']}, random weights and routers; sink "
             f"{meta['args']['sink']}, local {meta['args']['local']}, block {meta['args']['block_size']}, "
             f"sparse mode {meta['args']['sparse']}, threshold {meta['args']['threshold']}; prefill of the last "
             f"position's logits, median of {meta['args']['reps']}"
             + (" (CPU: a logic check, not a benchmark)" if meta["device"] == "cpu" else ""), "",
             "| model | length | Omega_MSR | Omega_ESR | ours routed ms | ours all-FULL ms | SDPA ms | "
             "routed / SDPA | all-FULL / SDPA |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kind, res in results.items():
        for length, r in res.items():
            if length == "full_check":
                continue
            lines.append(f"| {kind} {meta['args']['size']} | {length} | {r['omega_msr']:.3f} | {r['omega_esr']:.3f} | "
                         f"{r['ms_elattn_routed']:.1f} | {r['ms_elattn_full']:.1f} | {r['ms_sdpa']:.1f} | "
                         f"{r['ms_elattn_routed'] / r['ms_sdpa']:.3f} | {r['ms_elattn_full'] / r['ms_sdpa']:.3f} |")
    lines += ["", "| model | check | result |", "| --- | --- | --- |"]
    for kind, res in results.items():
        c = res["full_check"]
        lines.append(f"| {kind} {c['size']} | all FULL vs fp32 eager, {c['tokens']} tokens | rel. err elattn "
                     f"{c['err_elattn']:.2e}, bf16 eager {c['err_eager_bf16']:.2e}; top-1 {c['top1_elattn']:.4f} "
                     f"(eager {c['top1_eager']:.4f}): {'OK' if c['ok'] else 'FAIL'} |")
        for length, r in res.items():
            if length != "full_check":
                lines.append(f"| {kind} {meta['args']['size']} | L {length}: routers vs PyTorch; a routed layer vs "
                             f"PyTorch | {'OK' if r['router_matches_torch'] else 'MISMATCH'}; "
                             f"{r['probe_layer_err']:.2e} {'OK' if r['probe_ok'] else 'FAIL'} |")
    with open(os.path.join(folder, "e2e_results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                epilog="Options left unset take the --device's defaults (see the docstring).")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--elattn-device", default=None,
                   help="cpu: 'reference' (default) or 'opencl'; cuda: cuda:<torch's device> (the only choice)")
    p.add_argument("--models", nargs="+", default=["qwen3", "llama"], choices=["qwen3", "llama"])
    p.add_argument("--size", default=None, choices=sorted(SIZES))
    p.add_argument("--lengths", nargs="+", type=int, default=None)
    p.add_argument("--check-size", default=None, choices=sorted(SIZES))
    p.add_argument("--check-len", type=int, default=None)
    p.add_argument("--sparse", default="xa", choices=["xa", "ssa"], help="the mode routed-sparse heads take")
    p.add_argument("--sink", type=int, default=None)
    p.add_argument("--local", type=int, default=None)
    p.add_argument("--block-size", type=int, default=None)
    p.add_argument("--threshold", type=float, default=0.9)
    p.add_argument("--stride", type=int, default=16)
    p.add_argument("--reps", type=int, default=None)
    p.add_argument("--probe-rows", type=int, default=128, help="query rows of the routed-layer check")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for e2e_results.json and e2e_results.md")
    args = p.parse_args()
    for name, value in DEFAULTS[args.device].items():
        if getattr(args, name) is None:
            setattr(args, name, value)

    try:
        import safetensors  # noqa: F401  (the router checkpoint's writer)
        import torch
        import transformers
    except ImportError as e:  # 77: meson's "skipped" (the CPU test, where torch is not installed)
        print(f"qwen3_e2e: {e}; needs torch, transformers and safetensors", file=sys.stderr)
        return 77
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import elattn

    if args.device == "cuda":
        if not torch.cuda.is_available():
            print("--device cuda: torch sees no CUDA device (use --device cpu for the logic check)", file=sys.stderr)
            return 2
        want = "cuda:%d" % torch.cuda.current_device()
        if args.elattn_device not in (None, want):
            print(f"--elattn-device {args.elattn_device}: torch CUDA tensors go to elattn in place, so only {want}",
                  file=sys.stderr)
            return 2
        args.elattn_device, device_name = want, torch.cuda.get_device_name()
    else:
        device_name = "CPU"
    dev = elattn.Device(args.elattn_device)
    ex = Exchange(torch, args.device)
    meta = dict(device=args.device, device_name=device_name, elattn_device=repr(dev), torch=torch.__version__,
                transformers=transformers.__version__, elattn=elattn.version(), args=vars(args))
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, elattn {elattn.version()} from "
          f"{elattn.library_path()}; {args.device}: {device_name}; elattn on {dev}", flush=True)
    results, ok = {}, True
    t0 = time.time()
    for kind in args.models:
        res, model_ok = run_model(kind, args, torch, transformers, elattn, ex, dev)
        results[kind] = res
        ok = ok and model_ok
    if args.out:
        write_outputs(args.out, meta, results)
        print(f"results: {os.path.join(args.out, 'e2e_results.json')}, e2e_results.md", flush=True)
    print(f"\n{'OK' if ok else 'FAILED'} in {time.time() - t0:.0f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

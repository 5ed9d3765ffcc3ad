#!/usr/bin/env python3
"""End to end on a GPU: a Hugging Face Qwen3 (and Llama) model with random weights, its attention swapped
for elattn's through transformers' attention-function registry.

Per layer, in the registered attention function:
  1. the router runs on the layer's key states after the key norm and before RoPE (captured by a forward
     hook on k_norm, or on k_proj for Llama, which has no key norm), with weights loaded from a
     safetensors checkpoint this script writes under the released names;
  2. XAttention selects the blocks of the heads routed BLOCK_SPARSE;
  3. one fused elattn launch runs every head in its mode.

Checks and reports:
  - all heads FULL: the logits against an fp32 eager model, next to the bf16 eager model's own error (the
    bf16 tolerance); fails (exit 1) when elattn's error exceeds twice eager's plus 1e-3, or top-1 tokens
    agree on fewer than 99% of the positions;
  - the router's decisions against a PyTorch computation of the same router on the same keys;
  - routed modes: Omega_MSR / Omega_ESR over all layers (elattn_sparsity_of_call per layer, merged);
  - prefill time (logits of the last position only), elattn routed and all-FULL vs SDPA, at each --lengths.

Needs: a CUDA GPU, torch, transformers (5.x; 4.56+ should do), safetensors, libelattn built with CUDA:

    meson setup build-gpu -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a \\
        -Dtests=false -Dbench=false && ninja -C build-gpu
    ELATTN_LIBRARY=build-gpu/api/src PYTHONPATH=python python3 python/examples/qwen3_e2e.py

Options: --models qwen3 llama, --lengths 8192 32768, --size 4b (timing model; "tiny" for a quick run),
--sparse xa|ssa (the sparse mode routed heads take), --json FILE (results).
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

# Every third-party import is inside main(): CI imports nothing of this file.

SIZES = {  # hidden, intermediate, layers, q heads, kv heads, head dim
    "tiny": (1024, 3072, 4, 8, 4, 128),
    "4b": (2560, 9728, 36, 32, 8, 128),   # Qwen3-4B's shape
    "8b": (4096, 12288, 36, 32, 8, 128),  # Qwen3-8B's / Llama-3.1-8B's shape
}


def make_config(transformers, model, size, max_len):
    hidden, inter, layers, hq, hkv, d = SIZES[size]
    common = dict(vocab_size=32000, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                  num_attention_heads=hq, num_key_value_heads=hkv, head_dim=d, max_position_embeddings=max_len,
                  tie_word_embeddings=False)
    cls = transformers.Qwen3Config if model == "qwen3" else transformers.LlamaConfig
    return cls(**common)


def build_model(torch, transformers, config, dtype):
    with torch.device("cuda"):
        try:
            m = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)
        except TypeError:  # transformers 4.x names it torch_dtype
            m = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=dtype)
    return m.eval()


def set_attention(model, name):
    try:
        model.set_attn_implementation(name)  # transformers 4.56+ and 5.x; takes registered names
    except (AttributeError, ValueError) as e:
        print(f"set_attn_implementation({name!r}): {e}; setting config._attn_implementation", flush=True)
        model.config._attn_implementation = name


class ElasticState:
    """What the registered attention function reads: routers, captured keys, the mode policy, metrics."""

    def __init__(self, elattn, torch, args):
        self.elattn, self.torch, self.args = elattn, torch, args
        self.routers = {}
        self.keys = {}
        self.policy = "router"  # or "full"
        self.collect = None     # a list: per layer (modes, mask on host) when collecting
        self.sparse_mode = elattn.BLOCK_SPARSE if args.sparse == "xa" else elattn.STREAMING


def elattn_attention_factory(state):
    elattn, torch, a = state.elattn, state.torch, state.args

    def elattn_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        # transformers gives [B, H, S, D] after RoPE; elattn takes [B, S, H, D] contiguous
        q = query.transpose(1, 2).contiguous()
        k = key.transpose(1, 2).contiguous()
        v = value.transpose(1, 2).contiguous()
        b, s, hkv = k.shape[0], k.shape[1], k.shape[2]
        if q.shape[1] != s:
            raise NotImplementedError("elattn example: prefill only (no KV cache), query and key lengths equal")
        stream = torch.cuda.current_stream()
        layer = module.layer_idx
        keys = state.keys.pop(layer)
        if state.policy == "full":
            modes = [[elattn.FULL] * hkv] * b
        else:
            modes = state.routers[layer](keys, retrieval_mode=elattn.FULL, sparse_mode=state.sparse_mode,
                                         stream=stream)
        mask = None
        if state.policy != "full" and (modes == elattn.BLOCK_SPARSE).any():
            mask = elattn.xattn_select(q, k, modes, threshold=a.threshold, stride=a.stride,
                                       block_size=a.block_size, scale=scaling, stream=stream)
        o = elattn.hybrid_attention(q, k, v, modes, block_mask=mask, sink=a.sink, local=a.local,
                                    block_size=a.block_size, scale=scaling, stream=stream)
        if state.collect is not None:
            state.collect.append((layer, modes, None if mask is None else mask.cpu().numpy(), s,
                                  q.shape[2], hkv))
        return o, None

    return elattn_attention


def capture_keys(model, state, model_kind):
    """Hooks that keep each layer's key states after the key norm, before RoPE: [B, S, Hkv, D]."""
    handles = []
    for i, layer in enumerate(model.model.layers):
        attn = layer.self_attn
        d = attn.head_dim

        def hook(mod, inputs, out, i=i, d=d):
            state.keys[i] = out if out.dim() == 4 else out.view(*out.shape[:-1], -1, d)
        target = attn.k_norm if model_kind == "qwen3" else attn.k_proj
        handles.append(target.register_forward_hook(hook))
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
    """The router in PyTorch (semantics.md section 4), fp32: logits [B, Hkv, 2]."""
    x = keys.float()
    s = x.shape[1]
    pooled = torch.cat([x[:, :100], x[:, s - 100:]], 1).mean(1) if s >= 200 else x.mean(1)
    p = f"model.layers.{layer}.self_attn.mask_allocator."

    def lin(t, name):
        return t @ w[p + name + ".weight"].float().cuda().T + w[p + name + ".bias"].float().cuda()
    silu = torch.nn.functional.silu
    t = lin(silu(lin(pooled, RELEASED[0])), RELEASED[1])
    h = silu(lin(silu(lin(t, RELEASED[2])), RELEASED[3]))
    return lin(h, RELEASED[4])


def timed(torch, fn, reps):
    fn()  # warm-up: plans, workspaces, caches
    torch.cuda.synchronize()
    ms = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        ms.append(start.elapsed_time(end))
    return statistics.median(ms)


def run_model(kind, args, torch, transformers, elattn, results):
    print(f"\n==== {kind}", flush=True)
    state = ElasticState(elattn, torch, args)
    transformers.AttentionInterface.register("elattn", elattn_attention_factory(state))
    tmp = tempfile.mkdtemp(prefix="elattn_e2e_")
    res = results.setdefault(kind, {})

    # ---- 1. all heads FULL against eager, on the tiny model ----------------------------------------------
    cfg = make_config(transformers, kind, "tiny", max(args.check_len, 4096))
    torch.manual_seed(args.seed)
    model = build_model(torch, transformers, cfg, torch.float32)
    ids = torch.randint(0, cfg.vocab_size, (1, args.check_len), device="cuda")
    with torch.no_grad():
        set_attention(model, "eager")
        ref = model(ids).logits.float()
        model.to(torch.bfloat16)
        eager = model(ids).logits.float()
        set_attention(model, "elattn")
        hooks = capture_keys(model, state, kind)
        state.policy = "full"
        ours = model(ids).logits.float()
    scale = ref.abs().max().item()
    e_eager = (eager - ref).abs().max().item() / scale
    e_ours = (ours - ref).abs().max().item() / scale
    top1 = (ours.argmax(-1) == ref.argmax(-1)).float().mean().item()
    top1_eager = (eager.argmax(-1) == ref.argmax(-1)).float().mean().item()
    ok = e_ours <= 2 * e_eager + 1e-3 and top1 >= 0.99
    print(f"all FULL, {args.check_len} tokens, vs fp32 eager: max |diff| / max |logit| elattn {e_ours:.2e}, "
          f"bf16 eager {e_eager:.2e}; top-1 agreement elattn {top1:.4f}, eager {top1_eager:.4f} -> "
          f"{'OK' if ok else 'FAIL'}", flush=True)
    res["full_check"] = dict(tokens=args.check_len, err_elattn=e_ours, err_eager_bf16=e_eager, top1_elattn=top1,
                             top1_eager=top1_eager, ok=ok)
    for h in hooks:
        h.remove()
    del model, ref, eager, ours
    torch.cuda.empty_cache()

    # ---- 2. the timing model, its routers from a checkpoint ------------------------------------------------
    max_len = max(args.lengths)
    cfg = make_config(transformers, kind, args.size, max_len)
    torch.manual_seed(args.seed)
    model = build_model(torch, transformers, cfg, torch.bfloat16)
    hooks = capture_keys(model, state, kind)
    d = cfg.head_dim
    ckpt = os.path.join(tmp, "router.safetensors")
    weights = write_router_checkpoint(torch, ckpt, cfg.num_hidden_layers, d, args.seed)
    dev = elattn.Device("cuda:%d" % torch.cuda.current_device())
    state.routers = {i: elattn.Router.from_safetensors(ckpt, i, device=dev) for i in range(cfg.num_hidden_layers)}
    print(f"model {args.size}: {cfg.num_hidden_layers} layers, {cfg.num_attention_heads}/{cfg.num_key_value_heads} "
          f"heads, D {d}; routers from {ckpt}; device {dev}", flush=True)

    for L in args.lengths:
        ids = torch.randint(0, cfg.vocab_size, (1, L), device="cuda")
        row = res.setdefault(str(L), {})
        with torch.no_grad():
            # the router against PyTorch, and the routed modes' sparsity, in one collecting pass
            set_attention(model, "elattn")
            state.policy, state.collect = "router", []
            captured = {}
            probe = model.model.layers[0].self_attn
            hk = (probe.k_norm if kind == "qwen3" else probe.k_proj).register_forward_hook(
                lambda m, i, o: captured.setdefault("k", o.detach().clone()))
            model(ids, logits_to_keep=1)
            hk.remove()
            k0 = captured["k"]
            k0 = k0 if k0.dim() == 4 else k0.view(*k0.shape[:-1], -1, d)
            logits0 = torch_router(torch, k0, weights, 0)
            want = torch.where(logits0[..., 1] > logits0[..., 0], elattn.FULL, state.sparse_mode).cpu().numpy()
            got = state.collect[0][1]
            margin = (logits0[..., 1] - logits0[..., 0]).abs().cpu().numpy() > 1e-2
            router_ok = bool((got[margin] == want[margin]).all())
            parts = []
            for layer, modes, mask, s, hq, hkv in state.collect:
                parts.append(elattn.sparsity(modes, cu_seqlens_q=[0, s], num_q_heads=hq, num_kv_heads=hkv,
                                             head_dim=d, sink=args.sink, local=args.local,
                                             block_size=args.block_size, block_mask=mask))
            sp = elattn.merge_sparsity(parts)
            state.collect = None
            print(f"L {L}: router vs PyTorch (layer 0) {'OK' if router_ok else 'MISMATCH'}; routed "
                  f"Omega_MSR {sp.omega_msr:.3f}, Omega_ESR {sp.omega_esr:.3f}", flush=True)
            row.update(router_matches_torch=router_ok, omega_msr=sp.omega_msr, omega_esr=sp.omega_esr)

            def prefill():
                model(ids, logits_to_keep=1)
            state.policy = "router"
            t_routed = timed(torch, prefill, args.reps)
            state.policy = "full"
            t_full = timed(torch, prefill, args.reps)
            set_attention(model, "sdpa")
            t_sdpa = timed(torch, prefill, args.reps)
            print(f"L {L}: prefill ms (median of {args.reps}): elattn routed {t_routed:.1f}, elattn all-FULL "
                  f"{t_full:.1f}, SDPA {t_sdpa:.1f}; routed / SDPA {t_routed / t_sdpa:.3f}", flush=True)
            row.update(ms_elattn_routed=t_routed, ms_elattn_full=t_full, ms_sdpa=t_sdpa)
            state.keys.clear()
    for h in hooks:
        h.remove()
    for r in state.routers.values():
        r.close()
    del model
    torch.cuda.empty_cache()
    return res["full_check"]["ok"] and all(v.get("router_matches_torch", True) for k, v in res.items()
                                           if k != "full_check")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=["qwen3", "llama"], choices=["qwen3", "llama"])
    p.add_argument("--size", default="4b", choices=sorted(SIZES))
    p.add_argument("--lengths", nargs="+", type=int, default=[8192, 32768])
    p.add_argument("--check-len", type=int, default=2048)
    p.add_argument("--sparse", default="xa", choices=["xa", "ssa"])
    p.add_argument("--sink", type=int, default=128)
    p.add_argument("--local", type=int, default=2048)
    p.add_argument("--block-size", type=int, default=128)
    p.add_argument("--threshold", type=float, default=0.9)
    p.add_argument("--stride", type=int, default=16)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    args = p.parse_args()

    import torch
    import transformers
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import elattn

    print(f"torch {torch.__version__}, transformers {transformers.__version__}, elattn {elattn.version()} "
          f"from {elattn.library_path()}, GPU {torch.cuda.get_device_name()}", flush=True)
    results, ok = {}, True
    t0 = time.time()
    for kind in args.models:
        ok = run_model(kind, args, torch, transformers, elattn, results) and ok
    print(f"\n{'OK' if ok else 'FAILED'} in {time.time() - t0:.0f} s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(args=vars(args), results=results), f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

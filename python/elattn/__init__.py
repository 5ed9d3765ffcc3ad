"""elattn: hybrid-head attention (Elastic Attention) over the C library libelattn, through ctypes.

    import elattn
    router = elattn.Router.from_safetensors("checkpoint/", layer=0)
    modes = router(keys)                                   # [batch, Hkv]: FULL / STREAMING / BLOCK_SPARSE
    o = elattn.hybrid_attention(q, k, v, modes)            # one fused launch for all heads
    cache = elattn.KVCache(head_dim=128, num_kv_heads=8, num_pages=4096, max_sequences=8, max_tokens=32768)
    cache.append([0], [len(k)], k[0], v[0], modes)         # the prefill fixes each head's mode
    o_step = cache.decode(q_new, [0], [1])                 # then each step: append its K/V, decode its queries

Tensors: NumPy arrays (copied into elattn buffers on the device, results copied back) or DLPack device
tensors (PyTorch, CuPy: wrapped in place on the CUDA/HIP device, outputs allocated by their framework).
bf16 with NumPy: uint16 arrays of bf16 bits (or ml_dtypes.bfloat16), or float arrays with dtype="bf16".
Library errors raise ElattnError (InvalidArgumentError, UnsupportedError) with elattn_last_error()'s message.
The library is found through $ELATTN_LIBRARY, then beside this package, then the system loader.
"""
from ._core import (BLOCK_SPARSE, FULL, STREAMING, DecodeBatch, Device, KVCache, Router, default_device, devices,
                    hybrid_attention, merge_sparsity, sparsity, xattn_select)
from ._lib import ElattnError, InvalidArgumentError, Sparsity, UnsupportedError, library_path
from ._tensors import bf16_to_float32, float32_to_bf16

__all__ = ["FULL", "STREAMING", "BLOCK_SPARSE", "Device", "Router", "KVCache", "DecodeBatch", "default_device", "devices",
           "hybrid_attention", "xattn_select", "sparsity", "merge_sparsity", "ElattnError", "InvalidArgumentError",
           "UnsupportedError", "Sparsity", "library_path", "bf16_to_float32", "float32_to_bf16", "version"]


def version():
    """The C library's version string."""
    from ._lib import lib
    return lib().elattn_version_string().decode()

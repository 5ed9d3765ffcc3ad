"""Devices, the three operations and the router, over the C API."""
import os
import threading
from ctypes import POINTER, byref, c_float, c_int, c_size_t, c_uint8, c_void_p

import numpy as np

from . import _lib
from ._lib import call, lib
from ._tensors import (BF16, DTYPE_BY_NAME, DTYPE_NAMES, F16, F32, KDL_CUDA, KDL_CUDA_MANAGED, KDL_ROCM, U8,
                       DeviceTensor, as_host_array, bf16_to_float32, byref_int32, dlpack_device,
                       empty_like_framework, host_kind, on_gpu, to_elattn_bytes)

FULL, STREAMING, BLOCK_SPARSE = 0, 1, 2
MODE_BY_NAME = {"full": FULL, "streaming": STREAMING, "block_sparse": BLOCK_SPARSE, "fa": FULL, "ssa": STREAMING,
                "xa": BLOCK_SPARSE}
BACKENDS = {0: "reference", 1: "cuda", 2: "hip", 3: "opencl"}


# ---- devices -------------------------------------------------------------------------------------------
def devices():
    """Every device elattn can open here: a list of dicts (id, name, vendor, arch, backend, is_gpu)."""
    n = c_int()
    call("elattn_device_count", byref(n))
    out = []
    for i in range(n.value):
        info = _lib.DeviceInfo()
        call("elattn_device_get_info", i, byref(info))
        out.append(_info_dict(info))
    return out


def _info_dict(info):
    return {"id": info.id.decode(), "name": info.name.decode(), "vendor": info.vendor.decode(),
            "arch": info.arch.decode(), "backend": BACKENDS.get(info.backend, "?"),
            "backend_index": info.backend_index, "is_gpu": bool(info.is_gpu), "memory_bytes": info.memory_bytes}


class _Owned:
    """What an object owning a C handle shares: `handle` (refused after close()), close() from __del__ (quiet
    at interpreter shutdown, when the library may be gone already) and `with` blocks. A subclass sets
    self._handle and defines close()."""
    _handle = None

    @property
    def handle(self):
        if self._handle is None:
            raise ValueError(f"elattn.{type(self).__name__}: used after close()")
        return self._handle

    def close(self):
        raise NotImplementedError

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Device(_Owned):
    """An elattn device: "auto", a backend ("cuda", "opencl", "reference") or an id ("cuda:0", "opencl:1").
    It caches plans (with their workspaces) and wrapped streams; one Device is meant for one thread."""

    def __init__(self, name="auto"):
        handle = c_void_p()
        call("elattn_device_open_by_name", str(name).encode(), byref(handle))
        self._handle = handle
        info = _lib.DeviceInfo()
        call("elattn_device_info_of", handle, byref(info))
        self.info = _info_dict(info)
        self.id, self.backend, self.is_gpu = self.info["id"], self.info["backend"], self.info["is_gpu"]
        self._plans = {}    # (op, desc fields, kernel) -> (plan, workspace buffer or None)
        self._streams = {}  # native handle -> wrapped elattn stream

    def __repr__(self):
        return f"Device({self.id!r}: {self.info['name']}, {self.info['vendor']})"

    def close(self):
        if self._handle is None:
            return
        lib_ = lib()
        for (op, _, _), (plan, ws) in self._plans.items():
            getattr(lib_, f"elattn_{op}_plan_destroy")(plan)
            if ws:
                lib_.elattn_buffer_free(ws)
        for s in self._streams.values():
            lib_.elattn_stream_destroy(s)
        self._plans, self._streams = {}, {}
        lib_.elattn_device_close(self._handle)
        self._handle = None

    def stream(self, native):
        """The elattn stream wrapping a native one (cudaStream_t as int, a torch/CuPy stream), or None."""
        if native is None:
            return None
        ptr = _stream_ptr(native)
        if ptr == 0:  # the legacy default stream is elattn's default stream
            return None
        if ptr not in self._streams:
            s = c_void_p()
            call("elattn_stream_wrap", self.handle, c_void_p(ptr), byref(s))
            self._streams[ptr] = s
        return self._streams[ptr]

    def plan(self, op, desc, kernel=None):
        """A cached plan of `op` ("attn", "xattn", "router") for a descriptor, and its workspace."""
        key = (op, tuple(getattr(desc, f) for f, _ in desc._fields_), kernel)
        if key not in self._plans:
            opts = _lib.PlanOptions(kernel.encode() if kernel else None, 0, 0, 0)
            plan = c_void_p()
            call(f"elattn_{op}_plan_create", self.handle, byref(desc), byref(opts), byref(plan))
            size = getattr(lib(), f"elattn_{op}_plan_workspace_size")(plan)
            ws = None
            if size:
                ws = c_void_p()
                try:
                    call("elattn_buffer_alloc", self.handle, size, byref(ws))
                except _lib.ElattnError:
                    getattr(lib(), f"elattn_{op}_plan_destroy")(plan)
                    raise
            self._plans[key] = (plan, ws)
        return self._plans[key]

    def kernel_name(self, op, desc, kernel=None):
        plan, _ = self.plan(op, desc, kernel)
        return getattr(lib(), f"elattn_{op}_plan_kernel_name")(plan).decode()


def _stream_ptr(native):
    """cudaStream_t of a torch.cuda.Stream (.cuda_stream), a CuPy stream (.ptr) or an int; 0 for None."""
    if native is None:
        return 0
    return int(getattr(native, "cuda_stream", getattr(native, "ptr", native)))


_default = {}
_default_lock = threading.Lock()


def default_device():
    """The device for host arrays when none is given: $ELATTN_DEVICE, else "auto" (opened once)."""
    name = os.environ.get("ELATTN_DEVICE", "auto")
    with _default_lock:
        if name not in _default:
            _default[name] = Device(name)
        return _default[name]


def _device_for(x, device):
    """The device a call runs on: the given one, the GPU of a device tensor, or the default device."""
    dl = dlpack_device(x)
    if dl is not None and dl[0] in (KDL_CUDA, KDL_ROCM, KDL_CUDA_MANAGED):
        want = ("hip" if dl[0] == KDL_ROCM else "cuda", dl[1])
        if device is None:
            with _default_lock:
                key = f"{want[0]}:{want[1]}"
                if key not in _default:
                    _default[key] = Device(key)
                return _default[key]
        if (device.backend, device.info["backend_index"]) != want:
            raise ValueError(f"device {device.id} cannot take tensors of {want[0]}:{want[1]} without copies; pass "
                             f"elattn.Device('{want[0]}:{want[1]}')")
        return device
    return device if device is not None else default_device()


# ---- one call's buffers ------------------------------------------------------------------------------------
class _Call:
    """The buffers of one call: host arrays are copied into new buffers (and outputs copied back), device
    tensors are wrapped in place. Everything is released by close()."""

    def __init__(self, device, stream, on_device):
        self.device, self.on_device = device, on_device
        self.stream = device.stream(stream)
        # what __dlpack__(stream=) is told: 1 is CUDA's legacy default stream in the DLPack protocol
        self.stream_arg = _stream_ptr(stream) or 1 if on_device else None
        self.buffers, self.keep, self.downloads = [], [], []

    def _buffer(self, nbytes, native=None):
        b = c_void_p()
        if native is None:
            call("elattn_buffer_alloc", self.device.handle, max(nbytes, 1), byref(b))
        else:
            call("elattn_buffer_wrap", self.device.handle, c_void_p(native), max(nbytes, 1), byref(b))
        self.buffers.append(b)
        return b

    def tensor(self, x, name, kind):
        """An input: (buffer, shape, kind). kind None: the tensor's own (host: bf16 for uint16)."""
        if self.on_device:
            if not on_gpu(x):
                raise ValueError(f"{name}: a host array in a call on device tensors; pass every tensor on one device")
            t = DeviceTensor(x, name, self.stream_arg)
            if kind is not None and t.kind != kind:
                raise ValueError(f"{name}: {DTYPE_NAMES[t.kind]}, but this call runs in {DTYPE_NAMES[kind]}")
            self.keep.append(t)
            return self._buffer(t.nbytes, t.ptr), t.shape, t.kind
        if on_gpu(x):
            raise ValueError(f"{name}: a device tensor in a call on host arrays; pass every tensor on one device")
        a = as_host_array(x, name)
        if kind is None:
            kind = host_kind(a)
            if kind is None:
                raise ValueError(f"{name}: dtype {a.dtype}; elattn takes float32, float16 or bfloat16 (uint16 bits, "
                                 f"or float32 with dtype='bf16')")
        data = np.ascontiguousarray(a, dtype=np.uint8) if kind == U8 else to_elattn_bytes(a, kind, name)
        b = self._buffer(data.nbytes)
        if data.nbytes:
            call("elattn_buffer_upload", b, 0, c_void_p(data.ctypes.data), data.nbytes, self.stream)
        return b, a.shape, kind

    def output(self, like, shape, kind, name, out=None, host_as=None):
        """An output of `shape`: (buffer, result). Host: a NumPy array filled by finish(), returned in
        host_as's dtype family (see _host_result); device: `out` or a new tensor of like's framework."""
        if self.on_device:
            res = out if out is not None else empty_like_framework(like, shape, kind, name)
            t = DeviceTensor(res, name, self.stream_arg)
            if t.shape != tuple(shape) or t.kind != kind:
                raise ValueError(f"{name}: out= has shape {list(t.shape)} {DTYPE_NAMES[t.kind]}; the call writes "
                                 f"{list(shape)} {DTYPE_NAMES[kind]}")
            self.keep.append(t)
            return self._buffer(t.nbytes, t.ptr), res
        raw = np.empty(shape, dtype={F32: np.float32, F16: np.float16, BF16: np.uint16, U8: np.uint8}[kind])
        b = self._buffer(raw.nbytes)
        holder = [raw]
        self.downloads.append((b, raw, holder, host_as, out))
        return b, holder

    def scratch(self, nbytes):
        return self._buffer(nbytes)

    def finish(self):
        """Copies host outputs back; returns nothing (the holders get the arrays)."""
        for b, raw, holder, host_as, out in self.downloads:
            if raw.nbytes:
                call("elattn_buffer_download", b, 0, c_void_p(raw.ctypes.data), raw.nbytes, self.stream)
            res = _host_result(raw, host_as)
            if out is not None:
                np.copyto(out, res)
                res = out
            holder[0] = res

    def close(self):
        lib_ = lib()
        for b in self.buffers:
            lib_.elattn_buffer_free(b)
        self.buffers, self.keep = [], []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _host_result(raw, like):
    """bf16 results go back as the caller gave bf16: uint16 bits, ml_dtypes.bfloat16, else float32."""
    if raw.dtype != np.uint16 or like is None:
        return raw
    if like.dtype == np.uint16:
        return raw
    if like.dtype.name == "bfloat16":
        return raw.view(like.dtype)
    return bf16_to_float32(raw)


def _kind_of(x, dtype, name):
    if dtype is not None:
        if str(dtype).lower() not in DTYPE_BY_NAME:
            raise ValueError(f"dtype: {dtype!r}; one of 'f32', 'f16', 'bf16'")
        return DTYPE_BY_NAME[str(dtype).lower()]
    if on_gpu(x):
        return None  # the tensor's own, read from DLPack
    k = host_kind(as_host_array(x, name))
    if k is None:
        raise ValueError(f"{name}: dtype {np.asarray(x).dtype}; elattn takes float32, float16 or bfloat16 (uint16 "
                         f"bits); or pass dtype= to convert")
    return k


def _shape_of(x):
    if on_gpu(x):
        return tuple(int(s) for s in x.shape)
    return as_host_array(x, "tensor").shape


def _layout(shape, name, cu, heads_name):
    """[B, S, H, D] or [total, H, D] (+ cu_seqlens) -> (cu int32 [B+1], H, D)."""
    if len(shape) == 4:
        b, s, h, d = shape
        if cu is not None:
            raise ValueError(f"{name}: cu_seqlens with a 4-D [batch, seq, heads, dim] tensor; pass [total, heads, "
                             f"dim] for variable lengths")
        return np.arange(b + 1, dtype=np.int32) * s, h, d
    if len(shape) == 3:
        total, h, d = shape
        cu = np.array([0, total], dtype=np.int32) if cu is None else _cu(cu, name)
        if int(cu[-1]) != total:
            raise ValueError(f"{name}: {total} tokens, but its cu_seqlens end at {int(cu[-1])}")
        return cu, h, d
    raise ValueError(f"{name}: shape {list(shape)}; expected [batch, seq, {heads_name}, dim] or "
                     f"[total, {heads_name}, dim]")


def _cu(cu, name):
    if hasattr(cu, "cpu"):
        cu = cu.cpu()
    a = np.asarray(cu)
    if a.ndim != 1 or a.size < 2 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name}: cu_seqlens must be integers [batch + 1]")
    if a.min() < 0 or a.max() > np.iinfo(np.int32).max:
        raise ValueError(f"{name}: cu_seqlens outside int32")
    return np.ascontiguousarray(a, dtype=np.int32)


def _modes(modes, batch, hkv):
    if hasattr(modes, "cpu"):
        modes = modes.cpu()
    a = np.asarray(modes)
    if a.dtype.kind in "UO":
        try:
            a = np.vectorize(lambda m: MODE_BY_NAME[str(m).lower()])(a)
        except KeyError as e:
            raise ValueError(f"modes: {e.args[0]!r} is not one of {sorted(MODE_BY_NAME)}") from None
    a = np.asarray(a, dtype=np.int64)
    if a.shape == (hkv,):
        a = np.broadcast_to(a, (batch, hkv))
    if a.shape != (batch, hkv):
        raise ValueError(f"modes: shape {list(a.shape)}; expected [{hkv}] or [{batch}, {hkv}] (KV heads)")
    return np.ascontiguousarray(a, dtype=np.int32)


def _seqlens(cu):
    return int(np.max(np.diff(cu))) if cu.size > 1 else 0


# ---- XAttention selection ------------------------------------------------------------------------------------
def _thresholds(threshold, hkv):
    t = np.ascontiguousarray(np.atleast_1d(np.asarray(threshold, dtype=np.float32)))
    if t.ndim != 1 or t.size not in (1, hkv):
        raise ValueError(f"threshold: one value or one per KV head ({hkv}); got {t.size}")
    return t


def _run_xattn(c, qb, kb, kind, cu_q, cu_k, hq, hkv, d, modes, threshold, stride, block_size, causal, scale,
               mask_buf, kernel):
    desc = _lib.XattnDesc(kind, d, hq, hkv, len(cu_q) - 1, max(_seqlens(cu_q), 1), max(_seqlens(cu_k), 1),
                          int(bool(causal)), float(scale or 0.0), stride, block_size)
    plan, ws = c.device.plan("xattn", desc, kernel)
    taus = _thresholds(threshold, hkv)
    args = _lib.XattnArgs(qb, kb, byref_int32(cu_q), byref_int32(cu_k),
                          byref_int32(modes) if modes is not None else None,
                          taus.ctypes.data_as(POINTER(c_float)), taus.size, mask_buf, ws)
    call("elattn_xattn_run", plan, c.stream, byref(args))


def _mask_shape(batch, hkv, max_q, max_k, block_size):
    return (batch, hkv, -(-max(max_q, 1) // block_size), -(-max(max_k, 1) // block_size))


def xattn_select(q, k, modes=None, *, threshold=0.9, stride=16, block_size=128, causal=True, scale=None,
                 cu_seqlens_q=None, cu_seqlens_k=None, dtype=None, device=None, stream=None, out=None, kernel=None):
    """XAttention block masks (antidiagonal scoring): uint8 [batch, Hkv, ceil(Lq/B), ceil(Lk/B)], nonzero =
    visible, for the BLOCK_SPARSE heads of `modes` (None: every head); other heads' rows are 0. q [B, S, Hq,
    D] or [total, Hq, D], k likewise with Hkv. Host arrays give a NumPy mask; device tensors a tensor of
    their framework (or out=)."""
    dev = _device_for(q, device)
    kind = _kind_of(q, dtype, "q")
    cu_q, hq, d = _layout(_shape_of(q), "q", cu_seqlens_q, "q_heads")
    cu_k, hkv, dk = _layout(_shape_of(k), "k", cu_seqlens_k, "kv_heads")
    if dk != d or len(cu_k) != len(cu_q):
        raise ValueError(f"q and k: head dims {d} and {dk}, batches {len(cu_q) - 1} and {len(cu_k) - 1} differ")
    batch = len(cu_q) - 1
    m = _modes(modes, batch, hkv) if modes is not None else None
    shape = _mask_shape(batch, hkv, _seqlens(cu_q), _seqlens(cu_k), block_size)
    with _Call(dev, stream, on_gpu(q)) as c:
        qb, _, kind = c.tensor(q, "q", kind)
        kb, _, _ = c.tensor(k, "k", kind)
        mb, res = c.output(q, shape, U8, "block_mask", out)
        call("elattn_buffer_fill", mb, 0, 0, int(np.prod(shape)), c.stream)
        _run_xattn(c, qb, kb, kind, cu_q, cu_k, hq, hkv, d, m, threshold, stride, block_size, causal, scale, mb,
                   kernel)
        c.finish()
    return res[0] if isinstance(res, list) else res


# ---- hybrid attention ------------------------------------------------------------------------------------------
def hybrid_attention(q, k, v, modes, *, cu_seqlens_q=None, cu_seqlens_k=None, causal=True, scale=None, sink=128,
                     local=2048, block_size=128, block_mask=None, threshold=0.9, stride=16, return_lse=False,
                     dtype=None, device=None, stream=None, out=None, kernel=None):
    """Attention in which each KV head runs in its mode (FULL, STREAMING: `sink` + `local` tokens,
    BLOCK_SPARSE: the visible blocks of `block_mask`), all heads in one launch.

    q [B, S, Hq, D] or [total_q, Hq, D] with cu_seqlens_q; k, v [B, S, Hkv, D] or [total_k, Hkv, D]; modes
    [Hkv] or [B, Hkv] (ints or "full"/"streaming"/"block_sparse"). When a head is BLOCK_SPARSE and no
    block_mask is given, XAttention selects its blocks first (threshold, stride) on the same device.
    Returns O shaped like q (and LSE [total_q, Hq] fp32 when return_lse)."""
    dev = _device_for(q, device)
    kind = _kind_of(q, dtype, "q")
    q_shape, k_shape, v_shape = _shape_of(q), _shape_of(k), _shape_of(v)
    if k_shape != v_shape:
        raise ValueError(f"k and v: shapes {list(k_shape)} and {list(v_shape)} differ")
    cu_q, hq, d = _layout(q_shape, "q", cu_seqlens_q, "q_heads")
    cu_k, hkv, dk = _layout(k_shape, "k", cu_seqlens_k, "kv_heads")
    if dk != d:
        raise ValueError(f"q and k: head dims {d} and {dk} differ")
    if len(cu_k) != len(cu_q):
        raise ValueError(f"q and k: batches {len(cu_q) - 1} and {len(cu_k) - 1} differ")
    batch = len(cu_q) - 1
    m = _modes(modes, batch, hkv)
    max_q, max_k = max(_seqlens(cu_q), 1), max(_seqlens(cu_k), 1)
    desc = _lib.AttnDesc(kind if kind is not None else F32, d, hq, hkv, batch, max_q, max_k, int(bool(causal)),
                         float(scale or 0.0), sink, local, block_size, int(bool(return_lse)))
    total_q = int(cu_q[-1])
    with _Call(dev, stream, on_gpu(q)) as c:
        qb, _, kind = c.tensor(q, "q", kind)
        kb, _, _ = c.tensor(k, "k", kind)
        vb, _, _ = c.tensor(v, "v", kind)
        desc.dtype = kind
        host_like = None if c.on_device else as_host_array(q, "q")
        ob, o_res = c.output(q, q_shape, kind, "out", out, host_like)
        lb, l_res = c.output(q, (total_q, hq), F32, "lse") if return_lse else (None, None)
        mb = None
        if (m == BLOCK_SPARSE).any():
            shape = _mask_shape(batch, hkv, max_q, max_k, block_size)
            if block_mask is None:
                mb = c.scratch(int(np.prod(shape)))
                _run_xattn(c, qb, kb, kind, cu_q, cu_k, hq, hkv, d, m, threshold, stride, block_size, causal, scale,
                           mb, kernel=None)
            else:
                mb, mshape, _ = c.tensor(block_mask, "block_mask", U8)
                if tuple(mshape) != shape:
                    raise ValueError(f"block_mask: shape {list(mshape)}; expected {list(shape)} [batch, kv_heads, "
                                     f"q_blocks, k_blocks]")
        plan, ws = dev.plan("attn", desc, kernel)
        args = _lib.AttnArgs(qb, kb, vb, ob, lb, byref_int32(cu_q), byref_int32(cu_k), byref_int32(m), mb, ws)
        call("elattn_attn_run", plan, c.stream, byref(args))
        c.finish()
    o = o_res[0] if isinstance(o_res, list) else o_res
    if not return_lse:
        return o
    return o, (l_res[0] if isinstance(l_res, list) else l_res)


# ---- decode over a per-head KV cache ---------------------------------------------------------------------------
def _int32s(values, name, n=None):
    a = np.ascontiguousarray(np.atleast_1d(np.asarray(values)))
    if a.ndim != 1 or (n is not None and a.size != n) or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name}: {'one integer per sequence' if n is not None else 'integers'} expected")
    if a.size and (a.min() < np.iinfo(np.int32).min or a.max() > np.iinfo(np.int32).max):
        raise ValueError(f"{name}: outside int32")
    return a.astype(np.int32)


class DecodeBatch(_Owned):
    """A decode step fixed once (elattn_decode_batch_create: sequences, new-token counts, split counts; the
    work list on the device), made by KVCache.decode_batch and passed to KVCache.decode(q, batch=...). Its
    runs read the sequences' lengths on the device, so on CUDA/HIP a run of it captured in a CUDA graph
    (torch.cuda.graph) stays right as the sequences grow: append outside the graph, on its stream, then
    replay. On the reference and OpenCL it runs as a plain step."""

    def __init__(self, cache, handle, plan_key, num_seqs, total_new):
        self.cache, self._handle, self.plan_key = cache, handle, plan_key
        self.num_seqs, self.total_new = num_seqs, total_new

    def close(self):
        if self._handle is not None:
            lib().elattn_decode_batch_destroy(self._handle)
            self._handle = None


class KVCache(_Owned):
    """One layer's per-head KV cache on a device (elattn_kv_cache, kernels/SPEC.md section 9): per sequence
    and KV head, FULL and BLOCK_SPARSE heads keep every token, STREAMING heads their `sink` first tokens and
    a ring of the last local + max_new_tokens - 1, in pages of a pool of `num_pages` pages of `page_size`
    tokens. A sequence's first append is its prefill and fixes its modes (the router's); later appends are
    decode steps. decode() attends the step's new queries over it, every head and mode in one launch.
    page_summaries=True keeps each BLOCK_SPARSE head's per-page key minimum and maximum, which decode's
    Quest page selection (page_budget=) reads (section 9b; not every backend keeps them)."""

    def __init__(self, device=None, *, head_dim, num_kv_heads, num_pages, max_sequences, max_tokens, dtype="bf16",
                 page_size=16, sink=128, local=2048, max_new_tokens=16, page_summaries=False):
        self.device = device if device is not None else default_device()
        if str(dtype).lower() not in DTYPE_BY_NAME:
            raise ValueError(f"dtype: {dtype!r}; one of 'f32', 'f16', 'bf16'")
        self.kind = DTYPE_BY_NAME[str(dtype).lower()]
        self.head_dim, self.num_kv_heads, self.max_sequences = head_dim, num_kv_heads, max_sequences
        self.max_new_tokens = max_new_tokens
        desc = _lib.KvCacheDesc(self.kind, head_dim, num_kv_heads, page_size, num_pages, max_sequences, max_tokens,
                                sink, local, max_new_tokens, int(bool(page_summaries)))
        handle = c_void_p()
        call("elattn_kv_cache_create", self.device.handle, byref(desc), byref(handle))
        self._handle = handle
        self._plans = {}  # (hq, max_batch, scale, write_lse, num_splits, kernel, page_budget) -> plan

    def close(self):
        if self._handle is None:
            return
        for plan in self._plans.values():
            lib().elattn_decode_plan_destroy(plan)
        self._plans = {}
        lib().elattn_kv_cache_destroy(self._handle)
        self._handle = None

    def append(self, seq_ids, num_tokens, k, v, modes=None, *, stream=None):
        """Appends num_tokens[i] tokens to sequence seq_ids[i]: k, v [sum(num_tokens), Hkv, D] (host arrays,
        converted to the cache's dtype, or device tensors of it). modes [len(seq_ids), Hkv] (ints or names)
        for sequences that start here; None for later steps."""
        ids = _int32s(seq_ids, "seq_ids")
        n = _int32s(num_tokens, "num_tokens", ids.size)
        total = int(n.sum())
        for name, x in (("k", k), ("v", v)):
            if tuple(_shape_of(x)) != (total, self.num_kv_heads, self.head_dim):
                raise ValueError(f"{name}: shape {list(_shape_of(x))}; expected [{total}, {self.num_kv_heads}, "
                                 f"{self.head_dim}] (sum of num_tokens, kv_heads, head_dim)")
        m = _modes(modes, ids.size, self.num_kv_heads) if modes is not None else None
        with _Call(_device_for(k, self.device), stream, on_gpu(k)) as c:
            kb, _, _ = c.tensor(k, "k", self.kind)
            vb, _, _ = c.tensor(v, "v", self.kind)
            args = _lib.KvAppendArgs(ids.size, byref_int32(ids), byref_int32(n),
                                     byref_int32(m) if m is not None else None, kb, vb)
            call("elattn_kv_cache_append", self.handle, c.stream, byref(args))

    def release(self, seq_id):
        """Ends a sequence: its pages go back to the pool."""
        call("elattn_kv_cache_release", self.handle, int(seq_id))

    def length(self, seq_id):
        n = c_int()
        call("elattn_kv_cache_length", self.handle, int(seq_id), byref(n))
        return n.value

    @property
    def nbytes(self):
        """Bytes of K and V the cache holds now (pages in use), and of its page summaries."""
        b = c_size_t()
        call("elattn_kv_cache_bytes", self.handle, byref(b))
        return b.value

    def _plan(self, hq, num_seqs, scale, write_lse, num_splits, kernel, page_budget):
        max_batch = min(self.max_sequences, 1 << max(int(num_seqs) - 1, 0).bit_length())  # plans per power of two
        key = (hq, max_batch, float(scale or 0.0), int(bool(write_lse)), int(num_splits), kernel, int(page_budget))
        if key not in self._plans:
            desc = _lib.DecodeDesc(hq, max_batch, key[2], key[3], key[4], key[6])
            opts = _lib.PlanOptions(kernel.encode() if kernel else None, 0, 0, 0)
            plan = c_void_p()
            call("elattn_decode_plan_create", self.handle, byref(desc), byref(opts), byref(plan))
            self._plans[key] = plan
        return key, self._plans[key]

    def kernel_name(self, num_q_heads, *, num_seqs=1, scale=None, return_lse=False, num_splits=0, kernel=None,
                    page_budget=0):
        _, plan = self._plan(num_q_heads, num_seqs, scale, return_lse, num_splits, kernel, page_budget)
        return lib().elattn_decode_plan_kernel(plan).decode()

    def decode_batch(self, seq_ids, num_new, *, num_q_heads, scale=None, return_lse=False, num_splits=0,
                     kernel=None, page_budget=0):
        """A DecodeBatch of these sequences and new-token counts (split counts chosen at today's lengths)."""
        ids = _int32s(seq_ids, "seq_ids")
        n = _int32s(num_new, "num_new", ids.size)
        key, plan = self._plan(num_q_heads, ids.size, scale, return_lse, num_splits, kernel, page_budget)
        handle = c_void_p()
        call("elattn_decode_batch_create", plan, self.handle, ids.size, byref_int32(ids), byref_int32(n),
             byref(handle))
        return DecodeBatch(self, handle, key, int(ids.size), int(n.sum()))

    def decode(self, q, seq_ids=None, num_new=None, *, batch=None, scale=None, return_lse=False, num_splits=0,
               kernel=None, page_budget=0, stream=None, out=None):
        """Decode attention after this step's append: q [sum(num_new), Hq, D], the queries of the last
        num_new[i] positions of sequence seq_ids[i] (or of a DecodeBatch's sequences, batch=; then scale,
        return_lse, num_splits, kernel and page_budget are the batch's). page_budget > 0: BLOCK_SPARSE heads
        read the pages Quest selects (needs page_summaries=True). Returns O shaped like q (and LSE
        [sum(num_new), Hq] fp32 with return_lse)."""
        shape = tuple(_shape_of(q))
        if len(shape) != 3 or shape[2] != self.head_dim or shape[1] % self.num_kv_heads:
            raise ValueError(f"q: shape {list(shape)}; expected [total_new, q_heads, {self.head_dim}] with q_heads "
                             f"a multiple of {self.num_kv_heads}")
        hq = shape[1]
        if batch is not None:
            if seq_ids is not None or num_new is not None:
                raise ValueError("decode: seq_ids and num_new come from the batch; pass either them or batch=")
            if batch.cache is not self or batch._handle is None:
                raise ValueError("batch: not a live DecodeBatch of this cache")
            key = batch.plan_key
            if key[0] != hq:
                raise ValueError(f"q: {hq} query heads; the batch was made for {key[0]}")
            plan, ids, n, total, return_lse = self._plans[key], None, None, batch.total_new, bool(key[3])
            num = 0
        else:
            ids = _int32s(seq_ids, "seq_ids")
            n = _int32s(num_new, "num_new", ids.size)
            _, plan = self._plan(hq, ids.size, scale, return_lse, num_splits, kernel, page_budget)
            total, num = int(n.sum()), int(ids.size)
        if shape[0] != total:
            raise ValueError(f"q: {shape[0]} rows; the step has {total} new tokens")
        with _Call(_device_for(q, self.device), stream, on_gpu(q)) as c:
            qb, _, _ = c.tensor(q, "q", self.kind)
            host_like = None if c.on_device else as_host_array(q, "q")
            ob, o_res = c.output(q, shape, self.kind, "out", out, host_like)
            lb, l_res = c.output(q, (total, hq), F32, "lse") if return_lse else (None, None)
            args = _lib.DecodeArgs(num, byref_int32(ids) if ids is not None else None,
                                   byref_int32(n) if n is not None else None, qb, ob, lb,
                                   batch._handle if batch is not None else None)
            call("elattn_decode_run", plan, self.handle, c.stream, byref(args))
            c.finish()
        o = o_res[0] if isinstance(o_res, list) else o_res
        if not return_lse:
            return o
        return o, (l_res[0] if isinstance(l_res, list) else l_res)


# ---- the router ------------------------------------------------------------------------------------------
RELEASED_NAMES = dict(zip(
    ("cls_feat_extractor.0.weight", "cls_feat_extractor.0.bias", "cls_feat_extractor.2.weight",
     "cls_feat_extractor.2.bias", "cls_router_head_agnostic.0.weight", "cls_router_head_agnostic.0.bias",
     "cls_router_head_agnostic.2.weight", "cls_router_head_agnostic.2.bias", "cls_router_head_agnostic.4.weight",
     "cls_router_head_agnostic.4.bias"), _lib.ROUTER_FIELDS))


class Router:
    """One layer's Attention Router on a device: pools the first and last 100 key states of each sequence,
    runs the task and router MLPs and picks each KV head's mode (class 1: retrieval_mode)."""

    def __init__(self, device, weights, head_dim, hidden, owned_by_c):
        self.device, self.head_dim, self.hidden = device, head_dim, hidden
        self._weights, self._owned_by_c = weights, owned_by_c

    @classmethod
    def from_safetensors(cls, path, layer, device=None):
        """Layer `layer`'s router from a checkpoint: a .safetensors file, a model.safetensors.index.json or a
        folder holding either (elattn_router_weights_from_safetensors)."""
        dev = device if device is not None else default_device()
        w = _lib.RouterWeights()
        d, h = c_int(), c_int()
        call("elattn_router_weights_from_safetensors", dev.handle, os.fsencode(path), int(layer), byref(w),
             byref(d), byref(h))
        return cls(dev, w, d.value, h.value, True)

    @classmethod
    def from_arrays(cls, arrays, device=None):
        """From a dict of the released names (e.g. "cls_feat_extractor.0.weight", with or without the
        "model.layers.{i}.self_attn.mask_allocator." prefix) to arrays, PyTorch Linear layout."""
        dev = device if device is not None else default_device()
        short = {name.split("mask_allocator.")[-1]: a for name, a in arrays.items()}
        missing = [n for n in RELEASED_NAMES if n not in short]
        if missing:
            raise ValueError(f"Router.from_arrays: missing {missing}")
        host = {}
        for name, field in RELEASED_NAMES.items():
            a = short[name]
            if hasattr(a, "detach"):
                a = a.detach().float().cpu().numpy()
            host[field] = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
        h, d = host["task_w1"].shape
        want = {"task_w1": (h, d), "task_b1": (h,), "task_w2": (d, h), "task_b2": (d,), "head_w1": (h, d),
                "head_b1": (h,), "head_w2": (d, h), "head_b2": (d,), "head_w3": (2, d), "head_b3": (2,)}
        for name, field in RELEASED_NAMES.items():
            if host[field].shape != want[field]:
                raise ValueError(f"Router.from_arrays: {name} has shape {list(host[field].shape)}; expected "
                                 f"{list(want[field])} (D {d}, hidden {h})")
        w = _lib.RouterWeights()
        try:
            for field in _lib.ROUTER_FIELDS:
                b = c_void_p()
                call("elattn_buffer_alloc", dev.handle, host[field].nbytes, byref(b))
                setattr(w, field, b.value)
                call("elattn_buffer_upload", b, 0, c_void_p(host[field].ctypes.data), host[field].nbytes, None)
        except _lib.ElattnError:
            lib().elattn_router_weights_free(byref(w))
            raise
        return cls(dev, w, d, h, True)

    def close(self):
        if self._weights is not None:
            lib().elattn_router_weights_free(byref(self._weights))
            self._weights = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __call__(self, keys, cu_seqlens=None, *, retrieval_mode=FULL, sparse_mode=STREAMING, return_logits=False,
                 dtype=None, stream=None, kernel=None):
        """Modes [batch, Hkv] (NumPy int32) for key states [B, S, Hkv, D] or [total, Hkv, D] (after the
        key norm, before RoPE); with return_logits also the logits [batch, Hkv, 2] (fp32)."""
        if self._weights is None:
            raise ValueError("Router: used after close()")
        if on_gpu(keys) and _device_for(keys, self.device) is not self.device:
            raise ValueError("Router: keys on another device than the router's weights")
        kind = _kind_of(keys, dtype, "keys")
        cu, hkv, d = _layout(_shape_of(keys), "keys", cu_seqlens, "kv_heads")
        if d != self.head_dim:
            raise ValueError(f"keys: head dim {d}; this router takes {self.head_dim}")
        batch = len(cu) - 1
        modes = np.zeros((batch, hkv), dtype=np.int32)
        logits = np.zeros((batch, hkv, 2), dtype=np.float32)
        with _Call(self.device, stream, on_gpu(keys)) as c:
            kb, _, kind = c.tensor(keys, "keys", kind)
            desc = _lib.RouterDesc(kind, d, self.hidden, hkv, batch, max(_seqlens(cu), 1), int(retrieval_mode),
                                   int(sparse_mode))
            plan, ws = self.device.plan("router", desc, kernel)
            lb = c.scratch(logits.nbytes) if return_logits else None
            args = _lib.RouterArgs(kb, byref_int32(cu), self._weights, lb, byref_int32(modes), ws)
            call("elattn_router_run", plan, c.stream, byref(args))
            if return_logits:
                call("elattn_buffer_download", lb, 0, c_void_p(logits.ctypes.data), logits.nbytes, c.stream)
        return (modes, logits) if return_logits else modes


# ---- sparsity metrics -------------------------------------------------------------------------------------------
def sparsity(modes, *, cu_seqlens_q, cu_seqlens_k=None, num_q_heads, num_kv_heads, head_dim=128, causal=True,
             sink=128, local=2048, block_size=128, block_mask=None):
    """Omega_MSR / Omega_ESR of one call (layer), counted exactly (elattn_sparsity_of_call); merge layers
    with merge_sparsity. block_mask: a host array (needed when a head is BLOCK_SPARSE)."""
    cu_q = _cu(cu_seqlens_q, "cu_seqlens_q")
    cu_k = cu_q if cu_seqlens_k is None else _cu(cu_seqlens_k, "cu_seqlens_k")
    batch = len(cu_q) - 1
    m = _modes(modes, batch, num_kv_heads)
    desc = _lib.AttnDesc(F32, head_dim, num_q_heads, num_kv_heads, batch, max(_seqlens(cu_q), 1),
                         max(_seqlens(cu_k), 1), int(bool(causal)), 0.0, sink, local, block_size, 0)
    mask_p = None
    if block_mask is not None:
        if hasattr(block_mask, "cpu"):
            block_mask = block_mask.cpu()
        mask = np.ascontiguousarray(np.asarray(block_mask), dtype=np.uint8)
        shape = _mask_shape(batch, num_kv_heads, _seqlens(cu_q), _seqlens(cu_k), block_size)
        if mask.shape != shape:
            raise ValueError(f"block_mask: shape {list(mask.shape)}; expected {list(shape)}")
        mask_p = mask.ctypes.data_as(POINTER(c_uint8))
    s = _lib.Sparsity()
    call("elattn_sparsity_of_call", byref(desc), byref_int32(cu_q), byref_int32(cu_k), byref_int32(m), mask_p,
         byref(s))
    return s


def merge_sparsity(parts):
    """One Sparsity over several calls (layers)."""
    acc = _lib.Sparsity()
    for p in parts:
        lib().elattn_sparsity_merge(byref(acc), byref(p))
    return acc

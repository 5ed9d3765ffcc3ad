"""Tensors in and out of elattn buffers: NumPy arrays by host copies, DLPack device tensors wrapped in
place (no copy)."""
import ctypes
import sys
from ctypes import POINTER, Structure, c_int, c_int64, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p

import numpy as np

from . import _lib

F32, F16, BF16 = 0, 1, 2
U8 = -1  # block masks: not an elattn_dtype, only a storage kind here
DTYPE_NAMES = {F32: "f32", F16: "f16", BF16: "bf16", U8: "u8"}
DTYPE_BY_NAME = {"f32": F32, "float32": F32, "f16": F16, "float16": F16, "bf16": BF16, "bfloat16": BF16}
ITEMSIZE = {F32: 4, F16: 2, BF16: 2, U8: 1}

# ---- DLPack (dlpack.h, ABI of v0.8 and of v1.x's versioned capsule) -----------------------------------
KDL_CPU, KDL_CUDA, KDL_ROCM, KDL_CUDA_MANAGED = 1, 2, 10, 13
KDL_FLOAT, KDL_UINT, KDL_BFLOAT = 2, 1, 4


class _DLDevice(Structure):
    _fields_ = [("device_type", c_int), ("device_id", c_int)]


class _DLDataType(Structure):
    _fields_ = [("code", c_uint8), ("bits", c_uint8), ("lanes", c_uint16)]


class _DLTensor(Structure):
    _fields_ = [("data", c_void_p), ("device", _DLDevice), ("ndim", c_int), ("dtype", _DLDataType),
                ("shape", POINTER(c_int64)), ("strides", POINTER(c_int64)), ("byte_offset", c_uint64)]


class _DLManagedTensor(Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", c_void_p), ("deleter", c_void_p)]


class _DLManagedTensorVersioned(Structure):
    _fields_ = [("major", c_uint32), ("minor", c_uint32), ("manager_ctx", c_void_p), ("deleter", c_void_p),
                ("flags", c_uint64), ("dl_tensor", _DLTensor)]


_capsule_valid = ctypes.pythonapi.PyCapsule_IsValid
_capsule_valid.restype, _capsule_valid.argtypes = c_int, [ctypes.py_object, ctypes.c_char_p]
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype, _capsule_pointer.argtypes = c_void_p, [ctypes.py_object, ctypes.c_char_p]


def dlpack_device(x):
    """(device_type, device_id) of a DLPack-capable tensor, or None (NumPy arrays and lists)."""
    if isinstance(x, np.ndarray) or not hasattr(x, "__dlpack_device__"):
        return None
    dev_type, dev_id = x.__dlpack_device__()
    return int(dev_type), int(dev_id)


def on_gpu(x):
    d = dlpack_device(x)
    return d is not None and d[0] in (KDL_CUDA, KDL_ROCM, KDL_CUDA_MANAGED)


def _dl_kind(dt, name):
    key = (dt.code, dt.bits, dt.lanes)
    kinds = {(KDL_FLOAT, 32, 1): F32, (KDL_FLOAT, 16, 1): F16, (KDL_BFLOAT, 16, 1): BF16, (KDL_UINT, 8, 1): U8}
    if key not in kinds:
        raise ValueError(f"{name}: DLPack dtype (code {dt.code}, {dt.bits} bits, {dt.lanes} lanes); elattn takes "
                         f"float32, float16, bfloat16 (and uint8 masks)")
    return kinds[key]


class DeviceTensor:
    """A device tensor seen through DLPack: its pointer, shape and dtype. The capsule is kept (not consumed)
    so that the producer's memory stays alive until this object goes."""

    def __init__(self, x, name, stream_arg):
        self.capsule = x.__dlpack__(stream=stream_arg)
        for cname, cls in ((b"dltensor", _DLManagedTensor), (b"dltensor_versioned", _DLManagedTensorVersioned)):
            if _capsule_valid(self.capsule, cname):
                t = cls.from_address(_capsule_pointer(self.capsule, cname)).dl_tensor
                break
        else:
            raise ValueError(f"{name}: __dlpack__ returned no DLPack capsule")
        self.device = (t.device.device_type, t.device.device_id)
        self.shape = tuple(t.shape[i] for i in range(t.ndim))
        self.kind = _dl_kind(t.dtype, name)
        if t.strides:
            expect = 1
            for i in reversed(range(t.ndim)):
                if self.shape[i] != 1 and t.strides[i] != expect:
                    raise ValueError(f"{name}: not contiguous (strides {[t.strides[j] for j in range(t.ndim)]} for "
                                     f"shape {list(self.shape)}); pass .contiguous()")
                expect *= self.shape[i]
        self.ptr = (t.data or 0) + t.byte_offset
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * ITEMSIZE[self.kind]


def empty_like_framework(x, shape, kind, name):
    """A new tensor of `shape` on x's device, from x's own framework (PyTorch or CuPy)."""
    top = type(x).__module__.split(".")[0]
    if top == "torch":
        torch = sys.modules["torch"]
        dt = {F32: torch.float32, F16: torch.float16, BF16: torch.bfloat16, U8: torch.uint8}[kind]
        return torch.empty(shape, dtype=dt, device=x.device)
    if top == "cupy" and kind != BF16:
        cupy = sys.modules["cupy"]
        with x.device:
            return cupy.empty(shape, dtype={F32: np.float32, F16: np.float16, U8: np.uint8}[kind])
    raise ValueError(f"{name}: cannot allocate an output beside a {type(x).__name__} ({DTYPE_NAMES[kind]}); "
                     f"pass it as out=")


# ---- host arrays -----------------------------------------------------------------------------------------
def _is_bf16_numpy(a):
    return a.dtype.name == "bfloat16" and a.dtype.itemsize == 2  # ml_dtypes' bfloat16


def host_kind(a):
    """The elattn dtype a NumPy array holds as it is: uint16 and ml_dtypes.bfloat16 are bf16 bits."""
    if a.dtype == np.float32:
        return F32
    if a.dtype == np.float16:
        return F16
    if a.dtype == np.uint16 or _is_bf16_numpy(a):
        return BF16
    return None


def as_host_array(x, name):
    if isinstance(x, np.ndarray):
        return np.ascontiguousarray(x)
    if dlpack_device(x) is not None and dlpack_device(x)[0] == KDL_CPU:
        try:
            return np.ascontiguousarray(np.from_dlpack(x))
        except (TypeError, RuntimeError, BufferError) as e:
            raise ValueError(f"{name}: NumPy cannot take this CPU tensor ({e}); for bfloat16 pass its bits as "
                             f"uint16 (torch: x.view(torch.uint16).numpy())") from None
    return np.ascontiguousarray(np.asarray(x))


def to_elattn_bytes(a, kind, name):
    """A contiguous array holding `a` in elattn dtype `kind` (bf16 as uint16 bits, rounded to nearest even)."""
    have = host_kind(a)
    if have == kind:
        return a.view(np.uint16) if kind == BF16 else a
    if have is None and not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name}: dtype {a.dtype}; elattn takes float32, float16 or bfloat16 (uint16 bits)")
    f = bf16_to_float32(a.view(np.uint16)) if have == BF16 else a
    if kind == BF16:
        return float32_to_bf16(f)
    return np.ascontiguousarray(f, dtype=np.float32 if kind == F32 else np.float16)


def bf16_to_float32(bits):
    bits = np.ascontiguousarray(bits, dtype=np.uint16)
    return (bits.astype(np.uint32) << 16).view(np.float32)


def float32_to_bf16(x):
    """float32 -> bf16 bits (uint16), rounded to nearest even by the library."""
    src = np.ascontiguousarray(x, dtype=np.float32)
    dst = np.empty(src.shape, dtype=np.uint16)
    _lib.call("elattn_convert", BF16, dst.ctypes.data, F32, src.ctypes.data, src.size)
    return dst


def byref_int32(a):
    return a.ctypes.data_as(POINTER(ctypes.c_int32))


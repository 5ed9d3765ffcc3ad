"""The C library through ctypes: where it is found, its structs, its functions, its errors."""
import ctypes
import ctypes.util
import os
import sys
from ctypes import (POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int, c_int32, c_long, c_size_t,
                    c_uint, c_uint8, c_uint64, c_void_p, sizeof)

_NAMES = {"win32": "elattn.dll", "darwin": "libelattn.dylib"}
LIBRARY_NAME = _NAMES.get(sys.platform, "libelattn.so")


def library_path():
    """Where libelattn is loaded from: $ELATTN_LIBRARY (a file, or a folder holding it), else a copy
    beside this package, else the name for the system loader (LD_LIBRARY_PATH, ldconfig)."""
    env = os.environ.get("ELATTN_LIBRARY")
    if env:
        return os.path.join(env, LIBRARY_NAME) if os.path.isdir(env) else env
    beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY_NAME)
    if os.path.exists(beside):
        return beside
    return ctypes.util.find_library("elattn") or LIBRARY_NAME


# ---- status ------------------------------------------------------------------------------------
SUCCESS, INVALID_ARGUMENT, UNSUPPORTED, OUT_OF_MEMORY, BUFFER_TOO_SMALL, NOT_AVAILABLE, BACKEND, INTERNAL = range(8)


class ElattnError(RuntimeError):
    """A call of the library failed; the message is elattn_last_error()'s, `status` its elattn_status."""

    def __init__(self, status, message, function=""):
        self.status = status
        self.function = function
        super().__init__(f"{function}: {message} ({status_name(status)})" if function else message)


class InvalidArgumentError(ElattnError, ValueError):
    """ELATTN_ERROR_INVALID_ARGUMENT or ELATTN_ERROR_BUFFER_TOO_SMALL."""


class UnsupportedError(ElattnError, NotImplementedError):
    """ELATTN_ERROR_UNSUPPORTED or ELATTN_ERROR_NOT_AVAILABLE."""


# ---- structs (mirror elattn.h field for field) -------------------------------------------------
class DeviceInfo(Structure):
    _fields_ = [("backend", c_int), ("index", c_int), ("backend_index", c_int), ("name", c_char * 128),
                ("vendor", c_char * 64), ("arch", c_char * 64), ("id", c_char * 64), ("memory_bytes", c_uint64),
                ("compute_units", c_int), ("wave_size", c_int), ("is_gpu", c_int), ("caps", c_uint)]


class _Sized(Structure):
    """A size-tagged struct (ELATTN_INIT): struct_size comes first and is set here, so positional
    arguments fill the fields after it."""

    def __init__(self, *args, **kwargs):
        super().__init__(sizeof(type(self)), *args, **kwargs)


_SIZE = [("struct_size", c_size_t)]


class PlanOptions(_Sized):
    _fields_ = _SIZE + [("kernel", c_char_p), ("tile_m", c_int), ("tile_n", c_int), ("work_group_size", c_int)]


class AttnDesc(_Sized):
    _fields_ = _SIZE + [("dtype", c_int), ("head_dim", c_int), ("num_q_heads", c_int), ("num_kv_heads", c_int),
                ("batch", c_int), ("max_seqlen_q", c_int), ("max_seqlen_k", c_int), ("causal", c_int),
                ("scale", c_float), ("sink", c_int), ("local", c_int), ("block_size", c_int), ("write_lse", c_int),
                # the layout block (strides in elements, paged K/V): all 0 = packed, as this package passes
                ("q_stride_token", c_int), ("q_stride_head", c_int), ("k_stride_token", c_int),
                ("k_stride_head", c_int), ("v_stride_token", c_int), ("v_stride_head", c_int),
                ("o_stride_token", c_int), ("o_stride_head", c_int), ("page_size", c_int), ("num_pages", c_int),
                ("max_pages_per_seq", c_int)]


class AttnArgs(_Sized):
    _fields_ = _SIZE + [("q", c_void_p), ("k", c_void_p), ("v", c_void_p), ("o", c_void_p), ("lse", c_void_p),
                ("cu_seqlens_q", POINTER(c_int32)), ("cu_seqlens_k", POINTER(c_int32)), ("modes", POINTER(c_int32)),
                ("block_mask", c_void_p), ("workspace", c_void_p), ("modes_buffer", c_void_p), ("batch", c_void_p),
                ("block_table", POINTER(c_int32))]


class XattnDesc(_Sized):
    _fields_ = _SIZE + [("dtype", c_int), ("head_dim", c_int), ("num_q_heads", c_int), ("num_kv_heads", c_int),
                ("batch", c_int), ("max_seqlen_q", c_int), ("max_seqlen_k", c_int), ("causal", c_int),
                ("scale", c_float), ("stride", c_int), ("block_size", c_int)]


class XattnArgs(_Sized):
    _fields_ = _SIZE + [("q", c_void_p), ("k", c_void_p), ("cu_seqlens_q", POINTER(c_int32)),
                ("cu_seqlens_k", POINTER(c_int32)), ("modes", POINTER(c_int32)), ("thresholds", POINTER(c_float)),
                ("num_thresholds", c_int), ("block_mask", c_void_p), ("workspace", c_void_p), ("modes_buffer", c_void_p),
                ("lengths", c_void_p), ("thresholds_buffer", c_void_p)]


class RouterDesc(_Sized):
    _fields_ = _SIZE + [("key_dtype", c_int), ("head_dim", c_int), ("hidden", c_int), ("num_kv_heads", c_int),
                ("batch", c_int), ("max_seqlen", c_int), ("retrieval_mode", c_int), ("sparse_mode", c_int)]


ROUTER_FIELDS = ("task_w1", "task_b1", "task_w2", "task_b2", "head_w1", "head_b1", "head_w2", "head_b2",
                 "head_w3", "head_b3")


class RouterWeights(Structure):
    _fields_ = [(f, c_void_p) for f in ROUTER_FIELDS]


class RouterArgs(_Sized):
    _fields_ = _SIZE + [("keys", c_void_p), ("cu_seqlens", POINTER(c_int32)), ("weights", RouterWeights),
                ("logits", c_void_p), ("modes", POINTER(c_int32)), ("workspace", c_void_p),
                ("modes_buffer", c_void_p), ("lengths", c_void_p)]


class KvCacheDesc(_Sized):
    _fields_ = _SIZE + [("dtype", c_int), ("head_dim", c_int), ("num_kv_heads", c_int), ("page_size", c_int),
                ("num_pages", c_int), ("max_sequences", c_int), ("max_tokens", c_int), ("sink", c_int),
                ("local", c_int), ("max_new_tokens", c_int), ("page_summaries", c_int)]


class KvAppendArgs(_Sized):
    _fields_ = _SIZE + [("num_seqs", c_int), ("seq_ids", POINTER(c_int32)), ("num_tokens", POINTER(c_int32)),
                ("modes", POINTER(c_int32)), ("k", c_void_p), ("v", c_void_p)]


class DecodeDesc(_Sized):
    _fields_ = _SIZE + [("num_q_heads", c_int), ("max_batch", c_int), ("scale", c_float), ("write_lse", c_int),
                ("num_splits", c_int), ("page_budget", c_int)]


class DecodeArgs(_Sized):
    _fields_ = _SIZE + [("num_seqs", c_int), ("seq_ids", POINTER(c_int32)), ("num_new", POINTER(c_int32)),
                ("q", c_void_p), ("o", c_void_p), ("lse", c_void_p), ("batch", c_void_p)]


class Sparsity(Structure):
    _fields_ = [("omega_msr", c_double), ("omega_esr", c_double), ("entries", c_long), ("sparse_entries", c_long),
                ("rho_sum", c_double)]

    def __repr__(self):
        return (f"Sparsity(omega_msr={self.omega_msr:.4f}, omega_esr={self.omega_esr:.4f}, "
                f"entries={self.entries})")


# ---- functions ----------------------------------------------------------------------------------
_P = c_void_p
_PP = POINTER(c_void_p)
_SIGNATURES = {
    # name: (restype, argtypes); restype c_int is an elattn_status, checked by call()
    "elattn_last_error": (c_char_p, []),
    "elattn_status_string": (c_char_p, [c_int]),
    "elattn_version_string": (c_char_p, []),
    "elattn_device_count": (c_int, [POINTER(c_int)]),
    "elattn_device_get_info": (c_int, [c_int, POINTER(DeviceInfo)]),
    "elattn_device_open_by_name": (c_int, [c_char_p, _PP]),
    "elattn_device_info_of": (c_int, [_P, POINTER(DeviceInfo)]),
    "elattn_device_close": (None, [_P]),
    "elattn_stream_wrap": (c_int, [_P, _P, _PP]),
    "elattn_stream_synchronize": (c_int, [_P]),
    "elattn_stream_destroy": (None, [_P]),
    "elattn_buffer_alloc": (c_int, [_P, c_size_t, _PP]),
    "elattn_buffer_wrap": (c_int, [_P, _P, c_size_t, _PP]),
    "elattn_buffer_upload": (c_int, [_P, c_size_t, _P, c_size_t, _P]),
    "elattn_buffer_download": (c_int, [_P, c_size_t, _P, c_size_t, _P]),
    "elattn_buffer_fill": (c_int, [_P, c_size_t, c_uint8, c_size_t, _P]),
    "elattn_buffer_free": (None, [_P]),
    "elattn_attn_plan_create": (c_int, [_P, POINTER(AttnDesc), POINTER(PlanOptions), _PP]),
    "elattn_attn_plan_kernel_name": (c_char_p, [_P]),
    "elattn_attn_plan_workspace_size": (c_size_t, [_P]),
    "elattn_attn_run": (c_int, [_P, _P, POINTER(AttnArgs)]),
    "elattn_attn_plan_destroy": (None, [_P]),
    "elattn_block_mask_bytes": (c_size_t, [POINTER(AttnDesc)]),
    "elattn_xattn_plan_create": (c_int, [_P, POINTER(XattnDesc), POINTER(PlanOptions), _PP]),
    "elattn_xattn_plan_kernel_name": (c_char_p, [_P]),
    "elattn_xattn_plan_workspace_size": (c_size_t, [_P]),
    "elattn_xattn_run": (c_int, [_P, _P, POINTER(XattnArgs)]),
    "elattn_xattn_plan_destroy": (None, [_P]),
    "elattn_router_plan_create": (c_int, [_P, POINTER(RouterDesc), POINTER(PlanOptions), _PP]),
    "elattn_router_plan_kernel_name": (c_char_p, [_P]),
    "elattn_router_plan_workspace_size": (c_size_t, [_P]),
    "elattn_router_run": (c_int, [_P, _P, POINTER(RouterArgs)]),
    "elattn_router_plan_destroy": (None, [_P]),
    "elattn_router_weights_from_safetensors": (c_int, [_P, c_char_p, c_int, POINTER(RouterWeights), POINTER(c_int),
                                                       POINTER(c_int)]),
    "elattn_router_weights_free": (None, [POINTER(RouterWeights)]),
    "elattn_sparsity_of_call": (c_int, [POINTER(AttnDesc), POINTER(c_int32), POINTER(c_int32), POINTER(c_int32),
                                        POINTER(c_uint8), POINTER(Sparsity)]),
    "elattn_sparsity_merge": (None, [POINTER(Sparsity), POINTER(Sparsity)]),
    "elattn_convert": (c_int, [c_int, _P, c_int, _P, c_size_t]),
    "elattn_kv_cache_create": (c_int, [_P, POINTER(KvCacheDesc), _PP]),
    "elattn_kv_cache_destroy": (None, [_P]),
    "elattn_kv_cache_append": (c_int, [_P, _P, POINTER(KvAppendArgs)]),
    "elattn_kv_cache_release": (c_int, [_P, c_int]),
    "elattn_kv_cache_length": (c_int, [_P, c_int, POINTER(c_int)]),
    "elattn_kv_cache_bytes": (c_int, [_P, POINTER(c_size_t)]),
    "elattn_decode_plan_create": (c_int, [_P, POINTER(DecodeDesc), POINTER(PlanOptions), _PP]),
    "elattn_decode_plan_destroy": (None, [_P]),
    "elattn_decode_plan_kernel": (c_char_p, [_P]),
    "elattn_decode_plan_splits": (c_int, [_P]),
    "elattn_decode_run": (c_int, [_P, _P, _P, POINTER(DecodeArgs)]),
    "elattn_decode_batch_create": (c_int, [_P, _P, c_int, POINTER(c_int32), POINTER(c_int32), _PP]),
    "elattn_decode_batch_destroy": (None, [_P]),
}

_lib = None


def lib():
    """The loaded library (loaded on first use, so that importing the package never fails)."""
    global _lib
    if _lib is None:
        path = library_path()
        try:
            handle = ctypes.CDLL(path)
        except OSError as e:
            raise OSError(f"elattn: cannot load the C library from {path!r} ({e}); set ELATTN_LIBRARY to "
                          f"libelattn.so's path or its folder") from None
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(handle, name)
            fn.restype, fn.argtypes = restype, argtypes
        _lib = handle
    return _lib


def status_name(status):
    return lib().elattn_status_string(status).decode()


def last_error():
    return lib().elattn_last_error().decode(errors="replace")


def call(name, *args):
    """Calls an elattn function that returns a status; a failure raises with the library's message."""
    status = getattr(lib(), name)(*args)
    if status != SUCCESS:
        message = last_error()
        cls = (InvalidArgumentError if status in (INVALID_ARGUMENT, BUFFER_TOO_SMALL)
               else UnsupportedError if status in (UNSUPPORTED, NOT_AVAILABLE) else ElattnError)
        raise cls(status, message, name)

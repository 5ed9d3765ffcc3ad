/*
 * elattn: hybrid-head attention (full / streaming / block-sparse per KV head,
 * all heads in one launch), XAttention block selection and the Elastic
 * Attention router, behind one vendor-neutral C API.
 *
 * Conventions
 *  - Every function returns an elattn_status. On failure a message naming the
 *    offending argument is kept per thread (elattn_last_error) and no output
 *    is touched. The library never prints and never aborts.
 *  - Every size the library derives from caller values (tensors, masks,
 *    workspaces, buffer ranges, 2-D copies) is computed with overflow checks:
 *    a size that does not fit in size_t is ELATTN_ERROR_INVALID_ARGUMENT
 *    naming the argument, never a wrapped, smaller size.
 *  - Tensors live in elattn_buffer objects of one device. Layouts are packed
 *    "varlen": Q/O [total_q][Hq][D], K/V [total_k][Hkv][D], LSE [total_q][Hq];
 *    attention also takes strided Q/K/V/O and paged K/V (elattn_attn_desc).
 *  - Small metadata (cu_seqlens, mode tables, thresholds) is passed as host
 *    arrays: the library validates it and uploads it into the caller's
 *    workspace on the stream, so one invalid value is an error, not a crash.
 *    Or it stays on the device (0.2): mode tables as elattn buffers (the
 *    router's modes_buffer output feeds attention and XAttention), lengths and
 *    the work list in an elattn_attn_batch. Device values cannot be checked by
 *    the host (see elattn_attn_args.modes_buffer).
 *  - Every struct the caller fills starts with struct_size (ELATTN_INIT).
 *  - Work is "plan, then run": a plan validates a descriptor once, picks a
 *    kernel (or answers ELATTN_ERROR_UNSUPPORTED: there is no silent
 *    fallback) and reports its name and workspace size. Plans are immutable:
 *    several threads may run one plan at once on different streams, each with
 *    its own workspace.
 *  - Outputs (O, LSE, block masks, router logits, workspaces) may share no
 *    byte with any other buffer argument of the same call: when two arguments
 *    are views of one allocation (or the same buffer) and their bytes overlap,
 *    the call fails with ELATTN_ERROR_INVALID_ARGUMENT naming both. Inputs may
 *    share bytes (K and V of one tensor). Two wraps of the same memory are
 *    separate allocations to elattn and are not compared.
 *
 * Object lifetimes and threads
 *  - Devices, streams, buffers, events and plans are handles. Each stream,
 *    buffer, event and plan keeps its device open: elattn_device_close
 *    releases the caller's handle at once (the device cannot make new
 *    objects), and the device itself closes when its last object is released.
 *    A plan or buffer may be used after its device was closed.
 *  - A view keeps its allocation: freeing the parent first is allowed; the
 *    memory goes when the last view is freed too.
 *  - Every handle is checked before use. A handle released already, or never
 *    made, is ELATTN_ERROR_INVALID_ARGUMENT; releasing it again (a double
 *    free, destroy or close) does nothing and leaves a message in
 *    elattn_last_error. (Not detectable: a released handle whose memory was
 *    reused by a new handle of the same type, which then is that new handle.)
 *    The release functions leave the thread's message alone when they succeed.
 *  - Thread safety: every function may be called from several threads at
 *    once, with these limits. A stream, and an event, is used by one thread at
 *    a time. A buffer may be read by calls in several threads; a call that
 *    writes it must not overlap any other use (as for any memory). Releasing
 *    an object while another thread uses it is undefined behaviour: the check
 *    of a handle cannot protect a call already past it.
 */
#ifndef ELATTN_H
#define ELATTN_H

#include <stddef.h>
#include <stdint.h>

#include "elattn/elattn_config.h" /* generated: version and compiled backends */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(ELATTN_BUILDING_LIBRARY)
#define ELATTN_API __declspec(dllexport)
#elif defined(__GNUC__)
#define ELATTN_API __attribute__((visibility("default")))
#else
#define ELATTN_API
#endif

/* ---- status and errors -------------------------------------------------- */
typedef enum elattn_status {
    ELATTN_SUCCESS = 0,
    ELATTN_ERROR_INVALID_ARGUMENT = 1, /* a value the API does not accept */
    ELATTN_ERROR_UNSUPPORTED = 2,      /* valid, but this device/backend has no kernel for it */
    ELATTN_ERROR_OUT_OF_MEMORY = 3,    /* host or device allocation failed */
    ELATTN_ERROR_BUFFER_TOO_SMALL = 4, /* a buffer is smaller than the shapes need */
    ELATTN_ERROR_NOT_AVAILABLE = 5,    /* no such device, or backend not compiled in */
    ELATTN_ERROR_BACKEND = 6,          /* the vendor runtime reported an error */
    ELATTN_ERROR_INTERNAL = 7          /* a bug in elattn */
} elattn_status;

ELATTN_API const char *elattn_status_string(elattn_status status);
/* Message of the last failed call on this thread ("" if none). */
ELATTN_API const char *elattn_last_error(void);

/* ---- versions and struct sizes -------------------------------------------
 * ELATTN_VERSION_MAJOR/MINOR/PATCH (elattn_config.h) are this header's
 * version; elattn_version() is the loaded library's. A library serves every
 * header of its major version with a minor version <= its own. */
#define ELATTN_VERSION_ENCODE(major, minor, patch) ((major) * 1000000L + (minor) * 1000L + (patch))
#define ELATTN_VERSION ELATTN_VERSION_ENCODE(ELATTN_VERSION_MAJOR, ELATTN_VERSION_MINOR, ELATTN_VERSION_PATCH)
/* Compile time: 1 when this header is at least version major.minor.patch. */
#define ELATTN_VERSION_CHECK(major, minor, patch) (ELATTN_VERSION >= ELATTN_VERSION_ENCODE(major, minor, patch))
/* Run-time version (synchronous, thread-safe; NULL pointers are skipped). */
ELATTN_API void elattn_version(int *major, int *minor, int *patch);
ELATTN_API const char *elattn_version_string(void);
/* Run time: 1 when the loaded library can serve a caller built with header
 * version major.minor.patch (same major, library minor >= major's minor).
 * Use elattn_version_compatible(ELATTN_VERSION_MAJOR, ELATTN_VERSION_MINOR,
 * ELATTN_VERSION_PATCH) once at start-up. */
ELATTN_API int elattn_version_compatible(int major, int minor, int patch);

/* Every descriptor, argument and options struct (elattn_*_desc, elattn_*_args,
 * elattn_plan_options) starts with `size_t struct_size`: the caller sets it to
 * sizeof the struct as its header declares it, e.g.
 *     elattn_attn_desc desc = ELATTN_INIT(elattn_attn_desc);   (all zeros, size set)
 *     elattn_attn_desc desc = {.struct_size = sizeof(elattn_attn_desc), .dtype = ...};
 * New fields are only ever appended, and a zero value of a new field always
 * means the behaviour before it existed. So the library reads the first
 * struct_size bytes and takes the missing tail of an older (smaller) struct
 * as zeros. A struct_size of 0, below the first released layout, or larger
 * than this library knows (a newer header) is ELATTN_ERROR_INVALID_ARGUMENT
 * naming "<argument>.struct_size". Structs the library fills (device and
 * backend info, native handles, sparsity) and elattn_router_weights (a member
 * of elattn_router_args, covered by its size) carry no size. */
#ifdef __cplusplus
#define ELATTN_INIT(type) (type{sizeof(type)})
#else
#define ELATTN_INIT(type) ((type){.struct_size = sizeof(type)})
#endif

/* ---- enumerations ------------------------------------------------------- */
typedef enum elattn_dtype {
    ELATTN_F32 = 0,
    ELATTN_F16 = 1,
    ELATTN_BF16 = 2
} elattn_dtype;

ELATTN_API size_t elattn_dtype_size(elattn_dtype dtype); /* 0 for an unknown dtype */
ELATTN_API const char *elattn_dtype_name(elattn_dtype dtype);

typedef enum elattn_mode {
    ELATTN_FULL = 0,
    ELATTN_STREAMING = 1,
    ELATTN_BLOCK_SPARSE = 2
} elattn_mode;

ELATTN_API const char *elattn_mode_name(elattn_mode mode);

typedef enum elattn_backend {
    ELATTN_BACKEND_REFERENCE = 0,
    ELATTN_BACKEND_CUDA = 1,
    ELATTN_BACKEND_HIP = 2,
    ELATTN_BACKEND_OPENCL = 3
} elattn_backend;

ELATTN_API const char *elattn_backend_name(elattn_backend backend);

/* ---- devices ------------------------------------------------------------ */
#define ELATTN_CAP_FP16 (1u << 0)         /* fp16 storage */
#define ELATTN_CAP_BF16 (1u << 1)         /* bf16 storage */
#define ELATTN_CAP_MATRIX_UNITS (1u << 2) /* tensor cores / MFMA used by some kernel */
#define ELATTN_CAP_HEAD_DIM_256 (1u << 3) /* head dim 256 supported */
#define ELATTN_CAP_HOST_MEMORY (1u << 4)  /* buffers are host memory (reference) */

typedef struct elattn_device_info {
    elattn_backend backend;
    int index;           /* global index, as taken by elattn_device_open */
    int backend_index;   /* index within its backend */
    char name[128];      /* "NVIDIA H100 80GB HBM3", "pthread-skylake", ... */
    char vendor[64];     /* "NVIDIA", "AMD", "Intel", "PoCL", "elattn" */
    char arch[64];       /* "sm_90", "gfx90a", "OpenCL 3.0", "scalar" */
    char id[64];         /* stable name for elattn_device_open_by_name: "cuda:0" */
    uint64_t memory_bytes;
    int compute_units;
    int wave_size;       /* warp / wavefront / subgroup width; 1 for the reference */
    int is_gpu;          /* 1 for a GPU (used by "auto") */
    unsigned caps;       /* ELATTN_CAP_* */
} elattn_device_info;

typedef struct elattn_device elattn_device;
typedef struct elattn_stream elattn_stream;
typedef struct elattn_buffer elattn_buffer;

/* Devices of every backend loaded here (see "backends" below), in the order
 * CUDA, HIP, OpenCL, reference. The reference backend is always there (last). */
ELATTN_API elattn_status elattn_device_count(int *count);
ELATTN_API elattn_status elattn_device_get_info(int index, elattn_device_info *info);
ELATTN_API elattn_status elattn_device_open(int index, elattn_device **device);
/* name: an id ("cuda:0", "hip:0", "opencl:1", "reference"), a backend name
 * ("cuda", "opencl": its first device) or "auto" (CUDA, then HIP, then OpenCL
 * GPUs, then other OpenCL devices, then the reference). */
ELATTN_API elattn_status elattn_device_open_by_name(const char *name, elattn_device **device);
ELATTN_API elattn_status elattn_device_info_of(const elattn_device *device, elattn_device_info *info);
/* Releases the caller's handle; the device closes when its last stream,
 * buffer, event and plan is released too (see "Object lifetimes" above). */
ELATTN_API void elattn_device_close(elattn_device *device);

/* ---- backends: modules loaded at run time -------------------------------- */
/* The reference backend is part of libelattn. The CUDA, HIP and OpenCL
 * backends are modules, libelattn-cuda.so, libelattn-hip.so and
 * libelattn-opencl.so, loaded once, by the first call that needs devices:
 * from each directory of the environment variable ELATTN_BACKEND_PATH
 * (':'-separated), then from the directory libelattn itself was loaded from.
 * The first file found is the one loaded (another copy further on is not
 * tried). A module that is missing, that cannot load because its vendor
 * runtime is absent (libamdhip64, libOpenCL; the CUDA module needs only the
 * driver, and without it has 0 devices) or that was built for another
 * libelattn means no devices of that backend, never an error of the calls
 * above; elattn_backend_get_info says which and why. Modules stay loaded
 * until the process ends. The ELATTN_HAVE_* macros of elattn_config.h say
 * which modules were built with this header. */
typedef struct elattn_backend_info {
    elattn_backend backend;
    int loaded;          /* 1: its devices are listed (the reference: always) */
    int device_count;    /* its devices here (0 when not loaded) */
    char module[512];    /* the module file loaded or tried; "" for the reference or when none was found */
    char reason[512];    /* "" when loaded; otherwise why not ("not found in ...", dlopen's message, ABI) */
} elattn_backend_info;
ELATTN_API elattn_status elattn_backend_get_info(elattn_backend backend, elattn_backend_info *info);

/* ---- interop: devices from the engine's own handles -------------------------
 * The native types travel as void * so this header needs no vendor SDK. */
typedef struct elattn_native_handles {
    elattn_backend backend;
    int device_ordinal;   /* CUDA/HIP device ordinal; -1 for OpenCL and the reference */
    void *context;        /* OpenCL: the cl_context of every buffer and queue of the device */
    void *device;         /* OpenCL: the cl_device_id */
    void *default_stream; /* what a NULL elattn_stream means: the cl_command_queue; the
                           * cudaStream_t / hipStream_t (NULL: the legacy stream 0) */
} elattn_native_handles;

/* An OpenCL device that works in the engine's cl_context on its cl_device_id:
 * buffers the engine made in that context can be wrapped, and its queues
 * wrapped as streams. queue (may be NULL: elattn makes an in-order queue with
 * profiling) becomes the default stream; it must belong to context and
 * device and execute in order. elattn retains the context, device and queue
 * (clRetain*) until the device closes. */
ELATTN_API elattn_status elattn_device_from_opencl(void *cl_context, void *cl_device_id, void *cl_command_queue,
                                                   elattn_device **device);
/* A CUDA (HIP) device by runtime ordinal, as cudaSetDevice (hipSetDevice)
 * names it: elattn works in the device's primary context, the one the runtime
 * API uses (an engine on the driver API shares memory with elattn through
 * cuDevicePrimaryCtxRetain). stream (may be NULL: the legacy stream 0) becomes
 * the default stream; it is not retained: it must outlive the device. */
ELATTN_API elattn_status elattn_device_from_cuda(int device_ordinal, void *cuda_stream, elattn_device **device);
ELATTN_API elattn_status elattn_device_from_hip(int device_ordinal, void *hip_stream, elattn_device **device);
/* The native handles a device uses (of any device, however opened). */
ELATTN_API elattn_status elattn_device_native_handles(const elattn_device *device, elattn_native_handles *handles);

/* ---- streams ------------------------------------------------------------ */
/* A NULL stream means the device's default stream: CUDA/HIP stream 0 or the
 * stream given to elattn_device_from_cuda/hip; the device's own OpenCL queue
 * or the one given to elattn_device_from_opencl. Streams execute in order.
 *
 * Asynchrony: attention, XAttention, merge, copy_2d and fill calls are
 * enqueued on the stream and may return before the device finished; every
 * array they take from the host (cu_seqlens, modes, thresholds) is copied or
 * uploaded before the call returns, so the caller may reuse it at once.
 * Upload, download and the router's decisions into host memory complete
 * before they return; the router's decisions into a modes_buffer are
 * stream-ordered. Host work per call, for CUDA-graph capture: attention with
 * args.batch and args.modes_buffer enqueues one launch and nothing else
 * (CUDA/HIP; OpenCL adds two device-side copies), as does elattn_merge_states;
 * so does the router with args.modes_buffer and args.lengths, and XAttention
 * with args.lengths, modes_buffer and thresholds_buffer. Buffers
 * must stay alive, and unchanged by others, until the stream's work is done
 * (elattn_stream_synchronize, elattn_device_synchronize or an event). */
ELATTN_API elattn_status elattn_stream_create(elattn_device *device, elattn_stream **stream);
/* native: cudaStream_t, hipStream_t or cl_command_queue (not retained: the
 * caller keeps it alive). An OpenCL queue must belong to the device's context
 * and cl_device_id and execute in order (else ELATTN_ERROR_INVALID_ARGUMENT
 * naming "native"; elattn_device_from_opencl makes a device of the engine's
 * context). A CUDA/HIP stream cannot be checked: it must be of the device. */
ELATTN_API elattn_status elattn_stream_wrap(elattn_device *device, void *native, elattn_stream **stream);
/* Waits for the stream's work. NULL is ELATTN_ERROR_INVALID_ARGUMENT (a
 * default stream is a device's: elattn_device_synchronize waits for it). */
ELATTN_API elattn_status elattn_stream_synchronize(elattn_stream *stream);
/* Waits for the work of the device's default stream (a NULL elattn_stream). */
ELATTN_API elattn_status elattn_device_synchronize(elattn_device *device);
/* Waits for the stream's work, then releases it (a wrapped native stream is
 * left to its owner). */
ELATTN_API void elattn_stream_destroy(elattn_stream *stream);

/* ---- buffers ------------------------------------------------------------ */
ELATTN_API elattn_status elattn_buffer_alloc(elattn_device *device, size_t bytes, elattn_buffer **buffer);
/* Memory is aligned as its runtime allocates it (CUDA/HIP: 256 bytes; the
 * reference: malloc's); the GPU kernels need 16-byte aligned tensors, and a
 * run with a wrapped or viewed tensor that is not is ELATTN_ERROR_UNSUPPORTED.
 *
 * Wrap memory the engine owns, without a copy: a CUDA/HIP device pointer, a
 * cl_mem, or a host pointer for the reference backend. Not freed by elattn.
 * What the runtime can tell is checked, failing with
 * ELATTN_ERROR_INVALID_ARGUMENT naming "native", or BUFFER_TOO_SMALL naming
 * "bytes":
 *  - OpenCL: the cl_mem's context is the device's (CL_MEM_CONTEXT) and its
 *    CL_MEM_SIZE is at least `bytes`.
 *  - CUDA/HIP: the pointer is device (or managed) memory of this device, and
 *    [native, native + bytes) lies inside its allocation (the driver's
 *    address range; where the driver cannot say, only the first check).
 *  - the reference: a host pointer cannot be checked; `bytes` is trusted. */
ELATTN_API elattn_status elattn_buffer_wrap(elattn_device *device, void *native, size_t bytes,
                                            elattn_buffer **buffer);
/* Copies complete before these return (they are ordered after earlier work on
 * `stream`). */
ELATTN_API elattn_status elattn_buffer_upload(elattn_buffer *buffer, size_t offset, const void *src,
                                              size_t bytes, elattn_stream *stream);
ELATTN_API elattn_status elattn_buffer_download(const elattn_buffer *buffer, size_t offset, void *dst,
                                                size_t bytes, elattn_stream *stream);
ELATTN_API size_t elattn_buffer_size(const elattn_buffer *buffer);
/* The native handle (device pointer, cl_mem, host pointer). */
ELATTN_API void *elattn_buffer_native(const elattn_buffer *buffer);
/* A view of [offset, offset + bytes) of `parent`, usable wherever a buffer is.
 * offset must be a multiple of 256 (OpenCL sub-buffer alignment); the range
 * must lie inside `parent` (ELATTN_ERROR_BUFFER_TOO_SMALL otherwise). A view
 * of a view is a view of the underlying allocation at the summed offset
 * (also a multiple of 256). Some OpenCL devices align sub-buffers more
 * coarsely (CL_DEVICE_MEM_BASE_ADDR_ALIGN; NVIDIA's driver: 512 bytes): there
 * an offset that is not a multiple of theirs is refused with a message that
 * names it; multiples of 4096 suit every device. The view keeps the
 * allocation alive: the parent may be freed first. Free the view with
 * elattn_buffer_free. */
ELATTN_API elattn_status elattn_buffer_view(elattn_buffer *parent, size_t offset, size_t bytes,
                                            elattn_buffer **view);
/* Strided device-to-device copy of `rows` rows of `width` bytes (the gather
 * and scatter of head slices); asynchronous on `stream`. Each side's span
 * (rows - 1) * pitch + width must lie inside its buffer; a span that does not
 * fit in size_t is ELATTN_ERROR_INVALID_ARGUMENT naming the pitch. */
ELATTN_API elattn_status elattn_buffer_copy_2d(elattn_buffer *dst, size_t dst_offset, size_t dst_pitch,
                                               const elattn_buffer *src, size_t src_offset,
                                               size_t src_pitch, size_t width, size_t rows,
                                               elattn_stream *stream);
/* Fill `bytes` bytes at `offset` with `value` (asynchronous on `stream`). */
ELATTN_API elattn_status elattn_buffer_fill(elattn_buffer *buffer, size_t offset, uint8_t value,
                                            size_t bytes, elattn_stream *stream);
/* Frees an allocation (when no view of it is left), releases a view, or
 * forgets a wrap (the wrapped memory stays the caller's). */
ELATTN_API void elattn_buffer_free(elattn_buffer *buffer);

/* ---- events (timing with the backend's own clock) ------------------------ */
typedef struct elattn_event elattn_event;
ELATTN_API elattn_status elattn_event_create(elattn_device *device, elattn_event **event);
/* Marks the point in `stream` (NULL: the default stream) that the event
 * stands for; recording again moves it. Asynchronous. Every stream can
 * record; not every event can be timed (elattn_event_elapsed_ms): */
ELATTN_API elattn_status elattn_event_record(elattn_event *event, elattn_stream *stream);
/* Makes `stream` (NULL: the default stream of the event's device) wait, on
 * the device and without blocking the host, for the work recorded before
 * `event` (which must have been recorded, on any stream of the same device).
 * The reference runs each call before it returns: there this only checks. */
ELATTN_API elattn_status elattn_stream_wait_event(elattn_stream *stream, const elattn_event *event);
/* Milliseconds between two events of one device, both recorded at least once
 * (an event never recorded is ELATTN_ERROR_INVALID_ARGUMENT naming it, on
 * every backend); waits for `end`. Timing needs both last records to be on
 * streams that can be timed: every CUDA, HIP and reference stream, and the
 * OpenCL queues elattn makes; an OpenCL queue of the engine (wrapped, or the
 * default stream of elattn_device_from_opencl) only when it was made with
 * CL_QUEUE_PROFILING_ENABLE. Otherwise ELATTN_ERROR_UNSUPPORTED naming the
 * event and the queue's missing property. */
ELATTN_API elattn_status elattn_event_elapsed_ms(const elattn_event *start, const elattn_event *end,
                                                 float *ms);
ELATTN_API void elattn_event_destroy(elattn_event *event);

/* ---- kernel families ------------------------------------------------------ */
typedef enum elattn_op {
    ELATTN_OP_ATTENTION = 0, /* elattn_attn_* */
    ELATTN_OP_XATTN = 1,     /* elattn_xattn_* */
    ELATTN_OP_ROUTER = 2,    /* elattn_router_* */
    ELATTN_OP_DECODE = 3     /* elattn_decode_* */
} elattn_op;

/* The kernel families a device has for an operation, in the order its plans
 * try them (the first that can run a descriptor wins), e.g. "cuda.attn.wgmma",
 * "cuda.attn.mma", "cuda.attn.portable". Kernel names extend a family name:
 * <backend>.<op>.<family>.d<D>.<dtype>[.<variant>] ("cuda.attn.mma.d64.bf16.packgqa").
 * Passing a family name as elattn_plan_options.kernel forces that family.
 * *count receives the number of families; names (may be NULL) receives up to
 * max of them (static strings). */
ELATTN_API elattn_status elattn_device_kernel_families(const elattn_device *device, elattn_op op,
                                                       const char **names, int max, int *count);

/* ---- plan options (all backends) ----------------------------------------- */
/* One rule on every backend for the overrides below: 0 means the backend's
 * own choice; a value below 0 or above 65536 is ELATTN_ERROR_INVALID_ARGUMENT
 * naming the option; a value in [1, 65536] that the backend's kernels cannot
 * honour is ELATTN_ERROR_UNSUPPORTED (never silently ignored: the reference,
 * which has no tiles, refuses any nonzero override). */
typedef struct elattn_plan_options {
    size_t struct_size; /* sizeof(elattn_plan_options) (see ELATTN_INIT) */
    /* The kernel to use ("" or NULL: the first family that can run the
     * descriptor). A full kernel name, or a prefix of one that ends at a '.'
     * (a family name such as "cuda.attn.mma", or "cuda"): the first kernel it
     * selects that can run the descriptor. Names that select nothing, or only
     * families that cannot run it, give ELATTN_ERROR_UNSUPPORTED. */
    const char *kernel;
    /* Tile overrides (0: the device table's value). */
    int tile_m;
    int tile_n;
    int work_group_size;
} elattn_plan_options;

/* ---- hybrid attention ----------------------------------------------------- */
typedef struct elattn_attn_desc {
    size_t struct_size;   /* sizeof(elattn_attn_desc) (see ELATTN_INIT) */
    elattn_dtype dtype;   /* of Q, K, V, O */
    int head_dim;         /* a multiple of 8 in [32, 256] (256 where ELATTN_CAP_HEAD_DIM_256) */
    int num_q_heads;      /* Hq */
    int num_kv_heads;     /* Hkv, Hq % Hkv == 0 */
    int batch;
    int max_seqlen_q;     /* upper bound of every element's query length */
    int max_seqlen_k;     /* upper bound of every element's key length */
    int causal;           /* 0 or 1; bottom-right aligned */
    float scale;          /* 0: 1/sqrt(head_dim) */
    int sink;             /* STREAMING sinks in tokens, >= 0 */
    int local;            /* STREAMING window in tokens, >= 1 */
    int block_size;       /* BLOCK_SPARSE mask block, power of two in [16, 256] */
    int write_lse;        /* 0 or 1 */

    /* ---- layout: strides and paged K/V (0 everywhere: packed, as above) ----
     * Strides are in elements. Element d of (row t, head h) of a tensor is at
     * t * stride_token + h * stride_head + d of its buffer, so Q, K and V can
     * be views into one fused QKV projection [tokens][(Hq + 2 Hkv) * D] (each
     * at its own buffer view, 256-byte aligned as every view) or a permuted
     * view ([H][tokens][D]: stride_head = tokens * D, stride_token = D).
     * 0 means packed: stride_head D, stride_token H * stride_head. Each stride
     * is a multiple of 8 in [0, 2^31) (what every family's 16-byte loads and
     * TMA need; D is a multiple of 8 too), a nonzero stride_head is >= D and
     * the (row, head) rows of one tensor may not overlap (checked at run time
     * against the rows used; the buffer must hold the addressed extent).
     * Paged K/V (page_size > 0): K and V are [num_pages][page_size][Hkv][D]
     * (vLLM / FlashInfer "NHD"; the strides above apply with t = page *
     * page_size + slot), and args.block_table maps logical page i of element b
     * to a physical page. page_size: a power of two in [16, 256].
     * Attention only: XAttention and the router take packed tensors. For the
     * rule that outputs share no byte with other arguments, a strided tensor
     * occupies the whole range from its first to its last element. */
    int q_stride_token, q_stride_head;
    int k_stride_token, k_stride_head;
    int v_stride_token, v_stride_head;
    int o_stride_token, o_stride_head;
    int page_size;          /* 0: K/V rows are cu_seqlens_k rows (not paged) */
    int num_pages;          /* paged: physical pages in K and in V (>= 1) */
    int max_pages_per_seq;  /* paged: columns of args.block_table; ceil(max_seqlen_k / page_size) at most needed */
} elattn_attn_desc;

typedef struct elattn_attn_plan elattn_attn_plan;
typedef struct elattn_attn_batch elattn_attn_batch;

typedef struct elattn_attn_args {
    size_t struct_size;       /* sizeof(elattn_attn_args) (see ELATTN_INIT) */
    const elattn_buffer *q;   /* [total_q][Hq][D] (or strided: desc's layout block) */
    const elattn_buffer *k;   /* [total_k][Hkv][D] (strided, or paged [num_pages][P][Hkv][D]) */
    const elattn_buffer *v;   /* as k */
    elattn_buffer *o;         /* [total_q][Hq][D] (or strided) */
    elattn_buffer *lse;       /* [total_q][Hq] fp32; required iff write_lse */
    const int32_t *cu_seqlens_q; /* host, [batch + 1], cu[0] == 0, non-decreasing; NULL with `batch` */
    const int32_t *cu_seqlens_k; /* host, [batch + 1]; NULL with `batch` */
    const int32_t *modes;        /* host, [batch][Hkv] elattn_mode values; or modes_buffer */
    /* [batch][Hkv][ceil(max_seqlen_q/block)][ceil(max_seqlen_k/block)] uint8,
     * nonzero = visible; read only for BLOCK_SPARSE heads; may be NULL if none
     * (required with modes_buffer: the host cannot see which heads are). */
    const elattn_buffer *block_mask;
    elattn_buffer *workspace;    /* >= workspace size of the plan (NULL if 0) */

    /* Device-resident metadata (0.2). Exactly one of modes / modes_buffer, and
     * either both cu_seqlens or `batch`, else INVALID_ARGUMENT naming them. */
    /* int32 [batch][Hkv] elattn_mode values in device memory, e.g. the
     * router's output (elattn_router_args.modes_buffer). Read by the kernel
     * on the device; the library cannot check them: a value outside the
     * three modes gives unspecified output. */
    const elattn_buffer *modes_buffer;
    /* The lengths and work list planned once (elattn_attn_batch_create, of
     * this plan). With a batch and modes_buffer the run does no host work
     * beyond the launch: no allocation, upload or sync (CUDA-graph capture). */
    const elattn_attn_batch *batch;
    /* ---- paged K/V (desc.page_size > 0; NULL otherwise) ----
     * host int32 [batch][desc.max_pages_per_seq]: entry [b][i] is the
     * physical page holding keys [i * P, (i + 1) * P) of element b. Entries
     * i < ceil(Lk_b / P) must be in [0, desc.num_pages); later ones are not
     * read. With paging, cu_seqlens_k gives each element's key count only
     * (its rows come from the table); only pages a head's mode reaches are read. */
    const int32_t *block_table;
} elattn_attn_args;

ELATTN_API elattn_status elattn_attn_plan_create(elattn_device *device, const elattn_attn_desc *desc,
                                                 const elattn_plan_options *options, /* may be NULL */
                                                 elattn_attn_plan **plan);
ELATTN_API const char *elattn_attn_plan_kernel_name(const elattn_attn_plan *plan);
ELATTN_API size_t elattn_attn_plan_workspace_size(const elattn_attn_plan *plan);
ELATTN_API elattn_status elattn_attn_run(const elattn_attn_plan *plan, elattn_stream *stream,
                                         const elattn_attn_args *args);
ELATTN_API void elattn_attn_plan_destroy(elattn_attn_plan *plan);

/* ---- batch plans (plan the lengths once, run many times) --------------------
 * A batch holds, on the plan's device, what elattn_attn_run otherwise builds
 * and uploads on every call: cu_seqlens_q/k and the work list. Runs of the
 * plan with args.batch set read them there (and args.cu_seqlens_* are NULL).
 * The work list is ordered longest first by each item's FULL-mode cost: the
 * modes are not part of the batch and may change on every run (they are read
 * on the device, per item, from the mode table); a layer whose heads are
 * mostly STREAMING loses some of the balance of a list ordered by its own
 * modes, never correctness.
 * Synchronous: checks cu_seqlens (as elattn_attn_run does; messages name
 * "cu_seqlens_q"/"cu_seqlens_k"), builds, uploads through pinned staging
 * where the backend has it, and waits for the upload. The host arrays may be
 * reused at once. Immutable after creation: any number of threads and
 * streams may run with one batch at once. It keeps its plan's device open;
 * destroy it (after the streams that use it are done) before or after the
 * plan. */
ELATTN_API elattn_status elattn_attn_batch_create(const elattn_attn_plan *plan, const int32_t *cu_seqlens_q,
                                                  const int32_t *cu_seqlens_k, elattn_attn_batch **batch);
ELATTN_API void elattn_attn_batch_destroy(elattn_attn_batch *batch);

/* Size in bytes of the block mask for a descriptor; 0 when the fields it
 * depends on (batch, num_kv_heads, max_seqlen_q/k, block_size) are invalid
 * (elattn_last_error says why). A descriptor whose mask, at 4 bytes per block
 * (XAttention's score table), would not fit in size_t is invalid. */
ELATTN_API size_t elattn_block_mask_bytes(const elattn_attn_desc *desc);

/* ---- merging partial attention states ------------------------------------ */
/* LSE, everywhere in elattn (elattn_attn_desc.write_lse, this merge): for one
 * query row and query head, the natural logarithm of the softmax denominator,
 *     lse = ln( sum over the row's visible keys j of exp(scale * q . k_j) ),
 * fp32, -inf for a row that sees no key (its O is 0). Attention over the keys
 * [0, a) and over [a, L) of the same queries, merged here, is attention over
 * [0, L) (split-K, chunked prefill, a prefix cache):
 *     m   = max(lse1, lse2),  w_i = exp(lse_i - m)
 *     O   = (w1 * O1 + w2 * O2) / (w1 + w2)
 *     lse = m + ln(w1 + w2)
 * (= (e^lse1 O1 + e^lse2 O2) / (e^lse1 + e^lse2) and ln(e^lse1 + e^lse2),
 * without overflow). A side with lse = -inf contributes nothing; both -inf
 * give O = 0 and lse = -inf. LSE inputs must be finite or -inf (+inf or NaN
 * give NaN rows, never a crash). Math in fp32; O rounds to dtype once. */
typedef struct elattn_merge_args {
    size_t struct_size;       /* sizeof(elattn_merge_args) (see ELATTN_INIT) */
    elattn_dtype dtype;       /* of O1, O2 and O */
    int num_tokens;           /* rows, >= 0 (0: nothing to do) */
    int num_heads;            /* >= 1 */
    int head_dim;             /* in [1, 4096]; any value (no alignment needed) */
    const elattn_buffer *o1;  /* [num_tokens][num_heads][head_dim] */
    const elattn_buffer *lse1;/* [num_tokens][num_heads] fp32 */
    const elattn_buffer *o2;
    const elattn_buffer *lse2;
    elattn_buffer *o;         /* output, like o1; shares no byte with an input */
    elattn_buffer *lse;       /* output like lse1, or NULL */
} elattn_merge_args;

/* Merges two partial states on `device`. Stream-ordered: enqueued on `stream`
 * (NULL: the default stream) and may return before the device is done (the
 * reference computes before it returns). Every buffer must belong to `device`
 * and stay alive until the stream's work is done. Thread-safe as any call
 * (the stream is used by one thread at a time). No workspace, no host sync,
 * no allocation: it may be captured in a CUDA graph. */
ELATTN_API elattn_status elattn_merge_states(elattn_device *device, elattn_stream *stream,
                                             const elattn_merge_args *args);

/* ---- XAttention block selection ------------------------------------------ */
typedef struct elattn_xattn_desc {
    size_t struct_size;  /* sizeof(elattn_xattn_desc) (see ELATTN_INIT) */
    elattn_dtype dtype;  /* of Q and K */
    int head_dim;
    int num_q_heads;
    int num_kv_heads;
    int batch;
    int max_seqlen_q;
    int max_seqlen_k;
    int causal;
    float scale;         /* 0: 1/sqrt(head_dim) */
    int stride;          /* S, power of two, 1..64 */
    int block_size;      /* B, a multiple of S, as in elattn_attn_desc */
} elattn_xattn_desc;
/* An XAttention descriptor is invalid when a table of 4 bytes per (element,
 * query head, query block, key block) would not fit in size_t. */

typedef struct elattn_xattn_plan elattn_xattn_plan;

typedef struct elattn_xattn_args {
    size_t struct_size;           /* sizeof(elattn_xattn_args) (see ELATTN_INIT) */
    const elattn_buffer *q;
    const elattn_buffer *k;
    const int32_t *cu_seqlens_q;  /* host */
    const int32_t *cu_seqlens_k;  /* host */
    /* host [batch][Hkv]: masks are computed for BLOCK_SPARSE heads only; the
     * mask rows of other heads are left as they were. NULL: every head. */
    const int32_t *modes;
    const float *thresholds;      /* host: tau in (0, 1], one value or one per KV head */
    int num_thresholds;           /* 1 or Hkv */
    elattn_buffer *block_mask;    /* output, same layout as elattn_attn_args.block_mask */
    elattn_buffer *workspace;
    /* 0.2: int32 [batch][Hkv] modes in device memory (e.g. the router's),
     * instead of `modes` (at most one of the two). The masks of BLOCK_SPARSE
     * heads are computed; the estimation may run for every head, since the
     * host cannot see which are. */
    const elattn_buffer *modes_buffer;
    /* 0.2: the lengths from an attention batch plan of the same device (its
     * cu_seqlens_q/k) instead of cu_seqlens_q/k, which are then NULL; its
     * batch size must be desc.batch. */
    const elattn_attn_batch *lengths;
    /* 0.2: fp32 thresholds on the device, num_thresholds of them (1 or Hkv),
     * instead of `thresholds` (then NULL); values in (0, 1], unchecked. With
     * lengths, modes_buffer and thresholds_buffer the CUDA/HIP run does no
     * host work beyond its launches (graph capture); OpenCL reads the three
     * back first (one blocking read each). */
    const elattn_buffer *thresholds_buffer;
} elattn_xattn_args;

ELATTN_API elattn_status elattn_xattn_plan_create(elattn_device *device, const elattn_xattn_desc *desc,
                                                  const elattn_plan_options *options,
                                                  elattn_xattn_plan **plan);
ELATTN_API const char *elattn_xattn_plan_kernel_name(const elattn_xattn_plan *plan);
ELATTN_API size_t elattn_xattn_plan_workspace_size(const elattn_xattn_plan *plan);
ELATTN_API elattn_status elattn_xattn_run(const elattn_xattn_plan *plan, elattn_stream *stream,
                                          const elattn_xattn_args *args);
ELATTN_API void elattn_xattn_plan_destroy(elattn_xattn_plan *plan);

/* ---- Attention Router ------------------------------------------------------ */
typedef struct elattn_router_desc {
    size_t struct_size;      /* sizeof(elattn_router_desc) (see ELATTN_INIT) */
    elattn_dtype key_dtype;  /* dtype of the key states */
    int head_dim;            /* D */
    int hidden;              /* r * D (paper: 4 * D) */
    int num_kv_heads;
    int batch;
    int max_seqlen;
    elattn_mode retrieval_mode; /* class 1 */
    elattn_mode sparse_mode;    /* class 0 */
} elattn_router_desc;

/* One layer's router weights, fp32, PyTorch Linear layout (weight [out][in]). */
typedef struct elattn_router_weights {
    const elattn_buffer *task_w1, *task_b1; /* [hidden][D], [hidden] */
    const elattn_buffer *task_w2, *task_b2; /* [D][hidden], [D] */
    const elattn_buffer *head_w1, *head_b1; /* [hidden][D], [hidden] */
    const elattn_buffer *head_w2, *head_b2; /* [D][hidden], [D] */
    const elattn_buffer *head_w3, *head_b3; /* [2][D], [2] */
} elattn_router_weights;

typedef struct elattn_router_plan elattn_router_plan;

typedef struct elattn_router_args {
    size_t struct_size;            /* sizeof(elattn_router_args) (see ELATTN_INIT) */
    const elattn_buffer *keys;     /* [total_k][Hkv][D], after k-norm, before RoPE */
    const int32_t *cu_seqlens;     /* host [batch + 1] */
    elattn_router_weights weights;
    elattn_buffer *logits;         /* optional output, fp32 [batch][Hkv][2] */
    int32_t *modes;                /* host output [batch][Hkv]: the mode table; or modes_buffer */
    elattn_buffer *workspace;
    /* 0.2: device output int32 [batch][Hkv], for elattn_attn_args.modes_buffer
     * and elattn_xattn_args.modes_buffer: no host round trip. Exactly one of
     * modes / modes_buffer. */
    elattn_buffer *modes_buffer;
    /* 0.2: the key lengths from an attention batch plan of the same device
     * (its cu_seqlens_k, on the device: nothing uploaded) instead of
     * cu_seqlens, which is then NULL. Its batch size must be desc.batch, and
     * every element needs 1 to desc.max_seqlen keys. */
    const elattn_attn_batch *lengths;
} elattn_router_args;

ELATTN_API elattn_status elattn_router_plan_create(elattn_device *device, const elattn_router_desc *desc,
                                                   const elattn_plan_options *options,
                                                   elattn_router_plan **plan);
ELATTN_API const char *elattn_router_plan_kernel_name(const elattn_router_plan *plan);
ELATTN_API size_t elattn_router_plan_workspace_size(const elattn_router_plan *plan);
/* Runs pooling and both MLPs on the device. With args.modes (host) only the
 * [batch][Hkv] decisions come back to the host and this call waits for them.
 * With args.modes_buffer the decisions stay on the device and the call is
 * stream-ordered (asynchronous, like attention); with args.lengths as well it
 * does no host work beyond the two launches (CUDA-graph capture). */
ELATTN_API elattn_status elattn_router_run(const elattn_router_plan *plan, elattn_stream *stream,
                                           const elattn_router_args *args);
ELATTN_API void elattn_router_plan_destroy(elattn_router_plan *plan);

/* ---- router weights from a checkpoint (safetensors) ------------------------------ */
/* Loads layer `layer`'s router from a Hugging Face checkpoint. path: a
 * .safetensors file, a sharded checkpoint's model.safetensors.index.json
 * (its weight_map names the shards, files beside it), or a directory holding
 * one of the two (the index first). The released names map one for one,
 * with P = "model.layers.{layer}.self_attn.mask_allocator.":
 *   P cls_feat_extractor.0.{weight,bias}       -> task_w1 [hidden][D], task_b1 [hidden]
 *   P cls_feat_extractor.2.{weight,bias}       -> task_w2 [D][hidden], task_b2 [D]
 *   P cls_router_head_agnostic.0.{weight,bias} -> head_w1 [hidden][D], head_b1 [hidden]
 *   P cls_router_head_agnostic.2.{weight,bias} -> head_w2 [D][hidden], head_b2 [D]
 *   P cls_router_head_agnostic.4.{weight,bias} -> head_w3 [2][D],      head_b3 [2]
 * (Sequential indices 0, 2, 4 are the Linears; the SiLUs between them hold no
 * weights.) D and hidden come from cls_feat_extractor.0.weight and are
 * returned in *head_dim and *hidden (either may be NULL). Tensors may be
 * stored as F32, BF16 or F16; `weights` receives ten new fp32 buffers on
 * `device`, to be released with elattn_router_weights_free.
 * Every file is read strictly (bounded header, overflow-checked offsets that
 * tile the data exactly, no duplicate name). Errors name the file and the
 * tensor: a file that cannot be read, is malformed or lacks a tensor is
 * ELATTN_ERROR_INVALID_ARGUMENT; a dtype other than the three, or a shape of
 * another router architecture (the variants with a 2D-wide task feature or a
 * one-logit head), is ELATTN_ERROR_UNSUPPORTED. On failure `weights` is
 * untouched. */
ELATTN_API elattn_status elattn_router_weights_from_safetensors(elattn_device *device, const char *path, int layer,
                                                                elattn_router_weights *weights, int *head_dim,
                                                                int *hidden);
/* Frees the ten buffers of weights loaded above (NULL members are skipped) and
 * sets them to NULL. */
ELATTN_API void elattn_router_weights_free(elattn_router_weights *weights);

/* ---- decode: the per-head KV cache and decode attention (kernels/SPEC.md section 9) ----
 * One cache per layer. Per (sequence, KV head) it keeps what the head's mode reads
 * again: FULL and BLOCK_SPARSE heads every token; STREAMING heads their `sink` first
 * tokens and a ring of the last local + max_new_tokens - 1 tokens, in pages of a pool
 * the cache owns (pages are taken as a head grows and recycled in place as its window
 * slides; a sequence's pages return to the pool with elattn_kv_cache_release).
 * A cache is used by one thread at a time (its host bookkeeping is not locked). Appends copy
 * on the stream they are given and decode runs read the cache on theirs: use one stream for
 * both, or order them yourself. The cache keeps its device open, as a plan does. */
typedef struct elattn_kv_cache elattn_kv_cache;

typedef struct elattn_kv_cache_desc {
    size_t struct_size;   /* sizeof(elattn_kv_cache_desc) (see ELATTN_INIT) */
    elattn_dtype dtype;   /* of K and V (and of decode's Q and O) */
    int head_dim;         /* D: a multiple of 8 in [32, 256] */
    int num_kv_heads;     /* Hkv, 1..1024 */
    int page_size;        /* P tokens per page: a power of two in [1, 4096] */
    int num_pages;        /* pages in the pool (each holds P rows of K and of V of one head) */
    int max_sequences;    /* sequence ids are 0..max_sequences-1 */
    int max_tokens;       /* the longest sequence (positions), >= 1 */
    int sink, local;      /* STREAMING heads: sink >= 0, local >= 1 (as elattn_attn_desc) */
    int max_new_tokens;   /* the most tokens one decode step appends per sequence: 1..16 (0: 16) */
    int page_summaries;   /* 1: keep, per page of a BLOCK_SPARSE head, the fp32 minimum and maximum of
                           * its keys per dimension (2 x D x 4 bytes a page, counted by
                           * elattn_kv_cache_bytes), which decode's Quest page selection reads
                           * (elattn_decode_desc.page_budget); 0: none. Not every backend keeps them:
                           * the cache is then refused with ELATTN_ERROR_UNSUPPORTED */
} elattn_kv_cache_desc;

#define ELATTN_DECODE_MAX_NEW_TOKENS 16

ELATTN_API elattn_status elattn_kv_cache_create(elattn_device *device, const elattn_kv_cache_desc *desc,
                                                elattn_kv_cache **cache);
ELATTN_API void elattn_kv_cache_destroy(elattn_kv_cache *cache);

/* Appends tokens to sequences. A sequence's first append starts it (its prefill, any
 * number of tokens) and fixes its modes; later appends (decode steps) pass the same modes
 * or NULL. K and V: packed [total][Hkv][D] of the cache's dtype, rows of sequence i at
 * [sum of num_tokens[0..i), + num_tokens[i]). Copies run on `stream`; the page tables are
 * updated before the call returns (synchronous with respect to the host). On any error
 * nothing is appended (the checks, pool space included, precede every copy). */
typedef struct elattn_kv_append_args {
    size_t struct_size;        /* sizeof(elattn_kv_append_args) (see ELATTN_INIT) */
    int num_seqs;              /* >= 1 */
    const int32_t *seq_ids;    /* host [num_seqs], distinct, in [0, max_sequences) */
    const int32_t *num_tokens; /* host [num_seqs], >= 1 each */
    const int32_t *modes;      /* host [num_seqs][Hkv] elattn_mode; NULL: keep (not for a new sequence) */
    const elattn_buffer *k, *v;
} elattn_kv_append_args;

ELATTN_API elattn_status elattn_kv_cache_append(elattn_kv_cache *cache, elattn_stream *stream,
                                                const elattn_kv_append_args *args);
/* Ends a sequence: its pages go back to the pool. */
ELATTN_API elattn_status elattn_kv_cache_release(elattn_kv_cache *cache, int seq_id);
/* Cached length of a sequence (0 when not started). */
ELATTN_API elattn_status elattn_kv_cache_length(const elattn_kv_cache *cache, int seq_id, int *length);
/* Bytes of K and V the cache holds now: pages in use * 2 * P * D * dtype size, plus
 * 2 * D * 4 per page of a BLOCK_SPARSE head when desc.page_summaries. */
ELATTN_API elattn_status elattn_kv_cache_bytes(const elattn_kv_cache *cache, size_t *bytes);

typedef struct elattn_decode_plan elattn_decode_plan;

typedef struct elattn_decode_desc {
    size_t struct_size;  /* sizeof(elattn_decode_desc) (see ELATTN_INIT) */
    int num_q_heads;     /* Hq, a multiple of the cache's Hkv */
    int max_batch;       /* most sequences per run, >= 1 */
    float scale;         /* 0: 1/sqrt(D) */
    int write_lse;       /* 1: args.lse [total_new][Hq] fp32 is written */
    int num_splits;      /* split-KV chunks per (sequence, head): 1..256, or 0: each run picks per
                          * head from the lengths, the modes and the device (SPEC.md section 9) */
    int page_budget;     /* 0: BLOCK_SPARSE heads decode densely over their whole cache (exact).
                          * B > 0: Quest page selection (SPEC.md section 9b): a BLOCK_SPARSE head reads
                          * its first page, the pages holding the step's new tokens and the B other
                          * pages whose key summaries score highest for the step's queries; needs a
                          * cache made with page_summaries. FULL and STREAMING heads are unaffected */
} elattn_decode_desc;

/* options.kernel forces a decode family or kernel as for the other plans (the families:
 * elattn_device_kernel_families with ELATTN_OP_DECODE). */
ELATTN_API elattn_status elattn_decode_plan_create(const elattn_kv_cache *cache, const elattn_decode_desc *desc,
                                                   const elattn_plan_options *options, elattn_decode_plan **plan);
ELATTN_API void elattn_decode_plan_destroy(elattn_decode_plan *plan);
/* Kernel name of a plan, and the most split-KV chunks a run gives one (sequence, head):
 * desc.num_splits, or with 0 the policy's bound. A plan holds, from its creation, the device
 * memory its runs need (partials, metadata); runs of one plan are serialised (one thread, and
 * one stream or streams the caller orders), as the cache they read is. */
ELATTN_API const char *elattn_decode_plan_kernel(const elattn_decode_plan *plan);
ELATTN_API int elattn_decode_plan_splits(const elattn_decode_plan *plan);

/* A decode step fixed for CUDA-graph capture: the sequences, their new-token counts and their
 * split-KV chunk counts (the plan's policy at the lengths the cache holds now) are fixed at
 * creation and the work list is uploaded once; a run with args.batch reads each sequence's
 * length at run time from the cache's device copy, which every append and release keeps current
 * from then on. So on CUDA and HIP a run with a batch only launches kernels, and a graph that
 * captured one stays right as the sequences grow: per step, append (outside the graph, on the
 * stream the graph is launched on: once a cache has a batch, an append waits for the work queued
 * before it on its stream, as it then rewrites the lengths that work may read) and replay.
 * A chunk covers a growing range as lengths grow (the result is the same; make a new batch when
 * the lengths have outgrown the split counts). The sequences must stay in the cache while the batch
 * is used (a run checks it; a graph replay cannot). On the reference and OpenCL backends a run
 * with a batch is a plain run of the batch's sequences and split counts. */
typedef struct elattn_decode_batch elattn_decode_batch;

ELATTN_API elattn_status elattn_decode_batch_create(const elattn_decode_plan *plan, elattn_kv_cache *cache,
                                                    int num_seqs, const int32_t *seq_ids, const int32_t *num_new,
                                                    elattn_decode_batch **batch);
ELATTN_API void elattn_decode_batch_destroy(elattn_decode_batch *batch);

/* Decode attention after this step's append: sequence seq_ids[i] has num_new[i] (1..
 * max_new_tokens) new tokens, the last num_new[i] positions of its cache; their queries
 * are q rows [sum num_new[0..i), + num_new[i]), packed [total_new][Hq][D].
 * Without a batch each call makes the step's metadata (lengths, work list) on the host from the
 * cache's lengths, and a captured launch would keep the captured step's: capture runs with a
 * batch (elattn_decode_batch_create) instead. */
typedef struct elattn_decode_args {
    size_t struct_size;       /* sizeof(elattn_decode_args) (see ELATTN_INIT) */
    int num_seqs;             /* 1..max_batch */
    const int32_t *seq_ids;   /* host [num_seqs], started sequences */
    const int32_t *num_new;   /* host [num_seqs] */
    const elattn_buffer *q;
    elattn_buffer *o;         /* [total_new][Hq][D] */
    elattn_buffer *lse;       /* [total_new][Hq] fp32, when desc.write_lse */
    /* The step's sequences, new-token counts and split counts from a batch of this plan
     * and cache (num_seqs 0, seq_ids and num_new NULL), lengths read on the device. */
    const elattn_decode_batch *batch;
} elattn_decode_args;

ELATTN_API elattn_status elattn_decode_run(const elattn_decode_plan *plan, elattn_kv_cache *cache,
                                           elattn_stream *stream, const elattn_decode_args *args);

/* ---- sparsity metrics (host) ----------------------------------------------- */
typedef struct elattn_sparsity {
    double omega_msr;   /* fraction of (element, KV head) entries that are not FULL */
    double omega_esr;   /* mean pruned fraction over the same entries */
    long entries;       /* entries counted (sum these to merge layers) */
    long sparse_entries;
    double rho_sum;     /* sum of pruned fractions */
} elattn_sparsity;

/* One call (one layer). block_mask_host: the mask as in elattn_attn_args, on
 * the host; may be NULL when no head is BLOCK_SPARSE. */
ELATTN_API elattn_status elattn_sparsity_of_call(const elattn_attn_desc *desc,
                                                 const int32_t *cu_seqlens_q,
                                                 const int32_t *cu_seqlens_k,
                                                 const int32_t *modes,
                                                 const uint8_t *block_mask_host,
                                                 elattn_sparsity *out);
/* Merge several calls (layers): acc += one; ratios recomputed. */
ELATTN_API void elattn_sparsity_merge(elattn_sparsity *acc, const elattn_sparsity *one);

/* ---- host conversions ------------------------------------------------------- */
/* Convert n values; round to nearest even. src and dst must not overlap. */
ELATTN_API elattn_status elattn_convert(elattn_dtype dst_dtype, void *dst, elattn_dtype src_dtype,
                                        const void *src, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* ELATTN_H */

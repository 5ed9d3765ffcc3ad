/*
 * The GPU backends: devices, streams, memory, events, and the ops table.
 * (gpu_internal.h says how one source becomes the CUDA and the HIP backend.)
 *
 * Memory handles are device pointers, views are pointer offsets, streams are
 * cudaStream_t / hipStream_t, events cudaEvent_t / hipEvent_t. Every runtime
 * error becomes ELATTN_ERROR_BACKEND naming the call and the runtime's string.
 */
#include "gpu_internal.h"

#include <pthread.h>

namespace ELATTN_GPU_NS {

elattn_status runtime_failure(cudaError_t e, const char *call)
{
    const elattn_status st = e == cudaErrorMemoryAllocation ? ELATTN_ERROR_OUT_OF_MEMORY : ELATTN_ERROR_BACKEND;
    return elattn_fail(st, "%s backend: %s%s failed: %s", ELATTN_GPU_BACKEND_NAME, ELATTN_GPU_API_PREFIX, call,
                       cudaGetErrorString(e));
}

/* ---- devices -------------------------------------------------------------------------- */
static void describe(const cudaDeviceProp &prop, int index, gpu_caps *c)
{
    (void)index;
    c->mem_gbps = 0.0;
    c->wave = prop.warpSize;
    c->sm_count = prop.multiProcessorCount;
#if defined(ELATTN_GPU_AMD)
    c->sm_version = 0;
    c->smem_per_block = prop.sharedMemPerBlock;
    /* "gfx90a:sramecc+:xnack-" -> "gfx90a" */
    snprintf(c->arch, sizeof c->arch, "%s", prop.gcnArchName);
    char *colon = strchr(c->arch, ':');
    if (colon) *colon = '\0';
#elif defined(ELATTN_GPU_EMULATED) && defined(ELATTN_GPU_CUDA)
    c->sm_version = 80; /* sm_80's instructions are emulated (mma.sync, ldmatrix, cp.async), not sm_90's */
    c->smem_per_block = prop.sharedMemPerBlockOptin;
    snprintf(c->arch, sizeof c->arch, "cpu-emulation-sm_80");
#elif defined(ELATTN_GPU_EMULATED)
    c->sm_version = 0; /* no compute capability: no family that needs one */
    c->smem_per_block = prop.sharedMemPerBlockOptin;
    snprintf(c->arch, sizeof c->arch, "cpu-emulation");
#else
    c->sm_version = prop.major * 10 + prop.minor;
    c->smem_per_block = prop.sharedMemPerBlockOptin > prop.sharedMemPerBlock ? prop.sharedMemPerBlockOptin
                                                                             : prop.sharedMemPerBlock;
    snprintf(c->arch, sizeof c->arch, "sm_%d%d", prop.major, prop.minor);
    /* double data rate: 2 transfers a clock of bus width / 8 bytes (the decode split policy's S) */
    int clock_khz = 0, bus_bits = 0;
    if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, index) == cudaSuccess &&
        cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, index) == cudaSuccess)
        c->mem_gbps = 2.0 * (double)clock_khz * 1e3 * ((double)bus_bits / 8.0) / 1e9;
    else
        (void)cudaGetLastError();
#endif
}

/* Matrix units some attention kernel of this build uses on the device. */
static bool has_matrix_kernel(const gpu_caps &c)
{
#if defined(ELATTN_GPU_AMD)
    return strcmp(c.arch, "gfx90a") == 0 || strncmp(c.arch, "gfx94", 5) == 0;
#elif defined(ELATTN_GPU_CUDA)
    return c.sm_version >= 80;
#else
    (void)c;
    return false;
#endif
}

static void fill_info(int i, elattn_device_info *info)
{
    cudaDeviceProp prop;
    memset(info, 0, sizeof *info);
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(info->name, sizeof info->name, "unreadable device %d", i);
        return;
    }
    gpu_caps d;
    describe(prop, i, &d);
    info->backend = ELATTN_GPU_BACKEND_KIND;
    info->backend_index = i;
    snprintf(info->name, sizeof info->name, "%.127s", prop.name);
#if defined(ELATTN_GPU_AMD)
    snprintf(info->vendor, sizeof info->vendor, "AMD");
#elif defined(ELATTN_GPU_EMULATED)
    snprintf(info->vendor, sizeof info->vendor, "elattn (emulated on the CPU)");
#else
    snprintf(info->vendor, sizeof info->vendor, "NVIDIA");
#endif
    snprintf(info->arch, sizeof info->arch, "%s", d.arch);
    snprintf(info->id, sizeof info->id, "%s:%d", ELATTN_GPU_BACKEND_NAME, i);
    info->memory_bytes = prop.totalGlobalMem;
    info->compute_units = prop.multiProcessorCount;
    info->wave_size = prop.warpSize;
#if defined(ELATTN_GPU_EMULATED)
    info->is_gpu = 0; /* never picked by "auto" ahead of a real device or the reference */
#else
    info->is_gpu = 1;
#endif
    info->caps = ELATTN_CAP_FP16 | ELATTN_CAP_BF16 | ELATTN_CAP_HEAD_DIM_256;
    if (has_matrix_kernel(d)) info->caps |= ELATTN_CAP_MATRIX_UNITS;
}

static int gpu_enumerate(elattn_device_info *infos, int max)
{
    int count = 0;
    /* No driver, no runtime or no GPU: 0 devices, not an error. */
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    for (int i = 0; i < count && i < max; ++i) fill_info(i, &infos[i]);
    return count;
}

static elattn_status gpu_open(int index, void **out)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || index < 0 || index >= count) {
        (void)cudaGetLastError();
        return elattn_fail(ELATTN_ERROR_NOT_AVAILABLE, "index: %s device %d does not exist", ELATTN_GPU_BACKEND_NAME,
                           index);
    }
    cudaDeviceProp prop;
    RT(cudaGetDeviceProperties(&prop, index), "GetDeviceProperties");
    RT(cudaSetDevice(index), "SetDevice");
    device *d = create<device>();
    if (!d) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "device: host allocation failed");
    d->ordinal = index;
    describe(prop, index, &d->caps);
    if (d->caps.wave != 32 && d->caps.wave != 64) {
        free(d);
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "device: wave size %d is neither 32 nor 64", prop.warpSize);
    }
    *out = d;
    return ELATTN_SUCCESS;
}

static void gpu_close(void *dev) { free(dev); }

/* ---- interop ------------------------------------------------------------------------------ */
static elattn_status gpu_open_native(const elattn_native_handles *native, void **out, elattn_device_info *info)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        count = 0;
    }
    if (native->device_ordinal >= count)
        return elattn_fail(ELATTN_ERROR_NOT_AVAILABLE, "device_ordinal: %s device %d does not exist (%d here)",
                           ELATTN_GPU_BACKEND_NAME, native->device_ordinal, count);
    elattn_status st = gpu_open(native->device_ordinal, out);
    if (st != ELATTN_SUCCESS) return st;
    static_cast<device *>(*out)->stream = as_stream(native->default_stream);
    fill_info(native->device_ordinal, info);
    return ELATTN_SUCCESS;
}

static void gpu_native_handles(void *dev, elattn_native_handles *out)
{
    out->device_ordinal = static_cast<device *>(dev)->ordinal;
    out->default_stream = static_cast<device *>(dev)->stream;
}

#if defined(ELATTN_GPU_NVIDIA)
/* The driver API's cuMemGetAddressRange, through the runtime: the module does not link libcuda. */
typedef int (*range_fn)(unsigned long long *, size_t *, unsigned long long);
static range_fn range;
static pthread_once_t range_once = PTHREAD_ONCE_INIT;

static void look_up_range()
{
    void *fn = nullptr;
    cudaDriverEntryPointQueryResult found;
#if CUDART_VERSION >= 12050
    const cudaError_t e = cudaGetDriverEntryPointByVersion("cuMemGetAddressRange", &fn, 12000, cudaEnableDefault, &found);
#else
    const cudaError_t e = cudaGetDriverEntryPoint("cuMemGetAddressRange", &fn, cudaEnableDefault, &found);
#endif
    if (e == cudaSuccess && found == cudaDriverEntryPointSuccess) range = reinterpret_cast<range_fn>(fn);
    (void)cudaGetLastError();
}
#endif

/* Where the driver can tell: the allocation [*base, *base + *size) holding p (0 when it cannot). */
static int allocation_range(void *p, char **base, size_t *size)
{
#if defined(ELATTN_GPU_AMD) || defined(ELATTN_GPU_EMULATED)
    hipDeviceptr_t b = nullptr;
    if (hipMemGetAddressRange(&b, size, p) != hipSuccess) {
        (void)hipGetLastError();
        return 0;
    }
    *base = static_cast<char *>(b);
    return 1;
#else
    pthread_once(&range_once, look_up_range);
    unsigned long long b = 0;
    if (!range || range(&b, size, reinterpret_cast<unsigned long long>(p)) != 0) return 0;
    *base = reinterpret_cast<char *>(b);
    return 1;
#endif
}

static elattn_status gpu_mem_check_wrap(void *dev, void *mem, size_t bytes)
{
    USE(dev);
    const int ordinal = static_cast<device *>(dev)->ordinal;
    int on_device = 0, owner = -1;
#if defined(ELATTN_GPU_AMD)
    hipPointerAttribute_t a;
    if (hipPointerGetAttributes(&a, mem) == hipSuccess) {
#if HIP_VERSION_MAJOR >= 6
        on_device = a.type == hipMemoryTypeDevice || a.type == hipMemoryTypeManaged;
#else
        on_device = a.memoryType == hipMemoryTypeDevice || a.isManaged;
#endif
        owner = a.device;
    }
    (void)hipGetLastError();
#elif defined(ELATTN_GPU_EMULATED)
    on_device = elattn_emu_is_device_memory(mem);
    owner = on_device ? 0 : -1;
#else
    cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, mem) == cudaSuccess) {
        on_device = a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
        owner = a.device;
    }
    (void)cudaGetLastError();
#endif
    if (!on_device)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "native: %p is not device memory the %s runtime knows", mem,
                           ELATTN_GPU_BACKEND_NAME);
    if (owner != ordinal)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "native: %p is memory of %s device %d, not of device %d", mem,
                           ELATTN_GPU_BACKEND_NAME, owner, ordinal);
    char *base = nullptr;
    size_t size = 0;
    if (allocation_range(mem, &base, &size)) {
        const size_t at = static_cast<size_t>(static_cast<char *>(mem) - base);
        if (at > size || bytes > size - at)
            return elattn_fail(ELATTN_ERROR_BUFFER_TOO_SMALL,
                               "bytes: %zu from %p pass the end of its allocation (%zu bytes at %p)", bytes, mem, size,
                               static_cast<void *>(base));
    }
    return ELATTN_SUCCESS;
}

static elattn_status gpu_stream_wait_event(void *dev, void *stream, void *event)
{
    USE(dev);
    RT(cudaStreamWaitEvent(as_stream(stream), static_cast<cudaEvent_t>(event), 0), "StreamWaitEvent");
    return ELATTN_SUCCESS;
}

elattn_status use_device(void *dev)
{
    RT(cudaSetDevice(static_cast<device *>(dev)->ordinal), "SetDevice");
    return ELATTN_SUCCESS;
}

/* ---- streams ----------------------------------------------------------------------------- */
static elattn_status gpu_stream_create(void *dev, void **stream)
{
    USE(dev);
    cudaStream_t s;
    RT(cudaStreamCreate(&s), "StreamCreate");
    *stream = s;
    return ELATTN_SUCCESS;
}

static void gpu_stream_destroy(void *dev, void *stream)
{
    if (use_device(dev) == ELATTN_SUCCESS) (void)cudaStreamDestroy(as_stream(stream));
}

static elattn_status gpu_stream_sync(void *dev, void *stream)
{
    USE(dev);
    RT(cudaStreamSynchronize(as_stream(stream)), "StreamSynchronize");
    return ELATTN_SUCCESS;
}

/* ---- memory --------------------------------------------------------------------------------- */
static elattn_status gpu_mem_alloc(void *dev, size_t bytes, void **mem)
{
    USE(dev);
    void *p = nullptr;
    RT(cudaMalloc(&p, bytes ? bytes : 1), "Malloc");
    *mem = p;
    return ELATTN_SUCCESS;
}

static void gpu_mem_free(void *dev, void *mem)
{
    if (use_device(dev) == ELATTN_SUCCESS) (void)cudaFree(mem);
}

static elattn_status gpu_upload(void *dev, void *stream, void *mem, size_t offset, const void *src, size_t bytes)
{
    USE(dev);
    if (bytes == 0) return ELATTN_SUCCESS;
    RT(cudaMemcpyAsync(static_cast<char *>(mem) + offset, src, bytes, cudaMemcpyHostToDevice, as_stream(stream)),
       "MemcpyAsync");
    RT(cudaStreamSynchronize(as_stream(stream)), "StreamSynchronize");
    return ELATTN_SUCCESS;
}

static elattn_status gpu_download(void *dev, void *stream, const void *mem, size_t offset, void *dst, size_t bytes)
{
    USE(dev);
    if (bytes == 0) return ELATTN_SUCCESS;
    RT(cudaMemcpyAsync(dst, static_cast<const char *>(mem) + offset, bytes, cudaMemcpyDeviceToHost,
                       as_stream(stream)),
       "MemcpyAsync");
    RT(cudaStreamSynchronize(as_stream(stream)), "StreamSynchronize");
    return ELATTN_SUCCESS;
}

static elattn_status gpu_view(void *dev, void *mem, size_t offset, size_t bytes, void **view)
{
    (void)dev, (void)bytes;
    *view = static_cast<char *>(mem) + offset;
    return ELATTN_SUCCESS;
}

static void gpu_view_release(void *dev, void *view) { (void)dev, (void)view; }

static elattn_status gpu_copy_2d(void *dev, void *stream, void *dst, size_t dst_offset, size_t dst_pitch,
                                 const void *src, size_t src_offset, size_t src_pitch, size_t width, size_t rows)
{
    USE(dev);
    if (width == 0 || rows == 0) return ELATTN_SUCCESS;
    RT(cudaMemcpy2DAsync(static_cast<char *>(dst) + dst_offset, dst_pitch,
                         static_cast<const char *>(src) + src_offset, src_pitch, width, rows,
                         cudaMemcpyDeviceToDevice, as_stream(stream)),
       "Memcpy2DAsync");
    return ELATTN_SUCCESS;
}

static elattn_status gpu_fill(void *dev, void *stream, void *mem, size_t offset, unsigned char value, size_t bytes)
{
    USE(dev);
    if (bytes == 0) return ELATTN_SUCCESS;
    RT(cudaMemsetAsync(static_cast<char *>(mem) + offset, value, bytes, as_stream(stream)), "MemsetAsync");
    return ELATTN_SUCCESS;
}

/* ---- events ------------------------------------------------------------------------------------ */
static elattn_status gpu_event_create(void *dev, void **event)
{
    USE(dev);
    cudaEvent_t e;
    RT(cudaEventCreate(&e), "EventCreate");
    *event = e;
    return ELATTN_SUCCESS;
}

static void gpu_event_destroy(void *dev, void *event)
{
    if (use_device(dev) == ELATTN_SUCCESS) (void)cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

static elattn_status gpu_event_record(void *dev, void *stream, void *event)
{
    USE(dev);
    RT(cudaEventRecord(static_cast<cudaEvent_t>(event), as_stream(stream)), "EventRecord");
    return ELATTN_SUCCESS;
}

static elattn_status gpu_event_elapsed(void *dev, void *start, void *end, float *ms)
{
    USE(dev);
    RT(cudaEventSynchronize(static_cast<cudaEvent_t>(end)), "EventSynchronize");
    RT(cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end)),
       "EventElapsedTime");
    return ELATTN_SUCCESS;
}

elattn_status upload_meta(void *workspace, const staging &st, size_t bytes, cudaStream_t stream)
{
    if (bytes == 0) return ELATTN_SUCCESS;
    RT(cudaMemcpyAsync(workspace, st.host, bytes, cudaMemcpyHostToDevice, stream), "MemcpyAsync");
    return ELATTN_SUCCESS;
}

elattn_status pinned_staging::create(size_t slot_bytes)
{
    bytes = (slot_bytes + 255) / 256 * 256;
    void *p = nullptr;
    RT(cudaMallocHost(&p, bytes * SLOTS), "MallocHost (decode staging)");
    host = static_cast<char *>(p);
    for (int i = 0; i < SLOTS; ++i) RT(cudaEventCreate(&copied[i]), "EventCreate (decode staging)");
    return ELATTN_SUCCESS;
}

void pinned_staging::destroy()
{
    for (int i = 0; i < SLOTS; ++i)
        if (copied[i]) {
            (void)cudaEventSynchronize(copied[i]);
            (void)cudaEventDestroy(copied[i]);
            copied[i] = nullptr;
        }
    if (host) (void)cudaFreeHost(host);
    host = nullptr;
}

elattn_status pinned_staging::acquire(char **slot)
{
    RT(cudaEventSynchronize(copied[next]), "EventSynchronize (decode staging)"); /* never recorded: at once */
    *slot = host + (size_t)next * bytes;
    return ELATTN_SUCCESS;
}

elattn_status pinned_staging::upload(void *workspace, size_t used, cudaStream_t stream)
{
    RT(cudaMemcpyAsync(workspace, host + (size_t)next * bytes, used, cudaMemcpyHostToDevice, stream), "MemcpyAsync");
    RT(cudaEventRecord(copied[next], stream), "EventRecord (decode staging)");
    next = (next + 1) % SLOTS;
    return ELATTN_SUCCESS;
}

/* Every kernel moves 16 bytes at a time. */
elattn_status check_aligned(const char *name, const void *p)
{
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "%s: device address %p is not 16-byte aligned (the %s kernels need it)",
                           name, p, ELATTN_GPU_BACKEND_NAME);
    return ELATTN_SUCCESS;
}

elattn_status layout_overflow(const char *what)
{
    return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc: the %s workspace of this descriptor does not fit in size_t",
                       what);
}

elattn_status check_tile_options(const elattn_plan_options *options, const char *kernel, int tile_m, int tile_n)
{
    if (options->tile_m && options->tile_m != tile_m)
        return tile_m ? elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_m: %d, but %s uses %d", options->tile_m,
                                    kernel, tile_m)
                      : elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_m: %s takes no tile override", kernel);
    if (options->tile_n && options->tile_n != tile_n)
        return tile_n ? elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_n: %d, but %s uses %d", options->tile_n,
                                    kernel, tile_n)
                      : elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_n: %s takes no tile override", kernel);
    if (options->work_group_size)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.work_group_size: %s has a fixed block size", kernel);
    return ELATTN_SUCCESS;
}

static int gpu_families(void *dev, elattn_op op, const char **names, int max)
{
    (void)dev;
    switch (op) {
    case ELATTN_OP_ATTENTION: return gpu_attn_families(names, max);
    case ELATTN_OP_XATTN: return gpu_xattn_families(names, max);
    case ELATTN_OP_ROUTER: return gpu_router_families(names, max);
    case ELATTN_OP_DECODE: return gpu_decode_families(names, max);
    }
    return 0;
}

} /* namespace ELATTN_GPU_NS */

/* ---- the ops table (C linkage; declared in api/src/backend.h) --------------------------------------
 * Host-only: HIP's device pass would otherwise emit this constant (and the
 * host functions it points to) for the GPU. */
#if !defined(__HIP_DEVICE_COMPILE__)
extern "C" const elattn_backend_ops ELATTN_GPU_BACKEND_OPS = {
    ELATTN_BACKEND_ABI,
    ELATTN_GPU_BACKEND_KIND,
    ELATTN_GPU_BACKEND_NAME,
    ELATTN_GPU_NS::gpu_enumerate,
    ELATTN_GPU_NS::gpu_open,
    ELATTN_GPU_NS::gpu_close,
    ELATTN_GPU_NS::gpu_stream_create,
    ELATTN_GPU_NS::gpu_stream_destroy,
    ELATTN_GPU_NS::gpu_stream_sync,
    ELATTN_GPU_NS::gpu_mem_alloc,
    ELATTN_GPU_NS::gpu_mem_free,
    ELATTN_GPU_NS::gpu_upload,
    ELATTN_GPU_NS::gpu_download,
    ELATTN_GPU_NS::gpu_view,
    ELATTN_GPU_NS::gpu_view_release,
    ELATTN_GPU_NS::gpu_copy_2d,
    ELATTN_GPU_NS::gpu_fill,
    ELATTN_GPU_NS::gpu_event_create,
    ELATTN_GPU_NS::gpu_event_destroy,
    ELATTN_GPU_NS::gpu_event_record,
    ELATTN_GPU_NS::gpu_event_elapsed,
    ELATTN_GPU_NS::gpu_attn_plan,
    ELATTN_GPU_NS::gpu_attn_plan_destroy,
    ELATTN_GPU_NS::gpu_attn_run,
    ELATTN_GPU_NS::gpu_attn_batch_create,
    ELATTN_GPU_NS::gpu_attn_batch_destroy,
    ELATTN_GPU_NS::gpu_xattn_plan,
    ELATTN_GPU_NS::gpu_xattn_plan_destroy,
    ELATTN_GPU_NS::gpu_xattn_run,
    ELATTN_GPU_NS::gpu_router_plan,
    ELATTN_GPU_NS::gpu_router_plan_destroy,
    ELATTN_GPU_NS::gpu_router_run,
    ELATTN_GPU_NS::gpu_merge_run,
    ELATTN_GPU_NS::gpu_families,
    ELATTN_GPU_NS::gpu_open_native,
    ELATTN_GPU_NS::gpu_native_handles,
    ELATTN_GPU_NS::gpu_mem_check_wrap,
    nullptr, /* stream_check_wrap: the runtime cannot say which device a stream is of */
    ELATTN_GPU_NS::gpu_stream_wait_event,
    nullptr, /* stream_timing: elattn's events always time */
    ELATTN_GPU_NS::gpu_decode_plan,
    ELATTN_GPU_NS::gpu_decode_plan_destroy,
    ELATTN_GPU_NS::gpu_decode_run,
    ELATTN_GPU_NS::gpu_decode_batch_create,
    ELATTN_GPU_NS::gpu_decode_batch_destroy,
    ELATTN_GPU_NS::gpu_kv_summarize,
};
#endif

/*
 * The GPU backend's host code, one source for two backends:
 *   nvcc                          -> elattn_cuda_backend (CUDA runtime)
 *   hipcc -DELATTN_HIP            -> elattn_hip_backend on AMD
 *   nvcc -DELATTN_HIP -DELATTN_HIP_ON_NVIDIA
 *                                 -> elattn_hip_backend on NVIDIA, through
 *                                    kernels/gpu/vendor/hip_to_cuda.h
 * Written in CUDA runtime names; kernels/gpu/vendor.h maps them. Everything
 * but the ops table lives in the namespace of the build (elattn_cuda or
 * elattn_hip), so both backends link into one library.
 *
 * Memory handles are device pointers, views are pointer offsets, streams are
 * cudaStream_t / hipStream_t, events cudaEvent_t / hipEvent_t. Every runtime
 * error becomes ELATTN_ERROR_BACKEND naming the call and the runtime's string.
 */
#include "vendor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "families.h"

namespace ELATTN_GPU_NS {

#if defined(ELATTN_HIP)
#  define API_PREFIX "hip"
#else
#  define API_PREFIX "cuda"
#endif

static elattn_status runtime_failure(cudaError_t e, const char *call)
{
    const elattn_status st = e == cudaErrorMemoryAllocation ? ELATTN_ERROR_OUT_OF_MEMORY : ELATTN_ERROR_BACKEND;
    return elattn_fail(st, "%s backend: %s%s failed: %s", ELATTN_GPU_BACKEND_NAME, API_PREFIX, call,
                       cudaGetErrorString(e));
}

/* RT(cudaMalloc(...), "Malloc"): the name without prefix, so messages say
 * hipMalloc in the HIP build. */
#define RT(expr, name)                                                                                        \
    do {                                                                                                      \
        cudaError_t rt_err_ = (expr);                                                                         \
        if (rt_err_ != cudaSuccess) return runtime_failure(rt_err_, name);                                    \
    } while (0)

/* Plans and devices are plain structs; calloc keeps the backend free of the C++ runtime. */
template <typename T> static T *create() { return static_cast<T *>(calloc(1, sizeof(T))); }

static const size_t meta_align = 256;
static size_t align_up(size_t x) { return (x + meta_align - 1) / meta_align * meta_align; }

/* ---- devices -------------------------------------------------------------------------- */
struct device {
    int ordinal;
    int sm_version;        /* major * 10 + minor on NVIDIA, 0 on AMD */
    int wave;              /* warpSize */
    int sm_count;          /* multiprocessors (compute units) */
    size_t smem_per_block; /* opt-in limit of dynamic shared memory */
    char arch[64];
};

static void describe(const cudaDeviceProp &prop, device *d)
{
    d->wave = prop.warpSize;
    d->sm_count = prop.multiProcessorCount;
#if defined(ELATTN_GPU_AMD)
    d->sm_version = 0;
    d->smem_per_block = prop.sharedMemPerBlock;
    /* "gfx90a:sramecc+:xnack-" -> "gfx90a" */
    snprintf(d->arch, sizeof d->arch, "%s", prop.gcnArchName);
    char *colon = strchr(d->arch, ':');
    if (colon) *colon = '\0';
#else
    d->sm_version = prop.major * 10 + prop.minor;
    d->smem_per_block = prop.sharedMemPerBlockOptin > prop.sharedMemPerBlock ? prop.sharedMemPerBlockOptin
                                                                             : prop.sharedMemPerBlock;
    snprintf(d->arch, sizeof d->arch, "sm_%d%d", prop.major, prop.minor);
#endif
}

/* Matrix units some attention kernel of this build uses on the device. */
static bool has_matrix_kernel(const device &d)
{
#if defined(ELATTN_GPU_AMD)
    return strcmp(d.arch, "gfx90a") == 0 || strncmp(d.arch, "gfx94", 5) == 0;
#elif defined(ELATTN_GPU_HAVE_MMA)
    return d.sm_version >= 80;
#else
    (void)d;
    return false;
#endif
}

static int gpu_enumerate(elattn_device_info *infos, int max)
{
    int count = 0;
    /* No driver, no runtime or no GPU: 0 devices, not an error. */
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    for (int i = 0; i < count && i < max; ++i) {
        cudaDeviceProp prop;
        elattn_device_info *info = &infos[i];
        memset(info, 0, sizeof *info);
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
            (void)cudaGetLastError();
            snprintf(info->name, sizeof info->name, "unreadable device %d", i);
            continue;
        }
        device d;
        describe(prop, &d);
        info->backend = ELATTN_GPU_BACKEND_KIND;
        info->backend_index = i;
        snprintf(info->name, sizeof info->name, "%.127s", prop.name);
#if defined(ELATTN_GPU_AMD)
        snprintf(info->vendor, sizeof info->vendor, "AMD");
#else
        snprintf(info->vendor, sizeof info->vendor, "NVIDIA");
#endif
        snprintf(info->arch, sizeof info->arch, "%s", d.arch);
        snprintf(info->id, sizeof info->id, "%s:%d", ELATTN_GPU_BACKEND_NAME, i);
        info->memory_bytes = prop.totalGlobalMem;
        info->compute_units = prop.multiProcessorCount;
        info->wave_size = prop.warpSize;
        info->is_gpu = 1;
        info->caps = ELATTN_CAP_FP16 | ELATTN_CAP_BF16 | ELATTN_CAP_HEAD_DIM_256;
        if (has_matrix_kernel(d)) info->caps |= ELATTN_CAP_MATRIX_UNITS;
    }
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
    describe(prop, d);
    if (d->wave != 32 && d->wave != 64) {
        free(d);
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "device: wave size %d is neither 32 nor 64", prop.warpSize);
    }
    *out = d;
    return ELATTN_SUCCESS;
}

static void gpu_close(void *dev) { free(dev); }

/* Every entry point makes the device current on the calling thread first. */
static elattn_status use(void *dev)
{
    RT(cudaSetDevice(static_cast<device *>(dev)->ordinal), "SetDevice");
    return ELATTN_SUCCESS;
}
#define USE(dev)                                                                                              \
    do {                                                                                                      \
        elattn_status use_st_ = use(dev);                                                                     \
        if (use_st_ != ELATTN_SUCCESS) return use_st_;                                                        \
    } while (0)

static cudaStream_t as_stream(void *s) { return static_cast<cudaStream_t>(s); }

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
    if (use(dev) == ELATTN_SUCCESS) (void)cudaStreamDestroy(as_stream(stream));
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
    if (use(dev) == ELATTN_SUCCESS) (void)cudaFree(mem);
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
    if (use(dev) == ELATTN_SUCCESS) (void)cudaEventDestroy(static_cast<cudaEvent_t>(event));
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

/* ---- metadata upload ------------------------------------------------------------------------------
 * Each run copies its small host arrays (cu_seqlens, modes, work list, ...)
 * into the front of the caller's workspace with ONE host-to-device copy from
 * a host staging area laid out exactly like the workspace. The staging area
 * is ordinary (pageable) memory: for such a source cudaMemcpyAsync /
 * hipMemcpyAsync return only once the bytes are staged by the runtime, so it
 * is freed right after the call (the price: the copy does not overlap host
 * work, and the runtime waits for earlier work on the stream before it
 * starts). */
struct staging {
    char *host = nullptr;
    size_t bytes = 0;
    ~staging() { free(host); }
    elattn_status reserve(size_t n)
    {
        host = static_cast<char *>(calloc(n ? n : 1, 1));
        bytes = n;
        if (!host) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "workspace staging: host allocation of %zu bytes failed", n);
        return ELATTN_SUCCESS;
    }
    template <typename T> T *at(size_t offset) { return reinterpret_cast<T *>(host + offset); }
};

static elattn_status upload_meta(void *workspace, const staging &st, size_t bytes, cudaStream_t stream)
{
    if (bytes == 0) return ELATTN_SUCCESS;
    RT(cudaMemcpyAsync(workspace, st.host, bytes, cudaMemcpyHostToDevice, stream), "MemcpyAsync");
    return ELATTN_SUCCESS;
}

/* Every kernel moves 16 bytes at a time. */
static elattn_status check_aligned(const char *name, const void *p)
{
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "%s: device address %p is not 16-byte aligned (the %s kernels need it)",
                           name, p, ELATTN_GPU_BACKEND_NAME);
    return ELATTN_SUCCESS;
}

static bool name_matches(const char *forced, const char *candidate)
{
    return !forced || !forced[0] || strncmp(candidate, forced, strlen(forced)) == 0;
}

/* A forced name that cannot name this family (neither is a prefix of the other). */
static bool family_excluded(const char *forced, const char *family)
{
    if (!forced || !forced[0]) return false;
    const size_t nf = strlen(forced), nb = strlen(family);
    return strncmp(forced, family, nf < nb ? nf : nb) != 0;
}

/* ---- attention: the selection function ---------------------------------------------------------- */
enum attn_family { FAMILY_WGMMA, FAMILY_MMA, FAMILY_MFMA, FAMILY_PORTABLE };

struct attn_plan {
    attn_family family;
    elattn_gpu_kernel_shape shape;
    char name[128];
    int wave;
    size_t max_items;
    size_t off_cu_q, off_cu_k, off_modes, off_items, bytes;
};

/* What runs for `desc` on `dev` (options.kernel may force a name prefix), or
 * why nothing can. The one place that decides: plan creation calls it, and
 * the answer is stored in the plan. */
static elattn_status select_attn_kernel(const device &dev, const elattn_attn_desc *desc,
                                        const elattn_plan_options *options, attn_plan *out)
{
    const char *forced = options->kernel;
    const char *reasons[4] = {nullptr, nullptr, nullptr, nullptr};
    char family_name[64];
    bool chosen = false;
    for (int f = FAMILY_WGMMA; f <= FAMILY_PORTABLE && !chosen; ++f) {
        static const char *const family_names[] = {"wgmma", "mma", "mfma", "portable"};
        snprintf(family_name, sizeof family_name, "%s.%s", ELATTN_GPU_BACKEND_NAME, family_names[f]);
        if (family_excluded(forced, family_name)) continue;
        elattn_gpu_kernel_shape shape = {0, 0, 0, nullptr};
        const char *why = nullptr;
        bool ok = false;
        switch (f) {
        case FAMILY_WGMMA:
#if defined(ELATTN_GPU_HAVE_WGMMA)
            ok = desc->dtype != ELATTN_F32 && elattn_wgmma_attn_supported(desc, dev.sm_version, &shape, &why);
            if (desc->dtype == ELATTN_F32) why = "fp32 runs on the portable kernel";
#else
            why = "not in this build";
#endif
            break;
        case FAMILY_MMA:
#if defined(ELATTN_GPU_HAVE_MMA)
            ok = desc->dtype != ELATTN_F32 && elattn_mma_attn_supported(desc, dev.sm_version, &shape, &why);
            if (desc->dtype == ELATTN_F32) why = "fp32 runs on the portable kernel";
#else
            why = "not in this build";
#endif
            break;
        case FAMILY_MFMA:
#if defined(ELATTN_GPU_AMD)
            ok = mfma_attn_supported(desc, dev.arch, dev.wave, &shape, &why);
#else
            why = "AMD only";
#endif
            break;
        case FAMILY_PORTABLE:
            ok = portable_attn_supported(desc, dev.wave, dev.smem_per_block, &shape, &why);
            break;
        }
        if (!ok) {
            reasons[f] = why ? why : "not supported";
            continue;
        }
        snprintf(out->name, sizeof out->name, "%s.%s", ELATTN_GPU_BACKEND_NAME, shape.name);
        if (!name_matches(forced, out->name)) {
            reasons[f] = "its name does not start with the requested one";
            continue;
        }
        out->family = static_cast<attn_family>(f);
        out->shape = shape;
        chosen = true;
    }
    if (!chosen) {
        char detail[512] = "";
        size_t used = 0;
        for (int f = 0; f < 4; ++f)
            if (reasons[f] && used < sizeof detail) {
                static const char *const family_names[] = {"wgmma", "mma", "mfma", "portable"};
                used += (size_t)snprintf(detail + used, sizeof detail - used, "%s%s: %s", used ? "; " : "",
                                         family_names[f], reasons[f]);
            }
        if (forced && forced[0])
            return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.kernel: \"%s\" is not a %s kernel that can run this "
                               "descriptor on %s (%s)", forced, ELATTN_GPU_BACKEND_NAME, dev.arch,
                               used ? detail : "no kernel has that name");
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc: no %s kernel for this descriptor on %s (%s)",
                           ELATTN_GPU_BACKEND_NAME, dev.arch, detail);
    }
    /* Tile overrides: the GPU kernels have fixed shapes; any other value is refused, not ignored. */
    if (options->tile_m && options->tile_m != out->shape.tile_m)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_m: %d, but %s uses %d", options->tile_m, out->name,
                           out->shape.tile_m);
    if (options->tile_n && options->tile_n != out->shape.tile_n)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_n: %d, but %s uses %d", options->tile_n, out->name,
                           out->shape.tile_n);
    if (options->work_group_size)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.work_group_size: the %s kernels have a fixed block size",
                           ELATTN_GPU_BACKEND_NAME);
    return ELATTN_SUCCESS;
}

static elattn_status gpu_attn_plan(void *dev, const elattn_attn_desc *desc, const elattn_plan_options *options,
                                   elattn_backend_plan *plan)
{
    const device &d = *static_cast<device *>(dev);
    attn_plan *p = create<attn_plan>();
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    elattn_status st = select_attn_kernel(d, desc, options, p);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    p->wave = d.wave;
    p->max_items = elattn_worklist_max_items(desc, p->shape.tile_m, p->shape.per_kv_head);
    const size_t cu = sizeof(int32_t) * ((size_t)desc->batch + 1);
    p->off_cu_q = 0;
    p->off_cu_k = align_up(cu);
    p->off_modes = p->off_cu_k + align_up(cu);
    p->off_items = p->off_modes + align_up(sizeof(int32_t) * (size_t)desc->batch * desc->num_kv_heads);
    p->bytes = p->off_items + sizeof(elattn_work_item) * p->max_items;
    plan->impl = p;
    plan->kernel_name = p->name;
    plan->workspace_bytes = p->bytes;
    return ELATTN_SUCCESS;
}

static void gpu_attn_plan_destroy(void *dev, void *impl)
{
    (void)dev;
    free(impl);
}

static elattn_status gpu_attn_run(void *dev, const void *impl, void *stream, const elattn_attn_call *call)
{
    const attn_plan &p = *static_cast<const attn_plan *>(impl);
    const elattn_attn_desc *desc = call->desc;
    elattn_status st;
    if ((st = check_aligned("args.q", call->q)) || (st = check_aligned("args.k", call->k)) ||
        (st = check_aligned("args.v", call->v)) || (st = check_aligned("args.o", call->o)))
        return st;
    USE(dev);

    staging meta;
    if ((st = meta.reserve(p.bytes))) return st;
    const size_t cu = sizeof(int32_t) * ((size_t)desc->batch + 1);
    memcpy(meta.at<int32_t>(p.off_cu_q), call->cu_seqlens_q, cu);
    memcpy(meta.at<int32_t>(p.off_cu_k), call->cu_seqlens_k, cu);
    memcpy(meta.at<int32_t>(p.off_modes), call->modes, sizeof(int32_t) * (size_t)desc->batch * desc->num_kv_heads);
    const int n = elattn_worklist_build(call, p.shape.tile_m, p.shape.tile_n, p.shape.per_kv_head,
                                        meta.at<elattn_work_item>(p.off_items));
    if (n < 0) return ELATTN_ERROR_OUT_OF_MEMORY; /* message set by the schedule */
    if (n == 0) return ELATTN_SUCCESS;            /* no query rows at all */
    const cudaStream_t s = as_stream(stream);
    if ((st = upload_meta(call->workspace, meta, p.off_items + sizeof(elattn_work_item) * (size_t)n, s))) return st;

    char *ws = static_cast<char *>(call->workspace);
    elattn_gpu_attn_inputs in;
    memset(&in, 0, sizeof in);
    in.params = call->params;
    in.q = call->q;
    in.k = call->k;
    in.v = call->v;
    in.o = call->o;
    in.lse = static_cast<float *>(call->lse);
    in.cu_seqlens_q = reinterpret_cast<const int32_t *>(ws + p.off_cu_q);
    in.cu_seqlens_k = reinterpret_cast<const int32_t *>(ws + p.off_cu_k);
    in.modes = reinterpret_cast<const int32_t *>(ws + p.off_modes);
    in.block_mask = static_cast<const uint8_t *>(call->block_mask);
    in.items = reinterpret_cast<const elattn_work_item *>(ws + p.off_items);
    in.num_items = n;
    in.tile_m = p.shape.tile_m;
    in.tile_n = p.shape.tile_n;

    cudaError_t e = cudaErrorInvalidValue;
    switch (p.family) {
    case FAMILY_WGMMA:
#if defined(ELATTN_GPU_HAVE_WGMMA)
        e = elattn_wgmma_attn_launch(&in, s);
#endif
        break;
    case FAMILY_MMA:
#if defined(ELATTN_GPU_HAVE_MMA)
        e = elattn_mma_attn_launch(&in, s);
#endif
        break;
    case FAMILY_MFMA:
#if defined(ELATTN_GPU_AMD)
        e = mfma_attn_launch(&in, s);
#endif
        break;
    case FAMILY_PORTABLE: e = portable_attn_launch(&in, p.wave, s); break;
    }
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (attention)");
    return ELATTN_SUCCESS;
}

/* ---- XAttention --------------------------------------------------------------------------------- */
struct xattn_plan {
    bool use_mma;
    int wave;
    int mma_ctas; /* persistent grid of the mma estimation kernel */
    char name[96];
    size_t off_cu_q, off_cu_k, off_modes, off_taus, meta_bytes, off_table, off_scratch, bytes;
};

static elattn_status gpu_xattn_plan(void *dev, const elattn_xattn_desc *desc, const elattn_plan_options *options,
                                    elattn_backend_plan *plan)
{
    const device &d = *static_cast<device *>(dev);
    USE(dev); /* the mma kernel's occupancy is read on this device */
    const char *forced = options->kernel;
    const char *why_mma = "not in this build";
    bool mma_ok = false;
#if defined(ELATTN_GPU_HAVE_XATTN_MMA)
    mma_ok = elattn_mma_xattn_supported(desc, d.sm_version, d.smem_per_block, &why_mma);
#endif
    char mma_name[96], portable_name[96];
    snprintf(mma_name, sizeof mma_name, "%s.xattn.mma", ELATTN_GPU_BACKEND_NAME);
    snprintf(portable_name, sizeof portable_name, "%s.xattn.portable.w%d", ELATTN_GPU_BACKEND_NAME, d.wave);
    bool use_mma;
    if (mma_ok && name_matches(forced, mma_name)) use_mma = true;
    else if (name_matches(forced, portable_name)) use_mma = false;
    else if (!family_excluded(forced, mma_name))
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.kernel: \"%s\" cannot run this descriptor (%s)", forced,
                           why_mma ? why_mma : "not supported");
    else
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.kernel: the %s backend has no XAttention kernel \"%s\"",
                           ELATTN_GPU_BACKEND_NAME, forced);
    if (options->tile_m || options->tile_n || options->work_group_size)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options: the %s XAttention kernels take no tile overrides",
                           ELATTN_GPU_BACKEND_NAME);

    xattn_plan *p = create<xattn_plan>();
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    p->use_mma = use_mma;
    p->wave = d.wave;
    snprintf(p->name, sizeof p->name, "%s", use_mma ? mma_name : portable_name);
    const size_t cu = sizeof(int32_t) * ((size_t)desc->batch + 1);
    const size_t qblocks = ((size_t)desc->max_seqlen_q + desc->block_size - 1) / desc->block_size;
    const size_t kblocks = ((size_t)desc->max_seqlen_k + desc->block_size - 1) / desc->block_size;
    p->off_cu_q = 0;
    p->off_cu_k = align_up(cu);
    p->off_modes = p->off_cu_k + align_up(cu);
    p->off_taus = p->off_modes + align_up(sizeof(int32_t) * (size_t)desc->batch * desc->num_kv_heads);
    p->meta_bytes = p->off_taus + sizeof(float) * (size_t)desc->num_kv_heads;
    p->off_table = align_up(p->meta_bytes);
    p->off_scratch = p->off_table + align_up(sizeof(float) * (size_t)desc->batch * desc->num_kv_heads * qblocks * kblocks);
    size_t scratch = 0;
#if defined(ELATTN_GPU_HAVE_XATTN_MMA)
    if (use_mma) {
        p->mma_ctas = elattn_mma_xattn_ctas(desc, d.sm_count);
        scratch = elattn_mma_xattn_scratch_bytes(desc, p->mma_ctas);
    }
#endif
    p->bytes = p->off_scratch + scratch;
    plan->impl = p;
    plan->kernel_name = p->name;
    plan->workspace_bytes = p->bytes;
    return ELATTN_SUCCESS;
}

static void gpu_xattn_plan_destroy(void *dev, void *impl)
{
    (void)dev;
    free(impl);
}

static elattn_status gpu_xattn_run(void *dev, const void *impl, void *stream, const elattn_xattn_call *call)
{
    const xattn_plan &p = *static_cast<const xattn_plan *>(impl);
    const elattn_xattn_desc *desc = call->desc;
    elattn_status st;
    if ((st = check_aligned("args.q", call->q)) || (st = check_aligned("args.k", call->k))) return st;
    USE(dev);
    const int entries = desc->batch * desc->num_kv_heads;
    bool any = false;
    for (int i = 0; i < entries; ++i) any |= call->modes[i] == ELATTN_MODE_BLOCK_SPARSE;
    if (!any) return ELATTN_SUCCESS; /* masks of other heads are left as they were */

    staging meta;
    if ((st = meta.reserve(p.meta_bytes))) return st;
    const size_t cu = sizeof(int32_t) * ((size_t)desc->batch + 1);
    memcpy(meta.at<int32_t>(p.off_cu_q), call->cu_seqlens_q, cu);
    memcpy(meta.at<int32_t>(p.off_cu_k), call->cu_seqlens_k, cu);
    memcpy(meta.at<int32_t>(p.off_modes), call->modes, sizeof(int32_t) * (size_t)entries);
    memcpy(meta.at<float>(p.off_taus), call->thresholds, sizeof(float) * (size_t)desc->num_kv_heads);
    const cudaStream_t s = as_stream(stream);
    if ((st = upload_meta(call->workspace, meta, p.meta_bytes, s))) return st;

    char *ws = static_cast<char *>(call->workspace);
    elattn_gpu_xattn_inputs in;
    memset(&in, 0, sizeof in);
    in.desc = desc;
    in.q = call->q;
    in.k = call->k;
    in.cu_seqlens_q = reinterpret_cast<const int32_t *>(ws + p.off_cu_q);
    in.cu_seqlens_k = reinterpret_cast<const int32_t *>(ws + p.off_cu_k);
    in.modes = reinterpret_cast<const int32_t *>(ws + p.off_modes);
    for (int b = 0; b < desc->batch; ++b) {
        const int lq = call->cu_seqlens_q[b + 1] - call->cu_seqlens_q[b];
        const int lk = call->cu_seqlens_k[b + 1] - call->cu_seqlens_k[b];
        if (lq > in.max_len_q) in.max_len_q = lq;
        if (lk > in.max_len_k) in.max_len_k = lk;
    }
    in.mask_qblocks = call->mask_qblocks;
    in.mask_kblocks = call->mask_kblocks;
    in.block_scores = reinterpret_cast<float *>(ws + p.off_table);
    in.scratch = ws + p.off_scratch;

    cudaError_t e = cudaErrorInvalidValue;
#if defined(ELATTN_GPU_HAVE_XATTN_MMA)
    if (p.use_mma) e = elattn_mma_xattn_estimate(&in, p.mma_ctas, s);
    else
#endif
        e = xattn_portable_estimate(&in, p.wave, s);
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (XAttention estimation)");
    e = xattn_select(&in, reinterpret_cast<const float *>(ws + p.off_taus), static_cast<uint8_t *>(call->block_mask),
                     p.wave, s);
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (XAttention selection)");
    return ELATTN_SUCCESS;
}

/* ---- router ----------------------------------------------------------------------------------------- */
struct router_plan {
    int wave;
    char name[96];
    size_t off_cu, off_modes, bytes;
};

static elattn_status gpu_router_plan(void *dev, const elattn_router_desc *desc, const elattn_plan_options *options,
                                     elattn_backend_plan *plan)
{
    const device &d = *static_cast<device *>(dev);
    char name[96];
    snprintf(name, sizeof name, "%s.router.w%d", ELATTN_GPU_BACKEND_NAME, d.wave);
    if (!name_matches(options->kernel, name))
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.kernel: the %s backend has no router kernel \"%s\"",
                           ELATTN_GPU_BACKEND_NAME, options->kernel);
    if (options->tile_m || options->tile_n || options->work_group_size)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options: the %s router kernel takes no tile overrides",
                           ELATTN_GPU_BACKEND_NAME);
    if (router_smem_bytes(desc) > d.smem_per_block)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc.hidden: %d needs %zu bytes of shared memory, %s has %zu",
                           desc->hidden, router_smem_bytes(desc), d.arch, d.smem_per_block);
    router_plan *p = create<router_plan>();
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    p->wave = d.wave;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->off_cu = 0;
    p->off_modes = align_up(sizeof(int32_t) * ((size_t)desc->batch + 1));
    p->bytes = p->off_modes + sizeof(int32_t) * (size_t)desc->batch * desc->num_kv_heads;
    plan->impl = p;
    plan->kernel_name = p->name;
    plan->workspace_bytes = p->bytes;
    return ELATTN_SUCCESS;
}

static void gpu_router_plan_destroy(void *dev, void *impl)
{
    (void)dev;
    free(impl);
}

static elattn_status gpu_router_run(void *dev, const void *impl, void *stream, const elattn_router_call *call)
{
    const router_plan &p = *static_cast<const router_plan *>(impl);
    const elattn_router_desc *desc = call->desc;
    elattn_status st;
    USE(dev);
    staging meta;
    if ((st = meta.reserve(p.off_modes))) return st;
    memcpy(meta.at<int32_t>(p.off_cu), call->cu_seqlens, sizeof(int32_t) * ((size_t)desc->batch + 1));
    const cudaStream_t s = as_stream(stream);
    if ((st = upload_meta(call->workspace, meta, p.off_modes, s))) return st;

    char *ws = static_cast<char *>(call->workspace);
    router_inputs in;
    in.desc = desc;
    in.keys = call->keys;
    in.cu_seqlens = reinterpret_cast<const int32_t *>(ws + p.off_cu);
    in.task_w1 = static_cast<const float *>(call->task_w1);
    in.task_b1 = static_cast<const float *>(call->task_b1);
    in.task_w2 = static_cast<const float *>(call->task_w2);
    in.task_b2 = static_cast<const float *>(call->task_b2);
    in.head_w1 = static_cast<const float *>(call->head_w1);
    in.head_b1 = static_cast<const float *>(call->head_b1);
    in.head_w2 = static_cast<const float *>(call->head_w2);
    in.head_b2 = static_cast<const float *>(call->head_b2);
    in.head_w3 = static_cast<const float *>(call->head_w3);
    in.head_b3 = static_cast<const float *>(call->head_b3);
    in.logits = static_cast<float *>(call->logits);
    in.modes = reinterpret_cast<int32_t *>(ws + p.off_modes);
    cudaError_t e = router_launch(&in, p.wave, s);
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (router)");
    /* Only the decisions come back, and the call waits for them. */
    RT(cudaMemcpyAsync(call->modes, in.modes, sizeof(int32_t) * (size_t)desc->batch * desc->num_kv_heads,
                       cudaMemcpyDeviceToHost, s),
       "MemcpyAsync");
    RT(cudaStreamSynchronize(s), "StreamSynchronize");
    return ELATTN_SUCCESS;
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
    ELATTN_GPU_NS::gpu_xattn_plan,
    ELATTN_GPU_NS::gpu_xattn_plan_destroy,
    ELATTN_GPU_NS::gpu_xattn_run,
    ELATTN_GPU_NS::gpu_router_plan,
    ELATTN_GPU_NS::gpu_router_plan_destroy,
    ELATTN_GPU_NS::gpu_router_run,
};
#endif

/*
 * The GPU backends' host code (internal): one source for two backends,
 *   nvcc                          -> elattn_cuda_backend (CUDA runtime)
 *   hipcc -DELATTN_HIP            -> elattn_hip_backend on AMD
 *   nvcc -DELATTN_HIP -DELATTN_HIP_ON_NVIDIA
 *                                 -> elattn_hip_backend on NVIDIA, through
 *                                    kernels/gpu/vendor/hip_to_cuda.h
 *   c++ -DELATTN_HIP -DELATTN_HIP_ON_CPU
 *                                 -> elattn_hip_backend emulated on the CPU,
 *                                    through kernels/gpu/vendor/hip_on_cpu.h
 * Written in CUDA runtime names (vendor.h maps them). Everything but the ops
 * table lives in the namespace of the build (elattn_cuda or elattn_hip), so
 * both backends link into one library.
 *
 * Files: gpu_device.cu (devices, streams, memory, events, the ops table),
 * gpu_attn.cu, gpu_xattn.cu, gpu_router.cu, gpu_decode.cu (plans and runs
 * over the family tables); the kernels are compiled in gpu_kernels.cu (every
 * build), gpu_mma.cu and gpu_wgmma.cu (CUDA only).
 */
#ifndef ELATTN_GPU_INTERNAL_H
#define ELATTN_GPU_INTERNAL_H

#include "vendor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "launch.h"

namespace ELATTN_GPU_NS {

#if defined(ELATTN_HIP)
#  define ELATTN_GPU_API_PREFIX "hip"
#else
#  define ELATTN_GPU_API_PREFIX "cuda"
#endif

/* A runtime error as ELATTN_ERROR_BACKEND (or OUT_OF_MEMORY) naming the call. */
elattn_status runtime_failure(cudaError_t e, const char *call);

/* RT(cudaMalloc(...), "Malloc"): the name without prefix, so messages say
 * hipMalloc in the HIP build. */
#define RT(expr, name)                                                                                        \
    do {                                                                                                      \
        cudaError_t rt_err_ = (expr);                                                                         \
        if (rt_err_ != cudaSuccess) return runtime_failure(rt_err_, name);                                    \
    } while (0)

/* Plans and devices are plain structs; calloc keeps the backend free of the C++ runtime. */
template <typename T> static T *create() { return static_cast<T *>(calloc(1, sizeof(T))); }

/* A workspace layout: regions placed one after another, each starting at a
 * multiple of 256 bytes. The sizes come from caller values, so every step is
 * checked (api/src/checked_size.h): an overflow makes the layout invalid
 * instead of wrapping, and the plan refuses the descriptor. */
struct ws_layout {
    size_t end = 0;
    bool ok = true;
    /* Places count1 * count2 items of `size` bytes; returns the region's offset. */
    size_t place(size_t count1, size_t count2, size_t size)
    {
        size_t bytes = 0, start = 0, end_now = 0;
        ok = ok && elattn_size_mul3(count1, count2, size, &bytes) && elattn_size_add(end, 255, &start);
        start = start / 256 * 256;
        ok = ok && elattn_size_add(start, bytes, &end_now);
        if (ok) end = end_now;
        return start;
    }
};
/* The failure of a layout that did not fit: INVALID_ARGUMENT naming the descriptor. */
elattn_status layout_overflow(const char *what);

struct device {
    int ordinal;
    gpu_caps caps;
    cudaStream_t stream; /* the default stream: 0, or the engine's (elattn_device_from_cuda/hip) */
};

/* Every entry point makes the device current on the calling thread first. */
elattn_status use_device(void *dev);
#define USE(dev)                                                                                              \
    do {                                                                                                      \
        elattn_status use_st_ = use_device(dev);                                                              \
        if (use_st_ != ELATTN_SUCCESS) return use_st_;                                                        \
    } while (0)

static inline cudaStream_t as_stream(void *s) { return static_cast<cudaStream_t>(s); }

/* ---- metadata upload ------------------------------------------------------------------------
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
    /* n bytes, the first `zeroed` of them cleared (all unless told: a caller that writes the
     * rest itself saves clearing it) */
    elattn_status reserve(size_t n, size_t zeroed = SIZE_MAX)
    {
        host = static_cast<char *>(malloc(n ? n : 1));
        bytes = n;
        if (!host)
            return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "workspace staging: host allocation of %zu bytes failed", n);
        memset(host, 0, zeroed < n ? zeroed : n);
        return ELATTN_SUCCESS;
    }
    template <typename T> T *at(size_t offset) { return reinterpret_cast<T *>(host + offset); }
};
elattn_status upload_meta(void *workspace, const staging &st, size_t bytes, cudaStream_t stream);

/* The same upload for a plan that owns its workspace (decode), without the pageable copy's
 * host wait: the staging is pinned and owned by the plan, in SLOTS slots used in turn, each with
 * an event recorded after the copy that reads it. A run takes the next slot once that event has
 * passed (at once unless the host is SLOTS runs ahead of the stream), so a plan run again before
 * the device caught up never overwrites bytes a queued copy has still to read. */
struct pinned_staging {
    enum { SLOTS = 4 };
    char *host;                 /* SLOTS x bytes, pinned */
    size_t bytes;
    cudaEvent_t copied[SLOTS];  /* nullptr until created */
    int next;
    elattn_status create(size_t slot_bytes);
    void destroy();             /* waits for the copies still queued */
    /* The slot this run fills (laid out like the workspace's prefix). */
    elattn_status acquire(char **slot);
    /* Copies the first `used` bytes of the acquired slot to `workspace` on `stream`. */
    elattn_status upload(void *workspace, size_t used, cudaStream_t stream);
};

/* An attention batch (gpu_attn.cu): lengths and work list (costed as FULL) in device memory of
 * its own, laid out as the plan's workspace prefix; runs point the kernels at it instead of
 * uploading (the router reads its cu_seqlens_k). */
struct attn_batch {
    char *mem; /* device: cu_q at off_cu_q, cu_k at off_cu_k, items at off_items of the plan */
    size_t off_cu_q, off_cu_k, off_items;
    int n;
};

/* Every kernel moves 16 bytes at a time. */
elattn_status check_aligned(const char *name, const void *p);

/* The ops of the plan/run files, for the ops table in gpu_device.cu. */
elattn_status gpu_attn_plan(void *dev, const elattn_attn_desc *desc, const elattn_plan_options *options,
                            elattn_backend_plan *plan);
void gpu_attn_plan_destroy(void *dev, void *impl);
elattn_status gpu_attn_run(void *dev, const void *impl, void *stream, const elattn_attn_call *call);
elattn_status gpu_attn_batch_create(void *dev, const void *impl, const elattn_attn_call *call, void **batch);
void gpu_attn_batch_destroy(void *dev, void *batch);
elattn_status gpu_xattn_plan(void *dev, const elattn_xattn_desc *desc, const elattn_plan_options *options,
                             elattn_backend_plan *plan);
void gpu_xattn_plan_destroy(void *dev, void *impl);
elattn_status gpu_xattn_run(void *dev, const void *impl, void *stream, const elattn_xattn_call *call);
elattn_status gpu_router_plan(void *dev, const elattn_router_desc *desc, const elattn_plan_options *options,
                              elattn_backend_plan *plan);
void gpu_router_plan_destroy(void *dev, void *impl);
elattn_status gpu_router_run(void *dev, const void *impl, void *stream, const elattn_router_call *call);
elattn_status gpu_merge_run(void *dev, void *stream, const elattn_merge_call *call);
elattn_status gpu_decode_plan(void *dev, elattn_decode_setup *setup, const char *forced, void **impl, char *name,
                              size_t name_n);
void gpu_decode_plan_destroy(void *dev, void *impl);
elattn_status gpu_decode_run(void *dev, const void *impl, void *stream, const elattn_decode_call *call);
elattn_status gpu_decode_batch_create(void *dev, const void *impl, const elattn_decode_call *call, void **batch);
void gpu_decode_batch_destroy(void *dev, void *batch);
elattn_status gpu_kv_summarize(void *dev, void *stream, const elattn_kv_summary_call *call);

/* The families of each operation (the tables live in gpu_attn.cu, ...): up to
 * max names into `names`; returns how many there are. */
int gpu_attn_families(const char **names, int max);
int gpu_xattn_families(const char **names, int max);
int gpu_router_families(const char **names, int max);
int gpu_decode_families(const char **names, int max);

/* A family table's names, for elattn_family_select and the listing. */
template <class Family, int N>
static int family_names(const Family (&table)[N], const char **names, int max)
{
    for (int i = 0; i < N && i < max; ++i) names[i] = table[i].name;
    return N;
}

/* The one selection (elattn_family_select) over a family table of launch.h:
 * each Family has a full `name` and supported(desc, caps, &choice, &why), each
 * Choice a `variant`. Returns the family's index with *choice filled and the
 * kernel name in `name`, or -1 with the message set. */
template <class Family, class Desc, class Choice>
struct family_probe_ctx {
    const Family *table;
    const Desc *desc;
    const gpu_caps *caps;
    Choice choice;
};

template <class Family, class Desc, class Choice>
static int family_probe(void *ctx, int index, char *variant, size_t variant_n, const char **why)
{
    auto &c = *static_cast<family_probe_ctx<Family, Desc, Choice> *>(ctx);
    memset(&c.choice, 0, sizeof c.choice);
    if (!c.table[index].supported(c.desc, *c.caps, &c.choice, why)) return 0;
    snprintf(variant, variant_n, "%s", c.choice.variant.text);
    return 1;
}

template <class Family, int N, class Desc, class Choice>
static int select_family(const Family (&table)[N], const Desc *desc, const gpu_caps &caps, const char *forced,
                         int head_dim, elattn_dtype dtype, Choice *choice, char *name, size_t name_n)
{
    const char *names[N];
    family_names(table, names, N);
    family_probe_ctx<Family, Desc, Choice> ctx;
    ctx.table = table;
    ctx.desc = desc;
    ctx.caps = &caps;
    const int f = elattn_family_select(names, N, forced, head_dim, dtype, caps.arch, family_probe<Family, Desc, Choice>,
                                       &ctx, name, name_n);
    if (f >= 0) *choice = ctx.choice;
    return f;
}

/* Tile overrides: the GPU kernels have fixed shapes. A nonzero tile_m / tile_n
 * is accepted only when it is what `kernel` uses (0 there: it has no such
 * tile); work_group_size is never accepted. */
elattn_status check_tile_options(const elattn_plan_options *options, const char *kernel, int tile_m, int tile_n);

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_INTERNAL_H */

/*
 * Fused hybrid attention on the GPU backends: the ordered family table, plans
 * (the family chosen once, at plan time) and runs (metadata and the work list
 * uploaded into the caller's workspace, then one launch for all heads).
 */
#include "gpu_internal.h"

#include "worklist.h"

namespace ELATTN_GPU_NS {

/* The families, in the order they are tried: the first that can run a
 * descriptor wins. The tensor-core families exist in the CUDA build, MFMA in
 * AMD builds; the portable kernel runs everything, everywhere. */
static const attn_family attn_families[] = {
#if defined(ELATTN_GPU_WGMMA)
    {ELATTN_GPU_BACKEND_NAME ".attn.wgmma", wgmma_attn_supported, wgmma_attn_launch},
#endif
#if defined(ELATTN_GPU_CUDA)
    {ELATTN_GPU_BACKEND_NAME ".attn.mma", mma_attn_supported, mma_attn_launch},
#endif
#if defined(ELATTN_GPU_AMD)
    {ELATTN_GPU_BACKEND_NAME ".attn.mfma", mfma_attn_supported, mfma_attn_launch},
#endif
    {ELATTN_GPU_BACKEND_NAME ".attn.portable", portable_attn_supported, portable_attn_launch},
};

int gpu_attn_families(const char **names, int max) { return family_names(attn_families, names, max); }

struct attn_plan {
    const attn_family *family;
    attn_choice choice;
    gpu_caps caps;
    char name[128];
    size_t max_items;
    size_t off_cu_q, off_cu_k, off_modes, off_table, off_items, off_schedule, bytes;
};

elattn_status gpu_attn_plan(void *dev, const elattn_attn_desc *desc, const elattn_plan_options *options,
                            elattn_backend_plan *plan)
{
    const device &d = *static_cast<device *>(dev);
    USE(dev); /* families may read the device (its code image, occupancy) */
    attn_plan *p = create<attn_plan>();
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    const int f = select_family(attn_families, desc, d.caps, options->kernel, desc->head_dim, desc->dtype, &p->choice,
                                p->name, sizeof p->name);
    elattn_status st = f < 0 ? ELATTN_ERROR_UNSUPPORTED
                             : check_tile_options(options, p->name, p->choice.tile_m, p->choice.tile_n);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    p->family = &attn_families[f];
    p->caps = d.caps;
    p->max_items = elattn_worklist_max_items(desc, p->choice.tile_m, p->choice.per_kv_head);
    ws_layout ws;
    p->off_cu_q = ws.place((size_t)desc->batch + 1, 1, sizeof(int32_t));
    p->off_cu_k = ws.place((size_t)desc->batch + 1, 1, sizeof(int32_t));
    p->off_modes = ws.place((size_t)desc->batch, (size_t)desc->num_kv_heads, sizeof(int32_t));
    /* paged K/V: the block table (0 entries when not paged) */
    p->off_table = ws.place((size_t)desc->batch, desc->page_size ? (size_t)desc->max_pages_per_seq : 0,
                            sizeof(int32_t));
    p->off_items = ws.place(p->max_items, 1, sizeof(elattn_work_item));
    /* written by the launch, so after the prefix that stage_meta uploads */
    p->off_schedule = ws.place(ELATTN_SCHEDULE_INTS(p->caps.sm_count > 0 ? p->caps.sm_count : 1), 1, sizeof(int32_t));
    p->bytes = ws.end;
    if (!ws.ok) {
        free(p);
        return layout_overflow("attention");
    }
    plan->impl = p;
    plan->kernel_name = p->name;
    plan->workspace_bytes = p->bytes;
    return ELATTN_SUCCESS;
}

void gpu_attn_plan_destroy(void *dev, void *impl)
{
    (void)dev;
    free(impl);
}

/* The lengths, mode table (when on the host) and work list, staged as the workspace's prefix:
 * only the bytes that are uploaded (the call's items, not the plan's max_items), and only the
 * part before the work list cleared (the build writes every item). */
static elattn_status stage_meta(const attn_plan &p, const elattn_attn_call *call, staging &meta, int *n)
{
    const elattn_attn_desc *desc = call->desc;
    elattn_status st;
    const size_t items = elattn_worklist_items(call, p.choice.tile_m, p.choice.per_kv_head);
    if (items > p.max_items) /* the lengths were checked against the descriptor: not reached */
        return elattn_fail(ELATTN_ERROR_INTERNAL, "attention: %zu work items for a plan of %zu", items, p.max_items);
    if ((st = meta.reserve(p.off_items + sizeof(elattn_work_item) * items, p.off_items))) return st;
    const size_t cu = sizeof(int32_t) * ((size_t)desc->batch + 1);
    memcpy(meta.at<int32_t>(p.off_cu_q), call->cu_seqlens_q, cu);
    memcpy(meta.at<int32_t>(p.off_cu_k), call->cu_seqlens_k, cu);
    if (call->modes)
        memcpy(meta.at<int32_t>(p.off_modes), call->modes, sizeof(int32_t) * (size_t)desc->batch * desc->num_kv_heads);
    if (call->block_table)
        memcpy(meta.at<int32_t>(p.off_table), call->block_table,
               sizeof(int32_t) * (size_t)desc->batch * (size_t)desc->max_pages_per_seq);
    *n = elattn_worklist_build(call, p.choice.tile_m, p.choice.tile_n, p.choice.per_kv_head,
                               meta.at<elattn_work_item>(p.off_items));
    return *n < 0 ? ELATTN_ERROR_OUT_OF_MEMORY : ELATTN_SUCCESS; /* message set by the work list */
}

elattn_status gpu_attn_batch_create(void *dev, const void *impl, const elattn_attn_call *call, void **out)
{
    const attn_plan &p = *static_cast<const attn_plan *>(impl);
    USE(dev);
    attn_batch *b = create<attn_batch>();
    if (!b) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "batch: host allocation failed");
    staging meta;
    elattn_status st = stage_meta(p, call, meta, &b->n);
    const size_t bytes = p.off_items + sizeof(elattn_work_item) * (size_t)(b->n > 0 ? b->n : 0);
    void *pinned = nullptr;
    cudaError_t e = cudaSuccess;
    /* pinned staging: a true asynchronous DMA, then one wait; the batch is made once */
    if (st == ELATTN_SUCCESS && (e = cudaMallocHost(&pinned, bytes)) == cudaSuccess) {
        memcpy(pinned, meta.host, bytes);
        void *mem = nullptr;
        if ((e = cudaMalloc(&mem, bytes)) == cudaSuccess) {
            b->mem = static_cast<char *>(mem);
            const cudaStream_t s = static_cast<device *>(dev)->stream;
            e = cudaMemcpyAsync(b->mem, pinned, bytes, cudaMemcpyHostToDevice, s);
            if (e == cudaSuccess) e = cudaStreamSynchronize(s);
        }
        cudaFreeHost(pinned);
    }
    if (st == ELATTN_SUCCESS && e != cudaSuccess) st = runtime_failure(e, "batch upload");
    if (st != ELATTN_SUCCESS) {
        if (b->mem) cudaFree(b->mem);
        free(b);
        return st;
    }
    b->off_cu_q = p.off_cu_q;
    b->off_cu_k = p.off_cu_k;
    b->off_items = p.off_items;
    *out = b;
    return ELATTN_SUCCESS;
}

void gpu_attn_batch_destroy(void *dev, void *batch)
{
    attn_batch *b = static_cast<attn_batch *>(batch);
    if (!b) return;
    if (use_device(dev) == ELATTN_SUCCESS && b->mem) cudaFree(b->mem); /* waits for the work that used it */
    free(b);
}

elattn_status gpu_attn_run(void *dev, const void *impl, void *stream, const elattn_attn_call *call)
{
    const attn_plan &p = *static_cast<const attn_plan *>(impl);
    const elattn_attn_desc *desc = call->desc;
    elattn_status st;
    if ((st = check_aligned("args.q", call->q)) || (st = check_aligned("args.k", call->k)) ||
        (st = check_aligned("args.v", call->v)) || (st = check_aligned("args.o", call->o)))
        return st;
    USE(dev);
    const cudaStream_t s = as_stream(stream);
    char *ws = static_cast<char *>(call->workspace);
    const char *meta_at = ws; /* where the lengths and the work list are: the workspace, or the batch */
    const attn_batch *batch = static_cast<const attn_batch *>(call->batch);
    int n;
    if (batch) {
        n = batch->n;
        meta_at = batch->mem;
        if (call->modes) { /* host modes with a batch: the one upload left (device modes: none) */
            const size_t bytes = sizeof(int32_t) * (size_t)desc->batch * desc->num_kv_heads;
            staging modes;
            if ((st = modes.reserve(bytes))) return st;
            memcpy(modes.host, call->modes, bytes);
            if ((st = upload_meta(ws + p.off_modes, modes, bytes, s))) return st;
        }
        if (call->block_table) { /* paged K/V: the block table is per run, not part of the batch */
            const size_t bytes = sizeof(int32_t) * (size_t)desc->batch * (size_t)desc->max_pages_per_seq;
            staging table;
            if ((st = table.reserve(bytes))) return st;
            memcpy(table.host, call->block_table, bytes);
            if ((st = upload_meta(ws + p.off_table, table, bytes, s))) return st;
        }
    } else {
        staging meta;
        if ((st = stage_meta(p, call, meta, &n))) return st;
        if (n > 0 && (st = upload_meta(call->workspace, meta, p.off_items + sizeof(elattn_work_item) * (size_t)n, s)))
            return st;
    }
    if (n == 0) return ELATTN_SUCCESS; /* no query rows at all */

    attn_inputs in;
    memset(&in, 0, sizeof in);
    in.params = call->params;
    in.q = call->q;
    in.k = call->k;
    in.v = call->v;
    in.o = call->o;
    in.lse = static_cast<float *>(call->lse);
    in.cu_seqlens_q = reinterpret_cast<const int32_t *>(meta_at + p.off_cu_q);
    in.cu_seqlens_k = reinterpret_cast<const int32_t *>(meta_at + p.off_cu_k);
    in.modes = call->modes_device ? static_cast<const int32_t *>(call->modes_device)
                                  : reinterpret_cast<const int32_t *>(ws + p.off_modes);
    in.block_mask = static_cast<const uint8_t *>(call->block_mask);
    in.block_table = call->block_table ? reinterpret_cast<const int32_t *>(ws + p.off_table) : nullptr;
    in.items = reinterpret_cast<const elattn_work_item *>(meta_at + p.off_items);
    in.num_items = n;
    in.schedule = reinterpret_cast<int32_t *>(ws + p.off_schedule);
    in.choice = p.choice;
    const cudaError_t e = p.family->launch(in, p.caps, s);
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (attention)");
    return ELATTN_SUCCESS;
}

} /* namespace ELATTN_GPU_NS */

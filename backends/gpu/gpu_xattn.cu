/*
 * XAttention block selection on the GPU backends: the ordered table of
 * estimation families, then the one selection kernel (xattn.cuh) for all.
 * Workspace: metadata (cu_seqlens, modes, thresholds), the block-score
 * table, then the estimation family's scratch.
 */
#include "gpu_internal.h"

namespace ELATTN_GPU_NS {

static const xattn_family xattn_families[] = {
#if defined(ELATTN_GPU_WGMMA)
    {ELATTN_GPU_BACKEND_NAME ".xattn.wgmma", wgmma_xattn_supported, wgmma_xattn_estimate},
#endif
#if defined(ELATTN_GPU_CUDA)
    {ELATTN_GPU_BACKEND_NAME ".xattn.mma", mma_xattn_supported, mma_xattn_estimate},
#endif
    {ELATTN_GPU_BACKEND_NAME ".xattn.portable", portable_xattn_supported, portable_xattn_estimate},
};

int gpu_xattn_families(const char **names, int max) { return family_names(xattn_families, names, max); }

struct xattn_plan {
    const xattn_family *family;
    xattn_choice choice;
    gpu_caps caps;
    char name[128];
    size_t off_cu_q, off_cu_k, off_modes, off_taus, meta_bytes, off_table, off_scratch, bytes;
};

elattn_status gpu_xattn_plan(void *dev, const elattn_xattn_desc *desc, const elattn_plan_options *options,
                             elattn_backend_plan *plan)
{
    const device &d = *static_cast<device *>(dev);
    USE(dev); /* the mma family reads its occupancy on this device */
    xattn_plan *p = create<xattn_plan>();
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    const int f = select_family(xattn_families, desc, d.caps, options->kernel, desc->head_dim, desc->dtype, &p->choice,
                                p->name, sizeof p->name);
    elattn_status st = f < 0 ? ELATTN_ERROR_UNSUPPORTED : check_tile_options(options, p->name, 0, 0);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    p->family = &xattn_families[f];
    p->caps = d.caps;
    const size_t qblocks = ((size_t)desc->max_seqlen_q + desc->block_size - 1) / desc->block_size;
    const size_t kblocks = ((size_t)desc->max_seqlen_k + desc->block_size - 1) / desc->block_size;
    size_t cells = 0;
    ws_layout ws;
    ws.ok = elattn_size_mul3((size_t)desc->batch * desc->num_kv_heads, qblocks, kblocks, &cells);
    p->off_cu_q = ws.place((size_t)desc->batch + 1, 1, sizeof(int32_t));
    p->off_cu_k = ws.place((size_t)desc->batch + 1, 1, sizeof(int32_t));
    p->off_modes = ws.place((size_t)desc->batch, (size_t)desc->num_kv_heads, sizeof(int32_t));
    p->off_taus = ws.place((size_t)desc->num_kv_heads, 1, sizeof(float));
    p->meta_bytes = ws.end;
    p->off_table = ws.place(cells, 1, sizeof(float));
    p->off_scratch = ws.place(p->choice.scratch_bytes, 1, 1);
    p->bytes = ws.end;
    if (!ws.ok) {
        free(p);
        return layout_overflow("XAttention");
    }
    plan->impl = p;
    plan->kernel_name = p->name;
    plan->workspace_bytes = p->bytes;
    return ELATTN_SUCCESS;
}

void gpu_xattn_plan_destroy(void *dev, void *impl)
{
    (void)dev;
    free(impl);
}

elattn_status gpu_xattn_run(void *dev, const void *impl, void *stream, const elattn_xattn_call *call)
{
    const xattn_plan &p = *static_cast<const xattn_plan *>(impl);
    const elattn_xattn_desc *desc = call->desc;
    elattn_status st;
    if ((st = check_aligned("args.q", call->q)) || (st = check_aligned("args.k", call->k))) return st;
    USE(dev);
    const int entries = desc->batch * desc->num_kv_heads;
    bool any = call->modes_device != nullptr; /* device modes: the kernels skip the other heads */
    for (int i = 0; call->modes && i < entries; ++i) any |= call->modes[i] == ELATTN_MODE_BLOCK_SPARSE;
    if (!any) return ELATTN_SUCCESS; /* masks of other heads are left as they were */

    const cudaStream_t s = as_stream(stream);
    char *ws = static_cast<char *>(call->workspace);
    const attn_batch *lengths = static_cast<const attn_batch *>(call->lengths);
    if (!lengths || call->modes || call->thresholds) { /* some metadata is on the host: one upload */
        staging meta;
        if ((st = meta.reserve(p.meta_bytes))) return st;
        const size_t cu = sizeof(int32_t) * ((size_t)desc->batch + 1);
        memcpy(meta.at<int32_t>(p.off_cu_q), call->cu_seqlens_q, cu);
        memcpy(meta.at<int32_t>(p.off_cu_k), call->cu_seqlens_k, cu);
        if (call->modes) memcpy(meta.at<int32_t>(p.off_modes), call->modes, sizeof(int32_t) * (size_t)entries);
        if (call->thresholds)
            memcpy(meta.at<float>(p.off_taus), call->thresholds, sizeof(float) * (size_t)desc->num_kv_heads);
        if ((st = upload_meta(call->workspace, meta, p.meta_bytes, s))) return st;
    }
    const float *taus = reinterpret_cast<const float *>(ws + p.off_taus);
    if (call->thresholds_device) { /* one per head: read in place; one for all: spread on the device */
        taus = static_cast<const float *>(call->thresholds_device);
        if (call->num_thresholds_device == 1) {
            for (int h = 0; h < desc->num_kv_heads; ++h)
                RT(cudaMemcpyAsync(ws + p.off_taus + sizeof(float) * h, taus, sizeof(float), cudaMemcpyDeviceToDevice, s),
                   "MemcpyAsync");
            taus = reinterpret_cast<const float *>(ws + p.off_taus);
        }
    }
    xattn_inputs in;
    memset(&in, 0, sizeof in);
    in.desc = desc;
    in.q = call->q;
    in.k = call->k;
    in.cu_seqlens_q = reinterpret_cast<const int32_t *>(lengths ? lengths->mem + lengths->off_cu_q : ws + p.off_cu_q);
    in.cu_seqlens_k = reinterpret_cast<const int32_t *>(lengths ? lengths->mem + lengths->off_cu_k : ws + p.off_cu_k);
    in.modes = call->modes_device ? static_cast<const int32_t *>(call->modes_device)
                                  : reinterpret_cast<const int32_t *>(ws + p.off_modes);
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
    in.choice = p.choice;

    cudaError_t e = p.family->estimate(in, p.caps, s);
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (XAttention estimation)");
    e = xattn_select(in, taus, static_cast<uint8_t *>(call->block_mask),
                     p.caps, s);
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (XAttention selection)");
    return ELATTN_SUCCESS;
}

} /* namespace ELATTN_GPU_NS */

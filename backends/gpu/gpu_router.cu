/*
 * The Attention Router on the GPU backends: its family table (one portable
 * kernel), plans and runs. Only the [batch][Hkv] decisions come back to the
 * host, and the run waits for them.
 */
#include "gpu_internal.h"

namespace ELATTN_GPU_NS {

static const router_family router_families[] = {
    {ELATTN_GPU_BACKEND_NAME ".router.portable", portable_router_supported, portable_router_launch},
};

int gpu_router_families(const char **names, int max) { return family_names(router_families, names, max); }

struct router_plan {
    const router_family *family;
    gpu_caps caps;
    char name[128];
    size_t off_cu, off_modes, bytes;
};

elattn_status gpu_router_plan(void *dev, const elattn_router_desc *desc, const elattn_plan_options *options,
                              elattn_backend_plan *plan)
{
    const device &d = *static_cast<device *>(dev);
    router_plan *p = create<router_plan>();
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    router_choice choice;
    const int f = select_family(router_families, desc, d.caps, options->kernel, desc->head_dim, desc->key_dtype,
                                &choice, p->name, sizeof p->name);
    elattn_status st = f < 0 ? ELATTN_ERROR_UNSUPPORTED : check_tile_options(options, p->name, 0, 0);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    p->family = &router_families[f];
    p->caps = d.caps;
    ws_layout ws;
    p->off_cu = ws.place((size_t)desc->batch + 1, 1, sizeof(int32_t));
    p->off_modes = ws.place((size_t)desc->batch, (size_t)desc->num_kv_heads, sizeof(int32_t));
    p->bytes = ws.end;
    if (!ws.ok) {
        free(p);
        return layout_overflow("router");
    }
    plan->impl = p;
    plan->kernel_name = p->name;
    plan->workspace_bytes = p->bytes;
    return ELATTN_SUCCESS;
}

void gpu_router_plan_destroy(void *dev, void *impl)
{
    (void)dev;
    free(impl);
}

elattn_status gpu_router_run(void *dev, const void *impl, void *stream, const elattn_router_call *call)
{
    const router_plan &p = *static_cast<const router_plan *>(impl);
    const elattn_router_desc *desc = call->desc;
    elattn_status st;
    USE(dev);
    const cudaStream_t s = as_stream(stream);
    char *ws = static_cast<char *>(call->workspace);
    const attn_batch *lengths = static_cast<const attn_batch *>(call->lengths);
    if (!lengths) { /* the lengths from the host */
        staging meta;
        if ((st = meta.reserve(p.off_modes))) return st;
        memcpy(meta.at<int32_t>(p.off_cu), call->cu_seqlens, sizeof(int32_t) * ((size_t)desc->batch + 1));
        if ((st = upload_meta(call->workspace, meta, p.off_modes, s))) return st;
    }
    router_inputs in;
    in.desc = desc;
    in.keys = call->keys;
    in.cu_seqlens = reinterpret_cast<const int32_t *>(lengths ? lengths->mem + lengths->off_cu_k : ws + p.off_cu);
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
    /* decisions straight into the caller's device table (stream-ordered), or via the workspace to the host */
    in.modes = call->modes_device ? static_cast<int32_t *>(call->modes_device)
                                  : reinterpret_cast<int32_t *>(ws + p.off_modes);
    const cudaError_t e = p.family->launch(in, p.caps, s);
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (router)");
    if (call->modes_device) return ELATTN_SUCCESS;
    RT(cudaMemcpyAsync(call->modes, in.modes, sizeof(int32_t) * (size_t)desc->batch * desc->num_kv_heads,
                       cudaMemcpyDeviceToHost, s),
       "MemcpyAsync");
    RT(cudaStreamSynchronize(s), "StreamSynchronize");
    return ELATTN_SUCCESS;
}

} /* namespace ELATTN_GPU_NS */

/* XAttention block selection: plans and runs. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

elattn_status elattn_xattn_plan_create(elattn_device *device, const elattn_xattn_desc *desc,
                                       const elattn_plan_options *options, elattn_xattn_plan **plan)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(plan, "plan");
    elattn_xattn_desc n;
    CHECK(elattn_check_xattn_desc(desc, &n));
    elattn_plan_options opts;
    CHECK(elattn_check_plan_options(options, &opts));
    elattn_xattn_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    p->device = device;
    p->desc = n;
    elattn_status st = device->ops->xattn_plan(device->impl, &p->desc, &opts, &p->backend);
    if (st == ELATTN_SUCCESS && (st = elattn_handle_add(p, ELATTN_HANDLE_XATTN_PLAN)) != ELATTN_SUCCESS)
        device->ops->xattn_plan_destroy(device->impl, p->backend.impl);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    elattn_device_retain(device); /* the plan keeps its device open */
    *plan = p;
    return ELATTN_SUCCESS;
}

const char *elattn_xattn_plan_kernel_name(const elattn_xattn_plan *plan)
{
    return elattn_handle_live(plan, ELATTN_HANDLE_XATTN_PLAN) ? elattn_kernel_name_of(&plan->backend) : "";
}

size_t elattn_xattn_plan_workspace_size(const elattn_xattn_plan *plan)
{
    return elattn_handle_live(plan, ELATTN_HANDLE_XATTN_PLAN) ? plan->backend.workspace_bytes : 0;
}

elattn_status elattn_xattn_run(const elattn_xattn_plan *plan, elattn_stream *stream,
                               const elattn_xattn_args *caller_args)
{
    BEGIN();
    HANDLE(plan, "plan", ELATTN_HANDLE_XATTN_PLAN);
    elattn_xattn_args taken;
    CHECK(ELATTN_TAKE("args", caller_args, elattn_xattn_args, workspace, &taken));
    const elattn_xattn_args *args = &taken;
    const elattn_xattn_desc *d = &plan->desc;
    elattn_device *dev = plan->device;
    elattn_xattn_call call;
    memset(&call, 0, sizeof call);
    call.desc = d;
    void *s;
    CHECK(elattn_stream_native(dev, stream, &s));
    const int32_t *cu_q = args->cu_seqlens_q, *cu_k = args->cu_seqlens_k;
    if (args->lengths) {
        const elattn_attn_batch *b = args->lengths;
        HANDLE(b, "args.lengths", ELATTN_HANDLE_ATTN_BATCH);
        if (cu_q || cu_k)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "args.cu_seqlens_q/args.cu_seqlens_k/args.lengths: both given; pass one");
        if (b->device != dev)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.lengths: a batch of another device");
        if (b->batch != d->batch)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.lengths: a batch of %d elements, desc.batch is %d",
                               b->batch, d->batch);
        cu_q = b->cu_seqlens_q, cu_k = b->cu_seqlens_k;
        call.lengths = b->impl;
    }
    CHECK(elattn_check_seqlens_q_k(cu_q, cu_k, d->batch, d->max_seqlen_q, d->max_seqlen_k, &call.total_q,
                                   &call.total_k));
    int entries = d->batch * d->num_kv_heads, counts[ELATTN_MODE_COUNT];
    if (args->modes && args->modes_buffer)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.modes/args.modes_buffer: both given; pass one at most");
    if (args->modes) CHECK(elattn_check_modes("args.modes", args->modes, entries, counts));
    CHECK(elattn_check_buffer("args.modes_buffer", args->modes_buffer, dev, sizeof(int32_t) * (size_t)entries, 0));
    if (!args->thresholds == !args->thresholds_buffer)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.thresholds/args.thresholds_buffer: %s; pass exactly one",
                           args->thresholds ? "both given" : "NULL");
    if (args->num_thresholds != 1 && args->num_thresholds != d->num_kv_heads)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.num_thresholds: %d must be 1 or num_kv_heads (%d)",
                           args->num_thresholds, d->num_kv_heads);
    CHECK(elattn_check_buffer("args.thresholds_buffer", args->thresholds_buffer, dev,
                              sizeof(float) * (size_t)args->num_thresholds, 0));
    for (int i = 0; args->thresholds && i < args->num_thresholds; ++i) {
        float t = args->thresholds[i];
        if (!(t > 0.0f && t <= 1.0f))
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.thresholds[%d]: %g is outside (0, 1]", i,
                               (double)t);
    }
    size_t es = elattn_dtype_size(d->dtype), q_bytes, k_bytes, mask_bytes;
    CHECK(elattn_tensor_bytes("args.q", call.total_q, d->num_q_heads, d->head_dim, es, &q_bytes));
    CHECK(elattn_tensor_bytes("args.k", call.total_k, d->num_kv_heads, d->head_dim, es, &k_bytes));
    CHECK(elattn_check_buffer("args.q", args->q, dev, q_bytes, 1));
    CHECK(elattn_check_buffer("args.k", args->k, dev, k_bytes, 1));
    if (!elattn_mask_bytes(d->batch, d->num_kv_heads, d->max_seqlen_q, d->max_seqlen_k, d->block_size, &mask_bytes))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.block_mask: its size does not fit in size_t");
    CHECK(elattn_check_buffer("args.block_mask", args->block_mask, dev, mask_bytes, 1));
    CHECK(elattn_take_workspace(args->workspace, dev, plan->backend.workspace_bytes, &call.workspace, &call.workspace_bytes));
    const elattn_arg_span spans[] = {
        {"args.block_mask", args->block_mask, mask_bytes, 1},
        {"args.workspace", args->workspace, plan->backend.workspace_bytes, 1},
        {"args.q", args->q, q_bytes, 0},
        {"args.k", args->k, k_bytes, 0},
        {"args.modes_buffer", args->modes_buffer, sizeof(int32_t) * (size_t)entries, 0},
        {"args.thresholds_buffer", args->thresholds_buffer, sizeof(float) * (size_t)args->num_thresholds, 0},
    };
    CHECK(elattn_check_overlaps(spans, (int)(sizeof spans / sizeof spans[0])));

    /* Host copies the backend reads: every head selected when modes is NULL, one tau per head. */
    int32_t *modes = NULL;
    float *taus = malloc(sizeof(float) * d->num_kv_heads);
    const int all_heads = !args->modes && !args->modes_buffer;
    if (all_heads) modes = malloc(sizeof(int32_t) * entries);
    if (!taus || (all_heads && !modes)) {
        free(taus);
        free(modes);
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "xattn: host allocation failed");
    }
    for (int h = 0; args->thresholds && h < d->num_kv_heads; ++h)
        taus[h] = args->thresholds[args->num_thresholds == 1 ? 0 : h];
    for (int i = 0; modes && i < entries; ++i) modes[i] = ELATTN_MODE_BLOCK_SPARSE;
    call.q = args->q->native;
    call.k = args->k->native;
    call.block_mask = args->block_mask->native;
    call.cu_seqlens_q = cu_q;
    call.cu_seqlens_k = cu_k;
    call.modes = args->modes ? args->modes : modes; /* NULL with a device table */
    call.modes_device = elattn_native_or_null(args->modes_buffer);
    call.thresholds = args->thresholds ? taus : NULL;
    call.thresholds_device = elattn_native_or_null(args->thresholds_buffer);
    call.num_thresholds_device = args->thresholds_buffer ? args->num_thresholds : 0;
    call.mask_qblocks = (d->max_seqlen_q + d->block_size - 1) / d->block_size;
    call.mask_kblocks = (d->max_seqlen_k + d->block_size - 1) / d->block_size;
    elattn_status st = dev->ops->xattn_run(dev->impl, plan->backend.impl, s, &call);
    free(taus);
    free(modes);
    return st;
}

void elattn_xattn_plan_destroy(elattn_xattn_plan *plan)
{
    if (!elattn_release_handle("plan", plan, ELATTN_HANDLE_XATTN_PLAN)) return;
    elattn_device *d = plan->device;
    d->ops->xattn_plan_destroy(d->impl, plan->backend.impl);
    free(plan);
    elattn_device_release(d);
}

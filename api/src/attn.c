/* Hybrid attention: plans and runs. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

size_t elattn_block_mask_bytes(const elattn_attn_desc *desc)
{
    BEGIN();
    size_t bytes;
    elattn_attn_desc d;
    /* the shape check also refuses a mask whose size does not fit in size_t */
    if (elattn_check_attn_mask_shape(desc, &d) != ELATTN_SUCCESS) return 0;
    if (!elattn_mask_bytes(d.batch, d.num_kv_heads, d.max_seqlen_q, d.max_seqlen_k, d.block_size, &bytes))
        return 0;
    return bytes;
}

elattn_status elattn_attn_plan_create(elattn_device *device, const elattn_attn_desc *desc,
                                      const elattn_plan_options *options, elattn_attn_plan **plan)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(plan, "plan");
    elattn_attn_desc n;
    CHECK(elattn_check_attn_desc(desc, &n));
    elattn_plan_options opts;
    CHECK(elattn_check_plan_options(options, &opts));
    elattn_attn_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    static unsigned long serials;
    p->device = device;
    p->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
    p->desc = n;
    elattn_status st = device->ops->attn_plan(device->impl, &p->desc, &opts, &p->backend);
    if (st == ELATTN_SUCCESS && (st = elattn_handle_add(p, ELATTN_HANDLE_ATTN_PLAN)) != ELATTN_SUCCESS)
        device->ops->attn_plan_destroy(device->impl, p->backend.impl);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    elattn_device_retain(device); /* the plan keeps its device open */
    *plan = p;
    return ELATTN_SUCCESS;
}

const char *elattn_attn_plan_kernel_name(const elattn_attn_plan *plan)
{
    return elattn_handle_live(plan, ELATTN_HANDLE_ATTN_PLAN) ? elattn_kernel_name_of(&plan->backend) : "";
}

size_t elattn_attn_plan_workspace_size(const elattn_attn_plan *plan)
{
    return elattn_handle_live(plan, ELATTN_HANDLE_ATTN_PLAN) ? plan->backend.workspace_bytes : 0;
}

elattn_status elattn_attn_run(const elattn_attn_plan *plan, elattn_stream *stream, const elattn_attn_args *caller_args)
{
    BEGIN();
    HANDLE(plan, "plan", ELATTN_HANDLE_ATTN_PLAN);
    elattn_attn_args taken;
    CHECK(ELATTN_TAKE("args", caller_args, elattn_attn_args, workspace, &taken));
    const elattn_attn_args *args = &taken;
    const elattn_attn_desc *d = &plan->desc;
    elattn_device *dev = plan->device;
    elattn_attn_call call;
    memset(&call, 0, sizeof call);
    call.desc = d;
    elattn_fill_attn_params(d, &call.params);
    void *s;
    CHECK(elattn_stream_native(dev, stream, &s));
    const elattn_attn_batch *batch = args->batch;
    if (batch) { /* the lengths were checked when the batch was made */
        HANDLE(batch, "args.batch", ELATTN_HANDLE_ATTN_BATCH);
        if (batch->plan_serial != plan->serial)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.batch: made for another plan");
        if (args->cu_seqlens_q || args->cu_seqlens_k)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "args.cu_seqlens_q/args.cu_seqlens_k: given together with args.batch (which holds the "
                               "lengths): pass one of the two");
        call.total_q = batch->total_q;
        call.total_k = batch->total_k;
        call.cu_seqlens_q = batch->cu_seqlens_q;
        call.cu_seqlens_k = batch->cu_seqlens_k;
        call.batch = batch->impl;
    } else {
        CHECK(elattn_check_seqlens_q_k(args->cu_seqlens_q, args->cu_seqlens_k, d->batch, d->max_seqlen_q,
                                       d->max_seqlen_k, &call.total_q, &call.total_k));
        call.cu_seqlens_q = args->cu_seqlens_q;
        call.cu_seqlens_k = args->cu_seqlens_k;
    }
    const int entries = d->batch * d->num_kv_heads;
    if (args->modes && args->modes_buffer)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.modes/args.modes_buffer: both given; pass one");
    if (args->modes_buffer) /* any head may be BLOCK_SPARSE: the mask is required below */
        CHECK(elattn_check_buffer("args.modes_buffer", args->modes_buffer, dev, sizeof(int32_t) * (size_t)entries, 1));
    else
        CHECK(elattn_check_modes("args.modes (or args.modes_buffer)", args->modes, entries, call.mode_counts));
    size_t es = elattn_dtype_size(d->dtype), q_bytes, k_bytes, v_bytes, o_bytes, lse_bytes, mask_bytes;
    /* K/V rows: the packed rows, or every row of every page (the table may name any page) */
    const int kv_rows = d->page_size ? d->num_pages * d->page_size : call.total_k;
    CHECK(elattn_layout_bytes("q", call.total_q, d->num_q_heads, d->head_dim, d->q_stride_token, d->q_stride_head, es,
                              &q_bytes));
    CHECK(elattn_layout_bytes("k", kv_rows, d->num_kv_heads, d->head_dim, d->k_stride_token, d->k_stride_head, es,
                              &k_bytes));
    CHECK(elattn_layout_bytes("v", kv_rows, d->num_kv_heads, d->head_dim, d->v_stride_token, d->v_stride_head, es,
                              &v_bytes));
    CHECK(elattn_layout_bytes("o", call.total_q, d->num_q_heads, d->head_dim, d->o_stride_token, d->o_stride_head, es,
                              &o_bytes));
    CHECK(elattn_tensor_bytes("args.lse", call.total_q, d->num_q_heads, 1, sizeof(float), &lse_bytes));
    if (d->page_size) {
        CHECK(elattn_check_block_table(args->block_table, call.cu_seqlens_k, d->batch, d->page_size, d->num_pages,
                                       d->max_pages_per_seq));
    } else if (args->block_table) {
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.block_table: given, but desc.page_size is 0");
    }
    if (!elattn_mask_bytes(d->batch, d->num_kv_heads, d->max_seqlen_q, d->max_seqlen_k, d->block_size, &mask_bytes))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.block_mask: its size does not fit in size_t");
    CHECK(elattn_check_buffer("args.q", args->q, dev, q_bytes, 1));
    CHECK(elattn_check_buffer("args.k", args->k, dev, k_bytes, 1));
    CHECK(elattn_check_buffer("args.v", args->v, dev, v_bytes, 1));
    CHECK(elattn_check_buffer("args.o", args->o, dev, o_bytes, 1));
    if (d->write_lse) {
        CHECK(elattn_check_buffer("args.lse", args->lse, dev, lse_bytes, 1));
    } else if (args->lse) {
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.lse: given, but desc.write_lse is 0");
    }
    int need_mask = args->modes_buffer || call.mode_counts[ELATTN_MODE_BLOCK_SPARSE] > 0;
    CHECK(elattn_check_buffer(args->modes_buffer ? "args.block_mask (required with args.modes_buffer)"
                              : need_mask        ? "args.block_mask (some head is BLOCK_SPARSE)"
                                                 : "args.block_mask",
                              args->block_mask, dev, mask_bytes, need_mask));
    CHECK(elattn_take_workspace(args->workspace, dev, plan->backend.workspace_bytes, &call.workspace, &call.workspace_bytes));
    const elattn_arg_span spans[] = {
        {"args.o", args->o, o_bytes, 1},
        {"args.lse", d->write_lse ? args->lse : NULL, lse_bytes, 1},
        {"args.workspace", args->workspace, plan->backend.workspace_bytes, 1},
        {"args.q", args->q, q_bytes, 0},
        {"args.k", args->k, k_bytes, 0},
        {"args.v", args->v, v_bytes, 0},
        {"args.block_mask", need_mask ? args->block_mask : NULL, mask_bytes, 0},
        {"args.modes_buffer", args->modes_buffer, sizeof(int32_t) * (size_t)entries, 0},
    };
    CHECK(elattn_check_overlaps(spans, (int)(sizeof spans / sizeof spans[0])));
    call.q = args->q->native;
    call.k = args->k->native;
    call.v = args->v->native;
    call.o = args->o->native;
    call.lse = d->write_lse ? args->lse->native : NULL;
    call.block_mask = need_mask ? args->block_mask->native : NULL;
    call.modes = args->modes;
    call.block_table = d->page_size ? args->block_table : NULL;
    call.modes_device = elattn_native_or_null(args->modes_buffer);
    return dev->ops->attn_run(dev->impl, plan->backend.impl, s, &call);
}

void elattn_attn_plan_destroy(elattn_attn_plan *plan)
{
    if (!elattn_release_handle("plan", plan, ELATTN_HANDLE_ATTN_PLAN)) return;
    elattn_device *d = plan->device;
    d->ops->attn_plan_destroy(d->impl, plan->backend.impl);
    free(plan);
    elattn_device_release(d);
}

elattn_status elattn_attn_batch_create(const elattn_attn_plan *plan, const int32_t *cu_seqlens_q,
                                       const int32_t *cu_seqlens_k, elattn_attn_batch **batch)
{
    BEGIN();
    HANDLE(plan, "plan", ELATTN_HANDLE_ATTN_PLAN);
    REQUIRE(batch, "batch");
    const elattn_attn_desc *d = &plan->desc;
    elattn_device *dev = plan->device;
    if (!dev->ops->attn_batch_create)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "plan: backend %s has no batch plans", dev->ops->name);
    elattn_attn_call call;
    memset(&call, 0, sizeof call);
    call.desc = d;
    elattn_fill_attn_params(d, &call.params);
    CHECK(elattn_check_cu_seqlens("cu_seqlens_q", cu_seqlens_q, d->batch, d->max_seqlen_q, 0, &call.total_q));
    CHECK(elattn_check_cu_seqlens("cu_seqlens_k", cu_seqlens_k, d->batch, d->max_seqlen_k, 0, &call.total_k));
    const size_t cu_bytes = sizeof(int32_t) * ((size_t)d->batch + 1);
    elattn_attn_batch *b = calloc(1, sizeof *b);
    if (b) b->cu_seqlens_q = malloc(cu_bytes), b->cu_seqlens_k = malloc(cu_bytes);
    if (!b || !b->cu_seqlens_q || !b->cu_seqlens_k) {
        if (b) free(b->cu_seqlens_q), free(b->cu_seqlens_k);
        free(b);
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "batch: host allocation failed");
    }
    memcpy(b->cu_seqlens_q, cu_seqlens_q, cu_bytes);
    memcpy(b->cu_seqlens_k, cu_seqlens_k, cu_bytes);
    b->device = dev;
    b->plan_serial = plan->serial;
    b->batch = d->batch;
    b->total_q = call.total_q;
    b->total_k = call.total_k;
    call.cu_seqlens_q = b->cu_seqlens_q;
    call.cu_seqlens_k = b->cu_seqlens_k; /* call.modes NULL: the work list is costed as FULL */
    elattn_status st = dev->ops->attn_batch_create(dev->impl, plan->backend.impl, &call, &b->impl);
    if (st == ELATTN_SUCCESS && (st = elattn_handle_add(b, ELATTN_HANDLE_ATTN_BATCH)) != ELATTN_SUCCESS)
        dev->ops->attn_batch_destroy(dev->impl, b->impl);
    if (st != ELATTN_SUCCESS) {
        free(b->cu_seqlens_q), free(b->cu_seqlens_k), free(b);
        return st;
    }
    elattn_device_retain(dev); /* the batch keeps its device open */
    *batch = b;
    return ELATTN_SUCCESS;
}

void elattn_attn_batch_destroy(elattn_attn_batch *batch)
{
    if (!elattn_release_handle("batch", batch, ELATTN_HANDLE_ATTN_BATCH)) return;
    elattn_device *d = batch->device;
    d->ops->attn_batch_destroy(d->impl, batch->impl);
    free(batch->cu_seqlens_q), free(batch->cu_seqlens_k), free(batch);
    elattn_device_release(d);
}

/* The Attention Router: plans and runs. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

elattn_status elattn_router_plan_create(elattn_device *device, const elattn_router_desc *desc,
                                        const elattn_plan_options *options, elattn_router_plan **plan)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(plan, "plan");
    elattn_router_desc n;
    CHECK(elattn_check_router_desc(desc, &n));
    elattn_plan_options opts;
    CHECK(elattn_check_plan_options(options, &opts));
    elattn_router_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    p->device = device;
    p->desc = n;
    elattn_status st = device->ops->router_plan(device->impl, &p->desc, &opts, &p->backend);
    if (st == ELATTN_SUCCESS && (st = elattn_handle_add(p, ELATTN_HANDLE_ROUTER_PLAN)) != ELATTN_SUCCESS)
        device->ops->router_plan_destroy(device->impl, p->backend.impl);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    elattn_device_retain(device); /* the plan keeps its device open */
    *plan = p;
    return ELATTN_SUCCESS;
}

const char *elattn_router_plan_kernel_name(const elattn_router_plan *plan)
{
    return elattn_handle_live(plan, ELATTN_HANDLE_ROUTER_PLAN) ? elattn_kernel_name_of(&plan->backend) : "";
}

size_t elattn_router_plan_workspace_size(const elattn_router_plan *plan)
{
    return elattn_handle_live(plan, ELATTN_HANDLE_ROUTER_PLAN) ? plan->backend.workspace_bytes : 0;
}

elattn_status elattn_router_run(const elattn_router_plan *plan, elattn_stream *stream,
                                const elattn_router_args *caller_args)
{
    BEGIN();
    HANDLE(plan, "plan", ELATTN_HANDLE_ROUTER_PLAN);
    elattn_router_args taken;
    CHECK(ELATTN_TAKE("args", caller_args, elattn_router_args, workspace, &taken));
    const elattn_router_args *args = &taken;
    const elattn_router_desc *d = &plan->desc;
    elattn_device *dev = plan->device;
    elattn_router_call call;
    memset(&call, 0, sizeof call);
    call.desc = d;
    void *s;
    CHECK(elattn_stream_native(dev, stream, &s));
    /* Pooling a sequence of no tokens has no meaning: every element needs one. */
    const int32_t *cu = args->cu_seqlens;
    const char *cu_name = "args.cu_seqlens";
    if (args->lengths) {
        const elattn_attn_batch *b = args->lengths;
        HANDLE(b, "args.lengths", ELATTN_HANDLE_ATTN_BATCH);
        if (args->cu_seqlens)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.cu_seqlens/args.lengths: both given; pass one");
        if (b->device != dev)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.lengths: a batch of another device");
        if (b->batch != d->batch)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.lengths: a batch of %d elements, desc.batch is %d",
                               b->batch, d->batch);
        cu = b->cu_seqlens_k;
        cu_name = "args.lengths (its cu_seqlens_k)";
        call.lengths = b->impl;
    }
    CHECK(elattn_check_cu_seqlens(cu_name, cu, d->batch, d->max_seqlen, 1, &call.total));
    if (!args->modes == !args->modes_buffer)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.modes/args.modes_buffer: %s; pass exactly one",
                           args->modes ? "both given" : "NULL");
    size_t es = elattn_dtype_size(d->key_dtype), D = (size_t)d->head_dim, H = (size_t)d->hidden;
    size_t keys_bytes, logits_bytes;
    CHECK(elattn_tensor_bytes("args.keys", call.total, d->num_kv_heads, d->head_dim, es, &keys_bytes));
    CHECK(elattn_tensor_bytes("args.logits", d->batch, d->num_kv_heads, 2, sizeof(float), &logits_bytes));
    CHECK(elattn_check_buffer("args.keys", args->keys, dev, keys_bytes, 1));
    const elattn_router_weights *w = &args->weights;
    /* no overflow: the descriptor check bounds D by 256 and hidden by 4096 */
    struct {
        const char *name;
        const elattn_buffer *buf;
        size_t floats;
        void **dst;
    } weights[] = {
        {"args.weights.task_w1", w->task_w1, H * D, &call.task_w1},
        {"args.weights.task_b1", w->task_b1, H, &call.task_b1},
        {"args.weights.task_w2", w->task_w2, D * H, &call.task_w2},
        {"args.weights.task_b2", w->task_b2, D, &call.task_b2},
        {"args.weights.head_w1", w->head_w1, H * D, &call.head_w1},
        {"args.weights.head_b1", w->head_b1, H, &call.head_b1},
        {"args.weights.head_w2", w->head_w2, D * H, &call.head_w2},
        {"args.weights.head_b2", w->head_b2, D, &call.head_b2},
        {"args.weights.head_w3", w->head_w3, 2 * D, &call.head_w3},
        {"args.weights.head_b3", w->head_b3, 2, &call.head_b3},
    };
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; ++i) {
        CHECK(elattn_check_buffer(weights[i].name, weights[i].buf, dev, weights[i].floats * 4, 1));
        *weights[i].dst = weights[i].buf->native;
    }
    CHECK(elattn_check_buffer("args.logits", args->logits, dev, logits_bytes, 0));
    const size_t modes_bytes = sizeof(int32_t) * (size_t)d->batch * d->num_kv_heads;
    CHECK(elattn_check_buffer("args.modes_buffer", args->modes_buffer, dev, modes_bytes, 0));
    CHECK(elattn_take_workspace(args->workspace, dev, plan->backend.workspace_bytes, &call.workspace, &call.workspace_bytes));
    elattn_arg_span spans[4 + sizeof weights / sizeof weights[0]] = {
        {"args.logits", args->logits, logits_bytes, 1},
        {"args.workspace", args->workspace, plan->backend.workspace_bytes, 1},
        {"args.modes_buffer", args->modes_buffer, modes_bytes, 1},
        {"args.keys", args->keys, keys_bytes, 0},
    };
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; ++i) {
        elattn_arg_span w_span = {weights[i].name, weights[i].buf, weights[i].floats * 4, 0};
        spans[4 + i] = w_span;
    }
    CHECK(elattn_check_overlaps(spans, (int)(sizeof spans / sizeof spans[0])));
    call.keys = args->keys->native;
    call.logits = elattn_native_or_null(args->logits);
    call.modes = args->modes;
    call.modes_device = elattn_native_or_null(args->modes_buffer);
    call.cu_seqlens = cu;
    return dev->ops->router_run(dev->impl, plan->backend.impl, s, &call);
}

void elattn_router_plan_destroy(elattn_router_plan *plan)
{
    if (!elattn_release_handle("plan", plan, ELATTN_HANDLE_ROUTER_PLAN)) return;
    elattn_device *d = plan->device;
    d->ops->router_plan_destroy(d->impl, plan->backend.impl);
    free(plan);
    elattn_device_release(d);
}

/*
 * The Attention Router on OpenCL: pooling and both MLPs on the device
 * (kernels/opencl/router.cl); only the [batch][Hkv] modes come back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_internal.h"

typedef struct router_plan {
    int wg, dtype, hidden;
    char name[128];
    char variant[48];
    ocl_kernel pool, mlp;
    size_t pooled_at, modes_at; /* offsets in the workspace, in 4-byte words */
} router_plan;

static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

/* The scalar family (router.cl): fills `p` and the build options, or says why it cannot run the call. */
static elattn_status scalar_router_choose(const ocl_caps *caps, const elattn_router_desc *d,
                                          const elattn_plan_options *opt, router_plan *p, char *options,
                                          size_t options_size)
{
    p->wg = opt->work_group_size ? opt->work_group_size : (caps->cls == OCL_CLASS_CPU ? 64 : 128);
    p->dtype = (int)d->key_dtype;
    p->hidden = d->hidden;
    if (opt->tile_m || opt->tile_n)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_m/tile_n: the OpenCL router has no tiles to set (use 0)");
    if (!is_pow2(p->wg) || (size_t)p->wg > caps->max_wg)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d must be a power of two <= %zu (device limit)", p->wg,
                           caps->max_wg);
    size_t local = sizeof(float) * (2 * (size_t)ELATTN_MAX_HEAD_DIM + (size_t)d->hidden + 2);
    if (local > caps->local_mem)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc.hidden: %d needs %zu bytes of local memory, the device has %zu",
                           d->hidden, local, caps->local_mem);
    snprintf(p->variant, sizeof p->variant, "r%dw%d", d->hidden, p->wg);
    char extra[64];
    snprintf(extra, sizeof extra, "-DELATTN_ROUTER_MAX_HIDDEN=%d", d->hidden);
    ocl_format_options(options, options_size, p->dtype, p->wg, extra);
    return ELATTN_SUCCESS;
}

/* The selection's view of the scalar family (ocl_select). */
typedef struct router_choose_ctx {
    const ocl_caps *caps;
    const elattn_router_desc *desc;
    const elattn_plan_options *options;
    router_plan *plan;
    char *build_options;
    size_t build_options_size;
} router_choose_ctx;

static elattn_status router_choose(void *ctx, char *variant, size_t variant_n)
{
    router_choose_ctx *c = ctx;
    elattn_status st =
        scalar_router_choose(c->caps, c->desc, c->options, c->plan, c->build_options, c->build_options_size);
    if (st == ELATTN_SUCCESS) snprintf(variant, variant_n, "%s", c->plan->variant);
    return st;
}

/* Workspace: cu_seqlens [B+1], modes [B][Hkv] int32, pooled [B][Hkv][D] fp32. The kernels take
 * the offsets as int: the small tables come first so that both offsets stay far below 2^31. */
elattn_status ocl_router_plan(void *dv, const elattn_router_desc *desc, const elattn_plan_options *options,
                              elattn_backend_plan *out)
{
    ocl_device *dev = dv;
    router_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (plan)");
    char opts[256];
    cl_program program = NULL;
    router_choose_ctx ctx = {&dev->caps, desc, options, p, opts, sizeof opts};
    elattn_status st = ocl_select(dev, OCL_ROUTER_FAMILY, options->kernel, desc->head_dim, desc->key_dtype,
                                  router_choose, &ctx, p->name, sizeof p->name);
    if (st == ELATTN_SUCCESS) st = ocl_get_program(dev, "router", opts, &program);
    if (st == ELATTN_SUCCESS) st = ocl_kernel_create(dev, program, "elattn_router_pool", (size_t)p->wg, &p->pool);
    if (st == ELATTN_SUCCESS) st = ocl_kernel_create(dev, program, "elattn_router_mlp", (size_t)p->wg, &p->mlp);
    if (st != ELATTN_SUCCESS) {
        ocl_kernel_release(&p->pool);
        free(p);
        return st;
    }
    size_t rows = (size_t)desc->batch * desc->num_kv_heads, words;
    p->modes_at = ((size_t)desc->batch + 1 + 63) & ~(size_t)63;
    p->pooled_at = (p->modes_at + rows + 63) & ~(size_t)63;
    if (!elattn_size_mul(rows, (size_t)desc->head_dim, &words) || !elattn_size_add(p->pooled_at, words, &words) ||
        !elattn_size_mul(words, sizeof(int32_t), &out->workspace_bytes)) {
        ocl_router_plan_destroy(dev, p);
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.batch/num_kv_heads/head_dim: the pooled keys do not fit in size_t");
    }
    out->impl = p;
    out->kernel_name = p->name;
    return ELATTN_SUCCESS;
}

void ocl_router_plan_destroy(void *dv, void *impl)
{
    (void)dv;
    router_plan *p = impl;
    if (!p) return;
    ocl_kernel_release(&p->pool);
    ocl_kernel_release(&p->mlp);
    free(p);
}

elattn_status ocl_router_run(void *dv, const void *impl, void *stream, const elattn_router_call *call)
{
    ocl_device *dev = dv;
    router_plan *p = (router_plan *)impl;
    const elattn_router_desc *d = call->desc;
    const int B = d->batch, Hkv = d->num_kv_heads, D = d->head_dim, R = d->hidden;
    const size_t rows = (size_t)B * Hkv;

    cl_command_queue queue = ocl_queue(dev, stream);
    cl_mem ws = (cl_mem)call->workspace, keys = call->keys, meta = ws;
    const attn_batch *lengths = call->lengths;
    elattn_status st = ELATTN_SUCCESS;
    int cu_at = 0;
    if (lengths && lengths->meta) { /* the batch's cu_seqlens_k, on the device already */
        meta = lengths->meta;
        cu_at = B + 1;
    } else { /* from the host (a batch without items has no device copy: every element is empty) */
        int32_t *blob = malloc(sizeof(int32_t) * (B + 1));
        if (!blob) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (router metadata)");
        memcpy(blob, call->cu_seqlens, sizeof(int32_t) * (B + 1));
        st = ocl_upload_meta(queue, ws, blob, sizeof(int32_t) * (B + 1));
    }
    if (st != ELATTN_SUCCESS) return st;

    /* the decisions go to the workspace (read back below) or straight into the caller's device table */
    const int pooled_at = (int)p->pooled_at, modes_at = call->modes_device ? 0 : (int)p->modes_at;
    cl_mem decisions = call->modes_device ? (cl_mem)call->modes_device : ws;
    const ocl_arg pool_args[] = {OCL_ARG(keys), OCL_ARG(meta), OCL_ARG(cu_at), OCL_ARG(Hkv), OCL_ARG(D),
                                 OCL_ARG(ws), OCL_ARG(pooled_at)};
    st = ocl_launch(&p->pool, queue, pool_args, (int)(sizeof pool_args / sizeof pool_args[0]), rows, (size_t)p->wg,
                    "elattn_router_pool");
    if (st != ELATTN_SUCCESS) return st;

    cl_mem w[10] = {call->task_w1, call->task_b1, call->task_w2, call->task_b2, call->head_w1,
                    call->head_b1, call->head_w2, call->head_b2, call->head_w3, call->head_b3};
    cl_mem logits = call->logits ? (cl_mem)call->logits : ws; /* not written when write_logits is 0 */
    const int write_logits = call->logits != NULL;
    const int retrieval = (int)d->retrieval_mode, sparse = (int)d->sparse_mode;
    const ocl_arg mlp_args[] = {
        OCL_ARG(ws),   OCL_ARG(pooled_at), OCL_ARG(D),    OCL_ARG(R),    OCL_ARG(w[0]),
        OCL_ARG(w[1]), OCL_ARG(w[2]),      OCL_ARG(w[3]), OCL_ARG(w[4]), OCL_ARG(w[5]),
        OCL_ARG(w[6]), OCL_ARG(w[7]),      OCL_ARG(w[8]), OCL_ARG(w[9]), OCL_ARG(logits),
        OCL_ARG(write_logits), OCL_ARG(retrieval), OCL_ARG(sparse), OCL_ARG(decisions), OCL_ARG(modes_at),
    };
    st = ocl_launch(&p->mlp, queue, mlp_args, (int)(sizeof mlp_args / sizeof mlp_args[0]), rows, (size_t)p->wg,
                    "elattn_router_mlp");
    if (st != ELATTN_SUCCESS || call->modes_device) return st;
    OCL_CHECK(clEnqueueReadBuffer(queue, ws, CL_TRUE, sizeof(int32_t) * p->modes_at, sizeof(int32_t) * rows,
                                  call->modes, 0, NULL, NULL),
              "router modes");
    return ELATTN_SUCCESS;
}

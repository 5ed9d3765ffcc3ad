/*
 * XAttention block selection on OpenCL: selection, plan, run. The kernels are
 * kernels/opencl/xattn.cl (estimation into a block-score table in the
 * workspace, then the threshold selection straight into the mask).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_internal.h"

typedef struct xattn_choice {
    int head_dim, stride, block, rows, wg, dtype;
    char variant[48];
    char options[256];
} xattn_choice;

/* Work-group size per device class: one work-item per reshaped column. */
static int xattn_wg(ocl_class cls)
{
    switch (cls) {
    case OCL_CLASS_CPU: return 64;
    case OCL_CLASS_NVIDIA:
    case OCL_CLASS_AMD: return 128;
    default: return 64;
    }
}

static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

/* The scalar family (xattn.cl): fills `c`, or says why it cannot run the call. */
static elattn_status scalar_xattn_choose(const ocl_caps *caps, const elattn_xattn_desc *d,
                                         const elattn_plan_options *opt, xattn_choice *c)
{
    memset(c, 0, sizeof *c);
    c->head_dim = d->head_dim;
    c->stride = d->stride;
    c->block = d->block_size;
    c->dtype = (int)d->dtype;
    c->wg = opt->work_group_size ? opt->work_group_size : xattn_wg(caps->cls);
    if (opt->tile_m || opt->tile_n)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m/tile_n: the OpenCL XAttention kernel has no tiles to set (use 0)");
    if (!is_pow2(c->wg) || (size_t)c->wg > caps->max_wg)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d must be a power of two <= %zu (device limit)", c->wg,
                           caps->max_wg);
    /* reshaped rows per pass: their dot products live in private registers */
    c->rows = d->block_size / d->stride < 8 ? d->block_size / d->stride : 8;
    size_t local = sizeof(float) * ((size_t)c->rows * d->head_dim + 2 * (size_t)c->wg + 2 * (size_t)c->rows);
    if (local > caps->local_mem)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "opencl xattn: needs %zu bytes of local memory, the device has %zu",
                           local, caps->local_mem);
    snprintf(c->variant, sizeof c->variant, "s%db%dw%d", c->stride, c->block, c->wg);
    char extra[160];
    snprintf(extra, sizeof extra, "-DELATTN_HEAD_DIM=%d -DELATTN_XA_STRIDE=%d -DELATTN_XA_BLOCK=%d -DELATTN_XA_ROWS=%d",
             c->head_dim, c->stride, c->block, c->rows);
    ocl_format_options(c->options, sizeof c->options, c->dtype, c->wg, extra);
    return ELATTN_SUCCESS;
}

/* The selection's view of the scalar family (ocl_select). */
typedef struct xattn_choose_ctx {
    const ocl_caps *caps;
    const elattn_xattn_desc *desc;
    const elattn_plan_options *options;
    xattn_choice choice;
} xattn_choose_ctx;

static elattn_status xattn_choose(void *ctx, char *variant, size_t variant_n)
{
    xattn_choose_ctx *c = ctx;
    elattn_status st = scalar_xattn_choose(c->caps, c->desc, c->options, &c->choice);
    if (st == ELATTN_SUCCESS) snprintf(variant, variant_n, "%s", c->choice.variant);
    return st;
}

typedef struct xattn_plan {
    xattn_choice choice;
    char name[128];
    ocl_kernel scores, select;
    int mask_qblocks, mask_kblocks;
    size_t scores_at; /* float offset of the block-score table in the workspace */
} xattn_plan;

/* Workspace: cu_q [B+1], cu_k [B+1], modes [B][Hkv], tau [Hkv] (fp32 bits), then
 * the block-score table [B][Hkv][mask_qblocks][mask_kblocks] fp32. */
static size_t meta_ints(const elattn_xattn_desc *d)
{
    return 2 * (size_t)(d->batch + 1) + (size_t)d->batch * d->num_kv_heads + (size_t)d->num_kv_heads;
}

elattn_status ocl_xattn_plan(void *dv, const elattn_xattn_desc *desc, const elattn_plan_options *options,
                             elattn_backend_plan *out)
{
    ocl_device *dev = dv;
    xattn_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (plan)");
    cl_program program = NULL;
    xattn_choose_ctx ctx = {&dev->caps, desc, options, {0}};
    elattn_status st = ocl_select(dev, OCL_XATTN_FAMILY, options->kernel, desc->head_dim, desc->dtype, xattn_choose,
                                  &ctx, p->name, sizeof p->name);
    p->choice = ctx.choice;
    if (st == ELATTN_SUCCESS) st = ocl_get_program(dev, "xattn", p->choice.options, &program);
    if (st == ELATTN_SUCCESS) st = ocl_kernel_create(dev, program, "elattn_xattn_scores", (size_t)p->choice.wg, &p->scores);
    if (st == ELATTN_SUCCESS) st = ocl_kernel_create(dev, program, "elattn_xattn_select", (size_t)p->choice.wg, &p->select);
    if (st != ELATTN_SUCCESS) {
        ocl_kernel_release(&p->scores);
        free(p);
        return st;
    }
    p->mask_qblocks = (desc->max_seqlen_q + desc->block_size - 1) / desc->block_size;
    p->mask_kblocks = (desc->max_seqlen_k + desc->block_size - 1) / desc->block_size;
    p->scores_at = (meta_ints(desc) + 63) & ~(size_t)63; /* 256-byte aligned table */
    size_t floats, bytes;
    if (!elattn_size_mul4((size_t)desc->batch, (size_t)desc->num_kv_heads, (size_t)p->mask_qblocks,
                          (size_t)p->mask_kblocks, &floats) ||
        !elattn_size_add(p->scores_at, floats, &floats) || !elattn_size_mul(floats, sizeof(float), &bytes)) {
        ocl_xattn_plan_destroy(dev, p);
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.batch/num_kv_heads/max_seqlen_q/max_seqlen_k: the block-score table does not fit "
                           "in size_t");
    }
    out->impl = p;
    out->kernel_name = p->name;
    out->workspace_bytes = bytes;
    return ELATTN_SUCCESS;
}

void ocl_xattn_plan_destroy(void *dv, void *impl)
{
    (void)dv;
    xattn_plan *p = impl;
    if (!p) return;
    ocl_kernel_release(&p->scores);
    ocl_kernel_release(&p->select);
    free(p);
}

elattn_status ocl_xattn_run(void *dv, const void *impl, void *stream, const elattn_xattn_call *call)
{
    ocl_device *dev = dv;
    xattn_plan *p = (xattn_plan *)impl;
    const elattn_xattn_desc *d = call->desc;
    const int B = d->batch, Hkv = d->num_kv_heads, Hq = d->num_q_heads;
    int any = 0;
    for (int i = 0; i < B * Hkv; ++i) any |= call->modes[i] == ELATTN_MODE_BLOCK_SPARSE;
    if (!any) return ELATTN_SUCCESS; /* no mask row to write */

    const int cu_q_at = 0, cu_k_at = B + 1, modes_at = 2 * (B + 1), taus_at = modes_at + B * Hkv;
    const int scores_at = (int)p->scores_at;
    size_t bytes = (size_t)scores_at * sizeof(int32_t);
    int32_t *blob = calloc(1, bytes);
    if (!blob) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (xattn metadata)");
    memcpy(blob + cu_q_at, call->cu_seqlens_q, sizeof(int32_t) * (B + 1));
    memcpy(blob + cu_k_at, call->cu_seqlens_k, sizeof(int32_t) * (B + 1));
    memcpy(blob + modes_at, call->modes, sizeof(int32_t) * (size_t)B * Hkv);
    memcpy(blob + taus_at, call->thresholds, sizeof(float) * (size_t)Hkv);

    cl_command_queue queue = ocl_queue(dev, stream);
    cl_mem ws = (cl_mem)call->workspace, q = call->q, k = call->k, mask = call->block_mask;
    elattn_status st = ocl_upload_meta(queue, ws, blob, bytes);
    if (st != ELATTN_SUCCESS) return st;

    const size_t groups = (size_t)B * Hkv * p->mask_qblocks;
    const int causal = d->causal, mqb = p->mask_qblocks, mkb = p->mask_kblocks;
    const float scale_log2 = (float)((double)d->scale * 1.4426950408889634 / d->stride);
    const ocl_arg score_args[] = {
        OCL_ARG(q), OCL_ARG(k), OCL_ARG(ws), OCL_ARG(cu_q_at), OCL_ARG(cu_k_at), OCL_ARG(modes_at),
        OCL_ARG(Hq), OCL_ARG(Hkv), OCL_ARG(causal), OCL_ARG(scale_log2), OCL_ARG(mqb), OCL_ARG(mkb),
        OCL_ARG(ws), OCL_ARG(scores_at),
    };
    st = ocl_launch(&p->scores, queue, score_args, (int)(sizeof score_args / sizeof score_args[0]), groups,
                    (size_t)p->choice.wg, "elattn_xattn_scores");
    if (st != ELATTN_SUCCESS) return st;
    const ocl_arg select_args[] = {
        OCL_ARG(ws), OCL_ARG(cu_q_at), OCL_ARG(cu_k_at), OCL_ARG(modes_at), OCL_ARG(taus_at), OCL_ARG(Hkv),
        OCL_ARG(causal), OCL_ARG(mqb), OCL_ARG(mkb), OCL_ARG(ws), OCL_ARG(scores_at), OCL_ARG(mask),
    };
    return ocl_launch(&p->select, queue, select_args, (int)(sizeof select_args / sizeof select_args[0]), groups,
                      (size_t)p->choice.wg, "elattn_xattn_select");
}

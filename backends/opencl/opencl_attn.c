/*
 * Fused hybrid attention on OpenCL: the tile table, the one selection
 * function, plans and runs. The kernel is kernels/opencl/attn_fused.cl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_internal.h"
#include "worklist.h"

/* ---- tile table -------------------------------------------------------------------
 * Per device class and head-dim band (the row of the smallest head dim that
 * is >= the descriptor's: 64, 128 or 256): query rows per tile (M), keys per
 * tile (N), work-group size. The kernel is compiled for the exact head dim. On GPUs the work-group is 2-8 threads per row and local
 * memory stays under 48 KiB (NVIDIA's static limit). PoCL runs a work-group
 * as a loop over its items, so on CPUs one item per row keeps the reductions
 * trivial. Classes not listed use OCL_CLASS_OTHER's row. */
typedef struct attn_tiles {
    int tile_m, tile_n, wg;
} attn_tiles;

static const struct {
    ocl_class cls;
    int head_dim;
    attn_tiles tiles;
} attn_table[] = {
    {OCL_CLASS_CPU, 64, {32, 32, 32}},     {OCL_CLASS_CPU, 128, {32, 32, 32}},
    {OCL_CLASS_CPU, 256, {16, 32, 16}},    {OCL_CLASS_NVIDIA, 64, {64, 32, 128}},
    {OCL_CLASS_NVIDIA, 128, {32, 32, 128}}, {OCL_CLASS_NVIDIA, 256, {16, 16, 64}},
    {OCL_CLASS_AMD, 64, {64, 32, 256}},    {OCL_CLASS_AMD, 128, {32, 32, 128}},
    {OCL_CLASS_AMD, 256, {16, 16, 64}},    {OCL_CLASS_INTEL, 64, {32, 32, 64}},
    {OCL_CLASS_INTEL, 128, {32, 32, 64}},  {OCL_CLASS_INTEL, 256, {16, 16, 32}},
    {OCL_CLASS_OTHER, 64, {32, 32, 64}},   {OCL_CLASS_OTHER, 128, {32, 32, 64}},
    {OCL_CLASS_OTHER, 256, {16, 16, 32}},
};

static int table_tiles(ocl_class cls, int head_dim, attn_tiles *out)
{
    const int band = head_dim <= 64 ? 64 : head_dim <= 128 ? 128 : 256;
    for (int pass = 0; pass < 2; ++pass)
        for (size_t i = 0; i < sizeof attn_table / sizeof attn_table[0]; ++i)
            if (attn_table[i].cls == (pass ? OCL_CLASS_OTHER : cls) && attn_table[i].head_dim == band) {
                *out = attn_table[i].tiles;
                return 1;
            }
    return 0;
}

static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

/* Local memory of attn_fused.cl for a configuration (keep in step with its __local arrays). */
static size_t attn_local_bytes(int d, int m, int n, int wg)
{
    int tpr = wg / m;
    return sizeof(float) * ((size_t)m * (d + 1) + (size_t)n * (d + 1) + (size_t)m * (n + 1) + 2 * (size_t)m * tpr);
}

/* What runs: everything the kernel is specialised on. */
typedef struct attn_choice {
    int head_dim, tile_m, tile_n, wg;
    int heads_per_tile; /* query heads of one group packed into a tile's rows */
    int dtype;
    char variant[48];   /* the variant part of the kernel name */
    char options[256];
} attn_choice;

/* The scalar family (attn_fused.cl, fp32 arithmetic, every dtype and head
 * dim): fills `c` and returns SUCCESS, or says why it cannot run the call
 * (UNSUPPORTED, the message set). Plans and the capability report use it. */
static elattn_status scalar_attn_choose(const ocl_caps *caps, const elattn_attn_desc *d,
                                        const elattn_plan_options *opt, attn_choice *c)
{
    memset(c, 0, sizeof *c);
    attn_tiles t;
    if (!table_tiles(caps->cls, d->head_dim, &t))
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc.head_dim: %d has no OpenCL tile configuration",
                           d->head_dim);
    if (opt->tile_m) t.tile_m = opt->tile_m;
    if (opt->tile_n) t.tile_n = opt->tile_n;
    if (opt->work_group_size) t.wg = opt->work_group_size;
    if (!is_pow2(t.tile_m) || t.tile_m > 256)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_m: %d must be a power of two <= 256", t.tile_m);
    if (!is_pow2(t.tile_n) || t.tile_n > 256)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_n: %d must be a power of two <= 256", t.tile_n);
    if (!is_pow2(t.wg) || (size_t)t.wg > caps->max_wg)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d must be a power of two <= %zu (device limit)", t.wg,
                           caps->max_wg);
    if (t.wg < t.tile_m)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d is smaller than tile_m %d (one item per row at least)", t.wg,
                           t.tile_m);
    int tpr = t.wg / t.tile_m;
    if (tpr > t.tile_n || tpr > d->head_dim || d->head_dim % tpr != 0)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d items for %d rows is more than tile_n %d per row", t.wg,
                           t.tile_m, t.tile_n);
    size_t local = attn_local_bytes(d->head_dim, t.tile_m, t.tile_n, t.wg);
    if (local > caps->local_mem)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m/tile_n: tiles %dx%d at head dim %d need %zu bytes of local memory, the "
                           "device has %zu",
                           t.tile_m, t.tile_n, d->head_dim, local, caps->local_mem);

    /* Pack as many heads of a group into a tile as divide both the group and the tile. */
    int group = d->num_q_heads / d->num_kv_heads, ht = 1;
    while (ht * 2 <= t.tile_m && group % (ht * 2) == 0) ht *= 2;

    c->head_dim = d->head_dim;
    c->tile_m = t.tile_m;
    c->tile_n = t.tile_n;
    c->wg = t.wg;
    c->heads_per_tile = ht;
    c->dtype = (int)d->dtype;
    snprintf(c->variant, sizeof c->variant, "m%dn%dw%dh%d", c->tile_m, c->tile_n, c->wg, ht);
    char extra[160];
    snprintf(extra, sizeof extra, "-DELATTN_HEAD_DIM=%d -DELATTN_TILE_M=%d -DELATTN_TILE_N=%d -DELATTN_HEADS_PER_TILE=%d",
             c->head_dim, c->tile_m, c->tile_n, ht);
    ocl_format_options(c->options, sizeof c->options, c->dtype, c->wg, extra);
    return ELATTN_SUCCESS;
}

/* ---- the family table ------------------------------------------------------------ */
/* The selection's view of the scalar family (ocl_select). */
typedef struct attn_choose_ctx {
    const ocl_caps *caps;
    const elattn_attn_desc *desc;
    const elattn_plan_options *options;
    attn_choice choice;
} attn_choose_ctx;

static elattn_status attn_choose(void *ctx, char *variant, size_t variant_n)
{
    attn_choose_ctx *c = ctx;
    elattn_status st = scalar_attn_choose(c->caps, c->desc, c->options, &c->choice);
    if (st == ELATTN_SUCCESS) snprintf(variant, variant_n, "%s", c->choice.variant);
    return st;
}

int ocl_attn_head_dim_256_ok(const ocl_caps *caps)
{
    elattn_attn_desc d = {.dtype = ELATTN_BF16, .head_dim = 256, .num_q_heads = 1, .num_kv_heads = 1};
    elattn_plan_options none = {0};
    attn_choice c;
    int ok = scalar_attn_choose(caps, &d, &none, &c) == ELATTN_SUCCESS;
    elattn_fail(ELATTN_SUCCESS, "%s", ""); /* a capability query leaves no message behind */
    return ok;
}

/* ---- plans and runs -------------------------------------------------------------- */
typedef struct attn_plan {
    attn_choice choice;
    char name[128];
    elattn_attn_desc chunks; /* the descriptor seen by the schedule: one "head" per chunk */
    ocl_kernel kernel;
    size_t items_at;         /* int32 offset of the work list in the workspace */
    size_t max_items;
    size_t workspace_bytes;  /* metadata and the longest work list, checked at plan time */
} attn_plan;

/* Workspace: cu_seqlens_q [B+1], cu_seqlens_k [B+1], modes [B][Hkv], then the
 * work list (int4 per item, 16-byte aligned). */
static size_t meta_ints(const elattn_attn_desc *d) { return 2 * (size_t)(d->batch + 1) + (size_t)d->batch * d->num_kv_heads; }

elattn_status ocl_attn_plan(void *dv, const elattn_attn_desc *desc, const elattn_plan_options *options,
                            elattn_backend_plan *out)
{
    ocl_device *dev = dv;
    attn_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (plan)");
    attn_choose_ctx ctx = {&dev->caps, desc, options, {0}};
    elattn_status st = ocl_select(dev, OCL_ATTN_FAMILY, options->kernel, desc->head_dim, desc->dtype, attn_choose,
                                  &ctx, p->name, sizeof p->name);
    p->choice = ctx.choice;
    cl_program program = NULL;
    if (st == ELATTN_SUCCESS) st = ocl_get_program(dev, "attn", p->choice.options, &program);
    if (st == ELATTN_SUCCESS) st = ocl_kernel_create(dev, program, "elattn_attn_fused", (size_t)p->choice.wg, &p->kernel);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    p->chunks = *desc;
    p->chunks.num_q_heads = desc->num_q_heads / p->choice.heads_per_tile;
    int positions = p->choice.tile_m / p->choice.heads_per_tile;
    p->max_items = elattn_worklist_max_items(&p->chunks, positions, 0);
    p->items_at = (meta_ints(desc) + 3) & ~(size_t)3;
    size_t ints;
    if (!elattn_size_mul(4, p->max_items, &ints) || !elattn_size_add(p->items_at, ints, &ints) ||
        !elattn_size_mul(ints, sizeof(int32_t), &p->workspace_bytes)) {
        size_t items = p->max_items;
        ocl_attn_plan_destroy(dev, p);
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.batch/num_q_heads/max_seqlen_q: the work list (%zu items) does not fit in size_t",
                           items);
    }
    out->impl = p;
    out->kernel_name = p->name;
    out->workspace_bytes = p->workspace_bytes;
    return ELATTN_SUCCESS;
}

void ocl_attn_plan_destroy(void *dv, void *impl)
{
    (void)dv;
    attn_plan *p = impl;
    if (!p) return;
    ocl_kernel_release(&p->kernel);
    free(p);
}

elattn_status ocl_attn_run(void *dv, const void *impl, void *stream, const elattn_attn_call *call)
{
    ocl_device *dev = dv;
    attn_plan *p = (attn_plan *)impl; /* immutable; only the kernel's lock is taken */
    const elattn_attn_desc *d = call->desc;
    const int B = d->batch, Hkv = d->num_kv_heads;
    const int positions = p->choice.tile_m / p->choice.heads_per_tile;

    int32_t *blob = malloc(p->workspace_bytes);
    if (!blob) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (work list)");
    const int cu_q_at = 0, cu_k_at = B + 1, modes_at = 2 * (B + 1), items_at = (int)p->items_at;
    memcpy(blob + cu_q_at, call->cu_seqlens_q, sizeof(int32_t) * (B + 1));
    memcpy(blob + cu_k_at, call->cu_seqlens_k, sizeof(int32_t) * (B + 1));
    memcpy(blob + modes_at, call->modes, sizeof(int32_t) * (size_t)B * Hkv);
    for (int i = modes_at + B * Hkv; i < items_at; ++i) blob[i] = 0;

    elattn_attn_call chunked = *call;
    chunked.desc = &p->chunks;
    int n = elattn_worklist_build(&chunked, positions, p->choice.tile_n, 0, (elattn_work_item *)(blob + items_at));
    if (n < 0) {
        free(blob);
        return ELATTN_ERROR_OUT_OF_MEMORY; /* message set by the schedule */
    }
    if (n == 0) { /* no query rows at all: nothing to write */
        free(blob);
        return ELATTN_SUCCESS;
    }

    cl_command_queue queue = ocl_queue(dev, stream);
    cl_mem ws = (cl_mem)call->workspace;
    elattn_status st = ocl_upload_meta(queue, ws, blob, ((size_t)items_at + 4 * (size_t)n) * sizeof(int32_t));
    if (st != ELATTN_SUCCESS) return st;

    cl_mem q = call->q, k = call->k, v = call->v, o = call->o;
    cl_mem lse = call->lse ? (cl_mem)call->lse : ws;          /* never read when write_lse is 0 */
    cl_mem mask = call->block_mask ? (cl_mem)call->block_mask : ws; /* read only for BLOCK_SPARSE heads */
    const ocl_arg args[] = {
        OCL_ARG(call->params), OCL_ARG(q), OCL_ARG(k), OCL_ARG(v), OCL_ARG(o), OCL_ARG(lse), OCL_ARG(mask),
        OCL_ARG(ws), OCL_ARG(cu_q_at), OCL_ARG(cu_k_at), OCL_ARG(modes_at), OCL_ARG(items_at),
    };
    return ocl_launch(&p->kernel, queue, args, (int)(sizeof args / sizeof args[0]), (size_t)n, (size_t)p->choice.wg,
                      p->name);
}

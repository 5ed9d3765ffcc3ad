/*
 * XAttention block selection on OpenCL: the family table, selection, plan,
 * run. Kernels: kernels/opencl/xattn.cl and xattn_mma.cl. Three families,
 * tried in this order:
 *
 *   opencl.xattn.mma      (NVIDIA, compute capability 8.0+, fp16/bf16): the
 *       estimation's scores in tensor cores (xattn_mma.cl, mma.sync through
 *       inline PTX) straight from Q and K, then the clblast family's
 *       softmax/block-sum kernel; ELATTN_OPENCL_MMA_EMULATE=1 runs it with
 *       its warp instructions emulated on any device;
 *   opencl.xattn.clblast  (built with CLBlast, meson option `clblast`): the
 *       estimation is a GEMM of packed reshaped queries and keys per KV head
 *       through CLBlast, then our softmax/block-sum kernel;
 *   opencl.xattn.scalar   our own kernels only: dot products, softmax and
 *       block sums in one kernel.
 *
 * All fill the same block-score table in the workspace and share the
 * selection kernel. The mma and clblast families compute a pass of reshaped
 * query rows at a time into a score matrix (the "GEMM passes" below).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_internal.h"
#if ELATTN_HAVE_CLBLAST
#include <clblast_c.h>
#endif

typedef enum xattn_kind { XA_SCALAR, XA_CLBLAST, XA_MMA } xattn_kind;

typedef struct xattn_choice {
    xattn_kind kind;
    int head_dim, stride, block, rows, wg, dtype;
    int tile_m, tile_n; /* mma: the score tile */
    char variant[48];
    char options[320];
} xattn_choice;

/* Work-group size per device class. */
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

/* What every family shares: shape, work-group size (options.work_group_size, else
 * default_wg), the options it refuses (tiles: only the mma family has them). */
static elattn_status common_choose(const ocl_caps *caps, const elattn_xattn_desc *d, const elattn_plan_options *opt,
                                   xattn_kind kind, int default_wg, xattn_choice *c)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->head_dim = d->head_dim;
    c->stride = d->stride;
    c->block = d->block_size;
    c->dtype = (int)d->dtype;
    c->wg = opt->work_group_size ? opt->work_group_size : default_wg;
    if (kind != XA_MMA && (opt->tile_m || opt->tile_n))
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m/tile_n: this OpenCL XAttention kernel has no tiles to set (use 0)");
    if (!is_pow2(c->wg) || (size_t)c->wg > caps->max_wg)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d must be a power of two <= %zu (device limit)", c->wg,
                           caps->max_wg);
    snprintf(c->variant, sizeof c->variant, "s%db%dw%d", c->stride, c->block, c->wg);
    return ELATTN_SUCCESS;
}

static elattn_status finish_choose(const ocl_caps *caps, size_t local, const char *extra, xattn_choice *c)
{
    if (local > caps->local_mem)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "opencl xattn: needs %zu bytes of local memory, the device has %zu",
                           local, caps->local_mem);
    char defs[280];
    snprintf(defs, sizeof defs, "-DELATTN_HEAD_DIM=%d -DELATTN_XA_STRIDE=%d -DELATTN_XA_BLOCK=%d %s", c->head_dim,
             c->stride, c->block, extra);
    ocl_format_options(c->options, sizeof c->options, c->dtype, c->wg, defs);
    return ELATTN_SUCCESS;
}

/* The scalar family: fills `c`, or says why it cannot run the call. */
static elattn_status scalar_xattn_choose(const ocl_caps *caps, const elattn_xattn_desc *d,
                                         const elattn_plan_options *opt, xattn_choice *c)
{
    elattn_status st = common_choose(caps, d, opt, XA_SCALAR, xattn_wg(caps->cls), c);
    if (st != ELATTN_SUCCESS) return st;
    /* reshaped rows per pass: their dot products live in private registers */
    c->rows = d->block_size / d->stride < 8 ? d->block_size / d->stride : 8;
    size_t local = sizeof(float) * ((size_t)c->rows * d->head_dim + 2 * (size_t)c->wg + 2 * (size_t)c->rows);
    char extra[64];
    snprintf(extra, sizeof extra, "-DELATTN_XA_GEMM=0 -DELATTN_XA_ROWS=%d", c->rows);
    return finish_choose(caps, local, extra, c);
}

#if ELATTN_HAVE_CLBLAST
/* The clblast family: fp32 GEMM (CLBlastSgemm) for every dtype; our kernels
 * pack (and widen) Q and K, and reduce the scores. */
static elattn_status clblast_xattn_choose(const ocl_caps *caps, const elattn_xattn_desc *d,
                                          const elattn_plan_options *opt, xattn_choice *c)
{
    elattn_status st = common_choose(caps, d, opt, XA_CLBLAST, xattn_wg(caps->cls), c);
    if (st != ELATTN_SUCCESS) return st;
    const size_t cells = (size_t)(d->block_size / d->stride);
    size_t local = sizeof(float) * (2 * (size_t)c->wg + 2 * cells) + sizeof(int) * cells;
    return finish_choose(caps, local, "-DELATTN_XA_GEMM=1", c);
}
#endif

/* The mma family: the score tile from the table (opencl_tuning.c, "xattn.mma") or the options;
 * the softmax and selection kernels of the same program run at the table's work-group size too
 * (one per tile row group: wg = 2 tile_m or tile_m says 16 or 32 rows per warp). */
static elattn_status mma_xattn_choose(const ocl_caps *caps, const elattn_xattn_desc *d,
                                      const elattn_plan_options *opt, xattn_choice *c)
{
    memset(c, 0, sizeof *c);
    int emulate = 0;
    elattn_status st = ocl_mma_usable(caps, &emulate);
    if (st != ELATTN_SUCCESS) return st;
    if (d->dtype != ELATTN_F16 && d->dtype != ELATTN_BF16)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc.dtype: fp16 and bf16 only");
    if (d->head_dim % 16 != 0)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc.head_dim: %d is not a multiple of 16", d->head_dim);
    const ocl_tune_row *row = ocl_tune_lookup("xattn.mma", caps, d->head_dim);
    if (!row && (!opt->tile_m || !opt->tile_n || !opt->work_group_size))
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "no XAttention mma tile configuration for this device class "
                                                     "(options.tile_m, tile_n and work_group_size give one)");
    if ((st = common_choose(caps, d, opt, XA_MMA, row ? row->wg : 0, c)) != ELATTN_SUCCESS) return st;
    const int m = opt->tile_m ? opt->tile_m : row->tile_m, n = opt->tile_n ? opt->tile_n : row->tile_n;
    const int wg = c->wg;
    if (m % 16 != 0 || (wg != 2 * m && wg != m) || wg < 32)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m/work_group_size: the XAttention mma kernel runs one warp (32) per 16 or "
                           "32 rows: tile_m %d takes %d or %d work-items, not %d",
                           m, 2 * m, m, wg);
    if (n % 16 != 0 || n > 256)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_n: %d must be a multiple of 16, at most 256", n);
    const int mw = 2 * m / wg;
    const size_t row_bytes = d->head_dim % 64 == 0 ? 2 * (size_t)d->head_dim : 2 * (size_t)d->head_dim + 16;
    /* keep in step with xattn_mma.cl's XSMEM_BYTES and xch; the program's softmax kernel needs less */
    const size_t local = row_bytes * (size_t)(m + n) + (emulate ? (size_t)(wg / 32) * 32 * 6 * 4 : 0);
    const size_t accumulators = (size_t)mw * (size_t)n / 2; /* fp32 scores per work-item */
    if (accumulators > 128)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_n: %d columns at %d rows per warp hold %zu accumulators per work-item, "
                           "more than the kernel's 128", n, 16 * mw, accumulators);
    c->tile_m = m;
    c->tile_n = n;
    snprintf(c->variant, sizeof c->variant, "s%db%dm%dn%dw%dr%d%s", c->stride, c->block, m, n, wg, mw,
             emulate ? ".emu" : "");
    char extra[160];
    snprintf(extra, sizeof extra, "-DELATTN_XA_GEMM=2 -DELATTN_XA_TILE_M=%d -DELATTN_XA_TILE_N=%d -DELATTN_WARP_M=%d %s",
             m, n, mw, emulate ? "-DELATTN_MMA_EMULATE=1" : "-DELATTN_NV_PTX=1");
    return finish_choose(caps, local, extra, c);
}

typedef elattn_status (*xattn_choose_fn)(const ocl_caps *, const elattn_xattn_desc *, const elattn_plan_options *,
                                         xattn_choice *);
typedef struct xattn_family {
    const char *name;
    xattn_choose_fn choose;
} xattn_family;

/* The first family that can run a call wins (elattn_family_select). */
static const xattn_family xattn_families[] = {
    {"opencl.xattn.mma", mma_xattn_choose},
#if ELATTN_HAVE_CLBLAST
    {"opencl.xattn.clblast", clblast_xattn_choose},
#endif
    {"opencl.xattn.scalar", scalar_xattn_choose},
};
enum { XATTN_FAMILIES = (int)(sizeof xattn_families / sizeof xattn_families[0]) };

int ocl_xattn_families(const char **names, int max)
{
    for (int i = 0; i < XATTN_FAMILIES && i < max; ++i) names[i] = xattn_families[i].name;
    return XATTN_FAMILIES;
}

typedef struct xattn_probe_ctx {
    const ocl_caps *caps;
    const elattn_xattn_desc *desc;
    const elattn_plan_options *options;
    xattn_choice choice;
} xattn_probe_ctx;

static int xattn_probe(void *ctx, int index, char *variant, size_t variant_n, const char **why)
{
    xattn_probe_ctx *c = ctx;
    if (xattn_families[index].choose(c->caps, c->desc, c->options, &c->choice) != ELATTN_SUCCESS) {
        *why = elattn_last_error(); /* the selection copies it before it sets a message of its own */
        return 0;
    }
    snprintf(variant, variant_n, "%s", c->choice.variant);
    return 1;
}

typedef struct xattn_plan {
    xattn_choice choice;
    char name[128];
    ocl_kernel scores, select, pack_k, pack_q, softmax;
    int mask_qblocks, mask_kblocks;
    /* Workspace, in this order (each region 256-byte aligned):
     *   [0, temp_bytes)  CLBlast's temporary matrices (clblast family; CLBlast
     *                    takes them from the start of the buffer it is given)
     *   meta_at          ints: cu_q [B+1], cu_k [B+1], modes [B][Hkv],
     *                    tau [Hkv] (fp32 bits), slots [B][Hkv]
     *   scores_at        the block-score table [B][Hkv][mask_qblocks][mask_kblocks] fp32
     *   kp_at, qp_at, c_at  (clblast family) packed keys [Hkv][ncols][S*D],
     *                    packed query rows [Hq][chunk_rows][S*D], scores [Hq][chunk_rows][ncols], fp32
     * Offsets are in 4-byte units. */
    size_t temp_bytes, meta_at, scores_at, kp_at, qp_at, c_at;
    int chunk_rows; /* reshaped query rows per GEMM pass (a multiple of block / stride) */
} xattn_plan;

static size_t meta_ints(const elattn_xattn_desc *d)
{
    return 2 * (size_t)(d->batch + 1) + 2 * (size_t)d->batch * d->num_kv_heads + (size_t)d->num_kv_heads;
}

/* Bytes of packed query rows and their scores one GEMM pass may hold; more
 * rows per pass mean bigger GEMMs and fewer launches, fewer rows waste less of
 * the causal triangle (skipped per pass). The conformance case at stride 1,
 * Lq 2100 < Lk 2300 takes two passes with this value: keep it so. */
#define XATTN_CHUNK_BYTES ((size_t)128 << 20)

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

#if ELATTN_HAVE_CLBLAST
static const char *clblast_status_name(int s)
{
    switch (s) {
#define E(x) case x: return #x;
    E(CLBlastNotImplemented) E(CLBlastInvalidMatrixA) E(CLBlastInvalidMatrixB) E(CLBlastInvalidMatrixC)
    E(CLBlastInvalidVectorX) E(CLBlastInvalidVectorY) E(CLBlastInvalidDimension) E(CLBlastInvalidLeadDimA)
    E(CLBlastInvalidLeadDimB) E(CLBlastInvalidLeadDimC) E(CLBlastInvalidIncrementX) E(CLBlastInvalidIncrementY)
    E(CLBlastInsufficientMemoryA) E(CLBlastInsufficientMemoryB) E(CLBlastInsufficientMemoryC)
    E(CLBlastInsufficientMemoryX) E(CLBlastInsufficientMemoryY) E(CLBlastInsufficientMemoryTemp)
    E(CLBlastInvalidBatchCount) E(CLBlastInvalidOverrideKernel) E(CLBlastMissingOverrideParameter)
    E(CLBlastInvalidLocalMemUsage) E(CLBlastNoHalfPrecision) E(CLBlastNoDoublePrecision)
    E(CLBlastInvalidVectorScalar) E(CLBlastInsufficientMemoryScalar) E(CLBlastDatabaseError)
    E(CLBlastUnknownError) E(CLBlastUnexpectedError)
#undef E
    }
    return ocl_error_name((cl_int)s); /* the codes CLBlast shares with OpenCL */
}

static elattn_status clblast_fail(CLBlastStatusCode s, const char *call, const char *what)
{
    const elattn_status st = s == CLBlastTempBufferAllocFailure || s == CLBlastOpenCLOutOfHostMemory
                                 ? ELATTN_ERROR_OUT_OF_MEMORY
                                 : ELATTN_ERROR_BACKEND;
    return elattn_fail(st, "opencl: %s failed with CLBlast status %d (%s) [%s]", call, (int)s,
                       clblast_status_name((int)s), what);
}

/* The GEMM of one pass: C = alpha * A B^T, A [m][k] at a_at, B [n][k] at
 * b_at, C [m][n] at c_at, all row-major in the workspace (4-byte units). */
typedef struct gemm_shape {
    size_t m, n, k, a_at, b_at, c_at;
} gemm_shape;

static CLBlastStatusCode gemm_temp_bytes(const gemm_shape *g, cl_command_queue queue, size_t *bytes)
{
    return CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, g->m, g->n,
                                      g->k, g->a_at, g->k, g->b_at, g->k, g->c_at, g->n, &queue, bytes);
}
#endif

/* Pass size and workspace layout of the GEMM-pass families (mma, clblast);
 * CLBlast's temporary space is asked for at the largest pass: its size only
 * grows with m, n, k. */
static elattn_status gemm_layout(ocl_device *dev, const elattn_xattn_desc *d, xattn_plan *p, size_t *floats)
{
    const int clblast = p->choice.kind == XA_CLBLAST;
    const int S = d->stride, cells = d->block_size / S;
    const size_t SD = (size_t)S * d->head_dim;
    const size_t ncols = (size_t)ceil_div(d->max_seqlen_k, S);
    const int row_cap = ceil_div(ceil_div(d->max_seqlen_q, S), cells) * cells;
    size_t per_row; /* floats per reshaped row of a pass: scores (and packed rows) of every query head */
    if (!elattn_size_add(clblast ? SD : 0, ncols, &per_row) ||
        !elattn_size_mul(per_row, (size_t)d->num_q_heads, &per_row))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc: the XAttention GEMM's rows do not fit in size_t");
    size_t rows = XATTN_CHUNK_BYTES / sizeof(float) / per_row / (size_t)cells * (size_t)cells;
    if (rows < (size_t)cells) rows = (size_t)cells;
    if (rows > (size_t)row_cap) rows = (size_t)row_cap;
    p->chunk_rows = (int)rows;

    size_t kp = 0, qp = 0, c, end;
    if ((clblast && (!elattn_size_mul3((size_t)d->num_kv_heads, ncols, SD, &kp) ||
                     !elattn_size_mul3((size_t)d->num_q_heads, rows, SD, &qp))) ||
        !elattn_size_mul3((size_t)d->num_q_heads, rows, ncols, &c))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc: the XAttention GEMM's matrices do not fit in size_t");
    p->temp_bytes = 0;
    if (clblast) {
#if ELATTN_HAVE_CLBLAST
        const gemm_shape largest = {(size_t)(d->num_q_heads / d->num_kv_heads) * rows, ncols, SD, 1, 1, 1};
        size_t temp = 0;
        CLBlastStatusCode cs = gemm_temp_bytes(&largest, dev->queue, &temp);
        if (cs != CLBlastSuccess) return clblast_fail(cs, "CLBlastSGemmTempBufferSize", "xattn plan");
        p->temp_bytes = (temp + 255) & ~(size_t)255;
#else
        (void)dev;
        return elattn_fail(ELATTN_ERROR_INTERNAL, "opencl xattn: the clblast family without CLBlast");
#endif
    }
    p->meta_at = p->temp_bytes / sizeof(float);
    p->scores_at = p->meta_at + ((meta_ints(d) + 63) & ~(size_t)63);
    if (!elattn_size_add(p->scores_at, *floats, &end)) goto overflow;
    p->kp_at = end;
    if (!elattn_size_add(p->kp_at, (kp + 63) & ~(size_t)63, &p->qp_at) ||
        !elattn_size_add(p->qp_at, (qp + 63) & ~(size_t)63, &p->c_at) || !elattn_size_add(p->c_at, c, floats))
        goto overflow;
    return ELATTN_SUCCESS;
overflow:
    return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc: the XAttention GEMM's workspace does not fit in size_t");
}

elattn_status ocl_xattn_plan(void *dv, const elattn_xattn_desc *desc, const elattn_plan_options *options,
                             elattn_backend_plan *out)
{
    ocl_device *dev = dv;
    xattn_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (plan)");
    cl_program program = NULL;
    xattn_probe_ctx ctx = {&dev->caps, desc, options, {0}};
    const char *names[XATTN_FAMILIES];
    ocl_xattn_families(names, XATTN_FAMILIES);
    elattn_status st = elattn_family_select(names, XATTN_FAMILIES, options->kernel, desc->head_dim, desc->dtype,
                                            ocl_device_label(dev), xattn_probe, &ctx, p->name, sizeof p->name) < 0
                           ? ELATTN_ERROR_UNSUPPORTED
                           : ELATTN_SUCCESS;
    p->choice = ctx.choice;
    const xattn_kind kind = p->choice.kind;
    const size_t wg = (size_t)p->choice.wg;
    if (st == ELATTN_SUCCESS)
        st = ocl_get_program(dev, kind == XA_MMA ? "xattn_mma" : "xattn", p->choice.options, &program);
    if (st == ELATTN_SUCCESS && kind == XA_SCALAR)
        st = ocl_kernel_create(dev, program, "elattn_xattn_scores", wg, &p->scores);
    if (st == ELATTN_SUCCESS && kind == XA_MMA)
        st = ocl_kernel_create(dev, program, "elattn_xattn_mma_scores", wg, &p->scores);
    if (st == ELATTN_SUCCESS && kind == XA_CLBLAST)
        st = ocl_kernel_create(dev, program, "elattn_xattn_pack_k", wg, &p->pack_k);
    if (st == ELATTN_SUCCESS && kind == XA_CLBLAST)
        st = ocl_kernel_create(dev, program, "elattn_xattn_pack_q", wg, &p->pack_q);
    if (st == ELATTN_SUCCESS && kind != XA_SCALAR)
        st = ocl_kernel_create(dev, program, "elattn_xattn_gemm_softmax", wg, &p->softmax);
    if (st == ELATTN_SUCCESS) st = ocl_kernel_create(dev, program, "elattn_xattn_select", (size_t)p->choice.wg, &p->select);
    if (st != ELATTN_SUCCESS) {
        ocl_xattn_plan_destroy(dev, p);
        return st;
    }
    p->mask_qblocks = (desc->max_seqlen_q + desc->block_size - 1) / desc->block_size;
    p->mask_kblocks = (desc->max_seqlen_k + desc->block_size - 1) / desc->block_size;
    size_t floats, bytes;
    if (!elattn_size_mul4((size_t)desc->batch, (size_t)desc->num_kv_heads, (size_t)p->mask_qblocks,
                          (size_t)p->mask_kblocks, &floats)) {
        ocl_xattn_plan_destroy(dev, p);
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.batch/num_kv_heads/max_seqlen_q/max_seqlen_k: the block-score table does not fit "
                           "in size_t");
    }
    if (kind != XA_SCALAR) {
        st = gemm_layout(dev, desc, p, &floats);
    } else {
        p->meta_at = 0;
        p->scores_at = (meta_ints(desc) + 63) & ~(size_t)63; /* 256-byte aligned table */
        if (!elattn_size_add(p->scores_at, floats, &floats))
            st = elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc: the block-score table does not fit in size_t");
    }
    /* the kernels take the table's and the metadata's offsets as int */
    if (st == ELATTN_SUCCESS && p->scores_at > (size_t)INT_MAX)
        st = elattn_fail(ELATTN_ERROR_UNSUPPORTED, "opencl xattn: CLBlast's temporary space (%zu bytes) puts the "
                         "block-score table beyond the kernels' int offsets", p->temp_bytes);
    if (st == ELATTN_SUCCESS && !elattn_size_mul(floats, sizeof(float), &bytes))
        st = elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc: the XAttention workspace does not fit in size_t");
    if (st != ELATTN_SUCCESS) {
        ocl_xattn_plan_destroy(dev, p);
        return st;
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
    ocl_kernel_release(&p->pack_k);
    ocl_kernel_release(&p->pack_q);
    ocl_kernel_release(&p->softmax);
    free(p);
}

/* Metadata offsets (ints from the workspace's start) of a run. */
typedef struct xattn_meta {
    int cu_q_at, cu_k_at, modes_at, taus_at, slots_at, scores_at;
} xattn_meta;

#if ELATTN_HAVE_CLBLAST
/* The clblast family's scores of one pass: the pass's query rows packed, then
 * one GEMM per BLOCK_SPARSE KV head (its group's query heads stacked as rows)
 * over the n columns the pass can see (ncols: the element's, the packed keys' pitch). */
static elattn_status clblast_pass(xattn_plan *p, cl_command_queue queue, const elattn_xattn_call *call,
                                  const xattn_meta *m, int b, int nslots, const int *slot_heads, int r0, int rows,
                                  int n, int ncols, float alpha)
{
    const elattn_xattn_desc *d = call->desc;
    const int Hq = d->num_q_heads, Hkv = d->num_kv_heads, group = Hq / Hkv, wg = p->choice.wg;
    const size_t SD = (size_t)d->stride * d->head_dim;
    cl_mem ws = (cl_mem)call->workspace, q = call->q;
    const cl_ulong qp_at = p->qp_at;
    const size_t items = (size_t)nslots * group * rows * SD / 4;
    const ocl_arg args[] = {OCL_ARG(q),  OCL_ARG(ws),   OCL_ARG(m->cu_q_at), OCL_ARG(m->slots_at),
                            OCL_ARG(b),  OCL_ARG(Hq),   OCL_ARG(Hkv),        OCL_ARG(nslots),
                            OCL_ARG(r0), OCL_ARG(rows), OCL_ARG(ws),         OCL_ARG(qp_at)};
    elattn_status st = ocl_launch(&p->pack_q, queue, args, (int)(sizeof args / sizeof args[0]),
                                  (items + wg - 1) / wg, (size_t)wg, "elattn_xattn_pack_q");
    if (st != ELATTN_SUCCESS) return st;
    const size_t mm = (size_t)group * rows;
    char what[96];
    for (int s = 0; s < nslots; ++s) {
        const gemm_shape g = {mm, (size_t)n, SD, p->qp_at + (size_t)s * mm * SD,
                              p->kp_at + (size_t)s * (size_t)ncols * SD, p->c_at + (size_t)s * mm * n};
        snprintf(what, sizeof what, "xattn estimation: element %d, KV head %d, rows %d..%d", b, slot_heads[s], r0,
                 r0 + rows - 1);
        CLBlastStatusCode cs;
        if (s == 0) { /* the slots' GEMMs differ only in their (nonzero) offsets */
            size_t temp = 0;
            cs = gemm_temp_bytes(&g, queue, &temp);
            if (cs != CLBlastSuccess) return clblast_fail(cs, "CLBlastSGemmTempBufferSize", what);
            if (temp > p->temp_bytes) /* the plan asked at the largest shape: never expected */
                return elattn_fail(ELATTN_ERROR_BACKEND,
                                   "opencl: CLBlast wants %zu bytes of temporary space, the plan reserved %zu [%s]",
                                   temp, p->temp_bytes, what);
        }
        cs = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, g.m, g.n, g.k,
                                        alpha, ws, g.a_at, g.k, ws, g.b_at, g.k, 0.0f, ws, g.c_at, g.n, &queue, NULL,
                                        ws);
        if (cs != CLBlastSuccess) return clblast_fail(cs, "CLBlastSgemmWithTempBuffer", what);
    }
    return ELATTN_SUCCESS;
}
#endif

/* The mma family's scores of one pass: one launch, a work-group per score tile
 * (xattn_mma.cl), straight from Q and K. */
static elattn_status mma_pass(xattn_plan *p, cl_command_queue queue, const elattn_xattn_call *call,
                              const xattn_meta *m, int b, int nslots, int r0, int rows, int n, float alpha)
{
    const elattn_xattn_desc *d = call->desc;
    const int Hq = d->num_q_heads, Hkv = d->num_kv_heads, group = Hq / Hkv, causal = d->causal;
    const int row_tiles = ceil_div(rows, p->choice.tile_m), col_tiles = ceil_div(n, p->choice.tile_n);
    cl_mem ws = (cl_mem)call->workspace, q = call->q, k = call->k;
    const cl_ulong c_at = p->c_at;
    const ocl_arg args[] = {OCL_ARG(q),         OCL_ARG(k),         OCL_ARG(ws),     OCL_ARG(m->cu_q_at),
                            OCL_ARG(m->cu_k_at), OCL_ARG(m->slots_at), OCL_ARG(b),    OCL_ARG(Hq),
                            OCL_ARG(Hkv),       OCL_ARG(causal),    OCL_ARG(r0),     OCL_ARG(rows),
                            OCL_ARG(n),         OCL_ARG(row_tiles), OCL_ARG(col_tiles), OCL_ARG(alpha),
                            OCL_ARG(ws),        OCL_ARG(c_at)};
    return ocl_launch(&p->scores, queue, args, (int)(sizeof args / sizeof args[0]),
                      (size_t)nslots * group * row_tiles * col_tiles, (size_t)p->choice.wg, "elattn_xattn_mma_scores");
}

/* A GEMM-pass family's estimation of element b into the block-score table:
 * (clblast: its keys packed once,) then per pass of chunk_rows reshaped rows
 * the pass's scores and the softmax/block-sum kernel. Columns no row of a pass
 * can see (causal) are left out of its scores. */
static elattn_status gemm_element(xattn_plan *p, cl_command_queue queue, const elattn_xattn_call *call,
                                  const xattn_meta *m, int b, int nslots, const int *slot_heads)
{
    const elattn_xattn_desc *d = call->desc;
    const int S = d->stride, Hq = d->num_q_heads, Hkv = d->num_kv_heads;
    const int causal = d->causal, wg = p->choice.wg, cells = d->block_size / S;
    const int len_q = call->cu_seqlens_q[b + 1] - call->cu_seqlens_q[b];
    const int len_k = call->cu_seqlens_k[b + 1] - call->cu_seqlens_k[b];
    const int nqr = ceil_div(len_q, S), ncols = ceil_div(len_k, S);
    const float alpha = (float)((double)d->scale * 1.4426950408889634 / S); /* scores in log2 units */
    cl_mem ws = (cl_mem)call->workspace;
    const cl_ulong c_at = p->c_at;
    const int mqb = p->mask_qblocks, mkb = p->mask_kblocks;
    elattn_status st = ELATTN_SUCCESS;

#if ELATTN_HAVE_CLBLAST
    if (p->choice.kind == XA_CLBLAST && ncols > 0) {
        cl_mem k = call->k;
        const cl_ulong kp_at = p->kp_at;
        const size_t items = (size_t)nslots * ncols * ((size_t)S * d->head_dim) / 4;
        const ocl_arg args[] = {OCL_ARG(k),  OCL_ARG(ws),  OCL_ARG(m->cu_k_at), OCL_ARG(m->slots_at),
                                OCL_ARG(b),  OCL_ARG(Hkv), OCL_ARG(nslots),     OCL_ARG(ncols),
                                OCL_ARG(ws), OCL_ARG(kp_at)};
        st = ocl_launch(&p->pack_k, queue, args, (int)(sizeof args / sizeof args[0]), (items + wg - 1) / wg,
                        (size_t)wg, "elattn_xattn_pack_k");
        if (st != ELATTN_SUCCESS) return st;
    }
#endif
    for (int r0 = 0; r0 < nqr; r0 += p->chunk_rows) {
        const int rows = nqr - r0 < p->chunk_rows ? nqr - r0 : p->chunk_rows;
        int n = ncols; /* columns the pass's last row sees; earlier rows see a prefix of them */
        if (causal) {
            const int last = elattn_xattn_row_last_pos(r0 + rows - 1, S, len_q, len_k);
            n = last < 0 ? 0 : (last / S + 1 < ncols ? last / S + 1 : ncols);
        }
        if (n > 0) {
            if (p->choice.kind == XA_MMA) {
                st = mma_pass(p, queue, call, m, b, nslots, r0, rows, n, alpha);
            } else {
#if ELATTN_HAVE_CLBLAST
                st = clblast_pass(p, queue, call, m, b, nslots, slot_heads, r0, rows, n, ncols, alpha);
#else
                (void)slot_heads;
                st = elattn_fail(ELATTN_ERROR_INTERNAL, "opencl xattn: the clblast family without CLBlast");
#endif
            }
            if (st != ELATTN_SUCCESS) return st;
        }
        const ocl_arg args[] = {OCL_ARG(ws),     OCL_ARG(m->cu_q_at), OCL_ARG(m->cu_k_at), OCL_ARG(m->slots_at),
                                OCL_ARG(b),      OCL_ARG(Hq),         OCL_ARG(Hkv),        OCL_ARG(causal),
                                OCL_ARG(r0),     OCL_ARG(rows),       OCL_ARG(n),          OCL_ARG(ws),
                                OCL_ARG(c_at),   OCL_ARG(mqb),        OCL_ARG(mkb),        OCL_ARG(ws),
                                OCL_ARG(m->scores_at)};
        st = ocl_launch(&p->softmax, queue, args, (int)(sizeof args / sizeof args[0]),
                        (size_t)nslots * ceil_div(rows, cells), (size_t)wg, "elattn_xattn_gemm_softmax");
        if (st != ELATTN_SUCCESS) return st;
    }
    return ELATTN_SUCCESS;
}

static elattn_status xattn_run_host_modes(ocl_device *dev, xattn_plan *p, void *stream, const elattn_xattn_call *call);

/* A blocking read of `bytes` of a device table into host memory (malloc'd into *out). */
static elattn_status read_table(cl_command_queue queue, const void *mem, size_t bytes, void **out, const char *what)
{
    *out = malloc(bytes);
    if (!*out) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (%s)", what);
    cl_int err = clEnqueueReadBuffer(queue, (cl_mem)mem, CL_TRUE, 0, bytes, *out, 0, NULL, NULL);
    return err != CL_SUCCESS ? ocl_fail(err, "clEnqueueReadBuffer", what) : ELATTN_SUCCESS;
}

/* The OpenCL estimation picks its heads on the host: device tables (modes, thresholds) are read
 * back first (one blocking read each; the CUDA/HIP backends read them on the device). Lengths
 * from a batch are the core's host copies already. */
elattn_status ocl_xattn_run(void *dv, const void *impl, void *stream, const elattn_xattn_call *call)
{
    ocl_device *dev = dv;
    xattn_plan *p = (xattn_plan *)impl;
    if (!call->modes_device && !call->thresholds_device) return xattn_run_host_modes(dev, p, stream, call);
    cl_command_queue queue = ocl_queue(dev, stream);
    const int Hkv = call->desc->num_kv_heads, entries = call->desc->batch * Hkv;
    int32_t *modes = NULL;
    float *given = NULL, *taus = NULL;
    elattn_status st = ELATTN_SUCCESS;
    if (call->modes_device) st = read_table(queue, call->modes_device, sizeof(int32_t) * entries, (void **)&modes, "modes_buffer");
    for (int i = 0; st == ELATTN_SUCCESS && modes && i < entries; ++i)
        if (modes[i] < 0 || modes[i] >= ELATTN_MODE_COUNT)
            st = elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.modes_buffer[%d]: %d is not an elattn_mode", i,
                             (int)modes[i]);
    if (st == ELATTN_SUCCESS && call->thresholds_device) {
        st = read_table(queue, call->thresholds_device, sizeof(float) * call->num_thresholds_device, (void **)&given,
                        "thresholds_buffer");
        if (st == ELATTN_SUCCESS && !(taus = malloc(sizeof(float) * Hkv)))
            st = elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (thresholds)");
        for (int h = 0; st == ELATTN_SUCCESS && h < Hkv; ++h) {
            taus[h] = given[call->num_thresholds_device == 1 ? 0 : h];
            if (!(taus[h] > 0.0f && taus[h] <= 1.0f))
                st = elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.thresholds_buffer: %g is outside (0, 1]",
                                 (double)taus[h]);
        }
    }
    if (st == ELATTN_SUCCESS) {
        elattn_xattn_call host = *call;
        if (modes) host.modes = modes, host.modes_device = NULL;
        if (taus) host.thresholds = taus, host.thresholds_device = NULL;
        st = xattn_run_host_modes(dev, p, stream, &host);
    }
    free(modes), free(given), free(taus);
    return st;
}

static elattn_status xattn_run_host_modes(ocl_device *dev, xattn_plan *p, void *stream, const elattn_xattn_call *call)
{
    const elattn_xattn_desc *d = call->desc;
    const int B = d->batch, Hkv = d->num_kv_heads, Hq = d->num_q_heads;
    int any = 0;
    for (int i = 0; i < B * Hkv; ++i) any |= call->modes[i] == ELATTN_MODE_BLOCK_SPARSE;
    if (!any) return ELATTN_SUCCESS; /* no mask row to write */

    const int base = (int)p->meta_at;
    const xattn_meta m = {base, base + B + 1, base + 2 * (B + 1), base + 2 * (B + 1) + B * Hkv,
                          base + 2 * (B + 1) + B * Hkv + Hkv, (int)p->scores_at};
    size_t bytes = (p->scores_at - p->meta_at) * sizeof(int32_t);
    int32_t *blob = calloc(1, bytes);
    if (!blob) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (xattn metadata)");
    memcpy(blob + (m.cu_q_at - base), call->cu_seqlens_q, sizeof(int32_t) * (B + 1));
    memcpy(blob + (m.cu_k_at - base), call->cu_seqlens_k, sizeof(int32_t) * (B + 1));
    memcpy(blob + (m.modes_at - base), call->modes, sizeof(int32_t) * (size_t)B * Hkv);
    memcpy(blob + (m.taus_at - base), call->thresholds, sizeof(float) * (size_t)Hkv);
    /* slots: per element, its BLOCK_SPARSE KV heads in order (the GEMM family's batch) */
    int32_t *slots = blob + (m.slots_at - base);
    for (int b = 0; b < B; ++b)
        for (int h = 0, n = 0; h < Hkv; ++h)
            if (call->modes[b * Hkv + h] == ELATTN_MODE_BLOCK_SPARSE) slots[b * Hkv + n++] = h;
    int32_t *slot_copy = NULL; /* the host's copy for the GEMM loop: the blob is freed after the upload */
    if (p->choice.kind != XA_SCALAR && !(slot_copy = malloc(sizeof(int32_t) * (size_t)B * Hkv))) {
        free(blob);
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (xattn slots)");
    }
    if (slot_copy) memcpy(slot_copy, slots, sizeof(int32_t) * (size_t)B * Hkv);

    cl_command_queue queue = ocl_queue(dev, stream);
    cl_mem ws = (cl_mem)call->workspace, q = call->q, k = call->k, mask = call->block_mask;
    elattn_status st = ocl_upload_meta_at(queue, ws, p->meta_at * sizeof(int32_t), blob, bytes);
    const int causal = d->causal, mqb = p->mask_qblocks, mkb = p->mask_kblocks;
    if (st == ELATTN_SUCCESS && p->choice.kind != XA_SCALAR) {
        for (int b = 0; b < B && st == ELATTN_SUCCESS; ++b) {
            int nslots = 0;
            for (int h = 0; h < Hkv; ++h) nslots += call->modes[b * Hkv + h] == ELATTN_MODE_BLOCK_SPARSE;
            if (nslots) st = gemm_element(p, queue, call, &m, b, nslots, slot_copy + b * Hkv);
        }
    } else if (st == ELATTN_SUCCESS) {
        const size_t groups = (size_t)B * Hkv * p->mask_qblocks;
        const float scale_log2 = (float)((double)d->scale * 1.4426950408889634 / d->stride);
        const ocl_arg score_args[] = {
            OCL_ARG(q),   OCL_ARG(k),   OCL_ARG(ws),  OCL_ARG(m.cu_q_at), OCL_ARG(m.cu_k_at), OCL_ARG(m.modes_at),
            OCL_ARG(Hq),  OCL_ARG(Hkv), OCL_ARG(causal), OCL_ARG(scale_log2), OCL_ARG(mqb), OCL_ARG(mkb),
            OCL_ARG(ws),  OCL_ARG(m.scores_at),
        };
        st = ocl_launch(&p->scores, queue, score_args, (int)(sizeof score_args / sizeof score_args[0]), groups,
                        (size_t)p->choice.wg, "elattn_xattn_scores");
    }
    free(slot_copy);
    if (st != ELATTN_SUCCESS) return st;
    const ocl_arg select_args[] = {
        OCL_ARG(ws),  OCL_ARG(m.cu_q_at), OCL_ARG(m.cu_k_at), OCL_ARG(m.modes_at), OCL_ARG(m.taus_at), OCL_ARG(Hkv),
        OCL_ARG(causal), OCL_ARG(mqb), OCL_ARG(mkb), OCL_ARG(ws), OCL_ARG(m.scores_at), OCL_ARG(mask),
    };
    return ocl_launch(&p->select, queue, select_args, (int)(sizeof select_args / sizeof select_args[0]),
                      (size_t)B * Hkv * p->mask_qblocks, (size_t)p->choice.wg, "elattn_xattn_select");
}

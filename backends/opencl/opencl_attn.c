/*
 * Fused hybrid attention on OpenCL: the family table, each family's choice
 * of kernel and tiles (the tiles from opencl_tuning.c), plans and runs. The
 * kernels are kernels/opencl/attn_fused.cl (scalar, subgroup), kernels/opencl/attn_mma.cl
 * (mma), kernels/opencl/attn_mma_async.cl (mma_async) and kernels/opencl/attn_wgmma.cl (wgmma);
 * all take the same arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_internal.h"
#include "worklist.h"

/* ---- the families ------------------------------------------------------------------
 * Tried in this order; the first that can run a descriptor wins:
 *   wgmma     attn_wgmma.cl: Hopper's wgmma through an edited PTX binary (wgmma_warpgroup.cl),
 *             NVIDIA at compute capability 9.0 exactly, fp16/bf16, head dims 64 and 128; a
 *             warpgroup per 64 rows, 128 rows per work-group by default; taken only where the tile
 *             table has a "wgmma" row for the device (none: slower than mma_async and mma on an
 *             H100, calls 119-126), or when named;
 *   mma_async attn_mma_async.cl: the mma kernel with cp.async K/V (FlashAttention-2's pipeline) and,
 *             at 16 rows per warp, Q in registers; fp16/bf16, head dims that are multiples of 16
 *             up to 128; taken only where the tile table has an "mma_async" row for the device,
 *             or when named (options.kernel "opencl.attn.mma_async", with its tiles); its name is
 *             not under "opencl.attn.mma" (an underscore, not a dot), so forcing "opencl.attn.mma"
 *             keeps meaning attn_mma.cl;
 *   mma       attn_mma.cl: mma.sync tensor cores through inline PTX (NVIDIA, sm_80+), fp16/bf16,
 *             head dims that are multiples of 16;
 *   subgroup  attn_fused.cl with one tile row per subgroup: the row max and sum are subgroup
 *             reductions (devices with OpenCL C 2.0/3.0 subgroups; built at that version);
 *   scalar    attn_fused.cl: fp32 arithmetic, every device, dtype and head dim.
 * Tile parameters come from the table of opencl_tuning.c; options.tile_m, tile_n and
 * work_group_size override them. */
enum { FAM_WGMMA, FAM_MMA_ASYNC, FAM_MMA, FAM_SUBGROUP, FAM_SCALAR, FAM_COUNT };
static const char *const attn_family_names[FAM_COUNT] = {"opencl.attn.wgmma", "opencl.attn.mma_async",
                                                          "opencl.attn.mma", "opencl.attn.subgroup",
                                                          "opencl.attn.scalar"};

int ocl_attn_families(const char **names, int max)
{
    for (int i = 0; i < FAM_COUNT && i < max; ++i) names[i] = attn_family_names[i];
    return FAM_COUNT;
}

static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

/* What runs: everything the kernel is specialised on. */
typedef struct attn_choice {
    const char *source_id; /* embedded sources (ocl_get_program) */
    const char *kernel;    /* kernel function */
    int head_dim, tile_m, tile_n, wg;
    int heads_per_tile; /* query heads of one group packed into a tile's rows */
    int dtype;
    char variant[48];   /* the variant part of the kernel name */
    char options[320];
} attn_choice;

/* Tile size from the table or the options (0: the table's). */
static int table_or_option(const ocl_tune_row *row, int table_value, int option) { return option ? option : (row ? table_value : 0); }

/* Heads of one group packed into a tile: the largest power of two that divides the group with at
 * least `min_positions` query positions left per tile. */
static int heads_per_tile(const elattn_attn_desc *d, int tile_m, int min_positions)
{
    int group = d->num_q_heads / d->num_kv_heads, ht = 1;
    while (ht * 2 * min_positions <= tile_m && group % (ht * 2) == 0) ht *= 2;
    return ht;
}

/* Local memory of attn_fused.cl for a configuration (keep in step with its __local arrays;
 * the subgroup variant has no reduction arrays). */
static size_t fused_local_bytes(int d, int m, int n, int wg, int subgroup)
{
    int tpr = wg / m;
    return sizeof(float) * ((size_t)m * (d + 1) + (size_t)n * (d + 1) + (size_t)m * (n + 1) +
                            (subgroup ? 0 : 2 * (size_t)m * tpr));
}

/* The fields every family's choice has: source, kernel, shape; returns the
 * query heads per tile (heads_per_tile with at least min_positions rows each). */
static int fill_choice(attn_choice *c, const char *source_id, const char *kernel, const elattn_attn_desc *d, int m,
                       int n, int wg, int min_positions)
{
    c->source_id = source_id;
    c->kernel = kernel;
    c->head_dim = d->head_dim;
    c->tile_m = m;
    c->tile_n = n;
    c->wg = wg;
    c->heads_per_tile = heads_per_tile(d, m, min_positions);
    c->dtype = (int)d->dtype;
    return c->heads_per_tile;
}

/* attn_fused.cl's thread mapping and limits, shared by the scalar and subgroup families. */
static elattn_status fused_check(const ocl_caps *caps, const elattn_attn_desc *d, int m, int n, int wg, int subgroup)
{
    if (!is_pow2(m) || m > 256)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_m: %d must be a power of two <= 256", m);
    if (!is_pow2(n) || n > 256)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_n: %d must be a power of two <= 256", n);
    if (!is_pow2(wg) || (size_t)wg > caps->max_wg)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d must be a power of two <= %zu (device limit)", wg, caps->max_wg);
    if (wg < m)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d is smaller than tile_m %d (one item per row at least)", wg, m);
    int tpr = wg / m;
    if (tpr > n || tpr > d->head_dim || d->head_dim % tpr != 0)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d items for %d rows is more than tile_n %d per row%s", wg, m, n,
                           d->head_dim % tpr ? " or does not divide the head dim" : "");
    size_t local = fused_local_bytes(d->head_dim, m, n, wg, subgroup);
    if (local > caps->local_mem)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m/tile_n: tiles %dx%d at head dim %d need %zu bytes of local memory, the "
                           "device has %zu",
                           m, n, d->head_dim, local, caps->local_mem);
    return ELATTN_SUCCESS;
}

/* The scalar family (attn_fused.cl, fp32 arithmetic, every dtype and head
 * dim): fills `c` and returns SUCCESS, or says why it cannot run the call
 * (UNSUPPORTED, the message set). Plans and the capability report use it. */
static elattn_status scalar_attn_choose(const ocl_caps *caps, const elattn_attn_desc *d,
                                        const elattn_plan_options *opt, attn_choice *c)
{
    memset(c, 0, sizeof *c);
    const ocl_tune_row *row = ocl_tune_lookup("scalar", caps, d->head_dim);
    if (!row)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc.head_dim: %d has no OpenCL tile configuration",
                           d->head_dim);
    const int m = table_or_option(row, row->tile_m, opt->tile_m), n = table_or_option(row, row->tile_n, opt->tile_n);
    const int wg = table_or_option(row, row->wg, opt->work_group_size);
    elattn_status st = fused_check(caps, d, m, n, wg, 0);
    if (st != ELATTN_SUCCESS) return st;

    const int ht = fill_choice(c, "attn", "elattn_attn_fused", d, m, n, wg, 1);
    snprintf(c->variant, sizeof c->variant, "m%dn%dw%dh%d", m, n, wg, ht);
    char extra[160];
    snprintf(extra, sizeof extra, "-DELATTN_HEAD_DIM=%d -DELATTN_TILE_M=%d -DELATTN_TILE_N=%d -DELATTN_HEADS_PER_TILE=%d",
             c->head_dim, m, n, ht);
    ocl_format_options(c->options, sizeof c->options, c->dtype, wg, extra);
    return ELATTN_SUCCESS;
}

int ocl_attn_matrix_units(const ocl_caps *caps) { return caps->cls == OCL_CLASS_NVIDIA && caps->nv_cc_major >= 8; }

/* ELATTN_OPENCL_MMA_EMULATE=1: the mma families (attention and XAttention) run
 * with their warp instructions emulated (kernels/opencl/mma_warp.cl), on any
 * device, NVIDIA included, and so do the tiled decode's shuffles (decode_tiled.cl).
 * A test of the kernels' logic where no NVIDIA GPU is at hand; slow; the mma
 * kernel names end in ".emu". */
int ocl_warp_emulated(void)
{
    const char *e = getenv("ELATTN_OPENCL_MMA_EMULATE");
    return e && strcmp(e, "1") == 0;
}

elattn_status ocl_mma_usable(const ocl_caps *caps, int *emulate)
{
    *emulate = ocl_warp_emulated();
    if (*emulate || ocl_attn_matrix_units(caps)) return ELATTN_SUCCESS;
    if (caps->cls != OCL_CLASS_NVIDIA)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "needs NVIDIA's OpenCL driver on compute capability 8.0+ (mma.sync through inline PTX); "
                           "this is not an NVIDIA GPU");
    return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                       "needs compute capability 8.0+ (mma.sync bf16/fp16 through inline PTX); the driver reports "
                       "%d.%d (cl_nv_device_attribute_query)",
                       caps->nv_cc_major, caps->nv_cc_minor);
}

/* The tiles of the tensor-core attention families (attn_mma.cl, attn_mma_async.cl), from the
 * table row or the options: tile_m and tile_n multiples of 16, and one warp (32 work-items) per
 * 16 or 32 rows (m16 row blocks per warp = 2 tile_m / wg), which the work-group size says;
 * without it, the table row's rows per warp. */
static elattn_status mma_warp_tiles(const ocl_caps *caps, const char *family, const ocl_tune_row *row,
                                    const elattn_plan_options *opt, int *m_out, int *n_out, int *wg_out)
{
    if (!row && (!opt->tile_m || !opt->tile_n))
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "no %s tile configuration for this device class (options.tile_m and tile_n give one)",
                           family);
    const int m = table_or_option(row, row ? row->tile_m : 0, opt->tile_m);
    const int n = table_or_option(row, row ? row->tile_n : 0, opt->tile_n);
    if (m % 16 != 0 || m < 16 || m > 256)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m: %d must be a multiple of 16 in [16, 256] (8 warps of 32 rows)", m);
    if (n % 16 != 0 || n < 16 || n > 128)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.tile_n: %d must be a multiple of 16 in [16, 128]", n);
    const int wg = opt->work_group_size ? opt->work_group_size : row ? m * row->wg / row->tile_m : 2 * m;
    if (wg % 32 != 0 || (wg != 2 * m && wg != m))
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d; the tensor-core kernels run one warp (32) per 16 or 32 rows: "
                           "%d or %d for tile_m %d",
                           wg, 2 * m, m, m);
    if (wg > 256 || (size_t)wg > caps->max_wg)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m: %d needs %d work-items, the kernel allows 8 warps (256) and the device %zu",
                           m, wg, caps->max_wg);
    *m_out = m, *n_out = n, *wg_out = wg;
    return ELATTN_SUCCESS;
}

/* What the tensor-core attention families need of the device and the call: the inline-PTX path
 * (or its emulation, *emulate) and fp16 / bf16 storage. */
static elattn_status mma_warp_usable(const ocl_caps *caps, const elattn_attn_desc *d, int *emulate)
{
    *emulate = 0;
    elattn_status usable = ocl_mma_usable(caps, emulate);
    if (usable != ELATTN_SUCCESS) return usable;
    if (d->dtype != ELATTN_F16 && d->dtype != ELATTN_BF16)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc.dtype: fp16 and bf16 only");
    return ELATTN_SUCCESS;
}

/* A tensor-core attention family's choice from checked tiles: the kernel, its variant name and
 * its build options (>= 16 positions per tile, like the CUDA family). */
static void mma_warp_choice(attn_choice *c, const char *source, const char *entry, const elattn_attn_desc *d, int m,
                            int n, int wg, int emulate)
{
    const int mw = 2 * m / wg;
    const int ht = fill_choice(c, source, entry, d, m, n, wg, 16);
    snprintf(c->variant, sizeof c->variant, "m%dn%dw%dr%dh%d%s", m, n, wg, mw, ht, emulate ? ".emu" : "");
    char extra[220];
    snprintf(extra, sizeof extra,
             "-DELATTN_HEAD_DIM=%d -DELATTN_TILE_M=%d -DELATTN_TILE_N=%d -DELATTN_WARP_M=%d "
             "-DELATTN_HEADS_PER_TILE=%d %s",
             c->head_dim, m, n, mw, ht, emulate ? "-DELATTN_MMA_EMULATE=1" : "-DELATTN_NV_PTX=1");
    ocl_format_options(c->options, sizeof c->options, c->dtype, wg, extra);
}

/* Local memory of attn_mma.cl (keep in step with its SMEM_BYTES and xch). */
static size_t mma_local_bytes(int d, int m, int n, int wg, int emulate)
{
    const size_t row = d % 64 == 0 ? 2 * (size_t)d : 2 * (size_t)d + 16;
    return row * ((size_t)m + 2 * (size_t)n) + (emulate ? (size_t)(wg / 32) * 32 * 6 * 4 : 0);
}

/* The mma family (attn_mma.cl). */
static elattn_status mma_attn_choose(const ocl_caps *caps, const elattn_attn_desc *d, const elattn_plan_options *opt,
                                     attn_choice *c)
{
    memset(c, 0, sizeof *c);
    int emulate;
    elattn_status st = mma_warp_usable(caps, d, &emulate);
    if (st != ELATTN_SUCCESS) return st;
    if (d->head_dim % 16 != 0)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc.head_dim: %d is not a multiple of 16", d->head_dim);
    const ocl_tune_row *row = ocl_tune_lookup("mma", caps, d->head_dim);
    int m, n, wg;
    if ((st = mma_warp_tiles(caps, "mma", row, opt, &m, &n, &wg)) != ELATTN_SUCCESS) return st;
    const int mw = 2 * m / wg;
    if (mw == 2 && d->head_dim > 128)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m/work_group_size: 32 rows per warp at head dim %d would hold %d O "
                           "accumulators per work-item, more than its 255 registers",
                           d->head_dim, d->head_dim);
    const size_t local = mma_local_bytes(d->head_dim, m, n, wg, emulate);
    if (local > caps->local_mem)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m/tile_n: mma tiles %dx%d at head dim %d need %zu bytes of local memory, the "
                           "device has %zu",
                           m, n, d->head_dim, local, caps->local_mem);

    mma_warp_choice(c, "attn_mma", "elattn_attn_mma", d, m, n, wg, emulate);
    return ELATTN_SUCCESS;
}

/* options.kernel names this family (its name, a prefix of it ending at a '.', or a whole kernel name). */
static int family_named(const elattn_plan_options *opt, int family)
{
    return opt->kernel && opt->kernel[0] && elattn_kernel_name_selects(attn_family_names[family], opt->kernel);
}

/* The families taken by default only where the tile table has a row for them (mma_async,
 * wgmma): *row is that row, or NULL when options.kernel names the family without one. Tiles
 * forced without a kernel name are attn_mma.cl's (as before these families), so they take these
 * only when named. */
static elattn_status row_or_named(const ocl_caps *caps, const elattn_attn_desc *d, const elattn_plan_options *opt,
                                  int family, const char *table_family, const ocl_tune_row **row)
{
    const char *name = attn_family_names[family];
    const int named = family_named(opt, family);
    const int forced = opt->tile_m || opt->tile_n || opt->work_group_size;
    *row = ocl_tune_lookup(table_family, caps, d->head_dim);
    if (!named && forced)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "forced tiles go to opencl.attn.mma unless options.kernel names %s",
                           name);
    if (!named && !*row)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "no %s row in the tile table for this device and head dim (taken by default only where "
                           "one is; options.kernel \"%s\" forces it)",
                           table_family, name);
    return ELATTN_SUCCESS;
}

/* Local memory of attn_mma_async.cl's tiles (keep in step with its SCHED and SMEM_BYTES): with
 * MW 2 the Q tile and one K and one V tile; with MW 1 K and V double-buffered when four key tiles
 * (and the Q staging beside two) fit in NVIDIA's 48 KiB (ASYNC_LOCAL_LIMIT, the kernel's
 * LOCAL_LIMIT), else two K tiles and one V. */
#define ASYNC_LOCAL_LIMIT 49152
static size_t async_local_bytes(int d, int m, int n, int mw)
{
    const size_t row = d % 64 == 0 ? 2 * (size_t)d : 2 * (size_t)d + 16, kv = row * n, q = row * m;
    if (mw == 2) return q + 2 * kv;
    const size_t kv2 = 4 * kv > 2 * kv + q ? 4 * kv : 2 * kv + q;
    const size_t kv1 = 3 * kv > kv + q ? 3 * kv : kv + q;
    return kv2 <= ASYNC_LOCAL_LIMIT ? kv2 : kv1;
}

/* The mma_async family (attn_mma_async.cl): cp.async K/V; with 16 rows per warp Q in registers. */
static elattn_status mma_async_attn_choose(const ocl_caps *caps, const elattn_attn_desc *d,
                                           const elattn_plan_options *opt, attn_choice *c)
{
    memset(c, 0, sizeof *c);
    int emulate;
    elattn_status st = mma_warp_usable(caps, d, &emulate);
    if (st != ELATTN_SUCCESS) return st;
    if (d->head_dim % 16 != 0 || d->head_dim > 128)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "desc.head_dim: %d; this kernel keeps O (and with 16 rows per warp Q) in registers, "
                           "which takes a multiple of 16 up to 128 (opencl.attn.mma runs the others)",
                           d->head_dim);
    const ocl_tune_row *row;
    if ((st = row_or_named(caps, d, opt, FAM_MMA_ASYNC, "mma_async", &row)) != ELATTN_SUCCESS) return st;
    int m, n, wg;
    if ((st = mma_warp_tiles(caps, "mma_async", row, opt, &m, &n, &wg)) != ELATTN_SUCCESS) return st;
    const int mw = 2 * m / wg;
    /* the tiles within NVIDIA's 48 KiB everywhere (the emulation runs NVIDIA's schedule), and
     * with the emulation's exchange area within the device's */
    const size_t tiles = async_local_bytes(d->head_dim, m, n, mw);
    const size_t local = tiles + (emulate ? (size_t)(wg / 32) * 32 * 6 * 4 : 0);
    if (tiles > ASYNC_LOCAL_LIMIT || local > caps->local_mem)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m/tile_n: mma_async tiles %dx%d (%d rows per warp) at head dim %d need %zu "
                           "bytes of local memory; the kernel allows %d (NVIDIA's limit), the device %zu",
                           m, n, 16 * mw, d->head_dim, local, ASYNC_LOCAL_LIMIT, caps->local_mem);

    mma_warp_choice(c, "attn_mma_async", "elattn_attn_mma_async", d, m, n, wg, emulate);
    return ELATTN_SUCCESS;
}

/* The wgmma family (attn_wgmma.cl): a warpgroup per 64 rows (one or two), Q in registers, K and V
 * tiles of tile_n keys in wgmma's core-matrix layout. */
static elattn_status wgmma_attn_choose(const ocl_caps *caps, const elattn_attn_desc *d, const elattn_plan_options *opt,
                                       attn_choice *c)
{
    memset(c, 0, sizeof *c);
    const int emulate = ocl_warp_emulated();
    if (!emulate && caps->cls != OCL_CLASS_NVIDIA)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "needs NVIDIA's OpenCL driver on compute capability 9.0 (wgmma, sm_90a code); this is not "
                           "an NVIDIA GPU");
    if (!emulate && (caps->nv_cc_major != 9 || caps->nv_cc_minor != 0))
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "needs compute capability 9.0 exactly (wgmma is sm_90a code, which no other GPU runs); the "
                           "driver reports %d.%d",
                           caps->nv_cc_major, caps->nv_cc_minor);
    if (d->dtype != ELATTN_F16 && d->dtype != ELATTN_BF16)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc.dtype: fp16 and bf16 only");
    if (d->head_dim != 64 && d->head_dim != 128)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "desc.head_dim: %d; this kernel takes 64 and 128 (one wgmma of N = head dim for P V, "
                           "O and Q in registers)",
                           d->head_dim);
    const ocl_tune_row *row;
    const elattn_status st = row_or_named(caps, d, opt, FAM_WGMMA, "wgmma", &row);
    if (st != ELATTN_SUCCESS) return st;
    /* 128 rows (two warpgroups sharing each K and V tile) by default: 1.3-1.7x faster than 64 on an
     * H100 at every measured shape (call 123) */
    const int m = opt->tile_m ? opt->tile_m : row ? row->tile_m : 128;
    const int wg = opt->work_group_size ? opt->work_group_size : 2 * m;
    const int n = opt->tile_n ? opt->tile_n : row ? row->tile_n : 8192 / d->head_dim;
    if (m != 64 && m != 128)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m: %d; the wgmma kernel runs 64 or 128 rows (one or two warpgroups)", m);
    if (wg != 2 * m)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d; the wgmma kernel runs one warpgroup (128 work-items) per 64 "
                           "rows, %d for tile_m %d",
                           wg, 2 * m, m);
    if ((n != 32 && n != 64 && n != 128) || n * d->head_dim > 8192)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_n: %d; the wgmma kernel takes 32, 64 or 128 keys with tile_n x head dim <= "
                           "8192 (its K and V tiles in NVIDIA's 48 KiB)",
                           n);
    /* attn_wgmma.cl runs attn_mma_async.cl's schedules of 16 rows per warp, chosen by the same rule
     * (its head dims are multiples of 64, so a tile row is D x 2 bytes in both) */
    const size_t local = async_local_bytes(d->head_dim, m, n, 1) + (emulate ? (size_t)(wg / 32) * 32 * 6 * 4 : 0);
    if (local > caps->local_mem)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_n: wgmma tiles %dx%d at head dim %d need %zu bytes of local memory, the "
                           "device has %zu",
                           m, n, d->head_dim, local, caps->local_mem);

    const int ht = fill_choice(c, "attn_wgmma", "elattn_attn_wgmma", d, m, n, wg, 16);
    snprintf(c->variant, sizeof c->variant, "m%dn%dw%dh%d%s", m, n, wg, ht, emulate ? ".emu" : "");
    char extra[220];
    snprintf(extra, sizeof extra,
             "-DELATTN_HEAD_DIM=%d -DELATTN_TILE_M=%d -DELATTN_TILE_N=%d -DELATTN_WARP_M=1 "
             "-DELATTN_HEADS_PER_TILE=%d %s",
             c->head_dim, m, n, ht, emulate ? "-DELATTN_MMA_EMULATE=1" : "-DELATTN_NV_PTX=1 -DELATTN_PTX_SM90A=1");
    ocl_format_options(c->options, sizeof c->options, c->dtype, wg, extra);
    return ELATTN_SUCCESS;
}

/* The subgroup family: attn_fused.cl with -DELATTN_SUBGROUP=<width>, one tile row per
 * subgroup. The width must be known before the build: NVIDIA's warp and AMD's wavefront
 * widths come from their attribute queries; a device with cl_intel_required_subgroup_size
 * (Intel's GPUs, and Intel's CPU runtime, whose device is of class CPU) has the kernel require
 * one of the widths it lists in CL_DEVICE_SUB_GROUP_SIZES_INTEL (subgroup_width). The kernel
 * checks at run time that its subgroups are the rows it assumes and writes NaN otherwise, so a
 * driver that forms them differently fails loudly. */

/* The device lists width w in CL_DEVICE_SUB_GROUP_SIZES_INTEL. */
static int lists_subgroup_width(const ocl_caps *caps, int w)
{
    for (int i = 0; i < caps->n_sg_sizes; ++i)
        if (caps->sg_sizes[i] == w) return 1;
    return 0;
}

/* The width to require on a cl_intel_required_subgroup_size device, 0 if none fits: the largest
 * listed width up to 16 that divides the head dim and tile_n (both are split into width-sized
 * parts). 16 is Intel GPUs' fp32 SIMD width and AVX-512's 16 floats; 8 takes the head dims that
 * are multiples of 8 but not of 16. Wider ones are left out: a tile row of 32 or 64 work-items
 * would need tile_n of at least that. */
static int subgroup_width(const ocl_caps *caps, int head_dim, int n)
{
    int best = 0;
    for (int i = 0; i < caps->n_sg_sizes; ++i) {
        const int w = caps->sg_sizes[i];
        if (w <= 16 && w > best && head_dim % w == 0 && n % w == 0) best = w;
    }
    return best;
}

static elattn_status subgroup_attn_choose(const ocl_caps *caps, const elattn_attn_desc *d,
                                          const elattn_plan_options *opt, attn_choice *c)
{
    memset(c, 0, sizeof *c);
    if (!caps->subgroup_cl_c)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "needs the standard subgroup functions: OpenCL C 3.0 with __opencl_c_subgroups, or "
                           "cl_khr_subgroups at OpenCL C 2.0 or later; the device has neither");
    /* On a CPU the scalar family is faster: on Intel's CPU runtime 1.9-3.0x with both families' tuned
     * tiles, 1.6-2.1x with the scalar rows measured on PoCL (opencl_tuning.c; bench/results/
     * 2026-12-03-intel-cpu-opencl). So the selection passes this family over there unless it is named. */
    const int named = family_named(opt, FAM_SUBGROUP);
    if (caps->cls == OCL_CLASS_CPU && !named)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "not chosen on a CPU device unless named (options.kernel \"opencl.attn.subgroup\"): the "
                           "scalar family is faster there");
    /* NVIDIA's driver offers no subgroup functions (on an H100, 2026-12-07 call 155: OpenCL C 1.2, no
     * cl_khr_subgroups, no OpenCL C features), so the check above already turns the family down there;
     * should a later driver offer them, the family runs there only when named (the conformance runner
     * names every family) until it has run, and the selection keeps to the families that have. */
    if (caps->cls == OCL_CLASS_NVIDIA && !named)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "not chosen on NVIDIA's driver unless named (options.kernel \"opencl.attn.subgroup\"): not "
                           "yet run there");
    const ocl_tune_row *row = ocl_tune_lookup("subgroup", caps, d->head_dim);
    const int m = table_or_option(row, row ? row->tile_m : 0, opt->tile_m);
    const int n = table_or_option(row, row ? row->tile_n : 0, opt->tile_n);
    int width = caps->warp_width, intel_reqd = 0;
    /* A device with both a warp width and cl_intel_required_subgroup_size (a host runtime made an AMD
     * GPU by ELATTN_OPENCL_DEVICE_CLASS=amd:64 or amd:32, gpu_compile_check.sh) requires that width,
     * so that its subgroups are the rows the kernel assumes. */
    if (width && caps->ext_intel_reqd_subgroup_size) {
        if (!lists_subgroup_width(caps, width))
            return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                               "the device's warp width %d is not among its CL_DEVICE_SUB_GROUP_SIZES_INTEL", width);
        intel_reqd = 1;
    }
    if (!width && caps->ext_intel_reqd_subgroup_size) {
        if (caps->n_sg_sizes == 0)
            return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                               "the device lists cl_intel_required_subgroup_size but answers no "
                               "CL_DEVICE_SUB_GROUP_SIZES_INTEL: the subgroup width is unknown before the build");
        intel_reqd = 1;
        /* options.work_group_size = tile_m x a listed width picks that width (the tuner tries them),
         * and so does a table row's nonzero work-group size (the width it was measured at) */
        const int asked = opt->work_group_size ? (opt->work_group_size % m == 0 ? opt->work_group_size / m : 0)
                          : row && row->wg ? row->wg / row->tile_m
                                           : 0;
        if (asked && lists_subgroup_width(caps, asked)) width = asked;
        if (!width) width = subgroup_width(caps, d->head_dim, n);
        if (!width) {
            char listed[64] = "";
            for (int i = 0; i < caps->n_sg_sizes; ++i)
                snprintf(listed + strlen(listed), sizeof listed - strlen(listed), "%s%d", i ? ", " : "",
                         caps->sg_sizes[i]);
            return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                               "desc.head_dim/options.tile_n: %d and %d have no common divisor among the "
                               "device's subgroup widths up to 16 (it lists %s)",
                               d->head_dim, n, listed);
        }
    }
    if (!width)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "the subgroup width is unknown before the build (no warp/wavefront width query, no "
                           "cl_intel_required_subgroup_size)");
    const int wg = m * width;
    if (opt->work_group_size && opt->work_group_size != wg)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.work_group_size: %d; the subgroup kernel runs one subgroup (%d) per row: %d for "
                           "tile_m %d%s",
                           opt->work_group_size, width, wg, m,
                           intel_reqd ? " (or tile_m x another width of CL_DEVICE_SUB_GROUP_SIZES_INTEL)" : "");
    if (d->head_dim % width != 0 || n % width != 0)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "desc.head_dim/options.tile_n: %d and %d must be multiples of the subgroup width %d",
                           d->head_dim, n, width);
    elattn_status st = fused_check(caps, d, m, n, wg, 1);
    if (st != ELATTN_SUCCESS) return st;

    const int ht = fill_choice(c, "attn", "elattn_attn_fused", d, m, n, wg, 1);
    snprintf(c->variant, sizeof c->variant, "m%dn%dw%dh%ds%d", m, n, wg, ht, width);
    char extra[220];
    snprintf(extra, sizeof extra,
             "-DELATTN_HEAD_DIM=%d -DELATTN_TILE_M=%d -DELATTN_TILE_N=%d -DELATTN_HEADS_PER_TILE=%d "
             "-DELATTN_SUBGROUP=%d%s",
             c->head_dim, m, n, ht, width, intel_reqd ? " -DELATTN_INTEL_REQD_SUBGROUP=1" : "");
    ocl_format_options_at(c->options, sizeof c->options, caps->subgroup_cl_c, c->dtype, wg, extra);
    return ELATTN_SUCCESS;
}

/* ---- the selection ---------------------------------------------------------------- */
typedef struct attn_choose_ctx {
    const ocl_caps *caps;
    const elattn_attn_desc *desc;
    const elattn_plan_options *options;
    attn_choice choice;
} attn_choose_ctx;

static int attn_probe(void *p, int index, char *variant, size_t variant_n, const char **why)
{
    attn_choose_ctx *c = p;
    elattn_status st = index == FAM_WGMMA      ? wgmma_attn_choose(c->caps, c->desc, c->options, &c->choice)
                       : index == FAM_MMA_ASYNC ? mma_async_attn_choose(c->caps, c->desc, c->options, &c->choice)
                       : index == FAM_MMA      ? mma_attn_choose(c->caps, c->desc, c->options, &c->choice)
                       : index == FAM_SUBGROUP ? subgroup_attn_choose(c->caps, c->desc, c->options, &c->choice)
                                               : scalar_attn_choose(c->caps, c->desc, c->options, &c->choice);
    if (st == ELATTN_SUCCESS) {
        snprintf(variant, variant_n, "%s", c->choice.variant);
        return 1;
    }
    *why = elattn_last_error(); /* the selection copies it before it sets a message of its own */
    return 0;
}

int ocl_attn_head_dim_256_ok(const ocl_caps *caps)
{
    elattn_attn_desc d = {.struct_size = sizeof(elattn_attn_desc), .dtype = ELATTN_BF16, .head_dim = 256, .num_q_heads = 1, .num_kv_heads = 1};
    elattn_plan_options none = ELATTN_INIT(elattn_plan_options);
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

/* Workspace: cu_seqlens_q [B+1], cu_seqlens_k [B+1], modes [B][Hkv], the block
 * table [B][max_pages_per_seq] when paged, then the work list (int4 per item,
 * 16-byte aligned). */
static size_t table_ints(const elattn_attn_desc *d)
{
    return d->page_size ? (size_t)d->batch * (size_t)d->max_pages_per_seq : 0;
}
static size_t meta_ints(const elattn_attn_desc *d)
{
    return 2 * (size_t)(d->batch + 1) + (size_t)d->batch * d->num_kv_heads + table_ints(d);
}

elattn_status ocl_attn_plan(void *dv, const elattn_attn_desc *desc, const elattn_plan_options *options,
                            elattn_backend_plan *out)
{
    ocl_device *dev = dv;
    attn_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (plan)");
    attn_choose_ctx ctx = {&dev->caps, desc, options, {0}};
    elattn_status st = elattn_family_select(attn_family_names, FAM_COUNT, options->kernel, desc->head_dim, desc->dtype,
                                            ocl_device_label(dev), attn_probe, &ctx, p->name, sizeof p->name) < 0
                           ? ELATTN_ERROR_UNSUPPORTED
                           : ELATTN_SUCCESS;
    p->choice = ctx.choice;
    cl_program program = NULL;
    if (st == ELATTN_SUCCESS) st = ocl_get_program(dev, p->choice.source_id, p->choice.options, &program);
    if (st == ELATTN_SUCCESS) st = ocl_kernel_create(dev, program, p->choice.kernel, (size_t)p->choice.wg, &p->kernel);
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
    if (p->items_at > (size_t)INT32_MAX - 4) { /* kernels take int offsets into the workspace */
        ocl_attn_plan_destroy(dev, p);
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.batch/max_pages_per_seq: the block table (%zu entries) is too large for one "
                           "OpenCL workspace",
                           table_ints(desc));
    }
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

/* The workspace's metadata prefix on the host: lengths, the mode table (zeros when the modes
 * live on the device), the work list; *n items. NULL when host memory ran out (message set). */
static int32_t *build_meta(const attn_plan *p, const elattn_attn_call *call, int *n)
{
    const elattn_attn_desc *d = call->desc;
    const int B = d->batch, Hkv = d->num_kv_heads, items_at = (int)p->items_at;
    const int positions = p->choice.tile_m / p->choice.heads_per_tile;
    elattn_attn_call chunked = *call;
    chunked.desc = &p->chunks;
    /* Only what is uploaded: the tables before the work list (cleared: gaps between them) and
     * this call's items, which the build writes every one of (not the plan's whole workspace). */
    const size_t items = elattn_worklist_items(&chunked, positions, 0);
    int32_t *blob = malloc(sizeof(int32_t) * ((size_t)items_at + 4 * (items ? items : 1)));
    if (!blob) {
        elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (work list)");
        return NULL;
    }
    memset(blob, 0, sizeof(int32_t) * (size_t)items_at);
    memcpy(blob, call->cu_seqlens_q, sizeof(int32_t) * (B + 1));
    memcpy(blob + B + 1, call->cu_seqlens_k, sizeof(int32_t) * (B + 1));
    if (call->modes) memcpy(blob + 2 * (B + 1), call->modes, sizeof(int32_t) * (size_t)B * Hkv);
    if (call->block_table) memcpy(blob + 2 * (B + 1) + B * Hkv, call->block_table, sizeof(int32_t) * table_ints(d));
    *n = elattn_worklist_build(&chunked, positions, p->choice.tile_n, 0, (elattn_work_item *)(blob + items_at));
    if (*n < 0) {
        free(blob);
        return NULL; /* message set by the schedule */
    }
    return blob;
}

elattn_status ocl_attn_batch_create(void *dv, const void *impl, const elattn_attn_call *call, void **out)
{
    ocl_device *dev = dv;
    const attn_plan *p = impl;
    attn_batch *b = calloc(1, sizeof *b);
    if (!b) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (batch)");
    int32_t *blob = build_meta(p, call, &b->n);
    if (!blob) {
        free(b);
        return ELATTN_ERROR_OUT_OF_MEMORY;
    }
    b->bytes = ((size_t)p->items_at + 4 * (size_t)b->n) * sizeof(int32_t);
    cl_int err = CL_SUCCESS;
    if (b->n > 0) b->meta = clCreateBuffer(dev->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, b->bytes, blob, &err);
    free(blob);
    if (err != CL_SUCCESS) {
        free(b);
        return ocl_fail(err, "clCreateBuffer", "batch");
    }
    *out = b;
    return ELATTN_SUCCESS;
}

void ocl_attn_batch_destroy(void *dv, void *batch)
{
    (void)dv;
    attn_batch *b = batch;
    if (b && b->meta) clReleaseMemObject(b->meta);
    free(b);
}

elattn_status ocl_attn_run(void *dv, const void *impl, void *stream, const elattn_attn_call *call)
{
    ocl_device *dev = dv;
    attn_plan *p = (attn_plan *)impl; /* immutable; only the kernel's lock is taken */
    const elattn_attn_desc *d = call->desc;
    const int B = d->batch, Hkv = d->num_kv_heads;
    const int cu_q_at = 0, cu_k_at = B + 1, modes_at = 2 * (B + 1), items_at = (int)p->items_at;
    const int table_at = modes_at + B * Hkv; /* paged K/V: the block table */
    const size_t modes_bytes = sizeof(int32_t) * (size_t)B * Hkv;
    cl_command_queue queue = ocl_queue(dev, stream);
    cl_mem ws = (cl_mem)call->workspace;
    elattn_status st = ELATTN_SUCCESS;
    int n;
    if (call->batch) { /* on the device already: one copy, no host work */
        const attn_batch *b = call->batch;
        n = b->n;
        if (n == 0) return ELATTN_SUCCESS;
        OCL_CHECK(clEnqueueCopyBuffer(queue, b->meta, ws, 0, 0, b->bytes, 0, NULL, NULL), "batch metadata");
        if (call->modes) { /* host modes with a batch: the one upload left */
            int32_t *modes = malloc(modes_bytes);
            if (!modes) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (modes)");
            memcpy(modes, call->modes, modes_bytes);
            st = ocl_upload_meta_at(queue, ws, sizeof(int32_t) * (size_t)modes_at, modes, modes_bytes);
        }
        if (st == ELATTN_SUCCESS && call->block_table) { /* paged K/V: the table is per run, not in the batch */
            const size_t table_bytes = sizeof(int32_t) * table_ints(d);
            int32_t *table = malloc(table_bytes);
            if (!table) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (block table)");
            memcpy(table, call->block_table, table_bytes);
            st = ocl_upload_meta_at(queue, ws, sizeof(int32_t) * (size_t)table_at, table, table_bytes);
        }
    } else {
        int32_t *blob = build_meta(p, call, &n);
        if (!blob) return ELATTN_ERROR_OUT_OF_MEMORY;
        if (n == 0) { /* no query rows at all: nothing to write */
            free(blob);
            return ELATTN_SUCCESS;
        }
        st = ocl_upload_meta(queue, ws, blob, ((size_t)items_at + 4 * (size_t)n) * sizeof(int32_t));
    }
    if (st != ELATTN_SUCCESS) return st;
    if (call->modes_device) /* the kernels read the modes from the workspace: a device-side copy */
        OCL_CHECK(clEnqueueCopyBuffer(queue, (cl_mem)call->modes_device, ws, 0, sizeof(int32_t) * (size_t)modes_at,
                                      modes_bytes, 0, NULL, NULL),
                  "modes_buffer");

    cl_mem q = call->q, k = call->k, v = call->v, o = call->o;
    cl_mem lse = call->lse ? (cl_mem)call->lse : ws;          /* never read when write_lse is 0 */
    cl_mem mask = call->block_mask ? (cl_mem)call->block_mask : ws; /* read only for BLOCK_SPARSE heads */
    const ocl_arg args[] = {
        OCL_ARG(call->params), OCL_ARG(q), OCL_ARG(k), OCL_ARG(v), OCL_ARG(o), OCL_ARG(lse), OCL_ARG(mask),
        OCL_ARG(ws), OCL_ARG(cu_q_at), OCL_ARG(cu_k_at), OCL_ARG(modes_at), OCL_ARG(items_at), OCL_ARG(table_at),
    };
    return ocl_launch(&p->kernel, queue, args, (int)(sizeof args / sizeof args[0]), (size_t)n, (size_t)p->choice.wg,
                      p->name);
}

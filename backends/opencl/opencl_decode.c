/* Decode over the per-head KV cache on OpenCL (kernels/opencl/decode.cl, decode_tiled.cl): partials
 * per split-KV chunk (family `tiled` or `scalar`), then the LSE merge (the tiled family's partial
 * pass merges heads of up to DECODE_FUSED_MERGE_CHUNKS chunks itself). The plan builds the program
 * and its kernels once and keeps the device memory of its runs (metadata, fp32 partials, arrival
 * counters, Quest's buffers), grown to its largest run; a run copies its metadata in asynchronously. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_internal.h"

/* Work-group sizes: the scalar family's passes (and Quest's, and the page summaries'), and the tiled
 * family's partial pass (whose program then runs Quest's and the merge at its size too). */
#define DECODE_WG 64
#define DECODE_TILED_WG 128
#define DECODE_TILED_ROWS 4 /* query rows per work-group of the tiled kernel (its ELATTN_DECODE_ROWS) */
#define DECODE_TILED_LOCAL_BYTES (24 * 1024) /* what elattn_decode_tiled declares at WG 128, rounded up */
/* Heads of up to this many chunks are merged by the tiled kernel's last work-group of each row tile
 * (no merge launch); longer ones by elattn_decode_merge, whose work-groups share a head's chunks.
 * 256 is the most a plan cuts a head into (elattn_decode_desc.num_splits), so every step merges in
 * its partial launch. On the H100 (bench/results/2026-12-06-nvidia-h100, calls 114 and 117) that
 * beat the CUDA backend's bound of 32 (kernels/gpu/decode.cuh, whose merge launch starts early through
 * programmatic dependent launch; OpenCL has no such start): 32K x 1 fa-ssa:0.75 48.0 -> 41.1 us,
 * 128K x 1 fa-ssa:0.75 87.3 -> 81.1 (heads of 128 and 256 chunks), every other batch-1, 16 and 64
 * step level. elattn_decode_merge stays for the scalar family and the test hook's smaller bounds
 * (fused_merge_chunks). */
#define DECODE_FUSED_MERGE_CHUNKS 256

static elattn_status make_buffer(ocl_device *dev, cl_mem_flags flags, size_t bytes, void *host, cl_mem *out)
{
    cl_int err;
    *out = clCreateBuffer(dev->context, flags, bytes, host, &err);
    return err == CL_SUCCESS ? ELATTN_SUCCESS : ocl_fail(err, "clCreateBuffer", "decode");
}

typedef enum { DECODE_TILED, DECODE_SCALAR } decode_kind;

/* A device buffer of a plan that grows to the largest run so far (a run that needs more makes a
 * larger one; the queue keeps the old one alive for the work already enqueued on it). */
typedef struct plan_buffer {
    cl_mem mem;
    size_t bytes;
} plan_buffer;

/* A plan: its family, the program's kernels made once, and the device memory of its runs: the
 * step's metadata, the partials, the fused merge's arrival counters (one per (sequence, KV head, row
 * tile); zero between runs: the last work-group of a tile resets its counter), Quest's keys, pages
 * and lengths. Runs of a plan are serialised (elattn.h, elattn_decode_plan_create), so they share
 * these buffers. */
typedef struct decode_plan {
    decode_kind kind;
    int wg, merge_chunks; /* heads of up to merge_chunks chunks: merged by the partial pass (tiled) */
    ocl_kernel partial, merge, quest_score, quest_select;
    plan_buffer meta, part_o, part_lse, arrivals, quest_keys, quest_pages, quest_len;
} decode_plan;

/* Makes b hold at least `bytes` (a quarter more than asked when it grows, so that slowly growing
 * runs do not make a buffer each). */
static elattn_status plan_buffer_reserve(ocl_device *dev, plan_buffer *b, size_t bytes)
{
    if (b->mem && b->bytes >= bytes) return ELATTN_SUCCESS;
    const size_t want = bytes + bytes / 4 > bytes ? bytes + bytes / 4 : bytes;
    cl_mem m = NULL;
    elattn_status st = make_buffer(dev, CL_MEM_READ_WRITE, want ? want : 1, NULL, &m);
    if (st != ELATTN_SUCCESS) return st;
    if (b->mem) clReleaseMemObject(b->mem);
    b->mem = m, b->bytes = want;
    return ELATTN_SUCCESS;
}

static void plan_buffer_release(plan_buffer *b)
{
    if (b->mem) clReleaseMemObject(b->mem);
    b->mem = NULL, b->bytes = 0;
}

/* Makes the arrival counters hold at least `count` ints, a new buffer zeroed on the queue before the
 * run's kernels (the counters of a buffer in use are 0 after each run). */
static elattn_status arrivals_reserve(ocl_device *dev, plan_buffer *b, cl_command_queue queue, size_t count)
{
    const cl_mem before = b->mem;
    elattn_status st = plan_buffer_reserve(dev, b, sizeof(cl_int) * count);
    if (st != ELATTN_SUCCESS || b->mem == before) return st;
    const cl_int zero = 0;
    const cl_int err = clEnqueueFillBuffer(queue, b->mem, &zero, sizeof zero, 0, b->bytes / sizeof zero * sizeof zero, 0,
                                           NULL, NULL);
    return err == CL_SUCCESS ? ELATTN_SUCCESS : ocl_fail(err, "clEnqueueFillBuffer", "decode: arrival counters");
}

/* The fused merge's bound: DECODE_FUSED_MERGE_CHUNKS, or ELATTN_OPENCL_DECODE_MERGE_CHUNKS, a test
 * and lab hook (backends/opencl/README.md): 0 merges every head by elattn_decode_merge, as before the
 * fused merge; a small bound gives steps whose heads are merged both ways. */
static elattn_status fused_merge_chunks(int *out)
{
    *out = DECODE_FUSED_MERGE_CHUNKS;
    const char *e = getenv("ELATTN_OPENCL_DECODE_MERGE_CHUNKS");
    if (!e) return ELATTN_SUCCESS;
    char *end = NULL;
    const long v = strtol(e, &end, 10);
    if (end == e || *end != '\0' || v < 0 || v > 256)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "decode: ELATTN_OPENCL_DECODE_MERGE_CHUNKS is \"%s\", not a chunk count from 0 to 256", e);
    *out = (int)v;
    return ELATTN_SUCCESS;
}

typedef struct decode_probe {
    const ocl_caps *caps;
    int head_dim;
    elattn_dtype dtype;
    decode_kind kind;
} decode_probe;

static elattn_status tiled_decode_choose(decode_probe *p)
{
    if ((size_t)DECODE_TILED_WG > p->caps->max_wg)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "needs work-groups of %d items, the device takes %zu",
                           DECODE_TILED_WG, p->caps->max_wg);
    if (p->caps->local_mem < (size_t)DECODE_TILED_LOCAL_BYTES)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "needs %d bytes of local memory, the device has %zu",
                           DECODE_TILED_LOCAL_BYTES, p->caps->local_mem);
    p->kind = DECODE_TILED;
    return ELATTN_SUCCESS;
}

static elattn_status scalar_decode_choose(decode_probe *p)
{
    if ((size_t)DECODE_WG > p->caps->max_wg)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "needs work-groups of %d items, the device takes %zu", DECODE_WG,
                           p->caps->max_wg);
    p->kind = DECODE_SCALAR;
    return ELATTN_SUCCESS;
}

/* The first family that can run a plan wins (elattn_family_select): `tiled` streams the cache in
 * work-groups that share each K/V row between the query heads of a group; `scalar`, one work-item per
 * (row, query head, chunk), is the fallback for devices without its work-group size or local memory. */
static const struct decode_family {
    const char *name;
    elattn_status (*choose)(decode_probe *);
} decode_families[] = {
    {"opencl.decode.tiled", tiled_decode_choose},
    {"opencl.decode.scalar", scalar_decode_choose},
};
enum { DECODE_FAMILIES = (int)(sizeof decode_families / sizeof decode_families[0]) };

int ocl_decode_families(const char **names, int max)
{
    for (int i = 0; i < DECODE_FAMILIES && i < max; ++i) names[i] = decode_families[i].name;
    return DECODE_FAMILIES;
}

/* The subgroup width for the tiled kernel's lane sums on a device with cl_intel_subgroups and
 * cl_intel_required_subgroup_size (decode_tiled.cl, ELATTN_SG_WIDTH): the narrowest width it lists
 * that holds a row's lanes (padded D / 8) and is at most 32; 0 (the sums through local memory)
 * where there is none, or where a group's pairs of a round do not spread evenly over its lanes
 * (decode_tiled.cl's condition for TILED_SHUFFLE, with its TILED_KPG: 4 keys a group for fp32, 8
 * otherwise; the kernel stops the build if the two disagree). 1.32-1.48x faster at D 128 and
 * 1.10-1.26x at D 64 on Intel's CPU runtime (bench/results/2026-12-05-intel-cpu-opencl). */
static int tiled_subgroup_width(const ocl_caps *caps, int padded_dim, elattn_dtype dtype)
{
    if (!caps->ext_intel_subgroups || !caps->ext_intel_reqd_subgroup_size) return 0;
    const int lanes = padded_dim / 8; /* decode_tiled.cl's TILED_LPR */
    const int pairs = (dtype == ELATTN_F32 ? 4 : 8) * DECODE_TILED_ROWS; /* TILED_GPAIRS */
    if (pairs % lanes != 0) return 0;
    int best = 0;
    for (int i = 0; i < caps->n_sg_sizes; ++i) {
        const int w = caps->sg_sizes[i];
        if (w >= lanes && w <= 32 && (best == 0 || w < best)) best = w;
    }
    return best;
}

/* How the tiled kernel sums a round's lanes (decode_tiled.cl): warp shuffles emulated through local
 * memory (ELATTN_OPENCL_MMA_EMULATE=1, a test), NVIDIA's shuffles through inline PTX, subgroup
 * shuffles (*sg_width: the width), else local memory and barriers. */
typedef enum { TILED_SUMS_LOCAL, TILED_SUMS_EMULATED, TILED_SUMS_NV_PTX, TILED_SUMS_SUBGROUP } tiled_sums;
static tiled_sums tiled_lane_sums(const ocl_caps *caps, int padded_dim, elattn_dtype dtype, int *sg_width)
{
    *sg_width = 0;
    if (ocl_warp_emulated()) return TILED_SUMS_EMULATED;
    if (caps->cls == OCL_CLASS_NVIDIA) return TILED_SUMS_NV_PTX;
    *sg_width = tiled_subgroup_width(caps, padded_dim, dtype);
    return *sg_width ? TILED_SUMS_SUBGROUP : TILED_SUMS_LOCAL;
}

/* The tiled family's variant names how its lane sums run where they are not NVIDIA's shuffles or
 * local memory: "sg<width>" (subgroup shuffles), "emu" (the shuffles emulated, a test; where the
 * kernel uses shuffles). */
static int decode_probe_one(void *ctx, int index, char *variant, size_t variant_n, const char **why)
{
    decode_probe *p = ctx;
    if (decode_families[index].choose(p) != ELATTN_SUCCESS) {
        *why = elattn_last_error(); /* the selection copies it before it sets a message of its own */
        return 0;
    }
    if (p->kind != DECODE_TILED) return 1;
    int sg;
    const tiled_sums sums = tiled_lane_sums(p->caps, ocl_tune_band(p->head_dim), p->dtype, &sg);
    if (sums == TILED_SUMS_EMULATED) snprintf(variant, variant_n, "emu");
    if (sums == TILED_SUMS_SUBGROUP) snprintf(variant, variant_n, "sg%d", sg);
    return 1;
}

/* The decode program for a storage dtype at a work-group size (built once per device and options,
 * then cached); padded_dim > 0 gives it the tiled kernel for head dims up to that (ocl_tune_band's
 * band: decode_tiled.cl's lanes per row follow from it at compile time). On NVIDIA's driver the tiled
 * kernel gets inline PTX (ELATTN_NV_PTX): warp shuffles for its lane sums, and cvt for fp16 (the
 * driver has no cl_khr_fp16; the integer conversion spilled there and took 10x bf16's time, H100
 * calls 109-110); on devices with cl_intel_subgroups the lane sums are subgroup shuffles
 * (ELATTN_SG_WIDTH, tiled_subgroup_width); with ELATTN_OPENCL_MMA_EMULATE=1 the shuffles are emulated
 * instead, on any device. */
static elattn_status decode_program(ocl_device *dev, elattn_dtype dtype, int wg, int padded_dim, cl_program *program)
{
    char opts[200], tiled[120] = "";
    if (padded_dim > 0) {
        char warp[40] = "";
        int sg;
        switch (tiled_lane_sums(&dev->caps, padded_dim, dtype, &sg)) {
        case TILED_SUMS_EMULATED: snprintf(warp, sizeof warp, " -DELATTN_MMA_EMULATE=1"); break;
        case TILED_SUMS_NV_PTX: snprintf(warp, sizeof warp, " -DELATTN_NV_PTX=1"); break;
        case TILED_SUMS_SUBGROUP: snprintf(warp, sizeof warp, " -DELATTN_SG_WIDTH=%d", sg); break;
        case TILED_SUMS_LOCAL: break;
        }
        snprintf(tiled, sizeof tiled, "-DELATTN_DECODE_ROWS=%d -DELATTN_DECODE_PADDED_D=%d%s", DECODE_TILED_ROWS,
                 padded_dim, warp);
    }
    ocl_format_options(opts, sizeof opts, (int)dtype, wg, tiled);
    return ocl_get_program(dev, "decode", opts, program);
}

void ocl_decode_plan_destroy(void *dv, void *impl)
{
    (void)dv;
    decode_plan *p = impl;
    if (!p) return;
    ocl_kernel_release(&p->partial);
    ocl_kernel_release(&p->merge);
    ocl_kernel_release(&p->quest_score);
    ocl_kernel_release(&p->quest_select);
    plan_buffer *const buffers[] = {&p->meta,       &p->part_o,      &p->part_lse, &p->arrivals,
                                    &p->quest_keys, &p->quest_pages, &p->quest_len};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; ++i) plan_buffer_release(buffers[i]);
    free(p);
}

elattn_status ocl_decode_plan(void *dv, elattn_decode_setup *setup, const char *forced, void **impl, char *name,
                              size_t name_n)
{
    ocl_device *dev = dv;
    *impl = NULL;
    const char *names[DECODE_FAMILIES];
    ocl_decode_families(names, DECODE_FAMILIES);
    decode_probe probe = {&dev->caps, setup->head_dim, setup->dtype, DECODE_SCALAR};
    if (elattn_family_select(names, DECODE_FAMILIES, forced, setup->head_dim, setup->dtype, ocl_device_label(dev),
                             decode_probe_one, &probe, name, name_n) < 0)
        return ELATTN_ERROR_UNSUPPORTED;
    decode_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "decode: host allocation failed");
    p->kind = probe.kind;
    p->wg = p->kind == DECODE_TILED ? DECODE_TILED_WG : DECODE_WG;
    /* The split policy's grid model describes the tiled kernel's grid and was fitted on NVIDIA's
     * driver (an H100, decode_policy.c); other device classes keep the waves model until measured.
     * Either way the partials are reserved per run (ocl_decode_run), as the grid model needs. */
    if (p->kind == DECODE_TILED && dev->caps.cls == OCL_CLASS_NVIDIA) setup->model = ELATTN_DECODE_MODEL_GRID;
    cl_program program = NULL;
    const int padded_dim = p->kind == DECODE_TILED ? ocl_tune_band(setup->head_dim) : 0;
    elattn_status st = p->kind == DECODE_TILED ? fused_merge_chunks(&p->merge_chunks) : ELATTN_SUCCESS;
    if (st == ELATTN_SUCCESS) st = decode_program(dev, setup->dtype, p->wg, padded_dim, &program);
    if (st == ELATTN_SUCCESS)
        st = ocl_kernel_create(dev, program, p->kind == DECODE_TILED ? "elattn_decode_tiled" : "elattn_decode_partial",
                               (size_t)p->wg, &p->partial);
    if (st == ELATTN_SUCCESS) st = ocl_kernel_create(dev, program, "elattn_decode_merge", (size_t)p->wg, &p->merge);
    if (st == ELATTN_SUCCESS && setup->page_budget)
        st = ocl_kernel_create(dev, program, "elattn_quest_score", (size_t)p->wg, &p->quest_score);
    if (st == ELATTN_SUCCESS && setup->page_budget)
        st = ocl_kernel_create(dev, program, "elattn_quest_select", (size_t)p->wg, &p->quest_select);
    if (st != ELATTN_SUCCESS) {
        ocl_decode_plan_destroy(dev, p);
        return st;
    }
    *impl = p;
    return ELATTN_SUCCESS;
}

/* Quest page selection (SPEC.md section 9b): the BLOCK_SPARSE heads' kept pages, in order, into
 * the plan's quest_pages [num_seqs][Hkv][pages_per_head] and the lengths of the FULL heads they make
 * into its quest_len [num_seqs][Hkv] (entries of other heads are not written). */
static elattn_status quest_select(ocl_device *dev, decode_plan *p, cl_command_queue queue,
                                  const elattn_decode_call *c, cl_mem meta)
{
    const size_t heads = (size_t)c->num_seqs * c->num_kv_heads, items = heads * c->pages_per_head;
    elattn_status st = plan_buffer_reserve(dev, &p->quest_keys, sizeof(cl_uint) * items);
    if (st == ELATTN_SUCCESS) st = plan_buffer_reserve(dev, &p->quest_pages, sizeof(cl_int) * items);
    if (st == ELATTN_SUCCESS) st = plan_buffer_reserve(dev, &p->quest_len, sizeof(cl_int) * heads);
    cl_mem q = (cl_mem)c->q, sums = (cl_mem)c->page_summaries, table = (cl_mem)c->page_table;
    cl_mem keys = p->quest_keys.mem, pages = p->quest_pages.mem, lens = p->quest_len.mem;
    const size_t wg = (size_t)p->wg;
    if (st == ELATTN_SUCCESS) { /* a work-item per (sequence, head, page) */
        const ocl_arg args[] = {OCL_ARG(q), OCL_ARG(sums), OCL_ARG(table), OCL_ARG(meta), OCL_ARG(keys),
                                OCL_ARG(c->num_seqs), OCL_ARG(c->num_q_heads), OCL_ARG(c->num_kv_heads),
                                OCL_ARG(c->head_dim), OCL_ARG(c->page_shift), OCL_ARG(c->pages_per_head)};
        st = ocl_launch(&p->quest_score, queue, args, (int)(sizeof args / sizeof args[0]), (items + wg - 1) / wg, wg,
                        "elattn_quest_score");
    }
    if (st == ELATTN_SUCCESS) { /* a work-group per (sequence, head) */
        const ocl_arg args[] = {OCL_ARG(keys), OCL_ARG(table), OCL_ARG(meta), OCL_ARG(pages), OCL_ARG(lens),
                                OCL_ARG(c->num_seqs), OCL_ARG(c->num_kv_heads), OCL_ARG(c->page_shift),
                                OCL_ARG(c->pages_per_head), OCL_ARG(c->page_budget)};
        st = ocl_launch(&p->quest_select, queue, args, (int)(sizeof args / sizeof args[0]), heads, wg,
                        "elattn_quest_select");
    }
    return st;
}

elattn_status ocl_kv_summarize(void *dv, void *stream, const elattn_kv_summary_call *c)
{
    ocl_device *dev = dv;
    cl_program program = NULL;
    elattn_status st = decode_program(dev, c->dtype, DECODE_WG, 0, &program);
    if (st != ELATTN_SUCCESS) return st;
    ocl_kernel k;
    st = ocl_kernel_create(dev, program, "elattn_kv_summarize", DECODE_WG, &k);
    if (st != ELATTN_SUCCESS) return st;
    cl_mem kpool = (cl_mem)c->k_pool, sums = (cl_mem)c->summaries, list = (cl_mem)c->list;
    const ocl_arg args[] = {OCL_ARG(kpool), OCL_ARG(sums), OCL_ARG(list), OCL_ARG(c->count), OCL_ARG(c->head_dim),
                            OCL_ARG(c->page_shift)};
    const size_t items = (size_t)c->count * c->head_dim;
    st = ocl_launch(&k, ocl_queue(dev, stream), args, (int)(sizeof args / sizeof args[0]),
                    (items + DECODE_WG - 1) / DECODE_WG, DECODE_WG, "elattn_kv_summarize");
    ocl_kernel_release(&k);
    return st;
}

elattn_status ocl_decode_run(void *dv, const void *impl, void *stream, const elattn_decode_call *c)
{
    ocl_device *dev = dv;
    decode_plan *p = (decode_plan *)impl; /* runs are serialised: its buffers and kernels are this run's */
    cl_command_queue queue = ocl_queue(dev, stream);
    const int ns = c->num_seqs, H = c->num_kv_heads;
    const size_t meta_n = (size_t)ns + 1 + ns + ns + 2 * (size_t)ns * H;
    int page_budget = 0; /* Quest runs only when a head of the step is BLOCK_SPARSE */
    for (size_t e = 0; c->page_budget && e < (size_t)ns * H; ++e)
        if (c->modes[e] == ELATTN_BLOCK_SPARSE) page_budget = c->page_budget;
    const size_t items = (size_t)c->total_new * c->num_q_heads * c->splits; /* partials: (row, query head, chunk) */
    const size_t wg = (size_t)p->wg;
    const int merge_chunks = p->merge_chunks; /* 0 for the scalar family */
    cl_mem o = (cl_mem)c->o;
    const int write_lse = c->lse != NULL;
    elattn_status st = plan_buffer_reserve(dev, &p->meta, sizeof(int32_t) * meta_n);
    if (st == ELATTN_SUCCESS) st = plan_buffer_reserve(dev, &p->part_o, sizeof(float) * items * c->head_dim);
    if (st == ELATTN_SUCCESS) st = plan_buffer_reserve(dev, &p->part_lse, sizeof(float) * items);
    if (st == ELATTN_SUCCESS) { /* the step's metadata: an asynchronous copy of a host copy freed when it is done */
        int32_t *meta = malloc(sizeof(int32_t) * meta_n);
        if (!meta) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "decode: host allocation failed");
        memcpy(meta, c->cu_new, sizeof(int32_t) * (ns + 1));
        memcpy(meta + ns + 1, c->lengths, sizeof(int32_t) * ns);
        memcpy(meta + 2 * ns + 1, c->seq_ids, sizeof(int32_t) * ns);
        memcpy(meta + 3 * ns + 1, c->modes, sizeof(int32_t) * (size_t)ns * H);
        memcpy(meta + 3 * ns + 1 + (size_t)ns * H, c->chunks, sizeof(int32_t) * (size_t)ns * H);
        st = ocl_upload_meta_at(queue, p->meta.mem, 0, meta, sizeof(int32_t) * meta_n); /* frees meta */
    }
    cl_mem meta_mem = p->meta.mem, part_o = p->part_o.mem, part_lse = p->part_lse.mem;
    cl_mem lse = c->lse ? (cl_mem)c->lse : part_lse; /* not written without write_lse */
    if (st == ELATTN_SUCCESS && page_budget) st = quest_select(dev, p, queue, c, meta_mem);
    if (st == ELATTN_SUCCESS) {
        cl_mem q = (cl_mem)c->q, kpool = (cl_mem)c->k_pool, vpool = (cl_mem)c->v_pool, table = (cl_mem)c->page_table;
        const float scale_log2 = c->scale * ELATTN_LOG2E;
        /* Without Quest the kernels never read these two: any buffer will do. */
        cl_mem qp = page_budget ? p->quest_pages.mem : meta_mem, ql = page_budget ? p->quest_len.mem : meta_mem;
        /* The two partial kernels share their arguments but for the one before Quest's (the tiled
         * kernel's row tiles, the scalar kernel's row count) and the tiled kernel's fused merge's. */
        ocl_arg args[27] = {OCL_ARG(q), OCL_ARG(kpool), OCL_ARG(vpool), OCL_ARG(table), OCL_ARG(meta_mem),
                            OCL_ARG(part_o), OCL_ARG(part_lse), OCL_ARG(c->num_seqs), OCL_ARG(c->num_q_heads),
                            OCL_ARG(c->num_kv_heads), OCL_ARG(c->head_dim), OCL_ARG(scale_log2), OCL_ARG(c->sink),
                            OCL_ARG(c->local), OCL_ARG(c->ring), OCL_ARG(c->page_shift), OCL_ARG(c->pages_per_head),
                            OCL_ARG(c->splits)};
        int nargs = 18, row_tiles = 0;
        size_t groups = (items + wg - 1) / wg; /* scalar: a work-item per partial */
        if (p->kind == DECODE_TILED) {
            /* a work-group per (sequence, KV head, chunk, tile of rows); the row tiles of the step's
             * most new tokens, so that some work-groups of shorter steps have no rows */
            int most_new = 0;
            for (int i = 0; i < ns; ++i)
                most_new = c->cu_new[i + 1] - c->cu_new[i] > most_new ? c->cu_new[i + 1] - c->cu_new[i] : most_new;
            row_tiles = (most_new * c->group + DECODE_TILED_ROWS - 1) / DECODE_TILED_ROWS;
            groups = (size_t)ns * H * c->splits * row_tiles;
            args[nargs++] = OCL_ARG(row_tiles);
        } else {
            args[nargs++] = OCL_ARG(c->total_new);
        }
        args[nargs++] = OCL_ARG(qp);
        args[nargs++] = OCL_ARG(ql);
        args[nargs++] = OCL_ARG(page_budget);
        cl_mem arrivals = NULL; /* args holds its address: it lives as long as args */
        if (p->kind == DECODE_TILED) {
            st = arrivals_reserve(dev, &p->arrivals, queue, (size_t)ns * H * row_tiles);
            arrivals = p->arrivals.mem;
            args[nargs++] = OCL_ARG(o);
            args[nargs++] = OCL_ARG(lse);
            args[nargs++] = OCL_ARG(write_lse);
            args[nargs++] = OCL_ARG(arrivals);
            args[nargs++] = OCL_ARG(merge_chunks);
        }
        if (st == ELATTN_SUCCESS)
            st = ocl_launch(&p->partial, queue, args, nargs, groups, wg,
                            p->kind == DECODE_TILED ? "elattn_decode_tiled" : "elattn_decode_partial");
    }
    if (st == ELATTN_SUCCESS && c->splits > merge_chunks) { /* splits: the step's most-cut head's chunks */
        const ocl_arg args[] = {OCL_ARG(part_o),      OCL_ARG(part_lse),       OCL_ARG(o),
                                OCL_ARG(lse),         OCL_ARG(write_lse),      OCL_ARG(c->head_dim),
                                OCL_ARG(c->splits),   OCL_ARG(meta_mem),       OCL_ARG(c->num_seqs),
                                OCL_ARG(c->num_q_heads), OCL_ARG(c->num_kv_heads), OCL_ARG(merge_chunks)};
        st = ocl_launch(&p->merge, queue, args, (int)(sizeof args / sizeof args[0]),
                        (size_t)c->total_new * c->num_q_heads, wg, "elattn_decode_merge");
    }
    return st;
}

/*
 * The scalar reference as a backend: host memory, synchronous "streams", and
 * the reference/ functions as kernels. It makes the whole API work on any
 * machine and is the oracle of the conformance runner.
 *
 * It also offers deliberately faulty attention kernels, selected only by name
 * through elattn_plan_options.kernel ("reference.attn.fault_*"). They exist so
 * the conformance runner can prove that it catches a wrong kernel; nothing
 * selects them by default and the family listing does not show them.
 * "reference.attn.fault_crash" kills the process with SIGSEGV, so that the
 * runner can prove that a crashing kernel fails its case alone;
 * "reference.attn.fault_hang" never returns, so that it can prove that a
 * kernel that hangs fails its case after --case-timeout.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, sysconf */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "elattn_ref.h"

typedef enum fault {
    FAULT_NONE = 0,
    FAULT_WINDOW,  /* streaming window one key wider */
    FAULT_MASK,    /* block mask ignored (BLOCK_SPARSE run as FULL) */
    FAULT_SCALE,   /* softmax scale x 1.01 */
    FAULT_OVERRUN, /* writes one element past the end of O */
    FAULT_NAN,     /* one NaN in O */
    FAULT_LSE,     /* LSE off by 1e-3 relative */
    FAULT_ZERO,    /* the last query row of O left unwritten */
    FAULT_CRASH,   /* SIGSEGV before anything is written */
    FAULT_HANG,    /* never returns (waits for a signal), nothing written */
} fault;

/* The attention families: the scalar reference (the only one listed and the
 * only one chosen by default), then the faulty ones, forced by name only. */
static const char *const attn_families[] = {
    "reference.attn.scalar",
    "reference.attn.fault_window",
    "reference.attn.fault_mask",
    "reference.attn.fault_scale",
    "reference.attn.fault_overrun",
    "reference.attn.fault_nan",
    "reference.attn.fault_lse",
    "reference.attn.fault_zero",
    "reference.attn.fault_crash",
    "reference.attn.fault_hang",
};
static const fault attn_family_faults[] = {
    FAULT_NONE, FAULT_WINDOW, FAULT_MASK, FAULT_SCALE, FAULT_OVERRUN, FAULT_NAN, FAULT_LSE, FAULT_ZERO, FAULT_CRASH,
    FAULT_HANG,
};
enum { ATTN_FAMILIES = (int)(sizeof attn_families / sizeof attn_families[0]), ATTN_LISTED = 1 };
static const char *const xattn_families[] = {"reference.xattn.scalar"};
static const char *const router_families[] = {"reference.router.scalar"};
static const char *const decode_families[] = {"reference.decode.scalar"};

static int ref_families(void *dev, elattn_op op, const char **names, int max)
{
    (void)dev;
    const char *const *list = op == ELATTN_OP_ATTENTION ? attn_families
                              : op == ELATTN_OP_XATTN   ? xattn_families
                              : op == ELATTN_OP_ROUTER  ? router_families
                                                        : decode_families;
    const int n = op == ELATTN_OP_ATTENTION ? ATTN_LISTED : 1;
    for (int i = 0; i < n && i < max; ++i) names[i] = list[i];
    return n;
}

/* A family can run every valid call; a faulty one only when the forced name names it. */
typedef struct ref_probe_ctx {
    const char *forced;
    const char *const *families;
} ref_probe_ctx;

static int ref_probe(void *ctx, int index, char *variant, size_t variant_n, const char **why)
{
    const ref_probe_ctx *c = ctx;
    (void)variant_n;
    variant[0] = '\0';
    /* a faulty family runs only when the forced name names it (the family is a prefix of it at a '.') */
    if (index > 0 && !(c->forced && c->forced[0] && elattn_kernel_name_selects(c->families[index], c->forced))) {
        *why = "a deliberately faulty kernel, selected only by its name";
        return 0;
    }
    return 1;
}

/* The reference has no tiles or work-groups: an override it cannot honour is refused, not ignored,
 * as every backend answers a positive value it cannot honour (the core refuses negative ones). */
static elattn_status ref_no_tiles(const elattn_plan_options *options)
{
    if (options->tile_m || options->tile_n || options->work_group_size)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "options.tile_m/tile_n/work_group_size: (%d, %d, %d), but the reference backend has no "
                           "tiles or work-groups (use 0)",
                           options->tile_m, options->tile_n, options->work_group_size);
    return ELATTN_SUCCESS;
}

/* The plan of every operation: the family (its index) and the kernel name. */
typedef struct ref_plan {
    int family;
    char name[128];
} ref_plan;

static elattn_status ref_plan_create(const char *const *families, int count, const elattn_plan_options *options,
                                     int head_dim, elattn_dtype dtype, elattn_backend_plan *plan)
{
    elattn_status st = ref_no_tiles(options);
    if (st != ELATTN_SUCCESS) return st;
    ref_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    ref_probe_ctx ctx = {options->kernel, families};
    p->family = elattn_family_select(families, count, options->kernel, head_dim, dtype, "the scalar reference",
                                     ref_probe, &ctx, p->name, sizeof p->name);
    if (p->family < 0) {
        free(p);
        return ELATTN_ERROR_UNSUPPORTED;
    }
    plan->impl = p;
    plan->kernel_name = p->name;
    plan->workspace_bytes = 0;
    return ELATTN_SUCCESS;
}

/* The one device; it has no state. */
static char device_token;

static int ref_enumerate(elattn_device_info *infos, int max)
{
    if (max < 1) return 1;
    elattn_device_info *i = &infos[0];
    snprintf(i->name, sizeof i->name, "scalar reference (CPU)");
    snprintf(i->vendor, sizeof i->vendor, "elattn");
    snprintf(i->arch, sizeof i->arch, "scalar-c99");
    snprintf(i->id, sizeof i->id, "reference");
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    i->memory_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    i->compute_units = 1;
    i->wave_size = 1;
    i->is_gpu = 0;
    i->caps = ELATTN_CAP_FP16 | ELATTN_CAP_BF16 | ELATTN_CAP_HEAD_DIM_256 | ELATTN_CAP_HOST_MEMORY;
    return 1;
}

static elattn_status ref_open(int index, void **dev)
{
    if (index != 0) return elattn_fail(ELATTN_ERROR_NOT_AVAILABLE, "index: the reference has one device");
    *dev = &device_token;
    return ELATTN_SUCCESS;
}

static void ref_close(void *dev) { (void)dev; }

/* Work runs synchronously in the calling thread, so a stream is only a token. */
static elattn_status ref_stream_create(void *dev, void **stream)
{
    (void)dev;
    *stream = &device_token;
    return ELATTN_SUCCESS;
}

static void ref_stream_destroy(void *dev, void *stream) { (void)dev, (void)stream; }

static elattn_status ref_stream_sync(void *dev, void *stream)
{
    (void)dev, (void)stream;
    return ELATTN_SUCCESS;
}

static elattn_status ref_mem_alloc(void *dev, size_t bytes, void **mem)
{
    (void)dev;
    *mem = malloc(bytes);
    if (!*mem) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "bytes: could not allocate %zu host bytes", bytes);
    return ELATTN_SUCCESS;
}

static void ref_mem_free(void *dev, void *mem)
{
    (void)dev;
    free(mem);
}

static elattn_status ref_upload(void *dev, void *stream, void *mem, size_t offset, const void *src, size_t bytes)
{
    (void)dev, (void)stream;
    memcpy((char *)mem + offset, src, bytes);
    return ELATTN_SUCCESS;
}

static elattn_status ref_download(void *dev, void *stream, const void *mem, size_t offset, void *dst,
                                  size_t bytes)
{
    (void)dev, (void)stream;
    memcpy(dst, (const char *)mem + offset, bytes);
    return ELATTN_SUCCESS;
}

static elattn_status ref_view(void *dev, void *mem, size_t offset, size_t bytes, void **view)
{
    (void)dev, (void)bytes;
    *view = (char *)mem + offset;
    return ELATTN_SUCCESS;
}

static void ref_view_release(void *dev, void *view) { (void)dev, (void)view; }

static elattn_status ref_copy_2d(void *dev, void *stream, void *dst, size_t dst_offset, size_t dst_pitch,
                                 const void *src, size_t src_offset, size_t src_pitch, size_t width, size_t rows)
{
    (void)dev, (void)stream;
    for (size_t r = 0; r < rows; ++r)
        memmove((char *)dst + dst_offset + r * dst_pitch, (const char *)src + src_offset + r * src_pitch, width);
    return ELATTN_SUCCESS;
}

static elattn_status ref_fill(void *dev, void *stream, void *mem, size_t offset, unsigned char value, size_t bytes)
{
    (void)dev, (void)stream;
    memset((char *)mem + offset, value, bytes);
    return ELATTN_SUCCESS;
}

/* Events read the host's monotonic clock when recorded (work is synchronous). */
static elattn_status ref_event_create(void *dev, void **event)
{
    (void)dev;
    *event = calloc(1, sizeof(struct timespec));
    if (!*event) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "event: host allocation failed");
    return ELATTN_SUCCESS;
}

static void ref_event_destroy(void *dev, void *event)
{
    (void)dev;
    free(event);
}

static elattn_status ref_event_record(void *dev, void *stream, void *event)
{
    (void)dev, (void)stream;
    clock_gettime(CLOCK_MONOTONIC, (struct timespec *)event);
    return ELATTN_SUCCESS;
}

static elattn_status ref_event_elapsed(void *dev, void *start, void *end, float *ms)
{
    (void)dev;
    const struct timespec *a = start, *b = end;
    *ms = (float)((double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) * 1e-6);
    return ELATTN_SUCCESS;
}

/* The reference functions return OUT_OF_MEMORY without a message: say what failed. */
static elattn_status scratch_failure(elattn_status st, const char *what)
{
    if (st == ELATTN_SUCCESS) return st;
    return elattn_fail(st, "reference %s: no host memory for its scratch space", what);
}

/* ---- attention ---------------------------------------------------------------- */
static elattn_status ref_attn_plan(void *dev, const elattn_attn_desc *desc, const elattn_plan_options *options,
                                   elattn_backend_plan *plan)
{
    (void)dev;
    return ref_plan_create(attn_families, ATTN_FAMILIES, options, desc->head_dim, desc->dtype, plan);
}

static void ref_plan_destroy(void *dev, void *impl)
{
    (void)dev;
    free(impl);
}

/* A device mode table is host memory here: checked, as the host's is, so a wrong value is an error. */
static elattn_status ref_device_modes(const void *table, int count, const int32_t **modes)
{
    const int32_t *m = table;
    for (int i = 0; i < count; ++i)
        if (m[i] < 0 || m[i] >= ELATTN_MODE_COUNT)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "args.modes_buffer[%d]: %d is not an elattn_mode (0 FULL, 1 STREAMING, 2 BLOCK_SPARSE)", i,
                               (int)m[i]);
    *modes = m;
    return ELATTN_SUCCESS;
}

/* The batch's lengths are the core's host copies (call->cu_seqlens_*): nothing to keep. */
static elattn_status ref_attn_batch_create(void *dev, const void *impl, const elattn_attn_call *call, void **batch)
{
    (void)dev, (void)impl, (void)call;
    *batch = &device_token;
    return ELATTN_SUCCESS;
}

static void ref_attn_batch_destroy(void *dev, void *batch) { (void)dev, (void)batch; }

static elattn_status ref_attn_run(void *dev, const void *impl, void *stream, const elattn_attn_call *call)
{
    (void)dev, (void)stream;
    fault f = attn_family_faults[((const ref_plan *)impl)->family];
    const elattn_attn_desc *d = call->desc;
    elattn_attn_params p = call->params;
    const int32_t *modes = call->modes;
    if (call->modes_device) {
        elattn_status st = ref_device_modes(call->modes_device, d->batch * d->num_kv_heads, &modes);
        if (st != ELATTN_SUCCESS) return st;
    }
    int32_t *full_modes = NULL;
    size_t es = elattn_dtype_size(d->dtype), row = (size_t)d->num_q_heads * d->head_dim;
    size_t o_elems = (size_t)call->total_q * row;
    void *saved_row = NULL;

    if (f == FAULT_CRASH) {
        /* Deliberate: a kernel that takes the process down. A runtime in the process (LLVM in PoCL)
         * may have a SIGSEGV handler that returns once, so the default action is put back first. */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        abort();
    }
    if (f == FAULT_HANG) /* Deliberate: a kernel that never finishes, as a GPU kernel that deadlocks */
        for (;;) pause();
    if (f == FAULT_WINDOW) p.local += 1;
    if (f == FAULT_SCALE) {
        p.scale *= 1.01f;
        p.scale_log2 *= 1.01f;
    }
    if (f == FAULT_MASK) {
        int n = d->batch * d->num_kv_heads;
        full_modes = malloc(sizeof(int32_t) * (size_t)n);
        if (!full_modes) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "fault kernel: host allocation failed");
        for (int i = 0; i < n; ++i)
            full_modes[i] = modes[i] == ELATTN_MODE_BLOCK_SPARSE ? ELATTN_MODE_FULL : modes[i];
        modes = full_modes;
    }
    if (f == FAULT_ZERO && call->total_q > 0) {
        saved_row = malloc(row * es);
        if (!saved_row) {
            free(full_modes);
            return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "fault kernel: host allocation failed");
        }
        memcpy(saved_row, (char *)call->o + (o_elems - row) * es, row * es);
    }

    elattn_status st = elattn_ref_attention(&p, call->q, call->k, call->v, call->o, (float *)call->lse,
                                            call->cu_seqlens_q, call->cu_seqlens_k, modes,
                                            (const uint8_t *)call->block_mask, call->block_table);
    if (st != ELATTN_SUCCESS) st = scratch_failure(st, "attention");
    if (st == ELATTN_SUCCESS) {
        if (f == FAULT_OVERRUN) elattn_ref_store(d->dtype, call->o, o_elems, 0.5);
        if (f == FAULT_NAN && o_elems > 0) elattn_ref_store(d->dtype, call->o, o_elems / 2, NAN);
        if (f == FAULT_LSE && call->lse)
            for (size_t i = 0; i < (size_t)call->total_q * d->num_q_heads; ++i)
                ((float *)call->lse)[i] *= 1.001f;
        if (saved_row) memcpy((char *)call->o + (o_elems - row) * es, saved_row, row * es);
    }
    free(full_modes);
    free(saved_row);
    return st;
}

/* ---- XAttention and router ----------------------------------------------------- */
#define ELATTN_MAX_KV_HEADS_REF 1024 /* validate.c: num_kv_heads <= 1024 */
static elattn_status ref_xattn_plan(void *dev, const elattn_xattn_desc *desc, const elattn_plan_options *options,
                                    elattn_backend_plan *plan)
{
    (void)dev;
    return ref_plan_create(xattn_families, 1, options, desc->head_dim, desc->dtype, plan);
}

static elattn_status ref_xattn_run(void *dev, const void *impl, void *stream, const elattn_xattn_call *call)
{
    (void)dev, (void)impl, (void)stream;
    const int32_t *modes = call->modes;
    if (call->modes_device) {
        elattn_status st = ref_device_modes(call->modes_device, call->desc->batch * call->desc->num_kv_heads, &modes);
        if (st != ELATTN_SUCCESS) return st;
    }
    float taus[ELATTN_MAX_KV_HEADS_REF];
    const float *thresholds = call->thresholds;
    if (call->thresholds_device) { /* host memory here: checked as the host's are */
        const float *t = call->thresholds_device;
        for (int h = 0; h < call->desc->num_kv_heads; ++h) {
            taus[h] = t[call->num_thresholds_device == 1 ? 0 : h];
            if (!(taus[h] > 0.0f && taus[h] <= 1.0f))
                return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.thresholds_buffer[%d]: %g is outside (0, 1]",
                                   call->num_thresholds_device == 1 ? 0 : h, (double)taus[h]);
        }
        thresholds = taus;
    }
    return scratch_failure(
        elattn_ref_xattn(call->desc, call->q, call->k, call->cu_seqlens_q, call->cu_seqlens_k, modes,
                         thresholds, (uint8_t *)call->block_mask, call->mask_qblocks, call->mask_kblocks),
        "XAttention");
}

static elattn_status ref_router_plan(void *dev, const elattn_router_desc *desc, const elattn_plan_options *options,
                                     elattn_backend_plan *plan)
{
    (void)dev;
    return ref_plan_create(router_families, 1, options, desc->head_dim, desc->key_dtype, plan);
}

static elattn_status ref_router_run(void *dev, const void *impl, void *stream, const elattn_router_call *call)
{
    (void)dev, (void)impl, (void)stream;
    elattn_ref_router_weights w = {
        call->task_w1, call->task_b1, call->task_w2, call->task_b2, call->head_w1,
        call->head_b1, call->head_w2, call->head_b2, call->head_w3, call->head_b3,
    };
    return scratch_failure(
        elattn_ref_router(call->desc, call->keys, call->cu_seqlens, &w, (float *)call->logits,
                          call->modes ? call->modes : (int32_t *)call->modes_device),
        "router");
}

static elattn_status ref_merge_run(void *dev, void *stream, const elattn_merge_call *c)
{
    (void)dev, (void)stream;
    elattn_ref_merge_states(c->dtype, c->num_tokens, c->num_heads, c->head_dim, c->o1, c->lse1, c->o2, c->lse2, c->o,
                            c->lse);
    return ELATTN_SUCCESS;
}

/* Decode keeps no plan state: the selection names the kernel, or refuses the forced name. */
static elattn_status ref_decode_plan(void *dev, elattn_decode_setup *setup, const char *forced, void **impl,
                                     char *name, size_t name_n)
{
    (void)dev;
    ref_probe_ctx ctx = {forced, decode_families};
    *impl = NULL;
    return elattn_family_select(decode_families, 1, forced, setup->head_dim, setup->dtype, "the scalar reference",
                                ref_probe, &ctx, name, name_n) < 0
               ? ELATTN_ERROR_UNSUPPORTED
               : ELATTN_SUCCESS;
}

static elattn_status ref_decode_run(void *dev, const void *impl, void *stream, const elattn_decode_call *c)
{
    (void)dev, (void)impl, (void)stream;
    elattn_ref_decode_args a = {c->dtype,     c->head_dim,   c->num_q_heads, c->num_kv_heads, (double)c->scale,
                                c->sink,      c->local,      c->ring,        c->page_shift,   c->pages_per_head,
                                c->num_seqs,  c->seq_ids,    c->cu_new,      c->lengths,      c->modes,
                                c->chunks,    c->page_table, c->k_pool,      c->v_pool,       c->q,
                                c->o,         (float *)c->lse,   c->page_budget,  c->page_summaries};
    return scratch_failure(elattn_ref_decode(&a), "decode");
}

static elattn_status ref_kv_summarize(void *dev, void *stream, const elattn_kv_summary_call *c)
{
    (void)dev, (void)stream;
    const int32_t *list = c->list;
    elattn_ref_kv_summarize(c->dtype, c->head_dim, c->page_shift, c->k_pool, c->summaries, c->count, list,
                            list + c->count);
    return ELATTN_SUCCESS;
}

const elattn_backend_ops elattn_reference_backend = {
    .abi = ELATTN_BACKEND_ABI,
    .kind = ELATTN_BACKEND_REFERENCE,
    .name = "reference",
    .enumerate = ref_enumerate,
    .open = ref_open,
    .close = ref_close,
    .stream_create = ref_stream_create,
    .stream_destroy = ref_stream_destroy,
    .stream_sync = ref_stream_sync,
    .mem_alloc = ref_mem_alloc,
    .mem_free = ref_mem_free,
    .mem_upload = ref_upload,
    .mem_download = ref_download,
    .mem_view = ref_view,
    .mem_view_release = ref_view_release,
    .mem_copy_2d = ref_copy_2d,
    .mem_fill = ref_fill,
    .event_create = ref_event_create,
    .event_destroy = ref_event_destroy,
    .event_record = ref_event_record,
    .event_elapsed_ms = ref_event_elapsed,
    .attn_plan = ref_attn_plan,
    .attn_plan_destroy = ref_plan_destroy,
    .attn_run = ref_attn_run,
    .attn_batch_create = ref_attn_batch_create,
    .attn_batch_destroy = ref_attn_batch_destroy,
    .xattn_plan = ref_xattn_plan,
    .xattn_plan_destroy = ref_plan_destroy,
    .xattn_run = ref_xattn_run,
    .router_plan = ref_router_plan,
    .router_plan_destroy = ref_plan_destroy,
    .router_run = ref_router_run,
    .merge_run = ref_merge_run,
    .families = ref_families,
    .decode_plan = ref_decode_plan,
    .decode_run = ref_decode_run,
    .kv_summarize = ref_kv_summarize,
};

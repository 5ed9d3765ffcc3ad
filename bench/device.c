/*
 * Devices and timing: opening a device by name, listing them, and the
 * event-timed repetitions every measurement goes through.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "kit_devices.h"

/* ---- timing ------------------------------------------------------------------------------ */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(const double *sorted, int n, double q)
{
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    int hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The lead (bench.h): dense attention of `tokens` queries over as many keys, one head, D 128. */
elattn_status bench_lead_create(bench_lead *l, elattn_device *dev, elattn_stream *stream, elattn_dtype dtype,
                                int tokens)
{
    memset(l, 0, sizeof *l);
    if (tokens <= 0) return ELATTN_SUCCESS;
    elattn_attn_desc d = ELATTN_INIT(elattn_attn_desc);
    d.dtype = dtype, d.head_dim = 128, d.num_q_heads = d.num_kv_heads = 1, d.batch = 1;
    d.max_seqlen_q = d.max_seqlen_k = tokens, d.local = 1, d.block_size = 128;
    const size_t tensor = (size_t)tokens * 128 * elattn_dtype_size(dtype);
    elattn_buffer *view[4] = {NULL, NULL, NULL, NULL};
    l->args = ELATTN_INIT(elattn_attn_args);
    elattn_status st = elattn_attn_plan_create(dev, &d, NULL, &l->plan);
    const size_t ws = st == ELATTN_SUCCESS ? elattn_attn_plan_workspace_size(l->plan) : 0;
    if (st == ELATTN_SUCCESS && ws > 0) st = elattn_buffer_alloc(dev, ws, &l->args.workspace);
    if (st == ELATTN_SUCCESS) st = elattn_buffer_alloc(dev, 4 * tensor, &l->mem);
    for (int i = 0; i < 4 && st == ELATTN_SUCCESS; ++i) st = elattn_buffer_view(l->mem, i * tensor, tensor, &view[i]);
    if (st == ELATTN_SUCCESS) st = elattn_buffer_fill(l->mem, 0, 0, 4 * tensor, stream);
    static const int32_t full_mode[1] = {ELATTN_FULL};
    l->cu[0] = 0, l->cu[1] = tokens;
    l->args.q = view[0], l->args.k = view[1], l->args.v = view[2], l->args.o = view[3];
    l->args.cu_seqlens_q = l->args.cu_seqlens_k = l->cu, l->args.modes = full_mode;
    if (st == ELATTN_SUCCESS) l->tokens = tokens;
    else bench_lead_destroy(l);
    return st;
}

void bench_lead_destroy(bench_lead *l)
{
    const elattn_buffer *views[4] = {l->args.q, l->args.k, l->args.v, l->args.o};
    for (int i = 0; i < 4; ++i) elattn_buffer_free((elattn_buffer *)views[i]);
    elattn_buffer_free(l->mem), elattn_buffer_free(l->args.workspace);
    elattn_attn_plan_destroy(l->plan);
    memset(l, 0, sizeof *l);
}

int bench_lead_default(const elattn_device_info *info) { return info->is_gpu ? 8192 : 0; }

elattn_status time_once(bench_dev *bd, op_fn fn, void *ctx, int set, float *ms)
{
    elattn_status st;
    if (bd->lead.plan && (st = elattn_attn_run(bd->lead.plan, bd->stream, &bd->lead.args)) != ELATTN_SUCCESS)
        return st;
    if ((st = elattn_event_record(bd->ev_start, bd->stream)) != ELATTN_SUCCESS ||
        (st = fn(ctx, set)) != ELATTN_SUCCESS || (st = elattn_event_record(bd->ev_end, bd->stream)) != ELATTN_SUCCESS)
        return st;
    return elattn_event_elapsed_ms(bd->ev_start, bd->ev_end, ms);
}

/* Warm-up, then event-timed runs rotating over `nsets` input sets until both
 * min_reps and min_time are reached (or max_reps). */
elattn_status time_op(const config *c, bench_dev *bd, op_fn fn, void *ctx, int nsets, timing *t)
{
    elattn_status st;
    for (int w = 0; w < c->warmup; ++w)
        if ((st = fn(ctx, w % nsets)) != ELATTN_SUCCESS) return st;
    double *ms = malloc(sizeof(double) * (size_t)c->max_reps);
    if (!ms) return ELATTN_ERROR_OUT_OF_MEMORY;
    double total = 0.0;
    int n = 0;
    while (n < c->max_reps && (n < c->min_reps || total < c->min_time_s * 1e3)) {
        float e = 0.0f;
        if ((st = time_once(bd, fn, ctx, n % nsets, &e)) != ELATTN_SUCCESS) {
            free(ms);
            return st;
        }
        ms[n++] = e;
        total += e;
    }
    timing_from_samples(ms, n, t);
    free(ms);
    return ELATTN_SUCCESS;
}

void timing_from_samples(double *ms, int n, timing *t)
{
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    t->reps = n;
    t->median = quantile(ms, n, 0.5);
    t->p25 = quantile(ms, n, 0.25);
    t->p75 = quantile(ms, n, 0.75);
    t->min = ms[0];
    t->max = ms[n - 1];
}

/* ---- devices -------------------------------------------------------------------------------- */
/* "BACKEND:gpu" picks the first GPU of a backend; anything else goes to
 * elattn_device_open_by_name. */
elattn_status open_device(const char *name, elattn_device **dev)
{
    const char *colon = strchr(name, ':');
    if (colon && strcmp(colon + 1, "gpu") == 0) {
        int n = 0;
        elattn_device_count(&n);
        for (int i = 0; i < n; ++i) {
            elattn_device_info info;
            if (elattn_device_get_info(i, &info) == ELATTN_SUCCESS && info.is_gpu &&
                strncmp(elattn_backend_name(info.backend), name, (size_t)(colon - name)) == 0 &&
                elattn_backend_name(info.backend)[colon - name] == '\0')
                return elattn_device_open(i, dev);
        }
        return ELATTN_ERROR_NOT_AVAILABLE;
    }
    return elattn_device_open_by_name(name, dev);
}

void list_devices(void) { kit_print_devices(stdout); }


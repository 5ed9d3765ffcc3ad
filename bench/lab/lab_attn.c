/*
 * elattn-lab-attn: one hybrid attention configuration on one device, through
 * the public API. It checks a sample of output rows against the scalar
 * reference (reference/, compiled into this tool) with guard bytes around O
 * and LSE, then times launches with elattn events and prints one key=value
 * line. A tile or shape sweep is a shell loop over --kernel and the shapes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elattn_ref.h"
#include "lab.h"

static const char usage_text[] =
    "usage: elattn-lab-attn [options]\n"
    "Runs one attention configuration, checks sampled rows of O (and LSE) against the scalar\n"
    "reference, times it and prints one key=value line. Exit status: 0 pass, 1 check failed,\n"
    "2 error, 3 unsupported (no kernel for it, or the forced one cannot run it).\n"
    "%s"
    "  --sink N           streaming sinks in tokens (default 128)\n"
    "  --local N          streaming window in tokens (default 2048)\n"
    "  --density F        fraction of block-mask cells set for block-sparse heads (default 0.5)\n"
    "  --lse 0|1          write and check LSE (default 1)\n"
    "  --rows N           sampled rows to check; the first and last rows of O and of every mode\n"
    "                     come on top (default 32)\n";

/* The same limits as elattn-conformance (conformance/checks.c explains them):
 * u is the unit roundoff of the output dtype. */
typedef struct tolerance {
    double nmse, max_rel, lse_rel;
} tolerance;
static const tolerance tolerances[] = {
    [ELATTN_F32] = {1e-10, 1e-5, 5e-5},
    [ELATTN_F16] = {4.0 * 0x1p-22, 8.0 * 0x1p-11, 5e-5},
    [ELATTN_BF16] = {4.0 * 0x1p-16, 8.0 * 0x1p-8, 5e-5},
};

typedef struct attn_lab {
    lab_opts o;
    int sink, local, lse, rows;
    double density;

    int group, max_q, max_k, total_q, total_k;
    int32_t cu_q[LAB_MAX_BATCH + 1], cu_k[LAB_MAX_BATCH + 1];
    int32_t *modes; /* [batch][Hkv] */
    size_t es, mask_bytes;
    int mask_qblocks, mask_kblocks, any_block_sparse;
    void *q, *k, *v;
    uint8_t *mask;
    double max_abs_v;
    float scale;
    elattn_attn_desc desc;

    elattn_device *dev;
    elattn_attn_plan *plan;
    elattn_buffer *dq, *dk, *dv, *dmask, *ws;
    kit_guarded out, lse_out;
    elattn_attn_args args;
} attn_lab;

static int attn_option(void *tool, const char *name, const char *v)
{
    attn_lab *L = tool;
    if (!strcmp(name, "--sink")) L->sink = (int)lab_parse_long(name, v, 0, 1L << 30);
    else if (!strcmp(name, "--local")) L->local = (int)lab_parse_long(name, v, 0, 1L << 30);
    else if (!strcmp(name, "--lse")) L->lse = (int)lab_parse_long(name, v, 0, 1);
    else if (!strcmp(name, "--rows")) L->rows = (int)lab_parse_long(name, v, 0, 1000000);
    else if (!strcmp(name, "--density")) L->density = lab_parse_double(name, v, 0.0, 1.0);
    else return 0;
    return 1;
}

static void parse(attn_lab *L, int argc, char **argv)
{
    lab_opts_init(&L->o, "lab-attn", "dense");
    L->sink = 128;
    L->local = 2048;
    L->lse = 1;
    L->rows = 32;
    L->density = 0.5;
    lab_parse_args(&L->o, argc, argv, usage_text, attn_option, L);
}

/* ---- inputs ---------------------------------------------------------------------- */
static void fill(attn_lab *L, void *dst, size_t n, kit_rng *rng, double *max_abs)
{
    float chunk[4096];
    float top = 0.0f;
    for (size_t at = 0; at < n; at += 4096) {
        size_t m = n - at < 4096 ? n - at : 4096;
        for (size_t i = 0; i < m; ++i) {
            chunk[i] = kit_rng_unit(rng);
            if (fabsf(chunk[i]) > top) top = fabsf(chunk[i]);
        }
        lab_store(L->o.dtype, dst, at, chunk, m);
    }
    /* Rounding is monotone, so the largest stored magnitude is the rounded largest value. */
    if (max_abs) {
        unsigned char one[4];
        lab_store(L->o.dtype, one, 0, &top, 1);
        *max_abs = fabs(lab_load(L->o.dtype, one, 0));
    }
}

static void setup(attn_lab *L)
{
    const lab_opts *o = &L->o;
    L->group = o->hq / o->hkv;
    kit_seqlens(o->batch, o->lq, L->cu_q, &L->max_q);
    kit_seqlens(o->batch, o->lk, L->cu_k, &L->max_k);
    L->total_q = L->cu_q[o->batch];
    L->total_k = L->cu_k[o->batch];
    L->scale = (float)(1.0 / sqrt((double)o->head_dim));
    L->desc = (elattn_attn_desc){
        .struct_size = sizeof(elattn_attn_desc),
        .dtype = o->dtype, .head_dim = o->head_dim, .num_q_heads = o->hq, .num_kv_heads = o->hkv,
        .batch = o->batch, .max_seqlen_q = L->max_q, .max_seqlen_k = L->max_k, .causal = o->causal,
        .scale = L->scale, .sink = L->sink, .local = L->local, .block_size = o->block, .write_lse = L->lse,
    };

    LAB_TRY(elattn_device_open_by_name(o->device, &L->dev), "device_open");
    elattn_plan_options opts = lab_plan_options(o);
    /* The plan validates the shape: its message is clearer than any check here. */
    LAB_TRY(elattn_attn_plan_create(L->dev, &L->desc, &opts, &L->plan), "plan");
    lab_kv("kernel", "%s", elattn_attn_plan_kernel_name(L->plan));

    L->modes = lab_malloc(sizeof(int32_t) * (size_t)o->batch * o->hkv);
    for (int b = 0; b < o->batch; ++b)
        for (int h = 0; h < o->hkv; ++h) {
            L->modes[b * o->hkv + h] = o->modes[h];
            L->any_block_sparse |= o->modes[h] == ELATTN_BLOCK_SPARSE;
        }
    L->mask_qblocks = (L->max_q + o->block - 1) / o->block;
    L->mask_kblocks = (L->max_k + o->block - 1) / o->block;
    L->mask_bytes = elattn_block_mask_bytes(&L->desc);

    kit_rng rng;
    kit_rng_seed(&rng, o->seed);
    L->es = elattn_dtype_size(o->dtype);
    size_t nq = (size_t)L->total_q * o->hq * o->head_dim, nk = (size_t)L->total_k * o->hkv * o->head_dim;
    L->q = lab_malloc(nq * L->es);
    L->k = lab_malloc(nk * L->es);
    L->v = lab_malloc(nk * L->es);
    fill(L, L->q, nq, &rng, NULL);
    fill(L, L->k, nk, &rng, NULL);
    fill(L, L->v, nk, &rng, &L->max_abs_v);
    L->mask = lab_malloc(L->mask_bytes);
    for (size_t i = 0; i < L->mask_bytes; ++i) L->mask[i] = kit_rng_uniform(&rng) < L->density;

    LAB_TRY(elattn_buffer_alloc(L->dev, nq * L->es, &L->dq), "alloc q");
    LAB_TRY(elattn_buffer_alloc(L->dev, nk * L->es > 0 ? nk * L->es : 1, &L->dk), "alloc k");
    LAB_TRY(elattn_buffer_alloc(L->dev, nk * L->es > 0 ? nk * L->es : 1, &L->dv), "alloc v");
    LAB_TRY(elattn_buffer_upload(L->dq, 0, L->q, nq * L->es, NULL), "upload q");
    LAB_TRY(elattn_buffer_upload(L->dk, 0, L->k, nk * L->es, NULL), "upload k");
    LAB_TRY(elattn_buffer_upload(L->dv, 0, L->v, nk * L->es, NULL), "upload v");
    if (L->any_block_sparse) {
        LAB_TRY(elattn_buffer_alloc(L->dev, L->mask_bytes, &L->dmask), "alloc mask");
        LAB_TRY(elattn_buffer_upload(L->dmask, 0, L->mask, L->mask_bytes, NULL), "upload mask");
    }
    size_t ws = elattn_attn_plan_workspace_size(L->plan);
    if (ws) LAB_TRY(elattn_buffer_alloc(L->dev, ws, &L->ws), "alloc workspace");
    LAB_TRY(kit_guarded_alloc(L->dev, nq * L->es, &L->out), "alloc (guarded output)");
    if (L->lse)
        LAB_TRY(kit_guarded_alloc(L->dev, sizeof(float) * (size_t)L->total_q * o->hq, &L->lse_out),
                "alloc (guarded output)");

    L->args = (elattn_attn_args){
        .struct_size = sizeof(elattn_attn_args),
        .q = L->dq, .k = L->dk, .v = L->dv, .o = L->out.view, .lse = L->lse ? L->lse_out.view : NULL,
        .cu_seqlens_q = L->cu_q, .cu_seqlens_k = L->cu_k, .modes = L->modes, .block_mask = L->dmask,
        .workspace = L->ws,
    };
}

static void launch(void *ctx)
{
    attn_lab *L = ctx;
    LAB_TRY(elattn_attn_run(L->plan, NULL, &L->args), "run");
}

/* ---- the check ------------------------------------------------------------------------ */
typedef struct sample {
    int b, h, i;
} sample;

/* The first and last rows of O, the first and last rows of each element for
 * a head of every mode it has, then random rows up to L->rows. */
static int pick_samples(const attn_lab *L, sample *s, int cap)
{
    const lab_opts *o = &L->o;
    int n = 0, first = -1, last = -1;
    for (int b = 0; b < o->batch; ++b)
        if (o->lq[b] > 0) {
            if (first < 0) first = b;
            last = b;
        }
    s[n++] = (sample){first, 0, 0};
    s[n++] = (sample){last, o->hq - 1, o->lq[last] - 1};
    for (int b = 0; b < o->batch; ++b) {
        if (o->lq[b] == 0) continue;
        for (int m = 0; m < ELATTN_MODE_COUNT; ++m) {
            int heads[LAB_MAX_KV_HEADS], nh = 0;
            for (int hk = 0; hk < o->hkv; ++hk)
                if (o->modes[hk] == m) heads[nh++] = hk;
            if (!nh) continue;
            /* Rotate over the mode's heads and over the group from element to element. */
            int h = heads[b % nh] * L->group + b % L->group;
            s[n++] = (sample){b, h, 0};
            s[n++] = (sample){b, h, o->lq[b] - 1};
        }
    }
    kit_rng rng;
    kit_rng_seed(&rng, o->seed ^ 0x5A5Aull);
    for (int r = 0; r < L->rows && n < cap; ++r) {
        int t = (int)(kit_rng_uniform(&rng) * L->total_q), b = 0;
        while (L->cu_q[b + 1] <= t) ++b;
        s[n++] = (sample){b, (int)(kit_rng_uniform(&rng) * o->hq), t - L->cu_q[b]};
    }
    return n;
}

/* Row i of query head h of element b, by the scalar reference, on a copy of
 * just the inputs it needs: one query head, one KV head, and the fewest rows
 * that keep the row's position and its visible keys:
 *   causal: the keys up to the row's position p and the row alone (it is the
 *     last row, so its position stays p); keys past p are never visible;
 *   not causal, FULL or BLOCK_SPARSE: all keys and the row alone (its position
 *     does not matter, its mask row is copied);
 *   not causal, STREAMING: the keys up to max(sink, p + local), the farthest a
 *     two-sided window or a sink reaches, and the rows from i on so that the
 *     first of them sits at p (the rest are computed and ignored). */
static void reference_row(const attn_lab *L, const sample *s, float *o_ref, float *lse_ref)
{
    const lab_opts *o = &L->o;
    const int D = o->head_dim, hk = s->h / L->group, mode = o->modes[hk];
    const int len_q = o->lq[s->b], len_k = o->lk[s->b], p = elattn_query_pos(s->i, len_q, len_k);
    int sub_k, sub_q = 1;
    if (o->causal) {
        sub_k = p + 1 > 0 ? p + 1 : 0;
    } else if (mode != ELATTN_MODE_STREAMING) {
        sub_k = len_k;
    } else {
        long reach = p + (long)L->local > L->sink ? p + (long)L->local : L->sink;
        sub_k = reach < 0 ? 0 : reach < len_k ? (int)reach : len_k;
        sub_q = sub_k - p; /* >= 1, and rows i .. i + sub_q - 1 exist since sub_k <= len_k */
    }

    const size_t row = (size_t)D * L->es;
    char *q = lab_malloc(row * (size_t)sub_q), *out = lab_malloc(row * (size_t)sub_q);
    char *k = lab_malloc(row * (size_t)sub_k), *v = lab_malloc(row * (size_t)sub_k);
    float *lse = lab_malloc(sizeof(float) * (size_t)sub_q);
    for (int r = 0; r < sub_q; ++r)
        memcpy(q + r * row, (const char *)L->q + ((size_t)(L->cu_q[s->b] + s->i + r) * o->hq + s->h) * row, row);
    for (int j = 0; j < sub_k; ++j) {
        size_t at = ((size_t)(L->cu_k[s->b] + j) * o->hkv + hk) * row;
        memcpy(k + j * row, (const char *)L->k + at, row);
        memcpy(v + j * row, (const char *)L->v + at, row);
    }
    const int sub_kb = (sub_k + o->block - 1) / o->block;
    uint8_t *mask = NULL;
    if (mode == ELATTN_MODE_BLOCK_SPARSE) { /* sub_q is 1: one mask row */
        mask = lab_malloc(sub_kb > 0 ? (size_t)sub_kb : 1);
        memcpy(mask, L->mask + elattn_mask_row(s->b, hk, s->i / o->block, o->hkv, L->mask_qblocks, L->mask_kblocks),
               (size_t)sub_kb);
    }
    elattn_attn_params P;
    memset(&P, 0, sizeof P);
    P.head_dim = D;
    P.num_q_heads = P.num_kv_heads = P.group = P.batch = 1;
    P.max_seqlen_q = sub_q;
    P.max_seqlen_k = sub_k;
    P.causal = o->causal;
    P.scale = L->scale;
    P.scale_log2 = (float)(L->scale * 1.4426950408889634);
    P.sink = L->sink;
    P.local = L->local;
    P.block_size = o->block;
    P.mask_qblocks = (sub_q + o->block - 1) / o->block;
    P.mask_kblocks = sub_kb;
    P.write_lse = 1;
    P.dtype = (int)o->dtype;
    elattn_params_packed_layout(&P);
    int32_t cu_q[2] = {0, sub_q}, cu_k[2] = {0, sub_k}, m = mode;
    if (elattn_ref_attention(&P, q, k, v, out, lse, cu_q, cu_k, &m, mask, NULL) != ELATTN_SUCCESS)
        lab_die("the reference could not run row %d of element %d (out of host memory)", s->i, s->b);
    LAB_TRY(elattn_convert(ELATTN_F32, o_ref, o->dtype, out, (size_t)D), "convert");
    *lse_ref = lse[0];
    free(q), free(k), free(v), free(out), free(lse), free(mask);
}

/* Non-finite elements among n of `dtype` (all exponent bits set): a pass over
 * memory, so that all of O is read even at 10^8 elements. */
static long count_nonfinite(elattn_dtype dtype, const unsigned char *p, size_t n)
{
    long bad = 0;
    for (size_t i = 0; i < n; ++i) {
        if (dtype == ELATTN_F32) {
            uint32_t x;
            memcpy(&x, p + 4 * i, 4);
            bad += (x & 0x7F800000u) == 0x7F800000u;
        } else {
            uint16_t x;
            memcpy(&x, p + 2 * i, 2);
            const uint16_t exp = dtype == ELATTN_F16 ? 0x7C00u : 0x7F80u;
            bad += (x & exp) == exp;
        }
    }
    return bad;
}

/* All of O written and finite, all of LSE written and finite or -inf (a row
 * without a visible key). Both start as NaN, so a skipped element shows. */
static void check_all_written(const attn_lab *L)
{
    const size_t chunk = 16u << 20;
    unsigned char *buf = lab_malloc(chunk);
    long bad_o = 0, bad_lse = 0;
    for (size_t at = 0; at < L->out.bytes; at += chunk) {
        size_t n = L->out.bytes - at < chunk ? L->out.bytes - at : chunk;
        LAB_TRY(elattn_buffer_download(L->out.view, at, buf, n, NULL), "download O");
        bad_o += count_nonfinite(L->o.dtype, buf, n / L->es);
    }
    for (size_t at = 0; L->lse && at < L->lse_out.bytes; at += chunk) {
        size_t n = L->lse_out.bytes - at < chunk ? L->lse_out.bytes - at : chunk;
        LAB_TRY(elattn_buffer_download(L->lse_out.view, at, buf, n, NULL), "download LSE");
        for (size_t i = 0; i < n / sizeof(float); ++i) {
            float x;
            memcpy(&x, buf + i * sizeof(float), sizeof x);
            bad_lse += !isfinite(x) && !(isinf(x) && x < 0);
        }
    }
    lab_kv("o_nonfinite", "%ld", bad_o);
    if (bad_o) lab_fail_reason("%ld elements of O are NaN or infinite (unwritten elements keep NaN)", bad_o);
    if (bad_lse) lab_fail_reason("%ld LSE values are NaN or +inf (unwritten values keep NaN)", bad_lse);
    free(buf);
}

static void check_guards(const attn_lab *L, const char *when)
{
    long long hit;
    if (!lab_guards_intact(&L->out, &hit))
        lab_fail_reason("guard byte at offset %lld of O (%zu bytes) overwritten %s", hit, L->out.bytes, when);
    if (L->lse && !lab_guards_intact(&L->lse_out, &hit))
        lab_fail_reason("guard byte at offset %lld of LSE (%zu bytes) overwritten %s", hit, L->lse_out.bytes, when);
}

static void check(attn_lab *L)
{
    const lab_opts *o = &L->o;
    const int D = o->head_dim;
    const tolerance *tol = &tolerances[o->dtype];
    LAB_TRY(kit_guarded_reset(&L->out), "reset (guarded output)");
    if (L->lse) LAB_TRY(kit_guarded_reset(&L->lse_out), "reset (guarded output)");
    launch(L);

    int cap = L->rows + 2 + 6 * o->batch;
    sample *s = lab_malloc(sizeof(sample) * (size_t)cap);
    int n = pick_samples(L, s, cap);
    float *ref = lab_malloc(sizeof(float) * D), *got = lab_malloc(sizeof(float) * D);
    unsigned char *raw = lab_malloc((size_t)D * L->es);
    double err2 = 0, ref2 = 0, max_abs = 0, lse_rel = 0;
    long empty = 0, bad_empty = 0, bad_lse = 0;
    for (int r = 0; r < n; ++r) {
        float lse_ref, lse_got = 0;
        reference_row(L, &s[r], ref, &lse_ref);
        const size_t at = (size_t)(L->cu_q[s[r].b] + s[r].i) * o->hq + s[r].h;
        LAB_TRY(elattn_buffer_download(L->out.view, at * D * L->es, raw, (size_t)D * L->es, NULL), "download O");
        LAB_TRY(elattn_convert(ELATTN_F32, got, o->dtype, raw, (size_t)D), "convert");
        if (L->lse) LAB_TRY(elattn_buffer_download(L->lse_out.view, at * sizeof(float), &lse_got, sizeof(float), NULL),
                            "download LSE");
        if (isinf(lse_ref)) { /* no visible key: O = 0 and LSE = -inf exactly */
            ++empty;
            int zero = 1;
            for (int d = 0; d < D; ++d) zero &= got[d] == 0.0f;
            bad_empty += !zero || (L->lse && !(isinf(lse_got) && lse_got < 0));
            continue;
        }
        for (int d = 0; d < D; ++d) {
            if (!isfinite(got[d])) continue; /* counted by check_all_written */
            double e = (double)got[d] - ref[d];
            err2 += e * e;
            ref2 += (double)ref[d] * ref[d];
            if (fabs(e) > max_abs) max_abs = fabs(e);
        }
        if (L->lse) {
            if (!isfinite(lse_got)) ++bad_lse;
            else {
                double e = fabs((double)lse_got - lse_ref) / (fabs(lse_ref) > 1 ? fabs(lse_ref) : 1);
                if (e > lse_rel) lse_rel = e;
            }
        }
    }
    const double nmse = ref2 > 0 ? err2 / ref2 : err2, max_rel = L->max_abs_v > 0 ? max_abs / L->max_abs_v : max_abs;
    lab_kv("rows", "%d", n);
    lab_kv("empty_rows", "%ld", empty);
    lab_kv("nmse", "%.3g", nmse);
    lab_kv("max_rel", "%.3g", max_rel);
    if (L->lse) lab_kv("lse_rel", "%.3g", lse_rel);
    if (bad_empty) lab_fail_reason("%ld rows without a visible key are not O = 0, LSE = -inf", bad_empty);
    if (bad_lse) lab_fail_reason("%ld non-finite LSE values in rows that have visible keys", bad_lse);
    if (nmse > tol->nmse) lab_fail_reason("nmse %.3g > %.3g", nmse, tol->nmse);
    if (max_rel > tol->max_rel) lab_fail_reason("max |error| / max |V| %.3g > %.3g", max_rel, tol->max_rel);
    if (L->lse && lse_rel > tol->lse_rel) lab_fail_reason("LSE relative error %.3g > %.3g", lse_rel, tol->lse_rel);
    check_all_written(L);
    check_guards(L, "by the checked launch");
    free(s), free(ref), free(got), free(raw);
}

/* ---- work counted ------------------------------------------------------------------------ */
/* Visible (query, key) pairs over all query heads. elattn_sparsity_of_call
 * counts them exactly per (element, KV head) as rho = 1 - attended / causal
 * pairs; one call per entry gives attended = (1 - rho) * causal pairs (exact
 * after rounding: both are integers far below 2^53). Counting through the
 * library keeps the visibility rule in one place. */
static double visible_pairs(const attn_lab *L)
{
    const lab_opts *o = &L->o;
    double total = 0;
    for (int b = 0; b < o->batch; ++b) {
        double causal_pairs = 0;
        for (int i = 0; i < o->lq[b]; ++i) {
            long p = elattn_query_pos(i, o->lq[b], o->lk[b]);
            causal_pairs += o->causal ? (p + 1 > 0 ? (double)(p + 1) : 0.0) : (double)o->lk[b];
        }
        for (int hk = 0; hk < o->hkv; ++hk) {
            elattn_attn_desc one = L->desc;
            one.batch = 1;
            one.num_q_heads = one.num_kv_heads = 1;
            int32_t cu_q[2] = {0, o->lq[b]}, cu_k[2] = {0, o->lk[b]}, mode = o->modes[hk];
            /* max_seqlen stays: the head's mask table keeps its layout */
            const uint8_t *mask = L->mask + elattn_mask_row(b, hk, 0, o->hkv, L->mask_qblocks, L->mask_kblocks);
            elattn_sparsity sp;
            LAB_TRY(elattn_sparsity_of_call(&one, cu_q, cu_k, &mode, mask, &sp), "sparsity_of_call");
            total += round((1.0 - sp.rho_sum) * causal_pairs) * L->group;
        }
    }
    return total;
}

int main(int argc, char **argv)
{
    attn_lab L;
    memset(&L, 0, sizeof L);
    parse(&L, argc, argv);
    lab_kv_config(&L.o);
    lab_kv("sink", "%d", L.sink);
    lab_kv("local", "%d", L.local);
    lab_kv("lse", "%d", L.lse);
    setup(&L);

    if (L.o.check) {
        check(&L);
    } else {
        lab_kv("check", "off");
        lab_mark_unchecked();
    }

    elattn_sparsity sp;
    LAB_TRY(elattn_sparsity_of_call(&L.desc, L.cu_q, L.cu_k, L.modes, L.mask, &sp), "sparsity_of_call");
    const double pairs = visible_pairs(&L);
    lab_kv("pairs", "%.0f", pairs);
    lab_kv("msr", "%.4f", sp.omega_msr);
    lab_kv("esr", "%.4f", sp.omega_esr);

    if (L.o.iters > 0) {
        if (L.o.check) { /* fresh guards: what the timed launches do is reported on its own */
            LAB_TRY(kit_guarded_reset(&L.out), "reset (guarded output)");
            if (L.lse) LAB_TRY(kit_guarded_reset(&L.lse_out), "reset (guarded output)");
        }
        lab_times t = lab_time(L.dev, L.o.warmup, L.o.iters, launch, &L);
        lab_kv("iters", "%d", L.o.iters);
        lab_kv("ms", "%.4f", t.median);
        lab_kv("ms_min", "%.4f", t.min);
        lab_kv("ms_max", "%.4f", t.max);
        lab_kv("tflops", "%.4g", t.median > 0 ? 4.0 * L.o.head_dim * pairs / (t.median * 1e-3) / 1e12 : 0.0);
        if (L.o.check) check_guards(&L, "by the timed launches");
    }
    lab_finish();
}

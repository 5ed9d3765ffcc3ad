/*
 * elattn-lab-xattn: XAttention estimation and selection (elattn_xattn_*) for
 * one configuration on one device, through the public API. The mask is
 * checked against the scalar reference (elattn_ref_xattn, compiled into this
 * tool) on a small version of the configuration, then the full size is run
 * once (guard bytes, 0/1 cells, other heads untouched) and timed with elattn
 * events. Prints one key=value line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elattn_ref.h"
#include "lab.h"

static const char usage_text[] =
    "usage: elattn-lab-xattn [options]\n"
    "Runs XAttention block selection for one configuration: checks the mask against the scalar\n"
    "reference on the configuration scaled down to --check-len, runs the full size once (guards,\n"
    "0/1 cells, heads of other modes untouched), times it and prints one key=value line.\n"
    "Exit status: 0 pass, 1 check failed, 2 error, 3 unsupported.\n"
    "%s"
    "  (--mix says which KV heads are block-sparse and get a mask; default blocks)\n"
    "  --stride S         antidiagonal stride (default 16)\n"
    "  --tau T[,T...]     threshold, one or one per KV head (default 0.9)\n"
    "  --check-len N      longest length of the checked configuration; longer lengths are scaled\n"
    "                     down in proportion (default 1024)\n"
    "  --inject-mask-error 0|1  flip a forced cell of the device's mask before the comparison, to\n"
    "                     show that the check catches a wrong mask (the reference backend has no\n"
    "                     faulty XAttention kernel to force)\n";

/* A mask decision closer than this fraction of its row's total score to going
 * the other way may differ from the reference: scores are fp32 softmax sums
 * on the devices (errors near 1e-6 of a row's total), as elattn-conformance
 * allows (conformance/checks.c). */
static const double margin_eps = 1e-4;

typedef struct xattn_lab {
    lab_opts o;
    int stride, check_len, inject;
    int num_taus;
    float taus[LAB_MAX_KV_HEADS];     /* as given (1 or Hkv values) */
    float taus_all[LAB_MAX_KV_HEADS]; /* one per KV head, for the reference */
    int32_t *modes;                   /* [batch][Hkv] */
    float scale;
    elattn_device *dev;
} xattn_lab;

/* One size of the configuration: inputs, plan, buffers. */
typedef struct xrun {
    int lq[LAB_MAX_BATCH], lk[LAB_MAX_BATCH];
    int32_t cu_q[LAB_MAX_BATCH + 1], cu_k[LAB_MAX_BATCH + 1];
    int max_q, max_k, nqb, nkb;
    size_t mask_bytes;
    elattn_xattn_desc desc;
    elattn_xattn_plan *plan;
    void *q, *k;
    elattn_buffer *dq, *dk, *ws;
    kit_guarded mask;
    elattn_xattn_args args;
} xrun;

static int xattn_option(void *tool, const char *name, const char *v)
{
    xattn_lab *X = tool;
    if (!strcmp(name, "--stride")) X->stride = (int)lab_parse_long(name, v, 1, 1L << 20);
    else if (!strcmp(name, "--check-len")) X->check_len = (int)lab_parse_long(name, v, 1, 1L << 30);
    else if (!strcmp(name, "--inject-mask-error")) X->inject = (int)lab_parse_long(name, v, 0, 1);
    else if (!strcmp(name, "--tau")) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", v);
        X->num_taus = 0;
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            if (X->num_taus == LAB_MAX_KV_HEADS) lab_die("--tau: more than %d values", LAB_MAX_KV_HEADS);
            X->taus[X->num_taus++] = (float)lab_parse_double(name, tok, 0.0, 1.0);
        }
        if (!X->num_taus) lab_die("--tau: no values");
    } else return 0;
    return 1;
}

static void parse(xattn_lab *X, int argc, char **argv)
{
    lab_opts_init(&X->o, "lab-xattn", "blocks");
    X->stride = 16;
    X->check_len = 1024;
    X->num_taus = 1;
    X->taus[0] = 0.9f;
    lab_parse_args(&X->o, argc, argv, usage_text, xattn_option, X);
    if (X->num_taus != 1 && X->num_taus != X->o.hkv)
        lab_die("--tau: %d values; give one or one per KV head (%d)", X->num_taus, X->o.hkv);
    for (int h = 0; h < X->o.hkv; ++h) X->taus_all[h] = X->taus[X->num_taus == 1 ? 0 : h];
}

static int selected(const xattn_lab *X, int b, int hk) { return X->modes[b * X->o.hkv + hk] == ELATTN_BLOCK_SPARSE; }

/* Inputs with structure, so that the selection is decided by the data and not
 * by noise: every (element, KV head, key block) has its own affinity along a
 * direction u that every query leans towards (random data gives near-equal
 * block scores and near-ties everywhere). */
static void make_inputs(const xattn_lab *X, xrun *r)
{
    const lab_opts *o = &X->o;
    const int D = o->head_dim;
    const size_t es = elattn_dtype_size(o->dtype);
    kit_rng rng;
    kit_rng_seed(&rng, o->seed);
    float *u = lab_malloc(sizeof(float) * D), *row = lab_malloc(sizeof(float) * D);
    for (int d = 0; d < D; ++d) u[d] = kit_rng_unit(&rng);
    const int total_q = r->cu_q[o->batch], total_k = r->cu_k[o->batch];
    r->q = lab_malloc((size_t)total_q * o->hq * D * es);
    r->k = lab_malloc((size_t)total_k * o->hkv * D * es);
    for (size_t t = 0; t < (size_t)total_q * o->hq; ++t) {
        for (int d = 0; d < D; ++d) row[d] = kit_rng_unit(&rng) + 0.5f * u[d];
        lab_store(o->dtype, r->q, t * D, row, (size_t)D);
    }
    for (int b = 0; b < o->batch; ++b)
        for (int j = 0; j < r->lk[b]; ++j)
            for (int hk = 0; hk < o->hkv; ++hk) {
                /* the affinity depends on (b, hk, key block) only, not on the order of generation */
                kit_rng cell;
                kit_rng_seed_stream(&cell, o->seed,
                                    ((uint64_t)b << 40) + ((uint64_t)hk << 24) + (uint64_t)(j / o->block));
                const float a = (float)pow(kit_rng_uniform(&cell), 2.0);
                for (int d = 0; d < D; ++d) row[d] = kit_rng_unit(&rng) + a * u[d];
                lab_store(o->dtype, r->k, ((size_t)(r->cu_k[b] + j) * o->hkv + hk) * D, row, (size_t)D);
            }
    free(u);
    free(row);
}

static void make_run(const xattn_lab *X, xrun *r, const elattn_plan_options *opts)
{
    const lab_opts *o = &X->o;
    kit_seqlens(o->batch, r->lq, r->cu_q, &r->max_q);
    kit_seqlens(o->batch, r->lk, r->cu_k, &r->max_k);
    r->desc = (elattn_xattn_desc){
        .struct_size = sizeof(elattn_xattn_desc),
        .dtype = o->dtype, .head_dim = o->head_dim, .num_q_heads = o->hq, .num_kv_heads = o->hkv,
        .batch = o->batch, .max_seqlen_q = r->max_q, .max_seqlen_k = r->max_k, .causal = o->causal,
        .scale = X->scale, .stride = X->stride, .block_size = o->block,
    };
    /* The plan validates the shape: its message is clearer than any check here. */
    LAB_TRY(elattn_xattn_plan_create(X->dev, &r->desc, opts, &r->plan), "plan");
    r->nqb = (r->max_q + o->block - 1) / o->block;
    r->nkb = (r->max_k + o->block - 1) / o->block;
    r->mask_bytes = (size_t)o->batch * o->hkv * r->nqb * r->nkb;
    make_inputs(X, r);
    const size_t es = elattn_dtype_size(o->dtype);
    const size_t qb = (size_t)r->cu_q[o->batch] * o->hq * o->head_dim * es;
    const size_t kb = (size_t)r->cu_k[o->batch] * o->hkv * o->head_dim * es;
    LAB_TRY(elattn_buffer_alloc(X->dev, qb ? qb : 1, &r->dq), "alloc q");
    LAB_TRY(elattn_buffer_alloc(X->dev, kb ? kb : 1, &r->dk), "alloc k");
    LAB_TRY(elattn_buffer_upload(r->dq, 0, r->q, qb, NULL), "upload q");
    LAB_TRY(elattn_buffer_upload(r->dk, 0, r->k, kb, NULL), "upload k");
    size_t ws = elattn_xattn_plan_workspace_size(r->plan);
    if (ws) LAB_TRY(elattn_buffer_alloc(X->dev, ws, &r->ws), "alloc workspace");
    LAB_TRY(kit_guarded_alloc(X->dev, r->mask_bytes, &r->mask), "alloc (guarded output)");
    r->args = (elattn_xattn_args){
        .struct_size = sizeof(elattn_xattn_args),
        .q = r->dq, .k = r->dk, .cu_seqlens_q = r->cu_q, .cu_seqlens_k = r->cu_k, .modes = X->modes,
        .thresholds = X->taus, .num_thresholds = X->num_taus, .block_mask = r->mask.view, .workspace = r->ws,
    };
}

static void free_run(xrun *r)
{
    kit_guarded_free(&r->mask);
    elattn_buffer_free(r->ws);
    elattn_buffer_free(r->dk);
    elattn_buffer_free(r->dq);
    elattn_xattn_plan_destroy(r->plan);
    free(r->q);
    free(r->k);
}

static void launch(void *ctx)
{
    xrun *r = ctx;
    LAB_TRY(elattn_xattn_run(r->plan, NULL, &r->args), "run");
}

/* One run from a poisoned mask; returns the mask as the device left it and
 * reports broken guards, cells that are not 0/1 in block-sparse heads and
 * changed cells of the other heads. */
static uint8_t *run_once(const xattn_lab *X, xrun *r, const char *which)
{
    const lab_opts *o = &X->o;
    LAB_TRY(kit_guarded_reset(&r->mask), "reset (guarded output)");
    launch(r);
    uint8_t *m = lab_malloc(r->mask_bytes);
    LAB_TRY(elattn_buffer_download(r->mask.view, 0, m, r->mask_bytes, NULL), "download mask");
    long long hit;
    if (!lab_guards_intact(&r->mask, &hit))
        lab_fail_reason("%s: guard byte at offset %lld of the mask (%zu bytes) overwritten", which, hit, r->mask_bytes);
    const size_t head = (size_t)r->nqb * r->nkb;
    long not_bool = 0, touched = 0;
    for (int b = 0; b < o->batch; ++b)
        for (int hk = 0; hk < o->hkv; ++hk)
            for (size_t c = 0; c < head; ++c) {
                uint8_t v = m[((size_t)b * o->hkv + hk) * head + c];
                if (selected(X, b, hk)) not_bool += v > 1;
                else touched += v != KIT_POISON;
            }
    if (not_bool) lab_fail_reason("%s: %ld mask cells of block-sparse heads are neither 0 nor 1", which, not_bool);
    if (touched) lab_fail_reason("%s: %ld mask cells of heads of other modes changed", which, touched);
    return m;
}

/* 1 when `got` is a selection the spec's rule could make from scores within
 * margin_eps of the row total of the reference's `s`: the forced and
 * zero-score cells as the reference has them, enough kept (>= tau * total),
 * not one block more than needed, and no block left out that scores above
 * one kept. Exactly the rule's properties, each loosened by the margin. */
static int row_acceptable(const double *s, const uint8_t *got, const uint8_t *want, int nkb, int forced0,
                          int forced1, double tau)
{
    double total = 0, kept = 0, min_in = INFINITY, max_out = -INFINITY;
    for (int kb = 0; kb < nkb; ++kb) total += s[kb];
    if (total <= 0) return 0;
    const double eps = margin_eps * total;
    for (int kb = 0; kb < nkb; ++kb) {
        if (got[kb]) kept += s[kb];
        if (kb == forced0 || kb == forced1 || s[kb] <= 0) {
            if (got[kb] != want[kb]) return 0;
        } else if (got[kb]) {
            if (s[kb] < min_in) min_in = s[kb];
        } else if (s[kb] > max_out) {
            max_out = s[kb];
        }
    }
    if (kept < tau * total - eps) return 0;
    if (min_in < INFINITY && kept - min_in >= tau * total + eps) return 0;
    return max_out <= min_in + eps;
}

static void check(const xattn_lab *X, xrun *r)
{
    const lab_opts *o = &X->o;
    uint8_t *got = run_once(X, r, "checked run");
    const size_t head = (size_t)r->nqb * r->nkb;
    if (X->inject) { /* key block 0 of the first query block is forced: any change to it is wrong */
        for (int b = 0, done = 0; b < o->batch && !done; ++b)
            for (int hk = 0; hk < o->hkv && !done; ++hk)
                if (selected(X, b, hk)) {
                    uint8_t *cell = got + ((size_t)b * o->hkv + hk) * head;
                    *cell = !*cell;
                    done = 1;
                }
    }
    uint8_t *want = lab_malloc(r->mask_bytes);
    memset(want, KIT_POISON, r->mask_bytes);
    if (elattn_ref_xattn(&r->desc, r->q, r->k, r->cu_q, r->cu_k, X->modes, X->taus_all, want, r->nqb, r->nkb) !=
        ELATTN_SUCCESS)
        lab_die("the reference's XAttention could not run (out of host memory)");

    long cells = 0, differ = 0, hard_cells = 0, rows_tolerated = 0, rows_hard = 0;
    double *scores = lab_malloc(sizeof(double) * head);
    for (int b = 0; b < o->batch; ++b) {
        const int nqb = (r->lq[b] + o->block - 1) / o->block, nkb = (r->lk[b] + o->block - 1) / o->block;
        for (int hk = 0; hk < o->hkv; ++hk) {
            if (!selected(X, b, hk)) continue;
            const size_t base = ((size_t)b * o->hkv + hk) * head;
            if (nqb && nkb &&
                elattn_ref_xattn_scores(&r->desc, r->q, r->k, r->cu_q, r->cu_k, b, hk, scores) != ELATTN_SUCCESS)
                lab_die("the reference's XAttention scores could not run (out of host memory)");
            for (int qb = 0; qb < r->nqb; ++qb) {
                const uint8_t *g = got + base + (size_t)qb * r->nkb, *w = want + base + (size_t)qb * r->nkb;
                int row_differs = 0;
                for (int kb = 0; kb < r->nkb; ++kb) {
                    cells++;
                    if (g[kb] == w[kb]) continue;
                    differ++;
                    if (qb >= nqb || kb >= nkb) hard_cells++; /* outside the element's blocks: written 0 */
                    else row_differs = 1;
                }
                if (!row_differs) continue;
                int diag = elattn_xattn_diag_block(qb, o->block, r->lq[b], r->lk[b]);
                if (row_acceptable(scores + (size_t)qb * nkb, g, w, nkb, 0, diag, X->taus_all[hk])) rows_tolerated++;
                else rows_hard++;
            }
        }
    }
    lab_kv_list("check_lq", o->batch, r->lq);
    lab_kv_list("check_lk", o->batch, r->lk);
    lab_kv("cells", "%ld", cells);
    lab_kv("differ", "%ld", differ);
    lab_kv("rows_tolerated", "%ld", rows_tolerated);
    lab_kv("rows_wrong", "%ld", rows_hard);
    if (hard_cells)
        lab_fail_reason("%ld mask cells outside the elements' blocks differ from the reference", hard_cells);
    if (rows_hard)
        lab_fail_reason("%ld mask rows differ from the reference by more than a decision within %g of the row total",
                        rows_hard, margin_eps);
    free(scores);
    free(want);
    free(got);
}

/* Multiply-adds of the score GEMM: 2 * S * D per visible (reshaped row,
 * column) per query head of a block-sparse entry. Visible columns of a row
 * are a prefix that grows with the row (causal rule), so one pass counts them. */
static double score_flops(const xattn_lab *X, const xrun *r)
{
    const lab_opts *o = &X->o;
    const int S = X->stride;
    double pairs = 0;
    for (int b = 0; b < o->batch; ++b) {
        const int rows = (r->lq[b] + S - 1) / S, cols = (r->lk[b] + S - 1) / S;
        double element = 0;
        for (int i = 0, c = 0; i < rows; ++i) {
            while (c < cols && elattn_xattn_col_visible(o->causal, i, c, S, r->lq[b], r->lk[b])) ++c;
            element += c;
        }
        for (int hk = 0; hk < o->hkv; ++hk)
            if (selected(X, b, hk)) pairs += element * (o->hq / o->hkv);
    }
    return pairs * 2.0 * S * o->head_dim;
}

int main(int argc, char **argv)
{
    xattn_lab X;
    memset(&X, 0, sizeof X);
    parse(&X, argc, argv);
    const lab_opts *o = &X.o;
    lab_kv_config(o);
    lab_kv("stride", "%d", X.stride);
    char taus[LAB_MAX_KV_HEADS * 12];
    size_t used = 0;
    for (int h = 0; h < X.num_taus; ++h)
        used += (size_t)snprintf(taus + used, sizeof taus - used, "%s%g", h ? "," : "", (double)X.taus[h]);
    lab_kv("tau", "%s", taus);

    X.scale = (float)(1.0 / sqrt((double)o->head_dim));
    X.modes = lab_malloc(sizeof(int32_t) * (size_t)o->batch * o->hkv);
    for (int b = 0; b < o->batch; ++b)
        for (int h = 0; h < o->hkv; ++h) X.modes[b * o->hkv + h] = o->modes[h];
    LAB_TRY(elattn_device_open_by_name(o->device, &X.dev), "device_open");
    const elattn_plan_options opts = lab_plan_options(o);

    static xrun full, small;
    memcpy(full.lq, o->lq, sizeof full.lq);
    memcpy(full.lk, o->lk, sizeof full.lk);
    make_run(&X, &full, &opts);
    lab_kv("kernel", "%s", elattn_xattn_plan_kernel_name(full.plan));

    if (o->check) {
        /* The reference costs Lq * Lk * D per head: check a copy scaled down to check_len. */
        int longest = 1;
        for (int b = 0; b < o->batch; ++b) {
            if (o->lq[b] > longest) longest = o->lq[b];
            if (o->lk[b] > longest) longest = o->lk[b];
        }
        xrun *checked = &full;
        if (longest > X.check_len) {
            for (int b = 0; b < o->batch; ++b) {
                small.lq[b] = (int)(((long long)o->lq[b] * X.check_len + longest - 1) / longest);
                small.lk[b] = (int)(((long long)o->lk[b] * X.check_len + longest - 1) / longest);
            }
            make_run(&X, &small, &opts);
            if (strcmp(elattn_xattn_plan_kernel_name(small.plan), elattn_xattn_plan_kernel_name(full.plan)))
                lab_kv("check_kernel", "%s", elattn_xattn_plan_kernel_name(small.plan));
            checked = &small;
        }
        check(&X, checked);
        if (checked == &small) free_run(&small);
    } else {
        lab_kv("check", "off");
        lab_mark_unchecked();
    }

    /* The full size once: guards, 0/1 cells, other heads untouched; and how much it keeps. */
    uint8_t *m = run_once(&X, &full, "full size");
    long kept = 0, cells = 0;
    for (int b = 0; b < o->batch; ++b)
        for (int hk = 0; hk < o->hkv; ++hk) {
            if (!selected(&X, b, hk)) continue;
            const int nqb = (o->lq[b] + o->block - 1) / o->block, nkb = (o->lk[b] + o->block - 1) / o->block;
            for (int qb = 0; qb < nqb; ++qb)
                for (int kb = 0; kb < nkb; ++kb) {
                    cells++;
                    kept += m[(((size_t)b * o->hkv + hk) * full.nqb + qb) * full.nkb + kb] == 1;
                }
        }
    free(m);
    lab_kv("density", "%.4f", cells ? (double)kept / (double)cells : 0.0);
    const double flops = score_flops(&X, &full);
    lab_kv("gflop", "%.3f", flops / 1e9);

    if (o->iters > 0) {
        lab_times t = lab_time(X.dev, o->warmup, o->iters, launch, &full);
        lab_kv("iters", "%d", o->iters);
        lab_kv("ms", "%.4f", t.median);
        lab_kv("ms_min", "%.4f", t.min);
        lab_kv("ms_max", "%.4f", t.max);
        lab_kv("tflops", "%.4g", t.median > 0 ? flops / (t.median * 1e-3) / 1e12 : 0.0);
    }
    lab_finish();
}

/*
 * XAttention selection cases. A target's mask must equal the reference's,
 * except cells whose decision was within conf_xattn_margin_eps of going the
 * other way: the margin comes from the reference's own block scores
 * (elattn_ref_xattn_scores, linked from reference/), so a backend whose fp32
 * sums differ in the last bits is not failed for a coin toss, and a backend
 * with a real selection bug is.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "elattn_ref.h"

struct xattn_oracle {
    elattn_xattn_desc desc;
    int total_q, total_k, nqb, nkb; /* nqb/nkb: mask table of the descriptor */
    int32_t cu_q[KIT_MAX_BATCH + 1], cu_k[KIT_MAX_BATCH + 1];
    const int32_t *modes;           /* the case's; NULL: the case passes no mode table */
    void *q, *k;
    size_t q_bytes, k_bytes, mask_bytes;
    uint8_t *mask;                  /* the reference's output, poison where untouched */
    double *margin;                 /* per cell: how far from flipping (INFINITY: fixed) */
};

static int entry_selected(const xattn_oracle *o, int b, int hk)
{
    return !o->modes || o->modes[b * o->desc.num_kv_heads + hk] == ELATTN_BLOCK_SPARSE;
}

typedef struct ranked {
    int kb;
    double s;
} ranked;

static int by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->s != y->s) return x->s < y->s ? 1 : -1;
    return x->kb - y->kb;
}

/* Margins of one query-block row, following the selection rule of the spec:
 * forced blocks, then descending scores while the kept sum is below tau * T.
 * A cell can flip if it entered or left just at the threshold, or if its score
 * is close to that of a cell on the other side of the cut. */
static void row_margins(const double *s, int nkb, int forced0, int forced1, double tau, double *margin)
{
    double total = 0, kept = 0;
    for (int kb = 0; kb < nkb; ++kb) {
        total += s[kb];
        margin[kb] = INFINITY;
    }
    if (total <= 0) return;
    ranked *r = xmalloc(sizeof(ranked) * (size_t)nkb);
    int n = 0;
    for (int kb = 0; kb < nkb; ++kb) {
        if (kb == forced0 || kb == forced1) kept += s[kb];
        else if (s[kb] > 0) r[n++] = (ranked){kb, s[kb]};
    }
    qsort(r, (size_t)n, sizeof *r, by_score);
    int cut = n; /* index of the first candidate not kept */
    for (int i = 0; i < n; ++i) {
        if (kept >= tau * total) {
            cut = i;
            break;
        }
        margin[r[i].kb] = (tau * total - kept) / total;
        kept += r[i].s;
    }
    double s_first_out = cut < n ? r[cut].s : -INFINITY, s_last_in = cut > 0 ? r[cut - 1].s : INFINITY;
    for (int i = 0; i < cut; ++i) {
        double swap = (r[i].s - s_first_out) / total;
        if (swap < margin[r[i].kb]) margin[r[i].kb] = swap;
    }
    double first_out_margin = INFINITY;
    for (int i = cut; i < n; ++i) {
        double m = (s_last_in - r[i].s) / total;
        if (i == cut) {
            double thr = (kept - tau * total) / total;
            if (thr < m) m = thr;
            first_out_margin = m;
        } else if (first_out_margin < conf_xattn_margin_eps) {
            /* could be taken in the place of the first one left out */
            double next = (s_first_out - r[i].s) / total;
            if (next < m) m = next;
        }
        margin[r[i].kb] = m;
    }
    free(r);
}

static void compute_margins(const conf_case *c, xattn_oracle *o)
{
    elattn_xattn_desc d = o->desc;
    d.scale = (float)(1.0 / sqrt((double)d.head_dim)); /* as the core normalises scale 0 */
    o->margin = xmalloc(sizeof(double) * o->mask_bytes);
    for (size_t i = 0; i < o->mask_bytes; ++i) o->margin[i] = INFINITY;
    for (int b = 0; b < c->call.batch; ++b) {
        int lq = c->call.len_q[b], lk = c->call.len_k[b];
        int nqb = (lq + c->call.block - 1) / c->call.block, nkb = (lk + c->call.block - 1) / c->call.block;
        if (!nqb || !nkb) continue;
        double *scores = xmalloc(sizeof(double) * (size_t)nqb * nkb), *row = xmalloc(sizeof(double) * nkb);
        for (int hk = 0; hk < c->call.hkv; ++hk) {
            if (!entry_selected(o, b, hk)) continue;
            if (elattn_ref_xattn_scores(&d, o->q, o->k, o->cu_q, o->cu_k, b, hk, scores) != ELATTN_SUCCESS)
                continue; /* out of memory: every cell keeps an infinite margin (strict) */
            double tau = c->taus[c->num_taus == 1 ? 0 : hk];
            for (int qb = 0; qb < nqb; ++qb) {
                int diag = elattn_xattn_diag_block(qb, c->call.block, lq, lk);
                row_margins(scores + (size_t)qb * nkb, nkb, 0, diag, tau, row);
                double *dst = o->margin + elattn_mask_row(b, hk, qb, c->call.hkv, o->nqb, o->nkb);
                memcpy(dst, row, sizeof(double) * nkb);
            }
        }
        free(scores);
        free(row);
    }
}

/* Runs selection on `dev`; `mask` gets the whole mask table (poison where
 * the target did not write). Returns 1 when the mask was read back. */
static int run_xattn(const xattn_oracle *o, const conf_case *c, elattn_device *dev, const char *forced, uint8_t *mask,
                     int *guard_ok, char *kernel, size_t kernel_n, case_result *r)
{
    const elattn_plan_options opt = {.struct_size = sizeof(elattn_plan_options), .kernel = forced};
    elattn_xattn_plan *plan = NULL;
    elattn_buffer *q = NULL, *k = NULL, *ws = NULL, *modes = NULL, *taus = NULL;
    lengths_batch lengths = {0};
    kit_guarded out = {0};
    elattn_status st;
    int ran = 0;
    if ((st = elattn_xattn_plan_create(dev, &o->desc, &opt, &plan)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "plan");
        return 0;
    }
    if (c->device_meta) { /* the engine's path: lengths from an attention batch, modes and thresholds on the device */
        const elattn_xattn_desc *d = &o->desc;
        st = lengths_batch_make(dev, d->dtype, d->num_kv_heads, d->batch, d->max_seqlen_q, d->max_seqlen_k, o->cu_q,
                                o->cu_k, &lengths);
        if (!st && o->modes)
            st = upload_new(dev, o->modes, sizeof(int32_t) * (size_t)o->desc.batch * o->desc.num_kv_heads, &modes);
        if (!st) st = upload_new(dev, c->taus, sizeof(float) * (size_t)c->num_taus, &taus);
        if (st) {
            result_from_status(r, st, "device metadata");
            goto done;
        }
    }
    snprintf(kernel, kernel_n, "%s", elattn_xattn_plan_kernel_name(plan));
    size_t ws_bytes = elattn_xattn_plan_workspace_size(plan);
    st = upload_new(dev, o->q, o->q_bytes, &q);
    if (!st) st = upload_new(dev, o->k, o->k_bytes, &k);
    if (!st && ws_bytes) st = elattn_buffer_alloc(dev, ws_bytes, &ws);
    if (!st) st = kit_guarded_alloc(dev, o->mask_bytes, &out);
    if (st) {
        result_from_status(r, st, "buffers");
        goto done;
    }
    elattn_xattn_args args = {
        .struct_size = sizeof(elattn_xattn_args),
        .q = q, .k = k, .cu_seqlens_q = o->cu_q, .cu_seqlens_k = o->cu_k, .modes = o->modes,
        .thresholds = c->taus, .num_thresholds = c->num_taus, .block_mask = out.view, .workspace = ws,
    };
    if (lengths.batch) {
        args.cu_seqlens_q = args.cu_seqlens_k = NULL, args.lengths = lengths.batch;
        args.modes = NULL, args.modes_buffer = modes;
        args.thresholds = NULL, args.thresholds_buffer = taus;
    }
    if ((st = elattn_xattn_run(plan, NULL, &args)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "run");
        goto done;
    }
    long long hit = 0;
    if ((st = kit_guarded_read(&out, mask, guard_ok, &hit)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "download");
        goto done;
    }
    if (!*guard_ok)
        result_fail(r, "guard bytes around the mask overwritten (byte %lld of a %zu-byte mask)", hit, o->mask_bytes);
    ran = 1;
done:
    lengths_batch_free(&lengths);
    elattn_buffer_free(modes);
    elattn_buffer_free(taus);
    kit_guarded_free(&out);
    elattn_buffer_free(ws);
    elattn_buffer_free(k);
    elattn_buffer_free(q);
    elattn_xattn_plan_destroy(plan);
    return ran;
}

xattn_oracle *xattn_oracle_make(const conf_case *c, elattn_device *ref, char *why, size_t n)
{
    xattn_oracle *o = xcalloc(1, sizeof *o);
    kit_rng rng;
    kit_rng_seed(&rng, c->seed);
    int max_q, max_k;
    kit_case_seqlens(&c->call, o->cu_q, o->cu_k, &max_q, &max_k);
    o->total_q = o->cu_q[c->call.batch];
    o->total_k = o->cu_k[c->call.batch];
    o->desc = kit_case_xattn_desc(&c->call, c->stride);
    o->nqb = (max_q + c->call.block - 1) / c->call.block;
    o->nkb = (max_k + c->call.block - 1) / c->call.block;
    o->mask_bytes = (size_t)c->call.batch * c->call.hkv * o->nqb * o->nkb;
    if (c->xattn_modes) o->modes = c->call.modes;

    /* Random data gives near-uniform block scores and a selection decided by
     * noise. Give each (element, KV head, key block) its own affinity along a
     * shared direction u, so some blocks matter more than others, as in real
     * attention. */
    size_t D = (size_t)c->call.head_dim, es = elattn_dtype_size(c->call.dtype);
    size_t nq = kit_case_q_elems(&c->call), nk = kit_case_kv_elems(&c->call);
    float *q = xmalloc(sizeof(float) * (nq + 1)), *k = xmalloc(sizeof(float) * (nk + 1));
    float *u = xmalloc(sizeof(float) * D);
    for (size_t i = 0; i < D; ++i) u[i] = (float)kit_rng_normal(&rng);
    for (size_t i = 0; i < nq; ++i) q[i] = (float)(kit_rng_normal(&rng) + 0.3 * u[i % D]);
    for (int b = 0; b < c->call.batch; ++b)
        for (int h = 0; h < c->call.hkv; ++h) {
            double affinity = 0;
            for (int j = 0; j < c->call.len_k[b]; ++j) {
                if (j % c->call.block == 0) affinity = pow(kit_rng_uniform(&rng), 2.0);
                float *row = k + ((size_t)(o->cu_k[b] + j) * c->call.hkv + h) * D;
                for (size_t i = 0; i < D; ++i) row[i] = (float)(kit_rng_normal(&rng) + affinity * u[i]);
            }
        }
    o->q = xmalloc(es * (nq + 1));
    o->k = xmalloc(es * (nk + 1));
    elattn_convert(c->call.dtype, o->q, ELATTN_F32, q, nq);
    elattn_convert(c->call.dtype, o->k, ELATTN_F32, k, nk);
    free(q);
    free(k);
    free(u);
    o->q_bytes = nq * es;
    o->k_bytes = nk * es;

    o->mask = xmalloc(o->mask_bytes);
    case_result r;
    memset(&r, 0, sizeof r);
    int guard_ok = 0;
    char kernel[96];
    if (!run_xattn(o, c, ref, NULL, o->mask, &guard_ok, kernel, sizeof kernel, &r) || r.status != ST_PASS) {
        snprintf(why, n, "reference run: %s", r.detail);
        xattn_oracle_free(o);
        return NULL;
    }
    /* The oracle's own output must be a complete 0/1 mask on the selected heads. */
    size_t head_cells = (size_t)o->nqb * o->nkb, bad = 0, total = 0;
    for (int b = 0; b < c->call.batch; ++b)
        for (int hk = 0; hk < c->call.hkv; ++hk)
            for (size_t i = 0; i < head_cells; ++i) {
                uint8_t v = o->mask[((size_t)b * c->call.hkv + hk) * head_cells + i];
                if (entry_selected(o, b, hk)) {
                    bad += v > 1;
                    total++;
                } else {
                    bad += v != KIT_POISON;
                }
            }
    if (bad || total == 0) {
        snprintf(why, n, "bad case: the reference's mask has %zu unexpected cells (%zu selected cells)", bad, total);
        xattn_oracle_free(o);
        return NULL;
    }
    compute_margins(c, o);
    return o;
}

void xattn_oracle_check(const conf_case *c, const xattn_oracle *o, const conf_target *t, case_result *r)
{
    uint8_t *mask = xmalloc(o->mask_bytes);
    int guard_ok = 0;
    if (!run_xattn(o, c, t->dev, t->kernel, mask, &guard_ok, r->kernel, sizeof r->kernel, r)) {
        r->guard_ok = -1;
        free(mask);
        return;
    }
    r->guard_ok = guard_ok;
    size_t hard = 0, tolerated = 0, untouched_bad = 0, not_bool = 0, cells = 0;
    double closest = INFINITY;
    size_t head_cells = (size_t)o->nqb * o->nkb;
    for (int b = 0; b < c->call.batch; ++b)
        for (int hk = 0; hk < c->call.hkv; ++hk) {
            size_t base = ((size_t)b * c->call.hkv + hk) * head_cells;
            for (size_t i = base; i < base + head_cells; ++i) {
                if (!entry_selected(o, b, hk)) {
                    /* rows of other heads are left as they were (poison) */
                    untouched_bad += mask[i] != KIT_POISON;
                    continue;
                }
                cells++;
                if (mask[i] > 1) {
                    not_bool++;
                    continue;
                }
                if (mask[i] == o->mask[i]) continue;
                if (o->margin[i] < conf_xattn_margin_eps) {
                    tolerated++;
                    if (o->margin[i] < closest) closest = o->margin[i];
                } else {
                    hard++;
                }
            }
        }
    r->nmse = 0;
    r->max_err = (double)hard;
    if (not_bool) result_fail(r, "%zu mask cells neither 0 nor 1 (unwritten cells keep 0xFF)", not_bool);
    if (untouched_bad) result_fail(r, "%zu cells of non-BLOCK_SPARSE heads modified", untouched_bad);
    if (hard) result_fail(r, "%zu of %zu mask cells differ from the reference", hard, cells);
    if (tolerated)
        result_note(r, "mask mismatches %zu, tolerated %zu (margins down to %.2g < %g of the row total)", hard,
                    tolerated, closest, conf_xattn_margin_eps);
    else
        result_note(r, "mask mismatches %zu, tolerated 0", hard);
    free(mask);
}

void xattn_oracle_free(xattn_oracle *o)
{
    if (!o) return;
    free(o->q);
    free(o->k);
    free(o->mask);
    free(o->margin);
    free(o);
}

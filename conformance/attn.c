/*
 * Hybrid attention cases: inputs, the reference run, and the check of a
 * target's run against it. Both runs go through the same public calls.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "elattn_spec.h" /* elattn_pair_visible: which rows must come out empty */

struct attn_oracle {
    elattn_attn_desc desc;
    int total_q, total_k;
    int32_t cu_q[KIT_MAX_BATCH + 1], cu_k[KIT_MAX_BATCH + 1];
    const int32_t *modes; /* the case's */
    void *q, *k, *v;
    size_t q_bytes, kv_bytes;
    uint8_t *mask; /* NULL when no entry is BLOCK_SPARSE */
    size_t mask_bytes;
    double max_abs_v;
    /* reference outputs */
    float *o, *lse;
    unsigned char *row_empty; /* [total_q][Hq] */
};

/* One run on one device. Fills o/lse (fp32, caller-sized) and guard_ok;
 * returns 1 when the outputs were read back (even if the guards were hit). */
typedef struct attn_run_out {
    float *o, *lse;
    int guard_ok;
    char kernel[96];
} attn_run_out;

static int run_attn(const attn_oracle *in, elattn_device *dev, const char *kernel, attn_run_out *out,
                    case_result *r)
{
    const elattn_attn_desc *d = &in->desc;
    elattn_plan_options opt = {.struct_size = sizeof(elattn_plan_options), .kernel = kernel};
    elattn_attn_plan *plan = NULL;
    elattn_buffer *q = NULL, *k = NULL, *v = NULL, *mask = NULL, *ws = NULL;
    kit_guarded o = {0}, lse = {0};
    elattn_status st;
    int ran = 0;
    out->guard_ok = 1;

    if ((st = elattn_attn_plan_create(dev, d, &opt, &plan)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "plan");
        return 0;
    }
    snprintf(out->kernel, sizeof out->kernel, "%s", elattn_attn_plan_kernel_name(plan));
    size_t ws_bytes = elattn_attn_plan_workspace_size(plan);
    st = upload_new(dev, in->q, in->q_bytes, &q);
    if (!st) st = upload_new(dev, in->k, in->kv_bytes, &k);
    if (!st) st = upload_new(dev, in->v, in->kv_bytes, &v);
    if (!st && in->mask) st = upload_new(dev, in->mask, in->mask_bytes, &mask);
    if (!st && ws_bytes) st = elattn_buffer_alloc(dev, ws_bytes, &ws);
    if (!st) st = kit_guarded_alloc(dev, in->q_bytes, &o);
    if (!st && d->write_lse) st = kit_guarded_alloc(dev, (size_t)in->total_q * d->num_q_heads * sizeof(float), &lse);
    if (st) {
        result_from_status(r, st, "buffers");
        goto done;
    }
    elattn_attn_args args = {
        .struct_size = sizeof(elattn_attn_args),
        .q = q, .k = k, .v = v, .o = o.view, .lse = d->write_lse ? lse.view : NULL,
        .cu_seqlens_q = in->cu_q, .cu_seqlens_k = in->cu_k, .modes = in->modes,
        .block_mask = mask, .workspace = ws,
    };
    if ((st = elattn_attn_run(plan, NULL, &args)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "run");
        goto done;
    }
    void *raw = xmalloc(in->q_bytes);
    int ok_o = 1, ok_l = 1;
    long long hit_o = 0, hit_l = 0;
    st = kit_guarded_read(&o, raw, &ok_o, &hit_o);
    if (!st && d->write_lse) st = kit_guarded_read(&lse, out->lse, &ok_l, &hit_l);
    if (st) {
        free(raw);
        result_from_status(r, st, "download");
        goto done;
    }
    float *f = to_f32(d->dtype, raw, in->q_bytes / elattn_dtype_size(d->dtype));
    memcpy(out->o, f, sizeof(float) * (in->q_bytes / elattn_dtype_size(d->dtype)));
    free(f);
    free(raw);
    out->guard_ok = ok_o && ok_l;
    ran = 1;
    if (!ok_o) result_fail(r, "guard bytes around O overwritten (byte %lld of a %zu-byte O)", hit_o, in->q_bytes);
    if (!ok_l) result_fail(r, "guard bytes around LSE overwritten (byte %lld)", hit_l);
done:
    kit_guarded_free(&o);
    if (d->write_lse) kit_guarded_free(&lse);
    elattn_buffer_free(ws);
    elattn_buffer_free(mask);
    elattn_buffer_free(v);
    elattn_buffer_free(k);
    elattn_buffer_free(q);
    elattn_attn_plan_destroy(plan);
    return ran;
}

/* Masks: BLOCK_SPARSE entries get random cells (any nonzero byte means
 * visible, so set cells hold random nonzero values); with empty_rows some
 * query-block rows are all zero. Other entries' cells hold random bytes that a
 * kernel must not read. */
static void make_mask(const conf_case *c, attn_oracle *o, kit_rng *rng)
{
    int nqb = (o->desc.max_seqlen_q + c->call.block - 1) / c->call.block;
    int nkb = (o->desc.max_seqlen_k + c->call.block - 1) / c->call.block;
    o->mask_bytes = (size_t)c->call.batch * c->call.hkv * nqb * nkb;
    o->mask = xmalloc(o->mask_bytes);
    for (int b = 0; b < c->call.batch; ++b)
        for (int h = 0; h < c->call.hkv; ++h) {
            uint8_t *head = o->mask + ((size_t)b * c->call.hkv + h) * nqb * nkb;
            int sparse = c->call.modes[b * c->call.hkv + h] == ELATTN_BLOCK_SPARSE;
            int rows_used = (c->call.len_q[b] + c->call.block - 1) / c->call.block, emptied = 0;
            for (int qb = 0; qb < nqb; ++qb) {
                int empty = sparse && c->empty_rows && kit_rng_uniform(rng) < 0.3;
                if (sparse && c->empty_rows && !emptied && rows_used > 0 && qb == rows_used / 2) empty = 1;
                emptied |= empty && qb < rows_used;
                for (int kb = 0; kb < nkb; ++kb) {
                    uint8_t cell;
                    if (!sparse) cell = (uint8_t)kit_rng_next(rng);
                    else if (empty || kit_rng_uniform(rng) >= c->mask_density) cell = 0;
                    else cell = (uint8_t)(1 + kit_rng_next(rng) % 255);
                    head[(size_t)qb * nkb + kb] = cell;
                }
            }
        }
}

static void find_empty_rows(const conf_case *c, attn_oracle *o)
{
    const elattn_attn_desc *d = &o->desc;
    const kit_case *k = &c->call;
    int nqb = (d->max_seqlen_q + k->block - 1) / k->block, nkb = (d->max_seqlen_k + k->block - 1) / k->block;
    int group = k->hq / k->hkv;
    o->row_empty = xcalloc((size_t)o->total_q * k->hq, 1);
    for (int b = 0; b < k->batch; ++b) {
        int lq = k->len_q[b], lk = k->len_k[b];
        for (int hk = 0; hk < k->hkv; ++hk) {
            int mode = k->modes[b * k->hkv + hk];
            for (int i = 0; i < lq; ++i) {
                const uint8_t *row = NULL;
                if (mode == ELATTN_BLOCK_SPARSE) row = o->mask + elattn_mask_row(b, hk, i / k->block, k->hkv, nqb, nkb);
                int p = elattn_query_pos(i, lq, lk), seen = 0;
                for (int j = 0; j < lk && !seen; ++j)
                    seen = elattn_pair_visible(mode, k->causal, p, j, k->sink, k->local, k->block, row);
                if (!seen)
                    for (int g = 0; g < group; ++g)
                        o->row_empty[(size_t)(o->cu_q[b] + i) * k->hq + hk * group + g] = 1;
            }
        }
    }
}

attn_oracle *attn_oracle_make(const conf_case *c, elattn_device *ref, char *why, size_t n)
{
    attn_oracle *o = xcalloc(1, sizeof *o);
    kit_rng rng;
    kit_rng_seed(&rng, c->seed);
    int max_q, max_k;
    kit_case_seqlens(&c->call, o->cu_q, o->cu_k, &max_q, &max_k);
    o->total_q = o->cu_q[c->call.batch];
    o->total_k = o->cu_k[c->call.batch];
    o->desc = kit_case_attn_desc(&c->call, c->lse);
    o->modes = c->call.modes;

    /* N(0,1) entries with scale 1/sqrt(D) give scores of unit spread: the
     * softmax is peaked but far from one-hot. */
    size_t nq = kit_case_q_elems(&c->call), nkv = kit_case_kv_elems(&c->call);
    size_t es = elattn_dtype_size(c->call.dtype);
    float *v32 = NULL;
    o->q = random_tensor(&rng, c->call.dtype, nq, 1.0, NULL);
    o->k = random_tensor(&rng, c->call.dtype, nkv, 1.0, NULL);
    o->v = random_tensor(&rng, c->call.dtype, nkv, 1.0, &v32);
    for (size_t i = 0; i < nkv; ++i)
        if (fabs(v32[i]) > o->max_abs_v) o->max_abs_v = fabs(v32[i]);
    free(v32);
    o->q_bytes = nq * es;
    o->kv_bytes = nkv * es;
    if (kit_case_count_mode(&c->call, ELATTN_BLOCK_SPARSE)) make_mask(c, o, &rng);
    find_empty_rows(c, o);

    o->o = xmalloc(sizeof(float) * (nq ? nq : 1));
    o->lse = xmalloc(sizeof(float) * ((size_t)o->total_q * c->call.hq + 1));
    case_result r;
    memset(&r, 0, sizeof r);
    attn_run_out out = {.o = o->o, .lse = o->lse};
    if (!run_attn(o, ref, NULL, &out, &r) || r.status != ST_PASS) {
        snprintf(why, n, "reference run: %s", r.detail);
        attn_oracle_free(o);
        return NULL;
    }
    return o;
}

void attn_oracle_check(const conf_case *c, const attn_oracle *o, const conf_target *t, case_result *r)
{
    size_t nq = kit_case_q_elems(&c->call);
    attn_run_out out = {.o = xmalloc(sizeof(float) * (nq ? nq : 1)),
                        .lse = xmalloc(sizeof(float) * ((size_t)o->total_q * c->call.hq + 1))};
    int ran = run_attn(o, t->dev, t->kernel, &out, r);
    snprintf(r->kernel, sizeof r->kernel, "%s", out.kernel);
    r->guard_ok = ran ? out.guard_ok : -1;
    if (ran) {
        attn_compare_in in = {
            .c = c, .total_q = o->total_q, .o_ref = o->o, .o_dut = out.o,
            .lse_ref = c->lse ? o->lse : NULL, .lse_dut = c->lse ? out.lse : NULL,
            .row_empty = o->row_empty, .max_abs_v = o->max_abs_v,
        };
        conf_compare_attn(&in, r);
    }
    free(out.o);
    free(out.lse);
}

void attn_oracle_free(attn_oracle *o)
{
    if (!o) return;
    free(o->q);
    free(o->k);
    free(o->v);
    free(o->mask);
    free(o->o);
    free(o->lse);
    free(o->row_empty);
    free(o);
}

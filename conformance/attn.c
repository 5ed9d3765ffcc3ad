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

/* The plan options: the target's forced kernel, and its tiles (--tiles) or else the case's (--random-tiles). */
static elattn_plan_options plan_options(const conf_case *c, const conf_target *t)
{
    const int *tiles = t->tiles[0] || t->tiles[1] || t->tiles[2] ? t->tiles : c->tiles;
    return (elattn_plan_options){.struct_size = sizeof(elattn_plan_options), .kernel = t->kernel,
                                 .tile_m = tiles[0], .tile_n = tiles[1], .work_group_size = tiles[2]};
}

/* The lengths and modes in device-resident form (conf_case.device_meta), as an engine passes them:
 * a batch plan of the lengths and the mode table in a device buffer. */
typedef struct device_meta {
    elattn_attn_batch *batch;
    elattn_buffer *modes;
} device_meta;

static elattn_status device_meta_make(const elattn_attn_plan *plan, elattn_device *dev, const attn_oracle *o,
                                      device_meta *m)
{
    const elattn_attn_desc *d = &o->desc;
    elattn_status st = elattn_attn_batch_create(plan, o->cu_q, o->cu_k, &m->batch);
    if (!st) st = upload_new(dev, o->modes, sizeof(int32_t) * (size_t)d->batch * (size_t)d->num_kv_heads, &m->modes);
    return st;
}

/* Swaps the host metadata of args for m's (nothing without a batch). */
static void device_meta_apply(const device_meta *m, elattn_attn_args *args)
{
    if (!m->batch) return;
    args->cu_seqlens_q = args->cu_seqlens_k = NULL;
    args->modes = NULL;
    args->batch = m->batch;
    args->modes_buffer = m->modes;
}

static void device_meta_free(device_meta *m)
{
    elattn_attn_batch_destroy(m->batch);
    elattn_buffer_free(m->modes);
}

static int run_attn(const attn_oracle *in, elattn_device *dev, const elattn_plan_options *opt, int use_device_meta,
                    attn_run_out *out, case_result *r)
{
    const elattn_attn_desc *d = &in->desc;
    elattn_attn_plan *plan = NULL;
    elattn_buffer *q = NULL, *k = NULL, *v = NULL, *mask = NULL, *ws = NULL;
    kit_guarded o = {0}, lse = {0};
    device_meta meta = {0};
    elattn_status st;
    int ran = 0;
    out->guard_ok = 1;

    if ((st = elattn_attn_plan_create(dev, d, opt, &plan)) != ELATTN_SUCCESS) {
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
    if (!st && use_device_meta) st = device_meta_make(plan, dev, in, &meta);
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
    device_meta_apply(&meta, &args);
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
    device_meta_free(&meta);
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
    /* with the modes on the device a mask is required (the host cannot see which heads read it) */
    if (c->device_meta || kit_case_count_mode(&c->call, ELATTN_BLOCK_SPARSE)) make_mask(c, o, &rng);
    find_empty_rows(c, o);

    o->o = xmalloc(sizeof(float) * (nq ? nq : 1));
    o->lse = xmalloc(sizeof(float) * ((size_t)o->total_q * c->call.hq + 1));
    case_result r;
    memset(&r, 0, sizeof r);
    attn_run_out out = {.o = o->o, .lse = o->lse};
    if (!run_attn(o, ref, NULL, 0, &out, &r) || r.status != ST_PASS) {
        snprintf(why, n, "reference run: %s", r.detail);
        attn_oracle_free(o);
        return NULL;
    }
    return o;
}

/* ---- strided and paged layouts ---------------------------------------------------------
 * The device under test gets the oracle's values in the case's layout, built
 * here on the host: every byte no (row, head) uses holds 0xFF (NaN in every
 * dtype), so a kernel that reads one fails. The inputs live in one guarded
 * parent buffer that must come back unchanged; O's padding must stay as
 * poisoned. The reference oracle ran the same values packed. */
typedef struct layout_run {
    elattn_attn_desc desc;
    unsigned char *in; /* host image of the inputs (Q, K, V regions) */
    size_t in_bytes, q_at, k_at, v_at, q_bytes, k_bytes, v_bytes, o_bytes;
    int32_t *table; /* paged: [batch][max_pages_per_seq] */
} layout_run;

static size_t up256(size_t x) { return (x + 255) / 256 * 256; }

/* Bytes spanned by rows x heads rows of D elements at the given strides. */
static size_t span_bytes(int rows, int heads, int D, int st, int sh, size_t es)
{
    if (rows == 0) return 0;
    return ((size_t)(rows - 1) * st + (size_t)(heads - 1) * sh + D) * es;
}

/* Packed src [rows][heads][D] to dst at the strides. */
static void scatter(unsigned char *dst, const unsigned char *src, size_t es, int rows, int heads, int D, int st,
                    int sh)
{
    for (int t = 0; t < rows; ++t)
        for (int h = 0; h < heads; ++h)
            memcpy(dst + ((size_t)t * st + (size_t)h * sh) * es, src + (((size_t)t * heads + h) * D) * es,
                   (size_t)D * es);
}

/* 256-key tiles of element b that hold a key some (head, query) sees: no kernel's tile (at most
 * 256 keys, aligned) of the walk lies outside them, so pages wholly outside are never read. */
static void reached_tiles(const conf_case *c, const attn_oracle *o, int b, unsigned char *tiles)
{
    const kit_case *k = &c->call;
    const int lq = k->len_q[b], lk = k->len_k[b];
    const int nqb = (o->desc.max_seqlen_q + k->block - 1) / k->block;
    const int nkb = (o->desc.max_seqlen_k + k->block - 1) / k->block;
    for (int hk = 0; hk < k->hkv; ++hk) {
        const int mode = k->modes[b * k->hkv + hk];
        for (int i = 0; i < lq; ++i) {
            const uint8_t *row = NULL;
            if (mode == ELATTN_BLOCK_SPARSE) row = o->mask + elattn_mask_row(b, hk, i / k->block, k->hkv, nqb, nkb);
            const int p = elattn_query_pos(i, lq, lk);
            for (int j = 0; j < lk; ++j)
                if (!tiles[j / 256] && elattn_pair_visible(mode, k->causal, p, j, k->sink, k->local, k->block, row))
                    tiles[j / 256] = 1;
        }
    }
}

static void layout_build(const conf_case *c, const attn_oracle *o, layout_run *L)
{
    const kit_case *k = &c->call;
    const int D = k->head_dim, hq = k->hq, hkv = k->hkv, tq = o->total_q, tk = o->total_k;
    const size_t es = elattn_dtype_size(k->dtype);
    elattn_attn_desc *d = &L->desc;
    memset(L, 0, sizeof *L);
    *d = o->desc;
    kit_rng rng;
    kit_rng_seed(&rng, c->seed ^ 0x9e3779b97f4a7c15ull);
    if (c->layout == LAYOUT_FUSED) {
        const int T = tq > tk ? tq : tk, W = (hq + 2 * hkv) * D + 8;
        d->q_stride_token = d->k_stride_token = d->v_stride_token = W; /* head strides: 0 (packed D) and D */
        d->k_stride_head = D;
        d->o_stride_token = hq * D + 16;
        L->q_at = 0, L->k_at = (size_t)hq * D * es, L->v_at = (size_t)(hq + hkv) * D * es;
        L->in_bytes = (size_t)T * W * es;
        L->q_bytes = span_bytes(tq, hq, D, W, D, es);
        L->k_bytes = L->v_bytes = span_bytes(tk, hkv, D, W, D, es);
        L->o_bytes = span_bytes(tq, hq, D, d->o_stride_token, D, es);
    } else if (c->layout == LAYOUT_PERMUTED) {
        d->q_stride_token = D, d->q_stride_head = tq * D + 64;
        d->k_stride_token = d->v_stride_token = hkv * D + 8; /* head strides 0 */
        d->o_stride_token = D, d->o_stride_head = tq * D + 16;
        L->q_bytes = span_bytes(tq, hq, D, D, d->q_stride_head, es);
        L->k_bytes = L->v_bytes = span_bytes(tk, hkv, D, d->k_stride_token, D, es);
        L->k_at = up256(L->q_bytes), L->v_at = up256(L->k_at + L->k_bytes);
        L->in_bytes = L->v_at + L->v_bytes;
        L->o_bytes = span_bytes(tq, hq, D, D, d->o_stride_head, es);
    } else { /* LAYOUT_PAGED */
        const int P = c->page_size;
        int used = 0;
        for (int b = 0; b < k->batch; ++b) used += (k->len_k[b] + P - 1) / P;
        d->page_size = P;
        d->num_pages = used + 2; /* two pages no table names */
        d->max_pages_per_seq = (d->max_seqlen_k + P - 1) / P + 1;
        d->o_stride_token = hq * D + 8;
        L->q_bytes = (size_t)tq * hq * D * es;
        L->k_bytes = L->v_bytes = (size_t)d->num_pages * P * hkv * D * es;
        L->k_at = up256(L->q_bytes), L->v_at = up256(L->k_at + L->k_bytes);
        L->in_bytes = L->v_at + L->v_bytes;
        L->o_bytes = span_bytes(tq, hq, D, d->o_stride_token, D, es);
    }
    L->in = xmalloc(L->in_bytes ? L->in_bytes : 1);
    memset(L->in, 0xFF, L->in_bytes);
    if (c->layout != LAYOUT_PAGED) {
        const int qst = d->q_stride_token, qsh = d->q_stride_head ? d->q_stride_head : D;
        const int kst = d->k_stride_token, vst = d->v_stride_token;
        scatter(L->in + L->q_at, o->q, es, tq, hq, D, qst, qsh);
        scatter(L->in + L->k_at, o->k, es, tk, hkv, D, kst, D);
        scatter(L->in + L->v_at, o->v, es, tk, hkv, D, vst, D);
        return;
    }
    scatter(L->in + L->q_at, o->q, es, tq, hq, D, hq * D, D);
    /* physical pages in a shuffled order; the table's unused entries hold pages that do not exist */
    const int P = d->page_size, np = d->num_pages, cols = d->max_pages_per_seq;
    int *perm = xmalloc(sizeof(int) * (size_t)np);
    for (int i = 0; i < np; ++i) perm[i] = i;
    for (int i = np - 1; i > 0; --i) {
        int j = (int)(kit_rng_next(&rng) % (uint64_t)(i + 1)), x = perm[i];
        perm[i] = perm[j], perm[j] = x;
    }
    L->table = xmalloc(sizeof(int32_t) * (size_t)k->batch * cols);
    const size_t row_bytes = (size_t)hkv * D * es;
    int next = 0;
    for (int b = 0; b < k->batch; ++b) {
        const int lk = k->len_k[b], npb = (lk + P - 1) / P;
        unsigned char tiles[(1 << 16) / 256 + 1];
        memset(tiles, 0, sizeof tiles);
        reached_tiles(c, o, b, tiles);
        for (int i = 0; i < cols; ++i) {
            int32_t *e = &L->table[(size_t)b * cols + i];
            if (i >= npb) {
                *e = i % 2 ? -1 - i : np + i; /* never read */
                continue;
            }
            *e = perm[next++];
            const int j0 = i * P, j1 = j0 + P < lk ? j0 + P : lk;
            int reached = 0;
            for (int t = j0 / 256; t <= (j1 - 1) / 256; ++t) reached |= tiles[t];
            if (!reached) continue; /* stays NaN */
            for (int j = j0; j < j1; ++j) {
                const size_t src = (size_t)(o->cu_k[b] + j) * row_bytes;
                const size_t dst = ((size_t)*e * P + (size_t)(j - j0)) * row_bytes;
                memcpy(L->in + L->k_at + dst, (const unsigned char *)o->k + src, row_bytes);
                memcpy(L->in + L->v_at + dst, (const unsigned char *)o->v + src, row_bytes);
            }
        }
    }
    free(perm);
}

/* One run in the case's layout; fills out like run_attn (O gathered back to packed fp32). */
static int run_attn_layout(const conf_case *c, const attn_oracle *o, elattn_device *dev, int use_device_meta,
                           const elattn_plan_options *opt, attn_run_out *out, case_result *r)
{
    layout_run L;
    layout_build(c, o, &L);
    const elattn_attn_desc *d = &L.desc;
    const size_t es = elattn_dtype_size(d->dtype);
    const int D = d->head_dim, hq = d->num_q_heads;
    elattn_attn_plan *plan = NULL;
    elattn_buffer *q = NULL, *k = NULL, *v = NULL, *mask = NULL, *ws = NULL;
    kit_guarded in = {0}, ob = {0}, lse = {0};
    device_meta meta = {0};
    elattn_status st;
    int ran = 0;
    out->guard_ok = 1;
    if ((L.q_at | L.k_at | L.v_at) % 256 != 0) {
        result_fail(r, "case error: a view offset is not a multiple of 256 bytes");
        goto done;
    }
    if ((st = elattn_attn_plan_create(dev, d, opt, &plan)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "plan");
        goto done;
    }
    snprintf(out->kernel, sizeof out->kernel, "%s", elattn_attn_plan_kernel_name(plan));
    size_t ws_bytes = elattn_attn_plan_workspace_size(plan);
    st = kit_guarded_alloc(dev, L.in_bytes, &in);
    if (!st) {
        memcpy(in.image + KIT_GUARD_BYTES, L.in, L.in_bytes);
        st = elattn_buffer_upload(in.parent, KIT_GUARD_BYTES, L.in, L.in_bytes, NULL);
    }
    if (!st) st = elattn_buffer_view(in.parent, KIT_GUARD_BYTES + L.q_at, L.q_bytes ? L.q_bytes : 1, &q);
    if (!st) st = elattn_buffer_view(in.parent, KIT_GUARD_BYTES + L.k_at, L.k_bytes ? L.k_bytes : 1, &k);
    if (!st) st = elattn_buffer_view(in.parent, KIT_GUARD_BYTES + L.v_at, L.v_bytes ? L.v_bytes : 1, &v);
    if (!st && o->mask) st = upload_new(dev, o->mask, o->mask_bytes, &mask);
    if (!st && ws_bytes) st = elattn_buffer_alloc(dev, ws_bytes, &ws);
    if (!st) st = kit_guarded_alloc(dev, L.o_bytes, &ob);
    if (!st && d->write_lse) st = kit_guarded_alloc(dev, (size_t)o->total_q * hq * sizeof(float), &lse);
    if (!st && use_device_meta) st = device_meta_make(plan, dev, o, &meta);
    if (st) {
        result_from_status(r, st, "buffers");
        goto done;
    }
    elattn_attn_args args = {
        .struct_size = sizeof(elattn_attn_args),
        .q = q, .k = k, .v = v, .o = ob.view, .lse = d->write_lse ? lse.view : NULL,
        .cu_seqlens_q = o->cu_q, .cu_seqlens_k = o->cu_k, .modes = o->modes,
        .block_mask = mask, .workspace = ws, .block_table = L.table,
    };
    device_meta_apply(&meta, &args);
    if ((st = elattn_attn_run(plan, NULL, &args)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "run");
        goto done;
    }
    unsigned char *raw = xmalloc(L.o_bytes ? L.o_bytes : 1);
    int ok_o = 1, ok_l = 1;
    long long hit_o = 0, hit_l = 0;
    st = kit_guarded_read(&ob, raw, &ok_o, &hit_o);
    if (!st && d->write_lse) st = kit_guarded_read(&lse, out->lse, &ok_l, &hit_l);
    if (st) {
        free(raw);
        result_from_status(r, st, "download");
        goto done;
    }
    /* gather O into packed fp32; mark the bytes it used, so that the padding can be checked */
    const int ost = d->o_stride_token ? d->o_stride_token : hq * D, osh = d->o_stride_head ? d->o_stride_head : D;
    unsigned char *used = xcalloc(L.o_bytes ? L.o_bytes : 1, 1);
    unsigned char *packed = xmalloc((size_t)o->total_q * hq * D * es + 1);
    for (int t = 0; t < o->total_q; ++t)
        for (int h = 0; h < hq; ++h) {
            const size_t at = ((size_t)t * ost + (size_t)h * osh) * es;
            memcpy(packed + ((size_t)t * hq + h) * D * es, raw + at, (size_t)D * es);
            memset(used + at, 1, (size_t)D * es);
        }
    size_t pad_hit = (size_t)-1;
    for (size_t i = 0; i < L.o_bytes && pad_hit == (size_t)-1; ++i)
        if (!used[i] && raw[i] != KIT_POISON) pad_hit = i;
    float *f = to_f32(d->dtype, packed, (size_t)o->total_q * hq * D);
    memcpy(out->o, f, sizeof(float) * (size_t)o->total_q * hq * D);
    free(f);
    free(packed);
    free(used);
    free(raw);
    const int in_ok = kit_guarded_untouched(&in);
    out->guard_ok = ok_o && ok_l && pad_hit == (size_t)-1 && in_ok;
    ran = 1;
    if (!ok_o) result_fail(r, "guard bytes around O overwritten (byte %lld of a %zu-byte O)", hit_o, L.o_bytes);
    if (!ok_l) result_fail(r, "guard bytes around LSE overwritten (byte %lld)", hit_l);
    if (pad_hit != (size_t)-1) result_fail(r, "padding between O's rows overwritten (byte %zu of O)", pad_hit);
    if (!in_ok) result_fail(r, "the input buffer (Q, K, V and the guards around them) was changed");
done:
    device_meta_free(&meta);
    kit_guarded_free(&ob);
    if (d->write_lse && lse.parent) kit_guarded_free(&lse);
    elattn_buffer_free(ws);
    elattn_buffer_free(mask);
    elattn_buffer_free(v);
    elattn_buffer_free(k);
    elattn_buffer_free(q);
    if (in.parent) kit_guarded_free(&in);
    elattn_attn_plan_destroy(plan);
    free(L.in);
    free(L.table);
    return ran;
}

void attn_oracle_check(const conf_case *c, const attn_oracle *o, const conf_target *t, case_result *r)
{
    size_t nq = kit_case_q_elems(&c->call);
    attn_run_out out = {.o = xmalloc(sizeof(float) * (nq ? nq : 1)),
                        .lse = xmalloc(sizeof(float) * ((size_t)o->total_q * c->call.hq + 1))};
    const elattn_plan_options opt = plan_options(c, t);
    int ran = c->layout == LAYOUT_PACKED ? run_attn(o, t->dev, &opt, c->device_meta, &out, r)
                                         : run_attn_layout(c, o, t->dev, c->device_meta, &opt, &out, r);
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

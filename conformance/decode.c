/*
 * Decode cases (group "decode"): the device under test keeps a per-head KV cache
 * (elattn_kv_cache) through a prefill and several decode steps; after each step its decode
 * output must equal the oracle's, which is the reference device's *prefill attention* over
 * the whole, un-evicted history (elattn_attn_run with Lq = the step's new tokens, Lk = the
 * history, causal, the same sink and window, BLOCK_SPARSE heads as FULL): the invariant of
 * kernels/SPEC.md section 9. The oracle never sees a cache. O and LSE are guarded outputs.
 * With a page budget (Quest, section 9b) the BLOCK_SPARSE heads' rows come instead from
 * quest_oracle: the pages chosen from the history itself (its pages' key bounds, the spec's
 * scores), then the softmax in double over the positions of those pages.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "kit_values.h"

struct decode_oracle {
    int total_hist[KIT_MAX_BATCH];   /* history length after the last step */
    void *kv[CONF_MAX_DECODE_STEPS + 1][2]; /* appended K and V of the prefill (0) and of each step */
    int appended[CONF_MAX_DECODE_STEPS + 1][KIT_MAX_BATCH];
    void *q[CONF_MAX_DECODE_STEPS + 1];
    float *o[CONF_MAX_DECODE_STEPS + 1], *lse[CONF_MAX_DECODE_STEPS + 1];
    int total_new[CONF_MAX_DECODE_STEPS + 1];
    double max_abs_v;
};

static int step_new(const conf_case *c, int step, int b) { return c->dec_steps[(step + b) % c->dec_nsteps]; }

void decode_oracle_free(decode_oracle *o)
{
    if (!o) return;
    for (int s = 0; s <= CONF_MAX_DECODE_STEPS; ++s) {
        free(o->kv[s][0]), free(o->kv[s][1]), free(o->q[s]), free(o->o[s]), free(o->lse[s]);
    }
    free(o);
}

/* Quest (SPEC.md section 9b) for the BLOCK_SPARSE heads of sequence b at one step, from the history:
 * kf, vf float [len][Hkv][D]; qf float [total_new][Hq][D] of the step, the sequence's rows from q_row;
 * writes O (float) and LSE of its rows of every query head of those KV heads into o and lse. */
static void quest_oracle(const conf_case *c, int b, int len, int n, int q_row, const float *kf, const float *vf,
                         const float *qf, float *o, float *lse)
{
    const kit_case *k = &c->call;
    const int D = k->head_dim, Hkv = k->hkv, Hq = k->hq, group = Hq / Hkv, P = c->dec_page;
    const int pages = (len + P - 1) / P, tail = (len - n) / P, budget = c->dec_budget;
    const double scale = 1.0f / sqrtf((float)D);
    float *score = xcalloc((size_t)pages, sizeof(float));
    unsigned char *kept = xcalloc((size_t)pages, 1);
    double *acc = xcalloc((size_t)D, sizeof(double));
    float *lo = xcalloc(2 * (size_t)D, sizeof(float)), *hi = lo + D;
    for (int hk = 0; hk < Hkv; ++hk) {
        if (k->modes[b * Hkv + hk] != ELATTN_BLOCK_SPARSE) continue;
        for (int j = 1; j < tail; ++j) { /* a candidate's score: its key bounds against the group's queries */
            for (int d = 0; d < D; ++d) {
                lo[d] = INFINITY, hi[d] = -INFINITY;
                for (int t = j * P; t < (j + 1) * P && t < len; ++t) {
                    const float x = kf[((size_t)t * Hkv + hk) * D + d];
                    lo[d] = x < lo[d] ? x : lo[d], hi[d] = x > hi[d] ? x : hi[d];
                }
            }
            float s = 0.0f; /* per (r, g): 8 running sums over d mod 8, joined pairwise; then in turn */
            for (int r = 0; r < n; ++r)
                for (int g = 0; g < group; ++g) {
                    float lane[8] = {0};
                    for (int d = 0; d < D; ++d) {
                        const float qv = qf[((size_t)(q_row + r) * Hq + hk * group + g) * D + d];
                        const float a = qv * lo[d], e = qv * hi[d];
                        lane[d % 8] += a > e ? a : e;
                    }
                    s += ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
                }
            score[j] = s;
        }
        for (int j = 0; j < pages; ++j) { /* page 0, the tail, and the budget's best candidates */
            int before = 0;
            for (int i = 1; i < tail && j >= 1 && j < tail; ++i)
                before += score[i] > score[j] || (score[i] == score[j] && i < j);
            kept[j] = j == 0 || j >= tail || before < budget;
        }
        for (int r = 0; r < n; ++r)
            for (int g = 0; g < group; ++g) {
                const size_t qo = ((size_t)(q_row + r) * Hq + hk * group + g) * D;
                const int pos = len - n + r;
                double m = -INFINITY, l = 0.0;
                for (int d = 0; d < D; ++d) acc[d] = 0.0;
                for (int t = 0; t <= pos; ++t) {
                    if (!kept[t / P]) continue;
                    double dot = 0.0;
                    for (int d = 0; d < D; ++d) dot += (double)qf[qo + d] * kf[((size_t)t * Hkv + hk) * D + d];
                    const double x = dot * scale, nm = x > m ? x : m, f = exp(m - nm), w = exp(x - nm);
                    for (int d = 0; d < D; ++d) acc[d] = acc[d] * f + w * vf[((size_t)t * Hkv + hk) * D + d];
                    l = l * f + w, m = nm;
                }
                for (int d = 0; d < D; ++d) o[qo + d] = (float)(acc[d] / l);
                lse[(size_t)(q_row + r) * Hq + hk * group + g] = (float)(m + log(l));
            }
    }
    free(score), free(kept), free(acc), free(lo);
}

decode_oracle *decode_oracle_make(const conf_case *c, elattn_device *ref, char *why, size_t n)
{
    const kit_case *k = &c->call;
    const size_t es = elattn_dtype_size(k->dtype), row = (size_t)k->hkv * k->head_dim * es;
    decode_oracle *o = xcalloc(1, sizeof *o);
    kit_rng rng;
    kit_rng_seed(&rng, c->seed);
    /* The whole history of every sequence, in the order it is appended. */
    unsigned char *hist[2][KIT_MAX_BATCH];
    int len[KIT_MAX_BATCH];
    for (int b = 0; b < k->batch; ++b) {
        int total = k->len_q[b];
        for (int s = 0; s < c->dec_nsteps; ++s) total += step_new(c, s, b);
        o->total_hist[b] = total;
        hist[0][b] = xmalloc(row * total), hist[1][b] = xmalloc(row * total);
        len[b] = 0;
    }
    elattn_status st = ELATTN_SUCCESS;
    for (int s = 0; s <= c->dec_nsteps && st == ELATTN_SUCCESS; ++s) {
        int total = 0;
        for (int b = 0; b < k->batch; ++b) total += o->appended[s][b] = s == 0 ? k->len_q[b] : step_new(c, s - 1, b);
        float *vf = NULL;
        o->kv[s][0] = random_tensor(&rng, k->dtype, (size_t)total * k->hkv * k->head_dim, 1.0, NULL);
        for (size_t i = 0; c->dec_ties && i < (size_t)total * k->hkv * k->head_dim; ++i) /* signs only */
            kit_store_value(k->dtype, o->kv[s][0], i, kit_load_value(k->dtype, o->kv[s][0], i) >= 0.0f ? 1.0f : -1.0f);
        o->kv[s][1] = random_tensor(&rng, k->dtype, (size_t)total * k->hkv * k->head_dim, 1.0, &vf);
        for (size_t i = 0; i < (size_t)total * k->hkv * k->head_dim; ++i)
            if (fabs(vf[i]) > o->max_abs_v) o->max_abs_v = fabs(vf[i]);
        free(vf);
        for (int b = 0, at = 0; b < k->batch; at += o->appended[s][b], ++b) {
            memcpy(hist[0][b] + row * len[b], (unsigned char *)o->kv[s][0] + row * at, row * o->appended[s][b]);
            memcpy(hist[1][b] + row * len[b], (unsigned char *)o->kv[s][1] + row * at, row * o->appended[s][b]);
            len[b] += o->appended[s][b];
        }
        if (s == 0) continue;
        /* The step's queries and the prefill oracle over the whole history. */
        o->total_new[s] = total;
        o->q[s] = random_tensor(&rng, k->dtype, (size_t)total * k->hq * k->head_dim, 1.0, NULL);
        kit_case pc = *k;
        for (int b = 0; b < k->batch; ++b) {
            pc.len_q[b] = o->appended[s][b], pc.len_k[b] = len[b];
            for (int h = 0; h < k->hkv; ++h)
                if (pc.modes[b * k->hkv + h] == ELATTN_BLOCK_SPARSE) pc.modes[b * k->hkv + h] = ELATTN_FULL;
        }
        pc.causal = 1;
        int32_t cu_q[KIT_MAX_BATCH + 1], cu_k[KIT_MAX_BATCH + 1];
        int max_q, max_k;
        kit_case_seqlens(&pc, cu_q, cu_k, &max_q, &max_k);
        const size_t kv_bytes = row * cu_k[k->batch];
        unsigned char *kall = xmalloc(kv_bytes), *vall = xmalloc(kv_bytes);
        for (int b = 0; b < k->batch; ++b) {
            memcpy(kall + row * cu_k[b], hist[0][b], row * len[b]);
            memcpy(vall + row * cu_k[b], hist[1][b], row * len[b]);
        }
        elattn_attn_desc desc = kit_case_attn_desc(&pc, 1);
        elattn_attn_plan *plan = NULL;
        elattn_buffer *qb = NULL, *kb = NULL, *vb = NULL, *ob = NULL, *lb = NULL, *ws = NULL;
        const size_t q_bytes = (size_t)total * k->hq * k->head_dim * es, l_bytes = sizeof(float) * total * k->hq;
        st = elattn_attn_plan_create(ref, &desc, NULL, &plan);
        if (!st) st = upload_new(ref, o->q[s], q_bytes, &qb);
        if (!st) st = upload_new(ref, kall, kv_bytes, &kb);
        if (!st) st = upload_new(ref, vall, kv_bytes, &vb);
        if (!st) st = elattn_buffer_alloc(ref, q_bytes, &ob);
        if (!st) st = elattn_buffer_alloc(ref, l_bytes, &lb);
        const size_t ws_bytes = plan ? elattn_attn_plan_workspace_size(plan) : 0;
        if (!st && ws_bytes) st = elattn_buffer_alloc(ref, ws_bytes, &ws);
        if (!st) {
            elattn_attn_args a = {.struct_size = sizeof a, .q = qb, .k = kb, .v = vb, .o = ob, .lse = lb,
                                  .cu_seqlens_q = cu_q, .cu_seqlens_k = cu_k, .modes = pc.modes, .workspace = ws};
            st = elattn_attn_run(plan, NULL, &a);
        }
        void *oh = xmalloc(q_bytes);
        o->lse[s] = xmalloc(l_bytes);
        if (!st) st = elattn_buffer_download(ob, 0, oh, q_bytes, NULL);
        if (!st) st = elattn_buffer_download(lb, 0, o->lse[s], l_bytes, NULL);
        if (!st) o->o[s] = to_f32(k->dtype, oh, (size_t)total * k->hq * k->head_dim);
        if (st) snprintf(why, n, "reference attention over the history: %s", elattn_last_error());
        if (!st && c->dec_budget) { /* BLOCK_SPARSE heads: Quest's pages instead of the whole history */
            float *qf = to_f32(k->dtype, o->q[s], (size_t)total * k->hq * k->head_dim);
            for (int b = 0, at = 0; b < k->batch; at += o->appended[s][b], ++b) {
                float *kf = to_f32(k->dtype, hist[0][b], (size_t)len[b] * k->hkv * k->head_dim);
                float *vf = to_f32(k->dtype, hist[1][b], (size_t)len[b] * k->hkv * k->head_dim);
                quest_oracle(c, b, len[b], o->appended[s][b], at, kf, vf, qf, o->o[s], o->lse[s]);
                free(kf), free(vf);
            }
            free(qf);
        }
        free(oh), free(kall), free(vall);
        elattn_buffer_free(qb), elattn_buffer_free(kb), elattn_buffer_free(vb), elattn_buffer_free(ob);
        elattn_buffer_free(lb), elattn_buffer_free(ws), elattn_attn_plan_destroy(plan);
    }
    for (int b = 0; b < k->batch; ++b) free(hist[0][b]), free(hist[1][b]);
    if (st) {
        decode_oracle_free(o);
        return NULL;
    }
    return o;
}

void decode_oracle_check(const conf_case *c, const decode_oracle *o, const conf_target *t, case_result *r)
{
    const kit_case *k = &c->call;
    const size_t es = elattn_dtype_size(k->dtype), row = (size_t)k->hkv * k->head_dim * es;
    int max_tokens = 1;
    for (int b = 0; b < k->batch; ++b)
        if (o->total_hist[b] > max_tokens) max_tokens = o->total_hist[b];
    const int pages_per_head = (max_tokens + c->dec_page - 1) / c->dec_page;
    elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = k->dtype, .head_dim = k->head_dim,
                               .num_kv_heads = k->hkv, .page_size = c->dec_page,
                               .num_pages = k->batch * k->hkv * pages_per_head, .max_sequences = 2 * KIT_MAX_BATCH,
                               .max_tokens = max_tokens, .sink = k->sink, .local = k->local,
                               .page_summaries = c->dec_budget > 0};
    elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = k->hq, .max_batch = k->batch, .write_lse = 1,
                             .num_splits = c->dec_splits, .page_budget = c->dec_budget};
    const elattn_plan_options opt = {.struct_size = sizeof opt, .kernel = t->kernel[0] ? t->kernel : NULL};
    elattn_kv_cache *cache = NULL;
    elattn_decode_plan *plan = NULL;
    elattn_status st = elattn_kv_cache_create(t->dev, &cd, &cache);
    if (st) {
        result_from_status(r, st, "cache");
        return;
    }
    if ((st = elattn_decode_plan_create(cache, &dd, &opt, &plan)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "plan");
        elattn_kv_cache_destroy(cache);
        return;
    }
    snprintf(r->kernel, sizeof r->kernel, "%s/s%d", elattn_decode_plan_kernel(plan), elattn_decode_plan_splits(plan));
    int32_t ids[KIT_MAX_BATCH];
    for (int b = 0; b < k->batch; ++b) ids[b] = 2 * b + 1; /* ids are not 0..batch-1 */
    r->guard_ok = 1;
    double worst_nmse = 0, worst_err = 0;
    elattn_decode_batch *batch = NULL;
    for (int s = 0; s <= c->dec_nsteps && r->status != ST_FAIL; ++s) {
        int total = 0;
        for (int b = 0; b < k->batch; ++b) total += o->appended[s][b];
        elattn_buffer *kb = NULL, *vb = NULL, *qb = NULL;
        st = upload_new(t->dev, o->kv[s][0], row * total, &kb);
        if (!st) st = upload_new(t->dev, o->kv[s][1], row * total, &vb);
        elattn_kv_append_args aa = {.struct_size = sizeof aa, .num_seqs = k->batch, .seq_ids = ids,
                                    .num_tokens = o->appended[s], .modes = s == 0 ? k->modes : NULL, .k = kb, .v = vb};
        if (!st) st = elattn_kv_cache_append(cache, NULL, &aa);
        elattn_buffer_free(kb), elattn_buffer_free(vb);
        if (st) {
            result_fail(r, "append (step %d): %s", s, elattn_last_error());
            break;
        }
        if (s == 0) continue;
        kit_guarded og = {0}, lg = {0};
        const size_t q_bytes = (size_t)total * k->hq * k->head_dim * es, l_bytes = sizeof(float) * total * k->hq;
        st = upload_new(t->dev, o->q[s], q_bytes, &qb);
        if (!st) st = kit_guarded_alloc(t->dev, q_bytes, &og);
        if (!st) st = kit_guarded_alloc(t->dev, l_bytes, &lg);
        /* device_meta: one decode batch made at the first step and run at every later one, the lengths
         * read on the device as they grow (what a captured graph replays) */
        if (!st && c->device_meta && !batch &&
            (st = elattn_decode_batch_create(plan, cache, k->batch, ids, o->appended[s], &batch)) != ELATTN_SUCCESS)
            result_from_status(r, st, "batch");
        else if (!st) {
            elattn_decode_args da = {.struct_size = sizeof da, .num_seqs = k->batch, .seq_ids = ids,
                                     .num_new = o->appended[s], .q = qb, .o = og.view, .lse = lg.view};
            if (batch) da.num_seqs = 0, da.seq_ids = NULL, da.num_new = NULL, da.batch = batch;
            st = elattn_decode_run(plan, cache, NULL, &da);
            if (st) result_from_status(r, st, "run");
        } else {
            result_from_status(r, st, "buffers");
        }
        if (!st) {
            void *oh = xmalloc(q_bytes);
            float *lse = xmalloc(l_bytes);
            int g1 = 0, g2 = 0;
            long long hit = 0;
            st = kit_guarded_read(&og, oh, &g1, &hit);
            if (!st) st = kit_guarded_read(&lg, lse, &g2, &hit);
            if (st) {
                result_fail(r, "download: %s", elattn_last_error());
            } else {
                if (!g1 || !g2) r->guard_ok = 0, result_fail(r, "step %d: a guard byte changed", s);
                float *of = to_f32(k->dtype, oh, (size_t)total * k->hq * k->head_dim);
                unsigned char *empty = xcalloc((size_t)total * k->hq, 1); /* causal decode rows always see a key */
                attn_compare_in in = {.c = c, .total_q = total, .o_ref = o->o[s], .o_dut = of, .lse_ref = o->lse[s],
                                      .lse_dut = lse, .row_empty = empty, .max_abs_v = o->max_abs_v};
                case_result step = {.status = ST_PASS};
                conf_compare_attn(&in, &step);
                if (step.nmse > worst_nmse) worst_nmse = step.nmse;
                if (step.max_err > worst_err) worst_err = step.max_err;
                if (step.status == ST_FAIL) result_fail(r, "step %d: %s", s, step.detail);
                free(of), free(empty);
            }
            free(oh), free(lse);
        }
        elattn_buffer_free(qb);
        kit_guarded_free(&og), kit_guarded_free(&lg);
        if (st && r->status != ST_FAIL && r->status != ST_UNSUPPORTED) result_fail(r, "step %d failed", s);
        if (st) break;
    }
    r->nmse = worst_nmse;
    r->max_err = worst_err;
    elattn_decode_batch_destroy(batch);
    elattn_decode_plan_destroy(plan);
    elattn_kv_cache_destroy(cache);
}

/*
 * Decode over the per-head KV cache, the definition (kernels/SPEC.md section 9):
 * for every (sequence, query head, new token) and every split-KV chunk of the head's
 * occupied slots (chunks[sequence][head] of them), the softmax over the keys
 * elattn_decode_visible admits (double), then the chunks merged by their LSEs with
 * elattn_merge_weights. With a page budget, a BLOCK_SPARSE head is first replaced by the FULL head
 * over the pages Quest selects (section 9b).
 */
#include <math.h>
#include <stdlib.h>

#include "elattn_ref.h"

void elattn_ref_kv_summarize(elattn_dtype dtype, int head_dim, int page_shift, const void *k_pool, float *summaries,
                             int count, const int32_t *pages, const int32_t *rows)
{
    for (int i = 0; i < count; ++i) {
        float *lo = summaries + (size_t)pages[i] * 2 * head_dim, *hi = lo + head_dim;
        const size_t first = ((size_t)pages[i] << page_shift) * head_dim;
        for (int d = 0; d < head_dim; ++d) {
            lo[d] = hi[d] = (float)elattn_ref_load(dtype, k_pool, first + d);
            for (int r = 1; r < rows[i]; ++r) {
                const float x = (float)elattn_ref_load(dtype, k_pool, first + (size_t)r * head_dim + d);
                lo[d] = x < lo[d] ? x : lo[d];
                hi[d] = x > hi[d] ? x : hi[d];
            }
        }
    }
}

/* Quest (SPEC.md section 9b) for one BLOCK_SPARSE (sequence i, KV head hk) of length len with n new
 * tokens: the selected pages of `pages`, ascending, into `chosen`; returns the compacted length.
 * scores: room for the head's pages. */
static int64_t quest_select(const elattn_ref_decode_args *a, int i, int hk, int64_t len, int n, const int32_t *pages,
                            float *scores, int32_t *chosen)
{
    const int D = a->head_dim, group = a->num_q_heads / a->num_kv_heads;
    const int64_t tail = elattn_quest_tail(len, n, a->page_shift), end = (len + (1 << a->page_shift) - 1) >> a->page_shift;
    for (int64_t j = 1; j < tail; ++j) { /* the candidates' scores, in the spec's order */
        const float *lo = a->page_summaries + (size_t)pages[j] * 2 * D, *hi = lo + D;
        float score = 0.0f;
        for (int r = 0; r < n; ++r)
            for (int g = 0; g < group; ++g) {
                const size_t qoff = ((size_t)(a->cu_new[i] + r) * a->num_q_heads + (size_t)hk * group + g) * D;
                float lane[ELATTN_QUEST_LANES] = {0};
                for (int d = 0; d < D; ++d)
                    lane[d % ELATTN_QUEST_LANES] +=
                        elattn_quest_term((float)elattn_ref_load(a->dtype, a->q, qoff + d), lo[d], hi[d]);
                score += elattn_quest_join(lane);
            }
        scores[j] = score;
    }
    int64_t count = 0;
    for (int64_t j = 0; j < end; ++j) {
        int keep = j == 0 || j >= tail;
        if (!keep) { /* a candidate is kept when fewer than `budget` candidates rank before it */
            int64_t before = 0;
            for (int64_t c = 1; c < tail && before < a->page_budget; ++c)
                before += elattn_quest_before(scores[c], c, scores[j], j);
            keep = before < a->page_budget;
        }
        if (keep) chosen[count++] = pages[j];
    }
    return elattn_quest_length(len, n, a->page_shift, a->page_budget);
}

elattn_status elattn_ref_decode(const elattn_ref_decode_args *a)
{
    const elattn_dtype dt = a->dtype;
    const int D = a->head_dim, Hq = a->num_q_heads, Hkv = a->num_kv_heads, group = Hq / Hkv;
    double *acc = malloc(sizeof(double) * (size_t)D), *out = malloc(sizeof(double) * (size_t)D);
    float *scores = a->page_budget ? malloc(sizeof(float) * (size_t)a->pages_per_head) : NULL;
    int32_t *chosen = a->page_budget ? malloc(sizeof(int32_t) * (size_t)a->pages_per_head) : NULL;
    if (!acc || !out || (a->page_budget && (!scores || !chosen))) {
        free(acc), free(out), free(scores), free(chosen);
        return ELATTN_ERROR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < a->num_seqs; ++i) {
        const int seq = a->seq_ids[i], len_cached = a->lengths[i];
        int64_t len_chosen = 0; /* Quest's, for the query heads of one group (chosen[] holds its pages) */
        const int n = a->cu_new[i + 1] - a->cu_new[i];
        for (int h = 0; h < Hq; ++h) {
            const int hk = h / group;
            int mode = a->modes[(size_t)i * Hkv + hk];
            const int32_t *pages = a->page_table + ((size_t)seq * Hkv + hk) * a->pages_per_head;
            int64_t len = len_cached;
            if (mode == ELATTN_MODE_BLOCK_SPARSE && a->page_budget) { /* a FULL head over the selected pages */
                if (h % group == 0) len_chosen = quest_select(a, i, hk, len_cached, n, pages, scores, chosen);
                len = len_chosen, pages = chosen, mode = ELATTN_MODE_FULL;
            }
            const int64_t slots = elattn_kv_slots(mode, a->sink, a->ring, len);
            for (int r = 0; r < n; ++r) {
                const int64_t row = a->cu_new[i] + r, pos = (int64_t)len - n + r;
                const int64_t qoff = (row * Hq + h) * D;
                float lse_all = -INFINITY;
                for (int d = 0; d < D; ++d) out[d] = 0.0;
                const int chunks = a->chunks[(size_t)i * Hkv + hk];
                for (int c = 0; c < chunks; ++c) {
                    int64_t s0, s1;
                    elattn_decode_split(slots, chunks, c, &s0, &s1);
                    double m = -INFINITY, l = 0.0;
                    for (int d = 0; d < D; ++d) acc[d] = 0.0;
                    for (int64_t s = s0; s < s1; ++s) { /* online softmax over the chunk, in double */
                        const int64_t t = elattn_kv_position_of(mode, a->sink, a->ring, len, s);
                        if (!elattn_decode_visible(mode, pos, t, a->sink, a->local)) continue;
                        const int64_t koff = elattn_kv_slot_offset(pages, a->page_shift, D, s);
                        double dot = 0.0;
                        for (int d = 0; d < D; ++d)
                            dot += elattn_ref_load(dt, a->q, (size_t)(qoff + d)) *
                                   elattn_ref_load(dt, a->k_pool, (size_t)(koff + d));
                        const double x = dot * a->scale, nm = x > m ? x : m;
                        const double f = exp(m - nm), w = exp(x - nm);
                        for (int d = 0; d < D; ++d)
                            acc[d] = acc[d] * f + w * elattn_ref_load(dt, a->v_pool, (size_t)(koff + d));
                        l = l * f + w;
                        m = nm;
                    }
                    const float lse_c = l > 0.0 ? (float)(m + log(l)) : -INFINITY;
                    float w_all, w_c;
                    const float merged = elattn_merge_weights(lse_all, lse_c, &w_all, &w_c);
                    for (int d = 0; d < D; ++d) out[d] = w_all * out[d] + (l > 0.0 ? w_c * acc[d] / l : 0.0);
                    lse_all = merged;
                }
                for (int d = 0; d < D; ++d) elattn_ref_store(dt, a->o, (size_t)(qoff + d), out[d]);
                if (a->lse) a->lse[row * Hq + h] = lse_all;
            }
        }
    }
    free(acc), free(out), free(scores), free(chosen);
    return ELATTN_SUCCESS;
}

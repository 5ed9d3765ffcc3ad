/*
 * Decode over the per-head KV cache, the definition (kernels/SPEC.md section 9):
 * for every (sequence, query head, new token) and every split-KV chunk of the head's
 * occupied slots (chunks[sequence][head] of them), the softmax over the keys
 * elattn_decode_visible admits (double), then the chunks merged by their LSEs with
 * elattn_merge_weights.
 */
#include <math.h>
#include <stdlib.h>

#include "elattn_ref.h"

elattn_status elattn_ref_decode(const elattn_ref_decode_args *a)
{
    const elattn_dtype dt = a->dtype;
    const int D = a->head_dim, Hq = a->num_q_heads, Hkv = a->num_kv_heads, group = Hq / Hkv;
    double *acc = malloc(sizeof(double) * (size_t)D), *out = malloc(sizeof(double) * (size_t)D);
    if (!acc || !out) {
        free(acc), free(out);
        return ELATTN_ERROR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < a->num_seqs; ++i) {
        const int seq = a->seq_ids[i], len = a->lengths[i];
        const int n = a->cu_new[i + 1] - a->cu_new[i];
        for (int h = 0; h < Hq; ++h) {
            const int hk = h / group, mode = a->modes[(size_t)i * Hkv + hk];
            const int32_t *pages = a->page_table + ((size_t)seq * Hkv + hk) * a->pages_per_head;
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
    free(acc), free(out);
    return ELATTN_SUCCESS;
}

/*
 * Hybrid attention, the definition: for every (element, query head, query)
 * the softmax over the keys that elattn_pair_visible admits, in double.
 */
#include <math.h>
#include <stdlib.h>

#include "elattn_ref.h"

elattn_status elattn_ref_attention(const elattn_attn_params *p, const void *q, const void *k,
                                   const void *v, void *o, float *lse,
                                   const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k,
                                   const int32_t *modes, const uint8_t *block_mask,
                                   const int32_t *block_table)
{
    const elattn_dtype dt = (elattn_dtype)p->dtype;
    const int D = p->head_dim, Hq = p->num_q_heads, Hkv = p->num_kv_heads;
    const int group = Hq / Hkv;
    const double scale = (double)p->scale;

    /* Scratch: one row's logits and visibility, and the element's K and V of
     * one KV head widened to double once (exact), shared by its query heads. */
    const size_t max_k = p->max_seqlen_k > 0 ? (size_t)p->max_seqlen_k : 1;
    const size_t kv_scratch = max_k * (size_t)D * sizeof(double); /* < 2^31 * 2^8 * 8: fits in a 64-bit size_t */
    double *score = malloc(max_k * sizeof *score);
    unsigned char *seen = malloc(max_k);
    double *kd = malloc(kv_scratch);
    double *vd = malloc(kv_scratch);
    double *qd = malloc((size_t)D * sizeof *qd);
    double *acc = malloc((size_t)D * sizeof *acc);
    if (!score || !seen || !kd || !vd || !qd || !acc) {
        free(score), free(seen), free(kd), free(vd), free(qd), free(acc);
        return ELATTN_ERROR_OUT_OF_MEMORY;
    }

    for (int b = 0; b < p->batch; ++b) {
        const int q0 = cu_seqlens_q[b], k0 = cu_seqlens_k[b];
        const int len_q = cu_seqlens_q[b + 1] - q0, len_k = cu_seqlens_k[b + 1] - k0;
        for (int hk = 0; hk < Hkv; ++hk) {
            const int mode = modes[b * Hkv + hk];
            for (int j = 0; j < len_k; ++j) {
                const elattn_i64 row = elattn_kv_row(p, block_table, b, k0, j);
                const size_t k_at = (size_t)elattn_k_offset(p, row, hk), v_at = (size_t)elattn_v_offset(p, row, hk);
                for (int d = 0; d < D; ++d) {
                    kd[(size_t)j * D + d] = elattn_ref_load(dt, k, k_at + d);
                    vd[(size_t)j * D + d] = elattn_ref_load(dt, v, v_at + d);
                }
            }
            for (int h = hk * group; h < (hk + 1) * group; ++h) {
                for (int i = 0; i < len_q; ++i) {
                    const int pos = elattn_query_pos(i, len_q, len_k);
                    const uint8_t *mask_row = NULL;
                    if (mode == ELATTN_MODE_BLOCK_SPARSE)
                        mask_row = block_mask + elattn_mask_row(b, hk, i / p->block_size, Hkv,
                                                                p->mask_qblocks, p->mask_kblocks);
                    const size_t q_at = (size_t)elattn_q_offset(p, q0 + i, h);
                    const size_t o_at = (size_t)elattn_o_offset(p, q0 + i, h);
                    for (int d = 0; d < D; ++d) qd[d] = elattn_ref_load(dt, q, q_at + d);

                    /* logits of the visible keys and their maximum */
                    double row_max = -INFINITY;
                    int visible = 0;
                    for (int j = 0; j < len_k; ++j) {
                        seen[j] = (unsigned char)elattn_pair_visible(mode, p->causal, pos, j, p->sink,
                                                                     p->local, p->block_size, mask_row);
                        if (!seen[j]) continue;
                        ++visible;
                        double dot = 0.0;
                        for (int d = 0; d < D; ++d) dot += qd[d] * kd[(size_t)j * D + d];
                        score[j] = dot * scale;
                        if (score[j] > row_max) row_max = score[j];
                    }

                    for (int d = 0; d < D; ++d) acc[d] = 0.0;
                    double denom = 0.0;
                    for (int j = 0; j < len_k; ++j) {
                        if (!seen[j]) continue;
                        const double w = exp(score[j] - row_max);
                        denom += w;
                        for (int d = 0; d < D; ++d) acc[d] += w * vd[(size_t)j * D + d];
                    }

                    /* a row with no visible key: O = 0, LSE = -inf (NaN inputs stay NaN) */
                    for (int d = 0; d < D; ++d)
                        elattn_ref_store(dt, o, o_at + d, visible ? acc[d] / denom : 0.0);
                    if (lse)
                        lse[(size_t)(q0 + i) * Hq + h] =
                            visible ? (float)(row_max + log(denom)) : -INFINITY;
                }
            }
        }
    }
    free(kd), free(vd), free(qd);
    free(score);
    free(seen);
    free(acc);
    return ELATTN_SUCCESS;
}

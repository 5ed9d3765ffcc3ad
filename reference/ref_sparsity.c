/*
 * Sparsity metrics of one call (paper definitions 2.1 and 2.2), counted
 * exactly: per (element, KV head), rho = 1 - attended pairs / causal pairs
 * (Lq * Lk without causality); FULL heads count rho = 0 and an element with
 * no pair counts rho = 0. Pairs are counted per query row with the spec's
 * elattn_row_visible_keys (interval lengths, so long sequences cost O(Lq),
 * O(Lq * key blocks) for masks).
 */
#include "elattn_ref.h"

static long long max_ll(long long a, long long b) { return a > b ? a : b; }
static long long min_ll(long long a, long long b) { return a < b ? a : b; }

elattn_status elattn_ref_sparsity(const elattn_attn_desc *d, const int32_t *cu_seqlens_q,
                                  const int32_t *cu_seqlens_k, const int32_t *modes,
                                  const uint8_t *block_mask, elattn_sparsity *out)
{
    const int B = d->block_size;
    const int mask_qblocks = (d->max_seqlen_q + B - 1) / B, mask_kblocks = (d->max_seqlen_k + B - 1) / B;
    out->entries = 0;
    out->sparse_entries = 0;
    out->rho_sum = 0.0;

    for (int b = 0; b < d->batch; ++b) {
        const int len_q = cu_seqlens_q[b + 1] - cu_seqlens_q[b];
        const int len_k = cu_seqlens_k[b + 1] - cu_seqlens_k[b];
        for (int hk = 0; hk < d->num_kv_heads; ++hk) {
            const int mode = modes[b * d->num_kv_heads + hk];
            out->entries += 1;
            if (mode == ELATTN_MODE_FULL) continue; /* rho = 0 by definition */
            out->sparse_entries += 1;

            long long causal_pairs = 0, attended = 0;
            for (int i = 0; i < len_q; ++i) {
                const long long p = elattn_query_pos(i, len_q, len_k);
                const long long last = d->causal ? min_ll(p, len_k - 1) : len_k - 1;
                const uint8_t *mask_row = NULL;
                if (mode == ELATTN_MODE_BLOCK_SPARSE)
                    mask_row = block_mask + elattn_mask_row(b, hk, i / B, d->num_kv_heads, mask_qblocks, mask_kblocks);
                causal_pairs += max_ll(0, last + 1);
                attended += elattn_row_visible_keys(mode, d->causal, len_q, len_k, i, d->sink, d->local, mask_row,
                                                    d->block_size);
            }
            if (causal_pairs > 0) out->rho_sum += 1.0 - (double)attended / (double)causal_pairs;
        }
    }
    out->omega_msr = out->entries ? (double)out->sparse_entries / (double)out->entries : 0.0;
    out->omega_esr = out->entries ? out->rho_sum / (double)out->entries : 0.0;
    return ELATTN_SUCCESS;
}

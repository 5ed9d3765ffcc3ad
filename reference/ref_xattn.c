/*
 * XAttention block selection (antidiagonal scoring), the definition:
 * reshaped scores, a softmax per reshaped row per query head, block sums
 * added over the group's query heads, then a greedy selection per query-block
 * row. See the XAttention comment in elattn_spec.h and kernels/SPEC.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "elattn_ref.h"

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* Qt[row] . Kt[col] from one element's query head qd [len_q][D] and KV head
 * kd [len_k][D] (widened to double); rows and columns past the sequence read
 * zeros. */
static double reshaped_dot(const double *qd, const double *kd, int S, int D, int len_q, int len_k,
                           int row, int col)
{
    double dot = 0.0;
    for (int t = 0; t < S; ++t) {
        const int qi = elattn_xattn_q_pos(row, t, S);
        const int kj = elattn_xattn_k_pos(col, t, S);
        if (qi >= len_q || kj >= len_k) continue;
        for (int x = 0; x < D; ++x) dot += qd[(size_t)qi * D + x] * kd[(size_t)kj * D + x];
    }
    return dot;
}

/* Rows [first, first + len) of head `head` of a [rows][heads][D] tensor, as double. */
static void widen_head(elattn_dtype dt, const void *t, int first, int len, int heads, int head, int D,
                       double *out)
{
    for (int r = 0; r < len; ++r)
        for (int x = 0; x < D; ++x)
            out[(size_t)r * D + x] = elattn_ref_load(dt, t, ((size_t)(first + r) * heads + head) * D + x);
}

elattn_status elattn_ref_xattn_scores(const elattn_xattn_desc *d, const void *q, const void *k,
                                      const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k,
                                      int b, int hk, double *scores)
{
    const int S = d->stride, B = d->block_size, cells = B / S, D = d->head_dim;
    const int q0 = cu_seqlens_q[b], k0 = cu_seqlens_k[b];
    const int len_q = cu_seqlens_q[b + 1] - q0, len_k = cu_seqlens_k[b + 1] - k0;
    const int rows = ceil_div(len_q, S), cols = ceil_div(len_k, S);
    const int nqb = ceil_div(len_q, B), nkb = ceil_div(len_k, B);
    const int group = d->num_q_heads / d->num_kv_heads;
    /* 0 means 1/sqrt(D), rounded to fp32 as the core normalises it */
    const double scale = (double)(d->scale > 0.0f ? d->scale : (float)(1.0 / sqrt((double)d->head_dim)));

    memset(scores, 0, (size_t)nqb * (size_t)nkb * sizeof *scores);
    if (rows == 0 || cols == 0) return ELATTN_SUCCESS;
    double *logit = malloc((size_t)cols * sizeof *logit);
    unsigned char *seen = malloc((size_t)cols);
    double *qd = malloc((size_t)len_q * D * sizeof *qd);
    double *kd = malloc((size_t)len_k * D * sizeof *kd);
    if (!logit || !seen || !qd || !kd) {
        free(logit), free(seen), free(qd), free(kd);
        return ELATTN_ERROR_OUT_OF_MEMORY;
    }

    widen_head(d->dtype, k, k0, len_k, d->num_kv_heads, hk, D, kd);
    for (int g = 0; g < group; ++g) {
        const int h = hk * group + g;
        widen_head(d->dtype, q, q0, len_q, d->num_q_heads, h, D, qd);
        for (int i = 0; i < rows; ++i) {
            double row_max = -INFINITY;
            int visible = 0;
            for (int j = 0; j < cols; ++j) {
                seen[j] = (unsigned char)elattn_xattn_col_visible(d->causal, i, j, S, len_q, len_k);
                if (!seen[j]) continue;
                ++visible;
                logit[j] = reshaped_dot(qd, kd, S, D, len_q, len_k, i, j) * scale / S;
                if (logit[j] > row_max) row_max = logit[j];
            }
            if (!visible) continue;
            double denom = 0.0;
            for (int j = 0; j < cols; ++j)
                if (seen[j]) denom += exp(logit[j] - row_max);
            for (int j = 0; j < cols; ++j)
                if (seen[j]) scores[(size_t)(i / cells) * nkb + j / cells] += exp(logit[j] - row_max) / denom;
        }
    }
    free(logit), free(seen), free(qd), free(kd);
    return ELATTN_SUCCESS;
}

void elattn_ref_xattn_select_head(const double *scores, int nqb, int nkb, int causal,
                                  int block_size, int len_q, int len_k, double tau,
                                  uint8_t *mask_head, int mask_kblocks)
{
    for (int qb = 0; qb < nqb; ++qb) {
        const double *row = scores + (size_t)qb * nkb;
        uint8_t *out = mask_head + (size_t)qb * mask_kblocks;
        memset(out, 0, (size_t)mask_kblocks);
        if (nkb == 0) continue;

        double total = 0.0;
        for (int kb = 0; kb < nkb; ++kb) total += row[kb];

        /* forced: key block 0 and the diagonal block */
        const int diag = elattn_xattn_diag_block(qb, block_size, len_q, len_k);
        out[0] = 1;
        out[diag] = 1;
        double kept = row[0] + (diag != 0 ? row[diag] : 0.0);

        /* then the best remaining visible block, while the kept sum is below
         * tau * total. A block is visible when its first key is causally
         * visible from the block row's last query: the column rule of the
         * spec with the block as the stride. */
        for (;;) {
            if (!(kept < tau * total)) break;
            int best = -1;
            for (int kb = 0; kb < nkb; ++kb) {
                if (out[kb] || !elattn_xattn_col_visible(causal, qb, kb, block_size, len_q, len_k))
                    continue;
                if (best < 0 || row[kb] > row[best]) best = kb; /* strict: ties keep the lower index */
            }
            if (best < 0) break;
            out[best] = 1;
            kept += row[best];
        }
    }
}

elattn_status elattn_ref_xattn(const elattn_xattn_desc *d, const void *q, const void *k,
                               const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k,
                               const int32_t *modes, const float *tau_per_kv_head,
                               uint8_t *block_mask, int mask_qblocks, int mask_kblocks)
{
    const int B = d->block_size;
    /* the core checked at plan time that the block-score table fits in size_t */
    double *scores = malloc((size_t)(mask_qblocks > 0 ? mask_qblocks : 1) *
                            (size_t)(mask_kblocks > 0 ? mask_kblocks : 1) * sizeof *scores);
    if (!scores) return ELATTN_ERROR_OUT_OF_MEMORY;

    for (int b = 0; b < d->batch; ++b) {
        const int len_q = cu_seqlens_q[b + 1] - cu_seqlens_q[b];
        const int len_k = cu_seqlens_k[b + 1] - cu_seqlens_k[b];
        const int nqb = ceil_div(len_q, B), nkb = ceil_div(len_k, B);
        for (int hk = 0; hk < d->num_kv_heads; ++hk) {
            if (modes && modes[b * d->num_kv_heads + hk] != ELATTN_MODE_BLOCK_SPARSE) continue;
            uint8_t *head = block_mask + elattn_mask_row(b, hk, 0, d->num_kv_heads, mask_qblocks, mask_kblocks);
            memset(head, 0, (size_t)mask_qblocks * (size_t)mask_kblocks);
            elattn_status st = elattn_ref_xattn_scores(d, q, k, cu_seqlens_q, cu_seqlens_k, b, hk, scores);
            if (st != ELATTN_SUCCESS) {
                free(scores);
                return st;
            }
            elattn_ref_xattn_select_head(scores, nqb, nkb, d->causal, B, len_q, len_k,
                                         (double)tau_per_kv_head[hk], head, mask_kblocks);
        }
    }
    free(scores);
    return ELATTN_SUCCESS;
}

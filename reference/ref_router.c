/*
 * The Attention Router, the definition: per (element, KV head) the mean of
 * the pooled key states, the task MLP, the router MLP, and the class -> mode
 * rule. Weights are PyTorch Linear layout (weight [out][in]).
 */
#include <math.h>
#include <stdlib.h>

#include "elattn_ref.h"

static double silu(double x) { return x / (1.0 + exp(-x)); }

/* y = W x + b, W [n_out][n_in]; optionally SiLU. */
static void linear(const float *w, const float *bias, const double *x, int n_in, int n_out,
                   int apply_silu, double *y)
{
    for (int r = 0; r < n_out; ++r) {
        double s = (double)bias[r];
        for (int c = 0; c < n_in; ++c) s += (double)w[(size_t)r * n_in + c] * x[c];
        y[r] = apply_silu ? silu(s) : s;
    }
}

elattn_status elattn_ref_router(const elattn_router_desc *d, const void *keys,
                                const int32_t *cu_seqlens, const elattn_ref_router_weights *w,
                                float *logits, int32_t *modes)
{
    const int D = d->head_dim, R = d->hidden, Hkv = d->num_kv_heads;
    double *pooled = malloc((size_t)D * sizeof *pooled);
    double *hidden = malloc((size_t)R * sizeof *hidden);
    double *task = malloc((size_t)D * sizeof *task);
    double *feat = malloc((size_t)D * sizeof *feat);
    if (!pooled || !hidden || !task || !feat) {
        free(pooled), free(hidden), free(task), free(feat);
        return ELATTN_ERROR_OUT_OF_MEMORY;
    }

    for (int b = 0; b < d->batch; ++b) {
        const int t0 = cu_seqlens[b], len = cu_seqlens[b + 1] - t0;
        const int count = elattn_router_pool_count(len);
        for (int hk = 0; hk < Hkv; ++hk) {
            /* pooling; an empty element pools to the zero vector */
            for (int x = 0; x < D; ++x) pooled[x] = 0.0;
            for (int t = 0; t < count; ++t) {
                const size_t at = ((size_t)(t0 + elattn_router_pool_token(t, len)) * Hkv + hk) * D;
                for (int x = 0; x < D; ++x) pooled[x] += elattn_ref_load(d->key_dtype, keys, at + x);
            }
            if (count > 0)
                for (int x = 0; x < D; ++x) pooled[x] /= count;

            /* task MLP: Linear(D, R) -> SiLU -> Linear(R, D) */
            linear(w->task_w1, w->task_b1, pooled, D, R, 1, hidden);
            linear(w->task_w2, w->task_b2, hidden, R, D, 0, task);
            /* router MLP: Linear(D, R) -> SiLU -> Linear(R, D) -> SiLU -> Linear(D, 2) */
            linear(w->head_w1, w->head_b1, task, D, R, 1, hidden);
            linear(w->head_w2, w->head_b2, hidden, R, D, 1, feat);
            double out[2];
            linear(w->head_w3, w->head_b3, feat, D, 2, 0, out);

            /* decide on the fp32 logits the caller sees, so the two never disagree */
            const float l0 = (float)out[0], l1 = (float)out[1];
            const size_t e = (size_t)b * Hkv + hk;
            if (logits) {
                logits[2 * e] = l0;
                logits[2 * e + 1] = l1;
            }
            modes[e] = l1 > l0 ? (int32_t)d->retrieval_mode : (int32_t)d->sparse_mode;
        }
    }
    free(pooled), free(hidden), free(task), free(feat);
    return ELATTN_SUCCESS;
}

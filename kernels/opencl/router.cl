/*
 * The Attention Router on the device (spec: the router comment in
 * kernels/elattn_spec.h). One work-group per (element, KV head):
 *   elattn_router_pool: mean of the pooled key states (elattn_router_pool_*);
 *   elattn_router_mlp:  task MLP, router MLP, logits and the decision, written
 *                       as the mode itself so only [batch][Hkv] ints go back.
 * The MLPs are tiny (about 0.26 M weights) and run once per prompt; one
 * work-group per row with the activations in local memory is plenty.
 *
 * Compile-time: ELATTN_WG, ELATTN_STORAGE (the key dtype),
 * ELATTN_ROUTER_MAX_HIDDEN (local activation buffer, >= hidden).
 */
#define WG ELATTN_WG

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_router_pool(const __global elattn_elem *keys, const __global int *meta, const int cu_at,
                   const int Hkv, const int D, __global float *workspace, const int pooled_at)
{
    __global float *pooled = workspace + pooled_at;
    const int row = get_group_id(0); /* b * Hkv + hk */
    const int b = row / Hkv, hk = row % Hkv;
    const int t0 = meta[cu_at + b], len = meta[cu_at + b + 1] - t0;
    const int count = elattn_router_pool_count(len);
    for (int x = get_local_id(0); x < D; x += WG) {
        float sum = 0.0f;
        for (int t = 0; t < count; ++t)
            sum += elattn_load(keys, ((size_t)(t0 + elattn_router_pool_token(t, len)) * Hkv + hk) * D + x);
        pooled[(size_t)row * D + x] = count > 0 ? sum / (float)count : 0.0f;
    }
}

static inline float silu(float x) { return x / (1.0f + exp(-x)); }

/* y = W x + b (W [n_out][n_in]), optionally SiLU; x and y in local memory.
 * always_inline: PoCL 3.1 mishandles barriers in functions it does not inline. */
static inline __attribute__((always_inline)) void linear(const __global float *w, const __global float *bias, const __local float *x, int n_in,
                   int n_out, int apply_silu, __local float *y)
{
    for (int r = get_local_id(0); r < n_out; r += WG) {
        const __global float *wr = w + (size_t)r * n_in;
        float s = bias[r];
        for (int c = 0; c < n_in; ++c) s = fma(wr[c], x[c], s);
        y[r] = apply_silu ? silu(s) : s;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_router_mlp(const __global float *workspace, const int pooled_at, const int D, const int R,
                  const __global float *task_w1, const __global float *task_b1,
                  const __global float *task_w2, const __global float *task_b2,
                  const __global float *head_w1, const __global float *head_b1,
                  const __global float *head_w2, const __global float *head_b2,
                  const __global float *head_w3, const __global float *head_b3,
                  __global float *logits, const int write_logits, const int retrieval_mode,
                  const int sparse_mode, __global int *decisions, const int modes_at)
{
    const __global float *pooled = workspace + pooled_at;
    __global int *modes = decisions + modes_at;
    __local float xin[ELATTN_MAX_HEAD_DIM];
    __local float hid[ELATTN_ROUTER_MAX_HIDDEN];
    __local float feat[ELATTN_MAX_HEAD_DIM];
    __local float out[2];
    const int row = get_group_id(0);
    for (int x = get_local_id(0); x < D; x += WG) xin[x] = pooled[(size_t)row * D + x];
    barrier(CLK_LOCAL_MEM_FENCE);

    linear(task_w1, task_b1, xin, D, R, 1, hid);   /* task MLP */
    linear(task_w2, task_b2, hid, R, D, 0, feat);
    linear(head_w1, head_b1, feat, D, R, 1, hid);  /* router MLP */
    linear(head_w2, head_b2, hid, R, D, 1, xin);
    linear(head_w3, head_b3, xin, D, 2, 0, out);

    if (get_local_id(0) == 0) {
        if (write_logits) {
            logits[2 * row] = out[0];
            logits[2 * row + 1] = out[1];
        }
        modes[row] = out[1] > out[0] ? retrieval_mode : sparse_mode;
    }
}

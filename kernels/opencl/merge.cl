/*
 * elattn_merge_states: one work-item per output value; the weights come from
 * the spec's elattn_merge_weights. Compile-time: ELATTN_STORAGE.
 */
__kernel void elattn_merge_states(const __global elattn_elem *o1, const __global float *lse1,
                                  const __global elattn_elem *o2, const __global float *lse2,
                                  __global elattn_elem *o, __global float *lse, const int write_lse,
                                  const int head_dim, const ulong total)
{
    const size_t x = get_global_id(0);
    if (x >= total) return;
    const size_t row = x / (size_t)head_dim;
    float w1, w2;
    const float merged = elattn_merge_weights(lse1[row], lse2[row], &w1, &w2);
    elattn_store(o, x, w1 * elattn_load(o1, x) + w2 * elattn_load(o2, x));
    if (write_lse && x % (size_t)head_dim == 0) lse[row] = merged;
}

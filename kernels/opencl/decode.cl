/*
 * Decode over the per-head KV cache (kernels/SPEC.md section 9), scalar fp32: correctness
 * first. Two passes:
 *   elattn_decode_partial: one work-item per (new token, query head, split-KV chunk): the
 *     online softmax over the visible keys among the chunk's slots (elattn_decode_split,
 *     elattn_kv_position_of, elattn_decode_visible, elattn_kv_slot_offset), the epilogue
 *     rule for O and LSE (an empty chunk: O = 0, LSE = -inf), written as fp32 partials;
 *   elattn_decode_merge: one work-item per output value: the chunks merged in chunk order
 *     with elattn_merge_weights, O rounded once to the storage dtype.
 * Compile-time: ELATTN_STORAGE. meta: int32 [cu_new: num_seqs + 1][lengths: num_seqs]
 * [seq_ids: num_seqs][modes: num_seqs * Hkv][chunks: num_seqs * Hkv]. `splits` is the most
 * chunks of any head; a head cut into fewer has empty chunks past its own (elattn_decode_split
 * gives them no slots), which merge as nothing.
 */
#define DECODE_MAX_D ELATTN_MAX_HEAD_DIM

__kernel void elattn_decode_partial(const __global elattn_elem *q, const __global elattn_elem *k_pool,
                                    const __global elattn_elem *v_pool, const __global int *page_table,
                                    const __global int *meta, __global float *part_o, __global float *part_lse,
                                    const int num_seqs, const int num_q_heads, const int num_kv_heads,
                                    const int head_dim, const float scale_log2, const int sink, const int window,
                                    const int ring, const int page_shift, const int pages_per_head,
                                    const int splits, const int total_new)
{
    const size_t x = get_global_id(0);
    if (x >= (size_t)total_new * num_q_heads * splits) return;
    const int c = (int)(x % (size_t)splits);
    const int h = (int)((x / (size_t)splits) % (size_t)num_q_heads);
    const int row = (int)(x / ((size_t)splits * num_q_heads));
    const __global int *cu_new = meta, *lengths = meta + num_seqs + 1, *seq_ids = lengths + num_seqs,
                       *modes = seq_ids + num_seqs, *chunks = modes + num_seqs * num_kv_heads;
    int i = 0;
    while (i + 1 < num_seqs && cu_new[i + 1] <= row) ++i;
    const int len = lengths[i], n = cu_new[i + 1] - cu_new[i];
    const long pos = (long)len - n + (row - cu_new[i]);
    const int hk = h / (num_q_heads / num_kv_heads), mode = modes[i * num_kv_heads + hk];
    const __global int *pages = page_table + ((long)seq_ids[i] * num_kv_heads + hk) * pages_per_head;
    long s0, s1;
    elattn_decode_split(elattn_kv_slots(mode, sink, ring, len), chunks[i * num_kv_heads + hk], c, &s0, &s1);

    const long qoff = ((long)row * num_q_heads + h) * head_dim;
    float acc[DECODE_MAX_D];
    for (int d = 0; d < head_dim; ++d) acc[d] = 0.0f;
    float m = -INFINITY, l = 0.0f; /* m in log2 units, as the spec's epilogue expects */
    for (long s = s0; s < s1; ++s) {
        const long t = elattn_kv_position_of(mode, sink, ring, len, s);
        if (!elattn_decode_visible(mode, pos, t, sink, window)) continue;
        const long koff = elattn_kv_slot_offset(pages, page_shift, head_dim, s);
        float dot = 0.0f;
        for (int d = 0; d < head_dim; ++d) dot += elattn_load(q, qoff + d) * elattn_load(k_pool, koff + d);
        const float sc = dot * scale_log2, nm = fmax(m, sc);
        const float f = exp2(m - elattn_softmax_base(nm)), w = exp2(sc - nm);
        for (int d = 0; d < head_dim; ++d) acc[d] = acc[d] * f + w * elattn_load(v_pool, koff + d);
        l = l * f + w;
        m = nm;
    }
    const float inv = elattn_row_inv_sum(l);
    for (int d = 0; d < head_dim; ++d) part_o[x * head_dim + d] = acc[d] * inv;
    part_lse[x] = elattn_row_lse(m, l);
}

__kernel void elattn_decode_merge(const __global float *part_o, const __global float *part_lse,
                                  __global elattn_elem *o, __global float *lse, const int write_lse,
                                  const int head_dim, const int splits, const ulong total)
{
    const size_t x = get_global_id(0); /* (row, head, d) */
    if (x >= total) return;
    const size_t rh = x / (size_t)head_dim, d = x % (size_t)head_dim;
    float acc = 0.0f, merged = -INFINITY;
    for (int c = 0; c < splits; ++c) {
        float w_all, w_c;
        const float lse_c = part_lse[rh * splits + c];
        const float next = elattn_merge_weights(merged, lse_c, &w_all, &w_c);
        acc = w_all * acc + w_c * part_o[(rh * splits + c) * head_dim + d];
        merged = next;
    }
    elattn_store(o, x, acc);
    if (write_lse && d == 0) lse[rh] = merged;
}

/*
 * Decode over the per-head KV cache (kernels/SPEC.md section 9), scalar fp32: correctness
 * first. Two passes:
 *   elattn_decode_partial: one work-item per (new token, query head, split-KV chunk): the
 *     online softmax over the visible keys among the chunk's slots (elattn_decode_split,
 *     elattn_kv_position_of, elattn_decode_visible, elattn_kv_slot_offset), the epilogue
 *     rule for O and LSE (an empty chunk: O = 0, LSE = -inf), written as fp32 partials;
 *   elattn_decode_merge: one work-item per output value: the chunks merged in chunk order
 *     with elattn_merge_weights, O rounded once to the storage dtype.
 * With a page budget (Quest, SPEC.md section 9b) three passes come first, for the BLOCK_SPARSE heads:
 *   elattn_quest_score: one work-item per (sequence, KV head, page): a candidate page's score;
 *   elattn_quest_keep: the same items: whether the page is read (fewer than `budget` candidates
 *     rank before it, or it is page 0 or in the tail);
 *   elattn_quest_compact: one work-item per (sequence, KV head): the kept pages in order, and the
 *     length of the FULL head they make, which elattn_decode_partial then reads instead.
 * elattn_kv_summarize keeps the pages' key summaries (called by the cache's appends).
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
                                    const int splits, const int total_new, const __global int *quest_pages,
                                    const __global int *quest_len, const int page_budget)
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
    const int n = cu_new[i + 1] - cu_new[i];
    const int hk = h / (num_q_heads / num_kv_heads);
    int len = lengths[i], mode = modes[i * num_kv_heads + hk];
    const __global int *pages = page_table + ((long)seq_ids[i] * num_kv_heads + hk) * pages_per_head;
    if (page_budget && mode == ELATTN_MODE_BLOCK_SPARSE) { /* the FULL head over Quest's pages (section 9b) */
        pages = quest_pages + ((long)i * num_kv_heads + hk) * pages_per_head;
        len = quest_len[i * num_kv_heads + hk];
        mode = ELATTN_MODE_FULL;
    }
    const long pos = (long)len - n + (row - cu_new[i]);
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

/* Quest's page summaries: one work-item per (listed page, dimension). list: int32 [pages: count]
 * [rows: count]; summaries fp32 [num_pages][2][D] (minimum, then maximum). */
__kernel void elattn_kv_summarize(const __global elattn_elem *k_pool, __global float *summaries,
                                  const __global int *list, const int count, const int head_dim,
                                  const int page_shift)
{
    const size_t x = get_global_id(0);
    if (x >= (size_t)count * head_dim) return;
    const int i = (int)(x / (size_t)head_dim), d = (int)(x % (size_t)head_dim);
    const int page = list[i], rows = list[count + i];
    const long first = ((long)page << page_shift) * head_dim + d;
    float lo = elattn_load(k_pool, first), hi = lo;
    for (int r = 1; r < rows; ++r) {
        const float v = elattn_load(k_pool, first + (long)r * head_dim);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    summaries[(long)page * 2 * head_dim + d] = lo;
    summaries[((long)page * 2 + 1) * head_dim + d] = hi;
}

/* The (sequence i, KV head hk, page j) of a Quest work-item, and whether its head selects pages. */
static int quest_item(const __global int *meta, const int num_seqs, const int num_kv_heads, const int pages_per_head,
                      const size_t x, int *i, int *hk, int *j)
{
    const __global int *modes = meta + 3 * num_seqs + 1;
    *j = (int)(x % (size_t)pages_per_head);
    *hk = (int)((x / (size_t)pages_per_head) % (size_t)num_kv_heads);
    *i = (int)(x / ((size_t)pages_per_head * num_kv_heads));
    return modes[*i * num_kv_heads + *hk] == ELATTN_MODE_BLOCK_SPARSE;
}

__kernel void elattn_quest_score(const __global elattn_elem *q, const __global float *summaries,
                                 const __global int *page_table, const __global int *meta, __global float *scores,
                                 const int num_seqs, const int num_q_heads, const int num_kv_heads, const int head_dim,
                                 const int page_shift, const int pages_per_head)
{
    const size_t x = get_global_id(0);
    int i, hk, j;
    if (x >= (size_t)num_seqs * num_kv_heads * pages_per_head ||
        !quest_item(meta, num_seqs, num_kv_heads, pages_per_head, x, &i, &hk, &j))
        return;
    const __global int *cu_new = meta, *lengths = meta + num_seqs + 1, *seq_ids = lengths + num_seqs;
    const int n = cu_new[i + 1] - cu_new[i];
    if (j < 1 || j >= elattn_quest_tail(lengths[i], n, page_shift)) return; /* not a candidate */
    const int page = page_table[((long)seq_ids[i] * num_kv_heads + hk) * pages_per_head + j];
    const __global float *lo = summaries + (long)page * 2 * head_dim, *hi = lo + head_dim;
    const int group = num_q_heads / num_kv_heads;
    float score = 0.0f; /* the spec's order: new token, then query head, then dimension */
    for (int r = 0; r < n; ++r)
        for (int g = 0; g < group; ++g) {
            const long qoff = ((long)(cu_new[i] + r) * num_q_heads + (long)hk * group + g) * head_dim;
            for (int d = 0; d < head_dim; ++d) score += elattn_quest_term(elattn_load(q, qoff + d), lo[d], hi[d]);
        }
    scores[x] = score;
}

__kernel void elattn_quest_keep(const __global float *scores, const __global int *meta, __global int *keep,
                                const int num_seqs, const int num_kv_heads, const int page_shift,
                                const int pages_per_head, const int budget)
{
    const size_t x = get_global_id(0);
    int i, hk, j;
    if (x >= (size_t)num_seqs * num_kv_heads * pages_per_head ||
        !quest_item(meta, num_seqs, num_kv_heads, pages_per_head, x, &i, &hk, &j))
        return;
    const __global int *cu_new = meta, *lengths = meta + num_seqs + 1;
    const long tail = elattn_quest_tail(lengths[i], cu_new[i + 1] - cu_new[i], page_shift);
    int kept = j == 0 || j >= tail;
    if (!kept) {
        const __global float *head = scores + (x - (size_t)j);
        int before = 0;
        for (int c = 1; c < tail && before < budget; ++c) before += elattn_quest_before(head[c], c, head[j], j);
        kept = before < budget;
    }
    keep[x] = kept;
}

__kernel void elattn_quest_compact(const __global int *page_table, const __global int *meta, const __global int *keep,
                                   __global int *quest_pages, __global int *quest_len, const int num_seqs,
                                   const int num_kv_heads, const int page_shift, const int pages_per_head,
                                   const int budget)
{
    const size_t e = get_global_id(0); /* (sequence, KV head) */
    int i, hk, j0;
    if (e >= (size_t)num_seqs * num_kv_heads ||
        !quest_item(meta, num_seqs, num_kv_heads, pages_per_head, e * (size_t)pages_per_head, &i, &hk, &j0))
        return;
    const __global int *cu_new = meta, *lengths = meta + num_seqs + 1, *seq_ids = lengths + num_seqs;
    const int len = lengths[i], n = cu_new[i + 1] - cu_new[i];
    const __global int *pages = page_table + ((long)seq_ids[i] * num_kv_heads + hk) * pages_per_head;
    const int end = (int)(((long)len + (1L << page_shift) - 1) >> page_shift);
    int count = 0;
    for (int j = 0; j < end; ++j)
        if (keep[e * pages_per_head + j]) quest_pages[e * pages_per_head + count++] = pages[j];
    quest_len[e] = (int)elattn_quest_length(len, n, page_shift, budget);
}

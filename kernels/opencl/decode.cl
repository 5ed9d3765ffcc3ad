/*
 * Decode over the per-head KV cache (kernels/SPEC.md section 9), fp32 arithmetic. Two passes:
 *   the partials: elattn_decode_tiled (decode_tiled.cl, family `tiled`: work-groups that read each
 *     K/V row once for the query heads of a group, at memory bandwidth) or elattn_decode_partial
 *     (family `scalar`, correctness first): one work-item per (new token, query head, split-KV chunk): the
 *     online softmax over the visible keys among the chunk's slots (elattn_decode_split,
 *     elattn_kv_position_of, elattn_decode_visible, elattn_kv_slot_offset), the epilogue
 *     rule for O and LSE (an empty chunk: O = 0, LSE = -inf), written as fp32 partials;
 *   the merge: the chunks merged at once (elattn_merge_scale, elattn_merge_lse), O rounded once to
 *     the storage dtype: by the tiled kernel itself (its row tile's last work-group to finish) for
 *     heads of up to merge_chunks chunks, else elattn_decode_merge, one work-group per (row, query
 *     head); the scalar family always uses elattn_decode_merge.
 * With a page budget (Quest, SPEC.md section 9b) two passes come first, for the BLOCK_SPARSE heads:
 *   elattn_quest_score: one work-item per (sequence, KV head, page): a candidate page's score, as
 *     an order-preserving unsigned key;
 *   elattn_quest_select: one work-group per (sequence, KV head): the budget's threshold key (radix
 *     select), then the kept pages in order and the length of the FULL head they make, which
 *     elattn_decode_partial then reads instead.
 * elattn_kv_summarize keeps the pages' key summaries (called by the cache's appends).
 * Compile-time: ELATTN_STORAGE. meta: int32 [cu_new: num_seqs + 1][lengths: num_seqs]
 * [seq_ids: num_seqs][modes: num_seqs * Hkv][chunks: num_seqs * Hkv]. `splits` is the most
 * chunks of any head, the partials' stride; a head cut into fewer has slots past its own chunks
 * that no pass writes and the merge does not read.
 */
#define DECODE_MAX_D ELATTN_MAX_HEAD_DIM

/* Sequence i's KV head hk as the step reads it: its page-table row, cached length (*len) and mode
 * (*mode); with a page budget a BLOCK_SPARSE head is the FULL head over Quest's pages (section 9b). */
static const __global int *decode_head_of(const __global int *meta, const __global int *page_table,
                                          const __global int *quest_pages, const __global int *quest_len,
                                          const int num_seqs, const int num_kv_heads, const int pages_per_head,
                                          const int page_budget, const int i, const int hk, int *len, int *mode)
{
    const __global int *lengths = meta + num_seqs + 1, *seq_ids = lengths + num_seqs, *modes = seq_ids + num_seqs;
    *mode = modes[i * num_kv_heads + hk];
    if (page_budget && *mode == ELATTN_MODE_BLOCK_SPARSE) {
        *len = quest_len[i * num_kv_heads + hk];
        *mode = ELATTN_MODE_FULL;
        return quest_pages + ((long)i * num_kv_heads + hk) * pages_per_head;
    }
    *len = lengths[i];
    return page_table + ((long)seq_ids[i] * num_kv_heads + hk) * pages_per_head;
}

/* The sequence whose new tokens hold row `row` of the step (cu_new: the rows' offsets per sequence). */
static int decode_seq_of_row(const __global int *cu_new, const int num_seqs, const int row)
{
    int i = 0;
    while (i + 1 < num_seqs && cu_new[i + 1] <= row) ++i;
    return i;
}

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
    const __global int *cu_new = meta, *chunks = meta + 3 * num_seqs + 1 + num_seqs * num_kv_heads;
    const int i = decode_seq_of_row(cu_new, num_seqs, row);
    const int n = cu_new[i + 1] - cu_new[i];
    const int hk = h / (num_q_heads / num_kv_heads);
    if (c >= chunks[i * num_kv_heads + hk]) return; /* past the head's own chunks: the merge reads none */
    int len, mode;
    const __global int *pages = decode_head_of(meta, page_table, quest_pages, quest_len, num_seqs, num_kv_heads,
                                               pages_per_head, page_budget, i, hk, &len, &mode);
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

/* The spec's n-way merge of one (row, query head) of a cut head (elattn_merge_scale /
 * elattn_merge_lse), in pieces that elattn_decode_merge and the tiled kernel's fused merge
 * (decode_tiled.cl) share: the largest LSE, then the weighted sum, whose loads do not wait on each
 * other (a fold in chunk order waited on each chunk's loads in turn: ~110 round trips for a head cut
 * into 110 chunks). MERGE_BATCH chunks' loads are issued before any is used. The partials may have
 * been written by other work-groups of the same launch (the fused merge), so they are read past
 * NVIDIA's L1, which is not coherent between work-groups (ld.global.cg), and as volatile elsewhere. */
#define MERGE_BATCH 8
static inline float merge_load(const __global float *p)
{
#ifdef ELATTN_NV_PTX
    float v;
    __asm__ __volatile__("ld.global.cg.f32 %0, [%1];" : "=f"(v) : "l"((ulong)p) : "memory");
    return v;
#else
    return *(const volatile __global float *)p;
#endif
}

static inline float4 merge_load4(const __global float4 *p)
{
#ifdef ELATTN_NV_PTX
    float4 v;
    __asm__ __volatile__("ld.global.cg.v4.f32 {%0, %1, %2, %3}, [%4];"
                         : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w)
                         : "l"((ulong)p)
                         : "memory");
    return v;
#else
    return *(const volatile __global float4 *)p;
#endif
}

/* Orders this work-item's global stores before its later accesses for every work-group of the
 * device (the fused merge's count and reads): membar.gl on NVIDIA, so that it does not depend on how
 * the driver maps OpenCL 1.2's mem_fence; mem_fence elsewhere. */
static inline void merge_device_fence(void)
{
#ifdef ELATTN_NV_PTX
    __asm__ __volatile__("membar.gl;" ::: "memory");
#else
    mem_fence(CLK_GLOBAL_MEM_FENCE);
#endif
}

/* The largest of the LSEs lse_c[c] of chunks c = first, first + step, ... below own. */
static float merge_max(const __global float *lse_c, int first, int step, int own)
{
    float m = -INFINITY;
    for (int c0 = first; c0 < own; c0 += MERGE_BATCH * step) {
        float l[MERGE_BATCH];
#pragma unroll
        for (int j = 0; j < MERGE_BATCH; ++j) l[j] = c0 + j * step < own ? merge_load(lse_c + c0 + j * step) : -INFINITY;
#pragma unroll
        for (int j = 0; j < MERGE_BATCH; ++j) m = fmax(m, l[j]);
    }
    return m;
}

/* Adds the weighted partials of the same chunks to *acc (one float4 of O: po points at chunk 0's,
 * chunks `quads` float4 apart) and their weights to *sum, given the largest LSE m. */
static void merge_add(const __global float *lse_c, const __global float4 *po, int quads, int first, int step, int own,
                      float m, float *sum, float4 *acc)
{
    for (int c0 = first; c0 < own; c0 += MERGE_BATCH * step) {
        float l[MERGE_BATCH];
        float4 part[MERGE_BATCH];
#pragma unroll
        for (int j = 0; j < MERGE_BATCH; ++j) { /* a batch's loads first, then their use */
            const int c = c0 + j * step;
            l[j] = c < own ? merge_load(lse_c + c) : -INFINITY; /* weight 0 */
            part[j] = c < own ? merge_load4(po + (size_t)c * quads) : (float4)(0.0f);
        }
#pragma unroll
        for (int j = 0; j < MERGE_BATCH; ++j) {
            const float w = elattn_merge_scale(l[j], m);
            *sum += w;
            *acc += w * part[j];
        }
    }
}

/* Output row rh's float4 dq of O from the merged sums (O = 0 when every chunk was empty), and its
 * LSE with write_lse (once, from dq 0). */
static void merge_write(__global elattn_elem *o, __global float *lse, int write_lse, size_t rh, int head_dim, int dq,
                        float4 acc, float sum, float m)
{
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    const size_t out = rh * (size_t)head_dim + 4 * (size_t)dq;
    elattn_store(o, out, acc.x * inv);
    elattn_store(o, out + 1, acc.y * inv);
    elattn_store(o, out + 2, acc.z * inv);
    elattn_store(o, out + 3, acc.w * inv);
    if (write_lse && dq == 0) lse[rh] = elattn_merge_lse(m, sum);
}

/* One work-group per (row, query head) of a head cut into more than merge_chunks chunks (those of
 * up to merge_chunks were merged by the partial pass, decode_tiled.cl; the scalar family passes 0).
 * The largest LSE from a reduction over the chunks; then D / 4 lanes a chunk group, a float4 of O
 * each, the work-group's whole chunk groups taking every G-th chunk of the head's own (the partial
 * passes write none past them); their sums are added in chunk-group order through local memory. */
__kernel __attribute__((reqd_work_group_size(ELATTN_WG, 1, 1)))
void elattn_decode_merge(const __global float *part_o, const __global float *part_lse, __global elattn_elem *o,
                         __global float *lse, const int write_lse, const int head_dim, const int splits,
                         const __global int *meta, const int num_seqs, const int num_q_heads, const int num_kv_heads,
                         const int merge_chunks)
{
    __local float red[ELATTN_WG], sums[ELATTN_WG];
    __local float4 accs[ELATTN_WG];
    const size_t rh = get_group_id(0);
    const int lid = (int)get_local_id(0);
    /* The head's own chunks (its partials are `splits` apart, the step's most-cut head's count). */
    const int row = (int)(rh / (size_t)num_q_heads), h = (int)(rh % (size_t)num_q_heads);
    const __global int *chunks = meta + 3 * num_seqs + 1 + num_seqs * num_kv_heads;
    const int own = chunks[decode_seq_of_row(meta, num_seqs, row) * num_kv_heads + h / (num_q_heads / num_kv_heads)];
    /* A head merged by the partial pass: the work-group does nothing, but it reaches the barriers
     * (PoCL 3.1 gave wrong results in most decode cases when it returned here; 2.10 miscompiled
     * elattn_quest_select below alike). */
    const int mine = own > merge_chunks ? own : 0;
    const __global float *lse_c = part_lse + rh * (size_t)splits;
    red[lid] = merge_max(lse_c, lid, ELATTN_WG, mine);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = ELATTN_WG / 2; step > 0; step >>= 1) {
        if (lid < step) red[lid] = fmax(red[lid], red[lid + step]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float m = red[0];
    const int quads = head_dim / 4, groups = ELATTN_WG / quads, g = lid / quads, dq = lid % quads;
    float sum = 0.0f;
    float4 acc = (float4)(0.0f);
    if (g < groups)
        merge_add(lse_c, (const __global float4 *)(part_o + rh * (size_t)splits * head_dim) + dq, quads, g, groups, mine,
                  m, &sum, &acc);
    accs[lid] = acc;
    sums[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (g == 0 && mine) {
        for (int x = 1; x < groups; ++x) {
            acc += accs[x * quads + dq];
            sum += sums[x * quads + dq];
        }
        merge_write(o, lse, write_lse, rh, head_dim, dq, acc, sum, m);
    }
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

#if ELATTN_QUEST_LANES != 8
#error "elattn_quest_score reads a page's bounds eight dimensions (one vload8) at a time"
#endif
#define QUEST_PAIRS 4 /* the score's (new token, query head) sums that share one read of a page's bounds */

/* A score as a key: unsigned order = elattn_quest_before's order of scores (higher key first);
 * NaN as -inf, -0 as +0 (equal scores must give equal keys, so that the page order breaks the tie). */
static uint quest_key(float s)
{
    if (isnan(s)) s = -INFINITY;
    if (s == 0.0f) s = 0.0f;
    const uint u = as_uint(s);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__kernel void elattn_quest_score(const __global elattn_elem *q, const __global float *summaries,
                                 const __global int *page_table, const __global int *meta, __global uint *keys,
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
    const int group = num_q_heads / num_kv_heads, pairs = n * group;
    float score = 0.0f;
    /* The spec's order: per (new token r, query head g), lane l adds the terms of d = l, l + 8, ... in
     * turn; the joined lanes are added r outer, g inner. QUEST_PAIRS pairs at a time share each read
     * of the bounds (the d loop outside the pairs changes no lane's order of additions), as
     * kernels/gpu/decode_quest.cuh's score kernel does. */
    for (int p0 = 0; p0 < pairs; p0 += QUEST_PAIRS) {
        long qoff[QUEST_PAIRS];
        float lane[QUEST_PAIRS][ELATTN_QUEST_LANES];
        for (int p = 0; p < QUEST_PAIRS; ++p) {
            const int r = (p0 + p) / group, g = (p0 + p) % group;
            qoff[p] = ((long)(cu_new[i] + r) * num_q_heads + (long)hk * group + g) * head_dim;
            for (int l = 0; l < ELATTN_QUEST_LANES; ++l) lane[p][l] = 0.0f;
        }
        for (int d = 0; d < head_dim; d += ELATTN_QUEST_LANES) {
            const float8 kmin = vload8(0, lo + d), kmax = vload8(0, hi + d);
            const float kmin_l[ELATTN_QUEST_LANES] = {kmin.s0, kmin.s1, kmin.s2, kmin.s3,
                                                      kmin.s4, kmin.s5, kmin.s6, kmin.s7};
            const float kmax_l[ELATTN_QUEST_LANES] = {kmax.s0, kmax.s1, kmax.s2, kmax.s3,
                                                      kmax.s4, kmax.s5, kmax.s6, kmax.s7};
            for (int p = 0; p < QUEST_PAIRS; ++p)
                if (p0 + p < pairs)
                    for (int l = 0; l < ELATTN_QUEST_LANES; ++l)
                        lane[p][l] += elattn_quest_term(elattn_load(q, qoff[p] + d + l), kmin_l[l], kmax_l[l]);
        }
        for (int p = 0; p < QUEST_PAIRS; ++p)
            if (p0 + p < pairs) score += elattn_quest_join(lane[p]);
    }
    keys[x] = quest_key(score);
}

/* Exclusive prefix sum of v over the work-group (ELATTN_WG items) into excl, the sum into total,
 * through the local array scratch. Every work-item must reach it. A macro, not a function: PoCL 2.10's
 * LLVM 15 crashes inlining a function that takes a __local pointer and holds barriers. */
#define QUEST_GROUP_SCAN(v, scratch, excl, total)                                                           \
    do {                                                                                                     \
        const int t_ = (int)get_local_id(0), v_ = (v);                                                       \
        scratch[t_] = v_;                                                                                    \
        barrier(CLK_LOCAL_MEM_FENCE);                                                                        \
        for (int o_ = 1; o_ < ELATTN_WG; o_ <<= 1) { /* Hillis-Steele: inclusive sums */                     \
            const int add_ = t_ >= o_ ? scratch[t_ - o_] : 0;                                                \
            barrier(CLK_LOCAL_MEM_FENCE);                                                                    \
            scratch[t_] += add_;                                                                             \
            barrier(CLK_LOCAL_MEM_FENCE);                                                                    \
        }                                                                                                    \
        excl = scratch[t_] - v_;                                                                             \
        total = scratch[ELATTN_WG - 1];                                                                      \
        barrier(CLK_LOCAL_MEM_FENCE); /* scratch is reused by the next scan */                              \
    } while (0)

/* One work-group per (sequence, KV head): the budget's B-th largest key by a radix select (four
 * passes of 8 bits over local histograms), then the kept pages in page order (two scans; the
 * candidates equal to the threshold go to the lower pages) and the FULL length they make. The algorithm of kernels/gpu/decode_quest.cuh (decode_quest_select_kernel), run here on
 * every OpenCL device. */
#if ELATTN_WG > 256 || 256 % ELATTN_WG != 0
#error "elattn_quest_select spreads its 256 radix digits evenly over the work-group"
#endif
__kernel __attribute__((reqd_work_group_size(ELATTN_WG, 1, 1)))
void elattn_quest_select(const __global uint *keys, const __global int *page_table, const __global int *meta,
                         __global int *quest_pages, __global int *quest_len, const int num_seqs,
                         const int num_kv_heads, const int page_shift, const int pages_per_head, const int budget)
{
    __local int hist[256];
    __local int scan[ELATTN_WG];
    __local uint s_bcast[2]; /* thread 0's prefix and need, to the group */
    const int e = (int)get_group_id(0), t = (int)get_local_id(0);
    int i, hk, page0;
    /* Not an early return for a head that is not BLOCK_SPARSE: it runs the barriers with nothing to do.
     * PoCL 2.10 miscompiled this kernel (wrong pages, right with -cl-opt-disable) when the group
     * returned before its barriers on a condition read from memory. */
    const int active = quest_item(meta, num_seqs, num_kv_heads, pages_per_head, (size_t)e * pages_per_head, &i,
                                  &hk, &page0);
    const __global int *cu_new = meta, *lengths = meta + num_seqs + 1, *seq_ids = lengths + num_seqs;
    const int len = active ? lengths[i] : 0, n = active ? cu_new[i + 1] - cu_new[i] : 0;
    const int tail = (int)elattn_quest_tail(len, n, page_shift);
    const int end = (int)(((long)len + (1L << page_shift) - 1) >> page_shift);
    const int candidates = tail > 1 ? tail - 1 : 0;
    const __global uint *key = keys + (size_t)e * pages_per_head;

    uint prefix = 0, mask = 0;
    int need = budget;
    if (candidates > budget) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            for (int b = t; b < 256; b += ELATTN_WG) hist[b] = 0;
            barrier(CLK_LOCAL_MEM_FENCE);
            /* Counted in runs of one digit: the first passes see few distinct digits (scores of one
             * magnitude), and one atomic per key would queue every item on the same counter. */
            int run_digit = -1, run_count = 0;
            for (int j = 1 + t; j < tail; j += ELATTN_WG) {
                const uint k = key[j];
                if ((k & mask) != prefix) continue;
                const int digit = (int)((k >> shift) & 255u);
                if (digit != run_digit) {
                    if (run_count) atomic_add(&hist[run_digit], run_count);
                    run_digit = digit, run_count = 0;
                }
                ++run_count;
            }
            if (run_count) atomic_add(&hist[run_digit], run_count);
            barrier(CLK_LOCAL_MEM_FENCE);
            /* The digit where the B-th largest falls, from the top: each work-item sums its run of
             * 256 / ELATTN_WG digits (item 0 the highest), a scan gives the keys above its run, and
             * the one item whose run holds the B-th walks it. */
            const int top = 255 - t * (256 / ELATTN_WG);
            int run = 0, above, unused;
            for (int b = 0; b < 256 / ELATTN_WG; ++b) run += hist[top - b];
            QUEST_GROUP_SCAN(run, scan, above, unused);
            if (above < need && need <= above + run) {
                int digit = top, left = need - above;
                while (left > hist[digit]) left -= hist[digit--];
                s_bcast[0] = prefix | ((uint)digit << shift);
                s_bcast[1] = (uint)left;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            prefix = s_bcast[0], need = (int)s_bcast[1];
            mask |= 255u << shift;
            barrier(CLK_LOCAL_MEM_FENCE); /* hist and the broadcast are rewritten by the next pass */
        }
    }
    const int all = candidates <= budget;

    /* The kept pages in page order: each work-item walks a contiguous run of pages three times (its
     * candidates equal to T; then, knowing the ties before its run, which pages it keeps; then
     * their places), with two scans in between. A candidate equal to T is kept while fewer than
     * `need` lower ones were. */
    const __global int *pages = page_table + ((long)seq_ids[i] * num_kv_heads + hk) * pages_per_head;
    __global int *out = quest_pages + (size_t)e * pages_per_head;
    const int per = (end + ELATTN_WG - 1) / ELATTN_WG; /* the same trip count in every work-item (below) */
    int ties = 0, tie_rank, kept = 0, at, unused;
    for (int q = 0, j = t * per; q < per; ++q, ++j)
        ties += j >= 1 && j < tail && !all && key[j] == prefix;
    QUEST_GROUP_SCAN(ties, scan, tie_rank, unused);
    for (int q = 0, j = t * per, r = tie_rank; q < per; ++q, ++j) {
        const int candidate = j >= 1 && j < tail && !all;
        const uint k = candidate ? key[j] : 0u;
        kept += j < end && (!candidate || k > prefix || (k == prefix && r < need));
        r += candidate && k == prefix;
    }
    QUEST_GROUP_SCAN(kept, scan, at, unused);
    for (int q = 0, j = t * per, r = tie_rank; q < per; ++q, ++j) { /* the third walk decides as the second did */
        const int candidate = j >= 1 && j < tail && !all;
        const uint k = candidate ? key[j] : 0u;
        if (j < end && (!candidate || k > prefix || (k == prefix && r < need))) out[at++] = pages[j];
        r += candidate && k == prefix;
    }
    if (t == 0 && active) quest_len[e] = (int)elattn_quest_length(len, n, page_shift, budget);
}

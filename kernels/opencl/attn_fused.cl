/*
 * Fused hybrid-head attention: one launch for every (element, head, query
 * tile) of a call, whatever each head's mode.
 *
 * Work: work-group g takes item g of the host's work list (backends/common/worklist.h,
 * longest first). An item is (b, head chunk, query tile). A chunk is
 * ELATTN_HEADS_PER_TILE query heads of one KV group, and a tile's
 * ELATTN_TILE_M rows are (query position, head of the chunk) pairs, so the
 * heads of a group share every K/V tile the work-group loads (GQA without
 * expanding K/V). Tile row r is position i0 + r / HT of head chunk*HT + r % HT.
 *
 * Key tiles: the spec's walk (elattn_walk_next) gives the tiles that hold a
 * visible pair (a STREAMING head's sinks and window, a BLOCK_SPARSE head's
 * mask blocks, the causal range); ALL tiles need no per-pair test, PARTIAL
 * tiles test each pair with elattn_pair_visible. Nothing else is loaded. Scores live in
 * local memory one tile at a time (FlashAttention's online softmax, fp32,
 * exp2 with scale * log2(e) folded into Q); nothing of size [L, L] exists.
 *
 * Threads: ELATTN_WG work-items, TPR = WG / TILE_M per row. Thread (r, t)
 * computes scores of row r for keys t, t + TPR, ... and owns the output
 * columns t, t + TPR, ... of row r.
 *
 * Compile-time: ELATTN_HEAD_DIM, ELATTN_TILE_M, ELATTN_TILE_N, ELATTN_WG,
 * ELATTN_HEADS_PER_TILE, ELATTN_STORAGE.
 *
 * The family "subgroup" is this kernel with -DELATTN_SUBGROUP=<width> (= TPR):
 * a row's threads are one subgroup, so the row max and sum are subgroup
 * reductions instead of local arrays and a barrier. Subgroups are assumed to
 * be TPR consecutive local ids; a work-item that finds otherwise writes NaN,
 * so a driver that forms them differently fails every check instead of
 * passing by luck. The reductions are OpenCL C's standard subgroup functions, so
 * the family is built at -cl-std=CL2.0 (cl_khr_subgroups) or CL3.0
 * (__opencl_c_subgroups): at 1.2 compilers need not declare them (clang's
 * headers, which AMD's runtime compiles with, do not).
 * -DELATTN_INTEL_REQD_SUBGROUP requires the width (cl_intel_required_subgroup_size).
 */
#define HD ELATTN_HEAD_DIM
#define TM ELATTN_TILE_M
#define TN ELATTN_TILE_N
#define WG ELATTN_WG
#define HT ELATTN_HEADS_PER_TILE
#define TPR (WG / TM)      /* threads per tile row */
#define CPT (TN / TPR)     /* key columns per thread */
#define DPT (HD / TPR)     /* output columns per thread */
#define PM (TM / HT)       /* query positions per tile */
#define LD (HD + 1)        /* padded local row stride: rows fall in different banks */
#define LDP (TN + 1)

#if WG % TM != 0 || TN % TPR != 0 || HD % TPR != 0 || TM % HT != 0
#error "inconsistent tile configuration"
#endif

#if defined(ELATTN_SUBGROUP)
#if __OPENCL_C_VERSION__ < 200
#error "the subgroup family is built at OpenCL C 2.0 or later (-cl-std), where its subgroup functions are standard"
#elif __OPENCL_C_VERSION__ < 300
#pragma OPENCL EXTENSION cl_khr_subgroups : enable
#endif
#if ELATTN_SUBGROUP != TPR
#error "the subgroup kernel runs one subgroup per row: WG / TILE_M must be the subgroup width"
#endif
#if defined(ELATTN_INTEL_REQD_SUBGROUP)
#define SG_ATTR __attribute__((intel_reqd_sub_group_size(ELATTN_SUBGROUP)))
#endif
#endif
#ifndef SG_ATTR
#define SG_ATTR
#endif

/* Load rows [j0, j0 + TN) of K or V (KV head hk) into local memory as fp32;
 * rows at or past j1 read zeros (a zero V row keeps 0 * garbage out of O). */
static inline void load_kv_tile(__local float *dst, const __global elattn_elem *src, const elattn_attn_params *prm,
                                const __global int *table, int b, int k0, int j0, int j1, int hk, int is_v, int lid)
{
    for (int e = lid; e < TN * (HD / 4); e += WG) {
        int c = e / (HD / 4), d = (e % (HD / 4)) * 4;
        float4 x = (float4)(0.0f);
        if (j0 + c < j1) {
            const long row = elattn_kv_row(prm, table, b, k0, j0 + c);
            x = elattn_load4(src, (size_t)(is_v ? elattn_v_offset(prm, row, hk) : elattn_k_offset(prm, row, hk)) + d);
        }
        __local float *row = dst + c * LD + d;
        row[0] = x.x;
        row[1] = x.y;
        row[2] = x.z;
        row[3] = x.w;
    }
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) SG_ATTR void
elattn_attn_fused(const elattn_attn_params prm, const __global elattn_elem *q,
                  const __global elattn_elem *k, const __global elattn_elem *v,
                  __global elattn_elem *o, __global float *lse, const __global uchar *mask,
                  const __global int *meta, const int cu_q_at, const int cu_k_at, const int modes_at,
                  const int items_at, const int table_at)
{
    __local float qs[TM * LD];   /* Q tile, pre-scaled by scale * log2(e) */
    __local float kvs[TN * LD];  /* the K tile, then the V tile */
    __local float ps[TM * LDP];  /* probabilities of the tile */
#if !defined(ELATTN_SUBGROUP)
    __local float red_max[TM * TPR];
    __local float red_sum[TM * TPR];
#endif

    const int lid = get_local_id(0);
    /* HT heads of one group per item (HT divides the group: one KV head per item) */
    const elattn_work_item item = ((const __global elattn_work_item *)(meta + items_at))[get_group_id(0)];
    const elattn_item_view it =
        elattn_item_decode(&prm, item, HT, PM, meta + cu_q_at, meta + cu_k_at, meta + modes_at);
    const __global int *table = meta + table_at; /* read only when paged */
    const int hk = it.hk, head0 = it.head0, mode = it.mode;
    const int q0 = it.q_start, len_q = it.len_q, k0 = it.k_start, len_k = it.len_k;
    const int i0 = it.i0, i1 = it.i1;

    /* this thread's row */
    const int r = lid / TPR, t = lid % TPR;
#if defined(ELATTN_SUBGROUP)
    const int sg_ok = get_sub_group_size() == TPR && get_sub_group_id() == r && get_sub_group_local_id() == t;
#endif
    const int my_i = i0 + r / HT, my_h = head0 + r % HT;
    const int row_ok = my_i < i1;
    const int my_p = elattn_query_pos(my_i, len_q, len_k);
    const __global uchar *mask_head = mask + it.mask_offset;
    const __global uchar *my_mask_row =
        mask_head + (long)(my_i / prm.block_size) * prm.mask_kblocks;

    for (int e = lid; e < TM * (HD / 4); e += WG) {
        int rr = e / (HD / 4), d = (e % (HD / 4)) * 4;
        int i = i0 + rr / HT, h = head0 + rr % HT;
        float4 x = (float4)(0.0f);
        if (i < i1) x = elattn_load4(q, (size_t)elattn_q_offset(&prm, q0 + i, h) + d) * prm.scale_log2;
        __local float *row = qs + rr * LD + d;
        row[0] = x.x;
        row[1] = x.y;
        row[2] = x.z;
        row[3] = x.w;
    }

    float acc[DPT];
    for (int x = 0; x < DPT; ++x) acc[x] = 0.0f;
    float m_i = -INFINITY, l_i = 0.0f; /* running max (log2 units) and denominator */

    elattn_tile_walk walk;
    elattn_walk_init(&walk, mode, prm.causal, len_q, len_k, i0, i1, prm.sink, prm.local, TN, mask_head,
                     prm.mask_kblocks, prm.block_size);
    int cls;
    for (int jt = elattn_walk_next(&walk, 0, &cls); jt < walk.end; jt = elattn_walk_next(&walk, jt + 1, &cls)) {
        const int j0 = jt * TN, j1 = min(j0 + TN, len_k);

        barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile's V and P are consumed */
        load_kv_tile(kvs, k, &prm, table, it.b, k0, j0, j1, hk, 0, lid);
        barrier(CLK_LOCAL_MEM_FENCE);

        float s[CPT];
        float tile_max = -INFINITY;
        for (int x = 0; x < CPT; ++x) {
            const int c = t + x * TPR, j = j0 + c;
            int vis = row_ok && j < j1;
            if (vis && cls == ELATTN_TILE_PARTIAL)
                vis = elattn_pair_visible(mode, prm.causal, my_p, j, prm.sink, prm.local,
                                          prm.block_size, my_mask_row);
            float dot = -INFINITY;
            if (vis) {
                dot = 0.0f;
                const __local float *qr = qs + r * LD, *kr = kvs + c * LD;
                for (int d = 0; d < HD; ++d) dot = fma(qr[d], kr[d], dot);
            }
            s[x] = dot;
            tile_max = fmax(tile_max, dot);
        }
#if defined(ELATTN_SUBGROUP)
        const float m_new = fmax(m_i, sub_group_reduce_max(tile_max));
#else
        red_max[r * TPR + t] = tile_max;
        barrier(CLK_LOCAL_MEM_FENCE);

        float m_new = m_i;
        for (int x = 0; x < TPR; ++x) m_new = fmax(m_new, red_max[r * TPR + x]);
#endif
        /* a row with nothing visible yet keeps p = 0 and no NaN from -inf - -inf */
        const float m_use = elattn_softmax_base(m_new);
        const float alpha = exp2(m_i - m_use);
        float psum = 0.0f;
        for (int x = 0; x < CPT; ++x) {
            const float p = exp2(s[x] - m_use);
            ps[r * LDP + t + x * TPR] = p;
            psum += p;
        }
#if defined(ELATTN_SUBGROUP)
        const float l_tile = sub_group_reduce_add(psum);
#else
        red_sum[r * TPR + t] = psum;
#endif
        barrier(CLK_LOCAL_MEM_FENCE); /* K reads done: kvs may take V */

        load_kv_tile(kvs, v, &prm, table, it.b, k0, j0, j1, hk, 1, lid);
        barrier(CLK_LOCAL_MEM_FENCE);

#if !defined(ELATTN_SUBGROUP)
        float l_tile = 0.0f;
        for (int x = 0; x < TPR; ++x) l_tile += red_sum[r * TPR + x];
#endif
        l_i = l_i * alpha + l_tile;
        m_i = m_new;
        for (int x = 0; x < DPT; ++x) acc[x] *= alpha;
        const __local float *pr = ps + r * LDP;
        for (int c = 0; c < TN; ++c) {
            const float p = pr[c];
            const __local float *vr = kvs + c * LD + t;
            for (int x = 0; x < DPT; ++x) acc[x] = fma(p, vr[x * TPR], acc[x]);
        }
    }

    if (!row_ok) return;
    /* empty row: O = 0 and LSE = -inf */
#if defined(ELATTN_SUBGROUP)
    const float inv = sg_ok ? elattn_row_inv_sum(l_i) : NAN; /* subgroups not as assumed: fail loudly */
#else
    const float inv = elattn_row_inv_sum(l_i);
#endif
    const size_t o_at = (size_t)elattn_o_offset(&prm, q0 + my_i, my_h);
    const int Hq = prm.num_q_heads;
    for (int x = 0; x < DPT; ++x) elattn_store(o, o_at + t + x * TPR, acc[x] * inv);
    if (prm.write_lse && t == 0)
#if defined(ELATTN_SUBGROUP)
        lse[(size_t)(q0 + my_i) * Hq + my_h] = sg_ok ? elattn_row_lse(m_i, l_i) : NAN;
#else
        lse[(size_t)(q0 + my_i) * Hq + my_h] = elattn_row_lse(m_i, l_i);
#endif
}

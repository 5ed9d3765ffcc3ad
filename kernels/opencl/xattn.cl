/*
 * XAttention block selection on the device (spec: the XAttention comment in
 * kernels/elattn_spec.h). Two families share this file and its selection
 * kernel; one work-group per (element, KV head, query block) in the scoring
 * and selection kernels; heads whose mode is not BLOCK_SPARSE do nothing.
 *
 * scalar (ELATTN_XA_GEMM 0), elattn_xattn_scores: for each query head of the
 * group and each reshaped row of the block, a softmax over the visible
 * reshaped columns in two passes (pass 1: online max and sum; pass 2:
 * recompute, normalise and add into the block sums). The work-group owns its
 * row of the block-score table, so the group's heads add up without atomics.
 * Memory: the table only, [batch][Hkv][mask_qblocks][mask_kblocks] floats,
 * never [L, L].
 *
 * clblast (ELATTN_XA_GEMM 1): the host packs the reshaped keys and a chunk of
 * reshaped query rows into fp32 matrices (elattn_xattn_pack_k / _pack_q), one
 * CLBlast GEMM per KV head gives the chunk's scores in log2 units, and
 * elattn_xattn_gemm_softmax turns them into block sums of the same table.
 *
 * elattn_xattn_select: per query-block row, key block 0 and the diagonal
 * block are kept, then visible blocks in descending score (ties: lower index)
 * while the kept sum is below tau * row total. Because scores are >= 0 the
 * greedy walk keeps exactly the blocks whose "sum of everything ranked before
 * me" is below the threshold, so each thread decides its own blocks without
 * sorting.
 *
 * Compile-time: ELATTN_HEAD_DIM, ELATTN_XA_STRIDE, ELATTN_XA_BLOCK,
 * ELATTN_XA_GEMM (0 scalar, 1 clblast, 2 mma: xattn_mma.cl computes the
 * scores the clblast family's GEMM would), ELATTN_XA_ROWS (scalar: reshaped
 * rows per pass), ELATTN_WG,
 * ELATTN_STORAGE.
 */
#define HD ELATTN_HEAD_DIM
#define XS ELATTN_XA_STRIDE
#define XB ELATTN_XA_BLOCK
#define CB (XB / XS)        /* reshaped rows (and columns) per block */
#define WG ELATTN_WG

#if XB % XS != 0 || (WG & (WG - 1)) != 0
#error "inconsistent XAttention configuration"
#endif

/* Two online-softmax states (max m, sum l in log2 units) made one; both estimation paths use it. */
static inline void xa_combine(float *m, float *l, float m2, float l2)
{
    const float mx = fmax(*m, m2);
    if (mx == -INFINITY) return;
    *l = *l * exp2(*m - mx) + l2 * exp2(m2 - mx);
    *m = mx;
}

/* Tree reduction of the work-group's (m, l) states in red_m / red_l (every item has written its
 * own, before a barrier) into red_m[0] / red_l[0], with a barrier after each level. Every item of
 * the work-group must call it. */
static inline void xa_reduce_wg(__local float *red_m, __local float *red_l, int lid)
{
    for (int off = WG / 2; off > 0; off >>= 1) {
        if (lid < off) {
            float mm = red_m[lid], ll = red_l[lid];
            xa_combine(&mm, &ll, red_m[lid + off], red_l[lid + off]);
            red_m[lid] = mm;
            red_l[lid] = ll;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

#if !ELATTN_XA_GEMM
#define RB ELATTN_XA_ROWS
#if RB > CB
#error "ELATTN_XA_ROWS exceeds the reshaped rows of a block"
#endif

/* Reshaped dot products Qt[ib + r] . Kt[j] for r < RB into dots[r * WG + lid]
 * (rows past nrows or the sequence read zeros). Every work-item of the group
 * must call it. always_inline: PoCL 3.1 miscompiles barriers inside a loop of
 * a function that is not inlined (wrong sums, no error). */
static inline __attribute__((always_inline)) void xa_dots(__local float *dots, __local float *qloc, const __global elattn_elem *q,
                    const __global elattn_elem *k, int q0, int k0, int len_q, int len_k, int h, int hk,
                    int Hq, int Hkv, int ib, int nrows, int j, int j_lim, int lid)
{
    float acc[RB];
    for (int r = 0; r < RB; ++r) acc[r] = 0.0f;
    for (int t = 0; t < XS; ++t) {
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int e = lid; e < RB * (HD / 4); e += WG) {
            int rr = e / (HD / 4), d = (e % (HD / 4)) * 4;
            int qi = elattn_xattn_q_pos(ib + rr, t, XS);
            float4 x = (float4)(0.0f);
            if (rr < nrows && qi < len_q) x = elattn_load4(q, ((size_t)(q0 + qi) * Hq + h) * HD + d);
            vstore4(x, 0, qloc + rr * HD + d);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int kj = elattn_xattn_k_pos(j, t, XS);
        if (j < j_lim && kj < len_k) {
            const size_t k_at = ((size_t)(k0 + kj) * Hkv + hk) * HD;
            for (int d = 0; d < HD; d += 4) {
                const float4 kv = elattn_load4(k, k_at + d);
                for (int r = 0; r < RB; ++r) acc[r] += dot(vload4(0, qloc + r * HD + d), kv);
            }
        }
    }
    for (int r = 0; r < RB; ++r) dots[r * WG + lid] = acc[r];
}

/* Online softmax state (max m, sum l in log2 units) taking one more logit x. */
static inline void xa_online(__local float *m, __local float *l, float x)
{
    const float mx = fmax(*m, x);
    *l = *l * exp2(*m - mx) + exp2(x - mx);
    *m = mx;
}


__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_xattn_scores(const __global elattn_elem *q, const __global elattn_elem *k,
                    const __global int *meta, const int cu_q_at, const int cu_k_at, const int modes_at,
                    const int Hq, const int Hkv, const int causal,
                    const float scale_log2, /* scale * log2(e) / stride */
                    const int mask_qblocks, const int mask_kblocks, __global float *workspace,
                    const int scores_at)
{
    __local float qloc[RB * HD];
    __local float red_m[WG], red_l[WG];
    __local float row_m[RB], row_l[RB];
    __local float dots[RB * WG];
    __local float run_m[RB * WG], run_l[RB * WG]; /* per-column softmax state of each row */
    __global float *scores = workspace + scores_at;

    const int lid = get_local_id(0);
    const int gid = get_group_id(0);
    const int qb = gid % mask_qblocks, bh = gid / mask_qblocks;
    const int hk = bh % Hkv, b = bh / Hkv;
    const int q0 = meta[cu_q_at + b], len_q = meta[cu_q_at + b + 1] - q0;
    const int k0 = meta[cu_k_at + b], len_k = meta[cu_k_at + b + 1] - k0;
    const int nqb = (len_q + XB - 1) / XB, nkb = (len_k + XB - 1) / XB;
    const int nqr = (len_q + XS - 1) / XS, nkr = (len_k + XS - 1) / XS;
    /* Only BLOCK_SPARSE heads and the element's own query blocks have work.
     * No early return: PoCL 3.1 miscompiles a return that precedes a barrier. */
    const int active = meta[modes_at + bh] == ELATTN_MODE_BLOCK_SPARSE && qb < nqb;

    __global float *srow = scores + ((size_t)bh * mask_qblocks + qb) * mask_kblocks;
    for (int kb = lid; active && kb < nkb; kb += WG) srow[kb] = 0.0f;
    barrier(CLK_GLOBAL_MEM_FENCE);

    const int group = active ? Hq / Hkv : 0;
    const int ibeg = qb * CB, iend = min(ibeg + CB, nqr);
    for (int g = 0; g < group; ++g) {
        const int h = hk * group + g;
        for (int ib = ibeg; ib < iend; ib += RB) {
            const int nrows = min(RB, iend - ib);
            int j_lim = nkr; /* no row of this pass sees a column at or past j_lim */
            if (causal) {
                const int p = elattn_xattn_row_last_pos(ib + nrows - 1, XS, len_q, len_k);
                j_lim = p < 0 ? 0 : min(nkr, p / XS + 1);
            }

            /* pass 1: per-row max and denominator */
            for (int r = 0; r < RB; ++r) {
                run_m[r * WG + lid] = -INFINITY;
                run_l[r * WG + lid] = 0.0f;
            }
            for (int jc = 0; jc < j_lim; jc += WG) {
                const int j = jc + lid;
                xa_dots(dots, qloc, q, k, q0, k0, len_q, len_k, h, hk, Hq, Hkv, ib, nrows, j, j_lim, lid);
                for (int r = 0; r < nrows; ++r)
                    if (j < j_lim && elattn_xattn_col_visible(causal, ib + r, j, XS, len_q, len_k))
                        xa_online(&run_m[r * WG + lid], &run_l[r * WG + lid], dots[r * WG + lid] * scale_log2);
            }
            for (int r = 0; r < nrows; ++r) {
                red_m[lid] = run_m[r * WG + lid];
                red_l[lid] = run_l[r * WG + lid];
                barrier(CLK_LOCAL_MEM_FENCE);
                xa_reduce_wg(red_m, red_l, lid);
                if (lid == 0) {
                    row_m[r] = red_m[0];
                    row_l[r] = red_l[0];
                }
                barrier(CLK_LOCAL_MEM_FENCE);
            }

            /* pass 2: normalised probabilities summed per key block */
            for (int jc = 0; jc < j_lim; jc += WG) {
                const int j = jc + lid;
                xa_dots(dots, qloc, q, k, q0, k0, len_q, len_k, h, hk, Hq, Hkv, ib, nrows, j, j_lim, lid);
                float col = 0.0f;
                for (int r = 0; r < nrows; ++r)
                    if (j < j_lim && row_l[r] > 0.0f &&
                        elattn_xattn_col_visible(causal, ib + r, j, XS, len_q, len_k))
                        col += exp2(dots[r * WG + lid] * scale_log2 - row_m[r]) / row_l[r];
                red_m[lid] = col;
                barrier(CLK_LOCAL_MEM_FENCE);
                /* the same work-item always updates a given block: no race */
                if (CB >= WG) {
                    if (lid == 0) {
                        float sum = 0.0f;
                        for (int x = 0; x < WG; ++x) sum += red_m[x];
                        srow[jc / CB] += sum;
                    }
                } else if (lid < WG / CB && jc / CB + lid < nkb) {
                    float sum = 0.0f;
                    for (int x = 0; x < CB; ++x) sum += red_m[lid * CB + x];
                    srow[jc / CB + lid] += sum;
                }
                barrier(CLK_LOCAL_MEM_FENCE);
            }
        }
    }
}

#endif /* !ELATTN_XA_GEMM */

#if ELATTN_XA_GEMM == 1 /* the clblast family's packing */
/* Reshaped keys of one element, fp32: Kp[slot][j][t*HD + x] = K[j*XS + t][hk][x]
 * for the KV head hk = slots[slot] (the element's BLOCK_SPARSE heads, packed),
 * zeros past the sequence. One work-item per float4. */
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_xattn_pack_k(const __global elattn_elem *k, const __global int *meta, const int cu_k_at, const int slots_at,
                    const int b, const int Hkv, const int nslots, const int ncols, __global float *workspace,
                    const ulong kp_at)
{
    const size_t e = get_global_id(0);
    const size_t per_col = (size_t)XS * (HD / 4);
    if (e >= (size_t)nslots * ncols * per_col) return; /* no barrier in this kernel */
    const int x = (int)(e % (HD / 4)) * 4;
    const int t = (int)(e / (HD / 4) % XS);
    const size_t sj = e / per_col; /* slot * ncols + j */
    const int j = (int)(sj % ncols), slot = (int)(sj / ncols);
    const int hk = meta[slots_at + b * Hkv + slot];
    const int k0 = meta[cu_k_at + b], len_k = meta[cu_k_at + b + 1] - k0;
    const int kj = elattn_xattn_k_pos(j, t, XS);
    float4 v = (float4)(0.0f);
    if (kj < len_k) v = elattn_load4(k, ((size_t)(k0 + kj) * Hkv + hk) * HD + x);
    vstore4(v, 0, workspace + kp_at + sj * (XS * HD) + (size_t)t * HD + x);
}

/* Reshaped query rows [r0, r0 + rows) of one element, fp32, the group's query
 * heads stacked per slot: Qp[slot][g][r][t*HD + x] = Q[(r0+r)*XS + XS-1-t][h][x]
 * (the query group read in reverse), h = hk * group + g, zeros past the
 * sequence. One work-item per float4. */
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_xattn_pack_q(const __global elattn_elem *q, const __global int *meta, const int cu_q_at, const int slots_at,
                    const int b, const int Hq, const int Hkv, const int nslots, const int r0, const int rows,
                    __global float *workspace, const ulong qp_at)
{
    const size_t e = get_global_id(0);
    const int group = Hq / Hkv;
    const size_t per_row = (size_t)XS * (HD / 4);
    if (e >= (size_t)nslots * group * rows * per_row) return; /* no barrier in this kernel */
    const int x = (int)(e % (HD / 4)) * 4;
    const int t = (int)(e / (HD / 4) % XS);
    const size_t sgr = e / per_row; /* (slot * group + g) * rows + r */
    const int r = (int)(sgr % rows), g = (int)(sgr / rows % group), slot = (int)(sgr / rows / group);
    const int hk = meta[slots_at + b * Hkv + slot];
    const int q0 = meta[cu_q_at + b], len_q = meta[cu_q_at + b + 1] - q0;
    const int qi = elattn_xattn_q_pos(r0 + r, t, XS);
    float4 v = (float4)(0.0f);
    if (qi < len_q) v = elattn_load4(q, ((size_t)(q0 + qi) * Hq + hk * group + g) * HD + x);
    vstore4(v, 0, workspace + qp_at + sgr * (XS * HD) + (size_t)t * HD + x);
}
#endif

#if ELATTN_XA_GEMM /* the clblast and mma families' block sums */
/* Columns of reshaped row i that are visible: a prefix [0, n) (the spec's
 * elattn_xattn_col_visible holds for j * XS <= the row's last position). */
static inline int xa_visible_cols(int causal, int i, int len_q, int len_k, int ncols_all)
{
    if (!causal) return ncols_all;
    const int p = elattn_xattn_row_last_pos(i, XS, len_q, len_k);
    return p < 0 ? 0 : min(ncols_all, p / XS + 1);
}

/* Block sums from the GEMM's scores. One work-group per (slot, query block of
 * the chunk). The scores of slot s are C[s][g][r][0, ldc), already in log2
 * units (the GEMM's alpha is scale * log2(e) / stride). Per query head of the
 * group: pass 1 reduces each row's max and sum over its visible columns;
 * pass 2 gives work-item w the key blocks kb = w, w + WG, ... and adds its
 * rows' normalised probabilities there, so it alone writes those cells. */
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_xattn_gemm_softmax(const __global int *meta, const int cu_q_at, const int cu_k_at, const int slots_at,
                          const int b, const int Hq, const int Hkv, const int causal, const int r0, const int rows,
                          const int ldc, const __global float *cbuf, const ulong c_at, const int mask_qblocks,
                          const int mask_kblocks, __global float *workspace, const int scores_at)
{
    __local float red_m[WG], red_l[WG];
    __local float row_m[CB], row_l[CB];
    __local int row_n[CB];
    const int lid = get_local_id(0);
    const int chunk_qblocks = (rows + CB - 1) / CB;
    const int slot = get_group_id(0) / chunk_qblocks, lqb = get_group_id(0) % chunk_qblocks;
    const int hk = meta[slots_at + b * Hkv + slot], group = Hq / Hkv;
    const int len_q = meta[cu_q_at + b + 1] - meta[cu_q_at + b];
    const int len_k = meta[cu_k_at + b + 1] - meta[cu_k_at + b];
    const int nkb = (len_k + XB - 1) / XB, nkr = (len_k + XS - 1) / XS;
    const int qb = r0 / CB + lqb; /* r0 is a multiple of CB */
    const int rb = lqb * CB, nr = min(CB, rows - rb); /* the block's rows within the chunk */
    __global float *srow = workspace + scores_at + ((size_t)(b * Hkv + hk) * mask_qblocks + qb) * mask_kblocks;

    for (int g = 0; g < group; ++g) {
        const __global float *c = cbuf + c_at + ((size_t)(slot * group + g) * rows + rb) * ldc;
        /* pass 1 */
        for (int r = 0; r < nr; ++r) {
            const int n = min(ldc, xa_visible_cols(causal, r0 + rb + r, len_q, len_k, nkr));
            float m = -INFINITY, l = 0.0f;
            for (int j = lid; j < n; j += WG) {
                const float x = c[(size_t)r * ldc + j];
                const float mx = fmax(m, x);
                l = l * exp2(m - mx) + exp2(x - mx);
                m = mx;
            }
            red_m[lid] = m;
            red_l[lid] = l;
            barrier(CLK_LOCAL_MEM_FENCE);
            xa_reduce_wg(red_m, red_l, lid);
            if (lid == 0) {
                row_m[r] = red_m[0];
                row_l[r] = red_l[0];
                row_n[r] = red_l[0] > 0.0f ? n : 0; /* a row without visible columns adds nothing */
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        /* pass 2 */
        for (int kb = lid; kb < nkb; kb += WG) {
            float acc = 0.0f;
            for (int r = 0; r < nr; ++r) {
                const int j1 = min(row_n[r], (kb + 1) * CB);
                for (int j = kb * CB; j < j1; ++j) acc += exp2(c[(size_t)r * ldc + j] - row_m[r]) / row_l[r];
            }
            srow[kb] = g == 0 ? acc : srow[kb] + acc;
        }
        barrier(CLK_LOCAL_MEM_FENCE); /* row_m, row_l, row_n are rewritten for the next head */
    }
}
#endif /* ELATTN_XA_GEMM */

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_xattn_select(const __global int *meta, const int cu_q_at, const int cu_k_at, const int modes_at,
                    const int taus_at, const int Hkv, const int causal, const int mask_qblocks,
                    const int mask_kblocks, const __global float *workspace, const int scores_at,
                    __global uchar *mask)
{
    __local float red[WG];
    const __global float *scores = workspace + scores_at;
    const int lid = get_local_id(0);
    const int gid = get_group_id(0);
    const int qb = gid % mask_qblocks, bh = gid / mask_qblocks;
    const int hk = bh % Hkv, b = bh / Hkv;
    const int selected = meta[modes_at + bh] == ELATTN_MODE_BLOCK_SPARSE; /* else: row untouched */
    const int len_q = meta[cu_q_at + b + 1] - meta[cu_q_at + b];
    const int len_k = meta[cu_k_at + b + 1] - meta[cu_k_at + b];
    const int nqb = (len_q + XB - 1) / XB, nkb = (len_k + XB - 1) / XB;
    __global uchar *out = mask + elattn_mask_row(b, hk, qb, Hkv, mask_qblocks, mask_kblocks);
    /* Rows past the element's blocks are cleared (no block has a score there).
     * No early return: PoCL 3.1 miscompiles a return that precedes a barrier. */
    const int active = selected && qb < nqb && nkb > 0;
    const __global float *row = scores + ((size_t)bh * mask_qblocks + qb) * mask_kblocks;

    float part = 0.0f;
    for (int kb = lid; active && kb < nkb; kb += WG) part += row[kb];
    red[lid] = part;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int off = WG / 2; off > 0; off >>= 1) {
        if (lid < off) red[lid] += red[lid + off];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float threshold = as_float(meta[taus_at + hk]) * red[0];

    const int diag = active ? elattn_xattn_diag_block(qb, XB, len_q, len_k) : 0;
    const float forced = active ? row[0] + (diag != 0 ? row[diag] : 0.0f) : 0.0f;
    /* visible blocks: first key causally visible from the row's last query */
    int vis_end = active ? nkb : 0;
    if (active && causal) {
        const int p = elattn_xattn_row_last_pos(qb, XB, len_q, len_k);
        vis_end = p < 0 ? 0 : min(nkb, p / XB + 1);
    }
    for (int kb = lid; kb < mask_kblocks; kb += WG) {
        int keep = 0;
        if (!active || kb >= nkb) {
            keep = 0;
        } else if (kb == 0 || kb == diag) {
            keep = 1;
        } else if (kb < vis_end) {
            const float s = row[kb];
            float before = forced; /* kept sum when the walk reaches this block */
            for (int k2 = 1; k2 < vis_end; ++k2) {
                if (k2 == diag) continue;
                const float s2 = row[k2];
                if (s2 > s || (s2 == s && k2 < kb)) before += s2;
            }
            keep = before < threshold;
        }
        if (selected) out[kb] = (uchar)keep;
    }
}

/*
 * XAttention block selection on the device (spec: the XAttention comment in
 * kernels/elattn_spec.h). Two kernels, one work-group per (element, KV head,
 * query block) each; heads whose mode is not BLOCK_SPARSE return at once.
 *
 * elattn_xattn_scores: for each query head of the group and each reshaped row
 * of the block, a softmax over the visible reshaped columns in two passes
 * (pass 1: online max and sum; pass 2: recompute, normalise and add into the
 * block sums). The work-group owns its row of the block-score table, so the
 * group's heads add up without atomics. Memory: the table only,
 * [batch][Hkv][mask_qblocks][mask_kblocks] floats, never [L, L].
 *
 * elattn_xattn_select: per query-block row, key block 0 and the diagonal
 * block are kept, then visible blocks in descending score (ties: lower index)
 * while the kept sum is below tau * row total. Because scores are >= 0 the
 * greedy walk keeps exactly the blocks whose "sum of everything ranked before
 * me" is below the threshold, so each thread decides its own blocks without
 * sorting.
 *
 * Compile-time: ELATTN_HEAD_DIM, ELATTN_XA_STRIDE, ELATTN_XA_BLOCK,
 * ELATTN_XA_ROWS (reshaped rows per pass), ELATTN_WG, ELATTN_STORAGE.
 */
#define HD ELATTN_HEAD_DIM
#define XS ELATTN_XA_STRIDE
#define XB ELATTN_XA_BLOCK
#define CB (XB / XS)        /* reshaped rows (and columns) per block */
#define RB ELATTN_XA_ROWS
#define WG ELATTN_WG

#if XB % XS != 0 || RB > CB || (WG & (WG - 1)) != 0
#error "inconsistent XAttention configuration"
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
            int qi = (ib + rr) * XS + XS - 1 - t; /* the query group is read in reverse */
            float4 x = (float4)(0.0f);
            if (rr < nrows && qi < len_q) x = elattn_load4(q, ((size_t)(q0 + qi) * Hq + h) * HD + d);
            vstore4(x, 0, qloc + rr * HD + d);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int kj = j * XS + t;
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

static inline void xa_combine(float *m, float *l, float m2, float l2)
{
    const float mx = fmax(*m, m2);
    if (mx == -INFINITY) return;
    *l = *l * exp2(*m - mx) + l2 * exp2(m2 - mx);
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
                for (int off = WG / 2; off > 0; off >>= 1) {
                    if (lid < off) {
                        float mm = red_m[lid], ll = red_l[lid];
                        xa_combine(&mm, &ll, red_m[lid + off], red_l[lid + off]);
                        red_m[lid] = mm;
                        red_l[lid] = ll;
                    }
                    barrier(CLK_LOCAL_MEM_FENCE);
                }
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

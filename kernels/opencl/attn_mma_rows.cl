/*
 * What the tensor-core attention kernels (attn_mma.cl, attn_mma_async.cl, attn_wgmma.cl) do
 * with a warp's rows, written once: the tile macros, the Q tile's copy (for the cp.async ones),
 * the PARTIAL tile's per-pair rule, one online-softmax step, P as the A fragments of P V, and
 * the epilogue. The kernels differ in how K and V reach local memory, where Q's fragments live
 * and which instructions multiply; the program puts this file after mma_warp.cl and before the
 * kernel's own (attn_wgmma.cl's: after wgmma_warpgroup.cl, whose accumulators are these
 * fragments warp by warp).
 *
 * A warp owns MW m16 row blocks; this lane holds rows g and g + 8 of each (g = lane / 4), tile
 * rows row0 + 16 mi + 8 h, where tile row r is query position i0 + r / HT of head head0 + r % HT.
 * S and O are mma.m16n8k16 C fragments: s[mi][n] the 8 keys of column block n, acc[mi][d] the 8
 * columns of O's block d, elements 2h and 2h + 1 on row h.
 *
 * Compile-time: ELATTN_HEAD_DIM, ELATTN_WARP_M (MW), ELATTN_TILE_M, ELATTN_TILE_N, ELATTN_WG,
 * ELATTN_HEADS_PER_TILE, ELATTN_STORAGE (each kernel checks the combinations it takes).
 */
#define HD ELATTN_HEAD_DIM
#define BM ELATTN_TILE_M
#define BN ELATTN_TILE_N
#define WG ELATTN_WG
#define HT ELATTN_HEADS_PER_TILE
#define WARPS (WG / 32)
#define MW ELATTN_WARP_M
#define PM (BM / HT) /* query positions per tile */
#define KD (HD / 16) /* k-steps of S = Q K^T */
#define NB (BN / 8)  /* 8-key column blocks of S */
#define DB (HD / 8)  /* 8-column blocks of O */
#define CH (HD / 8)  /* 16-byte chunks per tile row */

/* 16-byte copies of a Q tile per work-item (mma_rows_q_issue). */
#define MMA_ROWS_Q_COPIES ((BM * CH + WG - 1) / WG)

/* This work-item's share of the Q tile by cp.async, into the tile at shared address `at` in
 * mma_warp.cl's row layout (tile row r: position i0 + r / HT of head head0 + r % HT); rows past
 * the item read zeros from the item's first row. For the kernels that copy with cp.async
 * (attn_mma_async.cl, attn_wgmma.cl); the caller commits the group. */
INLINE void mma_rows_q_issue(cp_async_q *cq, uint at, const __global elattn_elem *q, const elattn_attn_params *prm,
                             int q0, int i0, int i1, int head0, int lid)
{
    UNROLL for (int n = 0; n < MMA_ROWS_Q_COPIES; ++n) {
        const int e = lid + n * WG, r = e / CH, c = e % CH;
        if (e < BM * CH) {
            const int i = i0 + r / HT, h = head0 + r % HT, ok = i < i1;
            const long off = elattn_q_offset(prm, q0 + (ok ? i : i0), h);
            cp_async16(cq, at + toff(r, c), (const __global uint4 *)(q + off + c * 8), ok);
        }
    }
}

/* The spec's per-pair rule on a PARTIAL key tile starting at key j0 (keys past len_k included):
 * hidden pairs become -inf. The rows' state first, then key by key: a key lives for its MW rows
 * only. */
INLINE void mma_rows_mask(float s[MW][NB][4], const elattn_attn_params *prm, int mode, uint row0, int t, int j0,
                          int i0, int i1, int len_q, int len_k, const __global uchar *mask_head)
{
    int pos[MW][2], ok[MW][2];
    const __global uchar *mrow[MW][2];
    UNROLL for (int mi = 0; mi < MW; ++mi) {
        UNROLL for (int h = 0; h < 2; ++h) {
            const int i = i0 + (row0 + 16 * mi + 8 * h) / HT;
            ok[mi][h] = i < i1;
            pos[mi][h] = elattn_query_pos(i, len_q, len_k);
            /* read only for rows of the item (ok) of BLOCK_SPARSE heads */
            mrow[mi][h] = ok[mi][h] ? mask_head + (long)(i / prm->block_size) * prm->mask_kblocks : mask_head;
        }
    }
    UNROLL for (int n = 0; n < NB; ++n) {
        UNROLL for (int e = 0; e < 4; ++e) {
            const int h = e / 2, key = j0 + n * 8 + 2 * t + (e & 1);
            UNROLL for (int mi = 0; mi < MW; ++mi) {
                if (!(ok[mi][h] && key < len_k &&
                      elattn_pair_visible(mode, prm->causal, pos[mi][h], key, prm->sink, prm->local, prm->block_size,
                                          mrow[mi][h])))
                    s[mi][n][e] = -INFINITY;
            }
        }
    }
}

/* One key tile's online-softmax step in log2 units (sl2: the scale in log2 units): the running
 * max, S turned into probabilities in place, the lane's partial row sums (summed over the quad
 * only at the end), and O rescaled by the change of max. */
INLINE void mma_rows_softmax(float s[MW][NB][4], float m_run[MW][2], float l_run[MW][2], float acc[MW][DB][4],
                             float sl2, __local uint *xw, int lane)
{
    UNROLL for (int mi = 0; mi < MW; ++mi) {
        UNROLL for (int h = 0; h < 2; ++h) {
            float mx = m_run[mi][h];
            UNROLL for (int n = 0; n < NB; ++n) mx = fmax(mx, fmax(s[mi][n][2 * h], s[mi][n][2 * h + 1]) * sl2);
            mx = quad_max(mx, xw, lane);
            const float m_use = elattn_softmax_base(mx); /* 0 while the row saw nothing: no NaN */
            const float corr = ex2(m_run[mi][h] - m_use);
            m_run[mi][h] = mx;
            float sum = 0.0f;
            UNROLL for (int n = 0; n < NB; ++n) {
                s[mi][n][2 * h] = ex2(fma(s[mi][n][2 * h], sl2, -m_use));
                s[mi][n][2 * h + 1] = ex2(fma(s[mi][n][2 * h + 1], sl2, -m_use));
                sum += s[mi][n][2 * h] + s[mi][n][2 * h + 1];
            }
            l_run[mi][h] = l_run[mi][h] * corr + sum;
            UNROLL for (int d = 0; d < DB; ++d) {
                acc[mi][d][2 * h] *= corr;
                acc[mi][d][2 * h + 1] *= corr;
            }
        }
    }
}

/* P's A fragments of P V's k-step kc: key block pair (2kc, 2kc + 1) of S, rounded to the storage
 * type; register for register, S's C fragment is P's A fragment. */
INLINE void mma_rows_p(uint a[MW][4], float s[MW][NB][4], int kc, __local uint *xw, int lane)
{
    UNROLL for (int mi = 0; mi < MW; ++mi) {
        a[mi][0] = pack2(s[mi][2 * kc][0], s[mi][2 * kc][1], xw, lane);
        a[mi][1] = pack2(s[mi][2 * kc][2], s[mi][2 * kc][3], xw, lane);
        a[mi][2] = pack2(s[mi][2 * kc + 1][0], s[mi][2 * kc + 1][1], xw, lane);
        a[mi][3] = pack2(s[mi][2 * kc + 1][2], s[mi][2 * kc + 1][3], xw, lane);
    }
}

/* The epilogue (the spec's rule: O = 0 and LSE = -inf for a row that saw nothing). Every lane
 * takes part in the quad sums; only rows of the item store. */
INLINE void mma_rows_store(float acc[MW][DB][4], float m_run[MW][2], float l_run[MW][2], const elattn_attn_params *prm,
                           __global elattn_elem *o, __global float *lse, uint row0, int t, int i0, int i1, int q0,
                           int head0, __local uint *xw, int lane)
{
    __global uint *o_pairs = (__global uint *)o;
    UNROLL for (int mi = 0; mi < MW; ++mi) {
        UNROLL for (int h = 0; h < 2; ++h) {
            const float l = quad_sum(l_run[mi][h], xw, lane);
            const float inv = elattn_row_inv_sum(l);
            uint packed[DB];
            UNROLL for (int d = 0; d < DB; ++d)
                packed[d] = pack2(acc[mi][d][2 * h] * inv, acc[mi][d][2 * h + 1] * inv, xw, lane);
            const uint r = row0 + 16 * mi + 8 * h;
            const int i = i0 + r / HT, head = head0 + r % HT;
            if (i < i1) {
                const size_t row_at = (size_t)elattn_o_offset(prm, q0 + i, head);
                UNROLL for (int d = 0; d < DB; ++d) o_pairs[(row_at + d * 8 + 2 * t) / 2] = packed[d];
                if (prm->write_lse && t == 0)
                    lse[(size_t)(q0 + i) * prm->num_q_heads + head] = elattn_row_lse(m_run[mi][h], l);
            }
        }
    }
}

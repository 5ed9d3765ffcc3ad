/*
 * XAttention estimation on NVIDIA tensor cores from OpenCL C: the family
 * "mma" of the XAttention families (fp16 / bf16 storage, head dims that are
 * multiples of 16). The program is mma_warp.cl, xattn.cl (built with
 * ELATTN_XA_GEMM 2), then this file.
 *
 * It does the clblast family's GEMM without packing and in tensor cores: work-group
 * g computes one TM x TN tile of one query head's reshaped scores Qt . Kt
 * (spec: "XAttention" in kernels/elattn_spec.h) straight from Q and K. The k
 * loop runs over the stride steps t - query rows i*S + S-1-t, key rows
 * j*S + t, rows past the sequence read as zeros, exactly what the clblast
 * family packs - and over the head dim, with mma.sync m16n8k16 from ldmatrix
 * fragments (fp32 accumulators). The tile goes, in log2 units (alpha =
 * scale * log2(e) / S), where the clblast family's GEMM puts its scores, and
 * xattn.cl's elattn_xattn_gemm_softmax turns a pass's scores into block sums.
 *
 * Per step the work-group stages the Q slice (TM rows) and the K slice (TN
 * rows) in local memory; each work-item fetches its share of the next step's
 * slices into registers before it issues the current step's mma, so global
 * latency overlaps tensor work. A tile no row of which can see any of its
 * columns (causal) runs no step and stores nothing: the softmax kernel reads
 * only visible columns. Columns a row cannot see inside a stored tile hold
 * scores nobody reads.
 *
 * Compile-time (besides xattn.cl's): ELATTN_XA_TILE_M (TM = 16 MW warps),
 * ELATTN_XA_TILE_N (TN, a multiple of 16), ELATTN_WARP_M (MW, m16 row blocks
 * per warp: 1 or 2).
 */
#define TM ELATTN_XA_TILE_M
#define TN ELATTN_XA_TILE_N
#define MW ELATTN_WARP_M
#define WARPS (WG / 32)
#define KD (HD / 16) /* k-steps per stride step */
#define NB (TN / 8)  /* 8-column blocks of a warp's scores */
#define CH (HD / 8)  /* 16-byte chunks per slice row */
#define Q_COPIES ((TM * CH + WG - 1) / WG) /* 16-byte copies per work-item and step */
#define K_COPIES ((TN * CH + WG - 1) / WG)

#if (MW != 1 && MW != 2) || TM != 16 * MW * WARPS || TN % 16 != 0 || ELATTN_XA_GEMM != 2
#error "inconsistent XAttention mma configuration"
#endif

/* local memory: the Q slice, then the K slice (mma_warp.cl's row layout) */
#define XQ_AT 0
#define XK_AT (TM * TILE_ROW_BYTES)
#define XSMEM_BYTES ((TM + TN) * TILE_ROW_BYTES)

/* This work-item's share of step t's slices, into registers: query rows i0 + r
 * (r < nrows) and key columns j0 + c (c < ncols), zeros past them or past the
 * sequence. */
INLINE void xa_fetch(uint4 qr[Q_COPIES], uint4 kr[K_COPIES], const __global uint4 *q, const __global uint4 *k,
                     int t, int lid, int q0, int len_q, int h, int Hq, int i0, int nrows, int k0, int len_k, int hk,
                     int Hkv, int j0, int ncols)
{
    UNROLL for (int x = 0; x < Q_COPIES; ++x) {
        const int e = lid + x * WG, r = e / CH, c = e % CH;
        const int pos = elattn_xattn_q_pos(i0 + r, t, XS);
        qr[x] = (uint4)(0u);
        if (e < TM * CH && r < nrows && pos < len_q) qr[x] = q[(((size_t)(q0 + pos) * Hq + h) * HD + c * 8) / 8];
    }
    UNROLL for (int x = 0; x < K_COPIES; ++x) {
        const int e = lid + x * WG, r = e / CH, c = e % CH;
        const int pos = elattn_xattn_k_pos(j0 + r, t, XS);
        kr[x] = (uint4)(0u);
        if (e < TN * CH && r < ncols && pos < len_k) kr[x] = k[(((size_t)(k0 + pos) * Hkv + hk) * HD + c * 8) / 8];
    }
}

/* Scores of one pass of one element (the clblast family's GEMM): rows
 * [r0, r0 + rows) of every query head of the element's BLOCK_SPARSE KV heads
 * (slots) against columns [0, ncols). Work-group (((slot * group + g) *
 * row_tiles + rt) * col_tiles + ct) writes C[slot][g][rt TM + r][ct TN + c]
 * (row pitch ncols) of query head slots[slot] * group + g. */
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_xattn_mma_scores(const __global elattn_elem *q, const __global elattn_elem *k, const __global int *meta,
                        const int cu_q_at, const int cu_k_at, const int slots_at, const int b, const int Hq,
                        const int Hkv, const int causal, const int r0, const int rows, const int ncols,
                        const int row_tiles, const int col_tiles, const float alpha, __global float *cbuf,
                        const ulong c_at)
{
    __local uint4 smem[XSMEM_BYTES / 16]; /* uint4: 16-byte aligned */
    __local const uchar *sb = (__local const uchar *)smem;
    __local uchar *sw = (__local uchar *)smem;
    const int lid = get_local_id(0), warp = lid / 32, lane = lid % 32;
    const int g4 = lane / 4, t4 = lane % 4;
    MMA_WARP_EXCHANGE(xw, warp);

    const int group = Hq / Hkv;
    const int gid = get_group_id(0), ct = gid % col_tiles, rt = gid / col_tiles % row_tiles;
    const int sg = gid / col_tiles / row_tiles, slot = sg / group, gh = sg % group;
    const int hk = meta[slots_at + b * Hkv + slot], h = hk * group + gh;
    const int q0 = meta[cu_q_at + b], len_q = meta[cu_q_at + b + 1] - q0;
    const int k0 = meta[cu_k_at + b], len_k = meta[cu_k_at + b + 1] - k0;
    const int R0 = rt * TM, C0 = ct * TN;
    const int nrows = min(TM, rows - R0), nc = min(TN, ncols - C0);
    /* The tile's last row sees the most columns (a prefix): none of these, no work. The
     * same for every work-item, so the step loop's barriers stay uniform. */
    const int seen = xa_visible_cols(causal, r0 + R0 + nrows - 1, len_q, len_k, (len_k + XS - 1) / XS);
    const int steps = C0 < seen ? XS : 0;

    /* ldmatrix row addresses (mma_warp.cl's fragment table): A from the Q slice, matrix
     * lane / 8 = (rows +8 if odd, cols +8 if >= 2); B from the K slice, matrices (cols 0-7,
     * d 0-7), (0-7, 8-15), (8-15, 0-7), (8-15, 8-15) = b0, b1 of column block 2np, then
     * 2np + 1. toff(row + 16i, chunk + 8j) = toff(row, chunk) + toff(16i, 8j) for a chunk
     * below 8: four addresses per operand reach every fragment. */
    const int qa_row = warp * MW * 16 + lane % 16, qa_chunk = lane / 16;
    const int kb_row = (lane / 16) * 8 + lane % 8, kb_chunk = (lane / 8) & 1;
    uint qa[4], kb[4];
    UNROLL for (int j = 0; j < 4; ++j) {
        qa[j] = lds_at(sb, XQ_AT + toff(qa_row, 2 * j + qa_chunk));
        kb[j] = lds_at(sb, XK_AT + toff(kb_row, 2 * j + kb_chunk));
    }

    float acc[MW][NB][4];
    UNROLL for (int mi = 0; mi < MW; ++mi) {
        UNROLL for (int n = 0; n < NB; ++n) acc[mi][n][0] = acc[mi][n][1] = acc[mi][n][2] = acc[mi][n][3] = 0.0f;
    }
    uint4 qr[Q_COPIES], kr[K_COPIES];
    const __global uint4 *q4 = (const __global uint4 *)q, *k4 = (const __global uint4 *)k;
    if (steps > 0) xa_fetch(qr, kr, q4, k4, 0, lid, q0, len_q, h, Hq, r0 + R0, nrows, k0, len_k, hk, Hkv, C0, nc);
    for (int t = 0; t < steps; ++t) {
        UNROLL for (int j = 0; j < 4; ++j) { /* as in attn_mma.cl: keeps the addresses from being hoisted */
            opaque(&qa[j]);
            opaque(&kb[j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE); /* step t - 1's fragments are read */
        UNROLL for (int x = 0; x < Q_COPIES; ++x) {
            const int e = lid + x * WG;
            if (e < TM * CH) *(__local uint4 *)(sw + XQ_AT + toff(e / CH, e % CH)) = qr[x];
        }
        UNROLL for (int x = 0; x < K_COPIES; ++x) {
            const int e = lid + x * WG;
            if (e < TN * CH) *(__local uint4 *)(sw + XK_AT + toff(e / CH, e % CH)) = kr[x];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (t + 1 < steps)
            xa_fetch(qr, kr, q4, k4, t + 1, lid, q0, len_q, h, Hq, r0 + R0, nrows, k0, len_k, hk, Hkv, C0, nc);
        UNROLL for (int kk = 0; kk < KD; ++kk) {
            uint a[MW][4];
            UNROLL for (int mi = 0; mi < MW; ++mi)
                ldsm_x4(a[mi], sb, qa[kk % 4] + toff(16 * mi, 8 * (kk / 4)), xw, lane);
            UNROLL for (int np = 0; np < NB / 2; ++np) {
                uint bf[4];
                ldsm_x4(bf, sb, kb[kk % 4] + toff(16 * np, 8 * (kk / 4)), xw, lane);
                UNROLL for (int mi = 0; mi < MW; ++mi) {
                    mma16816(acc[mi][2 * np], a[mi], bf[0], bf[1], xw, lane);
                    mma16816(acc[mi][2 * np + 1], a[mi], bf[2], bf[3], xw, lane);
                }
            }
        }
    }

    /* accumulator (mi, n, e) is row 16 (MW warp + mi) + g4 + 8 (e / 2), column 8 n + 2 t4 + e % 2 */
    __global float *c = cbuf + c_at + ((size_t)sg * rows + R0) * ncols + C0;
    UNROLL for (int mi = 0; mi < MW; ++mi) {
        UNROLL for (int e = 0; e < 4; ++e) {
            const int r = warp * MW * 16 + 16 * mi + g4 + 8 * (e / 2);
            UNROLL for (int n = 0; n < NB; ++n) {
                const int col = 8 * n + 2 * t4 + (e & 1);
                if (steps > 0 && r < nrows && col < nc) c[(size_t)r * ncols + col] = acc[mi][n][e] * alpha;
            }
        }
    }
}

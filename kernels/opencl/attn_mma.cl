/*
 * Fused hybrid-head attention on NVIDIA tensor cores from OpenCL C: the
 * family "mma" (fp16 / bf16 storage, head dims that are multiples of 16).
 *
 * FlashAttention-2 structure: work-group g takes item g of the host's work
 * list; WARPS warps of 32 work-items each own MW m16 row blocks (16 MW rows)
 * of the tile's TILE_M = 16 * MW * WARPS rows. A warp uses each K and V
 * fragment it loads for all its row blocks, so MW = 2 halves the local-memory
 * reads per mma (the CUDA mma family's MW). A row is a (query position, head)
 * pair: HT query heads of one KV group share an item, row r is position
 * i0 + r / HT of head head0 + r % HT (as in attn_fused.cl), so the heads of a
 * group share every K/V tile. Per key tile of the spec's walk (elattn_walk_next) the work-group
 * stages K and V in local memory - each work-item fetched its share into registers while the
 * previous tile was computed, so the loads' latency overlaps the tensor work - and each warp
 * computes S = Q K^T with
 * mma.sync.m16n8k16 (fp32 accumulators), masks PARTIAL tiles pair by pair
 * with elattn_pair_visible, runs the online softmax in fp32 (log2 units), and
 * adds P V with P rounded to the storage type in registers: the C fragment of
 * S is, register for register, the A fragment of P. The epilogue is the
 * spec's (elattn_row_inv_sum, elattn_row_lse).
 *
 * The warp instructions (inline PTX on NVIDIA sm_80+, or their exact
 * emulation with -DELATTN_MMA_EMULATE) and the tile layout are mma_warp.cl's;
 * the tile macros, the masking, the softmax step, P's fragments and the
 * epilogue are attn_mma_rows.cl's (shared with attn_mma_async.cl). The
 * program puts both before this file.
 *
 * Compile-time: ELATTN_HEAD_DIM (multiple of 16, <= 256), ELATTN_WARP_M
 * (MW: m16 row blocks per warp, 1 or 2), ELATTN_TILE_M (16 * MW * warps),
 * ELATTN_TILE_N (keys per tile, multiple of 16), ELATTN_WG (32 * warps),
 * ELATTN_HEADS_PER_TILE, ELATTN_STORAGE (F16 or BF16).
 */

#if (MW != 1 && MW != 2) || BM != 16 * MW * WARPS || WG % 32 != 0 || BN % 16 != 0 || HD % 16 != 0 || BM % HT != 0
#error "inconsistent mma tile configuration"
#endif

#define KV_COPIES ((BN * CH + WG - 1) / WG) /* 16-byte copies of K (and of V) per work-item and tile */

/* This work-item's share of the K and V rows of the key tile starting at key j0, into registers;
 * keys past the end read zeros (P = 0 there). */
INLINE void kv_fetch(uint4 kr[KV_COPIES], uint4 vr[KV_COPIES], const elattn_attn_params *prm,
                     const __global int *table, int b, int k0, int len_k, int hk, int j0,
                     const __global elattn_elem *k, const __global elattn_elem *v, int lid)
{
    UNROLL for (int x = 0; x < KV_COPIES; ++x) {
        const int e = lid + x * WG, r = e / CH, c = e % CH;
        kr[x] = vr[x] = (uint4)(0u);
        if (e < BN * CH && j0 + r < len_k) {
            const long row = elattn_kv_row(prm, table, b, k0, j0 + r);
            kr[x] = ((const __global uint4 *)k)[((size_t)elattn_k_offset(prm, row, hk) + c * 8) / 8];
            vr[x] = ((const __global uint4 *)v)[((size_t)elattn_v_offset(prm, row, hk) + c * 8) / 8];
        }
    }
}

/* ---- local memory: the Q tile, then the K and V tiles (mma_warp.cl's row layout) */
#define Q_AT 0
#define K_AT (BM * TILE_ROW_BYTES)
#define V_AT (BM * TILE_ROW_BYTES + BN * TILE_ROW_BYTES)
#define SMEM_BYTES (BM * TILE_ROW_BYTES + 2 * BN * TILE_ROW_BYTES)

/* ---- the kernel --------------------------------------------------------------- */
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_attn_mma(const elattn_attn_params prm, const __global elattn_elem *q, const __global elattn_elem *k,
                const __global elattn_elem *v, __global elattn_elem *o, __global float *lse,
                const __global uchar *mask, const __global int *meta, const int cu_q_at, const int cu_k_at,
                const int modes_at, const int items_at, const int table_at)
{
    __local uint4 smem[SMEM_BYTES / 16]; /* Q tile, K tile, V tile (uint4: 16-byte aligned) */
    __local const uchar *sb = (__local const uchar *)smem;

    const int lid = get_local_id(0), warp = lid / 32, lane = lid % 32;
    const int g = lane / 4, t = lane % 4;
    MMA_WARP_EXCHANGE(xw, warp);

    const elattn_work_item item = ((const __global elattn_work_item *)(meta + items_at))[get_group_id(0)];
    const elattn_item_view it =
        elattn_item_decode(&prm, item, HT, PM, meta + cu_q_at, meta + cu_k_at, meta + modes_at);
    const __global int *table = meta + table_at; /* read only when paged */
    const int hk = it.hk, head0 = it.head0, mode = it.mode;
    const int q0 = it.q_start, len_q = it.len_q, k0 = it.k_start, len_k = it.len_k;
    const int i0 = it.i0, i1 = it.i1;
    const __global uchar *mask_head = mask + it.mask_offset;

    /* This lane's rows: g and g + 8 of each of the warp's MW row blocks, tile rows
     * row0 + 16 mi + 8 h; tile row r is position i0 + r / HT of head head0 + r % HT. */
    uint row0 = warp * MW * 16 + g;

    /* Q tile, 16 bytes per copy; rows past the item read zeros. */
    __local uchar *sw = (__local uchar *)smem;
    for (int e = lid; e < BM * CH; e += WG) {
        const int r = e / CH, c = e % CH;
        const int i = i0 + r / HT, h = head0 + r % HT;
        uint4 x = (uint4)(0u);
        if (i < i1) x = ((const __global uint4 *)q)[((size_t)elattn_q_offset(&prm, q0 + i, h) + c * 8) / 8];
        *(__local uint4 *)(sw + Q_AT + toff(r, c)) = x;
    }

    float acc[MW][DB][4], m_run[MW][2], l_run[MW][2];
    UNROLL for (int mi = 0; mi < MW; ++mi) {
        UNROLL for (int d = 0; d < DB; ++d) acc[mi][d][0] = acc[mi][d][1] = acc[mi][d][2] = acc[mi][d][3] = 0.0f;
        m_run[mi][0] = m_run[mi][1] = -INFINITY;
        l_run[mi][0] = l_run[mi][1] = 0.0f;
    }
    const float sl2 = prm.scale_log2;

    /* ldmatrix row addresses of this lane (see the fragment table above):
     * A (Q, 16 rows x 16 cols of row block mi): matrix lane / 8 = (rows +8 if odd, cols +8 if >= 2);
     * B of S (K rows = keys, not transposed): matrices (keys 0-7, d 0-7), (keys 0-7, d 8-15),
     *   (keys 8-15, d 0-7), (keys 8-15, d 8-15) = b0, b1 of key block 2np, then of 2np + 1;
     * B of O (V rows = keys, transposed): (keys 0-7, d 0-7), (keys 8-15, d 0-7),
     *   (keys 0-7, d 8-15), (keys 8-15, d 8-15) = b0, b1 of column block 2dp, then of 2dp + 1.
     * In both layouts toff(row + 16 i, chunk + 8 j) = toff(row, chunk) + toff(16 i, 8 j) for a chunk
     * below 8, so four addresses per operand (k-steps 0-3) plus constants reach every fragment. */
    const int qa_row = warp * MW * 16 + lane % 16, qa_chunk = lane / 16;
    const int kb_row = (lane / 16) * 8 + lane % 8, kb_chunk = (lane / 8) & 1;
    const int vb_row = ((lane / 8) & 1) * 8 + lane % 8, vb_chunk = lane / 16;
    uint qa[4], kb[4], vb[4];
    UNROLL for (int j = 0; j < 4; ++j) {
        qa[j] = lds_at(sb, Q_AT + toff(qa_row, 2 * j + qa_chunk));
        kb[j] = lds_at(sb, K_AT + toff(kb_row, 2 * j + kb_chunk));
        vb[j] = lds_at(sb, V_AT + toff(vb_row, 2 * j + vb_chunk));
    }

    elattn_tile_walk walk;
    elattn_walk_init(&walk, mode, prm.causal, len_q, len_k, i0, i1, prm.sink, prm.local, BN, mask_head,
                     prm.mask_kblocks, prm.block_size);
    int cls;
    int jt = elattn_walk_next(&walk, 0, &cls);
    uint4 kr[KV_COPIES], vr[KV_COPIES]; /* the next key tile's K and V rows, on their way */
    if (jt < walk.end) kv_fetch(kr, vr, &prm, table, it.b, k0, len_k, hk, jt * BN, k, v, lid);
    while (jt < walk.end) {
        const int j0 = jt * BN;
        /* The lane's values, opaque once per tile: otherwise the compiler hoists all it computes
         * from them out of this loop (every fragment's address, 80 at D128, MW 2, BN 64; every
         * row's mask state), one register each, and spills. */
        opaque(&row0);
        UNROLL for (int j = 0; j < 4; ++j) {
            opaque(&qa[j]);
            opaque(&kb[j]);
            opaque(&vb[j]);
        }

        barrier(CLK_LOCAL_MEM_FENCE); /* Q is stored; the previous K and V are consumed */
        UNROLL for (int x = 0; x < KV_COPIES; ++x) {
            const int e = lid + x * WG;
            if (e < BN * CH) {
                *(__local uint4 *)(sw + K_AT + toff(e / CH, e % CH)) = kr[x];
                *(__local uint4 *)(sw + V_AT + toff(e / CH, e % CH)) = vr[x];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        /* the walk's next tile: its loads are in flight while this one is computed */
        int cls_next;
        const int jt_next = elattn_walk_next(&walk, jt + 1, &cls_next);
        if (jt_next < walk.end) kv_fetch(kr, vr, &prm, table, it.b, k0, len_k, hk, jt_next * BN, k, v, lid);

        /* S = Q K^T: this warp's 16 MW rows x BN keys; each K fragment serves every row block. */
        float s[MW][NB][4];
        UNROLL for (int mi = 0; mi < MW; ++mi) {
            UNROLL for (int n = 0; n < NB; ++n) s[mi][n][0] = s[mi][n][1] = s[mi][n][2] = s[mi][n][3] = 0.0f;
        }
        UNROLL for (int kk = 0; kk < KD; ++kk) {
            uint a[MW][4];
            UNROLL for (int mi = 0; mi < MW; ++mi)
                ldsm_x4(a[mi], sb, qa[kk % 4] + toff(16 * mi, 8 * (kk / 4)), xw, lane);
            UNROLL for (int np = 0; np < NB / 2; ++np) {
                uint b[4];
                ldsm_x4(b, sb, kb[kk % 4] + toff(16 * np, 8 * (kk / 4)), xw, lane);
                UNROLL for (int mi = 0; mi < MW; ++mi) {
                    mma16816(s[mi][2 * np], a[mi], b[0], b[1], xw, lane);
                    mma16816(s[mi][2 * np + 1], a[mi], b[2], b[3], xw, lane);
                }
            }
        }

        /* Per-pair rule where the walk says a pair may be hidden (keys past the end included). */
        if (cls == ELATTN_TILE_PARTIAL) mma_rows_mask(s, &prm, mode, row0, t, j0, i0, i1, len_q, len_k, mask_head);

        mma_rows_softmax(s, m_run, l_run, acc, sl2, xw, lane); /* online, log2 units */

        /* O += P V: key block pair (2kc, 2kc + 1) of S is the A fragment of k-step kc; each V
         * fragment serves every row block. */
        UNROLL for (int kc = 0; kc < BN / 16; ++kc) {
            uint a[MW][4];
            mma_rows_p(a, s, kc, xw, lane);
            UNROLL for (int dp = 0; dp < HD / 16; ++dp) {
                uint b[4];
                ldsm_x4_trans(b, sb, vb[dp % 4] + toff(16 * kc, 8 * (dp / 4)), xw, lane);
                UNROLL for (int mi = 0; mi < MW; ++mi) {
                    mma16816(acc[mi][2 * dp], a[mi], b[0], b[1], xw, lane);
                    mma16816(acc[mi][2 * dp + 1], a[mi], b[2], b[3], xw, lane);
                }
            }
        }
        jt = jt_next;
        cls = cls_next;
    }

    mma_rows_store(acc, m_run, l_run, &prm, o, lse, row0, t, i0, i1, q0, head0, xw, lane);
}

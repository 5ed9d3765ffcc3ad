/*
 * The family "wgmma" (opencl.attn.wgmma): attention on Hopper's warpgroup MMA from OpenCL
 * (wgmma_warpgroup.cl says how sm_90a code comes out of NVIDIA's OpenCL compiler). Same work
 * list, walk, masking, online softmax and epilogue as attn_mma_async.cl (read that first; the
 * row code is attn_mma_rows.cl's, with MW 1); what differs is the product:
 *
 * - One warpgroup (4 warps, 128 work-items) per 64 tile rows, one or two per work-group (BM 64
 *   or 128), warp w the rows 16 w .. 16 w + 15: the layout of a wgmma accumulator is, warp by
 *   warp, mma.sync's C fragments, so attn_mma_rows.cl's code runs on S and O as it stands. Two
 *   warpgroups share each K and V tile (half the copies per row of BM 64) and issue their own
 *   chains on it.
 * - S = Q K^T is KD wgmmas of m64n<BN>k16: A is Q's fragment of the k-step, held in registers
 *   for the whole item (loaded once by ldmatrix), B the K tile in local memory (K-major).
 * - O += P V is BN / 16 wgmmas of m64n<HD>k16: A is P's fragment (mma_rows_p), B the V tile
 *   read MN-major (imm-trans-b), so V is copied as its rows are.
 * - K and V tiles are laid out as wgmma's no-swizzle core matrices: 8 keys x 16 bytes of a row,
 *   128 contiguous bytes, key groups HD x 16 bytes apart, 16-byte chunks of the row 128 bytes
 *   apart (wtoff). For K that is LBO 128 (next 8 of the head dim) and SBO HD x 16 (next 8 keys);
 *   for V, whose N is the head dim, the same bytes are SBO 128 and LBO HD x 16.
 *
 * Local memory, NVIDIA's 48 KiB for an OpenCL work-group, holds K and V tiles of BN x HD x 2 bytes
 * in one of attn_mma_async.cl's two schedules:
 * - KV2, where four tiles and the Q staging beside two fit (D 128 with BN 32, D 64 with BN 64): K and V
 *   double-buffered, stage s = (K, V). Top of tile t: wait for stage t % 2, one barrier, start
 *   tile t+1's K and V into the other stage; then S, softmax, P V. Tile t+1 loads during all of
 *   tile t. Q is staged for its ldmatrix from stage 1 on.
 * - K2V1 otherwise (D 128 with BN 64, D 64 with BN 128): K double-buffered and
 *   one V. Top of tile t: wait for K_t, barrier, start V_t and then K_t+1; S and the softmax run
 *   while V_t lands; wait for V_t, barrier, P V. Q is staged in K's second buffer and V.
 * Before each barrier that publishes copies, wg_proxy_fence makes them visible to wgmma's reads.
 * Each wgmma chain is waited for before the next barrier, so a buffer a barrier frees is read by
 * nobody.
 *
 * Compile-time: ELATTN_HEAD_DIM (64 or 128), ELATTN_TILE_M (64 or 128), ELATTN_TILE_N (32, 64
 * or 128), ELATTN_WARP_M 1, ELATTN_WG 2 x ELATTN_TILE_M, ELATTN_HEADS_PER_TILE, ELATTN_STORAGE (F16
 * or BF16).
 */

#if MW != 1 || (BM != 64 && BM != 128) || WG != 2 * BM || (HD != 64 && HD != 128) || \
    (BN != 32 && BN != 64 && BN != 128) || BN * HD > 8192 || BM % HT != 0
#error "inconsistent wgmma tile configuration"
#endif

/* ---- local memory: attn_mma_async.cl's rule and layouts (opencl_attn.c sizes both with
 * async_local_bytes; keep the three in step) ------------------------------------------------ */
#define KV_TILE (BN * HD * 2)
#define Q_TILE (BM * TILE_ROW_BYTES)
#define MAX2(a, b) ((a) > (b) ? (a) : (b))
#if MAX2(4 * KV_TILE, 2 * KV_TILE + Q_TILE) <= 49152
#define SCHED_KV2 1
#define K_AT(s) ((s) * 2 * KV_TILE) /* stage s: K, then V */
#define V_AT(s) ((s) * 2 * KV_TILE + KV_TILE)
#define Q_AT (2 * KV_TILE) /* stage 1 and on, free until the loop's first copies */
#define SMEM_BYTES MAX2(4 * KV_TILE, 2 * KV_TILE + Q_TILE)
#else
#define SCHED_KV2 0
#define K_AT(s) ((s) * KV_TILE) /* K of stages 0 and 1, then the one V */
#define V_AT(s) (2 * KV_TILE)
#define Q_AT KV_TILE /* K's second buffer and V, free until the loop's first copies */
#define SMEM_BYTES MAX2(3 * KV_TILE, KV_TILE + Q_TILE)
#endif
#if SMEM_BYTES > 49152
#error "wgmma tiles exceed 48 KiB of local memory"
#endif
#define GROUP_BYTES (HD * 16) /* 8 keys of the tile */

/* The chains' step counts as literals (wgmma_warpgroup.cl writes each shape out): KD for S = Q K^T,
 * BN / 16 for O += P V. */
#if HD == 128
#define S_STEPS 8
#else
#define S_STEPS 4
#endif
#if BN == 128
#define O_STEPS 8
#elif BN == 64
#define O_STEPS 4
#else
#define O_STEPS 2
#endif

/* Byte offset of 16-byte chunk c of key r's row in a K or V tile (the core-matrix layout above). */
INLINE uint wtoff(uint r, uint c) { return (r / 8) * GROUP_BYTES + c * 128 + (r % 8) * 16; }

#define KV_COPIES (BN * CH / WG) /* BN x CH is a multiple of 256 here */
#define CP_DEPTH (MMA_ROWS_Q_COPIES + 2 * KV_COPIES)

/* This work-item's share of the K (is_v 0) or V rows of the key tile starting at key j0, by
 * cp.async into the tile at shared address `at`. Copy e takes key 8 (e / 16 / (CH / 2)) + (e / 2)
 * % 8 and chunk 2 ((e / 16) % (CH / 2)) + e % 2: a 16-lane half-warp reads 32 contiguous bytes of
 * each of 8 keys (whole sectors) and writes 256 contiguous bytes (no bank conflict). Keys past
 * the end read zeros from the last key's row (P is 0 there). */
INLINE void kv_issue(cp_async_q *cq, uint at, const __global elattn_elem *x, const int is_v,
                     const elattn_attn_params *prm, const __global int *table, int b, int k0, int len_k, int hk,
                     int j0, uint lid)
{
    UNROLL for (int n = 0; n < KV_COPIES; ++n) {
        const uint e = lid + n * WG, blk = e / 16;
        const uint r = 8 * (blk / (CH / 2)) + (e / 2) % 8, c = 2 * (blk % (CH / 2)) + e % 2;
        const int key = j0 + (int)r, ok = key < len_k;
        const long row = elattn_kv_row(prm, table, b, k0, ok ? key : len_k - 1);
        const long off = is_v ? elattn_v_offset(prm, row, hk) : elattn_k_offset(prm, row, hk);
        cp_async16(cq, at + wtoff(r, c), (const __global uint4 *)(x + off + c * 8), ok);
    }
}

/* ---- the kernel (attn_mma.cl's arguments) ---------------------------------------------- */
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_attn_wgmma(const elattn_attn_params prm, const __global elattn_elem *q, const __global elattn_elem *k,
                  const __global elattn_elem *v, __global elattn_elem *o, __global float *lse,
                  const __global uchar *mask, const __global int *meta, const int cu_q_at, const int cu_k_at,
                  const int modes_at, const int items_at, const int table_at)
{
    __local uint4 smem[SMEM_BYTES / 16]; /* uint4: 16-byte aligned, as descriptors need */
    __local uchar *sw = (__local uchar *)smem;
    __local const uchar *sb = sw;

    const int lid = get_local_id(0), warp = lid / 32, lane = lid % 32;
    const int g = lane / 4, t = lane % 4;
    MMA_WARP_EXCHANGE(xw, warp);
#define WG_BASE sb /* what the emulated wgmma reads (wgmma_warpgroup.cl) */
#define WG_XW xw
#define WG_LANE lane
    CP_ASYNC_QUEUE(cq, CP_DEPTH, sw);

    const elattn_work_item item = ((const __global elattn_work_item *)(meta + items_at))[get_group_id(0)];
    const elattn_item_view it =
        elattn_item_decode(&prm, item, HT, PM, meta + cu_q_at, meta + cu_k_at, meta + modes_at);
    const __global int *table = meta + table_at; /* read only when paged */
    const int hk = it.hk, head0 = it.head0, mode = it.mode;
    const int q0 = it.q_start, len_q = it.len_q, k0 = it.k_start, len_k = it.len_k;
    const int i0 = it.i0, i1 = it.i1;
    const __global uchar *mask_head = mask + it.mask_offset;

    uint row0 = warp * 16 + g; /* this lane's tile rows: row0 and row0 + 8 */

    /* Q (mma_warp.cl's row layout, for ldmatrix) and the first K tile (and V with KV2), in flight
     * together; rows past the item read zeros from the item's first row. */
    mma_rows_q_issue(&cq, lds_at(sb, Q_AT), q, &prm, q0, i0, i1, head0, lid);
    cp_async_commit(&cq);

    elattn_tile_walk walk;
    elattn_walk_init(&walk, mode, prm.causal, len_q, len_k, i0, i1, prm.sink, prm.local, BN, mask_head,
                     prm.mask_kblocks, prm.block_size);
    int cls;
    int jt = elattn_walk_next(&walk, 0, &cls);
    if (jt < walk.end) {
        kv_issue(&cq, lds_at(sb, K_AT(0)), k, 0, &prm, table, it.b, k0, len_k, hk, jt * BN, lid);
#if SCHED_KV2
        kv_issue(&cq, lds_at(sb, V_AT(0)), v, 1, &prm, table, it.b, k0, len_k, hk, jt * BN, lid);
#endif
    }
    cp_async_commit(&cq); /* a group even when empty: the waits count groups */

    /* Q's A fragments, once (the first K tile may still be on its way) */
    cp_async_wait(&cq, 1);
    barrier(CLK_LOCAL_MEM_FENCE);
    uint qf[KD][4];
    {
        const int qa_row = warp * 16 + lane % 16, qa_chunk = lane / 16;
        UNROLL for (int kk = 0; kk < KD; ++kk)
            ldsm_x4(qf[kk], sb, lds_at(sb, Q_AT + toff(qa_row, 2 * kk + qa_chunk)), xw, lane);
    }

    float acc[1][DB][4], m_run[1][2], l_run[1][2];
    UNROLL for (int d = 0; d < DB; ++d) acc[0][d][0] = acc[0][d][1] = acc[0][d][2] = acc[0][d][3] = 0.0f;
    m_run[0][0] = m_run[0][1] = -INFINITY;
    l_run[0][0] = l_run[0][1] = 0.0f;
    const float sl2 = prm.scale_log2;

    uint lid_t = lid; /* the copies' lane value, opaque per tile (attn_mma_async.cl's reason) */
    int stage = 0;
    while (jt < walk.end) {
        const int j0 = jt * BN;
        opaque(&row0);
        opaque(&lid_t);

        cp_async_wait(&cq, 0); /* K_t (V_t too with KV2) */
        wg_proxy_fence();
        barrier(CLK_LOCAL_MEM_FENCE); /* everyone's landed; everyone is done with tile t-1 and Q */
        int cls_next;
        const int jt_next = elattn_walk_next(&walk, jt + 1, &cls_next);
#if SCHED_KV2
        if (jt_next < walk.end) {
            kv_issue(&cq, lds_at(sb, K_AT(stage ^ 1)), k, 0, &prm, table, it.b, k0, len_k, hk, jt_next * BN, lid_t);
            kv_issue(&cq, lds_at(sb, V_AT(stage ^ 1)), v, 1, &prm, table, it.b, k0, len_k, hk, jt_next * BN, lid_t);
        }
        cp_async_commit(&cq);
#else
        kv_issue(&cq, lds_at(sb, V_AT(0)), v, 1, &prm, table, it.b, k0, len_k, hk, j0, lid_t);
        cp_async_commit(&cq);
        if (jt_next < walk.end)
            kv_issue(&cq, lds_at(sb, K_AT(stage ^ 1)), k, 0, &prm, table, it.b, k0, len_k, hk, jt_next * BN, lid_t);
        cp_async_commit(&cq);
#endif

        /* S = Q K^T: KD k-steps of 16 along the head dim, chunks 2 kk and 2 kk + 1 of K's rows
         * (each step's descriptor 256 bytes on: 16 in the descriptor's address field). */
        float s[1][NB][4];
        const wg_desc k_desc = wg_make_desc(lds_at(sb, K_AT(stage)), 128, GROUP_BYTES);
#define Q_FRAG(kk, x) qf[kk][x]
#define K_DESC(kk) (k_desc + 16 * (kk))
        wgmma_chain_set(BN, S_STEPS, 0, s[0], Q_FRAG, K_DESC);

        /* Per-pair rule where the walk says a pair may be hidden (keys past the end included). */
        if (cls == ELATTN_TILE_PARTIAL) mma_rows_mask(s, &prm, mode, row0, t, j0, i0, i1, len_q, len_k, mask_head);

        mma_rows_softmax(s, m_run, l_run, acc, sl2, xw, lane); /* online, log2 units */

        /* P's A fragments (all of them are the P V chain's operands) */
        uint p[BN / 16][1][4];
        UNROLL for (int kc = 0; kc < BN / 16; ++kc) mma_rows_p(p[kc], s, kc, xw, lane);

#if !SCHED_KV2
        cp_async_wait(&cq, 1); /* V_t; K_t+1 may still be on its way */
        wg_proxy_fence();
        barrier(CLK_LOCAL_MEM_FENCE);
#endif

        /* O += P V: BN / 16 k-steps of 16 keys, key groups 2 kc and 2 kc + 1 of the V tile (each
         * step's descriptor 2 GROUP_BYTES on). */
        const wg_desc v_desc = wg_make_desc(lds_at(sb, V_AT(stage)), GROUP_BYTES, 128);
#define P_FRAG(kc, x) p[kc][0][x]
#define V_DESC(kc) (v_desc + (GROUP_BYTES / 8) * (kc))
        wgmma_chain_add(HD, O_STEPS, 1, acc[0], P_FRAG, V_DESC);

        jt = jt_next;
        cls = cls_next;
        stage ^= 1;
    }
    cp_async_wait(&cq, 0); /* none left landing in local memory after the work-group */

    mma_rows_store(acc, m_run, l_run, &prm, o, lse, row0, t, i0, i1, q0, head0, xw, lane);
#undef WG_BASE
#undef WG_XW
#undef WG_LANE
#undef Q_FRAG
#undef K_DESC
#undef P_FRAG
#undef V_DESC
}

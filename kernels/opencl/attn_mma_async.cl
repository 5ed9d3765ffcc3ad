/*
 * The family "mma_async" (opencl.attn.mma_async): attn_mma.cl's tensor-core
 * attention rebuilt around FlashAttention-2's pipeline, for head dims up to
 * 128. Same work list and walk as attn_mma.cl (read that first), and the same
 * masking, online softmax and epilogue (attn_mma_rows.cl, which the program
 * puts before this file); what differs is how K and V reach local memory and
 * where Q lives:
 *
 * - K and V move global -> local by cp.async (mma_warp.cl): the next tile is
 *   in flight while this one is computed, without the registers attn_mma.cl's
 *   kv_fetch holds it in, and without its stores to local memory.
 * - MW 1 (one warp per 16 rows): Q's A fragments stay in registers for the
 *   whole item (KD x 4: 32 at D 128), loaded once through local memory with
 *   ldmatrix, so local memory holds only K and V (BN 64 fits at D 128) and
 *   no k-step reads Q again. With O (DB x 4: 64 at D 128) and S (BN / 2)
 *   also in registers, D above 128 does not fit in 255; the host refuses it.
 * - MW 2 (32 rows per warp, as FlashAttention-2's 4 warps x 128 rows): each K
 *   and V fragment serves two row blocks (a quarter fewer ldmatrix per mma
 *   than MW 1), but Q stays in local memory: at D 128, Q 32 KiB + K and V of
 *   BN 32.
 *
 * Local memory: tiles in mma_warp.cl's row layout, at most NVIDIA's 48 KiB
 * per work-group. Three schedules, chosen below from MW and the tile sizes:
 *
 * KV2 (MW 1, K and V double-buffered: four tiles fit, e.g. D 128 with
 * BN <= 32, D 64 with BN 64): stage s = (K, V). Top of tile t: wait for stage
 * t % 2, one barrier, start tile t+1's K and V into the other stage; then
 * S = Q K^T, softmax, P V. Tile t+1 loads during all of tile t; one barrier
 * per tile.
 *
 * K2V1 (MW 1 otherwise, e.g. D 128, BN 64: 3 x 16 KiB = 48 KiB): K
 * double-buffered, V single. Top of tile t: wait for K_t, barrier, start V_t,
 * then K_t+1 into the other K buffer; S = Q K_t^T and the softmax run while
 * V_t lands; wait for V_t (K_t+1 may still be on its way), barrier, P V.
 *
 * FA2 (MW 2): Q, one K, one V - FlashAttention-2's own order. Top of tile t:
 * wait for K_t, barrier, start V_t; S and softmax run while V_t lands; wait
 * for it, barrier (every warp is done with K_t), start K_t+1; P V runs while
 * K_t+1 lands.
 *
 * In each, a barrier before a copy says every warp is done with what the copy
 * overwrites. With MW 1, Q is staged where the first tile's copies do not go
 * (the second stage), which the loop's first barrier frees again.
 *
 * Compile-time: ELATTN_HEAD_DIM (multiple of 16, <= 128), ELATTN_WARP_M (MW,
 * 1 or 2), ELATTN_TILE_M (16 * MW * warps), ELATTN_TILE_N (keys per tile,
 * multiple of 16), ELATTN_WG (32 * warps), ELATTN_HEADS_PER_TILE,
 * ELATTN_STORAGE (F16 or BF16).
 */

#if (MW != 1 && MW != 2) || BM != 16 * MW * WARPS || WG % 32 != 0 || BN % 16 != 0 || HD % 16 != 0 || HD > 128 || \
    BM % HT != 0
#error "inconsistent mma_async tile configuration"
#endif

/* ---- local memory (keep in step with async_local_bytes in opencl_attn.c) ------------------
 * The limit is NVIDIA's, fixed rather than the device's so that the emulation runs the
 * schedule NVIDIA runs. */
#define LOCAL_LIMIT 49152
#define KV_TILE (BN * TILE_ROW_BYTES)
#define Q_TILE (BM * TILE_ROW_BYTES)
#define MAX2(a, b) ((a) > (b) ? (a) : (b))
#define SCHED_KV2 1
#define SCHED_K2V1 2
#define SCHED_FA2 3
#if MW == 2
#define SCHED SCHED_FA2
#define Q_AT 0
#define K_AT(s) Q_TILE
#define V_AT(s) (Q_TILE + KV_TILE)
#define SMEM_BYTES (Q_TILE + 2 * KV_TILE)
#elif MAX2(4 * KV_TILE, 2 * KV_TILE + Q_TILE) <= LOCAL_LIMIT
#define SCHED SCHED_KV2
#define K_AT(s) ((s) * 2 * KV_TILE) /* stage s: K, then V */
#define V_AT(s) ((s) * 2 * KV_TILE + KV_TILE)
#define Q_AT (2 * KV_TILE) /* stage 1 */
#define SMEM_BYTES MAX2(4 * KV_TILE, 2 * KV_TILE + Q_TILE)
#else
#define SCHED SCHED_K2V1
#define K_AT(s) ((s) * KV_TILE) /* K of stages 0 and 1, then the one V */
#define V_AT(s) (2 * KV_TILE)
#define Q_AT KV_TILE /* K stage 1 and V */
#define SMEM_BYTES MAX2(3 * KV_TILE, KV_TILE + Q_TILE)
#endif
#if SMEM_BYTES > LOCAL_LIMIT
#error "mma_async tiles exceed 48 KiB of local memory"
#endif

#define KV_COPIES ((BN * CH + WG - 1) / WG) /* of a K (or V) tile */
#define CP_DEPTH (MMA_ROWS_Q_COPIES + 2 * KV_COPIES) /* the most a work-item has pending (the emulation's queue) */

/* This work-item's share of the K (is_v 0) or V rows of the key tile starting at key j0, by
 * cp.async to the tile at shared address `at`. Keys past the end read zeros (P = 0 there) from
 * the last key's row: a valid address, and no block-table entry past the sequence's. */
INLINE void kv_issue(cp_async_q *cq, uint at, const __global elattn_elem *x, const int is_v,
                     const elattn_attn_params *prm, const __global int *table, int b, int k0, int len_k, int hk,
                     int j0, uint lid)
{
    UNROLL for (int n = 0; n < KV_COPIES; ++n) {
        const uint e = lid + n * WG, r = e / CH, c = e % CH; /* unsigned: / and % by a power of 2 are shifts */
        if (BN * CH % WG == 0 || e < BN * CH) { /* lid < WG: the test is needed only for a partial round */
            const int key = j0 + (int)r, ok = key < len_k;
            const long row = elattn_kv_row(prm, table, b, k0, ok ? key : len_k - 1);
            const long off = is_v ? elattn_v_offset(prm, row, hk) : elattn_k_offset(prm, row, hk);
            cp_async16(cq, at + toff(r, c), (const __global uint4 *)(x + off + c * 8), ok);
        }
    }
}

/* ---- the kernel (attn_mma.cl's arguments) ---------------------------------------------- */
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
elattn_attn_mma_async(const elattn_attn_params prm, const __global elattn_elem *q, const __global elattn_elem *k,
                      const __global elattn_elem *v, __global elattn_elem *o, __global float *lse,
                      const __global uchar *mask, const __global int *meta, const int cu_q_at, const int cu_k_at,
                      const int modes_at, const int items_at, const int table_at)
{
    __local uint4 smem[SMEM_BYTES / 16]; /* uint4: 16-byte aligned */
    __local uchar *sw = (__local uchar *)smem;
    __local const uchar *sb = sw;

    const int lid = get_local_id(0), warp = lid / 32, lane = lid % 32;
    const int g = lane / 4, t = lane % 4;
    MMA_WARP_EXCHANGE(xw, warp);
    CP_ASYNC_QUEUE(cq, CP_DEPTH, sw);

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

    /* Q, then the first tile's K (and V with KV2), in flight together; rows past the item read
     * zeros from the item's first row. */
    mma_rows_q_issue(&cq, lds_at(sb, Q_AT), q, &prm, q0, i0, i1, head0, lid);
    cp_async_commit(&cq);

    elattn_tile_walk walk;
    elattn_walk_init(&walk, mode, prm.causal, len_q, len_k, i0, i1, prm.sink, prm.local, BN, mask_head,
                     prm.mask_kblocks, prm.block_size);
    int cls;
    int jt = elattn_walk_next(&walk, 0, &cls);
    if (jt < walk.end) {
        kv_issue(&cq, lds_at(sb, K_AT(0)), k, 0, &prm, table, it.b, k0, len_k, hk, jt * BN, lid);
#if SCHED == SCHED_KV2
        kv_issue(&cq, lds_at(sb, V_AT(0)), v, 1, &prm, table, it.b, k0, len_k, hk, jt * BN, lid);
#endif
    }
    cp_async_commit(&cq); /* a group even when empty: the waits count groups */

    /* ldmatrix row addresses of this lane (attn_mma.cl's): four per operand (k-steps 0-3) plus
     * constants reach every fragment; K and V's are within a tile, the stage's offset is added
     * per tile. A: matrix lane / 8 = (rows +8 if odd, cols +8 if >= 2). */
    const int qa_row = warp * MW * 16 + lane % 16, qa_chunk = lane / 16;
#if MW == 1
    /* Q's A fragments, once (the first tile's copies may still be on their way) */
    cp_async_wait(&cq, 1);
    barrier(CLK_LOCAL_MEM_FENCE);
    uint qf[KD][4];
    UNROLL for (int kk = 0; kk < KD; ++kk)
        ldsm_x4(qf[kk], sb, lds_at(sb, Q_AT + toff(qa_row, 2 * kk + qa_chunk)), xw, lane);
#else
    uint qa[4];
    UNROLL for (int j = 0; j < 4; ++j) qa[j] = lds_at(sb, Q_AT + toff(qa_row, 2 * j + qa_chunk));
#endif
    const int kb_row = (lane / 16) * 8 + lane % 8, kb_chunk = (lane / 8) & 1;
    const int vb_row = ((lane / 8) & 1) * 8 + lane % 8, vb_chunk = lane / 16;
    uint kb[4], vb[4];
    UNROLL for (int j = 0; j < 4; ++j) {
        kb[j] = lds_at(sb, toff(kb_row, 2 * j + kb_chunk));
        vb[j] = lds_at(sb, toff(vb_row, 2 * j + vb_chunk));
    }

    float acc[MW][DB][4], m_run[MW][2], l_run[MW][2];
    UNROLL for (int mi = 0; mi < MW; ++mi) {
        UNROLL for (int d = 0; d < DB; ++d) acc[mi][d][0] = acc[mi][d][1] = acc[mi][d][2] = acc[mi][d][3] = 0.0f;
        m_run[mi][0] = m_run[mi][1] = -INFINITY;
        l_run[mi][0] = l_run[mi][1] = 0.0f;
    }
    const float sl2 = prm.scale_log2;

    uint lid_t = lid; /* the copies' lane value, opaque per tile like row0 */
    int stage = 0;
    while (jt < walk.end) {
        const int j0 = jt * BN;
        /* The lane's values, opaque once per tile (attn_mma.cl's reason): otherwise what is
         * computed from them - every fragment's and copy's address - is hoisted out of the loop,
         * a register each. */
        opaque(&row0);
        opaque(&lid_t);
        UNROLL for (int j = 0; j < 4; ++j) {
            opaque(&kb[j]);
            opaque(&vb[j]);
#if MW == 2
            opaque(&qa[j]);
#endif
        }

        cp_async_wait(&cq, 0); /* K_t (V_t too with KV2; Q and K_0 on FA2's first tile) */
        barrier(CLK_LOCAL_MEM_FENCE); /* everyone's landed; everyone is done with tile t-1 (and Q) */
        int cls_next;
        const int jt_next = elattn_walk_next(&walk, jt + 1, &cls_next);
#if SCHED == SCHED_KV2
        if (jt_next < walk.end) {
            kv_issue(&cq, lds_at(sb, K_AT(stage ^ 1)), k, 0, &prm, table, it.b, k0, len_k, hk, jt_next * BN, lid_t);
            kv_issue(&cq, lds_at(sb, V_AT(stage ^ 1)), v, 1, &prm, table, it.b, k0, len_k, hk, jt_next * BN, lid_t);
        }
        cp_async_commit(&cq);
#elif SCHED == SCHED_K2V1
        kv_issue(&cq, lds_at(sb, V_AT(0)), v, 1, &prm, table, it.b, k0, len_k, hk, j0, lid_t);
        cp_async_commit(&cq);
        if (jt_next < walk.end)
            kv_issue(&cq, lds_at(sb, K_AT(stage ^ 1)), k, 0, &prm, table, it.b, k0, len_k, hk, jt_next * BN, lid_t);
        cp_async_commit(&cq);
#else
        kv_issue(&cq, lds_at(sb, V_AT(0)), v, 1, &prm, table, it.b, k0, len_k, hk, j0, lid_t);
        cp_async_commit(&cq);
#endif
        const uint k_at = K_AT(stage), v_at = V_AT(stage);

        /* S = Q K^T: this warp's 16 MW rows x BN keys; each K fragment serves every row block. */
        float s[MW][NB][4];
        UNROLL for (int mi = 0; mi < MW; ++mi) {
            UNROLL for (int n = 0; n < NB; ++n) s[mi][n][0] = s[mi][n][1] = s[mi][n][2] = s[mi][n][3] = 0.0f;
        }
        UNROLL for (int kk = 0; kk < KD; ++kk) {
#if MW == 1
            uint(*a)[4] = &qf[kk];
#else
            uint a[MW][4];
            UNROLL for (int mi = 0; mi < MW; ++mi)
                ldsm_x4(a[mi], sb, qa[kk % 4] + toff(16 * mi, 8 * (kk / 4)), xw, lane);
#endif
            UNROLL for (int np = 0; np < NB / 2; ++np) {
                uint b[4];
                ldsm_x4(b, sb, kb[kk % 4] + k_at + toff(16 * np, 8 * (kk / 4)), xw, lane);
                UNROLL for (int mi = 0; mi < MW; ++mi) {
                    mma16816(s[mi][2 * np], a[mi], b[0], b[1], xw, lane);
                    mma16816(s[mi][2 * np + 1], a[mi], b[2], b[3], xw, lane);
                }
            }
        }

        /* Per-pair rule where the walk says a pair may be hidden (keys past the end included). */
        if (cls == ELATTN_TILE_PARTIAL) mma_rows_mask(s, &prm, mode, row0, t, j0, i0, i1, len_q, len_k, mask_head);

        mma_rows_softmax(s, m_run, l_run, acc, sl2, xw, lane); /* online, log2 units */

#if SCHED == SCHED_K2V1
        cp_async_wait(&cq, 1); /* V_t; K_t+1 may still be on its way */
        barrier(CLK_LOCAL_MEM_FENCE);
#elif SCHED == SCHED_FA2
        cp_async_wait(&cq, 0); /* V_t */
        barrier(CLK_LOCAL_MEM_FENCE); /* everyone's landed; everyone is done with K_t */
        if (jt_next < walk.end)
            kv_issue(&cq, lds_at(sb, K_AT(0)), k, 0, &prm, table, it.b, k0, len_k, hk, jt_next * BN, lid_t);
        cp_async_commit(&cq);
#endif
        /* O += P V: key block pair (2kc, 2kc + 1) of S is the A fragment of k-step kc; each V
         * fragment serves every row block. */
        UNROLL for (int kc = 0; kc < BN / 16; ++kc) {
            uint a[MW][4];
            mma_rows_p(a, s, kc, xw, lane);
            UNROLL for (int dp = 0; dp < HD / 16; ++dp) {
                uint b[4];
                ldsm_x4_trans(b, sb, vb[dp % 4] + v_at + toff(16 * kc, 8 * (dp / 4)), xw, lane);
                UNROLL for (int mi = 0; mi < MW; ++mi) {
                    mma16816(acc[mi][2 * dp], a[mi], b[0], b[1], xw, lane);
                    mma16816(acc[mi][2 * dp + 1], a[mi], b[2], b[3], xw, lane);
                }
            }
        }
        jt = jt_next;
        cls = cls_next;
        stage ^= 1;
    }
    cp_async_wait(&cq, 0); /* none left landing in local memory after the work-group (FA2's Q, no tile) */

    mma_rows_store(acc, m_run, l_run, &prm, o, lse, row0, t, i0, i1, q0, head0, xw, lane);
}

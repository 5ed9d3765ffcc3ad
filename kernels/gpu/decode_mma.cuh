/*
 * Decode over the per-head KV cache on tensor cores (kernels/SPEC.md section 9): the CUDA
 * build's chunk kernel for fp16 / bf16 on sm_80+ (decode.cuh has the portable one, the merge and
 * the launch that picks between them; the plan picks, gpu_decode.cu).
 *
 * One block of WARPS warps per work item (sequence, KV head, split-KV chunk, DECODE_MMA_ROWS = 16
 * query rows of the group: (new token, query head) pairs, the M of mma.sync m16n8k16; rows past
 * the group's are zero queries, never stored). The chunk's slots are walked in tiles of BN = 64
 * slots: K and V rows into a STAGES-deep cp.async ring of XOR-swizzled shared memory (each 16-byte
 * piece's address from its own slot: a tile spans pages, looked up a tile ahead), so the cache
 * crosses HBM once per step and several tiles are in flight. Warp w takes slots [16 w, 16 w + 16) of every tile:
 * S = Q K^T (16 x 16, Q fragments in registers, K through ldmatrix), the slots past the chunk and
 * the pairs the decode rule hides set to -inf, online softmax in the log2 domain (quad
 * reductions), P rounded to the storage type as the A fragment of O += P V (V through
 * ldmatrix.trans). The warps' states are combined through shared memory at the end
 * (decode_store_rows). Head dims are padded to 64, 128 or 256 with zero-filled columns.
 * Needs vendor.h, common.cuh, dispatch.cuh, launch.h, decode_common.cuh and ptx/sm80.cuh.
 */
#ifndef ELATTN_GPU_DECODE_MMA_CUH
#define ELATTN_GPU_DECODE_MMA_CUH

#include <type_traits>

namespace ELATTN_GPU_NS {
namespace decode_mma {

using namespace sm80;

template <int DMAX_>
struct cfg {
    static constexpr int DMAX = DMAX_, WARPS = 4, NT = WARPS * 32, R = DECODE_MMA_ROWS;
    static constexpr int BN = WARPS * 16;                 /* slots per tile: 16 per warp */
    static constexpr int TILE_BYTES = BN * DMAX * 2;      /* K or V of a tile */
    static constexpr int STAGE_BYTES = 2 * TILE_BYTES;
    /* About 96 KB of ring (at least 3 stages): two blocks per H100/H200 SM, each with two tiles
     * in flight while it computes on a third, 64-128 KB of reads in flight per SM, what
     * covers HBM latency at full bandwidth (D 256: one block of 192 KB). */
    static constexpr int RING = 96 * 1024;
    static constexpr int STAGES = RING / STAGE_BYTES > 3 ? RING / STAGE_BYTES : 3;
    /* Q's fragments stay in registers up to D 128; at D 256 they would spill (with O's 128
     * accumulators): Q then sits in shared memory after the ring, read per tile by ldmatrix. */
    static constexpr bool Q_IN_REGS = DMAX <= 128;
    static constexpr int Q_BYTES = Q_IN_REGS ? 0 : R * DMAX * 2;
    static constexpr int COMBINE_BYTES = decode_states<R, WARPS, DMAX>::BYTES; /* over the ring, at the end */
    static constexpr int RING_BYTES = STAGES * STAGE_BYTES > COMBINE_BYTES ? STAGES * STAGE_BYTES : COMBINE_BYTES;
    static constexpr int SMEM = RING_BYTES + Q_BYTES;
    static_assert(BN * (DMAX / 8) % NT == 0, "a tile's 16-byte pieces divide evenly over the block");
    static_assert(R == 16, "one m16 row block");
};

/* This thread's share of a tile: 16-byte piece `piece` of rows ROW_STEP x it + first_row. */
template <int DMAX>
struct tile_share {
    static constexpr int PIECES = DMAX / 8; /* 16-byte pieces per row */
    static constexpr int ROWS = cfg<DMAX>::BN * PIECES / cfg<DMAX>::NT, ROW_STEP = cfg<DMAX>::NT / PIECES;
    static_assert(cfg<DMAX>::NT % PIECES == 0, "a thread keeps one piece column");
    static __device__ __forceinline__ int first_row() { return (int)threadIdx.x / PIECES; }
    static __device__ __forceinline__ int piece() { return (int)threadIdx.x % PIECES; }
};

/* The pages of this thread's rows of the tile at k0, looked up one tile ahead of their copy:
 * the page-table reads are then in flight while the current tile is computed, not serialised
 * before each tile's copies. Slots are int32 here (a head holds at most INT32_MAX positions):
 * 64-bit slot arithmetic was most of the instructions a tile issues. */
template <int DMAX>
static __device__ __forceinline__ void fetch_pages(int32_t (&page)[tile_share<DMAX>::ROWS], const decode_inputs &in,
                                                   const int32_t *pages, int k0, int end)
{
    using TS = tile_share<DMAX>;
#pragma unroll
    for (int it = 0; it < TS::ROWS; ++it) {
        const int s = k0 + it * TS::ROW_STEP + TS::first_row();
        page[it] = s < end ? pages[s >> in.page_shift] : 0;
    }
}

/* K and V of slots [k0, k0 + BN) of the chunk into a stage (pages from fetch_pages): slot s at
 * byte (page x P + s mod P) x row bytes of the pools (elattn_kv_page_offset, in bytes, with one
 * wide multiply). Slots at or past `end` and columns past D are zero-filled without a read: the
 * mask gives such slots p = 0, and 0 x V must stay 0; zero columns add nothing to Q K^T. A step
 * reads each K/V row once: the copies tag their L2 lines evict-first, so that the cache streaming
 * through L2 does not push out what is read again (call 53, bench/results/2026-12-04-nvidia-h200:
 * 1-4% faster steps at batch 1, up to 2% at 16). */
template <int DMAX>
static __device__ __forceinline__ void load_tile(uint32_t sk, uint32_t sv, const decode_inputs &in,
                                                 const int32_t (&page)[tile_share<DMAX>::ROWS], int k0, int end)
{
    using TS = tile_share<DMAX>;
    const int piece = TS::piece(), shift = in.page_shift, mask = (1 << shift) - 1;
    const uint32_t row_bytes = (uint32_t)in.head_dim * 2u;
    const bool piece_in = piece * 8 < in.head_dim;
    const char *kp = static_cast<const char *>(in.k_pool) + piece * 16;
    const char *vp = static_cast<const char *>(in.v_pool) + piece * 16;
    const uint64_t policy = l2_evict_first_policy();
#pragma unroll
    for (int it = 0; it < TS::ROWS; ++it) {
        const int row = it * TS::ROW_STEP + TS::first_row(), s = k0 + row;
        const bool valid = s < end && piece_in;
        const size_t pool_row = ((size_t)(uint32_t)page[it] << shift) | (uint32_t)(s & mask);
        const size_t off = valid ? pool_row * row_bytes : 0;
        const uint32_t at = swz<DMAX>(row, piece);
        cp_async_16_policy(sk + at, kp + off, valid, policy);
        cp_async_16_policy(sv + at, vp + off, valid, policy);
    }
}

template <typename T, int DT, int DMAX>
__global__ void __launch_bounds__(cfg<DMAX>::NT) chunk_kernel(const ELATTN_GRID_CONSTANT decode_inputs in)
{
    using C = cfg<DMAX>;
    constexpr int R = C::R, KD = DMAX / 16, DB = DMAX / 8, STAGES = C::STAGES;
    ELATTN_DYNAMIC_SHARED_ALIGNED(128, unsigned char, smem);
    const uint32_t s_ring = smem_addr(smem);
    decode_pdl_launch_dependents();

    const decode_meta_view M = decode_meta(in);
    const decode_item item = M.items[blockIdx.x];
    const int i = item.seq, hk = item.head;
    const int Hkv = in.num_kv_heads, G = in.group, D = in.head_dim;
    const decode_head_view head = decode_head(in, M, i, hk);
    const int len = head.len, mode = head.mode, row_base = M.cu_new[i], n = M.cu_new[i + 1] - row_base;
    const int chunks = M.chunks[i * Hkv + hk], part_base = M.part_base[i * Hkv + hk];
    const int32_t *pages = head.pages;
    elattn_i64 s0, s1;
    elattn_decode_split(elattn_kv_slots(mode, in.sink, in.ring, len), chunks, item.chunk, &s0, &s1);
    const int nrows = decode_item_rows(n, G, item.row0, R);
    const elattn_decode_seen seen_by_all = elattn_decode_seen_of(mode, in.sink, in.ring, in.local, len, n);

    const int c0 = (int)s0, c1 = (int)s1; /* int32 slots for the copies (fetch_pages) */
    const int tiles = (c1 - c0 + C::BN - 1) / C::BN;
    /* The page-table reads of the first STAGES tiles are issued together, before any copy: a copy
     * waits for its pages, so reading them tile by tile would put STAGES DRAM round trips in a
     * row before the first computation, which a short item (batch 1: a few tiles) pays in full.
     * The fa-ssa steps at batch 1 (their STREAMING chunks are a few tiles long) took 0.35-0.7 us
     * less, dense ones as long (call 87, bench/results/2026-12-04-nvidia-h200). */
    int32_t first_pages[STAGES][tile_share<DMAX>::ROWS];
#pragma unroll
    for (int t = 0; t < STAGES; ++t) fetch_pages<DMAX>(first_pages[t], in, pages, c0 + t * C::BN, c1);
#pragma unroll
    for (int t = 0; t < STAGES - 1; ++t) {
        if (t < tiles)
            load_tile<DMAX>(s_ring + t * C::STAGE_BYTES, s_ring + t * C::STAGE_BYTES + C::TILE_BYTES, in,
                            first_pages[t], c0 + t * C::BN, c1);
        cp_async_commit(); /* an empty group keeps the wait count uniform */
    }
    int32_t page[tile_share<DMAX>::ROWS]; /* the loop's next copy: tile STAGES - 1 first */
#pragma unroll
    for (int r = 0; r < tile_share<DMAX>::ROWS; ++r) page[r] = first_pages[STAGES - 1][r];

    const int warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
    /* This thread's rows: g (h = 0) and g + 8 (h = 1) of the item. A row past the group's reads
     * as a zero query (its scores are finite, its state is never stored). */
    elattn_i64 pos[2];
    uint32_t qf[C::Q_IN_REGS ? KD : 1][4]; /* A fragments: [kk][h + 2 * (column half)] */
    unsigned char *q_tile = smem + C::RING_BYTES; /* !Q_IN_REGS: [R][DMAX] swizzled */
    const T *q = static_cast<const T *>(in.q);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int r = g + 8 * h, rr = item.row0 + (r < nrows ? r : 0), tok = rr / G;
        pos[h] = (elattn_i64)len - n + tok;
        const T *qrow = q + ((size_t)(row_base + tok) * in.num_q_heads + hk * G + rr % G) * D;
#pragma unroll
        for (int kk = 0; kk < KD; ++kk)
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                const int col = kk * 16 + half * 8 + 2 * t4; /* D is a multiple of 8: col < D covers col + 1 */
                const uint32_t x = r < nrows && col < D ? *reinterpret_cast<const uint32_t *>(qrow + col) : 0u;
                if constexpr (C::Q_IN_REGS)
                    qf[kk][h + 2 * half] = x;
                else if (warp == 0) /* read after the first __syncthreads of the walk */
                    *reinterpret_cast<uint32_t *>(q_tile + swz<DMAX>(r, col / 8) + (col % 8) * 2) = x;
            }
    }

    float o[DB][4], m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.0f, 0.0f};
#pragma unroll
    for (int d = 0; d < DB; ++d) o[d][0] = o[d][1] = o[d][2] = o[d][3] = 0.0f;
    const float sl2 = in.scale_log2;

    /* ldmatrix lane addresses (as attn_mma.cuh): K rows = slots, V transposed. */
    const int k_row = warp * 16 + (lane / 16) * 8 + lane % 8, k_piece = (lane / 8) & 1;
    const int v_row = warp * 16 + ((lane / 8) & 1) * 8 + lane % 8, v_piece = lane / 16;

    for (int t = 0; t < tiles; ++t) {
        cp_async_wait<STAGES - 2>();
        __syncthreads(); /* tile t is in; every warp is done with tile t - 1, whose stage is refilled next */
        const int next = t + STAGES - 1;
        if (next < tiles) {
            const uint32_t st = s_ring + (next % STAGES) * C::STAGE_BYTES;
            load_tile<DMAX>(st, st + C::TILE_BYTES, in, page, c0 + next * C::BN, c1);
            fetch_pages<DMAX>(page, in, pages, c0 + (next + 1) * C::BN, c1);
        }
        cp_async_commit();

        const uint32_t sk = s_ring + (t % STAGES) * C::STAGE_BYTES, sv = sk + C::TILE_BYTES;
        float s[2][4] = {{0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}};
#pragma unroll
        for (int kk = 0; kk < KD; ++kk) {
            if (kk * 16 >= D) break; /* all-zero columns of a padded instance */
            uint32_t a[4], b[4];
            if constexpr (C::Q_IN_REGS)
                a[0] = qf[kk][0], a[1] = qf[kk][1], a[2] = qf[kk][2], a[3] = qf[kk][3];
            else
                ldmatrix_x4(a, smem_addr(q_tile) + swz<DMAX>(lane % 16, kk * 2 + lane / 16));
            ldmatrix_x4(b, sk + swz<DMAX>(k_row, kk * 2 + k_piece));
            mma_16816<T>(s[0], a, b[0], b[1]);
            mma_16816<T>(s[1], a, b[2], b[3]);
        }

        /* Scores in log2 units, then the mask: s[nb][2 h + e] is row g + 8 h, slot nb * 8 + 2 t4 + e
         * of the warp's 16. Warp slots inside the chunk that every new query sees
         * (elattn_decode_all_visible: all but a FULL head's last slots, a STREAMING head's sinks and
         * most of its ring) skip the per-pair test, which costs more than the MMAs (on a ring, a
         * division per slot: STREAMING chunks walked 1.5x slower per tile before they took the
         * shortcut, bench/results/2026-12-04-nvidia-h200 call 56). */
        const int kbase = c0 + t * C::BN + warp * 16;
        if (kbase + 16 <= c1 && elattn_decode_all_visible(&seen_by_all, kbase, kbase + 16)) {
#pragma unroll
            for (int nb = 0; nb < 2; ++nb)
#pragma unroll
                for (int x = 0; x < 4; ++x) s[nb][x] *= sl2;
        } else {
#pragma unroll
            for (int nb = 0; nb < 2; ++nb)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const int slot = kbase + nb * 8 + 2 * t4 + e;
                    const bool in_chunk = slot < c1;
                    const elattn_i64 pt = in_chunk ? elattn_kv_position_of(mode, in.sink, in.ring, len, slot) : 0;
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        const bool seen = in_chunk && elattn_decode_visible(mode, pos[h], pt, in.sink, in.local);
                        s[nb][2 * h + e] = seen ? s[nb][2 * h + e] * sl2 : -INFINITY;
                    }
                }
        }

        /* Online softmax per row; l stays a per-thread partial sum (quad-summed at the end). O is
         * rescaled only when some row of the warp has a new maximum (else the factor is exactly
         * 1): after the first tiles of a long chunk that is rare, and O's 64 (D 128) products
         * per lane a tile are most of the softmax's cost. */
        bool moved = false;
        float corr[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const float mx = quad_max(fmaxf(m_run[h], fmaxf(fmaxf(s[0][2 * h], s[0][2 * h + 1]),
                                                            fmaxf(s[1][2 * h], s[1][2 * h + 1]))));
            const float base = elattn_softmax_base(mx);
            corr[h] = fast_exp2(m_run[h] - base);
            moved |= mx != m_run[h];
            m_run[h] = mx;
            float sum = 0.0f;
#pragma unroll
            for (int nb = 0; nb < 2; ++nb)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    s[nb][2 * h + e] = fast_exp2(s[nb][2 * h + e] - base);
                    sum += s[nb][2 * h + e];
                }
            l_run[h] = l_run[h] * corr[h] + sum;
        }
        if (__any_sync(0xffffffffu, moved)) {
#pragma unroll
            for (int d = 0; d < DB; ++d)
                o[d][0] *= corr[0], o[d][1] *= corr[0], o[d][2] *= corr[1], o[d][3] *= corr[1];
        }

        /* O += P V: the C layout of S is the A layout of P. */
        const uint32_t pa[4] = {pack2<T>(s[0][0], s[0][1]), pack2<T>(s[0][2], s[0][3]), pack2<T>(s[1][0], s[1][1]),
                                pack2<T>(s[1][2], s[1][3])};
#pragma unroll
        for (int dp = 0; dp < DMAX / 16; ++dp) {
            if (dp * 16 >= D) break; /* columns past D stay 0 and are not stored */
            uint32_t b[4];
            ldmatrix_x4_trans(b, sv + swz<DMAX>(v_row, dp * 2 + v_piece));
            mma_16816<T>(o[2 * dp], pa, b[0], b[1]);
            mma_16816<T>(o[2 * dp + 1], pa, b[2], b[3]);
        }
    }
    cp_async_wait<0>();
    __syncthreads(); /* the ring is free: reuse it for the warps' states */

    using S = decode_states<R, C::WARPS, DMAX>;
    float *cacc = S::acc(smem), *cm = S::m(smem), *cl = S::l(smem);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int r = g + 8 * h;
        const float l = quad_sum(l_run[h]);
#pragma unroll
        for (int d = 0; d < DB; ++d)
            *reinterpret_cast<float2 *>(cacc + (warp * R + r) * DMAX + d * 8 + 2 * t4) =
                make_float2(o[d][2 * h], o[d][2 * h + 1]);
        if (t4 == 0) cm[warp * R + r] = m_run[h], cl[warp * R + r] = l;
    }
    __syncthreads();
    decode_store_rows<DT, DMAX, R, C::WARPS, C::NT>(smem, in, item, part_base, row_base, n, nrows, chunks);
}

template <int DT>
using storage_t = typename std::conditional<DT == ELATTN_DTYPE_BF16, __nv_bfloat16, __half>::type;

} /* namespace decode_mma */

size_t decode_mma_smem_bytes(int dtype, int head_dim)
{
    size_t bytes = 0;
    dispatch<ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(dtype, [&](auto) {
        return dispatch<64, 128, 256>(decode_dmax(head_dim), [&](auto d) {
            bytes = decode_mma::cfg<decltype(d)::value>::SMEM;
            return cudaSuccess;
        });
    });
    return bytes;
}

cudaError_t decode_mma_launch(const decode_inputs &in, cudaStream_t stream)
{
    return dispatch<ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(in.dtype, [&](auto dt) {
        constexpr int DT = decltype(dt)::value;
        return dispatch<64, 128, 256>(decode_dmax(in.head_dim), [&](auto d) {
            constexpr int DMAX = decltype(d)::value;
            using C = decode_mma::cfg<DMAX>;
            auto kernel = decode_mma::chunk_kernel<decode_mma::storage_t<DT>, DT, DMAX>;
            /* Opt in to more than 48 KB of dynamic shared memory (idempotent and cheap). */
            cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::SMEM);
            if (err != cudaSuccess) return err;
            return decode_launch_after(in.quest_pages && in.quest_overlap, dim3((unsigned)in.num_items), C::NT, C::SMEM,
                                       stream, kernel, in);
        });
    });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_DECODE_MMA_CUH */

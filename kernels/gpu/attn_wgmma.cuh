/*
 * Hopper (sm_90a) fused hybrid-head attention: wgmma + TMA + mbarriers,
 * producer/consumer warp specialisation. The family "wgmma" of
 * kernels/gpu/launch.h (head dims 64, 96, 128, 192 and 256; fp16 and bf16);
 * include this file in exactly one CUDA translation unit
 * (backends/gpu/gpu_wgmma.cu), after vendor/vendor.h.
 *
 * A CTA runs work items (batch element, query head, 128-query tile) of the
 * host's longest-first list in rounds of gridDim.x, in a snake order, so the
 * producer loads the next item's Q, K and V while the consumers finish the
 * last one. The launch makes it persistent (one CTA per SM) for short lists
 * and one CTA per item for long ones (launch_one says why). 384 threads in
 * three warpgroups:
 *   warpgroup 0  producer: one warp loads each item's Q (one buffer, freed
 *                by the consumers before their epilogue) and then its K and
 *                V tiles of kTileN keys into a two-stage ring that runs on
 *                across items (TMA, 128-byte swizzle), gated by mbarriers;
 *   warpgroups 1, 2  consumers: 64 query rows each; S = Q K^T with
 *                wgmma.mma_async m64n<kTileN>k16 and O += P V with
 *                m64n<head dim>k16 (fp32 accumulators in registers, P fed
 *                from registers), online softmax in fp32 (exp2).
 * The key tile shrinks as the head dim grows so that Q and the two stages of
 * K and V fit in shared memory and O fits in the consumers' registers
 * (wgmma_cfg below).
 * Both roles walk the same key tiles: the spec's walk (elattn_walk_next in
 * kernels/elattn_spec.h) gives each tile a STREAMING head's sinks and window
 * reach, the tiles a BLOCK_SPARSE head's mask admits and a FULL head's causal
 * range, each classified as taken whole or masked pair by pair with
 * elattn_pair_visible; nothing else is loaded. All modes run in one launch.
 *
 * The consumer loop overlaps the softmax of key tile n+1 with P V of tile n,
 * and the two consumer warpgroups take turns issuing their matrix products
 * (ping-pong), as FlashAttention-3 does (bench/lab/notes has the measurements
 * that chose this loop).
 *
 * Loads: a TMA box never crosses the end of the tensor. The tensor maps carry
 * an upper bound of the row count (the launch inputs do not hold total_q and
 * total_k; the device reads them as cu_seqlens[batch]), so a tile whose box
 * would cross the true end -- only the last tile of the last element -- is
 * filled by the producer warp with ordinary loads, zero past the end, in the
 * same swizzled layout.
 *
 * Shared memory layout of a tile of R rows (16-bit elements): column chunks
 * of [R rows][64 elements], each row 128 bytes with the 16-byte pieces XOR-ed
 * by (row % 8) -- what TMA's SWIZZLE_128B writes and what a wgmma descriptor
 * with layout type 1 (128B swizzle) reads. Chunk and tile bases are 1024-byte
 * aligned. A head dim that is not a multiple of 64 (96) is padded with zero
 * columns to the next chunk (TMA fills columns past the tensor's width with
 * zeros): Q K^T stops at the true head dim; P V runs over the padded width,
 * because a 128B-swizzled MN-major operand comes in whole 64-column chunks.
 */
#ifndef ELATTN_ATTN_WGMMA_CUH
#define ELATTN_ATTN_WGMMA_CUH

#include <cuda.h> /* CUtensorMap and its enums only; the encoder is fetched at run time */
#include <stdint.h>
#include <type_traits>

#include "dispatch.cuh"
#include "launch.h"
#include "ptx/sm80.cuh"
#include "ptx/sm90.cuh"

namespace ELATTN_GPU_NS {
namespace wgmma {

using namespace sm90;
using sm80::fast_exp2;
using sm80::pack2;

constexpr int kTileM = 128;           /* query rows per CTA */
constexpr int kStages = 2;            /* K/V ring depth */
constexpr int kConsumers = 2;         /* consumer warpgroups, 64 rows each */
constexpr int kThreads = 128 * (1 + kConsumers);
constexpr int kConsumerWarps = 4 * kConsumers;         /* arrivals that free a stage */
constexpr int kProducerRegs = 40, kConsumerRegs = 232; /* 128*40 + 256*232 <= 64K */
constexpr int kPersistentItemsPerSm = 16; /* longer work lists: one CTA per item (launch_one) */
constexpr int kNumBars = 2 + 4 * kStages; /* q_full, q_empty, k_full[S], k_empty[S], v_full[S], v_empty[S] */

/* One instance per head dim: the key tile width and the shared-memory map. */
template <int D> struct wgmma_cfg {
    static_assert(D == 64 || D == 96 || D == 128 || D == 192 || D == 256, "no wgmma instance for this head dim");
    static constexpr int kHeadDim = D;
    static constexpr int kChunks = (D + 63) / 64;       /* 64-column chunks */
    static constexpr int kPadDim = 64 * kChunks;         /* P V's width */
    /* O takes kPadDim / 2 registers and S kTileN / 2: keep them within the
     * consumers' 232; Q + 2 stages of K and V within 227 KB of shared memory. */
    static constexpr int kTileN = D <= 128 ? 128 : D == 192 ? 96 : 64;
    static constexpr int kQChunk = kTileM * 128;         /* bytes of one chunk */
    static constexpr int kKVChunk = kTileN * 128;
    static constexpr int kQBytes = kChunks * kQChunk;
    static constexpr int kKVBytes = kChunks * kKVChunk;
    static constexpr int kQOff = 0;
    static constexpr int kKOff = kQOff + kQBytes;
    static constexpr int kVOff = kKOff + kStages * kKVBytes;
    static constexpr int kBarOff = kVOff + kStages * kKVBytes;
    static constexpr int kSmemBytes = kBarOff + kNumBars * 8 + 1024; /* + slack to align the base */
    static_assert(kSmemBytes <= 227 * 1024, "shared memory over the sm_90 per-block limit");
    static_assert(kTileN % 16 == 0 && kKVChunk % 1024 == 0, "key tile must be whole 16-key steps");
};

/* Whether this translation unit's device code was built for sm_90a; read back
 * from the module loaded on the current device (an sm_80-only build reads 0). */
static __device__ int built_for_sm90a =
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    1;
#else
    0;
#endif

#if defined(__CUDA_ARCH_FEAT_SM90_ALL) || !defined(__CUDA_ARCH__)
/* The producer warp fills a tile of kRows rows with ordinary loads when a TMA
 * box would cross the end of the tensor: rows at or past `valid`, and the
 * padding columns past the head dim, are zero. */
template <class Cfg, int kRows>
__device__ __forceinline__ void fill_tile_by_hand(uint32_t dst, const uint16_t *base, int row0, int valid, int head,
                                                  int stride_token, int stride_head, int lane)
{
    constexpr int kPieces = Cfg::kChunks * 8; /* 16-byte pieces per row */
#pragma unroll 4
    for (int idx = lane; idx < kRows * kPieces; idx += 32) {
        const int r = idx / kPieces, c = idx % kPieces;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (r < valid && c * 8 < Cfg::kHeadDim)
            v = __ldg(reinterpret_cast<const uint4 *>(
                base + elattn_elem_offset(row0 + r, head, stride_token, stride_head) + c * 8));
        const uint32_t off = (c >> 3) * (kRows * 128) + r * 128 + (((c & 7) ^ (r & 7)) << 4);
        asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};" ::"r"(dst + off), "r"(v.x), "r"(v.y), "r"(v.z),
                     "r"(v.w)
                     : "memory");
    }
    fence_proxy_async(); /* the tensor cores read it through the async proxy */
    __syncwarp();
}

/* Load rows [row0, row0 + kRows) of (head) into the tile at dst, completing on bar. */
template <class Cfg, int kRows>
__device__ __forceinline__ void load_tile(uint32_t dst, uint32_t bar, const CUtensorMap *map, const void *gbase,
                                          int row0, int total_rows, int head, int stride_token, int stride_head,
                                          int lane)
{
    if (row0 + kRows <= total_rows) {
        if (lane == 0) {
            bar_expect_tx(bar, Cfg::kChunks * kRows * 128); /* padding columns count: TMA writes them */
#pragma unroll
            for (int c = 0; c < Cfg::kChunks; ++c) tma_load_box(dst + c * kRows * 128, map, bar, 64 * c, head, row0);
        }
    } else {
        fill_tile_by_hand<Cfg, kRows>(dst, static_cast<const uint16_t *>(gbase), row0, total_rows - row0, head,
                                      stride_token, stride_head, lane);
        if (lane == 0) bar_arrive(bar);
    }
}
#endif /* sm_90a device code or host pass */

template <class Cfg, bool kBf16>
__global__ void __launch_bounds__(kThreads, 1)
    attn_kernel(const __grid_constant__ attn_inputs in,
                const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
                const __grid_constant__ CUtensorMap map_v)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using T = typename std::conditional<kBf16, __nv_bfloat16, __half>::type;
    constexpr int kTileN = Cfg::kTileN, kHeadDim = Cfg::kHeadDim, kPadDim = Cfg::kPadDim;
    constexpr int kBarOff = Cfg::kBarOff;
    extern __shared__ uint8_t smem_raw[];
    const uint32_t smem = (smem_u32(smem_raw) + 1023u) & ~1023u;
    const uint32_t q_full = smem + kBarOff, q_empty = smem + kBarOff + 8;
    auto k_full = [&](int s) { return smem + kBarOff + 8 * (2 + s); };
    auto k_empty = [&](int s) { return smem + kBarOff + 8 * (2 + kStages + s); };
    auto v_full = [&](int s) { return smem + kBarOff + 8 * (2 + 2 * kStages + s); };
    auto v_empty = [&](int s) { return smem + kBarOff + 8 * (2 + 3 * kStages + s); };
    auto k_tile = [&](int s) { return smem + Cfg::kKOff + s * Cfg::kKVBytes; };
    auto v_tile = [&](int s) { return smem + Cfg::kVOff + s * Cfg::kKVBytes; };
    const elattn_attn_params &P = in.params;

    if (threadIdx.x == 0) {
        bar_init(q_full, 1);
        bar_init(q_empty, kConsumerWarps);
        for (int s = 0; s < kStages; ++s) {
            bar_init(k_full(s), 1);
            bar_init(v_full(s), 1);
            bar_init(k_empty(s), kConsumerWarps);
            bar_init(v_empty(s), kConsumerWarps);
        }
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    __syncthreads();

    const int warpgroup = threadIdx.x / 128;
    const int lane = threadIdx.x & 31;

    /* Persistent: this CTA runs items item_at(0), item_at(1), ... of the
     * longest-first list, in rounds of gridDim.x, the order reversed every
     * other round (a snake) so that every CTA gets a similar share of long and
     * short items. Both roles walk the same items and tiles: `round` numbers
     * the items (Q's barriers flip once per item), `ring` the K/V tiles
     * (each tile takes ring stage ring % kStages). */
    auto item_at = [&](int round) {
        const int g = gridDim.x;
        return round * g + ((round & 1) ? g - 1 - (int)blockIdx.x : (int)blockIdx.x);
    };
    auto walk_of = [&](const elattn_item_view &it, elattn_tile_walk *walk) {
        const uint8_t *mask_head = it.mode == ELATTN_MODE_BLOCK_SPARSE ? in.block_mask + it.mask_offset : nullptr;
        elattn_walk_init(walk, it.mode, P.causal, it.len_q, it.len_k, it.i0, it.i1, P.sink, P.local, kTileN,
                         mask_head, P.mask_kblocks, P.block_size);
        return mask_head;
    };

    if (warpgroup == 0) {
        /* ---- producer ---- */
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(kProducerRegs));
        if (threadIdx.x / 32 != 0) return;
        const int total_q = in.cu_seqlens_q[P.batch], total_k = in.cu_seqlens_k[P.batch];
        int ring = 0;
        for (int round = 0, idx = item_at(0); idx < in.num_items; idx = item_at(++round)) {
            const elattn_item_view it =
                elattn_item_decode(&P, in.items[idx], 1, kTileM, in.cu_seqlens_q, in.cu_seqlens_k, in.modes);
            elattn_tile_walk walk;
            walk_of(it, &walk);
            /* Q of this item once the consumers are done with the last one's */
            bar_wait(q_empty, (round & 1) ^ 1);
            load_tile<Cfg, kTileM>(smem + Cfg::kQOff, q_full, &map_q, in.q, it.q_start + it.i0, total_q, it.head0,
                                   P.q_stride_token, P.q_stride_head, lane);
            int cls;
            for (int j = elattn_walk_next(&walk, 0, &cls); j < walk.end; j = elattn_walk_next(&walk, j + 1, &cls)) {
                const int s = ring % kStages;
                const uint32_t phase = (ring / kStages) & 1;
                const int row0 = it.k_start + j * kTileN;
                bar_wait(k_empty(s), phase ^ 1);
                load_tile<Cfg, kTileN>(k_tile(s), k_full(s), &map_k, in.k, row0, total_k, it.hk, P.k_stride_token,
                                       P.k_stride_head, lane);
                bar_wait(v_empty(s), phase ^ 1);
                load_tile<Cfg, kTileN>(v_tile(s), v_full(s), &map_v, in.v, row0, total_k, it.hk, P.v_stride_token,
                                       P.v_stride_head, lane);
                ++ring;
            }
        }
        return;
    }

    /* ---- consumers ---- */
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(kConsumerRegs));
    const int cw = warpgroup - 1;            /* consumer warpgroup: rows [64 cw, 64 cw + 64) */
    const int warp = (threadIdx.x / 32) & 3; /* warp in the warpgroup: 16 rows */
    const int g = lane >> 2, t = lane & 3;
    const int row0 = cw * 64 + warp * 16 + g; /* this thread's rows: row0 and row0 + 8 */
    const float sl2 = P.scale_log2;
    const uint32_t q_tile = smem + Cfg::kQOff + cw * 64 * 128;

    /* S = Q K^T, issued (asynchronous until waited for) */
    auto issue_qk = [&](float(&sc)[kTileN / 2], uint32_t kt) {
#pragma unroll
        for (int kk = 0; kk < kHeadDim / 16; ++kk) { /* 16 columns = 32 bytes of a chunk's row */
            const uint32_t col = (kk & 3) * 32;
            wgmma_ss<kTileN, kBf16>(sc, desc_sw128(q_tile + (kk >> 2) * Cfg::kQChunk + col, 16, 1024),
                                    desc_sw128(kt + (kk >> 2) * Cfg::kKVChunk + col, 16, 1024), kk > 0);
        }
        wgmma_commit();
    };
    /* O += P V, issued */
    auto issue_pv = [&](float(&o)[kPadDim / 2], uint32_t(&pa)[kTileN / 4], uint32_t vt) {
#pragma unroll
        for (int kk = 0; kk < kTileN / 16; ++kk) /* 16 keys = 16 rows of 128 bytes */
            wgmma_rs<kPadDim, kBf16>(o, pa[4 * kk], pa[4 * kk + 1], pa[4 * kk + 2], pa[4 * kk + 3],
                                     desc_sw128(vt + kk * 2048, Cfg::kKVChunk, 1024));
        wgmma_commit();
    };
    /* The two consumer warpgroups take turns issuing their matrix products
     * (named barriers 1 and 2), so one's softmax overlaps the other's
     * (ping-pong); warpgroup 0 goes first in every item. */
    auto turn_wait = [&]() { asm volatile("bar.sync %0, 256;" ::"r"(1 + cw) : "memory"); };
    auto turn_pass = [&](bool last) {
        if (!(last && cw == 1)) asm volatile("bar.arrive %0, 256;" ::"r"(2 - cw) : "memory");
    };

    int ring = 0;
    for (int round = 0, idx = item_at(0); idx < in.num_items; idx = item_at(++round)) {
        const elattn_item_view it =
            elattn_item_decode(&P, in.items[idx], 1, kTileM, in.cu_seqlens_q, in.cu_seqlens_k, in.modes);
        const int mode = it.mode, len_q = it.len_q, len_k = it.len_k;
        elattn_tile_walk walk;
        const uint8_t *mask_head = walk_of(it, &walk);
        const int qi[2] = {it.i0 + row0, it.i0 + row0 + 8};
        int qpos[2];
        const uint8_t *mask_row[2] = {nullptr, nullptr};
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            qpos[r] = elattn_query_pos(qi[r], len_q, len_k);
            if (mask_head && qi[r] < len_q) mask_row[r] = mask_head + (long)(qi[r] / P.block_size) * P.mask_kblocks;
        }

        float o[kPadDim / 2];
#pragma unroll
        for (int i = 0; i < kPadDim / 2; ++i) o[i] = 0.f;
        float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

        /* Mask key tile j of class cls (PARTIAL: pair by pair, keys past the
         * end included), update the running max and sum, turn the scores into
         * probabilities in place; alpha rescales the old O. */
        auto softmax = [&](float(&sc)[kTileN / 2], int j, int cls, float(&alpha)[2]) {
            const int j0 = j * kTileN;
            if (cls == ELATTN_TILE_PARTIAL) {
#pragma unroll
                for (int i = 0; i < kTileN / 2; ++i) {
                    const int r = (i >> 1) & 1;
                    const int key = j0 + (i >> 2) * 8 + 2 * t + (i & 1);
                    const bool ok = key < len_k && qi[r] < len_q &&
                                    elattn_pair_visible(mode, P.causal, qpos[r], key, P.sink, P.local, P.block_size,
                                                        mask_row[r]);
                    if (!ok) sc[i] = -INFINITY;
                }
            }
            /* rows are shared by the 4 threads of a quad; each row's max and
             * sum run in 4 independent chains (one chain of kTileN / 8
             * dependent operations is latency-bound with 2 warps per scheduler) */
            float mxc[2][4], base[2];
#pragma unroll
            for (int c = 0; c < 4; ++c) mxc[0][c] = m[0], mxc[1][c] = m[1];
#pragma unroll
            for (int i = 0; i < kTileN / 2; ++i)
                mxc[(i >> 1) & 1][(i >> 2) & 3] = fmaxf(mxc[(i >> 1) & 1][(i >> 2) & 3], sc[i]);
            float mx[2];
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                mx[r] = fmaxf(fmaxf(mxc[r][0], mxc[r][1]), fmaxf(mxc[r][2], mxc[r][3]));
                mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
                mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
                base[r] = elattn_softmax_base(mx[r] * sl2); /* nothing visible yet: no NaN */
                alpha[r] = fast_exp2(m[r] * sl2 - base[r]);
                m[r] = mx[r];
            }
            float sum[2][4] = {};
#pragma unroll
            for (int i = 0; i < kTileN / 2; ++i) {
                const int r = (i >> 1) & 1;
                sc[i] = fast_exp2(fmaf(sc[i], sl2, -base[r]));
                sum[r][(i >> 2) & 3] += sc[i];
            }
#pragma unroll
            for (int r = 0; r < 2; ++r)
                l[r] = fmaf(l[r], alpha[r], (sum[r][0] + sum[r][1]) + (sum[r][2] + sum[r][3]));
        };
        float sc[kTileN / 2], alpha[2];
        uint32_t pa[kTileN / 4];
        auto stage = [&](int n) { return (ring + n) % kStages; };
        auto phase = [&](int n) { return (uint32_t)(((ring + n) / kStages) & 1); };

        bar_wait(q_full, round & 1);
        int cls;
        int j = elattn_walk_next(&walk, 0, &cls);
        int tiles = 0;
        if (j < walk.end) {
            /* Softmax of tile n+1 runs while the tensor cores do P V of tile n;
             * O is rescaled while Q K^T of tile n+1 runs. */
            if (cw == 1) asm volatile("bar.arrive 1, 256;" ::: "memory"); /* warpgroup 0 starts */
            bar_wait(k_full(stage(0)), phase(0));
            turn_wait();
            wgmma_fence();
            issue_qk(sc, k_tile(stage(0)));
            turn_pass(false);
            wgmma_wait<0>();
            fence_regs(sc);
            if (lane == 0) bar_arrive(k_empty(stage(0)));
            softmax(sc, j, cls, alpha);
#pragma unroll
            for (int i = 0; i < kTileN / 2; i += 2) pa[i >> 1] = pack2<T>(sc[i], sc[i + 1]);
            /* invariant at the loop top: pa = P of tile number n (j), alpha = its rescale of O */
            int n = 0;
            for (;;) {
                int cls_next;
                const int jn = elattn_walk_next(&walk, j + 1, &cls_next);
                if (jn >= walk.end) break;
                bar_wait(k_full(stage(n + 1)), phase(n + 1));
                bar_wait(v_full(stage(n)), phase(n));
                turn_wait();
                wgmma_fence();
                issue_qk(sc, k_tile(stage(n + 1)));
#pragma unroll
                for (int i = 0; i < kPadDim / 2; ++i) o[i] *= alpha[(i >> 1) & 1];
                fence_regs(o);
                fence_regs(pa);
                wgmma_fence();
                issue_pv(o, pa, v_tile(stage(n)));
                turn_pass(false);
                wgmma_wait<1>(); /* groups complete in order: S of the next tile is ready */
                fence_regs(sc);
                if (lane == 0) bar_arrive(k_empty(stage(n + 1)));
                softmax(sc, jn, cls_next, alpha);
                wgmma_wait<0>();
                fence_regs(o);
                fence_regs(pa);
                if (lane == 0) bar_arrive(v_empty(stage(n)));
#pragma unroll
                for (int i = 0; i < kTileN / 2; i += 2) pa[i >> 1] = pack2<T>(sc[i], sc[i + 1]);
                j = jn;
                ++n;
            }
            /* P V of the last tile */
            bar_wait(v_full(stage(n)), phase(n));
#pragma unroll
            for (int i = 0; i < kPadDim / 2; ++i) o[i] *= alpha[(i >> 1) & 1];
            turn_wait();
            fence_regs(o);
            fence_regs(pa);
            wgmma_fence();
            issue_pv(o, pa, v_tile(stage(n)));
            turn_pass(true);
            wgmma_wait<0>();
            fence_regs(o);
            fence_regs(pa);
            if (lane == 0) bar_arrive(v_empty(stage(n)));
            tiles = n + 1;
        }
        ring += tiles;
        /* Q is no longer read: the producer may load the next item's while
         * this one's output is written */
        if (lane == 0) bar_arrive(q_empty);

        /* epilogue: O / l, LSE; rows with no visible key give O = 0, LSE = -inf */
        const int hq = P.num_q_heads;
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
            l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
            if (qi[r] >= len_q) continue;
            const float inv = elattn_row_inv_sum(l[r]);
            const size_t row = (size_t)(it.q_start + qi[r]) * hq + it.head0; /* of the packed LSE */
            uint32_t *out = reinterpret_cast<uint32_t *>(static_cast<uint16_t *>(in.o) +
                                                         elattn_o_offset(&P, it.q_start + qi[r], it.head0));
#pragma unroll
            for (int c = 0; c < kHeadDim / 8; ++c) /* the padding columns are not written */
                out[c * 4 + t] = pack2<T>(o[4 * c + 2 * r] * inv, o[4 * c + 2 * r + 1] * inv);
            if (in.lse && t == 0) in.lse[row] = elattn_row_lse(m[r] * sl2, l[r]);
        }
    }
#endif
}

/* ---- host side ------------------------------------------------------------ */
typedef CUresult (*EncodeTiledFn)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *,
                                  const cuuint64_t *, const cuuint64_t *, const cuuint32_t *,
                                  const cuuint32_t *, CUtensorMapInterleave, CUtensorMapSwizzle,
                                  CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static EncodeTiledFn encoder()
{
    static EncodeTiledFn fn = nullptr;
    if (!fn) {
        void *p = nullptr;
        cudaDriverEntryPointQueryResult q;
        if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault,
                                             &q) == cudaSuccess &&
            q == cudaDriverEntryPointSuccess)
            fn = reinterpret_cast<EncodeTiledFn>(p);
    }
    return fn;
}

/* [rows][heads][head_dim] 16-bit tensor with the call's strides (elements; TMA
 * takes them in bytes, multiples of 16: the core's 8-element rule), boxes of
 * {64, 1, box_rows}, 128-byte swizzle; a box reaching past head_dim is filled
 * with zeros. `rows` is an upper bound (see the file comment). */
static bool encode_map(CUtensorMap *map, const void *base, bool bf16, int head_dim, int heads, long rows,
                       int box_rows, int stride_token, int stride_head)
{
    EncodeTiledFn fn = encoder();
    if (!fn || ((uintptr_t)base & 15)) return false;
    cuuint64_t dims[3] = {(cuuint64_t)head_dim, (cuuint64_t)heads, (cuuint64_t)(rows > 0 ? rows : 1)};
    cuuint64_t strides[2] = {(cuuint64_t)stride_head * 2, (cuuint64_t)stride_token * 2};
    cuuint32_t box[3] = {64, 1, (cuuint32_t)box_rows};
    cuuint32_t estride[3] = {1, 1, 1};
    CUresult r = fn(map, bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 3,
                    const_cast<void *>(base), dims, strides, box, estride, CU_TENSOR_MAP_INTERLEAVE_NONE,
                    CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    return r == CUDA_SUCCESS;
}

template <class Cfg, bool kBf16>
static cudaError_t launch_one(const attn_inputs &in, int sm_count, cudaStream_t stream)
{
    const elattn_attn_params &P = in.params;
    const long rows_q = (long)P.batch * P.max_seqlen_q, rows_k = (long)P.batch * P.max_seqlen_k;
    CUtensorMap mq, mk, mv;
    if (!encode_map(&mq, in.q, kBf16, Cfg::kHeadDim, P.num_q_heads, rows_q, kTileM, P.q_stride_token,
                    P.q_stride_head) ||
        !encode_map(&mk, in.k, kBf16, Cfg::kHeadDim, P.num_kv_heads, rows_k, Cfg::kTileN, P.k_stride_token,
                    P.k_stride_head) ||
        !encode_map(&mv, in.v, kBf16, Cfg::kHeadDim, P.num_kv_heads, rows_k, Cfg::kTileN, P.v_stride_token,
                    P.v_stride_head))
        return cudaErrorInvalidValue;
    auto kernel = attn_kernel<Cfg, kBf16>;
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSmemBytes);
    if (e != cudaSuccess) return e;
    /* Persistent (one CTA per SM, several items each) for short lists only: a
     * long list runs one CTA per item, scheduled by the hardware. Measured on
     * the H200 (bench/results/2026-12-02-nvidia-h200-hopper, run 2): 8K dense
     * D128 (2048 items, 16 per SM) 5% faster persistent; 128K (32768 items)
     * 17% slower, because CTAs that each walk their own items drift apart and
     * lose the L2 reuse of the K/V tiles that neighbouring items stream
     * together. Both paths run the same kernel (grid = items: one round). */
    const int grid = in.num_items <= kPersistentItemsPerSm * sm_count ? (in.num_items < sm_count ? in.num_items : sm_count)
                                                                      : in.num_items;
    kernel<<<grid, kThreads, Cfg::kSmemBytes, stream>>>(in, mq, mk, mv);
    return cudaGetLastError();
}

/* Whether the module loaded on the current device has the sm_90a code. */
static bool device_code_present()
{
    int dev = 0, flag = 0;
    if (cudaGetDevice(&dev) != cudaSuccess) return false;
    if (cudaMemcpyFromSymbol(&flag, built_for_sm90a, sizeof flag) != cudaSuccess) {
        (void)cudaGetLastError(); /* no image for this device: not an error of the caller */
        return false;
    }
    return flag == 1;
}

} /* namespace wgmma */

bool wgmma_attn_supported(const elattn_attn_desc *desc, const gpu_caps &caps, attn_choice *choice, const char **why)
{
    using namespace wgmma;
    if (caps.sm_version != 90) *why = "needs an sm_90 (Hopper) device";
    else if (desc->dtype != ELATTN_BF16 && desc->dtype != ELATTN_F16) *why = "fp16 and bf16 only";
    else if (!one_of<64, 96, 128, 192, 256>(desc->head_dim)) *why = "head_dim 64, 96, 128, 192 or 256 only";
    else if (!device_code_present()) *why = "library not built for sm_90a";
    else if (!encoder()) *why = "the driver has no cuTensorMapEncodeTiled";
    /* TMA boxes of kTileN consecutive rows: a key tile would cross pages (and one box per page
     * is not written); mma, next in the table, reads paged K/V row by row */
    else if (desc->page_size) *why = "paged K/V is not read through TMA here (the mma family runs it)";
    /* the maps are [rows][heads][D] with each dimension's stride covering the one below it
     * (stride_token >= heads * stride_head: packed, fused QKV, padded rows); a head-major
     * (permuted) view, or heads spread wider than a token's stride, is left to mma */
    else if ((long)desc->q_stride_token < (long)desc->num_q_heads * desc->q_stride_head ||
             (long)desc->k_stride_token < (long)desc->num_kv_heads * desc->k_stride_head ||
             (long)desc->v_stride_token < (long)desc->num_kv_heads * desc->v_stride_head)
        *why = "strides with stride_token < heads * stride_head (head-major views) are not mapped for TMA (the mma "
               "family runs them)";
    else {
        choice->tile_m = kTileM;
        dispatch<64, 96, 128, 192, 256>(desc->head_dim, [&](auto d) {
            choice->tile_n = wgmma_cfg<decltype(d)::value>::kTileN;
            return cudaSuccess;
        });
        choice->per_kv_head = 0;
        choice->variant.text[0] = '\0';
        return true;
    }
    return false;
}

cudaError_t wgmma_attn_launch(const attn_inputs &in, const gpu_caps &caps, cudaStream_t stream)
{
    using namespace wgmma;
    if (in.num_items <= 0) return cudaSuccess;
    const int sm_count = caps.sm_count > 0 ? caps.sm_count : 1;
    return dispatch<ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(in.params.dtype, [&](auto dt) {
        constexpr bool kBf16 = decltype(dt)::value == ELATTN_DTYPE_BF16;
        return dispatch<64, 96, 128, 192, 256>(in.params.head_dim, [&](auto d) {
            return launch_one<wgmma_cfg<decltype(d)::value>, kBf16>(in, sm_count, stream);
        });
    });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_ATTN_WGMMA_CUH */

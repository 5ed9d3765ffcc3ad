/*
 * Hopper (sm_90a) fused hybrid-head attention: wgmma + TMA + mbarriers,
 * producer/consumer warp specialisation. The family "wgmma" of
 * kernels/gpu/launch.h (head dims 64, 96, 128, 192 and 256; fp16 and bf16);
 * include this file in exactly one CUDA translation unit
 * (backends/gpu/gpu_wgmma.cu), after vendor/vendor.h.
 *
 * Persistent: one CTA per SM (fewer when the list is short), 64 * kConsumers
 * query rows per work item (batch element, query head, query tile). A CTA
 * takes item blockIdx.x first; while it works on an item its producer claims
 * the next unclaimed item of the host's longest-first list from a counter in
 * the workspace (atomicAdd; the launch zeroes it). So the list is consumed in
 * its order across the GPU -- as the hardware scheduler would, which keeps the
 * K/V tiles that neighbouring items stream together in L2 -- and an item's Q
 * and first K/V tiles load while the consumers finish the last item and write
 * its output. Threads: one producer warpgroup and kConsumers consumer
 * warpgroups (wgmma_cfg: 3 for head dim 64, 2 otherwise):
 *   warpgroup 0  producer: one warp hands each claimed item to the
 *                consumers (item_slots), loads its Q (one buffer, freed by
 *                the consumers before their epilogue) and then its K and V
 *                tiles of kTileN keys into a two-stage ring that runs on
 *                across items (TMA, 128-byte swizzle), gated by mbarriers;
 *   warpgroups 1..kConsumers  consumers: 64 query rows each; S = Q K^T with
 *                wgmma.mma_async m64n<kTileN>k16 and O += P V with
 *                m64n<head dim>k16 (fp32 accumulators in registers, P fed
 *                from registers), online softmax in fp32 (exp2).
 * The key tile shrinks as the head dim grows so that Q and the two stages of
 * K and V fit in shared memory and O fits in the consumers' registers
 * (wgmma_cfg below).
 * The producer walks the key tiles, judging 32 at a time (a lane each): the
 * spec's walk (kernels/elattn_spec.h) gives a STREAMING head's sinks and window
 * reach, the tiles a BLOCK_SPARSE head's mask admits and a FULL head's causal
 * range, each classified as taken whole or masked pair by pair (FULL and
 * STREAMING rows by their visible key ranges, elattn_row_key_ranges; BLOCK_SPARSE
 * by elattn_pair_visible); nothing else is loaded. The consumers take each
 * item's first tile from the same walk (elattn_walk_next) and every later one
 * from the producer's records (tile_record), so only one warp pays for the
 * walk. All modes run in one launch.
 *
 * The consumer loop overlaps the softmax of key tile n+1 with P V of tile n,
 * and the consumer warpgroups take turns issuing their matrix products (in a
 * round, ping-pong for two), as FlashAttention-3 does (bench/lab/notes has the
 * measurements that chose this loop). Head dim 64 has three consumers: its
 * matrix products take half the time of head dim 128's while the softmax
 * takes the same, so two warpgroups cannot hide one's softmax behind the
 * other's products.
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

constexpr int kBarTurn = 1; /* named barrier kBarTurn + cw (0 is __syncthreads): consumer warpgroup cw's turn */

/* One instance per head dim: the key tile width and the shared-memory map. */
template <int D> struct wgmma_cfg {
    static_assert(D == 64 || D == 96 || D == 128 || D == 192 || D == 256, "no wgmma instance for this head dim");
    static constexpr int kHeadDim = D;
    static constexpr int kChunks = (D + 63) / 64;       /* 64-column chunks */
    static constexpr int kPadDim = 64 * kChunks;         /* P V's width */
    /* Consumer warpgroups (64 query rows each) and the register split that
     * setmaxnreg makes: the producer warpgroup gives up what the consumers
     * need, 128 * producer + 128 * kConsumers * consumer <= 64K. */
    static constexpr int kConsumers = D == 64 ? 3 : 2;
    static constexpr int kTileM = 64 * kConsumers;       /* query rows per item */
    static constexpr int kThreads = 128 * (1 + kConsumers);
    static constexpr int kConsumerWarps = 4 * kConsumers; /* arrivals that free a stage or Q */
    static constexpr int kProducerRegs = kConsumers == 3 ? 32 : 40;
    static constexpr int kConsumerRegs = kConsumers == 3 ? 160 : 232;
    /* setmaxnreg only moves registers within what the CTA was launched with: kThreads times the
     * per-thread count __launch_bounds__(kThreads, 1) gives (64K / kThreads, rounded down to the
     * allocation unit of 8), not the whole 64K. A split over it does not fail, it hangs: the
     * consumers' setmaxnreg.inc waits for registers that never come (a producer at 48 with two
     * consumers at 232, 65536 > 384 * 168: bench/results/2026-12-03-nvidia-h200, call 37). */
    static constexpr int kLaunchRegs = (65536 / kThreads) / 8 * 8;
    static_assert(128 * kProducerRegs + 128 * kConsumers * kConsumerRegs <= kThreads * kLaunchRegs,
                  "register split over the CTA's launch allocation");
    /* O takes kPadDim / 2 registers and S kTileN / 2: keep them within the
     * consumers' share; Q + kStages stages of K and V within 227 KB of shared memory. */
    static constexpr int kTileN = D <= 128 ? 128 : D == 192 ? 96 : 64;
    static constexpr int kQChunk = kTileM * 128;         /* bytes of one chunk */
    static constexpr int kKVChunk = kTileN * 128;
    static constexpr int kQBytes = kChunks * kQChunk;
    static constexpr int kKVBytes = kChunks * kKVChunk;
    static constexpr int kQOff = 0;
    /* K/V ring depth. Head dim 64's tiles take half the time of 128's, so its producer has less
     * time to refill a stage: a third stage made its sparse mixes 1-3% faster and left dense as it
     * was; at 96 and 128 it was within noise, 192 and 256 have no room (bench/results/2026-12-03-
     * nvidia-h200, call 33). */
    static constexpr int kStages = D == 64 ? 3 : 2;
    /* q_full, q_empty, k_full[S], k_empty[S], v_full[S], v_empty[S], item_full[2] */
    static constexpr int kNumBars = 4 + 4 * kStages;
    static constexpr int kKOff = kQOff + kQBytes;
    static constexpr int kVOff = kKOff + kStages * kKVBytes;
    static constexpr int kBarOff = kVOff + kStages * kKVBytes;
    static constexpr int kSmemBytes = kBarOff + kNumBars * 8 + 1024; /* + slack to align the base */
    static_assert(kSmemBytes <= 227 * 1024, "shared memory over the sm_90 per-block limit");
    static_assert(kTileN % 16 == 0 && kKVChunk % 1024 == 0 && kQChunk % 1024 == 0, "tiles must be whole 1024-byte chunks");
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
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    attn_kernel(const __grid_constant__ attn_inputs in,
                const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
                const __grid_constant__ CUtensorMap map_v)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using T = typename std::conditional<kBf16, __nv_bfloat16, __half>::type;
    constexpr int kTileN = Cfg::kTileN, kHeadDim = Cfg::kHeadDim, kPadDim = Cfg::kPadDim, kStages = Cfg::kStages;
    constexpr int kBarOff = Cfg::kBarOff, kTileM = Cfg::kTileM, kConsumers = Cfg::kConsumers;
    extern __shared__ uint8_t smem_raw[];
    const uint32_t smem = (smem_u32(smem_raw) + 1023u) & ~1023u;
    const uint32_t q_full = smem + kBarOff, q_empty = smem + kBarOff + 8;
    auto k_full = [&](int s) { return smem + kBarOff + 8 * (2 + s); };
    auto k_empty = [&](int s) { return smem + kBarOff + 8 * (2 + kStages + s); };
    auto v_full = [&](int s) { return smem + kBarOff + 8 * (2 + 2 * kStages + s); };
    auto v_empty = [&](int s) { return smem + kBarOff + 8 * (2 + 3 * kStages + s); };
    auto item_full = [&](int slot) { return smem + kBarOff + 8 * (2 + 4 * kStages + slot); };
    auto k_tile = [&](int s) { return smem + Cfg::kKOff + s * Cfg::kKVBytes; };
    auto v_tile = [&](int s) { return smem + Cfg::kVOff + s * Cfg::kKVBytes; };
    const elattn_attn_params &P = in.params;

    if (threadIdx.x == 0) {
        bar_init(item_full(0), 1);
        bar_init(item_full(1), 1);
        bar_init(q_full, 1);
        bar_init(q_empty, Cfg::kConsumerWarps);
        for (int s = 0; s < kStages; ++s) {
            bar_init(k_full(s), 1);
            bar_init(v_full(s), 1);
            bar_init(k_empty(s), Cfg::kConsumerWarps);
            bar_init(v_empty(s), Cfg::kConsumerWarps);
        }
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    __syncthreads();

    const int warpgroup = threadIdx.x / 128;
    const int lane = threadIdx.x & 31;

    /* The producer hands round r's item index (-1: none left) to the
     * consumers through slot r % 2 of this CTA's two in the workspace: it
     * stores the index and arrives on item_full(r % 2) (release); the
     * consumers wait on it (acquire) and load the index. It does so as soon
     * as it has issued the last round's loads, so the consumers find the
     * next item ready. The consumers load round r's index before they
     * release round r's Q on q_empty (at the end of round r - 1), and the
     * producer waits for that q_empty before it loads Q of round r + 1, so
     * slot r % 2 is free when round r + 2 comes. The slots are in global
     * memory, not shared, because compute-sanitizer's racecheck does not
     * credit mbarrier ordering between ordinary shared-memory accesses and
     * reports such a hand-over as a hazard (bench/lab/notes/wgmma-scheduler).
     * Both roles follow the same items and key tiles: `round` numbers the items
     * (Q's barriers flip once per item), `ring` the K/V tiles (tile n of the
     * CTA's stream takes ring stage n % kStages). */
    int32_t *const item_slots = in.schedule + 1 + ELATTN_SCHEDULE_PER_CTA * blockIdx.x;
    /* Key-tile records: the producer alone walks the key tiles. With tile n of the CTA's stream
     * (ring index n) it writes, in record n % ELATTN_SCHEDULE_TILE_RECORDS, where the walk goes
     * next: (next tile) * 4 + its class, the next tile being walk.end when the item has no more;
     * it stores the record before it arrives on k_full(n) (release), and the consumers load it
     * after their wait on k_full(n) (acquire) and use it a tile later. When every consumer warp
     * walked for itself, a BLOCK_SPARSE head's walk took issue slots from the softmax: at head
     * dim 64 every-block-kept masks ran at 0.71x of dense (bench/results/2026-12-03-nvidia-h200,
     * calls 30-39). The producer writes record n + R (R = ELATTN_SCHEDULE_TILE_RECORDS) once
     * every consumer has released tile n + R - 1 - kStages of the ring, so long after they used
     * record n (at tile n + 1). Global memory for the reason item_slots is. */
    static_assert(ELATTN_SCHEDULE_TILE_RECORDS >= kStages + 2, "a record outlives its readers");
    auto tile_record = [&](int n) { /* from the parameters at each use: the producer has 32-40 registers */
        return in.schedule + 1 + ELATTN_SCHEDULE_PER_CTA * blockIdx.x + ELATTN_SCHEDULE_ITEM_SLOTS +
               n % ELATTN_SCHEDULE_TILE_RECORDS;
    };
    auto record_of = [](int j, int cls) { return j * 4 + cls; }; /* cls: ELATTN_TILE_* in 0..2 */
    auto item_phase = [](int round) { return (uint32_t)((round >> 1) & 1); };
    auto walk_of = [&](const elattn_item_view &it, elattn_tile_walk *walk) {
        const uint8_t *mask_head = it.mode == ELATTN_MODE_BLOCK_SPARSE ? in.block_mask + it.mask_offset : nullptr;
        elattn_walk_init(walk, it.mode, P.causal, it.len_q, it.len_k, it.i0, it.i1, P.sink, P.local, kTileN,
                         mask_head, P.mask_kblocks, P.block_size);
        return mask_head;
    };

    if (warpgroup == 0) {
        /* ---- producer ---- */
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(Cfg::kProducerRegs));
        if (threadIdx.x / 32 != 0) return;
        const int total_q = in.cu_seqlens_q[P.batch], total_k = in.cu_seqlens_k[P.batch];
        int ring = 0;
        auto hand_over = [&](int round, int idx) {
            if (lane == 0) {
                item_slots[round & 1] = idx;
                bar_arrive(item_full(round & 1));
            }
        };
        for (int round = 0, idx = blockIdx.x;; ++round) {
            if (idx >= in.num_items) {
                hand_over(round, -1);
                break;
            }
            hand_over(round, idx);
            const elattn_item_view it =
                elattn_item_decode(&P, in.items[idx], 1, kTileM, in.cu_seqlens_q, in.cu_seqlens_k, in.modes);
            /* claim the next item now: the atomic's latency hides behind this item's loads (the
             * first gridDim.x items are taken by blockIdx) */
            int next = 0;
            if (lane == 0) next = atomicAdd(in.schedule, 1) + (int)gridDim.x;
            elattn_tile_walk walk;
            walk_of(it, &walk);
            bar_wait(q_empty, (round & 1) ^ 1); /* Q's buffer is free once the consumers are done with the last Q */
            load_tile<Cfg, kTileM>(smem + Cfg::kQOff, q_full, &map_q, in.q, it.q_start + it.i0, total_q, it.head0,
                                   P.q_stride_token, P.q_stride_head, lane);
            /* The walk, 32 range tiles at a time: lane l judges range tile tbase + l with the
             * spec's class (elattn_walk_tile_at, elattn_walk_class), and two ballots tell the warp
             * which of the 32 are visited and which of those PARTIAL. One tile after another, the
             * producer alone paid a class per tile and one per unset cell it passed: at head dim
             * 64 (two query blocks per tile) that made it the launch's critical path, the
             * consumers waiting on k_full (ncu, bench/results/2026-12-03-nvidia-h200, call 38). */
            const int range = elattn_walk_range_tiles(&walk);
            int tbase = -32;
            uint32_t kept = 0, partial = 0;
            auto next_visited = [&](int t, int *cls) { /* the first visited range tile >= t, or range */
                for (;;) {
                    if (t >= range) {
                        *cls = ELATTN_TILE_SKIP;
                        return range;
                    }
                    if (t >= tbase + 32) {
                        const int mine = t + lane;
                        const int c = mine < range ? elattn_walk_class(&walk, elattn_walk_tile_at(&walk, mine))
                                                   : ELATTN_TILE_SKIP;
                        kept = __ballot_sync(0xffffffffu, c != ELATTN_TILE_SKIP);
                        partial = __ballot_sync(0xffffffffu, c == ELATTN_TILE_PARTIAL);
                        tbase = t;
                    }
                    const uint32_t ahead = kept & (0xffffffffu << (t - tbase));
                    if (ahead) {
                        const int b = __ffs(ahead) - 1;
                        *cls = (partial >> b) & 1 ? ELATTN_TILE_PARTIAL : ELATTN_TILE_ALL;
                        return tbase + b;
                    }
                    t = tbase + 32;
                }
            };
            int cls; /* the consumers find the first tile's class themselves */
            for (int t = next_visited(0, &cls); t < range;) {
                const int s = ring % kStages;
                const uint32_t phase = (ring / kStages) & 1;
                const int row0 = it.k_start + elattn_walk_tile_at(&walk, t) * kTileN;
                int cls_next; /* ELATTN_TILE_SKIP at the walk's end */
                const int tn = next_visited(t + 1, &cls_next);
                const int jn = tn < range ? elattn_walk_tile_at(&walk, tn) : walk.end;
                if (lane == 0) *tile_record(ring) = record_of(jn, cls_next);
                bar_wait(k_empty(s), phase ^ 1);
                load_tile<Cfg, kTileN>(k_tile(s), k_full(s), &map_k, in.k, row0, total_k, it.hk, P.k_stride_token,
                                       P.k_stride_head, lane);
                bar_wait(v_empty(s), phase ^ 1);
                load_tile<Cfg, kTileN>(v_tile(s), v_full(s), &map_v, in.v, row0, total_k, it.hk, P.v_stride_token,
                                       P.v_stride_head, lane);
                ++ring;
                t = tn;
            }
            idx = __shfl_sync(0xffffffffu, next, 0);
        }
        return;
    }

    /* ---- consumers ---- */
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(Cfg::kConsumerRegs));
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
    /* The consumer warpgroups take turns issuing their matrix products, in
     * the order 0, 1, .., kConsumers - 1, 0, ... (named barrier 1 + cw: cw's
     * turn, passed on by its predecessor), so that one's softmax overlaps the
     * others' products; warpgroup 0 goes first in every item and the last
     * turn of an item is not passed on. */
    auto turn_wait = [&]() { named_bar_sync(kBarTurn + cw, 256); };
    auto turn_pass = [&](bool last) {
        if (!(last && cw == kConsumers - 1)) named_bar_arrive(kBarTurn + (cw + 1) % kConsumers, 256);
    };

    /* Takes round r's item from its slot and decodes it; false past the end.
     * Called for round r + 1 before round r's epilogue, so that the loads of
     * the decode overlap the stores of the output. */
    auto fetch_item = [&](int round, elattn_item_view *it) {
        bar_wait(item_full(round & 1), item_phase(round));
        const int idx = *static_cast<volatile int32_t *>(item_slots + (round & 1));
        if (idx >= 0)
            *it = elattn_item_decode(&P, in.items[idx], 1, kTileM, in.cu_seqlens_q, in.cu_seqlens_k, in.modes);
        return idx >= 0;
    };
    int ring = 0;
    elattn_item_view next;
    bool more = fetch_item(0, &next);
    for (int round = 0; more; ++round) {
        const elattn_item_view it = next;
        const int mode = it.mode, len_q = it.len_q, len_k = it.len_k;
        elattn_tile_walk walk;
        const uint8_t *mask_head = walk_of(it, &walk);
        const int qi[2] = {it.i0 + row0, it.i0 + row0 + 8};
        int qpos[2];
        const uint8_t *mask_row[2] = {nullptr, nullptr};
        /* FULL, STREAMING: each row's visible keys as ranges (none past Lq),
         * so a PARTIAL tile costs three compares per pair. BLOCK_SPARSE too
         * when every key tile lies inside one key block (block_size a multiple
         * of kTileN): the row's FULL ranges, emptied per tile where its mask
         * cell is not set (elattn_block_row_keys) -- a query tile spanning two
         * query blocks (head dim 64's 192 rows) makes many tiles PARTIAL.
         * Not at head dim 256, whose consumers spill with these six registers
         * kept across the item (ptxas -v); it tests pairs with
         * elattn_pair_visible, as BLOCK_SPARSE does for other block sizes. */
        constexpr bool kRowRanges = kHeadDim < 256;
        const bool ranges = kRowRanges && (!mask_head || P.block_size % kTileN == 0);
        elattn_row_keys keys[2] = {{0, 0, 0}, {0, 0, 0}};
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            qpos[r] = elattn_query_pos(qi[r], len_q, len_k);
            if (mask_head && qi[r] < len_q) mask_row[r] = mask_head + (long)(qi[r] / P.block_size) * P.mask_kblocks;
            if (ranges && qi[r] < len_q)
                keys[r] = elattn_row_key_ranges(mask_head ? ELATTN_MODE_FULL : mode, P.causal, len_q, len_k, qi[r],
                                                P.sink, P.local);
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
            if (kRowRanges && cls == ELATTN_TILE_PARTIAL && ranges) {
                /* the ranges relative to this thread's first key of the tile:
                 * each pair compares a constant offset */
                const int k0 = j0 + 2 * t;
                int first_end[2], second_begin[2], end[2];
#pragma unroll
                for (int r = 0; r < 2; ++r) {
                    const elattn_row_keys kr =
                        mask_row[r] ? elattn_block_row_keys(keys[r], mask_row[r], j0, P.block_size) : keys[r];
                    first_end[r] = kr.first_end - k0;
                    second_begin[r] = kr.second_begin - k0;
                    end[r] = kr.end - k0;
                }
#pragma unroll
                for (int i = 0; i < kTileN / 2; ++i) {
                    const int r = (i >> 1) & 1;
                    const int dk = (i >> 2) * 8 + (i & 1); /* key - k0 */
                    if (!(dk < first_end[r] || (dk >= second_begin[r] && dk < end[r]))) sc[i] = -INFINITY;
                }
            } else if (cls == ELATTN_TILE_PARTIAL) {
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

        /* Where the producer's walk goes after tile n of this item (tile_records); read after
         * k_full(n), used a tile later. */
        auto next_record = [&](int n) {
            return *static_cast<volatile int32_t *>(tile_record(ring + n));
        };

        bar_wait(q_full, round & 1); /* the item's Q is in shared memory */
        int cls;
        const int j = elattn_walk_next(&walk, 0, &cls); /* the first tile; the records give the rest */
        int tiles = 0;
        if (j < walk.end) {
            /* Softmax of tile n+1 runs while the tensor cores do P V of tile n;
             * O is rescaled while Q K^T of tile n+1 runs. */
            if (cw == kConsumers - 1) named_bar_arrive(kBarTurn, 256); /* warpgroup 0 starts */
            bar_wait(k_full(stage(0)), phase(0));
            int record = next_record(0);
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
            /* invariant at the loop top: pa = P of tile number n, alpha = its rescale of O, record
             * the walk's tile after it */
            int n = 0;
            for (;;) {
                const int jn = record >> 2, cls_next = record & 3;
                if (jn >= walk.end) break;
                bar_wait(k_full(stage(n + 1)), phase(n + 1));
                record = next_record(n + 1);
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
        more = fetch_item(round + 1, &next);

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
    if (!encode_map(&mq, in.q, kBf16, Cfg::kHeadDim, P.num_q_heads, rows_q, Cfg::kTileM, P.q_stride_token,
                    P.q_stride_head) ||
        !encode_map(&mk, in.k, kBf16, Cfg::kHeadDim, P.num_kv_heads, rows_k, Cfg::kTileN, P.k_stride_token,
                    P.k_stride_head) ||
        !encode_map(&mv, in.v, kBf16, Cfg::kHeadDim, P.num_kv_heads, rows_k, Cfg::kTileN, P.v_stride_token,
                    P.v_stride_head))
        return cudaErrorInvalidValue;
    auto kernel = attn_kernel<Cfg, kBf16>;
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSmemBytes);
    if (e != cudaSuccess) return e;
    /* Persistent: one CTA per SM, each claiming items from the counter (the
     * file comment). The earlier static split -- CTA c ran items c, c + grid,
     * ... -- lost 17% at 128K against one CTA per item (CTAs that each walk
     * their own items drift apart and lose the L2 reuse of neighbouring items'
     * K/V; bench/results/2026-12-02-nvidia-h200-hopper, run 2); claiming in
     * list order keeps the neighbours together. */
    if (!in.schedule) return cudaErrorInvalidValue;
    e = cudaMemsetAsync(in.schedule, 0, sizeof(int32_t), stream);
    if (e != cudaSuccess) return e;
    const int grid = in.num_items < sm_count ? in.num_items : sm_count;
    ELATTN_LAUNCH(grid, Cfg::kThreads, Cfg::kSmemBytes, stream, kernel)(in, mq, mk, mv);
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
        dispatch<64, 96, 128, 192, 256>(desc->head_dim, [&](auto d) {
            choice->tile_m = wgmma_cfg<decltype(d)::value>::kTileM;
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

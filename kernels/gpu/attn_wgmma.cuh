/*
 * Hopper (sm_90a) fused hybrid-head attention: wgmma + TMA + mbarriers,
 * producer/consumer warp specialisation. The family "wgmma" of
 * kernels/gpu/launch.h (head dim 128, fp16 and bf16); include this file in
 * exactly one CUDA translation unit (backends/gpu/gpu_wgmma.cu), after
 * vendor/vendor.h.
 *
 * One CTA = one work item (batch element, query head, 128-query tile) of the
 * host's longest-first schedule. 384 threads in three warpgroups:
 *   warpgroup 0  producer: one warp loads Q once and then K and V tiles into a
 *                two-stage ring (TMA, 128-byte swizzle), gated by mbarriers;
 *   warpgroups 1, 2  consumers: 64 query rows each; S = Q K^T and O += P V with
 *                wgmma.mma_async m64n128k16 (fp32 accumulators in registers,
 *                P fed from registers), online softmax in fp32 (exp2).
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
 * Shared memory layout of a 128 x 128 tile (16-bit elements): two halves of
 * [128 rows][64 elements], each row 128 bytes with the 16-byte chunks XOR-ed by
 * (row % 8) -- what TMA's SWIZZLE_128B writes and what a wgmma descriptor with
 * layout type 1 (128B swizzle) reads. Tile bases are 1024-byte aligned.
 */
#ifndef ELATTN_ATTN_WGMMA_CUH
#define ELATTN_ATTN_WGMMA_CUH

#include <cuda.h> /* CUtensorMap and its enums only; the encoder is fetched at run time */
#include <stdint.h>
#include <type_traits>

#include "launch.h"
#include "ptx/sm80.cuh"
#include "ptx/sm90.cuh"

namespace ELATTN_GPU_NS {
namespace wgmma {

using namespace sm90;
using sm80::fast_exp2;
using sm80::pack2;

constexpr int kTileM = 128;               /* query rows per CTA */
constexpr int kTileN = 128;               /* keys per tile */
constexpr int kHeadDim = 128;
constexpr int kStages = 2;                /* K/V ring depth */
constexpr int kConsumers = 2;             /* consumer warpgroups, 64 rows each */
constexpr int kThreads = 128 * (1 + kConsumers);
constexpr int kHalfBytes = 128 * 128;     /* [128 rows][64 x 16-bit] */
constexpr int kTileBytes = 2 * kHalfBytes;
constexpr int kQOff = 0;
constexpr int kKOff = kQOff + kTileBytes;
constexpr int kVOff = kKOff + kStages * kTileBytes;
constexpr int kBarOff = kVOff + kStages * kTileBytes;
/* barriers: q_full, k_full[S], k_empty[S], v_full[S], v_empty[S] */
constexpr int kNumBars = 1 + 4 * kStages;
constexpr int kSmemBytes = kBarOff + kNumBars * 8 + 1024; /* + slack to align the base */
static_assert(kSmemBytes <= 227 * 1024, "shared memory over the sm_90 per-block limit");
constexpr int kConsumerWarps = 4 * kConsumers;             /* arrivals that free a stage */
constexpr int kProducerRegs = 40, kConsumerRegs = 232;     /* 128*40 + 256*232 <= 64K */

/* Whether this translation unit's device code was built for sm_90a; read back
 * from the module loaded on the current device (an sm_80-only build reads 0). */
static __device__ int built_for_sm90a =
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    1;
#else
    0;
#endif

#if defined(__CUDA_ARCH_FEAT_SM90_ALL) || !defined(__CUDA_ARCH__)
/* The producer warp fills a tile with ordinary loads when a TMA box would
 * cross the end of the tensor: rows at or past `valid` are zero. */
__device__ __forceinline__ void fill_tile_by_hand(uint32_t dst, const uint16_t *base, int row0,
                                                  int valid, int head, int heads, int lane)
{
#pragma unroll 4
    for (int idx = lane; idx < kTileM * 16; idx += 32) {
        int r = idx >> 4, c = idx & 15;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (r < valid)
            v = __ldg(reinterpret_cast<const uint4 *>(
                base + ((size_t)(row0 + r) * heads + head) * kHeadDim + c * 8));
        uint32_t off = (c >> 3) * kHalfBytes + r * 128 + (((c & 7) ^ (r & 7)) << 4);
        asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};" ::"r"(dst + off), "r"(v.x),
                     "r"(v.y), "r"(v.z), "r"(v.w)
                     : "memory");
    }
    fence_proxy_async(); /* the tensor cores read it through the async proxy */
    __syncwarp();
}

/* Load rows [row0, row0 + 128) of (head) into the tile at dst, completing on bar. */
__device__ __forceinline__ void load_tile(uint32_t dst, uint32_t bar, const CUtensorMap *map,
                                          const void *gbase, int row0, int total_rows, int head,
                                          int heads, int lane)
{
    if (row0 + kTileM <= total_rows) {
        if (lane == 0) {
            bar_expect_tx(bar, kTileBytes);
            tma_load_box(dst, map, bar, 0, head, row0);
            tma_load_box(dst + kHalfBytes, map, bar, 64, head, row0);
        }
    } else {
        fill_tile_by_hand(dst, static_cast<const uint16_t *>(gbase), row0, total_rows - row0,
                          head, heads, lane);
        if (lane == 0) bar_arrive(bar);
    }
}
#endif /* sm_90a device code or host pass */

template <bool kBf16>
__global__ void __launch_bounds__(kThreads, 1)
    attn_kernel(const __grid_constant__ attn_inputs in,
                const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
                const __grid_constant__ CUtensorMap map_v)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using T = typename std::conditional<kBf16, __nv_bfloat16, __half>::type;
    extern __shared__ uint8_t smem_raw[];
    const uint32_t smem = (smem_u32(smem_raw) + 1023u) & ~1023u;
    const uint32_t q_full = smem + kBarOff;
    auto k_full = [&](int s) { return smem + kBarOff + 8 * (1 + s); };
    auto k_empty = [&](int s) { return smem + kBarOff + 8 * (1 + kStages + s); };
    auto v_full = [&](int s) { return smem + kBarOff + 8 * (1 + 2 * kStages + s); };
    auto v_empty = [&](int s) { return smem + kBarOff + 8 * (1 + 3 * kStages + s); };

    const elattn_attn_params &P = in.params;
    const elattn_item_view it =
        elattn_item_decode(&P, in.items[blockIdx.x], 1, kTileM, in.cu_seqlens_q, in.cu_seqlens_k, in.modes);
    const int h = it.head0, hk = it.hk, mode = it.mode, i0 = it.i0;
    const int q_start = it.q_start, len_q = it.len_q, k_start = it.k_start, len_k = it.len_k;
    const uint8_t *mask_head = mode == ELATTN_MODE_BLOCK_SPARSE ? in.block_mask + it.mask_offset : nullptr;
    elattn_tile_walk walk;
    elattn_walk_init(&walk, mode, P.causal, len_q, len_k, i0, it.i1, P.sink, P.local, kTileN, mask_head,
                     P.mask_kblocks, P.block_size);

    if (threadIdx.x == 0) {
        bar_init(q_full, 1);
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

    if (warpgroup == 0) {
        /* ---- producer ---- */
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(kProducerRegs));
        if (threadIdx.x / 32 != 0) return;
        const int total_q = in.cu_seqlens_q[P.batch], total_k = in.cu_seqlens_k[P.batch];
        load_tile(smem + kQOff, q_full, &map_q, in.q, q_start + i0, total_q, h, P.num_q_heads, lane);
        int cls, it = 0;
        for (int j = elattn_walk_next(&walk, 0, &cls); j < walk.end; j = elattn_walk_next(&walk, j + 1, &cls), ++it) {
            const int s = it % kStages;
            const uint32_t phase = (it / kStages) & 1;
            const int row0 = k_start + j * kTileN;
            bar_wait(k_empty(s), phase ^ 1);
            load_tile(smem + kKOff + s * kTileBytes, k_full(s), &map_k, in.k, row0, total_k, hk,
                      P.num_kv_heads, lane);
            bar_wait(v_empty(s), phase ^ 1);
            load_tile(smem + kVOff + s * kTileBytes, v_full(s), &map_v, in.v, row0, total_k, hk,
                      P.num_kv_heads, lane);
        }
        return;
    }

    /* ---- consumers ---- */
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(kConsumerRegs));
    const int cw = warpgroup - 1;            /* consumer warpgroup: rows [64 cw, 64 cw + 64) */
    const int warp = (threadIdx.x / 32) & 3; /* warp in the warpgroup: 16 rows */
    const int g = lane >> 2, t = lane & 3;
    const int row0 = cw * 64 + warp * 16 + g; /* this thread's rows: row0 and row0 + 8 */
    const int qi[2] = {i0 + row0, i0 + row0 + 8};
    int qpos[2];
    const uint8_t *mask_row[2] = {nullptr, nullptr};
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        qpos[r] = elattn_query_pos(qi[r], len_q, len_k);
        if (mask_head && qi[r] < len_q) mask_row[r] = mask_head + (long)(qi[r] / P.block_size) * P.mask_kblocks;
    }
    const float sl2 = P.scale_log2;

    float o[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

    const uint32_t q_tile = smem + kQOff + cw * 64 * 128;
    bar_wait(q_full, 0);

    auto k_tile = [&](int s) { return smem + kKOff + s * kTileBytes; };
    auto v_tile = [&](int s) { return smem + kVOff + s * kTileBytes; };

    /* S = Q K^T, issued (asynchronous until waited for) */
    auto issue_qk = [&](float(&sc)[64], uint32_t kt) {
#pragma unroll
        for (int kk = 0; kk < kHeadDim / 16; ++kk) {
            const uint32_t koff = (kk >> 2) * kHalfBytes + (kk & 3) * 32;
            wgmma_ss<kBf16>(sc, desc_sw128(q_tile + koff, 16, 1024), desc_sw128(kt + koff, 16, 1024),
                            kk > 0);
        }
        wgmma_commit();
    };
    /* O += P V, issued */
    auto issue_pv = [&](uint32_t(&pa)[32], uint32_t vt) {
#pragma unroll
        for (int kk = 0; kk < kTileN / 16; ++kk)
            wgmma_rs<kBf16>(o, pa[4 * kk], pa[4 * kk + 1], pa[4 * kk + 2], pa[4 * kk + 3],
                            desc_sw128(vt + kk * 2048, kHalfBytes, 1024));
        wgmma_commit();
    };
    /* Mask key tile j of class cls (PARTIAL: pair by pair, keys past the end
     * included), update the running max and sum, turn the scores into
     * probabilities in place; alpha rescales the old O. */
    auto softmax = [&](float(&sc)[64], int j, int cls, float(&alpha)[2]) {
        const int j0 = j * kTileN;
        if (cls == ELATTN_TILE_PARTIAL) {
#pragma unroll
            for (int i = 0; i < 64; ++i) {
                const int r = (i >> 1) & 1;
                const int key = j0 + (i >> 2) * 8 + 2 * t + (i & 1);
                const bool ok = key < len_k && qi[r] < len_q &&
                                elattn_pair_visible(mode, P.causal, qpos[r], key, P.sink, P.local, P.block_size,
                                                    mask_row[r]);
                if (!ok) sc[i] = -INFINITY;
            }
        }
        /* rows are shared by the 4 threads of a quad */
        float mx[2] = {m[0], m[1]}, base[2];
#pragma unroll
        for (int i = 0; i < 64; ++i) mx[(i >> 1) & 1] = fmaxf(mx[(i >> 1) & 1], sc[i]);
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            base[r] = elattn_softmax_base(mx[r] * sl2); /* nothing visible yet: no NaN */
            alpha[r] = fast_exp2(m[r] * sl2 - base[r]);
            m[r] = mx[r];
            l[r] *= alpha[r];
        }
#pragma unroll
        for (int i = 0; i < 64; ++i) {
            const int r = (i >> 1) & 1;
            sc[i] = fast_exp2(fmaf(sc[i], sl2, -base[r]));
            l[r] += sc[i];
        }
    };
    float sc[64], alpha[2];
    uint32_t pa[32];
    int cls;
    int j = elattn_walk_next(&walk, 0, &cls);
    if (j < walk.end) {
        /* Softmax of tile n+1 runs while the tensor cores do P V of tile n; O is
         * rescaled while Q K^T of tile n+1 runs. The two consumer warpgroups
         * also take turns issuing (named barriers 1 and 2), so one's softmax
         * overlaps the other's matrix products (ping-pong). */
        auto turn_wait = [&]() { asm volatile("bar.sync %0, 256;" ::"r"(1 + cw) : "memory"); };
        auto turn_pass = [&](bool last) {
            if (!(last && cw == 1)) asm volatile("bar.arrive %0, 256;" ::"r"(2 - cw) : "memory");
        };
        if (cw == 1) asm volatile("bar.arrive 1, 256;" ::: "memory"); /* warpgroup 1 starts */
        bar_wait(k_full(0), 0);
        turn_wait();
        wgmma_fence();
        issue_qk(sc, k_tile(0));
        turn_pass(false);
        wgmma_wait<0>();
        fence_regs(sc);
        if (lane == 0) bar_arrive(k_empty(0));
        softmax(sc, j, cls, alpha);
#pragma unroll
        for (int i = 0; i < 64; i += 2) pa[i >> 1] = pack2<T>(sc[i], sc[i + 1]);
        /* invariant at the loop top: pa = P of tile j, alpha = its rescale of O */
        int it = 0;
        for (;;) {
            int cls_next;
            const int jn = elattn_walk_next(&walk, j + 1, &cls_next);
            if (jn >= walk.end) break;
            const int s = it % kStages, sn = (it + 1) % kStages;
            bar_wait(k_full(sn), ((it + 1) / kStages) & 1);
            bar_wait(v_full(s), (it / kStages) & 1);
            turn_wait();
            wgmma_fence();
            issue_qk(sc, k_tile(sn));
#pragma unroll
            for (int i = 0; i < 64; ++i) o[i] *= alpha[(i >> 1) & 1];
            fence_regs(o);
            fence_regs(pa);
            wgmma_fence();
            issue_pv(pa, v_tile(s));
            turn_pass(false);
            wgmma_wait<1>(); /* groups complete in order: S of the next tile is ready */
            fence_regs(sc);
            if (lane == 0) bar_arrive(k_empty(sn));
            softmax(sc, jn, cls_next, alpha);
            wgmma_wait<0>();
            fence_regs(o);
            fence_regs(pa);
            if (lane == 0) bar_arrive(v_empty(s));
#pragma unroll
            for (int i = 0; i < 64; i += 2) pa[i >> 1] = pack2<T>(sc[i], sc[i + 1]);
            j = jn;
            ++it;
        }
        /* P V of the last tile */
        const int s = it % kStages;
        bar_wait(v_full(s), (it / kStages) & 1);
#pragma unroll
        for (int i = 0; i < 64; ++i) o[i] *= alpha[(i >> 1) & 1];
        turn_wait();
        fence_regs(o);
        fence_regs(pa);
        wgmma_fence();
        issue_pv(pa, v_tile(s));
        turn_pass(true);
        wgmma_wait<0>();
        fence_regs(o);
        fence_regs(pa);
        if (lane == 0) bar_arrive(v_empty(s));
    }

    /* epilogue: O / l, LSE; rows with no visible key give O = 0, LSE = -inf */
    const int hq = P.num_q_heads;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
        if (qi[r] >= len_q) continue;
        const float inv = elattn_row_inv_sum(l[r]);
        const size_t row = (size_t)(q_start + qi[r]) * hq + h;
        uint32_t *out = reinterpret_cast<uint32_t *>(static_cast<uint16_t *>(in.o) + row * kHeadDim);
#pragma unroll
        for (int c = 0; c < 16; ++c)
            out[c * 4 + t] = pack2<T>(o[4 * c + 2 * r] * inv, o[4 * c + 2 * r + 1] * inv);
        if (in.lse && t == 0) in.lse[row] = elattn_row_lse(m[r] * sl2, l[r]);
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

/* [rows][heads][128] 16-bit tensor, boxes of {64, 1, 128}, 128-byte swizzle.
 * `rows` is an upper bound (see the file comment). */
static bool encode_map(CUtensorMap *map, const void *base, bool bf16, int heads, long rows)
{
    EncodeTiledFn fn = encoder();
    if (!fn || ((uintptr_t)base & 15)) return false;
    cuuint64_t dims[3] = {(cuuint64_t)kHeadDim, (cuuint64_t)heads, (cuuint64_t)(rows > 0 ? rows : 1)};
    cuuint64_t strides[2] = {(cuuint64_t)kHeadDim * 2, (cuuint64_t)heads * kHeadDim * 2};
    cuuint32_t box[3] = {64, 1, (cuuint32_t)kTileM};
    cuuint32_t estride[3] = {1, 1, 1};
    CUresult r = fn(map, bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 3,
                    const_cast<void *>(base), dims, strides, box, estride,
                    CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                    CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    return r == CUDA_SUCCESS;
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
    else if (desc->head_dim != kHeadDim) *why = "head_dim 128 only";
    else if (!device_code_present()) *why = "library not built for sm_90a";
    else if (!encoder()) *why = "the driver has no cuTensorMapEncodeTiled";
    else {
        choice->tile_m = kTileM;
        choice->tile_n = kTileN;
        choice->per_kv_head = 0;
        choice->variant.text[0] = '\0';
        return true;
    }
    return false;
}

cudaError_t wgmma_attn_launch(const attn_inputs &in, const gpu_caps &caps, cudaStream_t stream)
{
    using namespace wgmma;
    (void)caps;
    if (in.num_items <= 0) return cudaSuccess;
    const elattn_attn_params &P = in.params;
    const bool bf16 = P.dtype == ELATTN_DTYPE_BF16;
    const long rows_q = (long)P.batch * P.max_seqlen_q, rows_k = (long)P.batch * P.max_seqlen_k;
    CUtensorMap mq, mk, mv;
    if (!encode_map(&mq, in.q, bf16, P.num_q_heads, rows_q) || !encode_map(&mk, in.k, bf16, P.num_kv_heads, rows_k) ||
        !encode_map(&mv, in.v, bf16, P.num_kv_heads, rows_k))
        return cudaErrorInvalidValue;
    auto kernel = bf16 ? attn_kernel<true> : attn_kernel<false>;
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes);
    if (e != cudaSuccess) return e;
    kernel<<<in.num_items, kThreads, kSmemBytes, stream>>>(in, mq, mk, mv);
    return cudaGetLastError();
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_ATTN_WGMMA_CUH */

/*
 * XAttention antidiagonal estimation on mma.sync (sm_80+, fp16 / bf16): the
 * family "mma" of the XAttention families (head dims 64, 128, 256). The one
 * pass, the work items and the persistent grid are xattn_tc.cuh's; this file
 * is the tile GEMM: step t of the strided reshape gathers its query and key
 * rows into shared memory with cp.async and accumulates with mma.sync
 * m16n8k16 from ldmatrix fragments. Include after vendor/vendor.h, in one CUDA
 * translation unit (backends/gpu/gpu_mma.cu).
 */
#ifndef ELATTN_XATTN_MMA_CUH
#define ELATTN_XATTN_MMA_CUH

#include "xattn_tc.cuh"

namespace ELATTN_GPU_NS {
namespace mma_xattn {

using namespace sm80;
using namespace xattn_tc;

/* Tile shape of the estimation kernel: WARPS warps of 16 reshaped rows each
 * (ROWS per tile), COLS reshaped columns per tile, STAGES (Q, K) slices of one
 * stride step in flight (cp.async). */
template <int D_, int COLS_, int STAGES_, int WARPS_>
struct XattnCfg {
    static constexpr int D = D_, COLS = COLS_, STAGES = STAGES_, WARPS = WARPS_;
    static constexpr int ROWS = 16 * WARPS, THREADS = 32 * WARPS, MIN_CTAS = 1;
    static constexpr int SMEM = STAGES * (ROWS + COLS) * D * 2;
    /* acc = Qt[r0 .. r0+ROWS-1] . Kt[c0 .. c0+COLS-1] for query head h (this warp's
     * 16 rows x COLS columns, unscaled), through STAGES shared-memory slices. */
    template <typename T>
    static __device__ void tile_scores(float (&acc)[COLS / 8][4], uint32_t s_base, const XattnArgs &a,
                                       const XattnSeq &sq, int r0, int c0, int h, int hk, bool next);
};
/* The configuration each head dim runs; D 256 stays within an sm_80
 * multiprocessor's shared memory. Measured with the lab harness (bench/lab/notes) at D 128:
 * on the H200 (2026-12-02, 32 query heads, S 16, B 128, 131072 tokens)
 * 128 x 128 tiles, 2 stages, 8 warps took 24.1 ms, 64 x 128 with 4 warps 27.0 ms,
 * 64-column tiles 28.5 to 35 ms. */
template <int D> struct XattnDefault;
template <> struct XattnDefault<64> : XattnCfg<64, 128, 3, 4> {};
template <> struct XattnDefault<128> : XattnCfg<128, 128, 2, 8> {};
template <> struct XattnDefault<256> : XattnCfg<256, 64, 2, 4> {};

template <int D_, int COLS_, int STAGES_, int WARPS_>
template <typename T>
__device__ void XattnCfg<D_, COLS_, STAGES_, WARPS_>::tile_scores(float (&acc)[COLS / 8][4], uint32_t s_base,
                                                                const XattnArgs &a, const XattnSeq &sq, int r0, int c0,
                                                                int h, int hk, bool next)
{
    constexpr int Q_TILE = ROWS * D * 2, STAGE = (ROWS + COLS) * D * 2, KD = D / 16;
    const int S = a.stride, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const T *q = (const T *)a.q, *k = (const T *)a.k;
#pragma unroll
    for (int n = 0; n < COLS / 8; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;

    const TileSteps<STAGES, COLS> steps(S, c0, next);
    auto load = [&](int t, bool next_tile) { /* step t of this tile, or of the next one */
        const uint32_t s_q = s_base + steps.slice(t, next_tile) * STAGE, s_k = s_q + Q_TILE;
        const int kc0 = next_tile ? c0 + COLS : c0;
        load_tile<ROWS, D, THREADS>(s_q, a.q, [&](int r) -> const void * {
            const long pos = elattn_xattn_q_pos(r0 + r, t, S);
            return pos < sq.len_q ? (const void *)(q + ((sq.q_start + pos) * a.Hq + h) * D) : nullptr;
        });
        load_tile<COLS, D, THREADS>(s_k, a.q, [&](int r) -> const void * {
            const long pos = elattn_xattn_k_pos(kc0 + r, t, S);
            return pos < sq.len_k ? (const void *)(k + ((sq.k_start + pos) * a.Hkv + hk) * D) : nullptr;
        });
    };

    const int q_row = warp * 16 + (lane % 16);
    const int k_row = (lane / 16) * 8 + (lane % 8), k_chunk = (lane / 8) & 1;
    if (!steps.carried) {
#pragma unroll
        for (int t = 0; t < STAGES - 1; ++t) {
            if (t < S) load(t, false);
            cp_async_commit();
        }
    }
    for (int t = 0; t < S; ++t) {
        cp_async_wait<STAGES - 2>(); /* step t has landed (one group is committed per step) */
        __syncthreads();             /* ... for every thread, and step t - 1's slice is free */
        steps.copy_ahead(t, load);
        cp_async_commit();
        const uint32_t s_q = s_base + steps.slice(t, false) * STAGE, s_k = s_q + Q_TILE;
#pragma unroll
        for (int kk = 0; kk < KD; ++kk) {
            uint32_t af[4];
            ldmatrix_x4(af, s_q + swz<D>(q_row, kk * 2 + lane / 16));
#pragma unroll
            for (int np = 0; np < COLS / 16; ++np) {
                uint32_t bf[4];
                ldmatrix_x4(bf, s_k + swz<D>(np * 16 + k_row, kk * 2 + k_chunk));
                mma_16816<T>(acc[2 * np], af, bf[0], bf[1]);
                mma_16816<T>(acc[2 * np + 1], af, bf[2], bf[3]);
            }
        }
    }
    if (!steps.carry) __syncthreads(); /* the next call's first copies reuse the slices; after a carry the
                                  * next tile's reuse them only after its first step's barrier */
}

} /* namespace mma_xattn */

bool mma_xattn_supported(const elattn_xattn_desc *desc, const gpu_caps &caps, xattn_choice *choice, const char **why)
{
    if (caps.sm_version < 80) *why = "needs sm_80 or newer";
    else if (desc->dtype != ELATTN_BF16 && desc->dtype != ELATTN_F16) *why = "fp16 and bf16 only";
    else if (!one_of<64, 128, 256>(desc->head_dim)) *why = "head_dim 64, 128 or 256 only";
    else if (desc->stride < 1 || desc->block_size % desc->stride != 0) *why = "block_size must be a multiple of stride";
    else return xattn_tc::xattn_choose<mma_xattn::XattnDefault, 64, 128, 256>(desc, caps, choice, why);
    return false;
}

cudaError_t mma_xattn_estimate(const xattn_inputs &in, const gpu_caps &caps, cudaStream_t stream)
{
    (void)caps;
    return xattn_tc::xattn_estimate_on<mma_xattn::XattnDefault, 64, 128, 256>(in, stream);
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_XATTN_MMA_CUH */

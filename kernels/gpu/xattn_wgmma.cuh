/*
 * XAttention antidiagonal estimation on wgmma (sm_90a, fp16 / bf16): the
 * family "wgmma" of the XAttention families (head dims 64 and 128). The one
 * pass, the work items and the persistent grid are xattn_tc.cuh's, shared with
 * the mma.sync family; this file is the tile GEMM on Hopper's warpgroup MMA.
 *
 * A tile is 128 reshaped rows x 128 reshaped columns; two warpgroups take 64
 * rows each. Step t of the strided reshape (query rows i*S + S-1-t, key rows
 * j*S + t) is gathered by all threads with cp.async into shared memory in the
 * layout wgmma reads: 64-element column slabs, each row 128 bytes with the
 * 128-byte swizzle (16-byte chunk c of row r at r*128 + ((c ^ (r % 8)) * 16)),
 * the same layout TMA writes for the attention family. TMA cannot gather rows
 * S apart for S not known at plan time, and the rows here are whole 16-byte
 * chunks anyway. The wgmma of step t runs while the threads issue step
 * t + STAGES - 1's copies and wait for step t + 1's; STAGES slices are in
 * flight, and the last steps of a column tile already copy the first steps of
 * the item's next one (xattn_tc.cuh, "Cfg::tile_scores"). Include after vendor/vendor.h and
 * attn_wgmma.cuh (its sm_90a checks), in the sm_90a translation unit
 * (backends/gpu/gpu_wgmma.cu).
 */
#ifndef ELATTN_XATTN_WGMMA_CUH
#define ELATTN_XATTN_WGMMA_CUH

#include "ptx/sm90.cuh"
#include "xattn_tc.cuh"

namespace ELATTN_GPU_NS {
namespace wgmma_xattn {

using namespace xattn_tc;

template <int D_, int STAGES_, int MIN_CTAS_>
struct WgXattnCfg {
    static constexpr int D = D_, STAGES = STAGES_, MIN_CTAS = MIN_CTAS_;
    static constexpr int ROWS = 128, COLS = 128, WARPS = 8, THREADS = 256;
    static constexpr int SLAB_Q = ROWS * 128, SLAB_K = COLS * 128; /* bytes of one 64-column slab */
    static constexpr int Q_BYTES = ROWS * D * 2, STAGE = (ROWS + COLS) * D * 2;
    static constexpr int SMEM = STAGES * STAGE + 1024; /* + slack to align the slices to 1024 (the swizzle atom) */
    static_assert(D % 64 == 0, "whole 64-column slabs");
    template <typename T>
    static __device__ void tile_scores(float (&acc)[COLS / 8][4], uint32_t s_base, const XattnArgs &a,
                                       const XattnSeq &sq, int r0, int c0, int h, int hk, bool next);
};
/* D 64: 32 KiB a stage, three stages, two CTAs per SM. D 128: 64 KiB a stage,
 * three stages, one CTA per SM. Measured on the H200 (bench/results/2026-12-02-
 * nvidia-h200-engine): 128 x 256 tiles with two stages were slower (D 128 at
 * 128K: 20.2 ms against 16.9), so the tile stays 128 x 128. */
template <int D> struct WgXattnDefault;
template <> struct WgXattnDefault<64> : WgXattnCfg<64, 3, 2> {};
template <> struct WgXattnDefault<128> : WgXattnCfg<128, 3, 1> {};

/* One thread's part of copying a ROWS_ x D tile of reshaped rows into the slab
 * layout, step after step of the reshape. Thread x copies 16-byte chunk x % CHUNKS
 * of rows x / CHUNKS + i * ROW_STEP. The spec's reshape positions
 * (elattn_xattn_q_pos, elattn_xattn_k_pos) are affine in the row and the step, so
 * the addresses are set up once per tile from them and each copy costs an add and
 * a compare (the per-copy 64-bit address arithmetic had the warps waiting on their
 * own integer chains: ncu, 2026-12-03). ROW_STEP is a multiple of 8, so the
 * swizzle is the same for all of a thread's rows. */
template <int ROWS_, int D, int THREADS>
struct SlabCopier {
    static constexpr int CHUNKS = D / 8, ROW_STEP = THREADS / CHUNKS, COPIES = ROWS_ / ROW_STEP;
    static_assert(THREADS % CHUNKS == 0 && ROWS_ % ROW_STEP == 0 && ROW_STEP % 8 == 0, "even split, one swizzle");
    const char *src; /* this thread's chunk of its first row at step 0 */
    long step_bytes; /* one step of the reshape, in bytes (negative for the queries) */
    long row_bytes;  /* between this thread's rows */
    long tile_bytes; /* from a row to the same row of the next tile (ROWS_ rows on) */
    int pos;         /* its first row's sequence position at step 0 */
    int step_pos;    /* one step, in positions */
    int row_pos;     /* between its rows, in positions */
    int tile_pos;    /* to the next tile, in positions */
    uint32_t dst;    /* its first chunk's offset in the slab layout */

    /* Rows first .. first + ROWS_ - 1 of the reshape whose step t of row i reads
     * sequence position pos_of(i, t) of a [start + position][heads][D] tensor. */
    template <class PosOf>
    __device__ __forceinline__ SlabCopier(const void *base, int start, int heads, int head, int first, PosOf pos_of)
    {
        const int x = (int)threadIdx.x, row = x / CHUNKS, ch = x % CHUNKS;
        pos = pos_of(first + row, 0);
        step_pos = pos_of(first + row, 1) - pos;
        row_pos = pos_of(first + row + ROW_STEP, 0) - pos;
        tile_pos = pos_of(first + row + ROWS_, 0) - pos;
        const long pitch = (long)heads * D * 2; /* bytes between consecutive positions */
        step_bytes = step_pos * pitch;
        row_bytes = row_pos * pitch;
        tile_bytes = tile_pos * pitch;
        src = (const char *)base + (((long)(start + pos) * heads + head) * D + ch * 8) * 2;
        dst = (ch >> 3) * (ROWS_ * 128) + row * 128 + (((ch & 7) ^ (row & 7)) << 4);
    }
    /* Step t (of the next tile's rows with next_tile) into the slab layout at sbase; rows at or
     * past len read nothing and are zero-filled. */
    __device__ __forceinline__ void copy(uint32_t sbase, int t, int len, const void *fallback, bool next_tile = false) const
    {
        const char *p = src + t * step_bytes + (next_tile ? tile_bytes : 0);
        const int p0 = pos + t * step_pos + (next_tile ? tile_pos : 0);
#pragma unroll
        for (int i = 0; i < COPIES; ++i) {
            const bool in = p0 + i * row_pos < len;
            sm80::cp_async_16(sbase + dst + i * ROW_STEP * 128, in ? p + i * row_bytes : fallback, in);
        }
    }
};

template <int D_, int STAGES_, int MIN_CTAS_>
template <typename T>
__device__ void WgXattnCfg<D_, STAGES_, MIN_CTAS_>::tile_scores(float (&acc)[COLS / 8][4], uint32_t s_base, const XattnArgs &a,
                                                     const XattnSeq &sq, int r0, int c0, int h, int hk, bool next)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using namespace sm90;
    constexpr bool kBf16 = std::is_same<T, __nv_bfloat16>::value;
    const int S = a.stride, warpgroup = threadIdx.x / 128;
    s_base = (s_base + 1023u) & ~1023u;
    float(&d)[COLS / 2] = reinterpret_cast<float(&)[COLS / 2]>(acc); /* the same registers, wgmma's view */
    const SlabCopier<ROWS, D, THREADS> q_rows(a.q, sq.q_start, a.Hq, h, r0,
                                              [S](int i, int t) { return elattn_xattn_q_pos(i, t, S); });
    const SlabCopier<COLS, D, THREADS> k_rows(a.k, sq.k_start, a.Hkv, hk, c0,
                                              [S](int j, int t) { return elattn_xattn_k_pos(j, t, S); });
    const TileSteps<STAGES, COLS> steps(S, c0, next);
    auto load = [&](int t, bool next_tile) { /* step t of this tile, or of the next one */
        const uint32_t s_q = s_base + steps.slice(t, next_tile) * STAGE;
        q_rows.copy(s_q, t, sq.len_q, a.q);
        k_rows.copy(s_q + Q_BYTES, t, sq.len_k, a.q, next_tile);
    };

    if (!steps.carried) {
#pragma unroll
        for (int t = 0; t < STAGES - 1; ++t) {
            if (t < S) load(t, false);
            sm80::cp_async_commit();
        }
    }
    for (int t = 0; t < S; ++t) {
        sm80::cp_async_wait<STAGES - 2>(); /* this thread's copies of step t have landed */
        fence_proxy_async();               /* ... and are visible to the tensor cores' reads */
        wgmma_wait<0>();                   /* step t - 1's wgmma is done with its slice */
        __syncthreads();                   /* every thread's copies, both warpgroups' wgmma */
        const uint32_t slice = s_base + steps.slice(t, false) * STAGE;
        const uint32_t s_q = slice + warpgroup * 64 * 128, s_k = slice + Q_BYTES;
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
            const uint32_t col = (kk & 3) * 32; /* 16 elements inside the slab's swizzled row */
            wgmma_ss<COLS, kBf16>(d, desc_sw128(s_q + (kk >> 2) * SLAB_Q + col, 16, 1024),
                                  desc_sw128(s_k + (kk >> 2) * SLAB_K + col, 16, 1024), t > 0 || kk > 0);
        }
        wgmma_commit();
        /* The copies for step t + STAGES - 1 go out while the tensor cores work on step t; their
         * buffer held step t - 1, whose wgmma every warpgroup finished before the barrier. */
        steps.copy_ahead(t, load);
        sm80::cp_async_commit();
    }
    wgmma_wait<0>();
    fence_regs(d);
    if (!steps.carry) __syncthreads(); /* the next call's first copies reuse the slices; after a carry the
                                  * next tile's reuse them only after its first step's barrier */
#else
    (void)acc, (void)s_base, (void)a, (void)sq, (void)r0, (void)c0, (void)h, (void)hk, (void)next;
    __trap(); /* never launched: wgmma_xattn_supported needs the sm_90a device code */
#endif
}

} /* namespace wgmma_xattn */

bool wgmma_xattn_supported(const elattn_xattn_desc *desc, const gpu_caps &caps, xattn_choice *choice, const char **why)
{
    if (caps.sm_version != 90) *why = "needs an sm_90 (Hopper) device";
    else if (desc->dtype != ELATTN_BF16 && desc->dtype != ELATTN_F16) *why = "fp16 and bf16 only";
    else if (!one_of<64, 128>(desc->head_dim)) *why = "head_dim 64 or 128 only";
    else if (!wgmma::device_code_present()) *why = "library not built for sm_90a";
    else if (desc->stride < 1 || desc->block_size % desc->stride != 0) *why = "block_size must be a multiple of stride";
    else return xattn_tc::xattn_choose<wgmma_xattn::WgXattnDefault, 64, 128>(desc, caps, choice, why);
    return false;
}

cudaError_t wgmma_xattn_estimate(const xattn_inputs &in, const gpu_caps &caps, cudaStream_t stream)
{
    (void)caps;
    return xattn_tc::xattn_estimate_on<wgmma_xattn::WgXattnDefault, 64, 128>(in, stream);
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_XATTN_WGMMA_CUH */

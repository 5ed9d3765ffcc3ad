/*
 * Tensor-core fused hybrid attention for NVIDIA sm_80+ (fp16 / bf16 storage).
 *
 * FlashAttention-2 structure written for elattn: one CTA per work item
 * (backends/common/worklist.h), WARPS warps of 16 query rows each, Q fragments held in
 * registers, K/V tiles streamed through a STAGES-deep cp.async ring in
 * XOR-swizzled shared memory, S = Q K^T and O += P V on mma.sync m16n8k16 with
 * fp32 accumulators, online softmax in the log2 domain (params.scale_log2).
 * P is rounded to the storage type in registers and used directly as the A
 * operand of P V (the C fragment layout of S equals the A layout of P).
 *
 * Hybrid heads: each CTA reads the mode of its (element, KV head) and visits
 * only key tiles whose class (elattn_tile_class, kernels/elattn_spec.h) is not
 * SKIP: FULL walks tiles up to the causal diagonal, STREAMING jumps from its
 * sink tiles straight to its window, BLOCK_SPARSE scans its mask row. Tiles
 * classified PARTIAL (or reaching past the keys) get the per-pair test
 * elattn_pair_visible; ALL tiles are not masked at all.
 *
 * GQA: with pack-GQA (per_kv_head = 1) one CTA takes the G query heads of a KV
 * head for tile_m = BM / G positions, so each K/V tile in shared memory serves
 * G heads; otherwise one CTA is one query head and tile_m = BM positions.
 *
 * Include this file in exactly one translation unit of the CUDA backend (it
 * defines the host entry points of kernels/gpu/launch.h).
 */
#ifndef ELATTN_ATTN_MMA_CUH
#define ELATTN_ATTN_MMA_CUH

#if defined(__has_include)
#  if __has_include("vendor.h")
#    include "vendor.h"
#  else
#    include <cuda_runtime.h>
#    include <cuda_bf16.h>
#    include <cuda_fp16.h>
#  endif
#else
#  include "vendor.h"
#endif

#include "launch.h"

#if !defined(ELATTN_HIP)

#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <type_traits>

namespace elattn_mma {

/* ---- PTX building blocks --------------------------------------------------- */

__device__ __forceinline__ uint32_t smem_addr(const void *p)
{
    return (uint32_t)__cvta_generic_to_shared(p);
}

/* 16-byte global->shared copy; src_bytes 0 zero-fills without reading. */
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void *src, bool valid)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t addr)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

/* C[16x8] += A[16x16] B[16x8], fp32 accumulate. */
template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1)
{
    if constexpr (sizeof(T) == 2 && std::is_same<T, __nv_bfloat16>::value) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    } else {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
}

/* Two floats to a packed pair of T; `lo` goes to the lower column. */
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi)
{
    uint32_t r;
    if constexpr (std::is_same<T, __nv_bfloat16>::value) {
        __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
        r = *reinterpret_cast<uint32_t *>(&v);
    } else {
        __half2 v = __floats2half2_rn(lo, hi);
        r = *reinterpret_cast<uint32_t *>(&v);
    }
    return r;
}

/* Byte offset of 16-byte chunk `chunk` of row `row` in a [rows][D] tile of
 * 2-byte elements. XOR with the row's low 3 bits spreads the 8 rows an
 * ldmatrix phase reads over all 32 banks (needs D >= 64). */
template <int D>
__device__ __forceinline__ uint32_t swz(int row, int chunk)
{
    return (uint32_t)(row * (D * 2) + ((chunk ^ (row & 7)) << 4));
}

/* Copy ROWS rows of D elements into a swizzled tile; row_ptr(r) gives the
 * global row or nullptr (zero-filled, nothing read). */
template <int ROWS, int D, int THREADS, class RowPtr>
__device__ __forceinline__ void load_tile(uint32_t sbase, const void *fallback, RowPtr row_ptr)
{
    constexpr int CHUNKS = D / 8;
    constexpr int TOTAL = ROWS * CHUNKS;
    static_assert(TOTAL % THREADS == 0, "tile copy must divide evenly over the threads");
#pragma unroll
    for (int i = 0; i < TOTAL / THREADS; ++i) {
        int c = i * THREADS + (int)threadIdx.x;
        int row = c / CHUNKS, ch = c % CHUNKS;
        const char *src = (const char *)row_ptr(row);
        cp_async_16(sbase + swz<D>(row, ch), src ? src + ch * 16 : fallback, src != nullptr);
    }
}

/* 2^x with the MUFU instruction (2^-inf = 0). */
__device__ __forceinline__ float fast_exp2(float x)
{
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

__device__ __forceinline__ float quad_max(float x)
{
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x)
{
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

/* ---- the fused attention kernel -------------------------------------------- */

/* D: head dim; WARPS x MW m16 row blocks (MW per warp: a warp's K/V fragments
 * serve MW row blocks, which halves shared-memory reads per MMA at MW = 2);
 * BN keys per tile; STAGES of the K/V ring; Q_IN_REGS: Q fragments loaded
 * once into registers, else re-read from shared memory per tile; MIN_CTAS:
 * CTAs per SM the register budget is cut for. */
template <int D_, int WARPS_, int MW_, int BN_, int STAGES_, bool Q_IN_REGS_, int MIN_CTAS_>
struct AttnConfig {
    static constexpr int D = D_, WARPS = WARPS_, MW = MW_, BN = BN_, STAGES = STAGES_, MIN_CTAS = MIN_CTAS_;
    static constexpr bool Q_IN_REGS = Q_IN_REGS_;
    static constexpr int BM = WARPS * 16 * MW, THREADS = WARPS * 32;
    static constexpr int SMEM = (BM * D + 2 * STAGES * BN * D) * 2;
};

/* Which key tiles an item visits: the visited set is every tile in
 * [0, end) that is not SKIP; STREAMING jumps over the gap between its sink
 * tiles and its window so that it never scans the middle. */
struct TileWalk {
    int mode, causal, len_q, len_k, i0, i1, sink, local, block_size, mask_kblocks, bn;
    const uint8_t *mask_head;
    int end, sink_end, window_start;

    __device__ __forceinline__ int tile_class(int j) const
    {
        int j0 = j * bn, j1 = min(j0 + bn, len_k);
        return elattn_tile_class(mode, causal, len_q, len_k, i0, i1, j0, j1, sink, local, mask_head,
                                 mask_kblocks, block_size);
    }
    /* Smallest visited tile >= j, or `end`. */
    __device__ __forceinline__ int seek(int j) const
    {
        if (mode == ELATTN_MODE_STREAMING && j >= sink_end && j < window_start) j = window_start;
        while (j < end && tile_class(j) == ELATTN_TILE_SKIP) ++j;
        return j < end ? j : end;
    }
};

template <typename T, class Cfg, bool PACK>
__global__ void __launch_bounds__(Cfg::THREADS, Cfg::MIN_CTAS) attn_mma_kernel(const elattn_gpu_attn_inputs in)
{
    constexpr int D = Cfg::D, BN = Cfg::BN, BM = Cfg::BM, STAGES = Cfg::STAGES;
    constexpr int THREADS = Cfg::THREADS, KD = D / 16, NB = BN / 8, DB = D / 8, MW = Cfg::MW;
    extern __shared__ __align__(128) unsigned char smem[];
    const uint32_t s_q = smem_addr(smem);
    const uint32_t s_k = s_q + BM * D * 2;
    const uint32_t s_v = s_k + STAGES * BN * D * 2;

    const elattn_attn_params &P = in.params;
    const elattn_work_item item = in.items[blockIdx.x];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t4 = lane % 4;

    const int q_start = in.cu_seqlens_q[item.b], len_q = in.cu_seqlens_q[item.b + 1] - q_start;
    const int k_start = in.cu_seqlens_k[item.b], len_k = in.cu_seqlens_k[item.b + 1] - k_start;
    const int G = P.group, Hq = P.num_q_heads, Hkv = P.num_kv_heads;
    const int hk = PACK ? item.head : item.head / G;
    const int mode = in.modes[item.b * Hkv + hk];
    const int tile_m = in.tile_m; /* positions per item: BM, or BM / G packed */
    const int pos0 = item.qtile * tile_m;
    const int pos_end = min(pos0 + tile_m, len_q);

    /* Row r of the tile is query (head_of(r), pos0 + pos_in(r)). */
    auto head_of = [&](int r) { return PACK ? hk * G + r / tile_m : item.head; };
    auto pos_in = [&](int r) { return PACK ? r % tile_m : r; };

    const T *q = (const T *)in.q, *k = (const T *)in.k, *v = (const T *)in.v;
    const long kv_stride = (long)Hkv * D;
    const T *k_head = k + (long)k_start * kv_stride + (long)hk * D;
    const T *v_head = v + (long)k_start * kv_stride + (long)hk * D;

    TileWalk walk;
    walk.mode = mode;
    walk.causal = P.causal;
    walk.len_q = len_q;
    walk.len_k = len_k;
    walk.i0 = pos0;
    walk.i1 = pos_end;
    walk.sink = P.sink;
    walk.local = P.local;
    walk.block_size = P.block_size;
    walk.mask_kblocks = P.mask_kblocks;
    walk.bn = BN;
    walk.mask_head = (mode == ELATTN_MODE_BLOCK_SPARSE && in.block_mask)
                         ? in.block_mask + elattn_mask_row(item.b, hk, 0, Hkv, P.mask_qblocks, P.mask_kblocks)
                         : nullptr;
    {
        const int pmin = elattn_query_pos(pos0, len_q, len_k);
        const int pmax = elattn_query_pos(pos_end - 1, len_q, len_k);
        const int n_tiles = (len_k + BN - 1) / BN;
        int end = n_tiles;
        if (P.causal) end = pmax < 0 ? 0 : min(n_tiles, pmax / BN + 1);
        walk.sink_end = 0;
        walk.window_start = 0;
        if (mode == ELATTN_MODE_STREAMING) {
            walk.sink_end = (min(P.sink, len_k) + BN - 1) / BN;
            long first = (long)pmin - P.local + 1;
            walk.window_start = first <= 0 ? 0 : (int)min(first / BN, (long)n_tiles);
            if (!P.causal) {
                long last = (long)pmax + P.local - 1;
                long wend = last / BN + 1;
                if (wend < end) end = (int)wend;
            }
        }
        if (mode == ELATTN_MODE_BLOCK_SPARSE && !walk.mask_head) end = 0;
        walk.end = end;
    }

    /* Per-thread rows: g and g + 8 of each of the warp's MW row blocks. */
    auto tile_row = [&](int mi, int h) { return (warp * MW + mi) * 16 + g + 8 * h; };
    int row_pos[MW][2];
    const uint8_t *row_mask[MW][2];
#pragma unroll
    for (int mi = 0; mi < MW; ++mi)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            int i = pos0 + pos_in(tile_row(mi, h));
            row_pos[mi][h] = elattn_query_pos(i, len_q, len_k);
            row_mask[mi][h] = (walk.mask_head && i < len_q)
                                  ? walk.mask_head + (long)(i / P.block_size) * P.mask_kblocks
                                  : walk.mask_head;
        }

    /* Q tile, then the first STAGES - 1 K/V tiles. */
    const void *fallback = in.q;
    load_tile<BM, D, THREADS>(s_q, fallback, [&](int r) -> const void * {
        int i = pos0 + pos_in(r);
        if (i >= len_q) return nullptr;
        return q + ((long)(q_start + i) * Hq + head_of(r)) * D;
    });
    cp_async_commit();

    auto load_kv = [&](int j, int stage) {
        const int key0 = j * BN;
        load_tile<BN, D, THREADS>(s_k + stage * BN * D * 2, fallback, [&](int r) -> const void * {
            return key0 + r < len_k ? (const void *)(k_head + (long)(key0 + r) * kv_stride) : nullptr;
        });
        load_tile<BN, D, THREADS>(s_v + stage * BN * D * 2, fallback, [&](int r) -> const void * {
            return key0 + r < len_k ? (const void *)(v_head + (long)(key0 + r) * kv_stride) : nullptr;
        });
    };

    int j_load = walk.seek(0);
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (j_load < walk.end) {
            load_kv(j_load, s);
            j_load = walk.seek(j_load + 1);
        }
        cp_async_commit();
    }

    /* Q fragments: lanes 0-15 address rows, lanes 16-31 the upper 8 columns. */
    const int q_row = warp * MW * 16 + (lane % 16); /* + 16 * mi */
    uint32_t qf[Cfg::Q_IN_REGS ? MW : 1][Cfg::Q_IN_REGS ? KD : 1][4];
    if constexpr (Cfg::Q_IN_REGS) {
        cp_async_wait<STAGES - 1>();
        __syncthreads();
#pragma unroll
        for (int mi = 0; mi < MW; ++mi)
#pragma unroll
            for (int kk = 0; kk < KD; ++kk)
                ldmatrix_x4(qf[mi][kk], s_q + swz<D>(q_row + 16 * mi, kk * 2 + lane / 16));
    }

    float o[MW][DB][4];
    float m_run[MW][2], l_run[MW][2];
#pragma unroll
    for (int mi = 0; mi < MW; ++mi) {
#pragma unroll
        for (int d = 0; d < DB; ++d) o[mi][d][0] = o[mi][d][1] = o[mi][d][2] = o[mi][d][3] = 0.f;
        m_run[mi][0] = m_run[mi][1] = -INFINITY;
        l_run[mi][0] = l_run[mi][1] = 0.f;
    }
    const float sl2 = P.scale_log2;

    /* ldmatrix lane offsets: K (non-transposed, rows = keys) and V (transposed). */
    const int k_row = (lane / 16) * 8 + (lane % 8), k_chunk = (lane / 8) & 1;
    const int v_row = ((lane / 8) & 1) * 8 + (lane % 8), v_chunk = lane / 16;

    int it = 0;
    for (int j = walk.seek(0); j < walk.end; j = walk.seek(j + 1), ++it) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        if (j_load < walk.end) {
            load_kv(j_load, (it + STAGES - 1) % STAGES);
            j_load = walk.seek(j_load + 1);
        }
        cp_async_commit();

        const int stage = it % STAGES;
        const uint32_t sk = s_k + stage * BN * D * 2, sv = s_v + stage * BN * D * 2;

        /* S = Q K^T for this warp's 16 rows x BN keys. */
        float s[MW][NB][4];
#pragma unroll
        for (int mi = 0; mi < MW; ++mi)
#pragma unroll
            for (int n = 0; n < NB; ++n) s[mi][n][0] = s[mi][n][1] = s[mi][n][2] = s[mi][n][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < KD; ++kk) {
            uint32_t a[MW][4];
#pragma unroll
            for (int mi = 0; mi < MW; ++mi) {
                if constexpr (Cfg::Q_IN_REGS) {
#pragma unroll
                    for (int x = 0; x < 4; ++x) a[mi][x] = qf[Cfg::Q_IN_REGS ? mi : 0][Cfg::Q_IN_REGS ? kk : 0][x];
                } else {
                    ldmatrix_x4(a[mi], s_q + swz<D>(q_row + 16 * mi, kk * 2 + lane / 16));
                }
            }
#pragma unroll
            for (int np = 0; np < NB / 2; ++np) {
                uint32_t b[4];
                ldmatrix_x4(b, sk + swz<D>(np * 16 + k_row, kk * 2 + k_chunk));
#pragma unroll
                for (int mi = 0; mi < MW; ++mi) {
                    mma_16816<T>(s[mi][2 * np], a[mi], b[0], b[1]);
                    mma_16816<T>(s[mi][2 * np + 1], a[mi], b[2], b[3]);
                }
            }
        }

        /* Mask only where the tile rule says a pair may be invisible. */
        const int key0 = j * BN;
        const bool need_mask = key0 + BN > len_k || walk.tile_class(j) != ELATTN_TILE_ALL;
        if (need_mask) {
#pragma unroll
            for (int mi = 0; mi < MW; ++mi)
#pragma unroll
                for (int n = 0; n < NB; ++n)
#pragma unroll
                    for (int e = 0; e < 4; ++e) {
                        const int h = e / 2, key = key0 + n * 8 + 2 * t4 + (e & 1);
                        const bool vis = key < len_k &&
                                         elattn_pair_visible(mode, P.causal, row_pos[mi][h], key, P.sink, P.local,
                                                             P.block_size, row_mask[mi][h]);
                        if (!vis) s[mi][n][e] = -INFINITY;
                    }
        }

        /* Online softmax (log2 domain); l stays a per-thread partial sum. */
#pragma unroll
        for (int mi = 0; mi < MW; ++mi)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                float mx = m_run[mi][h];
#pragma unroll
                for (int n = 0; n < NB; ++n) mx = fmaxf(mx, fmaxf(s[mi][n][2 * h], s[mi][n][2 * h + 1]) * sl2);
                mx = quad_max(mx);
                const float m_use = mx == -INFINITY ? 0.f : mx;
                const float corr = fast_exp2(m_run[mi][h] - m_use);
                m_run[mi][h] = mx;
                float sum = 0.f;
#pragma unroll
                for (int n = 0; n < NB; ++n) {
                    s[mi][n][2 * h] = fast_exp2(fmaf(s[mi][n][2 * h], sl2, -m_use));
                    s[mi][n][2 * h + 1] = fast_exp2(fmaf(s[mi][n][2 * h + 1], sl2, -m_use));
                    sum += s[mi][n][2 * h] + s[mi][n][2 * h + 1];
                }
                l_run[mi][h] = l_run[mi][h] * corr + sum;
#pragma unroll
                for (int d = 0; d < DB; ++d) {
                    o[mi][d][2 * h] *= corr;
                    o[mi][d][2 * h + 1] *= corr;
                }
            }

        /* O += P V; P's C layout is the A layout of the next MMA. */
#pragma unroll
        for (int kc = 0; kc < BN / 16; ++kc) {
            uint32_t a[MW][4];
#pragma unroll
            for (int mi = 0; mi < MW; ++mi) {
                a[mi][0] = pack2<T>(s[mi][2 * kc][0], s[mi][2 * kc][1]);
                a[mi][1] = pack2<T>(s[mi][2 * kc][2], s[mi][2 * kc][3]);
                a[mi][2] = pack2<T>(s[mi][2 * kc + 1][0], s[mi][2 * kc + 1][1]);
                a[mi][3] = pack2<T>(s[mi][2 * kc + 1][2], s[mi][2 * kc + 1][3]);
            }
#pragma unroll
            for (int dp = 0; dp < D / 16; ++dp) {
                uint32_t b[4];
                ldmatrix_x4_trans(b, sv + swz<D>(kc * 16 + v_row, dp * 2 + v_chunk));
#pragma unroll
                for (int mi = 0; mi < MW; ++mi) {
                    mma_16816<T>(o[mi][2 * dp], a[mi], b[0], b[1]);
                    mma_16816<T>(o[mi][2 * dp + 1], a[mi], b[2], b[3]);
                }
            }
        }
    }
    cp_async_wait<0>();
    __syncthreads();

    /* Normalise; stage O through the Q tile for 16-byte row stores. */
#pragma unroll
    for (int mi = 0; mi < MW; ++mi)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const float l = quad_sum(l_run[mi][h]);
            const float inv = l > 0.f ? 1.f / l : 0.f;
            const int r = tile_row(mi, h);
#pragma unroll
            for (int d = 0; d < DB; ++d) {
                uint32_t pr = pack2<T>(o[mi][d][2 * h] * inv, o[mi][d][2 * h + 1] * inv);
                *(uint32_t *)(smem + swz<D>(r, d) + t4 * 4) = pr;
            }
            const int i = pos0 + pos_in(r);
            if (in.lse && i < len_q && t4 == 0) {
                const float lse = l > 0.f ? m_run[mi][h] * 0.69314718055994531f + logf(l) : -INFINITY;
                in.lse[(long)(q_start + i) * Hq + head_of(r)] = lse;
            }
        }
    __syncthreads();
    T *o_ptr = (T *)in.o;
    constexpr int CHUNKS = D / 8;
#pragma unroll
    for (int i = 0; i < BM * CHUNKS / THREADS; ++i) {
        const int c = i * THREADS + threadIdx.x, r = c / CHUNKS, ch = c % CHUNKS;
        const int qi = pos0 + pos_in(r);
        if (qi < len_q) {
            const uint4 val = *(const uint4 *)(smem + swz<D>(r, ch));
            *(uint4 *)(o_ptr + ((long)(q_start + qi) * Hq + head_of(r)) * D + ch * 8) = val;
        }
    }
}

/* ---- configurations -------------------------------------------------------- */

using Cfg64 = AttnConfig<64, 4, 2, 64, 3, false, 2>;
using Cfg128 = AttnConfig<128, 4, 2, 64, 2, false, 2>;
using Cfg128_w8 = AttnConfig<128, 8, 1, 64, 3, true, 1>; /* v1: dev_mma/test_mma.cu times it beside Cfg128 */
using Cfg256 = AttnConfig<256, 4, 1, 32, 2, false, 1>;

/* Pack the group into M when it divides the tile into >= 16 positions. */
inline bool pack_gqa_fits(int group, int bm) { return group > 1 && bm % group == 0 && bm / group >= 16; }

/* The group is packed whenever it fits (dev_mma/test_mma.cu measures both ways). */
template <class Cfg>
inline void fill_shape(int group, elattn_gpu_kernel_shape *shape, const char *name_plain, const char *name_pack)
{
    const bool p = pack_gqa_fits(group, Cfg::BM);
    shape->tile_m = p ? Cfg::BM / group : Cfg::BM;
    shape->tile_n = Cfg::BN;
    shape->per_kv_head = p ? 1 : 0;
    shape->name = p ? name_pack : name_plain;
}

template <typename T, class Cfg, bool PACK>
inline cudaError_t launch_one(const elattn_gpu_attn_inputs *in, cudaStream_t stream)
{
    auto kernel = attn_mma_kernel<T, Cfg, PACK>;
    cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::SMEM);
    if (err != cudaSuccess) return err;
    kernel<<<in->num_items, Cfg::THREADS, Cfg::SMEM, stream>>>(*in);
    return cudaGetLastError();
}

template <typename T, class Cfg>
inline cudaError_t launch_cfg(const elattn_gpu_attn_inputs *in, cudaStream_t stream)
{
    const int group = in->params.group;
    if (in->tile_n != Cfg::BN) return cudaErrorInvalidValue;
    if (group > 1 && in->tile_m * group == Cfg::BM) return launch_one<T, Cfg, true>(in, stream);
    if (in->tile_m == Cfg::BM) return launch_one<T, Cfg, false>(in, stream);
    return cudaErrorInvalidValue;
}

template <typename T>
inline cudaError_t launch_dtype(const elattn_gpu_attn_inputs *in, cudaStream_t stream)
{
    switch (in->params.head_dim) {
    case 64: return launch_cfg<T, Cfg64>(in, stream);
    case 128: return launch_cfg<T, Cfg128>(in, stream);
    case 256: return launch_cfg<T, Cfg256>(in, stream);
    default: return cudaErrorInvalidValue;
    }
}

} /* namespace elattn_mma */

/* ---- host entry points (kernels/gpu/launch.h) ------------------------------ */

bool elattn_mma_attn_supported(const elattn_attn_desc *desc, int sm_version, elattn_gpu_kernel_shape *shape,
                               const char **why_not)
{
    using namespace elattn_mma;
    if (sm_version < 80) {
        if (why_not) *why_not = "mma: needs sm_80 or newer (mma.sync m16n8k16 bf16, cp.async)";
        return false;
    }
    if (desc->dtype != ELATTN_DTYPE_BF16 && desc->dtype != ELATTN_DTYPE_F16) {
        if (why_not) *why_not = "mma: only fp16 and bf16 storage";
        return false;
    }
    const int group = desc->num_q_heads / desc->num_kv_heads;
    switch (desc->head_dim) {
    case 64: fill_shape<Cfg64>(group, shape, "mma_d64_m128n64", "mma_d64_m128n64_packgqa"); break;
    case 128: fill_shape<Cfg128>(group, shape, "mma_d128_m128n64", "mma_d128_m128n64_packgqa"); break;
    case 256: fill_shape<Cfg256>(group, shape, "mma_d256_m64n32", "mma_d256_m64n32_packgqa"); break;
    default:
        if (why_not) *why_not = "mma: head_dim must be 64, 128 or 256";
        return false;
    }
    return true;
}

cudaError_t elattn_mma_attn_launch(const elattn_gpu_attn_inputs *in, cudaStream_t stream)
{
    if (in->num_items == 0) return cudaSuccess;
    if (in->params.dtype == ELATTN_DTYPE_BF16) return elattn_mma::launch_dtype<__nv_bfloat16>(in, stream);
    if (in->params.dtype == ELATTN_DTYPE_F16) return elattn_mma::launch_dtype<__half>(in, stream);
    return cudaErrorInvalidValue;
}

#endif /* !ELATTN_HIP */
#endif /* ELATTN_ATTN_MMA_CUH */

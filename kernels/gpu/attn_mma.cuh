/*
 * Tensor-core fused hybrid attention for NVIDIA sm_80+ (fp16 / bf16 storage).
 *
 * The family "mma" of kernels/gpu/launch.h (head dims 64, 128 and 256).
 * FlashAttention-2 structure written for elattn: one CTA per work item
 * (backends/common/worklist.h), WARPS warps of 16 query rows each, Q fragments held in
 * registers, K/V tiles streamed through a STAGES-deep cp.async ring in
 * XOR-swizzled shared memory, S = Q K^T and O += P V on mma.sync m16n8k16 with
 * fp32 accumulators, online softmax in the log2 domain (params.scale_log2).
 * P is rounded to the storage type in registers and used directly as the A
 * operand of P V (the C fragment layout of S equals the A layout of P).
 *
 * Hybrid heads: each CTA reads the mode of its (element, KV head) and visits
 * the key tiles of the spec's walk (elattn_walk_next, kernels/elattn_spec.h):
 * FULL up to the causal diagonal, STREAMING its sink tiles then straight its
 * window, BLOCK_SPARSE the tiles its mask admits. Tiles the walk classes
 * PARTIAL get the per-pair test elattn_pair_visible; ALL tiles are not
 * masked at all.
 *
 * GQA: with pack-GQA (per_kv_head = 1) one CTA takes the G query heads of a KV
 * head for tile_m = BM / G positions, so each K/V tile in shared memory serves
 * G heads; otherwise one CTA is one query head and tile_m = BM positions.
 *
 * Include this file in exactly one translation unit of the CUDA backend
 * (backends/gpu/gpu_mma.cu), after vendor/vendor.h.
 */
#ifndef ELATTN_ATTN_MMA_CUH
#define ELATTN_ATTN_MMA_CUH

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <type_traits>

#include "dispatch.cuh"
#include "launch.h"
#include "ptx/sm80.cuh"

namespace ELATTN_GPU_NS {
namespace mma {

using namespace sm80;

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

template <typename T, class Cfg, bool PACK>
__global__ void __launch_bounds__(Cfg::THREADS, Cfg::MIN_CTAS) attn_mma_kernel(const attn_inputs in)
{
    constexpr int D = Cfg::D, BN = Cfg::BN, BM = Cfg::BM, STAGES = Cfg::STAGES;
    constexpr int THREADS = Cfg::THREADS, KD = D / 16, NB = BN / 8, DB = D / 8, MW = Cfg::MW;
    ELATTN_DYNAMIC_SHARED_ALIGNED(128, unsigned char, smem);
    const uint32_t s_q = smem_addr(smem);
    const uint32_t s_k = s_q + BM * D * 2;
    const uint32_t s_v = s_k + STAGES * BN * D * 2;

    const elattn_attn_params &P = in.params;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t4 = lane % 4;

    const int G = P.group, Hq = P.num_q_heads;
    const int tile_m = in.choice.tile_m; /* positions per item: BM, or BM / G packed */
    const elattn_item_view item = elattn_item_decode(&P, in.items[blockIdx.x], PACK ? G : 1, tile_m, in.cu_seqlens_q,
                                                   in.cu_seqlens_k, in.modes);
    const int q_start = item.q_start, len_q = item.len_q, k_start = item.k_start, len_k = item.len_k;
    const int hk = item.hk, mode = item.mode, pos0 = item.i0, pos_end = item.i1;

    /* Row r of the tile is query (head_of(r), pos0 + pos_in(r)). */
    auto head_of = [&](int r) { return PACK ? item.head0 + r / tile_m : item.head0; };
    auto pos_in = [&](int r) { return PACK ? r % tile_m : r; };

    const T *q = (const T *)in.q, *k = (const T *)in.k, *v = (const T *)in.v;

    const uint8_t *mask_head =
        mode == ELATTN_MODE_BLOCK_SPARSE && in.block_mask ? in.block_mask + item.mask_offset : nullptr;
    elattn_tile_walk walk;
    elattn_walk_init(&walk, mode, P.causal, len_q, len_k, pos0, pos_end, P.sink, P.local, BN, mask_head,
                     P.mask_kblocks, P.block_size);

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
            row_mask[mi][h] = (mask_head && i < len_q) ? mask_head + (long)(i / P.block_size) * P.mask_kblocks
                                                       : mask_head;
        }

    /* Q tile, then the first STAGES - 1 K/V tiles. */
    const void *fallback = in.q;
    load_tile<BM, D, THREADS>(s_q, fallback, [&](int r) -> const void * {
        int i = pos0 + pos_in(r);
        if (i >= len_q) return nullptr;
        return q + elattn_q_offset(&P, q_start + i, head_of(r));
    });
    cp_async_commit();

    auto load_kv = [&](int j, int stage) {
        const int key0 = j * BN;
        load_tile<BN, D, THREADS>(s_k + stage * BN * D * 2, fallback, [&](int r) -> const void * {
            if (key0 + r >= len_k) return nullptr;
            return k + elattn_k_offset(&P, elattn_kv_row(&P, in.block_table, item.b, k_start, key0 + r), hk);
        });
        load_tile<BN, D, THREADS>(s_v + stage * BN * D * 2, fallback, [&](int r) -> const void * {
            if (key0 + r >= len_k) return nullptr;
            return v + elattn_v_offset(&P, elattn_kv_row(&P, in.block_table, item.b, k_start, key0 + r), hk);
        });
    };

    int load_cls; /* the loads run ahead of the compute; only the compute reads a class */
    int j_load = elattn_walk_next(&walk, 0, &load_cls);
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (j_load < walk.end) {
            load_kv(j_load, s);
            j_load = elattn_walk_next(&walk, j_load + 1, &load_cls);
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

    int it = 0, cls;
    for (int j = elattn_walk_next(&walk, 0, &cls); j < walk.end; j = elattn_walk_next(&walk, j + 1, &cls), ++it) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        if (j_load < walk.end) {
            load_kv(j_load, (it + STAGES - 1) % STAGES);
            j_load = elattn_walk_next(&walk, j_load + 1, &load_cls);
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

        /* Mask only where the walk says a pair may be invisible (keys past the end included). */
        const int key0 = j * BN;
        if (cls == ELATTN_TILE_PARTIAL) {
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
                const float m_use = elattn_softmax_base(mx);
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
            const float inv = elattn_row_inv_sum(l);
            const int r = tile_row(mi, h);
#pragma unroll
            for (int d = 0; d < DB; ++d) {
                uint32_t pr = pack2<T>(o[mi][d][2 * h] * inv, o[mi][d][2 * h + 1] * inv);
                *(uint32_t *)(smem + swz<D>(r, d) + t4 * 4) = pr;
            }
            const int i = pos0 + pos_in(r);
            if (in.lse && i < len_q && t4 == 0)
                in.lse[(long)(q_start + i) * Hq + head_of(r)] = elattn_row_lse(m_run[mi][h], l);
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
            *(uint4 *)(o_ptr + elattn_o_offset(&P, q_start + qi, head_of(r)) + ch * 8) = val;
        }
    }
}

/* ---- configurations -------------------------------------------------------- */
/* The configuration each head dim runs (bench/lab/notes has the measurements). */
template <int D> struct DefaultCfg;
template <> struct DefaultCfg<64> : AttnConfig<64, 4, 2, 64, 3, false, 2> {};
template <> struct DefaultCfg<128> : AttnConfig<128, 4, 2, 64, 2, false, 2> {};
template <> struct DefaultCfg<256> : AttnConfig<256, 4, 1, 32, 2, false, 1> {};

/* Pack the group into M when it divides the tile into >= 16 positions: one
 * K/V tile in shared memory then serves the G heads. */
inline bool pack_gqa_fits(int group, int bm) { return group > 1 && bm % group == 0 && bm / group >= 16; }

template <typename T, class Cfg, bool PACK>
inline cudaError_t launch_one(const attn_inputs &in, cudaStream_t stream)
{
    auto kernel = attn_mma_kernel<T, Cfg, PACK>;
    cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::SMEM);
    if (err != cudaSuccess) return err;
    ELATTN_LAUNCH(in.num_items, Cfg::THREADS, Cfg::SMEM, stream, kernel)(in);
    return cudaGetLastError();
}

} /* namespace mma */

bool mma_attn_supported(const elattn_attn_desc *desc, const gpu_caps &caps, attn_choice *choice, const char **why)
{
    using namespace mma;
    if (caps.sm_version < 80) {
        *why = "needs sm_80 or newer";
        return false;
    }
    if (desc->dtype != ELATTN_BF16 && desc->dtype != ELATTN_F16) {
        *why = "fp16 and bf16 only";
        return false;
    }
    if (!one_of<64, 128, 256>(desc->head_dim)) {
        *why = "head_dim 64, 128 or 256 only";
        return false;
    }
    const int group = desc->num_q_heads / desc->num_kv_heads;
    dispatch<64, 128, 256>(desc->head_dim, [&](auto d) {
        using Cfg = DefaultCfg<decltype(d)::value>;
        const bool pack = pack_gqa_fits(group, Cfg::BM);
        choice->tile_m = pack ? Cfg::BM / group : Cfg::BM;
        choice->tile_n = Cfg::BN;
        choice->per_kv_head = pack ? 1 : 0;
        snprintf(choice->variant.text, sizeof choice->variant.text, "%s", pack ? "packgqa" : "");
        return cudaSuccess;
    });
    return true;
}

cudaError_t mma_attn_launch(const attn_inputs &in, const gpu_caps &caps, cudaStream_t stream)
{
    using namespace mma;
    (void)caps;
    if (in.num_items == 0) return cudaSuccess;
    return dispatch<ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(in.params.dtype, [&](auto dt) {
        using T = typename std::conditional<decltype(dt)::value == ELATTN_DTYPE_BF16, __nv_bfloat16, __half>::type;
        return dispatch<64, 128, 256>(in.params.head_dim, [&](auto d) {
            using Cfg = DefaultCfg<decltype(d)::value>;
            return in.choice.per_kv_head ? launch_one<T, Cfg, true>(in, stream) : launch_one<T, Cfg, false>(in, stream);
        });
    });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_ATTN_MMA_CUH */

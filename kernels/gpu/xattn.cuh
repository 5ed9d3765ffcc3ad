/*
 * XAttention block selection on any GPU: the portable estimation (the
 * XAttention family "portable" of launch.h: any dtype, every head dim) and
 * the selection (table -> block mask) that every estimation family shares.
 * The definition is the XAttention comment of kernels/elattn_spec.h.
 *
 * Estimation: one block per (element, KV head, query block) of a
 * BLOCK_SPARSE head. It owns that row of the table, so every cell is written
 * by one block in a fixed order (no atomics: the same inputs give the same
 * bits). Reshaped rows of the group's query heads are taken RT at a time; for
 * each chunk, pass 1 finds every row's softmax max and sum over its visible
 * reshaped columns, pass 2 recomputes the scores and adds the normalised
 * values into the block cells. Scores are a GEMM over D*S, done in chunks of
 * one stride step t and DC head-dim values, so shared memory stays small and
 * nothing of size [L, L] exists: memory is the table, O(L^2 / B^2).
 *
 * Selection: one block per (element, KV head, query block). Rather than sort
 * the row, it finds the cut-off score by bisection on the float's bits: with
 * R = tau * total - forced, a candidate is kept when the sum of the scores
 * ahead of it (higher scores, ties at lower indices) is below R, so every
 * candidate above the smallest kept score u* is kept, and among those equal
 * to u* a prefix by index. Each bisection step is one block reduction.
 *
 * Include vendor/vendor.h, launch.h, dispatch.cuh and common.cuh first.
 */
#ifndef ELATTN_GPU_XATTN_CUH
#define ELATTN_GPU_XATTN_CUH

namespace ELATTN_GPU_NS {

struct xattn_est_cfg {
    enum {
        NT = 128,
        RT = 32,  /* reshaped rows per chunk */
        CT = 32,  /* reshaped columns per tile */
        DC = 64,  /* head-dim values per reduction chunk */
        SR = 2,   /* rows per thread */
        SC = 4,   /* columns per thread */
        COL_THREADS = CT / SC,
        ROW_THREADS = RT / SR,
        STRIDE = DC + 4,
    };
    static_assert(COL_THREADS * ROW_THREADS == NT, "micro-tiles cover the tile");
    static constexpr size_t smem_floats = (size_t)RT * STRIDE + (size_t)CT * STRIDE + (size_t)ROW_THREADS * CT + CT;
};

/* Flat index -> (element, KV head, query block); blocks loop over the flat range. */
struct xattn_cell_row {
    int b, hk, qb;
};
static __device__ __forceinline__ xattn_cell_row xattn_decode(long flat, int num_kv_heads, int qblocks)
{
    xattn_cell_row r;
    r.qb = (int)(flat % qblocks);
    flat /= qblocks;
    r.hk = (int)(flat % num_kv_heads);
    r.b = (int)(flat / num_kv_heads);
    return r;
}

template <int WAVE, int DT>
__global__ void __launch_bounds__(xattn_est_cfg::NT)
    xattn_estimate_kernel(xattn_inputs in, elattn_xattn_desc d, float score_mul)
{
    if constexpr (!wave_matches<WAVE>()) {
        return;
    } else {
        using C = xattn_est_cfg;
        __shared__ __align__(16) float Qs[C::RT * C::STRIDE];
        __shared__ __align__(16) float Ks[C::CT * C::STRIDE];
        __shared__ float col_part[C::ROW_THREADS * C::CT];
        __shared__ float col_sum[C::CT];

        const int tid = threadIdx.x, tr = tid / C::COL_THREADS, tc = tid % C::COL_THREADS;
        const int S = d.stride, B = d.block_size, D = d.head_dim;
        const int rows_per_qb = B / S, G = d.num_q_heads / d.num_kv_heads;
        const int Hq = d.num_q_heads, Hkv = d.num_kv_heads;
        constexpr int EV = storage<DT>::per_vec;
        const long flat_total = (long)d.batch * Hkv * in.mask_qblocks;

        for (long flat = blockIdx.x; flat < flat_total; flat += gridDim.x) {
            const xattn_cell_row cr = xattn_decode(flat, Hkv, in.mask_qblocks);
            const int b = cr.b, hk = cr.hk, qb = cr.qb;
            if (in.modes[b * Hkv + hk] != ELATTN_MODE_BLOCK_SPARSE) continue;
            const int q0 = in.cu_seqlens_q[b], len_q = in.cu_seqlens_q[b + 1] - q0;
            const int k0 = in.cu_seqlens_k[b], len_k = in.cu_seqlens_k[b + 1] - k0;
            const int nqb = (len_q + B - 1) / B;
            if (qb >= nqb) continue;
            const int rows = (len_q + S - 1) / S, cols = (len_k + S - 1) / S;
            float *cells = in.block_scores + elattn_mask_row(b, hk, qb, Hkv, in.mask_qblocks, in.mask_kblocks);

            __syncthreads(); /* the previous row's readers are done */
            for (int kb = tid; kb < in.mask_kblocks; kb += C::NT) cells[kb] = 0.0f;

            const int units = G * rows_per_qb; /* (query head, reshaped row) pairs of this block */
            for (int u0 = 0; u0 < units; u0 += C::RT) {
                /* reshaped row of chunk row r: head hk*G + g, row i; -1 when past the block or sequence */
                auto unit_row = [&](int r) {
                    const int u = u0 + r;
                    const int i = qb * rows_per_qb + u % rows_per_qb;
                    return (u < units && i < rows) ? i : -1;
                };
                auto unit_head = [&](int r) { return hk * G + (u0 + r) / rows_per_qb; };
                /* last column any row of the chunk may see */
                int col_end = cols;
                if (d.causal) {
                    int last = -1;
                    for (int r = 0; r < C::RT; ++r) {
                        const int i = unit_row(r);
                        if (i >= 0) last = max(last, elattn_xattn_row_last_pos(i, S, len_q, len_k));
                    }
                    col_end = last < 0 ? 0 : min(cols, last / S + 1);
                }

                /* S tile [RT][CT] of columns [c0, c0 + CT), in log2 units */
                auto score_tile = [&](int c0, float (&s)[C::SR][C::SC]) {
#pragma unroll
                    for (int i = 0; i < C::SR; ++i)
#pragma unroll
                        for (int j = 0; j < C::SC; ++j) s[i][j] = 0.0f;
                    for (int t = 0; t < S; ++t) {
                        for (int dc = 0; dc < D; dc += C::DC) {
                            __syncthreads();
                            for (int v = tid; v < (C::RT + C::CT) * (C::DC / EV); v += C::NT) {
                                const int r = v / (C::DC / EV), c = (v % (C::DC / EV)) * EV;
                                float f[EV];
#pragma unroll
                                for (int e = 0; e < EV; ++e) f[e] = 0.0f;
                                float *dst;
                                if (r < C::RT) {
                                    const int i = unit_row(r);
                                    const int qi = elattn_xattn_q_pos(i, t, S);
                                    if (i >= 0 && qi < len_q && dc + c < D) /* columns past D read as 0 */
                                        storage<DT>::unpack(
                                            load_vec<DT>(in.q, ((size_t)(q0 + qi) * Hq + unit_head(r)) * D + dc + c), f);
#pragma unroll
                                    for (int e = 0; e < EV; ++e) f[e] *= score_mul;
                                    dst = Qs + r * C::STRIDE + c;
                                } else {
                                    const int j = c0 + r - C::RT;
                                    const int kj = elattn_xattn_k_pos(j, t, S);
                                    if (j < col_end && kj < len_k && dc + c < D)
                                        storage<DT>::unpack(
                                            load_vec<DT>(in.k, ((size_t)(k0 + kj) * Hkv + hk) * D + dc + c), f);
                                    dst = Ks + (r - C::RT) * C::STRIDE + c;
                                }
#pragma unroll
                                for (int e = 0; e < EV; e += 4)
                                    *reinterpret_cast<float4 *>(dst + e) = make_float4(f[e], f[e + 1], f[e + 2], f[e + 3]);
                            }
                            __syncthreads();
#pragma unroll 4
                            for (int x = 0; x < C::DC; x += 4) {
                                float4 qv[C::SR], kv[C::SC];
#pragma unroll
                                for (int i = 0; i < C::SR; ++i)
                                    qv[i] = *reinterpret_cast<const float4 *>(Qs + (tr + i * C::ROW_THREADS) * C::STRIDE + x);
#pragma unroll
                                for (int j = 0; j < C::SC; ++j)
                                    kv[j] = *reinterpret_cast<const float4 *>(Ks + (tc + j * C::COL_THREADS) * C::STRIDE + x);
#pragma unroll
                                for (int i = 0; i < C::SR; ++i)
#pragma unroll
                                    for (int j = 0; j < C::SC; ++j)
                                        s[i][j] += qv[i].x * kv[j].x + qv[i].y * kv[j].y + qv[i].z * kv[j].z +
                                                   qv[i].w * kv[j].w;
                            }
                        }
                    }
                };
                auto visible = [&](int r, int j) {
                    const int i = unit_row(r);
                    return i >= 0 && j < col_end && elattn_xattn_col_visible(d.causal, i, j, S, len_q, len_k);
                };

                /* pass 1: softmax max and sum per row (per thread over its columns, then merged) */
                float m[C::SR], l[C::SR];
#pragma unroll
                for (int i = 0; i < C::SR; ++i) m[i] = -INFINITY, l[i] = 0.0f;
                for (int c0 = 0; c0 < col_end; c0 += C::CT) {
                    float s[C::SR][C::SC];
                    score_tile(c0, s);
#pragma unroll
                    for (int i = 0; i < C::SR; ++i)
#pragma unroll
                        for (int j = 0; j < C::SC; ++j) {
                            if (!visible(tr + i * C::ROW_THREADS, c0 + tc + j * C::COL_THREADS)) continue;
                            const float v = s[i][j];
                            if (v > m[i]) {
                                l[i] = l[i] * exp2f(m[i] - v) + 1.0f;
                                m[i] = v;
                            } else {
                                l[i] += exp2f(v - m[i]);
                            }
                        }
                }
#pragma unroll
                for (int i = 0; i < C::SR; ++i) {
                    const float mt = group_max<C::COL_THREADS>(m[i]);
                    const float lt = group_sum<C::COL_THREADS>(m[i] == -INFINITY ? 0.0f : l[i] * exp2f(m[i] - mt));
                    m[i] = mt;
                    l[i] = lt; /* 0: the row sees no column */
                }

                /* pass 2: normalised values summed into the block cells */
                for (int c0 = 0; c0 < col_end; c0 += C::CT) {
                    float s[C::SR][C::SC];
                    score_tile(c0, s);
#pragma unroll
                    for (int j = 0; j < C::SC; ++j) {
                        const int col = c0 + tc + j * C::COL_THREADS;
                        float part = 0.0f;
#pragma unroll
                        for (int i = 0; i < C::SR; ++i)
                            if (l[i] > 0.0f && visible(tr + i * C::ROW_THREADS, col))
                                part += exp2f(s[i][j] - m[i]) / l[i];
                        col_part[tr * C::CT + tc + j * C::COL_THREADS] = part;
                    }
                    __syncthreads();
                    if (tid < C::CT) {
                        float sum = 0.0f;
                        for (int r = 0; r < C::ROW_THREADS; ++r) sum += col_part[r * C::CT + tid];
                        col_sum[tid] = sum;
                    }
                    __syncthreads();
                    /* one thread per key block of the tile, in a fixed order */
                    const int kb_first = c0 / rows_per_qb;
                    const int kb_last = (min(c0 + C::CT, col_end) - 1) / rows_per_qb;
                    const int kb = kb_first + tid;
                    if (kb <= kb_last) {
                        float sum = 0.0f;
                        for (int c = max(c0, kb * rows_per_qb); c < min(c0 + C::CT, (kb + 1) * rows_per_qb); ++c)
                            sum += col_sum[c - c0];
                        cells[kb] += sum;
                    }
                }
            }
        }
    }
}

/* ---- selection ---------------------------------------------------------------------- */
template <int WAVE>
struct xattn_select_cfg {
    enum { NT = 256 };
};

template <int WAVE>
__global__ void __launch_bounds__(xattn_select_cfg<WAVE>::NT)
    xattn_select_kernel(xattn_inputs in, elattn_xattn_desc d, const float *taus, uint8_t *block_mask)
{
    if constexpr (!wave_matches<WAVE>()) {
        return;
    } else {
        constexpr int NT = xattn_select_cfg<WAVE>::NT;
        __shared__ double scratch[NT / WAVE];
        __shared__ int tie_cut;
        const int tid = threadIdx.x, B = d.block_size, Hkv = d.num_kv_heads;
        const long flat_total = (long)d.batch * Hkv * in.mask_qblocks;

        for (long flat = blockIdx.x; flat < flat_total; flat += gridDim.x) {
            const xattn_cell_row cr = xattn_decode(flat, Hkv, in.mask_qblocks);
            const int b = cr.b, hk = cr.hk, qb = cr.qb;
            if (in.modes[b * Hkv + hk] != ELATTN_MODE_BLOCK_SPARSE) continue; /* not ours: left as it was */
            const long row_at = elattn_mask_row(b, hk, qb, Hkv, in.mask_qblocks, in.mask_kblocks);
            uint8_t *out = block_mask + row_at;
            const float *score = in.block_scores + row_at;
            const int len_q = in.cu_seqlens_q[b + 1] - in.cu_seqlens_q[b];
            const int len_k = in.cu_seqlens_k[b + 1] - in.cu_seqlens_k[b];
            const int nqb = (len_q + B - 1) / B, nkb = (len_k + B - 1) / B;
            if (qb >= nqb || nkb == 0) {
                for (int kb = tid; kb < in.mask_kblocks; kb += NT) out[kb] = 0;
                continue;
            }
            const int diag = elattn_xattn_diag_block(qb, B, len_q, len_k);
            auto candidate = [&](int kb) {
                return kb != 0 && kb != diag && elattn_xattn_col_visible(d.causal, qb, kb, B, len_q, len_k);
            };

            double total = 0.0;
            for (int kb = tid; kb < nkb; kb += NT) total += score[kb];
            total = block_sum<WAVE, NT>(total, scratch);
            const double forced = (double)score[0] + (diag != 0 ? (double)score[diag] : 0.0);
            const double room = (double)taus[hk] * total - forced; /* R: candidates kept while ahead-sum < R */

            /* Bisection on bits (scores are >= 0, so their bits order as they do):
             * the smallest x with sum(candidates > x) < R. */
            uint32_t cut_bits = 0x7f800000u; /* +inf: nothing kept */
            if (room > 0.0) {
                uint32_t lo = 0, hi = 0x7f800000u;
                while (lo < hi) {
                    const uint32_t mid = lo + (hi - lo) / 2;
                    const float x = __uint_as_float(mid);
                    double above = 0.0;
                    for (int kb = tid; kb < nkb; kb += NT)
                        if (candidate(kb) && score[kb] > x) above += score[kb];
                    above = block_sum<WAVE, NT>(above, scratch);
                    if (above < room) hi = mid;
                    else lo = mid + 1;
                }
                /* u*: the smallest candidate score at or above that x */
                double smallest = INFINITY;
                const float x = __uint_as_float(lo);
                for (int kb = tid; kb < nkb; kb += NT)
                    if (candidate(kb) && score[kb] >= x) smallest = fmin(smallest, (double)score[kb]);
                const double u_star = block_min<WAVE, NT>(smallest, scratch);
                if (u_star < INFINITY) cut_bits = __float_as_uint((float)u_star);
            }
            /* Candidates equal to u* are kept in index order while the sum ahead is below R.
             * All threads sum the candidates ahead and find the ties; one thread then walks
             * from the first tie to the last (it used to sum and walk the whole row alone,
             * longer at 128K than the whole bisection). */
            if (tid == 0) tie_cut = -1; /* read only after the barrier below */
            if (cut_bits != 0x7f800000u) {
                const float u = __uint_as_float(cut_bits);
                double ahead = 0.0, ties = 0.0, first_tie = INFINITY;
                for (int kb = tid; kb < nkb; kb += NT) {
                    if (!candidate(kb)) continue;
                    if (score[kb] > u) ahead += score[kb];
                    else if (score[kb] == u) {
                        ties += 1.0;
                        first_tie = fmin(first_tie, (double)kb);
                    }
                }
                ahead = block_sum<WAVE, NT>(ahead, scratch);
                ties = block_sum<WAVE, NT>(ties, scratch);
                first_tie = block_min<WAVE, NT>(first_tie, scratch);
                if (tid == 0) /* from the first tie to the last, usually one step */
                    for (int kb = (int)first_tie, left = (int)ties; left > 0 && kb < nkb; ++kb) {
                        if (!candidate(kb) || score[kb] != u) continue;
                        if (!(ahead < room)) break;
                        tie_cut = kb;
                        ahead += u;
                        --left;
                    }
            }
            __syncthreads();
            const float u = __uint_as_float(cut_bits);
            for (int kb = tid; kb < in.mask_kblocks; kb += NT) {
                bool keep = false;
                if (kb < nkb) {
                    if (kb == 0 || kb == diag) keep = true;
                    else if (candidate(kb) && cut_bits != 0x7f800000u)
                        keep = score[kb] > u || (score[kb] == u && kb <= tie_cut);
                }
                out[kb] = keep ? 1 : 0;
            }
            __syncthreads(); /* tie_cut and scratch are reused by the next row */
        }
    }
}

/* ---- host side ------------------------------------------------------------------------ */
static int xattn_grid(long rows) { return (int)(rows < (1L << 20) ? (rows > 0 ? rows : 1) : (1L << 20)); }

template <int WAVE>
static cudaError_t xattn_estimate_wave(const xattn_inputs &in, cudaStream_t stream)
{
    const elattn_xattn_desc &d = *in.desc;
    const long rows = (long)d.batch * d.num_kv_heads * in.mask_qblocks;
    /* scores in log2 units: scale / S * log2(e), folded into Q */
    const float mul = (float)((double)d.scale / d.stride * 1.4426950408889634);
    cudaError_t e = dispatch<ELATTN_DTYPE_F32, ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(d.dtype, [&](auto dt) {
        ELATTN_LAUNCH(xattn_grid(rows), xattn_est_cfg::NT, 0, stream, xattn_estimate_kernel<WAVE, decltype(dt)::value>)(in, d, mul);
        return cudaSuccess;
    });
    return e != cudaSuccess ? e : cudaGetLastError();
}

bool portable_xattn_supported(const elattn_xattn_desc *desc, const gpu_caps &caps, xattn_choice *choice,
                              const char **why)
{
    if (!wave_supported(caps.wave)) {
        *why = "no kernel for this wave size in this build";
        return false;
    }
    (void)desc;
    choice->ctas = 0;
    choice->scratch_bytes = 0;
    snprintf(choice->variant.text, sizeof choice->variant.text, "w%d", caps.wave);
    return true;
}

cudaError_t portable_xattn_estimate(const xattn_inputs &in, const gpu_caps &caps, cudaStream_t stream)
{
    return dispatch_wave(caps.wave, [&](auto w) { return xattn_estimate_wave<decltype(w)::value>(in, stream); });
}

cudaError_t xattn_select(const xattn_inputs &in, const float *taus, uint8_t *block_mask, const gpu_caps &caps,
                         cudaStream_t stream)
{
    const elattn_xattn_desc &d = *in.desc;
    const int grid = xattn_grid((long)d.batch * d.num_kv_heads * in.mask_qblocks);
    return dispatch_wave(caps.wave, [&](auto w) {
        constexpr int W = decltype(w)::value;
        ELATTN_LAUNCH(grid, xattn_select_cfg<W>::NT, 0, stream, xattn_select_kernel<W>)(in, d, taus, block_mask);
        return cudaGetLastError();
    });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_XATTN_CUH */

/*
 * XAttention antidiagonal estimation on tensor cores (sm_80+, fp16 / bf16).
 *
 * The strided reshape of the spec (kernels/elattn_spec.h, "XAttention"):
 * Qt[i] = concat_t Q[i*S + S-1-t], Kt[j] = concat_t K[j*S + t], is only an
 * addressing of Q and K, so a 64 x 64 tile of Qt.Kt is a GEMM whose k loop
 * runs over t (S steps) and d: step t gathers query rows i*S + S-1-t and key
 * rows j*S + t (rows past the sequence zero-filled) into shared memory and
 * accumulates with mma.sync m16n8k16. No [L, L] buffer exists anywhere.
 *
 * Pass 1, per (element, query head, 64 reshaped rows): the running max and
 *   sum of each row's softmax over its visible columns -> scratch.
 * Pass 2, per (element, KV head, 64 reshaped rows): recomputes the scores of
 *   each of the group's query heads in a fixed order, adds their normalised
 *   probabilities in registers, and reduces them per (query block, key block)
 *   cell in shared memory in a fixed order. When B / S <= 64 each cell belongs
 *   to one CTA and is stored, so the table is deterministic; a larger B / S
 *   (a cell wider than a tile) falls back to atomicAdd.
 * Only BLOCK_SPARSE heads (per the mode table) are computed; the launch zeroes
 * the whole table first, which also gives the 0 of invisible cells.
 */
#ifndef ELATTN_XATTN_MMA_CUH
#define ELATTN_XATTN_MMA_CUH

#include "attn_mma.cuh" /* PTX building blocks, vendor.h, launch.h */

#if !defined(ELATTN_HIP)

namespace elattn_mma {

constexpr int XROWS = 64, XCOLS = 64, XWARPS = 4, XTHREADS = XWARPS * 32;
constexpr int XPS_PITCH = XCOLS + 4; /* floats per row of the probability tile */

struct XattnArgs {
    const void *q, *k;
    const int32_t *cu_seqlens_q, *cu_seqlens_k, *modes;
    float *stats;        /* [batch][Hq][stat_rows][2]: row max (log2 domain), row sum */
    float *block_scores; /* [batch][Hkv][mask_qblocks][mask_kblocks] */
    int Hq, Hkv, group, stride, block_size, causal, stat_rows, mask_qblocks, mask_kblocks;
    float c2; /* scale * log2(e) / S */
};

/* One (element, head) view of the reshaped problem. */
struct XattnSeq {
    int q_start, len_q, k_start, len_k, rows, cols;
    __device__ XattnSeq(const XattnArgs &a, int b)
    {
        q_start = a.cu_seqlens_q[b];
        len_q = a.cu_seqlens_q[b + 1] - q_start;
        k_start = a.cu_seqlens_k[b];
        len_k = a.cu_seqlens_k[b + 1] - k_start;
        rows = (len_q + a.stride - 1) / a.stride;
        cols = (len_k + a.stride - 1) / a.stride;
    }
    /* Columns [0, end) can be visible to some row of the tile starting at r0. */
    __device__ int col_end(const XattnArgs &a, int r0) const
    {
        if (!a.causal) return cols;
        int last = min(r0 + XROWS, rows) - 1;
        int p = elattn_xattn_row_last_pos(last, a.stride, len_q, len_k);
        return p < 0 ? 0 : min(cols, p / a.stride + 1);
    }
    __device__ bool visible(const XattnArgs &a, int i, int j) const
    {
        return i < rows && j < cols && elattn_xattn_col_visible(a.causal, i, j, a.stride, len_q, len_k);
    }
};

/* acc = Qt[r0 .. r0+63] . Kt[c0 .. c0+63] for query head h (this warp's 16
 * rows x 64 columns, unscaled). Two shared-memory buffers of (Q, K) tiles. */
template <typename T, int D>
__device__ void xattn_tile_scores(float (&acc)[XCOLS / 8][4], uint32_t s_base, const XattnArgs &a,
                                  const XattnSeq &sq, int r0, int c0, int h, int hk)
{
    constexpr int TILE = XROWS * D * 2, KD = D / 16;
    const int S = a.stride, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const T *q = (const T *)a.q, *k = (const T *)a.k;
#pragma unroll
    for (int n = 0; n < XCOLS / 8; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;

    auto load = [&](int t, int buf) {
        const uint32_t s_q = s_base + buf * 2 * TILE, s_k = s_q + TILE;
        load_tile<XROWS, D, XTHREADS>(s_q, a.q, [&](int r) -> const void * {
            long pos = (long)(r0 + r) * S + (S - 1 - t);
            return pos < sq.len_q ? (const void *)(q + ((sq.q_start + pos) * a.Hq + h) * D) : nullptr;
        });
        load_tile<XCOLS, D, XTHREADS>(s_k, a.q, [&](int r) -> const void * {
            long pos = (long)(c0 + r) * S + t;
            return pos < sq.len_k ? (const void *)(k + ((sq.k_start + pos) * a.Hkv + hk) * D) : nullptr;
        });
    };

    const int q_row = warp * 16 + (lane % 16);
    const int k_row = (lane / 16) * 8 + (lane % 8), k_chunk = (lane / 8) & 1;
    load(0, 0);
    cp_async_commit();
    for (int t = 0; t < S; ++t) {
        cp_async_wait<0>();
        __syncthreads();
        if (t + 1 < S) load(t + 1, (t + 1) & 1);
        cp_async_commit();
        const uint32_t s_q = s_base + (t & 1) * 2 * TILE, s_k = s_q + TILE;
#pragma unroll
        for (int kk = 0; kk < KD; ++kk) {
            uint32_t af[4];
            ldmatrix_x4(af, s_q + swz<D>(q_row, kk * 2 + lane / 16));
#pragma unroll
            for (int np = 0; np < XCOLS / 16; ++np) {
                uint32_t bf[4];
                ldmatrix_x4(bf, s_k + swz<D>(np * 16 + k_row, kk * 2 + k_chunk));
                mma_16816<T>(acc[2 * np], af, bf[0], bf[1]);
                mma_16816<T>(acc[2 * np + 1], af, bf[2], bf[3]);
            }
        }
    }
    __syncthreads(); /* the next call's first load reuses buffer 0 */
}

template <typename T, int D>
__global__ void __launch_bounds__(XTHREADS) xattn_row_stats_kernel(const XattnArgs a)
{
    extern __shared__ __align__(128) unsigned char smem[];
    const int b = blockIdx.z, h = blockIdx.y, hk = h / a.group;
    if (a.modes[b * a.Hkv + hk] != ELATTN_MODE_BLOCK_SPARSE) return;
    const XattnSeq sq(a, b);
    const int r0 = (gridDim.x - 1 - blockIdx.x) * XROWS; /* late rows (more columns) first */
    if (r0 >= sq.rows) return;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
    const int col_end = sq.col_end(a, r0);

    float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
    for (int c0 = 0; c0 < col_end; c0 += XCOLS) {
        float acc[XCOLS / 8][4];
        xattn_tile_scores<T, D>(acc, smem_addr(smem), a, sq, r0, c0, h, hk);
#pragma unroll
        for (int hr = 0; hr < 2; ++hr) {
            const int i = r0 + warp * 16 + g + 8 * hr;
            float mx = m_run[hr];
#pragma unroll
            for (int n = 0; n < XCOLS / 8; ++n)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const int j = c0 + n * 8 + 2 * t4 + e;
                    float x = sq.visible(a, i, j) ? acc[n][2 * hr + e] * a.c2 : -INFINITY;
                    acc[n][2 * hr + e] = x;
                    mx = fmaxf(mx, x);
                }
            mx = quad_max(mx);
            const float m_use = mx == -INFINITY ? 0.f : mx;
            float sum = 0.f;
#pragma unroll
            for (int n = 0; n < XCOLS / 8; ++n) sum += exp2f(acc[n][2 * hr] - m_use) + exp2f(acc[n][2 * hr + 1] - m_use);
            l_run[hr] = l_run[hr] * exp2f(m_run[hr] - m_use) + sum;
            m_run[hr] = mx;
        }
    }
#pragma unroll
    for (int hr = 0; hr < 2; ++hr) {
        const int i = r0 + warp * 16 + g + 8 * hr;
        const float l = quad_sum(l_run[hr]);
        if (t4 == 0 && i < sq.rows) {
            float *st = a.stats + (((long)b * a.Hq + h) * a.stat_rows + i) * 2;
            st[0] = m_run[hr];
            st[1] = l;
        }
    }
}

template <typename T, int D>
__global__ void __launch_bounds__(XTHREADS) xattn_block_sums_kernel(const XattnArgs a)
{
    extern __shared__ __align__(128) unsigned char smem[];
    float *ps = (float *)(smem + 4 * XROWS * D * 2); /* after the two (Q, K) buffers */
    const int b = blockIdx.z, hk = blockIdx.y;
    if (a.modes[b * a.Hkv + hk] != ELATTN_MODE_BLOCK_SPARSE) return;
    const XattnSeq sq(a, b);
    const int r0 = (gridDim.x - 1 - blockIdx.x) * XROWS;
    if (r0 >= sq.rows) return;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
    const int col_end = sq.col_end(a, r0);
    const int R = a.block_size / a.stride; /* reshaped rows (and columns) per block */

    for (int c0 = 0; c0 < col_end; c0 += XCOLS) {
        float p_sum[XCOLS / 8][4];
#pragma unroll
        for (int n = 0; n < XCOLS / 8; ++n) p_sum[n][0] = p_sum[n][1] = p_sum[n][2] = p_sum[n][3] = 0.f;
        for (int hh = 0; hh < a.group; ++hh) {
            const int h = hk * a.group + hh;
            float acc[XCOLS / 8][4];
            xattn_tile_scores<T, D>(acc, smem_addr(smem), a, sq, r0, c0, h, hk);
#pragma unroll
            for (int hr = 0; hr < 2; ++hr) {
                const int i = r0 + warp * 16 + g + 8 * hr;
                float m = 0.f, inv_l = 0.f;
                if (i < sq.rows) {
                    const float *st = a.stats + (((long)b * a.Hq + h) * a.stat_rows + i) * 2;
                    m = st[0];
                    inv_l = st[1] > 0.f ? 1.f / st[1] : 0.f;
                }
#pragma unroll
                for (int n = 0; n < XCOLS / 8; ++n)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        const int j = c0 + n * 8 + 2 * t4 + e;
                        if (inv_l > 0.f && sq.visible(a, i, j))
                            p_sum[n][2 * hr + e] += exp2f(fmaf(acc[n][2 * hr + e], a.c2, -m)) * inv_l;
                    }
            }
        }
        /* Cell sums in a fixed order. */
#pragma unroll
        for (int n = 0; n < XCOLS / 8; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e)
                ps[(warp * 16 + g + 8 * (e / 2)) * XPS_PITCH + n * 8 + 2 * t4 + (e & 1)] = p_sum[n][e];
        __syncthreads();
        float *table = a.block_scores + ((long)b * a.Hkv + hk) * a.mask_qblocks * a.mask_kblocks;
        if (R <= XROWS) {
            const int per = XROWS / R, cells = per * per;
            for (int c = threadIdx.x; c < cells; c += XTHREADS) {
                const int cr = c / per, cc = c % per;
                const int qb = r0 / R + cr, kb = c0 / R + cc;
                if (qb >= a.mask_qblocks || kb >= a.mask_kblocks) continue;
                float s = 0.f;
                for (int rr = 0; rr < R; ++rr)
                    for (int k2 = 0; k2 < R; ++k2) s += ps[(cr * R + rr) * XPS_PITCH + cc * R + k2];
                table[(long)qb * a.mask_kblocks + kb] = s;
            }
        } else {
            /* The whole tile lies in one cell shared with other CTAs. */
            float s = 0.f;
            for (int c = threadIdx.x; c < XROWS * XCOLS; c += XTHREADS) s += ps[(c / XCOLS) * XPS_PITCH + c % XCOLS];
            s = quad_sum(s);
            s += __shfl_xor_sync(0xffffffffu, s, 4);
            s += __shfl_xor_sync(0xffffffffu, s, 8);
            s += __shfl_xor_sync(0xffffffffu, s, 16);
            const int qb = r0 / R, kb = c0 / R;
            if (lane == 0 && qb < a.mask_qblocks && kb < a.mask_kblocks)
                atomicAdd(table + (long)qb * a.mask_kblocks + kb, s);
        }
        __syncthreads();
    }
}

template <typename T, int D>
inline cudaError_t xattn_launch_d(const XattnArgs &a, int row_tiles, int batch, cudaStream_t stream)
{
    const int smem_tiles = 4 * XROWS * D * 2;
    const int smem_sums = smem_tiles + XROWS * XPS_PITCH * 4;
    cudaError_t err = cudaFuncSetAttribute(xattn_row_stats_kernel<T, D>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, smem_tiles);
    if (err == cudaSuccess)
        err = cudaFuncSetAttribute(xattn_block_sums_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   smem_sums);
    if (err != cudaSuccess) return err;
    xattn_row_stats_kernel<T, D><<<dim3(row_tiles, a.Hq, batch), XTHREADS, smem_tiles, stream>>>(a);
    if ((err = cudaGetLastError()) != cudaSuccess) return err;
    xattn_block_sums_kernel<T, D><<<dim3(row_tiles, a.Hkv, batch), XTHREADS, smem_sums, stream>>>(a);
    return cudaGetLastError();
}

template <typename T>
inline cudaError_t xattn_launch_t(const XattnArgs &a, int head_dim, int row_tiles, int batch, cudaStream_t s)
{
    switch (head_dim) {
    case 64: return xattn_launch_d<T, 64>(a, row_tiles, batch, s);
    case 128: return xattn_launch_d<T, 128>(a, row_tiles, batch, s);
    case 256: return xattn_launch_d<T, 256>(a, row_tiles, batch, s);
    default: return cudaErrorInvalidValue;
    }
}

inline int xattn_stat_rows(const elattn_xattn_desc *d) { return (d->max_seqlen_q + d->stride - 1) / d->stride; }

} /* namespace elattn_mma */

bool elattn_mma_xattn_supported(const elattn_xattn_desc *desc, int sm_version, const char **why_not)
{
    if (sm_version < 80) {
        if (why_not) *why_not = "mma xattn: needs sm_80 or newer";
        return false;
    }
    if (desc->dtype != ELATTN_DTYPE_BF16 && desc->dtype != ELATTN_DTYPE_F16) {
        if (why_not) *why_not = "mma xattn: only fp16 and bf16 storage";
        return false;
    }
    if (desc->head_dim != 64 && desc->head_dim != 128 && desc->head_dim != 256) {
        if (why_not) *why_not = "mma xattn: head_dim must be 64, 128 or 256";
        return false;
    }
    if (desc->stride < 1 || desc->block_size % desc->stride != 0) {
        if (why_not) *why_not = "mma xattn: block_size must be a multiple of stride";
        return false;
    }
    return true;
}

size_t elattn_mma_xattn_scratch_bytes(const elattn_xattn_desc *desc)
{
    return (size_t)desc->batch * desc->num_q_heads * elattn_mma::xattn_stat_rows(desc) * 2 * sizeof(float);
}

cudaError_t elattn_mma_xattn_estimate(const elattn_gpu_xattn_inputs *in, cudaStream_t stream)
{
    using namespace elattn_mma;
    const elattn_xattn_desc *d = in->desc;
    const size_t table = (size_t)d->batch * d->num_kv_heads * in->mask_qblocks * in->mask_kblocks * sizeof(float);
    cudaError_t err = cudaMemsetAsync(in->block_scores, 0, table, stream);
    if (err != cudaSuccess) return err;
    const int row_tiles = ((in->max_len_q + d->stride - 1) / d->stride + XROWS - 1) / XROWS;
    if (row_tiles == 0 || d->batch == 0) return cudaSuccess;

    XattnArgs a;
    a.q = in->q;
    a.k = in->k;
    a.cu_seqlens_q = in->cu_seqlens_q;
    a.cu_seqlens_k = in->cu_seqlens_k;
    a.modes = in->modes;
    a.stats = (float *)in->scratch;
    a.block_scores = in->block_scores;
    a.Hq = d->num_q_heads;
    a.Hkv = d->num_kv_heads;
    a.group = d->num_q_heads / d->num_kv_heads;
    a.stride = d->stride;
    a.block_size = d->block_size;
    a.causal = d->causal;
    a.stat_rows = xattn_stat_rows(d);
    a.mask_qblocks = in->mask_qblocks;
    a.mask_kblocks = in->mask_kblocks;
    const float scale = d->scale > 0.f ? d->scale : 1.f / sqrtf((float)d->head_dim);
    a.c2 = scale * 1.4426950408889634f / (float)d->stride;
    if (d->dtype == ELATTN_DTYPE_BF16) return xattn_launch_t<__nv_bfloat16>(a, d->head_dim, row_tiles, d->batch, stream);
    return xattn_launch_t<__half>(a, d->head_dim, row_tiles, d->batch, stream);
}

#endif /* !ELATTN_HIP */
#endif /* ELATTN_XATTN_MMA_CUH */

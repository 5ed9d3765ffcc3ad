/*
 * XAttention antidiagonal estimation on tensor cores: what the mma.sync family
 * (xattn_mma.cuh, sm_80+) and the wgmma family (xattn_wgmma.cuh, sm_90a) share.
 * A family supplies a configuration Cfg (D, ROWS, COLS, THREADS, MIN_CTAS (per
 * SM, for the register budget), SMEM and
 * Cfg::tile_scores<T>, the ROWS x COLS tile of reshaped scores in the
 * accumulator layout of mma.sync m16n8: warp w holds rows 16w .. 16w+15,
 * acc[n][0..1] row g, acc[n][2..3] row g + 8, columns 8n + 2 (lane % 4) + {0, 1};
 * wgmma's m64nN accumulators have the same layout per warp). An item calls it
 * for its column tiles in order, c0 = 0, COLS, ...; `next` says another tile
 * follows, whose first steps the call may then leave in flight (the copies do
 * not wait for the softmax between tiles). Include after vendor/vendor.h; CUDA
 * build only.
 *
 * The strided reshape of the spec (kernels/elattn_spec.h, "XAttention"):
 * Qt[i] = concat_t Q[i*S + S-1-t], Kt[j] = concat_t K[j*S + t], is only an
 * addressing of Q and K, so a ROWS x COLS tile of Qt.Kt is a GEMM whose k loop
 * runs over t (S steps) and d: step t gathers query rows i*S + S-1-t and key
 * rows j*S + t (rows past the sequence zero-filled) into shared memory. No
 * [L, L] buffer exists anywhere.
 *
 * One pass instead of "row statistics, then recompute and normalise": while a
 * row's softmax is still running, each (row, key block) keeps the log2 of its
 * partial exponential sum, lse = m + log2(sum exp2(x - m)), taken against the
 * running max m of that moment. When the row is done (final max M, sum L), the
 * block's share of the softmax is exp2(lse - M) / L, whatever m was. So the
 * scores are computed once, and the extra memory is one float per (row, key
 * block) for the rows a CTA holds: a per-CTA slice of the scratch, which is
 * why the grid is persistent (as many CTAs as fit at once, each looping over
 * work items), keeping that part linear in L.
 *
 * Work item: (element, query head, ROWS reshaped rows), taken from a counter in
 * an order that keeps one KV head's K in L2 and starts long rows first. Each
 * item writes its query head's own cells (a CTA owns the cells of its rows);
 * a second small kernel sums the group's heads in a fixed order, so the table
 * is deterministic. Only a query block taller than a tile (B / S > ROWS) is
 * shared by several CTAs and falls back to atomicAdd. Only BLOCK_SPARSE heads
 * (per the mode table) are computed; the per-head tables are zeroed first,
 * which also gives the 0 of invisible cells.
 */
#ifndef ELATTN_XATTN_TC_CUH
#define ELATTN_XATTN_TC_CUH

#include <math.h>
#include <stdint.h>
#include <type_traits>

#include "dispatch.cuh"
#include "launch.h"
#include "ptx/sm80.cuh"

namespace ELATTN_GPU_NS {
namespace xattn_tc {

using namespace sm80;

struct XattnArgs {
    const void *q, *k;
    const int32_t *cu_seqlens_q, *cu_seqlens_k, *modes;
    float *lse;          /* [gridDim.x][ROWS][lse_pitch]: each CTA's (row, key block) partial log2 sums */
    int *next_item;      /* work counter, zeroed before the launch */
    float *head_scores;  /* [batch][Hq][mask_qblocks][mask_kblocks]: each query head's cells */
    float *block_scores; /* [batch][Hkv][mask_qblocks][mask_kblocks]: their sums over the group */
    int batch, Hq, Hkv, group, stride, block_size, causal, mask_qblocks, mask_kblocks, lse_pitch;
    int r_log2;           /* log2(block_size / stride): both are powers of two (validate.c) */
    int max_rows;         /* reshaped rows of the longest element */
    int row_tiles, items; /* set per configuration: items = batch * Hq * row_tiles */
    float c2;             /* scale * log2(e) / S */
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
    __device__ int col_end(const XattnArgs &a, int r0, int tile_rows) const
    {
        if (!a.causal) return cols;
        int last = min(r0 + tile_rows, rows) - 1;
        int p = elattn_xattn_row_last_pos(last, a.stride, len_q, len_k);
        return p < 0 ? 0 : min(cols, p / a.stride + 1);
    }
    __device__ bool visible(const XattnArgs &a, int i, int j) const
    {
        return i < rows && j < cols && elattn_xattn_col_visible(a.causal, i, j, a.stride, len_q, len_k);
    }
    /* Every cell of the tile_rows x tile_cols tile at (r0, c0) is visible: a row sees
     * a prefix of the columns, and a later row a longer one, so its first row and
     * last column decide. */
    __device__ bool tile_visible(const XattnArgs &a, int r0, int c0, int tile_rows, int tile_cols) const
    {
        return r0 + tile_rows <= rows && c0 + tile_cols <= cols && visible(a, r0, c0 + tile_cols - 1);
    }
};

/* Where the STAGES shared-memory slices of a tile GEMM's steps are, for both
 * families' tile_scores: steps are numbered across the item's column tiles
 * (step t of the tile at c0 is step c0 / COLS * S + t of the item, in slice
 * (that) % STAGES), so the last STAGES - 1 steps of a tile can copy the next
 * tile's first ones while the softmax runs (carry), and the next tile finds
 * them landed (carried). A tile with fewer steps than that runs its own
 * prologue. */
template <int STAGES, int COLS>
struct TileSteps {
    int S, phase;
    bool carried, carry;
    __device__ TileSteps(int S_, int c0, bool next)
        : S(S_), phase(c0 / COLS * S_ % STAGES), carried(c0 > 0 && S_ >= STAGES - 1), carry(next && S_ >= STAGES - 1)
    {
    }
    __device__ int slice(int t, bool next_tile) const { return (phase + t + (next_tile ? S : 0)) % STAGES; }
    /* The copies issued at step t: step t + STAGES - 1 of this tile, or past its end the
     * next tile's (u - S <= STAGES - 2 < S); one cp.async group per step either way,
     * which the callers' waits count on. */
    template <class Load> __device__ void copy_ahead(int t, Load load) const
    {
        const int u = t + STAGES - 1;
        if (u < S) load(u, false);
        else if (carry) load(u - S, true);
    }
};

/* log2(2^a + 2^b), exact at -inf. */
__device__ __forceinline__ float log2_add(float a, float b)
{
    const float mx = fmaxf(a, b);
    return mx == -INFINITY ? -INFINITY : mx + log2f(exp2f(a - mx) + exp2f(b - mx));
}

/* Writes, for this thread's row half hr, lse = m + log2(sum of e) per key block of
 * R reshaped columns that the tile at c0 touches (blocks >= kb_end are past every
 * row's last column). e holds exp2(x - m) of columns c0 + n*8 + 2*t4 + {0, 1}.
 * A block wider than the tile (R > COLS) is combined with what its earlier
 * tiles wrote; the same thread owns that entry in every tile. R = 2^r_log2 (the
 * block size and the stride are powers of two): shifts and masks, not divisions,
 * since this runs for every block of every tile. */
template <int COLS>
__device__ __forceinline__ void store_block_lse(const float (&e)[COLS / 8][4], int hr, float m, bool row_ok, int c0,
                                                int R, int r_log2, int kb_end, float *lse_row)
{
    const int t4 = threadIdx.x % 4;
    auto put = [&](int col, float s) {
        const int kb = col >> r_log2;
        if (!row_ok || kb >= kb_end) return;
        const float v = s > 0.f ? m + log2f(s) : -INFINITY;
        lse_row[kb] = (col & (R - 1)) == 0 ? v : log2_add(lse_row[kb], v);
    };
    if (R == 1) {
#pragma unroll
        for (int n = 0; n < COLS / 8; ++n)
#pragma unroll
            for (int x = 0; x < 2; ++x) put(c0 + n * 8 + 2 * t4 + x, e[n][2 * hr + x]);
    } else if (R <= 8) { /* a block spans R / 2 lanes of a quad */
#pragma unroll
        for (int n = 0; n < COLS / 8; ++n) {
            float s = e[n][2 * hr] + e[n][2 * hr + 1];
            for (int off = 1; off < R / 2; off <<= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
            const int col = c0 + n * 8 + 2 * t4;
            if ((col & (R - 1)) == 0) put(col, s);
        }
    } else { /* a block spans `groups` of this thread's 8-column groups (or the whole tile) */
        const int groups = min(R, COLS) / 8;
        float s = 0.f;
#pragma unroll
        for (int n = 0; n < COLS / 8; ++n) {
            s += e[n][2 * hr] + e[n][2 * hr + 1];
            if ((n + 1) % groups == 0) {
                s = quad_sum(s);
                if (t4 == 0) put(c0 + (n + 1 - groups) * 8, s);
                s = 0.f;
            }
        }
    }
}

template <typename T, class Cfg>
__global__ void __launch_bounds__(Cfg::THREADS, Cfg::MIN_CTAS) xattn_scores_kernel(const XattnArgs a)
{
    constexpr int COLS = Cfg::COLS, ROWS = Cfg::ROWS, THREADS = Cfg::THREADS;
    ELATTN_DYNAMIC_SHARED_ALIGNED(128, unsigned char, smem);
    __shared__ float row_max[ROWS], row_inv_sum[ROWS]; /* final softmax max and 1 / sum per row */
    __shared__ int item_now;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
    const int R = a.block_size / a.stride; /* reshaped rows (and columns) per block, 2^a.r_log2 */
    const int rows_per_cell = min(R, ROWS), cells_q = ROWS / rows_per_cell;
    float *lse = a.lse + (long)blockIdx.x * ROWS * a.lse_pitch;

    /* Items are taken from a shared counter, so CTAs that meet other modes' heads
     * or short rows move on at once. Order: (element, KV head) outermost, so that
     * the CTAs running together stream the same K (it stays in L2); within it,
     * late rows (the most columns) first, then the group's query heads. */
    for (;;) {
        if (threadIdx.x == 0) item_now = atomicAdd(a.next_item, 1);
        __syncthreads();
        const int item = item_now;
        __syncthreads(); /* everyone has read it before thread 0 takes the next */
        if (item >= a.items) break;
        const int per_kv = a.row_tiles * a.group, bk = item / per_kv, in_kv = item % per_kv;
        const int b = bk / a.Hkv, hk = bk % a.Hkv, h = hk * a.group + in_kv % a.group;
        const int r0 = (a.row_tiles - 1 - in_kv / a.group) * ROWS;
        if (a.modes[bk] != ELATTN_MODE_BLOCK_SPARSE) continue;
        const XattnSeq sq(a, b);
        if (r0 >= sq.rows) continue;
        const int col_end = sq.col_end(a, r0, ROWS), kb_end = (col_end + R - 1) / R;

        float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
        for (int c0 = 0; c0 < col_end; c0 += COLS) {
            float acc[COLS / 8][4];
            Cfg::template tile_scores<T>(acc, smem_addr(smem), a, sq, r0, c0, h, hk, c0 + COLS < col_end);
            /* Scales row half hr, masks what it cannot see, and returns its running max. The
             * tiles left of the diagonal skip the per-cell test (the whole_tile instance). */
            auto scale_mask_max = [&](int hr, auto whole_tile) {
                const int i = r0 + warp * 16 + g + 8 * hr;
                float mx = m_run[hr];
#pragma unroll
                for (int n = 0; n < COLS / 8; ++n)
#pragma unroll
                    for (int x = 0; x < 2; ++x) {
                        const int j = c0 + n * 8 + 2 * t4 + x;
                        const bool seen = decltype(whole_tile)::value || sq.visible(a, i, j);
                        const float s = seen ? acc[n][2 * hr + x] * a.c2 : -INFINITY;
                        acc[n][2 * hr + x] = s;
                        mx = fmaxf(mx, s);
                    }
                return quad_max(mx);
            };
            const bool whole = sq.tile_visible(a, r0, c0, ROWS, COLS);
#pragma unroll
            for (int hr = 0; hr < 2; ++hr) {
                const int lr = warp * 16 + g + 8 * hr, i = r0 + lr;
                const float mx = whole ? scale_mask_max(hr, std::true_type{}) : scale_mask_max(hr, std::false_type{});
                const float m_use = mx == -INFINITY ? 0.f : mx;
                float sum = 0.f;
#pragma unroll
                for (int n = 0; n < COLS / 8; ++n)
#pragma unroll
                    for (int x = 0; x < 2; ++x) {
                        acc[n][2 * hr + x] = exp2f(acc[n][2 * hr + x] - m_use);
                        sum += acc[n][2 * hr + x];
                    }
                l_run[hr] = l_run[hr] * exp2f(m_run[hr] - m_use) + sum;
                m_run[hr] = mx;
                store_block_lse<COLS>(acc, hr, m_use, i < sq.rows, c0, R, a.r_log2, kb_end, lse + (long)lr * a.lse_pitch);
            }
        }
#pragma unroll
        for (int hr = 0; hr < 2; ++hr) {
            const int lr = warp * 16 + g + 8 * hr;
            const float l = quad_sum(l_run[hr]);
            if (t4 == 0) {
                row_max[lr] = m_run[hr];
                row_inv_sum[lr] = r0 + lr < sq.rows && l > 0.f ? 1.f / l : 0.f;
            }
        }
        __syncthreads(); /* row statistics and every thread's lse entries are in place */
        /* Fold the rows into this head's cells, rows in a fixed order. */
        float *table = a.head_scores + ((long)b * a.Hq + h) * a.mask_qblocks * a.mask_kblocks;
        for (int c = threadIdx.x; c < cells_q * kb_end; c += THREADS) {
            const int cq = c / kb_end, kb = c % kb_end;
            const int qb = (r0 + cq * rows_per_cell) / R;
            float s = 0.f;
            for (int rr = 0; rr < rows_per_cell; ++rr) {
                const int lr = cq * rows_per_cell + rr;
                if (row_inv_sum[lr] > 0.f) s += exp2f(lse[(long)lr * a.lse_pitch + kb] - row_max[lr]) * row_inv_sum[lr];
            }
            if (qb >= a.mask_qblocks) continue;
            float *cell = table + (long)qb * a.mask_kblocks + kb;
            if (R <= ROWS) *cell = s; /* the cell's rows are all in this tile */
            else atomicAdd(cell, s);   /* a block taller than a tile: shared with other CTAs */
        }
        __syncthreads(); /* the next item rewrites lse and the row statistics */
    }
}


/* block_scores[b][hk] = the sum of the group's per-head tables, heads in order
 * (deterministic, unlike atomics across CTAs). */
static __global__ void xattn_group_sum_kernel(const XattnArgs a)
{
    const long cells = (long)a.mask_qblocks * a.mask_kblocks, total = (long)a.batch * a.Hkv * cells;
    for (long c = blockIdx.x * (long)blockDim.x + threadIdx.x; c < total; c += (long)gridDim.x * blockDim.x) {
        const long bk = c / cells, at = c % cells;
        const float *src = a.head_scores + bk * a.group * cells + at; /* (b, hk * group) = bk * group */
        float s = 0.f;
        for (int hh = 0; hh < a.group; ++hh) s += src[hh * cells];
        a.block_scores[c] = s;
    }
}

template <typename T, class Cfg>
inline cudaError_t xattn_launch_cfg(XattnArgs a, int ctas, cudaStream_t stream)
{
    a.row_tiles = (a.max_rows + Cfg::ROWS - 1) / Cfg::ROWS;
    a.items = a.batch * a.Hq * a.row_tiles;
    if (a.items == 0) return cudaSuccess;
    cudaError_t err = cudaFuncSetAttribute(xattn_scores_kernel<T, Cfg>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           Cfg::SMEM);
    if (err != cudaSuccess) return err;
    ELATTN_LAUNCH(min(ctas, a.items), Cfg::THREADS, Cfg::SMEM, stream, xattn_scores_kernel<T, Cfg>)(a);
    if ((err = cudaGetLastError()) != cudaSuccess) return err;
    const long cells = (long)a.batch * a.Hkv * a.mask_qblocks * a.mask_kblocks;
    const long blocks = (cells + 255) / 256;
    ELATTN_LAUNCH((int)(blocks < 65535 ? blocks : 65535), 256, 0, stream, xattn_group_sum_kernel)(a);
    return cudaGetLastError();
}

/* CTAs of xattn_scores_kernel<T, Cfg> that fit on the device at once. */
template <typename T, class Cfg>
inline int xattn_resident_ctas(int sm_count)
{
    int per_sm = 0;
    if (cudaFuncSetAttribute(xattn_scores_kernel<T, Cfg>, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::SMEM) !=
            cudaSuccess ||
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, xattn_scores_kernel<T, Cfg>, Cfg::THREADS, Cfg::SMEM) !=
            cudaSuccess) {
        (void)cudaGetLastError();
        per_sm = 1; /* the launch will report whatever is wrong */
    }
    return (per_sm > 0 ? per_sm : 1) * sm_count;
}

/* The scratch: the work counter, the per-head tables, then one lse slice per CTA. */
constexpr size_t XATTN_COUNTER_BYTES = 256;
inline int xattn_lse_pitch(const elattn_xattn_desc *d) { return (d->max_seqlen_k + d->block_size - 1) / d->block_size; }
inline size_t xattn_head_table_bytes(const elattn_xattn_desc *d)
{
    const size_t qblocks = ((size_t)d->max_seqlen_q + d->block_size - 1) / d->block_size;
    return (size_t)d->batch * d->num_q_heads * qblocks * xattn_lse_pitch(d) * sizeof(float);
}

/* Fills everything but the kernel's configuration. */
static XattnArgs xattn_args(const xattn_inputs *in)
{
    const elattn_xattn_desc *d = in->desc;
    XattnArgs a;
    a.q = in->q;
    a.k = in->k;
    a.cu_seqlens_q = in->cu_seqlens_q;
    a.cu_seqlens_k = in->cu_seqlens_k;
    a.modes = in->modes;
    a.next_item = (int *)in->scratch;
    a.head_scores = (float *)((char *)in->scratch + XATTN_COUNTER_BYTES);
    a.lse = (float *)((char *)a.head_scores + xattn_head_table_bytes(d));
    a.block_scores = in->block_scores;
    a.batch = d->batch;
    a.Hq = d->num_q_heads;
    a.Hkv = d->num_kv_heads;
    a.group = d->num_q_heads / d->num_kv_heads;
    a.stride = d->stride;
    a.block_size = d->block_size;
    a.r_log2 = 0;
    while ((d->block_size / d->stride) >> (a.r_log2 + 1)) ++a.r_log2;
    a.causal = d->causal;
    a.mask_qblocks = in->mask_qblocks;
    a.mask_kblocks = in->mask_kblocks;
    a.lse_pitch = xattn_lse_pitch(d);
    a.max_rows = (in->max_len_q + d->stride - 1) / d->stride;
    a.row_tiles = a.items = 0; /* xattn_launch_cfg's */
    const float scale = d->scale > 0.f ? d->scale : 1.f / sqrtf((float)d->head_dim);
    a.c2 = scale * 1.4426950408889634f / (float)d->stride;
    return a;
}

/* Zeroes the work counter and the per-head tables (the 0 of invisible cells and
 * of heads the kernel skips); the group sum then writes every cell of the table. */
static cudaError_t xattn_clear(const xattn_inputs *in, cudaStream_t stream)
{
    return cudaMemsetAsync(in->scratch, 0, XATTN_COUNTER_BYTES + xattn_head_table_bytes(in->desc), stream);
}

/* Shared memory a CTA of a configuration takes: the stages, plus the row
 * statistics and the item slot. */
template <class Cfg> constexpr size_t xattn_smem() { return (size_t)Cfg::SMEM + 2 * sizeof(float) * Cfg::ROWS + sizeof(int); }

/* The plan-time part of a family's `supported` once its own checks passed: the
 * configuration CfgOf<D> must fit the device's shared memory; the persistent
 * grid and the scratch follow from it. */
template <template <int> class CfgOf, int... Ds>
bool xattn_choose(const elattn_xattn_desc *desc, const gpu_caps &caps, xattn_choice *choice, const char **why)
{
    bool fits = false;
    dispatch<Ds...>(desc->head_dim, [&](auto d) {
        using Cfg = CfgOf<decltype(d)::value>;
        fits = xattn_smem<Cfg>() <= caps.smem_per_block;
        if (!fits) return cudaSuccess;
        choice->ctas = desc->dtype == ELATTN_BF16 ? xattn_resident_ctas<__nv_bfloat16, Cfg>(caps.sm_count)
                                                  : xattn_resident_ctas<__half, Cfg>(caps.sm_count);
        /* counter + per-query-head tables + one lse slice per CTA. No overflow: the core
         * refuses descriptors whose per-query-head table does not fit in size_t, and the
         * slices are at most ctas * ROWS (a few 10^5) times one table row. */
        choice->scratch_bytes = XATTN_COUNTER_BYTES + xattn_head_table_bytes(desc) +
                                (size_t)choice->ctas * Cfg::ROWS * xattn_lse_pitch(desc) * sizeof(float);
        return cudaSuccess;
    });
    if (!fits) {
        *why = "the tiles of this head_dim need more shared memory than the device has";
        return false;
    }
    choice->variant.text[0] = '\0';
    return true;
}

/* A family's `estimate`: clear, then the scores and the group sum on CfgOf<D>. */
template <template <int> class CfgOf, int... Ds>
cudaError_t xattn_estimate_on(const xattn_inputs &in, cudaStream_t stream)
{
    const elattn_xattn_desc *d = in.desc;
    if (in.mask_qblocks == 0 || in.mask_kblocks == 0) return cudaSuccess; /* an empty table */
    cudaError_t err = xattn_clear(&in, stream);
    if (err != cudaSuccess) return err;
    const XattnArgs a = xattn_args(&in);
    if (a.max_rows == 0 || d->batch == 0) /* no rows: the table is all zeros */
        return cudaMemsetAsync(in.block_scores, 0,
                               (size_t)d->batch * d->num_kv_heads * in.mask_qblocks * in.mask_kblocks * sizeof(float),
                               stream);
    return dispatch<ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(d->dtype, [&](auto dt) {
        using T = typename std::conditional<decltype(dt)::value == ELATTN_DTYPE_BF16, __nv_bfloat16, __half>::type;
        return dispatch<Ds...>(d->head_dim, [&](auto dd) {
            return xattn_launch_cfg<T, CfgOf<decltype(dd)::value>>(a, in.choice.ctas, stream);
        });
    });
}

} /* namespace xattn_tc */
} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_XATTN_TC_CUH */

/*
 * The portable fused hybrid attention kernel: FlashAttention's structure
 * without matrix units, for every GPU the CUDA and HIP backends run on, every
 * dtype (fp32/fp16/bf16 storage, fp32 math) and every head dim: the family
 * "portable" of kernels/gpu/launch.h.
 *
 * One block per work item (the host's longest-first list). A block holds a
 * tile of ROWS query rows in shared memory, pre-scaled by scale*log2(e), and
 * visits the key tiles of the spec's walk (elattn_walk_next): ALL tiles need
 * no per-pair test, PARTIAL ones test elattn_pair_visible per pair. Per tile:
 * S = Q K^T by register micro-tiles, online softmax in fp32 with exp2,
 * O += P V by register micro-tiles.
 *
 * Head dims: instances for DMAX = 64, 128 and 256; a head dim D <= DMAX (a
 * multiple of 8) runs in the smallest instance that holds it, with columns
 * [D, DMAX) zero in shared memory (they add nothing to Q K^T) and never
 * stored.
 *
 * GQA: when the group size G divides ROWS, one item covers a whole KV head's
 * group (per_kv_head): row r is query position r / G of head r % G, so one K/V
 * tile load serves the G query heads and the tile covers ROWS / G positions.
 *
 * Include vendor/vendor.h, launch.h, dispatch.cuh and common.cuh first.
 */
#ifndef ELATTN_GPU_ATTN_PORTABLE_CUH
#define ELATTN_GPU_ATTN_PORTABLE_CUH

namespace ELATTN_GPU_NS {

/* Tile shapes per head dim, sized so that a block needs at most ~56 KB of
 * shared memory (fits the 64 KB LDS of AMD GPUs and NVIDIA's opt-in limit). */
template <int D> struct portable_tiles;
template <> struct portable_tiles<64> { enum { ROWS = 64, TN = 32, SR = 4, SC = 4 }; };
template <> struct portable_tiles<128> { enum { ROWS = 32, TN = 32, SR = 2, SC = 4 }; };
template <> struct portable_tiles<256> { enum { ROWS = 16, TN = 16, SR = 1, SC = 2 }; };

template <int D> struct portable_cfg {
    enum {
        NT = 128,                        /* threads per block (a multiple of 32 and 64) */
        ROWS = portable_tiles<D>::ROWS,  /* query rows per block */
        TN = portable_tiles<D>::TN,      /* keys per tile */
        /* S = Q K^T: thread (tr, tc) owns rows tr + i*S_ROW_THREADS, keys tc + j*S_KEY_THREADS */
        SR = portable_tiles<D>::SR,
        SC = portable_tiles<D>::SC,
        S_KEY_THREADS = TN / SC,         /* lanes sharing a row: reductions span them */
        S_ROW_THREADS = ROWS / SR,
        /* O += P V: thread (orow, od) owns rows orow + i*O_ROW_THREADS and the
         * columns [4*od, +4) and [4*od + D/2, +4) */
        O_COL_THREADS = D / 8,
        O_ROW_THREADS = NT / O_COL_THREADS,
        OR = ROWS / O_ROW_THREADS,
        /* shared memory rows (floats); +4 keeps float4 reads of different rows
         * on different banks */
        Q_STRIDE = D + 4,
        K_STRIDE = D + 4,
        V_STRIDE = D,
        P_STRIDE = TN + 4,
    };
    static_assert(S_KEY_THREADS * S_ROW_THREADS == NT, "S micro-tiles must cover the tile");
    static_assert(S_KEY_THREADS <= 32, "row reductions stay inside a wave");
    static_assert(O_COL_THREADS * O_ROW_THREADS == NT && OR * O_ROW_THREADS == ROWS, "O micro-tiles");
    static_assert(TN % 4 == 0, "P is read as float4");
    static constexpr size_t smem_floats =
        (size_t)ROWS * Q_STRIDE + (size_t)TN * K_STRIDE + (size_t)TN * V_STRIDE + (size_t)ROWS * P_STRIDE +
        3 * (size_t)ROWS;
    static constexpr size_t smem_bytes = smem_floats * sizeof(float);
};

/* Rows [0, nrows) of a tile of `ROWS` rows from a [token][heads][hd] tensor
 * into shared memory rows of DMAX floats (times `mul`); rows past nrows and
 * columns past hd become zeros. row_offset(r) gives the element offset of row r. */
template <int DT, int DMAX, int NT, int STRIDE, typename RowOffset>
static __device__ __forceinline__ void load_rows(float *dst, const void *src, int rows, int nrows, int hd, float mul,
                                                 RowOffset row_offset)
{
    constexpr int EV = storage<DT>::per_vec;
    constexpr int VPR = DMAX / EV; /* vectors per row */
    for (int v = threadIdx.x; v < rows * VPR; v += NT) {
        const int r = v / VPR, c = (v % VPR) * EV;
        float f[EV];
        if (r < nrows && c < hd) { /* hd is a multiple of 8, so a vector is all inside or all outside */
            storage<DT>::unpack(load_vec<DT>(src, row_offset(r) + c), f);
        } else {
#pragma unroll
            for (int e = 0; e < EV; ++e) f[e] = 0.0f;
        }
        float *d = dst + r * STRIDE + c;
#pragma unroll
        for (int e = 0; e < EV; e += 4)
            *reinterpret_cast<float4 *>(d + e) = make_float4(f[e] * mul, f[e + 1] * mul, f[e + 2] * mul, f[e + 3] * mul);
    }
}

template <int WAVE, int DT, int D>
__global__ void __launch_bounds__(portable_cfg<D>::NT)
    portable_attn_kernel(attn_inputs in, int rows_per_pos)
{
    if constexpr (!wave_matches<WAVE>()) {
        return;
    } else {
        using C = portable_cfg<D>;
        ELATTN_DYNAMIC_SHARED(float4, smem_raw);
        float *Qs = reinterpret_cast<float *>(smem_raw);
        float *Ks = Qs + C::ROWS * C::Q_STRIDE;
        float *Vs = Ks + C::TN * C::K_STRIDE;
        float *Ps = Vs + C::TN * C::V_STRIDE;
        float *row_alpha = Ps + C::ROWS * C::P_STRIDE;
        float *row_m = row_alpha + C::ROWS;
        float *row_l = row_m + C::ROWS;

        const elattn_attn_params &P = in.params;
        const int hd = P.head_dim; /* <= D: the columns that exist */
        const int tid = threadIdx.x;
        const int tr = tid / C::S_KEY_THREADS, tc = tid % C::S_KEY_THREADS;
        const int orow = tid / C::O_COL_THREADS, od = tid % C::O_COL_THREADS;
        const int col0 = 4 * od, col1 = 4 * od + D / 2;
        const int G = rows_per_pos; /* query heads per position in a tile: group size, or 1 */
        const int Hq = P.num_q_heads;

        for (int item_index = blockIdx.x; item_index < in.num_items; item_index += gridDim.x) {
            const elattn_item_view it = elattn_item_decode(&P, in.items[item_index], G, in.choice.tile_m,
                                                           in.cu_seqlens_q, in.cu_seqlens_k, in.modes);
            const int q_start = it.q_start, len_q = it.len_q, k_start = it.k_start, len_k = it.len_k;
            const int hk = it.hk, head0 = it.head0, mode = it.mode, i0 = it.i0, i1 = it.i1;
            const int nrows = (i1 - i0) * G;
            const ELATTN_GLOBAL elattn_u8 *mask_head =
                mode == ELATTN_MODE_BLOCK_SPARSE ? in.block_mask + it.mask_offset : nullptr;

            __syncthreads(); /* the previous item's readers of shared memory are done */
            load_rows<DT, D, C::NT, C::Q_STRIDE>(Qs, in.q, C::ROWS, nrows, hd, P.scale_log2, [&](int r) {
                return (size_t)elattn_q_offset(&P, q_start + i0 + r / G, head0 + r % G);
            });

            /* Softmax state of this thread's S rows (copies in every lane of the row group). */
            float m_run[C::SR], l_run[C::SR];
#pragma unroll
            for (int i = 0; i < C::SR; ++i) {
                m_run[i] = -INFINITY;
                l_run[i] = 0.0f;
            }
            float4 acc0[C::OR], acc1[C::OR];
#pragma unroll
            for (int i = 0; i < C::OR; ++i) acc0[i] = acc1[i] = make_float4(0.f, 0.f, 0.f, 0.f);

            elattn_tile_walk walk;
            elattn_walk_init(&walk, mode, P.causal, len_q, len_k, i0, i1, P.sink, P.local, C::TN, mask_head,
                             P.mask_kblocks, P.block_size);
            int cls;
            for (int jt = elattn_walk_next(&walk, 0, &cls); jt < walk.end; jt = elattn_walk_next(&walk, jt + 1, &cls)) {
                const int j0 = jt * C::TN, j1 = min(j0 + C::TN, len_k);
                __syncthreads(); /* previous tile's K, V and P are consumed */
                auto kv_row = [&](int r) { return elattn_kv_row(&P, in.block_table, it.b, k_start, j0 + r); };
                load_rows<DT, D, C::NT, C::K_STRIDE>(Ks, in.k, C::TN, j1 - j0, hd, 1.0f,
                                                     [&](int r) { return (size_t)elattn_k_offset(&P, kv_row(r), hk); });
                load_rows<DT, D, C::NT, C::V_STRIDE>(Vs, in.v, C::TN, j1 - j0, hd, 1.0f,
                                                     [&](int r) { return (size_t)elattn_v_offset(&P, kv_row(r), hk); });
                __syncthreads();

                /* S micro-tile */
                float s[C::SR][C::SC];
#pragma unroll
                for (int i = 0; i < C::SR; ++i)
#pragma unroll
                    for (int j = 0; j < C::SC; ++j) s[i][j] = 0.0f;
#pragma unroll 4
                for (int d = 0; d < D; d += 4) {
                    float4 qv[C::SR], kv[C::SC];
#pragma unroll
                    for (int i = 0; i < C::SR; ++i)
                        qv[i] = *reinterpret_cast<const float4 *>(Qs + (tr + i * C::S_ROW_THREADS) * C::Q_STRIDE + d);
#pragma unroll
                    for (int j = 0; j < C::SC; ++j)
                        kv[j] = *reinterpret_cast<const float4 *>(Ks + (tc + j * C::S_KEY_THREADS) * C::K_STRIDE + d);
#pragma unroll
                    for (int i = 0; i < C::SR; ++i)
#pragma unroll
                        for (int j = 0; j < C::SC; ++j)
                            s[i][j] += qv[i].x * kv[j].x + qv[i].y * kv[j].y + qv[i].z * kv[j].z + qv[i].w * kv[j].w;
                }

                /* mask + online softmax */
#pragma unroll
                for (int i = 0; i < C::SR; ++i) {
                    const int r = tr + i * C::S_ROW_THREADS;
                    const int qi = i0 + r / G;
                    const int p = elattn_query_pos(qi, len_q, len_k);
                    const ELATTN_GLOBAL elattn_u8 *mask_row =
                        mask_head ? mask_head + (long)(qi / P.block_size) * P.mask_kblocks : nullptr;
                    float mx = -INFINITY;
#pragma unroll
                    for (int j = 0; j < C::SC; ++j) {
                        const int key = j0 + tc + j * C::S_KEY_THREADS;
                        bool visible = key < j1;
                        if (cls == ELATTN_TILE_PARTIAL)
                            visible = visible && r < nrows &&
                                      elattn_pair_visible(mode, P.causal, p, key, P.sink, P.local, P.block_size,
                                                          mask_row);
                        s[i][j] = visible ? s[i][j] : -INFINITY;
                        mx = fmaxf(mx, s[i][j]);
                    }
                    mx = group_max<C::S_KEY_THREADS>(mx);
                    const float m_new = fmaxf(m_run[i], mx);
                    const float m_use = elattn_softmax_base(m_new); /* nothing visible yet: 0 */
                    const float alpha = exp2f(m_run[i] - m_use);
                    float rs = 0.0f;
#pragma unroll
                    for (int j = 0; j < C::SC; ++j) {
                        const float pj = exp2f(s[i][j] - m_use); /* exp2(-inf) = 0 */
                        rs += pj;
                        Ps[r * C::P_STRIDE + tc + j * C::S_KEY_THREADS] = pj;
                    }
                    rs = group_sum<C::S_KEY_THREADS>(rs);
                    l_run[i] = l_run[i] * alpha + rs;
                    m_run[i] = m_new;
                    if (tc == 0) row_alpha[r] = alpha;
                }
                __syncthreads();

                /* O micro-tile: rescale, then add P V */
#pragma unroll
                for (int i = 0; i < C::OR; ++i) {
                    const float a = row_alpha[orow + i * C::O_ROW_THREADS];
                    acc0[i].x *= a, acc0[i].y *= a, acc0[i].z *= a, acc0[i].w *= a;
                    acc1[i].x *= a, acc1[i].y *= a, acc1[i].z *= a, acc1[i].w *= a;
                }
#pragma unroll 2
                for (int kk = 0; kk < C::TN; kk += 4) {
                    float4 pv[C::OR];
#pragma unroll
                    for (int i = 0; i < C::OR; ++i)
                        pv[i] = *reinterpret_cast<const float4 *>(Ps + (orow + i * C::O_ROW_THREADS) * C::P_STRIDE + kk);
#pragma unroll
                    for (int u = 0; u < 4; ++u) {
                        const float4 v0 = *reinterpret_cast<const float4 *>(Vs + (kk + u) * C::V_STRIDE + col0);
                        const float4 v1 = *reinterpret_cast<const float4 *>(Vs + (kk + u) * C::V_STRIDE + col1);
#pragma unroll
                        for (int i = 0; i < C::OR; ++i) {
                            const float pw = u == 0 ? pv[i].x : u == 1 ? pv[i].y : u == 2 ? pv[i].z : pv[i].w;
                            acc0[i].x += pw * v0.x, acc0[i].y += pw * v0.y, acc0[i].z += pw * v0.z, acc0[i].w += pw * v0.w;
                            acc1[i].x += pw * v1.x, acc1[i].y += pw * v1.y, acc1[i].z += pw * v1.z, acc1[i].w += pw * v1.w;
                        }
                    }
                }
            }

            /* Epilogue: normalise, store; empty rows give O = 0, LSE = -inf. */
#pragma unroll
            for (int i = 0; i < C::SR; ++i) {
                const int r = tr + i * C::S_ROW_THREADS;
                if (tc == 0) {
                    row_m[r] = m_run[i];
                    row_l[r] = l_run[i];
                }
            }
            __syncthreads();
#pragma unroll
            for (int i = 0; i < C::OR; ++i) {
                const int r = orow + i * C::O_ROW_THREADS;
                if (r >= nrows) continue;
                const float l = row_l[r];
                const float inv = elattn_row_inv_sum(l);
                const size_t row = (size_t)(q_start + i0 + r / G) * Hq + head0 + r % G; /* of the packed LSE */
                const size_t o_at = (size_t)elattn_o_offset(&P, q_start + i0 + r / G, head0 + r % G);
                float4 a = acc0[i], c = acc1[i];
                if (col0 < hd) /* columns past hd are padding */
                    storage<DT>::store4(in.o, o_at + col0, make_float4(a.x * inv, a.y * inv, a.z * inv, a.w * inv));
                if (col1 < hd)
                    storage<DT>::store4(in.o, o_at + col1, make_float4(c.x * inv, c.y * inv, c.z * inv, c.w * inv));
                if (in.lse && od == 0) in.lse[row] = elattn_row_lse(row_m[r], l);
            }
        }
    }
}

/* ---- host side ------------------------------------------------------------------------ */
/* The instance a head dim runs in: the smallest DMAX that holds it. */
static int portable_dmax(int head_dim) { return smallest_at_least<64, 128, 256>(head_dim); }

bool portable_attn_supported(const elattn_attn_desc *desc, const gpu_caps &caps, attn_choice *choice, const char **why)
{
    if (!wave_supported(caps.wave)) {
        *why = "no kernel for this wave size in this build";
        return false;
    }
    const int dmax = portable_dmax(desc->head_dim);
    if (dmax == 0 || desc->head_dim % ELATTN_HEAD_DIM_STEP != 0) {
        *why = "head_dim must be a multiple of 8 up to 256";
        return false;
    }
    size_t smem = 0;
    int rows = 0, tn = 0;
    dispatch<64, 128, 256>(dmax, [&](auto d) {
        using C = portable_cfg<decltype(d)::value>;
        smem = C::smem_bytes;
        rows = C::ROWS;
        tn = C::TN;
        return cudaSuccess;
    });
    if (smem > caps.smem_per_block) {
        *why = "the device has too little shared memory per block";
        return false;
    }
    const int group = desc->num_q_heads / desc->num_kv_heads;
    /* Pack the group into the rows when it divides them. */
    choice->per_kv_head = group > 1 && rows % group == 0;
    choice->tile_m = choice->per_kv_head ? rows / group : rows;
    choice->tile_n = tn;
    snprintf(choice->variant.text, sizeof choice->variant.text, "w%d", caps.wave);
    return true;
}

template <int WAVE, int DT, int D>
static cudaError_t portable_launch_typed(const attn_inputs &in, cudaStream_t stream)
{
    using C = portable_cfg<D>;
    const void *kernel = (const void *)portable_attn_kernel<WAVE, DT, D>;
    /* Opt in to more than 48 KB of dynamic shared memory (idempotent and cheap). */
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)C::smem_bytes);
    if (e != cudaSuccess) return e;
    if (in.num_items == 0) return cudaSuccess;
    /* Blocks loop over items, so the grid stays within every vendor's limits. */
    const int grid = in.num_items < (1 << 20) ? in.num_items : (1 << 20);
    const int rows_per_pos = in.choice.per_kv_head ? in.params.group : 1;
    ELATTN_LAUNCH(grid, C::NT, C::smem_bytes, stream, portable_attn_kernel<WAVE, DT, D>)(in, rows_per_pos);
    return cudaGetLastError();
}

cudaError_t portable_attn_launch(const attn_inputs &in, const gpu_caps &caps, cudaStream_t stream)
{
    return dispatch_wave(caps.wave, [&](auto wave) {
        return dispatch<ELATTN_DTYPE_F32, ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(in.params.dtype, [&](auto dt) {
            return dispatch<64, 128, 256>(portable_dmax(in.params.head_dim), [&](auto d) {
                return portable_launch_typed<decltype(wave)::value, decltype(dt)::value, decltype(d)::value>(in, stream);
            });
        });
    });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_ATTN_PORTABLE_CUH */

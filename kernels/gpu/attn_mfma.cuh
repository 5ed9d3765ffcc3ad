/*
 * Fused hybrid attention on AMD matrix cores (MFMA; CDNA2 gfx90a and CDNA3
 * gfx94x, wave64), fp16 and bf16 storage, fp32 accumulation. HIP on AMD only.
 *
 * The family "mfma" of kernels/gpu/launch.h (head dims 64, 128, 256). Same
 * contract and structure as attn_portable.cuh (one block per work item, the
 * key tiles of the spec's walk, online softmax in the log2 domain, pack-GQA
 * when the group divides the rows), with the two products on
 * v_mfma_f32_32x32x8{f16,bf16_1k}:
 *   - a block is 4 waves; wave w owns query rows [32w, 32w + 32) of the 128;
 *   - S (32 rows x 32 keys per wave) = sum over D/8 steps of A = Q (held in
 *     registers for the whole item) times B = K^T (K tile in LDS);
 *   - the result layout of a 32x32 MFMA puts key l % 32 in lane l and rows
 *     8*(r/4) + 4*(l/32) + r%4 in its 16 registers r, so row reductions are
 *     shuffles inside each half-wave and the rescaling of O (same layout)
 *     needs no LDS;
 *   - P is rounded to the storage type and goes through LDS into the A
 *     layout; V is stored transposed in LDS so its B fragments are 8-byte reads.
 * Include vendor/vendor.h, launch.h, dispatch.cuh and common.cuh first.
 */
#ifndef ELATTN_GPU_ATTN_MFMA_CUH
#define ELATTN_GPU_ATTN_MFMA_CUH

#if defined(ELATTN_GPU_AMD)

namespace ELATTN_GPU_NS {

#if defined(__gfx90a__) || defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__)
#  define ELATTN_MFMA_DEVICE 1
#endif

typedef short mfma_bits4 __attribute__((ext_vector_type(4)));
typedef _Float16 mfma_half4 __attribute__((ext_vector_type(4)));
typedef float mfma_f32x16 __attribute__((ext_vector_type(16)));

template <int D> struct mfma_cfg {
    enum {
        WAVES = 4,
        NT = 64 * WAVES,
        ROWS = 32 * WAVES, /* query rows per block */
        TN = 32,           /* keys per tile */
        K_STRIDE = D + 8,  /* 16-bit elements; +8 keeps 16-byte rows and spreads banks */
        VT_STRIDE = TN + 8,
        P_STRIDE = TN + 8,
    };
    static constexpr size_t smem_bytes =
        sizeof(uint16_t) * ((size_t)TN * K_STRIDE + (size_t)D * VT_STRIDE + (size_t)ROWS * P_STRIDE);
};

#if defined(ELATTN_MFMA_DEVICE)
template <int DT>
static __device__ __forceinline__ mfma_f32x16 mfma_32x32x8(mfma_bits4 a, mfma_bits4 b, mfma_f32x16 c)
{
    if constexpr (DT == ELATTN_DTYPE_BF16)
        return __builtin_amdgcn_mfma_f32_32x32x8bf16_1k(a, b, c, 0, 0, 0);
    else
        return __builtin_amdgcn_mfma_f32_32x32x8f16(__builtin_bit_cast(mfma_half4, a),
                                                    __builtin_bit_cast(mfma_half4, b), c, 0, 0, 0);
}

static __device__ __forceinline__ mfma_bits4 lds_bits4(const uint16_t *p)
{
    return *reinterpret_cast<const mfma_bits4 *>(p);
}
#endif

template <int DT, int D>
__global__ void __launch_bounds__(mfma_cfg<D>::NT) mfma_attn_kernel(attn_inputs in, int rows_per_pos)
{
#if defined(ELATTN_MFMA_DEVICE)
    using C = mfma_cfg<D>;
    extern __shared__ uint4 mfma_smem[];
    uint16_t *Ks = reinterpret_cast<uint16_t *>(mfma_smem);
    uint16_t *Vt = Ks + C::TN * C::K_STRIDE;
    uint16_t *Ps = Vt + D * C::VT_STRIDE;

    const elattn_attn_params &P = in.params;
    const int lane = threadIdx.x % 64, wave = threadIdx.x / 64;
    const int col = lane % 32, half = lane / 32; /* key (or d) column, and which half-wave */
    const int G = rows_per_pos;
    const int Hq = P.num_q_heads;
    uint16_t *Pw = Ps + wave * 32 * C::P_STRIDE;

    for (int item_index = blockIdx.x; item_index < in.num_items; item_index += gridDim.x) {
        const elattn_item_view it = elattn_item_decode(&P, in.items[item_index], G, in.choice.tile_m,
                                                       in.cu_seqlens_q, in.cu_seqlens_k, in.modes);
        const int q_start = it.q_start, len_q = it.len_q, k_start = it.k_start, len_k = it.len_k;
        const int hk = it.hk, head0 = it.head0, mode = it.mode, i0 = it.i0, i1 = it.i1;
        const int nrows = (i1 - i0) * G;
        const ELATTN_GLOBAL elattn_u8 *mask_head =
            mode == ELATTN_MODE_BLOCK_SPARSE ? in.block_mask + it.mask_offset : nullptr;
        auto q_row_offset = [&](int r) { return (size_t)elattn_q_offset(&P, q_start + i0 + r / G, head0 + r % G); };

        /* Q fragments (A layout: row `col` of this wave, d = 8s + 4*half + 0..3) */
        mfma_bits4 qa[D / 8];
        {
            const int r = wave * 32 + col;
            const uint16_t *qp = static_cast<const uint16_t *>(in.q);
#pragma unroll
            for (int s = 0; s < D / 8; ++s) {
                if (r < nrows) qa[s] = *reinterpret_cast<const mfma_bits4 *>(qp + q_row_offset(r) + 8 * s + 4 * half);
                else qa[s] = mfma_bits4{0, 0, 0, 0};
            }
        }
        float m_run[16], l_run[16];
#pragma unroll
        for (int r = 0; r < 16; ++r) m_run[r] = -INFINITY, l_run[r] = 0.0f;
        mfma_f32x16 oacc[D / 32];
#pragma unroll
        for (int t = 0; t < D / 32; ++t) oacc[t] = mfma_f32x16{};

        elattn_tile_walk walk;
        elattn_walk_init(&walk, mode, P.causal, len_q, len_k, i0, i1, P.sink, P.local, C::TN, mask_head,
                         P.mask_kblocks, P.block_size);
        int cls;
        for (int jt = elattn_walk_next(&walk, 0, &cls); jt < walk.end; jt = elattn_walk_next(&walk, jt + 1, &cls)) {
            const int j0 = jt * C::TN, j1 = min(j0 + C::TN, len_k);
            __syncthreads(); /* previous tile consumed */
            for (int v = threadIdx.x; v < C::TN * (D / 8); v += C::NT) {
                const int key = v / (D / 8), c = (v % (D / 8)) * 8;
                uint4 kraw = make_uint4(0, 0, 0, 0), vraw = make_uint4(0, 0, 0, 0);
                if (j0 + key < j1) {
                    const elattn_i64 row = elattn_kv_row(&P, in.block_table, it.b, k_start, j0 + key);
                    kraw = load_vec<DT>(in.k, (size_t)elattn_k_offset(&P, row, hk) + c);
                    vraw = load_vec<DT>(in.v, (size_t)elattn_v_offset(&P, row, hk) + c);
                }
                *reinterpret_cast<uint4 *>(Ks + key * C::K_STRIDE + c) = kraw;
                const uint32_t w[4] = {vraw.x, vraw.y, vraw.z, vraw.w};
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    Vt[(c + 2 * e) * C::VT_STRIDE + key] = (uint16_t)(w[e] & 0xffffu);
                    Vt[(c + 2 * e + 1) * C::VT_STRIDE + key] = (uint16_t)(w[e] >> 16);
                }
            }
            __syncthreads();

            mfma_f32x16 s = mfma_f32x16{};
#pragma unroll
            for (int st = 0; st < D / 8; ++st)
                s = mfma_32x32x8<DT>(qa[st], lds_bits4(Ks + col * C::K_STRIDE + 8 * st + 4 * half), s);

            const int key = j0 + col;
#pragma unroll
            for (int r = 0; r < 16; ++r) {
                const int row_local = 8 * (r / 4) + 4 * half + (r % 4);
                const int row = wave * 32 + row_local;
                const int qi = i0 + row / G;
                bool visible = key < j1;
                if (cls == ELATTN_TILE_PARTIAL) {
                    const ELATTN_GLOBAL elattn_u8 *mask_row =
                        mask_head ? mask_head + (long)(qi / P.block_size) * P.mask_kblocks : nullptr;
                    visible = visible && row < nrows &&
                              elattn_pair_visible(mode, P.causal, elattn_query_pos(qi, len_q, len_k), key, P.sink,
                                                  P.local, P.block_size, mask_row);
                }
                const float v = visible ? s[r] * P.scale_log2 : -INFINITY;
                const float mx = group_max<32>(v);
                const float m_new = fmaxf(m_run[r], mx);
                const float m_use = elattn_softmax_base(m_new);
                const float alpha = exp2f(m_run[r] - m_use);
                const float p = exp2f(v - m_use);
                l_run[r] = l_run[r] * alpha + group_sum<32>(p);
                m_run[r] = m_new;
#pragma unroll
                for (int t = 0; t < D / 32; ++t) oacc[t][r] *= alpha;
                Pw[row_local * C::P_STRIDE + col] = (uint16_t)storage16<DT>::narrow(p);
            }
            __syncthreads(); /* P visible to the whole wave (and the block stays in step) */

#pragma unroll
            for (int t = 0; t < D / 32; ++t)
#pragma unroll
                for (int ks = 0; ks < C::TN / 8; ++ks)
                    oacc[t] = mfma_32x32x8<DT>(lds_bits4(Pw + col * C::P_STRIDE + 8 * ks + 4 * half),
                                               lds_bits4(Vt + (t * 32 + col) * C::VT_STRIDE + 8 * ks + 4 * half),
                                               oacc[t]);
        }

        /* epilogue: lane holds column d = 32t + col of rows row_local(r) */
#pragma unroll
        for (int r = 0; r < 16; ++r) {
            const int row = wave * 32 + 8 * (r / 4) + 4 * half + (r % 4);
            if (row >= nrows) continue;
            const float l = l_run[r];
            const float inv = elattn_row_inv_sum(l);
            const size_t out_row = (size_t)(q_start + i0 + row / G) * Hq + head0 + row % G; /* of the packed LSE */
            uint16_t *o = static_cast<uint16_t *>(in.o) + elattn_o_offset(&P, q_start + i0 + row / G, head0 + row % G);
#pragma unroll
            for (int t = 0; t < D / 32; ++t) o[32 * t + col] = (uint16_t)storage16<DT>::narrow(oacc[t][r] * inv);
            if (in.lse && col == 0) in.lse[out_row] = elattn_row_lse(m_run[r], l);
        }
    }
#else
    (void)in, (void)rows_per_pos; /* no matrix cores on this target: never launched here */
#endif
}

/* ---- host side ---------------------------------------------------------------------- */
static bool mfma_arch(const char *arch)
{
    return strcmp(arch, "gfx90a") == 0 || strcmp(arch, "gfx940") == 0 || strcmp(arch, "gfx941") == 0 ||
           strcmp(arch, "gfx942") == 0;
}

bool mfma_attn_supported(const elattn_attn_desc *desc, const gpu_caps &caps, attn_choice *choice, const char **why)
{
    if (!mfma_arch(caps.arch) || caps.wave != 64) {
        *why = "needs a CDNA2/CDNA3 GPU (gfx90a, gfx94x) with wave64";
        return false;
    }
    if (desc->dtype != ELATTN_F16 && desc->dtype != ELATTN_BF16) {
        *why = "fp16 and bf16 only";
        return false;
    }
    if (!one_of<64, 128, 256>(desc->head_dim)) {
        *why = "head_dim 64, 128 or 256 only";
        return false;
    }
    const int rows = 128, group = desc->num_q_heads / desc->num_kv_heads;
    choice->per_kv_head = group > 1 && rows % group == 0;
    choice->tile_m = choice->per_kv_head ? rows / group : rows;
    choice->tile_n = 32;
    choice->variant.text[0] = '\0';
    return true;
}

template <int DT, int D>
static cudaError_t mfma_launch_typed(const attn_inputs &in, cudaStream_t stream)
{
    using C = mfma_cfg<D>;
    cudaError_t e = cudaFuncSetAttribute((const void *)mfma_attn_kernel<DT, D>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)C::smem_bytes);
    if (e != cudaSuccess) return e;
    if (in.num_items == 0) return cudaSuccess;
    const int grid = in.num_items < (1 << 20) ? in.num_items : (1 << 20);
    const int rows_per_pos = in.choice.per_kv_head ? in.params.group : 1;
    ELATTN_LAUNCH(grid, C::NT, C::smem_bytes, stream, mfma_attn_kernel<DT, D>)(in, rows_per_pos);
    return cudaGetLastError();
}

cudaError_t mfma_attn_launch(const attn_inputs &in, const gpu_caps &caps, cudaStream_t stream)
{
    (void)caps;
    return dispatch<ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(in.params.dtype, [&](auto dt) {
        return dispatch<64, 128, 256>(in.params.head_dim, [&](auto d) {
            return mfma_launch_typed<decltype(dt)::value, decltype(d)::value>(in, stream);
        });
    });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_AMD */
#endif /* ELATTN_GPU_ATTN_MFMA_CUH */

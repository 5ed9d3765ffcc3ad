/*
 * What the decode chunk kernels share (kernels/gpu/decode.cuh, the portable one; decode_mma.cuh,
 * the CUDA build's tensor-core one): the padded head dim an instance runs, and the end of a work
 * item: the partial softmax states of its PARTS key subsets combined and the rows stored (O and
 * LSE, or the chunk's fp32 partial). Needs storage<> (common.cuh) and launch.h.
 */
#ifndef ELATTN_GPU_DECODE_COMMON_CUH
#define ELATTN_GPU_DECODE_COMMON_CUH

namespace ELATTN_GPU_NS {

/* Head dim -> the instance it runs in (a smaller D leaves zero-filled columns). */
static inline int decode_dmax(int head_dim) { return smallest_at_least<64, 128, 256>(head_dim); }

/* Shared memory the states take: acc [PARTS][R][DMAX] floats, then m and l [PARTS][R]. */
template <int R, int PARTS, int DMAX>
struct decode_states {
    static constexpr int BYTES = PARTS * R * (DMAX + 2) * 4;
    static __device__ __forceinline__ float *acc(void *smem) { return static_cast<float *>(smem); }
    static __device__ __forceinline__ float *m(void *smem) { return acc(smem) + PARTS * R * DMAX; }
    static __device__ __forceinline__ float *l(void *smem) { return m(smem) + PARTS * R; }
};

/* The item's rows from the states in shared memory (written, then a __syncthreads, by the caller;
 * m in log2 units): combined, then the epilogue rule, O = acc / l (0 when l = 0), LSE from
 * (m, l). A head cut into one chunk writes O (and LSE) itself; otherwise the chunk's partial goes
 * to the plan's workspace. Row r of the item is row item.row0 + r of the (sequence, head). */
template <int DT, int DMAX, int R, int PARTS, int NT>
static __device__ __forceinline__ void decode_store_rows(void *smem, const decode_inputs &in, const decode_item &item,
                                                         int row_base, int n, int nrows, int chunks)
{
    using S = decode_states<R, PARTS, DMAX>;
    const float *cacc = S::acc(smem), *cm = S::m(smem), *cl = S::l(smem);
    const int G = in.group, D = in.head_dim, hk = item.head, d4 = D / 4;
    const int part_rows = n * G; /* rows of one chunk of this head in the partials */
    for (int x = (int)threadIdx.x; x < nrows * d4; x += NT) {
        const int r = x / d4, dq = x % d4;
        float mx = -INFINITY;
#pragma unroll
        for (int g = 0; g < PARTS; ++g) mx = fmaxf(mx, cm[g * R + r]);
        const float base = elattn_softmax_base(mx);
        float sum = 0.0f;
        float4 o = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
        for (int g = 0; g < PARTS; ++g) {
            const float w = exp2f(cm[g * R + r] - base);
            const float4 a = *reinterpret_cast<const float4 *>(cacc + (g * R + r) * DMAX + dq * 4);
            sum += w * cl[g * R + r];
            o.x += w * a.x, o.y += w * a.y, o.z += w * a.z, o.w += w * a.w;
        }
        const float inv = elattn_row_inv_sum(sum), lse = elattn_row_lse(mx, sum);
        o.x *= inv, o.y *= inv, o.z *= inv, o.w *= inv;
        const int rr = item.row0 + r, tok = rr / G, h = hk * G + rr % G;
        const size_t orow = (size_t)(row_base + tok) * in.num_q_heads + h;
        if (chunks == 1) {
            storage<DT>::store4(in.o, orow * D + (size_t)dq * 4, o);
            if (in.lse && dq == 0) in.lse[orow] = lse;
        } else {
            const int e = item.seq * in.num_kv_heads + hk;
            const size_t prow = (size_t)in.part_base[e] + (size_t)item.chunk * part_rows + rr;
            *reinterpret_cast<float4 *>(in.part_o + prow * D + (size_t)dq * 4) = o;
            if (dq == 0) in.part_lse[prow] = lse;
        }
    }
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_DECODE_COMMON_CUH */

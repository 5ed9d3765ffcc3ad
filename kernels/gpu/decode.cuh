/*
 * Decode over the per-head KV cache (kernels/SPEC.md section 9), portable CUDA/HIP, scalar fp32:
 * the OpenCL kernel's design (kernels/opencl/decode.cl). Pass 1: one thread per (new token, query
 * head, split-KV chunk) walks the chunk's slots through the spec's elattn_kv_position_of /
 * elattn_decode_visible / elattn_kv_slot_offset with an online softmax and writes fp32 partials;
 * pass 2: one thread per output value merges the chunks in order with elattn_merge_weights.
 * Correctness first: no shared memory, no K/V reuse across a group's query heads. Needs store1
 * (merge.cuh).
 */
#ifndef ELATTN_GPU_DECODE_CUH
#define ELATTN_GPU_DECODE_CUH

namespace ELATTN_GPU_NS {

template <int DT>
__global__ void decode_partial_kernel(decode_inputs in)
{
    const size_t items = (size_t)in.total_new * in.num_q_heads * in.splits;
    const size_t x = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (x >= items) return;
    const int c = (int)(x % (size_t)in.splits);
    const int h = (int)((x / (size_t)in.splits) % (size_t)in.num_q_heads);
    const int row = (int)(x / ((size_t)in.splits * in.num_q_heads));
    const int32_t *cu_new = in.meta, *lengths = in.meta + in.num_seqs + 1, *seq_ids = lengths + in.num_seqs,
                  *modes = seq_ids + in.num_seqs;
    int i = 0;
    while (i + 1 < in.num_seqs && cu_new[i + 1] <= row) ++i;
    const int len = lengths[i], n = cu_new[i + 1] - cu_new[i];
    const elattn_i64 pos = (elattn_i64)len - n + (row - cu_new[i]);
    const int hk = h / (in.num_q_heads / in.num_kv_heads), mode = modes[i * in.num_kv_heads + hk];
    const int32_t *pages = in.page_table + ((elattn_i64)seq_ids[i] * in.num_kv_heads + hk) * in.pages_per_head;
    elattn_i64 s0, s1;
    elattn_decode_split(elattn_kv_slots(mode, in.sink, in.ring, len), in.splits, c, &s0, &s1);
    const int D = in.head_dim;
    const elattn_i64 qoff = ((elattn_i64)row * in.num_q_heads + h) * D;
    float acc[ELATTN_MAX_HEAD_DIM];
    for (int d = 0; d < D; ++d) acc[d] = 0.0f;
    float m = -INFINITY, l = 0.0f; /* m in log2 units, as the spec's epilogue expects */
    for (elattn_i64 s = s0; s < s1; ++s) {
        const elattn_i64 t = elattn_kv_position_of(mode, in.sink, in.ring, len, s);
        if (!elattn_decode_visible(mode, pos, t, in.sink, in.local)) continue;
        const elattn_i64 koff = elattn_kv_slot_offset(pages, in.page_shift, D, s);
        float dot = 0.0f;
        for (int d = 0; d < D; ++d)
            dot += storage<DT>::load1(in.q, (size_t)(qoff + d)) * storage<DT>::load1(in.k_pool, (size_t)(koff + d));
        const float sc = dot * in.scale_log2, nm = fmaxf(m, sc);
        const float f = exp2f(m - elattn_softmax_base(nm)), w = exp2f(sc - nm);
        for (int d = 0; d < D; ++d) acc[d] = acc[d] * f + w * storage<DT>::load1(in.v_pool, (size_t)(koff + d));
        l = l * f + w;
        m = nm;
    }
    const float inv = elattn_row_inv_sum(l);
    for (int d = 0; d < D; ++d) in.part_o[x * D + d] = acc[d] * inv;
    in.part_lse[x] = elattn_row_lse(m, l);
}

template <int DT>
__global__ void decode_merge_kernel(decode_inputs in)
{
    const size_t total = (size_t)in.total_new * in.num_q_heads * in.head_dim;
    const size_t x = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (x >= total) return;
    const size_t rh = x / (size_t)in.head_dim, d = x % (size_t)in.head_dim;
    float acc = 0.0f, merged = -INFINITY;
    for (int c = 0; c < in.splits; ++c) {
        float w_all, w_c;
        const float next = elattn_merge_weights(merged, in.part_lse[rh * in.splits + c], &w_all, &w_c);
        acc = w_all * acc + w_c * in.part_o[(rh * in.splits + c) * in.head_dim + d];
        merged = next;
    }
    store1<DT>(in.o, x, acc);
    if (in.lse && d == 0) in.lse[rh] = merged;
}

cudaError_t decode_launch(const decode_inputs &in, cudaStream_t stream)
{
    const int threads = 128;
    const size_t items = (size_t)in.total_new * in.num_q_heads * in.splits;
    const size_t values = (size_t)in.total_new * in.num_q_heads * in.head_dim;
    return dispatch<ELATTN_DTYPE_F32, ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(in.dtype, [&](auto dt) {
        decode_partial_kernel<decltype(dt)::value><<<(unsigned)((items + threads - 1) / threads), threads, 0, stream>>>(in);
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) return e;
        decode_merge_kernel<decltype(dt)::value><<<(unsigned)((values + threads - 1) / threads), threads, 0, stream>>>(in);
        return cudaGetLastError();
    });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_DECODE_CUH */

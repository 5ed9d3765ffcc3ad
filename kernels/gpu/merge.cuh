/*
 * elattn_merge_states on the GPU: a grid-stride loop, one thread per output
 * value; the weights come from the spec's elattn_merge_weights. No shared
 * memory, no alignment needs (any head_dim, views at any offset).
 */
#ifndef ELATTN_GPU_MERGE_CUH
#define ELATTN_GPU_MERGE_CUH

namespace ELATTN_GPU_NS {

template <int DT> static __device__ __forceinline__ void store1(void *base, size_t i, float x);
template <> __device__ __forceinline__ void store1<ELATTN_DTYPE_F32>(void *base, size_t i, float x)
{
    static_cast<float *>(base)[i] = x;
}
template <> __device__ __forceinline__ void store1<ELATTN_DTYPE_F16>(void *base, size_t i, float x)
{
    static_cast<uint16_t *>(base)[i] = (uint16_t)storage16<ELATTN_DTYPE_F16>::narrow(x);
}
template <> __device__ __forceinline__ void store1<ELATTN_DTYPE_BF16>(void *base, size_t i, float x)
{
    static_cast<uint16_t *>(base)[i] = (uint16_t)storage16<ELATTN_DTYPE_BF16>::narrow(x);
}

template <int DT>
__global__ void merge_kernel(merge_inputs in)
{
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t x = (size_t)blockIdx.x * blockDim.x + threadIdx.x; x < in.total; x += stride) {
        const size_t row = x / (size_t)in.head_dim;
        float w1, w2;
        const float merged = elattn_merge_weights(in.lse1[row], in.lse2[row], &w1, &w2);
        store1<DT>(in.o, x, w1 * storage<DT>::load1(in.o1, x) + w2 * storage<DT>::load1(in.o2, x));
        if (in.lse && x % (size_t)in.head_dim == 0) in.lse[row] = merged;
    }
}

cudaError_t merge_launch(const merge_inputs &in, cudaStream_t stream)
{
    const int threads = 256;
    const size_t blocks = (in.total + threads - 1) / threads;
    const int grid = (int)(blocks < (1u << 20) ? blocks : (1u << 20)); /* the loop covers the rest */
    return dispatch<ELATTN_DTYPE_F32, ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(in.dtype, [&](auto dt) {
        ELATTN_LAUNCH(grid, threads, 0, stream, merge_kernel<decltype(dt)::value>)(in);
        return cudaGetLastError();
    });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_MERGE_CUH */

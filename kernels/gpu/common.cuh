/*
 * Device helpers shared by elattn's portable GPU kernels (CUDA and HIP):
 * storage dtypes (fp32 / fp16 / bf16, math always in fp32), 16-byte loads
 * and stores, and reductions over groups of lanes of a wave.
 * Include kernels/gpu/vendor.h first.
 */
#ifndef ELATTN_GPU_COMMON_CUH
#define ELATTN_GPU_COMMON_CUH

#include <stdint.h>

#include "elattn_spec.h"

namespace ELATTN_GPU_NS {

/* All lanes take part in every shuffle elattn issues. */
#define ELATTN_FULL_LANES 0xffffffffu

/* ---- scalar conversions ------------------------------------------------------ */
static __device__ __forceinline__ float bf16_to_f32(uint32_t bits) { return __uint_as_float(bits << 16); }

/* Round to nearest even; NaN stays a (quiet) NaN. */
static __device__ __forceinline__ uint32_t f32_to_bf16(float f)
{
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

#if defined(ELATTN_GPU_AMD) || defined(ELATTN_GPU_EMULATED)
static __device__ __forceinline__ float f16_to_f32(uint32_t bits)
{
    return (float)__builtin_bit_cast(_Float16, (unsigned short)bits);
}
static __device__ __forceinline__ uint32_t f32_to_f16(float f)
{
    return __builtin_bit_cast(unsigned short, (_Float16)f);
}
#else
static __device__ __forceinline__ float f16_to_f32(uint32_t bits)
{
    return __half2float(__ushort_as_half((unsigned short)bits));
}
static __device__ __forceinline__ uint32_t f32_to_f16(float f) { return __half_as_ushort(__float2half_rn(f)); }
#endif

/* ---- storage types ----------------------------------------------------------------
 * storage<DT>: element size, and 16-byte vectors <-> floats. Kernels move
 * 16 bytes at a time (elements per vector: 4 for fp32, 8 for 16-bit types);
 * the host checks that every tensor's base is 16-byte aligned. */
template <int DT> struct storage;

template <> struct storage<ELATTN_DTYPE_F32> {
    static constexpr int bytes = 4;
    static constexpr int per_vec = 4;
    static __device__ __forceinline__ void unpack(uint4 raw, float *out)
    {
        out[0] = __uint_as_float(raw.x);
        out[1] = __uint_as_float(raw.y);
        out[2] = __uint_as_float(raw.z);
        out[3] = __uint_as_float(raw.w);
    }
    static __device__ __forceinline__ void store4(void *base, size_t i, float4 v)
    {
        *reinterpret_cast<float4 *>(static_cast<float *>(base) + i) = v;
    }
    static __device__ __forceinline__ float load1(const void *base, size_t i)
    {
        return static_cast<const float *>(base)[i];
    }
};

template <int DT> struct storage16 {
    static constexpr int bytes = 2;
    static constexpr int per_vec = 8;
    static __device__ __forceinline__ float widen(uint32_t bits)
    {
        return DT == ELATTN_DTYPE_BF16 ? bf16_to_f32(bits) : f16_to_f32(bits);
    }
    static __device__ __forceinline__ uint32_t narrow(float f)
    {
        return DT == ELATTN_DTYPE_BF16 ? f32_to_bf16(f) : f32_to_f16(f);
    }
    static __device__ __forceinline__ void unpack(uint4 raw, float *out)
    {
        const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            out[2 * i] = widen(w[i] & 0xffffu);
            out[2 * i + 1] = widen(w[i] >> 16);
        }
    }
    /* Four values at element i (i % 4 == 0): one 8-byte store. */
    static __device__ __forceinline__ void store4(void *base, size_t i, float4 v)
    {
        uint2 packed;
        packed.x = narrow(v.x) | (narrow(v.y) << 16);
        packed.y = narrow(v.z) | (narrow(v.w) << 16);
        *reinterpret_cast<uint2 *>(static_cast<uint16_t *>(base) + i) = packed;
    }
    static __device__ __forceinline__ float load1(const void *base, size_t i)
    {
        return widen(static_cast<const uint16_t *>(base)[i]);
    }
};
template <> struct storage<ELATTN_DTYPE_F16> : storage16<ELATTN_DTYPE_F16> {};
template <> struct storage<ELATTN_DTYPE_BF16> : storage16<ELATTN_DTYPE_BF16> {};

/* The 16-byte vector at element i of a tensor (i a multiple of per_vec). */
template <int DT>
static __device__ __forceinline__ uint4 load_vec(const void *base, size_t i)
{
    return *reinterpret_cast<const uint4 *>(static_cast<const char *>(base) + i * storage<DT>::bytes);
}

/* ---- lane-group reductions --------------------------------------------------------
 * Over WIDTH consecutive lanes (a power of two, at most the wave size), the
 * result in every lane of the group. */
template <int WIDTH>
static __device__ __forceinline__ float group_max(float v)
{
#pragma unroll
    for (int o = WIDTH / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(ELATTN_FULL_LANES, v, o));
    return v;
}

template <int WIDTH>
static __device__ __forceinline__ float group_sum(float v)
{
#pragma unroll
    for (int o = WIDTH / 2; o > 0; o >>= 1) v += __shfl_xor_sync(ELATTN_FULL_LANES, v, o);
    return v;
}

template <int WIDTH>
static __device__ __forceinline__ double group_sum(double v)
{
#pragma unroll
    for (int o = WIDTH / 2; o > 0; o >>= 1) v += __shfl_xor_sync(ELATTN_FULL_LANES, v, o);
    return v;
}

/* Sum over a whole block of NT threads (NT a multiple of WAVE); `scratch`
 * holds NT / WAVE values. Every thread gets the result. Deterministic. */
template <int WAVE, int NT, typename T>
static __device__ __forceinline__ T block_sum(T v, T *scratch)
{
    v = group_sum<WAVE>(v);
    const int lane = threadIdx.x % WAVE, wave = threadIdx.x / WAVE;
    __syncthreads(); /* scratch may still be read from a previous call */
    if (lane == 0) scratch[wave] = v;
    __syncthreads();
    T total = 0;
#pragma unroll
    for (int w = 0; w < NT / WAVE; ++w) total += scratch[w];
    return total;
}

/* Minimum over a whole block, like block_sum. */
template <int WAVE, int NT, typename T>
static __device__ __forceinline__ T block_min(T v, T *scratch)
{
#pragma unroll
    for (int o = WAVE / 2; o > 0; o >>= 1) {
        const T other = __shfl_xor_sync(ELATTN_FULL_LANES, v, o);
        v = other < v ? other : v;
    }
    const int lane = threadIdx.x % WAVE, wave = threadIdx.x / WAVE;
    __syncthreads();
    if (lane == 0) scratch[wave] = v;
    __syncthreads();
    T result = scratch[0];
#pragma unroll
    for (int w = 1; w < NT / WAVE; ++w) result = scratch[w] < result ? scratch[w] : result;
    return result;
}

/* True when this device compilation pass is for hardware whose wave size is
 * WAVE. Kernels templated on another wave size compile to nothing there (they
 * are never launched on it), which keeps AMD builds for mixed targets small. */
template <int WAVE>
static __device__ __forceinline__ constexpr bool wave_matches()
{
#if defined(ELATTN_GPU_AMD) && defined(__AMDGCN_WAVEFRONT_SIZE)
    return WAVE == __AMDGCN_WAVEFRONT_SIZE;
#elif defined(ELATTN_GPU_AMD)
    return true;
#else
    return WAVE == 32;
#endif
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_COMMON_CUH */

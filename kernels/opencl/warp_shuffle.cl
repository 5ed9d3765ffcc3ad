/*
 * Warp shuffles for the OpenCL kernels that use them (mma_warp.cl's tensor-core kernels, the tiled
 * decode): shfl.sync through inline PTX with -DELATTN_NV_PTX (NVIDIA's driver), or emulated exactly
 * through local memory and work-group barriers with -DELATTN_MMA_EMULATE, so that code built on them
 * runs and is checked on any OpenCL device; or, for the tiled decode alone, cl_intel_subgroups'
 * shuffles with -DELATTN_SG_WIDTH=<width> (the warp is then a subgroup of that width, which the
 * kernel requires with intel_reqd_sub_group_size). Without any of these nothing is defined here.
 *
 * Every shuffle takes `xw`, the warp's 32 exchange words in local memory (emulation only; unused
 * with PTX), and the lane (local id % 32: NVIDIA's warps are 32 consecutive local ids of a 1-D
 * work-group). In the emulation each call is a work-group barrier: call them from code that every
 * work-item of the work-group runs.
 */
#if defined(ELATTN_NV_PTX)

/* Lane `lane ^ mask`'s x. */
static inline __attribute__((always_inline)) float shfl_xor(float x, int mask, __local uint *xw, int lane)
{
    uint y;
    __asm__ __volatile__("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=r"(y) : "r"(as_uint(x)), "r"(mask));
    return as_float(y);
}

/* Lane `src`'s x. */
static inline __attribute__((always_inline)) float shfl_idx(float x, int src, __local uint *xw, int lane)
{
    uint y;
    __asm__ __volatile__("shfl.sync.idx.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=r"(y) : "r"(as_uint(x)), "r"(src));
    return as_float(y);
}

#elif defined(ELATTN_MMA_EMULATE)

static inline float shfl_xor(float x, int mask, __local uint *xw, int lane)
{
    xw[lane] = as_uint(x);
    barrier(CLK_LOCAL_MEM_FENCE);
    const float y = as_float(xw[lane ^ mask]);
    barrier(CLK_LOCAL_MEM_FENCE);
    return y;
}

static inline float shfl_idx(float x, int src, __local uint *xw, int lane)
{
    xw[lane] = as_uint(x);
    barrier(CLK_LOCAL_MEM_FENCE);
    const float y = as_float(xw[src]);
    barrier(CLK_LOCAL_MEM_FENCE);
    return y;
}

#elif defined(ELATTN_SG_WIDTH)
#pragma OPENCL EXTENSION cl_intel_subgroups : enable

static inline float shfl_xor(float x, int mask, __local uint *xw, int lane)
{
    return intel_sub_group_shuffle_xor(x, (uint)mask);
}

static inline float shfl_idx(float x, int src, __local uint *xw, int lane)
{
    return intel_sub_group_shuffle(x, (uint)src);
}

#endif

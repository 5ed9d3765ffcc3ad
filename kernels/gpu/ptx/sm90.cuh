/*
 * sm_90a instruction helpers (NVIDIA Hopper): mbarriers, TMA bulk tensor
 * copies, wgmma and its shared-memory descriptors. Used by attn_wgmma.cuh.
 * The numeric helpers (exp2, 16-bit packing) are in ptx/sm80.cuh. CUDA build
 * only; include vendor/vendor.h first. The wrappers exist in the host pass
 * and the sm_90a device pass only (their instructions do not assemble for
 * other targets).
 */
#ifndef ELATTN_GPU_PTX_SM90_CUH
#define ELATTN_GPU_PTX_SM90_CUH

#if !defined(ELATTN_GPU_CUDA)
#error "ptx/sm90.cuh is for the CUDA backend only"
#endif

#include <cuda.h> /* CUtensorMap */
#include <stdint.h>

namespace ELATTN_GPU_NS {
namespace sm90 {

#if defined(__CUDA_ARCH_FEAT_SM90_ALL) || !defined(__CUDA_ARCH__)
__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
    return (uint32_t)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void bar_init(uint32_t bar, int count)
{
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(count) : "memory");
}

__device__ __forceinline__ void bar_expect_tx(uint32_t bar, uint32_t bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes)
                 : "memory");
}

__device__ __forceinline__ void bar_arrive(uint32_t bar)
{
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(bar) : "memory");
}

__device__ __forceinline__ void bar_wait(uint32_t bar, uint32_t parity)
{
    uint32_t done;
    do {
        asm volatile("{\n.reg .pred p;\n"
                     "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                     "selp.u32 %0, 1, 0, p;\n}"
                     : "=r"(done)
                     : "r"(bar), "r"(parity)
                     : "memory");
    } while (!done);
}

/* One TMA box {64 elements, 1 head, 128 rows} into a swizzled half tile. */
__device__ __forceinline__ void tma_load_box(uint32_t dst, const CUtensorMap *map, uint32_t bar,
                                             int c_elem, int c_head, int c_row)
{
    asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes"
                 " [%0], [%1, {%3, %4, %5}], [%2];" ::"r"(dst),
                 "l"((uint64_t)map), "r"(bar), "r"(c_elem), "r"(c_head), "r"(c_row)
                 : "memory");
}

__device__ __forceinline__ void fence_proxy_async()
{
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int kPending> __device__ __forceinline__ void wgmma_wait()
{
    asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(kPending) : "memory");
}

/* Keep the compiler from moving accumulator reads/writes across wgmma fences. */
__device__ __forceinline__ void fence_regs(float (&r)[64])
{
#pragma unroll
    for (int i = 0; i < 64; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
__device__ __forceinline__ void fence_regs(uint32_t (&r)[32])
{
#pragma unroll
    for (int i = 0; i < 32; ++i) asm volatile("" : "+r"(r[i])::"memory");
}

/* Shared-memory matrix descriptor, 128-byte swizzle. K-major operands (Q, K):
 * 8-row groups 1024 bytes apart (SBO), LBO unused. MN-major (V, transposed
 * B): 64-element column blocks LBO apart, 8-key groups SBO = 1024 apart. */
__device__ __forceinline__ uint64_t desc_sw128(uint32_t saddr, uint32_t lbo, uint32_t sbo)
{
    uint64_t d = (uint64_t)((saddr & 0x3FFFF) >> 4);
    d |= (uint64_t)((lbo >> 4) & 0x3FFF) << 16;
    d |= (uint64_t)((sbo >> 4) & 0x3FFF) << 32;
    d |= (uint64_t)1 << 62;
    return d;
}

#define ELW_F4(d, i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3])
#define ELW_F16(d, i) ELW_F4(d, i), ELW_F4(d, i + 4), ELW_F4(d, i + 8), ELW_F4(d, i + 12)
#define ELW_F64(d) ELW_F16(d, 0), ELW_F16(d, 16), ELW_F16(d, 32), ELW_F16(d, 48)
#define ELW_D64                                                                                    \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, "  \
    "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, "   \
    "%38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, "   \
    "%56, %57, %58, %59, %60, %61, %62, %63}"

/* d[64x128] (+)= A[64x16] (smem) * B[16x128] (smem, K-major: B^T rows). */
template <bool kBf16>
__device__ __forceinline__ void wgmma_ss(float (&d)[64], uint64_t da, uint64_t db, int accumulate)
{
    if (kBf16)
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " ELW_D64
                     ", %64, %65, p, 1, 1, 0, 0;\n}"
                     : ELW_F64(d)
                     : "l"(da), "l"(db), "r"(accumulate));
    else
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " ELW_D64
                     ", %64, %65, p, 1, 1, 0, 0;\n}"
                     : ELW_F64(d)
                     : "l"(da), "l"(db), "r"(accumulate));
}

/* d[64x128] += A[64x16] (registers) * B[16x128] (smem, MN-major: transposed). */
template <bool kBf16>
__device__ __forceinline__ void wgmma_rs(float (&d)[64], uint32_t a0, uint32_t a1, uint32_t a2,
                                         uint32_t a3, uint64_t db)
{
    if (kBf16)
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " ELW_D64
                     ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}"
                     : ELW_F64(d)
                     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(db), "r"(1));
    else
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " ELW_D64
                     ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}"
                     : ELW_F64(d)
                     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(db), "r"(1));
}

#endif /* sm_90a device code or host pass */

} /* namespace sm90 */
} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_PTX_SM90_CUH */

/*
 * sm_90a instruction helpers (NVIDIA Hopper): mbarriers, named barriers,
 * TMA bulk tensor copies, wgmma and its shared-memory descriptors. Used by attn_wgmma.cuh.
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

/* Named barrier `id` (1..15; 0 is __syncthreads) among `threads` threads:
 * wait for all of them, or count this warp in and go on. */
__device__ __forceinline__ void named_bar_sync(int id, int threads)
{
    asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_bar_arrive(int id, int threads)
{
    asm volatile("bar.arrive %0, %1;" ::"r"(id), "r"(threads) : "memory");
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
template <int R> __device__ __forceinline__ void fence_regs(float (&r)[R])
{
#pragma unroll
    for (int i = 0; i < R; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int R> __device__ __forceinline__ void fence_regs(uint32_t (&r)[R])
{
#pragma unroll
    for (int i = 0; i < R; ++i) asm volatile("" : "+r"(r[i])::"memory");
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

/* wgmma m64nNk16 with fp32 accumulators: N / 2 registers per thread. The asm
 * needs every accumulator as an operand, numbered first (ELW_D<R> lists
 * them, ELW_F<R> binds them); the operands after them are numbered from R. */
#define ELW_F4(d, i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3])
#define ELW_F16(d, i) ELW_F4(d, i), ELW_F4(d, i + 4), ELW_F4(d, i + 8), ELW_F4(d, i + 12)
#define ELW_F32(d) ELW_F16(d, 0), ELW_F16(d, 16)
#define ELW_F48(d) ELW_F32(d), ELW_F16(d, 32)
#define ELW_F64(d) ELW_F48(d), ELW_F16(d, 48)
#define ELW_F96(d) ELW_F64(d), ELW_F16(d, 64), ELW_F16(d, 80)
#define ELW_F128(d) ELW_F96(d), ELW_F16(d, 96), ELW_F16(d, 112)
#define ELW_D32                                                                                    \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                      \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define ELW_D48                                                                                    \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                      \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "             \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47}"
#define ELW_D64                                                                                    \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                      \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "             \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "             \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define ELW_D96                                                                                    \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                      \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "             \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "             \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "             \
    "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "             \
    "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95}"
#define ELW_D128                                                                                   \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                      \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "             \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "             \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "             \
    "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "             \
    "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "             \
    "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, " \
    "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}"

/* A and B from shared memory (B K-major: B^T rows); p = accumulate. */
#define ELW_WGMMA_SS(N, R, TY, IA, IB, IP)                                                         \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" #IP ", 0;\n"                                 \
                 "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TY "." TY " " ELW_D##R         \
                 ", %" #IA ", %" #IB ", p, 1, 1, 0, 0;\n}"                                         \
                 : ELW_F##R(d)                                                                     \
                 : "l"(da), "l"(db), "r"(accumulate))
/* A from registers, B from shared memory MN-major (transposed); always accumulates. */
#define ELW_WGMMA_RS(N, R, TY, A0, A1, A2, A3, IB, IP)                                             \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" #IP ", 0;\n"                                 \
                 "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TY "." TY " " ELW_D##R         \
                 ", {%" #A0 ", %" #A1 ", %" #A2 ", %" #A3 "}, %" #IB ", p, 1, 1, 1;\n}"              \
                 : ELW_F##R(d)                                                                     \
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(db), "r"(1))

/* d[64xN] (+)= A[64x16] (smem) * B[16xN] (smem, K-major). */
template <int N, bool kBf16>
__device__ __forceinline__ void wgmma_ss(float (&d)[N / 2], uint64_t da, uint64_t db, int accumulate)
{
    static_assert(N == 64 || N == 96 || N == 128 || N == 192 || N == 256, "wgmma N without a wrapper");
    if constexpr (N == 64) {
        if constexpr (kBf16) ELW_WGMMA_SS(64, 32, "bf16", 32, 33, 34);
        else ELW_WGMMA_SS(64, 32, "f16", 32, 33, 34);
    } else if constexpr (N == 96) {
        if constexpr (kBf16) ELW_WGMMA_SS(96, 48, "bf16", 48, 49, 50);
        else ELW_WGMMA_SS(96, 48, "f16", 48, 49, 50);
    } else if constexpr (N == 128) {
        if constexpr (kBf16) ELW_WGMMA_SS(128, 64, "bf16", 64, 65, 66);
        else ELW_WGMMA_SS(128, 64, "f16", 64, 65, 66);
    } else if constexpr (N == 192) {
        if constexpr (kBf16) ELW_WGMMA_SS(192, 96, "bf16", 96, 97, 98);
        else ELW_WGMMA_SS(192, 96, "f16", 96, 97, 98);
    } else {
        if constexpr (kBf16) ELW_WGMMA_SS(256, 128, "bf16", 128, 129, 130);
        else ELW_WGMMA_SS(256, 128, "f16", 128, 129, 130);
    }
}

/* d[64xN] += A[64x16] (registers a0..a3) * B[16xN] (smem, MN-major). */
template <int N, bool kBf16>
__device__ __forceinline__ void wgmma_rs(float (&d)[N / 2], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                         uint64_t db)
{
    static_assert(N == 64 || N == 96 || N == 128 || N == 192 || N == 256, "wgmma N without a wrapper");
    if constexpr (N == 64) {
        if constexpr (kBf16) ELW_WGMMA_RS(64, 32, "bf16", 32, 33, 34, 35, 36, 37);
        else ELW_WGMMA_RS(64, 32, "f16", 32, 33, 34, 35, 36, 37);
    } else if constexpr (N == 96) {
        if constexpr (kBf16) ELW_WGMMA_RS(96, 48, "bf16", 48, 49, 50, 51, 52, 53);
        else ELW_WGMMA_RS(96, 48, "f16", 48, 49, 50, 51, 52, 53);
    } else if constexpr (N == 128) {
        if constexpr (kBf16) ELW_WGMMA_RS(128, 64, "bf16", 64, 65, 66, 67, 68, 69);
        else ELW_WGMMA_RS(128, 64, "f16", 64, 65, 66, 67, 68, 69);
    } else if constexpr (N == 192) {
        if constexpr (kBf16) ELW_WGMMA_RS(192, 96, "bf16", 96, 97, 98, 99, 100, 101);
        else ELW_WGMMA_RS(192, 96, "f16", 96, 97, 98, 99, 100, 101);
    } else {
        if constexpr (kBf16) ELW_WGMMA_RS(256, 128, "bf16", 128, 129, 130, 131, 132, 133);
        else ELW_WGMMA_RS(256, 128, "f16", 128, 129, 130, 131, 132, 133);
    }
}

#endif /* sm_90a device code or host pass */

} /* namespace sm90 */
} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_PTX_SM90_CUH */

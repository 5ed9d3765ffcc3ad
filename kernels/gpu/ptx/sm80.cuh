/*
 * sm_80 instruction helpers (NVIDIA Ampere and later): cp.async, ldmatrix,
 * mma.sync m16n8k16, the XOR-swizzled shared-memory tile they read, and the
 * numeric bits the tensor-core kernels share (MUFU exp2, fp32 -> 16-bit
 * pairs, quad reductions). Used by attn_mma.cuh, xattn_mma.cuh and
 * attn_wgmma.cuh. CUDA build only (on a GPU, or emulated on the CPU: vendor/hip_on_cpu.h);
 * include vendor/vendor.h first.
 */
#ifndef ELATTN_GPU_PTX_SM80_CUH
#define ELATTN_GPU_PTX_SM80_CUH

#if !defined(ELATTN_GPU_CUDA)
#error "ptx/sm80.cuh is for the CUDA backend only"
#endif

#include <stdint.h>
#include <type_traits>

namespace ELATTN_GPU_NS {
namespace sm80 {

/* The emulated CUDA build (vendor/hip_on_cpu.h) runs each instruction below through the
 * emulation's function of the same name: same operands, same fragment layouts. */
#if defined(ELATTN_GPU_EMULATED)
#  define ELATTN_SM80_EMULATED 1
#endif

__device__ __forceinline__ uint32_t smem_addr(const void *p)
{
#if defined(ELATTN_SM80_EMULATED)
    return elattn_emu::shared_offset(p);
#else
    return (uint32_t)__cvta_generic_to_shared(p);
#endif
}

/* 16-byte global->shared copy; `valid` false zero-fills without reading. */
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void *src, bool valid)
{
#if defined(ELATTN_SM80_EMULATED)
    elattn_emu::cp_async_16(dst, src, valid);
#else
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
#endif
}
/* An L2 policy that evicts the lines it tags first (createpolicy, sm_80+): for data read once. */
__device__ __forceinline__ uint64_t l2_evict_first_policy()
{
#if defined(ELATTN_SM80_EMULATED)
    return 0; /* no cache to steer */
#else
    uint64_t policy;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    return policy;
#endif
}
/* cp_async_16 with an L2 cache policy (l2_evict_first_policy). */
__device__ __forceinline__ void cp_async_16_policy(uint32_t dst, const void *src, bool valid, uint64_t policy)
{
#if defined(ELATTN_SM80_EMULATED)
    (void)policy;
    elattn_emu::cp_async_16(dst, src, valid);
#else
    asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;\n" ::"r"(dst), "l"(src),
                 "r"(valid ? 16 : 0), "l"(policy));
#endif
}
__device__ __forceinline__ void cp_async_commit()
{
#if defined(ELATTN_SM80_EMULATED)
    elattn_emu::cp_async_commit();
#else
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int N>
__device__ __forceinline__ void cp_async_wait()
{
#if defined(ELATTN_SM80_EMULATED)
    elattn_emu::cp_async_wait(N);
#else
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr)
{
#if defined(ELATTN_SM80_EMULATED)
    elattn_emu::ldmatrix_x4(r, addr, false);
#else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
#endif
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t addr)
{
#if defined(ELATTN_SM80_EMULATED)
    elattn_emu::ldmatrix_x4(r, addr, true);
#else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
#endif
}

/* C[16x8] += A[16x16] B[16x8], fp32 accumulate; T is __half or __nv_bfloat16. */
template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1)
{
#if defined(ELATTN_SM80_EMULATED)
    elattn_emu::mma_16816(c, a, b0, b1, std::is_same<T, __nv_bfloat16>::value);
#else
    if constexpr (std::is_same<T, __nv_bfloat16>::value) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    } else {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
#endif
}

/* Two floats to a packed pair of T (round to nearest even); `lo` goes to the lower half. */
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi)
{
    uint32_t r;
    if constexpr (std::is_same<T, __nv_bfloat16>::value) {
        __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
        r = *reinterpret_cast<uint32_t *>(&v);
    } else {
        __half2 v = __floats2half2_rn(lo, hi);
        r = *reinterpret_cast<uint32_t *>(&v);
    }
    return r;
}

/* 2^x with the MUFU instruction (2^-inf = 0). */
__device__ __forceinline__ float fast_exp2(float x)
{
#if defined(ELATTN_SM80_EMULATED)
    return exp2f(x);
#else
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
#endif
}

/* Max / sum over the 4 lanes of a quad (the lanes that share an mma row). */
__device__ __forceinline__ float quad_max(float x)
{
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x)
{
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

/* Byte offset of 16-byte chunk `chunk` of row `row` in a [rows][D] tile of
 * 2-byte elements. XOR with the row's low 3 bits spreads the 8 rows an
 * ldmatrix phase reads over all 32 banks (needs D >= 64). */
template <int D>
__device__ __forceinline__ uint32_t swz(int row, int chunk)
{
    return (uint32_t)(row * (D * 2) + ((chunk ^ (row & 7)) << 4));
}

/* Copy ROWS rows of D 2-byte elements into a swizzled tile with cp.async;
 * row_ptr(r) gives the global row or nullptr (zero-filled, nothing read;
 * `fallback` is any valid address the instruction may name). */
template <int ROWS, int D, int THREADS, class RowPtr>
__device__ __forceinline__ void load_tile(uint32_t sbase, const void *fallback, RowPtr row_ptr)
{
    constexpr int CHUNKS = D / 8;
    constexpr int TOTAL = ROWS * CHUNKS;
    static_assert(TOTAL % THREADS == 0, "tile copy must divide evenly over the threads");
#pragma unroll
    for (int i = 0; i < TOTAL / THREADS; ++i) {
        int c = i * THREADS + (int)threadIdx.x;
        int row = c / CHUNKS, ch = c % CHUNKS;
        const char *src = (const char *)row_ptr(row);
        cp_async_16(sbase + swz<D>(row, ch), src ? src + ch * 16 : fallback, src != nullptr);
    }
}

} /* namespace sm80 */
} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_PTX_SM80_CUH */

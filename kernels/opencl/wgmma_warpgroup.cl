/*
 * Hopper's warpgroup matrix multiply (wgmma.mma_async, sm_90a) for OpenCL kernels, with A from
 * registers and B from local memory through a matrix descriptor; after mma_warp.cl, whose
 * fragments, pack2 and emulation conventions it shares. One user so far: attn_wgmma.cl.
 *
 * How sm_90a code comes out of OpenCL: NVIDIA's OpenCL compiler targets sm_90, where ptxas
 * refuses wgmma. So each sm_90a instruction is written in inline asm behind the marker comment
 * "// SM90A " (WG_SM90A below): the compiler copies it into its PTX as a comment, with its own
 * registers substituted for the operands, and the host (ocl_ptx_sm90a_edit, opencl_program.c)
 * takes that PTX, removes the markers, sets `.target sm_90a` and builds the result again as a
 * program binary. The build options carry -DELATTN_PTX_SM90A=1 for that path, so the host knows
 * the edit is due. The asm constraints are written for what the uncommented instruction does,
 * so the front end keeps every operand live and in order.
 *
 * With -DELATTN_MMA_EMULATE each helper is computed exactly, at once, through local memory (the
 * same operand layouts, so the kernel's addressing runs on any OpenCL device); every helper is
 * then a work-group barrier: call them from code that the whole work-group runs.
 *
 * Layouts (PTX ISA, "Asynchronous Warpgroup Level Matrix Shared Memory Layout", no swizzle):
 * - A from registers, 64 x 16: warp w of the warpgroup holds rows 16 w .. 16 w + 15 in
 *   mma.sync m16n8k16's A fragment (mma_warp.cl), so a Q fragment loaded by ldmatrix and P built
 *   from an accumulator (attn_mma_rows.cl's mma_rows_p) are both A operands as they stand.
 * - D, 64 x N fp32: warp w, rows 16 w + g and + 8, d[j] = mma.sync's C fragment of columns
 *   8 j .. 8 j + 7 (g = lane / 4, t = lane % 4: d[j][0..1] row g, cols 8 j + 2 t, + 1;
 *   d[j][2..3] row g + 8).
 * - B, 16 x N from local memory in 8 x 8 core matrices of 128 contiguous bytes. K-major (B^T's
 *   rows, i.e. N rows of 16 contiguous bytes of K, as K's rows for S = Q K^T): element (k, n) at
 *   (n % 8) * 16 + (n / 8) * SBO + (k % 8) * 2 + (k / 8) * LBO bytes. MN-major (imm-trans-b 1,
 *   as V's rows for O += P V): (n % 8) * 2 + (n / 8) * SBO + (k % 8) * 16 + (k / 8) * LBO.
 *   The descriptor: start address >> 4 in bits 0-13, LBO >> 4 in 16-29, SBO >> 4 in 32-45,
 *   swizzle mode 0 (none) in 62-63. (Measured in bench/lab/notes/mma/wgmma_binary_probe.c for
 *   A from local memory, K-major: the no-swizzle layout as stated, call 115.)
 *
 * Compile-time: ELATTN_STORAGE (F16 or BF16); the kernel's N widths must be 64 or 128.
 */
#if defined(ELATTN_NV_PTX) && !defined(ELATTN_PTX_SM90A)
#error "wgmma needs the sm_90a edit of the PTX: build with -DELATTN_PTX_SM90A=1 (the host's ocl_ptx_sm90a_edit)"
#endif

/* A local-memory operand's descriptor; the emulation decodes the same bits. */
typedef ulong wg_desc;
INLINE wg_desc wg_make_desc(uint at, uint lbo, uint sbo)
{
    return (ulong)((at & 0x3FFFFu) >> 4) | ((ulong)(lbo >> 4) << 16) | ((ulong)(sbo >> 4) << 32);
}

#if defined(ELATTN_NV_PTX)

#define WG_SM90A "// SM90A "

/* The accumulators of an m64nN instruction as "+f" operands: N / 2 floats, d[j][e]. */
#define WG_F4(d, j) "+f"(d[j][0]), "+f"(d[j][1]), "+f"(d[j][2]), "+f"(d[j][3])
#define WG_F16(d, j) WG_F4(d, j), WG_F4(d, j + 1), WG_F4(d, j + 2), WG_F4(d, j + 3)
#define WG_F_N64(d) WG_F16(d, 0), WG_F16(d, 4)
#define WG_F_N128(d) WG_F16(d, 0), WG_F16(d, 4), WG_F16(d, 8), WG_F16(d, 12)
/* Their operand numbers, then A's four registers and the descriptor, then the accumulate flag. */
#define WG_D_N64                                                                                     \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, "    \
    "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define WG_A_N64 "{%32, %33, %34, %35}, %36"
#define WG_ACC_N64 "%37"
#define WG_D_N128                                                                                    \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, "    \
    "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, " \
    "%39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, " \
    "%58, %59, %60, %61, %62, %63}"
#define WG_A_N128 "{%64, %65, %66, %67}, %68"
#define WG_ACC_N128 "%69"

/* wgmma_<major>_n<N>(d, a, desc, accumulate): d = A B (+ d when accumulate), A 64 x 16 from
 * registers, B 16 x N from local memory, K-major (kmaj) or MN-major (mnmaj). Asynchronous: the
 * results are in d after wg_commit_wait_n<N>(d). These and the helpers below are macros, not
 * functions, so that each use is the asm statement itself whatever a compiler's inliner does: a
 * call that passed d through memory would read accumulators a wgmma is still writing. */
#define WG_MMA_ASM(N, TRANS, d, a, desc, accumulate)                                                  \
    __asm__ __volatile__("{\n.reg .pred p;\nsetp.ne.b32 p, " WG_ACC_N##N ", 0;\n" WG_SM90A           \
                         "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." MMA_TYPES " " WG_D_N##N     \
                         ", " WG_A_N##N ", p, 1, 1, " #TRANS ";\n}"                                  \
                         : WG_F_N##N(d)                                                               \
                         : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "l"(desc), "r"(accumulate) \
                         : "memory")
#define wgmma_kmaj_n64(d, a, desc, accumulate) WG_MMA_ASM(64, 0, d, a, desc, accumulate)
#define wgmma_kmaj_n128(d, a, desc, accumulate) WG_MMA_ASM(128, 0, d, a, desc, accumulate)
#define wgmma_mnmaj_n64(d, a, desc, accumulate) WG_MMA_ASM(64, 1, d, a, desc, accumulate)
#define wgmma_mnmaj_n128(d, a, desc, accumulate) WG_MMA_ASM(128, 1, d, a, desc, accumulate)

/* wg_fence_n<N>(d): wgmma.fence, after every write of d (and, by the asm order, of whatever
 * wg_touch was given) by other instructions, before the wgmma that reads them. */
#define wg_fence_n64(d) __asm__ __volatile__(WG_SM90A "wgmma.fence.sync.aligned;\n" : WG_F_N64(d)::"memory")
#define wg_fence_n128(d) __asm__ __volatile__(WG_SM90A "wgmma.fence.sync.aligned;\n" : WG_F_N128(d)::"memory")

/* An A fragment written before the next wg_fence: volatile asms keep their order, so the fence
 * comes after these writes. */
#define wg_touch(a) __asm__ __volatile__("" : "+r"((a)[0]), "+r"((a)[1]), "+r"((a)[2]), "+r"((a)[3]))

/* wg_commit_wait_n<N>(d): close this warpgroup's wgmmas into a group and wait for all of them;
 * d (their accumulators) is written from here on. */
#define WG_COMMIT_WAIT_ASM "wgmma.commit_group.sync.aligned;\n" WG_SM90A "wgmma.wait_group.sync.aligned 0;\n"
#define wg_commit_wait_n64(d) __asm__ __volatile__(WG_SM90A WG_COMMIT_WAIT_ASM : WG_F_N64(d)::"memory")
#define wg_commit_wait_n128(d) __asm__ __volatile__(WG_SM90A WG_COMMIT_WAIT_ASM : WG_F_N128(d)::"memory")

/* Local memory written by this work-item's generic stores and copies (cp.async), made visible to
 * wgmma's operand reads (the async proxy); a barrier after it publishes everyone's. */
INLINE void wg_proxy_fence(void) { __asm__ __volatile__(WG_SM90A "fence.proxy.async.shared::cta;\n" ::: "memory"); }

#else /* ELATTN_MMA_EMULATE */

INLINE float wg_b_elem(__local const uchar *base, uint at)
{
    const uint bits = *(__local const ushort *)(base + at);
#if ELATTN_STORAGE == ELATTN_DTYPE_BF16
    return as_float(bits << 16);
#else
    return elattn_f16_bits_to_float(bits);
#endif
}

/* The product at once: the warp's A fragments through the exchange area (4 words a lane), B read
 * where the descriptor's layout puts each element. */
INLINE void wgmma_emu(float *d, int n_width, const uint a[4], wg_desc desc, int accumulate, int mn_major,
                      __local const uchar *base, __local uint *xw, int lane)
{
    for (int x = 0; x < 4; ++x) xw[lane * 4 + x] = a[x];
    barrier(CLK_LOCAL_MEM_FENCE);
    const uint at = (uint)(desc & 0x3FFFu) << 4, lbo = (uint)((desc >> 16) & 0x3FFFu) << 4,
               sbo = (uint)((desc >> 32) & 0x3FFFu) << 4;
    const int g = lane / 4, t = lane % 4;
    for (int j = 0; j < n_width / 8; ++j)
        for (int e = 0; e < 4; ++e) {
            const int row = g + 8 * (e / 2), col = 8 * j + 2 * t + (e & 1);
            float sum = accumulate ? d[4 * j + e] : 0.0f;
            for (int kk = 0; kk < 16; ++kk) {
                /* A[row][kk]: mma_warp.cl's A fragment (lane (row % 8) * 4 + (kk % 8) / 2, register
                 * (row >= 8) + 2 (kk >= 8), half kk & 1) */
                const uint word = xw[((row % 8) * 4 + (kk % 8) / 2) * 4 + (row >= 8) + 2 * (kk >= 8)];
                const uint abits = (kk & 1) ? word >> 16 : word & 0xffffu;
#if ELATTN_STORAGE == ELATTN_DTYPE_BF16
                const float av = as_float(abits << 16);
#else
                const float av = elattn_f16_bits_to_float(abits);
#endif
                const uint b_at = mn_major ? at + (col % 8) * 2 + (col / 8) * sbo + (kk % 8) * 16 + (kk / 8) * lbo
                                           : at + (col % 8) * 16 + (col / 8) * sbo + (kk % 8) * 2 + (kk / 8) * lbo;
                sum = fma(av, wg_b_elem(base, b_at), sum);
            }
            d[4 * j + e] = sum;
        }
    barrier(CLK_LOCAL_MEM_FENCE);
}

/* The PTX helpers' names and arguments; the emulation needs the local memory's base and the warp's
 * exchange area, which the kernel names WG_BASE and WG_XW, and the lane WG_LANE. */
#define wgmma_kmaj_n64(d, a, desc, acc) wgmma_emu(&(d)[0][0], 64, a, desc, acc, 0, WG_BASE, WG_XW, WG_LANE)
#define wgmma_kmaj_n128(d, a, desc, acc) wgmma_emu(&(d)[0][0], 128, a, desc, acc, 0, WG_BASE, WG_XW, WG_LANE)
#define wgmma_mnmaj_n64(d, a, desc, acc) wgmma_emu(&(d)[0][0], 64, a, desc, acc, 1, WG_BASE, WG_XW, WG_LANE)
#define wgmma_mnmaj_n128(d, a, desc, acc) wgmma_emu(&(d)[0][0], 128, a, desc, acc, 1, WG_BASE, WG_XW, WG_LANE)
#define wg_fence_n64(d) ((void)0)
#define wg_fence_n128(d) ((void)0)
#define wg_touch(a) ((void)0)
#define wg_commit_wait_n64(d) ((void)0)
#define wg_commit_wait_n128(d) ((void)0)
INLINE void wg_proxy_fence(void) {}

#endif

/* By width, for kernels whose N is a macro: WG_MMA(kmaj, BN) is wgmma_kmaj_n64 when BN is 64 (the
 * second level expands the width before it is pasted). */
#define WG_MMA(major, n) WG_MMA_(major, n)
#define WG_MMA_(major, n) wgmma_##major##_n##n
#define WG_FENCE(n) WG_FENCE_(n)
#define WG_FENCE_(n) wg_fence_n##n
#define WG_COMMIT_WAIT(n) WG_COMMIT_WAIT_(n)
#define WG_COMMIT_WAIT_(n) wg_commit_wait_n##n

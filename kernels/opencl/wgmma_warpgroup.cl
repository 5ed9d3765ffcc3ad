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
 * With -DELATTN_MMA_EMULATE each chain step is computed exactly, at once, through local memory
 * (the same operand layouts and descriptor bits, so the kernel's addressing runs on any OpenCL
 * device); every step is then a work-group barrier: run the chains from code that the whole
 * work-group runs.
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
 * Compile-time: ELATTN_STORAGE (F16 or BF16). Chains written out: N 32 with 8 steps, N 64 with 4
 * or 8, N 128 with 2 or 4 (wgmma_chain_set below).
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

/* A chain: STEPS wgmmas into one accumulator set, d = sum over s of A_s B_s (wgmma_chain_set) or
 * d += that (wgmma_chain_add), A_s 64 x 16 from registers, B_s 16 x N from local memory, K-major
 * (TRANS 0) or MN-major (TRANS 1, imm-trans-b). The whole chain is ONE asm statement: fence, the
 * wgmmas, commit and wait, so d is complete when it ends and no compiler can put an instruction
 * between its steps. Why (call 120, H100): with one asm per wgmma, NVIDIA's OpenCL front end kept
 * the k-step loops rolled, so the A fragments (Q's, P's) went through the stack to be indexed by
 * the loop counter, and ptxas fenced and waited for each wgmma on its own (a WARPGROUP.ARRIVE
 * before every HGMMA); 140 TFLOP/s. Here every operand is named by a constant.
 *
 * Arguments: N and STEPS literal after expansion; d a float[N / 8][4]; A(s, x) and DESC(s) macros
 * giving word x of step s's A fragment (mma.sync's A fragment, see above) and step s's
 * descriptor. Shapes written out: N 32 with 8 steps, N 64 with 4 or 8, N 128 with 2 or 4. */
#define wgmma_chain_set(N, STEPS, TRANS, d, A, DESC) WG_CHAIN_ASM(N, STEPS, TRANS, "p0", "=f", d, A, DESC)
#define wgmma_chain_add(N, STEPS, TRANS, d, A, DESC) WG_CHAIN_ASM(N, STEPS, TRANS, "p1", "+f", d, A, DESC)

/* p0 (false): the first step ignores d (scale-d 0); p1 (true): it accumulates. */
#define WG_CHAIN_ASM(N, STEPS, TRANS, P, C, d, A, DESC)                                                 \
    __asm__ __volatile__("{\n.reg .pred p0, p1;\nsetp.ne.b32 p0, 0, 0;\nsetp.eq.b32 p1, 0, 0;\n"        \
                         WG_SM90A "wgmma.fence.sync.aligned;\n" WG_LIST_N##N##_S##STEPS(WG_STEP, TRANS, P) \
                         WG_SM90A "wgmma.commit_group.sync.aligned;\n"                                  \
                         WG_SM90A "wgmma.wait_group.sync.aligned 0;\n"                                  \
                         WG_LIST_N##N##_S##STEPS(WG_KEEP, TRANS, P) "}"                               \
                         : WG_D_OPS_N##N(C, d), WG_A_OPS_S##STEPS(A)                                   \
                         : WG_DESC_OPS_S##STEPS(DESC)                                                  \
                         : "memory")

/* After the wait, each A register is written by an identity permute, and the asm names the A
 * fragments "+r": so a loop-invariant A (attn_wgmma.cl's Q) is redefined in the loop. Without it,
 * ptxas (CUDA 13.0, and the 580 driver's) took a Q fragment used only by the wgmmas of a loop as
 * dead after the loop's first chain and gave its registers to P: at D 64 with 64-key tiles every
 * key tile after the first multiplied P by K (calls 119-125; bench/lab/notes/mma/NOTES.md). */
#define WG_KEEP(N, TRANS, P, a0, a1, a2, a3, q)                                                        \
    "prmt.b32 %" #a0 ", %" #a0 ", 0, 0x3210;\nprmt.b32 %" #a1 ", %" #a1 ", 0, 0x3210;\n"              \
    "prmt.b32 %" #a2 ", %" #a2 ", 0, 0x3210;\nprmt.b32 %" #a3 ", %" #a3 ", 0, 0x3210;\n"

/* One step: the accumulators (operands 0 .. N / 2 - 1), A's four registers, the descriptor. */
#define WG_STEP(N, TRANS, P, a0, a1, a2, a3, q)                                                        \
    WG_SM90A "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." MMA_TYPES " " WG_D_N##N ", {%" #a0 ", %" #a1 \
             ", %" #a2 ", %" #a3 "}, %" #q ", " P ", 1, 1, " #TRANS ";\n"
#define WG_D_N32 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}"
#define WG_D_N64                                                                                     \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, "    \
    "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define WG_D_N128                                                                                    \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, "    \
    "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, " \
    "%39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, " \
    "%58, %59, %60, %61, %62, %63}"
/* N 32, 8 steps: A in operands 16-47, descriptors 48-55. */
#define WG_LIST_N32_S8(F, T, P)                                                                       \
    F(32, T, P, 16, 17, 18, 19, 48) F(32, T, "p1", 20, 21, 22, 23, 49)                                \
    F(32, T, "p1", 24, 25, 26, 27, 50) F(32, T, "p1", 28, 29, 30, 31, 51)                             \
    F(32, T, "p1", 32, 33, 34, 35, 52) F(32, T, "p1", 36, 37, 38, 39, 53)                             \
    F(32, T, "p1", 40, 41, 42, 43, 54) F(32, T, "p1", 44, 45, 46, 47, 55)
/* N 64, 4 steps: A in operands 32-47, descriptors 48-51; 8 steps: A 32-63, descriptors 64-71. */
#define WG_LIST_N64_S4(F, T, P)                                                                       \
    F(64, T, P, 32, 33, 34, 35, 48) F(64, T, "p1", 36, 37, 38, 39, 49)                                \
    F(64, T, "p1", 40, 41, 42, 43, 50) F(64, T, "p1", 44, 45, 46, 47, 51)
#define WG_LIST_N64_S8(F, T, P)                                                                       \
    F(64, T, P, 32, 33, 34, 35, 64) F(64, T, "p1", 36, 37, 38, 39, 65)                                \
    F(64, T, "p1", 40, 41, 42, 43, 66) F(64, T, "p1", 44, 45, 46, 47, 67)                             \
    F(64, T, "p1", 48, 49, 50, 51, 68) F(64, T, "p1", 52, 53, 54, 55, 69)                             \
    F(64, T, "p1", 56, 57, 58, 59, 70) F(64, T, "p1", 60, 61, 62, 63, 71)
/* N 128, 2 steps: A in operands 64-71, descriptors 72-73; 4 steps: A 64-79, descriptors 80-83. */
#define WG_LIST_N128_S2(F, T, P) F(128, T, P, 64, 65, 66, 67, 72) F(128, T, "p1", 68, 69, 70, 71, 73)
#define WG_LIST_N128_S4(F, T, P)                                                                      \
    F(128, T, P, 64, 65, 66, 67, 80) F(128, T, "p1", 68, 69, 70, 71, 81)                              \
    F(128, T, "p1", 72, 73, 74, 75, 82) F(128, T, "p1", 76, 77, 78, 79, 83)

/* The operand lists, in that order: accumulators d[j][e] ("=f" or "+f") and A(s, x) ("+r", see
 * WG_KEEP) as outputs, DESC(s) as inputs. */
#define WG_D4(C, d, j) C(d[j][0]), C(d[j][1]), C(d[j][2]), C(d[j][3])
#define WG_D16(C, d, j) WG_D4(C, d, j), WG_D4(C, d, j + 1), WG_D4(C, d, j + 2), WG_D4(C, d, j + 3)
#define WG_D_OPS_N32(C, d) WG_D16(C, d, 0)
#define WG_D_OPS_N64(C, d) WG_D16(C, d, 0), WG_D16(C, d, 4)
#define WG_D_OPS_N128(C, d) WG_D16(C, d, 0), WG_D16(C, d, 4), WG_D16(C, d, 8), WG_D16(C, d, 12)
#define WG_A4(A, s) "+r"(A(s, 0)), "+r"(A(s, 1)), "+r"(A(s, 2)), "+r"(A(s, 3))
#define WG_A_OPS_S2(A) WG_A4(A, 0), WG_A4(A, 1)
#define WG_A_OPS_S4(A) WG_A_OPS_S2(A), WG_A4(A, 2), WG_A4(A, 3)
#define WG_A_OPS_S8(A) WG_A_OPS_S4(A), WG_A4(A, 4), WG_A4(A, 5), WG_A4(A, 6), WG_A4(A, 7)
#define WG_DESC_OPS_S2(DESC) "l"(DESC(0)), "l"(DESC(1))
#define WG_DESC_OPS_S4(DESC) WG_DESC_OPS_S2(DESC), "l"(DESC(2)), "l"(DESC(3))
#define WG_DESC_OPS_S8(DESC) WG_DESC_OPS_S4(DESC), "l"(DESC(4)), "l"(DESC(5)), "l"(DESC(6)), "l"(DESC(7))

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

/* The chains, step by step; the emulation needs the local memory's base and the warp's exchange
 * area, which the kernel names WG_BASE and WG_XW, and the lane WG_LANE. */
#define wgmma_chain_set(N, STEPS, TRANS, d, A, DESC) WG_CHAIN_EMU(N, STEPS, TRANS, 0, d, A, DESC)
#define wgmma_chain_add(N, STEPS, TRANS, d, A, DESC) WG_CHAIN_EMU(N, STEPS, TRANS, 1, d, A, DESC)
#define WG_CHAIN_EMU(N, STEPS, TRANS, ACC, d, A, DESC)                                                   \
    do {                                                                                               \
        for (int s_ = 0; s_ < (STEPS); ++s_) {                                                         \
            const uint a_[4] = {A(s_, 0), A(s_, 1), A(s_, 2), A(s_, 3)};                               \
            wgmma_emu(&(d)[0][0], N, a_, DESC(s_), (ACC) || s_ > 0, TRANS, WG_BASE, WG_XW, WG_LANE);   \
        }                                                                                              \
    } while (0)
INLINE void wg_proxy_fence(void) {}

#endif

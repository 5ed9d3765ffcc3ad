/*
 * What the OpenCL tensor-core kernels share (attn_mma.cl, attn_mma_async.cl,
 * xattn_mma.cl): the warp instructions they are built from (mma.sync
 * m16n8k16, ldmatrix, shfl.sync, cvt, ex2, cp.async) and the layout of their
 * local-memory tiles.
 *
 * The instructions are inline PTX (the shuffles come from warp_shuffle.cl, which the
 * programs put before this file), compiled only with -DELATTN_NV_PTX, which
 * the host passes only to NVIDIA's driver on compute capability >= 8.0. With
 * -DELATTN_MMA_EMULATE instead, each of them is emulated exactly (same lanes,
 * same registers, same fragment layouts) through local memory and work-group
 * barriers, so a kernel built on them - addressing, fragment layouts, masking,
 * epilogue - runs and is checked on any OpenCL device (PoCL in CI), slowly.
 * Without either macro the source does not compile (#error). In the emulation
 * every helper is a work-group barrier: call them from code that every
 * work-item of the work-group runs.
 *
 * NVIDIA's warps are 32 consecutive local ids of a 1-D work-group, so
 * lane = local id % 32 (get_sub_group_local_id needs cl_khr_subgroups, which
 * NVIDIA's driver need not offer).
 *
 * Compile-time: ELATTN_STORAGE (F16 or BF16), ELATTN_HEAD_DIM (the tile rows'
 * length, a multiple of 16).
 */
#if ELATTN_STORAGE != ELATTN_DTYPE_F16 && ELATTN_STORAGE != ELATTN_DTYPE_BF16
#error "the mma kernels take fp16 or bf16 storage"
#endif
#if defined(ELATTN_NV_PTX) == defined(ELATTN_MMA_EMULATE)
#error "define exactly one of ELATTN_NV_PTX (NVIDIA sm_80+) and ELATTN_MMA_EMULATE"
#endif
#if ELATTN_HEAD_DIM % 16 != 0
#error "the mma kernels take head dims that are multiples of 16"
#endif

#define INLINE static inline __attribute__((always_inline))
#if defined(ELATTN_NV_PTX)
#define UNROLL _Pragma("unroll")
#else
#define UNROLL /* the emulation has barriers in these loops: unrolling only grows the code */
#endif

/* ---- local-memory tiles ----------------------------------------------------
 * Rows of ELATTN_HEAD_DIM 16-bit elements in 16-byte chunks, TILE_ROW_BYTES
 * apart. With the head dim a multiple of 64 the chunk index is XORed with the
 * row's low 3 bits, so the 8 rows one ldmatrix phase reads fall in 8
 * different 16-byte bank groups; other head dims pad a row by one chunk,
 * which does the same (an odd number of chunks per row). */
#if ELATTN_HEAD_DIM % 64 == 0
#define TILE_ROW_BYTES (ELATTN_HEAD_DIM * 2)
INLINE uint toff(int row, int chunk) { return (uint)(row * TILE_ROW_BYTES + ((chunk ^ (row & 7)) << 4)); }
#else
#define TILE_ROW_BYTES (ELATTN_HEAD_DIM * 2 + 16)
INLINE uint toff(int row, int chunk) { return (uint)(row * TILE_ROW_BYTES + (chunk << 4)); }
#endif

/* ---- warp instructions -------------------------------------------------------
 * Every helper takes `xw`, the warp's exchange area (emulation only; unused
 * with PTX), and the lane. Fragments follow the PTX ISA (mma.m16n8k16, .f16 /
 * .bf16 A and B, .f32 C/D): g = lane / 4, t = lane % 4;
 *   A 16x16: a[0] = (row g,   cols 2t, 2t+1), a[1] = (row g+8, cols 2t, 2t+1),
 *            a[2] = (row g,   cols 2t+8, 2t+9), a[3] = (row g+8, cols 2t+8, 2t+9);
 *   B 16x8:  b0 = (rows 2t, 2t+1, col g), b1 = (rows 2t+8, 2t+9, col g);
 *   C 16x8:  c[0], c[1] = (row g, cols 2t, 2t+1), c[2], c[3] = (row g+8, same cols);
 * the lower-indexed element of a pair in the low 16 bits. */
#if defined(ELATTN_NV_PTX)

#if ELATTN_STORAGE == ELATTN_DTYPE_BF16
#define MMA_TYPES "bf16.bf16"
#define CVT_TYPE "bf16x2"
#else
#define MMA_TYPES "f16.f16"
#define CVT_TYPE "f16x2"
#endif

/* d = a b + c; separate outputs and inputs (no read-write constraints). */
INLINE void mma16816(float c[4], const uint a[4], uint b0, uint b1, __local uint *xw, int lane)
{
    float d0, d1, d2, d3;
    __asm__ __volatile__("mma.sync.aligned.m16n8k16.row.col.f32." MMA_TYPES ".f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"
                 : "=f"(d0), "=f"(d1), "=f"(d2), "=f"(d3)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "f"(c[0]), "f"(c[1]),
                   "f"(c[2]), "f"(c[3]));
    c[0] = d0;
    c[1] = d1;
    c[2] = d2;
    c[3] = d3;
}

/* What ldmatrix takes for byte `off` of `base`: its shared-window address
 * (NVIDIA compiles __local to the .shared state space, where a pointer's
 * integer value is that address). */
INLINE uint lds_at(__local const uchar *base, uint off) { return (uint)(size_t)base + off; }

/* x, unknown to the compiler from here on: a value made opaque in a loop is
 * not loop-invariant, so what is computed from it stays in the loop. */
INLINE void opaque(uint *x) { __asm__ __volatile__("" : "+r"(*x)); }

/* Four 8x8 matrices; lanes 8i..8i+7 give the row addresses of matrix i, which
 * lands in r[i] (row lane / 4, elements 2 (lane % 4) and +1). `at` is from
 * lds_at(base, ...). The memory clobber keeps it after the barrier that
 * published the tile. */
INLINE void ldsm_x4(uint r[4], __local const uchar *base, uint at, __local uint *xw, int lane)
{
    uint r0, r1, r2, r3;
    __asm__ __volatile__("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(at)
                 : "memory");
    r[0] = r0;
    r[1] = r1;
    r[2] = r2;
    r[3] = r3;
}

/* The same, each matrix transposed: r[i] holds (rows 2 (lane % 4) and +1, column lane / 4). */
INLINE void ldsm_x4_trans(uint r[4], __local const uchar *base, uint at, __local uint *xw, int lane)
{
    uint r0, r1, r2, r3;
    __asm__ __volatile__("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(at)
                 : "memory");
    r[0] = r0;
    r[1] = r1;
    r[2] = r2;
    r[3] = r3;
}

/* Two floats to a packed pair, round to nearest even; cvt puts its first
 * source in the upper half, so `hi` comes first. */
INLINE uint pack2(float lo, float hi, __local uint *xw, int lane)
{
    uint r;
    __asm__("cvt.rn." CVT_TYPE ".f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

/* 2^x on the MUFU unit (2^-inf = 0). */
INLINE float ex2(float x)
{
    float y;
    __asm__("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

/* ---- asynchronous copies, global to local (cp.async, sm_80+) ----------------
 * cp_async16(q, at, src, valid) starts a 16-byte copy from `src` to the
 * shared address `at` (from lds_at), or with valid 0 fills those 16 bytes
 * with zeros: src-size 0 reads nothing, but `src` must still be a valid
 * global address (pass one inside the tensor). cp_async_commit closes this
 * work-item's copies so far into a group; cp_async_wait(q, N) (N a literal)
 * returns once at most its N newest groups are pending. Both cover only the
 * work-item's own copies: a barrier after the wait publishes them to the
 * work-group. `.cg` caches in L2 only (a K/V row is read once per
 * work-group). `q` is the emulation's queue (CP_ASYNC_QUEUE); with PTX the
 * hardware keeps the groups and it is unused. No register holds the data on
 * its way, unlike a load into registers and a store to local memory. */
typedef int cp_async_q;
#define CP_ASYNC_QUEUE(q, depth, base) cp_async_q q = 0

INLINE void cp_async16(cp_async_q *q, uint at, const __global uint4 *src, int valid)
{
    __asm__ __volatile__("cp.async.cg.shared.global [%0], [%1], 16, %2;"
                         :
                         : "r"(at), "l"((ulong)src), "r"(valid ? 16 : 0)
                         : "memory");
}

INLINE void cp_async_commit(cp_async_q *q) { __asm__ __volatile__("cp.async.commit_group;" ::: "memory"); }

#define cp_async_wait(q, n) __asm__ __volatile__("cp.async.wait_group " #n ";" ::: "memory")

#else /* ELATTN_MMA_EMULATE: the same instructions through local memory */

/* Words of a warp's exchange area: the largest use is mma's 6 per lane. */
#define XW_WORDS (32 * 6)

#if ELATTN_STORAGE == ELATTN_DTYPE_F16
/* fp32 -> fp16 in integer arithmetic (no cl_khr_fp16, and no half and uint views of the same
 * words, which the compiler may assume apart; the other way: elattn_f16_bits_to_float, common.cl).
 * Round to nearest even, as cvt.rn.f16x2.f32. */
INLINE uint float_to_f16(float f)
{
    const uint u = as_uint(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u;  /* NaN */
    if (a >= 0x477ff000u) return sign | 0x7c00u; /* rounds past 65504: inf */
    if (a < 0x38800000u) {                       /* below 2^-14: a subnormal result */
        if (a < 0x33000000u) return sign;        /* below 2^-25: zero */
        const uint m = (a & 0x7fffffu) | 0x800000u;
        const uint shift = 126u - (a >> 23); /* value / 2^-24 = m >> shift, shift in 14..24 */
        uint r = m >> shift;
        const uint rem = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
        if (rem > halfway || (rem == halfway && (r & 1u))) ++r;
        return sign | r;
    }
    uint r = (a - 0x38000000u) >> 13; /* rebias the exponent by 127 - 15 */
    const uint rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r; /* a carry moves into the exponent */
    return sign | r;
}
#endif

INLINE float bits16_to_float(__local uint *xw, int word, int hi)
{
    const uint bits = hi ? xw[word] >> 16 : xw[word] & 0xffffu;
#if ELATTN_STORAGE == ELATTN_DTYPE_BF16
    return as_float(bits << 16);
#else
    return elattn_f16_bits_to_float(bits);
#endif
}

INLINE void mma16816(float c[4], const uint a[4], uint b0, uint b1, __local uint *xw, int lane)
{
    for (int x = 0; x < 4; ++x) xw[lane * 6 + x] = a[x];
    xw[lane * 6 + 4] = b0;
    xw[lane * 6 + 5] = b1;
    barrier(CLK_LOCAL_MEM_FENCE);
    const int g = lane / 4, t = lane % 4;
    float d[4];
    for (int e = 0; e < 4; ++e) {
        const int row = g + 8 * (e / 2), col = 2 * t + (e & 1);
        float acc = c[e];
        for (int kk = 0; kk < 16; ++kk) {
            /* A[row][kk] sits in lane (row % 8) * 4 + (kk % 8) / 2, register (row >= 8) + 2 (kk >= 8);
             * B[kk][col] in lane col * 4 + (kk % 8) / 2, register 4 + (kk >= 8); half kk & 1 */
            const int a_word = ((row % 8) * 4 + (kk % 8) / 2) * 6 + (row >= 8) + 2 * (kk >= 8);
            const int b_word = (col * 4 + (kk % 8) / 2) * 6 + 4 + (kk >= 8);
            acc = fma(bits16_to_float(xw, a_word, kk & 1), bits16_to_float(xw, b_word, kk & 1), acc);
        }
        d[e] = acc;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int e = 0; e < 4; ++e) c[e] = d[e];
}

/* Offsets from base stand for shared addresses. */
INLINE uint lds_at(__local const uchar *base, uint off) { return off; }
INLINE void opaque(uint *x) {}

INLINE void ldsm_x4(uint r[4], __local const uchar *base, uint at, __local uint *xw, int lane)
{
    xw[lane] = at;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = 0; i < 4; ++i) r[i] = *(__local const uint *)(base + xw[8 * i + lane / 4] + 4 * (lane % 4));
    barrier(CLK_LOCAL_MEM_FENCE);
}

INLINE void ldsm_x4_trans(uint r[4], __local const uchar *base, uint at, __local uint *xw, int lane)
{
    xw[lane] = at;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = 0; i < 4; ++i) {
        const uint lo = *(__local const ushort *)(base + xw[8 * i + 2 * (lane % 4)] + 2 * (lane / 4));
        const uint hi = *(__local const ushort *)(base + xw[8 * i + 2 * (lane % 4) + 1] + 2 * (lane / 4));
        r[i] = lo | (hi << 16);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

INLINE uint pack2(float lo, float hi, __local uint *xw, int lane)
{
#if ELATTN_STORAGE == ELATTN_DTYPE_BF16
    return (uint)elattn_float_to_bf16(lo) | ((uint)elattn_float_to_bf16(hi) << 16);
#else
    return float_to_f16(lo) | (float_to_f16(hi) << 16);
#endif
}

INLINE float ex2(float x) { return exp2(x); }

/* cp.async: each work-item queues its copies in private memory and lands them at
 * its wait, as late as the hardware may; until then the destination holds NaN
 * (0xffff, in fp16 and bf16), so a read of a tile before its wait and barrier
 * shows in the result instead of reading the bytes the copy would have put
 * there early. `depth`: the most copies the work-item has pending at once (a
 * queue too short loses the oldest, which then stay NaN); `base`: the local
 * memory that lds_at's offsets are from. */
typedef struct cp_async_q {
    __local uchar *base;
    uint *at;                   /* a ring of `depth` pending copies, oldest at head */
    const __global uint4 **src; /* NULL: zero fill */
    int *group;
    int depth, head, tail, groups;
} cp_async_q;
#define CP_ASYNC_QUEUE(q, depth, base)                                                               \
    uint q##_at_[depth];                                                                             \
    const __global uint4 *q##_src_[depth];                                                           \
    int q##_group_[depth];                                                                           \
    cp_async_q q = {(base), q##_at_, q##_src_, q##_group_, (depth), 0, 0, 0}

INLINE void cp_async16(cp_async_q *q, uint at, const __global uint4 *src, int valid)
{
    *(__local uint4 *)(q->base + at) = (uint4)(0xffffffffu);
    const int s = q->tail++ % q->depth;
    q->at[s] = at;
    q->src[s] = valid ? src : 0;
    q->group[s] = q->groups;
}

INLINE void cp_async_commit(cp_async_q *q) { q->groups++; }

INLINE void cp_async_wait_emu(cp_async_q *q, int pending)
{
    while (q->head < q->tail && q->group[q->head % q->depth] < q->groups - pending) {
        const int s = q->head++ % q->depth;
        *(__local uint4 *)(q->base + q->at[s]) = q->src[s] ? *q->src[s] : (uint4)(0u);
    }
}
#define cp_async_wait(q, n) cp_async_wait_emu(q, n)

#endif

/* The warp's exchange area `xw` that every helper takes: in the emulation this warp's
 * XW_WORDS words of a kernel-scope local array (WARPS, the kernel's warps per work-group,
 * sizes it); with PTX none. Use once in a kernel's body, at its outermost scope. */
#if defined(ELATTN_MMA_EMULATE)
#define MMA_WARP_EXCHANGE(xw, warp)                                                                  \
    __local uint mma_exchange_[WARPS * XW_WORDS];                                                    \
    __local uint *xw = mma_exchange_ + (warp) * XW_WORDS
#else
#define MMA_WARP_EXCHANGE(xw, warp) __local uint *xw = 0
#endif

/* Max and sum over the 4 lanes of a quad: the lanes that hold one mma row. */
INLINE float quad_max(float x, __local uint *xw, int lane)
{
    x = fmax(x, shfl_xor(x, 1, xw, lane));
    return fmax(x, shfl_xor(x, 2, xw, lane));
}
INLINE float quad_sum(float x, __local uint *xw, int lane)
{
    x += shfl_xor(x, 1, xw, lane);
    return x + shfl_xor(x, 2, xw, lane);
}

/*
 * Storage helpers shared by every elattn OpenCL kernel. Prepended after
 * kernels/elattn_spec.h; the host defines ELATTN_STORAGE (an ELATTN_DTYPE_*).
 *
 * Arithmetic is fp32 everywhere: fp16 is read and written with vload_half /
 * vstore_half_rte (core OpenCL C, no cl_khr_fp16 needed), bf16 is kept as
 * ushort and widened by a shift, narrowed with round-to-nearest-even.
 */
#ifndef ELATTN_STORAGE
#error "ELATTN_STORAGE must be defined (ELATTN_DTYPE_F32, _F16 or _BF16)"
#endif

#if ELATTN_STORAGE == ELATTN_DTYPE_F32
typedef float elattn_elem;
#elif ELATTN_STORAGE == ELATTN_DTYPE_F16
typedef half elattn_elem; /* storage only: never used in arithmetic */
#elif ELATTN_STORAGE == ELATTN_DTYPE_BF16
typedef ushort elattn_elem;
#else
#error "unknown ELATTN_STORAGE"
#endif

static inline float elattn_bf16_to_float(ushort u) { return as_float((uint)u << 16); }

/* fp16 bits (the low 16 of h) to fp32 in integer arithmetic: for fp16 data held as integers (no
 * cl_khr_fp16 needed, and no half and uint views of the same words, which the compiler may assume
 * apart). Exact: zero, subnormals, inf and NaN included. */
static inline float elattn_f16_bits_to_float(uint h)
{
    const uint sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) return as_float(sign | as_uint((float)m * 0x1p-24f)); /* zero, subnormal */
    if (e == 31) return as_float(sign | 0x7f800000u | (m << 13));      /* inf, NaN */
    return as_float(sign | ((e + 112u) << 23) | (m << 13));
}

static inline ushort elattn_float_to_bf16(float f)
{
    uint u = as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x0040u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even; carries into the exponent */
    return (ushort)(u >> 16);
}

/* One element at index i. */
static inline float elattn_load(const __global elattn_elem *p, size_t i)
{
#if ELATTN_STORAGE == ELATTN_DTYPE_F32
    return p[i];
#elif ELATTN_STORAGE == ELATTN_DTYPE_F16
    return vload_half(i, p);
#else
    return elattn_bf16_to_float(p[i]);
#endif
}

/* Four consecutive elements starting at index i (i % 4 == 0). */
static inline float4 elattn_load4(const __global elattn_elem *p, size_t i)
{
#if ELATTN_STORAGE == ELATTN_DTYPE_F32
    return vload4(i / 4, p);
#elif ELATTN_STORAGE == ELATTN_DTYPE_F16
    return vload_half4(i / 4, p);
#else
    ushort4 u = vload4(i / 4, p);
    return (float4)(elattn_bf16_to_float(u.x), elattn_bf16_to_float(u.y),
                    elattn_bf16_to_float(u.z), elattn_bf16_to_float(u.w));
#endif
}

static inline void elattn_store(__global elattn_elem *p, size_t i, float x)
{
#if ELATTN_STORAGE == ELATTN_DTYPE_F32
    p[i] = x;
#elif ELATTN_STORAGE == ELATTN_DTYPE_F16
    vstore_half_rte(x, i, p);
#else
    p[i] = elattn_float_to_bf16(x);
#endif
}

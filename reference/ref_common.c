/*
 * Storage dtypes of the reference: exact widening to double and
 * round-to-nearest-even narrowing, written from the IEEE formats rather than
 * through float (double -> float -> half would round twice).
 */
#include <math.h>
#include <string.h>

#include "elattn_ref.h"

/* ---- fp16: 1 sign, 5 exponent (bias 15), 10 mantissa bits ---------------- */
static double half_bits_to_double(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double mag;
    if (exp == 0x1f) mag = mant ? NAN : INFINITY;
    else if (exp == 0) mag = ldexp((double)mant, -24); /* subnormal: mant * 2^-24 */
    else mag = ldexp((double)(mant | 0x400), exp - 25);
    return sign ? -mag : mag;
}

/* Narrowing for a binary format with `mant_bits` stored mantissa bits and
 * exponent bias `bias` (fp16: 10, 15; bf16: 7, 127); returns the bits
 * without the sign. Every finite value is n * quantum with n an integer:
 * quantum = 2^(E - mant_bits) for normal numbers, 2^(1 - bias - mant_bits)
 * below the smallest normal; rint() rounds n to nearest even. A carry out of
 * the mantissa lands in the exponent field, and one out of the largest finite
 * exponent gives exactly the infinity pattern. */
static uint32_t narrow_magnitude(double a, int mant_bits, int bias)
{
    uint32_t inf_bits = (uint32_t)((2 * bias + 1) << mant_bits);
    if (isinf(a)) return inf_bits;
    if (a == 0.0) return 0;
    int e;
    frexp(a, &e); /* a = m * 2^e, m in [0.5, 1): unbiased exponent E = e - 1 */
    int E = e - 1;
    int min_normal_exp = 1 - bias;
    if (E < min_normal_exp) {
        double n = rint(ldexp(a, -(min_normal_exp - mant_bits)));
        return (uint32_t)n; /* n == 2^mant_bits is the smallest normal: right */
    }
    if (E > bias) return inf_bits;
    double n = rint(ldexp(a, -(E - mant_bits))); /* in [2^mant_bits, 2^(mant_bits+1)] */
    return ((uint32_t)(E + bias) << mant_bits) + (uint32_t)n - (1u << mant_bits);
}

static uint16_t double_to_half_bits(double x)
{
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    if (isnan(x)) return (uint16_t)(sign | 0x7e00);
    return (uint16_t)(sign | narrow_magnitude(fabs(x), 10, 15));
}

/* ---- bf16: the upper half of an fp32 ----------------------------------- */
static double bf16_bits_to_double(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return (double)f;
}

static uint16_t double_to_bf16_bits(double x)
{
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    if (isnan(x)) return (uint16_t)(sign | 0x7fc0);
    return (uint16_t)(sign | narrow_magnitude(fabs(x), 7, 127));
}

double elattn_ref_load(elattn_dtype dtype, const void *base, size_t i)
{
    switch (dtype) {
    case ELATTN_F16: return half_bits_to_double(((const uint16_t *)base)[i]);
    case ELATTN_BF16: return bf16_bits_to_double(((const uint16_t *)base)[i]);
    case ELATTN_F32:
    default: return (double)((const float *)base)[i];
    }
}

void elattn_ref_store(elattn_dtype dtype, void *base, size_t i, double value)
{
    switch (dtype) {
    case ELATTN_F16: ((uint16_t *)base)[i] = double_to_half_bits(value); break;
    case ELATTN_BF16: ((uint16_t *)base)[i] = double_to_bf16_bits(value); break;
    case ELATTN_F32:
    default: ((float *)base)[i] = (float)value; break; /* C's conversion rounds to nearest even */
    }
}

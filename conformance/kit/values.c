/* Fast host conversions of the tools (kit_values.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kit_rng.h"
#include "kit_values.h"

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint16_t f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* NaN stays NaN */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

static uint16_t f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00u;  /* NaN */
    if (ax >= 0x477ff000u) return sign | 0x7c00u; /* rounds past 65504: inf */
    if (ax < 0x38800000u) {                       /* below 2^-14: subnormal or zero */
        uint32_t m = (uint32_t)lrintf(bits_f32(ax) * 16777216.0f); /* units of 2^-24, ties to even */
        return sign | (uint16_t)m;
    }
    uint32_t h = ((((ax >> 23) - 127u + 15u)) << 10) | ((ax & 0x7fffffu) >> 13);
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return sign | (uint16_t)h;
}

static float bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        float v = (float)m * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13));
    return bits_f32(sign | ((e - 15u + 127u) << 23) | (m << 13));
}

void kit_store_value(elattn_dtype dtype, void *base, size_t i, float v)
{
    if (dtype == ELATTN_BF16) ((uint16_t *)base)[i] = f32_to_bf16(v);
    else if (dtype == ELATTN_F16) ((uint16_t *)base)[i] = f32_to_f16(v);
    else ((float *)base)[i] = v;
}

float kit_load_value(elattn_dtype dtype, const void *base, size_t i)
{
    if (dtype == ELATTN_BF16) return bf16_to_f32(((const uint16_t *)base)[i]);
    if (dtype == ELATTN_F16) return f16_to_f32(((const uint16_t *)base)[i]);
    return ((const float *)base)[i];
}

int kit_check_conversions(const char *tool)
{
    enum { N = 65536 };
    static uint16_t bits[N], lib16[N];
    static float lib32[N], vals[N];
    for (int dt = ELATTN_F16; dt <= ELATTN_BF16; ++dt) {
        const elattn_dtype dtype = (elattn_dtype)dt;
        for (int i = 0; i < N; ++i) bits[i] = (uint16_t)i;
        if (elattn_convert(ELATTN_F32, lib32, dtype, bits, N) != ELATTN_SUCCESS) return -1;
        for (int i = 0; i < N; ++i) {
            float mine = kit_load_value(dtype, bits, (size_t)i);
            if (isnan(mine) ? !isnan(lib32[i]) : f32_bits(mine) != f32_bits(lib32[i])) {
                fprintf(stderr, "%s: %s 0x%04x widens to %g here, %g in elattn_convert\n", tool,
                        elattn_dtype_name(dtype), i, (double)mine, (double)lib32[i]);
                return -1;
            }
        }
        kit_rng r;
        kit_rng_seed(&r, 2);
        for (int i = 0; i < N; ++i) {
            /* Random bit patterns over the whole range, plus exact halfway cases. */
            uint32_t u = (uint32_t)(kit_rng_next(&r) >> 32);
            if (i % 4 == 0) u = (u & 0xffffe000u) | 0x1000u; /* f16 tie */
            if (i % 4 == 1) u = (u & 0xffff0000u) | 0x8000u; /* bf16 tie */
            if (i % 8 == 2) u = (u & 0x807fffffu) | (uint32_t)(100 + i % 30) << 23; /* near f16's subnormals */
            vals[i] = bits_f32(u);
        }
        if (elattn_convert(dtype, lib16, ELATTN_F32, vals, N) != ELATTN_SUCCESS) return -1;
        for (int i = 0; i < N; ++i) {
            uint16_t mine = dtype == ELATTN_BF16 ? f32_to_bf16(vals[i]) : f32_to_f16(vals[i]);
            if (!isnan(vals[i]) && mine != lib16[i]) {
                fprintf(stderr, "%s: %.9g narrows to %s 0x%04x here, 0x%04x in elattn_convert\n", tool,
                        (double)vals[i], elattn_dtype_name(dtype), mine, lib16[i]);
                return -1;
            }
        }
    }
    return 0;
}

/* The tools' deterministic generator (kit_rng.h). */
#include <math.h>

#include "kit_rng.h"

#define GOLDEN_GAMMA 0x9E3779B97F4A7C15ull

/* splitmix64's output function: a bijective mix of all 64 bits. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void kit_rng_seed(kit_rng *r, uint64_t seed) { r->state = seed ^ GOLDEN_GAMMA; }

void kit_rng_seed_stream(kit_rng *r, uint64_t seed, uint64_t stream)
{
    kit_rng_seed(r, seed ^ mix64(stream + GOLDEN_GAMMA));
}

uint64_t kit_rng_next(kit_rng *r) { return mix64(r->state += GOLDEN_GAMMA); }

double kit_rng_uniform(kit_rng *r) { return (double)(kit_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

double kit_rng_normal(kit_rng *r)
{
    double u1 = kit_rng_uniform(r), u2 = kit_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300; /* log(0) */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

float kit_rng_unit(kit_rng *r)
{
    return ((float)(kit_rng_next(r) >> 40) * (1.0f / 16777216.0f) - 0.5f) * 3.4641016f;
}

uint64_t kit_hash_name(const char *s)
{
    /* FNV-1a with FNV's prime; the offset basis is FNV's short of its last
     * digit, kept as it is: every conformance case's data derives from it. */
    uint64_t h = 1469598103934665603ull;
    for (; *s; ++s) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

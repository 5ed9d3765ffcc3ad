/*
 * Deterministic data for the tools (elattn-conformance, elattn-bench): one
 * splitmix64 stream. A seed gives the same values on every machine, so a
 * conformance case keeps its data and a benchmark its inputs across runs.
 */
#ifndef ELATTN_KIT_RNG_H
#define ELATTN_KIT_RNG_H

#include <stdint.h>

typedef struct kit_rng {
    uint64_t state;
} kit_rng;

void kit_rng_seed(kit_rng *r, uint64_t seed);
/* Independent streams of one seed (per tensor, per input set, ...). */
void kit_rng_seed_stream(kit_rng *r, uint64_t seed, uint64_t stream);
uint64_t kit_rng_next(kit_rng *r);
double kit_rng_uniform(kit_rng *r); /* [0, 1), 53 bits */
double kit_rng_normal(kit_rng *r);  /* N(0, 1) */
/* Uniform with unit variance in [-sqrt(3), sqrt(3)), 24 bits: cheaper than a
 * normal sample where the shape of the distribution does not matter. */
float kit_rng_unit(kit_rng *r);

/* A seed from a name (FNV-1a): a case keeps its data when others are added. */
uint64_t kit_hash_name(const char *s);

#endif /* ELATTN_KIT_RNG_H */

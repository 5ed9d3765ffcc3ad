/*
 * The split-KV policy of decode (SPEC.md section 9): how many chunks each (sequence, KV head)
 * of a run is cut into. The one place it lives; api/src/decode.c calls it, and
 * api/tests/decode_policy_check.c checks its bounds and its choices on the shapes that broke
 * earlier versions.
 */
#ifndef ELATTN_DECODE_POLICY_H
#define ELATTN_DECODE_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* How a family's steps are modelled (decode_policy.c says what each model assumes); the backend's
 * decode_plan says which fits the family it chose (elattn_decode_setup.model). */
typedef enum elattn_decode_model {
    ELATTN_DECODE_MODEL_WAVES = 0,    /* whole waves of the longest items: any family */
    ELATTN_DECODE_MODEL_BANDWIDTH = 1, /* fitted to the CUDA backend's tensor-core family on an H100 */
    ELATTN_DECODE_MODEL_GRID = 2       /* fitted to the OpenCL tiled family's grid on an H100; a family that
                                        * takes it sizes its buffers per run (its cut chunks may reach
                                        * DECODE_GRID_BOUND x target: elattn_decode_policy_bounds) */
} elattn_decode_model;

typedef struct elattn_decode_policy {
    int num_splits; /* elattn_decode_desc.num_splits: every head cut into that many (0: the policy picks) */
    int target;     /* work items the device keeps resident: DECODE_CHUNKS_PER_CU x compute units */
    int splits;     /* the most chunks of one (sequence, head) */
    int model;      /* elattn_decode_model: ELATTN_DECODE_MODEL_WAVES until set */
    int saturating; /* the bandwidth model's S from the device's peak bandwidth (0: its default) */
} elattn_decode_policy;

/* A plan's policy: the device's compute units (< 1: taken as 1), the cache's max_tokens, desc.num_splits. */
void elattn_decode_policy_init(elattn_decode_policy *p, int compute_units, int max_tokens, int num_splits);

/* The model the plan's family follows (the grid model's bounds are wider: set it before asking),
 * and the device's peak memory bandwidth in GB/s where the backend knows it (0: unknown). */
void elattn_decode_policy_set_model(elattn_decode_policy *p, int model, double peak_gbps);

/* What a plan allocates for, for `heads` = max_batch x Hkv entries: the most chunks of a run
 * (sum of chunks[]) and the most chunks of its cut heads (those with chunks > 1). */
void elattn_decode_policy_bounds(const elattn_decode_policy *p, size_t heads, size_t *max_chunks,
                                 size_t *max_split_chunks);

/* Chunks of every (sequence, head) entry of a run, from its occupied slots (slots[e] >= 0);
 * returns the sum over the entries cut into more than one chunk (within the bounds above). */
size_t elattn_decode_policy_chunks(const elattn_decode_policy *p, const int64_t *slots, size_t entries,
                                   int32_t *chunks);

#endif /* ELATTN_DECODE_POLICY_H */

/*
 * What the decode tests (decode_check.c, decode_batch_check.c) share: random values in a dtype, the
 * host's copy of every K/V row a sequence was ever given, and the oracle of a decode step
 * (kernels/SPEC.md section 9): the last n[s] queries of each sequence over its whole, un-evicted
 * history, causal, BLOCK_SPARSE as FULL, by elattn_ref_attention. It never sees the cache.
 * Include after api_test.h and elattn_ref.h.
 */
#ifndef ELATTN_DECODE_ORACLE_H
#define ELATTN_DECODE_ORACLE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t oracle_rng = 0x9E3779B97F4A7C15ull;
static double urand(void)
{
    oracle_rng ^= oracle_rng << 13, oracle_rng ^= oracle_rng >> 7, oracle_rng ^= oracle_rng << 17;
    return (double)(oracle_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* Random values stored in dtype (the oracle reads the same stored values). */
static void fill(elattn_dtype dt, void *dst, size_t n)
{
    for (size_t i = 0; i < n; ++i) elattn_ref_store(dt, dst, i, urand());
}

typedef struct history {
    unsigned char *k, *v; /* [len][Hkv][D] of dtype, every row ever appended */
    int len;
} history;

/* The shape of a decode test: heads, head dim, the cache's sink, local and max_new_tokens. */
typedef struct decode_shape {
    int hq, hkv, d, sink, local, max_new;
} decode_shape;

/* O and LSE of the step's queries q [sum n][Hq][D] (n[s] per sequence, the last n[s] positions of
 * history h[s]); modes [nseq][Hkv]. */
static void decode_oracle(const decode_shape *sh, elattn_dtype dt, int nseq, const int32_t *n, const history *h,
                          const int32_t *modes, const void *q, void *o_ref, float *lse_ref)
{
    const size_t row = (size_t)sh->hkv * sh->d * elattn_dtype_size(dt);
    int32_t *cu_q = calloc((size_t)nseq + 1, sizeof(int32_t)), *cu_k = calloc((size_t)nseq + 1, sizeof(int32_t)),
            *ref_modes = malloc(sizeof(int32_t) * (size_t)nseq * sh->hkv);
    int max_len = 0;
    for (int s = 0; s < nseq; ++s) {
        cu_q[s + 1] = cu_q[s] + n[s], cu_k[s + 1] = cu_k[s] + h[s].len;
        if (h[s].len > max_len) max_len = h[s].len;
        for (int hk = 0; hk < sh->hkv; ++hk) {
            const int m = modes[s * sh->hkv + hk];
            ref_modes[s * sh->hkv + hk] = m == ELATTN_BLOCK_SPARSE ? ELATTN_FULL : m;
        }
    }
    unsigned char *kall = malloc(row * cu_k[nseq]), *vall = malloc(row * cu_k[nseq]);
    for (int s = 0; s < nseq; ++s) {
        memcpy(kall + row * cu_k[s], h[s].k, row * h[s].len);
        memcpy(vall + row * cu_k[s], h[s].v, row * h[s].len);
    }
    elattn_attn_params p = {.head_dim = sh->d, .num_q_heads = sh->hq, .num_kv_heads = sh->hkv,
                            .group = sh->hq / sh->hkv, .batch = nseq, .max_seqlen_q = sh->max_new,
                            .max_seqlen_k = max_len, .causal = 1, .scale = 1.0f / sqrtf((float)sh->d),
                            .sink = sh->sink, .local = sh->local, .block_size = 16, .write_lse = 1, .dtype = dt};
    p.scale_log2 = p.scale * 1.4426950408889634f;
    elattn_params_packed_layout(&p);
    TRY(elattn_ref_attention(&p, q, kall, vall, o_ref, lse_ref, cu_q, cu_k, ref_modes, NULL, NULL));
    free(kall), free(vall), free(cu_q), free(cu_k), free(ref_modes);
}

#endif /* ELATTN_DECODE_ORACLE_H */

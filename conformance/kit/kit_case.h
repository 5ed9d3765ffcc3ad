/*
 * What one attention call is, for the tools: the shape every elattn_*_desc
 * is made from, the lengths of each batch element and the mode of each
 * (element, KV head). elattn-conformance's cases and elattn-bench's shapes
 * hold one and add what only they need.
 */
#ifndef ELATTN_KIT_CASE_H
#define ELATTN_KIT_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "elattn/elattn.h"
#include "kit_rng.h"

#define KIT_MAX_BATCH 4
#define KIT_MAX_MODES 1024 /* batch x KV heads */

typedef struct kit_case {
    elattn_dtype dtype; /* of Q, K, V and O (the router's keys) */
    int head_dim, hq, hkv, batch;
    int len_q[KIT_MAX_BATCH], len_k[KIT_MAX_BATCH];
    int causal;
    int sink, local;             /* STREAMING heads */
    int block;                   /* BLOCK_SPARSE mask block, XAttention's block */
    int32_t modes[KIT_MAX_MODES]; /* [batch][hkv] elattn_mode */
} kit_case;

/* cu_seqlens of `batch` lengths (batch + 1 entries) and the longest length,
 * at least 1 (a descriptor takes no maximum of 0). */
void kit_seqlens(int batch, const int *len, int32_t *cu, int *max_len);
/* The same for a case's query and key lengths. */
void kit_case_seqlens(const kit_case *c, int32_t *cu_q, int32_t *cu_k, int *max_q, int *max_k);
size_t kit_case_q_elems(const kit_case *c);  /* Q and O: total_q x Hq x D */
size_t kit_case_kv_elems(const kit_case *c); /* K and V: total_k x Hkv x D */

/* The descriptors of the case (scale 0: 1/sqrt(D)). */
elattn_attn_desc kit_case_attn_desc(const kit_case *c, int write_lse);
elattn_xattn_desc kit_case_xattn_desc(const kit_case *c, int stride);

/* Mode tables. In every element, KV heads [0, n_first) get `first` and the
 * others `rest`: one contiguous range per mode, as a mix of a retrieval and
 * a sparse mode is laid out. */
void kit_case_split_modes(kit_case *c, elattn_mode first, int n_first, elattn_mode rest);
/* Entry e of the table gets mode e % 3: all three modes in one call. */
void kit_case_cycle_modes(kit_case *c);
int kit_case_count_mode(const kit_case *c, elattn_mode mode); /* entries of that mode */

/* n values drawn from N(0, sigma^2), stored in `dtype` at dst (rounded by
 * elattn_convert); `rounded` (may be NULL, else n floats) gets them back as
 * stored. */
elattn_status kit_random_tensor(kit_rng *r, elattn_dtype dtype, size_t n, double sigma, void *dst, float *rounded);

#endif /* ELATTN_KIT_CASE_H */

/* The tools' case model (kit_case.h). */
#include "kit_case.h"

void kit_seqlens(int batch, const int *len, int32_t *cu, int *max_len)
{
    *max_len = 1;
    cu[0] = 0;
    for (int b = 0; b < batch; ++b) {
        cu[b + 1] = cu[b] + len[b];
        if (len[b] > *max_len) *max_len = len[b];
    }
}

void kit_case_seqlens(const kit_case *c, int32_t *cu_q, int32_t *cu_k, int *max_q, int *max_k)
{
    kit_seqlens(c->batch, c->len_q, cu_q, max_q);
    kit_seqlens(c->batch, c->len_k, cu_k, max_k);
}

size_t kit_case_q_elems(const kit_case *c)
{
    size_t total = 0;
    for (int b = 0; b < c->batch; ++b) total += (size_t)c->len_q[b];
    return total * (size_t)c->hq * (size_t)c->head_dim;
}

size_t kit_case_kv_elems(const kit_case *c)
{
    size_t total = 0;
    for (int b = 0; b < c->batch; ++b) total += (size_t)c->len_k[b];
    return total * (size_t)c->hkv * (size_t)c->head_dim;
}

/* The descriptors' maxima: the longest lengths, at least 1. */
static void longest(const kit_case *c, int *max_q, int *max_k)
{
    int32_t cu_q[KIT_MAX_BATCH + 1], cu_k[KIT_MAX_BATCH + 1];
    kit_case_seqlens(c, cu_q, cu_k, max_q, max_k);
}

elattn_attn_desc kit_case_attn_desc(const kit_case *c, int write_lse)
{
    elattn_attn_desc d = {
        .struct_size = sizeof(elattn_attn_desc),
        .dtype = c->dtype, .head_dim = c->head_dim, .num_q_heads = c->hq, .num_kv_heads = c->hkv,
        .batch = c->batch, .causal = c->causal, .scale = 0.0f, .sink = c->sink, .local = c->local,
        .block_size = c->block, .write_lse = write_lse,
    };
    longest(c, &d.max_seqlen_q, &d.max_seqlen_k);
    return d;
}

elattn_xattn_desc kit_case_xattn_desc(const kit_case *c, int stride)
{
    elattn_xattn_desc d = {
        .struct_size = sizeof(elattn_xattn_desc),
        .dtype = c->dtype, .head_dim = c->head_dim, .num_q_heads = c->hq, .num_kv_heads = c->hkv,
        .batch = c->batch, .causal = c->causal, .scale = 0.0f, .stride = stride, .block_size = c->block,
    };
    longest(c, &d.max_seqlen_q, &d.max_seqlen_k);
    return d;
}

void kit_case_split_modes(kit_case *c, elattn_mode first, int n_first, elattn_mode rest)
{
    for (int b = 0; b < c->batch; ++b)
        for (int h = 0; h < c->hkv; ++h) c->modes[b * c->hkv + h] = (int32_t)(h < n_first ? first : rest);
}

void kit_case_cycle_modes(kit_case *c)
{
    for (int e = 0; e < c->batch * c->hkv; ++e) c->modes[e] = e % 3;
}

int kit_case_count_mode(const kit_case *c, elattn_mode mode)
{
    int n = 0;
    for (int e = 0; e < c->batch * c->hkv; ++e) n += c->modes[e] == (int32_t)mode;
    return n;
}

elattn_status kit_random_tensor(kit_rng *r, elattn_dtype dtype, size_t n, double sigma, void *dst, float *rounded)
{
    enum { CHUNK = 4096 }; /* converted a chunk at a time: no allocation */
    float v[CHUNK];
    const size_t es = elattn_dtype_size(dtype);
    for (size_t at = 0; at < n; at += CHUNK) {
        const size_t m = n - at < CHUNK ? n - at : CHUNK;
        void *stored = (char *)dst + at * es;
        for (size_t i = 0; i < m; ++i) v[i] = (float)(sigma * kit_rng_normal(r));
        elattn_status st = elattn_convert(dtype, stored, ELATTN_F32, v, m);
        if (st == ELATTN_SUCCESS && rounded) st = elattn_convert(ELATTN_F32, rounded + at, dtype, stored, m);
        if (st != ELATTN_SUCCESS) return st;
    }
    return ELATTN_SUCCESS;
}

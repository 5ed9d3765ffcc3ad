/*
 * The inputs of a shape: the input sets rotated between runs (as many as
 * memory and --rotate-mib allow), structured or random Q, K and V.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "kit_rng.h"
#include "kit_values.h"

void init_shape(shape *sh, const config *c, elattn_dtype dtype, int head_dim, int seqlen)
{
    memset(sh, 0, sizeof *sh);
    kit_case *call = &sh->call;
    call->dtype = dtype, call->head_dim = head_dim, call->hq = c->hq, call->hkv = c->hkv, call->batch = 1;
    call->len_q[0] = call->len_k[0] = seqlen;
    call->causal = c->causal, call->sink = c->sink, call->local = c->local, call->block = c->blocks.v[0];
    int max_q, max_k;
    kit_case_seqlens(call, sh->cu_q, sh->cu_k, &max_q, &max_k);
    sh->es = elattn_dtype_size(dtype);
    sh->q_bytes = kit_case_q_elems(call) * sh->es;
    sh->kv_bytes = kit_case_kv_elems(call) * sh->es;
}

enum { TENSOR_Q, TENSOR_K, TENSOR_V };

/* Fills one [S][H][D] tensor. Structured Q and K carry, in their first D/2
 * dimensions, the same rotation e^{i w_f t} for every head (RoPE-like
 * frequencies w_f = 10000^(-f/(D/4))), so q.k peaks at |i - j| = 0 with a
 * logit of about 12 and decays with distance, as attention in a trained model
 * does; the other dimensions are noise. V, and everything with --inputs
 * random, is i.i.d. noise with unit variance. */
static elattn_status fill_tensor(const config *c, elattn_buffer *buf, const shape *sh, int heads, int tensor,
                                 int set)
{
    const int D = sh->call.head_dim, S = sh->call.len_q[0], half = D / 2, nfreq = D / 4;
    const size_t row_elems = (size_t)heads * D, row_bytes = row_elems * sh->es;
    size_t chunk = (4u << 20) / row_bytes;
    if (chunk < 1) chunk = 1;
    void *host = malloc(chunk * row_bytes);
    double *inv_freq = malloc(sizeof(double) * (size_t)nfreq);
    float *rot = malloc(sizeof(float) * (size_t)half);
    if (!host || !inv_freq || !rot) {
        free(host), free(inv_freq), free(rot);
        return ELATTN_ERROR_OUT_OF_MEMORY;
    }
    for (int f = 0; f < nfreq; ++f) inv_freq[f] = pow(10000.0, -(double)f / nfreq);
    const int positional = c->structured && tensor != TENSOR_V;
    const float amp = (float)sqrt(48.0 / sqrt((double)D)); /* amp^2 * (D/4) / sqrt(D) = 12 */
    kit_rng r;
    kit_rng_seed_stream(&r, c->seed, ((uint64_t)set << 8) ^ ((uint64_t)tensor << 4) ^ ((uint64_t)S << 20) ^
                                         (uint64_t)D << 52);
    elattn_status st = ELATTN_SUCCESS;
    for (size_t t0 = 0; t0 < (size_t)S && st == ELATTN_SUCCESS; t0 += chunk) {
        size_t n = (size_t)S - t0 < chunk ? (size_t)S - t0 : chunk;
        for (size_t t = 0; t < n; ++t) {
            if (positional)
                for (int f = 0; f < nfreq; ++f) {
                    double th = (double)(t0 + t) * inv_freq[f];
                    rot[2 * f] = amp * (float)cos(th);
                    rot[2 * f + 1] = amp * (float)sin(th);
                }
            size_t base = t * row_elems;
            for (int h = 0; h < heads; ++h)
                for (int d = 0; d < D; ++d) {
                    float x = kit_rng_unit(&r);
                    if (positional && d < half) x = rot[d] + 0.25f * x;
                    kit_store_value(sh->call.dtype, host, base + (size_t)h * D + (size_t)d, x);
                }
        }
        st = elattn_buffer_upload(buf, t0 * row_bytes, host, n * row_bytes, NULL);
    }
    free(host), free(inv_freq), free(rot);
    return st;
}

void free_shape(shape *sh)
{
    for (int s = 0; s < MAX_SETS; ++s) {
        elattn_buffer_free(sh->q[s]), elattn_buffer_free(sh->k[s]);
        elattn_buffer_free(sh->v[s]), elattn_buffer_free(sh->o[s]);
        sh->q[s] = sh->k[s] = sh->v[s] = sh->o[s] = NULL;
    }
}

elattn_status make_shape(const config *c, bench_dev *bd, shape *sh, char *why, size_t why_n)
{
    const size_t set_bytes = 2 * sh->q_bytes + 2 * sh->kv_bytes;
    /* One more set's worth for serial dispatch's gathered copies, plus masks. */
    const double mem = (double)bd->info.memory_bytes, usable = 0.85 * mem;
    int nsets = (int)ceil(c->rotate_mib * 1048576.0 / (double)set_bytes);
    if (nsets < 1) nsets = 1;
    if (nsets > MAX_SETS) nsets = MAX_SETS;
    if (mem > 0)
        while (nsets > 1 && (double)(nsets + 1) * set_bytes > usable) --nsets;
    if (mem > 0 && 2.0 * set_bytes > usable) {
        snprintf(why, why_n, "needs %.1f GiB, the device has %.1f GiB", 2.0 * set_bytes / 1073741824.0,
                 mem / 1073741824.0);
        return ELATTN_ERROR_OUT_OF_MEMORY;
    }
    sh->nsets = nsets;
    elattn_status st = ELATTN_SUCCESS;
    for (int s = 0; s < nsets && st == ELATTN_SUCCESS; ++s) {
        if ((st = elattn_buffer_alloc(bd->dev, sh->q_bytes, &sh->q[s])) ||
            (st = elattn_buffer_alloc(bd->dev, sh->kv_bytes, &sh->k[s])) ||
            (st = elattn_buffer_alloc(bd->dev, sh->kv_bytes, &sh->v[s])) ||
            (st = elattn_buffer_alloc(bd->dev, sh->q_bytes, &sh->o[s])))
            break;
        if ((st = fill_tensor(c, sh->q[s], sh, sh->call.hq, TENSOR_Q, s)) ||
            (st = fill_tensor(c, sh->k[s], sh, sh->call.hkv, TENSOR_K, s)) ||
            (st = fill_tensor(c, sh->v[s], sh, sh->call.hkv, TENSOR_V, s)) ||
            (st = elattn_buffer_fill(sh->o[s], 0, 0, sh->q_bytes, bd->stream)))
            break;
    }
    if (st != ELATTN_SUCCESS) {
        snprintf(why, why_n, "making inputs: %s: %s", elattn_status_string(st), elattn_last_error());
        free_shape(sh);
    }
    return st;
}


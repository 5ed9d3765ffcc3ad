/*
 * Router cases: logits within conf_router_logit_tol of the reference's, and
 * the same decision per (element, KV head) except where the reference's two
 * logits are closer than the logits' own tolerance allows to tell apart.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

enum { W_TASK_W1, W_TASK_B1, W_TASK_W2, W_TASK_B2, W_HEAD_W1, W_HEAD_B1, W_HEAD_W2, W_HEAD_B2, W_HEAD_W3, W_HEAD_B3, W_COUNT };

struct router_oracle {
    elattn_router_desc desc;
    int total;
    int32_t cu[KIT_MAX_BATCH + 1];
    void *keys;
    size_t keys_bytes;
    float *w[W_COUNT];
    size_t w_floats[W_COUNT];
    float *logits; /* reference [batch][Hkv][2] */
    int32_t *modes;
};

/* use_device_meta: the engine's path, the key lengths from an attention batch and the modes written to a
 * device buffer (a guarded one, poisoned: an entry left unwritten is no mode) instead of the host table. */
static int run_router(const router_oracle *o, elattn_device *dev, const char *forced, int use_device_meta,
                      float *logits, int32_t *modes, int *guard_ok, char *kernel, size_t kernel_n, case_result *r)
{
    const elattn_plan_options opt = {.struct_size = sizeof(elattn_plan_options), .kernel = forced};
    elattn_router_plan *plan = NULL;
    elattn_buffer *keys = NULL, *w[W_COUNT] = {0}, *ws = NULL;
    lengths_batch lengths = {0};
    kit_guarded out = {0}, modes_out = {0};
    size_t entries = (size_t)o->desc.batch * o->desc.num_kv_heads;
    elattn_status st;
    int ran = 0;
    if ((st = elattn_router_plan_create(dev, &o->desc, &opt, &plan)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "plan");
        return 0;
    }
    snprintf(kernel, kernel_n, "%s", elattn_router_plan_kernel_name(plan));
    size_t ws_bytes = elattn_router_plan_workspace_size(plan);
    st = upload_new(dev, o->keys, o->keys_bytes, &keys);
    for (int i = 0; i < W_COUNT && !st; ++i) st = upload_new(dev, o->w[i], o->w_floats[i] * sizeof(float), &w[i]);
    if (!st && ws_bytes) st = elattn_buffer_alloc(dev, ws_bytes, &ws);
    if (!st) st = kit_guarded_alloc(dev, entries * 2 * sizeof(float), &out);
    if (!st && use_device_meta) {
        const elattn_router_desc *d = &o->desc;
        st = lengths_batch_make(dev, d->key_dtype, d->num_kv_heads, d->batch, d->max_seqlen, d->max_seqlen, o->cu, o->cu,
                                &lengths);
        if (!st) st = kit_guarded_alloc(dev, entries * sizeof(int32_t), &modes_out);
    }
    if (st) {
        result_from_status(r, st, "buffers");
        goto done;
    }
    for (size_t i = 0; i < entries; ++i) modes[i] = -7; /* must be overwritten */
    elattn_router_args args = {
        .struct_size = sizeof(elattn_router_args),
        .keys = keys, .cu_seqlens = o->cu,
        .weights = {w[W_TASK_W1], w[W_TASK_B1], w[W_TASK_W2], w[W_TASK_B2], w[W_HEAD_W1], w[W_HEAD_B1],
                    w[W_HEAD_W2], w[W_HEAD_B2], w[W_HEAD_W3], w[W_HEAD_B3]},
        .logits = out.view, .modes = modes, .workspace = ws,
    };
    if (lengths.batch)
        args.cu_seqlens = NULL, args.lengths = lengths.batch, args.modes = NULL, args.modes_buffer = modes_out.view;
    if ((st = elattn_router_run(plan, NULL, &args)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "run");
        goto done;
    }
    long long hit = 0;
    if ((st = kit_guarded_read(&out, logits, guard_ok, &hit)) != ELATTN_SUCCESS) {
        result_from_status(r, st, "download");
        goto done;
    }
    if (!*guard_ok) result_fail(r, "guard bytes around the logits overwritten (byte %lld)", hit);
    if (lengths.batch) {
        int modes_ok = 1;
        if ((st = kit_guarded_read(&modes_out, modes, &modes_ok, &hit)) != ELATTN_SUCCESS) {
            result_from_status(r, st, "download");
            goto done;
        }
        if (!modes_ok) result_fail(r, "guard bytes around modes_buffer overwritten (byte %lld)", hit);
        *guard_ok = *guard_ok && modes_ok;
    }
    ran = 1;
done:
    lengths_batch_free(&lengths);
    kit_guarded_free(&modes_out);
    kit_guarded_free(&out);
    elattn_buffer_free(ws);
    for (int i = 0; i < W_COUNT; ++i) elattn_buffer_free(w[i]);
    elattn_buffer_free(keys);
    elattn_router_plan_destroy(plan);
    return ran;
}

static float *random_weights(kit_rng *rng, size_t n, double sigma)
{
    float *w = xmalloc(sizeof(float) * n);
    for (size_t i = 0; i < n; ++i) w[i] = (float)(sigma * kit_rng_normal(rng));
    return w;
}

router_oracle *router_oracle_make(const conf_case *c, elattn_device *ref, char *why, size_t n)
{
    router_oracle *o = xcalloc(1, sizeof *o);
    kit_rng rng;
    kit_rng_seed(&rng, c->seed);
    int max_len = 1;
    for (int b = 0; b < c->call.batch; ++b) {
        o->cu[b + 1] = o->cu[b] + c->call.len_k[b];
        if (c->call.len_k[b] > max_len) max_len = c->call.len_k[b];
    }
    o->total = o->cu[c->call.batch];
    o->desc = (elattn_router_desc){
        .struct_size = sizeof(elattn_router_desc),
        .key_dtype = c->call.dtype, .head_dim = c->call.head_dim, .hidden = c->hidden, .num_kv_heads = c->call.hkv,
        .batch = c->call.batch, .max_seqlen = max_len, .retrieval_mode = c->retrieval, .sparse_mode = c->sparse,
    };
    size_t D = (size_t)c->call.head_dim, H = (size_t)c->hidden;
    /* Keys: noise around a per-(element, head) mean, so that heads pool to
     * different vectors and get different decisions. */
    size_t nk = (size_t)o->total * c->call.hkv * D;
    float *k = xmalloc(sizeof(float) * (nk + 1));
    float *mean = xmalloc(sizeof(float) * D);
    for (int b = 0; b < c->call.batch; ++b)
        for (int h = 0; h < c->call.hkv; ++h) {
            for (size_t i = 0; i < D; ++i) mean[i] = (float)kit_rng_normal(&rng);
            for (int t = 0; t < c->call.len_k[b]; ++t)
                for (size_t i = 0; i < D; ++i)
                    k[((size_t)(o->cu[b] + t) * c->call.hkv + h) * D + i] = (float)(mean[i] + kit_rng_normal(&rng));
        }
    o->keys_bytes = nk * elattn_dtype_size(c->call.dtype);
    o->keys = xmalloc(o->keys_bytes + 1);
    elattn_convert(c->call.dtype, o->keys, ELATTN_F32, k, nk);
    free(k);
    free(mean);
    /* Weights scaled by 1/sqrt(fan_in) keep every layer's output O(1). */
    const size_t shapes[W_COUNT][2] = {{H, D}, {H, 1}, {D, H}, {D, 1}, {H, D}, {H, 1}, {D, H}, {D, 1}, {2, D}, {2, 1}};
    for (int i = 0; i < W_COUNT; ++i) {
        o->w_floats[i] = shapes[i][0] * shapes[i][1];
        double sigma = shapes[i][1] == 1 ? 0.1 : 1.0 / sqrt((double)shapes[i][1]);
        o->w[i] = random_weights(&rng, o->w_floats[i], sigma);
    }
    size_t entries = (size_t)c->call.batch * c->call.hkv;
    o->logits = xmalloc(sizeof(float) * entries * 2);
    o->modes = xmalloc(sizeof(int32_t) * entries);
    case_result r;
    memset(&r, 0, sizeof r);
    int guard_ok = 0;
    char kernel[96];
    if (!run_router(o, ref, NULL, 0, o->logits, o->modes, &guard_ok, kernel, sizeof kernel, &r) || r.status != ST_PASS) {
        snprintf(why, n, "reference run: %s", r.detail);
        router_oracle_free(o);
        return NULL;
    }
    for (size_t i = 0; i < 2 * entries; ++i)
        if (!isfinite(o->logits[i])) {
            snprintf(why, n, "bad case: the reference's logit %zu is not finite", i);
            router_oracle_free(o);
            return NULL;
        }
    return o;
}

void router_oracle_check(const conf_case *c, const router_oracle *o, const conf_target *t, case_result *r)
{
    size_t entries = (size_t)c->call.batch * c->call.hkv;
    float *logits = xmalloc(sizeof(float) * entries * 2);
    int32_t *modes = xmalloc(sizeof(int32_t) * entries);
    int guard_ok = 0;
    if (!run_router(o, t->dev, t->kernel, c->device_meta, logits, modes, &guard_ok, r->kernel, sizeof r->kernel, r)) {
        r->guard_ok = -1;
        goto done;
    }
    r->guard_ok = guard_ok;
    double err2 = 0, ref2 = 0, max_err = 0;
    size_t bad_logits = 0, nan_logits = 0, bad_modes = 0, inconsistent = 0, differ = 0, tolerated = 0;
    for (size_t e = 0; e < entries; ++e) {
        double tie = 0;
        for (int j = 0; j < 2; ++j) {
            double a = logits[2 * e + j], b = o->logits[2 * e + j];
            double tol = conf_router_logit_tol * fmax(1.0, fabs(b));
            tie += tol;
            if (!isfinite(a)) {
                nan_logits++;
                continue;
            }
            err2 += (a - b) * (a - b);
            ref2 += b * b;
            if (fabs(a - b) > max_err) max_err = fabs(a - b);
            bad_logits += fabs(a - b) > tol;
        }
        if (modes[e] != (int32_t)c->retrieval && modes[e] != (int32_t)c->sparse) {
            bad_modes++;
            continue;
        }
        /* decision of the target's own logits: class 1 iff logit1 > logit0 */
        int32_t own = logits[2 * e + 1] > logits[2 * e] ? (int32_t)c->retrieval : (int32_t)c->sparse;
        if (isfinite(logits[2 * e]) && isfinite(logits[2 * e + 1]) && own != modes[e]) inconsistent++;
        if (modes[e] != o->modes[e]) {
            /* two logits each within tol may swap order only if closer than their tolerances */
            if (fabs((double)o->logits[2 * e + 1] - o->logits[2 * e]) < tie) tolerated++;
            else differ++;
        }
    }
    r->nmse = ref2 > 0 ? err2 / ref2 : err2;
    r->max_err = max_err;
    if (nan_logits) result_fail(r, "%zu non-finite logits", nan_logits);
    if (bad_logits) result_fail(r, "%zu logits beyond %g relative", bad_logits, conf_router_logit_tol);
    if (bad_modes) result_fail(r, "%zu mode entries are neither the retrieval nor the sparse mode", bad_modes);
    if (inconsistent) result_fail(r, "%zu decisions disagree with the target's own logits", inconsistent);
    if (differ) result_fail(r, "%zu of %zu decisions differ from the reference", differ, entries);
    if (tolerated) result_note(r, "%zu decisions differ at a near-tie of the logits (tolerated)", tolerated);
done:
    free(logits);
    free(modes);
}

void router_oracle_free(router_oracle *o)
{
    if (!o) return;
    free(o->keys);
    for (int i = 0; i < W_COUNT; ++i) free(o->w[i]);
    free(o->logits);
    free(o->modes);
    free(o);
}

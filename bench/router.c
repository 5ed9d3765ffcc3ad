/*
 * The router's time on a shape's keys (random weights).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "kit_rng.h"

typedef struct router_ctx {
    const elattn_router_plan *plan;
    bench_dev *bd;
    shape *sh;
    elattn_router_weights w;
    elattn_buffer *workspace;
    int32_t modes[KIT_MAX_MODES];
} router_ctx;

static elattn_status run_router(void *p, int set)
{
    router_ctx *x = p;
    elattn_router_args a = {
        .struct_size = sizeof(elattn_router_args),
        .keys = x->sh->k[set], .cu_seqlens = x->sh->cu_k, .weights = x->w, .logits = NULL, .modes = x->modes,
        .workspace = x->workspace,
    };
    return elattn_router_run(x->plan, x->bd->stream, &a);
}

void time_router(const config *c, bench_dev *bd, shape *sh, timing *t, char *kernel, size_t kernel_n)
{
    memset(t, 0, sizeof *t);
    const int D = sh->call.head_dim, H = 4 * D;
    elattn_router_desc d = {
        .struct_size = sizeof(elattn_router_desc),
        .key_dtype = sh->call.dtype, .head_dim = D, .hidden = H, .num_kv_heads = sh->call.hkv, .batch = 1,
        .max_seqlen = sh->call.len_q[0], .retrieval_mode = ELATTN_FULL, .sparse_mode = ELATTN_STREAMING,
    };
    router_ctx x;
    memset(&x, 0, sizeof x);
    x.bd = bd, x.sh = sh;
    elattn_router_plan *plan = NULL;
    elattn_buffer *bufs[10] = {0};
    const size_t sizes[10] = {(size_t)H * D, H, (size_t)D * H, D, (size_t)H * D, H, (size_t)D * H, D, 2 * (size_t)D, 2};
    const int fan_in[10] = {D, D, H, H, D, D, H, H, D, D};
    float *host = malloc(sizeof(float) * (size_t)H * D);
    elattn_status st = host ? elattn_router_plan_create(bd->dev, &d, NULL, &plan) : ELATTN_ERROR_OUT_OF_MEMORY;
    kit_rng r;
    kit_rng_seed_stream(&r, c->seed, 0x7007E5u);
    for (int i = 0; !st && i < 10; ++i) {
        float bound = 1.0f / sqrtf((float)fan_in[i]) / 1.7320508f; /* kit_rng_unit spans +-sqrt(3) */
        for (size_t j = 0; j < sizes[i]; ++j) host[j] = bound * kit_rng_unit(&r);
        if (!(st = elattn_buffer_alloc(bd->dev, sizes[i] * 4, &bufs[i])))
            st = elattn_buffer_upload(bufs[i], 0, host, sizes[i] * 4, NULL);
    }
    size_t wsb = plan ? elattn_router_plan_workspace_size(plan) : 0;
    if (!st && wsb) st = elattn_buffer_alloc(bd->dev, wsb, &x.workspace);
    if (!st) {
        x.plan = plan;
        x.w = (elattn_router_weights){bufs[0], bufs[1], bufs[2], bufs[3], bufs[4],
                                      bufs[5], bufs[6], bufs[7], bufs[8], bufs[9]};
        st = time_op(c, bd, run_router, &x, sh->nsets, t);
    }
    if (st) {
        memset(t, 0, sizeof *t);
        snprintf(kernel, kernel_n, "router %s: %s", elattn_status_string(st), elattn_last_error());
    } else {
        snprintf(kernel, kernel_n, "%s", elattn_router_plan_kernel_name(plan));
    }
    for (int i = 0; i < 10; ++i) elattn_buffer_free(bufs[i]);
    elattn_buffer_free(x.workspace);
    elattn_router_plan_destroy(plan);
    free(host);
}


/*
 * elattn-host-overhead: the host time of one elattn_attn_run call, with the
 * metadata on the host (lengths checked, work list built and uploaded on every
 * call) and with a batch plan and a device mode table (none of that).
 *
 *   elattn-host-overhead [device [batch [len [iters [hq [hkv [d]]]]]]]
 *   defaults: auto 16 256 200 8 2 64 (elattn-bench's paper shapes: 1 S iters 32 8 128, or 64)
 *
 * Each call is timed alone (the stream is synchronised between calls, outside
 * the timing), so on asynchronous backends (CUDA, HIP, OpenCL) the time is the
 * host's work plus the enqueue; on the reference it includes the computation,
 * the same in both modes. Prints the median and the 90th percentile.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <elattn/elattn.h>

#define TRY(expr)                                                                                             \
    do {                                                                                                      \
        elattn_status st_ = (expr);                                                                           \
        if (st_ != ELATTN_SUCCESS) {                                                                          \
            fprintf(stderr, "elattn-host-overhead: %s: %s\n", #expr, elattn_last_error());                   \
            return 1;                                                                                         \
        }                                                                                                     \
    } while (0)

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "auto";
    const int batch = argc > 2 ? atoi(argv[2]) : 16, len = argc > 3 ? atoi(argv[3]) : 256;
    const int iters = argc > 4 ? atoi(argv[4]) : 200;
    /* the work list has an item per query head and tile: the heads set its length */
    const int hq = argc > 5 ? atoi(argv[5]) : 8, hkv = argc > 6 ? atoi(argv[6]) : 2;
    const int dim = argc > 7 ? atoi(argv[7]) : 64;
    if (batch < 1 || len < 1 || iters < 1 || hq < 1 || hkv < 1 || hq % hkv || dim < 1) {
        fprintf(stderr, "usage: elattn-host-overhead [device [batch [len [iters [hq [hkv [d]]]]]]]\n");
        return 2;
    }
    elattn_device *dev;
    TRY(elattn_device_open_by_name(name, &dev));
    elattn_device_info info;
    TRY(elattn_device_info_of(dev, &info));
    elattn_attn_desc desc = {.struct_size = sizeof desc, .dtype = ELATTN_F16, .head_dim = dim, .num_q_heads = hq,
                             .num_kv_heads = hkv, .batch = batch, .max_seqlen_q = len, .max_seqlen_k = len,
                             .causal = 1, .sink = 16, .local = 64, .block_size = 64};
    elattn_attn_plan *plan;
    TRY(elattn_attn_plan_create(dev, &desc, NULL, &plan));
    int32_t *cu = malloc(sizeof(int32_t) * (batch + 1)), *modes = malloc(sizeof(int32_t) * batch * hkv);
    double *t = malloc(sizeof(double) * iters);
    cu[0] = 0;
    for (int b = 0; b < batch; ++b) cu[b + 1] = cu[b] + len - (b % 4) * (len / 8); /* varlen */
    for (int i = 0; i < batch * hkv; ++i) modes[i] = i % 2 ? ELATTN_STREAMING : ELATTN_FULL;
    const size_t total = (size_t)cu[batch], q_bytes = total * hq * dim * 2, kv_bytes = total * hkv * dim * 2;
    elattn_buffer *q, *k, *v, *o, *ws = NULL, *dmodes;
    TRY(elattn_buffer_alloc(dev, q_bytes, &q));
    TRY(elattn_buffer_alloc(dev, kv_bytes, &k));
    TRY(elattn_buffer_alloc(dev, kv_bytes, &v));
    TRY(elattn_buffer_alloc(dev, q_bytes, &o));
    TRY(elattn_buffer_alloc(dev, sizeof(int32_t) * batch * hkv, &dmodes));
    TRY(elattn_buffer_fill(q, 0, 0, q_bytes, NULL));
    TRY(elattn_buffer_fill(k, 0, 0, kv_bytes, NULL));
    TRY(elattn_buffer_fill(v, 0, 0, kv_bytes, NULL));
    TRY(elattn_buffer_upload(dmodes, 0, modes, sizeof(int32_t) * batch * hkv, NULL));
    size_t ws_bytes = elattn_attn_plan_workspace_size(plan);
    if (ws_bytes) TRY(elattn_buffer_alloc(dev, ws_bytes, &ws));
    elattn_attn_batch *bp;
    TRY(elattn_attn_batch_create(plan, cu, cu, &bp));

    printf("device %s (%s), kernel %s, batch %d, len <= %d, Hq %d, Hkv %d, D %d, %d calls each\n", info.id, info.name,
           elattn_attn_plan_kernel_name(plan), batch, len, hq, hkv, dim, iters);
    for (int mode = 0; mode < 2; ++mode) {
        elattn_attn_args a = {.struct_size = sizeof a, .q = q, .k = k, .v = v, .o = o, .workspace = ws};
        if (mode == 0) a.cu_seqlens_q = cu, a.cu_seqlens_k = cu, a.modes = modes;
        else a.batch = bp, a.modes_buffer = dmodes;
        if (mode == 1) { /* a block mask is required with device modes: a real one */
            TRY(elattn_buffer_alloc(dev, elattn_block_mask_bytes(&desc), (elattn_buffer **)&a.block_mask));
            TRY(elattn_buffer_fill((elattn_buffer *)a.block_mask, 0, 1, elattn_block_mask_bytes(&desc), NULL));
        }
        for (int i = -5; i < iters; ++i) { /* 5 warm-up calls */
            double t0 = now_us();
            TRY(elattn_attn_run(plan, NULL, &a));
            double t1 = now_us();
            TRY(elattn_device_synchronize(dev));
            if (i >= 0) t[i] = t1 - t0;
        }
        qsort(t, iters, sizeof *t, cmp);
        printf("%-40s median %9.1f us   p90 %9.1f us\n",
               mode == 0 ? "host cu_seqlens + host modes:" : "batch plan + device modes:", t[iters / 2],
               t[iters * 9 / 10]);
        if (mode == 1) elattn_buffer_free((elattn_buffer *)a.block_mask);
    }
    elattn_attn_batch_destroy(bp);
    elattn_buffer_free(q), elattn_buffer_free(k), elattn_buffer_free(v), elattn_buffer_free(o);
    elattn_buffer_free(ws), elattn_buffer_free(dmodes);
    elattn_attn_plan_destroy(plan);
    elattn_device_close(dev);
    free(cu), free(modes), free(t);
    return 0;
}

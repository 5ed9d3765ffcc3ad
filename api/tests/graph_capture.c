/*
 * One layer on device metadata: the router writes its modes into a device
 * buffer, XAttention selection and attention read them there, attention runs
 * with a batch plan. Compared with the reference backend given the same
 * metadata on the host, for two sets of input values of the same lengths.
 *
 *   graph_capture cuda       the layer (router -> XAttention -> attention) is
 *                            captured once into a CUDA graph on a wrapped
 *                            stream and replayed for each set of values
 *   graph_capture <device>   the same calls without capture (reference, opencl, hip; cuda
 *                            in a build without the CUDA runtime: the CPU emulation)
 * Exit 0 pass, 1 fail, 77 when the device (or, for cuda, a CUDA GPU) is absent.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elattn/elattn.h>

#include "api_test.h"
#ifdef GRAPH_CAPTURE_CUDA
#include <cuda_runtime_api.h>
#endif

enum { B = 2, HQ = 4, HKV = 2, D = 64, HIDDEN = 4 * D, BLOCK = 16, STRIDE = 4, MAXL = 70 };
#ifndef KEY_SHIFT
#define KEY_SHIFT -2.0f
#endif
static const int32_t cu[B + 1] = {0, 37, 37 + MAXL};
#define TOTAL (37 + MAXL)


static void refused(elattn_status st, const char *names, const char *what)
{
    EXPECT(st == ELATTN_ERROR_INVALID_ARGUMENT && strstr(elattn_last_error(), names),
           "%s: status %d, message '%s' (want INVALID_ARGUMENT naming %s)", what, (int)st, elattn_last_error(), names);
}

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static elattn_buffer *alloc(elattn_device *dev, size_t bytes)
{
    elattn_buffer *b;
    TRY(elattn_buffer_alloc(dev, bytes, &b));
    return b;
}

/* Everything one device holds for the layer. */
typedef struct layer {
    elattn_device *dev;
    elattn_stream *stream; /* NULL: the default stream */
    elattn_router_plan *rp;
    elattn_xattn_plan *xp;
    elattn_attn_plan *ap;
    elattn_buffer *q, *k, *v, *o, *mask, *modes, *taus, *w[10], *rws, *xws, *aws;
} layer;

static const size_t w_floats[10] = {HIDDEN * D, HIDDEN, D * HIDDEN, D, HIDDEN * D, HIDDEN, D * HIDDEN, D, 2 * D, 2};

static void layer_open(layer *L, elattn_device *dev, elattn_stream *stream, const float *const w[10])
{
    memset(L, 0, sizeof *L);
    L->dev = dev;
    L->stream = stream;
    elattn_router_desc rd = {.struct_size = sizeof rd, .key_dtype = ELATTN_F32, .head_dim = D, .hidden = HIDDEN,
                             .num_kv_heads = HKV, .batch = B, .max_seqlen = MAXL, .retrieval_mode = ELATTN_FULL,
                             .sparse_mode = ELATTN_BLOCK_SPARSE};
    elattn_xattn_desc xd = {.struct_size = sizeof xd, .dtype = ELATTN_F32, .head_dim = D, .num_q_heads = HQ,
                            .num_kv_heads = HKV, .batch = B, .max_seqlen_q = MAXL, .max_seqlen_k = MAXL,
                            .causal = 1, .stride = STRIDE, .block_size = BLOCK};
    elattn_attn_desc ad = {.struct_size = sizeof ad, .dtype = ELATTN_F32, .head_dim = D, .num_q_heads = HQ,
                           .num_kv_heads = HKV, .batch = B, .max_seqlen_q = MAXL, .max_seqlen_k = MAXL,
                           .causal = 1, .sink = 4, .local = 16, .block_size = BLOCK};
    TRY(elattn_router_plan_create(dev, &rd, NULL, &L->rp));
    TRY(elattn_xattn_plan_create(dev, &xd, NULL, &L->xp));
    TRY(elattn_attn_plan_create(dev, &ad, NULL, &L->ap));
    L->q = alloc(dev, sizeof(float) * TOTAL * HQ * D);
    L->o = alloc(dev, sizeof(float) * TOTAL * HQ * D);
    L->k = alloc(dev, sizeof(float) * TOTAL * HKV * D);
    L->v = alloc(dev, sizeof(float) * TOTAL * HKV * D);
    L->mask = alloc(dev, elattn_block_mask_bytes(&ad));
    L->modes = alloc(dev, sizeof(int32_t) * B * HKV);
    const float tau = 0.9f;
    L->taus = alloc(dev, sizeof tau);
    TRY(elattn_buffer_upload(L->taus, 0, &tau, sizeof tau, stream));
    TRY(elattn_buffer_fill(L->mask, 0, 0, elattn_block_mask_bytes(&ad), stream));
    for (int i = 0; i < 10; ++i) {
        L->w[i] = alloc(dev, sizeof(float) * w_floats[i]);
        TRY(elattn_buffer_upload(L->w[i], 0, w[i], sizeof(float) * w_floats[i], stream));
    }
    size_t n;
    if ((n = elattn_router_plan_workspace_size(L->rp))) L->rws = alloc(dev, n);
    if ((n = elattn_xattn_plan_workspace_size(L->xp))) L->xws = alloc(dev, n);
    if ((n = elattn_attn_plan_workspace_size(L->ap))) L->aws = alloc(dev, n);
}

static void layer_upload(layer *L, const float *q, const float *k, const float *v)
{
    TRY(elattn_buffer_upload(L->q, 0, q, sizeof(float) * TOTAL * HQ * D, L->stream));
    TRY(elattn_buffer_upload(L->k, 0, k, sizeof(float) * TOTAL * HKV * D, L->stream));
    TRY(elattn_buffer_upload(L->v, 0, v, sizeof(float) * TOTAL * HKV * D, L->stream));
}

static elattn_router_args router_args(layer *L)
{
    elattn_router_args a = {.struct_size = sizeof a, .keys = L->k, .cu_seqlens = cu, .workspace = L->rws,
                            .weights = {L->w[0], L->w[1], L->w[2], L->w[3], L->w[4], L->w[5], L->w[6], L->w[7], L->w[8],
                                        L->w[9]}};
    return a;
}

/* The router on device metadata: lengths from the batch, decisions into a device buffer. */
static elattn_status route(layer *L, const elattn_attn_batch *batch)
{
    elattn_router_args ra = router_args(L);
    ra.cu_seqlens = NULL, ra.lengths = batch, ra.modes_buffer = L->modes;
    return elattn_router_run(L->rp, L->stream, &ra);
}

/* XAttention selection on device metadata: the router's modes, the batch's lengths, tau on the device. */
static elattn_status select_blocks(layer *L, const elattn_attn_batch *batch)
{
    elattn_xattn_args xa = {.struct_size = sizeof xa, .q = L->q, .k = L->k, .lengths = batch,
                            .modes_buffer = L->modes, .thresholds_buffer = L->taus, .num_thresholds = 1,
                            .block_mask = L->mask, .workspace = L->xws};
    return elattn_xattn_run(L->xp, L->stream, &xa);
}

/* The whole layer, as captured. */
static elattn_status run_layer(layer *L, const elattn_attn_batch *batch, const elattn_attn_args *aa)
{
    elattn_status st = route(L, batch);
    if (st == ELATTN_SUCCESS) st = select_blocks(L, batch);
    if (st == ELATTN_SUCCESS) st = elattn_attn_run(L->ap, L->stream, aa);
    return st;
}

static void layer_close(layer *L)
{
    elattn_buffer *all[] = {L->q, L->k, L->v, L->o, L->mask, L->modes, L->taus, L->rws, L->xws, L->aws};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) elattn_buffer_free(all[i]);
    for (int i = 0; i < 10; ++i) elattn_buffer_free(L->w[i]);
    elattn_router_plan_destroy(L->rp);
    elattn_xattn_plan_destroy(L->xp);
    elattn_attn_plan_destroy(L->ap);
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "reference";
#ifdef GRAPH_CAPTURE_CUDA
    const int capture = strcmp(name, "cuda") == 0;
#else
    const int capture = 0; /* no CUDA runtime here: "cuda" runs the layer like any device (the CPU emulation) */
#endif
    elattn_device *dev = NULL, *ref;
    elattn_stream *stream = NULL;
#ifdef GRAPH_CAPTURE_CUDA
    cudaStream_t cs = NULL;
    int gpus = 0;
    if (capture && (cudaGetDeviceCount(&gpus) != cudaSuccess || gpus == 0)) {
        printf("SKIP: no CUDA device\n");
        return 77;
    }
    if (capture) {
        if (cudaSetDevice(0) != cudaSuccess || cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking) != cudaSuccess) {
            printf("FAIL: cudaStreamCreate\n");
            return 1;
        }
        TRY(elattn_device_from_cuda(0, NULL, &dev));
        TRY(elattn_stream_wrap(dev, cs, &stream)); /* the engine's stream: captured below */
    }
#endif
    if (!dev && elattn_device_open_by_name(name, &dev) != ELATTN_SUCCESS) {
        printf("SKIP: no device %s (%s)\n", name, elattn_last_error());
        return 77;
    }
    TRY(elattn_device_open_by_name("reference", &ref));

    unsigned seed = 11;
    float *w[10];
    for (int i = 0; i < 10; ++i) {
        w[i] = malloc(sizeof(float) * w_floats[i]);
        for (size_t j = 0; j < w_floats[i]; ++j) w[i][j] = 0.2f * frand(&seed);
    }
    layer L, R;
    layer_open(&L, dev, stream, (const float *const *)w);
    layer_open(&R, ref, NULL, (const float *const *)w);

    elattn_attn_batch *batch;
    TRY(elattn_attn_batch_create(L.ap, cu, cu, &batch)); /* lengths and work list: once */
    elattn_attn_args aa = {.struct_size = sizeof aa, .q = L.q, .k = L.k, .v = L.v, .o = L.o, .modes_buffer = L.modes,
                           .block_mask = L.mask, .workspace = L.aws, .batch = batch};
    { /* wrong combinations: a clear status and a message naming the arguments, nothing run */
        int32_t host_modes[B * HKV] = {0};
        elattn_attn_args bad = aa;
        bad.modes = host_modes;
        refused(elattn_attn_run(L.ap, stream, &bad), "args.modes/args.modes_buffer", "modes and modes_buffer");
        bad = aa;
        bad.cu_seqlens_q = cu;
        refused(elattn_attn_run(L.ap, stream, &bad), "args.batch", "cu_seqlens with a batch");
        bad = aa;
        bad.block_mask = NULL;
        refused(elattn_attn_run(L.ap, stream, &bad), "args.block_mask", "modes_buffer without a block mask");
        elattn_attn_plan *other;
        TRY(elattn_attn_plan_create(dev, &(elattn_attn_desc){.struct_size = sizeof(elattn_attn_desc),
                                                              .dtype = ELATTN_F32, .head_dim = D, .num_q_heads = HQ,
                                                              .num_kv_heads = HKV, .batch = B, .max_seqlen_q = MAXL,
                                                              .max_seqlen_k = MAXL, .causal = 1, .sink = 4,
                                                              .local = 16, .block_size = BLOCK},
                                    NULL, &other));
        refused(elattn_attn_run(other, stream, &aa), "args.batch: made for another plan", "a batch of another plan");
        elattn_attn_plan_destroy(other);
        int32_t bad_cu[B + 1] = {0, 37, 37 + MAXL + 1};
        elattn_attn_batch *none = NULL;
        refused(elattn_attn_batch_create(L.ap, bad_cu, cu, &none), "cu_seqlens_q", "a batch of a too long element");
        /* an older caller's struct (before the device-metadata fields): its size is accepted, the tail zero */
        elattn_attn_args old = {.struct_size = offsetof(elattn_attn_args, modes_buffer), .q = L.q, .k = L.k, .v = L.v,
                                .o = L.o, .cu_seqlens_q = cu, .cu_seqlens_k = cu, .modes = host_modes,
                                .workspace = L.aws};
        old.batch = batch; /* beyond struct_size: must not be read */
        elattn_status st = elattn_attn_run(L.ap, stream, &old);
        EXPECT(st == ELATTN_SUCCESS, "an older struct_size (%zu): %s", old.struct_size, elattn_last_error());
        elattn_router_args rb = router_args(&L);
        rb.modes = host_modes, rb.modes_buffer = L.modes;
        refused(elattn_router_run(L.rp, stream, &rb), "args.modes/args.modes_buffer", "router: both outputs");
        rb = router_args(&L);
        rb.modes_buffer = L.modes, rb.lengths = batch;
        refused(elattn_router_run(L.rp, stream, &rb), "args.cu_seqlens/args.lengths", "router: both lengths");
    }

#ifdef GRAPH_CAPTURE_CUDA
    cudaGraphExec_t exec = NULL;
    if (capture) { /* captured once: nothing runs during capture */
        cudaGraph_t graph;
        cudaError_t e = cudaStreamBeginCapture(cs, cudaStreamCaptureModeThreadLocal);
        elattn_status st = e == cudaSuccess ? run_layer(&L, batch, &aa) : ELATTN_ERROR_BACKEND;
        cudaError_t e2 = cudaStreamEndCapture(cs, &graph);
        if (e != cudaSuccess || st != ELATTN_SUCCESS || e2 != cudaSuccess) {
            printf("FAIL: capture: %s / %s / %s\n", cudaGetErrorString(e), st ? elattn_last_error() : "ok",
                   cudaGetErrorString(e2));
            return 1;
        }
        if ((e = cudaGraphInstantiate(&exec, graph, 0)) != cudaSuccess) {
            printf("FAIL: cudaGraphInstantiate: %s\n", cudaGetErrorString(e));
            return 1;
        }
        cudaGraphDestroy(graph);
    }
#endif

    const size_t nq = (size_t)TOTAL * HQ * D, nk = (size_t)TOTAL * HKV * D, mask_bytes = elattn_buffer_size(L.mask);
    float *q = malloc(sizeof(float) * nq), *k = malloc(sizeof(float) * nk), *v = malloc(sizeof(float) * nk);
    float *o = malloc(sizeof(float) * nq), *want = malloc(sizeof(float) * nq);
    uint8_t *mask = malloc(mask_bytes), *ref_mask = malloc(mask_bytes);
    for (int round = 0; round < 2; ++round) { /* new values, same lengths: the batch (and graph) stay */
        for (size_t i = 0; i < nq; ++i) q[i] = 2.0f * frand(&seed);
        /* KV head 1's keys sit off centre, so that the router tells the heads apart (a mix of modes) */
        for (size_t i = 0; i < nk; ++i) k[i] = frand(&seed) + (float)((i / D) % HKV) * KEY_SHIFT, v[i] = frand(&seed);
        layer_upload(&L, q, k, v);
        layer_upload(&R, q, k, v);
#ifdef GRAPH_CAPTURE_CUDA
        if (capture) {
            cudaError_t e = cudaGraphLaunch(exec, cs);
            EXPECT(e == cudaSuccess, "cudaGraphLaunch: %s", cudaGetErrorString(e));
        } else
#endif
            TRY(run_layer(&L, batch, &aa));
        if (stream) TRY(elattn_stream_synchronize(stream));
        TRY(elattn_device_synchronize(dev));

        /* the device's decisions, against the reference router (entries near a tie are skipped) */
        int32_t modes[B * HKV], ref_modes[B * HKV];
        float logits[B * HKV * 2];
        elattn_buffer *blogits = alloc(ref, sizeof logits);
        elattn_router_args ra = router_args(&R);
        ra.modes = ref_modes, ra.logits = blogits;
        TRY(elattn_router_run(R.rp, NULL, &ra));
        TRY(elattn_buffer_download(blogits, 0, logits, sizeof logits, NULL));
        elattn_buffer_free(blogits);
        TRY(elattn_buffer_download(L.modes, 0, modes, sizeof modes, stream));
        for (int i = 0; i < B * HKV; ++i)
            EXPECT(modes[i] == ref_modes[i] || fabsf(logits[2 * i] - logits[2 * i + 1]) < 1e-3f,
                   "round %d: modes[%d] %d, the reference router says %d", round, i, (int)modes[i], (int)ref_modes[i]);

        /* the device's masks, against the reference selection with the device's modes */
        const float tau = 0.9f;
        elattn_xattn_args xa = {.struct_size = sizeof xa, .q = R.q, .k = R.k, .cu_seqlens_q = cu, .cu_seqlens_k = cu,
                                .modes = modes, .thresholds = &tau, .num_thresholds = 1, .block_mask = R.mask,
                                .workspace = R.xws};
        TRY(elattn_xattn_run(R.xp, NULL, &xa));
        TRY(elattn_buffer_download(L.mask, 0, mask, mask_bytes, stream));
        TRY(elattn_buffer_download(R.mask, 0, ref_mask, mask_bytes, NULL));
        size_t differ = 0;
        for (size_t i = 0; i < mask_bytes; ++i) differ += !mask[i] != !ref_mask[i];

        /* attention: the reference given the device's modes and mask on the host path */
        TRY(elattn_buffer_upload(R.mask, 0, mask, mask_bytes, NULL));
        elattn_attn_args ra2 = {.struct_size = sizeof ra2, .q = R.q, .k = R.k, .v = R.v, .o = R.o, .cu_seqlens_q = cu,
                                .cu_seqlens_k = cu, .modes = modes, .block_mask = R.mask, .workspace = R.aws};
        TRY(elattn_attn_run(R.ap, NULL, &ra2));
        TRY(elattn_buffer_download(L.o, 0, o, sizeof(float) * nq, stream));
        TRY(elattn_buffer_download(R.o, 0, want, sizeof(float) * nq, NULL));
        double worst = 0.0;
        for (size_t i = 0; i < nq; ++i) worst = fmax(worst, fabs((double)o[i] - want[i]));
        EXPECT(worst < 1e-4, "round %d: attention differs from the reference by %.3g", round, worst);
        printf("round %d: modes", round);
        for (int i = 0; i < B * HKV; ++i) printf(" %s", elattn_mode_name((elattn_mode)modes[i]));
        printf("; mask cells differing from the reference selection: %zu of %zu; max |dO| %.3g\n", differ,
               mask_bytes, worst);
    }

#ifdef GRAPH_CAPTURE_CUDA
    if (exec) cudaGraphExecDestroy(exec);
#endif
    elattn_attn_batch_destroy(batch);
    layer_close(&L);
    layer_close(&R);
    elattn_stream_destroy(stream);
    elattn_device_close(dev);
    elattn_device_close(ref);
#ifdef GRAPH_CAPTURE_CUDA
    if (cs) cudaStreamDestroy(cs);
#endif
    for (int i = 0; i < 10; ++i) free(w[i]);
    free(q), free(k), free(v), free(o), free(want), free(mask), free(ref_mask);
    printf("%s: one layer on device metadata with a batch plan on %s%s\n", failures ? "FAIL" : "ok", name,
           capture ? " (the layer replayed from a CUDA graph)" : "");
    return failures ? 1 : 0;
}

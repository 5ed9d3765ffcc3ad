/*
 * decode_engine: how an inference engine drives elattn's decode over a per-head KV cache.
 *
 * A 2-layer model (GQA: 8 query heads, 2 KV heads, head dim 64, bf16) serves three sequences. Per
 * layer, as an engine would:
 *
 *   prefill: the prompt's K/V appended once with the modes the router chose for each (sequence, KV
 *            head) (FULL and BLOCK_SPARSE heads keep every token; STREAMING heads keep their sinks
 *            and a ring of the last `local` tokens, and drop the rest as it slides);
 *   plan:    one decode plan, and one decode batch of the step (sequences, one new token each),
 *            made once after the prefill: its work list lives on the device and its runs read the
 *            lengths there, so on CUDA/HIP a run only launches kernels (and a CUDA graph can
 *            capture it: api/tests/decode_batch_check.c, python/examples/decode_graph_torch.py);
 *   steps:   the step's new K/V appended (outside any graph), then decode: every head in its mode,
 *            all sequences, one launch.
 *
 * The example checks every step against the reference backend fed the same values, with plain
 * runs (a test, not engine work; kept in check_step) and prints the KV memory each layer holds
 * against a dense cache.
 *
 *   decode_engine [DEVICE]      DEVICE: "reference" (default), "opencl", "cuda", "hip", an id
 * Exit 0: every step matched the reference; 1: a mismatch or an error; 77: the device is not here.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elattn/elattn.h>

enum {
    LAYERS = 2, HQ = 8, HKV = 2, D = 64, /* the model's attention shape */
    NSEQ = 3, STEPS = 24,                /* sequences served, decode steps */
    PAGE = 16, SINK = 32, LOCAL = 128,   /* the cache: pages of 16 tokens; STREAMING keeps 32 + 128 */
    MAX_TOKENS = 1024, NUM_PAGES = 512   /* per layer's cache: room for every sequence's FULL heads */
};
static const int32_t seq_ids[NSEQ] = {0, 1, 2};
static const int32_t prompt[NSEQ] = {300, 517, 64};
static const int32_t one[NSEQ] = {1, 1, 1};
/* The router's choice per layer, sequence and KV head (an engine gets these from elattn_router_run). */
static const int32_t modes[LAYERS][NSEQ][HKV] = {
    {{ELATTN_FULL, ELATTN_STREAMING}, {ELATTN_STREAMING, ELATTN_STREAMING}, {ELATTN_BLOCK_SPARSE, ELATTN_FULL}},
    {{ELATTN_STREAMING, ELATTN_FULL}, {ELATTN_FULL, ELATTN_STREAMING}, {ELATTN_STREAMING, ELATTN_STREAMING}}};

static int failures;
#define TRY(expr)                                                                                             \
    do {                                                                                                      \
        elattn_status st_ = (expr);                                                                           \
        if (st_ != ELATTN_SUCCESS) {                                                                          \
            printf("FAIL: %s: %s\n", #expr, elattn_last_error());                                             \
            exit(1);                                                                                          \
        }                                                                                                     \
    } while (0)

/* n random bf16 values (stand-ins for the model's K, V and Q projections). */
static uint16_t *random_bf16(size_t n, uint32_t *state)
{
    float *f = malloc(sizeof(float) * n);
    uint16_t *b = malloc(sizeof(uint16_t) * n);
    for (size_t i = 0; i < n; ++i) {
        *state = *state * 1664525u + 1013904223u;
        f[i] = (float)((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    TRY(elattn_convert(ELATTN_BF16, b, ELATTN_F32, f, n));
    free(f);
    return b;
}

static elattn_buffer *upload(elattn_device *dev, const void *host, size_t bytes)
{
    elattn_buffer *b;
    TRY(elattn_buffer_alloc(dev, bytes, &b));
    TRY(elattn_buffer_upload(b, 0, host, bytes, NULL));
    return b;
}

/* One layer on one device: its cache and decode plan. */
typedef struct layer {
    elattn_kv_cache *cache;
    elattn_decode_plan *plan;
    elattn_decode_batch *batch; /* the engine's step, fixed after the prefill (NULL on the checking side) */
} layer;

static void layer_open(elattn_device *dev, layer *L)
{
    const elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = ELATTN_BF16, .head_dim = D, .num_kv_heads = HKV,
                                     .page_size = PAGE, .num_pages = NUM_PAGES, .max_sequences = NSEQ,
                                     .max_tokens = MAX_TOKENS, .sink = SINK, .local = LOCAL, .max_new_tokens = 1};
    TRY(elattn_kv_cache_create(dev, &cd, &L->cache));
    const elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = HQ, .max_batch = NSEQ};
    TRY(elattn_decode_plan_create(L->cache, &dd, NULL, &L->plan));
    L->batch = NULL;
}

/* Appends `n` tokens per sequence (k, v: host bf16 [sum n][Hkv][D]); `m`: modes on the first append. */
static void append(elattn_device *dev, layer *L, const int32_t *n, const uint16_t *k, const uint16_t *v,
                   const int32_t *m)
{
    int total = 0;
    for (int s = 0; s < NSEQ; ++s) total += n[s];
    const size_t bytes = (size_t)total * HKV * D * sizeof(uint16_t);
    elattn_buffer *kb = upload(dev, k, bytes), *vb = upload(dev, v, bytes);
    const elattn_kv_append_args aa = {.struct_size = sizeof aa, .num_seqs = NSEQ, .seq_ids = seq_ids, .num_tokens = n,
                                      .modes = m, .k = kb, .v = vb};
    TRY(elattn_kv_cache_append(L->cache, NULL, &aa));
    TRY(elattn_device_synchronize(dev)); /* the copies read kb and vb */
    elattn_buffer_free(kb), elattn_buffer_free(vb);
}

/* The step's O (host bf16 [NSEQ][Hq][D]) for queries q: with the layer's batch when it has one. */
static void decode(elattn_device *dev, layer *L, const uint16_t *q, uint16_t *o)
{
    const size_t bytes = (size_t)NSEQ * HQ * D * sizeof(uint16_t);
    elattn_buffer *qb = upload(dev, q, bytes), *ob;
    TRY(elattn_buffer_alloc(dev, bytes, &ob));
    elattn_decode_args da = {.struct_size = sizeof da, .q = qb, .o = ob};
    if (L->batch) da.batch = L->batch;
    else da.num_seqs = NSEQ, da.seq_ids = seq_ids, da.num_new = one;
    TRY(elattn_decode_run(L->plan, L->cache, NULL, &da));
    TRY(elattn_buffer_download(ob, 0, o, bytes, NULL));
    elattn_buffer_free(qb), elattn_buffer_free(ob);
}

/* The test part: the device's O against the reference's (bf16 storage: a few units of the last place). */
static double check_step(const uint16_t *o, const uint16_t *o_ref)
{
    float a[NSEQ * HQ * D], b[NSEQ * HQ * D];
    TRY(elattn_convert(ELATTN_F32, a, ELATTN_BF16, o, NSEQ * HQ * D));
    TRY(elattn_convert(ELATTN_F32, b, ELATTN_BF16, o_ref, NSEQ * HQ * D));
    double worst = 0;
    for (int i = 0; i < NSEQ * HQ * D; ++i) {
        const double e = fabs((double)a[i] - b[i]);
        if (!(e <= worst)) worst = e; /* NaN propagates */
    }
    return worst;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "reference";
    elattn_device *dev, *ref;
    if (elattn_device_open_by_name(name, &dev) != ELATTN_SUCCESS) {
        printf("SKIP: no %s device (%s)\n", name, elattn_last_error());
        return 77;
    }
    TRY(elattn_device_open_by_name("reference", &ref));
    layer eng[LAYERS], chk[LAYERS];
    uint32_t rng = 12345u;
    int prompt_total = 0;
    for (int s = 0; s < NSEQ; ++s) prompt_total += prompt[s];

    /* 1. prefill: every layer's cache gets the prompt's K/V and the router's modes (the same values
     *    go to the reference, for the check) */
    for (int l = 0; l < LAYERS; ++l) {
        layer_open(dev, &eng[l]), layer_open(ref, &chk[l]);
        uint16_t *k = random_bf16((size_t)prompt_total * HKV * D, &rng), *v = random_bf16((size_t)prompt_total * HKV * D, &rng);
        append(dev, &eng[l], prompt, k, v, &modes[l][0][0]);
        append(ref, &chk[l], prompt, k, v, &modes[l][0][0]);
        free(k), free(v);
        /* 2. the step, fixed once: the engine's decode runs from now on only launch kernels */
        TRY(elattn_decode_batch_create(eng[l].plan, eng[l].cache, NSEQ, seq_ids, one, &eng[l].batch));
    }
    printf("device %s, %d layers, %d sequences (prompts %d, %d, %d), Hq %d, Hkv %d, D %d, bf16; kernel %s\n", name,
           LAYERS, NSEQ, prompt[0], prompt[1], prompt[2], HQ, HKV, D, elattn_decode_plan_kernel(eng[0].plan));

    /* 3. the decode steps: per layer, the new token's K/V appended, then one decode launch */
    double worst = 0;
    for (int step = 0; step < STEPS; ++step)
        for (int l = 0; l < LAYERS; ++l) {
            uint16_t *k = random_bf16((size_t)NSEQ * HKV * D, &rng), *v = random_bf16((size_t)NSEQ * HKV * D, &rng);
            uint16_t *q = random_bf16((size_t)NSEQ * HQ * D, &rng);
            uint16_t o[NSEQ * HQ * D], o_ref[NSEQ * HQ * D];
            append(dev, &eng[l], one, k, v, NULL);
            decode(dev, &eng[l], q, o);
            append(ref, &chk[l], one, k, v, NULL);
            decode(ref, &chk[l], q, o_ref);
            const double e = check_step(o, o_ref);
            if (!(e <= 2e-2)) {
                printf("FAIL: step %d layer %d: max |O - reference| %.3g\n", step, l, e);
                ++failures;
            }
            if (!(e <= worst)) worst = e;
            free(k), free(v), free(q);
        }

    /* 4. what the per-head cache holds against a dense one (every head every token) */
    for (int l = 0; l < LAYERS; ++l) {
        size_t held;
        TRY(elattn_kv_cache_bytes(eng[l].cache, &held));
        size_t dense = 0;
        for (int s = 0; s < NSEQ; ++s) {
            int len;
            TRY(elattn_kv_cache_length(eng[l].cache, seq_ids[s], &len));
            dense += (size_t)HKV * ((len + PAGE - 1) / PAGE) * PAGE * 2 * D * sizeof(uint16_t);
        }
        printf("layer %d: KV held %zu bytes, %.1f%% of a dense cache\n", l, held, 100.0 * held / dense);
    }
    printf("%d steps x %d layers: max |O - reference| %.3g\n", STEPS, LAYERS, worst);
    for (int l = 0; l < LAYERS; ++l) {
        elattn_decode_batch_destroy(eng[l].batch);
        elattn_decode_plan_destroy(eng[l].plan), elattn_decode_plan_destroy(chk[l].plan);
        elattn_kv_cache_destroy(eng[l].cache), elattn_kv_cache_destroy(chk[l].cache);
    }
    elattn_device_close(ref), elattn_device_close(dev);
    printf("%s\n", failures ? "FAILED" : "PASSED");
    return failures ? 1 : 0;
}

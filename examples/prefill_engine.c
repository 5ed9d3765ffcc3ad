/*
 * prefill_engine: how an inference engine drives elattn for a routed prefill.
 *
 * A 4-layer model (GQA: 8 query heads, 2 KV heads, head dim 64) prefills two
 * sequences of 300 and 517 tokens in one batch. Per layer, as an engine would:
 *
 *   fused QKV projection  [tokens][(Hq + 2 Hkv) D]   (random values here)
 *     -> cache write: K and V rows scattered into a paged KV cache
 *     -> router: one mode per (sequence, KV head), written to a device buffer
 *     -> XAttention: block masks for the BLOCK_SPARSE heads, reading those modes
 *     -> attention: every head in its mode, one launch, reading the same modes,
 *        Q as a strided view of the fused QKV buffer, K/V from the paged cache
 *
 * with one attention plan, one XAttention plan and one batch plan (the lengths
 * and the work list) made once and reused by every layer. No mode, length or
 * mask travels through the host between the calls.
 *
 * After each layer the example checks the device's work against the reference
 * backend computed the simplest way (packed tensors gathered on the host) and
 * prints a summary. This part is a test, not something an engine does; it is
 * kept apart in check_layer().
 *
 *   prefill_engine [DEVICE] [bf16|fp16]     DEVICE: "reference" (default),
 *                                           "opencl", "cuda", "hip", an id
 * Exit 0: every layer matched the reference; 1: a mismatch or an error;
 * 77: the device is not here (meson's "skipped").
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elattn/elattn.h>

/* ---- the model, the batch and the cache ---------------------------------- */
enum {
    LAYERS = 4,
    HQ = 8,                          /* query heads */
    HKV = 2,                         /* KV heads (4 query heads share one) */
    D = 64,                          /* head dim */
    QKV_WIDTH = (HQ + 2 * HKV) * D,  /* elements per token of the fused QKV projection */
    HIDDEN = 4 * D,                  /* router MLP width (the paper's r = 4) */
    BATCH = 2,                       /* sequences */
    LEN0 = 300, LEN1 = 517,          /* their lengths */
    TOTAL = LEN0 + LEN1,             /* tokens in the batch */
    MAX_LEN = LEN1,
    PAGE = 16,                       /* tokens per KV-cache page */
    MAX_PAGES = (MAX_LEN + PAGE - 1) / PAGE, /* block-table columns: 33 */
    NUM_PAGES = 64,                  /* physical pages per layer's cache (52 are used) */
    SINK = 32, LOCAL = 128,          /* STREAMING heads: 32 sink tokens + a 128-token window */
    BLOCK = 64,                      /* BLOCK_SPARSE mask block (XAttention's too) */
    XSTRIDE = 16                     /* XAttention's antidiagonal stride */
};
static const int32_t cu_seqlens[BATCH + 1] = {0, LEN0, LEN0 + LEN1}; /* prefill: queries = keys */
static const float TAU = 0.9f;                                        /* XAttention threshold */

/* Each layer's router picks one of two modes per head: {class 1 ("retrieval"), class 0 ("sparse")}.
 * The pairs differ per layer so that the run exercises every mode and every pair in one launch. */
static const elattn_mode layer_modes[LAYERS][2] = {
    {ELATTN_FULL, ELATTN_BLOCK_SPARSE},
    {ELATTN_FULL, ELATTN_STREAMING},
    {ELATTN_BLOCK_SPARSE, ELATTN_STREAMING},
    {ELATTN_FULL, ELATTN_BLOCK_SPARSE},
};

/* ---- small helpers ---------------------------------------------------------- */
#define TRY(expr)                                                                                             \
    do {                                                                                                      \
        elattn_status st_ = (expr);                                                                           \
        if (st_ != ELATTN_SUCCESS) {                                                                          \
            fprintf(stderr, "error at %s:%d: %s\n  %s: %s\n", __FILE__, __LINE__, #expr,                      \
                    elattn_status_string(st_), elattn_last_error());                                          \
            exit(1);                                                                                          \
        }                                                                                                     \
    } while (0)

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (!p) {
        fprintf(stderr, "error: out of host memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static elattn_buffer *new_buffer(elattn_device *dev, size_t bytes)
{
    elattn_buffer *b;
    TRY(elattn_buffer_alloc(dev, bytes, &b));
    return b;
}

static elattn_buffer *new_buffer_from(elattn_device *dev, const void *host, size_t bytes)
{
    elattn_buffer *b = new_buffer(dev, bytes);
    TRY(elattn_buffer_upload(b, 0, host, bytes, NULL));
    return b;
}

/* Random numbers: xorshift64* and Box-Muller (any generator will do). */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform01(void)
{
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1p-53;
}
static float normal(void)
{
    double u = uniform01(), v = uniform01();
    return (float)(sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v));
}

/* Router weights of one layer, fp32, PyTorch Linear layout: the order of elattn_router_weights. */
enum { ROUTER_TENSORS = 10, HEAD_B3 = 9 /* the last layer's bias: [2] */ };
static const size_t router_shape[ROUTER_TENSORS][2] = {
    {HIDDEN, D}, {HIDDEN, 1}, {D, HIDDEN}, {D, 1}, /* task MLP: w1, b1, w2, b2 */
    {HIDDEN, D}, {HIDDEN, 1}, {D, HIDDEN}, {D, 1}, /* router MLP: w1, b1, w2, b2 */
    {2, D},      {2, 1},                           /* router MLP: w3, b3 (two logits) */
};
typedef struct router_weights_host {
    float *t[ROUTER_TENSORS];
} router_weights_host;

static void random_router_weights(router_weights_host *w)
{
    for (int i = 0; i < ROUTER_TENSORS; ++i) {
        size_t n = router_shape[i][0] * router_shape[i][1];
        double sigma = router_shape[i][1] == 1 ? 0.1 : 1.0 / sqrt((double)router_shape[i][1]); /* biases : 1/sqrt(fan_in) */
        w->t[i] = xmalloc(sizeof(float) * n);
        for (size_t j = 0; j < n; ++j) w->t[i][j] = (float)sigma * normal();
    }
}

/* Uploads the ten tensors; buffers[] keeps them for elattn_buffer_free. */
static elattn_router_weights upload_router_weights(elattn_device *dev, const router_weights_host *w,
                                                   elattn_buffer *buffers[ROUTER_TENSORS])
{
    for (int i = 0; i < ROUTER_TENSORS; ++i)
        buffers[i] = new_buffer_from(dev, w->t[i], sizeof(float) * router_shape[i][0] * router_shape[i][1]);
    elattn_router_weights rw = {buffers[0], buffers[1], buffers[2], buffers[3], buffers[4],
                                buffers[5], buffers[6], buffers[7], buffers[8], buffers[9]};
    return rw;
}

static void free_buffers(elattn_buffer **b, int n)
{
    for (int i = 0; i < n; ++i) elattn_buffer_free(b[i]);
}

/* Opens the device; 77 when its backend is not built or has no device here; a module that
 * exists but does not load (missing runtime, other ABI) is an error, not a skip. */
static int open_device(const char *name, elattn_device **dev)
{
    if (elattn_device_open_by_name(name, dev) == ELATTN_SUCCESS) return 0;
    char why[512];
    snprintf(why, sizeof why, "%s", elattn_last_error());
    static const elattn_backend kinds[] = {ELATTN_BACKEND_CUDA, ELATTN_BACKEND_HIP, ELATTN_BACKEND_OPENCL};
    for (int i = 0; i < 3; ++i) {
        const char *backend = elattn_backend_name(kinds[i]);
        if (strncmp(name, backend, strlen(backend)) != 0) continue;
        elattn_backend_info bi;
        TRY(elattn_backend_get_info(kinds[i], &bi));
        if (!bi.loaded && bi.module[0]) {
            fprintf(stderr, "error: the %s module %s did not load: %s\n", backend, bi.module, bi.reason);
            return 1;
        }
        printf("SKIP: no device \"%s\" here (%s)\n", name, bi.loaded ? "its module found no such device" : bi.reason);
        return 77;
    }
    fprintf(stderr, "error: no device \"%s\": %s\n", name, why);
    return 1;
}

/* ---- the check against the reference backend (a test, not engine work) ---------- */

/* Tolerances of the conformance suite (conformance/checks.c, table in conformance/README.md):
 * u is the unit roundoff of the output dtype; O: nmse <= 4 u^2, max |error| <= 8 u max|V|;
 * router logits within 1e-4 max(1, |ref|). XAttention masks: see check_layer. */
static double unit_roundoff(elattn_dtype dt) { return dt == ELATTN_BF16 ? 0x1p-8 : 0x1p-11; }
static const double ROUTER_LOGIT_TOL = 1e-4;

typedef struct layer_inputs { /* what the check needs from the host side of one layer */
    const uint16_t *qkv;      /* the fused projection, [TOTAL][QKV_WIDTH], dtype bits */
    const router_weights_host *weights;
    const elattn_router_desc *router_desc;
} layer_inputs;

typedef struct layer_outputs { /* what the device computed, downloaded */
    int32_t modes[BATCH * HKV];
    float logits[BATCH * HKV * 2];
    uint8_t *mask;
    uint16_t *o;               /* [TOTAL][HQ][D] */
} layer_outputs;

/* Gathers one slice of the fused projection into a packed [TOTAL][heads][D] array (host). */
static void gather(const uint16_t *qkv, int first_head, int heads, uint16_t *out)
{
    for (int t = 0; t < TOTAL; ++t)
        memcpy(out + (size_t)t * heads * D, qkv + (size_t)t * QKV_WIDTH + (size_t)first_head * D,
               sizeof(uint16_t) * heads * D);
}

/* The reference router on one layer's keys: host modes and logits. */
static void reference_router(elattn_device *ref, const elattn_router_desc *desc, const router_weights_host *w,
                             const uint16_t *qkv, float logits[BATCH * HKV * 2], int32_t modes[BATCH * HKV])
{
    uint16_t *k = xmalloc(sizeof(uint16_t) * TOTAL * HKV * D);
    gather(qkv, HQ, HKV, k);
    elattn_router_plan *plan;
    TRY(elattn_router_plan_create(ref, desc, NULL, &plan));
    elattn_buffer *wb[ROUTER_TENSORS], *keys = new_buffer_from(ref, k, sizeof(uint16_t) * TOTAL * HKV * D);
    elattn_buffer *out = new_buffer(ref, sizeof(float) * BATCH * HKV * 2), *ws = NULL;
    size_t ws_bytes = elattn_router_plan_workspace_size(plan);
    if (ws_bytes) ws = new_buffer(ref, ws_bytes);
    elattn_router_args ra = ELATTN_INIT(elattn_router_args);
    ra.keys = keys, ra.cu_seqlens = cu_seqlens, ra.weights = upload_router_weights(ref, w, wb);
    ra.logits = out, ra.modes = modes, ra.workspace = ws;
    TRY(elattn_router_run(plan, NULL, &ra));
    TRY(elattn_buffer_download(out, 0, logits, sizeof(float) * BATCH * HKV * 2, NULL));
    free_buffers(wb, ROUTER_TENSORS);
    elattn_buffer_free(keys), elattn_buffer_free(out), elattn_buffer_free(ws);
    elattn_router_plan_destroy(plan);
    free(k);
}

static double to_f32(elattn_dtype dt, uint16_t bits)
{
    float f;
    elattn_convert(ELATTN_F32, &f, dt, &bits, 1);
    return f;
}

/* Recomputes the layer on the reference backend with packed tensors and host metadata,
 * compares, prints the layer's line. Returns the number of failed checks. */
static int check_layer(int layer, elattn_device *ref, const elattn_attn_desc *device_desc,
                       const elattn_xattn_desc *xdesc, const layer_inputs *in, const layer_outputs *dev_out,
                       elattn_sparsity *model_sparsity)
{
    const elattn_dtype dt = device_desc->dtype;
    int failures = 0;
    char why[3][160] = {{0}}; /* router, masks, attention: what failed */
    for (int e = 0; e < BATCH * HKV; ++e)
        if (dev_out->modes[e] < ELATTN_FULL || dev_out->modes[e] > ELATTN_BLOCK_SPARSE) {
            printf("layer %d: FAIL: the device's mode table holds %d, not a mode\n", layer, (int)dev_out->modes[e]);
            return 1;
        }

    /* (a) router: the reference's logits and decisions on the same keys and weights */
    float ref_logits[BATCH * HKV * 2];
    int32_t ref_modes[BATCH * HKV];
    reference_router(ref, in->router_desc, in->weights, in->qkv, ref_logits, ref_modes);
    double logit_err = 0.0; /* max |logit - reference| / max(1, |reference|) */
    for (int e = 0; e < BATCH * HKV; ++e) {
        const float *l = dev_out->logits + 2 * e, *r = ref_logits + 2 * e;
        double tol0 = ROUTER_LOGIT_TOL * fmax(1.0, fabs(r[0])), tol1 = ROUTER_LOGIT_TOL * fmax(1.0, fabs(r[1]));
        logit_err = fmax(logit_err, fabs(l[0] - r[0]) / fmax(1.0, fabs(r[0])));
        logit_err = fmax(logit_err, fabs(l[1] - r[1]) / fmax(1.0, fabs(r[1])));
        int32_t from_own_logits = l[1] > l[0] ? in->router_desc->retrieval_mode : in->router_desc->sparse_mode;
        int near_tie = fabs((double)r[1] - r[0]) < tol0 + tol1; /* the reference itself cannot tell */
        if (!(fabs(l[0] - r[0]) <= tol0 && fabs(l[1] - r[1]) <= tol1)) {
            snprintf(why[0], sizeof why[0], "router logits of entry %d: (%g, %g), reference (%g, %g)", e, l[0], l[1],
                     r[0], r[1]);
            ++failures;
        } else if (dev_out->modes[e] != from_own_logits || (dev_out->modes[e] != ref_modes[e] && !near_tie)) {
            snprintf(why[0], sizeof why[0], "router decision of entry %d: %d, reference %d (its own logits say %d)", e,
                     (int)dev_out->modes[e], (int)ref_modes[e], (int)from_own_logits);
            ++failures;
        }
    }

    /* (b) XAttention: the reference selection with the device's modes, packed Q and K */
    uint16_t *q = xmalloc(sizeof(uint16_t) * TOTAL * HQ * D);
    uint16_t *k = xmalloc(sizeof(uint16_t) * TOTAL * HKV * D), *v = xmalloc(sizeof(uint16_t) * TOTAL * HKV * D);
    gather(in->qkv, 0, HQ, q);
    gather(in->qkv, HQ, HKV, k);
    gather(in->qkv, HQ + HKV, HKV, v);
    const size_t q_bytes = sizeof(uint16_t) * TOTAL * HQ * D, kv_bytes = sizeof(uint16_t) * TOTAL * HKV * D;
    elattn_buffer *bq = new_buffer_from(ref, q, q_bytes), *bk = new_buffer_from(ref, k, kv_bytes);
    elattn_buffer *bv = new_buffer_from(ref, v, kv_bytes);
    const size_t mask_bytes = elattn_block_mask_bytes(device_desc);
    const size_t head_cells = mask_bytes / (BATCH * HKV); /* one (sequence, KV head)'s [q blocks][k blocks] */
    elattn_buffer *bmask = new_buffer(ref, mask_bytes);
    TRY(elattn_buffer_fill(bmask, 0, 0, mask_bytes, NULL));
    elattn_xattn_plan *xplan;
    TRY(elattn_xattn_plan_create(ref, xdesc, NULL, &xplan));
    elattn_buffer *xws = NULL, *aws = NULL;
    if (elattn_xattn_plan_workspace_size(xplan)) xws = new_buffer(ref, elattn_xattn_plan_workspace_size(xplan));
    elattn_xattn_args xa = ELATTN_INIT(elattn_xattn_args);
    xa.q = bq, xa.k = bk, xa.cu_seqlens_q = cu_seqlens, xa.cu_seqlens_k = cu_seqlens, xa.modes = dev_out->modes;
    xa.thresholds = &TAU, xa.num_thresholds = 1, xa.block_mask = bmask, xa.workspace = xws;
    TRY(elattn_xattn_run(xplan, NULL, &xa));
    uint8_t *ref_mask = xmalloc(mask_bytes);
    TRY(elattn_buffer_download(bmask, 0, ref_mask, mask_bytes, NULL));
    /* The conformance suite tolerates a differing cell whose decision was within 1e-4 of the row
     * total of flipping; that margin needs the reference's internal block scores, which the public
     * API does not give. So this check is stricter: every cell of every BLOCK_SPARSE head must
     * equal the reference's (and be 0 or 1). */
    size_t mask_cells = 0, mask_differ = 0;
    for (int e = 0; e < BATCH * HKV; ++e) {
        if (dev_out->modes[e] != ELATTN_BLOCK_SPARSE) continue;
        for (size_t c = e * head_cells; c < (e + 1) * head_cells; ++c) {
            ++mask_cells;
            mask_differ += dev_out->mask[c] != ref_mask[c] || dev_out->mask[c] > 1;
        }
    }
    if (mask_differ) {
        snprintf(why[1], sizeof why[1], "%zu of %zu block-mask cells differ from the reference selection",
                 mask_differ, mask_cells);
        ++failures;
    }

    /* (c) attention: the reference, packed, with the device's modes and the device's mask
     * (so that this compares the attention alone) */
    elattn_attn_desc rd = *device_desc;
    rd.q_stride_token = rd.q_stride_head = 0; /* packed Q, K, V: no strides, no pages */
    rd.page_size = rd.num_pages = rd.max_pages_per_seq = 0;
    elattn_attn_plan *aplan;
    TRY(elattn_attn_plan_create(ref, &rd, NULL, &aplan));
    if (elattn_attn_plan_workspace_size(aplan)) aws = new_buffer(ref, elattn_attn_plan_workspace_size(aplan));
    TRY(elattn_buffer_upload(bmask, 0, dev_out->mask, mask_bytes, NULL));
    elattn_buffer *bo = new_buffer(ref, q_bytes);
    elattn_attn_args aa = ELATTN_INIT(elattn_attn_args);
    aa.q = bq, aa.k = bk, aa.v = bv, aa.o = bo, aa.cu_seqlens_q = cu_seqlens, aa.cu_seqlens_k = cu_seqlens;
    aa.modes = dev_out->modes, aa.block_mask = bmask, aa.workspace = aws;
    TRY(elattn_attn_run(aplan, NULL, &aa));
    uint16_t *ref_o = xmalloc(q_bytes);
    TRY(elattn_buffer_download(bo, 0, ref_o, q_bytes, NULL));
    double max_v = 0.0, err2 = 0.0, ref2 = 0.0, max_err = 0.0;
    size_t non_finite = 0;
    for (size_t i = 0; i < (size_t)TOTAL * HKV * D; ++i) max_v = fmax(max_v, fabs(to_f32(dt, v[i])));
    for (size_t i = 0; i < (size_t)TOTAL * HQ * D; ++i) {
        double o = to_f32(dt, dev_out->o[i]), r = to_f32(dt, ref_o[i]);
        if (!isfinite(o)) {
            ++non_finite;
            continue;
        }
        err2 += (o - r) * (o - r), ref2 += r * r;
        max_err = fmax(max_err, fabs(o - r));
    }
    const double u = unit_roundoff(dt), nmse = ref2 > 0 ? err2 / ref2 : err2;
    const double nmse_limit = 4 * u * u, max_limit = 8 * u * max_v;
    if (non_finite || nmse > nmse_limit || max_err > max_limit) {
        snprintf(why[2], sizeof why[2], "attention: %zu non-finite, nmse %.3g (limit %.3g), max |dO| %.3g (limit %.3g)",
                 non_finite, nmse, nmse_limit, max_err, max_limit);
        ++failures;
    }

    /* the layer's sparsity: Omega_MSR (share of non-FULL heads), Omega_ESR (mean pruned share) */
    elattn_sparsity s;
    TRY(elattn_sparsity_of_call(device_desc, cu_seqlens, cu_seqlens, dev_out->modes, dev_out->mask, &s));
    elattn_sparsity_merge(model_sparsity, &s);

    printf("layer %d  router %s/%s  modes", layer, elattn_mode_name(in->router_desc->retrieval_mode),
           elattn_mode_name(in->router_desc->sparse_mode));
    for (int b = 0; b < BATCH; ++b) {
        printf(" seq%d[", b);
        for (int h = 0; h < HKV; ++h)
            printf("%s%s", h ? " " : "", elattn_mode_name((elattn_mode)dev_out->modes[b * HKV + h]));
        printf("]");
    }
    printf("\n         Omega_MSR %.3f  Omega_ESR %.3f | router max |dlogit|/max(1,|ref|) %.2g | mask cells differing "
           "%zu/%zu | O: max |dO| %.3g (limit %.3g), nmse %.2g (limit %.2g)  %s\n",
           s.omega_msr, s.omega_esr, logit_err, mask_differ, mask_cells, max_err, max_limit, nmse, nmse_limit,
           failures ? "FAIL" : "ok");
    for (int i = 0; i < 3; ++i)
        if (why[i][0]) printf("         FAIL: %s\n", why[i]);

    elattn_buffer *all[] = {bq, bk, bv, bo, bmask, xws, aws};
    free_buffers(all, sizeof all / sizeof all[0]);
    elattn_xattn_plan_destroy(xplan);
    elattn_attn_plan_destroy(aplan);
    free(q), free(k), free(v), free(ref_mask), free(ref_o);
    return failures;
}

/* Demo only: random router weights route every head alike, while a trained router tells heads
 * apart. So the example shifts the class-1 bias (head_b3[1]) of each layer's random router into
 * the widest gap between the (sequence, head) entries' logit differences l1 - l0 (computed by the
 * reference router on this layer's keys): at least one entry goes each way, none near a tie. */
static void calibrate_router_bias(elattn_device *ref, const elattn_router_desc *desc, router_weights_host *w,
                                  const uint16_t *qkv)
{
    float logits[BATCH * HKV * 2];
    int32_t modes[BATCH * HKV];
    double diff[BATCH * HKV];
    reference_router(ref, desc, w, qkv, logits, modes);
    for (int e = 0; e < BATCH * HKV; ++e) {
        double d = (double)logits[2 * e + 1] - logits[2 * e];
        int i = e; /* insertion sort, ascending */
        for (; i > 0 && diff[i - 1] > d; --i) diff[i] = diff[i - 1];
        diff[i] = d;
    }
    int widest = 0;
    for (int i = 1; i + 1 < BATCH * HKV; ++i)
        if (diff[i + 1] - diff[i] > diff[widest + 1] - diff[widest]) widest = i;
    w->t[HEAD_B3][1] -= (float)(0.5 * (diff[widest] + diff[widest + 1]));
}

/* ---- the engine ----------------------------------------------------------------- */
int main(int argc, char **argv)
{
    const char *device_name = argc > 1 ? argv[1] : "reference";
    const elattn_dtype dtype = argc > 2 && !strcmp(argv[2], "fp16") ? ELATTN_F16 : ELATTN_BF16;
    if (argc > 3 || (argc > 2 && strcmp(argv[2], "fp16") && strcmp(argv[2], "bf16"))) {
        fprintf(stderr, "usage: %s [DEVICE] [bf16|fp16]\n", argv[0]);
        return 1;
    }
    const size_t ELEM = elattn_dtype_size(dtype); /* 2 bytes: bf16 or fp16 */
    setvbuf(stdout, NULL, _IOLBF, 0);             /* each line at once, also into a test log */

    /* Step 1. Open the device, and the reference device for the checks. */
    elattn_device *dev, *ref;
    int rc = open_device(device_name, &dev);
    if (rc) return rc;
    TRY(elattn_device_open_by_name("reference", &ref));
    elattn_device_info info;
    TRY(elattn_device_info_of(dev, &info));
    printf("device %s (%s), %s, %d layers, sequences of %d and %d tokens, Hq %d, Hkv %d, D %d, pages of %d\n",
           info.id, info.name, elattn_dtype_name(dtype), LAYERS, LEN0, LEN1, HQ, HKV, D, PAGE);

    /* Step 2. Describe attention as the engine holds its tensors: Q is a strided view of the
     * fused QKV projection (token stride (Hq + 2 Hkv) D, head stride D); K and V live in a paged
     * cache [NUM_PAGES][PAGE][Hkv][D]; O is packed [tokens][Hq][D]. One plan serves every layer. */
    elattn_attn_desc ad = ELATTN_INIT(elattn_attn_desc);
    ad.dtype = dtype, ad.head_dim = D, ad.num_q_heads = HQ, ad.num_kv_heads = HKV;
    ad.batch = BATCH, ad.max_seqlen_q = MAX_LEN, ad.max_seqlen_k = MAX_LEN, ad.causal = 1;
    ad.sink = SINK, ad.local = LOCAL, ad.block_size = BLOCK;
    ad.q_stride_token = QKV_WIDTH, ad.q_stride_head = D;
    ad.page_size = PAGE, ad.num_pages = NUM_PAGES, ad.max_pages_per_seq = MAX_PAGES;
    elattn_attn_plan *attn_plan;
    TRY(elattn_attn_plan_create(dev, &ad, NULL, &attn_plan));

    /* XAttention and the router take packed tensors (step 9 makes them). */
    elattn_xattn_desc xd = ELATTN_INIT(elattn_xattn_desc);
    xd.dtype = dtype, xd.head_dim = D, xd.num_q_heads = HQ, xd.num_kv_heads = HKV, xd.batch = BATCH;
    xd.max_seqlen_q = MAX_LEN, xd.max_seqlen_k = MAX_LEN, xd.causal = 1, xd.stride = XSTRIDE, xd.block_size = BLOCK;
    elattn_xattn_plan *xattn_plan;
    TRY(elattn_xattn_plan_create(dev, &xd, NULL, &xattn_plan));

    elattn_router_desc router_desc[LAYERS]; /* one per layer: each has its own pair of modes */
    elattn_router_plan *router_plan[LAYERS];
    for (int l = 0; l < LAYERS; ++l) {
        router_desc[l] = ELATTN_INIT(elattn_router_desc);
        router_desc[l].key_dtype = dtype, router_desc[l].head_dim = D, router_desc[l].hidden = HIDDEN;
        router_desc[l].num_kv_heads = HKV, router_desc[l].batch = BATCH, router_desc[l].max_seqlen = MAX_LEN;
        router_desc[l].retrieval_mode = layer_modes[l][0], router_desc[l].sparse_mode = layer_modes[l][1];
        TRY(elattn_router_plan_create(dev, &router_desc[l], NULL, &router_plan[l]));
    }
    printf("kernels: %s, %s, %s\n", elattn_attn_plan_kernel_name(attn_plan),
           elattn_xattn_plan_kernel_name(xattn_plan), elattn_router_plan_kernel_name(router_plan[0]));

    /* Step 3. Plan the batch once: its lengths and work list go to the device here and are
     * reused by every layer's router, XAttention and attention (modes may differ per layer). */
    elattn_attn_batch *batch;
    TRY(elattn_attn_batch_create(attn_plan, cu_seqlens, cu_seqlens, &batch));

    /* Step 4. The paged KV cache. Each sequence owns ceil(len / PAGE) pages, taken in a shuffled
     * order from a pool of NUM_PAGES; the block table maps its logical page i to a physical page
     * (one table for every layer, as in vLLM; each layer has its own K and V cache). Entries past
     * a sequence's pages are never read: -1 here. */
    int32_t block_table[BATCH][MAX_PAGES];
    int pool[NUM_PAGES];
    for (int p = 0; p < NUM_PAGES; ++p) pool[p] = p;
    for (int p = NUM_PAGES - 1; p > 0; --p) { /* Fisher-Yates shuffle */
        int j = (int)(uniform01() * (p + 1)), t = pool[p];
        pool[p] = pool[j], pool[j] = t;
    }
    for (int b = 0, next = 0; b < BATCH; ++b)
        for (int i = 0; i < MAX_PAGES; ++i)
            block_table[b][i] = i * PAGE < cu_seqlens[b + 1] - cu_seqlens[b] ? pool[next++] : -1;
    const size_t kv_row_bytes = (size_t)HKV * D * ELEM; /* one token's K (or V) of all KV heads */
    const size_t cache_bytes = (size_t)NUM_PAGES * PAGE * kv_row_bytes;
    elattn_buffer *k_cache[LAYERS], *v_cache[LAYERS];
    for (int l = 0; l < LAYERS; ++l) {
        k_cache[l] = new_buffer(dev, cache_bytes);
        v_cache[l] = new_buffer(dev, cache_bytes);
        /* 0xFF bytes are NaN in bf16 and fp16: a slot no token was written to poisons any output
         * that reads it, so the check below would catch a kernel reading outside the table. */
        TRY(elattn_buffer_fill(k_cache[l], 0, 0xFF, cache_bytes, NULL));
        TRY(elattn_buffer_fill(v_cache[l], 0, 0xFF, cache_bytes, NULL));
    }

    /* Step 5. The per-layer working buffers, reused by every layer: the fused QKV projection
     * [TOTAL][QKV_WIDTH], in which token t's Q heads start at byte t * qkv_row_bytes, its K heads
     * k_offset bytes later and its V heads v_offset bytes later; the Q view attention reads (a
     * view's offset must be a multiple of 256 bytes; Q's is 0); packed Q and K for XAttention and
     * the router; the mode table, block mask and threshold on the device; O; the workspaces. */
    const size_t qkv_row_bytes = (size_t)QKV_WIDTH * ELEM, qkv_bytes = (size_t)TOTAL * qkv_row_bytes;
    const size_t q_offset = 0, k_offset = (size_t)HQ * D * ELEM, v_offset = (size_t)(HQ + HKV) * D * ELEM;
    elattn_buffer *qkv = new_buffer(dev, qkv_bytes), *q_view;
    TRY(elattn_buffer_view(qkv, q_offset, qkv_bytes - q_offset, &q_view));
    const size_t q_row_bytes = (size_t)HQ * D * ELEM;
    elattn_buffer *q_packed = new_buffer(dev, (size_t)TOTAL * q_row_bytes);
    elattn_buffer *k_packed = new_buffer(dev, (size_t)TOTAL * kv_row_bytes);
    elattn_buffer *modes = new_buffer(dev, sizeof(int32_t) * BATCH * HKV);
    elattn_buffer *logits = new_buffer(dev, sizeof(float) * BATCH * HKV * 2); /* optional; for the check */
    const size_t mask_bytes = elattn_block_mask_bytes(&ad);
    elattn_buffer *mask = new_buffer(dev, mask_bytes);
    TRY(elattn_buffer_fill(mask, 0, 0, mask_bytes, NULL));
    elattn_buffer *tau = new_buffer_from(dev, &TAU, sizeof TAU);
    const size_t o_bytes = (size_t)TOTAL * HQ * D * ELEM;
    elattn_buffer *o = new_buffer(dev, o_bytes);
    elattn_buffer *attn_ws = NULL, *xattn_ws = NULL, *router_ws = NULL;
    size_t n = 0, router_ws_bytes = 0;
    if ((n = elattn_attn_plan_workspace_size(attn_plan))) attn_ws = new_buffer(dev, n);
    if ((n = elattn_xattn_plan_workspace_size(xattn_plan))) xattn_ws = new_buffer(dev, n);
    for (int l = 0; l < LAYERS; ++l) /* one router workspace for all layers: the largest */
        if (elattn_router_plan_workspace_size(router_plan[l]) > router_ws_bytes)
            router_ws_bytes = elattn_router_plan_workspace_size(router_plan[l]);
    if (router_ws_bytes) router_ws = new_buffer(dev, router_ws_bytes);

    uint16_t *qkv_host = xmalloc(qkv_bytes);
    float *values = xmalloc(sizeof(float) * TOTAL * QKV_WIDTH);
    layer_outputs out = {.mask = xmalloc(mask_bytes), .o = xmalloc(o_bytes)};
    elattn_sparsity model_sparsity = {0};
    int failures = 0, heads_in_mode[3] = {0}; /* over all layers, to see that every mode ran */

    for (int l = 0; l < LAYERS; ++l) {
        /* Step 6. The layer's QKV projection (an engine's GEMM): random values here, N(0, 1),
         * with two kinds of structure real activations have:
         *  - within a sequence, each KV head's keys scatter around their own mean (what the
         *    router looks at);
         *  - a third of the key blocks (BLOCK tokens) of each (sequence, KV head) share a
         *    "topic" direction with the queries of that head group: the relevant context that
         *    XAttention should keep, so that its masks prune something.
         * Rounded to the storage dtype and uploaded. */
        for (int b = 0; b < BATCH; ++b) {
            float key_mean[HKV][D], topic[HKV][D];
            int relevant[HKV][(MAX_LEN + BLOCK - 1) / BLOCK];
            for (int h = 0; h < HKV; ++h) {
                for (int x = 0; x < D; ++x) key_mean[h][x] = normal(), topic[h][x] = 0.7f * normal();
                for (int kb = 0; kb < (MAX_LEN + BLOCK - 1) / BLOCK; ++kb) relevant[h][kb] = uniform01() < 1.0 / 3;
            }
            for (int t = cu_seqlens[b]; t < cu_seqlens[b + 1]; ++t)
                for (int c = 0; c < QKV_WIDTH; ++c) {
                    const int head = c / D, x = c % D; /* heads 0..HQ-1: Q, then HKV of K, then HKV of V */
                    float add = 0.0f;
                    if (head < HQ) /* a query head of group head / (HQ / HKV) */
                        add = topic[head / (HQ / HKV)][x];
                    else if (head < HQ + HKV) /* a key head */
                        add = key_mean[head - HQ][x] +
                              (relevant[head - HQ][(t - cu_seqlens[b]) / BLOCK] ? topic[head - HQ][x] : 0.0f);
                    values[(size_t)t * QKV_WIDTH + c] = add + normal();
                }
        }
        TRY(elattn_convert(dtype, qkv_host, ELATTN_F32, values, (size_t)TOTAL * QKV_WIDTH));
        TRY(elattn_buffer_upload(qkv, 0, qkv_host, qkv_bytes, NULL));

        /* Step 7. The layer's router weights. An engine loads them from the checkpoint
         * (elattn_router_weights_from_safetensors); here they are random, with the last bias
         * calibrated so that heads differ (see calibrate_router_bias). */
        router_weights_host w;
        random_router_weights(&w);
        calibrate_router_bias(ref, &router_desc[l], &w, qkv_host);
        elattn_buffer *w_buffers[ROUTER_TENSORS];
        elattn_router_weights router_weights = upload_router_weights(dev, &w, w_buffers);

        /* Step 8. Cache write: each token's K and V rows (all KV heads, kv_row_bytes) go from the
         * fused projection to their page slot; one strided 2-D copy per (sequence, page), on the
         * device. An engine does this with its own cache-write kernel. (The copies address the
         * K and V slices as the fused buffer plus a byte offset, not through buffer views: PoCL
         * 3.1 crashes in a rectangular copy from or to an OpenCL sub-buffer.) */
        for (int b = 0; b < BATCH; ++b) {
            const int len = cu_seqlens[b + 1] - cu_seqlens[b];
            for (int i = 0; i * PAGE < len; ++i) {
                const int first = cu_seqlens[b] + i * PAGE;          /* token in the batch */
                const int rows = len - i * PAGE < PAGE ? len - i * PAGE : PAGE;
                const size_t src = (size_t)first * qkv_row_bytes;    /* the token's row */
                const size_t dst = (size_t)block_table[b][i] * PAGE * kv_row_bytes;
                TRY(elattn_buffer_copy_2d(k_cache[l], dst, kv_row_bytes, qkv, src + k_offset, qkv_row_bytes,
                                          kv_row_bytes, rows, NULL));
                TRY(elattn_buffer_copy_2d(v_cache[l], dst, kv_row_bytes, qkv, src + v_offset, qkv_row_bytes,
                                          kv_row_bytes, rows, NULL));
            }
        }

        /* Step 9. Packed Q and K for XAttention and the router (they take packed tensors). An
         * engine gives the router the keys before RoPE and XAttention Q and K after it; this
         * example has no RoPE, so one packed K serves both. */
        TRY(elattn_buffer_copy_2d(q_packed, 0, q_row_bytes, qkv, q_offset, qkv_row_bytes, q_row_bytes, TOTAL, NULL));
        TRY(elattn_buffer_copy_2d(k_packed, 0, kv_row_bytes, qkv, k_offset, qkv_row_bytes, kv_row_bytes, TOTAL,
                                  NULL));

        /* Step 10. Router: one decision per (sequence, KV head) into the device mode table,
         * lengths from the batch plan. Nothing comes back to the host. */
        elattn_router_args ra = ELATTN_INIT(elattn_router_args);
        ra.keys = k_packed, ra.lengths = batch, ra.weights = router_weights;
        ra.modes_buffer = modes, ra.logits = logits, ra.workspace = router_ws;
        TRY(elattn_router_run(router_plan[l], NULL, &ra));

        /* Step 11. XAttention: block masks of the heads the router made BLOCK_SPARSE, reading the
         * mode table and the threshold on the device. A layer whose router cannot choose
         * BLOCK_SPARSE skips it (attention reads no mask row of another mode). */
        if (layer_modes[l][0] == ELATTN_BLOCK_SPARSE || layer_modes[l][1] == ELATTN_BLOCK_SPARSE) {
            elattn_xattn_args xa = ELATTN_INIT(elattn_xattn_args);
            xa.q = q_packed, xa.k = k_packed, xa.lengths = batch, xa.modes_buffer = modes;
            xa.thresholds_buffer = tau, xa.num_thresholds = 1, xa.block_mask = mask, xa.workspace = xattn_ws;
            TRY(elattn_xattn_run(xattn_plan, NULL, &xa));
        }

        /* Step 12. Attention: every head in its mode, one launch. Q is read through its strided
         * view, K and V through the block table, modes and lengths on the device. (O is filled
         * with NaN first only for the check: an element the kernel forgot would show.) */
        TRY(elattn_buffer_fill(o, 0, 0xFF, o_bytes, NULL));
        elattn_attn_args aa = ELATTN_INIT(elattn_attn_args);
        aa.q = q_view, aa.k = k_cache[l], aa.v = v_cache[l], aa.o = o;
        aa.batch = batch, aa.modes_buffer = modes, aa.block_mask = mask, aa.block_table = &block_table[0][0];
        aa.workspace = attn_ws;
        TRY(elattn_attn_run(attn_plan, NULL, &aa));

        /* Step 13. Check the layer against the reference (a test; an engine goes on to the next
         * layer without waiting). Downloads wait for the work queued before them. */
        TRY(elattn_buffer_download(modes, 0, out.modes, sizeof out.modes, NULL));
        TRY(elattn_buffer_download(logits, 0, out.logits, sizeof out.logits, NULL));
        TRY(elattn_buffer_download(mask, 0, out.mask, mask_bytes, NULL));
        TRY(elattn_buffer_download(o, 0, out.o, o_bytes, NULL));
        layer_inputs in = {.qkv = qkv_host, .weights = &w, .router_desc = &router_desc[l]};
        failures += check_layer(l, ref, &ad, &xd, &in, &out, &model_sparsity);
        for (int e = 0; e < BATCH * HKV; ++e)
            if (out.modes[e] >= ELATTN_FULL && out.modes[e] <= ELATTN_BLOCK_SPARSE) heads_in_mode[out.modes[e]]++;

        free_buffers(w_buffers, ROUTER_TENSORS);
        for (int i = 0; i < ROUTER_TENSORS; ++i) free(w.t[i]);
    }

    /* Step 14. The model's sparsity over all layers, and clean-up. */
    printf("model: Omega_MSR %.3f  Omega_ESR %.3f over %ld (sequence, layer, KV head) entries; FULL %d, "
           "STREAMING %d, BLOCK_SPARSE %d of them\n",
           model_sparsity.omega_msr, model_sparsity.omega_esr, model_sparsity.entries, heads_in_mode[ELATTN_FULL],
           heads_in_mode[ELATTN_STREAMING], heads_in_mode[ELATTN_BLOCK_SPARSE]);
    for (int m = ELATTN_FULL; m <= ELATTN_BLOCK_SPARSE; ++m)
        if (!heads_in_mode[m]) {
            printf("FAIL: no head ran in mode %s: the check did not cover it\n", elattn_mode_name((elattn_mode)m));
            ++failures;
        }
    elattn_buffer *all[] = {q_view, qkv, q_packed, k_packed, modes, logits, mask, tau, o,
                            attn_ws, xattn_ws, router_ws};
    free_buffers(all, sizeof all / sizeof all[0]);
    free_buffers(k_cache, LAYERS);
    free_buffers(v_cache, LAYERS);
    elattn_attn_batch_destroy(batch);
    elattn_attn_plan_destroy(attn_plan);
    elattn_xattn_plan_destroy(xattn_plan);
    for (int l = 0; l < LAYERS; ++l) elattn_router_plan_destroy(router_plan[l]);
    elattn_device_close(dev);
    elattn_device_close(ref);
    free(qkv_host), free(values), free(out.mask), free(out.o);
    printf("%s: %d layers on %s checked against the reference\n", failures ? "FAIL" : "ok", LAYERS, info.id);
    return failures ? 1 : 0;
}

/*
 * The OpenCL backend's own quick check: a few cases of each operation run on
 * the first OpenCL device and on the reference backend through the public API,
 * compared element by element. The conformance runner (conformance/) is the
 * systematic check; this one is small enough for PoCL while developing.
 *
 *   cc -O2 -I<build>/api/include -Iapi/include backends/opencl/tests/ocl_check.c \
 *      -L<build>/api/src -lelattn -lm -lpthread -o ocl_check && ./ocl_check [filter] [--time] [--device ID]
 * Exit status 0 only when every case passed.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "elattn/elattn.h"

#define CHECK(x)                                                                                           \
    do {                                                                                                   \
        elattn_status s_ = (x);                                                                            \
        if (s_ != ELATTN_SUCCESS) {                                                                        \
            fprintf(stderr, "%s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #x, elattn_status_string(s_),      \
                    elattn_last_error());                                                                  \
            exit(2);                                                                                       \
        }                                                                                                  \
    } while (0)

static unsigned long long rng = 88172645463325252ull;
static double urand(void) /* xorshift, [0, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static elattn_device *ref_dev, *ocl_dev;
static int failures, cases;
static const char *filter;
static int timing;

/* A buffer on `dev` holding n values of `dtype` converted from fp32 `src`. */
static elattn_buffer *upload(elattn_device *dev, elattn_dtype dtype, const float *src, size_t n)
{
    size_t bytes = n * elattn_dtype_size(dtype);
    void *tmp = malloc(bytes ? bytes : 1);
    CHECK(elattn_convert(dtype, tmp, ELATTN_F32, src, n));
    elattn_buffer *b;
    CHECK(elattn_buffer_alloc(dev, bytes ? bytes : 4, &b));
    if (bytes) CHECK(elattn_buffer_upload(b, 0, tmp, bytes, NULL));
    free(tmp);
    return b;
}

static elattn_buffer *upload_raw(elattn_device *dev, const void *src, size_t bytes)
{
    elattn_buffer *b;
    CHECK(elattn_buffer_alloc(dev, bytes ? bytes : 4, &b));
    if (bytes) CHECK(elattn_buffer_upload(b, 0, src, bytes, NULL));
    return b;
}

static float *download(elattn_buffer *b, elattn_dtype dtype, size_t n)
{
    size_t bytes = n * elattn_dtype_size(dtype);
    void *tmp = malloc(bytes ? bytes : 1);
    float *out = malloc((n ? n : 1) * sizeof *out);
    if (bytes) CHECK(elattn_buffer_download(b, 0, tmp, bytes, NULL));
    CHECK(elattn_convert(ELATTN_F32, out, dtype, tmp, n));
    free(tmp);
    return out;
}

static elattn_buffer *workspace(elattn_device *dev, size_t bytes)
{
    if (!bytes) return NULL;
    elattn_buffer *b;
    CHECK(elattn_buffer_alloc(dev, bytes, &b));
    return b;
}

/* ---- attention ---------------------------------------------------------------- */
typedef struct attn_case {
    const char *name;
    elattn_dtype dtype;
    int D, Hq, Hkv, batch;
    int lq[4], lk[4];
    int causal, sink, local, block, lse;
    int modes; /* 0 FULL, 1 STREAMING, 2 BLOCK_SPARSE, 3 mixed (cycled over heads) */
    double mask_density; /* BLOCK_SPARSE cells set; rows may come out empty */
    int tile_m, tile_n, wg;
} attn_case;

static void run_attn(const attn_case *c)
{
    if (filter && !strstr(c->name, filter)) return;
    ++cases;
    elattn_attn_desc d = {.struct_size = sizeof(elattn_attn_desc), .dtype = c->dtype, .head_dim = c->D, .num_q_heads = c->Hq, .num_kv_heads = c->Hkv,
                          .batch = c->batch, .causal = c->causal, .sink = c->sink, .local = c->local,
                          .block_size = c->block, .write_lse = c->lse};
    int32_t cu_q[5] = {0}, cu_k[5] = {0};
    for (int b = 0; b < c->batch; ++b) {
        cu_q[b + 1] = cu_q[b] + c->lq[b];
        cu_k[b + 1] = cu_k[b] + c->lk[b];
        if (c->lq[b] > d.max_seqlen_q) d.max_seqlen_q = c->lq[b];
        if (c->lk[b] > d.max_seqlen_k) d.max_seqlen_k = c->lk[b];
    }
    if (d.max_seqlen_q == 0) d.max_seqlen_q = 1;
    if (d.max_seqlen_k == 0) d.max_seqlen_k = 1;
    size_t nq = (size_t)cu_q[c->batch] * c->Hq * c->D, nk = (size_t)cu_k[c->batch] * c->Hkv * c->D;
    float *q = malloc((nq + 1) * 4), *k = malloc((nk + 1) * 4), *v = malloc((nk + 1) * 4);
    for (size_t i = 0; i < nq; ++i) q[i] = (float)(urand() * 4 - 2);
    for (size_t i = 0; i < nk; ++i) k[i] = (float)(urand() * 4 - 2);
    for (size_t i = 0; i < nk; ++i) v[i] = (float)(urand() * 2 - 1);
    int32_t modes[64];
    for (int i = 0; i < c->batch * c->Hkv; ++i) modes[i] = c->modes < 3 ? c->modes : (i % 3);
    size_t mask_bytes = elattn_block_mask_bytes(&d);
    uint8_t *mask = malloc(mask_bytes);
    for (size_t i = 0; i < mask_bytes; ++i) mask[i] = urand() < c->mask_density;

    elattn_device *devs[2] = {ref_dev, ocl_dev};
    float *out[2], *lse[2] = {NULL, NULL};
    const char *kname = "";
    double ms = 0;
    for (int x = 0; x < 2; ++x) {
        elattn_plan_options opt = ELATTN_INIT(elattn_plan_options);
        if (x == 1) {
            opt.tile_m = c->tile_m;
            opt.tile_n = c->tile_n;
            opt.work_group_size = c->wg;
        }
        elattn_attn_plan *plan;
        CHECK(elattn_attn_plan_create(devs[x], &d, &opt, &plan));
        if (x == 1) kname = elattn_attn_plan_kernel_name(plan);
        elattn_buffer *bq = upload(devs[x], c->dtype, q, nq), *bk = upload(devs[x], c->dtype, k, nk),
                      *bv = upload(devs[x], c->dtype, v, nk);
        float *zeros = calloc(nq + 1, 4);
        elattn_buffer *bo = upload(devs[x], c->dtype, zeros, nq);
        free(zeros);
        size_t nl = (size_t)cu_q[c->batch] * c->Hq;
        elattn_buffer *bl = NULL;
        if (c->lse) CHECK(elattn_buffer_alloc(devs[x], nl * 4 + 4, &bl));
        elattn_buffer *bm = upload_raw(devs[x], mask, mask_bytes);
        elattn_buffer *ws = workspace(devs[x], elattn_attn_plan_workspace_size(plan));
        elattn_attn_args a = {.struct_size = sizeof(elattn_attn_args), .q = bq, .k = bk, .v = bv, .o = bo, .lse = bl, .cu_seqlens_q = cu_q,
                              .cu_seqlens_k = cu_k, .modes = modes, .block_mask = bm, .workspace = ws};
        CHECK(elattn_attn_run(plan, NULL, &a));
        if (x == 1 && timing) {
            elattn_event *e0, *e1;
            CHECK(elattn_event_create(devs[x], &e0));
            CHECK(elattn_event_create(devs[x], &e1));
            CHECK(elattn_event_record(e0, NULL));
            CHECK(elattn_attn_run(plan, NULL, &a));
            CHECK(elattn_event_record(e1, NULL));
            float f;
            CHECK(elattn_event_elapsed_ms(e0, e1, &f));
            ms = f;
            elattn_event_destroy(e0);
            elattn_event_destroy(e1);
        }
        out[x] = download(bo, c->dtype, nq);
        if (c->lse) lse[x] = download(bl, ELATTN_F32, nl);
        elattn_buffer_free(bq), elattn_buffer_free(bk), elattn_buffer_free(bv), elattn_buffer_free(bo);
        elattn_buffer_free(bl), elattn_buffer_free(bm), elattn_buffer_free(ws);
        elattn_attn_plan_destroy(plan);
    }
    /* tolerance: fp32 accumulation differences plus one output rounding */
    double tol = c->dtype == ELATTN_F32 ? 2e-5 : c->dtype == ELATTN_F16 ? 2e-3 : 1.6e-2;
    double max_err = 0, max_lse = 0;
    int bad = 0;
    for (size_t i = 0; i < nq; ++i) {
        double e = fabs((double)out[0][i] - out[1][i]);
        if (!(e <= tol)) bad++;
        if (e > max_err || isnan(e)) max_err = e;
    }
    size_t nl = (size_t)cu_q[c->batch] * c->Hq;
    for (size_t i = 0; c->lse && i < nl; ++i) {
        double a = lse[0][i], b = lse[1][i];
        if (isinf(a) || isinf(b)) {
            if (a != b) bad++, max_lse = INFINITY;
            continue;
        }
        double e = fabs(a - b);
        if (!(e <= 1e-4 * (1 + fabs(a)))) bad++;
        if (e > max_lse || isnan(e)) max_lse = e;
    }
    int ok = bad == 0;
    failures += !ok;
    printf("%-4s attn %-34s %-44s max|dO| %.2e max|dLSE| %.2e", ok ? "ok" : "FAIL", c->name, kname, max_err, max_lse);
    if (timing) printf("  %.2f ms", ms);
    printf("\n");
    free(q), free(k), free(v), free(mask), free(out[0]), free(out[1]), free(lse[0]), free(lse[1]);
}

/* ---- XAttention ------------------------------------------------------------------ */
static void run_xattn(const char *name, elattn_dtype dtype, int D, int Hq, int Hkv, int batch, const int *lq,
                      const int *lk, int causal, int stride, int block, float tau, int mixed_modes)
{
    if (filter && !strstr(name, filter)) return;
    ++cases;
    elattn_xattn_desc d = {.struct_size = sizeof(elattn_xattn_desc), .dtype = dtype, .head_dim = D, .num_q_heads = Hq, .num_kv_heads = Hkv, .batch = batch,
                           .causal = causal, .stride = stride, .block_size = block};
    int32_t cu_q[5] = {0}, cu_k[5] = {0};
    for (int b = 0; b < batch; ++b) {
        cu_q[b + 1] = cu_q[b] + lq[b];
        cu_k[b + 1] = cu_k[b] + lk[b];
        if (lq[b] > d.max_seqlen_q) d.max_seqlen_q = lq[b];
        if (lk[b] > d.max_seqlen_k) d.max_seqlen_k = lk[b];
    }
    size_t nq = (size_t)cu_q[batch] * Hq * D, nk = (size_t)cu_k[batch] * Hkv * D;
    float *q = malloc((nq + 1) * 4), *k = malloc((nk + 1) * 4);
    for (size_t i = 0; i < nq; ++i) q[i] = (float)(urand() * 2 - 1);
    for (size_t i = 0; i < nk; ++i) k[i] = (float)(urand() * 2 - 1);
    int32_t modes[64];
    for (int i = 0; i < batch * Hkv; ++i) modes[i] = mixed_modes ? i % 3 : ELATTN_BLOCK_SPARSE;
    int mqb = (d.max_seqlen_q + block - 1) / block, mkb = (d.max_seqlen_k + block - 1) / block;
    size_t mask_bytes = (size_t)batch * Hkv * mqb * mkb;
    uint8_t *masks[2];
    elattn_device *devs[2] = {ref_dev, ocl_dev};
    const char *kname = "";
    for (int x = 0; x < 2; ++x) {
        elattn_xattn_plan *plan;
        CHECK(elattn_xattn_plan_create(devs[x], &d, NULL, &plan));
        if (x == 1) kname = elattn_xattn_plan_kernel_name(plan);
        elattn_buffer *bq = upload(devs[x], dtype, q, nq), *bk = upload(devs[x], dtype, k, nk);
        uint8_t *fill = malloc(mask_bytes);
        memset(fill, 0x77, mask_bytes); /* untouched rows must stay 0x77 */
        elattn_buffer *bm = upload_raw(devs[x], fill, mask_bytes);
        elattn_buffer *ws = workspace(devs[x], elattn_xattn_plan_workspace_size(plan));
        elattn_xattn_args a = {.struct_size = sizeof(elattn_xattn_args), .q = bq, .k = bk, .cu_seqlens_q = cu_q, .cu_seqlens_k = cu_k,
                               .modes = modes, .thresholds = &tau, .num_thresholds = 1, .block_mask = bm,
                               .workspace = ws};
        CHECK(elattn_xattn_run(plan, NULL, &a));
        CHECK(elattn_buffer_download(bm, 0, fill, mask_bytes, NULL));
        masks[x] = fill;
        elattn_buffer_free(bq), elattn_buffer_free(bk), elattn_buffer_free(bm), elattn_buffer_free(ws);
        elattn_xattn_plan_destroy(plan);
    }
    size_t diff = 0, set = 0;
    for (size_t i = 0; i < mask_bytes; ++i) {
        diff += (masks[0][i] != 0) != (masks[1][i] != 0) || (masks[0][i] == 0x77) != (masks[1][i] == 0x77);
        set += masks[0][i] == 1;
        if (getenv("OCL_CHECK_VERBOSE") && masks[0][i] != masks[1][i])
            printf("  cell b %zu hk %zu qb %zu kb %zu: reference %d opencl %d\n", i / ((size_t)Hkv * mqb * mkb),
                   i / ((size_t)mqb * mkb) % Hkv, i / mkb % mqb, i % mkb, masks[0][i], masks[1][i]);
    }
    int ok = diff == 0;
    failures += !ok;
    printf("%-4s xattn %-33s %-44s cells %zu set %zu differ %zu\n", ok ? "ok" : "FAIL", name, kname, mask_bytes, set,
           diff);
    free(q), free(k), free(masks[0]), free(masks[1]);
}

/* ---- router ------------------------------------------------------------------------ */
static void run_router(const char *name, elattn_dtype dtype, int D, int Hkv, int batch, const int *len)
{
    if (filter && !strstr(name, filter)) return;
    ++cases;
    int R = 4 * D;
    elattn_router_desc d = {.struct_size = sizeof(elattn_router_desc), .key_dtype = dtype, .head_dim = D, .hidden = R, .num_kv_heads = Hkv, .batch = batch,
                            .retrieval_mode = ELATTN_FULL, .sparse_mode = ELATTN_STREAMING};
    int32_t cu[5] = {0};
    for (int b = 0; b < batch; ++b) {
        cu[b + 1] = cu[b] + len[b];
        if (len[b] > d.max_seqlen) d.max_seqlen = len[b];
    }
    size_t nk = (size_t)cu[batch] * Hkv * D;
    float *keys = malloc(nk * 4);
    for (size_t i = 0; i < nk; ++i) keys[i] = (float)(urand() * 2 - 1 + 0.3 * ((i / D) % 3));
    size_t sizes[10] = {(size_t)R * D, R, (size_t)D * R, D, (size_t)R * D, R, (size_t)D * R, D, 2 * (size_t)D, 2};
    float *w[10];
    for (int i = 0; i < 10; ++i) {
        w[i] = malloc(sizes[i] * 4);
        for (size_t j = 0; j < sizes[i]; ++j) w[i][j] = (float)((urand() * 2 - 1) * 2.0 / sqrt((double)D));
    }
    int32_t modes[2][64];
    float *logits[2];
    elattn_device *devs[2] = {ref_dev, ocl_dev};
    for (int x = 0; x < 2; ++x) {
        elattn_router_plan *plan;
        CHECK(elattn_router_plan_create(devs[x], &d, NULL, &plan));
        elattn_buffer *bk = upload(devs[x], dtype, keys, nk), *bw[10];
        for (int i = 0; i < 10; ++i) bw[i] = upload(devs[x], ELATTN_F32, w[i], sizes[i]);
        elattn_buffer *bl;
        CHECK(elattn_buffer_alloc(devs[x], (size_t)batch * Hkv * 2 * 4, &bl));
        elattn_buffer *ws = workspace(devs[x], elattn_router_plan_workspace_size(plan));
        elattn_router_args a = {.struct_size = sizeof(elattn_router_args), .keys = bk, .cu_seqlens = cu,
                                .weights = {bw[0], bw[1], bw[2], bw[3], bw[4], bw[5], bw[6], bw[7], bw[8], bw[9]},
                                .logits = bl, .modes = modes[x], .workspace = ws};
        CHECK(elattn_router_run(plan, NULL, &a));
        logits[x] = download(bl, ELATTN_F32, (size_t)batch * Hkv * 2);
        elattn_buffer_free(bk), elattn_buffer_free(bl), elattn_buffer_free(ws);
        for (int i = 0; i < 10; ++i) elattn_buffer_free(bw[i]);
        elattn_router_plan_destroy(plan);
    }
    double max_err = 0;
    int bad = 0, ones = 0;
    for (int i = 0; i < batch * Hkv; ++i) {
        bad += modes[0][i] != modes[1][i];
        ones += modes[0][i] == ELATTN_FULL;
        for (int j = 0; j < 2; ++j) {
            double e = fabs((double)logits[0][2 * i + j] - logits[1][2 * i + j]);
            if (!(e <= 1e-3 * (1 + fabs((double)logits[0][2 * i + j])))) bad++;
            if (e > max_err) max_err = e;
        }
    }
    int ok = bad == 0;
    failures += !ok;
    printf("%-4s router %-32s decisions %d (%d full) max|dlogit| %.2e\n", ok ? "ok" : "FAIL", name, batch * Hkv, ones,
           max_err);
    free(keys), free(logits[0]), free(logits[1]);
    for (int i = 0; i < 10; ++i) free(w[i]);
}

/* ---- one plan, several threads ------------------------------------------------------
 * Each thread runs the shared plan on its own stream, output and workspace; the
 * kernel is deterministic, so every thread's O must equal a single-threaded run's. */
typedef struct thread_job {
    const elattn_attn_plan *plan;
    elattn_attn_args args; /* o and workspace are the thread's own */
    int status;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    elattn_stream *stream;
    job->status = elattn_stream_create(ocl_dev, &stream);
    for (int i = 0; i < 20 && job->status == ELATTN_SUCCESS; ++i) job->status = elattn_attn_run(job->plan, stream, &job->args);
    if (job->status == ELATTN_SUCCESS) job->status = elattn_stream_synchronize(stream);
    elattn_stream_destroy(stream);
    return NULL;
}

static void run_threads(void)
{
    if (filter && !strstr("threads", filter)) return;
    ++cases;
    enum { T = 4, L = 300, H = 4, HKV = 2, D = 64 };
    elattn_attn_desc d = {.struct_size = sizeof(elattn_attn_desc), .dtype = ELATTN_F16, .head_dim = D, .num_q_heads = H, .num_kv_heads = HKV, .batch = 1,
                          .max_seqlen_q = L, .max_seqlen_k = L, .causal = 1, .sink = 4, .local = 64,
                          .block_size = 64, .write_lse = 0};
    int32_t cu[2] = {0, L}, modes[HKV] = {ELATTN_FULL, ELATTN_STREAMING};
    size_t n = (size_t)L * H * D, nk = (size_t)L * HKV * D;
    float *x = malloc(n * 4);
    for (size_t i = 0; i < n; ++i) x[i] = (float)(urand() * 2 - 1);
    elattn_attn_plan *plan;
    CHECK(elattn_attn_plan_create(ocl_dev, &d, NULL, &plan));
    elattn_buffer *q = upload(ocl_dev, d.dtype, x, n), *k = upload(ocl_dev, d.dtype, x, nk),
                  *v = upload(ocl_dev, d.dtype, x + nk, nk);
    thread_job jobs[T + 1];
    pthread_t tid[T];
    for (int t = 0; t <= T; ++t) {
        jobs[t].plan = plan;
        jobs[t].args = (elattn_attn_args){.struct_size = sizeof(elattn_attn_args), .q = q, .k = k, .v = v, .cu_seqlens_q = cu, .cu_seqlens_k = cu,
                                          .modes = modes};
        CHECK(elattn_buffer_alloc(ocl_dev, n * 2, &jobs[t].args.o));
        jobs[t].args.workspace = workspace(ocl_dev, elattn_attn_plan_workspace_size(plan));
    }
    CHECK(elattn_attn_run(plan, NULL, &jobs[T].args)); /* the single-threaded answer */
    for (int t = 0; t < T; ++t) pthread_create(&tid[t], NULL, thread_main, &jobs[t]);
    for (int t = 0; t < T; ++t) pthread_join(tid[t], NULL);
    float *want = download(jobs[T].args.o, d.dtype, n);
    int bad = 0;
    for (int t = 0; t < T; ++t) {
        if (jobs[t].status != ELATTN_SUCCESS) {
            bad++;
            continue;
        }
        float *got = download(jobs[t].args.o, d.dtype, n);
        bad += memcmp(got, want, n * 4) != 0;
        free(got);
    }
    failures += bad != 0;
    printf("%-4s threads: %d threads x 20 runs of one plan, %d differ from the single-threaded run\n",
           bad ? "FAIL" : "ok", T, bad);
    for (int t = 0; t <= T; ++t) elattn_buffer_free(jobs[t].args.o), elattn_buffer_free(jobs[t].args.workspace);
    elattn_buffer_free(q), elattn_buffer_free(k), elattn_buffer_free(v);
    elattn_attn_plan_destroy(plan);
    free(x), free(want);
}

int main(int argc, char **argv)
{
    const char *device = "opencl";
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--time") == 0) timing = 1;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) device = argv[++i];
        else filter = argv[i];
    }
    CHECK(elattn_device_open_by_name("reference", &ref_dev));
    if (elattn_device_open_by_name(device, &ocl_dev) != ELATTN_SUCCESS) {
        fprintf(stderr, "no OpenCL device: %s\n", elattn_last_error());
        return 77;
    }
    elattn_device_info info;
    CHECK(elattn_device_info_of(ocl_dev, &info));
    printf("device %s: %s (%s, %s), wave %d, caps 0x%x\n", info.id, info.name, info.vendor, info.arch, info.wave_size,
           info.caps);

    const attn_case attn[] = {
        {"full.f32.d64.len1", ELATTN_F32, 64, 2, 2, 1, {1}, {1}, 1, 4, 16, 64, 1, 0, 1, 0, 0, 0},
        {"full.f32.d64.len17", ELATTN_F32, 64, 4, 1, 1, {17}, {17}, 1, 4, 16, 64, 1, 0, 1},
        {"full.f32.d128.len113.gqa4", ELATTN_F32, 128, 8, 2, 1, {113}, {113}, 1, 4, 16, 64, 1, 0, 1},
        {"full.bf16.d128.len203.gqa8", ELATTN_BF16, 128, 8, 1, 1, {203}, {203}, 1, 4, 16, 64, 1, 0, 1},
        {"full.f16.d64.batch3", ELATTN_F16, 64, 4, 2, 3, {17, 113, 60}, {17, 113, 60}, 1, 4, 16, 64, 1, 0, 1},
        {"stream.f32.d64.len203", ELATTN_F32, 64, 2, 2, 1, {203}, {203}, 1, 5, 40, 64, 1, 1, 1},
        {"stream.f32.d64.noncausal.sinks", ELATTN_F32, 64, 4, 2, 1, {203}, {203}, 0, 64, 8, 64, 1, 1, 1, 0, 0, 0},
        {"stream.f16.d128.batch3.mqa", ELATTN_F16, 128, 4, 1, 3, {1, 113, 200}, {1, 113, 200}, 1, 3, 33, 64, 1, 1, 1},
        {"sparse.f32.d64.len203.empty", ELATTN_F32, 64, 4, 2, 1, {203}, {203}, 1, 4, 16, 32, 1, 2, 0.3},
        {"sparse.bf16.d128.batch3", ELATTN_BF16, 128, 4, 2, 3, {17, 113, 203}, {17, 113, 203}, 1, 4, 16, 16, 1, 2, 0.5},
        {"mixed.f32.d64.batch3.gqa4", ELATTN_F32, 64, 8, 2, 3, {40, 113, 77}, {40, 113, 77}, 1, 4, 24, 32, 1, 3, 0.4},
        {"mixed.f16.d128.lq<lk", ELATTN_F16, 128, 4, 2, 2, {17, 50}, {100, 203}, 1, 8, 32, 32, 1, 3, 0.5},
        {"mixed.f32.d64.noncausal", ELATTN_F32, 64, 4, 2, 2, {60, 113}, {90, 113}, 0, 4, 20, 32, 1, 3, 0.5},
        {"mixed.bf16.d64.lq>lk", ELATTN_BF16, 64, 4, 4, 1, {100}, {40}, 1, 2, 16, 32, 1, 3, 0.6},
        {"mixed.f32.d64.zero-length", ELATTN_F32, 64, 2, 1, 3, {0, 30, 20}, {10, 30, 0}, 1, 2, 8, 16, 1, 3, 0.7},
        {"mixed.f32.d256.batch2", ELATTN_F32, 256, 4, 2, 2, {50, 70}, {50, 70}, 1, 4, 16, 32, 1, 3, 0.5},
        {"full.f32.d64.nolse", ELATTN_F32, 64, 2, 2, 1, {70}, {70}, 1, 4, 16, 64, 0, 0, 1},
        {"full.f32.d64.len1000", ELATTN_F32, 64, 2, 1, 1, {1000}, {1000}, 1, 4, 16, 64, 1, 0, 1},
        {"mixed.f32.d128.tiles16x64w64", ELATTN_F32, 128, 8, 2, 1, {150}, {150}, 1, 4, 30, 32, 1, 3, 0.5, 16, 64, 64},
        {"mixed.f16.d64.tiles64x16w128", ELATTN_F16, 64, 2, 2, 1, {150}, {150}, 1, 4, 30, 32, 1, 3, 0.5, 64, 16, 128},
    };
    for (size_t i = 0; i < sizeof attn / sizeof attn[0]; ++i) run_attn(&attn[i]);
    /* a mid-size case for the timing report (the reference takes a while) */
    const attn_case mid = {"mid.bf16.d128.L2048.gqa4.mixed", ELATTN_BF16, 128, 8, 2, 1, {2048}, {2048}, 1, 64, 256,
                           64, 1, 3, 0.3};
    if (timing) run_attn(&mid);

    const int l1[] = {203}, l3q[] = {17, 130, 260}, lq_short[] = {70, 33}, lk_long[] = {200, 150};
    run_xattn("xattn.f32.d64.s16b64", ELATTN_F32, 64, 4, 2, 1, l1, l1, 1, 16, 64, 0.9f, 0);
    run_xattn("xattn.bf16.d128.s8b32.batch3", ELATTN_BF16, 128, 8, 2, 3, l3q, l3q, 1, 8, 32, 0.8f, 1);
    run_xattn("xattn.f16.d64.s4b16.lq<lk", ELATTN_F16, 64, 2, 2, 2, lq_short, lk_long, 1, 4, 16, 0.9f, 0);
    run_xattn("xattn.f32.d64.s16b128.noncausal", ELATTN_F32, 64, 2, 1, 2, lq_short, lk_long, 0, 16, 128, 0.9f, 0);
    run_xattn("xattn.f32.d64.s1b16", ELATTN_F32, 64, 2, 2, 1, l1, l1, 1, 1, 16, 0.95f, 0);

    const int r1[] = {150}, r3[] = {1, 250, 199};
    run_router("router.f32.d64", ELATTN_F32, 64, 4, 1, r1);
    run_router("router.bf16.d128.batch3", ELATTN_BF16, 128, 8, 3, r3);

    run_threads();

    printf("%d of %d cases passed\n", cases - failures, cases);
    elattn_device_close(ocl_dev);
    elattn_device_close(ref_dev);
    return failures ? 1 : 0;
}

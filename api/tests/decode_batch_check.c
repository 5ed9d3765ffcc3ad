/*
 * Decode runs with a batch (elattn_decode_batch_create), kernels/SPEC.md section 9, on one device
 * (argv[1]: "reference", "opencl", "cuda", ...):
 *  - a batch made after prefill serves every later step as the sequences grow (the sinks, the
 *    ring filling and wrapping, a FULL and a BLOCK_SPARSE head growing), each step's O and LSE
 *    against an oracle over the whole, un-evicted history (elattn_ref_attention), for every decode
 *    family forced by name on fp32, fp16 and bf16 at head dims 64 and 128 (the portable family must
 *    run them all), split counts from the policy, and 3 at bf16 D 64;
 *  - built with -DDECODE_GRAPH_CUDA and run on "cuda": the batch's run is captured once into a
 *    CUDA graph on a wrapped stream, and each step appends on that stream and replays the graph:
 *    the replay must see the grown lengths (a graph of a plain run would not);
 *  - with a page budget (Quest, section 9b: the BLOCK_SPARSE head of sequence 6 reads 2 of its
 *    scored pages), each step's batch run (or graph replay) against a plain run of the same plan's
 *    twin at that step: the pages chosen at run time from the grown lengths (the selection itself
 *    is checked by the conformance group decode, its `decode/quest` cases);
 *  - refusals: a batch with args.num_seqs, of another plan, of a sequence released since, and
 *    batch_create of a sequence not started, each naming the argument.
 * Exit 0 pass, 1 fail, 77 when the device (or a CUDA GPU, for the graph) is absent or has no decode.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elattn/elattn.h>

#include "api_test.h"

#include "elattn_ref.h"

#include "decode_oracle.h"
#ifdef DECODE_GRAPH_CUDA
#include <cuda_runtime_api.h>
static cudaStream_t cs; /* the engine's stream, wrapped as the runs' elattn_stream */
#endif

enum { HQ = 4, HKV = 2, NSEQ = 3, SINK = 4, LOCAL = 16, MAX_NEW = 4, PAGE = 8, STEPS = 14 };
#define RING (LOCAL + MAX_NEW - 1)

#define EXPECT_FAIL(expr, name)                                                                               \
    do {                                                                                                      \
        elattn_status st_ = (expr);                                                                           \
        EXPECT(st_ == ELATTN_ERROR_INVALID_ARGUMENT && strstr(elattn_last_error(), name),                     \
               "%s: status %d, message \"%s\" (wanted INVALID_ARGUMENT naming %s)", #expr, (int)st_,          \
               elattn_last_error(), name);                                                                    \
    } while (0)

/* Sequence ids 3, 0, 6 (not 0..2: the id-to-row mapping is exercised), their modes, prefill lengths
 * (below sink + local, just below sink + ring: the ring fills and wraps during the steps, and
 * several rings long) and fixed new-token counts. */
static const int32_t ids[NSEQ] = {3, 0, 6};
static const int32_t modes[NSEQ][HKV] = {
    {ELATTN_FULL, ELATTN_STREAMING}, {ELATTN_STREAMING, ELATTN_STREAMING}, {ELATTN_BLOCK_SPARSE, ELATTN_FULL}};
static const int prefill[NSEQ] = {5, SINK + RING - 2, 3 * RING + 7};
static const int32_t num_new[NSEQ] = {1, 3, 2};

/* Appends n[s] random rows to every sequence on `stream` (the first call passes the modes). */
static void append(elattn_device *dev, elattn_kv_cache *cache, elattn_stream *stream, elattn_dtype dt,
                   int d, const int32_t *n, int first, history *h)
{
    const size_t row = (size_t)HKV * d * elattn_dtype_size(dt);
    int total = 0;
    for (int s = 0; s < NSEQ; ++s) total += n[s];
    unsigned char *k = malloc(row * total), *v = malloc(row * total);
    fill(dt, k, (size_t)total * HKV * d), fill(dt, v, (size_t)total * HKV * d);
    for (int s = 0, base = 0; s < NSEQ; base += n[s], ++s) {
        memcpy(h[s].k + row * h[s].len, k + row * base, row * n[s]);
        memcpy(h[s].v + row * h[s].len, v + row * base, row * n[s]);
        h[s].len += n[s];
    }
    elattn_buffer *kb, *vb;
    TRY(elattn_buffer_alloc(dev, row * total, &kb));
    TRY(elattn_buffer_alloc(dev, row * total, &vb));
    TRY(elattn_buffer_upload(kb, 0, k, row * total, stream));
    TRY(elattn_buffer_upload(vb, 0, v, row * total, stream));
    elattn_kv_append_args aa = {.struct_size = sizeof aa, .num_seqs = NSEQ, .seq_ids = ids, .num_tokens = n,
                                .modes = first ? &modes[0][0] : NULL, .k = kb, .v = vb};
    TRY(elattn_kv_cache_append(cache, stream, &aa));
    TRY(elattn_stream_synchronize(stream)); /* the copies read kb and vb */
    elattn_buffer_free(kb), elattn_buffer_free(vb);
    free(k), free(v);
}

/* One family (forced), dtype, head dim d, split count and page budget (0: none); `graph`: capture the
 * batch's run into a CUDA graph (stream is the wrapped one). Returns 0 when the family cannot run them
 * (reported; a failure when `must_run`). */
static int run_family(elattn_device *dev, elattn_stream *stream, const char *family, elattn_dtype dt, int d,
                      int splits, int budget, int graph, int must_run)
{
    const size_t es = elattn_dtype_size(dt), row = (size_t)HKV * d * es;
    const decode_shape shape = {.hq = HQ, .hkv = HKV, .d = d, .sink = SINK, .local = LOCAL, .max_new = MAX_NEW};
    const int max_tokens = prefill[2] + STEPS * MAX_NEW;
    elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = dt, .head_dim = d, .num_kv_heads = HKV,
                               .page_size = PAGE, .num_pages = 1024, .max_sequences = 8, .max_tokens = max_tokens,
                               .sink = SINK, .local = LOCAL, .max_new_tokens = MAX_NEW, .page_summaries = budget > 0};
    elattn_kv_cache *cache;
    TRY(elattn_kv_cache_create(dev, &cd, &cache));
    const elattn_plan_options opt = {.struct_size = sizeof opt, .kernel = family};
    elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = HQ, .max_batch = NSEQ, .write_lse = 1,
                             .num_splits = splits, .page_budget = budget};
    elattn_decode_plan *plan, *plain = NULL; /* plain: with a budget, the oracle's plan (plain runs) */
    elattn_status st = elattn_decode_plan_create(cache, &dd, &opt, &plan);
    if (st == ELATTN_ERROR_UNSUPPORTED && !must_run) {
        printf("unsupported %s %s d=%d: %s\n", family, elattn_dtype_name(dt), d, elattn_last_error());
        elattn_kv_cache_destroy(cache);
        return 0;
    }
    TRY(st);
    if (budget) TRY(elattn_decode_plan_create(cache, &dd, &opt, &plain));
    history h[NSEQ];
    for (int s = 0; s < NSEQ; ++s) h[s].k = malloc(row * max_tokens), h[s].v = malloc(row * max_tokens), h[s].len = 0;
    int32_t n0[NSEQ];
    for (int s = 0; s < NSEQ; ++s) n0[s] = prefill[s];
    append(dev, cache, stream, dt, d, n0, 1, h);

    int32_t unstarted[NSEQ] = {ids[0], 1, ids[2]}, too_many[NSEQ] = {1, MAX_NEW + 1, 1};
    elattn_decode_batch *batch = NULL;
    EXPECT_FAIL(elattn_decode_batch_create(plan, cache, NSEQ, unstarted, num_new, &batch), "seq_ids[1]");
    EXPECT_FAIL(elattn_decode_batch_create(plan, cache, NSEQ, ids, too_many, &batch), "num_new[1]");
    TRY(elattn_decode_batch_create(plan, cache, NSEQ, ids, num_new, &batch));

    int total = 0;
    for (int s = 0; s < NSEQ; ++s) total += num_new[s];
    const size_t qbytes = (size_t)total * HQ * d * es, lbytes = sizeof(float) * total * HQ;
    unsigned char *q = malloc(qbytes), *o = malloc(qbytes), *o_ref = malloc(qbytes);
    float *lse = malloc(lbytes), *lse_ref = malloc(lbytes);
    elattn_buffer *qb, *ob, *lb, *ob_plain = NULL, *lb_plain = NULL;
    TRY(elattn_buffer_alloc(dev, qbytes, &qb));
    TRY(elattn_buffer_alloc(dev, qbytes, &ob));
    TRY(elattn_buffer_alloc(dev, lbytes, &lb));
    if (budget) {
        TRY(elattn_buffer_alloc(dev, qbytes, &ob_plain));
        TRY(elattn_buffer_alloc(dev, lbytes, &lb_plain));
    }
    const elattn_decode_args da = {.struct_size = sizeof da, .q = qb, .o = ob, .lse = lb, .batch = batch};
    {   /* refusals of a run with a batch */
        elattn_decode_args bad = da;
        bad.num_seqs = NSEQ;
        EXPECT_FAIL(elattn_decode_run(plan, cache, stream, &bad), "args.num_seqs");
        elattn_decode_plan *other;
        TRY(elattn_decode_plan_create(cache, &dd, &opt, &other));
        EXPECT_FAIL(elattn_decode_run(other, cache, stream, &da), "args.batch");
        elattn_decode_plan_destroy(other);
    }
#ifdef DECODE_GRAPH_CUDA
    cudaGraphExec_t exec = NULL;
#else
    (void)graph;
#endif
    const double tol = dt == ELATTN_F32 ? 2e-5 : dt == ELATTN_F16 ? 2e-3 : 1.6e-2;
    double worst_all = 0.0;
    for (int step = 0; step < STEPS; ++step) {
        append(dev, cache, stream, dt, d, num_new, 0, h);
        fill(dt, q, (size_t)total * HQ * d);
        TRY(elattn_buffer_upload(qb, 0, q, qbytes, stream));
        if (!budget) decode_oracle(&shape, dt, NSEQ, num_new, h, &modes[0][0], q, o_ref, lse_ref);
#ifdef DECODE_GRAPH_CUDA
        if (graph) {
            if (!exec) { /* captured once, at the first step's lengths */
                cudaGraph_t g;
                cudaError_t e = cudaStreamBeginCapture(cs, cudaStreamCaptureModeThreadLocal);
                st = e == cudaSuccess ? elattn_decode_run(plan, cache, stream, &da) : ELATTN_ERROR_BACKEND;
                cudaError_t e2 = cudaStreamEndCapture(cs, &g);
                if (e != cudaSuccess || st != ELATTN_SUCCESS || e2 != cudaSuccess ||
                    cudaGraphInstantiate(&exec, g, 0) != cudaSuccess) {
                    printf("FAIL: capture: %s / %s / %s\n", cudaGetErrorString(e), st ? elattn_last_error() : "ok",
                           cudaGetErrorString(e2));
                    exit(1);
                }
                cudaGraphDestroy(g);
            }
            const cudaError_t e = cudaGraphLaunch(exec, cs);
            EXPECT(e == cudaSuccess, "cudaGraphLaunch: %s", cudaGetErrorString(e));
        } else
#endif
            TRY(elattn_decode_run(plan, cache, stream, &da));
        TRY(elattn_buffer_download(ob, 0, o, qbytes, stream));
        TRY(elattn_buffer_download(lb, 0, lse, lbytes, stream));
        if (budget) { /* the oracle: a plain run at this step's lengths */
            const elattn_decode_args pa = {.struct_size = sizeof pa, .num_seqs = NSEQ, .seq_ids = ids,
                                           .num_new = num_new, .q = qb, .o = ob_plain, .lse = lb_plain};
            TRY(elattn_decode_run(plain, cache, stream, &pa));
            TRY(elattn_buffer_download(ob_plain, 0, o_ref, qbytes, stream));
            TRY(elattn_buffer_download(lb_plain, 0, lse_ref, lbytes, stream));
        }
        double worst = 0.0, worst_lse = 0.0;
        for (size_t i = 0; i < (size_t)total * HQ * d; ++i) {
            const double e = fabs(elattn_ref_load(dt, o, i) - elattn_ref_load(dt, o_ref, i));
            if (!(e <= worst)) worst = e;
        }
        for (int i = 0; i < total * HQ; ++i) {
            const double e = fabs((double)lse[i] - (double)lse_ref[i]);
            if (!(e <= worst_lse)) worst_lse = e;
        }
        EXPECT(worst <= tol && worst_lse <= 1e-4, "%s %s splits %d budget %d%s step %d (lengths %d %d %d): max |O - oracle| "
               "%.3g (tol %.3g), max |LSE - oracle| %.3g", family, elattn_dtype_name(dt), splits, budget,
               graph ? " graph" : "", step, h[0].len, h[1].len, h[2].len, worst, tol, worst_lse);
        if (worst > worst_all) worst_all = worst;
    }
#ifdef DECODE_GRAPH_CUDA
    if (exec) cudaGraphExecDestroy(exec);
#endif
    printf("ok   %s %s d=%d splits %d%s%s: %d steps with one batch, lengths %d->%d %d->%d %d->%d, max error %.2g\n",
           elattn_decode_plan_kernel(plan), elattn_dtype_name(dt), d, splits,
           budget ? ", with a Quest page budget (against plain runs)" : "", graph ? ", replayed from a CUDA graph" : "",
           STEPS, prefill[0], h[0].len, prefill[1], h[1].len, prefill[2], h[2].len, worst_all);

    TRY(elattn_kv_cache_release(cache, ids[1])); /* a batch's sequence gone: its runs are refused */
    EXPECT_FAIL(elattn_decode_run(plan, cache, stream, &da), "args.batch's sequence[1]");
    {   /* started again under its id with other modes: the batch's metadata holds the old ones */
        elattn_buffer *kv;
        TRY(elattn_buffer_alloc(dev, row * 8, &kv));
        TRY(elattn_buffer_fill(kv, 0, 0, row * 8, stream));
        const int32_t id = ids[1], eight = 8, full[HKV] = {ELATTN_FULL, ELATTN_FULL};
        elattn_kv_append_args aa = {.struct_size = sizeof aa, .num_seqs = 1, .seq_ids = &id, .num_tokens = &eight,
                                    .modes = full, .k = kv, .v = kv};
        TRY(elattn_kv_cache_append(cache, stream, &aa));
        EXPECT_FAIL(elattn_decode_run(plan, cache, stream, &da), "started again with other modes");
        elattn_buffer_free(kv);
    }
    elattn_decode_batch_destroy(batch);
    elattn_buffer_free(qb), elattn_buffer_free(ob), elattn_buffer_free(lb);
    elattn_buffer_free(ob_plain), elattn_buffer_free(lb_plain);
    elattn_decode_plan_destroy(plain);
    free(q), free(o), free(o_ref), free(lse), free(lse_ref);
    for (int s = 0; s < NSEQ; ++s) free(h[s].k), free(h[s].v);
    elattn_decode_plan_destroy(plan);
    elattn_kv_cache_destroy(cache);
    return 1;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "reference";
    elattn_device *dev;
    elattn_stream *stream = NULL;
    int graph = 0;
#ifdef DECODE_GRAPH_CUDA
    int gpus = 0;
    if (strcmp(name, "cuda") != 0 || cudaGetDeviceCount(&gpus) != cudaSuccess || gpus == 0) {
        printf("SKIP: no CUDA GPU for the graph\n");
        return 77;
    }
    if (cudaSetDevice(0) != cudaSuccess || cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking) != cudaSuccess) {
        printf("FAIL: cudaStreamCreate\n");
        return 1;
    }
    TRY(elattn_device_from_cuda(0, NULL, &dev));
    TRY(elattn_stream_wrap(dev, cs, &stream)); /* the engine's stream: captured */
    graph = 1;
#else
    if (elattn_device_open_by_name(name, &dev) != ELATTN_SUCCESS) {
        printf("SKIP: no %s device (%s)\n", name, elattn_last_error());
        return 77;
    }
    TRY(elattn_stream_create(dev, &stream));
#endif
    const char *families[8];
    int nf = 0;
    TRY(elattn_device_kernel_families(dev, ELATTN_OP_DECODE, families, 8, &nf));
    if (nf == 0) {
        printf("SKIP: no decode family on %s\n", name);
        return 77;
    }
    if (nf > 8) nf = 8;
    /* Every family forced by name on every dtype and head dim 64 and 128, split counts from the
     * policy; and 3 splits at bf16 D 64. The last family of a table is the portable one, which must
     * run them all. */
    const elattn_dtype dts[] = {ELATTN_F32, ELATTN_F16, ELATTN_BF16};
    for (int f = 0; f < nf; ++f) {
        for (int i = 0; i < 3; ++i)
            for (int d = 64; d <= 128; d += 64) run_family(dev, stream, families[f], dts[i], d, 0, 0, graph, f == nf - 1);
        run_family(dev, stream, families[f], ELATTN_BF16, 64, 3, 0, graph, f == nf - 1);
        run_family(dev, stream, families[f], ELATTN_BF16, 128, 0, 2, graph, f == nf - 1);
        run_family(dev, stream, families[f], ELATTN_F32, 64, 3, 2, graph, f == nf - 1);
    }
    elattn_stream_destroy(stream);
    elattn_device_close(dev);
#ifdef DECODE_GRAPH_CUDA
    cudaStreamDestroy(cs);
#endif
    printf("%s\n", failures ? "FAILED" : "PASSED");
    return failures ? 1 : 0;
}

/*
 * Decode over the per-head KV cache on one device (argv[1]: "reference", "opencl", ...),
 * kernels/SPEC.md section 9:
 *  - the invariant: after each step, decode's O and LSE for the step's new tokens equal the
 *    last n rows of a prefill over the whole, un-evicted history (elattn_ref_attention with
 *    Lq = n, Lk = len, causal, BLOCK_SPARSE as FULL), computed here from the host's own copy of
 *    every K/V row ever appended: the oracle never sees the cache;
 *  - sequences below sink + local, at the ring boundary and wrapping the ring many times;
 *    steps of 1, 3 and 16 new tokens; mixed modes per sequence; fp32, fp16, bf16; D 64, 128;
 *    split-KV 1, 3 and the plan's choice; guard bytes after O and LSE untouched; all of it
 *    once per decode family the device lists (elattn_device_kernel_families), forced by name;
 *  - the cache's byte count equals pages-in-use arithmetic, and pages come back on release;
 *  - invalid arguments fail with a message naming the argument and change nothing.
 * Exit 0 pass, 1 fail, 77 when the device is not there or has no decode kernel.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elattn/elattn.h>

#include "api_test.h"

#include "elattn_ref.h"

#include "decode_oracle.h"


enum { HQ = 4, HKV = 2, NSEQ = 4, SINK = 4, LOCAL = 16, MAX_NEW = 16, PAGE = 8, GUARD = 64 };
#define RING (LOCAL + MAX_NEW - 1)

static elattn_buffer *alloc_guarded(elattn_device *dev, size_t bytes)
{
    elattn_buffer *b;
    TRY(elattn_buffer_alloc(dev, bytes + GUARD, &b));
    unsigned char *pat = malloc(bytes + GUARD);
    memset(pat, 0xA5, bytes + GUARD);
    TRY(elattn_buffer_upload(b, 0, pat, bytes + GUARD, NULL));
    free(pat);
    return b;
}

static int guard_intact(const elattn_buffer *b, size_t bytes)
{
    unsigned char g[GUARD];
    TRY(elattn_buffer_download(b, bytes, g, GUARD, NULL));
    for (int i = 0; i < GUARD; ++i)
        if (g[i] != 0xA5) return 0;
    return 1;
}

/* Expected pages of one (sequence, head), from the spec's slot count. */
static long pages_of(int mode, long len)
{
    long slots = (long)elattn_kv_slots(mode, SINK, RING, len);
    return (slots + PAGE - 1) / PAGE;
}

/* One dtype and head dim with decode family `family` forced. A family that cannot run them says
 * why (UNSUPPORTED, naming itself) and is reported, not counted as passed; unless `must_run`. */
static void run_dtype_dim(elattn_device *dev, const char *family, int must_run, elattn_dtype dt, int D)
{
    const size_t es = elattn_dtype_size(dt), row = (size_t)HKV * D * es;
    /* Prefill lengths: below sink + local; exactly sink + ring (the ring just full); past it
     * by one page and change; many times around the ring. */
    const int prefill[NSEQ] = {3, SINK + RING, SINK + RING + 11, 9 * RING + 5};
    const int modes[NSEQ][HKV] = {{ELATTN_FULL, ELATTN_STREAMING},
                                  {ELATTN_STREAMING, ELATTN_STREAMING},
                                  {ELATTN_BLOCK_SPARSE, ELATTN_STREAMING},
                                  {ELATTN_STREAMING, ELATTN_FULL}};
    const int steps[] = {1, 3, 16, 1, 16, 3, 16, 16, 1};
    const int nsteps = (int)(sizeof steps / sizeof steps[0]);
    int max_tokens = 0;
    for (int s = 0; s < NSEQ; ++s) {
        int t = prefill[s];
        for (int i = 0; i < nsteps; ++i) t += steps[i];
        if (t > max_tokens) max_tokens = t;
    }
    elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = dt, .head_dim = D, .num_kv_heads = HKV,
                               .page_size = PAGE, .num_pages = 4096, .max_sequences = 8, .max_tokens = max_tokens,
                               .sink = SINK, .local = LOCAL, .max_new_tokens = MAX_NEW};
    elattn_kv_cache *cache;
    TRY(elattn_kv_cache_create(dev, &cd, &cache));
    const int split_choices[] = {1, 3, 0};
    const elattn_plan_options opt = {.struct_size = sizeof opt, .kernel = family};
    elattn_decode_plan *plans[3];
    for (int i = 0; i < 3; ++i) {
        elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = HQ, .max_batch = NSEQ, .write_lse = 1,
                                 .num_splits = split_choices[i]};
        const elattn_status st = elattn_decode_plan_create(cache, &dd, &opt, &plans[i]);
        if (i == 0 && st == ELATTN_ERROR_UNSUPPORTED && !must_run) {
            EXPECT(strstr(elattn_last_error(), family), "%s refused without naming itself: %s", family,
                   elattn_last_error());
            printf("unsupported %s %s D=%d: %s\n", family, elattn_dtype_name(dt), D, elattn_last_error());
            elattn_kv_cache_destroy(cache);
            return;
        }
        TRY(st);
        EXPECT(!strncmp(elattn_decode_plan_kernel(plans[i]), family, strlen(family)), "forced %s, the plan has %s",
               family, elattn_decode_plan_kernel(plans[i]));
    }
    /* Sequence ids 5, 1, 7, 2: not 0..3, so the mapping of id to row is exercised. */
    const int32_t ids[NSEQ] = {5, 1, 7, 2};
    history h[NSEQ];
    for (int s = 0; s < NSEQ; ++s) {
        h[s].k = malloc(row * max_tokens), h[s].v = malloc(row * max_tokens), h[s].len = 0;
    }

    /* Append n[s] rows to every sequence (the first call passes the modes). */
    for (int step = -1; step < nsteps; ++step) {
        int32_t n[NSEQ];
        int total = 0;
        for (int s = 0; s < NSEQ; ++s) n[s] = step < 0 ? prefill[s] : steps[(step + s) % nsteps], total += n[s];
        unsigned char *k = malloc(row * total), *v = malloc(row * total);
        fill(dt, k, (size_t)total * HKV * D), fill(dt, v, (size_t)total * HKV * D);
        int base = 0;
        for (int s = 0; s < NSEQ; ++s) {
            memcpy(h[s].k + row * h[s].len, k + row * base, row * n[s]);
            memcpy(h[s].v + row * h[s].len, v + row * base, row * n[s]);
            h[s].len += n[s], base += n[s];
        }
        elattn_buffer *kb, *vb;
        TRY(elattn_buffer_alloc(dev, row * total, &kb));
        TRY(elattn_buffer_alloc(dev, row * total, &vb));
        TRY(elattn_buffer_upload(kb, 0, k, row * total, NULL));
        TRY(elattn_buffer_upload(vb, 0, v, row * total, NULL));
        elattn_kv_append_args aa = {.struct_size = sizeof aa, .num_seqs = NSEQ, .seq_ids = ids, .num_tokens = n,
                                    .modes = step < 0 ? &modes[0][0] : NULL, .k = kb, .v = vb};
        TRY(elattn_kv_cache_append(cache, NULL, &aa));

        /* Bytes held: the spec's slot count, page by page. */
        long pages = 0;
        for (int s = 0; s < NSEQ; ++s)
            for (int hk = 0; hk < HKV; ++hk) pages += pages_of(modes[s][hk], h[s].len);
        size_t bytes;
        TRY(elattn_kv_cache_bytes(cache, &bytes));
        EXPECT(bytes == (size_t)pages * 2 * PAGE * D * es, "kv bytes %zu, expected %ld pages (%zu)", bytes, pages,
               (size_t)pages * 2 * PAGE * D * es);
        if (step < 0) {
            free(k), free(v), elattn_buffer_free(kb), elattn_buffer_free(vb);
            continue;
        }

        /* Queries of the step, and the oracle over the whole history. */
        const size_t qrow = (size_t)HQ * D * es, qbytes = qrow * total, lbytes = sizeof(float) * total * HQ;
        unsigned char *q = malloc(qbytes), *o_ref = malloc(qbytes), *o = malloc(qbytes);
        float *lse_ref = malloc(lbytes), *lse = malloc(lbytes);
        fill(dt, q, (size_t)total * HQ * D);
        const decode_shape shape = {.hq = HQ, .hkv = HKV, .d = D, .sink = SINK, .local = LOCAL, .max_new = MAX_NEW};
        decode_oracle(&shape, dt, NSEQ, n, h, &modes[0][0], q, o_ref, lse_ref);

        elattn_buffer *qb, *ob = alloc_guarded(dev, qbytes), *lb = alloc_guarded(dev, lbytes);
        TRY(elattn_buffer_alloc(dev, qbytes, &qb));
        TRY(elattn_buffer_upload(qb, 0, q, qbytes, NULL));
        const double tol = dt == ELATTN_F32 ? 2e-5 : dt == ELATTN_F16 ? 2e-3 : 1.6e-2;
        for (int pi = 0; pi < 3; ++pi) {
            elattn_decode_args da = {.struct_size = sizeof da, .num_seqs = NSEQ, .seq_ids = ids, .num_new = n,
                                     .q = qb, .o = ob, .lse = lb};
            TRY(elattn_decode_run(plans[pi], cache, NULL, &da));
            TRY(elattn_buffer_download(ob, 0, o, qbytes, NULL));
            TRY(elattn_buffer_download(lb, 0, lse, lbytes, NULL));
            double worst = 0.0, worst_lse = 0.0;
            for (size_t i = 0; i < (size_t)total * HQ * D; ++i) {
                double e = fabs(elattn_ref_load(dt, o, i) - elattn_ref_load(dt, o_ref, i));
                if (!(e <= worst)) worst = e;
            }
            for (int i = 0; i < total * HQ; ++i) {
                double e = fabs((double)lse[i] - (double)lse_ref[i]);
                if (!(e <= worst_lse)) worst_lse = e;
            }
            EXPECT(worst <= tol && worst_lse <= 1e-4, "%s D=%d step %d splits %d: max |O - oracle| %.3g (tol %.3g), "
                   "max |LSE - oracle| %.3g", elattn_dtype_name(dt), D, step, elattn_decode_plan_splits(plans[pi]),
                   worst, tol, worst_lse);
            EXPECT(guard_intact(ob, qbytes) && guard_intact(lb, lbytes), "%s D=%d step %d: a guard byte changed",
                   elattn_dtype_name(dt), D, step);
        }
        elattn_buffer_free(qb), elattn_buffer_free(ob), elattn_buffer_free(lb);
        free(q), free(o_ref), free(o), free(lse_ref), free(lse);
        free(k), free(v), elattn_buffer_free(kb), elattn_buffer_free(vb);
    }
    printf("ok   %s: %d steps over lengths", elattn_decode_plan_kernel(plans[0]), nsteps);
    for (int s = 0; s < NSEQ; ++s) printf(" %d->%d", prefill[s], h[s].len);
    printf(" (sink %d, local %d, ring %d, page %d)\n", SINK, LOCAL, RING, PAGE);

    /* Release returns every page. */
    for (int s = 0; s < NSEQ; ++s) TRY(elattn_kv_cache_release(cache, ids[s]));
    size_t bytes;
    TRY(elattn_kv_cache_bytes(cache, &bytes));
    EXPECT(bytes == 0, "after release: %zu bytes held", bytes);
    for (int i = 0; i < 3; ++i) elattn_decode_plan_destroy(plans[i]);
    elattn_kv_cache_destroy(cache);
    for (int s = 0; s < NSEQ; ++s) free(h[s].k), free(h[s].v);
}

/* Pages come back on release and are reused: a pool with room for one sequence takes sequence A,
 * releases it, takes sequence B (other data, other modes) in the same pages, and B's decode must
 * match the oracle over B's history alone (stale rows of A would show). fp32, D 64. */
static void reuse_check(elattn_device *dev)
{
    enum { D = 64, LA = 45, LB = 40, NB = 3 };
    const size_t row = (size_t)HKV * D * sizeof(float);
    elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = ELATTN_F32, .head_dim = D, .num_kv_heads = HKV,
                               .page_size = PAGE, .num_pages = 2 * ((LA + PAGE - 1) / PAGE), .max_sequences = 2,
                               .max_tokens = LA, .sink = SINK, .local = LOCAL, .max_new_tokens = MAX_NEW};
    elattn_kv_cache *cache;
    TRY(elattn_kv_cache_create(dev, &cd, &cache));
    float *kv = malloc(row * LA * 2), *q = malloc(sizeof(float) * NB * HQ * D), *o = malloc(sizeof(float) * NB * HQ * D),
          *o_ref = malloc(sizeof(float) * NB * HQ * D), lse[NB * HQ], lse_ref[NB * HQ];
    fill(ELATTN_F32, kv, (size_t)LA * HKV * D * 2);
    fill(ELATTN_F32, q, (size_t)NB * HQ * D);
    elattn_buffer *kb, *vb, *qb, *ob, *lb;
    TRY(elattn_buffer_alloc(dev, row * LA, &kb));
    TRY(elattn_buffer_alloc(dev, row * LA, &vb));
    TRY(elattn_buffer_upload(kb, 0, kv, row * LA, NULL));
    TRY(elattn_buffer_upload(vb, 0, kv + (size_t)LA * HKV * D, row * LA, NULL));
    int32_t id = 1, n = LA, modes_a[HKV] = {ELATTN_FULL, ELATTN_FULL}, modes_b[HKV] = {ELATTN_STREAMING, ELATTN_FULL};
    elattn_kv_append_args aa = {.struct_size = sizeof aa, .num_seqs = 1, .seq_ids = &id, .num_tokens = &n,
                                .modes = modes_a, .k = kb, .v = vb};
    TRY(elattn_kv_cache_append(cache, NULL, &aa)); /* A fills the pool */
    TRY(elattn_kv_cache_release(cache, 1));
    /* B: its history is A's rows reversed (other data in the same pages), appended as LB then NB. */
    float *kb_host = malloc(row * (LB + NB)), *vb_host = malloc(row * (LB + NB));
    for (int t = 0; t < LB + NB; ++t) {
        memcpy((char *)kb_host + row * t, (char *)kv + row * (LA - 1 - t), row);
        memcpy((char *)vb_host + row * t, (char *)(kv + (size_t)LA * HKV * D) + row * (LA - 1 - t), row);
    }
    TRY(elattn_buffer_upload(kb, 0, kb_host, row * (LB + NB), NULL));
    TRY(elattn_buffer_upload(vb, 0, vb_host, row * (LB + NB), NULL));
    id = 0, n = LB, aa.modes = modes_b;
    TRY(elattn_kv_cache_append(cache, NULL, &aa));
    elattn_buffer *ks, *vs; /* the step's rows: views at row LB (offsets are multiples of 256 bytes) */
    TRY(elattn_buffer_view(kb, row * LB, row * NB, &ks));
    TRY(elattn_buffer_view(vb, row * LB, row * NB, &vs));
    n = NB, aa.modes = NULL, aa.k = ks, aa.v = vs;
    TRY(elattn_kv_cache_append(cache, NULL, &aa));
    elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = HQ, .max_batch = 1, .write_lse = 1, .num_splits = 2};
    elattn_decode_plan *plan;
    TRY(elattn_decode_plan_create(cache, &dd, NULL, &plan));
    TRY(elattn_buffer_alloc(dev, sizeof(float) * NB * HQ * D, &qb));
    TRY(elattn_buffer_alloc(dev, sizeof(float) * NB * HQ * D, &ob));
    TRY(elattn_buffer_alloc(dev, sizeof lse, &lb));
    TRY(elattn_buffer_upload(qb, 0, q, sizeof(float) * NB * HQ * D, NULL));
    int32_t nn = NB;
    elattn_decode_args da = {.struct_size = sizeof da, .num_seqs = 1, .seq_ids = &id, .num_new = &nn, .q = qb, .o = ob,
                             .lse = lb};
    TRY(elattn_decode_run(plan, cache, NULL, &da));
    TRY(elattn_buffer_download(ob, 0, o, sizeof(float) * NB * HQ * D, NULL));
    TRY(elattn_buffer_download(lb, 0, lse, sizeof lse, NULL));
    int32_t cu_q[2] = {0, NB}, cu_k[2] = {0, LB + NB};
    elattn_attn_params p = {.head_dim = D, .num_q_heads = HQ, .num_kv_heads = HKV, .group = HQ / HKV, .batch = 1,
                            .max_seqlen_q = NB, .max_seqlen_k = LB + NB, .causal = 1, .scale = 1.0f / sqrtf((float)D),
                            .sink = SINK, .local = LOCAL, .block_size = 16, .write_lse = 1, .dtype = ELATTN_F32};
    p.scale_log2 = p.scale * 1.4426950408889634f;
    elattn_params_packed_layout(&p);
    TRY(elattn_ref_attention(&p, q, kb_host, vb_host, o_ref, lse_ref, cu_q, cu_k, modes_b, NULL, NULL));
    double worst = 0;
    for (int i = 0; i < NB * HQ * D; ++i) worst = fmax(worst, fabs((double)o[i] - o_ref[i]));
    for (int i = 0; i < NB * HQ; ++i) worst = fmax(worst, fabs((double)lse[i] - lse_ref[i]));
    EXPECT(worst <= 2e-5, "reuse: max |decode - oracle| %.3g after the pages of a released sequence were reused", worst);
    printf("ok   pages reused after release (max error %.2g)\n", worst);
    elattn_buffer_free(ks), elattn_buffer_free(vs), elattn_buffer_free(kb), elattn_buffer_free(vb);
    elattn_buffer_free(qb), elattn_buffer_free(ob), elattn_buffer_free(lb);
    elattn_decode_plan_destroy(plan);
    elattn_kv_cache_destroy(cache);
    free(kv), free(q), free(o), free(o_ref), free(kb_host), free(vb_host);
}

/* Invalid arguments: the status, a message naming the argument, and nothing appended. */
#define EXPECT_FAIL(expr, status, name)                                                                      \
    do {                                                                                                      \
        elattn_status st_ = (expr);                                                                           \
        EXPECT(st_ == (status) && strstr(elattn_last_error(), name), "%s: status %d (wanted %d), message \"%s\" " \
               "does not name %s", #expr, (int)st_, (int)(status), elattn_last_error(), name);                 \
    } while (0)

static void invalid_rows(elattn_device *dev)
{
    const int D = 64;
    elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = ELATTN_F32, .head_dim = D, .num_kv_heads = HKV,
                               .page_size = PAGE, .num_pages = 8, .max_sequences = 4, .max_tokens = 64,
                               .sink = SINK, .local = LOCAL, .max_new_tokens = 4};
    elattn_kv_cache *cache = NULL;
    elattn_kv_cache_desc bad = cd;
    bad.page_size = 12;
    EXPECT_FAIL(elattn_kv_cache_create(dev, &bad, &cache), ELATTN_ERROR_INVALID_ARGUMENT, "desc.page_size");
    bad = cd, bad.max_new_tokens = 17;
    EXPECT_FAIL(elattn_kv_cache_create(dev, &bad, &cache), ELATTN_ERROR_INVALID_ARGUMENT, "desc.max_new_tokens");
    bad = cd, bad.local = 0;
    EXPECT_FAIL(elattn_kv_cache_create(dev, &bad, &cache), ELATTN_ERROR_INVALID_ARGUMENT, "desc.local");
    bad = cd, bad.head_dim = 60;
    EXPECT_FAIL(elattn_kv_cache_create(dev, &bad, &cache), ELATTN_ERROR_INVALID_ARGUMENT, "desc.head_dim");
    bad = cd, bad.struct_size = 0;
    EXPECT_FAIL(elattn_kv_cache_create(dev, &bad, &cache), ELATTN_ERROR_INVALID_ARGUMENT, "desc.struct_size");
    TRY(elattn_kv_cache_create(dev, &cd, &cache));

    const size_t row = (size_t)HKV * D * sizeof(float);
    elattn_buffer *kv;
    TRY(elattn_buffer_alloc(dev, row * 64, &kv));
    int32_t id = 0, n = 20, modes[HKV] = {ELATTN_FULL, ELATTN_STREAMING}, other[HKV] = {1, 1},
            wrong[HKV] = {0, 3};
    elattn_kv_append_args aa = {.struct_size = sizeof aa, .num_seqs = 1, .seq_ids = &id, .num_tokens = &n,
                                .modes = NULL, .k = kv, .v = kv};
    EXPECT_FAIL(elattn_kv_cache_append(cache, NULL, &aa), ELATTN_ERROR_INVALID_ARGUMENT, "args.modes");
    aa.modes = wrong;
    EXPECT_FAIL(elattn_kv_cache_append(cache, NULL, &aa), ELATTN_ERROR_INVALID_ARGUMENT, "args.modes[0][1]");
    aa.modes = modes;
    int32_t big = 65;
    aa.num_tokens = &big;
    EXPECT_FAIL(elattn_kv_cache_append(cache, NULL, &aa), ELATTN_ERROR_INVALID_ARGUMENT, "args.num_tokens[0]");
    int32_t bad_id = 4;
    aa.num_tokens = &n, aa.seq_ids = &bad_id;
    EXPECT_FAIL(elattn_kv_cache_append(cache, NULL, &aa), ELATTN_ERROR_INVALID_ARGUMENT, "args.seq_ids[0]");
    int32_t two[2] = {1, 1}, nn[2] = {1, 1};
    aa.num_seqs = 2, aa.seq_ids = two, aa.num_tokens = nn;
    int32_t modes2[2 * HKV] = {0, 0, 0, 0};
    aa.modes = modes2;
    EXPECT_FAIL(elattn_kv_cache_append(cache, NULL, &aa), ELATTN_ERROR_INVALID_ARGUMENT, "args.seq_ids[1]");
    aa.num_seqs = 1, aa.seq_ids = &id, aa.num_tokens = &n, aa.modes = modes;
    elattn_buffer *small;
    TRY(elattn_buffer_alloc(dev, row * 19, &small));
    aa.k = small;
    EXPECT_FAIL(elattn_kv_cache_append(cache, NULL, &aa), ELATTN_ERROR_BUFFER_TOO_SMALL, "args.k");
    aa.k = kv;
    /* 8 pages: FULL 20 tokens = 3 pages, STREAMING min(20, 4 + 19) = 3 pages: fits; 60 more do not. */
    TRY(elattn_kv_cache_append(cache, NULL, &aa));
    int32_t more = 40;
    aa.num_tokens = &more, aa.modes = NULL;
    EXPECT_FAIL(elattn_kv_cache_append(cache, NULL, &aa), ELATTN_ERROR_OUT_OF_MEMORY, "desc.num_pages");
    aa.num_tokens = &n, aa.modes = other;
    EXPECT_FAIL(elattn_kv_cache_append(cache, NULL, &aa), ELATTN_ERROR_INVALID_ARGUMENT, "modes never change");
    int len = -1;
    TRY(elattn_kv_cache_length(cache, 0, &len));
    EXPECT(len == 20, "failed appends changed the length: %d", len);

    elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = 3, .max_batch = 2};
    elattn_decode_plan *plan = NULL;
    EXPECT_FAIL(elattn_decode_plan_create(cache, &dd, NULL, &plan), ELATTN_ERROR_INVALID_ARGUMENT, "desc.num_q_heads");
    dd.num_q_heads = HQ, dd.num_splits = 257;
    EXPECT_FAIL(elattn_decode_plan_create(cache, &dd, NULL, &plan), ELATTN_ERROR_INVALID_ARGUMENT, "desc.num_splits");
    dd.num_splits = 0;
    TRY(elattn_decode_plan_create(cache, &dd, NULL, &plan));
    elattn_buffer *q, *o;
    TRY(elattn_buffer_alloc(dev, (size_t)4 * HQ * D * sizeof(float), &q));
    TRY(elattn_buffer_alloc(dev, (size_t)4 * HQ * D * sizeof(float), &o));
    int32_t nn1 = 5, unstarted = 3;
    elattn_decode_args da = {.struct_size = sizeof da, .num_seqs = 1, .seq_ids = &id, .num_new = &nn1, .q = q, .o = o};
    EXPECT_FAIL(elattn_decode_run(plan, cache, NULL, &da), ELATTN_ERROR_INVALID_ARGUMENT, "args.num_new[0]");
    nn1 = 4, da.seq_ids = &unstarted;
    EXPECT_FAIL(elattn_decode_run(plan, cache, NULL, &da), ELATTN_ERROR_INVALID_ARGUMENT, "args.seq_ids[0]");
    da.seq_ids = &id, da.o = q;
    EXPECT_FAIL(elattn_decode_run(plan, cache, NULL, &da), ELATTN_ERROR_INVALID_ARGUMENT, "args.o");
    da.o = o, da.num_seqs = 3;
    EXPECT_FAIL(elattn_decode_run(plan, cache, NULL, &da), ELATTN_ERROR_INVALID_ARGUMENT, "args.num_seqs");
    da.num_seqs = 1;
    elattn_kv_cache *other_cache;
    TRY(elattn_kv_cache_create(dev, &cd, &other_cache));
    EXPECT_FAIL(elattn_decode_run(plan, other_cache, NULL, &da), ELATTN_ERROR_INVALID_ARGUMENT, "cache");
    TRY(elattn_decode_run(plan, cache, NULL, &da));
    elattn_kv_cache_destroy(other_cache);
    elattn_decode_plan_destroy(plan);
    elattn_kv_cache_destroy(cache);
    EXPECT_FAIL(elattn_kv_cache_bytes(cache, &(size_t){0}), ELATTN_ERROR_INVALID_ARGUMENT, "cache");
    elattn_buffer_free(q), elattn_buffer_free(o), elattn_buffer_free(kv), elattn_buffer_free(small);
    printf("ok   invalid arguments\n");
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "reference";
    elattn_device *dev;
    if (elattn_device_open_by_name(name, &dev) != ELATTN_SUCCESS) {
        printf("SKIP: no %s device (%s)\n", name, elattn_last_error());
        return 77;
    }
    {   /* a backend without a decode kernel says so at plan time */
        elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = ELATTN_F32, .head_dim = 64, .num_kv_heads = 1,
                                   .page_size = 8, .num_pages = 1, .max_sequences = 1, .max_tokens = 8, .local = 1};
        elattn_kv_cache *c;
        TRY(elattn_kv_cache_create(dev, &cd, &c));
        elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = 1, .max_batch = 1};
        elattn_decode_plan *p;
        elattn_status st = elattn_decode_plan_create(c, &dd, NULL, &p);
        elattn_kv_cache_destroy(c);
        if (st == ELATTN_ERROR_UNSUPPORTED) {
            printf("SKIP: %s\n", elattn_last_error());
            elattn_device_close(dev);
            return 77;
        }
        TRY(st);
        printf("kernel %s\n", elattn_decode_plan_kernel(p));
        elattn_decode_plan_destroy(p);
    }
    /* Every decode family, forced by name; the last of a table is the portable one, which must
     * run every dtype and head dim. */
    const char *families[8];
    int nf = 0;
    TRY(elattn_device_kernel_families(dev, ELATTN_OP_DECODE, families, 8, &nf));
    EXPECT(nf >= 1 && nf <= 8, "%d decode families (1..8 expected)", nf);
    if (nf > 8) nf = 8;
    const elattn_dtype dts[] = {ELATTN_F32, ELATTN_F16, ELATTN_BF16};
    for (int f = 0; f < nf; ++f)
        for (int i = 0; i < 3; ++i) {
            run_dtype_dim(dev, families[f], f == nf - 1, dts[i], 64);
            run_dtype_dim(dev, families[f], f == nf - 1, dts[i], 128);
        }
    reuse_check(dev);
    invalid_rows(dev);
    elattn_device_close(dev);
    printf("%s\n", failures ? "FAILED" : "PASSED");
    return failures ? 1 : 0;
}

/*
 * elattn_merge_states on one device (argv[1]: "reference", "opencl", "cuda"):
 *  - attention over keys [0, a) and [a, L), merged, equals attention over
 *    [0, L) (both computed on the device under test);
 *  - a row with lse1 = -inf gives O2 and lse2; both -inf give O = 0, -inf;
 *  - fp16 output: the merged row rounds once, as the reference merge does;
 *  - bad arguments fail with a message naming them, and write nothing.
 * Exit 0 pass, 1 fail, 77 when the device is not there.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elattn/elattn.h>

#include "api_test.h"

enum { HQ = 4, HKV = 2, D = 64, LQ = 37, L = 101, SPLIT = 40 };

static elattn_buffer *upload(elattn_device *dev, const void *host, size_t bytes)
{
    elattn_buffer *b;
    TRY(elattn_buffer_alloc(dev, bytes, &b));
    TRY(elattn_buffer_upload(b, 0, host, bytes, NULL));
    return b;
}

static void download(const elattn_buffer *b, void *host, size_t bytes)
{
    TRY(elattn_buffer_download(b, 0, host, bytes, NULL));
}

/* Non-causal FULL attention of q over `len_k` keys: O and LSE into the host arrays. */
static void attend(elattn_device *dev, elattn_buffer *q, const float *k, const float *v, int len_k, float *o,
                   float *lse)
{
    elattn_attn_desc desc = {.struct_size = sizeof desc, .dtype = ELATTN_F32, .head_dim = D, .num_q_heads = HQ,
                             .num_kv_heads = HKV, .batch = 1, .max_seqlen_q = LQ, .max_seqlen_k = L,
                             .local = 1, .block_size = 16, .write_lse = 1};
    elattn_attn_plan *plan;
    TRY(elattn_attn_plan_create(dev, &desc, NULL, &plan));
    size_t kv_bytes = sizeof(float) * (size_t)len_k * HKV * D, o_bytes = sizeof(float) * LQ * HQ * D;
    elattn_buffer *bk = upload(dev, k, kv_bytes), *bv = upload(dev, v, kv_bytes), *bo, *bl, *ws = NULL;
    TRY(elattn_buffer_alloc(dev, o_bytes, &bo));
    TRY(elattn_buffer_alloc(dev, sizeof(float) * LQ * HQ, &bl));
    size_t ws_bytes = elattn_attn_plan_workspace_size(plan);
    if (ws_bytes) TRY(elattn_buffer_alloc(dev, ws_bytes, &ws));
    int32_t cu_q[2] = {0, LQ}, cu_k[2] = {0, len_k}, modes[HKV] = {ELATTN_FULL, ELATTN_FULL};
    elattn_attn_args args = {.struct_size = sizeof args, .q = q, .k = bk, .v = bv, .o = bo, .lse = bl,
                             .cu_seqlens_q = cu_q, .cu_seqlens_k = cu_k, .modes = modes, .workspace = ws};
    TRY(elattn_attn_run(plan, NULL, &args));
    download(bo, o, o_bytes);
    download(bl, lse, sizeof(float) * LQ * HQ);
    elattn_buffer_free(bk), elattn_buffer_free(bv), elattn_buffer_free(bo), elattn_buffer_free(bl);
    elattn_buffer_free(ws);
    elattn_attn_plan_destroy(plan);
}

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "reference";
    elattn_device *dev;
    if (elattn_device_open_by_name(name, &dev) != ELATTN_SUCCESS) {
        printf("SKIP: no device %s (%s)\n", name, elattn_last_error());
        return 77;
    }
    const size_t nq = (size_t)LQ * HQ * D, nk = (size_t)L * HKV * D, rows = (size_t)LQ * HQ;
    float *q = malloc(sizeof(float) * nq), *k = malloc(sizeof(float) * nk), *v = malloc(sizeof(float) * nk);
    float *o1 = malloc(sizeof(float) * nq), *o2 = malloc(sizeof(float) * nq), *of = malloc(sizeof(float) * nq);
    float *om = malloc(sizeof(float) * nq), *l1 = malloc(sizeof(float) * rows), *l2 = malloc(sizeof(float) * rows);
    float *lf = malloc(sizeof(float) * rows), *lm = malloc(sizeof(float) * rows);
    unsigned seed = 7;
    for (size_t i = 0; i < nq; ++i) q[i] = 2.0f * frand(&seed);
    for (size_t i = 0; i < nk; ++i) k[i] = frand(&seed), v[i] = frand(&seed);
    elattn_buffer *bq = upload(dev, q, sizeof(float) * nq);
    const size_t split = (size_t)SPLIT * HKV * D; /* K/V rows [SPLIT, L) start here */
    attend(dev, bq, k, v, SPLIT, o1, l1);
    attend(dev, bq, k + split, v + split, L - SPLIT, o2, l2);
    attend(dev, bq, k, v, L, of, lf);

    /* Row 0: lse1 = -inf (O1 must not count); row 1: both -inf (O = 0, lse = -inf). */
    l1[0] = -INFINITY;
    l1[1] = l2[1] = -INFINITY;
    elattn_buffer *b1 = upload(dev, o1, sizeof(float) * nq), *bl1 = upload(dev, l1, sizeof(float) * rows);
    elattn_buffer *b2 = upload(dev, o2, sizeof(float) * nq), *bl2 = upload(dev, l2, sizeof(float) * rows);
    elattn_buffer *bo, *blo;
    TRY(elattn_buffer_alloc(dev, sizeof(float) * nq, &bo));
    TRY(elattn_buffer_alloc(dev, sizeof(float) * rows, &blo));
    elattn_merge_args m = ELATTN_INIT(elattn_merge_args);
    m.dtype = ELATTN_F32, m.num_tokens = LQ, m.num_heads = HQ, m.head_dim = D;
    m.o1 = b1, m.lse1 = bl1, m.o2 = b2, m.lse2 = bl2, m.o = bo, m.lse = blo;
    TRY(elattn_merge_states(dev, NULL, &m));
    TRY(elattn_device_synchronize(dev));
    download(bo, om, sizeof(float) * nq);
    download(blo, lm, sizeof(float) * rows);

    double max_o = 0.0, max_l = 0.0;
    for (size_t r = 2; r < rows; ++r) {
        max_l = fmax(max_l, fabs((double)lm[r] - lf[r]));
        for (int x = 0; x < D; ++x) max_o = fmax(max_o, fabs((double)om[r * D + x] - of[r * D + x]));
    }
    EXPECT(max_o < 1e-5 && max_l < 1e-5, "merged [0,%d) + [%d,%d) vs [0,%d): max |dO| %.3g, max |dLSE| %.3g", SPLIT,
           SPLIT, L, L, max_o, max_l);
    int row0 = lm[0] == l2[0], row1 = isinf(lm[1]) && lm[1] < 0;
    for (int x = 0; x < D; ++x) row0 &= fabsf(om[x] - o2[x]) <= 1e-6f, row1 &= om[D + x] == 0.0f;
    EXPECT(row0, "lse1 = -inf: the row is not O2, lse2");
    EXPECT(row1, "both -inf: the row is not O = 0, lse = -inf");

    /* fp16: O1, O2 rounded to fp16, merged, compared with the host formula (one rounding). */
    {
        uint16_t *h1 = malloc(2 * nq), *h2 = malloc(2 * nq), *hm = malloc(2 * nq);
        float *f1 = malloc(sizeof(float) * nq), *f2 = malloc(sizeof(float) * nq), *fm = malloc(sizeof(float) * nq);
        TRY(elattn_convert(ELATTN_F16, h1, ELATTN_F32, o1, nq));
        TRY(elattn_convert(ELATTN_F16, h2, ELATTN_F32, o2, nq));
        TRY(elattn_convert(ELATTN_F32, f1, ELATTN_F16, h1, nq));
        TRY(elattn_convert(ELATTN_F32, f2, ELATTN_F16, h2, nq));
        elattn_buffer *c1 = upload(dev, h1, 2 * nq), *c2 = upload(dev, h2, 2 * nq), *cm;
        TRY(elattn_buffer_alloc(dev, 2 * nq, &cm));
        elattn_merge_args h = m;
        h.dtype = ELATTN_F16, h.o1 = c1, h.o2 = c2, h.o = cm, h.lse = NULL;
        TRY(elattn_merge_states(dev, NULL, &h));
        download(cm, hm, 2 * nq);
        TRY(elattn_convert(ELATTN_F32, fm, ELATTN_F16, hm, nq));
        double worst = 0.0;
        for (size_t r = 2; r < rows; ++r) {
            double mx = fmax(l1[r], l2[r]), a = exp(l1[r] - mx), b = exp(l2[r] - mx);
            for (int x = 0; x < D; ++x) {
                double want = (a * f1[r * D + x] + b * f2[r * D + x]) / (a + b);
                worst = fmax(worst, fabs(fm[r * D + x] - want) / (fabs(want) + 1e-3));
            }
        }
        EXPECT(worst < 2e-3, "fp16 merge: relative error %.3g (one fp16 rounding is 4.9e-4)", worst);
        elattn_buffer_free(c1), elattn_buffer_free(c2), elattn_buffer_free(cm);
        free(h1), free(h2), free(hm), free(f1), free(f2), free(fm);
    }

    /* Bad arguments: a clear status, a message naming the argument. */
    struct {
        const char *what, *names;
        elattn_merge_args a;
        elattn_status want;
    } bad[] = {
        {"struct_size 0", "args.struct_size", m, ELATTN_ERROR_INVALID_ARGUMENT},
        {"o aliases o1", "args.o", m, ELATTN_ERROR_INVALID_ARGUMENT},
        {"head_dim 0", "args.head_dim", m, ELATTN_ERROR_INVALID_ARGUMENT},
        {"lse2 missing", "args.lse2", m, ELATTN_ERROR_INVALID_ARGUMENT},
        {"too many tokens", "args.o1", m, ELATTN_ERROR_BUFFER_TOO_SMALL},
    };
    bad[0].a.struct_size = 0;
    bad[1].a.o = b1;
    bad[2].a.head_dim = 0;
    bad[3].a.lse2 = NULL;
    bad[4].a.num_tokens = LQ + 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        elattn_status st = elattn_merge_states(dev, NULL, &bad[i].a);
        EXPECT(st == bad[i].want && strstr(elattn_last_error(), bad[i].names), "%s: status %d, message '%s'",
               bad[i].what, (int)st, elattn_last_error());
    }

    elattn_buffer_free(bq), elattn_buffer_free(b1), elattn_buffer_free(b2), elattn_buffer_free(bl1);
    elattn_buffer_free(bl2), elattn_buffer_free(bo), elattn_buffer_free(blo);
    elattn_device_close(dev);
    free(q), free(k), free(v), free(o1), free(o2), free(of), free(om), free(l1), free(l2), free(lf), free(lm);
    printf("%s: merge_states on %s (max |dO| %.3g, max |dLSE| %.3g)\n", failures ? "FAIL" : "ok", name, max_o,
           max_l);
    return failures ? 1 : 0;
}

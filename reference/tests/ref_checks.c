/*
 * ref_checks: checks of the scalar reference that never compare it with
 * itself. Each check is one of
 *   - a case worked out by hand (numbers in the comments),
 *   - an identity between two different calls (streaming with a window
 *     covering everything == full, GQA == expanded K/V, varlen == one by one),
 *   - agreement with independent code in this file, written from the
 *     semantics table (explicit per-pair masks, materialised reshapes,
 *     enumerated prefixes, closed-form counts).
 * Prints one line per check and ends with "ref_checks: N passed, M failed".
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elattn_ref.h"

/* ---- reporting ------------------------------------------------------------ */
static int n_passed, n_failed;

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok) ++n_passed;
    else ++n_failed;
}

/* ---- random data (never zero) --------------------------------------------- */
static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;

static double uniform01(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* In [-1, -0.05] U [0.05, 1]: no zeros, so a kernel writing zeros cannot pass. */
static double nonzero_value(void)
{
    double m = 0.05 + 0.95 * uniform01();
    return uniform01() < 0.5 ? -m : m;
}

static int rand_int(int lo, int hi) { return lo + (int)(uniform01() * (hi - lo + 1)); }

static size_t dtype_bytes(elattn_dtype dt) { return dt == ELATTN_F32 ? 4 : 2; }
static const char *dtype_str(elattn_dtype dt) { return dt == ELATTN_F32 ? "f32" : dt == ELATTN_F16 ? "f16" : "bf16"; }

/* Error bound of one rounding to the dtype: half an ulp relative, plus the
 * smallest subnormal step (fp16 outputs can be subnormal). Doubled for slack
 * against the double-precision arithmetic itself. */
static double store_tolerance(elattn_dtype dt, double x)
{
    int mant = dt == ELATTN_F32 ? 23 : dt == ELATTN_F16 ? 10 : 7;
    double sub = dt == ELATTN_F32 ? ldexp(1.0, -149) : dt == ELATTN_F16 ? ldexp(1.0, -24) : ldexp(1.0, -133);
    return ldexp(fabs(x), -mant) + sub + 1e-12 * fabs(x);
}

/* ======================================================================== */
/* 1. dtype conversions: bit patterns worked out from the IEEE formats      */
/* ======================================================================== */
static uint16_t store_bits(elattn_dtype dt, double x)
{
    uint16_t h;
    elattn_ref_store(dt, &h, 0, x);
    return h;
}

static void check_conversions(void)
{
    struct { double x; uint16_t bits; const char *why; } f16[] = {
        {1.0, 0x3c00, "1"},
        {-2.0, 0xc000, "-2"},
        {65504.0, 0x7bff, "largest finite"},
        {65519.0, 0x7bff, "below the overflow midpoint"},
        {65520.0, 0x7c00, "midpoint 65520 ties to even = inf"},
        {1e10, 0x7c00, "overflow"},
        {ldexp(1.0, -14), 0x0400, "smallest normal"},
        {ldexp(1023.5, -24), 0x0400, "tie between largest subnormal and smallest normal -> even (normal)"},
        {ldexp(1.0, -24), 0x0001, "smallest subnormal"},
        {ldexp(1.0, -25), 0x0000, "half the smallest subnormal ties to even 0"},
        {ldexp(3.0, -25), 0x0002, "1.5 subnormal steps ties to 2"},
        {1.0 + ldexp(1.0, -11), 0x3c00, "1 + half ulp ties to even (down)"},
        {1.0 + ldexp(3.0, -11), 0x3c02, "1 + 1.5 ulp ties to even (up)"},
        {1.0 + ldexp(1.0, -11) + ldexp(1.0, -40), 0x3c01, "just above the tie: no double rounding through float"},
        {-0.0, 0x8000, "negative zero"},
        {INFINITY, 0x7c00, "inf"},
        {-INFINITY, 0xfc00, "-inf"},
        {0.333333333333, 0x3555, "1/3 rounds to 0x3555"},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof f16 / sizeof f16[0]; ++i) {
        uint16_t got = store_bits(ELATTN_F16, f16[i].x);
        if (got != f16[i].bits) {
            ok = 0;
            printf("  f16 %s: got 0x%04x want 0x%04x\n", f16[i].why, got, f16[i].bits);
        }
    }
    check(ok, "convert f16 store: 18 hand-worked bit patterns (ties, subnormals, overflow, inf)");

    struct { double x; uint16_t bits; const char *why; } bf[] = {
        {1.0, 0x3f80, "1"},
        {-3.0, 0xc040, "-3"},
        {1.0 + ldexp(1.0, -8), 0x3f80, "half ulp ties to even (down)"},
        {1.0 + ldexp(3.0, -8), 0x3f82, "1.5 ulp ties to even (up)"},
        {1.0 + ldexp(1.0, -8) + ldexp(1.0, -30), 0x3f81, "just above the tie"},
        {ldexp(2.0 - ldexp(1.0, -7), 127), 0x7f7f, "largest finite"},
        {ldexp(2.0 - ldexp(1.0, -8), 127), 0x7f80, "overflow midpoint ties to inf"},
        {ldexp(1.0, -126), 0x0080, "smallest normal"},
        {ldexp(1.0, -133), 0x0001, "smallest subnormal"},
        {ldexp(1.0, -134), 0x0000, "half the smallest subnormal ties to 0"},
        {-INFINITY, 0xff80, "-inf"},
    };
    ok = 1;
    for (size_t i = 0; i < sizeof bf / sizeof bf[0]; ++i) {
        uint16_t got = store_bits(ELATTN_BF16, bf[i].x);
        if (got != bf[i].bits) {
            ok = 0;
            printf("  bf16 %s: got 0x%04x want 0x%04x\n", bf[i].why, got, bf[i].bits);
        }
    }
    check(ok, "convert bf16 store: 11 hand-worked bit patterns");

    /* NaN stays NaN (any payload), in both directions */
    uint16_t hn = store_bits(ELATTN_F16, NAN), bn = store_bits(ELATTN_BF16, NAN);
    check((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff) && (bn & 0x7f80) == 0x7f80 && (bn & 0x7f) &&
              isnan(elattn_ref_load(ELATTN_F16, &hn, 0)) && isnan(elattn_ref_load(ELATTN_BF16, &bn, 0)),
          "convert NaN: stored as NaN (f16 0x%04x, bf16 0x%04x) and loaded as NaN", hn, bn);

    /* every non-NaN 16-bit pattern: load is exact, so store(load(bits)) == bits;
     * the loaded value is checked against the format's formula */
    int bad16 = 0, badbf = 0, badval = 0;
    for (uint32_t u = 0; u < 65536; ++u) {
        uint16_t b = (uint16_t)u;
        int e = (b >> 10) & 0x1f, m = b & 0x3ff;
        double want = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
        if (b & 0x8000) want = -want;
        double got = elattn_ref_load(ELATTN_F16, &b, 0);
        if (!(isnan(want) ? isnan(got) : got == want)) ++badval;
        if (!isnan(got) && store_bits(ELATTN_F16, got) != b) ++bad16;
        int be = (b >> 7) & 0xff, bm = b & 0x7f;
        double bwant = be == 0 ? ldexp(bm, -133) : be == 255 ? (bm ? NAN : INFINITY) : ldexp(128 + bm, be - 134);
        if (b & 0x8000) bwant = -bwant;
        double bgot = elattn_ref_load(ELATTN_BF16, &b, 0);
        if (!(isnan(bwant) ? isnan(bgot) : bgot == bwant)) ++badval;
        if (!isnan(bgot) && store_bits(ELATTN_BF16, bgot) != b) ++badbf;
    }
    check(bad16 == 0 && badbf == 0 && badval == 0,
          "convert all 65536 patterns: load matches the format formula (%d bad), store(load(x)) == x "
          "(f16 %d bad, bf16 %d bad)", badval, bad16, badbf);

    /* midpoints of every pair of neighbouring positive fp16 values round to the even one */
    int badmid = 0;
    for (uint16_t b = 0; b < 0x7bff; ++b) {
        uint16_t c = (uint16_t)(b + 1);
        double mid = 0.5 * (elattn_ref_load(ELATTN_F16, &b, 0) + elattn_ref_load(ELATTN_F16, &c, 0));
        if (store_bits(ELATTN_F16, mid) != ((b & 1) ? c : b)) ++badmid;
    }
    check(badmid == 0, "convert f16: all 31743 positive midpoints tie to the even neighbour (%d bad)", badmid);

    float f;
    elattn_ref_store(ELATTN_F32, &f, 0, 1.0 + ldexp(1.0, -24));
    check(f == 1.0f, "convert f32: 1 + 2^-24 ties to even 1");
}

/* ======================================================================== */
/* 2. attention                                                              */
/* ======================================================================== */
#define MAXB 5

typedef struct attn_case {
    elattn_dtype dtype;
    int batch, hq, hkv, d, causal, sink, local, block;
    int lq[MAXB], lk[MAXB];
    int modes[MAXB * 8]; /* [b][hkv] */
    double scale;        /* 0: 1/sqrt(d) */
} attn_case;

typedef struct attn_data {
    attn_case c;
    int cu_q[MAXB + 1], cu_k[MAXB + 1], total_q, total_k, max_q, max_k, mqb, mkb;
    void *q, *k, *v, *o;
    float *lse;
    uint8_t *mask;
    double *qd, *kd, *vd; /* the inputs as the dtype holds them */
} attn_data;

#define CANARY 64 /* bytes after o and lse that must stay untouched */

static void fill_tensor(elattn_dtype dt, void *t, double *td, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        elattn_ref_store(dt, t, i, nonzero_value());
        td[i] = elattn_ref_load(dt, t, i);
    }
}

/* mask_density < 0: every block set. */
static void data_init(attn_data *a, const attn_case *c, double mask_density)
{
    memset(a, 0, sizeof *a);
    a->c = *c;
    a->max_q = a->max_k = 1;
    for (int b = 0; b < c->batch; ++b) {
        a->cu_q[b + 1] = a->cu_q[b] + c->lq[b];
        a->cu_k[b + 1] = a->cu_k[b] + c->lk[b];
        if (c->lq[b] > a->max_q) a->max_q = c->lq[b];
        if (c->lk[b] > a->max_k) a->max_k = c->lk[b];
    }
    a->total_q = a->cu_q[c->batch];
    a->total_k = a->cu_k[c->batch];
    a->mqb = (a->max_q + c->block - 1) / c->block;
    a->mkb = (a->max_k + c->block - 1) / c->block;
    size_t es = dtype_bytes(c->dtype);
    size_t nq = (size_t)a->total_q * c->hq * c->d, nk = (size_t)a->total_k * c->hkv * c->d;
    a->q = malloc(nq * es + 1);
    a->k = malloc(nk * es + 1);
    a->v = malloc(nk * es + 1);
    a->o = malloc(nq * es + CANARY);
    a->lse = malloc((size_t)a->total_q * c->hq * sizeof(float) + CANARY);
    a->qd = malloc((nq + 1) * sizeof(double));
    a->kd = malloc((nk + 1) * sizeof(double));
    a->vd = malloc((nk + 1) * sizeof(double));
    size_t mask_n = (size_t)c->batch * c->hkv * a->mqb * a->mkb;
    a->mask = malloc(mask_n + 1);
    fill_tensor(c->dtype, a->q, a->qd, nq);
    fill_tensor(c->dtype, a->k, a->kd, nk);
    fill_tensor(c->dtype, a->v, a->vd, nk);
    for (size_t i = 0; i < mask_n; ++i) a->mask[i] = mask_density < 0 || uniform01() < mask_density;
    memset(a->o, 0xA5, nq * es + CANARY);
    memset(a->lse, 0xA5, (size_t)a->total_q * c->hq * sizeof(float) + CANARY);
}

static void data_free(attn_data *a)
{
    free(a->q), free(a->k), free(a->v), free(a->o), free(a->lse);
    free(a->qd), free(a->kd), free(a->vd), free(a->mask);
}

static elattn_attn_params make_params(const attn_data *a)
{
    const attn_case *c = &a->c;
    elattn_attn_params p;
    memset(&p, 0, sizeof p);
    p.head_dim = c->d;
    p.num_q_heads = c->hq;
    p.num_kv_heads = c->hkv;
    p.group = c->hq / c->hkv;
    p.batch = c->batch;
    p.max_seqlen_q = a->max_q;
    p.max_seqlen_k = a->max_k;
    p.causal = c->causal;
    p.scale = (float)(c->scale > 0 ? c->scale : 1.0 / sqrt((double)c->d));
    p.scale_log2 = p.scale * 1.4426950408889634f;
    p.sink = c->sink;
    p.local = c->local;
    p.block_size = c->block;
    p.mask_qblocks = a->mqb;
    p.mask_kblocks = a->mkb;
    p.write_lse = 1;
    p.dtype = c->dtype;
    elattn_params_packed_layout(&p);
    return p;
}

static int data_run(attn_data *a)
{
    elattn_attn_params p = make_params(a);
    return elattn_ref_attention(&p, a->q, a->k, a->v, a->o, a->lse, a->cu_q, a->cu_k, a->c.modes, a->mask, NULL) ==
           ELATTN_SUCCESS;
}

static int canaries_intact(const attn_data *a)
{
    const unsigned char *o = (const unsigned char *)a->o + (size_t)a->total_q * a->c.hq * a->c.d * dtype_bytes(a->c.dtype);
    const unsigned char *l = (const unsigned char *)a->lse + (size_t)a->total_q * a->c.hq * sizeof(float);
    for (int i = 0; i < CANARY; ++i)
        if (o[i] != 0xA5 || l[i] != 0xA5) return 0;
    return 1;
}

/* The semantics table, written out again independently of elattn_spec.h. */
static int table_visible(const attn_data *a, int b, int hk, int i, int j)
{
    const attn_case *c = &a->c;
    int lq = c->lq[b], lk = c->lk[b];
    int pos = i + lk - lq; /* bottom-right alignment */
    if (c->causal && j > pos) return 0;
    switch (c->modes[b * c->hkv + hk]) {
    case ELATTN_FULL: return 1;
    case ELATTN_STREAMING: {
        if (j < c->sink) return 1;
        int dist = pos - j;
        if (!c->causal && dist < 0) dist = -dist;
        return dist < c->local;
    }
    default: {
        size_t cell = (((size_t)b * c->hkv + hk) * a->mqb + i / c->block) * a->mkb + j / c->block;
        return a->mask[cell] != 0;
    }
    }
}

/* Attention with an explicit [Lq][Lk] visibility matrix per (element, head),
 * O and LSE in double (lse -inf for empty rows). */
static void oracle_attention(const attn_data *a, double *o, double *lse)
{
    const attn_case *c = &a->c;
    double scale = c->scale > 0 ? c->scale : 1.0 / sqrt((double)c->d);
    scale = (double)(float)scale; /* the reference gets the scale as fp32 */
    for (int b = 0; b < c->batch; ++b) {
        int lq = c->lq[b], lk = c->lk[b];
        unsigned char *vis = malloc((size_t)lq * lk + 1);
        double *s = malloc(((size_t)lk + 1) * sizeof *s);
        for (int h = 0; h < c->hq; ++h) {
            int hk = h / (c->hq / c->hkv);
            for (int i = 0; i < lq; ++i)
                for (int j = 0; j < lk; ++j) vis[(size_t)i * lk + j] = (unsigned char)table_visible(a, b, hk, i, j);
            for (int i = 0; i < lq; ++i) {
                const double *qr = a->qd + ((size_t)(a->cu_q[b] + i) * c->hq + h) * c->d;
                double m = -INFINITY;
                for (int j = 0; j < lk; ++j) {
                    if (!vis[(size_t)i * lk + j]) continue;
                    const double *kr = a->kd + ((size_t)(a->cu_k[b] + j) * c->hkv + hk) * c->d;
                    double dot = 0;
                    for (int x = 0; x < c->d; ++x) dot += qr[x] * kr[x];
                    s[j] = dot * scale;
                    if (s[j] > m) m = s[j];
                }
                double *orow = o + ((size_t)(a->cu_q[b] + i) * c->hq + h) * c->d;
                double sum = 0;
                for (int x = 0; x < c->d; ++x) orow[x] = 0;
                for (int j = 0; j < lk; ++j) {
                    if (!vis[(size_t)i * lk + j]) continue;
                    double w = exp(s[j] - m);
                    sum += w;
                    const double *vr = a->vd + ((size_t)(a->cu_k[b] + j) * c->hkv + hk) * c->d;
                    for (int x = 0; x < c->d; ++x) orow[x] += w * vr[x];
                }
                if (sum > 0)
                    for (int x = 0; x < c->d; ++x) orow[x] /= sum;
                lse[(size_t)(a->cu_q[b] + i) * c->hq + h] = sum > 0 ? m + log(sum) : -INFINITY;
            }
        }
        free(vis);
        free(s);
    }
}

/* Compares the reference's O and LSE with the oracle; returns the number of
 * mismatches and the largest error seen. */
static int compare_with_oracle(const attn_data *a, double *max_err)
{
    const attn_case *c = &a->c;
    size_t nq = (size_t)a->total_q * c->hq * c->d, nl = (size_t)a->total_q * c->hq;
    double *o = malloc((nq + 1) * sizeof *o), *lse = malloc((nl + 1) * sizeof *lse);
    oracle_attention(a, o, lse);
    int bad = 0;
    *max_err = 0;
    for (size_t i = 0; i < nq; ++i) {
        double got = elattn_ref_load(c->dtype, a->o, i), err = fabs(got - o[i]);
        if (!(err <= store_tolerance(c->dtype, o[i]))) ++bad;
        if (err > *max_err) *max_err = err;
    }
    for (size_t i = 0; i < nl; ++i) {
        double got = a->lse[i];
        if (isinf(lse[i])) {
            if (!(isinf(got) && got < 0)) ++bad;
            continue;
        }
        double err = fabs(got - lse[i]);
        if (!(err <= store_tolerance(ELATTN_F32, lse[i]) + 1e-7)) ++bad;
        if (err > *max_err) *max_err = err;
    }
    free(o);
    free(lse);
    return bad;
}

/* Hand-worked case. Q = K = [(1,0), (0,1), (1,1)], V = [(1,0), (0,1), (2,2)],
 * scale = ln 2 so that every weight exp(scale * q.k) = 2^(q.k).
 *  causal FULL:
 *   row 0 sees k0: q.k = 1 -> O = v0 = (1, 0), LSE = ln 2
 *   row 1 sees k0, k1: q.k = 0, 1 -> weights 1, 2 (sum 3): O = (1/3, 2/3), LSE = ln 3
 *   row 2 sees all: q.k = 1, 1, 2 -> weights 2, 2, 4 (sum 8):
 *         O = (2*(1,0) + 2*(0,1) + 4*(2,2)) / 8 = (1.25, 1.25), LSE = ln 8
 *  non-causal FULL row 0: q.k = 1, 0, 1 -> 2, 1, 2 (sum 5): O = (6/5, 5/5), LSE = ln 5
 *  causal STREAMING sink 1, local 1, row 2: keys 0 (sink) and 2 (own position):
 *         weights 2, 4 (sum 6): O = (10/6, 8/6), LSE = ln 6
 *  BLOCK_SPARSE with an empty mask: O = 0, LSE = -inf
 *  Lq = 1 < Lk = 3, q = (1,1): sits at position 2, sees all: O = (1.25, 1.25), LSE = ln 8 */
static void hand_case(const char *name, int causal, int mode, int sink, int local, int lq, const float *qv,
                      const double *want_o, const double *want_lse)
{
    const float kv[6] = {1, 0, 0, 1, 1, 1}, vv[6] = {1, 0, 0, 1, 2, 2};
    float o[6 + 4], lse[3 + 4];
    for (int i = 0; i < 10; ++i) o[i] = 99.0f;
    for (int i = 0; i < 7; ++i) lse[i] = 99.0f;
    int32_t cu_q[2] = {0, lq}, cu_k[2] = {0, 3}, modes[1] = {mode};
    uint8_t mask[1] = {0};
    elattn_attn_params p;
    memset(&p, 0, sizeof p);
    p.head_dim = 2, p.num_q_heads = 1, p.num_kv_heads = 1, p.group = 1, p.batch = 1;
    p.max_seqlen_q = lq, p.max_seqlen_k = 3, p.causal = causal;
    p.scale = (float)log(2.0), p.scale_log2 = 1.0f;
    p.sink = sink, p.local = local, p.block_size = 16, p.mask_qblocks = 1, p.mask_kblocks = 1;
    p.write_lse = 1, p.dtype = ELATTN_DTYPE_F32;
    elattn_params_packed_layout(&p);
    elattn_status st = elattn_ref_attention(&p, qv, kv, vv, o, lse, cu_q, cu_k, modes, mask, NULL);
    int ok = st == ELATTN_SUCCESS && o[2 * lq] == 99.0f && lse[lq] == 99.0f;
    for (int i = 0; i < lq; ++i) {
        for (int x = 0; x < 2; ++x) ok &= fabs(o[2 * i + x] - want_o[2 * i + x]) < 1e-6;
        ok &= isinf(want_lse[i]) ? (isinf(lse[i]) && lse[i] < 0) : fabs(lse[i] - want_lse[i]) < 1e-6;
    }
    check(ok, "attention hand case: %s", name);
}

static void check_hand_cases(void)
{
    const float q3[6] = {1, 0, 0, 1, 1, 1}, q1[2] = {1, 1};
    const double l2 = log(2.0), l3 = log(3.0), l5 = log(5.0), l6 = log(6.0), l8 = log(8.0);
    {
        double o[6] = {1, 0, 1.0 / 3, 2.0 / 3, 1.25, 1.25}, lse[3] = {l2, l3, l8};
        hand_case("causal FULL L=3 D=2", 1, ELATTN_FULL, 0, 1, 3, q3, o, lse);
    }
    {
        /* rows 1 and 2 non-causal: row 1 q=(0,1): q.k = 0,1,1 -> 1,2,2 (5): O = (1+4, 2+4)/5 = (1, 1.2)
         * row 2 as causal (it already sees every key) */
        double o[6] = {1.2, 1.0, 1.0, 1.2, 1.25, 1.25}, lse[3] = {l5, l5, l8};
        hand_case("non-causal FULL L=3 D=2", 0, ELATTN_FULL, 0, 1, 3, q3, o, lse);
    }
    {
        /* row 0: key 0 (sink and window); row 1: keys 0 (sink) and 1 (window): as FULL */
        double o[6] = {1, 0, 1.0 / 3, 2.0 / 3, 10.0 / 6, 8.0 / 6}, lse[3] = {l2, l3, l6};
        hand_case("causal STREAMING sink=1 local=1 L=3", 1, ELATTN_STREAMING, 1, 1, 3, q3, o, lse);
    }
    {
        /* non-causal, sink 0, local 1: each row sees only its own key.
         * row 0: k0 w=2 -> v0, LSE ln2; row 1: k1 w=2 -> v1, ln2; row 2: k2 w=4 -> v2, ln4 */
        double o[6] = {1, 0, 0, 1, 2, 2}, lse[3] = {l2, l2, 2 * l2};
        hand_case("non-causal STREAMING sink=0 local=1 (own key only)", 0, ELATTN_STREAMING, 0, 1, 3, q3, o, lse);
    }
    {
        double o[6] = {0, 0, 0, 0, 0, 0}, lse[3] = {-INFINITY, -INFINITY, -INFINITY};
        hand_case("BLOCK_SPARSE empty mask: O=0, LSE=-inf", 1, ELATTN_BLOCK_SPARSE, 0, 1, 3, q3, o, lse);
    }
    {
        double o[2] = {1.25, 1.25}, lse[1] = {l8};
        hand_case("Lq=1 < Lk=3 bottom-right: the query sits at position 2", 1, ELATTN_FULL, 0, 1, 1, q1, o, lse);
    }
    {
        /* Lq=1 STREAMING sink=0 local=2 at position 2: keys 1 and 2: q.k = 1, 2 -> 2, 4 (6):
         * O = (2*(0,1) + 4*(2,2)) / 6 = (8/6, 10/6) */
        double o[2] = {8.0 / 6, 10.0 / 6}, lse[1] = {l6};
        hand_case("Lq=1 < Lk=3 STREAMING local=2: keys 1..2", 1, ELATTN_STREAMING, 0, 2, 1, q1, o, lse);
    }
}

static attn_case base_case(elattn_dtype dt, int batch, int hq, int hkv, int d, int causal)
{
    attn_case c;
    memset(&c, 0, sizeof c);
    c.dtype = dt, c.batch = batch, c.hq = hq, c.hkv = hkv, c.d = d, c.causal = causal;
    c.sink = 3, c.local = 7, c.block = 16;
    return c;
}

static void set_lengths(attn_case *c, int b, int lq, int lk) { c->lq[b] = lq, c->lk[b] = lk; }

static void set_all_modes(attn_case *c, int mode)
{
    for (int i = 0; i < c->batch * c->hkv; ++i) c->modes[i] = mode;
}

static void random_modes(attn_case *c)
{
    for (int i = 0; i < c->batch * c->hkv; ++i) c->modes[i] = i % 3 == 0 ? rand_int(0, 2) : i % 3;
}

/* Reference vs the explicit-mask oracle over many shapes. */
static void check_against_oracle(void)
{
    const elattn_dtype dts[3] = {ELATTN_F32, ELATTN_F16, ELATTN_BF16};
    const int ratios[3][2] = {{4, 4}, {6, 2}, {5, 1}}; /* MHA, GQA 3, MQA 5 */
    int case_no = 0;
    for (int di = 0; di < 3; ++di)
        for (int causal = 0; causal <= 1; ++causal)
            for (int r = 0; r < 3; ++r) {
                attn_case c = base_case(dts[di], 3, ratios[r][0], ratios[r][1], 5 + 2 * r, causal);
                c.sink = rand_int(0, 5), c.local = rand_int(1, 20);
                set_lengths(&c, 0, 37, 37);          /* ordinary prefill, odd length */
                set_lengths(&c, 1, 13, 50);          /* chunk after a cached prefix */
                set_lengths(&c, 2, 1 + (r * 7), 33); /* short chunk */
                if (case_no % 4 == 3) set_lengths(&c, 1, 0, 20); /* zero-length query */
                if (case_no % 5 == 2) set_lengths(&c, 2, 9, 0);  /* no keys: rows empty */
                random_modes(&c);
                attn_data a;
                data_init(&a, &c, 0.5);
                int ran = data_run(&a);
                double err = 0;
                int bad = ran ? compare_with_oracle(&a, &err) : -1;
                check(ran && bad == 0 && canaries_intact(&a),
                      "attention vs explicit-mask oracle: %s %s Hq=%d Hkv=%d D=%d sink=%d local=%d mixed modes, "
                      "lens (37,37) (%d,%d) (%d,%d): %d mismatches, max err %.3g",
                      dtype_str(c.dtype), causal ? "causal" : "non-causal", c.hq, c.hkv, c.d, c.sink, c.local,
                      c.lq[1], c.lk[1], c.lq[2], c.lk[2], bad, err);
                data_free(&a);
                ++case_no;
            }

    /* a realistic head size, and Lq > Lk (early queries see nothing when causal) */
    for (int causal = 0; causal <= 1; ++causal) {
        attn_case c = base_case(ELATTN_BF16, 2, 4, 2, 64, causal);
        c.sink = 4, c.local = 16, c.block = 32;
        set_lengths(&c, 0, 70, 70);
        set_lengths(&c, 1, 45, 30);
        random_modes(&c);
        attn_data a;
        data_init(&a, &c, 0.6);
        int ran = data_run(&a);
        double err = 0;
        int bad = ran ? compare_with_oracle(&a, &err) : -1;
        check(ran && bad == 0 && canaries_intact(&a),
              "attention vs oracle: bf16 D=64 block=32 %s, Lq > Lk element: %d mismatches, max err %.3g",
              causal ? "causal" : "non-causal", bad, err);
        data_free(&a);
    }

    /* STREAMING alone vs FULL with an explicit element mask from the table */
    for (int causal = 0; causal <= 1; ++causal) {
        attn_case c = base_case(ELATTN_F32, 2, 2, 2, 8, causal);
        c.sink = 4, c.local = 9;
        set_lengths(&c, 0, 41, 41);
        set_lengths(&c, 1, 17, 60);
        set_all_modes(&c, ELATTN_STREAMING);
        attn_data a;
        data_init(&a, &c, 0.5);
        int ran = data_run(&a);
        double err = 0;
        int bad = ran ? compare_with_oracle(&a, &err) : -1;
        check(ran && bad == 0, "STREAMING == FULL with the table's explicit element mask (%s, sink 4, local 9): "
                               "%d mismatches, max err %.3g", causal ? "causal" : "non-causal two-sided", bad, err);
        data_free(&a);
    }
}

/* Runs the same data with two mode settings and requires identical bits. */
static int outputs_equal(const attn_data *x, const attn_data *y)
{
    size_t nq = (size_t)x->total_q * x->c.hq * x->c.d * dtype_bytes(x->c.dtype);
    size_t nl = (size_t)x->total_q * x->c.hq * sizeof(float);
    return memcmp(x->o, y->o, nq) == 0 && memcmp(x->lse, y->lse, nl) == 0;
}

static void copy_inputs(attn_data *dst, const attn_data *src)
{
    size_t es = dtype_bytes(src->c.dtype);
    size_t nq = (size_t)src->total_q * src->c.hq * src->c.d, nk = (size_t)src->total_k * src->c.hkv * src->c.d;
    memcpy(dst->q, src->q, nq * es);
    memcpy(dst->k, src->k, nk * es);
    memcpy(dst->v, src->v, nk * es);
}

static void check_identities(void)
{
    const elattn_dtype dts[3] = {ELATTN_F32, ELATTN_F16, ELATTN_BF16};
    for (int di = 0; di < 3; ++di)
        for (int causal = 0; causal <= 1; ++causal) {
            /* STREAMING whose sinks and window cover every key == FULL */
            attn_case c = base_case(dts[di], 2, 4, 2, 6, causal);
            set_lengths(&c, 0, 29, 29);
            set_lengths(&c, 1, 11, 40);
            set_all_modes(&c, ELATTN_FULL);
            attn_data full, other;
            data_init(&full, &c, -1);
            data_run(&full);
            /* causal: sink + local == Lk exactly is enough (the boundary);
             * non-causal: the two-sided window needs local == Lk */
            c.sink = causal ? 15 : 0;
            c.local = causal ? 40 - 15 : 40;
            set_all_modes(&c, ELATTN_STREAMING);
            data_init(&other, &c, -1);
            copy_inputs(&other, &full);
            data_run(&other);
            check(outputs_equal(&full, &other), "STREAMING with sink+window covering all keys == FULL (%s %s, sink %d local %d)",
                  dtype_str(c.dtype), causal ? "causal" : "non-causal", c.sink, c.local);
            data_free(&other);

            /* one token less of window: must differ (the identity is not vacuous) */
            c.local -= 1;
            data_init(&other, &c, -1);
            copy_inputs(&other, &full);
            data_run(&other);
            check(!outputs_equal(&full, &other), "STREAMING with one key fewer in the window != FULL (%s %s)",
                  dtype_str(c.dtype), causal ? "causal" : "non-causal");
            data_free(&other);

            /* BLOCK_SPARSE with every block set == FULL */
            set_all_modes(&c, ELATTN_BLOCK_SPARSE);
            data_init(&other, &c, -1);
            copy_inputs(&other, &full);
            data_run(&other);
            check(outputs_equal(&full, &other), "BLOCK_SPARSE with every block set == FULL (%s %s)", dtype_str(c.dtype),
                  causal ? "causal" : "non-causal");
            data_free(&other);
            data_free(&full);
        }

    /* GQA == the same call with K/V copied per query head (Hkv = Hq) */
    for (int causal = 0; causal <= 1; ++causal) {
        attn_case c = base_case(ELATTN_F16, 2, 6, 2, 7, causal);
        set_lengths(&c, 0, 23, 23);
        set_lengths(&c, 1, 9, 31);
        c.modes[0] = ELATTN_FULL, c.modes[1] = ELATTN_STREAMING;
        c.modes[2] = ELATTN_BLOCK_SPARSE, c.modes[3] = ELATTN_STREAMING;
        attn_data g, e;
        data_init(&g, &c, 0.5);
        data_run(&g);
        attn_case ce = c;
        ce.hkv = 6;
        for (int b = 0; b < 2; ++b)
            for (int h = 0; h < 6; ++h) ce.modes[b * 6 + h] = c.modes[b * 2 + h / 3];
        data_init(&e, &ce, 0.5);
        size_t es = 2;
        memcpy(e.q, g.q, (size_t)g.total_q * 6 * 7 * es);
        for (int t = 0; t < g.total_k; ++t)
            for (int h = 0; h < 6; ++h) {
                memcpy((char *)e.k + ((size_t)t * 6 + h) * 7 * es, (char *)g.k + ((size_t)t * 2 + h / 3) * 7 * es, 7 * es);
                memcpy((char *)e.v + ((size_t)t * 6 + h) * 7 * es, (char *)g.v + ((size_t)t * 2 + h / 3) * 7 * es, 7 * es);
            }
        for (int b = 0; b < 2; ++b)
            for (int h = 0; h < 6; ++h)
                memcpy(e.mask + elattn_mask_row(b, h, 0, 6, e.mqb, e.mkb), g.mask + elattn_mask_row(b, h / 3, 0, 2, g.mqb, g.mkb),
                       (size_t)g.mqb * g.mkb);
        data_run(&e);
        check(outputs_equal(&g, &e), "GQA (Hq 6, Hkv 2, mixed modes, %s) == K/V expanded per query head",
              causal ? "causal" : "non-causal");
        data_free(&g);
        data_free(&e);
    }

    /* varlen batch == its elements run one by one */
    for (int causal = 0; causal <= 1; ++causal) {
        attn_case c = base_case(ELATTN_BF16, 4, 4, 2, 5, causal);
        set_lengths(&c, 0, 19, 19);
        set_lengths(&c, 1, 0, 7);
        set_lengths(&c, 2, 5, 44);
        set_lengths(&c, 3, 33, 35);
        random_modes(&c);
        attn_data all;
        data_init(&all, &c, 0.5);
        data_run(&all);
        int same = 1;
        for (int b = 0; b < 4; ++b) {
            attn_case cb = c;
            cb.batch = 1;
            cb.lq[0] = c.lq[b], cb.lk[0] = c.lk[b];
            cb.modes[0] = c.modes[b * 2], cb.modes[1] = c.modes[b * 2 + 1];
            attn_data one;
            data_init(&one, &cb, 0.5);
            size_t es = 2, qrow = (size_t)4 * 5 * es, krow = (size_t)2 * 5 * es;
            memcpy(one.q, (char *)all.q + all.cu_q[b] * qrow, c.lq[b] * qrow);
            memcpy(one.k, (char *)all.k + all.cu_k[b] * krow, c.lk[b] * krow);
            memcpy(one.v, (char *)all.v + all.cu_k[b] * krow, c.lk[b] * krow);
            for (int hk = 0; hk < 2; ++hk)
                for (int qb = 0; qb < one.mqb; ++qb)
                    memcpy(one.mask + elattn_mask_row(0, hk, qb, 2, one.mqb, one.mkb),
                           all.mask + elattn_mask_row(b, hk, qb, 2, all.mqb, all.mkb), (size_t)one.mkb);
            data_run(&one);
            same &= memcmp(one.o, (char *)all.o + all.cu_q[b] * qrow, c.lq[b] * qrow) == 0;
            same &= memcmp(one.lse, all.lse + (size_t)all.cu_q[b] * 4, (size_t)c.lq[b] * 4 * sizeof(float)) == 0;
            data_free(&one);
        }
        check(same, "varlen batch of 4 (one empty) == elements one by one (%s, mixed modes)",
              causal ? "causal" : "non-causal");
        data_free(&all);
    }

    /* LSE == log(sum_j exp(scale * q.k_j)) computed directly (no max shift) */
    {
        attn_case c = base_case(ELATTN_F32, 2, 3, 3, 9, 1);
        set_lengths(&c, 0, 27, 27);
        set_lengths(&c, 1, 6, 21);
        random_modes(&c);
        attn_data a;
        data_init(&a, &c, 0.5);
        data_run(&a);
        int bad = 0;
        double scale = (double)(float)(1.0 / 3.0);
        for (int b = 0; b < 2; ++b)
            for (int h = 0; h < 3; ++h)
                for (int i = 0; i < c.lq[b]; ++i) {
                    double sum = 0;
                    for (int j = 0; j < c.lk[b]; ++j) {
                        if (!table_visible(&a, b, h, i, j)) continue;
                        double dot = 0;
                        for (int x = 0; x < 9; ++x)
                            dot += a.qd[((size_t)(a.cu_q[b] + i) * 3 + h) * 9 + x] * a.kd[((size_t)(a.cu_k[b] + j) * 3 + h) * 9 + x];
                        sum += exp(scale * dot);
                    }
                    float got = a.lse[(size_t)(a.cu_q[b] + i) * 3 + h];
                    if (sum == 0) bad += !(isinf(got) && got < 0);
                    else bad += !(fabs(got - log(sum)) <= 1e-6 * fabs(log(sum)) + 1e-6);
                }
        check(bad == 0, "LSE == direct log-sum-exp over the visible keys (%d mismatches)", bad);
        data_free(&a);
    }
}

/* ======================================================================== */
/* 3. XAttention                                                             */
/* ======================================================================== */
typedef struct xa_case {
    elattn_dtype dtype;
    int batch, hq, hkv, d, causal, stride, block;
    int lq[MAXB], lk[MAXB];
} xa_case;

static elattn_xattn_desc xa_desc(const xa_case *x)
{
    elattn_xattn_desc d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.dtype = x->dtype, d.head_dim = x->d, d.num_q_heads = x->hq, d.num_kv_heads = x->hkv, d.batch = x->batch;
    d.causal = x->causal, d.scale = 0.0f, d.stride = x->stride, d.block_size = x->block;
    for (int b = 0; b < x->batch; ++b) {
        if (x->lq[b] > d.max_seqlen_q) d.max_seqlen_q = x->lq[b];
        if (x->lk[b] > d.max_seqlen_k) d.max_seqlen_k = x->lk[b];
    }
    return d;
}

/* Block scores by materialising everything: the full Q K^T of the element
 * (zero-padded to whole stride groups), the reshaped score of (i, j) read as
 * the sum of the antidiagonal of its S x S sub-block, the softmax, the block
 * sums. */
static void brute_xattn_scores(const xa_case *x, const double *qd, const double *kd, const int *cu_q,
                               const int *cu_k, int b, int hk, double *out)
{
    int S = x->stride, B = x->block, lq = x->lq[b], lk = x->lk[b];
    int rows = (lq + S - 1) / S, cols = (lk + S - 1) / S, nqb = (lq + B - 1) / B, nkb = (lk + B - 1) / B;
    int pq = rows * S, pk = cols * S, g = x->hq / x->hkv;
    double scale = (double)(float)(1.0 / sqrt((double)x->d));
    double *qk = calloc((size_t)pq * pk + 1, sizeof *qk);
    double *logit = malloc(((size_t)cols + 1) * sizeof *logit);
    for (int i = 0; i < nqb * nkb; ++i) out[i] = 0;
    for (int gi = 0; gi < g; ++gi) {
        int h = hk * g + gi;
        for (int r = 0; r < lq; ++r)
            for (int c = 0; c < lk; ++c) {
                double dot = 0;
                for (int t = 0; t < x->d; ++t)
                    dot += qd[((size_t)(cu_q[b] + r) * x->hq + h) * x->d + t] * kd[((size_t)(cu_k[b] + c) * x->hkv + hk) * x->d + t];
                qk[(size_t)r * pk + c] = dot;
            }
        for (int i = 0; i < rows; ++i) {
            int last_q = i * S + S - 1 < lq - 1 ? i * S + S - 1 : lq - 1;
            int pos = last_q + lk - lq;
            double m = -INFINITY;
            int ncols = 0;
            for (int j = 0; j < cols; ++j) {
                if (x->causal && j * S > pos) break;
                double anti = 0; /* cells (r, c) of the sub-block with (r - iS) + (c - jS) == S - 1 */
                for (int r = i * S; r < i * S + S; ++r) anti += qk[(size_t)r * pk + (j * S + (S - 1 - (r - i * S)))];
                logit[j] = anti * scale / S;
                if (logit[j] > m) m = logit[j];
                ncols = j + 1;
            }
            double sum = 0;
            for (int j = 0; j < ncols; ++j) sum += exp(logit[j] - m);
            for (int j = 0; j < ncols; ++j) out[(i * S / B) * nkb + j * S / B] += exp(logit[j] - m) / sum;
        }
    }
    free(qk);
    free(logit);
}

static const double *sort_row;
static int cmp_candidates(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    if (sort_row[a] > sort_row[b]) return -1;
    if (sort_row[a] < sort_row[b]) return 1;
    return a - b;
}

/* Selection by its definition: order the candidates (visible, not forced)
 * by (-score, index); the kept set is forced + the shortest prefix of that
 * order whose sum reaches tau * total (the whole order if none does). */
static void brute_select(const double *scores, int nqb, int nkb, int causal, int B, int lq, int lk, double tau,
                         uint8_t *mask, int mkb)
{
    int cand[64];
    for (int qb = 0; qb < nqb; ++qb) {
        const double *row = scores + (size_t)qb * nkb;
        uint8_t *out = mask + (size_t)qb * mkb;
        for (int kb = 0; kb < mkb; ++kb) out[kb] = 0;
        if (nkb == 0) continue;
        int last_q = (qb + 1) * B - 1 < lq - 1 ? (qb + 1) * B - 1 : lq - 1;
        int pos = last_q + lk - lq;
        int diag = pos / B;
        if (pos < 0) diag = 0;
        if (diag > nkb - 1) diag = nkb - 1;
        double total = 0;
        for (int kb = 0; kb < nkb; ++kb) total += row[kb];
        int n = 0;
        for (int kb = 0; kb < nkb; ++kb)
            if (kb != 0 && kb != diag && (!causal || kb * B <= pos)) cand[n++] = kb;
        sort_row = row;
        qsort(cand, (size_t)n, sizeof cand[0], cmp_candidates);
        double forced = row[0] + (diag != 0 ? row[diag] : 0);
        int take = n;
        for (int k = 0; k <= n; ++k) { /* prefix lengths 0..n */
            double s = forced;
            for (int t = 0; t < k; ++t) s += row[cand[t]];
            if (s >= tau * total) {
                take = k;
                break;
            }
        }
        out[0] = out[diag] = 1;
        for (int t = 0; t < take; ++t) out[cand[t]] = 1;
    }
}

static void check_xattn_hand(void)
{
    /* S = 2, B = 2, D = 1, Lq = Lk = 4, causal. Q = (1, 1, 1, 2), K = (1, 0, 1, 1).
     * Qt[0] = (Q1, Q0), Qt[1] = (Q3, Q2) = (2, 1); Kt[0] = (K0, K1) = (1, 0), Kt[1] = (K2, K3) = (1, 1).
     * Row 0's last query is 1: column 1 (first key 2) is hidden, so row 0 = (1, 0).
     * Row 1: Qt1.Kt0 = 2, Qt1.Kt1 = 3; scale = 2 ln 2 -> logits 2 ln 2 * 2/2, 2 ln 2 * 3/2
     * = 2 ln 2, 3 ln 2 -> weights 4, 8 -> softmax (1/3, 2/3). Blocks of 2 = one reshaped
     * cell each: scores [[1, 0], [1/3, 2/3]]. */
    float q[4] = {1, 1, 1, 2}, k[4] = {1, 0, 1, 1};
    int32_t cu[2] = {0, 4};
    elattn_xattn_desc d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.dtype = ELATTN_F32, d.head_dim = 1, d.num_q_heads = 1, d.num_kv_heads = 1, d.batch = 1;
    d.max_seqlen_q = 4, d.max_seqlen_k = 4, d.causal = 1, d.scale = (float)(2 * log(2.0)), d.stride = 2, d.block_size = 2;
    double s[4];
    elattn_status st = elattn_ref_xattn_scores(&d, q, k, cu, cu, 0, 0, s);
    check(st == ELATTN_SUCCESS && fabs(s[0] - 1) < 1e-12 && s[1] == 0 && fabs(s[2] - 1.0 / 3) < 1e-7 &&
              fabs(s[3] - 2.0 / 3) < 1e-7,
          "xattn hand case S=2 B=2: scores [[1, 0], [1/3, 2/3]] (got [[%g, %g], [%g, %g]])", s[0], s[1], s[2], s[3]);
    /* B = 4: one block holding both rows: 1 + 1 = 2 */
    d.block_size = 4;
    st = elattn_ref_xattn_scores(&d, q, k, cu, cu, 0, 0, s);
    check(st == ELATTN_SUCCESS && fabs(s[0] - 2) < 1e-12, "xattn hand case S=2 B=4: one block scoring 2 (got %g)", s[0]);

    /* non-causal: row 0 sees both columns. Qt0 = (Q1, Q0) = (1, 1): dots 1, 2 -> logits ln2, 2ln2
     * -> weights 2, 4 -> (1/3, 2/3); row 1 as before. */
    d.block_size = 2, d.causal = 0;
    st = elattn_ref_xattn_scores(&d, q, k, cu, cu, 0, 0, s);
    check(st == ELATTN_SUCCESS && fabs(s[0] - 1.0 / 3) < 1e-7 && fabs(s[1] - 2.0 / 3) < 1e-7 &&
              fabs(s[2] - 1.0 / 3) < 1e-7 && fabs(s[3] - 2.0 / 3) < 1e-7,
          "xattn hand case non-causal: scores [[1/3, 2/3], [1/3, 2/3]]");

    /* Selection by hand, one row of 6 blocks, non-causal, diagonal = block 2
     * (Lq = Lk = 6 * 16, row 2): scores 0.05 (forced), 0.1, 0.2 (diag, forced),
     * 0.3, 0.3, 0.05; total 1.0, tau 0.8. Kept starts at 0.25 < 0.8: add block 3
     * (0.3, the tie with block 4 goes to the lower index) -> 0.55 < 0.8: add block
     * 4 -> 0.85: stop. Mask row 2 = 1 0 1 1 1 0. */
    double row[6 * 6];
    for (int i = 0; i < 36; ++i) row[i] = 0;
    double r2[6] = {0.05, 0.1, 0.2, 0.3, 0.3, 0.05};
    memcpy(row + 12, r2, sizeof r2);
    uint8_t m[36];
    elattn_ref_xattn_select_head(row, 6, 6, 0, 16, 96, 96, 0.8, m, 6);
    check(m[12] == 1 && m[13] == 0 && m[14] == 1 && m[15] == 1 && m[16] == 1 && m[17] == 0,
          "xattn select hand case: row 2 keeps 0, diag 2, then 3 and 4 (tie to the lower index first)");
    /* tau 0.5: 0.25 -> add 3 -> 0.55 >= 0.5: stop; block 4 (equal score) is not kept */
    elattn_ref_xattn_select_head(row, 6, 6, 0, 16, 96, 96, 0.5, m, 6);
    check(m[15] == 1 && m[16] == 0, "xattn select hand case: tau 0.5 keeps block 3 but not its tie block 4");
    /* causal: row 2 sees blocks 0..2 only; block 3 and 4 are not candidates */
    elattn_ref_xattn_select_head(row, 6, 6, 1, 16, 96, 96, 0.8, m, 6);
    check(m[12] == 1 && m[13] == 1 && m[14] == 1 && m[15] == 0 && m[16] == 0,
          "xattn select hand case causal: only blocks up to the diagonal are candidates");
}

static void check_xattn_random(void)
{
    const elattn_dtype dts[3] = {ELATTN_F32, ELATTN_F16, ELATTN_BF16};
    const int shapes[6][4] = {
        /* stride, block, lq, lk */
        {4, 16, 64, 64}, {4, 16, 61, 61}, {8, 16, 37, 100}, {2, 16, 23, 45}, {1, 16, 50, 50}, {8, 32, 70, 131},
    };
    int n = 0;
    for (int s = 0; s < 6; ++s)
        for (int causal = 0; causal <= 1; ++causal) {
            xa_case x;
            memset(&x, 0, sizeof x);
            x.dtype = dts[n++ % 3];
            x.batch = 2, x.hq = 4, x.hkv = 2, x.d = 6, x.causal = causal;
            x.stride = shapes[s][0], x.block = shapes[s][1];
            x.lq[0] = shapes[s][2], x.lk[0] = shapes[s][3];
            x.lq[1] = 1 + s * 5, x.lk[1] = 9 + s * 11;
            elattn_xattn_desc d = xa_desc(&x);
            int cu_q[3] = {0, x.lq[0], x.lq[0] + x.lq[1]}, cu_k[3] = {0, x.lk[0], x.lk[0] + x.lk[1]};
            size_t nq = (size_t)cu_q[2] * x.hq * x.d, nk = (size_t)cu_k[2] * x.hkv * x.d, es = dtype_bytes(x.dtype);
            void *q = malloc(nq * es), *k = malloc(nk * es);
            double *qd = malloc(nq * sizeof(double)), *kd = malloc(nk * sizeof(double));
            fill_tensor(x.dtype, q, qd, nq);
            fill_tensor(x.dtype, k, kd, nk);
            int mqb = (d.max_seqlen_q + x.block - 1) / x.block, mkb = (d.max_seqlen_k + x.block - 1) / x.block;
            double *got = malloc((size_t)mqb * mkb * sizeof(double)), *want = malloc((size_t)mqb * mkb * sizeof(double));
            int score_bad = 0, rowsum_bad = 0;
            for (int b = 0; b < 2; ++b)
                for (int hk = 0; hk < 2; ++hk) {
                    elattn_ref_xattn_scores(&d, q, k, cu_q, cu_k, b, hk, got);
                    brute_xattn_scores(&x, qd, kd, cu_q, cu_k, b, hk, want);
                    int nqb = (x.lq[b] + x.block - 1) / x.block, nkb = (x.lk[b] + x.block - 1) / x.block;
                    for (int i = 0; i < nqb * nkb; ++i) score_bad += !(fabs(got[i] - want[i]) <= 1e-9);
                    /* each reshaped row with a visible column adds 1 per query head */
                    for (int qb = 0; qb < nqb; ++qb) {
                        double sum = 0;
                        int live = 0;
                        for (int kb = 0; kb < nkb; ++kb) sum += got[qb * nkb + kb];
                        for (int i = qb * x.block / x.stride; i < (qb + 1) * x.block / x.stride && i * x.stride < x.lq[b]; ++i) {
                            int last_q = i * x.stride + x.stride - 1 < x.lq[b] - 1 ? i * x.stride + x.stride - 1 : x.lq[b] - 1;
                            live += x.lk[b] > 0 && (!causal || last_q + x.lk[b] - x.lq[b] >= 0);
                        }
                        rowsum_bad += !(fabs(sum - (double)live * (x.hq / x.hkv)) <= 1e-9);
                    }
                }
            check(score_bad == 0 && rowsum_bad == 0,
                  "xattn scores vs materialised antidiagonal sums: %s %s S=%d B=%d lens (%d,%d) (%d,%d), GQA 2: "
                  "%d cells differ, %d block rows not summing to group x live rows",
                  dtype_str(x.dtype), causal ? "causal" : "non-causal", x.stride, x.block, x.lq[0], x.lk[0], x.lq[1],
                  x.lk[1], score_bad, rowsum_bad);

            /* the group's scores are the sum of one-query-head calls */
            {
                xa_case x1 = x;
                x1.hq = 1, x1.hkv = 1;
                elattn_xattn_desc d1 = xa_desc(&x1);
                size_t ne1 = (size_t)cu_q[2] * x.d;
                void *q1 = malloc(ne1 * es), *k1 = malloc((size_t)cu_k[2] * x.d * es);
                double *one = malloc((size_t)mqb * mkb * sizeof(double));
                int hk = 1, bad = 0;
                elattn_ref_xattn_scores(&d, q, k, cu_q, cu_k, 0, hk, got);
                for (int i = 0; i < mqb * mkb; ++i) want[i] = 0;
                for (int t = 0; t < cu_k[2]; ++t) memcpy((char *)k1 + (size_t)t * x.d * es, (char *)k + ((size_t)t * 2 + hk) * x.d * es, x.d * es);
                for (int gq = 0; gq < 2; ++gq) {
                    for (int t = 0; t < cu_q[2]; ++t)
                        memcpy((char *)q1 + (size_t)t * x.d * es, (char *)q + ((size_t)t * 4 + hk * 2 + gq) * x.d * es, x.d * es);
                    elattn_ref_xattn_scores(&d1, q1, k1, cu_q, cu_k, 0, 0, one);
                    int nqb = (x.lq[0] + x.block - 1) / x.block, nkb = (x.lk[0] + x.block - 1) / x.block;
                    for (int i = 0; i < nqb * nkb; ++i) want[i] += one[i];
                }
                int nqb = (x.lq[0] + x.block - 1) / x.block, nkb = (x.lk[0] + x.block - 1) / x.block;
                for (int i = 0; i < nqb * nkb; ++i) bad += !(fabs(got[i] - want[i]) <= 1e-12);
                check(bad == 0, "xattn GQA: a group's scores == the sum of its query heads run alone (%s, S=%d)",
                      causal ? "causal" : "non-causal", x.stride);
                free(q1), free(k1), free(one);
            }

            /* whole selection vs brute-force selection on brute-force scores;
             * head 0 of element 1 is FULL and must be left untouched */
            {
                int32_t modes[4] = {ELATTN_BLOCK_SPARSE, ELATTN_BLOCK_SPARSE, ELATTN_FULL, ELATTN_BLOCK_SPARSE};
                float taus[2] = {0.9f, 0.6f};
                size_t mask_n = (size_t)2 * 2 * mqb * mkb;
                uint8_t *mask = malloc(mask_n), *expect = malloc(mask_n);
                memset(mask, 0x77, mask_n);
                memset(expect, 0x77, mask_n);
                elattn_status st = elattn_ref_xattn(&d, q, k, cu_q, cu_k, modes, taus, mask, mqb, mkb);
                for (int b = 0; b < 2; ++b)
                    for (int hk = 0; hk < 2; ++hk) {
                        if (modes[b * 2 + hk] != ELATTN_BLOCK_SPARSE) continue;
                        uint8_t *head = expect + elattn_mask_row(b, hk, 0, 2, mqb, mkb);
                        memset(head, 0, (size_t)mqb * mkb);
                        int nqb = (x.lq[b] + x.block - 1) / x.block, nkb = (x.lk[b] + x.block - 1) / x.block;
                        brute_xattn_scores(&x, qd, kd, cu_q, cu_k, b, hk, want);
                        brute_select(want, nqb, nkb, causal, x.block, x.lq[b], x.lk[b], (double)taus[hk], head, mkb);
                    }
                int differ = 0, kept = 0, cells = 0;
                for (size_t i = 0; i < mask_n; ++i) {
                    differ += mask[i] != expect[i];
                    if (expect[i] != 0x77) kept += expect[i], ++cells;
                }
                check(st == ELATTN_SUCCESS && differ == 0,
                      "xattn selection vs enumerated prefixes (tau 0.9 / 0.6, FULL head untouched, tails zero): "
                      "%d cells differ (%d of %d kept)", differ, kept, cells);
                free(mask), free(expect);
            }
            free(q), free(k), free(qd), free(kd), free(got), free(want);
        }

    /* selection vs prefixes on random rows with many ties */
    int differ = 0, rows = 0;
    for (int trial = 0; trial < 300; ++trial) {
        int nkb = rand_int(1, 12), nqb = rand_int(1, 12), B = 16, causal = trial & 1;
        int lk = nkb * B - rand_int(0, B - 1), lq = rand_int(1, lk);
        nqb = (lq + B - 1) / B;
        double sc[144];
        for (int i = 0; i < nqb * nkb; ++i) sc[i] = rand_int(0, 4) * 0.25; /* coarse: ties everywhere */
        double tau = 0.1 * rand_int(1, 10);
        uint8_t a[144], b2[144];
        elattn_ref_xattn_select_head(sc, nqb, nkb, causal, B, lq, lk, tau, a, nkb);
        brute_select(sc, nqb, nkb, causal, B, lq, lk, tau, b2, nkb);
        differ += memcmp(a, b2, (size_t)nqb * nkb) != 0;
        rows += nqb;
    }
    check(differ == 0, "xattn selection vs enumerated prefixes: 300 random tie-heavy heads (%d rows), %d differ",
          rows, differ);
}

/* ======================================================================== */
/* 4. router                                                                 */
/* ======================================================================== */
static double silu_d(double x) { return x / (1.0 + exp(-x)); }

static void check_router(void)
{
    enum { D = 4, R = 8, H = 2, NB = 4 };
    float w1[R * D], b1[R], w2[D * R], b2[D], w3[R * D], b3[R], w4[D * R], b4[D], w5[2 * D], b5[2];
    float *all[10] = {w1, b1, w2, b2, w3, b3, w4, b4, w5, b5};
    int sizes[10] = {R * D, R, D * R, D, R * D, R, D * R, D, 2 * D, 2};
    for (int t = 0; t < 10; ++t)
        for (int i = 0; i < sizes[t]; ++i) all[t][i] = (float)nonzero_value();
    elattn_ref_router_weights w = {w1, b1, w2, b2, w3, b3, w4, b4, w5, b5};

    /* lengths around the pooling boundary: < 2P, == 2P, 2P + 1, long */
    const int lens[NB] = {37, 200, 201, 333};
    int32_t cu[NB + 1] = {0};
    for (int b = 0; b < NB; ++b) cu[b + 1] = cu[b] + lens[b];
    const elattn_dtype dts[2] = {ELATTN_F32, ELATTN_BF16};
    for (int di = 0; di < 2; ++di) {
        elattn_dtype dt = dts[di];
        size_t n = (size_t)cu[NB] * H * D;
        void *keys = malloc(n * 4);
        double *kd = malloc(n * sizeof(double));
        fill_tensor(dt, keys, kd, n);
        /* a token only counted if pooling excludes the middle: token 100 of
         * element 2 (L = 201: pooled are 0..99 and 101..200) is made huge */
        for (int hk = 0; hk < H; ++hk)
            for (int x = 0; x < D; ++x) {
                size_t at = ((size_t)(cu[2] + 100) * H + hk) * D + x;
                elattn_ref_store(dt, keys, at, 1000.0);
                kd[at] = 1000.0;
            }
        elattn_router_desc d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.key_dtype = dt, d.head_dim = D, d.hidden = R, d.num_kv_heads = H, d.batch = NB, d.max_seqlen = 333;
        d.retrieval_mode = ELATTN_FULL, d.sparse_mode = ELATTN_STREAMING;
        /* pass 1 shifts b5[1] by the median logit gap of pass 0 so both classes occur */
        const float b5_1 = b5[1];
        double gaps[NB * H];
        for (int pass = 0; pass < 2; ++pass) {
            if (pass == 1) {
                double sorted[NB * H];
                memcpy(sorted, gaps, sizeof sorted);
                for (int i = 0; i < NB * H; ++i)
                    for (int j = i + 1; j < NB * H; ++j)
                        if (sorted[j] < sorted[i]) { double t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t; }
                b5[1] = (float)(b5_1 - 0.5 * (sorted[NB * H / 2 - 1] + sorted[NB * H / 2]));
            }
            float logits[NB * H * 2];
            int32_t modes[NB * H];
            elattn_status st = elattn_ref_router(&d, keys, cu, &w, logits, modes);
            int bad = 0, decided_full = 0;
            double max_err = 0;
            for (int b = 0; b < NB; ++b)
                for (int hk = 0; hk < H; ++hk) {
                    /* pooling written from the rule: tokens [0, 100) and [L-100, L) once each */
                    double pooled[D] = {0};
                    int count = 0;
                    for (int t = 0; t < lens[b]; ++t) {
                        int in = lens[b] < 200 || t < 100 || t >= lens[b] - 100;
                        if (!in) continue;
                        ++count;
                        for (int x = 0; x < D; ++x) pooled[x] += kd[((size_t)(cu[b] + t) * H + hk) * D + x];
                    }
                    for (int x = 0; x < D; ++x) pooled[x] /= count;
                    double h1[R], t1[D], h2[R], f[D], lg[2];
                    for (int r = 0; r < R; ++r) {
                        h1[r] = b1[r];
                        for (int x = 0; x < D; ++x) h1[r] += w1[r * D + x] * pooled[x];
                        h1[r] = silu_d(h1[r]);
                    }
                    for (int x = 0; x < D; ++x) {
                        t1[x] = b2[x];
                        for (int r = 0; r < R; ++r) t1[x] += w2[x * R + r] * h1[r];
                    }
                    for (int r = 0; r < R; ++r) {
                        h2[r] = b3[r];
                        for (int x = 0; x < D; ++x) h2[r] += w3[r * D + x] * t1[x];
                        h2[r] = silu_d(h2[r]);
                    }
                    for (int x = 0; x < D; ++x) {
                        f[x] = b4[x];
                        for (int r = 0; r < R; ++r) f[x] += w4[x * R + r] * h2[r];
                        f[x] = silu_d(f[x]);
                    }
                    for (int c = 0; c < 2; ++c) {
                        lg[c] = b5[c];
                        for (int x = 0; x < D; ++x) lg[c] += w5[c * D + x] * f[x];
                    }
                    int e = b * H + hk;
                    gaps[e] = lg[1] - lg[0];
                    for (int c = 0; c < 2; ++c) {
                        double err = fabs(logits[2 * e + c] - lg[c]);
                        if (err > max_err) max_err = err;
                        bad += !(err <= 1e-6 * fabs(lg[c]) + 1e-6);
                    }
                    int want_mode = lg[1] > lg[0] ? ELATTN_FULL : ELATTN_STREAMING;
                    bad += modes[e] != want_mode;
                    decided_full += modes[e] == ELATTN_FULL;
                }
            int both = pass == 0 || (decided_full > 0 && decided_full < NB * H);
            check(st == ELATTN_SUCCESS && bad == 0 && both,
                  "router vs hand-written forward pass (%s keys, L = 37, 200, 201 (middle token excluded), 333%s): "
                  "%d mismatches, max logit err %.3g, %d of %d heads class 1",
                  dtype_str(dt), pass ? ", bias moved so both classes occur" : "", bad, max_err, decided_full, NB * H);
        }
        b5[1] = b5_1;
        free(keys), free(kd);
    }

    /* hand case: every weight 0, head bias (0, 1): logits (0, 1) -> class 1 ->
     * retrieval mode; bias (1, 0) -> class 0 -> sparse mode; (0.5, 0.5) is a
     * tie: not logit1 > logit0 -> class 0 */
    {
        float z[R * D] = {0}, bias_a[2] = {0, 1}, bias_b[2] = {1, 0}, bias_c[2] = {0.5f, 0.5f};
        elattn_ref_router_weights wz = {z, z, z, z, z, z, z, z, z, bias_a};
        float key[3 * D];
        for (int i = 0; i < 3 * D; ++i) key[i] = (float)nonzero_value();
        int32_t cu1[2] = {0, 3}, m[1];
        float lg[2];
        elattn_router_desc d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.key_dtype = ELATTN_F32, d.head_dim = D, d.hidden = R, d.num_kv_heads = 1, d.batch = 1, d.max_seqlen = 3;
        d.retrieval_mode = ELATTN_BLOCK_SPARSE, d.sparse_mode = ELATTN_STREAMING;
        elattn_ref_router(&d, key, cu1, &wz, lg, m);
        int ok = lg[0] == 0 && lg[1] == 1 && m[0] == ELATTN_BLOCK_SPARSE;
        wz.head_b3 = bias_b;
        elattn_ref_router(&d, key, cu1, &wz, lg, m);
        ok &= m[0] == ELATTN_STREAMING;
        wz.head_b3 = bias_c;
        elattn_ref_router(&d, key, cu1, &wz, NULL, m);
        ok &= m[0] == ELATTN_STREAMING;
        check(ok, "router hand case: zero weights, head bias decides (class 1 -> retrieval, tie -> sparse)");
    }
}

/* ======================================================================== */
/* 5. sparsity metrics                                                       */
/* ======================================================================== */
static void check_sparsity(void)
{
    /* closed form: causal STREAMING, Lq = Lk = L, M = sink + local: row p sees
     * min(p + 1, M) keys, so attended = L(L+1)/2 if L <= M else
     * M(M+1)/2 + (L - M) M, out of L(L+1)/2 causal pairs. */
    const int Ls[4] = {100, 1000, 4097, 20}, sinks[4] = {4, 64, 128, 3}, locals[4] = {16, 256, 1000, 30};
    int bad = 0;
    for (int t = 0; t < 4; ++t) {
        long long L = Ls[t], M = sinks[t] + locals[t];
        double attended = L <= M ? L * (L + 1) / 2.0 : M * (M + 1) / 2.0 + (double)(L - M) * M;
        double rho = 1.0 - attended / (L * (L + 1) / 2.0);
        elattn_attn_desc d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.dtype = ELATTN_BF16, d.head_dim = 128, d.num_q_heads = 8, d.num_kv_heads = 4, d.batch = 1;
        d.max_seqlen_q = d.max_seqlen_k = (int)L, d.causal = 1, d.sink = sinks[t], d.local = locals[t], d.block_size = 64;
        int32_t cu[2] = {0, (int)L}, modes[4] = {ELATTN_STREAMING, ELATTN_FULL, ELATTN_STREAMING, ELATTN_FULL};
        elattn_sparsity s;
        elattn_ref_sparsity(&d, cu, cu, modes, NULL, &s);
        int ok = s.entries == 4 && s.sparse_entries == 2 && fabs(s.omega_msr - 0.5) < 1e-15 &&
                 fabs(s.rho_sum - 2 * rho) < 1e-12 && fabs(s.omega_esr - rho / 2) < 1e-12;
        if (!ok) printf("  L=%lld M=%lld: want rho %.15g, got rho_sum %.15g\n", L, M, rho, s.rho_sum);
        bad += !ok;
    }
    check(bad == 0, "sparsity: Omega_ESR of causal STREAMING == closed form (4 lengths incl. L <= sink+local), MSR 0.5");

    /* brute force over pairs with the table, every mode, causal and not, Lq < Lk, empty elements */
    bad = 0;
    for (int trial = 0; trial < 40; ++trial) {
        attn_case c = base_case(ELATTN_F32, 3, 2, 2, 2, trial & 1);
        c.sink = rand_int(0, 6), c.local = rand_int(1, 25);
        for (int b = 0; b < 3; ++b) {
            int lk = rand_int(0, 70);
            set_lengths(&c, b, rand_int(0, lk), lk);
        }
        if (trial % 7 == 3) set_lengths(&c, 2, 0, 0);
        random_modes(&c);
        attn_data a;
        data_init(&a, &c, 0.4);
        elattn_attn_desc d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.dtype = ELATTN_F32, d.head_dim = 64, d.num_q_heads = 2, d.num_kv_heads = 2, d.batch = 3;
        d.max_seqlen_q = a.max_q, d.max_seqlen_k = a.max_k, d.causal = c.causal, d.sink = c.sink;
        d.local = c.local, d.block_size = c.block;
        elattn_sparsity s;
        elattn_ref_sparsity(&d, a.cu_q, a.cu_k, c.modes, a.mask, &s);
        double rho_sum = 0;
        long sparse = 0;
        for (int b = 0; b < 3; ++b)
            for (int hk = 0; hk < 2; ++hk) {
                if (c.modes[b * 2 + hk] == ELATTN_FULL) continue;
                ++sparse;
                long long att = 0, den = 0;
                for (int i = 0; i < c.lq[b]; ++i)
                    for (int j = 0; j < c.lk[b]; ++j) {
                        den += !c.causal || j <= i + c.lk[b] - c.lq[b];
                        att += table_visible(&a, b, hk, i, j);
                    }
                if (den > 0) rho_sum += 1.0 - (double)att / den;
            }
        int ok = s.entries == 6 && s.sparse_entries == sparse && fabs(s.rho_sum - rho_sum) < 1e-12 &&
                 fabs(s.omega_esr - rho_sum / 6) < 1e-12 && fabs(s.omega_msr - sparse / 6.0) < 1e-15;
        bad += !ok;
        data_free(&a);
    }
    check(bad == 0, "sparsity vs brute-force pair count with the table: 40 random calls, every mode, "
                    "causal and not, Lq < Lk, empty elements (%d differ)", bad);
}

int main(void)
{
    check_conversions();
    check_hand_cases();
    check_against_oracle();
    check_identities();
    check_xattn_hand();
    check_xattn_random();
    check_router();
    check_sparsity();
    printf("ref_checks: %d passed, %d failed\n", n_passed, n_failed);
    return n_failed > 0;
}

/*
 * Checks of the tools' kit (meson test kit_checks): the JSON writer's bytes,
 * the generator's stream and seeds (the conformance cases' data and the
 * benchmark's inputs derive from them), the case model's helpers and the fast
 * host conversions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit_case.h"
#include "kit_json.h"
#include "kit_rng.h"
#include "kit_values.h"

static int failures;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "kit_checks: %s:%d: ", __FILE__, __LINE__);     \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            ++failures;                                                     \
        }                                                                   \
    } while (0)

/* ---- JSON ------------------------------------------------------------------ */
static void expect_document(FILE *f, const char *want, const char *what)
{
    char got[2048];
    size_t n = (size_t)ftell(f);
    rewind(f);
    n = fread(got, 1, n < sizeof got - 1 ? n : sizeof got - 1, f);
    got[n] = '\0';
    fclose(f);
    CHECK(strcmp(got, want) == 0, "%s:\n got: %s\nwant: %s", what, got, want);
}

static void json_checks(void)
{
    /* One value of each kind on one line, escapes, non-finite numbers. */
    FILE *f = tmpfile();
    kit_json w;
    kit_json_init(&w, f);
    kit_json_object(&w, NULL);
    kit_json_string(&w, "s", "a\"b\\c\nd\x01");
    kit_json_number(&w, "pi", 3.14159265358979, 15);
    kit_json_number(&w, "short", 3.14159265358979, 6);
    kit_json_number(&w, "nan", NAN, 15);
    kit_json_number(&w, "inf", -INFINITY, 6);
    kit_json_fixed(&w, "secs", 0.0004, 3);
    kit_json_fixed(&w, "nan_fixed", NAN, 3);
    kit_json_int(&w, "i", -7);
    kit_json_uint(&w, "u", 18446744073709551615ull);
    kit_json_bool(&w, "t", 1);
    kit_json_bool(&w, "f", 0);
    kit_json_null(&w, "n");
    kit_json_array(&w, "empty");
    kit_json_end(&w);
    kit_json_array(&w, "list");
    kit_json_string(&w, NULL, "x");
    kit_json_object(&w, NULL);
    kit_json_int(&w, "k", 1);
    kit_json_end(&w);
    kit_json_end(&w);
    kit_json_end(&w);
    expect_document(f,
                    "{\"s\": \"a\\\"b\\\\c\\u000ad\\u0001\", \"pi\": 3.14159265358979, \"short\": 3.14159, "
                    "\"nan\": null, \"inf\": null, \"secs\": 0.000, \"nan_fixed\": null, \"i\": -7, "
                    "\"u\": 18446744073709551615, \"t\": true, \"f\": false, \"n\": null, \"empty\": [], "
                    "\"list\": [\"x\", {\"k\": 1}]}",
                    "one line");

    /* elattn-bench's layout: members and cases on lines of their own. */
    f = tmpfile();
    kit_json_init(&w, f);
    kit_json_object(&w, NULL);
    kit_json_newline(&w, 1);
    kit_json_object(&w, "meta");
    kit_json_string(&w, "tool", "t");
    kit_json_end(&w);
    kit_json_newline(&w, 1);
    kit_json_array(&w, "cases");
    for (int i = 0; i < 2; ++i) {
        kit_json_newline(&w, 2);
        kit_json_object(&w, NULL);
        kit_json_int(&w, "i", i);
        kit_json_null(&w, "serial");
        kit_json_end(&w);
    }
    kit_json_newline(&w, 1);
    kit_json_end(&w);
    kit_json_newline(&w, 0);
    kit_json_end(&w);
    expect_document(f,
                    "{\n \"meta\": {\"tool\": \"t\"},\n \"cases\": [\n  {\"i\": 0, \"serial\": null},\n"
                    "  {\"i\": 1, \"serial\": null}\n ]\n}",
                    "bench layout");

    /* elattn-conformance's layout with no result: the break before "]" stays. */
    f = tmpfile();
    kit_json_init(&w, f);
    kit_json_object(&w, NULL);
    kit_json_bool(&w, "self_test", 0);
    kit_json_array(&w, "results");
    kit_json_newline(&w, 0);
    kit_json_end(&w);
    kit_json_end(&w);
    expect_document(f, "{\"self_test\": false, \"results\": [\n]}", "conformance layout, empty");
}

/* ---- the generator -------------------------------------------------------------- */
static void rng_checks(void)
{
    /* Seed s starts splitmix64 at s ^ gamma: seed gamma is splitmix64 from 0,
     * whose first outputs are published with the algorithm. */
    kit_rng r;
    kit_rng_seed(&r, 0x9E3779B97F4A7C15ull);
    const uint64_t from_zero[3] = {0xE220A8397B1DCDAFull, 0x6E789E6AA1B965F4ull, 0x06C45D188009454Full};
    for (int i = 0; i < 3; ++i) {
        uint64_t x = kit_rng_next(&r);
        CHECK(x == from_zero[i], "splitmix64 output %d: %016llx, want %016llx", i, (unsigned long long)x,
              (unsigned long long)from_zero[i]);
    }
    /* The conformance cases' seeds: a changed hash would change every case's data. */
    CHECK(kit_hash_name("attn/len/full/f32/d64/h6:3/L1/causal/lse") == 0xf508d87301a17b46ull, "hash of a case name");
    CHECK(kit_hash_name("") == 0x14650fb0739d0383ull, "hash of the empty name");

    /* Moments of the samples (n = 2^18: the standard error of a mean is 0.002). */
    enum { N = 1 << 18 };
    double sum_n = 0, sq_n = 0, sum_u = 0, sq_u = 0, lo = 0, hi = 0;
    kit_rng_seed(&r, 42);
    for (int i = 0; i < N; ++i) {
        double x = kit_rng_normal(&r), u = kit_rng_unit(&r);
        sum_n += x, sq_n += x * x, sum_u += u, sq_u += u * u;
        lo = u < lo ? u : lo, hi = u > hi ? u : hi;
    }
    CHECK(fabs(sum_n / N) < 0.01 && fabs(sq_n / N - 1) < 0.02, "normal: mean %g, variance %g", sum_n / N, sq_n / N);
    CHECK(fabs(sum_u / N) < 0.01 && fabs(sq_u / N - 1) < 0.02, "unit: mean %g, variance %g", sum_u / N, sq_u / N);
    CHECK(lo >= -1.7320509 && hi < 1.7320509 && lo < -1.73 && hi > 1.73, "unit: range [%g, %g]", lo, hi);

    /* Streams of one seed differ, and each is reproducible. */
    kit_rng a, b, a2;
    kit_rng_seed_stream(&a, 7, 1);
    kit_rng_seed_stream(&b, 7, 2);
    kit_rng_seed_stream(&a2, 7, 1);
    uint64_t xa = kit_rng_next(&a), xb = kit_rng_next(&b), xa2 = kit_rng_next(&a2);
    CHECK(xa != xb && xa == xa2, "streams of one seed");
}

/* ---- the case model --------------------------------------------------------------- */
static void case_checks(void)
{
    kit_case c;
    memset(&c, 0, sizeof c);
    c.dtype = ELATTN_BF16, c.head_dim = 64, c.hq = 6, c.hkv = 3, c.batch = 3;
    c.len_q[0] = 17, c.len_q[1] = 0, c.len_q[2] = 64;
    c.len_k[0] = 203, c.len_k[1] = 0, c.len_k[2] = 64;
    c.causal = 1, c.sink = 4, c.local = 32, c.block = 64;
    int32_t cu_q[KIT_MAX_BATCH + 1], cu_k[KIT_MAX_BATCH + 1];
    int max_q, max_k;
    kit_case_seqlens(&c, cu_q, cu_k, &max_q, &max_k);
    CHECK(cu_q[0] == 0 && cu_q[1] == 17 && cu_q[2] == 17 && cu_q[3] == 81, "cu_seqlens_q");
    CHECK(cu_k[0] == 0 && cu_k[1] == 203 && cu_k[2] == 203 && cu_k[3] == 267, "cu_seqlens_k");
    CHECK(max_q == 64 && max_k == 203, "longest lengths %d %d", max_q, max_k);
    CHECK(kit_case_q_elems(&c) == 81u * 6 * 64 && kit_case_kv_elems(&c) == 267u * 3 * 64, "element counts");

    kit_case empty = c;
    empty.batch = 1, empty.len_q[0] = empty.len_k[0] = 0;
    kit_case_seqlens(&empty, cu_q, cu_k, &max_q, &max_k);
    CHECK(max_q == 1 && max_k == 1, "an empty call's longest lengths are 1, got %d %d", max_q, max_k);

    elattn_attn_desc d = kit_case_attn_desc(&c, 1);
    CHECK(d.dtype == ELATTN_BF16 && d.head_dim == 64 && d.num_q_heads == 6 && d.num_kv_heads == 3 && d.batch == 3 &&
              d.max_seqlen_q == 64 && d.max_seqlen_k == 203 && d.causal == 1 && d.scale == 0.0f && d.sink == 4 &&
              d.local == 32 && d.block_size == 64 && d.write_lse == 1,
          "attention descriptor");
    elattn_xattn_desc x = kit_case_xattn_desc(&c, 16);
    CHECK(x.max_seqlen_q == 64 && x.max_seqlen_k == 203 && x.stride == 16 && x.block_size == 64 && x.scale == 0.0f,
          "XAttention descriptor");

    kit_case_split_modes(&c, ELATTN_FULL, 1, ELATTN_STREAMING);
    for (int b = 0; b < 3; ++b)
        CHECK(c.modes[b * 3] == ELATTN_FULL && c.modes[b * 3 + 1] == ELATTN_STREAMING &&
                  c.modes[b * 3 + 2] == ELATTN_STREAMING,
              "split modes of element %d", b);
    CHECK(kit_case_count_mode(&c, ELATTN_FULL) == 3 && kit_case_count_mode(&c, ELATTN_STREAMING) == 6 &&
              kit_case_count_mode(&c, ELATTN_BLOCK_SPARSE) == 0,
          "mode counts of a split");
    kit_case_cycle_modes(&c);
    for (int e = 0; e < 9; ++e) CHECK(c.modes[e] == e % 3, "cycled mode of entry %d", e);

    /* Random tensors: reproducible, and `rounded` is what was stored. */
    enum { N = 10000 };
    static uint16_t t1[N], t2[N];
    static float rounded[N], widened[N];
    kit_rng r1, r2;
    kit_rng_seed(&r1, 5), kit_rng_seed(&r2, 5);
    CHECK(kit_random_tensor(&r1, ELATTN_F16, N, 2.0, t1, rounded) == ELATTN_SUCCESS, "random tensor");
    CHECK(kit_random_tensor(&r2, ELATTN_F16, N, 2.0, t2, NULL) == ELATTN_SUCCESS, "random tensor");
    CHECK(memcmp(t1, t2, sizeof t1) == 0, "random tensors of one seed differ");
    elattn_convert(ELATTN_F32, widened, ELATTN_F16, t1, N);
    CHECK(memcmp(rounded, widened, sizeof rounded) == 0, "rounded values are not the stored ones");
    double sq = 0;
    for (int i = 0; i < N; ++i) sq += (double)rounded[i] * rounded[i];
    CHECK(fabs(sq / N - 4.0) < 0.2, "sigma 2: variance %g", sq / N);
}

/* ---- host conversions ------------------------------------------------------------- */
static void values_checks(void)
{
    CHECK(kit_check_conversions("kit_checks") == 0, "conversions disagree with elattn_convert");
    /* Hand-picked values: rounding at the edges of fp16's range. */
    static const struct {
        float v;
        uint16_t f16, bf16;
    } known[] = {
        {1.0f, 0x3c00, 0x3f80},
        {-2.0f, 0xc000, 0xc000},
        {65504.0f, 0x7bff, 0x4780},
        {65520.0f, 0x7c00, 0x4780},          /* halfway past fp16's largest: inf */
        {0x1p-24f, 0x0001, 0x3380},          /* fp16's smallest subnormal */
        {0x1p-25f, 0x0000, 0x3300},          /* halfway to it: ties to even, 0 */
        {0x3p-25f, 0x0002, 0x33c0},          /* 1.5 units: ties to even, 2 */
        {1.0f + 0x1p-8f, 0x3c04, 0x3f80},    /* bf16: halfway, even is down */
        {1.0f + 0x3p-8f, 0x3c0c, 0x3f82},    /* bf16: halfway, even is up */
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; ++i) {
        uint16_t h, b;
        kit_store_value(ELATTN_F16, &h, 0, known[i].v);
        kit_store_value(ELATTN_BF16, &b, 0, known[i].v);
        CHECK(h == known[i].f16 && b == known[i].bf16, "%g: f16 0x%04x (want 0x%04x), bf16 0x%04x (want 0x%04x)",
              (double)known[i].v, h, known[i].f16, b, known[i].bf16);
    }
    float f = 0.0f;
    kit_store_value(ELATTN_F32, &f, 0, 0.1f);
    CHECK(f == 0.1f && kit_load_value(ELATTN_F32, &f, 0) == 0.1f, "f32 is stored as is");
}

int main(void)
{
    json_checks();
    rng_checks();
    case_checks();
    values_checks();
    if (failures) {
        fprintf(stderr, "kit_checks: %d failed\n", failures);
        return 1;
    }
    printf("kit_checks: all passed\n");
    return 0;
}

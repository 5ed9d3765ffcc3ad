/*
 * The split-KV policy of decode (api/src/decode_policy.c), checked without a device:
 *  - its bounds, on random runs under both models: every entry gets 1..splits chunks, a cut
 *    entry's chunks are at least DECODE_MIN_CHUNK (256) slots long, the cut entries' chunks stay
 *    within what a plan allocates (elattn_decode_policy_bounds), and the returned sum is theirs;
 *  - the bandwidth model's choices on the decode table's shapes (132 SMs, 264 resident items), and
 *    with an H200's peak bandwidth on the shapes where the H100's saturating items were too few,
 *    each the chunk length that was fastest, or within 1% of it, among the twelve timed on the
 *    H100 (bench/results/2026-12-06-nvidia-h100, call 128: every head cut into chunks of C slots
 *    for C from 256 to 131072);
 *  - the waves model's choices on the H200 table's shapes (the families it serves keep them);
 *  - the grid model's choices on the OpenCL tiled family's hybrid shapes: the chunk length that was
 *    fastest, or within 5.1% of it, among the ten timed on the H100 (call 133, same hook), and the
 *    waves model's choice where every head is alike;
 *  - under all three, the two shapes that broke earlier versions: 8K x 1 fa-ssa:0.75 (no head cut,
 *    248 us instead of 29) and 128K x 64 fa-ssa:0.75 (the FULL heads left whole beside 384
 *    STREAMING ones, 4.36 ms instead of 2.45);
 *  - desc.num_splits: every entry gets exactly that many.
 * Exit 0 when every check holds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "decode_policy.h"

static int failures;

#define CHECK(cond, ...)                      \
    do {                                      \
        if (!(cond)) {                        \
            ++failures;                       \
            fprintf(stderr, "FAIL: " __VA_ARGS__); \
            fprintf(stderr, "\n");            \
        }                                     \
    } while (0)

enum { MAX_ENTRIES = 1024, SINK = 128, LOCAL = 2048 };

static int64_t slots[MAX_ENTRIES];
static int32_t chunks[MAX_ENTRIES];

/* `batch` sequences of `len` tokens, Hkv 8, `full` of them FULL, the rest STREAMING (sink + local slots) */
static size_t table_run(int batch, int len, int full)
{
    size_t n = 0;
    for (int b = 0; b < batch; ++b)
        for (int h = 0; h < 8; ++h) slots[n++] = h < full || len < SINK + LOCAL ? len : SINK + LOCAL;
    return n;
}

static void check_bounds(const elattn_decode_policy *p, size_t entries, size_t split, size_t heads, const char *what)
{
    size_t max_chunks = 0, max_split = 0, sum = 0, cut = 0;
    elattn_decode_policy_bounds(p, heads, &max_chunks, &max_split);
    for (size_t e = 0; e < entries; ++e) {
        const int32_t c = chunks[e];
        CHECK(c >= 1 && c <= p->splits, "%s: entry %zu has %d chunks, outside [1, %d]", what, e, c, p->splits);
        if (c > 1) {
            cut += (size_t)c;
            if (p->num_splits == 0)
                CHECK((slots[e] + c - 1) / c >= 256 || slots[e] < 256, "%s: entry %zu (%lld slots) cut into %d chunks "
                      "shorter than 256 slots", what, e, (long long)slots[e], c);
        }
        sum += (size_t)c;
    }
    CHECK(split == cut, "%s: returned %zu, the cut entries have %zu chunks", what, split, cut);
    CHECK(cut <= max_split, "%s: %zu chunks of cut entries, the plan holds %zu", what, cut, max_split);
    CHECK(sum <= max_chunks, "%s: %zu chunks, the plan holds %zu", what, sum, max_chunks);
}

/* One shape of the decode table under `model` (a 132-SM device: 264 resident items): its
 * chunks in all, and those of a FULL and of a STREAMING head. */
typedef struct shape_result {
    size_t items;
    int full_chunks, streaming_chunks;
} shape_result;

static shape_result run_shape_at(int model, double peak_gbps, int batch, int len, int full, const char *what)
{
    elattn_decode_policy p;
    elattn_decode_policy_init(&p, 132, len, 0);
    elattn_decode_policy_set_model(&p, model, peak_gbps);
    const size_t n = table_run(batch, len, full);
    const size_t split = elattn_decode_policy_chunks(&p, slots, n, chunks);
    check_bounds(&p, n, split, (size_t)batch * 8, what);
    shape_result r = {0, chunks[0], chunks[7]};
    for (size_t e = 0; e < n; ++e) r.items += (size_t)chunks[e];
    return r;
}

/* The same on a device whose peak bandwidth the backend did not report (the models' defaults). */
static shape_result run_shape(int model, int batch, int len, int full, const char *what)
{
    return run_shape_at(model, 0.0, batch, len, full, what);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

int main(void)
{
    enum { WAVES = ELATTN_DECODE_MODEL_WAVES, BW = ELATTN_DECODE_MODEL_BANDWIDTH };
    /* the bandwidth model: call 128's fastest (us per step: its choice against the waves model's) */
    shape_result r = run_shape(BW, 16, 8192, 2, "8K x 16 fa-ssa:0.75");
    CHECK(r.full_chunks == 4 && r.streaming_chunks == 1, "8K x 16 fa-ssa:0.75: FULL %d, STREAMING %d chunks: "
          "expected 4 and 1 (88.7 us; 7 and 2 took 103.2)", r.full_chunks, r.streaming_chunks);
    r = run_shape(BW, 64, 8192, 2, "8K x 64 fa-ssa:0.75");
    CHECK(r.full_chunks == 2 && r.streaming_chunks == 1, "8K x 64 fa-ssa:0.75: FULL %d, STREAMING %d chunks: "
          "expected 2 and 1 (333.4 us; whole heads took 379.3)", r.full_chunks, r.streaming_chunks);
    r = run_shape(BW, 64, 32768, 4, "32K x 64 fa-ssa:0.5");
    CHECK(r.full_chunks == 2 && r.streaming_chunks == 1, "32K x 64 fa-ssa:0.5: FULL %d, STREAMING %d chunks: "
          "expected 2 and 1 (1452 us; whole heads took 1540)", r.full_chunks, r.streaming_chunks);
    r = run_shape(BW, 1, 32768, 2, "32K x 1 fa-ssa:0.75");
    CHECK(r.full_chunks == 64, "32K x 1 fa-ssa:0.75: %d chunks per FULL head, expected 64 (27.7 us; 107 took 30.3)",
          r.full_chunks);
    r = run_shape(BW, 16, 32768, 2, "32K x 16 fa-ssa:0.75");
    CHECK(r.full_chunks == 4 && r.streaming_chunks == 1, "32K x 16 fa-ssa:0.75: FULL %d, STREAMING %d chunks: "
          "expected 4 and 1 (217.8 us; 7 and 1 took 233.9)", r.full_chunks, r.streaming_chunks);
    /* equal heads that fill the device stay whole; batch 1 is cut into 16 a head (22.0 / 54.9 / 184.5 us
     * at 8K / 32K / 128K, within 0.5% of the fastest) */
    r = run_shape(BW, 64, 8192, 8, "8K x 64 dense");
    CHECK(r.items == 512, "8K x 64 dense: %zu items, expected whole heads", r.items);
    r = run_shape(BW, 16, 131072, 8, "128K x 16 dense");
    CHECK(r.items == 128, "128K x 16 dense: %zu items, expected whole heads (2700.8 us, the fastest)", r.items);
    r = run_shape(BW, 64, 131072, 8, "128K x 64 dense");
    CHECK(r.items == 512, "128K x 64 dense: %zu items, expected whole heads", r.items);
    for (int len = 8192; len <= 131072; len *= 4) {
        r = run_shape(BW, 1, len, 8, "batch 1 dense");
        CHECK(r.full_chunks == 16, "%d x 1 dense: %d chunks per head, expected 16", len, r.full_chunks);
    }
    /* the bandwidth model on an H200 (4915 GB/s from its memory clock and bus width: S 159): call
     * 151's fastest lengths, where the H100's S (99) kept half the items (us per step) */
    const double h200 = 4915.0;
    for (int len = 8192; len <= 131072; len *= 4) {
        r = run_shape_at(BW, h200, 1, len, 8, "H200: batch 1 dense");
        CHECK(r.full_chunks == 32, "H200: %d x 1 dense: %d chunks per head, expected 32 (128K: 132.5 us; 16 took "
              "153.5)", len, r.full_chunks);
    }
    r = run_shape_at(BW, h200, 16, 32768, 8, "H200: 32K x 16 dense");
    CHECK(r.full_chunks == 2, "H200: 32K x 16 dense: %d chunks per head, expected 2 (482.9 us; whole: 564.7)",
          r.full_chunks);
    r = run_shape_at(BW, h200, 16, 131072, 8, "H200: 128K x 16 dense");
    CHECK(r.full_chunks >= 2, "H200: 128K x 16 dense: %d chunk(s) per head, expected a cut (1888.2 us at 4, whole: "
          "2226.2)", r.full_chunks);
    r = run_shape_at(BW, h200, 64, 32768, 8, "H200: 32K x 64 dense");
    CHECK(r.items == 512, "H200: 32K x 64 dense: %zu items, expected whole heads", r.items);

    /* the waves model on the H200 table: equal heads fill one wave of 264 items (or whole waves) */
    r = run_shape(WAVES, 1, 131072, 8, "waves: 128K x 1 dense");
    CHECK(r.items > 240 && r.items <= 264, "waves: 128K x 1 dense: %zu items, not one full wave of 264", r.items);
    r = run_shape(WAVES, 16, 131072, 8, "waves: 128K x 16 dense");
    CHECK(r.items == 256, "waves: 128K x 16 dense: %zu items, expected 2 per head (one wave; 3 per head is 1.45)",
          r.items);
    r = run_shape(WAVES, 16, 32768, 8, "waves: 32K x 16 dense");
    CHECK(r.items == 256, "waves: 32K x 16 dense: %zu items, expected 2 per head", r.items);
    r = run_shape(WAVES, 64, 131072, 8, "waves: 128K x 64 dense");
    CHECK(r.items == 512, "waves: 128K x 64 dense: %zu items, expected whole heads (two full waves)", r.items);
    r = run_shape(WAVES, 1, 8192, 8, "waves: 8K x 1 dense");
    CHECK(r.full_chunks == 32, "waves: 8K x 1 dense: %d chunks per head, expected 32 (the 256-slot floor)",
          r.full_chunks);
    r = run_shape(WAVES, 16, 131072, 2, "waves: 128K x 16 fa-ssa:0.75");
    CHECK(r.full_chunks * 32 > 200 && r.full_chunks * 32 <= 264, "waves: 128K x 16 fa-ssa:0.75: %d chunks per FULL "
          "head, not about one wave", r.full_chunks);
    /* the grid model on call 133's shapes (us per step on opencl:1: its choice against the waves
     * model's); equal heads and batch 1 keep the waves model's choice, the fastest measured there */
    enum { GRID = ELATTN_DECODE_MODEL_GRID };
    static const struct {
        int batch, len, full, full_chunks;
        const char *what;
    } grid_shapes[] = {
        {16, 8192, 2, 4, "8K x 16 fa-ssa:0.75 (126.7 us; the waves model's 7 and 2 chunks took 140.1)"},
        {64, 8192, 4, 4, "8K x 64 fa-ssa:0.5 (576.4 us; whole heads took 791.6)"},
        {64, 8192, 2, 3, "8K x 64 fa-ssa:0.75 (435.9 us; whole heads took 615.1)"},
        {16, 32768, 4, 11, "32K x 16 fa-ssa:0.5 (482.7 us; 4 chunks took 545.6)"},
        {16, 32768, 2, 11, "32K x 16 fa-ssa:0.75 (318.3 us, the fastest 302.8; 7 chunks took 365.9)"},
        {64, 32768, 4, 11, "32K x 64 fa-ssa:0.5 (1850.5 us; whole heads took 2040.5)"},
        {64, 32768, 2, 11, "32K x 64 fa-ssa:0.75 (1078.1 us; 2 chunks took 1439.6)"},
    };
    for (size_t i = 0; i < sizeof grid_shapes / sizeof grid_shapes[0]; ++i) {
        r = run_shape(GRID, grid_shapes[i].batch, grid_shapes[i].len, grid_shapes[i].full, grid_shapes[i].what);
        CHECK(r.full_chunks == grid_shapes[i].full_chunks && r.streaming_chunks == 1,
              "grid: %s: FULL %d, STREAMING %d chunks, expected %d and 1", grid_shapes[i].what, r.full_chunks,
              r.streaming_chunks, grid_shapes[i].full_chunks);
    }
    static const int lens[] = {8192, 32768, 131072}, batches[] = {1, 16, 64};
    for (int li = 0; li < 3; ++li)
        for (int bi = 0; bi < 3; ++bi) {
            const shape_result w = run_shape(WAVES, batches[bi], lens[li], 8, "waves: dense");
            r = run_shape(GRID, batches[bi], lens[li], 8, "grid: dense");
            CHECK(r.full_chunks == w.full_chunks, "grid: %d x %d dense: %d chunks a head, the waves model's %d",
                  lens[li], batches[bi], r.full_chunks, w.full_chunks);
        }

    /* under every model, the two regressions: FULL heads beside STREAMING windows must be cut */
    for (int model = WAVES; model <= GRID; ++model) {
        r = run_shape(model, 64, 131072, 2, "128K x 64 fa-ssa:0.75");
        CHECK(r.full_chunks >= 2, "model %d, 128K x 64 fa-ssa:0.75: FULL heads get %d chunk(s): 128 long items for "
              "264 slots", model, r.full_chunks);
        r = run_shape(model, 1, 8192, 2, "8K x 1 fa-ssa:0.75");
        CHECK(r.full_chunks == 32 && r.streaming_chunks > 1, "model %d, 8K x 1 fa-ssa:0.75: FULL %d, STREAMING %d "
              "chunks: expected 32 and a cut", model, r.full_chunks, r.streaming_chunks);
    }

    /* num_splits: exactly that many, whatever the lengths */
    for (int ns = 1; ns <= 256; ns *= 4) {
        elattn_decode_policy p;
        elattn_decode_policy_init(&p, 132, 131072, ns);
        const size_t n = table_run(3, 5000, 3);
        const size_t split = elattn_decode_policy_chunks(&p, slots, n, chunks);
        for (size_t e = 0; e < n; ++e) CHECK(chunks[e] == ns, "num_splits %d: entry %zu gets %d", ns, e, chunks[e]);
        check_bounds(&p, n, split, 24, "num_splits");
    }

    /* random runs: devices of 1..200 compute units, 1..1024 entries of 0..2^21 slots */
    for (int r = 0; r < 20000; ++r) {
        elattn_decode_policy p;
        const int cus = 1 + (int)(next() % 200), max_tokens = 1 + (int)(next() % (1u << 21));
        elattn_decode_policy_init(&p, cus, max_tokens, 0);
        elattn_decode_policy_set_model(&p, r % 3, r % 5 ? 0.0 : (double)(next() % 8000)); /* waves, bandwidth, grid */
        const size_t n = 1 + (size_t)(next() % MAX_ENTRIES);
        const int kind = (int)(next() % 3);
        for (size_t e = 0; e < n; ++e) {
            int64_t s = (int64_t)(next() % ((uint64_t)max_tokens + 1));
            if (kind == 1) s = e % 4 ? (s < SINK + LOCAL ? s : SINK + LOCAL) : s; /* hybrid */
            if (kind == 2) s = max_tokens;                                      /* equal heads */
            slots[e] = s;
        }
        const size_t split = elattn_decode_policy_chunks(&p, slots, n, chunks);
        char what[64];
        snprintf(what, sizeof what, "random run %d (model %d, %d CUs, %zu entries)", r, p.model, cus, n);
        check_bounds(&p, n, split, n, what);
    }

    if (failures) {
        fprintf(stderr, "decode_policy_check: %d failure(s)\n", failures);
        return 1;
    }
    printf("decode_policy_check: the table's shapes under the three models and 20000 random runs within bounds\n");
    return 0;
}

/*
 * Exhaustive check of the key-tile walk (kernels/elattn_spec.h) against the
 * pair rule it is derived from.
 *
 * For every mode, causal flag, query/key length pair with Lq < Lk, Lq = Lk
 * and Lq > Lk, sink and window below, inside and past each other and past
 * the sequence, block masks of several densities, and every tile shape a
 * kernel family uses (plus tile width 1), it compares, query tile by query
 * tile:
 *   - the tiles elattn_walk_next visits with the tiles that hold a visible
 *     pair by brute force (elattn_pair_visible over every pair): the sets
 *     must be equal, so no visible pair is missed and no empty tile loaded;
 *   - the class it reports: ALL only where every pair of the tile's box
 *     (tile_n keys, keys past Lk included) is visible;
 *   - elattn_walk_range_tiles with the number of tiles visited (equal for
 *     FULL and STREAMING, an upper bound for BLOCK_SPARSE);
 *   - elattn_row_visible_keys with the brute-force count of every row;
 *   - elattn_row_key_ranges with the pair rule, key by key (FULL, STREAMING), and
 *     elattn_block_row_keys the same way (BLOCK_SPARSE).
 * A 2-D prefix sum of the visibility matrix makes each tile's count O(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elattn_spec.h"

static long failures, checks;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        ++checks;                                                                                 \
        if (!(cond)) {                                                                            \
            if (++failures <= 20) {                                                               \
                printf("FAIL: ");                                                                 \
                printf(__VA_ARGS__);                                                              \
                printf("\n");                                                                     \
            }                                                                                     \
        }                                                                                         \
    } while (0)

typedef struct scenario {
    int mode, causal, len_q, len_k, sink, local, block;
    const uint8_t *mask; /* [qblocks][kblocks] for BLOCK_SPARSE */
    int kblocks;
} scenario;

static const char *mode_name(int m)
{
    return m == ELATTN_MODE_FULL ? "full" : m == ELATTN_MODE_STREAMING ? "streaming" : "block";
}

static void describe(const scenario *s, char *out, size_t n)
{
    snprintf(out, n, "%s %s Lq=%d Lk=%d sink=%d local=%d block=%d", mode_name(s->mode),
             s->causal ? "causal" : "noncausal", s->len_q, s->len_k, s->sink, s->local, s->block);
}

/* vis[i * Lk + j] by the pair rule, and its prefix sums pre[(i+1)*(Lk+1) + (j+1)]. */
static void visibility(const scenario *s, uint8_t *vis, long *pre)
{
    const int lq = s->len_q, lk = s->len_k;
    for (int i = 0; i < lq; ++i) {
        const int p = elattn_query_pos(i, lq, lk);
        const uint8_t *row = s->mode == ELATTN_MODE_BLOCK_SPARSE ? s->mask + (long)(i / s->block) * s->kblocks : NULL;
        for (int j = 0; j < lk; ++j)
            vis[(long)i * lk + j] =
                (uint8_t)elattn_pair_visible(s->mode, s->causal, p, j, s->sink, s->local, s->block, row);
    }
    memset(pre, 0, sizeof(long) * (size_t)(lq + 1) * (size_t)(lk + 1));
    for (int i = 0; i < lq; ++i)
        for (int j = 0; j < lk; ++j)
            pre[(long)(i + 1) * (lk + 1) + j + 1] = vis[(long)i * lk + j] + pre[(long)i * (lk + 1) + j + 1] +
                                                    pre[(long)(i + 1) * (lk + 1) + j] - pre[(long)i * (lk + 1) + j];
}

/* Visible pairs in rows [i0, i1) x keys [j0, j1) (clipped to the matrix). */
static long box_sum(const long *pre, int lk, int i0, int i1, int j0, int j1)
{
    if (j1 > lk) j1 = lk;
    if (i1 <= i0 || j1 <= j0) return 0;
    return pre[(long)i1 * (lk + 1) + j1] - pre[(long)i0 * (lk + 1) + j1] - pre[(long)i1 * (lk + 1) + j0] +
           pre[(long)i0 * (lk + 1) + j0];
}

static void check_tiles(const scenario *s, const long *pre, int tile_m, int tile_n)
{
    char what[160];
    const int lq = s->len_q, lk = s->len_k;
    const int ntiles = (lk + tile_n - 1) / tile_n;
    for (int i0 = 0; i0 < lq; i0 += tile_m) {
        const int i1 = i0 + tile_m < lq ? i0 + tile_m : lq;
        elattn_tile_walk w;
        const uint8_t *mask = s->mode == ELATTN_MODE_BLOCK_SPARSE ? s->mask : NULL;
        elattn_walk_init(&w, s->mode, s->causal, lq, lk, i0, i1, s->sink, s->local, tile_n, mask, s->kblocks,
                         s->block);
        int cls = -1, visited = 0, expect = 0;
        int j = elattn_walk_next(&w, 0, &cls);
        for (int t = 0; t < ntiles; ++t) {
            const int j0 = t * tile_n, j1 = j0 + tile_n;
            const long seen = box_sum(pre, lk, i0, i1, j0, j1);
            const long box = (long)(i1 - i0) * tile_n; /* keys past Lk count as invisible */
            const int holds = seen > 0;
            expect += holds;
            if (j < w.end && t == j) {
                ++visited;
                describe(s, what, sizeof what);
                CHECK(holds, "%s tile %dx%d rows [%d,%d) visits key tile %d, which holds no visible pair", what,
                      tile_m, tile_n, i0, i1, t);
                CHECK(cls == ELATTN_TILE_ALL || cls == ELATTN_TILE_PARTIAL, "%s: class %d", what, cls);
                CHECK(cls != ELATTN_TILE_ALL || seen == box,
                      "%s tile %dx%d rows [%d,%d) key tile %d: ALL but only %ld of %ld pairs visible", what, tile_m,
                      tile_n, i0, i1, t, seen, box);
                /* and exact: a tile whose every pair is visible is taken whole (a needless PARTIAL
                 * costs the kernels a per-pair test). Not for STREAMING, whose rule takes a tile
                 * whole when the sinks or the window cover it, not when only their union does. */
                CHECK(cls == ELATTN_TILE_ALL || seen != box || s->mode == ELATTN_MODE_STREAMING,
                      "%s tile %dx%d rows [%d,%d) key tile %d: PARTIAL but all %ld pairs visible", what, tile_m,
                      tile_n, i0, i1, t, box);
                j = elattn_walk_next(&w, j + 1, &cls);
            } else {
                describe(s, what, sizeof what);
                CHECK(!holds, "%s tile %dx%d rows [%d,%d) skips key tile %d, which holds %ld visible pairs", what,
                      tile_m, tile_n, i0, i1, t, seen);
            }
        }
        describe(s, what, sizeof what);
        CHECK(j == w.end && w.end <= ntiles, "%s: walk ends at %d (end %d, %d tiles)", what, j, w.end, ntiles);
        CHECK(cls == ELATTN_TILE_SKIP, "%s: class %d at the walk's end (must be ELATTN_TILE_SKIP)", what, cls);
        const int range = elattn_walk_range_tiles(&w);
        /* the same tiles, and classes, judged one range tile at a time (elattn_walk_tile_at) */
        int jw = elattn_walk_next(&w, 0, &cls), cls_at;
        for (int t = 0; t < range; ++t) {
            const int jt = elattn_walk_tile_at(&w, t);
            cls_at = elattn_walk_class(&w, jt);
            if (cls_at == ELATTN_TILE_SKIP) continue;
            describe(s, what, sizeof what);
            CHECK(jt == jw && cls_at == cls, "%s tile %dx%d rows [%d,%d): range tile %d is key tile %d (class %d), the walk's next is %d (class %d)",
                  what, tile_m, tile_n, i0, i1, t, jt, cls_at, jw, cls);
            if (jw < w.end) jw = elattn_walk_next(&w, jw + 1, &cls);
        }
        describe(s, what, sizeof what);
        CHECK(jw == w.end, "%s tile %dx%d rows [%d,%d): the range tiles end before the walk (next %d, end %d)", what,
              tile_m, tile_n, i0, i1, jw, w.end);
        if (s->mode == ELATTN_MODE_BLOCK_SPARSE)
            CHECK(range >= visited, "%s tile %dx%d rows [%d,%d): range %d < visited %d", what, tile_m, tile_n, i0,
                  i1, range, visited);
        else
            CHECK(range == visited, "%s tile %dx%d rows [%d,%d): range %d != visited %d", what, tile_m, tile_n, i0,
                  i1, range, visited);
        (void)expect;
    }
}

static void check_rows(const scenario *s, const long *pre)
{
    char what[160];
    for (int i = 0; i < s->len_q; ++i) {
        const uint8_t *row = s->mode == ELATTN_MODE_BLOCK_SPARSE ? s->mask + (long)(i / s->block) * s->kblocks : NULL;
        const long got = (long)elattn_row_visible_keys(s->mode, s->causal, s->len_q, s->len_k, i, s->sink, s->local,
                                                       row, s->block);
        const long want = box_sum(pre, s->len_k, i, i + 1, 0, s->len_k);
        describe(s, what, sizeof what);
        CHECK(got == want, "%s row %d: elattn_row_visible_keys %ld, brute force %ld", what, i, got, want);
    }
}

/* elattn_row_key_ranges (FULL, STREAMING) against the pair rule, key by key,
 * and past Lk as far as a kernel's last tile reaches (those keys must be
 * invisible: kernels drop their own `key < Lk` test with it). */
static void check_row_ranges(const scenario *s, const uint8_t *vis)
{
    char what[160];
    if (s->mode == ELATTN_MODE_BLOCK_SPARSE) {
        /* elattn_block_row_keys: the row's FULL ranges, emptied per key block whose mask cell
         * is not set, for a tile inside one block (keys of block j / block, any j of it); past
         * Lk the keys must stay invisible as above (a kernel's last tile reaches there) */
        for (int i = 0; i < s->len_q; ++i) {
            const elattn_row_keys full =
                elattn_row_key_ranges(ELATTN_MODE_FULL, s->causal, s->len_q, s->len_k, i, s->sink, s->local);
            const uint8_t *mask_row = s->mask + (long)(i / s->block) * s->kblocks;
            for (int j = 0; j < s->len_k + 130; ++j) {
                if (j / s->block >= s->kblocks) break; /* no mask cell to read */
                const elattn_row_keys r = elattn_block_row_keys(full, mask_row, j, s->block);
                const int got = j < r.first_end || (j >= r.second_begin && j < r.end);
                const int want = j < s->len_k ? vis[(long)i * s->len_k + j] : 0;
                if (got != want) describe(s, what, sizeof what);
                CHECK(got == want, "%s row %d key %d: elattn_block_row_keys %d, pair rule %d", what, i, j, got, want);
            }
        }
        return;
    }
    for (int i = 0; i < s->len_q; ++i) {
        const elattn_row_keys r =
            elattn_row_key_ranges(s->mode, s->causal, s->len_q, s->len_k, i, s->sink, s->local);
        for (int j = 0; j < s->len_k + 130; ++j) {
            const int got = j < r.first_end || (j >= r.second_begin && j < r.end);
            const int want = j < s->len_k ? vis[(long)i * s->len_k + j] : 0;
            if (got != want) describe(s, what, sizeof what);
            CHECK(got == want, "%s row %d key %d: elattn_row_key_ranges %d, pair rule %d", what, i, j, got, want);
        }
    }
}

/* Tile shapes (query rows x keys) the kernel families use, packed-GQA row
 * counts included, plus width-1 and odd shapes. */
static const int tile_shapes[][2] = {
    {1, 1}, {1, 16}, {3, 1}, {5, 7},   {8, 32},  {16, 16}, {16, 32}, {32, 32}, {32, 64},
    {64, 32}, {64, 64}, {128, 32}, {128, 64}, {128, 96}, {128, 128}, {16, 128}, {32, 128}, {192, 128},
};

static void check_scenario(const scenario *s, uint8_t *vis, long *pre)
{
    visibility(s, vis, pre);
    for (size_t t = 0; t < sizeof tile_shapes / sizeof tile_shapes[0]; ++t)
        check_tiles(s, pre, tile_shapes[t][0], tile_shapes[t][1]);
    check_rows(s, pre);
    check_row_ranges(s, vis);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int main(void)
{
    static const int lens[] = {1, 2, 17, 64, 100, 129, 257};
    static const int sinks[] = {0, 1, 5, 64, 130, 300};
    static const int locals[] = {1, 2, 16, 64, 100, 300};
    static const int blocks[] = {16, 64};
    static const double densities[] = {0.0, 0.3, 0.7, 1.0};
    const int nl = (int)(sizeof lens / sizeof lens[0]);
    const int maxl = 257;
    uint8_t *vis = malloc((size_t)maxl * maxl);
    long *pre = malloc(sizeof(long) * (size_t)(maxl + 1) * (maxl + 1));
    uint8_t *mask = malloc((size_t)maxl * maxl);
    if (!vis || !pre || !mask) return 1;
    long scenarios = 0;

    for (int causal = 0; causal <= 1; ++causal)
        for (int a = 0; a < nl; ++a)
            for (int b = 0; b < nl; ++b) {
                scenario s = {0};
                s.causal = causal;
                s.len_q = lens[a];
                s.len_k = lens[b];
                s.block = 64;
                s.mode = ELATTN_MODE_FULL;
                check_scenario(&s, vis, pre);
                ++scenarios;

                s.mode = ELATTN_MODE_STREAMING;
                for (size_t x = 0; x < sizeof sinks / sizeof sinks[0]; ++x)
                    for (size_t y = 0; y < sizeof locals / sizeof locals[0]; ++y) {
                        s.sink = sinks[x];
                        s.local = locals[y];
                        check_scenario(&s, vis, pre);
                        ++scenarios;
                    }

                s.mode = ELATTN_MODE_BLOCK_SPARSE;
                s.sink = 0;
                s.local = 1;
                for (size_t x = 0; x < sizeof blocks / sizeof blocks[0]; ++x)
                    for (size_t y = 0; y < sizeof densities / sizeof densities[0]; ++y) {
                        s.block = blocks[x];
                        const int qblocks = (s.len_q + s.block - 1) / s.block;
                        s.kblocks = (s.len_k + s.block - 1) / s.block;
                        for (int c = 0; c < qblocks * s.kblocks; ++c)
                            mask[c] = (double)(rng_next() >> 11) / 9007199254740992.0 < densities[y]
                                          ? (uint8_t)(1 + rng_next() % 255)
                                          : 0;
                        s.mask = mask;
                        check_scenario(&s, vis, pre);
                        ++scenarios;
                    }
            }

    /* A BLOCK_SPARSE walk without a mask visits nothing. */
    elattn_tile_walk w;
    elattn_walk_init(&w, ELATTN_MODE_BLOCK_SPARSE, 1, 100, 100, 0, 64, 0, 1, 32, NULL, 2, 64);
    CHECK(w.end == 0, "BLOCK_SPARSE walk without a mask: end %d", w.end);

    /* Positions and windows near the int32 range do not overflow. */
    elattn_walk_init(&w, ELATTN_MODE_STREAMING, 0, 1, 2000000000, 0, 1, 0, 2147483647, 128, NULL, 0, 64);
    CHECK(w.end == (2000000000 - 1) / 128 + 1 && elattn_walk_range_tiles(&w) == w.end,
          "huge two-sided window: end %d", w.end);
    elattn_walk_init(&w, ELATTN_MODE_STREAMING, 1, 2000000000, 2000000000, 1999999872, 2000000000, 4,
                     2147483647, 128, NULL, 0, 64);
    CHECK(w.end == 2000000000 / 128 && elattn_walk_range_tiles(&w) == w.end, "huge causal window: end %d", w.end);

    /* The streaming tile test near the int32 range against the same rule in
     * 64-bit arithmetic: no difference may overflow. */
    static const int32_t extremes[] = {-2147483647, -1073741824, -5, -1, 0, 1, 7, 1073741824, 2147483646};
    const int ne = (int)(sizeof extremes / sizeof extremes[0]);
    for (int a = 0; a < ne; ++a)
        for (int b = a; b < ne; ++b)
            for (int c = 0; c < ne; ++c)
                for (int len = 1; len <= 3; len += 2)
                    for (int l = 0; l < ne; ++l) {
                        const int32_t pmin = extremes[a], pmax = extremes[b], j0 = extremes[c], local = extremes[l];
                        if (j0 < 0 || local < 1 || (int64_t)j0 + len > 2147483647) continue;
                        const int32_t j1 = j0 + len;
                        for (int causal = 0; causal <= 1; ++causal) {
                            const int64_t lo = (int64_t)pmin - (j1 - 1), hi = (int64_t)j0 - pmax;
                            int all = (int64_t)pmax - j0 < local, none = lo >= local;
                            if (!causal) {
                                all = all && (int64_t)(j1 - 1) - pmin < local;
                                none = none || hi >= local;
                            }
                            const int want = none ? ELATTN_TILE_SKIP : all ? ELATTN_TILE_ALL : ELATTN_TILE_PARTIAL;
                            /* sink 0: the window alone decides */
                            const int got = elattn_tile_streaming(causal, pmin, pmax, j0, j1, 0, local);
                            CHECK(got == want, "tile_streaming(causal %d, p [%d, %d], keys [%d, %d), local %d): %d, want %d",
                                  causal, pmin, pmax, j0, j1, local, got, want);
                        }
                    }

    free(vis);
    free(pre);
    free(mask);
    printf("walk_checks: %ld scenarios, %ld checks, %ld failures\n", scenarios, checks, failures);
    return failures ? 1 : 0;
}

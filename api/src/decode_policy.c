/* The split-KV policy of decode (decode_policy.h). */
#include "decode_policy.h"

#include <math.h>
#include <stdlib.h>

/*
 * With desc.num_splits, every (sequence, KV head) of every run is cut into that many chunks.
 * Otherwise each run picks one chunk length C for all its (sequence, head) entries (entry e gets
 * ceil(slots_e / C) chunks, none shorter than DECODE_MIN_CHUNK slots unless the head is): the C
 * whose run the family's model predicts fastest. Bound (what the plan allocates for): a C whose cut
 * heads would have more than 2 x W chunks in all (DECODE_GRID_BOUND x W under the grid model) is
 * not considered (C = the longest, no cut, always is); W = DECODE_CHUNKS_PER_CU x compute units,
 * the items the device keeps resident.
 *
 * The bandwidth model (ELATTN_DECODE_MODEL_BANDWIDTH: the families whose work list and residency
 * it describes; the CUDA backend's tensor-core family) was fitted to the H100's steps for twelve
 * fixed chunk lengths on 24 shapes (bench/results/2026-12-06-nvidia-h100, call 128; on each it
 * picks a length within 1% of the fastest, where the waves model lost up to 14%):
 *  - decode reads memory. An item (one chunk of one head) alone reads at most 1/S of the device's
 *    bandwidth, so S items read at the full rate; more share it. An item's own rate is bounded by
 *    its latency, not by the device, so S is the device's peak bandwidth over DECODE_ITEM_GBPS
 *    where the backend knows it (elattn_decode_policy_set_model): 108 on an H100 (3.35 TB/s), 159
 *    on an H200 (4.9 TB/s); the H200's sweep (2026-12-06, call 151) fits S 140-160 and the
 *    H100's S 99-120; without a peak, DECODE_SATURATING_EIGHTHS_OF_W of W.
 *  - W items are resident (the tensor-core kernel's two blocks per SM); they start in the work
 *    list's order (gpu_decode.cu: the cut heads' chunks, then the whole heads, each in entry
 *    order) as others end.
 *  - an item costs its slots plus DECODE_ITEM_OVERHEAD (its first loads, its merge).
 * All resident items progress at the same rate, so in "progress" units the run is list
 * scheduling of the items on W machines, and with f_1 >= f_2 >= ... the machines' end times
 * (0 for a machine never used) the run's time x the bandwidth is
 *   the items' slots and overheads + the sum over k <= S of (f_1 - f_k):
 * the device reads at its full rate until fewer than S items are left; the second term is the
 * rate the tail misses. So a FULL head much longer than the STREAMING windows beside it is cut
 * until it no longer ends alone, and heads that keep S items busy to the end stay whole.
 * Candidates, in decreasing length (chunk counts only grow, so equal item counts mean equal
 * cuts): the longest head's slots / j for j = 1, 2, 4, 8, ..., and the lengths of the run's
 * shorter heads (up to DECODE_SIZE_CANDIDATES of them: a STREAMING window stays whole beside cut
 * FULL heads). Host cost: up to about 60 us at 64 sequences x 8 heads on this repository's 2-core
 * machine (the waves model: 31).
 *
 * The waves model (ELATTN_DECODE_MODEL_WAVES: every other family, whose grids differ; the
 * OpenCL decode ran 11-46% slower on some steps under the bandwidth model, call 131):
 *   time(C) = max(waves x (longest item + OVERHEAD), (all slots + items x OVERHEAD) / W),
 * waves = ceil(the items at least half the longest / W): items that long do not fit beside each
 * other's tail, short ones fill the gaps. OVERHEAD (DECODE_WAVES_ITEM_OVERHEAD slots) is what an
 * item's start costs. C is the longest head's slots / j for j around the balanced share
 * j* = longest x W / all slots (at most DECODE_WAVES_CANDIDATES of them).
 *
 * The grid model (ELATTN_DECODE_MODEL_GRID: the OpenCL tiled family, whose grid is a work-group per
 * (entry, chunk) in entry-major order, every entry given the run's largest chunk count, the empty
 * ones ending at once). Fitted to its steps on an H100 for ten fixed chunk lengths on 18 shapes
 * (bench/results/2026-12-06-nvidia-h100, call 133; bench/lab/notes/decode/grid_fit.py: 4.6% rms
 * error, and on every shape the measured length it predicts fastest is within 1.1% of the fastest
 * measured; the waves model's choice was up to 1.41x slower there):
 *  - DECODE_CHUNKS_PER_CU work-groups run on a compute unit at once; the next one in grid order
 *    starts on the unit where one ends first (at the start, one a unit in turn);
 *  - a unit running n of them gives each 1 / (n + DECODE_GRID_SHARE) of a work-group's pace: two
 *    together read 1.52x what one alone reads (the data: a unit's rate is concave in its
 *    work-groups, and a head left whole beside short windows ends alone on its unit, slowly);
 *  - a work-group costs its slots plus DECODE_GRID_ITEM_OVERHEAD.
 * The run is simulated event by event (a heap of the units' next ends, about 40-70 ns an event on
 * this repository's 2-core machine) for a few candidates only (grid_chunk): the waves model's
 * choice, and for the two longest shorter heads S (the STREAMING windows) S itself and the longest
 * head in chunks of at most 1.5 S; a run of equal heads takes the waves model's choice unsimulated.
 * A candidate whose work spread evenly could not beat the best so far is not simulated. Host cost:
 * about 340 us a run at 32K x 64 fa-ssa:0.5 (3,072 work-groups a candidate), up to 250 us on
 * the decode table's other shapes; a run from an elattn_decode_batch pays none of it (the batch
 * fixed its chunk counts when it was made, decode.c's step_make). Its bound is DECODE_GRID_BOUND x W cut chunks (the OpenCL plan
 * reserves its partials per run; the best lengths measured cut up to 2,816). */
enum {
    DECODE_CHUNKS_PER_CU = 2,
    DECODE_SATURATING_EIGHTHS_OF_W = 3, /* S = 3/8 W: 3/4 of the compute units (99 items on an H100) */
    DECODE_ITEM_GBPS = 31,              /* an item's own read rate, GB/s: S = peak / this */
    DECODE_MIN_CHUNK = 256,
    DECODE_MAX_SPLITS = 256,
    DECODE_ITEM_OVERHEAD = 48,
    DECODE_SIZE_CANDIDATES = 8,
    DECODE_WAVES_ITEM_OVERHEAD = 128,
    DECODE_WAVES_CANDIDATES = 48,
    DECODE_MODEL_MAX_W = 2048, /* the model's machines: a device that keeps more resident is modelled as this */
    DECODE_GRID_ITEM_OVERHEAD = 220,
    DECODE_GRID_BOUND = 16,
    DECODE_GRID_WINDOWS = 2 /* the shorter heads' lengths the grid model tries */
};
#define DECODE_GRID_SHARE 2.2

static int64_t ceil_div64(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Chunks of entry e for chunk length C, within the plan's bound and the shortest chunk. */
static int64_t entry_chunks(const elattn_decode_policy *p, int64_t slots, int64_t chunk)
{
    int64_t c = ceil_div64(slots, chunk);
    const int64_t most = slots / DECODE_MIN_CHUNK; /* chunks of ceil(slots / c) >= DECODE_MIN_CHUNK slots */
    if (c > most) c = most;
    if (c > p->splits) c = p->splits;
    return c < 1 ? 1 : c;
}

/* Every entry's chunks for chunk length C into `chunks` (equal neighbours, a batch's like heads,
 * share the division); *items gets their sum and *work the slots plus `overhead` an item. Returns
 * the chunks of the cut entries (what the bound counts). */
static int64_t cut_entries(const elattn_decode_policy *p, const int64_t *slots, size_t entries, int64_t chunk,
                           double overhead, int32_t *chunks, int64_t *items, double *work)
{
    int64_t split = 0, n_items = 0;
    double total = 0.0;
    for (size_t e = 0; e < entries; ++e) {
        const int same = e > 0 && slots[e] == slots[e - 1];
        const int64_t c = same ? chunks[e - 1] : entry_chunks(p, slots[e], chunk);
        chunks[e] = (int32_t)c;
        split += c > 1 ? c : 0;
        n_items += c;
        total += (double)slots[e] + (double)c * overhead;
    }
    *items = n_items;
    *work = total;
    return split;
}

/* List scheduling's machines: a min-heap of their end times (progress units), with an infinite
 * end past the last so that a parent's second child needs no bounds check. */
typedef struct machines {
    double *end; /* count + 1 */
    int used, count;
} machines;

static void sift_down(double *h, int n, int i)
{
    const double x = h[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        c += h[c + 1] < h[c]; /* h[n] is infinite */
        if (h[c] >= x) break;
        h[i] = h[c], i = c;
    }
    h[i] = x;
}

/* Makes the used machines a heap (they start as a plain list: the first items each get their own). */
static void heapify(machines *m)
{
    m->end[m->used] = HUGE_VAL;
    for (int i = m->used / 2 - 1; i >= 0; --i) sift_down(m->end, m->used, i);
}

/* The next item of `work` progress units starts on the machine that is free first. */
static void place(machines *m, double work)
{
    if (m->used < m->count) { /* an idle machine */
        m->end[m->used++] = work;
        if (m->used == m->count) heapify(m);
        return;
    }
    m->end[0] += work;
    sift_down(m->end, m->count, 0);
}

/* The sum of the s largest of v[0..n) (0 < s <= n), found by quickselect (v is reordered). */
static double sum_largest(double *v, int n, int s)
{
    int lo = 0, hi = n - 1;
    const int k = s - 1; /* v[0..k] are to hold the s largest */
    while (lo < hi) {
        const double pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) { /* Hoare's partition, larger values first */
            while (v[i] > pivot) ++i;
            while (v[j] < pivot) --j;
            if (i <= j) {
                const double t = v[i];
                v[i++] = v[j], v[j--] = t;
            }
        }
        if (k <= j) hi = j;       /* v[lo..j] >= pivot */
        else if (k >= i) lo = i;  /* v[i..hi] <= pivot */
        else break;               /* v[j+1..i-1] == pivot */
    }
    double sum = 0.0;
    for (int i = 0; i < s; ++i) sum += v[i];
    return sum;
}

/* A candidate chunk length's predicted run time, in slots read at the device's full rate (above).
 * Its chunk counts go to `chunks`; *items gets their sum. Returns -1 when its cut heads would
 * exceed the plan's bound (so does every shorter length), or HUGE_VAL when even its items' slots
 * and overheads (a lower bound) do not predict less than `beat` (not simulated; beat < 0: always
 * simulated). end: DECODE_MODEL_MAX_W + 1 values. */
static double bandwidth_time(const elattn_decode_policy *p, const int64_t *slots, size_t entries, int64_t chunk,
                             double beat, int32_t *chunks, int64_t *items, double *end)
{
    double total = 0.0;
    if (cut_entries(p, slots, entries, chunk, DECODE_ITEM_OVERHEAD, chunks, items, &total) > 2 * (int64_t)p->target)
        return -1.0;
    if (beat >= 0.0 && total >= beat) return HUGE_VAL;
    machines m = {end, 0, p->target < DECODE_MODEL_MAX_W ? p->target : DECODE_MODEL_MAX_W};
    /* the work list's order: chunk 0 of each cut head, their other chunks, the whole heads */
    for (int pass = 0; pass < 3; ++pass)
        for (size_t e = 0; e < entries; ++e) {
            const int32_t c = chunks[e];
            if ((c > 1) != (pass < 2)) continue;
            const double work = (double)slots[e] / (double)c + DECODE_ITEM_OVERHEAD;
            for (int32_t k = pass == 1 ? 1 : 0; k < (pass == 1 ? c : 1); ++k) place(&m, work);
        }
    /* + sum over the S latest ends of (the last end - that end); machines never used end at 0 */
    int s = p->saturating > 0 ? p->saturating : (int)((int64_t)m.count * DECODE_SATURATING_EIGHTHS_OF_W / 8);
    s = s < m.count ? s : m.count;
    double last = 0.0;
    for (int i = 0; i < m.used; ++i) last = end[i] > last ? end[i] : last;
    const int busy = m.used < s ? m.used : s;
    return total + (double)s * last - (busy > 0 ? sum_largest(end, m.used, busy) : 0.0);
}

/* The waves model's predicted run time of chunk length C in slots (above), or -1 when its cut
 * heads would exceed the plan's bound. */
static double waves_time(const elattn_decode_policy *p, const int64_t *slots, size_t entries, int64_t total,
                         int64_t chunk)
{
    int64_t items = 0, split = 0, longest = 0;
    for (size_t e = 0; e < entries; ++e) {
        const int64_t c = entry_chunks(p, slots[e], chunk), size = ceil_div64(slots[e], c);
        items += c;
        split += c > 1 ? c : 0;
        longest = size > longest ? size : longest;
    }
    if (split > 2 * (int64_t)p->target) return -1.0;
    int64_t big = 0;
    for (size_t e = 0; e < entries; ++e) {
        const int64_t c = entry_chunks(p, slots[e], chunk);
        if (2 * ceil_div64(slots[e], c) >= longest) big += c;
    }
    const double W = p->target;
    const double waves = (double)ceil_div64(big, p->target) * (double)(longest + DECODE_WAVES_ITEM_OVERHEAD);
    const double spread = ((double)total + (double)items * DECODE_WAVES_ITEM_OVERHEAD) / W;
    return waves > spread ? waves : spread;
}

/* The waves model's chunk length: j chunks of the longest head for j in j* / 2 .. 2 j* + 2,
 * evenly spread, fewer chunks winning ties. */
static int64_t waves_chunk(const elattn_decode_policy *p, const int64_t *slots, size_t entries, int64_t longest)
{
    int64_t total = 0;
    for (size_t e = 0; e < entries; ++e) total += slots[e];
    const int64_t share = (int64_t)((double)longest * p->target / (double)(total > 0 ? total : 1));
    int64_t lo = share / 2 > 1 ? share / 2 : 1, hi = 2 * share + 2;
    if (hi > p->splits) hi = p->splits; /* the longest head's bound: its shortest chunks */
    if (lo > hi) lo = hi;
    const int64_t step = hi - lo + 1 > DECODE_WAVES_CANDIDATES ? ceil_div64(hi - lo + 1, DECODE_WAVES_CANDIDATES) : 1;
    double best = -1.0;
    int64_t chunk = longest;
    for (int64_t j = lo; j <= hi; j += step) {
        const int64_t c = ceil_div64(longest, j);
        const double t = waves_time(p, slots, entries, total, c);
        if (t >= 0.0 && (best < 0.0 || t < best)) best = t, chunk = c;
    }
    return chunk;
}

/* The run's shorter heads' lengths (at least DECODE_MIN_CHUNK slots), the first
 * DECODE_SIZE_CANDIDATES distinct ones met, in decreasing order: as chunk lengths they keep those
 * heads (a STREAMING window) whole beside cut longer ones. */
static int shorter_lengths(const int64_t *slots, size_t entries, int64_t longest, int64_t *sizes)
{
    int n = 0;
    for (size_t e = 0; e < entries && n < DECODE_SIZE_CANDIDATES; ++e) {
        int known = slots[e] >= longest || slots[e] < DECODE_MIN_CHUNK;
        for (int k = 0; k < n && !known; ++k) known = sizes[k] == slots[e];
        if (!known) {
            int k = n++; /* kept in decreasing order */
            for (; k > 0 && sizes[k - 1] < slots[e]; --k) sizes[k] = sizes[k - 1];
            sizes[k] = slots[e];
        }
    }
    return n;
}

/* The grid model's compute units. A unit's work-groups all advance at one pace, so each is kept as
 * the unit's own progress (`v`, slots a work-group has advanced since the run's start, at time `at`)
 * at which it ends: `fin` in increasing order, HUGE_VAL for a free place. */
typedef struct grid_unit {
    double fin[DECODE_CHUNKS_PER_CU], v, at;
    int n;
} grid_unit;
typedef struct grid_event {
    double t;
    int unit;
} grid_event;
typedef struct grid_sim {
    grid_unit unit[DECODE_MODEL_MAX_W / DECODE_CHUNKS_PER_CU];
    grid_event heap[DECODE_MODEL_MAX_W / DECODE_CHUNKS_PER_CU]; /* the busy units by their next end */
    int heap_n;
} grid_sim;

/* A work-group of `work` slots joins unit x (which has room). */
static void grid_start(grid_unit *x, double work)
{
    double f = x->v + work;
    int k = x->n++;
    for (; k > 0 && x->fin[k - 1] > f; --k) x->fin[k] = x->fin[k - 1];
    x->fin[k] = f;
}

/* Unit u's next end: its first work-group's, at the unit's present pace. */
static grid_event grid_next_end(const grid_sim *g, int u)
{
    const grid_unit *x = &g->unit[u];
    const grid_event ev = {x->at + (x->fin[0] - x->v) * ((double)x->n + DECODE_GRID_SHARE), u};
    return ev;
}

/* Puts ev at heap position i and moves it down to its place. */
static void grid_sift_down(grid_sim *g, int i, grid_event ev)
{
    for (;;) {
        int c = 2 * i + 1;
        if (c >= g->heap_n) break;
        if (c + 1 < g->heap_n && g->heap[c + 1].t < g->heap[c].t) ++c;
        if (g->heap[c].t >= ev.t) break;
        g->heap[i] = g->heap[c], i = c;
    }
    g->heap[i] = ev;
}

/* The work-groups of a run in grid order: entry e's chunks (elattn_decode_split's lengths). */
typedef struct grid_cursor {
    const int64_t *slots;
    const int32_t *chunks;
    size_t entries, e;
    int64_t k, per; /* entry e's next chunk, and its chunks' length */
} grid_cursor;

static int grid_next(grid_cursor *c, double *work)
{
    for (; c->e < c->entries; ++c->e, c->k = 0) {
        const int64_t s = c->slots[c->e];
        if (c->k == 0) c->per = ceil_div64(s, c->chunks[c->e]);
        const int64_t a = c->per * c->k++;
        if (c->k <= c->chunks[c->e] && a < s) { /* an empty chunk (a >= s) ends at once */
            *work = (double)(a + c->per < s ? c->per : s - a) + DECODE_GRID_ITEM_OVERHEAD;
            return 1;
        }
    }
    return 0;
}

/* The grid model's predicted run time of chunk length C (above), its chunk counts in `chunks` and
 * their sum in *items; -1 past the bound (as is every shorter length), HUGE_VAL when it cannot beat
 * `beat` (beat < 0: always simulated). */
static double grid_time(const elattn_decode_policy *p, const int64_t *slots, size_t entries, int64_t chunk,
                        double beat, int32_t *chunks, int64_t *items, grid_sim *g)
{
    double total = 0.0;
    if (cut_entries(p, slots, entries, chunk, DECODE_GRID_ITEM_OVERHEAD, chunks, items, &total) >
        DECODE_GRID_BOUND * (int64_t)p->target)
        return -1.0;
    const int per = DECODE_CHUNKS_PER_CU, max_units = DECODE_MODEL_MAX_W / DECODE_CHUNKS_PER_CU;
    int units = p->target / per;
    units = units < 1 ? 1 : units > max_units ? max_units : units;
    /* every unit busy with `per` work-groups to the end: the fastest the run could be */
    if (beat >= 0.0 && total * ((double)per + DECODE_GRID_SHARE) / per / units >= beat) return HUGE_VAL;
    grid_cursor cur = {slots, chunks, entries, 0, 0, 0};
    for (int u = 0; u < units; ++u) g->unit[u].n = 0, g->unit[u].v = g->unit[u].at = 0.0;
    double work = 0.0, last = 0.0;
    for (int k = 0; k < per; ++k)
        for (int u = 0; u < units && grid_next(&cur, &work); ++u) grid_start(&g->unit[u], work);
    g->heap_n = 0; /* the busy units (the first ones), as a heap of their next ends */
    while (g->heap_n < units && g->unit[g->heap_n].n) ++g->heap_n;
    for (int i = g->heap_n - 1; i >= 0; --i) grid_sift_down(g, i, grid_next_end(g, i));
    while (g->heap_n) {
        const grid_event ev = g->heap[0];
        if (beat >= 0.0 && ev.t >= beat) return HUGE_VAL;
        grid_unit *x = &g->unit[ev.unit];
        x->v = x->fin[0], x->at = last = ev.t; /* the first ends */
        for (int k = 1; k < x->n; ++k) x->fin[k - 1] = x->fin[k];
        --x->n;
        while (x->n < per && grid_next(&cur, &work)) grid_start(x, work);
        if (x->n) /* the unit goes on: its next end replaces this one */
            grid_sift_down(g, 0, grid_next_end(g, ev.unit));
        else if (--g->heap_n) /* idle to the end: the heap's last takes the top */
            grid_sift_down(g, 0, g->heap[g->heap_n]);
    }
    return last;
}

/* The grid model's chunk length: the waves model's, or, where the run has shorter heads (a
 * STREAMING window of S slots beside FULL heads), S (the long heads cut to the window's length)
 * or the longest head in chunks of at most 3 S / 2, for the two longest such S: whichever the
 * simulation predicts fastest. On call 133's 18 shapes this small set is within 5.1% of the fastest
 * of ten measured lengths (the waves model alone: up to 1.41x) at a few simulations a run. */
static int64_t grid_chunk(const elattn_decode_policy *p, const int64_t *slots, size_t entries, int64_t longest,
                          int32_t *chunks)
{
    const int64_t waves = waves_chunk(p, slots, entries, longest);
    int64_t sizes[DECODE_SIZE_CANDIDATES];
    const int n_sizes = shorter_lengths(slots, entries, longest, sizes);
    if (n_sizes == 0) return waves; /* equal heads: the waves model's choice was the fastest measured */
    grid_sim *g = malloc(sizeof *g);
    if (!g) return waves; /* no room for the simulation: the waves model's choice */
    int64_t items = 0, chunk = waves;
    double best = grid_time(p, slots, entries, waves, -1.0, chunks, &items, g);
    for (int k = 0; k < n_sizes && k < DECODE_GRID_WINDOWS; ++k) {
        const int64_t wider = ceil_div64(longest, ceil_div64(longest, sizes[k] + sizes[k] / 2));
        const int64_t cand[2] = {sizes[k], wider};
        for (int i = 0; i < 2; ++i) {
            const double t = grid_time(p, slots, entries, cand[i], best, chunks, &items, g);
            if (t >= 0.0 && t < best) best = t, chunk = cand[i];
        }
    }
    free(g);
    return chunk;
}

/* The bandwidth model's chunk length (above). chunks: scratch for each entry's count. */
static int64_t bandwidth_chunk(const elattn_decode_policy *p, const int64_t *slots, size_t entries, int64_t longest,
                               int32_t *chunks)
{
    /* candidates in decreasing length, so that chunk counts only grow: one whose item count is
     * the last one's cuts every head alike and is skipped */
    double end[DECODE_MODEL_MAX_W + 1];
    int64_t sizes[DECODE_SIZE_CANDIDATES];
    const int n_sizes = shorter_lengths(slots, entries, longest, sizes);
    int64_t last_items = 0;
    /* no cut: always within the bound */
    double best = bandwidth_time(p, slots, entries, longest, -1.0, chunks, &last_items, end);
    int64_t chunk = longest;
    int64_t j = 2;
    for (int k = 0;;) { /* the longest head / j for j = 2, 4, 8, ..., merged with the shorter heads' lengths */
        const int64_t by_j = j <= p->splits ? ceil_div64(longest, j) : 0, by_size = k < n_sizes ? sizes[k] : 0;
        if (by_j == 0 && by_size == 0) break;
        const int64_t c = by_j > by_size ? by_j : by_size;
        if (c == by_j) j *= 2;
        if (c == by_size) ++k;
        int64_t items = 0;
        const double t = bandwidth_time(p, slots, entries, c, best, chunks, &items, end);
        if (t < 0.0) break; /* past the bound: shorter lengths are too */
        if (items == last_items) continue;
        last_items = items;
        if (t < best) best = t, chunk = c;
    }
    return chunk;
}

size_t elattn_decode_policy_chunks(const elattn_decode_policy *p, const int64_t *slots, size_t entries, int32_t *chunks)
{
    int64_t longest = 1, chunk = 1;
    for (size_t e = 0; e < entries; ++e) longest = slots[e] > longest ? slots[e] : longest;
    if (p->num_splits == 0)
        chunk = p->model == ELATTN_DECODE_MODEL_BANDWIDTH ? bandwidth_chunk(p, slots, entries, longest, chunks)
                : p->model == ELATTN_DECODE_MODEL_GRID    ? grid_chunk(p, slots, entries, longest, chunks)
                                                          : waves_chunk(p, slots, entries, longest);
    size_t split = 0;
    for (size_t e = 0; e < entries; ++e) {
        int64_t c = p->num_splits ? p->num_splits : entry_chunks(p, slots[e], chunk);
        if (c > p->splits) c = p->splits;
        chunks[e] = (int32_t)c;
        if (c > 1) split += (size_t)c;
    }
    return split;
}

void elattn_decode_policy_init(elattn_decode_policy *p, int compute_units, int max_tokens, int num_splits)
{
    const int cus = compute_units > 0 ? compute_units : 1;
    p->num_splits = num_splits;
    p->model = ELATTN_DECODE_MODEL_WAVES;
    p->saturating = 0;
    p->target = cus > INT32_MAX / DECODE_CHUNKS_PER_CU ? INT32_MAX : cus * DECODE_CHUNKS_PER_CU;
    if (num_splits) {
        p->splits = num_splits;
        return;
    }
    /* the most a head can get: ceil(max_tokens / DECODE_MIN_CHUNK), within 2 x the target */
    int64_t most = ((int64_t)max_tokens + DECODE_MIN_CHUNK - 1) / DECODE_MIN_CHUNK;
    if (most > 2 * (int64_t)p->target) most = 2 * (int64_t)p->target;
    if (most > DECODE_MAX_SPLITS) most = DECODE_MAX_SPLITS;
    p->splits = most > 1 ? (int)most : 1;
}

void elattn_decode_policy_bounds(const elattn_decode_policy *p, size_t heads, size_t *max_chunks,
                                 size_t *max_split_chunks)
{
    if (p->num_splits) {
        *max_chunks = heads * (size_t)p->num_splits;
        *max_split_chunks = p->num_splits > 1 ? *max_chunks : 0;
    } else {
        const size_t bound = p->model == ELATTN_DECODE_MODEL_GRID ? DECODE_GRID_BOUND : 2;
        *max_split_chunks = p->splits > 1 ? bound * (size_t)p->target : 0;
        *max_chunks = heads + *max_split_chunks;
    }
}

void elattn_decode_policy_set_model(elattn_decode_policy *p, int model, double peak_gbps)
{
    p->model = model;
    p->saturating = 0; /* the bandwidth model's default */
    if (peak_gbps > 0.0) { /* the items that saturate the memory, at least one */
        const double s = peak_gbps / DECODE_ITEM_GBPS + 0.5;
        p->saturating = s < 1.0 ? 1 : s > (double)DECODE_MODEL_MAX_W ? DECODE_MODEL_MAX_W : (int)s;
    }
}

/* The split-KV policy of decode (decode_policy.h). */
#include "decode_policy.h"

/*
 * With desc.num_splits, every (sequence, KV head) of every run is cut into that many chunks.
 * Otherwise each run picks one chunk length C for all its (sequence, head) entries (entry e gets
 * ceil(slots_e / C) chunks, none shorter than DECODE_MIN_CHUNK slots unless the head is) by the
 * run time it predicts for the device, which keeps W = DECODE_CHUNKS_PER_CU x compute units
 * work items resident (the tensor-core kernel's two blocks per SM at D <= 128), the longest
 * items starting first (the work list's order):
 *   time(C) = max(waves x (longest item + OVERHEAD), (all slots + items x OVERHEAD) / W),
 * waves = ceil(the items at least half the longest / W): items that long do not fit beside
 * each other's tail, short ones fill the gaps. OVERHEAD (DECODE_ITEM_OVERHEAD slots) is what an
 * item's start costs (its first loads' latency, its merge): it stops needless cuts. C is the
 * longest head's slots / j for j around the balanced share j* = longest x W / all slots (a
 * bounded search). So equal heads fill whole waves (16 x 8 heads at 128K: 2 chunks each, 256
 * items, one wave of 264; a share rounded up gave 384 items, 1.45 waves, 63% of the copy
 * bandwidth), one long sequence is cut to fill the device, a batch whose heads already fill it
 * is not cut, and the long FULL heads beside short STREAMING windows are cut to just fill a
 * wave. Bound (what the plan allocates for): a C whose cut heads would have more than 2 x W
 * chunks in all is not considered (C = the longest, no cut, always is). */
enum {
    DECODE_CHUNKS_PER_CU = 2,
    DECODE_MIN_CHUNK = 256,
    DECODE_MAX_SPLITS = 256,
    DECODE_ITEM_OVERHEAD = 128,
    DECODE_MAX_CANDIDATES = 48
};

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

/* The predicted run time of chunk length C in slots (above), or -1 when its cut heads would
 * exceed the plan's bound. */
static double run_time(const elattn_decode_policy *p, const int64_t *slots, size_t entries, int64_t total, int64_t chunk)
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
    const double waves = (double)ceil_div64(big, p->target) * (double)(longest + DECODE_ITEM_OVERHEAD);
    const double spread = ((double)total + (double)items * DECODE_ITEM_OVERHEAD) / W;
    return waves > spread ? waves : spread;
}

size_t elattn_decode_policy_chunks(const elattn_decode_policy *p, const int64_t *slots, size_t entries, int32_t *chunks)
{
    int64_t total = 0, longest = 1, chunk = 1;
    for (size_t e = 0; e < entries; ++e) {
        total += slots[e];
        longest = slots[e] > longest ? slots[e] : longest;
    }
    if (p->num_splits == 0) {
        /* j: chunks of the longest head; try j* / 2 .. 2 j* + 2, at most DECODE_MAX_CANDIDATES
         * of them (evenly spread), fewer chunks winning ties */
        const int64_t share = (int64_t)((double)longest * p->target / (double)(total > 0 ? total : 1));
        int64_t lo = share / 2 > 1 ? share / 2 : 1, hi = 2 * share + 2;
        if (hi > p->splits) hi = p->splits; /* the longest head's bound: its shortest chunks */
        if (lo > hi) lo = hi;
        const int64_t step = hi - lo + 1 > DECODE_MAX_CANDIDATES ? ceil_div64(hi - lo + 1, DECODE_MAX_CANDIDATES) : 1;
        double best = -1.0;
        chunk = longest;
        for (int64_t j = lo; j <= hi; j += step) {
            const int64_t c = ceil_div64(longest, j);
            const double t = run_time(p, slots, entries, total, c);
            if (t >= 0.0 && (best < 0.0 || t < best)) best = t, chunk = c;
        }
    }
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
        *max_split_chunks = p->splits > 1 ? 2 * (size_t)p->target : 0;
        *max_chunks = heads + *max_split_chunks;
    }
}

/*
 * Random cases (`elattn-conformance --random N --seed S`): shapes the matrix's one-axis-at-a-time
 * design does not combine, drawn from the whole space the API accepts, so that a bug hiding
 * between two axes is met before an outside check meets it. Each draw is a valid case by
 * construction (the reference must run it; a case it refuses fails as a runner error). Lengths
 * lean on tile edges (multiples of 16 and 64, plus and minus one) and the work per case is
 * bounded so that a CPU device runs a draw in seconds.
 *
 * A case depends only on (seed, i): `--random N --seed S --case random/S:i/` reruns case i alone.
 */
#include <stdio.h>
#include <string.h>

#include "cases.h"

/* Scalar multiply-adds of one attention case's reference run (Q.K and P.V over every pair). */
#define RANDOM_MAX_ATTN_WORK 2.5e8

static int pick(kit_rng *r, int n) { return (int)(kit_rng_next(r) % (uint64_t)n); }
static int between(kit_rng *r, int lo, int hi) { return lo + pick(r, hi - lo + 1); } /* [lo, hi] */
static int chance(kit_rng *r, double p) { return kit_rng_uniform(r) < p; }

static elattn_dtype random_dtype(kit_rng *r)
{
    static const elattn_dtype t[] = {ELATTN_F32, ELATTN_F16, ELATTN_BF16};
    return t[pick(r, 3)];
}

/* Half the draws take a dim the tensor-core families claim, the rest any multiple of 8 in [32, 256]. */
static int random_head_dim(kit_rng *r)
{
    static const int common[] = {64, 128, 64, 128, 96, 256, 32, 40, 80, 192};
    return chance(r, 0.5) ? common[pick(r, 10)] : 8 * between(r, 4, 32);
}

/* A length that often sits on a tile edge: k x 16 or k x 64 plus -1, 0 or +1. */
static int random_length(kit_rng *r, int lo, int hi)
{
    if (chance(r, 0.45)) {
        const int unit = chance(r, 0.5) ? 16 : 64, k = between(r, 1, hi / unit > 1 ? hi / unit : 1);
        const int v = k * unit + between(r, -1, 1);
        if (v >= lo && v <= hi) return v;
    }
    return between(r, lo, hi);
}

static int random_pow2(kit_rng *r, int lo_log2, int hi_log2) { return 1 << between(r, lo_log2, hi_log2); }

static void random_modes(kit_rng *r, int32_t *modes, int n)
{
    static const elattn_mode all[] = {ELATTN_FULL, ELATTN_STREAMING, ELATTN_BLOCK_SPARSE};
    const int one = chance(r, 0.2) ? pick(r, 3) : -1; /* sometimes every head the same mode */
    for (int e = 0; e < n; ++e) modes[e] = all[one >= 0 ? one : pick(r, 3)];
}

/* Query heads as Hkv x a group of 1 to 8 (GQA and MQA), at most 16. */
static void random_heads(kit_rng *r, int max_hkv, int *hq, int *hkv)
{
    static const int groups[] = {1, 2, 3, 4, 5, 8};
    *hkv = between(r, 1, max_hkv);
    int g = groups[pick(r, 6)];
    while (*hkv * g > 16) g /= 2;
    *hq = *hkv * (g > 0 ? g : 1);
}

/* dtype, head dim and heads, drawn in that order (attention, XAttention and decode draws). */
static void random_shape(kit_rng *r, int max_hkv, elattn_dtype *dtype, int *d, int *hq, int *hkv)
{
    *dtype = random_dtype(r);
    *d = random_head_dim(r);
    random_heads(r, max_hkv, hq, hkv);
}

static double attn_work(const attn_spec *s)
{
    double w = 0.0;
    for (int b = 0; b < s->batch; ++b) w += (double)s->lq[b] * (s->lk[b] ? s->lk[b] : s->lq[b]);
    return 2.0 * w * s->hq * s->d;
}

static void random_attn(case_list *l, kit_rng *r)
{
    attn_spec s = attn_base_spec();
    random_shape(r, 4, &s.dtype, &s.d, &s.hq, &s.hkv);
    s.batch = between(r, 1, 4);
    for (int b = 0; b < s.batch; ++b) {
        s.lq[b] = random_length(r, s.batch > 1 ? 0 : 1, 700);
        const int kind = pick(r, 10);  /* Lk: = Lq (5), a cached prefix before the chunk (3), any (2) */
        s.lk[b] = kind < 5 ? 0 : kind < 8 ? s.lq[b] + random_length(r, 1, 600) : random_length(r, 1, 700);
        if (s.lq[b] == 0) s.lk[b] = 0; /* an empty element */
    }
    while (attn_work(&s) > RANDOM_MAX_ATTN_WORK) /* shorter, keeping the shape of the lengths */
        for (int b = 0; b < s.batch; ++b) s.lq[b] = (s.lq[b] + 1) / 2, s.lk[b] = (s.lk[b] + 1) / 2;
    s.causal = chance(r, 0.7);
    s.sink = chance(r, 0.5) ? between(r, 0, 8) : chance(r, 0.6) ? between(r, 0, 64) : between(r, 0, 400);
    s.local = chance(r, 0.3) ? between(r, 1, 16) : chance(r, 0.6) ? between(r, 1, 128) : between(r, 1, 600);
    s.block = random_pow2(r, 4, 8);
    s.density = 0.05 + 0.95 * kit_rng_uniform(r);
    s.empty_rows = chance(r, 0.2);
    s.lse = chance(r, 0.8);
    int32_t modes[KIT_MAX_BATCH * 4];
    random_modes(r, modes, s.batch * s.hkv);
    s.modes = modes;

    const int layout = pick(r, 20), es = (int)elattn_dtype_size(s.dtype);
    if (layout < 3) {
        /* fused QKV: K's and V's views start Hq D and (Hq + Hkv) D elements in, a multiple of 256 bytes */
        if ((s.hq * s.d * es) % 256 == 0 && (s.hkv * s.d * es) % 256 == 0) s.layout = LAYOUT_FUSED;
    } else if (layout < 6) {
        s.layout = LAYOUT_PERMUTED;
    } else if (layout < 9) {
        s.layout = LAYOUT_PAGED;
        s.page = random_pow2(r, 4, 8);
        s.stream_first = chance(r, 0.3);
    }
    conf_case *c = add_attn(l, "random", s);
    c->device_meta = chance(r, 0.35);
}

/* --random-tiles: tile_m and tile_n of 16 to 256, each left to the backend (0) one time in four,
 * and a work-group size left to the backend, tied to tile_m (one or two work-items a row, what the
 * scalar and tensor-core families take) or free in 32 to 256. A family that cannot run a shape
 * answers UNSUPPORTED with its reason; the ones that take overrides (OpenCL's) are checked on
 * shapes their tables never pick. */
static void random_tiles(kit_rng *r, int *tiles)
{
    tiles[0] = chance(r, 0.25) ? 0 : random_pow2(r, 4, 8);
    tiles[1] = chance(r, 0.25) ? 0 : random_pow2(r, 4, 8);
    const int tied = tiles[0] << pick(r, 2);
    tiles[2] = chance(r, 0.3) ? 0 : tiles[0] && chance(r, 0.6) ? (tied < 32 ? 32 : tied > 256 ? 256 : tied)
                                                                  : random_pow2(r, 5, 8);
}

static void random_xattn(case_list *l, kit_rng *r)
{
    elattn_dtype dt;
    int d, hq, hkv;
    random_shape(r, 4, &dt, &d, &hq, &hkv);
    const int batch = between(r, 1, 3), stride = random_pow2(r, 0, 5);
    int block = random_pow2(r, 4, 8);
    if (block < stride) block = stride;
    int lq[KIT_MAX_BATCH], lk[KIT_MAX_BATCH];
    double work = 0.0;
    for (int b = 0; b < batch; ++b) {
        lq[b] = random_length(r, 1, 1000);
        lk[b] = chance(r, 0.6) ? lq[b] : chance(r, 0.75) ? lq[b] + random_length(r, 1, 600) : random_length(r, 1, 1000);
        work += 2.0 * lq[b] * lk[b] * hq * d / stride;
    }
    for (; work > RANDOM_MAX_ATTN_WORK; work /= 4) /* the estimation is 1/S of dense QK^T */
        for (int b = 0; b < batch; ++b) lq[b] = (lq[b] + 1) / 2, lk[b] = (lk[b] + 1) / 2;
    float taus[CONF_MAX_KV_HEADS];
    const int num_taus = chance(r, 0.5) ? 1 : hkv;
    for (int i = 0; i < num_taus; ++i) taus[i] = chance(r, 0.15) ? 1.0f : (float)(0.3 + 0.69 * kit_rng_uniform(r));
    /* with a mode table (entry e gets mode e % 3) some entry must be BLOCK_SPARSE, or no mask is computed */
    const int with_modes = batch * hkv >= 3 && chance(r, 0.4);
    conf_case *c = add_xattn(l, dt, d, hq, hkv, batch, lq, lk, chance(r, 0.8), stride, block, num_taus, taus,
                             with_modes, 0);
    c->device_meta = chance(r, 0.35);
}

static void random_decode(case_list *l, kit_rng *r)
{
    elattn_dtype dt;
    int d, hq, hkv;
    random_shape(r, 3, &dt, &d, &hq, &hkv);
    const int batch = between(r, 1, 4), page = random_pow2(r, 0, 8);
    const int splits = chance(r, 0.5) ? 0 : chance(r, 0.8) ? between(r, 1, 16) : between(r, 17, 256);
    conf_case *c = add_decode(l, dt, d, hq, hkv, batch, page, splits);
    kit_case *k = &c->call;
    k->sink = chance(r, 0.3) ? 0 : between(r, 1, 16);
    k->local = chance(r, 0.4) ? between(r, 1, 16) : between(r, 17, 256);
    for (int b = 0; b < batch; ++b)
        k->len_q[b] = k->len_k[b] = chance(r, 0.4) ? between(r, 1, 40) : random_length(r, 1, 3000);
    c->dec_nsteps = between(r, 2, 6);
    for (int i = 0; i < c->dec_nsteps; ++i) c->dec_steps[i] = chance(r, 0.3) ? 1 : chance(r, 0.3) ? 16 : between(r, 1, 16);
    c->device_meta = chance(r, 0.35); /* one decode batch for every step: its new-token counts are fixed */
    for (int i = 1; c->device_meta && i < c->dec_nsteps; ++i) c->dec_steps[i] = c->dec_steps[0];
    random_modes(r, k->modes, batch * hkv);
    if (chance(r, 0.4)) { /* Quest page selection for the BLOCK_SPARSE heads */
        c->dec_budget = chance(r, 0.7) ? between(r, 1, 12) : between(r, 13, 200);
        c->dec_ties = chance(r, 0.2);
    }
    char lens[64] = "", steps[48] = "";
    for (int b = 0, n = 0; b < batch; ++b) n += snprintf(lens + n, sizeof lens - (size_t)n, "%s%d", b ? "," : "", k->len_q[b]);
    for (int i = 0, n = 0; i < c->dec_nsteps; ++i)
        n += snprintf(steps + n, sizeof steps - (size_t)n, "%s%d", i ? "," : "", c->dec_steps[i]);
    conf_name_case(c, "decode/%s/d%d/h%d:%d/L%s/sink%d/local%d/page%d/splits%d/steps%s/budget%d%s",
                   elattn_dtype_name(dt), d, hq, hkv, lens, k->sink, k->local, page, splits, steps, c->dec_budget,
                   c->dec_ties ? "/ties" : "");
}

/* The router: any head dim the API takes (1-256), a hidden width of 1-8 D or any up to 1024, lengths
 * around the 100 + 100 tokens it pools (SPEC: the first and last 100; shorter prompts overlap). */
static void random_router(case_list *l, kit_rng *r)
{
    static const elattn_mode pairs[][2] = {
        {ELATTN_FULL, ELATTN_STREAMING}, {ELATTN_FULL, ELATTN_BLOCK_SPARSE}, {ELATTN_BLOCK_SPARSE, ELATTN_STREAMING}};
    static const int edges[] = {1, 2, 99, 100, 101, 199, 200, 201};
    const int d = chance(r, 0.5) ? between(r, 1, 256) : 8 * between(r, 1, 32);
    const int hidden = chance(r, 0.6) ? d * between(r, 1, 8) : between(r, 1, 1024);
    const int hkv = between(r, 1, 8), batch = between(r, 1, 4), p = pick(r, 3);
    int lens[KIT_MAX_BATCH];
    for (int b = 0; b < batch; ++b) lens[b] = chance(r, 0.4) ? edges[pick(r, 8)] : between(r, 1, 600);
    conf_case *c = add_router(l, random_dtype(r), d, hidden > 4096 ? 4096 : hidden, hkv, batch, lens, pairs[p][0],
                              pairs[p][1], 0);
    c->device_meta = chance(r, 0.35);
}

void random_cases(case_list *l, uint64_t seed, int n, int with_tiles)
{
    for (int i = 0; i < n; ++i) {
        kit_rng r;
        kit_rng_seed_stream(&r, seed, (uint64_t)i);
        char group[40];
        snprintf(group, sizeof group, "random/%llu:%d", (unsigned long long)seed, i);
        const int kind = pick(&r, 20); /* attention 11, XAttention 4, decode 4, router 1 in 20 */
        if (kind < 11) random_attn(l, &r);
        else if (kind < 15) random_xattn(l, &r);
        else if (kind < 19) random_decode(l, &r);
        else random_router(l, &r);
        /* the builders name a case by its shape: the draw goes in front */
        conf_case *c = &l->v[l->n - 1];
        char shape[CONF_NAME_LEN], suffix[48] = "";
        memcpy(shape, c->name, sizeof shape);
        if (c->device_meta) snprintf(suffix, sizeof suffix, "/devmeta");
        if (with_tiles && c->kind == CASE_ATTN) {
            kit_rng_seed_stream(&r, seed ^ 0x74696c6573ull /* "tiles" */, (uint64_t)i);
            random_tiles(&r, c->tiles);
            snprintf(suffix + strlen(suffix), sizeof suffix - strlen(suffix), "/tiles%d,%d,%d", c->tiles[0], c->tiles[1],
                     c->tiles[2]);
        }
        conf_name_case(c, "%s/%s%s", group, shape, suffix);
    }
}

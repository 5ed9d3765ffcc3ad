/*
 * The work list of a fused launch (backends/common/worklist.c) against its
 * definition, computed the plain way: one item per (element, head, query
 * tile) in that order, each costed by its own walk of the spec
 * (elattn_walk_range_tiles; BLOCK_SPARSE and device modes as FULL), then a
 * stable sort by descending cost. The build shares each tile's cost between
 * the heads of one kind and writes the items straight to their sorted places;
 * the lists must be equal item for item, of the length elattn_worklist_items
 * gives, with nothing written past it. Shapes: the benchmark's (Hq 32,
 * Hkv 8, 8K and 32K, dense, mixed, all STREAMING) and odd ones (batch 3,
 * lengths 0, 1, 17, 1000, 4097, Lq != Lk, every mode, GQA groups of 1-8),
 * with the tile sets of the families (per query head and per KV head).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worklist.h"

/* The one core function worklist.c calls (a module routes it to the core). */
elattn_status elattn_fail(elattn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    return status;
}

static int failures, lists;

typedef struct item_at {
    elattn_work_item item;
    int order; /* in (element, head, qtile) order: the sort's tie-break */
} item_at;

static int by_cost_then_order(const void *a, const void *b)
{
    const item_at *x = a, *y = b;
    if (x->item.cost != y->item.cost) return x->item.cost > y->item.cost ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* The definition: returns the count, items in `out`. */
static int plain_list(const elattn_attn_call *call, int tile_m, int tile_n, int per_kv_head, item_at *out)
{
    const elattn_attn_desc *d = call->desc;
    const int heads = per_kv_head ? d->num_kv_heads : d->num_q_heads, group = d->num_q_heads / d->num_kv_heads;
    int n = 0;
    for (int b = 0; b < d->batch; ++b) {
        const int len_q = call->cu_seqlens_q[b + 1] - call->cu_seqlens_q[b];
        const int len_k = call->cu_seqlens_k[b + 1] - call->cu_seqlens_k[b];
        for (int h = 0; h < heads; ++h) {
            const int mode = call->modes ? call->modes[b * d->num_kv_heads + (per_kv_head ? h : h / group)]
                                         : ELATTN_MODE_FULL;
            for (int i0 = 0; i0 < len_q; i0 += tile_m) {
                const int i1 = i0 + tile_m < len_q ? i0 + tile_m : len_q;
                elattn_tile_walk w;
                elattn_walk_init(&w, mode == ELATTN_MODE_STREAMING ? mode : ELATTN_MODE_FULL, d->causal, len_q, len_k,
                                 i0, i1, d->sink, d->local, tile_n, NULL, 0, d->block_size);
                out[n].item.b = b;
                out[n].item.head = h;
                out[n].item.qtile = i0 / tile_m;
                out[n].item.cost = elattn_walk_range_tiles(&w);
                out[n].order = n;
                ++n;
            }
        }
    }
    qsort(out, (size_t)n, sizeof *out, by_cost_then_order);
    return n;
}

static void check_list(const char *shape, const elattn_attn_call *call, int tile_m, int tile_n, int per_kv_head)
{
    ++lists;
    const size_t cap = elattn_worklist_max_items(call->desc, tile_m, per_kv_head);
    const size_t count = elattn_worklist_items(call, tile_m, per_kv_head);
    elattn_work_item *got = malloc(sizeof *got * (cap + 1));
    item_at *want = malloc(sizeof *want * (cap + 1));
    if (!got || !want) {
        printf("FAIL %s: host allocation\n", shape);
        failures++;
        free(got), free(want);
        return;
    }
    memset(got, 0xA5, sizeof *got * (cap + 1)); /* what the build leaves unwritten stays 0xA5 */
    const int n = elattn_worklist_build(call, tile_m, tile_n, per_kv_head, got);
    const int n_want = plain_list(call, tile_m, tile_n, per_kv_head, want);
    const char *c = call->modes ? "host modes" : "no modes";
    if (n != n_want || count != (size_t)n_want || (size_t)n > cap) {
        printf("FAIL %s, tiles %dx%d%s, %s: built %d items, elattn_worklist_items %zu, plain %d, capacity %zu\n",
               shape, tile_m, tile_n, per_kv_head ? " per KV head" : "", c, n, count, n_want, cap);
        failures++;
    } else {
        for (int i = 0; i < n; ++i)
            if (memcmp(&got[i], &want[i].item, sizeof got[i]) != 0) {
                printf("FAIL %s, tiles %dx%d%s, %s: item %d is (b %d, head %d, qtile %d, cost %d), the plain list's "
                       "(b %d, head %d, qtile %d, cost %d)\n",
                       shape, tile_m, tile_n, per_kv_head ? " per KV head" : "", c, i, got[i].b, got[i].head,
                       got[i].qtile, got[i].cost, want[i].item.b, want[i].item.head, want[i].item.qtile,
                       want[i].item.cost);
                failures++;
                break;
            }
        const unsigned char *past = (const unsigned char *)(got + n);
        for (size_t k = 0; k < sizeof *got * (cap + 1 - (size_t)n); ++k)
            if (past[k] != 0xA5) {
                printf("FAIL %s, tiles %dx%d: byte %zu past the %d items written\n", shape, tile_m, tile_n, k, n);
                failures++;
                break;
            }
    }
    free(got);
    free(want);
}

typedef struct shape {
    const char *name;
    int batch, hq, hkv, causal, sink, local;
    int len_q[3], len_k[3];
} shape;

static void check_shape(const shape *s, const int32_t *modes)
{
    elattn_attn_desc d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.dtype = ELATTN_BF16;
    d.head_dim = 64;
    d.num_q_heads = s->hq;
    d.num_kv_heads = s->hkv;
    d.batch = s->batch;
    d.causal = s->causal;
    d.sink = s->sink;
    d.local = s->local;
    d.block_size = 64;
    int32_t cu_q[4] = {0}, cu_k[4] = {0};
    d.max_seqlen_q = d.max_seqlen_k = 1;
    for (int b = 0; b < s->batch; ++b) {
        cu_q[b + 1] = cu_q[b] + s->len_q[b];
        cu_k[b + 1] = cu_k[b] + s->len_k[b];
        if (s->len_q[b] > d.max_seqlen_q) d.max_seqlen_q = s->len_q[b];
        if (s->len_k[b] > d.max_seqlen_k) d.max_seqlen_k = s->len_k[b];
    }
    elattn_attn_call call;
    memset(&call, 0, sizeof call);
    call.desc = &d;
    call.cu_seqlens_q = cu_q;
    call.cu_seqlens_k = cu_k;
    /* the tile sets of the families: wgmma D64 and D128, mma, portable; a packed-GQA shape per KV head */
    static const int tiles[][3] = {{192, 128, 0}, {128, 128, 0}, {64, 64, 0}, {16, 32, 0}, {64, 64, 1}, {128, 16, 1}};
    for (int t = 0; t < (int)(sizeof tiles / sizeof tiles[0]); ++t) {
        call.modes = modes;
        check_list(s->name, &call, tiles[t][0], tiles[t][1], tiles[t][2]);
        call.modes = NULL; /* modes on the device (a batch plan): every head costed as FULL */
        check_list(s->name, &call, tiles[t][0], tiles[t][1], tiles[t][2]);
    }
}

int main(void)
{
    int32_t modes[3 * 8];
    /* The benchmark's shapes: dense, fa-ssa:0.75 (KV heads 0-1 FULL), all STREAMING. */
    static const int bench_lens[] = {8192, 32768}, n_full[] = {8, 2, 0};
    for (int l = 0; l < 2; ++l)
        for (int m = 0; m < 3; ++m) {
            const shape s = {"bench", 1, 32, 8, 1, 128, 2048, {bench_lens[l]}, {bench_lens[l]}};
            for (int h = 0; h < 8; ++h) modes[h] = h < n_full[m] ? ELATTN_MODE_FULL : ELATTN_MODE_STREAMING;
            check_shape(&s, modes);
        }
    /* Odd shapes: empty and one-row elements, Lq < Lk and Lq > Lk, windows inside and past the
     * sequence, every mode (BLOCK_SPARSE costed as FULL), GQA groups 1, 2, 4 and 8. */
    static const int lens_q[][3] = {{1, 17, 1000}, {4097, 1, 17}, {1000, 4097, 0}, {17, 17, 17}, {0, 5, 4097}},
                     lens_k[][3] = {{1, 17, 1000}, {4097, 40, 17}, {1000, 5000, 3}, {17, 17, 17}, {0, 5, 4097}};
    static const int heads[][2] = {{8, 2}, {4, 4}, {32, 8}, {6, 3}, {8, 1}};
    for (int g = 0; g < 5; ++g)
        for (int l = 0; l < 5; ++l)
            for (int causal = 0; causal < 2; ++causal) {
                shape s = {"odd", 3, heads[g][0], heads[g][1], causal, l % 2 ? 16 : 128, l % 3 ? 64 : 2048, {0}, {0}};
                for (int b = 0; b < 3; ++b) s.len_q[b] = lens_q[l][b], s.len_k[b] = lens_k[l][b];
                for (int e = 0; e < 3 * s.hkv; ++e) modes[e] = (e + g + l) % 3;
                check_shape(&s, modes);
            }
    printf("work lists: %d checked, %d failed\n", lists, failures);
    return failures ? 1 : 0;
}

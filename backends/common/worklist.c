/* The longest-first work list (see worklist.h). */
#include <stdlib.h>

#include "worklist.h"

static int ceil_div(long a, long b) { return (int)((a + b - 1) / b); }

size_t elattn_worklist_max_items(const elattn_attn_desc *d, int tile_m, int per_kv_head)
{
    int heads = per_kv_head ? d->num_kv_heads : d->num_q_heads;
    /* Every element can be as long as max_seqlen_q. SIZE_MAX when it does not fit. */
    size_t items;
    elattn_size_mul3((size_t)d->batch, (size_t)heads, (size_t)ceil_div(d->max_seqlen_q, tile_m), &items);
    return items;
}

static int query_tiles(const elattn_attn_call *call, int b, int tile_m)
{
    return ceil_div(call->cu_seqlens_q[b + 1] - call->cu_seqlens_q[b], tile_m);
}

size_t elattn_worklist_items(const elattn_attn_call *call, int tile_m, int per_kv_head)
{
    const elattn_attn_desc *d = call->desc;
    size_t tiles = 0;
    for (int b = 0; b < d->batch; ++b) tiles += (size_t)query_tiles(call, b, tile_m);
    return tiles * (size_t)(per_kv_head ? d->num_kv_heads : d->num_q_heads);
}

/* Key tiles the spec's walk visits for a (query tile, mode): exact for FULL
 * and STREAMING; BLOCK_SPARSE heads are costed as FULL (their mask lives on
 * the device). */
static int tile_cost(const elattn_attn_desc *d, int mode, int len_q, int len_k, int i0, int i1, int tile_n)
{
    elattn_tile_walk w;
    elattn_walk_init(&w, mode == ELATTN_MODE_STREAMING ? mode : ELATTN_MODE_FULL, d->causal, len_q, len_k, i0, i1,
                     d->sink, d->local, tile_n, NULL, 0, d->block_size);
    return elattn_walk_range_tiles(&w);
}

/* 1 when head h of element b is costed as STREAMING, 0 when as FULL. */
static int costed_streaming(const elattn_attn_call *call, int b, int h, int per_kv_head)
{
    const elattn_attn_desc *d = call->desc;
    if (!call->modes) return 0;
    const int hk = per_kv_head ? h : h / (d->num_q_heads / d->num_kv_heads);
    return call->modes[b * d->num_kv_heads + hk] == ELATTN_MODE_STREAMING;
}

/* A tile's cost depends on its element, its rows and whether its head is
 * costed as STREAMING, not on the head: it is computed once per (element,
 * query tile, kind) and shared by the element's heads of that kind. The items
 * are then written straight to their sorted places: a stable counting sort by
 * descending cost, with no second copy. (One walk per item, then a sorted
 * copy, made the build most of a run's host time, spent before the launch
 * while the GPU waits: 20-75 us at Hq 32 and 32K on a 2-core host.) */
int elattn_worklist_build(const elattn_attn_call *call, int tile_m, int tile_n, int per_kv_head,
                          elattn_work_item *items)
{
    const elattn_attn_desc *d = call->desc;
    const int heads = per_kv_head ? d->num_kv_heads : d->num_q_heads;
    size_t tiles_all = 0;
    for (int b = 0; b < d->batch; ++b) tiles_all += (size_t)query_tiles(call, b, tile_m);
    /* cost[2 * (first + t) + s]: tile t of an element whose tiles start at `first`, for
     * FULL (s = 0) and STREAMING (s = 1); kind_heads[2 * b + s]: element b's heads of each */
    int *cost = malloc(sizeof *cost * 2 * (tiles_all ? tiles_all : 1));
    int *kind_heads = malloc(sizeof *kind_heads * 2 * (size_t)d->batch);
    int *start = NULL;
    int max_cost = 0, n = 0;
    if (cost && kind_heads) {
        size_t first = 0;
        for (int b = 0; b < d->batch; ++b) {
            const int len_q = call->cu_seqlens_q[b + 1] - call->cu_seqlens_q[b];
            const int len_k = call->cu_seqlens_k[b + 1] - call->cu_seqlens_k[b];
            const int tiles = query_tiles(call, b, tile_m);
            int streaming = 0;
            for (int h = 0; h < heads; ++h) streaming += costed_streaming(call, b, h, per_kv_head);
            kind_heads[2 * b] = heads - streaming;
            kind_heads[2 * b + 1] = streaming;
            for (int t = 0; t < tiles; ++t) {
                const int i0 = t * tile_m, i1 = i0 + tile_m < len_q ? i0 + tile_m : len_q;
                for (int s = 0; s < 2; ++s) {
                    if (!kind_heads[2 * b + s]) continue; /* no head of this kind: never read */
                    const int c = tile_cost(d, s ? ELATTN_MODE_STREAMING : ELATTN_MODE_FULL, len_q, len_k, i0, i1,
                                            tile_n);
                    cost[2 * (first + t) + s] = c;
                    if (c > max_cost) max_cost = c;
                }
            }
            first += (size_t)tiles;
        }
        /* start[max_cost - c]: the first place of the items of cost c */
        start = calloc((size_t)max_cost + 2, sizeof *start);
    }
    if (!cost || !kind_heads || !start) {
        free(cost);
        free(kind_heads);
        free(start);
        elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "work list: host allocation failed");
        return -1;
    }
    size_t first = 0;
    for (int b = 0; b < d->batch; ++b) {
        const int tiles = query_tiles(call, b, tile_m);
        for (int t = 0; t < tiles; ++t)
            for (int s = 0; s < 2; ++s)
                if (kind_heads[2 * b + s]) start[max_cost - cost[2 * (first + t) + s] + 1] += kind_heads[2 * b + s];
        first += (size_t)tiles;
    }
    for (int c = 1; c <= max_cost + 1; ++c) start[c] += start[c - 1];
    /* in (b, head, qtile) order, so that ties keep it */
    first = 0;
    for (int b = 0; b < d->batch; ++b) {
        const int tiles = query_tiles(call, b, tile_m);
        for (int h = 0; h < heads; ++h) {
            const int *kind_cost = cost + 2 * first + costed_streaming(call, b, h, per_kv_head);
            for (int t = 0; t < tiles; ++t) {
                const int c = kind_cost[2 * t];
                elattn_work_item *it = &items[start[max_cost - c]++];
                it->b = b;
                it->head = h;
                it->qtile = t;
                it->cost = c;
                ++n;
            }
        }
        first += (size_t)tiles;
    }
    free(cost);
    free(kind_heads);
    free(start);
    return n;
}

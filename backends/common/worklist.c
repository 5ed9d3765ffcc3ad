/* The longest-first work list (see worklist.h). */
#include <stdlib.h>
#include <string.h>

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

int elattn_worklist_build(const elattn_attn_call *call, int tile_m, int tile_n, int per_kv_head,
                          elattn_work_item *items)
{
    const elattn_attn_desc *d = call->desc;
    int group = d->num_q_heads / d->num_kv_heads;
    int heads = per_kv_head ? d->num_kv_heads : d->num_q_heads;
    int n = 0, max_cost = 0;
    for (int b = 0; b < d->batch; ++b) {
        int len_q = call->cu_seqlens_q[b + 1] - call->cu_seqlens_q[b];
        int len_k = call->cu_seqlens_k[b + 1] - call->cu_seqlens_k[b];
        int tiles = ceil_div(len_q, tile_m);
        for (int h = 0; h < heads; ++h) {
            int mode = call->modes ? call->modes[b * d->num_kv_heads + (per_kv_head ? h : h / group)] : ELATTN_MODE_FULL;
            for (int t = 0; t < tiles; ++t) {
                int i0 = t * tile_m, i1 = i0 + tile_m < len_q ? i0 + tile_m : len_q;
                int cost = tile_cost(d, mode, len_q, len_k, i0, i1, tile_n);
                items[n].b = b;
                items[n].head = h;
                items[n].qtile = t;
                items[n].cost = cost;
                if (cost > max_cost) max_cost = cost;
                ++n;
            }
        }
    }
    /* Stable counting sort by descending cost. */
    int *start = calloc((size_t)max_cost + 2, sizeof *start);
    elattn_work_item *sorted = malloc(sizeof *sorted * (size_t)(n > 0 ? n : 1));
    if (!start || !sorted) {
        free(start);
        free(sorted);
        elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "work list: host allocation failed");
        return -1;
    }
    for (int i = 0; i < n; ++i) start[max_cost - items[i].cost + 1]++;
    for (int c = 1; c <= max_cost + 1; ++c) start[c] += start[c - 1];
    for (int i = 0; i < n; ++i) sorted[start[max_cost - items[i].cost]++] = items[i];
    memcpy(items, sorted, sizeof *items * (size_t)n);
    free(start);
    free(sorted);
    return n;
}

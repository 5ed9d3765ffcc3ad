/*
 * The work list of a fused attention launch, shared by the GPU and OpenCL
 * backends.
 *
 * One item (elattn_work_item, kernels/elattn_spec.h) is one (batch element,
 * head, query tile). The host knows the lengths and modes, so it orders the
 * items by their cost (the key tiles the spec's walk visits), longest first:
 * FULL heads and late causal query tiles start first and a mix of modes keeps
 * every multiprocessor busy to the end. Kernels take item i = blockIdx.x (or
 * get_group_id(0)) from this list.
 */
#ifndef ELATTN_WORKLIST_H
#define ELATTN_WORKLIST_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound of items for any call of a descriptor (SIZE_MAX when the count
 * does not fit in size_t: callers' checked layouts then refuse it). per_kv_head:
 * 1 when one item covers the whole query-head group of a KV head. */
size_t elattn_worklist_max_items(const elattn_attn_desc *desc, int tile_m, int per_kv_head);

/* How many items elattn_worklist_build writes for `call` (<= the maximum above):
 * what a backend stages and uploads. */
size_t elattn_worklist_items(const elattn_attn_call *call, int tile_m, int per_kv_head);

/* Fill `items` (capacity from elattn_worklist_max_items), sorted by descending
 * cost, ties in (b, head, qtile) order; returns the count, or -1 when host
 * memory ran out (the message is set: return ELATTN_ERROR_OUT_OF_MEMORY). Elements with no
 * query rows get no item. BLOCK_SPARSE heads are costed as FULL (their mask
 * lives on the device), and so is every head when call->modes is NULL (the
 * modes live on the device: a batch plan, or a device mode table). */
int elattn_worklist_build(const elattn_attn_call *call, int tile_m, int tile_n, int per_kv_head,
                          elattn_work_item *items);

#ifdef __cplusplus
}
#endif

#endif

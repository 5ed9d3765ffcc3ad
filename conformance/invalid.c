/*
 * The invalid-argument table. Each row breaks one thing of a valid call and
 * states the status every backend must return. The core validates before a
 * backend sees the call, so the statuses agree by construction; this table
 * proves it, and proves that nothing was written: the outputs sit in
 * guarded, poisoned buffers that must come back byte for byte as uploaded.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invalid.h"

/* ---- the rows: each breaks one thing ------------------------------------------ */
#define ROW(fn, body) static void fn(inv_ctx *c) { body; }
ROW(a_null_device, c->null_device = 1)
ROW(a_null_desc, c->null_desc = 1)
ROW(a_null_out, c->null_out = 1)
ROW(a_dtype7, c->ad.dtype = (elattn_dtype)7)
ROW(a_dim0, c->ad.head_dim = 0)
ROW(a_dim_neg, c->ad.head_dim = -64)
ROW(a_dim100, c->ad.head_dim = 100)
ROW(a_dim24, c->ad.head_dim = 24)
ROW(a_dim264, c->ad.head_dim = 264)
ROW(a_hq0, c->ad.num_q_heads = 0)
ROW(a_hkv0, c->ad.num_kv_heads = 0)
ROW(a_hq_not_multiple, (c->ad.num_q_heads = 6, c->ad.num_kv_heads = 4))
ROW(a_batch0, c->ad.batch = 0)
ROW(a_batch_neg, c->ad.batch = -1)
ROW(a_maxq0, c->ad.max_seqlen_q = 0)
ROW(a_maxk_neg, c->ad.max_seqlen_k = -5)
ROW(a_causal2, c->ad.causal = 2)
ROW(a_lse_flag, c->ad.write_lse = -1)
ROW(a_sink_neg, c->ad.sink = -1)
ROW(a_local0, c->ad.local = 0)
ROW(a_block48, c->ad.block_size = 48)
ROW(a_block8, c->ad.block_size = 8)
ROW(a_block512, c->ad.block_size = 512)
ROW(a_scale_neg, c->ad.scale = -1.0f)
ROW(a_scale_nan, c->ad.scale = NAN)
ROW(a_scale_inf, c->ad.scale = INFINITY)
ROW(r_null_plan, c->null_plan = 1)
ROW(r_null_args, c->null_args = 1)
ROW(r_q_null, c->aa.q = NULL)
ROW(r_k_null, c->aa.k = NULL)
ROW(r_v_null, c->aa.v = NULL)
ROW(r_o_null, c->aa.o = NULL)
ROW(r_cuq_null, c->aa.cu_seqlens_q = NULL)
ROW(r_cuk_null, c->aa.cu_seqlens_k = NULL)
ROW(r_cuq_start1, c->cu_q[0] = 1)
ROW(r_cuq_decreasing, (c->cu_q[1] = 30, c->cu_q[2] = 20))
ROW(r_cuq_exceeds, c->cu_q[2] = c->cu_q[1] + c->ad.max_seqlen_q + 1)
ROW(r_cuk_exceeds, c->cu_k[1] = c->ad.max_seqlen_k + 1)
ROW(r_modes_null, c->aa.modes = NULL)
ROW(r_mode5, c->modes[1] = 5)
ROW(r_mode_neg, c->modes[3] = -1)
ROW(r_q_small, c->aa.q = c->q_small)
ROW(r_o_small, c->aa.o = c->o_small)
ROW(r_lse_small, c->aa.lse = c->lse_small)
ROW(r_mask_small, c->aa.block_mask = c->mask_small)
ROW(r_lse_missing, c->aa.lse = NULL)
ROW(r_lse_unwanted, c->ad.write_lse = 0)
ROW(r_mask_missing, c->aa.block_mask = NULL)
ROW(r_o_is_q, c->aa.o = (elattn_buffer *)c->aa.q)
ROW(r_foreign_q, c->aa.q = c->foreign_q)
ROW(r_ws_small, if (c->attn_ws_bytes == 0) c->not_applicable = "the plan needs no workspace";
                else c->aa.workspace = c->ws_small)
ROW(x_stride3, c->xd.stride = 3)
ROW(x_stride128, c->xd.stride = 128)
ROW(x_stride_over_block, (c->xd.stride = 32, c->xd.block_size = 16))
ROW(x_block48, c->xd.block_size = 48)
ROW(x_null_desc, c->null_desc = 1)
ROW(x_taus_null, c->xa.thresholds = NULL)
ROW(x_tau0, c->taus[0] = 0.0f)
ROW(x_tau_big, c->taus[0] = 1.5f)
ROW(x_tau_nan, c->taus[1] = NAN)
ROW(x_num_taus3, c->xa.num_thresholds = 3)
ROW(x_mask_null, c->xa.block_mask = NULL)
ROW(x_mask_small, c->xa.block_mask = c->xmask_small)
ROW(x_mode5, c->modes[2] = 5)
ROW(x_cuk_decreasing, c->cu_k[2] = c->cu_k[1] - 1)
ROW(t_pair_reversed, (c->rd.retrieval_mode = ELATTN_STREAMING, c->rd.sparse_mode = ELATTN_FULL))
ROW(t_pair_same, (c->rd.retrieval_mode = ELATTN_FULL, c->rd.sparse_mode = ELATTN_FULL))
ROW(t_hidden0, c->rd.hidden = 0)
ROW(t_dim0, c->rd.head_dim = 0)
ROW(t_dtype7, c->rd.key_dtype = (elattn_dtype)7)
ROW(t_empty_element, (c->rcu[1] = 0))
ROW(t_modes_null, c->ra.modes = NULL)
ROW(t_w_null, c->ra.weights.head_w3 = NULL)
ROW(t_w_small, c->ra.weights.task_w1 = c->w_small)
ROW(t_keys_null, c->ra.keys = NULL)
ROW(t_logits_small, c->ra.logits = c->logits_small)
ROW(t_cu_null, c->ra.cu_seqlens = NULL)
/* batch x Hkv x (2^24 / 16)^2 mask blocks = 2^64: the size wrapped to 0 and a 1-byte mask passed */
ROW(a_mask_wraps, (c->ad.batch = 65536, c->ad.num_q_heads = 256, c->ad.num_kv_heads = 256,
                   c->ad.max_seqlen_q = 1 << 24, c->ad.max_seqlen_k = 1 << 24, c->ad.block_size = 16))
ROW(x_mask_wraps, (c->xd.batch = 65536, c->xd.num_q_heads = 256, c->xd.num_kv_heads = 256,
                   c->xd.max_seqlen_q = 1 << 24, c->xd.max_seqlen_k = 1 << 24, c->xd.block_size = 16))
/* the mask (2^56 blocks of 1 KV head) fits; a table per query head (1024 x that, 4 bytes each) does not */
ROW(x_head_table_wraps, (c->xd.batch = 65536, c->xd.num_q_heads = 1024, c->xd.num_kv_heads = 1,
                         c->xd.max_seqlen_q = 1 << 24, c->xd.max_seqlen_k = 1 << 24, c->xd.block_size = 16))
/* Tile overrides: negative or above 65536 is invalid everywhere; a positive value a backend's kernels
 * cannot honour (3 is no tile or work-group size of any kernel) is unsupported everywhere. */
ROW(a_tile_m_neg, (c->use_opts = 1, c->opts.tile_m = -64))
ROW(a_tile_m_3, (c->use_opts = 1, c->opts.tile_m = 3))
ROW(a_tile_m_huge, (c->use_opts = 1, c->opts.tile_m = 1 << 30))
ROW(a_tile_n_neg, (c->use_opts = 1, c->opts.tile_n = -64))
ROW(a_tile_n_3, (c->use_opts = 1, c->opts.tile_n = 3))
ROW(a_tile_n_huge, (c->use_opts = 1, c->opts.tile_n = 1 << 30))
ROW(a_wg_neg, (c->use_opts = 1, c->opts.work_group_size = -64))
ROW(a_wg_3, (c->use_opts = 1, c->opts.work_group_size = 3))
ROW(a_wg_huge, (c->use_opts = 1, c->opts.work_group_size = 1 << 30))
/* Strides and paged K/V. The baseline's K and V hold 57 rows; paged, 3 pages of 16 keys
 * ([2][3] table, entries 0..2) fit in them. */
static void paged(inv_ctx *c)
{
    c->ad.page_size = 16, c->ad.num_pages = 3, c->ad.max_pages_per_seq = 3;
    const int32_t t[6] = {2, 0, -9, 1, 0, 2}; /* element 0 (17 keys) uses 2 pages: [0][2] is never read */
    memcpy(c->table, t, sizeof t);
    c->aa.block_table = c->table;
}
ROW(a_q_stride_neg, c->ad.q_stride_token = -8)
ROW(a_k_stride_head_odd, c->ad.k_stride_head = c->ad.head_dim + 4)
ROW(a_o_stride_head_small, c->ad.o_stride_head = c->ad.head_dim - 8)
ROW(a_v_stride_token_small, c->ad.v_stride_token = 8)
ROW(a_q_stride_packed_overflow, c->ad.q_stride_head = 1 << 30)
ROW(a_page24, (paged(c), c->ad.page_size = 24))
ROW(a_page512, (paged(c), c->ad.page_size = 512))
ROW(a_pages_unpaged, c->ad.num_pages = 3)
ROW(a_maxpp_unpaged, c->ad.max_pages_per_seq = 3)
ROW(a_pages0, (paged(c), c->ad.num_pages = 0))
ROW(a_maxpp_small, (paged(c), c->ad.max_pages_per_seq = 2))
ROW(r_o_strides_alias, c->ad.o_stride_token = c->ad.head_dim)
ROW(r_q_stride_extent, c->ad.q_stride_token = 2 * c->ad.num_q_heads * c->ad.head_dim)
ROW(r_k_stride_huge, c->ad.k_stride_token = 2147483640)
ROW(r_table_null, (paged(c), c->aa.block_table = NULL))
ROW(r_table_out_of_range, (paged(c), c->table[4] = 3))
ROW(r_table_negative, (paged(c), c->table[0] = -1))
ROW(r_table_unpaged, c->aa.block_table = c->table)
ROW(r_kv_small_for_pages, (paged(c), c->ad.num_pages = 4))
/* struct_size: 0 (never set) and larger than the library knows (a newer header) */
#define NEWER(x) (x).struct_size = sizeof(x) + 8
ROW(s_ad0, c->ad.struct_size = 0)
ROW(s_ad_newer, NEWER(c->ad))
ROW(s_aa0, c->aa.struct_size = 0)
ROW(s_aa_newer, NEWER(c->aa))
ROW(s_xd0, c->xd.struct_size = 0)
ROW(s_xa_newer, NEWER(c->xa))
ROW(s_rd_newer, NEWER(c->rd))
ROW(s_ra0, c->ra.struct_size = 0)
ROW(s_opts0, (c->use_opts = 1, c->opts.struct_size = 0))
ROW(s_opts_newer, (c->use_opts = 1, NEWER(c->opts)))
#undef NEWER
#undef ROW

#define INV ELATTN_ERROR_INVALID_ARGUMENT
#define SMALL ELATTN_ERROR_BUFFER_TOO_SMALL
#define UNSUP ELATTN_ERROR_UNSUPPORTED
static const inv_row rows[] = {
    {"attn-plan/device-null", OP_ATTN_PLAN, INV, a_null_device},
    {"attn-plan/desc-null", OP_ATTN_PLAN, INV, a_null_desc},
    {"attn-plan/plan-out-null", OP_ATTN_PLAN, INV, a_null_out},
    {"attn-plan/dtype-7", OP_ATTN_PLAN, INV, a_dtype7},
    {"attn-plan/head-dim-0", OP_ATTN_PLAN, INV, a_dim0},
    {"attn-plan/head-dim-negative", OP_ATTN_PLAN, INV, a_dim_neg},
    /* positive head dims outside the spec's set (multiples of 8 in [32, 256]): UNSUPPORTED, not INVALID */
    {"attn-plan/head-dim-100", OP_ATTN_PLAN, ELATTN_ERROR_UNSUPPORTED, a_dim100},
    {"attn-plan/head-dim-24", OP_ATTN_PLAN, ELATTN_ERROR_UNSUPPORTED, a_dim24},
    {"attn-plan/head-dim-264", OP_ATTN_PLAN, ELATTN_ERROR_UNSUPPORTED, a_dim264},
    {"attn-plan/q-heads-0", OP_ATTN_PLAN, INV, a_hq0},
    {"attn-plan/kv-heads-0", OP_ATTN_PLAN, INV, a_hkv0},
    {"attn-plan/hq-not-multiple-of-hkv", OP_ATTN_PLAN, INV, a_hq_not_multiple},
    {"attn-plan/batch-0", OP_ATTN_PLAN, INV, a_batch0},
    {"attn-plan/batch-negative", OP_ATTN_PLAN, INV, a_batch_neg},
    {"attn-plan/max-seqlen-q-0", OP_ATTN_PLAN, INV, a_maxq0},
    {"attn-plan/max-seqlen-k-negative", OP_ATTN_PLAN, INV, a_maxk_neg},
    {"attn-plan/causal-2", OP_ATTN_PLAN, INV, a_causal2},
    {"attn-plan/write-lse-negative", OP_ATTN_PLAN, INV, a_lse_flag},
    {"attn-plan/sink-negative", OP_ATTN_PLAN, INV, a_sink_neg},
    {"attn-plan/local-0", OP_ATTN_PLAN, INV, a_local0},
    {"attn-plan/block-48", OP_ATTN_PLAN, INV, a_block48},
    {"attn-plan/block-8", OP_ATTN_PLAN, INV, a_block8},
    {"attn-plan/block-512", OP_ATTN_PLAN, INV, a_block512},
    {"attn-plan/scale-negative", OP_ATTN_PLAN, INV, a_scale_neg},
    {"attn-plan/scale-nan", OP_ATTN_PLAN, INV, a_scale_nan},
    {"attn-plan/scale-inf", OP_ATTN_PLAN, INV, a_scale_inf},
    {"attn-plan/q-stride-token-negative", OP_ATTN_PLAN, INV, a_q_stride_neg},
    {"attn-plan/k-stride-head-not-multiple-of-8", OP_ATTN_PLAN, INV, a_k_stride_head_odd},
    {"attn-plan/o-stride-head-below-head-dim", OP_ATTN_PLAN, INV, a_o_stride_head_small},
    {"attn-plan/v-stride-token-below-head-dim", OP_ATTN_PLAN, INV, a_v_stride_token_small},
    {"attn-plan/q-packed-stride-token-overflows-int32", OP_ATTN_PLAN, INV, a_q_stride_packed_overflow},
    {"attn-plan/page-size-24", OP_ATTN_PLAN, INV, a_page24},
    {"attn-plan/page-size-512", OP_ATTN_PLAN, INV, a_page512},
    {"attn-plan/num-pages-without-page-size", OP_ATTN_PLAN, INV, a_pages_unpaged},
    {"attn-plan/max-pages-per-seq-without-page-size", OP_ATTN_PLAN, INV, a_maxpp_unpaged},
    {"attn-plan/num-pages-0", OP_ATTN_PLAN, INV, a_pages0},
    {"attn-plan/max-pages-per-seq-below-max-seqlen-k", OP_ATTN_PLAN, INV, a_maxpp_small},
    {"attn-run/o-strides-alias-heads", OP_ATTN_RUN, INV, r_o_strides_alias},
    {"attn-run/q-strided-extent-too-small", OP_ATTN_RUN, SMALL, r_q_stride_extent},
    {"attn-run/k-stride-token-2^31-8", OP_ATTN_RUN, SMALL, r_k_stride_huge},
    {"attn-run/block-table-null-when-paged", OP_ATTN_RUN, INV, r_table_null},
    {"attn-run/block-table-page-past-num-pages", OP_ATTN_RUN, INV, r_table_out_of_range},
    {"attn-run/block-table-page-negative", OP_ATTN_RUN, INV, r_table_negative},
    {"attn-run/block-table-without-page-size", OP_ATTN_RUN, INV, r_table_unpaged},
    {"attn-run/k-too-small-for-num-pages", OP_ATTN_RUN, SMALL, r_kv_small_for_pages},
    {"attn-run/plan-null", OP_ATTN_RUN, INV, r_null_plan},
    {"attn-run/args-null", OP_ATTN_RUN, INV, r_null_args},
    {"attn-run/q-null", OP_ATTN_RUN, INV, r_q_null},
    {"attn-run/k-null", OP_ATTN_RUN, INV, r_k_null},
    {"attn-run/v-null", OP_ATTN_RUN, INV, r_v_null},
    {"attn-run/o-null", OP_ATTN_RUN, INV, r_o_null},
    {"attn-run/cu-seqlens-q-null", OP_ATTN_RUN, INV, r_cuq_null},
    {"attn-run/cu-seqlens-k-null", OP_ATTN_RUN, INV, r_cuk_null},
    {"attn-run/cu-seqlens-q-not-from-0", OP_ATTN_RUN, INV, r_cuq_start1},
    {"attn-run/cu-seqlens-q-decreasing", OP_ATTN_RUN, INV, r_cuq_decreasing},
    {"attn-run/cu-seqlens-q-exceeds-max", OP_ATTN_RUN, INV, r_cuq_exceeds},
    {"attn-run/cu-seqlens-k-exceeds-max", OP_ATTN_RUN, INV, r_cuk_exceeds},
    {"attn-run/modes-null", OP_ATTN_RUN, INV, r_modes_null},
    {"attn-run/mode-5", OP_ATTN_RUN, INV, r_mode5},
    {"attn-run/mode-negative", OP_ATTN_RUN, INV, r_mode_neg},
    {"attn-run/q-too-small", OP_ATTN_RUN, SMALL, r_q_small},
    {"attn-run/o-too-small", OP_ATTN_RUN, SMALL, r_o_small},
    {"attn-run/lse-too-small", OP_ATTN_RUN, SMALL, r_lse_small},
    {"attn-run/mask-too-small", OP_ATTN_RUN, SMALL, r_mask_small},
    {"attn-run/lse-missing-with-write-lse", OP_ATTN_RUN, INV, r_lse_missing},
    {"attn-run/lse-given-without-write-lse", OP_ATTN_RUN, INV, r_lse_unwanted},
    {"attn-run/mask-missing-with-block-sparse-head", OP_ATTN_RUN, INV, r_mask_missing},
    {"attn-run/o-aliases-q", OP_ATTN_RUN, INV, r_o_is_q},
    {"attn-run/q-from-another-device", OP_ATTN_RUN, INV, r_foreign_q},
    {"attn-run/workspace-too-small", OP_ATTN_RUN, SMALL, r_ws_small},
    {"xattn-plan/stride-3", OP_XATTN_PLAN, INV, x_stride3},
    {"xattn-plan/stride-128", OP_XATTN_PLAN, INV, x_stride128},
    {"xattn-plan/stride-not-dividing-block", OP_XATTN_PLAN, INV, x_stride_over_block},
    {"xattn-plan/block-48", OP_XATTN_PLAN, INV, x_block48},
    {"xattn-plan/desc-null", OP_XATTN_PLAN, INV, x_null_desc},
    {"xattn-run/thresholds-null", OP_XATTN_RUN, INV, x_taus_null},
    {"xattn-run/tau-0", OP_XATTN_RUN, INV, x_tau0},
    {"xattn-run/tau-1.5", OP_XATTN_RUN, INV, x_tau_big},
    {"xattn-run/tau-nan", OP_XATTN_RUN, INV, x_tau_nan},
    {"xattn-run/num-thresholds-3", OP_XATTN_RUN, INV, x_num_taus3},
    {"xattn-run/mask-null", OP_XATTN_RUN, INV, x_mask_null},
    {"xattn-run/mask-too-small", OP_XATTN_RUN, SMALL, x_mask_small},
    {"xattn-run/mode-5", OP_XATTN_RUN, INV, x_mode5},
    {"xattn-run/cu-seqlens-k-decreasing", OP_XATTN_RUN, INV, x_cuk_decreasing},
    {"router-plan/mode-pair-reversed", OP_ROUTER_PLAN, INV, t_pair_reversed},
    {"router-plan/mode-pair-same", OP_ROUTER_PLAN, INV, t_pair_same},
    {"router-plan/hidden-0", OP_ROUTER_PLAN, INV, t_hidden0},
    {"router-plan/head-dim-0", OP_ROUTER_PLAN, INV, t_dim0},
    {"router-plan/dtype-7", OP_ROUTER_PLAN, INV, t_dtype7},
    {"router-run/zero-length-element", OP_ROUTER_RUN, INV, t_empty_element},
    {"router-run/modes-null", OP_ROUTER_RUN, INV, t_modes_null},
    {"router-run/weight-null", OP_ROUTER_RUN, INV, t_w_null},
    {"router-run/weight-too-small", OP_ROUTER_RUN, SMALL, t_w_small},
    {"router-run/keys-null", OP_ROUTER_RUN, INV, t_keys_null},
    {"router-run/logits-too-small", OP_ROUTER_RUN, SMALL, t_logits_small},
    {"router-run/cu-seqlens-null", OP_ROUTER_RUN, INV, t_cu_null},
    {"attn-plan/block-mask-size-wraps", OP_ATTN_PLAN, INV, a_mask_wraps},
    {"attn-plan/tile-m-negative", OP_ATTN_PLAN, INV, a_tile_m_neg},
    {"attn-plan/tile-m-3", OP_ATTN_PLAN, UNSUP, a_tile_m_3},
    {"attn-plan/tile-m-2^30", OP_ATTN_PLAN, INV, a_tile_m_huge},
    {"attn-plan/tile-n-negative", OP_ATTN_PLAN, INV, a_tile_n_neg},
    {"attn-plan/tile-n-3", OP_ATTN_PLAN, UNSUP, a_tile_n_3},
    {"attn-plan/tile-n-2^30", OP_ATTN_PLAN, INV, a_tile_n_huge},
    {"attn-plan/work-group-size-negative", OP_ATTN_PLAN, INV, a_wg_neg},
    {"attn-plan/work-group-size-3", OP_ATTN_PLAN, UNSUP, a_wg_3},
    {"attn-plan/work-group-size-2^30", OP_ATTN_PLAN, INV, a_wg_huge},
    {"xattn-plan/tile-m-negative", OP_XATTN_PLAN, INV, a_tile_m_neg},
    {"xattn-plan/tile-n-3", OP_XATTN_PLAN, UNSUP, a_tile_n_3},
    {"xattn-plan/work-group-size-3", OP_XATTN_PLAN, UNSUP, a_wg_3},
    {"xattn-plan/work-group-size-2^30", OP_XATTN_PLAN, INV, a_wg_huge},
    {"router-plan/tile-n-negative", OP_ROUTER_PLAN, INV, a_tile_n_neg},
    {"router-plan/tile-m-3", OP_ROUTER_PLAN, UNSUP, a_tile_m_3},
    {"router-plan/work-group-size-3", OP_ROUTER_PLAN, UNSUP, a_wg_3},
    {"router-plan/work-group-size-2^30", OP_ROUTER_PLAN, INV, a_wg_huge},
    {"xattn-plan/block-mask-size-wraps", OP_XATTN_PLAN, INV, x_mask_wraps},
    {"xattn-plan/query-head-table-wraps", OP_XATTN_PLAN, INV, x_head_table_wraps},
    {"attn-plan/struct-size-0", OP_ATTN_PLAN, INV, s_ad0},
    {"attn-plan/struct-size-newer", OP_ATTN_PLAN, INV, s_ad_newer},
    {"attn-run/struct-size-0", OP_ATTN_RUN, INV, s_aa0},
    {"attn-run/struct-size-newer", OP_ATTN_RUN, INV, s_aa_newer},
    {"xattn-plan/struct-size-0", OP_XATTN_PLAN, INV, s_xd0},
    {"xattn-run/struct-size-newer", OP_XATTN_RUN, INV, s_xa_newer},
    {"router-plan/struct-size-newer", OP_ROUTER_PLAN, INV, s_rd_newer},
    {"router-run/struct-size-0", OP_ROUTER_RUN, INV, s_ra0},
    {"attn-plan/options-struct-size-0", OP_ATTN_PLAN, INV, s_opts0},
    {"router-plan/options-struct-size-newer", OP_ROUTER_PLAN, INV, s_opts_newer},
};
#undef INV
#undef SMALL
#undef UNSUP

#define NUM_ARG_ROWS (int)(sizeof rows / sizeof rows[0])

/* The rows of this file, then those of invalid_objects.c. */
static const inv_row *row_at(int i) { return i < NUM_ARG_ROWS ? &rows[i] : &inv_object_rows[i - NUM_ARG_ROWS]; }

int invalid_row_count(void) { return NUM_ARG_ROWS + inv_object_row_count; }
const char *invalid_row_name(int row) { return row_at(row)->name; }

/* ---- the valid baseline ---------------------------------------------------------- */
enum { B = 2, HQ = 4, HKV = 2, D = 64, LQ0 = 17, LQ1 = 40, BLOCK = 16 };

static elattn_status make_ctx(inv_ctx *c, elattn_device *dev)
{
    memset(c, 0, sizeof *c);
    c->dev = dev;
    c->opts = ELATTN_INIT(elattn_plan_options);
    c->ad = (elattn_attn_desc){.struct_size = sizeof(elattn_attn_desc), .dtype = ELATTN_F32, .head_dim = D, .num_q_heads = HQ, .num_kv_heads = HKV,
                               .batch = B, .max_seqlen_q = LQ1, .max_seqlen_k = LQ1, .causal = 1, .sink = 4,
                               .local = 8, .block_size = BLOCK, .write_lse = 1};
    c->xd = (elattn_xattn_desc){.struct_size = sizeof(elattn_xattn_desc), .dtype = ELATTN_F32, .head_dim = D, .num_q_heads = HQ, .num_kv_heads = HKV,
                                .batch = B, .max_seqlen_q = LQ1, .max_seqlen_k = LQ1, .causal = 1, .stride = 8,
                                .block_size = BLOCK};
    c->rd = (elattn_router_desc){.struct_size = sizeof(elattn_router_desc), .key_dtype = ELATTN_F32, .head_dim = D, .hidden = 4 * D, .num_kv_heads = HKV,
                                 .batch = B, .max_seqlen = LQ1, .retrieval_mode = ELATTN_FULL,
                                 .sparse_mode = ELATTN_STREAMING};
    c->cu_q[1] = c->cu_k[1] = c->rcu[1] = LQ0;
    c->cu_q[2] = c->cu_k[2] = c->rcu[2] = LQ0 + LQ1;
    const int32_t modes[4] = {ELATTN_FULL, ELATTN_STREAMING, ELATTN_BLOCK_SPARSE, ELATTN_FULL};
    memcpy(c->modes, modes, sizeof modes);
    for (int i = 0; i < 4; ++i) c->rmodes[i] = -7;
    c->taus[0] = 0.9f;
    c->taus[1] = 0.5f;

    size_t total = LQ0 + LQ1, qn = total * HQ * D, kn = total * HKV * D;
    size_t mask_bytes = elattn_block_mask_bytes(&c->ad);
    c->q_bytes = qn * 4;
    c->kv_bytes = kn * 4;
    c->lse_bytes = total * HQ * 4;
    c->mask_bytes = mask_bytes;
    c->logits_bytes = B * HKV * 2 * 4;
    kit_rng rng;
    kit_rng_seed(&rng, 12345);
    float *host = xmalloc(sizeof(float) * qn);
    for (size_t i = 0; i < qn; ++i) host[i] = (float)kit_rng_normal(&rng);
    uint8_t *mask = xmalloc(mask_bytes);
    memset(mask, 1, mask_bytes);

    elattn_status st = upload_new(dev, host, qn * 4, &c->q);
    if (!st) st = upload_new(dev, host, kn * 4, &c->k);
    if (!st) st = upload_new(dev, host, kn * 4, &c->v);
    if (!st) st = upload_new(dev, host, kn * 4, &c->keys);
    if (!st) st = upload_new(dev, mask, mask_bytes, &c->mask);
    if (!st) st = upload_new(dev, host, qn * 4 - 4, &c->q_small);
    if (!st) st = upload_new(dev, mask, mask_bytes - 1, &c->mask_small);
    if (!st) st = kit_guarded_alloc(dev, qn * 4, &c->o);
    if (!st) st = kit_guarded_alloc(dev, total * HQ * 4, &c->lse);
    if (!st) st = kit_guarded_alloc(dev, mask_bytes, &c->xmask);
    if (!st) st = kit_guarded_alloc(dev, B * HKV * 2 * 4, &c->logits);
    /* too-small views of the guarded outputs, so that the guard check covers them */
    if (!st) st = elattn_buffer_view(c->o.parent, KIT_GUARD_BYTES, qn * 4 - 4, &c->o_small);
    if (!st) st = elattn_buffer_view(c->lse.parent, KIT_GUARD_BYTES, total * HQ * 4 - 4, &c->lse_small);
    if (!st) st = elattn_buffer_view(c->xmask.parent, KIT_GUARD_BYTES, mask_bytes - 1, &c->xmask_small);
    if (!st) st = elattn_buffer_view(c->logits.parent, KIT_GUARD_BYTES, B * HKV * 2 * 4 - 4, &c->logits_small);
    const size_t wsz[10] = {4 * D * D, 4 * D, D * 4 * D, D, 4 * D * D, 4 * D, D * 4 * D, D, 2 * D, 2};
    for (int i = 0; i < 10 && !st; ++i) {
        float *w = xcalloc(wsz[i], sizeof(float));
        st = upload_new(dev, w, wsz[i] * 4, &c->w[i]);
        free(w);
    }
    if (!st) {
        float *w = xcalloc(wsz[0], sizeof(float));
        st = upload_new(dev, w, wsz[0] * 4 - 4, &c->w_small);
        free(w);
    }
    /* A second handle of the same device: its buffers belong to another elattn_device. */
    elattn_device_info info;
    if (!st) st = elattn_device_info_of(dev, &info);
    if (!st) st = elattn_device_open(info.index, &c->foreign_dev);
    if (!st) st = upload_new(c->foreign_dev, host, qn * 4, &c->foreign_q);
    free(host);
    free(mask);
    if (st) return st;

    c->aa = (elattn_attn_args){.struct_size = sizeof(elattn_attn_args), .q = c->q, .k = c->k, .v = c->v, .o = c->o.view, .lse = c->lse.view,
                               .cu_seqlens_q = c->cu_q, .cu_seqlens_k = c->cu_k, .modes = c->modes,
                               .block_mask = c->mask};
    c->xa = (elattn_xattn_args){.struct_size = sizeof(elattn_xattn_args), .q = c->q, .k = c->k, .cu_seqlens_q = c->cu_q, .cu_seqlens_k = c->cu_k,
                                .modes = c->modes, .thresholds = c->taus, .num_thresholds = 2,
                                .block_mask = c->xmask.view};
    c->ra = (elattn_router_args){.struct_size = sizeof(elattn_router_args), .keys = c->keys, .cu_seqlens = c->rcu, .logits = c->logits.view, .modes = c->rmodes,
                                 .weights = {c->w[0], c->w[1], c->w[2], c->w[3], c->w[4], c->w[5], c->w[6], c->w[7],
                                             c->w[8], c->w[9]}};
    return ELATTN_SUCCESS;
}

static void free_ctx(inv_ctx *c)
{
    elattn_buffer *plain[] = {c->q, c->k, c->v, c->mask, c->keys, c->q_small, c->mask_small, c->w_small,
                              c->o_small, c->lse_small, c->xmask_small, c->logits_small, c->ws_small, c->foreign_q};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; ++i) elattn_buffer_free(plain[i]);
    for (int i = 0; i < 10; ++i) elattn_buffer_free(c->w[i]);
    kit_guarded_free(&c->o);
    kit_guarded_free(&c->lse);
    kit_guarded_free(&c->xmask);
    kit_guarded_free(&c->logits);
    for (int i = 0; i < c->num_extra; ++i) elattn_buffer_free(c->extra[i]);
    kit_guarded_free(&c->alias);
    elattn_device_close(c->foreign_dev);
}

/* Workspaces are sized by the valid plan; a plan that needs none gets NULL. */
static elattn_status workspace_for(elattn_device *dev, size_t bytes, elattn_buffer **ws)
{
    *ws = NULL;
    return bytes ? elattn_buffer_alloc(dev, bytes, ws) : ELATTN_SUCCESS;
}

/* Runs the row's call and returns its status. For run rows the valid plan
 * comes first; *baseline_unsupported = 1 when this target cannot even plan
 * the valid call (then the row proves nothing and says so). */
static elattn_status call_row(const inv_row *row, inv_ctx *c, case_result *r, int *baseline_unsupported)
{
    elattn_device *dev = c->null_device ? NULL : c->dev;
    const elattn_plan_options *opts = c->use_opts ? &c->opts : NULL;
    elattn_status st = ELATTN_SUCCESS;
    elattn_buffer *ws = NULL;
    *baseline_unsupported = 0;
    switch (row->op) {
    case OP_ATTN_PLAN: {
        elattn_attn_plan *plan = NULL;
        st = elattn_attn_plan_create(dev, c->null_desc ? NULL : &c->ad, opts, c->null_out ? NULL : &plan);
        elattn_attn_plan_destroy(plan);
        return st;
    }
    case OP_XATTN_PLAN: {
        elattn_xattn_plan *plan = NULL;
        st = elattn_xattn_plan_create(dev, c->null_desc ? NULL : &c->xd, opts, c->null_out ? NULL : &plan);
        elattn_xattn_plan_destroy(plan);
        return st;
    }
    case OP_ROUTER_PLAN: {
        elattn_router_plan *plan = NULL;
        st = elattn_router_plan_create(dev, c->null_desc ? NULL : &c->rd, opts, c->null_out ? NULL : &plan);
        elattn_router_plan_destroy(plan);
        return st;
    }
    case OP_ATTN_RUN: {
        elattn_attn_plan *plan = NULL;
        elattn_status ps = elattn_attn_plan_create(c->dev, &c->ad, NULL, &plan);
        if (ps) {
            *baseline_unsupported = ps == ELATTN_ERROR_UNSUPPORTED;
            result_from_status(r, ps, "valid baseline plan");
            return ps;
        }
        size_t need = elattn_attn_plan_workspace_size(plan);
        if (!c->aa.workspace && (st = workspace_for(c->dev, need, &ws)) == ELATTN_SUCCESS) c->aa.workspace = ws;
        if (!st) st = elattn_attn_run(c->null_plan ? NULL : plan, NULL, c->null_args ? NULL : &c->aa);
        elattn_attn_plan_destroy(plan);
        break;
    }
    case OP_XATTN_RUN: {
        elattn_xattn_plan *plan = NULL;
        elattn_status ps = elattn_xattn_plan_create(c->dev, &c->xd, NULL, &plan);
        if (ps) {
            *baseline_unsupported = ps == ELATTN_ERROR_UNSUPPORTED;
            result_from_status(r, ps, "valid baseline plan");
            return ps;
        }
        if ((st = workspace_for(c->dev, elattn_xattn_plan_workspace_size(plan), &ws)) == ELATTN_SUCCESS) {
            c->xa.workspace = ws;
            st = elattn_xattn_run(plan, NULL, &c->xa);
        }
        elattn_xattn_plan_destroy(plan);
        break;
    }
    case OP_ROUTER_RUN: {
        elattn_router_plan *plan = NULL;
        elattn_status ps = elattn_router_plan_create(c->dev, &c->rd, NULL, &plan);
        if (ps) {
            *baseline_unsupported = ps == ELATTN_ERROR_UNSUPPORTED;
            result_from_status(r, ps, "valid baseline plan");
            return ps;
        }
        if ((st = workspace_for(c->dev, elattn_router_plan_workspace_size(plan), &ws)) == ELATTN_SUCCESS) {
            c->ra.workspace = ws;
            st = elattn_router_run(plan, NULL, &c->ra);
        }
        elattn_router_plan_destroy(plan);
        break;
    }
    case OP_CALL: return c->call_status; /* the calls ran in row->apply */
    }
    elattn_buffer_free(ws);
    return st;
}

void invalid_check(const conf_case *cs, const conf_target *t, case_result *r)
{
    const inv_row *row = row_at(cs->invalid_row);
    inv_ctx c;
    r->guard_ok = -1;
    elattn_status st = make_ctx(&c, t->dev);
    if (st) {
        result_from_status(r, st, "set-up");
        free_ctx(&c);
        return;
    }
    /* The workspace row needs the valid plan's size first. */
    if (row->apply == r_ws_small) {
        elattn_attn_plan *plan = NULL;
        if (elattn_attn_plan_create(t->dev, &c.ad, NULL, &plan) == ELATTN_SUCCESS) {
            c.attn_ws_bytes = elattn_attn_plan_workspace_size(plan);
            if (c.attn_ws_bytes > 1) elattn_buffer_alloc(t->dev, c.attn_ws_bytes - 1, &c.ws_small);
            else if (c.attn_ws_bytes == 1) c.attn_ws_bytes = 0; /* cannot make a 0-byte buffer */
        }
        elattn_attn_plan_destroy(plan);
    }
    c.result = r;
    row->apply(&c);
    if (c.not_applicable) {
        r->status = ST_UNSUPPORTED;
        result_note(r, "not applicable: %s", c.not_applicable);
        free_ctx(&c);
        return;
    }

    int baseline_unsupported = 0;
    case_result setup = {0};
    st = call_row(row, &c, &setup, &baseline_unsupported);
    if (baseline_unsupported) {
        r->status = ST_UNSUPPORTED;
        result_note(r, "%s", setup.detail);
        free_ctx(&c);
        return;
    }
    const char *message = row->op == OP_CALL ? c.call_message : elattn_last_error();
    if (st != row->expect)
        result_fail(r, "status %s, expected %s (%s)", elattn_status_string(st), elattn_status_string(row->expect),
                    message);
    else if (st != ELATTN_SUCCESS && !message[0])
        result_fail(r, "status right but no message from elattn_last_error");
    else if (st != ELATTN_SUCCESS)
        result_note(r, "%s: %s", elattn_status_string(st), message);
    /* a rejected call wrote nothing: every output image intact, host mode table too (rows that
     * expect success check their own results) */
    if (row->expect != ELATTN_SUCCESS) {
        int untouched = kit_guarded_untouched(&c.o) && kit_guarded_untouched(&c.lse) && kit_guarded_untouched(&c.xmask) &&
                        kit_guarded_untouched(&c.logits) && (!c.alias.parent || kit_guarded_untouched(&c.alias));
        for (int i = 0; i < 4; ++i) untouched &= c.rmodes[i] == -7;
        r->guard_ok = untouched;
        if (!untouched) result_fail(r, "an output was modified by a rejected call");
    }
    free_ctx(&c);
}

/*
 * The scalar CPU reference: the definition of right.
 *
 * Plain loops over host arrays, double accumulation, no tiling and no
 * cleverness, following kernels/elattn_spec.h and kernels/SPEC.md line by
 * line. Arguments are assumed valid (the dispatch core checks them); the only
 * failure is running out of host memory for scratch space, returned as
 * ELATTN_ERROR_OUT_OF_MEMORY without a message (the reference depends on
 * nothing but the public header and the spec: its callers say what failed).
 */
#ifndef ELATTN_REF_H
#define ELATTN_REF_H

#include "elattn/elattn.h"
#include "elattn_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element `i` of an array of `dtype`, widened to double / stored with
 * round-to-nearest-even. */
double elattn_ref_load(elattn_dtype dtype, const void *base, size_t i);
void elattn_ref_store(elattn_dtype dtype, void *base, size_t i, double value);

/* Hybrid attention. p: the parameter block (elattn_attn_params from the spec), its
 * layout (strides, paging) included. lse may be NULL. block_mask may be NULL when no
 * head is BLOCK_SPARSE; block_table is read only when p->page_size > 0. */
elattn_status elattn_ref_attention(const elattn_attn_params *p, const void *q, const void *k,
                                   const void *v, void *o, float *lse,
                                   const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k,
                                   const int32_t *modes, const uint8_t *block_mask,
                                   const int32_t *block_table);

/* Decode over a per-head KV cache (SPEC.md section 9), on host arrays; the fields
 * as in the core's elattn_decode_call. */
typedef struct elattn_ref_decode_args {
    elattn_dtype dtype;
    int head_dim, num_q_heads, num_kv_heads;
    double scale;
    int sink, local, ring, page_shift, pages_per_head;
    int num_seqs;
    const int32_t *seq_ids, *cu_new, *lengths, *modes, *chunks, *page_table;
    const void *k_pool, *v_pool, *q;
    void *o;
    float *lse;
    int page_budget;              /* Quest page selection for BLOCK_SPARSE heads: 0 off */
    const float *page_summaries;  /* [num_pages][2][D] when page_budget > 0 */
} elattn_ref_decode_args;
elattn_status elattn_ref_decode(const elattn_ref_decode_args *a);

/* Quest's page summaries (SPEC.md section 9b): for pages[i], the minimum and maximum per dimension
 * of its first rows[i] key rows of k_pool [num_pages][P][D] into summaries [page][2][D]. */
void elattn_ref_kv_summarize(elattn_dtype dtype, int head_dim, int page_shift, const void *k_pool, float *summaries,
                             int count, const int32_t *pages, const int32_t *rows);

/* elattn_merge_states on host arrays (the formula of elattn.h, in double). */
void elattn_ref_merge_states(elattn_dtype dtype, int num_tokens, int num_heads, int head_dim, const void *o1,
                             const float *lse1, const void *o2, const float *lse2, void *o, float *lse);

/* XAttention block scores of one (element b, KV head hk): the group's summed
 * block sums, [nqb][nkb] with nqb = ceil(Lq/B), nkb = ceil(Lk/B) (invisible
 * blocks 0). Exposed for the reference's own checks. */
elattn_status elattn_ref_xattn_scores(const elattn_xattn_desc *d, const void *q, const void *k,
                                      const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k,
                                      int b, int hk, double *scores);

/* Selection from one head's scores row by row (spec section "XAttention"):
 * writes mask cells [nqb][mask_kblocks] starting at mask_head. */
void elattn_ref_xattn_select_head(const double *scores, int nqb, int nkb, int causal,
                                  int block_size, int len_q, int len_k, double tau,
                                  uint8_t *mask_head, int mask_kblocks);

/* Whole selection: masks for every (element, KV head) whose mode is
 * BLOCK_SPARSE (modes NULL: all). Cells of the full [mask_qblocks][mask_kblocks]
 * table outside [nqb][nkb] of an element are written 0 for the heads selected. */
elattn_status elattn_ref_xattn(const elattn_xattn_desc *d, const void *q, const void *k,
                               const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k,
                               const int32_t *modes, const float *tau_per_kv_head,
                               uint8_t *block_mask, int mask_qblocks, int mask_kblocks);

/* Router weights as host fp32 arrays (same order as elattn_router_weights). */
typedef struct elattn_ref_router_weights {
    const float *task_w1, *task_b1, *task_w2, *task_b2;
    const float *head_w1, *head_b1, *head_w2, *head_b2, *head_w3, *head_b3;
} elattn_ref_router_weights;

/* logits: [batch][Hkv][2] (may be NULL); modes: [batch][Hkv]. */
elattn_status elattn_ref_router(const elattn_router_desc *d, const void *keys,
                                const int32_t *cu_seqlens, const elattn_ref_router_weights *w,
                                float *logits, int32_t *modes);

/* Omega_MSR / Omega_ESR of one call, counted exactly (see elattn_sparsity). */
elattn_status elattn_ref_sparsity(const elattn_attn_desc *d, const int32_t *cu_seqlens_q,
                                  const int32_t *cu_seqlens_k, const int32_t *modes,
                                  const uint8_t *block_mask, elattn_sparsity *out);

#ifdef __cplusplus
}
#endif

#endif /* ELATTN_REF_H */

/*
 * Launch interface between the GPU backend's host code (backends/cuda, also
 * compiled as the HIP backend) and its kernel families in kernels/gpu/.
 * Written in CUDA names; kernels/gpu/vendor.h maps them to HIP.
 *
 * Each family offers a `supported` predicate (the backend's single selection
 * function asks them in order) and a `launch`. Launches are asynchronous on
 * `stream` and return the launch error (cudaGetLastError after the launch).
 */
#ifndef ELATTN_GPU_LAUNCH_H
#define ELATTN_GPU_LAUNCH_H

#include "worklist.h"   /* elattn_work_item, elattn_attn_call (api/src) */

/* Device-side inputs of a fused attention launch, prepared by the host code:
 * metadata is uploaded to the workspace first. */
struct elattn_gpu_attn_inputs {
    elattn_attn_params params;
    const void *q, *k, *v;
    void *o;
    float *lse;                     /* NULL unless params.write_lse */
    const int32_t *cu_seqlens_q;    /* device copies */
    const int32_t *cu_seqlens_k;
    const int32_t *modes;           /* device [batch][Hkv] */
    const uint8_t *block_mask;      /* device, NULL if no BLOCK_SPARSE head */
    const elattn_work_item *items;  /* device work list, longest first */
    int num_items;
    int tile_m, tile_n;             /* what the schedule was built with */
};

/* Tensor-core family (kernels/gpu/attn_mma.cuh): mma.sync m16n8k16, sm_80+,
 * fp16/bf16. tile_m/tile_n/per_kv_head: what the host must build the schedule with. */
struct elattn_gpu_kernel_shape { int tile_m, tile_n, per_kv_head; const char *name; };
bool elattn_mma_attn_supported(const elattn_attn_desc *desc, int sm_version,
                               elattn_gpu_kernel_shape *shape, const char **why_not);
cudaError_t elattn_mma_attn_launch(const elattn_gpu_attn_inputs *in, cudaStream_t stream);

/* Hopper family (kernels/gpu/attn_wgmma.cuh), sm_90a only; same contract. */
bool elattn_wgmma_attn_supported(const elattn_attn_desc *desc, int sm_version,
                                 elattn_gpu_kernel_shape *shape, const char **why_not);
cudaError_t elattn_wgmma_attn_launch(const elattn_gpu_attn_inputs *in, cudaStream_t stream);

/* XAttention estimation: writes the block-score table, float
 * [batch][Hkv][mask_qblocks][mask_kblocks] (group-summed sums of the per-row
 * softmax; invisible or out-of-range cells 0), which the selection kernel
 * (kernels/gpu/xattn.cuh) turns into the mask. `scratch` is workspace of
 * elattn_*_xattn_scratch_bytes(). */
struct elattn_gpu_xattn_inputs {
    const elattn_xattn_desc *desc;
    const void *q, *k;
    const int32_t *cu_seqlens_q, *cu_seqlens_k; /* device */
    const int32_t *modes;                       /* device [batch][Hkv] */
    int max_len_q, max_len_k;                   /* actual maxima of this call */
    int mask_qblocks, mask_kblocks;
    float *block_scores;                        /* output */
    void *scratch;
};
/* smem_per_block: the device's opt-in limit of shared memory per block. */
bool elattn_mma_xattn_supported(const elattn_xattn_desc *desc, int sm_version, size_t smem_per_block,
                                const char **why_not);
/* The estimation kernel is persistent: `ctas` (from elattn_mma_xattn_ctas at plan
 * time) sizes both its grid and its scratch, one slice per CTA. */
int elattn_mma_xattn_ctas(const elattn_xattn_desc *desc, int sm_count);
size_t elattn_mma_xattn_scratch_bytes(const elattn_xattn_desc *desc, int ctas);
cudaError_t elattn_mma_xattn_estimate(const elattn_gpu_xattn_inputs *in, int ctas, cudaStream_t stream);

#endif

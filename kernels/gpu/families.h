/*
 * The kernel families of the GPU backend that live in its own namespace
 * (elattn_cuda or elattn_hip): the portable attention kernel, the AMD MFMA
 * kernel, XAttention estimation/selection and the router. launch.h holds the
 * tensor-core families of the CUDA build (global names, CUDA build only).
 * Include kernels/gpu/vendor.h first.
 */
#ifndef ELATTN_GPU_FAMILIES_H
#define ELATTN_GPU_FAMILIES_H

#include "launch.h"

/* Which tensor-core families this build has (their files may not exist yet
 * while they are being written; the lead wires the final set). */
#if !defined(ELATTN_HIP) && defined(__has_include)
#  if __has_include("attn_mma.cuh")
#    define ELATTN_GPU_HAVE_MMA 1
#  endif
#  if __has_include("xattn_mma.cuh")
#    define ELATTN_GPU_HAVE_XATTN_MMA 1
#  endif
#  if __has_include("attn_wgmma.cuh")
#    define ELATTN_GPU_HAVE_WGMMA 1
#  endif
#endif

namespace ELATTN_GPU_NS {

/* ---- portable fused attention (attn_portable.cuh) ---------------------------------
 * Any dtype, D 64/128/256, any wave size (32 or 64). `smem_limit`: bytes of
 * shared memory a block may use on the device (opt-in limit). */
bool portable_attn_supported(const elattn_attn_desc *desc, int wave, size_t smem_limit,
                             elattn_gpu_kernel_shape *shape, const char **why_not);
cudaError_t portable_attn_launch(const elattn_gpu_attn_inputs *in, int wave, cudaStream_t stream);

/* ---- MFMA fused attention for AMD CDNA2/3 (attn_mfma.cuh), HIP on AMD only --------- */
bool mfma_attn_supported(const elattn_attn_desc *desc, const char *arch, int wave,
                         elattn_gpu_kernel_shape *shape, const char **why_not);
cudaError_t mfma_attn_launch(const elattn_gpu_attn_inputs *in, cudaStream_t stream);

/* ---- XAttention (xattn.cuh) ----------------------------------------------------------
 * Portable estimation: the block-score table of launch.h (needs no scratch).
 * Selection: table -> mask for the BLOCK_SPARSE heads (taus: device [Hkv]). */
cudaError_t xattn_portable_estimate(const elattn_gpu_xattn_inputs *in, int wave, cudaStream_t stream);
cudaError_t xattn_select(const elattn_gpu_xattn_inputs *in, const float *taus, uint8_t *block_mask,
                         int wave, cudaStream_t stream);

/* ---- router (router.cuh) --------------------------------------------------------------- */
struct router_inputs {
    const elattn_router_desc *desc;
    const void *keys;
    const int32_t *cu_seqlens;                   /* device [batch + 1] */
    const float *task_w1, *task_b1, *task_w2, *task_b2;
    const float *head_w1, *head_b1, *head_w2, *head_b2, *head_w3, *head_b3;
    float *logits;                               /* device [batch][Hkv][2] or NULL */
    int32_t *modes;                              /* device [batch][Hkv] */
};
/* Shared memory bytes a router block needs (the host checks it fits). */
size_t router_smem_bytes(const elattn_router_desc *desc);
cudaError_t router_launch(const router_inputs *in, int wave, cudaStream_t stream);

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_FAMILIES_H */

/*
 * The CUDA backend's tensor-core families (kernels/gpu/attn_mma.cuh,
 * xattn_mma.cuh, attn_wgmma.cuh; entry points in kernels/gpu/launch.h), in a
 * translation unit of their own so that changing one family recompiles only
 * it. Not part of the HIP builds (the families are CUDA-only). A family whose
 * file is absent is simply not compiled; families.h makes the host code
 * agree.
 */
#include "vendor.h"

#include "families.h"

#if defined(ELATTN_GPU_HAVE_MMA)
#include "attn_mma.cuh"
#endif
#if defined(ELATTN_GPU_HAVE_XATTN_MMA)
#include "xattn_mma.cuh"
#endif
#if defined(ELATTN_GPU_HAVE_WGMMA)
#include "attn_wgmma.cuh"
#endif

/*
 * The CUDA backend's Hopper families (sm_90a): fused attention on wgmma and
 * TMA (kernels/gpu/attn_wgmma.cuh) and XAttention estimation on wgmma
 * (xattn_wgmma.cuh), in a translation unit of their own so that changing them
 * recompiles only it. CUDA build only; interface: kernels/gpu/launch.h.
 */
#include "vendor.h"

#include "attn_wgmma.cuh"
#include "xattn_wgmma.cuh"

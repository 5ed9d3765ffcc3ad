/*
 * The CUDA backend's Hopper family (sm_90a): fused attention on wgmma and
 * TMA (kernels/gpu/attn_wgmma.cuh), in a translation unit of its own so that
 * changing it recompiles only it. CUDA build only; interface: kernels/gpu/launch.h.
 */
#include "vendor.h"

#include "attn_wgmma.cuh"

/*
 * The CUDA backend's mma.sync families (sm_80+): fused attention
 * (kernels/gpu/attn_mma.cuh) and XAttention estimation (xattn_mma.cuh).
 * CUDA build only; interface: kernels/gpu/launch.h.
 */
#include "vendor.h"

#include "attn_mma.cuh"
#include "xattn_mma.cuh"

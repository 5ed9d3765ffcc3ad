/*
 * The GPU backend's own kernel families (portable attention, XAttention,
 * router; on AMD also the MFMA attention), compiled for the CUDA backend and,
 * with -DELATTN_HIP, for the HIP backend. Host entry points: kernels/gpu/families.h.
 */
#include "vendor.h"

#include <math.h>
#include <stdint.h>

#include "families.h"
#include "common.cuh"
#include "attn_portable.cuh"
#include "xattn.cuh"
#include "router.cuh"
#if defined(ELATTN_GPU_AMD)
#include "attn_mfma.cuh"
#endif

/*
 * The kernel families every GPU build has (portable attention, XAttention,
 * router) and, on AMD, the MFMA attention: compiled for the CUDA backend and,
 * with -DELATTN_HIP, for the HIP backend. Interface: kernels/gpu/launch.h.
 */
#include "vendor.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "launch.h"
#include "dispatch.cuh"
#include "common.cuh"
#include "attn_portable.cuh"
#include "xattn.cuh"
#include "router.cuh"
#include "merge.cuh"
#if defined(ELATTN_GPU_CUDA)
#include "ptx/sm80.cuh" /* cp.async for the decode kernel's tile copies */
#endif
#include "decode.cuh"
#include "decode_quest.cuh"
#if defined(ELATTN_GPU_AMD)
#include "attn_mfma.cuh"
#endif

/*
 * The CUDA backend's tensor-core decode chunk kernel (kernels/gpu/decode_mma.cuh; sm_80+,
 * fp16 / bf16). CUDA build only; interface: kernels/gpu/launch.h (decode_mma_launch, called by
 * decode_launch in gpu_kernels.cu).
 */
#include "vendor.h"

#include <math.h>
#include <stdint.h>

#include "launch.h"
#include "dispatch.cuh"
#include "common.cuh"
#include "ptx/sm80.cuh"
#include "decode_common.cuh"
#include "decode_mma.cuh"

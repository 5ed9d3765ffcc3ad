/*
 * Included first by every GPU source of elattn. The sources are written in
 * CUDA runtime names; this header makes them compile as
 *   - the CUDA backend (nvcc, no macro): the CUDA headers;
 *   - the HIP backend on AMD (hipcc, -DELATTN_HIP): <hip/hip_runtime.h> and
 *     macros mapping the CUDA names onto HIP's;
 *   - the HIP backend on NVIDIA (nvcc, -DELATTN_HIP -DELATTN_HIP_ON_NVIDIA):
 *     kernels/gpu/vendor/hip_to_cuda.h (our HIP API on the CUDA runtime), then the
 *     same cuda->hip macros, so the host code really goes through hip* calls.
 *   - the HIP backend on the CPU (the host C++ compiler, -DELATTN_HIP
 *     -DELATTN_HIP_ON_CPU): kernels/gpu/vendor/hip_on_cpu.h (our HIP API and the
 *     device built-ins emulated on the host), then the same macros; a test build
 *     that runs the portable kernels and the host code without a GPU.
 *   - the CUDA backend on the CPU (the host C++ compiler, -DELATTN_CUDA_ON_CPU):
 *     the same layer, with sm_80's mma.sync, ldmatrix and cp.async emulated too,
 *     so the mma.sync families run as well (the wgmma families are left out).
 *
 * It also names the namespace of the build (elattn_cuda or elattn_hip) so both
 * backends link into one library, and the platform macros the kernels use:
 *   ELATTN_GPU_AMD / ELATTN_GPU_NVIDIA   which hardware the device code is for
 *   ELATTN_GPU_EMULATED                  the CPU emulation (neither: wave 32, no
 *                                        matrix units, CUDA's built-in names)
 *   ELATTN_GPU_CUDA                      the CUDA backend itself (the build
 *                                        that has the tensor-core families;
 *                                        emulated on the CPU with
 *                                        -DELATTN_CUDA_ON_CPU: mma.sync only)
 *   ELATTN_GPU_WGMMA                     the wgmma/TMA families (a real CUDA build)
 *   ELATTN_GPU_NS, ELATTN_GPU_BACKEND_NAME, ELATTN_GPU_BACKEND_KIND
 */
#ifndef ELATTN_GPU_VENDOR_H
#define ELATTN_GPU_VENDOR_H

#if defined(ELATTN_HIP) && defined(ELATTN_HIP_ON_NVIDIA)
#  include "hip_to_cuda.h"
#  define ELATTN_GPU_NVIDIA 1
#elif defined(ELATTN_HIP) && defined(ELATTN_HIP_ON_CPU)
#  include "hip_on_cpu.h"
#  define ELATTN_GPU_EMULATED 1
#elif defined(ELATTN_HIP)
#  include <hip/hip_runtime.h>
#  include <hip/hip_fp16.h>
#  if !defined(__HIP_PLATFORM_AMD__) && !defined(__HIP_PLATFORM_HCC__)
#    error "ELATTN_HIP without ELATTN_HIP_ON_NVIDIA needs hipcc for AMD (__HIP_PLATFORM_AMD__)"
#  endif
#  define ELATTN_GPU_AMD 1
#elif defined(ELATTN_CUDA_ON_CPU)
#  include "hip_on_cpu.h"
#  define ELATTN_GPU_EMULATED 1
#  define ELATTN_GPU_CUDA 1
#else
#  include <cuda_runtime.h>
#  include <cuda_fp16.h>
#  include <cuda_bf16.h>
#  define ELATTN_GPU_NVIDIA 1
#  define ELATTN_GPU_CUDA 1
#endif

#if defined(ELATTN_HIP)
#  define ELATTN_GPU_NS elattn_hip
#  define ELATTN_GPU_BACKEND_NAME "hip"
#  define ELATTN_GPU_BACKEND_KIND ELATTN_BACKEND_HIP
#  define ELATTN_GPU_BACKEND_OPS elattn_hip_backend
#else
#  define ELATTN_GPU_NS elattn_cuda
#  define ELATTN_GPU_BACKEND_NAME "cuda"
#  define ELATTN_GPU_BACKEND_KIND ELATTN_BACKEND_CUDA
#  define ELATTN_GPU_BACKEND_OPS elattn_cuda_backend
#endif

/* ---- CUDA runtime names -> HIP (host code; the emulated CUDA build runs on the same layer) -- */
#if defined(ELATTN_HIP) || defined(ELATTN_CUDA_ON_CPU)
#  define cudaError_t hipError_t
#  define cudaSuccess hipSuccess
#  define cudaErrorNoDevice hipErrorNoDevice
#  define cudaErrorInsufficientDriver hipErrorInsufficientDriver
#  define cudaErrorInvalidValue hipErrorInvalidValue
#  define cudaErrorMemoryAllocation hipErrorOutOfMemory
#  define cudaGetErrorString hipGetErrorString
#  define cudaGetLastError hipGetLastError
#  define cudaGetDeviceCount hipGetDeviceCount
#  define cudaSetDevice hipSetDevice
#  define cudaGetDevice hipGetDevice
#  define cudaDeviceProp hipDeviceProp_t
#  define cudaGetDeviceProperties hipGetDeviceProperties
#  define cudaMalloc hipMalloc
#  define cudaFree hipFree
#  define cudaMallocHost(ptr, bytes) hipHostMalloc(ptr, bytes, 0) /* pinned staging (batch plans) */
#  define cudaFreeHost hipHostFree
#  define cudaMemcpyKind hipMemcpyKind
#  define cudaMemcpyAsync hipMemcpyAsync
#  define cudaMemcpy2DAsync hipMemcpy2DAsync
#  define cudaMemsetAsync hipMemsetAsync
#  define cudaMemcpyHostToDevice hipMemcpyHostToDevice
#  define cudaMemcpyDeviceToHost hipMemcpyDeviceToHost
#  define cudaMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#  define cudaStream_t hipStream_t
#  define cudaStreamCreate hipStreamCreate
#  define cudaStreamCreateWithFlags hipStreamCreateWithFlags
#  define cudaStreamDestroy hipStreamDestroy
#  define cudaStreamSynchronize hipStreamSynchronize
#  define cudaStreamWaitEvent hipStreamWaitEvent
#  define cudaEvent_t hipEvent_t
#  define cudaEventCreate hipEventCreate
#  define cudaEventDestroy hipEventDestroy
#  define cudaEventRecord hipEventRecord
#  define cudaEventSynchronize hipEventSynchronize
#  define cudaEventElapsedTime hipEventElapsedTime
#  define cudaFuncAttribute hipFuncAttribute
#  define cudaFuncSetAttribute hipFuncSetAttribute
#  define cudaFuncAttributeMaxDynamicSharedMemorySize hipFuncAttributeMaxDynamicSharedMemorySize
#endif

/* The wgmma/TMA families (sm_90a PTX): the CUDA build on a GPU only. */
#if defined(ELATTN_GPU_CUDA) && !defined(ELATTN_GPU_EMULATED)
#  define ELATTN_GPU_WGMMA 1
#endif

/* ---- kernel launches and dynamic shared memory ----------------------------------
 * ELATTN_LAUNCH(grid, block, shared_bytes, stream, kernel)(arguments...): the
 * triple-chevron launch for nvcc and hipcc, a call that runs the grid in the CPU
 * emulation. The kernel comes last so that a template-id's commas need no parentheses.
 * ELATTN_DYNAMIC_SHARED(type, name): `name`, the block's dynamic shared memory as type[];
 * ELATTN_DYNAMIC_SHARED_ALIGNED(align, type, name) with at least that alignment. */
#if defined(ELATTN_GPU_EMULATED)
#  define ELATTN_LAUNCH(grid, block, shared, stream, ...) ELATTN_EMU_LAUNCH(grid, block, shared, stream, __VA_ARGS__)
#  define ELATTN_DYNAMIC_SHARED(type, name) ELATTN_EMU_DYNAMIC_SHARED(type, name)
#  define ELATTN_DYNAMIC_SHARED_ALIGNED(align, type, name)                                                     \
      static_assert((align) <= 128, "the emulation's dynamic shared memory is 128-byte aligned");             \
      ELATTN_EMU_DYNAMIC_SHARED(type, name)
#else
#  define ELATTN_LAUNCH(grid, block, shared, stream, ...) __VA_ARGS__<<<grid, block, shared, stream>>>
#  define ELATTN_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#  define ELATTN_DYNAMIC_SHARED_ALIGNED(align, type, name) extern __shared__ __align__(align) type name[]
#endif

/* ---- device intrinsics ------------------------------------------------------ */
#if defined(ELATTN_GPU_AMD)
/* HIP 5.2 has no *_sync shuffles; a wavefront runs in lockstep, the mask is
 * only a statement of which lanes take part (all of them in elattn). */
#  define __shfl_xor_sync(mask, var, lane_mask) __shfl_xor((var), (lane_mask))
#  define __shfl_sync(mask, var, src_lane) __shfl((var), (src_lane))
#endif

/* A kernel parameter read in place (its address taken without a copy to local memory):
 * CUDA's __grid_constant__ (sm_70+); HIP 5.2 has none, and elattn takes no parameter's address
 * on AMD. */
#if defined(ELATTN_GPU_AMD)
#  define ELATTN_GRID_CONSTANT
#else
#  define ELATTN_GRID_CONSTANT __grid_constant__
#endif

#endif /* ELATTN_GPU_VENDOR_H */

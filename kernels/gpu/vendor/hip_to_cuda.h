/*
 * elattn's HIP-to-CUDA layer: the HIP runtime API that the GPU backend uses,
 * implemented on the CUDA runtime with inline functions and typedefs.
 *
 * Why our own: Debian's HIP headers for the NVIDIA platform do not compile
 * with CUDA 13, and the HIP backend built for NVIDIA (meson option
 * hip_platform=nvidia) must really run through hip* calls so that the HIP
 * host code is exercised on the NVIDIA machine we have.
 *
 * Only what elattn uses is here. Functions, not macros, so nothing can expand
 * into itself once kernels/gpu/vendor.h maps the cuda* names onto these hip*
 * names (it includes this header first, then defines those macros).
 * Device code needs nothing from here: nvcc compiles the kernels with the CUDA
 * intrinsics directly.
 */
#ifndef ELATTN_HIP_TO_CUDA_H
#define ELATTN_HIP_TO_CUDA_H

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <string.h>

/* ---- types and constants -------------------------------------------------- */
typedef cudaError_t hipError_t;
typedef cudaStream_t hipStream_t;
typedef cudaEvent_t hipEvent_t;
typedef cudaMemcpyKind hipMemcpyKind;
typedef cudaFuncAttribute hipFuncAttribute;

static const hipError_t hipSuccess = cudaSuccess;
static const hipError_t hipErrorNoDevice = cudaErrorNoDevice;
static const hipError_t hipErrorInsufficientDriver = cudaErrorInsufficientDriver;
static const hipError_t hipErrorInvalidValue = cudaErrorInvalidValue;
static const hipError_t hipErrorOutOfMemory = cudaErrorMemoryAllocation;
static const hipMemcpyKind hipMemcpyHostToDevice = cudaMemcpyHostToDevice;
static const hipMemcpyKind hipMemcpyDeviceToHost = cudaMemcpyDeviceToHost;
static const hipMemcpyKind hipMemcpyDeviceToDevice = cudaMemcpyDeviceToDevice;
static const hipFuncAttribute hipFuncAttributeMaxDynamicSharedMemorySize =
    cudaFuncAttributeMaxDynamicSharedMemorySize;
static const unsigned hipStreamDefault = cudaStreamDefault;
static const unsigned hipStreamNonBlocking = cudaStreamNonBlocking;

/* HIP's device properties, reduced to the fields elattn reads (same names as
 * the CUDA and AMD HIP structs, so the backend's code reads either). */
typedef struct hipDeviceProp_t {
    char name[256];
    size_t totalGlobalMem;
    int multiProcessorCount;
    int warpSize;
    int major;
    int minor;
    size_t sharedMemPerBlock;
    size_t sharedMemPerBlockOptin;
} hipDeviceProp_t;

/* ---- errors ------------------------------------------------------------------ */
static inline const char *hipGetErrorString(hipError_t e) { return cudaGetErrorString(e); }
static inline const char *hipGetErrorName(hipError_t e) { return cudaGetErrorName(e); }
static inline hipError_t hipGetLastError(void) { return cudaGetLastError(); }
static inline hipError_t hipPeekAtLastError(void) { return cudaPeekAtLastError(); }

/* ---- devices -------------------------------------------------------------------- */
static inline hipError_t hipGetDeviceCount(int *count) { return cudaGetDeviceCount(count); }
static inline hipError_t hipSetDevice(int device) { return cudaSetDevice(device); }
static inline hipError_t hipGetDevice(int *device) { return cudaGetDevice(device); }
static inline hipError_t hipDriverGetVersion(int *version) { return cudaDriverGetVersion(version); }

static inline hipError_t hipGetDeviceProperties(hipDeviceProp_t *prop, int device)
{
    cudaDeviceProp p;
    hipError_t e = cudaGetDeviceProperties(&p, device);
    if (e != cudaSuccess) return e;
    memset(prop, 0, sizeof *prop);
    memcpy(prop->name, p.name, sizeof prop->name < sizeof p.name ? sizeof prop->name : sizeof p.name);
    prop->name[sizeof prop->name - 1] = '\0';
    prop->totalGlobalMem = p.totalGlobalMem;
    prop->multiProcessorCount = p.multiProcessorCount;
    prop->warpSize = p.warpSize;
    prop->major = p.major;
    prop->minor = p.minor;
    prop->sharedMemPerBlock = p.sharedMemPerBlock;
    prop->sharedMemPerBlockOptin = p.sharedMemPerBlockOptin;
    return cudaSuccess;
}

/* ---- memory ----------------------------------------------------------------------- */
static inline hipError_t hipMalloc(void **ptr, size_t bytes) { return cudaMalloc(ptr, bytes); }
static inline hipError_t hipFree(void *ptr) { return cudaFree(ptr); }
static inline hipError_t hipHostMalloc(void **ptr, size_t bytes, unsigned flags) { return flags ? cudaErrorInvalidValue : cudaMallocHost(ptr, bytes); }
static inline hipError_t hipHostFree(void *ptr) { return cudaFreeHost(ptr); }
static inline hipError_t hipMemcpyAsync(void *dst, const void *src, size_t bytes, hipMemcpyKind kind,
                                        hipStream_t stream)
{
    return cudaMemcpyAsync(dst, src, bytes, kind, stream);
}
static inline hipError_t hipMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                                          size_t width, size_t height, hipMemcpyKind kind,
                                          hipStream_t stream)
{
    return cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, height, kind, stream);
}
static inline hipError_t hipMemsetAsync(void *dst, int value, size_t bytes, hipStream_t stream)
{
    return cudaMemsetAsync(dst, value, bytes, stream);
}

/* ---- streams and events -------------------------------------------------------------- */
static inline hipError_t hipStreamCreate(hipStream_t *stream) { return cudaStreamCreate(stream); }
static inline hipError_t hipStreamCreateWithFlags(hipStream_t *stream, unsigned flags)
{
    return cudaStreamCreateWithFlags(stream, flags);
}
static inline hipError_t hipStreamDestroy(hipStream_t stream) { return cudaStreamDestroy(stream); }
static inline hipError_t hipStreamSynchronize(hipStream_t stream) { return cudaStreamSynchronize(stream); }
static inline hipError_t hipStreamWaitEvent(hipStream_t stream, hipEvent_t event, unsigned flags)
{
    return cudaStreamWaitEvent(stream, event, flags);
}
static inline hipError_t hipEventCreate(hipEvent_t *event) { return cudaEventCreate(event); }
static inline hipError_t hipEventDestroy(hipEvent_t event) { return cudaEventDestroy(event); }
static inline hipError_t hipEventRecord(hipEvent_t event, hipStream_t stream)
{
    return cudaEventRecord(event, stream);
}
static inline hipError_t hipEventSynchronize(hipEvent_t event) { return cudaEventSynchronize(event); }
static inline hipError_t hipEventElapsedTime(float *ms, hipEvent_t start, hipEvent_t end)
{
    return cudaEventElapsedTime(ms, start, end);
}

/* ---- kernels -------------------------------------------------------------------------- */
static inline hipError_t hipFuncSetAttribute(const void *func, hipFuncAttribute attr, int value)
{
    return cudaFuncSetAttribute(func, attr, value);
}
/* HIP's launch macro; triple-chevron launches compile as they are under nvcc. */
#define hipLaunchKernelGGL(kernel, grid, block, shared, stream, ...)                                   \
    kernel<<<(grid), (block), (shared), (stream)>>>(__VA_ARGS__)

#endif /* ELATTN_HIP_TO_CUDA_H */

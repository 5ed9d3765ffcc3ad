/*
 * elattn's HIP-on-CPU layer: the HIP runtime API that the GPU backends use, and the
 * device built-ins their kernels use, implemented on the host CPU.
 *
 * Why: the GPU backends' host code (plans, workspaces, batches, the paged cache) and
 * their kernels (kernels/gpu: attention, XAttention, the router, decode with Quest, the
 * merge) otherwise run only where a GPU is lent. Built with meson option
 * hip_platform=cpu (and emulate_cuda=true for the CUDA backend, which reaches this
 * layer through vendor.h's cuda-to-hip names), the backends compile with the host C++
 * compiler, and hip:0 and cuda:0 are emulated devices on which the conformance suite
 * runs in CI like on any other device.
 *
 * What it models: a grid's blocks run on a few OS threads; the threads of a block are
 * fibers of one OS thread, resumed in a new pseudo-random order each round, switched
 * at __syncthreads, at each warp collective (a shuffle, __any_sync, sm_80's mma.sync
 * and ldmatrix: a meeting of the warp's lanes) and at __nanosleep. __shared__ variables
 * are thread_local statics (an OS thread runs one block at a time); dynamic shared
 * memory is a per-launch buffer of exactly the bytes asked for, filled with 0xff bytes
 * (NaN in every dtype) at each block's start, like hipMalloc's memory. cp.async
 * copies land at the wait that covers their group, or at their issue with
 * ELATTN_EMU_CP_ASYNC=issue (hip_on_cpu.cpp says what each mode catches). A __syncthreads reached from two
 * different call sites in one round, a collective with a lane missing, a deadlock, or
 * a launch outside the device's limits fails the launch (hipGetLastError).
 *
 * What it does not model: the wgmma and MFMA families, the memory model's
 * reorderings, speed. Streams are synchronous: each call completes before it returns.
 *
 * Only what elattn uses is here; the runtime is in hip_on_cpu.cpp.
 */
#ifndef ELATTN_HIP_ON_CPU_H
#define ELATTN_HIP_ON_CPU_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#include <tuple>
#include <type_traits>
#include <utility>

/* ---- function and variable qualifiers ------------------------------------------- */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __grid_constant__
/* One OS thread runs one block at a time, so a thread_local static is that block's. */
#define __shared__ static thread_local

/* ---- types and constants ----------------------------------------------------------- */
enum hipError_t {
    hipSuccess = 0,
    hipErrorInvalidValue = 1,
    hipErrorOutOfMemory = 2,
    hipErrorNoDevice = 100,
    hipErrorInsufficientDriver = 35,
    hipErrorLaunchFailure = 719,
};
enum hipMemcpyKind { hipMemcpyHostToDevice = 1, hipMemcpyDeviceToHost = 2, hipMemcpyDeviceToDevice = 3 };
enum hipFuncAttribute { hipFuncAttributeMaxDynamicSharedMemorySize = 8 };
static const unsigned hipStreamDefault = 0;
static const unsigned hipStreamNonBlocking = 1;
typedef struct elattn_emu_stream *hipStream_t;
typedef struct elattn_emu_event *hipEvent_t;
typedef void *hipDeviceptr_t;

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

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(8) int2 { int x, y; };
struct alignas(8) uint2 { unsigned x, y; };
struct alignas(8) float2 { float x, y; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
struct alignas(16) float4 { float x, y, z, w; };
static inline float2 make_float2(float x, float y) { return float2{x, y}; }
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
static inline int2 make_int2(int x, int y) { return int2{x, y}; }
static inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }
static inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }
static inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }

/* ---- the runtime (hip_on_cpu.cpp) ------------------------------------------------------ */
const char *hipGetErrorString(hipError_t e);
const char *hipGetErrorName(hipError_t e);
hipError_t hipGetLastError(void);
hipError_t hipPeekAtLastError(void);
hipError_t hipGetDeviceCount(int *count);
hipError_t hipSetDevice(int device);
hipError_t hipGetDevice(int *device);
hipError_t hipDriverGetVersion(int *version);
hipError_t hipGetDeviceProperties(hipDeviceProp_t *prop, int device);
hipError_t hipMalloc(void **ptr, size_t bytes);
hipError_t hipFree(void *ptr);
hipError_t hipHostMalloc(void **ptr, size_t bytes, unsigned flags);
hipError_t hipHostFree(void *ptr);
hipError_t hipMemcpyAsync(void *dst, const void *src, size_t bytes, hipMemcpyKind kind, hipStream_t stream);
hipError_t hipMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                            hipMemcpyKind kind, hipStream_t stream);
hipError_t hipMemsetAsync(void *dst, int value, size_t bytes, hipStream_t stream);
hipError_t hipStreamCreate(hipStream_t *stream);
hipError_t hipStreamCreateWithFlags(hipStream_t *stream, unsigned flags);
hipError_t hipStreamDestroy(hipStream_t stream);
hipError_t hipStreamSynchronize(hipStream_t stream);
hipError_t hipStreamWaitEvent(hipStream_t stream, hipEvent_t event, unsigned flags);
hipError_t hipEventCreate(hipEvent_t *event);
hipError_t hipEventDestroy(hipEvent_t event);
hipError_t hipEventRecord(hipEvent_t event, hipStream_t stream);
hipError_t hipEventSynchronize(hipEvent_t event);
hipError_t hipEventElapsedTime(float *ms, hipEvent_t start, hipEvent_t end);
hipError_t hipFuncSetAttribute(const void *func, hipFuncAttribute attr, int value);
/* The allocation [*base, *base + *size) holding p, if hipMalloc made it. */
hipError_t hipMemGetAddressRange(void **base, size_t *size, void *p);
/* Whether p lies in memory hipMalloc made (device 0's). */
int elattn_emu_is_device_memory(const void *p);

/* ---- the execution model ------------------------------------------------------------- */
namespace elattn_emu {


void sync_block(const char *site); /* __syncthreads */
void yield_fiber();                 /* __nanosleep: let the block's other threads run */
uint64_t warp_exchange(uint64_t mine, int src_lane); /* all live lanes meet; lane src_lane's value */
int lane_id();
void *dynamic_shared();
/* Every lane's value (all of the warp's lanes must run: a collective, like mma.sync). */
void warp_gather(uint64_t mine, uint64_t all[32]);

/* sm_80's warp-level instructions, for the emulated CUDA build's tensor-core families
 * (kernels/gpu/ptx/sm80.cuh). Shared-memory addresses are offsets into the block's dynamic
 * shared memory, as the 32-bit addresses of the shared window are on a GPU. */
uint32_t shared_offset(const void *p);
void cp_async_16(uint32_t dst, const void *src, bool valid); /* lands at the covering wait, or at once (ELATTN_EMU_CP_ASYNC) */
void cp_async_commit();
void cp_async_wait(int most_pending);
void ldmatrix_x4(uint32_t r[4], uint32_t addr, bool transposed);
void mma_16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1, bool bf16);

/* Runs body.run_thread() as every thread of every block. The launch is checked against the
 * device's limits and the kernel's shared-memory opt-in first (a failed check sets the last
 * error and runs nothing); a block's fault (a deadlock, a barrier met from two sites, a shuffle
 * of a lane that does not run) sets it after the grid. */
struct grid_body {
    virtual void run_thread() = 0;
    virtual ~grid_body() = default;
};
void run_grid(const void *kernel, dim3 grid, dim3 block, size_t shared_bytes, hipStream_t stream, grid_body &body);

template <typename... P>
struct kernel_call final : grid_body {
    void (*kernel)(P...);
    std::tuple<std::decay_t<P>...> args;
    template <typename... A>
    kernel_call(void (*k)(P...), A &&...a) : kernel(k), args(std::forward<A>(a)...) {}
    /* Each thread gets its own copies of the parameters, as a kernel's are. */
    void run_thread() override { std::apply(kernel, args); }
};

struct launch {
    dim3 grid, block;
    size_t shared_bytes;
    hipStream_t stream;
    template <typename... P>
    struct bound {
        const launch &cfg;
        void (*kernel)(P...);
        template <typename... A> void operator()(A &&...a) const
        {
            kernel_call<P...> call(kernel, std::forward<A>(a)...);
            run_grid(reinterpret_cast<const void *>(kernel), cfg.grid, cfg.block, cfg.shared_bytes, cfg.stream, call);
        }
    };
    template <typename... P> bound<P...> operator<<(void (*kernel)(P...)) const { return bound<P...>{*this, kernel}; }
};

} /* namespace elattn_emu */

/* kernels/gpu/vendor/vendor.h's ELATTN_LAUNCH: the launch object takes the kernel, then its arguments. */
#define ELATTN_EMU_LAUNCH(grid, block, shared, stream, ...)                                                       \
    (::elattn_emu::launch{dim3(grid), dim3(block), (size_t)(shared), (stream)} << (__VA_ARGS__))
#define ELATTN_EMU_DYNAMIC_SHARED(type, name) type *const name = static_cast<type *>(::elattn_emu::dynamic_shared())

/* The CUDA build's extended launch (decode's merge launch) and occupancy query, for the emulated
 * CUDA backend. The programmatic-dependent-launch attribute changes nothing here: streams run
 * one call after another. */
enum cudaLaunchAttributeID { cudaLaunchAttributeProgrammaticStreamSerialization = 5 };
struct cudaLaunchAttribute {
    cudaLaunchAttributeID id;
    union {
        int programmaticStreamSerializationAllowed;
    } val;
};
struct cudaLaunchConfig_t {
    dim3 gridDim, blockDim;
    size_t dynamicSmemBytes;
    hipStream_t stream;
    cudaLaunchAttribute *attrs;
    unsigned numAttrs;
};
template <typename... P, typename... A>
static inline hipError_t cudaLaunchKernelEx(const cudaLaunchConfig_t *cfg, void (*kernel)(P...), A &&...args)
{
    (::elattn_emu::launch{cfg->gridDim, cfg->blockDim, cfg->dynamicSmemBytes, cfg->stream} << kernel)(
        std::forward<A>(args)...);
    return hipPeekAtLastError();
}
/* Blocks of this size that fit a multiprocessor's shared memory and 2048 threads. */
template <typename... P>
static inline hipError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, void (*)(P...), int threads,
                                                                      size_t shared_bytes)
{
    const size_t by_shared = shared_bytes ? (size_t)(228 * 1024) / shared_bytes : 32;
    const size_t by_threads = threads > 0 ? (size_t)2048 / (size_t)threads : 0;
    *blocks = (int)(by_shared < by_threads ? by_shared : by_threads);
    return hipSuccess;
}

/* ---- built-in variables ---------------------------------------------------------------- */
/* The running fiber's: the scheduler sets them each time it resumes a fiber. */
extern thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
static constexpr int warpSize = 32;

/* ---- synchronisation and memory order ---------------------------------------------------- */
/* The call site names the barrier, so that threads meeting at two different ones are caught. */
#define ELATTN_EMU_STR2(x) #x
#define ELATTN_EMU_STR(x) ELATTN_EMU_STR2(x)
#define __syncthreads() ::elattn_emu::sync_block(__FILE__ ":" ELATTN_EMU_STR(__LINE__))
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __nanosleep(unsigned) { ::elattn_emu::yield_fiber(); }

/* Blocks of one grid run on several OS threads: atomics are real ones. */
static inline int atomicAdd(int *p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline float atomicAdd(float *p, float v)
{
    unsigned *bits = reinterpret_cast<unsigned *>(p);
    unsigned old = __atomic_load_n(bits, __ATOMIC_SEQ_CST), next;
    do next = __builtin_bit_cast(unsigned, __builtin_bit_cast(float, old) + v);
    while (!__atomic_compare_exchange_n(bits, &old, next, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return __builtin_bit_cast(float, old);
}

/* ---- warp shuffles: every live lane of the warp takes part (elattn passes full masks) ---- */
template <typename T>
static inline T elattn_emu_shuffle(T v, int src_lane)
{
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a value over 8 bytes");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof v);
    bits = ::elattn_emu::warp_exchange(bits, src_lane);
    T out;
    memcpy(&out, &bits, sizeof out);
    return out;
}
template <typename T> static inline T __shfl_xor_sync(unsigned, T v, int lane_mask, int width = warpSize)
{
    const int lane = ::elattn_emu::lane_id();
    const int src = lane ^ lane_mask;
    /* A source outside the lane's group of `width` reads the lane's own value (CUDA's rule). */
    return elattn_emu_shuffle(v, (src / width == lane / width) ? src : lane);
}

/* ---- bit casts, loads, arithmetic ------------------------------------------------------------- */
static inline float __uint_as_float(unsigned u) { return __builtin_bit_cast(float, u); }
static inline unsigned __float_as_uint(float f) { return __builtin_bit_cast(unsigned, f); }
/* CUDA's template overload: a kernel's address without a cast. */
template <typename... P> static inline hipError_t hipFuncSetAttribute(void (*func)(P...), hipFuncAttribute attr, int value)
{
    return hipFuncSetAttribute(reinterpret_cast<const void *>(func), attr, value);
}

template <typename T> static inline T __ldcg(const T *p) { return *p; }
/* Products are never fused with a following add in this build (-ffp-contract=off). */
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }

static inline int __any_sync(unsigned, int predicate)
{
    uint64_t all[32];
    ::elattn_emu::warp_gather(predicate != 0, all);
    for (int l = 0; l < 32; ++l)
        if (all[l]) return 1;
    return 0;
}

/* ---- 16-bit types: tags for the tensor-core families, and their pair conversions ------------ */
struct __half { unsigned short x; };
struct __nv_bfloat16 { unsigned short x; };
struct __half2 { unsigned short x, y; };
struct __nv_bfloat162 { unsigned short x, y; };
static inline unsigned short elattn_emu_to_bf16(float f) /* round to nearest even; NaN stays NaN */
{
    const unsigned u = __builtin_bit_cast(unsigned, f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
    return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static inline __half2 __floats2half2_rn(float lo, float hi)
{
    return __half2{__builtin_bit_cast(unsigned short, (_Float16)lo), __builtin_bit_cast(unsigned short, (_Float16)hi)};
}
static inline __nv_bfloat162 __floats2bfloat162_rn(float lo, float hi)
{
    return __nv_bfloat162{elattn_emu_to_bf16(lo), elattn_emu_to_bf16(hi)};
}

#endif /* ELATTN_HIP_ON_CPU_H */

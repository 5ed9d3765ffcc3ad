/*
 * Helpers shared by the standalone developer harnesses (dev_mma/test_mma.cu, dev_wgmma/harness.cu), which are
 * built by hand with nvcc and are not part of the library build. Include it once, from the harness itself: it
 * defines the elattn_fail the kernels' headers call, since the harnesses do not link the API's core.c.
 */
#ifndef ELATTN_DEV_COMMON_H
#define ELATTN_DEV_COMMON_H

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <cuda_runtime.h>

#include "elattn/elattn.h"

#define CK(x)                                                                                                 \
    do {                                                                                                      \
        cudaError_t e_ = (x);                                                                                 \
        if (e_ != cudaSuccess) {                                                                              \
            fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, __LINE__, #x); \
            exit(2);                                                                                          \
        }                                                                                                     \
    } while (0)

extern "C" elattn_status elattn_fail(elattn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "elattn_fail: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return status;
}

/* cu_seqlens of a batch given by its lengths, and the longest element (0 when every element is empty). */
static inline void dev_seqlens(const std::vector<int> &lens, std::vector<int> &cu, int &max_len)
{
    cu.assign(lens.size() + 1, 0);
    max_len = 0;
    for (size_t b = 0; b < lens.size(); ++b) {
        cu[b + 1] = cu[b] + lens[b];
        max_len = std::max(max_len, lens[b]);
    }
}

/* A device copy of `bytes` host bytes in an allocation of `alloc_bytes` (at least `bytes`); free with cudaFree. */
template <typename T> static T *dev_upload(const T *host, size_t bytes, size_t alloc_bytes)
{
    T *d = nullptr;
    CK(cudaMalloc(&d, alloc_bytes));
    CK(cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice));
    return d;
}

/* Event times of `iters` launches, one by one after `warmups` untimed ones; sorted, so the median is [size / 2]. */
template <typename Launch> static std::vector<float> dev_time_ms(int warmups, int iters, Launch launch)
{
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    for (int w = 0; w < warmups; ++w) CK(launch());
    std::vector<float> ms;
    for (int it = 0; it < iters; ++it) {
        CK(cudaEventRecord(e0));
        CK(launch());
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float t;
        CK(cudaEventElapsedTime(&t, e0, e1));
        ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
    return ms;
}

#endif

// What a kernel's parameter size costs a launch (CUDA 12.1+ takes up to 32 KB of parameters):
// an empty kernel taking a __grid_constant__ struct of N bytes, launched 1 block and 264 blocks,
// timed back to back (launch rate) and one launch between events after a 256 MiB memset (the
// decode benchmark's pattern: the flush runs while the launch is queued).
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a param_launch.cu -o param_launch
#include <cstdio>
#include <vector>
#include <algorithm>
#include <cuda_runtime.h>

template <int N> struct params { int data[N / 4]; };

template <int N> __global__ void touch(const __grid_constant__ params<N> p, int *out)
{
    // read one word the block picks, so the parameter bank is used as decode's items are
    if (threadIdx.x == 0 && p.data[blockIdx.x % (N / 4)] == 12345) out[0] = 1;
}

template <int N> void measure(int blocks, void *flush, int *out)
{
    params<N> p{};
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    for (int i = 0; i < 20; ++i) touch<N><<<blocks, 128>>>(p, out);
    cudaDeviceSynchronize();
    const int burst = 2000;
    cudaEventRecord(a);
    for (int i = 0; i < burst; ++i) touch<N><<<blocks, 128>>>(p, out);
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    std::vector<float> single;
    for (int i = 0; i < 50; ++i) {
        cudaMemsetAsync(flush, i, 256u << 20);
        cudaEventRecord(a);
        touch<N><<<blocks, 128>>>(p, out);
        cudaEventRecord(b);
        cudaEventSynchronize(b);
        float t = 0;
        cudaEventElapsedTime(&t, a, b);
        single.push_back(t * 1000.0f);
    }
    std::sort(single.begin(), single.end());
    printf("params %6d B, %3d blocks: back to back %.2f us per launch; one launch after a flush %.2f us (median)\n", N,
           blocks, ms * 1000.0f / burst, single[single.size() / 2]);
}

int main()
{
    void *flush;
    int *out;
    cudaMalloc(&flush, 256u << 20);
    cudaMalloc(&out, 4);
    for (int blocks : {1, 264}) {
        measure<256>(blocks, flush, out);
        measure<1024>(blocks, flush, out);
        measure<2048>(blocks, flush, out);
        measure<4096>(blocks, flush, out);
        measure<8192>(blocks, flush, out);
        measure<16384>(blocks, flush, out);
    }
    printf("%s\n", cudaGetErrorString(cudaGetLastError()));
    return 0;
}

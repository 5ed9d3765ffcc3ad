/* The device's memory clock and bus width, and the peak bandwidth the CUDA backend derives from
 * them for the decode split policy (backends/gpu/gpu_device.cu, describe): nvcc -o mem_peak mem_peak.cu */
#include <cstdio>
#include <cuda_runtime.h>

int main()
{
    int clock_khz = 0, bus_bits = 0, sms = 0;
    if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, 0) != cudaSuccess ||
        cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0) != cudaSuccess ||
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0) != cudaSuccess) {
        std::printf("mem_peak: attributes unreadable: %s\n", cudaGetErrorString(cudaGetLastError()));
        return 1;
    }
    const double gbps = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
    std::printf("memory clock %d kHz, bus %d bits, %d SMs: peak %.0f GB/s, S = %d (31 GB/s an item)\n", clock_khz,
                bus_bits, sms, gbps, (int)(gbps / 31.0 + 0.5));
    return 0;
}

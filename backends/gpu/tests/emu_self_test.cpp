/*
 * A test of the CPU emulation itself (hip_on_cpu.h): that it fails the shared-memory races the
 * conformance suite relies on it to find. Three forms of one small cp.async pipeline run on the
 * emulated device: the right one, and two that are wrong only on a GPU's timing:
 *   read_before_wait       waits for all but the newest group, then reads the newest one's slot;
 *   issue_before_barrier   issues the next copy into a slot before the barrier after which every
 *                          warp has read it.
 * The right form must give the exact sums in every emulation mode. Each form named after
 * --must-find must give a wrong sum in the mode the test runs in (the environment sets it:
 * ELATTN_EMU_CP_ASYNC, ELATTN_EMU_SKEW); a form not named is run and its result printed, since
 * a mode that misses it is expected to. Exit 0 when all of that holds, 1 otherwise, 2 on bad use.
 */
#include "hip_on_cpu.h"

#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

namespace {

constexpr int kThreads = 128, kSteps = 24, kBlocks = 48;
constexpr int kChunk = 4; /* ints per 16-byte copy; each thread copies one chunk per step */

enum class pipeline_form { right, read_before_wait, issue_before_barrier };

/* Step t's chunks go to slot t % 2 of a two-slot ring. Each thread adds up, over the steps, the
 * chunk a thread of the next warp copied, then the value of its neighbour lane (a shuffle: a
 * switch point, so that warps can drift apart inside a step). */
__global__ void pipeline(pipeline_form form, const int *src, long long *sums)
{
    ELATTN_EMU_DYNAMIC_SHARED(int, ring);
    const int i = threadIdx.x, b = blockIdx.x;
    const int reads = (i + 32) % kThreads; /* a chunk of the next warp */
    auto issue = [&](int t) {
        const int *from = src + ((size_t)(b * kSteps + t) * kThreads + i) * kChunk;
        elattn_emu::cp_async_16(elattn_emu::shared_offset(ring + ((t % 2) * kThreads + i) * kChunk), from, true);
    };
    long long sum = 0;
    issue(0);
    elattn_emu::cp_async_commit();
    for (int t = 0; t < kSteps; ++t) {
        const bool next = t + 1 < kSteps;
        /* Right: wait for every group, step t's the newest (read_before_wait leaves it in flight) ... */
        elattn_emu::cp_async_wait(form == pipeline_form::read_before_wait && next ? 1 : 0);
        if (form == pipeline_form::issue_before_barrier && next) issue(t + 1);
        __syncthreads(); /* ... for every thread; and every warp has read step t - 1's slot */
        if (form != pipeline_form::issue_before_barrier && next) issue(t + 1);
        elattn_emu::cp_async_commit();
        const int *chunk = ring + ((t % 2) * kThreads + reads) * kChunk;
        int v = chunk[0] + chunk[1] + chunk[2] + chunk[3];
        v += __shfl_xor_sync(0xffffffffu, v, 1);
        sum += v;
    }
    sums[b * kThreads + i] = sum;
}

const char *form_name(pipeline_form f)
{
    return f == pipeline_form::right ? "right" : f == pipeline_form::read_before_wait ? "read_before_wait"
                                                                                      : "issue_before_barrier";
}

/* Runs the form; returns how many of its sums differ from the host's, or -1 when the launch failed. */
long wrong_sums(pipeline_form form, const std::vector<int> &host_src, const int *src, long long *sums)
{
    hipMemsetAsync(sums, 0, sizeof(long long) * kBlocks * kThreads, 0);
    const size_t shared = sizeof(int) * 2 * kThreads * kChunk;
    ELATTN_EMU_LAUNCH(kBlocks, kThreads, shared, 0, pipeline)(form, src, sums);
    if (hipGetLastError() != hipSuccess) return -1;
    std::vector<long long> got((size_t)kBlocks * kThreads);
    hipMemcpyAsync(got.data(), sums, sizeof(long long) * got.size(), hipMemcpyDeviceToHost, 0);
    long wrong = 0;
    for (int b = 0; b < kBlocks; ++b)
        for (int i = 0; i < kThreads; ++i) {
            long long want = 0;
            for (int t = 0; t < kSteps; ++t) {
                auto chunk_sum = [&](int thread) {
                    const int *c = &host_src[((size_t)(b * kSteps + t) * kThreads + (thread + 32) % kThreads) * kChunk];
                    return (long long)c[0] + c[1] + c[2] + c[3];
                };
                want += chunk_sum(i) + chunk_sum(i ^ 1);
            }
            wrong += got[(size_t)b * kThreads + i] != want;
        }
    return wrong;
}

} /* namespace */

int main(int argc, char **argv)
{
    std::vector<std::string> must_find;
    for (int a = 1; a < argc; ++a) {
        if (!strcmp(argv[a], "--must-find") && a + 1 < argc &&
            (!strcmp(argv[a + 1], "read_before_wait") || !strcmp(argv[a + 1], "issue_before_barrier")))
            must_find.push_back(argv[++a]);
        else {
            fprintf(stderr, "usage: %s [--must-find read_before_wait|issue_before_barrier]...\n", argv[0]);
            return 2;
        }
    }
    const char *landing = getenv("ELATTN_EMU_CP_ASYNC"), *skew = getenv("ELATTN_EMU_SKEW");
    printf("emulation: cp.async lands at %s, warp skew %s\n", landing ? landing : "wait", skew ? skew : "0");

    /* Every chunk different, so that a chunk of another step changes a sum. */
    std::vector<int> host_src((size_t)kBlocks * kSteps * kThreads * kChunk);
    for (size_t k = 0; k < host_src.size(); ++k) host_src[k] = (int)((k * 2654435761u) % 100003u);
    int *src = nullptr;
    long long *sums = nullptr;
    if (hipMalloc((void **)&src, sizeof(int) * host_src.size()) != hipSuccess ||
        hipMalloc((void **)&sums, sizeof(long long) * kBlocks * kThreads) != hipSuccess) {
        fprintf(stderr, "hipMalloc failed\n");
        return 1;
    }
    hipMemcpyAsync(src, host_src.data(), sizeof(int) * host_src.size(), hipMemcpyHostToDevice, 0);

    bool ok = true;
    for (pipeline_form form : {pipeline_form::right, pipeline_form::read_before_wait, pipeline_form::issue_before_barrier}) {
        const long wrong = wrong_sums(form, host_src, src, sums);
        bool must = false;
        for (const std::string &m : must_find) must = must || m == form_name(form);
        const bool pass = wrong < 0 ? false : form == pipeline_form::right ? wrong == 0 : must ? wrong > 0 : true;
        printf("%-22s %s: %ld of %d sums wrong%s\n", form_name(form), pass ? "ok  " : "FAIL", wrong, kBlocks * kThreads,
               wrong < 0                       ? " (the launch failed)"
               : form == pipeline_form::right  ? ""
               : must                          ? " (the race must be found in this mode)"
                                               : " (not required in this mode)");
        ok = ok && pass;
    }
    hipFree(src);
    hipFree(sums);
    return ok ? 0 : 1;
}

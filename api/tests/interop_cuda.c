/*
 * CUDA interop, as an engine uses it: its own stream and cudaMalloc'd
 * tensors; an elattn device from the ordinal and that stream (CUDA, and HIP
 * when the HIP backend runs on this NVIDIA GPU through elattn's HIP-to-CUDA
 * layer); attention on the engine's stream, compared with the reference; a
 * host pointer, a size past the allocation and another GPU's memory refused
 * naming the argument; stream waits on events; the default stream's
 * synchronize. Exit 77 (skipped) when no CUDA device is here.
 */
#include <cuda_runtime_api.h>
#include <stdlib.h>

#include "interop_case.h"

static void run_backend(elattn_backend backend, int ndev)
{
    const char *name = elattn_backend_name(backend);
    printf("---- %s backend\n", name);
    static float q[IC_QO_FLOATS], k[IC_KV_FLOATS], v[IC_KV_FLOATS], o[IC_QO_FLOATS], want[IC_QO_FLOATS];
    ic_inputs(q, k, v);
    cudaSetDevice(0);
    cudaStream_t engine;
    float *mq, *mk, *mv, *mo;
    if (cudaStreamCreate(&engine) != cudaSuccess || cudaMalloc((void **)&mq, sizeof q) != cudaSuccess ||
        cudaMalloc((void **)&mk, sizeof k) != cudaSuccess || cudaMalloc((void **)&mv, sizeof v) != cudaSuccess ||
        cudaMalloc((void **)&mo, sizeof o) != cudaSuccess) {
        ic_check(0, "the engine's stream and memory (CUDA runtime)");
        return;
    }
    cudaMemcpy(mq, q, sizeof q, cudaMemcpyHostToDevice);
    cudaMemcpy(mk, k, sizeof k, cudaMemcpyHostToDevice);
    cudaMemcpy(mv, v, sizeof v, cudaMemcpyHostToDevice);

    elattn_device *dev = NULL;
    elattn_status st = backend == ELATTN_BACKEND_CUDA ? elattn_device_from_cuda(0, engine, &dev)
                                                      : elattn_device_from_hip(0, engine, &dev);
    ic_check(st == ELATTN_SUCCESS, "elattn_device_from_<backend>(0, engine's stream)");
    if (!dev) {
        printf("     %s\n", elattn_last_error());
        return;
    }
    elattn_native_handles h;
    ic_check(elattn_device_native_handles(dev, &h) == ELATTN_SUCCESS && h.backend == backend &&
                 h.device_ordinal == 0 && h.default_stream == (void *)engine && !h.context,
             "native handles: ordinal 0 and the engine's stream");

    elattn_buffer *bq = NULL, *bk = NULL, *bv = NULL, *bo = NULL, *refused = NULL;
    ic_check(elattn_buffer_wrap(dev, mq, sizeof q, &bq) == ELATTN_SUCCESS &&
                 elattn_buffer_wrap(dev, mk, sizeof k, &bk) == ELATTN_SUCCESS &&
                 elattn_buffer_wrap(dev, mv, sizeof v, &bv) == ELATTN_SUCCESS &&
                 elattn_buffer_wrap(dev, mo, sizeof o, &bo) == ELATTN_SUCCESS,
             "the engine's device pointers wrap");
    void *host = malloc(4096);
    ic_check_refused(elattn_buffer_wrap(dev, host, 4096, &refused), ELATTN_ERROR_INVALID_ARGUMENT, "native",
                     "a host pointer");
    free(host);
    ic_check_refused(elattn_buffer_wrap(dev, mq, sizeof q + 4096, &refused), ELATTN_ERROR_BUFFER_TOO_SMALL, "bytes",
                     "a size 4096 bytes past the allocation");
    ic_check_refused(elattn_buffer_wrap(dev, (char *)mq + 256, sizeof q, &refused), ELATTN_ERROR_BUFFER_TOO_SMALL,
                     "bytes", "an interior pointer whose size runs past the allocation");
    ic_check(elattn_buffer_wrap(dev, (char *)mq + 256, sizeof q - 256, &refused) == ELATTN_SUCCESS,
             "an interior pointer whose size fits");
    elattn_buffer_free(refused);
    if (ndev > 1) {
        void *m1 = NULL;
        cudaSetDevice(1);
        cudaMalloc(&m1, 4096);
        cudaSetDevice(0);
        ic_check_refused(elattn_buffer_wrap(dev, m1, 4096, &refused), ELATTN_ERROR_INVALID_ARGUMENT, "native",
                         "memory of GPU 1 on device 0");
        cudaFree(m1);
    }

    ic_check(ic_expected(want), "the reference's answer");
    elattn_event *before = NULL, *after = NULL;
    ic_check(elattn_event_create(dev, &before) == ELATTN_SUCCESS && elattn_event_create(dev, &after) == ELATTN_SUCCESS &&
                 elattn_event_record(before, NULL) == ELATTN_SUCCESS,
             "an event on the engine's stream");
    ic_check(ic_run(dev, bq, bk, bv, bo) == ELATTN_SUCCESS, "attention on the engine's stream");
    ic_check(elattn_event_record(after, NULL) == ELATTN_SUCCESS, "a second event on it");
    elattn_stream *mine = NULL;
    ic_check(elattn_stream_create(dev, &mine) == ELATTN_SUCCESS && elattn_stream_wait_event(mine, after) == ELATTN_SUCCESS &&
                 elattn_stream_synchronize(mine) == ELATTN_SUCCESS,
             "an elattn stream waits for the engine stream's event");
    ic_check(elattn_device_synchronize(dev) == ELATTN_SUCCESS && cudaStreamQuery(engine) == cudaSuccess,
             "elattn_device_synchronize waits for the engine's stream");
    float ms = -1;
    ic_check(elattn_event_elapsed_ms(before, after, &ms) == ELATTN_SUCCESS && ms >= 0, "the events time the run");
    cudaMemcpy(o, mo, sizeof o, cudaMemcpyDeviceToHost);
    double diff = ic_max_diff(o, want, IC_QO_FLOATS);
    printf("     max |O - reference| = %.3g\n", diff);
    ic_check(diff < 1e-3, "O in the engine's memory matches the reference");

    elattn_event_destroy(before);
    elattn_event_destroy(after);
    elattn_stream_destroy(mine);
    elattn_buffer_free(bq);
    elattn_buffer_free(bk);
    elattn_buffer_free(bv);
    elattn_buffer_free(bo);
    elattn_device_close(dev);
    cudaFree(mq);
    cudaFree(mk);
    cudaFree(mv);
    cudaFree(mo);
    cudaStreamDestroy(engine);
}

int main(void)
{
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("skipped: no CUDA device here\n");
        return 77;
    }
    int ran = 0;
    const elattn_backend backends[2] = {ELATTN_BACKEND_CUDA, ELATTN_BACKEND_HIP};
    for (int b = 0; b < 2; ++b) {
        elattn_backend_info bi;
        elattn_backend_get_info(backends[b], &bi);
        printf("%s: %s %s\n", elattn_backend_name(backends[b]), bi.loaded ? "loaded" : "absent",
               bi.loaded ? bi.module : bi.reason);
        /* the HIP backend on AMD has no device here; through the layer it has this GPU */
        if (bi.device_count == 0) continue;
        run_backend(backends[b], ndev);
        ran++;
    }
    ic_check(ran > 0, "the CUDA backend has this GPU");
    printf("%d failure(s)\n", ic_failures);
    return ic_failures ? 1 : 0;
}

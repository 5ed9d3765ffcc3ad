/*
 * OpenCL interop, as an engine uses it: its own cl_context, in-order queue
 * (without profiling) and cl_mem buffers; an elattn device made from them;
 * attention on the engine's queue, compared with the reference; buffers and
 * queues of another context, and a buffer smaller than declared, refused
 * naming the argument; events that wait and events that cannot be timed.
 * Exit 77 (skipped) when no OpenCL device is here.
 */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "interop_case.h"

static cl_mem new_mem(cl_context ctx, size_t bytes, const void *init)
{
    cl_int err;
    return clCreateBuffer(ctx, CL_MEM_READ_WRITE | (init ? CL_MEM_COPY_HOST_PTR : 0), bytes, (void *)init, &err);
}

int main(void)
{
    cl_platform_id platform;
    cl_device_id device;
    cl_uint n = 0;
    if (clGetPlatformIDs(1, &platform, &n) != CL_SUCCESS || n == 0 ||
        clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, &n) != CL_SUCCESS || n == 0) {
        printf("skipped: no OpenCL device here\n");
        return 77;
    }
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    cl_context other = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    cl_command_queue queue = clCreateCommandQueue(ctx, device, 0, &err); /* no profiling, as many engines */
    cl_command_queue other_queue = clCreateCommandQueue(other, device, 0, &err);

    static float q[IC_QO_FLOATS], k[IC_KV_FLOATS], v[IC_KV_FLOATS], o[IC_QO_FLOATS], want[IC_QO_FLOATS];
    ic_inputs(q, k, v);
    cl_mem mq = new_mem(ctx, sizeof q, q), mk = new_mem(ctx, sizeof k, k), mv = new_mem(ctx, sizeof v, v);
    cl_mem mo = new_mem(ctx, sizeof o, NULL), small = new_mem(ctx, 64, NULL), foreign = new_mem(other, sizeof q, NULL);

    elattn_device *dev = NULL;
    elattn_device *bad = NULL;
    ic_check_refused(elattn_device_from_opencl(ctx, device, other_queue, &bad), ELATTN_ERROR_INVALID_ARGUMENT,
                     "cl_command_queue", "a default queue of another context");
    ic_check(elattn_device_from_opencl(ctx, device, queue, &dev) == ELATTN_SUCCESS,
             "elattn_device_from_opencl(engine's context, device, queue)");
    if (!dev) {
        printf("     %s\n", elattn_last_error());
        return 1;
    }
    elattn_native_handles h;
    ic_check(elattn_device_native_handles(dev, &h) == ELATTN_SUCCESS && h.backend == ELATTN_BACKEND_OPENCL &&
                 h.context == (void *)ctx && h.device == (void *)device && h.default_stream == (void *)queue &&
                 h.device_ordinal == -1,
             "native handles: the engine's context, device and queue");

    /* wrapping: the engine's buffers; another context's and a too small one refused */
    elattn_buffer *bq = NULL, *bk = NULL, *bv = NULL, *bo = NULL, *refused = NULL;
    ic_check(elattn_buffer_wrap(dev, mq, sizeof q, &bq) == ELATTN_SUCCESS &&
                 elattn_buffer_wrap(dev, mk, sizeof k, &bk) == ELATTN_SUCCESS &&
                 elattn_buffer_wrap(dev, mv, sizeof v, &bv) == ELATTN_SUCCESS &&
                 elattn_buffer_wrap(dev, mo, sizeof o, &bo) == ELATTN_SUCCESS,
             "the engine's cl_mem buffers wrap");
    ic_check_refused(elattn_buffer_wrap(dev, foreign, sizeof q, &refused), ELATTN_ERROR_INVALID_ARGUMENT, "native",
                     "a cl_mem of another cl_context");
    ic_check(strstr(elattn_last_error(), "cl_context") != NULL, "   ... and the message says which context");
    ic_check_refused(elattn_buffer_wrap(dev, small, 128, &refused), ELATTN_ERROR_BUFFER_TOO_SMALL, "bytes",
                     "a 64-byte cl_mem declared as 128 bytes");
    ic_check(elattn_buffer_wrap(dev, small, 64, &refused) == ELATTN_SUCCESS, "the same cl_mem at its true size");
    elattn_buffer_free(refused);
    elattn_stream *ws = NULL;
    ic_check_refused(elattn_stream_wrap(dev, other_queue, &ws), ELATTN_ERROR_INVALID_ARGUMENT, "native",
                     "a cl_command_queue of another cl_context");

    /* attention on the engine's queue (the default stream), read back by the engine */
    ic_check(ic_expected(want), "the reference's answer");
    elattn_event *before = NULL, *after = NULL;
    ic_check(elattn_event_create(dev, &before) == ELATTN_SUCCESS && elattn_event_create(dev, &after) == ELATTN_SUCCESS &&
                 elattn_event_record(before, NULL) == ELATTN_SUCCESS,
             "an event recorded on the engine's queue");
    ic_check(ic_run(dev, bq, bk, bv, bo) == ELATTN_SUCCESS, "attention on the engine's queue");
    ic_check(elattn_event_record(after, NULL) == ELATTN_SUCCESS, "a second event on it");
    elattn_stream *mine = NULL;
    elattn_event *done = NULL;
    ic_check(elattn_stream_create(dev, &mine) == ELATTN_SUCCESS && elattn_stream_wait_event(mine, after) == ELATTN_SUCCESS,
             "an elattn stream waits for the engine queue's event");
    ic_check(elattn_event_create(dev, &done) == ELATTN_SUCCESS && elattn_event_record(done, mine) == ELATTN_SUCCESS &&
                 elattn_stream_synchronize(mine) == ELATTN_SUCCESS,
             "... and finishes after it");
    cl_int status = CL_QUEUED;
    cl_event last;
    clEnqueueMarkerWithWaitList(queue, 0, NULL, &last);
    ic_check(elattn_device_synchronize(dev) == ELATTN_SUCCESS &&
                 clGetEventInfo(last, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL) == CL_SUCCESS &&
                 status == CL_COMPLETE,
             "elattn_device_synchronize waits for the engine's queue");
    clReleaseEvent(last);
    clEnqueueReadBuffer(queue, mo, CL_TRUE, 0, sizeof o, o, 0, NULL, NULL);
    double diff = ic_max_diff(o, want, IC_QO_FLOATS);
    printf("     max |O - reference| = %.3g\n", diff);
    ic_check(diff < 1e-4, "O from the engine's buffers matches the reference");

    float ms = 0;
    ic_check_refused(elattn_event_elapsed_ms(before, after, &ms), ELATTN_ERROR_UNSUPPORTED,
                     "CL_QUEUE_PROFILING_ENABLE", "timing events of a queue without profiling");
    elattn_event *t0 = NULL;
    ic_check(elattn_event_create(dev, &t0) == ELATTN_SUCCESS && elattn_event_record(t0, mine) == ELATTN_SUCCESS &&
                 elattn_event_record(done, mine) == ELATTN_SUCCESS &&
                 elattn_event_elapsed_ms(t0, done, &ms) == ELATTN_SUCCESS && ms >= 0,
             "events of an elattn stream (profiling) can be timed");

    elattn_buffer *own = NULL;
    cl_context own_ctx = NULL;
    ic_check(elattn_buffer_alloc(dev, 256, &own) == ELATTN_SUCCESS &&
                 clGetMemObjectInfo(elattn_buffer_native(own), CL_MEM_CONTEXT, sizeof own_ctx, &own_ctx, NULL) ==
                     CL_SUCCESS &&
                 own_ctx == ctx,
             "elattn's own buffers live in the engine's context");

    elattn_buffer_free(own);
    elattn_event_destroy(t0);
    elattn_event_destroy(before);
    elattn_event_destroy(after);
    elattn_event_destroy(done);
    elattn_stream_destroy(mine);
    elattn_buffer_free(bq);
    elattn_buffer_free(bk);
    elattn_buffer_free(bv);
    elattn_buffer_free(bo);
    /* the engine may release its handles first: elattn holds its own references */
    clReleaseCommandQueue(queue);
    clReleaseContext(ctx);
    elattn_device_close(dev);
    cl_mem all[] = {mq, mk, mv, mo, small, foreign};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) clReleaseMemObject(all[i]);
    clReleaseCommandQueue(other_queue);
    clReleaseContext(other);
    printf("%d failure(s)\n", ic_failures);
    return ic_failures ? 1 : 0;
}

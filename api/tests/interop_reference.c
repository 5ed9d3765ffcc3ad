/*
 * Interop calls on the reference device and their refusals: native handles,
 * the default stream's synchronize, stream waits on events, devices from
 * native handles of backends that have no such device here.
 */
#include "interop_case.h"

int main(void)
{
    elattn_device *ref = NULL;
    if (elattn_device_open_by_name("reference", &ref) != ELATTN_SUCCESS) {
        printf("FAIL open the reference: %s\n", elattn_last_error());
        return 1;
    }
    elattn_native_handles h;
    memset(&h, 0x5a, sizeof h);
    ic_check(elattn_device_native_handles(ref, &h) == ELATTN_SUCCESS && h.backend == ELATTN_BACKEND_REFERENCE &&
                 h.device_ordinal == -1 && !h.context && !h.device && !h.default_stream,
             "reference: native handles are none (ordinal -1, NULLs)");
    ic_check(elattn_device_synchronize(ref) == ELATTN_SUCCESS, "reference: elattn_device_synchronize");
    ic_check_refused(elattn_device_synchronize(NULL), ELATTN_ERROR_INVALID_ARGUMENT, "device",
                     "elattn_device_synchronize(NULL)");

    elattn_event *e0 = NULL, *e1 = NULL;
    elattn_stream *s = NULL;
    ic_check(elattn_event_create(ref, &e0) == ELATTN_SUCCESS && elattn_event_create(ref, &e1) == ELATTN_SUCCESS &&
                 elattn_stream_create(ref, &s) == ELATTN_SUCCESS,
             "reference: events and a stream");
    ic_check_refused(elattn_stream_wait_event(s, e0), ELATTN_ERROR_INVALID_ARGUMENT, "event",
                     "a wait on an event never recorded");
    ic_check(elattn_event_record(e0, NULL) == ELATTN_SUCCESS && elattn_stream_wait_event(s, e0) == ELATTN_SUCCESS &&
                 elattn_stream_wait_event(NULL, e0) == ELATTN_SUCCESS,
             "reference: a stream and the default stream wait on a recorded event");
    float ms = -1;
    ic_check(elattn_event_record(e1, s) == ELATTN_SUCCESS && elattn_event_elapsed_ms(e0, e1, &ms) == ELATTN_SUCCESS &&
                 ms >= 0,
             "reference: every event can be timed");
    ic_check_refused(elattn_stream_wait_event(s, NULL), ELATTN_ERROR_INVALID_ARGUMENT, "event",
                     "elattn_stream_wait_event(s, NULL)");

    ic_check_refused(elattn_device_from_opencl(NULL, NULL, NULL, &(elattn_device *){NULL}),
                     ELATTN_ERROR_INVALID_ARGUMENT, "cl_context", "elattn_device_from_opencl(NULL, ...)");
    ic_check_refused(elattn_device_from_cuda(-1, NULL, &(elattn_device *){NULL}), ELATTN_ERROR_INVALID_ARGUMENT,
                     "device_ordinal", "elattn_device_from_cuda(-1, ...)");
    const elattn_backend gpu[2] = {ELATTN_BACKEND_CUDA, ELATTN_BACKEND_HIP};
    for (int g = 0; g < 2; ++g) {
        elattn_backend_info bi;
        elattn_backend_get_info(gpu[g], &bi);
        if (bi.device_count > 0) continue; /* a machine with such a GPU: interop_cuda covers it */
        elattn_device *d = NULL;
        elattn_status st = gpu[g] == ELATTN_BACKEND_CUDA ? elattn_device_from_cuda(0, NULL, &d)
                                                         : elattn_device_from_hip(0, NULL, &d);
        char what[96];
        snprintf(what, sizeof what, "elattn_device_from_%s(0) without such a device", elattn_backend_name(gpu[g]));
        ic_check_refused(st, ELATTN_ERROR_NOT_AVAILABLE, elattn_backend_name(gpu[g]), what);
    }
    elattn_event_destroy(e0);
    elattn_event_destroy(e1);
    elattn_stream_destroy(s);
    elattn_device_close(ref);
    printf("%d failure(s)\n", ic_failures);
    return ic_failures ? 1 : 0;
}

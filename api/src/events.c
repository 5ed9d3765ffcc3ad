/* Events: timing with the backend's own clock. */
#include <stdlib.h>

#include "internal.h"

elattn_status elattn_event_create(elattn_device *device, elattn_event **event)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(event, "event");
    elattn_event *e = calloc(1, sizeof *e);
    if (!e) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "event: host allocation failed");
    e->device = device;
    elattn_status st = device->ops->event_create(device->impl, &e->native);
    if (st == ELATTN_SUCCESS && (st = elattn_handle_add(e, ELATTN_HANDLE_EVENT)) != ELATTN_SUCCESS)
        device->ops->event_destroy(device->impl, e->native);
    if (st != ELATTN_SUCCESS) {
        free(e);
        return st;
    }
    elattn_device_retain(device);
    *event = e;
    return ELATTN_SUCCESS;
}

elattn_status elattn_event_record(elattn_event *event, elattn_stream *stream)
{
    BEGIN();
    HANDLE(event, "event", ELATTN_HANDLE_EVENT);
    void *s;
    CHECK(elattn_stream_native(event->device, stream, &s));
    const elattn_backend_ops *ops = event->device->ops;
    CHECK(ops->event_record(event->device->impl, s, event->native));
    const char *why = NULL;
    event->untimed = ops->stream_timing && !ops->stream_timing(event->device->impl, s, &why) ? why : NULL;
    event->recorded = 1;
    return ELATTN_SUCCESS;
}

elattn_status elattn_stream_wait_event(elattn_stream *stream, const elattn_event *event)
{
    BEGIN();
    HANDLE(event, "event", ELATTN_HANDLE_EVENT);
    void *s;
    CHECK(elattn_stream_native(event->device, stream, &s));
    if (!event->recorded)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "event: never recorded (call elattn_event_record first)");
    if (!event->device->ops->stream_wait_event) return ELATTN_SUCCESS; /* the backend runs each call to its end */
    return event->device->ops->stream_wait_event(event->device->impl, s, event->native);
}

elattn_status elattn_event_elapsed_ms(const elattn_event *start, const elattn_event *end, float *ms)
{
    BEGIN();
    HANDLE(start, "start", ELATTN_HANDLE_EVENT);
    HANDLE(end, "end", ELATTN_HANDLE_EVENT);
    REQUIRE(ms, "ms");
    if (start->device != end->device)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "end: belongs to another device than start");
    /* the core decides, so that every backend answers the same (a backend may not know) */
    if (!start->recorded)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "start: never recorded (call elattn_event_record first)");
    if (!end->recorded)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "end: never recorded (call elattn_event_record first)");
    if (start->untimed) return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "start: cannot be timed: %s", start->untimed);
    if (end->untimed) return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "end: cannot be timed: %s", end->untimed);
    return start->device->ops->event_elapsed_ms(start->device->impl, start->native, end->native, ms);
}

void elattn_event_destroy(elattn_event *event)
{
    if (!elattn_release_handle("event", event, ELATTN_HANDLE_EVENT)) return;
    elattn_device *d = event->device;
    d->ops->event_destroy(d->impl, event->native);
    free(event);
    elattn_device_release(d);
}

/* Events: timing with the backend's own clock. */
#include <stdlib.h>

#include "internal.h"


elattn_status elattn_event_create(elattn_device *device, elattn_event **event)
{
    BEGIN();
    REQUIRE(device, "device");
    REQUIRE(event, "event");
    elattn_event *e = calloc(1, sizeof *e);
    if (!e) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "event: host allocation failed");
    e->device = device;
    elattn_status st = device->ops->event_create(device->impl, &e->native);
    if (st != ELATTN_SUCCESS) {
        free(e);
        return st;
    }
    *event = e;
    return ELATTN_SUCCESS;
}

elattn_status elattn_event_record(elattn_event *event, elattn_stream *stream)
{
    BEGIN();
    REQUIRE(event, "event");
    void *s;
    CHECK(elattn_stream_native(event->device, stream, &s));
    return event->device->ops->event_record(event->device->impl, s, event->native);
}

elattn_status elattn_event_elapsed_ms(const elattn_event *start, const elattn_event *end, float *ms)
{
    BEGIN();
    REQUIRE(start, "start");
    REQUIRE(end, "end");
    REQUIRE(ms, "ms");
    if (start->device != end->device)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "end: belongs to another device than start");
    return start->device->ops->event_elapsed_ms(start->device->impl, start->native, end->native, ms);
}

void elattn_event_destroy(elattn_event *event)
{
    if (!event) return;
    event->device->ops->event_destroy(event->device->impl, event->native);
    free(event);
}

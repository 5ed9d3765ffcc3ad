/* Streams: created by elattn or wrapped from the engine's native queue. */
#include <stdlib.h>

#include "internal.h"

static elattn_status new_stream(elattn_device *device, void *native, int owned, elattn_stream **stream)
{
    elattn_stream *s = calloc(1, sizeof *s);
    if (!s) {
        if (owned) device->ops->stream_destroy(device->impl, native);
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "stream: host allocation failed");
    }
    s->device = device;
    s->native = native;
    s->owned = owned;
    elattn_status st = elattn_handle_add(s, ELATTN_HANDLE_STREAM);
    if (st != ELATTN_SUCCESS) {
        if (owned) device->ops->stream_destroy(device->impl, native);
        free(s);
        return st;
    }
    elattn_device_retain(device);
    *stream = s;
    return ELATTN_SUCCESS;
}

elattn_status elattn_stream_create(elattn_device *device, elattn_stream **stream)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(stream, "stream");
    void *native = NULL;
    CHECK(device->ops->stream_create(device->impl, &native));
    return new_stream(device, native, 1, stream);
}

elattn_status elattn_stream_wrap(elattn_device *device, void *native, elattn_stream **stream)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(native, "native");
    REQUIRE(stream, "stream");
    if (device->ops->stream_check_wrap) CHECK(device->ops->stream_check_wrap(device->impl, native));
    return new_stream(device, native, 0, stream);
}

/* The native stream of `s` for `device`; NULL means the default stream. */
elattn_status elattn_stream_native(const elattn_device *device, const elattn_stream *s, void **native)
{
    *native = device->default_stream;
    if (!s) return ELATTN_SUCCESS;
    CHECK(elattn_check_handle("stream", s, ELATTN_HANDLE_STREAM));
    if (s->device != device)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "stream: belongs to another device (%s, not %s)",
                           s->device->info.id, device->info.id);
    *native = s->native;
    return ELATTN_SUCCESS;
}

elattn_status elattn_stream_synchronize(elattn_stream *stream)
{
    BEGIN();
    HANDLE(stream, "stream", ELATTN_HANDLE_STREAM);
    return stream->device->ops->stream_sync(stream->device->impl, stream->native);
}

elattn_status elattn_device_synchronize(elattn_device *device)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    return device->ops->stream_sync(device->impl, device->default_stream);
}

void elattn_stream_destroy(elattn_stream *stream)
{
    if (!elattn_release_handle("stream", stream, ELATTN_HANDLE_STREAM)) return;
    elattn_device *d = stream->device;
    if (stream->owned) d->ops->stream_destroy(d->impl, stream->native);
    free(stream);
    elattn_device_release(d);
}

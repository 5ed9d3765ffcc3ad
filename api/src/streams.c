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
    *stream = s;
    return ELATTN_SUCCESS;
}

elattn_status elattn_stream_create(elattn_device *device, elattn_stream **stream)
{
    BEGIN();
    REQUIRE(device, "device");
    REQUIRE(stream, "stream");
    void *native = NULL;
    CHECK(device->ops->stream_create(device->impl, &native));
    return new_stream(device, native, 1, stream);
}

elattn_status elattn_stream_wrap(elattn_device *device, void *native, elattn_stream **stream)
{
    BEGIN();
    REQUIRE(device, "device");
    REQUIRE(native, "native");
    REQUIRE(stream, "stream");
    return new_stream(device, native, 0, stream);
}

/* The native stream of `s` for `device`; NULL means the default stream. */
elattn_status elattn_stream_native(const elattn_device *device, const elattn_stream *s, void **native)
{
    *native = NULL;
    if (!s) return ELATTN_SUCCESS;
    if (s->device != device)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "stream: belongs to another device (%s, not %s)",
                           s->device->info.id, device->info.id);
    *native = s->native;
    return ELATTN_SUCCESS;
}

elattn_status elattn_stream_synchronize(elattn_stream *stream)
{
    BEGIN();
    REQUIRE(stream, "stream");
    return stream->device->ops->stream_sync(stream->device->impl, stream->native);
}

void elattn_stream_destroy(elattn_stream *stream)
{
    if (!stream) return;
    if (stream->owned) stream->device->ops->stream_destroy(stream->device->impl, stream->native);
    free(stream);
}

/* Buffers: allocation, wrapping, views, copies and fills. */
#include <stdlib.h>

#include "internal.h"

static elattn_status new_buffer(elattn_device *device, void *native, size_t bytes, int owned, int is_view,
                                elattn_buffer **buffer)
{
    elattn_buffer *b = calloc(1, sizeof *b);
    if (!b) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "buffer: host allocation failed");
    b->device = device;
    b->native = native;
    b->size = bytes;
    b->owned = owned;
    b->is_view = is_view;
    *buffer = b;
    return ELATTN_SUCCESS;
}

elattn_status elattn_buffer_alloc(elattn_device *device, size_t bytes, elattn_buffer **buffer)
{
    BEGIN();
    REQUIRE(device, "device");
    REQUIRE(buffer, "buffer");
    if (bytes == 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "bytes: 0");
    void *native = NULL;
    CHECK(device->ops->mem_alloc(device->impl, bytes, &native));
    elattn_status st = new_buffer(device, native, bytes, 1, 0, buffer);
    if (st != ELATTN_SUCCESS) device->ops->mem_free(device->impl, native);
    return st;
}

elattn_status elattn_buffer_wrap(elattn_device *device, void *native, size_t bytes, elattn_buffer **buffer)
{
    BEGIN();
    REQUIRE(device, "device");
    REQUIRE(native, "native");
    REQUIRE(buffer, "buffer");
    if (bytes == 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "bytes: 0");
    return new_buffer(device, native, bytes, 0, 0, buffer);
}

elattn_status elattn_check_range_in(const char *name, const elattn_buffer *b, size_t offset, size_t bytes)
{
    /* written so that nothing wraps: offset + bytes may not fit in size_t */
    if (offset > b->size || bytes > b->size - offset)
        return elattn_fail(ELATTN_ERROR_BUFFER_TOO_SMALL, "%s: %zu bytes at offset %zu exceed the buffer's %zu bytes",
                           name, bytes, offset, b->size);
    return ELATTN_SUCCESS;
}

elattn_status elattn_buffer_upload(elattn_buffer *buffer, size_t offset, const void *src, size_t bytes,
                                   elattn_stream *stream)
{
    BEGIN();
    REQUIRE(buffer, "buffer");
    REQUIRE(src, "src");
    void *s;
    CHECK(elattn_stream_native(buffer->device, stream, &s));
    CHECK(elattn_check_range_in("offset/bytes", buffer, offset, bytes));
    if (bytes == 0) return ELATTN_SUCCESS;
    return buffer->device->ops->mem_upload(buffer->device->impl, s, buffer->native, offset, src, bytes);
}

elattn_status elattn_buffer_download(const elattn_buffer *buffer, size_t offset, void *dst, size_t bytes,
                                     elattn_stream *stream)
{
    BEGIN();
    REQUIRE(buffer, "buffer");
    REQUIRE(dst, "dst");
    void *s;
    CHECK(elattn_stream_native(buffer->device, stream, &s));
    CHECK(elattn_check_range_in("offset/bytes", buffer, offset, bytes));
    if (bytes == 0) return ELATTN_SUCCESS;
    return buffer->device->ops->mem_download(buffer->device->impl, s, buffer->native, offset, dst, bytes);
}

size_t elattn_buffer_size(const elattn_buffer *buffer) { return buffer ? buffer->size : 0; }

void *elattn_buffer_native(const elattn_buffer *buffer) { return buffer ? buffer->native : NULL; }

elattn_status elattn_buffer_view(elattn_buffer *parent, size_t offset, size_t bytes, elattn_buffer **view)
{
    BEGIN();
    REQUIRE(parent, "parent");
    REQUIRE(view, "view");
    if (bytes == 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "bytes: 0");
    if (offset % 256 != 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "offset: %zu is not a multiple of 256", offset);
    CHECK(elattn_check_range_in("offset/bytes", parent, offset, bytes));
    void *native = NULL;
    elattn_device *d = parent->device;
    CHECK(d->ops->mem_view(d->impl, parent->native, offset, bytes, &native));
    elattn_status st = new_buffer(d, native, bytes, 0, 1, view);
    if (st != ELATTN_SUCCESS) d->ops->mem_view_release(d->impl, native);
    return st;
}

elattn_status elattn_buffer_copy_2d(elattn_buffer *dst, size_t dst_offset, size_t dst_pitch,
                                    const elattn_buffer *src, size_t src_offset, size_t src_pitch, size_t width,
                                    size_t rows, elattn_stream *stream)
{
    BEGIN();
    REQUIRE(dst, "dst");
    REQUIRE(src, "src");
    if (dst->device != src->device)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "src: belongs to another device than dst");
    if (width > dst_pitch || width > src_pitch)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "width: %zu exceeds a pitch (dst %zu, src %zu)", width,
                           dst_pitch, src_pitch);
    void *s;
    CHECK(elattn_stream_native(dst->device, stream, &s));
    if (rows == 0 || width == 0) return ELATTN_SUCCESS;
    size_t dst_span, src_span;
    if (!elattn_size_rows(rows, dst_pitch, width, &dst_span))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "dst_pitch: (rows - 1) * dst_pitch + width = (%zu - 1) * %zu + %zu does not fit in size_t", rows,
                           dst_pitch, width);
    if (!elattn_size_rows(rows, src_pitch, width, &src_span))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "src_pitch: (rows - 1) * src_pitch + width = (%zu - 1) * %zu + %zu does not fit in size_t", rows,
                           src_pitch, width);
    CHECK(elattn_check_range_in("dst_offset/pitch/rows", dst, dst_offset, dst_span));
    CHECK(elattn_check_range_in("src_offset/pitch/rows", src, src_offset, src_span));
    return dst->device->ops->mem_copy_2d(dst->device->impl, s, dst->native, dst_offset, dst_pitch, src->native,
                                         src_offset, src_pitch, width, rows);
}

elattn_status elattn_buffer_fill(elattn_buffer *buffer, size_t offset, uint8_t value, size_t bytes,
                                 elattn_stream *stream)
{
    BEGIN();
    REQUIRE(buffer, "buffer");
    void *s;
    CHECK(elattn_stream_native(buffer->device, stream, &s));
    CHECK(elattn_check_range_in("offset/bytes", buffer, offset, bytes));
    if (bytes == 0) return ELATTN_SUCCESS;
    return buffer->device->ops->mem_fill(buffer->device->impl, s, buffer->native, offset, value, bytes);
}

void elattn_buffer_free(elattn_buffer *buffer)
{
    if (!buffer) return;
    elattn_device *d = buffer->device;
    if (buffer->is_view) d->ops->mem_view_release(d->impl, buffer->native);
    else if (buffer->owned) d->ops->mem_free(d->impl, buffer->native);
    free(buffer);
}

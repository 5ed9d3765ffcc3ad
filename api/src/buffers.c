/* Buffers: allocation, wrapping, views, copies and fills. */
#include <stdlib.h>

#include "internal.h"

/* A registered buffer holding a device reference; a view (root != NULL) also holds a root reference. */
static elattn_status new_buffer(elattn_device *device, void *native, size_t bytes, int owned, elattn_buffer *root,
                                size_t offset, elattn_buffer **buffer)
{
    elattn_buffer *b = calloc(1, sizeof *b);
    if (!b) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "buffer: host allocation failed");
    b->device = device;
    b->native = native;
    b->size = bytes;
    b->owned = owned;
    b->is_view = root != NULL;
    b->root = root ? root : b;
    b->offset = offset;
    b->refs = 1; /* a root's own handle; unused in views */
    elattn_status st = elattn_handle_add(b, ELATTN_HANDLE_BUFFER);
    if (st != ELATTN_SUCCESS) {
        free(b);
        return st;
    }
    elattn_device_retain(device);
    if (root) elattn_root_retain(root);
    *buffer = b;
    return ELATTN_SUCCESS;
}

static void free_root(elattn_buffer *root)
{
    elattn_device *d = root->device;
    if (root->owned) d->ops->mem_free(d->impl, root->native);
    free(root);
    elattn_device_release(d);
}

elattn_status elattn_buffer_alloc(elattn_device *device, size_t bytes, elattn_buffer **buffer)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(buffer, "buffer");
    if (bytes == 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "bytes: 0");
    void *native = NULL;
    CHECK(device->ops->mem_alloc(device->impl, bytes, &native));
    elattn_status st = new_buffer(device, native, bytes, 1, NULL, 0, buffer);
    if (st != ELATTN_SUCCESS) device->ops->mem_free(device->impl, native);
    return st;
}

elattn_status elattn_buffer_wrap(elattn_device *device, void *native, size_t bytes, elattn_buffer **buffer)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(native, "native");
    REQUIRE(buffer, "buffer");
    if (bytes == 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "bytes: 0");
    if (device->ops->mem_check_wrap) CHECK(device->ops->mem_check_wrap(device->impl, native, bytes));
    return new_buffer(device, native, bytes, 0, NULL, 0, buffer);
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
    HANDLE(buffer, "buffer", ELATTN_HANDLE_BUFFER);
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
    HANDLE(buffer, "buffer", ELATTN_HANDLE_BUFFER);
    REQUIRE(dst, "dst");
    void *s;
    CHECK(elattn_stream_native(buffer->device, stream, &s));
    CHECK(elattn_check_range_in("offset/bytes", buffer, offset, bytes));
    if (bytes == 0) return ELATTN_SUCCESS;
    return buffer->device->ops->mem_download(buffer->device->impl, s, buffer->native, offset, dst, bytes);
}

size_t elattn_buffer_size(const elattn_buffer *buffer)
{
    return elattn_handle_live(buffer, ELATTN_HANDLE_BUFFER) ? buffer->size : 0;
}

void *elattn_buffer_native(const elattn_buffer *buffer)
{
    return elattn_handle_live(buffer, ELATTN_HANDLE_BUFFER) ? buffer->native : NULL;
}

elattn_status elattn_buffer_view(elattn_buffer *parent, size_t offset, size_t bytes, elattn_buffer **view)
{
    BEGIN();
    HANDLE(parent, "parent", ELATTN_HANDLE_BUFFER);
    REQUIRE(view, "view");
    if (bytes == 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "bytes: 0");
    /* a parent starts at a multiple of 256 of its allocation, so this is the rule for the summed offset */
    if (offset % 256 != 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "offset: %zu is not a multiple of 256", offset);
    CHECK(elattn_check_range_in("offset/bytes", parent, offset, bytes));
    /* A view of a view is a view of the root at the summed offset: OpenCL has no sub-buffers of
     * sub-buffers, and a flat view keeps overlap checks to one comparison. */
    elattn_buffer *root = parent->root;
    size_t at;
    if (!elattn_size_add(parent->offset, offset, &at))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "offset: %zu past the parent's offset %zu does not fit in size_t",
                           offset, parent->offset);
    void *native = NULL;
    elattn_device *d = root->device;
    CHECK(d->ops->mem_view(d->impl, root->native, at, bytes, &native));
    elattn_status st = new_buffer(d, native, bytes, 0, root, at, view);
    if (st != ELATTN_SUCCESS) d->ops->mem_view_release(d->impl, native);
    return st;
}

elattn_status elattn_buffer_copy_2d(elattn_buffer *dst, size_t dst_offset, size_t dst_pitch,
                                    const elattn_buffer *src, size_t src_offset, size_t src_pitch, size_t width,
                                    size_t rows, elattn_stream *stream)
{
    BEGIN();
    HANDLE(dst, "dst", ELATTN_HANDLE_BUFFER);
    HANDLE(src, "src", ELATTN_HANDLE_BUFFER);
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
    /* A view goes down as its root plus the view's offset (both ranges were
     * checked inside the view, which lies inside the root): backends then see
     * only allocations and wraps. PoCL 3.1 crashes in clEnqueueCopyBufferRect
     * on sub-buffers, even for one row. */
    return dst->device->ops->mem_copy_2d(dst->device->impl, s, dst->root->native, dst->offset + dst_offset, dst_pitch,
                                         src->root->native, src->offset + src_offset, src_pitch, width, rows);
}

elattn_status elattn_buffer_fill(elattn_buffer *buffer, size_t offset, uint8_t value, size_t bytes,
                                 elattn_stream *stream)
{
    BEGIN();
    HANDLE(buffer, "buffer", ELATTN_HANDLE_BUFFER);
    void *s;
    CHECK(elattn_stream_native(buffer->device, stream, &s));
    CHECK(elattn_check_range_in("offset/bytes", buffer, offset, bytes));
    if (bytes == 0) return ELATTN_SUCCESS;
    return buffer->device->ops->mem_fill(buffer->device->impl, s, buffer->native, offset, value, bytes);
}

/* A view goes at once; a root's memory when its last view is freed too. */
void elattn_buffer_free(elattn_buffer *buffer)
{
    if (!elattn_release_handle("buffer", buffer, ELATTN_HANDLE_BUFFER)) return;
    if (!buffer->is_view) {
        if (elattn_root_release(buffer)) free_root(buffer);
        return;
    }
    elattn_device *d = buffer->device;
    elattn_buffer *root = buffer->root;
    d->ops->mem_view_release(d->impl, buffer->native);
    free(buffer);
    if (elattn_root_release(root)) free_root(root);
    elattn_device_release(d);
}

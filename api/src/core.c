/*
 * The dispatch core: public objects, per-thread errors, and the checks every
 * call passes before a backend sees it (validate.c holds the rules).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elattn_ref.h"
#include "internal.h"

/* ---- errors ------------------------------------------------------------------ */
static _Thread_local char last_error[1024];

elattn_status elattn_fail(elattn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

void elattn_clear_error(void) { last_error[0] = '\0'; }

const char *elattn_last_error(void) { return last_error; }

const char *elattn_status_string(elattn_status status)
{
    switch (status) {
    case ELATTN_SUCCESS: return "success";
    case ELATTN_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case ELATTN_ERROR_UNSUPPORTED: return "unsupported";
    case ELATTN_ERROR_OUT_OF_MEMORY: return "out of memory";
    case ELATTN_ERROR_BUFFER_TOO_SMALL: return "buffer too small";
    case ELATTN_ERROR_NOT_AVAILABLE: return "not available";
    case ELATTN_ERROR_BACKEND: return "backend error";
    case ELATTN_ERROR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

/* Every public entry point starts with BEGIN so that a success leaves no stale message. */
#define BEGIN() elattn_clear_error()
#define CHECK(expr)                                                                                           \
    do {                                                                                                      \
        elattn_status st_ = (expr);                                                                           \
        if (st_ != ELATTN_SUCCESS) return st_;                                                                \
    } while (0)
#define REQUIRE(ptr, name)                                                                                    \
    do {                                                                                                      \
        if (!(ptr)) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: NULL", name);                     \
    } while (0)

/* ---- version, names ------------------------------------------------------------ */
void elattn_version(int *major, int *minor, int *patch)
{
    if (major) *major = ELATTN_VERSION_MAJOR;
    if (minor) *minor = ELATTN_VERSION_MINOR;
    if (patch) *patch = ELATTN_VERSION_PATCH;
}

const char *elattn_version_string(void) { return ELATTN_VERSION_STRING; }

size_t elattn_dtype_size(elattn_dtype dtype)
{
    switch (dtype) {
    case ELATTN_F32: return 4;
    case ELATTN_F16: return 2;
    case ELATTN_BF16: return 2;
    }
    return 0;
}

const char *elattn_dtype_name(elattn_dtype dtype)
{
    switch (dtype) {
    case ELATTN_F32: return "f32";
    case ELATTN_F16: return "f16";
    case ELATTN_BF16: return "bf16";
    }
    return "unknown";
}

const char *elattn_mode_name(elattn_mode mode)
{
    switch (mode) {
    case ELATTN_FULL: return "full";
    case ELATTN_STREAMING: return "streaming";
    case ELATTN_BLOCK_SPARSE: return "block_sparse";
    }
    return "unknown";
}

const char *elattn_backend_name(elattn_backend backend)
{
    switch (backend) {
    case ELATTN_BACKEND_REFERENCE: return "reference";
    case ELATTN_BACKEND_CUDA: return "cuda";
    case ELATTN_BACKEND_HIP: return "hip";
    case ELATTN_BACKEND_OPENCL: return "opencl";
    }
    return "unknown";
}

/* ---- devices --------------------------------------------------------------------- */
elattn_status elattn_device_count(int *count)
{
    BEGIN();
    REQUIRE(count, "count");
    *count = elattn_registry_count();
    return ELATTN_SUCCESS;
}

elattn_status elattn_device_get_info(int index, elattn_device_info *info)
{
    BEGIN();
    REQUIRE(info, "info");
    const elattn_device_info *found = elattn_registry_info(index);
    if (!found)
        return elattn_fail(ELATTN_ERROR_NOT_AVAILABLE, "index: no device %d (%d devices)", index,
                           elattn_registry_count());
    *info = *found;
    return ELATTN_SUCCESS;
}

elattn_status elattn_device_open(int index, elattn_device **device)
{
    BEGIN();
    REQUIRE(device, "device");
    const elattn_backend_ops *ops = elattn_registry_ops(index);
    if (!ops)
        return elattn_fail(ELATTN_ERROR_NOT_AVAILABLE, "index: no device %d (%d devices)", index,
                           elattn_registry_count());
    elattn_device *d = calloc(1, sizeof *d);
    if (!d) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "device: host allocation failed");
    d->ops = ops;
    d->info = *elattn_registry_info(index);
    elattn_status st = ops->open(d->info.backend_index, &d->impl);
    if (st != ELATTN_SUCCESS) {
        free(d);
        return st;
    }
    *device = d;
    return ELATTN_SUCCESS;
}

/* "auto": CUDA, HIP, OpenCL GPUs, other OpenCL devices, the reference. */
static int auto_rank(const elattn_device_info *info)
{
    switch (info->backend) {
    case ELATTN_BACKEND_CUDA: return 0;
    case ELATTN_BACKEND_HIP: return 1;
    case ELATTN_BACKEND_OPENCL: return info->is_gpu ? 2 : 3;
    case ELATTN_BACKEND_REFERENCE: return 4;
    }
    return 5;
}

elattn_status elattn_device_open_by_name(const char *name, elattn_device **device)
{
    BEGIN();
    REQUIRE(name, "name");
    REQUIRE(device, "device");
    int n = elattn_registry_count(), best = -1;
    for (int i = 0; i < n; ++i) {
        const elattn_device_info *info = elattn_registry_info(i);
        if (strcmp(name, "auto") == 0) {
            if (best < 0 || auto_rank(info) < auto_rank(elattn_registry_info(best))) best = i;
        } else if (strcmp(name, info->id) == 0 || strcmp(name, elattn_backend_name(info->backend)) == 0) {
            best = i;
            break;
        }
    }
    if (best < 0)
        return elattn_fail(ELATTN_ERROR_NOT_AVAILABLE,
                           "name: no device \"%s\" here (try \"auto\", \"reference\", a backend name or an id "
                           "such as \"cuda:0\")",
                           name);
    return elattn_device_open(best, device);
}

elattn_status elattn_device_info_of(const elattn_device *device, elattn_device_info *info)
{
    BEGIN();
    REQUIRE(device, "device");
    REQUIRE(info, "info");
    *info = device->info;
    return ELATTN_SUCCESS;
}

void elattn_device_close(elattn_device *device)
{
    if (!device) return;
    device->ops->close(device->impl);
    free(device);
}

/* ---- streams ----------------------------------------------------------------------- */
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
static elattn_status stream_of(const elattn_device *device, const elattn_stream *s, void **native)
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

/* ---- buffers ------------------------------------------------------------------------- */
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

static elattn_status check_range_in(const char *name, const elattn_buffer *b, size_t offset, size_t bytes)
{
    if (offset > b->size || bytes > b->size - offset)
        return elattn_fail(ELATTN_ERROR_BUFFER_TOO_SMALL, "%s: range [%zu, %zu) exceeds the buffer's %zu bytes",
                           name, offset, offset + bytes, b->size);
    return ELATTN_SUCCESS;
}

elattn_status elattn_buffer_upload(elattn_buffer *buffer, size_t offset, const void *src, size_t bytes,
                                   elattn_stream *stream)
{
    BEGIN();
    REQUIRE(buffer, "buffer");
    REQUIRE(src, "src");
    void *s;
    CHECK(stream_of(buffer->device, stream, &s));
    CHECK(check_range_in("offset/bytes", buffer, offset, bytes));
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
    CHECK(stream_of(buffer->device, stream, &s));
    CHECK(check_range_in("offset/bytes", buffer, offset, bytes));
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
    CHECK(check_range_in("offset/bytes", parent, offset, bytes));
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
    CHECK(stream_of(dst->device, stream, &s));
    if (rows == 0 || width == 0) return ELATTN_SUCCESS;
    CHECK(check_range_in("dst_offset/pitch/rows", dst, dst_offset, (rows - 1) * dst_pitch + width));
    CHECK(check_range_in("src_offset/pitch/rows", src, src_offset, (rows - 1) * src_pitch + width));
    return dst->device->ops->mem_copy_2d(dst->device->impl, s, dst->native, dst_offset, dst_pitch, src->native,
                                         src_offset, src_pitch, width, rows);
}

elattn_status elattn_buffer_fill(elattn_buffer *buffer, size_t offset, uint8_t value, size_t bytes,
                                 elattn_stream *stream)
{
    BEGIN();
    REQUIRE(buffer, "buffer");
    void *s;
    CHECK(stream_of(buffer->device, stream, &s));
    CHECK(check_range_in("offset/bytes", buffer, offset, bytes));
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

/* ---- events ---------------------------------------------------------------------------- */
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
    CHECK(stream_of(event->device, stream, &s));
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

/* ---- plans: shared helpers --------------------------------------------------------------- */
static const elattn_plan_options no_options;

static const char *kernel_name_of(const elattn_backend_plan *p) { return p->kernel_name ? p->kernel_name : ""; }

static void *native_or_null(const elattn_buffer *b) { return b ? b->native : NULL; }

/* Every run checks its workspace against the plan's need and hands the backend whatever it was given. */
static elattn_status take_workspace(const elattn_buffer *ws, const elattn_device *device, size_t need, void **native,
                                    size_t *bytes)
{
    if (need > 0) CHECK(elattn_check_buffer("args.workspace", ws, device, need, 1));
    *native = native_or_null(ws);
    *bytes = ws ? ws->size : 0;
    return ELATTN_SUCCESS;
}

/* attn_run and xattn_run read the same two sequence-length arrays; the check also yields the token totals. */
static elattn_status check_seqlens_q_k(const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k, int batch,
                                       int max_seqlen_q, int max_seqlen_k, int *total_q, int *total_k)
{
    CHECK(elattn_check_cu_seqlens("args.cu_seqlens_q", cu_seqlens_q, batch, max_seqlen_q, 0, total_q));
    return elattn_check_cu_seqlens("args.cu_seqlens_k", cu_seqlens_k, batch, max_seqlen_k, 0, total_k);
}

/* ---- hybrid attention ---------------------------------------------------------------------- */
size_t elattn_block_mask_bytes(const elattn_attn_desc *desc)
{
    if (!desc || desc->block_size <= 0 || desc->max_seqlen_q <= 0 || desc->max_seqlen_k <= 0) return 0;
    return elattn_mask_bytes(desc->batch, desc->num_kv_heads, desc->max_seqlen_q, desc->max_seqlen_k,
                             desc->block_size);
}

elattn_status elattn_attn_plan_create(elattn_device *device, const elattn_attn_desc *desc,
                                      const elattn_plan_options *options, elattn_attn_plan **plan)
{
    BEGIN();
    REQUIRE(device, "device");
    REQUIRE(plan, "plan");
    elattn_attn_desc n;
    CHECK(elattn_check_attn_desc(desc, &n));
    elattn_attn_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    p->device = device;
    p->desc = n;
    elattn_status st = device->ops->attn_plan(device->impl, &p->desc, options ? options : &no_options, &p->backend);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    *plan = p;
    return ELATTN_SUCCESS;
}

const char *elattn_attn_plan_kernel_name(const elattn_attn_plan *plan)
{
    return plan ? kernel_name_of(&plan->backend) : "";
}

size_t elattn_attn_plan_workspace_size(const elattn_attn_plan *plan)
{
    return plan ? plan->backend.workspace_bytes : 0;
}

elattn_status elattn_attn_run(const elattn_attn_plan *plan, elattn_stream *stream, const elattn_attn_args *args)
{
    BEGIN();
    REQUIRE(plan, "plan");
    REQUIRE(args, "args");
    const elattn_attn_desc *d = &plan->desc;
    elattn_device *dev = plan->device;
    elattn_attn_call call;
    memset(&call, 0, sizeof call);
    call.desc = d;
    elattn_fill_attn_params(d, &call.params);
    void *s;
    CHECK(stream_of(dev, stream, &s));
    CHECK(check_seqlens_q_k(args->cu_seqlens_q, args->cu_seqlens_k, d->batch, d->max_seqlen_q, d->max_seqlen_k,
                            &call.total_q, &call.total_k));
    CHECK(elattn_check_modes("args.modes", args->modes, d->batch * d->num_kv_heads, call.mode_counts));
    size_t es = elattn_dtype_size(d->dtype);
    size_t q_bytes = (size_t)call.total_q * d->num_q_heads * d->head_dim * es;
    size_t kv_bytes = (size_t)call.total_k * d->num_kv_heads * d->head_dim * es;
    CHECK(elattn_check_buffer("args.q", args->q, dev, q_bytes, 1));
    CHECK(elattn_check_buffer("args.k", args->k, dev, kv_bytes, 1));
    CHECK(elattn_check_buffer("args.v", args->v, dev, kv_bytes, 1));
    CHECK(elattn_check_buffer("args.o", args->o, dev, q_bytes, 1));
    if (args->o == args->q || args->o == args->k || args->o == args->v)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.o: must not be the same buffer as q, k or v");
    if (d->write_lse) {
        CHECK(elattn_check_buffer("args.lse", args->lse, dev, (size_t)call.total_q * d->num_q_heads * 4, 1));
    } else if (args->lse) {
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.lse: given, but desc.write_lse is 0");
    }
    int need_mask = call.mode_counts[ELATTN_MODE_BLOCK_SPARSE] > 0;
    CHECK(elattn_check_buffer(need_mask ? "args.block_mask (some head is BLOCK_SPARSE)" : "args.block_mask",
                              args->block_mask, dev, elattn_block_mask_bytes(d), need_mask));
    CHECK(take_workspace(args->workspace, dev, plan->backend.workspace_bytes, &call.workspace, &call.workspace_bytes));
    call.q = args->q->native;
    call.k = args->k->native;
    call.v = args->v->native;
    call.o = args->o->native;
    call.lse = d->write_lse ? args->lse->native : NULL;
    call.block_mask = need_mask ? args->block_mask->native : NULL;
    call.cu_seqlens_q = args->cu_seqlens_q;
    call.cu_seqlens_k = args->cu_seqlens_k;
    call.modes = args->modes;
    return dev->ops->attn_run(dev->impl, plan->backend.impl, s, &call);
}

void elattn_attn_plan_destroy(elattn_attn_plan *plan)
{
    if (!plan) return;
    plan->device->ops->attn_plan_destroy(plan->device->impl, plan->backend.impl);
    free(plan);
}

/* ---- XAttention ------------------------------------------------------------------------------ */
elattn_status elattn_xattn_plan_create(elattn_device *device, const elattn_xattn_desc *desc,
                                       const elattn_plan_options *options, elattn_xattn_plan **plan)
{
    BEGIN();
    REQUIRE(device, "device");
    REQUIRE(plan, "plan");
    elattn_xattn_desc n;
    CHECK(elattn_check_xattn_desc(desc, &n));
    elattn_xattn_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    p->device = device;
    p->desc = n;
    elattn_status st =
        device->ops->xattn_plan(device->impl, &p->desc, options ? options : &no_options, &p->backend);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    *plan = p;
    return ELATTN_SUCCESS;
}

const char *elattn_xattn_plan_kernel_name(const elattn_xattn_plan *plan)
{
    return plan ? kernel_name_of(&plan->backend) : "";
}

size_t elattn_xattn_plan_workspace_size(const elattn_xattn_plan *plan)
{
    return plan ? plan->backend.workspace_bytes : 0;
}

elattn_status elattn_xattn_run(const elattn_xattn_plan *plan, elattn_stream *stream, const elattn_xattn_args *args)
{
    BEGIN();
    REQUIRE(plan, "plan");
    REQUIRE(args, "args");
    const elattn_xattn_desc *d = &plan->desc;
    elattn_device *dev = plan->device;
    elattn_xattn_call call;
    memset(&call, 0, sizeof call);
    call.desc = d;
    void *s;
    CHECK(stream_of(dev, stream, &s));
    CHECK(check_seqlens_q_k(args->cu_seqlens_q, args->cu_seqlens_k, d->batch, d->max_seqlen_q, d->max_seqlen_k,
                            &call.total_q, &call.total_k));
    int entries = d->batch * d->num_kv_heads, counts[ELATTN_MODE_COUNT];
    if (args->modes) CHECK(elattn_check_modes("args.modes", args->modes, entries, counts));
    REQUIRE(args->thresholds, "args.thresholds");
    if (args->num_thresholds != 1 && args->num_thresholds != d->num_kv_heads)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.num_thresholds: %d must be 1 or num_kv_heads (%d)",
                           args->num_thresholds, d->num_kv_heads);
    for (int i = 0; i < args->num_thresholds; ++i) {
        float t = args->thresholds[i];
        if (!(t > 0.0f && t <= 1.0f))
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.thresholds[%d]: %g is outside (0, 1]", i,
                               (double)t);
    }
    size_t es = elattn_dtype_size(d->dtype);
    CHECK(elattn_check_buffer("args.q", args->q, dev, (size_t)call.total_q * d->num_q_heads * d->head_dim * es, 1));
    CHECK(elattn_check_buffer("args.k", args->k, dev, (size_t)call.total_k * d->num_kv_heads * d->head_dim * es, 1));
    size_t mask_bytes = elattn_mask_bytes(d->batch, d->num_kv_heads, d->max_seqlen_q, d->max_seqlen_k, d->block_size);
    CHECK(elattn_check_buffer("args.block_mask", args->block_mask, dev, mask_bytes, 1));
    CHECK(take_workspace(args->workspace, dev, plan->backend.workspace_bytes, &call.workspace, &call.workspace_bytes));

    /* Host copies the backend reads: every head selected when modes is NULL, one tau per head. */
    int32_t *modes = NULL;
    float *taus = malloc(sizeof(float) * d->num_kv_heads);
    if (!args->modes) modes = malloc(sizeof(int32_t) * entries);
    if (!taus || (!args->modes && !modes)) {
        free(taus);
        free(modes);
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "xattn: host allocation failed");
    }
    for (int h = 0; h < d->num_kv_heads; ++h)
        taus[h] = args->thresholds[args->num_thresholds == 1 ? 0 : h];
    for (int i = 0; modes && i < entries; ++i) modes[i] = ELATTN_MODE_BLOCK_SPARSE;
    call.q = args->q->native;
    call.k = args->k->native;
    call.block_mask = args->block_mask->native;
    call.cu_seqlens_q = args->cu_seqlens_q;
    call.cu_seqlens_k = args->cu_seqlens_k;
    call.modes = args->modes ? args->modes : modes;
    call.thresholds = taus;
    call.mask_qblocks = (d->max_seqlen_q + d->block_size - 1) / d->block_size;
    call.mask_kblocks = (d->max_seqlen_k + d->block_size - 1) / d->block_size;
    elattn_status st = dev->ops->xattn_run(dev->impl, plan->backend.impl, s, &call);
    free(taus);
    free(modes);
    return st;
}

void elattn_xattn_plan_destroy(elattn_xattn_plan *plan)
{
    if (!plan) return;
    plan->device->ops->xattn_plan_destroy(plan->device->impl, plan->backend.impl);
    free(plan);
}

/* ---- router ------------------------------------------------------------------------------------ */
elattn_status elattn_router_plan_create(elattn_device *device, const elattn_router_desc *desc,
                                        const elattn_plan_options *options, elattn_router_plan **plan)
{
    BEGIN();
    REQUIRE(device, "device");
    REQUIRE(plan, "plan");
    CHECK(elattn_check_router_desc(desc));
    elattn_router_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    p->device = device;
    p->desc = *desc;
    elattn_status st =
        device->ops->router_plan(device->impl, &p->desc, options ? options : &no_options, &p->backend);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    *plan = p;
    return ELATTN_SUCCESS;
}

const char *elattn_router_plan_kernel_name(const elattn_router_plan *plan)
{
    return plan ? kernel_name_of(&plan->backend) : "";
}

size_t elattn_router_plan_workspace_size(const elattn_router_plan *plan)
{
    return plan ? plan->backend.workspace_bytes : 0;
}

elattn_status elattn_router_run(const elattn_router_plan *plan, elattn_stream *stream,
                                const elattn_router_args *args)
{
    BEGIN();
    REQUIRE(plan, "plan");
    REQUIRE(args, "args");
    const elattn_router_desc *d = &plan->desc;
    elattn_device *dev = plan->device;
    elattn_router_call call;
    memset(&call, 0, sizeof call);
    call.desc = d;
    void *s;
    CHECK(stream_of(dev, stream, &s));
    /* Pooling a sequence of no tokens has no meaning: every element needs one. */
    CHECK(elattn_check_cu_seqlens("args.cu_seqlens", args->cu_seqlens, d->batch, d->max_seqlen, 1, &call.total));
    REQUIRE(args->modes, "args.modes");
    size_t es = elattn_dtype_size(d->key_dtype), D = (size_t)d->head_dim, H = (size_t)d->hidden;
    CHECK(elattn_check_buffer("args.keys", args->keys, dev, (size_t)call.total * d->num_kv_heads * D * es, 1));
    const elattn_router_weights *w = &args->weights;
    struct {
        const char *name;
        const elattn_buffer *buf;
        size_t floats;
        void **dst;
    } weights[] = {
        {"args.weights.task_w1", w->task_w1, H * D, &call.task_w1},
        {"args.weights.task_b1", w->task_b1, H, &call.task_b1},
        {"args.weights.task_w2", w->task_w2, D * H, &call.task_w2},
        {"args.weights.task_b2", w->task_b2, D, &call.task_b2},
        {"args.weights.head_w1", w->head_w1, H * D, &call.head_w1},
        {"args.weights.head_b1", w->head_b1, H, &call.head_b1},
        {"args.weights.head_w2", w->head_w2, D * H, &call.head_w2},
        {"args.weights.head_b2", w->head_b2, D, &call.head_b2},
        {"args.weights.head_w3", w->head_w3, 2 * D, &call.head_w3},
        {"args.weights.head_b3", w->head_b3, 2, &call.head_b3},
    };
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; ++i) {
        CHECK(elattn_check_buffer(weights[i].name, weights[i].buf, dev, weights[i].floats * 4, 1));
        *weights[i].dst = weights[i].buf->native;
    }
    CHECK(elattn_check_buffer("args.logits", args->logits, dev, (size_t)d->batch * d->num_kv_heads * 2 * 4, 0));
    CHECK(take_workspace(args->workspace, dev, plan->backend.workspace_bytes, &call.workspace, &call.workspace_bytes));
    call.keys = args->keys->native;
    call.logits = native_or_null(args->logits);
    call.modes = args->modes;
    call.cu_seqlens = args->cu_seqlens;
    return dev->ops->router_run(dev->impl, plan->backend.impl, s, &call);
}

void elattn_router_plan_destroy(elattn_router_plan *plan)
{
    if (!plan) return;
    plan->device->ops->router_plan_destroy(plan->device->impl, plan->backend.impl);
    free(plan);
}

/* ---- sparsity metrics ---------------------------------------------------------------------------- */
elattn_status elattn_sparsity_of_call(const elattn_attn_desc *desc, const int32_t *cu_seqlens_q,
                                      const int32_t *cu_seqlens_k, const int32_t *modes,
                                      const uint8_t *block_mask_host, elattn_sparsity *out)
{
    BEGIN();
    REQUIRE(out, "out");
    elattn_attn_desc n;
    int total_q, total_k, counts[ELATTN_MODE_COUNT];
    CHECK(elattn_check_attn_desc(desc, &n));
    CHECK(elattn_check_cu_seqlens("cu_seqlens_q", cu_seqlens_q, n.batch, n.max_seqlen_q, 0, &total_q));
    CHECK(elattn_check_cu_seqlens("cu_seqlens_k", cu_seqlens_k, n.batch, n.max_seqlen_k, 0, &total_k));
    CHECK(elattn_check_modes("modes", modes, n.batch * n.num_kv_heads, counts));
    if (counts[ELATTN_MODE_BLOCK_SPARSE] > 0 && !block_mask_host)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "block_mask_host: NULL, but some head is BLOCK_SPARSE");
    return elattn_ref_sparsity(&n, cu_seqlens_q, cu_seqlens_k, modes, block_mask_host, out);
}

void elattn_sparsity_merge(elattn_sparsity *acc, const elattn_sparsity *one)
{
    if (!acc || !one) return;
    acc->entries += one->entries;
    acc->sparse_entries += one->sparse_entries;
    acc->rho_sum += one->rho_sum;
    acc->omega_msr = acc->entries ? (double)acc->sparse_entries / (double)acc->entries : 0.0;
    acc->omega_esr = acc->entries ? acc->rho_sum / (double)acc->entries : 0.0;
}

/* ---- conversions ------------------------------------------------------------------------------------ */
elattn_status elattn_convert(elattn_dtype dst_dtype, void *dst, elattn_dtype src_dtype, const void *src, size_t n)
{
    BEGIN();
    if (elattn_dtype_size(dst_dtype) == 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "dst_dtype: %d is not an elattn_dtype", (int)dst_dtype);
    if (elattn_dtype_size(src_dtype) == 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "src_dtype: %d is not an elattn_dtype", (int)src_dtype);
    if (n == 0) return ELATTN_SUCCESS;
    REQUIRE(dst, "dst");
    REQUIRE(src, "src");
    for (size_t i = 0; i < n; ++i) elattn_ref_store(dst_dtype, dst, i, elattn_ref_load(src_dtype, src, i));
    return ELATTN_SUCCESS;
}

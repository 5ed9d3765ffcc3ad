/*
 * The OpenCL backend: every device of every platform, in-order command queues
 * with profiling as streams, cl_mem buffers (views are sub-buffers), marker
 * events, and the three operations (opencl_attn.c, opencl_xattn.c,
 * opencl_router.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_internal.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

/* The backend_index-th device over all platforms (platform order, then device order). */
typedef struct found_device {
    cl_platform_id platform;
    cl_device_id device;
} found_device;

static int list_devices(found_device *out, int max)
{
    cl_uint np = 0;
    cl_platform_id platforms[MAX_PLATFORMS];
    if (clGetPlatformIDs(MAX_PLATFORMS, platforms, &np) != CL_SUCCESS) return 0; /* no ICD: no devices */
    if (np > MAX_PLATFORMS) np = MAX_PLATFORMS;
    int n = 0;
    for (cl_uint p = 0; p < np; ++p) {
        cl_uint nd = 0;
        cl_device_id devices[MAX_DEVICES];
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devices, &nd) != CL_SUCCESS) continue;
        if (nd > MAX_DEVICES) nd = MAX_DEVICES;
        for (cl_uint d = 0; d < nd && n < max; ++d) {
            out[n].platform = platforms[p];
            out[n].device = devices[d];
            ++n;
        }
    }
    return n;
}

static void device_string(cl_device_id d, cl_device_info what, char *buf, size_t size)
{
    buf[0] = '\0';
    if (clGetDeviceInfo(d, what, size, buf, NULL) != CL_SUCCESS) buf[0] = '\0';
    buf[size - 1] = '\0';
}

static void fill_info(const found_device *f, int index, elattn_device_info *info)
{
    ocl_caps caps;
    ocl_query_caps(f->device, &caps);
    char platform[256] = "", text[256];
    clGetPlatformInfo(f->platform, CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL);
    device_string(f->device, CL_DEVICE_NAME, info->name, sizeof info->name);

    if (strstr(platform, "Portable Computing Language")) snprintf(info->vendor, sizeof info->vendor, "PoCL");
    else if (caps.cls == OCL_CLASS_NVIDIA) snprintf(info->vendor, sizeof info->vendor, "NVIDIA");
    else if (caps.cls == OCL_CLASS_AMD) snprintf(info->vendor, sizeof info->vendor, "AMD");
    else if (caps.cls == OCL_CLASS_INTEL) snprintf(info->vendor, sizeof info->vendor, "Intel");
    else device_string(f->device, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);

    if (caps.nv_cc_major > 0) {
        snprintf(info->arch, sizeof info->arch, "sm_%d%d", caps.nv_cc_major, caps.nv_cc_minor);
    } else if (caps.cls == OCL_CLASS_AMD && strncmp(info->name, "gfx", 3) == 0) {
        snprintf(info->arch, sizeof info->arch, "%.*s", (int)strcspn(info->name, ":"), info->name);
    } else {
        /* "OpenCL 3.0 <vendor text>": the first two words */
        device_string(f->device, CL_DEVICE_VERSION, text, sizeof text);
        size_t first = strcspn(text, " ");
        size_t two = first + (text[first] ? 1 + strcspn(text + first + 1, " ") : 0);
        snprintf(info->arch, sizeof info->arch, "%.*s", (int)two, text);
    }
    snprintf(info->id, sizeof info->id, "opencl:%d", index);

    cl_ulong mem = 0;
    cl_uint units = 0;
    cl_device_type type = 0;
    clGetDeviceInfo(f->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(f->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(f->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    info->memory_bytes = (uint64_t)mem;
    info->compute_units = (int)units;
    info->wave_size = caps.warp_width > 0 ? caps.warp_width : 1; /* unknown without a vendor query: say 1 */
    info->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    info->caps = ELATTN_CAP_FP16 | ELATTN_CAP_BF16; /* storage; arithmetic is fp32 but on matrix units */
    if (ocl_attn_matrix_units(&caps)) info->caps |= ELATTN_CAP_MATRIX_UNITS;
    if (ocl_attn_head_dim_256_ok(&caps)) info->caps |= ELATTN_CAP_HEAD_DIM_256;
}

static int ocl_enumerate(elattn_device_info *infos, int max)
{
    found_device found[MAX_DEVICES];
    int n = list_devices(found, MAX_DEVICES);
    for (int i = 0; i < n && i < max; ++i) fill_info(&found[i], i, &infos[i]);
    return n;
}

/* A device on `context` (retained here) with `queue` (retained; NULL: a new
 * in-order queue with profiling) as its default stream. */
static elattn_status new_device(const found_device *f, cl_context context, cl_command_queue queue, void **out)
{
    ocl_class forced;
    int forced_wave;
    if (ocl_forced_class(&forced, &forced_wave) < 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "opencl: ELATTN_OPENCL_DEVICE_CLASS=\"%s\": expected amd, amd:64, amd:32, intel or other "
                           "(testing only)",
                           getenv("ELATTN_OPENCL_DEVICE_CLASS"));
    ocl_device *dev = calloc(1, sizeof *dev);
    if (!dev) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (device)");
    dev->platform = f->platform;
    dev->device = f->device;
    ocl_query_caps(dev->device, &dev->caps);
    if (clGetDeviceInfo(dev->device, CL_DEVICE_NAME, sizeof dev->label - 1, dev->label, NULL) != CL_SUCCESS)
        snprintf(dev->label, sizeof dev->label, "opencl device");
    cl_int err = CL_SUCCESS;
    if (queue) err = clRetainCommandQueue(queue);
    else queue = clCreateCommandQueue(context, dev->device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS) {
        free(dev);
        return ocl_fail(err, "clCreateCommandQueue", "default stream");
    }
    if (pthread_mutex_init(&dev->programs_lock, NULL) != 0) {
        clReleaseCommandQueue(queue);
        free(dev);
        return elattn_fail(ELATTN_ERROR_INTERNAL, "opencl: pthread_mutex_init failed");
    }
    clRetainContext(context);
    dev->context = context;
    dev->queue = queue;
    *out = dev;
    return ELATTN_SUCCESS;
}

static elattn_status ocl_open(int backend_index, void **out)
{
    found_device found[MAX_DEVICES];
    int n = list_devices(found, MAX_DEVICES);
    if (backend_index < 0 || backend_index >= n)
        return elattn_fail(ELATTN_ERROR_NOT_AVAILABLE, "opencl: no device %d (%d found)", backend_index, n);
    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)found[backend_index].platform, 0};
    cl_context context = clCreateContext(props, 1, &found[backend_index].device, NULL, NULL, &err);
    if (err != CL_SUCCESS) return ocl_fail(err, "clCreateContext", NULL);
    elattn_status st = new_device(&found[backend_index], context, NULL, out);
    clReleaseContext(context); /* the device holds its own reference */
    return st;
}

/* ---- interop: the engine's context, device and queues ---------------------------------- */
/* `queue` (named `name` in messages) belongs to `context` and `device` and runs in order. */
static elattn_status check_queue(const char *name, cl_command_queue queue, cl_context context, cl_device_id device)
{
    cl_context qc = NULL;
    cl_device_id qd = NULL;
    cl_command_queue_properties props = 0;
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qc, &qc, NULL);
    if (err != CL_SUCCESS)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: not a cl_command_queue (%s)", name, ocl_error_name(err));
    clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof qd, &qd, NULL);
    clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (qc != context)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "%s: the cl_command_queue belongs to another cl_context than the device's (make the device "
                           "of the engine's context with elattn_device_from_opencl)",
                           name);
    if (qd != device)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: the cl_command_queue is of another cl_device_id", name);
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "%s: the cl_command_queue executes out of order (elattn's calls need an in-order queue)",
                           name);
    return ELATTN_SUCCESS;
}

static elattn_status ocl_open_native(const elattn_native_handles *native, void **out, elattn_device_info *info)
{
    cl_context context = native->context;
    cl_device_id device = native->device;
    cl_uint ndev = 0;
    cl_int err = clGetContextInfo(context, CL_CONTEXT_NUM_DEVICES, sizeof ndev, &ndev, NULL);
    if (err != CL_SUCCESS)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "cl_context: not a cl_context (%s)", ocl_error_name(err));
    cl_device_id devices[MAX_DEVICES];
    if (ndev > MAX_DEVICES) ndev = MAX_DEVICES;
    int in_context = 0;
    if (clGetContextInfo(context, CL_CONTEXT_DEVICES, ndev * sizeof devices[0], devices, NULL) == CL_SUCCESS)
        for (cl_uint i = 0; i < ndev; ++i) in_context |= devices[i] == device;
    if (!in_context)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "cl_device_id: not a device of the cl_context");
    found_device f = {NULL, device};
    err = clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof f.platform, &f.platform, NULL);
    if (err != CL_SUCCESS)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "cl_device_id: not a cl_device_id (%s)", ocl_error_name(err));
    if (native->default_stream) {
        elattn_status st = check_queue("cl_command_queue", native->default_stream, context, device);
        if (st != ELATTN_SUCCESS) return st;
    }

    /* its index among the devices elattn lists, when it is one of them (not a sub-device) */
    found_device found[MAX_DEVICES];
    int n = list_devices(found, MAX_DEVICES), index = -1;
    for (int i = 0; i < n && index < 0; ++i)
        if (found[i].device == device) index = i;
    fill_info(&f, index, info);
    info->backend_index = index;
    if (index < 0) snprintf(info->id, sizeof info->id, "opencl:engine");
    return new_device(&f, context, native->default_stream, out);
}

static void ocl_native_handles(void *d, elattn_native_handles *out)
{
    ocl_device *dev = d;
    out->context = dev->context;
    out->device = dev->device;
    out->default_stream = dev->queue;
}

static elattn_status ocl_stream_check_wrap(void *d, void *stream)
{
    ocl_device *dev = d;
    return check_queue("native", stream, dev->context, dev->device);
}

static elattn_status ocl_mem_check_wrap(void *d, void *mem, size_t bytes)
{
    ocl_device *dev = d;
    cl_context context = NULL;
    size_t size = 0;
    cl_int err = clGetMemObjectInfo((cl_mem)mem, CL_MEM_CONTEXT, sizeof context, &context, NULL);
    if (err != CL_SUCCESS)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "native: not a cl_mem (%s)", ocl_error_name(err));
    if (context != dev->context)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "native: the cl_mem belongs to another cl_context than the device's (make the device of "
                           "the engine's context with elattn_device_from_opencl)");
    OCL_CHECK(clGetMemObjectInfo((cl_mem)mem, CL_MEM_SIZE, sizeof size, &size, NULL), "CL_MEM_SIZE");
    if (size < bytes)
        return elattn_fail(ELATTN_ERROR_BUFFER_TOO_SMALL, "bytes: %zu, but the cl_mem has %zu (CL_MEM_SIZE)", bytes,
                           size);
    return ELATTN_SUCCESS;
}

static int ocl_stream_timing(void *d, void *stream, const char **why)
{
    cl_command_queue_properties props = 0;
    clGetCommandQueueInfo(ocl_queue(d, stream), CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (props & CL_QUEUE_PROFILING_ENABLE) return 1;
    *why = "it was recorded on a cl_command_queue made without CL_QUEUE_PROFILING_ENABLE";
    return 0;
}

static void ocl_close(void *d)
{
    ocl_device *dev = d;
    if (!dev) return;
    clFinish(dev->queue);
    ocl_release_programs(dev);
    pthread_mutex_destroy(&dev->programs_lock);
    clReleaseCommandQueue(dev->queue);
    clReleaseContext(dev->context);
    free(dev);
}

/* ---- streams ----------------------------------------------------------------------- */
static elattn_status ocl_stream_create(void *d, void **stream)
{
    ocl_device *dev = d;
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(dev->context, dev->device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS) return ocl_fail(err, "clCreateCommandQueue", NULL);
    *stream = q;
    return ELATTN_SUCCESS;
}

static void ocl_stream_destroy(void *d, void *stream)
{
    (void)d;
    if (!stream) return;
    clFinish((cl_command_queue)stream);
    clReleaseCommandQueue((cl_command_queue)stream);
}

static elattn_status ocl_stream_sync(void *d, void *stream)
{
    OCL_CHECK(clFinish(ocl_queue(d, stream)), NULL);
    return ELATTN_SUCCESS;
}

/* ---- memory ------------------------------------------------------------------------ */
static elattn_status ocl_mem_alloc(void *d, size_t bytes, void **mem)
{
    ocl_device *dev = d;
    cl_int err;
    cl_mem m = clCreateBuffer(dev->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_HOST_MEMORY || err == CL_INVALID_BUFFER_SIZE)
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: clCreateBuffer of %zu bytes failed with %s", bytes,
                           ocl_error_name(err));
    if (err != CL_SUCCESS) return ocl_fail(err, "clCreateBuffer", NULL);
    *mem = m;
    return ELATTN_SUCCESS;
}

static void ocl_mem_free(void *d, void *mem)
{
    (void)d;
    if (mem) clReleaseMemObject((cl_mem)mem);
}

static elattn_status ocl_mem_upload(void *d, void *stream, void *mem, size_t offset, const void *src, size_t bytes)
{
    OCL_CHECK(clEnqueueWriteBuffer(ocl_queue(d, stream), (cl_mem)mem, CL_TRUE, offset, bytes, src, 0, NULL, NULL),
              "upload");
    return ELATTN_SUCCESS;
}

static elattn_status ocl_mem_download(void *d, void *stream, const void *mem, size_t offset, void *dst,
                                      size_t bytes)
{
    OCL_CHECK(clEnqueueReadBuffer(ocl_queue(d, stream), (cl_mem)mem, CL_TRUE, offset, bytes, dst, 0, NULL, NULL),
              "download");
    return ELATTN_SUCCESS;
}

static elattn_status ocl_mem_view(void *d, void *mem, size_t offset, size_t bytes, void **view)
{
    ocl_device *dev = d;
    if (offset % dev->caps.base_align != 0)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "offset: %zu is not a multiple of this OpenCL device's sub-buffer alignment (%zu bytes)",
                           offset, dev->caps.base_align);
    cl_buffer_region region = {offset, bytes};
    cl_int err;
    cl_mem sub = clCreateSubBuffer((cl_mem)mem, 0, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    if (err != CL_SUCCESS) return ocl_fail(err, "clCreateSubBuffer", NULL);
    *view = sub;
    return ELATTN_SUCCESS;
}

static void ocl_mem_view_release(void *d, void *view)
{
    (void)d;
    if (view) clReleaseMemObject((cl_mem)view);
}

static elattn_status ocl_mem_copy_2d(void *d, void *stream, void *dst, size_t dst_offset, size_t dst_pitch,
                                     const void *src, size_t src_offset, size_t src_pitch, size_t width, size_t rows)
{
    if (width == 0 || rows == 0) return ELATTN_SUCCESS;
    const size_t src_origin[3] = {src_offset, 0, 0}, dst_origin[3] = {dst_offset, 0, 0};
    const size_t region[3] = {width, rows, 1};
    OCL_CHECK(clEnqueueCopyBufferRect(ocl_queue(d, stream), (cl_mem)src, (cl_mem)dst, src_origin, dst_origin, region,
                                      src_pitch, 0, dst_pitch, 0, 0, NULL, NULL),
              "copy_2d");
    return ELATTN_SUCCESS;
}

static elattn_status ocl_mem_fill(void *d, void *stream, void *mem, size_t offset, unsigned char value, size_t bytes)
{
    OCL_CHECK(clEnqueueFillBuffer(ocl_queue(d, stream), (cl_mem)mem, &value, 1, offset, bytes, 0, NULL, NULL),
              "fill");
    return ELATTN_SUCCESS;
}

/* ---- events: markers on a profiling queue ------------------------------------------ */
typedef struct ocl_event {
    cl_event marker; /* NULL until recorded */
} ocl_event;

static elattn_status ocl_event_create(void *d, void **event)
{
    (void)d;
    ocl_event *e = calloc(1, sizeof *e);
    if (!e) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (event)");
    *event = e;
    return ELATTN_SUCCESS;
}

static void ocl_event_destroy(void *d, void *event)
{
    (void)d;
    ocl_event *e = event;
    if (!e) return;
    if (e->marker) clReleaseEvent(e->marker);
    free(e);
}

static elattn_status ocl_event_record(void *d, void *stream, void *event)
{
    ocl_event *e = event;
    cl_event marker;
    OCL_CHECK(clEnqueueMarkerWithWaitList(ocl_queue(d, stream), 0, NULL, &marker), "event_record");
    if (e->marker) clReleaseEvent(e->marker);
    e->marker = marker;
    return ELATTN_SUCCESS;
}

static elattn_status ocl_stream_wait_event(void *d, void *stream, void *event)
{
    ocl_event *e = event;
    OCL_CHECK(clEnqueueBarrierWithWaitList(ocl_queue(d, stream), 1, &e->marker, NULL), "stream_wait_event");
    return ELATTN_SUCCESS;
}

static elattn_status ocl_event_elapsed_ms(void *d, void *start, void *end, float *ms)
{
    (void)d;
    ocl_event *s = start, *e = end;
    if (!s->marker || !e->marker)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: event was never recorded", s->marker ? "end" : "start");
    OCL_CHECK(clWaitForEvents(1, &e->marker), "event_elapsed_ms");
    OCL_CHECK(clWaitForEvents(1, &s->marker), "event_elapsed_ms");
    cl_ulong t0 = 0, t1 = 0;
    OCL_CHECK(clGetEventProfilingInfo(s->marker, CL_PROFILING_COMMAND_END, sizeof t0, &t0, NULL), "start event");
    OCL_CHECK(clGetEventProfilingInfo(e->marker, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL), "end event");
    *ms = (float)((double)((long long)(t1 - t0)) / 1e6);
    return ELATTN_SUCCESS;
}

static int ocl_families(void *dev, elattn_op op, const char **names, int max)
{
    (void)dev;
    if (op == ELATTN_OP_ATTENTION) return ocl_attn_families(names, max);
    if (op == ELATTN_OP_XATTN) return ocl_xattn_families(names, max);
    if (op == ELATTN_OP_DECODE) return ocl_decode_families(names, max);
    if (max > 0) names[0] = OCL_ROUTER_FAMILY;
    return 1;
}

const elattn_backend_ops elattn_opencl_backend = {
    .abi = ELATTN_BACKEND_ABI,
    .kind = ELATTN_BACKEND_OPENCL,
    .name = "opencl",
    .enumerate = ocl_enumerate,
    .open = ocl_open,
    .close = ocl_close,
    .stream_create = ocl_stream_create,
    .stream_destroy = ocl_stream_destroy,
    .stream_sync = ocl_stream_sync,
    .mem_alloc = ocl_mem_alloc,
    .mem_free = ocl_mem_free,
    .mem_upload = ocl_mem_upload,
    .mem_download = ocl_mem_download,
    .mem_view = ocl_mem_view,
    .mem_view_release = ocl_mem_view_release,
    .mem_copy_2d = ocl_mem_copy_2d,
    .mem_fill = ocl_mem_fill,
    .event_create = ocl_event_create,
    .event_destroy = ocl_event_destroy,
    .event_record = ocl_event_record,
    .event_elapsed_ms = ocl_event_elapsed_ms,
    .attn_plan = ocl_attn_plan,
    .attn_plan_destroy = ocl_attn_plan_destroy,
    .attn_run = ocl_attn_run,
    .attn_batch_create = ocl_attn_batch_create,
    .attn_batch_destroy = ocl_attn_batch_destroy,
    .xattn_plan = ocl_xattn_plan,
    .xattn_plan_destroy = ocl_xattn_plan_destroy,
    .xattn_run = ocl_xattn_run,
    .router_plan = ocl_router_plan,
    .router_plan_destroy = ocl_router_plan_destroy,
    .router_run = ocl_router_run,
    .merge_run = ocl_merge_run,
    .decode_plan = ocl_decode_plan,
    .decode_plan_destroy = ocl_decode_plan_destroy,
    .decode_run = ocl_decode_run,
    .kv_summarize = ocl_kv_summarize,
    .families = ocl_families,
    .open_native = ocl_open_native,
    .native_handles = ocl_native_handles,
    .mem_check_wrap = ocl_mem_check_wrap,
    .stream_check_wrap = ocl_stream_check_wrap,
    .stream_wait_event = ocl_stream_wait_event,
    .stream_timing = ocl_stream_timing,
};

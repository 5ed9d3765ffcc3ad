/* Devices: counting, opening (by index or name) and closing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

/* Registers a device the backend opened (impl); closes impl when that fails. */
static elattn_status new_device(const elattn_backend_ops *ops, void *impl, const elattn_device_info *info,
                                elattn_device **device)
{
    elattn_device *d = calloc(1, sizeof *d);
    if (!d) {
        ops->close(impl);
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "device: host allocation failed");
    }
    d->ops = ops;
    d->impl = impl;
    d->info = *info;
    d->refs = 1; /* the caller's handle */
    if (ops->native_handles) {
        elattn_native_handles h = {.backend = ops->kind, .device_ordinal = -1};
        ops->native_handles(impl, &h);
        d->default_stream = h.default_stream;
    }
    elattn_status st = elattn_handle_add(d, ELATTN_HANDLE_DEVICE);
    if (st != ELATTN_SUCCESS) {
        ops->close(impl);
        free(d);
        return st;
    }
    *device = d;
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
    const elattn_device_info *info = elattn_registry_info(index);
    void *impl = NULL;
    CHECK(ops->open(info->backend_index, &impl));
    return new_device(ops, impl, info, device);
}

/* elattn_device_from_*: the backend makes the device of the engine's handles. */
static elattn_status device_from_native(const elattn_native_handles *native, elattn_device **device)
{
    REQUIRE(device, "device");
    const char *why = "";
    const elattn_backend_ops *ops = elattn_registry_backend(native->backend, &why);
    if (!ops)
        return elattn_fail(ELATTN_ERROR_NOT_AVAILABLE, "%s backend not loaded: %s",
                           elattn_backend_name(native->backend), why);
    if (!ops->open_native)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "the %s backend makes no device from native handles", ops->name);
    elattn_device_info info;
    memset(&info, 0, sizeof info);
    void *impl = NULL;
    CHECK(ops->open_native(native, &impl, &info));
    info.backend = ops->kind;
    info.index = elattn_registry_find(ops->kind, info.backend_index);
    if (info.id[0] == '\0') snprintf(info.id, sizeof info.id, "%s:%d", ops->name, info.backend_index);
    return new_device(ops, impl, &info, device);
}

elattn_status elattn_device_from_opencl(void *cl_context, void *cl_device_id, void *cl_command_queue,
                                        elattn_device **device)
{
    BEGIN();
    REQUIRE(cl_context, "cl_context");
    REQUIRE(cl_device_id, "cl_device_id");
    elattn_native_handles h = {.backend = ELATTN_BACKEND_OPENCL, .device_ordinal = -1, .context = cl_context,
                               .device = cl_device_id, .default_stream = cl_command_queue};
    return device_from_native(&h, device);
}

static elattn_status device_from_ordinal(elattn_backend backend, int ordinal, void *stream, elattn_device **device)
{
    if (ordinal < 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "device_ordinal: %d is negative", ordinal);
    elattn_native_handles h = {.backend = backend, .device_ordinal = ordinal, .default_stream = stream};
    return device_from_native(&h, device);
}

elattn_status elattn_device_from_cuda(int device_ordinal, void *cuda_stream, elattn_device **device)
{
    BEGIN();
    return device_from_ordinal(ELATTN_BACKEND_CUDA, device_ordinal, cuda_stream, device);
}

elattn_status elattn_device_from_hip(int device_ordinal, void *hip_stream, elattn_device **device)
{
    BEGIN();
    return device_from_ordinal(ELATTN_BACKEND_HIP, device_ordinal, hip_stream, device);
}

elattn_status elattn_device_native_handles(const elattn_device *device, elattn_native_handles *handles)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(handles, "handles");
    memset(handles, 0, sizeof *handles);
    handles->backend = device->info.backend;
    handles->device_ordinal = -1;
    if (device->ops->native_handles) device->ops->native_handles(device->impl, handles);
    return ELATTN_SUCCESS;
}

/* "auto": CUDA, HIP, OpenCL GPUs, other OpenCL devices, the reference; last, the HIP backend
 * emulated on the CPU (a test build's, far slower than the reference). */
static int auto_rank(const elattn_device_info *info)
{
    switch (info->backend) {
    case ELATTN_BACKEND_CUDA: return 0;
    case ELATTN_BACKEND_HIP: return info->is_gpu ? 1 : 5;
    case ELATTN_BACKEND_OPENCL: return info->is_gpu ? 2 : 3;
    case ELATTN_BACKEND_REFERENCE: return 4;
    }
    return 6;
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
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(info, "info");
    *info = device->info;
    return ELATTN_SUCCESS;
}

/* The handle goes now; the device itself when its last stream, buffer, event or plan is released. */
void elattn_device_close(elattn_device *device)
{
    if (!elattn_release_handle("device", device, ELATTN_HANDLE_DEVICE)) return;
    elattn_device_release(device);
}

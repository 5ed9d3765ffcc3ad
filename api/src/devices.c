/* Devices: counting, opening (by index or name) and closing. */
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
    d->refs = 1; /* the caller's handle */
    elattn_status st = ops->open(d->info.backend_index, &d->impl);
    if (st != ELATTN_SUCCESS) {
        free(d);
        return st;
    }
    if ((st = elattn_handle_add(d, ELATTN_HANDLE_DEVICE)) != ELATTN_SUCCESS) {
        ops->close(d->impl);
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

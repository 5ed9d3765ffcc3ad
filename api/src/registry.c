/*
 * The device registry: every device of every backend compiled in, found once
 * (thread-safe) in the order CUDA, HIP, OpenCL, reference.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define MAX_DEVICES 64

static const elattn_backend_ops *const backends[] = {
#if ELATTN_HAVE_CUDA
    &elattn_cuda_backend,
#endif
#if ELATTN_HAVE_HIP
    &elattn_hip_backend,
#endif
#if ELATTN_HAVE_OPENCL
    &elattn_opencl_backend,
#endif
    &elattn_reference_backend,
};

static struct {
    int count;
    const elattn_backend_ops *ops[MAX_DEVICES];
    elattn_device_info info[MAX_DEVICES];
} registry;

static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_discover(void)
{
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; ++b) {
        const elattn_backend_ops *ops = backends[b];
        if (ops->abi != ELATTN_BACKEND_ABI) continue; /* built against another interface */
        int room = MAX_DEVICES - registry.count;
        elattn_device_info found[MAX_DEVICES];
        memset(found, 0, sizeof found);
        int n = ops->enumerate(found, room);
        if (n > room) n = room;
        for (int i = 0; i < n; ++i) {
            elattn_device_info *info = &registry.info[registry.count];
            *info = found[i];
            info->backend = ops->kind;
            info->backend_index = i;
            info->index = registry.count;
            if (info->id[0] == '\0')
                snprintf(info->id, sizeof info->id, "%s:%d", ops->name, i);
            if (ops->kind == ELATTN_BACKEND_CUDA || ops->kind == ELATTN_BACKEND_HIP) info->is_gpu = 1;
            registry.ops[registry.count++] = ops;
        }
    }
}

int elattn_registry_count(void)
{
    pthread_once(&registry_once, registry_discover);
    return registry.count;
}

const elattn_backend_ops *elattn_registry_ops(int index)
{
    return index >= 0 && index < elattn_registry_count() ? registry.ops[index] : NULL;
}

const elattn_device_info *elattn_registry_info(int index)
{
    return index >= 0 && index < elattn_registry_count() ? &registry.info[index] : NULL;
}

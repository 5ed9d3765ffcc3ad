/*
 * The device registry: the backends (the reference, built in; the others as
 * modules, loaded by modules.c) and every device they have, found once
 * (thread-safe) in the order CUDA, HIP, OpenCL, reference.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define MAX_DEVICES 64

/* In device order; the reference is in the core, the others are modules. */
static const struct {
    elattn_backend kind;
    const char *name;
} backend_order[] = {
    {ELATTN_BACKEND_CUDA, "cuda"},
    {ELATTN_BACKEND_HIP, "hip"},
    {ELATTN_BACKEND_OPENCL, "opencl"},
    {ELATTN_BACKEND_REFERENCE, "reference"},
};
#define NUM_BACKENDS (int)(sizeof backend_order / sizeof backend_order[0])

static struct {
    int count;
    const elattn_backend_ops *ops[MAX_DEVICES];
    elattn_device_info info[MAX_DEVICES];
    const elattn_backend_ops *backend_ops[NUM_BACKENDS]; /* NULL: not loaded */
    elattn_backend_info backend_info[NUM_BACKENDS];
} registry;

static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

static void registry_discover(void)
{
    for (int b = 0; b < NUM_BACKENDS; ++b) {
        elattn_backend_info *binfo = &registry.backend_info[b];
        binfo->backend = backend_order[b].kind;
        const elattn_backend_ops *ops =
            backend_order[b].kind == ELATTN_BACKEND_REFERENCE
                ? &elattn_reference_backend
                : elattn_module_load(backend_order[b].name, binfo->module, sizeof binfo->module, binfo->reason,
                                     sizeof binfo->reason);
        if (!ops) continue;
        registry.backend_ops[b] = ops;
        binfo->loaded = 1;
        int room = MAX_DEVICES - registry.count;
        elattn_device_info found[MAX_DEVICES];
        memset(found, 0, sizeof found);
        int n = ops->enumerate(found, room);
        if (n > room) n = room;
        binfo->device_count = n;
        for (int i = 0; i < n; ++i) {
            elattn_device_info *info = &registry.info[registry.count];
            *info = found[i];
            info->backend = ops->kind;
            info->backend_index = i;
            info->index = registry.count;
            if (info->id[0] == '\0')
                snprintf(info->id, sizeof info->id, "%s:%d", ops->name, i);
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

static int backend_slot(elattn_backend backend)
{
    pthread_once(&registry_once, registry_discover);
    for (int b = 0; b < NUM_BACKENDS; ++b)
        if (backend_order[b].kind == backend) return b;
    return -1;
}

const elattn_backend_ops *elattn_registry_backend(elattn_backend backend, const char **why)
{
    int b = backend_slot(backend);
    if (b < 0) {
        *why = "no such backend";
        return NULL;
    }
    *why = registry.backend_info[b].reason;
    return registry.backend_ops[b];
}

int elattn_registry_find(elattn_backend backend, int backend_index)
{
    int n = elattn_registry_count();
    for (int i = 0; i < n; ++i)
        if (registry.info[i].backend == backend && registry.info[i].backend_index == backend_index) return i;
    return -1;
}

elattn_status elattn_backend_get_info(elattn_backend backend, elattn_backend_info *info)
{
    BEGIN();
    REQUIRE(info, "info");
    int b = backend_slot(backend);
    if (b < 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "backend: %d is no elattn_backend", (int)backend);
    *info = registry.backend_info[b];
    return ELATTN_SUCCESS;
}

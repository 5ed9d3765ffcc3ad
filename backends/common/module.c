/*
 * The module side of a backend module (libelattn-<name>.so): its one exported
 * function, elattn_backend_module, and the core's internal functions of
 * api/src/backend.h, forwarded to the core through the services it passes.
 * Compiled into each module with -DELATTN_MODULE_OPS=<its ops table>.
 */
#include <stdarg.h>

#include "backend.h"

#ifndef ELATTN_MODULE_OPS
#error "compile with -DELATTN_MODULE_OPS=elattn_<backend>_backend"
#endif

static const elattn_core_services *core;

__attribute__((visibility("default"))) const elattn_backend_ops *elattn_backend_module(int core_abi,
                                                                                      const elattn_core_services *services)
{
    /* a core of another ABI gets the table only to read its abi and refuse it */
    if (core_abi == ELATTN_BACKEND_ABI) core = services;
    return &ELATTN_MODULE_OPS;
}

elattn_status elattn_fail(elattn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (core) core->vfail(status, fmt, ap);
    va_end(ap);
    return status;
}

int elattn_family_select(const char *const *families, int count, const char *forced, int head_dim, elattn_dtype dtype,
                         const char *where, elattn_family_probe probe, void *ctx, char *name, size_t name_n)
{
    return core->family_select(families, count, forced, head_dim, dtype, where, probe, ctx, name, name_n);
}

int elattn_kernel_name_selects(const char *forced, const char *name) { return core->kernel_name_selects(forced, name); }

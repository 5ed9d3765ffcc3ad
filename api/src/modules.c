/*
 * Backend modules: finding libelattn-<name>.so and loading it (dlopen) for the
 * registry. Search order: each directory of ELATTN_BACKEND_PATH, then the
 * directory of libelattn itself (dladdr of a function of the core), so the
 * build tree works as an installation does. The first file that exists is the
 * one loaded; when it cannot be, that is the answer (the reason names it),
 * never a silent fall-back to another copy. Modules are never unloaded: the
 * vendor runtimes they carry do not support it, and their ops tables are used
 * until the process ends.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static const elattn_core_services core_services = {
    .vfail = elattn_vfail,
    .family_select = elattn_family_select,
    .kernel_name_selects = elattn_kernel_name_selects,
};

/* The directory libelattn was loaded from ("" when dladdr cannot say). */
static void core_directory(char *dir, size_t n)
{
    Dl_info info;
    dir[0] = '\0';
    if (!dladdr((void *)core_directory, &info) || !info.dli_fname) return;
    const char *slash = strrchr(info.dli_fname, '/');
    if (slash) snprintf(dir, n, "%.*s", (int)(slash - info.dli_fname), info.dli_fname);
    else snprintf(dir, n, ".");
}

/* Tries `dir`/libelattn-<name>.so; 1 when the file exists (then *path is it). */
static int candidate(const char *dir, size_t dir_len, const char *name, char *path, size_t path_n)
{
    if (dir_len == 0) return 0;
    int w = snprintf(path, path_n, "%.*s/libelattn-%s.so", (int)dir_len, dir, name);
    return w > 0 && (size_t)w < path_n && access(path, F_OK) == 0;
}

/* Every directory searched, for the message of a module not found. */
static int find_module(const char *name, char *path, size_t path_n, char *searched, size_t searched_n)
{
    const char *env = getenv("ELATTN_BACKEND_PATH");
    char core_dir[ELATTN_MODULE_PATH_MAX];
    core_directory(core_dir, sizeof core_dir);
    searched[0] = '\0';
    size_t used = 0;
    for (const char *p = env; p && *p;) {
        size_t len = strcspn(p, ":");
        if (candidate(p, len, name, path, path_n)) return 1;
        if (len && used < searched_n)
            used += (size_t)snprintf(searched + used, searched_n - used, "%s%.*s", used ? ", " : "", (int)len, p);
        p += len + (p[len] == ':');
    }
    if (candidate(core_dir, strlen(core_dir), name, path, path_n)) return 1;
    if (used < searched_n)
        snprintf(searched + used, searched_n - used, "%s%s (libelattn's directory)", used ? ", " : "",
                 core_dir[0] ? core_dir : "?");
    path[0] = '\0';
    return 0;
}

const elattn_backend_ops *elattn_module_load(const char *name, char *path, size_t path_n, char *why, size_t why_n)
{
    char searched[ELATTN_MODULE_PATH_MAX];
    why[0] = '\0';
    if (!find_module(name, path, path_n, searched, sizeof searched)) {
        snprintf(why, why_n, "libelattn-%s.so not found (not built, or not installed beside libelattn; searched %s)",
                 name, searched);
        return NULL;
    }
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *err = dlerror();
        snprintf(why, why_n, "dlopen failed: %s", err ? err : "(no message)");
        return NULL;
    }
    elattn_backend_module_fn entry;
    /* POSIX's way to turn dlsym's object pointer into a function pointer */
    *(void **)&entry = dlsym(handle, ELATTN_BACKEND_MODULE_ENTRY);
    if (!entry) {
        snprintf(why, why_n, "not an elattn module: no %s", ELATTN_BACKEND_MODULE_ENTRY);
        dlclose(handle);
        return NULL;
    }
    const elattn_backend_ops *ops = entry(ELATTN_BACKEND_ABI, &core_services);
    if (!ops || ops->abi != ELATTN_BACKEND_ABI) {
        snprintf(why, why_n, "built for backend ABI %d, this libelattn has ABI %d (install matching versions)",
                 ops ? ops->abi : -1, ELATTN_BACKEND_ABI);
        return NULL; /* left loaded: its entry point ran and may have state */
    }
    if (strcmp(ops->name, name) != 0) {
        snprintf(why, why_n, "the module says it is the \"%s\" backend", ops->name);
        return NULL;
    }
    return ops;
}

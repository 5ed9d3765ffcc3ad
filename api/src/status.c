/* Errors (the per-thread message), status/dtype/mode/backend names, version. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* ---- errors -------------------------------------------------------------------- */
static _Thread_local char last_error[1024];

elattn_status elattn_vfail(elattn_status status, const char *fmt, va_list ap)
{
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    return status;
}

elattn_status elattn_fail(elattn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    elattn_vfail(status, fmt, ap);
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

/* ---- version, names ------------------------------------------------------------ */
void elattn_version(int *major, int *minor, int *patch)
{
    if (major) *major = ELATTN_VERSION_MAJOR;
    if (minor) *minor = ELATTN_VERSION_MINOR;
    if (patch) *patch = ELATTN_VERSION_PATCH;
}

const char *elattn_version_string(void) { return ELATTN_VERSION_STRING; }

int elattn_version_compatible(int major, int minor, int patch)
{
    (void)patch; /* patch releases change no interface */
    return major == ELATTN_VERSION_MAJOR && minor <= ELATTN_VERSION_MINOR;
}

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

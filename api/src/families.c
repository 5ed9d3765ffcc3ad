/*
 * Kernel families: the one selection every backend's plan functions use
 * (backend.h, elattn_family_select), the kernel-name grammar, and the public
 * listing of a device's families.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* `prefix` equals `name` or is a prefix of it that ends at a '.'. */
static int dot_prefix(const char *prefix, const char *name)
{
    const size_t n = strlen(prefix);
    return strncmp(prefix, name, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

int elattn_kernel_name_selects(const char *forced, const char *name)
{
    return !forced || !forced[0] || dot_prefix(forced, name);
}

/* Whether a forced name can select some kernel of `family`: either names the
 * other at a '.' boundary ("cuda" and "cuda.attn.mma"; "cuda.attn.mma.d64"
 * and "cuda.attn.mma"). */
static int may_select_family(const char *forced, const char *family)
{
    return !forced || !forced[0] || dot_prefix(forced, family) || dot_prefix(family, forced);
}

int elattn_family_select(const char *const *families, int count, const char *forced, int head_dim,
                         elattn_dtype dtype, const char *where, elattn_family_probe probe, void *ctx, char *name,
                         size_t name_n)
{
    char reasons[768] = "";
    size_t used = 0;
    int named = 0; /* families the forced name could select */
    for (int i = 0; i < count; ++i) {
        if (!may_select_family(forced, families[i])) continue;
        ++named;
        char variant[48] = "";
        const char *why = "not supported";
        if (probe(ctx, i, variant, sizeof variant, &why)) {
            snprintf(name, name_n, "%s.d%d.%s%s%s", families[i], head_dim, elattn_dtype_name(dtype),
                     variant[0] ? "." : "", variant);
            if (elattn_kernel_name_selects(forced, name)) return i;
            why = "its kernel name does not start with the forced one";
        }
        if (used < sizeof reasons)
            used += (size_t)snprintf(reasons + used, sizeof reasons - used, "%s%s: %s", used ? "; " : "",
                                     families[i], why);
    }
    if (named == 0) {
        char list[512] = "";
        size_t at = 0;
        for (int i = 0; i < count && at < sizeof list; ++i)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", families[i]);
        elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.kernel: \"%s\" names no kernel family of this device (%s: %s)",
                    forced, where, count ? list : "none");
    } else if (forced && forced[0]) {
        elattn_fail(ELATTN_ERROR_UNSUPPORTED, "options.kernel: \"%s\" cannot run this descriptor on %s (%s)", forced,
                    where, reasons);
    } else {
        elattn_fail(ELATTN_ERROR_UNSUPPORTED, "desc: no kernel can run this descriptor on %s (%s)", where, reasons);
    }
    return -1;
}

elattn_status elattn_device_kernel_families(const elattn_device *device, elattn_op op, const char **names, int max,
                                            int *count)
{
    elattn_clear_error();
    if (!device) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "device: NULL");
    if (!count) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "count: NULL");
    if (op != ELATTN_OP_ATTENTION && op != ELATTN_OP_XATTN && op != ELATTN_OP_ROUTER && op != ELATTN_OP_DECODE)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "op: %d is not an elattn_op", (int)op);
    if (max < 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "max: %d is negative", max);
    *count = device->ops->families(device->impl, op, names, names ? max : 0);
    return ELATTN_SUCCESS;
}

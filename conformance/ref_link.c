/*
 * The reference functions compiled into elattn-conformance (for the
 * XAttention score margins) report failures through elattn_fail, which the
 * library keeps hidden. This is the executable's own copy: it keeps the
 * message where elattn_ref_* callers in this program can print it.
 */
#include <stdarg.h>
#include <stdio.h>

#include "backend.h"

static char ref_error[512];

elattn_status elattn_fail(elattn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ref_error, sizeof ref_error, fmt, ap);
    va_end(ap);
    return status;
}

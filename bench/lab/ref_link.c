/*
 * The reference sources compiled into the lab tools report failures through
 * elattn_fail, which the library keeps hidden. The tools' own copy prints the
 * message, so that a failed reference call says why.
 */
#include <stdarg.h>
#include <stdio.h>

#include "backend.h"

elattn_status elattn_fail(elattn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("elattn reference: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

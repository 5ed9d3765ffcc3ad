/* The sm_90a edit of PTX (opencl_ptx_edit.h). */
#include "opencl_ptx_edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ocl_ptx_sm90a_edit(const char *ptx, size_t n, int *markers)
{
    static const char marker[] = OCL_SM90A_MARKER, target[] = ".target sm_90";
    const size_t marker_n = sizeof marker - 1, target_n = sizeof target - 1;
    char *out = malloc(n + n / 8 + 64), *w = out; /* each .target edit adds a byte */
    int targets = 0;
    *markers = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < n && ptx[i];) {
        if (n - i >= marker_n && !strncmp(ptx + i, marker, marker_n)) { /* the instruction, uncommented */
            i += marker_n, ++*markers;
            continue;
        }
        if (n - i >= target_n && !strncmp(ptx + i, target, target_n) &&
            (n - i == target_n || (ptx[i + target_n] != 'a' && ptx[i + target_n] != '0'))) {
            w += sprintf(w, "%sa", target); /* sm_90 exactly (not sm_90a, not sm_900) */
            i += target_n, ++targets;
            continue;
        }
        int major = 0, minor = 0;
        if (n - i > 9 && !strncmp(ptx + i, ".version ", 9) && sscanf(ptx + i + 9, "%d.%d", &major, &minor) == 2 &&
            major < 8) {
            w += sprintf(w, ".version 8.0"); /* wgmma is PTX ISA 8.0 */
            while (i < n && ptx[i] && ptx[i] != '\n') ++i;
            continue;
        }
        *w++ = ptx[i++];
    }
    *w = '\0';
    if (targets != 1) {
        free(out);
        return NULL;
    }
    return out;
}

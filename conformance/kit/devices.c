/* The device listing of the tools (kit_devices.h). */
#include "kit_devices.h"

#include <elattn/elattn.h>

void kit_print_devices(FILE *f)
{
    static const elattn_backend backends[] = {ELATTN_BACKEND_CUDA, ELATTN_BACKEND_HIP, ELATTN_BACKEND_OPENCL,
                                              ELATTN_BACKEND_REFERENCE};
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; ++b) {
        elattn_backend_info bi;
        if (elattn_backend_get_info(backends[b], &bi) != ELATTN_SUCCESS) continue;
        if (bi.loaded)
            fprintf(f, "backend %-9s loaded, %d device(s)%s%s\n", elattn_backend_name(bi.backend), bi.device_count,
                    bi.module[0] ? ", " : " (built in)", bi.module);
        else
            fprintf(f, "backend %-9s absent: %s\n", elattn_backend_name(bi.backend), bi.reason);
    }
    int n = 0;
    elattn_device_count(&n);
    for (int i = 0; i < n; ++i) {
        elattn_device_info d;
        if (elattn_device_get_info(i, &d) != ELATTN_SUCCESS) continue;
        fprintf(f, "%-12s %-40s vendor %-10s arch %-14s %s, %d CUs, wave %d, %.1f GiB\n", d.id, d.name, d.vendor, d.arch,
                d.is_gpu ? "GPU" : "not a GPU", d.compute_units, d.wave_size, d.memory_bytes / 1073741824.0);
    }
}

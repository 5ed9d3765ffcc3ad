/*
 * A program of an engine that found elattn through pkg-config or CMake
 * (install_check.py builds it against an installed tree): opens the reference,
 * round-trips a buffer, prints each backend's state. Exit 0 when all works.
 */
#include <stdio.h>
#include <string.h>

#include <elattn/elattn.h>

#if !ELATTN_VERSION_CHECK(0, 2, 0)
#error "this consumer needs elattn 0.2 (size-tagged structs)"
#endif

int main(void)
{
    if (!elattn_version_compatible(ELATTN_VERSION_MAJOR, ELATTN_VERSION_MINOR, ELATTN_VERSION_PATCH)) {
        fprintf(stderr, "consumer: built for elattn %d.%d, the library is %s\n", ELATTN_VERSION_MAJOR,
                ELATTN_VERSION_MINOR, elattn_version_string());
        return 1;
    }
    elattn_device *dev = NULL;
    elattn_buffer *buf = NULL;
    const char sent[] = "elattn consumer";
    char back[sizeof sent] = "";
    if (elattn_device_open_by_name("reference", &dev) != ELATTN_SUCCESS ||
        elattn_buffer_alloc(dev, sizeof sent, &buf) != ELATTN_SUCCESS ||
        elattn_buffer_upload(buf, 0, sent, sizeof sent, NULL) != ELATTN_SUCCESS ||
        elattn_buffer_download(buf, 0, back, sizeof back, NULL) != ELATTN_SUCCESS || memcmp(sent, back, sizeof sent)) {
        fprintf(stderr, "consumer: %s\n", elattn_last_error());
        return 1;
    }
    elattn_buffer_free(buf);
    elattn_device_close(dev);
    printf("consumer: elattn %s, reference device ok\n", elattn_version_string());
    const elattn_backend kinds[] = {ELATTN_BACKEND_CUDA, ELATTN_BACKEND_HIP, ELATTN_BACKEND_OPENCL};
    for (int k = 0; k < 3; ++k) {
        elattn_backend_info bi;
        if (elattn_backend_get_info(kinds[k], &bi) != ELATTN_SUCCESS) return 1;
        printf("module %s %s %s\n", elattn_backend_name(kinds[k]), bi.loaded ? "loaded" : "absent",
               bi.loaded ? bi.module : bi.reason);
    }
    return 0;
}

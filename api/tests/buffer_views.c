/*
 * Views through the buffer calls, on every device present: copy_2d, fill,
 * upload and download with views on either side (and a view of a view),
 * each checked byte for byte against the same operation on host memory.
 * PoCL crashed in clEnqueueCopyBufferRect on sub-buffers until the core
 * passed views down as their allocation plus an offset.
 * Usage: buffer_views [DEVICE ...]   (default: every device present)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elattn/elattn.h"

#define BYTES 16384

static int failures;

#define CHECK_OK(call)                                                                                      \
    do {                                                                                                    \
        if ((call) != ELATTN_SUCCESS) {                                                                     \
            fprintf(stderr, "%s: %s failed: %s\n", name, #call, elattn_last_error());                       \
            ++failures;                                                                                     \
            goto done;                                                                                      \
        }                                                                                                   \
    } while (0)

/* host model of a 2-D copy */
static void copy_2d_host(uint8_t *dst, size_t dst_pitch, const uint8_t *src, size_t src_pitch, size_t width,
                         size_t rows)
{
    for (size_t r = 0; r < rows; ++r) memcpy(dst + r * dst_pitch, src + r * src_pitch, width);
}

static void compare(const char *name, const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (got[i] != want[i]) {
            fprintf(stderr, "%s: %s: byte %zu is %u, expected %u\n", name, what, i, got[i], want[i]);
            ++failures;
            return;
        }
}

static void run_device(const char *name)
{
    elattn_device *dev = NULL;
    elattn_buffer *a = NULL, *b = NULL, *va = NULL, *vb = NULL, *vva = NULL;
    uint8_t *ha = malloc(BYTES), *hb = malloc(BYTES), *got = malloc(BYTES);
    if (!ha || !hb || !got) {
        fprintf(stderr, "%s: host allocation failed\n", name);
        ++failures;
        goto done;
    }
    CHECK_OK(elattn_device_open_by_name(name, &dev));
    for (size_t i = 0; i < BYTES; ++i) { /* distinct, non-zero patterns */
        ha[i] = (uint8_t)(i * 7 + 3);
        hb[i] = (uint8_t)(i * 13 + 101);
    }
    CHECK_OK(elattn_buffer_alloc(dev, BYTES, &a));
    CHECK_OK(elattn_buffer_alloc(dev, BYTES, &b));
    CHECK_OK(elattn_buffer_upload(a, 0, ha, BYTES, NULL));
    CHECK_OK(elattn_buffer_upload(b, 0, hb, BYTES, NULL));
    /* offsets: multiples of 4096 suit every device's sub-buffer alignment */
    CHECK_OK(elattn_buffer_view(a, 4096, 8192, &va));
    CHECK_OK(elattn_buffer_view(b, 8192, 8192, &vb));
    CHECK_OK(elattn_buffer_view(va, 4096, 4096, &vva)); /* a at 8192 */

    /* view -> buffer, 4 rows of 256 bytes at pitches 512 / 384 */
    CHECK_OK(elattn_buffer_copy_2d(b, 64, 384, va, 128, 512, 256, 4, NULL));
    copy_2d_host(hb + 64, 384, ha + 4096 + 128, 512, 256, 4);
    /* buffer -> view, one row */
    CHECK_OK(elattn_buffer_copy_2d(vb, 256, 256, a, 0, 256, 200, 1, NULL));
    copy_2d_host(hb + 8192 + 256, 256, ha, 256, 200, 1);
    /* view -> view of a view (a different allocation), 3 rows */
    CHECK_OK(elattn_buffer_copy_2d(vva, 512, 1024, vb, 0, 640, 600, 3, NULL));
    copy_2d_host(ha + 8192 + 512, 1024, hb + 8192, 640, 600, 3);
    /* fill through a view, upload through a view of a view */
    CHECK_OK(elattn_buffer_fill(vb, 4000, 0xA5, 100, NULL));
    memset(hb + 8192 + 4000, 0xA5, 100);
    const uint8_t patch[48] = {1, 2, 3, 250, 251, 252};
    CHECK_OK(elattn_buffer_upload(vva, 3000, patch, sizeof patch, NULL));
    memcpy(ha + 8192 + 3000, patch, sizeof patch);
    CHECK_OK(elattn_device_synchronize(dev));

    CHECK_OK(elattn_buffer_download(a, 0, got, BYTES, NULL));
    compare(name, "allocation a", got, ha, BYTES);
    CHECK_OK(elattn_buffer_download(b, 0, got, BYTES, NULL));
    compare(name, "allocation b", got, hb, BYTES);
    CHECK_OK(elattn_buffer_download(vva, 0, got, 4096, NULL)); /* download through a view */
    compare(name, "view of a view", got, ha + 8192, 4096);
    if (!failures) printf("%s: ok\n", name);
done:
    elattn_buffer_free(vva);
    elattn_buffer_free(va);
    elattn_buffer_free(vb);
    elattn_buffer_free(a);
    elattn_buffer_free(b);
    if (dev) elattn_device_close(dev);
    free(ha);
    free(hb);
    free(got);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 1; i < argc; ++i) run_device(argv[i]);
    } else {
        int n = 0;
        if (elattn_device_count(&n) != ELATTN_SUCCESS) {
            fprintf(stderr, "elattn_device_count: %s\n", elattn_last_error());
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            elattn_device_info info;
            if (elattn_device_get_info(i, &info) != ELATTN_SUCCESS) {
                fprintf(stderr, "device %d: %s\n", i, elattn_last_error());
                ++failures;
                continue;
            }
            run_device(info.id);
        }
    }
    return failures ? 1 : 0;
}

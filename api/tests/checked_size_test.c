/*
 * The checked size helpers (api/src/checked_size.h) at the edges of size_t,
 * including the two sizes that wrapped before they existed: a 2-D copy of 3
 * rows 2^63 bytes apart, and the block mask of batch 65536 x 256 KV heads x
 * (2^24 / 16)^2 blocks. Exit 0 when every check holds.
 */
#include <stdint.h>
#include <stdio.h>

#include "checked_size.h"

static int failures;

static void expect(int ok, size_t got, int want_ok, size_t want, const char *what)
{
    if (ok != want_ok || got != want) {
        printf("FAIL %s: returned %d, %zu; expected %d, %zu\n", what, ok, got, want_ok, want);
        failures++;
    }
}

/* Evaluate the call first: `out` is read only after it has been written. */
#define EXPECT(call, want_ok, want, what)                                                                   \
    do {                                                                                                    \
        out = 12345;                                                                                        \
        int ok_ = (call);                                                                                   \
        expect(ok_, out, want_ok, want, what);                                                              \
    } while (0)

int main(void)
{
    size_t out;
    const size_t half = SIZE_MAX / 2 + 1; /* 2^63 on 64-bit hosts */

    EXPECT(elattn_size_mul(0, SIZE_MAX, &out), 1, 0, "0 * SIZE_MAX");
    EXPECT(elattn_size_mul(SIZE_MAX, 1, &out), 1, SIZE_MAX, "SIZE_MAX * 1");
    EXPECT(elattn_size_mul(half, 2, &out), 0, SIZE_MAX, "2^63 * 2");
    EXPECT(elattn_size_mul(SIZE_MAX / 3, 3, &out), 1, SIZE_MAX / 3 * 3, "(SIZE_MAX / 3) * 3");
    EXPECT(elattn_size_mul(SIZE_MAX / 3 + 1, 3, &out), 0, SIZE_MAX, "(SIZE_MAX / 3 + 1) * 3");
    EXPECT(elattn_size_add(SIZE_MAX - 5, 5, &out), 1, SIZE_MAX, "(SIZE_MAX - 5) + 5");
    EXPECT(elattn_size_add(SIZE_MAX - 5, 6, &out), 0, SIZE_MAX, "(SIZE_MAX - 5) + 6");
    EXPECT(elattn_size_mul3(2, 3, 7, &out), 1, 42, "2 * 3 * 7");
    EXPECT(elattn_size_mul3(half, 2, 0, &out), 1, 0, "2^63 * 2 * 0 is exactly 0");
    EXPECT(elattn_size_mul4(half, 2, 0, 5, &out), 1, 0, "2^63 * 2 * 0 * 5 is exactly 0");
    EXPECT(elattn_size_mul3(half, 2, 1, &out), 0, SIZE_MAX, "2^63 * 2 * 1");
    EXPECT(elattn_size_mul4(1, 2, 3, 4, &out), 1, 24, "1 * 2 * 3 * 4");

    /* elattn_buffer_copy_2d: (rows - 1) * pitch + width wrapped to 16 */
    EXPECT(elattn_size_rows(3, half, 16, &out), 0, SIZE_MAX, "rows 3, pitch 2^63, width 16");
    EXPECT(elattn_size_rows(2, half, 16, &out), 1, half + 16, "rows 2, pitch 2^63, width 16");
    EXPECT(elattn_size_rows(1, SIZE_MAX, 16, &out), 1, 16, "one row ignores the pitch");
    EXPECT(elattn_size_rows(0, SIZE_MAX, 16, &out), 1, 0, "no rows");
    EXPECT(elattn_size_rows(5, 100, 0, &out), 1, 0, "no width");
    EXPECT(elattn_size_rows(2, SIZE_MAX - 10, 10, &out), 1, SIZE_MAX, "rows 2 reaching SIZE_MAX exactly");
    EXPECT(elattn_size_rows(2, SIZE_MAX - 10, 11, &out), 0, SIZE_MAX, "rows 2 one byte past SIZE_MAX");

    /* the block mask of batch 65536, 256 KV heads, 2^20 x 2^20 blocks wrapped to 0 */
    if (sizeof(size_t) == 8)
        EXPECT(elattn_size_mul4(65536, 256, (size_t)1 << 20, (size_t)1 << 20, &out), 0, SIZE_MAX,
               "65536 * 256 * 2^20 * 2^20");
    EXPECT(elattn_size_mul4(1, 8, 1024, 1024, &out), 1, (size_t)8 << 20, "a realistic mask");

    if (failures) return 1;
    printf("checked_size: all checks passed\n");
    return 0;
}

/*
 * Checked size arithmetic for every byte count the library derives from
 * caller values (buffers, views, 2-D copies, masks, workspaces, score
 * tables). Plain C99 and C++ (the GPU backends include it through
 * backend.h): no compiler builtins, no designated initializers.
 *
 * Each function stores the result and returns 1, or stores SIZE_MAX and
 * returns 0 when the exact result does not fit in size_t. SIZE_MAX is never
 * a usable size, so a caller that forgets the return value still cannot pass
 * a wrapped (small) size to a range check. Callers report a 0 as
 * ELATTN_ERROR_INVALID_ARGUMENT naming the argument the size came from.
 */
#ifndef ELATTN_CHECKED_SIZE_H
#define ELATTN_CHECKED_SIZE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline int elattn_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) {
        *out = SIZE_MAX;
        return 0;
    }
    *out = a * b;
    return 1;
}

static inline int elattn_size_add(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) {
        *out = SIZE_MAX;
        return 0;
    }
    *out = a + b;
    return 1;
}

/* A zero factor makes the product 0 even where a partial product would overflow. */
static inline int elattn_size_mul3(size_t a, size_t b, size_t c, size_t *out)
{
    if (c == 0) {
        *out = 0;
        return 1;
    }
    return elattn_size_mul(a, b, out) && elattn_size_mul(*out, c, out);
}

static inline int elattn_size_mul4(size_t a, size_t b, size_t c, size_t d, size_t *out)
{
    if (d == 0) {
        *out = 0;
        return 1;
    }
    return elattn_size_mul3(a, b, c, out) && elattn_size_mul(*out, d, out);
}

/* Bytes spanned by `rows` rows of `width` bytes, `pitch` apart:
 * (rows - 1) * pitch + width, and 0 when rows or width is 0. */
static inline int elattn_size_rows(size_t rows, size_t pitch, size_t width, size_t *out)
{
    if (rows == 0 || width == 0) {
        *out = 0;
        return 1;
    }
    return elattn_size_mul(rows - 1, pitch, out) && elattn_size_add(*out, width, out);
}

#ifdef __cplusplus
}
#endif

#endif /* ELATTN_CHECKED_SIZE_H */

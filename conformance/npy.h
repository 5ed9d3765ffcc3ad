/*
 * A small .npy reader and writer (NumPy format versions 1.0 and 2.0,
 * little-endian, C order). Anything else is refused with a message that says
 * what was found.
 */
#ifndef ELATTN_NPY_H
#define ELATTN_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8

typedef struct npy_array {
    char descr[16];     /* "<f4", "<f2", "<u2", "<i4", "|u1" */
    int ndim;
    int64_t shape[NPY_MAX_DIMS];
    size_t count;       /* product of shape */
    size_t itemsize;
    void *data;
} npy_array;

typedef enum npy_result { NPY_OK = 0, NPY_MISSING = 1, NPY_BAD = 2, NPY_IO = 3 } npy_result;

/* On failure `err` says why (NPY_MISSING: the file does not exist). */
npy_result npy_load(const char *path, npy_array *a, char *err, size_t err_n);
npy_result npy_save(const char *path, const char *descr, int ndim, const int64_t *shape, const void *data,
                    char *err, size_t err_n);
void npy_free(npy_array *a);

#endif

/*
 * A small .npy reader and writer (NumPy format versions 1.0 and 2.0,
 * little-endian, C order). Anything else is refused with a message that says
 * what was found. The reader trusts nothing in a header: every dimension must
 * fit in an int (elattn's shapes are int), the element count and byte size
 * must not overflow, and the data must be exactly as long as the header says
 * before any buffer for it is allocated.
 */
#ifndef ELATTN_NPY_H
#define ELATTN_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8
#define NPY_MAX_DIM 2147483647 /* INT32_MAX: every shape elattn takes is an int */
#define NPY_MAX_HEADER (1u << 20)

typedef struct npy_array {
    char descr[16];     /* "<f4", "<f2", "<u2", "<i4", "|u1" */
    int ndim;
    int64_t shape[NPY_MAX_DIMS]; /* each in [0, NPY_MAX_DIM] */
    size_t count;       /* product of shape */
    size_t itemsize;
    void *data;         /* count * itemsize bytes (at least one byte allocated) */
} npy_array;

typedef enum npy_result { NPY_OK = 0, NPY_MISSING = 1, NPY_BAD = 2, NPY_IO = 3 } npy_result;

/* On failure `err` says why, starting with `path` (NPY_MISSING: the file does not exist). */
npy_result npy_load(const char *path, npy_array *a, char *err, size_t err_n);
/* The same checks on a whole file held in memory; `name` starts the messages.
 * a->data is a copy: the caller frees it with npy_free. */
npy_result npy_parse(const void *bytes, size_t len, const char *name, npy_array *a, char *err, size_t err_n);
/* The preamble and header npy_save writes for this array: its length, or 0 if
 * the array cannot be described (a dtype not read here, ndim or a dimension out
 * of range) or `n` is too small. */
size_t npy_header(char *buf, size_t n, const char *descr, int ndim, const int64_t *shape);
npy_result npy_save(const char *path, const char *descr, int ndim, const int64_t *shape, const void *data,
                    char *err, size_t err_n);
void npy_free(npy_array *a);

#endif

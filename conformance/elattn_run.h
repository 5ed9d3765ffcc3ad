/*
 * elattn-run's command as a function: the files it reads and writes go
 * through `io`, so that a fuzzer can run the whole input path on arrays held
 * in memory, without a process exit. elattn_run.c's own main() uses files.
 */
#ifndef ELATTN_RUN_H
#define ELATTN_RUN_H

#include <stdio.h>

#include "npy.h"

#define ELATTN_RUN_OK 0
#define ELATTN_RUN_FAILED 1    /* backend error, out of memory, a file not written */
#define ELATTN_RUN_BAD_INPUT 2 /* a file, an option, or a value the library refused */

typedef struct elattn_run_io {
    /* DIR/NAME into *a: NPY_OK, NPY_MISSING (no such file; `err` says so) or a failure with `err` set. */
    npy_result (*load)(void *ctx, const char *dir, const char *name, npy_array *a, char *err, size_t err_n);
    npy_result (*save)(void *ctx, const char *dir, const char *name, const char *descr, int ndim,
                       const int64_t *shape, const void *data, char *err, size_t err_n);
    void *ctx;
    FILE *out; /* the one-line summary, --help */
    FILE *err; /* every message; a nonzero exit code always comes with one */
} elattn_run_io;

/* argv as main() gets it (argv[0] is the program); returns the exit code. */
int elattn_run_main(int argc, char **argv, const elattn_run_io *io);

#endif

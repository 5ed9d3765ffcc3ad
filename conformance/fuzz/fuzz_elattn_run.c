/*
 * libFuzzer target: elattn-run's input handling, whole, on files held in
 * memory (elattn_run_main with an in-memory io table).
 *
 * Input layout (see README.md): the command line as NUL-terminated strings,
 * ended by an empty string; then file records, each one byte naming the file
 * (an index into `names`), two bytes of length (little-endian), the bytes.
 * The device is whatever --backend names; the fuzz build has the reference
 * only.
 *
 * Checks: the exit code is 0 or 2 (1, a failed run, cannot happen on the
 * reference with inputs this small), a nonzero exit comes with a message, a
 * success with its summary line, and every array elattn-run writes can be
 * described by the writer and is as long as its shape says (ASan reads its
 * last byte).
 */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include <stdint.h>
#include <string.h>

#include "../elattn_run.h"
#include "fuzz_common.h"

#define MAX_ARGS 32
#define MAX_INPUT (64 * 1024) /* larger inputs are skipped: they only cost time */

static const char *const names[] = {
    "q.npy",        "k.npy",       "v.npy",       "cu_seqlens_q.npy", "cu_seqlens_k.npy", "modes.npy",
    "block_mask.npy", "taus.npy",  "keys.npy",    "cu_seqlens.npy",   "task_w1.npy",      "task_b1.npy",
    "task_w2.npy",  "task_b2.npy", "head_w1.npy", "head_b1.npy",      "head_w2.npy",      "head_b2.npy",
    "head_w3.npy",  "head_b3.npy",
};
#define NAMES (sizeof names / sizeof names[0])

typedef struct memfs {
    const uint8_t *data[NAMES];
    size_t len[NAMES];
    int present[NAMES];
    int saved;
} memfs;

static npy_result mem_load(void *ctx, const char *dir, const char *name, npy_array *a, char *err, size_t n)
{
    memfs *fs = ctx;
    char full[256];
    snprintf(full, sizeof full, "%.100s/%s", dir, name);
    for (size_t i = 0; i < NAMES; ++i)
        if (!strcmp(name, names[i])) {
            if (!fs->present[i]) break;
            return npy_parse(fs->data[i], fs->len[i], full, a, err, n);
        }
    snprintf(err, n, "%s: no such file", full);
    return NPY_MISSING;
}

static npy_result mem_save(void *ctx, const char *dir, const char *name, const char *descr, int ndim,
                           const int64_t *shape, const void *data, char *err, size_t n)
{
    memfs *fs = ctx;
    (void)dir, (void)err, (void)n;
    char header[1024];
    if (!npy_header(header, sizeof header, descr, ndim, shape))
        finding("elattn-run writes %s (descr %s, ndim %d), which the writer cannot describe", name, descr, ndim);
    size_t bytes = descr[2] == '4' ? 4 : descr[2] == '2' ? 2 : 1;
    for (int i = 0; i < ndim; ++i) bytes *= (size_t)shape[i];
    volatile uint8_t sink = 0;
    if (bytes) sink ^= ((const uint8_t *)data)[bytes - 1]; /* ASan: the data is that long */
    (void)sink;
    fs->saved++;
    return NPY_OK;
}

static char out_buf[4096], err_buf[16384];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT) return 0;
    /* The command line. */
    char *args[MAX_ARGS + 1];
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    int argc = 0;
    size_t pos = 0;
    args[argc++] = "elattn-run";
    while (pos < size && argc < MAX_ARGS) {
        size_t len = strlen(copy + pos);
        if (len == 0) { /* the empty string ends the command line */
            ++pos;
            break;
        }
        args[argc++] = copy + pos;
        pos += len + 1;
    }
    args[argc] = NULL;
    /* The files. */
    memfs fs;
    memset(&fs, 0, sizeof fs);
    while (pos < size) {
        size_t which = data[pos] % NAMES, len = 0;
        if (pos + 1 < size) len = data[pos + 1];
        if (pos + 2 < size) len |= (size_t)data[pos + 2] << 8;
        pos += 3;
        if (pos > size) pos = size;
        if (len > size - pos) len = size - pos;
        fs.data[which] = data + pos;
        fs.len[which] = len;
        fs.present[which] = 1;
        pos += len;
    }

    FILE *out = fmemopen(out_buf, sizeof out_buf, "w"), *err = fmemopen(err_buf, sizeof err_buf, "w");
    if (!out || !err) finding("fmemopen failed");
    const elattn_run_io io = {mem_load, mem_save, &fs, out, err};
    int rc = elattn_run_main(argc, args, &io);
    long out_len = ftell(out), err_len = ftell(err);
    fclose(out);
    fclose(err);
    if (getenv("FUZZ_VERBOSE")) /* what one input does: FUZZ_VERBOSE=1 ./fuzz_elattn_run FILE */
        fprintf(stderr, "exit %d\n%s%s", rc, out_len > 0 ? out_buf : "", err_len > 0 ? err_buf : "");

    if (rc != ELATTN_RUN_OK && rc != ELATTN_RUN_BAD_INPUT) {
        finding("exit code %d (%s)", rc, err_len > 0 ? err_buf : "no message");
    }
    if (rc != ELATTN_RUN_OK && err_len <= 0) finding("exit code %d without a message", rc);
    /* --help and --list print and write nothing */
    if (rc == ELATTN_RUN_OK && argc > 1 && strcmp(args[1], "--help") && strcmp(args[1], "-h") &&
        strcmp(args[1], "--list")) {
        if (out_len <= 0) finding("success without its summary line");
        if (fs.saved == 0) finding("success without writing a file");
    }
    free(copy);
    return 0;
}

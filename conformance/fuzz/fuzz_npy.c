/*
 * libFuzzer target: the .npy reader on arbitrary bytes.
 *
 * Each input is parsed from memory (npy_parse) and from a file (npy_load);
 * both must give the same answer. A failure must leave a message that starts
 * with the file's name and no data behind. An array that loads must satisfy
 * the reader's promises (dimensions in range, count the product of the shape,
 * data exactly count * itemsize bytes long: ASan checks the last byte), and
 * must survive a round trip through the writer's header.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../npy.h"
#include "fuzz_common.h"

static char path[4200], dir[4096];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* Memory-backed when there is one: a file is written per input. */
    const char *tmp = getenv("TMPDIR");
    if (!tmp) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/fuzz_npy.XXXXXX", tmp);
    if (!mkdtemp(dir)) finding("cannot make a temporary directory in %s for npy_load's file", tmp);
    snprintf(path, sizeof path, "%s/in.npy", dir);
    atexit(cleanup);
    return 0;
}

static void check_loaded(const npy_array *a, size_t file_len)
{
    if (a->ndim < 0 || a->ndim > NPY_MAX_DIMS) finding("ndim %d", a->ndim);
    size_t count = 1;
    for (int i = 0; i < a->ndim; ++i) {
        if (a->shape[i] < 0 || a->shape[i] > NPY_MAX_DIM) finding("dimension %d is %lld", i, (long long)a->shape[i]);
        if (a->shape[i] && count > SIZE_MAX / (size_t)a->shape[i]) finding("count overflows but the array loaded");
        count *= (size_t)a->shape[i];
    }
    if (count != a->count) finding("count %zu, product of the shape %zu", a->count, count);
    if (a->itemsize == 0 || a->itemsize > 8) finding("itemsize %zu", a->itemsize);
    size_t bytes = count * a->itemsize;
    if (bytes > file_len) finding("%zu bytes of data from a file of %zu", bytes, file_len);
    if (!a->data) finding("no data pointer");
    volatile uint8_t sink = 0;
    if (bytes) sink ^= ((const uint8_t *)a->data)[bytes - 1]; /* ASan: the buffer holds all of it */
    (void)sink;

    /* The writer's header for this array, then the same data: the reader must give the array back. */
    char header[1024];
    size_t hl = npy_header(header, sizeof header, a->descr, a->ndim, a->shape);
    if (!hl) finding("npy_header cannot describe a loaded array (descr %s, ndim %d)", a->descr, a->ndim);
    uint8_t *again = malloc(hl + bytes + 1);
    memcpy(again, header, hl);
    if (bytes) memcpy(again + hl, a->data, bytes);
    npy_array b;
    char err[512];
    if (npy_parse(again, hl + bytes, "again", &b, err, sizeof err) != NPY_OK) finding("round trip: %s", err);
    if (strcmp(a->descr, b.descr) || a->ndim != b.ndim || a->count != b.count ||
        memcmp(a->shape, b.shape, sizeof a->shape[0] * (size_t)a->ndim) ||
        (bytes && memcmp(a->data, b.data, bytes)))
        finding("round trip changed the array (descr %s -> %s, ndim %d -> %d)", a->descr, b.descr, a->ndim, b.ndim);
    npy_free(&b);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    npy_array a, f;
    char err[512] = "", ferr[512] = "";
    npy_result r = npy_parse(data, size, path, &a, err, sizeof err);

    FILE *out = fopen(path, "wb");
    if (!out || (size && fwrite(data, 1, size, out) != size) || fclose(out) != 0)
        finding("cannot write %s for npy_load", path);
    npy_result rf = npy_load(path, &f, ferr, sizeof ferr);

    if (r != rf) finding("npy_parse says %d (%s), npy_load says %d (%s)", (int)r, err, (int)rf, ferr);
    if (r == NPY_OK) {
        check_loaded(&a, size);
        if (strcmp(a.descr, f.descr) || a.count != f.count || (a.count && memcmp(a.data, f.data, a.count * a.itemsize)))
            finding("npy_parse and npy_load loaded different arrays");
    } else {
        if (strncmp(err, path, strlen(path)) || strlen(err) <= strlen(path) + 2)
            finding("failure %d without a message that names the file: \"%s\"", (int)r, err);
        if (strcmp(err, ferr)) finding("different messages: \"%s\" and \"%s\"", err, ferr);
        if (a.data || f.data) finding("a failed load left data behind");
    }
    npy_free(&a);
    npy_free(&f);
    return 0;
}

/* The .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html */
#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static size_t itemsize_of(const char *descr)
{
    static const struct {
        const char *descr;
        size_t size;
    } known[] = {{"<f4", 4}, {"<f2", 2}, {"<u2", 2}, {"<i4", 4}, {"|u1", 1}, {"<u1", 1}, {"|i1", 1}, {"|b1", 1}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; ++i)
        if (!strcmp(descr, known[i].descr)) return known[i].size;
    return 0;
}

/* The value text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *h, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') ++p;
    if (*p != ':') return NULL;
    ++p;
    while (*p == ' ') ++p;
    return p;
}

static npy_result parse_header(const char *h, npy_array *a, char *err, size_t n)
{
    const char *d = dict_value(h, "descr");
    if (!d || (*d != '\'' && *d != '"')) {
        snprintf(err, n, "header has no 'descr' string");
        return NPY_BAD;
    }
    char quote = *d++;
    size_t len = 0;
    while (d[len] && d[len] != quote && len + 1 < sizeof a->descr) ++len;
    memcpy(a->descr, d, len);
    a->descr[len] = '\0';
    if (a->descr[0] == '>') {
        snprintf(err, n, "dtype '%s' is big-endian; only little-endian arrays are read", a->descr);
        return NPY_BAD;
    }
    if (a->descr[0] == '=') a->descr[0] = '<'; /* native order on a little-endian host */
    a->itemsize = itemsize_of(a->descr);
    if (!a->itemsize) {
        snprintf(err, n, "dtype '%s' is not one of <f4 <f2 <u2 <i4 |u1", a->descr);
        return NPY_BAD;
    }
    const char *f = dict_value(h, "fortran_order");
    if (!f || strncmp(f, "False", 5) != 0) {
        snprintf(err, n, "array is not in C order (fortran_order must be False)");
        return NPY_BAD;
    }
    const char *s = dict_value(h, "shape");
    if (!s || *s != '(') {
        snprintf(err, n, "header has no 'shape' tuple");
        return NPY_BAD;
    }
    ++s;
    a->ndim = 0;
    a->count = 1;
    for (;;) {
        while (*s == ' ' || *s == ',') ++s;
        if (*s == ')') break;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0) {
            snprintf(err, n, "cannot read the shape tuple");
            return NPY_BAD;
        }
        if (a->ndim == NPY_MAX_DIMS) {
            snprintf(err, n, "more than %d dimensions", NPY_MAX_DIMS);
            return NPY_BAD;
        }
        a->shape[a->ndim++] = v;
        a->count *= (size_t)v;
        s = end;
        while (*s == 'L') ++s; /* Python 2 longs */
    }
    return NPY_OK;
}

npy_result npy_load(const char *path, npy_array *a, char *err, size_t n)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int missing = errno == ENOENT;
        snprintf(err, n, "%s: %s", path, missing ? "no such file" : strerror(errno));
        return missing ? NPY_MISSING : NPY_IO;
    }
    unsigned char pre[10];
    npy_result res = NPY_BAD;
    char *header = NULL;
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, magic, 6) != 0) {
        snprintf(err, n, "%s: not a .npy file (no \\x93NUMPY magic)", path);
        goto out;
    }
    size_t hlen;
    if (pre[6] == 1) {
        if (fread(pre + 8, 1, 2, f) != 2) goto short_read;
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2) {
        unsigned char l[4];
        if (fread(l, 1, 4, f) != 4) goto short_read;
        hlen = (size_t)l[0] | (size_t)l[1] << 8 | (size_t)l[2] << 16 | (size_t)l[3] << 24;
    } else {
        snprintf(err, n, "%s: .npy format version %d.%d; only 1.0 and 2.0 are read", path, pre[6], pre[7]);
        goto out;
    }
    if (hlen > (1u << 20)) {
        snprintf(err, n, "%s: header of %zu bytes is not plausible", path, hlen);
        goto out;
    }
    header = malloc(hlen + 1);
    if (!header) {
        snprintf(err, n, "%s: out of memory", path);
        res = NPY_IO;
        goto out;
    }
    if (fread(header, 1, hlen, f) != hlen) goto short_read;
    header[hlen] = '\0';
    char why[160];
    if (parse_header(header, a, why, sizeof why) != NPY_OK) {
        snprintf(err, n, "%s: %s", path, why);
        goto out;
    }
    size_t bytes = a->count * a->itemsize;
    a->data = malloc(bytes ? bytes : 1);
    if (!a->data) {
        snprintf(err, n, "%s: out of memory for %zu bytes", path, bytes);
        res = NPY_IO;
        goto out;
    }
    if (fread(a->data, 1, bytes, f) != bytes) goto short_read;
    res = NPY_OK;
    goto out;
short_read:
    snprintf(err, n, "%s: file ends early", path);
    res = NPY_BAD;
out:
    free(header);
    fclose(f);
    if (res != NPY_OK) npy_free(a);
    return res;
}

npy_result npy_save(const char *path, const char *descr, int ndim, const int64_t *shape, const void *data,
                    char *err, size_t n)
{
    char dict[512], dims[256] = "";
    size_t count = 1, used = 0;
    for (int i = 0; i < ndim; ++i) {
        used += (size_t)snprintf(dims + used, sizeof dims - used, "%lld%s", (long long)shape[i],
                                 ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
        count *= (size_t)shape[i];
    }
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    /* magic(6) + version(2) + length(2) + dict + padding + '\n' is a multiple of 64 */
    size_t total = 10 + (size_t)dl + 1, pad = (64 - total % 64) % 64, hlen = (size_t)dl + pad + 1;
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return NPY_IO;
    }
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xFF),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)dl, f) == (size_t)dl;
    for (size_t i = 0; ok && i < pad; ++i) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    size_t bytes = count * itemsize_of(descr);
    ok = ok && (bytes == 0 || fwrite(data, 1, bytes, f) == bytes);
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        snprintf(err, n, "%s: write failed", path);
        return NPY_IO;
    }
    return NPY_OK;
}

void npy_free(npy_array *a)
{
    free(a->data);
    a->data = NULL;
}

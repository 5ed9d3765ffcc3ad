/* The .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* *out = a * b; nonzero if that does not fit in a size_t. */
static int mul_overflows(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 1;
    *out = a * b;
    return 0;
}

/* "(4, 1, 64)" for messages. */
static const char *shape_text(const npy_array *a, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < a->ndim && used < n; ++i)
        used += (size_t)snprintf(buf + used, n - used, "%lld%s", (long long)a->shape[i],
                                 a->ndim == 1 ? "," : i + 1 < a->ndim ? ", " : "");
    if (used < n) snprintf(buf + used, n - used, ")");
    return buf;
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

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* The header dict: dtype, order, shape. Sets a->descr, itemsize, ndim, shape and count. */
static npy_result parse_header(const char *h, npy_array *a, char *err, size_t n)
{
    const char *d = dict_value(h, "descr");
    if (!d || (*d != '\'' && *d != '"')) {
        snprintf(err, n, "header has no 'descr' string");
        return NPY_BAD;
    }
    char quote = *d++;
    const char *end = strchr(d, quote);
    if (!end) {
        snprintf(err, n, "header's 'descr' string has no closing quote");
        return NPY_BAD;
    }
    if ((size_t)(end - d) >= sizeof a->descr) {
        snprintf(err, n, "dtype (descr) '%.15s...' is not one of <f4 <f2 <u2 <i4 |u1", d);
        return NPY_BAD;
    }
    memcpy(a->descr, d, (size_t)(end - d));
    a->descr[end - d] = '\0';
    if (a->descr[0] == '>') {
        snprintf(err, n, "dtype '%s' is big-endian; only little-endian arrays are read", a->descr);
        return NPY_BAD;
    }
    if (a->descr[0] == '=') a->descr[0] = '<'; /* native order on a little-endian host */
    a->itemsize = itemsize_of(a->descr);
    if (!a->itemsize) {
        snprintf(err, n, "dtype (descr) '%s' is not one of <f4 <f2 <u2 <i4 |u1", a->descr);
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
    const char *tuple = s++;
    int tuple_len = (int)strcspn(tuple, ")") + 1; /* for messages: the tuple as written, bounded below */
    if (tuple_len > 40) tuple_len = 40;
    a->ndim = 0;
    for (;;) {
        while (*s == ' ') ++s;
        if (*s == ')') break;
        if (!is_digit(*s)) {
            snprintf(err, n, "shape %.*s: not a tuple of non-negative integers", tuple_len, tuple);
            return NPY_BAD;
        }
        if (a->ndim == NPY_MAX_DIMS) {
            snprintf(err, n, "shape %.*s: more than %d dimensions", tuple_len, tuple, NPY_MAX_DIMS);
            return NPY_BAD;
        }
        /* Digit by digit with a bound: strtoll would saturate at 2^63 - 1 without a word. */
        const char *digits = s;
        int64_t v = 0;
        int too_large = 0;
        for (; is_digit(*s); ++s) {
            if (v > (NPY_MAX_DIM - (*s - '0')) / 10) too_large = 1;
            else v = v * 10 + (*s - '0');
        }
        if (too_large) {
            snprintf(err, n, "shape: dimension %d (%.*s) is too large (at most %d)", a->ndim,
                     (int)(s - digits > 40 ? 40 : s - digits), digits, NPY_MAX_DIM);
            return NPY_BAD;
        }
        a->shape[a->ndim++] = v;
        while (*s == 'L') ++s; /* Python 2 longs */
        while (*s == ' ') ++s;
        if (*s == ',') ++s;
        else if (*s != ')') {
            snprintf(err, n, "shape %.*s: not a tuple of non-negative integers", tuple_len, tuple);
            return NPY_BAD;
        }
    }
    size_t count = 1, bytes;
    for (int i = 0; i < a->ndim; ++i) {
        if (mul_overflows(count, (size_t)a->shape[i], &count)) {
            char st[160];
            snprintf(err, n, "shape %s is too large: its element count overflows", shape_text(a, st, sizeof st));
            return NPY_BAD;
        }
    }
    if (mul_overflows(count, a->itemsize, &bytes)) {
        char st[160];
        snprintf(err, n, "shape %s of %s is too large: its size in bytes overflows", shape_text(a, st, sizeof st),
                 a->descr);
        return NPY_BAD;
    }
    a->count = count;
    return NPY_OK;
}

/* Where the bytes come from: a file or memory; the whole length is known before anything is read. */
typedef struct source {
    FILE *f;
    const unsigned char *mem;
    size_t len, pos;
} source;

static size_t source_read(source *s, void *dst, size_t n)
{
    size_t k;
    if (s->f) {
        k = fread(dst, 1, n, s->f);
    } else {
        k = n < s->len - s->pos ? n : s->len - s->pos;
        if (k) memcpy(dst, s->mem + s->pos, k);
    }
    s->pos += k;
    return k;
}

/* Reads one array from `s`: the sizes are checked against s->len before anything is allocated from them. */
static npy_result read_npy(source *s, const char *name, npy_array *a, char *err, size_t n)
{
    unsigned char pre[8], lenb[4];
    char *header = NULL, why[256];
    npy_result res = NPY_BAD;
    if (source_read(s, pre, 8) != 8 || memcmp(pre, magic, 6) != 0) {
        snprintf(err, n, "%s: not a .npy file (no \\x93NUMPY magic)", name);
        return NPY_BAD;
    }
    size_t width = pre[6] == 1 ? 2 : pre[6] == 2 ? 4 : 0; /* bytes of the header length */
    if (!width) {
        snprintf(err, n, "%s: .npy format version %d.%d; only 1.0 and 2.0 are read", name, pre[6], pre[7]);
        return NPY_BAD;
    }
    if (source_read(s, lenb, width) != width) {
        snprintf(err, n, "%s: file ends in the .npy preamble", name);
        return NPY_BAD;
    }
    size_t hlen = (size_t)lenb[0] | (size_t)lenb[1] << 8;
    if (width == 4) hlen |= (size_t)lenb[2] << 16 | (size_t)lenb[3] << 24;
    size_t start = 8 + width;
    if (hlen > s->len - start) {
        snprintf(err, n, "%s: header of %zu bytes, but the file has %zu bytes after the %zu-byte preamble", name,
                 hlen, s->len - start, start);
        return NPY_BAD;
    }
    if (hlen > NPY_MAX_HEADER) {
        snprintf(err, n, "%s: header of %zu bytes is not plausible", name, hlen);
        return NPY_BAD;
    }
    header = malloc(hlen + 1);
    if (!header) {
        snprintf(err, n, "%s: out of memory", name);
        return NPY_IO;
    }
    if (source_read(s, header, hlen) != hlen) {
        snprintf(err, n, "%s: file ends in the header", name);
        goto out;
    }
    header[hlen] = '\0';
    if (parse_header(header, a, why, sizeof why) != NPY_OK) {
        snprintf(err, n, "%s: %s", name, why);
        goto out;
    }
    size_t bytes = a->count * a->itemsize; /* parse_header checked the product */
    size_t data_len = s->len - start - hlen;
    if (data_len != bytes) {
        char st[160];
        snprintf(err, n, "%s: %s: the header's shape %s of %s needs %zu bytes of data, the file has %zu", name,
                 data_len < bytes ? "file ends early" : "trailing bytes", shape_text(a, st, sizeof st), a->descr,
                 bytes, data_len);
        goto out;
    }
    a->data = malloc(bytes ? bytes : 1);
    if (!a->data) {
        snprintf(err, n, "%s: out of memory for %zu bytes", name, bytes);
        res = NPY_IO;
        goto out;
    }
    if (source_read(s, a->data, bytes) != bytes) {
        snprintf(err, n, "%s: file ends early (it changed while being read?)", name);
        goto out;
    }
    res = NPY_OK;
out:
    free(header);
    return res;
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
    struct stat st;
    npy_result res;
    if (fstat(fileno(f), &st) != 0) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        res = NPY_IO;
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, n, "%s: not a regular file", path);
        res = NPY_BAD;
    } else {
        source s = {.f = f, .len = (size_t)st.st_size};
        res = read_npy(&s, path, a, err, n);
    }
    fclose(f);
    if (res != NPY_OK) npy_free(a);
    return res;
}

npy_result npy_parse(const void *bytes, size_t len, const char *name, npy_array *a, char *err, size_t n)
{
    memset(a, 0, sizeof *a);
    source s = {.mem = bytes, .len = len};
    npy_result res = read_npy(&s, name, a, err, n);
    if (res != NPY_OK) npy_free(a);
    return res;
}

size_t npy_header(char *buf, size_t n, const char *descr, int ndim, const int64_t *shape)
{
    char dims[NPY_MAX_DIMS * 24] = "";
    size_t used = 0;
    if (!itemsize_of(descr) || ndim < 0 || ndim > NPY_MAX_DIMS) return 0;
    for (int i = 0; i < ndim; ++i) {
        if (shape[i] < 0 || shape[i] > NPY_MAX_DIM) return 0;
        used += (size_t)snprintf(dims + used, sizeof dims - used, "%lld%s", (long long)shape[i],
                                 ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
    }
    char dict[sizeof dims + 96];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    /* magic(6) + version(2) + length(2) + dict + padding + '\n' is a multiple of 64 */
    size_t total = 10 + (size_t)dl + 1, pad = (64 - total % 64) % 64, hlen = (size_t)dl + pad + 1;
    if (total + pad > n) return 0;
    memcpy(buf, magic, 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(hlen & 0xFF);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)dl);
    memset(buf + 10 + dl, ' ', pad);
    buf[total + pad - 1] = '\n';
    return total + pad;
}

npy_result npy_save(const char *path, const char *descr, int ndim, const int64_t *shape, const void *data,
                    char *err, size_t n)
{
    char header[1024];
    size_t hl = npy_header(header, sizeof header, descr, ndim, shape), count = 1, bytes;
    for (int i = 0; hl && i < ndim; ++i)
        if (mul_overflows(count, (size_t)shape[i], &count)) hl = 0;
    if (!hl || mul_overflows(count, itemsize_of(descr), &bytes)) {
        snprintf(err, n, "%s: dtype %s with %d dimensions cannot be written", path, descr, ndim);
        return NPY_BAD;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return NPY_IO;
    }
    int ok = fwrite(header, 1, hl, f) == hl;
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

/*
 * The safetensors reader: a strict, bounded JSON parser for the header and
 * for a sharded checkpoint's index, and the file reads around it. See
 * safetensors.h for what is accepted.
 */
#define _FILE_OFFSET_BITS 64     /* shards are larger than 2 GiB */
#define _POSIX_C_SOURCE 200809L /* fseeko, ftello */
#include "safetensors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#define st_seek _fseeki64
#define st_tell _ftelli64
#else
#define st_seek fseeko
#define st_tell ftello
#endif

static const struct {
    const char *name;
    unsigned bits;
} dtypes[ELATTN_ST_DTYPE_COUNT] = {
    [ELATTN_ST_BOOL] = {"BOOL", 8},       [ELATTN_ST_F4] = {"F4", 4},
    [ELATTN_ST_F6_E2M3] = {"F6_E2M3", 6}, [ELATTN_ST_F6_E3M2] = {"F6_E3M2", 6},
    [ELATTN_ST_U8] = {"U8", 8},           [ELATTN_ST_I8] = {"I8", 8},
    [ELATTN_ST_F8_E5M2] = {"F8_E5M2", 8}, [ELATTN_ST_F8_E4M3] = {"F8_E4M3", 8},
    [ELATTN_ST_F8_E8M0] = {"F8_E8M0", 8}, [ELATTN_ST_I16] = {"I16", 16},
    [ELATTN_ST_U16] = {"U16", 16},        [ELATTN_ST_F16] = {"F16", 16},
    [ELATTN_ST_BF16] = {"BF16", 16},      [ELATTN_ST_I32] = {"I32", 32},
    [ELATTN_ST_U32] = {"U32", 32},        [ELATTN_ST_F32] = {"F32", 32},
    [ELATTN_ST_C64] = {"C64", 64},        [ELATTN_ST_F64] = {"F64", 64},
    [ELATTN_ST_I64] = {"I64", 64},        [ELATTN_ST_U64] = {"U64", 64},
};

const char *elattn_st_dtype_name(elattn_st_dtype dtype)
{
    return (unsigned)dtype < ELATTN_ST_DTYPE_COUNT ? dtypes[dtype].name : "?";
}

static elattn_status say(char *err, size_t errlen, elattn_status st, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* ---- the JSON reader ----------------------------------------------------------------------------- */
typedef struct rd {
    const uint8_t *start, *p, *end;
    const char *file, *what; /* "header" or "index" */
    char *err;
    size_t errlen;
    char *arena; /* decoded strings: never more bytes than the JSON itself */
    size_t used;
} rd;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static elattn_status bad(rd *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return say(r->err, r->errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: %s, JSON byte %zu: %s", r->file, r->what,
               (size_t)(r->p - r->start), msg);
}

static void ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) ++r->p;
}

static int peek(rd *r) { return r->p < r->end ? *r->p : -1; }

static elattn_status expect(rd *r, char c)
{
    ws(r);
    if (peek(r) != (unsigned char)c) return bad(r, "expected '%c'", c);
    ++r->p;
    return ELATTN_SUCCESS;
}

static void put_utf8(rd *r, uint32_t cp)
{
    char *o = r->arena + r->used;
    if (cp < 0x80) {
        o[0] = (char)cp, r->used += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F)), r->used += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | (cp >> 6 & 0x3F)), o[2] = (char)(0x80 | (cp & 0x3F));
        r->used += 3;
    } else {
        o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        o[2] = (char)(0x80 | (cp >> 6 & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F));
        r->used += 4;
    }
}

static int hex4(rd *r, uint32_t *v)
{
    if (r->end - r->p < 4) return 0;
    *v = 0;
    for (int i = 0; i < 4; ++i) {
        int c = r->p[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                             : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return 0;
        *v = *v << 4 | (uint32_t)d;
    }
    r->p += 4;
    return 1;
}

/* Length of a well-formed UTF-8 sequence at p (RFC 3629: no overlong form, no surrogate), 0 if none. */
static int utf8_len(const uint8_t *p, const uint8_t *end)
{
    const uint8_t c = p[0];
    int n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (end - p < n || p[1] < lo || p[1] > hi) return 0;
    for (int i = 2; i < n; ++i)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

/* A string, decoded into the arena; *out points at it (NUL-terminated). */
static elattn_status string(rd *r, const char **out)
{
    ws(r);
    if (peek(r) != '"') return bad(r, "expected a string");
    ++r->p;
    char *s = r->arena + r->used;
    for (;;) {
        if (r->p >= r->end) return bad(r, "unterminated string");
        const uint8_t c = *r->p;
        if (c == '"') {
            ++r->p;
            break;
        }
        if (c < 0x20) return bad(r, "control character 0x%02x in a string", c);
        if (c == '\\') {
            if (r->end - r->p < 2) return bad(r, "unterminated escape");
            const uint8_t e = r->p[1];
            r->p += 2;
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *k = e ? strchr(from, e) : NULL;
            if (k) {
                r->arena[r->used++] = to[k - from];
                continue;
            }
            if (e != 'u') return bad(r, "invalid escape '\\%c'", e >= 0x20 && e < 0x7F ? e : '?');
            uint32_t cp, lo;
            if (!hex4(r, &cp)) return bad(r, "\\u needs four hex digits");
            if (cp >= 0xDC00 && cp <= 0xDFFF) return bad(r, "lone low surrogate \\u%04X", (unsigned)cp);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
                    return bad(r, "high surrogate \\u%04X without its low half", (unsigned)cp);
                r->p += 2;
                if (!hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return bad(r, "high surrogate \\u%04X without its low half", (unsigned)cp);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) return bad(r, "\\u0000 in a string");
            put_utf8(r, cp); /* at most 4 bytes for at least 6 read */
            continue;
        }
        if (c < 0x80) {
            r->arena[r->used++] = (char)c;
            ++r->p;
            continue;
        }
        const int n = utf8_len(r->p, r->end);
        if (!n) return bad(r, "invalid UTF-8 in a string");
        memcpy(r->arena + r->used, r->p, (size_t)n);
        r->used += (size_t)n, r->p += n;
    }
    r->arena[r->used++] = '\0'; /* the two quotes paid for it */
    *out = s;
    return ELATTN_SUCCESS;
}

/* A non-negative integer that fits in 64 bits, as written by the format's writer: no sign, no
 * leading zero, no fraction or exponent. */
static elattn_status uint_value(rd *r, const char *name, uint64_t *v)
{
    ws(r);
    const int c = peek(r);
    if (c < '0' || c > '9') return bad(r, "%s: expected a non-negative integer", name);
    *v = 0;
    if (c == '0') {
        ++r->p;
    } else {
        while (peek(r) >= '0' && peek(r) <= '9') {
            const unsigned d = (unsigned)(*r->p - '0');
            if (*v > (UINT64_MAX - d) / 10) return bad(r, "%s: integer does not fit in 64 bits", name);
            *v = *v * 10 + d;
            ++r->p;
        }
    }
    const int n = peek(r);
    if ((n >= '0' && n <= '9') || n == '.' || n == 'e' || n == 'E')
        return bad(r, "%s: expected a non-negative integer (no leading zero, fraction or exponent)", name);
    return ELATTN_SUCCESS;
}

static int digits(rd *r)
{
    int n = 0;
    while (peek(r) >= '0' && peek(r) <= '9') ++r->p, ++n;
    return n;
}

static elattn_status skip_value(rd *r, int depth);

static elattn_status skip_container(rd *r, int depth, char close)
{
    ++r->p;
    ws(r);
    if (peek(r) == close) {
        ++r->p;
        return ELATTN_SUCCESS;
    }
    for (;;) {
        elattn_status st;
        const char *key;
        if (close == '}' && ((st = string(r, &key)) || (st = expect(r, ':')))) return st;
        if ((st = skip_value(r, depth + 1))) return st;
        ws(r);
        if (peek(r) == ',') {
            ++r->p;
            continue;
        }
        return expect(r, close);
    }
}

/* Any JSON value (RFC 8259 grammar), nested at most ELATTN_ST_MAX_DEPTH deep. */
static elattn_status skip_value(rd *r, int depth)
{
    if (depth > ELATTN_ST_MAX_DEPTH) return bad(r, "nested deeper than %d", ELATTN_ST_MAX_DEPTH);
    ws(r);
    const int c = peek(r);
    const char *s;
    if (c == '{' || c == '[') return skip_container(r, depth, c == '{' ? '}' : ']');
    if (c == '"') return string(r, &s);
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; ++i) {
        const size_t n = strlen(words[i]);
        if ((size_t)(r->end - r->p) >= n && !memcmp(r->p, words[i], n)) {
            r->p += n;
            return ELATTN_SUCCESS;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        if (c == '-') ++r->p;
        if (peek(r) == '0') ++r->p;
        else if (!digits(r)) return bad(r, "invalid number");
        if (peek(r) == '.' && (++r->p, !digits(r))) return bad(r, "invalid number");
        if (peek(r) == 'e' || peek(r) == 'E') {
            ++r->p;
            if (peek(r) == '+' || peek(r) == '-') ++r->p;
            if (!digits(r)) return bad(r, "invalid number");
        }
        return ELATTN_SUCCESS;
    }
    return bad(r, "expected a value");
}

/* After the top-level object: whitespace only (the writer pads with spaces). */
static elattn_status finish(rd *r)
{
    ws(r);
    return r->p == r->end ? ELATTN_SUCCESS : bad(r, "bytes after the top-level object");
}

static elattn_status begin(rd *r, const char *file, const char *what, const uint8_t *json, size_t len, char *err,
                           size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->start = r->p = json;
    r->end = json + len;
    r->file = file, r->what = what, r->err = err, r->errlen = errlen;
    r->arena = malloc(len + 1);
    if (!r->arena) return say(err, errlen, ELATTN_ERROR_OUT_OF_MEMORY, "%s: %s of %zu bytes: host allocation failed",
                              file, what, len);
    return ELATTN_SUCCESS;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A name that two of `count` items (`stride` bytes apart, each starting with its name) share, or
 * NULL; *oom when the sort could not be made. */
static const char *duplicate(const void *items, int count, size_t stride, int *oom)
{
    *oom = 0;
    if (count < 2) return NULL;
    const char **names = malloc((size_t)count * sizeof *names);
    if (!names) {
        *oom = 1;
        return NULL;
    }
    for (int i = 0; i < count; ++i) memcpy(&names[i], (const char *)items + (size_t)i * stride, sizeof *names);
    qsort(names, (size_t)count, sizeof *names, by_name);
    const char *dup = NULL;
    for (int i = 1; i < count && !dup; ++i)
        if (!strcmp(names[i - 1], names[i])) dup = names[i];
    free(names);
    return dup;
}

/* The members of an object, after its '{', one per call: 1 with *key read
 * and its ':' consumed, 0 after the closing '}', -1 with *st set. *seen
 * counts the members so far (start it at 0). */
static int next_member(rd *r, int *seen, const char **key, elattn_status *st)
{
    ws(r);
    if (*seen == 0 && peek(r) == '}') {
        ++r->p;
        return 0;
    }
    if (*seen > 0) {
        if (peek(r) != ',') return (*st = expect(r, '}')) ? -1 : 0;
        ++r->p;
    }
    ++*seen;
    return (*st = string(r, key)) || (*st = expect(r, ':')) ? -1 : 1;
}

/* ---- the header ----------------------------------------------------------------------------------- */
static elattn_status metadata(rd *r)
{
    elattn_status st;
    const char **keys = NULL, *key, *value;
    int n = 0, cap = 0, seen = 0;
    if ((st = expect(r, '{'))) return st;
    while (next_member(r, &seen, &key, &st) > 0) {
        ws(r);
        if (peek(r) != '"') {
            st = bad(r, "__metadata__[\"%s\"]: values must be strings", key);
            break;
        }
        if ((st = string(r, &value))) break;
        if (n == cap) {
            const char **k = cap < (1 << 24) ? realloc(keys, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *k) : NULL;
            if (!k) {
                st = say(r->err, r->errlen, ELATTN_ERROR_OUT_OF_MEMORY, "%s: header: host allocation failed", r->file);
                break;
            }
            keys = k;
        }
        keys[n++] = key;
    }
    if (!st) {
        int oom;
        const char *dup = duplicate(keys, n, sizeof *keys, &oom);
        if (oom) st = say(r->err, r->errlen, ELATTN_ERROR_OUT_OF_MEMORY, "%s: header: host allocation failed", r->file);
        else if (dup) st = bad(r, "__metadata__ has the key \"%s\" twice", dup);
    }
    free(keys);
    return st;
}

static elattn_status uint_array(rd *r, const char *tensor, const char *field, uint64_t *v, int max, int *n)
{
    elattn_status st;
    if ((st = expect(r, '['))) return bad(r, "tensor \"%s\": %s must be an array", tensor, field);
    *n = 0;
    ws(r);
    if (peek(r) == ']') {
        ++r->p;
        return ELATTN_SUCCESS;
    }
    for (;;) {
        if (*n == max) return bad(r, "tensor \"%s\": %s has more than %d entries", tensor, field, max);
        if ((st = uint_value(r, field, &v[(*n)++]))) return st;
        ws(r);
        if (peek(r) == ',') {
            ++r->p;
            continue;
        }
        return expect(r, ']');
    }
}

static elattn_status tensor_entry(rd *r, elattn_st_tensor *t)
{
    elattn_status st;
    int seen[3] = {0, 0, 0}, members = 0, more;
    const char *key, *dt;
    if ((st = expect(r, '{'))) return bad(r, "tensor \"%s\": expected an object", t->name);
    while ((more = next_member(r, &members, &key, &st)) > 0) {
        int f = !strcmp(key, "dtype") ? 0 : !strcmp(key, "shape") ? 1 : !strcmp(key, "data_offsets") ? 2 : -1;
        if (f < 0) return bad(r, "tensor \"%s\": unknown field \"%s\"", t->name, key);
        if (seen[f]++) return bad(r, "tensor \"%s\": field \"%s\" twice", t->name, key);
        if (f == 0) {
            if ((st = string(r, &dt))) return st;
            t->dtype = ELATTN_ST_DTYPE_COUNT;
            for (int i = 0; i < ELATTN_ST_DTYPE_COUNT; ++i)
                if (!strcmp(dt, dtypes[i].name)) t->dtype = (elattn_st_dtype)i;
            if (t->dtype == ELATTN_ST_DTYPE_COUNT) return bad(r, "tensor \"%s\": unknown dtype \"%s\"", t->name, dt);
        } else if (f == 1) {
            if ((st = uint_array(r, t->name, "shape", t->shape, ELATTN_ST_MAX_RANK, &t->rank))) return st;
        } else {
            uint64_t off[2];
            int n;
            if ((st = uint_array(r, t->name, "data_offsets", off, 2, &n))) return st;
            if (n != 2) return bad(r, "tensor \"%s\": data_offsets must be [begin, end]", t->name);
            t->begin = off[0], t->end = off[1];
        }
    }
    if (more < 0) return st;
    for (int f = 0; f < 3; ++f)
        if (!seen[f])
            return bad(r, "tensor \"%s\": no \"%s\"", t->name, f == 0 ? "dtype" : f == 1 ? "shape" : "data_offsets");
    return ELATTN_SUCCESS;
}

static int by_offset(const void *a, const void *b)
{
    const elattn_st_tensor *x = *(const elattn_st_tensor *const *)a, *y = *(const elattn_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Sizes, then the tiling of the data section. */
static elattn_status check_layout(const char *file, elattn_st_header *h, uint64_t data_bytes, char *err,
                                  size_t errlen)
{
    for (int i = 0; i < h->count; ++i) {
        const elattn_st_tensor *t = &h->tensors[i];
        uint64_t n = 1;
        for (int d = 0; d < t->rank; ++d) {
            if (t->shape[d] && n > UINT64_MAX / t->shape[d])
                return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT,
                           "%s: tensor \"%s\": element count of its shape overflows", file, t->name);
            n *= t->shape[d];
        }
        const uint64_t bits = dtypes[t->dtype].bits;
        if (n > UINT64_MAX / bits)
            return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: tensor \"%s\": byte count overflows", file,
                       t->name);
        if (n * bits % 8)
            return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT,
                       "%s: tensor \"%s\": %llu %s elements do not fill whole bytes", file, t->name,
                       (unsigned long long)n, dtypes[t->dtype].name);
        if (t->end < t->begin || t->end - t->begin != n * bits / 8)
            return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT,
                       "%s: tensor \"%s\": data_offsets [%llu, %llu] hold %s bytes; its shape and dtype %s need %llu",
                       file, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                       t->end < t->begin ? "negative" : "a different number of", dtypes[t->dtype].name,
                       (unsigned long long)(n * bits / 8));
    }
    if (h->count <= 0) {
        if (data_bytes)
            return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT,
                       "%s: no tensor, but %llu bytes of data after the header", file, (unsigned long long)data_bytes);
        return ELATTN_SUCCESS;
    }
    elattn_st_tensor **order = malloc((size_t)h->count * sizeof *order);
    if (!order) return say(err, errlen, ELATTN_ERROR_OUT_OF_MEMORY, "%s: host allocation failed", file);
    for (int i = 0; i < h->count; ++i) order[i] = &h->tensors[i];
    qsort(order, (size_t)h->count, sizeof *order, by_offset);
    elattn_status st = ELATTN_SUCCESS;
    uint64_t at = 0;
    for (int i = 0; i < h->count && !st; ++i) {
        const elattn_st_tensor *t = order[i];
        if (t->begin < at)
            st = say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: tensors \"%s\" and \"%s\" overlap", file,
                     order[i - 1]->name, t->name);
        else if (t->begin > at)
            st = say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT,
                     "%s: tensor \"%s\" starts at data offset %llu, leaving bytes [%llu, %llu) unused", file, t->name,
                     (unsigned long long)t->begin, (unsigned long long)at, (unsigned long long)t->begin);
        else if (t->end > data_bytes)
            st = say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT,
                     "%s: tensor \"%s\" ends at data offset %llu, past the data's %llu bytes (file truncated?)", file,
                     t->name, (unsigned long long)t->end, (unsigned long long)data_bytes);
        at = t->end;
    }
    if (!st && at != data_bytes)
        st = say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT,
                 "%s: the tensors end at data offset %llu but %llu bytes of data follow the header", file,
                 (unsigned long long)at, (unsigned long long)data_bytes);
    free(order);
    return st;
}

elattn_status elattn_st_parse_header(const char *file, const uint8_t *json, size_t len, uint64_t data_bytes,
                                     elattn_st_header *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    rd r;
    elattn_status st = begin(&r, file, "header", json, len, err, errlen);
    if (st) return st;
    elattn_st_header h = {0};
    int cap = 0, seen_meta = 0;
    const char *key;
    if (peek(&r) != '{') { /* the format: the first byte opens the object */
        st = bad(&r, "a header starts with '{'");
        goto done;
    }
    if ((st = expect(&r, '{'))) goto done;
    int members = 0, more;
    while ((more = next_member(&r, &members, &key, &st)) > 0) {
        if (!strcmp(key, "__metadata__")) {
            if (seen_meta++) {
                st = bad(&r, "__metadata__ twice");
                goto done;
            }
            if ((st = metadata(&r))) goto done;
        } else {
            if (h.count == cap) {
                elattn_st_tensor *t = cap < (1 << 24) ? realloc(h.tensors, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *t)
                                                      : NULL;
                if (!t) {
                    st = say(err, errlen, ELATTN_ERROR_OUT_OF_MEMORY, "%s: header: host allocation failed", file);
                    goto done;
                }
                h.tensors = t;
            }
            elattn_st_tensor *t = &h.tensors[h.count++];
            memset(t, 0, sizeof *t);
            t->name = key;
            if ((st = tensor_entry(&r, t))) goto done;
        }
    }
    if (more < 0 || (st = finish(&r))) goto done;
    int oom;
    const char *dup = duplicate(h.tensors, h.count, sizeof *h.tensors, &oom);
    if (oom) st = say(err, errlen, ELATTN_ERROR_OUT_OF_MEMORY, "%s: header: host allocation failed", file);
    else if (dup) st = say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: tensor \"%s\" is listed twice", file, dup);
    else st = check_layout(file, &h, data_bytes, err, errlen);
done:
    if (st) {
        free(h.tensors);
        free(r.arena);
        return st;
    }
    h.strings = r.arena;
    *out = h;
    return ELATTN_SUCCESS;
}

static uint64_t le64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | b[i];
    return v;
}

static elattn_status header_length(const char *file, uint64_t n, uint64_t size, char *err, size_t errlen)
{
    if (size < 8)
        return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: %llu bytes, too short for a safetensors file", file,
                   (unsigned long long)size);
    if (n > ELATTN_ST_MAX_HEADER)
        return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: header length %llu is more than the limit %u",
                   file, (unsigned long long)n, ELATTN_ST_MAX_HEADER);
    if (n > size - 8)
        return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT,
                   "%s: header length %llu is more than the %llu bytes after it (not a safetensors file?)", file,
                   (unsigned long long)n, (unsigned long long)(size - 8));
    return ELATTN_SUCCESS;
}

elattn_status elattn_st_parse_file(const char *file, const uint8_t *bytes, size_t size, elattn_st_header *out,
                                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const uint64_t n = size >= 8 ? le64(bytes) : 0;
    elattn_status st = header_length(file, n, size, err, errlen);
    if (st) return st;
    if ((st = elattn_st_parse_header(file, bytes + 8, (size_t)n, size - 8 - n, out, err, errlen))) return st;
    out->data_offset = 8 + n;
    return ELATTN_SUCCESS;
}

static elattn_status file_size(const char *file, FILE *f, uint64_t *size, char *err, size_t errlen)
{
    if (st_seek(f, 0, SEEK_END) != 0) goto fail;
    const long long at = (long long)st_tell(f);
    if (at < 0 || st_seek(f, 0, SEEK_SET) != 0) goto fail;
    *size = (uint64_t)at;
    return ELATTN_SUCCESS;
fail:
    return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: cannot seek (%s)", file, strerror(errno));
}

static elattn_status read_at(const char *file, FILE *f, uint64_t at, void *dst, size_t bytes, char *err,
                             size_t errlen)
{
    if (at > (uint64_t)INT64_MAX || st_seek(f, (long long)at, SEEK_SET) != 0 ||
        (bytes && fread(dst, 1, bytes, f) != bytes))
        return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: cannot read %zu bytes at offset %llu (%s)", file,
                   bytes, (unsigned long long)at, ferror(f) ? strerror(errno) : "end of file");
    return ELATTN_SUCCESS;
}

elattn_status elattn_st_read_header(const char *file, FILE *f, elattn_st_header *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    uint64_t size = 0, n = 0;
    uint8_t len[8];
    elattn_status st = file_size(file, f, &size, err, errlen);
    if (!st && size >= 8 && !(st = read_at(file, f, 0, len, 8, err, errlen))) n = le64(len);
    if (st || (st = header_length(file, n, size, err, errlen))) return st;
    uint8_t *json = malloc(n ? (size_t)n : 1); /* bounded by ELATTN_ST_MAX_HEADER and the file */
    if (!json) return say(err, errlen, ELATTN_ERROR_OUT_OF_MEMORY, "%s: header of %llu bytes: host allocation failed",
                          file, (unsigned long long)n);
    if (!(st = read_at(file, f, 8, json, (size_t)n, err, errlen)))
        st = elattn_st_parse_header(file, json, (size_t)n, size - 8 - n, out, err, errlen);
    free(json);
    if (!st) out->data_offset = 8 + n;
    return st;
}

elattn_status elattn_st_read_tensor(const char *file, FILE *f, const elattn_st_header *h, const elattn_st_tensor *t,
                                    void *dst, char *err, size_t errlen)
{
    /* the header's check bounds end by the file's size: no overflow */
    return read_at(file, f, h->data_offset + t->begin, dst, (size_t)(t->end - t->begin), err, errlen);
}

const elattn_st_tensor *elattn_st_find(const elattn_st_header *h, const char *name)
{
    for (int i = 0; i < h->count; ++i)
        if (!strcmp(h->tensors[i].name, name)) return &h->tensors[i];
    return NULL;
}

void elattn_st_header_free(elattn_st_header *h)
{
    if (!h) return;
    free(h->tensors);
    free(h->strings);
    memset(h, 0, sizeof *h);
}

/* ---- the index of a sharded checkpoint -------------------------------------------------------------- */
static elattn_status weight_map(rd *r, elattn_st_index *ix)
{
    elattn_status st;
    int cap = 0, seen = 0, more;
    const char *tensor, *shard;
    if ((st = expect(r, '{'))) return bad(r, "weight_map must be an object");
    while ((more = next_member(r, &seen, &tensor, &st)) > 0) {
    ws(r);
    if (peek(r) != '"') return bad(r, "weight_map[\"%s\"] must be a file name (a string)", tensor);
    if ((st = string(r, &shard))) return st;
    if (!*shard || strchr(shard, '/') || strchr(shard, '\\') || !strcmp(shard, ".") || !strcmp(shard, ".."))
        return bad(r, "weight_map[\"%s\"]: \"%s\" is not a plain file name beside the index", tensor, shard);
    if (ix->count == cap) {
        elattn_st_index_entry *e =
            cap < (1 << 24) ? realloc(ix->entries, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *e) : NULL;
        if (!e) return say(r->err, r->errlen, ELATTN_ERROR_OUT_OF_MEMORY, "%s: index: host allocation failed", r->file);
        ix->entries = e;
    }
    ix->entries[ix->count].tensor = tensor;
    ix->entries[ix->count++].shard = shard;
    }
    return more < 0 ? st : ELATTN_SUCCESS;
}

elattn_status elattn_st_parse_index(const char *file, const uint8_t *json, size_t len, elattn_st_index *out,
                                    char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    rd r;
    elattn_status st = begin(&r, file, "index", json, len, err, errlen);
    if (st) return st;
    elattn_st_index ix = {0};
    int seen_map = 0;
    const char *key;
    if ((st = expect(&r, '{'))) goto done;
    int members = 0, more;
    while ((more = next_member(&r, &members, &key, &st)) > 0) {
        if (!strcmp(key, "weight_map")) {
            if (seen_map++) {
                st = bad(&r, "weight_map twice");
                goto done;
            }
            if ((st = weight_map(&r, &ix))) goto done;
        } else if ((st = skip_value(&r, 1))) { /* "metadata" and whatever else a writer adds */
            goto done;
        }
    }
    if (more < 0 || (st = finish(&r))) goto done;
    if (!seen_map) {
        st = say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: index has no weight_map", file);
        goto done;
    }
    int oom;
    const char *dup = duplicate(ix.entries, ix.count, sizeof *ix.entries, &oom);
    if (oom) st = say(err, errlen, ELATTN_ERROR_OUT_OF_MEMORY, "%s: index: host allocation failed", file);
    else if (dup) st = say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: weight_map lists \"%s\" twice", file, dup);
done:
    if (st) {
        free(ix.entries);
        free(r.arena);
        return st;
    }
    ix.strings = r.arena;
    *out = ix;
    return ELATTN_SUCCESS;
}

elattn_status elattn_st_read_index(const char *file, FILE *f, elattn_st_index *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    uint64_t size = 0;
    elattn_status st = file_size(file, f, &size, err, errlen);
    if (st) return st;
    if (size > ELATTN_ST_MAX_INDEX)
        return say(err, errlen, ELATTN_ERROR_INVALID_ARGUMENT, "%s: index of %llu bytes is more than the limit %u",
                   file, (unsigned long long)size, ELATTN_ST_MAX_INDEX);
    uint8_t *json = malloc(size ? (size_t)size : 1);
    if (!json) return say(err, errlen, ELATTN_ERROR_OUT_OF_MEMORY, "%s: host allocation failed", file);
    if (!(st = read_at(file, f, 0, json, (size_t)size, err, errlen)))
        st = elattn_st_parse_index(file, json, (size_t)size, out, err, errlen);
    free(json);
    return st;
}

const char *elattn_st_index_shard(const elattn_st_index *ix, const char *tensor)
{
    for (int i = 0; i < ix->count; ++i)
        if (!strcmp(ix->entries[i].tensor, tensor)) return ix->entries[i].shard;
    return NULL;
}

void elattn_st_index_free(elattn_st_index *ix)
{
    if (!ix) return;
    free(ix->entries);
    free(ix->strings);
    memset(ix, 0, sizeof *ix);
}

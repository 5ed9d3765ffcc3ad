/*
 * Router weights from a released checkpoint (safetensors, one file or
 * sharded). The released module is
 *   mask_allocator.cls_feat_extractor       = Sequential(Linear(D, h), SiLU, Linear(h, D))
 *   mask_allocator.cls_router_head_agnostic = Sequential(Linear(D, h), SiLU, Linear(h, D), SiLU, Linear(D, 2))
 * which is elattn's task MLP and router MLP one for one (Sequential index 0,
 * 2, 4 are the Linears; the SiLUs have no weights). The variants with another
 * shape (a 2D-wide task feature, a 1-logit sigmoid head) are refused as
 * UNSUPPORTED naming the first tensor whose shape differs.
 */
#define _POSIX_C_SOURCE 200809L /* stat */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elattn_ref.h"
#include "internal.h"
#include "safetensors.h"

enum { DIM_D, DIM_H, DIM_2 };

/* Released name suffix, the field it fills, its shape. */
static const struct {
    const char *suffix;
    size_t field; /* offset in elattn_router_weights */
    int rank, dims[2];
} tensors[10] = {
    {"cls_feat_extractor.0.weight", offsetof(elattn_router_weights, task_w1), 2, {DIM_H, DIM_D}},
    {"cls_feat_extractor.0.bias", offsetof(elattn_router_weights, task_b1), 1, {DIM_H}},
    {"cls_feat_extractor.2.weight", offsetof(elattn_router_weights, task_w2), 2, {DIM_D, DIM_H}},
    {"cls_feat_extractor.2.bias", offsetof(elattn_router_weights, task_b2), 1, {DIM_D}},
    {"cls_router_head_agnostic.0.weight", offsetof(elattn_router_weights, head_w1), 2, {DIM_H, DIM_D}},
    {"cls_router_head_agnostic.0.bias", offsetof(elattn_router_weights, head_b1), 1, {DIM_H}},
    {"cls_router_head_agnostic.2.weight", offsetof(elattn_router_weights, head_w2), 2, {DIM_D, DIM_H}},
    {"cls_router_head_agnostic.2.bias", offsetof(elattn_router_weights, head_b2), 1, {DIM_D}},
    {"cls_router_head_agnostic.4.weight", offsetof(elattn_router_weights, head_w3), 2, {DIM_2, DIM_D}},
    {"cls_router_head_agnostic.4.bias", offsetof(elattn_router_weights, head_b3), 1, {DIM_2}},
};
#define N_TENSORS ((int)(sizeof tensors / sizeof tensors[0]))

static const elattn_buffer **field_of(elattn_router_weights *w, int i)
{
    return (const elattn_buffer **)((char *)w + tensors[i].field);
}

static int is_dir(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISDIR(s.st_mode);
}

static int is_file(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

static char *join(const char *dir, size_t dir_len, const char *name)
{
    const size_t n = strlen(name);
    char *p = malloc(dir_len + n + 2);
    if (!p) return NULL;
    memcpy(p, dir, dir_len);
    p[dir_len] = '/';
    memcpy(p + dir_len + 1, name, n + 1);
    return p;
}

static char *copy(const char *s)
{
    const size_t n = strlen(s) + 1;
    char *p = malloc(n);
    return p ? memcpy(p, s, n) : NULL;
}

static int ends_with(const char *s, const char *tail)
{
    const size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

/* Everything one load holds, released in one place. */
typedef struct loader {
    char err[1024];
    char *index_path;     /* sharded: the index file */
    elattn_st_index index;
    char *file;           /* the file of `header` */
    FILE *f;
    elattn_st_header header;
    float *host[N_TENSORS];
} loader;

static void close_file(loader *L)
{
    if (L->f) fclose(L->f);
    L->f = NULL;
    elattn_st_header_free(&L->header);
    free(L->file);
    L->file = NULL;
}

static elattn_status fail_with(loader *L, elattn_status st)
{
    return elattn_fail(st, "%s", L->err);
}

/* Opens `file` (taking it) and reads its header, unless it is the one open already. */
static elattn_status open_file(loader *L, char *file)
{
    if (L->file && !strcmp(L->file, file)) {
        free(file);
        return ELATTN_SUCCESS;
    }
    close_file(L);
    L->file = file;
    if (!(L->f = fopen(file, "rb")))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: cannot open (%s)", file, strerror(errno));
    elattn_status st = elattn_st_read_header(file, L->f, &L->header, L->err, sizeof L->err);
    return st ? fail_with(L, st) : ELATTN_SUCCESS;
}

/* The file that holds `name`: the checkpoint itself, or the index's shard beside it. */
static elattn_status file_of(loader *L, const char *path, const char *name)
{
    char *file;
    if (L->index_path) {
        const char *shard = elattn_st_index_shard(&L->index, name);
        if (!shard)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "%s: weight_map has no tensor %s (does this layer have a router in the checkpoint?)",
                               L->index_path, name);
        const char *slash = strrchr(L->index_path, '/');
        file = slash ? join(L->index_path, (size_t)(slash - L->index_path), shard) : join(".", 1, shard);
    } else {
        file = copy(path);
    }
    if (!file) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "%s: host allocation failed", path);
    elattn_status st = open_file(L, file);
    if (st && L->index_path) { /* say where the shard's name came from */
        char why[1024];
        snprintf(why, sizeof why, "%s", elattn_last_error());
        return elattn_fail(st, "%s (the shard of %s in %s)", why, name, L->index_path);
    }
    return st;
}

static size_t dim_value(int dim, int D, int H) { return dim == DIM_D ? (size_t)D : dim == DIM_H ? (size_t)H : 2; }

static void shape_string(const elattn_st_tensor *t, char *s, size_t n)
{
    size_t at = (size_t)snprintf(s, n, "[");
    for (int d = 0; d < t->rank && at < n; ++d)
        at += (size_t)snprintf(s + at, n - at, "%s%llu", d ? ", " : "", (unsigned long long)t->shape[d]);
    if (at < n) snprintf(s + at, n - at, "]");
}

/* Tensor i of the layer into L->host[i] as fp32; fixes D and H from the first one. */
static elattn_status load_one(loader *L, const char *path, const char *prefix, int i, int *D, int *H)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", prefix, tensors[i].suffix);
    CHECK(file_of(L, path, name));
    const elattn_st_tensor *t = elattn_st_find(&L->header, name);
    if (!t)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "%s: no tensor %s (does this layer have a router in the checkpoint?)", L->file, name);
    char shape[256];
    shape_string(t, shape, sizeof shape);
    if (t->dtype != ELATTN_ST_F32 && t->dtype != ELATTN_ST_BF16 && t->dtype != ELATTN_ST_F16)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "%s: tensor %s is %s; the router loads F32, BF16 or F16", L->file,
                           name, elattn_st_dtype_name(t->dtype));
    if (i == 0) { /* cls_feat_extractor.0.weight [hidden, D] fixes both sizes */
        if (t->rank != 2 || t->shape[0] < 1 || t->shape[0] > 16 * ELATTN_MAX_HEAD_DIM || t->shape[1] < 1 ||
            t->shape[1] > ELATTN_MAX_HEAD_DIM)
            return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                               "%s: tensor %s has shape %s; the router takes [hidden, D] with D in [1, %d] and hidden "
                               "in [1, %d]",
                               L->file, name, shape, ELATTN_MAX_HEAD_DIM, 16 * ELATTN_MAX_HEAD_DIM);
        *H = (int)t->shape[0];
        *D = (int)t->shape[1];
    }
    int ok = t->rank == tensors[i].rank;
    for (int d = 0; ok && d < t->rank; ++d) ok = t->shape[d] == dim_value(tensors[i].dims[d], *D, *H);
    if (!ok) {
        char want[64];
        if (tensors[i].rank == 2)
            snprintf(want, sizeof want, "[%zu, %zu]", dim_value(tensors[i].dims[0], *D, *H),
                     dim_value(tensors[i].dims[1], *D, *H));
        else
            snprintf(want, sizeof want, "[%zu]", dim_value(tensors[i].dims[0], *D, *H));
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "%s: tensor %s has shape %s; elattn's router (D %d, hidden %d from %s%s) needs %s: this "
                           "checkpoint's router has another architecture",
                           L->file, name, shape, *D, *H, prefix, tensors[0].suffix, want);
    }
    const size_t count = (size_t)(t->end - t->begin) / (t->dtype == ELATTN_ST_F32 ? 4 : 2); /* <= 4096 * 256 */
    uint8_t *raw = malloc(count ? count * 4 : 1);
    float *out = malloc(count ? count * sizeof *out : 1);
    elattn_status st = ELATTN_SUCCESS;
    if (!raw || !out) st = elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "%s: tensor %s: host allocation failed", L->file, name);
    else if ((st = elattn_st_read_tensor(L->file, L->f, &L->header, t, raw, L->err, sizeof L->err)))
        st = fail_with(L, st);
    for (size_t k = 0; !st && k < count; ++k) { /* the file is little-endian whatever the host is */
        if (t->dtype == ELATTN_ST_F32) {
            const uint32_t b = (uint32_t)raw[4 * k] | (uint32_t)raw[4 * k + 1] << 8 | (uint32_t)raw[4 * k + 2] << 16 |
                               (uint32_t)raw[4 * k + 3] << 24;
            memcpy(&out[k], &b, 4);
        } else {
            const uint16_t b = (uint16_t)(raw[2 * k] | raw[2 * k + 1] << 8);
            out[k] = (float)elattn_ref_load(t->dtype == ELATTN_ST_BF16 ? ELATTN_BF16 : ELATTN_F16, &b, 0);
        }
    }
    free(raw);
    if (st) {
        free(out);
        return st;
    }
    L->host[i] = out;
    return ELATTN_SUCCESS;
}

/* Uploads the ten host arrays into new buffers of `device`; on failure frees what it made. */
static elattn_status upload(loader *L, elattn_device *device, const char *prefix, int D, int H,
                            elattn_router_weights *w)
{
    elattn_router_weights made;
    memset(&made, 0, sizeof made);
    for (int i = 0; i < N_TENSORS; ++i) {
        const size_t bytes = dim_value(tensors[i].dims[0], D, H) *
                             (tensors[i].rank == 2 ? dim_value(tensors[i].dims[1], D, H) : 1) * sizeof(float);
        elattn_buffer *b = NULL;
        elattn_status st = elattn_buffer_alloc(device, bytes, &b);
        if (!st) {
            *field_of(&made, i) = b;
            st = elattn_buffer_upload(b, 0, L->host[i], bytes, NULL);
        }
        if (st) {
            char why[1024];
            snprintf(why, sizeof why, "%s", elattn_last_error());
            elattn_router_weights_free(&made);
            return elattn_fail(st, "%s%s: %s", prefix, tensors[i].suffix, why);
        }
    }
    *w = made;
    return ELATTN_SUCCESS;
}

elattn_status elattn_router_weights_from_safetensors(elattn_device *device, const char *path, int layer,
                                                     elattn_router_weights *weights, int *head_dim, int *hidden)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(path, "path");
    REQUIRE(weights, "weights");
    if (layer < 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "layer: %d is negative", layer);
    loader *L = calloc(1, sizeof *L);
    if (!L) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "%s: host allocation failed", path);
    elattn_status st = ELATTN_SUCCESS;

    /* A directory holds the index of a sharded checkpoint, else one model.safetensors. */
    char *dir_index = NULL, *dir_single = NULL;
    if (is_dir(path)) {
        dir_index = join(path, strlen(path), "model.safetensors.index.json");
        dir_single = join(path, strlen(path), "model.safetensors");
        if (!dir_index || !dir_single) st = elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "%s: host allocation failed", path);
        else if (is_file(dir_index)) L->index_path = dir_index, dir_index = NULL;
        else if (is_file(dir_single)) path = dir_single;
        else
            st = elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                             "%s: a directory without model.safetensors.index.json or model.safetensors", path);
    } else if (ends_with(path, ".json")) {
        if (!(L->index_path = copy(path))) st = elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "%s: host allocation failed", path);
    }
    if (!st && L->index_path) {
        FILE *f = fopen(L->index_path, "rb");
        if (!f) {
            st = elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: cannot open (%s)", L->index_path, strerror(errno));
        } else {
            if ((st = elattn_st_read_index(L->index_path, f, &L->index, L->err, sizeof L->err))) st = fail_with(L, st);
            fclose(f);
        }
    }

    char prefix[96];
    snprintf(prefix, sizeof prefix, "model.layers.%d.self_attn.mask_allocator.", layer);
    int D = 0, H = 0;
    for (int i = 0; !st && i < N_TENSORS; ++i) st = load_one(L, path, prefix, i, &D, &H);
    close_file(L);
    if (!st && (st = upload(L, device, prefix, D, H, weights)) == ELATTN_SUCCESS) {
        if (head_dim) *head_dim = D;
        if (hidden) *hidden = H;
    }
    for (int i = 0; i < N_TENSORS; ++i) free(L->host[i]);
    elattn_st_index_free(&L->index);
    free(L->index_path);
    free(L);
    free(dir_index);
    free(dir_single);
    return st;
}

void elattn_router_weights_free(elattn_router_weights *weights)
{
    if (!weights) return;
    for (int i = 0; i < N_TENSORS; ++i) {
        const elattn_buffer **b = field_of(weights, i);
        if (*b) elattn_buffer_free((elattn_buffer *)*b);
        *b = NULL;
    }
}

/*
 * libFuzzer target: the safetensors reader (api/src/safetensors.c, compiled in
 * here) and elattn_router_weights_from_safetensors on the reference device.
 *
 * The first byte picks what the rest is: even, a .safetensors file; odd, a
 * sharded checkpoint's index, beside a valid shard written at start-up
 * (layer 0's router, D 4, hidden 8, every tensor in shard.safetensors).
 *
 * A file is parsed from memory and from disk; both must agree (status,
 * message, tensors). A header that parses must keep the reader's promises:
 * names unique, each tensor's bytes the product of its shape times its
 * dtype's size, the tensors tiling the data section exactly. A failure must
 * leave a message that starts with the file's name. The loader must succeed
 * only with D and hidden in the router's range and buffers of their sizes,
 * and must fail with INVALID_ARGUMENT or UNSUPPORTED, a message naming the
 * file, and the caller's weights untouched.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../../api/src/safetensors.h"
#include "elattn/elattn.h"
#include "fuzz_common.h"

static char dir[4096], st_path[4200], index_path[4200], shard_path[4200];
static elattn_device *dev;

static void cleanup(void)
{
    unlink(st_path);
    unlink(index_path);
    unlink(shard_path);
    rmdir(dir);
    elattn_device_close(dev);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *out = fopen(path, "wb");
    if (!out || (size && fwrite(data, 1, size, out) != size) || fclose(out) != 0) finding("cannot write %s", path);
}

/* The shard the index inputs point at: layer 0's router, D 4, hidden 8, fp32, every value 0.25. */
static void write_shard(void)
{
    static const char *const names[10] = {
        "cls_feat_extractor.0.weight", "cls_feat_extractor.0.bias", "cls_feat_extractor.2.weight",
        "cls_feat_extractor.2.bias", "cls_router_head_agnostic.0.weight", "cls_router_head_agnostic.0.bias",
        "cls_router_head_agnostic.2.weight", "cls_router_head_agnostic.2.bias",
        "cls_router_head_agnostic.4.weight", "cls_router_head_agnostic.4.bias"};
    static const int rows[10] = {8, 8, 4, 4, 8, 8, 4, 4, 2, 2}, cols[10] = {4, 0, 8, 0, 4, 0, 8, 0, 4, 0};
    char json[4096];
    size_t n = 0, off = 0;
    n += (size_t)snprintf(json + n, sizeof json - n, "{");
    for (int i = 0; i < 10; ++i) {
        const size_t bytes = (size_t)rows[i] * (size_t)(cols[i] ? cols[i] : 1) * 4;
        if (cols[i])
            n += (size_t)snprintf(json + n, sizeof json - n,
                                  "%s\"model.layers.0.self_attn.mask_allocator.%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],"
                                  "\"data_offsets\":[%zu,%zu]}",
                                  i ? "," : "", names[i], rows[i], cols[i], off, off + bytes);
        else
            n += (size_t)snprintf(json + n, sizeof json - n,
                                  ",\"model.layers.0.self_attn.mask_allocator.%s\":{\"dtype\":\"F32\",\"shape\":[%d],"
                                  "\"data_offsets\":[%zu,%zu]}",
                                  names[i], rows[i], off, off + bytes);
        off += bytes;
    }
    n += (size_t)snprintf(json + n, sizeof json - n, "}");
    uint8_t *file = calloc(1, 8 + n + off);
    for (int i = 0; i < 8; ++i) file[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(file + 8, json, n);
    const float quarter = 0.25f;
    for (size_t i = 0; i < off / 4; ++i) memcpy(file + 8 + n + 4 * i, &quarter, 4); /* little-endian hosts only */
    write_file(shard_path, file, 8 + n + off);
    free(file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *tmp = getenv("TMPDIR");
    if (!tmp) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/fuzz_safetensors.XXXXXX", tmp);
    if (!mkdtemp(dir)) finding("cannot make a temporary directory in %s", tmp);
    snprintf(st_path, sizeof st_path, "%s/in.safetensors", dir);
    snprintf(index_path, sizeof index_path, "%s/model.safetensors.index.json", dir);
    snprintf(shard_path, sizeof shard_path, "%s/shard.safetensors", dir);
    if (elattn_device_open_by_name("reference", &dev) != ELATTN_SUCCESS) finding("no reference device");
    write_shard();
    atexit(cleanup);
    return 0;
}

static void check_message(const char *what, const char *msg, const char *file)
{
    if (strncmp(msg, file, strlen(file)) || strlen(msg) <= strlen(file) + 2)
        finding("%s: a failure without a message that starts with the file's name: \"%s\"", what, msg);
}

static void check_header(const elattn_st_header *h, size_t size)
{
    static const unsigned bits[ELATTN_ST_DTYPE_COUNT] = {8, 4, 6, 6, 8, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 64, 64, 64, 64};
    if (h->data_offset < 8 || h->data_offset > size) finding("data offset %llu in a file of %zu", (unsigned long long)h->data_offset, size);
    const uint64_t data = size - h->data_offset;
    uint64_t covered = 0;
    for (int i = 0; i < h->count; ++i) {
        const elattn_st_tensor *t = &h->tensors[i];
        for (int j = 0; j < i; ++j)
            if (!strcmp(t->name, h->tensors[j].name)) finding("tensor \"%s\" listed twice", t->name);
        if (t->rank < 0 || t->rank > ELATTN_ST_MAX_RANK || (unsigned)t->dtype >= ELATTN_ST_DTYPE_COUNT)
            finding("tensor \"%s\": rank %d, dtype %d", t->name, t->rank, (int)t->dtype);
        unsigned __int128 n = 1;
        for (int d = 0; d < t->rank; ++d) n *= t->shape[d];
        n *= bits[t->dtype];
        if (n % 8 || t->end < t->begin || (unsigned __int128)(t->end - t->begin) != n / 8)
            finding("tensor \"%s\": [%llu, %llu) for its shape and dtype", t->name, (unsigned long long)t->begin,
                    (unsigned long long)t->end);
        if (t->end > data) finding("tensor \"%s\" ends past the data", t->name);
        for (int j = 0; j < i; ++j) {
            const elattn_st_tensor *u = &h->tensors[j];
            if (t->begin < u->end && u->begin < t->end) finding("tensors \"%s\" and \"%s\" overlap", t->name, u->name);
        }
        covered += t->end - t->begin;
    }
    if (covered != data) finding("tensors cover %llu of %llu data bytes", (unsigned long long)covered, (unsigned long long)data);
}

static void check_loader(const char *path, int expect_d, int expect_h)
{
    elattn_router_weights w;
    memset(&w, 0xAB, sizeof w); /* must stay so on failure */
    elattn_router_weights before = w;
    int D = -1, H = -1;
    elattn_status st = elattn_router_weights_from_safetensors(dev, path, 0, &w, &D, &H);
    if (st == ELATTN_SUCCESS) {
        if (D < 1 || D > 256 || H < 1 || H > 4096) finding("loaded D %d hidden %d", D, H);
        if (expect_d && (D != expect_d || H != expect_h)) finding("index: D %d hidden %d from the shard of 4, 8", D, H);
        const size_t want[10] = {(size_t)H * D, (size_t)H, (size_t)D * H, (size_t)D, (size_t)H * D,
                                 (size_t)H, (size_t)D * H, (size_t)D, 2 * (size_t)D, 2};
        const elattn_buffer *b[10] = {w.task_w1, w.task_b1, w.task_w2, w.task_b2, w.head_w1,
                                      w.head_b1, w.head_w2, w.head_b2, w.head_w3, w.head_b3};
        for (int i = 0; i < 10; ++i)
            if (elattn_buffer_size(b[i]) != want[i] * 4) finding("weight %d: %zu bytes, not %zu", i, elattn_buffer_size(b[i]), want[i] * 4);
        elattn_router_weights_free(&w);
        if (w.task_w1 || w.head_b3) finding("elattn_router_weights_free left a pointer");
    } else {
        if (st != ELATTN_ERROR_INVALID_ARGUMENT && st != ELATTN_ERROR_UNSUPPORTED)
            finding("loader status %d: %s", (int)st, elattn_last_error());
        if (!strstr(elattn_last_error(), path)) finding("loader message without the path: \"%s\"", elattn_last_error());
        if (memcmp(&w, &before, sizeof w)) finding("a failed load changed the caller's weights");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const int index_mode = data[0] & 1;
    ++data, --size;
    char err[1024] = "", ferr[1024] = "";
    if (!index_mode) {
        elattn_st_header h, f;
        elattn_status st = elattn_st_parse_file(st_path, data, size, &h, err, sizeof err);
        write_file(st_path, data, size);
        FILE *in = fopen(st_path, "rb");
        if (!in) finding("cannot reopen %s", st_path);
        elattn_status sf = elattn_st_read_header(st_path, in, &f, ferr, sizeof ferr);
        fclose(in);
        if (st != sf) finding("from memory %d (%s), from the file %d (%s)", (int)st, err, (int)sf, ferr);
        if (st == ELATTN_SUCCESS) {
            check_header(&h, size);
            if (h.count != f.count || h.data_offset != f.data_offset) finding("memory and file headers differ");
        } else {
            check_message("parse", err, st_path);
            if (strcmp(err, ferr)) finding("different messages: \"%s\" and \"%s\"", err, ferr);
            if (h.tensors || f.tensors || h.strings || f.strings) finding("a failed parse left storage behind");
        }
        elattn_st_header_free(&h);
        elattn_st_header_free(&f);
        check_loader(st_path, 0, 0);
        unlink(st_path); /* so that an index input finds no shard but shard.safetensors */
    } else {
        elattn_st_index ix;
        elattn_status st = elattn_st_parse_index(index_path, data, size, &ix, err, sizeof err);
        if (st == ELATTN_SUCCESS) {
            for (int i = 0; i < ix.count; ++i) {
                const char *s = ix.entries[i].shard;
                if (!*s || strchr(s, '/') || strchr(s, '\\') || !strcmp(s, ".") || !strcmp(s, ".."))
                    finding("shard \"%s\" is not a plain name", s);
                for (int j = 0; j < i; ++j)
                    if (!strcmp(ix.entries[i].tensor, ix.entries[j].tensor))
                        finding("weight_map lists \"%s\" twice", ix.entries[i].tensor);
            }
        } else {
            check_message("index", err, index_path);
        }
        elattn_st_index_free(&ix);
        write_file(index_path, data, size);
        check_loader(index_path, 4, 8);
        unlink(index_path);
    }
    return 0;
}

/*
 * The safetensors format, read strictly (internal; libc only, so that the
 * fuzz target can compile it on its own).
 *
 * A file is: 8 bytes, little-endian u64 N; N bytes of UTF-8 JSON (an object:
 * per tensor {"dtype", "shape", "data_offsets"}, optionally "__metadata__", a
 * map of strings); then the data, every tensor at [begin, end) relative to
 * the data's start. Accepted only when, as the format's own reader demands:
 * N <= ELATTN_ST_MAX_HEADER, the JSON is valid (RFC 8259: UTF-8, escapes,
 * numbers) with no duplicate key, each tensor has exactly those three fields,
 * its byte count equals the product of its shape times its dtype's size (no
 * overflow), and the tensors, sorted by offset, tile the data section
 * exactly: no gap, no overlap, nothing past the end of the file.
 *
 * A sharded checkpoint's model.safetensors.index.json maps tensor names to
 * shard files ({"metadata": ..., "weight_map": {name: file}}).
 *
 * Every function returns an elattn_status and, on failure, writes a message
 * that starts with `file` (the name it was given) to err.
 */
#ifndef ELATTN_SAFETENSORS_H
#define ELATTN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "elattn/elattn.h"

#define ELATTN_ST_MAX_HEADER 100000000u /* bytes of JSON, as the format's reader */
#define ELATTN_ST_MAX_INDEX 100000000u  /* bytes of an index file */
#define ELATTN_ST_MAX_RANK 16           /* dimensions of one tensor */
#define ELATTN_ST_MAX_DEPTH 64          /* nesting of JSON values skipped (index metadata) */

typedef enum elattn_st_dtype {
    ELATTN_ST_BOOL, ELATTN_ST_F4, ELATTN_ST_F6_E2M3, ELATTN_ST_F6_E3M2, ELATTN_ST_U8, ELATTN_ST_I8,
    ELATTN_ST_F8_E5M2, ELATTN_ST_F8_E4M3, ELATTN_ST_F8_E8M0, ELATTN_ST_I16, ELATTN_ST_U16, ELATTN_ST_F16,
    ELATTN_ST_BF16, ELATTN_ST_I32, ELATTN_ST_U32, ELATTN_ST_F32, ELATTN_ST_C64, ELATTN_ST_F64,
    ELATTN_ST_I64, ELATTN_ST_U64, ELATTN_ST_DTYPE_COUNT
} elattn_st_dtype;

const char *elattn_st_dtype_name(elattn_st_dtype dtype);

/* The name comes first in both records: the duplicate check reads it there. */
typedef struct elattn_st_tensor {
    const char *name; /* decoded, NUL-terminated (a name holding U+0000 is refused) */
    elattn_st_dtype dtype;
    int rank;
    uint64_t shape[ELATTN_ST_MAX_RANK];
    uint64_t begin, end; /* offsets into the data section */
} elattn_st_tensor;

typedef struct elattn_st_header {
    elattn_st_tensor *tensors;
    int count;
    uint64_t data_offset; /* of the data section in the file: 8 + N */
    char *strings;        /* storage of the names */
} elattn_st_header;

/* The JSON of a header, `data_bytes` the size of the data section behind it. */
elattn_status elattn_st_parse_header(const char *file, const uint8_t *json, size_t len, uint64_t data_bytes,
                                     elattn_st_header *out, char *err, size_t errlen);
/* A whole file held in memory. */
elattn_status elattn_st_parse_file(const char *file, const uint8_t *bytes, size_t size, elattn_st_header *out,
                                   char *err, size_t errlen);
/* An open file: reads the length and the header (bounded before anything is allocated). */
elattn_status elattn_st_read_header(const char *file, FILE *f, elattn_st_header *out, char *err, size_t errlen);
/* The bytes of tensor t of header h (read from f) into dst, t->end - t->begin bytes. */
elattn_status elattn_st_read_tensor(const char *file, FILE *f, const elattn_st_header *h, const elattn_st_tensor *t,
                                    void *dst, char *err, size_t errlen);
const elattn_st_tensor *elattn_st_find(const elattn_st_header *h, const char *name);
void elattn_st_header_free(elattn_st_header *h);

typedef struct elattn_st_index_entry {
    const char *tensor, *shard; /* decoded; shard is a plain file name (no '/', '\\', "." or "..") */
} elattn_st_index_entry;

typedef struct elattn_st_index {
    elattn_st_index_entry *entries;
    int count;
    char *strings;
} elattn_st_index;

elattn_status elattn_st_parse_index(const char *file, const uint8_t *json, size_t len, elattn_st_index *out,
                                    char *err, size_t errlen);
/* An open index file, bounded by ELATTN_ST_MAX_INDEX. */
elattn_status elattn_st_read_index(const char *file, FILE *f, elattn_st_index *out, char *err, size_t errlen);
const char *elattn_st_index_shard(const elattn_st_index *ix, const char *tensor); /* NULL: not listed */
void elattn_st_index_free(elattn_st_index *ix);

#endif /* ELATTN_SAFETENSORS_H */

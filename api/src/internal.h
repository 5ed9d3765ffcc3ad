/* The public objects and the core's helpers (internal). */
#ifndef ELATTN_INTERNAL_H
#define ELATTN_INTERNAL_H

#include <stddef.h>

#include "backend.h"

/*
 * Lifetimes (handles.c): every object below is registered as a live handle
 * while the caller holds it, and holds one reference to its device, so a
 * device closed early stays open until its last object is released. A view
 * also holds a reference to its root allocation.
 */
struct elattn_device {
    const elattn_backend_ops *ops;
    void *impl;
    elattn_device_info info;
    void *default_stream; /* the native stream a NULL elattn_stream means (backend's native_handles) */
    int refs; /* the caller's handle + every object made on it (under the handle lock) */
};

struct elattn_stream {
    elattn_device *device;
    void *native;
    int owned; /* created by elattn_stream_create */
};

struct elattn_buffer {
    elattn_device *device;
    void *native;
    size_t size;
    int owned;             /* allocated by elattn_buffer_alloc */
    int is_view;           /* from elattn_buffer_view */
    struct elattn_buffer *root; /* the allocation or wrap this buffer lies in (itself for those) */
    size_t offset;         /* of this buffer in root: views of views are flattened to root + offset */
    int refs;              /* roots only: the caller's handle + live views (under the handle lock) */
};

struct elattn_event {
    elattn_device *device;
    void *native;
    int recorded;         /* elattn_event_record succeeded at least once */
    const char *untimed;  /* NULL, or why the stream of the last record cannot be timed */
};

struct elattn_attn_plan {
    elattn_device *device;
    unsigned long serial;  /* unique per plan made: a batch names its plan by it */
    elattn_attn_desc desc; /* normalised */
    elattn_backend_plan backend;
};

/* A batch plan (elattn_attn_batch_create): the backend's device copy and the host's, for the checks. */
struct elattn_attn_batch {
    elattn_device *device;
    unsigned long plan_serial;    /* the plan it was made for (which may be gone) */
    void *impl;                   /* the backend's batch */
    int batch;                    /* elements */
    int32_t *cu_seqlens_q, *cu_seqlens_k; /* host copies, [batch + 1] */
    int total_q, total_k;
};

struct elattn_xattn_plan {
    elattn_device *device;
    elattn_xattn_desc desc;
    elattn_backend_plan backend;
};

struct elattn_router_plan {
    elattn_device *device;
    elattn_router_desc desc;
    elattn_backend_plan backend;
};

/* handles.c */
typedef enum elattn_handle_kind {
    ELATTN_HANDLE_DEVICE = 1,
    ELATTN_HANDLE_STREAM,
    ELATTN_HANDLE_BUFFER,
    ELATTN_HANDLE_EVENT,
    ELATTN_HANDLE_ATTN_PLAN,
    ELATTN_HANDLE_XATTN_PLAN,
    ELATTN_HANDLE_ROUTER_PLAN,
    ELATTN_HANDLE_ATTN_BATCH,
    ELATTN_HANDLE_KV_CACHE,
    ELATTN_HANDLE_DECODE_PLAN,
    ELATTN_HANDLE_DECODE_BATCH
} elattn_handle_kind;

elattn_status elattn_handle_add(const void *p, elattn_handle_kind kind);
/* 1 when p was live as `kind` (it is not any more), 0 otherwise. */
int elattn_handle_remove(const void *p, elattn_handle_kind kind);
int elattn_handle_live(const void *p, elattn_handle_kind kind);
const char *elattn_handle_kind_name(elattn_handle_kind kind);
/* INVALID_ARGUMENT naming `name` unless p is a live handle of `kind` (NULL included). */
elattn_status elattn_check_handle(const char *name, const void *p, elattn_handle_kind kind);
/* For the destroy functions: 1 when p was live and is now released by the caller; 0 for NULL
 * (silently) or for a handle released already (the message says so). */
int elattn_release_handle(const char *name, const void *p, elattn_handle_kind kind);
void elattn_device_retain(elattn_device *d);
void elattn_device_release(elattn_device *d); /* closes the device at the last reference */
void elattn_root_retain(elattn_buffer *root);
int elattn_root_release(elattn_buffer *root); /* 1 at the last reference: free the root then */

/* registry.c */
int elattn_registry_count(void);
const elattn_backend_ops *elattn_registry_ops(int index);
const elattn_device_info *elattn_registry_info(int index);
/* The ops of a backend, or NULL when it is not loaded (then *why says why). */
const elattn_backend_ops *elattn_registry_backend(elattn_backend backend, const char **why);
/* The registry index of a backend's device, -1 if it is not listed. */
int elattn_registry_find(elattn_backend backend, int backend_index);

/* modules.c: loads libelattn-<name>.so; its ops, or NULL with the reason in
 * `why`. `path` receives the file loaded or tried ("" when none was found). */
#define ELATTN_MODULE_PATH_MAX 512
const elattn_backend_ops *elattn_module_load(const char *name, char *path, size_t path_n, char *why, size_t why_n);

/* status.c */
void elattn_clear_error(void);

/* Every public entry point starts with BEGIN so that a success leaves no stale message. */
#define HANDLE(ptr, name, kind) CHECK(elattn_check_handle(name, ptr, kind))
#define BEGIN() elattn_clear_error()
#define CHECK(expr)                                                                                           \
    do {                                                                                                      \
        elattn_status st_ = (expr);                                                                           \
        if (st_ != ELATTN_SUCCESS) return st_;                                                                \
    } while (0)
#define REQUIRE(ptr, name)                                                                                    \
    do {                                                                                                      \
        if (!(ptr)) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: NULL", name);                     \
    } while (0)

/* streams.c: the native stream of `s` for `device` (NULL: the default stream). */
elattn_status elattn_stream_native(const elattn_device *device, const elattn_stream *s, void **native);

/* buffers.c: [offset, offset + bytes) lies inside `b` (BUFFER_TOO_SMALL otherwise). */
elattn_status elattn_check_range_in(const char *name, const elattn_buffer *b, size_t offset, size_t bytes);

/* validate.c, for the plan files (attn.c, xattn.c, router.c): NULL becomes all zeros; a tile
 * override outside [0, ELATTN_MAX_TILE_OPTION] is INVALID_ARGUMENT naming the option. */
#define ELATTN_MAX_TILE_OPTION 65536
elattn_status elattn_check_plan_options(const elattn_plan_options *in, elattn_plan_options *out);

/* The bytes a call reads or writes of one buffer argument, for elattn_check_overlaps. */
typedef struct elattn_arg_span {
    const char *name;
    const elattn_buffer *buffer; /* NULL: not part of this call */
    size_t bytes;                /* from the buffer's start; checked against its size */
    int written;
} elattn_arg_span;
/* INVALID_ARGUMENT naming both when a written span shares a byte of one root allocation with another span. */
elattn_status elattn_check_overlaps(const elattn_arg_span *spans, int n);

static inline const char *elattn_kernel_name_of(const elattn_backend_plan *p)
{
    return p->kernel_name ? p->kernel_name : "";
}

static inline void *elattn_native_or_null(const elattn_buffer *b) { return b ? b->native : NULL; }

/* validate.c: a size-tagged struct of the caller (see ELATTN_INIT) as this library's full struct `out`:
 * the first struct_size bytes copied, the tail zeroed, out->struct_size set to `full`. INVALID_ARGUMENT
 * naming "<name>.struct_size" for NULL, or a size below `first` (the first released layout) or above
 * `full`. */
elattn_status elattn_take_struct(const char *name, const char *type, const void *in, size_t first, size_t full,
                                 void *out);
/* The first released layout of a struct ends at field `last`. */
#define ELATTN_STRUCT_END(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))
#define ELATTN_TAKE(name, in, type, last, out)                                                                  \
    elattn_take_struct(name, #type, in, ELATTN_STRUCT_END(type, last), sizeof(type), out)

/* validate.c: each returns ELATTN_SUCCESS or fails with a message. */
elattn_status elattn_check_attn_desc(const elattn_attn_desc *desc, elattn_attn_desc *normalised);
/* Only the fields the block mask's size depends on (batch, Hkv, lengths, block), and that size; the
 * caller's struct as the library's in *taken. */
elattn_status elattn_check_attn_mask_shape(const elattn_attn_desc *desc, elattn_attn_desc *taken);
elattn_status elattn_check_xattn_desc(const elattn_xattn_desc *desc, elattn_xattn_desc *normalised);
elattn_status elattn_check_router_desc(const elattn_router_desc *desc, elattn_router_desc *normalised);
elattn_status elattn_check_cu_seqlens(const char *name, const int32_t *cu, int batch, int max_len,
                                      int min_len, int *total);
elattn_status elattn_check_modes(const char *name, const int32_t *modes, int count,
                                 int counts[ELATTN_MODE_COUNT]);
elattn_status elattn_check_buffer(const char *name, const elattn_buffer *buffer,
                                  const elattn_device *device, size_t need, int required);
/* Every run checks its workspace against the plan's need and hands the backend whatever it was given. */
elattn_status elattn_take_workspace(const elattn_buffer *ws, const elattn_device *device, size_t need,
                                    void **native, size_t *bytes);
/* attn_run and xattn_run read the same two sequence-length arrays; the check also yields the token totals. */
elattn_status elattn_check_seqlens_q_k(const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k, int batch,
                                       int max_seqlen_q, int max_seqlen_k, int *total_q, int *total_k);
void elattn_fill_attn_params(const elattn_attn_desc *desc, elattn_attn_params *params);
/* Bytes a strided tensor spans (rows x heads rows of head_dim elements, the normalised strides),
 * after checking that its rows do not overlap; fails naming desc.<tensor>_stride_* or args.<tensor>. */
elattn_status elattn_layout_bytes(const char *tensor, int rows, int heads, int head_dim, int stride_token,
                                  int stride_head, size_t elem, size_t *bytes);
/* Paged K/V: the table's entries for every page an element's keys reach are pages that exist. */
elattn_status elattn_check_block_table(const int32_t *table, const int32_t *cu_seqlens_k, int batch, int page_size,
                                       int num_pages, int pages_per_seq);
/* Bytes of a block mask [batch][Hkv][ceil(max_q/block)][ceil(max_k/block)]; 0 (and *bytes = SIZE_MAX)
 * when it does not fit in size_t. */
int elattn_mask_bytes(int batch, int num_kv_heads, int max_len_q, int max_len_k, int block, size_t *bytes);
/* Bytes of a packed [tokens][heads][width] tensor of elements of `elem` bytes; fails naming `name`. */
elattn_status elattn_tensor_bytes(const char *name, int tokens, int heads, int width, size_t elem, size_t *bytes);

#endif

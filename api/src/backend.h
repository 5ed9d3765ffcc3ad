/*
 * The interface every backend implements (internal; not installed).
 *
 * The dispatch core (api/src/) owns the public objects, checks every argument
 * once for all backends (so an invalid call gets the same status everywhere),
 * and calls a backend only with values that passed. A backend decides what it
 * supports in its plan functions: per operation, one ordered table of kernel
 * families, each answering "can you run this call?", and one selection
 * (elattn_family_select below) that takes the first family that can; it is
 * also the answer to "is it supported" (ELATTN_ERROR_UNSUPPORTED with every
 * family's reason, never a silent fallback).
 *
 * Memory and streams are opaque "native" handles: a device pointer (CUDA,
 * HIP), a cl_mem (OpenCL) or a host pointer (reference); a cudaStream_t,
 * hipStream_t or cl_command_queue, NULL for the device's default stream.
 *
 * The reference backend is part of the core library. The CUDA, HIP and OpenCL
 * backends are shared modules (libelattn-cuda.so, ...) that the core loads at
 * run time (api/src/modules.c): each exports one function,
 * elattn_backend_module, which returns its ops table. What a module needs of
 * the core beyond the public API (the per-thread message, the family
 * selection) reaches it through elattn_core_services (backends/common/module.c
 * turns those into the functions declared below, so backend sources are the
 * same in a module and in the core).
 */
#ifndef ELATTN_BACKEND_H
#define ELATTN_BACKEND_H

#include <stdarg.h>

#include "checked_size.h"
#include "decode_policy.h"
#include "elattn/elattn.h"
#include "elattn_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Raised whenever elattn_backend_ops, elattn_core_services or a call struct
 * below changes: the core loads only modules of its own ABI. */
#define ELATTN_BACKEND_ABI 8

/* Validated attention call. Host arrays are the caller's (valid for the call). */
typedef struct elattn_attn_call {
    const elattn_attn_desc *desc;  /* normalised: scale > 0 filled in */
    elattn_attn_params params;     /* the kernel parameter block, filled by the core */
    void *q, *k, *v, *o;           /* native handles */
    void *lse;                     /* NULL unless desc->write_lse */
    void *block_mask;              /* NULL unless some head is BLOCK_SPARSE */
    void *workspace;               /* NULL when the plan's workspace size is 0 */
    size_t workspace_bytes;
    const int32_t *cu_seqlens_q;   /* host [batch + 1], checked (with a batch: the batch's copy) */
    const int32_t *cu_seqlens_k;   /* host [batch + 1], checked */
    const int32_t *modes;          /* host [batch][Hkv], checked; NULL when modes_device is set */
    const void *modes_device;      /* native int32 [batch][Hkv] (unchecked values), or NULL */
    const void *batch;             /* the backend's batch (attn_batch_create), or NULL */
    int total_q, total_k;
    int mode_counts[ELATTN_MODE_COUNT]; /* (element, KV head) entries per mode; all 0 with modes_device */
    /* paged K/V: host [batch][desc->max_pages_per_seq], checked; NULL when not paged */
    const int32_t *block_table;
} elattn_attn_call;

typedef struct elattn_xattn_call {
    const elattn_xattn_desc *desc; /* normalised */
    void *q, *k;
    void *block_mask;              /* output */
    void *workspace;
    size_t workspace_bytes;
    const int32_t *cu_seqlens_q, *cu_seqlens_k;
    const int32_t *modes;          /* host [batch][Hkv], never NULL (core fills all-BLOCK_SPARSE) unless: */
    const void *modes_device;      /* native int32 [batch][Hkv] (unchecked values), or NULL */
    const float *thresholds;       /* host [Hkv] (core expands a single value), or NULL when: */
    const void *thresholds_device; /* native fp32 [num_thresholds_device] (1 or Hkv; values unchecked) */
    int num_thresholds_device;
    const void *lengths;           /* the backend's attention batch holding cu_seqlens_q/k, or NULL */
    int total_q, total_k;
    int mask_qblocks, mask_kblocks;
} elattn_xattn_call;

typedef struct elattn_router_call {
    const elattn_router_desc *desc;
    void *keys;
    void *task_w1, *task_b1, *task_w2, *task_b2;
    void *head_w1, *head_b1, *head_w2, *head_b2, *head_w3, *head_b3;
    void *logits;                  /* NULL if not requested */
    int32_t *modes;                /* host output [batch][Hkv], or NULL when: */
    void *modes_device;            /* native int32 output [batch][Hkv]: stream-ordered, no host sync */
    void *workspace;
    size_t workspace_bytes;
    const int32_t *cu_seqlens;     /* host [batch + 1] (with `lengths`: the batch's copy of cu_seqlens_k) */
    const void *lengths;           /* the backend's attention batch whose cu_seqlens_k to read, or NULL */
    int total;
} elattn_router_call;

/* elattn_merge_states, checked: native handles, lse NULL when not wanted. */
typedef struct elattn_merge_call {
    elattn_dtype dtype;
    int num_tokens, num_heads, head_dim; /* num_tokens > 0 */
    const void *o1, *lse1, *o2, *lse2;
    void *o, *lse;
} elattn_merge_call;

/* Decode attention over a KV cache (SPEC.md section 9), checked. Host arrays are the core's. */
typedef struct elattn_decode_call {
    elattn_dtype dtype;
    int head_dim, num_q_heads, num_kv_heads, group;
    float scale;
    int sink, local, ring;
    int page_shift;         /* log2(page size) */
    int pages_per_head;     /* columns of the page table */
    int splits;             /* the most chunks of any (sequence, head): max of chunks[] */
    int num_seqs, total_new;
    const int32_t *chunks;  /* host [num_seqs][Hkv]: split-KV chunks of each (sequence, head), >= 1 */
    size_t split_chunks;    /* sum of chunks[] over the entries > 1 (those that need partials) */
    const int32_t *seq_ids; /* host [num_seqs] */
    const int32_t *cu_new;  /* host [num_seqs + 1] */
    const int32_t *lengths; /* host [num_seqs]: cached lengths after the step's append */
    const int32_t *modes;   /* host [num_seqs][Hkv] */
    const int32_t *page_table_host;   /* host [max_sequences][Hkv][pages_per_head] */
    const void *page_table;           /* native, the same table on the device */
    const void *k_pool, *v_pool;      /* native [num_pages][P][D] */
    const void *q;
    void *o, *lse;                    /* lse NULL unless wanted */
    /* A run with a batch: the backend's batch (decode_batch_create, from a call of the same
     * sequences, new-token counts and chunks; NULL when the backend keeps none) and the cache's
     * lengths on the device, native int32 [max_sequences], current for this run. */
    const void *batch;
    const void *lengths_dev;
    /* Quest page selection (SPEC.md section 9b) for the BLOCK_SPARSE heads: page_budget 0 (off) or B > 0,
     * with the cache's page summaries, native fp32 [num_pages][2][D] (minimum, then maximum). */
    int page_budget;
    const void *page_summaries;
} elattn_decode_call;

/* Page summaries for Quest (SPEC.md section 9b): for each listed page, the fp32 minimum and maximum
 * per dimension of K over its first rows rows, written to summaries [page][0][D] and [page][1][D]. */
typedef struct elattn_kv_summary_call {
    elattn_dtype dtype;
    int head_dim, page_shift;
    const void *k_pool;      /* native [num_pages][P][D] */
    void *summaries;         /* native fp32 [num_pages][2][D] */
    int count;               /* > 0 */
    const void *list;        /* native int32 [pages: count][rows (1..P): count], uploaded by the core */
} elattn_kv_summary_call;

/* What a decode plan must hold room for (the core's split policy bounds every run of the plan). */
typedef struct elattn_decode_setup {
    elattn_dtype dtype;
    int head_dim, num_q_heads, num_kv_heads;
    int max_batch, max_new_tokens;
    int max_splits;           /* chunks of one (sequence, head), at most */
    size_t max_chunks;        /* sum of chunks[] of a run, at most */
    size_t max_split_chunks;  /* split_chunks of a run, at most */
    int page_budget;          /* Quest page selection: 0 off, else B > 0 (SPEC.md section 9b) */
    int pages_per_head;       /* columns of the cache's page table */
    int model;                /* out: the split policy's model for the chosen family (elattn_decode_model,
                               * decode_policy.h); the core sets ELATTN_DECODE_MODEL_WAVES before the call.
                               * max_chunks and max_split_chunks above are that model's: a family that
                               * takes ELATTN_DECODE_MODEL_GRID sizes its buffers per run instead */
    double peak_gbps;         /* out: the device's peak memory bandwidth, GB/s, where the backend knows it
                               * (the bandwidth model's saturating items); 0 before the call */
} elattn_decode_setup;

/* A plan as a backend returns it. */
typedef struct elattn_backend_plan {
    void *impl;                 /* backend's own state, immutable after creation */
    const char *kernel_name;    /* static or owned by impl; lives as long as the plan */
    size_t workspace_bytes;
} elattn_backend_plan;

typedef struct elattn_backend_ops {
    int abi;                    /* ELATTN_BACKEND_ABI */
    elattn_backend kind;
    const char *name;           /* "reference", "cuda", "hip", "opencl" */

    /* Fill up to `max` infos (backend, backend_index, name, vendor, arch, id,
     * memory, compute units, wave size, caps); return how many devices exist.
     * A missing driver or runtime means 0 devices, not an error. */
    int (*enumerate)(elattn_device_info *infos, int max);
    elattn_status (*open)(int backend_index, void **dev);
    void (*close)(void *dev);

    elattn_status (*stream_create)(void *dev, void **stream);
    void (*stream_destroy)(void *dev, void *stream);
    elattn_status (*stream_sync)(void *dev, void *stream);

    elattn_status (*mem_alloc)(void *dev, size_t bytes, void **mem);
    void (*mem_free)(void *dev, void *mem);
    /* Complete before returning; ordered after earlier work on `stream`. */
    elattn_status (*mem_upload)(void *dev, void *stream, void *mem, size_t offset,
                                const void *src, size_t bytes);
    elattn_status (*mem_download)(void *dev, void *stream, const void *mem, size_t offset,
                                  void *dst, size_t bytes);
    /* A handle for [offset, offset + bytes) of `mem` (offset % 256 == 0);
     * released with mem_view_release (a no-op where views are pointers). */
    elattn_status (*mem_view)(void *dev, void *mem, size_t offset, size_t bytes, void **view);
    void (*mem_view_release)(void *dev, void *view);
    /* Asynchronous on `stream`. */
    elattn_status (*mem_copy_2d)(void *dev, void *stream, void *dst, size_t dst_offset,
                                 size_t dst_pitch, const void *src, size_t src_offset,
                                 size_t src_pitch, size_t width, size_t rows);
    elattn_status (*mem_fill)(void *dev, void *stream, void *mem, size_t offset,
                              unsigned char value, size_t bytes);

    elattn_status (*event_create)(void *dev, void **event);
    void (*event_destroy)(void *dev, void *event);
    elattn_status (*event_record)(void *dev, void *stream, void *event);
    /* Waits for `end`. */
    elattn_status (*event_elapsed_ms)(void *dev, void *start, void *end, float *ms);

    /* desc is normalised and valid; options is never NULL (zeros = defaults). */
    elattn_status (*attn_plan)(void *dev, const elattn_attn_desc *desc,
                               const elattn_plan_options *options, elattn_backend_plan *plan);
    void (*attn_plan_destroy)(void *dev, void *impl);
    elattn_status (*attn_run)(void *dev, const void *impl, void *stream, const elattn_attn_call *call);
    /* A batch of the plan: the work list of call's lengths (call->modes is NULL: items costed as FULL)
     * and the lengths, on the device; synchronous. It must not depend on `impl` after it returns
     * (the plan may be destroyed first). */
    elattn_status (*attn_batch_create)(void *dev, const void *impl, const elattn_attn_call *call, void **batch);
    void (*attn_batch_destroy)(void *dev, void *batch);

    elattn_status (*xattn_plan)(void *dev, const elattn_xattn_desc *desc,
                                const elattn_plan_options *options, elattn_backend_plan *plan);
    void (*xattn_plan_destroy)(void *dev, void *impl);
    elattn_status (*xattn_run)(void *dev, const void *impl, void *stream, const elattn_xattn_call *call);

    elattn_status (*router_plan)(void *dev, const elattn_router_desc *desc,
                                 const elattn_plan_options *options, elattn_backend_plan *plan);
    void (*router_plan_destroy)(void *dev, void *impl);
    elattn_status (*router_run)(void *dev, const void *impl, void *stream, const elattn_router_call *call);

    /* Asynchronous on `stream`; no workspace, no host sync (graph-capturable). */
    elattn_status (*merge_run)(void *dev, void *stream, const elattn_merge_call *call);

    /* The kernel families of `op` on this device, in the order the plan
     * functions try them ("cuda.attn.wgmma", ...): up to max static strings
     * into names; returns how many there are. */
    int (*families)(void *dev, elattn_op op, const char **names, int max);

    /* ---- interop (each may be NULL: the backend has no such thing) ----------------------
     * A device from the engine's native handles (elattn_device_from_*; `native`
     * is checked for NULLs and names this backend). Fills *info as enumerate
     * does; the core sets index and id. */
    elattn_status (*open_native)(const elattn_native_handles *native, void **dev, elattn_device_info *info);
    /* The handles the device uses; the core fills backend and sets
     * device_ordinal to -1 first. */
    void (*native_handles)(void *dev, elattn_native_handles *out);
    /* Checks of what the engine wraps, as far as the runtime can tell (fail
     * naming "native" or "bytes"). NULL: nothing can be checked. */
    elattn_status (*mem_check_wrap)(void *dev, void *mem, size_t bytes);
    elattn_status (*stream_check_wrap)(void *dev, void *stream);
    /* `stream` waits on the device, without blocking the host, for the work
     * recorded before `event` (recorded at least once). */
    elattn_status (*stream_wait_event)(void *dev, void *stream, void *event);
    /* 1 when an event recorded on `stream` can be timed; 0 with *why (static
     * text naming the reason). NULL: every stream can be timed. */
    int (*stream_timing)(void *dev, void *stream, const char **why);

    /* Decode attention (decode_run NULL: the backend has no decode kernel yet, and no decode
     * family). decode_plan selects, through elattn_family_select over the backend's decode
     * table, the first family that `forced` (options.kernel, NULL or "" for none) selects and
     * that can run `setup`; it writes the kernel name into `name` and sets *impl: its own state
     * (what it allocates once for every run of the plan, released by decode_plan_destroy), or
     * NULL when it keeps none; and it sets setup->model to the split policy's model that fits the
     * family (left as it is: the waves model). Runs are asynchronous on `stream`. */
    elattn_status (*decode_plan)(void *dev, elattn_decode_setup *setup, const char *forced, void **impl,
                                 char *name, size_t name_n);
    void (*decode_plan_destroy)(void *dev, void *impl);
    elattn_status (*decode_run)(void *dev, const void *impl, void *stream, const elattn_decode_call *call);
    /* A decode batch (elattn_decode_batch_create; NULL: runs with a batch are plain runs, which
     * read call->lengths from the host): what its runs need on the device, from `call` (the
     * batch's sequences and chunks at the lengths of its creation, no buffers); synchronous. A run
     * with call->batch then reads the lengths from call->lengths_dev. It must not depend on
     * `impl` after it returns. */
    elattn_status (*decode_batch_create)(void *dev, const void *impl, const elattn_decode_call *call, void **batch);
    void (*decode_batch_destroy)(void *dev, void *batch);
    /* Quest's page summaries (elattn_kv_summary_call), asynchronous on `stream` after the copies
     * queued there. NULL: the backend keeps none; a cache with page_summaries is refused, so its
     * decode plans never see a page budget. */
    elattn_status (*kv_summarize)(void *dev, void *stream, const elattn_kv_summary_call *call);
} elattn_backend_ops;


/* ---- kernel families ------------------------------------------------------------------
 * Kernel names follow one grammar: <backend>.<op>.<family>.d<D>.<dtype>[.<variant>],
 * e.g. "cuda.attn.mma.d64.bf16.packgqa". A forced name (elattn_plan_options.kernel)
 * selects a kernel when it equals the name or is a prefix of it ending at a '.':
 * "cuda.attn.mma" forces that family, "cuda" any family of the backend. */

/* Probe family `index` for the call at hand: 1 when it can run it (the backend
 * keeps what it chose in its ctx and writes the variant part of the name, ""
 * for none), 0 with *why set (a few words) otherwise. */
typedef int (*elattn_family_probe)(void *ctx, int index, char *variant, size_t variant_n, const char **why);

/* The one selection of every backend and operation: tries `families` (full
 * family names, count of them) in order and returns the index of the first
 * that can run the call and whose kernel name `forced` selects, with the
 * kernel name in `name`. Otherwise -1, with ELATTN_ERROR_UNSUPPORTED set:
 * every family's reason, or that `forced` names no family. `where` names the
 * device in messages ("sm_90", "PoCL"). */
int elattn_family_select(const char *const *families, int count, const char *forced, int head_dim,
                         elattn_dtype dtype, const char *where, elattn_family_probe probe, void *ctx, char *name,
                         size_t name_n);

/* 1 when `forced` (NULL or "" selects everything) selects kernel `name`. */
int elattn_kernel_name_selects(const char *forced, const char *name);

/* Set the calling thread's error message and return `status` (status.c).
 * Backends use it for every failure they report. */
elattn_status elattn_fail(elattn_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The ops tables: the reference's in the core; the others, each in its module
 * (backends/<name>/), where backends/common/module.c returns it. */
extern const elattn_backend_ops elattn_reference_backend;
extern const elattn_backend_ops elattn_cuda_backend;
extern const elattn_backend_ops elattn_hip_backend;
extern const elattn_backend_ops elattn_opencl_backend;

/* ---- modules ------------------------------------------------------------------------------
 * What a module takes from the core beyond the public API: the per-thread
 * message lives once, in the core, and so does the family selection. */
typedef struct elattn_core_services {
    elattn_status (*vfail)(elattn_status status, const char *fmt, va_list ap);
    int (*family_select)(const char *const *families, int count, const char *forced, int head_dim,
                         elattn_dtype dtype, const char *where, elattn_family_probe probe, void *ctx, char *name,
                         size_t name_n);
    int (*kernel_name_selects)(const char *forced, const char *name);
} elattn_core_services;

/* The one symbol a module exports: its ops table (whose first field, abi,
 * the core reads before anything else). The module keeps `core` only when
 * core_abi is its own ELATTN_BACKEND_ABI; the core uses the table only when
 * ops->abi is its own. */
#define ELATTN_BACKEND_MODULE_ENTRY "elattn_backend_module"
typedef const elattn_backend_ops *(*elattn_backend_module_fn)(int core_abi, const elattn_core_services *core);

/* status.c: elattn_fail with a va_list (the modules' route to the message). */
elattn_status elattn_vfail(elattn_status status, const char *fmt, va_list ap);

#ifdef __cplusplus
}
#endif

#endif /* ELATTN_BACKEND_H */

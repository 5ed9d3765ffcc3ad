/*
 * The OpenCL backend's internal interface, shared by its source files:
 *   opencl_backend.c  devices, queues, buffers, events, the ops table;
 *   opencl_program.c  error names, the program cache, metadata uploads;
 *   opencl_attn.c     the fused attention kernel: selection, plan, run;
 *   opencl_xattn.c    XAttention estimation and selection;
 *   opencl_router.c   the router.
 */
#ifndef ELATTN_OPENCL_INTERNAL_H
#define ELATTN_OPENCL_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120 /* the 1.2 API: PoCL, NVIDIA, AMD and Intel all have it */
#endif
#include <CL/cl.h>
#include <pthread.h>

#include "backend.h"

/* Device classes of the tuning tables. */
typedef enum ocl_class {
    OCL_CLASS_CPU = 0,
    OCL_CLASS_NVIDIA,
    OCL_CLASS_AMD,
    OCL_CLASS_INTEL,
    OCL_CLASS_OTHER,
    OCL_CLASS_COUNT
} ocl_class;

/* What kernel selection needs to know about a device (filled by enumerate and open). */
typedef struct ocl_caps {
    ocl_class cls;
    size_t local_mem;      /* CL_DEVICE_LOCAL_MEM_SIZE */
    size_t max_wg;         /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    size_t base_align;     /* CL_DEVICE_MEM_BASE_ADDR_ALIGN in bytes (sub-buffer offsets) */
    int nv_cc_major;       /* NVIDIA compute capability, 0 elsewhere */
    int nv_cc_minor;
    int warp_width;        /* CL_DEVICE_WARP_SIZE_NV / CL_DEVICE_WAVEFRONT_WIDTH_AMD, 0 elsewhere */
    /* Standard subgroup functions (sub_group_reduce_max, get_sub_group_local_id, ...): the OpenCL C
     * version that has them on this device, as -cl-std takes it, 300 when its OpenCL C features
     * list __opencl_c_subgroups, 200 when it lists cl_khr_subgroups at OpenCL C 2.0 or later (at 1.2
     * compilers may lack them: clang's headers do), 0 otherwise */
    int subgroup_cl_c;
    /* extensions the attention and decode families ask for */
    int ext_intel_subgroups, ext_intel_reqd_subgroup_size, ext_khr_fp16;
    /* CL_DEVICE_SUB_GROUP_SIZES_INTEL (cl_intel_required_subgroup_size): the widths a kernel may
     * require (as listed); none without the extension */
    int sg_sizes[8], n_sg_sizes;
} ocl_caps;

typedef struct ocl_program_entry {
    const char *source_id;  /* which operation's sources */
    char *options;
    cl_program program;
    struct ocl_program_entry *next;
} ocl_program_entry;

typedef struct ocl_device {
    cl_platform_id platform;
    cl_device_id device;
    char label[96];         /* CL_DEVICE_NAME, for messages */
    cl_context context;
    cl_command_queue queue; /* the default stream: in order, with profiling */
    ocl_caps caps;
    pthread_mutex_t programs_lock;
    ocl_program_entry *programs;
} ocl_device;

/* The device's name, for messages. */
static inline const char *ocl_device_label(const ocl_device *dev) { return dev->label; }

/* Queue of a backend stream handle (NULL: the device's own queue). */
static inline cl_command_queue ocl_queue(const ocl_device *dev, void *stream)
{
    return stream ? (cl_command_queue)stream : dev->queue;
}

/* ---- opencl_tuning.c: the attention tile table ------------------------------- */
typedef struct ocl_tune_row {
    const char *family;  /* "scalar", "mma", "mma_async", "subgroup", "xattn.mma" */
    ocl_class cls;
    int cc_min;          /* NVIDIA: lowest compute capability x 10 the row is for (0: any) */
    int head_dim;        /* band: 64, 128 or 256 (the row of the smallest band >= D) */
    int tile_m, tile_n, wg;
    const char *source;  /* the measuring command and device, or that it is a guess */
} ocl_tune_row;
int ocl_tune_band(int head_dim);
/* The row for a family on a device and head dim, or NULL. */
const ocl_tune_row *ocl_tune_lookup(const char *family, const ocl_caps *caps, int head_dim);

/* ---- opencl_program.c ------------------------------------------------------ */
const char *ocl_error_name(cl_int err);
/* elattn_fail(ELATTN_ERROR_BACKEND or OUT_OF_MEMORY, "<call>: <error name> (<what>)"). */
elattn_status ocl_fail(cl_int err, const char *call, const char *what);
#define OCL_CHECK(call_expr, what)                                                                    \
    do {                                                                                            \
        cl_int ocl_err_ = (call_expr);                                                              \
        if (ocl_err_ != CL_SUCCESS) return ocl_fail(ocl_err_, #call_expr, what);                    \
    } while (0)

/* The class and selection-relevant limits of a device. */
void ocl_query_caps(cl_device_id device, ocl_caps *caps);
/* Testing: the class ELATTN_OPENCL_DEVICE_CLASS ("amd", "intel", "other") makes every device but
 * NVIDIA's take (its tile rows, work-group sizes and kernel forms; so a run on PoCL builds what
 * such a device would); "amd:64" and "amd:32" also give it that wavefront width (CDNA's, RDNA's),
 * as an AMD GPU answers CL_DEVICE_WAVEFRONT_WIDTH_AMD (*wave, 0 without one). 1 with *cls set, 0
 * unset, -1 for any other value (the device does not open). */
int ocl_forced_class(ocl_class *cls, int *wave);

/* A program built from the embedded sources of `source_id` ("attn", "xattn",
 * "router") with `options`, from the device's cache or built now (under the
 * device's lock). The cache owns it: do not release. */
elattn_status ocl_get_program(ocl_device *dev, const char *source_id, const char *options,
                              cl_program *program);
void ocl_release_programs(ocl_device *dev);

/* A kernel of a cached program together with the lock that makes
 * "set arguments + enqueue" atomic, so one plan can run from many threads. */
typedef struct ocl_kernel {
    cl_kernel kernel;
    pthread_mutex_t lock;
} ocl_kernel;
elattn_status ocl_kernel_create(ocl_device *dev, cl_program program, const char *name, size_t wg,
                                ocl_kernel *out);
void ocl_kernel_release(ocl_kernel *k);

/* Argument list for ocl_launch. */
typedef struct ocl_arg {
    size_t size;
    const void *value;
} ocl_arg;
#define OCL_ARG(x) ((ocl_arg){sizeof(x), &(x)})

/* Set every argument and enqueue `groups` work-groups of `wg` items, under the kernel's lock. */
elattn_status ocl_launch(ocl_kernel *k, cl_command_queue queue, const ocl_arg *args, int nargs,
                         size_t groups, size_t wg, const char *what);

/* Copy `bytes` of host metadata into `workspace` at byte `offset`, asynchronously:
 * takes ownership of `blob` (malloc'd) and frees it when the copy is done. */
elattn_status ocl_upload_meta_at(cl_command_queue queue, cl_mem workspace, size_t offset, void *blob, size_t bytes);
/* The same at the start of `workspace`. */
static inline elattn_status ocl_upload_meta(cl_command_queue queue, cl_mem workspace, void *blob, size_t bytes)
{
    return ocl_upload_meta_at(queue, workspace, 0, blob, bytes);
}

/* Build options common to every program: storage dtype and work-group size. */
int ocl_format_options(char *buf, size_t size, int dtype, int wg, const char *extra);
/* The same at OpenCL C version cl_c (120, 200 or 300; ocl_format_options builds at 120). */
int ocl_format_options_at(char *buf, size_t size, int cl_c, int dtype, int wg, const char *extra);


/* ---- operations -------------------------------------------------------------- */
elattn_status ocl_attn_plan(void *dev, const elattn_attn_desc *desc, const elattn_plan_options *options,
                            elattn_backend_plan *plan);
void ocl_attn_plan_destroy(void *dev, void *impl);
elattn_status ocl_attn_run(void *dev, const void *impl, void *stream, const elattn_attn_call *call);
/* An attention batch: the workspace's metadata prefix (cu_q at 0, cu_k at batch + 1, work list
 * costed as FULL), uploaded once; runs copy it into their workspace on the device, the router
 * reads its cu_k. meta is NULL when there are no items. */
typedef struct attn_batch {
    cl_mem meta;
    size_t bytes; /* of the prefix that runs copy */
    int n;        /* items */
} attn_batch;
elattn_status ocl_attn_batch_create(void *dev, const void *impl, const elattn_attn_call *call, void **batch);
void ocl_attn_batch_destroy(void *dev, void *batch);
/* Whether the default attention kernel of a device exists for head dim 256 (caps). */
int ocl_attn_head_dim_256_ok(const ocl_caps *caps);
/* Whether an attention family of the device runs on matrix units (mma.sync through inline PTX). */
int ocl_attn_matrix_units(const ocl_caps *caps);
/* Whether ELATTN_OPENCL_MMA_EMULATE=1 asks for emulated warp instructions (the mma families', the
 * tiled decode's shuffles). */
int ocl_warp_emulated(void);
/* Whether the mma families (attention, XAttention) can run on the device: SUCCESS with *emulate
 * set when ELATTN_OPENCL_MMA_EMULATE=1 asks for the emulated warp instructions, or UNSUPPORTED
 * with the reason. */
elattn_status ocl_mma_usable(const ocl_caps *caps, int *emulate);
/* The attention families in the order plans try them (opencl_attn.c): up to max names; returns how many. */
int ocl_attn_families(const char **names, int max);
/* XAttention and decode have tables of families (ocl_xattn_families, ocl_decode_families); the
 * router one family, `scalar` (fp32 arithmetic, every dtype and head dim). */
#define OCL_ROUTER_FAMILY "opencl.router.scalar"

/* An operation's family through the core's selection (elattn_family_select):
 * choose(ctx, variant, n) fills the operation's own choice and the variant
 * part of the kernel name, or fails with the message set (UNSUPPORTED). The
 * kernel name goes to `name`. */
typedef elattn_status (*ocl_choose_fn)(void *ctx, char *variant, size_t variant_n);
elattn_status ocl_select(const ocl_device *dev, const char *family, const char *forced, int head_dim, elattn_dtype dtype,
                         ocl_choose_fn choose, void *ctx, char *name, size_t name_n);

elattn_status ocl_xattn_plan(void *dev, const elattn_xattn_desc *desc, const elattn_plan_options *options,
                             elattn_backend_plan *plan);
void ocl_xattn_plan_destroy(void *dev, void *impl);
elattn_status ocl_xattn_run(void *dev, const void *impl, void *stream, const elattn_xattn_call *call);
/* XAttention's families in selection order: up to `max` names into `names`; returns how many there are. */
int ocl_xattn_families(const char **names, int max);

elattn_status ocl_router_plan(void *dev, const elattn_router_desc *desc, const elattn_plan_options *options,
                              elattn_backend_plan *plan);
void ocl_router_plan_destroy(void *dev, void *impl);
elattn_status ocl_router_run(void *dev, const void *impl, void *stream, const elattn_router_call *call);

elattn_status ocl_merge_run(void *dev, void *stream, const elattn_merge_call *call);
elattn_status ocl_decode_plan(void *dev, elattn_decode_setup *setup, const char *forced, void **impl, char *name,
                              size_t name_n);
void ocl_decode_plan_destroy(void *dev, void *impl);
elattn_status ocl_decode_run(void *dev, const void *impl, void *stream, const elattn_decode_call *call);
/* Decode's families in selection order (opencl_decode.c): up to `max` names; returns how many there are. */
int ocl_decode_families(const char **names, int max);
elattn_status ocl_kv_summarize(void *dev, void *stream, const elattn_kv_summary_call *call);

/* The embedded sources (generated by kernels/opencl/embed_cl.py). */
extern const char elattn_cl_elattn_spec[];
extern const char elattn_cl_common[];
extern const char elattn_cl_attn_fused[];
extern const char elattn_cl_warp_shuffle[];
extern const char elattn_cl_mma_warp[];
extern const char elattn_cl_attn_mma_rows[];
extern const char elattn_cl_attn_mma[];
extern const char elattn_cl_attn_mma_async[];
extern const char elattn_cl_wgmma_warpgroup[];
extern const char elattn_cl_attn_wgmma[];
extern const char elattn_cl_xattn[];
extern const char elattn_cl_xattn_mma[];
extern const char elattn_cl_router[];
extern const char elattn_cl_merge[];
extern const char elattn_cl_decode[];
extern const char elattn_cl_decode_tiled[];

#endif

/*
 * Shared by the lab tools (elattn-lab-attn, elattn-lab-xattn): the options
 * both take, the one-line key=value report, deterministic data, guarded
 * output buffers and event timing. Everything goes through the public API;
 * only the checks call the scalar reference (elattn_ref.h), compiled into
 * each tool from reference/.
 */
#ifndef ELATTN_LAB_H
#define ELATTN_LAB_H

#include <stddef.h>
#include <stdint.h>

#include "elattn/elattn.h"
#include "kit_case.h"  /* kit_seqlens */
#include "kit_guard.h" /* guarded outputs */
#include "kit_rng.h"

#define LAB_MAX_BATCH 64
#define LAB_MAX_KV_HEADS 64

/* Exit statuses: a sweep loop tells a wrong kernel from an unsupported shape. */
enum { LAB_EXIT_PASS = 0, LAB_EXIT_CHECK_FAILED = 1, LAB_EXIT_ERROR = 2, LAB_EXIT_UNSUPPORTED = 3 };

/* Options both tools take. */
typedef struct lab_opts {
    const char *device;      /* elattn_device_open_by_name */
    const char *kernel;      /* elattn_plan_options.kernel; NULL: the library chooses */
    int tile_m, tile_n, wg;  /* elattn_plan_options.tile_m, tile_n, work_group_size (0: the kernel's) */
    elattn_dtype dtype;
    int head_dim, hq, hkv, batch, causal, block;
    int lq[LAB_MAX_BATCH], lk[LAB_MAX_BATCH];
    const char *mix;         /* as given; modes[] holds it expanded */
    int32_t modes[LAB_MAX_KV_HEADS];
    int check;               /* 0: time only */
    int warmup, iters;
    uint64_t seed;
    /* as given, until lab_parse_args fills lq/lk/batch */
    int batch_given;
    const char *lq_text, *lk_text;
} lab_opts;

/* The plan options the shared options ask for (kernel, tiles). */
elattn_plan_options lab_plan_options(const lab_opts *o);
/* Defaults of the shared options (mix: the tool's default mix string). */
void lab_opts_init(lab_opts *o, const char *tool, const char *mix); /* tool: the line's first field */
/* A tool's own options: takes `name` and returns 1, or returns 0 for a name it
 * does not know. */
typedef int (*lab_option_fn)(void *tool, const char *name, const char *value);
/* Parses argv ("--name value" or "--name=value"): --help prints `usage` (its
 * %s gets the shared options' text), --list the devices; then the shared
 * options and the tool's. Fills the lengths and the mode table; exits with
 * LAB_EXIT_ERROR on anything it cannot take. */
void lab_parse_args(lab_opts *o, int argc, char **argv, const char *usage, lab_option_fn own, void *tool);
/* Numbers of an option's value, in [lo, hi]; exit with a message otherwise.
 * Integers take a k suffix (x 1024). */
long lab_parse_long(const char *name, const char *value, long lo, long hi);
double lab_parse_double(const char *name, const char *value, double lo, double hi);

/* ---- the report line ------------------------------------------------------
 * Fields accumulate as they become known; lab_finish prints "status=..."
 * and the fields as one line on stdout and exits. */
void lab_kv(const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void lab_kv_list(const char *key, int n, const int *v); /* key=1,2,3 */
void lab_kv_config(const lab_opts *o); /* the shape fields every line starts with */
void lab_fail_reason(const char *fmt, ...) /* a reason the check failed (all are reported) */
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
void lab_mark_unchecked(void); /* --check 0: the status says so instead of "pass" */
void lab_finish(void); /* status pass/unchecked/fail from the reasons; exits */
/* A failed API call: status "unsupported" or "error" with the library's message; exits. */
void lab_api_fail(elattn_status st, const char *what);
void lab_die(const char *fmt, ...) /* usage or host error: status "error"; exits */
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
#define LAB_TRY(call, what)                                        \
    do {                                                           \
        elattn_status lab_st_ = (call);                            \
        if (lab_st_ != ELATTN_SUCCESS) lab_api_fail(lab_st_, what); \
    } while (0)

void *lab_malloc(size_t bytes); /* exits on failure */

/* ---- data ------------------------------------------------------------------- */
/* Random values come from the tools' generator (kit_rng.h): kit_rng_unit
 * (unit variance, uniform: fast at 10^8 values, and the kernels do not care
 * about the shape of the distribution) and kit_rng_uniform. */
/* Stores n floats (already in `chunk`) as `dtype` at element `at` of dst. */
void lab_store(elattn_dtype dtype, void *dst, size_t at, const float *chunk, size_t n);
double lab_load(elattn_dtype dtype, const void *src, size_t at);
/* cu_seqlens of lengths `len`, and max(1, longest). */
/* 1 when both guards of a guarded output still hold their pattern; else the
 * overwritten byte nearest to the output in *first_hit (kit_guarded_check). */
int lab_guards_intact(const kit_guarded *g, long long *first_hit);

typedef void (*lab_launch_fn)(void *ctx);
typedef struct lab_times {
    double median, min, max;
} lab_times;
/* warmup untimed launches, then `iters` launches each between two events. */
lab_times lab_time(elattn_device *dev, int warmup, int iters, lab_launch_fn launch, void *ctx);

#endif /* ELATTN_LAB_H */

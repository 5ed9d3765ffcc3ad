/*
 * elattn-bench's own types, shared by its files: the configuration from the
 * command line, a device with its stream and events, a shape and its input
 * sets, the result of one case, and what each file offers the others.
 */
#ifndef ELATTN_BENCH_H
#define ELATTN_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <elattn/elattn.h>

#include "kit_case.h"

#define MAX_LIST 32
#define MAX_SETS 8
#define MAX_DEVICES 16

/* ---- mixes of modes (options.c) ------------------------------------------------ */
/* A mix pairs a retrieval mode (router class 1) with a sparse mode (class 0);
 * sparse_frac of the KV heads take the sparse mode. The retrieval heads come
 * first, as in shared/tools/peers.py, so each mode's heads are one range. */
enum { PAIR_DENSE, PAIR_FA_SSA, PAIR_FA_XA, PAIR_XA_SSA, PAIR_COUNT };

typedef struct bench_pair {
    const char *name;
    elattn_mode retrieval, sparse;
} bench_pair;

extern const bench_pair pairs_table[PAIR_COUNT];

typedef struct mix {
    int pair;
    double sparse_frac;
    int implicit; /* from "all" or a bare pair name: left out when not a whole number of heads */
} mix;

int mix_uses_xa(const mix *m);
void mix_label(const mix *m, char *out, size_t n);
/* The mode table of a call; returns the number of retrieval heads. */
int mix_modes(const mix *m, kit_case *call);

/* ---- configuration (options.c) --------------------------------------------------- */
typedef struct int_list {
    int n;
    int v[MAX_LIST];
} int_list;

typedef struct config {
    const char *set_name, *set_note;
    int hq, hkv;
    int_list lens, head_dims, blocks, dtypes;
    int n_mixes;
    mix mixes[MAX_LIST];
    int sink, local, stride;
    int causal; /* --causal: 1 (default) or 0 */
    float tau;
    double min_time_s;
    int min_reps, max_reps, warmup;
    double rotate_mib; /* input sets rotated until they exceed this much memory */
    int serial, router, check, structured;
    double device_budget_s; /* 0: none */
    int lead_tokens;        /* --lead-tokens: the lead before each timed run (-1: bench_lead_default) */
    unsigned long long seed;
    int n_devices;
    const char *devices[MAX_DEVICES];
    const char *json_path, *csv_path;
    const char *kernel; /* --kernel: implementation name for the fused plan */
    int tiles[3];       /* --tiles: tile_m, tile_n, work_group_size of the fused plan (0: the kernel's) */
    const char *xattn_kernel; /* --xattn-kernel: implementation name for the XAttention plan */
    int page_size;      /* --page-size: the fused call reads K/V as pages of this many tokens (0: packed) */
    int list_only;
    char dropped_mixes[256]; /* implicit mixes that are not a whole number of heads */
} config;

/* Returns 0 to go on, 1 to exit 0 (help), 2 for a usage error. */
int parse_args(int argc, char **argv, config *c);
/* The list parsers parse_args uses (elattn-decode-bench takes them too); 0 or -1 on a bad list.
 * Lengths take a k/K suffix (8k); dtypes bf16, f16/fp16, f32/fp32; mixes add to list[0..*n)
 * (at most MAX_LIST, repeats dropped): dense, all, PAIR (its fractions 0.5, 0.75, 1) or PAIR:FRAC. */
int parse_int_list(const char *s, int_list *out);
int parse_dtypes(const char *s, int_list *out);
int parse_mix_list(const char *s, mix *list, int *n);

/* ---- devices and timing (device.c) ------------------------------------------------ */
typedef struct timing {
    int reps; /* 0: not measured */
    double median, min, max, p25, p75;
} timing;

/* The lead (device.c): before each timed run, an untimed dense attention of `tokens` queries over
 * as many keys (one head, D 128; 8192 tokens take an H200 about 0.1 ms) that keeps the device busy
 * while the host queues the run's start event and the run itself. Without it the device may have
 * caught up with the host, the start event is reached at once, and the run's own host work (its
 * metadata, its launches) is timed with it: 8-11 us per batch-1 decode step in call 80, 7-13 us per
 * prefill call (bench/results/2026-12-04-nvidia-h200). tokens 0: none. */
typedef struct bench_lead {
    int tokens;
    elattn_attn_plan *plan;
    elattn_buffer *mem; /* its Q, K, V and O, one after the other */
    elattn_attn_args args;
    int32_t cu[2];
} bench_lead;

typedef struct bench_dev {
    elattn_device *dev;
    elattn_device_info info;
    elattn_stream *stream;
    elattn_event *ev_start, *ev_end;
    bench_lead lead; /* run by time_once before its start event (zeroed: none) */
} bench_dev;

/* One run of what is timed, on input set `set`. */
typedef elattn_status (*op_fn)(void *ctx, int set);

double now_s(void);
/* The lead of `tokens` (0: none) in the run's dtype, its inputs zero (only its time matters). */
elattn_status bench_lead_create(bench_lead *l, elattn_device *dev, elattn_stream *stream, elattn_dtype dtype,
                                int tokens);
void bench_lead_destroy(bench_lead *l);
/* The lead's default: 8192 tokens on a GPU, none on a CPU device (whose host and device are one). */
int bench_lead_default(const elattn_device_info *info);
/* One run of fn(ctx, set) between the device's two events, after the device's lead: its time in ms. */
elattn_status time_once(bench_dev *bd, op_fn fn, void *ctx, int set, float *ms);
elattn_status time_op(const config *c, bench_dev *bd, op_fn fn, void *ctx, int nsets, timing *t);
/* Sorts ms[0..n) (n >= 1) and fills t: reps, median, quartiles, min, max. */
void timing_from_samples(double *ms, int n, timing *t);

/* ---- JSON output (output.c) --------------------------------------------------------------- */
struct kit_json;
/* Opens PATH.tmp (its name into tmp), starts the document and its "meta" object with the tool,
 * version, date and command; the caller adds to meta and goes on. NULL (and a message) when the
 * file cannot be written. */
FILE *json_document_begin(const char *path, const char *tool, const char *command, struct kit_json *w, char *tmp,
                          size_t tmp_n);
/* Closes the document and renames PATH.tmp over PATH. */
void json_document_end(FILE *f, struct kit_json *w, const char *tool, const char *tmp, const char *path);
elattn_status open_device(const char *name, elattn_device **dev);
void list_devices(void);

/* ---- a shape and its inputs (inputs.c) --------------------------------------------- */
typedef struct shape {
    kit_case call; /* one element, Lq = Lk = S, causal; each case sets its block and modes */
    size_t es, q_bytes, kv_bytes;
    int nsets;
    elattn_buffer *q[MAX_SETS], *k[MAX_SETS], *v[MAX_SETS], *o[MAX_SETS];
    int32_t cu_q[2], cu_k[2];
} shape;

void init_shape(shape *sh, const config *c, elattn_dtype dtype, int head_dim, int seqlen);
/* Picks the number of input sets (memory permitting) and makes them. */
elattn_status make_shape(const config *c, bench_dev *bd, shape *sh, char *why, size_t why_n);
void free_shape(shape *sh);

/* ---- results (output.c) ------------------------------------------------------------- */
typedef struct result {
    char device_id[64], device_name[128], backend[16];
    int lead_tokens; /* the lead before each timed run (bench_lead; 0: none) */
    char kernel[128], serial_kernels[256], xattn_kernel[128], router_kernel[128];
    elattn_dtype dtype;
    int head_dim, hq, hkv, seqlen, block, stride, sink, local, causal;
    float tau;
    char mix[32];
    int pair;
    double sparse_frac;
    int sets;
    timing fused, serial, xattn, router;
    double pairs, tflops, dense_equiv_tflops;
    double omega_msr, omega_esr;
    double speedup_vs_dense, speedup_vs_serial; /* 0: not applicable */
    double ideal_ms; /* fa-ssa mixes: the hybrid's ideal (report_ideals); 0: not measured in this run */
    double check_rel_err;                       /* -1: not compared */
    const char *status;                         /* ok, unsupported, skipped, error */
    char message[320];
} result;

result *new_result(void); /* appended to the results; status "ok" */
int result_count(void);
const result *result_at(int i);
void free_results(void);
void write_json(const config *c, const char *command);
void write_csv(const config *c);
void print_header(void);
/* The ideal of each fa-ssa mix among results [first, end) (one device and shape): its FULL heads
 * at the dense run's rate plus its STREAMING heads at the fa-ssa:1 run's, (1 - f) x dense + f x
 * fa-ssa:1 for a fraction f of STREAMING KV heads (issue 11's "within 5% of the ideal"); set in
 * the results and printed, when dense and fa-ssa:1 were both measured. */
void report_ideals(int first, int end);
void print_result(const result *r);

/* ---- one case (run_case.c, serial.c, router.c) ----------------------------------------- */
void fill_case_header(result *r, const config *c, const bench_dev *bd, const shape *sh, const mix *m, int block);
/* block: the mask block for mixes with BLOCK_SPARSE heads, 0 otherwise. */
void run_case(const config *c, bench_dev *bd, shape *sh, const mix *m, int block, double dense_ms,
              const timing *router, const char *router_kernel, result *r);

/* Serial dispatch: per mode, a plan over just that mode's heads. */
typedef struct serial_group {
    int kv0;       /* the first KV head of the range */
    kit_case call; /* the range's heads alone, all in one mode */
    elattn_attn_plan *plan;
    elattn_buffer *q, *k, *v, *o, *mask, *workspace;
} serial_group;

typedef struct serial_ctx {
    bench_dev *bd;
    shape *sh;
    elattn_buffer **masks;
    size_t mask_head_bytes; /* [qblocks][kblocks] of one KV head */
    int n_groups;
    serial_group g[2];
} serial_ctx;

/* One group per mode of `call` (n_retr retrieval heads first, the sparse
 * heads after them), each with its own plan and gathered buffers. */
elattn_status setup_serial(serial_ctx *s, const kit_case *call, int n_retr, char *kernels, size_t kernels_n);
elattn_status run_serial(void *ctx, int set); /* an op_fn */
void free_serial(serial_ctx *s);

/* Times the router on the shape's keys with random weights (PyTorch's Linear
 * initialisation range). On failure `kernel` says why. */
void time_router(const config *c, bench_dev *bd, shape *sh, timing *t, char *kernel, size_t kernel_n);

#endif /* ELATTN_BENCH_H */

/*
 * elattn-conformance: the case matrix, the checks and the runner share these
 * types. Everything here runs through the public API (elattn/elattn.h); only
 * the XAttention check reads the reference's block scores (elattn_ref.h) to
 * know how close each mask decision was.
 */
#ifndef ELATTN_CONF_H
#define ELATTN_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "elattn/elattn.h"
#include "kit_case.h" /* the call shape, lengths and mode table a case holds */
#include "kit_guard.h" /* guarded outputs */
#include "kit_rng.h"

#define CONF_MAX_KV_HEADS 16
#define CONF_NAME_LEN 160

typedef enum case_kind { CASE_ATTN, CASE_XATTN, CASE_ROUTER, CASE_INVALID, CASE_DECODE } case_kind;

#define CONF_MAX_DECODE_STEPS 8

/* Which modes the (element, KV head) entries of an attention case get
 * (the case's mode table is made from it). */
typedef enum mode_mix {
    MIX_FULL,
    MIX_STREAMING,
    MIX_BLOCK,
    MIX_ALL3 /* entry e gets mode e % 3: all three modes in one call */
} mode_mix;

/* Where an attention case's tensors live on the device under test (the
 * reference oracle always runs them packed). */
typedef enum attn_layout {
    LAYOUT_PACKED,   /* [tokens][H][D] in separate buffers */
    LAYOUT_FUSED,    /* Q, K, V views into one [tokens][(Hq + 2 Hkv) D + pad] buffer; O with a padded row */
    LAYOUT_PERMUTED, /* Q and O head-major [H][tokens][D] with a gap per head; K, V with padded rows */
    LAYOUT_PAGED     /* K, V in shuffled pages [num_pages][P][Hkv][D]; unreached pages NaN; O padded */
} attn_layout;

/* Features of the support matrix; a case counts under each bit it has. */
enum {
    FEAT_F32 = 1u << 0,
    FEAT_F16 = 1u << 1,
    FEAT_BF16 = 1u << 2,
    FEAT_D64 = 1u << 3,
    FEAT_D128 = 1u << 4,
    FEAT_D256 = 1u << 5,
    FEAT_FULL = 1u << 6,
    FEAT_STREAMING = 1u << 7,
    FEAT_BLOCK = 1u << 8,
    FEAT_MIXED = 1u << 9,
    FEAT_LSE = 1u << 10,
    FEAT_VARLEN = 1u << 11,
    FEAT_XATTN = 1u << 12,
    FEAT_ROUTER = 1u << 13,
    FEAT_INVALID = 1u << 14,
    FEAT_DIM_OTHER = 1u << 15, /* head dims other than 64, 128, 256 */
    FEAT_STRIDED = 1u << 16,   /* strided Q/K/V/O (group "strided") */
    FEAT_PAGED = 1u << 17,     /* paged K/V (group "paged") */
    FEAT_DECODE = 1u << 18,    /* decode over the per-head KV cache (group "decode") */
    FEAT_COUNT = 19
};

extern const char *const conf_feature_names[FEAT_COUNT];

typedef struct conf_case {
    char name[CONF_NAME_LEN];
    case_kind kind;
    unsigned features;
    int quick;          /* member of the --quick set */
    uint64_t seed;      /* data seed (derived from the name: stable across runs) */

    /* dtype of Q/K/V/O or the router's keys, heads, lengths, causal, the
     * STREAMING window, the block (of masks and of XAttention) and the
     * mode table (from `mix`) */
    kit_case call;

    /* attention */
    mode_mix mix;
    int lse;
    double mask_density; /* probability that a mask cell is set */
    int empty_rows;      /* some query-block rows of every mask are all zero */
    attn_layout layout;  /* strided and paged cases (groups "strided", "paged") */
    int page_size;       /* LAYOUT_PAGED */
    int tiles[3];        /* tile_m, tile_n, work_group_size of its plans where the target forces none (0: the backend's) */
    int device_meta;     /* the engine's path (CUDA-graph capture) on the device under test: attention gets the
                          * lengths as an elattn_attn_batch and the modes in a device buffer (the oracle gets them
                          * on the host); XAttention the lengths from an attention batch, the modes and thresholds
                          * in device buffers; the router the lengths from an attention batch and its modes out
                          * to a device buffer; decode runs every step from one elattn_decode_batch (equal steps) */

    /* XAttention (block above is its block size too) */
    int stride;
    int num_taus;        /* 1 or hkv */
    float taus[CONF_MAX_KV_HEADS];
    int xattn_modes;     /* 1: pass a mode table (only BLOCK_SPARSE entries selected) */

    /* router */
    int hidden;
    elattn_mode retrieval, sparse;

    /* invalid-argument table: index of the row (see invalid.c) */
    int invalid_row;

    /* decode: call.len_q holds the prefill lengths, call.modes the sequences' modes; step i
     * appends dec_steps[(i + b) % dec_nsteps] tokens to sequence b, then decodes them */
    int dec_steps[CONF_MAX_DECODE_STEPS], dec_nsteps;
    int dec_splits; /* elattn_decode_desc.num_splits (0: the plan's) */
    int dec_page;   /* the cache's page size */
    int dec_budget; /* elattn_decode_desc.page_budget (0: BLOCK_SPARSE heads decode densely) */
    int dec_ties;   /* keys of +-1 only: (nearly) every page's summary alike, Quest's scores tie */
} conf_case;

/* cases.c */
int conf_build_cases(conf_case **cases); /* returns the count; caller frees */
/* Instead of the matrix: n cases drawn at random from `seed` (random_cases.c), the same on
 * every machine for the same seed; a case does not depend on n. with_tiles: each attention draw
 * also draws the tile shape of its plans (the same shapes otherwise). */
int conf_build_random_cases(uint64_t seed, int n, int with_tiles, conf_case **cases);
void conf_describe_case(const conf_case *c, char *out, size_t n);

/* ---- checks.c: comparisons (guarded outputs: kit_guard.h) ------------------ */

/* Tolerances per output dtype (see the table in checks.c). */
typedef struct conf_tolerance {
    double nmse;        /* normalised mean squared error of O */
    double max_rel;     /* max |O - O_ref| / max |V| of the case */
    double lse_rel;     /* |LSE - LSE_ref| / max(1, |LSE_ref|) */
} conf_tolerance;
const conf_tolerance *conf_tolerance_of(elattn_dtype dtype);

/* XAttention: a mask decision closer than this to flipping (score margin as
 * a fraction of its row's total score) may differ from the reference. */
extern const double conf_xattn_margin_eps;
/* Router: |logit - ref| <= conf_router_logit_tol * max(1, |ref|). */
extern const double conf_router_logit_tol;

/* Result of one case on one backend. */
typedef enum case_status { ST_PASS, ST_FAIL, ST_UNSUPPORTED } case_status;

typedef struct case_result {
    case_status status;
    double nmse, max_err;   /* max_err: absolute error (O, logits) or mismatches (masks) */
    int guard_ok;           /* -1: not applicable */
    char kernel[96];
    char detail[256];       /* why it failed / what was tolerated */
} case_result;

/* Comparison of one attention output against the reference's. o/lse as fp32
 * (converted from the output dtype); row_empty[total_q * Hq]: the query row
 * has no visible key (expected O = 0, LSE = -inf). */
typedef struct attn_compare_in {
    const conf_case *c;
    int total_q;
    const float *o_ref, *o_dut;
    const float *lse_ref, *lse_dut; /* NULL when the case has no LSE */
    const unsigned char *row_empty;
    double max_abs_v;
} attn_compare_in;
void conf_compare_attn(const attn_compare_in *in, case_result *r);

void result_fail(case_result *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void result_note(case_result *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- per-kind execution (attn.c, xattn.c, router.c, invalid.c) ---------------- */

/* What the runner checks a case on: an open device, the kernel name forced
 * on its plans (NULL: the selection chooses) and the kinds of case it runs.
 * Without --kernel, a device is one target per kernel family it lists
 * (elattn_device_kernel_families), each forced by name and running the cases
 * of its operation, plus one for the invalid-argument table: every case
 * meets every family, not only the one the selection would pick. */
typedef struct conf_target {
    elattn_device *dev;
    int owns_dev;         /* this target closes dev */
    char label[96];       /* shown in the "backend" column */
    char kernel[96];      /* elattn_plan_options.kernel, "" for none */
    int tiles[3];         /* tile_m, tile_n, work_group_size of its attention plans (0: the backend's) */
    unsigned kinds;       /* 1 << case_kind for each kind it runs */
} conf_target;

/* Reference results of one case (inputs and the reference's outputs),
 * computed once and checked against every target. The make functions return
 * NULL when the reference itself could not run the case (`why` says why). */
typedef struct attn_oracle attn_oracle;
attn_oracle *attn_oracle_make(const conf_case *c, elattn_device *ref, char *why, size_t n);
void attn_oracle_check(const conf_case *c, const attn_oracle *o, const conf_target *t, case_result *r);
void attn_oracle_free(attn_oracle *o);

typedef struct xattn_oracle xattn_oracle;
xattn_oracle *xattn_oracle_make(const conf_case *c, elattn_device *ref, char *why, size_t n);
void xattn_oracle_check(const conf_case *c, const xattn_oracle *o, const conf_target *t, case_result *r);
void xattn_oracle_free(xattn_oracle *o);

typedef struct router_oracle router_oracle;
router_oracle *router_oracle_make(const conf_case *c, elattn_device *ref, char *why, size_t n);
void router_oracle_check(const conf_case *c, const router_oracle *o, const conf_target *t, case_result *r);
void router_oracle_free(router_oracle *o);

typedef struct decode_oracle decode_oracle;
decode_oracle *decode_oracle_make(const conf_case *c, elattn_device *ref, char *why, size_t n);
void decode_oracle_check(const conf_case *c, const decode_oracle *o, const conf_target *t, case_result *r);
void decode_oracle_free(decode_oracle *o);

int invalid_row_count(void);
const char *invalid_row_name(int row);
void invalid_check(const conf_case *c, const conf_target *t, case_result *r);

/* Small helpers shared by the kinds (checks.c). */
elattn_status upload_new(elattn_device *dev, const void *host, size_t bytes, elattn_buffer **out);
/* The lengths as an elattn_attn_batch, for the engine's path of XAttention and the router (their
 * args.lengths); an attention plan of any shape the device takes (D 64, a window of 1) carries it. */
typedef struct lengths_batch {
    elattn_attn_plan *plan;
    elattn_attn_batch *batch;
} lengths_batch;
elattn_status lengths_batch_make(elattn_device *dev, elattn_dtype dtype, int heads, int batch, int max_q, int max_k,
                                 const int32_t *cu_q, const int32_t *cu_k, lengths_batch *out);
void lengths_batch_free(lengths_batch *l);
/* A failed plan or run: UNSUPPORTED is reported as such, anything else fails. */
void result_from_status(case_result *r, elattn_status st, const char *what);
/* n values drawn from N(0, sigma^2),
 * stored in `dtype`; *f32 (may be NULL) receives them as rounded to dtype. */
void *random_tensor(kit_rng *rng, elattn_dtype dtype, size_t n, double sigma, float **f32);
/* Convert a downloaded tensor of `dtype` to fp32 (NaN stays NaN). */
float *to_f32(elattn_dtype dtype, const void *src, size_t n);
void *xmalloc(size_t bytes);
void *xcalloc(size_t n, size_t size);

#endif /* ELATTN_CONF_H */

/*
 * Building cases: the fixed matrix (cases.c) and the random draw (random_cases.c) make
 * their cases through these builders, so that a case's name, data seed and support-matrix
 * features are made in one place.
 */
#ifndef ELATTN_CONF_CASES_H
#define ELATTN_CONF_CASES_H

#include "conf.h"

typedef struct case_list {
    conf_case *v;
    int n, cap;
} case_list;

/* A zeroed case at the end of the list (exits on out of host memory, as the runner's setup does). */
conf_case *case_push(case_list *l);

/* Parameters of one attention case, before it gets its name. */
typedef struct attn_spec {
    elattn_dtype dtype;
    int d, hq, hkv, batch;
    int lq[KIT_MAX_BATCH], lk[KIT_MAX_BATCH]; /* lk[b] == 0 with lq[b] > 0 means lk = lq */
    int causal, sink, local, block, lse;
    mode_mix mix;
    const int32_t *modes; /* [batch][hkv] modes instead of the mix's (the name then says "modes"); NULL: mix */
    double density;
    int empty_rows, quick;
    attn_layout layout;
    int page;         /* LAYOUT_PAGED */
    int stream_first; /* every KV head of element 0 STREAMING (its middle pages are reached by no head) */
} attn_spec;

/* The matrix's base case: fp32, D 64, 6/3 heads, L 203, causal, sink 4, local 32, block 64, LSE, all modes. */
attn_spec attn_base_spec(void);
/* Appends the case; its name is attn/<group>/<mix>/<dtype>/d<D>/h<Hq>:<Hkv>/L<lengths>/... */
conf_case *add_attn(case_list *l, const char *group, attn_spec s);

conf_case *add_xattn(case_list *l, elattn_dtype dtype, int d, int hq, int hkv, int batch, const int *lq,
                     const int *lk, int causal, int stride, int block, int num_taus, const float *taus,
                     int with_modes, int quick);

/* A router case: weights of head dim d and hidden width `hidden` (the paper's: 4 d). */
conf_case *add_router(case_list *l, elattn_dtype dtype, int d, int hidden, int hkv, int batch, const int *lens,
                      elattn_mode retrieval, elattn_mode sparse, int quick);

/* A decode case's shape and features (causal, LSE written, block 64); the caller sets the
 * lengths, modes, steps, sink and local, then names it (conf_name_case). */
conf_case *add_decode(case_list *l, elattn_dtype dt, int d, int hq, int hkv, int batch, int page, int splits);

/* Sets a case's name (printf format) and its data seed, the name's hash. */
void conf_name_case(conf_case *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* random_cases.c: n cases drawn from `seed` (case i from its own stream, so a case does not
 * depend on n), named random/<seed>:<i>/<the builder's name>; with_tiles: attention draws also
 * get a tile shape (from a stream of their own: the shapes are those drawn without it). */
void random_cases(case_list *l, uint64_t seed, int n, int with_tiles);

#endif

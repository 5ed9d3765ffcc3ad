/*
 * elattn-bench: times hybrid-head attention on every device, for the shapes of
 * the Elastic Attention paper (arXiv 2601.17367), through the public API only.
 *
 * For each case (device, dtype, head dim, length S, mix of modes, block size):
 *   - the fused kernel (all heads, one elattn_attn_run);
 *   - serial dispatch, the baseline an engine without the fused kernel runs:
 *     gather each mode's heads into contiguous buffers, one plan per mode,
 *     scatter O back (copies included in the time);
 *   - XAttention's block selection (elattn_xattn_run on the same Q/K; its
 *     masks feed the BLOCK_SPARSE heads) and the router, timed separately;
 *   - FLOP rates from the exact count of visible (query, key) pairs, the
 *     dense-equivalent rate 2*S^2*D*Hq, Omega_MSR and Omega_ESR.
 * Timing: backend events around each run after warm-up, repeated to a fixed
 * amount of work, rotating among several input sets so that caches do not
 * flatter small cases; median and spread are reported.
 */
#define _POSIX_C_SOURCE 200809L

#include <elattn/elattn.h>

#include "elattn_spec.h" /* elattn_row_visible_keys: the walk's exact pair counts */
#include "kit_case.h"
#include "kit_json.h"
#include "kit_rng.h"
#include "kit_values.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LIST 32
#define MAX_SETS 8
#define MAX_DEVICES 16
#define CHECK_ROWS 64                 /* tokens per sampled region of O (output check) */
#define CHECK_ALL_BYTES (64u << 20) /* O up to this size is checked whole */

/* ---- mixes of modes ----------------------------------------------------------- */
/* A mix pairs a retrieval mode (router class 1) with a sparse mode (class 0);
 * sparse_frac of the KV heads take the sparse mode. The retrieval heads come
 * first, as in shared/tools/peers.py, so each mode's heads are one range. */
enum { PAIR_DENSE, PAIR_FA_SSA, PAIR_FA_XA, PAIR_XA_SSA, PAIR_COUNT };

static const struct {
    const char *name;
    elattn_mode retrieval, sparse;
} pairs_table[PAIR_COUNT] = {
    [PAIR_DENSE] = {"dense", ELATTN_FULL, ELATTN_FULL},
    [PAIR_FA_SSA] = {"fa-ssa", ELATTN_FULL, ELATTN_STREAMING},
    [PAIR_FA_XA] = {"fa-xa", ELATTN_FULL, ELATTN_BLOCK_SPARSE},
    [PAIR_XA_SSA] = {"xa-ssa", ELATTN_BLOCK_SPARSE, ELATTN_STREAMING},
};

static const double paper_fracs[] = {0.5, 0.75, 1.0};

typedef struct mix {
    int pair;
    double sparse_frac;
    int implicit; /* from "all" or a bare pair name: left out when not a whole number of heads */
} mix;

static int mix_uses_xa(const mix *m)
{
    if (m->pair == PAIR_FA_XA) return m->sparse_frac > 0.0;
    if (m->pair == PAIR_XA_SSA) return m->sparse_frac < 1.0;
    return 0;
}

static void mix_label(const mix *m, char *out, size_t n)
{
    if (m->pair == PAIR_DENSE) snprintf(out, n, "dense");
    else snprintf(out, n, "%s:%g", pairs_table[m->pair].name, m->sparse_frac);
}

/* The mode table of a call; returns the number of retrieval heads. */
static int mix_modes(const mix *m, kit_case *call)
{
    const int n_sparse = m->pair == PAIR_DENSE ? 0 : (int)lround(m->sparse_frac * call->hkv);
    const int n_retr = call->hkv - n_sparse;
    kit_case_split_modes(call, pairs_table[m->pair].retrieval, n_retr, pairs_table[m->pair].sparse);
    return n_retr;
}

/* ---- configuration --------------------------------------------------------------- */
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
    float tau;
    double min_time_s;
    int min_reps, max_reps, warmup;
    double rotate_mib; /* input sets rotated until they exceed this much memory */
    int serial, router, check, structured;
    double device_budget_s; /* 0: none */
    unsigned long long seed;
    int n_devices;
    const char *devices[MAX_DEVICES];
    const char *json_path, *csv_path;
    const char *kernel; /* --kernel: implementation name for the fused plan */
    int list_only;
    char dropped_mixes[256]; /* implicit mixes that are not a whole number of heads */
} config;

static void set_list(int_list *l, int n, const int *v)
{
    l->n = n;
    for (int i = 0; i < n; ++i) l->v[i] = v[i];
}

static void add_all_mixes(config *c)
{
    c->n_mixes = 0;
    c->mixes[c->n_mixes++] = (mix){PAIR_DENSE, 0.0, 1};
    for (int p = PAIR_FA_SSA; p < PAIR_COUNT; ++p)
        for (int f = 0; f < 3; ++f) c->mixes[c->n_mixes++] = (mix){p, paper_fracs[f], 1};
}

/* Named sets. "short" shrinks heads, lengths and the streaming window so that a
 * scalar CPU finishes in under a minute; it says so in its output. */
static int apply_set(config *c, const char *name)
{
    add_all_mixes(c);
    c->stride = 16;
    c->tau = 0.9f;
    if (strcmp(name, "short") == 0) {
        c->set_name = "short";
        c->set_note = "CPU-sized: Hq 8, Hkv 4, D 64, S 512-1024, sink 32, local 128, block 32, stride 8 (the "
                      "paper: Hq 32, Hkv 8, D 128, sink 128, local 2048, block 128, stride 16)";
        c->hq = 8, c->hkv = 4;
        set_list(&c->lens, 2, (int[]){512, 1024});
        set_list(&c->head_dims, 1, (int[]){64});
        set_list(&c->blocks, 1, (int[]){32});
        set_list(&c->dtypes, 1, (int[]){ELATTN_BF16});
        c->sink = 32, c->local = 128, c->stride = 8; /* S / local as at 8K-16K in the paper */
        return 0;
    }
    c->hq = 32, c->hkv = 8;
    c->sink = 128, c->local = 2048;
    if (strcmp(name, "paper") == 0) {
        c->set_name = "paper";
        c->set_note = "the paper's shapes (Qwen3-8B / Llama-3.1-8B attention): Hq 32, Hkv 8, D 128, bf16";
        set_list(&c->lens, 6, (int[]){4096, 8192, 16384, 32768, 65536, 131072});
        set_list(&c->head_dims, 1, (int[]){128});
        set_list(&c->blocks, 1, (int[]){128});
        set_list(&c->dtypes, 1, (int[]){ELATTN_BF16});
        return 0;
    }
    if (strcmp(name, "full") == 0) {
        c->set_name = "full";
        c->set_note = "paper set plus D 64, fp16, block 64 and S 256K where memory allows";
        set_list(&c->lens, 7, (int[]){4096, 8192, 16384, 32768, 65536, 131072, 262144});
        set_list(&c->head_dims, 2, (int[]){128, 64});
        set_list(&c->blocks, 2, (int[]){128, 64});
        set_list(&c->dtypes, 2, (int[]){ELATTN_BF16, ELATTN_F16});
        return 0;
    }
    return -1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: elattn-bench [options]\n"
            "  --set short|paper|full   case set (default short: CPU-sized)\n"
            "  --device ID              repeatable; an id (cuda:0, opencl:1, reference), a backend name,\n"
            "                           \"auto\" (the best device) or BACKEND:gpu (first GPU of a backend).\n"
            "                           Default: every device present.\n"
            "  --list                   list the devices and exit\n"
            "  --lens 8192,32768        sequence lengths (k/K suffix allowed: 8k)\n"
            "  --mix M[,M...]           repeatable; dense, all, fa-ssa, fa-xa, xa-ssa (fractions 0.5, 0.75, 1)\n"
            "                           or PAIR:FRAC such as fa-ssa:0.75 (FRAC = sparse KV heads / Hkv)\n"
            "  --dtype bf16,f16,f32     --head-dim 128,64     --block 128,64     --heads HQ:HKV (HKV <= %d)\n"
            "  --sink N --local N       streaming sinks and window (tokens)\n"
            "  --stride N --tau T       XAttention stride and threshold\n"
            "  --min-time S             repeat each measurement to at least S seconds (default 0.2)\n"
            "  --min-reps N --max-reps N --warmup N   (defaults 3, 200, 1)\n"
            "  --rotate-mib N           rotate input sets until they exceed N MiB (default 256, at most %d sets)\n"
            "  --device-budget S        per device: cases left when S seconds have passed are reported skipped\n"
            "  --inputs structured|random   structured (default): a RoPE-like positional part makes attention\n"
            "                           local as in a trained model; random: i.i.d. values (XAttention then\n"
            "                           keeps nearly every block)\n"
            "  --kernel NAME            implementation for the fused plan (serial dispatch keeps the library's\n"
            "                           choice, so the fused-vs-serial check compares against it)\n"
            "  --no-serial --no-router --no-check   skip those measurements\n"
            "  --seed N  --json FILE  --csv FILE\n",
            KIT_MAX_MODES, MAX_SETS);
}

static int parse_int_list(const char *s, int_list *out)
{
    out->n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) return -1;
        if (*end == 'k' || *end == 'K') v *= 1024, ++end;
        if (v < 1 || v > (1 << 26) || v != floor(v) || out->n == MAX_LIST) return -1;
        out->v[out->n++] = (int)v;
        if (*end == ',') ++end;
        else if (*end) return -1;
        p = end;
    }
    return out->n ? 0 : -1;
}

static int parse_dtypes(const char *s, int_list *out)
{
    out->n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int d;
        if (strcmp(tok, "bf16") == 0) d = ELATTN_BF16;
        else if (strcmp(tok, "f16") == 0 || strcmp(tok, "fp16") == 0) d = ELATTN_F16;
        else if (strcmp(tok, "f32") == 0 || strcmp(tok, "fp32") == 0) d = ELATTN_F32;
        else return -1;
        if (out->n == MAX_LIST) return -1;
        out->v[out->n++] = d;
    }
    return out->n ? 0 : -1;
}

static int add_mix(config *c, mix m)
{
    for (int i = 0; i < c->n_mixes; ++i)
        if (c->mixes[i].pair == m.pair && fabs(c->mixes[i].sparse_frac - m.sparse_frac) < 1e-12) return 0;
    if (c->n_mixes == MAX_LIST) return -1;
    c->mixes[c->n_mixes++] = m;
    return 0;
}

static int parse_mixes(config *c, const char *s)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (strcmp(tok, "all") == 0) {
            for (int p = PAIR_DENSE; p < PAIR_COUNT; ++p)
                for (int f = 0; f < (p == PAIR_DENSE ? 1 : 3); ++f)
                    if (add_mix(c, (mix){p, p == PAIR_DENSE ? 0.0 : paper_fracs[f], 1})) return -1;
            continue;
        }
        char *colon = strchr(tok, ':');
        if (colon) *colon = '\0';
        int pair = -1;
        for (int p = 0; p < PAIR_COUNT; ++p)
            if (strcmp(tok, pairs_table[p].name) == 0) pair = p;
        if (pair < 0) return -1;
        if (pair == PAIR_DENSE) {
            if (colon || add_mix(c, (mix){PAIR_DENSE, 0.0, 1})) return -1;
        } else if (!colon) {
            for (int f = 0; f < 3; ++f)
                if (add_mix(c, (mix){pair, paper_fracs[f], 1})) return -1;
        } else {
            char *end;
            double f = strtod(colon + 1, &end);
            if (end == colon + 1 || *end || !(f > 0.0 && f <= 1.0)) return -1;
            if (add_mix(c, (mix){pair, f, 0})) return -1;
        }
    }
    return 0;
}

/* Returns 0 to go on, 1 to exit 0 (help), 2 for a usage error. */
static int parse_args(int argc, char **argv, config *c)
{
    memset(c, 0, sizeof *c);
    const char *set = "short";
    for (int i = 1; i + 1 < argc; ++i)
        if (strcmp(argv[i], "--set") == 0) set = argv[i + 1];
    if (apply_set(c, set)) {
        fprintf(stderr, "elattn-bench: --set %s: unknown (short, paper, full)\n", set);
        return 2;
    }
    c->min_time_s = 0.2, c->min_reps = 3, c->max_reps = 200, c->warmup = 1;
    c->rotate_mib = 256;
    c->serial = c->router = c->check = c->structured = 1;
    c->seed = 20260117ULL;
    int user_mix = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKES_VALUE()                                                                                         \
    do {                                                                                                      \
        if (!v) {                                                                                             \
            fprintf(stderr, "elattn-bench: %s needs a value\n", a);                                           \
            return 2;                                                                                         \
        }                                                                                                     \
        ++i;                                                                                                  \
    } while (0)
#define BAD_VALUE()                                                                                           \
    do {                                                                                                      \
        fprintf(stderr, "elattn-bench: %s %s: invalid value\n", a, v);                                        \
        return 2;                                                                                             \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--list") == 0) {
            c->list_only = 1;
        } else if (strcmp(a, "--no-serial") == 0) {
            c->serial = 0;
        } else if (strcmp(a, "--no-router") == 0) {
            c->router = 0;
        } else if (strcmp(a, "--no-check") == 0) {
            c->check = 0;
        } else if (strcmp(a, "--set") == 0) {
            TAKES_VALUE();
        } else if (strcmp(a, "--device") == 0) {
            TAKES_VALUE();
            if (c->n_devices == MAX_DEVICES) BAD_VALUE();
            c->devices[c->n_devices++] = v;
        } else if (strcmp(a, "--lens") == 0) {
            TAKES_VALUE();
            if (parse_int_list(v, &c->lens)) BAD_VALUE();
        } else if (strcmp(a, "--head-dim") == 0) {
            TAKES_VALUE();
            if (parse_int_list(v, &c->head_dims)) BAD_VALUE();
        } else if (strcmp(a, "--block") == 0) {
            TAKES_VALUE();
            if (parse_int_list(v, &c->blocks)) BAD_VALUE();
        } else if (strcmp(a, "--dtype") == 0) {
            TAKES_VALUE();
            if (parse_dtypes(v, &c->dtypes)) BAD_VALUE();
        } else if (strcmp(a, "--mix") == 0) {
            TAKES_VALUE();
            if (!user_mix) c->n_mixes = 0, user_mix = 1;
            if (parse_mixes(c, v)) BAD_VALUE();
        } else if (strcmp(a, "--heads") == 0) {
            TAKES_VALUE();
            if (sscanf(v, "%d:%d", &c->hq, &c->hkv) != 2 || c->hq < 1 || c->hkv < 1 || c->hq % c->hkv ||
                c->hkv > KIT_MAX_MODES)
                BAD_VALUE();
        } else if (strcmp(a, "--sink") == 0 || strcmp(a, "--local") == 0 || strcmp(a, "--stride") == 0 ||
                   strcmp(a, "--min-reps") == 0 || strcmp(a, "--max-reps") == 0 || strcmp(a, "--warmup") == 0) {
            TAKES_VALUE();
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 0 || n > (1 << 26)) BAD_VALUE();
            if (a[2] == 's' && a[3] == 'i') c->sink = (int)n;
            else if (a[2] == 'l') c->local = (int)n;
            else if (a[2] == 's') c->stride = (int)n;
            else if (strcmp(a, "--min-reps") == 0) c->min_reps = (int)n;
            else if (strcmp(a, "--max-reps") == 0) c->max_reps = (int)n;
            else c->warmup = (int)n;
        } else if (strcmp(a, "--tau") == 0 || strcmp(a, "--min-time") == 0 || strcmp(a, "--rotate-mib") == 0 ||
                   strcmp(a, "--device-budget") == 0) {
            TAKES_VALUE();
            char *end;
            double x = strtod(v, &end);
            if (*end || !(x >= 0.0) || !isfinite(x)) BAD_VALUE();
            if (strcmp(a, "--tau") == 0) c->tau = (float)x;
            else if (strcmp(a, "--min-time") == 0) c->min_time_s = x;
            else if (strcmp(a, "--rotate-mib") == 0) c->rotate_mib = x;
            else c->device_budget_s = x;
        } else if (strcmp(a, "--inputs") == 0) {
            TAKES_VALUE();
            if (strcmp(v, "structured") == 0) c->structured = 1;
            else if (strcmp(v, "random") == 0) c->structured = 0;
            else BAD_VALUE();
        } else if (strcmp(a, "--seed") == 0) {
            TAKES_VALUE();
            c->seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--kernel") == 0) {
            TAKES_VALUE();
            c->kernel = v;
        } else if (strcmp(a, "--json") == 0) {
            TAKES_VALUE();
            c->json_path = v;
        } else if (strcmp(a, "--csv") == 0) {
            TAKES_VALUE();
            c->csv_path = v;
        } else {
            fprintf(stderr, "elattn-bench: unknown option %s (--help lists them)\n", a);
            return 2;
        }
#undef TAKES_VALUE
#undef BAD_VALUE
    }
    if (c->min_reps < 1) c->min_reps = 1;
    if (c->max_reps < c->min_reps) c->max_reps = c->min_reps;
    int kept = 0;
    for (int i = 0; i < c->n_mixes; ++i) {
        double n = c->mixes[i].sparse_frac * c->hkv;
        if (fabs(n - lround(n)) > 1e-9) {
            char label[48];
            mix_label(&c->mixes[i], label, sizeof label);
            if (!c->mixes[i].implicit) {
                fprintf(stderr, "elattn-bench: --mix %s: %g x %d KV heads is not a whole number of heads\n",
                        label, c->mixes[i].sparse_frac, c->hkv);
                return 2;
            }
            size_t used = strlen(c->dropped_mixes);
            snprintf(c->dropped_mixes + used, sizeof c->dropped_mixes - used, "%s%s", used ? ", " : "", label);
            continue;
        }
        c->mixes[kept++] = c->mixes[i];
    }
    c->n_mixes = kept;
    return 0;
}

/* ---- timing statistics ---------------------------------------------------------------- */
typedef struct timing {
    int reps; /* 0: not measured */
    double median, min, max, p25, p75;
} timing;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(const double *sorted, int n, double q)
{
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    int hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- results ----------------------------------------------------------------------------- */
typedef struct result {
    char device_id[64], device_name[128], backend[16];
    char kernel[128], serial_kernels[256], xattn_kernel[128], router_kernel[128];
    elattn_dtype dtype;
    int head_dim, hq, hkv, seqlen, block, stride, sink, local;
    float tau;
    char mix[32];
    int pair;
    double sparse_frac;
    int sets;
    timing fused, serial, xattn, router;
    double pairs, tflops, dense_equiv_tflops;
    double omega_msr, omega_esr;
    double speedup_vs_dense, speedup_vs_serial; /* 0: not applicable */
    double check_rel_err;                       /* -1: not compared */
    const char *status;                         /* ok, unsupported, skipped, error */
    char message[320];
} result;

static result *results;
static int n_results, cap_results;

static result *new_result(void)
{
    if (n_results == cap_results) {
        int cap = cap_results ? 2 * cap_results : 64;
        result *r = realloc(results, sizeof *r * (size_t)cap);
        if (!r) {
            fprintf(stderr, "elattn-bench: out of host memory\n");
            exit(1);
        }
        results = r, cap_results = cap;
    }
    result *r = &results[n_results++];
    memset(r, 0, sizeof *r);
    r->check_rel_err = -1;
    r->status = "ok";
    return r;
}

static void json_timing(kit_json *w, const char *name, const timing *t)
{
    if (!t->reps) {
        kit_json_null(w, name);
        return;
    }
    kit_json_object(w, name);
    kit_json_int(w, "reps", t->reps);
    kit_json_number(w, "median_ms", t->median, 15);
    kit_json_number(w, "min_ms", t->min, 15);
    kit_json_number(w, "max_ms", t->max, 15);
    kit_json_number(w, "p25_ms", t->p25, 15);
    kit_json_number(w, "p75_ms", t->p75, 15);
    kit_json_end(w);
}

/* x, or null where it does not apply. */
static void json_number_if(kit_json *w, const char *key, double x, int applies)
{
    if (applies) kit_json_number(w, key, x, 15);
    else kit_json_null(w, key);
}

/* Rewritten after every case, so a run cut short still leaves what it measured. */
static void write_json(const config *c, const char *command)
{
    if (!c->json_path) return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", c->json_path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "elattn-bench: cannot write %s\n", tmp);
        return;
    }
    time_t t = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    /* Members of the top level and each case on lines of their own. */
    kit_json w;
    kit_json_init(&w, f);
    kit_json_object(&w, NULL);
    kit_json_newline(&w, 1);
    kit_json_object(&w, "meta");
    kit_json_string(&w, "tool", "elattn-bench");
    kit_json_string(&w, "version", elattn_version_string());
    kit_json_string(&w, "date", date);
    kit_json_string(&w, "command", command);
    kit_json_string(&w, "set", c->set_name);
    kit_json_string(&w, "set_note", c->set_note);
    kit_json_string(&w, "inputs", c->structured ? "structured" : "random");
    kit_json_number(&w, "min_time_s", c->min_time_s, 6);
    kit_json_int(&w, "min_reps", c->min_reps);
    kit_json_int(&w, "warmup", c->warmup);
    kit_json_uint(&w, "seed", c->seed);
    kit_json_end(&w);
    kit_json_newline(&w, 1);
    kit_json_array(&w, "cases");
    for (int i = 0; i < n_results; ++i) {
        const result *r = &results[i];
        kit_json_newline(&w, 2);
        kit_json_object(&w, NULL);
        kit_json_string(&w, "device", r->device_id);
        kit_json_string(&w, "device_name", r->device_name);
        kit_json_string(&w, "backend", r->backend);
        kit_json_string(&w, "status", r->status);
        kit_json_string(&w, "message", r->message);
        kit_json_string(&w, "dtype", elattn_dtype_name(r->dtype));
        kit_json_int(&w, "head_dim", r->head_dim);
        kit_json_int(&w, "hq", r->hq);
        kit_json_int(&w, "hkv", r->hkv);
        kit_json_int(&w, "S", r->seqlen);
        kit_json_string(&w, "mix", r->mix);
        kit_json_string(&w, "pair", pairs_table[r->pair].name);
        kit_json_number(&w, "sparse_frac", r->sparse_frac, 6);
        kit_json_int(&w, "block", r->block);
        kit_json_int(&w, "stride", r->stride);
        kit_json_number(&w, "tau", r->tau, 6);
        kit_json_int(&w, "sink", r->sink);
        kit_json_int(&w, "local", r->local);
        kit_json_int(&w, "sets", r->sets);
        kit_json_string(&w, "kernel", r->kernel);
        kit_json_string(&w, "serial_kernels", r->serial_kernels);
        kit_json_string(&w, "xattn_kernel", r->xattn_kernel);
        kit_json_string(&w, "router_kernel", r->router_kernel);
        json_timing(&w, "fused", &r->fused);
        json_timing(&w, "serial", &r->serial);
        json_timing(&w, "xattn", &r->xattn);
        json_timing(&w, "router", &r->router);
        kit_json_number(&w, "visible_pairs", r->pairs, 15);
        kit_json_number(&w, "tflops", r->tflops, 15);
        kit_json_number(&w, "dense_equiv_tflops", r->dense_equiv_tflops, 15);
        kit_json_number(&w, "omega_msr", r->omega_msr, 15);
        kit_json_number(&w, "omega_esr", r->omega_esr, 15);
        json_number_if(&w, "speedup_vs_dense", r->speedup_vs_dense, r->speedup_vs_dense > 0);
        json_number_if(&w, "speedup_vs_serial", r->speedup_vs_serial, r->speedup_vs_serial > 0);
        json_number_if(&w, "check_rel_err", r->check_rel_err, r->check_rel_err >= 0);
        kit_json_end(&w);
    }
    kit_json_newline(&w, 1);
    kit_json_end(&w);
    kit_json_newline(&w, 0);
    kit_json_end(&w);
    fputc('\n', f);
    fclose(f);
    if (rename(tmp, c->json_path) != 0) fprintf(stderr, "elattn-bench: cannot write %s\n", c->json_path);
}

static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_csv(const config *c)
{
    if (!c->csv_path) return;
    FILE *f = fopen(c->csv_path, "w");
    if (!f) {
        fprintf(stderr, "elattn-bench: cannot write %s\n", c->csv_path);
        return;
    }
    fputs("device,device_name,backend,status,dtype,head_dim,hq,hkv,S,mix,block,sets,kernel,"
          "fused_ms_median,fused_ms_min,fused_ms_max,fused_reps,serial_ms_median,xattn_ms_median,router_ms_median,"
          "visible_pairs,tflops,dense_equiv_tflops,omega_msr,omega_esr,speedup_vs_dense,speedup_vs_serial,"
          "check_rel_err,message\n",
          f);
    for (int i = 0; i < n_results; ++i) {
        const result *r = &results[i];
        csv_field(f, r->device_id), fputc(',', f);
        csv_field(f, r->device_name), fputc(',', f);
        fprintf(f, "%s,%s,%s,%d,%d,%d,%d,%s,%d,%d,", r->backend, r->status, elattn_dtype_name(r->dtype), r->head_dim,
                r->hq, r->hkv, r->seqlen, r->mix, r->block, r->sets);
        csv_field(f, r->kernel);
        fprintf(f, ",%.6g,%.6g,%.6g,%d,", r->fused.median, r->fused.min, r->fused.max, r->fused.reps);
        if (r->serial.reps) fprintf(f, "%.6g", r->serial.median);
        fputc(',', f);
        if (r->xattn.reps) fprintf(f, "%.6g", r->xattn.median);
        fputc(',', f);
        if (r->router.reps) fprintf(f, "%.6g", r->router.median);
        fprintf(f, ",%.17g,%.6g,%.6g,%.6g,%.6g,", r->pairs, r->tflops, r->dense_equiv_tflops, r->omega_msr,
                r->omega_esr);
        if (r->speedup_vs_dense > 0) fprintf(f, "%.4f", r->speedup_vs_dense);
        fputc(',', f);
        if (r->speedup_vs_serial > 0) fprintf(f, "%.4f", r->speedup_vs_serial);
        fputc(',', f);
        if (r->check_rel_err >= 0) fprintf(f, "%.3g", r->check_rel_err);
        fputc(',', f);
        csv_field(f, r->message);
        fputc('\n', f);
    }
    fclose(f);
}

/* ---- the human table ------------------------------------------------------------------- */
static void print_header(void)
{
    printf("%-5s %4s %7s %-12s %4s %10s %21s %8s %8s %5s %5s %7s %7s %9s  %s\n", "dtype", "D", "S", "mix", "blk",
           "ms(med)", "[min - max]", "TFLOP/s", "dense-eq", "MSR", "ESR", "xdense", "xserial", "XA-est", "kernel");
}

static void print_result(const result *r)
{
    char blk[16] = "-";
    if (r->block) snprintf(blk, sizeof blk, "%d", r->block);
    printf("%-5s %4d %7d %-12s %4s ", elattn_dtype_name(r->dtype), r->head_dim, r->seqlen, r->mix, blk);
    if (strcmp(r->status, "ok") != 0) {
        printf("%s: %s\n", r->status, r->message);
        return;
    }
    char spread[48], xd[16] = "-", xs[16] = "-", xe[16] = "-";
    snprintf(spread, sizeof spread, "[%.4g - %.4g]", r->fused.min, r->fused.max);
    if (r->speedup_vs_dense > 0) snprintf(xd, sizeof xd, "%.2fx", r->speedup_vs_dense);
    if (r->speedup_vs_serial > 0) snprintf(xs, sizeof xs, "%.2fx", r->speedup_vs_serial);
    if (r->xattn.reps) snprintf(xe, sizeof xe, "%.4g", r->xattn.median);
    printf("%10.4g %21s %8.3g %8.3g %5.2f %5.3f %7s %7s %9s  %s", r->fused.median, spread, r->tflops,
           r->dense_equiv_tflops, r->omega_msr, r->omega_esr, xd, xs, xe, r->kernel);
    if (r->message[0]) printf("  (%s)", r->message);
    putchar('\n');
    fflush(stdout);
}

/* ---- device state ---------------------------------------------------------------------- */
typedef struct bench_dev {
    elattn_device *dev;
    elattn_device_info info;
    elattn_stream *stream;
    elattn_event *ev_start, *ev_end;
} bench_dev;

typedef elattn_status (*op_fn)(void *ctx, int set);

/* Warm-up, then event-timed runs rotating over `nsets` input sets until both
 * min_reps and min_time are reached (or max_reps). */
static elattn_status time_op(const config *c, bench_dev *bd, op_fn fn, void *ctx, int nsets, timing *t)
{
    elattn_status st;
    for (int w = 0; w < c->warmup; ++w)
        if ((st = fn(ctx, w % nsets)) != ELATTN_SUCCESS) return st;
    double *ms = malloc(sizeof(double) * (size_t)c->max_reps);
    if (!ms) return ELATTN_ERROR_OUT_OF_MEMORY;
    double total = 0.0;
    int n = 0;
    while (n < c->max_reps && (n < c->min_reps || total < c->min_time_s * 1e3)) {
        float e = 0.0f;
        if ((st = elattn_event_record(bd->ev_start, bd->stream)) != ELATTN_SUCCESS ||
            (st = fn(ctx, n % nsets)) != ELATTN_SUCCESS ||
            (st = elattn_event_record(bd->ev_end, bd->stream)) != ELATTN_SUCCESS ||
            (st = elattn_event_elapsed_ms(bd->ev_start, bd->ev_end, &e)) != ELATTN_SUCCESS) {
            free(ms);
            return st;
        }
        ms[n++] = e;
        total += e;
    }
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    t->reps = n;
    t->median = quantile(ms, n, 0.5);
    t->p25 = quantile(ms, n, 0.25);
    t->p75 = quantile(ms, n, 0.75);
    t->min = ms[0];
    t->max = ms[n - 1];
    free(ms);
    return ELATTN_SUCCESS;
}

/* ---- inputs ------------------------------------------------------------------------------ */
typedef struct shape {
    kit_case call; /* one element, Lq = Lk = S, causal; each case sets its block and modes */
    size_t es, q_bytes, kv_bytes;
    int nsets;
    elattn_buffer *q[MAX_SETS], *k[MAX_SETS], *v[MAX_SETS], *o[MAX_SETS];
    int32_t cu_q[2], cu_k[2];
} shape;

static void init_shape(shape *sh, const config *c, elattn_dtype dtype, int head_dim, int seqlen)
{
    memset(sh, 0, sizeof *sh);
    kit_case *call = &sh->call;
    call->dtype = dtype, call->head_dim = head_dim, call->hq = c->hq, call->hkv = c->hkv, call->batch = 1;
    call->len_q[0] = call->len_k[0] = seqlen;
    call->causal = 1, call->sink = c->sink, call->local = c->local, call->block = c->blocks.v[0];
    int max_q, max_k;
    kit_case_seqlens(call, sh->cu_q, sh->cu_k, &max_q, &max_k);
    sh->es = elattn_dtype_size(dtype);
    sh->q_bytes = kit_case_q_elems(call) * sh->es;
    sh->kv_bytes = kit_case_kv_elems(call) * sh->es;
}

enum { TENSOR_Q, TENSOR_K, TENSOR_V };

/* Fills one [S][H][D] tensor. Structured Q and K carry, in their first D/2
 * dimensions, the same rotation e^{i w_f t} for every head (RoPE-like
 * frequencies w_f = 10000^(-f/(D/4))), so q.k peaks at |i - j| = 0 with a
 * logit of about 12 and decays with distance, as attention in a trained model
 * does; the other dimensions are noise. V, and everything with --inputs
 * random, is i.i.d. noise with unit variance. */
static elattn_status fill_tensor(const config *c, elattn_buffer *buf, const shape *sh, int heads, int tensor,
                                 int set)
{
    const int D = sh->call.head_dim, S = sh->call.len_q[0], half = D / 2, nfreq = D / 4;
    const size_t row_elems = (size_t)heads * D, row_bytes = row_elems * sh->es;
    size_t chunk = (4u << 20) / row_bytes;
    if (chunk < 1) chunk = 1;
    void *host = malloc(chunk * row_bytes);
    double *inv_freq = malloc(sizeof(double) * (size_t)nfreq);
    float *rot = malloc(sizeof(float) * (size_t)half);
    if (!host || !inv_freq || !rot) {
        free(host), free(inv_freq), free(rot);
        return ELATTN_ERROR_OUT_OF_MEMORY;
    }
    for (int f = 0; f < nfreq; ++f) inv_freq[f] = pow(10000.0, -(double)f / nfreq);
    const int positional = c->structured && tensor != TENSOR_V;
    const float amp = (float)sqrt(48.0 / sqrt((double)D)); /* amp^2 * (D/4) / sqrt(D) = 12 */
    kit_rng r;
    kit_rng_seed_stream(&r, c->seed, ((uint64_t)set << 8) ^ ((uint64_t)tensor << 4) ^ ((uint64_t)S << 20) ^
                                         (uint64_t)D << 52);
    elattn_status st = ELATTN_SUCCESS;
    for (size_t t0 = 0; t0 < (size_t)S && st == ELATTN_SUCCESS; t0 += chunk) {
        size_t n = (size_t)S - t0 < chunk ? (size_t)S - t0 : chunk;
        for (size_t t = 0; t < n; ++t) {
            if (positional)
                for (int f = 0; f < nfreq; ++f) {
                    double th = (double)(t0 + t) * inv_freq[f];
                    rot[2 * f] = amp * (float)cos(th);
                    rot[2 * f + 1] = amp * (float)sin(th);
                }
            size_t base = t * row_elems;
            for (int h = 0; h < heads; ++h)
                for (int d = 0; d < D; ++d) {
                    float x = kit_rng_unit(&r);
                    if (positional && d < half) x = rot[d] + 0.25f * x;
                    kit_store_value(sh->call.dtype, host, base + (size_t)h * D + (size_t)d, x);
                }
        }
        st = elattn_buffer_upload(buf, t0 * row_bytes, host, n * row_bytes, NULL);
    }
    free(host), free(inv_freq), free(rot);
    return st;
}

static void free_shape(shape *sh)
{
    for (int s = 0; s < MAX_SETS; ++s) {
        elattn_buffer_free(sh->q[s]), elattn_buffer_free(sh->k[s]);
        elattn_buffer_free(sh->v[s]), elattn_buffer_free(sh->o[s]);
        sh->q[s] = sh->k[s] = sh->v[s] = sh->o[s] = NULL;
    }
}

/* Picks the number of input sets (memory permitting) and makes them. */
static elattn_status make_shape(const config *c, bench_dev *bd, shape *sh, char *why, size_t why_n)
{
    const size_t set_bytes = 2 * sh->q_bytes + 2 * sh->kv_bytes;
    /* One more set's worth for serial dispatch's gathered copies, plus masks. */
    const double mem = (double)bd->info.memory_bytes, usable = 0.85 * mem;
    int nsets = (int)ceil(c->rotate_mib * 1048576.0 / (double)set_bytes);
    if (nsets < 1) nsets = 1;
    if (nsets > MAX_SETS) nsets = MAX_SETS;
    if (mem > 0)
        while (nsets > 1 && (double)(nsets + 1) * set_bytes > usable) --nsets;
    if (mem > 0 && 2.0 * set_bytes > usable) {
        snprintf(why, why_n, "needs %.1f GiB, the device has %.1f GiB", 2.0 * set_bytes / 1073741824.0,
                 mem / 1073741824.0);
        return ELATTN_ERROR_OUT_OF_MEMORY;
    }
    sh->nsets = nsets;
    elattn_status st = ELATTN_SUCCESS;
    for (int s = 0; s < nsets && st == ELATTN_SUCCESS; ++s) {
        if ((st = elattn_buffer_alloc(bd->dev, sh->q_bytes, &sh->q[s])) ||
            (st = elattn_buffer_alloc(bd->dev, sh->kv_bytes, &sh->k[s])) ||
            (st = elattn_buffer_alloc(bd->dev, sh->kv_bytes, &sh->v[s])) ||
            (st = elattn_buffer_alloc(bd->dev, sh->q_bytes, &sh->o[s])))
            break;
        if ((st = fill_tensor(c, sh->q[s], sh, sh->call.hq, TENSOR_Q, s)) ||
            (st = fill_tensor(c, sh->k[s], sh, sh->call.hkv, TENSOR_K, s)) ||
            (st = fill_tensor(c, sh->v[s], sh, sh->call.hkv, TENSOR_V, s)) ||
            (st = elattn_buffer_fill(sh->o[s], 0, 0, sh->q_bytes, bd->stream)))
            break;
    }
    if (st != ELATTN_SUCCESS) {
        snprintf(why, why_n, "making inputs: %s: %s", elattn_status_string(st), elattn_last_error());
        free_shape(sh);
    }
    return st;
}

/* ---- exact pair counts -------------------------------------------------------------------- */
/* Visible (query, key) pairs of one query head (Lq = Lk = S), counted row by
 * row with the spec's walk (elattn_row_visible_keys): the same derivation the
 * kernels use to choose their key tiles. mask_head: the head's mask table
 * (BLOCK_SPARSE only). */
static double head_pairs(const elattn_attn_desc *d, int mode, int S, const uint8_t *mask_head, int mask_k)
{
    double total = 0.0;
    for (int i = 0; i < S; ++i) {
        const uint8_t *row = mask_head ? mask_head + (size_t)(i / d->block_size) * mask_k : NULL;
        total += (double)elattn_row_visible_keys(mode, d->causal, S, S, i, d->sink, d->local, row, d->block_size);
    }
    return total;
}

/* ---- one case ------------------------------------------------------------------------------- */
typedef struct fused_ctx {
    const elattn_attn_plan *plan;
    bench_dev *bd;
    shape *sh;
    elattn_buffer **masks; /* per set, NULL when no head is BLOCK_SPARSE */
    elattn_buffer *workspace;
    const int32_t *modes;
} fused_ctx;

static elattn_status run_fused(void *p, int set)
{
    fused_ctx *f = p;
    elattn_attn_args a = {
        .q = f->sh->q[set], .k = f->sh->k[set], .v = f->sh->v[set], .o = f->sh->o[set],
        .cu_seqlens_q = f->sh->cu_q, .cu_seqlens_k = f->sh->cu_k, .modes = f->modes,
        .block_mask = f->masks ? f->masks[set] : NULL, .workspace = f->workspace,
    };
    return elattn_attn_run(f->plan, f->bd->stream, &a);
}

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

static elattn_status run_serial(void *p, int set)
{
    serial_ctx *s = p;
    const shape *sh = s->sh;
    const size_t es = sh->es, D = (size_t)sh->call.head_dim, group = (size_t)(sh->call.hq / sh->call.hkv);
    const size_t q_pitch = (size_t)sh->call.hq * D * es, kv_pitch = (size_t)sh->call.hkv * D * es;
    elattn_stream *st = s->bd->stream;
    elattn_status rc;
    for (int i = 0; i < s->n_groups; ++i) {
        serial_group *g = &s->g[i];
        const size_t nkv = (size_t)g->call.hkv;
        const size_t q_off = (size_t)g->kv0 * group * D * es, q_w = nkv * group * D * es;
        const size_t kv_off = (size_t)g->kv0 * D * es, kv_w = nkv * D * es;
        const size_t rows = (size_t)sh->call.len_q[0];
        if ((rc = elattn_buffer_copy_2d(g->q, 0, q_w, sh->q[set], q_off, q_pitch, q_w, rows, st)) ||
            (rc = elattn_buffer_copy_2d(g->k, 0, kv_w, sh->k[set], kv_off, kv_pitch, kv_w, rows, st)) ||
            (rc = elattn_buffer_copy_2d(g->v, 0, kv_w, sh->v[set], kv_off, kv_pitch, kv_w, rows, st)))
            return rc;
        if (g->mask) {
            size_t w = nkv * s->mask_head_bytes;
            if ((rc = elattn_buffer_copy_2d(g->mask, 0, w, s->masks[set], (size_t)g->kv0 * s->mask_head_bytes, w,
                                            w, 1, st)))
                return rc;
        }
        elattn_attn_args a = {
            .q = g->q, .k = g->k, .v = g->v, .o = g->o, .cu_seqlens_q = sh->cu_q, .cu_seqlens_k = sh->cu_k,
            .modes = g->call.modes, .block_mask = g->mask, .workspace = g->workspace,
        };
        if ((rc = elattn_attn_run(g->plan, st, &a))) return rc;
        if ((rc = elattn_buffer_copy_2d(sh->o[set], q_off, q_pitch, g->o, 0, q_w, q_w, rows, st))) return rc;
    }
    return ELATTN_SUCCESS;
}

static void free_serial(serial_ctx *s)
{
    for (int i = 0; i < 2; ++i) {
        serial_group *g = &s->g[i];
        elattn_attn_plan_destroy(g->plan);
        elattn_buffer_free(g->q), elattn_buffer_free(g->k), elattn_buffer_free(g->v);
        elattn_buffer_free(g->o), elattn_buffer_free(g->mask), elattn_buffer_free(g->workspace);
        memset(g, 0, sizeof *g);
    }
}

/* One group per mode of `call` (n_retr retrieval heads first, the sparse
 * heads after them), each with its own plan and gathered buffers. */
static elattn_status setup_serial(serial_ctx *s, const kit_case *call, int n_retr, char *kernels, size_t kernels_n)
{
    const size_t es = s->sh->es;
    const int group = call->hq / call->hkv;
    const int ranges[2][2] = {{0, n_retr}, {n_retr, call->hkv - n_retr}};
    elattn_device *dev = s->bd->dev;
    elattn_status st;
    kernels[0] = '\0';
    s->n_groups = 0;
    for (int r = 0; r < 2; ++r) {
        if (ranges[r][1] == 0) continue;
        serial_group *g = &s->g[s->n_groups++];
        g->kv0 = ranges[r][0];
        const elattn_mode mode = (elattn_mode)call->modes[g->kv0];
        g->call = *call;
        g->call.hkv = ranges[r][1];
        g->call.hq = g->call.hkv * group;
        kit_case_split_modes(&g->call, mode, g->call.hkv, mode);
        const elattn_attn_desc d = kit_case_attn_desc(&g->call, 0);
        if ((st = elattn_attn_plan_create(dev, &d, NULL, &g->plan))) return st;
        size_t qb = kit_case_q_elems(&g->call) * es, kvb = kit_case_kv_elems(&g->call) * es;
        size_t ws = elattn_attn_plan_workspace_size(g->plan);
        if ((st = elattn_buffer_alloc(dev, qb, &g->q)) || (st = elattn_buffer_alloc(dev, kvb, &g->k)) ||
            (st = elattn_buffer_alloc(dev, kvb, &g->v)) || (st = elattn_buffer_alloc(dev, qb, &g->o)))
            return st;
        if (ws && (st = elattn_buffer_alloc(dev, ws, &g->workspace))) return st;
        if (mode == ELATTN_BLOCK_SPARSE && (st = elattn_buffer_alloc(dev, elattn_block_mask_bytes(&d), &g->mask)))
            return st;
        size_t used = strlen(kernels);
        snprintf(kernels + used, kernels_n - used, "%s%s:%s", used ? " + " : "", elattn_mode_name(mode),
                 elattn_attn_plan_kernel_name(g->plan));
    }
    return ELATTN_SUCCESS;
}

typedef struct xattn_ctx {
    const elattn_xattn_plan *plan;
    bench_dev *bd;
    shape *sh;
    elattn_buffer **masks;
    elattn_buffer *workspace;
    const int32_t *modes;
    float tau;
} xattn_ctx;

static elattn_status run_xattn(void *p, int set)
{
    xattn_ctx *x = p;
    elattn_xattn_args a = {
        .q = x->sh->q[set], .k = x->sh->k[set], .cu_seqlens_q = x->sh->cu_q, .cu_seqlens_k = x->sh->cu_k,
        .modes = x->modes, .thresholds = &x->tau, .num_thresholds = 1, .block_mask = x->masks[set],
        .workspace = x->workspace,
    };
    return elattn_xattn_run(x->plan, x->bd->stream, &a);
}

/* Rows of O that the output check reads: all of O up to CHECK_ALL_BYTES, else
 * CHECK_ROWS tokens at the start, the middle and the end. */
static int sample_regions(const shape *sh, int starts[3], int counts[3])
{
    if (sh->q_bytes <= CHECK_ALL_BYTES || sh->call.len_q[0] <= 3 * CHECK_ROWS) {
        starts[0] = 0, counts[0] = sh->call.len_q[0];
        return 1;
    }
    starts[0] = 0, starts[1] = sh->call.len_q[0] / 2 - CHECK_ROWS / 2, starts[2] = sh->call.len_q[0] - CHECK_ROWS;
    counts[0] = counts[1] = counts[2] = CHECK_ROWS;
    return 3;
}

static size_t sample_capacity(const shape *sh)
{
    int starts[3], counts[3], n = sample_regions(sh, starts, counts);
    size_t rows = 0;
    for (int i = 0; i < n; ++i) rows += (size_t)counts[i];
    return rows * sh->call.hq * sh->call.head_dim;
}

/* Downloads the sampled rows of O of set 0 as floats. */
static elattn_status sample_output(const shape *sh, float *out, int *n_out)
{
    const size_t row_elems = (size_t)sh->call.hq * sh->call.head_dim, row_bytes = row_elems * sh->es;
    int starts[3], counts[3], n = sample_regions(sh, starts, counts);
    unsigned char *host = malloc((size_t)counts[0] * row_bytes);
    if (!host) return ELATTN_ERROR_OUT_OF_MEMORY;
    elattn_status st = ELATTN_SUCCESS;
    size_t done = 0;
    for (int r = 0; r < n && !st; ++r) {
        size_t elems = (size_t)counts[r] * row_elems;
        st = elattn_buffer_download(sh->o[0], (size_t)starts[r] * row_bytes, host, (size_t)counts[r] * row_bytes,
                                    NULL);
        for (size_t i = 0; !st && i < elems; ++i) out[done + i] = kit_load_value(sh->call.dtype, host, i);
        done += elems;
    }
    *n_out = (int)done;
    free(host);
    return st;
}

/* Sampled output rows must be finite (the NaN sentinel overwritten) and not all zero. */
static int output_suspect(const float *sample, int n, const char *what, result *r)
{
    double norm = 0.0;
    int bad = 0;
    for (int i = 0; i < n; ++i) {
        if (!isfinite(sample[i])) bad = 1;
        norm += (double)sample[i] * sample[i];
    }
    if (!bad && norm > 0.0) return 0;
    r->status = "error";
    snprintf(r->message, sizeof r->message, "%s output: %s in the sampled rows of O", what,
             bad ? "NaN or inf (rows left unwritten?)" : "only zeros");
    return 1;
}

static void fail_result(result *r, const char *what, elattn_status st)
{
    r->status = st == ELATTN_ERROR_UNSUPPORTED ? "unsupported" : "error";
    snprintf(r->message, sizeof r->message, "%s: %s: %s", what, elattn_status_string(st), elattn_last_error());
}

static void fill_case_header(result *r, const config *c, const bench_dev *bd, const shape *sh, const mix *m,
                             int block)
{
    snprintf(r->device_id, sizeof r->device_id, "%s", bd->info.id);
    snprintf(r->device_name, sizeof r->device_name, "%s", bd->info.name);
    snprintf(r->backend, sizeof r->backend, "%s", elattn_backend_name(bd->info.backend));
    r->dtype = sh->call.dtype;
    r->head_dim = sh->call.head_dim, r->hq = sh->call.hq, r->hkv = sh->call.hkv, r->seqlen = sh->call.len_q[0];
    r->block = block, r->stride = c->stride, r->tau = c->tau, r->sink = c->sink, r->local = c->local;
    r->pair = m->pair, r->sparse_frac = m->sparse_frac;
    mix_label(m, r->mix, sizeof r->mix);
    r->sets = sh->nsets;
}

/* block: the mask block for mixes with BLOCK_SPARSE heads, 0 otherwise. */
static void run_case(const config *c, bench_dev *bd, shape *sh, const mix *m, int block, double dense_ms,
                     const timing *router, const char *router_kernel, result *r)
{
    fill_case_header(r, c, bd, sh, m, block);
    r->router = *router;
    snprintf(r->router_kernel, sizeof r->router_kernel, "%s", router_kernel);
    const int hkv = sh->call.hkv, group = sh->call.hq / sh->call.hkv, S = sh->call.len_q[0];
    elattn_buffer *masks[MAX_SETS] = {0};
    uint8_t *mask_host = NULL;
    elattn_attn_plan *plan = NULL;
    elattn_xattn_plan *xplan = NULL;
    elattn_buffer *ws = NULL, *xws = NULL;
    serial_ctx sc;
    memset(&sc, 0, sizeof sc);
    float *sample_fused = NULL, *sample_serial = NULL;
    elattn_status st;
    /* This case's call: the shape's, with the case's block and its mix's modes. */
    kit_case call = sh->call;
    if (block) call.block = block;
    const int n_retr = mix_modes(m, &call);
    const int32_t *modes = call.modes;
    const int xa = mix_uses_xa(m);

    const elattn_attn_desc desc = kit_case_attn_desc(&call, 0);
    elattn_plan_options opts = {.kernel = c->kernel};
    if ((st = elattn_attn_plan_create(bd->dev, &desc, &opts, &plan))) {
        fail_result(r, "plan", st);
        goto done;
    }
    snprintf(r->kernel, sizeof r->kernel, "%s", elattn_attn_plan_kernel_name(plan));
    size_t ws_bytes = elattn_attn_plan_workspace_size(plan);
    if (ws_bytes && (st = elattn_buffer_alloc(bd->dev, ws_bytes, &ws))) {
        fail_result(r, "workspace", st);
        goto done;
    }

    /* XAttention's masks for this case's BLOCK_SPARSE heads, from the same Q/K. */
    const size_t mask_bytes = elattn_block_mask_bytes(&desc);
    const int mask_q = (S + desc.block_size - 1) / desc.block_size, mask_k = mask_q;
    if (xa) {
        for (int s = 0; s < sh->nsets; ++s)
            if ((st = elattn_buffer_alloc(bd->dev, mask_bytes, &masks[s])) ||
                (st = elattn_buffer_fill(masks[s], 0, 0, mask_bytes, bd->stream))) {
                fail_result(r, "block mask", st);
                goto done;
            }
        const elattn_xattn_desc xd = kit_case_xattn_desc(&call, c->stride);
        if ((st = elattn_xattn_plan_create(bd->dev, &xd, NULL, &xplan))) {
            fail_result(r, "xattn plan", st);
            goto done;
        }
        snprintf(r->xattn_kernel, sizeof r->xattn_kernel, "%s", elattn_xattn_plan_kernel_name(xplan));
        size_t xb = elattn_xattn_plan_workspace_size(xplan);
        if (xb && (st = elattn_buffer_alloc(bd->dev, xb, &xws))) {
            fail_result(r, "xattn workspace", st);
            goto done;
        }
        xattn_ctx xc = {xplan, bd, sh, masks, xws, modes, c->tau};
        if ((st = time_op(c, bd, run_xattn, &xc, sh->nsets, &r->xattn))) {
            fail_result(r, "xattn run", st);
            goto done;
        }
        /* Warm-up and timed runs covered sets [0, max(warmup, reps)); make the rest's masks. */
        for (int s = c->warmup > r->xattn.reps ? c->warmup : r->xattn.reps; s < sh->nsets; ++s)
            if ((st = run_xattn(&xc, s))) {
                fail_result(r, "xattn run", st);
                goto done;
            }
        mask_host = malloc(mask_bytes);
        if (!mask_host) {
            fail_result(r, "host", ELATTN_ERROR_OUT_OF_MEMORY);
            goto done;
        }
    }

    /* Pairs and sparsity: averaged over the input sets (their masks differ). */
    double pairs_sum = 0.0, msr_sum = 0.0, esr_sum = 0.0;
    const double full_pairs = head_pairs(&desc, ELATTN_FULL, S, NULL, 0);
    for (int s = 0; s < sh->nsets; ++s) {
        if (xa && (st = elattn_buffer_download(masks[s], 0, mask_host, mask_bytes, bd->stream))) {
            fail_result(r, "mask download", st);
            goto done;
        }
        elattn_sparsity sp;
        if ((st = elattn_sparsity_of_call(&desc, sh->cu_q, sh->cu_k, modes, mask_host, &sp))) {
            fail_result(r, "sparsity", st);
            goto done;
        }
        for (int h = 0; h < hkv; ++h) {
            const double p = modes[h] == ELATTN_FULL ? full_pairs
                                                     : head_pairs(&desc, modes[h], S,
                                                                  modes[h] == ELATTN_BLOCK_SPARSE
                                                                      ? mask_host + (size_t)h * mask_q * mask_k
                                                                      : NULL,
                                                                  mask_k);
            pairs_sum += p * group;
        }
        msr_sum += sp.omega_msr;
        esr_sum += sp.omega_esr;
    }
    r->pairs = pairs_sum / sh->nsets;
    r->omega_msr = msr_sum / sh->nsets;
    r->omega_esr = esr_sum / sh->nsets;

    /* Zero trust, at no extra run: O of set 0 starts as NaN (every byte 0xFF),
     * the timed runs overwrite it (rep 0 uses set 0), then sampled rows must be
     * finite and not all zero, and serial dispatch must agree with the fused call. */
    const size_t sample_n = sample_capacity(sh);
    int got = 0;
    if (c->check) {
        sample_fused = malloc(sample_n * sizeof(float)), sample_serial = malloc(sample_n * sizeof(float));
        if (!sample_fused || !sample_serial) {
            fail_result(r, "host", ELATTN_ERROR_OUT_OF_MEMORY);
            goto done;
        }
        if ((st = elattn_buffer_fill(sh->o[0], 0, 0xFF, sh->q_bytes, bd->stream))) {
            fail_result(r, "check (fill)", st);
            goto done;
        }
    }
    fused_ctx fc = {plan, bd, sh, xa ? masks : NULL, ws, modes};
    if ((st = time_op(c, bd, run_fused, &fc, sh->nsets, &r->fused))) {
        fail_result(r, "attn run", st);
        goto done;
    }
    const double sec = r->fused.median * 1e-3;
    r->tflops = r->pairs * 4.0 * sh->call.head_dim / sec / 1e12;
    r->dense_equiv_tflops = 2.0 * (double)S * S * sh->call.head_dim * sh->call.hq / sec / 1e12;
    if (dense_ms > 0) r->speedup_vs_dense = dense_ms / r->fused.median;
    if (c->check) {
        if ((st = sample_output(sh, sample_fused, &got))) {
            fail_result(r, "check (fused)", st);
            goto done;
        }
        if (output_suspect(sample_fused, got, "fused", r)) goto done;
    }

    /* Serial dispatch only differs from the fused call when two modes are present. */
    const int two_modes = n_retr > 0 && n_retr < hkv;
    if (c->serial && two_modes) {
        sc.bd = bd, sc.sh = sh, sc.masks = masks;
        sc.mask_head_bytes = (size_t)mask_q * mask_k;
        if ((st = setup_serial(&sc, &call, n_retr, r->serial_kernels, sizeof r->serial_kernels))) {
            fail_result(r, "serial dispatch set-up", st);
            goto done;
        }
        if (c->check && (st = elattn_buffer_fill(sh->o[0], 0, 0xFF, sh->q_bytes, bd->stream))) {
            fail_result(r, "check (fill)", st);
            goto done;
        }
        if ((st = time_op(c, bd, run_serial, &sc, sh->nsets, &r->serial))) {
            fail_result(r, "serial dispatch run", st);
            goto done;
        }
        r->speedup_vs_serial = r->serial.median / r->fused.median;
        if (c->check) {
            if ((st = sample_output(sh, sample_serial, &got))) {
                fail_result(r, "check (serial)", st);
                goto done;
            }
            if (output_suspect(sample_serial, got, "serial dispatch", r)) goto done;
            double diff = 0.0, ref = 0.0;
            for (int i = 0; i < got; ++i) {
                double d = (double)sample_fused[i] - sample_serial[i];
                diff += d * d;
                ref += (double)sample_serial[i] * sample_serial[i];
            }
            r->check_rel_err = sqrt(diff / ref);
            /* Same inputs and per-head math: a different tiling moves outputs by a
             * rounding step of the storage type (2^-8 relative for bf16) at most. */
            if (!(r->check_rel_err <= 1e-2)) {
                r->status = "error";
                snprintf(r->message, sizeof r->message, "fused and serial outputs differ (relative error %.3g)",
                         r->check_rel_err);
            }
        }
    }

done:
    free(sample_fused), free(sample_serial);
    free_serial(&sc);
    for (int s = 0; s < MAX_SETS; ++s) elattn_buffer_free(masks[s]);
    free(mask_host);
    elattn_buffer_free(ws), elattn_buffer_free(xws);
    elattn_xattn_plan_destroy(xplan);
    elattn_attn_plan_destroy(plan);
}

/* ---- router ------------------------------------------------------------------------------- */
typedef struct router_ctx {
    const elattn_router_plan *plan;
    bench_dev *bd;
    shape *sh;
    elattn_router_weights w;
    elattn_buffer *workspace;
    int32_t modes[KIT_MAX_MODES];
} router_ctx;

static elattn_status run_router(void *p, int set)
{
    router_ctx *x = p;
    elattn_router_args a = {
        .keys = x->sh->k[set], .cu_seqlens = x->sh->cu_k, .weights = x->w, .logits = NULL, .modes = x->modes,
        .workspace = x->workspace,
    };
    return elattn_router_run(x->plan, x->bd->stream, &a);
}

/* Times the router on the shape's keys with random weights (PyTorch's Linear
 * initialisation range). On failure `kernel` says why. */
static void time_router(const config *c, bench_dev *bd, shape *sh, timing *t, char *kernel, size_t kernel_n)
{
    memset(t, 0, sizeof *t);
    const int D = sh->call.head_dim, H = 4 * D;
    elattn_router_desc d = {
        .key_dtype = sh->call.dtype, .head_dim = D, .hidden = H, .num_kv_heads = sh->call.hkv, .batch = 1,
        .max_seqlen = sh->call.len_q[0], .retrieval_mode = ELATTN_FULL, .sparse_mode = ELATTN_STREAMING,
    };
    router_ctx x;
    memset(&x, 0, sizeof x);
    x.bd = bd, x.sh = sh;
    elattn_router_plan *plan = NULL;
    elattn_buffer *bufs[10] = {0};
    const size_t sizes[10] = {(size_t)H * D, H, (size_t)D * H, D, (size_t)H * D, H, (size_t)D * H, D, 2 * (size_t)D, 2};
    const int fan_in[10] = {D, D, H, H, D, D, H, H, D, D};
    float *host = malloc(sizeof(float) * (size_t)H * D);
    elattn_status st = host ? elattn_router_plan_create(bd->dev, &d, NULL, &plan) : ELATTN_ERROR_OUT_OF_MEMORY;
    kit_rng r;
    kit_rng_seed_stream(&r, c->seed, 0x7007E5u);
    for (int i = 0; !st && i < 10; ++i) {
        float bound = 1.0f / sqrtf((float)fan_in[i]) / 1.7320508f; /* kit_rng_unit spans +-sqrt(3) */
        for (size_t j = 0; j < sizes[i]; ++j) host[j] = bound * kit_rng_unit(&r);
        if (!(st = elattn_buffer_alloc(bd->dev, sizes[i] * 4, &bufs[i])))
            st = elattn_buffer_upload(bufs[i], 0, host, sizes[i] * 4, NULL);
    }
    size_t wsb = plan ? elattn_router_plan_workspace_size(plan) : 0;
    if (!st && wsb) st = elattn_buffer_alloc(bd->dev, wsb, &x.workspace);
    if (!st) {
        x.plan = plan;
        x.w = (elattn_router_weights){bufs[0], bufs[1], bufs[2], bufs[3], bufs[4],
                                      bufs[5], bufs[6], bufs[7], bufs[8], bufs[9]};
        st = time_op(c, bd, run_router, &x, sh->nsets, t);
    }
    if (st) {
        memset(t, 0, sizeof *t);
        snprintf(kernel, kernel_n, "router %s: %s", elattn_status_string(st), elattn_last_error());
    } else {
        snprintf(kernel, kernel_n, "%s", elattn_router_plan_kernel_name(plan));
    }
    for (int i = 0; i < 10; ++i) elattn_buffer_free(bufs[i]);
    elattn_buffer_free(x.workspace);
    elattn_router_plan_destroy(plan);
    free(host);
}

/* ---- devices -------------------------------------------------------------------------------- */
/* "BACKEND:gpu" picks the first GPU of a backend; anything else goes to
 * elattn_device_open_by_name. */
static elattn_status open_device(const char *name, elattn_device **dev)
{
    const char *colon = strchr(name, ':');
    if (colon && strcmp(colon + 1, "gpu") == 0) {
        int n = 0;
        elattn_device_count(&n);
        for (int i = 0; i < n; ++i) {
            elattn_device_info info;
            if (elattn_device_get_info(i, &info) == ELATTN_SUCCESS && info.is_gpu &&
                strncmp(elattn_backend_name(info.backend), name, (size_t)(colon - name)) == 0 &&
                elattn_backend_name(info.backend)[colon - name] == '\0')
                return elattn_device_open(i, dev);
        }
        return ELATTN_ERROR_NOT_AVAILABLE;
    }
    return elattn_device_open_by_name(name, dev);
}

static void list_devices(void)
{
    int n = 0;
    elattn_device_count(&n);
    for (int i = 0; i < n; ++i) {
        elattn_device_info d;
        if (elattn_device_get_info(i, &d) != ELATTN_SUCCESS) continue;
        printf("%-12s %-40s vendor %-10s arch %-14s %s, %d CUs, wave %d, %.1f GiB\n", d.id, d.name, d.vendor, d.arch,
               d.is_gpu ? "GPU" : "not a GPU", d.compute_units, d.wave_size, d.memory_bytes / 1073741824.0);
    }
}

static void run_device(const config *c, const char *name, int index, const char *command)
{
    bench_dev bd;
    memset(&bd, 0, sizeof bd);
    elattn_status st = name ? open_device(name, &bd.dev) : elattn_device_open(index, &bd.dev);
    if (st == ELATTN_SUCCESS) st = elattn_device_info_of(bd.dev, &bd.info);
    if (st == ELATTN_SUCCESS) st = elattn_stream_create(bd.dev, &bd.stream);
    if (st == ELATTN_SUCCESS) st = elattn_event_create(bd.dev, &bd.ev_start);
    if (st == ELATTN_SUCCESS) st = elattn_event_create(bd.dev, &bd.ev_end);
    if (st != ELATTN_SUCCESS) {
        result *r = new_result();
        snprintf(r->device_id, sizeof r->device_id, "%s", name ? name : "?");
        r->status = st == ELATTN_ERROR_NOT_AVAILABLE ? "skipped" : "error";
        snprintf(r->message, sizeof r->message, "device %s: %s: %s", name ? name : "?", elattn_status_string(st),
                 st == ELATTN_ERROR_NOT_AVAILABLE && !elattn_last_error()[0] ? "no such device here"
                                                                             : elattn_last_error());
        printf("\n%s\n", r->message);
        write_json(c, command);
        goto close;
    }
    printf("\n== %s: %s (%s, %s, %s, %d CUs, %.1f GiB)\n", bd.info.id, bd.info.name, bd.info.vendor, bd.info.arch,
           elattn_backend_name(bd.info.backend), bd.info.compute_units, bd.info.memory_bytes / 1073741824.0);
    const double t_start = now_s();
    for (int di = 0; di < c->dtypes.n; ++di)
        for (int hi = 0; hi < c->head_dims.n; ++hi)
            for (int li = 0; li < c->lens.n; ++li) {
                shape sh;
                init_shape(&sh, c, (elattn_dtype)c->dtypes.v[di], c->head_dims.v[hi], c->lens.v[li]);
                printf("\n%s %s D %d S %d: ", bd.info.id, elattn_dtype_name(sh.call.dtype), sh.call.head_dim,
                       c->lens.v[li]);
                fflush(stdout);

                /* The cases of this shape: dense first (the baseline), then each
                 * mix, once per block size when it has BLOCK_SPARSE heads. */
                mix cases[MAX_LIST * MAX_LIST];
                int blocks[MAX_LIST * MAX_LIST], n_cases = 0;
                cases[n_cases] = (mix){PAIR_DENSE, 0.0, 1}, blocks[n_cases++] = 0;
                for (int mi = 0; mi < c->n_mixes; ++mi) {
                    if (c->mixes[mi].pair == PAIR_DENSE) continue;
                    int nb = mix_uses_xa(&c->mixes[mi]) ? c->blocks.n : 1;
                    for (int b = 0; b < nb; ++b)
                        cases[n_cases] = c->mixes[mi],
                        blocks[n_cases++] = mix_uses_xa(&c->mixes[mi]) ? c->blocks.v[b] : 0;
                }

                char why[256] = "";
                const char *skip_status = NULL;
                if (c->device_budget_s > 0 && now_s() - t_start > c->device_budget_s) {
                    skip_status = "skipped";
                    snprintf(why, sizeof why, "device time budget of %g s spent", c->device_budget_s);
                } else if ((st = make_shape(c, &bd, &sh, why, sizeof why))) {
                    skip_status = st == ELATTN_ERROR_OUT_OF_MEMORY ? "skipped" : "error";
                }
                if (skip_status) {
                    printf("%s: %s\n", skip_status, why);
                    for (int i = 0; i < n_cases; ++i) {
                        result *r = new_result();
                        fill_case_header(r, c, &bd, &sh, &cases[i], blocks[i]);
                        r->status = skip_status;
                        snprintf(r->message, sizeof r->message, "%s", why);
                    }
                    write_json(c, command);
                    continue;
                }
                timing router = {0};
                char router_kernel[256] = "";
                if (c->router) time_router(c, &bd, &sh, &router, router_kernel, sizeof router_kernel);
                if (router.reps)
                    printf("%d input sets (%.1f MiB each); router %.4g ms [%.4g - %.4g] (%s)\n", sh.nsets,
                           (2.0 * sh.q_bytes + 2.0 * sh.kv_bytes) / 1048576.0, router.median, router.min, router.max,
                           router_kernel);
                else
                    printf("%d input sets (%.1f MiB each); router not timed%s%s\n", sh.nsets,
                           (2.0 * sh.q_bytes + 2.0 * sh.kv_bytes) / 1048576.0, c->router ? ": " : "",
                           router_kernel);
                print_header();
                double dense_ms = 0.0;
                for (int i = 0; i < n_cases; ++i) {
                    result *r = new_result();
                    if (i > 0 && c->device_budget_s > 0 && now_s() - t_start > c->device_budget_s) {
                        fill_case_header(r, c, &bd, &sh, &cases[i], blocks[i]);
                        r->status = "skipped";
                        snprintf(r->message, sizeof r->message, "device time budget of %g s spent",
                                 c->device_budget_s);
                    } else {
                        run_case(c, &bd, &sh, &cases[i], blocks[i], dense_ms, &router,
                                 router.reps ? router_kernel : "", r);
                    }
                    if (i == 0 && strcmp(r->status, "ok") == 0) dense_ms = r->fused.median;
                    if (i == 0 && dense_ms > 0) r->speedup_vs_dense = 1.0;
                    print_result(r);
                    write_json(c, command);
                }
                free_shape(&sh);
            }
close:
    elattn_event_destroy(bd.ev_start);
    elattn_event_destroy(bd.ev_end);
    elattn_stream_destroy(bd.stream);
    elattn_device_close(bd.dev);
}

int main(int argc, char **argv)
{
    config c;
    int rc = parse_args(argc, argv, &c);
    if (rc) return rc == 1 ? 0 : rc;
    if (c.list_only) {
        list_devices();
        return 0;
    }
    if (kit_check_conversions("elattn-bench")) {
        fprintf(stderr, "elattn-bench: the bench's fp16/bf16 conversions disagree with elattn_convert\n");
        return 1;
    }
    char command[2048] = "elattn-bench";
    for (int i = 1; i < argc; ++i) {
        size_t used = strlen(command);
        snprintf(command + used, sizeof command - used, " %s", argv[i]);
    }

    printf("elattn-bench %s, set %s: %s\n", elattn_version_string(), c.set_name, c.set_note);
    printf("Hq %d, Hkv %d, causal, batch 1; sink %d, local %d; XAttention stride %d, tau %g; inputs %s\n", c.hq,
           c.hkv, c.sink, c.local, c.stride, (double)c.tau,
           c.structured ? "structured (local attention, see --help)" : "random");
    if (c.dropped_mixes[0])
        printf("left out (not a whole number of the %d KV heads): %s\n", c.hkv, c.dropped_mixes);
    printf("timing: backend events, %d warm-up, >= %d reps and >= %g s per measurement, median [min - max] in ms\n",
           c.warmup, c.min_reps, c.min_time_s);
    printf("TFLOP/s: 4*D per visible (query, key) pair, counted exactly; dense-eq: 2*S^2*D*Hq; "
           "xdense: dense time / this time; xserial: serial dispatch time (gather, one launch per mode, scatter) / "
           "this time; XA-est: XAttention selection time (ms)\n");

    if (c.n_devices == 0) {
        int n = 0;
        elattn_device_count(&n);
        for (int i = 0; i < n; ++i) run_device(&c, NULL, i, command);
    } else {
        for (int i = 0; i < c.n_devices; ++i) run_device(&c, c.devices[i], -1, command);
    }
    write_json(&c, command);
    write_csv(&c);

    int errors = 0, ok = 0, other = 0;
    for (int i = 0; i < n_results; ++i) {
        if (strcmp(results[i].status, "error") == 0) ++errors;
        else if (strcmp(results[i].status, "ok") == 0) ++ok;
        else ++other;
    }
    printf("\n%d cases measured, %d unsupported or skipped, %d errors\n", ok, other, errors);
    if (c.json_path) printf("json: %s\n", c.json_path);
    if (c.csv_path) printf("csv: %s\n", c.csv_path);
    free(results);
    return errors ? 1 : 0;
}

/*
 * elattn-run: one call of the library on .npy files, for scripts and
 * debugging (see README.md for the files each command reads and writes).
 * Exit codes: 0 success, 2 bad input (a file, an option, or a value the
 * library refused), 1 a run that failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elattn/elattn.h"
#include "npy.h"

#define EXIT_BAD_INPUT 2
#define EXIT_RUN_FAILED 1

typedef struct cli {
    const char *command, *backend, *in, *out, *modes;
    int causal, sink, local, block, lse, stride;
    float scale, tau;
    int have_tau;
} cli;

static void usage(FILE *f)
{
    fprintf(f,
            "usage:\n"
            "  elattn-run attn   --backend NAME --in DIR --out DIR [--causal 0|1] [--sink N] [--local N]\n"
            "                    [--block N] [--scale F] [--lse]\n"
            "  elattn-run xattn  --backend NAME --in DIR --out DIR --stride S --block B [--tau F] [--causal 0|1]\n"
            "  elattn-run router --backend NAME --in DIR --out DIR --modes RETRIEVAL,SPARSE\n"
            "defaults: --causal 1 --sink 128 --local 2048 --block 128 --scale 0 (1/sqrt(D)) --tau 0.9\n"
            "NAME: \"auto\", \"reference\", a backend name or a device id (\"cuda:0\", \"opencl:1\")\n");
}

/* ---- errors ---------------------------------------------------------------------- */
static int bad_input(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "elattn-run: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    return EXIT_BAD_INPUT;
}

/* A library failure: the library's own message names the argument. */
static int lib_failure(const char *what, elattn_status st)
{
    fprintf(stderr, "elattn-run: %s: %s: %s\n", what, elattn_status_string(st), elattn_last_error());
    switch (st) {
    case ELATTN_ERROR_INVALID_ARGUMENT:
    case ELATTN_ERROR_BUFFER_TOO_SMALL:
    case ELATTN_ERROR_UNSUPPORTED:
    case ELATTN_ERROR_NOT_AVAILABLE: return EXIT_BAD_INPUT;
    default: return EXIT_RUN_FAILED;
    }
}

/* ---- options ---------------------------------------------------------------------- */
static int parse_int(const char *opt, const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < -2147483647L || v > 2147483647L) return bad_input("%s: \"%s\" is not an integer", opt, s);
    *out = (int)v;
    return 0;
}

static int parse_float(const char *opt, const char *s, float *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) return bad_input("%s: \"%s\" is not a number", opt, s);
    *out = (float)v;
    return 0;
}

static int parse(int argc, char **argv, cli *c)
{
    memset(c, 0, sizeof *c);
    c->causal = 1;
    c->sink = 128;
    c->local = 2048;
    c->block = 128;
    c->tau = 0.9f;
    if (argc < 2) {
        usage(stderr);
        return EXIT_BAD_INPUT;
    }
    c->command = argv[1];
    if (!strcmp(c->command, "--help") || !strcmp(c->command, "-h")) {
        usage(stdout);
        exit(0);
    }
    if (strcmp(c->command, "attn") && strcmp(c->command, "xattn") && strcmp(c->command, "router"))
        return bad_input("unknown command \"%s\"%s (attn, xattn or router)", c->command, "");
    int rc = 0;
    for (int i = 2; i < argc && !rc; ++i) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--lse")) {
            c->lse = 1;
            continue;
        }
        if (!v) return bad_input("%s needs a value%s", o, "");
        ++i;
        if (!strcmp(o, "--backend")) c->backend = v;
        else if (!strcmp(o, "--in")) c->in = v;
        else if (!strcmp(o, "--out")) c->out = v;
        else if (!strcmp(o, "--modes")) c->modes = v;
        else if (!strcmp(o, "--causal")) rc = parse_int(o, v, &c->causal);
        else if (!strcmp(o, "--sink")) rc = parse_int(o, v, &c->sink);
        else if (!strcmp(o, "--local")) rc = parse_int(o, v, &c->local);
        else if (!strcmp(o, "--block")) rc = parse_int(o, v, &c->block);
        else if (!strcmp(o, "--stride")) rc = parse_int(o, v, &c->stride);
        else if (!strcmp(o, "--scale")) rc = parse_float(o, v, &c->scale);
        else if (!strcmp(o, "--tau")) {
            rc = parse_float(o, v, &c->tau);
            c->have_tau = 1;
        } else
            return bad_input("unknown option \"%s\"%s", o, "");
    }
    if (rc) return rc;
    if (!c->backend) return bad_input("--backend is required%s%s", "", "");
    if (!c->in || !c->out) return bad_input("--in and --out are required%s%s", "", "");
    if (!strcmp(c->command, "xattn") && !c->stride) return bad_input("xattn needs --stride%s%s", "", "");
    if (!strcmp(c->command, "router") && !c->modes) return bad_input("router needs --modes%s%s", "", "");
    return 0;
}

/* ---- files ------------------------------------------------------------------------- */
static void path_of(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

/* Loads DIR/name; optional files may be missing (*found = 0). */
static int load(const char *dir, const char *name, int optional, npy_array *a, int *found)
{
    char path[4096], err[512];
    path_of(path, sizeof path, dir, name);
    npy_result r = npy_load(path, a, err, sizeof err);
    if (found) *found = r == NPY_OK;
    if (r == NPY_OK || (r == NPY_MISSING && optional)) return 0;
    fprintf(stderr, "elattn-run: %s\n", err);
    return EXIT_BAD_INPUT;
}

static int save(const char *dir, const char *name, const char *descr, int ndim, const int64_t *shape, const void *data)
{
    char path[4096], err[512];
    path_of(path, sizeof path, dir, name);
    if (npy_save(path, descr, ndim, shape, data, err, sizeof err) != NPY_OK) {
        fprintf(stderr, "elattn-run: %s\n", err);
        return EXIT_RUN_FAILED;
    }
    return 0;
}

static int dtype_of(const npy_array *a, const char *file, elattn_dtype *t)
{
    if (!strcmp(a->descr, "<f4")) *t = ELATTN_F32;
    else if (!strcmp(a->descr, "<f2")) *t = ELATTN_F16;
    else if (!strcmp(a->descr, "<u2")) *t = ELATTN_BF16; /* bf16 bits */
    else return bad_input("%s: dtype %s is not <f4, <f2 or <u2 (bf16 bits)", file, a->descr);
    return 0;
}

static const char *descr_of(elattn_dtype t) { return t == ELATTN_F32 ? "<f4" : t == ELATTN_F16 ? "<f2" : "<u2"; }

static int expect_shape(const npy_array *a, const char *file, int ndim, const int64_t *shape)
{
    int ok = a->ndim == ndim;
    for (int i = 0; ok && i < ndim; ++i) ok = shape[i] < 0 || a->shape[i] == shape[i];
    if (ok) return 0;
    char want[128] = "(", got[128] = "(";
    for (int i = 0; i < ndim; ++i) {
        if (shape[i] < 0) strcat(want, "*");
        else snprintf(want + strlen(want), sizeof want - strlen(want), "%lld", (long long)shape[i]);
        if (i + 1 < ndim) strcat(want, ",");
    }
    for (int i = 0; i < a->ndim; ++i)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%lld%s", (long long)a->shape[i],
                 i + 1 < a->ndim ? "," : "");
    strcat(want, ")");
    strcat(got, ")");
    fprintf(stderr, "elattn-run: %s: shape %s, expected %d dimensions %s\n", file, got, ndim, want);
    return EXIT_BAD_INPUT;
}

/* cu_seqlens from DIR/name (int32 [B+1]) or the default [0, total]. */
static int load_cu(const char *dir, const char *name, int64_t total, npy_array *a, int32_t **cu, int *batch,
                   int *max_len)
{
    int found = 0, rc = load(dir, name, 1, a, &found);
    if (rc) return rc;
    static int32_t whole[2];
    if (!found) {
        whole[0] = 0;
        whole[1] = (int32_t)total;
        *cu = whole;
        *batch = 1;
    } else {
        if (strcmp(a->descr, "<i4") || a->ndim != 1 || a->shape[0] < 2)
            return bad_input("%s: must be int32 [batch + 1] (found %s)", name, a->descr);
        *cu = a->data;
        *batch = (int)a->shape[0] - 1;
        if ((*cu)[*batch] != total) {
            fprintf(stderr, "elattn-run: %s: last value %d, but the tensor has %lld rows\n", name, (int)(*cu)[*batch],
                    (long long)total);
            return EXIT_BAD_INPUT;
        }
    }
    /* The descriptor's maximum: the longest element (the library checks the rest). */
    *max_len = 1;
    for (int b = 0; b < *batch; ++b)
        if ((*cu)[b + 1] - (*cu)[b] > *max_len) *max_len = (*cu)[b + 1] - (*cu)[b];
    return 0;
}

/* cu_seqlens_q.npy and cu_seqlens_k.npy (attn and xattn), which must describe the same batch. */
static int load_cu_pair(const char *dir, int64_t total_q, int64_t total_k, npy_array *cq, npy_array *ck,
                        int32_t **cu_q, int32_t **cu_k, int *batch, int *max_q, int *max_k)
{
    int rc, batch_k;
    if ((rc = load_cu(dir, "cu_seqlens_q.npy", total_q, cq, cu_q, batch, max_q)) ||
        (rc = load_cu(dir, "cu_seqlens_k.npy", total_k, ck, cu_k, &batch_k, max_k)))
        return rc;
    if (*batch != batch_k) return bad_input("cu_seqlens_q.npy/cu_seqlens_k.npy: different batch sizes%s%s", "", "");
    return 0;
}

/* The optional modes.npy (attn and xattn): int32 [batch, Hkv]; *found says whether it was there. */
static int load_modes(const char *dir, int batch, int hkv, npy_array *modes, int *found)
{
    int rc = load(dir, "modes.npy", 1, modes, found);
    if (rc || !*found) return rc;
    if (strcmp(modes->descr, "<i4")) return bad_input("modes.npy: dtype %s, expected <i4%s", modes->descr, "");
    const int64_t shape[2] = {batch, hkv};
    return expect_shape(modes, "modes.npy", 2, shape);
}

static int upload(elattn_device *dev, const void *data, size_t bytes, elattn_buffer **out, const char *what)
{
    elattn_status st = elattn_buffer_alloc(dev, bytes ? bytes : 256, out);
    if (!st && bytes) st = elattn_buffer_upload(*out, 0, data, bytes, NULL);
    return st ? lib_failure(what, st) : 0;
}

static int alloc(elattn_device *dev, size_t bytes, elattn_buffer **out, const char *what)
{
    elattn_status st = elattn_buffer_alloc(dev, bytes ? bytes : 256, out);
    return st ? lib_failure(what, st) : 0;
}

static int download(const elattn_buffer *b, void *dst, size_t bytes, const char *what)
{
    elattn_status st = bytes ? elattn_buffer_download(b, 0, dst, bytes, NULL) : ELATTN_SUCCESS;
    return st ? lib_failure(what, st) : 0;
}

/* ---- attn ----------------------------------------------------------------------------- */
static int cmd_attn(const cli *c, elattn_device *dev)
{
    npy_array q = {0}, k = {0}, v = {0}, cq = {0}, ck = {0}, modes = {0}, mask = {0};
    elattn_buffer *bq = NULL, *bk = NULL, *bv = NULL, *bo = NULL, *blse = NULL, *bmask = NULL, *ws = NULL;
    elattn_attn_plan *plan = NULL;
    void *o = NULL;
    float *lse = NULL;
    int32_t *cu_q, *cu_k, *mode_table = NULL;
    int rc, batch_q, max_q, max_k, have_modes = 0, have_mask = 0;
    elattn_dtype dtype, tk, tv;

    if ((rc = load(c->in, "q.npy", 0, &q, NULL)) || (rc = load(c->in, "k.npy", 0, &k, NULL)) ||
        (rc = load(c->in, "v.npy", 0, &v, NULL)))
        goto done;
    if ((rc = dtype_of(&q, "q.npy", &dtype)) || (rc = dtype_of(&k, "k.npy", &tk)) || (rc = dtype_of(&v, "v.npy", &tv)))
        goto done;
    if (tk != dtype || tv != dtype) {
        rc = bad_input("k.npy/v.npy: dtype differs from q.npy's %s%s", q.descr, "");
        goto done;
    }
    const int64_t any3[3] = {-1, -1, -1};
    if ((rc = expect_shape(&q, "q.npy", 3, any3)) || (rc = expect_shape(&k, "k.npy", 3, any3))) goto done;
    const int64_t kv_shape[3] = {k.shape[0], k.shape[1], q.shape[2]};
    if ((rc = expect_shape(&k, "k.npy", 3, kv_shape)) || (rc = expect_shape(&v, "v.npy", 3, kv_shape))) goto done;
    if ((rc = load_cu_pair(c->in, q.shape[0], k.shape[0], &cq, &ck, &cu_q, &cu_k, &batch_q, &max_q, &max_k)))
        goto done;
    int hq = (int)q.shape[1], hkv = (int)k.shape[1], D = (int)q.shape[2];
    if ((rc = load_modes(c->in, batch_q, hkv, &modes, &have_modes))) goto done;
    if (have_modes) {
        mode_table = modes.data;
    } else {
        mode_table = calloc((size_t)batch_q * hkv, sizeof(int32_t)); /* all FULL */
        if (!mode_table) {
            rc = EXIT_RUN_FAILED;
            goto done;
        }
    }
    elattn_attn_desc desc = {
        .dtype = dtype, .head_dim = D, .num_q_heads = hq, .num_kv_heads = hkv, .batch = batch_q,
        .max_seqlen_q = max_q, .max_seqlen_k = max_k, .causal = c->causal, .scale = c->scale, .sink = c->sink,
        .local = c->local, .block_size = c->block, .write_lse = c->lse,
    };
    elattn_status st = elattn_attn_plan_create(dev, &desc, NULL, &plan);
    if (st) {
        rc = lib_failure("plan", st);
        goto done;
    }
    if ((rc = load(c->in, "block_mask.npy", 1, &mask, &have_mask))) goto done;
    if (have_mask) {
        int nqb = (max_q + c->block - 1) / c->block, nkb = (max_k + c->block - 1) / c->block;
        const int64_t ms[4] = {batch_q, hkv, nqb, nkb};
        if (strcmp(mask.descr, "|u1") && strcmp(mask.descr, "<u1") && strcmp(mask.descr, "|b1")) {
            rc = bad_input("block_mask.npy: dtype %s, expected uint8%s", mask.descr, "");
            goto done;
        }
        if ((rc = expect_shape(&mask, "block_mask.npy", 4, ms))) goto done;
        if ((rc = upload(dev, mask.data, mask.count, &bmask, "block_mask"))) goto done;
    }
    size_t es = elattn_dtype_size(dtype), o_bytes = q.count * es, lse_n = (size_t)q.shape[0] * hq;
    size_t ws_bytes = elattn_attn_plan_workspace_size(plan);
    if ((rc = upload(dev, q.data, o_bytes, &bq, "q")) || (rc = upload(dev, k.data, k.count * es, &bk, "k")) ||
        (rc = upload(dev, v.data, v.count * es, &bv, "v")) || (rc = alloc(dev, o_bytes, &bo, "o")) ||
        (c->lse && (rc = alloc(dev, lse_n * 4, &blse, "lse"))) || (ws_bytes && (rc = alloc(dev, ws_bytes, &ws, "workspace"))))
        goto done;
    elattn_attn_args args = {.q = bq, .k = bk, .v = bv, .o = bo, .lse = blse, .cu_seqlens_q = cu_q,
                             .cu_seqlens_k = cu_k, .modes = mode_table, .block_mask = bmask, .workspace = ws};
    if ((st = elattn_attn_run(plan, NULL, &args))) {
        rc = lib_failure("run", st);
        goto done;
    }
    o = malloc(o_bytes ? o_bytes : 1);
    lse = malloc(sizeof(float) * (lse_n ? lse_n : 1));
    if (!o || !lse) {
        rc = EXIT_RUN_FAILED;
        goto done;
    }
    if ((rc = download(bo, o, o_bytes, "o"))) goto done;
    if ((rc = save(c->out, "o.npy", descr_of(dtype), 3, q.shape, o))) goto done;
    if (c->lse) {
        const int64_t ls[2] = {q.shape[0], hq};
        if ((rc = download(blse, lse, lse_n * 4, "lse")) || (rc = save(c->out, "lse.npy", "<f4", 2, ls, lse))) goto done;
    }
    printf("attn: kernel %s, %d element(s), Hq %d, Hkv %d, D %d, %s\n", elattn_attn_plan_kernel_name(plan), batch_q,
           hq, hkv, D, elattn_dtype_name(dtype));
done:
    elattn_buffer_free(bq), elattn_buffer_free(bk), elattn_buffer_free(bv), elattn_buffer_free(bo);
    elattn_buffer_free(blse), elattn_buffer_free(bmask), elattn_buffer_free(ws);
    elattn_attn_plan_destroy(plan);
    if (!have_modes) free(mode_table);
    npy_free(&q), npy_free(&k), npy_free(&v), npy_free(&cq), npy_free(&ck), npy_free(&modes), npy_free(&mask);
    free(o);
    free(lse);
    return rc;
}

/* ---- xattn ----------------------------------------------------------------------------- */
static int cmd_xattn(const cli *c, elattn_device *dev)
{
    npy_array q = {0}, k = {0}, cq = {0}, ck = {0}, modes = {0}, taus = {0};
    elattn_buffer *bq = NULL, *bk = NULL, *bmask = NULL, *ws = NULL;
    elattn_xattn_plan *plan = NULL;
    uint8_t *mask = NULL;
    int32_t *cu_q, *cu_k;
    int rc, batch_q, max_q, max_k, have_modes = 0, have_taus = 0;
    elattn_dtype dtype, tk;

    if ((rc = load(c->in, "q.npy", 0, &q, NULL)) || (rc = load(c->in, "k.npy", 0, &k, NULL))) goto done;
    if ((rc = dtype_of(&q, "q.npy", &dtype)) || (rc = dtype_of(&k, "k.npy", &tk))) goto done;
    if (tk != dtype) {
        rc = bad_input("k.npy: dtype differs from q.npy's %s%s", q.descr, "");
        goto done;
    }
    const int64_t any3[3] = {-1, -1, -1};
    if ((rc = expect_shape(&q, "q.npy", 3, any3))) goto done;
    const int64_t ks[3] = {-1, -1, q.shape[2]};
    if ((rc = expect_shape(&k, "k.npy", 3, ks))) goto done;
    if ((rc = load_cu_pair(c->in, q.shape[0], k.shape[0], &cq, &ck, &cu_q, &cu_k, &batch_q, &max_q, &max_k)))
        goto done;
    int hq = (int)q.shape[1], hkv = (int)k.shape[1], D = (int)q.shape[2];
    if ((rc = load_modes(c->in, batch_q, hkv, &modes, &have_modes))) goto done;
    if ((rc = load(c->in, "taus.npy", 1, &taus, &have_taus))) goto done;
    if (have_taus && c->have_tau) {
        rc = bad_input("give --tau or taus.npy, not both%s%s", "", "");
        goto done;
    }
    if (have_taus && (strcmp(taus.descr, "<f4") || taus.ndim != 1)) {
        rc = bad_input("taus.npy: must be float32 [Hkv] (found %s)%s", taus.descr, "");
        goto done;
    }
    elattn_xattn_desc desc = {
        .dtype = dtype, .head_dim = D, .num_q_heads = hq, .num_kv_heads = hkv, .batch = batch_q,
        .max_seqlen_q = max_q, .max_seqlen_k = max_k, .causal = c->causal, .scale = c->scale,
        .stride = c->stride, .block_size = c->block,
    };
    elattn_status st = elattn_xattn_plan_create(dev, &desc, NULL, &plan);
    if (st) {
        rc = lib_failure("plan", st);
        goto done;
    }
    int nqb = (max_q + c->block - 1) / c->block, nkb = (max_k + c->block - 1) / c->block;
    size_t mask_bytes = (size_t)batch_q * hkv * nqb * nkb, es = elattn_dtype_size(dtype);
    size_t ws_bytes = elattn_xattn_plan_workspace_size(plan);
    /* Entries that are not BLOCK_SPARSE are left as they were: zeros here. */
    mask = calloc(mask_bytes ? mask_bytes : 1, 1);
    if (!mask) {
        rc = EXIT_RUN_FAILED;
        goto done;
    }
    if ((rc = upload(dev, q.data, q.count * es, &bq, "q")) || (rc = upload(dev, k.data, k.count * es, &bk, "k")) ||
        (rc = upload(dev, mask, mask_bytes, &bmask, "block_mask")) ||
        (ws_bytes && (rc = alloc(dev, ws_bytes, &ws, "workspace"))))
        goto done;
    elattn_xattn_args args = {
        .q = bq, .k = bk, .cu_seqlens_q = cu_q, .cu_seqlens_k = cu_k, .modes = have_modes ? modes.data : NULL,
        .thresholds = have_taus ? taus.data : &c->tau, .num_thresholds = have_taus ? (int)taus.shape[0] : 1,
        .block_mask = bmask, .workspace = ws,
    };
    if ((st = elattn_xattn_run(plan, NULL, &args))) {
        rc = lib_failure("run", st);
        goto done;
    }
    const int64_t shape[4] = {batch_q, hkv, nqb, nkb};
    if ((rc = download(bmask, mask, mask_bytes, "block_mask")) ||
        (rc = save(c->out, "block_mask.npy", "|u1", 4, shape, mask)))
        goto done;
    printf("xattn: kernel %s, mask [%d, %d, %d, %d]\n", elattn_xattn_plan_kernel_name(plan), batch_q, hkv, nqb, nkb);
done:
    elattn_buffer_free(bq), elattn_buffer_free(bk), elattn_buffer_free(bmask), elattn_buffer_free(ws);
    elattn_xattn_plan_destroy(plan);
    npy_free(&q), npy_free(&k), npy_free(&cq), npy_free(&ck), npy_free(&modes), npy_free(&taus);
    free(mask);
    return rc;
}

/* ---- router ------------------------------------------------------------------------------ */
static int mode_by_name(const char *s, size_t n, elattn_mode *m)
{
    static const struct {
        const char *name;
        elattn_mode mode;
    } names[] = {{"full", ELATTN_FULL}, {"streaming", ELATTN_STREAMING}, {"block_sparse", ELATTN_BLOCK_SPARSE},
                 {"block", ELATTN_BLOCK_SPARSE}, {"xattn", ELATTN_BLOCK_SPARSE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
        if (strlen(names[i].name) == n && !strncmp(s, names[i].name, n)) {
            *m = names[i].mode;
            return 1;
        }
    return 0;
}

static int cmd_router(const cli *c, elattn_device *dev)
{
    static const char *const wnames[10] = {"task_w1.npy", "task_b1.npy", "task_w2.npy", "task_b2.npy",
                                           "head_w1.npy", "head_b1.npy", "head_w2.npy", "head_b2.npy",
                                           "head_w3.npy", "head_b3.npy"};
    npy_array keys = {0}, cu = {0}, w[10];
    memset(w, 0, sizeof w);
    elattn_buffer *bkeys = NULL, *bw[10] = {0}, *blogits = NULL, *ws = NULL;
    elattn_router_plan *plan = NULL;
    int32_t *cu_seqlens, *modes = NULL;
    float *logits = NULL;
    int rc, batch, max_len;
    elattn_dtype dtype;
    elattn_mode retrieval, sparse;

    const char *comma = strchr(c->modes, ',');
    if (!comma || !mode_by_name(c->modes, (size_t)(comma - c->modes), &retrieval) ||
        !mode_by_name(comma + 1, strlen(comma + 1), &sparse))
        return bad_input("--modes: \"%s\" is not RETRIEVAL,SPARSE (full, streaming, block_sparse)%s", c->modes, "");
    if ((rc = load(c->in, "keys.npy", 0, &keys, NULL)) || (rc = dtype_of(&keys, "keys.npy", &dtype))) goto done;
    const int64_t any3[3] = {-1, -1, -1};
    if ((rc = expect_shape(&keys, "keys.npy", 3, any3))) goto done;
    if ((rc = load_cu(c->in, "cu_seqlens.npy", keys.shape[0], &cu, &cu_seqlens, &batch, &max_len))) goto done;
    for (int i = 0; i < 10; ++i) {
        if ((rc = load(c->in, wnames[i], 0, &w[i], NULL))) goto done;
        if (strcmp(w[i].descr, "<f4")) {
            rc = bad_input("%s: dtype %s, expected float32 <f4", wnames[i], w[i].descr);
            goto done;
        }
    }
    int hkv = (int)keys.shape[1], D = (int)keys.shape[2];
    if (w[0].ndim != 2) {
        rc = bad_input("task_w1.npy: must be [hidden, D]%s%s", "", "");
        goto done;
    }
    int hidden = (int)w[0].shape[0];
    const int64_t shapes[10][2] = {{hidden, D}, {hidden, 0}, {D, hidden}, {D, 0}, {hidden, D},
                                   {hidden, 0}, {D, hidden}, {D, 0},      {2, D}, {2, 0}};
    for (int i = 0; i < 10; ++i)
        if ((rc = expect_shape(&w[i], wnames[i], shapes[i][1] ? 2 : 1, shapes[i]))) goto done;
    elattn_router_desc desc = {.key_dtype = dtype, .head_dim = D, .hidden = hidden, .num_kv_heads = hkv,
                               .batch = batch, .max_seqlen = max_len, .retrieval_mode = retrieval,
                               .sparse_mode = sparse};
    elattn_status st = elattn_router_plan_create(dev, &desc, NULL, &plan);
    if (st) {
        rc = lib_failure("plan", st);
        goto done;
    }
    size_t entries = (size_t)batch * hkv, ws_bytes = elattn_router_plan_workspace_size(plan);
    if ((rc = upload(dev, keys.data, keys.count * elattn_dtype_size(dtype), &bkeys, "keys"))) goto done;
    for (int i = 0; i < 10; ++i)
        if ((rc = upload(dev, w[i].data, w[i].count * 4, &bw[i], wnames[i]))) goto done;
    if ((rc = alloc(dev, entries * 2 * 4, &blogits, "logits")) || (ws_bytes && (rc = alloc(dev, ws_bytes, &ws, "workspace"))))
        goto done;
    modes = malloc(sizeof(int32_t) * (entries ? entries : 1));
    logits = malloc(sizeof(float) * 2 * (entries ? entries : 1));
    if (!modes || !logits) {
        rc = EXIT_RUN_FAILED;
        goto done;
    }
    elattn_router_args args = {.keys = bkeys, .cu_seqlens = cu_seqlens,
                               .weights = {bw[0], bw[1], bw[2], bw[3], bw[4], bw[5], bw[6], bw[7], bw[8], bw[9]},
                               .logits = blogits, .modes = modes, .workspace = ws};
    if ((st = elattn_router_run(plan, NULL, &args))) {
        rc = lib_failure("run", st);
        goto done;
    }
    const int64_t ms[2] = {batch, hkv}, ls[3] = {batch, hkv, 2};
    if ((rc = download(blogits, logits, entries * 2 * 4, "logits")) ||
        (rc = save(c->out, "modes.npy", "<i4", 2, ms, modes)) || (rc = save(c->out, "logits.npy", "<f4", 3, ls, logits)))
        goto done;
    printf("router: kernel %s, %d element(s), Hkv %d, D %d, hidden %d\n", elattn_router_plan_kernel_name(plan), batch,
           hkv, D, hidden);
done:
    elattn_buffer_free(bkeys), elattn_buffer_free(blogits), elattn_buffer_free(ws);
    for (int i = 0; i < 10; ++i) elattn_buffer_free(bw[i]), npy_free(&w[i]);
    elattn_router_plan_destroy(plan);
    npy_free(&keys), npy_free(&cu);
    free(modes);
    free(logits);
    return rc;
}

int main(int argc, char **argv)
{
    cli c;
    int rc = parse(argc, argv, &c);
    if (rc) return rc;
    elattn_device *dev = NULL;
    elattn_status st = elattn_device_open_by_name(c.backend, &dev);
    if (st) return lib_failure("--backend", st);
    if (!strcmp(c.command, "attn")) rc = cmd_attn(&c, dev);
    else if (!strcmp(c.command, "xattn")) rc = cmd_xattn(&c, dev);
    else rc = cmd_router(&c, dev);
    elattn_device_close(dev);
    return rc;
}

/*
 * elattn-run: one call of the library on .npy files, for scripts and
 * debugging (see README.md for the files each command reads and writes).
 * Exit codes: 0 success, 2 bad input (a file, an option, or a value the
 * library refused), 1 a run that failed.
 *
 * Everything read from a file is checked before elattn-run computes with it
 * (shapes against each other, cu_seqlens entries before any difference is
 * taken), and every allocation sized from the files comes after the library
 * accepted the plan, whose limits bound it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elattn/elattn.h"
#include "elattn_run.h"
#include "kit_devices.h"

#define EXIT_BAD_INPUT ELATTN_RUN_BAD_INPUT
#define EXIT_RUN_FAILED ELATTN_RUN_FAILED
#define EXIT_HELP (-1) /* parse(): --help or --list was printed; exit 0 */

typedef struct cli {
    const elattn_run_io *io;
    const char *command, *backend, *in, *out, *modes;
    int causal, sink, local, block, lse, stride;
    int page, splits, page_budget; /* decode */
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
            "  elattn-run decode --backend NAME --in DIR --out DIR [--sink N] [--local N] [--page P]\n"
            "                    [--splits N] [--page-budget B] [--scale F] [--lse]\n"
            "  elattn-run --list   the backends (loaded, or why not) and devices\n"
            "defaults: --causal 1 --sink 128 --local 2048 --block 128 --scale 0 (1/sqrt(D)) --tau 0.9\n"
            "          decode: --page 16 --splits 0 (the plan's) --page-budget 0 (BLOCK_SPARSE heads dense)\n"
            "NAME: \"auto\", \"reference\", a backend name or a device id (\"cuda:0\", \"opencl:1\")\n");
}

/* ---- errors ---------------------------------------------------------------------- */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int report(const cli *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(c->io->err, "elattn-run: ");
    vfprintf(c->io->err, fmt, ap);
    fprintf(c->io->err, "\n");
    va_end(ap);
    return rc;
}

#define bad_input(c, ...) report(c, EXIT_BAD_INPUT, __VA_ARGS__)

/* A library failure: the library's own message names the argument. */
static int lib_failure(const cli *c, const char *what, elattn_status st)
{
    report(c, 0, "%s: %s: %s", what, elattn_status_string(st), elattn_last_error());
    switch (st) {
    case ELATTN_ERROR_INVALID_ARGUMENT:
    case ELATTN_ERROR_BUFFER_TOO_SMALL:
    case ELATTN_ERROR_UNSUPPORTED:
    case ELATTN_ERROR_NOT_AVAILABLE: return EXIT_BAD_INPUT;
    default: return EXIT_RUN_FAILED;
    }
}

/* ---- options ---------------------------------------------------------------------- */
static int parse_int(const cli *c, const char *opt, const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < -2147483647L || v > 2147483647L)
        return bad_input(c, "%s: \"%s\" is not an integer (32 bits)", opt, s);
    *out = (int)v;
    return 0;
}

static int parse_float(const cli *c, const char *opt, const char *s, float *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) return bad_input(c, "%s: \"%s\" is not a number", opt, s);
    *out = (float)v;
    return 0;
}

static int parse(int argc, char **argv, cli *c)
{
    c->causal = 1;
    c->sink = 128;
    c->local = 2048;
    c->block = 128;
    c->tau = 0.9f;
    c->page = 16;
    if (argc < 2) {
        usage(c->io->err);
        return EXIT_BAD_INPUT;
    }
    c->command = argv[1];
    if (!strcmp(c->command, "--help") || !strcmp(c->command, "-h")) {
        usage(c->io->out);
        return EXIT_HELP;
    }
    if (!strcmp(c->command, "--list")) {
        kit_print_devices(c->io->out);
        return EXIT_HELP;
    }
    if (strcmp(c->command, "attn") && strcmp(c->command, "xattn") && strcmp(c->command, "router") &&
        strcmp(c->command, "decode"))
        return bad_input(c, "unknown command \"%s\" (attn, xattn, router or decode)", c->command);
    int rc = 0;
    for (int i = 2; i < argc && !rc; ++i) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--lse")) {
            c->lse = 1;
            continue;
        }
        if (!v) return bad_input(c, "%s needs a value", o);
        ++i;
        if (!strcmp(o, "--backend")) c->backend = v;
        else if (!strcmp(o, "--in")) c->in = v;
        else if (!strcmp(o, "--out")) c->out = v;
        else if (!strcmp(o, "--modes")) c->modes = v;
        else if (!strcmp(o, "--causal")) rc = parse_int(c, o, v, &c->causal);
        else if (!strcmp(o, "--sink")) rc = parse_int(c, o, v, &c->sink);
        else if (!strcmp(o, "--local")) rc = parse_int(c, o, v, &c->local);
        else if (!strcmp(o, "--block")) rc = parse_int(c, o, v, &c->block);
        else if (!strcmp(o, "--stride")) rc = parse_int(c, o, v, &c->stride);
        else if (!strcmp(o, "--page")) rc = parse_int(c, o, v, &c->page);
        else if (!strcmp(o, "--splits")) rc = parse_int(c, o, v, &c->splits);
        else if (!strcmp(o, "--page-budget")) rc = parse_int(c, o, v, &c->page_budget);
        else if (!strcmp(o, "--scale")) rc = parse_float(c, o, v, &c->scale);
        else if (!strcmp(o, "--tau")) {
            rc = parse_float(c, o, v, &c->tau);
            c->have_tau = 1;
        } else
            return bad_input(c, "unknown option \"%s\"", o);
    }
    if (rc) return rc;
    if (!c->backend) return bad_input(c, "--backend is required");
    if (!c->in || !c->out) return bad_input(c, "--in and --out are required");
    if (!strcmp(c->command, "xattn") && !c->stride) return bad_input(c, "xattn needs --stride");
    if (!strcmp(c->command, "router") && !c->modes) return bad_input(c, "router needs --modes");
    return 0;
}

/* ---- files ------------------------------------------------------------------------- */
/* Loads IN/name; optional files may be missing (*found = 0). */
static int load(const cli *c, const char *name, int optional, npy_array *a, int *found)
{
    char err[512];
    memset(a, 0, sizeof *a);
    npy_result r = c->io->load(c->io->ctx, c->in, name, a, err, sizeof err);
    if (found) *found = r == NPY_OK;
    if (r == NPY_OK || (r == NPY_MISSING && optional)) return 0;
    return bad_input(c, "%s", err);
}

static int save(const cli *c, const char *name, const char *descr, int ndim, const int64_t *shape, const void *data)
{
    char err[512];
    if (c->io->save(c->io->ctx, c->out, name, descr, ndim, shape, data, err, sizeof err) != NPY_OK)
        return report(c, EXIT_RUN_FAILED, "%s", err);
    return 0;
}

static int dtype_of(const cli *c, const npy_array *a, const char *file, elattn_dtype *t)
{
    if (!strcmp(a->descr, "<f4")) *t = ELATTN_F32;
    else if (!strcmp(a->descr, "<f2")) *t = ELATTN_F16;
    else if (!strcmp(a->descr, "<u2")) *t = ELATTN_BF16; /* bf16 bits */
    else return bad_input(c, "%s: dtype %s is not <f4, <f2 or <u2 (bf16 bits)", file, a->descr);
    return 0;
}

static const char *descr_of(elattn_dtype t) { return t == ELATTN_F32 ? "<f4" : t == ELATTN_F16 ? "<f2" : "<u2"; }

/* shape[i] < 0: any size. */
static int expect_shape(const cli *c, const npy_array *a, const char *file, int ndim, const int64_t *shape)
{
    int ok = a->ndim == ndim;
    for (int i = 0; ok && i < ndim; ++i) ok = shape[i] < 0 || a->shape[i] == shape[i];
    if (ok) return 0;
    char want[160] = "(", got[160] = "(";
    for (int i = 0; i < ndim; ++i) {
        size_t u = strlen(want);
        const char *sep = i + 1 < ndim ? "," : "";
        if (shape[i] < 0) snprintf(want + u, sizeof want - u, "*%s", sep);
        else snprintf(want + u, sizeof want - u, "%lld%s", (long long)shape[i], sep);
    }
    for (int i = 0; i < a->ndim; ++i) {
        size_t u = strlen(got);
        snprintf(got + u, sizeof got - u, "%lld%s", (long long)a->shape[i], i + 1 < a->ndim ? "," : "");
    }
    strcat(want, ")");
    strcat(got, ")");
    if (a->ndim != ndim) return bad_input(c, "%s: shape %s, expected %d dimensions %s", file, got, ndim, want);
    return bad_input(c, "%s: shape %s, expected %s", file, got, want);
}

/* *out = a * b; nonzero if that does not fit in a size_t. */
static int mul_overflows(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 1;
    *out = a * b;
    return 0;
}

/* One side's cu_seqlens: a file's entries, or the default of one element holding the whole tensor. */
typedef struct seqlens {
    npy_array file;
    int32_t whole[2]; /* the default, in each side's own storage */
    int32_t *cu;
    int batch, max_len;
} seqlens;

/* cu_seqlens from IN/name (int32 [B+1]) or the default [0, total]. Every entry is
 * checked (0 first, never decreasing, `total` last) before a difference is taken. */
static int load_cu(const cli *c, const char *name, int64_t total, seqlens *s)
{
    int found = 0, rc = load(c, name, 1, &s->file, &found);
    if (rc) return rc;
    if (!found) {
        s->whole[0] = 0;
        s->whole[1] = (int32_t)total; /* total is a dimension: at most NPY_MAX_DIM */
        s->cu = s->whole;
        s->batch = 1;
    } else {
        const npy_array *a = &s->file;
        if (strcmp(a->descr, "<i4") || a->ndim != 1)
            return bad_input(c, "%s: must be int32 [batch + 1] (found %s with %d dimensions)", name, a->descr,
                             a->ndim);
        if (a->shape[0] < 2)
            return bad_input(c, "%s: %lld entries; at least 2 (batch + 1) are needed", name, (long long)a->shape[0]);
        s->cu = a->data;
        s->batch = (int)(a->shape[0] - 1);
        if (s->cu[0] != 0) return bad_input(c, "%s: entry 0 is %d; it must be 0", name, (int)s->cu[0]);
        for (int b = 0; b < s->batch; ++b)
            if (s->cu[b + 1] < s->cu[b])
                return bad_input(c, "%s: decreases at entry %d (%d -> %d)", name, b + 1, (int)s->cu[b],
                                 (int)s->cu[b + 1]);
        if (s->cu[s->batch] != total)
            return bad_input(c, "%s: last entry %d, but the tensor has %lld rows", name, (int)s->cu[s->batch],
                             (long long)total);
    }
    /* Entries lie in [0, total] now, so no difference overflows. The descriptor's
     * maximum is the longest element, at least 1 (the library's lower bound). */
    s->max_len = 1;
    for (int b = 0; b < s->batch; ++b)
        if (s->cu[b + 1] - s->cu[b] > s->max_len) s->max_len = s->cu[b + 1] - s->cu[b];
    return 0;
}

/* cu_seqlens_q.npy and cu_seqlens_k.npy (attn and xattn), which must describe the same batch. */
static int load_cu_pair(const cli *c, int64_t total_q, int64_t total_k, seqlens *q, seqlens *k)
{
    int rc;
    if ((rc = load_cu(c, "cu_seqlens_q.npy", total_q, q)) || (rc = load_cu(c, "cu_seqlens_k.npy", total_k, k)))
        return rc;
    if (q->batch != k->batch)
        return bad_input(c, "cu_seqlens_q.npy/cu_seqlens_k.npy: different batch sizes (%d and %d)", q->batch,
                         k->batch);
    return 0;
}

/* The optional modes.npy (attn and xattn): int32 [batch, Hkv]; *found says whether it was there. */
static int load_modes(const cli *c, int batch, int hkv, npy_array *modes, int *found)
{
    int rc = load(c, "modes.npy", 1, modes, found);
    if (rc || !*found) return rc;
    if (strcmp(modes->descr, "<i4")) return bad_input(c, "modes.npy: dtype %s, expected <i4", modes->descr);
    const int64_t shape[2] = {batch, hkv};
    return expect_shape(c, modes, "modes.npy", 2, shape);
}

static int upload(const cli *c, elattn_device *dev, const void *data, size_t bytes, elattn_buffer **out,
                  const char *what)
{
    elattn_status st = elattn_buffer_alloc(dev, bytes ? bytes : 256, out);
    if (!st && bytes) st = elattn_buffer_upload(*out, 0, data, bytes, NULL);
    return st ? lib_failure(c, what, st) : 0;
}

static int alloc(const cli *c, elattn_device *dev, size_t bytes, elattn_buffer **out, const char *what)
{
    elattn_status st = elattn_buffer_alloc(dev, bytes ? bytes : 256, out);
    return st ? lib_failure(c, what, st) : 0;
}

static int download(const cli *c, const elattn_buffer *b, void *dst, size_t bytes, const char *what)
{
    elattn_status st = bytes ? elattn_buffer_download(b, 0, dst, bytes, NULL) : ELATTN_SUCCESS;
    return st ? lib_failure(c, what, st) : 0;
}

static int out_of_memory(const cli *c, const char *what) { return report(c, EXIT_RUN_FAILED, "%s: out of memory", what); }

/* q.npy [total_q, Hq, D], k.npy and v.npy [total_k, Hkv, D], of one dtype (attn and decode). */
static int load_qkv(const cli *c, npy_array *q, npy_array *k, npy_array *v, elattn_dtype *dtype)
{
    elattn_dtype tk = ELATTN_F32, tv = ELATTN_F32;
    int rc;
    if ((rc = load(c, "q.npy", 0, q, NULL)) || (rc = load(c, "k.npy", 0, k, NULL)) ||
        (rc = load(c, "v.npy", 0, v, NULL)))
        return rc;
    if ((rc = dtype_of(c, q, "q.npy", dtype)) || (rc = dtype_of(c, k, "k.npy", &tk)) ||
        (rc = dtype_of(c, v, "v.npy", &tv)))
        return rc;
    if (tk != *dtype || tv != *dtype) return bad_input(c, "k.npy/v.npy: dtype differs from q.npy's %s", q->descr);
    const int64_t any3[3] = {-1, -1, -1};
    if ((rc = expect_shape(c, q, "q.npy", 3, any3)) || (rc = expect_shape(c, k, "k.npy", 3, any3))) return rc;
    const int64_t kv_shape[3] = {k->shape[0], k->shape[1], q->shape[2]};
    if ((rc = expect_shape(c, k, "k.npy", 3, kv_shape)) || (rc = expect_shape(c, v, "v.npy", 3, kv_shape))) return rc;
    return 0;
}

/* o.npy (q's shape and dtype) from bo, and with --lse lse.npy (float32 [total_q, Hq]) from blse. */
static int save_o_lse(const cli *c, const elattn_buffer *bo, const elattn_buffer *blse, const npy_array *q,
                      elattn_dtype dtype)
{
    const size_t o_bytes = q->count * elattn_dtype_size(dtype), lse_n = (size_t)q->shape[0] * (size_t)q->shape[1];
    void *o = malloc(o_bytes ? o_bytes : 1);
    float *lse = malloc(sizeof(float) * (lse_n ? lse_n : 1));
    int rc = !o || !lse ? out_of_memory(c, "o") : download(c, bo, o, o_bytes, "o");
    if (!rc) rc = save(c, "o.npy", descr_of(dtype), 3, q->shape, o);
    if (!rc && c->lse) {
        const int64_t ls[2] = {q->shape[0], q->shape[1]};
        if (!(rc = download(c, blse, lse, lse_n * 4, "lse"))) rc = save(c, "lse.npy", "<f4", 2, ls, lse);
    }
    free(o), free(lse);
    return rc;
}

/* ---- attn ----------------------------------------------------------------------------- */
static int cmd_attn(const cli *c, elattn_device *dev)
{
    npy_array q = {0}, k = {0}, v = {0}, modes = {0}, mask = {0};
    seqlens sq = {0}, sk = {0};
    elattn_buffer *bq = NULL, *bk = NULL, *bv = NULL, *bo = NULL, *blse = NULL, *bmask = NULL, *ws = NULL;
    elattn_attn_plan *plan = NULL;
    int32_t *mode_table = NULL;
    int rc, have_modes = 0, have_mask = 0;
    elattn_dtype dtype = ELATTN_F32;

    if ((rc = load_qkv(c, &q, &k, &v, &dtype))) goto done;
    if ((rc = load_cu_pair(c, q.shape[0], k.shape[0], &sq, &sk))) goto done;
    int batch = sq.batch, hq = (int)q.shape[1], hkv = (int)k.shape[1], D = (int)q.shape[2];
    if ((rc = load_modes(c, batch, hkv, &modes, &have_modes))) goto done;
    elattn_attn_desc desc = {
        .struct_size = sizeof(elattn_attn_desc),
        .dtype = dtype, .head_dim = D, .num_q_heads = hq, .num_kv_heads = hkv, .batch = batch,
        .max_seqlen_q = sq.max_len, .max_seqlen_k = sk.max_len, .causal = c->causal, .scale = c->scale,
        .sink = c->sink, .local = c->local, .block_size = c->block, .write_lse = c->lse,
    };
    /* The plan bounds batch, heads and block size: allocations sized from them come after it. */
    elattn_status st = elattn_attn_plan_create(dev, &desc, NULL, &plan);
    if (st) {
        rc = lib_failure(c, "plan", st);
        goto done;
    }
    if (have_modes) {
        mode_table = modes.data;
    } else {
        mode_table = calloc((size_t)batch * (size_t)hkv, sizeof(int32_t)); /* all FULL */
        if (!mode_table) {
            rc = out_of_memory(c, "modes");
            goto done;
        }
    }
    if ((rc = load(c, "block_mask.npy", 1, &mask, &have_mask))) goto done;
    if (have_mask) {
        const int64_t ms[4] = {batch, hkv, (sq.max_len + c->block - 1) / c->block,
                               (sk.max_len + c->block - 1) / c->block};
        if (strcmp(mask.descr, "|u1") && strcmp(mask.descr, "<u1") && strcmp(mask.descr, "|b1")) {
            rc = bad_input(c, "block_mask.npy: dtype %s, expected uint8", mask.descr);
            goto done;
        }
        /* The expected shape depends on --block: say so, since a mask made for another block
         * size is the likely mistake. */
        char label[96];
        snprintf(label, sizeof label, "block_mask.npy ([batch, Hkv, query blocks, key blocks] of --block %d)", c->block);
        if ((rc = expect_shape(c, &mask, label, 4, ms))) goto done;
        if ((rc = upload(c, dev, mask.data, mask.count, &bmask, "block_mask"))) goto done;
    }
    /* The byte counts are those of files already read: they fit in memory. */
    size_t es = elattn_dtype_size(dtype), o_bytes = q.count * es, lse_n = (size_t)q.shape[0] * (size_t)hq;
    size_t ws_bytes = elattn_attn_plan_workspace_size(plan);
    if ((rc = upload(c, dev, q.data, o_bytes, &bq, "q")) || (rc = upload(c, dev, k.data, k.count * es, &bk, "k")) ||
        (rc = upload(c, dev, v.data, v.count * es, &bv, "v")) || (rc = alloc(c, dev, o_bytes, &bo, "o")) ||
        (c->lse && (rc = alloc(c, dev, lse_n * 4, &blse, "lse"))) ||
        (ws_bytes && (rc = alloc(c, dev, ws_bytes, &ws, "workspace"))))
        goto done;
    elattn_attn_args args = {.struct_size = sizeof(elattn_attn_args), .q = bq, .k = bk, .v = bv, .o = bo, .lse = blse, .cu_seqlens_q = sq.cu,
                             .cu_seqlens_k = sk.cu, .modes = mode_table, .block_mask = bmask, .workspace = ws};
    if ((st = elattn_attn_run(plan, NULL, &args))) {
        rc = lib_failure(c, "run", st);
        goto done;
    }
    if ((rc = save_o_lse(c, bo, blse, &q, dtype))) goto done;
    fprintf(c->io->out, "attn: kernel %s, %d element(s), Hq %d, Hkv %d, D %d, %s\n",
            elattn_attn_plan_kernel_name(plan), batch, hq, hkv, D, elattn_dtype_name(dtype));
done:
    elattn_buffer_free(bq), elattn_buffer_free(bk), elattn_buffer_free(bv), elattn_buffer_free(bo);
    elattn_buffer_free(blse), elattn_buffer_free(bmask), elattn_buffer_free(ws);
    elattn_attn_plan_destroy(plan);
    if (!have_modes) free(mode_table);
    npy_free(&q), npy_free(&k), npy_free(&v), npy_free(&sq.file), npy_free(&sk.file), npy_free(&modes);
    npy_free(&mask);
    return rc;
}

/* ---- xattn ----------------------------------------------------------------------------- */
static int cmd_xattn(const cli *c, elattn_device *dev)
{
    npy_array q = {0}, k = {0}, modes = {0}, taus = {0};
    seqlens sq = {0}, sk = {0};
    elattn_buffer *bq = NULL, *bk = NULL, *bmask = NULL, *ws = NULL;
    elattn_xattn_plan *plan = NULL;
    uint8_t *mask = NULL;
    int rc, have_modes = 0, have_taus = 0;
    elattn_dtype dtype = ELATTN_F32, tk = ELATTN_F32;

    if ((rc = load(c, "q.npy", 0, &q, NULL)) || (rc = load(c, "k.npy", 0, &k, NULL))) goto done;
    if ((rc = dtype_of(c, &q, "q.npy", &dtype)) || (rc = dtype_of(c, &k, "k.npy", &tk))) goto done;
    if (tk != dtype) {
        rc = bad_input(c, "k.npy: dtype differs from q.npy's %s", q.descr);
        goto done;
    }
    const int64_t any3[3] = {-1, -1, -1};
    if ((rc = expect_shape(c, &q, "q.npy", 3, any3))) goto done;
    const int64_t ks[3] = {-1, -1, q.shape[2]};
    if ((rc = expect_shape(c, &k, "k.npy", 3, ks))) goto done;
    if ((rc = load_cu_pair(c, q.shape[0], k.shape[0], &sq, &sk))) goto done;
    int batch = sq.batch, hq = (int)q.shape[1], hkv = (int)k.shape[1], D = (int)q.shape[2];
    if ((rc = load_modes(c, batch, hkv, &modes, &have_modes))) goto done;
    if ((rc = load(c, "taus.npy", 1, &taus, &have_taus))) goto done;
    if (have_taus && c->have_tau) {
        rc = bad_input(c, "give --tau or taus.npy, not both");
        goto done;
    }
    if (have_taus && (strcmp(taus.descr, "<f4") || taus.ndim != 1)) {
        rc = bad_input(c, "taus.npy: must be float32 [Hkv] (found %s with %d dimensions)", taus.descr, taus.ndim);
        goto done;
    }
    elattn_xattn_desc desc = {
        .struct_size = sizeof(elattn_xattn_desc),
        .dtype = dtype, .head_dim = D, .num_q_heads = hq, .num_kv_heads = hkv, .batch = batch,
        .max_seqlen_q = sq.max_len, .max_seqlen_k = sk.max_len, .causal = c->causal, .scale = c->scale,
        .stride = c->stride, .block_size = c->block,
    };
    elattn_status st = elattn_xattn_plan_create(dev, &desc, NULL, &plan);
    if (st) {
        rc = lib_failure(c, "plan", st);
        goto done;
    }
    /* The mask's cell count is a product of four bounded values that may still exceed a size_t. */
    int64_t nqb = (sq.max_len + c->block - 1) / c->block, nkb = (sk.max_len + c->block - 1) / c->block;
    size_t mask_bytes, es = elattn_dtype_size(dtype);
    if (mul_overflows((size_t)batch, (size_t)hkv, &mask_bytes) ||
        mul_overflows(mask_bytes, (size_t)nqb, &mask_bytes) || mul_overflows(mask_bytes, (size_t)nkb, &mask_bytes)) {
        rc = bad_input(c, "block mask [%d, %d, %lld, %lld]: too large for this machine", batch, hkv, (long long)nqb,
                       (long long)nkb);
        goto done;
    }
    size_t ws_bytes = elattn_xattn_plan_workspace_size(plan);
    /* Entries that are not BLOCK_SPARSE are left as they were: zeros here. */
    mask = calloc(mask_bytes ? mask_bytes : 1, 1);
    if (!mask) {
        rc = out_of_memory(c, "block_mask");
        goto done;
    }
    if ((rc = upload(c, dev, q.data, q.count * es, &bq, "q")) || (rc = upload(c, dev, k.data, k.count * es, &bk, "k")) ||
        (rc = upload(c, dev, mask, mask_bytes, &bmask, "block_mask")) ||
        (ws_bytes && (rc = alloc(c, dev, ws_bytes, &ws, "workspace"))))
        goto done;
    elattn_xattn_args args = {
        .struct_size = sizeof(elattn_xattn_args),
        .q = bq, .k = bk, .cu_seqlens_q = sq.cu, .cu_seqlens_k = sk.cu, .modes = have_modes ? modes.data : NULL,
        .thresholds = have_taus ? taus.data : &c->tau, .num_thresholds = have_taus ? (int)taus.shape[0] : 1,
        .block_mask = bmask, .workspace = ws,
    };
    if ((st = elattn_xattn_run(plan, NULL, &args))) {
        rc = lib_failure(c, "run", st);
        goto done;
    }
    const int64_t shape[4] = {batch, hkv, nqb, nkb};
    if ((rc = download(c, bmask, mask, mask_bytes, "block_mask")) ||
        (rc = save(c, "block_mask.npy", "|u1", 4, shape, mask)))
        goto done;
    fprintf(c->io->out, "xattn: kernel %s, mask [%d, %d, %lld, %lld]\n", elattn_xattn_plan_kernel_name(plan), batch,
            hkv, (long long)nqb, (long long)nkb);
done:
    elattn_buffer_free(bq), elattn_buffer_free(bk), elattn_buffer_free(bmask), elattn_buffer_free(ws);
    elattn_xattn_plan_destroy(plan);
    npy_free(&q), npy_free(&k), npy_free(&sq.file), npy_free(&sk.file), npy_free(&modes), npy_free(&taus);
    free(mask);
    return rc;
}

/* ---- decode ------------------------------------------------------------------------------ */
/* One decode step over a per-head KV cache (kernels/SPEC.md section 9): k.npy / v.npy hold each
 * sequence's whole history [sum of lengths, Hkv, D] (cu_seqlens_k.npy), whose last n_b rows are the
 * step's new tokens, with their queries in q.npy [sum of n_b, Hq, D] (cu_seqlens_q.npy); modes.npy
 * [batch, Hkv] (default FULL). The history goes into a cache in one append (the state a prefill
 * and any number of steps would leave: the cache keeps what each head's mode will read), then one
 * decode run: o.npy (and lse.npy with --lse). */
static int cmd_decode(const cli *c, elattn_device *dev)
{
    npy_array q = {0}, k = {0}, v = {0}, modes = {0};
    seqlens sq = {0}, sk = {0};
    elattn_buffer *bq = NULL, *bk = NULL, *bv = NULL, *bo = NULL, *blse = NULL;
    elattn_kv_cache *cache = NULL;
    elattn_decode_plan *plan = NULL;
    int32_t *mode_table = NULL, *ids = NULL, *lens = NULL, *news = NULL;
    int rc, have_modes = 0;
    elattn_dtype dtype = ELATTN_F32;

    if ((rc = load_qkv(c, &q, &k, &v, &dtype))) goto done;
    if ((rc = load_cu_pair(c, q.shape[0], k.shape[0], &sq, &sk))) goto done;
    const int batch = sq.batch, hq = (int)q.shape[1], hkv = (int)k.shape[1], D = (int)q.shape[2];
    if ((rc = load_modes(c, batch, hkv, &modes, &have_modes))) goto done;
    /* Per sequence: its history (>= 1) and new tokens (1..16, no more than the history). */
    for (int b = 0; b < batch; ++b) {
        const int n = sq.cu[b + 1] - sq.cu[b], len = sk.cu[b + 1] - sk.cu[b];
        if (n < 1 || n > ELATTN_DECODE_MAX_NEW_TOKENS || n > len) {
            rc = bad_input(c, "cu_seqlens_q.npy: sequence %d has %d new tokens and a history of %d "
                              "(cu_seqlens_k.npy); 1..%d new tokens, no more than the history", b, n, len,
                           ELATTN_DECODE_MAX_NEW_TOKENS);
            goto done;
        }
    }
    if (c->page < 1 || c->page > 4096) { /* the cache checks the power of two; here, what the pool's size needs */
        rc = bad_input(c, "--page: %d is outside [1, 4096]", c->page);
        goto done;
    }
    /* Pages for every head's whole history: at most batch * Hkv * ceil(longest / P). */
    const int64_t pages = (int64_t)batch * hkv * ((sk.max_len + c->page - 1) / c->page);
    if (pages > 2147483647) {
        rc = bad_input(c, "k.npy: %lld pages of %d tokens do not fit a cache's page count", (long long)pages, c->page);
        goto done;
    }
    elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = dtype, .head_dim = D, .num_kv_heads = hkv,
                               .page_size = c->page, .num_pages = (int)(pages ? pages : 1), .max_sequences = batch,
                               .max_tokens = sk.max_len, .sink = c->sink, .local = c->local,
                               .max_new_tokens = sq.max_len, .page_summaries = c->page_budget > 0};
    elattn_status st = elattn_kv_cache_create(dev, &cd, &cache);
    if (st) {
        rc = lib_failure(c, "cache", st);
        goto done;
    }
    elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = hq, .max_batch = batch, .scale = c->scale,
                             .write_lse = c->lse, .num_splits = c->splits, .page_budget = c->page_budget};
    if ((st = elattn_decode_plan_create(cache, &dd, NULL, &plan))) {
        rc = lib_failure(c, "plan", st);
        goto done;
    }
    /* The plan and cache bound batch and heads: allocations sized from them come after. */
    mode_table = have_modes ? NULL : calloc((size_t)batch * (size_t)hkv, sizeof(int32_t)); /* all FULL */
    ids = malloc(sizeof(int32_t) * (size_t)batch), lens = malloc(sizeof(int32_t) * (size_t)batch),
    news = malloc(sizeof(int32_t) * (size_t)batch);
    if ((!have_modes && !mode_table) || !ids || !lens || !news) {
        rc = out_of_memory(c, "decode metadata");
        goto done;
    }
    for (int b = 0; b < batch; ++b)
        ids[b] = b, lens[b] = sk.cu[b + 1] - sk.cu[b], news[b] = sq.cu[b + 1] - sq.cu[b];
    const size_t es = elattn_dtype_size(dtype), o_bytes = q.count * es, lse_n = (size_t)q.shape[0] * (size_t)hq;
    if ((rc = upload(c, dev, q.data, o_bytes, &bq, "q")) || (rc = upload(c, dev, k.data, k.count * es, &bk, "k")) ||
        (rc = upload(c, dev, v.data, v.count * es, &bv, "v")) || (rc = alloc(c, dev, o_bytes, &bo, "o")) ||
        (c->lse && (rc = alloc(c, dev, lse_n * 4, &blse, "lse"))))
        goto done;
    elattn_kv_append_args aa = {.struct_size = sizeof aa, .num_seqs = batch, .seq_ids = ids, .num_tokens = lens,
                                .modes = have_modes ? modes.data : mode_table, .k = bk, .v = bv};
    if ((st = elattn_kv_cache_append(cache, NULL, &aa))) {
        rc = lib_failure(c, "append", st);
        goto done;
    }
    elattn_decode_args da = {.struct_size = sizeof da, .num_seqs = batch, .seq_ids = ids, .num_new = news, .q = bq,
                             .o = bo, .lse = blse};
    if ((st = elattn_decode_run(plan, cache, NULL, &da))) {
        rc = lib_failure(c, "run", st);
        goto done;
    }
    if ((rc = save_o_lse(c, bo, blse, &q, dtype))) goto done;
    size_t held = 0;
    elattn_kv_cache_bytes(cache, &held);
    fprintf(c->io->out, "decode: kernel %s, %d sequence(s), Hq %d, Hkv %d, D %d, %s, page %d, splits %d, page budget %d, "
            "%zu bytes of cache\n", elattn_decode_plan_kernel(plan), batch, hq, hkv, D, elattn_dtype_name(dtype), c->page,
            elattn_decode_plan_splits(plan), c->page_budget, held);
done:
    elattn_buffer_free(bq), elattn_buffer_free(bk), elattn_buffer_free(bv), elattn_buffer_free(bo);
    elattn_buffer_free(blse);
    elattn_decode_plan_destroy(plan);
    elattn_kv_cache_destroy(cache);
    npy_free(&q), npy_free(&k), npy_free(&v), npy_free(&sq.file), npy_free(&sk.file), npy_free(&modes);
    free(mode_table), free(ids), free(lens), free(news);
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
    npy_array keys = {0}, w[10];
    seqlens sc = {0};
    memset(w, 0, sizeof w);
    elattn_buffer *bkeys = NULL, *bw[10] = {0}, *blogits = NULL, *ws = NULL;
    elattn_router_plan *plan = NULL;
    int32_t *modes = NULL;
    float *logits = NULL;
    int rc;
    elattn_dtype dtype = ELATTN_F32;
    elattn_mode retrieval, sparse;

    const char *comma = strchr(c->modes, ',');
    if (!comma || !mode_by_name(c->modes, (size_t)(comma - c->modes), &retrieval) ||
        !mode_by_name(comma + 1, strlen(comma + 1), &sparse))
        return bad_input(c, "--modes: \"%s\" is not RETRIEVAL,SPARSE (full, streaming, block_sparse)", c->modes);
    if ((rc = load(c, "keys.npy", 0, &keys, NULL)) || (rc = dtype_of(c, &keys, "keys.npy", &dtype))) goto done;
    const int64_t any3[3] = {-1, -1, -1};
    if ((rc = expect_shape(c, &keys, "keys.npy", 3, any3))) goto done;
    if ((rc = load_cu(c, "cu_seqlens.npy", keys.shape[0], &sc))) goto done;
    for (int i = 0; i < 10; ++i) {
        if ((rc = load(c, wnames[i], 0, &w[i], NULL))) goto done;
        if (strcmp(w[i].descr, "<f4")) {
            rc = bad_input(c, "%s: dtype %s, expected float32 <f4", wnames[i], w[i].descr);
            goto done;
        }
    }
    int batch = sc.batch, hkv = (int)keys.shape[1], D = (int)keys.shape[2];
    if (w[0].ndim != 2) {
        rc = bad_input(c, "task_w1.npy: must be [hidden, D] (found %d dimensions)", w[0].ndim);
        goto done;
    }
    int hidden = (int)w[0].shape[0];
    const int64_t shapes[10][2] = {{hidden, D}, {hidden, 0}, {D, hidden}, {D, 0}, {hidden, D},
                                   {hidden, 0}, {D, hidden}, {D, 0},      {2, D}, {2, 0}};
    for (int i = 0; i < 10; ++i)
        if ((rc = expect_shape(c, &w[i], wnames[i], i % 2 ? 1 : 2, shapes[i]))) goto done;
    elattn_router_desc desc = {.struct_size = sizeof(elattn_router_desc), .key_dtype = dtype, .head_dim = D, .hidden = hidden, .num_kv_heads = hkv,
                               .batch = batch, .max_seqlen = sc.max_len, .retrieval_mode = retrieval,
                               .sparse_mode = sparse};
    elattn_status st = elattn_router_plan_create(dev, &desc, NULL, &plan);
    if (st) {
        rc = lib_failure(c, "plan", st);
        goto done;
    }
    size_t entries = (size_t)batch * (size_t)hkv, ws_bytes = elattn_router_plan_workspace_size(plan);
    if ((rc = upload(c, dev, keys.data, keys.count * elattn_dtype_size(dtype), &bkeys, "keys"))) goto done;
    for (int i = 0; i < 10; ++i)
        if ((rc = upload(c, dev, w[i].data, w[i].count * 4, &bw[i], wnames[i]))) goto done;
    if ((rc = alloc(c, dev, entries * 2 * 4, &blogits, "logits")) ||
        (ws_bytes && (rc = alloc(c, dev, ws_bytes, &ws, "workspace"))))
        goto done;
    modes = malloc(sizeof(int32_t) * (entries ? entries : 1));
    logits = malloc(sizeof(float) * 2 * (entries ? entries : 1));
    if (!modes || !logits) {
        rc = out_of_memory(c, "modes/logits");
        goto done;
    }
    elattn_router_args args = {.struct_size = sizeof(elattn_router_args), .keys = bkeys, .cu_seqlens = sc.cu,
                               .weights = {bw[0], bw[1], bw[2], bw[3], bw[4], bw[5], bw[6], bw[7], bw[8], bw[9]},
                               .logits = blogits, .modes = modes, .workspace = ws};
    if ((st = elattn_router_run(plan, NULL, &args))) {
        rc = lib_failure(c, "run", st);
        goto done;
    }
    const int64_t ms[2] = {batch, hkv}, ls[3] = {batch, hkv, 2};
    if ((rc = download(c, blogits, logits, entries * 2 * 4, "logits")) ||
        (rc = save(c, "modes.npy", "<i4", 2, ms, modes)) || (rc = save(c, "logits.npy", "<f4", 3, ls, logits)))
        goto done;
    fprintf(c->io->out, "router: kernel %s, %d element(s), Hkv %d, D %d, hidden %d\n",
            elattn_router_plan_kernel_name(plan), batch, hkv, D, hidden);
done:
    elattn_buffer_free(bkeys), elattn_buffer_free(blogits), elattn_buffer_free(ws);
    for (int i = 0; i < 10; ++i) elattn_buffer_free(bw[i]), npy_free(&w[i]);
    elattn_router_plan_destroy(plan);
    npy_free(&keys), npy_free(&sc.file);
    free(modes);
    free(logits);
    return rc;
}

int elattn_run_main(int argc, char **argv, const elattn_run_io *io)
{
    cli c;
    memset(&c, 0, sizeof c);
    c.io = io;
    int rc = parse(argc, argv, &c);
    if (rc == EXIT_HELP) return 0;
    if (rc) return rc;
    elattn_device *dev = NULL;
    elattn_status st = elattn_device_open_by_name(c.backend, &dev);
    if (st) return lib_failure(&c, "--backend", st);
    if (!strcmp(c.command, "attn")) rc = cmd_attn(&c, dev);
    else if (!strcmp(c.command, "xattn")) rc = cmd_xattn(&c, dev);
    else if (!strcmp(c.command, "decode")) rc = cmd_decode(&c, dev);
    else rc = cmd_router(&c, dev);
    elattn_device_close(dev);
    return rc;
}

/* ---- the program: files under --in and --out ------------------------------------------- */
#ifndef ELATTN_RUN_NO_MAIN
static int path_of(char *buf, size_t n, const char *dir, const char *name, char *err, size_t err_n)
{
    if ((size_t)snprintf(buf, n, "%s/%s", dir, name) < n) return 0;
    snprintf(err, err_n, "%.200s...: path longer than %zu bytes", dir, n - 1);
    return 1;
}

static npy_result file_load(void *ctx, const char *dir, const char *name, npy_array *a, char *err, size_t n)
{
    char path[4096];
    (void)ctx;
    if (path_of(path, sizeof path, dir, name, err, n)) return NPY_IO;
    return npy_load(path, a, err, n);
}

static npy_result file_save(void *ctx, const char *dir, const char *name, const char *descr, int ndim,
                            const int64_t *shape, const void *data, char *err, size_t n)
{
    char path[4096];
    (void)ctx;
    if (path_of(path, sizeof path, dir, name, err, n)) return NPY_IO;
    const npy_result r = npy_save(path, descr, ndim, shape, data, err, n);
    if (r != NPY_OK && n > 0) { /* name the argument: a missing --out directory is the usual cause */
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, n, "--out %s: %s", dir, why);
    }
    return r;
}

int main(int argc, char **argv)
{
    const elattn_run_io io = {file_load, file_save, NULL, stdout, stderr};
    return elattn_run_main(argc, argv, &io);
}
#endif

/*
 * The checks: tolerances, guarded output buffers and the attention comparison.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

/* ---- tolerances ----------------------------------------------------------------
 * Both sides read the same rounded inputs, so the difference comes from (a) the
 * rounding of O to its dtype on each side, (b) kernels that round the softmax
 * probabilities P to the input dtype before the P.V product (tensor-core and
 * MFMA kernels do), and (c) fp32 accumulation in a different order. With u the
 * unit roundoff of the dtype (f16 2^-11, bf16 2^-8), (a) and (b) give an rms
 * relative error near 0.8 u; the nmse limit 4 u^2 leaves a factor 6 of
 * margin and nothing more. For max |error| the bound is (a) u|O| twice plus
 * (b) u max|V|, so 8 u max|V| (O is a convex combination of V rows).
 * fp32 has no rounding to speak of: (c) dominates, about sqrt(L) u relative
 * for L keys (4e-6 at L = 4096), so nmse 1e-10 and max 1e-5 max|V|; TF32
 * matrix units would fail this, on purpose (nmse ~1e-7).
 * LSE is fp32 for every dtype and sees only (c): 5e-5 max(1, |LSE|). A kernel
 * that writes LSE off by 1e-3 relative (reference.attn.fault_lse) is 20x over.
 * Do not change these to make a backend pass; if a kernel is right and a
 * limit is wrong, write down why next to the new value. */
static const conf_tolerance tolerances[] = {
    [ELATTN_F32] = {.nmse = 1e-10, .max_rel = 1e-5, .lse_rel = 5e-5},
    [ELATTN_F16] = {.nmse = 4.0 * 0x1p-22 /* 9.5e-7 */, .max_rel = 8.0 * 0x1p-11 /* 3.9e-3 */, .lse_rel = 5e-5},
    [ELATTN_BF16] = {.nmse = 4.0 * 0x1p-16 /* 6.1e-5 */, .max_rel = 8.0 * 0x1p-8 /* 3.1e-2 */, .lse_rel = 5e-5},
};

const conf_tolerance *conf_tolerance_of(elattn_dtype dtype) { return &tolerances[dtype]; }

/* XAttention scores are fp32 softmax sums on every backend (errors ~1e-6 of a
 * row's total); a decision whose margin is below 1e-4 of the row total may go
 * either way. */
const double conf_xattn_margin_eps = 1e-4;

/* Router: fp32 sums of at most a few hundred terms (D <= 256, hidden <= 1024):
 * relative error well below 1e-5, limit 1e-4. */
const double conf_router_logit_tol = 1e-4;

/* ---- small helpers ------------------------------------------------------------- */
void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "elattn-conformance: out of host memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "elattn-conformance: out of host memory (%zu x %zu bytes)\n", n, size);
        exit(1);
    }
    return p;
}

elattn_status upload_new(elattn_device *dev, const void *host, size_t bytes, elattn_buffer **out)
{
    /* Zero-byte tensors (an empty batch) still get a buffer: the API takes none of size 0. */
    size_t alloc = bytes ? bytes : 256;
    elattn_status st = elattn_buffer_alloc(dev, alloc, out);
    if (st != ELATTN_SUCCESS) return st;
    if (bytes) st = elattn_buffer_upload(*out, 0, host, bytes, NULL);
    if (st != ELATTN_SUCCESS) {
        elattn_buffer_free(*out);
        *out = NULL;
    }
    return st;
}

elattn_status lengths_batch_make(elattn_device *dev, elattn_dtype dtype, int heads, int batch, int max_q, int max_k,
                                 const int32_t *cu_q, const int32_t *cu_k, lengths_batch *out)
{
    const elattn_attn_desc ad = {.struct_size = sizeof ad, .dtype = dtype, .head_dim = 64, .num_q_heads = heads,
                                 .num_kv_heads = heads, .batch = batch, .max_seqlen_q = max_q, .max_seqlen_k = max_k,
                                 .causal = 1, .local = 1, .block_size = 64};
    elattn_status st = elattn_attn_plan_create(dev, &ad, NULL, &out->plan);
    if (!st) st = elattn_attn_batch_create(out->plan, cu_q, cu_k, &out->batch);
    return st;
}

void lengths_batch_free(lengths_batch *l)
{
    elattn_attn_batch_destroy(l->batch); /* before its plan */
    elattn_attn_plan_destroy(l->plan);
    l->batch = NULL, l->plan = NULL;
}

void result_fail(case_result *r, const char *fmt, ...)
{
    r->status = ST_FAIL;
    size_t used = strlen(r->detail);
    if (used + 3 >= sizeof r->detail) return;
    if (used) {
        strcat(r->detail, "; ");
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail + used, sizeof r->detail - used, fmt, ap);
    va_end(ap);
}

void result_note(case_result *r, const char *fmt, ...)
{
    size_t used = strlen(r->detail);
    if (used + 3 >= sizeof r->detail) return;
    if (used) {
        strcat(r->detail, "; ");
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail + used, sizeof r->detail - used, fmt, ap);
    va_end(ap);
}

/* ---- attention comparison ------------------------------------------------------------ */
void conf_compare_attn(const attn_compare_in *in, case_result *r)
{
    const conf_case *c = in->c;
    const conf_tolerance *tol = conf_tolerance_of(c->call.dtype);
    size_t rows = (size_t)in->total_q * c->call.hq, D = (size_t)c->call.head_dim;
    double err2 = 0, ref2 = 0, max_err = 0;
    size_t nan_o = 0, nonzero_empty = 0, ref_zeros = 0, ref_counted = 0;
    size_t lse_nan = 0, lse_inf_mismatch = 0, ref_bad = 0;
    double lse_max = 0;

    for (size_t row = 0; row < rows; ++row) {
        const float *a = in->o_dut + row * D, *b = in->o_ref + row * D;
        for (size_t d = 0; d < D; ++d) {
            if (!isfinite(a[d])) {
                nan_o++;
                continue;
            }
            if (!isfinite(b[d])) { /* the oracle is broken: never compare against it */
                ref_bad++;
                continue;
            }
            if (in->row_empty[row]) {
                /* No visible key: exactly 0 (not a tiny value, not NaN). */
                if (a[d] != 0.0f || b[d] != 0.0f) nonzero_empty++;
                continue;
            }
            double e = (double)a[d] - (double)b[d];
            err2 += e * e;
            ref2 += (double)b[d] * b[d];
            if (fabs(e) > max_err) max_err = fabs(e);
            ref_counted++;
            ref_zeros += b[d] == 0.0f;
        }
        if (in->lse_ref) {
            float la = in->lse_dut[row], lb = in->lse_ref[row];
            if (isnan(la)) {
                lse_nan++;
            } else if (isnan(lb)) {
                ref_bad++;
            } else if (isinf(lb) || isinf(la)) {
                if (la != lb) lse_inf_mismatch++;
            } else {
                double e = fabs((double)la - lb) / fmax(1.0, fabs((double)lb));
                if (e > lse_max) lse_max = e;
            }
        }
    }
    /* nmse over rows that have visible keys; empty rows are checked exactly above. */
    r->nmse = ref2 > 0 ? err2 / ref2 : err2;
    r->max_err = max_err;

    if (ref_bad) result_fail(r, "bad case: %zu non-finite values in the reference's output", ref_bad);
    if (nan_o) result_fail(r, "%zu non-finite values in O (unwritten output reads as NaN)", nan_o);
    if (nonzero_empty) result_fail(r, "%zu values of rows without visible keys are not exactly 0", nonzero_empty);
    if (r->nmse > tol->nmse) result_fail(r, "nmse %.3g > %.3g", r->nmse, tol->nmse);
    double max_limit = tol->max_rel * (in->max_abs_v > 0 ? in->max_abs_v : 1.0);
    if (max_err > max_limit) result_fail(r, "max err %.3g > %.3g", max_err, max_limit);
    if (lse_nan) result_fail(r, "%zu NaN in LSE", lse_nan);
    if (lse_inf_mismatch) result_fail(r, "%zu LSE values where exactly one side is -inf/inf", lse_inf_mismatch);
    if (in->lse_ref && lse_max > tol->lse_rel)
        result_fail(r, "LSE rel err %.3g > %.3g", lse_max, tol->lse_rel);
    /* A reference that is mostly zeros where values are expected makes every
     * comparison weak (benchdnn's "zero trust"): the case is bad, not passed. */
    if (ref_counted && ref_zeros * 2 > ref_counted)
        result_fail(r, "bad case: %.0f%% of the reference's expected-nonzero output is exactly 0",
                    100.0 * (double)ref_zeros / (double)ref_counted);
}

void result_from_status(case_result *r, elattn_status st, const char *what)
{
    if (st == ELATTN_ERROR_UNSUPPORTED) {
        r->status = ST_UNSUPPORTED;
        result_note(r, "%s: unsupported: %s", what, elattn_last_error());
    } else {
        result_fail(r, "%s: %s: %s", what, elattn_status_string(st), elattn_last_error());
    }
}

float *to_f32(elattn_dtype dtype, const void *src, size_t n)
{
    float *out = xmalloc(sizeof(float) * n);
    if (n && elattn_convert(ELATTN_F32, out, dtype, src, n) != ELATTN_SUCCESS) {
        fprintf(stderr, "elattn-conformance: elattn_convert failed: %s\n", elattn_last_error());
        exit(1);
    }
    return out;
}

void *random_tensor(kit_rng *rng, elattn_dtype dtype, size_t n, double sigma, float **f32)
{
    void *out = xmalloc(elattn_dtype_size(dtype) * n);
    float *rounded = f32 ? xmalloc(sizeof(float) * n) : NULL;
    if (kit_random_tensor(rng, dtype, n, sigma, out, rounded) != ELATTN_SUCCESS) {
        fprintf(stderr, "elattn-conformance: elattn_convert failed: %s\n", elattn_last_error());
        exit(1);
    }
    if (f32) *f32 = rounded;
    return out;
}

/*
 * One case of a shape: the fused call, XAttention's selection (whose masks
 * feed the BLOCK_SPARSE heads), serial dispatch (serial.c), the exact pair
 * counts, and the output check that costs no extra run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "elattn_spec.h" /* elattn_row_visible_keys: the walk's exact pair counts */
#include "kit_values.h"

#define CHECK_ROWS 64               /* tokens per sampled region of O (output check) */
#define CHECK_ALL_BYTES (64u << 20) /* O up to this size is checked whole */

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
    const int32_t *block_table; /* --page-size: identity table; NULL packed */
} fused_ctx;

static elattn_status run_fused(void *p, int set)
{
    fused_ctx *f = p;
    elattn_attn_args a = {
        .struct_size = sizeof(elattn_attn_args),
        .q = f->sh->q[set], .k = f->sh->k[set], .v = f->sh->v[set], .o = f->sh->o[set],
        .cu_seqlens_q = f->sh->cu_q, .cu_seqlens_k = f->sh->cu_k, .modes = f->modes,
        .block_mask = f->masks ? f->masks[set] : NULL, .workspace = f->workspace, .block_table = f->block_table,
    };
    return elattn_attn_run(f->plan, f->bd->stream, &a);
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
        .struct_size = sizeof(elattn_xattn_args),
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

void fill_case_header(result *r, const config *c, const bench_dev *bd, const shape *sh, const mix *m,
                             int block)
{
    snprintf(r->device_id, sizeof r->device_id, "%s", bd->info.id);
    snprintf(r->device_name, sizeof r->device_name, "%s", bd->info.name);
    snprintf(r->backend, sizeof r->backend, "%s", elattn_backend_name(bd->info.backend));
    r->lead_tokens = bd->lead.tokens;
    r->dtype = sh->call.dtype;
    r->head_dim = sh->call.head_dim, r->hq = sh->call.hq, r->hkv = sh->call.hkv, r->seqlen = sh->call.len_q[0];
    r->block = block, r->stride = c->stride, r->tau = c->tau, r->sink = c->sink, r->local = c->local;
    r->causal = sh->call.causal;
    r->pair = m->pair, r->sparse_frac = m->sparse_frac;
    mix_label(m, r->mix, sizeof r->mix);
    r->sets = sh->nsets;
}

void run_case(const config *c, bench_dev *bd, shape *sh, const mix *m, int block, double dense_ms,
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

    elattn_attn_desc desc = kit_case_attn_desc(&call, 0);
    int32_t *block_table = NULL;
    if (c->page_size) { /* the packed [S][Hkv][D] K/V is [S/P][P][Hkv][D]: page i is logical page i */
        if (S % c->page_size != 0) {
            fail_result(r, "--page-size does not divide the length", ELATTN_ERROR_INVALID_ARGUMENT);
            goto done;
        }
        desc.page_size = c->page_size;
        desc.num_pages = desc.max_pages_per_seq = S / c->page_size;
        block_table = malloc(sizeof(int32_t) * (size_t)desc.num_pages);
        if (!block_table) {
            fail_result(r, "block table", ELATTN_ERROR_OUT_OF_MEMORY);
            goto done;
        }
        for (int i = 0; i < desc.num_pages; ++i) block_table[i] = i;
    }
    elattn_plan_options opts = {.struct_size = sizeof(elattn_plan_options), .kernel = c->kernel, .tile_m = c->tiles[0],
                                .tile_n = c->tiles[1], .work_group_size = c->tiles[2]};
    if ((st = elattn_attn_plan_create(bd->dev, &desc, &opts, &plan))) {
        fail_result(r, "plan", st);
        goto done;
    }
    snprintf(r->kernel, sizeof r->kernel, "%s", elattn_attn_plan_kernel_name(plan));
    if (c->page_size) /* the kernel column says that K/V were read through pages */
        snprintf(r->kernel + strlen(r->kernel), sizeof r->kernel - strlen(r->kernel), "+paged%d", c->page_size);
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
        const elattn_plan_options xopts = {.struct_size = sizeof(elattn_plan_options), .kernel = c->xattn_kernel};
        if ((st = elattn_xattn_plan_create(bd->dev, &xd, &xopts, &xplan))) {
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
    fused_ctx fc = {plan, bd, sh, xa ? masks : NULL, ws, modes, block_table};
    if ((st = time_op(c, bd, run_fused, &fc, sh->nsets, &r->fused))) {
        fail_result(r, "attn run", st);
        goto done;
    }
    const double sec = r->fused.median * 1e-3;
    r->tflops = r->pairs * 4.0 * sh->call.head_dim / sec / 1e12;
    /* dense attention's flops at this shape: 4 S^2 D per head, half of it when causal */
    r->dense_equiv_tflops = (sh->call.causal ? 2.0 : 4.0) * (double)S * S * sh->call.head_dim * sh->call.hq / sec / 1e12;
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
    free(block_table);
    free(sample_fused), free(sample_serial);
    free_serial(&sc);
    for (int s = 0; s < MAX_SETS; ++s) elattn_buffer_free(masks[s]);
    free(mask_host);
    elattn_buffer_free(ws), elattn_buffer_free(xws);
    elattn_xattn_plan_destroy(xplan);
    elattn_attn_plan_destroy(plan);
}


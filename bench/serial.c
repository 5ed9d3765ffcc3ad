/*
 * Serial dispatch, the baseline an engine without the fused kernel runs:
 * gather each mode's heads into contiguous buffers, one plan per mode,
 * scatter O back (copies included in the time).
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

elattn_status run_serial(void *p, int set)
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
            .struct_size = sizeof(elattn_attn_args),
            .q = g->q, .k = g->k, .v = g->v, .o = g->o, .cu_seqlens_q = sh->cu_q, .cu_seqlens_k = sh->cu_k,
            .modes = g->call.modes, .block_mask = g->mask, .workspace = g->workspace,
        };
        if ((rc = elattn_attn_run(g->plan, st, &a))) return rc;
        if ((rc = elattn_buffer_copy_2d(sh->o[set], q_off, q_pitch, g->o, 0, q_w, q_w, rows, st))) return rc;
    }
    return ELATTN_SUCCESS;
}

void free_serial(serial_ctx *s)
{
    for (int i = 0; i < 2; ++i) {
        serial_group *g = &s->g[i];
        elattn_attn_plan_destroy(g->plan);
        elattn_buffer_free(g->q), elattn_buffer_free(g->k), elattn_buffer_free(g->v);
        elattn_buffer_free(g->o), elattn_buffer_free(g->mask), elattn_buffer_free(g->workspace);
        memset(g, 0, sizeof *g);
    }
}

elattn_status setup_serial(serial_ctx *s, const kit_case *call, int n_retr, char *kernels, size_t kernels_n)
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


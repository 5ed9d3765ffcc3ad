/*
 * What the interop tests share (interop_reference.c, interop_opencl.c,
 * interop_cuda.c): a small hybrid attention call (one FULL and one STREAMING
 * KV head, GQA 2, causal, fp32), its answer from the reference device, and
 * the checks' bookkeeping.
 */
#ifndef ELATTN_INTEROP_CASE_H
#define ELATTN_INTEROP_CASE_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <elattn/elattn.h>

enum { IC_L = 64, IC_HQ = 4, IC_HKV = 2, IC_D = 32 };
#define IC_QO_FLOATS (IC_L * IC_HQ * IC_D)
#define IC_KV_FLOATS (IC_L * IC_HKV * IC_D)

static int ic_failures;

static inline void ic_check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ic_failures++;
}

/* The call failed with `want` and a message naming `arg`. */
static inline void ic_check_refused(elattn_status got, elattn_status want, const char *arg, const char *what)
{
    const char *msg = elattn_last_error();
    int ok = got == want && strstr(msg, arg) != NULL;
    printf("%s %s: %s (%s)\n", ok ? "ok  " : "FAIL", what, elattn_status_string(got), msg);
    if (!ok) ic_failures++;
}

static const elattn_attn_desc ic_desc = {
    .struct_size = sizeof(elattn_attn_desc),
    .dtype = ELATTN_F32, .head_dim = IC_D, .num_q_heads = IC_HQ, .num_kv_heads = IC_HKV, .batch = 1,
    .max_seqlen_q = IC_L, .max_seqlen_k = IC_L, .causal = 1, .sink = 4, .local = 16, .block_size = 16,
};
static const int32_t ic_cu[2] = {0, IC_L};
static const int32_t ic_modes[IC_HKV] = {ELATTN_FULL, ELATTN_STREAMING};

static inline void ic_inputs(float *q, float *k, float *v)
{
    unsigned s = 12345u;
    for (int i = 0; i < IC_QO_FLOATS; ++i) q[i] = (float)((s = s * 1103515245u + 12345u) >> 8 & 0xffff) / 32768.0f - 1.0f;
    for (int i = 0; i < IC_KV_FLOATS; ++i) k[i] = (float)((s = s * 1103515245u + 12345u) >> 8 & 0xffff) / 32768.0f - 1.0f;
    for (int i = 0; i < IC_KV_FLOATS; ++i) v[i] = (float)((s = s * 1103515245u + 12345u) >> 8 & 0xffff) / 32768.0f - 1.0f;
}

/* Runs the call on `dev` (default stream) with buffers q, k, v, o already holding the inputs. */
static inline elattn_status ic_run(elattn_device *dev, elattn_buffer *q, elattn_buffer *k, elattn_buffer *v, elattn_buffer *o)
{
    elattn_attn_plan *plan = NULL;
    elattn_buffer *ws = NULL;
    elattn_status st = elattn_attn_plan_create(dev, &ic_desc, NULL, &plan);
    size_t ws_bytes = st == ELATTN_SUCCESS ? elattn_attn_plan_workspace_size(plan) : 0;
    if (st == ELATTN_SUCCESS && ws_bytes) st = elattn_buffer_alloc(dev, ws_bytes, &ws);
    if (st == ELATTN_SUCCESS) {
        elattn_attn_args args = {.struct_size = sizeof(elattn_attn_args), .q = q, .k = k, .v = v, .o = o, .cu_seqlens_q = ic_cu, .cu_seqlens_k = ic_cu,
                                 .modes = ic_modes, .workspace = ws};
        st = elattn_attn_run(plan, NULL, &args);
    }
    if (st != ELATTN_SUCCESS) printf("     run: %s: %s\n", elattn_status_string(st), elattn_last_error());
    elattn_buffer_free(ws);
    elattn_attn_plan_destroy(plan);
    return st;
}

/* The reference's O for ic_inputs. */
static inline int ic_expected(float *o)
{
    static float q[IC_QO_FLOATS], k[IC_KV_FLOATS], v[IC_KV_FLOATS];
    ic_inputs(q, k, v);
    elattn_device *ref = NULL;
    elattn_buffer *b[4] = {NULL, NULL, NULL, NULL};
    const size_t bytes[4] = {sizeof q, sizeof k, sizeof v, sizeof q};
    int ok = elattn_device_open_by_name("reference", &ref) == ELATTN_SUCCESS;
    for (int i = 0; i < 4 && ok; ++i) ok = elattn_buffer_alloc(ref, bytes[i], &b[i]) == ELATTN_SUCCESS;
    ok = ok && elattn_buffer_upload(b[0], 0, q, sizeof q, NULL) == ELATTN_SUCCESS &&
         elattn_buffer_upload(b[1], 0, k, sizeof k, NULL) == ELATTN_SUCCESS &&
         elattn_buffer_upload(b[2], 0, v, sizeof v, NULL) == ELATTN_SUCCESS &&
         ic_run(ref, b[0], b[1], b[2], b[3]) == ELATTN_SUCCESS &&
         elattn_buffer_download(b[3], 0, o, sizeof q, NULL) == ELATTN_SUCCESS;
    for (int i = 0; i < 4; ++i) elattn_buffer_free(b[i]);
    elattn_device_close(ref);
    return ok;
}

/* Largest absolute difference. */
static inline double ic_max_diff(const float *a, const float *b, int n)
{
    double m = 0;
    for (int i = 0; i < n; ++i) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d; /* NaN wins */
    }
    return m;
}

#endif

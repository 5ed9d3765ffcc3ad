/*
 * The case matrix. Not a Cartesian product (that would take hours on a CPU
 * OpenCL device): one axis at a time around a small base case, plus the
 * combinations that break kernels in practice (odd lengths, GQA with mixed
 * modes, varlen with an empty element, Lq < Lk, windows larger than the
 * sequence, mask rows with no block). Lengths stay modest except one long
 * case per dtype. Every case's data seed is a hash of its name, so a case
 * keeps its data when others are added.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"

const char *const conf_feature_names[FEAT_COUNT] = {
    "f32", "f16", "bf16", "d64", "d128", "d256", "full", "streaming", "block_sparse",
    "mixed", "lse", "varlen", "xattn", "router", "invalid-args", "d-other", "strided", "paged", "decode",
};

/* The mode table of a case from its mix. */
static void set_modes(conf_case *c)
{
    static const elattn_mode alone[] = {[MIX_FULL] = ELATTN_FULL, [MIX_STREAMING] = ELATTN_STREAMING,
                                        [MIX_BLOCK] = ELATTN_BLOCK_SPARSE};
    if (c->mix == MIX_ALL3) kit_case_cycle_modes(&c->call);
    else kit_case_split_modes(&c->call, alone[c->mix], c->call.hkv, alone[c->mix]);
}

/* ---- the list ------------------------------------------------------------------- */
conf_case *case_push(case_list *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        conf_case *nv = realloc(l->v, sizeof *nv * (size_t)l->cap);
        if (!nv) {
            fprintf(stderr, "elattn-conformance: out of host memory building the case list\n");
            exit(1);
        }
        l->v = nv;
    }
    conf_case *c = &l->v[l->n++];
    memset(c, 0, sizeof *c);
    return c;
}

/* The support matrix's mode bits of a case: its one mode, or "mixed". */
static unsigned mode_features(const kit_case *k)
{
    unsigned seen = 0;
    for (int e = 0; e < k->batch * k->hkv; ++e)
        seen |= k->modes[e] == ELATTN_FULL ? FEAT_FULL : k->modes[e] == ELATTN_STREAMING ? FEAT_STREAMING : FEAT_BLOCK;
    return seen == FEAT_FULL || seen == FEAT_STREAMING || seen == FEAT_BLOCK ? seen : FEAT_MIXED;
}

void conf_name_case(conf_case *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->name, sizeof c->name, fmt, ap);
    va_end(ap);
    c->seed = kit_hash_name(c->name);
    if (c->kind == CASE_ATTN || c->kind == CASE_DECODE) c->features |= mode_features(&c->call);
}

static unsigned dtype_feature(elattn_dtype t)
{
    return t == ELATTN_F32 ? FEAT_F32 : t == ELATTN_F16 ? FEAT_F16 : FEAT_BF16;
}

static unsigned dim_feature(int d)
{
    return d == 64 ? FEAT_D64 : d == 128 ? FEAT_D128 : d == 256 ? FEAT_D256 : FEAT_DIM_OTHER;
}

/* Every head dim the spec allows is a multiple of 8 in [32, 256]; these are
 * the ones the matrix crosses (the portable kernels take them all; each
 * tensor-core family states its own and the others go to the next family). */
static const int axis_dims[] = {32, 40, 64, 80, 96, 128, 192, 256};

static const char *mix_name(mode_mix m)
{
    static const char *const names[] = {"full", "streaming", "block", "mixed"};
    return names[m];
}

/* The lengths in a case's name: "203,17,113", or "17:203" where Lk differs. */
static void lengths_label(const kit_case *call, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int b = 0; b < call->batch && used < n; ++b) {
        used += (size_t)snprintf(out + used, n - used, "%s%d", b ? "," : "", call->len_q[b]);
        if (call->len_k[b] != call->len_q[b] && used < n)
            used += (size_t)snprintf(out + used, n - used, ":%d", call->len_k[b]);
    }
}

attn_spec attn_base_spec(void)
{
    attn_spec s;
    memset(&s, 0, sizeof s);
    s.dtype = ELATTN_F32;
    s.d = 64;
    s.hq = 6;
    s.hkv = 3;
    s.batch = 1;
    s.lq[0] = 203;
    s.causal = 1;
    s.sink = 4;
    s.local = 32;
    s.block = 64;
    s.lse = 1;
    s.mix = MIX_ALL3;
    s.density = 0.5;
    return s;
}

conf_case *add_attn(case_list *l, const char *group, attn_spec s)
{
    conf_case *c = case_push(l);
    c->kind = CASE_ATTN;
    c->call.dtype = s.dtype;
    c->call.head_dim = s.d;
    c->call.hq = s.hq;
    c->call.hkv = s.hkv;
    c->call.batch = s.batch;
    int varlen = s.batch > 1, cross = 0;
    for (int b = 0; b < s.batch; ++b) {
        c->call.len_q[b] = s.lq[b];
        c->call.len_k[b] = s.lk[b] ? s.lk[b] : s.lq[b];
        cross |= c->call.len_k[b] != c->call.len_q[b];
    }
    c->call.causal = s.causal;
    c->call.sink = s.sink;
    c->call.local = s.local;
    c->call.block = s.block;
    c->lse = s.lse;
    c->mix = s.mix;
    set_modes(c);
    if (s.modes) memcpy(c->call.modes, s.modes, sizeof(int32_t) * (size_t)s.batch * (size_t)s.hkv);
    if (s.stream_first)
        for (int h = 0; h < s.hkv; ++h) c->call.modes[h] = ELATTN_STREAMING;
    c->layout = s.layout;
    c->page_size = s.page;
    c->mask_density = s.density;
    c->empty_rows = s.empty_rows;
    c->quick = s.quick;
    c->features = dtype_feature(s.dtype) | dim_feature(s.d) | (s.lse ? FEAT_LSE : 0) |
                  (varlen || cross ? FEAT_VARLEN : 0);
    if (s.layout == LAYOUT_FUSED || s.layout == LAYOUT_PERMUTED) c->features |= FEAT_STRIDED;
    if (s.layout == LAYOUT_PAGED) c->features |= FEAT_PAGED;

    char lens[64];
    lengths_label(&c->call, lens, sizeof lens);
    char extra[48] = "";
    const int any_mode = s.mix == MIX_ALL3 || s.modes;
    if (s.mix == MIX_STREAMING || any_mode)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "/s%d,w%d", s.sink, s.local);
    if (s.mix == MIX_BLOCK || any_mode)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "/b%d%s", s.block,
                 s.empty_rows ? ",emptyrows" : s.density >= 1.0 ? ",dense" : "");
    static const char *const layouts[] = {"", "/fused", "/permuted", "/P"};
    if (s.layout != LAYOUT_PACKED)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%s", layouts[s.layout]);
    if (s.layout == LAYOUT_PAGED)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%d%s", s.page,
                 s.stream_first ? ",unreached" : "");
    conf_name_case(c, "attn/%s/%s/%s/d%d/h%d:%d/L%s/%s%s%s", group, s.modes ? "modes" : mix_name(s.mix),
                   elattn_dtype_name(s.dtype), s.d, s.hq, s.hkv, lens, s.causal ? "causal" : "noncausal", extra,
                   s.lse ? "/lse" : "");
    return c;
}

conf_case *add_xattn(case_list *l, elattn_dtype dtype, int d, int hq, int hkv, int batch, const int *lq,
                     const int *lk, int causal, int stride, int block, int num_taus, const float *taus,
                     int with_modes, int quick)
{
    conf_case *c = case_push(l);
    c->kind = CASE_XATTN;
    c->call.dtype = dtype;
    c->call.head_dim = d;
    c->call.hq = hq;
    c->call.hkv = hkv;
    c->call.batch = batch;
    int varlen = batch > 1;
    for (int b = 0; b < batch; ++b) {
        c->call.len_q[b] = lq[b];
        c->call.len_k[b] = lk ? lk[b] : lq[b];
        varlen |= c->call.len_k[b] != c->call.len_q[b];
    }
    c->call.causal = causal;
    c->stride = stride;
    c->call.block = block;
    c->num_taus = num_taus;
    for (int i = 0; i < num_taus; ++i) c->taus[i] = taus[i];
    c->xattn_modes = with_modes;
    c->mix = with_modes ? MIX_ALL3 : MIX_BLOCK;
    set_modes(c);
    c->quick = quick;
    c->features = FEAT_XATTN | dtype_feature(dtype) | dim_feature(d) | (varlen ? FEAT_VARLEN : 0);
    char tau[64] = "", *p = tau;
    for (int i = 0; i < num_taus; ++i)
        p += snprintf(p, (size_t)(tau + sizeof tau - p), "%s%g", i ? "," : "", (double)taus[i]);
    char lens[64];
    lengths_label(&c->call, lens, sizeof lens);
    conf_name_case(c, "xattn/%s/d%d/h%d:%d/L%s/%s/S%d/B%d/tau%s%s", elattn_dtype_name(dtype), d, hq, hkv, lens,
                   causal ? "causal" : "noncausal", stride, block, tau, with_modes ? "/modes" : "");
    return c;
}

conf_case *add_router(case_list *l, elattn_dtype dtype, int d, int hidden, int hkv, int batch, const int *lens,
                      elattn_mode retrieval, elattn_mode sparse, int quick)
{
    conf_case *c = case_push(l);
    c->kind = CASE_ROUTER;
    c->call.dtype = dtype;
    c->call.head_dim = d;
    c->hidden = hidden;
    c->call.hkv = c->call.hq = hkv;
    c->call.batch = batch;
    for (int b = 0; b < batch; ++b) c->call.len_q[b] = c->call.len_k[b] = lens[b];
    c->retrieval = retrieval;
    c->sparse = sparse;
    c->quick = quick;
    c->features = FEAT_ROUTER | dtype_feature(dtype) | (batch > 1 ? FEAT_VARLEN : 0);
    if (d == 64 || d == 128 || d == 256) c->features |= dim_feature(d);
    char ls[64], hid[24] = "";
    lengths_label(&c->call, ls, sizeof ls);
    if (hidden != 4 * d) snprintf(hid, sizeof hid, "/hidden%d", hidden); /* the paper's 4 D goes unnamed */
    conf_name_case(c, "router/%s/d%d%s/hkv%d/L%s/%s-%s", elattn_dtype_name(dtype), d, hid, hkv, ls,
                   elattn_mode_name(retrieval), elattn_mode_name(sparse));
    return c;
}

/* Strided and paged tensors (groups "strided" and "paged"): random data, all
 * modes mixed, every dtype, head dims 64, 128 and 80. The device under test
 * gets the layout, the reference oracle the same values packed. */
static void layout_cases(case_list *l)
{
    static const elattn_dtype dtypes[] = {ELATTN_F32, ELATTN_F16, ELATTN_BF16};
    static const int dims[] = {64, 128, 80};
    for (size_t t = 0; t < 3; ++t)
        for (size_t i = 0; i < 3; ++i) {
            /* fused QKV: the K and V views start at Hq*D and (Hq+Hkv)*D elements, which must be
             * multiples of 256 bytes (every view's rule): D 80 in 16-bit needs 8 KV heads */
            attn_spec s = attn_base_spec();
            s.dtype = dtypes[t];
            s.d = dims[i];
            s.hq = 8, s.hkv = 4;
            if (dims[i] == 80 && dtypes[t] != ELATTN_F32) s.hq = 16, s.hkv = 8;
            s.batch = 2;
            s.lq[0] = 203, s.lq[1] = 113;
            s.block = 64;
            s.layout = LAYOUT_FUSED;
            s.quick = t == 2 && dims[i] == 128;
            add_attn(l, "strided", s);

            s = attn_base_spec();
            s.dtype = dtypes[t];
            s.d = dims[i];
            s.hq = 6, s.hkv = 2;
            s.lq[0] = 150, s.lk[0] = i == 1 ? 400 : 0; /* one chunk after a prefix */
            s.layout = LAYOUT_PERMUTED;
            add_attn(l, "strided", s);
        }

    static const int pages[] = {16, 64, 256};
    for (size_t pi = 0; pi < 3; ++pi)
        for (size_t t = 0; t < 3; ++t) {
            /* element 0: a chunk of 64 queries after 836 cached keys, every head STREAMING, so
             * keys [256, 768) are reached by no head (their pages hold NaN); element 1 mixed */
            attn_spec s = attn_base_spec();
            s.dtype = dtypes[t];
            s.d = dims[(pi + t) % 3];
            s.hq = 8, s.hkv = 4;
            s.batch = 2;
            s.lq[0] = 64, s.lk[0] = 900;
            s.lq[1] = 203;
            s.sink = 16, s.local = 32;
            s.layout = LAYOUT_PAGED;
            s.page = pages[pi];
            s.stream_first = 1;
            s.quick = pi == 1 && t == 1;
            add_attn(l, "paged", s);
        }
    /* chunked prefill over a paged prefix (Lq < Lk), all modes mixed, causal and not */
    for (int causal = 1; causal >= 0; --causal) {
        attn_spec s = attn_base_spec();
        s.dtype = causal ? ELATTN_BF16 : ELATTN_F16;
        s.d = 128;
        s.hq = 8, s.hkv = 4;
        s.lq[0] = 100, s.lk[0] = 700;
        s.causal = causal;
        s.layout = LAYOUT_PAGED;
        s.page = 64;
        add_attn(l, "paged", s);
    }
}

static void attn_cases(case_list *l)
{
    static const elattn_dtype dtypes[] = {ELATTN_F32, ELATTN_F16, ELATTN_BF16};
    static const mode_mix mixes[] = {MIX_FULL, MIX_STREAMING, MIX_BLOCK, MIX_ALL3};

    /* Lengths: every mode alone and mixed at each length (1 and 17 are
     * shorter than a tile, 113 and 203 end mid-tile, 1000 spans many). */
    static const int lens[] = {1, 17, 113, 203, 1000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; ++i)
        for (size_t m = 0; m < 4; ++m) {
            attn_spec s = attn_base_spec();
            s.lq[0] = lens[i];
            s.mix = mixes[m];
            s.quick = lens[i] == 113;
            add_attn(l, "len", s);
        }

    /* dtypes x head dims (256: expected UNSUPPORTED on some backends). */
    static const int dims[] = {64, 128, 256};
    for (size_t t = 0; t < 3; ++t)
        for (size_t i = 0; i < 3; ++i) {
            attn_spec s = attn_base_spec();
            s.dtype = dtypes[t];
            s.d = dims[i];
            s.lq[0] = 113;
            s.quick = dims[i] == 128;
            add_attn(l, "dtype", s);
        }
    /* each mode alone in fp16 and bf16 */
    for (size_t t = 1; t < 3; ++t)
        for (size_t m = 0; m < 3; ++m) {
            attn_spec s = attn_base_spec();
            s.dtype = dtypes[t];
            s.d = 128;
            s.mix = mixes[m];
            add_attn(l, "dtype", s);
        }

    /* GQA ratios 1, 4, 8 and MQA, all modes mixed. */
    static const int gqa[][2] = {{3, 3}, {12, 3}, {24, 3}, {8, 1}};
    for (size_t g = 0; g < 4; ++g) {
        attn_spec s = attn_base_spec();
        s.dtype = g % 2 ? ELATTN_BF16 : ELATTN_F16;
        s.d = 128;
        s.hq = gqa[g][0];
        s.hkv = gqa[g][1];
        s.lq[0] = 203;
        if (s.hkv == 1) { /* MQA: the three modes go to three batch elements */
            s.batch = 3;
            s.lq[0] = 203, s.lq[1] = 150, s.lq[2] = 97;
        }
        s.quick = g == 3;
        add_attn(l, "gqa", s);
    }

    /* Varlen: unequal lengths, a zero-length element, Lq < Lk (chunked
     * prefill after a cached prefix), causal and not. */
    for (int causal = 1; causal >= 0; --causal) {
        attn_spec s = attn_base_spec();
        s.causal = causal;
        s.batch = 3;
        s.lq[0] = 203, s.lq[1] = 17, s.lq[2] = 113;
        s.quick = causal;
        add_attn(l, "varlen", s);

        s = attn_base_spec();
        s.causal = causal;
        s.batch = 3;
        s.lq[0] = 113, s.lq[1] = 0, s.lq[2] = 64;
        s.dtype = ELATTN_BF16;
        add_attn(l, "varlen", s);

        s = attn_base_spec();
        s.causal = causal;
        s.batch = 3;
        s.lq[0] = 17, s.lk[0] = 203;
        s.lq[1] = 64, s.lk[1] = 113;
        s.lq[2] = 1, s.lk[2] = 130;
        s.dtype = ELATTN_F16;
        s.quick = causal;
        add_attn(l, "lq<lk", s);

        s = attn_base_spec();
        s.causal = causal;
        s.lq[0] = 100, s.lk[0] = 1000;
        s.mix = MIX_ALL3;
        add_attn(l, "lq<lk", s);
    }

    /* Streaming windows: sink and local smaller and larger than the sequence. */
    static const int windows[][2] = {{0, 1}, {4, 16}, {64, 8}, {300, 16}, {4, 500}, {0, 64}, {300, 500}};
    for (size_t w = 0; w < sizeof windows / sizeof windows[0]; ++w)
        for (int causal = 1; causal >= 0; --causal) {
            attn_spec s = attn_base_spec();
            s.mix = MIX_STREAMING;
            s.sink = windows[w][0];
            s.local = windows[w][1];
            s.causal = causal;
            s.quick = w == 1;
            add_attn(l, "window", s);
        }

    /* Block masks: sizes 64 and 128, sparse, dense, with empty rows. */
    static const int blocks[] = {64, 128};
    for (size_t b = 0; b < 2; ++b) {
        attn_spec s = attn_base_spec();
        s.mix = MIX_BLOCK;
        s.block = blocks[b];
        s.lq[0] = 300;
        s.density = 0.3;
        s.quick = b == 0;
        add_attn(l, "mask", s);

        s.density = 0.6;
        s.empty_rows = 1;
        add_attn(l, "mask", s);

        s.density = 1.0;
        s.empty_rows = 0;
        s.causal = 0;
        add_attn(l, "mask", s);

        s = attn_base_spec();
        s.mix = MIX_ALL3;
        s.block = blocks[b];
        s.density = 0.5;
        s.empty_rows = 1;
        s.batch = 2;
        s.lq[0] = 90, s.lk[0] = 300;
        s.lq[1] = 257;
        s.dtype = ELATTN_BF16;
        add_attn(l, "mask", s);
    }

    layout_cases(l);

    /* LSE off, each dtype, all modes mixed. */
    for (size_t t = 0; t < 3; ++t) {
        attn_spec s = attn_base_spec();
        s.dtype = dtypes[t];
        s.lse = 0;
        s.quick = t == 0;
        add_attn(l, "nolse", s);
    }

    /* Head dims beyond 64/128/256 in fp32 (fp16 and bf16 meet them in the axis below). */
    for (size_t i = 0; i < sizeof axis_dims / sizeof axis_dims[0]; ++i) {
        if (axis_dims[i] == 64 || axis_dims[i] == 128 || axis_dims[i] == 256) continue;
        attn_spec s = attn_base_spec();
        s.d = axis_dims[i];
        s.lq[0] = 113;
        add_attn(l, "dim", s);
    }

    /* The sink axis: sinks that reach past the local window (a tile walk that
     * bounds a window by the window alone loses them), fp16 and bf16 (the
     * tensor-core families), causal and not, Lq < Lk and Lq > Lk, every head
     * dim of the axis, all three modes in one call, GQA packed and not. The
     * first query tiles sit where the window ends before the sinks do:
     * Lq < Lk: positions from 500, window 16, sinks 690; Lq > Lk: positions
     * from -183, window 8, sinks 100. */
    for (size_t t = 1; t < 3; ++t)
        for (int causal = 1; causal >= 0; --causal)
            for (int longer_k = 1; longer_k >= 0; --longer_k)
                for (size_t i = 0; i < sizeof axis_dims / sizeof axis_dims[0]; ++i) {
                    attn_spec s = attn_base_spec();
                    s.dtype = dtypes[t];
                    s.d = axis_dims[i];
                    s.causal = causal;
                    s.mix = MIX_ALL3;
                    s.hkv = 3;
                    s.hq = longer_k ? 6 : 12;
                    s.lq[0] = longer_k ? 200 : 333;
                    s.lk[0] = longer_k ? 700 : 150;
                    s.sink = longer_k ? 690 : 100;
                    s.local = longer_k ? 16 : 8;
                    s.quick = (axis_dims[i] == 96 && longer_k && !causal && t == 2) ||
                              (axis_dims[i] == 256 && !longer_k && causal && t == 1);
                    add_attn(l, "sinkpast", s);
                }
    /* The two shapes the sink bug was found on (Lq = Lk, non-causal STREAMING,
     * sinks past the window), D 64 and 256, fp16 and bf16. */
    static const int found[][3] = {{1000, 300, 16}, {203, 150, 8}};
    for (size_t t = 1; t < 3; ++t)
        for (size_t f = 0; f < 2; ++f)
            for (int d = 64; d <= 256; d *= 4) {
                attn_spec s = attn_base_spec();
                s.dtype = dtypes[t];
                s.d = d;
                s.causal = 0;
                s.mix = MIX_STREAMING;
                s.lq[0] = found[f][0];
                s.sink = found[f][1];
                s.local = found[f][2];
                add_attn(l, "sinkpast", s);
            }

    /* Many work items: more than 4 per multiprocessor of a 132-SM GPU at 128
     * query rows per item (544 here; 352 at head dim 64's 192 rows), long
     * FULL items and short STREAMING ones in one list, so that a persistent
     * kernel (cuda.attn.wgmma) claims several items per thread block from its
     * counter, with its K/V ring, Q buffer and item hand-over carried from
     * one item to the next. */
    for (size_t t = 1; t < 3; ++t) {
        static const int lens[4] = {700, 333, 520, 260};
        attn_spec s = attn_base_spec();
        s.dtype = dtypes[t];
        s.d = t == 1 ? 128 : 64;
        s.causal = t == 1;
        s.hq = 32;
        s.hkv = 8;
        s.batch = 4;
        memcpy(s.lq, lens, sizeof lens);
        s.sink = 16;
        s.local = 64;
        s.block = 64;
        add_attn(l, "manyitems", s);
    }

    /* One long case per dtype (>= 2048), mixed modes with the paper's kind of
     * window scaled down; the most expensive cases of the matrix. */
    for (size_t t = 0; t < 3; ++t) {
        attn_spec s = attn_base_spec();
        s.dtype = dtypes[t];
        s.d = 128;
        s.hq = 4;
        s.hkv = 4;
        s.lq[0] = 2080;
        s.sink = 64;
        s.local = 256;
        s.block = 128;
        s.density = 0.4;
        add_attn(l, "long", s);
    }
}

static void xattn_cases(case_list *l)
{
    const int l1[] = {517}, l3q[] = {517, 200, 64}, l3k[] = {517, 333, 64};
    const float t09[] = {0.9f}, t05[] = {0.5f}, per4[] = {0.5f, 0.7f, 0.9f, 1.0f}, per3[] = {0.6f, 0.95f, 0.8f};
    add_xattn(l, ELATTN_F32, 64, 8, 2, 1, l1, NULL, 1, 16, 64, 1, t09, 0, 1);
    add_xattn(l, ELATTN_F32, 64, 8, 2, 1, l1, NULL, 1, 8, 64, 1, t05, 0, 0);
    add_xattn(l, ELATTN_F16, 128, 4, 4, 1, l1, NULL, 1, 16, 128, 4, per4, 0, 1);
    add_xattn(l, ELATTN_BF16, 128, 4, 4, 1, l1, NULL, 1, 8, 128, 1, t09, 0, 0);
    add_xattn(l, ELATTN_F16, 64, 12, 3, 3, l3q, l3k, 1, 8, 128, 1, t05, 1, 0);
    add_xattn(l, ELATTN_BF16, 64, 12, 3, 3, l3q, l3k, 1, 16, 64, 3, per3, 1, 1);
    add_xattn(l, ELATTN_F32, 128, 8, 1, 1, l1, NULL, 1, 16, 64, 1, t09, 0, 0);
    add_xattn(l, ELATTN_F32, 64, 4, 2, 1, l1, NULL, 0, 16, 64, 1, t09, 0, 0);
    add_xattn(l, ELATTN_F16, 64, 4, 2, 1, l1, NULL, 0, 8, 128, 1, t05, 0, 0);
    /* Block widths B / S that the tensor-core estimation folds differently: 1 and 2
     * columns per block, 32 (several column tiles, a running max that moves), 128
     * (a query block taller than a tile: shared cells) and 256 (wider than a tile). */
    const int l2100[] = {2100}, l700[] = {700}, l1000[] = {1000}, lq600[] = {600}, lk900[] = {900};
    add_xattn(l, ELATTN_BF16, 128, 8, 2, 1, l2100, NULL, 1, 4, 128, 1, t09, 0, 1);
    add_xattn(l, ELATTN_F16, 64, 4, 2, 1, l700, NULL, 1, 2, 256, 1, t09, 0, 0);
    add_xattn(l, ELATTN_BF16, 64, 4, 2, 1, l700, NULL, 1, 1, 256, 1, t05, 0, 0);
    add_xattn(l, ELATTN_BF16, 256, 4, 1, 1, lq600, lk900, 1, 16, 16, 1, t05, 0, 0);
    add_xattn(l, ELATTN_F16, 64, 6, 3, 1, l1000, NULL, 0, 8, 16, 1, t09, 0, 0);
    /* Head dims outside 64/128/256: the mma estimation states it cannot; the portable ones take them. */
    add_xattn(l, ELATTN_BF16, 40, 4, 2, 1, l1, NULL, 1, 16, 64, 1, t09, 0, 0);
    add_xattn(l, ELATTN_F16, 96, 6, 3, 1, l700, NULL, 0, 8, 64, 1, t05, 0, 0);
    /* Every dtype x head dim an estimation family claims: fp16 at D 256 (mma and portable),
     * fp32 at D 256 and at 80 (portable only). */
    add_xattn(l, ELATTN_F16, 256, 4, 2, 1, lq600, lk900, 1, 16, 64, 1, t09, 0, 0);
    add_xattn(l, ELATTN_F32, 256, 4, 1, 1, l700, NULL, 1, 8, 64, 1, t05, 0, 0);
    add_xattn(l, ELATTN_F32, 80, 6, 3, 1, l1, NULL, 0, 16, 64, 1, t09, 0, 0);
    /* Several GEMM passes of opencl.xattn.clblast: at stride 1 its 128 MiB budget for
     * packed rows and scores holds 1792 of the 2100 reshaped rows (Lq < Lk: the second
     * pass starts mid-sequence, bottom-right aligned). */
    const int lq2100[] = {2100}, lk2300[] = {2300};
    add_xattn(l, ELATTN_BF16, 32, 8, 2, 1, lq2100, lk2300, 1, 1, 256, 1, t09, 0, 0);
}

static void router_cases(case_list *l)
{
    static const elattn_mode pairs[][2] = {
        {ELATTN_FULL, ELATTN_STREAMING}, {ELATTN_FULL, ELATTN_BLOCK_SPARSE}, {ELATTN_BLOCK_SPARSE, ELATTN_STREAMING}};
    const int short_lens[] = {37, 150}, long_lens[] = {200, 513, 64};
    for (int p = 0; p < 3; ++p) {
        /* tiny weights (D 8, hidden 32), L < 200 */
        add_router(l, ELATTN_F32, 8, 32, 4, 2, short_lens, pairs[p][0], pairs[p][1], p == 0);
        /* the paper's size (D 128, hidden 512), L >= 200 next to a short one */
        add_router(l, p == 1 ? ELATTN_BF16 : p == 2 ? ELATTN_F16 : ELATTN_F32, 128, 512, 8, 3, long_lens, pairs[p][0],
                   pairs[p][1], p == 1);
    }
}

static void invalid_cases(case_list *l)
{
    for (int row = 0; row < invalid_row_count(); ++row) {
        conf_case *c = case_push(l);
        c->kind = CASE_INVALID;
        c->invalid_row = row;
        c->features = FEAT_INVALID;
        c->quick = 1;
        conf_name_case(c, "invalid/%s", invalid_row_name(row));
    }
}

/* Decode (group "decode"): four sequences whose prefill is below sink + local, exactly
 * sink + ring (the ring just full), past it, and many times around it; steps of 1, 3 and 16 new
 * tokens (each sequence its own, several steps so that the rings wrap during decode); modes
 * mixed per sequence (BLOCK_SPARSE decodes densely); every dtype, D 64 and 128, split-KV 1, 3
 * and the plan's. Plus short sequences whose sinks and window overlap (sink 8, local 8, prefill
 * 1, 2, 5, 9), MQA. Ring = local + 15 (max_new_tokens 16). */
conf_case *add_decode(case_list *l, elattn_dtype dt, int d, int hq, int hkv, int batch, int page, int splits)
{
    conf_case *c = case_push(l);
    c->kind = CASE_DECODE;
    kit_case *k = &c->call;
    k->dtype = dt, k->head_dim = d, k->hq = hq, k->hkv = hkv, k->batch = batch;
    k->causal = 1, k->block = 64;
    c->dec_splits = splits;
    c->dec_page = page;
    c->lse = 1;
    c->features = FEAT_DECODE | FEAT_LSE | dtype_feature(dt) | dim_feature(d) | (batch > 1 ? FEAT_VARLEN : 0);
    return c;
}

/* A decode case of four long sequences (prefills 700, 2600, 40, 3000; sink 4, local 64; steps of
 * 1, 16 and 3 new tokens); the caller sets the modes, the name and the seed. */
static conf_case *long_decode_case(case_list *l, elattn_dtype dt, int d, int hq, int hkv, int page, int splits)
{
    conf_case *c = add_decode(l, dt, d, hq, hkv, 4, page, splits);
    kit_case *k = &c->call;
    k->sink = 4, k->local = 64;
    static const int pre[4] = {700, 2600, 40, 3000}, steps[] = {1, 16, 3};
    for (int b = 0; b < 4; ++b) k->len_q[b] = k->len_k[b] = pre[b];
    memcpy(c->dec_steps, steps, sizeof steps);
    c->dec_nsteps = 3;
    return c;
}

static void decode_cases(case_list *l)
{
    static const elattn_dtype dts[] = {ELATTN_F32, ELATTN_F16, ELATTN_BF16};
    static const int dims[] = {64, 128};
    static const int splits[] = {1, 3, 0};
    int v = 0;
    for (int di = 0; di < 3; ++di)
        for (int ki = 0; ki < 2; ++ki, ++v) {
            conf_case *c = add_decode(l, dts[di], dims[ki], 4, 2, 4, 8, splits[v % 3]);
            kit_case *k = &c->call;
            k->sink = 4, k->local = 16;
            const int ring = k->local + 16 - 1;
            const int pre[4] = {3, k->sink + ring, k->sink + ring + 11, 9 * ring + 5};
            static const elattn_mode modes[4][2] = {{ELATTN_FULL, ELATTN_STREAMING},
                                                    {ELATTN_STREAMING, ELATTN_STREAMING},
                                                    {ELATTN_BLOCK_SPARSE, ELATTN_STREAMING},
                                                    {ELATTN_STREAMING, ELATTN_FULL}};
            for (int b = 0; b < 4; ++b) {
                k->len_q[b] = k->len_k[b] = pre[b];
                k->modes[2 * b] = modes[b][0], k->modes[2 * b + 1] = modes[b][1];
            }
            static const int steps[] = {1, 3, 16, 1, 16, 3};
            memcpy(c->dec_steps, steps, sizeof steps);
            c->dec_nsteps = 6;
            c->quick = di == 0 && ki == 0;
            conf_name_case(c, "decode/%s/d%d/h4:2/L3,35,46,284/sink4/local16/splits%d", elattn_dtype_name(k->dtype),
                           k->head_dim, c->dec_splits);
        }
    for (int di = 0; di < 3; ++di) {
        conf_case *c = add_decode(l, dts[di], 64, 4, 1, 4, 4, di == 1 ? 4 : 0);
        kit_case *k = &c->call;
        k->sink = 8, k->local = 8;
        const int pre[4] = {1, 2, 5, 9};
        for (int b = 0; b < 4; ++b) {
            k->len_q[b] = k->len_k[b] = pre[b];
            k->modes[b] = b == 3 ? ELATTN_FULL : ELATTN_STREAMING;
        }
        static const int steps[] = {1, 3, 16, 16, 1};
        memcpy(c->dec_steps, steps, sizeof steps);
        c->dec_nsteps = 5;
        conf_name_case(c, "decode/%s/d64/h4:1/L1,2,5,9/sink8/local8/splits%d", elattn_dtype_name(k->dtype),
                       c->dec_splits);
    }
    /* The GPU kernel's edges: sequences long enough that the plan cuts FULL heads into many
     * chunks beside STREAMING heads kept whole; groups whose G x n new rows span several row
     * tiles (G 8 x 16 new tokens); head dims that leave lanes of a padded instance idle (96, 40)
     * or fill the widest (256); pages of 1 and 256 tokens; an explicit split count whose
     * STREAMING chunks may hold no key any query sees (ring slots outside every window). The
     * tensor-core kernel's (16-row items): groups of 16 (one full item at n = 1) and 17 (a second
     * item of one row), 3 (rows 3, 48, 9), and 16-bit D 256 (D 40 and 96 above pad an instance).
     * The most chunks a head can have (256, the most elattn_decode_desc.num_splits allows), with
     * chunks of a few slots and empty ones (LSE -inf) in every head. Heads of more than 32 chunks
     * (DECODE_MERGE_IN_BLOCK_MAX of the CUDA build) are merged by a launch of their own there: 256
     * chunks (bf16 D 128), 40 (fp32, the portable chunk kernel's 4-row items) and 100 (fp16 D 256,
     * 8 x 16 rows a head). */
    static const struct {
        elattn_dtype dt;
        int d, hq, hkv, page, splits;
    } big[] = {{ELATTN_BF16, 96, 16, 2, 1, 0}, {ELATTN_F16, 40, 8, 2, 256, 7}, {ELATTN_F32, 256, 4, 1, 16, 0},
               {ELATTN_BF16, 128, 8, 2, 64, 0}, {ELATTN_BF16, 128, 16, 1, 16, 0}, {ELATTN_F16, 64, 17, 1, 1, 3},
               {ELATTN_BF16, 256, 6, 2, 16, 0}, {ELATTN_BF16, 128, 8, 2, 16, 256}, {ELATTN_F32, 64, 8, 2, 16, 40},
               {ELATTN_F16, 256, 8, 1, 16, 100}};
    for (int bi = 0; bi < (int)(sizeof big / sizeof big[0]); ++bi) {
        conf_case *c = long_decode_case(l, big[bi].dt, big[bi].d, big[bi].hq, big[bi].hkv, big[bi].page, big[bi].splits);
        kit_case *k = &c->call;
        for (int b = 0; b < 4; ++b)
            for (int h = 0; h < k->hkv; ++h)
                k->modes[b * k->hkv + h] = (b + h) % 3 == 0 ? ELATTN_STREAMING : (b + h) % 3 == 1 ? ELATTN_FULL
                                                                                                  : ELATTN_BLOCK_SPARSE;
        conf_name_case(c, "decode/%s/d%d/h%d:%d/L700,2600,40,3000/sink4/local64/page%d/splits%d",
                 elattn_dtype_name(k->dtype), k->head_dim, k->hq, k->hkv, c->dec_page, c->dec_splits);
    }
    /* Quest page selection (SPEC.md section 9b, elattn_decode_desc.page_budget): every sequence's KV
     * head 0 is BLOCK_SPARSE, beside FULL and STREAMING heads that must not change. Budgets below the
     * candidates (a real choice: 1, 3, 8, 40), and above them (100 pages of 64: every page, dense);
     * pages of 1 token (the tail is the step's n pages, candidates are single keys); steps of 16 over
     * pages of 8 and 16 (a tail of two or three pages); an MQA group of 6 query heads summed into one
     * score; every dtype; head dims 40 (lanes over five blocks of 8), 64, 96, 128 and 256, the range the
 * GPU decode families claim; explicit and planned split counts (chunks of the compacted head). And keys
     * of +-1 only (`ties`): every page's bounds are -1 and +1 in (nearly) every dimension, so the
     * candidates' scores tie and the page order decides (the lower pages are kept). */
    static const struct {
        elattn_dtype dt;
        int d, hq, hkv, page, splits, budget, ties;
    } quest[] = {{ELATTN_BF16, 128, 8, 2, 16, 0, 8, 0}, {ELATTN_F32, 64, 4, 2, 16, 3, 3, 0},
                 {ELATTN_F16, 64, 4, 1, 1, 0, 40, 0},   {ELATTN_F16, 96, 6, 1, 8, 5, 1, 0},
                 {ELATTN_BF16, 64, 4, 2, 64, 0, 100, 0}, {ELATTN_BF16, 64, 4, 2, 16, 0, 5, 1},
                 {ELATTN_F32, 128, 8, 2, 16, 3, 7, 1},  {ELATTN_BF16, 256, 4, 2, 16, 0, 6, 0},
                 {ELATTN_F16, 40, 4, 2, 8, 0, 4, 1}};
    for (int qi = 0; qi < (int)(sizeof quest / sizeof quest[0]); ++qi) {
        conf_case *c = long_decode_case(l, quest[qi].dt, quest[qi].d, quest[qi].hq, quest[qi].hkv, quest[qi].page,
                                        quest[qi].splits);
        kit_case *k = &c->call;
        for (int b = 0; b < 4; ++b)
            for (int h = 0; h < k->hkv; ++h)
                k->modes[b * k->hkv + h] = h == 0 ? ELATTN_BLOCK_SPARSE : b % 2 ? ELATTN_FULL : ELATTN_STREAMING;
        c->dec_budget = quest[qi].budget;
        c->dec_ties = quest[qi].ties;
        c->quick = qi == 1;
        conf_name_case(c, "decode/quest/%s/d%d/h%d:%d/L700,2600,40,3000/page%d/splits%d/budget%d%s",
                 elattn_dtype_name(k->dtype), k->head_dim, k->hq, k->hkv, c->dec_page, c->dec_splits, c->dec_budget,
                 c->dec_ties ? "/ties" : "");
    }
    /* A head of more candidate pages than the CUDA/HIP select stages in shared memory (9929 pages:
     * QUEST_STAGED_MAX_BYTES in kernels/gpu/decode_quest.cuh): pages of 1 token and a sequence of
     * 10300, so that the select reads its keys from global memory there (the other Quest cases stage them). */
    {
        conf_case *c = long_decode_case(l, ELATTN_F16, 64, 4, 1, 1, 0);
        kit_case *k = &c->call;
        k->len_q[1] = k->len_k[1] = 10300;
        for (int b = 0; b < 4; ++b) k->modes[b] = ELATTN_BLOCK_SPARSE;
        c->dec_budget = 40;
        conf_name_case(c, "decode/quest/%s/d%d/h%d:%d/L700,10300,40,3000/page%d/splits%d/budget%d",
                 elattn_dtype_name(k->dtype), k->head_dim, k->hq, k->hkv, c->dec_page, c->dec_splits, c->dec_budget);
    }
}

int conf_build_cases(conf_case **cases)
{
    case_list l = {0};
    attn_cases(&l);
    xattn_cases(&l);
    router_cases(&l);
    invalid_cases(&l);
    decode_cases(&l);
    *cases = l.v;
    return l.n;
}

int conf_build_random_cases(uint64_t seed, int n, int with_tiles, conf_case **cases)
{
    case_list l = {0};
    random_cases(&l, seed, n, with_tiles);
    *cases = l.v;
    return l.n;
}

void conf_describe_case(const conf_case *c, char *out, size_t n)
{
    static const char *const kinds[] = {"attention", "xattn", "router", "invalid-args", "decode"};
    char feats[160] = "";
    for (int f = 0; f < FEAT_COUNT; ++f)
        if (c->features & (1u << f))
            snprintf(feats + strlen(feats), sizeof feats - strlen(feats), "%s%s", feats[0] ? "," : "",
                     conf_feature_names[f]);
    snprintf(out, n, "%-12s %s%s  [%s]", kinds[c->kind], c->name, c->quick ? "  (quick)" : "", feats);
}

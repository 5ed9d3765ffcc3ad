/*
 * libFuzzer target: the public API on the reference device. Random bytes
 * become descriptors, plan options, cu_seqlens, mode tables, thresholds and
 * buffers (allocated, wrapped host memory, or views inside a larger parent),
 * or a sequence of buffer calls (view, fill, 2-D copy, upload, download,
 * events) with random offsets, pitches and sizes.
 *
 * Every call must either succeed and change only its outputs, or fail with a
 * status and a message (elattn_last_error) and change nothing, its output
 * handle included. Beyond that, where the header says what is valid:
 *  - a call that breaks a rule the header states (a head dim that is not 64,
 *    128 or 256, Hq not a multiple of Hkv, cu_seqlens that decrease, a buffer
 *    smaller than the shapes, a threshold outside (0, 1], ...) must fail;
 *  - a plain, small, valid call must succeed;
 *  - between the two (tile overrides, odd kernel names, aliasing buffers, an
 *    LSE buffer without write_lse) either answer is accepted.
 * Buffers are exactly as large as they are made, so ASan sees any read or
 * write outside them; bytes of a buffer outside an output's range are
 * compared with a snapshot.
 *
 * Work per input is kept small: runs are made only for descriptors under a
 * budget (lengths, heads, batch), skipped otherwise. The plan and the
 * validation of the arguments are exercised on every descriptor.
 */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "elattn/elattn.h"
#include "fuzz_common.h"

static elattn_device *dev;
static elattn_stream *stream; /* a second stream, besides the default one */
static max_align_t marker;    /* what an output handle holds before a call: a failed call must leave it */
#define MARK ((void *)&marker)

/* How far inputs get, printed at exit (run_fuzzers.sh shows it): a fuzzer that never reaches a run tests little. */
enum { PLAN_OK, RUN_CALLED, RUN_OK, BUFFER_OPS, COUNTERS };
static const char *const counter_names[COUNTERS] = {"plans created", "runs called", "runs succeeded", "other calls"};
static unsigned long counters[COUNTERS];
static int verbose;

static void print_counters(void)
{
    fprintf(stderr, "fuzz_api:");
    for (int i = 0; i < COUNTERS; ++i) fprintf(stderr, " %s %lu%s", counter_names[i], counters[i], i + 1 < COUNTERS ? "," : "\n");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (elattn_device_open_by_name("reference", &dev) || elattn_stream_create(dev, &stream))
        finding("cannot open the reference device: %s", elattn_last_error());
    atexit(print_counters);
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    return 0;
}

/* ---- reading the input ------------------------------------------------------------------ */
typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

/* Past the end, every read is 0: a short input is a valid input. */
static unsigned u8(rd *r)
{
    if (!r->n) return 0;
    r->n--;
    return *r->p++;
}

static uint32_t u32(rd *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= (uint32_t)u8(r) << (8 * i);
    return v;
}

static uint64_t u64(rd *r)
{
    uint64_t lo = u32(r);
    return lo | (uint64_t)u32(r) << 32;
}

static const int64_t int_table[] = {
    0,    1,     2,     3,     4,     7,     8,         15,        16,        17,        31,       32,
    33,   63,    64,    65,    96,    127,   128,       129,       200,       255,       256,      257,
    512,  1023,  1024,  1025,  4096,  65535, 65536,     65537,     1 << 20,   1 << 24,   (1 << 24) + 1,
    1 << 30, INT_MAX, INT_MIN, -1, -2, -64, INT_MIN + 1,
};

/* An int: small, from the table of edges, 16 bits, or any 32 bits. */
static int pick_int(rd *r)
{
    unsigned b = u8(r);
    switch (b >> 6) {
    case 0: return (int)(b & 63);
    case 1: return (int)int_table[(b & 63) % (sizeof int_table / sizeof int_table[0])];
    case 2: {
        unsigned lo = u8(r);
        return (int)(lo | u8(r) << 8);
    }
    default: return (int)u32(r);
    }
}

static const uint64_t size_table[] = {
    0,          1,          2,           3,          4,          8,           16,           64,
    255,        256,        257,         511,        512,        768,         1024,         2048,
    4095,       4096,       4097,        8192,       65536,      1ull << 31,  1ull << 32,   (1ull << 32) + 256,
    1ull << 62, 1ull << 63, (1ull << 63) + 256, SIZE_MAX / 2, SIZE_MAX - 256, SIZE_MAX - 255, SIZE_MAX - 1,
    SIZE_MAX,
};

static size_t pick_size(rd *r)
{
    unsigned b = u8(r);
    switch (b >> 6) {
    case 0: return b & 63;
    case 1: return (size_t)size_table[(b & 63) % (sizeof size_table / sizeof size_table[0])];
    case 2: {
        size_t lo = u8(r);
        return lo | (size_t)u8(r) << 8;
    }
    default: return (size_t)u64(r);
    }
}

static float pick_float(rd *r)
{
    static const float table[] = {0.0f,  1.0f,      0.5f,      0.125f,       0.9f,   1e-3f, -1.0f, -0.0f,
                                  NAN,   INFINITY,  -INFINITY, 1e-30f,       1e30f,  1.0000001f, 1e-45f, 2.0f};
    unsigned b = u8(r);
    if (b < 240) return table[b % 16];
    uint32_t bits = u32(r);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- statuses ----------------------------------------------------------------------------- */
static void check_status(const char *what, elattn_status st)
{
    if ((int)st < ELATTN_SUCCESS || (int)st > ELATTN_ERROR_INTERNAL) finding("%s: status %d is not an elattn_status", what, (int)st);
    if (st == ELATTN_SUCCESS) return;
    const char *msg = elattn_last_error();
    if (!msg || !msg[0]) finding("%s: %s without a message", what, elattn_status_string(st));
    /* INTERNAL is a bug by definition; BACKEND cannot come from the reference, whose work is plain C. */
    if (st == ELATTN_ERROR_INTERNAL || st == ELATTN_ERROR_BACKEND)
        finding("%s: %s: %s", what, elattn_status_string(st), msg);
}

/* The header's rules and a call's outcome. */
static void check_outcome(const char *what, elattn_status st, const char *must_fail, int must_pass)
{
    check_status(what, st);
    if (verbose) /* what one input does: FUZZ_VERBOSE=1 ./fuzz_api FILE */
        fprintf(stderr, "%s: %s%s%s\n", what, elattn_status_string(st), st ? ": " : "", st ? elattn_last_error() : "");
    if (strstr(what, "plan_create")) counters[PLAN_OK] += st == ELATTN_SUCCESS;
    else if (strstr(what, "_run")) counters[RUN_CALLED]++, counters[RUN_OK] += st == ELATTN_SUCCESS;
    else counters[BUFFER_OPS]++;
    if (st == ELATTN_SUCCESS && must_fail) finding("%s: accepted, but %s", what, must_fail);
    if (st != ELATTN_SUCCESS && must_pass)
        finding("%s: refused a plain valid call: %s: %s", what, elattn_status_string(st), elattn_last_error());
}

/* ---- buffers: a pool of roots (host bytes) with snapshots --------------------------------- */
#define MAX_ROOTS 24

typedef struct root {
    uint8_t *mem, *snap, *may_change;
    size_t size;
    void *host; /* wrapped host memory, freed after its buffer */
} root;

typedef struct pool {
    root roots[MAX_ROOTS];
    int nroots;
    elattn_buffer *handles[2 * MAX_ROOTS]; /* freed in reverse: views before their parents */
    int nhandles;
    uint32_t seed;
} pool;

typedef struct arg {
    elattn_buffer *buf; /* NULL: not given */
    int root;           /* -1: not given */
    size_t off, size;   /* its bytes in its root */
    int small;          /* made smaller than it needs */
} arg;

static const arg no_arg = {NULL, -1, 0, 0, 0};

static void pool_fill(pool *p, uint8_t *mem, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        p->seed ^= p->seed << 13, p->seed ^= p->seed >> 17, p->seed ^= p->seed << 5;
        mem[i] = (uint8_t)(p->seed >> 7);
    }
}

/* A buffer of `size` bytes: allocated, wrapped host memory, or (views allowed) a view at 256 of a larger parent. */
static arg pool_make(pool *p, rd *r, size_t size, int allow_view)
{
    if (p->nroots == MAX_ROOTS) finding("harness: more than %d buffers", MAX_ROOTS);
    if (size == 0) size = 1; /* no buffer has 0 bytes; 1 byte still holds the 0 it needs */
    root *ro = &p->roots[p->nroots];
    unsigned how = u8(r) % (allow_view ? 3 : 2);
    size_t total = how == 2 ? size + 512 : size;
    elattn_buffer *b = NULL, *v = NULL;
    memset(ro, 0, sizeof *ro);
    if (how == 1) {
        ro->host = malloc(total);
        if (!ro->host || elattn_buffer_wrap(dev, ro->host, total, &b))
            finding("harness: wrapping %zu host bytes failed: %s", total, elattn_last_error());
        ro->mem = ro->host;
    } else {
        if (elattn_buffer_alloc(dev, total, &b)) finding("harness: allocating %zu bytes failed: %s", total, elattn_last_error());
        ro->mem = elattn_buffer_native(b);
    }
    ro->size = total;
    p->handles[p->nhandles++] = b;
    arg a = {b, p->nroots, 0, size, 0};
    if (how == 2) {
        if (elattn_buffer_view(b, 256, size, &v)) finding("harness: a view at 256 failed: %s", elattn_last_error());
        p->handles[p->nhandles++] = v;
        a.buf = v;
        a.off = 256;
    }
    pool_fill(p, ro->mem, total);
    ro->snap = malloc(total);
    ro->may_change = calloc(total, 1);
    p->nroots++;
    return a;
}

/* How an argument is given: usually exactly as large as it needs; sometimes absent, smaller, or larger. */
static arg pool_give(pool *p, rd *r, size_t need)
{
    unsigned b = u8(r) % 16;
    if (b == 0) return no_arg;
    size_t size = need;
    int small = 0;
    if (b == 1 && need >= 2) {
        size = need - 1 - u8(r) % (need - 1); /* in [1, need - 1] */
        small = 1;
    } else if (b == 2) {
        size = need + 1 + u8(r);
    }
    arg a = pool_make(p, r, size, 1);
    a.small = small;
    return a;
}

static void pool_snap(pool *p)
{
    for (int i = 0; i < p->nroots; ++i) {
        memcpy(p->roots[i].snap, p->roots[i].mem, p->roots[i].size);
        memset(p->roots[i].may_change, 0, p->roots[i].size);
    }
}

static void may_change(pool *p, const arg *a)
{
    if (a->buf) memset(p->roots[a->root].may_change + a->off, 1, a->size);
}

/* After a call: a failed call changed nothing; a successful one only the bytes marked. */
static void pool_check(pool *p, int succeeded, const char *what)
{
    for (int i = 0; i < p->nroots; ++i) {
        const root *ro = &p->roots[i];
        for (size_t j = 0; j < ro->size; ++j)
            if (ro->mem[j] != ro->snap[j] && (!succeeded || !ro->may_change[j]))
                finding("%s (%s): byte %zu of buffer %d changed (0x%02x -> 0x%02x), outside every output", what,
                        succeeded ? "succeeded" : "failed", j, i, ro->snap[j], ro->mem[j]);
    }
}

static void pool_free(pool *p)
{
    for (int i = p->nhandles - 1; i >= 0; --i) elattn_buffer_free(p->handles[i]);
    for (int i = 0; i < p->nroots; ++i) {
        free(p->roots[i].host);
        free(p->roots[i].snap);
        free(p->roots[i].may_change);
    }
}

/* Absent or smaller than needed: the call must be refused. */
static int bad_arg(const arg *a) { return !a->buf || a->small; }

/* ---- host arrays ------------------------------------------------------------------------- */
/* The header's rules for cu_seqlens: 0 first, never decreasing, no element longer than max_len. */
static int cu_valid(const int32_t *cu, int batch, int max_len, int min_len)
{
    if (cu[0] != 0) return 0;
    for (int b = 0; b < batch; ++b) {
        int64_t len = (int64_t)cu[b + 1] - cu[b];
        if (len < min_len || len > max_len) return 0;
    }
    return 1;
}

/* `batch` elements of random lengths in [min_len, min(max_len, cap)]; sometimes one entry is any int32. */
static int32_t *make_cu(rd *r, int batch, int max_len, int min_len, int cap)
{
    int32_t *cu = malloc(sizeof(int32_t) * ((size_t)batch + 1));
    int lim = max_len < cap ? max_len : cap, t = 0;
    cu[0] = 0;
    for (int b = 0; b < batch; ++b) {
        int len = (int)(u8(r) % (unsigned)(lim + 1));
        t += len < min_len ? min_len : len;
        cu[b + 1] = t;
    }
    if (u8(r) >= 224) cu[u8(r) % ((unsigned)batch + 1)] = pick_int(r);
    return cu;
}

/* Mode table of `n` entries: mostly valid, sometimes one entry is any int32. */
static int32_t *make_modes(rd *r, int n, int *valid, int counts[3])
{
    int32_t *m = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; ++i) m[i] = (int32_t)(u8(r) % 3);
    if (n && u8(r) >= 240) m[u8(r) % (unsigned)n] = pick_int(r);
    *valid = 1;
    counts[0] = counts[1] = counts[2] = 0;
    for (int i = 0; i < n; ++i) {
        if (m[i] < 0 || m[i] > 2) *valid = 0;
        else counts[m[i]]++;
    }
    return m;
}

/* Sum over elements of len_q * len_k: the attention work of a valid call, per head and dimension. */
static int64_t pairs(const int32_t *cq, const int32_t *ck, int batch)
{
    int64_t s = 0;
    for (int b = 0; b < batch; ++b) s += ((int64_t)cq[b + 1] - cq[b]) * ((int64_t)ck[b + 1] - ck[b]);
    return s;
}

static elattn_stream *pick_stream(rd *r) { return u8(r) % 4 == 0 ? stream : NULL; }

/* ---- plan options ------------------------------------------------------------------------- */
enum { NAME_DEFAULT, NAME_OWN, NAME_OTHER, NAME_BOGUS, NAME_RANDOM };

/* NULL or options; *kind says what the kernel name is for a plan whose own kernel is `own`. */
static const elattn_plan_options *pick_options(rd *r, elattn_plan_options *o, char name[24], const char *own,
                                               int *kind, int *tiles)
{
    /* Kernel names are <backend>.<op>.<family>...: the backend alone selects every
     * operation's kernels, a family of another operation selects none. */
    static const char *const others[] = {"reference.attn", "reference.xattn", "reference.router", "reference"};
    unsigned b = u8(r);
    *kind = NAME_DEFAULT;
    *tiles = 0;
    if (b % 4 == 0) return NULL;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    switch (u8(r) % 8) {
    case 0: o->kernel = NULL; break;
    case 1: o->kernel = ""; break;
    case 2:
    case 3: o->kernel = own, *kind = NAME_OWN; break;
    case 4:
        o->kernel = others[u8(r) % 4];
        *kind = !strcmp(o->kernel, own) || !strcmp(o->kernel, "reference") ? NAME_OWN : NAME_OTHER;
        break;
    case 5: o->kernel = u8(r) % 2 ? "no-such-kernel" : "reference ", *kind = NAME_BOGUS; break;
    default: {
        size_t n = u8(r) % 23;
        for (size_t i = 0; i < n; ++i) name[i] = (char)(u8(r) | 1); /* no NUL inside */
        name[n] = '\0';
        /* The reference's deliberately faulty kernels (reference.attn.fault_*, for
         * the conformance self-test) write outside O on purpose: not fuzzed. */
        if (strstr(name, "fault")) name[0] = 'R';
        o->kernel = name;
        *kind = !strcmp(name, own) ? NAME_OWN : n == 0 ? NAME_DEFAULT : NAME_RANDOM;
    }
    }
    if (b & 4) o->tile_m = pick_int(r);
    if (b & 8) o->tile_n = pick_int(r);
    if (b & 16) o->work_group_size = pick_int(r);
    *tiles = o->tile_m || o->tile_n || o->work_group_size;
    return o;
}

/* Bytes of buffers one run may have (each is copied and compared once). */
#define BYTE_BUDGET ((size_t)256 << 10)

static int pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }
static int dtype_ok(int t) { return t == ELATTN_F32 || t == ELATTN_F16 || t == ELATTN_BF16; }
/* The spec's head dims: multiples of 8 in [32, 256]. */
static int head_dim_ok(int d) { return d >= 32 && d <= 256 && d % 8 == 0; }
static int block_ok(int b) { return pow2(b) && b >= 16 && b <= 256; }

/* ---- attention ------------------------------------------------------------------------------ */
static const char *attn_desc_breaks_header(const elattn_attn_desc *d)
{
    if (!dtype_ok(d->dtype)) return "dtype is not an elattn_dtype";
    if (!head_dim_ok(d->head_dim)) return "head_dim is not a multiple of 8 in [32, 256]";
    if (d->num_q_heads < 1 || d->num_kv_heads < 1 || d->num_q_heads % d->num_kv_heads) return "Hq % Hkv != 0 or a head count < 1";
    if (d->batch < 1 || d->max_seqlen_q < 1 || d->max_seqlen_k < 1) return "batch or a max_seqlen < 1";
    if (d->causal != 0 && d->causal != 1) return "causal is not 0 or 1";
    if (d->write_lse != 0 && d->write_lse != 1) return "write_lse is not 0 or 1";
    if (d->sink < 0) return "sink < 0";
    if (d->local < 1) return "local < 1";
    if (!block_ok(d->block_size)) return "block_size is not a power of two in [16, 256]";
    return NULL;
}

static int attn_desc_plain(const elattn_attn_desc *d)
{
    return !attn_desc_breaks_header(d) && d->num_q_heads <= 64 && d->batch <= 256 && d->max_seqlen_q <= 4096 &&
           d->max_seqlen_k <= 4096 && d->sink <= 4096 && d->local <= 4096 && isfinite(d->scale) &&
           d->scale >= 0.0f && d->scale <= 1e6f;
}

static void run_attn(rd *r, const elattn_attn_plan *plan, const elattn_attn_desc *d)
{
    const int B = d->batch, Hq = d->num_q_heads, Hkv = d->num_kv_heads, D = d->head_dim;
    const int bs = d->block_size;
    const size_t nqb = (size_t)(d->max_seqlen_q + bs - 1) / (size_t)bs, nkb = (size_t)(d->max_seqlen_k + bs - 1) / (size_t)bs;
    const size_t mask_need = (size_t)B * (size_t)Hkv * nqb * nkb, ws_need = elattn_attn_plan_workspace_size(plan);
    /* Budget: the reference's scratch grows with max_seqlen_k * D, its loops with batch * heads. */
    if (B > 256 || (int64_t)B * Hq > 16384 || d->max_seqlen_q > 4096 || d->max_seqlen_k > 4096 ||
        mask_need > (1u << 20) || ws_need > (1u << 24))
        return;
    int32_t *cq = make_cu(r, B, d->max_seqlen_q, 0, 48), *ck = make_cu(r, B, d->max_seqlen_k, 0, 48);
    int vq = cu_valid(cq, B, d->max_seqlen_q, 0), vk = cu_valid(ck, B, d->max_seqlen_k, 0);
    if (vq && vk && pairs(cq, ck, B) * Hq * D > (1 << 20)) {
        free(cq), free(ck);
        return;
    }
    const size_t es = elattn_dtype_size(d->dtype);
    const size_t tq = vq ? (size_t)cq[B] : 0, tk = vk ? (size_t)ck[B] : 0;
    const size_t q_need = tq * Hq * D * es, kv_need = tk * Hkv * D * es, lse_need = tq * Hq * 4;
    if (2 * q_need + 2 * kv_need + lse_need + mask_need + ws_need > BYTE_BUDGET) {
        free(cq), free(ck);
        return;
    }
    int modes_valid, counts[3];
    int32_t *modes = make_modes(r, B * Hkv, &modes_valid, counts);
    int no_modes = u8(r) % 16 == 0;
    const int sparse = !no_modes && modes_valid && counts[ELATTN_BLOCK_SPARSE] > 0;

    pool p;
    memset(&p, 0, sizeof p);
    p.seed = u32(r) | 1;
    arg q = pool_give(&p, r, q_need), k = pool_give(&p, r, kv_need), v = pool_give(&p, r, kv_need);
    arg o = pool_give(&p, r, q_need);
    arg lse = d->write_lse || u8(r) % 8 == 0 ? pool_give(&p, r, lse_need) : no_arg;
    arg mask = sparse || u8(r) % 4 == 0 ? pool_give(&p, r, mask_need) : no_arg;
    arg ws = ws_need || u8(r) % 8 == 0 ? pool_give(&p, r, ws_need) : no_arg;
    /* Aliasing (o as an input, lse as o): not stated in the header, so either answer goes. */
    int alias = 0;
    switch (u8(r) % 32) {
    case 0: o = q, alias = 1; break;
    case 1: o = v, alias = 1; break;
    case 2:
        if (d->write_lse) lse = o, alias = 1;
        break;
    }
    const char *must_fail = !vq ? "cu_seqlens_q breaks the rules"
                            : !vk ? "cu_seqlens_k breaks the rules"
                            : no_modes ? "modes is NULL"
                            : !modes_valid ? "a mode is not an elattn_mode"
                            : bad_arg(&q) || bad_arg(&k) || bad_arg(&v) || bad_arg(&o) ? "q, k, v or o is absent or too small"
                            : d->write_lse && bad_arg(&lse) ? "lse is absent or too small"
                            : sparse && bad_arg(&mask) ? "block_mask is absent or too small with a BLOCK_SPARSE head"
                            : ws_need && bad_arg(&ws) ? "the workspace is absent or too small"
                            : NULL;
    int must_pass = !must_fail && !alias && !(lse.buf && !d->write_lse) && !mask.small && !ws.small;

    elattn_attn_args args = {.struct_size = sizeof(elattn_attn_args), q.buf, k.buf, v.buf, o.buf, lse.buf, cq, ck, no_modes ? NULL : modes, mask.buf, ws.buf};
    pool_snap(&p);
    may_change(&p, &o), may_change(&p, &lse), may_change(&p, &ws);
    elattn_status st = elattn_attn_run(plan, pick_stream(r), &args);
    check_outcome("elattn_attn_run", st, must_fail, must_pass);
    pool_check(&p, st == ELATTN_SUCCESS, "elattn_attn_run");

    /* The same call's sparsity metrics, from a host copy of the mask exactly as large as it should be. */
    uint8_t *mask_host = NULL;
    if (mask.buf && !mask.small) {
        mask_host = malloc(mask_need ? mask_need : 1);
        memcpy(mask_host, p.roots[mask.root].mem + mask.off, mask_need);
    }
    elattn_sparsity sp, sp_before;
    memset(&sp, 0xA5, sizeof sp);
    sp_before = sp;
    st = elattn_sparsity_of_call(d, cq, ck, no_modes ? NULL : modes, mask_host, &sp);
    const char *sp_fail = !vq || !vk ? "cu_seqlens break the rules"
                          : no_modes || !modes_valid ? "modes is NULL or invalid"
                          : sparse && !mask_host ? "no mask with a BLOCK_SPARSE head"
                          : NULL;
    check_outcome("elattn_sparsity_of_call", st, sp_fail, !sp_fail && attn_desc_plain(d));
    if (st != ELATTN_SUCCESS && memcmp(&sp, &sp_before, sizeof sp)) finding("elattn_sparsity_of_call failed but wrote *out");
    if (st == ELATTN_SUCCESS && !(sp.omega_msr >= 0 && sp.omega_msr <= 1 && sp.omega_esr >= 0 && sp.omega_esr <= 1))
        finding("elattn_sparsity_of_call: omega_msr %g, omega_esr %g outside [0, 1]", sp.omega_msr, sp.omega_esr);

    free(mask_host);
    pool_free(&p);
    free(cq), free(ck), free(modes);
}

static void fuzz_attn(rd *r)
{
    elattn_attn_desc d = ELATTN_INIT(elattn_attn_desc);
    d.dtype = (elattn_dtype)(pick_int(r) % 4);
    d.head_dim = pick_int(r);
    d.num_q_heads = pick_int(r);
    d.num_kv_heads = pick_int(r);
    d.batch = pick_int(r);
    d.max_seqlen_q = pick_int(r);
    d.max_seqlen_k = pick_int(r);
    d.causal = pick_int(r);
    d.scale = pick_float(r);
    d.sink = pick_int(r);
    d.local = pick_int(r);
    d.block_size = pick_int(r);
    d.write_lse = pick_int(r);
    elattn_plan_options opt;
    char name[24];
    int kind, tiles;
    const elattn_plan_options *o = pick_options(r, &opt, name, "reference.attn", &kind, &tiles);

    elattn_attn_plan *plan = MARK;
    elattn_status st = elattn_attn_plan_create(dev, &d, o, &plan);
    const char *must_fail = attn_desc_breaks_header(&d);
    if (!must_fail && (kind == NAME_OTHER || kind == NAME_BOGUS)) must_fail = "options.kernel names no attention kernel";
    int must_pass = attn_desc_plain(&d) && kind != NAME_OTHER && kind != NAME_BOGUS && kind != NAME_RANDOM && !tiles;
    check_outcome("elattn_attn_plan_create", st, must_fail, must_pass);
    if (st != ELATTN_SUCCESS) {
        if (plan != MARK) finding("elattn_attn_plan_create failed but wrote *plan");
        return;
    }
    if (!elattn_attn_plan_kernel_name(plan)[0]) finding("a plan without a kernel name");
    /* The mask size must be the exact product, never a wrapped one. */
    unsigned __int128 exact = (unsigned __int128)(unsigned)d.batch * (unsigned)d.num_kv_heads *
                              ((unsigned)(d.max_seqlen_q - 1) / (unsigned)d.block_size + 1) *
                              ((unsigned)(d.max_seqlen_k - 1) / (unsigned)d.block_size + 1);
    if (exact > SIZE_MAX) { /* such a descriptor must be refused when the plan is made (issue 16) */
        finding("a plan for a descriptor whose block mask needs %s bytes: more than SIZE_MAX", "2^64 or more");
    } else if (elattn_block_mask_bytes(&d) != (size_t)exact) {
        finding("elattn_block_mask_bytes %zu, exact %llu", elattn_block_mask_bytes(&d), (unsigned long long)exact);
    }
    run_attn(r, plan, &d);
    elattn_attn_plan_destroy(plan);
}

/* ---- XAttention ---------------------------------------------------------------------------- */
static const char *xattn_desc_breaks_header(const elattn_xattn_desc *d)
{
    if (!dtype_ok(d->dtype)) return "dtype is not an elattn_dtype";
    if (!head_dim_ok(d->head_dim)) return "head_dim is not a multiple of 8 in [32, 256]";
    if (d->num_q_heads < 1 || d->num_kv_heads < 1 || d->num_q_heads % d->num_kv_heads) return "Hq % Hkv != 0 or a head count < 1";
    if (d->batch < 1 || d->max_seqlen_q < 1 || d->max_seqlen_k < 1) return "batch or a max_seqlen < 1";
    if (d->causal != 0 && d->causal != 1) return "causal is not 0 or 1";
    if (!pow2(d->stride) || d->stride > 64) return "stride is not a power of two in [1, 64]";
    if (!block_ok(d->block_size) || d->block_size % d->stride) return "block_size is not valid or not a multiple of stride";
    return NULL;
}

static int xattn_desc_plain(const elattn_xattn_desc *d)
{
    return !xattn_desc_breaks_header(d) && d->num_q_heads <= 64 && d->batch <= 256 && d->max_seqlen_q <= 4096 &&
           d->max_seqlen_k <= 4096 && isfinite(d->scale) && d->scale >= 0.0f && d->scale <= 1e6f;
}

static void run_xattn(rd *r, const elattn_xattn_plan *plan, const elattn_xattn_desc *d)
{
    const int B = d->batch, Hq = d->num_q_heads, Hkv = d->num_kv_heads, D = d->head_dim, bs = d->block_size;
    const size_t nqb = (size_t)(d->max_seqlen_q + bs - 1) / (size_t)bs, nkb = (size_t)(d->max_seqlen_k + bs - 1) / (size_t)bs;
    const size_t mask_need = (size_t)B * (size_t)Hkv * nqb * nkb, ws_need = elattn_xattn_plan_workspace_size(plan);
    if (B > 256 || (int64_t)B * Hq > 16384 || d->max_seqlen_q > 4096 || d->max_seqlen_k > 4096 ||
        mask_need > (1u << 20) || ws_need > (1u << 24))
        return;
    int32_t *cq = make_cu(r, B, d->max_seqlen_q, 0, 48), *ck = make_cu(r, B, d->max_seqlen_k, 0, 48);
    int vq = cu_valid(cq, B, d->max_seqlen_q, 0), vk = cu_valid(ck, B, d->max_seqlen_k, 0);
    if (vq && vk && pairs(cq, ck, B) * Hq * D > (1 << 20)) {
        free(cq), free(ck);
        return;
    }
    const size_t es = elattn_dtype_size(d->dtype);
    const size_t tq = vq ? (size_t)cq[B] : 0, tk = vk ? (size_t)ck[B] : 0;
    const size_t q_need = tq * Hq * D * es, k_need = tk * Hkv * D * es;
    if (q_need + k_need + mask_need + ws_need > BYTE_BUDGET) {
        free(cq), free(ck);
        return;
    }
    int modes_valid, counts[3];
    int32_t *modes = make_modes(r, B * Hkv, &modes_valid, counts);
    int no_modes = u8(r) % 4 == 0; /* NULL: every head */
    /* Thresholds: one, one per KV head, or any count; values mostly in (0, 1]. */
    int nthr = u8(r) % 8;
    nthr = nthr == 0 ? pick_int(r) : nthr < 4 ? Hkv : 1;
    size_t thr_len = nthr >= 1 && nthr <= 4096 ? (size_t)nthr : 1;
    float *thr = malloc(sizeof(float) * thr_len);
    int thr_valid = 1;
    for (size_t i = 0; i < thr_len; ++i) {
        thr[i] = u8(r) % 4 == 0 ? pick_float(r) : 0.05f + 0.95f * (float)u8(r) / 255.0f;
        if ((int)i < nthr && !(thr[i] > 0.0f && thr[i] <= 1.0f)) thr_valid = 0;
    }
    int no_thr = u8(r) % 32 == 0;

    pool p;
    memset(&p, 0, sizeof p);
    p.seed = u32(r) | 1;
    arg q = pool_give(&p, r, q_need), k = pool_give(&p, r, k_need);
    arg mask = pool_give(&p, r, mask_need);
    arg ws = ws_need || u8(r) % 8 == 0 ? pool_give(&p, r, ws_need) : no_arg;
    int alias = 0;
    if (u8(r) % 32 == 0) mask = q, alias = 1;
    const char *must_fail = !vq ? "cu_seqlens_q breaks the rules"
                            : !vk ? "cu_seqlens_k breaks the rules"
                            : !no_modes && !modes_valid ? "a mode is not an elattn_mode"
                            : no_thr ? "thresholds is NULL"
                            : nthr != 1 && nthr != Hkv ? "num_thresholds is not 1 or Hkv"
                            : !thr_valid ? "a threshold is outside (0, 1]"
                            : bad_arg(&q) || bad_arg(&k) || bad_arg(&mask) ? "q, k or block_mask is absent or too small"
                            : ws_need && bad_arg(&ws) ? "the workspace is absent or too small"
                            : NULL;
    int must_pass = !must_fail && !alias && !ws.small;

    elattn_xattn_args args = {.struct_size = sizeof(elattn_xattn_args), q.buf, k.buf, cq, ck, no_modes ? NULL : modes, no_thr ? NULL : thr, nthr, mask.buf, ws.buf};
    pool_snap(&p);
    may_change(&p, &mask), may_change(&p, &ws);
    elattn_status st = elattn_xattn_run(plan, pick_stream(r), &args);
    check_outcome("elattn_xattn_run", st, must_fail, must_pass);
    pool_check(&p, st == ELATTN_SUCCESS, "elattn_xattn_run");
    /* "the mask rows of other heads are left as they were" */
    if (st == ELATTN_SUCCESS && !no_modes && !alias) {
        const root *ro = &p.roots[mask.root];
        size_t cells = nqb * nkb;
        for (int e = 0; e < B * Hkv; ++e) {
            size_t at = mask.off + (size_t)e * cells;
            if (modes[e] != ELATTN_BLOCK_SPARSE && memcmp(ro->mem + at, ro->snap + at, cells))
                finding("elattn_xattn_run wrote the mask of entry %d, whose mode is %d", e, (int)modes[e]);
        }
    }
    pool_free(&p);
    free(cq), free(ck), free(modes), free(thr);
}

static void fuzz_xattn(rd *r)
{
    elattn_xattn_desc d = ELATTN_INIT(elattn_xattn_desc);
    d.dtype = (elattn_dtype)(pick_int(r) % 4);
    d.head_dim = pick_int(r);
    d.num_q_heads = pick_int(r);
    d.num_kv_heads = pick_int(r);
    d.batch = pick_int(r);
    d.max_seqlen_q = pick_int(r);
    d.max_seqlen_k = pick_int(r);
    d.causal = pick_int(r);
    d.scale = pick_float(r);
    d.stride = pick_int(r);
    d.block_size = pick_int(r);
    elattn_plan_options opt;
    char name[24];
    int kind, tiles;
    const elattn_plan_options *o = pick_options(r, &opt, name, "reference.xattn", &kind, &tiles);

    elattn_xattn_plan *plan = MARK;
    elattn_status st = elattn_xattn_plan_create(dev, &d, o, &plan);
    const char *must_fail = xattn_desc_breaks_header(&d);
    if (!must_fail && (kind == NAME_OTHER || kind == NAME_BOGUS)) must_fail = "options.kernel names no XAttention kernel";
    int must_pass = xattn_desc_plain(&d) && kind != NAME_OTHER && kind != NAME_BOGUS && kind != NAME_RANDOM && !tiles;
    check_outcome("elattn_xattn_plan_create", st, must_fail, must_pass);
    if (st != ELATTN_SUCCESS) {
        if (plan != MARK) finding("elattn_xattn_plan_create failed but wrote *plan");
        return;
    }
    run_xattn(r, plan, &d);
    elattn_xattn_plan_destroy(plan);
}

/* ---- router --------------------------------------------------------------------------------- */
static const char *router_desc_breaks_header(const elattn_router_desc *d)
{
    if (!dtype_ok(d->key_dtype)) return "key_dtype is not an elattn_dtype";
    if (d->head_dim < 1 || d->hidden < 1 || d->num_kv_heads < 1 || d->batch < 1 || d->max_seqlen < 1)
        return "a size < 1";
    if (d->retrieval_mode < 0 || d->retrieval_mode > 2 || d->sparse_mode < 0 || d->sparse_mode > 2)
        return "a mode is not an elattn_mode";
    return NULL;
}

static int router_desc_plain(const elattn_router_desc *d)
{
    return !router_desc_breaks_header(d) && d->head_dim <= 128 && d->hidden <= 512 && d->num_kv_heads <= 64 &&
           d->batch <= 256 && d->max_seqlen <= 4096 && d->retrieval_mode == ELATTN_FULL &&
           d->sparse_mode == ELATTN_STREAMING;
}

static void run_router(rd *r, const elattn_router_plan *plan, const elattn_router_desc *d)
{
    const int B = d->batch, Hkv = d->num_kv_heads;
    const size_t D = (size_t)d->head_dim, H = (size_t)d->hidden, ws_need = elattn_router_plan_workspace_size(plan);
    if (B > 256 || (int64_t)B * Hkv > 16384 || D * H > (1u << 16) || d->max_seqlen > 4096 || ws_need > (1u << 24))
        return;
    int32_t *cu = make_cu(r, B, d->max_seqlen, 1, 300);
    /* The header states 0 first, never decreasing, at most max_seqlen; the core also wants a token per element. */
    int documented = cu_valid(cu, B, d->max_seqlen, 0), valid = cu_valid(cu, B, d->max_seqlen, 1);
    const size_t total = valid ? (size_t)cu[B] : 0, entries = (size_t)B * (size_t)Hkv;
    const size_t keys_need = total * Hkv * D * elattn_dtype_size(d->key_dtype);
    if (keys_need + 4 * (4 * H * D + 2 * H + 4 * D + 2) + entries * 8 + ws_need > BYTE_BUDGET) {
        free(cu);
        return;
    }

    pool p;
    memset(&p, 0, sizeof p);
    p.seed = u32(r) | 1;
    arg keys = pool_give(&p, r, keys_need);
    const size_t floats[10] = {H * D, H, D * H, D, H * D, H, D * H, D, 2 * D, 2};
    arg w[10];
    int weights_bad = 0;
    for (int i = 0; i < 10; ++i) {
        w[i] = pool_give(&p, r, floats[i] * 4);
        weights_bad |= bad_arg(&w[i]);
    }
    arg logits = u8(r) % 4 ? pool_give(&p, r, entries * 8) : no_arg;
    arg ws = ws_need || u8(r) % 8 == 0 ? pool_give(&p, r, ws_need) : no_arg;
    /* The host mode table, between guards. */
    const size_t guard = 8;
    int32_t *modes_mem = malloc(sizeof(int32_t) * (entries + 2 * guard));
    for (size_t i = 0; i < entries + 2 * guard; ++i) modes_mem[i] = 0x5A5A5A5A;
    int no_modes = u8(r) % 32 == 0;
    const char *must_fail = !documented ? "cu_seqlens break the rules"
                            : bad_arg(&keys) ? "keys is absent or too small"
                            : weights_bad ? "a weight is absent or too small"
                            : logits.small ? "logits is too small"
                            : ws_need && bad_arg(&ws) ? "the workspace is absent or too small"
                            : NULL;
    int must_pass = !must_fail && valid && !no_modes && !ws.small;

    elattn_router_args args = {
        .struct_size = sizeof(elattn_router_args),
        keys.buf, cu,
        {w[0].buf, w[1].buf, w[2].buf, w[3].buf, w[4].buf, w[5].buf, w[6].buf, w[7].buf, w[8].buf, w[9].buf},
        logits.buf, no_modes ? NULL : modes_mem + guard, ws.buf,
    };
    pool_snap(&p);
    may_change(&p, &logits), may_change(&p, &ws);
    elattn_status st = elattn_router_run(plan, pick_stream(r), &args);
    check_outcome("elattn_router_run", st, must_fail, must_pass);
    pool_check(&p, st == ELATTN_SUCCESS, "elattn_router_run");
    for (size_t i = 0; i < entries + 2 * guard; ++i) {
        int inside = i >= guard && i < guard + entries;
        int32_t m = modes_mem[i];
        if (!inside || st != ELATTN_SUCCESS || no_modes) {
            if (m != 0x5A5A5A5A) finding("elattn_router_run wrote mode table entry %lld", (long long)i - (long long)guard);
        } else if (m != (int32_t)d->retrieval_mode && m != (int32_t)d->sparse_mode) {
            finding("elattn_router_run decided mode %d, neither retrieval %d nor sparse %d", (int)m,
                    (int)d->retrieval_mode, (int)d->sparse_mode);
        }
    }
    pool_free(&p);
    free(cu), free(modes_mem);
}

static void fuzz_router(rd *r)
{
    elattn_router_desc d = ELATTN_INIT(elattn_router_desc);
    d.key_dtype = (elattn_dtype)(pick_int(r) % 4);
    d.head_dim = pick_int(r);
    d.hidden = pick_int(r);
    d.num_kv_heads = pick_int(r);
    d.batch = pick_int(r);
    d.max_seqlen = pick_int(r);
    d.retrieval_mode = (elattn_mode)pick_int(r);
    d.sparse_mode = (elattn_mode)pick_int(r);
    elattn_plan_options opt;
    char name[24];
    int kind, tiles;
    const elattn_plan_options *o = pick_options(r, &opt, name, "reference.router", &kind, &tiles);

    elattn_router_plan *plan = MARK;
    elattn_status st = elattn_router_plan_create(dev, &d, o, &plan);
    const char *must_fail = router_desc_breaks_header(&d);
    if (!must_fail && (kind == NAME_OTHER || kind == NAME_BOGUS)) must_fail = "options.kernel names no router kernel";
    int must_pass = router_desc_plain(&d) && kind != NAME_OTHER && kind != NAME_BOGUS && kind != NAME_RANDOM && !tiles;
    check_outcome("elattn_router_plan_create", st, must_fail, must_pass);
    if (st != ELATTN_SUCCESS) {
        if (plan != MARK) finding("elattn_router_plan_create failed but wrote *plan");
        return;
    }
    run_router(r, plan, &d);
    elattn_router_plan_destroy(plan);
}

/* ---- buffer calls --------------------------------------------------------------------------- */
#define MAX_HANDLES 10

typedef struct handle {
    elattn_buffer *b;
    int root, parent, children, dead;
    size_t base, size; /* its bytes in its root */
} handle;

/* [off, off + len) inside [0, size), without overflow. */
static int in_range(size_t off, size_t len, size_t size) { return off <= size && len <= size - off; }

/* (rows - 1) * pitch + width, the bytes a 2-D copy spans; nonzero if that overflows. */
static int extent_overflows(size_t rows, size_t pitch, size_t width, size_t *ext)
{
    if (rows > 1 && pitch > (SIZE_MAX - width) / (rows - 1)) return 1;
    *ext = (rows - 1) * pitch + width;
    return 0;
}

/* Copies and fills are asynchronous: wait before looking at the bytes. The API
 * has no call that waits on the default stream (NULL); the reference's work is
 * synchronous anyway, so this keeps the harness honest for the second stream only. */
static void sync_both(void)
{
    if (elattn_stream_synchronize(stream)) finding("elattn_stream_synchronize: %s", elattn_last_error());
}

static void op_copy_2d(rd *r, pool *p, handle *hs, int nh)
{
    handle *dh = &hs[u8(r) % (unsigned)nh], *sh = &hs[u8(r) % (unsigned)nh];
    size_t doff, dpitch, soff, spitch, width, rows;
    if (u8(r) < 160) { /* mostly copies that fit */
        width = u8(r) % 64;
        dpitch = width + u8(r) % 32;
        spitch = width + u8(r) % 32;
        rows = u8(r) % 24;
        doff = u8(r) % (dh->size + 1);
        soff = u8(r) % (sh->size + 1);
    } else {
        doff = pick_size(r), dpitch = pick_size(r), soff = pick_size(r), spitch = pick_size(r);
        width = pick_size(r), rows = pick_size(r);
    }
    if (dh->dead || sh->dead) return;
    size_t dext = SIZE_MAX, sext = SIZE_MAX; /* an extent that overflows lies outside any buffer */
    int empty = rows == 0 || width == 0;
    /* an extent past SIZE_MAX (pitch 2^63, 3 rows: issue 16) lies outside every buffer: refused */
    if (!empty) {
        extent_overflows(rows, dpitch, width, &dext);
        extent_overflows(rows, spitch, width, &sext);
    }
    int fits = !empty && width <= dpitch && width <= spitch && in_range(doff, dext, dh->size) && in_range(soff, sext, sh->size);
    int outside = !empty && (!in_range(doff, dext, dh->size) || !in_range(soff, sext, sh->size));
    pool_snap(p);
    elattn_status st = elattn_buffer_copy_2d(dh->b, doff, dpitch, sh->b, soff, spitch, width, rows, pick_stream(r));
    check_outcome("elattn_buffer_copy_2d", st, outside ? "a row lies outside a buffer" : NULL, fits);
    sync_both(); /* after the check: a call clears the last error */
    root *dr = &p->roots[dh->root], *sr = &p->roots[sh->root];
    if (st == ELATTN_SUCCESS && !empty) {
        size_t d0 = dh->base + doff, s0 = sh->base + soff;
        int overlap = dh->root == sh->root && d0 < s0 + sext && s0 < d0 + dext;
        if (overlap) { /* the header does not say what overlapping rows give: only the rows may change */
            for (size_t i = 0; i < rows; ++i) memset(dr->may_change + d0 + i * dpitch, 1, width);
            pool_check(p, 1, "elattn_buffer_copy_2d (overlapping)");
            return;
        }
        for (size_t i = 0; i < rows; ++i) memcpy(dr->snap + d0 + i * dpitch, sr->snap + s0 + i * spitch, width);
    }
    pool_check(p, 0, "elattn_buffer_copy_2d"); /* compares with the snapshot, updated by the model */
}

static void op_view(rd *r, pool *p, handle *hs, int *nh)
{
    int pi = (int)(u8(r) % (unsigned)*nh);
    handle *ph = &hs[pi];
    size_t off = u8(r) < 128 ? 256 * (size_t)(u8(r) % 20) : pick_size(r), bytes = pick_size(r);
    if (ph->dead) return;
    int fits = bytes > 0 && off % 256 == 0 && in_range(off, bytes, ph->size);
    elattn_buffer *v = MARK;
    pool_snap(p);
    elattn_status st = elattn_buffer_view(ph->b, off, bytes, &v);
    /* A view of a view: the header does not say; either answer goes, but never outside the range. */
    check_outcome("elattn_buffer_view", st, fits ? NULL : "the range is not inside the parent or not aligned",
                  fits && ph->parent < 0);
    pool_check(p, 0, "elattn_buffer_view");
    if (st != ELATTN_SUCCESS) {
        if (v != MARK) finding("elattn_buffer_view failed but wrote *view");
        return;
    }
    if (elattn_buffer_size(v) != bytes) finding("a view of %zu bytes has size %zu", bytes, elattn_buffer_size(v));
    if ((uint8_t *)elattn_buffer_native(v) != p->roots[ph->root].mem + ph->base + off)
        finding("a reference view's host pointer is not its parent's plus the offset");
    if (*nh == MAX_HANDLES) {
        elattn_buffer_free(v);
        return;
    }
    hs[*nh] = (handle){v, ph->root, pi, 0, 0, ph->base + off, bytes};
    ph->children++;
    ++*nh;
}

static void op_fill(rd *r, pool *p, handle *h)
{
    size_t off = u8(r) < 128 ? u8(r) % (h->size + 1) : pick_size(r);
    size_t bytes = u8(r) < 128 ? u8(r) % (h->size + 1) : pick_size(r);
    uint8_t value = (uint8_t)u8(r);
    int fits = in_range(off, bytes, h->size);
    pool_snap(p);
    elattn_status st = elattn_buffer_fill(h->b, off, value, bytes, pick_stream(r));
    check_outcome("elattn_buffer_fill", st, fits ? NULL : "the range is outside the buffer", fits);
    sync_both();
    if (st == ELATTN_SUCCESS) memset(p->roots[h->root].snap + h->base + off, value, bytes);
    pool_check(p, 0, "elattn_buffer_fill");
}

static void op_upload(rd *r, pool *p, handle *h, int download)
{
    size_t off = u8(r) < 128 ? u8(r) % (h->size + 1) : pick_size(r);
    size_t bytes = u8(r) < 128 ? u8(r) % (h->size + 1) : pick_size(r);
    int fits = in_range(off, bytes, h->size);
    /* Host memory only as large as the call may touch when it is valid: ASan sees the rest. */
    size_t host_len = bytes <= 65536 ? bytes : 65536;
    uint8_t *host = malloc(host_len ? host_len : 1), *host_snap = malloc(host_len ? host_len : 1);
    pool_fill(p, host, host_len);
    memcpy(host_snap, host, host_len);
    pool_snap(p);
    elattn_status st = download ? elattn_buffer_download(h->b, off, host, bytes, pick_stream(r))
                                : elattn_buffer_upload(h->b, off, host, bytes, pick_stream(r));
    const char *what = download ? "elattn_buffer_download" : "elattn_buffer_upload";
    check_outcome(what, st, fits ? NULL : "the range is outside the buffer", fits);
    if (st == ELATTN_SUCCESS) { /* fits: the offset is inside the root */
        uint8_t *at = p->roots[h->root].snap + h->base + off;
        if (!download) memcpy(at, host, bytes);
        else if (memcmp(host, at, bytes)) finding("%s: the bytes differ", what);
    }
    if (st != ELATTN_SUCCESS && download && memcmp(host, host_snap, host_len)) finding("%s failed but wrote dst", what);
    pool_check(p, 0, what);
    free(host), free(host_snap);
}

static void op_events(rd *r)
{
    elattn_event *a = MARK, *b = MARK;
    unsigned how = u8(r);
    elattn_status st = elattn_event_create(dev, &a);
    check_outcome("elattn_event_create", st, NULL, 1);
    st = elattn_event_create(dev, &b);
    check_outcome("elattn_event_create", st, NULL, 1);
    if (how & 1) check_outcome("elattn_event_record", elattn_event_record(a, pick_stream(r)), NULL, 1);
    if (how & 2) check_outcome("elattn_event_record", elattn_event_record(b, pick_stream(r)), NULL, 1);
    float ms = -12345.0f;
    st = elattn_event_elapsed_ms(how & 4 ? b : a, how & 8 ? a : b, &ms);
    check_status("elattn_event_elapsed_ms", st);
    if (st != ELATTN_SUCCESS && ms != -12345.0f) finding("elattn_event_elapsed_ms failed but wrote *ms");
    if (st == ELATTN_SUCCESS && !isfinite(ms)) finding("elattn_event_elapsed_ms: %g", (double)ms);
    elattn_event_destroy(a);
    elattn_event_destroy(b);
}

static void fuzz_buffers(rd *r)
{
    pool p;
    memset(&p, 0, sizeof p);
    p.seed = u32(r) | 1;
    handle hs[MAX_HANDLES];
    int nh = 0, roots = 1 + (int)(u8(r) % 2);
    for (int i = 0; i < roots; ++i) {
        size_t size = u8(r);
        size = 1 + (size | (u8(r) & 15u) << 8); /* up to 4096 bytes */
        arg a = pool_make(&p, r, size, 0);
        hs[nh++] = (handle){a.buf, a.root, -1, 0, 0, 0, size};
    }
    for (int op = 0; op < 24 && r->n; ++op) {
        unsigned kind = u8(r) % 8;
        handle *h = &hs[u8(r) % (unsigned)nh];
        switch (kind) {
        case 0: op_view(r, &p, hs, &nh); break;
        case 1: if (!h->dead) op_fill(r, &p, h); break;
        case 2:
        case 3: op_copy_2d(r, &p, hs, nh); break;
        case 4: if (!h->dead) op_upload(r, &p, h, 0); break;
        case 5: if (!h->dead) op_upload(r, &p, h, 1); break;
        case 6: /* free a view nothing else depends on */
            if (!h->dead && h->parent >= 0 && h->children == 0) {
                elattn_buffer_free(h->b);
                h->dead = 1;
                hs[h->parent].children--;
            }
            break;
        default: op_events(r); break;
        }
    }
    for (int i = nh - 1; i >= 0; --i) /* views before their parents */
        if (!hs[i].dead && hs[i].parent >= 0) elattn_buffer_free(hs[i].b);
    pool_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd r = {data, size};
    switch (u8(&r) % 4) {
    case 0: fuzz_attn(&r); break;
    case 1: fuzz_xattn(&r); break;
    case 2: fuzz_router(&r); break;
    default: fuzz_buffers(&r); break;
    }
    return 0;
}

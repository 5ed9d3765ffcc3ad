/*
 * elattn-decode-bench: one decode step over a per-head KV cache (elattn_kv_cache +
 * elattn_decode_run), the benchmark of issue 14 item 4.
 *
 * One layer: Hq 32, Hkv 8, D 128, bf16, sink 128, local 2048, pages of 16 tokens, 1 new token
 * per sequence; context 8K / 32K / 128K x batch 1 / 16 / 64 x mixes dense, fa-ssa:0.5 and
 * fa-ssa:0.75 (a fraction F of the KV heads STREAMING, listed last; the rest FULL).
 *
 * Per (context, mix) one cache holds the largest batch. Sequences are prefilled by appends of
 * one random chunk uploaded once (fast: 64 x 128K is 32 GiB of bf16 K+V); the batches are
 * measured in ascending order, each adding its sequences to the cache, so that the cache's
 * own report (elattn_kv_cache_bytes) is what that batch holds.
 *
 * What is timed: elattn_decode_run alone, over a fixed cache state. The step appends nothing:
 * the last `new` positions of each sequence act as the step's new tokens (their K/V are in the
 * cache already, as after a real step's append). Each repetition: an L2 flush outside the events
 * (flush_l2: --flush write, a buffer fill, leaves L2 full of dirty lines that the step writes
 * back, as torch's cache.zero_() does; --flush read, the fill and then the buffer read through
 * copies into a 4 MiB scratch, leaves clean lines, as a step finds L2 after a layer's GEMMs),
 * then start event, decode run, end event; after a warm-up,
 * repetitions until --min-reps and --min-time (or --max-reps, or --max-time); median and
 * quartiles. The device's copy bandwidth is measured in the same process (elattn_buffer_copy_2d,
 * device to device; bandwidth = 2 x bytes / time: each byte is read once and written once).
 *
 * KV bytes a step reads (the spec's arithmetic, kernels/SPEC.md section 9): per (sequence, KV
 * head) the occupied slots x 2 (K and V) x D x dtype size, slots = length (FULL, BLOCK_SPARSE)
 * or min(length, sink + ring) (STREAMING), ring = local + new - 1. Every occupied slot is visible
 * to some new query of the step (kernels/gpu/decode.cuh tests visibility before it loads), so
 * these are the bytes a kernel that reads each K/V row once per KV head must move; Q, O and
 * the page table (< 0.1 % here) are not counted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "elattn_spec.h" /* elattn_quest_*: the pages Quest reads (--page-budget) */
#include "kit_json.h"
#include "kit_values.h"

#define CHECK_NMSE_BOUND 1e-4 /* bf16/fp16 outputs round at ~2^-9 relative: nmse ~1e-6 when right */

typedef struct opts {
    const char *device, *json_path;
    const char *kernel; /* --kernel: elattn_plan_options.kernel of the decode plans (NULL: the device's pick) */
    int_list lens, batches;
    int n_mixes;
    mix mixes[MAX_LIST];
    elattn_dtype dtype;
    int head_dim, hq, hkv, sink, local, page, new_tokens, chunk, splits;
    int page_budget; /* --page-budget: Quest page selection for the BLOCK_SPARSE heads (0: off) */
    int warmup, min_reps, max_reps;
    double settle_s; /* < 0: the device's default (--settle-s) */
    double min_time_s, max_time_s, budget_s;
    double flush_mib, copy_mib; /* < 0: the device's default */
    int lead_tokens;            /* < 0: the device's default; 0: no lead (bench_lead, bench.h) */
    int flush_read;             /* --flush read: the flush leaves clean lines (else a fill: dirty ones) */
    int check, list_only, samples;
    int decode_batch;           /* --decode-batch: time runs with a decode batch (elattn_decode_batch_create) */
    unsigned long long seed;
} opts;

typedef struct row {
    int len, batch, mix_index;
    char mix[32];
    const char *status; /* ok, skipped, error */
    char message[320];
    timing t;              /* ms */
    double read_bytes;     /* spec arithmetic */
    size_t held_bytes;     /* elattn_kv_cache_bytes */
    double fill_s;         /* this batch's appends */
    int splits;
    char kernel[128];
} row;

static row *rows;
static int n_rows, cap_rows;
static double copy_gbps, copy_ms, copy_bytes;
static char copy_note[160];
static int check_failed;
static const char *check_summary[MAX_LIST];
static double check_nmse[MAX_LIST];

static row *new_row(const opts *o, int len, int batch, int mi)
{
    if (n_rows == cap_rows) {
        cap_rows = cap_rows ? 2 * cap_rows : 64;
        rows = realloc(rows, sizeof *rows * (size_t)cap_rows);
        if (!rows) {
            fprintf(stderr, "elattn-decode-bench: out of host memory\n");
            exit(1);
        }
    }
    row *r = &rows[n_rows++];
    memset(r, 0, sizeof *r);
    r->len = len, r->batch = batch, r->mix_index = mi, r->status = "ok";
    mix_label(&o->mixes[mi], r->mix, sizeof r->mix);
    return r;
}

/* ---- options -------------------------------------------------------------------------------- */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: elattn-decode-bench [options]\n"
            "  --device ID        one device (default auto: the best); cuda:0, opencl:1, reference, BACKEND:gpu\n"
            "  --kernel NAME      force a decode kernel family (elattn_plan_options.kernel), e.g. opencl.decode.scalar\n"
            "  --list             list the devices and exit\n"
            "  --lens LIST        context lengths (default 8k,32k,128k)\n"
            "  --batch LIST       sequences per step (default 1,16,64)\n"
            "  --mix LIST         dense, fa-ssa:0.5, ... (default dense,fa-ssa:0.5,fa-ssa:0.75; a fraction F of the\n"
            "                     KV heads in the pair's sparse mode, listed last)\n"
            "  --head-dim D       128 (default) or any the cache takes (64, ...)\n"
            "  --dtype bf16|fp16  (default bf16)\n"
            "  --heads HQ:HKV     (default 32:8)   --sink N --local N (default 128, 2048)\n"
            "  --page P           tokens per page (default 16)\n"
            "  --new N            new tokens per sequence per step, 1..16 (default 1); the cache's max_new_tokens\n"
            "  --chunk N          tokens per prefill append (default 8192)\n"
            "  --page-budget B    Quest page selection for BLOCK_SPARSE heads (fa-xa, xa-ssa mixes; kernels/SPEC.md\n"
            "                     section 9b): the cache keeps page summaries, the plan reads B scored pages (default 0:\n"
            "                     off, they decode densely)\n"
            "  --splits N         elattn_decode_desc.num_splits: every head cut into N chunks (default 0: the\n"
            "                     plan's policy)\n"
            "  --warmup N --min-reps N --max-reps N   (defaults 3, 10, 100)\n"
            "  --settle-s S       the first config timed in each new cache warms up for at least S s (default 0.25\n"
            "                     on a GPU, 0 otherwise): right after the previous cache's pool was freed and this\n"
            "                     one allocated, the first 25-60+ steps ran up to 14%% slower (H100, calls 144-145)\n"
            "  --min-time S       time each config to at least S s (default 0.2) --max-time S: at most (default 2,\n"
            "                     after 3 reps)\n"
            "  --flush-mib N      L2 flush buffer touched before each rep (default 256 on a GPU, 0 otherwise)\n"
            "  --flush write|read how the flush touches it (default write: a fill, which leaves L2's lines dirty\n"
            "                     for the step to write back; read: the fill, then copies into a 4 MiB scratch: clean)\n"
            "  --copy-mib N       the copy-bandwidth buffer (default 2048 on a GPU, 1024 on an OpenCL GPU, 64\n"
            "                     otherwise)\n"
            "  --lead-tokens N    after the flush, an untimed attention over N tokens (one head, D 128) that keeps\n"
            "                     the device busy while the host queues the step (default 8192 on a GPU with a\n"
            "                     flush, 0 otherwise; 0: none, and the step's own host work may be timed)\n"
            "  --budget-s S       configs not started after S s (from the start) are reported skipped (budget)\n"
            "  --samples          print every rep's time (ms, in order) after each config's line\n"
            "  --decode-batch     time runs with a decode batch (made once per config: the work list on the\n"
            "                     device, lengths read there; what a CUDA graph captures) instead of plain runs\n"
            "  --check            per mix, one decode step at a small size against the reference device;\n"
            "                     exit 1 when its nmse exceeds %g\n"
            "  --seed N  --json FILE\n",
            CHECK_NMSE_BOUND);
}

static int parse_opts(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->device = "auto";
    o->lens = (int_list){3, {8192, 32768, 131072}};
    o->batches = (int_list){3, {1, 16, 64}};
    o->dtype = ELATTN_BF16;
    o->head_dim = 128, o->hq = 32, o->hkv = 8, o->sink = 128, o->local = 2048, o->page = 16, o->new_tokens = 1;
    o->chunk = 8192;
    o->warmup = 3, o->min_reps = 10, o->max_reps = 100, o->min_time_s = 0.2, o->max_time_s = 2.0;
    o->settle_s = -1;
    o->flush_mib = -1, o->copy_mib = -1, o->lead_tokens = -1;
    o->seed = 20260214ULL;
    int user_mix = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--list") == 0) {
            o->list_only = 1;
            continue;
        }
        if (strcmp(a, "--check") == 0) {
            o->check = 1;
            continue;
        }
        if (strcmp(a, "--samples") == 0) {
            o->samples = 1;
            continue;
        }
        if (strcmp(a, "--decode-batch") == 0) {
            o->decode_batch = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "elattn-decode-bench: %s: unknown option, or it needs a value (--help lists them)\n", a);
            return 2;
        }
        ++i;
        int bad = 0;
        char *end = NULL;
        if (strcmp(a, "--device") == 0) o->device = v;
        else if (strcmp(a, "--kernel") == 0) o->kernel = v;
        else if (strcmp(a, "--flush") == 0) {
            bad = strcmp(v, "write") != 0 && strcmp(v, "read") != 0;
            o->flush_read = strcmp(v, "read") == 0;
        }
        else if (strcmp(a, "--json") == 0) o->json_path = v;
        else if (strcmp(a, "--lens") == 0) bad = parse_int_list(v, &o->lens);
        else if (strcmp(a, "--batch") == 0) bad = parse_int_list(v, &o->batches);
        else if (strcmp(a, "--mix") == 0) {
            if (!user_mix) o->n_mixes = 0, user_mix = 1;
            bad = parse_mix_list(v, o->mixes, &o->n_mixes);
        } else if (strcmp(a, "--dtype") == 0) {
            int_list d;
            bad = parse_dtypes(v, &d) || d.n != 1 || d.v[0] == ELATTN_F32;
            if (!bad) o->dtype = (elattn_dtype)d.v[0];
        } else if (strcmp(a, "--heads") == 0) {
            bad = sscanf(v, "%d:%d", &o->hq, &o->hkv) != 2 || o->hkv < 1 || o->hq < o->hkv || o->hq % o->hkv;
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = strtoull(v, &end, 10);
            bad = *end != '\0';
        } else if (strcmp(a, "--min-time") == 0 || strcmp(a, "--max-time") == 0 || strcmp(a, "--budget-s") == 0 ||
                   strcmp(a, "--flush-mib") == 0 || strcmp(a, "--copy-mib") == 0 || strcmp(a, "--settle-s") == 0) {
            double x = strtod(v, &end);
            bad = *end != '\0' || !(x >= 0.0) || !isfinite(x);
            if (strcmp(a, "--min-time") == 0) o->min_time_s = x;
            else if (strcmp(a, "--max-time") == 0) o->max_time_s = x;
            else if (strcmp(a, "--budget-s") == 0) o->budget_s = x;
            else if (strcmp(a, "--flush-mib") == 0) o->flush_mib = x;
            else if (strcmp(a, "--settle-s") == 0) o->settle_s = x;
            else o->copy_mib = x;
        } else {
            static const char *const names[] = {"--head-dim", "--sink", "--local", "--page", "--new", "--chunk",
                                                "--warmup", "--min-reps", "--max-reps", "--splits", "--lead-tokens",
                                                "--page-budget"};
            int *const dst[] = {&o->head_dim, &o->sink, &o->local, &o->page, &o->new_tokens, &o->chunk,
                                &o->warmup, &o->min_reps, &o->max_reps, &o->splits, &o->lead_tokens,
                                &o->page_budget};
            const int n_names = (int)(sizeof names / sizeof names[0]);
            int k = 0;
            while (k < n_names && strcmp(a, names[k]) != 0) ++k;
            if (k == n_names) {
                fprintf(stderr, "elattn-decode-bench: unknown option %s (--help lists them)\n", a);
                return 2;
            }
            long n = strtol(v, &end, 10);
            bad = *end != '\0' || n < 0 || n > (1 << 26);
            *dst[k] = (int)n;
        }
        if (bad) {
            fprintf(stderr, "elattn-decode-bench: %s %s: invalid value\n", a, v);
            return 2;
        }
    }
    if (!user_mix) parse_mix_list("dense,fa-ssa:0.5,fa-ssa:0.75", o->mixes, &o->n_mixes);
    if (o->new_tokens < 1 || o->new_tokens > ELATTN_DECODE_MAX_NEW_TOKENS) {
        fprintf(stderr, "elattn-decode-bench: --new %d: outside [1, %d]\n", o->new_tokens, ELATTN_DECODE_MAX_NEW_TOKENS);
        return 2;
    }
    if (o->hkv > KIT_MAX_MODES / KIT_MAX_BATCH) {
        fprintf(stderr, "elattn-decode-bench: --heads: at most %d KV heads\n", KIT_MAX_MODES / KIT_MAX_BATCH);
        return 2;
    }
    if (o->chunk < 1 || o->local < 1 || o->min_reps < 1) {
        fprintf(stderr, "elattn-decode-bench: --chunk, --local and --min-reps must be >= 1\n");
        return 2;
    }
    if (o->max_reps < o->min_reps) o->max_reps = o->min_reps;
    for (int i = 0; i < o->n_mixes; ++i) {
        double n = o->mixes[i].sparse_frac * o->hkv;
        if (fabs(n - lround(n)) > 1e-9) {
            char label[48];
            mix_label(&o->mixes[i], label, sizeof label);
            fprintf(stderr, "elattn-decode-bench: --mix %s: %g x %d KV heads is not a whole number of heads\n", label,
                    o->mixes[i].sparse_frac, o->hkv);
            return 2;
        }
    }
    for (int i = 0; i < o->lens.n; ++i)
        if (o->lens.v[i] < o->new_tokens) {
            fprintf(stderr, "elattn-decode-bench: --lens %d: shorter than --new %d\n", o->lens.v[i], o->new_tokens);
            return 2;
        }
    return 0;
}

/* ---- the mix's modes and the spec's arithmetic ------------------------------------------------ */
/* Modes of one sequence's KV heads: the mix's retrieval heads first, its sparse heads last. */
static void head_modes(const opts *o, const mix *m, int32_t *modes)
{
    const int n_sparse = m->pair == PAIR_DENSE ? 0 : (int)lround(m->sparse_frac * o->hkv);
    for (int h = 0; h < o->hkv; ++h)
        modes[h] = h < o->hkv - n_sparse ? pairs_table[m->pair].retrieval : pairs_table[m->pair].sparse;
}

static int64_t slots_of(const opts *o, int mode, int64_t len)
{
    if (mode != ELATTN_STREAMING) return len;
    const int64_t cap = (int64_t)o->sink + o->local + o->new_tokens - 1; /* sink + ring */
    return len < cap ? len : cap;
}

static int page_shift_of(const opts *o)
{
    int s = 0;
    while ((1 << s) < o->page) ++s;
    return s;
}

/* Bytes a step reads of one sequence's K/V: every occupied slot, except that under Quest a
 * BLOCK_SPARSE head reads the slots of its selected pages (elattn_quest_length) and the summaries
 * (2 x D x 4 bytes) of its candidate pages. */
static double seq_read_bytes(const opts *o, const int32_t *modes, int64_t len, size_t es)
{
    double bytes = 0;
    for (int h = 0; h < o->hkv; ++h) {
        if (modes[h] == ELATTN_BLOCK_SPARSE && o->page_budget) {
            const int shift = page_shift_of(o);
            const int64_t tail = elattn_quest_tail(len, o->new_tokens, shift);
            bytes += (double)elattn_quest_length(len, o->new_tokens, shift, o->page_budget) * 2.0 * o->head_dim * (double)es +
                     (double)(tail > 1 ? tail - 1 : 0) * 2.0 * o->head_dim * 4.0;
        } else {
            bytes += (double)slots_of(o, modes[h], len) * 2.0 * o->head_dim * (double)es;
        }
    }
    return bytes;
}

static int64_t seq_pages(const opts *o, const int32_t *modes, int64_t len)
{
    int64_t p = 0;
    for (int h = 0; h < o->hkv; ++h) p += (slots_of(o, modes[h], len) + o->page - 1) / o->page;
    return p;
}

/* Rows a prefill of `len` in appends of `chunk` copies (a STREAMING head skips the positions
 * the same append overwrites): the unit of the fill-time estimate. */
static double fill_rows(const opts *o, const int32_t *modes, int64_t len)
{
    const int64_t ring = (int64_t)o->local + o->new_tokens - 1;
    double rows_n = 0;
    for (int h = 0; h < o->hkv; ++h)
        for (int64_t a = 0; a < len; a += o->chunk) {
            const int64_t b = a + o->chunk < len ? a + o->chunk : len;
            if (modes[h] != ELATTN_STREAMING) {
                rows_n += (double)(b - a);
                continue;
            }
            const int64_t sink_end = b < o->sink ? b : o->sink, keep = b - ring > o->sink ? b - ring : o->sink;
            rows_n += (double)(sink_end > a ? sink_end - a : 0) + (double)(b - (keep > a ? keep : a));
        }
    return rows_n;
}

/* ---- timing ------------------------------------------------------------------------------------- */
/* The L2 flush before each rep: `buffer` NULL for none. */
typedef struct l2_flush {
    elattn_buffer *buffer, *scratch; /* scratch: --flush read's destination, FLUSH_SCRATCH_BYTES */
} l2_flush;
#define FLUSH_SCRATCH_BYTES ((size_t)4 << 20)

/* Evicts the step's K/V from L2 on the stream. A fill leaves L2 holding dirty lines of the buffer
 * (written back while the next step reads); reading it (copied piecewise into the scratch) leaves
 * clean lines and at most the scratch's 4 MiB dirty. The read flush fills first too, so that the
 * device is busy while the host issues the copies (64 calls for 256 MiB). time_once then runs the
 * lead (bench_lead, bench.h: 8192 tokens by default with a flush on a GPU), which reads its 6 MiB
 * of Q, K, V and leaves its 2 MiB of O dirty in L2, less than the read flush's scratch. */
static elattn_status flush_l2(const l2_flush *f, int rep, elattn_stream *stream)
{
    if (!f || !f->buffer) return ELATTN_SUCCESS; /* NULL: no flush (the copy-bandwidth reps) */
    const size_t bytes = elattn_buffer_size(f->buffer);
    elattn_status st = elattn_buffer_fill(f->buffer, 0, (uint8_t)(rep & 0xff), bytes, stream);
    for (size_t off = 0; f->scratch && off < bytes && st == ELATTN_SUCCESS; off += FLUSH_SCRATCH_BYTES) {
        const size_t n = bytes - off < FLUSH_SCRATCH_BYTES ? bytes - off : FLUSH_SCRATCH_BYTES;
        st = elattn_buffer_copy_2d(f->scratch, 0, n, f->buffer, off, n, n, 1, stream);
    }
    return st;
}

/* Warm-up, then event-timed reps; before each (outside the events) the L2 flush, so that the step
 * starts with none of its K/V in L2. The warm-up runs `warmup` steps (a slow step cuts it short: one
 * run always) and, with settle_s > 0, for at least settle_s s in all. */
static elattn_status time_steps(bench_dev *bd, const l2_flush *flush, op_fn fn, void *ctx, int warmup, double settle_s,
                                int min_reps, int max_reps, double min_s, double max_s, int print_samples, timing *t)
{
    elattn_status st;
    const double w0 = now_s();
    for (int w = 0; (w < warmup && (w == 0 || now_s() - w0 < 0.5 * max_s)) || now_s() - w0 < settle_s; ++w)
        if ((st = fn(ctx, 0)) != ELATTN_SUCCESS || (st = elattn_stream_synchronize(bd->stream)) != ELATTN_SUCCESS)
            return st;
    double *ms = malloc(sizeof(double) * (size_t)max_reps);
    if (!ms) return ELATTN_ERROR_OUT_OF_MEMORY;
    double total = 0;
    int n = 0;
    while (n < max_reps && (n < min_reps || total < min_s * 1e3) && !(n >= 3 && total >= max_s * 1e3)) {
        float e = 0;
        st = flush_l2(flush, n, bd->stream);
        if (st == ELATTN_SUCCESS) st = time_once(bd, fn, ctx, 0, &e);
        if (st != ELATTN_SUCCESS) {
            free(ms);
            return st;
        }
        ms[n++] = e;
        total += e;
    }
    if (print_samples) {
        printf("samples ms:");
        for (int k = 0; k < n; ++k) printf(" %.4f", ms[k]);
        printf("\n");
    }
    timing_from_samples(ms, n, t);
    free(ms);
    return ELATTN_SUCCESS;
}

/* ---- copy bandwidth ------------------------------------------------------------------------------ */
typedef struct copy_ctx {
    elattn_buffer *src, *dst;
    size_t width, rows;
    elattn_stream *stream;
} copy_ctx;

static elattn_status copy_step(void *p, int set) /* an op_fn; one input set */
{
    (void)set;
    copy_ctx *c = p;
    /* Rows of `width` with pitch = width: one contiguous range (a single row of 2+ GiB would pass
     * CUDA's pitch limit, cudaDevAttrMaxPitch). */
    return elattn_buffer_copy_2d(c->dst, 0, c->width, c->src, 0, c->width, c->width, c->rows, c->stream);
}

static void measure_copy(bench_dev *bd, double mib)
{
    copy_ctx c = {.stream = bd->stream};
    size_t bytes = (size_t)(mib * 1048576.0);
    elattn_status st = ELATTN_ERROR_OUT_OF_MEMORY;
    if (bytes < ((size_t)1 << 20)) {
        snprintf(copy_note, sizeof copy_note, "not measured (--copy-mib %g: below 1 MiB)", mib);
        return;
    }
    for (; bytes >= ((size_t)1 << 20); bytes /= 2) { /* halve until both buffers fit */
        c.src = c.dst = NULL;
        st = elattn_buffer_alloc(bd->dev, bytes, &c.src);
        if (st == ELATTN_SUCCESS) st = elattn_buffer_alloc(bd->dev, bytes, &c.dst);
        if (st == ELATTN_SUCCESS) break;
        elattn_buffer_free(c.src);
        elattn_buffer_free(c.dst);
    }
    if (st != ELATTN_SUCCESS) {
        snprintf(copy_note, sizeof copy_note, "not measured: %s: %s", elattn_status_string(st), elattn_last_error());
        return;
    }
    c.width = bytes >= ((size_t)1 << 26) ? (size_t)1 << 26 : bytes;
    c.rows = bytes / c.width;
    bytes = c.width * c.rows;
    timing t = {0};
    st = elattn_buffer_fill(c.src, 0, 0x3c, bytes, bd->stream);
    if (st == ELATTN_SUCCESS) st = time_steps(bd, NULL, copy_step, &c, 2, 0.0, 10, 10, 0, 1e9, 0, &t);
    if (st == ELATTN_SUCCESS && t.median > 0) {
        copy_bytes = (double)bytes, copy_ms = t.median;
        copy_gbps = 2.0 * copy_bytes / (t.median * 1e-3) / 1e9;
        snprintf(copy_note, sizeof copy_note, "device-to-device copy of %.0f MiB (elattn_buffer_copy_2d), median of %d",
                 copy_bytes / 1048576.0, t.reps);
    } else {
        snprintf(copy_note, sizeof copy_note, "not measured: %s: %s", elattn_status_string(st), elattn_last_error());
    }
    elattn_buffer_free(c.src);
    elattn_buffer_free(c.dst);
}

/* ---- one decode configuration ----------------------------------------------------------------- */
typedef struct decode_ctx {
    const elattn_decode_plan *plan;
    elattn_kv_cache *cache;
    elattn_stream *stream;
    elattn_decode_args args;
} decode_ctx;

static elattn_status decode_step(void *p, int set) /* an op_fn; one input set */
{
    (void)set;
    decode_ctx *d = p;
    return elattn_decode_run(d->plan, d->cache, d->stream, &d->args);
}

/* n values of N(0, 1) in the dtype, on the host (malloc'd; NULL when out of memory). */
static void *random_host(kit_rng *rng, elattn_dtype dt, size_t n)
{
    void *h = malloc(n * elattn_dtype_size(dt));
    if (h && kit_random_tensor(rng, dt, n, 1.0, h, NULL) != ELATTN_SUCCESS) {
        free(h);
        h = NULL;
    }
    return h;
}

static elattn_status upload_new(elattn_device *dev, const void *host, size_t bytes, elattn_buffer **buf)
{
    *buf = NULL;
    elattn_status st = elattn_buffer_alloc(dev, bytes, buf);
    if (st == ELATTN_SUCCESS && host) st = elattn_buffer_upload(*buf, 0, host, bytes, NULL);
    if (st != ELATTN_SUCCESS) {
        elattn_buffer_free(*buf);
        *buf = NULL;
    }
    return st;
}

/* Appends `len` tokens to sequences [first, last) in appends of `chunk` rows of k/v (rows
 * [0, n) of the buffers). */
static elattn_status prefill(const opts *o, elattn_kv_cache *cache, elattn_stream *stream, const int32_t *modes,
                             int first, int last, int len, int chunk, elattn_buffer *k, elattn_buffer *v)
{
    for (int32_t s = first; s < last; ++s)
        for (int done = 0; done < len; done += chunk) {
            int32_t n = len - done < chunk ? len - done : chunk;
            elattn_kv_append_args a = {.struct_size = sizeof a, .num_seqs = 1, .seq_ids = &s, .num_tokens = &n,
                                       .modes = done == 0 ? modes : NULL, .k = k, .v = v};
            elattn_status st = elattn_kv_cache_append(cache, stream, &a);
            if (st != ELATTN_SUCCESS) return st;
        }
    (void)o;
    return ELATTN_SUCCESS;
}

static double gib(double b) { return b / 1073741824.0; }

static void fail_row(row *r, const char *status, const char *what, elattn_status st)
{
    r->status = status;
    snprintf(r->message, sizeof r->message, "%s: %s: %s", what, elattn_status_string(st), elattn_last_error());
}

/* State shared by the configs of one run. */
typedef struct run_state {
    const opts *o;
    bench_dev *bd;
    l2_flush flush;
    elattn_buffer *k_chunk, *v_chunk;
    kit_rng rng;
    double t0, fill_rate; /* rows copied per second of earlier fills (0: none yet) */
    size_t es;
} run_state;

static int budget_left(const run_state *rs, double need_s, char *why, size_t n)
{
    const double used = now_s() - rs->t0;
    if (rs->o->budget_s <= 0) return 1;
    if (used >= rs->o->budget_s) {
        snprintf(why, n, "skipped (budget): %.0f s of --budget-s %.0f used", used, rs->o->budget_s);
        return 0;
    }
    if (need_s > rs->o->budget_s - used) {
        snprintf(why, n, "skipped (budget): its prefill would take about %.0f s, %.0f s of --budget-s %.0f are left",
                 need_s, rs->o->budget_s - used, rs->o->budget_s);
        return 0;
    }
    return 1;
}

/* The batches of one (context, mix), ascending, in one cache sized for the largest. */
static void run_context_mix(run_state *rs, int len, int mi, void (*emit)(const opts *))
{
    const opts *o = rs->o;
    bench_dev *bd = rs->bd;
    int32_t modes[KIT_MAX_MODES];
    head_modes(o, &o->mixes[mi], modes);
    int order[MAX_LIST], nb = o->batches.n;
    for (int i = 0; i < nb; ++i) order[i] = i;
    for (int i = 1; i < nb; ++i) /* ascending batch (insertion sort) */
        for (int j = i; j > 0 && o->batches.v[order[j]] < o->batches.v[order[j - 1]]; --j) {
            int x = order[j];
            order[j] = order[j - 1], order[j - 1] = x;
        }
    const int bmax = o->batches.v[order[nb - 1]];
    const int64_t pages = (int64_t)bmax * seq_pages(o, modes, len);
    const double pool_bytes = (double)pages * 2.0 * o->page * o->head_dim * (double)rs->es;
    char why[320] = "";
    elattn_kv_cache *cache = NULL;
    elattn_status st = ELATTN_SUCCESS;
    if (pages > INT32_MAX) {
        snprintf(why, sizeof why, "skipped (allocation): %lld pages do not fit the cache's int page count",
                 (long long)pages);
    } else if (bd->info.memory_bytes && pool_bytes > 0.95 * (double)bd->info.memory_bytes) {
        snprintf(why, sizeof why, "skipped (allocation): the pool needs %.1f GiB of the device's %.1f GiB",
                 gib(pool_bytes), gib((double)bd->info.memory_bytes));
    } else {
        elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = o->dtype, .head_dim = o->head_dim,
                                   .num_kv_heads = o->hkv, .page_size = o->page, .num_pages = (int)pages,
                                   .max_sequences = bmax, .max_tokens = len, .sink = o->sink, .local = o->local,
                                   .max_new_tokens = o->new_tokens, .page_summaries = o->page_budget > 0};
        st = elattn_kv_cache_create(bd->dev, &cd, &cache);
        if (st != ELATTN_SUCCESS)
            snprintf(why, sizeof why, "skipped (allocation of the %.1f GiB pool): %s: %s", gib(pool_bytes),
                     elattn_status_string(st), elattn_last_error());
    }
    int filled = 0, settled = 0; /* settled: a config was timed in this cache (--settle-s) */
    for (int i = 0; i < nb; ++i) {
        const int batch = o->batches.v[order[i]];
        row *r = new_row(o, len, batch, mi);
        r->read_bytes = (double)batch * seq_read_bytes(o, modes, len, rs->es);
        if (!cache || why[0]) { /* no cache, or an earlier prefill of it failed */
            r->status = "skipped";
            snprintf(r->message, sizeof r->message, "%s", why);
            continue;
        }
        const double need = rs->fill_rate > 0 ? (batch - filled) * fill_rows(o, modes, len) / rs->fill_rate : 0;
        if (!budget_left(rs, need, r->message, sizeof r->message)) {
            r->status = "skipped";
            continue;
        }
        /* This batch's sequences [filled, batch): the earlier ones are in the cache already. */
        double t = now_s();
        st = prefill(o, cache, bd->stream, modes, filled, batch, len, o->chunk, rs->k_chunk, rs->v_chunk);
        if (st == ELATTN_SUCCESS) st = elattn_stream_synchronize(bd->stream);
        if (st != ELATTN_SUCCESS) {
            fail_row(r, "error", "prefill (elattn_kv_cache_append)", st);
            snprintf(why, sizeof why, "skipped: the prefill of a smaller batch in this cache failed");
            continue;
        }
        r->fill_s = now_s() - t;
        if (batch > filled && r->fill_s > 0)
            rs->fill_rate = (batch - filled) * fill_rows(o, modes, len) / r->fill_s;
        filled = batch;
        elattn_kv_cache_bytes(cache, &r->held_bytes);

        elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = o->hq, .max_batch = batch, .num_splits = o->splits,
                                 .page_budget = o->page_budget};
        elattn_decode_plan *plan = NULL;
        const elattn_plan_options po = {.struct_size = sizeof po, .kernel = o->kernel};
        st = elattn_decode_plan_create(cache, &dd, &po, &plan);
        if (st != ELATTN_SUCCESS) {
            fail_row(r, st == ELATTN_ERROR_UNSUPPORTED ? "unsupported" : "error", "elattn_decode_plan_create", st);
            continue;
        }
        r->splits = elattn_decode_plan_splits(plan);
        snprintf(r->kernel, sizeof r->kernel, "%s", elattn_decode_plan_kernel(plan));
        const size_t q_n = (size_t)batch * o->new_tokens * o->hq * o->head_dim, q_bytes = q_n * rs->es;
        int32_t *ids = malloc(sizeof(int32_t) * 2 * (size_t)batch);
        void *q_host = random_host(&rs->rng, o->dtype, q_n), *o_host = malloc(q_bytes);
        elattn_buffer *q = NULL, *out = NULL;
        st = ids && q_host && o_host ? ELATTN_SUCCESS : ELATTN_ERROR_OUT_OF_MEMORY;
        if (st == ELATTN_SUCCESS) st = upload_new(bd->dev, q_host, q_bytes, &q);
        if (st == ELATTN_SUCCESS) st = upload_new(bd->dev, NULL, q_bytes, &out);
        elattn_decode_batch *db = NULL;
        if (st == ELATTN_SUCCESS) {
            for (int b = 0; b < batch; ++b) ids[b] = b, ids[batch + b] = o->new_tokens;
            decode_ctx dc = {.plan = plan, .cache = cache, .stream = bd->stream,
                             .args = {.struct_size = sizeof dc.args, .num_seqs = batch, .seq_ids = ids,
                                      .num_new = ids + batch, .q = q, .o = out}};
            if (o->decode_batch) { /* the step's sequences fixed once, as an engine capturing it in a graph */
                st = elattn_decode_batch_create(plan, cache, batch, ids, ids + batch, &db);
                dc.args.num_seqs = 0, dc.args.seq_ids = NULL, dc.args.num_new = NULL, dc.args.batch = db;
            }
            if (st == ELATTN_SUCCESS)
                st = time_steps(bd, &rs->flush, decode_step, &dc, o->warmup, settled ? 0.0 : o->settle_s, o->min_reps,
                                o->max_reps, o->min_time_s, o->max_time_s, o->samples, &r->t);
            settled = 1;
            if (st != ELATTN_SUCCESS)
                fail_row(r, "error", db || !o->decode_batch ? "elattn_decode_run" : "elattn_decode_batch_create", st);
        } else {
            fail_row(r, "skipped", "the step's Q/O buffers", st);
        }
        if (st == ELATTN_SUCCESS) { /* a sanity look at the last run's output (elattn-conformance is the test) */
            st = elattn_buffer_download(out, 0, o_host, q_bytes, bd->stream);
            double sum2 = 0;
            int finite = 1;
            for (size_t e = 0; st == ELATTN_SUCCESS && e < q_n; ++e) {
                const float x = kit_load_value(o->dtype, o_host, e);
                finite &= isfinite(x) != 0;
                sum2 += (double)x * x;
            }
            if (st != ELATTN_SUCCESS) fail_row(r, "error", "download of O", st);
            else if (!finite || sum2 == 0) {
                r->status = "error";
                snprintf(r->message, sizeof r->message, "O after the timed runs is %s", finite ? "all zero" : "not finite");
            }
        }
        elattn_buffer_free(q);
        elattn_buffer_free(out);
        free(ids), free(q_host), free(o_host);
        elattn_decode_batch_destroy(db); /* NULL: nothing */
        elattn_decode_plan_destroy(plan);
        emit(o);
    }
    elattn_kv_cache_destroy(cache);
    emit(o);
}

/* ---- --check: one step against the reference device ------------------------------------------------ */
/* One side of the check: a cache on `dev` filled with the given appends, then one decode step with
 * `kernel` forced (NULL: the device's pick); returns O on the host (malloc'd) or NULL with `why`. */
static float *check_side(const opts *o, elattn_device *dev, const char *kernel, const int32_t *modes, int batch, int len, int chunk,
                         void *const *kv_host, const void *q_host, char *why, size_t why_n)
{
    const size_t row_bytes = (size_t)o->hkv * o->head_dim * elattn_dtype_size(o->dtype);
    const size_t q_n = (size_t)batch * o->new_tokens * o->hq * o->head_dim, es = elattn_dtype_size(o->dtype);
    elattn_kv_cache *cache = NULL;
    elattn_decode_plan *plan = NULL;
    elattn_buffer *k = NULL, *v = NULL, *q = NULL, *out = NULL;
    float *result = NULL;
    void *o_host = malloc(q_n * es);
    elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = o->dtype, .head_dim = o->head_dim,
                               .num_kv_heads = o->hkv, .page_size = o->page,
                               .num_pages = (int)(batch * seq_pages(o, modes, len)), .max_sequences = batch,
                               .max_tokens = len, .sink = o->sink, .local = o->local, .max_new_tokens = o->new_tokens,
                               .page_summaries = o->page_budget > 0};
    const char *what = "elattn_kv_cache_create";
    elattn_status st = o_host ? elattn_kv_cache_create(dev, &cd, &cache) : ELATTN_ERROR_OUT_OF_MEMORY;
    if (st == ELATTN_SUCCESS) what = "buffers", st = upload_new(dev, NULL, (size_t)chunk * row_bytes, &k);
    if (st == ELATTN_SUCCESS) st = upload_new(dev, NULL, (size_t)chunk * row_bytes, &v);
    /* Every append has its own random data, so a wrong slot would be seen. */
    for (int done = 0, a = 0; st == ELATTN_SUCCESS && done < len; done += chunk)
        for (int32_t s = 0; st == ELATTN_SUCCESS && s < batch; ++s, ++a) {
            int32_t n = len - done < chunk ? len - done : chunk;
            what = "append";
            st = elattn_buffer_upload(k, 0, kv_host[2 * a], (size_t)n * row_bytes, NULL);
            if (st == ELATTN_SUCCESS) st = elattn_buffer_upload(v, 0, kv_host[2 * a + 1], (size_t)n * row_bytes, NULL);
            elattn_kv_append_args ap = {.struct_size = sizeof ap, .num_seqs = 1, .seq_ids = &s, .num_tokens = &n,
                                        .modes = done == 0 ? modes + (size_t)s * o->hkv : NULL, .k = k, .v = v};
            if (st == ELATTN_SUCCESS) st = elattn_kv_cache_append(cache, NULL, &ap);
        }
    elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = o->hq, .max_batch = batch,
                             .page_budget = o->page_budget};
    const elattn_plan_options po = {.struct_size = sizeof po, .kernel = kernel};
    if (st == ELATTN_SUCCESS) what = "elattn_decode_plan_create", st = elattn_decode_plan_create(cache, &dd, &po, &plan);
    if (st == ELATTN_SUCCESS) what = "buffers", st = upload_new(dev, q_host, q_n * es, &q);
    if (st == ELATTN_SUCCESS) st = upload_new(dev, NULL, q_n * es, &out);
    int32_t ids[2 * KIT_MAX_BATCH];
    for (int b = 0; b < batch; ++b) ids[b] = b, ids[batch + b] = o->new_tokens;
    elattn_decode_args da = {.struct_size = sizeof da, .num_seqs = batch, .seq_ids = ids, .num_new = ids + batch,
                             .q = q, .o = out};
    if (st == ELATTN_SUCCESS) what = "elattn_decode_run", st = elattn_decode_run(plan, cache, NULL, &da);
    if (st == ELATTN_SUCCESS) what = "download", st = elattn_buffer_download(out, 0, o_host, q_n * es, NULL);
    if (st == ELATTN_SUCCESS && (result = malloc(sizeof(float) * q_n)) != NULL)
        for (size_t e = 0; e < q_n; ++e) result[e] = kit_load_value(o->dtype, o_host, e);
    if (st != ELATTN_SUCCESS) snprintf(why, why_n, "%s: %s: %s", what, elattn_status_string(st), elattn_last_error());
    else if (!result) snprintf(why, why_n, "out of host memory");
    elattn_buffer_free(k), elattn_buffer_free(v), elattn_buffer_free(q), elattn_buffer_free(out);
    elattn_decode_plan_destroy(plan);
    elattn_kv_cache_destroy(cache);
    free(o_host);
    return result;
}

/* The mix at a small size: context min(first length, 4096), batch min(largest batch, 3; the
 * second sequence with its modes reversed), appended in chunks of 1000 tokens (not page-aligned: the ring wraps
 * across appends), one step on the device and on "reference" with the same data. */
static int check_mix(const opts *o, bench_dev *bd, int mi, double *nmse_out, char *msg, size_t msg_n)
{
    const int len = o->lens.v[0] < 4096 ? o->lens.v[0] : 4096, chunk = 1000;
    int batch = 1;
    for (int i = 0; i < o->batches.n; ++i) batch = o->batches.v[i] > batch ? o->batches.v[i] : batch;
    if (batch > 3) batch = 3;
    int32_t modes[KIT_MAX_MODES];
    for (int b = 0; b < batch; ++b) head_modes(o, &o->mixes[mi], modes + (size_t)b * o->hkv);
    if (o->mixes[mi].pair != PAIR_DENSE && batch > 1) /* the second sequence with its heads the other way round */
        for (int h = 0; h < o->hkv; ++h) modes[o->hkv + h] = modes[o->hkv - 1 - h];
    const int n_appends = batch * ((len + chunk - 1) / chunk);
    kit_rng rng;
    kit_rng_seed_stream(&rng, o->seed, 1000 + (uint64_t)mi);
    void **kv = calloc(2 * (size_t)n_appends, sizeof *kv);
    const size_t rows_n = (size_t)chunk * o->hkv * o->head_dim;
    int ok = kv != NULL;
    for (int i = 0; ok && i < 2 * n_appends; ++i) ok = (kv[i] = random_host(&rng, o->dtype, rows_n)) != NULL;
    const size_t q_n = (size_t)batch * o->new_tokens * o->hq * o->head_dim;
    void *q = ok ? random_host(&rng, o->dtype, q_n) : NULL;
    elattn_device *ref = NULL;
    float *got = NULL, *want = NULL;
    char why[256] = "out of host memory";
    if (q && elattn_device_open_by_name("reference", &ref) != ELATTN_SUCCESS)
        snprintf(why, sizeof why, "reference device: %s", elattn_last_error());
    else if (q && (want = check_side(o, ref, NULL, modes, batch, len, chunk, kv, q, why, sizeof why)) != NULL)
        got = check_side(o, bd->dev, o->kernel, modes, batch, len, chunk, kv, q, why, sizeof why);
    if (ref) elattn_device_close(ref);
    int pass = 0;
    if (got && want) {
        double num = 0, den = 0;
        int finite = 1;
        for (size_t e = 0; e < q_n; ++e) {
            finite &= isfinite(got[e]) != 0;
            num += (double)(got[e] - want[e]) * (got[e] - want[e]);
            den += (double)want[e] * want[e];
        }
        *nmse_out = den > 0 ? num / den : INFINITY;
        pass = finite && den > 0 && *nmse_out <= CHECK_NMSE_BOUND;
        snprintf(msg, msg_n, "context %d, batch %d, %d new: nmse %.3g vs reference (bound %g)%s", len, batch,
                 o->new_tokens, *nmse_out, CHECK_NMSE_BOUND, !finite ? ", O not finite" : den == 0 ? ", O all zero" : "");
    } else {
        *nmse_out = INFINITY;
        snprintf(msg, msg_n, "context %d, batch %d: %s", len, batch, why);
    }
    for (int i = 0; kv && i < 2 * n_appends; ++i) free(kv[i]);
    free(kv), free(q), free(got), free(want);
    return pass;
}

/* ---- output ------------------------------------------------------------------------------------------ */
static const row *find_row(int len, int batch, int pair, double frac, const opts *o)
{
    for (int i = 0; i < n_rows; ++i) {
        const mix *m = &o->mixes[rows[i].mix_index];
        if (rows[i].len == len && rows[i].batch == batch && m->pair == pair && fabs(m->sparse_frac - frac) < 1e-12 &&
            strcmp(rows[i].status, "ok") == 0)
            return &rows[i];
    }
    return NULL;
}

static double speedup_vs_dense(const row *r, const opts *o)
{
    const row *d = find_row(r->len, r->batch, PAIR_DENSE, 0.0, o);
    return d && strcmp(r->status, "ok") == 0 && r->t.median > 0 ? d->t.median / r->t.median : 0;
}

static double held_pct_dense(const row *r, const opts *o)
{
    const row *d = find_row(r->len, r->batch, PAIR_DENSE, 0.0, o);
    return d && d->held_bytes && r->held_bytes ? 100.0 * (double)r->held_bytes / (double)d->held_bytes : 0;
}

static double row_gbps(const row *r) { return r->t.median > 0 ? r->read_bytes / (r->t.median * 1e-3) / 1e9 : 0; }

static bench_dev *g_bd;
static const char *g_command;

static void write_decode_json(const opts *o)
{
    if (!o->json_path) return;
    char tmp[4096];
    kit_json w;
    FILE *f = json_document_begin(o->json_path, "elattn-decode-bench", g_command, &w, tmp, sizeof tmp);
    if (!f) return;
    kit_json_string(&w, "device", g_bd->info.id);
    kit_json_string(&w, "device_name", g_bd->info.name);
    kit_json_string(&w, "backend", elattn_backend_name(g_bd->info.backend));
    kit_json_string(&w, "dtype", elattn_dtype_name(o->dtype));
    kit_json_int(&w, "head_dim", o->head_dim);
    kit_json_int(&w, "hq", o->hq);
    kit_json_int(&w, "hkv", o->hkv);
    kit_json_int(&w, "sink", o->sink);
    kit_json_int(&w, "local", o->local);
    kit_json_int(&w, "page", o->page);
    kit_json_int(&w, "new_tokens", o->new_tokens);
    kit_json_int(&w, "chunk", o->chunk);
    kit_json_int(&w, "warmup", o->warmup);
    kit_json_number(&w, "settle_s", o->settle_s, 6);
    kit_json_int(&w, "min_reps", o->min_reps);
    kit_json_number(&w, "min_time_s", o->min_time_s, 6);
    kit_json_number(&w, "flush_mib", o->flush_mib, 6);
    kit_json_string(&w, "flush", o->flush_read ? "read" : "write");
    kit_json_int(&w, "lead_tokens", o->lead_tokens);
    kit_json_int(&w, "page_budget", o->page_budget);
    kit_json_string(&w, "runs", o->decode_batch ? "with a decode batch" : "plain");
    kit_json_string(&w, "timing", "elattn_decode_run alone per step (nothing appended while timed), device events, "
                                  "L2 flushed before each rep, median");
    kit_json_string(&w, "read_bytes", "sum over sequences and KV heads of occupied slots x 2 x D x dtype size; slots = "
                                      "len (FULL, BLOCK_SPARSE) or min(len, sink + local + new - 1) (STREAMING); with "
                                      "page_budget, a BLOCK_SPARSE head's slots are those of its selected pages "
                                      "(elattn_quest_length) plus 2 x D x 4 bytes of summaries per candidate page");
    kit_json_number(&w, "copy_gbps", copy_gbps, 6);
    kit_json_number(&w, "copy_bytes", copy_bytes, 15);
    kit_json_number(&w, "copy_ms", copy_ms, 6);
    kit_json_string(&w, "copy_note", copy_note);
    kit_json_bool(&w, "checked", o->check);
    kit_json_bool(&w, "check_failed", check_failed);
    kit_json_end(&w);
    if (o->check) {
        kit_json_newline(&w, 1);
        kit_json_array(&w, "checks");
        for (int i = 0; i < o->n_mixes; ++i) {
            if (!check_summary[i]) continue;
            char label[48];
            mix_label(&o->mixes[i], label, sizeof label);
            kit_json_newline(&w, 2);
            kit_json_object(&w, NULL);
            kit_json_string(&w, "mix", label);
            kit_json_number(&w, "nmse", check_nmse[i], 6);
            kit_json_string(&w, "result", check_summary[i]);
            kit_json_end(&w);
        }
        kit_json_newline(&w, 1);
        kit_json_end(&w);
    }
    kit_json_newline(&w, 1);
    kit_json_array(&w, "rows");
    for (int i = 0; i < n_rows; ++i) {
        const row *r = &rows[i];
        const int ok = strcmp(r->status, "ok") == 0;
        kit_json_newline(&w, 2);
        kit_json_object(&w, NULL);
        kit_json_int(&w, "len", r->len);
        kit_json_int(&w, "batch", r->batch);
        kit_json_string(&w, "mix", r->mix);
        kit_json_string(&w, "status", r->status);
        kit_json_string(&w, "message", r->message);
        if (ok) {
            kit_json_number(&w, "us_per_step", r->t.median * 1e3, 8);
            kit_json_number(&w, "p25_us", r->t.p25 * 1e3, 8);
            kit_json_number(&w, "p75_us", r->t.p75 * 1e3, 8);
            kit_json_number(&w, "min_us", r->t.min * 1e3, 8);
            kit_json_int(&w, "reps", r->t.reps);
            kit_json_number(&w, "gbps", row_gbps(r), 6);
            if (copy_gbps > 0) kit_json_number(&w, "pct_copy", 100.0 * row_gbps(r) / copy_gbps, 4);
            else kit_json_null(&w, "pct_copy");
            const double xd = speedup_vs_dense(r, o), hp = held_pct_dense(r, o);
            if (xd > 0) kit_json_number(&w, "speedup_vs_dense", xd, 4);
            else kit_json_null(&w, "speedup_vs_dense");
            if (hp > 0) kit_json_number(&w, "held_pct_dense", hp, 4);
            else kit_json_null(&w, "held_pct_dense");
        }
        kit_json_number(&w, "read_bytes", r->read_bytes, 15);
        kit_json_uint(&w, "held_bytes", r->held_bytes);
        kit_json_number(&w, "fill_s", r->fill_s, 4);
        kit_json_int(&w, "splits", r->splits);
        kit_json_string(&w, "kernel", r->kernel);
        kit_json_end(&w);
    }
    kit_json_newline(&w, 1);
    kit_json_end(&w);
    json_document_end(f, &w, "elattn-decode-bench", tmp, o->json_path);
}

static int printed; /* rows already printed as progress */

static void print_row(const opts *o, const row *r, int final)
{
    printf("%7d %5d %-12s ", r->len, r->batch, r->mix);
    if (strcmp(r->status, "ok") != 0) {
        printf("%s%s%s\n", strncmp(r->message, "skipped", 7) == 0 ? "" : r->status,
               strncmp(r->message, "skipped", 7) == 0 ? "" : ": ", r->message);
        return;
    }
    char pct[16] = "-", xd[16] = "-", hp[16] = "-";
    if (copy_gbps > 0) snprintf(pct, sizeof pct, "%.1f", 100.0 * row_gbps(r) / copy_gbps);
    if (final && speedup_vs_dense(r, o) > 0) snprintf(xd, sizeof xd, "%.2fx", speedup_vs_dense(r, o));
    if (final && held_pct_dense(r, o) > 0) snprintf(hp, sizeof hp, "%.1f", held_pct_dense(r, o));
    printf("%10.1f [%8.1f - %8.1f] %10.1f %8.1f %6s %10.1f %6s %7s %6d %7.1f  %s\n", r->t.median * 1e3, r->t.p25 * 1e3,
           r->t.p75 * 1e3, r->read_bytes / 1048576.0, row_gbps(r), pct, (double)r->held_bytes / 1048576.0, hp, xd,
           r->splits, r->fill_s, r->kernel);
}

static void print_decode_header(void)
{
    printf("%7s %5s %-12s %10s %23s %10s %8s %6s %10s %6s %7s %6s %7s  %s\n", "context", "batch", "mix", "us/step",
           "[p25 - p75]", "read MiB", "GB/s", "%copy", "held MiB", "%dense", "xdense", "splits", "fill s", "kernel");
}

static void emit(const opts *o)
{
    for (; printed < n_rows; ++printed) print_row(o, &rows[printed], 0);
    fflush(stdout);
    write_decode_json(o);
}

int main(int argc, char **argv)
{
    /* A line at a time: a run stopped by a time limit still shows how far it got (call 97's runs on
     * NVIDIA's OpenCL left empty files). */
    setvbuf(stdout, NULL, _IOLBF, 0);
    opts o;
    const int pr = parse_opts(argc, argv, &o);
    if (pr) return pr == 1 ? 0 : 2;
    if (o.list_only) {
        list_devices();
        return 0;
    }
    char command[2048] = "";
    for (int i = 0; i < argc; ++i) {
        size_t used = strlen(command);
        snprintf(command + used, sizeof command - used, "%s%s", i ? " " : "", argv[i]);
    }
    g_command = command;
    bench_dev bd;
    memset(&bd, 0, sizeof bd);
    g_bd = &bd;
    elattn_status st = open_device(o.device, &bd.dev);
    if (st == ELATTN_SUCCESS) st = elattn_device_info_of(bd.dev, &bd.info);
    if (st == ELATTN_SUCCESS) st = elattn_stream_create(bd.dev, &bd.stream);
    if (st == ELATTN_SUCCESS) st = elattn_event_create(bd.dev, &bd.ev_start);
    if (st == ELATTN_SUCCESS) st = elattn_event_create(bd.dev, &bd.ev_end);
    if (st != ELATTN_SUCCESS) {
        fprintf(stderr, "elattn-decode-bench: device %s: %s: %s\n", o.device, elattn_status_string(st),
                elattn_last_error());
        return st == ELATTN_ERROR_NOT_AVAILABLE ? 77 : 1; /* 77: meson's "skipped" */
    }
    if (o.flush_mib < 0) o.flush_mib = bd.info.is_gpu ? 256 : 0;
    if (o.lead_tokens < 0) o.lead_tokens = o.flush_mib > 0 ? bench_lead_default(&bd.info) : 0;
    if (o.settle_s < 0) o.settle_s = bd.info.is_gpu ? 0.25 : 0.0;
    /* NVIDIA's OpenCL driver did not finish a 2048 MiB rect copy (64 MiB rows) in 80 s on an H100, and
     * ran 1024 MiB in 0.8 ms (bench/results/2026-12-05-nvidia-h100, calls 102-104): 1024 there. */
    if (o.copy_mib < 0)
        o.copy_mib = !bd.info.is_gpu ? 64 : bd.info.backend == ELATTN_BACKEND_OPENCL ? 1024 : 2048;
    const double t0 = now_s();
    printf("elattn-decode-bench: %s: %s (%s, %.1f GiB)\n", bd.info.id, bd.info.name,
           elattn_backend_name(bd.info.backend), gib((double)bd.info.memory_bytes));
    printf("one layer: Hq %d, Hkv %d, D %d, %s, sink %d, local %d, page %d, %d new token(s) per sequence per step\n",
           o.hq, o.hkv, o.head_dim, elattn_dtype_name(o.dtype), o.sink, o.local, o.page, o.new_tokens);
    if (o.page_budget)
        printf("Quest page selection: BLOCK_SPARSE heads read page 0, the new tokens' pages and %d scored pages "
               "(kernels/SPEC.md section 9b)\n", o.page_budget);
    printf("timed: elattn_decode_run alone (nothing appended while timed: the last %d position(s) of each sequence are "
           "the step's new tokens), device events, %d warm-up (at least %.2g s in each new cache), median of >= %d reps "
           "and >= %.2g s (at most %d reps, or %.2g s after 3), L2 flush of %.0f MiB before each rep (%s; not timed), then a lead of %d tokens "
           "(untimed attention that keeps the device busy while the host queues the step; 0: none)\n",
           o.new_tokens, o.warmup, o.settle_s, o.min_reps, o.min_time_s, o.max_reps, o.max_time_s, o.flush_mib,
           o.flush_read ? "read: clean lines left" : "write: dirty lines left", o.lead_tokens);
    if (o.decode_batch)
        printf("runs: with a decode batch (elattn_decode_batch_create once per config: the work list on the device, "
               "lengths read there at run time)\n");
    printf("read MiB: the step's K/V bytes by the spec (occupied slots x 2 x D x dtype size; STREAMING slots = "
           "min(len, sink + local + new - 1); with --page-budget, a BLOCK_SPARSE head's selected pages and its "
           "candidates' summaries); GB/s = read bytes / median time\n");

    measure_copy(&bd, o.copy_mib);
    if (copy_gbps > 0)
        printf("copy bandwidth: %.1f GB/s (%s; 2 x %.0f MiB / %.3f ms: read + write)\n", copy_gbps, copy_note,
               copy_bytes / 1048576.0, copy_ms);
    else printf("copy bandwidth: %s\n", copy_note);
    fflush(stdout);

    run_state rs = {.o = &o, .bd = &bd, .t0 = t0, .es = elattn_dtype_size(o.dtype)};
    kit_rng_seed(&rs.rng, o.seed);
    if (o.check) {
        for (int mi = 0; mi < o.n_mixes; ++mi) {
            char msg[384], label[48];
            mix_label(&o.mixes[mi], label, sizeof label);
            const int pass = check_mix(&o, &bd, mi, &check_nmse[mi], msg, sizeof msg);
            check_failed |= !pass;
            check_summary[mi] = pass ? "ok" : "FAILED";
            printf("check %-12s %s: %s\n", label, pass ? "ok" : "FAILED", msg);
        }
        fflush(stdout);
    }
    int longest = 0; /* one random chunk, reused by every prefill: no longer than the longest context */
    for (int i = 0; i < o.lens.n; ++i) longest = o.lens.v[i] > longest ? o.lens.v[i] : longest;
    if (o.chunk > longest) o.chunk = longest;
    const size_t chunk_n = (size_t)o.chunk * o.hkv * o.head_dim;
    void *chunk_host = random_host(&rs.rng, o.dtype, chunk_n);
    void *chunk_host_v = random_host(&rs.rng, o.dtype, chunk_n);
    st = chunk_host && chunk_host_v ? ELATTN_SUCCESS : ELATTN_ERROR_OUT_OF_MEMORY;
    if (st == ELATTN_SUCCESS) st = upload_new(bd.dev, chunk_host, chunk_n * rs.es, &rs.k_chunk);
    if (st == ELATTN_SUCCESS) st = upload_new(bd.dev, chunk_host_v, chunk_n * rs.es, &rs.v_chunk);
    if (st == ELATTN_SUCCESS && o.flush_mib > 0)
        st = elattn_buffer_alloc(bd.dev, (size_t)(o.flush_mib * 1048576.0), &rs.flush.buffer);
    if (st == ELATTN_SUCCESS && rs.flush.buffer && o.flush_read)
        st = elattn_buffer_alloc(bd.dev, FLUSH_SCRATCH_BYTES, &rs.flush.scratch);
    if (st == ELATTN_SUCCESS && rs.flush.buffer)
        st = bench_lead_create(&bd.lead, bd.dev, bd.stream, o.dtype, o.lead_tokens);
    free(chunk_host), free(chunk_host_v);
    if (st != ELATTN_SUCCESS) {
        fprintf(stderr, "elattn-decode-bench: the prefill chunk, the flush buffer or the lead: %s: %s\n",
                elattn_status_string(st), elattn_last_error());
        return 1;
    }
    printf("\nprogress (per context and mix, batches ascending in one cache; fill s: this batch's prefill appends)\n");
    print_decode_header();
    for (int li = 0; li < o.lens.n; ++li)
        for (int mi = 0; mi < o.n_mixes; ++mi) run_context_mix(&rs, o.lens.v[li], mi, emit);

    printf("\nresults (xdense: the dense time / this time, same context and batch; %%dense: KV bytes held / dense's; "
           "%%copy: GB/s / the copy bandwidth)\n");
    print_decode_header();
    for (int li = 0; li < o.lens.n; ++li)
        for (int bi = 0; bi < o.batches.n; ++bi)
            for (int mi = 0; mi < o.n_mixes; ++mi)
                for (int i = 0; i < n_rows; ++i)
                    if (rows[i].len == o.lens.v[li] && rows[i].batch == o.batches.v[bi] && rows[i].mix_index == mi)
                        print_row(&o, &rows[i], 1);
    int errors = 0;
    for (int i = 0; i < n_rows; ++i) errors += strcmp(rows[i].status, "error") == 0;
    printf("\n%d config(s), %d error(s)%s; %.1f s\n", n_rows, errors,
           check_failed ? "; CHECK FAILED: the device's decode differs from the reference" : "", now_s() - t0);
    write_decode_json(&o);
    bench_lead_destroy(&bd.lead);
    elattn_buffer_free(rs.flush.buffer), elattn_buffer_free(rs.flush.scratch), elattn_buffer_free(rs.k_chunk), elattn_buffer_free(rs.v_chunk);
    elattn_event_destroy(bd.ev_start), elattn_event_destroy(bd.ev_end);
    elattn_stream_destroy(bd.stream);
    elattn_device_close(bd.dev);
    free(rows);
    return check_failed || errors ? 1 : 0;
}

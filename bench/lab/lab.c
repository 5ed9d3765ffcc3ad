/*
 * The lab tools' shared parts: options, the report line, data, guarded
 * buffers, timing (see lab.h).
 */
#include "lab.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the report line ---------------------------------------------------------- */
static const char *line_tool = "lab";
static char line_fields[4096];
static size_t line_used;
static char fail_reasons[1024];
static int fail_count;

static void append(char *buf, size_t cap, size_t *used, const char *fmt, va_list ap)
{
    if (*used >= cap) return;
    int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
    if (n > 0) *used += (size_t)n < cap - *used ? (size_t)n : cap - *used - 1;
}

static void appendf(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(buf, cap, used, fmt, ap);
    va_end(ap);
}

void lab_kv(const char *key, const char *fmt, ...)
{
    appendf(line_fields, sizeof line_fields, &line_used, " %s=", key);
    va_list ap;
    va_start(ap, fmt);
    append(line_fields, sizeof line_fields, &line_used, fmt, ap);
    va_end(ap);
}

/* A value that may hold spaces, quoted so that the line stays key=value. */
static void kv_quoted(const char *key, const char *text)
{
    char clean[600];
    size_t n = 0;
    for (const char *s = text; *s && n + 1 < sizeof clean; ++s) clean[n++] = *s == '"' ? '\'' : *s == '\n' ? ' ' : *s;
    clean[n] = 0;
    lab_kv(key, "\"%s\"", clean);
}

static void print_line(const char *status)
{
    printf("tool=%s status=%s%s\n", line_tool, status, line_fields);
    fflush(stdout);
}

void lab_kv_list(const char *key, int n, const int *v)
{
    char text[LAB_MAX_BATCH * 12];
    size_t used = 0;
    for (int i = 0; i < n; ++i) appendf(text, sizeof text, &used, "%s%d", i ? "," : "", v[i]);
    lab_kv(key, "%s", text);
}

void lab_kv_config(const lab_opts *o)
{
    lab_kv("device", "%s", o->device);
    lab_kv("dtype", "%s", elattn_dtype_name(o->dtype));
    lab_kv("d", "%d", o->head_dim);
    lab_kv("hq", "%d", o->hq);
    lab_kv("hkv", "%d", o->hkv);
    lab_kv("batch", "%d", o->batch);
    lab_kv_list("lq", o->batch, o->lq);
    lab_kv_list("lk", o->batch, o->lk);
    lab_kv("causal", "%d", o->causal);
    lab_kv("block", "%d", o->block);
    char modes[LAB_MAX_KV_HEADS + 1];
    for (int h = 0; h < o->hkv; ++h) modes[h] = "FSB"[o->modes[h]];
    modes[o->hkv] = 0;
    lab_kv("mix", "%s", o->mix);
    lab_kv("modes", "%s", modes);
}

void lab_fail_reason(const char *fmt, ...)
{
    static size_t used;
    if (fail_count++) appendf(fail_reasons, sizeof fail_reasons, &used, "; ");
    va_list ap;
    va_start(ap, fmt);
    append(fail_reasons, sizeof fail_reasons, &used, fmt, ap);
    va_end(ap);
}

static int unchecked;
void lab_mark_unchecked(void) { unchecked = 1; }

void lab_finish(void)
{
    if (fail_count) kv_quoted("why", fail_reasons);
    print_line(fail_count ? "fail" : unchecked ? "unchecked" : "pass");
    exit(fail_count ? LAB_EXIT_CHECK_FAILED : LAB_EXIT_PASS);
}

void lab_api_fail(elattn_status st, const char *what)
{
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s: %s", what, elattn_status_string(st), elattn_last_error());
    kv_quoted("error", msg);
    print_line(st == ELATTN_ERROR_UNSUPPORTED ? "unsupported" : "error");
    exit(st == ELATTN_ERROR_UNSUPPORTED ? LAB_EXIT_UNSUPPORTED : LAB_EXIT_ERROR);
}

void lab_die(const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "elattn-%s: %s\n", line_tool, msg);
    kv_quoted("error", msg);
    print_line("error");
    exit(LAB_EXIT_ERROR);
}

void *lab_malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) lab_die("out of host memory (%zu bytes)", bytes);
    return p;
}

/* ---- options ---------------------------------------------------------------------- */
elattn_plan_options lab_plan_options(const lab_opts *o)
{
    const elattn_plan_options opts = {.struct_size = sizeof(elattn_plan_options), .kernel = o->kernel,
                                      .tile_m = o->tile_m, .tile_n = o->tile_n, .work_group_size = o->wg};
    return opts;
}

const char lab_shared_usage[] =
    "  --device NAME      elattn device id or name (reference, opencl:0, cuda:0, auto); default reference\n"
    "  --list             list the devices and exit\n"
    "  --kernel NAME      force a kernel: a name or a family prefix (cuda.attn.mma); default: the library's choice\n"
    "  --tiles M,N,W      elattn_plan_options tile_m, tile_n, work_group_size (0: the kernel's; a kernel\n"
    "                     without tiles refuses nonzero ones)\n"
    "  --dtype T          f32, f16 or bf16 (default bf16)\n"
    "  --head-dim D       default 128\n"
    "  --hq N, --hkv N    query and KV heads (default 32, 8)\n"
    "  --batch N          elements (default 1, or the number of lengths given)\n"
    "  --lq L[,L...]      query length of each element (32k = 32768; one value: every element); default 1024\n"
    "  --lk L[,L...]      key lengths (default: the query lengths)\n"
    "  --causal 0|1       default 1 (bottom-right aligned)\n"
    "  --block B          block-sparse / XAttention block size (default 128)\n"
    "  --mix MIX          modes of the KV heads, the same for every element: dense (all full), blocks (all\n"
    "                     block-sparse), or letters F (full), S (streaming), B (block-sparse), each with an\n"
    "                     optional count: 2F6S, FSB, 4B4F\n"
    "  --check 0|1        check against the scalar reference before timing (default 1)\n"
    "  --warmup N         untimed launches (default 2)\n"
    "  --iters N          timed launches, each between two events; 0: no timing (default 10)\n"
    "  --seed N           data seed (default 1)\n";

void lab_opts_init(lab_opts *o, const char *tool, const char *mix)
{
    memset(o, 0, sizeof *o);
    line_tool = tool;
    o->device = "reference";
    o->dtype = ELATTN_BF16;
    o->head_dim = 128;
    o->hq = 32;
    o->hkv = 8;
    o->batch = 1;
    o->causal = 1;
    o->block = 128;
    o->mix = mix;
    o->check = 1;
    o->warmup = 2;
    o->iters = 10;
    o->seed = 1;
    o->lq_text = "1024";
}

long lab_parse_long(const char *name, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end != v && (*end == 'k' || *end == 'K') && end[1] == 0 && n <= hi / 1024) {
        n *= 1024;
        ++end;
    }
    if (end == v || *end || errno || n < lo || n > hi)
        lab_die("%s: \"%s\" is not an integer in [%ld, %ld]", name, v, lo, hi);
    return n;
}

double lab_parse_double(const char *name, const char *v, double lo, double hi)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi)) lab_die("%s: \"%s\" is not a number in [%g, %g]", name, v, lo, hi);
    return x;
}

static int parse_len_list(const char *name, const char *text, int *out)
{
    int n = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (n == LAB_MAX_BATCH) lab_die("%s: more than %d lengths", name, LAB_MAX_BATCH);
        out[n++] = (int)lab_parse_long(name, tok, 0, 1L << 30);
    }
    if (n == 0) lab_die("%s: no lengths", name);
    return n;
}

static int parse_shared(lab_opts *o, const char *name, const char *v)
{
    if (!strcmp(name, "--device")) o->device = v;
    else if (!strcmp(name, "--kernel")) o->kernel = v[0] ? v : NULL;
    else if (!strcmp(name, "--tiles")) {
        if (sscanf(v, "%d,%d,%d", &o->tile_m, &o->tile_n, &o->wg) != 3 || o->tile_m < 0 || o->tile_n < 0 || o->wg < 0)
            lab_die("--tiles: \"%s\" is not M,N,W (three counts, 0 for the kernel's)", v);
    }
    else if (!strcmp(name, "--dtype")) {
        if (!strcmp(v, "f32") || !strcmp(v, "fp32")) o->dtype = ELATTN_F32;
        else if (!strcmp(v, "f16") || !strcmp(v, "fp16")) o->dtype = ELATTN_F16;
        else if (!strcmp(v, "bf16")) o->dtype = ELATTN_BF16;
        else lab_die("--dtype: \"%s\" is not f32, f16 or bf16", v);
    } else if (!strcmp(name, "--head-dim")) o->head_dim = (int)lab_parse_long(name, v, 1, 4096);
    else if (!strcmp(name, "--hq")) o->hq = (int)lab_parse_long(name, v, 1, 4096);
    else if (!strcmp(name, "--hkv")) o->hkv = (int)lab_parse_long(name, v, 1, LAB_MAX_KV_HEADS);
    else if (!strcmp(name, "--batch")) {
        o->batch = (int)lab_parse_long(name, v, 1, LAB_MAX_BATCH);
        o->batch_given = 1;
    } else if (!strcmp(name, "--lq")) o->lq_text = v;
    else if (!strcmp(name, "--lk")) o->lk_text = v;
    else if (!strcmp(name, "--causal")) o->causal = (int)lab_parse_long(name, v, 0, 1);
    else if (!strcmp(name, "--block")) o->block = (int)lab_parse_long(name, v, 1, 1 << 20);
    else if (!strcmp(name, "--mix")) o->mix = v;
    else if (!strcmp(name, "--check")) o->check = (int)lab_parse_long(name, v, 0, 1);
    else if (!strcmp(name, "--warmup")) o->warmup = (int)lab_parse_long(name, v, 0, 1000000);
    else if (!strcmp(name, "--iters")) o->iters = (int)lab_parse_long(name, v, 0, 1000000);
    else if (!strcmp(name, "--seed")) o->seed = (uint64_t)lab_parse_long(name, v, 0, 0x7fffffffL);
    else return 0;
    return 1;
}

/* "dense" (all FULL), "blocks" (all BLOCK_SPARSE), or a run of [count]letter
 * tokens (commas allowed) covering every KV head. */
static void parse_mix(lab_opts *o)
{
    if (!strcmp(o->mix, "dense") || !strcmp(o->mix, "blocks")) {
        for (int h = 0; h < o->hkv; ++h) o->modes[h] = o->mix[0] == 'd' ? ELATTN_FULL : ELATTN_BLOCK_SPARSE;
        return;
    }
    int n = 0;
    for (const char *s = o->mix; *s;) {
        if (*s == ',') {
            ++s;
            continue;
        }
        long count = 1;
        if (isdigit((unsigned char)*s)) count = strtol(s, (char **)&s, 10);
        int mode;
        switch (toupper((unsigned char)*s)) {
        case 'F': mode = ELATTN_FULL; break;
        case 'S': mode = ELATTN_STREAMING; break;
        case 'B':
        case 'X': mode = ELATTN_BLOCK_SPARSE; break;
        default: lab_die("--mix \"%s\": expected F, S or B at \"%s\"", o->mix, s);
        }
        ++s;
        if (count < 1 || n + count > o->hkv) lab_die("--mix \"%s\": more modes than the %d KV heads", o->mix, o->hkv);
        for (long c = 0; c < count; ++c) o->modes[n++] = mode;
    }
    if (n != o->hkv) lab_die("--mix \"%s\": %d modes for %d KV heads", o->mix, n, o->hkv);
}

static void opts_finish(lab_opts *o)
{
    const int n_lq = parse_len_list("--lq", o->lq_text, o->lq);
    const int n_lk = o->lk_text ? parse_len_list("--lk", o->lk_text, o->lk) : 0;
    if (n_lq > 1 || n_lk > 1) {
        int n = n_lq > 1 ? n_lq : n_lk;
        if (o->batch_given && o->batch != n) lab_die("--batch %d, but %d lengths", o->batch, n);
        o->batch = n;
    }
    if ((n_lq > 1 && n_lq != o->batch) || (n_lk > 1 && n_lk != o->batch))
        lab_die("--lq and --lk: give one length or one per element (%d)", o->batch);
    for (int b = 0; b < o->batch; ++b) {
        if (n_lq == 1) o->lq[b] = o->lq[0];
        if (!n_lk) o->lk[b] = o->lq[b];
        else if (n_lk == 1) o->lk[b] = o->lk[0];
    }
    long total_q = 0;
    for (int b = 0; b < o->batch; ++b) total_q += o->lq[b];
    if (total_q == 0) lab_die("--lq: every element is empty; nothing to run");
    parse_mix(o);
}

static int next_arg(int argc, char **argv, int i, const char **name, const char **value)
{
    static char key[128];
    const char *a = argv[i];
    const char *eq = strchr(a, '=');
    if (eq && a[0] == '-') {
        snprintf(key, sizeof key, "%.*s", (int)(eq - a), a);
        *name = key;
        *value = eq + 1;
        return i + 1;
    }
    *name = a;
    *value = i + 1 < argc ? argv[i + 1] : NULL;
    return i + 2;
}

static void list_devices(void)
{
    int n = 0;
    LAB_TRY(elattn_device_count(&n), "device_count");
    for (int i = 0; i < n; ++i) {
        elattn_device_info info;
        LAB_TRY(elattn_device_get_info(i, &info), "device_get_info");
        printf("%-12s %s (%s, %s)\n", info.id, info.name, info.vendor, info.arch);
    }
}

void lab_parse_args(lab_opts *o, int argc, char **argv, const char *usage, lab_option_fn own, void *tool)
{
    for (int i = 1; i < argc;) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf(usage, lab_shared_usage);
            exit(LAB_EXIT_PASS);
        }
        if (!strcmp(argv[i], "--list")) {
            list_devices();
            exit(LAB_EXIT_PASS);
        }
        const char *name, *value;
        i = next_arg(argc, argv, i, &name, &value);
        if (!value) lab_die("%s needs a value (--help lists the options)", name);
        if (!parse_shared(o, name, value) && !own(tool, name, value))
            lab_die("unknown option %s (--help lists the options)", name);
    }
    opts_finish(o);
}

/* ---- data ----------------------------------------------------------------------------- */
void lab_store(elattn_dtype dtype, void *dst, size_t at, const float *chunk, size_t n)
{
    LAB_TRY(elattn_convert(dtype, (char *)dst + at * elattn_dtype_size(dtype), ELATTN_F32, chunk, n), "convert");
}

double lab_load(elattn_dtype dtype, const void *src, size_t at)
{
    float f;
    LAB_TRY(elattn_convert(ELATTN_F32, &f, dtype, (const char *)src + at * elattn_dtype_size(dtype), 1), "convert");
    return f;
}


/* ---- timing ------------------------------------------------------------------------------- */
static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

lab_times lab_time(elattn_device *dev, int warmup, int iters, lab_launch_fn launch, void *ctx)
{
    lab_times t = {0, 0, 0};
    elattn_event *e0, *e1;
    LAB_TRY(elattn_event_create(dev, &e0), "event_create");
    LAB_TRY(elattn_event_create(dev, &e1), "event_create");
    for (int w = 0; w < warmup; ++w) launch(ctx); /* the default stream is in order: e0 waits for these */
    double *ms = lab_malloc(sizeof(double) * (size_t)(iters > 0 ? iters : 1));
    for (int it = 0; it < iters; ++it) {
        float m;
        LAB_TRY(elattn_event_record(e0, NULL), "event_record");
        launch(ctx);
        LAB_TRY(elattn_event_record(e1, NULL), "event_record");
        LAB_TRY(elattn_event_elapsed_ms(e0, e1, &m), "event_elapsed_ms");
        ms[it] = m;
    }
    if (iters > 0) {
        qsort(ms, (size_t)iters, sizeof *ms, by_value);
        t.median = iters % 2 ? ms[iters / 2] : 0.5 * (ms[iters / 2 - 1] + ms[iters / 2]);
        t.min = ms[0];
        t.max = ms[iters - 1];
    }
    free(ms);
    elattn_event_destroy(e0);
    elattn_event_destroy(e1);
    return t;
}

int lab_guards_intact(const kit_guarded *g, long long *first_hit)
{
    int ok = 0;
    LAB_TRY(kit_guarded_check(g, &ok, first_hit), "download guards");
    return ok;
}

/*
 * elattn-opencl-tune: measure the OpenCL attention tile configurations of one
 * family on one device and print the rows of the tile table
 * (backends/opencl/opencl_tuning.c), each with the command that measured it,
 * as CLBlast's tuners fill its database.
 *
 * Everything goes through the public API: each candidate (tile_m, tile_n,
 * work-group size) is a plan with elattn_plan_options forcing the family and
 * the tiles; a candidate the family refuses (UNSUPPORTED: the thread
 * mapping, local memory, the device's limits) is skipped. The call is dense
 * causal attention (every KV head FULL), one element of --len tokens. Each
 * candidate's output is compared with the scalar family's default as a guard
 * against timing a broken configuration (a gross-error check only: the
 * conformance runner is the test).
 *
 *   elattn-opencl-tune --device opencl:1 --family mma --budget 30   # NVIDIA: mma_async and mma candidates
 *   elattn-opencl-tune --device opencl:1 --family mma_async --head-dims 128   # attn_mma_async.cl's alone
 *   elattn-opencl-tune --device opencl:0 --family scalar --hq 4 --hkv 2 --len 512   # PoCL
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "elattn/elattn.h"
#include "kit_case.h"
#include "kit_rng.h"

#define MAX_DIMS 8

typedef struct options {
    const char *device, *family;
    elattn_dtype dtype;
    int dims[MAX_DIMS], n_dims;
    int hq, hkv, len, warmup, iters;
    double budget_s; /* stop trying candidates after this many seconds */
} options;

static void usage(void)
{
    fprintf(stderr,
            "usage: elattn-opencl-tune [--device ID] [--family scalar|mma|mma_async|subgroup] [--dtype f16|bf16|f32]\n"
            "                          [--head-dims 64,128,256] [--hq N] [--hkv N] [--len L] [--warmup N]\n"
            "                          [--iters N] [--budget SECONDS]\n"
            "Times every tile configuration of the family on the device (dense causal attention, one\n"
            "element of L tokens) and prints the tile-table rows of backends/opencl/opencl_tuning.c.\n"
            "--family mma times both tensor-core kernels (mma_async's candidates first, head dims <= 128)\n"
            "and prints the faster one's row.\n"
            "Defaults: --device opencl:0 --family scalar --dtype bf16 --head-dims 64,128,256 --hq 32\n"
            "--hkv 8 --len 4096 --warmup 1 --iters 3 (the median is kept) --budget 20 (seconds per head dim).\n");
    exit(2);
}

static int parse_int(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > (1L << 20)) {
        fprintf(stderr, "elattn-opencl-tune: %s: '%s' is not a positive integer\n", what, s);
        exit(2);
    }
    return (int)v;
}

static void parse(int argc, char **argv, options *o)
{
    *o = (options){"opencl:0", "scalar", ELATTN_BF16, {64, 128, 256}, 3, 32, 8, 4096, 1, 3, 20.0};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !v) usage();
        ++i;
        if (!strcmp(a, "--device")) o->device = v;
        else if (!strcmp(a, "--family")) o->family = v;
        else if (!strcmp(a, "--dtype")) {
            if (!strcmp(v, "f16")) o->dtype = ELATTN_F16;
            else if (!strcmp(v, "bf16")) o->dtype = ELATTN_BF16;
            else if (!strcmp(v, "f32")) o->dtype = ELATTN_F32;
            else usage();
        } else if (!strcmp(a, "--head-dims")) {
            char buf[128];
            snprintf(buf, sizeof buf, "%s", v);
            o->n_dims = 0;
            for (char *t = strtok(buf, ","); t && o->n_dims < MAX_DIMS; t = strtok(NULL, ","))
                o->dims[o->n_dims++] = parse_int(t, "--head-dims");
        } else if (!strcmp(a, "--hq")) o->hq = parse_int(v, a);
        else if (!strcmp(a, "--hkv")) o->hkv = parse_int(v, a);
        else if (!strcmp(a, "--len")) o->len = parse_int(v, a);
        else if (!strcmp(a, "--warmup")) o->warmup = parse_int(v, a);
        else if (!strcmp(a, "--iters")) o->iters = parse_int(v, a);
        else if (!strcmp(a, "--budget")) o->budget_s = parse_int(v, a);
        else usage();
    }
    if (o->hq % o->hkv) {
        fprintf(stderr, "elattn-opencl-tune: --hq %d is not a multiple of --hkv %d\n", o->hq, o->hkv);
        exit(2);
    }
}

/* The candidates of a family: the family that runs it (the table's name: "mma", "mma_async", ...),
 * tile_m x tile_n x work-group size (0: the family derives it). */
typedef struct cand {
    const char *family;
    int m, n, wg;
} cand;

static int candidates(const char *family, cand *out, int max)
{
    int n = 0;
    if (!strcmp(family, "mma") || !strcmp(family, "mma_async")) {
        /* m16 row blocks per warp x warps (32 work-items each) x keys; tile_m = 16 x blocks x warps.
         * The likelier first, so that a spent budget drops the others. mma_async (attn_mma_async.cl)
         * first, as the newer kernel; it refuses head dims above 128 and tiles over 48 KiB. 96 and 128
         * keys fit 48 KiB only at D 64 and below (FlashAttention-2's D 64 tiles;
         * 96 made D 64 1.1x faster on an H100, 2026-12-07 call 161). */
        static const int mws[] = {2, 1}, wgs[] = {128, 256, 64}, ns[] = {64, 96, 32, 128, 16};
        for (int async = 1; async >= 0; --async) {
            if (!async && !strcmp(family, "mma_async")) break;
            for (size_t i = 0; i < 2; ++i)
                for (size_t w = 0; w < 3; ++w)
                    for (size_t j = 0; j < sizeof ns / sizeof ns[0] && n < max; ++j)
                        out[n++] = (cand){async ? "mma_async" : "mma", 16 * mws[i] * wgs[w] / 32, ns[j], wgs[w]};
        }
    } else if (!strcmp(family, "subgroup")) { /* one row per subgroup */
        /* work-group 0: the family's width; 8 per row: width 8 where the device lets the kernel
         * require it (cl_intel_required_subgroup_size), refused elsewhere */
        static const int ms[] = {2, 4, 8, 16}, ns[] = {32, 64};
        for (int w8 = 0; w8 < 2; ++w8)
            for (size_t i = 0; i < 4; ++i)
                for (size_t j = 0; j < 2 && n < max; ++j) out[n++] = (cand){family, ms[i], ns[j], w8 ? 8 * ms[i] : 0};
    } else { /* scalar: powers of two; the family refuses mappings that do not fit */
        static const int ms[] = {16, 32, 64}, ns[] = {16, 32, 64}, wgs[] = {16, 32, 64, 128, 256};
        for (size_t i = 0; i < 3; ++i)
            for (size_t j = 0; j < 3; ++j)
                for (size_t w = 0; w < 5 && n < max; ++w) out[n++] = (cand){family, ms[i], ns[j], wgs[w]};
    }
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define CHECK(x)                                                                                                   \
    do {                                                                                                           \
        elattn_status s_ = (x);                                                                                    \
        if (s_ != ELATTN_SUCCESS) {                                                                                \
            fprintf(stderr, "elattn-opencl-tune: %s: %s\n", #x, elattn_last_error());                              \
            exit(1);                                                                                               \
        }                                                                                                          \
    } while (0)

/* The row's device class, as opencl_tuning.c names it, and NVIDIA's compute capability x 10. */
static const char *class_of(const elattn_device_info *info, int *cc)
{
    *cc = 0;
    if (!info->is_gpu) return "OCL_CLASS_CPU";
    if (!strcmp(info->vendor, "NVIDIA")) {
        int major = 0, minor = 0;
        if (sscanf(info->arch, "sm_%1d%d", &major, &minor) == 2) *cc = major * 10 + minor;
        return "OCL_CLASS_NVIDIA";
    }
    if (!strcmp(info->vendor, "AMD")) return "OCL_CLASS_AMD";
    if (!strcmp(info->vendor, "Intel")) return "OCL_CLASS_INTEL";
    return "OCL_CLASS_OTHER";
}

typedef struct call {
    elattn_device *dev;
    elattn_attn_desc desc;
    elattn_buffer *q, *k, *v, *o, *ws;
    size_t ws_bytes;
    int32_t cu[2];
    int32_t *modes;
    size_t o_bytes;
} call;

/* Run `plan` once on the call's buffers. */
static elattn_status run_once(call *c, const elattn_attn_plan *plan)
{
    size_t need = elattn_attn_plan_workspace_size(plan);
    if (need > c->ws_bytes) {
        elattn_buffer_free(c->ws);
        c->ws = NULL;
        CHECK(elattn_buffer_alloc(c->dev, need, &c->ws));
        c->ws_bytes = need;
    }
    elattn_attn_args a = {.struct_size = sizeof(elattn_attn_args), .q = c->q, .k = c->k, .v = c->v, .o = c->o, .cu_seqlens_q = c->cu, .cu_seqlens_k = c->cu,
                          .modes = c->modes, .workspace = need ? c->ws : NULL};
    return elattn_attn_run(plan, NULL, &a);
}

/* The output as floats (for the guard). */
static void download_o(call *c, float *out)
{
    size_t n = c->o_bytes / elattn_dtype_size(c->desc.dtype);
    void *raw = malloc(c->o_bytes);
    if (!raw) exit(1);
    CHECK(elattn_buffer_download(c->o, 0, raw, c->o_bytes, NULL));
    CHECK(elattn_convert(ELATTN_F32, out, c->desc.dtype, raw, n));
    free(raw);
}

int main(int argc, char **argv)
{
    options o;
    parse(argc, argv, &o);
    setvbuf(stdout, NULL, _IOLBF, 0); /* one line per candidate as it is timed */
    elattn_device *dev;
    CHECK(elattn_device_open_by_name(o.device, &dev));
    elattn_device_info info;
    CHECK(elattn_device_info_of(dev, &info));
    if (info.backend != ELATTN_BACKEND_OPENCL) {
        fprintf(stderr, "elattn-opencl-tune: %s is not an OpenCL device\n", info.id);
        return 2;
    }
    int cc;
    const char *cls = class_of(&info, &cc);
    char family[64];
    snprintf(family, sizeof family, "opencl.attn.%s", o.family);

    /* the command, for the rows' source strings */
    char command[512] = "elattn-opencl-tune";
    for (int i = 1; i < argc; ++i)
        snprintf(command + strlen(command), sizeof command - strlen(command), " %s", argv[i]);
    char date[32];
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&t));
    printf("# %s\n# device %s: %s (%s, %s), family %s, %s, Hq %d Hkv %d, L %d dense causal\n", command, info.id,
           info.name, info.vendor, info.arch, family, elattn_dtype_name(o.dtype), o.hq, o.hkv, o.len);

    cand cands[64];
    const int n_cands = candidates(o.family, cands, 64);
    char rows[MAX_DIMS][640];
    int n_rows = 0, failed = 0;
    for (int di = 0; di < o.n_dims; ++di) {
        const int d = o.dims[di];
        call c = {.dev = dev};
        c.desc = (elattn_attn_desc){.struct_size = sizeof(elattn_attn_desc), .dtype = o.dtype, .head_dim = d, .num_q_heads = o.hq, .num_kv_heads = o.hkv,
                                    .batch = 1, .max_seqlen_q = o.len, .max_seqlen_k = o.len, .causal = 1,
                                    .sink = 1, .local = 1, .block_size = 64};
        c.cu[0] = 0;
        c.cu[1] = o.len;
        c.modes = calloc((size_t)o.hkv, sizeof(int32_t)); /* every head FULL */
        const size_t esz = elattn_dtype_size(o.dtype), q_elems = (size_t)o.len * o.hq * d,
                     kv_elems = (size_t)o.len * o.hkv * d;
        c.o_bytes = q_elems * esz;
        void *host = malloc(q_elems * esz);
        float *ref = malloc(q_elems * sizeof(float)), *got = malloc(q_elems * sizeof(float));
        if (!c.modes || !host || !ref || !got) return 1;
        kit_rng rng;
        kit_rng_seed(&rng, 12345u + (unsigned)d);
        CHECK(elattn_buffer_alloc(dev, q_elems * esz, &c.q));
        CHECK(elattn_buffer_alloc(dev, q_elems * esz, &c.o));
        CHECK(elattn_buffer_alloc(dev, kv_elems * esz, &c.k));
        CHECK(elattn_buffer_alloc(dev, kv_elems * esz, &c.v));
        CHECK(kit_random_tensor(&rng, o.dtype, q_elems, 1.0, host, NULL));
        CHECK(elattn_buffer_upload(c.q, 0, host, q_elems * esz, NULL));
        CHECK(kit_random_tensor(&rng, o.dtype, kv_elems, 1.0, host, NULL));
        CHECK(elattn_buffer_upload(c.k, 0, host, kv_elems * esz, NULL));
        CHECK(kit_random_tensor(&rng, o.dtype, kv_elems, 1.0, host, NULL));
        CHECK(elattn_buffer_upload(c.v, 0, host, kv_elems * esz, NULL));

        /* the guard's reference: the scalar family's default configuration */
        elattn_plan_options ref_opt = {.struct_size = sizeof(elattn_plan_options), .kernel = "opencl.attn.scalar"};
        elattn_attn_plan *ref_plan;
        CHECK(elattn_attn_plan_create(dev, &c.desc, &ref_opt, &ref_plan));
        CHECK(run_once(&c, ref_plan));
        download_o(&c, ref);
        elattn_attn_plan_destroy(ref_plan);
        double ref_sq = 0;
        for (size_t i = 0; i < q_elems; ++i) ref_sq += (double)ref[i] * ref[i];

        elattn_event *e0, *e1;
        CHECK(elattn_event_create(dev, &e0));
        CHECK(elattn_event_create(dev, &e1));
        /* dense causal, Lq = Lk: L (L + 1) / 2 pairs per head, 4 D flops each (S and P V) */
        const double flops = 4.0 * d * o.hq * 0.5 * (double)o.len * (o.len + 1);
        double best_ms = INFINITY, start = now_s();
        cand best = {NULL, 0, 0, 0};
        int best_asked_wg = 0;
        char best_name[160] = "";
        int tried = 0, refused = 0;
        for (int ci = 0; ci < n_cands; ++ci) {
            if (now_s() - start > o.budget_s) {
                printf("#   d%d: budget of %.0f s spent after %d candidates\n", d, o.budget_s, ci);
                break;
            }
            char kernel[64]; /* the candidate's family by name (mma_async takes forced tiles only so) */
            snprintf(kernel, sizeof kernel, "opencl.attn.%s", cands[ci].family);
            elattn_plan_options opt = {.struct_size = sizeof(elattn_plan_options), .kernel = kernel, .tile_m = cands[ci].m, .tile_n = cands[ci].n,
                                       .work_group_size = cands[ci].wg};
            elattn_attn_plan *plan;
            elattn_status st = elattn_attn_plan_create(dev, &c.desc, &opt, &plan);
            if (st == ELATTN_ERROR_UNSUPPORTED) {
                ++refused;
                continue;
            }
            if (st != ELATTN_SUCCESS) { /* a build error: show it, go on */
                printf("#   d%d %s m%d n%d w%d: %s\n", d, cands[ci].family, cands[ci].m, cands[ci].n, cands[ci].wg,
                       elattn_last_error());
                ++failed;
                continue;
            }
            ++tried;
            const char *name = elattn_attn_plan_kernel_name(plan);
            for (int w = 0; w < o.warmup; ++w) CHECK(run_once(&c, plan));
            /* the median of single runs: a shared machine's stalls hit a few runs, not the median */
            double runs[64];
            const int n_runs = o.iters < 64 ? o.iters : 64;
            for (int it = 0; it < n_runs; ++it) {
                float one;
                CHECK(elattn_event_record(e0, NULL));
                CHECK(run_once(&c, plan));
                CHECK(elattn_event_record(e1, NULL));
                CHECK(elattn_event_elapsed_ms(e0, e1, &one));
                int at = it;
                for (; at > 0 && runs[at - 1] > one; --at) runs[at] = runs[at - 1];
                runs[at] = one;
            }
            const double ms = n_runs % 2 ? runs[n_runs / 2] : 0.5 * (runs[n_runs / 2 - 1] + runs[n_runs / 2]);
            download_o(&c, got);
            double err_sq = 0;
            for (size_t i = 0; i < q_elems; ++i) err_sq += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
            const double nmse = ref_sq > 0 ? err_sq / ref_sq : err_sq;
            const int ok = nmse < 1e-3; /* isfinite too: NaN fails the comparison */
            printf("#   %-52s %9.3f ms %7.1f TFLOP/s  nmse %.1e%s\n", name, ms, flops / (ms * 1e9), nmse,
                   ok ? "" : "  REJECTED (output differs)");
            if (!ok) ++failed;
            if (ok && ms < best_ms) {
                best_ms = ms;
                best = cands[ci];
                best_asked_wg = cands[ci].wg;
                snprintf(best_name, sizeof best_name, "%s", name);
                if (!best.wg) { /* derived by the family: read it back from the name's "w<N>" */
                    const char *w = strrchr(name, 'w');
                    while (w && w > name && !(w[-1] >= '0' && w[-1] <= '9')) w = NULL;
                    if (w) best.wg = atoi(w + 1);
                }
            }
            elattn_attn_plan_destroy(plan);
        }
        printf("#   d%d: %d candidates timed, %d refused by the family\n", d, tried, refused);
        if (best.m) {
            /* subgroup rows keep 0 (the family's width) unless the best candidate asked for one */
            const int row_wg = strcmp(o.family, "subgroup") ? best.wg : best_asked_wg;
            const int band = d <= 64 ? 64 : d <= 128 ? 128 : 256;
            snprintf(rows[n_rows++], sizeof rows[0],
                     "    {\"%s\", %s, %d, %d, %d, %d, %d, \"%s (%s, %s: %.3f ms, %s)\"},", best.family, cls,
                     !strncmp(best.family, "mma", 3) ? cc : 0, band, best.m, best.n, row_wg,
                     command, info.name, date, best_ms, best_name);
        }
        elattn_event_destroy(e0);
        elattn_event_destroy(e1);
        elattn_buffer_free(c.q);
        elattn_buffer_free(c.k);
        elattn_buffer_free(c.v);
        elattn_buffer_free(c.o);
        elattn_buffer_free(c.ws);
        free(c.modes);
        free(host);
        free(ref);
        free(got);
    }
    printf("\n/* rows for backends/opencl/opencl_tuning.c (family, class, cc, band, tile_m, tile_n, wg, source) */\n");
    for (int i = 0; i < n_rows; ++i) printf("%s\n", rows[i]);
    if (n_rows == 0) printf("/* none: the family ran no candidate on this device */\n");
    elattn_device_close(dev);
    return failed ? 1 : 0;
}

/*
 * elattn-bench's command line: the mixes of modes, the named case sets
 * (short, paper, full) and the options that change them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- mixes of modes ----------------------------------------------------------- */
const bench_pair pairs_table[PAIR_COUNT] = {
    [PAIR_DENSE] = {"dense", ELATTN_FULL, ELATTN_FULL},
    [PAIR_FA_SSA] = {"fa-ssa", ELATTN_FULL, ELATTN_STREAMING},
    [PAIR_FA_XA] = {"fa-xa", ELATTN_FULL, ELATTN_BLOCK_SPARSE},
    [PAIR_XA_SSA] = {"xa-ssa", ELATTN_BLOCK_SPARSE, ELATTN_STREAMING},
};

static const double paper_fracs[] = {0.5, 0.75, 1.0};

int mix_uses_xa(const mix *m)
{
    if (m->pair == PAIR_FA_XA) return m->sparse_frac > 0.0;
    if (m->pair == PAIR_XA_SSA) return m->sparse_frac < 1.0;
    return 0;
}

void mix_label(const mix *m, char *out, size_t n)
{
    if (m->pair == PAIR_DENSE) snprintf(out, n, "dense");
    else snprintf(out, n, "%s:%g", pairs_table[m->pair].name, m->sparse_frac);
}

int mix_modes(const mix *m, kit_case *call)
{
    const int n_sparse = m->pair == PAIR_DENSE ? 0 : (int)lround(m->sparse_frac * call->hkv);
    const int n_retr = call->hkv - n_sparse;
    kit_case_split_modes(call, pairs_table[m->pair].retrieval, n_retr, pairs_table[m->pair].sparse);
    return n_retr;
}

/* ---- configuration --------------------------------------------------------------- */
static void set_list(int_list *l, int n, const int *v)
{
    l->n = n;
    for (int i = 0; i < n; ++i) l->v[i] = v[i];
}

static void add_all_mixes(config *c)
{
    c->n_mixes = 0;
    c->mixes[c->n_mixes++] = (mix){PAIR_DENSE, 0.0, 1};
    for (int p = PAIR_FA_SSA; p < PAIR_COUNT; ++p)
        for (int f = 0; f < 3; ++f) c->mixes[c->n_mixes++] = (mix){p, paper_fracs[f], 1};
}

/* Named sets. "short" shrinks heads, lengths and the streaming window so that a
 * scalar CPU finishes in under a minute; it says so in its output. */
static int apply_set(config *c, const char *name)
{
    add_all_mixes(c);
    c->stride = 16;
    c->tau = 0.9f;
    if (strcmp(name, "short") == 0) {
        c->set_name = "short";
        c->set_note = "CPU-sized: Hq 8, Hkv 4, D 64, S 512-1024, sink 32, local 128, block 32, stride 8 (the "
                      "paper: Hq 32, Hkv 8, D 128, sink 128, local 2048, block 128, stride 16)";
        c->hq = 8, c->hkv = 4;
        set_list(&c->lens, 2, (int[]){512, 1024});
        set_list(&c->head_dims, 1, (int[]){64});
        set_list(&c->blocks, 1, (int[]){32});
        set_list(&c->dtypes, 1, (int[]){ELATTN_BF16});
        c->sink = 32, c->local = 128, c->stride = 8; /* S / local as at 8K-16K in the paper */
        return 0;
    }
    c->hq = 32, c->hkv = 8;
    c->sink = 128, c->local = 2048;
    if (strcmp(name, "paper") == 0) {
        c->set_name = "paper";
        c->set_note = "the paper's shapes (Qwen3-8B / Llama-3.1-8B attention): Hq 32, Hkv 8, D 128, bf16";
        set_list(&c->lens, 6, (int[]){4096, 8192, 16384, 32768, 65536, 131072});
        set_list(&c->head_dims, 1, (int[]){128});
        set_list(&c->blocks, 1, (int[]){128});
        set_list(&c->dtypes, 1, (int[]){ELATTN_BF16});
        return 0;
    }
    if (strcmp(name, "full") == 0) {
        c->set_name = "full";
        c->set_note = "paper set plus D 64, fp16, block 64 and S 256K where memory allows";
        set_list(&c->lens, 7, (int[]){4096, 8192, 16384, 32768, 65536, 131072, 262144});
        set_list(&c->head_dims, 2, (int[]){128, 64});
        set_list(&c->blocks, 2, (int[]){128, 64});
        set_list(&c->dtypes, 2, (int[]){ELATTN_BF16, ELATTN_F16});
        return 0;
    }
    return -1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: elattn-bench [options]\n"
            "  --set short|paper|full   case set (default short: CPU-sized)\n"
            "  --device ID              repeatable; an id (cuda:0, opencl:1, reference), a backend name,\n"
            "                           \"auto\" (the best device) or BACKEND:gpu (first GPU of a backend).\n"
            "                           Default: every device present.\n"
            "  --list                   list the devices and exit\n"
            "  --lens 8192,32768        sequence lengths (k/K suffix allowed: 8k)\n"
            "  --mix M[,M...]           repeatable; dense, all, fa-ssa, fa-xa, xa-ssa (fractions 0.5, 0.75, 1)\n"
            "                           or PAIR:FRAC such as fa-ssa:0.75 (FRAC = sparse KV heads / Hkv)\n"
            "  --dtype bf16,f16,f32     --head-dim 128,64     --block 128,64     --heads HQ:HKV (HKV <= %d)\n"
            "  --sink N --local N       streaming sinks and window (tokens)\n"
            "  --causal 1|0             causal masking (default 1); 0: every query sees every key\n"
            "  --stride N --tau T       XAttention stride and threshold\n"
            "  --min-time S             repeat each measurement to at least S seconds (default 0.2)\n"
            "  --min-reps N --max-reps N --warmup N   (defaults 3, 200, 1)\n"
            "  --rotate-mib N           rotate input sets until they exceed N MiB (default 256, at most %d sets)\n"
            "  --device-budget S        per device: cases left when S seconds have passed are reported skipped\n"
            "  --lead-tokens N          before each timed run, an untimed attention over N tokens (one head, D 128)\n"
            "                           that keeps the device busy while the host queues the run, so that the\n"
            "                           run's host work is not timed (default 8192 on a GPU, 0 otherwise; 0: none)\n"
            "  --inputs structured|random   structured (default): a RoPE-like positional part makes attention\n"
            "                           local as in a trained model; random: i.i.d. values (XAttention then\n"
            "                           keeps nearly every block)\n"
            "  --kernel NAME            implementation for the fused plan (serial dispatch keeps the library's\n"
            "                           choice, so the fused-vs-serial check compares against it)\n"
            "  --tiles M,N,W            elattn_plan_options tile_m, tile_n, work_group_size of the fused plan (0:\n"
            "                           the kernel's; e.g. --kernel opencl.attn.mma_async --tiles 128,32,128)\n"
            "  --xattn-kernel NAME      implementation for the XAttention selection plan (fa-xa mixes)\n"
            "  --page-size P            the fused call reads K and V as pages of P tokens (a power of two in\n"
            "                           [16, 256] dividing every length) through an identity block table:\n"
            "                           the same values as packed, so the checks hold; times the page lookups\n"
            "  --no-serial --no-router --no-check   skip those measurements\n"
            "  --seed N  --json FILE  --csv FILE\n",
            KIT_MAX_MODES, MAX_SETS);
}

int parse_int_list(const char *s, int_list *out)
{
    out->n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) return -1;
        if (*end == 'k' || *end == 'K') v *= 1024, ++end;
        if (v < 1 || v > (1 << 26) || v != floor(v) || out->n == MAX_LIST) return -1;
        out->v[out->n++] = (int)v;
        if (*end == ',') ++end;
        else if (*end) return -1;
        p = end;
    }
    return out->n ? 0 : -1;
}

int parse_dtypes(const char *s, int_list *out)
{
    out->n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int d;
        if (strcmp(tok, "bf16") == 0) d = ELATTN_BF16;
        else if (strcmp(tok, "f16") == 0 || strcmp(tok, "fp16") == 0) d = ELATTN_F16;
        else if (strcmp(tok, "f32") == 0 || strcmp(tok, "fp32") == 0) d = ELATTN_F32;
        else return -1;
        if (out->n == MAX_LIST) return -1;
        out->v[out->n++] = d;
    }
    return out->n ? 0 : -1;
}

static int add_mix(mix *list, int *n, mix m)
{
    for (int i = 0; i < *n; ++i)
        if (list[i].pair == m.pair && fabs(list[i].sparse_frac - m.sparse_frac) < 1e-12) return 0;
    if (*n == MAX_LIST) return -1;
    list[(*n)++] = m;
    return 0;
}

int parse_mix_list(const char *s, mix *list, int *n)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (strcmp(tok, "all") == 0) {
            for (int p = PAIR_DENSE; p < PAIR_COUNT; ++p)
                for (int f = 0; f < (p == PAIR_DENSE ? 1 : 3); ++f)
                    if (add_mix(list, n, (mix){p, p == PAIR_DENSE ? 0.0 : paper_fracs[f], 1})) return -1;
            continue;
        }
        char *colon = strchr(tok, ':');
        if (colon) *colon = '\0';
        int pair = -1;
        for (int p = 0; p < PAIR_COUNT; ++p)
            if (strcmp(tok, pairs_table[p].name) == 0) pair = p;
        if (pair < 0) return -1;
        if (pair == PAIR_DENSE) {
            if (colon || add_mix(list, n, (mix){PAIR_DENSE, 0.0, 1})) return -1;
        } else if (!colon) {
            for (int f = 0; f < 3; ++f)
                if (add_mix(list, n, (mix){pair, paper_fracs[f], 1})) return -1;
        } else {
            char *end;
            double f = strtod(colon + 1, &end);
            if (end == colon + 1 || *end || !(f > 0.0 && f <= 1.0)) return -1;
            if (add_mix(list, n, (mix){pair, f, 0})) return -1;
        }
    }
    return 0;
}

int parse_args(int argc, char **argv, config *c)
{
    memset(c, 0, sizeof *c);
    const char *set = "short";
    for (int i = 1; i + 1 < argc; ++i)
        if (strcmp(argv[i], "--set") == 0) set = argv[i + 1];
    if (apply_set(c, set)) {
        fprintf(stderr, "elattn-bench: --set %s: unknown (short, paper, full)\n", set);
        return 2;
    }
    c->min_time_s = 0.2, c->min_reps = 3, c->max_reps = 200, c->warmup = 1;
    c->causal = 1;
    c->rotate_mib = 256;
    c->lead_tokens = -1;
    c->serial = c->router = c->check = c->structured = 1;
    c->seed = 20260117ULL;
    int user_mix = 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKES_VALUE()                                                                                         \
    do {                                                                                                      \
        if (!v) {                                                                                             \
            fprintf(stderr, "elattn-bench: %s needs a value\n", a);                                           \
            return 2;                                                                                         \
        }                                                                                                     \
        ++i;                                                                                                  \
    } while (0)
#define BAD_VALUE()                                                                                           \
    do {                                                                                                      \
        fprintf(stderr, "elattn-bench: %s %s: invalid value\n", a, v);                                        \
        return 2;                                                                                             \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--list") == 0) {
            c->list_only = 1;
        } else if (strcmp(a, "--no-serial") == 0) {
            c->serial = 0;
        } else if (strcmp(a, "--no-router") == 0) {
            c->router = 0;
        } else if (strcmp(a, "--no-check") == 0) {
            c->check = 0;
        } else if (strcmp(a, "--set") == 0) {
            TAKES_VALUE();
        } else if (strcmp(a, "--device") == 0) {
            TAKES_VALUE();
            if (c->n_devices == MAX_DEVICES) BAD_VALUE();
            c->devices[c->n_devices++] = v;
        } else if (strcmp(a, "--lens") == 0) {
            TAKES_VALUE();
            if (parse_int_list(v, &c->lens)) BAD_VALUE();
        } else if (strcmp(a, "--head-dim") == 0) {
            TAKES_VALUE();
            if (parse_int_list(v, &c->head_dims)) BAD_VALUE();
        } else if (strcmp(a, "--block") == 0) {
            TAKES_VALUE();
            if (parse_int_list(v, &c->blocks)) BAD_VALUE();
        } else if (strcmp(a, "--dtype") == 0) {
            TAKES_VALUE();
            if (parse_dtypes(v, &c->dtypes)) BAD_VALUE();
        } else if (strcmp(a, "--mix") == 0) {
            TAKES_VALUE();
            if (!user_mix) c->n_mixes = 0, user_mix = 1;
            if (parse_mix_list(v, c->mixes, &c->n_mixes)) BAD_VALUE();
        } else if (strcmp(a, "--heads") == 0) {
            TAKES_VALUE();
            if (sscanf(v, "%d:%d", &c->hq, &c->hkv) != 2 || c->hq < 1 || c->hkv < 1 || c->hq % c->hkv ||
                c->hkv > KIT_MAX_MODES)
                BAD_VALUE();
        } else if (strcmp(a, "--page-size") == 0) {
            TAKES_VALUE();
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 16 || n > 256 || (n & (n - 1))) BAD_VALUE();
            c->page_size = (int)n;
        } else if (strcmp(a, "--causal") == 0) {
            TAKES_VALUE();
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) BAD_VALUE();
            c->causal = v[0] == '1';
        } else if (strcmp(a, "--sink") == 0 || strcmp(a, "--local") == 0 || strcmp(a, "--stride") == 0 ||
                   strcmp(a, "--min-reps") == 0 || strcmp(a, "--max-reps") == 0 || strcmp(a, "--warmup") == 0 ||
                   strcmp(a, "--lead-tokens") == 0) {
            TAKES_VALUE();
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 0 || n > (1 << 26)) BAD_VALUE();
            if (strcmp(a, "--lead-tokens") == 0) c->lead_tokens = (int)n;
            else if (a[2] == 's' && a[3] == 'i') c->sink = (int)n;
            else if (a[2] == 'l') c->local = (int)n;
            else if (a[2] == 's') c->stride = (int)n;
            else if (strcmp(a, "--min-reps") == 0) c->min_reps = (int)n;
            else if (strcmp(a, "--max-reps") == 0) c->max_reps = (int)n;
            else c->warmup = (int)n;
        } else if (strcmp(a, "--tau") == 0 || strcmp(a, "--min-time") == 0 || strcmp(a, "--rotate-mib") == 0 ||
                   strcmp(a, "--device-budget") == 0) {
            TAKES_VALUE();
            char *end;
            double x = strtod(v, &end);
            if (*end || !(x >= 0.0) || !isfinite(x)) BAD_VALUE();
            if (strcmp(a, "--tau") == 0) c->tau = (float)x;
            else if (strcmp(a, "--min-time") == 0) c->min_time_s = x;
            else if (strcmp(a, "--rotate-mib") == 0) c->rotate_mib = x;
            else c->device_budget_s = x;
        } else if (strcmp(a, "--inputs") == 0) {
            TAKES_VALUE();
            if (strcmp(v, "structured") == 0) c->structured = 1;
            else if (strcmp(v, "random") == 0) c->structured = 0;
            else BAD_VALUE();
        } else if (strcmp(a, "--seed") == 0) {
            TAKES_VALUE();
            c->seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--kernel") == 0) {
            TAKES_VALUE();
            c->kernel = v;
        } else if (strcmp(a, "--tiles") == 0) {
            TAKES_VALUE();
            char end = 0;
            if (sscanf(v, "%d,%d,%d%c", &c->tiles[0], &c->tiles[1], &c->tiles[2], &end) != 3 || c->tiles[0] < 0 ||
                c->tiles[1] < 0 || c->tiles[2] < 0)
                BAD_VALUE();
        } else if (strcmp(a, "--xattn-kernel") == 0) {
            TAKES_VALUE();
            c->xattn_kernel = v;
        } else if (strcmp(a, "--json") == 0) {
            TAKES_VALUE();
            c->json_path = v;
        } else if (strcmp(a, "--csv") == 0) {
            TAKES_VALUE();
            c->csv_path = v;
        } else {
            fprintf(stderr, "elattn-bench: unknown option %s (--help lists them)\n", a);
            return 2;
        }
#undef TAKES_VALUE
#undef BAD_VALUE
    }
    if (c->min_reps < 1) c->min_reps = 1;
    if (c->max_reps < c->min_reps) c->max_reps = c->min_reps;
    int kept = 0;
    for (int i = 0; i < c->n_mixes; ++i) {
        double n = c->mixes[i].sparse_frac * c->hkv;
        if (fabs(n - lround(n)) > 1e-9) {
            char label[48];
            mix_label(&c->mixes[i], label, sizeof label);
            if (!c->mixes[i].implicit) {
                fprintf(stderr, "elattn-bench: --mix %s: %g x %d KV heads is not a whole number of heads\n",
                        label, c->mixes[i].sparse_frac, c->hkv);
                return 2;
            }
            size_t used = strlen(c->dropped_mixes);
            snprintf(c->dropped_mixes + used, sizeof c->dropped_mixes - used, "%s%s", used ? ", " : "", label);
            continue;
        }
        c->mixes[kept++] = c->mixes[i];
    }
    c->n_mixes = kept;
    return 0;
}


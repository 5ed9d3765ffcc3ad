/*
 * elattn-conformance: runs the case matrix on the reference device (the
 * oracle) and on each device under test, through the same public calls, and
 * checks every output (see README.md). --self-test instead runs the attention
 * cases against the reference backend's deliberately faulty kernels and
 * fails if any of them gets through.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "isolate.h"
#include "kit_json.h"

#define MAX_TARGETS 64
#define ALL_KINDS ((1u << CASE_ATTN) | (1u << CASE_XATTN) | (1u << CASE_ROUTER) | (1u << CASE_INVALID) | (1u << CASE_DECODE))

static const char *const fault_kernels[] = {
    "reference.attn.fault_window", "reference.attn.fault_mask", "reference.attn.fault_scale",
    "reference.attn.fault_overrun", "reference.attn.fault_nan", "reference.attn.fault_lse", "reference.attn.fault_zero",
};
#define NUM_FAULTS (int)(sizeof fault_kernels / sizeof fault_kernels[0])

typedef struct options {
    const char *backends[MAX_TARGETS];
    int num_backends;
    const char *case_filter;
    const char *excludes[MAX_TARGETS];
    int num_excludes;
    const char *kernel;
    int tiles[3]; /* --tiles: tile_m, tile_n, work_group_size of the attention plans */
    const char *csv, *json;
    int quick, list, self_test, allow_missing;
    int no_isolate;     /* --no-isolate: every case in this process */
    double case_timeout; /* --case-timeout: seconds a case may run in a worker (0: no limit) */
    int case_timeout_set;
    int seed_set;
    int random_tiles;    /* --random-tiles */
    int random;          /* --random N: N cases drawn from --seed instead of the matrix (0: the matrix) */
    unsigned long long seed;
    conf_worker worker; /* --worker FD:CASE:TARGET (internal): a worker of the supervisor */
} options;

/* One printed result, kept for the matrix and the files. */
typedef struct record {
    int target;
    const conf_case *c;
    case_result r;
    double seconds;
} record;

typedef struct report {
    record *v;
    int n, cap;
} report;

/* --case-timeout's default: far above the slowest case (seconds at most, fp32 on PoCL under
 * ASan included), so that only a case that will not finish (a deadlocked kernel) reaches it. */
enum { DEFAULT_CASE_TIMEOUT_S = 300 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: elattn-conformance [options]\n"
            "  --backend ID   device to test: an id (\"opencl:0\", \"cuda:0\", \"reference\") or a backend\n"
            "                 name (every device of it); repeatable. Default: every device except the\n"
            "                 reference, or the reference itself when it is the only one.\n"
            "  --case SUBSTR  only cases whose name contains SUBSTR\n"
            "  --exclude SUBSTR  leave out cases whose name contains SUBSTR (repeatable)\n"
            "  --quick        the small set (for compute-sanitizer and smoke tests)\n"
            "  --kernel NAME  force elattn_plan_options.kernel (a kernel or family name) on the plans of\n"
            "                 the operation it names (attn, xattn, router, decode; every one for a bare\n"
            "                 backend name). Without it, every case runs once per kernel family of each\n"
            "                 device.\n"
            "  --tiles M,N,W  force elattn_plan_options.tile_m, tile_n and work_group_size (0: the\n"
            "                 backend's) on the attention plans; a configuration a kernel cannot run is\n"
            "                 \"unsupported\" for it\n"
            "  --csv FILE     write every result as CSV\n"
            "  --json FILE    write every result as JSON\n"
            "  --list         list the cases and exit\n"
            "  --random N     instead of the matrix, N cases drawn at random (attention, XAttention,\n"
            "                 decode; shapes, dtypes, modes, layouts, lengths on tile edges); a draw\n"
            "                 is named random/SEED:I/... and depends only on SEED and I\n"
            "  --seed S       the draw's seed (default 1); pass a new one to meet new cases\n"
            "  --random-tiles with --random: each attention draw also draws tile_m, tile_n and\n"
            "                 work_group_size (as --tiles, for the families that take them)\n"
            "  --allow-missing  a --backend with no device here exits 77 (\"skipped\" for meson test): its\n"
            "                 module was not built, or it found no device; a module that exists but does\n"
            "                 not load is a failure, with dlopen's reason\n"
            "  --no-isolate   run every case in this process (default: in a worker process, so that a\n"
            "                 case that crashes fails alone and the run goes on in a new worker)\n"
            "  --case-timeout S  with isolation, a case (on one target) that has not finished S seconds\n"
            "                 after it began fails as hung and its worker is killed; 0: no limit\n"
            "                 (default %d)\n"
            "  --self-test    run the attention cases against the reference's faulty kernels;\n"
            "                 fails if any faulty kernel passes every case\n",
            DEFAULT_CASE_TIMEOUT_S);
}

static int parse(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->worker.fd = -1;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--backend") && has_value) {
            if (o->num_backends == MAX_TARGETS) {
                fprintf(stderr, "elattn-conformance: at most %d --backend options\n", MAX_TARGETS);
                return 2;
            }
            o->backends[o->num_backends++] = argv[++i];
        } else if (!strcmp(a, "--case") && has_value) {
            o->case_filter = argv[++i];
        } else if (!strcmp(a, "--exclude") && has_value) {
            if (o->num_excludes == MAX_TARGETS) {
                fprintf(stderr, "elattn-conformance: at most %d --exclude options\n", MAX_TARGETS);
                return 2;
            }
            o->excludes[o->num_excludes++] = argv[++i];
        } else if (!strcmp(a, "--kernel") && has_value) {
            o->kernel = argv[++i];
        } else if (!strcmp(a, "--tiles") && has_value) {
            char end;
            int *v = o->tiles;
            if (sscanf(argv[++i], "%d,%d,%d%c", &v[0], &v[1], &v[2], &end) != 3 || v[0] < 0 || v[1] < 0 ||
                v[2] < 0) {
                fprintf(stderr, "elattn-conformance: --tiles %s: not M,N,W (three integers >= 0)\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--csv") && has_value) {
            o->csv = argv[++i];
        } else if (!strcmp(a, "--json") && has_value) {
            o->json = argv[++i];
        } else if (!strcmp(a, "--random") && has_value) {
            char end;
            if (sscanf(argv[++i], "%d%c", &o->random, &end) != 1 || o->random < 1 || o->random > 100000) {
                fprintf(stderr, "elattn-conformance: --random %s: not a number of cases in [1, 100000]\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--seed") && has_value) {
            char end;
            if (sscanf(argv[++i], "%llu%c", &o->seed, &end) != 1 || argv[i][0] == '-') {
                fprintf(stderr, "elattn-conformance: --seed %s: not an unsigned integer\n", argv[i]);
                return 2;
            }
            o->seed_set = 1;
        } else if (!strcmp(a, "--random-tiles")) {
            o->random_tiles = 1;
        } else if (!strcmp(a, "--quick")) {
            o->quick = 1;
        } else if (!strcmp(a, "--list")) {
            o->list = 1;
        } else if (!strcmp(a, "--allow-missing")) {
            o->allow_missing = 1;
        } else if (!strcmp(a, "--self-test")) {
            o->self_test = 1;
        } else if (!strcmp(a, "--no-isolate")) {
            o->no_isolate = 1;
        } else if (!strcmp(a, "--case-timeout") && has_value) {
            char end;
            if (sscanf(argv[++i], "%lf%c", &o->case_timeout, &end) != 1 || !(o->case_timeout >= 0.0)) {
                fprintf(stderr, "elattn-conformance: --case-timeout %s: not a number of seconds >= 0\n", argv[i]);
                return 2;
            }
            o->case_timeout_set = 1;
        } else if (!strcmp(a, "--worker") && has_value) {
            if (conf_worker_parse(argv[++i], &o->worker) != 0) {
                fprintf(stderr, "elattn-conformance: --worker %s: not FD:CASE:TARGET of an open pipe\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "elattn-conformance: unknown or incomplete option \"%s\"\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (o->case_timeout_set && o->no_isolate && o->case_timeout > 0.0) {
        fprintf(stderr, "elattn-conformance: --case-timeout needs case isolation (a hung case's worker is killed); "
                        "it cannot be used with --no-isolate\n");
        return 2;
    }
    if ((o->seed_set || o->random_tiles) && !o->random) {
        fprintf(stderr, "elattn-conformance: %s needs --random N\n", o->seed_set ? "--seed" : "--random-tiles");
        return 2;
    }
    if (o->random_tiles && (o->tiles[0] || o->tiles[1] || o->tiles[2])) {
        fprintf(stderr, "elattn-conformance: --random-tiles draws the tiles that --tiles would fix: use one\n");
        return 2;
    }
    if (o->random && (o->quick || o->self_test)) {
        fprintf(stderr, "elattn-conformance: --random replaces the matrix; it cannot be used with %s\n",
                o->quick ? "--quick" : "--self-test");
        return 2;
    }
    if (!o->seed_set) o->seed = 1;
    if (!o->case_timeout_set) o->case_timeout = DEFAULT_CASE_TIMEOUT_S;
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- targets ------------------------------------------------------------------- */
/* A target on device `index`: opens it, or shares the handle of the target
 * before it when that one is the same device (share >= 0). */
static int add_target(conf_target *t, int *n, int index, int share, const char *label, const char *kernel,
                      unsigned kinds)
{
    if (*n == MAX_TARGETS) {
        fprintf(stderr, "elattn-conformance: more than %d targets\n", MAX_TARGETS);
        return -1;
    }
    conf_target *nt = &t[*n];
    memset(nt, 0, sizeof *nt);
    if (share >= 0) {
        nt->dev = t[share].dev;
    } else {
        if (elattn_device_open(index, &nt->dev) != ELATTN_SUCCESS) {
            fprintf(stderr, "elattn-conformance: cannot open device %d: %s\n", index, elattn_last_error());
            return -1;
        }
        nt->owns_dev = 1;
    }
    snprintf(nt->label, sizeof nt->label, "%s", label);
    snprintf(nt->kernel, sizeof nt->kernel, "%s", kernel ? kernel : "");
    nt->kinds = kinds;
    (*n)++;
    return 1;
}

/* The targets of one device: with a forced kernel, one that runs every kind;
 * otherwise one per kernel family of each operation (forced by name, running
 * that operation's cases) and one for the invalid-argument table. */
static int add_device_targets(const options *o, conf_target *t, int *n, int index, const char *id)
{
    if (o->kernel) {
        /* the forced name applies to the operation it names (its second part), the rest run unforced */
        static const struct {
            const char *name;
            case_kind kind;
        } ops[] = {{"attn", CASE_ATTN}, {"xattn", CASE_XATTN}, {"router", CASE_ROUTER}, {"decode", CASE_DECODE}};
        const char *op = strchr(o->kernel, '.');
        unsigned forced = ALL_KINDS;
        for (size_t k = 0; op && k < sizeof ops / sizeof ops[0]; ++k) {
            const size_t n = strlen(ops[k].name);
            if (!strncmp(op + 1, ops[k].name, n) && (op[1 + n] == '.' || !op[1 + n])) forced = 1u << ops[k].kind;
        }
        const int first = *n;
        if (add_target(t, n, index, -1, id, o->kernel, forced) < 0) return -1;
        return forced == ALL_KINDS ? 0 : add_target(t, n, index, first, id, NULL, ALL_KINDS & ~forced);
    }
    const int first = *n;
    /* the device itself: the invalid-argument table */
    if (add_target(t, n, index, -1, id, NULL, 1u << CASE_INVALID) < 0) return -1;
    static const struct {
        elattn_op op;
        case_kind kind;
    } ops[] = {{ELATTN_OP_ATTENTION, CASE_ATTN},
               {ELATTN_OP_XATTN, CASE_XATTN},
               {ELATTN_OP_ROUTER, CASE_ROUTER},
               {ELATTN_OP_DECODE, CASE_DECODE}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; ++k) {
        const char *names[16];
        int count = 0;
        if (elattn_device_kernel_families(t[first].dev, ops[k].op, names, 16, &count) != ELATTN_SUCCESS) {
            fprintf(stderr, "elattn-conformance: %s: kernel families: %s\n", id, elattn_last_error());
            return -1;
        }
        if (count > 16) count = 16;
        /* A family forced by name selects every kernel name under it at a dot (elattn_plan_options.
         * kernel), so one family's name must not be another's prefix at a dot: forcing the shorter
         * would run the longer ("opencl.attn.mma" and a family once named "opencl.attn.mma.async"). */
        for (int a = 0; a < count; ++a) {
            for (int b = 0; b < count; ++b) {
                const size_t len = strlen(names[a]);
                if (a != b && !strncmp(names[a], names[b], len) && names[b][len] == '.') {
                    fprintf(stderr,
                            "elattn-conformance: %s: kernel family %s is a prefix of family %s at a dot: forcing "
                            "the first would select the second\n",
                            id, names[a], names[b]);
                    return -1;
                }
            }
        }
        for (int f = 0; f < count; ++f) {
            /* label: the device id and the family without its backend prefix ("cuda:0 attn.mma") */
            const char *dot = strchr(names[f], '.');
            char label[96];
            snprintf(label, sizeof label, "%s %s", id, dot ? dot + 1 : names[f]);
            if (add_target(t, n, index, first, label, names[f], 1u << ops[k].kind) < 0) return -1;
        }
    }
    return 0;
}

/* Why a backend (the part of an id before ':') has no device, when that is a
 * reason to skip: its module was not built (not found), or it loaded and found
 * no device. NULL when its module exists but did not load: that is a failure
 * (the message says why), not a missing device. */
static const char *backend_absence(const char *id)
{
    static const elattn_backend kinds[] = {ELATTN_BACKEND_CUDA, ELATTN_BACKEND_HIP, ELATTN_BACKEND_OPENCL,
                                           ELATTN_BACKEND_REFERENCE};
    static elattn_backend_info bi;
    size_t len = strcspn(id, ":");
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; ++k) {
        const char *name = elattn_backend_name(kinds[k]);
        if (strlen(name) != len || strncmp(name, id, len) != 0) continue;
        if (elattn_backend_get_info(kinds[k], &bi) != ELATTN_SUCCESS) return NULL;
        if (bi.loaded) return "its module loaded and found no such device";
        if (!bi.module[0]) return bi.reason;
        fprintf(stderr, "elattn-conformance: --backend %s: module %s did not load: %s\n", id, bi.module, bi.reason);
        return NULL;
    }
    return "no such backend";
}

static int select_targets(const options *o, conf_target *t, int *n)
{
    int count = 0;
    *n = 0;
    elattn_device_count(&count);
    if (o->self_test) {
        int ref = -1;
        for (int i = 0; i < count; ++i) {
            elattn_device_info info;
            if (elattn_device_get_info(i, &info) == ELATTN_SUCCESS && info.backend == ELATTN_BACKEND_REFERENCE)
                ref = i;
        }
        if (ref < 0) return -1;
        /* the correct kernel first, as the control: it must pass everything */
        if (add_target(t, n, ref, -1, "reference", "reference.attn.scalar", 1u << CASE_ATTN) < 0) return -1;
        for (int f = 0; f < NUM_FAULTS; ++f)
            if (add_target(t, n, ref, 0, fault_kernels[f], fault_kernels[f], 1u << CASE_ATTN) < 0) return -1;
        return 0;
    }
    for (int i = 0; i < count; ++i) {
        elattn_device_info info;
        if (elattn_device_get_info(i, &info) != ELATTN_SUCCESS) continue;
        int want;
        if (o->num_backends == 0) {
            want = info.backend != ELATTN_BACKEND_REFERENCE;
        } else {
            want = 0;
            for (int b = 0; b < o->num_backends; ++b)
                want |= !strcmp(o->backends[b], info.id) || !strcmp(o->backends[b], elattn_backend_name(info.backend));
        }
        if (want && add_device_targets(o, t, n, i, info.id) < 0) return -1;
    }
    if (*n == 0 && o->num_backends == 0) {
        printf("note: the reference is the only device here; checking it against itself proves nothing\n"
               "      about any backend (it exercises the runner, the guards and the invalid-argument table).\n");
        for (int i = 0; i < count; ++i) {
            elattn_device_info info;
            if (elattn_device_get_info(i, &info) == ELATTN_SUCCESS && info.backend == ELATTN_BACKEND_REFERENCE)
                if (add_device_targets(o, t, n, i, info.id) < 0) return -1;
        }
    }
    for (int b = 0; b < o->num_backends; ++b) {
        int found = 0;
        for (int i = 0; i < *n; ++i) {
            elattn_device_info info;
            elattn_device_info_of(t[i].dev, &info);
            found |= !strcmp(o->backends[b], info.id) || !strcmp(o->backends[b], elattn_backend_name(info.backend));
        }
        const char *absent = backend_absence(o->backends[b]);
        if (!found && o->allow_missing && absent) {
            printf("skipped: no \"%s\" device here (%s)\n", o->backends[b], absent);
            return -2;
        }
        if (!found) {
            fprintf(stderr, "elattn-conformance: --backend %s: no such device here (devices:", o->backends[b]);
            for (int i = 0; i < count; ++i) {
                elattn_device_info info;
                if (elattn_device_get_info(i, &info) == ELATTN_SUCCESS) fprintf(stderr, " %s", info.id);
            }
            fprintf(stderr, ")\n");
            return -1;
        }
        if (!strcmp(o->backends[b], "reference"))
            printf("note: --backend reference checks the reference against itself, which proves nothing about\n"
                   "      a backend (it exercises the runner, the guards and the invalid-argument table).\n");
    }
    return 0;
}

/* ---- output ---------------------------------------------------------------------- */
static const char *status_name(case_status s)
{
    return s == ST_PASS ? "PASS" : s == ST_FAIL ? "FAIL" : "UNSUPPORTED";
}

static const char *guard_name(int g) { return g < 0 ? "n/a" : g ? "ok" : "HIT"; }

static void print_record(const conf_target *t, const record *rec)
{
    const case_result *r = &rec->r;
    printf("%-24s %-70s %-11s nmse=%-9.2e max=%-9.2e guard=%-3s %5.2fs kernel=%s%s%s\n", t[rec->target].label,
           rec->c->name, status_name(r->status), r->nmse, r->max_err, guard_name(r->guard_ok), rec->seconds,
           r->kernel[0] ? r->kernel : "-", r->detail[0] ? "  " : "", r->detail);
    fflush(stdout);
}

static void push_record(report *rep, record rec)
{
    if (rep->n == rep->cap) {
        rep->cap = rep->cap ? 2 * rep->cap : 256;
        record *nv = realloc(rep->v, sizeof *nv * (size_t)rep->cap);
        if (!nv) {
            fprintf(stderr, "elattn-conformance: out of host memory\n");
            exit(1);
        }
        rep->v = nv;
    }
    rep->v[rep->n++] = rec;
}

static void print_matrix(const conf_target *t, int nt, const report *rep)
{
    printf("\nsupport matrix (passed/failed/unsupported cases per feature)\n%-24s", "backend");
    for (int f = 0; f < FEAT_COUNT; ++f) printf(" %12s", conf_feature_names[f]);
    printf("\n");
    for (int i = 0; i < nt; ++i) {
        printf("%-24s", t[i].label);
        for (int f = 0; f < FEAT_COUNT; ++f) {
            int c[3] = {0, 0, 0};
            for (int k = 0; k < rep->n; ++k)
                if (rep->v[k].target == i && (rep->v[k].c->features & (1u << f))) c[rep->v[k].r.status]++;
            char cell[32];
            if (c[0] + c[1] + c[2] == 0) snprintf(cell, sizeof cell, "-");
            else snprintf(cell, sizeof cell, "%d/%d/%d", c[0], c[1], c[2]);
            printf(" %12s", cell);
        }
        printf("\n");
    }
}

static int write_files(const options *o, const conf_target *t, const report *rep)
{
    if (o->csv) {
        FILE *f = fopen(o->csv, "w");
        if (!f) {
            fprintf(stderr, "elattn-conformance: --csv %s: cannot open for writing\n", o->csv);
            return -1;
        }
        fprintf(f, "backend,case,status,nmse,max_err,guard,seconds,kernel,detail\n");
        for (int k = 0; k < rep->n; ++k) {
            const record *r = &rep->v[k];
            char detail[sizeof r->r.detail];
            snprintf(detail, sizeof detail, "%s", r->r.detail);
            for (char *p = detail; *p; ++p)
                if (*p == '"') *p = '\'';
            fprintf(f, "%s,%s,%s,%.6g,%.6g,%s,%.3f,%s,\"%s\"\n", t[r->target].label, r->c->name,
                    status_name(r->r.status), r->r.nmse, r->r.max_err, guard_name(r->r.guard_ok), r->seconds,
                    r->r.kernel, detail);
        }
        fclose(f);
    }
    if (o->json) {
        FILE *f = fopen(o->json, "w");
        if (!f) {
            fprintf(stderr, "elattn-conformance: --json %s: cannot open for writing\n", o->json);
            return -1;
        }
        /* One result a line. */
        kit_json w;
        kit_json_init(&w, f);
        kit_json_object(&w, NULL);
        kit_json_string(&w, "elattn_version", elattn_version_string());
        kit_json_bool(&w, "self_test", o->self_test);
        if (o->random) {
            kit_json_int(&w, "random_cases", o->random);
            kit_json_uint(&w, "seed", o->seed);
            kit_json_bool(&w, "random_tiles", o->random_tiles);
        }
        kit_json_array(&w, "results");
        for (int k = 0; k < rep->n; ++k) {
            const record *r = &rep->v[k];
            kit_json_newline(&w, 2);
            kit_json_object(&w, NULL);
            kit_json_string(&w, "backend", t[r->target].label);
            kit_json_string(&w, "case", r->c->name);
            kit_json_string(&w, "status", status_name(r->r.status));
            kit_json_number(&w, "nmse", r->r.nmse, 6);
            kit_json_number(&w, "max_err", r->r.max_err, 6);
            kit_json_string(&w, "guard", guard_name(r->r.guard_ok));
            kit_json_fixed(&w, "seconds", r->seconds, 3);
            kit_json_string(&w, "kernel", r->r.kernel);
            kit_json_array(&w, "features");
            for (int ft = 0; ft < FEAT_COUNT; ++ft)
                if (r->c->features & (1u << ft)) kit_json_string(&w, NULL, conf_feature_names[ft]);
            kit_json_end(&w);
            kit_json_string(&w, "detail", r->r.detail);
            kit_json_end(&w);
        }
        kit_json_newline(&w, 0);
        kit_json_end(&w);
        kit_json_end(&w);
        fputc('\n', f);
        fclose(f);
    }
    return 0;
}

/* ---- running ------------------------------------------------------------------------ */
static int case_selected(const options *o, const conf_case *c)
{
    if (o->quick && !c->quick) return 0;
    if (o->case_filter && !strstr(c->name, o->case_filter)) return 0;
    for (int i = 0; i < o->num_excludes; ++i)
        if (strstr(c->name, o->excludes[i])) return 0;
    if (o->self_test && c->kind != CASE_ATTN) return 0; /* the faulty kernels are attention kernels */
    return 1;
}

/* Runs one case on targets first..nt-1; returns 0 when the oracle could not be made. A worker
 * (w->fd >= 0) sends each result to its supervisor instead of keeping and printing it. */
static int run_case(const conf_case *c, int ci, elattn_device *ref, const conf_target *t, int nt, int first,
                    const conf_worker *w, report *rep)
{
    char why[512] = "";
    /* a crash while the oracle runs counts against the first target that runs this kind of case */
    while (first < nt && !(t[first].kinds & (1u << c->kind))) ++first;
    if (w->fd >= 0 && first < nt) conf_worker_begin(w, ci, first);
    double t0 = now_s();
    attn_oracle *ao = NULL;
    xattn_oracle *xo = NULL;
    router_oracle *ro = NULL;
    decode_oracle *dco = NULL;
    int have = 1;
    switch (c->kind) {
    case CASE_ATTN: have = (ao = attn_oracle_make(c, ref, why, sizeof why)) != NULL; break;
    case CASE_XATTN: have = (xo = xattn_oracle_make(c, ref, why, sizeof why)) != NULL; break;
    case CASE_ROUTER: have = (ro = router_oracle_make(c, ref, why, sizeof why)) != NULL; break;
    case CASE_INVALID: break;
    case CASE_DECODE: have = (dco = decode_oracle_make(c, ref, why, sizeof why)) != NULL; break;
    }
    double oracle_s = now_s() - t0;
    int first_line = 1;
    for (int i = first; i < nt; ++i) {
        if (!(t[i].kinds & (1u << c->kind))) continue; /* another operation's family */
        if (w->fd >= 0 && !first_line) conf_worker_begin(w, ci, i);
        record rec = {.target = i, .c = c};
        rec.r.guard_ok = -1;
        double t1 = now_s();
        if (!have) {
            result_fail(&rec.r, "%s", why);
        } else {
            switch (c->kind) {
            case CASE_ATTN: attn_oracle_check(c, ao, &t[i], &rec.r); break;
            case CASE_XATTN: xattn_oracle_check(c, xo, &t[i], &rec.r); break;
            case CASE_ROUTER: router_oracle_check(c, ro, &t[i], &rec.r); break;
            case CASE_INVALID: invalid_check(c, &t[i], &rec.r); break;
            case CASE_DECODE: decode_oracle_check(c, dco, &t[i], &rec.r); break;
            }
        }
        rec.seconds = now_s() - t1 + (first_line ? oracle_s : 0.0); /* the first line carries the oracle's time */
        first_line = 0;
        if (w->fd >= 0) {
            conf_worker_result(w, ci, i, &rec.r, rec.seconds, !have);
        } else {
            push_record(rep, rec);
            print_record(t, &rep->v[rep->n - 1]);
        }
    }
    attn_oracle_free(ao);
    xattn_oracle_free(xo);
    router_oracle_free(ro);
    decode_oracle_free(dco);
    return have;
}

/* The supervisor's results, kept and printed as a run in one process would. */
typedef struct emit_ctx {
    const conf_case *cases;
    const conf_target *targets;
    report *rep;
    int oracle_failures;
} emit_ctx;

static void emit_record(void *p, int ci, int target, const case_result *r, double seconds, int oracle_failed)
{
    emit_ctx *e = p;
    record rec = {.target = target, .c = &e->cases[ci], .r = *r, .seconds = seconds};
    push_record(e->rep, rec);
    print_record(e->targets, &e->rep->v[e->rep->n - 1]);
    e->oracle_failures += oracle_failed;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc;

    if (o.worker.fd >= 0) conf_worker_close_inherited(&o.worker);
    conf_case *cases = NULL;
    int num_cases = o.random ? conf_build_random_cases((uint64_t)o.seed, o.random, o.random_tiles, &cases)
                             : conf_build_cases(&cases);
    if (o.list) {
        int shown = 0;
        for (int i = 0; i < num_cases; ++i) {
            if (!case_selected(&o, &cases[i])) continue;
            char line[320];
            conf_describe_case(&cases[i], line, sizeof line);
            printf("%s\n", line);
            shown++;
        }
        printf("%d cases\n", shown);
        free(cases);
        return 0;
    }

    elattn_device *ref = NULL;
    if (elattn_device_open_by_name("reference", &ref) != ELATTN_SUCCESS) {
        fprintf(stderr, "elattn-conformance: cannot open the reference device: %s\n", elattn_last_error());
        free(cases);
        return 2;
    }
    conf_target targets[MAX_TARGETS];
    int nt = 0;
    if ((rc = select_targets(&o, targets, &nt)) != 0) {
        for (int i = 0; i < nt; ++i)
            if (targets[i].owns_dev) elattn_device_close(targets[i].dev);
        elattn_device_close(ref);
        free(cases);
        return rc == -2 ? 77 : 2;
    }
    for (int i = 0; i < nt; ++i) memcpy(targets[i].tiles, o.tiles, sizeof o.tiles);
    if (o.random && o.worker.fd < 0)
        printf("cases: %d drawn at random from seed %llu%s (rerun one: --random %d --seed %llu%s --case random/%llu:I/)\n",
               num_cases, o.seed, o.random_tiles ? " with tile shapes" : "", o.random, o.seed,
               o.random_tiles ? " --random-tiles" : "", o.seed);
    printf("elattn %s conformance: %d target(s):", elattn_version_string(), nt);
    for (int i = 0; i < nt; ++i) printf(" %s", targets[i].label);
    printf("\noracle: the reference device; columns: backend, case, status, nmse, max err, guard, seconds "
           "(first line of a case includes the reference's run), kernel, detail\n");

    report rep = {0};
    double start = now_s();
    int oracle_failures = 0, isolated = -1;
    if (o.worker.fd >= 0) { /* a worker: run from the supervisor's position, report, and stop */
        for (int i = o.worker.first_case; i < num_cases; ++i)
            if (case_selected(&o, &cases[i]))
                run_case(&cases[i], i, ref, targets, nt, i == o.worker.first_case ? o.worker.first_target : 0,
                         &o.worker, NULL);
        conf_worker_done(&o.worker);
        for (int i = 0; i < nt; ++i)
            if (targets[i].owns_dev) elattn_device_close(targets[i].dev);
        elattn_device_close(ref);
        free(cases);
        return 0;
    }
    if (!o.no_isolate) {
        /* The workers open the devices themselves: the supervisor holds no GPU context
         * (nor the reference) while they run, and needs only the targets' labels. */
        for (int i = 0; i < nt; ++i) {
            if (targets[i].owns_dev) elattn_device_close(targets[i].dev);
            targets[i].dev = NULL;
            targets[i].owns_dev = 0;
        }
        elattn_device_close(ref);
        ref = NULL;
        int *selected = xcalloc((size_t)num_cases + 1, sizeof *selected), num_selected = 0;
        for (int i = 0; i < num_cases; ++i)
            if (case_selected(&o, &cases[i])) selected[num_selected++] = i;
        emit_ctx e = {cases, targets, &rep, 0};
        isolated = conf_isolate_run(argc, argv, selected, num_selected, nt, o.case_timeout, emit_record, &e);
        oracle_failures = e.oracle_failures;
        free(selected);
        if (isolated < 0) fprintf(stderr, "elattn-conformance: case isolation failed; use --no-isolate\n");
    } else {
        const conf_worker in_process = {-1, 0, 0};
        for (int i = 0; i < num_cases; ++i)
            if (case_selected(&o, &cases[i]))
                oracle_failures += !run_case(&cases[i], i, ref, targets, nt, 0, &in_process, &rep);
    }

    print_matrix(targets, nt, &rep);
    int passed = 0, failed = 0, unsupported = 0;
    if (o.self_test) {
        /* Units here are kernels: the control must pass every case, each
         * faulty kernel must fail at least one. */
        printf("\nself-test (the runner must catch every faulty kernel):\n");
        for (int i = 0; i < nt; ++i) {
            int c[3] = {0, 0, 0};
            for (int k = 0; k < rep.n; ++k)
                if (rep.v[k].target == i) c[rep.v[k].r.status]++;
            int control = i == 0, ok = control ? c[ST_FAIL] == 0 && c[ST_PASS] > 0 : c[ST_FAIL] > 0;
            if (!control && oracle_failures) ok = 0; /* failures may come from the oracle, not the fault */
            printf("  %-26s %4d failed %4d passed %4d unsupported  -> %s\n", targets[i].label, c[ST_FAIL],
                   c[ST_PASS], c[ST_UNSUPPORTED],
                   control ? (ok ? "control ok" : "CONTROL FAILED") : (ok ? "caught" : "MISSED"));
            if (ok) passed++;
            else failed++;
        }
        printf("(self-test: counts below are kernels; passed = caught faulty kernels and a clean control)\n");
    } else {
        for (int k = 0; k < rep.n; ++k) {
            passed += rep.v[k].r.status == ST_PASS;
            failed += rep.v[k].r.status == ST_FAIL;
            unsupported += rep.v[k].r.status == ST_UNSUPPORTED;
        }
    }
    printf("elapsed %.1f s\n", now_s() - start);
    if (isolated != 0 && !o.no_isolate) failed++; /* a worker died outside any case, or none could run */
    if (write_files(&o, targets, &rep) != 0) failed++;
    for (int i = 0; i < nt; ++i)
        if (targets[i].owns_dev) elattn_device_close(targets[i].dev);
    if (ref) elattn_device_close(ref);
    free(rep.v);
    free(cases);
    printf("conformance: %d passed, %d failed, %d unsupported\n", passed, failed, unsupported);
    return failed > 0 ? 1 : 0;
}

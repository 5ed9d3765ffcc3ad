/*
 * What elattn-bench reports: the results of every case, the table on stdout,
 * --json (rewritten after every case) and --csv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "kit_json.h"

/* ---- results ----------------------------------------------------------------------------- */
static result *results;
static int n_results, cap_results;

result *new_result(void)
{
    if (n_results == cap_results) {
        int cap = cap_results ? 2 * cap_results : 64;
        result *r = realloc(results, sizeof *r * (size_t)cap);
        if (!r) {
            fprintf(stderr, "elattn-bench: out of host memory\n");
            exit(1);
        }
        results = r, cap_results = cap;
    }
    result *r = &results[n_results++];
    memset(r, 0, sizeof *r);
    r->check_rel_err = -1;
    r->status = "ok";
    return r;
}

int result_count(void) { return n_results; }

const result *result_at(int i) { return &results[i]; }

void free_results(void)
{
    free(results);
    results = NULL;
    n_results = cap_results = 0;
}

static void json_timing(kit_json *w, const char *name, const timing *t)
{
    if (!t->reps) {
        kit_json_null(w, name);
        return;
    }
    kit_json_object(w, name);
    kit_json_int(w, "reps", t->reps);
    kit_json_number(w, "median_ms", t->median, 15);
    kit_json_number(w, "min_ms", t->min, 15);
    kit_json_number(w, "max_ms", t->max, 15);
    kit_json_number(w, "p25_ms", t->p25, 15);
    kit_json_number(w, "p75_ms", t->p75, 15);
    kit_json_end(w);
}

/* x, or null where it does not apply. */
static void json_number_if(kit_json *w, const char *key, double x, int applies)
{
    if (applies) kit_json_number(w, key, x, 15);
    else kit_json_null(w, key);
}

/* Rewritten after every case, so a run cut short still leaves what it measured. */
void write_json(const config *c, const char *command)
{
    if (!c->json_path) return;
    char tmp[4096];
    kit_json w;
    FILE *f = json_document_begin(c->json_path, "elattn-bench", command, &w, tmp, sizeof tmp);
    if (!f) return;
    kit_json_string(&w, "set", c->set_name);
    kit_json_string(&w, "set_note", c->set_note);
    kit_json_string(&w, "inputs", c->structured ? "structured" : "random");
    kit_json_number(&w, "min_time_s", c->min_time_s, 6);
    kit_json_int(&w, "min_reps", c->min_reps);
    kit_json_int(&w, "warmup", c->warmup);
    kit_json_uint(&w, "seed", c->seed);
    kit_json_end(&w);
    kit_json_newline(&w, 1);
    kit_json_array(&w, "cases");
    for (int i = 0; i < n_results; ++i) {
        const result *r = &results[i];
        kit_json_newline(&w, 2);
        kit_json_object(&w, NULL);
        kit_json_string(&w, "device", r->device_id);
        kit_json_string(&w, "device_name", r->device_name);
        kit_json_string(&w, "backend", r->backend);
        kit_json_int(&w, "lead_tokens", r->lead_tokens);
        kit_json_string(&w, "status", r->status);
        kit_json_string(&w, "message", r->message);
        kit_json_string(&w, "dtype", elattn_dtype_name(r->dtype));
        kit_json_int(&w, "head_dim", r->head_dim);
        kit_json_int(&w, "hq", r->hq);
        kit_json_int(&w, "hkv", r->hkv);
        kit_json_int(&w, "S", r->seqlen);
        kit_json_string(&w, "mix", r->mix);
        kit_json_string(&w, "pair", pairs_table[r->pair].name);
        kit_json_number(&w, "sparse_frac", r->sparse_frac, 6);
        kit_json_int(&w, "block", r->block);
        kit_json_int(&w, "stride", r->stride);
        kit_json_number(&w, "tau", r->tau, 6);
        kit_json_int(&w, "causal", r->causal);
        kit_json_int(&w, "sink", r->sink);
        kit_json_int(&w, "local", r->local);
        kit_json_int(&w, "sets", r->sets);
        kit_json_string(&w, "kernel", r->kernel);
        kit_json_string(&w, "serial_kernels", r->serial_kernels);
        kit_json_string(&w, "xattn_kernel", r->xattn_kernel);
        kit_json_string(&w, "router_kernel", r->router_kernel);
        json_timing(&w, "fused", &r->fused);
        json_timing(&w, "serial", &r->serial);
        json_timing(&w, "xattn", &r->xattn);
        json_timing(&w, "router", &r->router);
        kit_json_number(&w, "visible_pairs", r->pairs, 15);
        kit_json_number(&w, "tflops", r->tflops, 15);
        kit_json_number(&w, "dense_equiv_tflops", r->dense_equiv_tflops, 15);
        kit_json_number(&w, "omega_msr", r->omega_msr, 15);
        kit_json_number(&w, "omega_esr", r->omega_esr, 15);
        json_number_if(&w, "speedup_vs_dense", r->speedup_vs_dense, r->speedup_vs_dense > 0);
        json_number_if(&w, "speedup_vs_serial", r->speedup_vs_serial, r->speedup_vs_serial > 0);
        json_number_if(&w, "ideal_ms", r->ideal_ms, r->ideal_ms > 0);
        json_number_if(&w, "x_ideal", r->ideal_ms > 0 ? r->fused.median / r->ideal_ms : 0.0, r->ideal_ms > 0);
        json_number_if(&w, "check_rel_err", r->check_rel_err, r->check_rel_err >= 0);
        kit_json_end(&w);
    }
    kit_json_newline(&w, 1);
    kit_json_end(&w);
    json_document_end(f, &w, "elattn-bench", tmp, c->json_path);
}

static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void write_csv(const config *c)
{
    if (!c->csv_path) return;
    FILE *f = fopen(c->csv_path, "w");
    if (!f) {
        fprintf(stderr, "elattn-bench: cannot write %s\n", c->csv_path);
        return;
    }
    fputs("device,device_name,backend,status,dtype,head_dim,hq,hkv,S,mix,block,sets,kernel,"
          "fused_ms_median,fused_ms_min,fused_ms_max,fused_reps,serial_ms_median,xattn_ms_median,router_ms_median,"
          "visible_pairs,tflops,dense_equiv_tflops,omega_msr,omega_esr,speedup_vs_dense,speedup_vs_serial,"
          "check_rel_err,message,ideal_ms\n",
          f);
    for (int i = 0; i < n_results; ++i) {
        const result *r = &results[i];
        csv_field(f, r->device_id), fputc(',', f);
        csv_field(f, r->device_name), fputc(',', f);
        fprintf(f, "%s,%s,%s,%d,%d,%d,%d,%s,%d,%d,", r->backend, r->status, elattn_dtype_name(r->dtype), r->head_dim,
                r->hq, r->hkv, r->seqlen, r->mix, r->block, r->sets);
        csv_field(f, r->kernel);
        fprintf(f, ",%.6g,%.6g,%.6g,%d,", r->fused.median, r->fused.min, r->fused.max, r->fused.reps);
        if (r->serial.reps) fprintf(f, "%.6g", r->serial.median);
        fputc(',', f);
        if (r->xattn.reps) fprintf(f, "%.6g", r->xattn.median);
        fputc(',', f);
        if (r->router.reps) fprintf(f, "%.6g", r->router.median);
        fprintf(f, ",%.17g,%.6g,%.6g,%.6g,%.6g,", r->pairs, r->tflops, r->dense_equiv_tflops, r->omega_msr,
                r->omega_esr);
        if (r->speedup_vs_dense > 0) fprintf(f, "%.4f", r->speedup_vs_dense);
        fputc(',', f);
        if (r->speedup_vs_serial > 0) fprintf(f, "%.4f", r->speedup_vs_serial);
        fputc(',', f);
        if (r->check_rel_err >= 0) fprintf(f, "%.3g", r->check_rel_err);
        fputc(',', f);
        csv_field(f, r->message);
        fputc(',', f);
        if (r->ideal_ms > 0) fprintf(f, "%.6g", r->ideal_ms);
        fputc('\n', f);
    }
    fclose(f);
}

/* ---- the human table ------------------------------------------------------------------- */
void print_header(void)
{
    printf("%-5s %4s %7s %-12s %4s %10s %21s %8s %8s %5s %5s %7s %7s %9s  %s\n", "dtype", "D", "S", "mix", "blk",
           "ms(med)", "[min - max]", "TFLOP/s", "dense-eq", "MSR", "ESR", "xdense", "xserial", "XA-est", "kernel");
}

void print_result(const result *r)
{
    char blk[16] = "-";
    if (r->block) snprintf(blk, sizeof blk, "%d", r->block);
    printf("%-5s %4d %7d %-12s %4s ", elattn_dtype_name(r->dtype), r->head_dim, r->seqlen, r->mix, blk);
    if (strcmp(r->status, "ok") != 0) {
        printf("%s: %s\n", r->status, r->message);
        return;
    }
    char spread[48], xd[16] = "-", xs[16] = "-", xe[16] = "-";
    snprintf(spread, sizeof spread, "[%.4g - %.4g]", r->fused.min, r->fused.max);
    if (r->speedup_vs_dense > 0) snprintf(xd, sizeof xd, "%.2fx", r->speedup_vs_dense);
    if (r->speedup_vs_serial > 0) snprintf(xs, sizeof xs, "%.2fx", r->speedup_vs_serial);
    if (r->xattn.reps) snprintf(xe, sizeof xe, "%.4g", r->xattn.median);
    printf("%10.4g %21s %8.3g %8.3g %5.2f %5.3f %7s %7s %9s  %s", r->fused.median, spread, r->tflops,
           r->dense_equiv_tflops, r->omega_msr, r->omega_esr, xd, xs, xe, r->kernel);
    if (r->message[0]) printf("  (%s)", r->message);
    putchar('\n');
    fflush(stdout);
}


/* ---- the hybrid against its ideal -------------------------------------------------------- */
void report_ideals(int first, int end)
{
    const result *dense = NULL, *streaming = NULL;
    for (int i = first; i < end; ++i) {
        const result *r = &results[i];
        if (strcmp(r->status, "ok") != 0) continue;
        if (r->pair == PAIR_DENSE) dense = r;
        if (r->pair == PAIR_FA_SSA && r->sparse_frac == 1.0) streaming = r;
    }
    if (!dense || !streaming) return;
    for (int i = first; i < end; ++i) {
        result *r = &results[i];
        if (strcmp(r->status, "ok") != 0 || r->pair != PAIR_FA_SSA || r->sparse_frac <= 0.0 || r->sparse_frac >= 1.0)
            continue;
        r->ideal_ms = (1.0 - r->sparse_frac) * dense->fused.median + r->sparse_frac * streaming->fused.median;
        printf("  %s: %.4g ms, %.3fx its ideal %.4g ms (%.2f x dense %.4g + %.2f x fa-ssa:1 %.4g)\n", r->mix,
               r->fused.median, r->fused.median / r->ideal_ms, r->ideal_ms, 1.0 - r->sparse_frac,
               dense->fused.median, r->sparse_frac, streaming->fused.median);
    }
    fflush(stdout);
}

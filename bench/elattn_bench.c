/*
 * elattn-bench: times hybrid-head attention on every device, for the shapes of
 * the Elastic Attention paper (arXiv 2601.17367), through the public API only.
 *
 * For each case (device, dtype, head dim, length S, mix of modes, block size):
 *   - the fused kernel (all heads, one elattn_attn_run);
 *   - serial dispatch, the baseline an engine without the fused kernel runs:
 *     gather each mode's heads into contiguous buffers, one plan per mode,
 *     scatter O back (copies included in the time);
 *   - XAttention's block selection (elattn_xattn_run on the same Q/K; its
 *     masks feed the BLOCK_SPARSE heads) and the router, timed separately;
 *   - FLOP rates from the exact count of visible (query, key) pairs, the
 *     dense-equivalent rate 2*S^2*D*Hq, Omega_MSR and Omega_ESR.
 * Timing: backend events around each run after warm-up, repeated to a fixed
 * amount of work, rotating among several input sets so that caches do not
 * flatter small cases; median and spread are reported. On a GPU an untimed
 * lead precedes each run (bench_lead), so that the run's host work is not timed.
 *
 * This file holds main and the loop over devices, shapes and cases; bench.h
 * names what the other files do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "kit_values.h"

static void run_device(const config *c, const char *name, int index, const char *command)
{
    bench_dev bd;
    memset(&bd, 0, sizeof bd);
    elattn_status st = name ? open_device(name, &bd.dev) : elattn_device_open(index, &bd.dev);
    if (st == ELATTN_SUCCESS) st = elattn_device_info_of(bd.dev, &bd.info);
    if (st == ELATTN_SUCCESS) st = elattn_stream_create(bd.dev, &bd.stream);
    if (st == ELATTN_SUCCESS) st = elattn_event_create(bd.dev, &bd.ev_start);
    if (st == ELATTN_SUCCESS) st = elattn_event_create(bd.dev, &bd.ev_end);
    const char *stage = "device";
    if (st == ELATTN_SUCCESS) {
        stage = "the lead (--lead-tokens)";
        st = bench_lead_create(&bd.lead, bd.dev, bd.stream, (elattn_dtype)c->dtypes.v[0],
                               c->lead_tokens < 0 ? bench_lead_default(&bd.info) : c->lead_tokens);
    }
    if (st != ELATTN_SUCCESS) {
        result *r = new_result();
        snprintf(r->device_id, sizeof r->device_id, "%s", name ? name : "?");
        r->status = st == ELATTN_ERROR_NOT_AVAILABLE ? "skipped" : "error";
        snprintf(r->message, sizeof r->message, "device %s: %s: %s: %s", name ? name : "?", stage,
                 elattn_status_string(st),
                 st == ELATTN_ERROR_NOT_AVAILABLE && !elattn_last_error()[0] ? "no such device here"
                                                                             : elattn_last_error());
        printf("\n%s\n", r->message);
        write_json(c, command);
        goto close;
    }
    printf("\n== %s: %s (%s, %s, %s, %d CUs, %.1f GiB); lead %d tokens\n", bd.info.id, bd.info.name, bd.info.vendor,
           bd.info.arch, elattn_backend_name(bd.info.backend), bd.info.compute_units,
           bd.info.memory_bytes / 1073741824.0, bd.lead.tokens);
    const double t_start = now_s();
    for (int di = 0; di < c->dtypes.n; ++di)
        for (int hi = 0; hi < c->head_dims.n; ++hi)
            for (int li = 0; li < c->lens.n; ++li) {
                shape sh;
                init_shape(&sh, c, (elattn_dtype)c->dtypes.v[di], c->head_dims.v[hi], c->lens.v[li]);
                printf("\n%s %s D %d S %d: ", bd.info.id, elattn_dtype_name(sh.call.dtype), sh.call.head_dim,
                       c->lens.v[li]);
                fflush(stdout);

                /* The cases of this shape: dense first (the baseline), then each
                 * mix, once per block size when it has BLOCK_SPARSE heads. */
                mix cases[MAX_LIST * MAX_LIST];
                int blocks[MAX_LIST * MAX_LIST], n_cases = 0;
                cases[n_cases] = (mix){PAIR_DENSE, 0.0, 1}, blocks[n_cases++] = 0;
                for (int mi = 0; mi < c->n_mixes; ++mi) {
                    if (c->mixes[mi].pair == PAIR_DENSE) continue;
                    int nb = mix_uses_xa(&c->mixes[mi]) ? c->blocks.n : 1;
                    for (int b = 0; b < nb; ++b)
                        cases[n_cases] = c->mixes[mi],
                        blocks[n_cases++] = mix_uses_xa(&c->mixes[mi]) ? c->blocks.v[b] : 0;
                }

                char why[256] = "";
                const char *skip_status = NULL;
                if (c->device_budget_s > 0 && now_s() - t_start > c->device_budget_s) {
                    skip_status = "skipped";
                    snprintf(why, sizeof why, "device time budget of %g s spent", c->device_budget_s);
                } else if ((st = make_shape(c, &bd, &sh, why, sizeof why))) {
                    skip_status = st == ELATTN_ERROR_OUT_OF_MEMORY ? "skipped" : "error";
                }
                if (skip_status) {
                    printf("%s: %s\n", skip_status, why);
                    for (int i = 0; i < n_cases; ++i) {
                        result *r = new_result();
                        fill_case_header(r, c, &bd, &sh, &cases[i], blocks[i]);
                        r->status = skip_status;
                        snprintf(r->message, sizeof r->message, "%s", why);
                    }
                    write_json(c, command);
                    continue;
                }
                timing router = {0};
                char router_kernel[256] = "";
                if (c->router) time_router(c, &bd, &sh, &router, router_kernel, sizeof router_kernel);
                if (router.reps)
                    printf("%d input sets (%.1f MiB each); router %.4g ms [%.4g - %.4g] (%s)\n", sh.nsets,
                           (2.0 * sh.q_bytes + 2.0 * sh.kv_bytes) / 1048576.0, router.median, router.min, router.max,
                           router_kernel);
                else
                    printf("%d input sets (%.1f MiB each); router not timed%s%s\n", sh.nsets,
                           (2.0 * sh.q_bytes + 2.0 * sh.kv_bytes) / 1048576.0, c->router ? ": " : "",
                           router_kernel);
                print_header();
                double dense_ms = 0.0;
                const int group_first = result_count();
                for (int i = 0; i < n_cases; ++i) {
                    result *r = new_result();
                    if (i > 0 && c->device_budget_s > 0 && now_s() - t_start > c->device_budget_s) {
                        fill_case_header(r, c, &bd, &sh, &cases[i], blocks[i]);
                        r->status = "skipped";
                        snprintf(r->message, sizeof r->message, "device time budget of %g s spent",
                                 c->device_budget_s);
                    } else {
                        run_case(c, &bd, &sh, &cases[i], blocks[i], dense_ms, &router,
                                 router.reps ? router_kernel : "", r);
                    }
                    if (i == 0 && strcmp(r->status, "ok") == 0) dense_ms = r->fused.median;
                    if (i == 0 && dense_ms > 0) r->speedup_vs_dense = 1.0;
                    print_result(r);
                    write_json(c, command);
                }
                report_ideals(group_first, result_count());
                write_json(c, command); /* with the ideals */
                free_shape(&sh);
            }
close:
    bench_lead_destroy(&bd.lead);
    elattn_event_destroy(bd.ev_start);
    elattn_event_destroy(bd.ev_end);
    elattn_stream_destroy(bd.stream);
    elattn_device_close(bd.dev);
}

int main(int argc, char **argv)
{
    config c;
    int rc = parse_args(argc, argv, &c);
    if (rc) return rc == 1 ? 0 : rc;
    if (c.list_only) {
        list_devices();
        return 0;
    }
    if (kit_check_conversions("elattn-bench")) {
        fprintf(stderr, "elattn-bench: the bench's fp16/bf16 conversions disagree with elattn_convert\n");
        return 1;
    }
    char command[2048] = "elattn-bench";
    for (int i = 1; i < argc; ++i) {
        size_t used = strlen(command);
        snprintf(command + used, sizeof command - used, " %s", argv[i]);
    }

    printf("elattn-bench %s, set %s: %s\n", elattn_version_string(), c.set_name, c.set_note);
    printf("Hq %d, Hkv %d, %s, batch 1; sink %d, local %d; XAttention stride %d, tau %g; inputs %s\n", c.hq,
           c.hkv, c.causal ? "causal" : "non-causal", c.sink, c.local, c.stride, (double)c.tau,
           c.structured ? "structured (local attention, see --help)" : "random");
    if (c.dropped_mixes[0])
        printf("left out (not a whole number of the %d KV heads): %s\n", c.hkv, c.dropped_mixes);
    printf("timing: backend events, %d warm-up, >= %d reps and >= %g s per measurement, median [min - max] in ms\n",
           c.warmup, c.min_reps, c.min_time_s);
    printf("TFLOP/s: 4*D per visible (query, key) pair, counted exactly; dense-eq: 2*S^2*D*Hq; "
           "xdense: dense time / this time; xserial: serial dispatch time (gather, one launch per mode, scatter) / "
           "this time; XA-est: XAttention selection time (ms); ideal (under a shape's rows, when dense and fa-ssa:1 "
           "both ran): a fa-ssa mix's FULL heads at dense's rate plus its STREAMING heads at fa-ssa:1's (rows are "
           "timed one after another: on a power-capped GPU each inherits the clock the last left; "
           "bench/interleaved.py times them in turn)\n");

    if (c.n_devices == 0) {
        int n = 0;
        elattn_device_count(&n);
        for (int i = 0; i < n; ++i) run_device(&c, NULL, i, command);
    } else {
        for (int i = 0; i < c.n_devices; ++i) run_device(&c, c.devices[i], -1, command);
    }
    write_json(&c, command);
    write_csv(&c);

    int errors = 0, ok = 0, other = 0;
    for (int i = 0; i < result_count(); ++i) {
        const char *status = result_at(i)->status;
        if (strcmp(status, "error") == 0) ++errors;
        else if (strcmp(status, "ok") == 0) ++ok;
        else ++other;
    }
    printf("\n%d cases measured, %d unsupported or skipped, %d errors\n", ok, other, errors);
    if (c.json_path) printf("json: %s\n", c.json_path);
    if (c.csv_path) printf("csv: %s\n", c.csv_path);
    free_results();
    return errors ? 1 : 0;
}

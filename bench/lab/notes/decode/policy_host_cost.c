/*
 * The split policy's host cost (eighteenth session, issue 14): elattn_decode_policy_chunks on the
 * decode table's shapes (Hkv 8, STREAMING heads of sink + local = 2176 slots, a 132-SM device),
 * under each model, and the chunk counts it picks. Built by hand on the build machine:
 *
 *   cc -O2 -Iapi/src -o /tmp/policy_host_cost bench/lab/notes/decode/policy_host_cost.c \
 *      api/src/decode_policy.c -lm && /tmp/policy_host_cost
 */
#include <stdio.h>
#include <time.h>

#include "decode_policy.h"

static int64_t slots[64 * 8];
static int32_t chunks[64 * 8];

int main(void)
{
    static const int lens[] = {8192, 32768, 131072}, batches[] = {1, 16, 64}, full[] = {8, 4, 2};
    static const char *const mix[] = {"dense", "fa-ssa:0.5", "fa-ssa:0.75"};
    printf("model      context batch mix          FULL STREAMING chunks  us per call\n");
    for (int model = ELATTN_DECODE_MODEL_WAVES; model <= ELATTN_DECODE_MODEL_GRID; ++model)
        for (int li = 0; li < 3; ++li)
            for (int bi = 0; bi < 3; ++bi)
                for (int mi = 0; mi < 3; ++mi) {
                    const int len = lens[li], batch = batches[bi];
                    size_t n = 0;
                    for (int s = 0; s < batch; ++s)
                        for (int h = 0; h < 8; ++h) slots[n++] = h < full[mi] || len < 2176 ? len : 2176;
                    elattn_decode_policy p;
                    elattn_decode_policy_init(&p, 132, len, 0);
                    elattn_decode_policy_set_model(&p, model, 0.0);
                    enum { REPS = 200 };
                    struct timespec t0, t1;
                    clock_gettime(CLOCK_MONOTONIC, &t0);
                    for (int r = 0; r < REPS; ++r) elattn_decode_policy_chunks(&p, slots, n, chunks);
                    clock_gettime(CLOCK_MONOTONIC, &t1);
                    const double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / REPS;
                    printf("%-10s %7d %5d %-12s %4d %10d %11.1f\n", model == 2 ? "grid" : model ? "bandwidth" : "waves", len, batch, mix[mi],
                           chunks[0], chunks[7], us);
                }
    return 0;
}

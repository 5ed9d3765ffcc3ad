/*
 * The OpenCL attention tile table: one place for the tile parameters of every
 * attention family, per device class and head-dim band.
 *
 * A row is keyed by family, device class (vendor and type, ocl_class) and,
 * on NVIDIA, the lowest compute capability it is for; the value is tile_m x
 * tile_n and the work-group size. Each row says where it comes from: the
 * command of bench/opencl_tune.c (elattn-opencl-tune) that measured it and
 * the device, or that it is still a guess. elattn-opencl-tune prints rows in
 * this format, as CLBlast's database keeps its measurements.
 *
 * Lookup: the row of the family for the device's class with the highest
 * compute capability not above the device's, in the smallest band that holds
 * the head dim (64, 128, 256); for the scalar family a class without rows
 * takes OCL_CLASS_OTHER's.
 */
#include <string.h>

#include "opencl_internal.h"

/* Where the unmeasured rows come from. */
#define GUESS "first guess, to be measured (elattn-opencl-tune)"
#define GUESS_NV "first guess, not measurable on the H200: NVIDIA's OpenCL driver offers no cl_khr_subgroups"
/* NVIDIA H200 (sm_90, NVIDIA's OpenCL driver in the CUDA 13 container), 2026-12-02, bf16, Hq 32,
 * Hkv 8, 4096 tokens dense causal, the best candidate of each head dim (bench/results/
 * 2026-12-02-nvidia-h200-decode-opencl/ocl-tune-*.txt; the rows hold from sm_80, where the
 * family starts, until an sm_80 device is measured). */
#define H200_TUNE_ON(date, family, budget, best)                                                        \
    "elattn-opencl-tune --device opencl:1 --family " family " --budget " budget " (NVIDIA H200, " date ": " \
    best ")"
#define H200_TUNE(family, budget, best) H200_TUNE_ON("2026-12-02", family, budget, best)
/* Rows measured again on 2026-12-03 (bench/results/2026-12-03-nvidia-h200/call25-kv-prefetch/
 * tune-mma.txt, call26-kv-prefetch-d256/tune-mma-d256.txt) name that date. */

/* PoCL 3.1 on this repository's 2-core development machine (AMD EPYC, 'pthread' device, shared with
 * other work: a second run of the same command may rank close candidates differently), 2026-12-02,
 * median of 5 runs per candidate, bf16, one element of 512 tokens, Hq 4, Hkv 2, dense causal. */
#define POCL_SCALAR(ms)                                                                                    \
    "elattn-opencl-tune --device opencl:0 --family scalar --hq 4 --hkv 2 --len 512 --iters 5 "             \
    "--budget 200 (pthread-skylake-avx512-AMD EPYC, PoCL 3.1, 2026-12-02: " ms ")"

/* Intel's CPU OpenCL runtime 2026.2.0 (the PyPI wheel intel-opencl-rt, as .ci/intel-opencl.sh installs
 * it, alone on the ICD loader so that it is opencl:0) on the same 2-core machine (its device is named
 * after the CPU, AMD EPYC; also shared with other work: neighbouring candidates are within its noise),
 * 2026-12-03, median of 5 runs per candidate, bf16, one element of 512 tokens, Hq 4, Hkv 2, dense causal
 * (the PoCL rows' call). The only CPU runtime here with subgroups, so the CPU subgroup rows are its. */
#define INTEL_CPU_SUBGROUP(best)                                                                          \
    "elattn-opencl-tune --device opencl:0 --family subgroup --hq 4 --hkv 2 --len 512 --iters 5 "          \
    "--budget 200 (AMD EPYC, Intel CPU OpenCL runtime 2026.2.0, 2026-12-03: " best ")"

/* NVIDIA H200 (NVIDIA's OpenCL driver, CUDA 13 container), 2026-12-03, XAttention estimation and
 * selection, bf16, Hq 32, Hkv 8, 32768 tokens causal, S 16, B 128, every KV head block-sparse; each
 * candidate checked against the reference at 1024 tokens, then timed (median of 5): the best of the
 * sweep in bench/results/2026-12-03-nvidia-h200/call21-xattn-mma (its commands/call21.sh). */
#define H200_XA_TUNE(d, best)                                                                              \
    "elattn-lab-xattn --device opencl:1 --kernel opencl.xattn.mma --head-dim " d " --lq 32k --check-len " \
    "1024 --iters 5 --tiles M,N,W (NVIDIA H200, 2026-12-03: " best ")"

/* NVIDIA H100 (sm_90, NVIDIA's OpenCL driver, CUDA 13 container), 2026-12-07: elattn-bench with the
 * tiles forced, each candidate beside the others and cuda:0 in one call (bench/lab/notes/mma/
 * d64-async-tiles.sh). */
#define H100_BENCH_D64                                                                                  \
    "elattn-bench --device opencl:1 --kernel opencl.attn.mma_async --tiles 128,96,128 --set paper --lens " \
    "8192,32768 --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim 64 (NVIDIA H100, 2026-12-07, call 161: "     \
    "dense 32K 15.47-15.70 ms against mma m256n64w256r2's 17.54-17.58 and mma_async m128n64's 17.22-17.35)"

static const ocl_tune_row tune_table[] = {
    /* family    class              cc  band  m    n    wg   source */
    {"scalar", OCL_CLASS_CPU, 0, 64, 32, 16, 32, POCL_SCALAR("63.0 ms")},
    {"scalar", OCL_CLASS_CPU, 0, 128, 64, 16, 128, POCL_SCALAR("128.0 ms")},
    {"scalar", OCL_CLASS_CPU, 0, 256, 64, 32, 64, POCL_SCALAR("104.7 ms")},
    {"scalar", OCL_CLASS_NVIDIA, 0, 64, 32, 16, 32, H200_TUNE("scalar", "12", "7.524 ms, m32n16w32")},
    {"scalar", OCL_CLASS_NVIDIA, 0, 128, 16, 16, 64, H200_TUNE("scalar", "12", "16.361 ms, m16n16w64")},
    {"scalar", OCL_CLASS_NVIDIA, 0, 256, 16, 16, 128, H200_TUNE("scalar", "12", "32.926 ms, m16n16w128")},
    {"scalar", OCL_CLASS_AMD, 0, 64, 64, 32, 256, GUESS},
    {"scalar", OCL_CLASS_AMD, 0, 128, 32, 32, 128, GUESS},
    {"scalar", OCL_CLASS_AMD, 0, 256, 16, 16, 64, GUESS},
    {"scalar", OCL_CLASS_INTEL, 0, 64, 32, 32, 64, GUESS},
    {"scalar", OCL_CLASS_INTEL, 0, 128, 32, 32, 64, GUESS},
    {"scalar", OCL_CLASS_INTEL, 0, 256, 16, 16, 32, GUESS},
    {"scalar", OCL_CLASS_OTHER, 0, 64, 32, 32, 64, GUESS},
    {"scalar", OCL_CLASS_OTHER, 0, 128, 32, 32, 64, GUESS},
    {"scalar", OCL_CLASS_OTHER, 0, 256, 16, 16, 32, GUESS},
    /* mma: 32 work-items (a warp) per 16 or 32 rows, so wg = 2 tile_m or tile_m says the rows per
     * warp; local memory (tile_m + 2 tile_n) rows of D 16-bit elements must stay within NVIDIA's
     * 48 KiB, which at d128 leaves CUDA's 128x64 out (64 KiB) */
    /* re-tuned with the next tile's K/V fetched into registers (2026-12-03, calls 25 and 26) */
    {"mma", OCL_CLASS_NVIDIA, 80, 64, 256, 64, 256, H200_TUNE_ON("2026-12-03", "mma", "25", "0.339 ms, 202.8 TFLOP/s, m256n64w256r2")},
    {"mma", OCL_CLASS_NVIDIA, 80, 128, 128, 32, 128, H200_TUNE_ON("2026-12-03", "mma", "25", "0.625 ms, 219.9 TFLOP/s, m128n32w128r2")},
    {"mma", OCL_CLASS_NVIDIA, 80, 256, 64, 16, 128, H200_TUNE_ON("2026-12-03", "mma", "25", "1.783 ms, 154.2 TFLOP/s, m64n16w128r1 (call 26)")},
    /* mma_async (attn_mma_async.cl, head dims up to 128): a row makes it the default for its band,
     * ahead of the band's mma row (same fields; wg = 2 tile_m or tile_m says 16 or 32 rows per
     * warp); elattn-opencl-tune --family mma prints one when it wins. Measured on sm_90 only
     * (bench/results/2026-12-04-nvidia-h200, call 76: tune.txt), so cc 90: an sm_80 device keeps
     * the mma rows until it is measured. D128: 1.10-1.12x mma's speed at 8K and 32K (call 77); every
     * other mma_async shape within 48 KiB was slower at 8K and 32K (2026-12-07, H100, call 163).
     * D64 had no row until 2026-12-07: the tuner's m128n64w128 (0.342 against mma's 0.366 ms at 4096
     * tokens) timed 0.98-1.02x mma's m256n64w256 at 8K and 32K in call 77. */
    {"mma_async", OCL_CLASS_NVIDIA, 90, 128, 128, 32, 128,
     H200_TUNE_ON("2026-12-04", "mma --head-dims 128,64", "50", "0.578 ms, 237.7 TFLOP/s, m128n32w128r2 (call 76)")},
    /* D64: 96-key tiles at 32 rows a warp (Q, K and V of 128, 96 and 96 rows: 40 KiB), which the tuner
     * did not offer before; timed against this band's mma row and cuda:0 in one call, two rounds
     * (bench/results/2026-12-07-nvidia-h100/call161-opencl-d64-tiles/); as the default, call 162 */
    {"mma_async", OCL_CLASS_NVIDIA, 90, 64, 128, 96, 128, H100_BENCH_D64},
    /* the emulation (ELATTN_OPENCL_MMA_EMULATE) on CPUs: a test path, not tuned */
    {"mma", OCL_CLASS_CPU, 0, 64, 32, 32, 64, "emulation only, not a performance path"},
    {"mma", OCL_CLASS_CPU, 0, 128, 32, 32, 64, "emulation only, not a performance path"},
    {"mma", OCL_CLASS_CPU, 0, 256, 32, 16, 64, "emulation only, not a performance path"},
    /* xattn.mma (xattn_mma.cl): the score tile of XAttention's estimation, tile_m reshaped query
     * rows x tile_n reshaped key columns; wg = 2 tile_m or tile_m (16 or 32 rows per warp); both
     * slices, (tile_m + tile_n) rows of D 16-bit elements, within NVIDIA's 48 KiB */
    {"xattn.mma", OCL_CLASS_NVIDIA, 80, 64, 128, 128, 128, H200_XA_TUNE("64", "1.393 ms, m128n128w128r2")},
    {"xattn.mma", OCL_CLASS_NVIDIA, 80, 128, 128, 64, 128, H200_XA_TUNE("128", "2.295 ms, m128n64w128r2")},
    {"xattn.mma", OCL_CLASS_NVIDIA, 80, 256, 64, 32, 128, GUESS},
    {"xattn.mma", OCL_CLASS_CPU, 0, 64, 32, 32, 64, "emulation only, not a performance path"},
    {"xattn.mma", OCL_CLASS_CPU, 0, 128, 32, 32, 64, "emulation only, not a performance path"},
    {"xattn.mma", OCL_CLASS_CPU, 0, 256, 32, 16, 64, "emulation only, not a performance path"},
    /* subgroup: one tile row per subgroup, so wg = tile_m x the subgroup size: 0 lets the family take
     * its width; a measured row may name the width it was measured at (a device with
     * cl_intel_required_subgroup_size that lists it then requires it) */
    {"subgroup", OCL_CLASS_NVIDIA, 0, 64, 8, 64, 0, GUESS_NV},
    {"subgroup", OCL_CLASS_NVIDIA, 0, 128, 8, 32, 0, GUESS_NV},
    {"subgroup", OCL_CLASS_NVIDIA, 0, 256, 4, 32, 0, GUESS_NV},
    {"subgroup", OCL_CLASS_CPU, 0, 64, 16, 64, 128, INTEL_CPU_SUBGROUP("47.3 ms, m16n64w128h2s8")},
    {"subgroup", OCL_CLASS_CPU, 0, 128, 16, 32, 0, INTEL_CPU_SUBGROUP("117.7 ms, m16n32w256h2s16")},
    {"subgroup", OCL_CLASS_CPU, 0, 256, 8, 32, 64, INTEL_CPU_SUBGROUP("155.0 ms, m8n32w64h2s8")},
    /* AMD: a row's work-items are a wavefront, 64 on CDNA (gfx90a) and 32 on RDNA (gfx1030), and
     * tile_n must be a multiple of it: 64-key tiles, so CDNA can take the family at all; at D 256
     * 64 keys need more than AMD's 64 KiB of local memory, so that row is RDNA's alone */
    {"subgroup", OCL_CLASS_AMD, 0, 64, 4, 64, 0, GUESS},
    {"subgroup", OCL_CLASS_AMD, 0, 128, 4, 64, 0, GUESS},
    {"subgroup", OCL_CLASS_AMD, 0, 256, 4, 32, 0, GUESS},
    {"subgroup", OCL_CLASS_OTHER, 0, 64, 8, 32, 0, GUESS},
    {"subgroup", OCL_CLASS_OTHER, 0, 128, 8, 32, 0, GUESS},
    {"subgroup", OCL_CLASS_OTHER, 0, 256, 4, 32, 0, GUESS},
};

int ocl_tune_band(int head_dim) { return head_dim <= 64 ? 64 : head_dim <= 128 ? 128 : 256; }

const ocl_tune_row *ocl_tune_lookup(const char *family, const ocl_caps *caps, int head_dim)
{
    const int band = ocl_tune_band(head_dim);
    const int cc = caps->nv_cc_major * 10 + caps->nv_cc_minor;
    for (int pass = 0; pass < 2; ++pass) {
        const ocl_class cls = pass ? OCL_CLASS_OTHER : caps->cls;
        const ocl_tune_row *best = NULL;
        for (size_t i = 0; i < sizeof tune_table / sizeof tune_table[0]; ++i) {
            const ocl_tune_row *r = &tune_table[i];
            if (strcmp(r->family, family) != 0 || r->cls != cls || r->head_dim != band || r->cc_min > cc) continue;
            if (!best || r->cc_min > best->cc_min) best = r;
        }
        if (best) return best;
        if (strcmp(family, "scalar") != 0 && strcmp(family, "subgroup") != 0)
            break; /* OTHER is the catch-all of the scalar and subgroup families only */
    }
    return NULL;
}

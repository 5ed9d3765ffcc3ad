/*
 * Lab check (sixteenth session; chains since the seventeenth): the hardware facts that
 * kernels/opencl/wgmma_warpgroup.cl encodes and its emulation cannot confirm, with the library's own
 * chain macros and PTX edit. One warpgroup computes D = A B (64 x N, fp32) as a chain of STEPS
 * wgmmas (K = 16 STEPS), A from registers in mma.sync's A-fragment layout, B (K x N, bf16) in local
 * memory in the core-matrix layout a descriptor states, K-major (LBO 128, SBO K x 16, as
 * attn_wgmma.cl's K) or MN-major (imm-trans-b: SBO 128, LBO N x 16, as its V), each step's
 * descriptor moved on as attn_wgmma.cl moves it; then the same chain again accumulating
 * (wgmma_chain_add), so D = 2 A B; and a third way, as attn_wgmma.cl's S and P V: a K-major chain
 * setting one array, copied to another that an MN-major chain accumulates into. The shapes
 * attn_wgmma.cl uses: N 32 with 8 steps, N 64 with 4 and 8, N 128 with 2 and 4. D is read back in the accumulator layout the kernel assumes (mma.sync's C fragments,
 * warp by warp). Random bf16 inputs; compared with a double-precision product on the host. A wrong
 * fragment, layout, descriptor or step shows as a large error in the line of that case.
 *
 * On NVIDIA (compute capability 9.0): built with -DELATTN_NV_PTX=1 -DELATTN_PTX_SM90A=1, its PTX
 * edited by backends/opencl/opencl_ptx_edit.c and rebuilt as a binary, as the library does. On any
 * other device (PoCL) with -DELATTN_MMA_EMULATE=1: the emulation against the same host product,
 * which checks this program itself. Run from the repository root:
 *   cc -O2 -Ibackends/opencl -o wlc bench/lab/notes/mma/wgmma_layout_check.c backends/opencl/opencl_ptx_edit.c -lOpenCL -lm
 *   ./wlc            exit 0 when every case is within 1e-3 relative (fp32 sums of up to 256 products)
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_ptx_edit.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (run from the repository root)\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc((size_t)n + 1, 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) exit(2);
    fclose(f);
    return s;
}

/* The test kernel: A from global into the A fragments of its warp's 16 rows, one per step; B into
 * local memory at the layout's offsets; the chain twice; D out in the accumulator layout. */
static const char *test_kernel =
    "#define WG 128\n#define WARPS 4\n#define KW (16 * STEPS)\n"
    "#define K_AT(k, n) (((n) % 8) * 16 + ((n) / 8) * (KW * 16) + ((k) % 8) * 2 + ((k) / 8) * 128)\n"
    "#define MN_AT(k, n) (((n) % 8) * 2 + ((n) / 8) * 128 + ((k) % 8) * 16 + ((k) / 8) * (NW * 16))\n"
    "__kernel __attribute__((reqd_work_group_size(128, 1, 1)))\n"
    "void check(__global const ushort *a, __global const ushort *b, __global float *out) {\n"
    "    __local uint4 bs[2 * NW * KW * 2 / 16];\n"
    "    __local uchar *base = (__local uchar *)bs;\n"
    "    const int lid = get_local_id(0), warp = lid / 32, lane = lid % 32, g = lane / 4, t = lane % 4;\n"
    "    MMA_WARP_EXCHANGE(xw, warp);\n"
    "    for (int e = lid; e < KW * NW; e += WG) {\n"
    "        const int k = e / NW, n = e % NW;\n"
    "        *(__local ushort *)(base + K_AT(k, n)) = b[e];\n"
    "        *(__local ushort *)(base + NW * KW * 2 + MN_AT(k, n)) = b[e];\n"
    "    }\n"
    "    const int r0 = 16 * warp + g;\n"
    "    uint af[STEPS][4];\n"
    "    for (int s = 0; s < STEPS; ++s) {\n"
    "        const int c = 16 * s + 2 * t;\n"
    "        af[s][0] = a[r0 * KW + c] | ((uint)a[r0 * KW + c + 1] << 16);\n"
    "        af[s][1] = a[(r0 + 8) * KW + c] | ((uint)a[(r0 + 8) * KW + c + 1] << 16);\n"
    "        af[s][2] = a[r0 * KW + c + 8] | ((uint)a[r0 * KW + c + 9] << 16);\n"
    "        af[s][3] = a[(r0 + 8) * KW + c + 8] | ((uint)a[(r0 + 8) * KW + c + 9] << 16);\n"
    "    }\n"
    "    wg_proxy_fence();\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    float d[NW / 8][4];\n"
    "#define WG_BASE base\n#define WG_XW xw\n#define WG_LANE lane\n"
    "    const uint at = lds_at(base, 0);\n"
    "    const wg_desc kdesc = wg_make_desc(at, 128, KW * 16), mdesc = wg_make_desc(at + NW * KW * 2, NW * 16, 128);\n"
    "#define A_FRAG(s, x) af[s][x]\n"
    "#define K_DESC(s) (kdesc + 16 * (s))\n"
    "#define MN_DESC(s) (mdesc + NW * 2 * (s))\n"
    "#if MODE == 0\n"
    "    wgmma_chain_set(NW, STEPS, 0, d, A_FRAG, K_DESC);\n"
    "    wgmma_chain_add(NW, STEPS, 0, d, A_FRAG, K_DESC);\n"
    "#elif MODE == 1\n"
    "    wgmma_chain_set(NW, STEPS, 1, d, A_FRAG, MN_DESC);\n"
    "    wgmma_chain_add(NW, STEPS, 1, d, A_FRAG, MN_DESC);\n"
    "#else\n"
    "    float d1[NW / 8][4];\n"
    "    wgmma_chain_set(NW, STEPS, 0, d1, A_FRAG, K_DESC);\n"
    "    for (int j = 0; j < NW / 8; ++j)\n"
    "        for (int e = 0; e < 4; ++e) d[j][e] = d1[j][e];\n"
    "    wgmma_chain_add(NW, STEPS, 1, d, A_FRAG, MN_DESC);\n"
    "#endif\n"
    "    for (int j = 0; j < NW / 8; ++j)\n"
    "        for (int e = 0; e < 4; ++e)\n"
    "            out[(r0 + 8 * (e / 2)) * NW + 8 * j + 2 * t + (e & 1)] = d[j][e];\n"
    "}\n";

static unsigned short to_bf16(float x)
{
    unsigned u;
    memcpy(&u, &x, 4);
    return (unsigned short)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
static float from_bf16(unsigned short h)
{
    unsigned u = (unsigned)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

int main(void)
{
    cl_platform_id platforms[8];
    cl_uint np = 0;
    clGetPlatformIDs(8, platforms, &np);
    cl_device_id dev = 0;
    int nvidia = 0;
    for (cl_uint p = 0; p < np && !nvidia; ++p) { /* NVIDIA's GPU if there is one, else the first device */
        char name[256] = "";
        clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, sizeof name, name, NULL);
        cl_device_id d;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 1, &d, NULL) != CL_SUCCESS) continue;
        if (strstr(name, "NVIDIA")) dev = d, nvidia = 1;
        else if (!dev) dev = d;
    }
    if (!dev) {
        printf("no OpenCL device\n");
        return 2;
    }
    char dname[256] = "";
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof dname, dname, NULL);
    printf("device: %s (%s)\n", dname, nvidia ? "wgmma through the sm_90a PTX edit" : "emulated");
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    char *files[5] = {slurp("kernels/elattn_spec.h"), slurp("kernels/opencl/common.cl"),
                      slurp("kernels/opencl/warp_shuffle.cl"), slurp("kernels/opencl/mma_warp.cl"),
                      slurp("kernels/opencl/wgmma_warpgroup.cl")};
    const char *strings[7] = {"#define local elattn_local_\n", files[0], files[1], files[2], files[3], files[4], test_kernel};

    enum { M = 64, KMAX = 128, NMAX = 128 };
    static unsigned short ha[M * KMAX], hb[KMAX * NMAX];
    srand(12345);
    for (int i = 0; i < M * KMAX; ++i) ha[i] = to_bf16((float)rand() / RAND_MAX * 2.0f - 1.0f);
    for (int i = 0; i < KMAX * NMAX; ++i) hb[i] = to_bf16((float)rand() / RAND_MAX * 2.0f - 1.0f);
    cl_mem da = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof ha, ha, &err);
    cl_mem db = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof hb, hb, &err);
    cl_mem dout = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sizeof(float) * M * NMAX, NULL, &err);
    int failures = 0;
    /* the chains attn_wgmma.cl runs: N 64 with 4 and 8 steps, N 128 with 4 */
    const int shapes[5][2] = {{32, 8}, {64, 4}, {64, 8}, {128, 2}, {128, 4}};
    const char *mode_name[3] = {"K-major B (K's layout)", "MN-major B (V's layout)",
                                "K-major set into one array, MN-major add into another"};
    for (int sh = 0; sh < 5; ++sh)
        for (int mn = 0; mn <= 2; ++mn) { /* K-major, MN-major, then a K-major chain and an MN-major one */
            const int n_width = shapes[sh][0], steps = shapes[sh][1], K = 16 * steps;
            char opts[320];
            snprintf(opts, sizeof opts,
                     "-cl-std=CL1.2 -DELATTN_STORAGE=2 -DELATTN_HEAD_DIM=64 -DELATTN_WG=128 -DNW=%d -DSTEPS=%d "
                     "-DMODE=%d %s",
                     n_width, steps, mn, nvidia ? "-DELATTN_NV_PTX=1 -DELATTN_PTX_SM90A=1" : "-DELATTN_MMA_EMULATE=1");
            cl_program prog = clCreateProgramWithSource(ctx, 7, strings, NULL, &err);
            err = clBuildProgram(prog, 1, &dev, opts, NULL, NULL);
            if (err == CL_SUCCESS && nvidia) { /* the library's second build */
                size_t size = 0;
                clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL);
                unsigned char *bin = calloc(size + 1, 1);
                clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL);
                int markers = 0;
                char *ptx = ocl_ptx_sm90a_edit((const char *)bin, size, &markers);
                free(bin);
                clReleaseProgram(prog);
                prog = NULL;
                if (!ptx) err = -9999;
                else {
                    size_t len = strlen(ptx);
                    const unsigned char *bins[1] = {(const unsigned char *)ptx};
                    cl_int st;
                    prog = clCreateProgramWithBinary(ctx, 1, &dev, &len, bins, &st, &err);
                    if (err == CL_SUCCESS) err = clBuildProgram(prog, 1, &dev, "", NULL, NULL);
                    free(ptx);
                }
                printf("  N %d x %d steps %s: %d markers removed\n", n_width, steps, mode_name[mn], markers);
            }
            if (err != CL_SUCCESS) {
                size_t n = 0;
                if (prog) clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
                char *log = calloc(n + 1, 1);
                if (prog) clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, n, log, NULL);
                printf("FAIL  N %d x %d steps %s: build error %d: %.3000s\n", n_width, steps, mode_name[mn], err,
                       log);
                free(log);
                ++failures;
                continue;
            }
            cl_kernel k = clCreateKernel(prog, "check", &err);
            clSetKernelArg(k, 0, sizeof da, &da);
            clSetKernelArg(k, 1, sizeof db, &db);
            clSetKernelArg(k, 2, sizeof dout, &dout);
            float fill[M * NMAX];
            for (int i = 0; i < M * NMAX; ++i) fill[i] = NAN;
            clEnqueueWriteBuffer(q, dout, CL_TRUE, 0, sizeof fill, fill, 0, NULL, NULL);
            size_t g = 128, l = 128;
            err = clEnqueueNDRangeKernel(q, k, 1, NULL, &g, &l, 0, NULL, NULL);
            float got[M * NMAX];
            if (err == CL_SUCCESS) err = clEnqueueReadBuffer(q, dout, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL);
            double worst = 0.0, scale = 0.0;
            int bad_at = -1;
            for (int r = 0; r < M && err == CL_SUCCESS; ++r)
                for (int c = 0; c < n_width; ++c) {
                    double want = 0.0;
                    for (int kk = 0; kk < K; ++kk) want += (double)from_bf16(ha[r * K + kk]) * from_bf16(hb[kk * n_width + c]);
                    want *= 2.0; /* the set chain, then the add chain */
                    const double e = fabs(got[r * n_width + c] - want);
                    if (!(e <= worst)) worst = e, bad_at = r * n_width + c; /* NaN counts as worst */
                    if (fabs(want) > scale) scale = fabs(want);
                }
            const int ok = err == CL_SUCCESS && worst <= 1e-3 * scale;
            printf("%s  N %d x %d steps %s: max |error| %.3g (largest |D| %.3g)%s", ok ? "ok  " : "FAIL", n_width, steps,
                   mode_name[mn], worst, scale, err ? " launch error" : "");
            if (!ok && bad_at >= 0) printf(", first worst at row %d col %d", bad_at / n_width, bad_at % n_width);
            printf("\n");
            failures += !ok;
            clReleaseKernel(k);
            clReleaseProgram(prog);
        }
    printf("%s\n", failures ? "FAIL" : "PASS");
    return failures ? 1 : 0;
}

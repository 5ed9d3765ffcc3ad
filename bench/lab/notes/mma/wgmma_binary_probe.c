/*
 * Lab probe (issue 12, fifteenth session): can OpenCL reach Hopper's wgmma through a PTX binary?
 * wgmma_probe.c showed that NVIDIA's OpenCL compiler targets sm_90, where ptxas refuses wgmma. This
 * tries the other door: the driver takes PTX as a program binary (clCreateProgramWithBinary).
 *   1. A carrier kernel is built from OpenCL C by NVIDIA's compiler. Its wgmma instructions sit in
 *      inline asm behind a marker comment ("// SM90A "), so the compiler emits them as comments,
 *      with its registers already substituted for the asm's operands.
 *   2. Its PTX (CL_PROGRAM_BINARIES) is edited: the markers are removed, `.target sm_90` becomes
 *      `.target sm_90a`, `.version` is raised to 8.0 when lower.
 *   3. The edited PTX is built with clCreateProgramWithBinary and run on one warpgroup (128 items):
 *      one wgmma.mma_async m64n8k16 (bf16 in, fp32 out, both operands from local memory through
 *      descriptors without swizzle), D = A B.
 *   Test "ones": A and B all 1.0, so every D element must be 16 whatever the operand layout: passes
 *   only if the instruction ran. The carrier (unedited) must give 0 (scale-d off, D starts at 0).
 *   Test "rows" (a layout check, informative): A[m][k] = m in the layout the descriptors state
 *   (8x8 core matrices of 128 bytes, K-adjacent ones `LBO` apart, M-adjacent ones `SBO` apart),
 *   B ones: D[m][n] must be 16 m at the accumulator fragment's rows (warp w, lane l: rows 16 w + l / 4
 *   for d0, d1 and + 8 for d2, d3).
 * Added after call 115 (compile-checked with clang + ptxas only; its device call was refused): kernel probe_rega, the same checks with A from registers
 * (wgmma's register-A form, which an attention kernel's P x V and a Q held in registers need); kernel
 * rate, the issue rate of m64n128k16 from local memory (4 per round, a commit and a wait a round, one
 * warpgroup a work-group, 1 / 2 / 4 work-groups per SM), its sums checked.
 * Prints each step's status; exit 0 when "ones" passes on the edited binary.
 *   cc -O2 -o wgmma_binary_probe wgmma_binary_probe.c -lOpenCL && ./wgmma_binary_probe
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LBO = 128, SBO = 256 };

static const char *source =
    "#define LBO 128\n"
    "#define SBO 256\n"
    "__kernel __attribute__((reqd_work_group_size(128, 1, 1)))\n"
    "void probe(__global float *out, const int rows) {\n"
    "    __local ushort a[64 * 16] __attribute__((aligned(128)));\n"
    "    __local ushort b[8 * 16] __attribute__((aligned(128)));\n"
    "    const int t = get_local_id(0);\n"
    "    for (int e = t; e < 64 * 16; e += 128) {\n"
    "        const int m = e / 16, k = e % 16;\n"
    "        const int at = (k / 8) * LBO + (m / 8) * SBO + (m % 8) * 16 + (k % 8) * 2;\n"
    "        const float v = rows ? (float)m : 1.0f;\n"
    "        a[at / 2] = (ushort)(as_uint(v) >> 16);\n"
    "    }\n"
    "    b[t] = 0x3F80;\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    const uint sa = (uint)(size_t)a, sb = (uint)(size_t)b;\n"
    "    const ulong da = (ulong)((sa & 0x3FFFF) >> 4) | ((ulong)(LBO >> 4) << 16) | ((ulong)(SBO >> 4) << 32);\n"
    "    const ulong db = (ulong)((sb & 0x3FFFF) >> 4) | ((ulong)(LBO >> 4) << 16) | ((ulong)(SBO >> 4) << 32);\n"
    "    float d0 = 0, d1 = 0, d2 = 0, d3 = 0;\n"
    "    __asm__ __volatile__(\"// SM90A fence.proxy.async.shared::cta;\\n\" ::: \"memory\");\n"
    "    __asm__ __volatile__(\"// SM90A wgmma.fence.sync.aligned;\\n\" ::: \"memory\");\n"
    "    __asm__ __volatile__(\"{\\n.reg .pred p;\\nsetp.ne.b32 p, 0, 0;\\n\"\n"
    "        \"// SM90A wgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16 {%0, %1, %2, %3}, %4, %5, p, 1, 1, 0, 0;\\n}\"\n"
    "        : \"+f\"(d0), \"+f\"(d1), \"+f\"(d2), \"+f\"(d3) : \"l\"(da), \"l\"(db) : \"memory\");\n"
    "    __asm__ __volatile__(\"// SM90A wgmma.commit_group.sync.aligned;\\n\" ::: \"memory\");\n"
    "    __asm__ __volatile__(\"// SM90A wgmma.wait_group.sync.aligned 0;\\n\" : \"+f\"(d0), \"+f\"(d1), \"+f\"(d2), \"+f\"(d3) :: \"memory\");\n"
    "    out[4 * t + 0] = d0; out[4 * t + 1] = d1; out[4 * t + 2] = d2; out[4 * t + 3] = d3;\n"
    "}\n";

/* Kernel 2, probe_rega: the same product with A from registers (wgmma's register-A form; the
 * fragment is mma.sync m16n8k16's per warp, warp w holding rows 16 w ..): a0 / a2 rows g, a1 / a3
 * rows g + 8, two bf16 of one row each. With rows = 1, A[m][k] = m; else ones. */
static const char *source_rega =
    "__kernel __attribute__((reqd_work_group_size(128, 1, 1)))\n"
    "void probe_rega(__global float *out, const int rows) {\n"
    "    __local ushort b[8 * 16] __attribute__((aligned(128)));\n"
    "    const int t = get_local_id(0), w = t / 32, g = (t % 32) / 4;\n"
    "    b[t] = 0x3F80;\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    const float lo = rows ? (float)(16 * w + g) : 1.0f, hi = rows ? (float)(16 * w + g + 8) : 1.0f;\n"
    "    const uint blo = as_uint(lo) >> 16, bhi = as_uint(hi) >> 16;\n"
    "    const uint a0 = blo | (blo << 16), a1 = bhi | (bhi << 16);\n"
    "    const uint sb = (uint)(size_t)b;\n"
    "    const ulong db = (ulong)((sb & 0x3FFFF) >> 4) | ((ulong)(128 >> 4) << 16) | ((ulong)(256 >> 4) << 32);\n"
    "    float d0 = 0, d1 = 0, d2 = 0, d3 = 0;\n"
    "    __asm__ __volatile__(\"// SM90A fence.proxy.async.shared::cta;\\n\" ::: \"memory\");\n"
    "    __asm__ __volatile__(\"// SM90A wgmma.fence.sync.aligned;\\n\" ::: \"memory\");\n"
    "    __asm__ __volatile__(\"{\\n.reg .pred p;\\nsetp.ne.b32 p, 0, 0;\\n\"\n"
    "        \"// SM90A wgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16 {%0, %1, %2, %3}, {%4, %5, %6, %7}, %8, p, 1, 1, 0;\\n}\"\n"
    "        : \"+f\"(d0), \"+f\"(d1), \"+f\"(d2), \"+f\"(d3) : \"r\"(a0), \"r\"(a1), \"r\"(a0), \"r\"(a1), \"l\"(db) : \"memory\");\n"
    "    __asm__ __volatile__(\"// SM90A wgmma.commit_group.sync.aligned;\\n\" ::: \"memory\");\n"
    "    __asm__ __volatile__(\"// SM90A wgmma.wait_group.sync.aligned 0;\\n\" : \"+f\"(d0), \"+f\"(d1), \"+f\"(d2), \"+f\"(d3) :: \"memory\");\n"
    "    out[4 * t + 0] = d0; out[4 * t + 1] = d1; out[4 * t + 2] = d2; out[4 * t + 3] = d3;\n"
    "}\n";

/* Kernel 3, rate: the issue rate of m64n128k16 from local-memory descriptors, one warpgroup a
 * work-group, `iters` rounds of four wgmmas into one accumulator set (64 floats a thread), a commit
 * and a wait per round. Written out here, since its asm names 64 accumulators. */
static char *rate_source(void)
{
    char *s = malloc(16384), *w = s;
    w += sprintf(w, "__kernel __attribute__((reqd_work_group_size(128, 1, 1)))\n"
                    "void rate(__global float *out, const int iters) {\n"
                    "    __local ushort a[64 * 16] __attribute__((aligned(128)));\n"
                    "    __local ushort b[128 * 16] __attribute__((aligned(128)));\n"
                    "    const int t = get_local_id(0);\n"
                    "    for (int e = t; e < 64 * 16; e += 128) a[e] = 0x3A80;\n" /* 2^-10 */
                    "    for (int e = t; e < 128 * 16; e += 128) b[e] = 0x3A80;\n"
                    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
                    "    const uint sa = (uint)(size_t)a, sb = (uint)(size_t)b;\n"
                    "    const ulong da = (ulong)((sa & 0x3FFFF) >> 4) | ((ulong)(128 >> 4) << 16) | ((ulong)(256 >> 4) << 32);\n"
                    "    const ulong db = (ulong)((sb & 0x3FFFF) >> 4) | ((ulong)(128 >> 4) << 16) | ((ulong)(256 >> 4) << 32);\n"
                    "    float d[64];\n"
                    "    _Pragma(\"unroll\") for (int i = 0; i < 64; ++i) d[i] = 0.0f;\n"
                    "    __asm__ __volatile__(\"// SM90A fence.proxy.async.shared::cta;\\n\" ::: \"memory\");\n"
                    "    for (int it = 0; it < iters; ++it) {\n"
                    "        __asm__ __volatile__(\"// SM90A wgmma.fence.sync.aligned;\\n\" ::: \"memory\");\n");
    for (int u = 0; u < 4; ++u) {
        w += sprintf(w, "        __asm__ __volatile__(\"{\\n.reg .pred p;\\nsetp.ne.b32 p, 1, 0;\\n\"\n"
                        "            \"// SM90A wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {");
        for (int i = 0; i < 64; ++i) w += sprintf(w, "%%%d%s", i, i < 63 ? ", " : "");
        w += sprintf(w, "}, %%64, %%65, p, 1, 1, 0, 0;\\n}\"\n            : ");
        for (int i = 0; i < 64; ++i) w += sprintf(w, "\"+f\"(d[%d])%s", i, i < 63 ? ", " : "");
        w += sprintf(w, " : \"l\"(da), \"l\"(db) : \"memory\");\n");
    }
    w += sprintf(w, "        __asm__ __volatile__(\"// SM90A wgmma.commit_group.sync.aligned;\\n\" ::: \"memory\");\n"
                    "        __asm__ __volatile__(\"// SM90A wgmma.wait_group.sync.aligned 0;\\n\" : ");
    for (int i = 0; i < 64; ++i) w += sprintf(w, "\"+f\"(d[%d])%s", i, i < 63 ? ", " : "");
    w += sprintf(w, " :: \"memory\");\n"
                    "    }\n"
                    "    float sum = 0.0f;\n"
                    "    _Pragma(\"unroll\") for (int i = 0; i < 64; ++i) sum += d[i];\n"
                    "    out[get_global_id(0)] = sum;\n"
                    "}\n");
    return s;
}

/* The PTX with the markers removed, sm_90 -> sm_90a, .version at least 8.0; *edits: markers removed. */
static char *edit_ptx(const char *ptx, int *edits)
{
    size_t n = strlen(ptx);
    char *o = malloc(n + 64), *w = o;
    *edits = 0;
    for (const char *p = ptx; *p;) {
        if (!strncmp(p, "// SM90A ", 9)) {
            p += 9, ++*edits;
            continue;
        }
        if (!strncmp(p, ".target sm_90", 13) && p[13] != 'a') {
            w += sprintf(w, ".target sm_90a");
            p += 13;
            continue;
        }
        if (!strncmp(p, ".version ", 9)) {
            int major = 0, minor = 0;
            if (sscanf(p + 9, "%d.%d", &major, &minor) == 2 && major < 8) {
                w += sprintf(w, ".version 8.0");
                while (*p && *p != '\n') ++p;
                continue;
            }
        }
        *w++ = *p++;
    }
    *w = 0;
    return o;
}

static void print_log(cl_program prog, cl_device_id dev)
{
    size_t n = 0;
    clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
    char *log = calloc(n + 1, 1);
    clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, n, log, NULL);
    if (log[0]) printf("build log: %.2000s\n", log);
    free(log);
}

/* Runs `kernel` (probe or probe_rega) once on one warpgroup; returns the number of wrong elements
 * (-1: launch failed). */
static int run(cl_context ctx, cl_command_queue q, cl_program prog, const char *kernel, int rows, const char *what)
{
    cl_int err;
    cl_kernel k = clCreateKernel(prog, kernel, &err);
    if (err) { printf("%s: clCreateKernel %d\n", what, err); return -1; }
    float host[512];
    for (int i = 0; i < 512; ++i) host[i] = -1.0f;
    cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof host, host, &err);
    clSetKernelArg(k, 0, sizeof out, &out);
    clSetKernelArg(k, 1, sizeof rows, &rows);
    size_t g = 128, l = 128;
    err = clEnqueueNDRangeKernel(q, k, 1, NULL, &g, &l, 0, NULL, NULL);
    if (!err) err = clEnqueueReadBuffer(q, out, CL_TRUE, 0, sizeof host, host, 0, NULL, NULL);
    clReleaseMemObject(out);
    clReleaseKernel(k);
    if (err) { printf("%s: launch or read %d\n", what, err); return -1; }
    int wrong = 0;
    for (int t = 0; t < 128; ++t)
        for (int i = 0; i < 4; ++i) {
            const int row = 16 * (t / 32) + (t % 32) / 4 + (i >= 2 ? 8 : 0);
            const float want = rows ? 16.0f * row : 16.0f;
            if (host[4 * t + i] != want && wrong++ < 6)
                printf("%s: item %d d%d = %g, want %g\n", what, t, i, host[4 * t + i], want);
        }
    printf("%s: %d of 512 wrong (first: %g %g %g %g)\n", what, wrong, host[0], host[1], host[2], host[3]);
    return wrong;
}

/* Times `rate` on `groups` work-groups (event profiling, best of 5) and checks every item's sum. */
static void time_rate(cl_context ctx, cl_command_queue q, cl_program prog, int groups, int iters)
{
    cl_int err;
    cl_kernel k = clCreateKernel(prog, "rate", &err);
    if (err) { printf("rate: clCreateKernel %d\n", err); return; }
    const size_t n = (size_t)groups * 128;
    cl_mem out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &err);
    clSetKernelArg(k, 0, sizeof out, &out);
    clSetKernelArg(k, 1, sizeof iters, &iters);
    double best = 1e30;
    for (int rep = 0; rep < 5 && !err; ++rep) {
        cl_event ev;
        size_t l = 128;
        err = clEnqueueNDRangeKernel(q, k, 1, NULL, &n, &l, 0, NULL, &ev);
        if (err) break;
        clWaitForEvents(1, &ev);
        cl_ulong t0 = 0, t1 = 0;
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
        clReleaseEvent(ev);
        if ((t1 - t0) * 1e-9 < best) best = (t1 - t0) * 1e-9;
    }
    float *host = malloc(n * sizeof(float));
    if (!err) err = clEnqueueReadBuffer(q, out, CL_TRUE, 0, n * sizeof(float), host, 0, NULL, NULL);
    int wrong = 0;
    for (size_t i = 0; i < n && !err; ++i) wrong += host[i] != (float)iters / 256.0f; /* 64 x 4 iters x 2^-16 */
    const double flops = 2.0 * 64 * 128 * 16 * 4 * (double)iters * groups;
    if (err) printf("rate: %d work-groups: error %d\n", groups, err);
    else printf("rate: %d work-groups x %d rounds of 4 m64n128k16: %.3f ms, %.1f TFLOP/s, %d of %zu sums wrong (want %g, first %g)\n",
                groups, iters, best * 1e3, flops / best * 1e-12, wrong, n, (float)iters / 256.0f, host[0]);
    free(host);
    clReleaseMemObject(out);
    clReleaseKernel(k);
}

int main(void)
{
    cl_platform_id platforms[8];
    cl_uint np = 0;
    clGetPlatformIDs(8, platforms, &np);
    for (cl_uint p = 0; p < np; ++p) {
        char name[256] = "";
        clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, sizeof name, name, NULL);
        if (!strstr(name, "NVIDIA")) continue;
        cl_device_id dev;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_GPU, 1, &dev, NULL) != CL_SUCCESS) continue;
        char dname[256] = "", drv[64] = "";
        clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof dname, dname, NULL);
        clGetDeviceInfo(dev, CL_DRIVER_VERSION, sizeof drv, drv, NULL);
        printf("device: %s, driver %s\n", dname, drv);
        cl_int err;
        cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
        cl_command_queue q = clCreateCommandQueue(ctx, dev, CL_QUEUE_PROFILING_ENABLE, &err);
        char *rate = rate_source();
        const char *sources[3] = {source, source_rega, rate};
        cl_program carrier = clCreateProgramWithSource(ctx, 3, sources, NULL, &err);
        err = clBuildProgram(carrier, 1, &dev, "", NULL, NULL);
        printf("carrier from source: clBuildProgram %d\n", err);
        print_log(carrier, dev);
        if (err) return 1;
        size_t bin_size = 0;
        clGetProgramInfo(carrier, CL_PROGRAM_BINARY_SIZES, sizeof bin_size, &bin_size, NULL);
        unsigned char *bin = calloc(bin_size + 1, 1);
        clGetProgramInfo(carrier, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL);
        int edits = 0;
        char *ptx = edit_ptx((const char *)bin, &edits);
        for (const char *line = ptx; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            const int len = (int)strcspn(line, "\n");
            char text[400];
            snprintf(text, sizeof text, "%.*s", len, line); /* the line alone: strstr must not look past it */
            if (!strncmp(text, ".version", 8) || !strncmp(text, ".target", 7) || strstr(text, "wgmma.mma_async"))
                printf("edited PTX: %s\n", text);
        }
        printf("markers removed: %d (5 + 5 + 8 expected)\n", edits);
        FILE *f = fopen("wgmma_probe_edited.ptx", "w");
        if (f) fputs(ptx, f), fclose(f);
        const int carrier_wrong = run(ctx, q, carrier, "probe", 0, "carrier (unedited), ones");
        printf("carrier: %s\n", carrier_wrong == 512 ? "every element is not 16, as expected" : "UNEXPECTED");
        size_t len = strlen(ptx);
        const unsigned char *bins[1] = {(const unsigned char *)ptx};
        cl_int bin_status = 0;
        cl_program edited = clCreateProgramWithBinary(ctx, 1, &dev, &len, bins, &bin_status, &err);
        printf("edited PTX: clCreateProgramWithBinary %d (binary status %d)\n", err, bin_status);
        if (err) return 1;
        err = clBuildProgram(edited, 1, &dev, "", NULL, NULL);
        printf("edited PTX: clBuildProgram %d\n", err);
        print_log(edited, dev);
        if (err) return 1;
        const int ones = run(ctx, q, edited, "probe", 0, "edited (wgmma), ones");
        run(ctx, q, edited, "probe", 1, "edited (wgmma), rows (layout check)");
        printf("RESULT: wgmma from an OpenCL PTX binary %s\n", ones == 0 ? "RUNS and computes" : "does not work");
        run(ctx, q, edited, "probe_rega", 0, "edited (wgmma, A from registers), ones");
        run(ctx, q, edited, "probe_rega", 1, "edited (wgmma, A from registers), rows");
        cl_uint sms = 0;
        clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof sms, &sms, NULL);
        for (int per_sm = 1; per_sm <= 4; per_sm *= 2) time_rate(ctx, q, edited, (int)sms * per_sm, 4096);
        return ones == 0 ? 0 : 1;
    }
    printf("no NVIDIA OpenCL device\n");
    return 1;
}

/*
 * Lab probe (issue 12): does NVIDIA's OpenCL compiler accept Hopper's wgmma through inline PTX?
 * mma.sync does (kernels/opencl/attn_mma.cl); wgmma needs the sm_90a target. For each build
 * option set below, builds a kernel that fences, issues one wgmma.mma_async (m64n8k16, bf16,
 * both operands from local memory through descriptors of zero swizzle) and waits for it, then
 * prints the build status, the log and the PTX's .target line.
 *   cc -O2 -o wgmma_probe wgmma_probe.c -lOpenCL && ./wgmma_probe
 * Prints what the compiler said; it does not check the product (the descriptors are placeholders).
 */
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *source =
    "__kernel void probe(__global float *out) {\n"
    "    __local ushort a[64 * 16], b[8 * 16];\n"
    "    a[get_local_id(0)] = (ushort)get_local_id(0); b[get_local_id(0) % 128] = 1;\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    uint sa, sb;\n"
    "    asm volatile(\"cvta.to.shared.u32 %0, %1;\" : \"=r\"(sa) : \"l\"(a));\n"
    "    asm volatile(\"cvta.to.shared.u32 %0, %1;\" : \"=r\"(sb) : \"l\"(b));\n"
    "    ulong da = (ulong)((sa & 0x3FFFF) >> 4) | ((ulong)(128 >> 4) << 16) | ((ulong)(256 >> 4) << 32);\n"
    "    ulong db = (ulong)((sb & 0x3FFFF) >> 4) | ((ulong)(128 >> 4) << 16) | ((ulong)(256 >> 4) << 32);\n"
    "    float d0 = 0, d1 = 0, d2 = 0, d3 = 0;\n"
    "    asm volatile(\"wgmma.fence.sync.aligned;\" ::: \"memory\");\n"
    "    asm volatile(\"{\\n.reg .pred p;\\nsetp.ne.b32 p, 0, 0;\\n\"\n"
    "                 \"wgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16 {%0, %1, %2, %3}, %4, %5, p, 1, 1, 0, 0;\\n}\"\n"
    "                 : \"+f\"(d0), \"+f\"(d1), \"+f\"(d2), \"+f\"(d3) : \"l\"(da), \"l\"(db));\n"
    "    asm volatile(\"wgmma.commit_group.sync.aligned;\" ::: \"memory\");\n"
    "    asm volatile(\"wgmma.wait_group.sync.aligned 0;\" ::: \"memory\");\n"
    "    out[get_global_id(0)] = d0 + d1 + d2 + d3;\n"
    "}\n";

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
        cl_int err;
        cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
        const char *options[] = {"", "-cl-nv-arch sm_90a", "-cl-nv-arch sm_90"};
        for (int o = 0; o < 3; ++o) {
            cl_program prog = clCreateProgramWithSource(ctx, 1, &source, NULL, &err);
            err = clBuildProgram(prog, 1, &dev, options[o], NULL, NULL);
            size_t log_size = 0;
            clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size);
            char *log = calloc(log_size + 1, 1);
            clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, log_size, log, NULL);
            printf("== options \"%s\": clBuildProgram %d\n%.1500s\n", options[o], err, log);
            free(log);
            if (err == CL_SUCCESS) {
                size_t bin_size = 0;
                clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof bin_size, &bin_size, NULL);
                unsigned char *bin = calloc(bin_size + 1, 1);
                clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL);
                const char *t = strstr((const char *)bin, ".target");
                printf("PTX %s\n", t ? strtok((char *)t, "\n") : "(no .target line)");
                free(bin);
            }
            clReleaseProgram(prog);
        }
        clReleaseContext(ctx);
    }
    return 0;
}

/*
 * Error names, device classes, the program cache and launch helpers of the
 * OpenCL backend.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opencl_internal.h"
#include "opencl_ptx_edit.h"

#ifndef CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV /* cl_nv_device_attribute_query */
#define CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV 0x4000
#define CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV 0x4001
#endif
#ifndef CL_DEVICE_WARP_SIZE_NV
#define CL_DEVICE_WARP_SIZE_NV 0x4003
#endif
#ifndef CL_DEVICE_SUB_GROUP_SIZES_INTEL /* cl_intel_required_subgroup_size */
#define CL_DEVICE_SUB_GROUP_SIZES_INTEL 0x4108
#endif
#ifndef CL_DEVICE_WAVEFRONT_WIDTH_AMD /* cl_amd_device_attribute_query */
#define CL_DEVICE_WAVEFRONT_WIDTH_AMD 0x4043
#endif

const char *ocl_error_name(cl_int err)
{
    switch (err) {
#define E(x) case x: return #x;
    E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
    E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
    E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
    E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
    E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    E(CL_INVALID_VALUE) E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE)
    E(CL_INVALID_CONTEXT) E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE)
    E(CL_INVALID_HOST_PTR) E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    E(CL_INVALID_IMAGE_SIZE) E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS)
    E(CL_INVALID_PROGRAM) E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME)
    E(CL_INVALID_KERNEL_DEFINITION) E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX)
    E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE) E(CL_INVALID_KERNEL_ARGS)
    E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE) E(CL_INVALID_WORK_ITEM_SIZE)
    E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST) E(CL_INVALID_EVENT)
    E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT) E(CL_INVALID_BUFFER_SIZE)
    E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
    E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS) E(CL_INVALID_LINKER_OPTIONS)
    E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    }
    return "unknown OpenCL error";
}

elattn_status ocl_fail(cl_int err, const char *call, const char *what)
{
    return elattn_fail(ELATTN_ERROR_BACKEND, "opencl: %s failed with %s (%d)%s%s%s", call, ocl_error_name(err),
                       (int)err, what ? " [" : "", what ? what : "", what ? "]" : "");
}

/* `word` is one of the space-separated words of `list`. */
static int has_word(const char *list, const char *word)
{
    const size_t n = strlen(word);
    for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    return 0;
}

int ocl_forced_class(ocl_class *cls, int *wave)
{
    static const struct { const char *value; ocl_class cls; int wave; } classes[] = {
        {"amd", OCL_CLASS_AMD, 0},      {"amd:64", OCL_CLASS_AMD, 64}, {"amd:32", OCL_CLASS_AMD, 32},
        {"intel", OCL_CLASS_INTEL, 0}, {"other", OCL_CLASS_OTHER, 0},
    };
    const char *e = getenv("ELATTN_OPENCL_DEVICE_CLASS");
    *wave = 0;
    if (!e || !e[0]) return 0;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; ++i)
        if (strcmp(e, classes[i].value) == 0) {
            *cls = classes[i].cls;
            *wave = classes[i].wave;
            return 1;
        }
    return -1;
}

/* OpenCL 3.0's names, for headers of the 1.2 API (opencl_internal.h's target) */
#ifndef CL_DEVICE_OPENCL_C_FEATURES
#define CL_DEVICE_OPENCL_C_FEATURES 0x106F
#endif
typedef struct ocl_name_version { cl_uint version; char name[64]; } ocl_name_version;

/* ocl_caps.subgroup_cl_c: 300 where the OpenCL C features list __opencl_c_subgroups, 200 where the
 * device lists cl_khr_subgroups and compiles OpenCL C 2.0 or later, else 0. */
static int subgroup_cl_c(cl_device_id device, int khr_subgroups)
{
    size_t bytes = 0;
    ocl_name_version *features = NULL;
    int listed = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_OPENCL_C_FEATURES, 0, NULL, &bytes) == CL_SUCCESS && bytes > 0 &&
        (features = malloc(bytes)) &&
        clGetDeviceInfo(device, CL_DEVICE_OPENCL_C_FEATURES, bytes, features, NULL) == CL_SUCCESS)
        for (size_t i = 0; i < bytes / sizeof features[0] && !listed; ++i)
            listed = strncmp(features[i].name, "__opencl_c_subgroups", sizeof features[i].name) == 0;
    free(features);
    if (listed) return 300;
    char version[128] = "";
    int major = 0, minor = 0;
    if (khr_subgroups &&
        clGetDeviceInfo(device, CL_DEVICE_OPENCL_C_VERSION, sizeof version - 1, version, NULL) == CL_SUCCESS &&
        sscanf(version, "OpenCL C %d.%d", &major, &minor) == 2 && major >= 2)
        return 200;
    return 0;
}

void ocl_query_caps(cl_device_id device, ocl_caps *caps)
{
    memset(caps, 0, sizeof *caps);
    cl_device_type type = 0;
    cl_uint vendor_id = 0, align_bits = 0;
    cl_ulong local = 0;
    size_t max_wg = 0;
    clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(device, CL_DEVICE_VENDOR_ID, sizeof vendor_id, &vendor_id, NULL);
    clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, NULL);
    caps->local_mem = (size_t)local;
    caps->max_wg = max_wg;
    caps->base_align = align_bits / 8 ? align_bits / 8 : 1;
    if (type & CL_DEVICE_TYPE_CPU) caps->cls = OCL_CLASS_CPU;
    else if (vendor_id == 0x10de) caps->cls = OCL_CLASS_NVIDIA;
    else if (vendor_id == 0x1002) caps->cls = OCL_CLASS_AMD;
    else if (vendor_id == 0x8086) caps->cls = OCL_CLASS_INTEL;
    else caps->cls = OCL_CLASS_OTHER;
    ocl_class forced;
    int forced_wave = 0;
    const int forced_class = caps->cls != OCL_CLASS_NVIDIA && ocl_forced_class(&forced, &forced_wave) == 1;
    if (forced_class) caps->cls = forced;
    if (caps->cls == OCL_CLASS_NVIDIA) {
        cl_uint major = 0, minor = 0;
        if (clGetDeviceInfo(device, CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV, sizeof major, &major, NULL) ==
                CL_SUCCESS &&
            clGetDeviceInfo(device, CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV, sizeof minor, &minor, NULL) ==
                CL_SUCCESS) {
            caps->nv_cc_major = (int)major;
            caps->nv_cc_minor = (int)minor;
        }
    }
    cl_uint width = 0;
    if (caps->cls == OCL_CLASS_NVIDIA)
        clGetDeviceInfo(device, CL_DEVICE_WARP_SIZE_NV, sizeof width, &width, NULL);
    else if (caps->cls == OCL_CLASS_AMD)
        clGetDeviceInfo(device, CL_DEVICE_WAVEFRONT_WIDTH_AMD, sizeof width, &width, NULL);
    if (forced_class && forced_wave) width = (cl_uint)forced_wave;
    caps->warp_width = (int)width;

    size_t n = 0;
    char *ext = NULL;
    int khr_subgroups = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &n) == CL_SUCCESS && n > 0 && (ext = malloc(n + 1)) &&
        clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, n, ext, NULL) == CL_SUCCESS) {
        ext[n] = '\0';
        khr_subgroups = has_word(ext, "cl_khr_subgroups");
        caps->ext_intel_subgroups = has_word(ext, "cl_intel_subgroups");
        caps->ext_intel_reqd_subgroup_size = has_word(ext, "cl_intel_required_subgroup_size");
        caps->ext_khr_fp16 = has_word(ext, "cl_khr_fp16");
    }
    free(ext);
    /* A forced AMD class drops Intel's shuffles (AMD's drivers do not list cl_intel_subgroups), so the
     * tiled decode takes the form an AMD GPU builds; the required width stays, which is how a host
     * runtime's subgroups are made the rows the subgroup family assumes (gpu_compile_check.sh). */
    if (forced_class && forced == OCL_CLASS_AMD) caps->ext_intel_subgroups = 0;
    caps->subgroup_cl_c = subgroup_cl_c(device, khr_subgroups);
    size_t sizes[16], bytes = 0;
    if (caps->ext_intel_reqd_subgroup_size &&
        clGetDeviceInfo(device, CL_DEVICE_SUB_GROUP_SIZES_INTEL, sizeof sizes, sizes, &bytes) == CL_SUCCESS)
        for (size_t i = 0; i < bytes / sizeof sizes[0] && caps->n_sg_sizes < 8; ++i)
            if (sizes[i] > 0 && sizes[i] <= 1024) caps->sg_sizes[caps->n_sg_sizes++] = (int)sizes[i];
}

int ocl_format_options_at(char *buf, size_t size, int cl_c, int dtype, int wg, const char *extra)
{
    int n = snprintf(buf, size, "-cl-std=CL%d.%d -DELATTN_STORAGE=%d -DELATTN_WG=%d %s", cl_c / 100, cl_c % 100 / 10,
                     dtype, wg, extra ? extra : "");
    return n > 0 && (size_t)n < size;
}

int ocl_format_options(char *buf, size_t size, int dtype, int wg, const char *extra)
{
    return ocl_format_options_at(buf, size, 120, dtype, wg, extra);
}

/* ---- programs ------------------------------------------------------------------- */
/* The kernel files of a program, in order, after the spec and common.cl; the
 * tensor-core kernels come after warp_shuffle.cl and mma_warp.cl, their warp instructions
 * (the attention ones also after attn_mma_rows.cl, what they do with a warp's rows; the wgmma one
 * also after wgmma_warpgroup.cl), and the tiled decode after warp_shuffle.cl. */
enum { MAX_PROGRAM_FILES = 5 };
static const struct program_sources {
    const char *id;
    const char *files[MAX_PROGRAM_FILES]; /* NULL after the last */
} programs[] = {
    {"attn", {elattn_cl_attn_fused}},
    {"attn_mma", {elattn_cl_warp_shuffle, elattn_cl_mma_warp, elattn_cl_attn_mma_rows, elattn_cl_attn_mma}},
    {"attn_mma_async",
     {elattn_cl_warp_shuffle, elattn_cl_mma_warp, elattn_cl_attn_mma_rows, elattn_cl_attn_mma_async}},
    {"attn_wgmma",
     {elattn_cl_warp_shuffle, elattn_cl_mma_warp, elattn_cl_attn_mma_rows, elattn_cl_wgmma_warpgroup,
      elattn_cl_attn_wgmma}},
    {"xattn", {elattn_cl_xattn}},
    {"xattn_mma", {elattn_cl_warp_shuffle, elattn_cl_mma_warp, elattn_cl_xattn, elattn_cl_xattn_mma}},
    {"router", {elattn_cl_router}},
    {"merge", {elattn_cl_merge}},
    {"decode", {elattn_cl_warp_shuffle, elattn_cl_decode, elattn_cl_decode_tiled}},
};

static const struct program_sources *sources_of(const char *source_id)
{
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; ++i)
        if (strcmp(programs[i].id, source_id) == 0) return &programs[i];
    return NULL;
}

/* The part of a build log the error message has room for: the lines that
 * say "error" first (a driver may put pages of warnings before them), then
 * the log from its start. */
static void log_head(const char *log, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int pass = 0; pass < 2 && used + 1 < size; ++pass)
        for (const char *line = log; *line && used + 1 < size;) {
            const size_t len = strcspn(line, "\n");
            const int is_error = strstr(line, "error") && (size_t)(strstr(line, "error") - line) < len;
            if (pass == 0 ? is_error : !is_error)
                used += (size_t)snprintf(out + used, size - used, "%s%.*s", used ? " | " : "", (int)len, line);
            line += len + (line[len] == '\n');
        }
}

/* The whole log in a file ($TMPDIR or /tmp) that the message names: the
 * error message holds about 1 KiB, a compiler's log can be pages. */
static void save_log(const char *log, const char *source_id, const char *options, char *where, size_t size)
{
    const char *dir = getenv("TMPDIR");
    char path[256];
    static int serial;
    snprintf(path, sizeof path, "%s/elattn-opencl-build-%s-%ld-%d.log", dir && dir[0] ? dir : "/tmp", source_id,
             (long)getpid(), __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "elattn OpenCL build of '%s' with options: %s\n\n%s\n", source_id, options, log);
    if (fclose(f) == 0) snprintf(where, size, " (whole log in %s)", path);
}

/* kernels/elattn_spec.h names a parameter and a field `local`, which is an
 * OpenCL C keyword (the __local address space). Renaming the token before the
 * spec is compiled keeps the spec's text and the struct layout unchanged; our
 * kernels write __local for the address space. */
static const char spec_prelude[] = "#define local elattn_local_\n";

/* A failed clBuildProgram's message: the log's head, and the file with the whole log. */
static elattn_status build_failure(ocl_device *dev, cl_program program, cl_int err, const char *source_id,
                                   const char *options, const char *what)
{
    char *log = NULL, head[520] = "", where[300] = "";
    size_t full = 0;
    if (clGetProgramBuildInfo(program, dev->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &full) == CL_SUCCESS &&
        (log = malloc(full + 1)) &&
        clGetProgramBuildInfo(program, dev->device, CL_PROGRAM_BUILD_LOG, full, log, NULL) == CL_SUCCESS) {
        log[full] = '\0';
        log_head(log, head, sizeof head);
        save_log(log, source_id, options, where, sizeof where);
    }
    free(log);
    return elattn_fail(ELATTN_ERROR_BACKEND, "opencl: clBuildProgram%s failed with %s (%d) for '%s' [%s]; log%s: %s",
                       what, ocl_error_name(err), (int)err, source_id, options, where, head);
}

/* The program built from source with -DELATTN_PTX_SM90A=1, rebuilt for sm_90a from its edited PTX
 * (ocl_ptx_sm90a_edit); *program is replaced on success and left alone on failure. */
static elattn_status rebuild_for_sm90a(ocl_device *dev, const char *source_id, const char *options,
                                       cl_program *program)
{
    size_t size = 0;
    cl_int err = clGetProgramInfo(*program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL);
    if (err != CL_SUCCESS) return ocl_fail(err, "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)", source_id);
    unsigned char *bin = calloc(size + 1, 1);
    if (!bin) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (PTX of '%s')", source_id);
    err = clGetProgramInfo(*program, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL);
    if (err != CL_SUCCESS) {
        free(bin);
        return ocl_fail(err, "clGetProgramInfo(CL_PROGRAM_BINARIES)", source_id);
    }
    int markers = 0;
    char *ptx = ocl_ptx_sm90a_edit((const char *)bin, size, &markers);
    free(bin);
    if (!ptx || markers == 0) {
        free(ptx);
        return elattn_fail(ELATTN_ERROR_BACKEND,
                           "opencl: the binary of '%s' is not PTX with one `.target sm_90` line and sm_90a markers "
                           "(%d found): the sm_90a edit needs NVIDIA's driver on compute capability 9.0",
                           source_id, markers);
    }
    const size_t len = strlen(ptx);
    const char *dump = getenv("ELATTN_OPENCL_PTX_DUMP"); /* a folder: the edited PTX, for ptxas -v by hand */
    if (dump && dump[0]) {
        char path[512];
        static int serial;
        snprintf(path, sizeof path, "%s/elattn-%s-%ld-%d.ptx", dump, source_id, (long)getpid(),
                 __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
        FILE *f = fopen(path, "w");
        if (f) fprintf(f, "// elattn build options: %s\n%s", options, ptx), fclose(f);
    }
    const unsigned char *bins[1] = {(const unsigned char *)ptx};
    cl_int bin_status = CL_SUCCESS;
    cl_program edited = clCreateProgramWithBinary(dev->context, 1, &dev->device, &len, bins, &bin_status, &err);
    free(ptx);
    if (err != CL_SUCCESS) return ocl_fail(err, "clCreateProgramWithBinary (the sm_90a PTX)", source_id);
    err = clBuildProgram(edited, 1, &dev->device, "", NULL, NULL);
    if (err != CL_SUCCESS) {
        elattn_status st = build_failure(dev, edited, err, source_id, options, " of the sm_90a PTX");
        clReleaseProgram(edited);
        return st;
    }
    clReleaseProgram(*program);
    *program = edited;
    return ELATTN_SUCCESS;
}

/* ELATTN_OPENCL_BUILD_DUMP=<folder>: each program, before it is built, as the driver gets it:
 * <source id>-<hash of the options>.cl (the strings joined) and .opts (the options), for a
 * compiler outside the driver (kernels/opencl/gpu_compile_check.sh) or a vendor's bug report. */
static elattn_status dump_program(const char *dir, const char *source_id, const char *options,
                                  const char *const *strings, cl_uint count)
{
    uint32_t h = 2166136261u; /* FNV-1a: one file pair per distinct option string */
    for (const char *c = options; *c; ++c) h = (h ^ (unsigned char)*c) * 16777619u;
    char path[4096];
    for (int part = 0; part < 2; ++part) {
        snprintf(path, sizeof path, "%s/%s-%08x.%s", dir, source_id, (unsigned)h, part ? "opts" : "cl");
        FILE *f = fopen(path, "w");
        int ok = f != NULL;
        if (ok && part) ok = fputs(options, f) >= 0 && fputc('\n', f) != EOF;
        for (cl_uint i = 0; ok && !part && i < count; ++i) ok = fputs(strings[i], f) >= 0;
        if (f && fclose(f) != 0) ok = 0;
        if (!ok)
            return elattn_fail(ELATTN_ERROR_BACKEND, "opencl: ELATTN_OPENCL_BUILD_DUMP: cannot write %s", path);
    }
    return ELATTN_SUCCESS;
}

static elattn_status build_program(ocl_device *dev, const char *source_id, const char *options,
                                   cl_program *out)
{
    const struct program_sources *src = sources_of(source_id);
    if (!src) return elattn_fail(ELATTN_ERROR_INTERNAL, "opencl: no kernel sources named '%s'", source_id);
    const char *strings[3 + MAX_PROGRAM_FILES] = {spec_prelude, elattn_cl_elattn_spec, elattn_cl_common};
    cl_uint count = 3;
    for (int i = 0; i < MAX_PROGRAM_FILES && src->files[i]; ++i) strings[count++] = src->files[i];
    const char *dump = getenv("ELATTN_OPENCL_BUILD_DUMP");
    if (dump && dump[0]) {
        elattn_status st = dump_program(dump, source_id, options, strings, count);
        if (st != ELATTN_SUCCESS) return st;
    }
    cl_int err;
    cl_program program = clCreateProgramWithSource(dev->context, count, strings, NULL, &err);
    if (err != CL_SUCCESS) return ocl_fail(err, "clCreateProgramWithSource", source_id);
    err = clBuildProgram(program, 1, &dev->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        elattn_status st = build_failure(dev, program, err, source_id, options, "");
        clReleaseProgram(program);
        return st;
    }
    if (strstr(options, "-DELATTN_PTX_SM90A=1")) {
        elattn_status st = rebuild_for_sm90a(dev, source_id, options, &program);
        if (st != ELATTN_SUCCESS) {
            clReleaseProgram(program);
            return st;
        }
    }
    *out = program;
    return ELATTN_SUCCESS;
}

elattn_status ocl_get_program(ocl_device *dev, const char *source_id, const char *options, cl_program *program)
{
    elattn_status st = ELATTN_SUCCESS;
    pthread_mutex_lock(&dev->programs_lock);
    for (ocl_program_entry *e = dev->programs; e; e = e->next)
        if (strcmp(e->source_id, source_id) == 0 && strcmp(e->options, options) == 0) {
            *program = e->program;
            goto done;
        }
    {
        ocl_program_entry *e = calloc(1, sizeof *e);
        char *opts = malloc(strlen(options) + 1);
        if (!e || !opts) {
            free(e);
            free(opts);
            st = elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "opencl: host allocation failed (program cache)");
            goto done;
        }
        strcpy(opts, options);
        st = build_program(dev, source_id, options, &e->program);
        if (st != ELATTN_SUCCESS) {
            free(e);
            free(opts);
            goto done;
        }
        e->source_id = source_id;
        e->options = opts;
        e->next = dev->programs;
        dev->programs = e;
        *program = e->program;
    }
done:
    pthread_mutex_unlock(&dev->programs_lock);
    return st;
}

void ocl_release_programs(ocl_device *dev)
{
    ocl_program_entry *e = dev->programs;
    while (e) {
        ocl_program_entry *next = e->next;
        clReleaseProgram(e->program);
        free(e->options);
        free(e);
        e = next;
    }
    dev->programs = NULL;
}

/* ---- kernels and launches -------------------------------------------------------- */
elattn_status ocl_kernel_create(ocl_device *dev, cl_program program, const char *name, size_t wg, ocl_kernel *out)
{
    cl_int err;
    cl_kernel k = clCreateKernel(program, name, &err);
    if (err != CL_SUCCESS) return ocl_fail(err, "clCreateKernel", name);
    size_t allowed = 0;
    err = clGetKernelWorkGroupInfo(k, dev->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof allowed, &allowed, NULL);
    if (err != CL_SUCCESS) {
        clReleaseKernel(k);
        return ocl_fail(err, "clGetKernelWorkGroupInfo", name);
    }
    if (allowed < wg) {
        clReleaseKernel(k);
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "opencl: kernel %s needs work-group size %zu, the device allows %zu for it "
                           "(options.work_group_size)",
                           name, wg, allowed);
    }
    if (pthread_mutex_init(&out->lock, NULL) != 0) {
        clReleaseKernel(k);
        return elattn_fail(ELATTN_ERROR_INTERNAL, "opencl: pthread_mutex_init failed");
    }
    out->kernel = k;
    return ELATTN_SUCCESS;
}

void ocl_kernel_release(ocl_kernel *k)
{
    if (!k->kernel) return;
    clReleaseKernel(k->kernel);
    pthread_mutex_destroy(&k->lock);
    k->kernel = NULL;
}

elattn_status ocl_launch(ocl_kernel *k, cl_command_queue queue, const ocl_arg *args, int nargs, size_t groups,
                         size_t wg, const char *what)
{
    if (groups == 0) return ELATTN_SUCCESS;
    size_t global;
    if (!elattn_size_mul(groups, wg, &global))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc: %zu work-groups of %zu items do not fit in size_t (%s)",
                           groups, wg, what);
    elattn_status st = ELATTN_SUCCESS;
    cl_int err = CL_SUCCESS;
    const char *call = "clSetKernelArg";
    pthread_mutex_lock(&k->lock);
    for (int i = 0; i < nargs && err == CL_SUCCESS; ++i) err = clSetKernelArg(k->kernel, (cl_uint)i, args[i].size, args[i].value);
    if (err == CL_SUCCESS) {
        call = "clEnqueueNDRangeKernel";
        err = clEnqueueNDRangeKernel(queue, k->kernel, 1, NULL, &global, &wg, 0, NULL, NULL);
    }
    pthread_mutex_unlock(&k->lock);
    if (err != CL_SUCCESS) st = ocl_fail(err, call, what);
    return st;
}

static void CL_CALLBACK free_blob(cl_event ev, cl_int status, void *blob)
{
    (void)ev;
    (void)status;
    free(blob);
}

elattn_status ocl_upload_meta_at(cl_command_queue queue, cl_mem workspace, size_t offset, void *blob, size_t bytes)
{
    cl_event ev = NULL;
    cl_int err = clEnqueueWriteBuffer(queue, workspace, CL_FALSE, offset, bytes, blob, 0, NULL, &ev);
    if (err != CL_SUCCESS) {
        free(blob);
        return ocl_fail(err, "clEnqueueWriteBuffer", "workspace metadata");
    }
    err = clSetEventCallback(ev, CL_COMPLETE, free_blob, blob);
    if (err != CL_SUCCESS) {
        /* no callback: wait here instead, then free */
        cl_int werr = clWaitForEvents(1, &ev);
        clReleaseEvent(ev);
        free(blob);
        if (werr != CL_SUCCESS) return ocl_fail(werr, "clWaitForEvents", "workspace metadata");
        return ELATTN_SUCCESS;
    }
    clReleaseEvent(ev);
    return ELATTN_SUCCESS;
}

/* ---- the selection of an operation's family ------------------------------------------- */
typedef struct one_family {
    ocl_choose_fn choose;
    void *ctx;
} one_family;

static int probe_one(void *p, int index, char *variant, size_t variant_n, const char **why)
{
    const one_family *f = p;
    (void)index; /* one family per operation */
    if (f->choose(f->ctx, variant, variant_n) == ELATTN_SUCCESS) return 1;
    *why = elattn_last_error(); /* the selection copies it before it sets a message of its own */
    return 0;
}

elattn_status ocl_select(const ocl_device *dev, const char *family, const char *forced, int head_dim, elattn_dtype dtype,
                         ocl_choose_fn choose, void *ctx, char *name, size_t name_n)
{
    one_family f = {choose, ctx};
    return elattn_family_select(&family, 1, forced, head_dim, dtype, ocl_device_label(dev), probe_one, &f, name,
                                name_n) < 0
               ? ELATTN_ERROR_UNSUPPORTED
               : ELATTN_SUCCESS;
}

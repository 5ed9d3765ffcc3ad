#!/usr/bin/env python3
"""Lab patch (not for main): backends/opencl/opencl_program.c's build_program appends
$ELATTN_LAB_CL_OPTS to every program's build options and, with $ELATTN_LAB_CL_LOG set, prints each
successful build's log to stderr (NVIDIA's -cl-nv-verbose puts ptxas's register and spill counts
there). Run in the root of a copy of the tree."""
p = 'backends/opencl/opencl_program.c'
s = open(p).read()
old = '    err = clBuildProgram(program, 1, &dev->device, options, NULL, NULL);\n'
new = '''    char lab_opts[1024];
    snprintf(lab_opts, sizeof lab_opts, "%s %s", options, getenv("ELATTN_LAB_CL_OPTS") ? getenv("ELATTN_LAB_CL_OPTS") : "");
    options = lab_opts;
    err = clBuildProgram(program, 1, &dev->device, options, NULL, NULL);
    if (err == CL_SUCCESS && getenv("ELATTN_LAB_CL_LOG")) {
        size_t full = 0;
        char *log = NULL;
        if (clGetProgramBuildInfo(program, dev->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &full) == CL_SUCCESS &&
            (log = malloc(full + 1)) &&
            clGetProgramBuildInfo(program, dev->device, CL_PROGRAM_BUILD_LOG, full, log, NULL) == CL_SUCCESS) {
            log[full] = '\\0';
            fprintf(stderr, "lab build log of '%s' [%s]:\\n%s\\n", source_id, options, log);
        }
        free(log);
    }
'''
assert s.count(old) == 1
s = s.replace(old, new)
open(p, 'w').write(s)

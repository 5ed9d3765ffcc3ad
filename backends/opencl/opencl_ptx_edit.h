/*
 * The sm_90a edit of an OpenCL program's PTX (kernels/opencl/wgmma_warpgroup.cl says why):
 * on its own, without OpenCL or the library, so that a test can run it anywhere.
 */
#ifndef ELATTN_OPENCL_PTX_EDIT_H
#define ELATTN_OPENCL_PTX_EDIT_H
#include <stddef.h>

/* Programs built with -DELATTN_PTX_SM90A=1 carry sm_90a instructions behind OCL_SM90A_MARKER
 * comments in the PTX that NVIDIA's compiler returns. The edit removes every marker, turns the one
 * `.target sm_90` into `.target sm_90a` and raises a `.version` below 8.0 to 8.0 (wgmma's PTX ISA).
 * Returns the edited text (malloc'd, NUL-terminated; ptx is read up to n bytes or its NUL, and
 * must be NUL-terminated) and the markers removed, or NULL when host memory ran out or ptx has no `.target sm_90`
 * line or more than one (not the driver's PTX for a compute capability 9.0 device). */
#define OCL_SM90A_MARKER "// SM90A "
char *ocl_ptx_sm90a_edit(const char *ptx, size_t n, int *markers);

#endif

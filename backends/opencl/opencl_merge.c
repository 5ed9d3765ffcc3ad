/* elattn_merge_states on OpenCL: one work-item per output value (kernels/opencl/merge.cl). */
#include <stdio.h>

#include "opencl_internal.h"

#define MERGE_WG 64

elattn_status ocl_merge_run(void *dv, void *stream, const elattn_merge_call *c)
{
    ocl_device *dev = dv;
    char opts[128];
    cl_program program = NULL;
    ocl_kernel k;
    ocl_format_options(opts, sizeof opts, (int)c->dtype, MERGE_WG, NULL);
    /* the program is cached per dtype; the kernel object is made per call (a merge is rare and small) */
    elattn_status st = ocl_get_program(dev, "merge", opts, &program);
    if (st == ELATTN_SUCCESS) st = ocl_kernel_create(dev, program, "elattn_merge_states", MERGE_WG, &k);
    if (st != ELATTN_SUCCESS) return st;
    /* sizes checked by the core: tokens * heads * head_dim elements fit in size_t */
    const cl_ulong total = (cl_ulong)c->num_tokens * (cl_ulong)c->num_heads * (cl_ulong)c->head_dim;
    cl_mem o1 = (cl_mem)c->o1, lse1 = (cl_mem)c->lse1, o2 = (cl_mem)c->o2, lse2 = (cl_mem)c->lse2, o = c->o;
    cl_mem lse = c->lse ? (cl_mem)c->lse : lse1; /* not written when write_lse is 0 */
    const int write_lse = c->lse != NULL, head_dim = c->head_dim;
    const ocl_arg args[] = {OCL_ARG(o1),        OCL_ARG(lse1),     OCL_ARG(o2),    OCL_ARG(lse2), OCL_ARG(o),
                            OCL_ARG(lse),       OCL_ARG(write_lse), OCL_ARG(head_dim), OCL_ARG(total)};
    st = ocl_launch(&k, ocl_queue(dev, stream), args, (int)(sizeof args / sizeof args[0]),
                    (size_t)((total + MERGE_WG - 1) / MERGE_WG), MERGE_WG, "elattn_merge_states");
    ocl_kernel_release(&k); /* the queue keeps what it enqueued */
    return st;
}

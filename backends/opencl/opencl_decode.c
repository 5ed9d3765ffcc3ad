/* Decode over the per-head KV cache on OpenCL (kernels/opencl/decode.cl): partials per split-KV
 * chunk, then the LSE merge. Correctness first: the per-call metadata and the fp32 partials live in
 * buffers made for the call (the plan has no workspace yet); the queue keeps them alive until the
 * kernels that use them have run. */
#include <stdlib.h>
#include <string.h>

#include "opencl_internal.h"

#define DECODE_WG 64

static elattn_status make_buffer(ocl_device *dev, cl_mem_flags flags, size_t bytes, void *host, cl_mem *out)
{
    cl_int err;
    *out = clCreateBuffer(dev->context, flags, bytes, host, &err);
    return err == CL_SUCCESS ? ELATTN_SUCCESS : ocl_fail(err, "clCreateBuffer", "decode");
}

/* The scalar family (the only one): its work-groups must fit the device. */
static elattn_status scalar_decode_choose(void *ctx, char *variant, size_t variant_n)
{
    const ocl_caps *caps = ctx;
    (void)variant, (void)variant_n; /* no variant */
    if ((size_t)DECODE_WG > caps->max_wg)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "needs work-groups of %d items, the device takes %zu", DECODE_WG,
                           caps->max_wg);
    return ELATTN_SUCCESS;
}

elattn_status ocl_decode_plan(void *dv, const elattn_decode_setup *setup, const char *forced, void **impl, char *name,
                              size_t name_n)
{
    ocl_device *dev = dv;
    *impl = NULL; /* no plan state: each run makes its buffers */
    return ocl_select(dev, OCL_DECODE_FAMILY, forced, setup->head_dim, setup->dtype, scalar_decode_choose, &dev->caps,
                      name, name_n);
}

/* Launches one kernel of the decode program with `args`, over `items` work-items. */
static elattn_status launch_decode_kernel(ocl_device *dev, cl_program program, void *stream, const char *name,
                                          const ocl_arg *args, int nargs, size_t items)
{
    ocl_kernel k;
    elattn_status st = ocl_kernel_create(dev, program, name, DECODE_WG, &k);
    if (st != ELATTN_SUCCESS) return st;
    st = ocl_launch(&k, ocl_queue(dev, stream), args, nargs, (items + DECODE_WG - 1) / DECODE_WG, DECODE_WG, name);
    ocl_kernel_release(&k);
    return st;
}

/* Quest page selection (SPEC.md section 9b): the BLOCK_SPARSE heads' kept pages, in order, into
 * *pages [num_seqs][Hkv][pages_per_head] and the lengths of the FULL heads they make into *lens
 * [num_seqs][Hkv] (entries of other heads are not written). */
static elattn_status quest_select(ocl_device *dev, cl_program program, void *stream, const elattn_decode_call *c,
                                  cl_mem meta, cl_mem *pages, cl_mem *lens)
{
    const size_t heads = (size_t)c->num_seqs * c->num_kv_heads, items = heads * c->pages_per_head;
    cl_mem keys = NULL;
    elattn_status st = make_buffer(dev, CL_MEM_READ_WRITE, sizeof(cl_uint) * items, NULL, &keys);
    if (st == ELATTN_SUCCESS) st = make_buffer(dev, CL_MEM_READ_WRITE, sizeof(cl_int) * items, NULL, pages);
    if (st == ELATTN_SUCCESS) st = make_buffer(dev, CL_MEM_READ_WRITE, sizeof(cl_int) * heads, NULL, lens);
    cl_mem q = (cl_mem)c->q, sums = (cl_mem)c->page_summaries, table = (cl_mem)c->page_table;
    if (st == ELATTN_SUCCESS) {
        const ocl_arg args[] = {OCL_ARG(q), OCL_ARG(sums), OCL_ARG(table), OCL_ARG(meta), OCL_ARG(keys),
                                OCL_ARG(c->num_seqs), OCL_ARG(c->num_q_heads), OCL_ARG(c->num_kv_heads),
                                OCL_ARG(c->head_dim), OCL_ARG(c->page_shift), OCL_ARG(c->pages_per_head)};
        st = launch_decode_kernel(dev, program, stream, "elattn_quest_score", args, (int)(sizeof args / sizeof args[0]),
                                  items);
    }
    if (st == ELATTN_SUCCESS) { /* one work-group per (sequence, head) */
        const ocl_arg args[] = {OCL_ARG(keys), OCL_ARG(table), OCL_ARG(meta), OCL_ARG(*pages), OCL_ARG(*lens),
                                OCL_ARG(c->num_seqs), OCL_ARG(c->num_kv_heads), OCL_ARG(c->page_shift),
                                OCL_ARG(c->pages_per_head), OCL_ARG(c->page_budget)};
        st = launch_decode_kernel(dev, program, stream, "elattn_quest_select", args,
                                  (int)(sizeof args / sizeof args[0]), heads * DECODE_WG);
    }
    if (keys) clReleaseMemObject(keys);
    return st; /* the caller releases *pages and *lens, made or not */
}

/* The decode program for a storage dtype (built once per device and options, then cached). */
static elattn_status decode_program(ocl_device *dev, elattn_dtype dtype, cl_program *program)
{
    char opts[128];
    ocl_format_options(opts, sizeof opts, (int)dtype, DECODE_WG, NULL);
    return ocl_get_program(dev, "decode", opts, program);
}

elattn_status ocl_kv_summarize(void *dv, void *stream, const elattn_kv_summary_call *c)
{
    ocl_device *dev = dv;
    cl_program program = NULL;
    elattn_status st = decode_program(dev, c->dtype, &program);
    if (st != ELATTN_SUCCESS) return st;
    cl_mem kpool = (cl_mem)c->k_pool, sums = (cl_mem)c->summaries, list = (cl_mem)c->list;
    const ocl_arg args[] = {OCL_ARG(kpool), OCL_ARG(sums), OCL_ARG(list), OCL_ARG(c->count), OCL_ARG(c->head_dim),
                            OCL_ARG(c->page_shift)};
    return launch_decode_kernel(dev, program, stream, "elattn_kv_summarize", args, (int)(sizeof args / sizeof args[0]),
                                (size_t)c->count * c->head_dim);
}

elattn_status ocl_decode_run(void *dv, const void *impl, void *stream, const elattn_decode_call *c)
{
    (void)impl; /* no plan state (ocl_decode_plan) */
    ocl_device *dev = dv;
    cl_program program = NULL;
    elattn_status st = decode_program(dev, c->dtype, &program);
    if (st != ELATTN_SUCCESS) return st;
    ocl_kernel kp, km;
    st = ocl_kernel_create(dev, program, "elattn_decode_partial", DECODE_WG, &kp);
    if (st != ELATTN_SUCCESS) return st;
    st = ocl_kernel_create(dev, program, "elattn_decode_merge", DECODE_WG, &km);
    if (st != ELATTN_SUCCESS) {
        ocl_kernel_release(&kp);
        return st;
    }
    const int ns = c->num_seqs, H = c->num_kv_heads;
    const size_t meta_n = (size_t)ns + 1 + ns + ns + 2 * (size_t)ns * H;
    int32_t *meta = malloc(sizeof(int32_t) * meta_n);
    cl_mem meta_mem = NULL, part_o = NULL, part_lse = NULL, quest_pages = NULL, quest_len = NULL;
    int page_budget = 0; /* Quest runs only when a head of the step is BLOCK_SPARSE */
    for (size_t e = 0; c->page_budget && e < (size_t)ns * H; ++e)
        if (c->modes[e] == ELATTN_BLOCK_SPARSE) page_budget = c->page_budget;
    const size_t items = (size_t)c->total_new * c->num_q_heads * c->splits;
    if (!meta) st = elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "decode: host allocation failed");
    if (st == ELATTN_SUCCESS) {
        memcpy(meta, c->cu_new, sizeof(int32_t) * (ns + 1));
        memcpy(meta + ns + 1, c->lengths, sizeof(int32_t) * ns);
        memcpy(meta + 2 * ns + 1, c->seq_ids, sizeof(int32_t) * ns);
        memcpy(meta + 3 * ns + 1, c->modes, sizeof(int32_t) * (size_t)ns * H);
        memcpy(meta + 3 * ns + 1 + (size_t)ns * H, c->chunks, sizeof(int32_t) * (size_t)ns * H);
        st = make_buffer(dev, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof(int32_t) * meta_n, meta, &meta_mem);
    }
    if (st == ELATTN_SUCCESS)
        st = make_buffer(dev, CL_MEM_READ_WRITE, sizeof(float) * items * c->head_dim, NULL, &part_o);
    if (st == ELATTN_SUCCESS) st = make_buffer(dev, CL_MEM_READ_WRITE, sizeof(float) * items, NULL, &part_lse);
    if (st == ELATTN_SUCCESS && page_budget)
        st = quest_select(dev, program, stream, c, meta_mem, &quest_pages, &quest_len);
    if (st == ELATTN_SUCCESS) {
        cl_mem q = (cl_mem)c->q, kpool = (cl_mem)c->k_pool, vpool = (cl_mem)c->v_pool, table = (cl_mem)c->page_table;
        const float scale_log2 = c->scale * ELATTN_LOG2E;
        /* Without Quest the kernel never reads these two: any buffer will do. */
        cl_mem qp = page_budget ? quest_pages : meta_mem, ql = page_budget ? quest_len : meta_mem;
        const ocl_arg args[] = {OCL_ARG(q), OCL_ARG(kpool), OCL_ARG(vpool), OCL_ARG(table), OCL_ARG(meta_mem),
                                OCL_ARG(part_o), OCL_ARG(part_lse), OCL_ARG(c->num_seqs), OCL_ARG(c->num_q_heads),
                                OCL_ARG(c->num_kv_heads), OCL_ARG(c->head_dim), OCL_ARG(scale_log2), OCL_ARG(c->sink),
                                OCL_ARG(c->local), OCL_ARG(c->ring), OCL_ARG(c->page_shift),
                                OCL_ARG(c->pages_per_head), OCL_ARG(c->splits), OCL_ARG(c->total_new), OCL_ARG(qp),
                                OCL_ARG(ql), OCL_ARG(page_budget)};
        st = ocl_launch(&kp, ocl_queue(dev, stream), args, (int)(sizeof args / sizeof args[0]),
                        (items + DECODE_WG - 1) / DECODE_WG, DECODE_WG, "elattn_decode_partial");
    }
    if (st == ELATTN_SUCCESS) {
        cl_mem o = (cl_mem)c->o, lse = c->lse ? (cl_mem)c->lse : part_lse; /* not written without write_lse */
        const int write_lse = c->lse != NULL;
        const cl_ulong total = (cl_ulong)c->total_new * c->num_q_heads * c->head_dim;
        const ocl_arg args[] = {OCL_ARG(part_o), OCL_ARG(part_lse), OCL_ARG(o), OCL_ARG(lse), OCL_ARG(write_lse),
                                OCL_ARG(c->head_dim), OCL_ARG(c->splits), OCL_ARG(total)};
        st = ocl_launch(&km, ocl_queue(dev, stream), args, (int)(sizeof args / sizeof args[0]),
                        (size_t)((total + DECODE_WG - 1) / DECODE_WG), DECODE_WG, "elattn_decode_merge");
    }
    /* The queue holds its own references to what it enqueued. */
    if (meta_mem) clReleaseMemObject(meta_mem);
    if (part_o) clReleaseMemObject(part_o);
    if (part_lse) clReleaseMemObject(part_lse);
    if (quest_pages) clReleaseMemObject(quest_pages);
    if (quest_len) clReleaseMemObject(quest_len);
    free(meta);
    ocl_kernel_release(&kp);
    ocl_kernel_release(&km);
    return st;
}

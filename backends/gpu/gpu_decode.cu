/*
 * Decode over the per-head KV cache on the GPU backends: the family table (kernels/gpu/
 * decode.cuh, decode_mma.cuh), plans and runs. The plan, its family chosen, allocates, once, a
 * device workspace sized for its largest run: the run's metadata (lengths, modes, chunk counts,
 * partial-row bases, the work list) at its front, then the fp32 split-KV partials and their
 * arrival counters (zeroed here once; the merging block of each run sets its counter back to
 * 0); and pinned staging for the metadata (pinned_staging). A run fills a staging slot, copies
 * it with one asynchronous copy and launches the chunk kernel (a cut head's last chunk merges
 * it): no allocation, no host wait on the device.
 */
#include "gpu_internal.h"

namespace ELATTN_GPU_NS {

/* The decode families, in the order they are tried: the CUDA build's tensor-core chunk kernel
 * (decode_mma.cuh), then the portable one (decode.cuh), which takes every dtype and head dim
 * where its shared memory fits. A family fixes the chunk kernel decode_launch runs and the
 * query rows of a work item; the end of an item (the merge) is the same for both. */
struct decode_choice {
    bool mma;      /* decode_inputs.mma */
    int item_rows; /* DECODE_MMA_ROWS or DECODE_ROWS */
    kernel_variant variant;
};

struct decode_family {
    const char *name;
    bool (*supported)(const elattn_decode_setup *setup, const gpu_caps &caps, decode_choice *choice, const char **why);
};

#if defined(ELATTN_GPU_CUDA)
static bool mma_decode_supported(const elattn_decode_setup *setup, const gpu_caps &caps, decode_choice *choice,
                                 const char **why)
{
    const size_t smem = decode_mma_smem_bytes((int)setup->dtype, setup->head_dim);
    if (caps.sm_version < 80) *why = "needs sm_80 or newer";
    else if (smem == 0) *why = "fp16 and bf16 only";
    else if (smem > caps.smem_per_block) *why = "the device has too little shared memory per block";
    else {
        choice->mma = true;
        choice->item_rows = DECODE_MMA_ROWS;
        return true;
    }
    return false;
}
#endif

static bool split_decode_supported(const elattn_decode_setup *setup, const gpu_caps &caps, decode_choice *choice,
                                   const char **why)
{
    const size_t smem = decode_smem_bytes((int)setup->dtype, setup->head_dim);
    if (smem == 0) *why = "no kernel for this dtype and head dim in this build";
    else if (smem > caps.smem_per_block) *why = "the device has too little shared memory per block";
    else {
        choice->item_rows = DECODE_ROWS;
        return true;
    }
    return false;
}

static const decode_family decode_families[] = {
#if defined(ELATTN_GPU_CUDA)
    {ELATTN_GPU_BACKEND_NAME ".decode.mma", mma_decode_supported},
#endif
    {ELATTN_GPU_BACKEND_NAME ".decode.split", split_decode_supported},
};

int gpu_decode_families(const char **names, int max) { return family_names(decode_families, names, max); }

struct decode_plan {
    int num_kv_heads, group, max_batch;
    bool mma;      /* the tensor-core chunk kernel (else the portable one) */
    int item_rows; /* query rows per work item: DECODE_MMA_ROWS or DECODE_ROWS */
    size_t max_items, max_part_rows;
    size_t off_cu, off_len, off_seq, off_modes, off_chunks, off_base, off_items, meta_bytes;
    size_t off_part_o, off_part_lse, off_arrivals;
    char *ws;               /* device workspace */
    pinned_staging staging; /* host side of the metadata */
};

static void free_plan(decode_plan *p)
{
    p->staging.destroy();
    if (p->ws) (void)cudaFree(p->ws); /* waits for the work that used it */
    free(p);
}

elattn_status gpu_decode_plan(void *dev, const elattn_decode_setup *setup, const char *forced, void **impl, char *name,
                              size_t name_n)
{
    const device &d = *static_cast<device *>(dev);
    USE(dev);
    decode_choice choice;
    if (select_family(decode_families, setup, d.caps, forced, setup->head_dim, setup->dtype, &choice, name, name_n) < 0)
        return ELATTN_ERROR_UNSUPPORTED;
    decode_plan *p = create<decode_plan>();
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    p->num_kv_heads = setup->num_kv_heads;
    p->group = setup->num_q_heads / setup->num_kv_heads;
    p->max_batch = setup->max_batch;
    p->mma = choice.mma;
    p->item_rows = choice.item_rows;
    /* Every chunk of a head runs ceil(n * group / item_rows) items; a cut head's chunk keeps
     * n * group partial rows. */
    const size_t rows = (size_t)setup->max_new_tokens * (size_t)p->group;
    const size_t heads = (size_t)setup->max_batch * (size_t)setup->num_kv_heads;
    ws_layout ws;
    bool ok = elattn_size_mul(setup->max_chunks, (rows + p->item_rows - 1) / p->item_rows, &p->max_items) &&
              elattn_size_mul(setup->max_split_chunks, rows, &p->max_part_rows);
    p->off_cu = ws.place((size_t)setup->max_batch + 1, 1, sizeof(int32_t));
    p->off_len = ws.place((size_t)setup->max_batch, 1, sizeof(int32_t));
    p->off_seq = ws.place((size_t)setup->max_batch, 1, sizeof(int32_t));
    p->off_modes = ws.place(heads, 1, sizeof(int32_t));
    p->off_chunks = ws.place(heads, 1, sizeof(int32_t));
    p->off_base = ws.place(heads, 1, sizeof(int32_t));
    p->off_items = ws.place(p->max_items, 1, sizeof(decode_item));
    p->meta_bytes = ws.end;
    p->off_part_o = ws.place(p->max_part_rows, (size_t)setup->head_dim, sizeof(float));
    p->off_part_lse = ws.place(p->max_part_rows, 1, sizeof(float));
    p->off_arrivals = ws.place(p->max_part_rows, 1, sizeof(int));
    /* partial rows are indexed by int32 (part_base) */
    if (!ok || !ws.ok || p->max_part_rows > (size_t)INT32_MAX) {
        free(p);
        return layout_overflow("decode");
    }
    void *mem = nullptr;
    cudaError_t e = cudaMalloc(&mem, ws.end);
    if (e != cudaSuccess) {
        free(p);
        return runtime_failure(e, "Malloc (decode workspace)");
    }
    p->ws = static_cast<char *>(mem);
    /* synchronously: the runs may come on any stream */
    e = cudaMemsetAsync(p->ws + p->off_arrivals, 0, p->max_part_rows * sizeof(int), 0);
    if (e == cudaSuccess) e = cudaStreamSynchronize(0);
    if (e != cudaSuccess) {
        free_plan(p);
        return runtime_failure(e, "Memset (decode arrival counters)");
    }
    elattn_status st = p->staging.create(p->meta_bytes);
    if (st != ELATTN_SUCCESS) {
        free_plan(p);
        return st;
    }
    *impl = p;
    return ELATTN_SUCCESS;
}

void gpu_decode_plan_destroy(void *dev, void *impl)
{
    if (use_device(dev) == ELATTN_SUCCESS) free_plan(static_cast<decode_plan *>(impl));
}

elattn_status gpu_decode_run(void *dev, const void *impl, void *stream, const elattn_decode_call *call)
{
    /* The plan's staging turns over with each run: runs of one plan are serialised by the
     * caller, as the cache they read is. */
    decode_plan &p = *static_cast<decode_plan *>(const_cast<void *>(impl));
    elattn_status st;
    if ((st = check_aligned("args.q", call->q)) || (st = check_aligned("args.o", call->o))) return st;
    USE(dev);
    const cudaStream_t s = as_stream(stream);
    const int ns = call->num_seqs, H = call->num_kv_heads, G = call->group;
    char *meta;
    if ((st = p.staging.acquire(&meta))) return st;
    memcpy(meta + p.off_cu, call->cu_new, sizeof(int32_t) * (ns + 1));
    memcpy(meta + p.off_len, call->lengths, sizeof(int32_t) * ns);
    memcpy(meta + p.off_seq, call->seq_ids, sizeof(int32_t) * ns);
    memcpy(meta + p.off_modes, call->modes, sizeof(int32_t) * (size_t)ns * H);
    memcpy(meta + p.off_chunks, call->chunks, sizeof(int32_t) * (size_t)ns * H);
    int32_t *base = reinterpret_cast<int32_t *>(meta + p.off_base);
    decode_item *items = reinterpret_cast<decode_item *>(meta + p.off_items);
    /* The work list: the chunks of cut heads first (the largest pieces of work, all about one
     * chunk long), then the heads kept whole, so that the longest items start first. */
    size_t n_items = 0, part_rows = 0;
    for (int pass = 0; pass < 2; ++pass)
        for (int i = 0; i < ns; ++i) {
            const int rows = (call->cu_new[i + 1] - call->cu_new[i]) * G;
            for (int hk = 0; hk < H; ++hk) {
                const int e = i * H + hk, chunks = call->chunks[e];
                if ((chunks > 1) != (pass == 0)) continue;
                base[e] = chunks > 1 ? (int32_t)part_rows : -1;
                if (chunks > 1) part_rows += (size_t)chunks * rows;
                for (int c = 0; c < chunks; ++c)
                    for (int r0 = 0; r0 < rows; r0 += p.item_rows) {
                        if (n_items < p.max_items) items[n_items] = decode_item{i, hk, c, r0};
                        ++n_items;
                    }
            }
        }
    if (n_items > p.max_items || part_rows > p.max_part_rows || n_items > (size_t)INT32_MAX)
        return elattn_fail(ELATTN_ERROR_INTERNAL, "decode: the run needs %zu work items and %zu partial rows, the plan "
                                                  "holds %zu and %zu (the split policy's bound is broken)",
                           n_items, part_rows, p.max_items, p.max_part_rows);
    if ((st = p.staging.upload(p.ws, p.off_items + sizeof(decode_item) * n_items, s))) return st;

    decode_inputs in;
    memset(&in, 0, sizeof in);
    in.dtype = (int)call->dtype;
    in.head_dim = call->head_dim;
    in.num_q_heads = call->num_q_heads;
    in.num_kv_heads = H;
    in.group = G;
    in.scale_log2 = call->scale * ELATTN_LOG2E;
    in.sink = call->sink;
    in.local = call->local;
    in.ring = call->ring;
    in.page_shift = call->page_shift;
    in.pages_per_head = call->pages_per_head;
    in.num_seqs = ns;
    in.total_new = call->total_new;
    in.cu_new = reinterpret_cast<const int32_t *>(p.ws + p.off_cu);
    in.lengths = reinterpret_cast<const int32_t *>(p.ws + p.off_len);
    in.seq_ids = reinterpret_cast<const int32_t *>(p.ws + p.off_seq);
    in.modes = reinterpret_cast<const int32_t *>(p.ws + p.off_modes);
    in.chunks = reinterpret_cast<const int32_t *>(p.ws + p.off_chunks);
    in.part_base = reinterpret_cast<const int32_t *>(p.ws + p.off_base);
    in.items = reinterpret_cast<const decode_item *>(p.ws + p.off_items);
    in.num_items = (int)n_items;
    in.mma = p.mma;
    in.page_table = static_cast<const int32_t *>(call->page_table);
    in.q = call->q;
    in.k_pool = call->k_pool;
    in.v_pool = call->v_pool;
    in.o = call->o;
    in.lse = static_cast<float *>(call->lse);
    in.part_o = reinterpret_cast<float *>(p.ws + p.off_part_o);
    in.part_lse = reinterpret_cast<float *>(p.ws + p.off_part_lse);
    in.arrivals = reinterpret_cast<int *>(p.ws + p.off_arrivals);
    const cudaError_t e = decode_launch(in, s);
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (decode)");
    return ELATTN_SUCCESS;
}

} /* namespace ELATTN_GPU_NS */

/*
 * Decode over the per-head KV cache on the GPU backends: the family table (kernels/gpu/
 * decode.cuh, decode_mma.cuh), plans and runs. The plan, its family chosen, allocates, once, a
 * device workspace sized for its largest run: room for the run's metadata (lengths, modes, chunk
 * counts, partial-row bases, the work list; decode_meta_layout) at its front, then the fp32
 * split-KV partials and their arrival counters (zeroed here once; the merging block of each run
 * sets its counter back to 0); and pinned staging for the metadata (pinned_staging). A run lays
 * its metadata out compactly; when it fits in ELATTN_DECODE_INLINE_BYTES it goes into the
 * kernel's parameters, else into a staging slot and one asynchronous copy to the workspace. Then
 * the chunk kernel (a cut head's last chunk merges it): no allocation, no host wait on the device.
 * With a page budget (Quest, SPEC.md section 9b) the workspace also holds the candidates' keys and
 * the compacted page lists, and decode_quest_launch runs before the chunk kernel.
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

/* Quest's score launch has two forms with the same bits (decode_quest.cuh): eight threads a page
 * while the run scores few pages (one thread a page would leave most of the GPU idle: 4 heads x
 * 2047 pages at 32K x 1 fa-xa:0.5), one thread a page when it scores many (eight would pay lane
 * joins and eight times the query loads: 128 heads x 2047 at 32K x 16 fa-xa:1). The switch is at
 * QUEST_LANES_MAX_PAGES_PER_SM pages per multiprocessor, from the forms timed side by side on an
 * H100 (bench/results/2026-12-05-nvidia-h100, call 100: the eight-thread form faster up to 32 K
 * pages, the one-thread form from 66 K). ELATTN_DECODE_QUEST_SCORE=thread or lanes
 * (read when a plan is made) forces one, so that the conformance suite runs both on small cases. */
enum quest_score_form { QUEST_SCORE_BY_SIZE, QUEST_SCORE_THREAD, QUEST_SCORE_LANES };
constexpr size_t QUEST_LANES_MAX_PAGES_PER_SM = 256;

static elattn_status quest_score_forced(quest_score_form *form)
{
    const char *e = getenv("ELATTN_DECODE_QUEST_SCORE");
    *form = QUEST_SCORE_BY_SIZE;
    if (!e || !*e) return ELATTN_SUCCESS;
    if (strcmp(e, "thread") == 0) *form = QUEST_SCORE_THREAD;
    else if (strcmp(e, "lanes") == 0) *form = QUEST_SCORE_LANES;
    else
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "environment ELATTN_DECODE_QUEST_SCORE: \"%s\" is neither \"thread\" nor \"lanes\"", e);
    return ELATTN_SUCCESS;
}

/* Whether the run's score takes the eight-thread form; pages_scored: the BLOCK_SPARSE heads' pages. */
static bool quest_score_lanes(quest_score_form form, size_t pages_scored, int sm_count)
{
    if (form != QUEST_SCORE_BY_SIZE) return form == QUEST_SCORE_LANES;
    return pages_scored <= QUEST_LANES_MAX_PAGES_PER_SM * (size_t)(sm_count > 0 ? sm_count : 1);
}

struct decode_plan {
    int num_kv_heads, group, max_batch;
    bool mma;            /* the tensor-core chunk kernel (else the portable one) */
    bool inline_allowed; /* false: ELATTN_DECODE_UPLOAD_METADATA=1 (every run copies its metadata) */
    int item_rows;       /* query rows per work item: DECODE_MMA_ROWS or DECODE_ROWS */
    size_t max_items, max_part_rows;
    size_t meta_bytes;   /* the largest run's metadata: the workspace's front, a staging slot */
    size_t off_part_o, off_part_lse, off_arrivals;
    int page_budget;     /* Quest (SPEC.md section 9b): 0 off; else the workspace holds its keys and pages */
    quest_score_form quest_score; /* ELATTN_DECODE_QUEST_SCORE: the score's form, or chosen per run */
    size_t off_quest_keys, off_quest_pages, off_quest_len;
    char *ws;               /* device workspace */
    pinned_staging staging; /* host side of the metadata */
};

/* The metadata of a run of ns sequences, `heads` (sequence, KV head) pairs and `items` work
 * items, laid out compactly (launch.h, decode_meta_offsets; 16-byte pieces, as a decode_item
 * is); false when it does not fit in int32 offsets. One layout for the kernel's parameters and
 * the workspace, and for the plan's bound (its largest run). */
static bool decode_meta_layout(size_t ns, size_t heads, size_t items, decode_meta_offsets *off, size_t *bytes)
{
    size_t end = 0;
    bool ok = true;
    auto place = [&](size_t count, size_t size) {
        size_t n = 0, start = (end + 15) / 16 * 16;
        ok = ok && elattn_size_mul(count, size, &n) && elattn_size_add(start, n, &end) && end <= (size_t)INT32_MAX;
        return ok ? (int32_t)start : 0;
    };
    off->cu_new = place(ns + 1, sizeof(int32_t));
    off->lengths = place(ns, sizeof(int32_t));
    off->seq_ids = place(ns, sizeof(int32_t));
    off->modes = place(heads, sizeof(int32_t));
    off->chunks = place(heads, sizeof(int32_t));
    off->part_base = place(heads, sizeof(int32_t));
    off->items = place(items, sizeof(decode_item));
    *bytes = end;
    return ok;
}

/* ELATTN_DECODE_UPLOAD_METADATA=1: runs copy their metadata to the workspace even when it would
 * fit in the kernel's parameters, so that the conformance suite can run the small cases through
 * that path too (the large ones always take it). Read when a plan is made. */
static bool upload_forced()
{
    const char *e = getenv("ELATTN_DECODE_UPLOAD_METADATA");
    return e && strcmp(e, "1") == 0;
}

static void free_plan(decode_plan *p)
{
    p->staging.destroy();
    if (p->ws) (void)cudaFree(p->ws); /* waits for the work that used it */
    free(p);
}

elattn_status gpu_decode_plan(void *dev, elattn_decode_setup *setup, const char *forced, void **impl, char *name,
                              size_t name_n)
{
    const device &d = *static_cast<device *>(dev);
    USE(dev);
    decode_choice choice;
    quest_score_form quest_score;
    elattn_status st = quest_score_forced(&quest_score);
    if (st) return st;
    if (select_family(decode_families, setup, d.caps, forced, setup->head_dim, setup->dtype, &choice, name, name_n) < 0)
        return ELATTN_ERROR_UNSUPPORTED;
    decode_plan *p = create<decode_plan>();
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    p->num_kv_heads = setup->num_kv_heads;
    p->group = setup->num_q_heads / setup->num_kv_heads;
    p->max_batch = setup->max_batch;
    p->mma = choice.mma;
    /* the bandwidth model describes the tensor-core family's work list and residency (fitted on it) */
    if (choice.mma) {
        setup->model = ELATTN_DECODE_MODEL_BANDWIDTH;
        setup->peak_gbps = d.caps.mem_gbps; /* its saturating items */
    }
    p->inline_allowed = ELATTN_DECODE_INLINE_BYTES > 0 && !upload_forced();
    p->item_rows = choice.item_rows;
    /* Every chunk of a head runs ceil(n * group / item_rows) items; a cut head's chunk keeps
     * n * group partial rows. */
    const size_t rows = (size_t)setup->max_new_tokens * (size_t)p->group;
    const size_t heads = (size_t)setup->max_batch * (size_t)setup->num_kv_heads;
    ws_layout ws;
    bool ok = elattn_size_mul(setup->max_chunks, (rows + p->item_rows - 1) / p->item_rows, &p->max_items) &&
              elattn_size_mul(setup->max_split_chunks, rows, &p->max_part_rows);
    decode_meta_offsets most;
    ok = ok && decode_meta_layout((size_t)setup->max_batch, heads, p->max_items, &most, &p->meta_bytes);
    (void)ws.place(p->meta_bytes, 1, 1); /* at offset 0 */
    p->off_part_o = ws.place(p->max_part_rows, (size_t)setup->head_dim, sizeof(float));
    p->off_part_lse = ws.place(p->max_part_rows, 1, sizeof(float));
    p->off_arrivals = ws.place(p->max_part_rows, 1, sizeof(int));
    p->page_budget = setup->page_budget;
    p->quest_score = quest_score;
    if (p->page_budget) { /* per (sequence, head): the candidates' keys, the kept pages; then the lengths */
        p->off_quest_keys = ws.place(heads, (size_t)setup->pages_per_head, sizeof(uint32_t));
        p->off_quest_pages = ws.place(heads, (size_t)setup->pages_per_head, sizeof(int32_t));
        p->off_quest_len = ws.place(heads, 1, sizeof(int32_t));
    }
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
    st = p->staging.create(p->meta_bytes);
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

/* A run's shape: its work list's length (every chunk of a head runs ceil(rows / item_rows)
 * items), its largest chunk count (the core's call->splits) and where its metadata's pieces go;
 * INTERNAL when the plan cannot hold it (the split policy bounds every run). */
struct decode_shape {
    size_t n_items, most_chunks, meta_bytes;
    decode_meta_offsets off;
};

static elattn_status decode_measure(const decode_plan &p, const elattn_decode_call *call, decode_shape *sh)
{
    const int ns = call->num_seqs, H = call->num_kv_heads, G = call->group;
    size_t n_items = 0, part_rows = 0;
    for (int i = 0; i < ns; ++i) {
        const size_t rows = (size_t)(call->cu_new[i + 1] - call->cu_new[i]) * G;
        for (int hk = 0; hk < H; ++hk) {
            const size_t chunks = (size_t)call->chunks[i * H + hk];
            n_items += chunks * ((rows + p.item_rows - 1) / p.item_rows);
            if (chunks > 1) part_rows += chunks * rows;
        }
    }
    if (n_items > p.max_items || part_rows > p.max_part_rows || n_items > (size_t)INT32_MAX)
        return elattn_fail(ELATTN_ERROR_INTERNAL, "decode: the run needs %zu work items and %zu partial rows, the plan "
                                                  "holds %zu and %zu (the split policy's bound is broken)",
                           n_items, part_rows, p.max_items, p.max_part_rows);
    sh->n_items = n_items;
    sh->most_chunks = (size_t)call->splits;
    (void)decode_meta_layout((size_t)ns, (size_t)ns * H, n_items, &sh->off, &sh->meta_bytes); /* within the plan's bound */
    return ELATTN_SUCCESS;
}

/* The run's metadata at `meta`, in sh's layout; returns how many items the merge launch covers.
 * The work list: the chunks of cut heads first (the largest pieces of work, all about one chunk
 * long), then the heads kept whole, so that the longest items start first. Chunk 0 of every cut
 * head leads (pass 0), so that the merge launch's grid covers exactly those row tiles
 * (in.num_merge_items) and no block of it starts only to leave. */
static size_t decode_write_meta(const decode_plan &p, const elattn_decode_call *call, const decode_shape &sh, char *meta)
{
    const int ns = call->num_seqs, H = call->num_kv_heads, G = call->group;
    const size_t heads = (size_t)ns * H;
    memcpy(meta + sh.off.cu_new, call->cu_new, sizeof(int32_t) * (ns + 1));
    memcpy(meta + sh.off.lengths, call->lengths, sizeof(int32_t) * ns);
    memcpy(meta + sh.off.seq_ids, call->seq_ids, sizeof(int32_t) * ns);
    memcpy(meta + sh.off.modes, call->modes, sizeof(int32_t) * heads);
    memcpy(meta + sh.off.chunks, call->chunks, sizeof(int32_t) * heads);
    int32_t *base = reinterpret_cast<int32_t *>(meta + sh.off.part_base);
    decode_item *items = reinterpret_cast<decode_item *>(meta + sh.off.items);
    size_t item = 0, part_row = 0, merge_items = 0;
    for (int pass = 0; pass < 3; ++pass) {
        for (int i = 0; i < ns; ++i) {
            const int rows = (call->cu_new[i + 1] - call->cu_new[i]) * G;
            for (int hk = 0; hk < H; ++hk) {
                const int e = i * H + hk, chunks = call->chunks[e];
                if ((chunks > 1) != (pass < 2)) continue;
                if (pass == 0) base[e] = (int32_t)part_row, part_row += (size_t)chunks * rows;
                if (pass == 2) base[e] = -1;
                const int c_begin = pass == 1 ? 1 : 0, c_end = pass == 0 ? 1 : chunks;
                for (int c = c_begin; c < c_end; ++c)
                    for (int r0 = 0; r0 < rows; r0 += p.item_rows) items[item++] = decode_item{i, hk, c, r0};
            }
        }
        if (pass == 0) merge_items = item;
    }
    return merge_items;
}

/* A decode batch (elattn_decode_batch_create): the metadata of its runs, uploaded once. Its runs
 * read the lengths from the cache's device copy (decode_length), so a captured launch stays right
 * as the sequences grow. */
struct decode_batch {
    char *meta; /* device */
    decode_shape shape;
    size_t merge_items;
};

elattn_status gpu_decode_batch_create(void *dev, const void *impl, const elattn_decode_call *call, void **out)
{
    const decode_plan &p = *static_cast<const decode_plan *>(impl);
    USE(dev);
    decode_shape sh;
    elattn_status st = decode_measure(p, call, &sh);
    if (st) return st;
    decode_batch *b = create<decode_batch>();
    char *host = static_cast<char *>(calloc(1, sh.meta_bytes));
    if (!b || !host) {
        free(b), free(host);
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "batch: host allocation failed");
    }
    b->shape = sh;
    b->merge_items = decode_write_meta(p, call, sh, host);
    void *mem = nullptr;
    cudaError_t e = cudaMalloc(&mem, sh.meta_bytes);
    if (e == cudaSuccess) e = cudaMemcpyAsync(mem, host, sh.meta_bytes, cudaMemcpyHostToDevice, 0);
    if (e == cudaSuccess) e = cudaStreamSynchronize(0); /* synchronous: the runs may come on any stream */
    free(host);
    if (e != cudaSuccess) {
        if (mem) (void)cudaFree(mem);
        free(b);
        return runtime_failure(e, "Malloc/Memcpy (decode batch)");
    }
    b->meta = static_cast<char *>(mem);
    *out = b;
    return ELATTN_SUCCESS;
}

void gpu_decode_batch_destroy(void *dev, void *batch)
{
    if (use_device(dev) != ELATTN_SUCCESS) return;
    decode_batch *b = static_cast<decode_batch *>(batch);
    (void)cudaFree(b->meta); /* waits for the runs that read it */
    free(b);
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
    decode_inputs in;
    memset(&in, 0, sizeof in);
    decode_shape sh;
    size_t merge_items;
    if (call->batch) { /* metadata on the device since the batch was made; lengths read there at run time */
        const decode_batch &b = *static_cast<const decode_batch *>(call->batch);
        sh = b.shape;
        merge_items = b.merge_items;
        in.meta = b.meta;
        in.seq_lengths = static_cast<const int32_t *>(call->lengths_dev);
    } else {
        if ((st = decode_measure(p, call, &sh))) return st;
        const bool inline_meta = p.inline_allowed && sh.meta_bytes <= (size_t)ELATTN_DECODE_INLINE_BYTES;
        char *meta = nullptr;
#if ELATTN_DECODE_INLINE_BYTES > 0
        if (inline_meta) meta = in.inline_meta;
#endif
        if (!inline_meta && (st = p.staging.acquire(&meta))) return st;
        merge_items = decode_write_meta(p, call, sh, meta);
        if (inline_meta) {
            in.meta = nullptr;
        } else {
            if ((st = p.staging.upload(p.ws, sh.meta_bytes, s))) return st;
            in.meta = p.ws;
        }
    }
    in.meta_off = sh.off;
    in.dtype = (int)call->dtype;
    in.head_dim = call->head_dim;
    in.num_q_heads = call->num_q_heads;
    in.num_kv_heads = call->num_kv_heads;
    in.group = call->group;
    in.scale_log2 = call->scale * ELATTN_LOG2E;
    in.sink = call->sink;
    in.local = call->local;
    in.ring = call->ring;
    in.page_shift = call->page_shift;
    in.pages_per_head = call->pages_per_head;
    in.num_seqs = call->num_seqs;
    in.total_new = call->total_new;
    in.num_items = (int)sh.n_items;
    in.num_merge_items = (int)merge_items;
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
#if defined(ELATTN_GPU_CUDA)
    if (sh.most_chunks > DECODE_MERGE_IN_BLOCK_MAX) /* programmatic dependent launch from sm_90 */
        in.merge_launch = static_cast<device *>(dev)->caps.sm_version >= 90 ? 2 : 1;
    in.merge_wide = sh.most_chunks > DECODE_MERGE_WIDE_ABOVE; /* 16 chunks a round of the merge's loads */
#endif
    /* Quest's selection runs when a head of the run is BLOCK_SPARSE; the pages it scores size its launch */
    size_t quest_pages_scored = 0;
    bool other_heads = false; /* FULL or STREAMING heads, whose blocks can run while the pages are selected */
    for (int e = 0; p.page_budget && e < call->num_seqs * call->num_kv_heads; ++e) {
        if (call->modes[e] == ELATTN_BLOCK_SPARSE)
            quest_pages_scored += ((size_t)call->lengths[e / call->num_kv_heads] >> call->page_shift) + 1;
        else
            other_heads = true;
    }
    if (quest_pages_scored) {
        int32_t *pages = reinterpret_cast<int32_t *>(p.ws + p.off_quest_pages);
        int32_t *lens = reinterpret_cast<int32_t *>(p.ws + p.off_quest_len);
#if defined(ELATTN_GPU_CUDA)
        /* Programmatic dependent launches when other heads' blocks can use them (H100, call 100: 128K x 1
         * fa-xa:0.5 161 -> 137 us); with every head BLOCK_SPARSE the early chunk blocks only wait, and
         * the step was slower (128K x 1 fa-xa:1 94 -> 115 us). */
        in.quest_overlap = other_heads && static_cast<device *>(dev)->caps.sm_version >= 90;
#else
        (void)other_heads;
#endif
        const bool lanes = quest_score_lanes(p.quest_score, quest_pages_scored, static_cast<device *>(dev)->caps.sm_count);
        const cudaError_t e = decode_quest_launch(in, call->num_seqs * call->num_kv_heads, lanes,
                                                  static_cast<const float *>(call->page_summaries),
                                                  reinterpret_cast<uint32_t *>(p.ws + p.off_quest_keys), p.page_budget,
                                                  pages, lens, s);
        if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (decode page selection)");
        in.quest_pages = pages, in.quest_len = lens;
    }
    const cudaError_t e = decode_launch(in, s);
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (decode)");
    return ELATTN_SUCCESS;
}

elattn_status gpu_kv_summarize(void *dev, void *stream, const elattn_kv_summary_call *call)
{
    USE(dev);
    const cudaError_t e = kv_summarize_launch((int)call->dtype, call->head_dim, call->page_shift, call->k_pool,
                                              static_cast<float *>(call->summaries),
                                              static_cast<const int32_t *>(call->list), call->count, as_stream(stream));
    return e == cudaSuccess ? ELATTN_SUCCESS : runtime_failure(e, "LaunchKernel (page summaries)");
}

} /* namespace ELATTN_GPU_NS */

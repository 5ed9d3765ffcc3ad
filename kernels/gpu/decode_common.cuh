/*
 * What the decode chunk kernels share (kernels/gpu/decode.cuh, the portable one; decode_mma.cuh,
 * the CUDA build's tensor-core one): the padded head dim an instance runs, and the end of a work
 * item: the partial softmax states of its PARTS key subsets combined and the rows stored (O and
 * LSE, or the chunk's fp32 partial, which the head's last chunk to finish merges). Needs
 * storage<> (common.cuh) and launch.h.
 */
#ifndef ELATTN_GPU_DECODE_COMMON_CUH
#define ELATTN_GPU_DECODE_COMMON_CUH

namespace ELATTN_GPU_NS {

/* Head dim -> the instance it runs in (a smaller D leaves zero-filled columns). */
static inline int decode_dmax(int head_dim) { return smallest_at_least<64, 128, 256>(head_dim); }

/* The run's metadata where it lies: in the kernel's parameters (inline_meta, read in place: the
 * kernels take decode_inputs as ELATTN_GRID_CONSTANT) or in the plan's workspace (meta). */
static __device__ __forceinline__ decode_meta_view decode_meta(const decode_inputs &in)
{
#if ELATTN_DECODE_INLINE_BYTES > 0
    const char *base = in.meta ? in.meta : in.inline_meta;
#else
    const char *base = in.meta;
#endif
    decode_meta_view v;
    v.cu_new = reinterpret_cast<const int32_t *>(base + in.meta_off.cu_new);
    v.lengths = reinterpret_cast<const int32_t *>(base + in.meta_off.lengths);
    v.seq_ids = reinterpret_cast<const int32_t *>(base + in.meta_off.seq_ids);
    v.modes = reinterpret_cast<const int32_t *>(base + in.meta_off.modes);
    v.chunks = reinterpret_cast<const int32_t *>(base + in.meta_off.chunks);
    v.part_base = reinterpret_cast<const int32_t *>(base + in.meta_off.part_base);
    v.items = reinterpret_cast<const decode_item *>(base + in.meta_off.items);
    return v;
}

/* Cached length of run sequence i: a batch's run reads the cache's device copy at run time
 * (in.seq_lengths, by sequence id), any other run the length its metadata carries. */
static __device__ __forceinline__ int decode_length(const decode_inputs &in, const decode_meta_view &M, int i)
{
    return in.seq_lengths ? in.seq_lengths[M.seq_ids[i]] : M.lengths[i];
}

/* Programmatic dependent launch (sm_90+ CUDA builds; elsewhere nothing). A kernel's blocks let
 * the launch that follows start early: a chunk kernel's merge launch (whose blocks wait for their
 * row tile's arrival count, decode_merge_kernel), so that the merge pays neither a launch nor the
 * chunk grid's drain after the last chunk; Quest's score and select launches the chunk kernel
 * (in.quest_overlap), so that the FULL and STREAMING heads' blocks run while the pages are
 * selected and only a BLOCK_SPARSE head's blocks wait (decode_head). */
static __device__ __forceinline__ void decode_pdl_launch_dependents()
{
#if defined(ELATTN_GPU_CUDA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
/* Until the kernels this one was launched early after have ended, their writes visible (at once
 * for a plain launch). */
static __device__ __forceinline__ void decode_pdl_wait()
{
#if defined(ELATTN_GPU_CUDA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
/* Host: kernel(args...) on the stream, as a programmatic dependent launch of the stream's previous
 * kernel when `early` (CUDA builds; the caller asks for it on sm_90+ only), else a plain launch. */
template <typename... P, typename... A>
static cudaError_t decode_launch_after(bool early, dim3 grid, int threads, size_t smem, cudaStream_t stream,
                                       void (*kernel)(P...), A &&...args)
{
#if defined(ELATTN_GPU_CUDA)
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = dim3((unsigned)threads);
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = early ? 1 : 0;
    return cudaLaunchKernelEx(&cfg, kernel, static_cast<A &&>(args)...);
#else
    (void)early;
    ELATTN_LAUNCH(grid, threads, smem, stream, kernel)(static_cast<A &&>(args)...);
    return cudaGetLastError();
#endif
}

/* What a work item of (run sequence i, KV head hk) reads: its page-table row, length and mode; for a
 * BLOCK_SPARSE head under Quest (in.quest_pages, SPEC.md section 9b) the pages decode_quest_select_kernel
 * kept, compacted, read as a FULL head of their length. */
struct decode_head_view {
    const int32_t *pages;
    int len, mode;
};

static __device__ __forceinline__ decode_head_view decode_head(const decode_inputs &in, const decode_meta_view &M, int i,
                                                               int hk)
{
    const int e = i * in.num_kv_heads + hk;
    decode_head_view h;
    h.mode = M.modes[e];
    if (in.quest_pages && h.mode == ELATTN_MODE_BLOCK_SPARSE) {
        decode_pdl_wait(); /* the select's pages (in.quest_overlap) */
        h.pages = in.quest_pages + (size_t)e * in.pages_per_head;
        h.len = in.quest_len[e];
        h.mode = ELATTN_MODE_FULL;
    } else {
        h.pages = in.page_table + ((elattn_i64)M.seq_ids[i] * in.num_kv_heads + hk) * in.pages_per_head;
        h.len = decode_length(in, M, i);
    }
    return h;
}

/* Shared memory the states take: acc [PARTS][R][DMAX] floats, then m and l [PARTS][R]. */
template <int R, int PARTS, int DMAX>
struct decode_states {
    static constexpr int BYTES = PARTS * R * (DMAX + 2) * 4;
    static __device__ __forceinline__ float *acc(void *smem) { return static_cast<float *>(smem); }
    static __device__ __forceinline__ float *m(void *smem) { return acc(smem) + PARTS * R * DMAX; }
    static __device__ __forceinline__ float *l(void *smem) { return m(smem) + PARTS * R; }
};

/* Query rows of a work item starting at row row0 of its (sequence, head)'s n * G, in tiles of
 * tile_rows (the kernel's DECODE_ROWS or DECODE_MMA_ROWS). */
static __device__ __forceinline__ int decode_item_rows(int n, int G, int row0, int tile_rows)
{
    return n * G - row0 < tile_rows ? n * G - row0 : tile_rows;
}

/* O's (and LSE's) row of (sequence, head) row rr: new token rr / G, query head head * G + rr % G. */
static __device__ __forceinline__ size_t decode_out_row(const decode_inputs &in, int row_base, int head, int rr)
{
    return (size_t)(row_base + rr / in.group) * in.num_q_heads + head * in.group + rr % in.group;
}

/* The end of an n-way merge (elattn_merge_scale's weights against the largest LSE m, summing to
 * sum, o their weighted sum of partial O): O's 4 columns from dq * 4 of row rr, and its LSE. */
template <int DT>
static __device__ __forceinline__ void decode_write_merged(const decode_inputs &in, int row_base, int head, int rr,
                                                           int dq, float4 o, float m, float sum)
{
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f; /* all chunks empty: O = 0 */
    o.x *= inv, o.y *= inv, o.z *= inv, o.w *= inv;
    const size_t orow = decode_out_row(in, row_base, head, rr);
    storage<DT>::store4(in.o, orow * in.head_dim + (size_t)dq * 4, o);
    if (in.lse && dq == 0) in.lse[orow] = elattn_merge_lse(m, sum);
}

/* A load through L2, past this SM's L1: for data other blocks of the launch wrote. AMD's L1 is
 * invalidated at each dispatch and no block reads a partial before it is written: a plain load. */
template <typename T>
static __device__ __forceinline__ T load_l2(const T *p)
{
#if defined(ELATTN_GPU_AMD)
    return *p;
#else
    return __ldcg(p);
#endif
}

/* The last chunk of a cut head to finish merges the head's partials (rows [row0, row0 + nrows)
 * of one row tile) into O and LSE, every chunk at once by the spec's n-way merge
 * (elattn_merge_scale / elattn_merge_lse): the LSEs first, then the weighted sum, so the loads
 * of different chunks do not wait on each other. Partials are read through L2 (they were
 * written by other blocks of this launch). */
template <int DT, int NT>
static __device__ __forceinline__ void decode_merge_rows(const decode_inputs &in, const decode_item &item, int part_base,
                                                         int row_base, int n, int nrows, int chunks)
{
    /* Chunks are read MERGE_BATCH at a time, each batch's loads issued before any is used: one
     * block merges a head of up to 256 chunks, and with a few loads in flight per thread its L2
     * round trips (chunks / batch of them, twice) were the launch's tail at batch 1. */
    constexpr int MERGE_BATCH = 16;
    const int G = in.group, D = in.head_dim, d4 = D / 4, part_rows = n * G;
    for (int x = (int)threadIdx.x; x < nrows * d4; x += NT) {
        const int r = x / d4, dq = x % d4, rr = item.row0 + r;
        const size_t first = (size_t)part_base + rr;
        float m = -INFINITY;
        for (int c0 = 0; c0 < chunks; c0 += MERGE_BATCH) {
            float l[MERGE_BATCH];
#pragma unroll
            for (int j = 0; j < MERGE_BATCH; ++j)
                l[j] = c0 + j < chunks ? load_l2(in.part_lse + first + (size_t)(c0 + j) * part_rows) : -INFINITY;
#pragma unroll
            for (int j = 0; j < MERGE_BATCH; ++j) m = fmaxf(m, l[j]);
        }
        float sum = 0.0f;
        float4 o = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        for (int c0 = 0; c0 < chunks; c0 += MERGE_BATCH) {
            float l[MERGE_BATCH];
            float4 p[MERGE_BATCH];
#pragma unroll
            for (int j = 0; j < MERGE_BATCH; ++j) {
                const size_t prow = first + (size_t)(c0 + j) * part_rows;
                const bool have = c0 + j < chunks;
                l[j] = have ? load_l2(in.part_lse + prow) : -INFINITY; /* weight 0 */
                p[j] = have ? load_l2(reinterpret_cast<const float4 *>(in.part_o + prow * D + (size_t)dq * 4))
                            : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            }
#pragma unroll
            for (int j = 0; j < MERGE_BATCH; ++j) {
                const float w = elattn_merge_scale(l[j], m);
                sum += w;
                o.x += w * p[j].x, o.y += w * p[j].y, o.z += w * p[j].z, o.w += w * p[j].w;
            }
        }
        decode_write_merged<DT>(in, row_base, item.head, rr, dq, o, m, sum);
    }
}

/* The item's rows from the states in shared memory (written, then a __syncthreads, by the caller;
 * m in log2 units): combined, then the epilogue rule, O = acc / l (0 when l = 0), LSE from
 * (m, l). A head cut into one chunk writes O (and LSE) itself. Otherwise the chunk's partial goes
 * to the plan's workspace and the block counts itself in the row tile's arrival counter
 * (in.arrivals, at the tile's first partial row of chunk 0); the last of the head's chunks to
 * arrive merges them all (decode_merge_rows) and sets the counter back to 0 for the next run,
 * so one launch does the whole step. Row r of the item is row item.row0 + r of the
 * (sequence, head); part_base is the head's (decode_meta_view). */
template <int DT, int DMAX, int R, int PARTS, int NT>
static __device__ __forceinline__ void decode_store_rows(void *smem, const decode_inputs &in, const decode_item &item,
                                                         int part_base, int row_base, int n, int nrows, int chunks)
{
    using S = decode_states<R, PARTS, DMAX>;
    const float *cacc = S::acc(smem), *cm = S::m(smem), *cl = S::l(smem);
    const int G = in.group, D = in.head_dim, hk = item.head, d4 = D / 4;
    const int part_rows = n * G; /* rows of one chunk of this head in the partials */
    for (int x = (int)threadIdx.x; x < nrows * d4; x += NT) {
        const int r = x / d4, dq = x % d4;
        float mx = -INFINITY;
#pragma unroll
        for (int g = 0; g < PARTS; ++g) mx = fmaxf(mx, cm[g * R + r]);
        const float base = elattn_softmax_base(mx);
        float sum = 0.0f;
        float4 o = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
        for (int g = 0; g < PARTS; ++g) {
            const float w = exp2f(cm[g * R + r] - base);
            const float4 a = *reinterpret_cast<const float4 *>(cacc + (g * R + r) * DMAX + dq * 4);
            sum += w * cl[g * R + r];
            o.x += w * a.x, o.y += w * a.y, o.z += w * a.z, o.w += w * a.w;
        }
        const float inv = elattn_row_inv_sum(sum), lse = elattn_row_lse(mx, sum);
        o.x *= inv, o.y *= inv, o.z *= inv, o.w *= inv;
        const int rr = item.row0 + r;
        const size_t orow = decode_out_row(in, row_base, hk, rr);
        if (chunks == 1) {
            storage<DT>::store4(in.o, orow * D + (size_t)dq * 4, o);
            if (in.lse && dq == 0) in.lse[orow] = lse;
        } else {
            const size_t prow = (size_t)part_base + (size_t)item.chunk * part_rows + rr;
            *reinterpret_cast<float4 *>(in.part_o + prow * D + (size_t)dq * 4) = o;
            if (dq == 0) in.part_lse[prow] = lse;
        }
    }
    if (chunks == 1) return;
    __shared__ int last;
    __threadfence(); /* this block's partial is visible device-wide before it counts itself */
    __syncthreads();
    if (threadIdx.x == 0) {
        int *arrived = in.arrivals + part_base + item.row0;
        const int before = atomicAdd(arrived, 1);
        /* merge_launch: decode_merge_kernel's blocks wait for the count, merge and reset it */
        last = !in.merge_launch && before == chunks - 1;
        if (last) *arrived = 0; /* every chunk of this run has counted: ready for the next run */
    }
    __syncthreads();
    if (!last) return;
    __threadfence(); /* the other chunks' partials are read after their counts */
    decode_merge_rows<DT, NT>(in, item, part_base, row_base, n, nrows, chunks);
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_DECODE_COMMON_CUH */

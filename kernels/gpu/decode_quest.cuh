/*
 * Quest page selection for BLOCK_SPARSE heads in decode (kernels/SPEC.md section 9b), on the GPU
 * backends: the pages' key summaries (kv_summarize_kernel, run by the cache's appends) and, before
 * a run's chunk kernel, two launches over the run's (sequence, KV head) pairs:
 *   the score, in one of two forms that give the same bits (the run picks one from how many pages
 *     it scores: gpu_decode.cu, quest_score_lanes): decode_quest_score_thread_kernel, one thread
 *     per candidate page; decode_quest_score_lanes_kernel, eight threads per candidate page, one
 *     per lane of the spec's order of additions, joined by xor shuffles. A page's bounds are read
 *     once per QUEST_PAIRS query rows; the score is stored as an unsigned key whose order is the
 *     ranking's (quest_key);
 *   decode_quest_select_kernel: one block per (sequence, head): the budget's B-th key by a radix
 *     select (four passes of 8 bits over shared-memory histograms, each pass's digit found by a
 *     block scan over the histogram), then the pages kept, in page order (each thread a run of
 *     pages, two block-wide scans: the ties at the threshold go to the lower pages), written as
 *     the compacted page list the chunk kernels read as a FULL head of length elattn_quest_length
 *     (decode_head, decode_common.cuh).
 * The score shuffles within groups of 8 lanes and the select's scans over the whole warp (warpSize),
 * so the code is the same at wave sizes 32 and 64.
 * kernels/opencl/decode.cl's elattn_quest_select is the same algorithm, line for line but for its
 * start (a head that is not BLOCK_SPARSE runs its barriers idle there: a PoCL fault) and its scans
 * (shared memory only: PoCL has no subgroups), which PoCL and Intel's CPU runtime run in CI.
 * Needs storage<> (common.cuh), decode_common.cuh and launch.h.
 */
#ifndef ELATTN_GPU_DECODE_QUEST_CUH
#define ELATTN_GPU_DECODE_QUEST_CUH

namespace ELATTN_GPU_NS {

constexpr int QUEST_THREADS = 256;
constexpr int QUEST_PAIRS = 4; /* the score's (new token, query head) sums that share one read of a page's bounds */
constexpr int QUEST_PAGES_PER_BLOCK = QUEST_THREADS / ELATTN_QUEST_LANES; /* the lanes score: a page per 8 threads */
static_assert(ELATTN_QUEST_LANES == 8, "the lanes score joins its lanes by three xor shuffles");
constexpr int QUEST_BINS_PER_THREAD = 256 / QUEST_THREADS; /* the select's 256 radix digits over its threads */
static_assert(QUEST_BINS_PER_THREAD * QUEST_THREADS == 256, "the select's threads must divide its 256 digits");

/* Minimum and maximum of each dimension over a listed page's rows: one block per page, a thread per
 * dimension. list: [pages: count][rows: count]; summaries [num_pages][2][D]. */
template <int DT>
__global__ void __launch_bounds__(ELATTN_MAX_HEAD_DIM)
    kv_summarize_kernel(const void *k_pool, float *summaries, const int32_t *list, int count, int head_dim,
                        int page_shift)
{
    const int d = (int)threadIdx.x, page = list[blockIdx.x], rows = list[count + blockIdx.x];
    if (d >= head_dim) return;
    const size_t first = ((size_t)page << page_shift) * (size_t)head_dim + (size_t)d;
    float lo = storage<DT>::load1(k_pool, first), hi = lo;
    for (int r = 1; r < rows; ++r) {
        const float v = storage<DT>::load1(k_pool, first + (size_t)r * head_dim);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    summaries[(size_t)page * 2 * head_dim + d] = lo;
    summaries[((size_t)page * 2 + 1) * head_dim + d] = hi;
}

cudaError_t kv_summarize_launch(int dtype, int head_dim, int page_shift, const void *k_pool, float *summaries,
                                const int32_t *list, int count, cudaStream_t stream)
{
    return dispatch<ELATTN_DTYPE_F32, ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(dtype, [&](auto dt) {
        constexpr int DT = decltype(dt)::value;
        ELATTN_LAUNCH(count, ELATTN_MAX_HEAD_DIM, 0, stream, kv_summarize_kernel<DT>)(k_pool, summaries, list, count, head_dim,
                                                                         page_shift);
        return cudaGetLastError();
    });
}

/* A score as a key: unsigned order = elattn_quest_before's order of scores (higher key first);
 * NaN as -inf, -0 as +0 (equal scores must give equal keys, so that the page order breaks the tie). */
static __device__ __forceinline__ uint32_t quest_key(float s)
{
    if (s != s) s = -INFINITY;
    if (s == 0.0f) s = 0.0f;
    const uint32_t u = __float_as_uint(s);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* A BLOCK_SPARSE (sequence, KV head) of the run as the score and select kernels read it: cached
 * length len after the step's n new tokens; its candidate pages are 1 .. tail - 1 of `pages`; its
 * (new token r, query head g) pairs, r outer, g inner, number `pairs`, pair p's query at q_offset(p).
 * False for a head of another mode. */
struct quest_head {
    int row_base, len, n, tail, pairs;
    const int32_t *pages;
    __device__ __forceinline__ size_t q_offset(const decode_inputs &in, int hk, int p) const
    {
        const int r = p / in.group, g = p % in.group;
        return ((size_t)(row_base + r) * in.num_q_heads + (size_t)hk * in.group + g) * in.head_dim;
    }
};
static __device__ __forceinline__ bool quest_head_of(const decode_inputs &in, const decode_meta_view &M, int e,
                                                     quest_head *h)
{
    if (M.modes[e] != ELATTN_MODE_BLOCK_SPARSE) return false;
    const int i = e / in.num_kv_heads, hk = e % in.num_kv_heads;
    h->len = decode_length(in, M, i), h->n = M.cu_new[i + 1] - M.cu_new[i];
    h->row_base = M.cu_new[i];
    h->tail = (int)elattn_quest_tail(h->len, h->n, in.page_shift);
    h->pairs = h->n * in.group;
    h->pages = in.page_table + ((elattn_i64)M.seq_ids[i] * in.num_kv_heads + hk) * in.pages_per_head;
    return true;
}

/* The score, one thread per candidate page (the form for runs with many candidates: no lane
 * joins, a page's bounds read as float4). */
template <int DT>
__global__ void __launch_bounds__(QUEST_THREADS)
    decode_quest_score_thread_kernel(const ELATTN_GRID_CONSTANT decode_inputs in, const float *summaries,
                                     uint32_t *keys)
{
    static_assert(ELATTN_QUEST_LANES == 8, "a page's bounds are read eight dimensions (two float4) at a time");
    decode_pdl_launch_dependents(); /* the select may start (it waits for this launch: in.quest_overlap) */
    const decode_meta_view M = decode_meta(in);
    const int e = (int)blockIdx.x, hk = e % in.num_kv_heads, D = in.head_dim; /* heads on x: up to 2^31 */
    quest_head h;
    if (!quest_head_of(in, M, e, &h)) return;
    /* the candidates 1 .. tail - 1, a thread each (the grid's y is capped: a stride covers the rest) */
    for (int j = (int)(blockIdx.y * QUEST_THREADS + threadIdx.x); j < h.tail; j += (int)gridDim.y * QUEST_THREADS) {
        if (j < 1) continue;
        const float *lo = summaries + (size_t)h.pages[j] * 2 * D, *hi = lo + D; /* 32-byte aligned: D % 8 == 0 */
        float score = 0.0f;
        /* The spec's order: per pair, lane l adds the terms of d = l, l + 8, ... in turn; the joined
         * lanes are added pair by pair. QUEST_PAIRS pairs at a time share each read of the bounds (the
         * d loop outside the pairs changes no lane's order of additions). */
        for (int p0 = 0; p0 < h.pairs; p0 += QUEST_PAIRS) {
            size_t qoff[QUEST_PAIRS];
            float lane[QUEST_PAIRS][ELATTN_QUEST_LANES];
#pragma unroll
            for (int p = 0; p < QUEST_PAIRS; ++p) {
                qoff[p] = h.q_offset(in, hk, p0 + p < h.pairs ? p0 + p : p0);
#pragma unroll
                for (int l = 0; l < ELATTN_QUEST_LANES; ++l) lane[p][l] = 0.0f;
            }
            for (int d = 0; d < D; d += ELATTN_QUEST_LANES) {
                const float4 lo0 = *reinterpret_cast<const float4 *>(lo + d);
                const float4 lo1 = *reinterpret_cast<const float4 *>(lo + d + 4);
                const float4 hi0 = *reinterpret_cast<const float4 *>(hi + d);
                const float4 hi1 = *reinterpret_cast<const float4 *>(hi + d + 4);
                const float kmin[ELATTN_QUEST_LANES] = {lo0.x, lo0.y, lo0.z, lo0.w, lo1.x, lo1.y, lo1.z, lo1.w};
                const float kmax[ELATTN_QUEST_LANES] = {hi0.x, hi0.y, hi0.z, hi0.w, hi1.x, hi1.y, hi1.z, hi1.w};
#pragma unroll
                for (int p = 0; p < QUEST_PAIRS; ++p)
                    if (p0 + p < h.pairs)
#pragma unroll
                        for (int l = 0; l < ELATTN_QUEST_LANES; ++l)
                            lane[p][l] += elattn_quest_term(storage<DT>::load1(in.q, qoff[p] + d + l), kmin[l], kmax[l]);
            }
#pragma unroll
            for (int p = 0; p < QUEST_PAIRS; ++p)
                if (p0 + p < h.pairs) score += elattn_quest_join(lane[p]);
        }
        keys[(size_t)e * in.pages_per_head + j] = quest_key(score);
    }
}

/* The score, eight threads per candidate page, one per lane of the spec's order (the form for runs
 * with few candidates, which one thread a page would leave most of the GPU idle for). */
template <int DT>
__global__ void __launch_bounds__(QUEST_THREADS)
    decode_quest_score_lanes_kernel(const ELATTN_GRID_CONSTANT decode_inputs in, const float *summaries,
                                    uint32_t *keys)
{
    decode_pdl_launch_dependents(); /* the select may start (it waits for this launch: in.quest_overlap) */
    const decode_meta_view M = decode_meta(in);
    const int e = (int)blockIdx.x, hk = e % in.num_kv_heads, D = in.head_dim; /* heads on x: up to 2^31 */
    quest_head h;
    if (!quest_head_of(in, M, e, &h)) return;
    const int lane = (int)threadIdx.x % ELATTN_QUEST_LANES; /* the spec's lane: dimensions lane, lane + 8, ... */
    /* A page per ELATTN_QUEST_LANES threads; the block's pages advance together (the loop's trip count is the
     * same for the whole block, so every lane reaches the shuffles; a lane past the candidates computes on page 0
     * and stores nothing). */
    for (int base = (int)blockIdx.y * QUEST_PAGES_PER_BLOCK; base < h.tail; base += (int)gridDim.y * QUEST_PAGES_PER_BLOCK) {
        const int j = base + (int)threadIdx.x / ELATTN_QUEST_LANES;
        const bool candidate = j >= 1 && j < h.tail;
        const float *lo = summaries + (candidate ? (size_t)h.pages[j] * 2 * D : 0), *hi = lo + D;
        float score = 0.0f;
        /* The spec's order: per pair, lane l adds the terms of d = l, l + 8, ... in turn; the lanes are
         * joined as elattn_quest_join does (below); the joined sums are added pair by pair. QUEST_PAIRS
         * pairs at a time share each read of the bounds. */
        for (int p0 = 0; p0 < h.pairs; p0 += QUEST_PAIRS) {
            size_t qoff[QUEST_PAIRS];
            float sum[QUEST_PAIRS];
#pragma unroll
            for (int p = 0; p < QUEST_PAIRS; ++p) {
                qoff[p] = h.q_offset(in, hk, p0 + p < h.pairs ? p0 + p : p0);
                sum[p] = 0.0f;
            }
            for (int d = lane; d < D; d += ELATTN_QUEST_LANES) {
                const float kmin = lo[d], kmax = hi[d];
#pragma unroll
                for (int p = 0; p < QUEST_PAIRS; ++p)
                    if (p0 + p < h.pairs) sum[p] += elattn_quest_term(storage<DT>::load1(in.q, qoff[p] + d), kmin, kmax);
            }
#pragma unroll
            for (int p = 0; p < QUEST_PAIRS; ++p) {
                /* elattn_quest_join's tree ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)) by xor shuffles
                 * within the page's lanes: fp32 addition commutes exactly, so every lane ends with the same
                 * bits as the join. */
                float v = sum[p];
                v += __shfl_xor_sync(ELATTN_FULL_LANES, v, 1);
                v += __shfl_xor_sync(ELATTN_FULL_LANES, v, 2);
                v += __shfl_xor_sync(ELATTN_FULL_LANES, v, 4);
                if (p0 + p < h.pairs) score += v;
            }
        }
        if (candidate && lane == 0) keys[(size_t)e * in.pages_per_head + j] = quest_key(score);
    }
}

/* Exclusive prefix sum of v over the block (QUEST_THREADS); *total gets the sum. Every thread must
 * call it. Within a warp (or wavefront) a butterfly of xor shuffles: after the step of offset o each
 * lane holds the sum of its aligned run of 2o lanes (seg) and its inclusive prefix within that run;
 * then the warps' sums through shared memory: two barriers, where a shared-memory Hillis-Steele scan
 * took two per step. */
static __device__ __forceinline__ int quest_block_scan(int v, int *scratch, int *total)
{
    const int t = (int)threadIdx.x, lane = t % warpSize, warp = t / warpSize, warps = QUEST_THREADS / warpSize;
    int inclusive = v, seg = v;
    for (int o = 1; o < warpSize; o <<= 1) {
        const int other = __shfl_xor_sync(ELATTN_FULL_LANES, seg, o);
        if (lane & o) inclusive += other;
        seg += other;
    }
    if (lane == 0) scratch[warp] = seg;
    __syncthreads();
    int before = 0, sum = 0;
    for (int w = 0; w < warps; ++w) {
        const int s = scratch[w];
        before += w < warp ? s : 0;
        sum += s;
    }
    *total = sum;
    __syncthreads(); /* scratch is reused by the next call */
    return before + inclusive - v;
}

/* The select reads its keys from shared memory when they fit (QUEST_STAGED_MAX_BYTES, under the
 * 48 KB every GPU gives a block without an opt-in, beside the kernel's own 2 KB: up to 9929 pages a
 * head), else from global memory: every read of a key was an L2 round trip in a one-block-per-head
 * launch. Key j sits at word j + j / 32: one padding word per 32 keys, so that a thread's run of
 * pages (the walks below) falls on different banks from its neighbours'. */
constexpr size_t QUEST_STAGED_MAX_BYTES = 40 * 1024;
template <typename Index> /* int in the kernel, size_t when sizing the launch */
static __host__ __device__ __forceinline__ Index quest_staged_slot(Index j)
{
    return j + (j >> 5);
}
static inline size_t quest_staged_bytes(int pages_per_head)
{
    return (quest_staged_slot((size_t)pages_per_head) + 1) * sizeof(uint32_t);
}
template <bool STAGED>
static __device__ __forceinline__ uint32_t quest_key_at(const uint32_t *staged, const uint32_t *global, int j)
{
    return STAGED ? staged[quest_staged_slot(j)] : global[j];
}

template <bool STAGED>
__global__ void __launch_bounds__(QUEST_THREADS)
    decode_quest_select_kernel(const ELATTN_GRID_CONSTANT decode_inputs in, const uint32_t *keys, int budget,
                               int32_t *quest_pages, int32_t *quest_len)
{
    ELATTN_DYNAMIC_SHARED(uint32_t, quest_staged); /* STAGED: quest_staged_bytes(in.pages_per_head) */
    __shared__ int hist[256];
    __shared__ int scan[QUEST_THREADS]; /* the block scans use its first QUEST_THREADS / warpSize words */
    __shared__ uint32_t s_prefix;
    __shared__ int s_need;
    decode_pdl_launch_dependents(); /* the chunk kernel may start: its BLOCK_SPARSE heads wait (decode_head) */
    decode_pdl_wait();              /* the score's keys */
    const decode_meta_view M = decode_meta(in);
    const int e = (int)blockIdx.x, t = (int)threadIdx.x;
    quest_head h;
    if (!quest_head_of(in, M, e, &h)) return;
    const int len = h.len, n = h.n, tail = h.tail;
    const int end = (int)(((elattn_i64)len + (1 << in.page_shift) - 1) >> in.page_shift);
    const int candidates = tail > 1 ? tail - 1 : 0;
    const uint32_t *gkey = keys + (size_t)e * in.pages_per_head;
    if (STAGED && candidates > budget) { /* (with no more candidates than B no key is read) */
        for (int j = 1 + t; j < tail; j += QUEST_THREADS) quest_staged[quest_staged_slot(j)] = gkey[j];
        __syncthreads();
    }
    const auto key_at = [&](int j) { return quest_key_at<STAGED>(quest_staged, gkey, j); };

    /* The threshold T, the budget's B-th largest key, and how many candidates equal to T are kept
     * (need): every key above T is kept. With no more candidates than B, all are (T = 0, need all). */
    uint32_t prefix = 0, mask = 0;
    int need = budget;
    if (candidates > budget) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            for (int b = t; b < 256; b += QUEST_THREADS) hist[b] = 0;
            __syncthreads();
            /* Counted in runs of one digit: the first passes see few distinct digits (scores of one
             * magnitude), and one atomic per key would queue every thread on the same counter. */
            int run_digit = -1, run_count = 0;
            for (int j = 1 + t; j < tail; j += QUEST_THREADS) {
                const uint32_t k = key_at(j);
                if ((k & mask) != prefix) continue;
                const int digit = (int)((k >> shift) & 255u);
                if (digit != run_digit) {
                    if (run_count) atomicAdd(&hist[run_digit], run_count);
                    run_digit = digit, run_count = 0;
                }
                ++run_count;
            }
            if (run_count) atomicAdd(&hist[run_digit], run_count);
            __syncthreads();
            /* The digit where the B-th largest falls, from the top: each thread sums its run of
             * QUEST_BINS_PER_THREAD digits (thread 0 the highest), a scan gives the keys above its
             * run, and the one thread whose run holds the B-th walks it. */
            const int top = 255 - t * QUEST_BINS_PER_THREAD;
            int run = 0, above, unused;
            for (int b = 0; b < QUEST_BINS_PER_THREAD; ++b) run += hist[top - b];
            above = quest_block_scan(run, scan, &unused);
            if (above < need && need <= above + run) {
                int digit = top, left = need - above;
                while (left > hist[digit]) left -= hist[digit--];
                s_prefix = prefix | ((uint32_t)digit << shift);
                s_need = left;
            }
            __syncthreads();
            prefix = s_prefix, need = s_need;
            mask |= 255u << shift;
            __syncthreads(); /* hist and the broadcast are rewritten by the next pass */
        }
    }
    const bool all = candidates <= budget;

    /* The kept pages in page order: each thread walks a contiguous run of pages three times (its
     * candidates equal to T; then, knowing the ties before its run, which pages it keeps; then
     * their places), with two block scans in between. A candidate equal to T is kept while fewer
     * than `need` lower ones were. */
    const int32_t *pages = h.pages;
    int32_t *out = quest_pages + (size_t)e * in.pages_per_head;
    const int per = (end + QUEST_THREADS - 1) / QUEST_THREADS; /* pages [t * per, + per) of each thread */
    int ties = 0, unused;
    for (int q = 0, j = t * per; q < per; ++q, ++j) ties += j >= 1 && j < tail && !all && key_at(j) == prefix;
    const int tie_rank = quest_block_scan(ties, scan, &unused);
    int kept = 0;
    for (int q = 0, j = t * per, r = tie_rank; q < per; ++q, ++j) {
        const bool candidate = j >= 1 && j < tail && !all;
        const uint32_t k = candidate ? key_at(j) : 0u;
        kept += j < end && (!candidate || k > prefix || (k == prefix && r < need));
        r += candidate && k == prefix;
    }
    int at = quest_block_scan(kept, scan, &unused);
    for (int q = 0, j = t * per, r = tie_rank; q < per; ++q, ++j) { /* the third walk decides as the second did */
        const bool candidate = j >= 1 && j < tail && !all;
        const uint32_t k = candidate ? key_at(j) : 0u;
        if (j < end && (!candidate || k > prefix || (k == prefix && r < need))) out[at++] = pages[j];
        r += candidate && k == prefix;
    }
    if (t == 0) quest_len[e] = (int32_t)elattn_quest_length(len, n, in.page_shift, budget);
}

cudaError_t decode_quest_launch(const decode_inputs &in, int heads, bool score_lanes, const float *summaries,
                                uint32_t *keys, int budget, int32_t *quest_pages, int32_t *quest_len, cudaStream_t stream)
{
    return dispatch<ELATTN_DTYPE_F32, ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(in.dtype, [&](auto dt) {
        constexpr int DT = decltype(dt)::value;
        const int per_block = score_lanes ? QUEST_PAGES_PER_BLOCK : QUEST_THREADS;
        const int tiles = (in.pages_per_head + per_block - 1) / per_block;
        const dim3 grid((unsigned)heads, (unsigned)(tiles < 65535 ? tiles : 65535));
        if (score_lanes)
            ELATTN_LAUNCH(grid, QUEST_THREADS, 0, stream, decode_quest_score_lanes_kernel<DT>)(in, summaries, keys);
        else
            ELATTN_LAUNCH(grid, QUEST_THREADS, 0, stream, decode_quest_score_thread_kernel<DT>)(in, summaries, keys);
        cudaError_t err = cudaGetLastError();
        if (err != cudaSuccess) return err;
        const size_t staged = quest_staged_bytes(in.pages_per_head);
        if (staged <= QUEST_STAGED_MAX_BYTES)
            return decode_launch_after(in.quest_overlap, dim3((unsigned)heads), QUEST_THREADS, staged, stream,
                                       decode_quest_select_kernel<true>, in, keys, budget, quest_pages, quest_len);
        return decode_launch_after(in.quest_overlap, dim3((unsigned)heads), QUEST_THREADS, 0, stream,
                                   decode_quest_select_kernel<false>, in, keys, budget, quest_pages, quest_len);
    });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_DECODE_QUEST_CUH */

/*
 * Decode over the per-head KV cache (kernels/SPEC.md section 9), portable CUDA/HIP, built to
 * stream the cache at memory bandwidth.
 *
 * decode_chunk_kernel: one block of DECODE_THREADS per work item (sequence, KV head,
 * split-KV chunk, tile of up to DECODE_ROWS query rows of the group: (new token, query head)
 * pairs). The block walks its chunk's slots in tiles: each K/V row of the tile is brought into
 * shared memory once (cp.async on sm_80+, several tiles in flight) and used for every query row
 * of the tile, so the cache crosses HBM once per step. Lanes lie along D (LPR lanes x 16-byte
 * vectors per row), a group of LPR lanes takes KPG keys of each tile with its own online softmax
 * (fp32, log2 domain), and the groups' states are combined through shared memory at the end.
 * A head cut into one chunk writes O (and LSE) itself; otherwise the chunk's fp32 partial goes
 * to the plan's workspace and the head's last chunk to finish merges them all
 * (decode_store_rows, decode_common.cuh): one launch per step. In the CUDA build a run with a
 * head of more than DECODE_MERGE_IN_BLOCK_MAX chunks merges in a second launch instead
 * (decode_merge_kernel: many blocks per head rather than one).
 * The CUDA build runs fp16 / bf16 on sm_80+ through the tensor-core chunk kernel instead
 * (decode_mma.cuh, when the plan picks it: in.mma); the end of an item is the same.
 * Needs storage<> (common.cuh), dispatch (dispatch.cuh) and, in the CUDA build, ptx/sm80.cuh.
 */
#ifndef ELATTN_GPU_DECODE_CUH
#define ELATTN_GPU_DECODE_CUH

#include "decode_common.cuh"

namespace ELATTN_GPU_NS {

/* The block's shape for a storage dtype and a padded head dim DMAX (64, 128, 256). */
template <int DT, int DMAX>
struct decode_cfg {
    static constexpr int VEC = storage<DT>::per_vec;      /* elements per 16-byte vector */
    static constexpr int NVEC = DMAX / VEC;               /* vectors per K/V row */
    static constexpr int LPR = NVEC < 32 ? NVEC : 32;     /* lanes per row (a group) */
    static constexpr int CH = NVEC / LPR;                 /* vectors per lane */
    static constexpr int E = CH * VEC;                    /* elements per lane */
    static constexpr int NT = DECODE_THREADS;
    static constexpr int GROUPS = NT / LPR;
    static constexpr int KPG = 4;                         /* keys per group per tile */
    static constexpr int TILE = GROUPS * KPG;             /* keys per tile */
    static constexpr int ROW_BYTES = DMAX * storage<DT>::bytes;
    static constexpr int STAGE_BYTES = 2 * TILE * ROW_BYTES; /* K then V */
    /* Tiles in flight: what covers HBM latency on NVIDIA (3 blocks of 64 KB fit an H100/H200 SM);
     * AMD copies synchronously and has 64 KB of LDS per workgroup, so two stages. */
#if defined(ELATTN_GPU_CUDA)
    static constexpr int BUDGET = 64 * 1024;
#else
    static constexpr int BUDGET = 32 * 1024;
#endif
    static constexpr int STAGES = BUDGET / STAGE_BYTES > 2 ? BUDGET / STAGE_BYTES : 2;
    static constexpr int COMBINE_BYTES = decode_states<DECODE_ROWS, GROUPS, DMAX>::BYTES; /* at the end */
    static constexpr int SMEM = STAGES * STAGE_BYTES > COMBINE_BYTES ? STAGES * STAGE_BYTES : COMBINE_BYTES;
    static_assert(NT % LPR == 0 && NVEC % LPR == 0, "a group of lanes covers a row");
    static_assert((TILE * NVEC) % NT == 0, "a tile's vectors divide evenly over the block");
};

/* One tile of K and V rows [k0, k0 + TILE) of the chunk into a stage of shared memory. Rows at or
 * past `end` and vectors past D are zero-filled: the softmax gives such keys p = 0, and 0 x V must
 * stay 0. */
template <int DT, int DMAX>
static __device__ __forceinline__ void decode_load_tile(char *stage, const decode_inputs &in, const int32_t *pages,
                                                        elattn_i64 k0, elattn_i64 end)
{
    using C = decode_cfg<DT, DMAX>;
    const int nvec = in.head_dim / C::VEC;
#pragma unroll
    for (int it = 0; it < C::TILE * C::NVEC / C::NT; ++it) {
        const int idx = it * C::NT + (int)threadIdx.x;
        const int key = idx / C::NVEC, v = idx % C::NVEC;
        const elattn_i64 s = k0 + key;
        const bool valid = s < end && v < nvec;
        const size_t off = valid ? (size_t)elattn_kv_slot_offset(pages, in.page_shift, in.head_dim, s) + (size_t)v * C::VEC
                                 : 0;
        char *dk = stage + key * C::ROW_BYTES + v * 16;
        char *dv = dk + C::TILE * C::ROW_BYTES;
        const char *sk = static_cast<const char *>(in.k_pool) + off * storage<DT>::bytes;
        const char *sv = static_cast<const char *>(in.v_pool) + off * storage<DT>::bytes;
#if defined(ELATTN_GPU_CUDA) && (defined(ELATTN_GPU_EMULATED) || (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800))
        sm80::cp_async_16(sm80::smem_addr(dk), sk, valid); /* invalid: zero-filled, nothing read */
        sm80::cp_async_16(sm80::smem_addr(dv), sv, valid);
#else
        const uint4 zero = make_uint4(0u, 0u, 0u, 0u);
        *reinterpret_cast<uint4 *>(dk) = valid ? *reinterpret_cast<const uint4 *>(sk) : zero;
        *reinterpret_cast<uint4 *>(dv) = valid ? *reinterpret_cast<const uint4 *>(sv) : zero;
#endif
    }
}

static __device__ __forceinline__ void decode_commit()
{
#if defined(ELATTN_GPU_CUDA) && (defined(ELATTN_GPU_EMULATED) || (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800))
    sm80::cp_async_commit();
#endif
}

/* Wait until at most N committed tile copies of this thread are still in flight. */
template <int N>
static __device__ __forceinline__ void decode_wait()
{
#if defined(ELATTN_GPU_CUDA) && (defined(ELATTN_GPU_EMULATED) || (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800))
    sm80::cp_async_wait<N>();
#endif
}

template <int DT, int DMAX>
__global__ void __launch_bounds__(DECODE_THREADS) decode_chunk_kernel(const ELATTN_GRID_CONSTANT decode_inputs in)
{
    using C = decode_cfg<DT, DMAX>;
    constexpr int R = DECODE_ROWS;
    ELATTN_DYNAMIC_SHARED(uint4, decode_smem_raw);
    char *smem = reinterpret_cast<char *>(decode_smem_raw);
    decode_pdl_launch_dependents();

    const decode_meta_view M = decode_meta(in);
    const decode_item item = M.items[blockIdx.x];
    const int i = item.seq, hk = item.head, c = item.chunk;
    const int Hkv = in.num_kv_heads, G = in.group, D = in.head_dim;
    const decode_head_view head = decode_head(in, M, i, hk);
    const int len = head.len, mode = head.mode, row_base = M.cu_new[i], n = M.cu_new[i + 1] - row_base;
    const int chunks = M.chunks[i * Hkv + hk], part_base = M.part_base[i * Hkv + hk];
    const int32_t *pages = head.pages;
    elattn_i64 s0, s1;
    elattn_decode_split(elattn_kv_slots(mode, in.sink, in.ring, len), chunks, c, &s0, &s1);
    const int nrows = decode_item_rows(n, G, item.row0, R);
    const elattn_decode_seen seen_by_all = elattn_decode_seen_of(mode, in.sink, in.ring, in.local, len, n);

    const int lane = (int)threadIdx.x % C::LPR, group = (int)threadIdx.x / C::LPR;
    /* This block's query rows: row0 + r is (new token (row0 + r) / G, query head hk * G + (row0 + r) % G). */
    float q[R][C::E];
    elattn_i64 pos[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const int rr = item.row0 + (r < nrows ? r : 0);
        const int tok = rr / G, h = hk * G + rr % G;
        pos[r] = (elattn_i64)len - n + tok;
        const size_t qoff = ((size_t)(row_base + tok) * in.num_q_heads + h) * D;
#pragma unroll
        for (int ch = 0; ch < C::CH; ++ch) {
            const int v = lane + ch * C::LPR;
            if (v * C::VEC < D) {
                storage<DT>::unpack(load_vec<DT>(in.q, qoff + (size_t)v * C::VEC), &q[r][ch * C::VEC]);
            } else {
#pragma unroll
                for (int e = 0; e < C::VEC; ++e) q[r][ch * C::VEC + e] = 0.0f;
            }
#pragma unroll
            for (int e = 0; e < C::VEC; ++e) q[r][ch * C::VEC + e] *= in.scale_log2; /* scores in log2 units */
        }
    }

    float acc[R][C::E], m[R], l[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        m[r] = -INFINITY, l[r] = 0.0f;
#pragma unroll
        for (int e = 0; e < C::E; ++e) acc[r][e] = 0.0f;
    }

    const int tiles = (int)((s1 - s0 + C::TILE - 1) / C::TILE);
#pragma unroll
    for (int t = 0; t < C::STAGES - 1; ++t) {
        if (t < tiles) decode_load_tile<DT, DMAX>(smem + t * C::STAGE_BYTES, in, pages, s0 + (elattn_i64)t * C::TILE, s1);
        decode_commit(); /* an empty group keeps the wait count uniform */
    }
    for (int t = 0; t < tiles; ++t) {
        decode_wait<C::STAGES - 2>();
        __syncthreads(); /* tile t is in; every group is done with tile t - 1, whose stage is refilled next */
        const int next = t + C::STAGES - 1;
        if (next < tiles)
            decode_load_tile<DT, DMAX>(smem + (next % C::STAGES) * C::STAGE_BYTES, in, pages,
                                       s0 + (elattn_i64)next * C::TILE, s1);
        decode_commit();

        const char *ks = smem + (t % C::STAGES) * C::STAGE_BYTES, *vs = ks + C::TILE * C::ROW_BYTES;
        const elattn_i64 k0 = s0 + (elattn_i64)t * C::TILE + group * C::KPG;
        /* The group's keys that every new query sees skip the per-pair test (a division per slot on
         * a STREAMING ring). */
        const bool all_seen = k0 + C::KPG <= s1 && elattn_decode_all_visible(&seen_by_all, (int)k0, (int)k0 + C::KPG);
        float sc[C::KPG][R];
#pragma unroll
        for (int j = 0; j < C::KPG; ++j) {
            float k[C::E];
#pragma unroll
            for (int ch = 0; ch < C::CH; ++ch)
                storage<DT>::unpack(*reinterpret_cast<const uint4 *>(ks + (group * C::KPG + j) * C::ROW_BYTES +
                                                                     (lane + ch * C::LPR) * 16),
                                    &k[ch * C::VEC]);
            const elattn_i64 s = k0 + j;
            const elattn_i64 pt = s < s1 && !all_seen ? elattn_kv_position_of(mode, in.sink, in.ring, len, s) : 0;
#pragma unroll
            for (int r = 0; r < R; ++r) {
                float dot = 0.0f;
                if (r < nrows) {
#pragma unroll
                    for (int e = 0; e < C::E; ++e) dot = fmaf(q[r][e], k[e], dot);
                    dot = group_sum<C::LPR>(dot);
                }
                const bool seen =
                    r < nrows && (all_seen || (s < s1 && elattn_decode_visible(mode, pos[r], pt, in.sink, in.local)));
                sc[j][r] = seen ? dot : -INFINITY;
            }
        }
        /* One rescale per tile: the group's running max over its KPG new keys. */
#pragma unroll
        for (int r = 0; r < R; ++r) {
            if (r >= nrows) continue;
            float mt = m[r];
#pragma unroll
            for (int j = 0; j < C::KPG; ++j) mt = fmaxf(mt, sc[j][r]);
            const float base = elattn_softmax_base(mt), f = exp2f(m[r] - base);
            m[r] = mt;
            l[r] *= f;
#pragma unroll
            for (int e = 0; e < C::E; ++e) acc[r][e] *= f;
#pragma unroll
            for (int j = 0; j < C::KPG; ++j) {
                sc[j][r] = exp2f(sc[j][r] - base);
                l[r] += sc[j][r];
            }
        }
#pragma unroll
        for (int j = 0; j < C::KPG; ++j) {
            float v[C::E];
#pragma unroll
            for (int ch = 0; ch < C::CH; ++ch)
                storage<DT>::unpack(*reinterpret_cast<const uint4 *>(vs + (group * C::KPG + j) * C::ROW_BYTES +
                                                                     (lane + ch * C::LPR) * 16),
                                    &v[ch * C::VEC]);
#pragma unroll
            for (int r = 0; r < R; ++r) {
                if (r >= nrows) continue;
#pragma unroll
                for (int e = 0; e < C::E; ++e) acc[r][e] = fmaf(sc[j][r], v[e], acc[r][e]);
            }
        }
    }
    decode_wait<0>();
    __syncthreads(); /* the stages are free: reuse them for the groups' states */

    using S = decode_states<R, C::GROUPS, DMAX>;
    float *cacc = S::acc(smem), *cm = S::m(smem), *cl = S::l(smem);
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
        for (int ch = 0; ch < C::CH; ++ch) {
            float *dst = cacc + (group * R + r) * DMAX + (lane + ch * C::LPR) * C::VEC;
#pragma unroll
            for (int e = 0; e < C::VEC; e += 4)
                *reinterpret_cast<float4 *>(dst + e) =
                    make_float4(acc[r][ch * C::VEC + e], acc[r][ch * C::VEC + e + 1], acc[r][ch * C::VEC + e + 2],
                                acc[r][ch * C::VEC + e + 3]);
        }
        if (lane == 0) cm[group * R + r] = m[r], cl[group * R + r] = l[r];
    }
    __syncthreads();
    decode_store_rows<DT, DMAX, R, C::GROUPS, C::NT>(smem, in, item, part_base, row_base, n, nrows, chunks);
}

#if defined(ELATTN_GPU_CUDA)
/* The merge launch (in.merge_launch): block (x, y) merges column slice y of the row tile of
 * work item x, chunk 0 of a cut head (the work list's first in.num_merge_items items). The
 * slice's (row, 4-column) elements are spread over the threads, P threads each, and each thread
 * folds every P-th chunk into a running (max, sum, O) by the spec's merge, MERGE_BATCH chunks'
 * loads at a time; the P states of an element are then combined through shared memory. Whole
 * head's chunks in one or two round trips per block, the blocks side by side on the device. */
template <int DT, int MERGE_BATCH>
__global__ void __launch_bounds__(DECODE_THREADS) decode_merge_kernel(const ELATTN_GRID_CONSTANT decode_inputs in)
{
    constexpr int NT = DECODE_THREADS;
    const decode_meta_view M = decode_meta(in);
    const decode_item item = M.items[blockIdx.x];
    const int i = item.seq, hk = item.head, Hkv = in.num_kv_heads, G = in.group, D = in.head_dim;
    const int chunks = M.chunks[i * Hkv + hk];
    const int part_base = M.part_base[i * Hkv + hk], row_base = M.cu_new[i], n = M.cu_new[i + 1] - row_base;
    const int tile_rows = in.mma ? DECODE_MMA_ROWS : DECODE_ROWS;
    const int nrows = decode_item_rows(n, G, item.row0, tile_rows);
    /* Wait until every chunk of the row tile has counted itself (after its partial and a fence:
     * decode_store_rows), rather than for the chunk grid's end (griddepcontrol.wait returned
     * 0.9-1.9 us after the last chunk block, call 57). The PDL launch starts these blocks only once
     * every chunk block has started, so the chunks all finish and the wait ends. Then each of the
     * row tile's DECODE_MERGE_SLICES blocks counts itself on the same counter; the last sets it
     * back to 0 for the next run, which starts after this launch. */
    if (threadIdx.x == 0) {
        int *arrived = in.arrivals + part_base + item.row0;
        while (*reinterpret_cast<volatile int *>(arrived) < chunks) __nanosleep(64);
        __threadfence(); /* the chunks' partials are read after their counts */
        if (atomicAdd(arrived, 1) == chunks + DECODE_MERGE_SLICES - 1) *arrived = 0;
    }
    __syncthreads(); /* the partials are read after thread 0's acquire */
    const int d4 = D / 4, per_slice = (d4 + DECODE_MERGE_SLICES - 1) / DECODE_MERGE_SLICES;
    const int col0 = (int)blockIdx.y * per_slice, cols = d4 - col0 < per_slice ? d4 - col0 : per_slice;
    if (cols <= 0) return;
    const int E = nrows * cols, P = NT / E; /* E <= 16 x 8 = NT (D 256) */
    const int t = (int)threadIdx.x, e = t % E, part = t / E, r = e / cols, dq = col0 + e % cols;
    const int part_rows = n * G;
    const size_t row0 = (size_t)part_base + item.row0 + r; /* chunk 0's partial row of this element */
    const float4 *part_o = reinterpret_cast<const float4 *>(in.part_o);
    float m = -INFINITY, sum = 0.0f;
    float4 o = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (part < P)
        for (int c0 = part; c0 < chunks; c0 += P * MERGE_BATCH) {
            float l[MERGE_BATCH];
            float4 v[MERGE_BATCH];
#pragma unroll
            for (int j = 0; j < MERGE_BATCH; ++j) {
                const int c = c0 + j * P;
                const size_t prow = row0 + (size_t)c * part_rows;
                l[j] = c < chunks ? load_l2(in.part_lse + prow) : -INFINITY; /* weight 0 */
                v[j] = c < chunks ? load_l2(part_o + prow * d4 + dq) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            }
            float mb = m;
#pragma unroll
            for (int j = 0; j < MERGE_BATCH; ++j) mb = fmaxf(mb, l[j]);
            const float f = elattn_merge_scale(m, mb); /* the earlier chunks' weights, now against mb */
            sum *= f, o.x *= f, o.y *= f, o.z *= f, o.w *= f;
#pragma unroll
            for (int j = 0; j < MERGE_BATCH; ++j) {
                const float w = elattn_merge_scale(l[j], mb);
                sum += w;
                o.x += w * v[j].x, o.y += w * v[j].y, o.z += w * v[j].z, o.w += w * v[j].w;
            }
            m = mb;
        }
    __shared__ float s_m[NT], s_sum[NT];
    __shared__ float4 s_o[NT];
    s_m[t] = m, s_sum[t] = sum, s_o[t] = o;
    __syncthreads();
    if (t >= E) return;
    float mm = -INFINITY;
    for (int k = 0; k < P; ++k) mm = fmaxf(mm, s_m[k * E + t]);
    float total = 0.0f;
    float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    for (int k = 0; k < P; ++k) {
        const float f = elattn_merge_scale(s_m[k * E + t], mm);
        const float4 a = s_o[k * E + t];
        total += f * s_sum[k * E + t];
        acc.x += f * a.x, acc.y += f * a.y, acc.z += f * a.z, acc.w += f * a.w;
    }
    decode_write_merged<DT>(in, row_base, hk, item.row0 + r, dq, acc, mm, total);
}

template <int DT>
static cudaError_t decode_merge_launch(const decode_inputs &in, cudaStream_t stream)
{
    const dim3 grid((unsigned)in.num_merge_items, DECODE_MERGE_SLICES);
    return in.merge_wide ? decode_launch_after(in.merge_launch == 2, grid, DECODE_THREADS, 0, stream,
                                               decode_merge_kernel<DT, 16>, in)
                         : decode_launch_after(in.merge_launch == 2, grid, DECODE_THREADS, 0, stream,
                                               decode_merge_kernel<DT, 8>, in);
}
#endif

size_t decode_smem_bytes(int dtype, int head_dim)
{
    size_t bytes = 0;
    dispatch<ELATTN_DTYPE_F32, ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(dtype, [&](auto dt) {
        return dispatch<64, 128, 256>(decode_dmax(head_dim), [&](auto d) {
            bytes = decode_cfg<decltype(dt)::value, decltype(d)::value>::SMEM;
            return cudaSuccess;
        });
    });
    return bytes;
}

cudaError_t decode_launch(const decode_inputs &in, cudaStream_t stream)
{
    return dispatch<ELATTN_DTYPE_F32, ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(in.dtype, [&](auto dt) {
        constexpr int DT = decltype(dt)::value;
        auto portable = [&]() {
            return dispatch<64, 128, 256>(decode_dmax(in.head_dim), [&](auto d) {
                constexpr int DMAX = decltype(d)::value;
                using C = decode_cfg<DT, DMAX>;
                const void *kernel = (const void *)decode_chunk_kernel<DT, DMAX>;
                /* Opt in to more than 48 KB of dynamic shared memory (idempotent and cheap). */
                cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::SMEM);
                if (err != cudaSuccess) return err;
                return decode_launch_after(in.quest_pages && in.quest_overlap, dim3((unsigned)in.num_items), C::NT,
                                           C::SMEM, stream, decode_chunk_kernel<DT, DMAX>, in);
            });
        };
#if defined(ELATTN_GPU_CUDA)
        cudaError_t err = in.mma ? decode_mma_launch(in, stream) : portable();
        if (err == cudaSuccess && in.merge_launch) err = decode_merge_launch<DT>(in, stream);
        return err;
#else
        return portable();
#endif
    });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_DECODE_CUH */

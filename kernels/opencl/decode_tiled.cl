/*
 * Decode over the per-head KV cache (kernels/SPEC.md section 9), family `tiled`: the partial pass
 * of decode.cl's elattn_decode_partial, written to stream the cache at memory bandwidth on GPUs
 * without subgroups, tensor cores or fp16 arithmetic (fp32 arithmetic, plain loads, local memory
 * and barriers; inline PTX where the host says the device is NVIDIA's). It writes the same fp32
 * partials (O, LSE per (row, query head, chunk)); a head of up to merge_chunks chunks is then merged
 * by its last work-group to finish (the fused merge, at the end), longer ones by elattn_decode_merge
 * (decode.cl, a launch of its own); the Quest passes of decode.cl run before it.
 *
 * One work-group of ELATTN_WG work-items per (sequence, KV head, split-KV chunk, tile of TILED_ROWS
 * query rows of the group: (new token, query head) pairs), so every K/V row crosses memory once per
 * row tile (once per step for groups of up to TILED_ROWS rows), not once per query head:
 *   - lanes lie along D: a work-item holds TILED_E consecutive elements (one 16-byte load of a
 *     16-bit dtype) of its rows' queries and of every K/V row it reads; TILED_LPR = padded D
 *     (ELATTN_DECODE_PADDED_D: 64, 128 or 256, the host's ocl_tune_band) / TILED_E lanes make a
 *     group, and the ELATTN_WG / TILED_LPR groups take TILED_KPG consecutive keys each per round,
 *     each group with its own online softmax (fp32, log2 domain);
 *   - a round: each lane's partial dot products go to local memory, every work-item sums one or
 *     more (key, row) pairs' lanes in lane order and applies the pair rule, and each group reads its
 *     scores back for its softmax step and its P x V (two barriers a round); on NVIDIA the lanes'
 *     sums are warp shuffles instead (TILED_SHUFFLE below: no barrier, no local memory);
 *   - the next round's K and V are loaded while this round runs (the K loads once this round's
 *     keys are used, the V loads once its P x V is done), and the page-table entries a round
 *     ahead of those, so that a lane never waits on two dependent loads;
 *   - at the end the groups' states are combined through local memory into the chunk's partial.
 * Needs decode.cl (decode_head_of) before it in the program, and head dims that are multiples of
 * TILED_E (every head dim the API takes: ELATTN_HEAD_DIM_STEP).
 */
#ifdef ELATTN_DECODE_PADDED_D /* only the tiled family's programs have this kernel */
#ifndef ELATTN_DECODE_ROWS
#error "ELATTN_DECODE_ROWS (query rows per work-group) comes from the host (opencl_decode.c, DECODE_TILED_ROWS)"
#endif
#define TILED_ROWS ELATTN_DECODE_ROWS
#define TILED_E 8    /* head-dim elements per lane */
#ifndef TILED_KPG /* keys per group per round (a lab build may set it) */
#if ELATTN_STORAGE == ELATTN_DTYPE_F32
#define TILED_KPG 4  /* fp32 rows take twice the registers */
#else
#define TILED_KPG 8
#endif
#endif
/* Lanes per row from the padded head dim, a program option, so that the loops over a row's lanes
 * and over the round's (key, row) pairs unroll (their loads then go out together). */
#define TILED_LPR (ELATTN_DECODE_PADDED_D / TILED_E)
#define TILED_GROUPS (ELATTN_WG / TILED_LPR)
#define TILED_PAIRS (TILED_GROUPS * TILED_KPG * TILED_ROWS) /* (key, row) pairs of a round */
/* Local memory: the lanes' partial dot products during the rounds, the groups' states at the end. */
#define TILED_PART_FLOATS (TILED_LPR * (TILED_PAIRS + 1))
#define TILED_COMBINE_FLOATS (ELATTN_WG * TILED_ROWS * TILED_E)
#define TILED_BUF_FLOATS (TILED_PART_FLOATS > TILED_COMBINE_FLOATS ? TILED_PART_FLOATS : TILED_COMBINE_FLOATS)
#if ELATTN_WG % TILED_LPR != 0
#error "elattn_decode_tiled: a work-group must hold whole groups of lanes"
#endif
/* A group's (key, row) pairs of a round summed across its lanes by warp shuffles (warp_shuffle.cl,
 * which the program puts first) where the device has them (NVIDIA: shfl.sync through inline PTX,
 * ELATTN_NV_PTX; devices with cl_intel_subgroups: a subgroup of ELATTN_SG_WIDTH work-items is the
 * warp) or they are emulated (ELATTN_MMA_EMULATE, through local memory, for tests on any device): a
 * reduce-scatter leaves each lane TILED_HELD whole sums, then each row's scores are gathered from
 * their lanes; no barrier and no local memory in the round. It needs a group inside one warp
 * (TILED_LPR <= TILED_WARP) and at least one pair a lane; otherwise the sums go through local
 * memory. */
#define TILED_GPAIRS (TILED_KPG * TILED_ROWS) /* one group's pairs of a round */
#if defined(ELATTN_SG_WIDTH) && !defined(ELATTN_NV_PTX) && !defined(ELATTN_MMA_EMULATE)
#define TILED_WARP ELATTN_SG_WIDTH
#define TILED_SUBGROUPS 1
#define TILED_SG_ATTR __attribute__((intel_reqd_sub_group_size(ELATTN_SG_WIDTH)))
#else
#define TILED_WARP 32
#define TILED_SG_ATTR
#endif
#if TILED_WARP & (TILED_WARP - 1)
#error "elattn_decode_tiled: the subgroup width (a warp) must be a power of two"
#endif
#if (defined(ELATTN_NV_PTX) || defined(ELATTN_MMA_EMULATE) || defined(TILED_SUBGROUPS)) && \
    TILED_LPR <= TILED_WARP && TILED_GPAIRS % TILED_LPR == 0
#define TILED_SHUFFLE 1
#define TILED_HELD (TILED_GPAIRS / TILED_LPR) /* pairs a lane holds after the reduce-scatter */
/* One step of the reduce-scatter over lane bit `bit`: a lane keeps the half of its first 2 x half sums
 * that its bit selects and adds its partner's copy of that half. The two values are read first and
 * then selected: a select between the two array elements kept the array on the stack (clang's
 * NVPTX output: a 160-byte frame against 32). */
#define TILED_RS_STEP(bit, half)                                                                       \
    {                                                                                                  \
        const int upper = (lane & (bit)) != 0;                                                         \
        _Pragma("unroll") for (int k = 0; k < (half); ++k)                                            \
        {                                                                                              \
            const float lo = pair_sum[k], hi = pair_sum[k + (half)];                                   \
            pair_sum[k] = (upper ? hi : lo) + shfl_xor(upper ? lo : hi, (bit), xw, warp_lane);         \
        }                                                                                              \
    }
#elif defined(TILED_SUBGROUPS)
#error "ELATTN_SG_WIDTH: the host asked for subgroup shuffles where a group's lanes cannot use them"
#endif

/* A K or V row's TILED_E elements of one lane as loaded (converted to fp32 only where used, so that
 * a load in flight is not waited for early). The pools are the cache's own allocations: a row's
 * lane starts at a multiple of TILED_E elements, 16 bytes (16-bit dtypes) or 32 (fp32) aligned. */
#if ELATTN_STORAGE == ELATTN_DTYPE_F16 && defined(cl_khr_fp16)
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif
#if ELATTN_STORAGE == ELATTN_DTYPE_F32
typedef float8 tiled_raw;
static inline tiled_raw tiled_load(const __global elattn_elem *pool, long off)
{
    return *(const __global float8 *)(pool + off);
}
static inline float8 tiled_unpack(tiled_raw r) { return r; }
#else
typedef uint4 tiled_raw;
static inline tiled_raw tiled_load(const __global elattn_elem *pool, long off)
{
    return *(const __global uint4 *)(pool + off);
}
#if ELATTN_STORAGE == ELATTN_DTYPE_F16 && defined(ELATTN_NV_PTX)
static inline float2 tiled_f16x2(uint w) /* the low half first */
{
    float lo, hi;
    __asm__("{ .reg .b16 l, h; mov.b32 {l, h}, %2; cvt.f32.f16 %0, l; cvt.f32.f16 %1, h; }"
            : "=f"(lo), "=f"(hi) : "r"(w));
    return (float2)(lo, hi);
}
#endif
static inline float8 tiled_unpack(tiled_raw r)
{
#if ELATTN_STORAGE == ELATTN_DTYPE_BF16
    return (float8)(as_float(r.x << 16), as_float(r.x & 0xffff0000u), as_float(r.y << 16),
                    as_float(r.y & 0xffff0000u), as_float(r.z << 16), as_float(r.z & 0xffff0000u),
                    as_float(r.w << 16), as_float(r.w & 0xffff0000u));
#elif defined(ELATTN_NV_PTX) /* NVIDIA (the host defines it there): cvt from the word's halves */
    return (float8)(tiled_f16x2(r.x), tiled_f16x2(r.y), tiled_f16x2(r.z), tiled_f16x2(r.w));
#elif defined(cl_khr_fp16) /* a word (two halves) at a time, from registers */
    return (float8)(convert_float2(as_half2(r.x)), convert_float2(as_half2(r.y)), convert_float2(as_half2(r.z)),
                    convert_float2(as_half2(r.w)));
#else /* integer arithmetic (PoCL); NVIDIA's driver, without cl_khr_fp16, takes the PTX path above:
       * this form spilled there (a 560-byte frame, 4 KB of spills, 10x bf16's time; H100 calls 109-110) */
    return (float8)(elattn_f16_bits_to_float(r.x), elattn_f16_bits_to_float(r.x >> 16),
                    elattn_f16_bits_to_float(r.y), elattn_f16_bits_to_float(r.y >> 16),
                    elattn_f16_bits_to_float(r.z), elattn_f16_bits_to_float(r.z >> 16),
                    elattn_f16_bits_to_float(r.w), elattn_f16_bits_to_float(r.w >> 16));
#endif
}
#endif

/* The output row (new token, query head) of row rr of a (sequence, KV head)'s G x n rows: token rr / G
 * of those from first_new on, query head hk * G + rr % G. */
static inline size_t tiled_out_row(int first_new, int rr, int G, int num_q_heads, int hk)
{
    return (size_t)(first_new + rr / G) * num_q_heads + hk * G + rr % G;
}

/* The score of a (key, row) pair from its lanes' sum: the pair rule (slot s of the chunk, row r of the
 * tile), -inf where the row does not see the key or there is no such row or slot. */
static inline float tiled_pair_score(float dot, int r, int s, int nrows, int end, const elattn_decode_seen *seen,
                                     int len, int n, int row0, int G, int mode, int sink, int ring, int window)
{
    int seen_pair = r < nrows && s < end;
    if (seen_pair && !elattn_decode_all_visible(seen, s, s + 1)) {
        const long pos = (long)len - n + (row0 + r) / G;
        seen_pair = elattn_decode_visible(mode, pos, elattn_kv_position_of(mode, sink, ring, len, s), sink, window);
    }
    return seen_pair ? dot : -INFINITY;
}

__kernel __attribute__((reqd_work_group_size(ELATTN_WG, 1, 1))) TILED_SG_ATTR
void elattn_decode_tiled(const __global elattn_elem *q, const __global elattn_elem *k_pool,
                         const __global elattn_elem *v_pool, const __global int *page_table, const __global int *meta,
                         __global float *part_o, __global float *part_lse, const int num_seqs, const int num_q_heads,
                         const int num_kv_heads, const int head_dim, const float scale_log2, const int sink,
                         const int window, const int ring, const int page_shift, const int pages_per_head,
                         const int splits, const int row_tiles, const __global int *quest_pages,
                         const __global int *quest_len, const int page_budget, __global elattn_elem *o,
                         __global float *lse, const int write_lse, __global int *arrivals, const int merge_chunks)
{
    __local float buf[TILED_BUF_FLOATS];
#ifndef TILED_SHUFFLE
    __local float score[TILED_PAIRS];
#endif
    __local float state[2 * TILED_GROUPS * TILED_ROWS]; /* each group's m, then l, per row */
    __local int merges; /* whether this work-group is its row tile's last chunk to finish (the fused merge) */

    const int t = (int)get_local_id(0), lane = t % TILED_LPR, grp = t / TILED_LPR;
#ifdef TILED_SHUFFLE
    const int warp_lane = t & (TILED_WARP - 1); /* the shuffles' lane; xw: its warp's exchange words (emulation only) */
#ifdef ELATTN_MMA_EMULATE
    __local uint tiled_exchange[ELATTN_WG];
    __local uint *xw = tiled_exchange + (t & ~31);
#else
    __local uint *xw = 0;
#endif
#endif
#ifdef TILED_SUBGROUPS /* the subgroups must be the warps assumed above; otherwise NaN, never a wrong number */
    const int sg_ok = get_sub_group_size() == TILED_WARP && (int)get_sub_group_local_id() == warp_lane;
#else
    const int sg_ok = 1;
#endif
    const int w = (int)get_group_id(0);
    const int rt = w % row_tiles, c = (w / row_tiles) % splits, e = w / (row_tiles * splits);
    const int i = e / num_kv_heads, hk = e % num_kv_heads;
    const __global int *cu_new = meta, *chunks = meta + 3 * num_seqs + 1 + num_seqs * num_kv_heads;
    if (c >= chunks[e]) return; /* past the head's own chunks (the step's most-cut head sets the grid) */
    const int n = cu_new[i + 1] - cu_new[i], G = num_q_heads / num_kv_heads;
    int len, mode;
    const __global int *pages = decode_head_of(meta, page_table, quest_pages, quest_len, num_seqs, num_kv_heads,
                                               pages_per_head, page_budget, i, hk, &len, &mode);
    const int row0 = rt * TILED_ROWS, rows_left = n * G - row0;
    const int nrows = rows_left < 0 ? 0 : rows_left < TILED_ROWS ? rows_left : TILED_ROWS;
    long s0, s1;
    elattn_decode_split(elattn_kv_slots(mode, sink, ring, len), chunks[e], c, &s0, &s1);
    const elattn_decode_seen seen = elattn_decode_seen_of(mode, sink, ring, window, len, n);
    const int d0 = lane * TILED_E, lane_in = d0 < head_dim; /* head_dim % TILED_E == 0 */

    /* The rows' queries (pre-scaled into log2 units), this lane's elements; rows past nrows are 0. */
    float qv[TILED_ROWS][TILED_E];
    #pragma unroll
    for (int r = 0; r < TILED_ROWS; ++r) {
        const int rr = row0 + r, live = r < nrows && lane_in;
        const long qoff = (long)tiled_out_row(cu_new[i], live ? rr : 0, G, num_q_heads, hk) * head_dim + d0;
        #pragma unroll
        for (int x = 0; x < TILED_E; ++x) qv[r][x] = live ? elattn_load(q, qoff + x) * scale_log2 : 0.0f;
    }
    float acc[TILED_ROWS][TILED_E], m[TILED_ROWS], l[TILED_ROWS];
    #pragma unroll
    for (int r = 0; r < TILED_ROWS; ++r) {
        m[r] = -INFINITY, l[r] = 0.0f;
        #pragma unroll
        for (int x = 0; x < TILED_E; ++x) acc[r][x] = 0.0f;
    }

    const int per_round = TILED_GROUPS * TILED_KPG;
    const int first = (int)s0, end = (int)s1; /* slots are int32 (elattn_kv_cache_desc.max_tokens) */
    const int rounds = nrows > 0 ? (end - first + per_round - 1) / per_round : 0;
    /* Slot of this lane's key j in round rd. */
#define TILED_SLOT(rd, j) (first + (rd) * per_round + grp * TILED_KPG + (j))
    int page_cur[TILED_KPG];  /* pages of the round whose K loads were issued last (its V loads reuse them) */
    int page_next[TILED_KPG]; /* pages of the round after it */
    tiled_raw kr[TILED_KPG], vr[TILED_KPG];
    #pragma unroll
    for (int j = 0; j < TILED_KPG; ++j) { /* round 0's rows, round 1's pages (none for a tile without rows) */
        const int s = TILED_SLOT(0, j), s_next = TILED_SLOT(1, j), ok = rounds > 0 && s < end && lane_in;
        page_cur[j] = rounds > 0 && s < end ? pages[s >> page_shift] : 0;
        const long off = elattn_kv_page_offset(page_cur[j], page_shift, head_dim, s) + d0;
        kr[j] = ok ? tiled_load(k_pool, off) : (tiled_raw)0;
        vr[j] = ok ? tiled_load(v_pool, off) : (tiled_raw)0;
        page_next[j] = rounds > 1 && s_next < end ? pages[s_next >> page_shift] : 0;
    }

    for (int rd = 0; rd < rounds; ++rd) {
        /* Partial dot products of this lane's elements, pair j * TILED_ROWS + r of the group: in
         * registers for the shuffles, else to local memory [lane][(group, key, row)] with one padding
         * word per lane so that a group's lanes write to different banks. */
#ifdef TILED_SHUFFLE
        float pair_sum[TILED_GPAIRS];
#endif
        #pragma unroll
        for (int j = 0; j < TILED_KPG; ++j) {
            float k[TILED_E];
            vstore8(tiled_unpack(kr[j]), 0, k);
            #pragma unroll
            for (int r = 0; r < TILED_ROWS; ++r) {
                float dot = 0.0f;
                #pragma unroll
                for (int x = 0; x < TILED_E; ++x) dot = fma(qv[r][x], k[x], dot);
#ifdef TILED_SHUFFLE
                pair_sum[j * TILED_ROWS + r] = dot;
#else
                buf[lane * (TILED_PAIRS + 1) + (grp * TILED_KPG + j) * TILED_ROWS + r] = dot;
#endif
            }
        }
        /* This round's keys are used: the next round's K loads start (its pages were read a round
         * ago), and the pages of the round after. */
        const int more = rd + 1 < rounds;
        #pragma unroll
        for (int j = 0; j < TILED_KPG; ++j) {
            const int s = TILED_SLOT(rd + 1, j), s_after = TILED_SLOT(rd + 2, j), ok = more && s < end && lane_in;
            page_cur[j] = page_next[j];
            kr[j] = ok ? tiled_load(k_pool, elattn_kv_page_offset(page_cur[j], page_shift, head_dim, s) + d0)
                       : (tiled_raw)0;
            page_next[j] = more && s_after < end ? pages[s_after >> page_shift] : 0;
        }
#ifdef TILED_SHUFFLE
        /* The reduce-scatter over the group's lanes, highest lane bit first: lane L of the group ends
         * with the sums of pairs L * TILED_HELD .. + TILED_HELD - 1 in pair_sum[0 .. TILED_HELD - 1],
         * then their scores. */
        TILED_RS_STEP(TILED_LPR / 2, TILED_GPAIRS / 2)
        TILED_RS_STEP(TILED_LPR / 4, TILED_GPAIRS / 4)
        TILED_RS_STEP(TILED_LPR / 8, TILED_GPAIRS / 8)
#if TILED_LPR >= 16
        TILED_RS_STEP(TILED_LPR / 16, TILED_GPAIRS / 16)
#endif
#if TILED_LPR >= 32
        TILED_RS_STEP(1, TILED_GPAIRS / 32)
#endif
        #pragma unroll
        for (int k = 0; k < TILED_HELD; ++k) {
            const int p = lane * TILED_HELD + k;
            const int s = first + rd * per_round + grp * TILED_KPG + p / TILED_ROWS;
            pair_sum[k] = tiled_pair_score(pair_sum[k], p % TILED_ROWS, s, nrows, end, &seen, len, n, row0, G, mode,
                                           sink, ring, window);
        }
        const int group_lane0 = warp_lane & ~(TILED_LPR - 1); /* the group's first lane in its warp */
#else
        barrier(CLK_LOCAL_MEM_FENCE);
        /* Each (group, key, row) pair: its lanes summed in lane order, then the pair rule. */
        #pragma unroll
        for (int p = t; p < TILED_PAIRS; p += ELATTN_WG) {
            float dot = 0.0f;
            #pragma unroll
            for (int y = 0; y < TILED_LPR; ++y) dot += buf[y * (TILED_PAIRS + 1) + p];
            score[p] = tiled_pair_score(dot, p % TILED_ROWS, first + rd * per_round + p / TILED_ROWS, nrows, end,
                                        &seen, len, n, row0, G, mode, sink, ring, window);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#endif
        /* Per row, the group's online-softmax step over its keys and P x V with this lane's elements
         * (V converted once per row: fewer registers than holding every key's weights). */
        #pragma unroll
        for (int r = 0; r < TILED_ROWS; ++r) {
#ifdef TILED_SHUFFLE
            float row_score[TILED_KPG]; /* the row's scores, gathered from the lanes that hold them */
            #pragma unroll
            for (int j = 0; j < TILED_KPG; ++j) {
                const int p = j * TILED_ROWS + r;
                row_score[j] = shfl_idx(pair_sum[p % TILED_HELD], group_lane0 + p / TILED_HELD, xw, warp_lane);
            }
#define TILED_SCORE(j) row_score[j]
#else
#define TILED_SCORE(j) score[(grp * TILED_KPG + (j)) * TILED_ROWS + r]
#endif
            float top = m[r];
            #pragma unroll
            for (int j = 0; j < TILED_KPG; ++j) top = fmax(top, TILED_SCORE(j));
            const float f = exp2(m[r] - elattn_softmax_base(top));
            l[r] *= f;
            #pragma unroll
            for (int x = 0; x < TILED_E; ++x) acc[r][x] *= f;
            #pragma unroll
            for (int j = 0; j < TILED_KPG; ++j) {
                const float sc = TILED_SCORE(j);
                const float p = sc == -INFINITY ? 0.0f : exp2(sc - top); /* also when top is -inf */
                float v[TILED_E];
                vstore8(tiled_unpack(vr[j]), 0, v);
                l[r] += p;
                #pragma unroll
                for (int x = 0; x < TILED_E; ++x) acc[r][x] = fma(p, v[x], acc[r][x]);
            }
            m[r] = top;
#undef TILED_SCORE
        }
        #pragma unroll
        for (int j = 0; j < TILED_KPG; ++j) { /* the next round's V, from the pages its K loads used */
            const int s = TILED_SLOT(rd + 1, j);
            vr[j] = more && s < end && lane_in
                        ? tiled_load(v_pool, elattn_kv_page_offset(page_cur[j], page_shift, head_dim, s) + d0)
                        : (tiled_raw)0;
        }
    }
#undef TILED_SLOT

    /* The groups' states combined in group order into the chunk's partial: O normalised, LSE. */
    barrier(CLK_LOCAL_MEM_FENCE); /* the last round's reads of buf are done */
    #pragma unroll
    for (int r = 0; r < TILED_ROWS; ++r) {
        #pragma unroll
        for (int x = 0; x < TILED_E; ++x) buf[((grp * TILED_ROWS + r) * TILED_LPR + lane) * TILED_E + x] = acc[r][x];
        if (lane == 0) state[grp * TILED_ROWS + r] = m[r], state[(TILED_GROUPS + grp) * TILED_ROWS + r] = l[r];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int o = t; o < TILED_ROWS * TILED_LPR * TILED_E; o += ELATTN_WG) {
        const int r = o / (TILED_LPR * TILED_E), d = o % (TILED_LPR * TILED_E);
        if (r >= nrows || d >= head_dim) continue;
        float top = -INFINITY;
        for (int g = 0; g < TILED_GROUPS; ++g) top = fmax(top, state[g * TILED_ROWS + r]);
        const float base = elattn_softmax_base(top);
        float sum = 0.0f, out = 0.0f;
        for (int g = 0; g < TILED_GROUPS; ++g) {
            const float f = exp2(state[g * TILED_ROWS + r] - base);
            sum += state[(TILED_GROUPS + g) * TILED_ROWS + r] * f;
            out += buf[((g * TILED_ROWS + r) * TILED_LPR + d / TILED_E) * TILED_E + d % TILED_E] * f;
        }
        const int rr = row0 + r;
        const size_t x = tiled_out_row(cu_new[i], rr, G, num_q_heads, hk) * splits + c;
        part_o[x * head_dim + d] = sg_ok ? out * elattn_row_inv_sum(sum) : NAN;
        if (d == 0) part_lse[x] = sg_ok ? elattn_row_lse(top, sum) : NAN;
    }

    /* The fused merge, for heads of up to merge_chunks chunks (more: elattn_decode_merge, a launch of
     * its own): the work-group counts itself in its row tile's arrival counter, and the last of the
     * head's chunks to arrive merges every chunk's partial of the tile's rows and sets the counter back
     * to 0 for the next run, so that the step needs no merge launch (its start and the drain before
     * it were 5-9 us of a 33 us step, H100 call 113). Every chunk of a tile has the same rows (none:
     * it neither counts nor merges). Every work-group reaches the two barriers (PoCL 3.1 gave wrong
     * results when elattn_decode_merge's work-groups returned before barriers on a condition read
     * from memory: decode.cl). */
    const int own = chunks[e], fused = nrows > 0 && own <= merge_chunks;
    merge_device_fence(); /* this work-item's partial stores come before the count */
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    if (t == 0) {
        volatile __global int *arrived = arrivals + (size_t)e * row_tiles + rt;
        merges = fused && atomic_inc(arrived) == own - 1;
        if (merges) atomic_xchg(arrived, 0); /* every chunk of this run has counted */
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (!merges) return;
    merge_device_fence(); /* the other chunks' partials are read after their counts */
    const int quads = head_dim / 4;
    for (int x = t; x < nrows * quads; x += ELATTN_WG) {
        const int rr = row0 + x / quads, dq = x % quads;
        const size_t rh = tiled_out_row(cu_new[i], rr, G, num_q_heads, hk);
        const __global float *lse_c = part_lse + rh * (size_t)splits;
        const float mx = merge_max(lse_c, 0, 1, own);
        float sum = 0.0f;
        float4 acc = (float4)(0.0f);
        merge_add(lse_c, (const __global float4 *)(part_o + rh * (size_t)splits * head_dim) + dq, quads, 0, 1, own, mx,
                  &sum, &acc);
        merge_write(o, lse, write_lse, rh, head_dim, dq, acc, sum, mx);
    }
}
#endif /* ELATTN_DECODE_PADDED_D */

/*
 * elattn kernel spec: the one definition of what every backend computes.
 *
 * This header compiles as C99 (reference, host code), as CUDA/HIP C++ and as
 * OpenCL C (it is prepended to the OpenCL sources at build time). It holds:
 *   - the mode enumeration and the per-call parameter block that host code
 *     fills and kernels read (scalars only, so its layout is identical in all
 *     three languages and it can be passed by value to an OpenCL kernel);
 *   - the visibility rule of a (query, key) pair, and of a (query tile,
 *     key tile) rectangle;
 *   - the key-tile walk: which key tiles a query tile visits, the one
 *     derivation every kernel family, the work list and the benchmark use;
 *   - the work item of a fused launch and the epilogue rule (empty rows);
 *   - the layout of the block masks and mode tables;
 *   - XAttention's reshaped visibility and the router's pooling.
 * Tile sizes are not part of the spec: each kernel family has its own, and
 * every rule here holds at any tile size.
 * kernels/SPEC.md states the semantics in prose; this file is the code form.
 */
#ifndef ELATTN_SPEC_H
#define ELATTN_SPEC_H

/* ---- language glue ------------------------------------------------------ */
#if defined(__OPENCL_VERSION__)
#  define ELATTN_FN static inline
#  define ELATTN_GLOBAL __global
#  define ELATTN_LOG2F log2
#  define ELATTN_EXP2F exp2
typedef int elattn_i32;
typedef long elattn_i64;
typedef uint elattn_u32;
typedef uchar elattn_u8;
#else
#  if defined(__CUDACC__) || defined(__HIPCC__)
#    define ELATTN_FN static __host__ __device__ __forceinline__
#  else
#    define ELATTN_FN static inline
#  endif
#  define ELATTN_GLOBAL
#  define ELATTN_LOG2F log2f
#  define ELATTN_EXP2F exp2f
#  include <math.h>
#  include <stdint.h>
typedef int32_t elattn_i32;
typedef int64_t elattn_i64;
typedef uint32_t elattn_u32;
typedef uint8_t elattn_u8;
#endif

/* ---- modes -------------------------------------------------------------- */
/* One mode per (batch element, KV head); all query heads of a group share it.
 * Mode tables are int32 [batch][num_kv_heads]. */
#define ELATTN_MODE_FULL 0         /* every causal key */
#define ELATTN_MODE_STREAMING 1    /* sinks + local window (SSA) */
#define ELATTN_MODE_BLOCK_SPARSE 2 /* blocks set in the head's block mask (XA) */
#define ELATTN_MODE_COUNT 3

/* ---- storage dtypes (values match the public elattn_dtype) -------------- */
#define ELATTN_DTYPE_F32 0
#define ELATTN_DTYPE_F16 1
#define ELATTN_DTYPE_BF16 2

/* Head dims: every multiple of ELATTN_HEAD_DIM_STEP in [MIN, MAX]. Each
 * kernel family states which of them it takes; the portable GPU kernel, the
 * OpenCL kernel and the reference take them all. */
#define ELATTN_MIN_HEAD_DIM 32
#define ELATTN_MAX_HEAD_DIM 256
#define ELATTN_HEAD_DIM_STEP 8
#define ELATTN_ROUTER_POOL_TOKENS 100 /* P: tokens pooled at each end */

/* ---- the per-call parameter block ---------------------------------------
 * Filled by host code from a validated descriptor; passed by value to kernels.
 * Only 32-bit scalars: same layout in C, CUDA/HIP and OpenCL C.
 * Tensors are "varlen": rows of element b start at cu_seqlens_q[b] /
 * cu_seqlens_k[b]; where a (row, head) lives is the addressing section below
 * (strides, paged K/V), packed [rows][H][D] by default. */
typedef struct elattn_attn_params {
    elattn_i32 head_dim;     /* D */
    elattn_i32 num_q_heads;  /* Hq */
    elattn_i32 num_kv_heads; /* Hkv; query head h reads KV head h / (Hq/Hkv) */
    elattn_i32 group;        /* Hq / Hkv */
    elattn_i32 batch;
    elattn_i32 max_seqlen_q;
    elattn_i32 max_seqlen_k;
    elattn_i32 causal;       /* 1: bottom-right aligned causal mask */
    float scale;             /* softmax scale (1/sqrt(D) by default) */
    float scale_log2;        /* scale * log2(e): kernels use exp2 */
    elattn_i32 sink;         /* STREAMING: first `sink` keys always visible */
    elattn_i32 local;        /* STREAMING: window of `local` keys, own one included */
    elattn_i32 block_size;   /* block-mask block (square), 16..256, power of two */
    elattn_i32 mask_qblocks; /* ceil(max_seqlen_q / block_size) */
    elattn_i32 mask_kblocks; /* ceil(max_seqlen_k / block_size) */
    elattn_i32 write_lse;    /* 1: LSE [total_q][Hq] fp32 is written */
    elattn_i32 dtype;        /* ELATTN_DTYPE_* of Q, K, V, O */
    elattn_i32 reserved;     /* keeps the block 4-byte aligned in all ABIs */
    /* Layout (elements; the core fills in the packed values, never 0 here). */
    elattn_i32 q_stride_token, q_stride_head;
    elattn_i32 k_stride_token, k_stride_head;
    elattn_i32 v_stride_token, v_stride_head;
    elattn_i32 o_stride_token, o_stride_head;
    elattn_i32 page_size;     /* 0: K/V rows are cu_seqlens_k rows; else P, a power of two */
    elattn_i32 page_shift;    /* log2(P) */
    elattn_i32 pages_per_seq; /* columns of the block table */
    elattn_i32 reserved2;
} elattn_attn_params;

/* ---- addressing: strides and paged K/V ------------------------------------
 * The one place where a (row, head) of Q, K, V, O becomes an element offset;
 * every kernel and the reference use these. Element d of (row t, head h) is
 * at t * stride_token + h * stride_head + d (d is contiguous). Q and O rows
 * are cu_seqlens_q[b] + i. K and V rows: cu_seqlens_k[b] + j, or, paged
 * ([num_pages][P][Hkv][D] with the strides above), row page * P + j % P of
 * physical page block_table[b][j / P]. Offsets are 64-bit. */
ELATTN_FN elattn_i64 elattn_elem_offset(elattn_i64 row, elattn_i32 head, elattn_i32 stride_token,
                                        elattn_i32 stride_head)
{
    return row * stride_token + (elattn_i64)head * stride_head;
}

/* The packed layout in a parameter block built by hand (tests, tools): Q/O [rows][Hq][D], K/V
 * [rows][Hkv][D], not paged. The core fills the fields from the normalised descriptor instead. */
ELATTN_FN void elattn_params_packed_layout(elattn_attn_params *p)
{
    p->q_stride_head = p->k_stride_head = p->v_stride_head = p->o_stride_head = p->head_dim;
    p->q_stride_token = p->o_stride_token = p->num_q_heads * p->head_dim;
    p->k_stride_token = p->v_stride_token = p->num_kv_heads * p->head_dim;
    p->page_size = p->page_shift = p->pages_per_seq = 0;
}

/* Row of key j of element b (k_start = cu_seqlens_k[b]); block_table only read when paged. */
ELATTN_FN elattn_i64 elattn_kv_row(const elattn_attn_params *p, const ELATTN_GLOBAL elattn_i32 *block_table,
                                   elattn_i32 b, elattn_i32 k_start, elattn_i32 j)
{
    if (p->page_size == 0) return (elattn_i64)k_start + j;
    elattn_i32 page = block_table[(elattn_i64)b * p->pages_per_seq + (j >> p->page_shift)];
    return ((elattn_i64)page << p->page_shift) + (j & (p->page_size - 1));
}

ELATTN_FN elattn_i64 elattn_q_offset(const elattn_attn_params *p, elattn_i64 row, elattn_i32 head)
{
    return elattn_elem_offset(row, head, p->q_stride_token, p->q_stride_head);
}
ELATTN_FN elattn_i64 elattn_o_offset(const elattn_attn_params *p, elattn_i64 row, elattn_i32 head)
{
    return elattn_elem_offset(row, head, p->o_stride_token, p->o_stride_head);
}
ELATTN_FN elattn_i64 elattn_k_offset(const elattn_attn_params *p, elattn_i64 kv_row, elattn_i32 hk)
{
    return elattn_elem_offset(kv_row, hk, p->k_stride_token, p->k_stride_head);
}
ELATTN_FN elattn_i64 elattn_v_offset(const elattn_attn_params *p, elattn_i64 kv_row, elattn_i32 hk)
{
    return elattn_elem_offset(kv_row, hk, p->v_stride_token, p->v_stride_head);
}

/* ---- pair visibility -----------------------------------------------------
 * Query i of an element sits at absolute position p = i + (Lk - Lq)
 * (bottom-right alignment). Key j is visible to it when:
 *   causal condition: j <= p (dropped when causal == 0), and
 *   FULL:         nothing more;
 *   STREAMING:    j < sink  or  p - j < local.  Without causality the window
 *                 is two-sided: |p - j| < local (a one-sided rule would make
 *                 every future key "local", which no user means);
 *   BLOCK_SPARSE: the mask bit of (i / block, j / block) is set (query blocks
 *                 count from the first query, key blocks from the first key).
 * A query with no visible key outputs O = 0 and LSE = -inf. */

ELATTN_FN elattn_i32 elattn_query_pos(elattn_i32 i, elattn_i32 len_q, elattn_i32 len_k)
{
    return i + (len_k - len_q);
}

ELATTN_FN elattn_i32 elattn_causal_ok(elattn_i32 causal, elattn_i32 p, elattn_i32 j)
{
    return !causal || j <= p;
}

ELATTN_FN elattn_i32 elattn_streaming_ok(elattn_i32 causal, elattn_i32 p, elattn_i32 j,
                                         elattn_i32 sink, elattn_i32 local)
{
    elattn_i32 d = p - j;
    if (!causal && d < 0) d = -d;
    return j < sink || d < local;
}

/* Offset of the block-mask row of (batch element b, KV head hk, query block qb). */
ELATTN_FN elattn_i64 elattn_mask_row(elattn_i32 b, elattn_i32 hk, elattn_i32 qb,
                                     elattn_i32 num_kv_heads, elattn_i32 mask_qblocks,
                                     elattn_i32 mask_kblocks)
{
    return (((elattn_i64)b * num_kv_heads + hk) * mask_qblocks + qb) * (elattn_i64)mask_kblocks;
}

/* Whole rule for one pair; `mask_row` is the mask row of query i's block
 * (only read for BLOCK_SPARSE). Kernels use the tile rule below to skip work
 * and this one only inside tiles classified ELATTN_TILE_PARTIAL. */
ELATTN_FN elattn_i32 elattn_pair_visible(elattn_i32 mode, elattn_i32 causal,
                                         elattn_i32 p, elattn_i32 j,
                                         elattn_i32 sink, elattn_i32 local,
                                         elattn_i32 block_size,
                                         const ELATTN_GLOBAL elattn_u8 *mask_row)
{
    if (!elattn_causal_ok(causal, p, j)) return 0;
    if (mode == ELATTN_MODE_STREAMING) return elattn_streaming_ok(causal, p, j, sink, local);
    if (mode == ELATTN_MODE_BLOCK_SPARSE) return mask_row[j / block_size] != 0;
    return 1;
}

/* ---- tile visibility -----------------------------------------------------
 * For queries i in [i0, i1) and keys j in [j0, j1) of one (element, head):
 *   ELATTN_TILE_SKIP:    no pair visible, the kernel does not load the keys;
 *   ELATTN_TILE_ALL:     every pair visible, no per-pair test;
 *   ELATTN_TILE_PARTIAL: test each pair with elattn_pair_visible.
 * Callers clip i1 <= Lq and j1 <= Lk. SKIP is exact for every mode: a tile
 * that is not SKIP holds a visible pair (kernels/tests/walk_checks.c
 * proves it exhaustively). */
#define ELATTN_TILE_SKIP 0
#define ELATTN_TILE_ALL 1
#define ELATTN_TILE_PARTIAL 2

/* Causal part: p ranges over [pmin, pmax]. */
ELATTN_FN elattn_i32 elattn_tile_causal(elattn_i32 causal, elattn_i32 pmin, elattn_i32 pmax,
                                        elattn_i32 j0, elattn_i32 j1)
{
    if (!causal) return ELATTN_TILE_ALL;
    if (j0 > pmax) return ELATTN_TILE_SKIP;
    if (j1 - 1 <= pmin) return ELATTN_TILE_ALL;
    return ELATTN_TILE_PARTIAL;
}

/* STREAMING without the causal rule (elattn_walk_class meets the two). */
ELATTN_FN elattn_i32 elattn_tile_streaming(elattn_i32 causal, elattn_i32 pmin, elattn_i32 pmax,
                                           elattn_i32 j0, elattn_i32 j1,
                                           elattn_i32 sink, elattn_i32 local)
{
    /* The distance tests are written so that no difference can overflow
     * (positions may be negative when Lq > Lk, windows up to INT_MAX): each
     * subtraction is guarded by the sign of its result, or has operands of
     * the same sign. */
    elattn_i32 in_sink_all = j1 <= sink;
    elattn_i32 in_sink_none = j0 >= sink;
    /* p - j < local for every pair: the largest p - j is pmax - j0 */
    elattn_i32 win_all = pmax < j0 || pmax - j0 < local;
    /* p - j >= local for every pair: the smallest p - j is pmin - (j1 - 1) */
    elattn_i32 win_none = pmin >= j1 - 1 && pmin - (j1 - 1) >= local;
    if (!causal) {
        /* |p - j| < local for every pair also needs (j1 - 1) - pmin < local */
        win_all = win_all && (j1 - 1) - local < pmin;
        /* or no pair within `local` on the other side: j0 - pmax >= local */
        win_none = win_none || j0 - local >= pmax;
    }
    if (in_sink_none && win_none) return ELATTN_TILE_SKIP;
    if (in_sink_all || win_all) return ELATTN_TILE_ALL;
    return ELATTN_TILE_PARTIAL;
}

/* Combine the causal class with the mode's class. */
ELATTN_FN elattn_i32 elattn_tile_meet(elattn_i32 a, elattn_i32 b)
{
    if (a == ELATTN_TILE_SKIP || b == ELATTN_TILE_SKIP) return ELATTN_TILE_SKIP;
    if (a == ELATTN_TILE_ALL && b == ELATTN_TILE_ALL) return ELATTN_TILE_ALL;
    return ELATTN_TILE_PARTIAL;
}

/* ---- the key-tile walk -----------------------------------------------------
 * Which key tiles (tile_n keys each, tile t = keys [t*tile_n, (t+1)*tile_n))
 * a query tile [i0, i1) of one (element, KV head) visits. This is the one
 * derivation of it: every kernel family, the host's work-list costs and the
 * benchmark's pair counts use it.
 *
 * With pmin, pmax the positions of the tile's first and last row and
 * last = the largest key the causal rule admits (min(pmax, Lk-1); Lk-1
 * without causality), the visible keys of the rows lie in at most two ranges:
 *   FULL, BLOCK_SPARSE  [0, last]
 *   STREAMING           the sinks [0, min(sink, last+1)) and the window
 *                       [max(0, pmin-local+1), causal ? last : min(Lk-1, pmax+local-1)]
 * The walk visits, in increasing order, the tiles that meet these ranges and
 * jumps the gap between them (a STREAMING head never scans the middle of a
 * long sequence); for BLOCK_SPARSE it also passes over tiles whose mask cells
 * admit no pair. Every key inside the ranges is visible to some row of the
 * tile, so the walk visits exactly the tiles that hold a visible pair.
 *
 * Use:
 *   elattn_tile_walk w;
 *   elattn_walk_init(&w, mode, causal, Lq, Lk, i0, i1, sink, local, tile_n,
 *                    mask_head, mask_kblocks, block_size);
 *   for (j = elattn_walk_next(&w, 0, &cls); j < w.end; j = elattn_walk_next(&w, j + 1, &cls))
 *       ... load key tile j; if (cls == ELATTN_TILE_PARTIAL) test each pair ...
 * A tile that reaches past the last key (j*tile_n + tile_n > Lk) is PARTIAL:
 * the per-pair test is then `key < Lk && elattn_pair_visible(...)`. */
typedef struct elattn_tile_walk {
    elattn_i32 mode, causal, len_k, i0, i1, sink, local, tile_n;
    elattn_i32 pmin, pmax;   /* positions of the query tile's first and last rows */
    elattn_i32 first_end;    /* tiles [0, first_end) ... */
    elattn_i32 second_begin; /* ... and [second_begin, end) */
    elattn_i32 end;          /* one past the last tile visited */
    /* BLOCK_SPARSE: the mask rows of the query tile's blocks qb0..qb1 (mask_rows is row qb0's,
     * the next ones mask_kblocks bytes apart); a block is 1 << block_shift tokens. Found once
     * here so that a tile's class costs shifts and a mask read, not divisions: the producer of
     * the wgmma family walks alone for its consumers, and every family walks past unset cells. */
    const ELATTN_GLOBAL elattn_u8 *mask_rows;
    elattn_i32 mask_kblocks, block_shift, qb0, qb1;
} elattn_tile_walk;

/* mask_head: the head's [mask_qblocks][mask_kblocks] table, only read for BLOCK_SPARSE (a
 * BLOCK_SPARSE walk without one visits nothing); block_size: a power of two (as the API requires). */
ELATTN_FN void elattn_walk_init(elattn_tile_walk *w, elattn_i32 mode, elattn_i32 causal,
                                elattn_i32 len_q, elattn_i32 len_k, elattn_i32 i0, elattn_i32 i1,
                                elattn_i32 sink, elattn_i32 local, elattn_i32 tile_n,
                                const ELATTN_GLOBAL elattn_u8 *mask_head,
                                elattn_i32 mask_kblocks, elattn_i32 block_size)
{
    elattn_i32 pmin = elattn_query_pos(i0, len_q, len_k);
    elattn_i32 pmax = elattn_query_pos(i1 - 1, len_q, len_k);
    w->mode = mode;
    w->causal = causal;
    w->len_k = len_k;
    w->i0 = i0;
    w->i1 = i1;
    w->sink = sink;
    w->local = local;
    w->tile_n = tile_n;
    w->pmin = pmin;
    w->pmax = pmax;
    w->first_end = w->second_begin = w->end = 0;
    w->mask_rows = mask_head;
    w->mask_kblocks = mask_kblocks;
    w->block_shift = w->qb0 = w->qb1 = 0;
    if (mode == ELATTN_MODE_BLOCK_SPARSE && mask_head && i1 > i0) {
        while (w->block_shift < 30 && (1 << w->block_shift) < block_size) ++w->block_shift; /* bounded: no shift past int */
        w->qb0 = i0 >> w->block_shift;
        w->qb1 = (i1 - 1) >> w->block_shift;
        w->mask_rows = mask_head + (elattn_i64)w->qb0 * mask_kblocks;
    }
    elattn_i32 last = len_k - 1;
    if (causal && pmax < last) last = pmax;
    if (i1 <= i0 || last < 0) return; /* no row, or no key any row may see */
    if (mode == ELATTN_MODE_BLOCK_SPARSE && !mask_head) return;

    elattn_i32 first_end = last / tile_n + 1; /* FULL, BLOCK_SPARSE: [0, last] */
    elattn_i32 second_begin = first_end, end = first_end;
    if (mode == ELATTN_MODE_STREAMING) {
        elattn_i32 sink_keys = sink < last + 1 ? sink : last + 1;
        first_end = (sink_keys + tile_n - 1) / tile_n;
        elattn_i64 lo = (elattn_i64)pmin - local + 1;
        elattn_i64 hi = causal ? (elattn_i64)last : (elattn_i64)pmax + local - 1;
        if (lo < 0) lo = 0;
        if (hi > last) hi = last;
        if (hi < lo) { /* no window key: the sinks alone */
            second_begin = end = first_end;
        } else {
            second_begin = (elattn_i32)(lo / tile_n);
            end = (elattn_i32)(hi / tile_n) + 1;
            if (second_begin <= first_end) { /* the ranges meet: one run of tiles */
                if (end < first_end) end = first_end;
                first_end = second_begin = end;
            }
        }
    }
    w->first_end = first_end;
    w->second_begin = second_begin;
    w->end = end;
}

/* BLOCK_SPARSE, the causal rule included: every mask cell that key tile [j0, j1) meets is
 * classified on its own sub-rectangle, so a set cell that lies wholly above the diagonal does not
 * make the tile visible. `whole` is the causal class of the whole tile (not SKIP). A tile inside
 * one mask cell (tiles no larger than the blocks, aligned: the common case) costs one mask read;
 * kernels walk past many unset cells, so this path is kept short. */
ELATTN_FN elattn_i32 elattn_walk_blocks(const elattn_tile_walk *w, elattn_i32 j0, elattn_i32 j1, elattn_i32 whole)
{
    const elattn_i32 sh = w->block_shift, block = 1 << sh;
    const elattn_i32 kb0 = j0 >> sh, kb1 = (j1 - 1) >> sh;
    if (w->qb0 == w->qb1 && kb0 == kb1) /* one cell: its sub-rectangle is the whole tile */
        return w->mask_rows[kb0] != 0 ? whole : ELATTN_TILE_SKIP;
    elattn_i32 any = 0, all = 1;
    const ELATTN_GLOBAL elattn_u8 *row = w->mask_rows;
    for (elattn_i32 qb = w->qb0; qb <= w->qb1; ++qb, row += w->mask_kblocks) {
        const elattn_i32 b0 = qb << sh;
        const elattn_i32 r0 = b0 > w->i0 ? b0 : w->i0;
        const elattn_i32 r1 = w->i1 - b0 > block ? b0 + block : w->i1;
        /* positions of rows r0 and r1 - 1: elattn_query_pos is a shift by Lk - Lq, as pmin's */
        const elattn_i32 pmin = w->pmin + (r0 - w->i0), pmax = w->pmin + (r1 - 1 - w->i0);
        for (elattn_i32 kb = kb0; kb <= kb1; ++kb) {
            const elattn_i32 k0 = kb << sh;
            const elattn_i32 c0 = k0 > j0 ? k0 : j0;
            const elattn_i32 c1 = j1 - k0 > block ? k0 + block : j1;
            const elattn_i32 c = row[kb] != 0 ? elattn_tile_causal(w->causal, pmin, pmax, c0, c1) : ELATTN_TILE_SKIP;
            any |= c != ELATTN_TILE_SKIP;
            all &= c == ELATTN_TILE_ALL;
        }
    }
    if (!any) return ELATTN_TILE_SKIP;
    return all ? ELATTN_TILE_ALL : ELATTN_TILE_PARTIAL;
}

/* The whole tile rule: the class of key tile j (inside the walk's ranges) for the walk's query
 * tile, the causal class met with the mode's; PARTIAL when it reaches past Lk. */
ELATTN_FN elattn_i32 elattn_walk_class(const elattn_tile_walk *w, elattn_i32 j)
{
    const elattn_i32 j0 = j * w->tile_n;
    const elattn_i32 j1 = w->len_k - j0 > w->tile_n ? j0 + w->tile_n : w->len_k;
    elattn_i32 c = elattn_tile_causal(w->causal, w->pmin, w->pmax, j0, j1);
    if (c != ELATTN_TILE_SKIP && w->mode == ELATTN_MODE_STREAMING)
        c = elattn_tile_meet(c, elattn_tile_streaming(w->causal, w->pmin, w->pmax, j0, j1, w->sink, w->local));
    else if (c != ELATTN_TILE_SKIP && w->mode == ELATTN_MODE_BLOCK_SPARSE)
        c = elattn_walk_blocks(w, j0, j1, c);
    if (c == ELATTN_TILE_ALL && j1 - j0 < w->tile_n) c = ELATTN_TILE_PARTIAL;
    return c;
}

/* The first visited tile >= j and its class (*cls), or w->end when none is left, with *cls
 * ELATTN_TILE_SKIP (set, not left as it was: a caller that packs the pair unconditionally,
 * as a kernel handing the walk to other warps does, must not pass on an unset value). */
ELATTN_FN elattn_i32 elattn_walk_next(const elattn_tile_walk *w, elattn_i32 j, elattn_i32 *cls)
{
    for (;; ++j) {
        if (j >= w->first_end && j < w->second_begin) j = w->second_begin;
        if (j >= w->end) {
            *cls = ELATTN_TILE_SKIP;
            return w->end;
        }
        elattn_i32 c = elattn_walk_class(w, j);
        if (c != ELATTN_TILE_SKIP) {
            *cls = c;
            return j;
        }
    }
}

/* Tiles in the walk's ranges: exactly the tiles visited for FULL and
 * STREAMING; for BLOCK_SPARSE an upper bound (the mask is not consulted), as
 * the host's work-list costs need it. */
ELATTN_FN elattn_i32 elattn_walk_range_tiles(const elattn_tile_walk *w)
{
    return w->first_end + (w->end - w->second_begin);
}

/* Tile number t (0 <= t < elattn_walk_range_tiles) of the walk's ranges, in increasing order.
 * With each one's elattn_walk_class a kernel can judge many tiles at once (the wgmma family's
 * producer judges 32, a lane each) and visit the tiles elattn_walk_next visits: those whose
 * class is not SKIP (kernels/tests/walk_checks.c compares the two). */
ELATTN_FN elattn_i32 elattn_walk_tile_at(const elattn_tile_walk *w, elattn_i32 t)
{
    return t < w->first_end ? t : w->second_begin + (t - w->first_end);
}

/* The visible keys of one query row i < Lq of a FULL or STREAMING head as
 * ranges: key j is visible iff j < first_end or second_begin <= j < end.
 * It is the walk of that one row at tile width 1, which visits exactly the
 * row's visible keys (kernels/tests/walk_checks.c compares it with
 * elattn_pair_visible pair by pair). Kernels mask a PARTIAL tile of these
 * modes with it: three compares per pair, the row's part done once. */
typedef struct elattn_row_keys {
    elattn_i32 first_end, second_begin, end;
} elattn_row_keys;

ELATTN_FN elattn_row_keys elattn_row_key_ranges(elattn_i32 mode, elattn_i32 causal, elattn_i32 len_q,
                                                elattn_i32 len_k, elattn_i32 i, elattn_i32 sink,
                                                elattn_i32 local)
{
    elattn_tile_walk w;
    elattn_row_keys r;
    elattn_walk_init(&w, mode, causal, len_q, len_k, i, i + 1, sink, local, 1, 0, 0, 1);
    r.first_end = w.first_end;
    r.second_begin = w.second_begin;
    r.end = w.end;
    return r;
}

/* A BLOCK_SPARSE row over a key tile that lies inside one key block (the
 * block j0 / block_size, j0 a key of the tile): elattn_pair_visible's rule
 * for its pairs decided once per row and tile, as key ranges. They are the
 * row's FULL (causal) ranges, full = elattn_row_key_ranges(ELATTN_MODE_FULL,
 * ...), when the block's mask cell is set, and empty otherwise. */
ELATTN_FN elattn_row_keys elattn_block_row_keys(elattn_row_keys full, const ELATTN_GLOBAL elattn_u8 *mask_row,
                                                elattn_i32 j0, elattn_i32 block_size)
{
    if (!mask_row[j0 / block_size]) full.first_end = full.second_begin = full.end = 0;
    return full;
}

/* Visible keys of query row i, counted exactly: the sizes of its key ranges
 * (FULL, STREAMING), or the keys of the set blocks of its mask row up to the
 * causal edge (BLOCK_SPARSE; mask_row = the row's mask cells). */
ELATTN_FN elattn_i64 elattn_row_visible_keys(elattn_i32 mode, elattn_i32 causal,
                                             elattn_i32 len_q, elattn_i32 len_k, elattn_i32 i,
                                             elattn_i32 sink, elattn_i32 local,
                                             const ELATTN_GLOBAL elattn_u8 *mask_row,
                                             elattn_i32 block_size)
{
    elattn_i32 sparse = mode == ELATTN_MODE_BLOCK_SPARSE;
    elattn_row_keys r = elattn_row_key_ranges(sparse ? ELATTN_MODE_FULL : mode, causal, len_q, len_k, i,
                                              sink, local);
    if (!sparse) return r.first_end + (elattn_i64)(r.end - r.second_begin);
    elattn_i64 n = 0; /* keys [0, r.end) lie in the causal range */
    for (elattn_i32 kb = 0; (elattn_i64)kb * block_size < r.end; ++kb)
        if (mask_row[kb]) {
            elattn_i64 k0 = (elattn_i64)kb * block_size, k1 = k0 + block_size;
            n += (k1 < r.end ? k1 : r.end) - k0;
        }
    return n;
}

/* ---- work items ------------------------------------------------------------
 * A fused attention launch takes one work item per thread block (work-group)
 * from a list the host builds (backends/common/worklist.h), longest first.
 * Four int32s: the same layout in C, CUDA/HIP and OpenCL C (an int4). */
typedef struct elattn_work_item {
    elattn_i32 b;     /* batch element */
    elattn_i32 head;  /* KV head when one item covers a whole query-head group, else the query head */
    elattn_i32 qtile; /* query tile: rows [qtile * tile_m, (qtile + 1) * tile_m) of the element */
    elattn_i32 cost;  /* key tiles the walk visits (orders the list; kernels ignore it) */
} elattn_work_item;

/* What a work item names, decoded once per thread block. heads_per_item
 * query heads of one KV group share the item (1: one query head; the group
 * size: a whole group, as packed-GQA kernels take it), so item.head counts
 * runs of that many query heads; `positions` query positions per item. */
typedef struct elattn_item_view {
    elattn_i32 b, hk, head0, mode;     /* element, KV head, first query head, its mode */
    elattn_i32 q_start, len_q;         /* the element's query rows */
    elattn_i32 k_start, len_k;         /* and key rows */
    elattn_i32 i0, i1;                 /* the item's query rows [i0, i1) of the element */
    elattn_i64 mask_offset;            /* of the head's mask table (read for BLOCK_SPARSE only) */
} elattn_item_view;

ELATTN_FN elattn_item_view elattn_item_decode(const elattn_attn_params *p, elattn_work_item item,
                                              elattn_i32 heads_per_item, elattn_i32 positions,
                                              const ELATTN_GLOBAL elattn_i32 *cu_seqlens_q,
                                              const ELATTN_GLOBAL elattn_i32 *cu_seqlens_k,
                                              const ELATTN_GLOBAL elattn_i32 *modes)
{
    elattn_item_view v;
    v.b = item.b;
    v.head0 = item.head * heads_per_item;
    v.hk = v.head0 / p->group;
    v.mode = modes[v.b * p->num_kv_heads + v.hk];
    v.q_start = cu_seqlens_q[v.b];
    v.len_q = cu_seqlens_q[v.b + 1] - v.q_start;
    v.k_start = cu_seqlens_k[v.b];
    v.len_k = cu_seqlens_k[v.b + 1] - v.k_start;
    v.i0 = item.qtile * positions;
    v.i1 = v.len_q - v.i0 > positions ? v.i0 + positions : v.len_q;
    v.mask_offset = elattn_mask_row(v.b, v.hk, 0, p->num_kv_heads, p->mask_qblocks, p->mask_kblocks);
    return v;
}

/* ---- the epilogue rule -------------------------------------------------------
 * Kernels keep, per row, the running max m of the scores in log2 units
 * (score * scale * log2(e)) and the sum l of exp2(score * scale_log2 - base).
 * A row that saw no visible key has m = -inf and l = 0: it gives O = 0 and
 * LSE = -inf, never NaN. */
#define ELATTN_LN2 0.69314718055994531f

/* What the online softmax subtracts: 0 while nothing is visible (m = -inf),
 * so that exp2(-inf - base) = 0 instead of NaN. */
ELATTN_FN float elattn_softmax_base(float m_log2) { return m_log2 == -INFINITY ? 0.0f : m_log2; }

/* The factor O is multiplied by at the end: 1/l, or 0 for an empty row. */
ELATTN_FN float elattn_row_inv_sum(float l) { return l > 0.0f ? 1.0f / l : 0.0f; }

/* LSE (natural log) from the log2-domain max and the sum; -inf for an empty row. */
ELATTN_FN float elattn_row_lse(float m_log2, float l)
{
    return l > 0.0f ? (m_log2 + ELATTN_LOG2F(l)) * ELATTN_LN2 : -INFINITY;
}

/* ---- merging two partial states (elattn_merge_states) ------------------------
 * The weights of O1 and O2 in the merged row, w_i = e^lse_i / (e^lse1 + e^lse2),
 * computed relative to m = max(lse1, lse2); returns the merged LSE. Both -inf:
 * weights 0 (O = 0) and -inf. Every backend's merge kernel calls this. */
#define ELATTN_LOG2E 1.4426950408889634f
ELATTN_FN float elattn_merge_weights(float lse1, float lse2, float *w1, float *w2)
{
    const float m = lse1 > lse2 ? lse1 : lse2;
    if (m == -INFINITY) {
        *w1 = 0.0f;
        *w2 = 0.0f;
        return -INFINITY;
    }
    const float a = ELATTN_EXP2F((lse1 - m) * ELATTN_LOG2E), b = ELATTN_EXP2F((lse2 - m) * ELATTN_LOG2E);
    const float sum = a + b; /* >= 1: the larger side gives exp(0) */
    *w1 = a / sum;
    *w2 = b / sum;
    return m + ELATTN_LOG2F(sum) * ELATTN_LN2;
}

/* Merging n partial states at once (a split-KV decode's chunks): with m the largest of their
 * LSEs, partial c's unnormalised weight is elattn_merge_scale(lse_c, m) = e^(lse_c - m) (0 for
 * an empty partial; the largest gives 1, so the sum is >= 1 unless all are empty), O = sum_c
 * scale_c O_c / sum, and the merged LSE is elattn_merge_lse(m, sum). The same as folding the
 * partials pairwise with elattn_merge_weights, up to rounding. */
ELATTN_FN float elattn_merge_scale(float lse_c, float m)
{
    return m == -INFINITY ? 0.0f : ELATTN_EXP2F((lse_c - m) * ELATTN_LOG2E);
}

ELATTN_FN float elattn_merge_lse(float m, float sum)
{
    return m == -INFINITY ? -INFINITY : m + ELATTN_LOG2F(sum) * ELATTN_LN2;
}

/* ---- decode over the per-head KV cache (SPEC.md section 9) ------------------------
 * A cache holds, per (sequence, KV head), the K/V rows of the positions its mode keeps,
 * in "slots" (slot s lives in row s % P of page page_table[seq][hk][s / P], P the page
 * size, a power of two):
 *   FULL, BLOCK_SPARSE  every position t, in slot t;
 *   STREAMING           positions t < sink in slot t (the sinks), and the last `ring`
 *                       positions in ring slots: t >= sink in slot sink + (t - sink) % ring,
 *                       ring = local + max_new - 1 (max_new: the most new tokens a decode
 *                       step takes, so that the first new query still finds its window
 *                       after the step's tokens were appended).
 * A decode query at position p (the step's new tokens sit at [len - n, len), len the
 * cached length after the append) sees key t by the prefill pair rule, causal:
 * t <= p and, STREAMING, (t < sink or p - t < local). BLOCK_SPARSE decodes as FULL (over every
 * page, or over the pages Quest selects: section 9b below). */
ELATTN_FN elattn_i32 elattn_kv_ring(elattn_i32 local, elattn_i32 max_new) { return local + max_new - 1; }

/* Slots a (sequence, head) of `len` positions occupies. */
ELATTN_FN elattn_i64 elattn_kv_slots(elattn_i32 mode, elattn_i32 sink, elattn_i32 ring, elattn_i64 len)
{
    if (mode != ELATTN_MODE_STREAMING) return len;
    elattn_i64 cap = (elattn_i64)sink + ring;
    return len < cap ? len : cap;
}

/* Slot of position t (t < len); -1 when the cache no longer holds it (evicted). */
ELATTN_FN elattn_i64 elattn_kv_slot_of(elattn_i32 mode, elattn_i32 sink, elattn_i32 ring, elattn_i64 len,
                                       elattn_i64 t)
{
    if (mode != ELATTN_MODE_STREAMING || t < sink) return t;
    if (t < len - ring) return -1;
    return sink + (t - sink) % ring;
}

/* Position held in slot s (s < elattn_kv_slots(...)): the newest t < len that maps to s. */
ELATTN_FN elattn_i64 elattn_kv_position_of(elattn_i32 mode, elattn_i32 sink, elattn_i32 ring, elattn_i64 len,
                                           elattn_i64 s)
{
    if (mode != ELATTN_MODE_STREAMING || s < sink) return s;
    elattn_i64 r = s - sink; /* ring index; (len - 1 - sink - r) >= 0 for an occupied slot */
    return sink + r + (elattn_i64)ring * ((len - 1 - sink - r) / ring);
}

/* The decode pair rule (the prefill rule, causal, with BLOCK_SPARSE as FULL). */
ELATTN_FN elattn_i32 elattn_decode_visible(elattn_i32 mode, elattn_i64 p, elattn_i64 t, elattn_i32 sink,
                                           elattn_i32 local)
{
    if (t > p) return 0;
    if (mode != ELATTN_MODE_STREAMING) return 1;
    return t < sink || p - t < local;
}

/* The slots every query of a decode step (positions len - n .. len - 1) sees, so that kernels can
 * skip the per-pair test on whole ranges of them:
 *   - the slots below `direct`, whose positions are the slots: FULL and BLOCK_SPARSE up to
 *     len - n + 1 (t <= p for every query), STREAMING its sinks up to that bound;
 *   - STREAMING only: the `ring_count` ring indices (slot - sink) from `ring_first` on, cyclically
 *     (mod ring): the positions max(len - local, sink) .. len - n, which the newest query still sees
 *     through its window and the oldest already sees causally. A ring holds them contiguously
 *     modulo its size, so one remainder per head (here) replaces a division per slot.
 * Lengths are int32 (elattn_kv_cache_desc.max_tokens). */
typedef struct elattn_decode_seen {
    elattn_i32 direct, sink, ring, ring_first, ring_count;
} elattn_decode_seen;

ELATTN_FN elattn_decode_seen elattn_decode_seen_of(elattn_i32 mode, elattn_i32 sink, elattn_i32 ring,
                                                   elattn_i32 local, elattn_i32 len, elattn_i32 n)
{
    elattn_decode_seen v;
    const elattn_i32 causal_end = len - n + 1; /* positions below this are <= every query's */
    v.sink = sink;
    v.ring = ring;
    v.ring_first = 0;
    v.ring_count = 0;
    if (mode != ELATTN_MODE_STREAMING) {
        v.direct = causal_end;
        return v;
    }
    v.direct = sink < causal_end ? sink : causal_end;
    {
        const elattn_i32 first = len - local > sink ? len - local : sink; /* oldest position in every window */
        if (causal_end > first) {
            v.ring_count = causal_end - first; /* <= local <= ring */
            v.ring_first = v.ring_count < ring ? (first - sink) % ring : 0; /* the whole ring: from 0, no wrap */
        }
    }
    return v;
}

/* Whether every query of the step sees every slot in [begin, end) (end <= the head's
 * elattn_kv_slots): a range below v->direct, or a range of ring slots inside the cyclic run. */
ELATTN_FN elattn_i32 elattn_decode_all_visible(const elattn_decode_seen *v, elattn_i32 begin, elattn_i32 end)
{
    elattn_i32 d;
    if (end <= v->direct) return 1;
    if (v->ring_count == 0 || begin < v->sink) return 0;
    d = begin - v->sink - v->ring_first; /* the range's offset into the run, mod ring */
    if (d < 0) d += v->ring;
    return d + (end - begin) <= v->ring_count;
}

/* Split-KV: the occupied slots [0, slots) of a (sequence, head) are cut into `splits`
 * contiguous chunks of ceil(slots / splits) slots; chunk c is [*s0, *s1) (empty past the end).
 * Each chunk gives a partial (O, LSE) over its visible keys; the partials are merged in chunk
 * order with elattn_merge_weights (the order does not change the result beyond rounding). */
ELATTN_FN void elattn_decode_split(elattn_i64 slots, elattn_i32 splits, elattn_i32 c, elattn_i64 *s0,
                                   elattn_i64 *s1)
{
    elattn_i64 per = (slots + splits - 1) / splits;
    elattn_i64 a = per * c, b = a + per;
    if (a > slots) a = slots;
    if (b > slots) b = slots;
    *s0 = a;
    *s1 = b;
}

/* Element offset of element 0 of slot s of a head in a page pool [num_pages][P][D], given the
 * page that holds it (head_pages[s >> page_shift]; kernels that look pages up ahead use this). */
ELATTN_FN elattn_i64 elattn_kv_page_offset(elattn_i64 page, elattn_i32 page_shift, elattn_i32 head_dim, elattn_i64 s)
{
    return ((page << page_shift) + (s & (((elattn_i64)1 << page_shift) - 1))) * head_dim;
}

/* The same, looking the page up. */
ELATTN_FN elattn_i64 elattn_kv_slot_offset(const ELATTN_GLOBAL elattn_i32 *head_pages, elattn_i32 page_shift,
                                           elattn_i32 head_dim, elattn_i64 s)
{
    return elattn_kv_page_offset(head_pages[s >> page_shift], page_shift, head_dim, s);
}

/* ---- Quest page selection for BLOCK_SPARSE heads in decode (SPEC.md section 9b) ----
 * Off unless a decode plan has a page budget B > 0 (elattn_decode_desc.page_budget) and then only for
 * BLOCK_SPARSE heads; FULL and STREAMING heads never change. For a BLOCK_SPARSE head of cached length
 * len whose step appended n tokens, with pages of P = 2^page_shift slots (slot = position):
 *   - the tail: pages tail .. ceil(len / P) - 1, tail = (len - n) / P, hold the step's new tokens
 *     and are always read;
 *   - page 0 (the attention sinks) is always read when it is below the tail;
 *   - the candidates, pages 1 .. tail - 1, are ranked by a score and the B first are read
 *     (all of them when there are no more than B);
 *   - a page's score is an fp32 sum of elattn_quest_term(q[r][g][d], kmin[d], kmax[d]) over the
 *     step's new tokens r, the group's query heads g and the dimensions d, kmin and kmax the fp32
 *     minimum and maximum of the page's key rows per dimension (elattn_kv_cache_desc.
 *     page_summaries): an upper bound of the group's q.k over the page (scale > 0 does not change
 *     the order). The order of additions is fixed (every backend adds the same way, and products
 *     of 16-bit values are exact in fp32, so every backend selects the same pages): per (r, g),
 *     ELATTN_QUEST_LANES running sums, lane l adding the terms of d = l, l + 8, ... in turn, joined
 *     by elattn_quest_join; then those per-(r, g) sums added one by one, r outer, g inner. (Eight
 *     lanes: eight independent additions in flight per page on a GPU, not one chain of n G D.);
 *   - the ranking is elattn_quest_before: higher score first, the lower page on a tie, a NaN
 *     score last.
 * The selected pages, in ascending page order, read as the pages of a FULL head of length
 * elattn_quest_length(...): the tail keeps its positions relative to the query positions, so the
 * decode rule (causal, bottom-right) over that compacted head is the rule over the selected
 * positions. */
ELATTN_FN elattn_i64 elattn_quest_tail(elattn_i64 len, elattn_i32 n, elattn_i32 page_shift)
{
    return (len - n) >> page_shift;
}

/* Pages read below the tail: page 0 and the min(B, tail - 1) best candidates (none when tail = 0). */
ELATTN_FN elattn_i64 elattn_quest_kept_below(elattn_i64 len, elattn_i32 n, elattn_i32 page_shift, elattn_i32 budget)
{
    const elattn_i64 tail = elattn_quest_tail(len, n, page_shift);
    return tail < (elattn_i64)budget + 1 ? tail : (elattn_i64)budget + 1;
}

/* Length of the compacted FULL head (selected pages, ascending): len less the skipped pages. */
ELATTN_FN elattn_i64 elattn_quest_length(elattn_i64 len, elattn_i32 n, elattn_i32 page_shift, elattn_i32 budget)
{
    return len - ((elattn_quest_tail(len, n, page_shift) - elattn_quest_kept_below(len, n, page_shift, budget))
                  << page_shift);
}

/* One term of a page's score: the largest q_d * k_d over k_d in [kmin, kmax]. The products are
 * rounded on their own, never fused into the sum that follows (FMA contraction would change the
 * scores' last bits, and with them the pages chosen on a near tie): __fmul_rn on CUDA and HIP
 * devices, FP_CONTRACT off in OpenCL C; host C is built as ISO C11, where GCC does not contract. */
ELATTN_FN float elattn_quest_term(float q, float kmin, float kmax)
{
#if defined(__OPENCL_VERSION__)
#pragma OPENCL FP_CONTRACT OFF
#endif
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    const float a = __fmul_rn(q, kmin), b = __fmul_rn(q, kmax);
#else
    const float a = q * kmin, b = q * kmax;
#endif
    return a > b ? a : b;
}

/* The lanes of one (r, g)'s sum, joined pairwise: ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)). */
#define ELATTN_QUEST_LANES 8
ELATTN_FN float elattn_quest_join(const float *lane)
{
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* Whether candidate page pa (score sa) ranks before page pb (score sb). */
ELATTN_FN elattn_i32 elattn_quest_before(float sa, elattn_i64 pa, float sb, elattn_i64 pb)
{
    if (sa != sa) sa = -INFINITY; /* NaN last (it can only come from non-finite inputs) */
    if (sb != sb) sb = -INFINITY;
    return sa > sb || (sa == sb && pa < pb);
}

/* ---- XAttention (antidiagonal) estimation --------------------------------
 * Stride S, block B (B % S == 0). Reshaped query row i (i < ceil(Lq/S)) is
 * concat_t Q[i*S + S-1-t], reshaped key column j (j < ceil(Lk/S)) is
 * concat_t K[j*S + t], t = 0..S-1, rows past the sequence read as zeros.
 * Score(i, j) = Qt[i].Kt[j] * scale / S. Column j is visible to row i when its
 * first key j*S is visible (causal rule, bottom-right) from the row's last
 * real query. The softmax runs over visible columns of a row in fp32; block
 * (qb, kb) sums rows i in [qb*B/S, (qb+1)*B/S) and columns likewise; with GQA
 * the group's query heads' block sums are added. Selection per query block
 * row: key block 0 and the diagonal block (the one holding the row's last
 * query position; clipped to the last key block) are kept; the other visible
 * blocks follow in descending score (ties: lower index first) while the sum of
 * the scores already kept (forced blocks included) is below tau * row total. */

/* Step t (0 <= t < stride) of reshaped query row i reads this query position
 * (the row's group of stride queries read in reverse) ... */
ELATTN_FN elattn_i32 elattn_xattn_q_pos(elattn_i32 i, elattn_i32 t, elattn_i32 stride)
{
    return i * stride + stride - 1 - t;
}

/* ... and step t of reshaped key column j this key position. */
ELATTN_FN elattn_i32 elattn_xattn_k_pos(elattn_i32 j, elattn_i32 t, elattn_i32 stride)
{
    return j * stride + t;
}

/* Position of reshaped row i's last real query (step 0 reads the group's last). */
ELATTN_FN elattn_i32 elattn_xattn_row_last_pos(elattn_i32 i, elattn_i32 stride,
                                               elattn_i32 len_q, elattn_i32 len_k)
{
    elattn_i32 last = elattn_xattn_q_pos(i, 0, stride);
    if (last > len_q - 1) last = len_q - 1;
    return elattn_query_pos(last, len_q, len_k);
}

ELATTN_FN elattn_i32 elattn_xattn_col_visible(elattn_i32 causal, elattn_i32 i, elattn_i32 j,
                                              elattn_i32 stride, elattn_i32 len_q,
                                              elattn_i32 len_k)
{
    return elattn_causal_ok(causal, elattn_xattn_row_last_pos(i, stride, len_q, len_k),
                            elattn_xattn_k_pos(j, 0, stride));
}

/* Diagonal key block of query block qb (bottom-right), clipped to [0, nkb-1]. */
ELATTN_FN elattn_i32 elattn_xattn_diag_block(elattn_i32 qb, elattn_i32 block_size,
                                             elattn_i32 len_q, elattn_i32 len_k)
{
    elattn_i32 last = qb * block_size + block_size - 1;
    if (last > len_q - 1) last = len_q - 1;
    elattn_i32 kb = elattn_query_pos(last, len_q, len_k) / block_size;
    elattn_i32 nkb = (len_k + block_size - 1) / block_size;
    if (kb > nkb - 1) kb = nkb - 1;
    if (kb < 0) kb = 0;
    return kb;
}

/* ---- the router -----------------------------------------------------------
 * Weights in PyTorch Linear layout (weight [out][in]), fp32:
 *   task:   W1 [rD][D], b1 [rD], W2 [D][rD], b2 [D]
 *   router: W3 [rD][D], b3 [rD], W4 [D][rD], b4 [D], W5 [2][D], b5 [2]
 * pooled = mean of keys [0, P) and [L-P, L), each token counted once (all L
 * tokens when L < 2P); logits = W5 silu(W4 silu(W3 t + b3) + b4) + b5 with
 * t = W2 silu(W1 pooled + b1) + b2; class 1 (logit1 > logit0) picks the
 * layer's retrieval mode, class 0 its sparse mode. */
ELATTN_FN elattn_i32 elattn_router_pool_count(elattn_i32 len)
{
    return len < 2 * ELATTN_ROUTER_POOL_TOKENS ? len : 2 * ELATTN_ROUTER_POOL_TOKENS;
}

/* Token index of the t-th pooled token (t < elattn_router_pool_count(len)). */
ELATTN_FN elattn_i32 elattn_router_pool_token(elattn_i32 t, elattn_i32 len)
{
    if (len < 2 * ELATTN_ROUTER_POOL_TOKENS || t < ELATTN_ROUTER_POOL_TOKENS) return t;
    return len - 2 * ELATTN_ROUTER_POOL_TOKENS + t;
}

#endif /* ELATTN_SPEC_H */

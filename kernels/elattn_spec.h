/*
 * elattn kernel spec: the one definition of what every backend computes.
 *
 * This header compiles as C99 (reference, host code), as CUDA/HIP C++ and as
 * OpenCL C (it is prepended to the OpenCL sources at build time). It holds:
 *   - the mode enumeration and the per-call parameter block that host code
 *     fills and kernels read (scalars only, so its layout is identical in all
 *     three languages and it can be passed by value to an OpenCL kernel);
 *   - the visibility rule of a (query, key) pair, and of a (query tile,
 *     key tile) rectangle, which every kernel uses to skip or mask work;
 *   - the layout of the block masks and mode tables;
 *   - the default tile sizes (a backend may override them with -D).
 * kernels/SPEC.md states the semantics in prose; this file is the code form.
 */
#ifndef ELATTN_SPEC_H
#define ELATTN_SPEC_H

/* ---- language glue ------------------------------------------------------ */
#if defined(__OPENCL_VERSION__)
#  define ELATTN_FN static inline
#  define ELATTN_GLOBAL __global
typedef int elattn_i32;
typedef uint elattn_u32;
typedef uchar elattn_u8;
#elif defined(__CUDACC__) || defined(__HIPCC__)
#  define ELATTN_FN static __host__ __device__ __forceinline__
#  define ELATTN_GLOBAL
#  include <stdint.h>
typedef int32_t elattn_i32;
typedef uint32_t elattn_u32;
typedef uint8_t elattn_u8;
#else
#  define ELATTN_FN static inline
#  define ELATTN_GLOBAL
#  include <stdint.h>
typedef int32_t elattn_i32;
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

/* ---- default tile sizes --------------------------------------------------
 * Query rows and keys per tile of the fused kernel. Backends tune these per
 * device; the only rule the spec imposes is that mask blocks are handled at
 * any tile size (a tile may cover part of a mask block or several of them). */
#ifndef ELATTN_TILE_M
#define ELATTN_TILE_M 64
#endif
#ifndef ELATTN_TILE_N
#define ELATTN_TILE_N 64
#endif

/* Largest supported head dim and block-mask block size, for fixed arrays. */
#define ELATTN_MAX_HEAD_DIM 256
#define ELATTN_ROUTER_POOL_TOKENS 100 /* P: tokens pooled at each end */

/* ---- the per-call parameter block ---------------------------------------
 * Filled by host code from a validated descriptor; passed by value to kernels.
 * Only 32-bit scalars: same layout in C, CUDA/HIP and OpenCL C.
 * Tensors are packed "varlen": Q/O [total_q][Hq][D], K/V [total_k][Hkv][D],
 * rows of element b start at cu_seqlens_q[b] / cu_seqlens_k[b]. */
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
} elattn_attn_params;

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
ELATTN_FN long elattn_mask_row(elattn_i32 b, elattn_i32 hk, elattn_i32 qb,
                               elattn_i32 num_kv_heads, elattn_i32 mask_qblocks,
                               elattn_i32 mask_kblocks)
{
    return (((long)b * num_kv_heads + hk) * mask_qblocks + qb) * (long)mask_kblocks;
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
 *   ELATTN_TILE_ALL:     every pair with j < Lk visible, no per-pair test;
 *   ELATTN_TILE_PARTIAL: test each pair with elattn_pair_visible.
 * Callers clip i1 <= Lq and j1 <= Lk. This is what makes a STREAMING head
 * visit only its sink and window tiles and a causal head nothing above the
 * diagonal. */
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

ELATTN_FN elattn_i32 elattn_tile_streaming(elattn_i32 causal, elattn_i32 pmin, elattn_i32 pmax,
                                           elattn_i32 j0, elattn_i32 j1,
                                           elattn_i32 sink, elattn_i32 local)
{
    elattn_i32 in_sink_all = j1 <= sink;
    elattn_i32 in_sink_none = j0 >= sink;
    elattn_i32 win_all, win_none;
    if (causal) {
        /* p - j < local for all pairs: largest p - j is pmax - j0 */
        win_all = pmax - j0 < local;
        /* for no pair: smallest p - j is pmin - (j1 - 1) */
        win_none = pmin - (j1 - 1) >= local;
    } else {
        /* |p - j| < local for all pairs: both extreme distances inside */
        win_all = (pmax - j0 < local) && ((j1 - 1) - pmin < local);
        /* for no pair: the intervals are at least `local` apart */
        win_none = (pmin - (j1 - 1) >= local) || (j0 - pmax >= local);
    }
    if (in_sink_none && win_none) return ELATTN_TILE_SKIP;
    if (in_sink_all || win_all) return ELATTN_TILE_ALL;
    return ELATTN_TILE_PARTIAL;
}

/* Block-sparse part: mask cells of query blocks [i0/B, (i1-1)/B] x key blocks
 * [j0/B, (j1-1)/B]; `mask_head` points at the head's [mask_qblocks][mask_kblocks]
 * table. */
ELATTN_FN elattn_i32 elattn_tile_blocks(const ELATTN_GLOBAL elattn_u8 *mask_head,
                                        elattn_i32 mask_kblocks, elattn_i32 block_size,
                                        elattn_i32 i0, elattn_i32 i1,
                                        elattn_i32 j0, elattn_i32 j1)
{
    elattn_i32 any = 0, all = 1;
    for (elattn_i32 qb = i0 / block_size; qb <= (i1 - 1) / block_size; ++qb)
        for (elattn_i32 kb = j0 / block_size; kb <= (j1 - 1) / block_size; ++kb) {
            elattn_i32 set = mask_head[(long)qb * mask_kblocks + kb] != 0;
            any |= set;
            all &= set;
        }
    if (!any) return ELATTN_TILE_SKIP;
    return all ? ELATTN_TILE_ALL : ELATTN_TILE_PARTIAL;
}

/* Combine the causal class with the mode's class. */
ELATTN_FN elattn_i32 elattn_tile_meet(elattn_i32 a, elattn_i32 b)
{
    if (a == ELATTN_TILE_SKIP || b == ELATTN_TILE_SKIP) return ELATTN_TILE_SKIP;
    if (a == ELATTN_TILE_ALL && b == ELATTN_TILE_ALL) return ELATTN_TILE_ALL;
    return ELATTN_TILE_PARTIAL;
}

/* The whole tile rule. i0..i1 are query indices (not positions). */
ELATTN_FN elattn_i32 elattn_tile_class(elattn_i32 mode, elattn_i32 causal,
                                       elattn_i32 len_q, elattn_i32 len_k,
                                       elattn_i32 i0, elattn_i32 i1,
                                       elattn_i32 j0, elattn_i32 j1,
                                       elattn_i32 sink, elattn_i32 local,
                                       const ELATTN_GLOBAL elattn_u8 *mask_head,
                                       elattn_i32 mask_kblocks, elattn_i32 block_size)
{
    elattn_i32 pmin = elattn_query_pos(i0, len_q, len_k);
    elattn_i32 pmax = elattn_query_pos(i1 - 1, len_q, len_k);
    elattn_i32 c = elattn_tile_causal(causal, pmin, pmax, j0, j1);
    if (c == ELATTN_TILE_SKIP || mode == ELATTN_MODE_FULL) return c;
    if (mode == ELATTN_MODE_STREAMING)
        return elattn_tile_meet(c, elattn_tile_streaming(causal, pmin, pmax, j0, j1, sink, local));
    return elattn_tile_meet(c, elattn_tile_blocks(mask_head, mask_kblocks, block_size, i0, i1, j0, j1));
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
ELATTN_FN elattn_i32 elattn_xattn_row_last_pos(elattn_i32 i, elattn_i32 stride,
                                               elattn_i32 len_q, elattn_i32 len_k)
{
    elattn_i32 last = i * stride + stride - 1;
    if (last > len_q - 1) last = len_q - 1;
    return elattn_query_pos(last, len_q, len_k);
}

ELATTN_FN elattn_i32 elattn_xattn_col_visible(elattn_i32 causal, elattn_i32 i, elattn_i32 j,
                                              elattn_i32 stride, elattn_i32 len_q,
                                              elattn_i32 len_k)
{
    return elattn_causal_ok(causal, elattn_xattn_row_last_pos(i, stride, len_q, len_k), j * stride);
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

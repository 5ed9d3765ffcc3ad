/*
 * The interface between the GPU backends' host code (backends/gpu/) and the
 * kernel families in kernels/gpu/. Written in CUDA runtime names
 * (vendor/vendor.h maps them to HIP); everything lives in the namespace of
 * the build (elattn_cuda or elattn_hip). Include vendor/vendor.h first.
 *
 * A kernel family answers one question and does one thing, with the same
 * signature for every family of an operation:
 *   supported(desc, caps, &choice, &why): can it run this call on this
 *       device? Yes: it fills the choice (work-list shape, the variant part
 *       of its kernel name); no: *why says why, in a few words.
 *   launch(inputs, caps, stream): run it, asynchronously on `stream`, and
 *       return the launch error.
 * The backend keeps one ordered table of families per operation
 * (backends/gpu/gpu_attn.cu, gpu_xattn.cu, gpu_router.cu, gpu_decode.cu); the
 * first family that supports a call (and matches a forced kernel name) runs
 * it. Kernel names: <backend>.<op>.<family>.d<D>.<dtype>[.<variant>].
 */
#ifndef ELATTN_GPU_LAUNCH_H
#define ELATTN_GPU_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#include "elattn/elattn.h"
#include "elattn_spec.h"

namespace ELATTN_GPU_NS {

/* What the families may ask of the device. */
struct gpu_caps {
    int sm_version;        /* major * 10 + minor on NVIDIA, 0 on AMD */
    int wave;              /* warpSize: 32 or 64 */
    int sm_count;          /* multiprocessors (compute units) */
    size_t smem_per_block; /* opt-in limit of dynamic shared memory */
    double mem_gbps;       /* peak memory bandwidth, GB/s, from the memory clock and bus width (0: unknown) */
    char arch[64];         /* "sm_90", "gfx90a" */
};

/* The variant part of a kernel name, "" for none. */
struct kernel_variant {
    char text[32];
};

/* ---- fused hybrid attention ------------------------------------------------------------- */
struct attn_choice {
    int tile_m;      /* query positions per work item */
    int tile_n;      /* keys per tile: the walk's tile width (work-list costs) */
    int per_kv_head; /* 1: an item covers the whole query-head group of a KV head */
    kernel_variant variant;
};

/* attn_inputs.schedule per CTA: two item hand-over slots, then a ring of key-tile records (the
 * wgmma family: its producer walks the tiles and writes, with tile n, where the walk goes after
 * it, so that the consumers do not walk; attn_wgmma.cuh). */
enum {
    ELATTN_SCHEDULE_ITEM_SLOTS = 2,
    ELATTN_SCHEDULE_TILE_RECORDS = 8,
    ELATTN_SCHEDULE_PER_CTA = ELATTN_SCHEDULE_ITEM_SLOTS + ELATTN_SCHEDULE_TILE_RECORDS
};
#define ELATTN_SCHEDULE_INTS(ctas) (1 + (size_t)ELATTN_SCHEDULE_PER_CTA * (size_t)(ctas))

/* Device-side inputs of one launch; the host uploads the metadata first. */
struct attn_inputs {
    elattn_attn_params params;
    const void *q, *k, *v;
    void *o;
    float *lse;                    /* NULL unless params.write_lse */
    const int32_t *cu_seqlens_q;   /* device [batch + 1] */
    const int32_t *cu_seqlens_k;
    const int32_t *modes;          /* device [batch][Hkv] */
    const uint8_t *block_mask;     /* device; NULL when no head is BLOCK_SPARSE */
    const int32_t *block_table;    /* device [batch][pages_per_seq]; NULL unless params.page_size */
    const elattn_work_item *items; /* device work list, longest first */
    int num_items;
    int32_t *schedule;             /* device, in the workspace, for families that claim items as they go:
                                      [0] counts the claims (the launch zeroes it), then per CTA c
                                      ELATTN_SCHEDULE_PER_CTA entries from 1 + c * ELATTN_SCHEDULE_PER_CTA
                                      (above); ELATTN_SCHEDULE_INTS(caps.sm_count) entries in all */
    attn_choice choice;            /* what the work list was built with */
};

struct attn_family {
    const char *name; /* "wgmma", "mma", "mfma", "portable" */
    bool (*supported)(const elattn_attn_desc *desc, const gpu_caps &caps, attn_choice *choice, const char **why);
    cudaError_t (*launch)(const attn_inputs &in, const gpu_caps &caps, cudaStream_t stream);
};

/* attn_portable.cuh: any dtype, every head dim, wave 32 or 64. */
bool portable_attn_supported(const elattn_attn_desc *desc, const gpu_caps &caps, attn_choice *choice,
                             const char **why);
cudaError_t portable_attn_launch(const attn_inputs &in, const gpu_caps &caps, cudaStream_t stream);
#if defined(ELATTN_GPU_AMD)
/* attn_mfma.cuh: AMD CDNA2/3 matrix cores, fp16/bf16. */
bool mfma_attn_supported(const elattn_attn_desc *desc, const gpu_caps &caps, attn_choice *choice, const char **why);
cudaError_t mfma_attn_launch(const attn_inputs &in, const gpu_caps &caps, cudaStream_t stream);
#endif
#if defined(ELATTN_GPU_CUDA)
/* attn_mma.cuh: mma.sync m16n8k16, sm_80+, fp16/bf16. */
bool mma_attn_supported(const elattn_attn_desc *desc, const gpu_caps &caps, attn_choice *choice, const char **why);
cudaError_t mma_attn_launch(const attn_inputs &in, const gpu_caps &caps, cudaStream_t stream);
/* attn_wgmma.cuh: wgmma + TMA, sm_90a, fp16/bf16. */
bool wgmma_attn_supported(const elattn_attn_desc *desc, const gpu_caps &caps, attn_choice *choice, const char **why);
cudaError_t wgmma_attn_launch(const attn_inputs &in, const gpu_caps &caps, cudaStream_t stream);
#endif

/* ---- XAttention --------------------------------------------------------------------------
 * Estimation writes the block-score table, float [batch][Hkv][mask_qblocks]
 * [mask_kblocks] (the group-summed sums of each reshaped row's softmax;
 * invisible or out-of-range cells 0); selection (xattn.cuh, one kernel for
 * every family) turns it into the mask of the BLOCK_SPARSE heads. */
struct xattn_choice {
    int ctas;              /* persistent grid of the estimation, when the family has one */
    size_t scratch_bytes;  /* workspace the estimation needs beyond the table */
    kernel_variant variant;
};

struct xattn_inputs {
    const elattn_xattn_desc *desc;
    const void *q, *k;
    const int32_t *cu_seqlens_q, *cu_seqlens_k; /* device */
    const int32_t *modes;                       /* device [batch][Hkv] */
    int max_len_q, max_len_k;                   /* actual maxima of this call */
    int mask_qblocks, mask_kblocks;
    float *block_scores;                        /* output of the estimation */
    void *scratch;                              /* xattn_choice.scratch_bytes of workspace */
    xattn_choice choice;
};

struct xattn_family {
    const char *name; /* "wgmma", "mma", "portable" */
    bool (*supported)(const elattn_xattn_desc *desc, const gpu_caps &caps, xattn_choice *choice, const char **why);
    cudaError_t (*estimate)(const xattn_inputs &in, const gpu_caps &caps, cudaStream_t stream);
};

/* xattn.cuh */
bool portable_xattn_supported(const elattn_xattn_desc *desc, const gpu_caps &caps, xattn_choice *choice,
                              const char **why);
cudaError_t portable_xattn_estimate(const xattn_inputs &in, const gpu_caps &caps, cudaStream_t stream);
/* Table -> mask for the BLOCK_SPARSE heads (taus: device [Hkv]). */
cudaError_t xattn_select(const xattn_inputs &in, const float *taus, uint8_t *block_mask, const gpu_caps &caps,
                         cudaStream_t stream);
#if defined(ELATTN_GPU_CUDA)
/* xattn_mma.cuh: the estimation on mma.sync, one pass, persistent grid. */
bool mma_xattn_supported(const elattn_xattn_desc *desc, const gpu_caps &caps, xattn_choice *choice,
                         const char **why);
cudaError_t mma_xattn_estimate(const xattn_inputs &in, const gpu_caps &caps, cudaStream_t stream);
/* xattn_wgmma.cuh: the same pass on wgmma (sm_90a). */
bool wgmma_xattn_supported(const elattn_xattn_desc *desc, const gpu_caps &caps, xattn_choice *choice,
                           const char **why);
cudaError_t wgmma_xattn_estimate(const xattn_inputs &in, const gpu_caps &caps, cudaStream_t stream);
#endif

/* ---- the router ----------------------------------------------------------------------- */
struct router_inputs {
    const elattn_router_desc *desc;
    const void *keys;
    const int32_t *cu_seqlens; /* device [batch + 1] */
    const float *task_w1, *task_b1, *task_w2, *task_b2;
    const float *head_w1, *head_b1, *head_w2, *head_b2, *head_w3, *head_b3;
    float *logits;             /* device [batch][Hkv][2] or NULL */
    int32_t *modes;            /* device [batch][Hkv] */
};

struct router_choice {
    kernel_variant variant;
};

struct router_family {
    const char *name; /* "portable" */
    bool (*supported)(const elattn_router_desc *desc, const gpu_caps &caps, router_choice *choice,
                      const char **why);
    cudaError_t (*launch)(const router_inputs &in, const gpu_caps &caps, cudaStream_t stream);
};

/* router.cuh */
bool portable_router_supported(const elattn_router_desc *desc, const gpu_caps &caps, router_choice *choice,
                               const char **why);
cudaError_t portable_router_launch(const router_inputs &in, const gpu_caps &caps, cudaStream_t stream);

/* ---- merging partial states (elattn_merge_states; one kernel, no families) ------------------ */
struct merge_inputs {
    int dtype;
    int head_dim;
    size_t total; /* tokens * heads * head_dim values */
    const void *o1, *o2;
    const float *lse1, *lse2;
    void *o;
    float *lse; /* NULL: not written */
};
cudaError_t merge_launch(const merge_inputs &in, cudaStream_t stream);

/* ---- decode over the per-head KV cache (kernels/gpu/decode.cuh; families: gpu_decode.cu) ----
 * A block per work item: (sequence, KV head, split-KV chunk, the item's rows of the group starting
 * at row0; row r of a (sequence, head) is new token r / group, query head head * group + r % group).
 * The portable chunk kernel takes DECODE_ROWS rows in DECODE_THREADS threads; the CUDA build's
 * tensor-core one (decode_mma.cuh: sm_80+, fp16/bf16) takes DECODE_MMA_ROWS, the M of its mma. */
enum { DECODE_THREADS = 128, DECODE_ROWS = 4, DECODE_MMA_ROWS = 16 };

/* Cut heads' partials are merged by the head's last chunk to finish, one block on the device's
 * tail, unless some head of the run has more than DECODE_MERGE_IN_BLOCK_MAX chunks (CUDA
 * build): then by a merge launch after the chunk kernel, DECODE_MERGE_SLICES blocks per row tile
 * (decode_merge_kernel, decode.cuh). One block reads a 122-chunk head's partials at about
 * 36 GB/s, one L2 round trip of about 1 us per batch of loads: call 52 (bench/results/
 * 2026-12-04-nvidia-h200) timed that merge at 7-10 us, a fifth of a 128K x 1 step; with the
 * merge launch the fa-ssa:0.75 step there took 45.7 us instead of 52.9 (call 54). The threshold:
 * 64 was no better than 32 in calls 56 and 58, and 256 (no merge launch) 10% slower at 128K. */
enum { DECODE_MERGE_IN_BLOCK_MAX = 32, DECODE_MERGE_SLICES = 8 };
/* The merge launch's threads fold 16 chunks per round of loads (in.merge_wide) when some head has
 * more than this many chunks, else 8: a thread takes every P-th chunk (P = 8 at batch 1, D 128),
 * so 8 a round covers 64 chunks in one round. Wider rounds for every head made 128K and 32K x 1
 * fa-ssa:0.75 (heads of 122 and 107 chunks) 0.7-0.9 us faster but 32K x 1 fa-ssa:0.5 (60) 2 us
 * slower (call 91, bench/results/2026-12-04-nvidia-h200); above 64 only: those two 0.3-1 us
 * faster, nothing slower (call 95). */
enum { DECODE_MERGE_WIDE_ABOVE = 64 };

struct decode_item {
    int32_t seq, head, chunk, row0; /* seq: index in the run (0..num_seqs-1) */
};

/* A run's metadata: cu_new [num_seqs + 1]; lengths, seq_ids [num_seqs]; modes, chunks, part_base
 * [num_seqs][Hkv] (part_base: the head's first partial row, chunk c's rows at part_base + c * n *
 * group; unused for a head of one chunk); then the work list, decode_item [num_items]. Byte
 * offsets from its start, one compact layout per run (gpu_decode.cu, decode_meta_layout). */
struct decode_meta_offsets {
    int32_t cu_new, lengths, seq_ids, modes, chunks, part_base, items;
};
/* The same, as pointers (decode_meta in decode_common.cuh resolves them in a kernel). */
struct decode_meta_view {
    const int32_t *cu_new, *lengths, *seq_ids, *modes, *chunks, *part_base;
    const decode_item *items;
};

/* A run whose metadata fits in ELATTN_DECODE_INLINE_BYTES travels in the kernel's parameters rather
 * than being copied to the workspace first: a small step is then one launch and no copy (the
 * copy and the wait for it are most of what a batch-1 step costs beyond its kernel). CUDA takes
 * kernel parameters of up to 32 KB (CUDA 12.1+, sm_70+); HIP on AMD takes 4 KB, so runs there
 * always read the workspace. */
#if defined(ELATTN_GPU_AMD)
#define ELATTN_DECODE_INLINE_BYTES 0
#else
#define ELATTN_DECODE_INLINE_BYTES 8192
#endif

struct decode_inputs {
    int dtype, head_dim, num_q_heads, num_kv_heads, group;
    float scale_log2;
    int sink, local, ring, page_shift, pages_per_head, num_seqs, total_new;
    const char *meta;              /* device: the run's metadata in the plan's workspace; nullptr: in inline_meta */
    decode_meta_offsets meta_off;  /* where its pieces are, from meta or from inline_meta */
    int num_items;
    int num_merge_items;       /* the work list's first items: chunk 0 of each cut head's row tiles */
    bool mma;                  /* items of DECODE_MMA_ROWS for the tensor-core chunk kernel (the plan's pick) */
    const int32_t *page_table; /* device [max_sequences][Hkv][pages_per_head] */
    const int32_t *seq_lengths; /* a batch's run: device [max_sequences], the cache's lengths now (decode_length) */
    const void *q, *k_pool, *v_pool;
    void *o;
    float *lse;                /* NULL: not written */
    float *part_o, *part_lse;  /* [partial rows][D], [partial rows] */
    int *arrivals;             /* [partial rows], 0 between runs: chunks of a row tile done so far */
    int merge_launch;          /* 0: a cut head's last chunk merges; 1: decode_merge_kernel does, launched
                                  after the chunk kernel (2: as a programmatic dependent launch, sm_90+) */
    int merge_wide;            /* merge launch: 16 chunks per round of loads, not 8 (DECODE_MERGE_WIDE_ABOVE) */
    const int32_t *quest_pages; /* Quest (SPEC.md section 9b), else nullptr: [heads of the run][pages_per_head], a
                                   BLOCK_SPARSE head's kept pages, compacted (decode_quest_launch) */
    const int32_t *quest_len;  /* [heads of the run]: the FULL length those pages make */
    int quest_overlap;         /* sm_90+ CUDA: Quest's select and the chunk kernel start early (programmatic
                                  dependent launches): only BLOCK_SPARSE heads' blocks wait for the pages */
#if ELATTN_DECODE_INLINE_BYTES > 0
    alignas(16) char inline_meta[ELATTN_DECODE_INLINE_BYTES]; /* the kernels take decode_inputs as __grid_constant__ */
#endif
};
/* Dynamic shared memory of the chunk kernel for (dtype, head_dim) (0: no such instance). */
size_t decode_smem_bytes(int dtype, int head_dim);
/* The chunk kernel in.mma names (a cut head's last chunk merges its partials), then, when
 * in.merge_launch, the merge kernel. */
cudaError_t decode_launch(const decode_inputs &in, cudaStream_t stream);
/* decode_quest.cuh: Quest's selection for the run's `heads` (sequence, KV head) pairs into quest_pages and
 * quest_len (keys: [heads][pages_per_head] scratch), before decode_launch, its score eight threads a page
 * (score_lanes) or one (the same bits); and the pages' key summaries (list: [pages: count][rows: count],
 * device). */
cudaError_t decode_quest_launch(const decode_inputs &in, int heads, bool score_lanes, const float *summaries,
                                uint32_t *keys, int budget, int32_t *quest_pages, int32_t *quest_len,
                                cudaStream_t stream);
cudaError_t kv_summarize_launch(int dtype, int head_dim, int page_shift, const void *k_pool, float *summaries,
                                const int32_t *list, int count, cudaStream_t stream);
#if defined(ELATTN_GPU_CUDA)
/* decode_mma.cuh: the tensor-core chunk kernel; its shared memory (0: no instance for the dtype). */
size_t decode_mma_smem_bytes(int dtype, int head_dim);
cudaError_t decode_mma_launch(const decode_inputs &in, cudaStream_t stream);
#endif

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_LAUNCH_H */

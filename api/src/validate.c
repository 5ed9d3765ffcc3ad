/*
 * Argument checks shared by every backend. The core runs them before any
 * backend sees a call, so an invalid call gets the same status and message
 * everywhere and nothing is written.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Limits that keep every index in 32 bits inside the kernels. */
#define MAX_SEQLEN (1 << 24)
#define MAX_HEADS 1024
#define MAX_BATCH (1 << 16)

static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

static elattn_status check_dtype(const char *name, int dtype)
{
    if (dtype != ELATTN_F32 && dtype != ELATTN_F16 && dtype != ELATTN_BF16)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "%s: %d is not an elattn_dtype (ELATTN_F32, ELATTN_F16, ELATTN_BF16)", name,
                           dtype);
    return ELATTN_SUCCESS;
}

static elattn_status check_range(const char *name, long value, long lo, long hi)
{
    if (value < lo || value > hi)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: %ld is outside [%ld, %ld]", name, value,
                           lo, hi);
    return ELATTN_SUCCESS;
}

static elattn_status check_head_dim(const char *name, int head_dim)
{
    if (head_dim <= 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: %d must be positive", name, head_dim);
    /* The spec's head dims: every multiple of 8 in [32, 256]. Each kernel
     * family states which of them it runs; the selection moves on to the
     * next family when one cannot. */
    if (head_dim < ELATTN_MIN_HEAD_DIM || head_dim > ELATTN_MAX_HEAD_DIM || head_dim % ELATTN_HEAD_DIM_STEP != 0)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "%s: %d is not supported (a multiple of %d in [%d, %d])", name,
                           head_dim, ELATTN_HEAD_DIM_STEP, ELATTN_MIN_HEAD_DIM, ELATTN_MAX_HEAD_DIM);
    return ELATTN_SUCCESS;
}

static elattn_status check_heads(const char *prefix, int hq, int hkv)
{
    elattn_status st;
    char name[96];
    snprintf(name, sizeof name, "%s.num_q_heads", prefix);
    if ((st = check_range(name, hq, 1, MAX_HEADS))) return st;
    snprintf(name, sizeof name, "%s.num_kv_heads", prefix);
    if ((st = check_range(name, hkv, 1, MAX_HEADS))) return st;
    if (hq % hkv != 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "%s.num_q_heads: %d is not a multiple of num_kv_heads %d", prefix, hq, hkv);
    return ELATTN_SUCCESS;
}

static elattn_status check_scale(const char *name, float scale, int head_dim, float *out)
{
    if (!isfinite(scale) || scale < 0.0f)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: %g must be finite and >= 0 (0: 1/sqrt(D))",
                           name, (double)scale);
    *out = scale > 0.0f ? scale : (float)(1.0 / sqrt((double)head_dim));
    return ELATTN_SUCCESS;
}

/* A block size of the block mask (attention and XAttention descriptors alike). */
static elattn_status check_block_size(int block_size)
{
    if (!is_pow2(block_size) || block_size < 16 || block_size > 256)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.block_size: %d must be a power of two in [16, 256]",
                           block_size);
    return ELATTN_SUCCESS;
}

/* The fields an attention and an XAttention descriptor share, checked alike: one problem. */
static elattn_status check_problem(int dtype, int head_dim, int num_q_heads, int num_kv_heads, int batch,
                                   int max_seqlen_q, int max_seqlen_k, int causal)
{
    elattn_status st;
    if ((st = check_dtype("desc.dtype", dtype))) return st;
    if ((st = check_head_dim("desc.head_dim", head_dim))) return st;
    if ((st = check_heads("desc", num_q_heads, num_kv_heads))) return st;
    if ((st = check_range("desc.batch", batch, 1, MAX_BATCH))) return st;
    if ((st = check_range("desc.max_seqlen_q", max_seqlen_q, 1, MAX_SEQLEN))) return st;
    if ((st = check_range("desc.max_seqlen_k", max_seqlen_k, 1, MAX_SEQLEN))) return st;
    return check_range("desc.causal", causal, 0, 1);
}

/* The block mask of a descriptor, and an fp32 score per mask cell (XAttention keeps one per KV head,
 * the GPU's estimation one per query head), must be addressable: a size that wraps would let a tiny
 * buffer pass the size checks. `heads` is the number of heads those tables have. */
static elattn_status check_mask_size(int batch, int heads, const char *heads_name, int max_q, int max_k, int block)
{
    size_t cells, score_bytes;
    if (!elattn_mask_bytes(batch, heads, max_q, max_k, block, &cells) ||
        !elattn_size_mul(cells, sizeof(float), &score_bytes))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.batch/%s/max_seqlen_q/max_seqlen_k/block_size: a block table of %d x %d x %d x %d "
                           "blocks, 4 bytes each, does not fit in size_t",
                           heads_name, batch, heads, (max_q + block - 1) / block, (max_k + block - 1) / block);
    return ELATTN_SUCCESS;
}

elattn_status elattn_check_attn_mask_shape(const elattn_attn_desc *desc, elattn_attn_desc *taken)
{
    elattn_status st;
    CHECK(ELATTN_TAKE("desc", desc, elattn_attn_desc, write_lse, taken));
    const elattn_attn_desc *d = taken;
    if ((st = check_range("desc.batch", d->batch, 1, MAX_BATCH))) return st;
    if ((st = check_range("desc.num_kv_heads", d->num_kv_heads, 1, MAX_HEADS))) return st;
    if ((st = check_range("desc.max_seqlen_q", d->max_seqlen_q, 1, MAX_SEQLEN))) return st;
    if ((st = check_range("desc.max_seqlen_k", d->max_seqlen_k, 1, MAX_SEQLEN))) return st;
    if ((st = check_block_size(d->block_size))) return st;
    return check_mask_size(d->batch, d->num_kv_heads, "num_kv_heads", d->max_seqlen_q, d->max_seqlen_k,
                           d->block_size);
}

/* One tensor's strides (elements): each a multiple of 8 in [0, 2^31), a nonzero one at least D (a
 * smaller one would alias the columns of neighbouring rows); 0 becomes the packed value in the
 * normalised descriptor. Whether the (row, head) rows overlap depends on the row count: run time. */
static elattn_status check_strides(const char *tensor, int heads, int head_dim, int st_in, int sh_in, int *st_out,
                                   int *sh_out)
{
    const int in[2] = {st_in, sh_in};
    const char *what[2] = {"stride_token", "stride_head"};
    for (int i = 0; i < 2; ++i) {
        if (in[i] < 0)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.%s_%s: %d is negative (0: packed)", tensor,
                               what[i], in[i]);
        if (in[i] % 8 != 0)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "desc.%s_%s: %d is not a multiple of 8 elements (every family loads 8-element "
                               "vectors; 0: packed)",
                               tensor, what[i], in[i]);
        if (in[i] != 0 && in[i] < head_dim)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "desc.%s_%s: %d is smaller than head_dim %d, so rows would overlap", tensor, what[i],
                               in[i], head_dim);
    }
    const int sh = sh_in ? sh_in : head_dim;
    if (st_in == 0 && (long long)heads * sh > 2147483647LL)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.%s_stride_token: the packed value %d heads x stride_head %d does not fit in int32",
                           tensor, heads, sh);
    *sh_out = sh;
    *st_out = st_in ? st_in : heads * sh;
    return ELATTN_SUCCESS;
}

static elattn_status check_attn_layout(const elattn_attn_desc *d, elattn_attn_desc *n)
{
    elattn_status st;
    const int D = d->head_dim, hq = d->num_q_heads, hkv = d->num_kv_heads;
    if ((st = check_strides("q", hq, D, d->q_stride_token, d->q_stride_head, &n->q_stride_token, &n->q_stride_head)) ||
        (st = check_strides("k", hkv, D, d->k_stride_token, d->k_stride_head, &n->k_stride_token, &n->k_stride_head)) ||
        (st = check_strides("v", hkv, D, d->v_stride_token, d->v_stride_head, &n->v_stride_token, &n->v_stride_head)) ||
        (st = check_strides("o", hq, D, d->o_stride_token, d->o_stride_head, &n->o_stride_token, &n->o_stride_head)))
        return st;
    if (d->page_size == 0) {
        if (d->num_pages != 0)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.num_pages: %d given, but desc.page_size is 0",
                               d->num_pages);
        if (d->max_pages_per_seq != 0)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "desc.max_pages_per_seq: %d given, but desc.page_size is 0", d->max_pages_per_seq);
        return ELATTN_SUCCESS;
    }
    if (!is_pow2(d->page_size) || d->page_size < 16 || d->page_size > 256)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.page_size: %d must be 0 (not paged) or a power of two in [16, 256]", d->page_size);
    /* page * page_size + slot stays below 2^31 rows: kernels keep page indices in int32 */
    if ((st = check_range("desc.num_pages", d->num_pages, 1, 2147483647L / d->page_size))) return st;
    const long need = ((long)d->max_seqlen_k + d->page_size - 1) / d->page_size;
    if ((st = check_range("desc.max_pages_per_seq", d->max_pages_per_seq, need, MAX_SEQLEN))) return st;
    return ELATTN_SUCCESS;
}

/* Whether the (row, head) rows of D elements of a strided tensor are disjoint: rows of heads inside
 * a token (token-major: fused QKV, padded rows) or tokens inside a head (head-major: permuted views). */
static int layout_disjoint(long long st, long long sh, long long heads, long long rows, long long D)
{
    if (rows <= 1 && heads <= 1) return 1;
    return (sh >= D && st >= (heads - 1) * sh + D) || (st >= D && sh >= (rows - 1) * st + D);
}

elattn_status elattn_layout_bytes(const char *tensor, int rows, int heads, int head_dim, int stride_token,
                                  int stride_head, size_t elem, size_t *bytes)
{
    if (!layout_disjoint(stride_token, stride_head, heads, rows, head_dim))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.%s_stride_token/%s_stride_head: %d and %d make the rows of %d heads x %d tokens "
                           "(head_dim %d) overlap",
                           tensor, tensor, stride_token, stride_head, heads, rows, head_dim);
    size_t a, b, elems;
    if (rows == 0) {
        *bytes = 0;
        return ELATTN_SUCCESS;
    }
    /* last element + 1: (rows - 1) * stride_token + (heads - 1) * stride_head + head_dim */
    if (!elattn_size_mul((size_t)rows - 1, (size_t)stride_token, &a) ||
        !elattn_size_mul((size_t)heads - 1, (size_t)stride_head, &b) || !elattn_size_add(a, b, &elems) ||
        !elattn_size_add(elems, (size_t)head_dim, &elems) || !elattn_size_mul(elems, elem, bytes))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "args.%s: the strided extent of %d tokens x %d heads does not fit in size_t", tensor, rows,
                           heads);
    return ELATTN_SUCCESS;
}

elattn_status elattn_check_block_table(const int32_t *table, const int32_t *cu_seqlens_k, int batch, int page_size,
                                       int num_pages, int pages_per_seq)
{
    if (!table) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.block_table: NULL, but desc.page_size is %d",
                                   page_size);
    for (int b = 0; b < batch; ++b) {
        const int len = cu_seqlens_k[b + 1] - cu_seqlens_k[b];
        const int pages = (len + page_size - 1) / page_size;
        for (int i = 0; i < pages; ++i) {
            const int32_t page = table[(size_t)b * (size_t)pages_per_seq + (size_t)i];
            if (page < 0 || page >= num_pages)
                return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                                   "args.block_table[%d][%d]: page %d is outside [0, desc.num_pages %d)", b, i, page,
                                   num_pages);
        }
    }
    return ELATTN_SUCCESS;
}

elattn_status elattn_check_attn_desc(const elattn_attn_desc *desc, elattn_attn_desc *n)
{
    elattn_status st;
    elattn_attn_desc taken;
    CHECK(ELATTN_TAKE("desc", desc, elattn_attn_desc, write_lse, &taken));
    const elattn_attn_desc *d = &taken;
    if ((st = check_problem(d->dtype, d->head_dim, d->num_q_heads, d->num_kv_heads, d->batch, d->max_seqlen_q,
                            d->max_seqlen_k, d->causal)))
        return st;
    if ((st = check_range("desc.write_lse", d->write_lse, 0, 1))) return st;
    if ((st = check_range("desc.sink", d->sink, 0, MAX_SEQLEN))) return st;
    if ((st = check_range("desc.local", d->local, 1, MAX_SEQLEN))) return st;
    if ((st = check_block_size(d->block_size))) return st;
    if ((st = check_mask_size(d->batch, d->num_kv_heads, "num_kv_heads", d->max_seqlen_q, d->max_seqlen_k,
                              d->block_size)))
        return st;
    *n = *d;
    if ((st = check_attn_layout(d, n))) return st;
    return check_scale("desc.scale", d->scale, d->head_dim, &n->scale);
}

elattn_status elattn_check_xattn_desc(const elattn_xattn_desc *desc, elattn_xattn_desc *n)
{
    elattn_status st;
    elattn_xattn_desc taken;
    CHECK(ELATTN_TAKE("desc", desc, elattn_xattn_desc, block_size, &taken));
    const elattn_xattn_desc *d = &taken;
    if ((st = check_problem(d->dtype, d->head_dim, d->num_q_heads, d->num_kv_heads, d->batch, d->max_seqlen_q,
                            d->max_seqlen_k, d->causal)))
        return st;
    if (!is_pow2(d->stride) || d->stride > 64)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.stride: %d must be a power of two in [1, 64]",
                           d->stride);
    if ((st = check_block_size(d->block_size))) return st;
    if (d->block_size % d->stride != 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.block_size: %d is not a multiple of stride %d",
                           d->block_size, d->stride);
    /* per query head: the GPU's estimation keeps a table that large, and Hq >= Hkv covers the mask */
    if ((st = check_mask_size(d->batch, d->num_q_heads, "num_q_heads", d->max_seqlen_q, d->max_seqlen_k,
                              d->block_size)))
        return st;
    *n = *d;
    return check_scale("desc.scale", d->scale, d->head_dim, &n->scale);
}

static int valid_mode_pair(int retrieval, int sparse)
{
    return (retrieval == ELATTN_FULL && sparse == ELATTN_STREAMING) ||
           (retrieval == ELATTN_FULL && sparse == ELATTN_BLOCK_SPARSE) ||
           (retrieval == ELATTN_BLOCK_SPARSE && sparse == ELATTN_STREAMING);
}

elattn_status elattn_check_router_desc(const elattn_router_desc *desc, elattn_router_desc *n)
{
    elattn_status st;
    CHECK(ELATTN_TAKE("desc", desc, elattn_router_desc, sparse_mode, n));
    const elattn_router_desc *d = n;
    if ((st = check_dtype("desc.key_dtype", d->key_dtype))) return st;
    if ((st = check_range("desc.head_dim", d->head_dim, 1, ELATTN_MAX_HEAD_DIM))) return st;
    if ((st = check_range("desc.hidden", d->hidden, 1, 16 * ELATTN_MAX_HEAD_DIM))) return st;
    if ((st = check_range("desc.num_kv_heads", d->num_kv_heads, 1, MAX_HEADS))) return st;
    if ((st = check_range("desc.batch", d->batch, 1, MAX_BATCH))) return st;
    if ((st = check_range("desc.max_seqlen", d->max_seqlen, 1, MAX_SEQLEN))) return st;
    if (!valid_mode_pair(d->retrieval_mode, d->sparse_mode))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.retrieval_mode/sparse_mode: (%d, %d) is not one of (FULL, STREAMING), "
                           "(FULL, BLOCK_SPARSE), (BLOCK_SPARSE, STREAMING)",
                           (int)d->retrieval_mode, (int)d->sparse_mode);
    return ELATTN_SUCCESS;
}

elattn_status elattn_check_cu_seqlens(const char *name, const int32_t *cu, int batch, int max_len,
                                      int min_len, int *total)
{
    if (!cu) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: NULL", name);
    if (cu[0] != 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s[0]: %d must be 0", name, (int)cu[0]);
    for (int b = 0; b < batch; ++b) {
        long len = (long)cu[b + 1] - cu[b];
        if (len < 0)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: decreases at element %d (%d -> %d)", name,
                               b, (int)cu[b], (int)cu[b + 1]);
        if (len > max_len)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "%s: element %d has length %ld, more than the descriptor's maximum %d", name,
                               b, len, max_len);
        if (len < min_len)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "%s: element %d has length %ld; at least %d needed", name, b, len, min_len);
    }
    *total = cu[batch];
    return ELATTN_SUCCESS;
}

elattn_status elattn_check_modes(const char *name, const int32_t *modes, int count,
                                 int counts[ELATTN_MODE_COUNT])
{
    if (!modes) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: NULL", name);
    for (int m = 0; m < ELATTN_MODE_COUNT; ++m) counts[m] = 0;
    for (int i = 0; i < count; ++i) {
        if (modes[i] < 0 || modes[i] >= ELATTN_MODE_COUNT)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "%s[%d]: %d is not an elattn_mode (0 FULL, 1 STREAMING, 2 BLOCK_SPARSE)", name,
                               i, (int)modes[i]);
        counts[modes[i]]++;
    }
    return ELATTN_SUCCESS;
}

elattn_status elattn_check_buffer(const char *name, const elattn_buffer *buffer, const elattn_device *device,
                                  size_t need, int required)
{
    if (!buffer) {
        if (required) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: NULL", name);
        return ELATTN_SUCCESS;
    }
    CHECK(elattn_check_handle(name, buffer, ELATTN_HANDLE_BUFFER));
    if (buffer->device != device)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: belongs to another device (%s, not %s)", name,
                           buffer->device->info.id, device->info.id);
    if (buffer->size < need)
        return elattn_fail(ELATTN_ERROR_BUFFER_TOO_SMALL, "%s: %zu bytes, the shapes need %zu", name,
                           buffer->size, need);
    return ELATTN_SUCCESS;
}

elattn_status elattn_take_struct(const char *name, const char *type, const void *in, size_t first, size_t full,
                                 void *out)
{
    if (!in) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: NULL", name);
    size_t size;
    memcpy(&size, in, sizeof size); /* the leading size_t of every tagged struct */
    if (size < first || size > full)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "%s.struct_size: %zu; set it to sizeof(%s) (ELATTN_INIT): this library (%s) takes %zu to "
                           "%zu bytes%s",
                           name, size, type, ELATTN_VERSION_STRING, first, full,
                           size > full ? " (a newer header than the library?)" : "");
    memset(out, 0, full);
    memcpy(out, in, size);
    memcpy(out, &full, sizeof full);
    return ELATTN_SUCCESS;
}

elattn_status elattn_check_plan_options(const elattn_plan_options *options, elattn_plan_options *out)
{
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    if (!options) return ELATTN_SUCCESS;
    elattn_plan_options taken;
    CHECK(ELATTN_TAKE("options", options, elattn_plan_options, work_group_size, &taken));
    const elattn_plan_options *in = &taken;
    const struct {
        const char *name;
        int value;
    } knobs[] = {{"options.tile_m", in->tile_m}, {"options.tile_n", in->tile_n},
                 {"options.work_group_size", in->work_group_size}};
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; ++i)
        if (knobs[i].value < 0 || knobs[i].value > ELATTN_MAX_TILE_OPTION)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: %d is outside [0, %d] (0: the backend's choice)",
                               knobs[i].name, knobs[i].value, ELATTN_MAX_TILE_OPTION);
    *out = *in;
    return ELATTN_SUCCESS;
}

elattn_status elattn_check_overlaps(const elattn_arg_span *spans, int n)
{
    for (int i = 0; i < n; ++i)
        for (int j = i + 1; j < n; ++j) {
            const elattn_arg_span *a = &spans[i], *b = &spans[j];
            if (!a->buffer || !b->buffer || a->bytes == 0 || b->bytes == 0) continue;
            if (!a->written && !b->written) continue; /* inputs may share bytes (K and V of one tensor) */
            if (a->buffer->root != b->buffer->root) continue;
            /* sizes were checked against the buffers, so these ends fit in size_t */
            size_t a0 = a->buffer->offset, a1 = a0 + a->bytes, b0 = b->buffer->offset, b1 = b0 + b->bytes;
            if (a0 < b1 && b0 < a1) {
                if (!a->written) {
                    const elattn_arg_span *t = a;
                    a = b, b = t;
                }
                return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                                   "%s and %s overlap (bytes [%zu, %zu) and [%zu, %zu) of one allocation): an output "
                                   "may share no byte with an input or another output",
                                   a->name, b->name, a->buffer->offset, a->buffer->offset + a->bytes, b->buffer->offset,
                                   b->buffer->offset + b->bytes);
            }
        }
    return ELATTN_SUCCESS;
}

elattn_status elattn_take_workspace(const elattn_buffer *ws, const elattn_device *device, size_t need, void **native,
                                    size_t *bytes)
{
    if (need > 0) CHECK(elattn_check_buffer("args.workspace", ws, device, need, 1));
    else if (ws) CHECK(elattn_check_handle("args.workspace", ws, ELATTN_HANDLE_BUFFER));
    *native = elattn_native_or_null(ws);
    *bytes = ws ? ws->size : 0;
    return ELATTN_SUCCESS;
}

elattn_status elattn_check_seqlens_q_k(const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k, int batch,
                                       int max_seqlen_q, int max_seqlen_k, int *total_q, int *total_k)
{
    CHECK(elattn_check_cu_seqlens("args.cu_seqlens_q", cu_seqlens_q, batch, max_seqlen_q, 0, total_q));
    return elattn_check_cu_seqlens("args.cu_seqlens_k", cu_seqlens_k, batch, max_seqlen_k, 0, total_k);
}

void elattn_fill_attn_params(const elattn_attn_desc *d, elattn_attn_params *p)
{
    memset(p, 0, sizeof *p);
    p->head_dim = d->head_dim;
    p->num_q_heads = d->num_q_heads;
    p->num_kv_heads = d->num_kv_heads;
    p->group = d->num_q_heads / d->num_kv_heads;
    p->batch = d->batch;
    p->max_seqlen_q = d->max_seqlen_q;
    p->max_seqlen_k = d->max_seqlen_k;
    p->causal = d->causal;
    p->scale = d->scale;
    p->scale_log2 = (float)((double)d->scale * 1.4426950408889634);
    p->sink = d->sink;
    p->local = d->local;
    p->block_size = d->block_size;
    p->mask_qblocks = (d->max_seqlen_q + d->block_size - 1) / d->block_size;
    p->mask_kblocks = (d->max_seqlen_k + d->block_size - 1) / d->block_size;
    p->write_lse = d->write_lse;
    p->dtype = (int)d->dtype;
    /* the normalised descriptor holds the effective strides (never 0) */
    p->q_stride_token = d->q_stride_token, p->q_stride_head = d->q_stride_head;
    p->k_stride_token = d->k_stride_token, p->k_stride_head = d->k_stride_head;
    p->v_stride_token = d->v_stride_token, p->v_stride_head = d->v_stride_head;
    p->o_stride_token = d->o_stride_token, p->o_stride_head = d->o_stride_head;
    p->page_size = d->page_size;
    p->page_shift = 0;
    while (d->page_size > 0 && (1 << p->page_shift) < d->page_size) ++p->page_shift;
    p->pages_per_seq = d->max_pages_per_seq;
}

int elattn_mask_bytes(int batch, int num_kv_heads, int max_len_q, int max_len_k, int block, size_t *bytes)
{
    size_t nqb = ((size_t)max_len_q + (size_t)block - 1) / (size_t)block;
    size_t nkb = ((size_t)max_len_k + (size_t)block - 1) / (size_t)block;
    return elattn_size_mul4((size_t)batch, (size_t)num_kv_heads, nqb, nkb, bytes);
}

elattn_status elattn_tensor_bytes(const char *name, int tokens, int heads, int width, size_t elem, size_t *bytes)
{
    if (!elattn_size_mul4((size_t)tokens, (size_t)heads, (size_t)width, elem, bytes))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "%s: %d tokens x %d heads x %d values x %zu bytes does not fit in size_t", name, tokens,
                           heads, width, elem);
    return ELATTN_SUCCESS;
}

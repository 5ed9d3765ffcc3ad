/* The per-head KV cache and decode attention (kernels/SPEC.md section 9). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode_policy.h"
#include "internal.h"

struct elattn_kv_cache {
    elattn_device *device;
    elattn_kv_cache_desc desc;   /* normalised: max_new_tokens filled in */
    int ring, page_shift, pages_per_head;
    size_t elem;                 /* dtype size */
    void *k_pool, *v_pool;       /* native [num_pages][P][D] */
    void *table_dev;             /* native int32 [max_sequences][Hkv][pages_per_head] */
    int32_t *table;              /* host copy; -1 = no page */
    int32_t *lengths;            /* [max_sequences], 0 = not started */
    void *lengths_dev;           /* native int32 [max_sequences]: made by the first decode batch, then
                                    rewritten by every append and release (the batches' runs read it) */
    int32_t *modes;              /* [max_sequences][Hkv] */
    int32_t *free_pages;         /* stack of free page ids */
    int num_free;
    void *summaries;             /* native fp32 [num_pages][2][D] (Quest, SPEC.md section 9b), or NULL
                                    without desc.page_summaries */
    void *summary_list;          /* native int32 [2][summary_list_max]: an append's pages to summarise */
    int64_t summary_list_max;    /* num_pages + max_sequences * Hkv: an append writes into at most one
                                    page per head that it did not take */
};

struct elattn_decode_plan {
    elattn_device *device;
    unsigned long serial;            /* unique per plan made: a batch names its plan by it */
    const elattn_kv_cache *cache_id; /* the cache it was planned for (compared, not dereferenced after) */
    elattn_decode_desc desc;
    elattn_decode_policy policy;     /* the split-KV policy's state (decode_policy.h) */
    void *impl;                      /* the backend's plan state, or NULL */
    char kernel[64];
};

struct elattn_decode_batch {
    elattn_device *device;
    unsigned long plan_serial;       /* the plan it was made for (which may be gone) */
    const elattn_kv_cache *cache_id; /* the cache (compared, not dereferenced after) */
    int num_seqs;
    int32_t *seq_ids, *num_new;      /* [num_seqs] */
    int32_t *chunks;                 /* [num_seqs][Hkv], the plan's policy at creation */
    int32_t *modes;                  /* [num_seqs][Hkv] at creation (the backend's metadata holds them) */
    void *impl;                      /* the backend's, or NULL (runs are plain runs) */
};

static int log2_exact(int v)
{
    int s = 0;
    while ((1 << s) < v) ++s;
    return (1 << s) == v ? s : -1;
}

static void free_cache(elattn_kv_cache *c)
{
    elattn_device *d = c->device;
    if (c->k_pool) d->ops->mem_free(d->impl, c->k_pool);
    if (c->v_pool) d->ops->mem_free(d->impl, c->v_pool);
    if (c->table_dev) d->ops->mem_free(d->impl, c->table_dev);
    if (c->lengths_dev) d->ops->mem_free(d->impl, c->lengths_dev);
    if (c->summaries) d->ops->mem_free(d->impl, c->summaries);
    if (c->summary_list) d->ops->mem_free(d->impl, c->summary_list);
    free(c->table), free(c->lengths), free(c->modes), free(c->free_pages), free(c);
}

elattn_status elattn_kv_cache_create(elattn_device *device, const elattn_kv_cache_desc *caller_desc,
                                     elattn_kv_cache **cache)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    REQUIRE(cache, "cache");
    elattn_kv_cache_desc d;
    CHECK(ELATTN_TAKE("desc", caller_desc, elattn_kv_cache_desc, max_new_tokens, &d));
    const size_t elem = elattn_dtype_size(d.dtype);
    if (elem == 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.dtype: %d is not an elattn_dtype (ELATTN_F32, ELATTN_F16, ELATTN_BF16)", (int)d.dtype);
    if (d.head_dim < ELATTN_MIN_HEAD_DIM || d.head_dim > ELATTN_MAX_HEAD_DIM || d.head_dim % ELATTN_HEAD_DIM_STEP)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.head_dim: %d is not a multiple of %d in [%d, %d]",
                           d.head_dim, ELATTN_HEAD_DIM_STEP, ELATTN_MIN_HEAD_DIM, ELATTN_MAX_HEAD_DIM);
    if (d.num_kv_heads < 1 || d.num_kv_heads > 1024)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.num_kv_heads: %d is outside [1, 1024]", d.num_kv_heads);
    const int shift = d.page_size >= 1 && d.page_size <= 4096 ? log2_exact(d.page_size) : -1;
    if (shift < 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.page_size: %d is not a power of two in [1, 4096]",
                           d.page_size);
    if (d.num_pages < 1) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.num_pages: %d must be >= 1", d.num_pages);
    if (d.max_sequences < 1)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.max_sequences: %d must be >= 1", d.max_sequences);
    if (d.max_tokens < 1)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.max_tokens: %d must be >= 1", d.max_tokens);
    if (d.sink < 0) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.sink: %d must be >= 0", d.sink);
    if (d.local < 1) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.local: %d must be >= 1", d.local);
    if (d.max_new_tokens == 0) d.max_new_tokens = ELATTN_DECODE_MAX_NEW_TOKENS;
    if (d.max_new_tokens < 1 || d.max_new_tokens > ELATTN_DECODE_MAX_NEW_TOKENS)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.max_new_tokens: %d is outside [1, %d] (0: %d)",
                           d.max_new_tokens, ELATTN_DECODE_MAX_NEW_TOKENS, ELATTN_DECODE_MAX_NEW_TOKENS);
    if (d.local > INT32_MAX - ELATTN_DECODE_MAX_NEW_TOKENS)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.local: %d is too large", d.local);
    if (d.page_summaries != 0 && d.page_summaries != 1)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.page_summaries: %d must be 0 or 1", d.page_summaries);
    if (d.page_summaries && !device->ops->kv_summarize)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED,
                           "desc.page_summaries: backend %s keeps no page summaries (Quest page selection) yet",
                           device->ops->name);

    size_t pool_bytes, table_entries, table_bytes, summary_bytes = 0;
    if (!elattn_size_mul4((size_t)d.num_pages, (size_t)d.page_size, (size_t)d.head_dim, elem, &pool_bytes))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.num_pages: %d pages of %d x %d do not fit in size_t",
                           d.num_pages, d.page_size, d.head_dim);
    const int pages_per_head = (int)(((int64_t)d.max_tokens + d.page_size - 1) / d.page_size);
    if (!elattn_size_mul3((size_t)d.max_sequences, (size_t)d.num_kv_heads, (size_t)pages_per_head, &table_entries) ||
        !elattn_size_mul(table_entries, sizeof(int32_t), &table_bytes))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.max_sequences: the page table does not fit in size_t");
    if (d.page_summaries && !elattn_size_mul4((size_t)d.num_pages, 2, (size_t)d.head_dim, sizeof(float), &summary_bytes))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.num_pages: %d pages' summaries do not fit in size_t",
                           d.num_pages);

    elattn_kv_cache *c = calloc(1, sizeof *c);
    if (!c) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "cache: host allocation failed");
    c->device = device;
    c->desc = d;
    c->ring = elattn_kv_ring(d.local, d.max_new_tokens);
    c->page_shift = shift;
    c->pages_per_head = pages_per_head;
    c->elem = elem;
    c->table = malloc(table_bytes);
    c->lengths = calloc((size_t)d.max_sequences, sizeof(int32_t));
    c->modes = calloc((size_t)d.max_sequences * d.num_kv_heads, sizeof(int32_t));
    c->free_pages = malloc(sizeof(int32_t) * (size_t)d.num_pages);
    if (!c->table || !c->lengths || !c->modes || !c->free_pages) {
        free_cache(c);
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "cache: host allocation failed");
    }
    for (size_t i = 0; i < table_entries; ++i) c->table[i] = -1;
    for (int i = 0; i < d.num_pages; ++i) c->free_pages[i] = d.num_pages - 1 - i; /* page 0 taken first */
    c->num_free = d.num_pages;
    elattn_status st = device->ops->mem_alloc(device->impl, pool_bytes, &c->k_pool);
    if (st == ELATTN_SUCCESS) st = device->ops->mem_alloc(device->impl, pool_bytes, &c->v_pool);
    if (st == ELATTN_SUCCESS) st = device->ops->mem_alloc(device->impl, table_bytes, &c->table_dev);
    if (st == ELATTN_SUCCESS)
        st = device->ops->mem_upload(device->impl, device->default_stream, c->table_dev, 0, c->table, table_bytes);
    c->summary_list_max = d.page_summaries ? (int64_t)d.num_pages + (int64_t)d.max_sequences * d.num_kv_heads : 0;
    if (st == ELATTN_SUCCESS && summary_bytes) st = device->ops->mem_alloc(device->impl, summary_bytes, &c->summaries);
    if (st == ELATTN_SUCCESS && summary_bytes)
        st = device->ops->mem_alloc(device->impl, sizeof(int32_t) * 2 * (size_t)c->summary_list_max, &c->summary_list);
    if (st == ELATTN_SUCCESS) st = elattn_handle_add(c, ELATTN_HANDLE_KV_CACHE);
    if (st != ELATTN_SUCCESS) {
        free_cache(c);
        return st;
    }
    elattn_device_retain(device);
    *cache = c;
    return ELATTN_SUCCESS;
}

void elattn_kv_cache_destroy(elattn_kv_cache *cache)
{
    if (!elattn_release_handle("cache", cache, ELATTN_HANDLE_KV_CACHE)) return;
    elattn_device *d = cache->device;
    free_cache(cache);
    elattn_device_release(d);
}

static int32_t *head_pages(const elattn_kv_cache *c, int seq, int hk)
{
    return c->table + ((size_t)seq * c->desc.num_kv_heads + hk) * c->pages_per_head;
}

/* Pages a (sequence, head) of `len` positions holds. */
static int64_t pages_for(const elattn_kv_cache *c, int mode, int64_t len)
{
    int64_t slots = elattn_kv_slots(mode, c->desc.sink, c->ring, len);
    return (slots + c->desc.page_size - 1) >> c->page_shift;
}

static elattn_status upload_rows(elattn_kv_cache *c, int seq, int hk, int64_t len)
{
    elattn_device *d = c->device;
    const size_t row = sizeof(int32_t) * (size_t)c->pages_per_head;
    const size_t off = ((size_t)seq * c->desc.num_kv_heads + hk) * row;
    (void)len;
    return d->ops->mem_upload(d->impl, d->default_stream, c->table_dev, off, head_pages(c, seq, hk), row);
}

/* The lengths' device copy, once a batch made one: on `stream` (the append's, or the default one),
 * after the work queued there before, which may still read the old lengths. */
static elattn_status upload_lengths(elattn_kv_cache *c, void *stream)
{
    elattn_device *d = c->device;
    if (!c->lengths_dev) return ELATTN_SUCCESS;
    return d->ops->mem_upload(d->impl, stream, c->lengths_dev, 0, c->lengths,
                              sizeof(int32_t) * (size_t)c->desc.max_sequences);
}

elattn_status elattn_kv_cache_append(elattn_kv_cache *c, elattn_stream *stream, const elattn_kv_append_args *caller_args)
{
    BEGIN();
    HANDLE(c, "cache", ELATTN_HANDLE_KV_CACHE);
    elattn_kv_append_args a;
    CHECK(ELATTN_TAKE("args", caller_args, elattn_kv_append_args, v, &a));
    const elattn_kv_cache_desc *d = &c->desc;
    const int H = d->num_kv_heads;
    if (a.num_seqs < 1 || a.num_seqs > d->max_sequences)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.num_seqs: %d is outside [1, %d] (desc.max_sequences)",
                           a.num_seqs, d->max_sequences);
    REQUIRE(a.seq_ids, "args.seq_ids");
    REQUIRE(a.num_tokens, "args.num_tokens");
    int64_t total = 0, pages_needed = 0, to_summarise = 0;
    for (int i = 0; i < a.num_seqs; ++i) {
        const int s = a.seq_ids[i];
        if (s < 0 || s >= d->max_sequences)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.seq_ids[%d]: %d is outside [0, %d)", i, s,
                               d->max_sequences);
        for (int j = 0; j < i; ++j)
            if (a.seq_ids[j] == s)
                return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.seq_ids[%d]: %d repeats args.seq_ids[%d]", i, s, j);
        const int n = a.num_tokens[i];
        if (n < 1 || (int64_t)c->lengths[s] + n > d->max_tokens)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "args.num_tokens[%d]: %d (sequence %d holds %d of desc.max_tokens %d) must be >= 1 and fit",
                               i, n, s, c->lengths[s], d->max_tokens);
        total += n;
        for (int h = 0; h < H; ++h) {
            int mode;
            if (c->lengths[s] == 0) {
                if (!a.modes)
                    return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                                       "args.modes: NULL, but sequence %d (args.seq_ids[%d]) starts here and needs its modes",
                                       s, i);
                mode = a.modes[(size_t)i * H + h];
                if (mode < 0 || mode >= ELATTN_MODE_COUNT)
                    return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.modes[%d][%d]: %d is not an elattn_mode", i, h,
                                       mode);
            } else {
                mode = c->modes[(size_t)s * H + h];
                if (a.modes && a.modes[(size_t)i * H + h] != mode)
                    return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                                       "args.modes[%d][%d]: %d, but sequence %d was started with mode %d (modes never change "
                                       "after prefill; pass NULL)",
                                       i, h, a.modes[(size_t)i * H + h], s, mode);
            }
            pages_needed += pages_for(c, mode, (int64_t)c->lengths[s] + n) - pages_for(c, mode, c->lengths[s]);
            if (c->summaries && mode == ELATTN_BLOCK_SPARSE) /* pages the append writes into: summarised again */
                to_summarise += pages_for(c, mode, (int64_t)c->lengths[s] + n) - (c->lengths[s] >> c->page_shift);
        }
    }
    if (total > INT32_MAX) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.num_tokens: more than 2^31-1 in all");
    size_t kv_bytes;
    CHECK(elattn_tensor_bytes("args.k", (int)total, H, d->head_dim, c->elem, &kv_bytes));
    CHECK(elattn_check_buffer("args.k", a.k, c->device, kv_bytes, 1));
    CHECK(elattn_check_buffer("args.v", a.v, c->device, kv_bytes, 1));
    if (pages_needed > c->num_free)
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "cache: the append needs %lld pages, %d of desc.num_pages %d are free",
                           (long long)pages_needed, c->num_free, d->num_pages);
    void *sn;
    CHECK(elattn_stream_native(c->device, stream, &sn));
    elattn_kv_summary_call summary = {.dtype = d->dtype, .head_dim = d->head_dim, .page_shift = c->page_shift,
                                      .k_pool = c->k_pool, .summaries = c->summaries, .list = c->summary_list};
    if (to_summarise > c->summary_list_max)
        return elattn_fail(ELATTN_ERROR_INTERNAL, "cache: %lld pages to summarise, room for %lld",
                           (long long)to_summarise, (long long)c->summary_list_max);
    /* pages [to_summarise], then their rows [to_summarise]: the loop below lists exactly that many
     * (pages old_len / P .. of each BLOCK_SPARSE head, as counted above), so the list is the backend's
     * layout [pages: count][rows: count] as it stands */
    int32_t *summary_list = NULL;
    if (to_summarise > 0 && !(summary_list = malloc(sizeof(int32_t) * 2 * (size_t)to_summarise)))
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "cache: host allocation failed");
    int32_t *summary_pages = summary_list, *summary_rows = summary_list ? summary_list + to_summarise : NULL;

    /* Checked: now take pages and copy. Each run of consecutive positions that lands in consecutive
     * rows of the pool is one 2-D copy (source pitch Hkv * D, destination pitch D). Pages taken in one
     * append are usually consecutive in the pool (the free stack hands out ascending ids), so a long
     * prefill is a few copies per head rather than two per page. */
    elattn_device *dev = c->device;
    const size_t row_bytes = (size_t)d->head_dim * c->elem, src_pitch = row_bytes * H;
    int64_t base = 0;
    for (int i = 0; i < a.num_seqs; ++i) {
        const int s = a.seq_ids[i], n = a.num_tokens[i];
        const int64_t old_len = c->lengths[s], new_len = old_len + n;
        for (int h = 0; h < H; ++h) {
            if (old_len == 0) c->modes[(size_t)s * H + h] = a.modes[(size_t)i * H + h];
            const int mode = c->modes[(size_t)s * H + h];
            int32_t *pages = head_pages(c, s, h);
            const int64_t p0 = pages_for(c, mode, old_len), p1 = pages_for(c, mode, new_len);
            for (int64_t p = p0; p < p1; ++p) pages[p] = c->free_pages[--c->num_free];
            elattn_status st = p1 > p0 ? upload_rows(c, s, h, new_len) : ELATTN_SUCCESS;
            if (st != ELATTN_SUCCESS) {
                free(summary_list);
                return st;
            }
            /* Positions that survive the append (a STREAMING head skips those its ring overwrites). */
            for (int64_t t = old_len; t < new_len;) {
                const int64_t slot = elattn_kv_slot_of(mode, d->sink, c->ring, new_len, t);
                if (slot < 0) {
                    ++t;
                    continue;
                }
                const int64_t first = elattn_kv_slot_offset(pages, c->page_shift, d->head_dim, slot);
                int64_t run = 1; /* extend while slots, and their rows in the pool, stay consecutive */
                while (t + run < new_len && elattn_kv_slot_of(mode, d->sink, c->ring, new_len, t + run) == slot + run &&
                       elattn_kv_slot_offset(pages, c->page_shift, d->head_dim, slot + run) == first + run * d->head_dim)
                    ++run;
                const size_t dst = (size_t)first * c->elem;
                /* Copied from the root allocation at the view's offset, never from a view's own handle:
                 * PoCL (libpocl 2.10) crashes in clEnqueueCopyBufferRect whose source is a sub-buffer. */
                const size_t src = (size_t)(base + (t - old_len)) * src_pitch + (size_t)h * row_bytes;
                st = dev->ops->mem_copy_2d(dev->impl, sn, c->k_pool, dst, row_bytes, a.k->root->native,
                                           a.k->offset + src, src_pitch, row_bytes, (size_t)run);
                if (st == ELATTN_SUCCESS)
                    st = dev->ops->mem_copy_2d(dev->impl, sn, c->v_pool, dst, row_bytes, a.v->root->native,
                                               a.v->offset + src, src_pitch, row_bytes, (size_t)run);
                if (st != ELATTN_SUCCESS) {
                    free(summary_list);
                    return st;
                }
                t += run;
            }
            if (c->summaries && mode == ELATTN_BLOCK_SPARSE) /* slot = position: page p holds [p P, p P + P) */
                for (int64_t p = old_len >> c->page_shift; p < p1; ++p) {
                    const int64_t rows = new_len - (p << c->page_shift);
                    summary_pages[summary.count] = pages[p];
                    summary_rows[summary.count++] = (int32_t)(rows < d->page_size ? rows : d->page_size);
                }
        }
        c->lengths[s] = (int32_t)new_len;
        base += n;
    }
    elattn_status st = ELATTN_SUCCESS;
    if (summary.count) { /* the list to the device, then the summaries */
        st = dev->ops->mem_upload(dev->impl, sn, c->summary_list, 0, summary_list,
                                  sizeof(int32_t) * 2 * (size_t)summary.count);
        if (st == ELATTN_SUCCESS) st = dev->ops->kv_summarize(dev->impl, sn, &summary);
    }
    free(summary_list);
    return st != ELATTN_SUCCESS ? st : upload_lengths(c, sn);
}

elattn_status elattn_kv_cache_release(elattn_kv_cache *c, int seq_id)
{
    BEGIN();
    HANDLE(c, "cache", ELATTN_HANDLE_KV_CACHE);
    if (seq_id < 0 || seq_id >= c->desc.max_sequences)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "seq_id: %d is outside [0, %d)", seq_id, c->desc.max_sequences);
    for (int h = 0; h < c->desc.num_kv_heads; ++h) {
        int32_t *pages = head_pages(c, seq_id, h);
        const int64_t np = pages_for(c, c->modes[(size_t)seq_id * c->desc.num_kv_heads + h], c->lengths[seq_id]);
        for (int64_t p = 0; p < np; ++p) {
            c->free_pages[c->num_free++] = pages[p];
            pages[p] = -1;
        }
        if (np) CHECK(upload_rows(c, seq_id, h, 0));
    }
    c->lengths[seq_id] = 0;
    return upload_lengths(c, c->device->default_stream);
}

elattn_status elattn_kv_cache_length(const elattn_kv_cache *c, int seq_id, int *length)
{
    BEGIN();
    HANDLE(c, "cache", ELATTN_HANDLE_KV_CACHE);
    REQUIRE(length, "length");
    if (seq_id < 0 || seq_id >= c->desc.max_sequences)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "seq_id: %d is outside [0, %d)", seq_id, c->desc.max_sequences);
    *length = c->lengths[seq_id];
    return ELATTN_SUCCESS;
}

elattn_status elattn_kv_cache_bytes(const elattn_kv_cache *c, size_t *bytes)
{
    BEGIN();
    HANDLE(c, "cache", ELATTN_HANDLE_KV_CACHE);
    REQUIRE(bytes, "bytes");
    const size_t in_use = (size_t)(c->desc.num_pages - c->num_free);
    size_t summarised = 0; /* pages of BLOCK_SPARSE heads, when the cache keeps their summaries */
    for (int s = 0; c->summaries && s < c->desc.max_sequences; ++s)
        for (int h = 0; c->lengths[s] && h < c->desc.num_kv_heads; ++h)
            if (c->modes[(size_t)s * c->desc.num_kv_heads + h] == ELATTN_BLOCK_SPARSE)
                summarised += (size_t)pages_for(c, ELATTN_BLOCK_SPARSE, c->lengths[s]);
    *bytes = in_use * 2 * (size_t)c->desc.page_size * (size_t)c->desc.head_dim * c->elem +
             summarised * 2 * (size_t)c->desc.head_dim * sizeof(float);
    return ELATTN_SUCCESS;
}

/* ---- decode attention ------------------------------------------------------------- */
elattn_status elattn_decode_plan_create(const elattn_kv_cache *c, const elattn_decode_desc *caller_desc,
                                        const elattn_plan_options *options, elattn_decode_plan **plan)
{
    BEGIN();
    HANDLE(c, "cache", ELATTN_HANDLE_KV_CACHE);
    REQUIRE(plan, "plan");
    elattn_decode_desc d;
    CHECK(ELATTN_TAKE("desc", caller_desc, elattn_decode_desc, num_splits, &d));
    elattn_plan_options o;
    CHECK(elattn_check_plan_options(options, &o));
    const int H = c->desc.num_kv_heads;
    if (d.num_q_heads < 1 || d.num_q_heads % H)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.num_q_heads: %d is not a positive multiple of the cache's "
                                                          "num_kv_heads %d", d.num_q_heads, H);
    if (d.max_batch < 1 || d.max_batch > c->desc.max_sequences)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.max_batch: %d is outside [1, %d] (the cache's max_sequences)",
                           d.max_batch, c->desc.max_sequences);
    if (!(d.scale >= 0.0f) || isinf(d.scale))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.scale: %g must be finite and >= 0 (0: 1/sqrt(D))",
                           (double)d.scale);
    if (d.write_lse != 0 && d.write_lse != 1)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.write_lse: %d must be 0 or 1", d.write_lse);
    if (d.num_splits < 0 || d.num_splits > 256)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.num_splits: %d is outside [0, 256] (0: the plan picks)",
                           d.num_splits);
    if (d.page_budget < 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "desc.page_budget: %d must be >= 0 (0: no page selection)",
                           d.page_budget);
    if (d.page_budget > 0 && !c->summaries)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "desc.page_budget: %d needs a cache made with desc.page_summaries = 1 (Quest page selection)",
                           d.page_budget);
    const elattn_device *dev = c->device;
    if (!dev->ops->decode_run)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "cache: backend %s has no decode kernel yet", dev->ops->name);
    if (d.scale == 0.0f) d.scale = 1.0f / sqrtf((float)c->desc.head_dim);
    elattn_decode_plan *p = calloc(1, sizeof *p);
    if (!p) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "plan: host allocation failed");
    static unsigned long serials;
    p->device = c->device;
    p->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
    p->cache_id = c;
    p->desc = d;
    elattn_decode_policy_init(&p->policy, dev->info.compute_units, c->desc.max_tokens, d.num_splits);
    elattn_decode_setup setup = {.dtype = c->desc.dtype, .head_dim = c->desc.head_dim, .num_q_heads = d.num_q_heads,
                                 .num_kv_heads = H, .max_batch = d.max_batch, .max_new_tokens = c->desc.max_new_tokens,
                                 .page_budget = d.page_budget, .pages_per_head = c->pages_per_head,
                                 .model = ELATTN_DECODE_MODEL_WAVES};
    const size_t heads = (size_t)d.max_batch * H;
    elattn_decode_policy_bounds(&p->policy, heads, &setup.max_chunks, &setup.max_split_chunks);
    setup.max_splits = p->policy.splits;
    /* the backend picks the family, the forced one included (elattn_family_select) */
    elattn_status st = dev->ops->decode_plan(dev->impl, &setup, o.kernel, &p->impl, p->kernel, sizeof p->kernel);
    if (st != ELATTN_SUCCESS) {
        free(p);
        return st;
    }
    elattn_decode_policy_set_model(&p->policy, setup.model, setup.peak_gbps);
    st = elattn_handle_add(p, ELATTN_HANDLE_DECODE_PLAN);
    if (st != ELATTN_SUCCESS) {
        if (p->impl) dev->ops->decode_plan_destroy(dev->impl, p->impl);
        free(p);
        return st;
    }
    elattn_device_retain(p->device);
    *plan = p;
    return ELATTN_SUCCESS;
}

void elattn_decode_plan_destroy(elattn_decode_plan *plan)
{
    if (!elattn_release_handle("plan", plan, ELATTN_HANDLE_DECODE_PLAN)) return;
    elattn_device *d = plan->device;
    if (plan->impl) d->ops->decode_plan_destroy(d->impl, plan->impl);
    free(plan);
    elattn_device_release(d);
}

const char *elattn_decode_plan_kernel(const elattn_decode_plan *plan)
{
    return elattn_handle_live(plan, ELATTN_HANDLE_DECODE_PLAN) ? plan->kernel : "";
}

int elattn_decode_plan_splits(const elattn_decode_plan *plan)
{
    return elattn_handle_live(plan, ELATTN_HANDLE_DECODE_PLAN) ? plan->policy.splits : 0;
}

/* A step's host metadata (the backend's decode_call arrays): cu_new, lengths, modes and chunks of
 * the sequences, checked against the cache (each started, with num_new[i] in [1, max_new_tokens]
 * and no more than it holds). chunks: the batch's (copied), or NULL for the plan's policy at
 * these lengths. Names the arguments as `seqs_name` / `new_name` in messages. */
typedef struct decode_step {
    size_t n;
    int32_t *meta; /* one allocation: cu_new [n + 1], lengths [n], modes [n][Hkv], chunks [n][Hkv] */
    int32_t *cu_new, *lengths, *modes, *chunks;
    size_t split_chunks;
    int most_chunks;
} decode_step;

static void step_free(decode_step *t) { free(t->meta); }

static elattn_status step_make(const elattn_decode_plan *plan, const elattn_kv_cache *c, int num_seqs,
                               const int32_t *seq_ids, const int32_t *num_new, const int32_t *fixed_chunks,
                               const char *seqs_name, const char *new_name, decode_step *t)
{
    const int H = c->desc.num_kv_heads;
    const size_t n = (size_t)num_seqs;
    memset(t, 0, sizeof *t);
    t->n = n;
    t->meta = malloc(sizeof(int32_t) * (n + 1 + n + 2 * n * H));
    int64_t *slots = fixed_chunks ? NULL : malloc(sizeof(int64_t) * n * H); /* the policy's input */
    if (!t->meta || (!fixed_chunks && !slots)) {
        free(slots), step_free(t);
        return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "decode: host allocation failed");
    }
    t->cu_new = t->meta, t->lengths = t->meta + n + 1, t->modes = t->lengths + n, t->chunks = t->modes + n * H;
    t->cu_new[0] = 0;
    elattn_status st = ELATTN_SUCCESS;
    for (int i = 0; i < num_seqs && st == ELATTN_SUCCESS; ++i) {
        const int s = seq_ids[i];
        if (s < 0 || s >= c->desc.max_sequences) {
            st = elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s[%d]: %d is outside [0, %d)", seqs_name, i, s,
                             c->desc.max_sequences);
            break;
        }
        if (c->lengths[s] == 0) {
            st = elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s[%d]: sequence %d is not in the cache", seqs_name, i, s);
            break;
        }
        const int k = num_new[i];
        if (k < 1 || k > c->desc.max_new_tokens || k > c->lengths[s]) {
            st = elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                             "%s[%d]: %d is outside [1, %d] (the cache's max_new_tokens, and the %d tokens cached)",
                             new_name, i, k, c->desc.max_new_tokens, c->lengths[s]);
            break;
        }
        t->cu_new[i + 1] = t->cu_new[i] + k;
        t->lengths[i] = c->lengths[s];
        memcpy(t->modes + (size_t)i * H, c->modes + (size_t)s * H, sizeof(int32_t) * H);
        for (int h = 0; slots && h < H; ++h) { /* what each head reads: Quest's compacted length for BLOCK_SPARSE */
            const int mode = t->modes[(size_t)i * H + h];
            slots[(size_t)i * H + h] =
                mode == ELATTN_BLOCK_SPARSE && plan->desc.page_budget
                    ? elattn_quest_length(t->lengths[i], k, c->page_shift, plan->desc.page_budget)
                    : elattn_kv_slots(mode, c->desc.sink, c->ring, t->lengths[i]);
        }
    }
    if (st == ELATTN_SUCCESS) {
        if (fixed_chunks) {
            memcpy(t->chunks, fixed_chunks, sizeof(int32_t) * n * H);
            for (size_t e = 0; e < n * H; ++e) t->split_chunks += t->chunks[e] > 1 ? (size_t)t->chunks[e] : 0;
        } else {
            t->split_chunks = elattn_decode_policy_chunks(&plan->policy, slots, n * H, t->chunks);
        }
        t->most_chunks = 1;
        for (size_t e = 0; e < n * H; ++e) t->most_chunks = t->chunks[e] > t->most_chunks ? t->chunks[e] : t->most_chunks;
    }
    free(slots);
    if (st != ELATTN_SUCCESS) step_free(t);
    return st;
}

/* The backend's call for a step, without its buffers (a run sets q, o and lse). */
static elattn_decode_call step_call(const elattn_decode_plan *plan, const elattn_kv_cache *c, const decode_step *t,
                                    const int32_t *seq_ids)
{
    const elattn_decode_desc *d = &plan->desc;
    const int H = c->desc.num_kv_heads;
    elattn_decode_call call = {
        .dtype = c->desc.dtype, .head_dim = c->desc.head_dim, .num_q_heads = d->num_q_heads, .num_kv_heads = H,
        .group = d->num_q_heads / H, .scale = d->scale, .sink = c->desc.sink, .local = c->desc.local,
        .ring = c->ring, .page_shift = c->page_shift, .pages_per_head = c->pages_per_head, .splits = t->most_chunks,
        .num_seqs = (int)t->n, .total_new = t->cu_new[t->n], .chunks = t->chunks, .split_chunks = t->split_chunks,
        .seq_ids = seq_ids, .cu_new = t->cu_new, .lengths = t->lengths, .modes = t->modes,
        .page_table_host = c->table, .page_table = c->table_dev, .k_pool = c->k_pool, .v_pool = c->v_pool,
        .page_budget = d->page_budget, .page_summaries = c->summaries};
    return call;
}

static void batch_free(elattn_decode_batch *b)
{
    if (b) free(b->seq_ids), free(b->num_new), free(b->chunks), free(b->modes);
    free(b);
}

elattn_status elattn_decode_batch_create(const elattn_decode_plan *plan, elattn_kv_cache *c, int num_seqs,
                                         const int32_t *seq_ids, const int32_t *num_new, elattn_decode_batch **batch)
{
    BEGIN();
    HANDLE(plan, "plan", ELATTN_HANDLE_DECODE_PLAN);
    HANDLE(c, "cache", ELATTN_HANDLE_KV_CACHE);
    REQUIRE(batch, "batch");
    if (plan->cache_id != c)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "cache: not the cache the plan was created for");
    if (num_seqs < 1 || num_seqs > plan->desc.max_batch)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "num_seqs: %d is outside [1, %d] (desc.max_batch)", num_seqs,
                           plan->desc.max_batch);
    REQUIRE(seq_ids, "seq_ids");
    REQUIRE(num_new, "num_new");
    elattn_device *dev = c->device;
    const size_t n = (size_t)num_seqs, heads = n * c->desc.num_kv_heads;
    decode_step t;
    CHECK(step_make(plan, c, num_seqs, seq_ids, num_new, NULL, "seq_ids", "num_new", &t));
    elattn_decode_batch *b = calloc(1, sizeof *b);
    if (b) b->seq_ids = malloc(sizeof(int32_t) * n), b->num_new = malloc(sizeof(int32_t) * n),
           b->chunks = malloc(sizeof(int32_t) * heads), b->modes = malloc(sizeof(int32_t) * heads);
    elattn_status st = ELATTN_SUCCESS;
    if (!b || !b->seq_ids || !b->num_new || !b->chunks || !b->modes)
        st = elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "batch: host allocation failed");
    if (st == ELATTN_SUCCESS && !c->lengths_dev) { /* the cache's first batch: its lengths go to the device from now on */
        st = dev->ops->mem_alloc(dev->impl, sizeof(int32_t) * (size_t)c->desc.max_sequences, &c->lengths_dev);
        if (st == ELATTN_SUCCESS) st = upload_lengths(c, dev->default_stream);
    }
    if (st == ELATTN_SUCCESS) {
        b->device = dev;
        b->plan_serial = plan->serial;
        b->cache_id = c;
        b->num_seqs = num_seqs;
        memcpy(b->seq_ids, seq_ids, sizeof(int32_t) * n);
        memcpy(b->num_new, num_new, sizeof(int32_t) * n);
        memcpy(b->chunks, t.chunks, sizeof(int32_t) * heads);
        memcpy(b->modes, t.modes, sizeof(int32_t) * heads);
        if (dev->ops->decode_batch_create) {
            const elattn_decode_call call = step_call(plan, c, &t, b->seq_ids);
            st = dev->ops->decode_batch_create(dev->impl, plan->impl, &call, &b->impl);
        }
    }
    if (st == ELATTN_SUCCESS && (st = elattn_handle_add(b, ELATTN_HANDLE_DECODE_BATCH)) != ELATTN_SUCCESS && b->impl)
        dev->ops->decode_batch_destroy(dev->impl, b->impl);
    step_free(&t);
    if (st != ELATTN_SUCCESS) {
        batch_free(b);
        return st;
    }
    elattn_device_retain(dev); /* the batch keeps its device open */
    *batch = b;
    return ELATTN_SUCCESS;
}

void elattn_decode_batch_destroy(elattn_decode_batch *batch)
{
    if (!elattn_release_handle("batch", batch, ELATTN_HANDLE_DECODE_BATCH)) return;
    elattn_device *d = batch->device;
    if (batch->impl) d->ops->decode_batch_destroy(d->impl, batch->impl);
    batch_free(batch);
    elattn_device_release(d);
}

elattn_status elattn_decode_run(const elattn_decode_plan *plan, elattn_kv_cache *c, elattn_stream *stream,
                                const elattn_decode_args *caller_args)
{
    BEGIN();
    HANDLE(plan, "plan", ELATTN_HANDLE_DECODE_PLAN);
    HANDLE(c, "cache", ELATTN_HANDLE_KV_CACHE);
    if (plan->cache_id != c)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "cache: not the cache the plan was created for");
    elattn_decode_args a;
    CHECK(ELATTN_TAKE("args", caller_args, elattn_decode_args, lse, &a));
    const elattn_decode_desc *d = &plan->desc;
    const elattn_decode_batch *b = a.batch;
    decode_step t;
    if (b) {
        CHECK(elattn_check_handle("args.batch", b, ELATTN_HANDLE_DECODE_BATCH));
        if (b->plan_serial != plan->serial || b->cache_id != c)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.batch: made for another plan or cache");
        if (a.num_seqs != 0 || a.seq_ids || a.num_new)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                               "args.num_seqs/args.seq_ids/args.num_new: must be 0 and NULL with args.batch (it fixes them)");
        CHECK(step_make(plan, c, b->num_seqs, b->seq_ids, b->num_new, b->chunks, "args.batch's sequence",
                        "args.batch's num_new", &t));
        for (size_t e = 0; e < t.n * c->desc.num_kv_heads; ++e)
            if (t.modes[e] != b->modes[e]) { /* released and started again since the batch was made */
                const int i = (int)(e / c->desc.num_kv_heads);
                step_free(&t);
                return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                                   "args.batch's sequence[%d]: sequence %d was started again with other modes since "
                                   "the batch was made", i, b->seq_ids[i]);
            }
    } else {
        if (a.num_seqs < 1 || a.num_seqs > d->max_batch)
            return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.num_seqs: %d is outside [1, %d] (desc.max_batch)",
                               a.num_seqs, d->max_batch);
        REQUIRE(a.seq_ids, "args.seq_ids");
        REQUIRE(a.num_new, "args.num_new");
        CHECK(step_make(plan, c, a.num_seqs, a.seq_ids, a.num_new, NULL, "args.seq_ids", "args.num_new", &t));
    }
    const size_t n = t.n;
    size_t qo_bytes = 0, lse_bytes = 0;
    elattn_status st = elattn_tensor_bytes("args.q", t.cu_new[n], d->num_q_heads, c->desc.head_dim, c->elem, &qo_bytes);
    if (st == ELATTN_SUCCESS) st = elattn_tensor_bytes("args.lse", t.cu_new[n], d->num_q_heads, 1, sizeof(float), &lse_bytes);
    if (st == ELATTN_SUCCESS) st = elattn_check_buffer("args.q", a.q, c->device, qo_bytes, 1);
    if (st == ELATTN_SUCCESS) st = elattn_check_buffer("args.o", a.o, c->device, qo_bytes, 1);
    if (st == ELATTN_SUCCESS) st = elattn_check_buffer("args.lse", a.lse, c->device, lse_bytes, d->write_lse);
    if (st == ELATTN_SUCCESS) {
        const elattn_arg_span spans[] = {
            {"args.o", a.o, qo_bytes, 1}, {"args.lse", d->write_lse ? a.lse : NULL, lse_bytes, 1}, {"args.q", a.q, qo_bytes, 0}};
        st = elattn_check_overlaps(spans, 3);
    }
    void *sn = NULL;
    if (st == ELATTN_SUCCESS) st = elattn_stream_native(c->device, stream, &sn);
    if (st == ELATTN_SUCCESS) {
        elattn_decode_call call = step_call(plan, c, &t, b ? b->seq_ids : a.seq_ids);
        call.q = a.q->native, call.o = a.o->native, call.lse = d->write_lse ? a.lse->native : NULL;
        if (b) call.batch = b->impl, call.lengths_dev = c->lengths_dev;
        st = c->device->ops->decode_run(c->device->impl, plan->impl, sn, &call);
    }
    step_free(&t);
    return st;
}

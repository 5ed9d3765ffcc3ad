/*
 * Rows of the invalid-argument table about the objects themselves: buffer
 * ranges whose end does not fit in size_t, views of views, events, outputs
 * that share bytes with another argument, and object lifetimes (released
 * twice, used after release, used after their device was closed). Every
 * backend must answer each row with the same status; rows that expect
 * success also check the bytes they get.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invalid.h"

static void called(inv_ctx *c, elattn_status st)
{
    c->call_status = st;
    snprintf(c->call_message, sizeof c->call_message, "%s", elattn_last_error());
}

/* A set-up step failed: the row cannot say anything about the call under test. */
static int setup_failed(inv_ctx *c, elattn_status st, const char *what)
{
    if (st == ELATTN_SUCCESS) return 0;
    result_fail(c->result, "set-up (%s): %s", what, elattn_last_error());
    called(c, st);
    return 1;
}

static elattn_buffer *keep(inv_ctx *c, elattn_buffer *b)
{
    if (b && c->num_extra < (int)(sizeof c->extra / sizeof c->extra[0])) c->extra[c->num_extra++] = b;
    return b;
}

/* Two views [off_a, +len_a) and [off_b, +len_b) of one guarded allocation of `bytes`; its bytes are
 * checked like the outputs' after a rejected call. */
static int alias_views(inv_ctx *c, size_t bytes, size_t off_a, size_t len_a, elattn_buffer **a, size_t off_b,
                       size_t len_b, elattn_buffer **b)
{
    elattn_status st = kit_guarded_alloc(c->dev, bytes, &c->alias);
    if (!st) st = elattn_buffer_view(c->alias.parent, KIT_GUARD_BYTES + off_a, len_a, a);
    if (!st) keep(c, *a), st = elattn_buffer_view(c->alias.parent, KIT_GUARD_BYTES + off_b, len_b, b);
    if (!st) keep(c, *b);
    return !setup_failed(c, st, "alias views");
}

static void fill_pattern(unsigned char *p, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; ++i) p[i] = (unsigned char)((i * 7 + salt) & 0xFF);
}

/* A successful call clears the thread's message. */
static void clear_message(void)
{
    int n;
    elattn_device_count(&n);
}

/* The release functions return nothing: a second release must be a no-op that leaves a message. */
static void released_twice(inv_ctx *c)
{
    called(c, elattn_last_error()[0] ? ELATTN_ERROR_INVALID_ARGUMENT : ELATTN_SUCCESS);
}

/* A second handle of the device under test. */
static elattn_status open_again(inv_ctx *c, elattn_device **dev)
{
    elattn_device_info info;
    elattn_status st = elattn_device_info_of(c->dev, &info);
    return st ? st : elattn_device_open(info.index, dev);
}

/* ---- buffer ranges whose end does not fit in size_t ------------------------------------ */
/* 2 * 2^63 wraps to 0, so (rows - 1) * pitch + width came out as 16 bytes. */
static const size_t huge_pitch = SIZE_MAX / 2 + 1;

static void k_copy_dst_pitch_wraps(inv_ctx *c)
{
    called(c, elattn_buffer_copy_2d(c->o.view, 0, huge_pitch, c->q, 0, 16, 16, 3, NULL));
}

static void k_copy_src_pitch_wraps(inv_ctx *c)
{
    called(c, elattn_buffer_copy_2d(c->o.view, 0, 16, c->q, 0, huge_pitch, 16, 3, NULL));
}

static void k_view_end_wraps(inv_ctx *c)
{
    elattn_buffer *view = NULL;
    called(c, elattn_buffer_view(c->o.parent, 256, SIZE_MAX - 200, &view));
    elattn_buffer_free(view);
}

static void k_upload_end_wraps(inv_ctx *c)
{
    unsigned char src[64] = {0};
    called(c, elattn_buffer_upload(c->o.view, 16, src, SIZE_MAX - 8, NULL));
}

static void k_download_end_wraps(inv_ctx *c)
{
    unsigned char dst[64];
    called(c, elattn_buffer_download(c->q, 16, dst, SIZE_MAX - 8, NULL));
}

/* elattn_block_mask_bytes returns a size, so 0 with a message stands for the refusal. Its
 * 65536 x 256 x 2^20 x 2^20 blocks wrapped to 0 bytes, with no message. */
static void k_mask_bytes_wraps(inv_ctx *c)
{
    elattn_attn_desc d = c->ad;
    d.batch = 65536, d.num_q_heads = 256, d.num_kv_heads = 256;
    d.max_seqlen_q = d.max_seqlen_k = 1 << 24, d.block_size = 16;
    size_t bytes = elattn_block_mask_bytes(&d);
    called(c, bytes == 0 ? ELATTN_ERROR_INVALID_ARGUMENT : ELATTN_SUCCESS);
    if (bytes != 0) result_fail(c->result, "elattn_block_mask_bytes gave %zu bytes", bytes);
}

static void k_fill_end_wraps(inv_ctx *c) { called(c, elattn_buffer_fill(c->o.view, 16, 0xAB, SIZE_MAX - 8, NULL)); }

/* ---- views of views ---------------------------------------------------------------------- */
enum { VV_BYTES = 4096, VV_AT = 1024, VV_LEN = 2048 };

/* A 4096-byte buffer holding a pattern and a view [1024, 3072) of it. */
static int view_parent(inv_ctx *c, unsigned char *pattern, elattn_buffer **parent, elattn_buffer **view)
{
    fill_pattern(pattern, VV_BYTES, 3);
    elattn_status st = upload_new(c->dev, pattern, VV_BYTES, parent);
    if (!st) keep(c, *parent), st = elattn_buffer_view(*parent, VV_AT, VV_LEN, view);
    if (!st) keep(c, *view);
    return !setup_failed(c, st, "parent and view");
}

/* A view of a view reads and writes the bytes at the summed offset of the allocation. */
static void k_view_of_view(inv_ctx *c)
{
    unsigned char pattern[VV_BYTES], got[VV_BYTES];
    elattn_buffer *parent, *v1, *v2 = NULL;
    if (!view_parent(c, pattern, &parent, &v1)) return;
    elattn_status st = elattn_buffer_view(v1, 512, 1024, &v2);
    called(c, st);
    if (st) return;
    keep(c, v2);
    if (elattn_buffer_size(v2) != 1024) result_fail(c->result, "the view of a view has %zu bytes, not 1024",
                                                    elattn_buffer_size(v2));
    if (elattn_buffer_download(v2, 0, got, 1024, NULL) || memcmp(got, pattern + VV_AT + 512, 1024) != 0)
        result_fail(c->result, "reading the view of a view: not the bytes at %d of the allocation", VV_AT + 512);
    /* a write through it lands there and nowhere else */
    unsigned char stamp[256];
    memset(stamp, 0x5A, sizeof stamp);
    memcpy(pattern + VV_AT + 512 + 256, stamp, sizeof stamp);
    if (elattn_buffer_upload(v2, 256, stamp, sizeof stamp, NULL) ||
        elattn_buffer_download(parent, 0, got, VV_BYTES, NULL) || memcmp(got, pattern, VV_BYTES) != 0)
        result_fail(c->result, "writing through the view of a view changed other bytes than [%d, %d)",
                    VV_AT + 512 + 256, VV_AT + 512 + 512);
}

static void k_view_of_view_past_parent(inv_ctx *c)
{
    unsigned char pattern[VV_BYTES];
    elattn_buffer *parent, *v1, *v2 = NULL;
    if (!view_parent(c, pattern, &parent, &v1)) return;
    /* inside the allocation, but past the end of its parent view */
    called(c, elattn_buffer_view(v1, VV_LEN - 256, 512, &v2));
    elattn_buffer_free(v2);
}

static void k_view_of_view_unaligned(inv_ctx *c)
{
    unsigned char pattern[VV_BYTES];
    elattn_buffer *parent, *v1, *v2 = NULL;
    if (!view_parent(c, pattern, &parent, &v1)) return;
    called(c, elattn_buffer_view(v1, 100, 16, &v2));
    elattn_buffer_free(v2);
}

/* A view keeps its allocation: the parent may be freed first. */
static void k_view_outlives_parent(inv_ctx *c)
{
    unsigned char pattern[VV_BYTES], got[VV_LEN];
    elattn_buffer *parent = NULL, *view = NULL;
    fill_pattern(pattern, VV_BYTES, 11);
    elattn_status st = upload_new(c->dev, pattern, VV_BYTES, &parent);
    if (!st) st = elattn_buffer_view(parent, VV_AT, VV_LEN, &view);
    if (setup_failed(c, st, "parent and view")) {
        elattn_buffer_free(parent);
        return;
    }
    keep(c, view);
    elattn_buffer_free(parent);
    st = elattn_buffer_download(view, 0, got, VV_LEN, NULL);
    called(c, st);
    if (!st && memcmp(got, pattern + VV_AT, VV_LEN) != 0)
        result_fail(c->result, "the view read other bytes after its parent was freed");
}

/* ---- events ----------------------------------------------------------------------------- */
static void event_row(inv_ctx *c, int record_start, int record_end)
{
    elattn_event *start = NULL, *end = NULL;
    float ms = -1.0f;
    elattn_status st = elattn_event_create(c->dev, &start);
    if (!st) st = elattn_event_create(c->dev, &end);
    if (!st && record_start) st = elattn_event_record(start, NULL);
    if (!st && record_end) st = elattn_event_record(end, NULL);
    if (!setup_failed(c, st, "events")) {
        st = elattn_event_elapsed_ms(start, end, &ms);
        called(c, st);
        if (!st && !(isfinite(ms) && ms >= 0.0f)) result_fail(c->result, "elapsed %g ms", (double)ms);
    }
    elattn_event_destroy(start);
    elattn_event_destroy(end);
}

static void k_elapsed_start_unrecorded(inv_ctx *c) { event_row(c, 0, 1); }
static void k_elapsed_end_unrecorded(inv_ctx *c) { event_row(c, 1, 0); }
static void k_elapsed_recorded(inv_ctx *c) { event_row(c, 1, 1); }

/* ---- outputs that share bytes with another argument -------------------------------------- */
static void a_o_q_same_bytes(inv_ctx *c)
{
    elattn_buffer *q, *o;
    if (alias_views(c, c->q_bytes, 0, c->q_bytes, &q, 0, c->q_bytes, &o)) c->aa.q = q, c->aa.o = o;
}

static void a_o_q_partly(inv_ctx *c)
{
    /* 4096 bytes apart: a multiple of every device's sub-buffer alignment (NVIDIA's OpenCL: 512) */
    elattn_buffer *q, *o;
    if (alias_views(c, c->q_bytes + 4096, 0, c->q_bytes, &q, 4096, c->q_bytes, &o)) c->aa.q = q, c->aa.o = o;
}

static void a_lse_over_o(inv_ctx *c)
{
    elattn_buffer *lse = NULL;
    elattn_status st = elattn_buffer_view(c->o.parent, KIT_GUARD_BYTES, c->lse_bytes, &lse);
    if (!setup_failed(c, st, "lse view")) c->aa.lse = keep(c, lse);
}

/* Inputs may share bytes (K and V as one tensor): the control that the check is not too eager. */
static void a_k_v_same_bytes(inv_ctx *c)
{
    elattn_buffer *k, *v;
    if (!alias_views(c, c->kv_bytes, 0, c->kv_bytes, &k, 0, c->kv_bytes, &v)) return;
    unsigned char *host = xmalloc(c->kv_bytes);
    elattn_status st = elattn_buffer_download(c->k, 0, host, c->kv_bytes, NULL);
    if (!st) st = elattn_buffer_upload(k, 0, host, c->kv_bytes, NULL);
    free(host);
    if (!setup_failed(c, st, "K data")) c->aa.k = k, c->aa.v = v;
}

static void x_mask_over_q(inv_ctx *c)
{
    elattn_buffer *q, *mask;
    if (alias_views(c, c->q_bytes, 0, c->q_bytes, &q, 0, c->mask_bytes, &mask)) c->xa.q = q, c->xa.block_mask = mask;
}

static void t_logits_over_keys(inv_ctx *c)
{
    elattn_buffer *keys, *logits;
    if (alias_views(c, c->kv_bytes, 0, c->kv_bytes, &keys, 0, c->logits_bytes, &logits))
        c->ra.keys = keys, c->ra.logits = logits;
}

/* ---- released twice ---------------------------------------------------------------------- */
static void k_buffer_freed_twice(inv_ctx *c)
{
    elattn_buffer *b = NULL;
    if (setup_failed(c, elattn_buffer_alloc(c->dev, 1024, &b), "buffer")) return;
    elattn_buffer_free(b);
    clear_message();
    elattn_buffer_free(b);
    released_twice(c);
}

static void k_view_freed_twice(inv_ctx *c)
{
    elattn_buffer *v = NULL;
    if (setup_failed(c, elattn_buffer_view(c->o.parent, 0, 256, &v), "view")) return;
    elattn_buffer_free(v);
    clear_message();
    elattn_buffer_free(v);
    released_twice(c);
}

static void k_stream_destroyed_twice(inv_ctx *c)
{
    elattn_stream *s = NULL;
    if (setup_failed(c, elattn_stream_create(c->dev, &s), "stream")) return;
    elattn_stream_destroy(s);
    clear_message();
    elattn_stream_destroy(s);
    released_twice(c);
}

static void k_event_destroyed_twice(inv_ctx *c)
{
    elattn_event *e = NULL;
    if (setup_failed(c, elattn_event_create(c->dev, &e), "event")) return;
    elattn_event_destroy(e);
    clear_message();
    elattn_event_destroy(e);
    released_twice(c);
}

static void k_attn_plan_destroyed_twice(inv_ctx *c)
{
    elattn_attn_plan *p = NULL;
    if (setup_failed(c, elattn_attn_plan_create(c->dev, &c->ad, NULL, &p), "plan")) return;
    elattn_attn_plan_destroy(p);
    clear_message();
    elattn_attn_plan_destroy(p);
    released_twice(c);
}

static void k_xattn_plan_destroyed_twice(inv_ctx *c)
{
    elattn_xattn_plan *p = NULL;
    if (setup_failed(c, elattn_xattn_plan_create(c->dev, &c->xd, NULL, &p), "plan")) return;
    elattn_xattn_plan_destroy(p);
    clear_message();
    elattn_xattn_plan_destroy(p);
    released_twice(c);
}

static void k_router_plan_destroyed_twice(inv_ctx *c)
{
    elattn_router_plan *p = NULL;
    if (setup_failed(c, elattn_router_plan_create(c->dev, &c->rd, NULL, &p), "plan")) return;
    elattn_router_plan_destroy(p);
    clear_message();
    elattn_router_plan_destroy(p);
    released_twice(c);
}

static void k_device_closed_twice(inv_ctx *c)
{
    elattn_device *dev = NULL;
    if (setup_failed(c, open_again(c, &dev), "second device handle")) return;
    elattn_device_close(dev);
    clear_message();
    elattn_device_close(dev);
    released_twice(c);
}

/* ---- used after release ---------------------------------------------------------------- */
static void k_upload_after_free(inv_ctx *c)
{
    elattn_buffer *b = NULL;
    unsigned char src[64] = {0};
    if (setup_failed(c, elattn_buffer_alloc(c->dev, 1024, &b), "buffer")) return;
    elattn_buffer_free(b);
    called(c, elattn_buffer_upload(b, 0, src, sizeof src, NULL));
}

static void k_sync_after_destroy(inv_ctx *c)
{
    elattn_stream *s = NULL;
    if (setup_failed(c, elattn_stream_create(c->dev, &s), "stream")) return;
    elattn_stream_destroy(s);
    called(c, elattn_stream_synchronize(s));
}

static void k_record_after_destroy(inv_ctx *c)
{
    elattn_event *e = NULL;
    if (setup_failed(c, elattn_event_create(c->dev, &e), "event")) return;
    elattn_event_destroy(e);
    called(c, elattn_event_record(e, NULL));
}

static void k_run_after_plan_destroy(inv_ctx *c)
{
    elattn_attn_plan *p = NULL;
    if (setup_failed(c, elattn_attn_plan_create(c->dev, &c->ad, NULL, &p), "plan")) return;
    elattn_attn_plan_destroy(p);
    called(c, elattn_attn_run(p, NULL, &c->aa));
}

static void k_alloc_after_close(inv_ctx *c)
{
    elattn_device *dev = NULL;
    elattn_buffer *b = NULL;
    if (setup_failed(c, open_again(c, &dev), "second device handle")) return;
    elattn_device_close(dev);
    called(c, elattn_buffer_alloc(dev, 1024, &b));
    elattn_buffer_free(b);
}

/* ---- objects outlive the close of their device ------------------------------------------- */
/* A copy of `src` (bytes of it) on another device handle. */
static elattn_status copy_to(elattn_device *dev, const elattn_buffer *src, size_t bytes, elattn_buffer **out)
{
    unsigned char *host = xmalloc(bytes);
    elattn_status st = elattn_buffer_download(src, 0, host, bytes, NULL);
    if (!st) st = upload_new(dev, host, bytes, out);
    free(host);
    return st;
}

static void k_download_after_close(inv_ctx *c)
{
    elattn_device *dev = NULL;
    elattn_buffer *b = NULL;
    unsigned char pattern[1024], got[1024];
    fill_pattern(pattern, sizeof pattern, 5);
    elattn_status st = open_again(c, &dev);
    if (!st) st = upload_new(dev, pattern, sizeof pattern, &b);
    elattn_device_close(dev); /* the buffer keeps the device open */
    if (setup_failed(c, st, "buffer on a second device handle")) {
        elattn_buffer_free(b);
        return;
    }
    st = elattn_buffer_download(b, 0, got, sizeof got, NULL);
    called(c, st);
    if (!st && memcmp(got, pattern, sizeof got) != 0) result_fail(c->result, "the bytes changed after the close");
    elattn_buffer_free(b); /* the last object: the device closes now */
}

/* The valid attention call on a second device handle, closed before the run, gives the same bytes
 * as on the open device. */
static void k_run_after_device_close(inv_ctx *c)
{
    elattn_device *dev = NULL;
    elattn_attn_plan *plan = NULL, *base = NULL;
    elattn_buffer *q = NULL, *k = NULL, *v = NULL, *mask = NULL, *o = NULL, *lse = NULL, *ws = NULL, *base_ws = NULL;
    elattn_status st = open_again(c, &dev);
    if (!st) st = copy_to(dev, c->q, c->q_bytes, &q);
    if (!st) st = copy_to(dev, c->k, c->kv_bytes, &k);
    if (!st) st = copy_to(dev, c->v, c->kv_bytes, &v);
    if (!st) st = copy_to(dev, c->mask, c->mask_bytes, &mask);
    if (!st) st = elattn_buffer_alloc(dev, c->q_bytes, &o);
    if (!st) st = elattn_buffer_alloc(dev, c->lse_bytes, &lse);
    if (!st) st = elattn_attn_plan_create(dev, &c->ad, NULL, &plan);
    size_t ws_bytes = plan ? elattn_attn_plan_workspace_size(plan) : 0;
    if (!st && ws_bytes) st = elattn_buffer_alloc(dev, ws_bytes, &ws);
    elattn_device_close(dev); /* the plan and the buffers keep the device open */
    if (!setup_failed(c, st, "call on a second device handle")) {
        elattn_attn_args args = c->aa;
        args.q = q, args.k = k, args.v = v, args.block_mask = mask, args.o = o, args.lse = lse, args.workspace = ws;
        st = elattn_attn_run(plan, NULL, &args);
        called(c, st);
        /* the same call on the open device, into the context's O and LSE */
        elattn_status bs = elattn_attn_plan_create(c->dev, &c->ad, NULL, &base);
        if (!bs && ws_bytes) bs = elattn_buffer_alloc(c->dev, ws_bytes, &base_ws);
        if (!bs) c->aa.workspace = base_ws, bs = elattn_attn_run(base, NULL, &c->aa);
        if (!st && !bs) {
            unsigned char *a = xmalloc(c->q_bytes), *b = xmalloc(c->q_bytes);
            if (elattn_buffer_download(o, 0, a, c->q_bytes, NULL) ||
                elattn_buffer_download(c->o.view, 0, b, c->q_bytes, NULL) || memcmp(a, b, c->q_bytes) != 0)
                result_fail(c->result, "O after the close differs from O on the open device");
            free(a);
            free(b);
        } else if (!st) {
            result_fail(c->result, "the baseline run on the open device failed: %s", elattn_last_error());
        }
    }
    elattn_attn_plan_destroy(base);
    elattn_buffer_free(base_ws);
    elattn_attn_plan_destroy(plan);
    elattn_buffer *bufs[] = {q, k, v, mask, o, lse, ws};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i) elattn_buffer_free(bufs[i]);
}

/* ---- decode: the per-head KV cache and decode runs ------------------------------------------
 * A valid cache (fp32, D 64, Hkv 2, pages of 8, 7 pages (5 in use after the prefill), sink 4, local 8, max_new_tokens 4) with
 * sequence 0 started (20 tokens, FULL and STREAMING) and a valid plan (Hq 4, 2 sequences, LSE);
 * each row breaks one thing. Rejected appends must leave the sequence's length as it was. The
 * decode-plan rows force options.kernel on a plan of the (empty) cache. */
typedef struct dec_fixture {
    elattn_kv_cache_desc cd;
    elattn_kv_cache *cache;
    elattn_decode_plan *plan;
    elattn_kv_append_args aa;
    elattn_decode_args da;
    int32_t id, n, new_id, new_n, num_new, modes[2];
} dec_fixture;

static int dec_setup(inv_ctx *c, dec_fixture *f, int started)
{
    memset(f, 0, sizeof *f);
    f->cd = (elattn_kv_cache_desc){.struct_size = sizeof f->cd, .dtype = ELATTN_F32, .head_dim = 64, .num_kv_heads = 2,
                                   .page_size = 8, .num_pages = 7, .max_sequences = 4, .max_tokens = 64,
                                   .sink = 4, .local = 8, .max_new_tokens = 4};
    f->id = 0, f->n = 20, f->num_new = 2, f->modes[0] = ELATTN_FULL, f->modes[1] = ELATTN_STREAMING;
    f->aa = (elattn_kv_append_args){.struct_size = sizeof f->aa, .num_seqs = 1, .seq_ids = &f->id,
                                    .num_tokens = &f->n, .modes = f->modes, .k = c->k, .v = c->v};
    f->da = (elattn_decode_args){.struct_size = sizeof f->da, .num_seqs = 1, .seq_ids = &f->id, .num_new = &f->num_new,
                                 .q = c->q, .o = c->o.view, .lse = c->lse.view};
    if (!started) return 1;
    elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = 4, .max_batch = 2, .write_lse = 1};
    elattn_status st = elattn_kv_cache_create(c->dev, &f->cd, &f->cache);
    if (!st) st = elattn_kv_cache_append(f->cache, NULL, &f->aa);
    if (!st) st = elattn_decode_plan_create(f->cache, &dd, NULL, &f->plan);
    if (st == ELATTN_ERROR_UNSUPPORTED) { /* no decode kernel: the run rows cannot be built */
        c->not_applicable = "the device has no decode kernel";
        called(c, st);
        return 0;
    }
    return !setup_failed(c, st, "decode cache and plan");
}

static void dec_teardown(dec_fixture *f)
{
    elattn_decode_plan_destroy(f->plan);
    elattn_kv_cache_destroy(f->cache);
}

/* An append under test: its status, and the length of sequence 0 must still be 20. */
static void dec_append(inv_ctx *c, dec_fixture *f)
{
    called(c, elattn_kv_cache_append(f->cache, NULL, &f->aa));
    int len = -1;
    elattn_kv_cache_length(f->cache, 0, &len);
    if (len != 20) result_fail(c->result, "a rejected append changed the cached length: 20 -> %d", len);
    dec_teardown(f);
}

static void dec_run(inv_ctx *c, dec_fixture *f)
{
    called(c, elattn_decode_run(f->plan, f->cache, NULL, &f->da));
    dec_teardown(f);
}

static void dec_create(inv_ctx *c, dec_fixture *f)
{
    elattn_kv_cache *cache = NULL;
    called(c, elattn_kv_cache_create(c->dev, &f->cd, &cache));
    if (cache) elattn_kv_cache_destroy(cache);
}

static void d_cache_page12(inv_ctx *c) { dec_fixture f; dec_setup(c, &f, 0); f.cd.page_size = 12; dec_create(c, &f); }
static void d_cache_new17(inv_ctx *c) { dec_fixture f; dec_setup(c, &f, 0); f.cd.max_new_tokens = 17; dec_create(c, &f); }
static void d_cache_local0(inv_ctx *c) { dec_fixture f; dec_setup(c, &f, 0); f.cd.local = 0; dec_create(c, &f); }
static void d_cache_size0(inv_ctx *c) { dec_fixture f; dec_setup(c, &f, 0); f.cd.struct_size = 0; dec_create(c, &f); }
static void d_cache_summaries2(inv_ctx *c) { dec_fixture f; dec_setup(c, &f, 0); f.cd.page_summaries = 2; dec_create(c, &f); }
/* A decode plan on the fixture's cache (no page summaries) whose desc has page_budget `budget`. */
static void dec_plan_budget(inv_ctx *c, int budget)
{
    dec_fixture f;
    dec_setup(c, &f, 0);
    if (setup_failed(c, elattn_kv_cache_create(c->dev, &f.cd, &f.cache), "cache")) return;
    const elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = 4, .max_batch = 2, .page_budget = budget};
    called(c, elattn_decode_plan_create(f.cache, &dd, NULL, &f.plan));
    if (c->call_status != ELATTN_SUCCESS && !strstr(c->call_message, "desc.page_budget"))
        result_fail(c->result, "the message does not name desc.page_budget");
    dec_teardown(&f);
}
static void d_plan_budget_negative(inv_ctx *c) { dec_plan_budget(c, -1); }
static void d_plan_budget_without_summaries(inv_ctx *c) { dec_plan_budget(c, 4); }
/* A decode plan on the fixture's cache (fp32, D 64) with options.kernel = `kernel`; a refusal's
 * message must name `named` (the forced name, or "<family>: " before the family's reason). */
static void dec_plan_forced(inv_ctx *c, const char *kernel, const char *named)
{
    dec_fixture f;
    dec_setup(c, &f, 0);
    if (setup_failed(c, elattn_kv_cache_create(c->dev, &f.cd, &f.cache), "cache")) return;
    const elattn_decode_desc dd = {.struct_size = sizeof dd, .num_q_heads = 4, .max_batch = 2};
    const elattn_plan_options opt = {.struct_size = sizeof opt, .kernel = kernel};
    called(c, elattn_decode_plan_create(f.cache, &dd, &opt, &f.plan));
    if (c->call_status != ELATTN_SUCCESS && !strstr(c->call_message, named))
        result_fail(c->result, "the message does not name \"%s\"", named);
    dec_teardown(&f);
}

/* The device's decode families: up to 8 into names; returns how many it filled. */
static int dec_families(inv_ctx *c, const char **names)
{
    int n = 0;
    if (elattn_device_kernel_families(c->dev, ELATTN_OP_DECODE, names, 8, &n) != ELATTN_SUCCESS) return 0;
    return n < 8 ? n : 8;
}

static void d_plan_no_such_family(inv_ctx *c)
{
    elattn_device_info info;
    char kernel[64];
    if (setup_failed(c, elattn_device_info_of(c->dev, &info), "device info")) return;
    snprintf(kernel, sizeof kernel, "%s.decode.no_such_family", elattn_backend_name(info.backend));
    dec_plan_forced(c, kernel, kernel);
}

/* A family the fp32 cache excludes: the tensor-core one (fp16/bf16), where the device lists it. */
static void d_plan_family_cannot_run(inv_ctx *c)
{
    const char *names[8];
    const int n = dec_families(c, names);
    for (int i = 0; i < n; ++i) {
        const char *dot = strrchr(names[i], '.');
        if (strcmp(dot ? dot + 1 : names[i], "mma") != 0) continue;
        char named[72];
        snprintf(named, sizeof named, "%s: ", names[i]);
        dec_plan_forced(c, names[i], named);
        return;
    }
    c->not_applicable = "no decode family of the device is fp16/bf16 only";
}

/* A kernel name of the first family for another dtype: the family runs the cache, not as that kernel. */
static void d_plan_kernel_other_dtype(inv_ctx *c)
{
    const char *names[8];
    if (dec_families(c, names) < 1) {
        c->not_applicable = "the device has no decode kernel";
        return;
    }
    char kernel[72], named[72];
    snprintf(kernel, sizeof kernel, "%s.d64.bf16", names[0]);
    snprintf(named, sizeof named, "%s: ", names[0]);
    dec_plan_forced(c, kernel, named);
}

#define DEC_ROW(fn, body)                                                                                     \
    static void fn(inv_ctx *c)                                                                                \
    {                                                                                                         \
        dec_fixture f;                                                                                        \
        if (!dec_setup(c, &f, 1)) return;                                                                     \
        body;                                                                                                 \
    }
DEC_ROW(d_append_modes_null_new, (f.new_id = 1, f.aa.seq_ids = &f.new_id, f.aa.modes = NULL, dec_append(c, &f)))
DEC_ROW(d_append_mode_change, (f.modes[1] = ELATTN_FULL, dec_append(c, &f)))
DEC_ROW(d_append_mode3, (f.new_id = 1, f.aa.seq_ids = &f.new_id, f.modes[0] = 3, dec_append(c, &f)))
DEC_ROW(d_append_id4, (f.new_id = 4, f.aa.seq_ids = &f.new_id, dec_append(c, &f)))
DEC_ROW(d_append_past_max_tokens, (f.n = 45, f.aa.modes = NULL, dec_append(c, &f)))
DEC_ROW(d_append_k_small, (f.n = 1, f.aa.modes = NULL, f.aa.k = c->mask_small, dec_append(c, &f))) /* 35 bytes: not one row */
DEC_ROW(d_append_pool_full, (f.n = 40, f.aa.modes = NULL, dec_append(c, &f)))
DEC_ROW(d_run_num_new5, (f.num_new = 5, dec_run(c, &f)))
DEC_ROW(d_run_unstarted, (f.new_id = 2, f.da.seq_ids = &f.new_id, dec_run(c, &f)))
DEC_ROW(d_run_o_is_q, (f.da.o = (elattn_buffer *)c->q, dec_run(c, &f)))
DEC_ROW(d_run_lse_missing, (f.da.lse = NULL, dec_run(c, &f)))
DEC_ROW(d_run_batch3, (f.da.num_seqs = 3, dec_run(c, &f)))
static void d_run_other_cache(inv_ctx *c)
{
    dec_fixture f;
    if (!dec_setup(c, &f, 1)) return;
    elattn_kv_cache *other = NULL;
    if (setup_failed(c, elattn_kv_cache_create(c->dev, &f.cd, &other), "second cache")) {
        dec_teardown(&f);
        return;
    }
    called(c, elattn_decode_run(f.plan, other, NULL, &f.da));
    elattn_kv_cache_destroy(other);
    dec_teardown(&f);
}
/* Runs with a decode batch of the fixture's sequence 0 (2 new tokens): `break_it` spoils one thing. */
static void dec_run_batch(inv_ctx *c, int break_it)
{
    dec_fixture f;
    if (!dec_setup(c, &f, 1)) return;
    elattn_decode_batch *b = NULL;
    if (setup_failed(c, elattn_decode_batch_create(f.plan, f.cache, 1, &f.id, &f.num_new, &b), "decode batch")) {
        dec_teardown(&f);
        return;
    }
    f.da.batch = b, f.da.num_seqs = 0, f.da.seq_ids = NULL, f.da.num_new = NULL;
    if (break_it == 0) f.da.num_seqs = 1, f.da.seq_ids = &f.id, f.da.num_new = &f.num_new; /* the batch fixes them */
    if (break_it == 1) elattn_kv_cache_release(f.cache, f.id);                            /* its sequence is gone */
    called(c, elattn_decode_run(f.plan, f.cache, NULL, &f.da));
    elattn_decode_batch_destroy(b);
    dec_teardown(&f);
}
static void d_run_batch_and_seqs(inv_ctx *c) { dec_run_batch(c, 0); }
static void d_run_batch_released(inv_ctx *c) { dec_run_batch(c, 1); }
DEC_ROW(d_batch_unstarted, (f.new_id = 2, called(c, elattn_decode_batch_create(f.plan, f.cache, 1, &f.new_id,
                                                                               &f.num_new, &(elattn_decode_batch *){0})),
                            dec_teardown(&f)))
static void d_batch_destroyed_twice(inv_ctx *c)
{
    dec_fixture f;
    if (!dec_setup(c, &f, 1)) return;
    elattn_decode_batch *b = NULL;
    if (!setup_failed(c, elattn_decode_batch_create(f.plan, f.cache, 1, &f.id, &f.num_new, &b), "decode batch")) {
        elattn_decode_batch_destroy(b);
        clear_message();
        elattn_decode_batch_destroy(b);
        released_twice(c);
    }
    dec_teardown(&f);
}
static void d_cache_destroyed_twice(inv_ctx *c)
{
    dec_fixture f;
    dec_setup(c, &f, 0);
    elattn_kv_cache *cache = NULL;
    if (setup_failed(c, elattn_kv_cache_create(c->dev, &f.cd, &cache), "cache")) return;
    elattn_kv_cache_destroy(cache);
    clear_message();
    elattn_kv_cache_destroy(cache);
    released_twice(c);
}

#define INV ELATTN_ERROR_INVALID_ARGUMENT
#define SMALL ELATTN_ERROR_BUFFER_TOO_SMALL
#define OK ELATTN_SUCCESS
const inv_row inv_object_rows[] = {
    {"buffer/copy-2d-dst-pitch-wraps", OP_CALL, INV, k_copy_dst_pitch_wraps},
    {"buffer/copy-2d-src-pitch-wraps", OP_CALL, INV, k_copy_src_pitch_wraps},
    {"buffer/view-end-wraps", OP_CALL, SMALL, k_view_end_wraps},
    {"buffer/upload-end-wraps", OP_CALL, SMALL, k_upload_end_wraps},
    {"buffer/download-end-wraps", OP_CALL, SMALL, k_download_end_wraps},
    {"buffer/fill-end-wraps", OP_CALL, SMALL, k_fill_end_wraps},
    {"buffer/block-mask-bytes-wraps", OP_CALL, INV, k_mask_bytes_wraps},
    {"buffer/view-of-view", OP_CALL, OK, k_view_of_view},
    {"buffer/view-of-view-past-its-parent", OP_CALL, SMALL, k_view_of_view_past_parent},
    {"buffer/view-of-view-offset-not-multiple-of-256", OP_CALL, INV, k_view_of_view_unaligned},
    {"buffer/view-outlives-its-parent", OP_CALL, OK, k_view_outlives_parent},
    {"event/elapsed-start-never-recorded", OP_CALL, INV, k_elapsed_start_unrecorded},
    {"event/elapsed-end-never-recorded", OP_CALL, INV, k_elapsed_end_unrecorded},
    {"event/elapsed-both-recorded", OP_CALL, OK, k_elapsed_recorded},
    {"attn-run/o-and-q-views-of-the-same-bytes", OP_ATTN_RUN, INV, a_o_q_same_bytes},
    {"attn-run/o-overlaps-q-partly", OP_ATTN_RUN, INV, a_o_q_partly},
    {"attn-run/lse-overlaps-o", OP_ATTN_RUN, INV, a_lse_over_o},
    {"attn-run/k-and-v-views-of-the-same-bytes", OP_ATTN_RUN, OK, a_k_v_same_bytes},
    {"xattn-run/block-mask-overlaps-q", OP_XATTN_RUN, INV, x_mask_over_q},
    {"router-run/logits-overlap-keys", OP_ROUTER_RUN, INV, t_logits_over_keys},
    {"lifetime/buffer-freed-twice", OP_CALL, INV, k_buffer_freed_twice},
    {"lifetime/view-freed-twice", OP_CALL, INV, k_view_freed_twice},
    {"lifetime/stream-destroyed-twice", OP_CALL, INV, k_stream_destroyed_twice},
    {"lifetime/event-destroyed-twice", OP_CALL, INV, k_event_destroyed_twice},
    {"lifetime/attn-plan-destroyed-twice", OP_CALL, INV, k_attn_plan_destroyed_twice},
    {"lifetime/xattn-plan-destroyed-twice", OP_CALL, INV, k_xattn_plan_destroyed_twice},
    {"lifetime/router-plan-destroyed-twice", OP_CALL, INV, k_router_plan_destroyed_twice},
    {"lifetime/device-closed-twice", OP_CALL, INV, k_device_closed_twice},
    {"lifetime/upload-after-free", OP_CALL, INV, k_upload_after_free},
    {"lifetime/stream-synchronize-after-destroy", OP_CALL, INV, k_sync_after_destroy},
    {"lifetime/event-record-after-destroy", OP_CALL, INV, k_record_after_destroy},
    {"lifetime/attn-run-after-plan-destroy", OP_CALL, INV, k_run_after_plan_destroy},
    {"lifetime/buffer-alloc-after-device-close", OP_CALL, INV, k_alloc_after_close},
    {"lifetime/download-after-device-close", OP_CALL, OK, k_download_after_close},
    {"lifetime/attn-run-after-device-close", OP_CALL, OK, k_run_after_device_close},
    {"decode-cache/page-size-12", OP_CALL, INV, d_cache_page12},
    {"decode-cache/max-new-tokens-17", OP_CALL, INV, d_cache_new17},
    {"decode-cache/local-0", OP_CALL, INV, d_cache_local0},
    {"decode-cache/struct-size-0", OP_CALL, INV, d_cache_size0},
    {"decode-cache/page-summaries-2", OP_CALL, INV, d_cache_summaries2},
    {"decode-plan/page-budget-negative", OP_CALL, INV, d_plan_budget_negative},
    {"decode-plan/page-budget-without-page-summaries", OP_CALL, INV, d_plan_budget_without_summaries},
    {"decode-plan/kernel-names-no-family", OP_CALL, ELATTN_ERROR_UNSUPPORTED, d_plan_no_such_family},
    {"decode-plan/fp32-forced-to-a-fp16-bf16-family", OP_CALL, ELATTN_ERROR_UNSUPPORTED, d_plan_family_cannot_run},
    {"decode-plan/kernel-of-another-dtype", OP_CALL, ELATTN_ERROR_UNSUPPORTED, d_plan_kernel_other_dtype},
    {"decode-append/modes-null-for-a-new-sequence", OP_CALL, INV, d_append_modes_null_new},
    {"decode-append/modes-changed-after-prefill", OP_CALL, INV, d_append_mode_change},
    {"decode-append/mode-3", OP_CALL, INV, d_append_mode3},
    {"decode-append/seq-id-past-max-sequences", OP_CALL, INV, d_append_id4},
    {"decode-append/past-max-tokens", OP_CALL, INV, d_append_past_max_tokens},
    {"decode-append/k-too-small", OP_CALL, SMALL, d_append_k_small},
    {"decode-append/page-pool-exhausted", OP_CALL, ELATTN_ERROR_OUT_OF_MEMORY, d_append_pool_full},
    {"decode-run/num-new-above-max-new-tokens", OP_CALL, INV, d_run_num_new5},
    {"decode-run/sequence-not-started", OP_CALL, INV, d_run_unstarted},
    {"decode-run/o-aliases-q", OP_CALL, INV, d_run_o_is_q},
    {"decode-run/lse-missing-with-write-lse", OP_CALL, INV, d_run_lse_missing},
    {"decode-run/num-seqs-above-max-batch", OP_CALL, INV, d_run_batch3},
    {"decode-run/another-cache-than-the-plan's", OP_CALL, INV, d_run_other_cache},
    {"decode-run/batch-with-num-seqs-and-seq-ids", OP_CALL, INV, d_run_batch_and_seqs},
    {"decode-run/batch-of-a-released-sequence", OP_CALL, INV, d_run_batch_released},
    {"decode-batch/sequence-not-started", OP_CALL, INV, d_batch_unstarted},
    {"lifetime/kv-cache-destroyed-twice", OP_CALL, INV, d_cache_destroyed_twice},
    {"lifetime/decode-batch-destroyed-twice", OP_CALL, INV, d_batch_destroyed_twice},
};
const int inv_object_row_count = (int)(sizeof inv_object_rows / sizeof inv_object_rows[0]);

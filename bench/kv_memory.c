/*
 * elattn-kv-memory: the K/V bytes one layer's elattn_kv_cache holds after a prefill of L tokens,
 * all heads FULL ("dense") against a share of STREAMING heads ("fa-ssa:F": a fraction F of the KV
 * heads STREAMING, the rest FULL), at 8K, 32K and 128K. Each number is the cache's own report
 * (elattn_kv_cache_bytes) after real appends, checked against the arithmetic of kernels/SPEC.md
 * section 9: per head ceil(slots / P) pages of 2 * P * D * dtype bytes, slots = L (FULL) or
 * min(L, sink + local + max_new - 1) (STREAMING).
 * Shape: Qwen3-8B / Llama-3.1-8B per layer (Hkv 8, D 128, bf16), page 16, sink 128 and local
 * 2048 (the paper's), max_new_tokens 1 (and 16: the ring's extra rows). Exit 1 on a mismatch.
 * Usage: elattn-kv-memory [device name, default "reference"]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elattn/elattn.h>

enum { HKV = 8, D = 128, PAGE = 16, SINK = 128, LOCAL = 2048, CHUNK = 4096, LAYERS = 36 };

static int check(elattn_status st, const char *what)
{
    if (st != ELATTN_SUCCESS) fprintf(stderr, "%s: %s\n", what, elattn_last_error());
    return st == ELATTN_SUCCESS;
}

/* The cache's report after appending `len` tokens with `n_stream` STREAMING heads; 0 on failure. */
static size_t measured(elattn_device *dev, int len, int n_stream, int max_new, elattn_buffer *kv)
{
    elattn_kv_cache_desc cd = {.struct_size = sizeof cd, .dtype = ELATTN_BF16, .head_dim = D, .num_kv_heads = HKV,
                               .page_size = PAGE, .num_pages = HKV * ((len + PAGE - 1) / PAGE), .max_sequences = 1,
                               .max_tokens = len, .sink = SINK, .local = LOCAL, .max_new_tokens = max_new};
    elattn_kv_cache *cache;
    if (!check(elattn_kv_cache_create(dev, &cd, &cache), "elattn_kv_cache_create")) return 0;
    int32_t modes[HKV], id = 0;
    for (int h = 0; h < HKV; ++h) modes[h] = h < n_stream ? ELATTN_STREAMING : ELATTN_FULL;
    size_t bytes = 0;
    int ok = 1;
    for (int done = 0; ok && done < len; done += CHUNK) { /* a chunked prefill */
        int32_t n = len - done < CHUNK ? len - done : CHUNK;
        elattn_kv_append_args a = {.struct_size = sizeof a, .num_seqs = 1, .seq_ids = &id, .num_tokens = &n,
                                   .modes = done == 0 ? modes : NULL, .k = kv, .v = kv};
        ok = check(elattn_kv_cache_append(cache, NULL, &a), "elattn_kv_cache_append");
    }
    if (ok) ok = check(elattn_kv_cache_bytes(cache, &bytes), "elattn_kv_cache_bytes");
    elattn_kv_cache_destroy(cache);
    return ok ? bytes : 0;
}

static size_t expected(long len, int n_stream, int max_new)
{
    const long ring = LOCAL + max_new - 1, cap = SINK + ring;
    const long stream_slots = len < cap ? len : cap;
    const long pages = (HKV - n_stream) * ((len + PAGE - 1) / PAGE) + n_stream * ((stream_slots + PAGE - 1) / PAGE);
    return (size_t)pages * 2 * PAGE * D * 2; /* bf16 */
}

int main(int argc, char **argv)
{
    elattn_device *dev;
    if (!check(elattn_device_open_by_name(argc > 1 ? argv[1] : "reference", &dev), "device")) return 77;
    elattn_buffer *kv;
    if (!check(elattn_buffer_alloc(dev, (size_t)CHUNK * HKV * D * 2, &kv), "buffer")) return 1;
    if (!check(elattn_buffer_fill(kv, 0, 0, (size_t)CHUNK * HKV * D * 2, NULL), "fill")) return 1;
    const int lens[] = {8192, 32768, 131072};
    const struct { const char *name; int n_stream; } cfg[] = {{"dense", 0}, {"fa-ssa:0.5", HKV / 2}, {"fa-ssa:0.75", 3 * HKV / 4}};
    const int max_news[] = {1, 16};
    int bad = 0;
    printf("KV bytes per layer (Hkv %d, D %d, bf16, page %d, sink %d, local %d); x%d layers in brackets\n", HKV, D,
           PAGE, SINK, LOCAL, LAYERS);
    printf("%-12s %-8s %7s %14s %14s %9s %s\n", "config", "max_new", "context", "cache reports", "arithmetic",
           "vs dense", "model total");
    for (int m = 0; m < 2; ++m)
        for (int c = 0; c < 3; ++c)
            for (int l = 0; l < 3; ++l) {
                const size_t got = measured(dev, lens[l], cfg[c].n_stream, max_news[m], kv);
                const size_t want = expected(lens[l], cfg[c].n_stream, max_news[m]);
                const size_t dense = expected(lens[l], 0, max_news[m]);
                bad += got != want;
                printf("%-12s %-8d %6dK %14zu %14zu %8.1f%% [%.2f GiB]%s\n", cfg[c].name, max_news[m], lens[l] / 1024,
                       got, want, 100.0 * (double)got / (double)dense, (double)got * LAYERS / (1024.0 * 1024 * 1024),
                       got == want ? "" : "  MISMATCH");
            }
    elattn_buffer_free(kv);
    elattn_device_close(dev);
    printf("%s\n", bad ? "FAILED: the cache's report differs from the arithmetic" : "the cache's report equals the arithmetic");
    return bad ? 1 : 0;
}

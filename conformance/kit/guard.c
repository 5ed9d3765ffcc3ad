/* Guarded outputs (kit_guard.h). */
#include <stdlib.h>
#include <string.h>

#include "kit_guard.h"

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* Not one constant: a kernel that writes a fixed value (or a stride of the
 * pattern) into a guard still shows. */
static unsigned char guard_byte(size_t i) { return (unsigned char)(0xA5u ^ (unsigned)(i * 37u + (i >> 8))); }

elattn_status kit_guarded_alloc(elattn_device *dev, size_t bytes, kit_guarded *g)
{
    memset(g, 0, sizeof *g);
    g->bytes = bytes ? bytes : 1;
    g->parent_bytes = KIT_GUARD_BYTES + round_up(g->bytes, 256) + KIT_GUARD_BYTES;
    g->image = malloc(g->parent_bytes);
    if (!g->image) return ELATTN_ERROR_OUT_OF_MEMORY;
    for (size_t i = 0; i < g->parent_bytes; ++i) g->image[i] = guard_byte(i);
    memset(g->image + KIT_GUARD_BYTES, KIT_POISON, g->bytes);
    elattn_status st = elattn_buffer_alloc(dev, g->parent_bytes, &g->parent);
    if (st == ELATTN_SUCCESS) st = elattn_buffer_view(g->parent, KIT_GUARD_BYTES, g->bytes, &g->view);
    if (st == ELATTN_SUCCESS) st = kit_guarded_reset(g);
    if (st != ELATTN_SUCCESS) kit_guarded_free(g);
    return st;
}

elattn_status kit_guarded_reset(kit_guarded *g)
{
    return elattn_buffer_upload(g->parent, 0, g->image, g->parent_bytes, NULL);
}

/* Compares the leading guard `head` and the trailing one `tail` (what follows
 * the view, to the end of the parent) with the image. */
static void compare_guards(const kit_guarded *g, const unsigned char *head, const unsigned char *tail, int *guard_ok,
                           long long *first_hit)
{
    const size_t tail_at = KIT_GUARD_BYTES + g->bytes;
    long long hit = 0;
    *guard_ok = 1;
    /* the overwritten byte nearest to the view tells an overrun from an underrun */
    for (size_t i = 0; i < g->parent_bytes - tail_at && *guard_ok; ++i)
        if (tail[i] != g->image[tail_at + i]) *guard_ok = 0, hit = (long long)(g->bytes + i);
    for (size_t i = KIT_GUARD_BYTES; i-- > 0 && *guard_ok;)
        if (head[i] != g->image[i]) *guard_ok = 0, hit = (long long)i - KIT_GUARD_BYTES;
    if (first_hit) *first_hit = hit;
}

elattn_status kit_guarded_read(const kit_guarded *g, void *view_out, int *guard_ok, long long *first_hit)
{
    unsigned char *host = malloc(g->parent_bytes);
    if (!host) return ELATTN_ERROR_OUT_OF_MEMORY;
    elattn_status st = elattn_buffer_download(g->parent, 0, host, g->parent_bytes, NULL);
    if (st == ELATTN_SUCCESS) {
        compare_guards(g, host, host + KIT_GUARD_BYTES + g->bytes, guard_ok, first_hit);
        if (view_out) memcpy(view_out, host + KIT_GUARD_BYTES, g->bytes);
    }
    free(host);
    return st;
}

elattn_status kit_guarded_check(const kit_guarded *g, int *guard_ok, long long *first_hit)
{
    const size_t tail_at = KIT_GUARD_BYTES + g->bytes, tail_bytes = g->parent_bytes - tail_at;
    unsigned char *head = malloc(KIT_GUARD_BYTES + tail_bytes);
    if (!head) return ELATTN_ERROR_OUT_OF_MEMORY;
    unsigned char *tail = head + KIT_GUARD_BYTES;
    elattn_status st = elattn_buffer_download(g->parent, 0, head, KIT_GUARD_BYTES, NULL);
    if (st == ELATTN_SUCCESS) st = elattn_buffer_download(g->parent, tail_at, tail, tail_bytes, NULL);
    if (st == ELATTN_SUCCESS) compare_guards(g, head, tail, guard_ok, first_hit);
    free(head);
    return st;
}

int kit_guarded_untouched(const kit_guarded *g)
{
    unsigned char *host = malloc(g->parent_bytes);
    int same = host && elattn_buffer_download(g->parent, 0, host, g->parent_bytes, NULL) == ELATTN_SUCCESS &&
               memcmp(host, g->image, g->parent_bytes) == 0;
    free(host);
    return same;
}

void kit_guarded_free(kit_guarded *g)
{
    elattn_buffer_free(g->view);
    elattn_buffer_free(g->parent);
    free(g->image);
    memset(g, 0, sizeof *g);
}

/*
 * Guarded outputs: a device buffer [guard | view of `bytes` | guard] whose
 * guards hold a position-dependent byte pattern and whose view is poisoned
 * with 0xFF (NaN in every dtype) before each run, so that a write past the
 * output, a write before it and an output left unwritten all show. Used by
 * elattn-conformance and the lab tools.
 */
#ifndef ELATTN_KIT_GUARD_H
#define ELATTN_KIT_GUARD_H

#include <stddef.h>

#include "elattn/elattn.h"

#define KIT_GUARD_BYTES 4096 /* a multiple of every sub-buffer alignment: the view is valid everywhere */
#define KIT_POISON 0xFF

typedef struct kit_guarded {
    elattn_buffer *parent, *view;
    size_t bytes;         /* of the view */
    size_t parent_bytes;
    unsigned char *image; /* host image of the parent as uploaded */
} kit_guarded;

/* Allocates and resets; on failure nothing is left allocated. */
elattn_status kit_guarded_alloc(elattn_device *dev, size_t bytes, kit_guarded *g);
/* Re-upload the guard pattern and poison (before each run). */
elattn_status kit_guarded_reset(kit_guarded *g);
/* Download the parent; `view_out` (may be NULL) gets the view's bytes.
 * *guard_ok: 1 when both guards still hold the pattern; otherwise
 * *first_hit (may be NULL) is the offset of the overwritten guard byte nearest
 * to the view, from the view's start (>= size: past the end, < 0: before it). */
elattn_status kit_guarded_read(const kit_guarded *g, void *view_out, int *guard_ok, long long *first_hit);
/* The same for the two guards alone (downloads only them: for large outputs). */
elattn_status kit_guarded_check(const kit_guarded *g, int *guard_ok, long long *first_hit);
/* 1 when the whole parent (guards and poison) is exactly as uploaded. */
int kit_guarded_untouched(const kit_guarded *g);
void kit_guarded_free(kit_guarded *g);

#endif /* ELATTN_KIT_GUARD_H */

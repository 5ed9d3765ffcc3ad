/*
 * Live handles and reference counts.
 *
 * Every object the API hands out is entered in a set of live handles (an
 * open-addressing hash set of pointers, under one mutex) when it is made and
 * removed when the caller releases it. A call checks its handles against the
 * set before it reads them, so a freed or never-made handle is an error with
 * a message, not a read of freed memory: the set compares pointer values and
 * never dereferences them.
 *
 * The same mutex guards the reference counts: a device counts the caller's
 * handle plus every stream, buffer, event and plan made on it; a root
 * allocation counts the caller's handle plus every view of it. An object is
 * released when its count drops to zero, outside the lock.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

typedef struct slot {
    const void *ptr; /* NULL: empty */
    int kind;
} slot;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot *slots;
static size_t capacity; /* a power of two, or 0 before the first handle */
static size_t used;

static size_t home(const void *p, size_t cap)
{
    /* Fibonacci hashing of the address without its alignment bits */
    uint64_t h = ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

static size_t find(const void *p)
{
    if (capacity == 0) return SIZE_MAX;
    for (size_t i = home(p, capacity);; i = (i + 1) & (capacity - 1)) {
        if (slots[i].ptr == p) return i;
        if (!slots[i].ptr) return SIZE_MAX;
    }
}

static void insert(slot *table, size_t cap, const void *p, int kind)
{
    size_t i = home(p, cap);
    while (table[i].ptr) i = (i + 1) & (cap - 1);
    table[i].ptr = p;
    table[i].kind = kind;
}

/* Keep the load at most one half so that probes stay short. */
static int grow(void)
{
    size_t cap = capacity ? 2 * capacity : 64;
    slot *table = calloc(cap, sizeof *table);
    if (!table) return 0;
    for (size_t i = 0; i < capacity; ++i)
        if (slots[i].ptr) insert(table, cap, slots[i].ptr, slots[i].kind);
    free(slots);
    slots = table;
    capacity = cap;
    return 1;
}

/* Linear probing deletes by shifting later members of the cluster back. */
static void erase(size_t i)
{
    size_t j = i;
    slots[i].ptr = NULL;
    for (;;) {
        j = (j + 1) & (capacity - 1);
        if (!slots[j].ptr) return;
        size_t k = home(slots[j].ptr, capacity);
        /* move j into the hole unless its home lies cyclically in (i, j] */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j)) continue;
        slots[i] = slots[j];
        slots[j].ptr = NULL;
        i = j;
    }
}

elattn_status elattn_handle_add(const void *p, elattn_handle_kind kind)
{
    pthread_mutex_lock(&lock);
    int ok = 2 * (used + 1) <= capacity || grow();
    if (ok) {
        insert(slots, capacity, p, (int)kind);
        used++;
    }
    pthread_mutex_unlock(&lock);
    return ok ? ELATTN_SUCCESS : elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "handle table: host allocation failed");
}

int elattn_handle_remove(const void *p, elattn_handle_kind kind)
{
    pthread_mutex_lock(&lock);
    size_t i = find(p);
    int found = i != SIZE_MAX && slots[i].kind == (int)kind;
    if (found) {
        erase(i);
        used--;
    }
    pthread_mutex_unlock(&lock);
    return found;
}

int elattn_handle_live(const void *p, elattn_handle_kind kind)
{
    if (!p) return 0;
    pthread_mutex_lock(&lock);
    size_t i = find(p);
    int found = i != SIZE_MAX && slots[i].kind == (int)kind;
    pthread_mutex_unlock(&lock);
    return found;
}

const char *elattn_handle_kind_name(elattn_handle_kind kind)
{
    switch (kind) {
    case ELATTN_HANDLE_DEVICE: return "an open elattn_device";
    case ELATTN_HANDLE_STREAM: return "a live elattn_stream";
    case ELATTN_HANDLE_BUFFER: return "a live elattn_buffer";
    case ELATTN_HANDLE_EVENT: return "a live elattn_event";
    case ELATTN_HANDLE_ATTN_PLAN: return "a live elattn_attn_plan";
    case ELATTN_HANDLE_XATTN_PLAN: return "a live elattn_xattn_plan";
    case ELATTN_HANDLE_ROUTER_PLAN: return "a live elattn_router_plan";
    case ELATTN_HANDLE_ATTN_BATCH: return "a live elattn_attn_batch";
    case ELATTN_HANDLE_KV_CACHE: return "a live elattn_kv_cache";
    case ELATTN_HANDLE_DECODE_PLAN: return "a live elattn_decode_plan";
    case ELATTN_HANDLE_DECODE_BATCH: return "a live elattn_decode_batch";
    }
    return "a live elattn handle";
}

elattn_status elattn_check_handle(const char *name, const void *p, elattn_handle_kind kind)
{
    if (!p) return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: NULL", name);
    if (!elattn_handle_live(p, kind))
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: not %s (released already, or never made)", name,
                           elattn_handle_kind_name(kind));
    return ELATTN_SUCCESS;
}

/* Leaves the thread's message alone unless it fails: callers release objects after a failed call
 * and then read that call's message. */
int elattn_release_handle(const char *name, const void *p, elattn_handle_kind kind)
{
    if (!p) return 0;
    if (elattn_handle_remove(p, kind)) return 1;
    elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "%s: not %s (released twice?); nothing was done", name,
                elattn_handle_kind_name(kind));
    return 0;
}

/* ---- reference counts ------------------------------------------------------------ */
void elattn_device_retain(elattn_device *d)
{
    pthread_mutex_lock(&lock);
    d->refs++;
    pthread_mutex_unlock(&lock);
}

void elattn_device_release(elattn_device *d)
{
    pthread_mutex_lock(&lock);
    int last = --d->refs == 0;
    pthread_mutex_unlock(&lock);
    if (!last) return;
    d->ops->close(d->impl);
    free(d);
}

void elattn_root_retain(elattn_buffer *root)
{
    pthread_mutex_lock(&lock);
    root->refs++;
    pthread_mutex_unlock(&lock);
}

int elattn_root_release(elattn_buffer *root)
{
    pthread_mutex_lock(&lock);
    int last = --root->refs == 0;
    pthread_mutex_unlock(&lock);
    return last;
}

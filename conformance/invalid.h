/*
 * The invalid-argument table's shared types: invalid.c holds the valid
 * baseline calls, the rows that break one of their arguments and the check;
 * invalid_objects.c the rows about buffers, events, aliasing outputs and
 * object lifetimes (OP_CALL rows, which make their own calls).
 */
#ifndef ELATTN_CONF_INVALID_H
#define ELATTN_CONF_INVALID_H

#include "conf.h"

/* OP_CALL rows make their own calls (buffers, events, object lifetimes) and return the status under test. */
typedef enum inv_op {
    OP_ATTN_PLAN,
    OP_ATTN_RUN,
    OP_XATTN_PLAN,
    OP_XATTN_RUN,
    OP_ROUTER_PLAN,
    OP_ROUTER_RUN,
    OP_CALL
} inv_op;

/* A valid call of each kind, its buffers, and deliberately wrong buffers. */
typedef struct inv_ctx {
    elattn_device *dev;
    elattn_attn_desc ad;
    elattn_attn_args aa;
    elattn_xattn_desc xd;
    elattn_xattn_args xa;
    elattn_router_desc rd;
    elattn_router_args ra;
    int32_t cu_q[3], cu_k[3], modes[4], rcu[3], rmodes[4];
    int32_t table[6]; /* a valid paged K/V table: [2][3], pages of 16 keys */
    float taus[2];
    elattn_plan_options opts; /* passed to the plan rows' create call when use_opts */
    int use_opts;
    /* flags for the rows that pass NULL where a pointer is required */
    int null_device, null_desc, null_out, null_plan, null_args;
    /* buffers, and the bytes the valid calls use of each */
    elattn_buffer *q, *k, *v, *mask, *keys, *w[10];
    size_t q_bytes, kv_bytes, lse_bytes, mask_bytes, logits_bytes;
    kit_guarded o, lse, xmask, logits;
    kit_guarded alias; /* rows that make two arguments views of one allocation; checked like the outputs */
    elattn_buffer *q_small, *o_small, *lse_small, *mask_small, *xmask_small, *w_small, *logits_small;
    elattn_buffer *foreign_q; /* same shape, from another device handle */
    elattn_device *foreign_dev;
    elattn_buffer *extra[8]; /* views made by a row (freed with the context) */
    int num_extra;
    size_t attn_ws_bytes;      /* of the valid attention plan */
    elattn_buffer *ws_small;   /* attn workspace one byte short (NULL if the plan needs none) */
    const char *not_applicable; /* why the row cannot be built on this target, or NULL */
    case_result *result;       /* OP_CALL rows report wrong bytes here */
    elattn_status call_status; /* OP_CALL rows: the status of the call under test */
    char call_message[512];    /* and elattn_last_error() right after it (clean-up calls follow) */
} inv_ctx;

typedef struct inv_row {
    const char *name;
    inv_op op;
    elattn_status expect;
    /* breaks one thing of the valid call; OP_CALL rows make their calls here and set c->call_status */
    void (*apply)(inv_ctx *c);
} inv_row;

/* invalid_objects.c */
extern const inv_row inv_object_rows[];
extern const int inv_object_row_count;

#endif /* ELATTN_CONF_INVALID_H */

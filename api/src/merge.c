/* elattn_merge_states: merging two partial attention states by their LSEs. */
#include <string.h>

#include "internal.h"

#define MAX_MERGE_HEAD_DIM 4096

elattn_status elattn_merge_states(elattn_device *device, elattn_stream *stream, const elattn_merge_args *caller_args)
{
    BEGIN();
    HANDLE(device, "device", ELATTN_HANDLE_DEVICE);
    elattn_merge_args a;
    CHECK(ELATTN_TAKE("args", caller_args, elattn_merge_args, lse, &a));
    if (elattn_dtype_size(a.dtype) == 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT,
                           "args.dtype: %d is not an elattn_dtype (ELATTN_F32, ELATTN_F16, ELATTN_BF16)", (int)a.dtype);
    if (a.num_tokens < 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.num_tokens: %d must be >= 0", a.num_tokens);
    if (a.num_heads < 1)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.num_heads: %d must be >= 1", a.num_heads);
    if (a.head_dim < 1 || a.head_dim > MAX_MERGE_HEAD_DIM)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "args.head_dim: %d is outside [1, %d]", a.head_dim,
                           MAX_MERGE_HEAD_DIM);
    void *s;
    CHECK(elattn_stream_native(device, stream, &s));
    size_t o_bytes, lse_bytes;
    CHECK(elattn_tensor_bytes("args.o", a.num_tokens, a.num_heads, a.head_dim, elattn_dtype_size(a.dtype), &o_bytes));
    CHECK(elattn_tensor_bytes("args.lse", a.num_tokens, a.num_heads, 1, sizeof(float), &lse_bytes));
    CHECK(elattn_check_buffer("args.o1", a.o1, device, o_bytes, 1));
    CHECK(elattn_check_buffer("args.lse1", a.lse1, device, lse_bytes, 1));
    CHECK(elattn_check_buffer("args.o2", a.o2, device, o_bytes, 1));
    CHECK(elattn_check_buffer("args.lse2", a.lse2, device, lse_bytes, 1));
    CHECK(elattn_check_buffer("args.o", a.o, device, o_bytes, 1));
    CHECK(elattn_check_buffer("args.lse", a.lse, device, lse_bytes, 0));
    const elattn_arg_span spans[] = {
        {"args.o", a.o, o_bytes, 1},       {"args.lse", a.lse, lse_bytes, 1}, {"args.o1", a.o1, o_bytes, 0},
        {"args.lse1", a.lse1, lse_bytes, 0}, {"args.o2", a.o2, o_bytes, 0},   {"args.lse2", a.lse2, lse_bytes, 0},
    };
    CHECK(elattn_check_overlaps(spans, (int)(sizeof spans / sizeof spans[0])));
    if (a.num_tokens == 0) return ELATTN_SUCCESS;
    if (!device->ops->merge_run)
        return elattn_fail(ELATTN_ERROR_UNSUPPORTED, "device: backend %s has no merge kernel", device->ops->name);
    elattn_merge_call call = {a.dtype,         a.num_tokens,  a.num_heads,   a.head_dim,
                              a.o1->native,    a.lse1->native, a.o2->native, a.lse2->native,
                              a.o->native,     elattn_native_or_null(a.lse)};
    return device->ops->merge_run(device->impl, s, &call);
}

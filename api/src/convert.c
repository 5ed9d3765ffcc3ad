/* Host dtype conversion. */
#include "elattn_ref.h"
#include "internal.h"

elattn_status elattn_convert(elattn_dtype dst_dtype, void *dst, elattn_dtype src_dtype, const void *src, size_t n)
{
    BEGIN();
    if (elattn_dtype_size(dst_dtype) == 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "dst_dtype: %d is not an elattn_dtype", (int)dst_dtype);
    if (elattn_dtype_size(src_dtype) == 0)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "src_dtype: %d is not an elattn_dtype", (int)src_dtype);
    if (n == 0) return ELATTN_SUCCESS;
    REQUIRE(dst, "dst");
    REQUIRE(src, "src");
    for (size_t i = 0; i < n; ++i) elattn_ref_store(dst_dtype, dst, i, elattn_ref_load(src_dtype, src, i));
    return ELATTN_SUCCESS;
}

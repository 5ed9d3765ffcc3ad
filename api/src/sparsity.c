/* Sparsity metrics of a call (Omega_MSR, Omega_ESR), on the host. */
#include "elattn_ref.h"
#include "internal.h"

elattn_status elattn_sparsity_of_call(const elattn_attn_desc *desc, const int32_t *cu_seqlens_q,
                                      const int32_t *cu_seqlens_k, const int32_t *modes,
                                      const uint8_t *block_mask_host, elattn_sparsity *out)
{
    BEGIN();
    REQUIRE(out, "out");
    elattn_attn_desc n;
    int total_q, total_k, counts[ELATTN_MODE_COUNT];
    CHECK(elattn_check_attn_desc(desc, &n));
    CHECK(elattn_check_cu_seqlens("cu_seqlens_q", cu_seqlens_q, n.batch, n.max_seqlen_q, 0, &total_q));
    CHECK(elattn_check_cu_seqlens("cu_seqlens_k", cu_seqlens_k, n.batch, n.max_seqlen_k, 0, &total_k));
    CHECK(elattn_check_modes("modes", modes, n.batch * n.num_kv_heads, counts));
    if (counts[ELATTN_MODE_BLOCK_SPARSE] > 0 && !block_mask_host)
        return elattn_fail(ELATTN_ERROR_INVALID_ARGUMENT, "block_mask_host: NULL, but some head is BLOCK_SPARSE");
    return elattn_ref_sparsity(&n, cu_seqlens_q, cu_seqlens_k, modes, block_mask_host, out);
}

void elattn_sparsity_merge(elattn_sparsity *acc, const elattn_sparsity *one)
{
    if (!acc || !one) return;
    acc->entries += one->entries;
    acc->sparse_entries += one->sparse_entries;
    acc->rho_sum += one->rho_sum;
    acc->omega_msr = acc->entries ? (double)acc->sparse_entries / (double)acc->entries : 0.0;
    acc->omega_esr = acc->entries ? acc->rho_sum / (double)acc->entries : 0.0;
}

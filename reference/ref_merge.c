/* Merging two partial attention states (elattn.h: elattn_merge_states). */
#include <math.h>

#include "elattn_ref.h"

void elattn_ref_merge_states(elattn_dtype dtype, int num_tokens, int num_heads, int head_dim, const void *o1,
                             const float *lse1, const void *o2, const float *lse2, void *o, float *lse)
{
    for (size_t r = 0; r < (size_t)num_tokens * (size_t)num_heads; ++r) {
        const double l1 = lse1[r], l2 = lse2[r], m = l1 > l2 ? l1 : l2;
        double w1 = 0.0, w2 = 0.0, merged = -INFINITY;
        if (m != -INFINITY) { /* both -inf: O = 0, lse = -inf */
            const double a = exp(l1 - m), b = exp(l2 - m);
            w1 = a / (a + b);
            w2 = b / (a + b);
            merged = m + log(a + b);
        }
        for (size_t x = r * (size_t)head_dim; x < (r + 1) * (size_t)head_dim; ++x)
            elattn_ref_store(dtype, o, x, w1 * elattn_ref_load(dtype, o1, x) + w2 * elattn_ref_load(dtype, o2, x));
        if (lse) lse[r] = (float)merged;
    }
}

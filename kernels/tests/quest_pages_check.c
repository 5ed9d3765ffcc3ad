/*
 * Quest page selection's compaction (kernels/SPEC.md section 9b), checked exhaustively on the host
 * for pages of 1, 2, 4 and 8 positions, every length 1..70, every step size n (1..16, <= len), every
 * budget 1..9 and, for each, every way of choosing the scored pages (every subset of the candidates
 * of the size the budget keeps):
 *  - elattn_quest_kept_below is the number of pages read below the tail (page 0 and min(B, C) of the
 *    C candidates), and elattn_quest_length(...) is the slot count of the read pages put end to end;
 *  - reading those pages, in ascending order, as a FULL head of that length (slot v in page
 *    chosen[v / P], row v % P) with query i at len' - n + i and the decode rule (elattn_decode_visible,
 *    causal), a query sees exactly the positions t <= p (p = len - n + i) of the read pages, each once:
 *    the claim every backend's kernels rely on when they decode a BLOCK_SPARSE head over its pages;
 *  - elattn_quest_before is a strict order on (score, page) pairs: higher score first, the lower page
 *    on a tie, NaN last (as -inf);
 *  - elattn_quest_join adds its lanes pairwise, not in turn (a case where the two differ).
 * Exit 0 pass, 1 fail.
 */
#include <math.h>
#include <stdio.h>

#include "elattn_spec.h"

static long failures;

#define FAIL(...)                                                                                             \
    do {                                                                                                      \
        if (failures++ < 10) printf(__VA_ARGS__);                                                             \
    } while (0)

/* Every position the read pages hold that query p sees, through the compacted FULL head: each must be
 * <= p and seen once, and every position <= p of a read page must be seen. */
static void check_compaction(int P, int shift, int len, int n, int budget, const int *chosen, int count, long *checked)
{
    const elattn_i64 len_c = elattn_quest_length(len, n, shift, budget);
    const elattn_i64 end = (len + P - 1) / P;
    if (len_c != (elattn_i64)(count - 1) * P + (len - (elattn_i64)chosen[count - 1] * P))
        FAIL("P %d len %d n %d B %d: length %lld, the read pages hold %lld slots\n", P, len, n, budget,
             (long long)len_c, (long long)((elattn_i64)(count - 1) * P + (len - (elattn_i64)chosen[count - 1] * P)));
    if (chosen[count - 1] != end - 1) FAIL("P %d len %d n %d B %d: the last page is not read\n", P, len, n, budget);
    static int seen[128];
    for (int i = 0; i < n; ++i) {
        const elattn_i64 p = (elattn_i64)len - n + i, p_c = len_c - n + i;
        for (int t = 0; t < len; ++t) seen[t] = 0;
        for (elattn_i64 v = 0; v < len_c; ++v) {
            const elattn_i64 t = (elattn_i64)chosen[v / P] * P + v % P; /* the position slot v holds */
            if (!elattn_decode_visible(ELATTN_MODE_FULL, p_c, v, 0, 1)) continue;
            if (t > p) FAIL("P %d len %d n %d B %d: query %lld sees position %lld\n", P, len, n, budget, (long long)p,
                            (long long)t);
            else ++seen[t];
        }
        for (int k = 0; k < count; ++k)
            for (int t = chosen[k] * P; t < (chosen[k] + 1) * P && t < len; ++t)
                if (seen[t] != (t <= p))
                    FAIL("P %d len %d n %d B %d: query %lld sees position %d %d times\n", P, len, n, budget,
                         (long long)p, t, seen[t]);
        ++*checked;
    }
}

int main(void)
{
    long checked = 0, selections = 0;
    for (int shift = 0; shift <= 3; ++shift) {
        const int P = 1 << shift;
        for (int len = 1; len <= 70; ++len)
            for (int n = 1; n <= 16 && n <= len; ++n) {
                const int tail = (int)elattn_quest_tail(len, n, shift), end = (len + P - 1) / P;
                const int candidates = tail > 1 ? tail - 1 : 0;
                if (tail != (len - n) / P) FAIL("tail of len %d n %d P %d\n", len, n, P);
                for (int budget = 1; budget <= 9; ++budget) {
                    const int keep = candidates < budget ? candidates : budget;
                    const elattn_i64 below = elattn_quest_kept_below(len, n, shift, budget);
                    if (below != (tail > 0 ? 1 + keep : 0))
                        FAIL("P %d len %d n %d B %d: kept below %lld, want %d\n", P, len, n, budget, (long long)below,
                             tail > 0 ? 1 + keep : 0);
                    /* every subset of `keep` candidates (as a bit mask over pages 1 .. tail - 1), up to 2^12 */
                    if (candidates > 12) continue;
                    for (unsigned m = 0; m < (1u << candidates); ++m) {
                        if (__builtin_popcount(m) != keep) continue;
                        int chosen[128], count = 0;
                        if (tail > 0) chosen[count++] = 0;
                        for (int j = 1; j < tail; ++j)
                            if (m >> (j - 1) & 1u) chosen[count++] = j;
                        for (int j = tail; j < end; ++j) chosen[count++] = j;
                        check_compaction(P, shift, len, n, budget, chosen, count, &checked);
                        ++selections;
                    }
                }
            }
    }
    /* the ranking */
    const float s[] = {-INFINITY, -1.0f, -0.0f, 0.0f, 0.5f, 3.0f, INFINITY, NAN};
    const int ns = (int)(sizeof s / sizeof s[0]);
    for (int a = 0; a < ns; ++a)
        for (int b = 0; b < ns; ++b)
            for (int pa = 0; pa < 3; ++pa)
                for (int pb = 0; pb < 3; ++pb) {
                    const float sa = s[a] != s[a] ? -INFINITY : s[a], sb = s[b] != s[b] ? -INFINITY : s[b];
                    const int want = sa > sb || (sa == sb && pa < pb);
                    if (elattn_quest_before(s[a], pa, s[b], pb) != want)
                        FAIL("before(%g, %d, %g, %d) != %d\n", (double)s[a], pa, (double)s[b], pb, want);
                    if (pa != pb && elattn_quest_before(s[a], pa, s[b], pb) == elattn_quest_before(s[b], pb, s[a], pa))
                        FAIL("before is not a strict order at (%g, %d), (%g, %d)\n", (double)s[a], pa, (double)s[b], pb);
                }
    const float lanes[8] = {1e8f, 1.0f, -1e8f, 1.0f, 0.5f, 0.25f, 0.125f, 0.0625f};
    /* pairwise: (1e8 + 1) rounds to 1e8 and (-1e8 + 1) to -1e8, so 0 + 0.9375; in turn it would be 1.9375 */
    const float joined = elattn_quest_join(lanes), want = 0.9375f;
    if (joined != want) FAIL("elattn_quest_join: %.9g, the pairwise order gives %.9g\n", (double)joined, (double)want);
    printf("%s: %ld selections, %ld (selection, query) pairs checked, %ld failures\n", failures ? "FAIL" : "ok",
           selections, checked, failures);
    return failures ? 1 : 0;
}

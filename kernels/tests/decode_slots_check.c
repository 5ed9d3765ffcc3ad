/*
 * The decode cache's slot mapping (kernels/SPEC.md section 9), checked exhaustively on the host for
 * sink 0..6, local 1..9, max_new 1..16 and every length 1..90:
 *  - elattn_kv_slot_of and elattn_kv_position_of are inverse on the positions a head holds, the
 *    held positions are distinct, and a STREAMING head never holds more than sink + ring slots;
 *  - the positions held are exactly the sinks and the last `ring` positions (FULL: all);
 *  - for every step size n <= max_new and every new query p in [len - n, len), each key the prefill
 *    pair rule admits (elattn_pair_visible, causal) is held, and elattn_decode_visible agrees with
 *    the prefill rule on every key: decode never needs an evicted row;
 *  - elattn_decode_all_visible(elattn_decode_seen_of(...), begin, end) holds only where every
 *    query of the step sees every slot in [begin, end) (the kernels' shortcut past the per-pair
 *    test), and holds for every such range of up to 16 slots that does not start in the sinks and
 *    end in the ring (the one shape it declines): the shortcut is as wide as the rule allows.
 * Exit 0 pass, 1 fail.
 */
#include <stdio.h>
#include <string.h>

#include "elattn_spec.h"

static long failures;

#define FAIL(...)                                                                                             \
    do {                                                                                                      \
        if (failures++ < 10) printf(__VA_ARGS__);                                                             \
    } while (0)

int main(void)
{
    long checked = 0, shortcuts[2] = {0, 0}; /* ranges all_visible takes: FULL/BLOCK_SPARSE, STREAMING */
    static int held_by[200];
    for (int mode = ELATTN_MODE_FULL; mode <= ELATTN_MODE_STREAMING; ++mode)
        for (int sink = 0; sink <= 6; ++sink)
            for (int local = 1; local <= 9; ++local)
                for (int max_new = 1; max_new <= 16; ++max_new) {
                    const int ring = elattn_kv_ring(local, max_new);
                    for (int len = 1; len <= 90; ++len) {
                        const elattn_i64 slots = elattn_kv_slots(mode, sink, ring, len);
                        if (mode == ELATTN_MODE_STREAMING && slots > sink + ring)
                            FAIL("slots %lld > sink + ring\n", (long long)slots);
                        memset(held_by, -1, sizeof held_by);
                        for (elattn_i64 s = 0; s < slots; ++s) {
                            const elattn_i64 t = elattn_kv_position_of(mode, sink, ring, len, s);
                            if (t < 0 || t >= len || held_by[t] >= 0)
                                FAIL("mode %d sink %d local %d max_new %d len %d: slot %lld holds %lld\n", mode, sink,
                                     local, max_new, len, (long long)s, (long long)t);
                            else
                                held_by[t] = (int)s;
                            if (elattn_kv_slot_of(mode, sink, ring, len, t) != s)
                                FAIL("slot_of(position_of(%lld)) != %lld\n", (long long)s, (long long)s);
                        }
                        for (int t = 0; t < len; ++t) {
                            const int should = mode != ELATTN_MODE_STREAMING || t < sink || t >= len - ring;
                            if (should != (held_by[t] >= 0))
                                FAIL("mode %d sink %d local %d max_new %d len %d: position %d held %d, expected %d\n",
                                     mode, sink, local, max_new, len, t, held_by[t] >= 0, should);
                            if (should && elattn_kv_slot_of(mode, sink, ring, len, t) != held_by[t])
                                FAIL("slot_of(%d) is not the slot that holds it\n", t);
                            if (!should && elattn_kv_slot_of(mode, sink, ring, len, t) != -1)
                                FAIL("slot_of(%d) of an evicted position is not -1\n", t);
                        }
                        for (int n = 1; n <= max_new && n <= len; ++n) {
                            const elattn_decode_seen seen = elattn_decode_seen_of(mode, sink, ring, local, len, n);
                            for (int begin = 0; begin < slots; ++begin) {
                                int every = 1; /* every query sees every slot of [begin, end) */
                                for (int end = begin + 1; end <= slots && end <= begin + 16; ++end) {
                                    const elattn_i64 t = elattn_kv_position_of(mode, sink, ring, len, end - 1);
                                    for (int i = 0; i < n; ++i)
                                        every &= elattn_decode_visible(mode, elattn_query_pos(i, n, len), t, sink, local);
                                    const int claimed = elattn_decode_all_visible(&seen, begin, end);
                                    const int straddles = mode == ELATTN_MODE_STREAMING && begin < sink && end > sink;
                                    if (claimed && !every)
                                        FAIL("all_visible(mode %d sink %d local %d max_new %d len %d n %d, [%d, %d)) "
                                             "but a slot is hidden from a query\n", mode, sink, local, max_new, len, n,
                                             begin, end);
                                    if (!claimed && every && !straddles)
                                        FAIL("all_visible(mode %d sink %d local %d max_new %d len %d n %d, [%d, %d)) "
                                             "declines a range every query sees\n", mode, sink, local, max_new, len, n,
                                             begin, end);
                                    if (claimed) ++shortcuts[mode == ELATTN_MODE_STREAMING];
                                }
                            }
                        }
                        for (int n = 1; n <= max_new && n <= len; ++n)
                            for (int i = 0; i < n; ++i) {
                                const int p = elattn_query_pos(i, n, len); /* = len - n + i */
                                for (int t = 0; t < len; ++t) {
                                    const int prefill = elattn_pair_visible(mode, 1, p, t, sink, local, 16, 0);
                                    if (prefill != elattn_decode_visible(mode, p, t, sink, local))
                                        FAIL("decode and prefill rules differ at p %d t %d\n", p, t);
                                    if (prefill && held_by[t] < 0)
                                        FAIL("mode %d sink %d local %d max_new %d len %d n %d: query %d needs evicted "
                                             "key %d\n", mode, sink, local, max_new, len, n, p, t);
                                    ++checked;
                                }
                            }
                    }
                }
    /* the shortcut must be taken somewhere, for both kinds of head (a rule that never holds is no test) */
    if (shortcuts[0] == 0 || shortcuts[1] == 0) FAIL("all_visible never held: %ld / %ld ranges\n", shortcuts[0], shortcuts[1]);
    printf("%ld pairs checked, %ld / %ld ranges all visible (FULL and BLOCK_SPARSE / STREAMING), %ld failures\n",
           checked, shortcuts[0], shortcuts[1], failures);
    return failures ? 1 : 0;
}

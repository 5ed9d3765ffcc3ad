#!/usr/bin/env python3
"""Checks bench/interleaved.py's arithmetic without a GPU: the FULL heads of a mix and the ratios it
reports (ours against the ideal (1 - F) x dense + F x fa-ssa:1, the serial composition against ours).
Exit 0 when every check holds, 1 otherwise."""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interleaved  # noqa: E402  (the module imports torch only inside main())

failures = []


def check(what, ok):
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)


check("0.75 of 8 KV heads STREAMING leaves 2 FULL", interleaved.n_full_heads(0.75, 8) == 2)
check("0.5 of 8 leaves 4", interleaved.n_full_heads(0.5, 8) == 4)
check("1.0 of 8 leaves 0", interleaved.n_full_heads(1.0, 8) == 0)
try:
    interleaved.n_full_heads(0.3, 8)
    check("0.3 of 8 (not a whole head count) is refused", False)
except ValueError:
    check("0.3 of 8 (not a whole head count) is refused", True)

med = {"ours dense": 12.0, "ours fa-ssa:1": 2.0, "ours fa-ssa:0.75": 5.5, "ours fa-ssa:0.5": 7.0,
       "serial 0.75": 6.6, "serial 0.5": 7.7}
r = interleaved.mix_ratios(med, [0.75, 0.5])
# ideal at 0.75: 0.25 x 12 + 0.75 x 2 = 4.5; at 0.5: 0.5 x 12 + 0.5 x 2 = 7.0
check("ideal of fa-ssa:0.75 = 0.25 x dense + 0.75 x fa-ssa:1", math.isclose(r["0.75"]["ideal_ms"], 4.5))
check("x ideal of fa-ssa:0.75 = 5.5 / 4.5", math.isclose(r["0.75"]["x_ideal"], 5.5 / 4.5))
check("ideal of fa-ssa:0.5 = 7.0, x ideal 1.0", math.isclose(r["0.5"]["ideal_ms"], 7.0) and
      math.isclose(r["0.5"]["x_ideal"], 1.0))
check("serial over ours at 0.75 = 6.6 / 5.5 = 1.2", math.isclose(r["0.75"]["serial_over_ours"], 1.2))
check("serial over ours at 0.5 = 7.7 / 7.0 = 1.1", math.isclose(r["0.5"]["serial_over_ours"], 1.1))
check("only the mixes asked for", set(interleaved.mix_ratios(med, [0.5])) == {"0.5"})

print(f"interleaved_check: {len(failures)} failed")
sys.exit(1 if failures else 0)

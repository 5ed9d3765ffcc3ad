#!/usr/bin/env bash
# Calls 140-142 (twentieth session, issue 14), from the repository root with the shared tail's
# patch applied to the working tree (git apply bench/lab/notes/decode/shared-tail-N.patch):
#
# Call 140 (shared-tail-2.patch, BUDGET_S=540): ran out of the call's 600 s with no figures; the
#   script's `wait` waited on its own `tail -f` as well as the base build (fixed: `wait $basepid`).
# Call 141 (shared-tail-2.patch, the same warm H100; the builds were kept): the script as it was
#   then, without the P8 runs and the racecheck, with the patch it reverses for the base build named
#   shared-tail-2.patch:
#     BUDGET_S=400 bash bench/lab/notes/decode/tail2-ab.sh
# Call 142 (shared-tail-3.patch, a fresh H100: the H200 kind could not be started), the script as
#   committed:
BUDGET_S=330 bash bench/lab/notes/decode/tail2-ab.sh

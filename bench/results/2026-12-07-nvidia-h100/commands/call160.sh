# call 160, run with the device tool as: BUDGET_S=430 bash bench/lab/notes/mma/wgmma-overlap-measure.sh 2>&1 | tail -40 (kind nvidia-h100-x1; tree 421075f, which main then reverted: bench/lab/notes/mma/wgmma-overlap-kv2.patch)
#!/usr/bin/env bash
BUDGET_S=430 bash bench/lab/notes/mma/wgmma-overlap-measure.sh

# call 161, run with the device tool as: BUDGET_S=330 bash bench/lab/notes/mma/d64-async-tiles.sh 2>&1 | tail -30 (kind nvidia-h100-x1; tree 1a519b3)
#!/usr/bin/env bash
BUDGET_S=330 bash bench/lab/notes/mma/d64-async-tiles.sh

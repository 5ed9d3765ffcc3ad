# call 162, run with the device tool as: BUDGET_S=540 bash bench/lab/notes/mma/d64-async-default-check.sh (kind nvidia-h100-x1; tree 1bdc6db)
#!/usr/bin/env bash
BUDGET_S=540 bash bench/lab/notes/mma/d64-async-default-check.sh

# call 158, run with the device tool as: nvidia-smi --query-gpu=name --format=csv,noheader; ANY_GPU=1 LENS=131072 TOTAL_BUDGET_S=265 PEERS_LIMIT_S=52 bash bench/lab/notes/wgmma/h200-issue11-table.sh 2>&1 | grep -vE "^\s+sm__pipe_tensor_(op|type)" | tail -45 (kind nvidia-h100-x1, the warm H100 of call 157)
#!/usr/bin/env bash
# Twenty-fifth session (issue 11): call 157's table at 128K, on the same machine right after it.
ANY_GPU=1 LENS=131072 TOTAL_BUDGET_S=265 PEERS_LIMIT_S=52 bash bench/lab/notes/wgmma/h200-issue11-table.sh

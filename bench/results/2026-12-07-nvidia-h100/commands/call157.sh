# call 157, run with the device tool as: g=$(nvidia-smi --query-gpu=name --format=csv,noheader); echo "$g"; if echo "$g" | grep -q H200; then [issue 14's table, h200-table-only.sh, then the issue 11 table in the time left]; else ANY_GPU=1 LENS=8192,32768 TOTAL_BUDGET_S=445 PEERS_LIMIT_S=90 bash bench/lab/notes/wgmma/h200-issue11-table.sh 2>&1 | tail -60; fi (kind nvidia-h200; the tool gave an H100)
#!/usr/bin/env bash
# Twenty-fifth session (issue 11 "Done means", on the H100 the tool gave): ours beside the peers for
# D64 and D128, bf16 and fp16, 8K and 32K, dense, fa-ssa:0.75 and fa-ssa:0.5; ncu on one dense launch.
ANY_GPU=1 LENS=8192,32768 TOTAL_BUDGET_S=445 PEERS_LIMIT_S=90 bash bench/lab/notes/wgmma/h200-issue11-table.sh

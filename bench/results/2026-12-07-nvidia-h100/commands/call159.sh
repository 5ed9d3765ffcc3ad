# call 159, run with the device tool as: g=$(nvidia-smi --query-gpu=name --format=csv,noheader); echo "GPU: $g"; if echo "$g" | grep -q H200; then bash bench/lab/notes/decode/h200-table-only.sh; ANY_GPU=1 LENS=8192,32768 TOTAL_BUDGET_S=200 PEERS_LIMIT_S=60 bash bench/lab/notes/wgmma/h200-issue11-table.sh 2>&1 | tail -60; else [the line below]; fi (kind nvidia-h200; the tool gave an H100)
#!/usr/bin/env bash
# Twenty-sixth session (issue 11 goal 3, the half the earlier table lacked): fa-ssa:0.5 beside the serial
# composition with 4 FULL KV heads of 8 (peers.py NFA 4), bf16, D 64 and D 128, 8K / 32K / 128K.
ANY_GPU=1 DTYPES=bf16 MIXES=dense,fa-ssa:0.5 PEER_SHAPES="bf16:128 bf16:64" PEER_NFA=4 NCU=0 LENS=8192,32768,131072 \
  TOTAL_BUDGET_S=420 PEERS_LIMIT_S=100 bash bench/lab/notes/wgmma/h200-issue11-table.sh

# call 156, run with the device tool as: nvidia-smi --query-gpu=name --format=csv,noheader; ANY_GPU=1 LENS=8192,32768 TOTAL_BUDGET_S=380 PEERS_LIMIT_S=55 bash bench/lab/notes/wgmma/h200-issue11-table.sh 2>&1 | tail -80 (kind nvidia-h200; the warm H100 of call 155)
#!/usr/bin/env bash
# Twenty-fifth session (issue 11): the first try at issue 11's table on this H100. Superseded by calls
# 157 and 158: three of the four peers.py runs hit their 55 s limit (FlexAttention's first compiles),
# and the ncu stage profiled the benchmark's lead (an 8K attention queued before each run, grid 64),
# not the 16K dense launch; bench/hopper_sweep.sh passes --lead-tokens 0 to that stage since.
ANY_GPU=1 LENS=8192,32768 TOTAL_BUDGET_S=380 PEERS_LIMIT_S=55 bash bench/lab/notes/wgmma/h200-issue11-table.sh

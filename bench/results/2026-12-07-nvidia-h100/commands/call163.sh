# call 163, run with the device tool as: BUDGET_S=320 bash bench/lab/notes/mma/d128-async-tiles.sh; DRAW_BUDGET_S=$((575 - SECONDS)) bash bench/lab/notes/random-draws/h200-table-or-draws.sh (kind nvidia-h100-x1; tree 8d2ff0e, whose code is 1bdc6db's plus the two scripts; the device copy's commit.txt / first line says 1bdc6db)
#!/usr/bin/env bash
BUDGET_S=320 bash bench/lab/notes/mma/d128-async-tiles.sh
DRAW_BUDGET_S=$((575 - SECONDS)) bash bench/lab/notes/random-draws/h200-table-or-draws.sh

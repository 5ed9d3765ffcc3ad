# call 155, run with the device tool as: bash bench/lab/notes/decode/h200-table-only.sh 2>&1 | tail -25; bash bench/lab/notes/opencl/nv-subgroup-std-check.sh 2>&1 | tail -30 (kind nvidia-h200, not needs_h200; the tool gave an H100, so the first script refused to run: "not an H200")
#!/usr/bin/env bash
# Twenty-fifth session (issue 12): what NVIDIA's OpenCL driver answers about subgroups, and the quick
# set on opencl:1 with every family; the script is bench/lab/notes/opencl/nv-subgroup-std-check.sh.
bash bench/lab/notes/decode/h200-table-only.sh 2>&1 | tail -25
bash bench/lab/notes/opencl/nv-subgroup-std-check.sh 2>&1 | tail -30

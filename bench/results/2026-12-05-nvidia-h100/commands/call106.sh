#!/usr/bin/env bash
# Call 106 (2026-12-05, twelfth session): right after call 105, on the same warm H100 (its build-oc
# kept): the decode group on opencl:1 with --no-isolate (call 105's isolated run found no opencl:1 in
# its worker process, as call 97 had found), and the tiled family's fp16 path at D 64 with --check.
. shared/tools/nvidia-opencl.sh; o=$OUT/v; mkdir -p $o; timeout 100 build-oc/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf-ocl1.txt 2>&1; echo "rc=$?"; tail -1 $o/conf-ocl1.txt; grep -E "FAIL|ERROR" $o/conf-ocl1.txt | head -5 | cut -c1-300; grep -c "decode.tiled.*PASS" $o/conf-ocl1.txt; timeout 60 build-oc/bench/elattn-decode-bench --device opencl:1 --head-dim 64 --dtype fp16 --heads 32:4 --lens 8192 --batch 1,3 --mix dense,fa-ssa:0.5 --max-time 0.1 --check 2>&1 | grep -E "^check|^ +[0-9]" | cut -c1-160

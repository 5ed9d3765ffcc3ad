#!/usr/bin/env bash
# Call 79 (2026-12-04, fourth session; the session's last device minutes): after the OpenCL tensor-core
# attention kernels' shared row work moved into kernels/opencl/attn_mma_rows.cl (masking, softmax step, P's
# fragments, epilogue: one place for both), the two families on NVIDIA's OpenCL driver again: conformance
# with each forced (their table rows), then elattn-bench D128 bf16 32K dense for both, to set against call 77.
set -u
o=$OUT/c79; mkdir -p $o; f=$o/c79.txt
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
git log --oneline -1 > $o/tree.txt; git status --short >> $o/tree.txt
(meson setup build-cl -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true -Dtests=true >/dev/null \
  && ninja -C build-cl -j16 conformance/elattn-conformance bench/elattn-bench elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
C=build-cl/conformance/elattn-conformance
for k in opencl.attn.mma_async opencl.attn.mma; do
  timeout 70 $C --backend opencl:1 --no-isolate --kernel $k --exclude xattn/ --exclude router/ --exclude invalid/ > $o/conf-$k.txt 2>&1
  echo "conf $k (rc $?, $SECONDS s): $(tail -1 $o/conf-$k.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$k.txt | head -3 | cut -c1-200 >> $f
done
for k in opencl.attn.mma_async opencl.attn.mma; do
  timeout 40 build-cl/bench/elattn-bench --device opencl:1 --kernel $k --set paper --lens 32768 --mix dense,fa-ssa:0.75 --dtype bf16 \
    --head-dim 128 --no-check --no-router --no-serial --max-reps 3 --min-time 0 > $o/bench-$k.txt 2>&1
  echo "bench $k: $(grep -E '^bf16' $o/bench-$k.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ')" >> $f
done
cat $f; cd $OUT && tar czf c79.tgz c79

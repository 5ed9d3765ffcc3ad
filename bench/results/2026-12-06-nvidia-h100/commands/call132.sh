#!/usr/bin/env bash
# One device call (eighteenth session, issue 14): the tree whose split policy takes its model from
# the family (elattn_decode_setup.model), checked from the repository root with `run`:
#   1. one build (CUDA and OpenCL backends, the conformance runner, the decode benchmark);
#   2. elattn-decode-bench on cuda:0 (the tensor-core family: the bandwidth model; its steps should be
#      call 130's B) and on opencl:1 (the tiled family: the waves model; call 131's A), bf16 D 128,
#      8K / 32K x 16 / 64, fa-ssa:0.5 / 0.75, read flush;
#   3. the conformance decode group on cuda:0 with each decode family forced, and on opencl:1 with
#      each (--no-isolate: isolated workers do not see NVIDIA's OpenCL platform).
# Output in $OUT/fc: fc.txt (summary), the raw outputs.
set -u
o=$OUT/fc; mkdir -p $o; f=$o/fc.txt
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-560} - SECONDS)); }
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
(meson setup build-fc -Dcuda=enabled -Dhip=disabled -Dopencl=enabled -Dclblast=disabled -Dnvcc_arch=sm_90a -Dtests=true \
  -Dbench=true >/dev/null && ninja -C build-fc -j16 elattn-libs conformance/elattn-conformance bench/elattn-decode-bench) \
  > $o/build.log 2>&1
echo "build rc=$? at $SECONDS s: $(tail -1 $o/build.log | cut -c1-80)" >> $f
B=build-fc/bench/elattn-decode-bench
for dev in cuda:0 opencl:1; do
  n=$o/bench-${dev%%:*}.txt
  timeout 60 $B --device $dev --head-dim 128 --dtype bf16 --flush read --max-time 0.15 --lens 8192,32768 --batch 16,64 \
    --mix fa-ssa:0.5,fa-ssa:0.75 > $n 2>&1
  echo "bench $dev rc=$?" >> $f
  sed -n '/^results/,$p' $n | grep -E '^ +[0-9]' | awk -v t=$dev '{print t, $1, $2, $3, $4, $NF}' >> $f
done
C=build-fc/conformance/elattn-conformance
for k in cuda:0:cuda.decode.mma cuda:0:cuda.decode.split opencl:1:opencl.decode.tiled opencl:1:opencl.decode.scalar; do
  dev=${k%:*}; fam=${k##*:}
  [ "$(left)" -lt 30 ] && { echo "conf $fam: skipped (time)" >> $f; continue; }
  timeout $(( $(left) - 10 )) $C --backend $dev --case decode/ --kernel $fam --no-isolate > $o/conf-$fam.txt 2>&1
  echo "conf $dev $fam (rc $?): $(tail -1 $o/conf-$fam.txt)" >> $f
  grep -E " FAIL | ERROR " $o/conf-$fam.txt | head -4 | cut -c1-300 >> $f
done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid

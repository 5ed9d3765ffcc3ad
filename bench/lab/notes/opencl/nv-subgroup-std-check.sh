#!/usr/bin/env bash
# A device call (twenty-fourth session; issue 12): after the subgroup family came to be built at
# OpenCL C 2.0/3.0 (opencl_program.c's subgroup_cl_c: the device's OpenCL C features, or
# cl_khr_subgroups at 2.0+), what NVIDIA's driver (opencl:1) answers: whether it lists
# __opencl_c_subgroups (then the family is a candidate there and must pass), and the attention,
# XAttention, router and decode cases of the quick set on opencl:1 with every family. Run from the
# repository root with `run` (any NVIDIA GPU), after h200-table-only.sh where the call is for an
# H200. Output: $OUT/sg.txt. Run as call 155 (twenty-fifth session, an H100;
# bench/results/2026-12-07-nvidia-h100/call155-nv-subgroups): the driver offers OpenCL C 1.2 with no
# subgroups, so the family states it cannot run there.
set -u
o=$OUT/sg; mkdir -p $o; f=$o/sg.txt
start=$SECONDS
: > $f
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
(meson setup build-sg -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=false -Dtests=true \
  >/dev/null && ninja -C build-sg -j16 elattn-libs conformance/elattn-conformance conformance/elattn-run) > $o/build.log 2>&1
echo "$(nvidia-smi --query-gpu=name --format=csv,noheader); build $((SECONDS - start)) s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
build-sg/conformance/elattn-run --list 2>&1 | grep '^opencl' >> $f
command -v clinfo >/dev/null && clinfo 2>/dev/null | grep -E 'Device Name|OpenCL C Version|__opencl_c_subgroups|cl_khr_subgroups' >> $f
C=build-sg/conformance/elattn-conformance
timeout 60 $C --backend opencl:1 --no-isolate --quick --kernel opencl.attn.subgroup > $o/forced.txt 2>&1
echo "forced subgroup (rc $?): $(tail -1 $o/forced.txt)" >> $f
grep -m2 -oE "(UNSUPPORTED|FAIL|ERROR).*" $o/forced.txt | cut -c1-300 >> $f
timeout 150 $C --backend opencl:1 --no-isolate --quick > $o/quick.txt 2>&1
echo "quick, every family (rc $?): $(tail -1 $o/quick.txt)" >> $f
grep -E " FAIL | ERROR " $o/quick.txt | head -5 | cut -c1-250 >> $f
grep -oE "kernel=opencl\.[a-z_]+\.[a-z_]+" $o/quick.txt | sort | uniq -c >> $f
echo "end $((SECONDS - start)) s" >> $f
cat $f

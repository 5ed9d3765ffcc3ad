#!/usr/bin/env bash
# Call 20 (2026-12-03): the merged OpenCL changes (c030ef9: subgroup width from the device, CPU
# default) on NVIDIA's OpenCL driver: an OpenCL-only build, the conformance quick set on opencl:1
# with every OpenCL family forced in turn.
set -u
o=$OUT/c20; mkdir -p $o
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
(meson setup build-C -Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dclblast=disabled -Dtests=true -Dbench=false >/dev/null && ninja -C build-C -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)"
timeout 200 build-C/conformance/elattn-conformance --backend opencl:1 --quick --no-isolate > $o/conf_opencl1_quick.txt 2>&1; echo "rc=$? $(tail -1 $o/conf_opencl1_quick.txt)"
grep -E "^FAIL| FAIL " $o/conf_opencl1_quick.txt | head -5; grep -c "attn.subgroup.*unsupported\|subgroup .*UNSUP" $o/conf_opencl1_quick.txt
grep -m2 "subgroup" $o/conf_opencl1_quick.txt | cut -c1-200
cd $OUT && tar czf c20.tgz c20

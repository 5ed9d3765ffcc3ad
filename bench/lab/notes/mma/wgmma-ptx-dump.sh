#!/usr/bin/env bash
# A device call (written in the sixteenth session, 2026-12-06, after call 119; not run: no device
# time left): the PTX that NVIDIA's OpenCL front end makes of opencl.attn.wgmma, edited for sm_90a,
# as the library builds it (ELATTN_OPENCL_PTX_DUMP, backends/opencl/opencl_program.c), for D 128
# (64-key tiles) and D 64 (128-key tiles), with one conformance case each. Read it by hand:
#   ptxas -arch=sm_90a -v FILE.ptx   (warnings about serialised wgmma, registers, spills)
# and look for instructions between a chain's wgmmas that touch its accumulators. D 64 with 64-key
# tiles, wrong on the H100 in call 119, is refused on a GPU since; its PTX needs the source built
# by hand (wgmma_layout_check.c shows how) with -DELATTN_HEAD_DIM=64 -DELATTN_TILE_N=64.
set -u
o=$OUT/dg; mkdir -p $o/ptx
. shared/tools/nvidia-opencl.sh > /dev/null 2>&1
(meson setup build-ocl -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true -Dtests=true >/dev/null 2>&1; ninja -C build-ocl -j16 elattn-libs conformance/elattn-conformance) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log)"
C=build-ocl/conformance/elattn-conformance
ELATTN_OPENCL_PTX_DUMP=$o/ptx timeout 40 $C --backend opencl:1 --no-isolate --kernel opencl.attn.wgmma --case attn/nolse/mixed/bf16/d128 > $o/c2.txt 2>&1; tail -1 $o/c2.txt
ELATTN_OPENCL_PTX_DUMP=$o/ptx timeout 40 $C --backend opencl:1 --no-isolate --kernel opencl.attn.wgmma --case attn/nolse/mixed/bf16/d64 > $o/c3.txt 2>&1; tail -1 $o/c3.txt
ls -la $o/ptx; cd $OUT && tar czf dg.tgz dg && rm -rf dg

#!/usr/bin/env bash
# Call 115 (2026-12-06, fifteenth session, H100; the warm machine of call 114, whose build-fm it
# reuses), run from the repository root with `run`; the tree: 895819a + the probe.
# bench/lab/notes/mma/wgmma_binary_probe.c: wgmma from OpenCL through an edited PTX binary; then the
# decode group on opencl:1 at the default bound of 895819a (32), whose output call 114 lost.
# (The call also tried the mutant of call 114 again; its copy of the tree was gone: call 116.)
. shared/tools/nvidia-opencl.sh
w=$OUT
(cd $w && cc -O2 -o wgmma_binary_probe $OLDPWD/bench/lab/notes/mma/wgmma_binary_probe.c -lOpenCL && timeout 60 ./wgmma_binary_probe
 echo "probe rc=$?"; rm -f wgmma_binary_probe) 2>&1 | tail -40
timeout 40 build-fm/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $OUT/conf-32.txt 2>&1
echo "main bound 32 (default) rc=$?: $(tail -1 $OUT/conf-32.txt)"

#!/usr/bin/env bash
# A device call (seventeenth session, 2026-12-06; issue 12): why opencl.attn.wgmma runs at about
# 140 TFLOP/s (call 119). For D 128 (64-key tiles), D 64 (128-key tiles) and D 64 with 64-key
# tiles (refused on GPUs since call 119; here from a copy of the tree with the refusal taken out,
# which also re-runs that shape's conformance now that the helpers are macros):
#   - the PTX NVIDIA's OpenCL front end makes, edited for sm_90a as the library builds it
#     (ELATTN_OPENCL_PTX_DUMP), assembled by hand with ptxas -v (its warnings name a serialised
#     wgmma pipeline) and disassembled: the count of HGMMA, WARPGROUP.ARRIVE and
#     WARPGROUP.DEPBAR (a DEPBAR after each HGMMA is a serialised chain), and the sequence;
#   - the same for clang's PTX of the same source (.p/clangptx, made by ptx_check.sh's commands
#     on the development machine and carried), which ptxas does not serialise there.
# Run from the repository root with `run` (carry .p/clangptx and shared/tools).
set -u
o=$OUT/dg; mkdir -p $o/ptx $o/ptx-n64 $o/tmp; f=$o/dg.txt
export TMPDIR=$o/tmp
: > $f; tail -f $f & tailpid=$!
left() { echo $((200 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader >> $f 2>&1
PTXAS=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
DIS=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
echo "ptxas: $($PTXAS --version | tail -1)" >> $f
# the tree copy for D 64 with 64-key tiles: the refusal out (this call only)
rm -rf /tmp/xtree && mkdir /tmp/xtree && tar --exclude='./build*' --exclude=./.p -cf - . | (cd /tmp/xtree && tar xf -) &&
  sed -i 's/if (!emulate \&\& d->head_dim == 64 \&\& n == 64)/if (0)/' /tmp/xtree/backends/opencl/opencl_attn.c
grep -c 'if (0)' /tmp/xtree/backends/opencl/opencl_attn.c >> $f
opts="-Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=false -Dtests=true"
(meson setup build-ocl $opts; ninja -C build-ocl -j8 elattn-libs conformance/elattn-conformance) > $o/build.log 2>&1 &
bpid=$!
(cd /tmp/xtree && meson setup build-x $opts; ninja -C build-x -j8 elattn-libs conformance/elattn-conformance) > $o/build-x.log 2>&1
wait $bpid # (not a bare wait: tail -f is a child too)
echo "builds $SECONDS s: $(tail -1 $o/build.log | cut -c1-60) / $(tail -1 $o/build-x.log | cut -c1-60)" >> $f
C=build-ocl/conformance/elattn-conformance
ELATTN_OPENCL_PTX_DUMP=$o/ptx timeout $(lim 40) $C --backend opencl:1 --no-isolate --kernel opencl.attn.wgmma --case attn/nolse/mixed/bf16/d128 > $o/c-d128.txt 2>&1
echo "d128: $(tail -1 $o/c-d128.txt)" >> $f
ELATTN_OPENCL_PTX_DUMP=$o/ptx timeout $(lim 40) $C --backend opencl:1 --no-isolate --kernel opencl.attn.wgmma --case attn/nolse/mixed/bf16/d64 > $o/c-d64.txt 2>&1
echo "d64 n128: $(tail -1 $o/c-d64.txt)" >> $f
X=/tmp/xtree/build-x/conformance/elattn-conformance
ELATTN_OPENCL_PTX_DUMP=$o/ptx-n64 timeout $(lim 60) $X --backend opencl:1 --no-isolate --kernel opencl.attn.wgmma \
  --tiles 64,64,128 --case /d64/ --exclude xattn/ --exclude router/ --exclude invalid/ --exclude decode/ > $o/c-d64n64.txt 2>&1
echo "d64 n64 (tree copy, refusal out): $(tail -1 $o/c-d64n64.txt)" >> $f
grep -E " FAIL | ERROR " $o/c-d64n64.txt | head -3 | cut -c1-300 >> $f
ls -la $o/ptx $o/ptx-n64 > $o/ptx-list.txt 2>&1
# ptxas -v and the SASS of each PTX: NVIDIA's (dumped) and clang's (carried)
sass() { # sass LABEL FILE.ptx
  local b=$o/sass-$1
  $PTXAS -arch=sm_90a -v "$2" -o $b.cubin > $b.ptxas.txt 2>&1; local rc=$?
  $DIS -sass $b.cubin > $b.sass 2>&1
  echo "$1: ptxas rc $rc, $(grep -c -i 'warn' $b.ptxas.txt) warnings, $(grep -o 'Used [0-9]* registers' $b.ptxas.txt | tail -1);" \
    "HGMMA $(grep -c HGMMA $b.sass), ARRIVE $(grep -c 'WARPGROUP.ARRIVE' $b.sass), DEPBAR $(grep -c 'WARPGROUP.DEPBAR' $b.sass)," \
    "wgmma in ptx $(grep -c 'wgmma.mma_async' $2)" >> $f
  grep -i warn $b.ptxas.txt | sort | uniq -c | head -4 | cut -c1-300 >> $f
  grep -nE 'HGMMA|WARPGROUP|BAR\.SYNC|MUFU\.EX2' $b.sass | sed 's/  */ /g' | cut -c1-110 > $b.seq.txt
  rm -f $b.cubin
}
for p in $o/ptx/*.ptx $o/ptx-n64/*.ptx; do
  [ -f "$p" ] || continue
  grep -q 'wgmma.mma_async' "$p" || continue
  n=$(basename $p .ptx); d=$(basename $(dirname $p)); sass "nv-$d-$n" "$p"
done
for p in .p/clangptx/*.ptx; do sass "clang-$(basename $p .ptx)" "$p"; done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid; cd $OUT && tar czf dg.tgz dg && rm -rf dg

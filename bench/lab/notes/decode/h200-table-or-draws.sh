#!/usr/bin/env bash
# Written 2026-12-07 (twenty-third session), when no request for a device (H200 or H100)
# started one and the failed starts used up the session's device time. Run as call 154 (twenty-fourth
# session): the tool gave an H100, so it ran the draws (bench/results/2026-12-07-nvidia-h100). One device call: on an H200, issue 14's decode table with the bandwidth
# model's S from the device's peak bandwidth (h200-table-only.sh); on any other GPU (the tool
# often gives an H100 for the H200 kind; on an H200 too when the table leaves time), random conformance draws from seeds nobody has run, on
# every GPU device and family, the split policies' new models included (the bandwidth model's S
# from the peak on cuda:0, the grid model of opencl.decode.tiled on opencl:1). From the
# repository root with `run` (shared/tools travels with the tree). Output: $OUT/dt.txt and
# $OUT/dt.tgz (the table), or $OUT/rnd.txt and $OUT/rnd.tgz (the draws).
set -u
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader)
budget=${DRAW_BUDGET_S:-380}
case "$gpu" in
*H200*) bash bench/lab/notes/decode/h200-table-only.sh
    # the draws too while the call has room for them (the table takes about 2-4 minutes)
    [ "$SECONDS" -lt 300 ] || exit 0
    budget=$((560 - SECONDS)) ;;
esac
o=$OUT/rnd; mkdir -p $o; f=$o/rnd.txt
echo "$gpu: random draws from $SECONDS s" > $f
start=$SECONDS
left() { echo $((budget + start - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt 1 ] && l=1; [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; } # timeout 0: no limit
git log -1 --format=%h > $o/tree.txt 2>&1; git status --short >> $o/tree.txt 2>&1
. shared/tools/nvidia-opencl.sh
(meson setup build-rnd -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=enabled -Dhip_platform=nvidia \
   -Dbench=false >/dev/null && ninja -C build-rnd -j14 conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
c=build-rnd/conformance/elattn-conformance
r() { local n=$1 t=$2; shift 2; timeout $(lim $t) $c "$@" > $o/$n.txt 2>&1
  echo "$n rc=$? $SECONDS s: $(tail -1 $o/$n.txt)" >> $f; grep -E " FAIL " $o/$n.txt | head -8 | cut -c1-260 >> $f; }
r cuda 90 --backend cuda:0 --random 400 --seed 1207001
r opencl1 130 --backend opencl:1 --random 100 --seed 1207003 --no-isolate
r opencl1-tiles 60 --backend opencl:1 --random 60 --seed 1207004 --random-tiles --no-isolate
r hip 30 --backend hip:0 --random 150 --seed 1207002
[ "$(left)" -gt 40 ] && timeout $(lim 35) compute-sanitizer --tool memcheck $c --backend cuda:0 --random 20 --seed 1207001 --no-isolate > $o/memcheck.txt 2>&1
echo "memcheck rc=$?: $(grep -E 'ERROR SUMMARY' $o/memcheck.txt | tail -1) / $(tail -1 $o/memcheck.txt | cut -c1-80)" >> $f
echo "end $SECONDS s" >> $f
cat $f; tar czf $OUT/rnd.tgz -C $OUT rnd && cp $f $OUT/rnd.txt

#!/usr/bin/env bash
# One device call, from the repository root with `run` (kind nvidia-h200; the tool often gives an
# H100 for it). On an H200: the table script H200_TABLE (default issue 11's,
# bench/lab/notes/wgmma/h200-issue11-table.sh, which takes the whole call; the twenty-seventh
# session ran issue 14's decode table here), then draws if more than 160 s are left. On any other
# GPU: random conformance draws from seeds nobody has run (SEED, default 1207201, and the next
# three; pass a new one each call), on every GPU device and family: cuda:0, opencl:1 (the tile
# table's rows since call 162, and drawn tiles), hip:0 through elattn's HIP-to-CUDA layer, then
# memcheck on cuda:0. It replaces call 154's script (bench/results/2026-12-07-nvidia-h100/commands/
# call154.sh), which ran the same draws with SEED=1207001.
# Output: the table script's files, $OUT/rnd.txt and $OUT/rnd.tgz (the draws).
set -u
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader)
seed=${SEED:-1207201}
budget=${DRAW_BUDGET_S:-420}
case "$gpu" in
*H200*) bash ${H200_TABLE:-bench/lab/notes/wgmma/h200-issue11-table.sh}
    [ "$SECONDS" -lt 400 ] || exit 0
    budget=$((560 - SECONDS)) ;;
esac
o=$OUT/rnd; mkdir -p $o; f=$o/rnd.txt
export TMPDIR=$(mktemp -d) # outside $OUT: the device tool brings back a limited number of files
echo "$gpu: random draws from $SECONDS s, seeds $seed-$((seed + 3))" > $f
start=$SECONDS
left() { echo $((budget + start - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt 1 ] && l=1; [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log -1 --format=%h > $o/tree.txt 2>&1; git status --short >> $o/tree.txt 2>&1
. shared/tools/nvidia-opencl.sh > /dev/null 2>&1
(meson setup build-rnd -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=enabled -Dhip_platform=nvidia \
   -Dbench=false >/dev/null && ninja -C build-rnd -j14 conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
c=build-rnd/conformance/elattn-conformance
r() { local n=$1 t=$2; shift 2; timeout $(lim $t) $c "$@" > $o/$n.txt 2>&1
  echo "$n rc=$? $SECONDS s: $(tail -1 $o/$n.txt)" >> $f; grep -E " FAIL | ERROR " $o/$n.txt | head -8 | cut -c1-260 >> $f; }
r cuda 100 --backend cuda:0 --random 400 --seed $seed
r opencl1 130 --backend opencl:1 --random 100 --seed $((seed + 2)) --no-isolate
r opencl1-tiles 70 --backend opencl:1 --random 60 --seed $((seed + 3)) --random-tiles --no-isolate
r hip 40 --backend hip:0 --random 150 --seed $((seed + 1))
[ "$(left)" -gt 40 ] && timeout $(lim 40) compute-sanitizer --tool memcheck $c --backend cuda:0 --random 20 --seed $seed \
  --no-isolate > $o/memcheck.txt 2>&1
echo "memcheck rc=$?: $(grep -E 'ERROR SUMMARY' $o/memcheck.txt | tail -1) / $(tail -1 $o/memcheck.txt | cut -c1-80)" >> $f
echo "end $SECONDS s" >> $f
cat $f; tar czf $OUT/rnd.tgz -C $OUT rnd && cp $f $OUT/rnd.txt && rm -rf $o

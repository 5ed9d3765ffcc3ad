#!/usr/bin/env bash
# A device call (written 2026-12-04, not yet run): the per-block timeline of batch-1 decode steps
# on cuda.decode.mma, to split a step's time into phases (first loads, walk, store and count,
# merge). Run from the repository root; applies bench/lab/notes/decode/timeline-probe-v2.patch
# unless the tree has it already, builds build-tl with -DELATTN_DECODE_TIMELINE and runs the
# decode benchmark with ELATTN_LAB_TIMELINE=1 (each step then ends with the probe's dump kernels:
# the benchmark's own times include them and mean nothing here).
#   printed: 8K dense, 32K and 128K fa-ssa:0.75 (timeline2.py's summary of each run's last step);
#   kept too: 32K and 128K dense, 8K fa-ssa:0.75 (their spans printed, summaries in the tarball).
# Writes $OUT/$NAME/$NAME.txt (what is printed) and $OUT/$NAME.tgz (raw dumps gzipped, summaries,
# build log, nvidia-smi). NAME: default tl.
set -u
name=${NAME:-tl}
o=$OUT/$name; w=/tmp/$name; mkdir -p $o $w; f=$o/$name.txt
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
p=bench/lab/notes/decode/timeline-probe-v2.patch
if git apply --reverse --check $p 2>/dev/null; then echo "probe: already applied" >> $f
elif git apply $p; then echo "probe: applied" >> $f
else echo "probe: does not apply; stopping" >> $f; cat $f; exit 1; fi
cfg="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
rm -rf build-tl
(meson setup build-tl $cfg -Dcuda_args=-DELATTN_DECODE_TIMELINE >/dev/null && ninja -C build-tl -j14 bench/elattn-decode-bench elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
[ -x build-tl/bench/elattn-decode-bench ] || { cat $f; tail -20 $o/build.log; exit 1; }
# run LEN MIX SHOW: one benchmark run; SHOW 1 prints the whole summary, 0 its span line only.
run() { local n=tl-$(($1 / 1024))k-${2/:/}
  ELATTN_LAB_TIMELINE=1 timeout $(lim 60) build-tl/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens $1 --batch 1 --mix $2 --max-time 0.05 --min-reps 3 --warmup 1 --flush read > $w/$n.txt 2>&1
  echo "rc $? | $(grep -c '^TLN' $w/$n.txt) steps dumped | $(grep -v '^T' $w/$n.txt | grep -iE 'error|fail' | head -2 | cut -c1-120)" > $o/$n.sum
  python3 bench/lab/notes/decode/timeline2.py $w/$n.txt >> $o/$n.sum 2>&1
  if [ "$3" = 1 ]; then cut -c1-200 $o/$n.sum >> $f; else echo "$n: $(grep -E '^(rc|  span)' $o/$n.sum | tr -s ' ' | tr '\n' ' ')" >> $f; fi
  gzip -c $w/$n.txt > $o/$n.txt.gz; }
run 8192 dense 1; run 32768 fa-ssa:0.75 1; run 131072 fa-ssa:0.75 1
run 32768 dense 0; run 131072 dense 0; run 8192 fa-ssa:0.75 0
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf $name.tgz $name && rm -f $name/*.gz $name/*.sum $name/build.log $name/machine.txt
head -c 11500 $f

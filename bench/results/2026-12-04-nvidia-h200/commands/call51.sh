#!/usr/bin/env bash
# Call 51 (2026-12-04): the decode merge reading every LSE of a row tile at once into shared memory
# and then 32 chunks' O pieces per round trip (B, the working tree) against main (A, carried as
# .base/; both have the bench's fill-then-read flush). T is B built with -DELATTN_DECODE_TIMELINE
# (bench/lab/notes/decode/timeline-probe-buffer.patch applied). B's checks (decode conformance,
# both families; memcheck, racecheck), then A B A B of elattn-decode-bench with --flush read and
# one --flush write each, T's timeline of fa-ssa:0.75 at 128K x 1, and the torch decode peers
# with FLUSH=read in the same call.
set -u
o=$OUT/c51; mkdir -p $o; f=$o/c51.txt; R=$PWD
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
rm -rf /tmp/tsrc && mkdir /tmp/tsrc && git ls-files -z --cached --others --exclude-standard | grep -zv '^.base/' | xargs -0 cp --parents -t /tmp/tsrc 2>/dev/null
(cd /tmp/tsrc && patch -p1 < $R/bench/lab/notes/decode/timeline-probe-buffer.patch) > $o/patch-T.log 2>&1 || echo "probe patch failed" >> $f
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j5) > $o/buildA.log 2>&1 &
(cd /tmp/tsrc && meson setup build-T $cfg -Dtests=false -Dcuda_args=-DELATTN_DECODE_TIMELINE >/dev/null && ninja -C build-T -j5) > $o/buildT.log 2>&1 &
(meson setup build-B $cfg -Dtests=true >/dev/null && ninja -C build-B -j6) > $o/buildB.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / B $(tail -1 $o/buildB.log | cut -c1-30) / T $(tail -1 $o/buildT.log | cut -c1-30)" >> $f
C=build-B/conformance/elattn-conformance
timeout $(lim 60) $C --backend cuda:0 --case decode/ > $o/conf-decode.txt 2>&1; echo "conf decode: $(tail -1 $o/conf-decode.txt)" >> $f
timeout $(lim 60) $C --backend cuda:0 --case decode/ --kernel cuda.decode.split > $o/conf-decode-split.txt 2>&1; echo "conf decode (split forced): $(tail -1 $o/conf-decode-split.txt)" >> $f
d() { local n=dec-$1-$2-$3
  timeout $(lim 60) build-$1/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush $2 --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
d A read 1; d B read 1; d A read 2; d B read 2; d A write 1; d B write 1
ELATTN_LAB_TIMELINE=1 timeout $(lim 30) /tmp/tsrc/build-T/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 131072 --batch 1 --mix fa-ssa:0.75 --flush read --warmup 1 --min-reps 3 --max-reps 3 --min-time 0 > $o/tl-fa-ssa.txt 2>&1
python3 bench/lab/notes/decode/timeline.py $o/tl-fa-ssa.txt > $o/tl-fa-ssa.sum 2>&1; cat $o/tl-fa-ssa.sum >> $f
for t in memcheck racecheck; do timeout $(lim 60) compute-sanitizer --tool $t $C --backend cuda:0 --case decode/ --quick --no-isolate > $o/$t.txt 2>&1
  echo "$t decode: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$t.txt | tail -1) / $(tail -1 $o/$t.txt | cut -c1-60)" >> $f; done
LENS=8192,32768,131072 BATCHES=1,16 MIXES=dense,fa-ssa:0.75 FLUSH=read BUDGET_S=$(( $(left) - 25 )) timeout $(lim 200) python3 bench/decode_peers.py --out $o > $o/peers.log 2>&1; echo "peers rc=$?: $(tail -1 $o/peers.log)" >> $f
grep -E "^ +[0-9]+ +[0-9]+ " $o/peers.log | grep -v refused | awk '{print $1/1024"Kx"$2" "$3" "$4"="$5}' | tr '\n' ';' >> $f
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c51.tgz c51

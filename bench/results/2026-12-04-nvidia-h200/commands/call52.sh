#!/usr/bin/env bash
# Call 52 (2026-12-04): (1) where the merging block's 10-12 us go (call 51): T = the working tree +
# bench/lab/notes/decode/timeline-probe-buffer.patch, now with stamps inside the store and merge
# (TM lines: own partial stored, arrival known, fence passed, LSEs in shared memory, row max done,
# end); (2) the decode table with the clean-L2 flush: the working tree's elattn-decode-bench
# (--flush read) and bench/decode_peers.py (FLUSH=read) in the same call, joined by
# bench/join_decode.py.
set -u
o=$OUT/c52; mkdir -p $o; f=$o/c52.txt; R=$PWD
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
rm -rf /tmp/tsrc && mkdir /tmp/tsrc && git ls-files -z --cached --others --exclude-standard | grep -zv '^.base/' | xargs -0 cp --parents -t /tmp/tsrc 2>/dev/null
(cd /tmp/tsrc && patch -p1 < $R/bench/lab/notes/decode/timeline-probe-buffer.patch) > $o/patch-T.log 2>&1 || echo "probe patch failed" >> $f
(cd /tmp/tsrc && meson setup build-T $cfg -Dcuda_args=-DELATTN_DECODE_TIMELINE >/dev/null && ninja -C build-T -j8) > $o/buildT.log 2>&1 &
(meson setup build-B $cfg >/dev/null && ninja -C build-B -j8) > $o/buildB.log 2>&1
wait; echo "builds $SECONDS s: B $(tail -1 $o/buildB.log | cut -c1-30) / T $(tail -1 $o/buildT.log | cut -c1-30)" >> $f
for mix in fa-ssa:0.75 dense; do
  ELATTN_LAB_TIMELINE=1 timeout $(lim 30) /tmp/tsrc/build-T/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 131072 --batch 1 --mix $mix --flush read --warmup 1 --min-reps 3 --max-reps 3 --min-time 0 > $o/tl-${mix/:/}.txt 2>&1
  python3 bench/lab/notes/decode/timeline.py $o/tl-${mix/:/}.txt > $o/tl-${mix/:/}.sum 2>&1; cat $o/tl-${mix/:/}.sum >> $f
  # the last launch's merge stamps, us after the block's own partial store
  grep '^TM' $o/tl-${mix/:/}.txt | tail -8 | awk '{printf "TM block %d: arrive %.2f fence %.2f lse %.2f max %.2f end %.2f\n", $2, ($4-$3)/1e3, ($5-$3)/1e3, ($6-$3)/1e3, ($7-$3)/1e3, ($8-$3)/1e3}' >> $f
done
timeout $(lim 120) build-B/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16,64 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/decode_ours.json > $o/decode-ours.txt 2>&1
echo "ours: $(tail -1 $o/decode-ours.txt)" >> $f
LENS=8192,32768,131072 BATCHES=1,16,64 MIXES=dense,fa-ssa:0.5,fa-ssa:0.75 FLUSH=read BUDGET_S=$(( $(left) - 30 )) timeout $(lim 300) python3 bench/decode_peers.py --out $o > $o/peers.log 2>&1; echo "peers rc=$?: $(tail -1 $o/peers.log)" >> $f
python3 bench/join_decode.py --ours $o/decode_ours.json --peers $o/decode_peers.json --out $o/decode_table.md > /dev/null 2>$o/join.err; echo "join rc=$?" >> $f
nvidia-smi > $o/machine.txt 2>&1
cat $f; cat $o/decode_table.md 2>/dev/null | head -40; cd $OUT && tar czf c52.tgz c52

# call 149, run with the device tool as: bash bench/lab/notes/decode/decode-table-h200.sh (kind nvidia-h200)
#!/usr/bin/env bash
# One device call (twentieth session, issue 14 "Done means"): issue 14's decode table on an H200
# with the bandwidth split policy (the H200's last table, call 85, predates it):
# bench/decode_sweep.sh (ours and the torch peers on the same cache contents, joined) over 8K /
# 32K / 128K, batch 1 / 16 / 64, dense and fa-ssa:0.5 / 0.75, bf16 D 128, read flush.
# Run from the repository root with `run` (kind nvidia-h200). Output: $OUT/dt.txt (the table's
# rows) and $OUT/dt.tgz (the sweep's folder: decode_table.md, both JSON files, the logs).
# Run as calls 143 and 146 (twenty-first session; the tool gave an H100 both times:
# bench/results/2026-12-06-nvidia-h100).
set -u
o=$OUT/dt; mkdir -p $o; f=$o/dt.txt
: > $f; tail -f $f & tailpid=$!
nvidia-smi --query-gpu=name,clocks.max.sm,memory.total --format=csv,noheader >> $f 2>&1
[ -f build-dec/build.ninja ] || meson setup build-dec -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a \
  -Dtests=false -Dbench=true > $o/setup.log 2>&1
FLUSH=read OURS_ARGS="--flush read --max-time 0.3" TOTAL_BUDGET_S=${TOTAL_BUDGET_S:-400} BUILD_DIR=build-dec \
  bash bench/decode_sweep.sh $o/table > $o/sweep.log 2>&1
echo "sweep rc=$? at $SECONDS s" >> $f
grep -E "^copy bandwidth" $o/table/*.log 2>/dev/null | head -1 >> $f
grep -E "^\| (8192|32768|131072) \| " $o/table/decode_table.md >> $f 2>&1
sleep 1; kill $tailpid
cp $f $OUT/dt.txt; tar czf $OUT/dt.tgz -C $OUT dt && rm -rf $o

#!/usr/bin/env bash
# Call 47 (2026-12-03, sixth session): issue 14's batch-1 question -- why fa-ssa:0.75's decode
# chunks at 128K stream at 2.7 TB/s when dense's run at 3.9-4.4. ncu's DRAM and L2 counters of
# the chunk kernel, dense and fa-ssa:0.75, 128K x 1, D128 bf16: once with ncu's own cache flush
# (clean L2: --cache-control all) and once without (--cache-control none: the benchmark's 256 MiB
# fill before each step leaves L2 full of dirty lines that the step writes back).
set -u
o=$OUT/c47; mkdir -p $o
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
(meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-40)"
D="build/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 131072 --batch 1"
timeout 60 $D --mix dense,fa-ssa:0.75 --max-time 0.3 > $o/decode.txt 2>&1; echo "decode: $(grep -E '^ *131072' $o/decode.txt | tr -s ' ' | cut -c1-90 | tr '\n' ';')"
m=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__t_sectors_srcunit_tex_op_read.sum,lts__t_sector_op_read_hit_rate.pct,lts__t_sectors_op_write.sum,sm__warps_active.avg.pct_of_peak_sustained_active
for mix in dense fa-ssa:0.75; do for cc in all none; do n=${mix/:/}-$cc
  timeout 60 ncu --clock-control none --cache-control $cc --kernel-name regex:chunk_kernel --launch-skip 3 --launch-count 1 --metrics $m $D --mix $mix --min-reps 3 --max-reps 3 > $o/ncu-$n.txt 2>&1
  echo "$n: $(grep -E 'duration|dram__|lts__|warps_active' $o/ncu-$n.txt | awk '{print $1"="$(NF)" "$(NF-1)}' | tr '\n' ';')"
done; done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c47.tgz c47

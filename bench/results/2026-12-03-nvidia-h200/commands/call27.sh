#!/usr/bin/env bash
# Call 27 (2026-12-03, third session): issue 11 goal 2 -- head dims 96, 192 and 256 (wgmma) beside
# PyTorch's SDPA cuDNN / flash on the same shapes, dense causal and fa-ssa:0.75, bf16 and fp16;
# issue 14 -- where batch-1 decode's time goes: cuDNN's decode kernels (torch.profiler), ours
# under ncu, and what a launch's parameter size costs (the decode kernel takes 8 KB of them).
set -u
o=$OUT/c27; mkdir -p $o
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build-N -j14) > $o/build.log 2>&1 &
nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a bench/lab/notes/decode/param_launch.cu -o param_launch > $o/param_build.log 2>&1 &
wait
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)"
timeout $(lim 30) ./param_launch > $o/param_launch.txt 2>&1; cat $o/param_launch.txt
timeout $(lim 150) build-N/bench/elattn-bench --set paper --device cuda:0 --dtype bf16,f16 --head-dim 96,192,256 --lens 8192,32768 --mix dense,fa-ssa:0.75 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench.txt 2>&1
echo "== ours: $(grep -E '^(bf16|f16)' $o/bench.txt | awk '{print $1"/"$2"/"$3"/"$4"="$6}' | tr '\n' ' ') $(grep -E '^(bf16|f16)' $o/bench.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')"
for dt in bf16 f16; do
  timeout $(lim 80) env DTYPE=$dt DIMS=96,192,256 LENS=8192,32768 REPS=10 python3 bench/lab/notes/decode/sdpa_kernels.py dense > $o/sdpa-dense-$dt.txt 2>&1
  echo "sdpa $dt rc=$? at $SECONDS s:"; grep -E "^dense" $o/sdpa-dense-$dt.txt | cut -c1-110
done
timeout $(lim 80) env DTYPE=bf16 LENS=8192,32768,131072 python3 bench/lab/notes/decode/sdpa_kernels.py decode > $o/sdpa-decode.txt 2>&1
echo "sdpa decode rc=$? at $SECONDS s"; cut -c1-150 $o/sdpa-decode.txt | head -40
timeout $(lim 40) build-N/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1 --mix dense,fa-ssa:0.75 --max-time 0.3 > $o/decode-ours.txt 2>&1
echo "ours decode: $(grep -E '^ *(8192|32768|131072)' $o/decode-ours.txt | tr -s ' ' | cut -c1-80 | tr '\n' ';')"
for L in 8192 32768 131072; do
  timeout $(lim 40) ncu --clock-control none --kernel-name regex:chunk_kernel --launch-skip 3 --launch-count 1 --section SpeedOfLight --section LaunchStats --section Occupancy build-N/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens $L --batch 1 --mix dense --min-reps 3 --max-reps 3 > $o/ncu-decode-$L.txt 2>&1
  echo "ncu $L x1: $(grep -E 'Duration|DRAM Throughput|Grid Size|Registers Per|Achieved Occupancy' $o/ncu-decode-$L.txt | tr -s ' ' | tr '\n' ' ')"
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c27.tgz c27

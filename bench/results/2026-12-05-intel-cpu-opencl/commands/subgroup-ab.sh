#!/usr/bin/env bash
# The OpenCL tiled decode on Intel's CPU OpenCL runtime (.ci/intel-opencl.sh), its lane sums by
# cl_intel_subgroups shuffles (NEW: the working tree of the fourteenth session, built in $2) against
# the same kernel with its sums through local memory and barriers (OLD: 0c14838, built in $1), the
# two builds alternated three times in one run: 32/8 heads, bf16, D 128 and 64, 8K x batch 1 and 4,
# dense and fa-ssa:0.75, `elattn-decode-bench --check` (against the reference) on NEW.
# usage: subgroup-ab.sh OLD_BUILD NEW_BUILD [OUT_DIR]   (both built with -Dopencl=enabled -Dbench=true;
#   OCL_ICD_VENDORS and LD_LIBRARY_PATH set for Intel's runtime, which is opencl:0 then)
set -u
old=$1 new=$2 out=${3:-subgroup-ab}
mkdir -p "$out"
for round in 1 2 3; do
  for v in old new; do
    b=$old; [ $v = new ] && b=$new
    for hd in 128 64; do
      check=; [ $v = new ] && [ $round = 1 ] && check=--check
      "$b/bench/elattn-decode-bench" --device opencl:0 --head-dim $hd --lens 8192 --batch 1,4 \
        --mix dense,fa-ssa:0.75 --max-time 0.4 --min-reps 3 $check > "$out/$v-d$hd-r$round.txt" 2>&1
      grep -E '^check' "$out/$v-d$hd-r$round.txt" | sed "s/^/$v D$hd: /"
      sed -n '/^results/,$p' "$out/$v-d$hd-r$round.txt" | grep -E '^ +[0-9]' |
        awk -v v=$v -v r=$round '{print v, "round" r, $1, $2, $3, $4, $NF}'
    done
  done
done

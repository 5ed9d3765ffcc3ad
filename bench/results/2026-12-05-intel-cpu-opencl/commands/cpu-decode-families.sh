#!/usr/bin/env bash
# The two OpenCL decode families on the CPU runtimes of this machine, in one run: PoCL (the system's
# ICD) and Intel's CPU runtime (.ci/intel-opencl.sh's copy under BUILD/intel-opencl), each family
# forced by name (opencl.decode.tiled, opencl.decode.scalar), alternated twice; 32/8 heads, bf16,
# D 128 and 64, 8K x batch 1 and 4, dense and fa-ssa:0.75.
# usage: cpu-decode-families.sh BUILD [OUT_DIR]   (BUILD: -Dopencl=enabled -Dbench=true, with
#   .ci/intel-opencl.sh BUILD run once)
set -u
b=$1 out=${2:-cpu-decode-families}
mkdir -p "$out"
intel_env() {
    OCL_ICD_VENDORS=$b/intel-opencl/vendors \
    LD_LIBRARY_PATH=$(ls -d "$b"/intel-opencl/x/*/data/lib | tr '\n' ':') "$@"
}
for round in 1 2; do
  for rt in pocl intel; do
    for fam in tiled scalar; do
      for hd in 128 64; do
        f=$out/$rt-$fam-d$hd-r$round.txt
        cmd=("$b/bench/elattn-decode-bench" --device opencl:0 --kernel opencl.decode.$fam --head-dim $hd
             --lens 8192 --batch 1,4 --mix dense,fa-ssa:0.75 --max-time 0.3 --min-reps 2 --max-reps 5)
        if [ $rt = intel ]; then intel_env "${cmd[@]}" > "$f" 2>&1; else "${cmd[@]}" > "$f" 2>&1; fi
        sed -n '/^results/,$p' "$f" | grep -E '^ +[0-9]' | awk -v rt=$rt -v r=$round '{print rt, "round" r, $1, $2, $3, $4, $NF}'
      done
    done
  done
done

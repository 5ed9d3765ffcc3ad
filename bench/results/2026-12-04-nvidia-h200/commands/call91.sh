#!/usr/bin/env bash
# Call 91 (2026-12-04, sixth session): call 90 again with the base tree carried (call 90's A and S
# trees were not carried: ignored paths travel only when named), and each half of the change apart.
#   A  = 8e5038e (.base/);  N = the working tree (both changes below);
#   N1 = A + the merge launch's change only (16 chunks a batch, its slice counted after its loads);
#   N2 = A + the in-block merge's staging through shared memory only.
#   --batch 1: A N N1 N2, three rounds alternating; --batch 16,64: A N, one round.
set -u
o=$OUT/c91; mkdir -p $o; f=$o/c91.txt
left() { echo $((585 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
t="bench/elattn-decode-bench elattn-libs"
for v in base n1 n2; do (cd .$v && meson setup build-c91 $cfg >/dev/null && ninja -C build-c91 -j4 $t) > $o/build-$v.log 2>&1 & done
(meson setup build-c91 $cfg >/dev/null && ninja -C build-c91 -j4 $t) > $o/build-n.log 2>&1
wait; echo "builds $SECONDS s: $(for v in base n1 n2 n; do echo -n "$v $(tail -1 $o/build-$v.log | cut -c1-30) / "; done)" >> $f
bin() { case $1 in A) echo .base/build-c91/bench/elattn-decode-bench;; N1) echo .n1/build-c91/bench/elattn-decode-bench;; N2) echo .n2/build-c91/bench/elattn-decode-bench;; *) echo build-c91/bench/elattn-decode-bench;; esac; }
d() { local n=dec-$1-b$2-$3
  timeout $(lim 45) $(bin $1) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $2 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')| $(nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv,noheader)" >> $f; }
for r in 1 2 3; do d A 1 $r; d N 1 $r; d N1 1 $r; d N2 1 $r; done
d A 16,64 1; d N 16,64 1
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c91.tgz c91 && rm -rf c91/dec-* c91/build* c91/machine.txt
cat $f

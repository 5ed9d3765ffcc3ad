# call 152, run with the device tool as: bash bench/lab/notes/decode/peak-bandwidth-ab.sh (kind nvidia-h200; given an H100)
#!/usr/bin/env bash
# One device call (twenty-second session, issue 14): the bandwidth split model's saturating items
# from the device's peak memory bandwidth (S = peak / 31 GB/s, fitted to the H200's sweep, call 151,
# and the H100's, call 128), A (main at 6045c63: S = 3/8 of the resident items on any device)
# against B (this tree), on cuda:0, from the repository root with `run`. A's files come in ab-old/
# (made before the call, not committed: for f in $(git diff --name-only 6045c63); do mkdir -p
# ab-old/$(dirname $f); git show 6045c63:$f > ab-old/$f; done); A's tree is this one with them in
# place, built beside B's (CUDA backend alone).
#   0. the device's memory clock and bus width (mem_peak.cu), what B's policy reads;
#   1. conformance, B: the decode group with cuda.decode.mma and cuda.decode.split forced;
#   2. elattn-decode-bench, bf16 D 128, Hq 32 / Hkv 8, read flush: 8K / 32K x 1 / 16 / 64 and
#      128K x 1 / 16, dense, fa-ssa:0.5 / 0.75, A B A B (ROUNDS=1: A B).
# Output in $OUT/pb: pb.txt (one line per step: "TAG-SIDE len batch mix us"), raw outputs.
set -u
o=$OUT/pb; mkdir -p $o; f=$o/pb.txt
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-570} - SECONDS)); }
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.memory --format=csv,noheader >> $f 2>&1
nvcc -o /tmp/mem_peak bench/lab/notes/decode/mem_peak.cu > $o/mem_peak.log 2>&1 && /tmp/mem_peak >> $f 2>&1
setup="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(meson setup build-b $setup -Dtests=true >/dev/null &&
  ninja -C build-b -j8 elattn-libs conformance/elattn-conformance bench/elattn-decode-bench) > $o/build-b.log 2>&1 &
bpid=$!
a=/tmp/tree-a; rm -rf $a; mkdir -p $a
tar cf - --exclude='./build*' --exclude=./ab-old . | tar xf - -C $a; (cd ab-old && tar cf - .) | tar xf - -C $a
(cd $a && meson setup build-a $setup -Dtests=false >/dev/null && ninja -C build-a -j8 elattn-libs bench/elattn-decode-bench) \
  > $o/build-a.log 2>&1
echo "build A rc=$? at $SECONDS s: $(tail -1 $o/build-a.log | cut -c1-80)" >> $f
wait $bpid; echo "build B rc=$? at $SECONDS s: $(tail -1 $o/build-b.log | cut -c1-80)" >> $f
C=build-b/conformance/elattn-conformance
for fam in cuda.decode.mma cuda.decode.split; do
  timeout 100 $C --backend cuda:0 --case decode/ --kernel $fam > $o/conf-$fam.txt 2>&1
  echo "conf $fam (rc $?): $(tail -1 $o/conf-$fam.txt)" >> $f
  grep -E " FAIL | ERROR " $o/conf-$fam.txt | head -4 | cut -c1-300 >> $f
done
r() { # r TAG SIDE ARGS...
  local tag=$1 side=$2; shift 2
  local bin=build-b/bench/elattn-decode-bench n=$o/$tag-$side.txt
  [ $side = A ] && bin=$a/build-a/bench/elattn-decode-bench
  [ -f $n ] && n=$o/$tag-$side-2.txt
  [ "$(left)" -lt 30 ] && { echo "$tag $side: skipped (time)" >> $f; return; }
  timeout 70 $bin --device cuda:0 --dtype bf16 --flush read --max-time 0.12 "$@" > $n 2>&1
  local rc=$?
  sed -n '/^results/,$p' $n | grep -E '^ +[0-9]' | awk -v t="$tag-$side" '{print t, $1, $2, $3, $4}' >> $f
  [ $rc = 0 ] || echo "$tag $side: rc $rc $(tail -2 $n | tr '\n' ' ' | cut -c1-200)" >> $f
}
M3=dense,fa-ssa:0.5,fa-ssa:0.75
sides="A B A B"; [ "${ROUNDS:-2}" = 1 ] && sides="A B"
for s in $sides; do
  r ins $s --head-dim 128 --lens 8192,32768 --batch 1,16,64 --mix $M3
  r long $s --head-dim 128 --lens 131072 --batch 1,16 --mix $M3
done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid

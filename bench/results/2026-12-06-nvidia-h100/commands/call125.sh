#!/usr/bin/env bash
# A device call (seventeenth session, call 125; issue 12): why opencl.attn.wgmma computes wrong
# results at D 64 with 64-key tiles (the one shape whose S and P V chains are both N 64 with 4
# steps; refused on GPUs), from two copies of the tree with the refusal taken out:
#   A  as the library is;
#   B  the S chain as wgmma_chain_add onto zeroed accumulators instead of wgmma_chain_set (is it
#      the "=f" outputs with scale-d false?).
# Each: conformance on the d64 attention cases at --tiles 128,64,256 (A also 64,64,128), and the
# edited PTX of one case (ELATTN_OPENCL_PTX_DUMP) brought back, to disassemble off the device.
# First wgmma_layout_check.c (this folder), whose third mode runs a K-major set chain and an
# MN-major add chain of the same shape in one kernel. Run from the repository root with `run`.
# (A record of call 125: the refusal it edits out is gone since call 126, whose WG_KEEP fixed the
# cause this call found.)
set -u
o=$OUT/pr; mkdir -p $o/tmp $o/ptx-a $o/ptx-b; f=$o/pr.txt
export TMPDIR=$o/tmp
: > $f; tail -f $f & tailpid=$!
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
(cc -O2 -Ibackends/opencl -o $o/wlc bench/lab/notes/mma/wgmma_layout_check.c backends/opencl/opencl_ptx_edit.c -lOpenCL -lm &&
  timeout 60 $o/wlc; echo "layout check rc=$?"; rm -f $o/wlc) > $o/layout.txt 2>&1
grep -E "^(ok|FAIL)|rc=" $o/layout.txt | cut -c1-200 >> $f
for v in a b; do
  rm -rf /tmp/x$v && mkdir /tmp/x$v && tar --exclude='./build*' --exclude=./.p -cf - . | (cd /tmp/x$v && tar xf -)
  sed -i 's/if (!emulate \&\& d->head_dim == 64 \&\& n == 64)/if (0)/' /tmp/x$v/backends/opencl/opencl_attn.c
done
sed -i 's/        wgmma_chain_set(BN, S_STEPS, 0, s\[0\], Q_FRAG, K_DESC);/        UNROLL for (int n = 0; n < NB; ++n) s[0][n][0] = s[0][n][1] = s[0][n][2] = s[0][n][3] = 0.0f;\n        wgmma_chain_add(BN, S_STEPS, 0, s[0], Q_FRAG, K_DESC);/' /tmp/xb/kernels/opencl/attn_wgmma.cl
echo "edits: a $(grep -c 'if (0)' /tmp/xa/backends/opencl/opencl_attn.c), b $(grep -c 'if (0)' /tmp/xb/backends/opencl/opencl_attn.c) $(grep -c 'wgmma_chain_add(BN, S_STEPS' /tmp/xb/kernels/opencl/attn_wgmma.cl)" >> $f
pids=""
for v in a b; do
  (cd /tmp/x$v && meson setup build -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=false \
    -Dtests=true >/dev/null && ninja -C build -j8 elattn-libs conformance/elattn-conformance) > $o/build-$v.log 2>&1 &
  pids="$pids $!"
done
wait $pids
echo "builds $SECONDS s: $(tail -1 $o/build-a.log | cut -c1-50) / $(tail -1 $o/build-b.log | cut -c1-50)" >> $f
cf() { # cf VARIANT TAG TILES
  local C=/tmp/x$1/build/conformance/elattn-conformance
  timeout 60 $C --backend opencl:1 --no-isolate --kernel opencl.attn.wgmma --tiles $3 --case /d64/ --exclude xattn/ \
    --exclude router/ --exclude invalid/ --exclude decode/ > $o/conf-$1-$2.txt 2>&1
  echo "conf $1 $2 (rc $?): $(tail -1 $o/conf-$1-$2.txt)" >> $f
  grep -E " FAIL | ERROR " $o/conf-$1-$2.txt | head -2 | cut -c1-200 >> $f; }
cf a m128 128,64,256; cf b m128 128,64,256; cf a m64 64,64,128
for v in a b; do
  ELATTN_OPENCL_PTX_DUMP=$o/ptx-$v timeout 30 /tmp/x$v/build/conformance/elattn-conformance --backend opencl:1 --no-isolate \
    --kernel opencl.attn.wgmma --tiles 128,64,256 --case attn/dtype/mixed/bf16/d64 > $o/dump-$v.txt 2>&1
  echo "dump $v: $(ls $o/ptx-$v | tr '\n' ' ')" >> $f
done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid; cd $OUT && tar czf pr.tgz pr && rm -rf pr

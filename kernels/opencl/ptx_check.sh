#!/bin/sh
# Compile-check the inline-PTX path of the OpenCL tensor-core kernels
# (attn_mma.cl, attn_mma_async.cl and xattn_mma.cl, on warp_shuffle.cl and mma_warp.cl; attn_wgmma.cl,
# also on wgmma_warpgroup.cl, for sm_90a after the host's edit of its PTX) and of the
# decode program (decode.cl and decode_tiled.cl, on warp_shuffle.cl) without an NVIDIA GPU: clang compiles the OpenCL C (target nvptx64-nvidia-nvcl, the source as the
# backend hands it to the driver: the spec, common.cl, warp_shuffle.cl, mma_warp.cl, the
# kernel's files) to PTX (.target sm_80) and ptxas assembles that PTX for
# sm_80 and sm_90, so the asm's syntax, operand types and constraints are
# checked, and register use and spills are shown. A stand-in header maps the
# few OpenCL built-ins clang leaves as calls (barrier, ids, fmax, fma, log2,
# exp2) onto NVPTX built-ins; NVIDIA's driver has its own front end and
# library, so this does not replace a build there.
#
# usage: kernels/opencl/ptx_check.sh [CLANG [PTXAS]]
#   defaults: clang-15 (or clang), ptxas (or /usr/local/cuda/bin/ptxas).
# Exit 0 when every configuration assembles (register spills are reported,
# a performance matter: the tuner may time such a candidate); 77 when a tool is missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
clang=${1:-$(command -v clang-15 || command -v clang || true)}
ptxas=${2:-$(command -v ptxas || { test -x /usr/local/cuda/bin/ptxas && echo /usr/local/cuda/bin/ptxas; } || true)}
if [ -z "$clang" ] || [ -z "$ptxas" ]; then
    echo "ptx_check: skipped (needs clang with the NVPTX target and ptxas)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/shim.h" <<'EOF'
#define barrier(flags) __nvvm_bar_sync(0)
#define get_local_id(d) ((size_t)__nvvm_read_ptx_sreg_tid_x())
#define get_group_id(d) ((size_t)__nvvm_read_ptx_sreg_ctaid_x())
#define get_global_id(d) ((size_t)__nvvm_read_ptx_sreg_ctaid_x() * __nvvm_read_ptx_sreg_ntid_x() + __nvvm_read_ptx_sreg_tid_x())
#define fmax(a, b) __builtin_fmaxf(a, b)
#define fma(a, b, c) __builtin_fmaf(a, b, c)
#define log2(x) __nvvm_lg2_approx_f(x)
#define exp2(x) __nvvm_ex2_approx_f(x)
#define min(a, b) ((a) < (b) ? (a) : (b))
#define isnan(x) __builtin_isnan(x)
#define atomic_add(p, v) __sync_fetch_and_add(p, v)
#define atomic_inc(p) __sync_fetch_and_add(p, 1)
#define atomic_xchg(p, v) __sync_lock_test_and_set(p, v)
#define mem_fence(flags) __nvvm_membar_gl()
/* fp16 loads and stores (common.cl's elattn_load and elattn_store), through the bits */
static inline ushort shim_f32_to_f16_bits(float x)
{
    ushort h;
    __asm__("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(x));
    return h;
}
#define vload_half(i, p) elattn_f16_bits_to_float(((const __global ushort *)(p))[i])
#define vstore_half_rte(x, i, p) (((__global ushort *)(p))[i] = shim_f32_to_f16_bits(x))
/* decode.cl's vload8 (a float8 from global memory) and decode_tiled.cl's vstore8 (to private) */
#define vload8(i, p) ({ const __global float *p_ = (p) + 8 * (i); \
    (float8)(p_[0], p_[1], p_[2], p_[3], p_[4], p_[5], p_[6], p_[7]); })
#define vstore8(v, i, p) do { const float8 v_ = (v); float *p_ = (p) + 8 * (i); \
    p_[0] = v_.s0; p_[1] = v_.s1; p_[2] = v_.s2; p_[3] = v_.s3; \
    p_[4] = v_.s4; p_[5] = v_.s5; p_[6] = v_.s6; p_[7] = v_.s7; } while (0)
EOF
prelude() { echo "#define local elattn_local_"; cat "$here/../elattn_spec.h" "$here/common.cl" "$here/warp_shuffle.cl" "$here/mma_warp.cl"; }
{ prelude; cat "$here/attn_mma_rows.cl" "$here/attn_mma.cl"; } > "$tmp/attn.cl"
{ prelude; cat "$here/attn_mma_rows.cl" "$here/attn_mma_async.cl"; } > "$tmp/attn_async.cl"
{ prelude; cat "$here/attn_mma_rows.cl" "$here/wgmma_warpgroup.cl" "$here/attn_wgmma.cl"; } > "$tmp/attn_wgmma.cl"
{ prelude; cat "$here/xattn.cl" "$here/xattn_mma.cl"; } > "$tmp/xattn.cl"
{ echo "#define local elattn_local_"; cat "$here/../elattn_spec.h" "$here/common.cl" "$here/warp_shuffle.cl" \
    "$here/decode.cl" "$here/decode_tiled.cl"; } > "$tmp/decode.cl"
status=0

# assemble NAME SOURCE LABEL CLANG-DEFINES...: clang to PTX, then ptxas for each of $archs (sm_80
# and sm_90; with sm90a=1, sm_90a after the edit of backends/opencl/opencl_ptx_edit.c, here by sed:
# the "// SM90A " markers out, the target sm_90a, the version 8.0), a line each; the figures (and the count of local-memory accesses) are those of the kernel $entry
# names (a pattern: the tensor-core kernels by default), the mma.sync count the whole program's
entry="elattn_\(attn\|xattn\)_mma"
archs="sm_80 sm_90" sm90a=0
assemble() {
    name=$1 src=$2 label=$3
    shift 3
    out="$tmp/$name.ptx"
    if ! "$clang" -x cl -cl-std=CL1.2 -target nvptx64-nvidia-nvcl -Xclang -finclude-default-header \
        -include "$tmp/shim.h" -D__OPENCL_VERSION__=120 -O3 -S -o "$out" "$src" -DELATTN_NV_PTX=1 -march=sm_80 "$@"; then
        echo "FAIL  $label: clang"; status=1; return
    fi
    if [ "$sm90a" = 1 ]; then
        if ! grep -q '// SM90A ' "$out"; then echo "FAIL  $label: no sm_90a markers in the PTX"; status=1; return; fi
        sed -i -e 's|// SM90A ||g' -e 's|^\.target sm_[0-9]*|.target sm_90a|' -e 's|^\.version [0-7]\..*|.version 8.0|' "$out"
    fi
    for arch in $archs; do
        log=$("$ptxas" -arch=$arch -v "$out" -o "$out.$arch.cubin" 2>&1) || { echo "FAIL  $label $arch:"; echo "$log" | head -5; status=1; continue; }
        last=$(echo "$log" | grep -n "Compiling entry function '$entry" | cut -d: -f1)
        kern=$(echo "$log" | tail -n +"${last:-1}" | head -4)
        regs=$(echo "$kern" | sed -n 's/.*Used \([0-9]*\) registers.*/\1/p')
        spill=$(echo "$kern" | sed -n 's/.*, \([0-9]*\) bytes spill stores.*/\1/p')
        smem=$(echo "$kern" | sed -n 's/.* \([0-9]*\) bytes smem.*/\1/p')
        # the entry's body (clang writes ".entry NAME(", without ".visible")
        body=$(sed -n "/^\(\.visible \)\{0,1\}\.entry $entry[a-z_]*(/,/^}/p" "$out")
        if [ -z "$body" ] || [ -z "$last" ]; then echo "FAIL  $label $arch: no entry $entry"; status=1; continue; fi
        stack=$(echo "$body" | grep -c 'ld\.local\|st\.local')
        verdict=ok
        if [ "${spill:-0}" != 0 ] || [ "$stack" != 0 ]; then verdict=spills; fi
        echo "$verdict  $label $arch: $regs registers, $smem bytes local memory, spill stores ${spill:-?}, local-memory accesses $stack, mma.sync $(grep -c 'mma\.sync' "$out"), wgmma $(grep -c 'wgmma\.mma_async' "$out")"
    done
}

# attention: dtype (1 fp16, 2 bf16), head dim, tile_m, tile_n, m16 row blocks per warp,
# heads per tile: the table's NVIDIA rows, the other candidates of
# elattn-opencl-tune's largest tiles (per lane, registers depend on the head
# dim, tile_n and the row blocks, not on the number of warps), and head dims
# that take the padded (not swizzled) layout.
for cfg in "2 64 64 64 1 4" "2 128 64 32 1 4" "1 128 64 64 1 4" "2 256 64 16 1 4" "1 256 32 32 1 2" \
           "2 128 128 32 1 4" "2 64 128 64 2 4" "1 64 256 64 2 4" "2 64 128 32 2 4" "2 128 128 32 2 4" \
           "1 128 64 64 2 4" "2 128 128 16 2 4" "1 96 64 32 2 2" "2 48 32 32 1 1" "2 80 64 32 2 4"; do
    set -- $cfg
    assemble "attn_d$2_$1_m$3_n$4_r$5" "$tmp/attn.cl" "attn dtype=$1 d=$2 m=$3 n=$4 r=$5 w=$(($3 * 2 / $5))" \
        -DELATTN_STORAGE="$1" -DELATTN_HEAD_DIM="$2" -DELATTN_TILE_M="$3" -DELATTN_TILE_N="$4" \
        -DELATTN_WARP_M="$5" -DELATTN_WG=$(($3 * 2 / $5)) -DELATTN_HEADS_PER_TILE="$6"
done
# attention, mma_async (attn_mma_async.cl): dtype, head dim, tile_m, tile_n, m16 row blocks per
# warp, heads per tile. MW 1 (Q in registers) at D 128 in both of its schedules (BN 64: two K
# tiles and one V; BN 32 and 16: K and V double-buffered), 4 and 8 warps; MW 2 (Q in local
# memory, FlashAttention-2's single K and V), at D 128 the Q tile of 128 rows leaves BN 32; D 64;
# padded head dims (96, 80, 48); the D 64 band's row (128 x 96, MW 2), fp16 and bf16; D 128 with 48-key
# tiles at MW 1 (K double-buffered, one V).
for cfg in "2 128 64 64 1 4" "1 128 64 64 1 4" "2 128 128 64 1 4" "2 128 64 32 1 4" "2 128 128 32 1 4" \
           "2 128 64 16 1 4" "2 128 128 32 2 4" "1 128 128 32 2 4" "2 128 64 32 2 4" "2 128 128 16 2 4" \
           "2 64 64 64 1 4" "1 64 128 64 1 4" "2 64 128 64 2 4" "2 64 256 64 2 4" "2 96 64 32 1 2" \
           "2 96 64 32 2 2" "2 80 64 64 1 4" "2 48 32 32 1 1" "2 64 128 96 2 4" "1 64 128 96 2 4" "2 128 128 48 1 4"; do
    set -- $cfg
    assemble "attn_async_d$2_$1_m$3_n$4_r$5" "$tmp/attn_async.cl" \
        "attn.async dtype=$1 d=$2 m=$3 n=$4 r=$5 w=$(($3 * 2 / $5))" \
        -DELATTN_STORAGE="$1" -DELATTN_HEAD_DIM="$2" -DELATTN_TILE_M="$3" -DELATTN_TILE_N="$4" \
        -DELATTN_WARP_M="$5" -DELATTN_WG=$(($3 * 2 / $5)) -DELATTN_HEADS_PER_TILE="$6"
done
# attention, wgmma (attn_wgmma.cl, sm_90a only): dtype, head dim, tile_m, tile_n, heads per tile (both
# schedules: KV2 where tile_n x D <= 4096); a
# warpgroup (128 work-items) per 64 rows (MW 1)
entry=elattn_attn_wgmma archs=sm_90a sm90a=1
for cfg in "2 128 64 64 4" "1 128 64 64 4" "2 64 64 128 4" "2 64 64 64 4" "1 64 64 128 2" "2 128 128 64 4" "2 128 128 32 4" "1 128 64 32 2" \
           "2 64 128 128 4" "1 64 128 64 2"; do
    set -- $cfg
    assemble "attn_wgmma_d$2_$1_m$3_n$4" "$tmp/attn_wgmma.cl" "attn.wgmma dtype=$1 d=$2 m=$3 n=$4 w=$(($3 * 2))" \
        -DELATTN_STORAGE="$1" -DELATTN_HEAD_DIM="$2" -DELATTN_TILE_M="$3" -DELATTN_TILE_N="$4" \
        -DELATTN_WARP_M=1 -DELATTN_WG=$(($3 * 2)) -DELATTN_HEADS_PER_TILE="$5" -DELATTN_PTX_SM90A=1
done
entry="elattn_\(attn\|xattn\)_mma" archs="sm_80 sm_90" sm90a=0
# XAttention estimation: dtype, head dim, stride, block, tile_m, tile_n, m16 row blocks per warp:
# the table's NVIDIA rows, neighbouring tiles, a padded head dim
for cfg in "2 64 16 128 128 128 1" "2 128 16 128 128 64 1" "1 256 16 128 64 32 1" "2 128 16 128 64 128 1" \
           "2 128 16 128 128 64 2" "2 64 16 128 256 64 2" "1 96 8 64 64 64 1" "2 128 4 128 64 64 1"; do
    set -- $cfg
    assemble "xattn_d$2_$1_s$3_m$5_n$6_r$7" "$tmp/xattn.cl" \
        "xattn dtype=$1 d=$2 s=$3 b=$4 m=$5 n=$6 r=$7 w=$(($5 * 2 / $7))" \
        -DELATTN_STORAGE="$1" -DELATTN_HEAD_DIM="$2" -DELATTN_XA_STRIDE="$3" -DELATTN_XA_BLOCK="$4" \
        -DELATTN_XA_GEMM=2 -DELATTN_XA_TILE_M="$5" -DELATTN_XA_TILE_N="$6" -DELATTN_WARP_M="$7" \
        -DELATTN_WG=$(($5 * 2 / $7))
done
# decode (the program as opencl_decode.c builds it for the tiled family on NVIDIA): dtype (0 fp32,
# 1 fp16, 2 bf16), padded head dim; the tiled kernel's figures
entry=elattn_decode_tiled
for cfg in "2 128" "1 128" "0 128" "2 64" "1 256"; do
    set -- $cfg
    assemble "decode_$1_d$2" "$tmp/decode.cl" "decode.tiled dtype=$1 padded_d=$2" \
        -DELATTN_STORAGE="$1" -DELATTN_WG=128 -DELATTN_DECODE_ROWS=4 -DELATTN_DECODE_PADDED_D="$2"
done
exit $status

/*
 * Standalone check and timing of the sm_90a kernel (kernels/gpu/attn_wgmma.cuh)
 * against a double-precision CPU reference written from kernels/elattn_spec.h.
 * Built by build_and_run.sh on the GPU machine; not part of the library build.
 *
 *   harness check   : small and medium cases, every row checked
 *   harness bench   : large cases, sampled rows checked, then timed
 */
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "attn_wgmma.cuh"
#include "dev_common.h"

/* Counter-based normal-ish values (sum of 4 uniforms), fresh per seed. */
__device__ __host__ inline uint32_t hash32(uint32_t x)
{
    x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU; x ^= x >> 16;
    return x;
}
__global__ void fill_random(uint16_t *p, size_t n, uint32_t seed, int bf16)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float s = 0.f;
        for (int k = 0; k < 4; ++k) s += (hash32((uint32_t)i * 4u + k + seed * 0x9e3779b9u) >> 8) * (1.f / 16777216.f);
        float v = (s - 2.f) * 1.7320508f; /* unit variance */
        uint16_t r;
        if (bf16) { __nv_bfloat16 b = __float2bfloat16(v); memcpy(&r, &b, 2); }
        else { __half hh = __float2half(v); memcpy(&r, &hh, 2); }
        p[i] = r;
    }
}

static double to_double(uint16_t x, bool bf16)
{
    if (bf16) { uint32_t u = (uint32_t)x << 16; float f; memcpy(&f, &u, 4); return f; }
    __half hh; memcpy(&hh, &x, 2); return (double)__half2float(hh);
}

struct Case {
    std::string name;
    bool bf16 = true;
    int hq = 4, hkv = 2, causal = 1, sink = 64, local = 256, block = 64;
    std::vector<int> lq, lk;
    std::vector<int> modes;  /* [batch][hkv] */
    double mask_density = 0.5;
    int sample_rows = 0;     /* 0: check every row; else rows per (element, head) */
    int time_reps = 0;
    bool dense_flops = false; /* report TFLOP/s of the FULL heads */
};

static uint32_t g_seed = 12345;
static int g_variant = 2;

/* Reference for one (element b, query head h, query i): O row and LSE. */
static void ref_row(const Case &c, const elattn_attn_params &P, const std::vector<uint16_t> &q,
                    const std::vector<uint16_t> &k, const std::vector<uint16_t> &v,
                    const std::vector<int> &cuq, const std::vector<int> &cuk,
                    const std::vector<uint8_t> &mask, int b, int h, int i, double *o, double *lse)
{
    const int D = 128, hk = h / P.group, Lq = cuq[b + 1] - cuq[b], Lk = cuk[b + 1] - cuk[b];
    const int mode = c.modes[b * c.hkv + hk];
    const int p = elattn_query_pos(i, Lq, Lk);
    const uint8_t *mrow = nullptr;
    if (mode == ELATTN_MODE_BLOCK_SPARSE)
        mrow = mask.data() + elattn_mask_row(b, hk, i / P.block_size, P.num_kv_heads, P.mask_qblocks, P.mask_kblocks);
    std::vector<double> qd(D), s(Lk > 0 ? Lk : 1);
    for (int d = 0; d < D; ++d) qd[d] = to_double(q[((size_t)(cuq[b] + i) * c.hq + h) * D + d], c.bf16);
    double mx = -INFINITY;
    std::vector<char> vis(Lk > 0 ? Lk : 1);
    for (int j = 0; j < Lk; ++j) {
        vis[j] = (char)elattn_pair_visible(mode, P.causal, p, j, P.sink, P.local, P.block_size, mrow);
        if (!vis[j]) continue;
        const uint16_t *kr = &k[((size_t)(cuk[b] + j) * c.hkv + hk) * D];
        double acc = 0;
        for (int d = 0; d < D; ++d) acc += qd[d] * to_double(kr[d], c.bf16);
        s[j] = acc * P.scale;
        mx = std::max(mx, s[j]);
    }
    for (int d = 0; d < D; ++d) o[d] = 0;
    if (mx == -INFINITY) { *lse = -INFINITY; return; }
    double sum = 0;
    for (int j = 0; j < Lk; ++j) {
        if (!vis[j]) continue;
        double e = std::exp(s[j] - mx);
        sum += e;
        const uint16_t *vr = &v[((size_t)(cuk[b] + j) * c.hkv + hk) * D];
        for (int d = 0; d < D; ++d) o[d] += e * to_double(vr[d], c.bf16);
    }
    for (int d = 0; d < D; ++d) o[d] /= sum;
    *lse = mx + std::log(sum);
}

static bool run_case(const Case &c, FILE *log)
{
    const int B = (int)c.lq.size(), D = 128;
    std::vector<int> cuq, cuk;
    int maxq, maxk;
    dev_seqlens(c.lq, cuq, maxq);
    dev_seqlens(c.lk, cuk, maxk);
    maxq = std::max(maxq, 1); maxk = std::max(maxk, 1);
    const int tq = cuq[B], tk = cuk[B];

    elattn_attn_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.dtype = c.bf16 ? ELATTN_BF16 : ELATTN_F16;
    desc.head_dim = D; desc.num_q_heads = c.hq; desc.num_kv_heads = c.hkv; desc.batch = B;
    desc.max_seqlen_q = maxq; desc.max_seqlen_k = maxk; desc.causal = c.causal;
    desc.scale = 1.f / sqrtf((float)D); desc.sink = c.sink; desc.local = c.local;
    desc.block_size = c.block; desc.write_lse = 1;

    elattn_attn_params P;
    memset(&P, 0, sizeof P);
    P.head_dim = D; P.num_q_heads = c.hq; P.num_kv_heads = c.hkv; P.group = c.hq / c.hkv;
    P.batch = B; P.max_seqlen_q = maxq; P.max_seqlen_k = maxk; P.causal = c.causal;
    P.scale = desc.scale; P.scale_log2 = desc.scale * 1.4426950408889634f;
    P.sink = c.sink; P.local = c.local; P.block_size = c.block;
    P.mask_qblocks = (maxq + c.block - 1) / c.block; P.mask_kblocks = (maxk + c.block - 1) / c.block;
    P.write_lse = 1; P.dtype = c.bf16 ? ELATTN_DTYPE_BF16 : ELATTN_DTYPE_F16;

    elattn_gpu_kernel_shape shape;
    const char *why = nullptr;
    if (!elattn_wgmma_attn_supported(&desc, 90, &shape, &why)) {
        printf("%-34s NOT SUPPORTED: %s\n", c.name.c_str(), why);
        return false;
    }

    /* mask: random cells, and in every other head one empty query-block row */
    std::vector<uint8_t> mask((size_t)B * c.hkv * P.mask_qblocks * P.mask_kblocks);
    uint32_t ms = g_seed * 7 + 1;
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = (hash32(ms + (uint32_t)i) % 1000) < c.mask_density * 1000;
    for (int b = 0; b < B; ++b)
        for (int hk = 1; hk < c.hkv; hk += 2) {
            uint8_t *row = mask.data() + elattn_mask_row(b, hk, 0, c.hkv, P.mask_qblocks, P.mask_kblocks);
            memset(row, 0, P.mask_kblocks);
        }

    elattn_attn_call call;
    memset(&call, 0, sizeof call);
    call.desc = &desc; call.params = P; call.cu_seqlens_q = cuq.data(); call.cu_seqlens_k = cuk.data();
    call.modes = c.modes.data(); call.total_q = tq; call.total_k = tk;
    std::vector<elattn_work_item> items(elattn_worklist_max_items(&desc, shape.tile_m, shape.per_kv_head) + 1);
    int nitems = elattn_worklist_build(&call, shape.tile_m, shape.tile_n, shape.per_kv_head, items.data());

    size_t nq = (size_t)std::max(tq, 1) * c.hq * D, nk = (size_t)std::max(tk, 1) * c.hkv * D;
    uint16_t *dq, *dk, *dv, *dout; float *dlse; int *dcuq, *dcuk, *dmodes; uint8_t *dmask; elattn_work_item *ditems;
    CK(cudaMalloc(&dq, nq * 2)); CK(cudaMalloc(&dk, nk * 2)); CK(cudaMalloc(&dv, nk * 2));
    CK(cudaMalloc(&dout, nq * 2)); CK(cudaMalloc(&dlse, (size_t)std::max(tq, 1) * c.hq * 4));
    CK(cudaMalloc(&dcuq, (B + 1) * 4)); CK(cudaMalloc(&dcuk, (B + 1) * 4));
    CK(cudaMalloc(&dmodes, c.modes.size() * 4)); CK(cudaMalloc(&dmask, mask.size() + 1));
    CK(cudaMalloc(&ditems, sizeof(elattn_work_item) * std::max(nitems, 1)));
    fill_random<<<1024, 256>>>(dq, nq, g_seed++, c.bf16);
    fill_random<<<1024, 256>>>(dk, nk, g_seed++, c.bf16);
    fill_random<<<1024, 256>>>(dv, nk, g_seed++, c.bf16);
    CK(cudaGetLastError());
    CK(cudaMemset(dout, 0xff, nq * 2));                      /* NaN poison */
    CK(cudaMemset(dlse, 0xff, (size_t)std::max(tq, 1) * c.hq * 4));
    CK(cudaMemcpy(dcuq, cuq.data(), (B + 1) * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dcuk, cuk.data(), (B + 1) * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dmodes, c.modes.data(), c.modes.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dmask, mask.data(), mask.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(ditems, items.data(), sizeof(elattn_work_item) * nitems, cudaMemcpyHostToDevice));

    elattn_gpu_attn_inputs in;
    memset(&in, 0, sizeof in);
    in.params = P; in.q = dq; in.k = dk; in.v = dv; in.o = dout; in.lse = dlse;
    in.cu_seqlens_q = dcuq; in.cu_seqlens_k = dcuk; in.modes = dmodes; in.block_mask = dmask;
    in.items = ditems; in.num_items = nitems; in.tile_m = shape.tile_m; in.tile_n = shape.tile_n;
    CK(elattn_wgmma::launch_variant(&in, 0, g_variant));
    CK(cudaDeviceSynchronize());

    std::vector<uint16_t> q(nq), k(nk), v(nk), o(nq);
    std::vector<float> lse((size_t)std::max(tq, 1) * c.hq);
    CK(cudaMemcpy(q.data(), dq, nq * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(k.data(), dk, nk * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(v.data(), dv, nk * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(o.data(), dout, nq * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(lse.data(), dlse, lse.size() * 4, cudaMemcpyDeviceToHost));

    /* every output element written, no NaN */
    size_t nan_o = 0, nan_l = 0;
    for (size_t i = 0; i < (size_t)tq * c.hq * D; ++i) nan_o += std::isnan(to_double(o[i], c.bf16));
    for (size_t i = 0; i < (size_t)tq * c.hq; ++i) nan_l += std::isnan(lse[i]);

    /* rows to check */
    std::vector<std::array<int, 3>> rows;
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < c.hq; ++h) {
            if (!c.sample_rows) { for (int i = 0; i < c.lq[b]; ++i) rows.push_back({b, h, i}); continue; }
            for (int s = 0; s < c.sample_rows && c.lq[b] > 0; ++s) {
                int i = (int)(hash32(g_seed * 31 + b * 7919 + h * 131 + s) % c.lq[b]);
                if (s == 0) i = 0; if (s == 1) i = c.lq[b] - 1;
                rows.push_back({b, h, i});
            }
        }
    double num = 0, den = 0, lse_err = 0;
    long empty_bad = 0, empty_rows = 0, lse_inf_bad = 0;
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : num, den, empty_bad, empty_rows, lse_inf_bad) reduction(max : lse_err)
    for (long r = 0; r < (long)rows.size(); ++r) {
        int b = rows[r][0], h = rows[r][1], i = rows[r][2];
        double ro[128], rl;
        ref_row(c, P, q, k, v, cuq, cuk, mask, b, h, i, ro, &rl);
        size_t row = (size_t)(cuq[b] + i) * c.hq + h;
        for (int d = 0; d < D; ++d) {
            double x = to_double(o[row * D + d], c.bf16);
            num += (x - ro[d]) * (x - ro[d]);
            den += ro[d] * ro[d];
        }
        if (rl == -INFINITY) {
            ++empty_rows;
            bool zero = true;
            for (int d = 0; d < D; ++d) zero &= to_double(o[row * D + d], c.bf16) == 0.0;
            if (!zero || !(std::isinf(lse[row]) && lse[row] < 0)) ++empty_bad;
        } else if (std::isinf(lse[row]) || std::isnan(lse[row])) {
            ++lse_inf_bad;
        } else {
            lse_err = std::max(lse_err, std::fabs(lse[row] - rl));
        }
    }
    double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    const double tol = 1e-2;
    bool ok = nan_o == 0 && nan_l == 0 && rel < tol && lse_err < 2e-3 && empty_bad == 0 && lse_inf_bad == 0 && den > 0;
    printf("%-34s items %6d rows %7zu  rel %.2e  lse_err %.1e  empty %ld bad %ld  nan %zu/%zu  %s\n",
           c.name.c_str(), nitems, rows.size(), rel, lse_err, empty_rows, empty_bad + lse_inf_bad, nan_o, nan_l,
           ok ? "PASS" : "FAIL");
    if (log) fprintf(log, "%s rel=%.3e lse_err=%.3e empty=%ld bad=%ld nan=%zu/%zu %s\n", c.name.c_str(), rel, lse_err,
                     empty_rows, empty_bad + lse_inf_bad, nan_o, nan_l, ok ? "PASS" : "FAIL");

    if (c.time_reps > 0) {
        const std::vector<float> ms =
            dev_time_ms(3, c.time_reps, [&] { return elattn_wgmma::launch_variant(&in, 0, g_variant); });
        double med = ms[ms.size() / 2];
        /* FLOPs of the FULL heads' attended pairs (causal: the anchors' 2*S^2*D per head) */
        double flops = 0;
        for (int b = 0; b < B; ++b)
            for (int hk = 0; hk < c.hkv; ++hk) {
                if (c.modes[b * c.hkv + hk] != ELATTN_MODE_FULL) continue;
                double pairs = c.causal ? 0.5 * c.lq[b] * (double)c.lk[b] : (double)c.lq[b] * c.lk[b];
                flops += 4.0 * pairs * D * P.group;
            }
        printf("%-34s TIME median %.3f ms (min %.3f, max %.3f, n=%d)  FULL-head rate %.0f TFLOP/s\n", c.name.c_str(),
               med, ms.front(), ms.back(), c.time_reps, flops / (med * 1e-3) / 1e12);
        if (log) fprintf(log, "%s time_ms median=%.4f min=%.4f max=%.4f tflops_full=%.1f\n", c.name.c_str(), med,
                         ms.front(), ms.back(), flops / (med * 1e-3) / 1e12);
    }
    cudaFree(dq); cudaFree(dk); cudaFree(dv); cudaFree(dout); cudaFree(dlse); cudaFree(dcuq);
    cudaFree(dcuk); cudaFree(dmodes); cudaFree(dmask); cudaFree(ditems);
    return ok;
}

static std::vector<int> modes_of(int B, int hkv, std::initializer_list<int> pattern)
{
    std::vector<int> m, p(pattern);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < hkv; ++h) m.push_back(p[(b * hkv + h) % p.size()]);
    return m;
}

int main(int argc, char **argv)
{
    std::string what = argc > 1 ? argv[1] : "check";
    FILE *log = argc > 2 ? fopen(argv[2], "a") : nullptr;
    std::vector<Case> cases;
    const int F = ELATTN_MODE_FULL, S = ELATTN_MODE_STREAMING, X = ELATTN_MODE_BLOCK_SPARSE;
    if (what == "check") {
        Case a; a.name = "bf16 causal full varlen gqa2";
        a.lq = {300, 128, 1, 513}; a.lk = {300, 700, 257, 513}; a.modes = modes_of(4, 2, {F}); cases.push_back(a);
        Case b = a; b.name = "bf16 noncausal full varlen"; b.causal = 0; cases.push_back(b);
        Case c; c.name = "bf16 causal mixed modes"; c.hq = 8; c.hkv = 4; c.sink = 64; c.local = 200;
        c.lq = {700, 250, 0, 37, 300}; c.lk = {700, 1000, 100, 0, 200};
        c.modes = modes_of(5, 4, {F, S, X, S, X, F, X}); cases.push_back(c);
        Case d = c; d.name = "fp16 causal mixed block16"; d.bf16 = false; d.block = 16; cases.push_back(d);
        Case e = c; e.name = "fp16 noncausal mixed block256"; e.bf16 = false; e.block = 256; e.causal = 0;
        e.local = 300; cases.push_back(e);
        Case f; f.name = "bf16 causal full 2048 gqa4"; f.hq = 8; f.hkv = 2; f.lq = {2048}; f.lk = {2048};
        f.modes = modes_of(1, 2, {F}); cases.push_back(f);
        Case g = c; g.name = "bf16 causal stream sink0 block128"; g.sink = 0; g.local = 1; g.block = 128;
        g.mask_density = 0.2; cases.push_back(g);
    } else {
        for (int s : {8192, 16384, 32768}) {
            Case t; t.name = "bf16 causal full S=" + std::to_string(s); t.hq = 32; t.hkv = 8;
            t.lq = {s}; t.lk = {s}; t.modes = modes_of(1, 8, {F}); t.sample_rows = 6; t.time_reps = 10;
            cases.push_back(t);
        }
        Case n; n.name = "bf16 noncausal full S=8192"; n.hq = 32; n.hkv = 8; n.causal = 0; n.lq = {8192};
        n.lk = {8192}; n.modes = modes_of(1, 8, {F}); n.sample_rows = 6; n.time_reps = 10; cases.push_back(n);
        Case h16 = cases[1]; h16.name = "fp16 causal full S=16384"; h16.bf16 = false; cases.push_back(h16);
        for (int s : {32768, 131072}) {
            Case y; y.name = "bf16 hybrid 2F+6S S=" + std::to_string(s); y.hq = 32; y.hkv = 8; y.sink = 128;
            y.local = 2048; y.lq = {s}; y.lk = {s}; y.modes = {F, F, S, S, S, S, S, S};
            y.sample_rows = s > 40000 ? 2 : 6; y.time_reps = s > 40000 ? 5 : 10; cases.push_back(y);
        }
    }
    int fails = 0, ran = 0;
    /* consumer-loop variants: 0 one tile at a time, 1 overlapped softmax, 2 + ping-pong */
    const char *tag[3] = {"[ser] ", "[ovl] ", "[png] "};
    const char *only = getenv("WGMMA_VARIANTS"); /* e.g. "12"; default all */
    for (int variant = 0; variant < 3; ++variant) {
        if (only && !strchr(only, '0' + variant)) continue;
        g_variant = variant;
        printf("--- variant %d, %d stages ---\n", variant, elattn_wgmma::kStages);
        for (auto c : cases) {
            c.name = std::string(tag[variant]) + c.name;
            fails += !run_case(c, log);
            ++ran;
        }
    }
    printf("%s: %d of %zu cases failed\n", what.c_str(), fails, (size_t)ran);
    if (log) fclose(log);
    return fails ? 1 : 0;
}

/*
 * Standalone correctness + timing harness for kernels/gpu/attn_mma.cuh and
 * xattn_mma.cuh (no dependency on the rest of the tree building; see build.sh).
 *
 * Correctness: random bf16/fp16 data (never zeros), a double-precision CPU
 * reference that uses the spec's own visibility functions, NaN-poisoned
 * outputs, NaN guard zones around every tensor (a read of V's guard would
 * leak NaN into O; a write into O's guard is caught byte for byte).
 * Timing: cudaEvent around each launch, median of N after warm-up; big runs
 * also check a sample of rows against the CPU reference.
 *
 * Usage: test_mma [correct|time|all] [maxS]
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <vector>
#include <algorithm>
#include <string>
#include <random>
#include <array>

#include "attn_mma.cuh"
#include "xattn_mma.cuh"
#include "dev_common.h"

static int g_failures = 0;
static const char *p_str(int packed) { return packed ? "packgqa" : "perhead"; }
static std::mt19937_64 g_rng(12345);

static uint16_t to_bits(float x, int dtype)
{
    uint16_t r;
    if (dtype == ELATTN_DTYPE_BF16) {
        __nv_bfloat16 v = __float2bfloat16(x);
        memcpy(&r, &v, 2);
    } else {
        __half v = __float2half(x);
        memcpy(&r, &v, 2);
    }
    return r;
}
static float from_bits(uint16_t b, int dtype)
{
    if (dtype == ELATTN_DTYPE_BF16) {
        __nv_bfloat16 v;
        memcpy(&v, &b, 2);
        return __bfloat162float(v);
    }
    __half v;
    memcpy(&v, &b, 2);
    return __half2float(v);
}

/* A device tensor with NaN guard zones on both sides. */
struct Guarded {
    static const size_t GUARD = 4096; /* bytes each side */
    unsigned char *base = nullptr;
    size_t bytes = 0;
    void *ptr() const { return base + GUARD; }
    void alloc(size_t n)
    {
        bytes = n;
        CK(cudaMalloc(&base, n + 2 * GUARD));
        CK(cudaMemset(base, 0xFF, n + 2 * GUARD));
    }
    bool guards_intact() const
    {
        std::vector<unsigned char> h(GUARD);
        for (int side = 0; side < 2; ++side) {
            CK(cudaMemcpy(h.data(), base + (side ? GUARD + bytes : 0), GUARD, cudaMemcpyDeviceToHost));
            for (size_t i = 0; i < GUARD; ++i)
                if (h[i] != 0xFF) return false;
        }
        return true;
    }
    void free_() { if (base) CK(cudaFree(base)); base = nullptr; }
};

struct AttnCase {
    std::string name;
    int dtype = ELATTN_DTYPE_BF16;
    int D = 128, Hq = 8, Hkv = 2, causal = 1;
    std::vector<int> lq, lk;
    int sink = 16, local = 64, block = 64;
    std::vector<int> modes;  /* [B][Hkv]; empty: random */
    int pack = 1;
    int variant = 0;         /* 1: D 128 runs elattn_mma::Cfg128_w8 instead of the library's Cfg128 */
    int write_lse = 1;
    int sample_rows = 0;     /* 0: check every row; else this many random (b, h, i) */
    int time_iters = 0;      /* > 0: time it */
    double flops = 0;        /* for TFLOP/s (0: not printed) */
};

static void run_attn(AttnCase &c)
{
    const int B = (int)c.lq.size();
    std::vector<int> cuq, cuk;
    int maxq, maxk;
    dev_seqlens(c.lq, cuq, maxq);
    dev_seqlens(c.lk, cuk, maxk);
    const int tq = cuq[B], tk = cuk[B], D = c.D, Hq = c.Hq, Hkv = c.Hkv, G = Hq / Hkv;
    if (c.modes.empty()) {
        c.modes.resize(B * Hkv);
        for (auto &m : c.modes) m = (int)(g_rng() % 3);
    }
    const int mqb = (maxq + c.block - 1) / c.block, mkb = (maxk + c.block - 1) / c.block;
    std::vector<uint8_t> mask((size_t)B * Hkv * mqb * mkb);
    for (auto &m : mask) m = (g_rng() % 100) < 45;

    /* Random data, kept as the rounded floats the kernel sees. */
    std::normal_distribution<float> nd(0.f, 1.f);
    auto fill = [&](size_t n, std::vector<uint16_t> &bits, std::vector<float> &vals, float sc) {
        bits.resize(n);
        vals.resize(n);
        for (size_t i = 0; i < n; ++i) {
            bits[i] = to_bits(nd(g_rng) * sc, c.dtype);
            vals[i] = from_bits(bits[i], c.dtype);
        }
    };
    std::vector<uint16_t> qb, kb, vb;
    std::vector<float> qf, kf, vf;
    fill((size_t)tq * Hq * D, qb, qf, 1.5f); /* sharper softmax than N(0,1) */
    fill((size_t)tk * Hkv * D, kb, kf, 1.f);
    fill((size_t)tk * Hkv * D, vb, vf, 1.f);

    Guarded dq, dk, dv, dout, dlse;
    dq.alloc(qb.size() * 2);
    dk.alloc(kb.size() * 2);
    dv.alloc(vb.size() * 2);
    dout.alloc((size_t)tq * Hq * D * 2);
    dlse.alloc((size_t)tq * Hq * 4);
    CK(cudaMemcpy(dq.ptr(), qb.data(), qb.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dk.ptr(), kb.data(), kb.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dv.ptr(), vb.data(), vb.size() * 2, cudaMemcpyHostToDevice));

    elattn_attn_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.dtype = (elattn_dtype)c.dtype;
    desc.head_dim = D;
    desc.num_q_heads = Hq;
    desc.num_kv_heads = Hkv;
    desc.batch = B;
    desc.max_seqlen_q = maxq;
    desc.max_seqlen_k = maxk;
    desc.causal = c.causal;
    desc.scale = 1.f / sqrtf((float)D);
    desc.sink = c.sink;
    desc.local = c.local;
    desc.block_size = c.block;
    desc.write_lse = c.write_lse;

    elattn_gpu_kernel_shape shape;
    const char *why = nullptr;
    if (!elattn_mma_attn_supported(&desc, 90, &shape, &why)) {
        printf("FAIL %-34s unsupported: %s\n", c.name.c_str(), why);
        ++g_failures;
        return;
    }
    /* The case's packing choice overrides the library default. */
    {
        int bm = shape.per_kv_head ? shape.tile_m * G : shape.tile_m;
        bool p = c.pack && elattn_mma::pack_gqa_fits(G, bm);
        shape.tile_m = p ? bm / G : bm;
        shape.per_kv_head = p;
    }
    char kname[64];
    snprintf(kname, sizeof kname, "%s%s", p_str(shape.per_kv_head), D == 128 && c.variant ? "_v1w8" : "");

    elattn_attn_call call;
    memset(&call, 0, sizeof call);
    call.desc = &desc;
    call.cu_seqlens_q = cuq.data();
    call.cu_seqlens_k = cuk.data();
    call.modes = c.modes.data();
    size_t cap = elattn_worklist_max_items(&desc, shape.tile_m, shape.per_kv_head);
    std::vector<elattn_work_item> items(cap > 0 ? cap : 1);
    int n_items = elattn_worklist_build(&call, shape.tile_m, shape.tile_n, shape.per_kv_head, items.data());

    int32_t *d_cuq = dev_upload(cuq.data(), 4 * (B + 1), 4 * (B + 1));
    int32_t *d_cuk = dev_upload(cuk.data(), 4 * (B + 1), 4 * (B + 1));
    int32_t *d_modes = dev_upload(c.modes.data(), 4 * B * Hkv, 4 * B * Hkv);
    uint8_t *d_mask = dev_upload(mask.data(), mask.size(), mask.size() + 1);
    const size_t items_bytes = sizeof(elattn_work_item) * items.size();
    elattn_work_item *d_items = dev_upload(items.data(), items_bytes, items_bytes);

    elattn_gpu_attn_inputs in;
    memset(&in, 0, sizeof in);
    elattn_attn_params &P = in.params;
    P.head_dim = D;
    P.num_q_heads = Hq;
    P.num_kv_heads = Hkv;
    P.group = G;
    P.batch = B;
    P.max_seqlen_q = maxq;
    P.max_seqlen_k = maxk;
    P.causal = c.causal;
    P.scale = desc.scale;
    P.scale_log2 = desc.scale * 1.4426950408889634f;
    P.sink = c.sink;
    P.local = c.local;
    P.block_size = c.block;
    P.mask_qblocks = mqb;
    P.mask_kblocks = mkb;
    P.write_lse = c.write_lse;
    P.dtype = c.dtype;
    in.q = dq.ptr();
    in.k = dk.ptr();
    in.v = dv.ptr();
    in.o = dout.ptr();
    in.lse = c.write_lse ? (float *)dlse.ptr() : nullptr;
    in.cu_seqlens_q = d_cuq;
    in.cu_seqlens_k = d_cuk;
    in.modes = d_modes;
    in.block_mask = d_mask;
    in.items = d_items;
    in.num_items = n_items;
    in.tile_m = shape.tile_m;
    in.tile_n = shape.tile_n;

    /* Same schedule for both D 128 configurations (BM 128, BN 64). */
    auto launch = [&]() -> cudaError_t {
        if (D != 128 || !c.variant || in.num_items == 0) return elattn_mma_attn_launch(&in, 0);
        if (c.dtype == ELATTN_DTYPE_BF16) return elattn_mma::launch_cfg<__nv_bfloat16, elattn_mma::Cfg128_w8>(&in, 0);
        return elattn_mma::launch_cfg<__half, elattn_mma::Cfg128_w8>(&in, 0);
    };
    CK(launch());
    CK(cudaDeviceSynchronize());

    std::vector<uint16_t> ob((size_t)tq * Hq * D);
    std::vector<float> lse((size_t)tq * Hq);
    CK(cudaMemcpy(ob.data(), dout.ptr(), ob.size() * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(lse.data(), dlse.ptr(), lse.size() * 4, cudaMemcpyDeviceToHost));

    /* Rows to check. */
    std::vector<std::array<int, 3>> rows;
    if (c.sample_rows == 0) {
        for (int b = 0; b < B; ++b)
            for (int h = 0; h < Hq; ++h)
                for (int i = 0; i < c.lq[b]; ++i) rows.push_back({b, h, i});
    } else {
        for (int s = 0; s < c.sample_rows; ++s) {
            int b = (int)(g_rng() % B);
            if (c.lq[b] == 0) continue;
            int i = s < 4 ? c.lq[b] - 1 - s : (int)(g_rng() % c.lq[b]);
            rows.push_back({b, (int)(g_rng() % Hq), std::max(i, 0)});
        }
    }
    double err2 = 0, ref2 = 0, max_abs = 0, lse_err = 0;
    long bad = 0, empty_rows = 0;
    std::vector<double> sc(maxk > 0 ? maxk : 1), acc(D);
    for (auto &r : rows) {
        const int b = r[0], h = r[1], i = r[2], hk = h / G, mode = c.modes[b * Hkv + hk];
        const int Lq = c.lq[b], Lk = c.lk[b], p = elattn_query_pos(i, Lq, Lk);
        const uint8_t *mrow = mask.data() + elattn_mask_row(b, hk, i / c.block, Hkv, mqb, mkb);
        const float *qr = &qf[((size_t)(cuq[b] + i) * Hq + h) * D];
        double mx = -INFINITY;
        for (int j = 0; j < Lk; ++j) {
            if (!elattn_pair_visible(mode, c.causal, p, j, c.sink, c.local, c.block, mrow)) {
                sc[j] = -INFINITY;
                continue;
            }
            const float *kr = &kf[((size_t)(cuk[b] + j) * Hkv + hk) * D];
            double s = 0;
            for (int d = 0; d < D; ++d) s += (double)qr[d] * kr[d];
            sc[j] = s * desc.scale;
            mx = std::max(mx, sc[j]);
        }
        std::fill(acc.begin(), acc.end(), 0.0);
        double l = 0;
        if (mx != -INFINITY)
            for (int j = 0; j < Lk; ++j) {
                if (sc[j] == -INFINITY) continue;
                double pj = exp(sc[j] - mx);
                l += pj;
                const float *vr = &vf[((size_t)(cuk[b] + j) * Hkv + hk) * D];
                for (int d = 0; d < D; ++d) acc[d] += pj * vr[d];
            }
        const size_t orow = ((size_t)(cuq[b] + i) * Hq + h);
        for (int d = 0; d < D; ++d) {
            double ref = l > 0 ? acc[d] / l : 0.0;
            double got = from_bits(ob[orow * D + d], c.dtype);
            if (std::isnan(got)) { ++bad; continue; }
            err2 += (got - ref) * (got - ref);
            ref2 += ref * ref;
            max_abs = std::max(max_abs, fabs(got - ref));
            if (l == 0 && got != 0.0) ++bad;
        }
        if (c.write_lse) {
            if (l == 0) {
                ++empty_rows;
                if (!(std::isinf(lse[orow]) && lse[orow] < 0)) ++bad;
            } else {
                double ref_lse = mx + log(l);
                if (!std::isfinite(lse[orow])) ++bad;
                else lse_err = std::max(lse_err, fabs(lse[orow] - ref_lse));
            }
        }
    }
    const double rel = ref2 > 0 ? sqrt(err2 / ref2) : sqrt(err2);
    const bool guards = dq.guards_intact() && dk.guards_intact() && dv.guards_intact() && dout.guards_intact() &&
                        dlse.guards_intact();
    /* bf16 output rounding alone is ~3e-3 relative; fp16 ~5e-4. */
    const double tol_rel = c.dtype == ELATTN_DTYPE_BF16 ? 1e-2 : 4e-3;
    const bool ok = bad == 0 && guards && rel < tol_rel && lse_err < 2e-2 && !rows.empty();
    if (!ok) ++g_failures;
    printf("%s %-40s %-26s items %6d rows %8zu rel %.2e maxabs %.2e lse %.2e empty %ld bad %ld guards %s\n",
           ok ? "ok  " : "FAIL", c.name.c_str(), kname, n_items, rows.size(), rel, max_abs, lse_err,
           empty_rows, bad, guards ? "ok" : "BROKEN");

    if (c.time_iters > 0) {
        const std::vector<float> ms = dev_time_ms(2, c.time_iters, launch);
        const float med = ms[ms.size() / 2];
        printf("TIME %-40s %-26s median %9.3f ms  min %9.3f  max %9.3f", c.name.c_str(), kname, med, ms[0],
               ms.back());
        if (c.flops > 0) printf("  %6.1f TFLOP/s", c.flops / (med * 1e-3) / 1e12);
        printf("\n");
    }
    dq.free_();
    dk.free_();
    dv.free_();
    dout.free_();
    dlse.free_();
    CK(cudaFree(d_cuq));
    CK(cudaFree(d_cuk));
    CK(cudaFree(d_modes));
    CK(cudaFree(d_mask));
    CK(cudaFree(d_items));
}

/* ---- XAttention estimation ------------------------------------------------ */
struct XCase {
    std::string name;
    int dtype = ELATTN_DTYPE_BF16, D = 128, Hq = 8, Hkv = 2, causal = 1, S = 16, block = 64;
    std::vector<int> lq, lk;
    std::vector<int> modes;
    bool check = true;
    int time_iters = 0;
    bool sweep = false; /* also time the other tile configurations (bf16, D 128) */
};

static int g_sms = 0; /* multiprocessors of the device */

/* Times one estimation configuration on `in` and compares its table with `want`. */
template <class Cfg>
static void time_xattn_cfg(const XCase &c, const elattn_gpu_xattn_inputs &in, const std::vector<float> &want)
{
    using namespace elattn_mma;
    const int ctas = xattn_resident_ctas<__nv_bfloat16, Cfg>(g_sms);
    const XattnArgs a = xattn_args(&in);
    auto run = [&] {
        cudaError_t e = xattn_clear(&in, 0);
        return e != cudaSuccess ? e : xattn_launch_cfg<__nv_bfloat16, Cfg>(a, ctas, 0);
    };
    CK(run());
    std::vector<float> got(want.size());
    CK(cudaMemcpy(got.data(), in.block_scores, got.size() * 4, cudaMemcpyDeviceToHost));
    double diff = 0;
    for (size_t i = 0; i < got.size(); ++i) diff = std::max(diff, (double)fabs(got[i] - want[i]));
    const std::vector<float> ms = dev_time_ms(1, c.time_iters, run);
    printf("TIME xattn %-34s rows %3d cols %3d stages %d ctas %4d median %9.3f ms  min %9.3f  max|diff| vs default %.2e\n",
           c.name.c_str(), Cfg::ROWS, Cfg::COLS, Cfg::STAGES, ctas, ms[ms.size() / 2], ms[0], diff);
}

static void run_xattn(XCase &c)
{
    const int B = (int)c.lq.size();
    std::vector<int> cuq, cuk;
    int maxq, maxk;
    dev_seqlens(c.lq, cuq, maxq);
    dev_seqlens(c.lk, cuk, maxk);
    const int tq = cuq[B], tk = cuk[B], D = c.D, Hq = c.Hq, Hkv = c.Hkv, G = Hq / Hkv, S = c.S;
    if (c.modes.empty()) {
        c.modes.resize(B * Hkv);
        for (auto &m : c.modes) m = (g_rng() % 3) ? ELATTN_MODE_BLOCK_SPARSE : ELATTN_MODE_FULL;
    }
    const int mqb = (maxq + c.block - 1) / c.block, mkb = (maxk + c.block - 1) / c.block;
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<uint16_t> qb((size_t)tq * Hq * D), kb((size_t)tk * Hkv * D);
    std::vector<float> qf(qb.size()), kf(kb.size());
    for (size_t i = 0; i < qb.size(); ++i) qf[i] = from_bits(qb[i] = to_bits(nd(g_rng), c.dtype), c.dtype);
    for (size_t i = 0; i < kb.size(); ++i) kf[i] = from_bits(kb[i] = to_bits(nd(g_rng), c.dtype), c.dtype);

    elattn_xattn_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.dtype = (elattn_dtype)c.dtype;
    desc.head_dim = D;
    desc.num_q_heads = Hq;
    desc.num_kv_heads = Hkv;
    desc.batch = B;
    desc.max_seqlen_q = maxq;
    desc.max_seqlen_k = maxk;
    desc.causal = c.causal;
    desc.scale = 1.f / sqrtf((float)D);
    desc.stride = S;
    desc.block_size = c.block;
    const char *why = nullptr;
    if (!elattn_mma_xattn_supported(&desc, 90, 227 * 1024, &why)) { /* sm_90: 227 KiB per block */
        printf("FAIL %s unsupported: %s\n", c.name.c_str(), why);
        ++g_failures;
        return;
    }
    Guarded dq, dk, dtab, dscr;
    dq.alloc(qb.size() * 2);
    dk.alloc(kb.size() * 2);
    const size_t ncell = (size_t)B * Hkv * mqb * mkb;
    dtab.alloc(ncell * 4);
    const int ctas = elattn_mma_xattn_ctas(&desc, g_sms);
    dscr.alloc(elattn_mma_xattn_scratch_bytes(&desc, c.sweep ? 8 * g_sms : ctas)); /* a sweep's configs may hold more */
    CK(cudaMemcpy(dq.ptr(), qb.data(), qb.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dk.ptr(), kb.data(), kb.size() * 2, cudaMemcpyHostToDevice));
    int32_t *d_cuq = dev_upload(cuq.data(), 4 * (B + 1), 4 * (B + 1));
    int32_t *d_cuk = dev_upload(cuk.data(), 4 * (B + 1), 4 * (B + 1));
    int32_t *d_modes = dev_upload(c.modes.data(), 4 * B * Hkv, 4 * B * Hkv);
    elattn_gpu_xattn_inputs in;
    memset(&in, 0, sizeof in);
    in.desc = &desc;
    in.q = dq.ptr();
    in.k = dk.ptr();
    in.cu_seqlens_q = d_cuq;
    in.cu_seqlens_k = d_cuk;
    in.modes = d_modes;
    in.max_len_q = maxq;
    in.max_len_k = maxk;
    in.mask_qblocks = mqb;
    in.mask_kblocks = mkb;
    in.block_scores = (float *)dtab.ptr();
    in.scratch = dscr.ptr();
    CK(elattn_mma_xattn_estimate(&in, ctas, 0));
    CK(cudaDeviceSynchronize());
    std::vector<float> tab(ncell);
    CK(cudaMemcpy(tab.data(), dtab.ptr(), ncell * 4, cudaMemcpyDeviceToHost));

    if (c.check) {
        std::vector<double> ref(ncell, 0.0);
        const int R = c.block / S;
        for (int b = 0; b < B; ++b) {
            const int Lq = c.lq[b], Lk = c.lk[b], rows = (Lq + S - 1) / S, cols = (Lk + S - 1) / S;
            for (int hk = 0; hk < Hkv; ++hk) {
                if (c.modes[b * Hkv + hk] != ELATTN_MODE_BLOCK_SPARSE) continue;
                for (int hh = 0; hh < G; ++hh) {
                    const int h = hk * G + hh;
                    std::vector<double> s(cols);
                    for (int i = 0; i < rows; ++i) {
                        double mx = -INFINITY;
                        for (int j = 0; j < cols; ++j) {
                            if (!elattn_xattn_col_visible(c.causal, i, j, S, Lq, Lk)) { s[j] = -INFINITY; continue; }
                            double acc = 0;
                            for (int t = 0; t < S; ++t) {
                                long qp = (long)i * S + S - 1 - t, kp = (long)j * S + t;
                                if (qp >= Lq || kp >= Lk) continue;
                                const float *qr = &qf[((size_t)(cuq[b] + qp) * Hq + h) * D];
                                const float *kr = &kf[((size_t)(cuk[b] + kp) * Hkv + hk) * D];
                                for (int d = 0; d < D; ++d) acc += (double)qr[d] * kr[d];
                            }
                            s[j] = acc * desc.scale / S;
                            mx = std::max(mx, s[j]);
                        }
                        if (mx == -INFINITY) continue;
                        double l = 0;
                        for (int j = 0; j < cols; ++j) if (s[j] != -INFINITY) l += exp(s[j] - mx);
                        for (int j = 0; j < cols; ++j)
                            if (s[j] != -INFINITY)
                                ref[(((size_t)b * Hkv + hk) * mqb + i / R) * mkb + j / R] += exp(s[j] - mx) / l;
                    }
                }
            }
        }
        double max_err = 0, max_ref = 0;
        long bad = 0;
        for (size_t i = 0; i < ncell; ++i) {
            if (std::isnan(tab[i])) ++bad;
            max_err = std::max(max_err, fabs(tab[i] - ref[i]));
            max_ref = std::max(max_ref, ref[i]);
        }
        const bool guards = dtab.guards_intact() && dscr.guards_intact();
        /* Row sums are R per row block; fp32 scores over D*S terms: expect ~1e-5 of the cell. */
        const bool ok = bad == 0 && guards && max_err <= 1e-3 * std::max(1.0, max_ref) && max_ref > 0;
        if (!ok) ++g_failures;
        printf("%s xattn %-34s cells %8zu max_ref %.3f max_err %.2e bad %ld guards %s\n", ok ? "ok  " : "FAIL",
               c.name.c_str(), ncell, max_ref, max_err, bad, guards ? "ok" : "BROKEN");
    }
    if (c.time_iters > 0) {
        const std::vector<float> ms =
            dev_time_ms(1, c.time_iters, [&] { return elattn_mma_xattn_estimate(&in, ctas, 0); });
        printf("TIME xattn %-34s default     ctas %4d median %9.3f ms  min %9.3f\n", c.name.c_str(), ctas,
               ms[ms.size() / 2], ms[0]);
    }
    if (c.sweep && c.D == 128 && c.dtype == ELATTN_DTYPE_BF16) {
        using elattn_mma::XattnCfg;
        time_xattn_cfg<XattnCfg<128, 128, 2, 4>>(c, in, tab);
        time_xattn_cfg<XattnCfg<128, 64, 3, 4>>(c, in, tab);
        time_xattn_cfg<XattnCfg<128, 128, 2, 8>>(c, in, tab);
        time_xattn_cfg<XattnCfg<128, 64, 2, 8>>(c, in, tab);
        time_xattn_cfg<XattnCfg<128, 64, 3, 8>>(c, in, tab);
        time_xattn_cfg<XattnCfg<128, 64, 4, 8>>(c, in, tab);
    }
    dq.free_();
    dk.free_();
    dtab.free_();
    dscr.free_();
    CK(cudaFree(d_cuq));
    CK(cudaFree(d_cuk));
    CK(cudaFree(d_modes));
}

static void correctness()
{
    const int dts[2] = {ELATTN_DTYPE_BF16, ELATTN_DTYPE_F16};
    for (int dt : dts)
        for (int D : {64, 128, 256})
            for (int pack = 0; pack < 2; ++pack)
                for (int causal = 0; causal < 2; ++causal) {
                    AttnCase c;
                    c.dtype = dt;
                    c.D = D;
                    c.causal = causal;
                    c.pack = pack;
                    c.Hq = 8;
                    c.Hkv = 2;
                    c.lq = {113, 300, 1, 0, 257};
                    c.lk = {113, 517, 75, 40, 257}; /* Lq < Lk, an empty element, odd sizes */
                    c.sink = 16 + 8 * causal;
                    c.local = 100;
                    c.block = (D == 128) ? 128 : 64;
                    char nm[128];
                    snprintf(nm, sizeof nm, "%s D%d %s %s", dt == ELATTN_DTYPE_BF16 ? "bf16" : "fp16", D,
                             causal ? "causal" : "noncausal", pack ? "pack" : "nopack");
                    c.name = nm;
                    run_attn(c);
                }
    /* Mode-specific edges: all STREAMING with tiny sink/window; all BLOCK_SPARSE (empty rows);
     * MQA (Hkv 1, G 8 packs 16 positions); Lq > Lk (negative positions); Lk = 0. */
    {
        AttnCase c; c.name = "streaming sink3 local5 G4"; c.Hq = 8; c.Hkv = 2; c.lq = {700}; c.lk = {900};
        c.sink = 3; c.local = 5; c.modes = {1, 1}; run_attn(c);
    }
    {
        AttnCase c; c.name = "block_sparse b16 G4"; c.lq = {333, 64}; c.lk = {333, 200}; c.block = 16;
        c.modes = {2, 2, 2, 2}; run_attn(c);
    }
    {
        AttnCase c; c.name = "MQA G8 mixed"; c.Hq = 8; c.Hkv = 1; c.lq = {500, 129}; c.lk = {500, 600};
        c.modes = {0, 1}; run_attn(c);
    }
    {
        AttnCase c; c.name = "Lq>Lk causal + Lk=0"; c.lq = {200, 50}; c.lk = {70, 0}; c.modes = {0, 2, 1, 0};
        run_attn(c);
    }
    {
        AttnCase c; c.name = "noncausal streaming two-sided"; c.causal = 0; c.lq = {400}; c.lk = {777};
        c.sink = 10; c.local = 90; c.modes = {1, 1}; run_attn(c);
    }

    for (int S : {16, 8}) {
        XCase x;
        x.S = S;
        x.block = S == 16 ? 64 : 128;
        x.lq = {1000, 333, 64};
        x.lk = {1000, 500, 64};
        x.name = "S" + std::to_string(S) + " B" + std::to_string(x.block) + " varlen";
        run_xattn(x);
    }
    {
        XCase x; x.name = "fp16 D64 S4 B256 (atomic path)"; x.dtype = ELATTN_DTYPE_F16; x.D = 64; x.S = 2; x.block = 256;
        x.lq = {700}; x.lk = {700}; x.modes = {2, 2}; run_xattn(x);
    }
    {
        XCase x; x.name = "noncausal D256 S16 B128 Lq<Lk"; x.D = 256; x.causal = 0; x.block = 128;
        x.lq = {300}; x.lk = {1100}; x.modes = {2, 2}; run_xattn(x);
    }
}

static void xattn_timing(int max_s);

static void timing(int max_s)
{
    for (int S : {8192, 32768, 131072}) {
        if (S > max_s) break;
        const int iters = S >= 131072 ? 3 : 10;
        const double dense_flops = 2.0 * S * (double)S * 128 * 32; /* causal: half of 4 S^2 D Hq */
        for (int pack = 1; pack >= 0; --pack) {
            AttnCase c;
            c.Hq = 32; c.Hkv = 8; c.D = 128; c.causal = 1; c.lq = {S}; c.lk = {S};
            c.pack = pack; c.sample_rows = 24; c.time_iters = iters; c.write_lse = 1;
            c.modes = std::vector<int>(8, 0);
            c.flops = dense_flops;
            c.name = "dense S" + std::to_string(S);
            run_attn(c);
            AttnCase h = c;
            h.modes = {0, 0, 1, 1, 1, 1, 1, 1};
            h.sink = 128; h.local = 2048;
            h.flops = 0;
            h.name = "hybrid2F6S S" + std::to_string(S);
            run_attn(h);
            if (S > 32768) break; /* 128K: packed only */
            if (pack) { /* v1 (8 warps x 16 rows, Q in registers) for comparison */
                AttnCase v = c; v.variant = 1; v.name += " v1"; run_attn(v);
                AttnCase vh = h; vh.variant = 1; vh.name += " v1"; run_attn(vh);
            }
        }
    }
    xattn_timing(max_s);
}

/* The estimation at the paper's shape, every BLOCK_SPARSE head and two of eight. */
static void xattn_timing(int max_s)
{
    for (int S : {32768, 131072}) {
        if (S > max_s) break;
        XCase x; x.name = "xattn S16 B128 " + std::to_string(S / 1024) + "K 8 of 8 BS"; x.Hq = 32; x.Hkv = 8;
        x.lq = {S}; x.lk = {S}; x.modes = std::vector<int>(8, 2); x.block = 128; x.check = false;
        x.time_iters = S > 32768 ? 3 : 5; x.sweep = true;
        run_xattn(x);
        XCase y = x; y.name = "xattn S16 B128 " + std::to_string(S / 1024) + "K 2 of 8 BS"; y.sweep = false;
        y.modes = {0, 0, 2, 0, 0, 2, 0, 0};
        run_xattn(y);
    }
}

int main(int argc, char **argv)
{
    std::string what = argc > 1 ? argv[1] : "all";
    int max_s = argc > 2 ? atoi(argv[2]) : 131072;
    int dev;
    cudaDeviceProp prop;
    CK(cudaGetDevice(&dev));
    CK(cudaGetDeviceProperties(&prop, dev));
    printf("device %s sm_%d%d SMs %d\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
    g_sms = prop.multiProcessorCount;
    if (what == "correct" || what == "all") correctness();
    if (what == "time" || what == "all") timing(max_s);
    if (what == "xtime") xattn_timing(max_s);
    printf("%s: %d failure(s)\n", g_failures ? "FAILED" : "PASSED", g_failures);
    return g_failures ? 1 : 0;
}

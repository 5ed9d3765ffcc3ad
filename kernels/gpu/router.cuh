/*
 * The Attention Router on the GPU: one block per (element, KV head) pools the
 * key states (elattn_router_pool_* from the spec: the first and last P tokens,
 * each counted once), runs the task MLP and the router MLP in fp32, and writes
 * the logits (optional) and the decision as a mode. Only the [batch][Hkv]
 * modes go back to the host.
 *
 * Each Linear layer gives one output per wave at a time: the lanes read a
 * weight row (contiguous in the PyTorch [out][in] layout) and reduce.
 * The router family "portable" of launch.h. Include vendor/vendor.h, launch.h,
 * dispatch.cuh and common.cuh first.
 */
#ifndef ELATTN_GPU_ROUTER_CUH
#define ELATTN_GPU_ROUTER_CUH

namespace ELATTN_GPU_NS {

enum { ROUTER_THREADS = 256 };

static __device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }

/* out[o] = act(W[o] . x + bias[o]) for o < n_out; x in shared memory. */
template <int WAVE>
static __device__ void router_linear(const float *W, const float *bias, const float *x, int n_in, int n_out,
                                     bool apply_silu, float *out)
{
    const int lane = threadIdx.x % WAVE, wave = threadIdx.x / WAVE;
    for (int o = wave; o < n_out; o += ROUTER_THREADS / WAVE) {
        const float *w = W + (size_t)o * n_in;
        float acc = 0.0f;
        for (int i = lane; i < n_in; i += WAVE) acc += w[i] * x[i];
        acc = group_sum<WAVE>(acc) + bias[o];
        if (lane == 0) out[o] = apply_silu ? silu(acc) : acc;
    }
    __syncthreads();
}

template <int WAVE, int DT>
__global__ void __launch_bounds__(ROUTER_THREADS)
    router_kernel(router_inputs in, int D, int hidden, int num_kv_heads, int batch, int retrieval_mode,
                  int sparse_mode)
{
    if constexpr (!wave_matches<WAVE>()) {
        return;
    } else {
        ELATTN_DYNAMIC_SHARED(float, router_smem);
        const int width = D > hidden ? D : hidden;
        float *a = router_smem, *c = router_smem + width;
        for (long flat = blockIdx.x; flat < (long)batch * num_kv_heads; flat += gridDim.x) {
            const int b = (int)(flat / num_kv_heads), hk = (int)(flat % num_kv_heads);
            const int start = in.cu_seqlens[b], len = in.cu_seqlens[b + 1] - start;
            const int n = elattn_router_pool_count(len);
            __syncthreads(); /* the previous head's readers are done */
            for (int x = threadIdx.x; x < D; x += ROUTER_THREADS) {
                float sum = 0.0f;
                for (int t = 0; t < n; ++t) {
                    const int tok = elattn_router_pool_token(t, len);
                    sum += storage<DT>::load1(in.keys, ((size_t)(start + tok) * num_kv_heads + hk) * D + x);
                }
                a[x] = n > 0 ? sum / (float)n : 0.0f;
            }
            __syncthreads();
            router_linear<WAVE>(in.task_w1, in.task_b1, a, D, hidden, true, c);  /* task hidden */
            router_linear<WAVE>(in.task_w2, in.task_b2, c, hidden, D, false, a); /* task feature t */
            router_linear<WAVE>(in.head_w1, in.head_b1, a, D, hidden, true, c);
            router_linear<WAVE>(in.head_w2, in.head_b2, c, hidden, D, true, a);
            router_linear<WAVE>(in.head_w3, in.head_b3, a, D, 2, false, c);      /* logits */
            if (threadIdx.x == 0) {
                if (in.logits) {
                    in.logits[flat * 2] = c[0];
                    in.logits[flat * 2 + 1] = c[1];
                }
                in.modes[flat] = c[1] > c[0] ? retrieval_mode : sparse_mode;
            }
        }
    }
}

/* Shared memory a router block needs: two vectors of the wider layer. */
static size_t router_smem_bytes(const elattn_router_desc *desc)
{
    const int width = desc->head_dim > desc->hidden ? desc->head_dim : desc->hidden;
    return 2 * (size_t)width * sizeof(float);
}

bool portable_router_supported(const elattn_router_desc *desc, const gpu_caps &caps, router_choice *choice,
                               const char **why)
{
    if (!wave_supported(caps.wave)) {
        *why = "no kernel for this wave size in this build";
        return false;
    }
    if (router_smem_bytes(desc) > caps.smem_per_block) {
        *why = "desc.hidden needs more shared memory than the device has";
        return false;
    }
    snprintf(choice->variant.text, sizeof choice->variant.text, "w%d", caps.wave);
    return true;
}

template <int WAVE>
static cudaError_t router_launch_wave(const router_inputs &in, cudaStream_t stream)
{
    const elattn_router_desc &d = *in.desc;
    const long heads = (long)d.batch * d.num_kv_heads;
    const int grid = (int)(heads < (1L << 20) ? heads : (1L << 20));
    const size_t smem = router_smem_bytes(&d);
    const int r = (int)d.retrieval_mode, s = (int)d.sparse_mode;
    return dispatch<ELATTN_DTYPE_F32, ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(d.key_dtype, [&](auto dt) {
        constexpr int DT = decltype(dt)::value;
        cudaError_t e = cudaFuncSetAttribute((const void *)router_kernel<WAVE, DT>,
                                             cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess) return e;
        ELATTN_LAUNCH(grid, ROUTER_THREADS, smem, stream, router_kernel<WAVE, DT>)(in, d.head_dim, d.hidden, d.num_kv_heads,
                                                                       d.batch, r, s);
        return cudaGetLastError();
    });
}

cudaError_t portable_router_launch(const router_inputs &in, const gpu_caps &caps, cudaStream_t stream)
{
    return dispatch_wave(caps.wave, [&](auto w) { return router_launch_wave<decltype(w)::value>(in, stream); });
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_ROUTER_CUH */

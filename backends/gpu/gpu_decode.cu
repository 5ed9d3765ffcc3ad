/*
 * Decode over the per-head KV cache on the GPU backends (kernels/gpu/decode.cuh). Correctness
 * first: the per-call metadata and the fp32 split-KV partials live in memory allocated for the
 * call, and the call waits for its stream before freeing it (synchronous, not graph-capturable;
 * a plan workspace will remove both).
 */
#include "gpu_internal.h"

namespace ELATTN_GPU_NS {

elattn_status gpu_decode_run(void *dev, void *stream, const elattn_decode_call *call)
{
    USE(dev);
    const int ns = call->num_seqs, H = call->num_kv_heads;
    const size_t meta_n = (size_t)ns + 1 + ns + ns + (size_t)ns * H;
    const size_t items = (size_t)call->total_new * call->num_q_heads * call->splits;
    const size_t meta_bytes = (sizeof(int32_t) * meta_n + 255) / 256 * 256;
    const size_t bytes = meta_bytes + sizeof(float) * items * ((size_t)call->head_dim + 1);
    int32_t *meta = static_cast<int32_t *>(malloc(sizeof(int32_t) * meta_n));
    if (!meta) return elattn_fail(ELATTN_ERROR_OUT_OF_MEMORY, "decode: host allocation failed");
    memcpy(meta, call->cu_new, sizeof(int32_t) * (ns + 1));
    memcpy(meta + ns + 1, call->lengths, sizeof(int32_t) * ns);
    memcpy(meta + 2 * ns + 1, call->seq_ids, sizeof(int32_t) * ns);
    memcpy(meta + 3 * ns + 1, call->modes, sizeof(int32_t) * (size_t)ns * H);
    void *scratch = nullptr;
    cudaError_t e = cudaMalloc(&scratch, bytes);
    if (e != cudaSuccess) {
        free(meta);
        return runtime_failure(e, "Malloc (decode scratch)");
    }
    const cudaStream_t s = as_stream(stream);
    e = cudaMemcpyAsync(scratch, meta, sizeof(int32_t) * meta_n, cudaMemcpyHostToDevice, s);
    decode_inputs in;
    in.dtype = (int)call->dtype;
    in.head_dim = call->head_dim;
    in.num_q_heads = call->num_q_heads;
    in.num_kv_heads = H;
    in.scale_log2 = call->scale * ELATTN_LOG2E;
    in.sink = call->sink;
    in.local = call->local;
    in.ring = call->ring;
    in.page_shift = call->page_shift;
    in.pages_per_head = call->pages_per_head;
    in.splits = call->splits;
    in.num_seqs = ns;
    in.total_new = call->total_new;
    in.meta = static_cast<const int32_t *>(scratch);
    in.page_table = static_cast<const int32_t *>(call->page_table);
    in.q = call->q;
    in.k_pool = call->k_pool;
    in.v_pool = call->v_pool;
    in.o = call->o;
    in.lse = static_cast<float *>(call->lse);
    in.part_o = reinterpret_cast<float *>(static_cast<char *>(scratch) + meta_bytes);
    in.part_lse = in.part_o + items * (size_t)call->head_dim;
    if (e == cudaSuccess) e = decode_launch(in, s);
    const cudaError_t sync = cudaStreamSynchronize(s); /* the scratch is freed below */
    cudaFree(scratch);
    free(meta);
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (decode)");
    if (sync != cudaSuccess) return runtime_failure(sync, "StreamSynchronize (decode)");
    return ELATTN_SUCCESS;
}

} /* namespace ELATTN_GPU_NS */

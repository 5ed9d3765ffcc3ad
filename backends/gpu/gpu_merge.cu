/*
 * elattn_merge_states on the GPU backends: one launch of the merge kernel
 * (kernels/gpu/merge.cuh), asynchronous, nothing staged: graph-capturable.
 */
#include "gpu_internal.h"

namespace ELATTN_GPU_NS {

elattn_status gpu_merge_run(void *dev, void *stream, const elattn_merge_call *call)
{
    USE(dev);
    merge_inputs in;
    in.dtype = (int)call->dtype;
    in.head_dim = call->head_dim;
    in.total = (size_t)call->num_tokens * (size_t)call->num_heads * (size_t)call->head_dim; /* checked by the core */
    in.o1 = call->o1;
    in.o2 = call->o2;
    in.lse1 = static_cast<const float *>(call->lse1);
    in.lse2 = static_cast<const float *>(call->lse2);
    in.o = call->o;
    in.lse = static_cast<float *>(call->lse);
    const cudaError_t e = merge_launch(in, as_stream(stream));
    if (e != cudaSuccess) return runtime_failure(e, "LaunchKernel (merge)");
    return ELATTN_SUCCESS;
}

} /* namespace ELATTN_GPU_NS */

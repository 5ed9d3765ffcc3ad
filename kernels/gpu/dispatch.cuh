/*
 * The one way run-time values become template instances in the GPU kernels.
 *
 *   dispatch<ELATTN_DTYPE_F16, ELATTN_DTYPE_BF16>(dtype, [&](auto dt) {
 *       return dispatch<64, 128, 256>(dim, [&](auto d) {
 *           return launch<decltype(dt)::value, decltype(d)::value>(...);
 *       });
 *   });
 *
 * The instance list is written once, at the call; a value outside it gives
 * cudaErrorInvalidValue (a family's `supported` refuses such calls first, so
 * reaching it is a bug that the backend reports as a launch failure).
 * Include vendor/vendor.h first.
 */
#ifndef ELATTN_GPU_DISPATCH_CUH
#define ELATTN_GPU_DISPATCH_CUH

namespace ELATTN_GPU_NS {

template <int V> struct int_constant {
    static constexpr int value = V;
};

/* f(int_constant<V>{}) for the V of VS equal to `value`. */
template <int... VS, class F>
inline cudaError_t dispatch(int value, F &&f)
{
    cudaError_t result = cudaErrorInvalidValue;
    (void)((value == VS ? (result = f(int_constant<VS>{}), true) : false) || ...);
    return result;
}

/* Whether `value` is one of VS (for a family's `supported`). */
template <int... VS>
inline bool one_of(int value)
{
    return ((value == VS) || ...);
}

/* The smallest of VS (ascending) that is >= value, or 0: the instance a
 * kernel padded to a larger head dim runs in. */
template <int... VS>
inline int smallest_at_least(int value)
{
    int found = 0;
    (void)((value <= VS ? (found = VS, true) : false) || ...);
    return found;
}

/* Whether this build has kernels for a wave size: 32 everywhere, 64 in AMD builds. */
inline bool wave_supported(int wave)
{
#if defined(ELATTN_GPU_AMD)
    return wave == 32 || wave == 64;
#else
    return wave == 32;
#endif
}

/* f(int_constant<W>{}) for the device's wave size W among those of wave_supported. */
template <class F>
inline cudaError_t dispatch_wave(int wave, F &&f)
{
#if defined(ELATTN_GPU_AMD)
    return dispatch<32, 64>(wave, f);
#else
    return dispatch<32>(wave, f);
#endif
}

} /* namespace ELATTN_GPU_NS */

#endif /* ELATTN_GPU_DISPATCH_CUH */

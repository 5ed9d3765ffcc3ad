/* Stand-in for the generated header, for the standalone harness only. */
#ifndef ELATTN_CONFIG_H
#define ELATTN_CONFIG_H
#define ELATTN_VERSION_MAJOR 0
#define ELATTN_VERSION_MINOR 1
#define ELATTN_VERSION_PATCH 0
#define ELATTN_VERSION_STRING "0.1.0"
#define ELATTN_HAVE_CUDA 1
#define ELATTN_HAVE_HIP 0
#define ELATTN_HAVE_OPENCL 0
#define ELATTN_HIP_PLATFORM "none"
#endif

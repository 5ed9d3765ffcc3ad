/*
 * Broken backend modules for the module-loading test (modules_check.py):
 * -DFAKE_ABI: an entry point that answers with another backend ABI;
 * -DFAKE_NO_ENTRY: a shared object without the entry point.
 */
#include "backend.h"

#if defined(FAKE_ABI)
static const elattn_backend_ops other_abi = {.abi = ELATTN_BACKEND_ABI + 1000, .name = "cuda"};

__attribute__((visibility("default"))) const elattn_backend_ops *elattn_backend_module(int core_abi,
                                                                                      const elattn_core_services *core)
{
    (void)core_abi, (void)core;
    return &other_abi;
}
#elif defined(FAKE_NO_ENTRY)
__attribute__((visibility("default"))) int elattn_not_the_entry_point(void) { return 0; }
#endif

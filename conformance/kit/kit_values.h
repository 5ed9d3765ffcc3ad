/*
 * Storage values on the host, fast: elattn-bench makes 10^8 and more input
 * values per shape, and elattn_convert, exact through doubles one value at a
 * time, takes about 10 ns a value. These round to nearest even like it;
 * kit_check_conversions proves they agree before a tool relies on them.
 */
#ifndef ELATTN_KIT_VALUES_H
#define ELATTN_KIT_VALUES_H

#include <stddef.h>

#include "elattn/elattn.h"

void kit_store_value(elattn_dtype dtype, void *base, size_t i, float v);
float kit_load_value(elattn_dtype dtype, const void *base, size_t i);

/* Compares both directions with elattn_convert: every fp16 and bf16 bit
 * pattern widened, and 64Ki float bit patterns (ties and values near fp16's
 * subnormals among them) narrowed. Returns 0 when they agree; otherwise
 * prints the first difference to stderr, after "tool: ", and returns -1. */
int kit_check_conversions(const char *tool);

#endif /* ELATTN_KIT_VALUES_H */

/*
 * The tools' device listing (elattn-run --list, elattn-bench --list): each
 * backend with its module and, when it did not load, why; then every device.
 */
#ifndef ELATTN_KIT_DEVICES_H
#define ELATTN_KIT_DEVICES_H

#include <stdio.h>

void kit_print_devices(FILE *f);

#endif

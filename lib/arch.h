/* arch.h: the architectures chord runs, each a function that builds a
 * model's plan (plan.h). */
#ifndef CHORD_ARCH_H
#define CHORD_ARCH_H

#include <stddef.h>

/* Is the general.architecture value name (len bytes) one chord runs? */
int arch_supported(const char *name, size_t len);
/* "llama, gemma3, ..." for error messages. */
const char *arch_names(void);

#endif

/* err.c: filling struct cerr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int
cerr_set(struct cerr *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int
cerr_prefix(struct cerr *e, const char *fmt, ...)
{
	char pre[512], old[sizeof e->msg];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	snprintf(e->msg, sizeof e->msg, "%s: %s", pre, old);
	return -1;
}

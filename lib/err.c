/* err.c: filling struct cerr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "unicode.h"

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
	size_t n, m;
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	n = strlen(pre);
	if (n > sizeof e->msg - 3)
		n = sizeof e->msg - 3;
	memcpy(e->msg, pre, n);
	memcpy(e->msg + n, ": ", 2);
	n += 2;
	m = strnlen(old, sizeof old - 1);
	if (m > sizeof e->msg - 1 - n)
		m = sizeof e->msg - 1 - n;
	memcpy(e->msg + n, old, m);
	e->msg[n + m] = '\0';
	return -1;
}

/* The escape for the character of k bytes at p (k = 0: a byte that is not
 * valid UTF-8), or NULL to copy it as is. */
static const char *
vis_escape(const unsigned char *p, int k, char *buf, size_t n)
{
	if (k == 1 && p[0] == '\n')
		return "\\n";
	if (k == 1 && p[0] == '\t')
		return "\\t";
	if (k == 1 && p[0] == '\\')
		return "\\\\";
	if (k == 0 || (k == 1 && (p[0] < 0x20 || p[0] == 0x7f)) ||
	    (k == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
		snprintf(buf, n, "\\x%02x", p[0]);
		return buf;
	}
	return NULL;
}

size_t
cvis(char *dst, size_t cap, const char *s, size_t n)
{
	size_t i = 0, o = 0;
	char buf[8];

	while (i < n) {
		int k = utf8_valid(s + i, n - i);
		const char *esc = vis_escape((const unsigned char *)s + i, k,
		    buf, sizeof buf);
		size_t len = esc ? strlen(esc) : (size_t)k;

		if (esc)
			k = 1;  /* a C1 control goes byte by byte: \xc2\x9b */
		if (len >= cap - o)
			break;
		memcpy(dst + o, esc ? esc : s + i, len);
		o += len;
		i += (size_t)k;
	}
	dst[o] = '\0';
	return i;
}

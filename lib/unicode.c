/* unicode.c: UTF-8 decoding and codepoint categories. */
#include "unicode.h"

unsigned
ucat(uint32_t cp)
{
	unsigned lo = 0, hi = ucat_n_ranges;

	if (cp > 0x10ffff)
		return 0;
	while (hi - lo > 1) {   /* last range whose first <= cp */
		unsigned mid = (lo + hi) / 2;

		if (ucat_ranges[mid].first <= cp)
			lo = mid;
		else
			hi = mid;
	}
	return ucat_ranges[lo].flags;
}

uint32_t
ucp_tolower(uint32_t cp)
{
	unsigned lo = 0, hi = ucp_lower_n;

	while (lo < hi) {       /* first entry whose cp >= cp */
		unsigned mid = (lo + hi) / 2;

		if (ucp_lower[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ucp_lower_n && ucp_lower[lo].cp == cp ? ucp_lower[lo].to :
	    cp;
}

uint32_t
ucp_nfd_first(uint32_t cp)
{
	unsigned lo = 0, hi = ucp_nfd_n;

	while (lo < hi) {       /* first run whose last >= cp */
		unsigned mid = (lo + hi) / 2;

		if (ucp_nfd[mid].last < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ucp_nfd_n && ucp_nfd[lo].first <= cp ? ucp_nfd[lo].to : cp;
}

int
utf8_valid(const char *str, size_t n)
{
	const unsigned char *p = (const unsigned char *)str;
	uint32_t cp;
	int len;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if ((size_t)len > n)
		return 0;
	for (int i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

int
utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	int len = utf8_valid(s, n);

	if (len == 0) {
		*cp = 0xfffd;
		return 1;
	}
	if (len == 1)
		*cp = p[0];
	else if (len == 2)
		*cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	else if (len == 3)
		*cp = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 |
		    (p[2] & 0x3f);
	else
		*cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		    (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	return len;
}

int
utf8_encode(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

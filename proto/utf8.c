/* proto/utf8.c - UTF-8, WTF-8 and UTF-16 code units (see utf8.h). */
#include <string.h>

#include "error.h"
#include "utf8.h"

size_t
cp_utf8_put(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xC0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xE0 | c >> 12);
		o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		o[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | c >> 18);
	o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	o[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

int
cp_utf8_add(struct cp_buf *b, uint32_t c)
{
	char s[4];

	return cp_buf_add(b, s, cp_utf8_put(s, c));
}

/*
 * The lead byte's sequence length (0: not a lead byte), its bits, and the
 * range of the second byte, which is what excludes overlong forms (E0,
 * F0), surrogates (ED) and code points past U+10FFFF (F4).
 */
static int
lead(unsigned char c, uint32_t *bits, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		*bits = c & 0x1F;
		return 2;
	}
	if (c >= 0xE0 && c <= 0xEF) {
		*bits = c & 0x0F;
		if (c == 0xE0)
			*lo = 0xA0;
		else if (c == 0xED)
			*hi = 0x9F;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		*bits = c & 0x07;
		if (c == 0xF0)
			*lo = 0x90;
		else if (c == 0xF4)
			*hi = 0x8F;
		return 4;
	}
	return 0;
}

size_t
cp_utf8_get(const unsigned char *p, size_t left, uint32_t *cp)
{
	unsigned char lo, hi;
	uint32_t v;
	size_t n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	*cp = CP_UTF8_BAD;
	if ((n = (size_t)lead(p[0], &v, &lo, &hi)) == 0)
		return 1;
	for (i = 1; i < n; i++) {
		if (i >= left || p[i] < lo || p[i] > hi)
			return i;
		v = v << 6 | (p[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = v;
	return n;
}

size_t
cp_utf8_get_lossy(const unsigned char *p, size_t left, uint32_t *cp)
{
	size_t n = cp_utf8_get(p, left, cp);

	if (*cp == CP_UTF8_BAD)
		*cp = CP_UTF8_REPLACEMENT;
	return n;
}

size_t
cp_wtf8_get(const unsigned char *p, size_t left, uint32_t *cp)
{
	if (left >= 3 && p[0] == 0xED && p[1] >= 0xA0 && p[1] <= 0xBF &&
	    p[2] >= 0x80 && p[2] <= 0xBF) {
		*cp = 0xD000 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
		return 3;
	}
	return cp_utf8_get_lossy(p, left, cp);
}

int
cp_utf16_units(uint32_t c, uint16_t u[2])
{
	if (c < 0x10000) {
		u[0] = (uint16_t)c;
		return 1;
	}
	c -= 0x10000;
	u[0] = (uint16_t)(0xD800 + (c >> 10));
	u[1] = (uint16_t)(0xDC00 + (c & 0x3FF));
	return 2;
}

bool
cp_utf16le_is_high(const unsigned char *p)
{
	return (p[1] & 0xFC) == 0xD8;
}

int
cp_utf16le_to_wtf8(const unsigned char *p, size_t n, struct cp_buf *out)
{
	size_t i;
	uint32_t u, v;
	char *o;
	int r;

	/* 3 bytes of text at most per unit (a pair: 4 per 2). */
	if ((r = cp_buf_grow(out, n / 2 * 3 + 1)) != 0)
		return r;
	o = out->data + out->len;
	for (i = 0; i + 1 < n; i += 2) {
		u = p[i] | (uint32_t)p[i + 1] << 8;
		if (u >= 0xD800 && u <= 0xDBFF && i + 3 < n) {
			v = p[i + 2] | (uint32_t)p[i + 3] << 8;
			if (v >= 0xDC00 && v <= 0xDFFF) {
				u = 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00);
				i += 2;
			}
		}
		o += cp_utf8_put(o, u);
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

int
cp_wtf8_to_utf16le(const char *s, size_t len, struct cp_buf *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint16_t u[2];
	uint32_t c;
	char *o;
	int i, n, r;

	/* 2 bytes out per byte in at most (4 per 4-byte sequence). */
	if ((r = cp_buf_grow(out, 2 * len + 1)) != 0)
		return r;
	o = out->data + out->len;
	while (p < end) {
		p += cp_wtf8_get(p, (size_t)(end - p), &c);
		n = cp_utf16_units(c, u);
		for (i = 0; i < n; i++) {
			*o++ = (char)(u[i] & 0xFF);
			*o++ = (char)(u[i] >> 8);
		}
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

void
cp_utf8_decoder_init(struct cp_utf8_decoder *d)
{
	d->cp = 0;
	d->need = d->seen = 0;
	d->lo = 0x80;
	d->hi = 0xBF;
}

int
cp_utf8_decoder_write(struct cp_utf8_decoder *d, const unsigned char *p,
    size_t n, struct cp_buf *out)
{
	const unsigned char *end = p + n;
	char *o;
	unsigned char b;
	int r;

	/* At most 3 bytes out per byte in (U+FFFD for one byte). */
	if ((r = cp_buf_grow(out, 3 * n + 4)) != 0)
		return r;
	o = out->data + out->len;
	while (p < end) {
		if (d->need == 0) {
			/* The common case: find a run of ASCII, copy it at once. */
			const unsigned char *q = p;
			uint64_t w;
			int len;

			while (end - q >= 8) {
				memcpy(&w, q, 8);
				if (w & 0x8080808080808080ULL)
					break;
				q += 8;
			}
			while (q < end && *q < 0x80)
				q++;
			memcpy(o, p, (size_t)(q - p));
			o += q - p;
			p = q;
			if (p == end)
				break;
			b = *p++;
			if ((len = lead(b, &d->cp, &d->lo, &d->hi)) == 0)
				o += cp_utf8_put(o, CP_UTF8_REPLACEMENT);
			else
				d->need = (unsigned char)(len - 1);
			continue;
		}
		b = *p;
		if (b < d->lo || b > d->hi) {
			/* Not a continuation: U+FFFD, and read b afresh. */
			cp_utf8_decoder_init(d);
			o += cp_utf8_put(o, CP_UTF8_REPLACEMENT);
			continue;
		}
		p++;
		d->lo = 0x80;
		d->hi = 0xBF;
		d->cp = (d->cp << 6) | (b & 0x3F);
		if (++d->seen == d->need) {
			o += cp_utf8_put(o, d->cp);
			cp_utf8_decoder_init(d);
		}
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

int
cp_utf8_decoder_end(struct cp_utf8_decoder *d, struct cp_buf *out)
{
	bool held = d->need > 0;

	cp_utf8_decoder_init(d);
	return held ? cp_utf8_add(out, CP_UTF8_REPLACEMENT) : 0;
}

int
cp_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cp_hex4(const char *p, unsigned *v)
{
	unsigned x = 0;
	int i, h;

	for (i = 0; i < 4; i++) {
		if ((h = cp_hex_digit((unsigned char)p[i])) < 0)
			return -1;
		x = x << 4 | (unsigned)h;
	}
	*v = x;
	return 0;
}

void
cp_utf16_escape(char out[6], unsigned unit)
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'u';
	out[2] = hex[(unit >> 12) & 15];
	out[3] = hex[(unit >> 8) & 15];
	out[4] = hex[(unit >> 4) & 15];
	out[5] = hex[unit & 15];
}

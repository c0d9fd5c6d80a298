/* proto/message.c - JSON encode/decode compatible with JSON.stringify/parse. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "message.h"

#define DECODE_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

int
cp_buf_grow(struct cp_buf *b, size_t extra)
{
	size_t ncap;
	char *p;

	if (b->cap - b->len > extra)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len <= extra) {
		if (ncap > SIZE_MAX / 2)
			return UV_ENOMEM;
		ncap *= 2;
	}
	if ((p = realloc(b->data, ncap)) == NULL)
		return UV_ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
cp_buf_add(struct cp_buf *b, const void *data, size_t len)
{
	int r;

	if ((r = cp_buf_grow(b, len)) != 0)
		return r;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void
cp_buf_release(struct cp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t left)
{
	unsigned c = p[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

/*
 * Bytes one U+FFFD replaces at p, where utf8_seq found no valid sequence:
 * the longest start of a valid sequence, at least 1 ("maximal subpart").
 * Node's StringDecoder counts this way: E2 82 41 reads as U+FFFD "A".
 */
static size_t
utf8_bad_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 1;
	/* The second byte's range excludes overlongs, surrogates, > U+10FFFF. */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	for (i = 1; i < n && i < left; i++) {
		if (p[i] < lo || p[i] > hi)
			break;
		lo = 0x80;
		hi = 0xBF;
	}
	return i;
}

static int
hex4(const char *p, unsigned *v)
{
	unsigned x = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];
		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

/*
 * Rewrites a line the way Node would see it: invalid UTF-8 -> U+FFFD,
 * unpaired surrogate escapes -> \ufffd.  Returns 1 if anything changed.
 */
static int
sanitize(const char *line, size_t len, struct cp_buf *out)
{
	static const char fffd[] = "\xEF\xBF\xBD";
	const unsigned char *p = (const unsigned char *)line;
	size_t i = 0, n;
	unsigned v, w;
	int changed = 0, instr = 0;

	while (i < len) {
		if (p[i] >= 0x80) {
			if ((n = utf8_seq(p + i, len - i)) == 0) {
				if (cp_buf_add(out, fffd, 3) != 0)
					return -1;
				changed = 1;
				i += utf8_bad_len(p + i, len - i);
				continue;
			}
			if (cp_buf_add(out, p + i, n) != 0)
				return -1;
			i += n;
			continue;
		}
		if (p[i] == '"') {
			instr = !instr;
		} else if (instr && p[i] == '\\' && i + 1 < len) {
			if (p[i + 1] == 'u' && i + 6 <= len &&
			    hex4(line + i + 2, &v) == 0 && v >= 0xD800 && v <= 0xDFFF) {
				int paired = v <= 0xDBFF && i + 12 <= len &&
				    p[i + 6] == '\\' && p[i + 7] == 'u' &&
				    hex4(line + i + 8, &w) == 0 &&
				    w >= 0xDC00 && w <= 0xDFFF;
				if (paired) {
					if (cp_buf_add(out, p + i, 12) != 0)
						return -1;
					i += 12;
				} else {
					if (cp_buf_add(out, "\\ufffd", 6) != 0)
						return -1;
					changed = 1;
					i += 6;
				}
				continue;
			}
			/* Copy the escape pair so an escaped quote is skipped. */
			if (cp_buf_add(out, p + i, 2) != 0)
				return -1;
			i += 2;
			continue;
		}
		if (cp_buf_add(out, p + i, 1) != 0)
			return -1;
		i++;
	}
	return changed;
}

/*
 * Whether the digits of an integer token (after any '-') overflow
 * json_int_t, which is what jansson refuses.
 */
static bool
int_overflows(const char *digits, size_t n, bool negative)
{
	if (n != 19)
		return n > 19;
	return memcmp(digits, negative ? "9223372036854775808" :
	    "9223372036854775807", 19) > 0;
}

/*
 * Rewrites a line with ".0" after every integer too big for json_int_t,
 * so that jansson reads those as reals and keeps the others exact (one
 * JSON_DECODE_INT_AS_REAL for the line would turn them all into doubles).
 * Only appends after digits, so an invalid line stays invalid.  Returns 1
 * if anything changed, 0 if not, -1 without memory.
 */
static int
widen_big_ints(const char *line, size_t len, struct cp_buf *out)
{
	size_t i = 0, start, d;
	int changed = 0, instr = 0;
	bool neg;

	while (i < len) {
		start = i;
		if (instr) {
			if (line[i] == '\\' && i + 1 < len)
				i++;
			else if (line[i] == '"')
				instr = 0;
			i++;
		} else if (line[i] == '"') {
			instr = 1;
			i++;
		} else if (line[i] == '-' || (line[i] >= '0' && line[i] <= '9')) {
			neg = line[i] == '-';
			d = i + neg;
			for (i = d; i < len && line[i] >= '0' && line[i] <= '9'; i++)
				continue;
			if ((i == len || (line[i] != '.' && line[i] != 'e' &&
			    line[i] != 'E')) && int_overflows(line + d, i - d, neg)) {
				if (cp_buf_add(out, line + start, i - start) != 0 ||
				    cp_buf_add(out, ".0", 2) != 0)
					return -1;
				changed = 1;
				continue;
			}
			/* A real or a small integer is copied whole. */
			while (i < len && (line[i] == '.' || line[i] == 'e' ||
			    line[i] == 'E' || line[i] == '+' || line[i] == '-' ||
			    (line[i] >= '0' && line[i] <= '9')))
				i++;
		} else {
			i++;
		}
		if (cp_buf_add(out, line + start, i - start) != 0)
			return -1;
	}
	return changed;
}

int
cp_msg_decode(const char *line, size_t len, json_t **valuep, json_error_t *error)
{
	struct cp_buf fix[2] = { CP_BUF_INIT, CP_BUF_INIT }, *out;
	const char *text = line;
	size_t textlen = len;
	bool widened = false, sanitized = false;
	json_error_t e;
	json_t *v;
	enum json_error_code code;
	int r, which = 0;

	*valuep = NULL;
	/*
	 * jansson stops at the first problem, so each fix-up is tried in the
	 * order the problems show up, each at most once: a line may need both
	 * ([99999999999999999999,"\ud800"]).
	 */
	for (;;) {
		if ((v = json_loadb(text, textlen, DECODE_FLAGS, &e)) != NULL)
			break;
		code = json_error_code(&e);
		out = &fix[which];
		out->len = 0;
		if (code == json_error_numeric_overflow && !widened) {
			widened = true;
			r = widen_big_ints(text, textlen, out);
		} else if (!sanitized && (code == json_error_invalid_utf8 ||
		    (code == json_error_invalid_syntax &&
		    strstr(e.text, "invalid Unicode") != NULL))) {
			sanitized = true;
			r = sanitize(text, textlen, out);
		} else {
			break;
		}
		if (r <= 0)
			break;
		text = out->data;
		textlen = out->len;
		which ^= 1;
	}
	cp_buf_release(&fix[0]);
	cp_buf_release(&fix[1]);
	if (v == NULL) {
		if (error != NULL)
			*error = e;
		return UV_EPROTO;
	}
	*valuep = v;
	return 0;
}

int
cp_msg_validate(const char *line, size_t len, json_error_t *error)
{
	json_t *v;
	int r;

	if ((r = cp_msg_decode(line, len, &v, error)) == 0)
		json_decref(v);
	return r;
}

bool
cp_msg_is_internal(const json_t *value)
{
	json_t *cmd;

	if (!json_is_object(value))
		return false;
	cmd = json_object_get(value, "cmd");
	return json_is_string(cmd) && json_string_length(cmd) > 5 &&
	    memcmp(json_string_value(cmd), "NODE_", 5) == 0;
}

/*
 * Splits "D.DDDe[+-]XX", as "%.*e" prints it, into its digits and
 * exponent; any decimal point the locale uses is skipped.  Returns the
 * number of digits.
 */
static int
split_e(const char *s, char *digits, int *exp10)
{
	int k = 0;

	for (; *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			digits[k++] = *s;
	*exp10 = atoi(s + 1);
	return k;
}

/*
 * Replaces the k digits D.DDD x 10^exp10 by the next k-digit decimal up
 * (dir > 0) or down, and returns whether that one reads back as d.
 */
static bool
neighbour_reads_back(char *digits, int k, int *exp10, int dir, double d)
{
	char tmp[48];
	int i;

	if (dir > 0) {
		for (i = k - 1; i >= 0 && digits[i] == '9'; i--)
			digits[i] = '0';
		if (i < 0) {		/* 9.99 -> 1.00 x 10 */
			digits[0] = '1';
			(*exp10)++;
		} else {
			digits[i]++;
		}
	} else {
		for (i = k - 1; i > 0 && digits[i] == '0'; i--)
			digits[i] = '9';
		if (--digits[i] == '0' && i == 0) {	/* 1.00 -> 9.99 / 10 */
			memset(digits, '9', (size_t)k);
			(*exp10)--;
		}
	}
	/* An integer mantissa: no decimal point for the locale to change. */
	snprintf(tmp, sizeof(tmp), "%.*se%d", k, digits, *exp10 - k + 1);
	return strtod(tmp, NULL) == d;
}

size_t
cp_msg_format_number(double d, char *buf)
{
	char digits[32], tmp[40];
	int prec, exp10, k, n, i;
	size_t o = 0;
	double r;

	if (isnan(d) || isinf(d))
		return (size_t)sprintf(buf, "null");	/* JSON.stringify */
	if (d == 0)
		return (size_t)sprintf(buf, "0");	/* also -0 */
	if (d < 0) {
		buf[o++] = '-';
		d = -d;
	}
	/* Shortest digits that read back as d; 17 always do. */
	for (prec = 1; ; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		k = split_e(tmp, digits, &exp10);
		if ((r = strtod(tmp, NULL)) == d || prec == 17)
			break;
		/*
		 * Next to a power of two the doubles that read back as d are
		 * not centred on it: the nearest prec-digit decimal can miss
		 * while its neighbour on the other side of d reads back
		 * (Node: 7.120236347223045e-307, not ...0444e-307).
		 */
		if (neighbour_reads_back(digits, k, &exp10, r > d ? -1 : 1, d))
			break;
	}
	while (k > 1 && digits[k - 1] == '0')
		k--;
	n = exp10 + 1;		/* ECMA-262 Number::toString: value = 0.d * 10^n */
	if (k <= n && n <= 21) {
		memcpy(buf + o, digits, (size_t)k);
		o += (size_t)k;
		for (i = 0; i < n - k; i++)
			buf[o++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(buf + o, digits, (size_t)n);
		o += (size_t)n;
		buf[o++] = '.';
		memcpy(buf + o, digits + n, (size_t)(k - n));
		o += (size_t)(k - n);
	} else if (-6 < n && n <= 0) {
		buf[o++] = '0';
		buf[o++] = '.';
		for (i = 0; i < -n; i++)
			buf[o++] = '0';
		memcpy(buf + o, digits, (size_t)k);
		o += (size_t)k;
	} else {
		buf[o++] = digits[0];
		if (k > 1) {
			buf[o++] = '.';
			memcpy(buf + o, digits + 1, (size_t)(k - 1));
			o += (size_t)(k - 1);
		}
		o += (size_t)sprintf(buf + o, "e%c%d", n - 1 >= 0 ? '+' : '-',
		    abs(n - 1));
	}
	buf[o] = '\0';
	return o;
}

static int
encode_string(const char *s, size_t len, struct cp_buf *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	char esc[6];
	int r;

	if ((r = cp_buf_grow(out, len + 2)) != 0)
		return r;
	out->data[out->len++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		size_t replen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c) {
		case '"': rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\b': rep = "\\b"; break;
		case '\f': rep = "\\f"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		default:
			esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
			esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
			rep = esc;
			replen = 6;
		}
		if ((r = cp_buf_add(out, s + run, i - run)) != 0 ||
		    (r = cp_buf_add(out, rep, replen)) != 0)
			return r;
		run = i + 1;
	}
	if ((r = cp_buf_add(out, s + run, len - run)) != 0)
		return r;
	return cp_buf_add(out, "\"", 1);
}

static int
encode_value(const json_t *v, struct cp_buf *out, int depth)
{
	char num[48];
	const char *key;
	json_t *item;
	size_t i, n, klen;
	void *it;
	int r;

	if (depth > 10000)
		return UV_EINVAL;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if ((r = cp_buf_add(out, "{", 1)) != 0)
			return r;
		i = 0;
		for (it = json_object_iter((json_t *)v); it != NULL;
		    it = json_object_iter_next((json_t *)v, it)) {
			key = json_object_iter_key(it);
			klen = json_object_iter_key_len(it);
			item = json_object_iter_value(it);
			if ((i++ > 0 && (r = cp_buf_add(out, ",", 1)) != 0) ||
			    (r = encode_string(key, klen, out)) != 0 ||
			    (r = cp_buf_add(out, ":", 1)) != 0 ||
			    (r = encode_value(item, out, depth + 1)) != 0)
				return r;
		}
		return cp_buf_add(out, "}", 1);
	case JSON_ARRAY:
		if ((r = cp_buf_add(out, "[", 1)) != 0)
			return r;
		n = json_array_size(v);
		for (i = 0; i < n; i++) {
			if ((i > 0 && (r = cp_buf_add(out, ",", 1)) != 0) ||
			    (r = encode_value(json_array_get(v, i), out,
			    depth + 1)) != 0)
				return r;
		}
		return cp_buf_add(out, "]", 1);
	case JSON_STRING:
		return encode_string(json_string_value(v), json_string_length(v),
		    out);
	case JSON_INTEGER:
		n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return cp_buf_add(out, num, n);
	case JSON_REAL:
		n = cp_msg_format_number(json_real_value(v), num);
		return cp_buf_add(out, num, n);
	case JSON_TRUE:
		return cp_buf_add(out, "true", 4);
	case JSON_FALSE:
		return cp_buf_add(out, "false", 5);
	case JSON_NULL:
		return cp_buf_add(out, "null", 4);
	}
	return UV_EINVAL;
}

int
cp_msg_encode(const json_t *value, struct cp_buf *out)
{
	size_t mark = out->len;
	int r;

	if (value == NULL)
		return UV_EINVAL;
	if ((r = encode_value(value, out, 0)) != 0 ||
	    (r = cp_buf_add(out, "\n", 1)) != 0) {
		out->len = mark;
		return r;
	}
	return 0;
}

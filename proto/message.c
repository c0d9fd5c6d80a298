/* proto/message.c - JSON encode/decode compatible with JSON.stringify/parse. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "message.h"
#include "utf8.h"


/* ---- the reader: JSON.parse's grammar, straight into jansson values ---- */

#define MAX_DEPTH 10000

struct parser {
	const unsigned char *p;
	const unsigned char *start;
	const unsigned char *end;
	int depth;
	json_error_t *err;
	struct cp_buf sb;		/* strings with escapes or bad UTF-8 */
	bool nomem;			/* an allocation failed: CP_PROTO_ENOMEM */
};

static json_t *parse_value(struct parser *ps);

static void
set_error(struct parser *ps, enum json_error_code code, const char *what)
{
	json_error_t *e = ps->err;
	size_t pos = (size_t)(ps->p - ps->start);

	if (e == NULL || e->text[0] != '\0')
		return;		/* the first error is the one reported */
	snprintf(e->text, JSON_ERROR_TEXT_LENGTH - 1, "%s", what);
	e->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)code;
	snprintf(e->source, sizeof(e->source), "<line>");
	e->line = 1;
	e->column = (int)pos + 1;
	e->position = (int)pos;
}

/* An allocation failed: the line is not refused, it could not be read. */
static void
no_memory(struct parser *ps)
{
	ps->nomem = true;
	set_error(ps, json_error_out_of_memory, "out of memory");
}

/* Appends to ps->sb; -1 (and ps->nomem) when out of memory. */
static int
sb_add(struct parser *ps, const void *data, size_t len)
{
	if (cp_buf_add(&ps->sb, data, len) != 0) {
		no_memory(ps);
		return -1;
	}
	return 0;
}

static void
unexpected(struct parser *ps)
{
	char msg[32];

	if (ps->p >= ps->end) {
		set_error(ps, json_error_premature_end_of_input,
		    "unexpected end of the line");
		return;
	}
	if (*ps->p >= 0x20 && *ps->p < 0x7F)
		snprintf(msg, sizeof(msg), "unexpected '%c'", *ps->p);
	else
		snprintf(msg, sizeof(msg), "unexpected byte 0x%02X", *ps->p);
	set_error(ps, json_error_invalid_syntax, msg);
}

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
	    *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int
add_utf8(struct parser *ps, uint32_t cp)
{
	char u[4];

	return sb_add(ps, u, cp_utf8_put(u, cp));
}

/*
 * Reads the string at ps->p (its opening quote).  Returns its UTF-8 text in
 * *sp and *lenp: a pointer into the line when it needed no change, else into
 * ps->sb.  Invalid UTF-8 becomes U+FFFD, as Node's StringDecoder makes
 * it; an escaped lone surrogate is kept in its 3-byte form (WTF-8), as
 * Node's strings keep it, and encode_string escapes it again.
 */
static int
parse_string(struct parser *ps, const char **sp, size_t *lenp)
{
	const unsigned char *p = ps->p + 1, *run, *end = ps->end;
	bool slow = false;
	unsigned v, w;
	uint32_t u;
	size_t n;
	char c;

	run = p;
	for (;;) {
		/* The common case: a run of plain ASCII. */
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p >= end) {
			ps->p = p;
			unexpected(ps);
			return -1;
		}
		if (*p == '"')
			break;
		if (*p < 0x20) {
			ps->p = p;
			set_error(ps, json_error_invalid_syntax,
			    "control character in a string");
			return -1;
		}
		if (*p >= 0x80) {
			n = cp_utf8_get(p, (size_t)(end - p), &u);
			if (u != CP_UTF8_BAD) {
				p += n;
				continue;
			}
			if (!slow) {
				slow = true;
				ps->sb.len = 0;
			}
			if (sb_add(ps, run, (size_t)(p - run)) != 0 ||
			    add_utf8(ps, CP_UTF8_REPLACEMENT) != 0)
				return -1;
			p += n;
			run = p;
			continue;
		}
		/* A backslash. */
		if (!slow) {
			slow = true;
			ps->sb.len = 0;
		}
		if (sb_add(ps, run, (size_t)(p - run)) != 0)
			return -1;
		if (end - p < 2)
			goto bad_escape;
		switch (p[1]) {
		case '"': c = '"'; break;
		case '\\': c = '\\'; break;
		case '/': c = '/'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (end - p < 6 || cp_hex4((const char *)p + 2, &v) != 0)
				goto bad_escape;
			if (v >= 0xD800 && v <= 0xDBFF && end - p >= 12 &&
			    p[6] == '\\' && p[7] == 'u' &&
			    cp_hex4((const char *)p + 8, &w) == 0 &&
			    w >= 0xDC00 && w <= 0xDFFF) {
				if (add_utf8(ps, 0x10000 + ((v - 0xD800) << 10) +
				    (w - 0xDC00)) != 0)
					return -1;
				p += 12;
			} else {
				/* A lone surrogate is kept, in WTF-8. */
				if (add_utf8(ps, v) != 0)
					return -1;
				p += 6;
			}
			run = p;
			continue;
		default:
			goto bad_escape;
		}
		if (sb_add(ps, &c, 1) != 0)
			return -1;
		p += 2;
		run = p;
	}
	if (slow) {
		/* Adds the NUL (and the buffer) even for an empty run. */
		if (sb_add(ps, run, (size_t)(p - run)) != 0)
			return -1;
		*sp = ps->sb.data;
		*lenp = ps->sb.len;
	} else {
		*sp = (const char *)ps->p + 1;
		*lenp = (size_t)(p - (ps->p + 1));
	}
	ps->p = p + 1;
	return 0;
bad_escape:
	ps->p = p;
	set_error(ps, json_error_invalid_syntax, "invalid escape");
	return -1;
}

static json_t *
parse_number(struct parser *ps)
{
	const unsigned char *p = ps->p, *end = ps->end, *digits;
	bool is_int = true, neg = false;
	char small[64], *text;
	size_t n;
	json_t *v;
	double d;

	if (*p == '-') {
		neg = true;
		p++;
	}
	digits = p;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		goto bad;
	if (p < end && *p == '.') {
		is_int = false;
		if (++p >= end || *p < '0' || *p > '9')
			goto bad;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		is_int = false;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			goto bad;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	n = (size_t)(p - ps->p);
	/* Integers stay exact while they fit json_int_t; past it, a double. */
	if (is_int && ((size_t)(p - digits) < 19 ||
	    ((size_t)(p - digits) == 19 && memcmp(digits, neg ?
	    "9223372036854775808" : "9223372036854775807", 19) <= 0))) {
		json_int_t x = 0;
		const unsigned char *q;

		for (q = digits; q < p; q++)
			x = x * 10 - (*q - '0');	/* negative: reaches INT64_MIN */
		if ((v = json_integer(neg ? x : -x)) == NULL)
			no_memory(ps);
		ps->p = p;
		return v;
	}
	text = n < sizeof(small) ? small : malloc(n + 1);
	if (text == NULL) {
		no_memory(ps);
		return NULL;
	}
	memcpy(text, ps->p, n);
	text[n] = '\0';
	d = strtod(text, NULL);
	if (text != small)
		free(text);
	ps->p = p;
	/* JSON.parse gives Infinity for 1e400; jansson has no such real. */
	if (isinf(d))
		return json_null();
	if ((v = json_real(d)) == NULL)
		no_memory(ps);
	return v;
bad:
	ps->p = p;
	unexpected(ps);
	return NULL;
}

static json_t *
parse_container(struct parser *ps, bool object)
{
	const char *key;
	size_t klen;
	json_t *c, *v;
	char close = object ? '}' : ']';
	char *kcopy;

	if (++ps->depth > MAX_DEPTH) {
		set_error(ps, json_error_stack_overflow, "nesting too deep");
		return NULL;
	}
	c = object ? json_object() : json_array();
	if (c == NULL) {
		no_memory(ps);
		return NULL;
	}
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return c;
	}
	for (;;) {
		skip_ws(ps);
		if (object) {
			if (ps->p >= ps->end || *ps->p != '"') {
				unexpected(ps);
				goto fail;
			}
			if (parse_string(ps, &key, &klen) != 0)
				goto fail;
			/* The key may live in ps->sb, which the value reuses. */
			if ((kcopy = malloc(klen + 1)) == NULL) {
				no_memory(ps);
				goto fail;
			}
			memcpy(kcopy, key, klen);
			kcopy[klen] = '\0';
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(kcopy);
				unexpected(ps);
				goto fail;
			}
			ps->p++;
			if ((v = parse_value(ps)) == NULL) {
				free(kcopy);
				goto fail;
			}
			/* JSON.parse: a repeated key keeps the last value. */
			if (json_object_setn_new_nocheck(c, kcopy, klen, v) != 0) {
				free(kcopy);
				no_memory(ps);
				goto fail;
			}
			free(kcopy);
		} else {
			if ((v = parse_value(ps)) == NULL)
				goto fail;
			if (json_array_append_new(c, v) != 0) {
				no_memory(ps);
				goto fail;
			}
		}
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			break;
		}
		unexpected(ps);
		goto fail;
	}
	ps->depth--;
	return c;
fail:
	json_decref(c);
	return NULL;
}

static json_t *
parse_literal(struct parser *ps, const char *word, json_t *v)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
		unexpected(ps);
		return NULL;
	}
	ps->p += n;
	return v;
}

static json_t *
parse_value(struct parser *ps)
{
	const char *s;
	size_t len;
	json_t *v;

	skip_ws(ps);
	if (ps->p >= ps->end) {
		unexpected(ps);
		return NULL;
	}
	switch (*ps->p) {
	case '{':
		return parse_container(ps, true);
	case '[':
		return parse_container(ps, false);
	case '"':
		if (parse_string(ps, &s, &len) != 0)
			return NULL;
		if ((v = json_stringn_nocheck(s, len)) == NULL)
			no_memory(ps);
		return v;
	case 't':
		return parse_literal(ps, "true", json_true());
	case 'f':
		return parse_literal(ps, "false", json_false());
	case 'n':
		return parse_literal(ps, "null", json_null());
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return parse_number(ps);
		unexpected(ps);
		return NULL;
	}
}

int
cp_msg_decode(const char *line, size_t len, json_t **valuep, json_error_t *error)
{
	struct parser ps;
	json_t *v;

	*valuep = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.p = ps.start = (const unsigned char *)line;
	ps.end = ps.p + len;
	ps.err = error;
	if (error != NULL)
		memset(error, 0, sizeof(*error));
	v = parse_value(&ps);
	if (v != NULL) {
		skip_ws(&ps);
		if (ps.p < ps.end) {
			/* Two values, or garbage after one. */
			set_error(&ps, json_error_end_of_input_expected,
			    "unexpected data after the value");
			json_decref(v);
			v = NULL;
		}
	}
	cp_buf_release(&ps.sb);
	if (v == NULL)
		return ps.nomem ? CP_PROTO_ENOMEM : CP_PROTO_EPROTO;
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
	size_t i, run = 0, n;
	uint32_t cp;
	char esc[6];
	int r;

	if ((r = cp_buf_grow(out, len + 2)) != 0)
		return r;
	out->data[out->len++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = esc;
		size_t replen = 2;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0xED)
			continue;
		n = 1;
		switch (c) {
		case 0xED:
			/*
			 * A lone surrogate (WTF-8: never valid UTF-8) is
			 * written "\udxxx", as JSON.stringify does.
			 */
			n = cp_wtf8_get((const unsigned char *)s + i, len - i,
			    &cp);
			if (cp < 0xD800 || cp > 0xDFFF)
				continue;
			cp_utf16_escape(esc, cp);
			replen = 6;
			break;
		case '"': rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\b': rep = "\\b"; break;
		case '\f': rep = "\\f"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		default:
			cp_utf16_escape(esc, c);
			replen = 6;
		}
		if ((r = cp_buf_add(out, s + run, i - run)) != 0 ||
		    (r = cp_buf_add(out, rep, replen)) != 0)
			return r;
		i += n - 1;
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
		return CP_PROTO_EINVAL;
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
	return CP_PROTO_EINVAL;
}

int
cp_msg_encode(const json_t *value, struct cp_buf *out)
{
	size_t mark = out->len;
	int r;

	if (value == NULL)
		return CP_PROTO_EINVAL;
	if ((r = encode_value(value, out, 0)) != 0 ||
	    (r = cp_buf_add(out, "\n", 1)) != 0) {
		out->len = mark;
		return r;
	}
	return 0;
}

/*
 * proto/v8.c - V8's serialization format (Node's "advanced" IPC) <-> the
 * tagged JSON form described in v8.h, and the channel's length framing.
 *
 * Tags and their layouts follow V8's src/objects/value-serializer.cc and
 * Node's host objects (lib/v8.js, lib/internal/child_process/
 * serialization.js).  The reader trusts nothing: every length is checked
 * against the bytes left, nesting is bounded, and each back-reference
 * must name an object that V8 itself would already have.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "frame.h"
#include "utf8.h"
#include "v8.h"

#define TIME_CLIP 8.64e15

/* Node's ArrayBufferView type indices (lib/v8.js) and V8's 'V' subtags. */
static const struct view_type {
	const char *tag;	/* JSON form name */
	unsigned size;		/* BYTES_PER_ELEMENT */
	char v8;		/* V8's ArrayBufferViewTag */
} view_types[] = {
	{ "$int8array", 1, 'b' },
	{ "$uint8array", 1, 'B' },
	{ "$uint8clampedarray", 1, 'C' },
	{ "$int16array", 2, 'w' },
	{ "$uint16array", 2, 'W' },
	{ "$int32array", 4, 'd' },
	{ "$uint32array", 4, 'D' },
	{ "$float32array", 4, 'f' },
	{ "$float64array", 8, 'F' },
	{ "$dataview", 1, '?' },
	{ "$buffer", 1, 0 },		/* Node's FastBuffer: host objects only */
	{ "$bigint64array", 8, 'q' },
	{ "$biguint64array", 8, 'Q' },
};
#define NVIEWS (sizeof(view_types) / sizeof(view_types[0]))

static const char regexp_flags[] = "gimyusldv";	/* V8's bit order */
static const char regexp_order[] = "dgimsuvy";	/* RegExp.prototype.flags */

static const char *error_names[] = { "EvalError", "RangeError",
    "ReferenceError", "SyntaxError", "TypeError", "URIError" };
static const char error_tags[] = "ERFSTU";

/* ------------------------------------------------------------------ */
/* Shared helpers */

static void set_errorv(json_error_t *error, size_t pos, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));
static void set_error(json_error_t *error, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_errorv(json_error_t *error, size_t pos, const char *fmt, va_list ap)
{
	if (error == NULL)
		return;
	memset(error, 0, sizeof(*error));
	error->line = -1;
	error->column = -1;
	error->position = (int)(pos > 0x7fffffff ? 0x7fffffff : pos);
	vsnprintf(error->text, sizeof(error->text), fmt, ap);
}

static void
set_error(json_error_t *error, size_t pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_errorv(error, pos, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Decoder */

struct idrec {
	uint32_t json;		/* the object's number in the JSON form */
	bool ready;		/* V8 would resolve a reference to it now */
};

struct dec {
	const unsigned char *start, *p, *end;
	unsigned flags;
	uint32_t version;
	int depth;
	struct idrec *ids;
	size_t nids, capids;
	uint32_t next_json;
	json_t *hole;		/* one {"$hole":null}, shared */
	json_error_t *error;
	bool failed;
};

static json_t *read_value(struct dec *d);
static json_t *fail(struct dec *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static json_t *
fail(struct dec *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->failed) {
		d->failed = true;
		va_start(ap, fmt);
		set_errorv(d->error, (size_t)(d->p - d->start), fmt, ap);
		va_end(ap);
	}
	return NULL;
}

static bool
read_byte(struct dec *d, unsigned char *c)
{
	if (d->p >= d->end) {
		fail(d, "truncated: the frame ends inside a value");
		return false;
	}
	*c = *d->p++;
	return true;
}

/* A tag, skipping padding. */
static bool
read_tag(struct dec *d, unsigned char *tag)
{
	do {
		if (!read_byte(d, tag))
			return false;
	} while (*tag == 0);
	return true;
}

/* The next tag without consuming it (padding is consumed), or -1 at the end. */
static int
peek_tag(struct dec *d)
{
	while (d->p < d->end && *d->p == 0)
		d->p++;
	return d->p < d->end ? *d->p : -1;
}

/*
 * A varint of at most 32 bits.  As V8, bits past 32 are dropped, but a
 * varint longer than 5 bytes is refused (V8 would misread what follows).
 */
static bool
read_varint(struct dec *d, uint32_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;
	unsigned char c;

	do {
		if (!read_byte(d, &c))
			return false;
		if (shift >= 35) {
			fail(d, "bad varint: more than 5 bytes");
			return false;
		}
		r |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	*v = (uint32_t)r;
	return true;
}

static bool
read_double(struct dec *d, double *v)
{
	if ((size_t)(d->end - d->p) < 8) {
		fail(d, "truncated: a number needs 8 bytes");
		return false;
	}
	memcpy(v, d->p, 8);		/* little-endian hosts only (as V8's format) */
	d->p += 8;
	return true;
}

static bool
read_raw(struct dec *d, uint32_t n, const unsigned char **bytes)
{
	if (n > (size_t)(d->end - d->p)) {
		fail(d, "truncated: a length runs past the end of the frame");
		return false;
	}
	*bytes = d->p;
	d->p += n;
	return true;
}

/* A new V8 object id that maps to JSON object json. */
static bool
new_id(struct dec *d, uint32_t json, bool ready, uint32_t *idp)
{
	struct idrec *n;
	size_t cap;

	if (d->nids == d->capids) {
		cap = d->capids ? d->capids * 2 : 64;
		if ((n = realloc(d->ids, cap * sizeof(*n))) == NULL) {
			fail(d, "out of memory");
			return false;
		}
		d->ids = n;
		d->capids = cap;
	}
	d->ids[d->nids].json = json;
	d->ids[d->nids].ready = ready;
	*idp = (uint32_t)d->nids++;
	return true;
}

/* Allocates the next V8 id for a new JSON object. */
static bool
new_object(struct dec *d, bool ready, uint32_t *idp)
{
	return new_id(d, d->next_json++, ready, idp);
}

static json_t *
tagged(const char *tag, json_t *v)
{
	json_t *o;

	if (v == NULL)
		return NULL;
	if ((o = json_object()) == NULL) {
		json_decref(v);
		return NULL;
	}
	if (json_object_set_new_nocheck(o, tag, v) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
oom(struct dec *d, json_t *v)
{
	json_decref(v);
	return fail(d, "out of memory");
}

static json_t *
special_number(double x)
{
	const char *s;

	if (isnan(x))
		s = "NaN";
	else if (isinf(x))
		s = x > 0 ? "Infinity" : "-Infinity";
	else
		s = "-0";
	return tagged("$number", json_string(s));
}

/* A JavaScript number in the JSON form. */
static json_t *
make_number(double x)
{
	if (isnan(x) || isinf(x) || (x == 0 && signbit(x)))
		return special_number(x);
	if (x == floor(x) && fabs(x) <= 9007199254740992.0)
		return json_integer((json_int_t)x);
	return json_real(x);
}

/*
 * Appends the text of a string's bytes: Latin-1 ('"'), UTF-16LE ('c': a
 * lone surrogate stays, in WTF-8, as Node's string holds it) or UTF-8
 * ('S': invalid bytes are U+FFFD, as V8 reads them).  0 or CP_PROTO_ENOMEM.
 */
static int
add_text(struct cp_buf *b, unsigned char tag, const unsigned char *s,
    uint32_t n)
{
	uint32_t i, c;
	size_t k;
	int r = 0;

	if (tag == 'c')
		return cp_utf16le_to_wtf8(s, n, b);
	for (i = 0; i < n && r == 0; i += (uint32_t)k) {
		if (tag == '"') {
			c = s[i];
			k = 1;
		} else {
			k = cp_utf8_get_lossy(s + i, n - i, &c);
		}
		r = cp_utf8_add(b, c);
	}
	return r;
}

static json_t *
make_string(struct dec *d, unsigned char tag, const unsigned char *s,
    uint32_t n)
{
	struct cp_buf b = CP_BUF_INIT;
	json_t *v;

	if (add_text(&b, tag, s, n) != 0) {
		cp_buf_release(&b);
		return oom(d, NULL);
	}
	v = json_stringn_nocheck(b.data ? b.data : "", b.len);
	cp_buf_release(&b);
	return v ? v : oom(d, NULL);
}

/* The bytes of a string after its tag. */
static bool
read_text(struct dec *d, unsigned char tag, const unsigned char **sp,
    uint32_t *np)
{
	if (!read_varint(d, np) || !read_raw(d, *np, sp))
		return false;
	if (tag == 'c' && (*np & 1)) {
		fail(d, "bad two-byte string: odd byte length");
		return false;
	}
	return true;
}

/* The string after a string tag already read. */
static json_t *
read_string_body(struct dec *d, unsigned char tag)
{
	const unsigned char *s;
	uint32_t n;

	if (!read_text(d, tag, &s, &n))
		return NULL;
	return make_string(d, tag, s, n);
}

/* A value that must be a string (V8's ReadString). */
static json_t *
read_string(struct dec *d)
{
	unsigned char tag;

	if (!read_tag(d, &tag))
		return NULL;
	if (tag != '"' && tag != 'c' && tag != 'S')
		return fail(d, "expected a string");
	return read_string_body(d, tag);
}

/* Magnitude (little-endian bytes) -> decimal text, sign in front. */
static json_t *
bigint_text(struct dec *d, bool neg, const unsigned char *s, uint32_t n)
{
	uint32_t *w, *dig;
	size_t nw, nd = 0, i, top;
	uint64_t rem;
	char *text, *q;
	json_t *v;

	nw = (n + 3) / 4;
	w = calloc(nw ? nw : 1, sizeof(*w));
	/* 9 decimal digits per 30 bits at least: this is enough. */
	dig = calloc(nw * 32 / 29 + 2, sizeof(*dig));
	text = malloc(nw * 32 / 29 * 9 + 32);
	if (w == NULL || dig == NULL || text == NULL) {
		free(w);
		free(dig);
		free(text);
		return oom(d, NULL);
	}
	for (i = 0; i < n; i++)
		w[i / 4] |= (uint32_t)s[i] << (8 * (i % 4));
	top = nw;
	while (top > 0 && w[top - 1] == 0)
		top--;
	while (top > 0) {	/* repeated division by 10^9 */
		rem = 0;
		for (i = top; i-- > 0;) {
			uint64_t cur = rem << 32 | w[i];
			w[i] = (uint32_t)(cur / 1000000000u);
			rem = cur % 1000000000u;
		}
		dig[nd++] = (uint32_t)rem;
		while (top > 0 && w[top - 1] == 0)
			top--;
	}
	q = text;
	if (nd == 0)
		*q++ = '0';
	else {
		if (neg)
			*q++ = '-';
		q += sprintf(q, "%u", dig[nd - 1]);
		for (i = nd - 1; i-- > 0;)
			q += sprintf(q, "%09u", dig[i]);
	}
	v = json_stringn_nocheck(text, (size_t)(q - text));
	free(w);
	free(dig);
	free(text);
	return v ? tagged("$bigint", v) : oom(d, NULL);
}

static json_t *
read_bigint(struct dec *d)
{
	const unsigned char *s;
	uint32_t bits, n;

	if (!read_varint(d, &bits))
		return NULL;
	n = bits >> 1;
	if (n > CP_V8_MAX_BIGINT)
		return fail(d, "BigInt too large (more than 64 KiB)");
	if (!read_raw(d, n, &s))
		return NULL;
	return bigint_text(d, bits & 1, s, n);
}

static json_t *
base64_string(struct dec *d, const unsigned char *s, size_t n)
{
	struct cp_buf t = CP_BUF_INIT;
	json_t *v;

	if (cp_base64_add(&t, s, n, false) != 0) {
		cp_buf_release(&t);
		return oom(d, NULL);
	}
	v = json_stringn_nocheck(t.data, t.len);
	cp_buf_release(&t);
	return v ? v : oom(d, NULL);
}

/* A key of an object or array: a string or a number, as a string. */
static bool
read_key(struct dec *d, struct cp_buf *key)
{
	unsigned char tag;
	const unsigned char *s;
	uint32_t n;
	double x;
	char num[40];
	int r = 0;

	key->len = 0;
	if (!read_tag(d, &tag))
		return false;
	switch (tag) {
	case '"':
	case 'c':
	case 'S':
		if (!read_text(d, tag, &s, &n))
			return false;
		r = add_text(key, tag, s, n);
		break;
	case 'I':
		if (!read_varint(d, &n))
			return false;
		x = (double)(int32_t)((n >> 1) ^ -(n & 1));
		goto number;
	case 'U':
		if (!read_varint(d, &n))
			return false;
		x = n;
		goto number;
	case 'N':
		if (!read_double(d, &x))
			return false;
	number:
		r = cp_buf_add(key, num, cp_msg_format_number(x, num));
		break;
	default:
		d->p--;
		fail(d, "bad property key: not a string or a number");
		return false;
	}
	if (r == 0)
		r = cp_buf_add(key, "", 1) == 0 ? 0 : -1;	/* NUL after */
	if (r != 0) {
		fail(d, "out of memory");
		return false;
	}
	key->len--;
	return true;
}

/* "4294967294" and below, canonical: an array index. */
static bool
array_index(const char *k, size_t len, uint32_t *ip)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10 || (k[0] == '0' && len > 1))
		return false;
	for (i = 0; i < len; i++) {
		if (k[i] < '0' || k[i] > '9')
			return false;
		v = v * 10 + (unsigned)(k[i] - '0');
	}
	if (v >= 0xffffffffu)
		return false;
	*ip = (uint32_t)v;
	return true;
}

/* Properties up to end_tag into obj; returns how many, or -1. */
static long
read_props(struct dec *d, json_t *obj, unsigned char end_tag)
{
	struct cp_buf key = CP_BUF_INIT;
	json_t *v;
	long n = 0;
	int t;

	for (;;) {
		if ((t = peek_tag(d)) < 0) {
			fail(d, "truncated: the frame ends inside an object");
			break;
		}
		if (t == end_tag) {
			d->p++;
			cp_buf_release(&key);
			return n;
		}
		if (!read_key(d, &key))
			break;
		if (json_object_getn(obj, key.data, key.len) != NULL) {
			fail(d, "duplicate property \"%.60s\"", key.data);
			break;
		}
		if ((v = read_value(d)) == NULL)
			break;
		if (json_object_setn_new_nocheck(obj, key.data, key.len, v)) {
			oom(d, NULL);
			break;
		}
		n++;
	}
	cp_buf_release(&key);
	return -1;
}

static bool
read_count(struct dec *d, uint32_t want, const char *what)
{
	uint32_t n;

	if (!read_varint(d, &n))
		return false;
	if (n != want) {
		fail(d, "bad %s: the count at the end does not match", what);
		return false;
	}
	return true;
}

/* True for an object the JSON form must escape: one member, named "$...". */
static bool
needs_escape(json_t *o)
{
	void *it;

	if (json_object_size(o) != 1)
		return false;
	it = json_object_iter(o);
	return json_object_iter_key(it)[0] == '$';
}

static json_t *
read_object(struct dec *d)
{
	json_t *o;
	uint32_t id;
	long n;

	if (!new_object(d, true, &id))
		return NULL;
	if ((o = json_object()) == NULL)
		return oom(d, NULL);
	if ((n = read_props(d, o, '{')) < 0 ||
	    !read_count(d, (uint32_t)n, "object")) {
		json_decref(o);
		return NULL;
	}
	return needs_escape(o) ? tagged("$object", o) : o;
}

struct elem {
	uint32_t index;
	json_t *value;
};

static int
elem_cmp(const void *a, const void *b)
{
	const struct elem *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Builds an array from its elements (sorted by index), its length and its
 * other properties: a JSON array with holes when it has no other property
 * and is dense enough, else {"$array":{...}}.  Takes the references.
 */
static json_t *
make_array(struct dec *d, struct elem *el, size_t nel, uint32_t length,
    json_t *props)
{
	json_t *a = NULL, *o = NULL;
	size_t i, k;
	char num[16];

	if (json_object_size(props) == 0 &&
	    (uint64_t)length <= 2 * (uint64_t)nel + 16) {
		if ((a = json_array()) == NULL)
			goto nomem;
		for (i = 0, k = 0; i < length; i++) {
			if (k < nel && el[k].index == i) {
				if (json_array_append_new(a, el[k].value))
					goto nomem;
				el[k++].value = NULL;
			} else if (json_array_append(a, d->hole))
				goto nomem;
		}
		json_decref(props);
		return a;
	}
	if ((o = json_object()) == NULL ||
	    json_object_set_new_nocheck(o, "length", json_integer(length)))
		goto nomem;
	for (k = 0; k < nel; k++) {
		snprintf(num, sizeof(num), "%u", el[k].index);
		if (json_object_set_new_nocheck(o, num, el[k].value))
			goto nomem;
		el[k].value = NULL;
	}
	if (json_object_update(o, props) != 0)
		goto nomem;
	json_decref(props);
	return tagged("$array", o);
nomem:
	json_decref(a);
	json_decref(o);
	json_decref(props);
	return oom(d, NULL);
}

/*
 * Moves the index properties of props (an array's) into el; checks them
 * against the length and the elements already there.
 */
static bool
split_props(struct dec *d, json_t *props, struct elem **elp, size_t *nelp,
    size_t *capp, uint32_t length)
{
	const char *k;
	json_t *v;
	void *it, *next;
	uint32_t idx;
	size_t i;
	struct elem *n;

	if (json_object_getn(props, "length", 6) != NULL) {
		fail(d, "bad array: a \"length\" property");
		return false;
	}
	for (it = json_object_iter(props); it != NULL; it = next) {
		next = json_object_iter_next(props, it);
		k = json_object_iter_key(it);
		if (!array_index(k, json_object_iter_key_len(it), &idx))
			continue;
		if (idx >= length) {
			fail(d, "bad array: an element past its length");
			return false;
		}
		if (*nelp == *capp) {
			*capp = *capp ? *capp * 2 : 16;
			if ((n = realloc(*elp, *capp * sizeof(*n))) == NULL) {
				oom(d, NULL);
				return false;
			}
			*elp = n;
		}
		v = json_object_iter_value(it);
		(*elp)[(*nelp)++] = (struct elem){ idx, json_incref(v) };
		json_object_deln(props, k, json_object_iter_key_len(it));
	}
	if (*nelp > 1)
		qsort(*elp, *nelp, sizeof(**elp), elem_cmp);
	for (i = 1; i < *nelp; i++)
		if ((*elp)[i].index == (*elp)[i - 1].index) {
			fail(d, "bad array: an element defined twice");
			return false;
		}
	return true;
}

static json_t *
read_array(struct dec *d, bool dense)
{
	struct elem *el = NULL;
	size_t nel = 0, cap = 0, i;
	uint32_t length, id;
	json_t *props = NULL, *v, *res = NULL;
	long n;
	int t;

	if (!read_varint(d, &length))
		return NULL;
	if (dense && length > (size_t)(d->end - d->p))
		return fail(d, "truncated: a dense array longer than the frame");
	if (!new_object(d, true, &id))
		return NULL;
	if ((props = json_object()) == NULL)
		return oom(d, NULL);
	if (dense && length > 0 &&
	    (el = malloc(length * sizeof(*el))) == NULL)
		goto nomem;
	if (dense)
		cap = length;
	for (i = 0; dense && i < length; i++) {
		if ((t = peek_tag(d)) == '-') {
			d->p++;
			continue;
		}
		if ((v = read_value(d)) == NULL)
			goto out;
		el[nel++] = (struct elem){ (uint32_t)i, v };
	}
	if ((n = read_props(d, props, dense ? '$' : '@')) < 0 ||
	    !read_count(d, (uint32_t)n, "array") ||
	    !read_count(d, length, "array length") ||
	    !split_props(d, props, &el, &nel, &cap, length))
		goto out;
	res = make_array(d, el, nel, length, props);
	props = NULL;
	goto out;
nomem:
	oom(d, NULL);
out:
	for (i = 0; i < nel; i++)
		json_decref(el[i].value);
	free(el);
	json_decref(props);
	return res;
}

static json_t *
read_map(struct dec *d, bool is_set)
{
	json_t *list, *k, *v, *pair;
	uint32_t id, n = 0;
	int t;

	if (!new_object(d, true, &id))
		return NULL;
	if ((list = json_array()) == NULL)
		return oom(d, NULL);
	for (;;) {
		if ((t = peek_tag(d)) < 0) {
			fail(d, "truncated: the frame ends inside a Map or Set");
			goto bad;
		}
		if (t == (is_set ? ',' : ':')) {
			d->p++;
			break;
		}
		if ((k = read_value(d)) == NULL)
			goto bad;
		if (is_set) {
			if (json_array_append_new(list, k))
				goto nomem;
			n++;
			continue;
		}
		if ((v = read_value(d)) == NULL) {
			json_decref(k);
			goto bad;
		}
		if ((pair = json_array()) == NULL ||
		    json_array_append_new(pair, k) ||
		    json_array_append_new(pair, v) ||
		    json_array_append_new(list, pair))
			goto nomem;
		n += 2;
	}
	if (!read_count(d, n, is_set ? "Set" : "Map"))
		goto bad;
	return tagged(is_set ? "$set" : "$map", list);
nomem:
	oom(d, NULL);
bad:
	json_decref(list);
	return NULL;
}

static json_t *
read_date(struct dec *d)
{
	double x;
	uint32_t id;

	if (!read_double(d, &x) || !new_object(d, true, &id))
		return NULL;
	/* TimeClip, as new Date(x) */
	if (isnan(x) || fabs(x) > TIME_CLIP)
		return tagged("$date", json_null());
	return tagged("$date", json_integer((json_int_t)trunc(x)));
}

static json_t *
read_regexp(struct dec *d)
{
	json_t *src, *a;
	uint32_t flags, id, json = d->next_json++;
	char letters[16];
	size_t i, j, n = 0;

	if ((src = read_string(d)) == NULL)
		return NULL;
	if (!read_varint(d, &flags)) {
		json_decref(src);
		return NULL;
	}
	/* V8 refuses unknown bits and 'l' (linear) without its flag. */
	if ((flags & ~0x1bfu) != 0 || (flags & 0x110) == 0x110) {
		json_decref(src);
		return fail(d, "bad RegExp flags");
	}
	for (j = 0; regexp_order[j]; j++)
		for (i = 0; regexp_flags[i]; i++)
			if (regexp_flags[i] == regexp_order[j] &&
			    (flags & 1u << i))
				letters[n++] = regexp_order[j];
	letters[n] = 0;
	if (!new_id(d, json, true, &id) || (a = json_array()) == NULL ||
	    json_array_append_new(a, src) ||
	    json_array_append_new(a, json_string(letters))) {
		json_decref(src);
		return oom(d, NULL);
	}
	return tagged("$regexp", a);
}

static json_t *
read_boxed(struct dec *d, unsigned char tag)
{
	json_t *v;
	double x;
	uint32_t id, json = d->next_json++;

	switch (tag) {
	case 'y':
		v = json_true();
		break;
	case 'x':
		v = json_false();
		break;
	case 'n':
		if (!read_double(d, &x))
			return NULL;
		v = make_number(x);
		break;
	case 'z':
		v = read_bigint(d);
		break;
	default:
		v = read_string(d);
		break;
	}
	if (v == NULL)
		return d->failed ? NULL : oom(d, NULL);
	if (!new_id(d, json, true, &id)) {
		json_decref(v);
		return NULL;
	}
	return tagged("$boxed", v);
}

static json_t *
read_error(struct dec *d)
{
	json_t *e = NULL, *f[3] = { NULL, NULL, NULL }, **slot;
	static const char *keys[3] = { "message", "stack", "cause" };
	uint32_t id, tag;
	const char *name = "Error", *p;
	int i;

	if (!new_object(d, false, &id))
		return NULL;
	for (;;) {
		if (!read_varint(d, &tag))
			goto bad;
		if (tag == '.')
			break;
		if (tag != 0 && tag < 256 &&
		    (p = strchr(error_tags, (int)tag)) != NULL) {
			name = error_names[p - error_tags];
			continue;
		}
		slot = tag == 'm' ? &f[0] : tag == 's' ? &f[1] :
		    tag == 'c' ? &f[2] : NULL;
		if (slot == NULL) {
			fail(d, "bad Error: unknown field tag");
			goto bad;
		}
		json_decref(*slot);	/* V8 too keeps the last one */
		if ((*slot = tag == 'c' ? read_value(d) : read_string(d)) ==
		    NULL)
			goto bad;
	}
	/* One order whatever the wire's: name, message, stack, cause. */
	if ((e = json_object()) == NULL ||
	    json_object_set_new_nocheck(e, "name", json_string(name)))
		goto nomem;
	for (i = 0; i < 3; i++) {
		if (f[i] != NULL &&
		    json_object_set_new_nocheck(e, keys[i], f[i]) != 0) {
			f[i] = NULL;
			goto nomem;
		}
		f[i] = NULL;
	}
	d->ids[id].ready = true;
	return tagged("$error", e);
nomem:
	oom(d, NULL);
bad:
	for (i = 0; i < 3; i++)
		json_decref(f[i]);
	json_decref(e);
	return NULL;
}

/* The bytes of a view of type t as {"$type":"base64"}. */
static json_t *
make_view(struct dec *d, unsigned t, const unsigned char *s, uint32_t n)
{
	if (n % view_types[t].size != 0)
		return fail(d, "bad %s: length not a multiple of its element",
		    view_types[t].tag + 1);
	return tagged(view_types[t].tag, base64_string(d, s, n));
}

static json_t *
read_host(struct dec *d)
{
	uint32_t kind, type, n, id, json = d->next_json;
	const unsigned char *s;
	json_t *v;

	if (!(d->flags & CP_V8_SERIALIZE)) {
		if (!read_varint(d, &kind))
			return NULL;
		if (kind == 1) {
			/* Some other host object: a plain copy follows. */
			if (!new_id(d, json, false, &id) ||
			    (v = read_value(d)) == NULL)
				return NULL;
			if (d->next_json == json) {
				json_decref(v);
				return fail(d, "bad host object: not an object");
			}
			d->ids[id].ready = true;
			return v;
		}
		if (kind != 0)
			return fail(d, "bad host object: unknown kind");
	}
	if (!read_varint(d, &type) || !read_varint(d, &n) ||
	    !read_raw(d, n, &s))
		return NULL;
	if (type >= NVIEWS)
		return fail(d, "bad host object: unknown view type");
	d->next_json++;
	if (!new_id(d, json, true, &id))
		return NULL;
	return make_view(d, type, s, n);
}

/* 'V' after an ArrayBuffer: a view of part of it (never written by Node). */
static json_t *
read_raw_view(struct dec *d, const unsigned char *buf, uint32_t buflen,
    uint32_t json)
{
	uint32_t tag, off, n, flags, id;
	unsigned t;

	if (!read_varint(d, &tag) || !read_varint(d, &off) ||
	    !read_varint(d, &n))
		return NULL;
	if (off > buflen || n > buflen - off)
		return fail(d, "bad view: outside its ArrayBuffer");
	if (d->version >= 14 && !read_varint(d, &flags))
		return NULL;
	if (d->version >= 14 && flags != 0)
		return fail(d, "bad view: resizable views are not supported");
	for (t = 0; t < NVIEWS; t++)
		if (view_types[t].v8 == (char)tag && view_types[t].v8 != 0)
			break;
	if (t == NVIEWS || tag > 0x7f)
		return fail(d, "bad view: unknown type");
	if (off % view_types[t].size != 0)
		return fail(d, "bad view: misaligned");
	if (!new_id(d, json, true, &id))
		return NULL;
	return make_view(d, t, buf + off, n);
}

static json_t *
read_arraybuffer(struct dec *d, bool resizable)
{
	uint32_t n, max = 0, id, json = d->next_json++;
	const unsigned char *s;
	json_t *a;

	if (!read_varint(d, &n) || (resizable && !read_varint(d, &max)))
		return NULL;
	if (resizable && n > max)
		return fail(d, "bad ArrayBuffer: longer than its maximum");
	if (!read_raw(d, n, &s) || !new_id(d, json, true, &id))
		return NULL;
	if (peek_tag(d) == 'V') {
		d->p++;
		return read_raw_view(d, s, n, json);
	}
	if (!resizable)
		return tagged("$arraybuffer", base64_string(d, s, n));
	if ((a = json_array()) == NULL ||
	    json_array_append_new(a, base64_string(d, s, n)) ||
	    json_array_append_new(a, json_integer(max)))
		return oom(d, a);
	return tagged("$arraybuffer", a);
}

static json_t *
read_ref(struct dec *d)
{
	uint32_t id;

	if (!read_varint(d, &id))
		return NULL;
	if (id >= d->nids || !d->ids[id].ready)
		return fail(d, "bad back-reference: no such object yet");
	return tagged("$ref", json_integer(d->ids[id].json));
}

static json_t *
read_value(struct dec *d)
{
	unsigned char tag;
	uint32_t u;
	double x;
	json_t *v;
	static const char *what[] = {
		"t", "transferred ArrayBuffer", "u", "SharedArrayBuffer",
		"p", "shared object", "w", "WebAssembly module",
		"m", "WebAssembly memory", NULL };
	char msg[64];
	int i;

	if (!read_tag(d, &tag))
		return NULL;
	switch (tag) {
	case '_':
		return tagged("$undefined", json_null());
	case '0':
		return json_null();
	case 'T':
		return json_true();
	case 'F':
		return json_false();
	case 'I':
		if (!read_varint(d, &u))
			return NULL;
		return json_integer((int32_t)((u >> 1) ^ -(u & 1)));
	case 'U':
		if (!read_varint(d, &u))
			return NULL;
		return json_integer(u);
	case 'N':
		if (!read_double(d, &x))
			return NULL;
		return make_number(x);
	case 'Z':
		return read_bigint(d);
	case '"':
	case 'c':
	case 'S':
		return read_string_body(d, tag);
	case '^':
		return read_ref(d);
	case '?':		/* an old object count: skip it */
		if (!read_varint(d, &u))
			return NULL;
		return read_value(d);
	case 'D':
		return read_date(d);
	case 'R':
		return read_regexp(d);
	case 'y':
	case 'x':
	case 'n':
	case 'z':
	case 's':
		return read_boxed(d, tag);
	case 'B':
		return read_arraybuffer(d, false);
	case '~':
		return read_arraybuffer(d, true);
	default:
		break;
	}
	/* Containers: bounded nesting. */
	if (d->depth >= CP_V8_MAX_DEPTH) {
		d->p--;
		return fail(d, "nested too deeply");
	}
	d->depth++;
	switch (tag) {
	case 'o':
		v = read_object(d);
		break;
	case 'A':
		v = read_array(d, true);
		break;
	case 'a':
		v = read_array(d, false);
		break;
	case ';':
		v = read_map(d, false);
		break;
	case '\'':
		v = read_map(d, true);
		break;
	case 'r':
		v = read_error(d);
		break;
	case '\\':
		v = read_host(d);
		break;
	default:
		d->p--;
		for (i = 0; what[i] != NULL; i += 2)
			if (what[i][0] == tag)
				break;
		if (what[i] != NULL)
			snprintf(msg, sizeof(msg), "unsupported: %s", what[i + 1]);
		else if (tag >= 0x20 && tag < 0x7f)
			snprintf(msg, sizeof(msg), "bad tag '%c' (0x%02x)",
			    tag, tag);
		else
			snprintf(msg, sizeof(msg), "bad tag 0x%02x", tag);
		v = fail(d, "%s", msg);
		break;
	}
	d->depth--;
	if (v == NULL && !d->failed)
		return oom(d, NULL);
	return v;
}

int
cp_v8_decode(const void *data, size_t len, unsigned flags, json_t **valuep,
    json_error_t *error)
{
	struct dec d;
	json_t *v = NULL;

	memset(&d, 0, sizeof(d));
	d.start = d.p = data;
	d.end = d.start + len;
	d.flags = flags;
	d.error = error;
	*valuep = NULL;
	if (len == 0 || d.start[0] != 0xff) {
		set_error(error, 0, "no header: not V8 serialization");
		return CP_PROTO_EPROTO;
	}
	d.p++;
	if (!read_varint(&d, &d.version))
		return CP_PROTO_EPROTO;
	if (d.version < 13) {
		set_error(error, 1, "unsupported format version (before 13)");
		return CP_PROTO_EPROTO;
	}
	if ((d.hole = tagged("$hole", json_null())) == NULL) {
		set_error(error, 0, "out of memory");
		return CP_PROTO_EPROTO;
	}
	if (peek_tag(&d) < 0)
		fail(&d, "truncated: no value after the header");
	else
		v = read_value(&d);
	json_decref(d.hole);
	free(d.ids);
	if (v == NULL)
		return CP_PROTO_EPROTO;
	*valuep = v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Encoder */

struct enc {
	struct cp_buf *out;
	size_t base;		/* where the header starts */
	unsigned flags;
	uint32_t next_id;
	unsigned char *pending;	/* per id: 1 while V8 could not resolve it */
	size_t cap;
	json_error_t *error;
	bool failed;
	int err;
};

static int encode_value(struct enc *e, const json_t *v, int depth);
static int efail(struct enc *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
efail(struct enc *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (!e->failed) {
		e->failed = true;
		e->err = err;
		va_start(ap, fmt);
		set_errorv(e->error, 0, fmt, ap);
		va_end(ap);
	}
	return e->err;
}

static int
put(struct enc *e, const void *p, size_t n)
{
	if (cp_buf_add(e->out, p, n) != 0)
		return efail(e, CP_PROTO_ENOMEM, "out of memory");
	return 0;
}

static int
put_byte(struct enc *e, unsigned char c)
{
	return put(e, &c, 1);
}

static size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >>= 7)
		n++;
	return n;
}

static int
put_varint(struct enc *e, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;

	do {
		b[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return put(e, b, n);
}

static int
put_double(struct enc *e, unsigned char tag, double x)
{
	int r;

	if ((r = put_byte(e, tag)) != 0)
		return r;
	return put(e, &x, 8);
}

static int
put_int32(struct enc *e, int32_t i)
{
	int r;

	if ((r = put_byte(e, 'I')) != 0)
		return r;
	return put_varint(e, (uint32_t)((uint32_t)i << 1) ^ (uint32_t)(i >> 31));
}

static int
put_number(struct enc *e, double x)
{
	if (x == floor(x) && x >= -2147483648.0 && x <= 2147483647.0 &&
	    !(x == 0 && signbit(x)))
		return put_int32(e, (int32_t)x);
	return put_double(e, 'N', x);
}

/* A new object id; pending ones cannot be referred to yet. */
static int
take_id(struct enc *e, bool pending, uint32_t *idp)
{
	unsigned char *n;
	size_t cap;

	if (e->next_id >= e->cap) {
		cap = e->cap ? e->cap * 2 : 64;
		if ((n = realloc(e->pending, cap)) == NULL)
			return efail(e, CP_PROTO_ENOMEM, "out of memory");
		e->pending = n;
		e->cap = cap;
	}
	e->pending[e->next_id] = pending;
	*idp = e->next_id++;
	return 0;
}

/* A UTF-8 string as V8 writes it: Latin-1 if it can, else UTF-16LE. */
static int
put_string(struct enc *e, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	struct cp_buf u = CP_BUF_INIT;
	uint32_t c;
	size_t i, k, pos;
	bool wide = false;
	int r;

	for (i = 0; i < len; i += k) {
		k = cp_wtf8_get(p + i, len - i, &c);
		if (c > 0xff) {
			wide = true;
			break;
		}
	}
	if (!wide) {
		if ((r = cp_buf_grow(&u, len + 1)) != 0)
			return efail(e, CP_PROTO_ENOMEM, "out of memory");
		for (i = 0; i < len; i += k) {
			k = cp_wtf8_get(p + i, len - i, &c);
			u.data[u.len++] = (char)c;
		}
		if ((r = put_byte(e, '"')) == 0 &&
		    (r = put_varint(e, u.len)) == 0)
			r = put(e, u.data, u.len);
		cp_buf_release(&u);
		return r;
	}
	if (cp_wtf8_to_utf16le(s, len, &u) != 0) {
		cp_buf_release(&u);
		return efail(e, CP_PROTO_ENOMEM, "out of memory");
	}
	r = 0;
	/* As V8: pad so that the UTF-16 data starts at an even offset. */
	pos = e->out->len - e->base;
	if ((pos + 1 + varint_len(u.len)) & 1)
		r = put_byte(e, 0);
	if (r == 0 && (r = put_byte(e, 'c')) == 0 &&
	    (r = put_varint(e, u.len)) == 0)
		r = put(e, u.data, u.len);
	cp_buf_release(&u);
	return r;
}

static int
put_jstring(struct enc *e, const json_t *s)
{
	return put_string(e, json_string_value(s), json_string_length(s));
}

/* A property key: array indices as numbers (as V8 writes them). */
static int
put_key(struct enc *e, const char *k, size_t len)
{
	uint32_t idx;

	if (array_index(k, len, &idx)) {
		if (idx <= 0x7fffffff)
			return put_int32(e, (int32_t)idx);
		return put_double(e, 'N', idx);
	}
	return put_string(e, k, len);
}

/* Writes the members of o as properties; returns the count in *np. */
static int
put_props(struct enc *e, const json_t *o, int depth, uint32_t *np,
    const char *skip)
{
	const char *k;
	void *it;
	size_t klen;
	int r;

	*np = 0;
	for (it = json_object_iter((json_t *)o); it != NULL;
	    it = json_object_iter_next((json_t *)o, it)) {
		k = json_object_iter_key(it);
		klen = json_object_iter_key_len(it);
		if (skip != NULL && strcmp(k, skip) == 0 && strlen(k) == klen)
			continue;
		if ((r = put_key(e, k, klen)) != 0 ||
		    (r = encode_value(e, json_object_iter_value(it),
		    depth + 1)) != 0)
			return r;
		(*np)++;
	}
	return 0;
}

static int
put_object(struct enc *e, const json_t *o, int depth)
{
	uint32_t id, n;
	int r;

	if ((r = take_id(e, false, &id)) != 0 || (r = put_byte(e, 'o')) != 0 ||
	    (r = put_props(e, o, depth, &n, NULL)) != 0 ||
	    (r = put_byte(e, '{')) != 0)
		return r;
	return put_varint(e, n);
}

static bool
is_tag(const json_t *v, const char *tag)
{
	void *it;

	if (!json_is_object(v) || json_object_size(v) != 1)
		return false;
	it = json_object_iter((json_t *)v);
	return strcmp(json_object_iter_key(it), tag) == 0;
}

static int
put_array(struct enc *e, const json_t *a, int depth)
{
	size_t i, n = json_array_size(a), holes = 0;
	uint32_t id;
	int r;

	if (n > 0xfffffffe)
		return efail(e, CP_PROTO_EINVAL, "array too long");
	for (i = 0; i < n; i++)
		if (is_tag(json_array_get(a, i), "$hole"))
			holes++;
	if ((r = take_id(e, false, &id)) != 0)
		return r;
	if (holes == 0) {	/* dense, as V8 writes a packed array */
		if ((r = put_byte(e, 'A')) != 0 || (r = put_varint(e, n)) != 0)
			return r;
		for (i = 0; i < n; i++)
			if ((r = encode_value(e, json_array_get(a, i),
			    depth + 1)) != 0)
				return r;
		if ((r = put_byte(e, '$')) != 0 || (r = put_varint(e, 0)) != 0)
			return r;
		return put_varint(e, n);
	}
	/* holey: sparse, as V8 writes a holey array */
	if ((r = put_byte(e, 'a')) != 0 || (r = put_varint(e, n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if (is_tag(json_array_get(a, i), "$hole"))
			continue;
		if ((r = put_int32(e, (int32_t)i)) != 0 ||
		    (r = encode_value(e, json_array_get(a, i), depth + 1)) != 0)
			return r;
	}
	if ((r = put_byte(e, '@')) != 0 || (r = put_varint(e, n - holes)) != 0)
		return r;
	return put_varint(e, n);
}

/* {"$array":{"length":N, ...}} */
static int
put_odd_array(struct enc *e, const json_t *o, int depth)
{
	const json_t *len = json_object_get(o, "length");
	const char *k;
	void *it;
	uint32_t id, n, idx;
	json_int_t l;
	int r;

	if (!json_is_object(o) || !json_is_integer(len) ||
	    (l = json_integer_value(len)) < 0 || l > 0xffffffffLL)
		return efail(e, CP_PROTO_EINVAL,
		    "$array needs an object with an integer \"length\"");
	for (it = json_object_iter((json_t *)o); it != NULL;
	    it = json_object_iter_next((json_t *)o, it)) {
		k = json_object_iter_key(it);
		if (array_index(k, json_object_iter_key_len(it), &idx) &&
		    idx >= l)
			return efail(e, CP_PROTO_EINVAL,
			    "$array: element %s past the length", k);
		if (is_tag(json_object_iter_value(it), "$hole"))
			return efail(e, CP_PROTO_EINVAL,
			    "$array: $hole as a property");
	}
	if ((r = take_id(e, false, &id)) != 0 || (r = put_byte(e, 'a')) != 0 ||
	    (r = put_varint(e, (uint64_t)l)) != 0 ||
	    (r = put_props(e, o, depth, &n, "length")) != 0 ||
	    (r = put_byte(e, '@')) != 0 || (r = put_varint(e, n)) != 0)
		return r;
	return put_varint(e, (uint64_t)l);
}

/*
 * base64 text (padding optional) -> bytes appended to b.  Returns 0,
 * CP_PROTO_EINVAL for text that is not base64, or CP_PROTO_ENOMEM.
 */
static int
unbase64(const char *s, size_t len, struct cp_buf *b)
{
	size_t i, n = 0;
	uint32_t g = 0;
	int v;
	unsigned char c;

	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return CP_PROTO_EINVAL;
	if (cp_buf_grow(b, len / 4 * 3 + 3) != 0)
		return CP_PROTO_ENOMEM;
	for (i = 0; i < len; i++) {
		if ((v = cp_base64_digit((unsigned char)s[i])) < 0)
			return CP_PROTO_EINVAL;
		g = g << 6 | (uint32_t)v;
		if (++n == 4) {
			c = (unsigned char)(g >> 16);
			b->data[b->len++] = (char)c;
			b->data[b->len++] = (char)(g >> 8);
			b->data[b->len++] = (char)g;
			n = 0;
			g = 0;
		}
	}
	if (n == 2)
		b->data[b->len++] = (char)(g >> 4);
	else if (n == 3) {
		b->data[b->len++] = (char)(g >> 10);
		b->data[b->len++] = (char)(g >> 2);
	}
	return 0;
}

static int
get_bytes(struct enc *e, const json_t *s, const char *what, struct cp_buf *b)
{
	int r = CP_PROTO_EINVAL;

	if (!json_is_string(s) ||
	    (r = unbase64(json_string_value(s), json_string_length(s), b)) != 0) {
		cp_buf_release(b);
		if (r == CP_PROTO_ENOMEM)
			return efail(e, r, "out of memory");
		return efail(e, r, "%s needs a base64 string", what);
	}
	if (b->len > 0xffffffffu) {
		cp_buf_release(b);
		return efail(e, CP_PROTO_EINVAL, "%s too long", what);
	}
	return 0;
}

static int
put_view(struct enc *e, unsigned t, const json_t *v)
{
	struct cp_buf b = CP_BUF_INIT;
	uint32_t id;
	int r;

	if ((r = get_bytes(e, v, view_types[t].tag, &b)) != 0)
		return r;
	if (b.len % view_types[t].size != 0) {
		cp_buf_release(&b);
		return efail(e, CP_PROTO_EINVAL,
		    "%s: length not a multiple of its element size",
		    view_types[t].tag);
	}
	if ((r = take_id(e, false, &id)) == 0 && (r = put_byte(e, '\\')) == 0 &&
	    ((e->flags & CP_V8_SERIALIZE) || (r = put_varint(e, 0)) == 0) &&
	    (r = put_varint(e, t)) == 0 && (r = put_varint(e, b.len)) == 0)
		r = put(e, b.data, b.len);
	cp_buf_release(&b);
	return r;
}

static int
put_arraybuffer(struct enc *e, const json_t *v)
{
	struct cp_buf b = CP_BUF_INIT;
	const json_t *data = v, *max = NULL;
	uint32_t id;
	int r;

	if (json_is_array(v)) {
		data = json_array_get(v, 0);
		max = json_array_get(v, 1);
		if (json_array_size(v) != 2 || !json_is_integer(max))
			return efail(e, CP_PROTO_EINVAL, "$arraybuffer needs \"base64\""
			    " or [\"base64\", maxByteLength]");
	}
	if ((r = get_bytes(e, data, "$arraybuffer", &b)) != 0)
		return r;
	if (max != NULL && (json_integer_value(max) < (json_int_t)b.len ||
	    json_integer_value(max) > 0xffffffffLL)) {
		cp_buf_release(&b);
		return efail(e, CP_PROTO_EINVAL, "$arraybuffer: bad maxByteLength");
	}
	if ((r = take_id(e, false, &id)) == 0 &&
	    (r = put_byte(e, max ? '~' : 'B')) == 0 &&
	    (r = put_varint(e, b.len)) == 0 &&
	    (max == NULL || (r = put_varint(e,
	    (uint64_t)json_integer_value(max))) == 0))
		r = put(e, b.data, b.len);
	cp_buf_release(&b);
	return r;
}

/* Decimal text -> V8's BigInt bitfield and 64-bit little-endian digits. */
static int
put_bigint(struct enc *e, unsigned char tag, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v), i, nw = 0, j;
	bool neg = false;
	uint32_t *w;
	uint64_t carry;
	unsigned char *bytes;
	size_t nbytes;
	int r;

	if (!json_is_string(v))
		return efail(e, CP_PROTO_EINVAL, "$bigint needs a decimal string");
	if (len > 0 && s[0] == '-') {
		neg = true;
		s++;
		len--;
	}
	if (len == 0 || len > CP_V8_MAX_BIGINT * 5 / 2)
		return efail(e, CP_PROTO_EINVAL, "$bigint: bad or too long number");
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return efail(e, CP_PROTO_EINVAL,
			    "$bigint needs a decimal string");
	if ((w = calloc(len / 9 + 2, sizeof(*w))) == NULL)
		return efail(e, CP_PROTO_ENOMEM, "out of memory");
	for (i = 0; i < len; i++) {	/* w = w * 10 + digit */
		carry = (unsigned)(s[i] - '0');
		for (j = 0; j < nw; j++) {
			carry += (uint64_t)w[j] * 10;
			w[j] = (uint32_t)carry;
			carry >>= 32;
		}
		if (carry)
			w[nw++] = (uint32_t)carry;
	}
	nbytes = (nw + 1) / 2 * 8;	/* whole 64-bit digits */
	if (nbytes > CP_V8_MAX_BIGINT) {
		free(w);
		return efail(e, CP_PROTO_EINVAL, "$bigint: too large");
	}
	if ((bytes = calloc(nbytes ? nbytes : 1, 1)) == NULL) {
		free(w);
		return efail(e, CP_PROTO_ENOMEM, "out of memory");
	}
	for (j = 0; j < nw; j++)
		for (i = 0; i < 4; i++)
			bytes[j * 4 + i] = (unsigned char)(w[j] >> (8 * i));
	if ((r = put_byte(e, tag)) == 0 &&
	    (r = put_varint(e, (uint64_t)nbytes << 1 | (neg && nw))) == 0)
		r = put(e, bytes, nbytes);
	free(w);
	free(bytes);
	return r;
}

static int
put_special_number(struct enc *e, unsigned char tag, const json_t *v)
{
	const char *s = json_string_value(v);
	double x;

	if (s == NULL)
		goto bad;
	if (strcmp(s, "NaN") == 0)
		x = NAN;
	else if (strcmp(s, "Infinity") == 0)
		x = INFINITY;
	else if (strcmp(s, "-Infinity") == 0)
		x = -INFINITY;
	else if (strcmp(s, "-0") == 0)
		x = -0.0;
	else
		goto bad;
	return put_double(e, tag, x);
bad:
	return efail(e, CP_PROTO_EINVAL,
	    "$number needs \"NaN\", \"Infinity\", \"-Infinity\" or \"-0\"");
}

static int
put_date(struct enc *e, const json_t *v)
{
	uint32_t id;
	double x;
	int r;

	if (json_is_null(v))
		x = NAN;
	else if (json_is_number(v))
		x = json_number_value(v);
	else
		return efail(e, CP_PROTO_EINVAL, "$date needs a number or null");
	if (isnan(x) || fabs(x) > TIME_CLIP)
		x = NAN;
	else
		x = trunc(x) + 0.0;
	if ((r = take_id(e, false, &id)) != 0)
		return r;
	return put_double(e, 'D', x);
}

static int
put_regexp(struct enc *e, const json_t *v)
{
	const json_t *src = json_array_get(v, 0), *fl = json_array_get(v, 1);
	const char *f, *p;
	uint32_t bits = 0, bit, id;
	int r;

	if (json_array_size(v) != 2 || !json_is_string(src) ||
	    !json_is_string(fl))
		return efail(e, CP_PROTO_EINVAL,
		    "$regexp needs [\"source\", \"flags\"]");
	for (f = json_string_value(fl); *f; f++) {
		if (*f == 'l' || (p = strchr(regexp_flags, *f)) == NULL)
			return efail(e, CP_PROTO_EINVAL, "$regexp: bad flag '%s'",
			    json_string_value(fl));
		bit = 1u << (p - regexp_flags);
		if (bits & bit)
			return efail(e, CP_PROTO_EINVAL, "$regexp: flag twice in "
			    "'%s'", json_string_value(fl));
		bits |= bit;
	}
	if ((bits & 0x110) == 0x110)
		return efail(e, CP_PROTO_EINVAL, "$regexp: flags u and v together");
	if ((r = take_id(e, false, &id)) != 0 || (r = put_byte(e, 'R')) != 0 ||
	    (r = put_jstring(e, src)) != 0)
		return r;
	return put_varint(e, bits);
}

static int
put_map(struct enc *e, const json_t *v, bool is_set, int depth)
{
	const json_t *p;
	size_t i, n = json_array_size(v);
	uint32_t id;
	int r;

	if (!json_is_array(v))
		return efail(e, CP_PROTO_EINVAL, "%s needs an array",
		    is_set ? "$set" : "$map");
	if ((r = take_id(e, false, &id)) != 0 ||
	    (r = put_byte(e, is_set ? '\'' : ';')) != 0)
		return r;
	for (i = 0; i < n; i++) {
		p = json_array_get(v, i);
		if (is_set) {
			if ((r = encode_value(e, p, depth + 1)) != 0)
				return r;
			continue;
		}
		if (!json_is_array(p) || json_array_size(p) != 2)
			return efail(e, CP_PROTO_EINVAL,
			    "$map needs [key, value] pairs");
		if ((r = encode_value(e, json_array_get(p, 0), depth + 1)) ||
		    (r = encode_value(e, json_array_get(p, 1), depth + 1)))
			return r;
	}
	if ((r = put_byte(e, is_set ? ',' : ':')) != 0)
		return r;
	return put_varint(e, is_set ? n : 2 * n);
}

static int
put_boxed(struct enc *e, const json_t *v)
{
	uint32_t id;
	int r;

	if ((r = take_id(e, false, &id)) != 0)
		return r;
	if (json_is_true(v))
		return put_byte(e, 'y');
	if (json_is_false(v))
		return put_byte(e, 'x');
	if (json_is_number(v))
		return put_double(e, 'n', json_number_value(v));
	if (json_is_string(v))
		return (r = put_byte(e, 's')) != 0 ? r : put_jstring(e, v);
	if (is_tag(v, "$number"))
		return put_special_number(e, 'n', json_object_get(v,
		    "$number"));
	if (is_tag(v, "$bigint"))
		return put_bigint(e, 'z', json_object_get(v, "$bigint"));
	return efail(e, CP_PROTO_EINVAL,
	    "$boxed needs a boolean, number, string or $bigint");
}

static int
put_error(struct enc *e, const json_t *v, int depth)
{
	const json_t *name, *msg, *stack, *cause;
	const char *k;
	void *it;
	uint32_t id;
	size_t i;
	int r;

	if (!json_is_object(v))
		return efail(e, CP_PROTO_EINVAL, "$error needs an object");
	for (it = json_object_iter((json_t *)v); it != NULL;
	    it = json_object_iter_next((json_t *)v, it)) {
		k = json_object_iter_key(it);
		if (strcmp(k, "name") && strcmp(k, "message") &&
		    strcmp(k, "stack") && strcmp(k, "cause"))
			return efail(e, CP_PROTO_EINVAL, "$error: unknown member "
			    "\"%.60s\"", k);
	}
	name = json_object_get(v, "name");
	msg = json_object_get(v, "message");
	stack = json_object_get(v, "stack");
	cause = json_object_get(v, "cause");
	if ((name && !json_is_string(name)) || (msg && !json_is_string(msg)) ||
	    (stack && !json_is_string(stack)))
		return efail(e, CP_PROTO_EINVAL,
		    "$error: name, message and stack must be strings");
	for (i = 0; name && i < 6; i++)
		if (strcmp(json_string_value(name), error_names[i]) == 0)
			break;
	if (name && i == 6 && strcmp(json_string_value(name), "Error") != 0)
		return efail(e, CP_PROTO_EINVAL, "$error: name \"%.60s\" is not one "
		    "V8 can send (Error, EvalError, RangeError, ...)",
		    json_string_value(name));
	if ((r = take_id(e, true, &id)) != 0 || (r = put_byte(e, 'r')) != 0)
		return r;
	if (name && i < 6 && (r = put_byte(e, (unsigned char)error_tags[i])))
		return r;
	if (msg && ((r = put_byte(e, 'm')) || (r = put_jstring(e, msg))))
		return r;
	/*
	 * The stack before the cause: V8 11 (Node 20) writes the cause first
	 * but reads either order; V8 12 and later (Node 22+) write the stack
	 * first and refuse the other order.
	 */
	if (stack && ((r = put_byte(e, 's')) || (r = put_jstring(e, stack))))
		return r;
	if (cause && ((r = put_byte(e, 'c')) ||
	    (r = encode_value(e, cause, depth + 1))))
		return r;
	e->pending[id] = 0;
	return put_byte(e, '.');
}

static int
put_ref(struct enc *e, const json_t *v)
{
	json_int_t n;
	int r;

	if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 ||
	    n >= e->next_id)
		return efail(e, CP_PROTO_EINVAL, "$ref: no such object before it");
	if (e->pending[n])
		return efail(e, CP_PROTO_EINVAL,
		    "$ref: an Error cannot refer to itself");
	if ((r = put_byte(e, '^')) != 0)
		return r;
	return put_varint(e, (uint64_t)n);
}

static int
put_tagged(struct enc *e, const char *tag, const json_t *v, int depth)
{
	unsigned t;

	if (strcmp(tag, "$undefined") == 0 && json_is_null(v))
		return put_byte(e, '_');
	if (strcmp(tag, "$number") == 0)
		return put_special_number(e, 'N', v);
	if (strcmp(tag, "$bigint") == 0)
		return put_bigint(e, 'Z', v);
	if (strcmp(tag, "$ref") == 0)
		return put_ref(e, v);
	if (strcmp(tag, "$date") == 0)
		return put_date(e, v);
	if (strcmp(tag, "$regexp") == 0)
		return put_regexp(e, v);
	if (strcmp(tag, "$map") == 0)
		return put_map(e, v, false, depth);
	if (strcmp(tag, "$set") == 0)
		return put_map(e, v, true, depth);
	if (strcmp(tag, "$arraybuffer") == 0)
		return put_arraybuffer(e, v);
	if (strcmp(tag, "$boxed") == 0)
		return put_boxed(e, v);
	if (strcmp(tag, "$error") == 0)
		return put_error(e, v, depth);
	if (strcmp(tag, "$array") == 0)
		return put_odd_array(e, v, depth);
	if (strcmp(tag, "$object") == 0) {
		if (!json_is_object(v))
			return efail(e, CP_PROTO_EINVAL, "$object needs an object");
		return put_object(e, v, depth);
	}
	for (t = 0; t < NVIEWS; t++)
		if (strcmp(tag, view_types[t].tag) == 0)
			return put_view(e, t, v);
	if (strcmp(tag, "$hole") == 0)
		return efail(e, CP_PROTO_EINVAL, "$hole outside an array");
	return efail(e, CP_PROTO_EINVAL, "unknown tag \"%.60s\" (write a plain "
	    "object with one '$' member as {\"$object\":{...}})", tag);
}

static int
encode_value(struct enc *e, const json_t *v, int depth)
{
	void *it;
	double x;

	if (depth > CP_V8_MAX_DEPTH &&
	    (json_is_array(v) || json_is_object(v)))
		return efail(e, CP_PROTO_EINVAL, "nested too deeply");
	switch (json_typeof(v)) {
	case JSON_NULL:
		return put_byte(e, '0');
	case JSON_TRUE:
		return put_byte(e, 'T');
	case JSON_FALSE:
		return put_byte(e, 'F');
	case JSON_INTEGER:
		return put_number(e, (double)json_integer_value(v));
	case JSON_REAL:
		x = json_real_value(v);
		if (isnan(x) || isinf(x))
			return efail(e, CP_PROTO_EINVAL, "a real that is not finite");
		return put_number(e, x);
	case JSON_STRING:
		return put_jstring(e, v);
	case JSON_ARRAY:
		return put_array(e, v, depth);
	case JSON_OBJECT:
		if (json_object_size(v) == 1) {
			it = json_object_iter((json_t *)v);
			if (json_object_iter_key(it)[0] == '$')
				return put_tagged(e, json_object_iter_key(it),
				    json_object_iter_value(it), depth);
		}
		return put_object(e, v, depth);
	}
	return efail(e, CP_PROTO_EINVAL, "not a JSON value");
}

int
cp_v8_encode(const json_t *value, unsigned flags, struct cp_buf *out,
    json_error_t *error)
{
	struct enc e;
	size_t old = out->len;
	int r;

	memset(&e, 0, sizeof(e));
	e.out = out;
	e.base = out->len;
	e.flags = flags;
	e.error = error;
	if (value == NULL) {
		set_error(error, 0, "no value");
		return CP_PROTO_EINVAL;
	}
	if ((r = put_byte(&e, 0xff)) == 0 &&
	    (r = put_varint(&e, CP_V8_VERSION)) == 0)
		r = encode_value(&e, value, 1);
	free(e.pending);
	if (r != 0)
		out->len = old;
	return r;
}

int
cp_v8_encode_frame(const json_t *value, struct cp_buf *out,
    json_error_t *error)
{
	size_t old = out->len, n;
	unsigned char *p;
	int r;

	if ((r = cp_buf_add(out, "\0\0\0\0", 4)) != 0)
		return r;
	if ((r = cp_v8_encode(value, 0, out, error)) != 0) {
		out->len = old;
		return r;
	}
	n = out->len - old - 4;
	if (n > CP_V8_MAX_FRAME) {
		out->len = old;
		set_error(error, 0, "message too long for one frame");
		return CP_PROTO_EMSGSIZE;
	}
	p = (unsigned char *)out->data + old;
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Framer */

/* Stream offset of buf[start]. */
static uint64_t
head_off(const struct cp_frame *f)
{
	return f->total - (f->buf.len - f->start);
}

void
cp_v8_frame_commit(struct cp_frame *f, size_t n, cp_frame_line_cb cb,
    void *arg)
{
	const unsigned char *p;
	size_t have, drop, max;
	uint32_t len;
	char *frame;

	max = f->max < 0xffffffffu ? f->max : 0xffffffffu;
	f->buf.len += n;
	f->total += n;
	for (;;) {
		have = f->buf.len - f->start;
		if (f->skipped > 0) {	/* the rest of an oversized frame */
			drop = have < f->skipped ? have : f->skipped;
			f->start += drop;
			f->skipped -= drop;
			if (f->skipped > 0)
				break;
			continue;
		}
		if (have < 4)
			break;
		p = (const unsigned char *)f->buf.data + f->start;
		len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		f->line_off = head_off(f);
		if (len > max) {
			f->start += 4;
			f->skipped = len;
			cb(arg, CP_PROTO_EMSGSIZE, (char *)"", len);
			continue;
		}
		if (have - 4 < len)
			break;
		frame = f->buf.data + f->start + 4;
		f->start += 4 + (size_t)len;
		cb(arg, 0, frame, len);
	}
	f->line_off = head_off(f);
	if (f->start == f->buf.len)
		f->start = f->buf.len = 0;
}

int
cp_v8_frame_feed(struct cp_frame *f, const void *data, size_t len,
    cp_frame_line_cb cb, void *arg)
{
	char *buf;
	size_t room;
	int r;

	if (len == 0)
		return 0;
	if ((r = cp_frame_reserve(f, len, &buf, &room)) != 0)
		return r;
	memcpy(buf, data, len);
	cp_v8_frame_commit(f, len, cb, arg);
	return 0;
}

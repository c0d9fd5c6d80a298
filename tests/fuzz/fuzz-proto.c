/*
 * tests/fuzz/fuzz-proto.c - libFuzzer target for proto/: the framer and
 * the json codec together, as the channel uses them.
 *
 * Input: byte 0 picks the maximum line length (a small one half of the
 * time, to reach CP_PROTO_EMSGSIZE), bytes 1-4 seed the split of the rest into
 * reads.  Checks:
 *   - the framer gives the same lines whatever the split, as a plain
 *     split of the whole input on '\n' does;
 *   - every line that decodes re-encodes as one line, and decoding that
 *     gives the same value (numbers compared by value: 1.0 is written
 *     "1" and reads back as an integer, as in Node) whose encoding is
 *     byte for byte the same;
 *   - cp_msg_validate agrees with cp_msg_decode.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "frame.h"
#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct lines {
	size_t n;
	size_t max;
	const char *ref;	/* the input after the header */
	size_t ref_off;		/* where the next expected line starts */
	size_t ref_len;
};

/* Equal values, numbers compared as JavaScript would: by value. */
static bool
same_value(const json_t *a, const json_t *b)
{
	const char *ka, *kb;
	void *ia, *ib;
	size_t i;

	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b),
		    json_string_length(a)) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (i = 0; i < json_array_size(a); i++)
			if (!same_value(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	case JSON_OBJECT:
		/* Same keys in the same order: insertion order is kept. */
		if (json_object_size(a) != json_object_size(b))
			return false;
		ia = json_object_iter((json_t *)a);
		ib = json_object_iter((json_t *)b);
		for (; ia != NULL && ib != NULL;
		    ia = json_object_iter_next((json_t *)a, ia),
		    ib = json_object_iter_next((json_t *)b, ib)) {
			ka = json_object_iter_key(ia);
			kb = json_object_iter_key(ib);
			if (strcmp(ka, kb) != 0 ||
			    !same_value(json_object_iter_value(ia),
			    json_object_iter_value(ib)))
				return false;
		}
		return ia == NULL && ib == NULL;
	default:
		return true;	/* true, false, null */
	}
}

static void
check_codec(const char *line, size_t len)
{
	struct cp_buf e1 = CP_BUF_INIT, e2 = CP_BUF_INIT;
	json_t *v, *v2;
	int r;

	r = cp_msg_decode(line, len, &v, NULL);
	ASSERT_EQ(cp_msg_validate(line, len, NULL), r);
	if (r != 0) {
		ASSERT_EQ(r, CP_PROTO_EPROTO);
		ASSERT(v == NULL);
		return;
	}
	r = cp_msg_encode(v, &e1);
	if (r == CP_PROTO_EINVAL) {	/* nested too deep to encode: refused whole */
		ASSERT_UEQ(e1.len, 0);
		json_decref(v);
		return;
	}
	ASSERT_EQ(r, 0);
	/* One line: a single '\n', at the end. */
	ASSERT(e1.len >= 2);
	ASSERT_EQ(e1.data[e1.len - 1], '\n');
	ASSERT(memchr(e1.data, '\n', e1.len - 1) == NULL);
	ASSERT(memchr(e1.data, '\r', e1.len - 1) == NULL);

	r = cp_msg_decode(e1.data, e1.len - 1, &v2, NULL);
	if (r != 0)
		CP_FAIL_("our own encoding does not decode: %.*s",
		    (int)(e1.len > 200 ? 200 : e1.len), e1.data);
	ASSERT(same_value(v, v2));
	ASSERT_EQ(cp_msg_is_internal(v), cp_msg_is_internal(v2));
	ASSERT_EQ(cp_msg_encode(v2, &e2), 0);
	ASSERT_MEM_EQ(e1.data, e1.len, e2.data, e2.len);
	json_decref(v);
	json_decref(v2);
	cp_buf_release(&e1);
	cp_buf_release(&e2);
}

/* Each framed line must be the next line of a plain split on '\n'. */
static void
on_line(void *arg, int err, char *line, size_t len)
{
	struct lines *ls = arg;
	const char *p = ls->ref + ls->ref_off, *nl;
	size_t raw;

	nl = memchr(p, '\n', ls->ref_len - ls->ref_off);
	ASSERT(nl != NULL);
	raw = (size_t)(nl - p);
	ls->ref_off += raw + 1;
	ls->n++;
	if (raw > ls->max) {
		ASSERT_EQ(err, CP_PROTO_EMSGSIZE);
		ASSERT_UEQ(len, raw);
		return;
	}
	ASSERT_EQ(err, 0);
	if (raw > 0 && p[raw - 1] == '\r')
		raw--;
	ASSERT_MEM_EQ(line, len, p, raw);
	ASSERT_EQ(line[len], '\0');
	check_codec(line, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_frame f;
	struct lines ls;
	uint32_t seed;
	size_t off = 0, n, max, tail;
	const char *p;

	if (size < 5)
		return 0;
	max = data[0] & 0x80 ? (size_t)(data[0] & 0x7f) + 1 : 0;
	memcpy(&seed, data + 1, sizeof(seed));
	seed |= 1;
	data += 5;
	size -= 5;

	memset(&ls, 0, sizeof(ls));
	ls.ref = (const char *)data;
	ls.ref_len = size;
	cp_frame_init(&f, max);
	ls.max = f.max;
	while (off < size) {
		/* xorshift32: the split is part of the input, so reproducible. */
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		n = seed % 8 == 0 ? size - off : 1 + seed % 64;
		if (n > size - off)
			n = size - off;
		ASSERT_EQ(cp_frame_feed(&f, (const char *)data + off, n,
		    on_line, &ls), 0);
		off += n;
	}
	/* Everything up to the last '\n' was delivered; the rest is pending. */
	p = size ? memrchr(data, '\n', size) : NULL;
	tail = p ? size - (size_t)(p + 1 - (const char *)data) : size;
	ASSERT_UEQ(ls.ref_off, size - tail);
	ASSERT_UEQ(cp_frame_pending(&f), tail);
	cp_frame_release(&f);
	return 0;
}

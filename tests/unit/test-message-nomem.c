/*
 * tests/unit/test-message-nomem.c - the json codec when memory runs out
 * (issue 7, defect 7): every allocation of a decode is made to fail in
 * turn.  A decode either gives the whole value or CP_PROTO_ENOMEM with no value
 * and "out of memory": never a value cut short (parse_string used to drop
 * what cp_buf_add returned and deliver a truncated string) and never
 * CP_PROTO_EPROTO, which would call a good line bad.
 *
 * proto/'s own malloc and realloc are wrapped at link time (see
 * meson.build); jansson's allocations come through json_set_alloc_funcs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "message.h"
#include "nomem.h"

#define S(lit) lit, sizeof(lit) - 1

static void *
json_alloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

static void
json_release(void *p)
{
	free(p);
}

/* Decodes line with each allocation failing in turn. */
static void
decode_under_failures(const char *line, size_t len)
{
	json_error_t e;
	json_t *want, *v;
	unsigned long n, nomem = 0;
	int r;

	fail_at = 0;
	ASSERT_EQ(cp_msg_decode(line, len, &want, NULL), 0);
	for (n = 1; ; n++) {
		fail_at = n;
		count = failed = 0;
		memset(&e, 0, sizeof(e));
		v = (json_t *)&v;
		r = cp_msg_decode(line, len, &v, &e);
		fail_at = 0;
		if (failed == 0) {
			/* Past the last allocation: the whole value. */
			ASSERT_EQ(r, 0);
			ASSERT(json_equal(v, want));
			json_decref(v);
			break;
		}
		if (r == 0) {
			/* Recovered (none of ours does yet): then it is whole. */
			ASSERT(json_equal(v, want));
			json_decref(v);
			continue;
		}
		if (r != CP_PROTO_ENOMEM) {
			fprintf(stderr, "allocation %lu failing gave %d (%s) on ",
			    n, r, e.text);
			cp_test_dump_(line, len);
			fputc('\n', stderr);
		}
		ASSERT_EQ(r, CP_PROTO_ENOMEM);
		ASSERT(v == NULL);
		ASSERT_STR_EQ(e.text, "out of memory");
		ASSERT_EQ(cp_msg_validate(line, len, NULL), 0);
		fail_at = n;
		count = 0;
		ASSERT_EQ(cp_msg_validate(line, len, NULL), CP_PROTO_ENOMEM);
		fail_at = 0;
		nomem++;
	}
	ASSERT_GT(nomem, 0);
	json_decref(want);
}

static void
nomem_decode_strings(void)
{
	/* Escapes, bad UTF-8 and surrogates go through the string buffer. */
	decode_under_failures(S("\"a\\nb\\\"c\\\\d\\/e\\bf\\fg\\rh\\ti\""));
	decode_under_failures(S("\"x\\u00e9\\ud83d\\ude00\\ud800y\""));
	decode_under_failures(S("\"bad \xff\xfe utf-8 \xed\xa0\x80\""));
	decode_under_failures(S("\"\\n\""));
	decode_under_failures(S("\"\\u0000\""));
}

static void
nomem_decode_containers(void)
{
	decode_under_failures(S("{\"k\\n\":\"v\\t\",\"a\":[1,2.5,\"\\u0041\","
	    "{\"b\":null,\"c\":true}],\"d\":-12345678901234567890}"));
	decode_under_failures(S("[[[[]]],{},\"\",\"\\\\\"]"));
	/* A number longer than the parser's stack buffer is malloc'd. */
	decode_under_failures(S("1.00000000000000000000000000000000000000000"
	    "000000000000000000000000000000000000001"));
}

static void
nomem_encode(void)
{
	struct cp_buf b = CP_BUF_INIT, want = CP_BUF_INIT;
	char big[1000];
	json_t *v;
	unsigned long n, nomem = 0;
	int r;

	/* Long enough that the buffer grows more than once. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	v = json_pack("{s:s, s:[i, f], s:s}", "s", "a\nb", "n", 1, 2.5,
	    "big", big);
	ASSERT(v != NULL);
	ASSERT_EQ(cp_buf_add(&want, "kept", 4), 0);
	ASSERT_EQ(cp_msg_encode(v, &want), 0);
	for (n = 1; ; n++) {
		ASSERT_EQ(cp_buf_add(&b, "kept", 4), 0);
		fail_at = n;
		count = failed = 0;
		r = cp_msg_encode(v, &b);
		fail_at = 0;
		if (failed == 0) {
			ASSERT_EQ(r, 0);
			break;
		}
		/* Nothing half-written after what was there. */
		ASSERT_EQ(r, CP_PROTO_ENOMEM);
		ASSERT_MEM_EQ(b.data, b.len, "kept", 4);
		cp_buf_release(&b);
		nomem++;
	}
	ASSERT_GT(nomem, 0);
	ASSERT_MEM_EQ(b.data, b.len, want.data, want.len);
	cp_buf_release(&b);
	cp_buf_release(&want);
	json_decref(v);
}

int
main(void)
{
	json_set_alloc_funcs(json_alloc, json_release);
	RUN(nomem_decode_strings);
	RUN(nomem_decode_containers);
	RUN(nomem_encode);
	return 0;
}

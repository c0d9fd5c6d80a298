/*
 * tests/unit/test-message.c - the json codec (proto/message.c) against
 * childproc-ipc(7), "Messages", and childproc(3), "Messages and JSON".  The expected values were checked
 * with node v20 (JSON.parse, JSON.stringify, StringDecoder); the
 * node-oracle test compares the same things with node at run time.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "message.h"
#include "v8.h"

#define S(lit) lit, sizeof(lit) - 1

static json_t *
decode_ok(const char *line, size_t len)
{
	json_error_t e;
	json_t *v = NULL;
	int r;

	r = cp_msg_decode(line, len, &v, &e);
	if (r != 0) {
		fprintf(stderr, "decode failed: %s\n  ", e.text);
		cp_test_dump_(line, len);
		fputc('\n', stderr);
	}
	ASSERT_EQ(r, 0);
	ASSERT(v != NULL);
	return v;
}

static void
decode_fails(const char *line, size_t len)
{
	json_error_t e;
	json_t *v = (json_t *)&v;	/* must be reset to NULL */

	memset(&e, 0, sizeof(e));
	if (cp_msg_decode(line, len, &v, &e) != CP_PROTO_EPROTO) {
		fprintf(stderr, "decoded, but JSON.parse throws on:\n  ");
		cp_test_dump_(line, len);
		fputc('\n', stderr);
		ASSERT(0);
	}
	ASSERT(v == NULL);
	ASSERT(e.text[0] != '\0');	/* says why */
	ASSERT_EQ(cp_msg_decode(line, len, &v, NULL), CP_PROTO_EPROTO);
	ASSERT_EQ(cp_msg_validate(line, len, NULL), CP_PROTO_EPROTO);
}

/* The encoding of v, checked to be one line, without its '\n'. */
static void
encode_is(const json_t *v, const char *want, size_t wantlen)
{
	struct cp_buf b = CP_BUF_INIT;

	ASSERT_EQ(cp_msg_encode(v, &b), 0);
	ASSERT(b.len >= 1);
	ASSERT_EQ(b.data[b.len - 1], '\n');
	ASSERT(memchr(b.data, '\n', b.len - 1) == NULL);
	ASSERT_MEM_EQ(b.data, b.len - 1, want, wantlen);
	cp_buf_release(&b);
}

/* decode(in) then encode gives want (JSON.stringify(JSON.parse(in))). */
static void
roundtrip(const char *in, size_t inlen, const char *want, size_t wantlen)
{
	json_t *v = decode_ok(in, inlen);

	encode_is(v, want, wantlen);
	ASSERT_EQ(cp_msg_validate(in, inlen, NULL), 0);
	json_decref(v);
}

/* A decoded string's bytes. */
static void
string_is(const char *in, size_t inlen, const char *want, size_t wantlen)
{
	json_t *v = decode_ok(in, inlen);

	ASSERT(json_is_string(v));
	ASSERT_MEM_EQ(json_string_value(v), json_string_length(v), want,
	    wantlen);
	json_decref(v);
}

static void
msg_decode_any_top_level_value(void)
{
	json_t *v;

	v = decode_ok(S("null"));
	ASSERT(json_is_null(v));
	json_decref(v);
	v = decode_ok(S("\"s\""));
	ASSERT_STR_EQ(json_string_value(v), "s");
	json_decref(v);
	v = decode_ok(S("42"));
	ASSERT(json_is_integer(v));
	ASSERT_EQ(json_integer_value(v), 42);
	json_decref(v);
	v = decode_ok(S("true"));
	ASSERT(json_is_true(v));
	json_decref(v);
	v = decode_ok(S("false"));
	ASSERT(json_is_false(v));
	json_decref(v);
	v = decode_ok(S("[1]"));
	ASSERT(json_is_array(v));
	ASSERT_EQ(json_integer_value(json_array_get(v, 0)), 1);
	json_decref(v);
	v = decode_ok(S("-1.5e3"));
	ASSERT(json_is_real(v));
	ASSERT(json_real_value(v) == -1500.0);
	json_decref(v);
	roundtrip(S("{\"a\":[1,{\"b\":null}],\"c\":\"d\"}"),
	    S("{\"a\":[1,{\"b\":null}],\"c\":\"d\"}"));
	roundtrip(S("[]"), S("[]"));
	roundtrip(S("{}"), S("{}"));
}

/* JSON.parse allows JSON whitespace around the value ({"a":1}\r\n works). */
static void
msg_decode_whitespace_around(void)
{
	roundtrip(S("  {\"a\":1}  "), S("{\"a\":1}"));
	roundtrip(S("{\"a\":1}\r"), S("{\"a\":1}"));
	roundtrip(S("\t[ 1 , 2 ]\r\r"), S("[1,2]"));
	roundtrip(S("\r\n1\n"), S("1"));
}

static void
msg_decode_rejects_what_json_parse_rejects(void)
{
	decode_fails(S(""));				/* empty line */
	decode_fails(S(" "));				/* whitespace only */
	decode_fails(S(" \t\r "));
	decode_fails(S("\xef\xbb\xbf{}"));		/* UTF-8 BOM */
	decode_fails(S("{\"a\":1}{\"b\":2}"));		/* two values */
	decode_fails(S("1 2"));
	decode_fails(S("\"a\tb\""));			/* raw TAB in a string */
	decode_fails(S("\"a\0b\""));			/* raw NUL in a string */
	decode_fails(S("\0"));
	decode_fails(S("\"\x1f\""));
	decode_fails(S("undefined"));			/* what Node can write */
	decode_fails(S("NaN"));
	decode_fails(S("Infinity"));
	decode_fails(S("-Infinity"));
	decode_fails(S("'a'"));
	decode_fails(S("[1,]"));
	decode_fails(S("{\"a\":1,}"));
	decode_fails(S("/* c */ 1"));
	decode_fails(S("01"));
	decode_fails(S("+1"));
	decode_fails(S(".5"));
	decode_fails(S("1."));
	decode_fails(S("0x10"));
	decode_fails(S("\"\\x41\""));
	decode_fails(S("{\"a\"}"));
	decode_fails(S("{a:1}"));
	decode_fails(S("tru"));
	decode_fails(S("[1"));
	decode_fails(S("\"open"));
	decode_fails(S("\xff"));			/* U+FFFD is no JSON token */
}

/* Raw U+2028/U+2029 are legal in JSON strings and Node writes them raw. */
static void
msg_decode_raw_line_separators(void)
{
	string_is(S("\"\xe2\x80\xa8|\xe2\x80\xa9\""),
	    S("\xe2\x80\xa8|\xe2\x80\xa9"));
	roundtrip(S("\"\\u2028\\u2029\""), S("\"\xe2\x80\xa8\xe2\x80\xa9\""));
}

static void
msg_decode_emoji(void)
{
	string_is(S("\"\xf0\x9f\x98\x80\""), S("\xf0\x9f\x98\x80"));
	/* A surrogate pair escape is one 4-byte character. */
	string_is(S("\"\\ud83d\\ude00\""), S("\xf0\x9f\x98\x80"));
	string_is(S("\"\\uD83D\\uDE00\""), S("\xf0\x9f\x98\x80"));
	roundtrip(S("[\"\\ud83d\\ude00\"]"), S("[\"\xf0\x9f\x98\x80\"]"));
}

/*
 * Node's JSON.parse keeps a lone surrogate in its UTF-16 string and
 * JSON.stringify escapes it again; the decoder keeps it in WTF-8 (its
 * 3-byte generalized UTF-8 form) and the encoder escapes that, so a C
 * echo sends what Node's echo sends (issue 7, defect 8; node v20:
 * JSON.stringify(JSON.parse('"\\ud800"')) is "\\ud800").  Only a high
 * surrogate followed by a low one pairs.
 */
static void
msg_decode_lone_surrogate_is_kept(void)
{
#define D800 "\xed\xa0\x80"
#define DBFF "\xed\xaf\xbf"
#define DC00 "\xed\xb0\x80"
#define DFFF "\xed\xbf\xbf"
	json_t *v;

	string_is(S("\"\\ud800\""), S(D800));
	string_is(S("\"\\uDBFF\""), S(DBFF));
	string_is(S("\"\\udc00\""), S(DC00));
	string_is(S("\"a\\ud800b\""), S("a" D800 "b"));
	string_is(S("\"\\ud800\\ud800\""), S(D800 D800));
	string_is(S("\"\\udc00\\ud800\""), S(DC00 D800));
	string_is(S("\"\\udc00\\ud800\\udc00\""), S(DC00 "\xf0\x90\x80\x80"));
	string_is(S("\"\\ud800\\u0041\""), S(D800 "A"));
	string_is(S("\"\\ud800\\n\""), S(D800 "\n"));
	/* Escaped backslashes: the text "\ud800" is not an escape here. */
	string_is(S("\"\\\\ud800\""), S("\\ud800"));
	string_is(S("\"\\\\\\ud800\""), S("\\" D800));
	string_is(S("\"\\\"\\ud800\""), S("\"" D800));
	/* Raw surrogate bytes are invalid UTF-8: U+FFFD per byte, as Node. */
	string_is(S("\"" D800 "\""), S("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
	/* In a key, and in a value next to other strings. */
	v = decode_ok(S("{\"\\ud800\":\"\\udfff\",\"k\":\"v\\\"\"}"));
	ASSERT_STR_EQ(json_string_value(json_object_get(v, D800)), DFFF);
	ASSERT_STR_EQ(json_string_value(json_object_get(v, "k")), "v\"");
	json_decref(v);
	/* And back, as JSON.stringify writes them: lowercase escapes. */
	roundtrip(S("\"\\ud800\""), S("\"\\ud800\""));
	roundtrip(S("\"\\uDBFF\""), S("\"\\udbff\""));
	roundtrip(S("[\"a\\udc00b\",\"\\ud83d\\ude00\"]"),
	    S("[\"a\\udc00b\",\"\xf0\x9f\x98\x80\"]"));
	roundtrip(S("{\"\\ud800\":\"\\udfff\\ud800\"}"),
	    S("{\"\\ud800\":\"\\udfff\\ud800\"}"));
	/* Bytes that only look like a surrogate's lead stay as they are. */
	roundtrip(S("\"\xed\x9f\xbf\""), S("\"\xed\x9f\xbf\""));
	/* Still not a JSON value. */
	decode_fails(S("\"\\ud800"));
	decode_fails(S("\\ud800"));
#undef D800
#undef DBFF
#undef DC00
#undef DFFF
}

/* Whether needle's n bytes occur in b. */
static bool
buf_has(const struct cp_buf *b, const char *needle, size_t n)
{
	size_t i;

	for (i = 0; i + n <= b->len; i++)
		if (memcmp(b->data + i, needle, n) == 0)
			return true;
	return false;
}

/*
 * A lone surrogate read from a json line goes out in advanced mode as the
 * same UTF-16 code unit, not as three U+FFFD for its three WTF-8 bytes
 * (a bridge reading json lines for an advanced child).
 */
static void
msg_lone_surrogate_to_v8(void)
{
	struct cp_buf b = CP_BUF_INIT;
	json_t *v = decode_ok(S("\"a\\ud800\""));

	ASSERT_EQ(cp_v8_encode(v, 0, &b, NULL), 0);
	ASSERT(buf_has(&b, "a\0\0\xd8", 4));
	ASSERT(!buf_has(&b, "\xfd\xff", 2));
	cp_buf_release(&b);
	json_decref(v);
}

/*
 * Node's StringDecoder replaces each maximal invalid subpart with one
 * U+FFFD (node -e: StringDecoder.write(Buffer.from([0xe2,0x82,0x41]))
 * gives "\ufffdA").
 */
static void
msg_decode_invalid_utf8_is_fffd(void)
{
#define FFFD "\xef\xbf\xbd"
	string_is(S("\"\xff\""), S(FFFD));
	string_is(S("\"\xff\x41\""), S(FFFD "A"));
	string_is(S("\"\xe2\x82\x41\""), S(FFFD "A"));		/* cut 3-byte */
	string_is(S("\"\xf0\x9f\x98\x41\""), S(FFFD "A"));	/* cut 4-byte */
	string_is(S("\"\xf0\x9f\x98\""), S(FFFD));
	string_is(S("\"\xed\xa0\x80\""), S(FFFD FFFD FFFD));	/* surrogate */
	string_is(S("\"\xc0\x80\""), S(FFFD FFFD));		/* overlong */
	string_is(S("\"\xe0\x80\x80\""), S(FFFD FFFD FFFD));
	string_is(S("\"\xf4\x90\x80\x80\""), S(FFFD FFFD FFFD FFFD));
	string_is(S("\"\x80\xbf\""), S(FFFD FFFD));		/* lone continuations */
	string_is(S("\"\xc3\""), S(FFFD));
	string_is(S("\"a\xc3\xa9\xff\xc3\xa9\""), S("a\xc3\xa9" FFFD "\xc3\xa9"));
	/* Bad UTF-8 next to a lone surrogate: only the bytes are repaired. */
	string_is(S("\"\xff\\ud800\""), S(FFFD "\xed\xa0\x80"));
#undef FFFD
}

/* "\u0000" is kept inside strings; json_string_length counts it. */
static void
msg_decode_nul_escape_kept(void)
{
	json_t *v;

	string_is(S("\"a\\u0000b\""), S("a\0b"));
	string_is(S("\"\\u0000\""), S("\0"));
	roundtrip(S("[\"\\u0000\",\"x\\u0000\"]"), S("[\"\\u0000\",\"x\\u0000\"]"));
	v = decode_ok(S("\"a\\u0000b\""));
	ASSERT_UEQ(json_string_length(v), 3);
	json_decref(v);
}

/* Integers beyond json_int_t are read as reals: Node's are doubles. */
static void
msg_decode_big_integers(void)
{
	json_t *v;

	v = decode_ok(S("9223372036854775807"));
	ASSERT(json_is_integer(v));
	ASSERT_EQ(json_integer_value(v), INT64_MAX);
	json_decref(v);
	v = decode_ok(S("-9223372036854775808"));
	ASSERT(json_is_integer(v));
	ASSERT_EQ(json_integer_value(v), INT64_MIN);
	json_decref(v);
	/*
	 * Deliberately exact where Node rounds to a double (it reads
	 * 9007199254740992): a C peer keeps 64-bit integers.
	 */
	v = decode_ok(S("9007199254740993"));
	ASSERT(json_is_integer(v));
	ASSERT_EQ(json_integer_value(v), 9007199254740993LL);
	json_decref(v);
	v = decode_ok(S("9223372036854775808"));
	ASSERT(json_is_real(v));
	ASSERT(json_real_value(v) == 9223372036854775808.0);
	json_decref(v);
	v = decode_ok(S("-9223372036854775809"));
	ASSERT(json_is_real(v));
	ASSERT(json_real_value(v) == -9223372036854775808.0);
	json_decref(v);
	roundtrip(S("18446744073709551616"), S("18446744073709552000"));
	roundtrip(S("123456789012345678901234567890"),
	    S("1.2345678901234568e+29"));
	/*
	 * Only the integer that overflows becomes a real; its neighbours stay
	 * exact (found by the fuzzer: re-encoding changed 999999999999999909).
	 */
	v = decode_ok(S("[999999999999999909,100000000000000000000,-7]"));
	ASSERT(json_is_integer(json_array_get(v, 0)));
	ASSERT_EQ(json_integer_value(json_array_get(v, 0)), 999999999999999909LL);
	ASSERT(json_is_real(json_array_get(v, 1)));
	ASSERT(json_real_value(json_array_get(v, 1)) == 1e20);
	ASSERT(json_is_integer(json_array_get(v, 2)));
	json_decref(v);
	/* Not in strings, not in exponents. */
	roundtrip(S("{\"a\":\"99999999999999999999\",\"b\":1e-99999999999999999999,"
	    "\"c\":99999999999999999999}"),
	    S("{\"a\":\"99999999999999999999\",\"b\":0,\"c\":100000000000000000000}"));
	decode_fails(S("[99999999999999999999x]"));
	/* JSON.parse reads 1e400 as Infinity, which JSON.stringify writes null. */
	roundtrip(S("[99999999999999999999,1e400]"),
	    S("[100000000000000000000,null]"));
	decode_fails(S("099999999999999999999"));
	/* The repairs combine, whichever problem jansson meets first. */
	roundtrip(S("[99999999999999999999,\"\\ud800\"]"),
	    S("[100000000000000000000,\"\\ud800\"]"));
	roundtrip(S("[\"\\ud800\",99999999999999999999]"),
	    S("[\"\\ud800\",100000000000000000000]"));
	roundtrip(S("[99999999999999999999,\"\xff\"]"),
	    S("[100000000000000000000,\"\xef\xbf\xbd\"]"));
	roundtrip(S("[\"\xff\",99999999999999999999]"),
	    S("[\"\xef\xbf\xbd\",100000000000000000000]"));
}

/*
 * Lines jansson's own reader refused, which Node reads: a NUL in a key,
 * a number past DBL_MAX, deep nesting.  Only nesting past 10000 (far past
 * anything Node sends in practice) is refused, cleanly.
 */
static void
msg_decode_node_limits(void)
{
	char *deep;
	json_t *v;
	size_t d;

	v = decode_ok(S("{\"a\\u0000b\":1}"));
	ASSERT_EQ(json_object_size(v), 1);
	ASSERT_EQ(json_object_iter_key_len(json_object_iter(v)), 3);
	ASSERT(memcmp(json_object_iter_key(json_object_iter(v)), "a\0b", 3) == 0);
	encode_is(v, S("{\"a\\u0000b\":1}"));
	json_decref(v);
	v = decode_ok(S("1e400"));
	ASSERT(json_is_null(v));
	v = decode_ok(S("-1e400"));
	ASSERT(json_is_null(v));
	for (d = 9999; d <= 10001; d++) {
		deep = malloc(2 * d);
		ASSERT(deep != NULL);
		memset(deep, '[', d);
		memset(deep + d, ']', d);
		if (d <= 10000) {
			v = decode_ok(deep, 2 * d);
			json_decref(v);
		} else {
			decode_fails(deep, 2 * d);
		}
		free(deep);
	}
}

static void
msg_validate(void)
{
	json_error_t e;

	ASSERT_EQ(cp_msg_validate(S("{\"a\":1}"), &e), 0);
	ASSERT_EQ(cp_msg_validate(S("\"\\ud800\""), NULL), 0);
	ASSERT_EQ(cp_msg_validate(S("\"\xff\""), NULL), 0);
	ASSERT_EQ(cp_msg_validate(S("undefined"), &e), CP_PROTO_EPROTO);
	ASSERT(strlen(e.text) > 0);
	ASSERT_EQ(cp_msg_validate(S("{\"a\":1}{}"), NULL), CP_PROTO_EPROTO);
}

/*
 * childproc-ipc(7), Internal messages: an object whose "cmd" is a string,
 * longer than 5, "NODE_...".
 */
static void
msg_is_internal(void)
{
	static const struct {
		const char *line;
		bool internal;
	} cases[] = {
		{ "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Server\"}", true },
		{ "{\"cmd\":\"NODE_HANDLE_ACK\"}", true },
		{ "{\"cmd\":\"NODE_CLUSTER\",\"act\":\"online\",\"seq\":0}", true },
		{ "{\"a\":1,\"cmd\":\"NODE_X\"}", true },
		{ "{\"cmd\":\"NODE_\\u0000\"}", true },
		{ "{\"cmd\":\"NODE_\"}", false },	/* exactly 5 */
		{ "{\"cmd\":\"NODE\"}", false },
		{ "{\"cmd\":\"node_handle\"}", false },
		{ "{\"cmd\":\"XNODE_HANDLE\"}", false },
		{ "{\"cmd\":\" NODE_HANDLE\"}", false },
		{ "{\"Cmd\":\"NODE_HANDLE\"}", false },
		{ "{\"cmd\":1}", false },
		{ "{\"cmd\":null}", false },
		{ "{\"cmd\":[\"NODE_HANDLE\"]}", false },
		{ "{\"msg\":{\"cmd\":\"NODE_HANDLE\"}}", false },
		{ "[\"NODE_HANDLE\"]", false },
		{ "\"NODE_HANDLE\"", false },
		{ "null", false },
		{ "{}", false },
	};
	size_t i;
	json_t *v;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = decode_ok(cases[i].line, strlen(cases[i].line));
		if (cp_msg_is_internal(v) != cases[i].internal)
			fprintf(stderr, "is_internal(%s)\n", cases[i].line);
		ASSERT_EQ(cp_msg_is_internal(v), cases[i].internal);
		json_decref(v);
	}
	ASSERT(!cp_msg_is_internal(NULL));
}

/* ECMAScript Number::toString, as JSON.stringify writes numbers. */
static void
msg_format_number(void)
{
	static const struct {
		double d;
		const char *want;
	} cases[] = {
		{ 0.0, "0" },
		{ -0.0, "0" },
		{ 1, "1" },
		{ -1, "-1" },
		{ 100, "100" },
		{ 0.1, "0.1" },
		{ -0.1, "-0.1" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 123.456, "123.456" },
		{ 1e21, "1e+21" },
		{ -1e21, "-1e+21" },
		{ 1e20, "100000000000000000000" },
		{ 123456789012345680000.0, "123456789012345680000" },
		{ 1e-6, "0.000001" },
		{ 1.234e-6, "0.000001234" },
		{ 1e-7, "1e-7" },
		{ 1.5e-7, "1.5e-7" },
		{ 5e-324, "5e-324" },
		{ 2.2250738585072014e-308, "2.2250738585072014e-308" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		/* 2^-1017: the nearest 16 digits do not read back, 16 others do. */
		{ 7.120236347223045e-307, "7.120236347223045e-307" },
		{ 1e23, "1e+23" },
		{ 9.5e-5, "0.000095" },
		{ 9007199254740992.0, "9007199254740992" },
		{ 9007199254740994.0, "9007199254740994" },
		{ 4.35, "4.35" },
		{ 0.000001, "0.000001" },
		{ 1e300, "1e+300" },
		{ 1.5e300, "1.5e+300" },
		{ 12345678901234567890.0, "12345678901234567000" },
		{ NAN, "null" },
		{ INFINITY, "null" },
		{ -INFINITY, "null" },
	};
	char buf[64];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'X', sizeof(buf));
		n = cp_msg_format_number(cases[i].d, buf);
		ASSERT_UEQ(n, strlen(buf));
		ASSERT(n < 32);
		if (strcmp(buf, cases[i].want) != 0)
			fprintf(stderr, "format_number(%.17g)\n", cases[i].d);
		ASSERT_STR_EQ(buf, cases[i].want);
	}
}

/* JSON.stringify's escapes: \b \f \n \r \t, other C0 as lowercase \u00xx. */
static void
msg_encode_escapes(void)
{
	static const char want_c0[] =
	    "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
	    "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
	    "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
	    "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\"";
	char c0[32];
	json_t *v;
	int i;

	for (i = 0; i < 32; i++)
		c0[i] = (char)i;
	v = json_stringn(c0, sizeof(c0));
	ASSERT(v != NULL);
	encode_is(v, S(want_c0));
	json_decref(v);
	/* Quote and backslash escaped; slash, DEL, U+2028/9, emoji raw. */
	v = json_string("\"\\/\x7f\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80 ");
	encode_is(v, S("\"\\\"\\\\/\x7f\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80 \""));
	json_decref(v);
	/* Keys are escaped the same way. */
	v = json_pack("{s:i}", "a\nb\"", 1);
	encode_is(v, S("{\"a\\nb\\\"\":1}"));
	json_decref(v);
	v = json_string("");
	encode_is(v, S("\"\""));
	json_decref(v);
}

static void
msg_encode_numbers(void)
{
	json_t *v;

	v = json_pack("[i,I,I,f,f,f,f,f]", -5, (json_int_t)INT64_MIN,
	    (json_int_t)INT64_MAX, 1.0, -0.0, 0.1, 1e21, 5e-324);
	encode_is(v, S("[-5,-9223372036854775808,9223372036854775807,"
	    "1,0,0.1,1e+21,5e-324]"));
	json_decref(v);
}

/* Objects keep insertion order, as JS objects do for string keys. */
static void
msg_encode_insertion_order(void)
{
	json_t *v;

	v = json_object();
	json_object_set_new(v, "z", json_integer(1));
	json_object_set_new(v, "a", json_pack("{s:n,s:[]}", "y", "b"));
	json_object_set_new(v, "m", json_true());
	json_object_set_new(v, "z", json_integer(2));	/* keeps its place */
	encode_is(v, S("{\"z\":2,\"a\":{\"y\":null,\"b\":[]},\"m\":true}"));
	json_decref(v);
	roundtrip(S("{\"b\":1,\"a\":2,\"b\":3}"), S("{\"b\":3,\"a\":2}"));
}

/* Encoding appends, NUL-terminates, and leaves the buffer alone on error. */
static void
msg_encode_appends_or_leaves_alone(void)
{
	struct cp_buf b = CP_BUF_INIT;
	json_t *v, *inner, *outer;
	int i;

	ASSERT_EQ(cp_buf_add(&b, "x\n", 2), 0);
	v = json_integer(7);
	ASSERT_EQ(cp_msg_encode(v, &b), 0);
	ASSERT_EQ(cp_msg_encode(v, &b), 0);
	json_decref(v);
	ASSERT_MEM_EQ(b.data, b.len, "x\n7\n7\n", 6);
	ASSERT_EQ(b.data[b.len], '\0');

	ASSERT_EQ(cp_msg_encode(NULL, &b), CP_PROTO_EINVAL);
	ASSERT_UEQ(b.len, 6);

	/* Too deep to encode: refused, nothing appended. */
	inner = json_array();
	for (i = 0; i < 10005; i++) {
		outer = json_array();
		ASSERT_EQ(json_array_append_new(outer, inner), 0);
		inner = outer;
	}
	ASSERT_EQ(cp_msg_encode(inner, &b), CP_PROTO_EINVAL);
	ASSERT_UEQ(b.len, 6);
	json_decref(inner);
	cp_buf_release(&b);
	ASSERT(b.data == NULL);
	ASSERT_UEQ(b.len, 0);
}

/* Big values go through the same path as small ones. */
static void
msg_roundtrip_large(void)
{
	const size_t n = (size_t)8 * 1024 * 1024;
	struct cp_buf in = CP_BUF_INIT, out = CP_BUF_INIT;
	json_t *v;
	size_t i;

	ASSERT_EQ(cp_buf_add(&in, "{\"data\":\"", 9), 0);
	ASSERT_EQ(cp_buf_grow(&in, n + 3), 0);
	for (i = 0; i < n; i++)
		in.data[in.len++] = "ab\xc3\xa9"[i % 4];	/* n % 4 == 0 */
	ASSERT_EQ(cp_buf_add(&in, "\"}", 2), 0);
	v = decode_ok(in.data, in.len);
	ASSERT_UEQ(json_string_length(json_object_get(v, "data")), n);
	ASSERT_EQ(cp_msg_encode(v, &out), 0);
	ASSERT_MEM_EQ(out.data, out.len - 1, in.data, in.len);
	json_decref(v);
	cp_buf_release(&in);
	cp_buf_release(&out);
}

int
main(void)
{
	RUN(msg_decode_any_top_level_value);
	RUN(msg_decode_whitespace_around);
	RUN(msg_decode_rejects_what_json_parse_rejects);
	RUN(msg_decode_raw_line_separators);
	RUN(msg_decode_emoji);
	RUN(msg_decode_lone_surrogate_is_kept);
	RUN(msg_lone_surrogate_to_v8);
	RUN(msg_decode_invalid_utf8_is_fffd);
	RUN(msg_decode_nul_escape_kept);
	RUN(msg_decode_big_integers);
	RUN(msg_decode_node_limits);
	RUN(msg_validate);
	RUN(msg_is_internal);
	RUN(msg_format_number);
	RUN(msg_encode_escapes);
	RUN(msg_encode_numbers);
	RUN(msg_encode_insertion_order);
	RUN(msg_encode_appends_or_leaves_alone);
	RUN(msg_roundtrip_large);
	return 0;
}

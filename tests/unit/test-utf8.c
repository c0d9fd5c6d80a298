/*
 * tests/unit/test-utf8.c - proto/utf8.c, the one UTF-8/WTF-8 module of
 * proto/ and core/, and core/encoding.c's streaming decoders built on it.
 * The expected texts were checked with node v20: Buffer.toString(),
 * StringDecoder fed one byte at a time, Buffer.from(s, 'utf16le').
 *
 * Linked against the static library, so core/'s internal cp__decoder_*
 * are reachable (they are hidden in the shared one).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "encoding.h"

#define S(lit) lit, sizeof(lit) - 1
#define FFFD "\xef\xbf\xbd"
#define ASSERT_TEXT(a, alen, lit) ASSERT_MEM_EQ(a, alen, lit, sizeof(lit) - 1)

/* cp_utf8_get on len bytes gives code point want from n bytes. */
static void
get_is(const char *in, size_t len, uint32_t want, size_t n)
{
	uint32_t c = 0;
	size_t got;

	got = cp_utf8_get((const unsigned char *)in, len, &c);
	if (c != want || got != n) {
		fprintf(stderr, "cp_utf8_get(");
		cp_test_dump_(in, len);
		fprintf(stderr, ") = %zu, U+%04X; want %zu, U+%04X\n", got,
		    (unsigned)c, n, (unsigned)want);
		ASSERT(0);
	}
}

static void
utf8_get_valid(void)
{
	get_is(S("A"), 'A', 1);
	get_is(S("\x7f"), 0x7F, 1);
	get_is(S("\xc2\x80"), 0x80, 2);
	get_is(S("\xdf\xbf"), 0x7FF, 2);
	get_is(S("\xe0\xa0\x80"), 0x800, 3);
	get_is(S("\xed\x9f\xbf"), 0xD7FF, 3);	/* just below the surrogates */
	get_is(S("\xee\x80\x80"), 0xE000, 3);	/* just above */
	get_is(S("\xef\xbf\xbd"), 0xFFFD, 3);	/* a real U+FFFD is no error */
	get_is(S("\xef\xbf\xbf"), 0xFFFF, 3);
	get_is(S("\xf0\x90\x80\x80"), 0x10000, 4);
	get_is(S("\xf0\x9f\x98\x80"), 0x1F600, 4);
	get_is(S("\xf4\x8f\xbf\xbf"), 0x10FFFF, 4);	/* the largest */
	get_is(S("\xe2\x82\xac" "rest"), 0x20AC, 3);	/* reads one only */
}

/* Each invalid sequence is BAD for its maximal subpart, as WHATWG. */
static void
utf8_get_invalid(void)
{
	/* Stray continuation bytes and bytes that never begin anything. */
	get_is(S("\x80"), CP_UTF8_BAD, 1);
	get_is(S("\xbf\x80"), CP_UTF8_BAD, 1);
	get_is(S("\xc0\x80"), CP_UTF8_BAD, 1);		/* overlong NUL */
	get_is(S("\xc1\xbf"), CP_UTF8_BAD, 1);		/* overlong 0x7F */
	get_is(S("\xf5\x80\x80\x80"), CP_UTF8_BAD, 1);
	get_is(S("\xff"), CP_UTF8_BAD, 1);
	/* Overlong 3- and 4-byte forms: the second byte is out of range. */
	get_is(S("\xe0\x80\x80"), CP_UTF8_BAD, 1);
	get_is(S("\xe0\x9f\xbf"), CP_UTF8_BAD, 1);
	get_is(S("\xf0\x80\x80\x80"), CP_UTF8_BAD, 1);
	get_is(S("\xf0\x8f\xbf\xbf"), CP_UTF8_BAD, 1);
	/* Surrogates encoded in UTF-8 (CESU-8 pairs too) are not UTF-8. */
	get_is(S("\xed\xa0\x80"), CP_UTF8_BAD, 1);
	get_is(S("\xed\xbf\xbf"), CP_UTF8_BAD, 1);
	get_is(S("\xed\xa0\xbd\xed\xb8\x80"), CP_UTF8_BAD, 1);
	/* Past U+10FFFF. */
	get_is(S("\xf4\x90\x80\x80"), CP_UTF8_BAD, 1);
	/* Truncated: by the end of the input, or by a byte that does not fit. */
	get_is(S("\xc2"), CP_UTF8_BAD, 1);
	get_is(S("\xe2\x82"), CP_UTF8_BAD, 2);
	get_is(S("\xe2\x82\x41"), CP_UTF8_BAD, 2);
	get_is(S("\xf0\x9f\x98"), CP_UTF8_BAD, 3);
	get_is(S("\xf0\x9f\x98\x41"), CP_UTF8_BAD, 3);
	get_is(S("\xf0\x9f\xc2\x80"), CP_UTF8_BAD, 2);
	/* left is honoured: nothing is read past it. */
	get_is("\xe2\x82\xac", 1, CP_UTF8_BAD, 1);
	get_is("\xe2\x82\xac", 2, CP_UTF8_BAD, 2);
}

static void
utf8_get_lossy_and_wtf8(void)
{
	const unsigned char *p;
	uint32_t c;

	p = (const unsigned char *)"\xc0\x80";
	ASSERT_UEQ(cp_utf8_get_lossy(p, 2, &c), 1);
	ASSERT_UEQ(c, 0xFFFD);
	p = (const unsigned char *)"\xf0\x9f\x98\x80";
	ASSERT_UEQ(cp_utf8_get_lossy(p, 4, &c), 4);
	ASSERT_UEQ(c, 0x1F600);
	/* WTF-8: a surrogate's 3-byte form is that code unit ... */
	p = (const unsigned char *)"\xed\xa0\x80";
	ASSERT_UEQ(cp_wtf8_get(p, 3, &c), 3);
	ASSERT_UEQ(c, 0xD800);
	p = (const unsigned char *)"\xed\xaf\xbf";
	ASSERT_UEQ(cp_wtf8_get(p, 3, &c), 3);
	ASSERT_UEQ(c, 0xDBFF);
	p = (const unsigned char *)"\xed\xb0\x80";
	ASSERT_UEQ(cp_wtf8_get(p, 3, &c), 3);
	ASSERT_UEQ(c, 0xDC00);
	p = (const unsigned char *)"\xed\xbf\xbf";
	ASSERT_UEQ(cp_wtf8_get(p, 3, &c), 3);
	ASSERT_UEQ(c, 0xDFFF);
	/* ... but only when whole; the rest reads as UTF-8. */
	p = (const unsigned char *)"\xed\xa0";
	ASSERT_UEQ(cp_wtf8_get(p, 2, &c), 1);
	ASSERT_UEQ(c, 0xFFFD);
	p = (const unsigned char *)"\xed\xa0\x41";
	ASSERT_UEQ(cp_wtf8_get(p, 3, &c), 1);
	ASSERT_UEQ(c, 0xFFFD);
	p = (const unsigned char *)"\xed\x9f\xbf";
	ASSERT_UEQ(cp_wtf8_get(p, 3, &c), 3);
	ASSERT_UEQ(c, 0xD7FF);
	p = (const unsigned char *)"\xc0\x80";
	ASSERT_UEQ(cp_wtf8_get(p, 2, &c), 1);
	ASSERT_UEQ(c, 0xFFFD);
}

static void
put_is(uint32_t c, const char *want, size_t wantlen)
{
	struct cp_buf b = CP_BUF_INIT;
	char o[4];
	uint32_t back;

	ASSERT_UEQ(cp_utf8_put(o, c), wantlen);
	ASSERT_MEM_EQ(o, wantlen, want, wantlen);
	ASSERT_EQ(cp_utf8_add(&b, 'x'), 0);
	ASSERT_EQ(cp_utf8_add(&b, c), 0);
	ASSERT_UEQ(b.len, wantlen + 1);
	ASSERT_MEM_EQ(b.data + 1, wantlen, want, wantlen);
	ASSERT_EQ(b.data[b.len], '\0');
	/* And back: WTF-8 reads every code point it writes. */
	ASSERT_UEQ(cp_wtf8_get((const unsigned char *)o, wantlen, &back),
	    wantlen);
	ASSERT_UEQ(back, c);
	cp_buf_release(&b);
}

static void
utf8_put(void)
{
	put_is(0, S("\0"));
	put_is(0x7F, S("\x7f"));
	put_is(0x80, S("\xc2\x80"));
	put_is(0x7FF, S("\xdf\xbf"));
	put_is(0x800, S("\xe0\xa0\x80"));
	put_is(0xD7FF, S("\xed\x9f\xbf"));
	put_is(0xD800, S("\xed\xa0\x80"));	/* lone high: WTF-8 */
	put_is(0xDFFF, S("\xed\xbf\xbf"));	/* lone low: WTF-8 */
	put_is(0xFFFF, S("\xef\xbf\xbf"));
	put_is(0x10000, S("\xf0\x90\x80\x80"));
	put_is(0x10FFFF, S("\xf4\x8f\xbf\xbf"));
}

static void
utf16_units(void)
{
	uint16_t u[2];

	ASSERT_EQ(cp_utf16_units('A', u), 1);
	ASSERT_UEQ(u[0], 'A');
	ASSERT_EQ(cp_utf16_units(0xFFFF, u), 1);
	ASSERT_UEQ(u[0], 0xFFFF);
	ASSERT_EQ(cp_utf16_units(0xD800, u), 1);	/* a lone unit stays */
	ASSERT_UEQ(u[0], 0xD800);
	ASSERT_EQ(cp_utf16_units(0x10000, u), 2);
	ASSERT_UEQ(u[0], 0xD800);
	ASSERT_UEQ(u[1], 0xDC00);
	ASSERT_EQ(cp_utf16_units(0x1F600, u), 2);
	ASSERT_UEQ(u[0], 0xD83D);
	ASSERT_UEQ(u[1], 0xDE00);
	ASSERT_EQ(cp_utf16_units(0x10FFFF, u), 2);
	ASSERT_UEQ(u[0], 0xDBFF);
	ASSERT_UEQ(u[1], 0xDFFF);
}

static void
from_utf16_is(const char *in, size_t len, const char *want, size_t wantlen)
{
	struct cp_buf b = CP_BUF_INIT;

	ASSERT_EQ(cp_utf16le_to_wtf8((const unsigned char *)in, len, &b), 0);
	ASSERT_MEM_EQ(b.data, b.len, want, wantlen);
	ASSERT_EQ(b.data[b.len], '\0');
	cp_buf_release(&b);
}

static void
to_utf16_is(const char *in, size_t len, const char *want, size_t wantlen)
{
	struct cp_buf b = CP_BUF_INIT;

	ASSERT_EQ(cp_wtf8_to_utf16le(in, len, &b), 0);
	ASSERT_MEM_EQ(b.data, b.len, want, wantlen);
	cp_buf_release(&b);
}

static void
utf16le_text(void)
{
	from_utf16_is(S("A\0"), S("A"));
	from_utf16_is(S("\xac\x20"), S("\xe2\x82\xac"));
	from_utf16_is(S("\x3d\xd8\x00\xde"), S("\xf0\x9f\x98\x80"));
	from_utf16_is(S("\xff\xdb\xff\xdf"), S("\xf4\x8f\xbf\xbf"));
	/* Lone surrogates stay, in WTF-8: high alone, at the end, reversed. */
	from_utf16_is(S("\x00\xd8"), S("\xed\xa0\x80"));
	from_utf16_is(S("\x00\xd8" "A\0"), S("\xed\xa0\x80" "A"));
	from_utf16_is(S("\x00\xdc\x00\xd8"), S("\xed\xb0\x80\xed\xa0\x80"));
	from_utf16_is(S("\x00\xd8\x00\xd8\x00\xdc"),
	    S("\xed\xa0\x80\xf0\x90\x80\x80"));
	/* An odd last byte is no unit. */
	from_utf16_is(S("A\0B"), S("A"));
	from_utf16_is("", 0, "", 0);

	to_utf16_is(S("A"), S("A\0"));
	to_utf16_is(S("\xf0\x9f\x98\x80"), S("\x3d\xd8\x00\xde"));
	to_utf16_is(S("\xed\xa0\x80"), S("\x00\xd8"));		/* lone unit */
	to_utf16_is(S("\xed\xb0\x80\xed\xa0\x80"), S("\x00\xdc\x00\xd8"));
	/* Invalid bytes: one U+FFFD per maximal subpart. */
	to_utf16_is(S("\xc0\x80"), S("\xfd\xff\xfd\xff"));
	to_utf16_is(S("\xe2\x82" "A"), S("\xfd\xff" "A\0"));
}

/* The streaming decoder on in, whole, and cut at every place, and byte by byte. */
static void
stream_is(const char *in, size_t len, const char *want, size_t wantlen)
{
	struct cp_utf8_decoder d;
	struct cp_buf b = CP_BUF_INIT;
	size_t cut, i;

	for (cut = 0; cut <= len; cut++) {
		b.len = 0;
		cp_utf8_decoder_init(&d);
		ASSERT_EQ(cp_utf8_decoder_write(&d, (const unsigned char *)in,
		    cut, &b), 0);
		ASSERT_EQ(cp_utf8_decoder_write(&d,
		    (const unsigned char *)in + cut, len - cut, &b), 0);
		ASSERT_EQ(cp_utf8_decoder_end(&d, &b), 0);
		ASSERT_MEM_EQ(b.data, b.len, want, wantlen);
	}
	b.len = 0;
	cp_utf8_decoder_init(&d);
	for (i = 0; i < len; i++)
		ASSERT_EQ(cp_utf8_decoder_write(&d,
		    (const unsigned char *)in + i, 1, &b), 0);
	ASSERT_EQ(cp_utf8_decoder_end(&d, &b), 0);
	ASSERT_MEM_EQ(b.data, b.len, want, wantlen);
	/* The decoder is fresh after end. */
	ASSERT_EQ(cp_utf8_decoder_write(&d, (const unsigned char *)"ok", 2,
	    &b), 0);
	ASSERT_MEM_EQ(b.data + wantlen, b.len - wantlen, "ok", 2);
	cp_buf_release(&b);
}

static void
utf8_stream(void)
{
	stream_is(S("plain ascii, longer than eight bytes"),
	    S("plain ascii, longer than eight bytes"));
	stream_is(S("\xe2\x82\xac"), S("\xe2\x82\xac"));
	stream_is(S("a\xf0\x9f\x98\x80z"), S("a\xf0\x9f\x98\x80z"));
	stream_is(S("\xf4\x8f\xbf\xbf"), S("\xf4\x8f\xbf\xbf"));
	stream_is(S("\xef\xbf\xbd"), S(FFFD));
	/* Cut at the end: one U+FFFD from end(). */
	stream_is(S("\xe2\x82"), S(FFFD));
	stream_is(S("\xf0\x9f\x98"), S(FFFD));
	stream_is(S("\xe2\x82\x41"), S(FFFD "A"));
	stream_is(S("\xf0\x9f\x98\x41"), S(FFFD "A"));
	/* Surrogates in UTF-8, overlongs, past U+10FFFF: a U+FFFD per byte. */
	stream_is(S("\xed\xa0\x80"), S(FFFD FFFD FFFD));
	stream_is(S("\xed\xa0\xbd\xed\xb8\x80"),
	    S(FFFD FFFD FFFD FFFD FFFD FFFD));
	stream_is(S("\xc0\x80"), S(FFFD FFFD));
	stream_is(S("\xe0\x80\x80"), S(FFFD FFFD FFFD));
	stream_is(S("\xf4\x90\x80\x80"), S(FFFD FFFD FFFD FFFD));
	stream_is(S("\x80\x41\xff"), S(FFFD "A" FFFD));
	stream_is("", 0, "", 0);
}

/*
 * core/encoding.c's utf16le StringDecoder: a pair cut across chunks, as
 * node 20's StringDecoder cuts it at each place.
 */
static void
utf16le_stream(void)
{
	static const unsigned char pair[] = { 0x3d, 0xd8, 0x00, 0xde };
	struct cp__decoder d;
	struct cp_buf b = CP_BUF_INIT;
	size_t cut, i;

	for (cut = 0; cut <= sizeof(pair); cut++) {
		b.len = 0;
		cp__decoder_init(&d, CP_ENC_UTF16LE);
		ASSERT_EQ(cp__decoder_write(&d, pair, cut, &b), 0);
		if (cut == 2)	/* the high half waits for the low one */
			ASSERT_UEQ(b.len, 0);
		ASSERT_EQ(cp__decoder_write(&d, pair + cut,
		    sizeof(pair) - cut, &b), 0);
		ASSERT_EQ(cp__decoder_end(&d, &b), 0);
		/*
		 * Node splits the pair when the first chunk ends on an odd
		 * byte after the high half (node 20: "\ud83d", "\ude00").
		 */
		if (cut == 3)
			ASSERT_TEXT(b.data, b.len,
			    "\xed\xa0\xbd" "\xed\xb8\x80");
		else
			ASSERT_TEXT(b.data, b.len, "\xf0\x9f\x98\x80");
	}
	/* Byte by byte (Node: "\ud83d\ude00" too). */
	b.len = 0;
	cp__decoder_init(&d, CP_ENC_UTF16LE);
	for (i = 0; i < sizeof(pair); i++)
		ASSERT_EQ(cp__decoder_write(&d, pair + i, 1, &b), 0);
	ASSERT_EQ(cp__decoder_end(&d, &b), 0);
	ASSERT_TEXT(b.data, b.len, "\xf0\x9f\x98\x80");
	/* A high half the stream ends on comes out alone (WTF-8). */
	b.len = 0;
	cp__decoder_init(&d, CP_ENC_UTF16LE);
	ASSERT_EQ(cp__decoder_write(&d, pair, 2, &b), 0);
	ASSERT_EQ(cp__decoder_end(&d, &b), 0);
	ASSERT_TEXT(b.data, b.len, "\xed\xa0\xbd");
	cp_buf_release(&b);
}

/* core/encoding.c's utf8 StringDecoder is the module's. */
static void
encoding_utf8_stream(void)
{
	struct cp__decoder d;
	struct cp_buf b = CP_BUF_INIT;
	static const unsigned char in[] = { 'a', 0xf0, 0x9f, 0x98, 0x80,
	    0xe2, 0x82 };

	cp__decoder_init(&d, CP_ENC_UTF8);
	ASSERT_EQ(cp__decoder_write(&d, in, 3, &b), 0);
	ASSERT_TEXT(b.data, b.len, "a");
	ASSERT_EQ(cp__decoder_write(&d, in + 3, sizeof(in) - 3, &b), 0);
	ASSERT_TEXT(b.data, b.len, "a\xf0\x9f\x98\x80");
	ASSERT_EQ(cp__decoder_end(&d, &b), 0);
	ASSERT_TEXT(b.data, b.len, "a\xf0\x9f\x98\x80" FFFD);
	cp_buf_release(&b);
}

/*
 * Buffer.from(text, enc) of text with invalid UTF-8: each maximal subpart
 * one U+FFFD, as Buffer.from(Buffer.from(bytes).toString(), enc) gives
 * (0.1 decoded the overlong C0 80 as U+0000).
 */
static void
encoding_from_invalid(void)
{
	char *out;
	size_t len;

	ASSERT_EQ(cp_encoding_from_string(CP_ENC_UTF16LE, S("\xc0\x80"),
	    &out, &len), 0);
	ASSERT_TEXT(out, len, "\xfd\xff\xfd\xff");
	free(out);
	ASSERT_EQ(cp_encoding_from_string(CP_ENC_LATIN1, S("\xc0\x80" "A"),
	    &out, &len), 0);
	ASSERT_TEXT(out, len, "\xfd\xfd" "A");
	free(out);
	/* A lone surrogate in WTF-8 is its unit (latin1: its low byte). */
	ASSERT_EQ(cp_encoding_from_string(CP_ENC_UTF16LE, S("\xed\xa0\x80"),
	    &out, &len), 0);
	ASSERT_TEXT(out, len, "\x00\xd8");
	free(out);
	ASSERT_EQ(cp_encoding_from_string(CP_ENC_LATIN1, S("\xed\xa0\x80"),
	    &out, &len), 0);
	ASSERT_TEXT(out, len, "\x00");
	free(out);
	ASSERT_EQ(cp_encoding_from_string(CP_ENC_ASCII,
	    S("\xf0\x9f\x98\x80"), &out, &len), 0);
	ASSERT_TEXT(out, len, "\x3d\x00");
	free(out);
	ASSERT_EQ(cp_encoding_from_string(CP_ENC_UTF16LE, "", 0, &out, &len), 0);
	ASSERT_UEQ(len, 0);
	ASSERT_EQ(out[0], '\0');
	free(out);
}

static void
hex_escapes(void)
{
	unsigned v;
	char esc[6];

	ASSERT_EQ(cp_hex4("d83D", &v), 0);
	ASSERT_UEQ(v, 0xD83D);
	ASSERT_EQ(cp_hex4("00fF", &v), 0);
	ASSERT_UEQ(v, 0xFF);
	ASSERT_EQ(cp_hex4("12g4", &v), -1);
	ASSERT_EQ(cp_hex4("123", &v), -1);	/* the NUL is no digit */
	ASSERT_EQ(cp_hex_digit('/'), -1);
	ASSERT_EQ(cp_hex_digit(':'), -1);
	ASSERT_EQ(cp_hex_digit('F'), 15);
	ASSERT_EQ(cp_hex_digit('G'), -1);
	cp_utf16_escape(esc, 0xD800);
	ASSERT_TEXT(esc, 6, "\\ud800");
	cp_utf16_escape(esc, 0x1F);
	ASSERT_TEXT(esc, 6, "\\u001f");
}

int
main(void)
{
	RUN(utf8_get_valid);
	RUN(utf8_get_invalid);
	RUN(utf8_get_lossy_and_wtf8);
	RUN(utf8_put);
	RUN(utf16_units);
	RUN(utf16le_text);
	RUN(utf8_stream);
	RUN(utf16le_stream);
	RUN(encoding_utf8_stream);
	RUN(encoding_from_invalid);
	RUN(hex_escapes);
	return 0;
}

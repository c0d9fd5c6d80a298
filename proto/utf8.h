/*
 * proto/utf8.h - UTF-8, WTF-8 and UTF-16 code units, once for proto/ and
 * core/.
 *
 * Text is UTF-8 everywhere in the library, except that a lone surrogate
 * (a UTF-16 code unit D800-DFFF without its partner, which JavaScript
 * strings may hold) is kept in the 3-byte form UTF-8 would give it
 * (ED A0..BF 80..BF): WTF-8.  Such bytes are never valid UTF-8, so a
 * reader of UTF-8 sees them as invalid and a reader of WTF-8 gets the
 * code unit back.  Invalid input reads as the WHATWG decoder (V8's, so
 * Node's) reads it: each maximal subpart of an invalid sequence is one
 * U+FFFD.
 */
#ifndef CP_PROTO_UTF8_H
#define CP_PROTO_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CP_UTF8_REPLACEMENT 0xFFFD
/* What cp_utf8_get reads from an invalid sequence (no code point). */
#define CP_UTF8_BAD UINT32_MAX

/*
 * Writes code point c (at most 0x10FFFF; a surrogate gets its WTF-8
 * form) at o and returns the bytes written, 1 to 4.
 */
size_t cp_utf8_put(char *o, uint32_t c);
/* Appends c as cp_utf8_put writes it.  Returns 0 or CP_PROTO_ENOMEM. */
int cp_utf8_add(struct cp_buf *b, uint32_t c);

/*
 * Reads the UTF-8 sequence at p (left > 0 bytes): stores its code point
 * in *cp and returns its length (1 to 4).  An invalid sequence (a stray
 * continuation byte, C0, C1, F5-FF, an overlong form, a surrogate, a
 * code point past U+10FFFF, a sequence cut short) stores CP_UTF8_BAD and
 * returns the length of its maximal subpart (at least 1), the bytes one
 * U+FFFD replaces: E2 82 41 is U+FFFD then "A".
 */
size_t cp_utf8_get(const unsigned char *p, size_t left, uint32_t *cp);
/* As cp_utf8_get, but U+FFFD for an invalid sequence. */
size_t cp_utf8_get_lossy(const unsigned char *p, size_t left, uint32_t *cp);
/*
 * As cp_utf8_get_lossy, but a surrogate in its 3-byte form reads as that
 * code unit (0xD800-0xDFFF): the reader of WTF-8.
 */
size_t cp_wtf8_get(const unsigned char *p, size_t left, uint32_t *cp);

/*
 * Splits code point c into UTF-16 code units: returns 2 (a surrogate
 * pair) for c >= 0x10000, else 1 (c itself, a lone surrogate too).
 */
int cp_utf16_units(uint32_t c, uint16_t u[2]);
/*
 * Appends the text of n bytes of UTF-16LE code units (an odd last byte is
 * ignored): pairs join, a lone surrogate stays, in WTF-8, as JavaScript
 * strings keep it.  Returns 0 or CP_PROTO_ENOMEM.
 */
int cp_utf16le_to_wtf8(const unsigned char *p, size_t n, struct cp_buf *out);
/*
 * Appends the UTF-16LE code units of WTF-8 text (invalid bytes are
 * U+FFFD, a surrogate in its 3-byte form is that unit), as a JavaScript
 * string holds it.  Returns 0 or CP_PROTO_ENOMEM.
 */
int cp_wtf8_to_utf16le(const char *s, size_t len, struct cp_buf *out);
/* Whether the little-endian unit at p is a high (leading) surrogate. */
bool cp_utf16le_is_high(const unsigned char *p);

/*
 * The WHATWG UTF-8 decoder for a stream (Node's StringDecoder): bytes in,
 * UTF-8 out, each maximal invalid subpart one U+FFFD, and a sequence cut
 * at the end of a chunk held until the next one.
 */
struct cp_utf8_decoder {
	uint32_t cp;		/* the bits read so far */
	unsigned char need;	/* continuation bytes the sequence needs */
	unsigned char seen;	/* ... and has */
	unsigned char lo, hi;	/* the range of the next one */
};

void cp_utf8_decoder_init(struct cp_utf8_decoder *d);
/* Appends the text of n more bytes.  Returns 0 or CP_PROTO_ENOMEM. */
int cp_utf8_decoder_write(struct cp_utf8_decoder *d, const unsigned char *p,
    size_t n, struct cp_buf *out);
/*
 * The end of the stream: a held incomplete sequence is one U+FFFD.  The
 * decoder is ready for a new stream.  Returns 0 or CP_PROTO_ENOMEM.
 */
int cp_utf8_decoder_end(struct cp_utf8_decoder *d, struct cp_buf *out);

/* The value of hex digit c, or -1. */
int cp_hex_digit(int c);
/* Reads the 4 hex digits of a \u escape at p.  Returns 0 or -1. */
int cp_hex4(const char *p, unsigned *v);
/* Writes "\u" and unit as 4 lowercase hex digits (JSON.stringify's form). */
void cp_utf16_escape(char out[6], unsigned unit);

#endif /* CP_PROTO_UTF8_H */

/* core/encoding.h - Node's Buffer encodings, for core/exec.c. */
#ifndef CP_CORE_ENCODING_H
#define CP_CORE_ENCODING_H

#include "internal.h"
#include "../proto/base64.h"
#include "../proto/utf8.h"

/*
 * Node's StringDecoder: bytes in, text (UTF-8, WTF-8 for lone surrogates)
 * out, holding back an incomplete character (utf8, utf16le) or group
 * (base64) until the next chunk.
 */
struct cp__decoder {
	enum cp_encoding enc;
	unsigned char held[4];
	int nheld;
	struct cp_utf8_decoder utf8;
};

void cp__decoder_init(struct cp__decoder *d, enum cp_encoding enc);
/* Appends the text of len more bytes to out.  Returns 0 or UV_ENOMEM. */
int cp__decoder_write(struct cp__decoder *d, const unsigned char *buf,
    size_t len, struct cp_buf *out);
/* Appends what the held bytes give at the end (decoder.end()). */
int cp__decoder_end(struct cp__decoder *d, struct cp_buf *out);

/* Buffer.byteLength(text, enc) of a decoded chunk. */
uint64_t cp__text_byte_length(enum cp_encoding enc, const char *text,
    size_t len);
/*
 * text.slice(0, units) in UTF-16 units: returns the byte length of that
 * prefix; a cut through a surrogate pair leaves the lone high surrogate
 * (rewritten in place, in WTF-8).
 */
size_t cp__text_cut(char *text, size_t len, uint64_t units);

#endif /* CP_CORE_ENCODING_H */

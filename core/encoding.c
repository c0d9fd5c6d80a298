/* core/encoding.c - Node's Buffer encodings, signal names, JSON.stringify. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encoding.h"

static const struct {
	const char *name;
	enum cp_encoding enc;
} enc_names[] = {
	{ "utf8", CP_ENC_UTF8 }, { "utf-8", CP_ENC_UTF8 },
	{ "buffer", CP_ENC_BUFFER },
	{ "utf16le", CP_ENC_UTF16LE }, { "utf-16le", CP_ENC_UTF16LE },
	{ "ucs2", CP_ENC_UTF16LE }, { "ucs-2", CP_ENC_UTF16LE },
	{ "latin1", CP_ENC_LATIN1 }, { "binary", CP_ENC_LATIN1 },
	{ "ascii", CP_ENC_ASCII },
	{ "base64", CP_ENC_BASE64 }, { "base64url", CP_ENC_BASE64URL },
	{ "hex", CP_ENC_HEX },
};

int
cp_encoding_parse(const char *name, enum cp_encoding *enc)
{
	size_t i;

	/* Buffer.isEncoding lowercases the name first. */
	for (i = 0; i < ARRAY_SIZE(enc_names); i++) {
		if (strcasecmp(name, enc_names[i].name) == 0) {
			*enc = enc_names[i].enc;
			return 0;
		}
	}
	return UV_EINVAL;
}

const char *
cp_encoding_name(enum cp_encoding enc)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(enc_names); i++)
		if (enc_names[i].enc == enc)
			return enc_names[i].name;
	return "utf8";
}

/* ---- text out ----------------------------------------------------------- */

/* Moves up to want bytes of the input into d->held. */
static void
hold(struct cp__decoder *d, const unsigned char **pp, size_t *np, size_t want)
{
	size_t take = want < *np ? want : *np;

	memcpy(d->held + d->nheld, *pp, take);
	d->nheld += (int)take;
	*pp += take;
	*np -= take;
}

/*
 * Node's StringDecoder for utf16le: an odd byte waits for its partner, and
 * a high surrogate at the end of an even chunk waits for its low half (not
 * at the end of an odd chunk: Node then splits the pair, and so do we).
 */
static int
utf16_write(struct cp__decoder *d, const unsigned char *p, size_t n,
    struct cp_buf *out)
{
	size_t body;
	int r;

	while (d->nheld > 0 && n > 0) {
		/* One byte completes an odd unit; a high surrogate wants a unit more. */
		hold(d, &p, &n, (d->nheld % 2 == 1) ? 1 : (size_t)(4 - d->nheld));
		if (d->nheld % 2 == 1)
			return 0;
		if (d->nheld == 2 && cp_utf16le_is_high(d->held))
			continue;	/* now wait for the low half */
		if (d->nheld == 2 || d->nheld == 4) {
			if ((r = cp_utf16le_to_wtf8(d->held, (size_t)d->nheld, out)) != 0)
				return r;
			d->nheld = 0;
		}
	}
	if (n == 0)
		return 0;
	body = n;
	if (n % 2 == 1)
		body = n - 1;
	else if (cp_utf16le_is_high(p + n - 2))
		body = n - 2;
	memcpy(d->held, p + body, n - body);
	d->nheld = (int)(n - body);
	return cp_utf16le_to_wtf8(p, body, out);
}

/* Base64 of n bytes; a last partial group is padded (base64url: not). */
static int
b64_text(enum cp_encoding enc, const unsigned char *p, size_t n,
    struct cp_buf *out)
{
	return cp_base64_add(out, p, n, enc == CP_ENC_BASE64URL);
}

static int
b64_write(struct cp__decoder *d, const unsigned char *p, size_t n,
    struct cp_buf *out)
{
	size_t body;
	int r;

	if (d->nheld > 0) {
		hold(d, &p, &n, 3 - (size_t)d->nheld);
		if (d->nheld < 3)
			return 0;
		if ((r = b64_text(d->enc, d->held, 3, out)) != 0)
			return r;
		d->nheld = 0;
	}
	body = n - n % 3;
	memcpy(d->held, p + body, n - body);
	d->nheld = (int)(n - body);
	return b64_text(d->enc, p, body, out);
}

/* latin1, ascii, hex: one byte at a time, nothing held. */
static int
bytes_text(enum cp_encoding enc, const unsigned char *p, size_t n,
    struct cp_buf *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	char *o;
	int r;

	if ((r = cp_buf_grow(out, 2 * n + 1)) != 0)
		return r;
	o = out->data + out->len;
	for (i = 0; i < n; i++) {
		if (enc == CP_ENC_HEX) {
			*o++ = hex[p[i] >> 4];
			*o++ = hex[p[i] & 15];
		} else {
			o += cp_utf8_put(o, enc == CP_ENC_ASCII ? p[i] & 0x7F : p[i]);
		}
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

void
cp__decoder_init(struct cp__decoder *d, enum cp_encoding enc)
{
	memset(d, 0, sizeof(*d));
	d->enc = enc;
	cp_utf8_decoder_init(&d->utf8);
}

int
cp__decoder_write(struct cp__decoder *d, const unsigned char *buf, size_t len,
    struct cp_buf *out)
{
	switch (d->enc) {
	case CP_ENC_UTF16LE:
		return utf16_write(d, buf, len, out);
	case CP_ENC_BASE64:
	case CP_ENC_BASE64URL:
		return b64_write(d, buf, len, out);
	case CP_ENC_LATIN1:
	case CP_ENC_ASCII:
	case CP_ENC_HEX:
		return bytes_text(d->enc, buf, len, out);
	default:
		return cp_utf8_decoder_write(&d->utf8, buf, len, out);
	}
}

int
cp__decoder_end(struct cp__decoder *d, struct cp_buf *out)
{
	int r = 0;

	switch (d->enc) {
	case CP_ENC_UTF16LE:
		/* A held high surrogate comes out alone; an odd byte is lost. */
		r = cp_utf16le_to_wtf8(d->held, (size_t)(d->nheld - d->nheld % 2), out);
		break;
	case CP_ENC_BASE64:
	case CP_ENC_BASE64URL:
		r = b64_text(d->enc, d->held, (size_t)d->nheld, out);
		break;
	case CP_ENC_LATIN1:
	case CP_ENC_ASCII:
	case CP_ENC_HEX:
		break;
	default:
		r = cp_utf8_decoder_end(&d->utf8, out);
		break;
	}
	d->nheld = 0;
	return r;
}

int
cp_encoding_to_string(enum cp_encoding enc, const char *buf, size_t len,
    char **out, size_t *outlen)
{
	struct cp__decoder d;
	struct cp_buf b = CP_BUF_INIT;
	int r;

	*out = NULL;
	*outlen = 0;
	if (enc == CP_ENC_BUFFER)
		return UV_EINVAL;
	cp__decoder_init(&d, enc == CP_ENC_DEFAULT ? CP_ENC_UTF8 : enc);
	if ((r = cp_buf_grow(&b, 1)) != 0 ||
	    (r = cp__decoder_write(&d, (const unsigned char *)buf, len, &b)) != 0 ||
	    (r = cp__decoder_end(&d, &b)) != 0) {
		cp_buf_release(&b);
		return r;
	}
	b.data[b.len] = '\0';
	*out = b.data;
	*outlen = b.len;
	return 0;
}

/* ---- text in ------------------------------------------------------------ */

/* Node reads both alphabets. */
static int
b64val(unsigned char c)
{
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return cp_base64_digit(c);
}

int
cp_encoding_from_string(enum cp_encoding enc, const char *s, size_t len,
    char **out, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	struct cp_buf b = CP_BUF_INIT;
	unsigned char *o;
	uint32_t c, acc = 0;
	uint16_t u[2];
	int bits = 0, h, l, v, i, n, r;

	*out = NULL;
	*outlen = 0;
	if (enc == CP_ENC_BUFFER)
		return UV_EINVAL;
	if (enc == CP_ENC_UTF16LE) {
		/* As a JavaScript string holds the text (WTF-8: lone units). */
		if ((r = cp_buf_grow(&b, 0)) != 0 ||
		    (r = cp_wtf8_to_utf16le(s, len, &b)) != 0) {
			cp_buf_release(&b);
			return r;
		}
		*out = b.data;
		*outlen = b.len;
		return 0;
	}
	/* The rest need at most a byte per byte. */
	if ((r = cp_buf_grow(&b, len)) != 0)
		return r;
	o = (unsigned char *)b.data;
	switch (enc) {
	case CP_ENC_LATIN1:
	case CP_ENC_ASCII:
		/* The low byte of each UTF-16 unit, as Node writes them. */
		while (p < end) {
			p += cp_wtf8_get(p, (size_t)(end - p), &c);
			n = cp_utf16_units(c, u);
			for (i = 0; i < n; i++)
				*o++ = u[i] & 0xFF;
		}
		break;
	case CP_ENC_HEX:
		/* Pairs of hex digits up to the first that is not one. */
		for (; end - p >= 2; p += 2) {
			if ((h = cp_hex_digit(p[0])) < 0 ||
			    (l = cp_hex_digit(p[1])) < 0)
				break;
			*o++ = (unsigned char)(h << 4 | l);
		}
		break;
	case CP_ENC_BASE64:
	case CP_ENC_BASE64URL:
		/* Node reads both alphabets, skips other characters, stops at '='. */
		for (; p < end && *p != '='; p++) {
			if ((v = b64val(*p)) < 0)
				continue;
			acc = (acc << 6) | (uint32_t)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				*o++ = (unsigned char)(acc >> bits);
			}
		}
		break;
	default:
		memcpy(o, p, len);
		o += len;
		break;
	}
	*o = '\0';
	*out = b.data;
	*outlen = (size_t)(o - (unsigned char *)b.data);
	return 0;
}

/* ---- counting and cutting text ------------------------------------------ */

uint64_t
cp__text_byte_length(enum cp_encoding enc, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	uint64_t units = 0;
	size_t i;

	switch (enc) {
	case CP_ENC_BASE64:
	case CP_ENC_BASE64URL:
		/* Node's base64ByteLength: up to two '=' at the end do not count. */
		if (len > 0 && text[len - 1] == '=')
			len--;
		if (len > 1 && text[len - 1] == '=')
			len--;
		return ((uint64_t)len * 3) >> 2;
	case CP_ENC_HEX:
		return len >> 1;
	case CP_ENC_UTF16LE:
	case CP_ENC_LATIN1:
	case CP_ENC_ASCII:
		for (i = 0; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				units += (p[i] >= 0xF0) ? 2 : 1;
		}
		return enc == CP_ENC_UTF16LE ? 2 * units : units;
	default:
		/* UTF-8: lone surrogates count 3 bytes, as U+FFFD does in Node. */
		return len;
	}
}

size_t
cp__text_cut(char *text, size_t len, uint64_t units)
{
	unsigned char *p = (unsigned char *)text;
	size_t i = 0, n;
	uint16_t u[2];
	uint32_t c;

	while (i < len && units > 0) {
		n = p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : p[i] >= 0xC0 ? 2 : 1;
		if (n == 4 && units == 1) {
			/* Half of a pair: keep the high surrogate alone. */
			cp_utf8_get(p + i, len - i, &c);
			cp_utf16_units(c, u);
			return i + cp_utf8_put(text + i, u[0]);
		}
		units -= (n == 4) ? 2 : 1;
		i += n;
	}
	return i < len ? i : len;
}

/* ---- signal names and JSON ---------------------------------------------- */

const char *
cp_signal_name(int signum)
{
	/* os.constants.signals, first name per number as Node reports it. */
	static const char *const names[] = {
		NULL, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP",
		"SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV",
		"SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
		"SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU",
		"SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
		"SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
	};

	if (signum > 0 && (size_t)signum < ARRAY_SIZE(names))
		return names[signum];
	return "";
}

char *
cp_json_stringify(const json_t *v, size_t *lenp)
{
	struct cp_buf b = CP_BUF_INIT;

	/* cp_msg_encode escapes lone surrogates (WTF-8) as JSON.stringify. */
	if (cp_msg_encode(v, &b) != 0) {
		cp_buf_release(&b);
		return NULL;
	}
	b.len--;			/* cp_msg_encode's newline */
	b.data[b.len] = '\0';
	if (lenp != NULL)
		*lenp = b.len;
	return b.data;
}
